//! Shared rate limits (`BUZON_REDIS_URL`) against a real Redis at 127.0.0.1:6379
//! (`.ci/run` starts one; these tests fail, never skip, without it): two instances
//! give a client one budget between them; with Redis cut (through a proxy the test
//! owns) sign-in and receipt look-ups fail closed while WhatsApp deliveries are still
//! taken, `/readyz` says so, and the limits come back through Redis once it is
//! restored; nothing in Redis holds a client address, phone number or e-mail.
//!
//! Every test server has a key file of its own, so its Redis keys (HMACs under it)
//! never collide with another test's or another run's.

use crate::graph_stub::GraphStub;
use crate::helpers::tcp_proxy::CutProxy;
use crate::helpers::{mail, wa, *};
use crate::on_both_backends;
use crate::smtp_sink::SmtpSink;
use buzon::crypto::KeyRing;
use buzon::ratelimit::redis::redis_key;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;

const REDIS_ADDR: &str = "127.0.0.1:6379";
const REDIS_URL: &str = "redis://127.0.0.1:6379";
const GUESS: &str = "0000-0000-0000-0000-0000-0000";

/// A connection to the test Redis; fails the test (never skips it) without one.
async fn redis_connection() -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(REDIS_URL).unwrap();
    let conn = tokio::time::timeout(
        Duration::from_secs(5),
        client.get_multiplexed_async_connection(),
    )
    .await;
    match conn {
        Ok(Ok(mut conn)) => {
            let pong: redis::RedisResult<String> = redis::cmd("PING").query_async(&mut conn).await;
            assert!(pong.is_ok(), "Redis at {REDIS_ADDR} does not answer PING");
            conn
        }
        _ => panic!(
            "Redis is not reachable at {REDIS_ADDR}: these tests need it. Start it as .ci/run \
             does: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save \"\" \
             --appendonly no"
        ),
    }
}

/// How long `key` still lives (ms); `None` when it does not exist.
async fn pttl(conn: &mut redis::aio::MultiplexedConnection, key: &str) -> Option<i64> {
    let ttl: i64 = redis::cmd("PTTL").arg(key).query_async(conn).await.unwrap();
    (ttl >= 0).then_some(ttl)
}

/// The server's key file, as the test reads it to compute its Redis keys.
fn keys_of(server: &TestServer) -> KeyRing {
    KeyRing::load_or_create(&server.keys_file()).unwrap().0
}

async fn look_up(http: &reqwest::Client, server: &TestServer) -> (u16, Value) {
    post_json(
        http,
        &server.url("/api/v1/status"),
        &serde_json::json!({"receipt": GUESS}),
    )
    .await
}

async fn readyz(http: &reqwest::Client, server: &TestServer) -> Value {
    get_json(http, &server.url("/readyz")).await
}

/// Two instances, one Redis, one key file: a client alternating between them gets
/// one burst of receipt look-ups in total, not one per instance.
async fn two_instances_share_one_budget(backend: Backend) {
    let mut conn = redis_connection().await;
    let keys_dir = tempfile::tempdir().unwrap();
    let keys_file = keys_dir.path().join("keys.toml");
    let (keys, _) = KeyRing::load_or_create(&keys_file).unwrap();
    let options = || {
        Options::default()
            .env("BUZON_REDIS_URL", REDIS_URL)
            .env("BUZON_KEYS_FILE", &keys_file.display().to_string())
            .env("BUZON_STATUS_PER_MINUTE", "1")
            .env("BUZON_STATUS_BURST", "3")
            .env("BUZON_LOG", "info,sqlx=warn")
    };
    let a = TestServer::spawn_with(backend, options()).await;
    let b = TestServer::spawn_with(backend, options()).await;
    let http = client();
    let mut statuses = Vec::new();
    for i in 0..8 {
        let server = if i % 2 == 0 { &a } else { &b };
        let (status, body) = look_up(&http, server).await;
        if status == 429 {
            assert_eq!(body["error"]["code"], "rate_limited", "{body}");
        }
        statuses.push(status);
    }
    assert_eq!(
        statuses,
        [404, 404, 404, 429, 429, 429, 429, 429],
        "one burst of 3 between both instances"
    );
    // The state is in Redis under the HMAC of the address, expiring once the bucket
    // is full again (three minutes at most).
    let key = redis_key(&keys.blind_index, "status", b"127.0.0.1");
    let ttl = pttl(&mut conn, &key)
        .await
        .expect("the status key is in Redis");
    assert!((1..=180_000).contains(&ttl), "{ttl}");
    for server in [&a, &b] {
        assert!(
            server.logs().contains("rate limits shared through Redis"),
            "{}",
            server.logs()
        );
    }
}

