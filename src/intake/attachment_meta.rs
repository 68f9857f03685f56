//! Attachment and evidence metadata that could link a known document to a case
//! (a file's SHA-256, the WhatsApp media id, the exact size): encrypted like any
//! other field, so a database without the key file cannot be searched for a file
//! someone already holds (issue 30, finding 5).
//!
//! Files themselves are encrypted padded to a size bucket, so neither does the
//! length of their ciphertext give their exact size.
//!
//! The MIME type and the state of a download stay in clear: the workers select by
//! state, and neither points at one document.

use crate::crypto::{Aad, KeyRing};
use anyhow::Context;
use sea_orm::{DatabaseConnection, TransactionTrait};
use uuid::Uuid;

use super::attachment_aad;

/// Encrypts a text value of an attachment (`media_ref_ct`, `declared_sha256_ct`,
/// `sha256_ct`).
pub fn seal(
    keys: &KeyRing,
    id: Uuid,
    column: &'static str,
    value: &str,
) -> anyhow::Result<Vec<u8>> {
    keys.cipher
        .encrypt_str(attachment_aad(id, column), value)
        .with_context(|| format!("cannot encrypt attachments.{column}"))
}

/// Decrypts a text value of an attachment.
pub fn open(keys: &KeyRing, id: Uuid, column: &'static str, ct: &[u8]) -> anyhow::Result<String> {
    keys.cipher
        .decrypt_string(attachment_aad(id, column), ct)
        .with_context(|| format!("cannot decrypt attachments.{column} of {id}"))
}

/// Encrypts a size (decimal text) under `aad`.
pub fn seal_size(keys: &KeyRing, aad: Aad<'_>, size: i64) -> anyhow::Result<Vec<u8>> {
    keys.cipher
        .encrypt_str(aad, &size.to_string())
        .context("cannot encrypt a size")
}

/// Decrypts a size sealed by [`seal_size`].
pub fn open_size(keys: &KeyRing, aad: Aad<'_>, ct: &[u8]) -> anyhow::Result<i64> {
    keys.cipher
        .decrypt_string(aad, ct)
        .context("cannot decrypt a size")?
        .parse()
        .context("a stored size is not a number")
}

/// How many rows the start-up backfill encrypted (or re-encrypted padded).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Backfilled {
    pub attachments: u64,
    pub evidence: u64,
    pub padded: u64,
}

/// Re-encrypts files stored before they were padded ([`crate::crypto::FieldCipher::encrypt_padded`]),
/// one at a time (they may be megabytes); an update only lands if the row still
/// holds what was read.
async fn pad_files(
    db: &DatabaseConnection,
    keys: &KeyRing,
    table: &'static str,
) -> anyhow::Result<u64> {
    let plain_format = vec![1u8];
    let ids = crate::db::rows(
        db,
        &format!(
            "SELECT id FROM {table} WHERE content_ct IS NOT NULL AND substr(content_ct, 1, 1) = $1"
        ),
        vec![plain_format.into()],
    )
    .await
    .with_context(|| format!("cannot read unpadded {table}"))?;
    let mut done = 0;
    for r in &ids {
        let id: Uuid = r.try_get_by_index(0)?;
        let Some(row) = crate::db::row(
            db,
            &format!("SELECT content_ct FROM {table} WHERE id = $1"),
            vec![id.into()],
        )
        .await?
        else {
            continue;
        };
        let old: Vec<u8> = row.try_get_by_index(0)?;
        if crate::crypto::FieldCipher::is_padded(&old) {
            continue;
        }
        let aad = Aad {
            table,
            column: "content_ct",
            row: id,
        };
        let plain = zeroize::Zeroizing::new(
            keys.cipher
                .decrypt(aad, &old)
                .with_context(|| format!("cannot decrypt {table}.content_ct of {id}"))?,
        );
        let new = keys.cipher.encrypt_padded(aad, &plain)?;
        done += crate::db::exec(
            db,
            &format!("UPDATE {table} SET content_ct = $2 WHERE id = $1 AND content_ct = $3"),
            vec![id.into(), new.into(), old.into()],
        )
        .await?;
    }
    Ok(done)
}

