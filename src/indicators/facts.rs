//! The indicators' facts: one compact, de-identified row per case, kept in memory
//! and brought up to date from the database before each computation.
//!
//! Why in memory: every indicator is a count over all cases in a period, and a
//! dozen `GROUP BY`s over a million rows (joined to workplaces, violations,
//! referrals, messages and petitions) take seconds on SQLite; one pass over a
//! million 72-byte rows takes milliseconds. The first computation loads every case
//! (each table read once as a stream, no join); after that each computation reads only the cases
//! whose `updated_at` moved since the last look (every write that changes a fact
//! here sets it: intake, status changes, actions, referrals, facts, questions,
//! answers, petitions), with an overlap of [`OVERLAP`] so that a transaction that
//! committed late is not missed, and reloads everything every [`FULL_RELOAD`].
//!
//! Nothing identifying is held: no reference, no narrative, no employer (a facility
//! is a 64-bit digest of the employer's blind index and the state).

use crate::domain::{CaseStatus, Channel, Outcome, Sector, StateCode, Violation};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sea_orm::{DatabaseConnection, QueryResult, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;
use uuid::Uuid;

/// How far back each refresh looks before the newest change it saw.
pub const OVERLAP: chrono::Duration = chrono::Duration::seconds(120);
/// Everything is read again this often (a case deleted outright, a clock change).
pub const FULL_RELOAD: Duration = Duration::from_secs(15 * 60);

/// Kinds of authority a referral goes to (the part of the code before `:`).
pub const AUTHORITY_KINDS: [&str; 7] = [
    "cfcrl",
    "stps_inspection",
    "profedet",
    "state_ccl",
    "state_labor",
    "state_prodet",
    "us_ilc_rrm",
];

pub const RRM: [&str; 3] = ["likely", "possible", "unlikely"];

/// One case, as the indicators see it. Times are Unix seconds; `0` means none.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fact {
    pub created: i64,
    /// Deferred filing: out of every indicator before this instant.
    pub hold_until: i64,
    pub closed: i64,
    /// Seconds from receipt to the first staff action / first referral; `u32::MAX`: none.
    pub first_action: u32,
    pub referred: u32,
    /// Facility: the first 8 bytes of SHA-256(employer blind index ‖ state).
    pub facility: u64,
    /// A bit per `Violation::ALL` index.
    pub violations: u32,
    /// A bit per [`AUTHORITY_KINDS`] index: active referrals.
    pub authorities: u16,
    pub questions: u16,
    pub answered: u16,
    /// Collective complaints: workers affected (0: not collective).
    pub workers: u32,
    /// Index in `Channel::ALL`, `StateCode::ALL`, `Sector::ALL`, `CaseStatus::ALL`.
    pub channel: u8,
    pub state: u8,
    pub sector: u8,
    pub status: u8,
    /// `CaseStatus::bit`s of every status the case has had.
    pub reached: u8,
    /// 1 + index in `Outcome::ALL`; 0: none.
    pub outcome: u8,
    /// 1 + index in [`RRM`]; 0: not screened.
    pub rrm: u8,
    pub by_org: bool,
    pub anonymous: bool,
    pub petition_prepared: bool,
    /// RRM petition filed on (days since 1970-01-01); 0: not filed.
    pub petition_filed: i32,
}

pub const NONE: u32 = u32::MAX;

impl Fact {
    pub fn month(&self) -> i32 {
        month_of(self.created)
    }

    pub fn visible_at(&self, now: i64) -> bool {
        self.hold_until == 0 || self.hold_until <= now
    }
}

/// Months as `year * 12 + month - 1`, in UTC.
pub fn month_of(secs: i64) -> i32 {
    DateTime::<Utc>::from_timestamp(secs, 0).map_or(0, |t| t.year() * 12 + t.month0() as i32)
}

