//! Asking the complainant a question: shown on their status page and sent through
//! the complainant-notification port ([`crate::notify`]).

use crate::audit::{self, Event};
use crate::cases::*;
use crate::crypto::KeyRing;
use crate::domain::{CaseStatus, Language};
use crate::notify::Notifier;
use anyhow::Context;
use chrono::Utc;
use sea_orm::{DatabaseConnection, TransactionTrait};
use uuid::Uuid;

/// Asks the complainant a question: shown on their status page, and sent through
/// the channel the case came from when a contact is on record (WhatsApp: the exact
/// id the worker wrote from; e-mail: the address), worded in the case's language. The case waits for
/// information, from any open status (asking is reviewing; the answer puts it back
/// in review).
pub async fn ask(
    db: &DatabaseConnection,
    keys: &KeyRing,
    notifier: &Notifier,
    actor: Uuid,
    case: &entity::case::Model,
    body: Option<&str>,
) -> Result<Vec<&'static str>, Refused> {
    let body = text(body, "body", MAX_QUESTION_CHARS)?;
    let from = CaseStatus::parse(&case.status).unwrap_or(CaseStatus::Received);
    if !from.accepts_messages() {
        return Err(Refused::Transition);
    }
    let lang = Language::parse(&case.language).unwrap_or_default();
    let id = Uuid::now_v7();
    let ct = keys
        .cipher
        .encrypt_str(crate::intake::message_aad(id), &body)
        .context("cannot encrypt message")?;
    let txn = db.begin().await?;
    let now = Utc::now();
    crate::db::exec(
        &txn,
        "INSERT INTO case_messages (id, case_id, author, body_ct, created_at) VALUES ($1, $2, $3, $4, $5)",
        vec![id.into(), case.id.into(), AUTHOR_STAFF.into(), ct.into(), now.into()],
    )
    .await?;
    // From the status the caller saw (a case closed meanwhile stays closed).
    let moved = crate::db::exec(
        &txn,
        "UPDATE cases SET status = $2, updated_at = $3 WHERE id = $1 AND status = $4",
        vec![
            case.id.into(),
            CaseStatus::InfoRequested.code().into(),
            now.into(),
            from.code().into(),
        ],
    )
    .await?;
    if moved != 1 {
        return Err(Refused::Transition);
    }
    crate::cases::record_status(&txn, case.id, CaseStatus::InfoRequested, None).await?;
    let mut delivered = vec!["status_page"];
    let tr = |es: &'static str, en: &'static str| lang.pick(es, en);
    let heading = tr("Pregunta sobre su queja", "A question about your complaint");
    let text_out = format!(
        "{} {}:\n\n{}\n\n{}",
        heading,
        case.case_ref,
        body,
        tr(
            "Responda a este mensaje, o en la página de Buzón con su código secreto.",
            "Reply to this message, or on the Buzón page with your secret code."
        )
    );
    if let Some(sender) =
        super::notice::tell(&txn, keys, notifier, case, heading, &text_out).await?
    {
        delivered.push(sender);
    }
    audit::append(
        &txn,
        keys,
        Event::new(Some(actor), "question")
            .case(case.id)
            .detail(&format!(
                "{} -> info_requested via {}",
                from.code(),
                delivered.join(",")
            )),
    )
    .await?;
    txn.commit().await?;
    Ok(delivered)
}
