//! A stored WhatsApp message as the conversation's input: text, a button or list
//! choice, or media with its declared type.

use super::*;

/// Reads a stored webhook message with the `whatsapp` crate's model; anything it
/// cannot read, or a type we don't take, is `Unsupported` (answered politely).
pub fn to_input(message: &serde_json::Value) -> Input {
    use whatsapp::models::webhooks::{NotificationMessage, NotificationMessageType as T};
    let media = |kind: &str| {
        let part = message.get(kind)?;
        let id = part.get("id")?.as_str()?.to_owned();
        if id.is_empty() || id.len() > 128 {
            return None;
        }
        let text = |key: &str| {
            part.get(key)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
                .filter(|s| s.len() <= 4096)
        };
        Some(Input::Media(Media {
            id,
            mime_type: text("mime_type").unwrap_or_default(),
            sha256: text("sha256").filter(|s| s.len() <= 128),
            caption: text("caption"),
        }))
    };
    // The model wants a `from`; a username-only user's message has a user id instead.
    let mut readable = message.clone();
    if readable.get("from").is_none()
        && let (Some(id), Some(map)) = (super::super::reply_to(message), readable.as_object_mut())
    {
        map.insert("from".into(), id.into());
    }
    let Ok(m) = serde_json::from_value::<NotificationMessage>(readable) else {
        // The model insists on fields WhatsApp leaves out at times (a document's file
        // name, an audio's hash): files are read from the raw message instead.
        let kind = message.get("type").and_then(|t| t.as_str()).unwrap_or("");
        return match kind {
            "image" | "document" | "audio" | "video" => media(kind),
            _ => None,
        }
        .unwrap_or(Input::Unsupported);
    };
    let input = match m.message_type {
        T::Text => m.text.map(|t| Input::Text(t.body)),
        T::Interactive => m.interactive.and_then(|i| {
            i.button_reply
                .map(|b| b.id)
                .or_else(|| i.list_reply.map(|l| l.id))
                .map(Input::Choice)
        }),
        T::Button => m.button.map(|b| Input::Choice(b.payload)),
        T::Image => media("image"),
        T::Document => media("document"),
        T::Audio => media("audio"),
        T::Video => media("video"),
        _ => None,
    };
    input.unwrap_or(Input::Unsupported)
}
