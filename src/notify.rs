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

/// Why a notice did not reach the person (yet), as the outbox row records it
/// (`last_error`: `window`, `template:132001`, ...). Channel-neutral words; the
/// channel maps its provider's codes onto them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undelivered {
    /// Waiting: the channel takes it only after the person writes (WhatsApp's
    /// 24-hour window); they were asked to write.
    Waiting,
    /// Refused: the person must write first.
    Window,
    /// The channel's notification template is missing, paused or disabled.
    Template,
    /// The person cannot receive it there (not on the channel, blocked or stopped
    /// messages from us).
    Unreachable,
    /// The channel's spam or engagement limits.
    Spam,
    /// The business account must be fixed by an operator.
    Account,
    /// The channel will never take the message as written.
    Rejected,
}

impl Undelivered {
    const ALL: [Undelivered; 7] = [
        Self::Waiting,
        Self::Window,
        Self::Template,
        Self::Unreachable,
        Self::Spam,
        Self::Account,
        Self::Rejected,
    ];

    /// The fixed code kept on the outbox row (before `:CODE` when a provider gave one).
    pub fn code(self) -> &'static str {
        match self {
            Self::Waiting => "awaiting_window",
            Self::Window => "window",
            Self::Template => "template",
            Self::Unreachable => "unreachable",
            Self::Spam => "spam",
            Self::Account => "account",
            Self::Rejected => "rejected",
        }
    }

    /// Reads an outbox row's `last_error` back.
    pub fn parse(note: &str) -> Option<Self> {
        let kind = note.split(':').next().unwrap_or(note);
        Self::ALL.into_iter().find(|u| u.code() == kind)
    }

    /// What staff read on the case.
    pub fn explain(self, lang: Language) -> &'static str {
        match self {
            Self::Waiting => lang.pick(
                "Esperando en WhatsApp: pasaron más de 24 horas desde el último mensaje de la persona; se le pidió escribir y el mensaje saldrá cuando lo haga. Ya está en su página de estado.",
                "Waiting on WhatsApp: more than 24 hours passed since the person's last message; they were asked to write, and the message leaves when they do. It is on their status page already.",
            ),
            Self::Window => lang.pick(
                "No entregado por WhatsApp: la persona debe escribir primero; el mensaje está en su página de estado.",
                "Not delivered on WhatsApp: the worker must write first; the message is on their status page.",
            ),
            Self::Template => lang.pick(
                "No entregado por WhatsApp: la plantilla de aviso falta, está en pausa o desactivada (avise a quien administra Buzón); el mensaje está en su página de estado.",
                "Not delivered on WhatsApp: the notice template is missing, paused or disabled (tell Buzón's administrator); the message is on their status page.",
            ),
            Self::Unreachable => lang.pick(
                "No entregado por WhatsApp: ese número no puede recibirlo (no usa WhatsApp, o bloqueó o dejó de recibir nuestros mensajes); el mensaje está en su página de estado.",
                "Not delivered on WhatsApp: that number cannot receive it (not on WhatsApp, or blocked or stopped our messages); the message is on their status page.",
            ),
            Self::Spam => lang.pick(
                "No entregado por WhatsApp: WhatsApp limitó nuestros envíos; el mensaje está en su página de estado.",
                "Not delivered on WhatsApp: WhatsApp limited our sending; the message is on their status page.",
            ),
            Self::Account => lang.pick(
                "No entregado por WhatsApp: la cuenta de WhatsApp de Buzón necesita atención (avise a quien la administra); el mensaje está en su página de estado.",
                "Not delivered on WhatsApp: Buzón's WhatsApp account needs attention (tell its administrator); the message is on their status page.",
            ),
            Self::Rejected => lang.pick(
                "No entregado por WhatsApp: el mensaje fue rechazado; está en su página de estado.",
                "Not delivered on WhatsApp: the message was refused; it is on their status page.",
            ),
        }
    }
}

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
    fn undelivered_notes_read_back() {
        for u in Undelivered::ALL {
            assert_eq!(Undelivered::parse(u.code()), Some(u));
            assert_eq!(Undelivered::parse(&format!("{}:131047", u.code())), Some(u));
            assert!(!u.explain(Language::En).is_empty());
        }
        assert_eq!(Undelivered::parse("http 500"), None);
        assert_eq!(Undelivered::parse("crashed"), None);
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
