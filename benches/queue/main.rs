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
//! CCL per case and a registration referral to the CFCRL for one case in seven;
//! statuses cycle, priorities follow a realistic spread (most 0–5, about 10 %
//! 10–15, about 3 % 100–125), creation times spread over two years, channels
//! weighted (55 % WhatsApp, 30 % web, 10 % e-mail, 5 % API), violations weighted
//! (wages and dismissals most, a second one for every third case), cases past
//! `received` assigned to one of four inspectors of their state. Ids,
//! timestamps and booleans are written the way sea-orm writes them (checked
//! against a case inserted through the entity first), then `ANALYZE`.
//!
//! It then times the first page and the 20th page (following the `next` cursors)
//! of the queue for inspectors and admins with the filters they combine (state,
//! sector, channel, status, RRM, dates, "assigned to me"): median and p95 of
//! `BENCH_RUNS` runs (default 30) after 3 warm-up runs. It prints a Markdown table
//! for BENCHMARKS.md, the generation time and database size, and the machine.
//! For a page whose median is over 50 ms, or for every page with
//! `BENCH_EXPLAIN=1`, it prints the plan of the statement `queue()` runs
//! (`cases::queue_statements`; EXPLAIN
//! QUERY PLAN on SQLite, EXPLAIN ANALYZE on PostgreSQL). `BENCH_KEEP=1` keeps the
//! SQLite file and the PostgreSQL database afterwards (their names are printed),
//! to try indexes on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod generate;
mod indicators;
use generate::*;
use indicators::{Indicators, measure_indicators};

use buzon::cases::{Cursor, Filters, Scope, StatusFilter, queue, queue_statements};
use buzon::domain::{CaseStatus, Channel, Sector, StateCode, Violation};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveValue, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, EntityTrait,
    TransactionTrait,
};
use std::time::{Duration, Instant};

