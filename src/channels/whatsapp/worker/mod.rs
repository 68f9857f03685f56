//! The channel's background work, one task each: the inbox worker (stored messages →
//! conversation steps, complaints, replies; answers about a filed case: `reply`; ESTADO: `case_status`), the media worker (evidence downloads with
//! retries), the expiry sweep (idle conversations erased) and the outbox sender.
//!
//! A stored message is processed in one transaction together with everything it
//! causes (conversation update, complaint, attachment rows, outbox replies, the inbox
//! row marked done), so a crash at any point either redoes the whole step or nothing.
//! Messages of one sender are processed in the order they arrived.

mod case_status;
mod claims;
mod input;
mod media;
mod reply;
pub use claims::*;
use media::insert_attachment;
#[cfg(test)]
mod tests;
pub use input::*;

use super::conversation::{self, Conversation, Input, Media, Reply, tr};
use super::graph::{self, GraphError};
use super::{DONE, FAILED, PENDING, WhatsApp, inbox_aad};
use crate::channels::Shared;
use crate::crypto::Aad;
use crate::domain::{Language, Text};
use crate::intake::attachment_meta as meta;
use crate::outbox;
use anyhow::Context;
use chrono::{DateTime, Utc};
use entity::{attachment, wa_conversation, wa_inbox};
use sea_orm::ExprTrait;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

pub const CHANNEL: &str = "whatsapp";

/// How long a worked message id is remembered (Meta redelivers for up to 7 days).
const INBOX_KEEP: chrono::Duration = chrono::Duration::days(8);

fn conversation_aad(id: Uuid) -> Aad<'static> {
    Aad {
        table: "wa_conversations",
        column: "state_ct",
        row: id,
    }
}

/// Sends outbox rows of the WhatsApp channel through the Graph API, keeping Meta's
/// 24-hour window (`super::window`).
pub use super::window::GraphSender;

/// Starts every task of the channel; they run until aborted. A task that panics is
/// logged and started again: the channel never goes quiet while `/readyz` says ready.
pub fn spawn(state: &Shared, wa: &Arc<WhatsApp>) -> Vec<tokio::task::JoinHandle<()>> {
    let sender = outbox::Worker {
        db: state.intake.db().clone(),
        keys: Arc::clone(&state.keys),
        settings: state.settings.outbox,
        notify: Arc::clone(&wa.outbox_notify),
        channel: CHANNEL,
        sender: GraphSender {
            wa: Arc::clone(wa),
            keys: Arc::clone(&state.keys),
            db: state.intake.db().clone(),
        },
    };
    let inbox = Inbox {
        state: state.clone(),
        wa: Arc::clone(wa),
    };
    let (media, sweeper) = (inbox.clone(), inbox.clone());
    vec![
        outbox::supervised("whatsapp outbox", move || sender.clone().run()),
        outbox::supervised("whatsapp inbox", move || inbox.clone().run_inbox()),
        outbox::supervised("whatsapp media", move || media.clone().run_media()),
        outbox::supervised("whatsapp sweeper", move || sweeper.clone().run_sweeper()),
    ]
}

#[derive(Clone)]
struct Inbox {
    state: Shared,
    wa: Arc<WhatsApp>,
}

impl Inbox {
    fn db(&self) -> &sea_orm::DatabaseConnection {
        self.state.intake.db()
    }

    async fn run_inbox(self) {
        let notify = Arc::clone(&self.wa.inbox_notify);
        outbox::work_loop("whatsapp inbox", notify, || self.inbox_once()).await;
    }

    async fn run_media(self) {
        let notify = Arc::clone(&self.wa.media_notify);
        outbox::work_loop("whatsapp media", notify, || self.media_once()).await;
    }

    async fn run_sweeper(self) {
        let idle = self.wa.settings.idle;
        let every = (idle / 4).clamp(Duration::from_secs(1), Duration::from_secs(30));
        loop {
            tokio::time::sleep(every).await;
            if let Err(e) = self.sweep_expired().await {
                tracing::error!(error = %format!("{e:#}"), "expiry sweep failed");
            }
            if let Err(e) = self.prune().await {
                tracing::error!(error = %format!("{e:#}"), "pruning worked rows failed");
            }
            self.wa.forget_idle();
        }
    }

