//! The authority directory: every body a case can be referred to, with the names
//! shown to workers and contacts an admin fills in (`buzon authorities import`).
//! Public information, not personal data: stored in clear.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("authorities")
                    .if_not_exists()
                    .col(string_len("code", 40).primary_key())
                    .col(text("name_es"))
                    .col(text("name_en"))
                    .col(boolean("name_confirmed"))
                    .col(text("phone"))
                    .col(text("email"))
                    .col(text("address"))
                    .col(text("website"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("authorities").if_exists().to_owned())
            .await
    }
}