const WARMUP: usize = 3;
const BATCH: u64 = 100_000;
const PAGE: u64 = 50;
/// The page timed after the first one.
const DEEP_PAGE: usize = 20;
/// First pages slower than this get their plan printed.
const SLOW: Duration = Duration::from_millis(50);
const SECTORS: [Sector; 7] = [
    Sector::Automotive,
    Sector::AutoParts,
    Sector::Electronics,
    Sector::Garment,
    Sector::Agriculture,
    Sector::FoodPackaged,
    Sector::OtherServices,
];

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
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
    let cfcrl = || Scope::Authorities(vec!["cfcrl".into()]);
    let october = |f: Filters| Filters {
        from: NaiveDate::from_ymd_opt(2025, 10, 1),
        to: NaiveDate::from_ymd_opt(2025, 10, 31),
        ..f
    };
    let state = || Some("MX-GUA".to_owned());
    let case = |label, scope, filters| Case {
        label,
        scope,
        filters,
    };
    let f = Filters::default;
    vec![
        case("Inspector `state_ccl:MX-GUA`, default filters", gua(), f()),
        case(
            "Inspector `state_ccl:MX-GUA`, state MX-GUA + sector auto_parts",
            gua(),
            Filters {
                state: state(),
                sector: Some(Sector::AutoParts),
                ..f()
            },
        ),
        case(
            "Inspector `state_ccl:MX-GUA`, sector auto_parts",
            gua(),
            Filters {
                sector: Some(Sector::AutoParts),
                ..f()
            },
        ),
        case(
            "Inspector `state_ccl:MX-GUA`, channel whatsapp",
            gua(),
            Filters {
                channel: Some(Channel::WhatsApp),
                ..f()
            },
        ),
        case(
            "Inspector `state_ccl:MX-GUA`, state MX-GUA + channel email",
            gua(),
            Filters {
                state: state(),
                channel: Some(Channel::Email),
                ..f()
            },
        ),
        case(
            "Inspector `state_ccl:MX-GUA`, state MX-GUA + violation union_retaliation",
            gua(),
            Filters {
                state: state(),
                violation: Some(Violation::UnionRetaliation),
                ..f()
            },
        ),
        case(
            "Inspector `state_ccl:MX-GUA`, status received",
            gua(),
            Filters {
                status: Some(StatusFilter::Is(CaseStatus::Received)),
                ..f()
            },
        ),
        case(
            "Inspector `state_ccl:MX-GUA`, every status (closed too)",
            gua(),
            Filters {
                status: Some(StatusFilter::All),
                ..f()
            },
        ),
        case(
            "Inspector `state_ccl:MX-GUA`, RRM likely",
            gua(),
            Filters {
                rrm: Some("likely".into()),
                ..f()
            },
        ),
        case(
            "Inspector `state_ccl:MX-GUA`, October 2025",
            gua(),
            october(f()),
        ),
        case(
            "Inspector `state_ccl:MX-GUA`, assigned to me",
            gua(),
            Filters {
                assigned_to: Some(inspector(StateCode::Gua)),
                ..f()
            },
        ),
        case("Inspector `cfcrl`, default filters", cfcrl(), f()),
        case(
            "Inspector `cfcrl`, state MX-GUA",
            cfcrl(),
            Filters {
                state: state(),
                ..f()
            },
        ),
        case(
            "Inspector `cfcrl`, state MX-GUA + sector auto_parts",
            cfcrl(),
            Filters {
                state: state(),
                sector: Some(Sector::AutoParts),
                ..f()
            },
        ),
        case(
            "Inspector of `state_ccl:MX-GUA` and `cfcrl`, default filters",
            Scope::Authorities(vec!["state_ccl:MX-GUA".into(), "cfcrl".into()]),
            f(),
        ),
        case("Admin (all cases), default filters", Scope::All, f()),
        case(
            "Admin, RRM likely, October 2025",
            Scope::All,
            october(Filters {
                rrm: Some("likely".into()),
                ..f()
            }),
        ),
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

async fn explain(db: &DatabaseConnection, case: &Case, after: Option<&Cursor>, page: usize) {
    let postgres = db.get_database_backend() == DatabaseBackend::Postgres;
    let prefix = if postgres {
        "EXPLAIN (ANALYZE, BUFFERS)"
    } else {
        "EXPLAIN QUERY PLAN"
    };
    let statements: Vec<_> = queue_statements(&case.scope, &case.filters, after, PAGE)
        .into_iter()
        .flatten()
        .collect();
    let count = statements.len();
    for (k, (sql, values)) in statements.into_iter().enumerate() {
        eprintln!(
            "\n  -- {} (page {page}, statement {} of {count}):\n  {sql}",
            case.label,
            k + 1
        );
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
    indicators: Indicators,
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
    let indicators = measure_indicators(&db, runs).await;
    db.close().await.ok();
    Backend {
        generation,
        size,
        bare,
        query_peak_kib,
        rows,
        indicators,
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
        println!(
            "Program indicators page (`buzon::indicators::report` + its HTML with charts), \
             {} cases, median and p95 of {runs} runs (ms):",
            thousands(n)
        );
        println!();
        println!("| Page | SQLite median | SQLite p95 | PostgreSQL median | PostgreSQL p95 |");
        println!("|---|---:|---:|---:|---:|");
        let first = |b: Option<&Backend>| {
            b.map_or("skipped".into(), |b| {
                format!(
                    "{:.1} s, +{} MiB",
                    b.indicators.cold.as_secs_f64(),
                    b.indicators.cache_kib / 1024
                )
            })
        };
        println!(
            "| First computation after start (loads every case's facts into the cache; time, memory) | {} | | {} | |",
            first(Some(&sqlite)),
            first(postgres.as_ref())
        );
        for (k, (label, s)) in sqlite.indicators.rows.iter().enumerate() {
            let (pm, pp) = postgres.as_ref().map_or(("skipped".into(), "skipped".into()), |p| {
                (ms(p.indicators.rows[k].1.median), ms(p.indicators.rows[k].1.p95))
            });
            println!("| {label} | {} | {} | {pm} | {pp} |", ms(s.median), ms(s.p95));
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
