//! The triage console under `/triage`: server-rendered pages that work without
//! JavaScript: the queue, the masked case with its actions, and for coordinators and
//! admins the statistics, the audit log and staff. Signing in is
//! [`crate::http::signin`]. Spanish by default, English with `?lang=en` (or the
//! browser's language).

use crate::audit::{self};
use crate::cases::{self, CaseOut, Identity, QueueItem, QueueQuery, Refused, Scope};
use crate::channels::web::form::FormFields;
use crate::domain::{CaseStatus, Channel, Sector, StateCode};
use crate::error::ErrorCode;
use crate::http::AppState;
use crate::http::extract::Path;
use crate::http::pages::*;
use crate::http::session::Principal;
use crate::http::web::{error_page, render};
use crate::staff::{self, Role};
use crate::triage;
use askama::Template;
use axum::body::Body;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use uuid::Uuid;

async fn case_worker(
    state: &AppState,
    headers: &HeaderMap,
    l: L,
) -> Result<(Principal, Scope), Response> {
    let p = signed_in(state, headers, l).await?;
    if p.member.role == Role::Coordinator {
        return Err(see_other(&format!("/triage/indicators?lang={}", l.code())));
    }
    if p.member.role == Role::Advocate {
        return Err(see_other(&format!("/org?lang={}", l.code())));
    }
    let scope =
        Scope::of(&p.member).ok_or_else(|| error_page(ErrorCode::Forbidden, l.lang, None))?;
    Ok((p, scope))
}

// ---- the queue ----

#[derive(Template)]
#[template(path = "triage/queue.html")]
struct QueuePage {
    l: L,
    me: Me,
    items: Vec<QueueItem>,
    next: Option<String>,
    statuses: Vec<Opt>,
    states: Vec<Opt>,
    sectors: Vec<Opt>,
    channels: Vec<Opt>,
    violations: Vec<Opt>,
    rrm: Vec<Opt>,
    from: String,
    to: String,
    mine: bool,
    /// Any filter set: the filter form starts open.
    filtered: bool,
    error: Option<String>,
}

