//! The RRM workflow on the organization's pages: the screening's questions and the
//! petition's answers, evidence, the bilingual draft to print, and the filing date.

use super::*;

#[derive(Template)]
#[template(path = "advocacy/rrm.html")]
pub(super) struct RrmPage {
    l: L,
    me: Me,
    view: RrmView,
    sectors: Vec<Opt>,
    trades: Vec<Opt>,
    error: Option<String>,
    saved: bool,
}

impl RrmPage {
    fn a(&self, v: &Option<String>) -> String {
        v.clone().unwrap_or_default()
    }
    fn occurred(&self) -> String {
        self.view
            .answers
            .occurred_on
            .map(|d| d.to_string())
            .unwrap_or_default()
    }
    fn today(&self) -> String {
        chrono::Utc::now().date_naive().to_string()
    }
}

pub(super) async fn rrm_page(
    state: &AppState,
    p: &Principal,
    case: &entity::case::Model,
    l: L,
    error: Option<String>,
    saved: bool,
) -> Response {
    let view = match rrm_view(state, case, l.lang).await {
        Ok(v) => v,
        Err(e) => {
            return match e.code() {
                Some((code, _)) => error_page(code, l.lang, None),
                None => internal(&anyhow::anyhow!("{e}"), l),
            };
        }
    };
    let sectors = options(
        Sector::ALL,
        Sector::code,
        |s| s.label(l.lang),
        view.answers.sector.as_deref(),
    );
    let trades = options(
        TradeNexus::ALL,
        TradeNexus::code,
        |t| t.label(l.lang),
        view.answers.trade_with_us.as_deref(),
    );
    render(
        page_status(&error),
        &RrmPage {
            l,
            me: Me::of(p),
            view,
            sectors,
            trades,
            error,
            saved,
        },
    )
}

pub async fn show_rrm(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let l = lang_of(&headers, q.as_deref());
    let saved = q.as_deref().is_some_and(|q| q.contains("saved=1"));
    match advocate_case(&state, &headers, &case_ref, l).await {
        Ok((p, _, case)) => rrm_page(&state, &p, &case, l, None, saved).await,
        Err(r) => r,
    }
}

pub(super) fn rrm_back(case: &entity::case::Model, l: L) -> Response {
    see_other(&format!(
        "/org/cases/{}/rrm?lang={}&saved=1",
        case.case_ref,
        l.code()
    ))
}

pub async fn save_rrm(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
    body: Body,
) -> Response {
    let (p, _, case, f, l) = match action(&state, &headers, body, &case_ref).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let occurred_on = match f
        .get("occurred_on")
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(d) => match chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                let text = format!("{} (occurred_on)", ErrorCode::InvalidDate.message(l.lang));
                return rrm_page(&state, &p, &case, l, Some(text), false).await;
            }
        },
    };
    let answers = RrmAnswers {
        legal_name: f.owned("legal_name"),
        address: f.owned("address"),
        sector: f.owned("sector").filter(|s| !s.is_empty()),
        goods: f.owned("goods"),
        trade_with_us: f.owned("trade_with_us").filter(|s| !s.is_empty()),
        trade_detail: f.owned("trade_detail"),
        union_history: f.owned("union_history"),
        occurred_on,
        timeline: f.owned("timeline"),
        remedies_tried: f.owned("remedies_tried"),
        remedy_sought: f.owned("remedy_sought"),
    };
    match crate::advocacy::rrm::save_answers(
        state.intake.db(),
        &state.keys,
        p.member.id,
        &case,
        answers,
    )
    .await
    {
        Ok(_) => rrm_back(&case, l),
        Err(e) => match refusal_text(&e, l) {
            Some(text) => rrm_page(&state, &p, &case, l, Some(text), false).await,
            None => internal(&anyhow::anyhow!("{e}"), l),
        },
    }
}

pub async fn evidence(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let l = lang_of(&headers, None);
    let (p, _, case) = match advocate_case(&state, &headers, &case_ref, l).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Ok(form) = form else {
        return error_page(ErrorCode::UnsupportedMediaType, l.lang, None);
    };
    let up: Upload = match read_upload(form).await {
        Ok(u) => u,
        Err(code) => return error_page(code, l.lang, None),
    };
    let l = L {
        lang: up
            .lang
            .as_deref()
            .and_then(Language::parse)
            .unwrap_or(l.lang),
    };
    if !p.csrf_ok(&headers, up.csrf.as_deref()) {
        let text = ErrorCode::CsrfFailed.message(l.lang).to_owned();
        return rrm_page(&state, &p, &case, l, Some(text), false).await;
    }
    match crate::advocacy::rrm::add_evidence(
        state.intake.db(),
        &state.keys,
        p.member.id,
        &case,
        up.filename.as_deref(),
        up.description.as_deref(),
        &up.bytes,
    )
    .await
    {
        Ok(_) => rrm_back(&case, l),
        Err(e) => match refusal_text(&e, l) {
            Some(text) => rrm_page(&state, &p, &case, l, Some(text), false).await,
            None => internal(&anyhow::anyhow!("{e}"), l),
        },
    }
}

pub async fn evidence_file(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((case_ref, id)): Path<(String, String)>,
) -> Response {
    let l = lang_of(&headers, None);
    let (p, _, case) = match advocate_case(&state, &headers, &case_ref, l).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Ok(id) = Uuid::parse_str(&id) else {
        return error_page(ErrorCode::NotFound, l.lang, None);
    };
    match crate::advocacy::rrm::evidence_file(
        state.intake.db(),
        &state.keys,
        p.member.id,
        &case,
        id,
    )
    .await
    {
        Ok(Some((mime, name, bytes))) => crate::http::org::api::download(&mime, &name, bytes),
        Ok(None) => error_page(ErrorCode::NotFound, l.lang, None),
        Err(e) => internal(&e, l),
    }
}

/// The draft, from a form (a POST: the first export records the petition as
/// prepared).
pub async fn petition(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
    body: Body,
) -> Response {
    let (p, _, case, f, l) = match action(&state, &headers, body, &case_ref).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let format = f.get("format").unwrap_or("odt").to_owned();
    if !matches!(format.as_str(), "html" | "odt") {
        return error_page(ErrorCode::InvalidField, l.lang, None);
    }
    match petition_response(&state, &p, &case, &format, l.lang).await {
        Ok(r) => r,
        Err(e) => match e.code() {
            Some((code, _)) => error_page(code, l.lang, None),
            None => internal(&anyhow::anyhow!("{e}"), l),
        },
    }
}

pub async fn filed(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
    body: Body,
) -> Response {
    let (p, _, case, f, l) = match action(&state, &headers, body, &case_ref).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match crate::advocacy::rrm::mark_filed(
        state.intake.db(),
        &state.keys,
        p.member.id,
        &case,
        f.get("filed_on"),
    )
    .await
    {
        Ok(_) => rrm_back(&case, l),
        Err(e) => match refusal_text(&e, l) {
            Some(text) => rrm_page(&state, &p, &case, l, Some(text), false).await,
            None => internal(&anyhow::anyhow!("{e}"), l),
        },
    }
}

#[derive(Template)]
#[template(path = "advocacy/petition.html")]
pub(super) struct PetitionPage {
    l: L,
    docs: [Document; 2],
}

/// The bilingual draft as a page to print (Spanish, a page break, English).
pub fn petition_page(docs: [Document; 2], lang: Language) -> Response {
    let mut response = render(
        StatusCode::OK,
        &PetitionPage {
            l: L { lang },
            docs,
        },
    );
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

impl PetitionPage {
    fn missing(&self, d: &Document) -> &'static str {
        d.missing_marker()
    }
}