    /// Processes the due heads of one look (each sender's oldest message, up to 50
    /// senders), each once claimed: one look per batch, not per message, so a
    /// backlog is not read again for every message worked. Before each message it
    /// yields to the webhook's deliveries (a burst is acknowledged first, worked
    /// after). True if it did something.
    async fn inbox_once(&self) -> anyhow::Result<bool> {
        let heads =
            outbox::due_heads::<wa_inbox::Entity>(self.db(), "wa_inbox", "sender_bidx", None)
                .await?;
        let mut worked = false;
        for row in &heads {
            self.state.deliveries.yield_to_deliveries().await;
            let Some(lease) = outbox::claim::<wa_inbox::Entity>(
                self.db(),
                self.state.settings.outbox.lease,
                row.id,
                &INBOX_CLAIMS,
            )
            .await?
            .lease() else {
                continue;
            };
            let this = self.clone();
            let owned = row.clone();
            if let Err(e) = outbox::isolated(async move { this.process(&owned, lease).await }).await
            {
                self.processing_failed(row, lease, &e).await?;
            }
            worked = true;
        }
        Ok(worked)
    }

    async fn processing_failed(
        &self,
        row: &wa_inbox::Model,
        lease: DateTime<Utc>,
        err: &anyhow::Error,
    ) -> anyhow::Result<()> {
        let attempts = row.attempts + 1;
        let mut update = wa_inbox::ActiveModel {
            attempts: Set(attempts),
            locked_until: Set(None),
            open_claims: Set(0),
            ..Default::default()
        };
        match outbox::after_failure(err, attempts) {
            outbox::AfterFailure::Lost => {
                tracing::warn!(inbox_id = %row.id, "message taken over by another worker");
                return Ok(());
            }
            outbox::AfterFailure::SetAside => {
                tracing::error!(inbox_id = %row.id, attempts, error = %format!("{err:#}"), "WhatsApp message set aside after repeated failures");
                update.state = Set(FAILED.to_owned());
            }
            outbox::AfterFailure::RetryAt(at) => {
                tracing::warn!(inbox_id = %row.id, attempts, error = %format!("{err:#}"), "WhatsApp message processing failed; will retry");
                update.next_attempt_at = Set(at);
            }
        }
        wa_inbox::Entity::update_many()
            .set(update)
            .filter(held(row.id, lease))
            .exec(self.db())
            .await
            .context("cannot update inbox row")?;
        Ok(())
    }

    async fn process(&self, row: &wa_inbox::Model, lease: DateTime<Utc>) -> anyhow::Result<()> {
        let keys = &self.state.keys;
        let bytes = keys
            .cipher
            .decrypt(inbox_aad(row.id), &row.payload_ct)
            .map_err(|_| outbox::Poison("stored message cannot be decrypted"))?;
        crate::fault::abort_if_marked(&bytes);
        let message: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|_| outbox::Poison("stored message is not JSON"))?;
        let wa_id = super::reply_to(&message)
            .ok_or(outbox::Poison("stored message has no sender"))?
            .to_owned();
        let sender = row.sender_bidx.clone();

        if let Err(wait) = self.wa.sender_check(&sender).await {
            // Over the per-sender limit: worked later, in order, never dropped. Only
            // this sender waits; everyone else's messages go on.
            let txn = self
                .db()
                .begin()
                .await
                .context("cannot begin transaction")?;
            let deferred = wa_inbox::Entity::update_many()
                .set(wa_inbox::ActiveModel {
                    locked_until: Set(None),
                    open_claims: Set(0),
                    next_attempt_at: Set(outbox::after(wait)),
                    ..Default::default()
                })
                .filter(held(row.id, lease))
                .exec(&txn)
                .await
                .context("cannot defer message")?;
            if deferred.rows_affected != 1 {
                return Err(outbox::Lost.into());
            }
            if self.wa.first_deferral(&sender) {
                // Before the conversation is read: both languages.
                let notice = Reply::Text(
                    "Recibimos muchos mensajes seguidos. Los leeremos en un momento; no hace falta \
                     enviarlos de nuevo.\n\nWe got many messages in a row. We will read them in a \
                     moment; there is no need to send them again."
                        .to_owned(),
                );
                self.enqueue(&txn, &sender, &wa_id, &[notice]).await?;
            }
            txn.commit().await.context("cannot commit")?;
            self.wa.outbox_notify.notify_one();
            tracing::info!(inbox_id = %row.id, wait_ms = wait.as_millis() as u64, "WhatsApp sender over its limit; message deferred");
            return Ok(());
        }

