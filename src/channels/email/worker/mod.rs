//! The e-mail channel's background work: the inbox worker (stored message → case,
//! follow-up or held item, plus its acknowledgement) and the outbox sender (lettre
//! over SMTP to the configured relay).
//!
//! A stored message is worked in one transaction with everything it causes (case or
//! message, attachments, thread ids, acknowledgement, the inbox row marked done), so
//! a crash redoes the whole step or nothing. Messages of one sender go in order.

mod attachments;
mod complaint;
mod reading;
mod reply;
mod sender;
pub(super) use attachments::accepted_type;
use attachments::{insert_attachments, insert_part};
pub(super) use complaint::{follow_up_text, mail_complaint, screen};
pub(super) use reply::acknowledgement;
pub use sender::*;

use super::parse::{self, Auth, Envelope, Mail};
use super::{DONE, Email, HELD, PENDING, inbox_aad, message_id_key, sender_key};
use crate::channels::Shared;
use crate::domain::CaseStatus;
use crate::outbox::{self, Attempt};
use anyhow::Context;
use chrono::{DateTime, Utc};
use entity::{case, complainant, email_inbox, email_thread};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect, TransactionTrait,
};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// How long a worked message's dedupe key (and ack count) is remembered.
const INBOX_KEEP: chrono::Duration = chrono::Duration::days(30);

/// Starts the channel's tasks; they run until aborted.
pub fn spawn(
    state: &Shared,
    email: &Arc<Email>,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let mut tasks = Vec::new();
    if let (Some(url), Some(from)) = (&email.settings.relay_url, &email.settings.from) {
        let sender = outbox::Worker {
            db: state.intake.db().clone(),
            keys: Arc::clone(&state.keys),
            settings: state.settings.outbox,
            notify: Arc::clone(&email.outbox_notify),
            channel: super::CHANNEL,
            sender: SmtpSender::new(url.expose(), from.clone())?,
        };
        tasks.push(outbox::supervised("email outbox", move || {
            sender.clone().run()
        }));
    } else {
        tracing::warn!(
            "e-mail acknowledgements are off: set BUZON_SMTP_RELAY_URL and BUZON_EMAIL_FROM"
        );
    }
    let inbox = Inbox {
        state: state.clone(),
        email: Arc::clone(email),
    };
    let pruner = inbox.clone();
    tasks.push(outbox::supervised("email inbox", move || {
        inbox.clone().run()
    }));
    tasks.push(outbox::supervised("email pruner", move || {
        pruner.clone().run_pruner()
    }));
    Ok(tasks)
}

#[derive(Clone)]
struct Inbox {
    state: Shared,
    email: Arc<Email>,
}

/// What a stored message turns into, unless it is held for a person.
enum Outcome {
    /// A new case; true when its text had to be cut.
    Case(Box<crate::intake::Prepared>, bool),
    FollowUp(Box<case::Model>),
}

