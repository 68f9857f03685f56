//! The triage queue (`buzon::cases::queue`) on a large database.
//!
//! `cargo bench --bench queue` builds, for each back end:
//! - SQLite (a temp file) and
//! - PostgreSQL (a fresh database on 127.0.0.1:5432, dropped after), when reachable,
//!
//! migrates it, and fills it with `BENCH_CASES` cases (default 1 000 000) with
//! set-based SQL (`generate_series` on PostgreSQL, a recursive CTE on SQLite, in
//! batches of 100 000 per transaction): a workplace per case (32 states, 7 sectors,
//! facilities repeating every 5 000 cases), a conciliation referral to the state's
//! CCL per case and a registration referral to the CFCRL for every 7th case;
//! statuses cycle, priorities follow a realistic spread (most 0–5, about 10 %
//! 10–15, about 3 % 100–125), creation times spread over two years. Ids,
//! timestamps and booleans are written the way sea-orm writes them (checked
//! against a case inserted through the entity first), then `ANALYZE`.
//!
//! It then times the first page and the 20th page (following the `next` cursors)
//! of the queue for inspectors and admins with a few filters: median and p95 of
//! `BENCH_RUNS` runs (default 30) after 3 warm-up runs. It prints a Markdown table
//! for BENCHMARKS.md, the generation time and database size, and the machine.
//! For a page whose median is over 50 ms, or for every page with
//! `BENCH_EXPLAIN=1`, it prints the plan of the query `queue()` builds (EXPLAIN
//! QUERY PLAN on SQLite, EXPLAIN ANALYZE on PostgreSQL). `BENCH_KEEP=1` keeps the
//! SQLite file and the PostgreSQL database afterwards (their names are printed),
//! to try indexes on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use buzon::cases::{Cursor, Filters, Scope, StatusFilter, queue};
use buzon::domain::{CaseStatus, Channel, Sector, StateCode};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveValue, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, EntityTrait,
    TransactionTrait, Value,
};
use std::time::{Duration, Instant};

const WARMUP: usize = 3;
const BATCH: u64 = 100_000;
const PAGE: u64 = 50;
/// The page timed after the first one.
const DEEP_PAGE: usize = 20;
/// First pages slower than this get their plan printed.
const SLOW: Duration = Duration::from_millis(50);
/// Creation times spread over two years from here (2024-12-01T00:00:00Z).
const BASE_EPOCH: i64 = 1_733_011_200;
const SPAN_SECONDS: i64 = 730 * 86_400;
const SECTORS: [Sector; 7] = [
    Sector::Automotive,
    Sector::AutoParts,
    Sector::Electronics,
    Sector::Garment,
    Sector::Agriculture,
    Sector::FoodPackaged,
    Sector::OtherServices,
];
/// Odd multipliers for Knuth's multiplicative hash: each column that should not
/// follow the state's cycle draws from its own.
const M_ID_A: u64 = 2_654_435_761;
const M_ID_B: u64 = 2_246_822_519;
const M_ID_C: u64 = 3_266_489_917;
const M_TIME: u64 = 668_265_263;
const M_PRIO: u64 = 374_761_393;
const M_BAND: u64 = 1_103_515_245;
const M_TENS: u64 = 2_870_177_451;
const M_CHANNEL: u64 = 3_812_015_801;
const M_RRM: u64 = 1_597_334_677;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A 32-bit hash of the row number `i`.
fn mix(m: u64) -> String {
    format!("((i * {m}) % 4294967296)")
}

/// A hashed index in `0..k`.
fn draw(m: u64, k: u64) -> String {
    format!("({} * {k} / 4294967296)", mix(m))
}

/// `codes[expr]`, NULL past the end.
fn pick(expr: &str, codes: &[&str]) -> String {
    let mut sql = format!("(CASE {expr}");
    for (n, code) in codes.iter().enumerate() {
        sql.push_str(&format!(" WHEN {n} THEN '{code}'"));
    }
    sql.push_str(" END)");
    sql
}

/// The expressions of one generated case, in terms of the row number `i`.
struct Gen {
    backend: DatabaseBackend,
}

