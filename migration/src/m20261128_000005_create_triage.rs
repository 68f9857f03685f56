//! The triage console: staff accounts and their authorities, sessions and API tokens,
//! TOTP recovery codes, the hash-chained audit log, internal notes, and the referrals
//! of each case as rows (the queue selects on them), with the queue's ordering facts
//! on `cases`.
//!
//! Staff e-mail addresses are personal data too: stored as ciphertext with a blind
//! index for login. Passwords and recovery codes are hashes; session and API tokens
//! are stored as SHA-256 digests only.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("staff")
                    .if_not_exists()
                    .col(uuid("id").primary_key())
                    .col(blob("email_ct"))
                    .col(blob("email_bidx").unique_key())
                    .col(string_len("role", 16))
                    .col(string_len_null("org", 120))
                    .col(string_len("password_hash", 255))
                    .col(blob_null("totp_ct"))
                    .col(big_integer_null("totp_last_step"))
                    .col(integer("failed_logins"))
                    .col(timestamp_with_time_zone_null("locked_until"))
                    .col(boolean("disabled"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("staff_authorities")
                    .if_not_exists()
                    .col(uuid("staff_id"))
                    .col(string_len("authority", 40))
                    .primary_key(Index::create().col("staff_id").col("authority"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_staff_authorities_staff")
                            .from("staff_authorities", "staff_id")
                            .to("staff", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("staff_recovery_codes")
                    .if_not_exists()
                    .col(uuid("staff_id"))
                    .col(string_len("code_hash", 64))
                    .col(timestamp_with_time_zone_null("used_at"))
                    .primary_key(Index::create().col("staff_id").col("code_hash"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_staff_recovery_staff")
                            .from("staff_recovery_codes", "staff_id")
                            .to("staff", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("staff_sessions")
                    .if_not_exists()
                    .col(string_len("id_hash", 64).primary_key())
                    .col(uuid("staff_id"))
                    // `password`: second factor still owed; `enroll`: TOTP being set
                    // up; `full`: signed in.
                    .col(string_len("stage", 8))
                    .col(blob_null("pending_ct"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("last_seen_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_staff_sessions_staff")
                            .from("staff_sessions", "staff_id")
                            .to("staff", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_staff_sessions_staff")
                    .table("staff_sessions")
                    .col("staff_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("staff_tokens")
                    .if_not_exists()
                    .col(string_len("token_hash", 64).primary_key())
                    .col(uuid("staff_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("last_used_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_staff_tokens_staff")
                            .from("staff_tokens", "staff_id")
                            .to("staff", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("audit_log")
                    .if_not_exists()
                    .col(big_integer("seq").primary_key())
                    .col(timestamp_with_time_zone("at"))
                    .col(uuid_null("actor_id"))
                    .col(string_len("action", 32))
                    .col(uuid_null("case_id"))
                    .col(string_len_null("target", 120))
                    .col(blob_null("reason_ct"))
                    .col(text("detail"))
                    .col(string_len("prev_hash", 64))
                    .col(string_len("hash", 64))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_log_case")
                    .table("audit_log")
                    .col("case_id")
                    .to_owned(),
            )
            .await?;
        // One row: the last sequence number and hash. Appenders lock it first, which
        // serializes them on both back ends, and `audit verify` checks that the log
        // ends where the head says (a deleted tail is a break too).
        manager
            .create_table(
                Table::create()
                    .table("audit_head")
                    .if_not_exists()
                    .col(integer("id").primary_key())
                    .col(big_integer("seq"))
                    .col(string_len("hash", 64))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table("audit_head")
                    .columns(["id", "seq", "hash"])
                    .values_panic([1.into(), 0i64.into(), "0".repeat(64).into()])
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("case_notes")
                    .if_not_exists()
                    .col(uuid("id").primary_key())
                    .col(uuid("case_id"))
                    .col(uuid("author_id"))
                    .col(blob("body_ct"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_case_notes_case")
                            .from("case_notes", "case_id")
                            .to("cases", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_case_notes_case")
                    .table("case_notes")
                    .col("case_id")
                    .col("created_at")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("case_referrals")
                    .if_not_exists()
                    .col(uuid("case_id"))
                    .col(string_len("authority", 40))
                    .col(string_len("function", 16))
                    // `rules` (routing decided it) or `manual` (an inspector referred it).
                    .col(string_len("source", 8))
                    // `active`, or `withdrawn` when the case was referred elsewhere.
                    .col(string_len("state", 12))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(
                        Index::create()
                            .col("case_id")
                            .col("authority")
                            .col("function"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_case_referrals_case")
                            .from("case_referrals", "case_id")
                            .to("cases", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
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
        // SQLite adds one column per ALTER.
        for column in [
            integer_null("priority"),
            string_len_null("rrm_status", 12),
            uuid_null("assigned_to"),
            uuid_null("duplicate_of"),
        ] {
            manager
                .alter_table(Table::alter().table("cases").add_column(column).to_owned())
                .await?;
        }
        // The queue filtered by state and sector, without visiting other sectors' rows.
        manager
            .create_index(
                Index::create()
                    .name("idx_workplaces_state_sector")
                    .table("workplaces")
                    .col("state")
                    .col("sector")
                    .col("case_id")
                    .to_owned(),
            )
            .await?;
        // The queue's order: priority first, then oldest first.
        manager
            .create_index(
                Index::create()
                    .name("idx_cases_queue")
                    .table("cases")
                    .col((Alias::new("priority"), IndexOrder::Desc))
                    .col("created_at")
                    .col("id")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (index, table) in [
            ("idx_cases_queue", "cases"),
            ("idx_workplaces_state_sector", "workplaces"),
        ] {
            manager
                .drop_index(Index::drop().name(index).table(table).to_owned())
                .await?;
        }
        for column in ["priority", "rrm_status", "assigned_to", "duplicate_of"] {
            manager
                .alter_table(Table::alter().table("cases").drop_column(column).to_owned())
                .await?;
        }
        for table in [
            "case_referrals",
            "case_notes",
            "audit_head",
            "audit_log",
            "staff_tokens",
            "staff_sessions",
            "staff_recovery_codes",
            "staff_authorities",
            "staff",
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
