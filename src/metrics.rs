//! The metrics served at `/metrics` (by [`crate::http::metrics`]) in the Prometheus
//! text format (`prometheus-client`, the Prometheus project's own Rust client): requests by route and status, complaints filed by
//! channel, rate-limit rejections by bucket, outbox send failures and dead letters,
//! WhatsApp webhook items ignored on purpose, messages Meta refused and templates sent
//! for a closed 24-hour window,
//! and, read from the database at each scrape, the outbox's and inboxes' backlog and
//! how long the oldest pending inbox row has waited.
//!
//! No label carries personal data or anything a sender chose: routes are the
//! router's templates (`/api/v1/cases/{case_ref}`, never the reference), paths
//! that match no route are `unmatched`, methods outside the standard few `other`.
//! The counters live in the process (a restart starts them at zero, as Prometheus
//! expects); the backlog comes from the database, so every instance reports the
//! shared queue.

use chrono::{DateTime, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use sea_orm::DatabaseConnection;
use std::sync::LazyLock;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: &'static str,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChannelLabels {
    pub channel: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BucketLabels {
    pub bucket: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabels {
    pub queue: &'static str,
    pub state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TableLabels {
    pub table: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct InboxLabels {
    pub inbox: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConnectionLabels {
    /// `http` or `smtp`.
    pub listener: &'static str,
    /// Which cap refused it: `total` or `per_address`.
    pub cap: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IgnoredLabels {
    /// A webhook field (`account_update`, ...), a message type (`reaction`, ...),
    /// `errors`, `status_other` or `other`: from a fixed list, never a sender's word.
    pub what: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusedLabels {
    /// `window`, `template`, `unreachable`, `spam`, `account`, `rejected`.
    pub reason: &'static str,
    /// Meta's error code (one of the documented ones; 0: the wait for the worker
    /// ran out).
    pub code: i64,
}

pub struct Metrics {
    pub registry: Registry,
    pub http: Family<HttpLabels, Counter>,
    pub filed: Family<ChannelLabels, Counter>,
    pub rate_limited: Family<BucketLabels, Counter>,
    pub outbox_failures: Family<ChannelLabels, Counter>,
    pub outbox_dead_letters: Family<ChannelLabels, Counter>,
    pub set_aside: Family<TableLabels, Counter>,
    pub backlog: Family<QueueLabels, Gauge>,
    pub lag: Family<InboxLabels, Gauge>,
    pub limiter_clients: Family<BucketLabels, Gauge>,
    pub connections_refused: Family<ConnectionLabels, Counter>,
    pub http_connections: Gauge,
    pub wa_ignored: Family<IgnoredLabels, Counter>,
    pub wa_refused: Family<RefusedLabels, Counter>,
    pub wa_templates: Counter,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("buzon");
    let m = Metrics {
        http: Family::default(),
        filed: Family::default(),
        rate_limited: Family::default(),
        outbox_failures: Family::default(),
        outbox_dead_letters: Family::default(),
        set_aside: Family::default(),
        backlog: Family::default(),
        lag: Family::default(),
        limiter_clients: Family::default(),
        connections_refused: Family::default(),
        http_connections: Gauge::default(),
        wa_ignored: Family::default(),
        wa_refused: Family::default(),
        wa_templates: Counter::default(),
        registry: Registry::default(),
    };
    registry.register(
        "http_requests",
        "HTTP requests answered, by method, route template and status",
        m.http.clone(),
    );
    registry.register(
        "complaints_filed",
        "Complaints stored (committed), by channel",
        m.filed.clone(),
    );
    registry.register(
        "rate_limited",
        "Requests refused with 429 rate_limited, by bucket",
        m.rate_limited.clone(),
    );
    registry.register(
        "outbox_send_failures",
        "Outbox delivery attempts that failed (to be retried), by channel",
        m.outbox_failures.clone(),
    );
    registry.register(
        "outbox_dead_letters",
        "Outbox messages dead-lettered after their last attempt, by channel",
        m.outbox_dead_letters.clone(),
    );
    registry.register(
        "rows_set_aside",
        "Inbox, outbox and download rows set aside because their work stopped the process \
         on every claim, by table",
        m.set_aside.clone(),
    );
    registry.register(
        "backlog_rows",
        "Rows waiting in the outbox and the inboxes, by queue and state (from the database); \
         state `crashed`: set aside because their work stopped the process on every claim",
        m.backlog.clone(),
    );
    registry.register(
        "inbox_oldest_pending_seconds",
        "Age of the oldest pending inbox row (0 when none), by inbox",
        m.lag.clone(),
    );
    registry.register(
        "ratelimit_clients",
        "Clients each rate limiter remembers (bounded by its periodic sweep), by bucket",
        m.limiter_clients.clone(),
    );
    registry.register(
        "connections_refused",
        "Connections accepted and closed at once because a cap was reached, by listener \
         (http, smtp) and cap (total, per_address)",
        m.connections_refused.clone(),
    );
    registry.register(
        "http_connections_open",
        "HTTP connections open now",
        m.http_connections.clone(),
    );
    registry.register(
        "whatsapp_webhook_ignored",
        "WhatsApp webhook items acknowledged and deliberately not used, by field or message \
         type (reactions, edits, template and account updates, calls, echoes...)",
        m.wa_ignored.clone(),
    );
    registry.register(
        "whatsapp_refused",
        "WhatsApp messages Meta refused for a reason no retry fixes (not retried), by reason \
         and error code",
        m.wa_refused.clone(),
    );
    registry.register(
        "whatsapp_templates_sent",
        "Templates sent because the 24-hour window was closed (the content waits for the \
         worker to write)",
        m.wa_templates.clone(),
    );
    Metrics { registry, ..m }
});

pub fn get() -> &'static Metrics {
    &METRICS
}

/// A complaint was committed on `channel`.
pub fn filed(channel: crate::domain::Channel) {
    get()
        .filed
        .get_or_create(&ChannelLabels {
            channel: channel.code(),
        })
        .inc();
}

/// A row of `table` was set aside after its work stopped the process on every claim.
pub fn set_aside(table: &'static str) {
    get().set_aside.get_or_create(&TableLabels { table }).inc();
}

/// A connection was refused over a cap (`listener`: http or smtp; `cap`: total or
/// per_address).
pub fn connection_refused(listener: &'static str, cap: &'static str) {
    get()
        .connections_refused
        .get_or_create(&ConnectionLabels { listener, cap })
        .inc();
}

/// A WhatsApp webhook item Buzón does not use was acknowledged and ignored.
pub fn whatsapp_ignored(what: &'static str) {
    get()
        .wa_ignored
        .get_or_create(&IgnoredLabels { what })
        .inc();
}

/// Meta refused a message for a documented reason (`code` 0: the wait ran out).
pub fn whatsapp_refused(reason: &'static str, code: i64) {
    get()
        .wa_refused
        .get_or_create(&RefusedLabels { reason, code })
        .inc();
}

/// A template asked a worker to write (the 24-hour window was closed).
pub fn whatsapp_template_sent() {
    get().wa_templates.inc();
}

/// An outbox send failed; `dead`: it was the last attempt.
pub fn outbox_failure(channel: &str, dead: bool) {
    let channel = match channel {
        "whatsapp" => "whatsapp",
        "email" => "email",
        _ => "other",
    };
    let m = get();
    let family = if dead {
        &m.outbox_dead_letters
    } else {
        &m.outbox_failures
    };
    family.get_or_create(&ChannelLabels { channel }).inc();
}

async fn count(db: &DatabaseConnection, table: &str, row_state: &str) -> anyhow::Result<i64> {
    let row = crate::db::row(
        db,
        &format!("SELECT COUNT(*) FROM {table} WHERE state = $1"),
        vec![row_state.into()],
    )
    .await?;
    Ok(row.map(|r| r.try_get_by_index(0)).transpose()?.unwrap_or(0))
}

async fn oldest(db: &DatabaseConnection, table: &str) -> anyhow::Result<i64> {
    let row = crate::db::row(
        db,
        &format!(
            "SELECT received_at FROM {table} WHERE state = 'pending' ORDER BY received_at LIMIT 1"
        ),
        vec![],
    )
    .await?;
    let at: Option<DateTime<Utc>> = row.map(|r| r.try_get_by_index(0)).transpose()?;
    Ok(at.map_or(0, |t| (Utc::now() - t).num_seconds().max(0)))
}

/// Rows of `table` in `aside` that were set aside because their work stopped the
/// process on every claim (`crate::outbox::claim`: `open_claims` reached
/// `max_open_claims`).
async fn crashed(
    db: &DatabaseConnection,
    table: &str,
    aside: &str,
    max_open_claims: i32,
) -> anyhow::Result<i64> {
    let row = crate::db::row(
        db,
        &format!("SELECT COUNT(*) FROM {table} WHERE state = $1 AND open_claims >= $2"),
        vec![aside.into(), max_open_claims.into()],
    )
    .await?;
    Ok(row.map(|r| r.try_get_by_index(0)).transpose()?.unwrap_or(0))
}

/// Reads the backlog from the database into the gauges; `max_open_claims` is the
/// outbox's `MAX_OPEN_CLAIMS` (passed in: the outbox counts into these metrics).
pub async fn refresh(db: &DatabaseConnection, max_open_claims: i32) -> anyhow::Result<()> {
    let m = get();
    let queues: [(&'static str, &str, &[&'static str]); 3] = [
        ("outbox", "outbox", &["pending", "dead"]),
        ("whatsapp_inbox", "wa_inbox", &["pending", "failed"]),
        ("email_inbox", "email_inbox", &["pending", "held"]),
    ];
    for (queue, table, states) in queues {
        for s in states {
            let n = count(db, table, s).await?;
            m.backlog
                .get_or_create(&QueueLabels { queue, state: s })
                .set(n);
        }
    }
    let aside = [
        ("outbox", "outbox", "dead"),
        ("whatsapp_inbox", "wa_inbox", "failed"),
        ("email_inbox", "email_inbox", "held"),
        ("evidence_downloads", "attachments", "failed"),
    ];
    for (queue, table, state) in aside {
        let n = crashed(db, table, state, max_open_claims).await?;
        m.backlog
            .get_or_create(&QueueLabels {
                queue,
                state: "crashed",
            })
            .set(n);
    }
    for (inbox, table) in [("whatsapp", "wa_inbox"), ("email", "email_inbox")] {
        let age = oldest(db, table).await?;
        m.lag.get_or_create(&InboxLabels { inbox }).set(age);
    }
    Ok(())
}
