//! The intake core: a validated [`NewComplaint`] becomes a stored case in one
//! transaction, with every identifying field encrypted; receipts open the case's
//! status and its messages, and let the complainant add one.
//!
//! Channel-blind: the web form, the JSON API (and later e-mail and WhatsApp) all end
//! here. A complaint is acknowledged only after its transaction committed.

pub mod attachment_meta;
pub mod evidence;
mod hashing;
pub mod members;
pub mod referrals;
mod status;

pub use hashing::Lane;
pub use status::message_aad;

use crate::crypto::receipt::{Receipt, ReceiptHasher};
use crate::crypto::{Aad, BlindIndex, KeyRing};
use crate::domain::{CaseStatus, Complainant, Language, NewComplaint, Text};
use crate::routing::{CaseFacts, Decision, Rules};
use anyhow::Context;
use chrono::{DateTime, Utc};
use entity::{case, case_message, case_violation, complainant, workplace};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use std::sync::Arc;
use uuid::Uuid;
use zeroize::Zeroizing;

/// What the sender gets back once the complaint is committed.
pub struct Filed {
    pub case_id: Uuid,
    pub case_ref: String,
    /// Where the case goes, decided in the same transaction that stored it; `None`
    /// when the facts routing needs are not known yet (e-mail: decided at triage).
    pub routing: Option<Decision>,
    /// The receipt as shown (`XXXX-XXXX-...`); never stored, never logged.
    pub receipt: Zeroizing<String>,
    pub status: CaseStatus,
    pub language: Language,
    pub created_at: DateTime<Utc>,
    /// Members of a collective complaint, each with a receipt of their own (shown
    /// once, like the case's).
    pub members: Vec<MemberReceipt>,
    /// Deferred filing: the day the worker chose (nobody acts on it before).
    pub held_until: Option<chrono::NaiveDate>,
}

pub struct MemberReceipt {
    pub position: i32,
    pub named: bool,
    pub receipt: Zeroizing<String>,
}

/// What a receipt opens: status and messages, never identifying data.
pub struct CaseView {
    pub case_ref: String,
    pub status: CaseStatus,
    pub language: Language,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub messages: Vec<MessageView>,
    /// `None` only for cases stored before routing existed.
    pub routing: Option<Decision>,
    /// Deferred filing: nobody acts on it before this day (in Mexico City); `None`
    /// once the day has come, or when the worker did not ask.
    pub held_until: Option<chrono::NaiveDate>,
    /// A closed case: how it ended (`None` while open).
    pub outcome: Option<crate::domain::Outcome>,
    /// A closed case: its legal-aid authorities' codes, where the worker can turn
    /// next ([`crate::domain::closing_notice`]).
    pub legal_aid: Vec<String>,
}

impl std::fmt::Debug for CaseView {
    // Messages are what a worker typed: never through Debug.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaseView")
            .field("case_ref", &self.case_ref)
            .field("status", &self.status)
            .field("messages", &self.messages.len())
            .finish_non_exhaustive()
    }
}

pub struct MessageView {
    pub from_staff: bool,
    /// Written by the organization that filed the case (answering staff's questions).
    pub from_advocate: bool,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    /// Wrong secret or unknown lookup: deliberately indistinguishable.
    #[error("receipt not found")]
    NotFound,
    /// The case as it is, so the caller can show it without opening it again.
    #[error("case is closed")]
    Closed(Box<CaseView>),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// A complaint that arrived as free text (an e-mail): the sender is the contact, the
/// facts routing needs are what the text states (usually nothing), and violations
/// read from the text are suggestions for triage, not findings.
pub struct MailComplaint {
    pub language: Language,
    /// None for a carrier's picture message, whose From is a phone number: the
    /// case has no contact (no complainant row) and is never answered.
    pub email: Option<crate::domain::Email>,
    pub narrative: Text,
    pub employer: Option<Text>,
    pub city: Option<Text>,
    pub state: Option<crate::domain::StateCode>,
    pub suggested: std::collections::BTreeSet<crate::domain::Violation>,
    /// Deferred filing (a line of the message): nobody acts on it before this day.
    pub hold_until: Option<chrono::NaiveDate>,
}

impl std::fmt::Debug for MailComplaint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailComplaint")
            .field("language", &self.language)
            .field("state", &self.state)
            .field("suggested", &self.suggested)
            .finish_non_exhaustive()
    }
}

