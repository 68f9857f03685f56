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
//! for `BENCH_SECONDS`. It prints a Markdown table for BENCHMARKS.md: throughput,
//! latency percentiles, the ratios to the bare handler and to the bare insert on the
//! same back end, and the process's peak RSS during each row (`VmHWM`, reset through
//! `/proc/self/clear_refs` as each row starts) and its growth over the row's start.
//! Absolute numbers depend on the machine; the ratios are what to compare between runs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

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
#[path = "../tests/api/smtp_sink.rs"]
mod smtp_sink;

const BENCH_INTAKE: &str = "quejas@buzon.bench";

/// A 20 KB complaint e-mail (lettre builds it once per message: a text body and
/// a unique Message-ID), from one of 500 senders, so the per-sender limit is not
/// what is measured.
fn mail_20kb(i: u64) -> (String, Vec<u8>) {
    let line = "Nos obligan a trabajar doce horas sin descanso y no pagan las horas extra. ";
    let body: String = line.repeat(20 * 1024 / line.len());
    let from = format!("obrera{}@ejemplo.mx", i % 500);
    let message = lettre::Message::builder()
        .from(from.parse().unwrap())
        .to(BENCH_INTAKE.parse().unwrap())
        .subject(format!("Queja {i}"))
        .message_id(Some(format!("<bench-{i}@ejemplo.mx>")))
        .body(body)
        .unwrap();
    (from, message.formatted())
}

/// The code of the next SMTP reply.
async fn reply(read: &mut tokio::io::BufReader<tokio::net::tcp::OwnedReadHalf>) -> u16 {
    let reply = smtp_sink::read_reply(read).await;
    reply.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0)
}

/// Sends 20 KB messages over SMTP for `seconds`, each client on one connection as
/// a mail server does: MAIL, RCPT and DATA pipelined, then the message (no line of
/// it starts with a dot, so it needs no stuffing) and the final dot in one write,
/// the time taken to the final 250. Not lettre's transport: it leaves
/// Nagle on, and its 40 ms stalls on loopback would be all that is measured.
async fn drive_smtp(name: &str, port: u16, seconds: u64, concurrency: u64) -> Result {
    use tokio::io::AsyncWriteExt;
    eprintln!("row: {name}");
    let rss_start = reset_peak_rss();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap();
            stream.set_nodelay(true).unwrap();
            let (read, mut write) = stream.into_split();
            let mut read = tokio::io::BufReader::new(read);
            assert_eq!(reply(&mut read).await, 220);
            write.write_all(b"EHLO bench.test\r\n").await.unwrap();
            assert_eq!(reply(&mut read).await, 250);
            let (mut latencies, mut errors) = (Vec::new(), 0u64);
            let mut i = worker * 1_000_000;
            while Instant::now() < deadline {
                i += 1;
                let (from, mut data) = mail_20kb(i);
                data.extend_from_slice(b"\r\n.\r\n");
                let t = Instant::now();
                let envelope =
                    format!("MAIL FROM:<{from}>\r\nRCPT TO:<{BENCH_INTAKE}>\r\nDATA\r\n");
                write.write_all(envelope.as_bytes()).await.unwrap();
                let codes = [
                    reply(&mut read).await,
                    reply(&mut read).await,
                    reply(&mut read).await,
                ];
                if codes != [250, 250, 354] {
                    errors += 1;
                    write.write_all(b"RSET\r\n").await.unwrap();
                    reply(&mut read).await;
                    continue;
                }
                write.write_all(&data).await.unwrap();
                match reply(&mut read).await {
                    250 => latencies.push(t.elapsed()),
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    collect(name, start, rss_start, tasks).await
}

async fn collect(
    name: &str,
    start: Instant,
    rss_start: u64,
    tasks: Vec<tokio::task::JoinHandle<(Vec<Duration>, u64)>>,
) -> Result {
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        all.extend(l);
        errors += e;
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Result {
        name: name.to_string(),
        requests: all.len() as u64,
        errors,
        per_second: all.len() as f64 / elapsed,
        p50: pct(0.50),
        p99: pct(0.99),
        rss_start,
        rss_peak: proc_status_kib("VmHWM:"),
    }
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The complaint every intake row sends (as JSON, to be extended by the advocate rows).
fn complaint(i: u64) -> serde_json::Value {
    serde_json::json!({
        "language": "es",
        "anonymous": false,
        "complainant": {"name": format!("Trabajadora {i}"), "phone": "+52 1 477 123 4567",
                        "email": format!("t{i}@example.org"), "worker_id": format!("E{i}")},
        "workplace": {"employer": "Arneses del Bajío", "city": "León", "state": "MX-GUA",
                      "sector": "auto_parts", "trade_with_us": "yes", "workers": 800},
        "violations": ["union_retaliation", "unjust_dismissal"],
        "narrative": "Me despidieron dos días después de la asamblea. ".repeat(8),
        "occurred_on": "2025-03-14"
    })
}

fn body(i: u64) -> String {
    complaint(i).to_string()
}

/// The same complaint as the web form posts it (`application/x-www-form-urlencoded`,
/// the CSRF token appended by the row).
fn form_body(i: u64) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let narrative = "Me despidieron dos días después de la asamblea. ".repeat(8);
    let (name, email, worker_id) = (
        format!("Trabajadora {i}"),
        format!("t{i}@example.org"),
        format!("E{i}"),
    );
    let fields: [(&str, &str); 16] = [
        ("lang", "es"),
        ("employer", "Arneses del Bajío"),
        ("state", "MX-GUA"),
        ("city", "León"),
        ("sector", "auto_parts"),
        ("trade_with_us", "yes"),
        ("workers", "800"),
        ("violations", "union_retaliation"),
        ("violations", "unjust_dismissal"),
        ("narrative", &narrative),
        ("occurred_on", "2025-03-14"),
        ("identity", "contact"),
        ("name", &name),
        ("phone", "+52 1 477 123 4567"),
        ("email", &email),
        ("worker_id", &worker_id),
    ];
    fields
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, NON_ALPHANUMERIC)))
        .collect::<Vec<_>>()
        .join("&")
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

