//! `GET /metrics` and the middleware that counts every answered request by its
//! route template (never the path a client typed).

use crate::http::AppState;
use crate::metrics;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

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
    metrics::get()
        .http
        .get_or_create(&metrics::HttpLabels {
            method,
            route,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

/// Whether the request may read `/metrics`: anyone when no `BUZON_METRICS_TOKEN` is
/// set, else only `Authorization: Bearer <token>` (compared in constant time).
fn allowed(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(token) = state.settings.metrics_token.as_ref() else {
        return true;
    };
    super::bearer_matches(headers, token)
}

/// `GET /metrics`, behind `BUZON_METRICS_TOKEN` when it is set (401 `invalid_token`
/// otherwise). The backlog gauges need the database; when it is unreachable the
/// counters are still served (the backlog keeps its last values) and the failure
/// is logged: `/readyz` is what says the database is down.
pub async fn render(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !allowed(&state, &headers) {
        let mut refused = crate::error::ApiError::new(
            crate::domain::ErrorCode::InvalidToken,
            crate::domain::Language::En,
        )
        .into_response();
        refused.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"metrics\""),
        );
        return refused;
    }
    for (bucket, n) in state.limiters.clients() {
        metrics::get()
            .limiter_clients
            .get_or_create(&metrics::BucketLabels { bucket })
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }
    if let Err(e) = metrics::refresh(state.intake.reads(), crate::outbox::MAX_OPEN_CLAIMS).await {
        tracing::warn!(error = %format!("{e:#}"), "metrics: cannot read the backlog");
    }
    let mut text = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &metrics::get().registry) {
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
