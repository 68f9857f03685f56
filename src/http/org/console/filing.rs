//! Filing for members on the organization's form (`/org/file`): one member or a
//! group, each with their consent, one printable receipt slip per member.

use super::*;

#[derive(Template)]
#[template(path = "advocacy/file.html")]
pub(super) struct FilePage {
    l: L,
    me: Me,
    error: Option<String>,
    f: FormFields,
    states: Vec<Opt>,
    sectors: Vec<Opt>,
    trades: Vec<Opt>,
    violations: Vec<Opt>,
    uses: Vec<Opt>,
    today: String,
}

impl FilePage {
    fn v(&self, name: &str) -> String {
        self.f.get(name).unwrap_or_default().to_owned()
    }
    fn collective(&self) -> bool {
        self.f.get("kind") == Some("collective")
    }
    /// Consent is usually recorded the day it is filed: today unless given.
    fn consent_date(&self) -> String {
        self.f
            .get("consent_date")
            .map_or_else(|| self.today.clone(), str::to_owned)
    }
    fn is(&self, name: &str, value: &str) -> bool {
        self.f.get(name) == Some(value)
    }
}

pub(super) fn file_page(p: &Principal, l: L, f: FormFields, error: Option<String>) -> Response {
    let violations_checked = f.all("violations");
    let uses_checked = if f.get("csrf").is_some() {
        f.all("consent_uses")
    } else {
        vec![Use::Complaint.code().to_owned()]
    };
    let page = FilePage {
        l,
        me: Me::of(p),
        states: options(
            StateCode::ALL,
            StateCode::code,
            |s| s.label(l.lang),
            f.get("state"),
        ),
        sectors: options(
            Sector::ALL,
            Sector::code,
            |s| s.label(l.lang),
            f.get("sector"),
        ),
        trades: options(
            TradeNexus::ALL,
            TradeNexus::code,
            |t| t.label(l.lang),
            f.get("trade_with_us").or(Some("unknown")),
        ),
        violations: Violation::ALL
            .iter()
            .map(|v| Opt {
                value: v.code(),
                label: v.label(l.lang),
                selected: violations_checked.iter().any(|c| c == v.code()),
            })
            .collect(),
        uses: Use::ALL
            .iter()
            .map(|u| Opt {
                value: u.code(),
                label: u.label(l.lang),
                selected: uses_checked.iter().any(|c| c == u.code()),
            })
            .collect(),
        today: crate::clock::today().to_string(),
        error,
        f,
    };
    render(page_status(&page.error), &page)
}

pub async fn show_file(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let l = lang_of(&headers, q.as_deref());
    match advocate(&state, &headers, l).await {
        Ok((p, _)) => file_page(&p, l, FormFields::default(), None),
        Err(r) => r,
    }
}

/// One member per line: `name; phone; worker id` (any may be empty), `-` alone for
/// an anonymous member.
pub(super) fn member_lines(text: &str, consent: &ConsentIn) -> Vec<MemberIn> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| {
            let parts: Vec<&str> = if line == "-" {
                Vec::new()
            } else {
                line.split(';').map(str::trim).collect()
            };
            let at = |i: usize| {
                parts
                    .get(i)
                    .filter(|s| !s.is_empty())
                    .map(|s| (*s).to_owned())
            };
            let contact = at(1);
            let (phone, email) = match contact {
                Some(c) if c.contains('@') => (None, Some(c)),
                c => (c, None),
            };
            MemberIn {
                name: at(0),
                phone,
                email,
                worker_id: at(2),
                consent: Some(consent.clone()),
            }
        })
        .collect()
}

/// What the form filed, with the names as typed (shown once, never stored in
/// the clear) so the advocate knows whose receipt is whose.
pub(super) struct FiledMember {
    position: i32,
    label: String,
    receipt: String,
}

#[derive(Template)]
#[template(path = "advocacy/filed.html")]
pub(super) struct FiledPage {
    l: L,
    me: Me,
    case_ref: String,
    receipt: String,
    collective: bool,
    members: Vec<FiledMember>,
    status_url: String,
}

pub async fn file(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let (f, l) = match read_form(&state, &headers, body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (p, org) = match advocate(&state, &headers, l).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !p.csrf_ok(&headers, f.get("csrf")) {
        let text = ErrorCode::CsrfFailed.message(l.lang).to_owned();
        return file_page(&p, l, f, Some(text));
    }
    let consent = ConsentIn {
        given_by: f.owned("consent_given_by"),
        method: f.owned("consent_method"),
        date: f.owned("consent_date"),
        uses: Some(f.all("consent_uses")),
    };
    let collective = f.get("kind") == Some("collective");
    let listed = if collective {
        member_lines(f.get("members").unwrap_or_default(), &consent)
    } else {
        Vec::new()
    };
    let labels: Vec<String> = listed
        .iter()
        .map(|m| {
            m.name
                .clone()
                .unwrap_or_else(|| l.t("(anónimo)", "(anonymous)").to_owned())
        })
        .collect();
    let workers_affected = if collective {
        match f
            .get("workers_affected")
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(n) => match n.replace([',', '.', ' '], "").parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    let text = format!(
                        "{} (workers_affected)",
                        ErrorCode::InvalidNumber.message(l.lang)
                    );
                    return file_page(&p, l, f, Some(text));
                }
            },
        }
    } else {
        None
    };
    let request = ComplaintRequest {
        language: f.owned("member_language"),
        anonymous: None,
        complainant: (!collective).then(|| ComplainantIn {
            name: f.owned("name"),
            phone: f.owned("phone"),
            email: f.owned("email"),
            worker_id: f.owned("worker_id"),
        }),
        workplace: Some(WorkplaceIn {
            employer: f.owned("employer"),
            city: f.owned("city"),
            state: f.owned("state"),
            sector: f.owned("sector"),
            trade_with_us: f.owned("trade_with_us"),
            workers: f.owned("workers").map(CountOrUnknown::Text),
        }),
        violations: Some(f.all("violations")),
        narrative: f.owned("narrative"),
        occurred_on: f.owned("occurred_on"),
        hold_until: f.owned("hold_until"),
        consent: Some(consent),
        members: collective.then_some(listed),
        workers_affected: if collective {
            Some(workers_affected.unwrap_or(i64::try_from(labels.len()).unwrap_or(0)))
        } else {
            None
        },
    };
    let validated = crate::channels::api::validate_filing(
        request,
        org,
        p.member.id,
        crate::domain::Channel::Web,
        l.lang,
    );
    let (complaint, on_behalf, consent) = match validated {
        Ok(v) => v,
        Err(e) => {
            let text = message_of(&e, l);
            return file_page(&p, l, f, Some(text));
        }
    };
    let filed = match crate::advocacy::filing::file_complaint(
        &state.intake,
        &state.keys,
        &complaint,
        on_behalf,
        &consent,
    )
    .await
    {
        Ok(filed) => filed,
        Err(e) => return internal(&e, l),
    };
    let members = filed
        .members
        .iter()
        .map(|m| FiledMember {
            position: m.position,
            label: usize::try_from(m.position - 1)
                .ok()
                .and_then(|i| labels.get(i).cloned())
                .unwrap_or_default(),
            receipt: m.receipt.to_string(),
        })
        .collect();
    let page = FiledPage {
        l,
        me: Me::of(&p),
        case_ref: filed.case_ref.clone(),
        receipt: filed.receipt.to_string(),
        collective,
        members,
        status_url: "/status".to_owned(),
    };
    let mut response = render(StatusCode::CREATED, &page);
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}
