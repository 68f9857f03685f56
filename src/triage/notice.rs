//! Telling the complainant: a question, or how their case ended, through the
//! complainant-notification port ([`crate::notify`]) by the channel the case came
//! through, to the contact the case recorded (a named WhatsApp case: the exact
//! WhatsApp id the worker wrote from; e-mail: the address).

use crate::cases::complainant_fields;
use crate::crypto::KeyRing;
use crate::domain::{Channel, Language, Outcome};
use crate::notify::{Notice, Notifier, Recipient};
use crate::routing::Directory;
use sea_orm::ConnectionTrait;

/// What telling a complainant needs besides the keys: the configured channels, and
/// the authorities' names (a closing notice names where to turn next).
#[derive(Clone, Copy)]
pub struct Tell<'a> {
    pub notifier: &'a Notifier,
    pub directory: &'a Directory,
}

/// Queues `heading`/`text` for the complainant of `case` in `txn`, by the channel
/// the case came through. The channel's name when a message was queued; `None` when
/// the case holds no contact for it (the text is then only on the status page).
pub(crate) async fn tell(
    txn: &impl ConnectionTrait,
    keys: &KeyRing,
    notifier: &Notifier,
    case: &entity::case::Model,
    heading: &str,
    text: &str,
) -> anyhow::Result<Option<&'static str>> {
    let Some(channel) = Channel::parse(&case.channel) else {
        return Ok(None);
    };
    // How to reach the person behind the case, decrypted, in memory only.
    let [phone, whatsapp_id, email] =
        complainant_fields(txn, keys, case.id, ["phone_ct", "wa_id_ct", "email_ct"]).await?;
    let to = Recipient {
        case_ref: &case.case_ref,
        channel,
        language: Language::parse(&case.language).unwrap_or_default(),
        phone: phone.as_deref(),
        whatsapp_id: whatsapp_id.as_deref(),
        email: email.as_deref(),
    };
    notifier
        .tell(txn, keys, &to, &Notice { heading, text })
        .await
}

/// Tells the complainant that `case` closed: how it ended and where to turn next
/// (its legal-aid authorities by name). The status page shows the same.
pub(crate) async fn closed(
    txn: &impl ConnectionTrait,
    keys: &KeyRing,
    tell_by: Tell<'_>,
    case: &entity::case::Model,
    outcome: Outcome,
) -> anyhow::Result<Option<&'static str>> {
    let lang = Language::parse(&case.language).unwrap_or_default();
    let advice: Vec<String> = crate::intake::referrals::legal_aid(txn, case.id)
        .await?
        .iter()
        .map(|code| tell_by.directory.name(code, lang))
        .collect();
    let heading = lang.pick("Su queja se cerró", "Your complaint was closed");
    let text = format!(
        "{heading}: {}\n\n{}",
        case.case_ref,
        crate::domain::closing_notice(outcome, lang, &advice)
    );
    tell(txn, keys, tell_by.notifier, case, heading, &text).await
}
