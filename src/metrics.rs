//! `/metrics` in the Prometheus text format (`prometheus-client`, the Prometheus
//! project's own Rust client): requests by route and status, complaints filed by
//! channel, rate-limit rejections by bucket, outbox send failures and dead letters,
//! and, read from the database at each scrape, the outbox's and inboxes' backlog and
//! how long the oldest pending inbox row has waited.
//!
//! No label carries personal data or anything a sender chose: routes are the
//! router's templates (`/api/v1/cases/{case_ref}`, never the reference), paths
//! that match no route are `unmatched`, methods outside the standard few `other`.
//! The counters live in the process (a restart starts them at zero, as Prometheus
//! expects); the backlog comes from the database, so every instance reports the
//! shared queue.

use crate::app::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
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
pub struct InboxLabels {
    pub inbox: &'static str,
}

pub struct Metrics {
    registry: Registry,
    pub http: Family<HttpLabels, Counter>,
    pub filed: Family<ChannelLabels, Counter>,
    pub rate_limited: Family<BucketLabels, Counter>,
    pub outbox_failures: Family<ChannelLabels, Counter>,
    pub outbox_dead_letters: Family<ChannelLabels, Counter>,
    backlog: Family<QueueLabels, Gauge>,
    lag: Family<InboxLabels, Gauge>,
    limiter_clients: Family<BucketLabels, Gauge>,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("buzon");
    let m = Metrics {
        http: Family::default(),
        filed: Family::default(),
        rate_limited: Family::default(),
        outbox_failures: Family::default(),
        outbox_dead_letters: Family::default(),
        backlog: Family::default(),
        lag: Family::default(),
        limiter_clients: Family::default(),
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
        "backlog_rows",
        "Rows waiting in the outbox and the inboxes, by queue and state (from the database)",
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

fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// Counts every answered request by its route template (middleware).
pub async fn track(request: Request, next: Next) -> Response {
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    get()
        .http
        .get_or_create(&HttpLabels {
            method,
            route,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

async fn count(state: &AppState, table: &str, row_state: &str) -> anyhow::Result<i64> {
    let row = crate::db::row(
        state.intake.db(),
        &format!("SELECT COUNT(*) FROM {table} WHERE state = $1"),
        vec![row_state.into()],
    )
    .await?;
    Ok(row.map(|r| r.try_get_by_index(0)).transpose()?.unwrap_or(0))
}

async fn oldest(state: &AppState, table: &str) -> anyhow::Result<i64> {
    let row = crate::db::row(
        state.intake.db(),
        &format!(
            "SELECT received_at FROM {table} WHERE state = 'pending' ORDER BY received_at LIMIT 1"
        ),
        vec![],
    )
    .await?;
    let at: Option<DateTime<Utc>> = row.map(|r| r.try_get_by_index(0)).transpose()?;
    Ok(at.map_or(0, |t| (Utc::now() - t).num_seconds().max(0)))
}

/// Reads the backlog from the database into the gauges.
async fn refresh(state: &AppState) -> anyhow::Result<()> {
    let m = get();
    let queues: [(&'static str, &str, &[&'static str]); 3] = [
        ("outbox", "outbox", &["pending", "dead"]),
        ("whatsapp_inbox", "wa_inbox", &["pending", "failed"]),
        ("email_inbox", "email_inbox", &["pending", "held"]),
    ];
    for (queue, table, states) in queues {
        for s in states {
            let n = count(state, table, s).await?;
            m.backlog
                .get_or_create(&QueueLabels { queue, state: s })
                .set(n);
        }
    }
    for (inbox, table) in [("whatsapp", "wa_inbox"), ("email", "email_inbox")] {
        let age = oldest(state, table).await?;
        m.lag.get_or_create(&InboxLabels { inbox }).set(age);
    }
    Ok(())
}

/// `GET /metrics`. The backlog gauges need the database; when it is unreachable the
/// counters are still served (the backlog keeps its last values) and the failure
/// is logged: `/readyz` is what says the database is down.
pub async fn render(State(state): State<AppState>) -> Response {
    for (bucket, n) in state.limiters.clients() {
        get()
            .limiter_clients
            .get_or_create(&BucketLabels { bucket })
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }
    if let Err(e) = refresh(&state).await {
        tracing::warn!(error = %format!("{e:#}"), "metrics: cannot read the backlog");
    }
    let mut text = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &get().registry) {
        return crate::error::ApiError::internal(
            &anyhow::Error::new(e),
            crate::domain::Language::En,
        )
        .into_response();
    }
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}