/// Encrypts what versions before migration `m20261207_000013_attachment_meta` left in
/// clear (the legacy columns) and empties it. Runs at every start; a no-op once
/// every legacy column is NULL. Each row is its own transaction, and only lands
/// if its legacy values are still there, so two servers starting together do not
/// clash.
pub async fn backfill(db: &DatabaseConnection, keys: &KeyRing) -> anyhow::Result<Backfilled> {
    let mut done = Backfilled::default();
    let rows = crate::db::rows(
        db,
        "SELECT id, legacy_media_ref, declared_sha256, content_sha256, size_bytes FROM attachments \
         WHERE legacy_media_ref IS NOT NULL OR declared_sha256 IS NOT NULL \
            OR content_sha256 IS NOT NULL OR size_bytes IS NOT NULL",
        vec![],
    )
    .await
    .context("cannot read legacy attachment metadata")?;
    for r in &rows {
        let id: Uuid = r.try_get_by_index(0)?;
        let media_ref: Option<String> = r.try_get_by_index(1)?;
        let declared: Option<String> = r.try_get_by_index(2)?;
        let computed: Option<String> = r.try_get_by_index(3)?;
        let size: Option<i64> = r.try_get_by_index(4)?;
        // E-mail parts had `part:<id>` as their reference: it names nothing.
        let media_ref = media_ref.filter(|m| !m.is_empty() && !m.starts_with("part:"));
        let text = |column, v: Option<String>| -> anyhow::Result<sea_orm::Value> {
            Ok(v.map(|v| seal(keys, id, column, &v)).transpose()?.into())
        };
        let values = vec![
            id.into(),
            text("media_ref_ct", media_ref)?,
            text("declared_sha256_ct", declared)?,
            text("sha256_ct", computed)?,
            size.map(|s| seal_size(keys, attachment_aad(id, "size_ct"), s))
                .transpose()?
                .into(),
        ];
        let txn = db.begin().await?;
        done.attachments += crate::db::exec(
            &txn,
            "UPDATE attachments SET \
               media_ref_ct = COALESCE(media_ref_ct, $2), \
               declared_sha256_ct = COALESCE(declared_sha256_ct, $3), \
               sha256_ct = COALESCE(sha256_ct, $4), \
               size_ct = COALESCE(size_ct, $5), \
               legacy_media_ref = NULL, declared_sha256 = NULL, content_sha256 = NULL, size_bytes = NULL \
             WHERE id = $1 AND (legacy_media_ref IS NOT NULL OR declared_sha256 IS NOT NULL \
               OR content_sha256 IS NOT NULL OR size_bytes IS NOT NULL)",
            values,
        )
        .await?;
        txn.commit().await?;
    }
    let rows = crate::db::rows(
        db,
        "SELECT id, legacy_size_bytes FROM case_evidence WHERE legacy_size_bytes IS NOT NULL",
        vec![],
    )
    .await
    .context("cannot read legacy evidence sizes")?;
    for r in &rows {
        let id: Uuid = r.try_get_by_index(0)?;
        let size: i64 = r.try_get_by_index(1)?;
        // As `advocacy::rrm` binds it (intake does not import advocacy).
        let aad = Aad {
            table: "case_evidence",
            column: "size_ct",
            row: id,
        };
        let ct = seal_size(keys, aad, size)?;
        done.evidence += crate::db::exec(
            db,
            "UPDATE case_evidence SET size_ct = COALESCE(size_ct, $2), legacy_size_bytes = NULL \
             WHERE id = $1 AND legacy_size_bytes IS NOT NULL",
            vec![id.into(), ct.into()],
        )
        .await?;
    }
    done.padded =
        pad_files(db, keys, "attachments").await? + pad_files(db, keys, "case_evidence").await?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_texts_round_trip_under_their_row() {
        let dir = tempfile::tempdir().unwrap();
        let (keys, _) = KeyRing::load_or_create(&dir.path().join("keys.toml")).unwrap();
        let id = Uuid::new_v4();
        let ct = seal(&keys, id, "sha256_ct", "abc").unwrap();
        assert_eq!(open(&keys, id, "sha256_ct", &ct).unwrap(), "abc");
        assert!(open(&keys, Uuid::new_v4(), "sha256_ct", &ct).is_err());
        let ct = seal_size(&keys, attachment_aad(id, "size_ct"), 12_345).unwrap();
        assert!(!ct.windows(5).any(|w| w == b"12345"));
        assert_eq!(
            open_size(&keys, attachment_aad(id, "size_ct"), &ct).unwrap(),
            12_345
        );
    }
}
