//! Middleware every request passes: security headers, body caps, time limit, and
//! the refusals for unknown paths and methods.

use super::extract::negotiate_language;
use crate::error::ErrorCode;
use crate::ratelimit::{Bucket, Denied, Limiters};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Headers every response carries unless its handler set them: no script may run,
/// nothing is framed, no referrer goes to another site, caches keep nothing (the
/// stylesheet alone opts into caching).
pub async fn security_headers(request: Request, next: Next) -> Response {
    const HEADERS: [(&str, &str); 6] = [
        (
            "content-security-policy",
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
        ("x-content-type-options", "nosniff"),
        // `same-origin`, not `no-referrer`: nothing goes to other sites either way,
        // but under `no-referrer` browsers send `Origin: null` with the pages' own
        // form posts, which the CSRF check must refuse (issue 30, finding 11).
        ("referrer-policy", "same-origin"),
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
pub async fn refuse_oversized(
    State(caps): State<BodyCaps>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let max =
        if path == "/api/v1/complaints" && request.headers().contains_key(header::AUTHORIZATION) {
            // Advocates' filings (a group's members); the token is checked by the handler.
            caps.people * crate::http::extract::FILING_BODY_FACTOR
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
        // The body is drained only up to a bound (http/linger.rs), so the connection
        // may not carry another request: say so, or a client may reuse it and lose
        // its next request.
        let mut response = refuse(&request, ErrorCode::PayloadTooLarge);
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return response;
    }
    next.run(request).await
}

fn refuse(request: &Request, code: ErrorCode) -> Response {
    let lang = negotiate_language(request.headers(), request.uri().query());
    super::refusal(request.uri().path(), lang, code, None)
}

/// Body size caps: people's requests, Meta's webhook deliveries, raw e-mail.
#[derive(Clone, Copy)]
pub struct BodyCaps {
    pub people: usize,
    pub webhook: usize,
    pub email: usize,
}

/// Answers `request_timeout` when a request takes longer than the configured limit.
pub async fn time_limit(
    State(limit): State<std::time::Duration>,
    request: Request,
    next: Next,
) -> Response {
    // Kept for the refusal: the request itself moves into the handler.
    let uri = request.uri().clone();
    let lang = negotiate_language(request.headers(), uri.query());
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!("request timed out");
            super::refusal(uri.path(), lang, ErrorCode::RequestTimeout, None)
        }
    }
}

pub async fn not_found(request: Request) -> Response {
    refuse(&request, ErrorCode::NotFound)
}

pub async fn method_not_allowed(request: Request) -> Response {
    refuse(&request, ErrorCode::MethodNotAllowed)
}

/// Middleware: counts the request against its bucket, or answers 429 with
/// `Retry-After` (503 `limits_unavailable` when the shared store is down and the
/// bucket fails closed). JSON for the API, a page for people.
pub async fn rate_limit(
    State(limiters): State<Arc<Limiters>>,
    request: Request,
    next: Next,
) -> Response {
    // Without connection info (a router driven without a socket) every request
    // shares one key: the limit still holds rather than silently switching off.
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let client = limiters.client_ip(peer, request.headers());
    let bucket = Bucket::of(request.method(), request.uri().path());
    match limiters.check(bucket, client).await {
        Ok(()) => next.run(request).await,
        Err(Denied::Wait(wait)) => {
            let secs = wait.as_secs().max(1);
            tracing::info!(bucket = ?bucket, retry_after = secs, "rate limited");
            crate::metrics::get()
                .rate_limited
                .get_or_create(&crate::metrics::BucketLabels {
                    bucket: bucket.code(),
                })
                .inc();
            let lang = negotiate_language(request.headers(), request.uri().query());
            super::refusal(
                request.uri().path(),
                lang,
                ErrorCode::RateLimited,
                Some(secs),
            )
        }
        // Redis is down and this bucket fails closed (logged once, by the store).
        Err(Denied::Unavailable) => {
            let lang = negotiate_language(request.headers(), request.uri().query());
            super::refusal(
                request.uri().path(),
                lang,
                ErrorCode::LimitsUnavailable,
                Some(LIMITS_RETRY_AFTER_SECS),
            )
        }
    }
}

/// `Retry-After` of a `limits_unavailable` refusal: the store's probe runs every second.
const LIMITS_RETRY_AFTER_SECS: u64 = 5;
