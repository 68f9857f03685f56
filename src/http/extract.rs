//! What handlers take from a request before a service sees it: the body (capped,
//! typed, decoded), the reader's language, and the JSON or form it holds.

use crate::channels::api::parse_json;
use crate::channels::web::form::{FormFields, parse_fields};
use crate::domain::Language;
use crate::error::{ApiError, ErrorCode};
use crate::http::AppState;
use crate::http::web::error_page;
use axum::body::Body;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde::de::DeserializeOwned;

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

/// `?lang=` wins, then the form's hidden `lang`, then `Accept-Language`, then Spanish.
pub fn negotiate_language(headers: &HeaderMap, query: Option<&str>) -> Language {
    query_language(query).unwrap_or_else(|| {
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map(Language::from_accept_language)
            .unwrap_or_default()
    })
}

pub(crate) fn header_language(headers: &HeaderMap) -> Language {
    negotiate_language(headers, None)
}

/// Reads a JSON body: `application/json` only, size-capped, valid UTF-8, and type
/// errors reported with the path of the offending field.
pub(crate) async fn read_json<T: DeserializeOwned>(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    lang: Language,
) -> Result<T, ApiError> {
    read_json_within(headers, body, lang, state.settings.max_body_bytes).await
}

/// How much larger than other bodies a complaint filed with a token may be: a
/// collective complaint lists up to 200 members, each with a consent object.
pub const FILING_BODY_FACTOR: usize = 4;

/// [`read_json`] with a size cap of its own.
pub(crate) async fn read_json_within<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
    lang: Language,
    cap: usize,
) -> Result<T, ApiError> {
    let media = media_type(headers);
    if media != "application/json" && !media.ends_with("+json") {
        return Err(ApiError::new(ErrorCode::UnsupportedMediaType, lang));
    }
    let bytes = read_body(body, cap)
        .await
        .map_err(|code| ApiError::new(code, lang))?;
    parse_json(&bytes, lang)
}

/// Reads a form body: its type, size and encoding. The page language: the form's
/// `lang`, else the request's. (Refusals are pages in that language.)
pub(crate) async fn read_fields(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(FormFields, Language), Response> {
    let lang = negotiate_language(headers, None);
    if media_type(headers) != "application/x-www-form-urlencoded" {
        return Err(error_page(ErrorCode::UnsupportedMediaType, lang, None));
    }
    let bytes = read_body(body, state.settings.max_body_bytes)
        .await
        .map_err(|code| error_page(code, lang, None))?;
    parse_fields(&bytes, lang).map_err(|code| error_page(code, lang, None))
}

/// Axum's `Path`, whose refusals are the project's own: a JSON error body under
/// `/api/`, an error page elsewhere (axum's are `text/plain`). Invalid UTF-8 in a
/// parameter (`/api/v1/cases/%FF`) is `invalid_encoding` (400); a parameter that
/// does not parse (an id that is no UUID) names nothing here, so `not_found` (404).
pub struct Path<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        use axum::extract::path::ErrorKind;
        use axum::extract::rejection::PathRejection;
        use axum::response::IntoResponse;
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(rejection) => {
                let code = match &rejection {
                    PathRejection::FailedToDeserializePathParams(e) => match e.kind() {
                        ErrorKind::InvalidUtf8InPathParam { .. } => ErrorCode::InvalidEncoding,
                        ErrorKind::ParseError { .. }
                        | ErrorKind::ParseErrorAtIndex { .. }
                        | ErrorKind::ParseErrorAtKey { .. } => ErrorCode::NotFound,
                        _ => ErrorCode::Internal,
                    },
                    _ => ErrorCode::Internal,
                };
                let lang = header_language(&parts.headers);
                Err(if parts.uri.path().starts_with("/api/") {
                    ApiError::new(code, lang).into_response()
                } else {
                    error_page(code, lang, None)
                })
            }
        }
    }
}
