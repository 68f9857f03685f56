//! The pages of advocates under `/org` (same sign-in, TOTP and sessions as the
//! triage console): the organization's cases, filing for a member or a group, a
//! case with its questions and members, and the RRM workflow with the petition
//! export. Server-rendered, no JavaScript; Spanish by default, English with
//! `?lang=en`.
//!
//! The filing form takes a group's members one per line (`name; phone; worker id`,
//! or `-` for a member who stays anonymous) with one consent record that applies to
//! each of them; the JSON API takes a consent per member.

use super::api::{RrmView, Upload, answer, petition_response, read_upload, rrm_view};
use crate::cases::members::MemberIdentity;
use crate::cases::{self, CaseOut, QueueItem, Refused, Scope};
use crate::channels::api::{ComplainantIn, ComplaintRequest, CountOrUnknown, WorkplaceIn};
use crate::channels::web::form::FormFields;
use crate::domain::{Language, Sector, StateCode, Text, TradeNexus, Violation, limits};
use crate::error::{ApiError, ErrorCode};
use crate::http::AppState;
use crate::http::pages::{L, Me, Opt, internal, lang_of, options, read_form, see_other, signed_in};
use crate::http::session::Principal;
use crate::http::web::{error_page, render};
use crate::intake::members::{ConsentIn, MemberIn, Use};
use crate::routing::petition::{Block, Document, RrmAnswers};
use crate::staff::Role;
use askama::Template;
use axum::body::Body;
use axum::extract::{Multipart, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use uuid::Uuid;

/// Signed in as an advocate of an organization (403 for anyone else).
async fn advocate(
    state: &AppState,
    headers: &HeaderMap,
    l: L,
) -> Result<(Principal, Uuid), Response> {
    let p = signed_in(state, headers, l).await?;
    match (p.member.role, p.member.org_id()) {
        (Role::Advocate, Some(org)) => Ok((p, org)),
        _ => Err(error_page(ErrorCode::Forbidden, l.lang, None)),
    }
}

async fn org_case(
    state: &AppState,
    org: Uuid,
    case_ref: &str,
    l: L,
) -> Result<entity::case::Model, Response> {
    match cases::find(state.intake.db(), &Scope::Org(org), case_ref).await {
        Ok(Some(c)) => Ok(c),
        Ok(None) => Err(error_page(ErrorCode::CaseNotFound, l.lang, None)),
        Err(e) => Err(internal(&e, l)),
    }
}

/// An advocate and one of their organization's cases (404 for any other case).
async fn advocate_case(
    state: &AppState,
    headers: &HeaderMap,
    case_ref: &str,
    l: L,
) -> Result<(Principal, Uuid, entity::case::Model), Response> {
    let (p, org) = advocate(state, headers, l).await?;
    let case = org_case(state, org, case_ref, l).await?;
    Ok((p, org, case))
}

/// 422 for a page shown again with the sender's mistake, 200 otherwise.
fn page_status(error: &Option<String>) -> StatusCode {
    if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    }
}

fn message_of(e: &ApiError, l: L) -> String {
    match &e.field {
        Some(f) => format!("{} ({f})", e.code.message(l.lang)),
        None => e.code.message(l.lang).to_owned(),
    }
}

fn refusal_text(e: &Refused, l: L) -> Option<String> {
    e.code()
        .map(|(code, field)| format!("{} ({field})", code.message(l.lang)))
}

// ---- the organization's cases ----

#[derive(Template)]
#[template(path = "advocacy/cases.html")]
struct CasesPage {
    l: L,
    me: Me,
    org: String,
    items: Vec<QueueItem>,
    next: Option<String>,
}

pub async fn cases_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let l = lang_of(&headers, q.as_deref());
    let (p, org) = match advocate(&state, &headers, l).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let db = state.intake.db();
    let filters = cases::Filters {
        status: Some(cases::StatusFilter::All),
        ..Default::default()
    };
    // Pages of 50 in the queue's order, by its keyset cursor.
    let cursor = q
        .as_deref()
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("cursor="))
        .and_then(cases::Cursor::decode);
    let (items, next) =
        match cases::queue(db, &Scope::Org(org), &filters, cursor.as_ref(), cases::PAGE).await {
            Ok(v) => v,
            Err(e) => return internal(&e, l),
        };
    let next = next.map(|c| format!("/org?lang={}&cursor={}", l.code(), c.encode()));
    let org = match crate::staff::org_name(db, org).await {
        Ok(n) => n.unwrap_or_default(),
        Err(e) => return internal(&e, l),
    };
    render(
        StatusCode::OK,
        &CasesPage {
            l,
            me: Me::of(&p),
            org,
            items,
            next,
        },
    )
}

