//! The JSON API (`/api/v1`) for partner apps: file a complaint, read its status with
//! the receipt, add a follow-up message. Receipts travel only in request bodies,
//! never in URLs. Errors are `{"error": {"code", "message", "field"}}` with stable
//! codes (crate::error::ErrorCode). CSRF does not apply: the API accepts only
//! `application/json`, which a cross-site form cannot send without a CORS preflight,
//! and it sets no cookies.
//!
//! The OpenAPI document at `/api/v1/openapi.json` is generated from these types and
//! handlers; the code lists (sectors, violations, states) come from the domain enums.

use crate::crypto::receipt::Receipt;
use crate::domain::{
    CaseStatus, Channel, IntakeDraft, Language, Sector, StateCode, TradeNexus, Violation, limits,
};
use crate::error::{ApiError, ErrorCode};
use crate::intake::{CaseView, ReceiptError};
use crate::routing::{Decision, Directory};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::{ObjectBuilder, Type};

pub mod filing;
#[doc(hidden)]
pub mod fuzzing;

pub use filing::validate_filing;

fn code_list(codes: impl Iterator<Item = &'static str>, description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(codes))
        .description(Some(description))
}

fn sector_schema() -> ObjectBuilder {
    code_list(
        Sector::ALL.iter().map(|s| s.code()),
        "Branch of industry; `unknown` when the worker does not know.",
    )
}

fn state_schema() -> ObjectBuilder {
    code_list(
        StateCode::ALL.iter().map(|s| s.code()),
        "ISO 3166-2:MX code of the facility's state.",
    )
}

fn trade_schema() -> ObjectBuilder {
    code_list(
        TradeNexus::ALL.iter().map(|s| s.code()),
        "Does the facility sell to or compete with the U.S.?",
    )
}

fn violations_schema() -> utoipa::openapi::schema::ArrayBuilder {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(code_list(
            Violation::ALL.iter().map(|s| s.code()),
            "Violation code",
        ))
        .min_items(Some(1))
        .description(Some("What happened; at least one code."))
}

fn status_schema() -> ObjectBuilder {
    code_list(
        CaseStatus::ALL.iter().map(|s| s.code()),
        "Case status code.",
    )
}

/// Who filed; absent or empty when `anonymous` is true.
#[derive(Default, Deserialize, ToSchema)]
pub struct ComplainantIn {
    #[schema(max_length = 200)]
    pub name: Option<String>,
    /// Any format; Mexican numbers may omit +52. Stored normalized to E.164.
    #[schema(max_length = 40, example = "+52 1 477 123 4567")]
    pub phone: Option<String>,
    #[schema(max_length = 254)]
    pub email: Option<String>,
    #[schema(max_length = 64)]
    pub worker_id: Option<String>,
}

impl ComplainantIn {
    pub(crate) fn is_empty(&self) -> bool {
        [&self.name, &self.phone, &self.email, &self.worker_id]
            .iter()
            .all(|f| f.as_deref().is_none_or(|s| s.trim().is_empty()))
    }
}

/// A number, or `"unknown"`.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum CountOrUnknown {
    Count(i64),
    Text(String),
}

#[derive(Default, Deserialize, ToSchema)]
pub struct WorkplaceIn {
    /// Employer or facility name (required).
    #[schema(max_length = 200, example = "Arneses del Bajío")]
    pub employer: Option<String>,
    #[schema(max_length = 100, example = "León")]
    pub city: Option<String>,
    /// Required.
    #[schema(schema_with = state_schema)]
    pub state: Option<String>,
    #[schema(schema_with = sector_schema)]
    pub sector: Option<String>,
    #[schema(schema_with = trade_schema)]
    pub trade_with_us: Option<String>,
    /// Approximate number of workers (1 to 1,000,000) or "unknown".
    pub workers: Option<CountOrUnknown>,
}