/// A member's consent as the advocate rows record it.
fn member_consent() -> serde_json::Value {
    serde_json::json!({"given_by": "member", "method": "written", "date": "2026-11-01", "uses": ["complaint"]})
}

/// Listed members of the collective row.
const COLLECTIVE_MEMBERS: u64 = 40;

/// Filed by an advocate for one member: the usual body (its `complainant`, with a
/// name, is the member) and the member's consent.
fn advocate_body(i: u64) -> String {
    let mut body = complaint(i);
    body["consent"] = member_consent();
    body.to_string()
}

/// Filed by an advocate for a group: the usual body without a `complainant` (a
/// group's identities are its members'), the group's consent to file, 40 workers
/// affected and 40 listed members, each named and with their own consent (and so
/// each with a receipt of their own: 40 more Argon2 hashes).
fn collective_body(i: u64) -> String {
    let mut body = complaint(i);
    let fields = body.as_object_mut().unwrap();
    fields.remove("complainant");
    fields.remove("anonymous");
    fields.insert(
        "consent".into(),
        serde_json::json!({"given_by": "representative", "method": "written", "date": "2026-11-01", "uses": ["complaint"]}),
    );
    fields.insert("workers_affected".into(), COLLECTIVE_MEMBERS.into());
    let members: Vec<serde_json::Value> = (1..=COLLECTIVE_MEMBERS)
        .map(|k| serde_json::json!({"name": format!("Trabajadora {i}-{k}"), "consent": member_consent()}))
        .collect();
    fields.insert("members".into(), members.into());
    body.to_string()
}

const BENCH_APP_SECRET: &str = "bench-app-secret";

/// One signed-ready webhook delivery in Meta's shape: a new message from one of 500
/// senders (so the per-sender limit is not what is measured).
fn webhook_body(i: u64) -> String {
    let from = format!("52147755{:05}", i % 500);
    serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001111", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Trabajadora"}, "wa_id": from}],
            "messages": [{"from": from, "id": format!("wamid.BENCH{i:012}"), "timestamp": "1764300000",
                          "type": "text", "text": {"body": "Hola, quiero poner una queja"}}]
        }}]}]
    })
    .to_string()
}

