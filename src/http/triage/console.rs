//! The triage console under `/triage`: server-rendered pages that work without
//! JavaScript. Sign-in (password, then TOTP, enrolling it on first sign-in), the
//! queue, the masked case with its actions, and for admins the audit log and staff.
//! Spanish by default, English with `?lang=en` (or the browser's language).

use crate::audit::{self, Event};
use crate::cases::{self, CaseOut, Identity, QueueItem, QueueQuery, Refused, Scope};
use crate::channels::web::form::FormFields;
use crate::domain::{CaseStatus, Channel, Language, Sector, StateCode};
use crate::error::ErrorCode;
use crate::http::AppState;
use crate::http::csrf::{Csrf, with_cookie};
use crate::http::extract::negotiate_language;
use crate::http::session::{
    self, AuthFailure, Principal, STAGE_ENROLL, STAGE_FULL, STAGE_PASSWORD,
};
use crate::http::web::{error_page, render};
use crate::staff::{self, Role};
use crate::triage;
use askama::Template;
use axum::body::Body;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use uuid::Uuid;
use zeroize::Zeroizing;

/// Texts in the console's language: `l.t("Cola", "Queue")` in templates.
#[derive(Clone, Copy)]
pub struct L {
    pub lang: Language,
}

impl L {
    pub fn t(&self, es: &'static str, en: &'static str) -> &'static str {
        self.lang.pick(es, en)
    }

    pub fn code(&self) -> &'static str {
        self.lang.code()
    }

    pub fn other(&self) -> &'static str {
        if self.lang == Language::Es {
            "en"
        } else {
            "es"
        }
    }

    pub fn status(&self, code: &str) -> &'static str {
        CaseStatus::parse(code).map_or("?", |s| s.label(self.lang))
    }

    pub fn sector(&self, code: &str) -> &'static str {
        Sector::parse(code).map_or("?", |s| s.label(self.lang))
    }

    pub fn state(&self, code: &str) -> &'static str {
        StateCode::parse(code)
            .map_or_else(|| self.t("Sin estado", "No state"), |s| s.label(self.lang))
    }

    pub fn violation(&self, code: &str) -> &'static str {
        crate::domain::Violation::parse(code).map_or("?", |v| v.label(self.lang))
    }

    pub fn channel(&self, code: &str) -> &'static str {
        Channel::parse(code).map_or("?", |c| c.label(self.lang))
    }

    pub fn rrm(&self, code: &Option<String>) -> &'static str {
        match code.as_deref() {
            Some("likely") => self.t("probable", "likely"),
            Some("possible") => self.t("posible", "possible"),
            Some("unlikely") => self.t("poco probable", "unlikely"),
            _ => self.t("sin evaluar", "not screened"),
        }
    }
}

/// What the header shows about who is signed in.
pub struct Me {
    pub role: Role,
    pub csrf: String,
}

impl Me {
    pub(crate) fn of(p: &Principal) -> Self {
        Self {
            role: p.member.role,
            csrf: p.csrf().to_owned(),
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn works_cases(&self) -> bool {
        self.role.works_cases()
    }

    pub fn is_advocate(&self) -> bool {
        self.role == Role::Advocate
    }

    pub fn sees_stats(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Coordinator)
    }
}

pub(crate) fn lang_of(headers: &HeaderMap, query: Option<&str>) -> L {
    L {
        lang: negotiate_language(headers, query),
    }
}

pub(crate) fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

fn with_set_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// Logs the cause; 503 when it is temporary (database, Argon2 slots), else 500.
pub(crate) fn internal(e: &anyhow::Error, l: L) -> Response {
    let code = crate::error::ApiError::internal(e, l.lang).code;
    error_page(code, l.lang, None)
}

/// The signed-in member, or the response to send instead (sign-in page, 403).
pub(crate) async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    l: L,
) -> Result<Principal, Response> {
    match session::authenticate(state, headers).await {
        Ok(p) => Ok(p),
        Err(AuthFailure::Unauthenticated) => {
            Err(see_other(&format!("/triage/login?lang={}", l.code())))
        }
        Err(AuthFailure::Internal(e)) => Err(internal(&e, l)),
    }
}

/// Signed in with one of `roles` (403 otherwise).
async fn signed_in_as(
    state: &AppState,
    headers: &HeaderMap,
    l: L,
    roles: &[Role],
) -> Result<Principal, Response> {
    let p = signed_in(state, headers, l).await?;
    if !roles.contains(&p.member.role) {
        return Err(error_page(ErrorCode::Forbidden, l.lang, None));
    }
    Ok(p)
}

