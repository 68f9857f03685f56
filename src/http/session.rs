//! Server-side staff sessions and the principal every console and API request runs as.
//!
//! - The cookie holds a random 256-bit token; the database keeps only its SHA-256.
//!   `HttpOnly`, `SameSite=Strict`, `Secure` unless `secure_cookies` is off *and* the
//!   server listens on a loopback address (local development); `__Host-` prefixed when
//!   Secure.
//! - A session is made at each step of sign-in (password, then second factor) and
//!   replaced by a new one when the step completes, so a token planted before sign-in
//!   (session fixation) never becomes a signed-in one.
//! - Idle timeout (`last_seen_at`) and absolute timeout (`expires_at`), checked on
//!   every request; "log out everywhere" deletes all of a member's sessions.
//! - CSRF: every state-changing request made with the cookie carries
//!   HMAC-SHA256(csrf key, session token) in the form (`csrf`) or the `X-CSRF-Token`
//!   header, and must not be marked cross-site by `Sec-Fetch-Site`. Requests with a
//!   bearer API token carry no cookie and need none.

use crate::http::AppState;
use crate::http::csrf;
use crate::staff::{self, Member, token_hash};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use chrono::{DateTime, Utc};
use uuid::Uuid;
use zeroize::Zeroizing;

pub const STAGE_PASSWORD: &str = "password";
pub const STAGE_ENROLL: &str = "enroll";
pub const STAGE_FULL: &str = "full";

/// Second-factor steps must be finished within this time.
const STEP_LIFETIME: chrono::Duration = chrono::Duration::minutes(10);
/// `last_seen_at` is written at most this often (not on every request).
const TOUCH_EVERY: chrono::Duration = chrono::Duration::seconds(60);

pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-buzon_staff"
    } else {
        "buzon_staff"
    }
}

pub fn secure(state: &AppState) -> bool {
    state.settings.staff_cookies_secure()
}

pub fn set_cookie(state: &AppState, token: &str) -> String {
    let secure = secure(state);
    let attrs = if secure { "; Secure" } else { "" };
    format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Strict{attrs}",
        cookie_name(secure)
    )
}

pub fn clear_cookie(state: &AppState) -> String {
    let secure = secure(state);
    let attrs = if secure { "; Secure" } else { "" };
    format!(
        "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{attrs}",
        cookie_name(secure)
    )
}

pub fn cookie_token(state: &AppState, headers: &HeaderMap) -> Option<String> {
    csrf::cookie_value(headers, cookie_name(secure(state)))
}

pub fn csrf_token(state: &AppState, session_token: &str) -> String {
    csrf::sign(&state.keys.csrf_key, "staff-session", session_token)
}

/// Whether a state change made with session `token` carries its CSRF token (`given`,
/// or the `X-CSRF-Token` header) and does not come from another site.
pub fn csrf_matches(
    state: &AppState,
    headers: &HeaderMap,
    token: &str,
    given: Option<&str>,
) -> bool {
    csrf_given(secure(state), headers, &csrf_token(state, token), given)
}

fn csrf_given(https_only: bool, headers: &HeaderMap, expected: &str, given: Option<&str>) -> bool {
    let given = given.or_else(|| headers.get("x-csrf-token").and_then(|v| v.to_str().ok()));
    csrf::same_origin(headers, https_only)
        && given.is_some_and(|g| crate::crypto::ct_eq(g.as_bytes(), expected.as_bytes()))
}

/// How the request proved who it is.
#[derive(Clone)]
pub enum Credential {
    /// A console session: state changes need the CSRF token.
    Session {
        token: Zeroizing<String>,
        csrf: String,
        /// Only an https `Origin` is this server's (the cookies are Secure).
        https_only: bool,
    },
    /// A personal API token.
    Bearer,
}

/// The signed-in staff member behind a request.
#[derive(Clone)]
pub struct Principal {
    pub member: Member,
    pub credential: Credential,
}

impl Principal {
    pub fn csrf(&self) -> &str {
        match &self.credential {
            Credential::Session { csrf, .. } => csrf,
            Credential::Bearer => "",
        }
    }

    /// Whether a state-changing request carries what it must: a bearer token, or
    /// the session's CSRF token (form field or header) from this origin.
    pub fn csrf_ok(&self, headers: &HeaderMap, form_token: Option<&str>) -> bool {
        match &self.credential {
            Credential::Bearer => true,
            Credential::Session {
                csrf, https_only, ..
            } => csrf_given(*https_only, headers, csrf, form_token),
        }
    }
}

