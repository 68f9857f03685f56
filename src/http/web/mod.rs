//! The mobile web form: `GET /`, `POST /complaints`, `GET`+`POST /status`,
//! `POST /status/messages`. Works without JavaScript, Spanish by default, English via
//! `?lang=en` or `Accept-Language`. Pages are never cached (`no-store`), receipts never
//! appear in a URL, and every page has a quick-exit link to a neutral site.

#[doc(hidden)]
pub mod fuzzing;
mod rights;
pub use rights::show_rights;

use crate::channels::web::draft::{
    FormValues, check_form, form_receipt, form_values, typed_receipt,
};
use crate::channels::web::form::{FormFields, parse_fields};
use crate::channels::web::texts::{Texts, texts};
use crate::domain::{FieldError, Language, Sector, StateCode, Text, TradeNexus, Violation, limits};
use crate::error::ErrorCode;
use crate::http::AppState;
use crate::http::csrf::{self, Csrf, Issued};
use crate::http::extract::{negotiate_language, read_fields};
use crate::intake::{CaseView, ReceiptError};
use askama::Template;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// A refusal shown on a page: the stable code (in `data-code`) and its message.
#[derive(Clone, Copy)]
struct Notice {
    code: &'static str,
    text: &'static str,
}

impl Notice {
    fn of(code: ErrorCode, lang: Language) -> Self {
        Self {
            code: code.code(),
            text: code.message(lang),
        }
    }
}

