//! The staff JSON API under `/api/v1/cases` (and `/api/v1/audit`, `/api/v1/stats`):
//! the console's operations for scripts and other tools. Authenticated by a personal
//! API token (`Authorization: Bearer`, from `buzon staff token`) or the console's
//! session cookie plus `X-CSRF-Token` on state changes.

use crate::cases::{self, CaseOut, Identity, QueueItem, QueueQuery, Scope};
use crate::domain::Language;
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::http::AppState;
use crate::http::extract::Path;
use crate::http::extract::{header_language, read_json};
use crate::http::session::Principal;
use crate::http::staff_api::{case_in_scope, file_response, principal, refused};
use crate::staff::Role;
use crate::triage;
use axum::Json;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// The caller and their case scope; 403 for roles that don't work cases.
async fn case_worker(
    state: &AppState,
    headers: &HeaderMap,
    lang: Language,
) -> Result<(Principal, Scope), ApiError> {
    let p = principal(state, headers, lang).await?;
    let scope = Scope::of(&p.member).ok_or_else(|| ApiError::new(ErrorCode::Forbidden, lang))?;
    Ok((p, scope))
}

/// The caller and the cases they may read ([`Scope::reading`]): inspectors and
/// admins as [`case_worker`], advocates their organization's cases.
async fn case_reader(
    state: &AppState,
    headers: &HeaderMap,
    lang: Language,
) -> Result<(Principal, Scope), ApiError> {
    let p = principal(state, headers, lang).await?;
    let scope =
        Scope::reading(&p.member).ok_or_else(|| ApiError::new(ErrorCode::Forbidden, lang))?;
    Ok((p, scope))
}

/// Like [`case_worker`] for state changes: the CSRF token when signed in by cookie.
async fn case_writer(
    state: &AppState,
    headers: &HeaderMap,
    lang: Language,
) -> Result<(Principal, Scope), ApiError> {
    let (p, scope) = case_worker(state, headers, lang).await?;
    if !p.csrf_ok(headers, None) {
        return Err(ApiError::new(ErrorCode::CsrfFailed, lang));
    }
    Ok((p, scope))
}

/// A state change on one case: the caller (CSRF checked), the case in their scope
/// (404 otherwise, the same as no case) and the JSON body.
struct Change<T> {
    p: Principal,
    scope: Scope,
    case: entity::case::Model,
    req: T,
    lang: Language,
}

