//! The e-mail channel: the durable inbox of raw messages (from the SMTP listener and
//! the inbound-mail webhook), the Message-IDs that thread replies onto cases,
//! machine-suggested violations, and two attachment columns that e-mail needs.
//!
//! Nothing here holds an address, subject or body in plaintext: `raw_ct` and
//! `envelope_ct` are AES-256-GCM ciphertexts, `*_key` and `*_bidx` HMAC-SHA256 blind
//! indexes (Message-IDs often embed a host or user name, so they are only kept
//! blind-indexed too).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("email_inbox")
                    .if_not_exists()
                    .col(uuid("id").primary_key())
                    .col(blob("message_key").unique_key())
                    .col(blob("sender_bidx"))
                    .col(string_len("source", 16))
                    .col(blob("raw_ct"))
                    .col(blob_null("envelope_ct"))
                    .col(big_integer("size_bytes"))
                    .col(string_len("state", 16))
                    .col(string_len_null("outcome", 32))
                    .col(uuid_null("case_id"))
                    .col(integer("attempts"))
                    .col(timestamp_with_time_zone("next_attempt_at"))
                    .col(timestamp_with_time_zone_null("locked_until"))
                    .col(timestamp_with_time_zone("received_at"))
                    .col(timestamp_with_time_zone_null("acked_at"))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("idx_email_inbox_state", &["state", "id"][..]),
            (
                "idx_email_inbox_sender",
                &["state", "sender_bidx", "id"][..],
            ),
            ("idx_email_inbox_acks", &["sender_bidx", "acked_at"][..]),
        ] {
            let mut index = Index::create();
            index.name(name).table("email_inbox");
            for col in cols {
                index.col(*col);
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("email_threads")
                    .if_not_exists()
                    .col(blob("message_key").primary_key())
                    .col(uuid("case_id"))
                    .col(boolean("ours"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_email_threads_case")
                            .from("email_threads", "case_id")
                            .to("cases", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("case_suggested_violations")
                    .if_not_exists()
                    .col(uuid("case_id"))
                    .col(string_len("violation", 40))
                    .col(string_len("source", 16))
                    .primary_key(Index::create().col("case_id").col("violation"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_case_suggested_violations_case")
                            .from("case_suggested_violations", "case_id")
                            .to("cases", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        // SQLite takes one new column per ALTER TABLE.
        for column in [
            string_len_null("content_sha256", 64),
            blob_null("filename_ct"),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table("attachments")
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["filename_ct", "content_sha256"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("attachments")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for table in ["case_suggested_violations", "email_threads", "email_inbox"] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
