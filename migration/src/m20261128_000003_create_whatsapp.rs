//! The WhatsApp channel and the outbox: the durable inbox of webhook messages, the
//! conversations in progress, attachments (WhatsApp media, later e-mail parts) and the
//! outbox of side effects.
//!
//! Nothing here holds a WhatsApp id, phone number or message text in plaintext: the
//! `*_ct` columns are AES-256-GCM ciphertexts, the `*_bidx` and `*_key` columns
//! HMAC-SHA256 blind indexes (a WhatsApp message id embeds the sender's number, so
//! even message ids are only kept as blind indexes).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("wa_inbox")
                    .if_not_exists()
                    .col(uuid("id").primary_key())
                    .col(blob("message_key").unique_key())
                    .col(blob("sender_bidx"))
                    .col(blob("payload_ct"))
                    .col(string_len("state", 16))
                    .col(integer("attempts"))
                    .col(timestamp_with_time_zone("next_attempt_at"))
                    .col(timestamp_with_time_zone_null("locked_until"))
                    .col(timestamp_with_time_zone("received_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_wa_inbox_state")
                    .table("wa_inbox")
                    .col("state")
                    .col("id")
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_wa_inbox_sender")
                    .table("wa_inbox")
                    .col("state")
                    .col("sender_bidx")
                    .col("id")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("wa_conversations")
                    .if_not_exists()
                    .col(uuid("id").primary_key())
                    .col(blob("sender_bidx").unique_key())
                    .col(blob("state_ct"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("attachments")
                    .if_not_exists()
                    .col(uuid("id").primary_key())
                    .col(uuid_null("case_id"))
                    .col(uuid_null("conversation_id"))
                    .col(string_len("channel", 16))
                    .col(string_len("media_ref", 256))
                    .col(string_len("mime_type", 128))
                    .col(string_len_null("declared_sha256", 128))
                    .col(big_integer_null("size_bytes"))
                    .col(blob_null("caption_ct"))
                    .col(blob_null("content_ct"))
                    .col(string_len("state", 16))
                    .col(integer("attempts"))
                    .col(timestamp_with_time_zone("next_attempt_at"))
                    .col(timestamp_with_time_zone_null("locked_until"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_attachments_case")
                            .from("attachments", "case_id")
                            .to("cases", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_attachments_conversation")
                            .from("attachments", "conversation_id")
                            .to("wa_conversations", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_attachments_state")
                    .table("attachments")
                    .col("state")
                    .col("next_attempt_at")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("outbox")
                    .if_not_exists()
                    .col(uuid("id").primary_key())
                    .col(string_len("channel", 16))
                    .col(blob("recipient_bidx"))
                    .col(blob("payload_ct"))
                    .col(string_len("state", 16))
                    .col(integer("attempts"))
                    .col(timestamp_with_time_zone("next_attempt_at"))
                    .col(timestamp_with_time_zone_null("locked_until"))
                    .col(string_len_null("last_error", 200))
                    .col(blob_null("provider_key"))
                    .col(string_len_null("delivery", 16))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_state")
                    .table("outbox")
                    .col("state")
                    .col("id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_recipient")
                    .table("outbox")
                    .col("state")
                    .col("recipient_bidx")
                    .col("id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_provider_key")
                    .table("outbox")
                    .col("provider_key")
                    .to_owned(),
            )
            .await?;

        // Delivery statuses that arrived before the send they are about was recorded
        // (the provider answered, the status callback overtook our commit).
        manager
            .create_table(
                Table::create()
                    .table("delivery_statuses")
                    .if_not_exists()
                    .col(uuid("id").primary_key())
                    .col(blob("provider_key"))
                    .col(string_len("status", 16))
                    .col(timestamp_with_time_zone("received_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_delivery_statuses_key")
                    .table("delivery_statuses")
                    .col("provider_key")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "delivery_statuses",
            "outbox",
            "attachments",
            "wa_conversations",
            "wa_inbox",
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