// ---- filing ----

#[derive(Template)]
#[template(path = "advocacy/file.html")]
struct FilePage {
    l: L,
    me: Me,
    error: Option<String>,
    f: FormFields,
    states: Vec<Opt>,
    sectors: Vec<Opt>,
    trades: Vec<Opt>,
    violations: Vec<Opt>,
    uses: Vec<Opt>,
    today: String,
}

impl FilePage {
    fn v(&self, name: &str) -> String {
        self.f.get(name).unwrap_or_default().to_owned()
    }
    fn collective(&self) -> bool {
        self.f.get("kind") == Some("collective")
    }
    /// Consent is usually recorded the day it is filed: today unless given.
    fn consent_date(&self) -> String {
        self.f
            .get("consent_date")
            .map_or_else(|| self.today.clone(), str::to_owned)
    }
    fn is(&self, name: &str, value: &str) -> bool {
        self.f.get(name) == Some(value)
    }
}

fn file_page(p: &Principal, l: L, f: FormFields, error: Option<String>) -> Response {
    let violations_checked = f.all("violations");
    let uses_checked = if f.get("csrf").is_some() {
        f.all("consent_uses")
    } else {
        vec![Use::Complaint.code().to_owned()]
    };
    let page = FilePage {
        l,
        me: Me::of(p),
        states: options(
            StateCode::ALL,
            StateCode::code,
            |s| s.label(l.lang),
            f.get("state"),
        ),
        sectors: options(
            Sector::ALL,
            Sector::code,
            |s| s.label(l.lang),
            f.get("sector"),
        ),
        trades: options(
            TradeNexus::ALL,
            TradeNexus::code,
            |t| t.label(l.lang),
            f.get("trade_with_us").or(Some("unknown")),
        ),
        violations: Violation::ALL
            .iter()
            .map(|v| Opt {
                value: v.code(),
                label: v.label(l.lang),
                selected: violations_checked.iter().any(|c| c == v.code()),
            })
            .collect(),
        uses: Use::ALL
            .iter()
            .map(|u| Opt {
                value: u.code(),
                label: u.label(l.lang),
                selected: uses_checked.iter().any(|c| c == u.code()),
            })
            .collect(),
        today: chrono::Utc::now().date_naive().to_string(),
        error,
        f,
    };
    render(page_status(&page.error), &page)
}

pub async fn show_file(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let l = lang_of(&headers, q.as_deref());
    match advocate(&state, &headers, l).await {
        Ok((p, _)) => file_page(&p, l, FormFields::default(), None),
        Err(r) => r,
    }
}

/// One member per line: `name; phone; worker id` (any may be empty), `-` alone for
/// an anonymous member.
fn member_lines(text: &str, consent: &ConsentIn) -> Vec<MemberIn> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| {
            let parts: Vec<&str> = if line == "-" {
                Vec::new()
            } else {
                line.split(';').map(str::trim).collect()
            };
            let at = |i: usize| {
                parts
                    .get(i)
                    .filter(|s| !s.is_empty())
                    .map(|s| (*s).to_owned())
            };
            let contact = at(1);
            let (phone, email) = match contact {
                Some(c) if c.contains('@') => (None, Some(c)),
                c => (c, None),
            };
            MemberIn {
                name: at(0),
                phone,
                email,
                worker_id: at(2),
                consent: Some(consent.clone()),
            }
        })
        .collect()
}

/// What the form filed, with the names as typed (shown once, never stored in
/// the clear) so the advocate knows whose receipt is whose.
struct FiledMember {
    position: i32,
    label: String,
    receipt: String,
}

