//! What an inspector does to a case: status, notes, assignment, referrals and
//! duplicates; each is audited and kept to the inspector's scope.

use super::notice::Tell;
use crate::audit::{self, Event};
use crate::cases::*;
use crate::crypto::KeyRing;
use crate::domain::{CaseStatus, Outcome};
use crate::intake::referrals::{SOURCE_MANUAL, insert_referral};
use crate::staff::{Member, Role};
use anyhow::Context;
use chrono::Utc;
use sea_orm::{DatabaseConnection, TransactionTrait};
use uuid::Uuid;

/// A status change as asked: the status, why, and (closing) how the case ended.
#[derive(Clone, Copy, Default)]
pub struct Move<'a> {
    pub to: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub outcome: Option<&'a str>,
}

/// Moves a case along an allowed transition. Closing needs an `outcome`
/// ([`Outcome`]: how the case ended, counted by the indicators); any other move
/// refuses one. A closed case tells its complainant how it ended and where to turn
/// next, by the channel it came through ([`Tell`]), in the same transaction.
pub async fn set_status(
    db: &DatabaseConnection,
    keys: &KeyRing,
    tell: Tell<'_>,
    actor: Uuid,
    case: &entity::case::Model,
    change: Move<'_>,
) -> Result<CaseStatus, Refused> {
    let Move {
        to,
        reason,
        outcome,
    } = change;
    let to =
        CaseStatus::parse(to.map(str::trim).unwrap_or("")).ok_or(Refused::Invalid("status"))?;
    let from = CaseStatus::parse(&case.status).unwrap_or(CaseStatus::Received);
    if !from.can_move_to(to) {
        return Err(Refused::Transition);
    }
    let outcome = match (to, outcome.map(str::trim).filter(|o| !o.is_empty())) {
        (CaseStatus::Closed, None) => return Err(Refused::Missing("outcome")),
        (CaseStatus::Closed, Some(code)) => {
            Some(Outcome::parse(code).ok_or(Refused::Invalid("outcome"))?)
        }
        (_, None) => None,
        (_, Some(_)) => return Err(Refused::Invalid("outcome")),
    };
    let reason = reason.and_then(crate::domain::clean_text);
    if reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > MAX_REASON_CHARS)
    {
        return Err(Refused::TooLong("reason"));
    }
    let txn = db.begin().await?;
    // Only from the status the caller saw: a concurrent change wins, this one is refused.
    let moved = crate::db::exec(
        &txn,
        "UPDATE cases SET status = $2, updated_at = $3 WHERE id = $1 AND status = $4",
        vec![
            case.id.into(),
            to.code().into(),
            Utc::now().into(),
            from.code().into(),
        ],
    )
    .await?;
    if moved != 1 {
        return Err(Refused::Transition);
    }
    record_status(&txn, case.id, to, outcome).await?;
    let told = match outcome {
        Some(o) => super::notice::closed(&txn, keys, tell, case, o).await?,
        None => None,
    };
    let detail = match outcome {
        Some(o) => format!("{} -> {} ({})", from.code(), to.code(), o.code()),
        None => format!("{} -> {}", from.code(), to.code()),
    };
    let detail = match told {
        Some(via) => format!("{detail}; told via {via}"),
        None => detail,
    };
    audit::append(
        &txn,
        keys,
        Event::new(Some(actor), "status")
            .case(case.id)
            .reason_opt(reason.as_deref())
            .detail(&detail),
    )
    .await?;
    txn.commit().await?;
    Ok(to)
}