async fn case_worker(
    state: &AppState,
    headers: &HeaderMap,
    l: L,
) -> Result<(Principal, Scope), Response> {
    let p = signed_in(state, headers, l).await?;
    if p.member.role == Role::Coordinator {
        return Err(see_other(&format!("/triage/stats?lang={}", l.code())));
    }
    if p.member.role == Role::Advocate {
        return Err(see_other(&format!("/org?lang={}", l.code())));
    }
    let scope =
        Scope::of(&p.member).ok_or_else(|| error_page(ErrorCode::Forbidden, l.lang, None))?;
    Ok((p, scope))
}

/// Reads a console form: type, size, encoding; `lang` from the form wins.
pub(crate) async fn read_form(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(FormFields, L), Response> {
    let (fields, lang) = crate::http::extract::read_fields(state, headers, body).await?;
    Ok((fields, L { lang }))
}

fn pre_csrf(state: &AppState) -> Csrf<'_> {
    Csrf {
        key: &state.keys.csrf_key,
        secure_cookies: session::secure(state),
    }
}

// ---- sign-in ----

#[derive(Template)]
#[template(path = "triage/login.html")]
struct LoginPage {
    l: L,
    csrf: String,
    error: Option<&'static str>,
    error_code: &'static str,
}

fn login_page(state: &AppState, headers: &HeaderMap, l: L, error: Option<ErrorCode>) -> Response {
    let issued = pre_csrf(state).issue(headers);
    let page = LoginPage {
        l,
        csrf: issued.token.clone(),
        error: error.map(|e| e.message(l.lang)),
        error_code: error.map_or("", ErrorCode::code),
    };
    let status = error.map_or(StatusCode::OK, ErrorCode::status);
    with_cookie(render(status, &page), &issued)
}

pub async fn show_login(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let l = lang_of(&headers, q.as_deref());
    login_page(&state, &headers, l, None)
}

