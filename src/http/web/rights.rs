//! `GET /derechos`: the workers' rights guide ([`crate::rights`]) as a page. Spanish
//! by default, English via `?lang=en` or `Accept-Language`; no JavaScript, the quick
//! exit like every worker page, and where each complaint goes generated from the
//! same routing rules the server routes by.

use super::{Toggle, render};
use crate::channels::web::texts::{Texts, texts};
use crate::http::AppState;
use crate::http::extract::negotiate_language;
use crate::rights::Guide;
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

#[derive(Template)]
#[template(path = "rights.html")]
struct RightsPage {
    t: &'static Texts,
    toggle: Toggle,
    g: Guide,
}

/// `GET /derechos`: the guide.
pub async fn show_rights(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let lang = negotiate_language(&headers, query.as_deref());
    let page = RightsPage {
        t: texts(lang),
        toggle: Toggle::Link("/derechos"),
        g: crate::rights::guide(&state.rules, &state.directory, lang),
    };
    render(StatusCode::OK, &page)
}
