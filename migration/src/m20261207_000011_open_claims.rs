//! `open_claims` on every table a worker claims rows of (the WhatsApp and e-mail
//! inboxes, the outbox, evidence downloads): claims whose work has not reported back.
//! A claim adds one *before* the work starts and every outcome the worker writes sets
//! it back to 0, so a row whose working kills the process (a stack overflow, an
//! abort, the OOM killer) shows it after the restart, and after a few such claims it
//! is set aside for a person instead of killing every instance that takes it up.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: [&str; 4] = ["wa_inbox", "email_inbox", "outbox", "attachments"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(
                            ColumnDef::new("open_claims")
                                .integer()
                                .not_null()
                                .default(0),
                        )
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .drop_column("open_claims")
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
