//! The complainant-notification port: "tell the person behind this case this
//! notice, in their language, by the channel they came through", as one call over
//! the outbox. Each channel that can reach a complainant (WhatsApp, e-mail)
//! implements [`NoticeChannel`]; start-up hands the configured ones to a
//! [`Notifier`], and the services that speak to complainants (triage's questions)
//! call [`Notifier::tell`] knowing no channel's wire format.
//!
//! The message is queued in the caller's transaction, so it is sent exactly when the
//! change that caused it commits, and retried by the outbox worker like any other.

use crate::crypto::KeyRing;
use crate::domain::{Channel, Language};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use std::sync::Arc;

/// The person behind a case, as the case recorded them (decrypted by the caller,
/// kept in memory only).
pub struct Recipient<'a> {
    pub case_ref: &'a str,
    /// The channel the case came through: the only one a notice goes by.
    pub channel: Channel,
    pub language: Language,
    pub phone: Option<&'a str>,
    /// The exact WhatsApp id the worker wrote from (`5214775550142`, or a user id):
    /// WhatsApp notices go here; `phone` (E.164) is for display and dedupe.
    pub whatsapp_id: Option<&'a str>,
    pub email: Option<&'a str>,
}

/// What to tell them, already worded in their language.
pub struct Notice<'a> {
    /// A short title (an e-mail's subject).
    pub heading: &'a str,
    pub text: &'a str,
}

/// One message for the outbox: the sender that delivers it, the blind index of its
/// recipient (for per-recipient rate limits) and the payload that sender reads.
pub struct Outgoing {
    pub sender: &'static str,
    pub recipient_bidx: Vec<u8>,
    pub payload: serde_json::Value,
}

/// A channel that can carry a notice to the people who filed through it.
pub trait NoticeChannel: Send + Sync {
    /// The intake channel whose complainants it reaches.
    fn serves(&self) -> Channel;

    /// The outbox message that carries `notice` to `to`, or `None` when the case
    /// holds no contact this channel can use.
    fn compose(
        &self,
        keys: &KeyRing,
        to: &Recipient<'_>,
        notice: &Notice<'_>,
    ) -> anyhow::Result<Option<Outgoing>>;
}

/// Every configured channel that can reach a complainant.
#[derive(Clone, Default)]
pub struct Notifier {
    channels: Vec<Arc<dyn NoticeChannel>>,
}

impl Notifier {
    pub fn new(channels: Vec<Arc<dyn NoticeChannel>>) -> Self {
        Self { channels }
    }

    /// The configured channel that reaches people who filed through `channel`.
    fn channel_for(&self, channel: Channel) -> Option<&dyn NoticeChannel> {
        self.channels
            .iter()
            .find(|c| c.serves() == channel)
            .map(AsRef::as_ref)
    }

    /// Queues `notice` for the person behind a case, in `txn`, by the channel the
    /// case came through. The sender's name when a message was queued; `None` when
    /// that channel is not configured or the case holds no contact for it (the
    /// notice is then only on the status page).
    pub async fn tell(
        &self,
        txn: &impl ConnectionTrait,
        keys: &KeyRing,
        to: &Recipient<'_>,
        notice: &Notice<'_>,
    ) -> anyhow::Result<Option<&'static str>> {
        let Some(channel) = self.channel_for(to.channel) else {
            return Ok(None);
        };
        let Some(out) = channel.compose(keys, to, notice)? else {
            return Ok(None);
        };
        // The row names its case, so staff see on the case what became of it.
        let case_id = entity::case::Entity::find()
            .filter(entity::case::Column::CaseRef.eq(to.case_ref))
            .select_only()
            .column(entity::case::Column::Id)
            .into_tuple::<uuid::Uuid>()
            .one(txn)
            .await?;
        crate::outbox::enqueue_about(
            txn,
            keys,
            out.sender,
            out.recipient_bidx,
            &out.payload,
            case_id,
        )
        .await?;
        Ok(Some(out.sender))
    }
}

pub use crate::domain::Undelivered;

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake(Channel);

    impl NoticeChannel for Fake {
        fn serves(&self) -> Channel {
            self.0
        }
        fn compose(
            &self,
            _: &KeyRing,
            to: &Recipient<'_>,
            notice: &Notice<'_>,
        ) -> anyhow::Result<Option<Outgoing>> {
            Ok(to.phone.map(|p| Outgoing {
                sender: "fake",
                recipient_bidx: p.as_bytes().to_vec(),
                payload: serde_json::json!({ "text": notice.text }),
            }))
        }
    }

    #[test]
    fn a_notice_goes_only_by_the_channel_the_case_came_through() {
        let n = Notifier::new(vec![Arc::new(Fake(Channel::WhatsApp))]);
        assert!(n.channel_for(Channel::WhatsApp).is_some());
        assert!(n.channel_for(Channel::Email).is_none());
        assert!(n.channel_for(Channel::Web).is_none());
        assert!(Notifier::default().channel_for(Channel::WhatsApp).is_none());
    }
}