        self.wa.caught_up(&sender);
        let input = to_input(&message);
        let existing = wa_conversation::Entity::find()
            .filter(wa_conversation::Column::SenderBidx.eq(sender.clone()))
            .one(self.db())
            .await
            .context("cannot load conversation")?;
        // Expiry is judged at the time the message arrived, not when it is worked.
        let received = row.received_at;
        let readable = |r: &wa_conversation::Model| {
            keys.cipher
                .decrypt(conversation_aad(r.id), &r.state_ct)
                .ok()
                .and_then(|state| serde_json::from_slice::<Conversation>(state.as_slice()).ok())
        };
        let (current, live_row) = match existing {
            Some(r) if r.expires_at > received => match readable(&r) {
                Some(conv) => (Some(conv), Some(r)),
                None => {
                    // Cannot happen with the right key file; start over rather than
                    // fail every message of this sender.
                    tracing::warn!("unreadable WhatsApp conversation replaced");
                    (None, None)
                }
            },
            _ => (None, None),
        };
        // A message about a filed case reaches it (reply.rs); the rest is the interview.
        let (input, before) = match self
            .thread(row, lease, &sender, &wa_id, input, current.is_some())
            .await?
        {
            reply::Threaded::Done => return Ok(()),
            reply::Threaded::Interview { input, before } => (input, before),
        };
        let mut outcome = conversation::advance(current, &wa_id, input);
        outcome.replies.splice(0..0, before);
        conversation::send_rights(
            &mut outcome,
            self.state.intake.rules(),
            &self.state.directory,
        );

        if let Some(receipt) = outcome.status_lookup.take() {
            let lang = outcome.status_language;
            outcome
                .replies
                .push(self.status_reply(&receipt, lang, &sender).await?);
        }
        let prepared = if outcome.file {
            match outcome
                .conversation
                .as_ref()
                .and_then(|c| c.complaint(crate::clock::today()))
            {
                Some(complaint) => {
                    let mut prepared = self.state.intake.prepare(&complaint).await?;
                    // A named case keeps the exact id this worker wrote from (notices
                    // go there) and their index (their messages thread onto it).
                    self.state.intake.from_whatsapp_sender(
                        &mut prepared,
                        &wa_id,
                        sender.clone(),
                    )?;
                    Some(prepared)
                }
                None => {
                    // Cannot happen through the conversation; say so rather than lose it.
                    let lang = outcome
                        .conversation
                        .as_ref()
                        .map_or(Language::Es, Conversation::lang);
                    outcome.file = false;
                    if let Some(conv) = outcome.conversation.as_mut() {
                        conv.step = conversation::Step::Anonymity;
                    }
                    outcome.replies.push(Reply::Text(tr(
                        lang,
                        "Faltan datos en su queja. Vamos a repasarla.",
                        "Some answers are missing. Let's go through them again.",
                    )));
                    if let Some(conv) = outcome.conversation.as_ref() {
                        outcome.replies.push(conversation::prompt(conv));
                    }
                    None
                }
            }
        } else {
            None
        };