#[derive(Template)]
#[template(path = "advocacy/filed.html")]
struct FiledPage {
    l: L,
    me: Me,
    case_ref: String,
    receipt: String,
    collective: bool,
    members: Vec<FiledMember>,
    status_url: String,
}

pub async fn file(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let (f, l) = match read_form(&state, &headers, body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (p, org) = match advocate(&state, &headers, l).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !p.csrf_ok(&headers, f.get("csrf")) {
        let text = ErrorCode::CsrfFailed.message(l.lang).to_owned();
        return file_page(&p, l, f, Some(text));
    }
    let consent = ConsentIn {
        given_by: f.owned("consent_given_by"),
        method: f.owned("consent_method"),
        date: f.owned("consent_date"),
        uses: Some(f.all("consent_uses")),
    };
    let collective = f.get("kind") == Some("collective");
    let listed = if collective {
        member_lines(f.get("members").unwrap_or_default(), &consent)
    } else {
        Vec::new()
    };
    let labels: Vec<String> = listed
        .iter()
        .map(|m| {
            m.name
                .clone()
                .unwrap_or_else(|| l.t("(anónimo)", "(anonymous)").to_owned())
        })
        .collect();
    let workers_affected = if collective {
        match f
            .get("workers_affected")
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(n) => match n.replace([',', '.', ' '], "").parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    let text = format!(
                        "{} (workers_affected)",
                        ErrorCode::InvalidNumber.message(l.lang)
                    );
                    return file_page(&p, l, f, Some(text));
                }
            },
        }
    } else {
        None
    };
    let request = ComplaintRequest {
        language: f.owned("member_language"),
        anonymous: None,
        complainant: (!collective).then(|| ComplainantIn {
            name: f.owned("name"),
            phone: f.owned("phone"),
            email: f.owned("email"),
            worker_id: f.owned("worker_id"),
        }),
        workplace: Some(WorkplaceIn {
            employer: f.owned("employer"),
            city: f.owned("city"),
            state: f.owned("state"),
            sector: f.owned("sector"),
            trade_with_us: f.owned("trade_with_us"),
            workers: f.owned("workers").map(CountOrUnknown::Text),
        }),
        violations: Some(f.all("violations")),
        narrative: f.owned("narrative"),
        occurred_on: f.owned("occurred_on"),
        consent: Some(consent),
        members: collective.then_some(listed),
        workers_affected: if collective {
            Some(workers_affected.unwrap_or(i64::try_from(labels.len()).unwrap_or(0)))
        } else {
            None
        },
    };
    let validated = crate::channels::api::validate_filing(
        request,
        org,
        p.member.id,
        crate::domain::Channel::Web,
        l.lang,
    );
    let (complaint, on_behalf, consent) = match validated {
        Ok(v) => v,
        Err(e) => {
            let text = message_of(&e, l);
            return file_page(&p, l, f, Some(text));
        }
    };
    let filed = match crate::advocacy::filing::file_complaint(
        &state.intake,
        &state.keys,
        &complaint,
        on_behalf,
        &consent,
    )
    .await
    {
        Ok(filed) => filed,
        Err(e) => return internal(&e, l),
    };
    let members = filed
        .members
        .iter()
        .map(|m| FiledMember {
            position: m.position,
            label: usize::try_from(m.position - 1)
                .ok()
                .and_then(|i| labels.get(i).cloned())
                .unwrap_or_default(),
            receipt: m.receipt.to_string(),
        })
        .collect();
    let page = FiledPage {
        l,
        me: Me::of(&p),
        case_ref: filed.case_ref.clone(),
        receipt: filed.receipt.to_string(),
        collective,
        members,
        status_url: "/status".to_owned(),
    };
    let mut response = render(StatusCode::CREATED, &page);
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

// ---- one case ----

#[derive(Template)]
#[template(path = "advocacy/case.html")]
struct CasePage {
    l: L,
    me: Me,
    case: CaseOut,
    members: Option<Vec<MemberIdentity>>,
    error: Option<String>,
    flagged: bool,
    /// `(code, name)` of the authorities the case goes to, in the page's language.
    authority_names: Vec<(String, String)>,
}

impl CasePage {
    fn waiting(&self) -> bool {
        self.case.status == "info_requested"
    }

