//! Intake throughput, measured against a bare axum handler in the same run.
//!
//! `cargo bench --bench intake` (or `tools/bench`, which also runs the queue bench
//! and writes BENCHMARKS.md) starts, in this process and on loopback:
//! - a bare axum server whose handlers parse the same JSON (answering 201), the same
//!   web form (answering 200 with a small page) and the same webhook delivery;
//! - a bare insert server per back end: a bare axum handler that parses the same
//!   JSON and inserts one comparable row through `buzon::db::connect` (the same pool
//!   size, WAL and `synchronous=FULL` on SQLite), the floor for storing a complaint;
//! - Buzón on SQLite (a temp file), with production settings but rate limits lifted;
//! - Buzón on PostgreSQL (a fresh database on 127.0.0.1:5432, dropped after), when
//!   reachable;
//! - the WhatsApp webhook and the SMTP listener on SQLite, and the webhook on
//!   PostgreSQL, each on an instance (and database) of its own, stopped after its
//!   row: a row's backlog, worked in the background, never shares the cores with
//!   the next row;
//!
//! (on both back ends, an advocate of a "Bench Org" organization, added through the
//! library, also files with their bearer token: for one member, and a collective
//! complaint of 40 listed members, each with their own consent and receipt)
//!
//! and drives each with the same complaint bodies (and, for the WhatsApp webhook, the
//! same signed deliveries: one new text message each, from many senders; a small
//! Graph API stand-in takes the replies; for the SMTP listener, pipelining SMTP
//! clients send the same 20 KB message to Buzón and to a bare SMTP server that only
//! answers 250)
//! from `BENCH_CONCURRENCY` clients
//! for `BENCH_SECONDS`, after `BENCH_WARMUP_MS` (1 000) of the same load that is not
//! counted (`measure::Window`). It prints a Markdown table for BENCHMARKS.md: throughput,
//! latency percentiles, the ratios to the bare handler and to the bare insert on the
//! same back end, and the process's peak RSS during each row (`VmHWM`, reset through
//! `/proc/self/clear_refs` as each row starts) and its growth over the row's start.
//! Absolute numbers depend on the machine; the ratios are what to compare between runs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bodies;
mod measure;
mod servers;
use bodies::*;
use measure::*;
use servers::*;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use buzon::app::Application;
use buzon::config::{EmailSettings, Limit, Secret, Settings, WhatsAppSettings};
use buzon::crypto::receipt::HashCost;
use sea_orm::{ConnectionTrait, Database};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The tests' SMTP server, as the bare SMTP baseline and as Buzón's relay.
#[allow(dead_code)]
#[path = "../../tests/api/smtp_sink.rs"]
mod smtp_sink;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A browser session on the web form: its CSRF cookie (`name=value`) and the token
/// the form carries, as `GET /` hands them out.
async fn form_session(url: &str) -> (String, String) {
    let res = reqwest::get(format!("{url}/")).await.unwrap();
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.contains("csrf="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
        .unwrap_or_default();
    let html = res.text().await.unwrap();
    let token = html
        .split(r#"name="csrf" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_owned();
    (cookie, format!("&csrf={token}"))
}

/// How the web form rows post: form-encoded, the session's cookie and token; only
/// the receipt page (200) counts.
async fn form_as(url: &str) -> As {
    let (cookie, suffix) = form_session(url).await;
    As {
        expect: Some(200),
        content_type: Some("application/x-www-form-urlencoded"),
        cookie: Some(cookie),
        suffix: Some(suffix),
        ..As::default()
    }
}

struct Result {
    name: String,
    requests: u64,
    errors: u64,
    per_second: f64,
    p50: Duration,
    p99: Duration,
    /// Resident set size when the row started, KiB.
    rss_start: u64,
    /// The process's RSS high-water mark during the row (reset when it started), KiB.
    rss_peak: u64,
}

impl Result {
    /// A row left out by `BENCH_ROWS` (not printed: see [`wanted`]).
    fn skipped(name: &str) -> Result {
        Result {
            name: name.to_owned(),
            requests: 0,
            errors: 0,
            per_second: 0.0,
            p50: Duration::ZERO,
            p99: Duration::ZERO,
            rss_start: 0,
            rss_peak: 0,
        }
    }
}

/// Whether a row runs: the baselines (named "bare …") always do; with
/// `BENCH_ROWS` set (comma-separated parts of row names, e.g. "webhook,SMTP"),
/// only the Buzón rows whose name contains one of them.
fn wanted(name: &str) -> bool {
    name.starts_with("bare")
        || std::env::var("BENCH_ROWS").map_or(true, |rows| {
            rows.split(',')
                .map(str::trim)
                .any(|part| !part.is_empty() && name.contains(part))
        })
}

/// How a row's requests are sent and which answers count as done.
#[derive(Clone, Default)]
struct As {
    /// `Authorization: Bearer` (an advocate's personal API token).
    bearer: Option<String>,
    /// The one status that counts (any other is an error); without it, any 2xx.
    expect: Option<u16>,
    /// The body's type; without it, `application/json`.
    content_type: Option<&'static str>,
    /// A `Cookie` header (the web form's CSRF cookie).
    cookie: Option<String>,
    /// Appended to every body (the web form's CSRF token field).
    suffix: Option<String>,
}

async fn drive(
    name: &str,
    url: &str,
    seconds: u64,
    concurrency: u64,
    path: &str,
    make: fn(u64) -> String,
) -> Result {
    drive_as(name, url, seconds, concurrency, path, make, As::default()).await
}

async fn drive_as(
    name: &str,
    url: &str,
    seconds: u64,
    concurrency: u64,
    path: &str,
    make: fn(u64) -> String,
    with: As,
) -> Result {
    if !wanted(name) {
        return Result::skipped(name);
    }
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    eprintln!("row: {name}");
    let rss_start = reset_peak_rss();
    let window = Window::new(seconds);
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let http = http.clone();
        let url = format!("{url}{path}");
        let with = with.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut i = worker * 1_000_000;
            while Instant::now() < window.end {
                i += 1;
                let mut body = make(i);
                if let Some(suffix) = &with.suffix {
                    body.push_str(suffix);
                }
                let t = Instant::now();
                let mut req = http.post(&url).header(
                    "content-type",
                    with.content_type.unwrap_or("application/json"),
                );
                if let Some(cookie) = &with.cookie {
                    req = req.header("cookie", cookie);
                }
                if url.ends_with("/webhooks/whatsapp") {
                    req = req.header("x-hub-signature-256", signature(&body));
                }
                if let Some(token) = &with.bearer {
                    req = req.bearer_auth(token);
                }
                let res = req.body(body).send().await;
                match res {
                    Ok(r)
                        if with
                            .expect
                            .map_or(r.status().is_success(), |s| r.status().as_u16() == s) =>
                    {
                        let _ = r.bytes().await;
                        window.record(&mut latencies, t);
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    collect(name, window, rss_start, tasks).await
}

/// A webhook row on an instance of its own (`database_url`, or SQLite in a new
/// directory), so no earlier row's backlog shares the cores with it; says how much
/// of what it stored is still to be worked when it ends.
async fn webhook_row(
    backend: &str,
    database_url: Option<String>,
    seconds: u64,
    concurrency: u64,
) -> Result {
    let dir = tempfile::tempdir().unwrap();
    let (addr, _, stop, _) = buzon(database_url.clone(), dir.path(), None).await;
    let result = drive(
        &format!("Buzón WhatsApp webhook, {backend} (signature checked, stored before the 200)"),
        &format!("http://{addr}"),
        seconds,
        concurrency,
        "/webhooks/whatsapp",
        webhook_body,
    )
    .await;
    let url = database_url
        .unwrap_or_else(|| format!("sqlite://{}?mode=rw", dir.path().join("buzon.db").display()));
    eprintln!(
        "{backend} webhook row: {} messages still to work when it ended",
        pending_inbox(&url, "wa_inbox").await
    );
    let _ = stop.send(());
    tokio::time::sleep(Duration::from_secs(1)).await;
    result
}

fn main() {
    buzon::install_crypto_provider();
    let seconds = env_num("BENCH_SECONDS", 5);
    let concurrency = env_num("BENCH_CONCURRENCY", 8);
    // The written-out delivery is Meta's shape (a typo would measure refusals).
    let delivery: serde_json::Value = serde_json::from_str(&webhook_body(7)).unwrap();
    assert_eq!(
        delivery["entry"][0]["changes"][0]["value"]["messages"][0]["from"],
        "5214775500007"
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async move {
        let mut results = Vec::new();
        let bare = bare_axum().await;
        let bare_url = format!("http://{bare}");
        results.push(
            drive(
                "bare axum handler (parse JSON, answer 201)",
                &bare_url,
                seconds,
                concurrency,
                "/api/v1/complaints",
                body,
            )
            .await,
        );
        results.push(
            drive_as(
                "bare axum form handler (parse the form, answer 200 with a page)",
                &bare_url,
                seconds,
                concurrency,
                "/complaints",
                form_body,
                As {
                    expect: Some(200),
                    content_type: Some("application/x-www-form-urlencoded"),
                    ..As::default()
                },
            )
            .await,
        );
        results.push(
            drive(
                "bare axum webhook handler (parse JSON, answer 200)",
                &bare_url,
                seconds,
                concurrency,
                "/webhooks/whatsapp",
                webhook_body,
            )
            .await,
        );

        // The storage baselines: one comparable row per request, same pool settings.
        let pool = Settings::load(None).unwrap().db_max_connections;
        let bare_dir = tempfile::tempdir().unwrap();
        let bare_sqlite = bare_insert(
            &format!("sqlite://{}?mode=rwc", bare_dir.path().join("bare.db").display()),
            pool,
        )
        .await;
        results.push(
            drive(
                "bare SQLite insert (parse JSON, insert one row, answer 201)",
                &format!("http://{bare_sqlite}"),
                seconds,
                concurrency,
                "/api/v1/complaints",
                body,
            )
            .await,
        );
        let pg_admin = "postgres://postgres@127.0.0.1:5432/postgres";
        let name = format!("buzon_bench_{}", std::process::id());
        let bare_name = format!("buzon_bench_bare_{}", std::process::id());
        let wa_name = format!("buzon_bench_wa_{}", std::process::id());
        let admin = match Database::connect(pg_admin).await {
            Ok(admin) => Some(admin),
            Err(e) => {
                eprintln!("PostgreSQL not reachable ({e}): its rows are left out");
                None
            }
        };
        if let Some(admin) = &admin {
            for db in [&name, &bare_name, &wa_name] {
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {db}"))
                    .await
                    .ok();
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {db}"))
                    .await
                    .unwrap();
            }
            let bare_pg = bare_insert(
                &format!("postgres://postgres@127.0.0.1:5432/{bare_name}"),
                pool,
            )
            .await;
            results.push(
                drive(
                    "bare PostgreSQL insert (parse JSON, insert one row, answer 201)",
                    &format!("http://{bare_pg}"),
                    seconds,
                    concurrency,
                    "/api/v1/complaints",
                    body,
                )
                .await,
            );
        }

        // The hash limit of each back end's intake rows, measured just before the
        // first of them, with nothing else running: the machine's speed drifts by
        // 10-20 % within minutes (BENCHMARKS.md, issue 18), so each back end is held
        // to the limit measured next to it.
        let cost = Settings::load(None).unwrap().hash_cost;
        let dir = tempfile::tempdir().unwrap();
        let (addr, settings, _stop_sqlite, _) = buzon(None, dir.path(), None).await;
        let url = format!("http://{addr}");
        let mut limits = vec![("SQLite", hash_limit(cost, seconds))];
        results.push(
            drive(
                "Buzón JSON API intake, SQLite",
                &url,
                seconds,
                concurrency,
                "/api/v1/complaints",
                body,
            )
            .await,
        );
        results.push(
            drive_as(
                "Buzón web form intake, SQLite (CSRF checked, receipt page)",
                &url,
                seconds,
                concurrency,
                "/complaints",
                form_body,
                form_as(&url).await,
            )
            .await,
        );
        results.push(
            drive(
                "Buzón routing dry run (POST /api/v1/route), no storage",
                &url,
                seconds,
                concurrency,
                "/api/v1/route",
                route_body,
            )
            .await,
        );
        results.extend(advocate_rows("SQLite", &url, &settings, seconds, concurrency).await);

        // The same with a token Argon2 cost, to show how much of the time is the hash.
        let cheap = HashCost {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        };
        let cheap_dir = tempfile::tempdir().unwrap();
        let (addr, _, _stop_cheap, _) = buzon(None, cheap_dir.path(), Some(cheap)).await;
        results.push(
            drive(
                &format!("Buzón JSON API intake, SQLite, {cheap} (for comparison only)"),
                &format!("http://{addr}"),
                seconds,
                concurrency,
                "/api/v1/complaints",
                body,
            )
            .await,
        );

        if let Some(admin) = &admin {
            let pg_dir = tempfile::tempdir().unwrap();
            let pg_url = format!("postgres://postgres@127.0.0.1:5432/{name}");
            let (addr, pg_settings, stop, smtp) =
                buzon(Some(pg_url.clone()), pg_dir.path(), None).await;
            let url = format!("http://{addr}");
            limits.push(("PostgreSQL", hash_limit(cost, seconds)));
            results.push(
                drive(
                    "Buzón JSON API intake, PostgreSQL",
                    &url,
                    seconds,
                    concurrency,
                    "/api/v1/complaints",
                    body,
                )
                .await,
            );
            results.push(
                drive_as(
                    "Buzón web form intake, PostgreSQL (CSRF checked, receipt page)",
                    &url,
                    seconds,
                    concurrency,
                    "/complaints",
                    form_body,
                    form_as(&url).await,
                )
                .await,
            );
            results.extend(
                advocate_rows("PostgreSQL", &url, &pg_settings, seconds, concurrency).await,
            );
            results.push(
                drive_smtp(
                    "Buzón SMTP listener, PostgreSQL (20 KB message, stored before the 250)",
                    smtp,
                    seconds,
                    concurrency,
                )
                .await,
            );
            eprintln!(
                "PostgreSQL SMTP row: {} e-mails still to work when it ended",
                pending_inbox(&pg_url, "email_inbox").await
            );
            let _ = stop.send(());
            tokio::time::sleep(Duration::from_secs(1)).await;
            // The same over the Unix socket: sqlx leaves Nagle on for TCP, so a
            // row larger than a segment waits for the server's delayed ACK.
            let socket = "/var/run/postgresql";
            if std::path::Path::new(socket).join(".s.PGSQL.5432").exists() {
                // Same data directory: the database knows its key file.
                let (_, _, stop, smtp) = buzon(
                    Some(format!("postgres://postgres@localhost/{name}?host={socket}")),
                    pg_dir.path(),
                    None,
                )
                .await;
                results.push(
                    drive_smtp(
                        "Buzón SMTP listener, PostgreSQL over its Unix socket (20 KB message, stored before the 250)",
                        smtp,
                        seconds,
                        concurrency,
                    )
                    .await,
                );
                let _ = stop.send(());
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            // The webhook on its own instance and database, as on SQLite: the rows
            // before leave a backlog (the SMTP row's e-mails, each with its receipt
            // hash) whose workers would share the cores with this row.
            let wa_url = format!("postgres://postgres@127.0.0.1:5432/{wa_name}");
            results.push(webhook_row("PostgreSQL", Some(wa_url), seconds, concurrency).await);
            for db in [&name, &bare_name, &wa_name] {
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
                    .await
                    .ok();
            }
        }

        // The WhatsApp rows last: their backlog is worked in the background.
        results.push(webhook_row("SQLite", None, seconds, concurrency).await);

        // SMTP: the bare server first, then Buzón's listener on its own instance.
        let bare_smtp = smtp_sink::SmtpSink::discarding().await;
        results.push(
            drive_smtp(
                "bare SMTP server (20 KB message, answer 250, keep nothing)",
                bare_smtp.port,
                seconds,
                concurrency,
            )
            .await,
        );
        let mail_dir = tempfile::tempdir().unwrap();
        let (_, _, stop, smtp) = buzon(None, mail_dir.path(), None).await;
        results.push(
            drive_smtp(
                "Buzón SMTP listener, SQLite (20 KB message, stored before the 250)",
                smtp,
                seconds,
                concurrency,
            )
            .await,
        );
        let url = format!("sqlite://{}?mode=rw", mail_dir.path().join("buzon.db").display());
        eprintln!(
            "SQLite SMTP row: {} e-mails still to work when it ended",
            pending_inbox(&url, "email_inbox").await
        );
        let _ = stop.send(());

        results.retain(|r| wanted(&r.name));
        let per_case = time_routing();
        let (reused, fresh) = time_receipt_hash(cost);
        print_results(&results, seconds, concurrency, &cost.to_string(), per_case);
        println!(
            "\nReceipt hash alone ({cost}, one thread, median of 15): {reused:.1} ms with the \
             hasher's reused working memory, {fresh:.1} ms allocating it per hash (the argon2 \
             crate's `hash_password_with_salt`, as before): {:+.1} % time.",
            (reused / fresh - 1.0) * 100.0
        );
        for (backend, (threads, per_second)) in limits {
            println!(
                "\nReceipt-hash limit on the {backend} rows ({cost}): {per_second:.1} hashes/s, \
                 measured as {threads} threads (one per core) hashing with Buzón's hasher for \
                 {seconds} s just before the first Buzón {backend} row (its instance started, \
                 idle), nothing else running. Intake against it:\n"
            );
            for r in results.iter().filter(|r| {
                r.name.starts_with("Buzón")
                    && r.name.contains(backend)
                    && (r.name.contains("intake") || r.name.contains("one member"))
                    && !r.name.contains("for comparison")
            }) {
                println!(
                    "- {}: {:.1} complaints/s = {:.2}× the hash limit",
                    r.name,
                    r.per_second,
                    r.per_second / per_second
                );
            }
        }
    });
}

/// The rate of the first row whose name starts with `prefix`.
fn rate(results: &[Result], prefix: &str) -> Option<f64> {
    results
        .iter()
        .find(|r| r.name.starts_with(prefix))
        .map(|r| r.per_second)
}

/// A ratio with three decimals, or in scientific notation when that would read 0.000.
fn ratio(ours: f64, base: Option<f64>) -> String {
    match base {
        Some(base) if base > 0.0 => {
            let r = ours / base;
            if r < 0.001 {
                format!("{r:.1e}")
            } else {
                format!("{r:.3}")
            }
        }
        _ => "–".into(),
    }
}

fn print_results(
    results: &[Result],
    seconds: u64,
    concurrency: u64,
    cost: &str,
    per_case: Duration,
) {
    println!("Machine: {}", machine());
    println!(
        "Run: {concurrency} concurrent clients, {seconds} s per row, loopback, release build; \
         clients and servers in one process."
    );
    println!(
        "Receipt hash: {cost} (production default), one hash per complaint \
         (a collective complaint: one more per listed member)."
    );
    println!(
        "Routing decision alone (pure function, 200 000 cases): {:.2} µs per case.\n",
        per_case.as_secs_f64() * 1e6
    );
    println!(
        "| endpoint | requests | errors | req/s | p50 | p99 | vs bare axum | vs bare insert | peak RSS | RSS growth |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let bare_json = rate(results, "bare axum handler");
    let bare_form = rate(results, "bare axum form handler");
    let bare_webhook = rate(results, "bare axum webhook handler");
    let bare_smtp = rate(results, "bare SMTP");
    let bare_sqlite = rate(results, "bare SQLite insert");
    let bare_pg = rate(results, "bare PostgreSQL insert");
    for r in results {
        let axum_base = if r.name.contains("webhook") {
            bare_webhook
        } else if r.name.contains("SMTP") {
            bare_smtp
        } else if r.name.contains("form") {
            bare_form
        } else {
            bare_json
        };
        let insert_base = if r.name.starts_with("bare axum")
            || r.name.starts_with("bare SMTP")
            || r.name.contains("no storage")
        {
            None
        } else if r.name.contains("PostgreSQL") {
            bare_pg
        } else if r.name.contains("SQLite") {
            bare_sqlite
        } else {
            None
        };
        // Slow rows (a group's filing) keep their digits instead of rounding to 0.
        let per_second = if r.per_second < 10.0 {
            format!("{:.2}", r.per_second)
        } else {
            format!("{:.0}", r.per_second)
        };
        println!(
            "| {} | {} | {} | {per_second} | {:.1} ms | {:.1} ms | {} | {} | {:.0} MiB | +{:.0} MiB |",
            r.name,
            r.requests,
            r.errors,
            r.p50.as_secs_f64() * 1e3,
            r.p99.as_secs_f64() * 1e3,
            ratio(r.per_second, axum_base),
            ratio(r.per_second, insert_base),
            r.rss_peak as f64 / 1024.0,
            r.rss_peak.saturating_sub(r.rss_start) as f64 / 1024.0,
        );
    }
    // Advocates' filings against a worker's own on the same back end.
    for r in results.iter().filter(|r| r.name.contains("advocate")) {
        let backend = if r.name.contains("PostgreSQL") {
            "PostgreSQL"
        } else {
            "SQLite"
        };
        if let Some(intake) = rate(results, &format!("Buzón JSON API intake, {backend}")) {
            println!(
                "\n{}: {:.3}× Buzón intake on {backend}.",
                r.name,
                r.per_second / intake
            );
        }
    }
    for r in results.iter().filter(|r| r.name.contains("collective")) {
        println!(
            "\n{}: {:.0} members/s ({:.1} complaints/s × {COLLECTIVE_MEMBERS} members).",
            r.name,
            r.per_second * COLLECTIVE_MEMBERS as f64,
            r.per_second
        );
    }
}