struct NewCase {
    id: Uuid,
    case_ref: String,
    receipt: Receipt,
    receipt_hash: String,
    now: DateTime<Utc>,
}

/// What the workplace column holds while the state is not known.
const UNKNOWN_STATE: &str = "unknown";

/// Who wrote a case message.
pub const AUTHOR_COMPLAINANT: &str = "complainant";
/// The organization that filed the case, answering for its members.
pub const AUTHOR_ADVOCATE: &str = "advocate";

/// A complaint ready to be written; see [`Intake::prepare`].
pub struct Prepared {
    pub case_id: Uuid,
    case_row: case::ActiveModel,
    workplace_row: workplace::ActiveModel,
    complainant_row: Option<complainant::ActiveModel>,
    violations: Vec<String>,
    suggested: Vec<String>,
    /// `(authority, function)` of each referral routing made: the queue selects on them.
    referrals: Vec<(String, &'static str)>,
    members: Vec<MemberRow>,
    pub filed: Filed,
}

/// A member of a complaint filed by an organization, encrypted, ready to insert.
struct MemberRow {
    id: Uuid,
    position: i32,
    receipt: Option<(String, String)>,
    cts: [Option<Vec<u8>>; 4],
    given_by: &'static str,
    method: &'static str,
    date: chrono::NaiveDate,
    uses: String,
}

impl Prepared {
    /// Writes the case inside the caller's transaction.
    pub async fn insert(&self, txn: &DatabaseTransaction) -> anyhow::Result<()> {
        // Nothing is read back (no `RETURNING` of what was just written: the case
        // row alone would bring its routing JSON and narrative back to be parsed).
        case::Entity::insert(self.case_row.clone())
            .exec_without_returning(txn)
            .await
            .context("cannot insert case")?;
        workplace::Entity::insert(self.workplace_row.clone())
            .exec_without_returning(txn)
            .await
            .context("cannot insert workplace")?;
        if let Some(row) = &self.complainant_row {
            complainant::Entity::insert(row.clone())
                .exec_without_returning(txn)
                .await
                .context("cannot insert complainant")?;
        }
        case_violation::Entity::insert_many(self.violations.iter().map(|v| {
            case_violation::ActiveModel {
                case_id: Set(self.case_id),
                violation: Set(v.clone()),
            }
        }))
        .exec_without_returning(txn)
        .await
        .context("cannot insert violations")?;
        if !self.suggested.is_empty() {
            entity::case_suggested_violation::Entity::insert_many(self.suggested.iter().map(|v| {
                entity::case_suggested_violation::ActiveModel {
                    case_id: Set(self.case_id),
                    violation: Set(v.clone()),
                    source: Set("keywords".to_owned()),
                }
            }))
            .exec_without_returning(txn)
            .await
            .context("cannot insert suggested violations")?;
        }
        for m in &self.members {
            let (lookup, hash) = m.receipt.clone().unzip();
            let [name, phone, email, worker_id] = m.cts.clone();
            crate::db::exec(
                txn,
                "INSERT INTO case_members (id, case_id, position, receipt_lookup, receipt_hash, \
                 name_ct, phone_ct, email_ct, worker_id_ct, consent_given_by, consent_method, \
                 consent_date, consent_uses, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                vec![
                    m.id.into(),
                    self.case_id.into(),
                    m.position.into(),
                    lookup.into(),
                    hash.into(),
                    name.into(),
                    phone.into(),
                    email.into(),
                    worker_id.into(),
                    m.given_by.into(),
                    m.method.into(),
                    m.date.into(),
                    m.uses.clone().into(),
                    self.filed.created_at.into(),
                ],
            )
            .await
            .context("cannot insert member")?;
        }
        let referrals: Vec<(&str, &str)> = self
            .referrals
            .iter()
            .map(|(authority, function)| (authority.as_str(), *function))
            .collect();
        referrals::insert_referrals(
            txn,
            self.case_id,
            &referrals,
            referrals::SOURCE_RULES,
            self.filed.created_at,
        )
        .await?;
        Ok(())
    }
}