impl Gen {
    fn id(&self) -> String {
        match self.backend {
            DatabaseBackend::Postgres => "md5(i::text)::uuid".into(),
            // sqlx stores a Uuid on SQLite as its 16 bytes; the last 4 are `i`, so
            // the ids are unique, the first 12 hashed, so they are not in `i` order.
            _ => format!(
                "unhex(printf('%08x%08x%08x%08x', {}, {}, {}, i))",
                mix(M_ID_A),
                mix(M_ID_B),
                mix(M_ID_C)
            ),
        }
    }

    /// Whole seconds: `DateTime<Utc>` as sqlx writes it on SQLite (RFC 3339,
    /// `+00:00`, no fraction when there is none), `timestamptz` on PostgreSQL.
    fn created_at(&self) -> String {
        let secs = format!(
            "({BASE_EPOCH} + {} * {SPAN_SECONDS} / 4294967296)",
            mix(M_TIME)
        );
        match self.backend {
            DatabaseBackend::Postgres => format!("to_timestamp({secs})"),
            _ => format!("strftime('%Y-%m-%dT%H:%M:%S+00:00', {secs}, 'unixepoch')"),
        }
    }

    fn bytes(&self, n: usize, salt: &str) -> String {
        match self.backend {
            DatabaseBackend::Postgres => format!(
                "decode(repeat(md5('{salt}' || i::text), {}), 'hex')",
                n / 16
            ),
            _ => format!("randomblob({n})"),
        }
    }

    /// 32 bytes, equal for cases of the same facility (every 5 000th case).
    fn employer_bidx(&self) -> String {
        match self.backend {
            DatabaseBackend::Postgres => "decode(lpad(to_hex(i % 5000), 64, '0'), 'hex')".into(),
            _ => "unhex(printf('%064x', i % 5000))".into(),
        }
    }

    fn state(&self) -> String {
        let codes: Vec<&str> = StateCode::ALL.iter().map(|s| s.code()).collect();
        pick(&format!("(i % {})", codes.len()), &codes)
    }

    fn sector(&self) -> String {
        let codes: Vec<&str> = SECTORS.iter().map(|s| s.code()).collect();
        pick(&format!("(i % {})", codes.len()), &codes)
    }

    fn status(&self) -> String {
        let codes: Vec<&str> = CaseStatus::ALL.iter().map(|s| s.code()).collect();
        pick(&format!("(i % {})", codes.len()), &codes)
    }

    fn channel(&self) -> String {
        let codes: Vec<&str> = Channel::ALL.iter().map(|c| c.code()).collect();
        pick(&draw(M_CHANNEL, codes.len() as u64), &codes)
    }

    /// likely, possible, unlikely or not screened.
    fn rrm(&self) -> String {
        pick(&draw(M_RRM, 4), &["likely", "possible", "unlikely"])
    }

    /// ~87 % 0–5 (workers band), ~10 % 10–15, ~3 % 100–125.
    fn priority(&self) -> String {
        let pct = draw(M_PRIO, 100);
        let band = draw(M_BAND, 6);
        let tens = draw(M_TENS, 3);
        format!(
            "(CASE WHEN {pct} < 3 THEN 100 + {tens} * 10 + {band} \
             WHEN {pct} < 13 THEN 10 + {band} ELSE {band} END)"
        )
    }

    /// `INSERT ... SELECT ... FROM` rows `lo..=hi`.
    fn insert(&self, lo: u64, hi: u64, insert: &str, select: &str, filter: &str) -> String {
        let filter = if filter.is_empty() {
            String::new()
        } else {
            format!(" WHERE {filter}")
        };
        match self.backend {
            DatabaseBackend::Postgres => format!(
                "{insert} SELECT {select} FROM generate_series({lo}::bigint, {hi}::bigint) AS s(i){filter}"
            ),
            _ => format!(
                "WITH RECURSIVE s(i) AS (SELECT {lo} UNION ALL SELECT i + 1 FROM s WHERE i < {hi}) \
                 {insert} SELECT {select} FROM s{filter}"
            ),
        }
    }

