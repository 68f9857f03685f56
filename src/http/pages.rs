//! What the staff pages share, the inspectors' console and the advocates' pages
//! alike: texts in the reader's language ([`L`]), the signed-in member, redirects,
//! forms, select options and the page for an unexpected failure.

use crate::channels::web::form::FormFields;
use crate::domain::{CaseStatus, Channel, Language, Sector, StateCode};
use crate::error::ErrorCode;
use crate::http::AppState;
use crate::http::extract::negotiate_language;
use crate::http::session::{self, AuthFailure, Principal};
use crate::http::web::error_page;
use crate::staff::Role;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};

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

    /// The closing outcomes a person can choose (a duplicate is marked as such).
    pub fn outcomes(&self) -> Vec<(&'static str, &'static str)> {
        crate::domain::Outcome::ALL
            .iter()
            .filter(|o| **o != crate::domain::Outcome::Duplicate)
            .map(|o| (o.code(), o.label(self.lang)))
            .collect()
    }

    pub fn outcome(&self, code: &Option<String>) -> &'static str {
        code.as_deref()
            .and_then(crate::domain::Outcome::parse)
            .map_or("", |o| o.label(self.lang))
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
    pub fn of(p: &Principal) -> Self {
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

pub fn lang_of(headers: &HeaderMap, query: Option<&str>) -> L {
    L {
        lang: negotiate_language(headers, query),
    }
}

pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

pub fn with_set_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// Logs the cause; 503 when it is temporary (database, Argon2 slots), else 500.
pub fn internal(e: &anyhow::Error, l: L) -> Response {
    let code = crate::error::ApiError::internal(e, l.lang).code;
    error_page(code, l.lang, None)
}

/// The signed-in member, or the response to send instead (sign-in page, 403).
pub async fn signed_in(state: &AppState, headers: &HeaderMap, l: L) -> Result<Principal, Response> {
    match session::authenticate(state, headers).await {
        Ok(p) => Ok(p),
        Err(AuthFailure::Unauthenticated) => {
            Err(see_other(&format!("/triage/login?lang={}", l.code())))
        }
        Err(AuthFailure::Internal(e)) => Err(internal(&e, l)),
    }
}

/// Signed in with one of `roles` (403 otherwise).
pub async fn signed_in_as(
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

/// Reads a console form: type, size, encoding; `lang` from the form wins.
pub async fn read_form(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(FormFields, L), Response> {
    let (fields, lang) = crate::http::extract::read_fields(state, headers, body).await?;
    Ok((fields, L { lang }))
}

pub struct Opt {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

pub fn options<T: Copy>(
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
