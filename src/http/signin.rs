//! Signing in to the staff pages under `/triage`: password, then TOTP (enrolled on
//! first sign-in, with recovery codes), sign-out here or everywhere. Inspectors,
//! coordinators, admins and advocates all sign in here; each lands on their pages.

use crate::audit::{self, Event};
use crate::error::ErrorCode;
use crate::http::AppState;
use crate::http::csrf::{Csrf, with_cookie};
use crate::http::pages::*;
use crate::http::session::{self, STAGE_ENROLL, STAGE_FULL, STAGE_PASSWORD};
use crate::http::web::{error_page, render};
use crate::ratelimit::Denied;
use crate::staff::{self};
use askama::Template;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use uuid::Uuid;
use zeroize::Zeroizing;

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
/// after the same work: a try taken from the address's lock ([`staff::lock`], the
/// same table for every address), then Argon2 (a dummy hash stands in for unknown
/// accounts) unless the address is locked, then the same audited write.
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
    let key = staff::email_key(&state.keys, &email);
    // Attempts per account from any address (spraying one account from many), before
    // any Argon2 work.
    match state.limiters.check_account(&key).await {
        Ok(()) => {}
        Err(Denied::Wait(_)) => {
            return login_page(&state, &headers, l, Some(ErrorCode::RateLimited));
        }
        Err(Denied::Unavailable) => {
            return login_page(&state, &headers, l, Some(ErrorCode::LimitsUnavailable));
        }
    }
    let db = state.intake.db();
    // The try is taken before the password is checked, atomically: a burst of
    // attempts gets no more checks than the lock allows.
    match staff::lock::take(db, &key).await {
        Ok(true) => {}
        Ok(false) => return login_page(&state, &headers, l, Some(ErrorCode::AccountLocked)),
        Err(e) => return internal(&e, l),
    }
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
    let member = match creds {
        Some(c) if ok && !c.member.disabled => c.member,
        creds => {
            let (actor, what) = match &creds {
                None => (None, "unknown account"),
                Some(c) if c.member.disabled => (Some(c.member.id), "disabled"),
                Some(c) => (Some(c.member.id), "password"),
            };
            return match staff::record_failure(db, &state.keys, &key, actor, what).await {
                Ok(true) => login_page(&state, &headers, l, Some(ErrorCode::AccountLocked)),
                Ok(false) => login_page(&state, &headers, l, Some(ErrorCode::InvalidCredentials)),
                Err(e) => internal(&e, l),
            };
        }
    };
    // The right password gives its try back; failures before it stay counted until
    // the second factor completes the sign-in.
    if let Err(e) = staff::lock::release(db, &key).await {
        return internal(&e, l);
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
    // One try of the address's lock per code, taken before the code is checked, like
    // the password step's (the same count: five failures of either kind lock).
    let key = match staff::lock::key_of(db, member.id).await {
        Ok(k) => k,
        Err(e) => return internal(&e, l),
    };
    match staff::lock::take(db, &key).await {
        Ok(true) => {}
        Ok(false) => return refuse(ErrorCode::AccountLocked),
        Err(e) => return internal(&e, l),
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
            match staff::record_failure(db, &state.keys, &key, Some(member.id), "second factor")
                .await
            {
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
    // A locked address enrolls nothing, as it passes no second factor. A wrong code
    // here takes no try: the secret is on this very page, so there is nothing to
    // guess, and the password step already counted.
    let locked = async {
        let key = staff::lock::key_of(state.intake.db(), s.staff_id).await?;
        staff::lock::locked_until(state.intake.db(), &key).await
    }
    .await;
    match locked {
        Ok(None) => {}
        Ok(Some(_)) => {
            return enroll_page(&state, &token, &s, l, Some(ErrorCode::AccountLocked)).await;
        }
        Err(e) => return internal(&e, l),
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
