//! The servers each row drives: a bare axum handler, a bare database insert behind
//! axum, Buzón itself, and the Graph API stand-in its WhatsApp channel talks to.

use super::*;

pub(super) async fn bare_axum() -> SocketAddr {
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
pub(super) async fn bare_insert(database_url: &str, pool: u32) -> SocketAddr {
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

pub(super) async fn buzon(
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
        media_hosts: Vec::new(),
        sender_limit: lifted,
        timeout: Duration::from_secs(5),
        template: buzon::config::WhatsAppTemplate {
            name: "buzon_mensaje_nuevo".into(),
            language_es: "es_MX".into(),
            language_en: "en".into(),
        },
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
        authserv_id: None,
        sender_limit: lifted,
        ip_limit: lifted,
        max_connections: 100,
        max_connections_per_ip: 100,
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
pub(super) async fn pending_inbox(url: &str, table: &str) -> i64 {
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
pub(super) async fn graph_stand_in() -> SocketAddr {
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
pub(super) async fn advocate(settings: &Settings) -> String {
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
pub(super) async fn advocate_rows(
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
