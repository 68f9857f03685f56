//! Stable error codes and the one place that turns an error into a response.
//!
//! Every refusal carries a code from [`ErrorCode`] (public API, never renamed), a
//! message in the reader's language that says what to do, and for field errors the
//! field. Internal causes are logged (without personal data) and never sent.

use crate::domain::{FieldError, Language};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

macro_rules! error_codes {
    ($($variant:ident = $code:literal, $status:ident, $es:literal, $en:literal;)+) => {
        /// Stable error codes of the API and the web form.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorCode { $($variant),+ }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

            pub fn code(self) -> &'static str {
                match self { $(Self::$variant => $code),+ }
            }

            pub fn status(self) -> StatusCode {
                match self { $(Self::$variant => StatusCode::$status),+ }
            }

            pub fn message(self, lang: Language) -> &'static str {
                match (self, lang) {
                    $((Self::$variant, Language::Es) => $es,
                      (Self::$variant, Language::En) => $en,)+
                }
            }
        }
    };
}

error_codes! {
    MissingField = "missing_field", UNPROCESSABLE_ENTITY,
        "Falta este dato.", "This is required.";
    TooLong = "too_long", UNPROCESSABLE_ENTITY,
        "Es demasiado largo. Escriba menos.", "This is too long. Please shorten it.";
    InvalidLanguage = "invalid_language", UNPROCESSABLE_ENTITY,
        "El idioma debe ser \"es\" o \"en\".", "Language must be \"es\" or \"en\".";
    ContactRequired = "contact_required", UNPROCESSABLE_ENTITY,
        "Escriba su nombre, teléfono o correo, o elija quedar anónimo.",
        "Give a name, phone or e-mail, or choose to stay anonymous.";
    AnonymousWithIdentity = "anonymous_with_identity", UNPROCESSABLE_ENTITY,
        "Una queja anónima no lleva nombre ni datos de contacto. Quítelos o no marque anónimo.",
        "An anonymous complaint carries no name or contact. Remove them or set anonymous to false.";
    InvalidPhone = "invalid_phone", UNPROCESSABLE_ENTITY,
        "Este teléfono no parece correcto. Escriba los 10 números, por ejemplo 477 123 4567.",
        "This phone number does not look right. Use 10 digits, e.g. 477 123 4567, or +country code.";
    InvalidEmail = "invalid_email", UNPROCESSABLE_ENTITY,
        "Este correo no parece correcto. Ejemplo: nombre@correo.com",
        "This e-mail address does not look right. Example: name@example.com";
    InvalidState = "invalid_state", UNPROCESSABLE_ENTITY,
        "Elija un estado de la lista.", "Choose a state from the list (ISO 3166-2:MX code, e.g. MX-GUA).";
    UnknownSector = "unknown_sector", UNPROCESSABLE_ENTITY,
        "Elija un tipo de trabajo de la lista.", "Choose a sector from the list of sector codes.";
    InvalidTradeWithUs = "invalid_trade_with_us", UNPROCESSABLE_ENTITY,
        "Elija sí, no o no sé.", "Use yes, no or unknown.";
    InvalidNumber = "invalid_number", UNPROCESSABLE_ENTITY,
        "Escriba solo un número, por ejemplo 300, o déjelo vacío.",
        "Use a whole number between 1 and 1,000,000, or leave it out.";
    UnknownViolation = "unknown_violation", UNPROCESSABLE_ENTITY,
        "Elija lo que pasó de la lista.", "Use violation codes from the list.";
    TooManyValues = "too_many_values", UNPROCESSABLE_ENTITY,
        "Hay demasiados valores.", "Too many values.";
    InvalidDate = "invalid_date", UNPROCESSABLE_ENTITY,
        "Escriba una fecha que ya pasó, como 2025-03-14, o déjela vacía.",
        "Use a date in the past as YYYY-MM-DD, or leave it out.";
    InvalidField = "invalid_field", UNPROCESSABLE_ENTITY,
        "Este dato no tiene la forma correcta.", "This field has the wrong type.";
    InvalidReceipt = "invalid_receipt", UNPROCESSABLE_ENTITY,
        "Escriba el código completo de su comprobante.", "Enter the whole receipt code.";
    InvalidJson = "invalid_json", BAD_REQUEST,
        "El contenido no es JSON válido.", "The body is not valid JSON.";
    InvalidEncoding = "invalid_encoding", BAD_REQUEST,
        "El texto enviado no es UTF-8 válido.", "The body is not valid UTF-8.";
    UnsupportedMediaType = "unsupported_media_type", UNSUPPORTED_MEDIA_TYPE,
        "Tipo de contenido no aceptado.", "Unsupported Content-Type: send application/json (API), application/x-www-form-urlencoded (form) or message/rfc822 (e-mail webhook).";
    BodyIncomplete = "body_incomplete", BAD_REQUEST,
        "No llegó todo el mensaje. Envíelo de nuevo.", "The request body did not arrive completely. Send it again.";
    RequestTimeout = "request_timeout", REQUEST_TIMEOUT,
        "Tardó demasiado. Intente de nuevo.", "The request took too long. Try again.";
    PayloadTooLarge = "payload_too_large", PAYLOAD_TOO_LARGE,
        "El mensaje es demasiado grande. Escriba menos.", "The request body is too large.";
    CsrfFailed = "csrf_failed", FORBIDDEN,
        "La página ya expiró. Revise sus datos y envíe de nuevo.",
        "This page expired. Check your answers and send again.";
    RateLimited = "rate_limited", TOO_MANY_REQUESTS,
        "Demasiados intentos. Espere un momento y vuelva a intentar.",
        "Too many attempts. Wait a moment and try again.";
    ReceiptNotFound = "receipt_not_found", NOT_FOUND,
        "No encontramos ese código. Revise que esté completo y bien escrito.",
        "We could not find that code. Check that it is complete and correct.";
    CaseClosed = "case_closed", CONFLICT,
        "Esta queja está cerrada y ya no recibe mensajes.", "This case is closed and no longer takes messages.";
    InvalidSignature = "invalid_signature", UNAUTHORIZED,
        "La firma X-Hub-Signature-256 falta o no corresponde al contenido.",
        "The X-Hub-Signature-256 signature is missing or does not match the body.";
    VerificationFailed = "verification_failed", FORBIDDEN,
        "La verificación del webhook falló: revise hub.mode, hub.verify_token y hub.challenge.",
        "Webhook verification failed: check hub.mode, hub.verify_token and hub.challenge.";
    InvalidToken = "invalid_token", UNAUTHORIZED,
        "Falta el token Authorization: Bearer o no es el configurado.",
        "The Authorization: Bearer token is missing or is not the configured one.";
    EmptyMessage = "empty_message", BAD_REQUEST,
        "El mensaje llegó vacío.", "The message is empty: send the raw RFC 5322 message as the body.";
    Unauthorized = "unauthorized", UNAUTHORIZED,
        "Inicie sesión para continuar.",
        "Sign in first: send the session cookie, or Authorization: Bearer with a personal API token (buzon staff token).";
    Forbidden = "forbidden", FORBIDDEN,
        "Su cuenta no tiene acceso a esta parte.", "Your role does not allow this.";
    InvalidCredentials = "invalid_credentials", UNAUTHORIZED,
        "Correo o contraseña incorrectos.", "Wrong e-mail or password.";
    AccountLocked = "account_locked", LOCKED,
        "La cuenta está bloqueada por demasiados intentos fallidos. Espere 15 minutos o pida a un administrador que la desbloquee.",
        "This account is locked after too many failed attempts. Wait 15 minutes or ask an admin to unlock it.";
    InvalidTotp = "invalid_totp", UNAUTHORIZED,
        "El código no es válido o ya se usó. Escriba el código que muestra su aplicación ahora, o un código de recuperación.",
        "The code is wrong or was already used. Enter the code your app shows now, or a recovery code.";
    InvalidTransition = "invalid_transition", CONFLICT,
        "Ese cambio de estado no está permitido desde el estado actual.",
        "That status change is not allowed from the current status.";
    UnknownAuthority = "unknown_authority", UNPROCESSABLE_ENTITY,
        "Elija una autoridad de la lista.", "Use an authority code from the directory (e.g. cfcrl, state_labor:MX-GUA).";
    UnknownStaff = "unknown_staff", UNPROCESSABLE_ENTITY,
        "Esa persona no puede recibir este caso: elija a alguien de la misma autoridad.",
        "That staff member cannot take this case: choose someone of the same authority.";
    ConsentRequired = "consent_required", UNPROCESSABLE_ENTITY,
        "Registre el consentimiento de la persona: cómo lo dio, cuándo y que acepta presentar la queja (uso «complaint»).",
        "Record the member's consent: how and when it was given, and that it covers filing the complaint (use \"complaint\").";
    NotRrmCandidate = "not_rrm_candidate", CONFLICT,
        "La evaluación dice que este caso no cabe en el Mecanismo de Respuesta Rápida: no hay petición que preparar.",
        "The screening found this case does not fit the Rapid Response Mechanism: there is no petition to prepare.";
    PetitionNotPrepared = "petition_not_prepared", CONFLICT,
        "Primero prepare (exporte) el borrador de la petición; después registre la fecha en que se presentó.",
        "Prepare (export) the petition draft first; then record the date it was filed.";
    UnsupportedEvidence = "unsupported_evidence", UNPROCESSABLE_ENTITY,
        "Suba un PDF, una foto (JPEG, PNG, WebP), audio (OGG, MP3, M4A), video MP4 o texto, de hasta 10 MB.",
        "Upload a PDF, a photo (JPEG, PNG, WebP), audio (OGG, MP3, M4A), MP4 video or plain text, up to 10 MB.";
    CaseNotFound = "case_not_found", NOT_FOUND,
        "No encontramos ese caso.", "No such case.";
    NotFound = "not_found", NOT_FOUND,
        "No existe esta página.", "Not found.";
    MethodNotAllowed = "method_not_allowed", METHOD_NOT_ALLOWED,
        "Método no permitido.", "Method not allowed.";
    Unavailable = "unavailable", SERVICE_UNAVAILABLE,
        "El servicio no está disponible. Intente de nuevo en unos minutos.",
        "The service is unavailable. Try again in a few minutes.";
    Internal = "internal_error", INTERNAL_SERVER_ERROR,
        "Algo falló de nuestro lado. Intente de nuevo.", "Something went wrong on our side. Please try again.";
}

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

/// Database unreachable or server saturated: temporary, so 503 and "try again".
fn is_temporary(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.is::<crate::intake::Busy>()
            || matches!(
                cause.downcast_ref::<sea_orm::DbErr>(),
                Some(sea_orm::DbErr::ConnectionAcquire(_) | sea_orm::DbErr::Conn(_))
            )
    })
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
    fn codes_are_unique_and_every_code_is_a_4xx_or_5xx_with_two_messages() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.code()), "duplicate {}", code.code());
            assert!(code.status().is_client_error() || code.status().is_server_error());
            assert_ne!(code.message(Language::Es), code.message(Language::En));
        }
    }
}
