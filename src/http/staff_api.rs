//! What the staff JSON shares, the inspectors' API and the advocates' alike: the
//! caller from their session cookie or bearer token, a case within their scope (404
//! otherwise, the same as no case), a refusal as an error body, a file download.

use crate::cases::{self, Refused, Scope};
use crate::domain::Language;
use crate::error::{ApiError, ErrorCode};
use crate::http::AppState;
use crate::http::session::{self, AuthFailure, Principal};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

pub async fn principal(
    state: &AppState,
    headers: &HeaderMap,
    lang: Language,
) -> Result<Principal, ApiError> {
    match session::authenticate(state, headers).await {
        Ok(p) => Ok(p),
        Err(AuthFailure::Unauthenticated) => Err(ApiError::new(ErrorCode::Unauthorized, lang)),
        Err(AuthFailure::Internal(e)) => Err(ApiError::internal(&e, lang)),
    }
}

pub async fn case_in_scope(
    state: &AppState,
    scope: &Scope,
    case_ref: &str,
    lang: Language,
) -> Result<entity::case::Model, ApiError> {
    cases::find(state.intake.db(), scope, case_ref)
        .await
        .map_err(|e| ApiError::internal(&e, lang))?
        .ok_or_else(|| ApiError::new(ErrorCode::CaseNotFound, lang))
}

pub fn refused(e: Refused, lang: Language) -> ApiError {
    match (e.code(), e) {
        (Some((code, field)), _) => ApiError::field(code, field, lang),
        (None, e) => ApiError::internal(&anyhow::Error::new(e), lang),
    }
}

/// An attachment as a download (never rendered inline: it could be anything).
pub fn file_response(mime: &str, bytes: Vec<u8>) -> Response {
    let mime = if mime.parse::<axum::http::HeaderValue>().is_ok() && !mime.is_empty() {
        mime.to_owned()
    } else {
        "application/octet-stream".to_owned()
    };
    (
        [
            (header::CONTENT_TYPE, mime),
            (header::CONTENT_DISPOSITION, "attachment".to_owned()),
        ],
        bytes,
    )
        .into_response()
}