    fn statements(&self, lo: u64, hi: u64) -> Vec<String> {
        let (id, created, state) = (self.id(), self.created_at(), self.state());
        vec![
            self.insert(
                lo,
                hi,
                "INSERT INTO cases (id, case_ref, receipt_lookup, receipt_hash, channel, status, \
                 language, anonymous, narrative_ct, created_at, updated_at, priority, rrm_status)",
                &format!(
                    "{id}, 'BZ-' || i, 'L' || i, '$argon2id$bench', {}, {}, 'es', false, {}, \
                     {created}, {created}, {}, {}",
                    self.channel(),
                    self.status(),
                    self.bytes(192, "n"),
                    self.priority(),
                    self.rrm()
                ),
                "",
            ),
            self.insert(
                lo,
                hi,
                "INSERT INTO workplaces (case_id, employer_ct, employer_bidx, state, sector, trade_with_us)",
                &format!(
                    "{id}, {}, {}, {state}, {}, 'unknown'",
                    self.bytes(48, "e"),
                    self.employer_bidx(),
                    self.sector()
                ),
                "",
            ),
            self.insert(
                lo,
                hi,
                "INSERT INTO case_referrals (case_id, authority, function, source, state, created_at)",
                &format!("{id}, 'state_ccl:' || {state}, 'conciliation', 'rules', 'active', {created}"),
                "",
            ),
            self.insert(
                lo,
                hi,
                "INSERT INTO case_referrals (case_id, authority, function, source, state, created_at)",
                &format!("{id}, 'cfcrl', 'registration', 'rules', 'active', {created}"),
                "i % 7 = 0",
            ),
        ]
    }
}

/// Inserts one case through the entity, as the application does, and checks that
/// the generated columns have the same storage: on SQLite the id is a 16-byte blob
/// and a whole-second `DateTime<Utc>` reads back as the text `strftime` makes.
async fn check_storage(db: &DatabaseConnection) {
    let at = DateTime::<Utc>::from_timestamp(BASE_EPOCH + 3_661, 0).unwrap();
    let sample = entity::case::ActiveModel {
        id: ActiveValue::Set(uuid::Uuid::new_v4()),
        case_ref: ActiveValue::Set("BZ-SAMPLE".into()),
        receipt_lookup: ActiveValue::Set("SAMPLE".into()),
        receipt_hash: ActiveValue::Set("x".into()),
        channel: ActiveValue::Set("web".into()),
        status: ActiveValue::Set("received".into()),
        language: ActiveValue::Set("es".into()),
        anonymous: ActiveValue::Set(false),
        narrative_ct: ActiveValue::Set(vec![0; 8]),
        created_at: ActiveValue::Set(at),
        updated_at: ActiveValue::Set(at),
        priority: ActiveValue::Set(Some(0)),
        ..Default::default()
    };
    entity::case::Entity::insert(sample).exec(db).await.unwrap();
    if db.get_database_backend() == DatabaseBackend::Sqlite {
        let row = buzon::db::row(
            db,
            &format!(
                "SELECT typeof(id), length(id), created_at, \
                 strftime('%Y-%m-%dT%H:%M:%S+00:00', {}, 'unixepoch'), typeof(anonymous), anonymous \
                 FROM cases WHERE case_ref = 'BZ-SAMPLE'",
                BASE_EPOCH + 3_661
            ),
            vec![],
        )
        .await
        .unwrap()
        .unwrap();
        let id_type: String = row.try_get_by_index(0).unwrap();
        let id_len: i64 = row.try_get_by_index(1).unwrap();
        let stored: String = row.try_get_by_index(2).unwrap();
        let generated: String = row.try_get_by_index(3).unwrap();
        let bool_type: String = row.try_get_by_index(4).unwrap();
        let bool_value: i64 = row.try_get_by_index(5).unwrap();
        eprintln!(
            "  sea-orm on SQLite stores the id as {id_type}({id_len}), created_at as {stored:?}, \
             anonymous as {bool_type} {bool_value}"
        );
        assert_eq!((id_type.as_str(), id_len), ("blob", 16));
        assert_eq!(stored, generated, "generated timestamps would not match");
        assert_eq!((bool_type.as_str(), bool_value), ("integer", 0));
    }
    buzon::db::exec(db, "DELETE FROM cases WHERE case_ref = 'BZ-SAMPLE'", vec![])
        .await
        .unwrap();
}