pub async fn add_note(
    db: &DatabaseConnection,
    keys: &KeyRing,
    actor: Uuid,
    case: &entity::case::Model,
    body: Option<&str>,
) -> Result<(), Refused> {
    let body = text(body, "body", MAX_NOTE_CHARS)?;
    let id = Uuid::now_v7();
    let ct = keys
        .cipher
        .encrypt_str(note_aad(id), &body)
        .context("cannot encrypt note")?;
    let txn = db.begin().await?;
    crate::db::exec(
        &txn,
        "INSERT INTO case_notes (id, case_id, author_id, body_ct, created_at) VALUES ($1, $2, $3, $4, $5)",
        vec![id.into(), case.id.into(), actor.into(), ct.into(), Utc::now().into()],
    )
    .await?;
    touch(&txn, case.id).await?;
    audit::append(
        &txn,
        keys,
        Event::new(Some(actor), "note")
            .case(case.id)
            .target(&id.to_string()),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Assigns the case to `assignee` (the caller or a colleague who shares one of the
/// case's active authorities; admins may assign to any inspector or admin).
pub async fn assign(
    db: &DatabaseConnection,
    keys: &KeyRing,
    actor: &Member,
    case: &entity::case::Model,
    assignee: Uuid,
) -> Result<(), Refused> {
    let target = crate::staff::member(db, assignee)
        .await?
        .filter(|m| !m.disabled && m.role.works_cases())
        .ok_or(Refused::Staff)?;
    if target.role == Role::Inspector {
        let scope = Scope::Authorities(target.authorities.clone());
        let visible = find(db, &scope, &case.case_ref).await?.is_some();
        let colleague = actor.role == Role::Admin
            || target
                .authorities
                .iter()
                .any(|a| actor.authorities.contains(a));
        if !visible || !colleague {
            return Err(Refused::Staff);
        }
    } else if actor.role != Role::Admin {
        return Err(Refused::Staff);
    }
    let txn = db.begin().await?;
    crate::db::exec(
        &txn,
        "UPDATE cases SET assigned_to = $2, updated_at = $3 WHERE id = $1",
        vec![case.id.into(), assignee.into(), Utc::now().into()],
    )
    .await?;
    audit::append(
        &txn,
        keys,
        Event::new(Some(actor.id), "assign")
            .case(case.id)
            .target(&assignee.to_string()),
    )
    .await?;
    touch(&txn, case.id).await?;
    txn.commit().await?;
    Ok(())
}

/// Refers the case to another authority: the new referral is added and the caller's
/// own authorities' referrals are withdrawn (it leaves their queue). Admins add
/// without withdrawing.
pub async fn refer(
    db: &DatabaseConnection,
    keys: &KeyRing,
    actor: &Member,
    case: &entity::case::Model,
    authority: Option<&str>,
    reason: Option<&str>,
) -> Result<(), Refused> {
    let authority = authority.map(str::trim).unwrap_or("");
    if authority.is_empty() {
        return Err(Refused::Missing("authority"));
    }
    if !crate::routing::is_known_code(authority) {
        return Err(Refused::Authority);
    }
    let reason = text(reason, "reason", MAX_REASON_CHARS)?;
    let txn = db.begin().await?;
    let now = Utc::now();
    let updated = crate::db::exec(
        &txn,
        "UPDATE case_referrals SET state = 'active', source = $3 WHERE case_id = $1 AND authority = $2",
        vec![case.id.into(), authority.into(), SOURCE_MANUAL.into()],
    )
    .await?;
    if updated == 0 {
        insert_referral(
            &txn,
            case.id,
            authority,
            function_for(authority),
            SOURCE_MANUAL,
            now,
        )
        .await?;
    }
    if actor.role == Role::Inspector {
        for own in actor.authorities.iter().filter(|a| a.as_str() != authority) {
            crate::db::exec(
                &txn,
                "UPDATE case_referrals SET state = 'withdrawn' WHERE case_id = $1 AND authority = $2",
                vec![case.id.into(), own.as_str().into()],
            )
            .await?;
        }
    }
    // Someone of the old authority no longer holds it.
    crate::db::exec(
        &txn,
        "UPDATE cases SET assigned_to = NULL, updated_at = $2 WHERE id = $1",
        vec![case.id.into(), now.into()],
    )
    .await?;
    audit::append(
        &txn,
        keys,
        Event::new(Some(actor.id), "refer")
            .case(case.id)
            .target(authority)
            .reason(&reason),
    )
    .await?;
    touch(&txn, case.id).await?;
    txn.commit().await?;
    Ok(())
}

/// The function a manual referral to `authority` serves.
fn function_for(authority: &str) -> &'static str {
    let kind = authority.split(':').next().unwrap_or(authority);
    match kind {
        "cfcrl" => "registration",
        "state_ccl" => "conciliation",
        "profedet" | "state_prodet" => "legal_aid",
        "us_ilc_rrm" => "petition",
        _ => "inspection",
    }
}

/// Marks the case a duplicate of another the caller can see, and closes it; its
/// complainant is told, as for any closing.
pub async fn mark_duplicate(
    db: &DatabaseConnection,
    keys: &KeyRing,
    tell: Tell<'_>,
    actor: Uuid,
    scope: &Scope,
    case: &entity::case::Model,
    of: Option<&str>,
) -> Result<String, Refused> {
    let of = of
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(Refused::Missing("duplicate_of"))?;
    let original = find(db, scope, of)
        .await?
        .filter(|o| o.id != case.id && o.duplicate_of != Some(case.id))
        .ok_or(Refused::OtherCase("duplicate_of"))?;
    let from = CaseStatus::parse(&case.status).unwrap_or(CaseStatus::Received);
    if !from.can_move_to(CaseStatus::Closed) {
        return Err(Refused::Transition);
    }
    let txn = db.begin().await?;
    let moved = crate::db::exec(
        &txn,
        "UPDATE cases SET duplicate_of = $2, status = $3, updated_at = $4 WHERE id = $1 AND status = $5",
        vec![
            case.id.into(),
            original.id.into(),
            CaseStatus::Closed.code().into(),
            Utc::now().into(),
            from.code().into(),
        ],
    )
    .await?;
    if moved != 1 {
        return Err(Refused::Transition);
    }
    record_status(&txn, case.id, CaseStatus::Closed, Some(Outcome::Duplicate)).await?;
    let told = super::notice::closed(&txn, keys, tell, case, Outcome::Duplicate).await?;
    let via = told.map_or_else(String::new, |via| format!("; told via {via}"));
    audit::append(
        &txn,
        keys,
        Event::new(Some(actor), "duplicate")
            .case(case.id)
            .target(&original.case_ref)
            .detail(&format!("{} -> closed{via}", case.status)),
    )
    .await?;
    txn.commit().await?;
    Ok(original.case_ref)
}
