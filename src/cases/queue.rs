//! The scoped list of cases: filters, priority order, keyset pages, and the
//! facility tag that groups complaints about one workplace without naming it.

use super::*;
use sea_orm::TransactionTrait;

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
    /// Only cases that name this violation.
    pub violation: Option<Violation>,
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
    /// A violation code (TAXONOMY.md): only cases that name it.
    pub violation: Option<String>,
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
        let violation = blank(&self.violation)
            .map(|s| Violation::parse(&s).ok_or("violation"))
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
                violation,
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

/// The statements [`queue`] runs for one page (`limit` rows, clamped to 1..=200,
/// plus one to tell whether there is a next page) after `after`, in runs: each run
/// is read in order until it fills the page, and the runs' rows are merged in queue
/// order, each case once. Public so the queue bench explains exactly these
/// statements.
///
/// An inspector's queue is read from their referrals, one run per authority:
/// `case_referrals` carries copies of the case's priority, creation time, status
/// and channel and of the workplace's state and sector (kept equal by triggers,
/// migration 10), and partial indexes over the active referrals give the queue
/// order within one authority, or within one sector, state or channel of it. So
/// the scope, the common filters and the order are one index range, and the rest
/// (RRM, violation, deferral) is checked on the rows it yields. Read from `cases`
/// instead, the scope and the workplace filters were other tables' rows to probe
/// or sort (BENCHMARKS.md, issue 18). Admins, advocates (`Scope::Org`) and "assigned
/// to me" (a member's few cases, `idx_cases_assigned`) read `cases` in queue order.
///
/// After a cursor a run has two statements, each an index range in queue order:
/// the rest of the cursor's priority (`priority = p AND created_at >= t`), then the
/// lower priorities (`priority < p`). Said as one `OR`, neither back end started
/// the scan at the cursor within its priority: they walked the whole priority band
/// from its oldest case, which on a deep page of a filtered queue is most of it.
pub fn queue_statements(
    scope: &Scope,
    filters: &Filters,
    after: Option<&Cursor>,
    limit: u64,
) -> Vec<Vec<(String, Vec<Value>)>> {
    let limit = limit.clamp(1, 200) + 1;
    match scope {
        Scope::Authorities(list) if !list.is_empty() && filters.assigned_to.is_none() => list
            .iter()
            .map(|a| run(&Driver::Referrals(a), scope, filters, after, limit))
            .collect(),
        _ => vec![run(&Driver::Cases, scope, filters, after, limit)],
    }
}

/// The table a statement walks in queue order.
enum Driver<'a> {
    /// `cases` (`idx_cases_queue`, `idx_cases_assigned`), the scope checked per row.
    Cases,
    /// One authority's active referrals (`idx_referrals_queue*`).
    Referrals(&'a str),
}

/// Where the queue's columns are read for the filters and the order.
struct Cols {
    priority: &'static str,
    created_at: &'static str,
    id: &'static str,
    status: &'static str,
    channel: &'static str,
    state: &'static str,
    sector: &'static str,
}

impl Driver<'_> {
    fn cols(&self) -> Cols {
        match self {
            Self::Cases => Cols {
                priority: "c.priority",
                created_at: "c.created_at",
                id: "c.id",
                status: "c.status",
                channel: "c.channel",
                state: "w.state",
                sector: "w.sector",
            },
            Self::Referrals(_) => Cols {
                priority: "r.case_priority",
                created_at: "r.case_created_at",
                id: "r.case_id",
                status: "r.case_status",
                channel: "r.case_channel",
                state: "r.workplace_state",
                sector: "r.workplace_sector",
            },
        }
    }
}

/// One run of statements (see [`queue_statements`]); `limit` already has its +1.
fn run(
    driver: &Driver,
    scope: &Scope,
    filters: &Filters,
    after: Option<&Cursor>,
    limit: u64,
) -> Vec<(String, Vec<Value>)> {
    let k = driver.cols();
    let order = format!(
        " ORDER BY {} DESC, {} ASC, {} ASC LIMIT {limit}",
        k.priority, k.created_at, k.id
    );
    let mut values: Vec<Value> = Vec::new();
    let Some(c) = after else {
        let sql = filtered(driver, scope, filters, &mut values) + &order;
        return vec![(sql, values)];
    };
    let mut same = filtered(driver, scope, filters, &mut values);
    let p = bind(c.priority.into(), &mut values);
    let t = bind(c.created_at.into(), &mut values);
    let i = bind(c.id.into(), &mut values);
    same.push_str(&format!(
        " AND {pr} = {p} AND {cr} >= {t} AND ({cr} > {t} OR {id} > {i})",
        pr = k.priority,
        cr = k.created_at,
        id = k.id
    ));
    let mut lower_values = Vec::new();
    let mut lower = filtered(driver, scope, filters, &mut lower_values);
    let p = bind(c.priority.into(), &mut lower_values);
    lower.push_str(&format!(" AND {} < {p}", k.priority));
    vec![(same + &order, values), (lower + &order, lower_values)]
}

/// Binds `v` after `values`; its placeholder.
fn bind(v: Value, values: &mut Vec<Value>) -> String {
    values.push(v);
    format!("${}", values.len())
}