on_both_backends!(two_instances_share_one_budget);

// Multi-threaded: the proxy must forward while `TestServer::start` blocks a thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cut_fails_closed_for_guessing_and_open_for_deliveries() {
    let mut conn = redis_connection().await;
    let proxy = CutProxy::start(REDIS_ADDR.parse::<SocketAddr>().unwrap()).await;
    let stub = GraphStub::start().await;
    let secret = format!("appsecret-{}", uuid::Uuid::new_v4().simple());
    let options = wa::options(Options::default(), &stub, &secret, "verify-redis")
        .env("BUZON_REDIS_URL", &proxy.url())
        .env("BUZON_STATUS_PER_MINUTE", "1")
        .env("BUZON_STATUS_BURST", "2")
        .env("BUZON_LOG", "info,sqlx=warn");
    let server = TestServer::spawn_with(Backend::Sqlite, options).await;
    let keys = keys_of(&server);
    let http = client();

    // Through Redis: ready, and a look-up counted there.
    let ready = readyz(&http, &server).await;
    assert_eq!(ready["status"], "ready", "{ready} {}", server.logs());
    assert_eq!(ready["rate_limits"]["store"], "redis", "{ready}");
    assert_eq!(ready["rate_limits"]["state"], "ok", "{ready}");
    assert!(
        !server.logs().contains("Redis unreachable"),
        "{}",
        server.logs()
    );
    assert_eq!(look_up(&http, &server).await.0, 404);
    let key = redis_key(&keys.blind_index, "status", b"127.0.0.1");
    assert!(pttl(&mut conn, &key).await.is_some(), "counted in Redis");

    proxy.cut();
    // Receipt look-ups and sign-in fail closed, with a stable code.
    for _ in 0..3 {
        let (status, body) = look_up(&http, &server).await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["error"]["code"], "limits_unavailable", "{body}");
    }
    let login_page = get_text(&http, &server.url("/triage/login")).await;
    let res = http
        .post(server.url("/triage/login"))
        .form(&[
            ("csrf", csrf_token(&login_page).as_str()),
            ("email", "ana@stps.example"),
            ("password", "correct horse battery staple"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 503);
    assert!(res.text().await.unwrap().contains("limits_unavailable"));
    // A WhatsApp delivery is still acknowledged and stored.
    let message = wa::text(
        "5214775550999",
        &format!("wamid.HBgN5214775550999{}", uuid::Uuid::new_v4().simple()),
        "Hola",
    );
    let (status, body) = wa::deliver(&http, &server.base, &secret, &message)
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.count("SELECT COUNT(*) FROM wa_inbox").await, 1);
    // Complaints are still taken (per-instance limit meanwhile).
    let (status, body) = post_json(
        &http,
        &server.url("/api/v1/complaints"),
        &anonymous_complaint(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let ready = readyz(&http, &server).await;
    assert_eq!(ready["status"], "degraded", "{ready}");
    assert_eq!(ready["rate_limits"]["state"], "unreachable", "{ready}");
    assert_eq!(ready["rate_limits"]["degraded"], true, "{ready}");
    assert!(
        ready["rate_limits"]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("failing closed for login and receipt look-ups")),
        "{ready}"
    );

    proxy.restore();
    eventually(15, "the limits are back on Redis", || async {
        let ready = readyz(&http, &server).await;
        (ready["rate_limits"]["state"] == "ok" && ready["status"] == "ready")
            .then_some(())
            .ok_or_else(|| ready.to_string())
    })
    .await;
    // The budget is the one Redis kept from before the cut: one look-up left of two.
    assert_eq!(look_up(&http, &server).await.0, 404);
    let (status, body) = look_up(&http, &server).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");

    // The log says each change once, never per request.
    let logs = server.logs();
    assert_eq!(logs.matches("Redis unreachable").count(), 1, "{logs}");
    assert_eq!(logs.matches("Redis reachable again").count(), 1, "{logs}");
}

#[tokio::test]
async fn redis_holds_no_address_phone_or_email() {
    const IP: &str = "198.51.100.73";
    const WA_ID: &str = "5214779871234";
    const PHONE: &str = "+52 477 987 1234";
    const EMAIL: &str = "remitente.redis@example.org";
    const STAFF: &str = "ana.redis@stps.example";
    let mut conn = redis_connection().await;
    let stub = GraphStub::start().await;
    let sink = SmtpSink::start().await;
    let secret = format!("appsecret-{}", uuid::Uuid::new_v4().simple());
    let options = mail::options(
        wa::options(Options::default(), &stub, &secret, "verify-redis"),
        &sink,
    )
    .env("BUZON_REDIS_URL", REDIS_URL)
    .env("BUZON_TRUSTED_PROXIES", "127.0.0.1")
    // Slow rates: every key lives long enough (a minute) to be looked at.
    .env("BUZON_WEBHOOK_PER_MINUTE", "1")
    .env("BUZON_WHATSAPP_SENDER_PER_MINUTE", "1")
    .env("BUZON_SMTP_IP_PER_MINUTE", "1")
    .env("BUZON_SMTP_SENDER_PER_MINUTE", "1");
    let server = TestServer::spawn_with(Backend::Sqlite, options).await;
    let keys = keys_of(&server);
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-forwarded-for", IP.parse().unwrap());
    buzon::install_crypto_provider();
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap();

    let (status, body) = post_json(
        &http,
        &server.url("/api/v1/complaints"),
        &complaint("Rosalba Redis Quiroga", PHONE, EMAIL, "Nos despidieron."),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(look_up(&http, &server).await.0, 404);
    let page = get_text(&http, &server.url("/triage/login")).await;
    let res = http
        .post(server.url("/triage/login"))
        .form(&[
            ("csrf", csrf_token(&page).as_str()),
            ("email", STAFF),
            ("password", "not the password at all"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    let message = wa::text(
        WA_ID,
        &format!("wamid.HBgN{WA_ID}{}", uuid::Uuid::new_v4().simple()),
        "Hola",
    );
    let (status, _) = wa::deliver(&http, &server.base, &secret, &message)
        .await
        .unwrap();
    assert_eq!(status, 200);
    mail::submit(
        server.smtp.expect("SMTP listener"),
        mail::complaint(
            EMAIL,
            &format!("{}@example.org", uuid::Uuid::new_v4()),
            "Hola",
        ),
    )
    .await
    .unwrap();

    // Each limiter keeps its state in Redis, under an HMAC of what it keys on.
    let index = &keys.blind_index;
    let staff_key = buzon::staff::email_key(&keys, STAFF);
    let sender = buzon::channels::whatsapp::sender_key(&keys, WA_ID);
    let mail_sender = buzon::channels::email::sender_key(&keys, EMAIL);
    let expected = [
        redis_key(index, "intake", IP.as_bytes()),
        redis_key(index, "status", IP.as_bytes()),
        redis_key(index, "login", IP.as_bytes()),
        redis_key(index, "webhook", IP.as_bytes()),
        redis_key(index, "login_account", &staff_key),
        redis_key(index, "whatsapp_sender", &sender),
        redis_key(index, "smtp_sender", &mail_sender),
        redis_key(index, "smtp_ip", b"127.0.0.1"),
    ];
    for key in &expected {
        let mut c = conn.clone();
        eventually(10, &format!("{key} in Redis"), || {
            let key = key.clone();
            let mut c = c.clone();
            async move { pttl(&mut c, &key).await.ok_or_else(|| "absent".to_owned()) }
        })
        .await;
        let _ = pttl(&mut c, key).await;
    }

    // Nothing personal in any key or value of the limits (this run's or others').
    let mut places = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg("buzon:rl:*")
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await
            .unwrap();
        for key in batch {
            let value: Option<Vec<u8>> = redis::cmd("GET")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .unwrap();
            places.push((format!("Redis key {key}"), key.clone().into_bytes()));
            places.push((format!("Redis value of {key}"), value.unwrap_or_default()));
        }
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    assert!(places.len() >= expected.len() * 2, "the scan saw the keys");
    let digits = PHONE.replace([' ', '+'], "");
    assert_none_in(
        &places,
        &[
            IP,
            "198.51.100",
            WA_ID,
            &digits,
            "4779871234",
            EMAIL,
            STAFF,
            "127.0.0.1",
        ],
    );
}

/// A Redis that refuses the URL's password: the server still starts (the limits
/// degraded, as `/readyz` says), and the password is in no log or answer.
#[tokio::test]
async fn the_redis_password_is_never_logged() {
    redis_connection().await;
    const PASSWORD: &str = "pw-never-logged-5521";
    let url = format!("redis://:{PASSWORD}@127.0.0.1:6379");
    let server = TestServer::spawn_with(
        Backend::Sqlite,
        Options::default().env("BUZON_REDIS_URL", &url),
    )
    .await;
    let http = client();
    let ready = readyz(&http, &server).await;
    assert_eq!(ready["rate_limits"]["state"], "unreachable", "{ready}");
    assert!(!ready.to_string().contains(PASSWORD));
    let (status, body) = look_up(&http, &server).await;
    assert_eq!(status, 503, "{body}");
    let logs = server.logs();
    assert!(
        logs.contains("redis=redis://:***@127.0.0.1:6379"),
        "the redacted URL is logged: {logs}"
    );
    assert!(!logs.contains(PASSWORD), "{logs}");
}
