//! The JSON API of advocates: file on behalf of members (`POST /api/v1/complaints`
//! with an advocate's bearer token), read the organization's cases (`GET
//! /api/v1/cases`, `GET /api/v1/cases/{ref}`: the triage endpoints, scoped to the
//! organization), answer questions, and the RRM workflow under
//! `/api/v1/cases/{ref}/rrm`.

use crate::advocacy::rrm::{self, EvidenceOut, Question};
use crate::audit::{self, Event};
use crate::cases::petition::{self, PetitionStatus};
use crate::cases::{self, Scope};
use crate::channels::api::{ComplaintCreated, ComplaintRequest, RrmOut};
use crate::domain::{CaseStatus, Channel, Language, Text, limits};
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::http::AppState;
use crate::http::extract::Path;
use crate::http::extract::{header_language, read_json};
use crate::http::session::Principal;
use crate::http::staff_api::{principal, refused};
use crate::routing::petition::RrmAnswers;
use crate::staff::Role;
use axum::Json;
use axum::body::Body;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// The caller's organization: 403 unless they are an advocate with one.
pub fn org_of(p: &Principal, lang: Language) -> Result<Uuid, ApiError> {
    match (p.member.role, p.member.org_id()) {
        (Role::Advocate, Some(org)) => Ok(org),
        _ => Err(ApiError::new(ErrorCode::Forbidden, lang)),
    }
}

/// An advocate and one of their organization's cases (404 for any other case).
async fn org_case(
    state: &AppState,
    headers: &HeaderMap,
    case_ref: &str,
    write: bool,
    lang: Language,
) -> Result<(Principal, entity::case::Model), ApiError> {
    let p = principal(state, headers, lang).await?;
    let org = org_of(&p, lang)?;
    if write && !p.csrf_ok(headers, None) {
        return Err(ApiError::new(ErrorCode::CsrfFailed, lang));
    }
    let case =
        crate::http::staff_api::case_in_scope(state, &Scope::Org(org), case_ref, lang).await?;
    Ok((p, case))
}

/// A state change on one of the organization's cases: the advocate (CSRF checked
/// when signed in by cookie), the case (404 for any other) and the JSON body.
async fn org_change<T: serde::de::DeserializeOwned>(
    state: &AppState,
    headers: &HeaderMap,
    case_ref: &str,
    body: Body,
) -> Result<(Principal, entity::case::Model, T, Language), ApiError> {
    let lang = header_language(headers);
    let (p, case) = org_case(state, headers, case_ref, true, lang).await?;
    let req: T = read_json(state, headers, body, lang).await?;
    Ok((p, case, req, lang))
}

