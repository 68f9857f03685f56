//! Evidence files sent by WhatsApp: recorded when the message comes (media id and
//! announced SHA-256 encrypted, issue 30), downloaded from the Graph API by the
//! worker, checked and stored encrypted.

use super::*;

impl Inbox {
    /// Downloads one pending evidence file; true if it did something.
    pub(super) async fn media_once(&self) -> anyhow::Result<bool> {
        let now = Utc::now();
        let candidates = attachment::Entity::find()
            .filter(attachment::Column::State.eq(PENDING))
            .filter(attachment::Column::Channel.eq(CHANNEL))
            .filter(attachment::Column::NextAttemptAt.lte(now))
            .order_by_asc(attachment::Column::CreatedAt)
            .limit(20)
            .all(self.db())
            .await
            .context("cannot read attachments")?;
        for row in candidates {
            if row.locked_until.is_some_and(|t| t >= now) {
                continue;
            }
            if outbox::claim::<attachment::Entity>(
                self.db(),
                self.state.settings.outbox.lease,
                row.id,
                &super::MEDIA_CLAIMS,
            )
            .await?
            .lease()
            .is_none()
            {
                continue;
            }
            self.download(row).await?;
            return Ok(true);
        }
        Ok(false)
    }

    async fn download(&self, row: attachment::Model) -> anyhow::Result<()> {
        let max = self.wa.settings.media_max_bytes;
        let keys = &self.state.keys;
        let (media_ref, declared) = sealed_refs(keys, &row)?;
        let result = async {
            let info = self.wa.graph.media(&media_ref).await?;
            if crate::intake::evidence::accepted_media_type(&info.mime_type).is_none() {
                return Err(GraphError::Permanent("file type not accepted".into()));
            }
            if u64::try_from(info.file_size).is_ok_and(|size| size > max) {
                return Err(GraphError::Permanent("file too large".into()));
            }
            // As the webhook announced it (base64), else as the look-up gives it;
            // either form is read by `graph::digest_matches`.
            let expected = declared.unwrap_or_else(|| info.sha256.clone());
            self.wa.graph.download(&info.url, max, &expected).await
        }
        .await;
        let attempts = row.attempts + 1;
        let settings = self.state.settings.outbox;
        let mut update = attachment::ActiveModel {
            id: Set(row.id),
            attempts: Set(attempts),
            locked_until: Set(None),
            open_claims: Set(0),
            ..Default::default()
        };
        match result {
            Ok(bytes) => {
                let ct = self
                    .state
                    .keys
                    .cipher
                    .encrypt_padded(crate::intake::attachment_aad(row.id, "content_ct"), &bytes)
                    .context("cannot encrypt attachment")?;
                update.content_ct = Set(Some(ct));
                let digest = crate::crypto::sha256_hex(&bytes);
                update.sha256_ct = Set(Some(meta::seal(keys, row.id, "sha256_ct", &digest)?));
                let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
                let size_aad = crate::intake::attachment_aad(row.id, "size_ct");
                update.size_ct = Set(Some(meta::seal_size(keys, size_aad, size)?));
                update.state = Set("stored".to_owned());
                // No size in the log: an exact size can match a known document.
                tracing::info!(attachment_id = %row.id, "evidence file stored");
            }
            Err(GraphError::Retry(reason))
                if u32::try_from(attempts).unwrap_or(u32::MAX) < settings.max_attempts =>
            {
                update.next_attempt_at = Set(outbox::retry_at(
                    settings.retry_base,
                    attempts.unsigned_abs(),
                ));
                tracing::info!(attachment_id = %row.id, attempts, reason = %reason, "evidence download failed; will retry");
            }
            Err(GraphError::Retry(reason)) => {
                update.state = Set(FAILED.to_owned());
                update.failure = Set(Some(crate::domain::truncate(&reason, 64)));
                tracing::warn!(attachment_id = %row.id, attempts, reason = %reason, "evidence download gave up");
            }
            Err(GraphError::Refused(refusal)) => {
                let reason = refusal.note();
                update.state = Set("rejected".to_owned());
                update.failure = Set(Some(crate::domain::truncate(&reason, 64)));
                tracing::warn!(attachment_id = %row.id, reason = %reason, "evidence file refused");
            }
            Err(GraphError::Permanent(reason)) => {
                update.state = Set("rejected".to_owned());
                update.failure = Set(Some(crate::domain::truncate(&reason, 64)));
                tracing::warn!(attachment_id = %row.id, reason = %reason, "evidence file refused");
            }
        }
        // The conversation may have been erased meanwhile (and its files with it).
        attachment::Entity::update_many()
            .set(update)
            .filter(attachment::Column::Id.eq(row.id))
            .exec(self.db())
            .await
            .context("cannot update attachment")?;
        Ok(())
    }
}

/// An attachment's media id and announced SHA-256, decrypted.
fn sealed_refs(
    keys: &crate::crypto::KeyRing,
    row: &attachment::Model,
) -> anyhow::Result<(String, Option<String>)> {
    let media_ref = row
        .media_ref_ct
        .as_deref()
        .map_or(Ok(String::new()), |ct| {
            meta::open(keys, row.id, "media_ref_ct", ct)
        })?;
    let declared = (row.declared_sha256_ct.as_deref())
        .map(|ct| meta::open(keys, row.id, "declared_sha256_ct", ct))
        .transpose()?;
    Ok((media_ref, declared))
}

pub(super) async fn insert_attachment(
    txn: &DatabaseTransaction,
    keys: &crate::crypto::KeyRing,
    conversation_id: Uuid,
    media: &Media,
) -> anyhow::Result<()> {
    let id = Uuid::new_v4();
    let now = Utc::now();
    let caption_ct = media
        .caption
        .as_deref()
        .and_then(|c| Text::parse(c, crate::domain::limits::MESSAGE).ok())
        .map(|c| {
            keys.cipher
                .encrypt_str(crate::intake::attachment_aad(id, "caption_ct"), c.as_str())
        })
        .transpose()
        .context("cannot encrypt caption")?;
    attachment::ActiveModel {
        id: Set(id),
        case_id: Set(None),
        conversation_id: Set(Some(conversation_id)),
        channel: Set(CHANNEL.to_owned()),
        media_ref_ct: Set(Some(meta::seal(keys, id, "media_ref_ct", &media.id)?)),
        mime_type: Set(media.mime_type.clone()),
        declared_sha256_ct: Set(media
            .sha256
            .as_deref()
            .map(|d| meta::seal(keys, id, "declared_sha256_ct", d))
            .transpose()?),
        size_ct: Set(None),
        caption_ct: Set(caption_ct),
        content_ct: Set(None),
        state: Set(PENDING.to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        locked_until: Set(None),
        open_claims: Set(0),
        created_at: Set(now),
        sha256_ct: Set(None),
        filename_ct: Set(None),
        failure: Set(None),
    }
    .insert(txn)
    .await
    .context("cannot store attachment")?;
    Ok(())
}
