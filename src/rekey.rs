//! Key rotation: which key every stored ciphertext uses (`buzon keys status`), and
//! putting every one of them under the active key (`buzon keys reencrypt`).
//!
//! Every ciphertext names its key in bytes 2..=5 (see [`crate::crypto::FieldCipher`]),
//! so both jobs are plain SQL over the columns in [`SEALED`]: counting by that
//! prefix, and fetching the values whose prefix is not the active key's. Re-encryption
//! goes in batches, each committed on its own, and only touches values still under an
//! older key, so an interrupted run (Ctrl-C, a crash, `--limit`) resumes where it
//! stopped when run again; servers may keep running meanwhile. An update only lands
//! if the row still holds the ciphertext that was read (a value a server changed in
//! between is picked up by the next batch instead of being overwritten). A value that
//! does not decrypt stops the run with its table, column and row: that is damage or a
//! missing key, which an operator must see, not a row to skip.
//!
//! The blind-index key (exact-match lookups, the audit chain, duplicate detection) is
//! not rotated: its outputs are one-way, and rebuilding them would need plaintexts the
//! service deliberately does not keep (delivery ids, raw message digests). It never
//! leaves the key file and protects no value at rest on its own.

use crate::crypto::{Aad, KeyRing};
use anyhow::Context;
use sea_orm::DatabaseConnection;
use std::collections::BTreeMap;
use uuid::Uuid;

/// How a ciphertext's associated data names its row.
#[derive(Clone, Copy, Debug)]
pub enum RowKey {
    /// A UUID column (the row's id, or the case id for a case's one-to-one rows).
    Uuid(&'static str),
    /// An integer sequence number, as `Uuid::from_u128(seq)` (the audit log).
    Seq(&'static str),
}

impl RowKey {
    fn column(self) -> &'static str {
        match self {
            RowKey::Uuid(c) | RowKey::Seq(c) => c,
        }
    }
}

/// One encrypted column.
#[derive(Clone, Copy, Debug)]
pub struct Sealed {
    pub table: &'static str,
    pub column: &'static str,
    pub row: RowKey,
    /// Values that may be megabytes (attachments, evidence): fetched a few at a time.
    pub large: bool,
}

const fn sealed(table: &'static str, column: &'static str, row: RowKey) -> Sealed {
    Sealed {
        table,
        column,
        row,
        large: false,
    }
}

const fn large(table: &'static str, column: &'static str, row: RowKey) -> Sealed {
    Sealed {
        table,
        column,
        row,
        large: true,
    }
}

use RowKey::{Seq, Uuid as Id};

/// Every encrypted column in the schema. A test compares this with the database's
/// own list of `*_ct` columns, so a new one cannot be forgotten here.
pub const SEALED: &[Sealed] = &[
    sealed("cases", "narrative_ct", Id("id")),
    sealed("complainants", "name_ct", Id("case_id")),
    sealed("complainants", "phone_ct", Id("case_id")),
    sealed("complainants", "email_ct", Id("case_id")),
    sealed("complainants", "worker_id_ct", Id("case_id")),
    sealed("complainants", "wa_id_ct", Id("case_id")),
    sealed("workplaces", "employer_ct", Id("case_id")),
    sealed("workplaces", "city_ct", Id("case_id")),
    sealed("case_messages", "body_ct", Id("id")),
    sealed("case_notes", "body_ct", Id("id")),
    sealed("case_members", "name_ct", Id("id")),
    sealed("case_members", "phone_ct", Id("id")),
    sealed("case_members", "email_ct", Id("id")),
    sealed("case_members", "worker_id_ct", Id("id")),
    sealed("rrm_petitions", "answers_ct", Id("case_id")),
    sealed("case_evidence", "sha256_ct", Id("id")),
    sealed("case_evidence", "size_ct", Id("id")),
    sealed("case_evidence", "filename_ct", Id("id")),
    sealed("case_evidence", "description_ct", Id("id")),
    large("case_evidence", "content_ct", Id("id")),
    sealed("attachments", "caption_ct", Id("id")),
    sealed("attachments", "filename_ct", Id("id")),
    sealed("attachments", "media_ref_ct", Id("id")),
    sealed("attachments", "declared_sha256_ct", Id("id")),
    sealed("attachments", "sha256_ct", Id("id")),
    sealed("attachments", "size_ct", Id("id")),
    large("attachments", "content_ct", Id("id")),
    sealed("wa_inbox", "payload_ct", Id("id")),
    sealed("wa_conversations", "state_ct", Id("id")),
    sealed("wa_pending_replies", "state_ct", Id("id")),
    sealed("outbox", "payload_ct", Id("id")),
    large("email_inbox", "raw_ct", Id("id")),
    sealed("email_inbox", "envelope_ct", Id("id")),
    sealed("staff", "email_ct", Id("id")),
    sealed("staff", "totp_ct", Id("id")),
    sealed("staff_sessions", "pending_ct", Id("staff_id")),
    sealed("audit_log", "reason_ct", Seq("seq")),
];

/// How many stored values each key id protects, per column.
#[derive(Debug, Default)]
pub struct Status {
    /// (table.column, key id) → values.
    pub by_column: BTreeMap<(String, u32), i64>,
}

impl Status {
    /// Values per key id, all columns together.
    pub fn by_key(&self) -> BTreeMap<u32, i64> {
        let mut out = BTreeMap::new();
        for ((_, key), n) in &self.by_column {
            *out.entry(*key).or_insert(0) += n;
        }
        out
    }

