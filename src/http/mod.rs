//! The HTTP layer: the router, its middleware, the extractors every handler uses
//! (body reading, language, the staff principal), the OpenAPI document, and the
//! handlers, which turn requests into calls of the services below and their
//! results into responses. Nothing below imports this module.

pub mod api;
pub mod csrf;
pub mod extract;
pub mod health;
pub mod linger;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod org;
pub mod pages;
pub mod serve;
pub mod session;
pub mod signin;
pub mod staff_api;
pub mod state;
pub mod triage;
pub mod web;
pub mod webhooks;

pub use state::{AppState, Services};

use middleware::{
    BodyCaps, method_not_allowed, not_found, refuse_oversized, security_headers, time_limit,
};
use org::{api as org_api, console as org_pages};
use triage::{api as tapi, console, indicators};

use crate::domain::Language;
use crate::error::ErrorCode;
use axum::Router;
use axum::extract::Request;
use axum::middleware as layer;
use axum::response::{Redirect, Response};
use axum::routing::{get, post};
use std::sync::Arc;
use tower_http::trace::TraceLayer;

/// A refusal in the form its reader expects: the JSON error body under `/api/` and
/// `/webhooks/`, a page for people everywhere else; `Retry-After` when given.
pub fn refusal(
    path: &str,
    lang: Language,
    code: ErrorCode,
    retry_after: Option<u64>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if path.starts_with("/api/") || path.starts_with("/webhooks/") {
        let mut err = crate::error::ApiError::new(code, lang);
        err.retry_after = retry_after;
        err.into_response()
    } else {
        web::error_page(code, lang, retry_after)
    }
}

/// The JSON refusal a webhook sender (a provider's machine) gets.
/// Whether the request carries `Authorization: Bearer <secret>` (compared in
/// constant time): the e-mail webhook's and `/metrics`' check.
pub fn bearer_matches(headers: &axum::http::HeaderMap, secret: &crate::config::Secret) -> bool {
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    crate::crypto::ct_eq(given.trim().as_bytes(), secret.expose().as_bytes())
}

pub fn webhook_refusal(code: ErrorCode) -> axum::response::Response {
    refusal("/webhooks/", Language::En, code, None)
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
        .route("/derechos", get(web::show_rights))
        .route("/complaints", post(web::submit).get(web::show_form))
        .route("/status", get(web::show_status).post(web::lookup_status))
        .route("/status/messages", post(web::add_message).get(web::show_status))
        .route("/receipt", post(web::show_receipt).get(web::show_status))
        .route("/static/buzon.css", get(web::stylesheet))
        .route("/api/v1/complaints", post(api::create_complaint))
        .route("/api/v1/status", post(api::case_status))
        .route("/api/v1/status/messages", post(api::add_message))
        .route("/api/v1/route", post(api::dry_run))
        .route("/api/v1/openapi.json", get(openapi::openapi))
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
        .route("/api/v1/cases/{case_ref}/messages", post(org_api::message))
        .route(
            "/api/v1/cases/{case_ref}/rrm",
            get(org_api::show_rrm).put(org_api::save_rrm),
        )
        .route(
            "/api/v1/cases/{case_ref}/rrm/evidence",
            post(org_api::add_evidence).layer(evidence_limit),
        )
        .route(
            "/api/v1/cases/{case_ref}/rrm/evidence/{id}",
            get(org_api::evidence_file),
        )
        .route("/api/v1/cases/{case_ref}/rrm/petition", post(org_api::petition))
        .route("/api/v1/cases/{case_ref}/rrm/filed", post(org_api::filed))
        .route("/org", get(org_pages::cases_page))
        .route("/org/file", get(org_pages::show_file).post(org_pages::file))
        .route("/org/cases/{case_ref}", get(org_pages::show_case))
        .route("/org/cases/{case_ref}/messages", post(org_pages::message))
        .route("/org/cases/{case_ref}/reveal", post(org_pages::reveal))
        .route(
            "/org/cases/{case_ref}/rrm",
            get(org_pages::show_rrm).post(org_pages::save_rrm),
        )
        .route(
            "/org/cases/{case_ref}/rrm/evidence",
            post(org_pages::evidence).layer(evidence_limit),
        )
        .route(
            "/org/cases/{case_ref}/rrm/evidence/{id}",
            get(org_pages::evidence_file),
        )
        .route("/org/cases/{case_ref}/rrm/petition", post(org_pages::petition))
        .route("/org/cases/{case_ref}/rrm/filed", post(org_pages::filed))
        .route("/api/v1/audit", get(tapi::audit_log))
        .route("/api/v1/indicators", get(indicators::json))
        .route("/api/v1/indicators.csv", get(indicators::csv))
        // The unprotected counts that came before the indicators: gone, pointing at them.
        .route("/api/v1/stats", get(|| async { Redirect::permanent("/api/v1/indicators") }))
        .route("/triage", get(console::queue))
        .route("/triage/login", get(signin::show_login).post(signin::login))
        .route("/triage/totp", get(signin::show_totp).post(signin::totp))
        .route("/triage/enroll", get(signin::show_enroll).post(signin::enroll))
        .route("/triage/logout", post(signin::logout))
        .route("/triage/logout-everywhere", post(signin::logout_everywhere))
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
        .route("/triage/indicators", get(indicators::page))
        .route("/triage/stats", get(|| async { Redirect::permanent("/triage/indicators") }))
        .route("/triage/staff", get(console::staff_list))
        .route("/triage/staff/{id}/{action}", post(console::staff_change))
        .route(
            "/webhooks/whatsapp",
            get(webhooks::whatsapp_verify).post(webhooks::whatsapp_receive),
        )
        .route("/webhooks/email", post(webhooks::email_receive))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::render))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(layer::from_fn_with_state(max_body, refuse_oversized))
        // Counted before anything else refuses, so oversized floods are limited too.
        .layer(layer::from_fn_with_state(Arc::clone(&state.limiters), middleware::rate_limit))
        // Outside every refusal: a body refused unread is drained, so its sender
        // sees the answer instead of a reset.
        .layer(layer::from_fn(linger::linger))
        .layer(layer::from_fn_with_state(state.settings.request_timeout, time_limit))
        .layer(layer::from_fn(security_headers))
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
        .layer(layer::from_fn(metrics::track))
        .with_state(state)
}
