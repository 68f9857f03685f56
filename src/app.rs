//! Start-up, the composition root: checks the data directory, keys and database,
//! builds the services and channels, hands them to the HTTP layer's router and the
//! channels' workers, and serves with graceful shutdown.

use crate::channels::email::{self, Email};
use crate::channels::whatsapp::{self, WhatsApp};
use crate::config::Settings;
use crate::crypto::KeyRing;
use crate::crypto::keyring::KeySource;
use crate::crypto::receipt::ReceiptHasher;
use crate::http::{AppState, Services, router};
use crate::intake::Intake;
use crate::notify::{NoticeChannel, Notifier};
use crate::ratelimit::Limiters;
use crate::ratelimit::redis::Shared;
use crate::routing::Rules;
use anyhow::Context;
use axum::Router;
use sea_orm::DatabaseConnection;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

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
        if crate::clock::is_test_clock() {
            tracing::warn!(
                "{} is set: deferred filing and the indicators follow a clock a file moves; for tests only",
                crate::clock::TEST_CLOCK_FILE
            );
        }
        if crate::fault::is_armed() {
            tracing::warn!(
                "{} is set: a stored message carrying its marker aborts the process; for tests only",
                crate::fault::TEST_ABORT_ON
            );
        }
        create_private_dir(&settings.data_dir)?;
        let pools = crate::db::Pools::connect(&settings.database_url, settings.db_max_connections)
            .await
            .with_context(|| format!("database {}", settings.database_url_redacted()))?;
        let db = pools.write.clone();
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
        let sealed = crate::intake::attachment_meta::backfill(&db, &keys).await?;
        if sealed != Default::default() {
            tracing::info!(
                attachments = sealed.attachments,
                evidence = sealed.evidence,
                padded = sealed.padded,
                "attachment digests, references and sizes of older rows encrypted"
            );
        }
        let backfilled = crate::triage::backfill(&db).await?;
        if backfilled > 0 {
            tracing::info!(
                cases = backfilled,
                "queue priority and referrals added to older cases"
            );
        }
        if settings.metrics_token.is_none() {
            tracing::warn!(
                "BUZON_METRICS_TOKEN is not set: /metrics answers anyone who can reach it; \
                 set a token of 16 characters or more, or keep /metrics off the public network"
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
        let shared_limits = match (&settings.redis_url, settings.redis_url_redacted()) {
            (Some(url), Some(redacted)) => {
                Some(Shared::connect(url.expose(), &redacted, Arc::clone(&keys)).await?)
            }
            _ => None,
        };
        let whatsapp = match &settings.whatsapp {
            Some(wa) => {
                tracing::info!(api = %wa.api_base, version = %wa.api_version, "WhatsApp channel on");
                Some(Arc::new(WhatsApp::new(wa.clone(), shared_limits.clone())?))
            }
            None => None,
        };
        let email = settings
            .email
            .clone()
            .map(|e| Arc::new(Email::new(e, shared_limits.clone())));
        // Webhook deliveries and SMTP messages, committed in groups (db::group).
        let deliveries =
            crate::db::group::GroupCommit::for_writer(db.clone(), settings.db_max_connections);
        let smtp = match (&email, settings.email.as_ref().and_then(|e| e.smtp_addr)) {
            (Some(email), Some(addr)) => {
                let socket = TcpListener::bind(addr).await.with_context(|| {
                    format!("cannot listen for SMTP on {addr} (set BUZON_SMTP_ADDR)")
                })?;
                let listener = email::smtp::Listener::new(
                    Arc::clone(email),
                    deliveries.clone(),
                    Arc::clone(&keys),
                )?;
                Some((socket, Arc::new(listener)))
            }
            _ => None,
        };
        let mut notices: Vec<Arc<dyn NoticeChannel>> = Vec::new();
        if let Some(wa) = &whatsapp {
            notices.push(Arc::clone(wa) as Arc<dyn NoticeChannel>);
        }
        if let Some(mail) = &email {
            notices.push(Arc::clone(mail) as Arc<dyn NoticeChannel>);
        }
        let state = AppState::from(Services {
            intake: Intake::new(
                pools,
                Arc::clone(&keys),
                Arc::new(hasher),
                Arc::clone(&rules),
            )?,
            rules,
            directory: Arc::new(directory),
            keys,
            limiters: Arc::new(Limiters::with_store(&settings, shared_limits)),
            settings: Arc::new(settings),
            whatsapp,
            email,
            notifier: Notifier::new(notices),
            deliveries,
            indicators: Arc::default(),
        });
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
        // The connection caps, fitted under the open-file limit (logged).
        let settings = &self.state.settings;
        let mut conn = settings.connections;
        conn.max = crate::net::files::http_cap(conn.max, reserved_files(settings));
        let limits = crate::http::serve::Limits {
            conn,
            trusted_proxies: settings.trusted_proxies.clone(),
        };
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
                if let Err(e) = crate::http::session::sweep(&sweep_state).await {
                    tracing::warn!(error = %format!("{e:#}"), "cannot sweep staff sessions");
                }
                // Sign-in failures a day old, of every address alike.
                if let Err(e) = crate::staff::lock::sweep(sweep_state.intake.db()).await {
                    tracing::warn!(error = %format!("{e:#}"), "cannot sweep sign-in locks");
                }
            }
        });
        // Background work resumes from the database: whatever was stored before a
        // restart is picked up here.
        let mut workers = match &self.state.whatsapp {
            Some(wa) => whatsapp::worker::spawn(&self.state.channels(), wa),
            None => Vec::new(),
        };
        // The indicators' facts load now, not on the first coordinator's request (a
        // million cases take seconds; the page waits for the load if it comes first).
        let warm = self.state.clone();
        workers.push(tokio::spawn(async move {
            let started = std::time::Instant::now();
            match warm.indicators.with(warm.intake.reads(), |f| f.len()).await {
                Ok(n) => tracing::info!(cases = n, ms = started.elapsed().as_millis() as u64, "indicators loaded"),
                Err(e) => tracing::warn!(error = %format!("{e:#}"), "indicators: first load failed; the first request retries"),
            }
        }));
        if let Some(retention) = self.state.settings.retention {
            workers.push(tokio::spawn(crate::retention::run_schedule(
                self.state.intake.db().clone(),
                Arc::clone(&self.state.keys),
                retention,
                self.state.settings.purge_interval,
            )));
        }
        if let Some(mail) = &self.state.email {
            workers.extend(email::worker::spawn(&self.state.channels(), mail)?);
        }
        let (stop_smtp, smtp_stopped) = tokio::sync::watch::channel(false);
        let smtp = self
            .smtp
            .map(|(socket, listener)| tokio::spawn(listener.serve(socket, smtp_stopped)));
        crate::http::serve::serve(self.listener, router(self.state.clone()), limits, shutdown)
            .await;
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
        self.state.intake.reads().clone().close().await.ok();
        tracing::info!("stopped");
        Ok(())
    }
}

/// Open files kept for everything but HTTP connections: the base reserve, the
/// database pools (SQLite: a database, WAL and shared-memory file per connection;
/// PostgreSQL: a socket), and the SMTP sessions.
fn reserved_files(settings: &Settings) -> u64 {
    // SQLite: the reading pool and the one writer, three files each; PostgreSQL:
    // the pool and the two group committers' own connections, a socket each.
    let db = (u64::from(settings.db_max_connections) + 2) * 3;
    let smtp = settings
        .email
        .as_ref()
        .filter(|e| e.smtp_addr.is_some())
        .map_or(0, |e| u64::from(e.max_connections));
    crate::net::files::BASE_RESERVE + db + smtp
}

/// Creates the data directory readable by its owner only (0700), or refuses an
/// existing one that group or others may open ([`crate::crypto::perms`]).
pub fn create_private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    crate::crypto::perms::data_dir(dir)
}
