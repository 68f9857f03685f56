//! The web form's fields as a complaint: what the worker typed, checked like any
//! complaint plus the form's own rule, and the receipt typed into the status forms.

use super::form::FormFields;
use crate::crypto::receipt::Receipt;
use crate::domain::{Channel, ErrorCode, FieldError, IntakeDraft, Language, limits};

/// What the worker typed, kept so a form with errors comes back filled in.
#[derive(Default)]
pub struct FormValues {
    pub employer: String,
    pub city: String,
    pub state: String,
    pub sector: String,
    pub trade_with_us: String,
    pub workers: String,
    pub violations: Vec<String>,
    pub narrative: String,
    pub occurred_on: String,
    /// Deferred filing: the day before which nobody acts on it (empty: at once).
    pub hold_until: String,
    pub identity: String,
    pub name: String,
    pub phone: String,
    pub email: String,
    pub worker_id: String,
}

/// What the worker typed into the complaint form.
pub fn form_values(fields: &FormFields) -> FormValues {
    FormValues {
        employer: fields.owned("employer").unwrap_or_default(),
        city: fields.owned("city").unwrap_or_default(),
        state: fields.owned("state").unwrap_or_default(),
        sector: fields.owned("sector").unwrap_or_default(),
        trade_with_us: fields.owned("trade_with_us").unwrap_or_default(),
        workers: fields.owned("workers").unwrap_or_default(),
        violations: fields.all("violations"),
        narrative: fields.owned("narrative").unwrap_or_default(),
        occurred_on: fields.owned("occurred_on").unwrap_or_default(),
        hold_until: fields.owned("hold_until").unwrap_or_default(),
        identity: fields.owned("identity").unwrap_or_default(),
        name: fields.owned("name").unwrap_or_default(),
        phone: fields.owned("phone").unwrap_or_default(),
        email: fields.owned("email").unwrap_or_default(),
        worker_id: fields.owned("worker_id").unwrap_or_default(),
    }
}

/// The form's answers validated like any complaint, plus the form's own rule (the
/// worker must choose anonymous or contact). Every error is listed, for the page.
pub fn check_form(
    values: &FormValues,
    lang: Language,
    today: chrono::NaiveDate,
) -> Result<crate::domain::NewComplaint, Vec<FieldError>> {
    let identity_chosen = matches!(values.identity.as_str(), "anonymous" | "contact");
    let draft = IntakeDraft {
        language: Some(lang.code().to_owned()),
        anonymous: values.identity != "contact",
        name: Some(values.name.clone()),
        phone: Some(values.phone.clone()),
        email: Some(values.email.clone()),
        worker_id: Some(values.worker_id.clone()),
        employer: Some(values.employer.clone()),
        city: Some(values.city.clone()),
        state: Some(values.state.clone()),
        sector: Some(values.sector.clone()),
        trade_with_us: Some(values.trade_with_us.clone()),
        workers: Some(values.workers.clone()),
        violations: values.violations.clone(),
        narrative: Some(values.narrative.clone()),
        occurred_on: Some(values.occurred_on.clone()),
        hold_until: Some(values.hold_until.clone()),
    };
    let result = draft.validate(Channel::Web, today);
    if identity_chosen {
        return result;
    }
    let mut errors = result.err().unwrap_or_default();
    errors.push(FieldError {
        field: "complainant",
        code: ErrorCode::MissingField,
    });
    Err(errors)
}

/// The receipt field as typed, for showing back in the form.
pub fn typed_receipt(fields: &FormFields) -> String {
    fields
        .get("receipt")
        .unwrap_or_default()
        .chars()
        .take(limits::RECEIPT_INPUT)
        .collect()
}

/// The receipt a posted form carries, with what was typed (cut to a sane length
/// on a character boundary, for showing back); refused when the CSRF check failed
/// or the text cannot be a receipt.
pub fn form_receipt(fields: &FormFields, csrf_ok: bool) -> Result<(String, Receipt), ErrorCode> {
    let typed = typed_receipt(fields);
    if !csrf_ok {
        return Err(ErrorCode::CsrfFailed);
    }
    match Receipt::parse(&typed) {
        Some(receipt) => Ok((typed, receipt)),
        None => Err(ErrorCode::InvalidReceipt),
    }
}