    fn authority_name(&self, code: &str) -> String {
        self.authority_names
            .iter()
            .find(|(c, _)| c == code)
            .map_or_else(|| code.to_owned(), |(_, name)| name.clone())
    }

    fn use_label(&self, code: &str) -> &'static str {
        Use::parse(code).map_or("?", |u| u.label(self.l.lang))
    }
}

async fn case_page(
    state: &AppState,
    p: &Principal,
    org: Uuid,
    case: &entity::case::Model,
    l: L,
    members: Option<Vec<MemberIdentity>>,
    error: Option<String>,
) -> Response {
    let out = match cases::detail(
        state.intake.db(),
        &state.keys,
        &Scope::Org(org),
        case,
        l.lang,
    )
    .await
    {
        Ok(o) => o,
        Err(e) => return internal(&e, l),
    };
    render(
        page_status(&error),
        &CasePage {
            l,
            me: Me::of(p),
            flagged: crate::advocacy::rrm::flagged(case).is_ok(),
            authority_names: out
                .routing
                .iter()
                .flat_map(|r| r.referrals.iter())
                .map(|r| {
                    (
                        r.authority.clone(),
                        state.directory.name(&r.authority, l.lang),
                    )
                })
                .collect(),
            case: out,
            members,
            error,
        },
    )
}

pub async fn show_case(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let l = lang_of(&headers, q.as_deref());
    match advocate_case(&state, &headers, &case_ref, l).await {
        Ok((p, org, case)) => case_page(&state, &p, org, &case, l, None, None).await,
        Err(r) => r,
    }
}

/// A case action's prologue: form read, advocate signed in, case theirs, CSRF.
async fn action(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    case_ref: &str,
) -> Result<(Principal, Uuid, entity::case::Model, FormFields, L), Response> {
    let (f, l) = read_form(state, headers, body).await?;
    let (p, org, case) = advocate_case(state, headers, case_ref, l).await?;
    if !p.csrf_ok(headers, f.get("csrf")) {
        let text = ErrorCode::CsrfFailed.message(l.lang).to_owned();
        return Err(case_page(state, &p, org, &case, l, None, Some(text)).await);
    }
    Ok((p, org, case, f, l))
}

pub async fn message(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
    body: Body,
) -> Response {
    let (p, org, case, f, l) = match action(&state, &headers, body, &case_ref).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let text = match Text::parse(f.get("message").unwrap_or(""), limits::MESSAGE) {
        Ok(t) => t,
        Err(code) => {
            let text = format!("{} (message)", code.message(l.lang));
            return case_page(&state, &p, org, &case, l, None, Some(text)).await;
        }
    };
    match answer(&state, &p, &case, &text).await {
        Ok(_) => see_other(&format!("/org/cases/{}?lang={}", case.case_ref, l.code())),
        Err(e) => match refusal_text(&e, l) {
            Some(text) => case_page(&state, &p, org, &case, l, None, Some(text)).await,
            None => internal(&anyhow::anyhow!("{e}"), l),
        },
    }
}

pub async fn reveal(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
    body: Body,
) -> Response {
    let (p, org, case, f, l) = match action(&state, &headers, body, &case_ref).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match cases::reveal(
        state.intake.db(),
        &state.keys,
        p.member.id,
        &Scope::Org(org),
        &case,
        f.get("reason"),
    )
    .await
    {
        Ok(who) => case_page(&state, &p, org, &case, l, Some(who.members), None).await,
        Err(e) => match refusal_text(&e, l) {
            Some(text) => case_page(&state, &p, org, &case, l, None, Some(text)).await,
            None => internal(&anyhow::anyhow!("{e}"), l),
        },
    }
}

// ---- the RRM workflow ----

#[derive(Template)]
#[template(path = "advocacy/rrm.html")]
struct RrmPage {
    l: L,
    me: Me,
    view: RrmView,
    sectors: Vec<Opt>,
    trades: Vec<Opt>,
    error: Option<String>,
    saved: bool,
}

impl RrmPage {
    fn a(&self, v: &Option<String>) -> String {
        v.clone().unwrap_or_default()
    }
    fn occurred(&self) -> String {
        self.view
            .answers
            .occurred_on
            .map(|d| d.to_string())
            .unwrap_or_default()
    }
    fn today(&self) -> String {
        chrono::Utc::now().date_naive().to_string()
    }
}