/// Password step. Unknown e-mail, wrong password and disabled account answer alike,
/// after the same Argon2 work (a dummy hash stands in for unknown accounts).
pub async fn login(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let (fields, l) = match read_form(&state, &headers, body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !pre_csrf(&state).verify(&headers, fields.get("csrf")) {
        return login_page(&state, &headers, l, Some(ErrorCode::CsrfFailed));
    }
    let email = fields.get("email").unwrap_or("").trim().to_owned();
    let password = Zeroizing::new(fields.get("password").unwrap_or("").to_owned());
    if email.len() > 254 || password.len() > staff::MAX_PASSWORD_BYTES {
        return login_page(&state, &headers, l, Some(ErrorCode::InvalidCredentials));
    }
    // Attempts per account from any address (spraying one account from many), before
    // any Argon2 work.
    if state
        .limiters
        .check_account(&staff::email_key(&state.keys, &email))
        .is_err()
    {
        return login_page(&state, &headers, l, Some(ErrorCode::RateLimited));
    }
    let db = state.intake.db();
    let creds = match staff::credentials_by_email(db, &state.keys, &email).await {
        Ok(c) => c,
        Err(e) => return internal(&e, l),
    };
    let stored = creds.as_ref().map(|c| c.password_hash.clone());
    let pw = password.clone();
    let ok = match state
        .intake
        .with_hash_slot(move |h| h.verify(&pw, stored.as_deref()))
        .await
    {
        Ok(ok) => ok,
        Err(e) => return internal(&e, l),
    };
    // An unknown e-mail fails like a known one: the same Argon2 work, the same
    // audited write, and after five failures the same "locked" answer (counted in
    // memory), so neither timing nor answers tell which accounts exist.
    let Some(creds) = creds else {
        let locked = state
            .limiters
            .count_unknown_failure(&staff::email_key(&state.keys, &email))
            .is_err();
        let event = Event::new(
            None,
            if locked {
                "login_locked"
            } else {
                "login_failed"
            },
        )
        .detail("unknown account");
        if let Err(e) = audit::record(db, &state.keys, event).await {
            return internal(&e, l);
        }
        let code = if locked {
            ErrorCode::AccountLocked
        } else {
            ErrorCode::InvalidCredentials
        };
        return login_page(&state, &headers, l, Some(code));
    };
    let member = creds.member;
    if member.locked_until.is_some_and(|t| t > chrono::Utc::now()) {
        return login_page(&state, &headers, l, Some(ErrorCode::AccountLocked));
    }
    if !ok || member.disabled {
        let what = if member.disabled {
            "disabled"
        } else {
            "password"
        };
        return match staff::record_failure(db, &state.keys, member.id, what).await {
            Ok(true) => login_page(&state, &headers, l, Some(ErrorCode::AccountLocked)),
            Ok(false) => login_page(&state, &headers, l, Some(ErrorCode::InvalidCredentials)),
            Err(e) => internal(&e, l),
        };
    }
    let (stage, next) = if member.totp_enrolled {
        (STAGE_PASSWORD, "/triage/totp")
    } else if member.role.requires_totp() {
        (STAGE_ENROLL, "/triage/enroll")
    } else {
        (STAGE_FULL, "/triage")
    };
    if stage == STAGE_FULL {
        return finish_sign_in(&state, member.id, None, l, "password only").await;
    }
    // Any session the browser brought is dropped: sign-in always starts a new one.
    if let Some(old) = session::cookie_token(&state, &headers)
        && let Err(e) = session::delete(&state, &old).await
    {
        return internal(&e, l);
    }
    match session::create(&state, member.id, stage).await {
        Ok(token) => with_set_cookie(
            see_other(&format!("{next}?lang={}", l.code())),
            &session::set_cookie(&state, &token),
        ),
        Err(e) => internal(&e, l),
    }
}

/// Replaces the half-finished session (if any) with a new, signed-in one.
async fn finish_sign_in(
    state: &AppState,
    staff_id: Uuid,
    old: Option<&str>,
    l: L,
    how: &str,
) -> Response {
    match signed_in_session(state, staff_id, old, how).await {
        Ok(token) => with_set_cookie(
            see_other(&format!("/triage?lang={}", l.code())),
            &session::set_cookie(state, &token),
        ),
        Err(e) => internal(&e, l),
    }
}

/// Records the sign-in and issues the signed-in session (the half-finished one, if
/// any, is deleted): its token, for the cookie.
async fn signed_in_session(
    state: &AppState,
    staff_id: Uuid,
    old: Option<&str>,
    how: &str,
) -> anyhow::Result<Zeroizing<String>> {
    if let Some(old) = old {
        session::delete(state, old).await?;
    }
    staff::clear_failures(state.intake.db(), staff_id).await?;
    audit::record(
        state.intake.db(),
        &state.keys,
        Event::new(Some(staff_id), "login").detail(how),
    )
    .await?;
    session::create(state, staff_id, STAGE_FULL).await
}

/// The half-finished session at `stage` (or the response to send instead).
async fn pending(
    state: &AppState,
    headers: &HeaderMap,
    stage: &str,
    l: L,
) -> Result<(String, session::Session), Response> {
    let to_login = || see_other(&format!("/triage/login?lang={}", l.code()));
    let token = session::cookie_token(state, headers).ok_or_else(to_login)?;
    match session::find(state, &token).await {
        Ok(Some(s)) if s.stage == stage => Ok((token, s)),
        Ok(_) => Err(to_login()),
        Err(e) => Err(internal(&e, l)),
    }
}

#[derive(Template)]
#[template(path = "triage/totp.html")]
struct TotpPage {
    l: L,
    csrf: String,
    error: Option<&'static str>,
    error_code: &'static str,
}

pub async fn show_totp(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let l = lang_of(&headers, q.as_deref());
    match pending(&state, &headers, STAGE_PASSWORD, l).await {
        Ok((token, _)) => render(
            StatusCode::OK,
            &TotpPage {
                l,
                csrf: session::csrf_token(&state, &token),
                error: None,
                error_code: "",
            },
        ),
        Err(r) => r,
    }
}

/// Second factor: a current TOTP code not used before, or an unused recovery code.
pub async fn totp(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let (fields, l) = match read_form(&state, &headers, body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (token, s) = match pending(&state, &headers, STAGE_PASSWORD, l).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let refuse = |code: ErrorCode| {
        render(
            code.status(),
            &TotpPage {
                l,
                csrf: session::csrf_token(&state, &token),
                error: Some(code.message(l.lang)),
                error_code: code.code(),
            },
        )
    };
    if !session::csrf_matches(&state, &headers, &token, fields.get("csrf")) {
        return refuse(ErrorCode::CsrfFailed);
    }
    let db = state.intake.db();
    let member = match staff::member(db, s.staff_id).await {
        Ok(Some(m)) if !m.disabled => m,
        Ok(_) => return see_other("/triage/login"),
        Err(e) => return internal(&e, l),
    };
    if member.locked_until.is_some_and(|t| t > chrono::Utc::now()) {
        return refuse(ErrorCode::AccountLocked);
    }
    let code = fields.get("code").unwrap_or("").trim().to_owned();
    let verified = async {
        if code.len() > 6 {
            return anyhow::Ok(
                if staff::use_recovery_code(db, &state.keys, member.id, &code).await? {
                    Some("recovery code")
                } else {
                    None
                },
            );
        }
        let Some((secret, _)) = staff::stored_totp(db, &state.keys, member.id).await? else {
            return Ok(None);
        };
        let totp = staff::totp(secret, "staff")?;
        match staff::matching_step(&totp, &code, staff::unix_now()) {
            Some(step) if staff::consume_step(db, member.id, step).await? => Ok(Some("totp")),
            _ => Ok(None),
        }
    }
    .await;
    match verified {
        Ok(Some(how)) => finish_sign_in(&state, member.id, Some(&token), l, how).await,
        Ok(None) => {
            match staff::record_failure(db, &state.keys, member.id, "second factor").await {
                Ok(true) => {
                    let _ = session::delete(&state, &token).await;
                    refuse(ErrorCode::AccountLocked)
                }
                Ok(false) => refuse(ErrorCode::InvalidTotp),
                Err(e) => internal(&e, l),
            }
        }
        Err(e) => internal(&e, l),
    }
}

#[derive(Template)]
#[template(path = "triage/enroll.html")]
struct EnrollPage {
    l: L,
    csrf: String,
    qr_svg: String,
    secret: String,
    error: Option<&'static str>,
    error_code: &'static str,
}

fn pending_aad(staff_id: Uuid) -> crate::crypto::Aad<'static> {
    crate::crypto::Aad {
        table: "staff_sessions",
        column: "pending_ct",
        row: staff_id,
    }
}

async fn enroll_page(
    state: &AppState,
    token: &str,
    s: &session::Session,
    l: L,
    error: Option<ErrorCode>,
) -> Response {
    let secret = match &s.pending_ct {
        Some(ct) => match state.keys.cipher.decrypt(pending_aad(s.staff_id), ct) {
            Ok(secret) => secret,
            Err(e) => return internal(&anyhow::Error::new(e), l),
        },
        None => {
            let secret = crate::crypto::random_bytes::<20>().to_vec();
            let stored = state
                .keys
                .cipher
                .encrypt(pending_aad(s.staff_id), &secret)
                .map_err(anyhow::Error::new);
            match stored {
                Ok(ct) => {
                    if let Err(e) = session::set_pending(state, token, ct).await {
                        return internal(&e, l);
                    }
                }
                Err(e) => return internal(&e, l),
            }
            secret
        }
    };
    let made = staff::totp(
        secret,
        &format!("staff-{}", &s.staff_id.simple().to_string()[..8]),
    )
    .and_then(|t| Ok((staff::qr_svg(&t.get_url())?, t.get_secret_base32())));
    match made {
        Ok((qr_svg, secret)) => render(
            error.map_or(StatusCode::OK, ErrorCode::status),
            &EnrollPage {
                l,
                csrf: session::csrf_token(state, token),
                qr_svg,
                secret,
                error: error.map(|e| e.message(l.lang)),
                error_code: error.map_or("", ErrorCode::code),
            },
        ),
        Err(e) => internal(&e, l),
    }
}

pub async fn show_enroll(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let l = lang_of(&headers, q.as_deref());
    match pending(&state, &headers, STAGE_ENROLL, l).await {
        Ok((token, s)) => enroll_page(&state, &token, &s, l, None).await,
        Err(r) => r,
    }
}

#[derive(Template)]
#[template(path = "triage/recovery.html")]
struct RecoveryPage {
    l: L,
    codes: Vec<String>,
}

/// Confirms the new second factor with a code from the app, stores it, and shows the
/// recovery codes once.
pub async fn enroll(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let (fields, l) = match read_form(&state, &headers, body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (token, s) = match pending(&state, &headers, STAGE_ENROLL, l).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !session::csrf_matches(&state, &headers, &token, fields.get("csrf")) {
        return enroll_page(&state, &token, &s, l, Some(ErrorCode::CsrfFailed)).await;
    }
    let Some(ct) = &s.pending_ct else {
        return enroll_page(&state, &token, &s, l, Some(ErrorCode::InvalidTotp)).await;
    };
    let secret = match state.keys.cipher.decrypt(pending_aad(s.staff_id), ct) {
        Ok(secret) => secret,
        Err(e) => return internal(&anyhow::Error::new(e), l),
    };
    let step = match staff::totp(secret.clone(), "staff") {
        Ok(t) => staff::matching_step(&t, fields.get("code").unwrap_or(""), staff::unix_now()),
        Err(e) => return internal(&e, l),
    };
    let Some(step) = step else {
        return enroll_page(&state, &token, &s, l, Some(ErrorCode::InvalidTotp)).await;
    };
    let db = state.intake.db();
    let stored = async {
        let txn = sea_orm::TransactionTrait::begin(db).await?;
        let codes = staff::enroll(&txn, &state.keys, s.staff_id, &secret, step).await?;
        audit::append(
            &txn,
            &state.keys,
            Event::new(Some(s.staff_id), "totp_enroll"),
        )
        .await?;
        txn.commit().await?;
        anyhow::Ok(codes)
    }
    .await;
    let codes = match stored {
        Ok(c) => c,
        Err(e) if e.is::<staff::AlreadyEnrolled>() => {
            let _ = session::delete(&state, &token).await;
            return see_other(&format!("/triage/login?lang={}", l.code()));
        }
        Err(e) => return internal(&e, l),
    };
    // The new session's cookie goes with the page that shows the codes.
    match signed_in_session(&state, s.staff_id, Some(&token), "totp enrolled").await {
        Ok(new) => with_set_cookie(
            render(StatusCode::OK, &RecoveryPage { l, codes }),
            &session::set_cookie(&state, &new),
        ),
        Err(e) => internal(&e, l),
    }
}

pub async fn logout(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    sign_out(state, headers, body, false).await
}

pub async fn logout_everywhere(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    sign_out(state, headers, body, true).await
}

async fn sign_out(state: AppState, headers: HeaderMap, body: Body, everywhere: bool) -> Response {
    let (fields, l) = match read_form(&state, &headers, body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let p = match signed_in(&state, &headers, l).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if !p.csrf_ok(&headers, fields.get("csrf")) {
        return error_page(ErrorCode::CsrfFailed, l.lang, None);
    }
    let result = async {
        if everywhere {
            session::delete_all(&state, p.member.id).await?;
        } else if let session::Credential::Session { token, .. } = &p.credential {
            session::delete(&state, token).await?;
        }
        let action = if everywhere {
            "logout_everywhere"
        } else {
            "logout"
        };
        audit::record(
            state.intake.db(),
            &state.keys,
            Event::new(Some(p.member.id), action),
        )
        .await?;
        anyhow::Ok(())
    }
    .await;
    match result {
        Ok(()) => with_set_cookie(
            see_other(&format!("/triage/login?lang={}", l.code())),
            &session::clear_cookie(&state),
        ),
        Err(e) => internal(&e, l),
    }
}

// ---- the queue ----

pub struct Opt {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

pub(crate) fn options<T: Copy>(
    all: &[T],
    code: fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
    current: Option<&str>,
) -> Vec<Opt> {
    all.iter()
        .map(|v| Opt {
            value: code(*v),
            label: label(*v),
            selected: current == Some(code(*v)),
        })
        .collect()
}

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
        state.intake.db(),
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
            rrm,
            from: q.from.clone().unwrap_or_default(),
            to: q.to.clone().unwrap_or_default(),
            mine: q.assigned.as_deref() == Some("me"),
            filtered: [
                &q.state,
                &q.sector,
                &q.channel,
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
    let db = state.intake.db();
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
        Ok(Some((mime, bytes))) => super::api::file_response(&mime, bytes),
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
        p.member.id,
        &case,
        fields.get("status"),
        fields.get("reason"),
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
#[template(path = "triage/stats.html")]
struct StatsPage {
    l: L,
    me: Me,
    stats: triage::Stats,
}

pub async fn stats(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let l = lang_of(&headers, q.as_deref());
    let p = match signed_in_as(&state, &headers, l, &[Role::Admin, Role::Coordinator]).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    match triage::stats(state.intake.db()).await {
        Ok(stats) => render(
            StatusCode::OK,
            &StatsPage {
                l,
                me: Me::of(&p),
                stats,
            },
        ),
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