pub async fn queue(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    query: Result<Query<QueueQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let l = lang_of(&headers, raw.as_deref());
    let (p, scope) = match case_worker(&state, &headers, l).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Ok(Query(q)) = query else {
        return error_page(ErrorCode::InvalidField, l.lang, None);
    };
    let (filters, cursor, error) = match q.filters(p.member.id) {
        Ok((f, c)) => (f, c, None),
        Err(field) => (
            cases::Filters::default(),
            None,
            Some(format!(
                "{}: {field}",
                ErrorCode::InvalidField.message(l.lang)
            )),
        ),
    };
    let (items, next) = match cases::queue(
        state.intake.reads(),
        &scope,
        &filters,
        cursor.as_ref(),
        cases::PAGE,
    )
    .await
    {
        Ok(v) => v,
        Err(e) => return internal(&e, l),
    };
    let next = next.filter(|_| error.is_none()).map(|c| {
        // The same filters, the next page.
        let mut pairs: Vec<(String, String)> = [
            ("status", &q.status),
            ("state", &q.state),
            ("sector", &q.sector),
            ("channel", &q.channel),
            ("violation", &q.violation),
            ("rrm", &q.rrm),
            ("from", &q.from),
            ("to", &q.to),
            ("assigned", &q.assigned),
        ]
        .into_iter()
        .filter_map(|(k, v)| {
            v.as_ref()
                .filter(|v| !v.is_empty())
                .map(|v| (k.to_owned(), v.clone()))
        })
        .collect();
        pairs.push(("cursor".into(), c.encode()));
        pairs.push(("lang".into(), l.code().into()));
        let query: Vec<String> = pairs
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
                )
            })
            .collect();
        format!("/triage?{}", query.join("&"))
    });
    let status_current = q.status.as_deref().unwrap_or("open");
    let mut statuses = vec![
        Opt {
            value: "open",
            label: l.t("Abiertas", "Open"),
            selected: status_current == "open",
        },
        Opt {
            value: "all",
            label: l.t("Todas", "All"),
            selected: status_current == "all",
        },
    ];
    statuses.extend(options(
        CaseStatus::ALL,
        CaseStatus::code,
        |s| s.label(l.lang),
        Some(status_current),
    ));
    let mut states = options(
        StateCode::ALL,
        StateCode::code,
        |s| s.label(l.lang),
        q.state.as_deref(),
    );
    states.push(Opt {
        value: "unknown",
        label: l.t("Sin estado", "No state"),
        selected: q.state.as_deref() == Some("unknown"),
    });
    let rrm = ["likely", "possible", "unlikely", "none"]
        .into_iter()
        .map(|v| Opt {
            value: v,
            label: l.rrm(&Some(v.to_owned())),
            selected: q.rrm.as_deref() == Some(v),
        })
        .collect();
    render(
        StatusCode::OK,
        &QueuePage {
            l,
            me: Me::of(&p),
            items,
            next,
            statuses,
            states,
            sectors: options(
                Sector::ALL,
                Sector::code,
                |s| s.label(l.lang),
                q.sector.as_deref(),
            ),
            channels: options(
                Channel::ALL,
                Channel::code,
                |c| c.label(l.lang),
                q.channel.as_deref(),
            ),
            violations: options(
                crate::domain::Violation::ALL,
                crate::domain::Violation::code,
                |v| v.label(l.lang),
                q.violation.as_deref(),
            ),
            rrm,
            from: q.from.clone().unwrap_or_default(),
            to: q.to.clone().unwrap_or_default(),
            mine: q.assigned.as_deref() == Some("me"),
            filtered: [
                &q.state,
                &q.sector,
                &q.channel,
                &q.violation,
                &q.rrm,
                &q.from,
                &q.to,
                &q.assigned,
            ]
            .iter()
            .any(|v| v.as_deref().is_some_and(|v| !v.is_empty()))
                || q.status.as_deref().is_some_and(|s| s != "open"),
            error,
        },
    )
}

// ---- one case ----

pub struct AuthorityOpt {
    pub code: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "triage/case.html")]
struct CasePage {
    l: L,
    me: Me,
    case: CaseOut,
    identity: Option<Identity>,
    reason: String,
    error: Option<&'static str>,
    error_code: &'static str,
    colleagues: Vec<(Uuid, String)>,
    authorities: Vec<AuthorityOpt>,
    fact_states: Vec<Opt>,
    fact_sectors: Vec<Opt>,
    fact_trade: Vec<Opt>,
    fact_violations: Vec<Opt>,
    authority_names: Vec<(String, String)>,
}

impl CasePage {
    fn authority_name(&self, code: &str) -> String {
        self.authority_names
            .iter()
            .find(|(c, _)| c == code)
            .map_or_else(|| code.to_owned(), |(_, n)| n.clone())
    }
}

