//! A message's files on its case: each kept (encrypted, SHA-256 recorded) when it is
//! evidence (`intake::evidence`, the list WhatsApp shares) within the size limit,
//! otherwise recorded as refused (type, size, name) without its content.

use crate::channels::email::parse::Mail;
use crate::intake::attachment_meta as meta;
use crate::intake::evidence;
use anyhow::Context;
use chrono::Utc;
use entity::attachment;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseTransaction};
use uuid::Uuid;

/// True when e-mail keeps a file declared as `mime` (no bytes looked at).
pub(in crate::channels::email) fn accepted_type(mime: &str) -> bool {
    evidence::accepted_media_type(mime).is_some()
}

/// Every attachment becomes a row on the case: kept (encrypted, SHA-256 recorded)
/// when its type and size are accepted, otherwise recorded as refused without its
/// content. True when something was not kept (refused, or beyond the most parts
/// read).
pub(super) async fn insert_attachments(
    txn: &DatabaseTransaction,
    keys: &crate::crypto::KeyRing,
    case_id: Uuid,
    mail: &Mail,
    max_bytes: usize,
) -> anyhow::Result<bool> {
    let mut lossy = mail.attachments_dropped;
    for part in &mail.attachments {
        let part_ref = (
            part.name.as_deref(),
            part.mime_type.as_str(),
            &part.bytes[..],
        );
        lossy |= !insert_part(txn, keys, case_id, part_ref, max_bytes).await?;
    }
    Ok(lossy)
}

/// Stores one part (file name, media type, content) on the case; false when it was
/// refused (type or size).
pub(super) async fn insert_part(
    txn: &DatabaseTransaction,
    keys: &crate::crypto::KeyRing,
    case_id: Uuid,
    (name, mime_type, bytes): (Option<&str>, &str, &[u8]),
    max_bytes: usize,
) -> anyhow::Result<bool> {
    let id = Uuid::new_v4();
    let now = Utc::now();
    // The type is read from the bytes where they say (see `intake::evidence`).
    let kept = (!bytes.is_empty() && bytes.len() <= max_bytes)
        .then(|| evidence::kept_type(mime_type, name, Some(bytes)))
        .flatten();
    let accepted = kept.is_some();
    let content_ct = accepted
        .then(|| {
            keys.cipher
                .encrypt_padded(crate::intake::attachment_aad(id, "content_ct"), bytes)
        })
        .transpose()
        .context("cannot encrypt attachment")?;
    let filename_ct = name
        .map(|n| crate::domain::truncate(n, 255))
        .map(|n| {
            keys.cipher
                .encrypt_str(crate::intake::attachment_aad(id, "filename_ct"), &n)
        })
        .transpose()
        .context("cannot encrypt file name")?;
    let mime_type: String = kept.unwrap_or(mime_type).chars().take(128).collect();
    let (aad, size) = (crate::intake::attachment_aad, i64::try_from(bytes.len()));
    let size = size.unwrap_or(i64::MAX);
    attachment::ActiveModel {
        id: Set(id),
        case_id: Set(Some(case_id)),
        conversation_id: Set(None),
        channel: Set(crate::channels::email::CHANNEL.to_owned()),
        media_ref_ct: Set(None),
        mime_type: Set(mime_type),
        declared_sha256_ct: Set(None),
        size_ct: Set(Some(meta::seal_size(keys, aad(id, "size_ct"), size)?)),
        caption_ct: Set(None),
        content_ct: Set(content_ct),
        state: Set(if accepted { "stored" } else { "rejected" }.to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        locked_until: Set(None),
        open_claims: Set(0),
        created_at: Set(now),
        sha256_ct: Set(accepted
            .then(|| meta::seal(keys, id, "sha256_ct", &crate::crypto::sha256_hex(bytes)))
            .transpose()?),
        filename_ct: Set(filename_ct),
        failure: Set((!accepted).then(|| "file type or size not accepted".to_owned())),
    }
    .insert(txn)
    .await
    .context("cannot store attachment")?;
    Ok(accepted)
}