fn signature(body: &str) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(BENCH_APP_SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!(
        "sha256={}",
        buzon::crypto::hex(&mac.finalize().into_bytes())
    )
}

fn route_body(i: u64) -> String {
    let sectors = [
        "auto_parts",
        "electronics",
        "garment",
        "mining",
        "unknown",
        "call_center",
    ];
    let sector = sectors[(i % sectors.len() as u64) as usize];
    serde_json::json!({
        "workplace": {"state": "MX-CHH", "sector": sector, "trade_with_us": "unknown"},
        "violations": ["union_retaliation", "unpaid_wages", "safety_health"],
        "occurred_on": "2024-05-01"
    })
    .to_string()
}

/// Server time of the routing decision itself: the pure function, no HTTP.
fn time_routing() -> Duration {
    use buzon::domain::{Sector, StateCode, TradeNexus, Violation};
    use buzon::routing::{CaseFacts, Rules, route};
    let rules = Rules::default_rules().unwrap();
    let n = 200_000u32;
    let start = Instant::now();
    for i in 0..n {
        let facts = CaseFacts {
            state: StateCode::ALL[i as usize % StateCode::ALL.len()],
            sector: Sector::ALL[i as usize % Sector::ALL.len()],
            trade_with_us: TradeNexus::Unknown,
            workers: Some(800),
            violations: [
                Violation::UnionRetaliation,
                Violation::UnpaidWages,
                Violation::SafetyHealth,
            ]
            .into_iter()
            .collect(),
            occurred_on: None,
        };
        std::hint::black_box(route(&rules, std::hint::black_box(&facts)));
    }
    start.elapsed() / n
}

/// The receipt hash alone at the production cost, single-threaded, median of 15 after
/// 3 warm-ups: `buzon`'s hasher (working memory reused between hashes) against the
/// `argon2` crate's own `hash_password_with_salt` (a fresh, zeroed allocation per
/// hash: what the hasher did before), in the same process. Milliseconds per hash.
fn time_receipt_hash(cost: HashCost) -> (f64, f64) {
    use argon2::PasswordHasher;
    let ours = buzon::crypto::receipt::ReceiptHasher::new(cost).unwrap();
    let params =
        argon2::Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None).unwrap();
    let library = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let median = |f: &dyn Fn()| {
        for _ in 0..3 {
            f();
        }
        let mut times: Vec<f64> = (0..15)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        times[times.len() / 2]
    };
    let secret = "ABCDEFGHJKMNPQRSTVWXYZ234";
    let reused = median(&|| {
        std::hint::black_box(ours.hash(secret).unwrap());
    });
    let fresh = median(&|| {
        let salt: [u8; 16] = buzon::crypto::random_bytes();
        std::hint::black_box(
            library
                .hash_password_with_salt(secret.as_bytes(), &salt)
                .unwrap()
                .to_string(),
        );
    });
    (reused, fresh)
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

