//! Retention: when a closed case's identifying data was erased (`buzon purge` and the
//! server's scheduled purge). The case row itself stays, with its de-identified facts.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("cases")
                    .add_column(timestamp_with_time_zone_null("purged_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("cases")
                    .drop_column("purged_at")
                    .to_owned(),
            )
            .await
    }
}