#[derive(Clone)]
pub struct Intake {
    /// Every write (on SQLite the one writing connection: `db::Pools`).
    db: DatabaseConnection,
    /// Pages and exports that only read.
    reads: DatabaseConnection,
    keys: Arc<KeyRing>,
    hasher: Arc<ReceiptHasher>,
    rules: Arc<Rules>,
    /// Argon2 runs on one thread per core (19 MiB each), fed from one queue:
    /// a flood from many addresses waits in line instead of exhausting memory.
    hashers: hashing::Hashers,
    /// What the channel workers file from their inboxes ([`Lane::Queued`]) also
    /// takes one of `cores - 1` of these (at least one) before it queues: those
    /// deliveries were acknowledged when stored, and their hashes must never hold
    /// every core while new webhook deliveries and SMTP sessions wait for CPU to be
    /// acknowledged (BENCHMARKS.md, issue 18: the SMTP listener's p99).
    queued_slots: Arc<tokio::sync::Semaphore>,
}

impl Intake {
    pub fn new(
        pools: crate::db::Pools,
        keys: Arc<KeyRing>,
        hasher: Arc<ReceiptHasher>,
        rules: Arc<Rules>,
    ) -> anyhow::Result<Self> {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Ok(Self {
            db: pools.write,
            reads: pools.read,
            keys,
            hashers: hashing::Hashers::start(Arc::clone(&hasher), cores, hashing::HASH_WAIT)?,
            hasher,
            rules,
            queued_slots: Arc::new(tokio::sync::Semaphore::new(cores.saturating_sub(1).max(1))),
        })
    }

    /// The routing rules every case is routed by (loaded once at start).
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The Argon2id hasher (receipts and staff passwords share its cost settings).
    pub fn hasher(&self) -> Arc<ReceiptHasher> {
        Arc::clone(&self.hasher)
    }

    /// Runs an Argon2 operation on a hashing thread once one is free (in arrival
    /// order; [`crate::error::Busy`] after waiting 10 s).
    pub async fn with_hash_slot<F, R>(&self, f: F) -> anyhow::Result<R>
    where
        F: FnOnce(&ReceiptHasher) -> R + Send + 'static,
        R: Send + 'static,
    {
        self.hashers.run(f).await
    }

    /// The connection writes go through (and reads that belong with them).
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The pool for what only reads: the queue, a case's detail, the indicators,
    /// metrics and readiness. On SQLite it cannot write.
    pub fn reads(&self) -> &DatabaseConnection {
        &self.reads
    }

    /// Encrypts and stores a complaint in one transaction and issues its receipt.
    #[tracing::instrument(skip_all, fields(channel = %complaint.channel, case_ref))]
    pub async fn file(&self, complaint: &NewComplaint) -> anyhow::Result<Filed> {
        self.file_as(complaint, None).await
    }

    /// A complaint an organization files for one member or a group: routed like any
    /// other, the members' identities encrypted under their own rows, each collective
    /// member with a receipt of their own. The complaint's own complainant is ignored
    /// (the members carry the identities).
    #[tracing::instrument(skip_all, fields(channel = %complaint.channel, case_ref))]
    pub async fn file_on_behalf(
        &self,
        complaint: &NewComplaint,
        on_behalf: &crate::intake::members::OnBehalf,
    ) -> anyhow::Result<Filed> {
        self.file_as(complaint, Some(on_behalf)).await
    }

