//! Indexes for the triage queue's filters (issue 18: every filter combination an
//! inspector uses under 50 ms at 1 000 000 cases, BENCHMARKS.md).
//!
//! - `idx_cases_assigned (assigned_to, priority DESC, created_at, id)`: "assigned to
//!   me" (`?assigned=me`). Without it the queue walked everyone's cases in queue
//!   order (or the inspector's whole scope) to find one member's; with it the
//!   member's open cases are read in queue order and each is checked against the
//!   scope. Written when a case is assigned or released, which is rare beside reads.
//! - `idx_case_referrals_scope (authority, case_id, state)` replaces
//!   `idx_case_referrals_authority (authority, case_id)`: the scope check of every
//!   inspector queue (`EXISTS (... r.case_id = c.id AND r.state = 'active' AND
//!   r.authority IN (...))`) is answered from the index alone instead of also reading
//!   each referral row for its state. Same write cost as the index it replaces.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_cases_assigned")
                    .table("cases")
                    .col("assigned_to")
                    .col((Alias::new("priority"), IndexOrder::Desc))
                    .col("created_at")
                    .col("id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_case_referrals_scope")
                    .table("case_referrals")
                    .col("authority")
                    .col("case_id")
                    .col("state")
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_case_referrals_authority")
                    .table("case_referrals")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_case_referrals_authority")
                    .table("case_referrals")
                    .col("authority")
                    .col("case_id")
                    .to_owned(),
            )
            .await?;
        for (index, table) in [
            ("idx_case_referrals_scope", "case_referrals"),
            ("idx_cases_assigned", "cases"),
        ] {
            manager
                .drop_index(Index::drop().name(index).table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
