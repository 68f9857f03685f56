//! Answers on WhatsApp reach the case (issue 31):
//!
//! - `complainants.wa_id_ct`: the exact WhatsApp id a named worker wrote from (a
//!   number as WhatsApp spells it, `5214775550142`, or a business-scoped user id),
//!   encrypted like every `*_ct` column. Every notice goes to it; the E.164
//!   `phone_ct` stays for display and dedupe.
//! - `complainants.wa_sender_bidx`: the blind index the WhatsApp channel keys a
//!   sender by, so a message from that sender is offered as a reply to their open
//!   cases. Only named cases have a complainant row: an anonymous case never gets
//!   either column and stays unlinkable to a phone.
//! - `wa_pending_replies`: a message held while its sender chooses which of their
//!   cases it is about (or to start a new complaint), encrypted, erased when they
//!   answer or after the conversation idle time.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one new column per ALTER TABLE.
        for column in ["wa_id_ct", "wa_sender_bidx"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("complainants")
                        .add_column(blob_null(column))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_complainants_wa_sender")
                    .table("complainants")
                    .col("wa_sender_bidx")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("wa_pending_replies")
                    .if_not_exists()
                    .col(uuid("id").primary_key())
                    .col(blob("sender_bidx"))
                    .col(blob("state_ct"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_wa_pending_replies_sender")
                    .table("wa_pending_replies")
                    .col("sender_bidx")
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("wa_pending_replies").to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_complainants_wa_sender")
                    .table("complainants")
                    .to_owned(),
            )
            .await?;
        for column in ["wa_sender_bidx", "wa_id_ct"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("complainants")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