/// The intake body. Required: `workplace.employer`, `workplace.state`, at least one
/// violation, and `narrative`. Unknown fields are ignored. Without `anonymous`, a
/// complaint with no `complainant` (or an empty one) is anonymous and one with a
/// complainant is not.
#[derive(Default, Deserialize, ToSchema)]
pub struct ComplaintRequest {
    /// `es` (default) or `en`: the language of messages to the worker.
    #[schema(example = "es")]
    pub language: Option<String>,
    /// `true`: keep no identity (then `complainant` must be absent or empty).
    pub anonymous: Option<bool>,
    pub complainant: Option<ComplainantIn>,
    pub workplace: Option<WorkplaceIn>,
    #[schema(schema_with = violations_schema)]
    pub violations: Option<Vec<String>>,
    #[schema(max_length = 10000)]
    pub narrative: Option<String>,
    /// When it happened (YYYY-MM-DD, not in the future), or "unknown".
    #[schema(example = "2025-03-14")]
    pub occurred_on: Option<String>,
    /// Deferred filing (YYYY-MM-DD, after today and at most 90 days ahead): the case
    /// is stored and receipted now, but nobody reviews it, counts it or writes to the
    /// worker before this day (00:00 in Mexico City), e.g. after they have left the job.
    #[schema(example = "2027-02-15")]
    pub hold_until: Option<String>,
    /// Advocates (bearer token) only, and required for them: the member's consent
    /// (one member: `complainant` is the member, optional) or, for a collective
    /// complaint, the group's consent to file.
    pub consent: Option<crate::intake::members::ConsentIn>,
    /// Advocates only: a collective complaint's listed members (up to 200), each
    /// with their own consent; each gets a receipt of their own. Identities are
    /// optional (anonymous members).
    pub members: Option<Vec<crate::intake::members::MemberIn>>,
    /// Advocates only: a collective complaint's number of workers affected (2 to
    /// 1,000,000; at least the number of listed members). Sent with or without
    /// `members`, it makes the complaint collective.
    pub workers_affected: Option<i64>,
}

