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
//! - a contact's record is forgotten once their window closed and nothing waits
//!   for them ([`prune`]);
//! - Graph's documented refusals ([`graph::meaning`]) are not retried blindly: the
//!   row is dead-lettered at once with the reason staff are shown, and counted.

use super::graph::{self, GraphError};
use super::{WhatsApp, message_key};
use crate::domain::Undelivered;
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

/// Forgets contacts whose window closed and for whom nothing waits: the row would
/// tie a number's blind index to the time they last wrote (and so, perhaps, to when
/// an anonymous complaint was filed) for no purpose. A contact forgotten is treated
/// as one whose window is closed, which it is.
pub async fn prune(db: &DatabaseConnection) -> anyhow::Result<()> {
    let closed = crate::clock::now() - chrono::Duration::hours(24);
    db.execute_raw(sea_orm::Statement::from_sql_and_values(
        db.get_database_backend(),
        "DELETE FROM wa_contacts WHERE last_inbound_at < $1 AND NOT EXISTS \
         (SELECT 1 FROM outbox o WHERE o.recipient_bidx = wa_contacts.sender_bidx AND o.state = $2)",
        [closed.into(), outbox::PENDING.into()],
    ))
    .await
    .context("cannot prune WhatsApp contacts")?;
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
    use sea_orm::PaginatorTrait;

    /// Contacts whose window closed with nothing waiting are forgotten; the others
    /// are kept, and a message from a contact opens their window and wakes what waits.
    #[tokio::test]
    async fn contacts_are_kept_only_while_they_matter() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("w.db").display());
        let db = crate::db::connect(&url, 1).await.unwrap();
        crate::db::migrate(&db).await.unwrap();
        let (keys, _) = crate::crypto::KeyRing::load_or_create(&dir.path().join("k.toml")).unwrap();
        let old = crate::clock::now() - chrono::Duration::days(3);
        for (who, at) in [(b"gone".to_vec(), old), (b"waits".to_vec(), old)] {
            wa_contact::Entity::insert(wa_contact::ActiveModel {
                sender_bidx: Set(who),
                last_inbound_at: Set(at),
                template_sent_at: Set(None),
            })
            .exec_without_returning(&db)
            .await
            .unwrap();
        }
        opened(&db, b"fresh").await.unwrap();
        let id = outbox::enqueue(
            &db,
            &keys,
            "whatsapp",
            b"waits".to_vec(),
            &serde_json::json!({}),
        )
        .await
        .unwrap();
        outbox_row::Entity::update_many()
            .col_expr(
                outbox_row::Column::LastError,
                Expr::value(Undelivered::Waiting.code()),
            )
            .col_expr(
                outbox_row::Column::NextAttemptAt,
                Expr::value(Utc::now() + chrono::Duration::hours(6)),
            )
            .filter(outbox_row::Column::Id.eq(id))
            .exec(&db)
            .await
            .unwrap();
        prune(&db).await.unwrap();
        let left: Vec<Vec<u8>> = wa_contact::Entity::find()
            .all(&db)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.sender_bidx)
            .collect();
        assert_eq!(left.len(), 2);
        assert!(left.contains(&b"fresh".to_vec()) && left.contains(&b"waits".to_vec()));
        // The waiting contact writes: their row is due now.
        opened(&db, b"waits").await.unwrap();
        let due = outbox_row::Entity::find()
            .filter(outbox_row::Column::NextAttemptAt.lte(Utc::now()))
            .filter(outbox_row::Column::LastError.is_null())
            .count(&db)
            .await
            .unwrap();
        assert_eq!(due, 1);
    }

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