/// The queue's columns, scope and filters, unordered; binds after `values`.
fn filtered(driver: &Driver, scope: &Scope, filters: &Filters, values: &mut Vec<Value>) -> String {
    const COLUMNS: &str = "SELECT c.id, c.case_ref, c.status, c.channel, w.state, w.sector, \
         c.rrm_status, c.priority, c.created_at, c.assigned_to, w.employer_bidx, \
         c.workers_affected, c.updated_at";
    let k = driver.cols();
    let mut sql = match driver {
        Driver::Cases => {
            let mut sql = format!(
                "{COLUMNS} FROM cases c JOIN workplaces w ON w.case_id = c.id \
                 WHERE c.priority IS NOT NULL"
            );
            sql.push_str(&scope.sql(values));
            sql
        }
        Driver::Referrals(authority) => {
            let a = bind((*authority).into(), values);
            // `state = 'active'` as a literal: it is the partial indexes' condition.
            let mut sql = format!(
                "{COLUMNS} FROM case_referrals r JOIN cases c ON c.id = r.case_id \
                 JOIN workplaces w ON w.case_id = r.case_id \
                 WHERE r.authority = {a} AND r.state = 'active' AND r.case_priority IS NOT NULL"
            );
            sql.push_str(&not_held(values));
            sql
        }
    };
    match filters.status.unwrap_or(StatusFilter::Open) {
        StatusFilter::Open => {
            let m = bind(CaseStatus::Closed.code().into(), values);
            sql.push_str(&format!(" AND {} <> {m}", k.status));
        }
        StatusFilter::All => {}
        StatusFilter::Is(s) => {
            let m = bind(s.code().into(), values);
            sql.push_str(&format!(" AND {} = {m}", k.status));
        }
    }
    if let Some(state) = &filters.state {
        let m = bind(state.as_str().into(), values);
        sql.push_str(&format!(" AND {} = {m}", k.state));
    }
    if let Some(sector) = filters.sector {
        let m = bind(sector.code().into(), values);
        sql.push_str(&format!(" AND {} = {m}", k.sector));
    }
    if let Some(channel) = filters.channel {
        let m = bind(channel.code().into(), values);
        sql.push_str(&format!(" AND {} = {m}", k.channel));
    }
    if let Some(violation) = filters.violation {
        let m = bind(violation.code().into(), values);
        // On the driving table's id: checked before the case row is read.
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM case_violations v WHERE v.case_id = {} AND v.violation = {m})",
            k.id
        ));
    }
    match filters.rrm.as_deref() {
        None => {}
        Some("none") => sql.push_str(" AND c.rrm_status IS NULL"),
        Some(r) => {
            let m = bind(r.into(), values);
            sql.push_str(&format!(" AND c.rrm_status = {m}"));
        }
    }
    if let Some(from) = filters.from {
        let m = bind(
            from.and_time(chrono::NaiveTime::MIN).and_utc().into(),
            values,
        );
        sql.push_str(&format!(" AND {} >= {m}", k.created_at));
    }
    if let Some(to) = filters.to.and_then(|d| d.succ_opt()) {
        let m = bind(to.and_time(chrono::NaiveTime::MIN).and_utc().into(), values);
        sql.push_str(&format!(" AND {} < {m}", k.created_at));
    }
    if let Some(me) = filters.assigned_to {
        let m = bind(me.into(), values);
        sql.push_str(&format!(" AND c.assigned_to = {m}"));
    }
    sql
}

/// One page of the queue, in priority order, and the cursor of the next page.
pub async fn queue(
    db: &DatabaseConnection,
    scope: &Scope,
    filters: &Filters,
    after: Option<&Cursor>,
    limit: u64,
) -> anyhow::Result<(Vec<QueueItem>, Option<Cursor>)> {
    let limit = limit.clamp(1, 200);
    let runs = queue_statements(scope, filters, after, limit);
    let merge = runs.len() > 1;
    let postgres = db.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
    let txn = if postgres {
        // A plan for these values each time: after five runs PostgreSQL may keep a
        // generic plan of a prepared statement, made without knowing which state or
        // sector is asked for, and that plan sorted a whole authority's cases
        // (BENCHMARKS.md, issue 18). Planning costs well under a millisecond.
        let txn = db.begin().await.context("cannot read the queue")?;
        txn.execute_unprepared("SET LOCAL plan_cache_mode = force_custom_plan")
            .await
            .context("cannot read the queue")?;
        Some(txn)
    } else {
        None
    };
    let mut rows = Vec::new();
    for run in runs {
        let mut read = 0;
        for (sql, values) in run {
            if read > limit {
                break;
            }
            let page = match &txn {
                Some(txn) => crate::db::rows(txn, &sql, values).await,
                None => crate::db::rows(db, &sql, values).await,
            }
            .context("cannot read the queue")?;
            read += page.len() as u64;
            rows.extend(page);
        }
    }
    if let Some(txn) = txn {
        txn.commit().await.context("cannot read the queue")?;
    }
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
    if merge {
        // Each run is in queue order and holds its first `limit + 1` cases, so the
        // first `limit + 1` of their union, each case once, are among them.
        items.sort_by(|a, b| {
            (b.priority, a.created_at, a.id).cmp(&(a.priority, b.created_at, b.id))
        });
        items.dedup_by_key(|i| i.id);
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
