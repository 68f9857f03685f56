//! Filing for members: the complaint stored with its members, and the filing put on
//! the audit record with the consent it rests on (how, when, for what: nothing
//! identifying).

use crate::audit::{self, Event};
use crate::crypto::KeyRing;
use crate::domain::NewComplaint;
use crate::intake::members::{Consent, OnBehalf};
use crate::intake::{Filed, Intake};

/// Files and puts the filing on the record, with the consent it rests on (how,
/// when, for what: nothing identifying).
pub async fn file_complaint(
    intake: &Intake,
    keys: &KeyRing,
    complaint: &NewComplaint,
    on_behalf: OnBehalf,
    consent: &Consent,
) -> anyhow::Result<Filed> {
    let filed = intake.file_on_behalf(complaint, &on_behalf).await?;
    let detail = format!(
        "members={} workers_affected={} consent_given_by={} consent_method={} consent_date={} consent_uses={}",
        on_behalf.members.len(),
        on_behalf.workers_affected.unwrap_or(1),
        consent.given_by,
        consent.method,
        consent.date,
        consent.uses_codes()
    );
    audit::record(
        intake.db(),
        keys,
        Event::new(Some(on_behalf.advocate), "file_on_behalf")
            .case(filed.case_id)
            .detail(&detail),
    )
    .await?;
    Ok(filed)
}
