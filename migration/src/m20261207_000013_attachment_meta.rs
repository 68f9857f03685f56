//! Attachment and evidence metadata that could link a known document to a case
//! (issue 30, finding 5): the file's SHA-256 (as computed and as WhatsApp declared
//! it), the WhatsApp media id and the exact size. An employer holding the letter it
//! issued must not find the case in a backup without the key file.
//!
//! New columns, AES-256-GCM ciphertexts bound to table, column and row like every
//! other `*_ct` column:
//! - `attachments`: `media_ref_ct`, `declared_sha256_ct`, `sha256_ct`, `size_ct`;
//! - `case_evidence`: `size_ct` (its digest was already `sha256_ct`).
//!
//! And `attachments.failure`: why a download was refused or given up on (issue 30,
//! finding 8: a media URL on a host the access token must not go to).
//!
//! A migration has no key, so existing plaintext values are kept until the server
//! encrypts them at its next start (`buzon::intake::attachment_meta::backfill`),
//! which then empties them. To let that happen the plaintext columns become nullable
//! "legacy" columns that nothing writes any more: `attachments.media_ref` (NOT NULL)
//! is copied into `legacy_media_ref` and dropped, `case_evidence.size_bytes` (NOT
//! NULL) into `legacy_size_bytes` and dropped; `attachments.declared_sha256`,
//! `content_sha256` and `size_bytes` were nullable already and stay as they are.
//! `email_inbox.size_bytes` (the raw message's size) was never read: it is dropped.

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
        let db = manager.get_connection();
        for column in ["media_ref_ct", "declared_sha256_ct", "sha256_ct", "size_ct"] {
            add(manager, "attachments", blob_null(column)).await?;
        }
        add(
            manager,
            "attachments",
            string_len_null("legacy_media_ref", 256),
        )
        .await?;
        // Why a file was refused or given up on ("media URL on a host not allowed",
        // "http 404"...): never a URL, a name or a digest.
        add(manager, "attachments", string_len_null("failure", 64)).await?;
        db.execute_unprepared("UPDATE attachments SET legacy_media_ref = media_ref")
            .await?;
        drop(manager, "attachments", "media_ref").await?;

        add(manager, "case_evidence", blob_null("size_ct")).await?;
        add(
            manager,
            "case_evidence",
            big_integer_null("legacy_size_bytes"),
        )
        .await?;
        db.execute_unprepared("UPDATE case_evidence SET legacy_size_bytes = size_bytes")
            .await?;
        drop(manager, "case_evidence", "size_bytes").await?;

        drop(manager, "email_inbox", "size_bytes").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Going back needs the plaintext, which only the server (with the key) has:
        // the old columns come back empty (sizes 0, references blank).
        add(
            manager,
            "email_inbox",
            big_integer("size_bytes").default(0).to_owned(),
        )
        .await?;
        add(
            manager,
            "case_evidence",
            big_integer("size_bytes").default(0).to_owned(),
        )
        .await?;
        drop(manager, "case_evidence", "legacy_size_bytes").await?;
        drop(manager, "case_evidence", "size_ct").await?;
        add(
            manager,
            "attachments",
            string_len("media_ref", 256).default("").to_owned(),
        )
        .await?;
        for column in [
            "failure",
            "legacy_media_ref",
            "size_ct",
            "sha256_ct",
            "declared_sha256_ct",
            "media_ref_ct",
        ] {
            drop(manager, "attachments", column).await?;
        }
        Ok(())
    }
}
