//! What inspectors do with cases: the queue, the masked case, reveals, and the
//! actions (assign, status, notes, questions, referral, duplicates). Shared by the
//! console and the JSON API; every function takes the caller's [`Scope`], and a case
//! outside it is indistinguishable from one that does not exist.

use super::priority::{self, Breakdown};
use super::staff::{Member, Role};
use crate::audit::{self, Event};
use crate::crypto::{Aad, KeyRing};
use crate::domain::{CaseStatus, Channel, Language, Sector, StateCode};
use crate::error::ErrorCode;
use crate::routing::Decision;
use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait, Value};
use uuid::Uuid;

pub const SOURCE_RULES: &str = "rules";
pub const SOURCE_MANUAL: &str = "manual";
pub const AUTHOR_STAFF: &str = "staff";
pub const PAGE: u64 = 50;
pub const MAX_NOTE_CHARS: usize = 4000;
pub const MAX_QUESTION_CHARS: usize = 1000;
pub const MAX_REASON_CHARS: usize = 500;

/// Which cases a member may see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    All,
    /// Cases with an active referral to one of these authorities.
    Authorities(Vec<String>),
    /// Cases this organization filed (advocates: read, answer, petition; no
    /// inspector actions, no internal notes).
    Org(Uuid),
}

impl Scope {
    /// `None`: the role does not work cases.
    pub fn of(member: &Member) -> Option<Self> {
        match member.role {
            Role::Admin => Some(Self::All),
            Role::Inspector => Some(Self::Authorities(member.authorities.clone())),
            Role::Advocate | Role::Coordinator => None,
        }
    }

    /// The cases a member may read: [`Scope::of`], and for an advocate their
    /// organization's cases. `None`: the role reads no case.
    pub fn reading(member: &Member) -> Option<Self> {
        match member.role {
            Role::Advocate => member.org_id().map(Self::Org),
            _ => Self::of(member),
        }
    }

    pub fn is_org(&self) -> bool {
        matches!(self, Self::Org(_))
    }

    /// ` AND EXISTS (...)` restricting alias `c` to the scope; binds after `values`.
    fn sql(&self, values: &mut Vec<Value>) -> String {
        match self {
            Self::All => String::new(),
            Self::Authorities(list) => {
                let mut marks = Vec::new();
                for a in list {
                    values.push(a.as_str().into());
                    marks.push(format!("${}", values.len()));
                }
                if marks.is_empty() {
                    return " AND 1 = 0".into();
                }
                format!(
                    " AND EXISTS (SELECT 1 FROM case_referrals r WHERE r.case_id = c.id \
                     AND r.state = 'active' AND r.authority IN ({}))",
                    marks.join(", ")
                )
            }
            Self::Org(org) => {
                values.push((*org).into());
                format!(" AND c.org_id = ${}", values.len())
            }
        }
    }
}

pub async fn insert_referral(
    conn: &impl ConnectionTrait,
    case_id: Uuid,
    authority: &str,
    function: &str,
    source: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    crate::db::exec(
        conn,
        "INSERT INTO case_referrals (case_id, authority, function, source, state, created_at) \
         VALUES ($1, $2, $3, $4, 'active', $5)",
        vec![
            case_id.into(),
            authority.into(),
            function.into(),
            source.into(),
            at.into(),
        ],
    )
    .await
    .context("cannot insert referral")?;
    Ok(())
}

// ---- the queue ----

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusFilter {
    /// Everything not closed (the default).
    Open,
    All,
    Is(CaseStatus),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filters {
    pub status: Option<StatusFilter>,
    /// A state code, or `unknown`.
    pub state: Option<String>,
    pub sector: Option<Sector>,
    pub channel: Option<Channel>,
    /// `likely`, `possible`, `unlikely`, or `none` (not screened).
    pub rrm: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Only cases assigned to this member.
    pub assigned_to: Option<Uuid>,
}

/// Query-string form of [`Filters`] and the page cursor (console and API).
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// `open` (default: all but closed), `all`, or one status code.
    pub status: Option<String>,
    /// ISO 3166-2:MX code, or `unknown`.
    pub state: Option<String>,
    pub sector: Option<String>,
    pub channel: Option<String>,
    /// `likely`, `possible`, `unlikely` or `none`.
    pub rrm: Option<String>,
    /// Received on or after (YYYY-MM-DD).
    pub from: Option<String>,
    /// Received on or before (YYYY-MM-DD).
    pub to: Option<String>,
    /// `me`: only cases assigned to the caller.
    pub assigned: Option<String>,
    /// The `next` value of the previous page.
    pub cursor: Option<String>,
    /// Cases per page, 1 to 200 [50].
    pub limit: Option<u64>,
}

impl QueueQuery {
    /// The filters, or the name of the first parameter that is not valid.
    pub fn filters(&self, me: Uuid) -> Result<(Filters, Option<Cursor>), &'static str> {
        let blank = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let status = match blank(&self.status).as_deref() {
            None | Some("open") => Some(StatusFilter::Open),
            Some("all") => Some(StatusFilter::All),
            Some(code) => Some(StatusFilter::Is(CaseStatus::parse(code).ok_or("status")?)),
        };
        let state = match blank(&self.state) {
            None => None,
            Some(s) if s == "unknown" => Some(s),
            Some(s) => Some(StateCode::parse(&s).ok_or("state")?.code().to_owned()),
        };
        let sector = blank(&self.sector)
            .map(|s| Sector::parse(&s).ok_or("sector"))
            .transpose()?;
        let channel = blank(&self.channel)
            .map(|s| Channel::parse(&s).ok_or("channel"))
            .transpose()?;
        let rrm = match blank(&self.rrm) {
            None => None,
            Some(r) if ["likely", "possible", "unlikely", "none"].contains(&r.as_str()) => Some(r),
            Some(_) => return Err("rrm"),
        };
        let date = |v: &Option<String>, name| {
            blank(v)
                .map(|d| {
                    NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                        .ok()
                        .filter(|d| (1900..=9999).contains(&chrono::Datelike::year(d)))
                        .ok_or(name)
                })
                .transpose()
        };
        let assigned_to = match blank(&self.assigned).as_deref() {
            None | Some("any") => None,
            Some("me") => Some(me),
            Some(_) => return Err("assigned"),
        };
        let cursor = blank(&self.cursor)
            .map(|c| Cursor::decode(&c).ok_or("cursor"))
            .transpose()?;
        Ok((
            Filters {
                status,
                state,
                sector,
                channel,
                rrm,
                from: date(&self.from, "from")?,
                to: date(&self.to, "to")?,
                assigned_to,
            },
            cursor,
        ))
    }
}

