//! Program indicators and deferred filing.
//!
//! - `hold_until`: a worker asked that the case not be acted on before this instant
//!   (their chosen date, at 00:00 in Mexico City); until then it is in no queue, no
//!   indicator and no outgoing message.
//! - `outcome`: how a closed case ended, recorded by staff when closing.
//! - `first_action_at`, `referred_at`, `closed_at`: when staff first acted on the case,
//!   when it was first referred, and when it was (last) closed; `reached`: a bit per
//!   status the case has ever had (`buzon::indicators` reads the bits).
//!
//! The timestamps and bits of cases stored before this migration come from the audit
//! log, which records every staff action and status change.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The audit actions that are a staff member acting on a case (not reading it).
const ACTIONS: &str =
    "'status', 'note', 'assign', 'refer', 'duplicate', 'facts', 'question', 'advocate_message'";

/// Status codes and their bits in `reached` (received is bit 0, set for every case).
const BITS: [(&str, i32); 5] = [
    ("received", 1),
    ("in_review", 2),
    ("info_requested", 4),
    ("referred", 8),
    ("closed", 16),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER.
        for column in [
            timestamp_with_time_zone_null("hold_until"),
            string_len_null("outcome", 24),
            timestamp_with_time_zone_null("first_action_at"),
            timestamp_with_time_zone_null("referred_at"),
            timestamp_with_time_zone_null("closed_at"),
            integer("reached").default(1).take(),
        ] {
            manager
                .alter_table(Table::alter().table("cases").add_column(column).to_owned())
                .await?;
        }
        let db = manager.get_connection();
        db.execute_unprepared(&format!(
            "UPDATE cases SET first_action_at = (SELECT MIN(a.at) FROM audit_log a \
             WHERE a.case_id = cases.id AND a.actor_id IS NOT NULL AND a.action IN ({ACTIONS}))"
        ))
        .await?;
        db.execute_unprepared(
            "UPDATE cases SET referred_at = (SELECT MIN(a.at) FROM audit_log a \
             WHERE a.case_id = cases.id AND a.action = 'status' AND a.detail LIKE '%-> referred')",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE cases SET closed_at = (SELECT MAX(a.at) FROM audit_log a \
             WHERE a.case_id = cases.id AND a.action = 'status' AND a.detail LIKE '%-> closed') \
             WHERE status = 'closed'",
        )
        .await?;
        for (code, bit) in BITS {
            db.execute_unprepared(&format!(
                "UPDATE cases SET reached = reached + {bit} WHERE (reached / {bit}) % 2 = 0 AND \
                 (status = '{code}' OR EXISTS (SELECT 1 FROM audit_log a WHERE a.case_id = cases.id \
                 AND a.action = 'status' AND a.detail LIKE '%-> {code}'))"
            ))
            .await?;
        }
        // The indicators' cache reads the cases changed since it last looked.
        manager
            .create_index(
                Index::create()
                    .name("idx_cases_updated")
                    .table("cases")
                    .col("updated_at")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_cases_updated")
                    .table("cases")
                    .to_owned(),
            )
            .await?;
        for column in [
            "reached",
            "closed_at",
            "referred_at",
            "first_action_at",
            "outcome",
            "hold_until",
        ] {
            manager
                .alter_table(Table::alter().table("cases").drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