/// The language switch in the page header. Pages reached by GET link to themselves;
/// pages that show a case re-post its receipt (receipts never go in a URL).
enum Toggle {
    Link(&'static str),
    Repost {
        action: &'static str,
        receipt: String,
        csrf: String,
    },
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    t: &'static Texts,
    toggle: Toggle,
    notice: Notice,
    retry_after: Option<u64>,
}

/// A page for people that explains a refusal; the status is the code's.
pub fn error_page(code: ErrorCode, lang: Language, retry_after: Option<u64>) -> Response {
    let page = ErrorPage {
        t: texts(lang),
        toggle: Toggle::Link("/"),
        notice: Notice::of(code, lang),
        retry_after,
    };
    let mut response = render(code.status(), &page);
    if let Some(secs) = retry_after
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// One authority a case goes to, as the worker reads it.
struct ReferralLine {
    name: String,
    next_step: &'static str,
    candidate: bool,
}

fn referral_lines(
    decision: Option<&crate::routing::Decision>,
    directory: &crate::routing::Directory,
    lang: Language,
) -> Vec<ReferralLine> {
    decision
        .map(|d| {
            d.referrals
                .iter()
                .map(|r| ReferralLine {
                    name: directory.name(&r.authority, lang),
                    next_step: r.function.next_step(lang),
                    candidate: r.candidate,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One choice of a select, radio or checkbox group.
struct Opt {
    code: &'static str,
    label: &'static str,
    selected: bool,
}

/// One message per field, shown next to it.
#[derive(Default)]
struct FormErrors {
    employer: Option<Notice>,
    state: Option<Notice>,
    city: Option<Notice>,
    sector: Option<Notice>,
    trade_with_us: Option<Notice>,
    workers: Option<Notice>,
    violations: Option<Notice>,
    narrative: Option<Notice>,
    occurred_on: Option<Notice>,
    hold_until: Option<Notice>,
    identity: Option<Notice>,
    name: Option<Notice>,
    phone: Option<Notice>,
    email: Option<Notice>,
    worker_id: Option<Notice>,
}

impl FormErrors {
    fn from_fields(errors: &[FieldError], lang: Language) -> Self {
        let mut out = Self::default();
        for e in errors {
            let slot = match e.field {
                "workplace.employer" => &mut out.employer,
                "workplace.state" => &mut out.state,
                "workplace.city" => &mut out.city,
                "workplace.sector" => &mut out.sector,
                "workplace.trade_with_us" => &mut out.trade_with_us,
                "workplace.workers" => &mut out.workers,
                "violations" => &mut out.violations,
                "narrative" => &mut out.narrative,
                "occurred_on" => &mut out.occurred_on,
                "hold_until" => &mut out.hold_until,
                "complainant.name" => &mut out.name,
                "complainant.phone" => &mut out.phone,
                "complainant.email" => &mut out.email,
                "complainant.worker_id" => &mut out.worker_id,
                _ => &mut out.identity,
            };
            slot.get_or_insert(Notice::of(e.code, lang));
        }
        out
    }
}

#[derive(Template)]
#[template(path = "form.html")]
struct FormPage {
    t: &'static Texts,
    toggle: Toggle,
    csrf: String,
    banner: Option<Notice>,
    v: FormValues,
    e: FormErrors,
    states: Vec<Opt>,
    sectors: Vec<Opt>,
    trades: Vec<Opt>,
    violations: Vec<Opt>,
    today: String,
    /// The deferred filing's date picker: tomorrow to 90 days ahead.
    hold_min: String,
    hold_max: String,
    max: FieldMax,
}

/// `maxlength` attributes, from the same limits the server enforces.
struct FieldMax {
    name: usize,
    phone: usize,
    email: usize,
    worker_id: usize,
    employer: usize,
    city: usize,
    narrative: usize,
    message: usize,
    receipt: usize,
}

const MAX: FieldMax = FieldMax {
    name: limits::NAME,
    phone: limits::PHONE,
    email: limits::EMAIL,
    worker_id: limits::WORKER_ID,
    employer: limits::EMPLOYER,
    city: limits::CITY,
    narrative: limits::NARRATIVE,
    message: limits::MESSAGE,
    receipt: limits::RECEIPT_INPUT,
};

fn form_page(
    lang: Language,
    csrf: String,
    v: FormValues,
    e: FormErrors,
    banner: Option<Notice>,
) -> FormPage {
    let states = StateCode::ALL
        .iter()
        .map(|s| Opt {
            code: s.code(),
            label: s.label(lang),
            selected: v.state == s.code(),
        })
        .collect();
    let sectors = Sector::ALL
        .iter()
        .map(|s| Opt {
            code: s.code(),
            label: s.label(lang),
            selected: v.sector == s.code() || (v.sector.is_empty() && *s == Sector::Unknown),
        })
        .collect();
    let trades = TradeNexus::ALL
        .iter()
        .map(|s| Opt {
            code: s.code(),
            label: s.label(lang),
            selected: v.trade_with_us == s.code()
                || (v.trade_with_us.is_empty() && *s == TradeNexus::Unknown),
        })
        .collect();
    let violations = Violation::ALL
        .iter()
        .map(|s| Opt {
            code: s.code(),
            label: s.label(lang),
            selected: v.violations.iter().any(|c| c == s.code()),
        })
        .collect();
    FormPage {
        t: texts(lang),
        toggle: Toggle::Link("/"),
        csrf,
        banner,
        v,
        e,
        states,
        sectors,
        trades,
        violations,
        today: crate::clock::today().to_string(),
        hold_min: (crate::clock::today() + chrono::Days::new(1)).to_string(),
        hold_max: (crate::clock::today() + chrono::Days::new(limits::MAX_HOLD_DAYS as u64))
            .to_string(),
        max: MAX,
    }
}

fn csrf_for(state: &AppState) -> Csrf<'_> {
    Csrf {
        key: &state.keys.csrf_key,
        secure_cookies: state.settings.secure_cookies,
    }
}

/// `GET /`: the complaint form.
pub async fn show_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let lang = negotiate_language(&headers, query.as_deref());
    let issued = csrf_for(&state).issue(&headers);
    let page = form_page(
        lang,
        issued.token.clone(),
        FormValues::default(),
        FormErrors::default(),
        None,
    );
    csrf::with_cookie(render(StatusCode::OK, &page), &issued)
}

/// Reads a form body: checks its type, size and encoding, then the CSRF token.
/// Returns the fields, the page language and a fresh token for re-rendering.
async fn read_form(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(FormFields, Language, Issued, bool), Response> {
    let (fields, lang) = read_fields(state, headers, body).await?;
    let csrf = csrf_for(state);
    let csrf_ok = csrf.verify(headers, fields.get("csrf"));
    if !csrf_ok {
        tracing::info!("form refused: csrf token missing or invalid");
    }
    Ok((fields, lang, csrf.issue(headers), csrf_ok))
}

/// `POST /complaints`: validate, store, show the receipt. On errors the form comes
/// back with everything the worker typed and each message next to its field.
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    let (fields, lang, issued, csrf_ok) = read_form(&state, &headers, body).await?;
    let values = form_values(&fields);
    if !csrf_ok {
        let page = form_page(
            lang,
            issued.token.clone(),
            values,
            FormErrors::default(),
            Some(Notice::of(ErrorCode::CsrfFailed, lang)),
        );
        return Ok(csrf::with_cookie(
            render(StatusCode::FORBIDDEN, &page),
            &issued,
        ));
    }
    let complaint = match check_form(&values, lang, crate::clock::today()) {
        Ok(complaint) => complaint,
        Err(errors) => {
            let page = refill(lang, issued.token.clone(), values, &errors);
            return Ok(csrf::with_cookie(
                render(StatusCode::UNPROCESSABLE_ENTITY, &page),
                &issued,
            ));
        }
    };
    let response = match state.intake.file(&complaint).await {
        Ok(filed) => render(
            StatusCode::OK,
            &ReceiptPage::new(
                lang,
                filed.receipt.to_string(),
                filed.case_ref,
                issued.token.clone(),
                referral_lines(filed.routing.as_ref(), &state.directory, lang),
            )
            .held(filed.held_until),
        ),
        Err(e) => {
            // Nothing was stored: show the form again, filled in, so the worker can
            // simply send it again.
            let code = crate::error::ApiError::internal(&e, lang).code;
            let page = form_page(
                lang,
                issued.token.clone(),
                values,
                FormErrors::default(),
                Some(Notice::of(code, lang)),
            );
            render(code.status(), &page)
        }
    };
    Ok(csrf::with_cookie(response, &issued))
}

/// The form again, filled in, each error next to its field.
fn refill(lang: Language, csrf: String, values: FormValues, errors: &[FieldError]) -> FormPage {
    form_page(
        lang,
        csrf,
        values,
        FormErrors::from_fields(errors, lang),
        errors.first().map(|e| Notice {
            code: e.code.code(),
            text: texts(lang).errors_above,
        }),
    )
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    t: &'static Texts,
    toggle: Toggle,
    receipt: String,
    case_ref: String,
    referrals: Vec<ReferralLine>,
    /// Deferred filing: what the worker reads about the wait.
    held: Option<String>,
}

impl ReceiptPage {
    fn held(mut self, until: Option<chrono::NaiveDate>) -> Self {
        self.held = until.map(|d| {
            crate::domain::held_notice(d, Language::parse(self.t.lang).unwrap_or_default())
        });
        self
    }

    fn new(
        lang: Language,
        receipt: String,
        case_ref: String,
        csrf: String,
        referrals: Vec<ReferralLine>,
    ) -> Self {
        Self {
            referrals,
            t: texts(lang),
            toggle: Toggle::Repost {
                action: "/receipt",
                receipt: receipt.clone(),
                csrf,
            },
            receipt,
            case_ref,
            held: None,
        }
    }
}

/// `POST /receipt`: the receipt page again, in the language asked for (the switch
/// on the receipt page). The receipt is checked like any look-up.
pub async fn show_receipt(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    let (fields, lang, issued, csrf_ok) = read_form(&state, &headers, body).await?;
    let (_, receipt) =
        form_receipt(&fields, csrf_ok).map_err(|code| error_page(code, lang, None))?;
    let response = match state.intake.status(&receipt).await {
        Ok(view) => render(
            StatusCode::OK,
            &ReceiptPage::new(
                lang,
                receipt.display().to_string(),
                view.case_ref.clone(),
                issued.token.clone(),
                referral_lines(view.routing.as_ref(), &state.directory, lang),
            )
            .held(view.held_until),
        ),
        Err(e) => {
            let code = receipt_failure(e, lang);
            let page = ErrorPage {
                t: texts(lang),
                toggle: Toggle::Link("/status"),
                notice: Notice::of(code, lang),
                retry_after: None,
            };
            render(code.status(), &page)
        }
    };
    Ok(csrf::with_cookie(response, &issued))
}

struct MessageLine {
    who: &'static str,
    body: String,
    at: String,
    staff: bool,
}

struct StatusView {
    case_ref: String,
    referrals: Vec<ReferralLine>,
    status_label: &'static str,
    status_explanation: &'static str,
    filed_on: String,
    messages: Vec<MessageLine>,
    accepts_messages: bool,
    held: Option<String>,
    /// A closed case: how it ended and where to turn next, paragraph by paragraph.
    closing: Vec<String>,
}

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage {
    t: &'static Texts,
    toggle: Toggle,
    csrf: String,
    receipt: String,
    receipt_error: Option<Notice>,
    view: Option<StatusView>,
    notice: Option<&'static str>,
    message: String,
    message_error: Option<Notice>,
    max: FieldMax,
}

impl StatusPage {
    fn new(lang: Language, csrf: String) -> Self {
        Self {
            t: texts(lang),
            toggle: Toggle::Link("/status"),
            csrf,
            receipt: String::new(),
            receipt_error: None,
            view: None,
            notice: None,
            message: String::new(),
            message_error: None,
            max: MAX,
        }
    }

    fn with_view(
        mut self,
        view: &CaseView,
        directory: &crate::routing::Directory,
        lang: Language,
    ) -> Self {
        let t = texts(lang);
        self.toggle = Toggle::Repost {
            action: "/status",
            receipt: self.receipt.clone(),
            csrf: self.csrf.clone(),
        };
        self.view = Some(StatusView {
            case_ref: view.case_ref.clone(),
            referrals: referral_lines(view.routing.as_ref(), directory, lang),
            status_label: view.status.label(lang),
            status_explanation: view.status.explanation(lang),
            held: view.held_until.map(|d| crate::domain::held_notice(d, lang)),
            closing: view
                .outcome
                .map(|outcome| {
                    let advice: Vec<String> = view
                        .legal_aid
                        .iter()
                        .map(|code| directory.name(code, lang))
                        .collect();
                    crate::domain::closing_notice(outcome, lang, &advice)
                        .split("\n\n")
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            filed_on: view.created_at.format("%Y-%m-%d").to_string(),
            messages: view
                .messages
                .iter()
                .map(|m| MessageLine {
                    who: if m.from_advocate {
                        t.from_advocate
                    } else if m.from_staff {
                        t.from_staff
                    } else {
                        t.from_you
                    },
                    body: m.body.clone(),
                    at: m.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                    staff: m.from_staff,
                })
                .collect(),
            accepts_messages: view.status.accepts_messages(),
        });
        self
    }
}

/// `GET /status`: the receipt form.
pub async fn show_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let lang = negotiate_language(&headers, query.as_deref());
    let issued = csrf_for(&state).issue(&headers);
    let page = StatusPage::new(lang, issued.token.clone());
    csrf::with_cookie(render(StatusCode::OK, &page), &issued)
}

/// `POST /status`: what a receipt opens.
pub async fn lookup_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    let (fields, lang, issued, csrf_ok) = read_form(&state, &headers, body).await?;
    let mut page = StatusPage::new(lang, issued.token.clone());
    let code = match form_receipt(&fields, csrf_ok) {
        Err(code) => {
            page.receipt = typed_receipt(&fields);
            code
        }
        Ok((typed, receipt)) => {
            page.receipt = typed;
            match state.intake.status(&receipt).await {
                Ok(view) => {
                    page = page.with_view(&view, &state.directory, lang);
                    return Ok(csrf::with_cookie(render(StatusCode::OK, &page), &issued));
                }
                Err(e) => receipt_failure(e, lang),
            }
        }
    };
    page.receipt_error = Some(Notice::of(code, lang));
    Ok(csrf::with_cookie(render(code.status(), &page), &issued))
}

/// The stable code for a receipt that opened nothing.
fn receipt_failure(e: ReceiptError, lang: Language) -> ErrorCode {
    match e {
        ReceiptError::NotFound => ErrorCode::ReceiptNotFound,
        ReceiptError::Closed(_) => ErrorCode::CaseClosed,
        ReceiptError::Unexpected(e) => crate::error::ApiError::internal(&e, lang).code,
    }
}

/// `POST /status/messages`: add a follow-up message, then show the case again.
pub async fn add_message(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    let (fields, lang, issued, csrf_ok) = read_form(&state, &headers, body).await?;
    let mut page = StatusPage::new(lang, issued.token.clone());
    page.message = fields.owned("message").unwrap_or_default();
    let receipt = match form_receipt(&fields, csrf_ok) {
        Ok((typed, receipt)) => {
            page.receipt = typed;
            receipt
        }
        Err(code) => {
            page.receipt = typed_receipt(&fields);
            page.receipt_error = Some(Notice::of(code, lang));
            return Ok(csrf::with_cookie(render(code.status(), &page), &issued));
        }
    };
    // The case is shown again in every outcome but a bad receipt; a message
    // error sits next to the message, which is kept.
    let outcome = match Text::parse(&page.message, limits::MESSAGE) {
        Err(code) => state
            .intake
            .status(&receipt)
            .await
            .map(|view| (view, Some(code))),
        Ok(text) => match state.intake.add_message(&receipt, &text).await {
            Ok(view) => Ok((view, None)),
            Err(ReceiptError::Closed(view)) => Ok((*view, Some(ErrorCode::CaseClosed))),
            Err(e) => Err(e),
        },
    };
    let status = match outcome {
        Ok((view, message_error)) => {
            page = page.with_view(&view, &state.directory, lang);
            match message_error {
                Some(code) => {
                    page.message_error = Some(Notice::of(code, lang));
                    code.status()
                }
                None => {
                    page.message.clear();
                    page.notice = Some(texts(lang).message_sent);
                    StatusCode::OK
                }
            }
        }
        Err(e) => {
            let code = receipt_failure(e, lang);
            page.receipt_error = Some(Notice::of(code, lang));
            code.status()
        }
    };
    Ok(csrf::with_cookie(render(status, &page), &issued))
}

/// `GET /static/buzon.css`: the only stylesheet (no web fonts, no other assets).
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        concat!(
            include_str!("../../../static/buzon.css"),
            include_str!("../../../static/indicators.css")
        ),
    )
        .into_response()
}
