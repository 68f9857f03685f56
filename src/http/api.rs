//! The JSON intake (`/api/v1/complaints`, `/status`, `/status/messages`, `/route`):
//! bodies read and checked here, turned into drafts by [`crate::channels::api`],
//! filed by the intake.

use crate::channels::api::{
    CaseStatusResponse, ComplaintCreated, ComplaintRequest, MessageRequest, RoutingOut,
    StatusRequest, body_language, hypothetical, own_complaint, parse_receipt, receipt_error,
};
use crate::domain::{Text, limits};
use crate::error::{ApiError, ErrorBody};
use crate::http::AppState;
use crate::http::extract::{header_language, read_json};
use crate::routing::CaseFacts;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// File a complaint. Without credentials, a worker files for themself. With an
/// advocate's bearer token (`buzon staff token`), the organization files for one
/// member (`consent` required; `complainant` is the member, optional) or for a group
/// (`workers_affected` and/or `members`, each member with their consent and a
/// receipt of their own in the response).
#[utoipa::path(
    post,
    path = "/api/v1/complaints",
    tag = "complaints",
    request_body = ComplaintRequest,
    responses(
        (status = 201, description = "Stored (committed) and routed; show the receipt to the worker", body = ComplaintCreated),
        (status = 401, description = "unauthorized: a token that is not valid, or `consent`/`members`/`workers_affected` sent without one", body = ErrorBody),
        (status = 403, description = "forbidden: the token is not an advocate's", body = ErrorBody),
        (status = 400, description = "invalid_json or invalid_encoding", body = ErrorBody),
        (status = 413, description = "payload_too_large", body = ErrorBody),
        (status = 415, description = "unsupported_media_type", body = ErrorBody),
        (status = 422, description = "A field is missing or invalid; `field` names it (`members[3].consent.date`), `details` lists all; consent_required when consent is missing or does not cover `complaint`", body = ErrorBody),
        (status = 429, description = "rate_limited; see Retry-After", body = ErrorBody),
    ),
    security((), ("bearer" = []))
)]
pub async fn create_complaint(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let lang = header_language(&headers);
    if headers.contains_key(header::AUTHORIZATION) {
        // An advocate's filing: the token is checked before the (larger) body is read.
        return crate::http::org::api::file(&state, &headers, body, lang).await;
    }
    let request: ComplaintRequest = read_json(&state, &headers, body, lang).await?;
    let lang = body_language(request.language.as_deref(), lang);
    let complaint = own_complaint(request, lang)?;
    let filed = state
        .intake
        .file(&complaint)
        .await
        .map_err(|e| ApiError::internal(&e, lang))?;
    let created = ComplaintCreated::new(filed, &state.directory, None);
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// Read a case's status and messages with its receipt.
#[utoipa::path(
    post,
    path = "/api/v1/status",
    tag = "complaints",
    request_body = StatusRequest,
    responses(
        (status = 200, body = CaseStatusResponse),
        (status = 404, description = "receipt_not_found: wrong or unknown receipt (indistinguishable)", body = ErrorBody),
        (status = 422, description = "missing_field or invalid_receipt", body = ErrorBody),
        (status = 429, description = "rate_limited; see Retry-After", body = ErrorBody),
    )
)]
pub async fn case_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let lang = header_language(&headers);
    let request: StatusRequest = read_json(&state, &headers, body, lang).await?;
    let lang = body_language(request.language.as_deref(), lang);
    let receipt = parse_receipt(request.receipt.as_deref(), lang)?;
    let view = state
        .intake
        .status(&receipt)
        .await
        .map_err(|e| receipt_error(e, lang))?;
    Ok(Json(CaseStatusResponse::new(view, &state.directory, lang)).into_response())
}

/// Add a follow-up message to a case with its receipt.
#[utoipa::path(
    post,
    path = "/api/v1/status/messages",
    tag = "complaints",
    request_body = MessageRequest,
    responses(
        (status = 201, description = "Stored; the case as it is now", body = CaseStatusResponse),
        (status = 404, description = "receipt_not_found", body = ErrorBody),
        (status = 409, description = "case_closed", body = ErrorBody),
        (status = 422, description = "missing_field, too_long or invalid_receipt", body = ErrorBody),
        (status = 429, description = "rate_limited; see Retry-After", body = ErrorBody),
    )
)]
pub async fn add_message(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let lang = header_language(&headers);
    let request: MessageRequest = read_json(&state, &headers, body, lang).await?;
    let lang = body_language(request.language.as_deref(), lang);
    let receipt = parse_receipt(request.receipt.as_deref(), lang)?;
    let text = Text::parse(request.message.as_deref().unwrap_or(""), limits::MESSAGE)
        .map_err(|code| ApiError::field(code, "message", lang))?;
    let view = state
        .intake
        .add_message(&receipt, &text)
        .await
        .map_err(|e| receipt_error(e, lang))?;
    let body = CaseStatusResponse::new(view, &state.directory, lang);
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Route a hypothetical case without storing anything: the intake body, minus
/// identity (`complainant` and `anonymous` are ignored; employer and narrative may
/// be left out). For advocates checking where a complaint belongs, and training.
#[utoipa::path(
    post,
    path = "/api/v1/route",
    tag = "routing",
    request_body = ComplaintRequest,
    responses(
        (status = 200, description = "The decision, as a stored case would get it", body = RoutingOut),
        (status = 422, description = "A field is missing or invalid", body = ErrorBody),
        (status = 429, description = "rate_limited; see Retry-After", body = ErrorBody),
    )
)]
pub async fn dry_run(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let lang = header_language(&headers);
    let request: ComplaintRequest = read_json(&state, &headers, body, lang).await?;
    let lang = body_language(request.language.as_deref(), lang);
    let complaint = hypothetical(request, lang)?;
    let decision = crate::routing::route(&state.rules, &CaseFacts::of(&complaint));
    Ok(Json(RoutingOut::new(&decision, &state.directory, lang)).into_response())
}
