//! The pages of advocates under `/org` (same sign-in, TOTP and sessions as the
//! triage console): the organization's cases, filing for a member or a group, a
//! case with its questions and members, and the RRM workflow with the petition
//! export. Server-rendered, no JavaScript; Spanish by default, English with
//! `?lang=en`.
//!
//! The filing form takes a group's members one per line (`name; phone; worker id`,
//! or `-` for a member who stays anonymous) with one consent record that applies to
//! each of them; the JSON API takes a consent per member.

mod filing;
mod rrm;
#[cfg(test)]
mod tests;
pub use filing::*;
pub use rrm::*;

use crate::cases::members::MemberIdentity;
use crate::cases::{self, CaseOut, QueueItem, Refused, Scope};
use crate::channels::api::{ComplainantIn, ComplaintRequest, CountOrUnknown, WorkplaceIn};
use crate::channels::web::form::FormFields;
use crate::domain::{Language, Sector, StateCode, Text, TradeNexus, Violation, limits};
use crate::error::{ApiError, ErrorCode};
use crate::http::AppState;
use crate::http::extract::Path;
use crate::http::org::api::{RrmView, Upload, answer, petition_response, read_upload, rrm_view};
use crate::http::pages::{L, Me, Opt, internal, lang_of, options, read_form, see_other, signed_in};
use crate::http::session::Principal;
use crate::http::web::{error_page, render};
use crate::intake::members::{ConsentIn, MemberIn, Use};
use crate::routing::petition::{Block, Document, RrmAnswers};
use crate::staff::Role;
use askama::Template;
use axum::body::Body;
use axum::extract::{Multipart, RawQuery, State};
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
    let db = state.intake.reads();
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
