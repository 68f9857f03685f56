//! Advocates: organizations, cases filed on behalf of members (individually or as a
//! group), each member's identity (encrypted), consent and own receipt, and the RRM
//! petition workflow (answers, evidence, prepared and filed dates).
//!
//! `staff.org` held an organization's name as free text before this migration; it
//! now holds the id of a row of `organizations` (names already in use become rows).

use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A version-4 UUID from the standard library's per-process random keys (this crate
/// has no random number generator of its own).
fn random_uuid() -> u128 {
    use std::hash::{BuildHasher, Hasher};
    let half = || {
        std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish()
    };
    let n = (u128::from(half()) << 64) | u128::from(half());
    let n = (n & !(0xF << 76)) | (0x4 << 76);
    (n & !(0x3 << 62)) | (0x2 << 62)
}

fn hyphenated(n: u128) -> String {
    let h = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("organizations")
                    .if_not_exists()
                    .col(uuid("id").primary_key())
                    .col(string_len_uniq("name", 120))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        // Organizations named in `staff.org` before they were rows.
        let db = manager.get_connection();
        let backend = db.get_database_backend();
        let names = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT DISTINCT org FROM staff WHERE org IS NOT NULL",
            ))
            .await?;
        for row in names {
            let name: String = row.try_get_by_index(0)?;
            let id = random_uuid();
            // Stored as the entities store ids: `uuid` on PostgreSQL, 16 bytes on
            // SQLite; `staff.org` holds the hyphenated text.
            let (insert, id_value): (&str, sea_orm_migration::sea_orm::Value) = match backend {
                sea_orm_migration::sea_orm::DbBackend::Postgres => (
                    "INSERT INTO organizations (id, name, created_at) VALUES (CAST($1 AS uuid), $2, CURRENT_TIMESTAMP)",
                    hyphenated(id).into(),
                ),
                _ => (
                    "INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, CURRENT_TIMESTAMP)",
                    id.to_be_bytes().to_vec().into(),
                ),
            };
            db.execute_raw(Statement::from_sql_and_values(
                backend,
                insert,
                [id_value, name.clone().into()],
            ))
            .await?;
            db.execute_raw(Statement::from_sql_and_values(
                backend,
                "UPDATE staff SET org = $1 WHERE org = $2",
                [hyphenated(id).into(), name.into()],
            ))
            .await?;
        }
        // Who filed: an organization (through one of its advocates), or NULL when a
        // worker filed directly. `workers_affected` is set for collective complaints.
        for column in [
            uuid_null("org_id"),
            uuid_null("filed_by"),
            integer_null("workers_affected"),
        ] {
            manager
                .alter_table(Table::alter().table("cases").add_column(column).to_owned())
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_cases_org")
                    .table("cases")
                    .col("org_id")
                    .col("created_at")
                    .to_owned(),
            )
            .await?;
        // A member a case was filed for. Identity fields are ciphertext bound to the
        // member's row; each member holds a receipt of their own (its hash), which opens
        // the case's status, the staff's messages and their own.
        manager
            .create_table(
                Table::create()
                    .table("case_members")
                    .if_not_exists()
                    .col(uuid("id").primary_key())
                    .col(uuid("case_id"))
                    .col(integer("position"))
                    .col(string_len_null("receipt_lookup", 16).unique_key())
                    .col(string_len_null("receipt_hash", 255))
                    .col(blob_null("name_ct"))
                    .col(blob_null("phone_ct"))
                    .col(blob_null("email_ct"))
                    .col(blob_null("worker_id_ct"))
                    // `member` or `representative`; `verbal`, `written` or `message`.
                    .col(string_len("consent_given_by", 16))
                    .col(string_len("consent_method", 16))
                    .col(date("consent_date"))
                    // Comma-separated: complaint, contact, authorities, petition.
                    .col(string_len("consent_uses", 80))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_case_members_case")
                            .from("case_members", "case_id")
                            .to("cases", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_case_members_case")
                    .table("case_members")
                    .col("case_id")
                    .col("position")
                    .to_owned(),
            )
            .await?;
        // A message written with a member's receipt: shown to that member, staff and
        // the organization, not to the other members.
        manager
            .alter_table(
                Table::alter()
                    .table("case_messages")
                    .add_column(uuid_null("member_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("rrm_petitions")
                    .if_not_exists()
                    .col(uuid("case_id").primary_key())
                    // The advocate's answers (JSON), encrypted: they name people.
                    .col(blob_null("answers_ct"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(uuid_null("updated_by"))
                    .col(timestamp_with_time_zone_null("prepared_at"))
                    .col(uuid_null("prepared_by"))
                    .col(date_null("filed_on"))
                    .col(uuid_null("filed_by"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_rrm_petitions_case")
                            .from("rrm_petitions", "case_id")
                            .to("cases", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("case_evidence")
                    .if_not_exists()
                    .col(uuid("id").primary_key())
                    .col(uuid("case_id"))
                    .col(uuid("uploaded_by"))
                    .col(string_len("mime_type", 100))
                    .col(big_integer("size_bytes"))
                    // SHA-256 of the content, encrypted too: short evidence could
                    // be confirmed by guessing from a plain digest.
                    .col(blob("sha256_ct"))
                    .col(blob("filename_ct"))
                    .col(blob_null("description_ct"))
                    .col(blob("content_ct"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_case_evidence_case")
                            .from("case_evidence", "case_id")
                            .to("cases", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_case_evidence_case")
                    .table("case_evidence")
                    .col("case_id")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // `staff.org` goes back to holding the organization's name.
        let db = manager.get_connection();
        let backend = db.get_database_backend();
        let sql = match backend {
            sea_orm_migration::sea_orm::DbBackend::Postgres => {
                "UPDATE staff SET org = o.name FROM organizations o WHERE staff.org = CAST(o.id AS text)"
            }
            _ => {
                "UPDATE staff SET org = (SELECT o.name FROM organizations o \
                 WHERE lower(hex(o.id)) = replace(staff.org, '-', '')) WHERE org IS NOT NULL"
            }
        };
        db.execute_unprepared(sql).await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_cases_org")
                    .table("cases")
                    .to_owned(),
            )
            .await?;
        for column in ["org_id", "filed_by", "workers_affected"] {
            manager
                .alter_table(Table::alter().table("cases").drop_column(column).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table("case_messages")
                    .drop_column("member_id")
                    .to_owned(),
            )
            .await?;
        for table in [
            "case_evidence",
            "rrm_petitions",
            "case_members",
            "organizations",
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
