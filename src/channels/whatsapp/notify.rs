//! The complainant-notification port over WhatsApp: a text message to the exact
//! WhatsApp id the case was filed from, sent by the outbox's Graph API sender.

use super::conversation::Reply;
use super::{WhatsApp, graph, sender_key, worker::CHANNEL};
use crate::crypto::KeyRing;
use crate::domain::Channel;
use crate::notify::{Notice, NoticeChannel, Outgoing, Recipient};

impl NoticeChannel for WhatsApp {
    fn serves(&self) -> Channel {
        Channel::WhatsApp
    }

    fn compose(
        &self,
        keys: &KeyRing,
        to: &Recipient<'_>,
        notice: &Notice<'_>,
    ) -> anyhow::Result<Option<Outgoing>> {
        // The id the worker wrote from; cases stored before it was kept: the phone.
        let Some(wa_id) = to
            .whatsapp_id
            .or_else(|| to.phone.map(|p| p.trim_start_matches('+')))
        else {
            return Ok(None);
        };
        let mut payload = graph::message_body(wa_id, &Reply::Text(notice.text.to_owned()));
        // For the template, should the 24-hour window be closed when it leaves.
        if let Some(map) = payload.as_object_mut() {
            map.insert(
                super::window::LANGUAGE_KEY.into(),
                to.language.code().into(),
            );
        }
        Ok(Some(Outgoing {
            sender: CHANNEL,
            recipient_bidx: sender_key(keys, wa_id),
            payload,
        }))
    }
}