async fn case_page(
    state: &AppState,
    p: &Principal,
    scope: &Scope,
    case: &entity::case::Model,
    l: L,
    identity: Option<(Identity, String)>,
    error: Option<ErrorCode>,
) -> Response {
    let db = state.intake.reads();
    let out = match cases::detail(db, &state.keys, scope, case, l.lang).await {
        Ok(o) => o,
        Err(e) => return internal(&e, l),
    };
    let active: Vec<String> = out
        .referrals
        .iter()
        .filter(|r| r.state == "active")
        .map(|r| r.authority.clone())
        .collect();
    let colleagues = match staff::colleagues(db, &state.keys, &active).await {
        Ok(c) => c,
        Err(e) => return internal(&e, l),
    };
    let mut authorities: Vec<AuthorityOpt> = state
        .directory
        .entries()
        .map(|e| AuthorityOpt {
            code: e.code.clone(),
            name: state.directory.name(&e.code, l.lang),
        })
        .collect();
    authorities.sort_by(|a, b| a.code.cmp(&b.code));
    let authority_names = authorities
        .iter()
        .map(|a| (a.code.clone(), a.name.clone()))
        .collect();
    let (identity, reason) = match identity {
        Some((i, r)) => (Some(i), r),
        None => (None, String::new()),
    };
    let fact_states = options(
        StateCode::ALL,
        StateCode::code,
        |s| s.label(l.lang),
        Some(out.state.as_str()),
    );
    let fact_sectors = options(
        Sector::ALL,
        Sector::code,
        |s| s.label(l.lang),
        Some(out.sector.as_str()),
    );
    let fact_trade = options(
        crate::domain::TradeNexus::ALL,
        crate::domain::TradeNexus::code,
        |t| t.label(l.lang),
        Some(out.trade_with_us.as_str()),
    );
    let fact_violations = crate::domain::Violation::ALL
        .iter()
        .map(|v| Opt {
            value: v.code(),
            label: v.label(l.lang),
            selected: out
                .violations
                .iter()
                .chain(out.suggested_violations.iter())
                .any(|c| c == v.code()),
        })
        .collect();
    render(
        error.map_or(StatusCode::OK, ErrorCode::status),
        &CasePage {
            l,
            me: Me::of(p),
            case: out,
            identity,
            reason,
            error: error.map(|e| e.message(l.lang)),
            error_code: error.map_or("", ErrorCode::code),
            fact_states,
            fact_sectors,
            fact_trade,
            fact_violations,
            colleagues,
            authorities,
            authority_names,
        },
    )
}

async fn load_case(
    state: &AppState,
    scope: &Scope,
    case_ref: &str,
    l: L,
) -> Result<entity::case::Model, Response> {
    match cases::find(state.intake.db(), scope, case_ref).await {
        Ok(Some(c)) => Ok(c),
        Ok(None) => Err(error_page(ErrorCode::CaseNotFound, l.lang, None)),
        Err(e) => Err(internal(&e, l)),
    }
}

pub async fn show_case(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let l = lang_of(&headers, q.as_deref());
    let (p, scope) = match case_worker(&state, &headers, l).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match load_case(&state, &scope, &case_ref, l).await {
        Ok(case) => case_page(&state, &p, &scope, &case, l, None, None).await,
        Err(r) => r,
    }
}

fn refusal_code(e: &Refused) -> Option<ErrorCode> {
    e.code().map(|(code, _)| code)
}

/// Everything a case action needs: signed in, in scope, CSRF checked.
async fn case_action(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    case_ref: &str,
) -> Result<(Principal, Scope, entity::case::Model, FormFields, L), Response> {
    let (fields, l) = read_form(state, headers, body).await?;
    let (p, scope) = case_worker(state, headers, l).await?;
    let case = load_case(state, &scope, case_ref, l).await?;
    if !p.csrf_ok(headers, fields.get("csrf")) {
        return Err(case_page(
            state,
            &p,
            &scope,
            &case,
            l,
            None,
            Some(ErrorCode::CsrfFailed),
        )
        .await);
    }
    Ok((p, scope, case, fields, l))
}

/// Shows the identifying fields on this page only (nothing is kept), after writing
/// the audit record.
pub async fn reveal(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
    body: Body,
) -> Response {
    let (p, scope, case, fields, l) = match case_action(&state, &headers, body, &case_ref).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let reason = fields.get("reason");
    match cases::reveal(
        state.intake.db(),
        &state.keys,
        p.member.id,
        &scope,
        &case,
        reason,
    )
    .await
    {
        Ok(identity) => {
            let reason = crate::domain::clean_text(reason.unwrap_or("")).unwrap_or_default();
            case_page(&state, &p, &scope, &case, l, Some((identity, reason)), None).await
        }
        Err(e) => match refusal_code(&e) {
            Some(code) => case_page(&state, &p, &scope, &case, l, None, Some(code)).await,
            None => internal(&anyhow::anyhow!("{e}"), l),
        },
    }
}

