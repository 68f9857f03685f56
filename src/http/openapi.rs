//! The OpenAPI document at `/api/v1/openapi.json`, generated from the handlers and
//! the wire types; the refusals every operation can give are added once here.

use crate::channels::api::{
    CaseStatusResponse, ComplaintCreated, ComplaintRequest, MessageRequest, RoutingOut,
    StatusRequest,
};
use crate::domain::Language;
use crate::error::{ApiError, ErrorBody};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Buzón API",
        description = "Secure intake of labor-rights complaints. Receipts travel only in request bodies."
    ),
    paths(
        crate::http::api::create_complaint,
        crate::http::api::case_status,
        crate::http::api::add_message,
        crate::http::api::dry_run,
        crate::http::triage::api::list,
        crate::http::triage::api::show,
        crate::http::triage::api::reveal,
        crate::http::triage::api::status,
        crate::http::triage::api::note,
        crate::http::triage::api::question,
        crate::http::triage::api::assign,
        crate::http::triage::api::refer,
        crate::http::triage::api::duplicate,
        crate::http::triage::api::facts,
        crate::http::triage::api::attachment,
        crate::http::triage::api::audit_log,
        crate::http::triage::indicators::json,
        crate::http::triage::indicators::csv,
        crate::http::org::api::message,
        crate::http::org::api::show_rrm,
        crate::http::org::api::save_rrm,
        crate::http::org::api::add_evidence,
        crate::http::org::api::evidence_file,
        crate::http::org::api::petition,
        crate::http::org::api::filed
    ),
    modifiers(&StaffAuth, &CommonErrors),
    components(schemas(
        ErrorBody,
        ComplaintRequest,
        ComplaintCreated,
        StatusRequest,
        MessageRequest,
        CaseStatusResponse,
        RoutingOut
    ))
)]
pub struct ApiDoc;

/// The refusals every operation can give, documented once instead of on each handler:
/// the rate limit and an unavailable database anywhere, authentication and role on the
/// staff operations, and the body and parameter checks wherever there is a body or a
/// parameter. Handlers document their own (404, 409...) themselves.
struct CommonErrors;

impl utoipa::Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let error = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("ErrorBody")))
                            .build(),
                    )
                    .build(),
            )
        };
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                let body = op.request_body.is_some();
                let params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let mut add = |code: &str, description: &str| {
                    op.responses
                        .responses
                        .entry(code.to_owned())
                        .or_insert_with(|| error(description));
                };
                add(
                    "429",
                    "rate_limited: too many requests from this client; wait Retry-After seconds",
                );
                add(
                    "503",
                    "unavailable: the service cannot store or read right now; try again \
                     (limits_unavailable: sign-in and receipt look-ups while the shared \
                     rate limits cannot be checked)",
                );
                if secured {
                    add("401", "unauthenticated: no valid token or session");
                    add(
                        "403",
                        "forbidden: this account's role or organization may not do this",
                    );
                }
                if body {
                    add(
                        "400",
                        "malformed_body: the body is not what the content type says",
                    );
                    add(
                        "413",
                        "payload_too_large: the body is over this operation's size limit",
                    );
                    add(
                        "415",
                        "unsupported_media_type: send the content type documented here",
                    );
                }
                if body || params {
                    add("422", "A field is missing or invalid; `field` names it");
                }
            }
        }
    }
}

/// The staff API's two ways in: a personal token, or the console's session cookie.
struct StaffAuth;

impl utoipa::Modify for StaffAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "Personal API token from `buzon staff token --email E`",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "__Host-buzon_staff",
                "Console session; state changes also need the X-CSRF-Token header",
            ))),
        );
    }
}

/// `GET /api/v1/openapi.json`.
pub async fn openapi() -> Response {
    match ApiDoc::openapi().to_json() {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(e) => ApiError::internal(&anyhow::Error::new(e), Language::En).into_response(),
    }
}