/// Where a page ends: the last row's sort key, to the nanosecond (SQLite keeps
/// what the clock gave). Opaque to clients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub priority: i32,
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    pub fn encode(&self) -> String {
        B64.encode(format!(
            "{}|{}|{}",
            self.priority,
            self.created_at.timestamp_nanos_opt().unwrap_or(i64::MAX),
            self.id
        ))
    }

    pub fn decode(s: &str) -> Option<Self> {
        if s.len() > 200 {
            return None;
        }
        let raw = String::from_utf8(B64.decode(s).ok()?).ok()?;
        let mut parts = raw.split('|');
        let priority = parts.next()?.parse().ok()?;
        let nanos: i64 = parts.next()?.parse().ok()?;
        let id = Uuid::parse_str(parts.next()?).ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            priority,
            created_at: DateTime::from_timestamp_nanos(nanos),
            id,
        })
    }
}

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct QueueItem {
    pub case_ref: String,
    pub status: String,
    pub channel: String,
    pub state: String,
    pub sector: String,
    pub rrm_status: Option<String>,
    pub priority: i32,
    pub retaliation_risk: bool,
    pub created_at: DateTime<Utc>,
    pub assigned_to: Option<Uuid>,
    /// Cases with the same tag come from the same facility (normalized employer name
    /// and state); the tag reveals neither.
    pub facility: String,
    /// Collective complaints: the workers it is for.
    pub workers_affected: Option<i32>,
    /// The last change: a message, an answer, a status.
    pub updated_at: DateTime<Utc>,
    #[serde(skip)]
    pub id: Uuid,
}

/// A short tag for a facility, derived from its blind index: equal for equal
/// facilities, meaningless otherwise.
pub fn facility_tag(employer_bidx: &[u8], state: &str) -> String {
    let digest = crate::crypto::sha256_hex(&[employer_bidx, state.as_bytes()].concat());
    format!("F-{}", digest[..6].to_ascii_uppercase())
}

/// One page of the queue, in priority order, and the cursor of the next page.
pub async fn queue(
    db: &DatabaseConnection,
    scope: &Scope,
    filters: &Filters,
    after: Option<&Cursor>,
    limit: u64,
) -> anyhow::Result<(Vec<QueueItem>, Option<Cursor>)> {
    let mut values: Vec<Value> = Vec::new();
    let mut sql = String::from(
        "SELECT c.id, c.case_ref, c.status, c.channel, w.state, w.sector, c.rrm_status, \
         c.priority, c.created_at, c.assigned_to, w.employer_bidx, c.workers_affected, c.updated_at \
         FROM cases c JOIN workplaces w ON w.case_id = c.id WHERE c.priority IS NOT NULL",
    );
    sql.push_str(&scope.sql(&mut values));
    let bind = |v: Value, values: &mut Vec<Value>| {
        values.push(v);
        format!("${}", values.len())
    };
    match filters.status.unwrap_or(StatusFilter::Open) {
        StatusFilter::Open => {
            let m = bind(CaseStatus::Closed.code().into(), &mut values);
            sql.push_str(&format!(" AND c.status <> {m}"));
        }
        StatusFilter::All => {}
        StatusFilter::Is(s) => {
            let m = bind(s.code().into(), &mut values);
            sql.push_str(&format!(" AND c.status = {m}"));
        }
    }
    if let Some(state) = &filters.state {
        let m = bind(state.as_str().into(), &mut values);
        sql.push_str(&format!(" AND w.state = {m}"));
    }
    if let Some(sector) = filters.sector {
        let m = bind(sector.code().into(), &mut values);
        sql.push_str(&format!(" AND w.sector = {m}"));
    }
    if let Some(channel) = filters.channel {
        let m = bind(channel.code().into(), &mut values);
        sql.push_str(&format!(" AND c.channel = {m}"));
    }
    match filters.rrm.as_deref() {
        None => {}
        Some("none") => sql.push_str(" AND c.rrm_status IS NULL"),
        Some(r) => {
            let m = bind(r.into(), &mut values);
            sql.push_str(&format!(" AND c.rrm_status = {m}"));
        }
    }
    if let Some(from) = filters.from {
        let m = bind(
            from.and_time(chrono::NaiveTime::MIN).and_utc().into(),
            &mut values,
        );
        sql.push_str(&format!(" AND c.created_at >= {m}"));
    }
    if let Some(to) = filters.to.and_then(|d| d.succ_opt()) {
        let m = bind(
            to.and_time(chrono::NaiveTime::MIN).and_utc().into(),
            &mut values,
        );
        sql.push_str(&format!(" AND c.created_at < {m}"));
    }
    if let Some(me) = filters.assigned_to {
        let m = bind(me.into(), &mut values);
        sql.push_str(&format!(" AND c.assigned_to = {m}"));
    }
    if let Some(c) = after {
        let p = bind(c.priority.into(), &mut values);
        let t = bind(c.created_at.into(), &mut values);
        let i = bind(c.id.into(), &mut values);
        // `c.priority <= p` is implied, but said: PostgreSQL then starts the index scan
        // at the cursor instead of filtering from the top (BENCHMARKS.md).
        sql.push_str(&format!(
            " AND c.priority <= {p} AND (c.priority < {p} OR (c.priority = {p} AND (c.created_at > {t} OR (c.created_at = {t} AND c.id > {i}))))"
        ));
    }
    let limit = limit.clamp(1, 200);
    sql.push_str(&format!(
        " ORDER BY c.priority DESC, c.created_at ASC, c.id ASC LIMIT {}",
        limit + 1
    ));
    let rows = crate::db::rows(db, &sql, values)
        .await
        .context("cannot read the queue")?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let priority: i32 = row.try_get_by_index(7)?;
        let state: String = row.try_get_by_index(4)?;
        let bidx: Vec<u8> = row.try_get_by_index(10)?;
        items.push(QueueItem {
            id: row.try_get_by_index(0)?,
            case_ref: row.try_get_by_index(1)?,
            status: row.try_get_by_index(2)?,
            channel: row.try_get_by_index(3)?,
            facility: facility_tag(&bidx, &state),
            state,
            sector: row.try_get_by_index(5)?,
            rrm_status: row.try_get_by_index(6)?,
            priority,
            retaliation_risk: Breakdown::of_score(priority).retaliation,
            created_at: row.try_get_by_index(8)?,
            assigned_to: row
                .try_get_by_index::<Option<Uuid>>(9)?
                .filter(|_| !scope.is_org()),
            workers_affected: row.try_get_by_index(11)?,
            updated_at: row.try_get_by_index(12)?,
        });
    }
    let next = if items.len() as u64 > limit {
        items.truncate(usize::try_from(limit).unwrap_or(50));
        items.last().map(|i| Cursor {
            priority: i.priority,
            created_at: i.created_at,
            id: i.id,
        })
    } else {
        None
    };
    Ok((items, next))
}

// ---- one case ----