#[derive(Debug)]
pub enum AuthFailure {
    /// No credential, or one that is unknown, expired, revoked, half-finished or
    /// belongs to a disabled account: all answered alike.
    Unauthenticated,
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for AuthFailure {
    fn from(e: anyhow::Error) -> Self {
        Self::Internal(e)
    }
}

/// A session row.
pub struct Session {
    pub staff_id: Uuid,
    pub stage: String,
    pub pending_ct: Option<Vec<u8>>,
}

/// Creates a session at `stage` and returns its token (for the cookie).
pub async fn create(
    state: &AppState,
    staff_id: Uuid,
    stage: &str,
) -> anyhow::Result<Zeroizing<String>> {
    let token = staff::new_token();
    let now = Utc::now();
    let expires = if stage == STAGE_FULL {
        now + state.settings.staff_session_absolute
    } else {
        now + STEP_LIFETIME
    };
    crate::db::exec(
        state.intake.db(),
        "INSERT INTO staff_sessions (id_hash, staff_id, stage, pending_ct, created_at, last_seen_at, expires_at) \
         VALUES ($1, $2, $3, NULL, $4, $4, $5)",
        vec![
            token_hash(&token).into(),
            staff_id.into(),
            stage.into(),
            now.into(),
            expires.into(),
        ],
    )
    .await?;
    Ok(token)
}

pub async fn delete(state: &AppState, token: &str) -> anyhow::Result<()> {
    crate::db::exec(
        state.intake.db(),
        "DELETE FROM staff_sessions WHERE id_hash = $1",
        vec![token_hash(token).into()],
    )
    .await?;
    Ok(())
}

pub async fn delete_all(state: &AppState, staff_id: Uuid) -> anyhow::Result<u64> {
    crate::db::exec(
        state.intake.db(),
        "DELETE FROM staff_sessions WHERE staff_id = $1",
        vec![staff_id.into()],
    )
    .await
}

pub async fn set_pending(state: &AppState, token: &str, pending_ct: Vec<u8>) -> anyhow::Result<()> {
    crate::db::exec(
        state.intake.db(),
        "UPDATE staff_sessions SET pending_ct = $2 WHERE id_hash = $1",
        vec![token_hash(token).into(), pending_ct.into()],
    )
    .await?;
    Ok(())
}

/// Deletes the sessions that ended (absolute lifetime or idle timeout) without being
/// used again.
pub async fn sweep(state: &AppState) -> anyhow::Result<u64> {
    let now = Utc::now();
    crate::db::exec(
        state.intake.db(),
        "DELETE FROM staff_sessions WHERE expires_at <= $1 OR last_seen_at <= $2",
        vec![now.into(), (now - state.settings.staff_session_idle).into()],
    )
    .await
}

/// A live session (not expired, not idle too long), at any stage.
pub async fn find(state: &AppState, token: &str) -> anyhow::Result<Option<Session>> {
    let db = state.intake.db();
    let hash = token_hash(token);
    let Some(row) = crate::db::row(
        db,
        "SELECT staff_id, stage, pending_ct, last_seen_at, expires_at FROM staff_sessions WHERE id_hash = $1",
        vec![hash.clone().into()],
    )
    .await?
    else {
        return Ok(None);
    };
    let last_seen: DateTime<Utc> = row.try_get_by_index(3)?;
    let expires: DateTime<Utc> = row.try_get_by_index(4)?;
    let now = Utc::now();
    if expires <= now || last_seen + state.settings.staff_session_idle <= now {
        crate::db::exec(
            db,
            "DELETE FROM staff_sessions WHERE id_hash = $1",
            vec![hash.into()],
        )
        .await?;
        return Ok(None);
    }
    if now - last_seen >= TOUCH_EVERY {
        crate::db::exec(
            db,
            "UPDATE staff_sessions SET last_seen_at = $2 WHERE id_hash = $1",
            vec![hash.into(), now.into()],
        )
        .await?;
    }
    Ok(Some(Session {
        staff_id: row.try_get_by_index(0)?,
        stage: row.try_get_by_index(1)?,
        pending_ct: row.try_get_by_index(2)?,
    }))
}

/// Who is asking: a bearer API token, or a fully signed-in session cookie.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Principal, AuthFailure> {
    let db = state.intake.db();
    if let Some(auth) = headers.get(AUTHORIZATION) {
        let token = auth
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| t.len() <= 100)
            .ok_or(AuthFailure::Unauthenticated)?;
        let row = crate::db::row(
            db,
            "SELECT staff_id, last_used_at FROM staff_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
            vec![token_hash(token).into()],
        )
        .await?
        .ok_or(AuthFailure::Unauthenticated)?;
        let staff_id: Uuid = row.try_get_by_index(0).map_err(anyhow::Error::from)?;
        let last_used: Option<DateTime<Utc>> =
            row.try_get_by_index(1).map_err(anyhow::Error::from)?;
        let now = Utc::now();
        if last_used.is_none_or(|t| now - t >= TOUCH_EVERY) {
            crate::db::exec(
                db,
                "UPDATE staff_tokens SET last_used_at = $2 WHERE token_hash = $1",
                vec![token_hash(token).into(), now.into()],
            )
            .await?;
        }
        let member = active_member(state, staff_id).await?;
        return Ok(Principal {
            member,
            credential: Credential::Bearer,
        });
    }
    let token = cookie_token(state, headers).ok_or(AuthFailure::Unauthenticated)?;
    let session = find(state, &token)
        .await?
        .ok_or(AuthFailure::Unauthenticated)?;
    if session.stage != STAGE_FULL {
        return Err(AuthFailure::Unauthenticated);
    }
    let member = active_member(state, session.staff_id).await?;
    let csrf = csrf_token(state, &token);
    Ok(Principal {
        member,
        credential: Credential::Session {
            token: Zeroizing::new(token),
            csrf,
            https_only: secure(state),
        },
    })
}

async fn active_member(state: &AppState, id: Uuid) -> Result<Member, AuthFailure> {
    let member = staff::member(state.intake.db(), id)
        .await?
        .ok_or(AuthFailure::Unauthenticated)?;
    if member.disabled {
        return Err(AuthFailure::Unauthenticated);
    }
    Ok(member)
}
