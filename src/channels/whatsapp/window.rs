//! Meta's 24-hour customer-service window, kept at send time. The Cloud API takes a
//! free-form message only within 24 hours of the person's last message; after that
//! only an approved template is delivered, and a free-form send is refused (error
//! 131047). So:
//!
//! - every message a contact sends records when it came (`wa_contacts`, by the
//!   sender's blind index, on the server's clock [`crate::clock`]) and wakes what
//!   waits for them;
//! - the outbox sender ([`GraphSender`]) sends as it always did inside the window;
//!   outside it, it sends the configured utility template instead (no case content:
//!   "you have a new message, reply to read it"), once per waiting batch, and keeps
//!   the content queued (the recipient's later messages wait behind it, in order)
//!   until the person writes again, or [`WAIT_MAX`] passes (then dead-lettered, and
//!   staff see it on the case: the message is on the status page all along);
//! - Graph's documented refusals ([`graph::meaning`]) are not retried blindly: the
//!   row is dead-lettered at once with the reason staff are shown, and counted.

use super::graph::{self, GraphError};
use super::{WhatsApp, message_key};
use crate::notify::Undelivered;
use crate::outbox::{self, Attempt};
use anyhow::Context;
use chrono::{DateTime, Utc};
use entity::{outbox as outbox_row, wa_contact};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
};
use std::sync::Arc;

/// How long after a person's last message a free-form message may go: Meta's 24
/// hours, less a margin for the time between their message and ours being recorded.
pub const WINDOW: chrono::Duration = chrono::Duration::minutes(24 * 60 - 10);

/// How long content waits for the person to write once they were asked to.
pub const WAIT_MAX: chrono::Duration = chrono::Duration::days(14);

/// How often a waiting row looks again (it is woken at once when the person writes).
const RECHECK: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// The key a notice's payload carries its language under (read here, never sent).
pub const LANGUAGE_KEY: &str = "buzon_language";