/// `item`'s place in `all` as a fact stores it; `u8::MAX`: none or unknown.
pub(super) fn index<T: PartialEq>(all: &[T], item: Option<T>) -> u8 {
    item.and_then(|i| all.iter().position(|a| *a == i))
        .and_then(|p| u8::try_from(p).ok())
        .unwrap_or(u8::MAX)
}

/// The facility key of an employer blind index in a state.
pub fn facility_key(employer_bidx: &[u8], state: &str) -> u64 {
    let hex = crate::crypto::sha256_hex(&[employer_bidx, state.as_bytes()].concat());
    u64::from_str_radix(hex.get(..16).unwrap_or("0"), 16).unwrap_or(0)
}

/// The facility's tag as the queue shows it (`cases::facility_tag`).
pub fn facility_tag(key: u64) -> String {
    format!("F-{:06X}", key >> 40)
}

/// Which cases a load reads.
enum Selection {
    /// Every case: each table read once, in its own order, as a stream.
    All,
    /// The cases whose `updated_at` is at or after this.
    ChangedSince(DateTime<Utc>),
}

impl Selection {
    /// The condition on a table's case id column, and its values.
    fn on(&self, column: &str) -> (String, Vec<Value>) {
        match self {
            Self::All => (String::new(), vec![]),
            Self::ChangedSince(t) => (
                format!("WHERE {column} IN (SELECT id FROM cases WHERE updated_at >= $1)"),
                vec![(*t).into()],
            ),
        }
    }
}

fn ts(r: &QueryResult, i: usize) -> Result<i64, sea_orm::DbErr> {
    Ok(r.try_get_by_index::<Option<DateTime<Utc>>>(i)?
        .map_or(0, |t| t.timestamp()))
}

fn since(created: i64, at: i64) -> u32 {
    if at == 0 {
        NONE
    } else {
        u32::try_from((at - created).max(0)).unwrap_or(NONE - 1)
    }
}

/// Runs `sql` (its condition from `selection` on `column`) and hands each row to
/// `f` as it arrives, never holding the whole result.
async fn each_row(
    db: &DatabaseConnection,
    selection: &Selection,
    column: &str,
    sql: impl Fn(&str) -> String,
    mut f: impl FnMut(&QueryResult) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    use futures_util::StreamExt;
    use sea_orm::StreamTrait;
    let (cond, values) = selection.on(column);
    let stmt =
        sea_orm::Statement::from_sql_and_values(db.get_database_backend(), sql(&cond), values);
    let mut rows = db.stream_raw(stmt).await?;
    while let Some(r) = rows.next().await {
        f(&r?)?;
    }
    Ok(())
}