        let txn = self
            .db()
            .begin()
            .await
            .context("cannot begin transaction")?;
        // An expired (or unreadable) conversation found here is erased with its files
        // before anything new; a live one is worked on below.
        if live_row.is_none() {
            wa_conversation::Entity::delete_many()
                .filter(wa_conversation::Column::SenderBidx.eq(sender.clone()))
                .exec(&txn)
                .await
                .context("cannot erase expired conversation")?;
        }
        let media = outcome.media.take();
        if let Some(prepared) = &prepared {
            prepared.insert(&txn).await?;
            if let Some(conv_row) = &live_row {
                attachment::Entity::update_many()
                    .col_expr(attachment::Column::CaseId, Expr::value(prepared.case_id))
                    .col_expr(
                        attachment::Column::ConversationId,
                        Expr::value(Option::<Uuid>::None),
                    )
                    .filter(attachment::Column::ConversationId.eq(conv_row.id))
                    .exec(&txn)
                    .await
                    .context("cannot move attachments to the case")?;
                wa_conversation::Entity::delete_by_id(conv_row.id)
                    .exec(&txn)
                    .await
                    .context("cannot erase conversation")?;
            }
            let lang = outcome
                .conversation
                .as_ref()
                .map_or(Language::Es, Conversation::lang);
            outcome
                .replies
                .push(self.receipt_reply(&prepared.filed, lang));
        } else if let Some(conv) = &outcome.conversation {
            let conv_id = self
                .save_conversation(&txn, live_row.as_ref(), &sender, conv)
                .await?;
            if let Some(media) = &media {
                insert_attachment(&txn, keys, conv_id, media).await?;
            }
        } else if let Some(conv_row) = &live_row {
            // Erased: the conversation and, by cascade, its unfiled files.
            wa_conversation::Entity::delete_by_id(conv_row.id)
                .exec(&txn)
                .await
                .context("cannot erase conversation")?;
        }
        self.enqueue(&txn, &sender, &wa_id, &outcome.replies)
            .await?;
        finish(&txn, row.id, lease).await?;
        txn.commit().await.context("cannot commit message step")?;
        if let Some(prepared) = &prepared {
            tracing::info!(case_ref = %prepared.filed.case_ref, "complaint filed by WhatsApp");
            crate::metrics::filed(crate::domain::Channel::WhatsApp);
        }
        self.wa.outbox_notify.notify_one();
        if media.is_some() {
            self.wa.media_notify.notify_one();
        }
        Ok(())
    }

    async fn save_conversation(
        &self,
        txn: &DatabaseTransaction,
        live: Option<&wa_conversation::Model>,
        sender: &[u8],
        conv: &Conversation,
    ) -> anyhow::Result<Uuid> {
        let now = Utc::now();
        let expires = outbox::after(self.wa.settings.idle);
        let id = live.map_or_else(Uuid::new_v4, |r| r.id);
        let json = serde_json::to_vec(conv).context("cannot serialize conversation")?;
        let state_ct = self
            .state
            .keys
            .cipher
            .encrypt(conversation_aad(id), &json)
            .context("cannot encrypt conversation")?;
        let row = wa_conversation::ActiveModel {
            id: Set(id),
            sender_bidx: Set(sender.to_vec()),
            state_ct: Set(state_ct),
            updated_at: Set(now),
            expires_at: Set(expires),
        };
        if live.is_some() {
            row.update(txn)
                .await
                .context("cannot update conversation")?;
        } else {
            row.insert(txn).await.context("cannot store conversation")?;
        }
        Ok(id)
    }

    async fn enqueue(
        &self,
        txn: &DatabaseTransaction,
        sender: &[u8],
        wa_id: &str,
        replies: &[Reply],
    ) -> anyhow::Result<()> {
        for reply in replies {
            outbox::enqueue(
                txn,
                &self.state.keys,
                CHANNEL,
                sender.to_vec(),
                &graph::message_body(wa_id, reply),
            )
            .await?;
        }
        Ok(())
    }

    fn receipt_reply(&self, filed: &crate::intake::Filed, lang: Language) -> Reply {
        let mut text = format!(
            "{}\n\n{}: {}\n{}: {}\n\n{}",
            tr(
                lang,
                "✅ Recibimos su queja.",
                "✅ We received your complaint."
            ),
            tr(lang, "Número de queja", "Complaint number"),
            filed.case_ref,
            tr(lang, "Su código secreto", "Your secret code"),
            filed.receipt.as_str(),
            tr(
                lang,
                "Guarde este código y no lo comparta: es la única forma de ver su queja. Para saber cómo va, escriba ESTADO y el código. Ya borramos la conversación.",
                "Keep this code and do not share it: it is the only way to see your complaint. To see how it is going, write STATUS and the code. We have erased the conversation.",
            ),
        );
        if let Some(day) = filed.held_until {
            // Deferred filing: the day the worker chose, in their words (as ESTADO).
            text.push_str("\n\n");
            text.push_str(&crate::domain::held_notice(day, lang));
        }
        let referrals = filed.routing.as_ref().map_or(&[][..], |d| &d.referrals[..]);
        if !referrals.is_empty() {
            text.push_str("\n\n");
            text.push_str(&tr(lang, "Su queja va a:", "Your complaint goes to:"));
            for r in referrals {
                text.push_str(&format!(
                    "\n• {}: {}",
                    self.state.directory.name(&r.authority, lang),
                    r.function.next_step(lang)
                ));
                if r.candidate {
                    text.push_str(&format!(
                        " ({})",
                        tr(
                            lang,
                            "puede ser esta oficina u otra; una persona lo va a decidir",
                            "this office or another one; a person will decide"
                        )
                    ));
                }
            }
        }
        Reply::Text(text)
    }

    /// Erases conversations idle past their expiry and tells the worker.
    async fn sweep_expired(&self) -> anyhow::Result<()> {
        let now = Utc::now();
        let expired = wa_conversation::Entity::find()
            .filter(wa_conversation::Column::ExpiresAt.lte(now))
            .limit(100)
            .all(self.db())
            .await
            .context("cannot find expired conversations")?;
        for row in expired {
            let txn = self
                .db()
                .begin()
                .await
                .context("cannot begin transaction")?;
            // A message that arrived before the expiry and waits to be worked keeps
            // the conversation alive: the delete checks that itself.
            let waiting_now = sea_orm::sea_query::Query::select()
                .expr(Expr::val(1))
                .from(wa_inbox::Entity)
                .and_where(ExprTrait::eq(
                    Expr::col(wa_inbox::Column::SenderBidx),
                    row.sender_bidx.clone(),
                ))
                .and_where(ExprTrait::eq(Expr::col(wa_inbox::Column::State), PENDING))
                .to_owned();
            let deleted = wa_conversation::Entity::delete_many()
                .filter(wa_conversation::Column::Id.eq(row.id))
                .filter(wa_conversation::Column::ExpiresAt.lte(now))
                .filter(ExprTrait::not(Expr::exists(waiting_now)))
                .exec(&txn)
                .await
                .context("cannot erase expired conversation")?;
            let conv = (deleted.rows_affected == 1)
                .then(|| {
                    self.state
                        .keys
                        .cipher
                        .decrypt(conversation_aad(row.id), &row.state_ct)
                        .ok()
                })
                .flatten()
                .and_then(|b| serde_json::from_slice::<Conversation>(&b).ok());
            if let Some(conv) = conv {
                let lang = conv.lang();
                let minutes = self.wa.settings.idle.as_secs().div_ceil(60);
                let notice = Reply::Text(format!(
                    "{} {minutes} {}",
                    tr(
                        lang,
                        "Borramos su queja sin terminar porque no recibimos mensajes en",
                        "We erased your unfinished complaint because we got no message for"
                    ),
                    tr(
                        lang,
                        "minutos. Escriba cuando quiera para empezar de nuevo.",
                        "minutes. Write at any time to start again."
                    )
                ));
                self.enqueue(&txn, &row.sender_bidx, &conv.wa_id, &[notice])
                    .await?;
            }
            txn.commit().await.context("cannot commit expiry")?;
            if deleted.rows_affected == 1 {
                tracing::info!("idle WhatsApp conversation erased");
            }
        }
        self.wa.outbox_notify.notify_one();
        Ok(())
    }

    /// Forgets worked inbox rows once Meta no longer redelivers them (it retries for
    /// up to 7 days), and sent outbox rows (metadata only) after 30 days.
    async fn prune(&self) -> anyhow::Result<()> {
        let now = Utc::now();
        wa_inbox::Entity::delete_many()
            .filter(wa_inbox::Column::State.eq(DONE))
            .filter(wa_inbox::Column::ReceivedAt.lt(now - INBOX_KEEP))
            .exec(self.db())
            .await
            .context("cannot prune inbox")?;
        reply::prune_pending(self.db()).await?;
        super::window::prune(self.db()).await?;
        outbox::prune(self.db()).await
    }
}

/// The inbox row still held under this worker's lease.
fn held(id: Uuid, lease: DateTime<Utc>) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(wa_inbox::Column::Id.eq(id))
        .add(wa_inbox::Column::State.eq(PENDING))
        .add(wa_inbox::Column::LockedUntil.eq(lease))
}

/// Marks a message worked, inside the transaction of what it caused; fails (so all
/// of it is rolled back) if another worker took the row over meanwhile.
async fn finish(txn: &DatabaseTransaction, id: Uuid, lease: DateTime<Utc>) -> anyhow::Result<()> {
    // Worked: neither the message nor its sender is needed any more (the key keeps
    // redeliveries out). Keeping the sender would tie a number to the time an
    // anonymous complaint was filed.
    let done = wa_inbox::Entity::update_many()
        .set(wa_inbox::ActiveModel {
            state: Set(DONE.to_owned()),
            locked_until: Set(None),
            open_claims: Set(0),
            payload_ct: Set(Vec::new()),
            sender_bidx: Set(Vec::new()),
            ..Default::default()
        })
        .filter(held(id, lease))
        .exec(txn)
        .await
        .context("cannot mark message done")?;
    if done.rows_affected != 1 {
        return Err(outbox::Lost.into());
    }
    Ok(())
}