/// Fills the database; returns how long it took (ANALYZE included).
async fn generate(db: &DatabaseConnection, n: u64) -> Duration {
    let backend = db.get_database_backend();
    let g = Gen { backend };
    let start = Instant::now();
    let mut lo = 1;
    while lo <= n {
        let hi = (lo + BATCH - 1).min(n);
        let txn = db.begin().await.unwrap();
        if backend == DatabaseBackend::Sqlite {
            // A larger page cache for the random-order index inserts, on this
            // connection only and only while generating.
            txn.execute_unprepared("PRAGMA cache_size = -262144")
                .await
                .unwrap();
        }
        for sql in g.statements(lo, hi) {
            txn.execute_unprepared(&sql).await.unwrap();
        }
        if backend == DatabaseBackend::Sqlite {
            txn.execute_unprepared("PRAGMA cache_size = -2000")
                .await
                .unwrap();
        }
        txn.commit().await.unwrap();
        eprint!(
            "\r  {hi} / {n} cases ({:.0} s)",
            start.elapsed().as_secs_f64()
        );
        lo = hi + 1;
    }
    eprintln!();
    match backend {
        DatabaseBackend::Postgres => {
            // VACUUM sets the visibility map (index-only scans), as autovacuum
            // would on a database that size; ANALYZE as asked.
            db.execute_unprepared("VACUUM (ANALYZE)").await.unwrap();
        }
        _ => {
            db.execute_unprepared("ANALYZE").await.unwrap();
            db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
                .await
                .unwrap();
        }
    }
    start.elapsed()
}

/// Checks the generated rows: counts, and that the entity reads a generated case.
async fn check_generated(db: &DatabaseConnection, n: u64) {
    let count = |sql: &'static str| async move {
        let row = buzon::db::row(db, sql, vec![]).await.unwrap().unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    };
    let cases = count("SELECT COUNT(*) FROM cases").await;
    let workplaces = count("SELECT COUNT(*) FROM workplaces").await;
    let referrals = count("SELECT COUNT(*) FROM case_referrals").await;
    let expected_referrals = n + n / 7;
    assert_eq!(u64::try_from(cases).unwrap(), n);
    assert_eq!(u64::try_from(workplaces).unwrap(), n);
    assert_eq!(u64::try_from(referrals).unwrap(), expected_referrals);
    let one = entity::case::Entity::find().one(db).await.unwrap().unwrap();
    eprintln!(
        "  {cases} cases, {workplaces} workplaces, {referrals} referrals; e.g. {} {} {} priority {:?}",
        one.case_ref, one.id, one.created_at, one.priority
    );
}

async fn size(db: &DatabaseConnection) -> u64 {
    let sql = match db.get_database_backend() {
        DatabaseBackend::Postgres => "SELECT pg_database_size(current_database())",
        _ => "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
    };
    let row = buzon::db::row(db, sql, vec![]).await.unwrap().unwrap();
    u64::try_from(row.try_get_by_index::<i64>(0).unwrap()).unwrap_or(0)
}

struct Case {
    label: &'static str,
    scope: Scope,
    filters: Filters,
}

fn cases() -> Vec<Case> {
    let gua = || Scope::Authorities(vec!["state_ccl:MX-GUA".into()]);
    vec![
        Case {
            label: "Inspector `state_ccl:MX-GUA`, default filters",
            scope: gua(),
            filters: Filters::default(),
        },
        Case {
            label: "Inspector `state_ccl:MX-GUA`, state MX-GUA + sector auto_parts",
            scope: gua(),
            filters: Filters {
                state: Some("MX-GUA".into()),
                sector: Some(Sector::AutoParts),
                ..Filters::default()
            },
        },
        Case {
            label: "Inspector `cfcrl`, default filters",
            scope: Scope::Authorities(vec!["cfcrl".into()]),
            filters: Filters::default(),
        },
        Case {
            label: "Admin (all cases), default filters",
            scope: Scope::All,
            filters: Filters::default(),
        },
        Case {
            label: "Admin, RRM likely, October 2025",
            scope: Scope::All,
            filters: Filters {
                rrm: Some("likely".into()),
                from: NaiveDate::from_ymd_opt(2025, 10, 1),
                to: NaiveDate::from_ymd_opt(2025, 10, 31),
                ..Filters::default()
            },
        },
    ]
}