/// Reads the cases a selection names, with their workplaces, violations,
/// referrals, questions and petitions: each table once, as a stream (no join, so
/// every read is a scan in the table's own order). Returns the facts by id, and
/// the newest `updated_at` seen.
async fn load(
    db: &DatabaseConnection,
    selection: &Selection,
) -> anyhow::Result<(Vec<(Uuid, Fact)>, Option<DateTime<Utc>>)> {
    let mut newest: Option<DateTime<Utc>> = None;
    let mut facts: Vec<(Uuid, Fact)> = Vec::new();
    let mut at: HashMap<Uuid, usize> = HashMap::new();
    each_row(
        db,
        selection,
        "c.id",
        |cond| {
            format!(
                "SELECT c.id, c.created_at, c.hold_until, c.closed_at, c.first_action_at, \
                 c.referred_at, c.channel, c.status, c.reached, c.outcome, c.rrm_status, \
                 c.org_id, c.anonymous, c.workers_affected, c.updated_at FROM cases c {cond}"
            )
        },
        |r| {
            let id: Uuid = r.try_get_by_index(0)?;
            let created = ts(r, 1)?;
            let updated: DateTime<Utc> = r.try_get_by_index(14)?;
            newest = newest.max(Some(updated));
            let rrm: Option<String> = r.try_get_by_index(10)?;
            let outcome: Option<String> = r.try_get_by_index(9)?;
            let fact = Fact {
                created,
                hold_until: ts(r, 2)?,
                closed: ts(r, 3)?,
                first_action: since(created, ts(r, 4)?),
                referred: since(created, ts(r, 5)?),
                channel: index(
                    Channel::ALL,
                    Channel::parse(&r.try_get_by_index::<String>(6)?),
                ),
                state: u8::MAX,
                sector: u8::MAX,
                status: index(
                    CaseStatus::ALL,
                    CaseStatus::parse(&r.try_get_by_index::<String>(7)?),
                ),
                reached: u8::try_from(r.try_get_by_index::<i32>(8)?).unwrap_or(1),
                outcome: outcome
                    .as_deref()
                    .and_then(Outcome::parse)
                    .map_or(0, |o| index(Outcome::ALL, Some(o)).saturating_add(1)),
                rrm: rrm
                    .as_deref()
                    .and_then(|r| RRM.iter().position(|c| *c == r))
                    .map_or(0, |p| p as u8 + 1),
                by_org: r.try_get_by_index::<Option<Uuid>>(11)?.is_some(),
                anonymous: r.try_get_by_index(12)?,
                workers: r
                    .try_get_by_index::<Option<i32>>(13)?
                    .and_then(|w| u32::try_from(w).ok())
                    .unwrap_or(0),
                ..Fact::default()
            };
            at.insert(id, facts.len());
            facts.push((id, fact));
            Ok(())
        },
    )
    .await?;
    if facts.is_empty() {
        return Ok((facts, newest));
    }
    // The other tables, for the same cases, attached by id.
    let mut attach =
        async |column: &str,
               sql: &(dyn Fn(&str) -> String + Sync),
               f: &mut (dyn FnMut(&mut Fact, &QueryResult) -> anyhow::Result<()> + Send)|
               -> anyhow::Result<()> {
            each_row(db, selection, column, sql, |r| {
                let id: Uuid = r.try_get_by_index(0)?;
                if let Some(i) = at.get(&id) {
                    f(&mut facts[*i].1, r)?;
                }
                Ok(())
            })
            .await
        };
    attach(
        "case_id",
        &|cond| format!("SELECT case_id, state, sector, employer_bidx FROM workplaces {cond}"),
        &mut |fact, r| {
            let state: String = r.try_get_by_index(1)?;
            let bidx: Vec<u8> = r.try_get_by_index(3)?;
            fact.state = index(StateCode::ALL, StateCode::parse(&state));
            fact.sector = index(
                Sector::ALL,
                Sector::parse(&r.try_get_by_index::<String>(2)?),
            );
            fact.facility = facility_key(&bidx, &state);
            Ok(())
        },
    )
    .await?;
    attach(
        "case_id",
        &|cond| format!("SELECT case_id, violation FROM case_violations {cond}"),
        &mut |fact, r| {
            let v = r.try_get_by_index::<String>(1)?;
            if let Some(p) =
                Violation::parse(&v).and_then(|v| Violation::ALL.iter().position(|a| *a == v))
            {
                fact.violations |= 1 << p;
            }
            Ok(())
        },
    )
    .await?;
    attach(
        "case_id",
        &|cond| {
            let and = if cond.is_empty() {
                "WHERE".to_owned()
            } else {
                format!("{cond} AND")
            };
            format!("SELECT case_id, authority FROM case_referrals {and} state = 'active'")
        },
        &mut |fact, r| {
            let code = r.try_get_by_index::<String>(1)?;
            let kind = code.split(':').next().unwrap_or("");
            if let Some(p) = AUTHORITY_KINDS.iter().position(|k| *k == kind) {
                fact.authorities |= 1 << p;
            }
            Ok(())
        },
    )
    .await?;
    // A question is a staff message; it is answered when the complainant writes
    // after it. Read in order, so "pending" counts questions not answered yet.
    let mut pending: HashMap<Uuid, u16> = HashMap::new();
    attach(
        "case_id",
        &|cond| {
            format!("SELECT case_id, author FROM case_messages {cond} ORDER BY case_id, created_at")
        },
        &mut |fact, r| {
            let id: Uuid = r.try_get_by_index(0)?;
            let author = r.try_get_by_index::<String>(1)?;
            let open = pending.entry(id).or_default();
            if author == crate::cases::AUTHOR_STAFF {
                fact.questions = fact.questions.saturating_add(1);
                *open = open.saturating_add(1);
            } else if author == crate::intake::AUTHOR_COMPLAINANT && *open > 0 {
                fact.answered = fact.answered.saturating_add(*open);
                *open = 0;
            }
            Ok(())
        },
    )
    .await?;
    attach(
        "case_id",
        &|cond| format!("SELECT case_id, prepared_at, filed_on FROM rrm_petitions {cond}"),
        &mut |fact, r| {
            fact.petition_prepared = ts(r, 1)? != 0;
            fact.petition_filed = r
                .try_get_by_index::<Option<NaiveDate>>(2)?
                .map_or(0, |d| (d - NaiveDate::default()).num_days() as i32);
            Ok(())
        },
    )
    .await?;
    Ok((facts, newest))
}