pub async fn attachment(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((case_ref, id)): Path<(String, String)>,
    body: Body,
) -> Response {
    let (p, scope, case, fields, l) = match case_action(&state, &headers, body, &case_ref).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Ok(id) = Uuid::parse_str(&id) else {
        return error_page(ErrorCode::NotFound, l.lang, None);
    };
    match cases::reveal_attachment(
        state.intake.db(),
        &state.keys,
        p.member.id,
        &case,
        id,
        fields.get("reason"),
    )
    .await
    {
        Ok(Some((mime, bytes))) => crate::http::staff_api::file_response(&mime, bytes),
        Ok(None) => error_page(ErrorCode::NotFound, l.lang, None),
        Err(e) => match refusal_code(&e) {
            Some(code) => case_page(&state, &p, &scope, &case, l, None, Some(code)).await,
            None => internal(&anyhow::anyhow!("{e}"), l),
        },
    }
}

/// After an action: back to the case (or to the queue when it left the caller's
/// jurisdiction), or the case page with the refusal.
async fn after(
    state: &AppState,
    p: &Principal,
    scope: &Scope,
    case: &entity::case::Model,
    l: L,
    result: Result<(), Refused>,
) -> Response {
    match result {
        Ok(()) => match cases::find(state.intake.db(), scope, &case.case_ref).await {
            Ok(Some(_)) => see_other(&format!(
                "/triage/cases/{}?lang={}",
                case.case_ref,
                l.code()
            )),
            Ok(None) => see_other(&format!("/triage?lang={}", l.code())),
            Err(e) => internal(&e, l),
        },
        Err(e) => match refusal_code(&e) {
            Some(code) => case_page(state, p, scope, case, l, None, Some(code)).await,
            None => internal(&anyhow::anyhow!("{e}"), l),
        },
    }
}

macro_rules! case_action_handler {
    ($name:ident, |$state:ident, $p:ident, $scope:ident, $case:ident, $fields:ident| $body:expr) => {
        pub async fn $name(
            State($state): State<AppState>,
            headers: HeaderMap,
            Path(case_ref): Path<String>,
            body: Body,
        ) -> Response {
            let ($p, $scope, $case, $fields, l) =
                match case_action(&$state, &headers, body, &case_ref).await {
                    Ok(v) => v,
                    Err(r) => return r,
                };
            let result: Result<(), Refused> = $body.await;
            after(&$state, &$p, &$scope, &$case, l, result).await
        }
    };
}

case_action_handler!(set_status, |state, p, scope, case, fields| async {
    triage::set_status(
        state.intake.db(),
        &state.keys,
        triage::Tell {
            notifier: &state.notifier,
            directory: &state.directory,
        },
        p.member.id,
        &case,
        triage::Move {
            to: fields.get("status"),
            reason: fields.get("reason"),
            outcome: fields
                .get("status")
                .filter(|s| *s == "closed")
                .and(fields.get("outcome")),
        },
    )
    .await
    .map(|_| ())
});

case_action_handler!(add_note, |state, p, scope, case, fields| async {
    triage::add_note(
        state.intake.db(),
        &state.keys,
        p.member.id,
        &case,
        fields.get("body"),
    )
    .await
});

case_action_handler!(ask, |state, p, scope, case, fields| async {
    triage::ask(
        state.intake.db(),
        &state.keys,
        &state.notifier,
        p.member.id,
        &case,
        fields.get("body"),
    )
    .await
    .map(|_| ())
});

case_action_handler!(assign, |state, p, scope, case, fields| async {
    let assignee = match fields.get("staff_id").map(str::trim) {
        Some("me") | None => Ok(p.member.id),
        Some(id) => Uuid::parse_str(id).map_err(|_| Refused::Staff),
    };
    match assignee {
        Ok(id) => triage::assign(state.intake.db(), &state.keys, &p.member, &case, id).await,
        Err(e) => Err(e),
    }
});

case_action_handler!(refer, |state, p, scope, case, fields| async {
    triage::refer(
        state.intake.db(),
        &state.keys,
        &p.member,
        &case,
        fields.get("authority"),
        fields.get("reason"),
    )
    .await
});