#[derive(Clone, Copy)]
struct Stats {
    median: Duration,
    p95: Duration,
}

/// Median and p95 of one page, after warming up.
async fn measure(
    db: &DatabaseConnection,
    case: &Case,
    after: Option<&Cursor>,
    runs: usize,
) -> Stats {
    for _ in 0..WARMUP {
        queue(db, &case.scope, &case.filters, after, PAGE)
            .await
            .unwrap();
    }
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let page = queue(db, &case.scope, &case.filters, after, PAGE)
            .await
            .unwrap();
        times.push(start.elapsed());
        assert!(!page.0.is_empty());
        std::hint::black_box(page);
    }
    times.sort();
    let p95 = (times.len() * 95).div_ceil(100).clamp(1, times.len()) - 1;
    Stats {
        median: times[times.len() / 2],
        p95: times[p95],
    }
}

/// The floor beside the queue: a bare page of the same size read straight off the
/// primary key (`SELECT id, case_ref, priority, created_at FROM cases ORDER BY id
/// DESC LIMIT 50`), no scope, no filter, no join; median and p95 like [`measure`].
async fn measure_bare(db: &DatabaseConnection, runs: usize) -> Stats {
    let sql = format!(
        "SELECT id, case_ref, priority, created_at FROM cases ORDER BY id DESC LIMIT {PAGE}"
    );
    let page = || {
        db.query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            sql.clone(),
        ))
    };
    for _ in 0..WARMUP {
        page().await.unwrap();
    }
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let rows = page().await.unwrap();
        times.push(start.elapsed());
        assert!(!rows.is_empty());
        std::hint::black_box(rows);
    }
    times.sort();
    let p95 = (times.len() * 95).div_ceil(100).clamp(1, times.len()) - 1;
    Stats {
        median: times[times.len() / 2],
        p95: times[p95],
    }
}

/// A field of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`); 0 where there is none.
fn proc_status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// The cursor after page `page - 1`, following `next` from the first page.
async fn cursor_before(db: &DatabaseConnection, case: &Case, page: usize) -> Option<Cursor> {
    let mut after = None;
    for _ in 1..page {
        let (_, next) = queue(db, &case.scope, &case.filters, after.as_ref(), PAGE)
            .await
            .unwrap();
        after = Some(next?);
    }
    after
}

/// The statement `queue()` builds for these filters (mirrors its builder in
/// src/triage/cases.rs; only the filters used here).
fn queue_sql(case: &Case, after: Option<&Cursor>) -> (String, Vec<Value>) {
    let mut values: Vec<Value> = Vec::new();
    let mut sql = String::from(
        "SELECT c.id, c.case_ref, c.status, c.channel, w.state, w.sector, c.rrm_status, \
         c.priority, c.created_at, c.assigned_to, w.employer_bidx \
         FROM cases c JOIN workplaces w ON w.case_id = c.id WHERE c.priority IS NOT NULL",
    );
    let mut bind = |v: Value| {
        values.push(v);
        format!("${}", values.len())
    };
    if let Scope::Authorities(list) = &case.scope {
        let marks: Vec<String> = list.iter().map(|a| bind(a.as_str().into())).collect();
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM case_referrals r WHERE r.case_id = c.id \
             AND r.state = 'active' AND r.authority IN ({}))",
            marks.join(", ")
        ));
    }
    let f = &case.filters;
    assert!(f.status.is_none() || f.status == Some(StatusFilter::Open));
    sql.push_str(&format!(
        " AND c.status <> {}",
        bind(CaseStatus::Closed.code().into())
    ));
    if let Some(state) = &f.state {
        sql.push_str(&format!(" AND w.state = {}", bind(state.as_str().into())));
    }
    if let Some(sector) = f.sector {
        sql.push_str(&format!(" AND w.sector = {}", bind(sector.code().into())));
    }
    if let Some(r) = &f.rrm {
        sql.push_str(&format!(" AND c.rrm_status = {}", bind(r.as_str().into())));
    }
    if let Some(from) = f.from {
        let at = from.and_time(chrono::NaiveTime::MIN).and_utc();
        sql.push_str(&format!(" AND c.created_at >= {}", bind(at.into())));
    }
    if let Some(to) = f.to.and_then(|d| d.succ_opt()) {
        let at = to.and_time(chrono::NaiveTime::MIN).and_utc();
        sql.push_str(&format!(" AND c.created_at < {}", bind(at.into())));
    }
    if let Some(c) = after {
        let p = bind(c.priority.into());
        let t = bind(c.created_at.into());
        let i = bind(c.id.into());
        sql.push_str(&format!(
            " AND (c.priority < {p} OR (c.priority = {p} AND (c.created_at > {t} OR (c.created_at = {t} AND c.id > {i}))))"
        ));
    }
    sql.push_str(&format!(
        " ORDER BY c.priority DESC, c.created_at ASC, c.id ASC LIMIT {}",
        PAGE + 1
    ));
    (sql, values)
}

