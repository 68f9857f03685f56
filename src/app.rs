//! Application assembly: start-up checks, the router and its middleware, serving
//! with graceful shutdown.

use crate::advocacy as adv;
use crate::channels::email::{self, Email};
use crate::channels::whatsapp::{self, WhatsApp};
use crate::channels::{api, web};
use crate::config::Settings;
use crate::crypto::KeyRing;
use crate::crypto::keyring::KeySource;
use crate::crypto::receipt::ReceiptHasher;
use crate::error::ErrorCode;
use crate::intake::Intake;
use crate::ratelimit::{self, Limiters};
use crate::routing::{Directory, Rules};
use crate::triage::{api as tapi, console};
use anyhow::Context;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sea_orm::DatabaseConnection;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

#[derive(Clone)]
pub struct AppState {
    pub intake: Intake,
    pub rules: Arc<Rules>,
    pub directory: Arc<Directory>,
    pub keys: Arc<KeyRing>,
    pub settings: Arc<Settings>,
    pub limiters: Arc<Limiters>,
    /// `None` while the WhatsApp channel is not configured.
    pub whatsapp: Option<Arc<WhatsApp>>,
    /// `None` while the e-mail channel is not configured.
    pub email: Option<Arc<Email>>,
}

/// A built application: keys loaded, database migrated, socket bound.
pub struct Application {
    listener: TcpListener,
    /// The inbound SMTP listener, bound at build time so a taken port fails the start.
    smtp: Option<(TcpListener, Arc<email::smtp::Listener>)>,
    state: AppState,
}

