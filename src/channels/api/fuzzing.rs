//! What the fuzz targets (`fuzz/`) run on a JSON API body: the same reading
//! ([`super::parse_json`]) and checks as the handlers of `POST /api/v1/complaints`
//! (a worker's own complaint and an advocate's filing), `POST /api/v1/route`,
//! `POST /api/v1/status` and `POST /api/v1/status/messages`, and the error body a
//! refusal becomes. Everything short of the database. Panics when an invariant does
//! not hold.

use super::{
    ComplaintRequest, MessageRequest, StatusRequest, body_language, hypothetical, own_complaint,
    parse_json, parse_receipt,
};
use crate::domain::{Channel, Language, NewComplaint, Text, limits};
use crate::error::ApiError;
use crate::routing::{CaseFacts, Rules};
use axum::response::IntoResponse;
use std::sync::OnceLock;

fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| match Rules::load(None) {
        Ok(rules) => rules,
        Err(e) => panic!("the built-in routing rules do not load: {e}"),
    })
}

/// A refusal as the client reads it: a 4xx with the JSON error body.
fn refused(e: ApiError) {
    let status = e.into_response().status();
    assert!(status.is_client_error(), "a refusal answered {status}");
}

/// A complaint that passed: what the validation promises.
fn check(c: &NewComplaint) {
    assert!(!c.violations.is_empty());
    assert!(c.narrative.as_str().chars().count() <= limits::NARRATIVE);
    assert!(c.workplace.employer.as_str().chars().count() <= limits::EMPLOYER);
    assert!(
        c.workplace
            .workers
            .is_none_or(|n| (1..=limits::MAX_WORKERS).contains(&i64::from(n)))
    );
}

/// One body, read as each request type the API takes.
pub fn body(bytes: &[u8]) {
    let lang = Language::Es;
    let complaint = |bytes: &[u8]| parse_json::<ComplaintRequest>(bytes, lang);
    match complaint(bytes) {
        Err(e) => refused(e),
        Ok(request) => {
            let lang = body_language(request.language.as_deref(), lang);
            match own_complaint(request, lang) {
                Ok(c) => check(&c),
                Err(e) => refused(e),
            }
        }
    }
    if let Ok(request) = complaint(bytes) {
        let lang = body_language(request.language.as_deref(), lang);
        match hypothetical(request, lang) {
            Ok(c) => {
                check(&c);
                let decision = crate::routing::route(rules(), &CaseFacts::of(&c));
                assert!(!decision.rule_version.is_empty());
            }
            Err(e) => refused(e),
        }
    }
    if let Ok(request) = complaint(bytes) {
        let lang = body_language(request.language.as_deref(), lang);
        let org = uuid::Uuid::nil();
        match super::validate_filing(request, org, org, Channel::Api, lang) {
            Ok((c, _, _)) => check(&c),
            Err(e) => refused(e),
        }
    }
    match parse_json::<StatusRequest>(bytes, lang) {
        Ok(request) => {
            let lang = body_language(request.language.as_deref(), lang);
            if let Err(e) = parse_receipt(request.receipt.as_deref(), lang) {
                refused(e);
            }
        }
        Err(e) => refused(e),
    }
    if let Ok(request) = parse_json::<MessageRequest>(bytes, lang) {
        let lang = body_language(request.language.as_deref(), lang);
        if let Err(e) = parse_receipt(request.receipt.as_deref(), lang) {
            refused(e);
        }
        if let Ok(text) = Text::parse(request.message.as_deref().unwrap_or(""), limits::MESSAGE) {
            assert!(text.as_str().chars().count() <= limits::MESSAGE);
        }
    }
}