    /// Values not under `active`.
    pub fn outstanding(&self, active: u32) -> i64 {
        self.by_key()
            .iter()
            .filter(|(k, _)| **k != active)
            .map(|(_, n)| n)
            .sum()
    }
}

/// The key id a stored ciphertext names (`None` if it is too short to name one).
fn key_id(prefix: &[u8]) -> Option<u32> {
    <[u8; 4]>::try_from(prefix).ok().map(u32::from_be_bytes)
}

/// Counts every stored ciphertext by the key it names.
pub async fn status(db: &DatabaseConnection) -> anyhow::Result<Status> {
    let mut status = Status::default();
    for s in SEALED {
        let sql = format!(
            "SELECT substr({c}, 2, 4), COUNT(*) FROM {t} WHERE {c} IS NOT NULL GROUP BY substr({c}, 2, 4)",
            c = s.column,
            t = s.table
        );
        for row in crate::db::rows(db, &sql, vec![])
            .await
            .with_context(|| format!("cannot count {}.{}", s.table, s.column))?
        {
            let prefix: Vec<u8> = row.try_get_by_index(0)?;
            let n: i64 = row.try_get_by_index(1)?;
            // A value too short to name a key is counted as key 0, which never exists:
            // it reads as damage in the status, and blocks no retirement.
            let key = key_id(&prefix).unwrap_or(0);
            *status
                .by_column
                .entry((format!("{}.{}", s.table, s.column), key))
                .or_insert(0) += n;
        }
    }
    Ok(status)
}

/// What one re-encryption run did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Done {
    pub reencrypted: u64,
    /// Values changed by a server between read and write: left for the next batch.
    pub raced: u64,
}

/// Re-encrypts values still under an older key with the active one, `batch` at a
/// time, at most `limit` in all, calling `progress(n)` after each batch with the
/// number just done.
pub async fn reencrypt(
    db: &DatabaseConnection,
    keys: &KeyRing,
    batch: u64,
    limit: Option<u64>,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<Done> {
    use sea_orm::TransactionTrait;
    let active = keys.cipher.active_key_id().to_be_bytes().to_vec();
    let mut done = Done::default();
    let batch = batch.max(1);
    for s in SEALED {
        // Batches in a row where every value changed under us: a server still writing
        // with a key file that lacks the new key would do this forever.
        let mut stalled = 0;
        loop {
            let left = limit.map_or(u64::MAX, |l| l.saturating_sub(done.reencrypted));
            if left == 0 {
                return Ok(done);
            }
            let size = if s.large { batch.min(4) } else { batch }.min(left);
            let row_col = s.row.column();
            let sql = format!(
                "SELECT {row_col}, {c} FROM {t} WHERE {c} IS NOT NULL AND substr({c}, 2, 4) <> $1 LIMIT {size}",
                c = s.column,
                t = s.table,
            );
            let rows = crate::db::rows(db, &sql, vec![active.clone().into()])
                .await
                .with_context(|| format!("cannot read {}.{}", s.table, s.column))?;
            if rows.is_empty() {
                break;
            }
            let mut updates = Vec::with_capacity(rows.len());
            for row in &rows {
                let (aad_row, key): (Uuid, sea_orm::Value) = match s.row {
                    RowKey::Uuid(_) => {
                        let id: Uuid = row.try_get_by_index(0)?;
                        (id, id.into())
                    }
                    RowKey::Seq(_) => {
                        let seq: i64 = row.try_get_by_index(0)?;
                        (
                            Uuid::from_u128(u128::try_from(seq).unwrap_or(0)),
                            seq.into(),
                        )
                    }
                };
                let old: Vec<u8> = row.try_get_by_index(1)?;
                let aad = Aad {
                    table: s.table,
                    column: s.column,
                    row: aad_row,
                };
                let plain =
                    zeroize::Zeroizing::new(keys.cipher.decrypt(aad, &old).map_err(|e| {
                        anyhow::anyhow!(
                            "{}.{} of row {aad_row}: {e}; nothing else was changed in this batch",
                            s.table,
                            s.column
                        )
                    })?);
                // Padded values (files) stay padded: their size stays hidden.
                let new = if crate::crypto::FieldCipher::is_padded(&old) {
                    keys.cipher.encrypt_padded(aad, &plain)?
                } else {
                    keys.cipher.encrypt(aad, &plain)?
                };
                updates.push((key, old, new));
            }
            let txn = db.begin().await.context("cannot begin")?;
            let sql = format!(
                "UPDATE {t} SET {c} = $1 WHERE {row_col} = $2 AND {c} = $3",
                c = s.column,
                t = s.table,
            );
            let mut changed = 0u64;
            for (key, old, new) in updates {
                changed += crate::db::exec(&txn, &sql, vec![new.into(), key, old.into()]).await?;
            }
            txn.commit().await.context("cannot commit a batch")?;
            done.reencrypted += changed;
            done.raced += rows.len() as u64 - changed;
            progress(changed);
            stalled = if changed == 0 { stalled + 1 } else { 0 };
            if stalled >= 20 {
                anyhow::bail!(
                    "{}.{}: values keep changing under the run; restart every server with the \
                     current key file, then run it again",
                    s.table,
                    s.column
                );
            }
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sealed_column_is_listed_once() {
        let mut seen = std::collections::HashSet::new();
        for s in SEALED {
            assert!(s.column.ends_with("_ct"), "{}.{}", s.table, s.column);
            assert!(
                seen.insert((s.table, s.column)),
                "{}.{} twice",
                s.table,
                s.column
            );
        }
    }

    #[test]
    fn status_totals_by_key() {
        let mut status = Status::default();
        status.by_column.insert(("cases.narrative_ct".into(), 1), 3);
        status.by_column.insert(("cases.narrative_ct".into(), 2), 4);
        status.by_column.insert(("staff.email_ct".into(), 1), 5);
        assert_eq!(status.by_key().get(&1), Some(&8));
        assert_eq!(status.outstanding(2), 8);
        assert_eq!(status.outstanding(1), 4);
    }
}