/// A contact wrote: their window opens now, and what waited for it is due.
pub async fn opened(conn: &impl ConnectionTrait, sender: &[u8]) -> anyhow::Result<()> {
    let now = crate::clock::now();
    wa_contact::Entity::insert(wa_contact::ActiveModel {
        sender_bidx: Set(sender.to_vec()),
        last_inbound_at: Set(now),
        template_sent_at: Set(None),
    })
    .on_conflict(
        OnConflict::column(wa_contact::Column::SenderBidx)
            .update_column(wa_contact::Column::LastInboundAt)
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await
    .context("cannot record the contact's message")?;
    outbox_row::Entity::update_many()
        .col_expr(outbox_row::Column::NextAttemptAt, Expr::value(Utc::now()))
        .col_expr(
            outbox_row::Column::LastError,
            Expr::value(Option::<String>::None),
        )
        .filter(outbox_row::Column::Channel.eq(super::worker::CHANNEL))
        .filter(outbox_row::Column::State.eq(outbox::PENDING))
        .filter(outbox_row::Column::RecipientBidx.eq(sender.to_vec()))
        .filter(outbox_row::Column::LastError.eq(Undelivered::Waiting.code()))
        .exec(conn)
        .await
        .context("cannot wake waiting messages")?;
    Ok(())
}

/// Where a recipient stands at `now`.
#[derive(Debug, PartialEq, Eq)]
pub enum Standing {
    /// Inside the window: send.
    Open,
    /// Outside, and not asked to write since their last message: send the template.
    Ask,
    /// Outside, asked at this moment: wait for them (until [`WAIT_MAX`] after it).
    Asked(DateTime<Utc>),
}

/// The rule, pure: `last_inbound` and `asked` as `wa_contacts` holds them.
pub fn standing(
    now: DateTime<Utc>,
    last_inbound: Option<DateTime<Utc>>,
    asked: Option<DateTime<Utc>>,
) -> Standing {
    if last_inbound.is_some_and(|t| now - t < WINDOW) {
        return Standing::Open;
    }
    match asked {
        Some(at) if last_inbound.is_none_or(|t| at >= t) => Standing::Asked(at),
        _ => Standing::Ask,
    }
}

/// Sends outbox rows of the WhatsApp channel through the Graph API, keeping the
/// 24-hour window.
#[derive(Clone)]
pub struct GraphSender {
    pub wa: Arc<WhatsApp>,
    pub keys: Arc<crate::crypto::KeyRing>,
    pub db: DatabaseConnection,
}

/// A Graph failure as an outbox outcome; refusals counted by reason and code.
fn outcome(err: GraphError) -> Attempt {
    match err {
        GraphError::Retry(reason) => Attempt::Retry(reason),
        GraphError::Permanent(reason) => Attempt::Permanent(reason),
        GraphError::Refused(refusal) => {
            crate::metrics::whatsapp_refused(refusal.kind.code(), refusal.code);
            tracing::warn!(
                code = refusal.code,
                reason = refusal.kind.code(),
                "WhatsApp refused a message"
            );
            Attempt::Permanent(refusal.note())
        }
    }
}

impl GraphSender {
    async fn send(&self, payload: &serde_json::Value) -> Attempt {
        match self.wa.graph.send(payload).await {
            Ok(wamid) => Attempt::Sent(Some(message_key(&self.keys, &wamid))),
            Err(e) => outcome(e),
        }
    }

    async fn contact(&self, sender: &[u8]) -> anyhow::Result<Option<wa_contact::Model>> {
        wa_contact::Entity::find_by_id(sender.to_vec())
            .one(&self.db)
            .await
            .context("cannot read the contact's window")
    }

    async fn asked(&self, sender: &[u8]) -> anyhow::Result<()> {
        wa_contact::Entity::insert(wa_contact::ActiveModel {
            sender_bidx: Set(sender.to_vec()),
            // Never wrote (as far as this table knows): long ago.
            last_inbound_at: Set(DateTime::<Utc>::UNIX_EPOCH),
            template_sent_at: Set(Some(crate::clock::now())),
        })
        .on_conflict(
            OnConflict::column(wa_contact::Column::SenderBidx)
                .update_column(wa_contact::Column::TemplateSentAt)
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await
        .context("cannot record the template")?;
        Ok(())
    }

    /// Outside the window: ask once per waiting batch, then wait.
    async fn outside(
        &self,
        row: &outbox_row::Model,
        payload: &serde_json::Value,
        english: bool,
        standing: Standing,
    ) -> anyhow::Result<Attempt> {
        let wait = Attempt::Wait {
            until: outbox::after(RECHECK),
            note: Undelivered::Waiting.code(),
        };
        if let Standing::Asked(at) = standing {
            if crate::clock::now() - at > WAIT_MAX {
                crate::metrics::whatsapp_refused(Undelivered::Window.code(), 0);
                return Ok(Attempt::Permanent(Undelivered::Window.code().to_owned()));
            }
            return Ok(wait);
        }
        let Some(to) = graph::addressee(payload) else {
            return Ok(Attempt::Permanent("payload without recipient".into()));
        };
        let template = &self.wa.settings.template;
        let language = if english {
            &template.language_en
        } else {
            &template.language_es
        };
        let body = graph::template_body(to, &template.name, language);
        match self.wa.graph.send(&body).await {
            Ok(_) => {
                self.asked(&row.recipient_bidx).await?;
                crate::metrics::whatsapp_template_sent();
                tracing::info!(outbox_id = %row.id, "WhatsApp window closed: template sent, message waits");
                Ok(wait)
            }
            Err(e) => Ok(outcome(e)),
        }
    }

    async fn deliver_checked(
        &self,
        row: &outbox_row::Model,
        mut payload: serde_json::Value,
    ) -> anyhow::Result<Attempt> {
        let english = payload.get(LANGUAGE_KEY).and_then(|l| l.as_str()) == Some("en");
        if let Some(map) = payload.as_object_mut() {
            map.remove(LANGUAGE_KEY);
        }
        if row.recipient_bidx.is_empty() {
            return Ok(self.send(&payload).await);
        }
        let contact = self.contact(&row.recipient_bidx).await?;
        let standing = standing(
            crate::clock::now(),
            contact.as_ref().map(|c| c.last_inbound_at),
            contact.as_ref().and_then(|c| c.template_sent_at),
        );
        if standing == Standing::Open {
            return Ok(self.send(&payload).await);
        }
        self.outside(row, &payload, english, standing).await
    }
}

impl outbox::Sender for GraphSender {
    async fn deliver(&self, payload: serde_json::Value) -> Attempt {
        let mut payload = payload;
        if let Some(map) = payload.as_object_mut() {
            map.remove(LANGUAGE_KEY);
        }
        self.send(&payload).await
    }

    async fn deliver_row(&self, row: &outbox_row::Model, payload: serde_json::Value) -> Attempt {
        match self.deliver_checked(row, payload).await {
            Ok(attempt) => attempt,
            // The database, not Graph: nothing was sent; try again.
            Err(e) => Attempt::Retry(format!("{e:#}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_a_day_from_the_last_message_and_one_template_per_batch() {
        let now = Utc::now();
        let h = chrono::Duration::hours;
        assert_eq!(standing(now, Some(now - h(1)), None), Standing::Open);
        assert_eq!(standing(now, Some(now - h(23)), Some(now)), Standing::Open);
        assert_eq!(standing(now, Some(now - h(25)), None), Standing::Ask);
        assert_eq!(standing(now, None, None), Standing::Ask);
        // Asked after their last message: wait, don't ask again.
        let asked = now - h(2);
        assert_eq!(
            standing(now, Some(now - h(48)), Some(asked)),
            Standing::Asked(asked)
        );
        // Asked before their last message (an earlier batch): ask anew.
        assert_eq!(
            standing(now, Some(now - h(30)), Some(now - h(40))),
            Standing::Ask
        );
    }
}