impl ComplaintRequest {
    pub(crate) fn into_draft(self) -> IntakeDraft {
        let who = self.complainant.unwrap_or_default();
        let place = self.workplace.unwrap_or_default();
        IntakeDraft {
            language: self.language,
            anonymous: self.anonymous.unwrap_or_else(|| who.is_empty()),
            name: who.name,
            phone: who.phone,
            email: who.email,
            worker_id: who.worker_id,
            employer: place.employer,
            city: place.city,
            state: place.state,
            sector: place.sector,
            trade_with_us: place.trade_with_us,
            workers: place.workers.map(|w| match w {
                CountOrUnknown::Count(n) => n.to_string(),
                CountOrUnknown::Text(t) => t,
            }),
            violations: self.violations.unwrap_or_default(),
            narrative: self.narrative,
            occurred_on: self.occurred_on,
            hold_until: self.hold_until,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ComplaintCreated {
    /// Reference staff use for the case; not a secret, opens nothing.
    #[schema(example = "BZ-7KQM2X9P")]
    pub case_ref: String,
    /// Show this to the worker once: it is the only way back to the case and cannot
    /// be recovered.
    #[schema(example = "7KQM-2X9P-RTAB-3CDE-FGHJ-KMNP")]
    pub receipt: String,
    #[schema(schema_with = status_schema)]
    pub status: &'static str,
    /// The status in the worker's language.
    pub status_label: &'static str,
    pub created_at: DateTime<Utc>,
    /// Where the case goes, in the worker's language (always present for complaints
    /// filed through this API, which carry every fact routing needs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing: Option<RoutingOut>,
    /// Filed by an advocate: their organization.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// Collective complaints: each listed member's own receipt, to hand over on
    /// paper or by message (shown once).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberReceiptOut>,
    /// Deferred filing: nobody acts on the case before this day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_until: Option<chrono::NaiveDate>,
}

#[derive(Serialize, ToSchema)]
pub struct MemberReceiptOut {
    /// The member's place in the `members` list, from 1.
    pub position: i32,
    /// Whether the member was named (identity on record).
    pub named: bool,
    pub receipt: String,
}

impl ComplaintCreated {
    pub fn new(
        filed: crate::intake::Filed,
        directory: &Directory,
        organization: Option<String>,
    ) -> Self {
        Self {
            held_until: filed.held_until,
            status: filed.status.code(),
            status_label: filed.status.label(filed.language),
            created_at: filed.created_at,
            routing: filed
                .routing
                .as_ref()
                .map(|d| RoutingOut::new(d, directory, filed.language)),
            receipt: filed.receipt.to_string(),
            members: filed
                .members
                .iter()
                .map(|m| MemberReceiptOut {
                    position: m.position,
                    named: m.named,
                    receipt: m.receipt.to_string(),
                })
                .collect(),
            case_ref: filed.case_ref,
            organization,
        }
    }
}

/// One authority the case goes to.
#[derive(Serialize, ToSchema)]
pub struct ReferralOut {
    /// Authority code (`cfcrl`, `state_ccl:MX-GUA`, ...).
    pub authority: String,
    /// Its name, in the requested language; unknown official names say so.
    pub name: String,
    /// `conciliation`, `inspection`, `registration`, `legal_aid` or `petition`.
    pub function: &'static str,
    /// What happens there, in plain words.
    pub next_step: &'static str,
    /// The rule that fired and its legal basis.
    pub rule: String,
    pub basis: String,
    /// The facts the rule used.
    pub facts: Vec<String>,
    /// One of several candidates when the jurisdiction is ambiguous or unknown.
    pub candidate: bool,
}

#[derive(Serialize, ToSchema)]
pub struct RrmOut {
    /// `likely`, `possible` or `unlikely`.
    pub status: &'static str,
    /// Criteria: `covered_sector`, `trade_nexus`, `denial_of_rights`, `after_2020_07_01`.
    pub met: Vec<&'static str>,
    pub missing: Vec<&'static str>,
    pub not_met: Vec<&'static str>,
    /// Questions that would settle the missing criteria, in the requested language.
    pub questions: Vec<&'static str>,
}

#[derive(Serialize, ToSchema)]
pub struct JurisdictionOut {
    /// `federal`, `local`, `ambiguous` or `unknown`.
    pub status: &'static str,
    pub basis: String,
}

/// Where a case goes and why.
#[derive(Serialize, ToSchema)]
pub struct RoutingOut {
    pub rule_version: String,
    pub jurisdiction: JurisdictionOut,
    pub referrals: Vec<ReferralOut>,
    pub rrm: RrmOut,
}

impl RoutingOut {
    pub fn new(d: &Decision, directory: &Directory, lang: Language) -> Self {
        Self {
            rule_version: d.rule_version.clone(),
            jurisdiction: JurisdictionOut {
                status: d.jurisdiction.status.code(),
                basis: d.jurisdiction.basis.clone(),
            },
            referrals: d
                .referrals
                .iter()
                .map(|r| ReferralOut {
                    authority: r.authority.clone(),
                    name: directory.name(&r.authority, lang),
                    function: r.function.code(),
                    next_step: r.function.next_step(lang),
                    rule: r.rule.clone(),
                    basis: r.basis.clone(),
                    facts: r.facts.clone(),
                    candidate: r.candidate,
                })
                .collect(),
            rrm: RrmOut {
                status: d.rrm.status.code(),
                met: d.rrm.met.iter().map(|c| c.code()).collect(),
                missing: d.rrm.missing.iter().map(|c| c.code()).collect(),
                not_met: d.rrm.not_met.iter().map(|c| c.code()).collect(),
                questions: d.rrm.missing.iter().map(|c| c.question(lang)).collect(),
            },
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct StatusRequest {
    #[schema(example = "7KQM-2X9P-RTAB-3CDE-FGHJ-KMNP")]
    pub receipt: Option<String>,
    /// Language of labels and messages: `es` (default) or `en`.
    pub language: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct MessageRequest {
    pub receipt: Option<String>,
    #[schema(max_length = 5000)]
    pub message: Option<String>,
    pub language: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MessageOut {
    /// `complainant`, `staff`, or `advocate` (the organization that filed the case).
    pub from: &'static str,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// Status and messages; never identifying data.
#[derive(Serialize, ToSchema)]
pub struct CaseStatusResponse {
    pub case_ref: String,
    #[schema(schema_with = status_schema)]
    pub status: &'static str,
    pub status_label: &'static str,
    /// What the status means for the worker, in plain words.
    pub status_explanation: &'static str,
    /// Whether the complainant can still add messages.
    pub accepts_messages: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub messages: Vec<MessageOut>,
    /// Where the case goes (absent only for cases stored before routing existed).
    pub routing: Option<RoutingOut>,
    /// Deferred filing: nobody acts on the case before this day (absent once it
    /// has come); `held_explanation` says so in the worker's words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_until: Option<chrono::NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_explanation: Option<String>,
}

impl CaseStatusResponse {
    pub fn new(view: CaseView, directory: &Directory, lang: Language) -> Self {
        Self {
            routing: view
                .routing
                .as_ref()
                .map(|d| RoutingOut::new(d, directory, lang)),
            held_until: view.held_until,
            held_explanation: view.held_until.map(|d| crate::domain::held_notice(d, lang)),
            case_ref: view.case_ref,
            status: view.status.code(),
            status_label: view.status.label(lang),
            status_explanation: view.status.explanation(lang),
            accepts_messages: view.status.accepts_messages(),
            created_at: view.created_at,
            updated_at: view.updated_at,
            messages: view
                .messages
                .into_iter()
                .map(|m| MessageOut {
                    from: if m.from_advocate {
                        "advocate"
                    } else if m.from_staff {
                        "staff"
                    } else {
                        "complainant"
                    },
                    body: m.body,
                    created_at: m.created_at,
                })
                .collect(),
        }
    }
}

pub fn receipt_error(e: ReceiptError, lang: Language) -> ApiError {
    match e {
        ReceiptError::NotFound => ApiError::field(ErrorCode::ReceiptNotFound, "receipt", lang),
        ReceiptError::Closed(_) => ApiError::new(ErrorCode::CaseClosed, lang),
        ReceiptError::Unexpected(e) => ApiError::internal(&e, lang),
    }
}

pub fn parse_receipt(raw: Option<&str>, lang: Language) -> Result<Receipt, ApiError> {
    match raw.map(str::trim) {
        None | Some("") => Err(ApiError::field(ErrorCode::MissingField, "receipt", lang)),
        Some(r) if r.chars().count() > limits::RECEIPT_INPUT => {
            Err(ApiError::field(ErrorCode::InvalidReceipt, "receipt", lang))
        }
        Some(r) => Receipt::parse(r)
            .ok_or_else(|| ApiError::field(ErrorCode::InvalidReceipt, "receipt", lang)),
    }
}

/// A worker's own complaint (no token): nothing filed for others, no identity in an
/// anonymous one, and every field valid.
pub fn own_complaint(
    request: ComplaintRequest,
    lang: Language,
) -> Result<crate::domain::NewComplaint, ApiError> {
    if request.consent.is_some() || request.members.is_some() || request.workers_affected.is_some()
    {
        // Filing for others is an advocate's act: it needs their token.
        return Err(ApiError::new(ErrorCode::Unauthorized, lang));
    }
    if request.anonymous == Some(true)
        && request.complainant.as_ref().is_some_and(|c| !c.is_empty())
    {
        return Err(ApiError::field(
            ErrorCode::AnonymousWithIdentity,
            "complainant",
            lang,
        ));
    }
    request
        .into_draft()
        .validate(Channel::Api, crate::clock::today())
        .map_err(|errors| ApiError::validation(errors, lang))
}

/// The case a dry run routes: identity dropped, employer and narrative optional.
pub fn hypothetical(
    mut request: ComplaintRequest,
    lang: Language,
) -> Result<crate::domain::NewComplaint, ApiError> {
    request.complainant = None;
    request.anonymous = Some(true);
    request.narrative.get_or_insert_with(|| "-".into());
    if let Some(w) = request.workplace.as_mut() {
        w.employer.get_or_insert_with(|| "-".into());
    }
    request
        .into_draft()
        .validate(Channel::Api, crate::clock::today())
        .map_err(|errors| ApiError::validation(errors, lang))
}

/// A JSON body read as `T`: valid UTF-8, one JSON value, type errors reported with
/// the path of the offending field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8], lang: Language) -> Result<T, ApiError> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| ApiError::new(ErrorCode::InvalidEncoding, lang))?;
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        match e.inner().classify() {
            serde_json::error::Category::Data if path != "." => {
                ApiError::field_owned(ErrorCode::InvalidField, path, lang)
            }
            _ => ApiError::new(ErrorCode::InvalidJson, lang),
        }
    })?;
    de.end()
        .map_err(|_| ApiError::new(ErrorCode::InvalidJson, lang))?;
    Ok(value)
}

pub fn body_language(raw: Option<&str>, fallback: Language) -> Language {
    raw.and_then(Language::parse).unwrap_or(fallback)
}
