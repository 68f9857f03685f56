//! A message held while its sender chooses the case it is about (`reply.rs`):
//! encrypted in `wa_pending_replies`, erased when they choose, when it expires
//! (the conversation idle time), or by the sweep.

use crate::crypto::{Aad, KeyRing};
use anyhow::Context;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseTransaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A message held while its sender chooses the case it is about. Stored only
/// encrypted; never `Debug`.
#[derive(Serialize, Deserialize)]
pub(super) struct Pending {
    pub(super) language: String,
    pub(super) text: String,
    /// The references offered.
    pub(super) cases: Vec<String>,
}

fn pending_aad(id: Uuid) -> Aad<'static> {
    Aad {
        table: "wa_pending_replies",
        column: "state_ct",
        row: id,
    }
}

/// Holds `pending` for `sender`, encrypted, until `expires`.
pub(super) async fn store(
    txn: &DatabaseTransaction,
    keys: &KeyRing,
    sender: &[u8],
    pending: &Pending,
    expires: DateTime<Utc>,
) -> anyhow::Result<()> {
    let id = Uuid::new_v4();
    let json = serde_json::to_vec(pending).context("cannot serialize held reply")?;
    let ct = keys
        .cipher
        .encrypt(pending_aad(id), &json)
        .context("cannot encrypt held reply")?;
    crate::db::exec(
        txn,
        "INSERT INTO wa_pending_replies (id, sender_bidx, state_ct, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
        vec![
            id.into(),
            sender.to_vec().into(),
            ct.into(),
            Utc::now().into(),
            expires.into(),
        ],
    )
    .await?;
    Ok(())
}

/// The sender's held message, unless it expired before this message arrived (then
/// it is erased here).
pub(super) async fn load(
    txn: &DatabaseTransaction,
    keys: &KeyRing,
    sender: &[u8],
    received: DateTime<Utc>,
) -> anyhow::Result<Option<(Uuid, Pending)>> {
    let Some(r) = crate::db::row(
        txn,
        "SELECT id, state_ct, expires_at FROM wa_pending_replies WHERE sender_bidx = $1",
        vec![sender.to_vec().into()],
    )
    .await?
    else {
        return Ok(None);
    };
    let id: Uuid = r.try_get_by_index(0).context("held reply row")?;
    let ct: Vec<u8> = r.try_get_by_index(1).context("held reply row")?;
    let expires: DateTime<Utc> = r.try_get_by_index(2).context("held reply row")?;
    let pending = (expires > received)
        .then(|| keys.cipher.decrypt(pending_aad(id), &ct).ok())
        .flatten()
        .and_then(|json| serde_json::from_slice::<Pending>(&json).ok());
    if pending.is_none() {
        delete(txn, id).await?;
    }
    Ok(pending.map(|p| (id, p)))
}

pub(super) async fn delete(txn: &DatabaseTransaction, id: Uuid) -> anyhow::Result<()> {
    crate::db::exec(
        txn,
        "DELETE FROM wa_pending_replies WHERE id = $1",
        vec![id.into()],
    )
    .await?;
    Ok(())
}

/// Erases held messages whose sender never chose (after the conversation idle time).
pub(in super::super) async fn prune(db: &impl ConnectionTrait) -> anyhow::Result<()> {
    crate::db::exec(
        db,
        "DELETE FROM wa_pending_replies WHERE expires_at <= $1",
        vec![Utc::now().into()],
    )
    .await
    .context("cannot prune held replies")?;
    Ok(())
}