/// Why a message is held for a person instead.
pub(super) struct Hold(pub(super) &'static str);

impl Hold {
    /// A new complaint whose deferral line has a date Buzón cannot wait for: held,
    /// and the worker is told why (see `reply::invalid_hold_date`).
    pub(super) const INVALID_HOLD_DATE: &'static str = "invalid_hold_date";
}

impl Inbox {
    fn db(&self) -> &sea_orm::DatabaseConnection {
        self.state.intake.db()
    }

    async fn run(self) {
        let notify = Arc::clone(&self.email.inbox_notify);
        outbox::work_loop("email inbox", notify, || self.once()).await;
    }

    async fn run_pruner(self) {
        loop {
            tokio::time::sleep(Duration::from_secs(300)).await;
            let cutoff = Utc::now() - INBOX_KEEP;
            if let Err(e) = email_inbox::Entity::delete_many()
                .filter(email_inbox::Column::State.eq(DONE))
                .filter(email_inbox::Column::ReceivedAt.lt(cutoff))
                .exec(self.db())
                .await
            {
                tracing::error!(error = %e, "pruning worked e-mail failed");
            }
            // An e-mail-only deployment prunes the outbox too.
            if let Err(e) = outbox::prune(self.db()).await {
                tracing::error!(error = %format!("{e:#}"), "pruning the outbox failed");
            }
            self.email.forget_idle();
        }
    }

    /// Works the due heads of one look (each sender's oldest message, up to 50
    /// senders), each once claimed, yielding before each to the deliveries being
    /// stored (see the WhatsApp inbox worker); true if it did something.
    async fn once(&self) -> anyhow::Result<bool> {
        // Ids only: a head's raw message (up to the size limit) is read once claimed.
        let heads = outbox::due_head_ids(self.db(), "email_inbox", "sender_bidx", None).await?;
        let mut worked = false;
        for id in heads {
            self.state.deliveries.yield_to_deliveries().await;
            let Some(lease) = outbox::claim::<email_inbox::Entity>(
                self.db(),
                self.state.settings.outbox.lease,
                id,
                &CLAIMS,
            )
            .await?
            .lease() else {
                continue;
            };
            let Some(row) = email_inbox::Entity::find_by_id(id)
                .one(self.db())
                .await
                .context("cannot load inbox row")?
            else {
                continue;
            };
            let this = self.clone();
            let owned = row.clone();
            if let Err(e) = outbox::isolated(async move { this.process(&owned, lease).await }).await
            {
                self.failed(&row, lease, &e).await?;
            }
            worked = true;
        }
        Ok(worked)
    }

    async fn failed(
        &self,
        row: &email_inbox::Model,
        lease: DateTime<Utc>,
        err: &anyhow::Error,
    ) -> anyhow::Result<()> {
        let attempts = row.attempts + 1;
        let mut update = email_inbox::ActiveModel {
            attempts: Set(attempts),
            locked_until: Set(None),
            open_claims: Set(0),
            ..Default::default()
        };
        match outbox::after_failure(err, attempts) {
            outbox::AfterFailure::Lost => {
                tracing::warn!(inbox_id = %row.id, "e-mail taken over by another worker");
                return Ok(());
            }
            outbox::AfterFailure::SetAside => {
                tracing::error!(inbox_id = %row.id, attempts, error = %format!("{err:#}"), "e-mail held for a human after repeated failures");
                update.state = Set(HELD.to_owned());
                update.outcome = Set(Some("failed".to_owned()));
            }
            outbox::AfterFailure::RetryAt(at) => {
                tracing::warn!(inbox_id = %row.id, attempts, error = %format!("{err:#}"), "e-mail processing failed; will retry");
                update.next_attempt_at = Set(at);
            }
        }
        email_inbox::Entity::update_many()
            .set(update)
            .filter(held(row.id, lease))
            .exec(self.db())
            .await
            .context("cannot update inbox row")?;
        Ok(())
    }

    async fn process(&self, row: &email_inbox::Model, lease: DateTime<Utc>) -> anyhow::Result<()> {
        let keys = &self.state.keys;
        let raw = keys
            .cipher
            .decrypt(inbox_aad(row.id, "raw_ct"), &row.raw_ct)
            .map_err(|_| outbox::Poison("stored message cannot be decrypted"))?;
        crate::fault::abort_if_marked(&raw);
        let envelope: Option<Envelope> = match &row.envelope_ct {
            Some(ct) => Some(
                keys.cipher
                    .decrypt(inbox_aad(row.id, "envelope_ct"), ct)
                    .ok()
                    .and_then(|json| serde_json::from_slice(&json).ok())
                    .ok_or(outbox::Poison("stored envelope cannot be read"))?,
            ),
            None => None,
        };
        let authserv_id = self.email.settings.authserv_id.clone();
        let (raw, mail) = reading::read(raw, envelope.clone(), authserv_id).await?;
        let mail = match mail {
            Ok(mail) => mail,
            Err(unreadable) => return self.hold(row, lease, unreadable.code()).await,
        };
        let outcome = match self.decide(&mail, envelope.as_ref()).await? {
            Ok(outcome) => outcome,
            Err(Hold(Hold::INVALID_HOLD_DATE)) => {
                return self.refuse_hold_date(row, lease, &mail).await;
            }
            Err(Hold(reason)) => return self.hold(row, lease, reason).await,
        };
        let txn = self
            .db()
            .begin()
            .await
            .context("cannot begin transaction")?;
        // Something of the message not kept in the case (text cut, a refused or
        // surplus attachment): the original goes with the case as `original.eml`.
        let (outcome_code, case_id, ack, mut lossy) = match &outcome {
            Outcome::Case(prepared, cut) => {
                prepared.insert(&txn).await?;
                let ack = acknowledgement(
                    &self.email.settings,
                    &mail,
                    &prepared.filed.case_ref,
                    Some(prepared.filed.receipt.as_str()),
                    prepared.filed.held_until,
                );
                (self::CASE, prepared.case_id, ack, *cut)
            }
            Outcome::FollowUp(case) => {
                let (body, cut) = follow_up_text(&mail)?;
                self.state
                    .intake
                    .append_message(&txn, case.id, &body)
                    .await?;
                let ack = acknowledgement(&self.email.settings, &mail, &case.case_ref, None, None);
                (FOLLOW_UP, case.id, ack, cut)
            }
        };
        let max = self.email.settings.attachment_max_bytes;
        lossy |= insert_attachments(&txn, keys, case_id, &mail, max).await?;
        // Too large to attach: the inbox row keeps it, held for a person.
        let kept_raw = lossy
            && !insert_part(
                &txn,
                keys,
                case_id,
                (Some("original.eml"), "message/rfc822", &raw),
                max,
            )
            .await?;
        drop(raw);
        if let Some(id) = &mail.message_id {
            remember_thread(&txn, keys, id, case_id, false).await?;
        }
        let mut acked = false;
        if let Some(ack) = ack
            && self.may_answer(&txn, &mail, row).await?
        {
            remember_thread(&txn, keys, &ack.message_id, case_id, true).await?;
            let recipient = sender_key(keys, &ack.to);
            let payload = serde_json::to_value(&ack).context("cannot serialize e-mail")?;
            outbox::enqueue(&txn, keys, super::CHANNEL, recipient, &payload).await?;
            acked = true;
        }
        let outcome_code = if kept_raw { "partial" } else { outcome_code };
        mark(
            &txn,
            row.id,
            lease,
            Some(case_id),
            outcome_code,
            kept_raw,
            acked,
        )
        .await?;
        txn.commit().await.context("cannot commit e-mail step")?;
        if acked {
            self.email.outbox_notify.notify_one();
        }
        match &outcome {
            Outcome::Case(p, _) => {
                tracing::info!(inbox_id = %row.id, case_ref = %p.filed.case_ref, acked, "complaint filed by e-mail");
                crate::metrics::filed(crate::domain::Channel::Email);
            }
            Outcome::FollowUp(c) => {
                tracing::info!(inbox_id = %row.id, case_ref = %c.case_ref, acked, "e-mail follow-up added to case");
            }
        }
        Ok(())
    }

    /// Keeps a message (encrypted) for a person, with the reason.
    async fn hold(
        &self,
        row: &email_inbox::Model,
        lease: DateTime<Utc>,
        reason: &'static str,
    ) -> anyhow::Result<()> {
        mark(self.db(), row.id, lease, None, reason, true, false).await?;
        tracing::info!(inbox_id = %row.id, reason, "e-mail held for a human");
        Ok(())
    }

    /// New case, follow-up or held, before any transaction (the receipt hash is slow).
    async fn decide(
        &self,
        mail: &Mail,
        envelope: Option<&Envelope>,
    ) -> anyhow::Result<Result<Outcome, Hold>> {
        let from = match screen(mail) {
            Ok(from) => from,
            Err(hold) => return Ok(Err(hold)),
        };
        // With no address there is nobody a case could be continued for.
        if let Some(from) = &from {
            // A From the envelope contradicts is not trusted to name a case by reference.
            let vouched = envelope.is_none_or(|e| e.mail_from.eq_ignore_ascii_case(from.as_str()));
            if let Some(case) = self.thread(mail, from, vouched).await?
                && CaseStatus::parse(&case.status).is_some_and(CaseStatus::accepts_messages)
            {
                return Ok(Ok(Outcome::FollowUp(Box::new(case))));
            }
        }
        let (complaint, cut) = match mail_complaint(mail, from, crate::clock::today()) {
            Ok(complaint) => complaint,
            Err(hold) => return Ok(Err(hold)),
        };
        Ok(Ok(Outcome::Case(
            Box::new(self.state.intake.prepare_mail(&complaint).await?),
            cut,
        )))
    }

    /// The case this message continues:
    /// - one of whose acknowledgements it answers (our Message-IDs are unguessable:
    ///   any sender, e.g. a colleague in copy);
    /// - one whose own messages or reference (subject tag, plus-address) it names,
    ///   only when it comes from that case's contact address (anyone can write a
    ///   reference or a Message-ID into a mail) and, for the reference, when the
    ///   envelope does not contradict the From.
    async fn thread(
        &self,
        mail: &Mail,
        from: &crate::domain::Email,
        vouched: bool,
    ) -> anyhow::Result<Option<case::Model>> {
        let keys = &self.state.keys;
        let sender = sender_key(keys, from.as_str());
        let thread_keys: Vec<Vec<u8>> = mail
            .thread_ids
            .iter()
            .map(|id| message_id_key(keys, id))
            .collect();
        let known = if thread_keys.is_empty() {
            Vec::new()
        } else {
            email_thread::Entity::find()
                .filter(email_thread::Column::MessageKey.is_in(thread_keys))
                .all(self.db())
                .await
                .context("cannot look up thread")?
        };
        let ours = known.iter().find(|t| t.ours).map(|t| t.case_id);
        let mut theirs: Vec<Uuid> = known
            .iter()
            .filter(|t| !t.ours)
            .map(|t| t.case_id)
            .collect();
        if ours.is_none() && vouched {
            let refs = parse::case_refs(mail, &self.email.settings.intake_addresses);
            if !refs.is_empty() {
                let named: Vec<Uuid> = case::Entity::find()
                    .select_only()
                    .column(case::Column::Id)
                    .filter(case::Column::CaseRef.is_in(refs))
                    .into_tuple()
                    .all(self.db())
                    .await
                    .context("cannot look up case")?;
                theirs.extend(named);
            }
        }
        // Of the cases named otherwise, the first whose contact is this sender: one
        // query for all of them.
        let case_id = match ours {
            Some(id) => Some(id),
            None if theirs.is_empty() => None,
            None => {
                let contacts: Vec<Uuid> = complainant::Entity::find()
                    .select_only()
                    .column(complainant::Column::CaseId)
                    .filter(complainant::Column::CaseId.is_in(theirs.clone()))
                    .filter(complainant::Column::EmailBidx.eq(sender))
                    .into_tuple()
                    .all(self.db())
                    .await
                    .context("cannot load complainants")?;
                theirs.into_iter().find(|id| contacts.contains(id))
            }
        };
        match case_id {
            Some(id) => case::Entity::find_by_id(id)
                .one(self.db())
                .await
                .context("cannot load case"),
            None => Ok(None),
        }
    }

    /// May this message's sender get mail from us? Not when it has no usable
    /// address or came with the null sender (RFC 3834 §4: nothing automatic goes to
    /// `<>`), when the relay recorded a failed SPF/DKIM/DMARC check (the address
    /// may be forged: see `trust`), nor over the daily cap of answers per sender.
    async fn may_answer(
        &self,
        txn: &DatabaseTransaction,
        mail: &Mail,
        row: &email_inbox::Model,
    ) -> anyhow::Result<bool> {
        let sender = row.sender_bidx.as_slice();
        let addressable = mail
            .from
            .as_deref()
            .is_some_and(|f| crate::domain::Email::parse(f).is_ok());
        if !addressable || mail.null_sender {
            return Ok(false);
        }
        if mail.auth == Auth::Failed {
            tracing::info!(inbox_id = %row.id, "sender authentication failed at the relay; no reply");
            return Ok(false);
        }
        self.may_acknowledge(txn, sender).await
    }

    /// A deferral date that cannot be kept: nothing is filed, the message is held
    /// for a person, and the worker is told the rule (when they may get mail).
    async fn refuse_hold_date(
        &self,
        row: &email_inbox::Model,
        lease: DateTime<Utc>,
        mail: &Mail,
    ) -> anyhow::Result<()> {
        let keys = &self.state.keys;
        let txn = self
            .db()
            .begin()
            .await
            .context("cannot begin transaction")?;
        let mut acked = false;
        if let Some(answer) =
            reply::invalid_hold_date(&self.email.settings, mail, crate::clock::today())
            && self.may_answer(&txn, mail, row).await?
        {
            let recipient = sender_key(keys, &answer.to);
            let payload = serde_json::to_value(&answer).context("cannot serialize e-mail")?;
            outbox::enqueue(&txn, keys, super::CHANNEL, recipient, &payload).await?;
            acked = true;
        }
        mark(
            &txn,
            row.id,
            lease,
            None,
            Hold::INVALID_HOLD_DATE,
            true,
            acked,
        )
        .await?;
        txn.commit().await.context("cannot commit e-mail step")?;
        if acked {
            self.email.outbox_notify.notify_one();
        }
        tracing::info!(inbox_id = %row.id, acked, "e-mail complaint with an invalid deferral date held");
        Ok(())
    }

    /// Under the daily cap of acknowledgements for this sender?
    async fn may_acknowledge(
        &self,
        txn: &DatabaseTransaction,
        sender: &[u8],
    ) -> anyhow::Result<bool> {
        if !self.email.settings.outbound() || sender.is_empty() {
            return Ok(false);
        }
        let today = email_inbox::Entity::find()
            .filter(email_inbox::Column::SenderBidx.eq(sender.to_vec()))
            .filter(email_inbox::Column::AckedAt.gt(Utc::now() - chrono::Duration::hours(24)))
            .count(txn)
            .await
            .context("cannot count acknowledgements")?;
        let allowed = today < u64::from(self.email.settings.daily_acks);
        if !allowed {
            tracing::info!("daily acknowledgement cap reached for a sender; no reply");
        }
        Ok(allowed)
    }
}

const CASE: &str = "case";
const FOLLOW_UP: &str = "follow_up";

/// The inbox's rows as [`outbox::claim`] takes them: a message whose working stopped
/// the process on every claim is held for a person, outcome `crashed`.
pub const CLAIMS: outbox::Claims<email_inbox::Column> = outbox::Claims {
    table: "email_inbox",
    id: email_inbox::Column::Id,
    state: email_inbox::Column::State,
    due: email_inbox::Column::NextAttemptAt,
    lock: email_inbox::Column::LockedUntil,
    open_claims: email_inbox::Column::OpenClaims,
    aside: HELD,
    reason: Some((email_inbox::Column::Outcome, outbox::CRASHED)),
};

/// The inbox row still held under this worker's lease.
fn held(id: Uuid, lease: DateTime<Utc>) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(email_inbox::Column::Id.eq(id))
        .add(email_inbox::Column::State.eq(PENDING))
        .add(email_inbox::Column::LockedUntil.eq(lease))
}