    async fn file_as(
        &self,
        complaint: &NewComplaint,
        on_behalf: Option<&crate::intake::members::OnBehalf>,
    ) -> anyhow::Result<Filed> {
        // A clash of random case references or lookups is astronomically rare, but a
        // unique-constraint failure must never lose a complaint: try again with new ones.
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_file(complaint, on_behalf).await {
                Err(e) if attempt < 3 && crate::db::is_unique_violation(&e) => continue,
                result => {
                    if let Ok(filed) = &result {
                        tracing::Span::current().record("case_ref", filed.case_ref.as_str());
                        tracing::info!(members = filed.members.len(), "complaint filed");
                    }
                    return result;
                }
            }
        }
    }

    async fn try_file(
        &self,
        c: &NewComplaint,
        on_behalf: Option<&crate::intake::members::OnBehalf>,
    ) -> anyhow::Result<Filed> {
        let prepared = match on_behalf {
            None => self.prepare(c).await?,
            Some(b) => self.prepare_on_behalf(c, b).await?,
        };
        let txn = self.db.begin().await.context("cannot begin transaction")?;
        prepared.insert(&txn).await?;
        txn.commit().await.context("cannot commit complaint")?;
        crate::metrics::filed(c.channel);
        Ok(prepared.filed)
    }

    /// Everything a complaint needs before it is written: ids, receipt hash (the slow
    /// part, done outside any transaction), routing and ciphertexts. A channel that must
    /// store more in the same transaction (the WhatsApp conversation that led to it)
    /// calls [`Prepared::insert`] on its own transaction.
    pub async fn prepare(&self, c: &NewComplaint) -> anyhow::Result<Prepared> {
        let NewCase {
            id,
            case_ref,
            receipt,
            receipt_hash,
            now,
        } = self.new_case(Lane::of(c.channel)).await?;
        let decision = crate::routing::route(&self.rules, &CaseFacts::of(c));
        let routing = serde_json::to_value(&decision).context("cannot serialize routing")?;
        let bidx = &self.keys.blind_index;
        let enc = |table, column, text: &str| self.encrypt(id, table, column, text);
        let enc_opt = |column: &'static str, text: Option<&Text>| {
            text.map(|t| enc("complainants", column, t.as_str()))
                .transpose()
        };

        let case_row = case::ActiveModel {
            id: Set(id),
            case_ref: Set(case_ref.clone()),
            receipt_lookup: Set(receipt.lookup.clone()),
            receipt_hash: Set(receipt_hash),
            channel: Set(c.channel.code().to_owned()),
            status: Set(CaseStatus::Received.code().to_owned()),
            language: Set(c.language.code().to_owned()),
            anonymous: Set(matches!(c.complainant, Complainant::Anonymous)),
            narrative_ct: Set(enc("cases", "narrative_ct", c.narrative.as_str())?),
            occurred_on: Set(c.occurred_on),
            rule_version: Set(Some(decision.rule_version.clone())),
            routing: Set(Some(routing)),
            created_at: Set(now),
            updated_at: Set(now),
            priority: Set(Some(crate::routing::priority::score(
                &crate::routing::priority::Facts {
                    violations: &c.violations.iter().copied().collect::<Vec<_>>(),
                    rrm: Some(decision.rrm.status),
                    workers: c.workplace.workers,
                },
            ))),
            rrm_status: Set(Some(decision.rrm.status.code().to_owned())),
            assigned_to: Set(None),
            duplicate_of: Set(None),
            org_id: Set(None),
            filed_by: Set(None),
            workers_affected: Set(None),
            hold_until: Set(c.hold_until.map(crate::clock::start_of)),
            ..Default::default()
        };
        let w = &c.workplace;
        let workplace_row = workplace::ActiveModel {
            case_id: Set(id),
            employer_ct: Set(enc("workplaces", "employer_ct", w.employer.as_str())?),
            employer_bidx: Set(
                bidx.compute("employer", &BlindIndex::employer_key(w.employer.as_str()))
            ),
            city_ct: Set(w
                .city
                .as_ref()
                .map(|t| enc("workplaces", "city_ct", t.as_str()))
                .transpose()?),
            state: Set(w.state.code().to_owned()),
            sector: Set(w.sector.code().to_owned()),
            trade_with_us: Set(w.trade_with_us.code().to_owned()),
            workers: Set(w.workers.and_then(|n| i32::try_from(n).ok())),
        };
        let complainant_row = match &c.complainant {
            Complainant::Anonymous => None,
            Complainant::Identified(who) => Some(complainant::ActiveModel {
                case_id: Set(id),
                name_ct: Set(enc_opt("name_ct", who.name.as_ref())?),
                phone_ct: Set(who
                    .phone
                    .as_ref()
                    .map(|p| enc("complainants", "phone_ct", p.e164()))
                    .transpose()?),
                phone_bidx: Set(who.phone.as_ref().map(|p| bidx.compute("phone", p.e164()))),
                email_ct: Set(who
                    .email
                    .as_ref()
                    .map(|e| enc("complainants", "email_ct", e.as_str()))
                    .transpose()?),
                email_bidx: Set(who
                    .email
                    .as_ref()
                    .map(|e| bidx.compute("email", e.as_str()))),
                worker_id_ct: Set(enc_opt("worker_id_ct", who.worker_id.as_ref())?),
                ..Default::default()
            }),
        };

        Ok(Prepared {
            case_id: id,
            case_row,
            workplace_row,
            complainant_row,
            violations: c.violations.iter().map(|v| v.code().to_owned()).collect(),
            suggested: Vec::new(),
            referrals: decision
                .referrals
                .iter()
                .map(|r| (r.authority.clone(), r.function.code()))
                .collect(),
            members: Vec::new(),
            filed: Filed {
                case_id: id,
                case_ref,
                routing: Some(decision),
                receipt: receipt.display(),
                status: CaseStatus::Received,
                language: c.language,
                created_at: now,
                members: Vec::new(),
                held_until: c.hold_until,
            },
        })
    }

    /// Like [`Intake::prepare`] for a complaint that arrived as free text: not routed
    /// (routing needs the state, sector and violations, which triage confirms), the
    /// unknown facts stored as `unknown`, the sender as the complainant's contact.
    pub async fn prepare_mail(&self, c: &MailComplaint) -> anyhow::Result<Prepared> {
        let NewCase {
            id,
            case_ref,
            receipt,
            receipt_hash,
            now,
        } = self.new_case(Lane::Queued).await?;
        let bidx = &self.keys.blind_index;
        let enc = |table, column, text: &str| self.encrypt(id, table, column, text);
        let employer = c.employer.as_ref().map_or("", Text::as_str);
        Ok(Prepared {
            case_id: id,
            case_row: case::ActiveModel {
                id: Set(id),
                case_ref: Set(case_ref.clone()),
                receipt_lookup: Set(receipt.lookup.clone()),
                receipt_hash: Set(receipt_hash),
                channel: Set(crate::domain::Channel::Email.code().to_owned()),
                status: Set(CaseStatus::Received.code().to_owned()),
                language: Set(c.language.code().to_owned()),
                // No contact at all (see `MailComplaint::email`): like an anonymous
                // case, it has no complainant row.
                anonymous: Set(c.email.is_none()),
                narrative_ct: Set(enc("cases", "narrative_ct", c.narrative.as_str())?),
                occurred_on: Set(None),
                rule_version: Set(None),
                routing: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                // Not routed: no referral, so only admins see it until one is made.
                priority: Set(Some(0)),
                rrm_status: Set(None),
                assigned_to: Set(None),
                duplicate_of: Set(None),
                org_id: Set(None),
                filed_by: Set(None),
                workers_affected: Set(None),
                hold_until: Set(c.hold_until.map(crate::clock::start_of)),
                ..Default::default()
            },
            workplace_row: workplace::ActiveModel {
                case_id: Set(id),
                employer_ct: Set(enc("workplaces", "employer_ct", employer)?),
                employer_bidx: Set(bidx.compute("employer", &BlindIndex::employer_key(employer))),
                city_ct: Set(c
                    .city
                    .as_ref()
                    .map(|t| enc("workplaces", "city_ct", t.as_str()))
                    .transpose()?),
                state: Set(c
                    .state
                    .map_or(UNKNOWN_STATE, crate::domain::StateCode::code)
                    .to_owned()),
                // Nothing in free text names a branch reliably: triage sets it.
                sector: Set(crate::domain::Sector::Unknown.code().to_owned()),
                trade_with_us: Set(crate::domain::TradeNexus::Unknown.code().to_owned()),
                workers: Set(None),
            },
            complainant_row: match &c.email {
                Some(email) => Some(complainant::ActiveModel {
                    case_id: Set(id),
                    name_ct: Set(None),
                    phone_ct: Set(None),
                    phone_bidx: Set(None),
                    email_ct: Set(Some(enc("complainants", "email_ct", email.as_str())?)),
                    email_bidx: Set(Some(bidx.compute("email", email.as_str()))),
                    worker_id_ct: Set(None),
                    ..Default::default()
                }),
                None => None,
            },
            violations: Vec::new(),
            suggested: c.suggested.iter().map(|v| v.code().to_owned()).collect(),
            referrals: Vec::new(),
            members: Vec::new(),
            filed: Filed {
                case_id: id,
                case_ref,
                routing: None,
                receipt: receipt.display(),
                status: CaseStatus::Received,
                language: c.language,
                created_at: now,
                members: Vec::new(),
                held_until: c.hold_until,
            },
        })
    }

    /// Records with a named complaint filed on WhatsApp the exact WhatsApp id the
    /// worker wrote from (encrypted: every notice goes to it, whatever form of the
    /// number the E.164 contact has) and the channel's blind index of that sender
    /// (their later messages are offered as replies to the case). An anonymous
    /// complaint has no complainant row and gets neither: it stays unlinkable.
    pub fn from_whatsapp_sender(
        &self,
        prepared: &mut Prepared,
        wa_id: &str,
        sender_bidx: Vec<u8>,
    ) -> anyhow::Result<()> {
        let Some(row) = prepared.complainant_row.as_mut() else {
            return Ok(());
        };
        let ct = self.encrypt(prepared.case_id, "complainants", "wa_id_ct", wa_id)?;
        row.wa_id_ct = Set(Some(ct));
        row.wa_sender_bidx = Set(Some(sender_bidx));
        Ok(())
    }

    async fn prepare_on_behalf(
        &self,
        c: &NewComplaint,
        b: &crate::intake::members::OnBehalf,
    ) -> anyhow::Result<Prepared> {
        let mut p = self.prepare(c).await?;
        p.complainant_row = None;
        p.case_row.anonymous = Set(!b.members.iter().any(|m| m.identity.is_some()));
        p.case_row.org_id = Set(Some(b.org));
        p.case_row.filed_by = Set(Some(b.advocate));
        p.case_row.workers_affected = Set(b.workers_affected.and_then(|n| i32::try_from(n).ok()));
        // Each listed member's receipt, hashed on every hash slot at once: a group of
        // 200 costs 200 Argon2 hashes, which one after another would hold the request
        // for seconds.
        let mut hashing = tokio::task::JoinSet::new();
        for (i, m) in b.members.iter().enumerate() {
            if m.own_receipt {
                let receipt = self.fresh_receipt().await?;
                let intake = self.clone();
                hashing.spawn(async move {
                    let hash = intake
                        .hash_secret(receipt.secret().to_owned(), Lane::Interactive)
                        .await;
                    (i, receipt, hash)
                });
            }
        }
        let mut receipts: Vec<Option<(Receipt, String)>> = b.members.iter().map(|_| None).collect();
        while let Some(done) = hashing.join_next().await {
            let (i, receipt, hash) = done.context("a receipt hash failed")?;
            if let Some(slot) = receipts.get_mut(i) {
                *slot = Some((receipt, hash?));
            }
        }
        for (i, (m, receipt)) in b.members.iter().zip(receipts).enumerate() {
            let id = Uuid::new_v4();
            let position = i32::try_from(i + 1).context("too many members")?;
            let enc = |column, text: Option<&str>| {
                text.map(|t| self.encrypt(id, "case_members", column, t))
                    .transpose()
            };
            let who = m.identity.as_ref();
            let cts = [
                enc(
                    "name_ct",
                    who.and_then(|w| w.name.as_ref()).map(Text::as_str),
                )?,
                enc(
                    "phone_ct",
                    who.and_then(|w| w.phone.as_ref()).map(|p| p.e164()),
                )?,
                enc(
                    "email_ct",
                    who.and_then(|w| w.email.as_ref()).map(|e| e.as_str()),
                )?,
                enc(
                    "worker_id_ct",
                    who.and_then(|w| w.worker_id.as_ref()).map(Text::as_str),
                )?,
            ];
            let receipt = receipt.map(|(r, hash)| {
                p.filed.members.push(MemberReceipt {
                    position,
                    named: who.is_some(),
                    receipt: r.display(),
                });
                (r.lookup, hash)
            });
            p.members.push(MemberRow {
                id,
                position,
                receipt,
                cts,
                given_by: m.consent.given_by,
                method: m.consent.method,
                date: m.consent.date,
                uses: m.consent.uses_codes(),
            });
        }
        Ok(p)
    }

    /// A new case's id, reference and receipt (hashed: the slow part).
    async fn new_case(&self, lane: Lane) -> anyhow::Result<NewCase> {
        let receipt = self.fresh_receipt().await?;
        let receipt_hash = self.hash_secret(receipt.secret().to_owned(), lane).await?;
        Ok(NewCase {
            id: Uuid::new_v4(),
            case_ref: format!("BZ-{}", crate::crypto::receipt::random_code(8)),
            receipt,
            receipt_hash,
            now: crate::clock::now(),
        })
    }

    /// A receipt whose lookup no case and no member holds yet. Each table keeps its
    /// lookups unique; this keeps them apart across the two, so a member's receipt is
    /// never shadowed by a case's (a clash between the check and the commit is left
    /// to the 1-in-34-billion odds of the lookup).
    async fn fresh_receipt(&self) -> anyhow::Result<Receipt> {
        for _ in 0..3 {
            let receipt = Receipt::generate();
            let taken = crate::db::row(
                &self.db,
                "SELECT 1 FROM cases WHERE receipt_lookup = $1 \
                 UNION ALL SELECT 1 FROM case_members WHERE receipt_lookup = $1",
                vec![receipt.lookup.as_str().into()],
            )
            .await
            .context("cannot check a receipt lookup")?
            .is_some();
            if !taken {
                return Ok(receipt);
            }
        }
        anyhow::bail!("no free receipt lookup after three tries")
    }

    /// Encrypts a field of case `id`'s rows.
    fn encrypt(
        &self,
        id: Uuid,
        table: &'static str,
        column: &'static str,
        text: &str,
    ) -> anyhow::Result<Vec<u8>> {
        let aad = Aad {
            table,
            column,
            row: id,
        };
        self.keys
            .cipher
            .encrypt_str(aad, text)
            .with_context(|| format!("cannot encrypt {table}.{column}"))
    }

    async fn hash_secret(&self, secret: String, lane: Lane) -> anyhow::Result<String> {
        let secret = Zeroizing::new(secret);
        let _queued = match lane {
            Lane::Interactive => None,
            Lane::Queued => Some(hashing::slot(&self.queued_slots).await?),
        };
        self.with_hash_slot(move |hasher| hasher.hash(&secret))
            .await?
            .context("cannot hash receipt")
    }
}

/// Associated data of an attachment's encrypted columns (any channel).
pub fn attachment_aad(id: uuid::Uuid, column: &'static str) -> crate::crypto::Aad<'static> {
    crate::crypto::Aad {
        table: "attachments",
        column,
        row: id,
    }
}
