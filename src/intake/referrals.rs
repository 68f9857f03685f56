//! A case's referrals to authorities: written by the intake from the routing
//! decision, and by triage when it refers by hand or routes again.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

/// A referral the routing rules made.
pub const SOURCE_RULES: &str = "rules";
/// A referral an inspector made by hand.
pub const SOURCE_MANUAL: &str = "manual";

/// One referral of case `case_id` to `authority` for `function`.
pub async fn insert_referral(
    conn: &impl ConnectionTrait,
    case_id: Uuid,
    authority: &str,
    function: &str,
    source: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    insert_referrals(conn, case_id, &[(authority, function)], source, at).await
}

/// Every `(authority, function)` referral of case `case_id` in one statement (one
/// round trip however many the routing made; each row's triggers still fire).
pub async fn insert_referrals(
    conn: &impl ConnectionTrait,
    case_id: Uuid,
    referrals: &[(&str, &str)],
    source: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    if referrals.is_empty() {
        return Ok(());
    }
    let mut values: Vec<sea_orm::Value> = vec![case_id.into(), source.into(), at.into()];
    let mut rows = Vec::with_capacity(referrals.len());
    for (authority, function) in referrals {
        let n = values.len();
        rows.push(format!("($1, ${}, ${}, $2, 'active', $3)", n + 1, n + 2));
        values.push((*authority).into());
        values.push((*function).into());
    }
    crate::db::exec(
        conn,
        &format!(
            "INSERT INTO case_referrals (case_id, authority, function, source, state, created_at) \
             VALUES {}",
            rows.join(", ")
        ),
        values,
    )
    .await
    .context("cannot insert referral")?;
    Ok(())
}

/// The authorities that give the worker free legal advice on case `case_id` (its
/// active legal-aid referrals: PROFEDET, or the state's Procuraduría de la Defensa
/// del Trabajo), by code: what a closed case tells the worker to turn to next.
pub async fn legal_aid(conn: &impl ConnectionTrait, case_id: Uuid) -> anyhow::Result<Vec<String>> {
    let rows = crate::db::rows(
        conn,
        "SELECT authority FROM case_referrals WHERE case_id = $1 AND function = 'legal_aid' \
         AND state = 'active' ORDER BY authority",
        vec![case_id.into()],
    )
    .await
    .context("cannot read legal-aid referrals")?;
    rows.iter()
        .map(|r| r.try_get_by_index::<String>(0).context("referral row"))
        .collect()
}