#[derive(Default)]
struct Held {
    facts: Vec<Fact>,
    at: HashMap<Uuid, usize>,
    /// The newest `updated_at` read so far; `None` before the first load.
    seen: Option<DateTime<Utc>>,
    loaded_at: Option<Instant>,
}

impl Held {
    fn put(&mut self, id: Uuid, fact: Fact) {
        match self.at.get(&id) {
            Some(i) => self.facts[*i] = fact,
            None => {
                self.at.insert(id, self.facts.len());
                self.facts.push(fact);
            }
        }
    }
}

/// The facts of every case, shared by the page, the JSON, the CSV and the report.
#[derive(Default)]
pub struct Cache {
    held: RwLock<Held>,
}

impl Cache {
    /// Brings the facts up to date and runs `f` over them.
    pub async fn with<T>(
        &self,
        db: &DatabaseConnection,
        f: impl FnOnce(&[Fact]) -> T,
    ) -> anyhow::Result<T> {
        self.refresh(db).await?;
        let held = self.held.read().await;
        Ok(f(&held.facts))
    }

    async fn refresh(&self, db: &DatabaseConnection) -> anyhow::Result<()> {
        let mut held = self.held.write().await;
        // Everything again: at the first look, every FULL_RELOAD, and while the
        // database held no case at the last look (nothing to look back from).
        let stale =
            held.seen.is_none() || held.loaded_at.is_none_or(|t| t.elapsed() >= FULL_RELOAD);
        if stale {
            let mut fresh = Held::default();
            let (all, newest) = load(db, &Selection::All).await?;
            fresh.seen = newest;
            fresh.facts.reserve(all.len());
            for (id, fact) in all {
                fresh.put(id, fact);
            }
            fresh.loaded_at = Some(Instant::now());
            *held = fresh;
            return Ok(());
        }
        if let Some(seen) = held.seen {
            let (changed, newest) = load(db, &Selection::ChangedSince(seen - OVERLAP)).await?;
            held.seen = held.seen.max(newest);
            for (id, fact) in changed {
                held.put(id, fact);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facility_tags_match_the_queue() {
        let key = facility_key(b"employer-index", "MX-GUA");
        assert_eq!(
            facility_tag(key),
            crate::cases::facility_tag(b"employer-index", "MX-GUA")
        );
    }

    #[test]
    fn months_are_utc_calendar_months() {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 3, 31)
            .unwrap()
            .and_hms_opt(23, 59, 0)
            .unwrap()
            .and_utc()
            .timestamp();
        assert_eq!(month_of(t), 2026 * 12 + 2);
    }
}
