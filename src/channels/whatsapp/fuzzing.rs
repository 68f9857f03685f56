//! What the fuzz targets (`fuzz/`) run on a WhatsApp delivery: the webhook's own
//! checks ([`super::accept`]), then, for each message, what the inbox worker does
//! with it short of the database (the stored JSON read back, [`to_input`],
//! [`conversation::advance`] and [`conversation::send_rights`], the complaint when
//! the conversation files one, the Cloud API bodies of the replies). Panics when an
//! invariant does not hold.

use super::conversation::{self, Conversation, Reply, wa_limits};
use super::worker::to_input;
use crate::error::ErrorCode;
use crate::routing::{Directory, Rules};
use std::collections::HashMap;
use std::sync::OnceLock;

/// The rules and directory the server starts with (the rights guide is built from them).
fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| match Rules::load(None) {
        Ok(rules) => rules,
        Err(e) => panic!("the built-in routing rules do not load: {e}"),
    })
}

fn directory() -> &'static Directory {
    static DIRECTORY: OnceLock<Directory> = OnceLock::new();
    DIRECTORY.get_or_init(|| match Directory::builtin() {
        Ok(directory) => directory,
        Err(e) => panic!("the built-in directory does not load: {e}"),
    })
}

/// What one delivery came to.
#[derive(Debug, Default)]
pub struct Worked {
    pub messages: usize,
    pub statuses: usize,
    pub skipped: usize,
    pub replies: usize,
    pub filed: usize,
}

/// The webhook's checks on `body` signed with `signature` under `app_secret`, then
/// every accepted message worked in order, each sender's conversation carried from
/// one message to the next as the worker stores it (JSON).
pub fn delivery(
    signature: Option<&str>,
    body: &[u8],
    app_secret: &str,
    today: chrono::NaiveDate,
) -> Result<Worked, ErrorCode> {
    let (messages, statuses, skipped) = super::accept(signature, body, app_secret)?;
    let mut worked = Worked {
        messages: messages.len(),
        statuses: statuses.len(),
        skipped,
        ..Worked::default()
    };
    let mut conversations: HashMap<String, Vec<u8>> = HashMap::new();
    for m in messages {
        assert!(!m.wa_id.is_empty() && m.wa_id.len() <= super::MAX_WA_ID);
        assert_eq!(super::reply_to(&m.message), Some(m.wa_id.as_str()));
        assert!(!m.wamid.is_empty() && m.wamid.len() <= super::MAX_WAMID);
        // Stored as its JSON text, read back by the worker.
        let stored = m.message.to_string();
        let message: serde_json::Value = match serde_json::from_str(&stored) {
            Ok(v) => v,
            Err(e) => panic!("a stored message does not read back: {e}"),
        };
        let Some(wa_id) = super::reply_to(&message) else {
            panic!("a stored message has no sender");
        };
        let input = to_input(&message);
        let current = conversations
            .get(wa_id)
            .and_then(|json| serde_json::from_slice::<Conversation>(json).ok());
        let mut outcome = conversation::advance(current, wa_id, input);
        conversation::send_rights(&mut outcome, rules(), directory());
        for reply in &outcome.replies {
            check_reply(reply);
            let body = super::graph::message_body(wa_id, reply);
            assert!(body.is_object(), "a reply body is not a JSON object");
        }
        worked.replies += outcome.replies.len();
        if outcome.file {
            let Some(conv) = outcome.conversation.as_ref() else {
                panic!("filing without a conversation");
            };
            // The worker says this cannot happen through the conversation.
            assert!(
                conv.complaint(today).is_some(),
                "a confirmed conversation does not make a complaint"
            );
            worked.filed += 1;
            conversations.remove(wa_id);
        } else if let Some(conv) = &outcome.conversation {
            let json = match serde_json::to_vec(conv) {
                Ok(json) => json,
                Err(e) => panic!("a conversation does not serialize: {e}"),
            };
            conversations.insert(wa_id.to_owned(), json);
        } else {
            conversations.remove(wa_id);
        }
    }
    Ok(worked)
}

/// A reply within the Cloud API's limits (WhatsApp refuses the message otherwise).
pub fn check_reply(reply: &Reply) {
    let n = |s: &str| s.chars().count();
    match reply {
        Reply::Text(t) => {
            assert!(!t.trim().is_empty(), "empty text reply");
            assert!(n(t) <= wa_limits::TEXT_BODY, "text over the limit");
        }
        Reply::Buttons { body, buttons } => {
            assert!(
                n(body) <= wa_limits::INTERACTIVE_BODY,
                "button body too long"
            );
            assert!((1..=wa_limits::BUTTONS).contains(&buttons.len()));
            for (id, title) in buttons {
                assert!(!id.is_empty() && !title.is_empty());
                assert!(n(title) <= wa_limits::BUTTON_TITLE, "button title too long");
            }
        }
        Reply::List { body, button, rows } => {
            assert!(n(body) <= wa_limits::INTERACTIVE_BODY, "list body too long");
            assert!(n(button) <= wa_limits::BUTTON_TITLE, "list button too long");
            assert!((1..=wa_limits::LIST_ROWS).contains(&rows.len()));
            for row in rows {
                assert!(!row.id.is_empty() && !row.title.is_empty());
                assert!(n(&row.title) <= wa_limits::ROW_TITLE, "row title too long");
                assert!(
                    row.description
                        .as_deref()
                        .is_none_or(|d| n(d) <= wa_limits::ROW_DESCRIPTION),
                    "row description too long"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, KeyInit, Mac};

    /// The seed that walks a conversation to the end files one complaint, so the
    /// fuzz target starts from inputs that reach every step.
    #[test]
    fn the_complete_seed_files_a_complaint() {
        let body = include_bytes!(
            "../../../fuzz/corpus/whatsapp_webhook/conversation_complete_anonymous.json"
        );
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"secret").expect("key");
        mac.update(body);
        let signature = format!(
            "sha256={}",
            crate::crypto::hex(&mac.finalize().into_bytes())
        );
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).expect("date");
        let worked = delivery(Some(&signature), body, "secret", today).expect("accepted");
        assert_eq!((worked.messages, worked.filed), (13, 1));
        assert!(delivery(None, body, "secret", today).is_err());
    }
}