async fn explain(db: &DatabaseConnection, case: &Case, after: Option<&Cursor>, page: usize) {
    let (sql, values) = queue_sql(case, after);
    let postgres = db.get_database_backend() == DatabaseBackend::Postgres;
    let prefix = if postgres {
        "EXPLAIN (ANALYZE, BUFFERS)"
    } else {
        "EXPLAIN QUERY PLAN"
    };
    eprintln!("\n  -- {} (page {page}):\n  {sql}", case.label);
    let rows = buzon::db::rows(db, &format!("{prefix} {sql}"), values)
        .await
        .unwrap();
    for row in rows {
        if postgres {
            let line: String = row.try_get_by_index(0).unwrap();
            eprintln!("  {line}");
        } else {
            let id: i64 = row.try_get_by_index(0).unwrap();
            let parent: i64 = row.try_get_by_index(1).unwrap();
            let detail: String = row.try_get_by_index(3).unwrap();
            eprintln!("  {id:>3} {parent:>3}  {detail}");
        }
    }
}

struct Backend {
    generation: Duration,
    size: u64,
    /// The bare page off the primary key, for scale.
    bare: Stats,
    /// The process's peak RSS while the queries ran (KiB; reset as they start).
    query_peak_kib: u64,
    /// Per case: the first page and the deep page (None: fewer pages).
    rows: Vec<(Stats, Option<Stats>)>,
}

async fn run(url: &str, n: u64, runs: usize) -> Backend {
    let db = buzon::db::connect(url, 4).await.unwrap();
    buzon::db::migrate(&db).await.unwrap();
    check_storage(&db).await;
    let generation = generate(&db, n).await;
    eprintln!("  generated in {:.1} s", generation.as_secs_f64());
    check_generated(&db, n).await;
    let size = size(&db).await;
    let every = std::env::var("BENCH_EXPLAIN").is_ok_and(|v| v == "1");
    // The queries' own peak: the high-water mark is reset to the current RSS here.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let bare = measure_bare(&db, runs).await;
    let mut rows = Vec::new();
    for case in cases() {
        let first = measure(&db, &case, None, runs).await;
        let deep_cursor = cursor_before(&db, &case, DEEP_PAGE).await;
        let deep = match &deep_cursor {
            Some(c) => Some(measure(&db, &case, Some(c), runs).await),
            None => None,
        };
        eprintln!(
            "  {}: page 1 {} / {} ms, page {DEEP_PAGE} {} (median / p95)",
            case.label,
            ms(first.median),
            ms(first.p95),
            deep.map_or("n/a".into(), |d| format!(
                "{} / {} ms",
                ms(d.median),
                ms(d.p95)
            ))
        );
        if every || first.median > SLOW {
            explain(&db, &case, None, 1).await;
        }
        if let (Some(c), Some(d)) = (&deep_cursor, deep)
            && (every || d.median > SLOW)
        {
            explain(&db, &case, Some(c), DEEP_PAGE).await;
        }
        rows.push((first, deep));
    }
    let query_peak_kib = proc_status_kib("VmHWM:");
    db.close().await.ok();
    Backend {
        generation,
        size,
        bare,
        query_peak_kib,
        rows,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / 1024.0 / 1024.0)
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (k, ch) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(ch);
    }
    out
}

