//! The start-up backfill of priority and referrals (the counts for coordinators
//! are [`crate::indicators`]).

use crate::intake::referrals::{SOURCE_RULES, insert_referral};
use crate::routing::Decision;
use crate::routing::priority::{self};
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, TransactionTrait};
use uuid::Uuid;

/// Gives cases stored before triage existed their priority and referral rows.
/// Runs at start; a no-op once every case has a priority.
pub async fn backfill(db: &DatabaseConnection) -> anyhow::Result<u64> {
    let rows = crate::db::rows(
        db,
        "SELECT c.id, c.routing, c.created_at, w.workers FROM cases c JOIN workplaces w ON w.case_id = c.id \
         WHERE c.priority IS NULL",
        vec![],
    )
    .await?;
    let mut done = 0;
    for r in &rows {
        let id: Uuid = r.try_get_by_index(0)?;
        let routing: Option<serde_json::Value> = r.try_get_by_index(1)?;
        let created: DateTime<Utc> = r.try_get_by_index(2)?;
        let workers: Option<i32> = r.try_get_by_index(3)?;
        let decision = routing.and_then(|j| serde_json::from_value::<Decision>(j).ok());
        let violations: Vec<crate::domain::Violation> = crate::db::rows(
            db,
            "SELECT violation FROM case_violations WHERE case_id = $1",
            vec![id.into()],
        )
        .await?
        .iter()
        .filter_map(|r| r.try_get_by_index::<String>(0).ok())
        .filter_map(|v| crate::domain::Violation::parse(&v))
        .collect();
        let rrm = decision.as_ref().map(|d| d.rrm.status);
        let score = priority::score(&priority::Facts {
            violations: &violations,
            rrm,
            workers: workers.and_then(|w| u32::try_from(w).ok()),
        });
        let txn = db.begin().await?;
        crate::db::exec(
            &txn,
            "UPDATE cases SET priority = $2, rrm_status = $3 WHERE id = $1 AND priority IS NULL",
            vec![
                id.into(),
                score.into(),
                rrm.map(|s| s.code().to_owned()).into(),
            ],
        )
        .await?;
        for referral in decision.iter().flat_map(|d| d.referrals.iter()) {
            crate::db::exec(
                &txn,
                "DELETE FROM case_referrals WHERE case_id = $1 AND authority = $2 AND function = $3",
                vec![id.into(), referral.authority.as_str().into(), referral.function.code().into()],
            )
            .await?;
            insert_referral(
                &txn,
                id,
                &referral.authority,
                referral.function.code(),
                SOURCE_RULES,
                created,
            )
            .await?;
        }
        txn.commit().await?;
        done += 1;
    }
    Ok(done)
}
