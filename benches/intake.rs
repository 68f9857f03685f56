//! Intake throughput, measured against a bare axum handler in the same run.
//!
//! `cargo bench --bench intake` starts, in this process and on loopback:
//! - a bare axum server whose handler parses the same JSON and answers 201;
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
//! latency percentiles and the ratio to the bare handler. Absolute numbers depend
//! on the machine; the ratios are what to compare between runs.
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
    collect(name, start, tasks).await
}

async fn collect(
    name: &str,
    start: Instant,
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

struct Result {
    name: String,
    requests: u64,
    errors: u64,
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// How a row's requests are sent and which answers count as done.
#[derive(Clone, Default)]
struct As {
    /// `Authorization: Bearer` (an advocate's personal API token).
    bearer: Option<String>,
    /// The one status that counts (any other is an error); without it, any 2xx.
    expect: Option<u16>,
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
                let body = make(i);
                let t = Instant::now();
                let mut req = http.post(&url).header("content-type", "application/json");
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
    collect(name, start, tasks).await
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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/api/v1/complaints", post(handler))
        .route("/webhooks/whatsapp", post(webhook));
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
    use buzon::triage::staff::{self, NewMember, Role};
    let keys = buzon::crypto::KeyRing::load(&settings.keys_file).unwrap();
    let hasher = buzon::crypto::receipt::ReceiptHasher::new(settings.hash_cost).unwrap();
    let db = buzon::db::connect(&settings.database_url, 1).await.unwrap();
    buzon::advocacy::add_org(&db, "Bench Org").await.unwrap();
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
    format!("{cores} cores ({cpu}), {mem} GiB RAM")
}

fn main() {
    buzon::install_crypto_provider();
    let seconds = env_num("BENCH_SECONDS", 5);
    let concurrency = env_num("BENCH_CONCURRENCY", 8);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async move {
        let mut results = Vec::new();
        let bare = bare_axum().await;
        results.push(
            drive(
                "bare axum handler (parse JSON, answer 201)",
                &format!("http://{bare}"),
                seconds,
                concurrency,
                "/api/v1/complaints",
                body,
            )
            .await,
        );

        results.push(
            drive(
                "bare axum webhook handler (parse JSON, answer 200)",
                &format!("http://{bare}"),
                seconds,
                concurrency,
                "/webhooks/whatsapp",
                webhook_body,
            )
            .await,
        );

        let dir = tempfile::tempdir().unwrap();
        let (addr, settings, _stop_sqlite, _) = buzon(None, dir.path(), None).await;
        results.push(
            drive(
                "Buzón intake, SQLite",
                &format!("http://{addr}"),
                seconds,
                concurrency,
                "/api/v1/complaints",
                body,
            )
            .await,
        );
        let cost = settings.hash_cost;
        results.push(
            drive(
                "Buzón routing dry run (POST /api/v1/route), no storage",
                &format!("http://{addr}"),
                seconds,
                concurrency,
                "/api/v1/route",
                route_body,
            )
            .await,
        );
        results.extend(
            advocate_rows(
                "SQLite",
                &format!("http://{addr}"),
                &settings,
                seconds,
                concurrency,
            )
            .await,
        );

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
                &format!("Buzón intake, SQLite, {cheap} (for comparison only)"),
                &format!("http://{addr}"),
                seconds,
                concurrency,
                "/api/v1/complaints",
                body,
            )
            .await,
        );

        let pg_admin = "postgres://postgres@127.0.0.1:5432/postgres";
        let name = format!("buzon_bench_{}", std::process::id());
        match Database::connect(pg_admin).await {
            Ok(admin) => {
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
                    .await
                    .ok();
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .unwrap();
                let pg_dir = tempfile::tempdir().unwrap();
                let (addr, pg_settings, stop, smtp) = buzon(
                    Some(format!("postgres://postgres@127.0.0.1:5432/{name}")),
                    pg_dir.path(),
                    None,
                )
                .await;
                results.push(
                    drive(
                        "Buzón intake, PostgreSQL",
                        &format!("http://{addr}"),
                        seconds,
                        concurrency,
                        "/api/v1/complaints",
                        body,
                    )
                    .await,
                );
                results.extend(
                    advocate_rows(
                        "PostgreSQL",
                        &format!("http://{addr}"),
                        &pg_settings,
                        seconds,
                        concurrency,
                    )
                    .await,
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
                    pending_inbox(&format!("postgres://postgres@127.0.0.1:5432/{name}"), "email_inbox").await
                );
                results.push(
                    drive(
                        "Buzón WhatsApp webhook, PostgreSQL (signature checked, stored before the 200)",
                        &format!("http://{addr}"),
                        seconds,
                        concurrency,
                        "/webhooks/whatsapp",
                        webhook_body,
                    )
                    .await,
                );
                eprintln!(
                    "PostgreSQL webhook row: {} messages still to work when it ended",
                    pending_inbox(&format!("postgres://postgres@127.0.0.1:5432/{name}"), "wa_inbox").await
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
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .ok();
            }
            Err(e) => eprintln!("PostgreSQL not reachable ({e}): its row is left out"),
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
        eprintln!("SQLite webhook row: {} messages still to work when it ended", pending_inbox(&url, "wa_inbox").await);
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
        eprintln!("SQLite SMTP row: {} e-mails still to work when it ended", pending_inbox(&url, "email_inbox").await);
        let _ = stop.send(());

        let per_case = time_routing();
        let base = results[0].per_second;
        println!("Machine: {}", machine());
        println!(
            "Run: {concurrency} concurrent clients, {seconds} s per row, loopback, release build."
        );
        println!(
            "Receipt hash: {cost} (production default), one hash per complaint \
             (a collective complaint: one more per listed member)."
        );
        println!(
            "Routing decision alone (pure function, 200 000 cases): {:.2} µs per case.\n",
            per_case.as_secs_f64() * 1e6
        );
        println!("| endpoint | requests | errors | req/s | p50 | p99 | vs bare axum |");
        println!("|---|---:|---:|---:|---:|---:|---:|");
        let bare_webhook = results[1].per_second;
        let bare_smtp = results
            .iter()
            .find(|r| r.name.starts_with("bare SMTP"))
            .map_or(1.0, |r| r.per_second);
        for r in &results {
            let base = if r.name.contains("webhook") {
                bare_webhook
            } else if r.name.contains("SMTP") {
                bare_smtp
            } else {
                base
            };
            // Slow rows (a group's filing) keep their digits instead of rounding to 0.
            let per_second = if r.per_second < 10.0 {
                format!("{:.2}", r.per_second)
            } else {
                format!("{:.0}", r.per_second)
            };
            let ratio = r.per_second / base;
            let ratio = if ratio < 0.001 {
                format!("{ratio:.1e}")
            } else {
                format!("{ratio:.3}")
            };
            println!(
                "| {} | {} | {} | {per_second} | {:.1} ms | {:.1} ms | {ratio} |",
                r.name,
                r.requests,
                r.errors,
                r.p50.as_secs_f64() * 1e3,
                r.p99.as_secs_f64() * 1e3,
            );
        }
        // Advocates' filings against a worker's own on the same back end.
        for r in results.iter().filter(|r| r.name.contains("advocate")) {
            let backend = if r.name.contains("PostgreSQL") {
                "PostgreSQL"
            } else {
                "SQLite"
            };
            if let Some(intake) = results
                .iter()
                .find(|i| i.name == format!("Buzón intake, {backend}"))
            {
                println!(
                    "\n{}: {:.3}× Buzón intake on {backend}.",
                    r.name,
                    r.per_second / intake.per_second
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
    });
}
