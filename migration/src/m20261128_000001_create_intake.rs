//! The intake core: cases, the complainant (absent when anonymous), the workplace,
//! violations and follow-up messages, plus a small settings table.
//!
//! Every `*_ct` column holds AES-256-GCM ciphertext bound to its table, column and
//! row; every `*_bidx` column holds an HMAC-SHA256 blind index. No column holds an IP
//! address or a user agent.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("settings")
                    .if_not_exists()
                    .col(string_len("name", 64).primary_key())
                    .col(text("value"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("cases")
                    .if_not_exists()
                    .col(uuid("id").primary_key())
                    .col(string_len_uniq("case_ref", 16))
                    .col(string_len_uniq("receipt_lookup", 16))
                    .col(string_len("receipt_hash", 255))
                    .col(string_len("channel", 16))
                    .col(string_len("status", 24))
                    .col(string_len("language", 8))
                    .col(boolean("anonymous"))
                    .col(blob("narrative_ct"))
                    .col(date_null("occurred_on"))
                    .col(string_len_null("rule_version", 32))
                    .col(json_null("routing"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_cases_status_created")
                    .table("cases")
                    .col("status")
                    .col("created_at")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("complainants")
                    .if_not_exists()
                    .col(uuid("case_id").primary_key())
                    .col(blob_null("name_ct"))
                    .col(blob_null("phone_ct"))
                    .col(blob_null("phone_bidx"))
                    .col(blob_null("email_ct"))
                    .col(blob_null("email_bidx"))
                    .col(blob_null("worker_id_ct"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_complainants_case")
                            .from("complainants", "case_id")
                            .to("cases", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("idx_complainants_phone_bidx", "phone_bidx"),
            ("idx_complainants_email_bidx", "email_bidx"),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table("complainants")
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("workplaces")
                    .if_not_exists()
                    .col(uuid("case_id").primary_key())
                    .col(blob("employer_ct"))
                    .col(blob("employer_bidx"))
                    .col(blob_null("city_ct"))
                    .col(string_len("state", 8))
                    .col(string_len("sector", 32))
                    .col(string_len("trade_with_us", 8))
                    .col(integer_null("workers"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_workplaces_case")
                            .from("workplaces", "case_id")
                            .to("cases", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("idx_workplaces_employer_bidx", "employer_bidx"),
            ("idx_workplaces_state", "state"),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table("workplaces")
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("case_violations")
                    .if_not_exists()
                    .col(uuid("case_id"))
                    .col(string_len("violation", 40))
                    .primary_key(Index::create().col("case_id").col("violation"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_case_violations_case")
                            .from("case_violations", "case_id")
                            .to("cases", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("case_messages")
                    .if_not_exists()
                    .col(uuid("id").primary_key())
                    .col(uuid("case_id"))
                    .col(string_len("author", 16))
                    .col(blob("body_ct"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_case_messages_case")
                            .from("case_messages", "case_id")
                            .to("cases", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_case_messages_case")
                    .table("case_messages")
                    .col("case_id")
                    .col("created_at")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "case_messages",
            "case_violations",
            "workplaces",
            "complainants",
            "cases",
            "settings",
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
