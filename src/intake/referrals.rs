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

pub async fn insert_referral(
    conn: &impl ConnectionTrait,
    case_id: Uuid,
    authority: &str,
    function: &str,
    source: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    crate::db::exec(
        conn,
        "INSERT INTO case_referrals (case_id, authority, function, source, state, created_at) \
         VALUES ($1, $2, $3, $4, 'active', $5)",
        vec![
            case_id.into(),
            authority.into(),
            function.into(),
            source.into(),
            at.into(),
        ],
    )
    .await
    .context("cannot insert referral")?;
    Ok(())
}