impl Application {
    /// Everything that can fail at start fails here, with a message that says what
    /// to do: data directory, key file, database, migrations, key check, socket.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        create_private_dir(&settings.data_dir).with_context(|| {
            format!(
                "cannot create data directory {} (set BUZON_DATA_DIR)",
                settings.data_dir.display()
            )
        })?;
        let db = crate::db::connect(&settings.database_url, settings.db_max_connections)
            .await
            .with_context(|| format!("database {}", settings.database_url_redacted()))?;
        crate::db::migrate(&db).await?;
        // A database that already holds data never gets a fresh key file: that would
        // make everything in it unreadable. Only a new database may create one.
        if !settings.keys_file.exists() && crate::db::recorded_key_check(&db).await?.is_some() {
            anyhow::bail!(
                "key file {} is missing, but this database was created with one: restore it \
                 from your backup (or set BUZON_KEYS_FILE to where it is)",
                settings.keys_file.display()
            );
        }
        let (keys, source) = KeyRing::load_or_create(&settings.keys_file)?;
        if source == KeySource::Created {
            tracing::warn!(
                path = %settings.keys_file.display(),
                "NEW KEY FILE CREATED. Back it up now, separately from the database: \
                 without it no complaint stored from now on can ever be decrypted"
            );
        }
        crate::db::check_keys(&db, &keys).await?;
        let rules = Rules::load(settings.routing_rules.as_deref())?;
        tracing::info!(version = %rules.version, "routing rules loaded");
        let directory = crate::db::load_directory(&db).await?;
        let backfilled = crate::triage::cases::backfill(&db).await?;
        if backfilled > 0 {
            tracing::info!(
                cases = backfilled,
                "queue priority and referrals added to older cases"
            );
        }
        if settings.staff_cookies_secure() && !settings.secure_cookies {
            tracing::warn!(
                "secure_cookies is off on a non-loopback address: the triage console's cookies \
                 stay Secure anyway, so it works only over HTTPS"
            );
        }
        let hasher = ReceiptHasher::new(settings.hash_cost)?;
        let listener = TcpListener::bind(settings.http_addr)
            .await
            .with_context(|| {
                format!(
                    "cannot listen on {} (set BUZON_HTTP_ADDR)",
                    settings.http_addr
                )
            })?;
        let keys = Arc::new(keys);
        let rules = Arc::new(rules);
        let whatsapp = match &settings.whatsapp {
            Some(wa) => {
                tracing::info!(api = %wa.api_base, version = %wa.api_version, "WhatsApp channel on");
                Some(Arc::new(WhatsApp::new(wa.clone())?))
            }
            None => None,
        };
        let email = settings.email.clone().map(|e| Arc::new(Email::new(e)));
        let smtp = match (&email, settings.email.as_ref().and_then(|e| e.smtp_addr)) {
            (Some(email), Some(addr)) => {
                let socket = TcpListener::bind(addr).await.with_context(|| {
                    format!("cannot listen for SMTP on {addr} (set BUZON_SMTP_ADDR)")
                })?;
                let listener =
                    email::smtp::Listener::new(Arc::clone(email), db.clone(), Arc::clone(&keys))?;
                Some((socket, Arc::new(listener)))
            }
            _ => None,
        };
        let state = AppState {
            intake: Intake::new(db, Arc::clone(&keys), Arc::new(hasher), Arc::clone(&rules)),
            rules,
            directory: Arc::new(directory),
            keys,
            limiters: Arc::new(Limiters::new(&settings)),
            settings: Arc::new(settings),
            whatsapp,
            email,
        };
        Ok(Self {
            listener,
            smtp,
            state,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Where the SMTP listener took mail, when it is on.
    pub fn smtp_addr(&self) -> Option<SocketAddr> {
        self.smtp.as_ref().and_then(|(l, _)| l.local_addr().ok())
    }

    pub fn router(&self) -> Router {
        router(self.state.clone())
    }

    pub fn db(&self) -> &DatabaseConnection {
        self.state.intake.db()
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let addr = self.local_addr()?;
        if let Some(smtp) = self.smtp_addr() {
            // Before "listening": whoever waits for that line finds this one too.
            tracing::info!(addr = %smtp, "SMTP listener on");
        }
        tracing::info!(
            %addr,
            database = %self.state.settings.database_url_redacted(),
            receipt_hash = %self.state.settings.hash_cost,
            "listening"
        );
        let limiters = Arc::clone(&self.state.limiters);
        let sweep_state = self.state.clone();
        let sweeper = tokio::spawn(async move {
            let mut tick = tokio::time::interval(sweep_state.settings.ratelimit_sweep);
            loop {
                tick.tick().await;
                limiters.forget_idle();
                // Abandoned console sessions would otherwise stay until used again.
                if let Err(e) = crate::triage::session::sweep(&sweep_state).await {
                    tracing::warn!(error = %format!("{e:#}"), "cannot sweep staff sessions");
                }
            }
        });
        // Background work resumes from the database: whatever was stored before a
        // restart is picked up here.
        let mut workers = match &self.state.whatsapp {
            Some(wa) => whatsapp::worker::spawn(&self.state, wa),
            None => Vec::new(),
        };
        if let Some(retention) = self.state.settings.retention {
            workers.push(tokio::spawn(crate::retention::run_schedule(
                self.state.intake.db().clone(),
                Arc::clone(&self.state.keys),
                retention,
                self.state.settings.purge_interval,
            )));
        }
        if let Some(mail) = &self.state.email {
            workers.extend(email::worker::spawn(&self.state, mail)?);
        }
        let (stop_smtp, smtp_stopped) = tokio::sync::watch::channel(false);
        let smtp = self
            .smtp
            .map(|(socket, listener)| tokio::spawn(listener.serve(socket, smtp_stopped)));
        let app = router(self.state.clone()).into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .context("server failed");
        // SMTP sessions waiting for a command are told 421; one in DATA finishes.
        let _ = stop_smtp.send(true);
        if let Some(smtp) = smtp {
            let _ = smtp.await;
        }
        sweeper.abort();
        for worker in workers {
            worker.abort();
        }
        self.state.intake.db().clone().close().await.ok();
        tracing::info!("stopped");
        served
    }
}

/// Creates the data directory readable by its owner only; an existing directory
/// keeps the permissions its operator gave it.
pub fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Every route and its middleware.
pub fn router(state: AppState) -> Router {
    let max_body = BodyCaps {
        people: state.settings.max_body_bytes,
        webhook: state.settings.webhook_max_body_bytes,
        email: state.settings.email.as_ref().map_or(0, |e| e.max_bytes),
    };
    // Evidence uploads stream through multer, which keeps to this cap too.
    let evidence_limit = axum::extract::DefaultBodyLimit::max(
        crate::advocacy::rrm::evidence_body_cap(state.settings.max_body_bytes),
    );
    Router::new()
        .route("/", get(web::show_form))
        .route("/complaints", post(web::submit).get(web::show_form))
        .route("/status", get(web::show_status).post(web::lookup_status))
        .route("/status/messages", post(web::add_message).get(web::show_status))
        .route("/receipt", post(web::show_receipt).get(web::show_status))
        .route("/static/buzon.css", get(web::stylesheet))
        .route("/api/v1/complaints", post(api::create_complaint))
        .route("/api/v1/status", post(api::case_status))
        .route("/api/v1/status/messages", post(api::add_message))
        .route("/api/v1/route", post(api::dry_run))
        .route("/api/v1/openapi.json", get(api::openapi))
        .route("/api/v1/cases", get(tapi::list))
        .route("/api/v1/cases/{case_ref}", get(tapi::show))
        .route("/api/v1/cases/{case_ref}/reveal", post(tapi::reveal))
        .route("/api/v1/cases/{case_ref}/status", post(tapi::status))
        .route("/api/v1/cases/{case_ref}/notes", post(tapi::note))
        .route("/api/v1/cases/{case_ref}/questions", post(tapi::question))
        .route("/api/v1/cases/{case_ref}/assign", post(tapi::assign))
        .route("/api/v1/cases/{case_ref}/referrals", post(tapi::refer))
        .route("/api/v1/cases/{case_ref}/duplicate", post(tapi::duplicate))
        .route("/api/v1/cases/{case_ref}/facts", post(tapi::facts))
        .route("/api/v1/cases/{case_ref}/attachments/{id}", post(tapi::attachment))
        .route("/api/v1/cases/{case_ref}/messages", post(adv::api::message))
        .route(
            "/api/v1/cases/{case_ref}/rrm",
            get(adv::api::show_rrm).put(adv::api::save_rrm),
        )
        .route(
            "/api/v1/cases/{case_ref}/rrm/evidence",
            post(adv::api::add_evidence).layer(evidence_limit),
        )
        .route(
            "/api/v1/cases/{case_ref}/rrm/evidence/{id}",
            get(adv::api::evidence_file),
        )
        .route("/api/v1/cases/{case_ref}/rrm/petition", post(adv::api::petition))
        .route("/api/v1/cases/{case_ref}/rrm/filed", post(adv::api::filed))
        .route("/org", get(adv::console::cases_page))
        .route("/org/file", get(adv::console::show_file).post(adv::console::file))
        .route("/org/cases/{case_ref}", get(adv::console::show_case))
        .route("/org/cases/{case_ref}/messages", post(adv::console::message))
        .route("/org/cases/{case_ref}/reveal", post(adv::console::reveal))
        .route(
            "/org/cases/{case_ref}/rrm",
            get(adv::console::show_rrm).post(adv::console::save_rrm),
        )
        .route(
            "/org/cases/{case_ref}/rrm/evidence",
            post(adv::console::evidence).layer(evidence_limit),
        )
        .route(
            "/org/cases/{case_ref}/rrm/evidence/{id}",
            get(adv::console::evidence_file),
        )
        .route("/org/cases/{case_ref}/rrm/petition", post(adv::console::petition))
        .route("/org/cases/{case_ref}/rrm/filed", post(adv::console::filed))
        .route("/api/v1/audit", get(tapi::audit_log))
        .route("/api/v1/stats", get(tapi::stats))
        .route("/triage", get(console::queue))
        .route("/triage/login", get(console::show_login).post(console::login))
        .route("/triage/totp", get(console::show_totp).post(console::totp))
        .route("/triage/enroll", get(console::show_enroll).post(console::enroll))
        .route("/triage/logout", post(console::logout))
        .route("/triage/logout-everywhere", post(console::logout_everywhere))
        .route("/triage/cases/{case_ref}", get(console::show_case))
        .route("/triage/cases/{case_ref}/reveal", post(console::reveal))
        .route("/triage/cases/{case_ref}/status", post(console::set_status))
        .route("/triage/cases/{case_ref}/notes", post(console::add_note))
        .route("/triage/cases/{case_ref}/questions", post(console::ask))
        .route("/triage/cases/{case_ref}/assign", post(console::assign))
        .route("/triage/cases/{case_ref}/referrals", post(console::refer))
        .route("/triage/cases/{case_ref}/duplicate", post(console::duplicate))
        .route("/triage/cases/{case_ref}/facts", post(console::facts))
        .route("/triage/cases/{case_ref}/attachments/{id}", post(console::attachment))
        .route("/triage/audit", get(console::audit_log))
        .route("/triage/stats", get(console::stats))
        .route("/triage/staff", get(console::staff_list))
        .route("/triage/staff/{id}/{action}", post(console::staff_change))
        .route(
            "/webhooks/whatsapp",
            get(whatsapp::verify).post(whatsapp::receive),
        )
        .route("/webhooks/email", post(email::receive))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(crate::metrics::render))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(max_body, refuse_oversized))
        // Counted before anything else refuses, so oversized floods are limited too.
        .layer(middleware::from_fn_with_state(Arc::clone(&state.limiters), ratelimit::limit))
        .layer(middleware::from_fn_with_state(state.settings.request_timeout, time_limit))
        .layer(middleware::from_fn(security_headers))
        .layer(
            // Method and path only: never the query string, headers or client address.
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
                })
                .on_request(())
                .on_response(|res: &Response, latency: std::time::Duration, _: &tracing::Span| {
                    tracing::info!(status = res.status().as_u16(), ms = latency.as_millis() as u64, "response");
                }),
        )
        // Outermost: every answer is counted, refusals by the layers above included.
        .layer(middleware::from_fn(crate::metrics::track))
        .with_state(state)
}