/// The case's row, if it exists and is in scope. References are matched exactly
/// (upper-cased); anything else is "not found".
pub async fn find(
    db: &impl ConnectionTrait,
    scope: &Scope,
    case_ref: &str,
) -> anyhow::Result<Option<entity::case::Model>> {
    let case_ref = case_ref.trim().to_ascii_uppercase();
    let well_formed = case_ref.len() <= 16
        && case_ref.starts_with("BZ-")
        && case_ref
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !well_formed {
        return Ok(None);
    }
    let mut values: Vec<Value> = vec![case_ref.into()];
    let sql = format!(
        "SELECT c.* FROM cases c WHERE c.case_ref = $1{}",
        scope.sql(&mut values)
    );
    use sea_orm::EntityTrait;
    let stmt = sea_orm::Statement::from_sql_and_values(db.get_database_backend(), sql, values);
    Ok(entity::case::Entity::find()
        .from_raw_sql(stmt)
        .one(db)
        .await?)
}

#[derive(Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = CaseMessage)]
pub struct MessageOut {
    /// `complainant` or `staff`.
    pub author: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, serde::Serialize, utoipa::ToSchema)]
pub struct NoteOut {
    pub author_id: Uuid,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AttachmentOut {
    pub id: Uuid,
    pub mime_type: String,
    pub size_bytes: Option<i64>,
    /// `stored` when the file is here and can be downloaded after a reveal.
    pub state: String,
}

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = CaseReferral)]
pub struct ReferralOut {
    pub authority: String,
    pub function: String,
    /// `rules` or `manual`.
    pub source: String,
    /// `active` or `withdrawn`.
    pub state: String,
}

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SiblingOut {
    pub case_ref: String,
    pub status: String,
}

/// A case with its identifying fields masked.
#[derive(Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CaseOut {
    pub case_ref: String,
    pub status: String,
    /// Statuses it may move to.
    pub next_statuses: Vec<String>,
    pub channel: String,
    pub language: String,
    pub anonymous: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub occurred_on: Option<NaiveDate>,
    pub priority: i32,
    /// Why the case sits where it does in the queue.
    pub priority_reasons: Vec<String>,
    pub rrm_status: Option<String>,
    pub state: String,
    pub sector: String,
    pub trade_with_us: String,
    pub workers: Option<i32>,
    /// The workplace (a company, not a person).
    pub employer: String,
    pub city: Option<String>,
    pub violations: Vec<String>,
    /// Suggested by keywords (e-mail), for triage to confirm.
    pub suggested_violations: Vec<String>,
    pub narrative: String,
    #[schema(value_type = Option<Object>)]
    pub routing: Option<Decision>,
    pub referrals: Vec<ReferralOut>,
    pub messages: Vec<MessageOut>,
    pub notes: Vec<NoteOut>,
    pub attachments: Vec<AttachmentOut>,
    pub assigned_to: Option<Uuid>,
    pub duplicate_of: Option<String>,
    pub facility: String,
    /// Other cases from the same facility, within the caller's jurisdiction.
    pub same_facility: Vec<SiblingOut>,
    /// Which identifying fields are on record (masked: reveal to read them);
    /// `members` when members of the filing organization are named.
    pub identity_on_record: Vec<String>,
    /// The organization that filed the case for its members, if one did.
    pub filed_by_org: Option<String>,
    /// Collective complaints: how many workers the complaint is for.
    pub workers_affected: Option<i32>,
    /// The members it was filed for, with their consent; identities masked.
    pub members: Vec<crate::advocacy::MemberSummary>,
    /// The filing organization's RRM petition, once a draft was prepared: when, when
    /// it was filed with the U.S., and the committee's 30-day review window.
    pub petition: Option<crate::advocacy::rrm::PetitionStatus>,
}

fn ct_aad(table: &'static str, column: &'static str, row: Uuid) -> Aad<'static> {
    Aad { table, column, row }
}

pub fn note_aad(id: Uuid) -> Aad<'static> {
    ct_aad("case_notes", "body_ct", id)
}

/// A case's `(id, author, body_ct, created_at)` rows (messages, notes), each body
/// decrypted under its own row's associated data.
async fn decrypted<A: sea_orm::TryGetable>(
    db: &DatabaseConnection,
    keys: &KeyRing,
    sql: &str,
    case_id: Uuid,
    aad: fn(Uuid) -> Aad<'static>,
) -> anyhow::Result<Vec<(A, String, DateTime<Utc>)>> {
    let mut out = Vec::new();
    for r in crate::db::rows(db, sql, vec![case_id.into()]).await? {
        let id: Uuid = r.try_get_by_index(0)?;
        let ct: Vec<u8> = r.try_get_by_index(2)?;
        let body = keys
            .cipher
            .decrypt_string(aad(id), &ct)
            .with_context(|| format!("cannot decrypt row {id}"))?;
        out.push((r.try_get_by_index(1)?, body, r.try_get_by_index(3)?));
    }
    Ok(out)
}