impl<T: serde::de::DeserializeOwned> Change<T> {
    async fn read(
        state: &AppState,
        headers: &HeaderMap,
        case_ref: &str,
        body: Body,
    ) -> Result<Self, ApiError> {
        let lang = header_language(headers);
        let (p, scope) = case_writer(state, headers, lang).await?;
        let case = case_in_scope(state, &scope, case_ref, lang).await?;
        let req: T = read_json(state, headers, body, lang).await?;
        Ok(Self {
            p,
            scope,
            case,
            req,
            lang,
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct QueuePage {
    pub items: Vec<QueueItem>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next: Option<String>,
    /// How the queue is ordered.
    pub order: &'static str,
}

pub const ORDER_EXPLAINED: &str =
    "priority (retaliation risk, then RRM screening, then workers affected), then oldest first";

/// The caller's queue: cases referred to their authorities, in priority order. With
/// an advocate's token: the cases their organization filed, in the same order.
#[utoipa::path(
    get,
    path = "/api/v1/cases",
    tag = "triage",
    params(QueueQuery),
    responses(
        (status = 200, body = QueuePage),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "forbidden: coordinators have no queue (advocates get their organization's cases)", body = ErrorBody),
        (status = 422, description = "invalid_field: a filter or the cursor is not valid; `field` names it", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<QueueQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let lang = header_language(&headers);
    let (p, scope) = case_reader(&state, &headers, lang).await?;
    let Query(query) =
        query.map_err(|_| ApiError::field(ErrorCode::InvalidField, "query", lang))?;
    let (filters, cursor) = query
        .filters(p.member.id)
        .map_err(|f| ApiError::field(ErrorCode::InvalidField, f, lang))?;
    if query.limit.is_some_and(|n| !(1..=200).contains(&n)) {
        return Err(ApiError::field(ErrorCode::InvalidField, "limit", lang));
    }
    let limit = query.limit.unwrap_or(cases::PAGE);
    let (items, next) = cases::queue(
        state.intake.reads(),
        &scope,
        &filters,
        cursor.as_ref(),
        limit,
    )
    .await
    .map_err(|e| ApiError::internal(&e, lang))?;
    Ok(Json(QueuePage {
        items,
        next: next.map(|c| c.encode()),
        order: ORDER_EXPLAINED,
    })
    .into_response())
}

/// One case, identifying fields masked.
#[utoipa::path(
    get,
    path = "/api/v1/cases/{case_ref}",
    tag = "triage",
    params(("case_ref" = String, Path, description = "e.g. BZ-7KQM2X9P")),
    responses(
        (status = 200, body = CaseOut),
        (status = 404, description = "case_not_found: no such case, or not in your jurisdiction (indistinguishable)", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
) -> Result<Response, ApiError> {
    let lang = header_language(&headers);
    let (_, scope) = case_reader(&state, &headers, lang).await?;
    let case = case_in_scope(&state, &scope, &case_ref, lang).await?;
    let out: CaseOut = cases::detail(state.intake.reads(), &state.keys, &scope, &case, lang)
        .await
        .map_err(|e| ApiError::internal(&e, lang))?;
    Ok(Json(out).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    /// Why you need it (recorded in the audit log).
    pub reason: Option<String>,
}

/// Reveal the complainant's identifying fields (and the members of a complaint an
/// organization filed); writes an audit record first. Advocates may reveal the
/// members of their own organization's cases.
#[utoipa::path(
    post,
    path = "/api/v1/cases/{case_ref}/reveal",
    tag = "triage",
    params(("case_ref" = String, Path)),
    request_body = ReasonRequest,
    responses(
        (status = 200, body = Identity),
        (status = 404, description = "case_not_found", body = ErrorBody),
        (status = 422, description = "missing_field (reason) or too_long", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn reveal(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    // Advocates too, for the members their organization filed.
    let lang = header_language(&headers);
    let (p, scope) = case_reader(&state, &headers, lang).await?;
    if !p.csrf_ok(&headers, None) {
        return Err(ApiError::new(ErrorCode::CsrfFailed, lang));
    }
    let case = case_in_scope(&state, &scope, &case_ref, lang).await?;
    let req: ReasonRequest = read_json(&state, &headers, body, lang).await?;
    let who = cases::reveal(
        state.intake.db(),
        &state.keys,
        p.member.id,
        &scope,
        &case,
        req.reason.as_deref(),
    )
    .await
    .map_err(|e| refused(e, lang))?;
    Ok(Json(who).into_response())
}

/// Download an attachment, decrypted; every download is an audited reveal.
#[utoipa::path(
    post,
    path = "/api/v1/cases/{case_ref}/attachments/{id}",
    tag = "triage",
    params(("case_ref" = String, Path), ("id" = Uuid, Path)),
    request_body = ReasonRequest,
    responses(
        (status = 200, description = "The file, with its media type"),
        (status = 404, description = "case_not_found or not_found", body = ErrorBody),
        (status = 422, description = "missing_field (reason)", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn attachment(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((case_ref, id)): Path<(String, String)>,
    body: Body,
) -> Result<Response, ApiError> {
    let Change {
        p, case, req, lang, ..
    } = Change::<ReasonRequest>::read(&state, &headers, &case_ref, body).await?;
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::new(ErrorCode::NotFound, lang))?;
    match cases::reveal_attachment(
        state.intake.db(),
        &state.keys,
        p.member.id,
        &case,
        id,
        req.reason.as_deref(),
    )
    .await
    .map_err(|e| refused(e, lang))?
    {
        Some((mime, bytes)) => Ok(file_response(&mime, bytes)),
        None => Err(ApiError::new(ErrorCode::NotFound, lang)),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// received, in_review, info_requested, referred, closed
    pub status: Option<String>,
    pub reason: Option<String>,
    /// Required when closing, refused otherwise: remedied, conciliated,
    /// referred_elsewhere, unfounded, withdrawn, no_response, duplicate, other.
    pub outcome: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct StatusChanged {
    pub status: &'static str,
}

/// Change the status along an allowed transition.
#[utoipa::path(
    post,
    path = "/api/v1/cases/{case_ref}/status",
    tag = "triage",
    params(("case_ref" = String, Path)),
    request_body = StatusChange,
    responses(
        (status = 200, body = StatusChanged),
        (status = 404, description = "case_not_found", body = ErrorBody),
        (status = 409, description = "invalid_transition", body = ErrorBody),
        (status = 422, description = "invalid_field (status, outcome), missing_field (outcome, when closing) or too_long (reason)", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let Change {
        p, case, req, lang, ..
    } = Change::<StatusChange>::read(&state, &headers, &case_ref, body).await?;
    let to = triage::set_status(
        state.intake.db(),
        &state.keys,
        triage::Tell {
            notifier: &state.notifier,
            directory: &state.directory,
        },
        p.member.id,
        &case,
        triage::Move {
            to: req.status.as_deref(),
            reason: req.reason.as_deref(),
            outcome: req.outcome.as_deref(),
        },
    )
    .await
    .map_err(|e| refused(e, lang))?;
    Ok(Json(StatusChanged { status: to.code() }).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TextRequest {
    pub body: Option<String>,
}

/// Add an internal note (encrypted; never shown to the complainant).
#[utoipa::path(
    post,
    path = "/api/v1/cases/{case_ref}/notes",
    tag = "triage",
    params(("case_ref" = String, Path)),
    request_body = TextRequest,
    responses(
        (status = 201, description = "Stored"),
        (status = 404, description = "case_not_found", body = ErrorBody),
        (status = 422, description = "missing_field or too_long (body)", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn note(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let Change {
        p, case, req, lang, ..
    } = Change::<TextRequest>::read(&state, &headers, &case_ref, body).await?;
    triage::add_note(
        state.intake.db(),
        &state.keys,
        p.member.id,
        &case,
        req.body.as_deref(),
    )
    .await
    .map_err(|e| refused(e, lang))?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({"status": "stored"})),
    )
        .into_response())
}

#[derive(Serialize, ToSchema)]
pub struct QuestionSent {
    /// Where the question went: `status_page` always; `whatsapp`, `email` when the
    /// case came that way and a contact is on record.
    pub delivered_via: Vec<&'static str>,
}

/// Ask the complainant a question through the channel the case came from.
#[utoipa::path(
    post,
    path = "/api/v1/cases/{case_ref}/questions",
    tag = "triage",
    params(("case_ref" = String, Path)),
    request_body = TextRequest,
    responses(
        (status = 201, body = QuestionSent),
        (status = 404, description = "case_not_found", body = ErrorBody),
        (status = 409, description = "invalid_transition: the case is closed", body = ErrorBody),
        (status = 422, description = "missing_field or too_long (body)", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn question(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let Change {
        p, case, req, lang, ..
    } = Change::<TextRequest>::read(&state, &headers, &case_ref, body).await?;
    let delivered_via = triage::ask(
        state.intake.db(),
        &state.keys,
        &state.notifier,
        p.member.id,
        &case,
        req.body.as_deref(),
    )
    .await
    .map_err(|e| refused(e, lang))?;
    Ok((StatusCode::CREATED, Json(QuestionSent { delivered_via })).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// A staff id, or `me`.
    pub staff_id: Option<String>,
}

/// Assign the case to yourself or a colleague of the same authority.
#[utoipa::path(
    post,
    path = "/api/v1/cases/{case_ref}/assign",
    tag = "triage",
    params(("case_ref" = String, Path)),
    request_body = AssignRequest,
    responses(
        (status = 200, description = "Assigned"),
        (status = 404, description = "case_not_found", body = ErrorBody),
        (status = 422, description = "unknown_staff", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn assign(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let Change {
        p, case, req, lang, ..
    } = Change::<AssignRequest>::read(&state, &headers, &case_ref, body).await?;
    let assignee = match req.staff_id.as_deref().map(str::trim) {
        None | Some("") => return Err(ApiError::field(ErrorCode::MissingField, "staff_id", lang)),
        Some("me") => p.member.id,
        Some(id) => Uuid::parse_str(id)
            .map_err(|_| ApiError::field(ErrorCode::UnknownStaff, "staff_id", lang))?,
    };
    triage::assign(state.intake.db(), &state.keys, &p.member, &case, assignee)
        .await
        .map_err(|e| refused(e, lang))?;
    Ok(Json(serde_json::json!({"assigned_to": assignee})).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferRequest {
    /// e.g. `cfcrl`, `state_ccl:MX-JAL`.
    pub authority: Option<String>,
    pub reason: Option<String>,
}

/// Refer the case to another authority (it leaves your queue).
#[utoipa::path(
    post,
    path = "/api/v1/cases/{case_ref}/referrals",
    tag = "triage",
    params(("case_ref" = String, Path)),
    request_body = ReferRequest,
    responses(
        (status = 201, description = "Referred"),
        (status = 404, description = "case_not_found", body = ErrorBody),
        (status = 422, description = "unknown_authority, missing_field (reason)", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn refer(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let Change {
        p, case, req, lang, ..
    } = Change::<ReferRequest>::read(&state, &headers, &case_ref, body).await?;
    triage::refer(
        state.intake.db(),
        &state.keys,
        &p.member,
        &case,
        req.authority.as_deref(),
        req.reason.as_deref(),
    )
    .await
    .map_err(|e| refused(e, lang))?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({"status": "referred"})),
    )
        .into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DuplicateRequest {
    /// The reference of the case this one repeats.
    pub duplicate_of: Option<String>,
}

/// Mark the case a duplicate of another (it is closed).
#[utoipa::path(
    post,
    path = "/api/v1/cases/{case_ref}/duplicate",
    tag = "triage",
    params(("case_ref" = String, Path)),
    request_body = DuplicateRequest,
    responses(
        (status = 200, description = "Marked and closed"),
        (status = 404, description = "case_not_found (this case, or `duplicate_of`: field says which)", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn duplicate(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let Change {
        p,
        scope,
        case,
        req,
        lang,
    } = Change::<DuplicateRequest>::read(&state, &headers, &case_ref, body).await?;
    let of = triage::mark_duplicate(
        state.intake.db(),
        &state.keys,
        triage::Tell {
            notifier: &state.notifier,
            directory: &state.directory,
        },
        p.member.id,
        &scope,
        &case,
        req.duplicate_of.as_deref(),
    )
    .await
    .map_err(|e| refused(e, lang))?;
    Ok(Json(serde_json::json!({"duplicate_of": of, "status": "closed"})).into_response())
}

/// Confirm or correct the facts routing uses; the case is routed again.
#[utoipa::path(
    post,
    path = "/api/v1/cases/{case_ref}/facts",
    tag = "triage",
    params(("case_ref" = String, Path)),
    request_body = triage::FactsIn,
    responses(
        (status = 200, description = "The new routing decision", body = crate::channels::api::RoutingOut),
        (status = 404, description = "case_not_found", body = ErrorBody),
        (status = 422, description = "invalid_field or missing_field; `field` names it", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn facts(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let Change {
        p, case, req, lang, ..
    } = Change::<triage::FactsIn>::read(&state, &headers, &case_ref, body).await?;
    let decision = triage::confirm_facts(
        state.intake.db(),
        &state.keys,
        &state.rules,
        p.member.id,
        &case,
        &req,
    )
    .await
    .map_err(|e| refused(e, lang))?;
    Ok(Json(crate::channels::api::RoutingOut::new(
        &decision,
        &state.directory,
        lang,
    ))
    .into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Events before this sequence number (the last `seq` of the previous page).
    pub before: Option<i64>,
}

/// The audit log, newest first (admins).
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "triage",
    params(AuditQuery),
    responses(
        (status = 200, body = Vec<crate::audit::Record>),
        (status = 403, description = "forbidden: admins only", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn audit_log(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let lang = header_language(&headers);
    let Query(q) = q.map_err(|_| ApiError::field(ErrorCode::InvalidField, "before", lang))?;
    let p = principal(&state, &headers, lang).await?;
    if p.member.role != Role::Admin {
        return Err(ApiError::new(ErrorCode::Forbidden, lang));
    }
    let records = crate::audit::recent(state.intake.db(), &state.keys, q.before, 100)
        .await
        .map_err(|e| ApiError::internal(&e, lang))?;
    Ok(Json(records).into_response())
}