/// Headers every response carries unless its handler set them: no script may run,
/// nothing is framed, referrers and caches keep nothing (the stylesheet alone opts
/// into caching).
async fn security_headers(request: Request, next: Next) -> Response {
    const HEADERS: [(&str, &str); 6] = [
        (
            "content-security-policy",
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cache-control", "no-store"),
        (
            "permissions-policy",
            "camera=(), microphone=(), geolocation=(), interest-cohort=()",
        ),
    ];
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in HEADERS {
        if !headers.contains_key(name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}

/// Refuses a body whose declared length is over the cap (webhooks have their own)
/// before reading any of it. (Bodies without a length are cut off at the cap while
/// being read.)
async fn refuse_oversized(State(caps): State<BodyCaps>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let max =
        if path == "/api/v1/complaints" && request.headers().contains_key(header::AUTHORIZATION) {
            // Advocates' filings (a group's members); the token is checked by the handler.
            caps.people * crate::channels::api::FILING_BODY_FACTOR
        } else if path.ends_with("/rrm/evidence") {
            crate::advocacy::rrm::evidence_body_cap(caps.people)
        } else if path == "/webhooks/email" {
            caps.email.max(caps.webhook)
        } else if path.starts_with("/webhooks/") {
            caps.webhook
        } else {
            caps.people
        };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max as u64) {
        // The body stays unread, so the connection can't carry another request:
        // say so, or a client may reuse it and lose its next request.
        let mut response = refuse(&request, ErrorCode::PayloadTooLarge);
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return response;
    }
    next.run(request).await
}

fn refuse(request: &Request, code: ErrorCode) -> Response {
    let lang = web::negotiate_language(request.headers(), request.uri().query());
    crate::channels::refusal(request.uri().path(), lang, code, None)
}

/// Body size caps: people's requests, Meta's webhook deliveries, raw e-mail.
#[derive(Clone, Copy)]
struct BodyCaps {
    people: usize,
    webhook: usize,
    email: usize,
}

/// Answers `request_timeout` when a request takes longer than the configured limit.
async fn time_limit(
    State(limit): State<std::time::Duration>,
    request: Request,
    next: Next,
) -> Response {
    // Kept for the refusal: the request itself moves into the handler.
    let uri = request.uri().clone();
    let lang = web::negotiate_language(request.headers(), uri.query());
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!("request timed out");
            crate::channels::refusal(uri.path(), lang, ErrorCode::RequestTimeout, None)
        }
    }
}