async fn rrm_page(
    state: &AppState,
    p: &Principal,
    case: &entity::case::Model,
    l: L,
    error: Option<String>,
    saved: bool,
) -> Response {
    let view = match rrm_view(state, case, l.lang).await {
        Ok(v) => v,
        Err(e) => {
            return match e.code() {
                Some((code, _)) => error_page(code, l.lang, None),
                None => internal(&anyhow::anyhow!("{e}"), l),
            };
        }
    };
    let sectors = options(
        Sector::ALL,
        Sector::code,
        |s| s.label(l.lang),
        view.answers.sector.as_deref(),
    );
    let trades = options(
        TradeNexus::ALL,
        TradeNexus::code,
        |t| t.label(l.lang),
        view.answers.trade_with_us.as_deref(),
    );
    render(
        page_status(&error),
        &RrmPage {
            l,
            me: Me::of(p),
            view,
            sectors,
            trades,
            error,
            saved,
        },
    )
}

pub async fn show_rrm(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let l = lang_of(&headers, q.as_deref());
    let saved = q.as_deref().is_some_and(|q| q.contains("saved=1"));
    match advocate_case(&state, &headers, &case_ref, l).await {
        Ok((p, _, case)) => rrm_page(&state, &p, &case, l, None, saved).await,
        Err(r) => r,
    }
}

fn rrm_back(case: &entity::case::Model, l: L) -> Response {
    see_other(&format!(
        "/org/cases/{}/rrm?lang={}&saved=1",
        case.case_ref,
        l.code()
    ))
}

pub async fn save_rrm(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
    body: Body,
) -> Response {
    let (p, _, case, f, l) = match action(&state, &headers, body, &case_ref).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let occurred_on = match f
        .get("occurred_on")
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(d) => match chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                let text = format!("{} (occurred_on)", ErrorCode::InvalidDate.message(l.lang));
                return rrm_page(&state, &p, &case, l, Some(text), false).await;
            }
        },
    };
    let answers = RrmAnswers {
        legal_name: f.owned("legal_name"),
        address: f.owned("address"),
        sector: f.owned("sector").filter(|s| !s.is_empty()),
        goods: f.owned("goods"),
        trade_with_us: f.owned("trade_with_us").filter(|s| !s.is_empty()),
        trade_detail: f.owned("trade_detail"),
        union_history: f.owned("union_history"),
        occurred_on,
        timeline: f.owned("timeline"),
        remedies_tried: f.owned("remedies_tried"),
        remedy_sought: f.owned("remedy_sought"),
    };
    match crate::advocacy::rrm::save_answers(
        state.intake.db(),
        &state.keys,
        p.member.id,
        &case,
        answers,
    )
    .await
    {
        Ok(_) => rrm_back(&case, l),
        Err(e) => match refusal_text(&e, l) {
            Some(text) => rrm_page(&state, &p, &case, l, Some(text), false).await,
            None => internal(&anyhow::anyhow!("{e}"), l),
        },
    }
}

pub async fn evidence(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let l = lang_of(&headers, None);
    let (p, _, case) = match advocate_case(&state, &headers, &case_ref, l).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Ok(form) = form else {
        return error_page(ErrorCode::UnsupportedMediaType, l.lang, None);
    };
    let up: Upload = match read_upload(form).await {
        Ok(u) => u,
        Err(code) => return error_page(code, l.lang, None),
    };
    let l = L {
        lang: up
            .lang
            .as_deref()
            .and_then(Language::parse)
            .unwrap_or(l.lang),
    };
    if !p.csrf_ok(&headers, up.csrf.as_deref()) {
        let text = ErrorCode::CsrfFailed.message(l.lang).to_owned();
        return rrm_page(&state, &p, &case, l, Some(text), false).await;
    }
    match crate::advocacy::rrm::add_evidence(
        state.intake.db(),
        &state.keys,
        p.member.id,
        &case,
        up.filename.as_deref(),
        up.description.as_deref(),
        &up.bytes,
    )
    .await
    {
        Ok(_) => rrm_back(&case, l),
        Err(e) => match refusal_text(&e, l) {
            Some(text) => rrm_page(&state, &p, &case, l, Some(text), false).await,
            None => internal(&anyhow::anyhow!("{e}"), l),
        },
    }
}