/// `POST /api/v1/complaints` with an advocate's token (see [`ComplaintRequest`]).
pub async fn file(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    lang: Language,
) -> Result<Response, ApiError> {
    let p = principal(state, headers, lang).await?;
    let org = org_of(&p, lang)?;
    let cap = state.settings.max_body_bytes * crate::http::extract::FILING_BODY_FACTOR;
    let request: ComplaintRequest =
        crate::http::extract::read_json_within(headers, body, lang, cap).await?;
    let lang = crate::channels::api::body_language(request.language.as_deref(), lang);
    let (complaint, on_behalf, consent) =
        crate::channels::api::validate_filing(request, org, p.member.id, Channel::Api, lang)?;
    let filed = crate::advocacy::filing::file_complaint(
        &state.intake,
        &state.keys,
        &complaint,
        on_behalf,
        &consent,
    )
    .await
    .map_err(|e| ApiError::internal(&e, lang))?;
    let organization = crate::staff::org_name(state.intake.db(), org)
        .await
        .map_err(|e| ApiError::internal(&e, lang))?;
    let created = ComplaintCreated::new(filed, &state.directory, organization);
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    /// The answer to staff's question, or an update for the case.
    #[schema(max_length = 5000)]
    pub message: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MessageAdded {
    pub case_ref: String,
    /// The case's status now (an answer moves `info_requested` back to `in_review`).
    pub status: String,
}

/// Answer staff's question on one of the organization's cases (or send an update).
#[utoipa::path(
    post,
    path = "/api/v1/cases/{case_ref}/messages",
    tag = "advocates",
    params(("case_ref" = String, Path)),
    request_body = AnswerRequest,
    responses(
        (status = 201, body = MessageAdded),
        (status = 403, description = "forbidden: advocates only", body = ErrorBody),
        (status = 404, description = "case_not_found: not one of your organization's cases", body = ErrorBody),
        (status = 409, description = "case_closed", body = ErrorBody),
        (status = 422, description = "missing_field or too_long", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn message(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let (p, case, req, lang) =
        org_change::<AnswerRequest>(&state, &headers, &case_ref, body).await?;
    let text = Text::parse(req.message.as_deref().unwrap_or(""), limits::MESSAGE)
        .map_err(|code| ApiError::field(code, "message", lang))?;
    let case = answer(&state, &p, &case, &text)
        .await
        .map_err(|e| refused(e, lang))?;
    Ok((
        StatusCode::CREATED,
        Json(MessageAdded {
            case_ref: case.case_ref,
            status: case.status,
        }),
    )
        .into_response())
}

/// The organization's message on its case (shared by the API and the pages).
pub async fn answer(
    state: &AppState,
    p: &Principal,
    case: &entity::case::Model,
    text: &Text,
) -> Result<entity::case::Model, cases::Refused> {
    let status = CaseStatus::parse(&case.status).unwrap_or(CaseStatus::Received);
    if !status.accepts_messages() {
        return Err(cases::Refused::Closed);
    }
    use sea_orm::TransactionTrait;
    let txn = state.intake.db().begin().await?;
    let case = state
        .intake
        .append_message_as(&txn, case.id, text, crate::intake::AUTHOR_ADVOCATE, None)
        .await?;
    audit::append(
        &txn,
        &state.keys,
        Event::new(Some(p.member.id), "advocate_message").case(case.id),
    )
    .await?;
    txn.commit().await.map_err(anyhow::Error::from)?;
    Ok(case)
}

/// Where a flagged case's petition stands, with what the screening asked.
#[derive(Serialize, ToSchema)]
pub struct RrmView {
    pub case_ref: String,
    /// The screening with the answers taken into account.
    pub screening: RrmOut,
    /// What the case's screening could not settle, and whether it is answered.
    pub questions: Vec<Question>,
    pub answers: RrmAnswers,
    pub evidence: Vec<EvidenceOut>,
    pub petition: PetitionStatus,
}

/// The RRM view of a case (API and pages).
pub async fn rrm_view(
    state: &AppState,
    case: &entity::case::Model,
    lang: Language,
) -> Result<RrmView, cases::Refused> {
    rrm::flagged(case)?;
    let db = state.intake.db();
    let s = rrm::screening(db, &state.keys, &state.rules, case).await?;
    let routing = crate::channels::api::RoutingOut::new(&s.decision, &state.directory, lang);
    Ok(RrmView {
        case_ref: case.case_ref.clone(),
        screening: routing.rrm,
        questions: rrm::questions(&s.asked, &s.answers, lang),
        evidence: rrm::evidence(db, &state.keys, case.id).await?,
        petition: petition::status(db, case.id).await?,
        answers: s.answers,
    })
}

/// The RRM workflow of one of the organization's flagged cases.
#[utoipa::path(
    get,
    path = "/api/v1/cases/{case_ref}/rrm",
    tag = "advocates",
    params(("case_ref" = String, Path)),
    responses(
        (status = 200, body = RrmView),
        (status = 404, description = "case_not_found", body = ErrorBody),
        (status = 409, description = "not_rrm_candidate: the screening did not flag the case", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn show_rrm(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
) -> Result<Response, ApiError> {
    let lang = header_language(&headers);
    let (_, case) = org_case(&state, &headers, &case_ref, false, lang).await?;
    let view = rrm_view(&state, &case, lang)
        .await
        .map_err(|e| refused(e, lang))?;
    Ok(Json(view).into_response())
}

/// Save the answers to the screening's questions and the petition's elements
/// (replacing earlier answers; absent fields are cleared).
#[utoipa::path(
    put,
    path = "/api/v1/cases/{case_ref}/rrm",
    tag = "advocates",
    params(("case_ref" = String, Path)),
    request_body = RrmAnswers,
    responses(
        (status = 200, body = RrmView),
        (status = 404, description = "case_not_found", body = ErrorBody),
        (status = 409, description = "not_rrm_candidate", body = ErrorBody),
        (status = 422, description = "invalid_field (a code or a future date) or too_long", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn save_rrm(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let (p, case, answers, lang) =
        org_change::<RrmAnswers>(&state, &headers, &case_ref, body).await?;
    rrm::save_answers(state.intake.db(), &state.keys, p.member.id, &case, answers)
        .await
        .map_err(|e| refused(e, lang))?;
    let view = rrm_view(&state, &case, lang)
        .await
        .map_err(|e| refused(e, lang))?;
    Ok(Json(view).into_response())
}

/// A `multipart/form-data` evidence upload: `file` and an optional `description`
/// (and `csrf`, for the pages). Anything else is ignored.
pub struct Upload {
    pub csrf: Option<String>,
    pub filename: Option<String>,
    pub description: Option<String>,
    pub bytes: Vec<u8>,
    /// `lang` of the page form.
    pub lang: Option<String>,
}

/// Reads an upload, refusing a file over the limit while it streams.
pub async fn read_upload(mut form: Multipart) -> Result<Upload, ErrorCode> {
    let mut up = Upload {
        csrf: None,
        filename: None,
        description: None,
        bytes: Vec::new(),
        lang: None,
    };
    let small = |t: String| (t.len() <= 4096).then_some(t);
    let mut seen_file = false;
    while let Some(mut f) = form
        .next_field()
        .await
        .map_err(|_| ErrorCode::BodyIncomplete)?
    {
        match f.name().unwrap_or_default() {
            "file" => {
                // One file a request: a second part would be appended to the first.
                if seen_file {
                    return Err(ErrorCode::TooManyValues);
                }
                seen_file = true;
                up.filename = f.file_name().map(str::to_owned);
                while let Some(chunk) = f.chunk().await.map_err(|_| ErrorCode::BodyIncomplete)? {
                    if up.bytes.len() + chunk.len() > rrm::MAX_EVIDENCE_BYTES {
                        return Err(ErrorCode::PayloadTooLarge);
                    }
                    up.bytes.extend_from_slice(&chunk);
                }
            }
            name @ ("description" | "csrf" | "lang") => {
                let name = name.to_owned();
                let text = f.text().await.map_err(|_| ErrorCode::InvalidEncoding)?;
                let text = small(text).ok_or(ErrorCode::TooLong)?;
                match name.as_str() {
                    "description" => up.description = Some(text),
                    "csrf" => up.csrf = Some(text),
                    _ => up.lang = Some(text),
                }
            }
            _ => {}
        }
    }
    Ok(up)
}

/// Attach evidence to a flagged case (`multipart/form-data`: `file`, optional
/// `description`). PDF, JPEG, PNG, WebP, OGG, MP3, M4A, MP4 or UTF-8 text, up to
/// 10 MB, recognized by content; at most 20 per case. Stored encrypted.
#[utoipa::path(
    post,
    path = "/api/v1/cases/{case_ref}/rrm/evidence",
    tag = "advocates",
    params(("case_ref" = String, Path)),
    request_body(content_type = "multipart/form-data", description = "`file` and `description`"),
    responses(
        (status = 201, body = EvidenceOut),
        (status = 404, description = "case_not_found", body = ErrorBody),
        (status = 409, description = "not_rrm_candidate", body = ErrorBody),
        (status = 413, description = "payload_too_large", body = ErrorBody),
        (status = 415, description = "unsupported_media_type: not multipart/form-data", body = ErrorBody),
        (status = 422, description = "unsupported_evidence, missing_field (file) or too_many_values", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn add_evidence(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, ApiError> {
    let lang = header_language(&headers);
    let (p, case) = org_case(&state, &headers, &case_ref, true, lang).await?;
    let form = form.map_err(|_| ApiError::new(ErrorCode::UnsupportedMediaType, lang))?;
    let up = read_upload(form)
        .await
        .map_err(|code| ApiError::new(code, lang))?;
    let out = rrm::add_evidence(
        state.intake.db(),
        &state.keys,
        p.member.id,
        &case,
        up.filename.as_deref(),
        up.description.as_deref(),
        &up.bytes,
    )
    .await
    .map_err(|e| refused(e, lang))?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// Evidence as a download, decrypted (on the audit record).
pub fn download(mime: &str, filename: &str, bytes: Vec<u8>) -> Response {
    let safe: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let encoded =
        percent_encoding::utf8_percent_encode(filename, percent_encoding::NON_ALPHANUMERIC);
    let disposition = format!("attachment; filename=\"{safe}\"; filename*=UTF-8''{encoded}");
    let mut response = crate::http::staff_api::file_response(mime, bytes);
    if let Ok(v) = header::HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// Download one piece of evidence of the organization's case.
#[utoipa::path(
    get,
    path = "/api/v1/cases/{case_ref}/rrm/evidence/{id}",
    tag = "advocates",
    params(("case_ref" = String, Path), ("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The file"),
        (status = 404, description = "case_not_found or not_found", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn evidence_file(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((case_ref, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let lang = header_language(&headers);
    let (p, case) = org_case(&state, &headers, &case_ref, false, lang).await?;
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::new(ErrorCode::NotFound, lang))?;
    match rrm::evidence_file(state.intake.db(), &state.keys, p.member.id, &case, id)
        .await
        .map_err(|e| ApiError::internal(&e, lang))?
    {
        Some((mime, name, bytes)) => Ok(download(&mime, &name, bytes)),
        None => Err(ApiError::new(ErrorCode::NotFound, lang)),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PetitionRequest {
    /// `odt` (default: OpenDocument text, to edit), `html` (to print) or `md`.
    pub format: Option<String>,
}

/// Export the bilingual petition draft. A POST: the first export records that a
/// petition was prepared; every export is on the audit record. Members are named
/// only when their consent covers a petition.
#[utoipa::path(
    post,
    path = "/api/v1/cases/{case_ref}/rrm/petition",
    tag = "advocates",
    params(("case_ref" = String, Path)),
    request_body = PetitionRequest,
    responses(
        (status = 200, description = "The draft (application/vnd.oasis.opendocument.text, text/html or text/markdown)"),
        (status = 404, description = "case_not_found", body = ErrorBody),
        (status = 409, description = "not_rrm_candidate", body = ErrorBody),
        (status = 422, description = "invalid_field (format)", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn petition(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let (p, case, req, lang) =
        org_change::<PetitionRequest>(&state, &headers, &case_ref, body).await?;
    let format = req.format.unwrap_or_else(|| "odt".to_owned());
    if !matches!(format.as_str(), "odt" | "html" | "md") {
        return Err(ApiError::field(ErrorCode::InvalidField, "format", lang));
    }
    petition_response(&state, &p, &case, &format, lang)
        .await
        .map_err(|e| refused(e, lang))
}

/// The export in one format, recorded (API and pages).
pub async fn petition_response(
    state: &AppState,
    p: &Principal,
    case: &entity::case::Model,
    format: &str,
    lang: Language,
) -> Result<Response, cases::Refused> {
    rrm::flagged(case)?;
    let docs = rrm::export(
        state.intake.db(),
        &state.keys,
        &state.rules,
        Some(p.member.id),
        case,
        format,
    )
    .await?;
    let name = format!("peticion-mlrr-{}", case.case_ref);
    Ok(match format {
        "html" => super::console::petition_page(docs, lang),
        "md" => {
            let mut text = String::new();
            for d in &docs {
                crate::routing::petition::markdown_into(d, &mut text);
            }
            (
                [
                    (
                        header::CONTENT_TYPE,
                        "text/markdown; charset=utf-8".to_owned(),
                    ),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}.md\""),
                    ),
                ],
                text,
            )
                .into_response()
        }
        _ => {
            let bytes = crate::routing::petition::odt(&docs)?;
            (
                [
                    (
                        header::CONTENT_TYPE,
                        crate::routing::petition::ODT_CONTENT_TYPE.to_owned(),
                    ),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}.odt\""),
                    ),
                ],
                bytes,
            )
                .into_response()
        }
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FiledRequest {
    /// When the petition was filed with the U.S. (YYYY-MM-DD).
    #[schema(example = "2026-11-20")]
    pub filed_on: Option<String>,
}

/// Record that the petition was filed: the ILC's 30-day review runs from that day.
#[utoipa::path(
    post,
    path = "/api/v1/cases/{case_ref}/rrm/filed",
    tag = "advocates",
    params(("case_ref" = String, Path)),
    request_body = FiledRequest,
    responses(
        (status = 200, body = PetitionStatus),
        (status = 404, description = "case_not_found", body = ErrorBody),
        (status = 409, description = "not_rrm_candidate or petition_not_prepared (export a draft first)", body = ErrorBody),
        (status = 422, description = "missing_field or invalid_field (filed_on: not a date, in the future, or before 2020-07-01)", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn filed(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let (p, case, req, lang) =
        org_change::<FiledRequest>(&state, &headers, &case_ref, body).await?;
    let status = rrm::mark_filed(
        state.intake.db(),
        &state.keys,
        p.member.id,
        &case,
        req.filed_on.as_deref(),
    )
    .await
    .map_err(|e| refused(e, lang))?;
    Ok(Json(status).into_response())
}