/// Records what a message came to, under this worker's lease (fails with
/// [`outbox::Lost`] if another worker took it over). A message kept for a person
/// keeps its bytes; a worked one is erased (the case holds what it said).
async fn mark(
    conn: &impl sea_orm::ConnectionTrait,
    id: Uuid,
    lease: DateTime<Utc>,
    case_id: Option<Uuid>,
    outcome: &str,
    keep: bool,
    acked: bool,
) -> anyhow::Result<()> {
    use sea_orm::ActiveValue::NotSet;
    let update = email_inbox::ActiveModel {
        state: Set(if keep { HELD } else { DONE }.to_owned()),
        outcome: Set(Some(outcome.to_owned())),
        case_id: Set(case_id),
        locked_until: Set(None),
        open_claims: Set(0),
        acked_at: Set(acked.then(Utc::now)),
        raw_ct: if keep { NotSet } else { Set(Vec::new()) },
        envelope_ct: if keep { NotSet } else { Set(None) },
        ..Default::default()
    };
    let marked = email_inbox::Entity::update_many()
        .set(update)
        .filter(held(id, lease))
        .exec(conn)
        .await
        .context("cannot mark message worked")?;
    if marked.rows_affected != 1 {
        return Err(outbox::Lost.into());
    }
    Ok(())
}

async fn remember_thread(
    txn: &DatabaseTransaction,
    keys: &crate::crypto::KeyRing,
    message_id: &str,
    case_id: Uuid,
    ours: bool,
) -> anyhow::Result<()> {
    email_thread::Entity::insert(email_thread::ActiveModel {
        message_key: Set(message_id_key(keys, message_id)),
        case_id: Set(case_id),
        ours: Set(ours),
        created_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(email_thread::Column::MessageKey)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await
    .context("cannot remember thread")?;
    Ok(())
}

/// Counts for `/readyz`.
pub async fn health(db: &sea_orm::DatabaseConnection) -> anyhow::Result<serde_json::Value> {
    let count = |state: &'static str| {
        email_inbox::Entity::find()
            .filter(email_inbox::Column::State.eq(state))
            .count(db)
    };
    Ok(serde_json::json!({
        "inbox_pending": count(PENDING).await.context("cannot count e-mail inbox")?,
        "held": count(HELD).await.context("cannot count e-mail inbox")?,
        "crashed": outbox::crashed::<email_inbox::Entity>(db, &CLAIMS).await?,
    }))
}