case_action_handler!(duplicate, |state, p, scope, case, fields| async {
    triage::mark_duplicate(
        state.intake.db(),
        &state.keys,
        triage::Tell {
            notifier: &state.notifier,
            directory: &state.directory,
        },
        p.member.id,
        &scope,
        &case,
        fields.get("duplicate_of"),
    )
    .await
    .map(|_| ())
});

case_action_handler!(facts, |state, p, scope, case, fields| async {
    let workers = match fields
        .get("workers")
        .map(str::trim)
        .filter(|w| !w.is_empty())
    {
        None => Ok(None),
        Some(w) => w
            .parse::<i64>()
            .map(Some)
            .map_err(|_| Refused::Invalid("workers")),
    };
    match workers {
        Ok(workers) => {
            let input = triage::FactsIn {
                state: fields.owned("state"),
                sector: fields.owned("sector"),
                trade_with_us: fields.owned("trade_with_us"),
                workers,
                violations: Some(fields.all("violations")),
            };
            triage::confirm_facts(
                state.intake.db(),
                &state.keys,
                &state.rules,
                p.member.id,
                &case,
                &input,
            )
            .await
            .map(|_| ())
        }
        Err(e) => Err(e),
    }
});

// ---- admin and coordinator pages ----

#[derive(Template)]
#[template(path = "triage/audit.html")]
struct AuditPage {
    l: L,
    me: Me,
    records: Vec<audit::Record>,
    next: Option<i64>,
}

pub async fn audit_log(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let l = lang_of(&headers, q.as_deref());
    let p = match signed_in_as(&state, &headers, l, &[Role::Admin]).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let before = q
        .as_deref()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("before=")))
        .and_then(|v| v.parse::<i64>().ok());
    match audit::recent(state.intake.db(), &state.keys, before, 100).await {
        Ok(records) => {
            let next = (records.len() == 100)
                .then(|| records.last().map(|r| r.seq))
                .flatten();
            render(
                StatusCode::OK,
                &AuditPage {
                    l,
                    me: Me::of(&p),
                    records,
                    next,
                },
            )
        }
        Err(e) => internal(&e, l),
    }
}

#[derive(Template)]
#[template(path = "triage/staff.html")]
struct StaffPage {
    l: L,
    me: Me,
    staff: Vec<staff::Listed>,
}

pub async fn staff_list(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let l = lang_of(&headers, q.as_deref());
    let p = match signed_in_as(&state, &headers, l, &[Role::Admin]).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    match staff::list(state.intake.db(), &state.keys).await {
        Ok(list) => render(
            StatusCode::OK,
            &StaffPage {
                l,
                me: Me::of(&p),
                staff: list,
            },
        ),
        Err(e) => internal(&e, l),
    }
}

/// Admins lift a lockout (or disable / enable an account) from the staff page.
pub async fn staff_change(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    body: Body,
) -> Response {
    let (fields, l) = match read_form(&state, &headers, body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let p = match signed_in_as(&state, &headers, l, &[Role::Admin]).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if !p.csrf_ok(&headers, fields.get("csrf")) {
        return error_page(ErrorCode::CsrfFailed, l.lang, None);
    }
    let change = match action.as_str() {
        "unlock" => staff::Change::Unlock,
        "disable" => staff::Change::Disable,
        "enable" => staff::Change::Enable,
        _ => return error_page(ErrorCode::NotFound, l.lang, None),
    };
    let Ok(id) = Uuid::parse_str(&id) else {
        return error_page(ErrorCode::NotFound, l.lang, None);
    };
    let hasher = state.intake.hasher();
    match staff::change(
        state.intake.db(),
        &state.keys,
        &hasher,
        Some(p.member.id),
        id,
        change,
    )
    .await
    {
        Ok(()) => see_other(&format!("/triage/staff?lang={}", l.code())),
        Err(staff::AccountError::Unknown) => error_page(ErrorCode::NotFound, l.lang, None),
        Err(e) => internal(&anyhow::anyhow!("{e}"), l),
    }
}