pub async fn detail(
    db: &DatabaseConnection,
    keys: &KeyRing,
    scope: &Scope,
    case: &entity::case::Model,
    lang: Language,
) -> anyhow::Result<CaseOut> {
    let id = case.id;
    let dec = |table, column, ct: &[u8]| {
        keys.cipher
            .decrypt_string(ct_aad(table, column, id), ct)
            .with_context(|| format!("cannot decrypt {table}.{column}"))
    };
    let w = crate::db::row(
        db,
        "SELECT state, sector, trade_with_us, workers, employer_ct, city_ct, employer_bidx FROM workplaces WHERE case_id = $1",
        vec![id.into()],
    )
    .await?
    .context("case without workplace")?;
    let state: String = w.try_get_by_index(0)?;
    let employer_ct: Vec<u8> = w.try_get_by_index(4)?;
    let city_ct: Option<Vec<u8>> = w.try_get_by_index(5)?;
    let employer_bidx: Vec<u8> = w.try_get_by_index(6)?;
    let strings = |sql: &'static str| {
        crate::db::all(db, sql, vec![id.into()], |r| {
            r.try_get_by_index::<String>(0)
        })
    };
    let violations =
        strings("SELECT violation FROM case_violations WHERE case_id = $1 ORDER BY violation")
            .await?;
    let suggested = strings(
        "SELECT violation FROM case_suggested_violations WHERE case_id = $1 ORDER BY violation",
    )
    .await?;
    let messages = decrypted(
        db,
        keys,
        "SELECT id, author, body_ct, created_at FROM case_messages WHERE case_id = $1 ORDER BY created_at",
        id,
        crate::intake::message_aad,
    )
    .await?
    .into_iter()
    .map(|(author, body, created_at)| MessageOut {
        author,
        body,
        created_at,
    })
    .collect();
    // Internal notes are the authority's, never the filing organization's.
    let notes = if scope.is_org() {
        Vec::new()
    } else {
        decrypted(
        db,
        keys,
        "SELECT id, author_id, body_ct, created_at FROM case_notes WHERE case_id = $1 ORDER BY created_at",
        id,
        note_aad,
    )
    .await?
    .into_iter()
    .map(|(author_id, body, created_at)| NoteOut {
        author_id,
        body,
        created_at,
    })
    .collect()
    };
    let attachments = crate::db::all(db, "SELECT id, mime_type, size_bytes, state FROM attachments WHERE case_id = $1 ORDER BY created_at", vec![id.into()], |r| { Ok(AttachmentOut {
            id: r.try_get_by_index(0)?,
            mime_type: r.try_get_by_index(1)?,
            size_bytes: r.try_get_by_index(2)?,
            state: r.try_get_by_index(3)?,
        }) }).await?;
    let referrals = crate::db::all(db, "SELECT authority, function, source, state FROM case_referrals WHERE case_id = $1 ORDER BY created_at, authority", vec![id.into()], |r| { Ok(ReferralOut {
            authority: r.try_get_by_index(0)?,
            function: r.try_get_by_index(1)?,
            source: r.try_get_by_index(2)?,
            state: r.try_get_by_index(3)?,
        }) }).await?;
    let mut values: Vec<Value> = vec![
        employer_bidx.clone().into(),
        state.as_str().into(),
        id.into(),
    ];
    let sibling_sql = format!(
        "SELECT c.case_ref, c.status FROM cases c JOIN workplaces w ON w.case_id = c.id \
         WHERE w.employer_bidx = $1 AND w.state = $2 AND c.id <> $3{} ORDER BY c.created_at LIMIT 50",
        scope.sql(&mut values)
    );
    let same_facility = crate::db::all(db, &sibling_sql, values, |r| {
        Ok(SiblingOut {
            case_ref: r.try_get_by_index(0)?,
            status: r.try_get_by_index(1)?,
        })
    })
    .await?;
    // Only named when the caller may see it.
    let duplicate_of = match case.duplicate_of {
        Some(d) => {
            let mut values: Vec<Value> = vec![d.into()];
            let sql = format!(
                "SELECT c.case_ref FROM cases c WHERE c.id = $1{}",
                scope.sql(&mut values)
            );
            crate::db::row(db, &sql, values)
                .await?
                .map(|r| r.try_get_by_index::<String>(0))
                .transpose()?
        }
        None => None,
    };
    let members = crate::advocacy::member_summaries(db, id).await?;
    let petition = Some(crate::advocacy::rrm::status(db, id).await?)
        .filter(|p| p.prepared_at.is_some() || p.filed_on.is_some());
    let filed_by_org = match case.org_id {
        Some(org) => crate::advocacy::org_name(db, org).await?,
        None => None,
    };
    let mut identity_on_record: Vec<String> = match crate::db::row(
        db,
        "SELECT name_ct IS NOT NULL, phone_ct IS NOT NULL, email_ct IS NOT NULL, worker_id_ct IS NOT NULL FROM complainants WHERE case_id = $1",
        vec![id.into()],
    )
    .await?
    {
        Some(r) => ["name", "phone", "email", "worker_id"]
            .into_iter()
            .enumerate()
            .filter_map(|(i, f)| {
                r.try_get_by_index::<bool>(i)
                    .ok()
                    .filter(|b| *b)
                    .map(|_| f.to_owned())
            })
            .collect(),
        None => Vec::new(),
    };
    // For the authority, only members whose consent shares their identity with it.
    if members
        .iter()
        .any(|m| m.named && (scope.is_org() || m.allows(crate::advocacy::Use::Authorities)))
    {
        identity_on_record.push("members".to_owned());
    }
    let status = CaseStatus::parse(&case.status).unwrap_or(CaseStatus::Received);
    let priority = case.priority.unwrap_or(0);
    Ok(CaseOut {
        case_ref: case.case_ref.clone(),
        status: case.status.clone(),
        next_statuses: status.next().iter().map(|s| s.code().to_owned()).collect(),
        channel: case.channel.clone(),
        language: case.language.clone(),
        anonymous: case.anonymous,
        created_at: case.created_at,
        updated_at: case.updated_at,
        occurred_on: case.occurred_on,
        priority,
        priority_reasons: Breakdown::of_score(priority)
            .explain(lang)
            .into_iter()
            .map(str::to_owned)
            .collect(),
        rrm_status: case.rrm_status.clone(),
        facility: facility_tag(&employer_bidx, &state),
        state,
        sector: w.try_get_by_index(1)?,
        trade_with_us: w.try_get_by_index(2)?,
        workers: w.try_get_by_index(3)?,
        employer: dec("workplaces", "employer_ct", &employer_ct)?,
        city: city_ct
            .map(|ct| dec("workplaces", "city_ct", &ct))
            .transpose()?,
        violations,
        suggested_violations: suggested,
        narrative: dec("cases", "narrative_ct", &case.narrative_ct)?,
        routing: case
            .routing
            .clone()
            .and_then(|j| serde_json::from_value(j).ok()),
        referrals,
        messages,
        notes,
        attachments,
        assigned_to: case.assigned_to.filter(|_| !scope.is_org()),
        duplicate_of,
        same_facility,
        identity_on_record,
        filed_by_org,
        workers_affected: case.workers_affected,
        members,
        petition,
    })
}

/// The identifying fields, decrypted.
#[derive(Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Identity {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub worker_id: Option<String>,
    /// A complaint filed by an organization: its members, with their consent.
    pub members: Vec<crate::advocacy::MemberIdentity>,
}

impl Identity {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.phone.is_none()
            && self.email.is_none()
            && self.worker_id.is_none()
            && self.members.is_empty()
    }
}

async fn identity(
    db: &impl ConnectionTrait,
    keys: &KeyRing,
    case_id: Uuid,
) -> anyhow::Result<Identity> {
    let Some(r) = crate::db::row(
        db,
        "SELECT name_ct, phone_ct, email_ct, worker_id_ct FROM complainants WHERE case_id = $1",
        vec![case_id.into()],
    )
    .await?
    else {
        return Ok(Identity::default());
    };
    let field = |i: usize, column: &'static str| -> anyhow::Result<Option<String>> {
        let ct: Option<Vec<u8>> = r.try_get_by_index(i)?;
        ct.map(|ct| {
            keys.cipher
                .decrypt_string(ct_aad("complainants", column, case_id), &ct)
                .with_context(|| format!("cannot decrypt {column}"))
        })
        .transpose()
    };
    Ok(Identity {
        name: field(0, "name_ct")?,
        phone: field(1, "phone_ct")?,
        email: field(2, "email_ct")?,
        worker_id: field(3, "worker_id_ct")?,
        members: Vec::new(),
    })
}

