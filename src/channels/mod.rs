//! Channel adapters: each turns its wire format into an [`crate::domain::IntakeDraft`]
//! and knows nothing about storage.

pub mod api;
pub mod email;
pub mod web;
pub mod whatsapp;

use crate::domain::Language;
use crate::error::ErrorCode;

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

/// Associated data of an attachment's encrypted columns (any channel).
pub fn attachment_aad(id: uuid::Uuid, column: &'static str) -> crate::crypto::Aad<'static> {
    crate::crypto::Aad {
        table: "attachments",
        column,
        row: id,
    }
}

/// The JSON refusal a webhook sender (a provider's machine) gets.
pub fn webhook_refusal(code: ErrorCode) -> axum::response::Response {
    refusal("/webhooks/", Language::En, code, None)
}

/// Reads a request body up to `limit` bytes; `PayloadTooLarge` beyond that even when
/// the sender gave no (or a false) Content-Length.
pub async fn read_body(
    body: axum::body::Body,
    limit: usize,
) -> Result<axum::body::Bytes, ErrorCode> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let too_large = e
            .into_inner()
            .downcast_ref::<http_body_util::LengthLimitError>()
            .is_some();
        if too_large {
            ErrorCode::PayloadTooLarge
        } else {
            ErrorCode::BodyIncomplete
        }
    })
}

/// The media type of a request without parameters, lower-cased.
pub fn media_type(headers: &axum::http::HeaderMap) -> String {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Language of the `lang` query parameter, if any.
pub fn query_language(query: Option<&str>) -> Option<Language> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("lang="))
        .and_then(Language::parse)
}