async fn not_found(request: Request) -> Response {
    refuse(&request, ErrorCode::NotFound)
}

async fn method_not_allowed(request: Request) -> Response {
    refuse(&request, ErrorCode::MethodNotAllowed)
}

/// Ready while the database answers; the body tells what waits in the queues
/// (dead-lettered outbox messages need an operator).
async fn readyz(State(state): State<AppState>) -> Response {
    let db = state.intake.db();
    if let Err(e) = db.ping().await {
        tracing::warn!(error = %e, "database not reachable");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "unavailable", "database": "unreachable"})),
        )
            .into_response();
    }
    let outbox = crate::outbox::health(db).await.ok();
    let inbox = whatsapp_inbox_health(db).await.ok();
    let mail = match &state.email {
        Some(_) => email::worker::health(db).await.ok(),
        None => None,
    };
    if outbox.as_ref().is_some_and(|o| o.dead > 0) {
        tracing::warn!(
            dead = outbox.as_ref().map_or(0, |o| o.dead),
            "outbox holds dead-lettered messages"
        );
    }
    axum::Json(serde_json::json!({
        "status": "ready",
        "outbox": outbox,
        "whatsapp": state.whatsapp.as_ref().map(|_| inbox),
        "email": mail,
    }))
    .into_response()
}

async fn whatsapp_inbox_health(db: &DatabaseConnection) -> anyhow::Result<serde_json::Value> {
    use entity::wa_inbox;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let count = |state: &'static str| {
        wa_inbox::Entity::find()
            .filter(wa_inbox::Column::State.eq(state))
            .count(db)
    };
    let attachments_failed = entity::attachment::Entity::find()
        .filter(entity::attachment::Column::State.is_in([whatsapp::FAILED, "rejected"]))
        .filter(entity::attachment::Column::Channel.eq(whatsapp::worker::CHANNEL))
        .count(db)
        .await?;
    Ok(serde_json::json!({
        "inbox_pending": count(whatsapp::PENDING).await?,
        "inbox_failed": count(whatsapp::FAILED).await?,
        "attachments_failed": attachments_failed,
    }))
}