/// Why an action was refused (beyond "no such case", which callers answer first).
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("field {0} is missing")]
    Missing(&'static str),
    #[error("field {0} is too long")]
    TooLong(&'static str),
    #[error("status change not allowed")]
    Transition,
    #[error("unknown authority")]
    Authority,
    #[error("staff member cannot take the case")]
    Staff,
    /// A case named in the body (e.g. `duplicate_of`) that the caller cannot see.
    #[error("case in {0} not found")]
    OtherCase(&'static str),
    #[error("invalid {0}")]
    Invalid(&'static str),
    #[error("too many {0}")]
    TooMany(&'static str),
    /// The RRM workflow of a case the screening did not flag.
    #[error("not an RRM candidate")]
    NotCandidate,
    /// A petition recorded as filed before any draft was prepared.
    #[error("no petition prepared")]
    NotPrepared,
    #[error("unsupported evidence")]
    Evidence,
    #[error("case closed")]
    Closed,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl Refused {
    /// The stable error code and the field it is about; `None` for `Other`
    /// (an internal failure, not the sender's).
    pub fn code(&self) -> Option<(ErrorCode, &'static str)> {
        Some(match self {
            Self::Missing(f) => (ErrorCode::MissingField, *f),
            Self::TooLong(f) => (ErrorCode::TooLong, *f),
            Self::Transition => (ErrorCode::InvalidTransition, "status"),
            Self::Authority => (ErrorCode::UnknownAuthority, "authority"),
            Self::Staff => (ErrorCode::UnknownStaff, "staff_id"),
            Self::OtherCase(f) => (ErrorCode::CaseNotFound, *f),
            Self::Invalid(f) => (ErrorCode::InvalidField, *f),
            Self::TooMany(f) => (ErrorCode::TooManyValues, *f),
            Self::NotCandidate => (ErrorCode::NotRrmCandidate, "case_ref"),
            Self::NotPrepared => (ErrorCode::PetitionNotPrepared, "filed_on"),
            Self::Evidence => (ErrorCode::UnsupportedEvidence, "file"),
            Self::Closed => (ErrorCode::CaseClosed, "message"),
            Self::Other(_) => return None,
        })
    }
}

impl From<sea_orm::DbErr> for Refused {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Other(e.into())
    }
}

fn text(value: Option<&str>, field: &'static str, max: usize) -> Result<String, Refused> {
    let v = crate::domain::clean_text(value.unwrap_or("")).unwrap_or_default();
    if v.is_empty() {
        return Err(Refused::Missing(field));
    }
    if v.chars().count() > max {
        return Err(Refused::TooLong(field));
    }
    Ok(v)
}

/// Reads the identifying fields and records that (and why) in the audit log first:
/// the record is committed before anything is shown.
///
/// Members of a complaint an organization filed are shown to the organization in
/// full, and to the authority as their consent allows ([`crate::advocacy::Reader`]).
pub async fn reveal(
    db: &DatabaseConnection,
    keys: &KeyRing,
    actor: Uuid,
    scope: &Scope,
    case: &entity::case::Model,
    reason: Option<&str>,
) -> Result<Identity, Refused> {
    let reason = text(reason, "reason", MAX_REASON_CHARS)?;
    audit::record(
        db,
        keys,
        Event::new(Some(actor), "reveal")
            .case(case.id)
            .target("complainant")
            .reason(&reason),
    )
    .await?;
    tracing::info!(case_ref = %case.case_ref, "identity revealed (audited)");
    let mut who = identity(db, keys, case.id).await?;
    let reader = if scope.is_org() {
        crate::advocacy::Reader::Organization
    } else {
        crate::advocacy::Reader::Authority
    };
    who.members = crate::advocacy::member_identities(db, keys, case.id, reader).await?;
    Ok(who)
}

/// An attachment's content, decrypted, after an audited reveal.
pub async fn reveal_attachment(
    db: &DatabaseConnection,
    keys: &KeyRing,
    actor: Uuid,
    case: &entity::case::Model,
    attachment_id: Uuid,
    reason: Option<&str>,
) -> Result<Option<(String, Vec<u8>)>, Refused> {
    let reason = text(reason, "reason", MAX_REASON_CHARS)?;
    let Some(row) = crate::db::row(
        db,
        "SELECT mime_type, content_ct FROM attachments WHERE id = $1 AND case_id = $2",
        vec![attachment_id.into(), case.id.into()],
    )
    .await?
    else {
        return Ok(None);
    };
    let mime: String = row.try_get_by_index(0).map_err(anyhow::Error::from)?;
    let Some(ct) = row
        .try_get_by_index::<Option<Vec<u8>>>(1)
        .map_err(anyhow::Error::from)?
    else {
        return Ok(None);
    };
    audit::record(
        db,
        keys,
        Event::new(Some(actor), "reveal_attachment")
            .case(case.id)
            .target(&attachment_id.to_string())
            .reason(&reason),
    )
    .await?;
    let content = keys
        .cipher
        .decrypt(
            crate::channels::attachment_aad(attachment_id, "content_ct"),
            &ct,
        )
        .context("cannot decrypt attachment")?;
    Ok(Some((mime, content)))
}

async fn touch(txn: &impl ConnectionTrait, case_id: Uuid) -> anyhow::Result<()> {
    crate::db::exec(
        txn,
        "UPDATE cases SET updated_at = $2 WHERE id = $1",
        vec![case_id.into(), Utc::now().into()],
    )
    .await?;
    Ok(())
}

/// Moves a case along an allowed transition.
pub async fn set_status(
    db: &DatabaseConnection,
    keys: &KeyRing,
    actor: Uuid,
    case: &entity::case::Model,
    to: Option<&str>,
    reason: Option<&str>,
) -> Result<CaseStatus, Refused> {
    let to =
        CaseStatus::parse(to.map(str::trim).unwrap_or("")).ok_or(Refused::Invalid("status"))?;
    let from = CaseStatus::parse(&case.status).unwrap_or(CaseStatus::Received);
    if !from.can_move_to(to) {
        return Err(Refused::Transition);
    }
    let reason = reason.and_then(crate::domain::clean_text);
    if reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > MAX_REASON_CHARS)
    {
        return Err(Refused::TooLong("reason"));
    }
    let txn = db.begin().await?;
    // Only from the status the caller saw: a concurrent change wins, this one is refused.
    let moved = crate::db::exec(
        &txn,
        "UPDATE cases SET status = $2, updated_at = $3 WHERE id = $1 AND status = $4",
        vec![
            case.id.into(),
            to.code().into(),
            Utc::now().into(),
            from.code().into(),
        ],
    )
    .await?;
    if moved != 1 {
        return Err(Refused::Transition);
    }
    audit::append(
        &txn,
        keys,
        Event::new(Some(actor), "status")
            .case(case.id)
            .reason_opt(reason.as_deref())
            .detail(&format!("{} -> {}", from.code(), to.code())),
    )
    .await?;
    txn.commit().await?;
    Ok(to)
}

pub async fn add_note(
    db: &DatabaseConnection,
    keys: &KeyRing,
    actor: Uuid,
    case: &entity::case::Model,
    body: Option<&str>,
) -> Result<(), Refused> {
    let body = text(body, "body", MAX_NOTE_CHARS)?;
    let id = Uuid::now_v7();
    let ct = keys
        .cipher
        .encrypt_str(note_aad(id), &body)
        .context("cannot encrypt note")?;
    let txn = db.begin().await?;
    crate::db::exec(
        &txn,
        "INSERT INTO case_notes (id, case_id, author_id, body_ct, created_at) VALUES ($1, $2, $3, $4, $5)",
        vec![id.into(), case.id.into(), actor.into(), ct.into(), Utc::now().into()],
    )
    .await?;
    touch(&txn, case.id).await?;
    audit::append(
        &txn,
        keys,
        Event::new(Some(actor), "note")
            .case(case.id)
            .target(&id.to_string()),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Assigns the case to `assignee` (the caller or a colleague who shares one of the
/// case's active authorities; admins may assign to any inspector or admin).
pub async fn assign(
    db: &DatabaseConnection,
    keys: &KeyRing,
    actor: &Member,
    case: &entity::case::Model,
    assignee: Uuid,
) -> Result<(), Refused> {
    let target = super::staff::member(db, assignee)
        .await?
        .filter(|m| !m.disabled && m.role.works_cases())
        .ok_or(Refused::Staff)?;
    if target.role == Role::Inspector {
        let scope = Scope::Authorities(target.authorities.clone());
        let visible = find(db, &scope, &case.case_ref).await?.is_some();
        let colleague = actor.role == Role::Admin
            || target
                .authorities
                .iter()
                .any(|a| actor.authorities.contains(a));
        if !visible || !colleague {
            return Err(Refused::Staff);
        }
    } else if actor.role != Role::Admin {
        return Err(Refused::Staff);
    }
    let txn = db.begin().await?;
    crate::db::exec(
        &txn,
        "UPDATE cases SET assigned_to = $2, updated_at = $3 WHERE id = $1",
        vec![case.id.into(), assignee.into(), Utc::now().into()],
    )
    .await?;
    audit::append(
        &txn,
        keys,
        Event::new(Some(actor.id), "assign")
            .case(case.id)
            .target(&assignee.to_string()),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Refers the case to another authority: the new referral is added and the caller's
/// own authorities' referrals are withdrawn (it leaves their queue). Admins add
/// without withdrawing.
pub async fn refer(
    db: &DatabaseConnection,
    keys: &KeyRing,
    actor: &Member,
    case: &entity::case::Model,
    authority: Option<&str>,
    reason: Option<&str>,
) -> Result<(), Refused> {
    let authority = authority.map(str::trim).unwrap_or("");
    if authority.is_empty() {
        return Err(Refused::Missing("authority"));
    }
    if !crate::routing::is_known_code(authority) {
        return Err(Refused::Authority);
    }
    let reason = text(reason, "reason", MAX_REASON_CHARS)?;
    let txn = db.begin().await?;
    let now = Utc::now();
    let updated = crate::db::exec(
        &txn,
        "UPDATE case_referrals SET state = 'active', source = $3 WHERE case_id = $1 AND authority = $2",
        vec![case.id.into(), authority.into(), SOURCE_MANUAL.into()],
    )
    .await?;
    if updated == 0 {
        insert_referral(
            &txn,
            case.id,
            authority,
            function_for(authority),
            SOURCE_MANUAL,
            now,
        )
        .await?;
    }
    if actor.role == Role::Inspector {
        for own in actor.authorities.iter().filter(|a| a.as_str() != authority) {
            crate::db::exec(
                &txn,
                "UPDATE case_referrals SET state = 'withdrawn' WHERE case_id = $1 AND authority = $2",
                vec![case.id.into(), own.as_str().into()],
            )
            .await?;
        }
    }
    // Someone of the old authority no longer holds it.
    crate::db::exec(
        &txn,
        "UPDATE cases SET assigned_to = NULL, updated_at = $2 WHERE id = $1",
        vec![case.id.into(), now.into()],
    )
    .await?;
    audit::append(
        &txn,
        keys,
        Event::new(Some(actor.id), "refer")
            .case(case.id)
            .target(authority)
            .reason(&reason),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// The function a manual referral to `authority` serves.
fn function_for(authority: &str) -> &'static str {
    let kind = authority.split(':').next().unwrap_or(authority);
    match kind {
        "cfcrl" => "registration",
        "state_ccl" => "conciliation",
        "profedet" | "state_prodet" => "legal_aid",
        "us_ilc_rrm" => "petition",
        _ => "inspection",
    }
}

/// Marks the case a duplicate of another the caller can see, and closes it.
pub async fn mark_duplicate(
    db: &DatabaseConnection,
    keys: &KeyRing,
    actor: Uuid,
    scope: &Scope,
    case: &entity::case::Model,
    of: Option<&str>,
) -> Result<String, Refused> {
    let of = of
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(Refused::Missing("duplicate_of"))?;
    let original = find(db, scope, of)
        .await?
        .filter(|o| o.id != case.id && o.duplicate_of != Some(case.id))
        .ok_or(Refused::OtherCase("duplicate_of"))?;
    let from = CaseStatus::parse(&case.status).unwrap_or(CaseStatus::Received);
    if !from.can_move_to(CaseStatus::Closed) {
        return Err(Refused::Transition);
    }
    let txn = db.begin().await?;
    let moved = crate::db::exec(
        &txn,
        "UPDATE cases SET duplicate_of = $2, status = $3, updated_at = $4 WHERE id = $1 AND status = $5",
        vec![
            case.id.into(),
            original.id.into(),
            CaseStatus::Closed.code().into(),
            Utc::now().into(),
            from.code().into(),
        ],
    )
    .await?;
    if moved != 1 {
        return Err(Refused::Transition);
    }
    audit::append(
        &txn,
        keys,
        Event::new(Some(actor), "duplicate")
            .case(case.id)
            .target(&original.case_ref)
            .detail(&format!("{} -> closed", case.status)),
    )
    .await?;
    txn.commit().await?;
    Ok(original.case_ref)
}

/// Asks the complainant a question: shown on their status page, and sent through
/// the channel the case came from when a contact is on record (WhatsApp: the phone;
/// e-mail: the address), worded in the case's language. The case waits for
/// information, from any open status (asking is reviewing; the answer puts it back
/// in review).
pub async fn ask(
    state: &crate::app::AppState,
    actor: Uuid,
    case: &entity::case::Model,
    body: Option<&str>,
) -> Result<Vec<&'static str>, Refused> {
    let body = text(body, "body", MAX_QUESTION_CHARS)?;
    let db = state.intake.db();
    let keys = &state.keys;
    let from = CaseStatus::parse(&case.status).unwrap_or(CaseStatus::Received);
    if !from.accepts_messages() {
        return Err(Refused::Transition);
    }
    let lang = Language::parse(&case.language).unwrap_or_default();
    let id = Uuid::now_v7();
    let ct = keys
        .cipher
        .encrypt_str(crate::intake::message_aad(id), &body)
        .context("cannot encrypt message")?;
    let who = identity(db, keys, case.id).await?;
    let txn = db.begin().await?;
    let now = Utc::now();
    crate::db::exec(
        &txn,
        "INSERT INTO case_messages (id, case_id, author, body_ct, created_at) VALUES ($1, $2, $3, $4, $5)",
        vec![id.into(), case.id.into(), AUTHOR_STAFF.into(), ct.into(), now.into()],
    )
    .await?;
    // From the status the caller saw (a case closed meanwhile stays closed).
    let moved = crate::db::exec(
        &txn,
        "UPDATE cases SET status = $2, updated_at = $3 WHERE id = $1 AND status = $4",
        vec![
            case.id.into(),
            CaseStatus::InfoRequested.code().into(),
            now.into(),
            from.code().into(),
        ],
    )
    .await?;
    if moved != 1 {
        return Err(Refused::Transition);
    }
    let mut delivered = vec!["status_page"];
    let tr = |es: &'static str, en: &'static str| lang.pick(es, en);
    let heading = tr("Pregunta sobre su queja", "A question about your complaint");
    let text_out = format!(
        "{} {}:\n\n{}\n\n{}",
        heading,
        case.case_ref,
        body,
        tr(
            "Responda a este mensaje, o en la página de Buzón con su código secreto.",
            "Reply to this message, or on the Buzón page with your secret code."
        )
    );
    if case.channel == Channel::WhatsApp.code()
        && state.whatsapp.is_some()
        && let Some(phone) = &who.phone
    {
        let wa_id = phone.trim_start_matches('+');
        let payload = crate::channels::whatsapp::graph::message_body(
            wa_id,
            &crate::channels::whatsapp::conversation::Reply::Text(text_out.clone()),
        );
        crate::outbox::enqueue(
            &txn,
            keys,
            crate::channels::whatsapp::worker::CHANNEL,
            crate::channels::whatsapp::sender_key(keys, wa_id),
            &payload,
        )
        .await?;
        delivered.push("whatsapp");
    }
    if case.channel == Channel::Email.code()
        && let Some(email) = state.email.as_ref()
        && let Some(to) = &who.email
    {
        let settings = &email.settings;
        let reply_to = crate::channels::email::case_address(settings, &case.case_ref);
        let outgoing = crate::channels::email::worker::Outgoing {
            to: to.clone(),
            subject: crate::channels::email::case_subject(&case.case_ref, heading),
            body: text_out,
            message_id: format!("{}@{}", Uuid::new_v4().simple(), settings.hostname),
            in_reply_to: None,
            references: Vec::new(),
            reply_to,
            language: lang.code().to_owned(),
        };
        crate::outbox::enqueue(
            &txn,
            keys,
            crate::channels::email::CHANNEL,
            crate::channels::email::sender_key(keys, to),
            &serde_json::to_value(&outgoing).context("cannot serialize e-mail")?,
        )
        .await?;
        delivered.push("email");
    }
    audit::append(
        &txn,
        keys,
        Event::new(Some(actor), "question")
            .case(case.id)
            .detail(&format!(
                "{} -> info_requested via {}",
                from.code(),
                delivered.join(",")
            )),
    )
    .await?;
    txn.commit().await?;
    Ok(delivered)
}

/// Facts triage confirms (an e-mail arrives as free text) or corrects: the case is
/// routed again by the rules from them.
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FactsIn {
    /// ISO 3166-2:MX code.
    pub state: Option<String>,
    pub sector: Option<String>,
    /// `yes`, `no` or `unknown`.
    pub trade_with_us: Option<String>,
    /// Workers at the facility, 1 to 1 000 000; absent when unknown.
    pub workers: Option<i64>,
    /// Violation codes, at least one.
    pub violations: Option<Vec<String>>,
}

impl FactsIn {
    fn parse(&self, occurred_on: Option<NaiveDate>) -> Result<crate::routing::CaseFacts, Refused> {
        use crate::domain::{TradeNexus, Violation};
        let state = StateCode::parse(self.state.as_deref().map(str::trim).unwrap_or(""))
            .ok_or(Refused::Invalid("state"))?;
        let sector = Sector::parse(self.sector.as_deref().map(str::trim).unwrap_or("unknown"))
            .ok_or(Refused::Invalid("sector"))?;
        let trade_with_us = TradeNexus::parse(
            self.trade_with_us
                .as_deref()
                .map(str::trim)
                .unwrap_or("unknown"),
        )
        .ok_or(Refused::Invalid("trade_with_us"))?;
        let workers = match self.workers {
            None => None,
            Some(n) if (1..=1_000_000).contains(&n) => u32::try_from(n).ok(),
            Some(_) => return Err(Refused::Invalid("workers")),
        };
        let codes = self.violations.as_deref().unwrap_or_default();
        if codes.len() > Violation::ALL.len() {
            return Err(Refused::Invalid("violations"));
        }
        let violations = codes
            .iter()
            .map(|c| Violation::parse(c.trim()).ok_or(Refused::Invalid("violations")))
            .collect::<Result<std::collections::BTreeSet<_>, _>>()?;
        if violations.is_empty() {
            return Err(Refused::Missing("violations"));
        }
        Ok(crate::routing::CaseFacts {
            state,
            sector,
            trade_with_us,
            workers,
            violations,
            occurred_on,
        })
    }
}

/// Confirms or corrects the facts routing uses and routes the case again: its
/// routing decision, queue priority and rule-made referrals are replaced (referrals
/// an inspector made by hand stay). The case may leave the caller's jurisdiction.
pub async fn confirm_facts(
    db: &DatabaseConnection,
    keys: &KeyRing,
    rules: &crate::routing::Rules,
    actor: Uuid,
    case: &entity::case::Model,
    input: &FactsIn,
) -> Result<Decision, Refused> {
    let facts = input.parse(case.occurred_on)?;
    let decision = crate::routing::route(rules, &facts);
    let violations: Vec<crate::domain::Violation> = facts.violations.iter().copied().collect();
    let score = priority::score(&priority::Facts {
        violations: &violations,
        rrm: Some(decision.rrm.status),
        workers: facts.workers,
    });
    let routing = serde_json::to_value(&decision).context("cannot serialize routing")?;
    let now = Utc::now();
    let txn = db.begin().await?;
    crate::db::exec(
        &txn,
        "UPDATE workplaces SET state = $2, sector = $3, trade_with_us = $4, workers = $5 WHERE case_id = $1",
        vec![
            case.id.into(),
            facts.state.code().into(),
            facts.sector.code().into(),
            facts.trade_with_us.code().into(),
            facts.workers.and_then(|w| i32::try_from(w).ok()).into(),
        ],
    )
    .await?;
    crate::db::exec(
        &txn,
        "DELETE FROM case_violations WHERE case_id = $1",
        vec![case.id.into()],
    )
    .await?;
    for v in &violations {
        crate::db::exec(
            &txn,
            "INSERT INTO case_violations (case_id, violation) VALUES ($1, $2)",
            vec![case.id.into(), v.code().into()],
        )
        .await?;
    }
    crate::db::exec(
        &txn,
        "UPDATE cases SET routing = $2, rule_version = $3, priority = $4, rrm_status = $5, updated_at = $6 WHERE id = $1",
        vec![
            case.id.into(),
            routing.into(),
            decision.rule_version.as_str().into(),
            score.into(),
            decision.rrm.status.code().into(),
            now.into(),
        ],
    )
    .await?;
    crate::db::exec(
        &txn,
        "DELETE FROM case_referrals WHERE case_id = $1 AND source = $2",
        vec![case.id.into(), SOURCE_RULES.into()],
    )
    .await?;
    for r in &decision.referrals {
        let kept = crate::db::exec(
            &txn,
            "UPDATE case_referrals SET state = 'active' WHERE case_id = $1 AND authority = $2 AND function = $3",
            vec![case.id.into(), r.authority.as_str().into(), r.function.code().into()],
        )
        .await?;
        if kept == 0 {
            insert_referral(
                &txn,
                case.id,
                &r.authority,
                r.function.code(),
                SOURCE_RULES,
                now,
            )
            .await?;
        }
    }
    let detail = format!(
        "state={} sector={} trade_with_us={} workers={} violations={} rules={}",
        facts.state.code(),
        facts.sector.code(),
        facts.trade_with_us.code(),
        facts
            .workers
            .map_or_else(|| "unknown".to_owned(), |w| w.to_string()),
        violations
            .iter()
            .map(|v| v.code())
            .collect::<Vec<_>>()
            .join(","),
        decision.rule_version
    );
    audit::append(
        &txn,
        keys,
        Event::new(Some(actor), "facts")
            .case(case.id)
            .detail(&detail),
    )
    .await?;
    txn.commit().await?;
    Ok(decision)
}

/// Counts for coordinators: cases by status, state and authority, never a case.
#[derive(Clone, Debug, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Stats {
    pub total: i64,
    pub by_status: Vec<Count>,
    pub by_state: Vec<Count>,
    pub by_authority: Vec<Count>,
    pub rrm: Vec<Count>,
}

#[derive(Clone, Debug, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Count {
    pub key: String,
    pub count: i64,
}

pub async fn stats(db: &DatabaseConnection) -> anyhow::Result<Stats> {
    let pairs = |sql: &'static str| {
        crate::db::all(db, sql, vec![], |r| {
            Ok(Count {
                key: r
                    .try_get_by_index::<Option<String>>(0)?
                    .unwrap_or_else(|| "none".into()),
                count: r.try_get_by_index::<i64>(1)?,
            })
        })
    };
    let total: i64 = crate::db::row(db, "SELECT COUNT(*) FROM cases", vec![])
        .await?
        .context("no count")?
        .try_get_by_index(0)?;
    Ok(Stats {
        total,
        by_status: pairs("SELECT status, COUNT(*) FROM cases GROUP BY status ORDER BY status").await?,
        by_state: pairs("SELECT state, COUNT(*) FROM workplaces GROUP BY state ORDER BY state").await?,
        by_authority: pairs(
            "SELECT authority, COUNT(*) FROM case_referrals WHERE state = 'active' GROUP BY authority ORDER BY authority",
        )
        .await?,
        rrm: pairs("SELECT rrm_status, COUNT(*) FROM cases GROUP BY rrm_status ORDER BY rrm_status").await?,
    })
}

/// Gives cases stored before triage existed their priority and referral rows.
/// Runs at start; a no-op once every case has a priority.
pub async fn backfill(db: &DatabaseConnection) -> anyhow::Result<u64> {
    let rows = crate::db::rows(
        db,
        "SELECT c.id, c.routing, c.created_at, w.workers FROM cases c JOIN workplaces w ON w.case_id = c.id \
         WHERE c.priority IS NULL",
        vec![],
    )
    .await?;
    let mut done = 0;
    for r in &rows {
        let id: Uuid = r.try_get_by_index(0)?;
        let routing: Option<serde_json::Value> = r.try_get_by_index(1)?;
        let created: DateTime<Utc> = r.try_get_by_index(2)?;
        let workers: Option<i32> = r.try_get_by_index(3)?;
        let decision = routing.and_then(|j| serde_json::from_value::<Decision>(j).ok());
        let violations: Vec<crate::domain::Violation> = crate::db::rows(
            db,
            "SELECT violation FROM case_violations WHERE case_id = $1",
            vec![id.into()],
        )
        .await?
        .iter()
        .filter_map(|r| r.try_get_by_index::<String>(0).ok())
        .filter_map(|v| crate::domain::Violation::parse(&v))
        .collect();
        let rrm = decision.as_ref().map(|d| d.rrm.status);
        let score = priority::score(&priority::Facts {
            violations: &violations,
            rrm,
            workers: workers.and_then(|w| u32::try_from(w).ok()),
        });
        let txn = db.begin().await?;
        crate::db::exec(
            &txn,
            "UPDATE cases SET priority = $2, rrm_status = $3 WHERE id = $1 AND priority IS NULL",
            vec![
                id.into(),
                score.into(),
                rrm.map(|s| s.code().to_owned()).into(),
            ],
        )
        .await?;
        for referral in decision.iter().flat_map(|d| d.referrals.iter()) {
            crate::db::exec(
                &txn,
                "DELETE FROM case_referrals WHERE case_id = $1 AND authority = $2 AND function = $3",
                vec![id.into(), referral.authority.as_str().into(), referral.function.code().into()],
            )
            .await?;
            insert_referral(
                &txn,
                id,
                &referral.authority,
                referral.function.code(),
                SOURCE_RULES,
                created,
            )
            .await?;
        }
        txn.commit().await?;
        done += 1;
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn cursors_round_trip(p in -1000i32..1000, nanos in 0i64..i64::MAX, id in any::<u128>()) {
            let c = Cursor {
                priority: p,
                created_at: DateTime::from_timestamp_nanos(nanos),
                id: Uuid::from_u128(id),
            };
            prop_assert_eq!(Cursor::decode(&c.encode()), Some(c));
        }

        #[test]
        fn garbage_is_never_a_cursor_or_a_panic(s in ".{0,300}") {
            let _ = Cursor::decode(&s);
        }
    }

    #[test]
    fn a_scope_without_authorities_sees_nothing() {
        let mut v = Vec::new();
        assert_eq!(Scope::Authorities(vec![]).sql(&mut v), " AND 1 = 0");
        assert!(Scope::All.sql(&mut v).is_empty() && v.is_empty());
        let sql = Scope::Authorities(vec!["cfcrl".into(), "state_labor:MX-GUA".into()]).sql(&mut v);
        assert!(sql.contains("IN ($1, $2)") && v.len() == 2, "{sql}");
    }

    #[test]
    fn facility_tags_are_stable_and_differ_by_state() {
        assert_eq!(facility_tag(b"x", "MX-GUA"), facility_tag(b"x", "MX-GUA"));
        assert_ne!(facility_tag(b"x", "MX-GUA"), facility_tag(b"x", "MX-JAL"));
    }
}
