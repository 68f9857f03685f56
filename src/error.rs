//! Stable error codes and the one place that turns an error into a response.
//!
//! Every refusal carries a code from [`ErrorCode`] (public API, never renamed), a
//! message in the reader's language that says what to do, and for field errors the
//! field. Internal causes are logged (without personal data) and never sent.

pub use crate::domain::ErrorCode;
use crate::domain::{FieldError, Language};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The JSON error body: `{"error": {"code", "message", "field"}}`; `details` lists
/// every field error when there is more than one.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code.
    pub code: &'static str,
    /// What to do about it, in the requested language.
    pub message: &'static str,
    /// The offending field (dotted path), when one field is at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every field error, when the body had several.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldErrorBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldErrorBody {
    pub code: &'static str,
    pub message: &'static str,
    pub field: &'static str,
}

/// An error a JSON endpoint returns.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub field: Option<String>,
    pub details: Vec<FieldError>,
    pub language: Language,
    /// Seconds until a rate-limited client may retry.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, language: Language) -> Self {
        Self {
            code,
            field: None,
            details: Vec::new(),
            language,
            retry_after: None,
        }
    }

    pub fn field(code: ErrorCode, field: &'static str, language: Language) -> Self {
        Self::field_owned(code, field.to_owned(), language)
    }

    pub fn field_owned(code: ErrorCode, field: String, language: Language) -> Self {
        Self {
            field: Some(field),
            ..Self::new(code, language)
        }
    }

    pub fn validation(errors: Vec<FieldError>, language: Language) -> Self {
        let first = errors.first().cloned();
        Self {
            code: first.as_ref().map_or(ErrorCode::InvalidField, |e| e.code),
            field: first.map(|e| e.field.to_owned()),
            details: if errors.len() > 1 { errors } else { Vec::new() },
            language,
            retry_after: None,
        }
    }

    /// Logs an unexpected failure (its cause chain must not contain personal data:
    /// database and crypto errors don't) and answers with a generic 500 or 503.
    pub fn internal(err: &anyhow::Error, language: Language) -> Self {
        tracing::error!(error = %format!("{err:#}"), "request failed");
        let code = if is_temporary(err) {
            ErrorCode::Unavailable
        } else {
            ErrorCode::Internal
        };
        Self::new(code, language)
    }

    pub fn body(&self) -> ErrorBody {
        let lang = self.language;
        ErrorBody {
            error: ErrorDetail {
                code: self.code.code(),
                message: self.code.message(lang),
                field: self.field.clone(),
                details: self
                    .details
                    .iter()
                    .map(|e| FieldErrorBody {
                        code: e.code.code(),
                        message: e.code.message(lang),
                        field: e.field,
                    })
                    .collect(),
            },
        }
    }
}

impl ErrorCode {
    /// The HTTP status code this refusal is answered with.
    pub fn status(self) -> StatusCode {
        StatusCode::from_u16(self.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// Every Argon2 slot stayed taken for the intake's wait: the server is saturated.
/// Answered as 503 `unavailable`, so senders retry, instead of queueing without end.
#[derive(Debug, thiserror::Error)]
#[error("too many receipt hashes in progress")]
pub struct Busy;

/// Database unreachable or server saturated: temporary, so 503 and "try again".
/// Unreachable is a connection that could not be had, or one that broke under a
/// statement (a hot pooled connection is not pinged before use, see `db::open`).
fn is_temporary(err: &anyhow::Error) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    err.chain().any(|cause| {
        cause.is::<Busy>()
            || match cause.downcast_ref::<DbErr>() {
                Some(DbErr::ConnectionAcquire(_) | DbErr::Conn(_)) => true,
                Some(
                    DbErr::Query(RuntimeErr::SqlxError(e)) | DbErr::Exec(RuntimeErr::SqlxError(e)),
                ) => connection_lost(e),
                _ => false,
            }
    })
}

/// The connection failed, not the statement (which a retry would fail again).
fn connection_lost(err: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error;
    matches!(
        err,
        Error::Io(_)
            | Error::Tls(_)
            | Error::Protocol(_)
            | Error::PoolTimedOut
            | Error::PoolClosed
            | Error::WorkerCrashed
    )
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.code.status(), axum::Json(self.body())).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = axum::http::HeaderValue::from_str(&secs.to_string())
        {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, v);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn a_lost_database_connection_is_try_again_and_a_bad_statement_is_not() {
        use sea_orm::sqlx::Error as Sqlx;
        use sea_orm::{DbErr, RuntimeErr};
        let query = |e: Sqlx| DbErr::Query(RuntimeErr::SqlxError(std::sync::Arc::new(e)));
        let broken = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let code = |e: anyhow::Error| ApiError::internal(&e, Language::En).code;
        assert_eq!(code(query(Sqlx::Io(broken)).into()), ErrorCode::Unavailable);
        assert_eq!(
            code(anyhow::Error::new(query(Sqlx::PoolTimedOut)).context("storing")),
            ErrorCode::Unavailable
        );
        assert_eq!(code(Busy.into()), ErrorCode::Unavailable);
        assert_eq!(code(query(Sqlx::RowNotFound).into()), ErrorCode::Internal);
        assert_eq!(code(anyhow::anyhow!("a bug")), ErrorCode::Internal);
    }

    #[test]
    fn codes_are_unique_and_every_code_is_a_4xx_or_5xx_with_two_messages() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.code()), "duplicate {}", code.code());
            assert!(code.status().is_client_error() || code.status().is_server_error());
            // The table's number is the status sent, not the fallback for a bad one.
            assert_eq!(
                code.status().as_u16(),
                code.http_status(),
                "{}",
                code.code()
            );
            assert_ne!(code.message(Language::Es), code.message(Language::En));
        }
    }
}