/// Resets the process's RSS high-water mark to its current RSS (Linux 4.0+:
/// `echo 5 > /proc/self/clear_refs`), so `VmHWM` afterwards is this row's peak.
/// Returns the RSS at the start.
fn reset_peak_rss() -> u64 {
    if std::fs::write("/proc/self/clear_refs", "5").is_err() {
        eprintln!("cannot reset the RSS high-water mark: peaks are since process start");
    }
    proc_status_kib("VmRSS:")
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
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    eprintln!("row: {name}");
    let rss_start = reset_peak_rss();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let http = http.clone();
        let url = format!("{url}{path}");
        let with = with.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut i = worker * 1_000_000;
            while Instant::now() < deadline {
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
                        latencies.push(t.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    collect(name, start, rss_start, tasks).await
}

async fn bare_axum() -> SocketAddr {
    async fn handler(body: axum::body::Bytes) -> (StatusCode, axum::Json<serde_json::Value>) {
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let ok = value.get("narrative").is_some();
        (
            if ok {
                StatusCode::CREATED
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            },
            axum::Json(
                serde_json::json!({"case_ref": "BZ-00000000", "receipt": "0000-0000-0000-0000-0000-0000", "status": "received"}),
            ),
        )
    }
    /// The webhook's bare twin: parse the JSON, answer 200.
    async fn webhook(body: axum::body::Bytes) -> StatusCode {
        match serde_json::from_slice::<serde_json::Value>(&body) {
            Ok(_) => StatusCode::OK,
            Err(_) => StatusCode::BAD_REQUEST,
        }
    }
    /// The web form's bare twin: parse the form, answer 200 with a small page.
    async fn form(
        axum::Form(fields): axum::Form<Vec<(String, String)>>,
    ) -> (StatusCode, axum::response::Html<String>) {
        let ok = fields.iter().any(|(k, _)| k == "narrative");
        (
            if ok {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            },
            axum::response::Html(format!(
                "<!doctype html><p>Recibo: 0000-0000-0000-0000-0000-0000 ({} campos)</p>",
                fields.len()
            )),
        )
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/api/v1/complaints", post(handler))
        .route("/complaints", post(form))
        .route("/webhooks/whatsapp", post(webhook));
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    addr
}

/// The storage baseline: a bare axum handler that parses the same JSON and inserts
/// one comparable row (a random id and reference, the narrative as bytes, the body
/// as text, a timestamp; primary key plus one unique index) in its own implicit
/// transaction, through `buzon::db::connect` (so the same pool size and, on SQLite,
/// WAL and `synchronous=FULL`), then answers 201. No encryption, no hashing, no
/// routing: what storing a complaint durably costs at the least.
async fn bare_insert(database_url: &str, pool: u32) -> SocketAddr {
    use axum::extract::State;
    use sea_orm::DatabaseConnection;
    async fn insert(State(db): State<DatabaseConnection>, body: axum::body::Bytes) -> StatusCode {
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(&body) else {
            return StatusCode::BAD_REQUEST;
        };
        let Some(narrative) = value.get("narrative").and_then(|n| n.as_str()) else {
            return StatusCode::UNPROCESSABLE_ENTITY;
        };
        let result = buzon::db::exec(
            &db,
            "INSERT INTO bare_complaints (id, case_ref, narrative, payload, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
            vec![
                uuid::Uuid::now_v7().to_string().into(),
                format!("BZ-{}", uuid::Uuid::new_v4().simple()).into(),
                narrative.as_bytes().to_vec().into(),
                String::from_utf8_lossy(&body).into_owned().into(),
                chrono::Utc::now().into(),
            ],
        )
        .await;
        match result {
            Ok(1) => StatusCode::CREATED,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
    let db = buzon::db::connect(database_url, pool).await.unwrap();
    let blob = match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => "BYTEA",
        _ => "BLOB",
    };
    db.execute_unprepared(&format!(
        "CREATE TABLE bare_complaints (id TEXT PRIMARY KEY, case_ref TEXT NOT NULL UNIQUE, \
         narrative {blob} NOT NULL, payload TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL)"
    ))
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/api/v1/complaints", post(insert))
        .with_state(db);
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    addr
}

async fn buzon(
    database_url: Option<String>,
    dir: &std::path::Path,
    cost: Option<HashCost>,
) -> (SocketAddr, Settings, tokio::sync::oneshot::Sender<()>, u16) {
    let mut settings = Settings::load(None).unwrap();
    if let Some(cost) = cost {
        settings.hash_cost = cost;
    }
    settings.data_dir = dir.to_path_buf();
    settings.keys_file = dir.join("keys.toml");
    settings.database_url = database_url
        .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", dir.join("buzon.db").display()));
    settings.http_addr = "127.0.0.1:0".parse().unwrap();
    let lifted = Limit {
        per_minute: 10_000_000,
        burst: 10_000_000,
    };
    settings.intake_limit = lifted;
    settings.status_limit = lifted;
    settings.general_limit = lifted;
    settings.webhook_limit = lifted;
    settings.whatsapp = Some(WhatsAppSettings {
        app_secret: Secret::new(BENCH_APP_SECRET.into()),
        verify_token: Secret::new("bench-verify".into()),
        access_token: Secret::new("bench-token".into()),
        phone_number_id: "106540352242922".into(),
        api_base: format!("http://{}", graph_stand_in().await),
        api_version: "v23.0".into(),
        idle: Duration::from_secs(3600),
        media_max_bytes: 1 << 20,
        sender_limit: lifted,
        timeout: Duration::from_secs(5),
    });
    let relay = smtp_sink::SmtpSink::discarding().await;
    settings.email = Some(EmailSettings {
        smtp_addr: Some("127.0.0.1:0".parse().unwrap()),
        intake_addresses: vec![BENCH_INTAKE.into()],
        webhook_token: None,
        relay_url: Some(Secret::new(relay.url())),
        from: Some(format!("Buzón <{BENCH_INTAKE}>").parse().unwrap()),
        hostname: "buzon.bench".into(),
        tls: None,
        max_bytes: 25 << 20,
        attachment_max_bytes: 16 << 20,
        daily_acks: 5,
        sender_limit: lifted,
        ip_limit: lifted,
        max_connections: 100,
    });
    let app = Application::build(settings.clone()).await.unwrap();
    let addr = app.local_addr().unwrap();
    let smtp = app.smtp_addr().unwrap().port();
    // Stopped between rows: the WhatsApp workers must not work a backlog while the
    // next row is measured.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    (addr, settings, stop, smtp)
}

/// Stored messages not yet worked (the backlog behind the webhook or listener).
async fn pending_inbox(url: &str, table: &str) -> i64 {
    let db = Database::connect(url).await.unwrap();
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) FROM {table} WHERE state = 'pending'"),
        ))
        .await
        .unwrap()
        .unwrap();
    let n = row.try_get_by_index::<i64>(0).unwrap();
    db.close().await.ok();
    n
}

/// Accepts every message the outbox sends, as the Cloud API would.
async fn graph_stand_in() -> SocketAddr {
    async fn accept() -> axum::Json<serde_json::Value> {
        axum::Json(serde_json::json!({
            "messaging_product": "whatsapp",
            "contacts": [{"input": "1", "wa_id": "1"}],
            "messages": [{"id": "wamid.OUT"}]
        }))
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route("/{version}/{id}/messages", post(accept));
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    addr
}

/// Adds an organization and an advocate of it to a running instance's database,
/// as `buzon org add` and `buzon staff add` / `buzon staff token` do, and returns
/// the advocate's personal API token.
async fn advocate(settings: &Settings) -> String {
    use buzon::staff::{self, NewMember, Role};
    let keys = buzon::crypto::KeyRing::load(&settings.keys_file).unwrap();
    let hasher = buzon::crypto::receipt::ReceiptHasher::new(settings.hash_cost).unwrap();
    let db = buzon::db::connect(&settings.database_url, 1).await.unwrap();
    buzon::staff::add_org(&db, "Bench Org").await.unwrap();
    let id = staff::add(
        &db,
        &keys,
        &hasher,
        &NewMember {
            email: "rosa@bench-org.example",
            role: Role::Advocate,
            authorities: &[],
            org: Some("Bench Org"),
            password: "bench-advocate-password",
        },
    )
    .await
    .unwrap();
    let token = staff::issue_token(&db, &keys, id).await.unwrap();
    db.close().await.ok();
    token.as_str().to_owned()
}

/// The two advocate rows on one instance (SQLite or PostgreSQL): one member, then a
/// collective complaint of 40 listed members. Each body is checked once first: it
/// must get its 201 (and the group its 40 member receipts).
async fn advocate_rows(
    backend: &str,
    url: &str,
    settings: &Settings,
    seconds: u64,
    concurrency: u64,
) -> Vec<Result> {
    let token = advocate(settings).await;
    let http = reqwest::Client::new();
    for (make, members) in [
        (advocate_body as fn(u64) -> String, 0),
        (collective_body, COLLECTIVE_MEMBERS),
    ] {
        let res = http
            .post(format!("{url}/api/v1/complaints"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(make(999_999_999))
            .send()
            .await
            .unwrap();
        let status = res.status();
        let created: serde_json::Value = res.json().await.unwrap_or_default();
        assert_eq!(
            status.as_u16(),
            201,
            "advocate filing refused on {backend}: {created}"
        );
        assert_eq!(created["organization"], "Bench Org", "{created}");
        let receipts = created["members"].as_array().map_or(0, Vec::len);
        assert_eq!(
            receipts as u64, members,
            "member receipts on {backend}: {created}"
        );
    }
    let with = As {
        bearer: Some(token),
        expect: Some(201),
        ..As::default()
    };
    vec![
        drive_as(
            &format!("Buzón advocate filing for one member, {backend}"),
            url,
            seconds,
            concurrency,
            "/api/v1/complaints",
            advocate_body,
            with.clone(),
        )
        .await,
        drive_as(
            &format!(
                "Buzón advocate collective complaint, {COLLECTIVE_MEMBERS} listed members, {backend}"
            ),
            url,
            seconds,
            concurrency,
            "/api/v1/complaints",
            collective_body,
            with,
        )
        .await,
    ]
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().next().map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse::<u64>()
                    .unwrap_or(0)
                    / 1024
                    / 1024
            })
        })
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|k| format!(", Linux {}", k.trim()))
        .unwrap_or_default();
    format!("{cores} cores ({cpu}), {mem} GiB RAM{kernel}")
}

