//! The providers' webhooks: WhatsApp (Meta's handshake and signed deliveries) and
//! e-mail (a relay's raw message). Each checks its sender, stores the delivery
//! through its channel (committed with the deliveries arriving alongside it) and
//! answers 200 only after the commit.

use super::extract::{media_type, read_body};
use super::{AppState, webhook_refusal};
use crate::channels::whatsapp::Handshake;
use crate::channels::{email, whatsapp};
use crate::error::{ApiError, ErrorCode};
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// `GET /webhooks/whatsapp`: Meta's subscription handshake. Echoes the challenge
/// (plain text, digits and letters only) when the verify token matches.
pub async fn whatsapp_verify(
    State(state): State<AppState>,
    query: Result<Query<Handshake>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Some(wa) = state.whatsapp.as_ref() else {
        return webhook_refusal(ErrorCode::NotFound);
    };
    let Ok(Query(h)) = query else {
        return webhook_refusal(ErrorCode::VerificationFailed);
    };
    let token_ok = h.verify_token.as_deref().is_some_and(|t| {
        crate::crypto::ct_eq(t.as_bytes(), wa.settings.verify_token.expose().as_bytes())
    });
    match (h.mode.as_deref(), h.challenge) {
        (Some("subscribe"), Some(challenge))
            if token_ok
                && !challenge.is_empty()
                && challenge.len() <= 128
                && challenge
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
        {
            tracing::info!("WhatsApp webhook verified");
            (
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                challenge,
            )
                .into_response()
        }
        _ => {
            tracing::warn!("WhatsApp webhook verification refused");
            webhook_refusal(ErrorCode::VerificationFailed)
        }
    }
}

/// `POST /webhooks/whatsapp`: signature first, then store, then 200.
pub async fn whatsapp_receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(wa) = state.whatsapp.as_ref() else {
        return webhook_refusal(ErrorCode::NotFound);
    };
    let bytes = match read_body(body, state.settings.webhook_max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(code) => return webhook_refusal(code),
    };
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    let (messages, statuses, skipped) =
        match whatsapp::accept(signature, &bytes, wa.settings.app_secret.expose()) {
            Ok(delivery) => delivery,
            Err(code) => return webhook_refusal(code),
        };
    match whatsapp::store(&state.deliveries, &state.keys, messages, statuses).await {
        Ok(stored) => {
            tracing::info!(stored, skipped, "WhatsApp delivery accepted");
            wa.inbox_notify.notify_one();
            (
                StatusCode::OK,
                axum::Json(serde_json::json!({"status": "received"})),
            )
                .into_response()
        }
        Err(e) => ApiError::internal(&e, crate::domain::Language::En).into_response(),
    }
}

/// `POST /webhooks/email`: bearer token, `message/rfc822` body, stored, then 200.
pub async fn email_receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(email) = state.email.as_ref() else {
        return webhook_refusal(ErrorCode::NotFound);
    };
    let Some(token) = email.settings.webhook_token.as_ref() else {
        return webhook_refusal(ErrorCode::NotFound);
    };
    if !super::bearer_matches(&headers, token) {
        tracing::warn!("e-mail webhook refused: bad or missing token");
        return webhook_refusal(ErrorCode::InvalidToken);
    }
    if media_type(&headers) != "message/rfc822" {
        return webhook_refusal(ErrorCode::UnsupportedMediaType);
    }
    let bytes = match read_body(body, email.settings.max_bytes).await {
        Ok(bytes) => bytes,
        Err(code) => return webhook_refusal(code),
    };
    if bytes.is_empty() {
        return webhook_refusal(ErrorCode::EmptyMessage);
    }
    match email::store(&state.deliveries, &state.keys, "webhook", &bytes, None).await {
        Ok(stored) => {
            let duplicate = stored == email::Stored::Duplicate;
            tracing::info!(bytes = bytes.len(), duplicate, "e-mail received by webhook");
            email.inbox_notify.notify_one();
            (
                StatusCode::OK,
                axum::Json(serde_json::json!({
                    "status": if duplicate { "duplicate" } else { "received" }
                })),
            )
                .into_response()
        }
        Err(e) => ApiError::internal(&e, crate::domain::Language::En).into_response(),
    }
}
