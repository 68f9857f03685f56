//! The complainant-notification port over e-mail: a message to the address the
//! case came from, its Reply-To the case's own intake address so the answer threads
//! onto the case, sent by the outbox's SMTP sender.

use super::worker::Outgoing as Mail;
use super::{CHANNEL, Email, case_address, case_subject, sender_key};
use crate::crypto::KeyRing;
use crate::domain::Channel;
use crate::notify::{Notice, NoticeChannel, Outgoing, Recipient};
use anyhow::Context;
use uuid::Uuid;

impl NoticeChannel for Email {
    fn serves(&self) -> Channel {
        Channel::Email
    }

    fn compose(
        &self,
        keys: &KeyRing,
        to: &Recipient<'_>,
        notice: &Notice<'_>,
    ) -> anyhow::Result<Option<Outgoing>> {
        let Some(address) = to.email else {
            return Ok(None);
        };
        let settings = &self.settings;
        let mail = Mail {
            to: address.to_owned(),
            subject: case_subject(to.case_ref, notice.heading),
            body: notice.text.to_owned(),
            message_id: format!("{}@{}", Uuid::new_v4().simple(), settings.hostname),
            in_reply_to: None,
            references: Vec::new(),
            reply_to: case_address(settings, to.case_ref),
            language: to.language.code().to_owned(),
        };
        Ok(Some(Outgoing {
            sender: CHANNEL,
            recipient_bidx: sender_key(keys, address),
            payload: serde_json::to_value(&mail).context("cannot serialize e-mail")?,
        }))
    }
}