fn main() {
    buzon::install_crypto_provider();
    let seconds = env_num("BENCH_SECONDS", 5);
    let concurrency = env_num("BENCH_CONCURRENCY", 8);
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
        let admin = match Database::connect(pg_admin).await {
            Ok(admin) => Some(admin),
            Err(e) => {
                eprintln!("PostgreSQL not reachable ({e}): its rows are left out");
                None
            }
        };
        if let Some(admin) = &admin {
            for db in [&name, &bare_name] {
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

        let dir = tempfile::tempdir().unwrap();
        let (addr, settings, _stop_sqlite, _) = buzon(None, dir.path(), None).await;
        let url = format!("http://{addr}");
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
        let cost = settings.hash_cost;
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
            // SMTP before the webhook: the webhook's backlog (worked meanwhile)
            // would otherwise slow the listener's row.
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
            results.push(
                drive(
                    "Buzón WhatsApp webhook, PostgreSQL (signature checked, stored before the 200)",
                    &url,
                    seconds,
                    concurrency,
                    "/webhooks/whatsapp",
                    webhook_body,
                )
                .await,
            );
            eprintln!(
                "PostgreSQL webhook row: {} messages still to work when it ended",
                pending_inbox(&pg_url, "wa_inbox").await
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
            for db in [&name, &bare_name] {
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
                    .await
                    .ok();
            }
        }

        // The WhatsApp rows last: their backlog is worked in the background.
        let wa_dir = tempfile::tempdir().unwrap();
        let (addr, _, stop, _) = buzon(None, wa_dir.path(), None).await;
        results.push(
            drive(
                "Buzón WhatsApp webhook, SQLite (signature checked, stored before the 200)",
                &format!("http://{addr}"),
                seconds,
                concurrency,
                "/webhooks/whatsapp",
                webhook_body,
            )
            .await,
        );
        let url = format!("sqlite://{}?mode=rw", wa_dir.path().join("buzon.db").display());
        eprintln!(
            "SQLite webhook row: {} messages still to work when it ended",
            pending_inbox(&url, "wa_inbox").await
        );
        let _ = stop.send(());

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

        let per_case = time_routing();
        let (reused, fresh) = time_receipt_hash(cost);
        print_results(&results, seconds, concurrency, &cost.to_string(), per_case);
        println!(
            "\nReceipt hash alone ({cost}, one thread, median of 15): {reused:.1} ms with the \
             hasher's reused working memory, {fresh:.1} ms allocating it per hash (the argon2 \
             crate's `hash_password_with_salt`, as before): {:+.1} % time.",
            (reused / fresh - 1.0) * 100.0
        );
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
