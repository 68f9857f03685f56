//! Stable error codes: the public vocabulary of refusals, each with its HTTP status
//! and a message in each language that says what to do. (The response that carries
//! one is built in [`crate::error`].)

use super::Language;

macro_rules! error_codes {
    ($($variant:ident = $code:literal, $status:literal, $es:literal, $en:literal;)+) => {
        /// Stable error codes of the API and the web form.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorCode { $($variant),+ }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

            pub fn code(self) -> &'static str {
                match self { $(Self::$variant => $code),+ }
            }

            /// The HTTP status code this refusal is answered with.
            pub fn http_status(self) -> u16 {
                match self { $(Self::$variant => $status),+ }
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
    MissingField = "missing_field", 422,
        "Falta este dato.", "This is required.";
    TooLong = "too_long", 422,
        "Es demasiado largo. Escriba menos.", "This is too long. Please shorten it.";
    InvalidLanguage = "invalid_language", 422,
        "El idioma debe ser \"es\" o \"en\".", "Language must be \"es\" or \"en\".";
    ContactRequired = "contact_required", 422,
        "Escriba su nombre, teléfono o correo, o elija quedar anónimo.",
        "Give a name, phone or e-mail, or choose to stay anonymous.";
    AnonymousWithIdentity = "anonymous_with_identity", 422,
        "Una queja anónima no lleva nombre ni datos de contacto. Quítelos o no marque anónimo.",
        "An anonymous complaint carries no name or contact. Remove them or set anonymous to false.";
    InvalidPhone = "invalid_phone", 422,
        "Este teléfono no parece correcto. Escriba los 10 números, por ejemplo 477 123 4567.",
        "This phone number does not look right. Use 10 digits, e.g. 477 123 4567, or +country code.";
    InvalidEmail = "invalid_email", 422,
        "Este correo no parece correcto. Ejemplo: nombre@correo.com",
        "This e-mail address does not look right. Example: name@example.com";
    InvalidState = "invalid_state", 422,
        "Elija un estado de la lista.", "Choose a state from the list (ISO 3166-2:MX code, e.g. MX-GUA).";
    UnknownSector = "unknown_sector", 422,
        "Elija un tipo de trabajo de la lista.", "Choose a sector from the list of sector codes.";
    InvalidTradeWithUs = "invalid_trade_with_us", 422,
        "Elija sí, no o no sé.", "Use yes, no or unknown.";
    InvalidNumber = "invalid_number", 422,
        "Escriba solo un número, por ejemplo 300, o déjelo vacío.",
        "Use a whole number between 1 and 1,000,000, or leave it out.";
    UnknownViolation = "unknown_violation", 422,
        "Elija lo que pasó de la lista.", "Use violation codes from the list.";
    TooManyValues = "too_many_values", 422,
        "Hay demasiados valores.", "Too many values.";
    InvalidDate = "invalid_date", 422,
        "Escriba una fecha que ya pasó, como 2025-03-14, o déjela vacía.",
        "Use a date in the past as YYYY-MM-DD, or leave it out.";
    InvalidHoldDate = "invalid_hold_until", 422,
        "Elija una fecha después de hoy y antes de 90 días, o déjela vacía.",
        "Choose a date after today and no more than 90 days ahead (YYYY-MM-DD), or leave it out.";
    InvalidField = "invalid_field", 422,
        "Este dato no tiene la forma correcta.", "This field has the wrong type.";
    InvalidReceipt = "invalid_receipt", 422,
        "Escriba el código completo de su comprobante.", "Enter the whole receipt code.";
    InvalidJson = "invalid_json", 400,
        "El contenido no es JSON válido.", "The body is not valid JSON.";
    InvalidEncoding = "invalid_encoding", 400,
        "El texto enviado no es UTF-8 válido.", "The body is not valid UTF-8.";
    UnsupportedMediaType = "unsupported_media_type", 415,
        "Tipo de contenido no aceptado.", "Unsupported Content-Type: send application/json (API), application/x-www-form-urlencoded (form) or message/rfc822 (e-mail webhook).";
    BodyIncomplete = "body_incomplete", 400,
        "No llegó todo el mensaje. Envíelo de nuevo.", "The request body did not arrive completely. Send it again.";
    RequestTimeout = "request_timeout", 408,
        "Tardó demasiado. Intente de nuevo.", "The request took too long. Try again.";
    PayloadTooLarge = "payload_too_large", 413,
        "El mensaje es demasiado grande. Escriba menos.", "The request body is too large.";
    CsrfFailed = "csrf_failed", 403,
        "La página ya expiró. Revise sus datos y envíe de nuevo.",
        "This page expired. Check your answers and send again.";
    RateLimited = "rate_limited", 429,
        "Demasiados intentos. Espere un momento y vuelva a intentar.",
        "Too many attempts. Wait a moment and try again.";
    ReceiptNotFound = "receipt_not_found", 404,
        "No encontramos ese código. Revise que esté completo y bien escrito.",
        "We could not find that code. Check that it is complete and correct.";
    CaseClosed = "case_closed", 409,
        "Esta queja está cerrada y ya no recibe mensajes.", "This case is closed and no longer takes messages.";
    InvalidSignature = "invalid_signature", 401,
        "La firma X-Hub-Signature-256 falta o no corresponde al contenido.",
        "The X-Hub-Signature-256 signature is missing or does not match the body.";
    VerificationFailed = "verification_failed", 403,
        "La verificación del webhook falló: revise hub.mode, hub.verify_token y hub.challenge.",
        "Webhook verification failed: check hub.mode, hub.verify_token and hub.challenge.";
    InvalidToken = "invalid_token", 401,
        "Falta el token Authorization: Bearer o no es el configurado.",
        "The Authorization: Bearer token is missing or is not the configured one.";
    EmptyMessage = "empty_message", 400,
        "El mensaje llegó vacío.", "The message is empty: send the raw RFC 5322 message as the body.";
    Unauthorized = "unauthorized", 401,
        "Inicie sesión para continuar.",
        "Sign in first: send the session cookie, or Authorization: Bearer with a personal API token (buzon staff token).";
    Forbidden = "forbidden", 403,
        "Su cuenta no tiene acceso a esta parte.", "Your role does not allow this.";
    InvalidCredentials = "invalid_credentials", 401,
        "Correo o contraseña incorrectos.", "Wrong e-mail or password.";
    AccountLocked = "account_locked", 423,
        "La cuenta está bloqueada por demasiados intentos fallidos. Espere 15 minutos o pida a un administrador que la desbloquee.",
        "This account is locked after too many failed attempts. Wait 15 minutes or ask an admin to unlock it.";
    InvalidTotp = "invalid_totp", 401,
        "El código no es válido o ya se usó. Escriba el código que muestra su aplicación ahora, o un código de recuperación.",
        "The code is wrong or was already used. Enter the code your app shows now, or a recovery code.";
    InvalidTransition = "invalid_transition", 409,
        "Ese cambio de estado no está permitido desde el estado actual.",
        "That status change is not allowed from the current status.";
    UnknownAuthority = "unknown_authority", 422,
        "Elija una autoridad de la lista.", "Use an authority code from the directory (e.g. cfcrl, state_labor:MX-GUA).";
    UnknownStaff = "unknown_staff", 422,
        "Esa persona no puede recibir este caso: elija a alguien de la misma autoridad.",
        "That staff member cannot take this case: choose someone of the same authority.";
    ConsentRequired = "consent_required", 422,
        "Registre el consentimiento de la persona: cómo lo dio, cuándo y que acepta presentar la queja (uso «complaint»).",
        "Record the member's consent: how and when it was given, and that it covers filing the complaint (use \"complaint\").";
    NotRrmCandidate = "not_rrm_candidate", 409,
        "La evaluación dice que este caso no cabe en el Mecanismo de Respuesta Rápida: no hay petición que preparar.",
        "The screening found this case does not fit the Rapid Response Mechanism: there is no petition to prepare.";
    PetitionNotPrepared = "petition_not_prepared", 409,
        "Primero prepare (exporte) el borrador de la petición; después registre la fecha en que se presentó.",
        "Prepare (export) the petition draft first; then record the date it was filed.";
    UnsupportedEvidence = "unsupported_evidence", 422,
        "Suba un PDF, una foto (JPEG, PNG, WebP), audio (OGG, MP3, M4A), video MP4 o texto, de hasta 10 MB.",
        "Upload a PDF, a photo (JPEG, PNG, WebP), audio (OGG, MP3, M4A), MP4 video or plain text, up to 10 MB.";
    CaseNotFound = "case_not_found", 404,
        "No encontramos ese caso.", "No such case.";
    NotFound = "not_found", 404,
        "No existe esta página.", "Not found.";
    MethodNotAllowed = "method_not_allowed", 405,
        "Método no permitido.", "Method not allowed.";
    Unavailable = "unavailable", 503,
        "El servicio no está disponible. Intente de nuevo en unos minutos.",
        "The service is unavailable. Try again in a few minutes.";
    LimitsUnavailable = "limits_unavailable", 503,
        "No podemos comprobar los límites de intentos en este momento. Intente de nuevo en unos minutos.",
        "Attempt limits cannot be checked right now (sign-in and receipt look-ups stay closed meanwhile). Try again in a few minutes.";
    Internal = "internal_error", 500,
        "Algo falló de nuestro lado. Intente de nuevo.", "Something went wrong on our side. Please try again.";
}