pub async fn evidence_file(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((case_ref, id)): Path<(String, String)>,
) -> Response {
    let l = lang_of(&headers, None);
    let (p, _, case) = match advocate_case(&state, &headers, &case_ref, l).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Ok(id) = Uuid::parse_str(&id) else {
        return error_page(ErrorCode::NotFound, l.lang, None);
    };
    match crate::advocacy::rrm::evidence_file(
        state.intake.db(),
        &state.keys,
        p.member.id,
        &case,
        id,
    )
    .await
    {
        Ok(Some((mime, name, bytes))) => super::api::download(&mime, &name, bytes),
        Ok(None) => error_page(ErrorCode::NotFound, l.lang, None),
        Err(e) => internal(&e, l),
    }
}

/// The draft, from a form (a POST: the first export records the petition as
/// prepared).
pub async fn petition(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
    body: Body,
) -> Response {
    let (p, _, case, f, l) = match action(&state, &headers, body, &case_ref).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let format = f.get("format").unwrap_or("odt").to_owned();
    if !matches!(format.as_str(), "html" | "odt") {
        return error_page(ErrorCode::InvalidField, l.lang, None);
    }
    match petition_response(&state, &p, &case, &format, l.lang).await {
        Ok(r) => r,
        Err(e) => match e.code() {
            Some((code, _)) => error_page(code, l.lang, None),
            None => internal(&anyhow::anyhow!("{e}"), l),
        },
    }
}

pub async fn filed(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
    body: Body,
) -> Response {
    let (p, _, case, f, l) = match action(&state, &headers, body, &case_ref).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match crate::advocacy::rrm::mark_filed(
        state.intake.db(),
        &state.keys,
        p.member.id,
        &case,
        f.get("filed_on"),
    )
    .await
    {
        Ok(_) => rrm_back(&case, l),
        Err(e) => match refusal_text(&e, l) {
            Some(text) => rrm_page(&state, &p, &case, l, Some(text), false).await,
            None => internal(&anyhow::anyhow!("{e}"), l),
        },
    }
}

// ---- the printable petition ----

#[derive(Template)]
#[template(path = "advocacy/petition.html")]
struct PetitionPage {
    l: L,
    docs: [Document; 2],
}

/// The bilingual draft as a page to print (Spanish, a page break, English).
pub fn petition_page(docs: [Document; 2], lang: Language) -> Response {
    let mut response = render(
        StatusCode::OK,
        &PetitionPage {
            l: L { lang },
            docs,
        },
    );
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

impl PetitionPage {
    fn missing(&self, d: &Document) -> &'static str {
        d.missing_marker()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_lines_read_name_contact_and_id_or_a_dash_for_anonymous() {
        let c = ConsentIn::default();
        let m = member_lines(
            "Ana Ruiz; 477 123 4567; E-12\n\n  -  \nLuis; luis@example.org\n; ; 99",
            &c,
        );
        assert_eq!(m.len(), 4);
        assert_eq!(m[0].name.as_deref(), Some("Ana Ruiz"));
        assert_eq!(m[0].phone.as_deref(), Some("477 123 4567"));
        assert_eq!(m[0].worker_id.as_deref(), Some("E-12"));
        assert!(m[1].name.is_none() && m[1].phone.is_none() && m[1].email.is_none());
        assert_eq!(m[2].email.as_deref(), Some("luis@example.org"));
        assert!(m[2].phone.is_none());
        assert_eq!(
            (m[3].name.as_deref(), m[3].worker_id.as_deref()),
            (None, Some("99"))
        );
        assert!(m.iter().all(|m| m.consent.is_some()));
    }

    proptest::proptest! {
        #[test]
        fn member_lines_never_panic_and_give_one_member_per_filled_line(text in "(?s).{0,400}") {
            let m = member_lines(&text, &ConsentIn::default());
            proptest::prop_assert_eq!(m.len(), text.lines().filter(|l| !l.trim().is_empty()).count());
        }
    }
}