fn machine() -> String {
    let cores = std::process::Command::new("nproc")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
                .to_string()
        });
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .unwrap_or(0);
    format!(
        "{cores} cores ({cpu}), {:.0} GiB RAM",
        mem_kib as f64 / 1024.0 / 1024.0
    )
}

fn main() {
    buzon::install_crypto_provider();
    let n = env_num("BENCH_CASES", 1_000_000).max(1);
    let runs = usize::try_from(env_num("BENCH_RUNS", 30))
        .unwrap_or(30)
        .max(1);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async move {
        eprintln!("SQLite, {n} cases:");
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("queue.db").display()
        );
        let sqlite = run(&url, n, runs).await;
        let keep = std::env::var("BENCH_KEEP").is_ok_and(|v| v == "1");
        if keep {
            eprintln!("kept {}", dir.keep().join("queue.db").display());
        }

        let pg_admin = "postgres://postgres@127.0.0.1:5432/postgres";
        let postgres = match Database::connect(pg_admin).await {
            Ok(admin) => {
                let name = format!("buzon_bench_queue_{}", uuid::Uuid::new_v4().simple());
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .unwrap();
                eprintln!("PostgreSQL ({name}), {n} cases:");
                let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
                // Dropped even when a check fails.
                let result = tokio::spawn(async move { run(&url, n, runs).await }).await;
                if keep {
                    eprintln!("kept PostgreSQL database {name} (DROP DATABASE it when done)");
                } else {
                    admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await
                        .ok();
                }
                Some(result.unwrap())
            }
            Err(e) => {
                eprintln!("PostgreSQL not reachable ({e}): the PostgreSQL columns are skipped");
                None
            }
        };

        let cell = |b: Option<&Backend>, k: usize, deep: bool| -> (String, String) {
            match b.map(|b| b.rows[k]) {
                None => ("skipped".into(), "skipped".into()),
                Some((first, d)) => match if deep { d } else { Some(first) } {
                    Some(s) => (ms(s.median), ms(s.p95)),
                    None => ("n/a".into(), "n/a".into()),
                },
            }
        };
        println!();
        println!(
            "Triage queue, {} cases, pages of {PAGE}, median and p95 of {runs} runs (ms):",
            thousands(n)
        );
        println!();
        println!(
            "| Query | Page | SQLite median | SQLite p95 | PostgreSQL median | PostgreSQL p95 |"
        );
        println!("|---|---:|---:|---:|---:|---:|");
        let bare = |b: Option<&Backend>| -> (String, String) {
            b.map_or(("skipped".into(), "skipped".into()), |b| {
                (ms(b.bare.median), ms(b.bare.p95))
            })
        };
        let ((sm, sp), (pm, pp)) = (bare(Some(&sqlite)), bare(postgres.as_ref()));
        println!(
            "| Bare page for scale: `SELECT id, case_ref, priority, created_at FROM cases \
             ORDER BY id DESC LIMIT {PAGE}` | 1 | {sm} | {sp} | {pm} | {pp} |"
        );
        for (k, case) in cases().iter().enumerate() {
            for (page, deep) in [(1, false), (DEEP_PAGE, true)] {
                let (sm, sp) = cell(Some(&sqlite), k, deep);
                let (pm, pp) = cell(postgres.as_ref(), k, deep);
                println!("| {} | {page} | {sm} | {sp} | {pm} | {pp} |", case.label);
            }
        }
        println!();
        println!("| Data set | SQLite | PostgreSQL |");
        println!("|---|---:|---:|");
        println!(
            "| Generation of {} cases (+ workplaces, referrals, ANALYZE) | {:.1} s | {} |",
            thousands(n),
            sqlite.generation.as_secs_f64(),
            postgres.as_ref().map_or("skipped".into(), |p| format!(
                "{:.1} s",
                p.generation.as_secs_f64()
            ))
        );
        println!(
            "| Database size | {} | {} |",
            mib(sqlite.size),
            postgres.as_ref().map_or("skipped".into(), |p| mib(p.size))
        );
        println!(
            "| Peak RSS of the bench process while the queries ran | {} | {} |",
            mib(sqlite.query_peak_kib * 1024),
            postgres
                .as_ref()
                .map_or("skipped".into(), |p| mib(p.query_peak_kib * 1024))
        );
        println!();
        println!("Machine: {}", machine());
    });
}
