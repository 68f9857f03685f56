//! The program indicators for coordinators and admins: `GET /triage/indicators`
//! (page, SVG charts, no JavaScript), `GET /api/v1/indicators` (JSON) and
//! `GET /api/v1/indicators.csv`, with filters `from`, `to` (`YYYY-MM`), `state`,
//! `sector`, `channel`. Inspectors and advocates get 403. Every figure is
//! protected ([`crate::indicators::suppress`]); no page or export names a case,
//! an employer or a person.

use crate::domain::{Channel, Language, Sector, StateCode};
use crate::error::{ApiError, ErrorCode};
use crate::http::AppState;
use crate::http::extract::header_language;
use crate::http::pages::*;
use crate::http::staff_api::principal;
use crate::http::web::{error_page, render};
use crate::indicators::{self, BadFilter, Cell, Filters, Report, Table};
use crate::staff::Role;
use askama::Template;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use serde_json::{Value, json};
use std::collections::HashMap;

const READERS: [Role; 2] = [Role::Admin, Role::Coordinator];

/// The filters of a query. Every value is read by a strict parser (a month, a known
/// code), so an overlong one is refused like any other it cannot read.
fn filters(q: &HashMap<String, String>) -> Result<Filters, BadFilter> {
    Filters::parse(|k| q.get(k).cloned(), crate::clock::now())
}

async fn compute(
    state: &AppState,
    f: &Filters,
    lang: Language,
    role: Role,
) -> anyhow::Result<Report> {
    indicators::report(
        &state.indicators,
        state.intake.reads(),
        f,
        state.settings.indicator_min_cell,
        lang,
        role == Role::Admin,
    )
    .await
}

fn cell_json(c: &Cell, min: u64) -> Value {
    match c {
        Cell::Count(n) => json!(n),
        Cell::Value(v) => json!(v),
        Cell::Suppressed => json!(format!("< {min}")),
        Cell::Empty => Value::Null,
    }
}

fn table_json(t: &Table, min: u64) -> Value {
    let row = |r: &indicators::Row| {
        json!({
            "key": r.key,
            "label": r.label,
            "cells": r.cells.iter().map(|c| cell_json(c, min)).collect::<Vec<_>>(),
            "total": r.total.as_ref().map(|c| cell_json(c, min)),
        })
    };
    json!({
        "id": t.id,
        "family": t.family,
        "title": t.title,
        "definition": t.definition,
        "columns": t.columns,
        "rows": t.rows.iter().map(row).collect::<Vec<_>>(),
        "totals": t.totals.as_ref().map(row),
        "rows_add_up": t.rows_add_up,
    })
}

/// The report as JSON: the same figures as the page, hidden counts as `"< 5"`.
pub fn report_json(r: &Report) -> Value {
    let mut v = json!({
        "from": r.filters.from.label(),
        "to": r.filters.to.label(),
        "filters": {
            "state": r.filters.state.map(StateCode::code),
            "sector": r.filters.sector.map(Sector::code),
            "channel": r.filters.channel.map(Channel::code),
        },
        "min_cell": r.min_cell,
        "generated_at": r.generated_at,
        "tables": r.tables.iter().map(|t| table_json(t, r.min_cell)).collect::<Vec<_>>(),
    });
    if let (Some(held), Some(obj)) = (&r.held, v.as_object_mut()) {
        obj.insert("held".into(), cell_json(held, r.min_cell));
    }
    v
}

