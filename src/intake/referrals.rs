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
