//! Meta's 24-hour customer-service window and what Graph refused (issue 31):
//!
//! - `wa_contacts`: per WhatsApp contact (its sender blind index, never the id), when
//!   their last message arrived by the server's clock, and when a template was last
//!   sent to bring them back while content waits for the window;
//! - `outbox.case_id`: the case a notice is about (nullable: conversation replies
//!   belong to none), so staff see on the case what WhatsApp would not deliver;
//! - `outbox.delivery_error` and `delivery_statuses.detail`: the error code and title
//!   of a `failed` delivery status (Meta's words, never content or recipient).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

async fn add(manager: &SchemaManager<'_>, table: &str, column: ColumnDef) -> Result<(), DbErr> {
    // SQLite takes one new column per ALTER TABLE.
    manager
        .alter_table(
            Table::alter()
                .table(Alias::new(table))
                .add_column(column)
                .to_owned(),
        )
        .await
}

async fn drop(manager: &SchemaManager<'_>, table: &str, column: &str) -> Result<(), DbErr> {
    manager
        .alter_table(
            Table::alter()
                .table(Alias::new(table))
                .drop_column(Alias::new(column))
                .to_owned(),
        )
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("wa_contacts"))
                    .if_not_exists()
                    .col(blob("sender_bidx").primary_key())
                    .col(timestamp_with_time_zone("last_inbound_at"))
                    .col(timestamp_with_time_zone_null("template_sent_at"))
                    .to_owned(),
            )
            .await?;
        add(manager, "outbox", uuid_null("case_id")).await?;
        add(manager, "outbox", string_len_null("delivery_error", 96)).await?;
        add(manager, "delivery_statuses", string_len_null("detail", 96)).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_case")
                    .table(Alias::new("outbox"))
                    .col(Alias::new("case_id"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_outbox_case")
                    .table(Alias::new("outbox"))
                    .to_owned(),
            )
            .await?;
        drop(manager, "delivery_statuses", "detail").await?;
        drop(manager, "outbox", "delivery_error").await?;
        drop(manager, "outbox", "case_id").await?;
        manager
            .drop_table(Table::drop().table(Alias::new("wa_contacts")).to_owned())
            .await
    }
}