async fn api_report(
    state: &AppState,
    headers: &HeaderMap,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Report, ApiError> {
    let lang = header_language(headers);
    let p = principal(state, headers, lang).await?;
    if !READERS.contains(&p.member.role) {
        return Err(ApiError::new(ErrorCode::Forbidden, lang));
    }
    let Query(q) = query.map_err(|_| ApiError::field(ErrorCode::InvalidField, "query", lang))?;
    let lang = q
        .get("lang")
        .and_then(|l| Language::parse(l))
        .unwrap_or(lang);
    let f = filters(&q)
        .map_err(|BadFilter(field)| ApiError::field(ErrorCode::InvalidField, field, lang))?;
    compute(state, &f, lang, p.member.role)
        .await
        .map_err(|e| ApiError::internal(&e, lang))
}

/// Program indicators as JSON.
#[utoipa::path(
    get,
    path = "/api/v1/indicators",
    tag = "triage",
    params(
        ("from" = Option<String>, Query, description = "First month, YYYY-MM (default: eleven months before `to`)"),
        ("to" = Option<String>, Query, description = "Last month, YYYY-MM (default: this month); at most 36 months in all"),
        ("state" = Option<String>, Query, description = "ISO 3166-2:MX code"),
        ("sector" = Option<String>, Query),
        ("channel" = Option<String>, Query, description = "web, api, whatsapp, email"),
        ("lang" = Option<String>, Query, description = "es (default) or en: labels"),
    ),
    responses(
        (status = 200, description = "Tables of counts; a count under BUZON_INDICATOR_MIN_CELL, or one that would reveal it, reads \"< 5\""),
        (status = 403, description = "forbidden: coordinators and admins only", body = crate::error::ErrorBody),
        (status = 422, description = "invalid_field (from, to, state, sector, channel)", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn json(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let r = api_report(&state, &headers, query).await?;
    Ok(Json(report_json(&r)).into_response())
}

/// Program indicators as CSV: `table,row,label,column,value`.
#[utoipa::path(
    get,
    path = "/api/v1/indicators.csv",
    tag = "triage",
    params(
        ("from" = Option<String>, Query), ("to" = Option<String>, Query),
        ("state" = Option<String>, Query), ("sector" = Option<String>, Query),
        ("channel" = Option<String>, Query), ("lang" = Option<String>, Query),
    ),
    responses(
        (status = 200, description = "text/csv, one line per figure", content_type = "text/csv"),
        (status = 403, description = "forbidden", body = crate::error::ErrorBody),
        (status = 422, description = "invalid_field", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let r = api_report(&state, &headers, query).await?;
    let name = format!(
        "attachment; filename=\"indicators-{}-{}.csv\"",
        r.filters.from.label(),
        r.filters.to.label()
    );
    let mut res = indicators::render::csv(&r).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&name) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

#[derive(Template)]
#[template(path = "triage/indicators.html")]
struct IndicatorsPage {
    l: L,
    me: Me,
    from: String,
    to: String,
    states: Vec<Opt>,
    sectors: Vec<Opt>,
    channels: Vec<Opt>,
    scope: String,
    protection: String,
    query: String,
    /// The tables and charts, escaped by [`indicators::render::html_fragment`].
    body: String,
    error: Option<&'static str>,
}

/// `GET /triage/indicators`.
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let l = lang_of(&headers, raw.as_deref());
    let p = match signed_in_as(&state, &headers, l, &READERS).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let q = query.map(|Query(q)| q).unwrap_or_default();
    let (f, error) = match filters(&q) {
        Ok(f) => (f, None),
        Err(_) => (
            match Filters::parse(|_| None, crate::clock::now()) {
                Ok(f) => f,
                Err(_) => return error_page(ErrorCode::InvalidField, l.lang, None),
            },
            Some(ErrorCode::InvalidField.message(l.lang)),
        ),
    };
    let r = match compute(&state, &f, l.lang, p.member.role).await {
        Ok(r) => r,
        Err(e) => return internal(&e, l),
    };
    let opts = |codes: Vec<(&'static str, &'static str)>, chosen: Option<&'static str>| {
        codes
            .into_iter()
            .map(|(value, label)| Opt {
                value,
                label,
                selected: chosen == Some(value),
            })
            .collect()
    };
    let page = IndicatorsPage {
        me: Me::of(&p),
        from: f.from.label(),
        to: f.to.label(),
        states: opts(
            StateCode::ALL
                .iter()
                .map(|s| (s.code(), s.label(l.lang)))
                .collect(),
            f.state.map(StateCode::code),
        ),
        sectors: opts(
            Sector::ALL
                .iter()
                .map(|s| (s.code(), s.label(l.lang)))
                .collect(),
            f.sector.map(Sector::code),
        ),
        channels: opts(
            Channel::ALL
                .iter()
                .map(|s| (s.code(), s.label(l.lang)))
                .collect(),
            f.channel.map(Channel::code),
        ),
        scope: indicators::render::scope_line(&r),
        protection: indicators::render::protection_line(&r),
        query: f.query(),
        body: indicators::render::html_fragment(&r),
        error,
        l,
    };
    render(
        if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
        &page,
    )
}
