//! A complaint filed by an organization for its members, as the JSON API and the
//! organization's form send it: the consent, one member or a group, and the
//! complaint itself, checked into a complaint and what the intake stores for the
//! members ([`OnBehalf`]).

use super::ComplaintRequest;
use crate::domain::{Channel, ErrorCode, Language, NewComplaint, limits};
use crate::error::ApiError;
use crate::intake::members::{
    Consent, FieldRefusal, MAX_MEMBERS, NewMember, OnBehalf, parse_identity,
};
use uuid::Uuid;

fn field(e: FieldRefusal, lang: Language) -> ApiError {
    ApiError::field_owned(e.0, e.1, lang)
}

/// Checks a filing on behalf of members (API and pages): the consent, one member
/// (the `complainant`, optional) or a group (`workers_affected`, `members`), and the
/// complaint itself. The first problem is reported with its field's path.
pub fn validate_filing(
    mut request: ComplaintRequest,
    org: Uuid,
    advocate: Uuid,
    channel: Channel,
    lang: Language,
) -> Result<(NewComplaint, OnBehalf, Consent), ApiError> {
    let today = crate::clock::today();
    let consent = request
        .consent
        .take()
        .ok_or_else(|| ApiError::field(ErrorCode::ConsentRequired, "consent", lang))?
        .validate("consent", today)
        .map_err(|e| field(e, lang))?;
    let listed = request.members.take();
    let count = request.workers_affected.take();
    let (members, workers_affected) = if listed.is_some() || count.is_some() {
        if request.complainant.as_ref().is_some_and(|c| !c.is_empty()) {
            // A group's identities are its members'.
            return Err(ApiError::field(
                ErrorCode::InvalidField,
                "complainant",
                lang,
            ));
        }
        let listed = listed.unwrap_or_default();
        if listed.len() > MAX_MEMBERS {
            return Err(ApiError::field(ErrorCode::TooManyValues, "members", lang));
        }
        let n = count.unwrap_or(i64::try_from(listed.len()).unwrap_or(i64::MAX));
        if !(2..=limits::MAX_WORKERS).contains(&n)
            || usize::try_from(n).is_ok_and(|n| n < listed.len())
        {
            return Err(ApiError::field(
                ErrorCode::InvalidNumber,
                "workers_affected",
                lang,
            ));
        }
        let members = listed
            .iter()
            .enumerate()
            .map(|(i, m)| m.validate(i, today))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| field(e, lang))?;
        (members, u32::try_from(n).ok())
    } else {
        let who = request.complainant.take().unwrap_or_default();
        let identity = parse_identity(
            "complainant.",
            who.name.as_deref(),
            who.phone.as_deref(),
            who.email.as_deref(),
            who.worker_id.as_deref(),
        )
        .map_err(|e| field(e, lang))?;
        (
            vec![NewMember {
                identity,
                consent: consent.clone(),
                own_receipt: false,
            }],
            None,
        )
    };
    request.complainant = None;
    request.anonymous = Some(true);
    let complaint = request
        .into_draft()
        .validate(channel, today)
        .map_err(|errors| ApiError::validation(errors, lang))?;
    Ok((
        complaint,
        OnBehalf {
            org,
            advocate,
            workers_affected,
            members,
        },
        consent,
    ))
}
