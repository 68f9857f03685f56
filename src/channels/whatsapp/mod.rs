//! The WhatsApp channel (Business Cloud API): a signed webhook feeds a durable inbox,
//! a worker turns each stored message into the next step of a guided conversation
//! (`conversation/`), replies leave through the outbox, evidence files are fetched
//! from the Graph API (`graph.rs`) by a media worker.
//!
//! Webhook rules: the signature (`X-Hub-Signature-256`, HMAC-SHA256 of the raw body
//! under the app secret) is checked before anything is parsed; a delivery is answered
//! 200 only after every message in it is committed to `wa_inbox`; a message id seen
//! before is a no-op, so Meta's redeliveries (any number, any order) change nothing.
//! Delivery statuses update the outbox row of the message they are about.
//!
//! Privacy: the sender's WhatsApp id is kept only encrypted (in the stored message and
//! the conversation) and as a blind index of its E.164 form, so `+52 1 ...` and
//! `+52 ...` are one sender. Message ids embed the sender's number, so they are kept
//! only as blind indexes too. The profile name Meta sends is never stored.

pub mod conversation;
#[doc(hidden)]
pub mod fuzzing;
pub mod graph;
pub mod notify;
pub mod window;
pub mod worker;

use crate::config::WhatsAppSettings;
use crate::crypto::{Aad, KeyRing};
use crate::db::group::{Job, Row};
use crate::domain::PhoneNumber;
use crate::error::ErrorCode;
use crate::ratelimit::redis::Shared;
use crate::ratelimit::{Keyed, Scope};
use anyhow::Context;
use chrono::Utc;
use entity::wa_inbox;
use hmac::{Hmac, KeyInit, Mac};
use sea_orm::ActiveValue::Set;
use sha2::Sha256;
use std::sync::Arc;
use tokio::sync::Notify;
use uuid::Uuid;

pub use graph::GraphClient;

/// Inbox row states.
pub const PENDING: &str = "pending";
pub const DONE: &str = "done";
/// Could not be processed after several attempts.
pub const FAILED: &str = "failed";

/// The running channel: settings, the Graph API client, the workers' wake-up calls
/// and the per-sender limits.
pub struct WhatsApp {
    pub settings: WhatsAppSettings,
    pub graph: Arc<GraphClient>,
    pub inbox_notify: Arc<Notify>,
    pub outbox_notify: Arc<Notify>,
    pub media_notify: Arc<Notify>,
    sender_limiter: Keyed<Vec<u8>>,
    /// Senders told to slow down, until their backlog is worked off: one notice
    /// per backlog, however long it is.
    deferred: std::sync::Mutex<std::collections::HashSet<Vec<u8>>>,
}

impl WhatsApp {
    /// `shared`: the Redis store of rate limits, when configured.
    pub fn new(settings: WhatsAppSettings, shared: Option<Arc<Shared>>) -> anyhow::Result<Self> {
        let graph = Arc::new(GraphClient::new(&settings).context("cannot build Graph API client")?);
        Ok(Self {
            sender_limiter: Keyed::new(
                Scope::WhatsAppSender,
                crate::ratelimit::quota(settings.sender_limit),
                shared,
            ),
            deferred: std::sync::Mutex::new(std::collections::HashSet::new()),
            settings,
            graph,
            inbox_notify: Arc::new(Notify::new()),
            outbox_notify: Arc::new(Notify::new()),
            media_notify: Arc::new(Notify::new()),
        })
    }

    /// `Err(wait)` when this sender is over its limit. Never refuses for want of
    /// Redis: the in-memory limit stands in (a message is never lost to a limit).
    pub async fn sender_check(&self, sender: &[u8]) -> Result<(), std::time::Duration> {
        self.sender_limiter.check_open(&sender.to_vec()).await
    }

    /// True the first time a sender's message is deferred since their last one was
    /// worked: the moment to tell them once.
    pub fn first_deferral(&self, sender: &[u8]) -> bool {
        self.deferred
            .lock()
            .map(|mut set| set.insert(sender.to_vec()))
            .unwrap_or(false)
    }

    /// A message of this sender is being worked: a later backlog gets a new notice.
    pub fn caught_up(&self, sender: &[u8]) {
        if let Ok(mut set) = self.deferred.lock() {
            set.remove(sender);
        }
    }

    pub fn forget_idle(&self) {
        self.sender_limiter.forget_idle();
    }
}

/// Whether a WhatsApp id is a phone number (digits, as `from` and `wa_id` carry it)
/// rather than a business-scoped user id (`US.13491208655302741918`).
pub fn is_phone_id(wa_id: &str) -> bool {
    !wa_id.is_empty() && wa_id.len() <= MAX_PHONE_ID && wa_id.chars().all(|c| c.is_ascii_digit())
}

/// Whether `id` looks like a business-scoped user id: a two-letter country code, a
/// period, then letters, digits and periods (`US.ENT.…` for a parent id).
fn is_user_id(id: &str) -> bool {
    let mut parts = id.splitn(2, '.');
    let (Some(country), Some(rest)) = (parts.next(), parts.next()) else {
        return false;
    };
    id.len() <= MAX_WA_ID
        && country.len() == 2
        && country.chars().all(|c| c.is_ascii_alphabetic())
        && !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-')
}

/// The WhatsApp id to reply to, read from a stored message: the phone number the
/// worker wrote from (`from`), else their business-scoped user id (`from_user_id`,
/// then `from_parent_user_id`: a username-only user has no phone in the webhook).
/// Replies go to exactly this id; the Cloud API takes a user id as `recipient`.
pub fn reply_to(message: &serde_json::Value) -> Option<&str> {
    writer_ids(message).next()
}

/// Every WhatsApp id a stored message says its writer has, in the order
/// [`reply_to`] prefers them: phone, user id, parent user id.
fn writer_ids(message: &serde_json::Value) -> impl Iterator<Item = &str> {
    let field = |name| message.get(name).and_then(|v| v.as_str());
    let phone = field("from").filter(|f| is_phone_id(f));
    let users = ["from_user_id", "from_parent_user_id"]
        .into_iter()
        .filter_map(move |name| field(name).filter(|u| is_user_id(u)));
    phone.into_iter().chain(users)
}

/// The blind index of a sender: a phone number as E.164 (so the `+52 1` form and the
/// `+52` form of a Mexican mobile are one person), under the phone purpose, so it
/// matches the phone a named complainant gave on any channel; a business-scoped user
/// id as given (it has no other form), under the same purpose (a user id never
/// starts with `+`, so it meets no phone).
/// The parse is remembered (`BlindIndex::compute_normalized`): a sender's every
/// message needs it, and libphonenumber takes longer than the rest of storing one.
pub fn sender_key(keys: &KeyRing, wa_id: &str) -> Vec<u8> {
    if !is_phone_id(wa_id) {
        return keys.blind_index.compute("phone", wa_id);
    }
    keys.blind_index
        .compute_normalized("wa_id", wa_id, "phone", |wa_id| {
            PhoneNumber::parse(&format!("+{wa_id}"))
                .map(|p| p.e164().to_owned())
                .unwrap_or_else(|_| format!("+{wa_id}"))
        })
}

/// The blind index of a WhatsApp message id (`wamid.…`, which embeds the number).
pub fn message_key(keys: &KeyRing, wamid: &str) -> Vec<u8> {
    keys.blind_index.compute("wamid", wamid)
}

/// The dedupe key of an inbound message: its id under the WhatsApp id it came from.
/// A redelivery carries both unchanged; a message id is only unique per sender (Meta
/// builds it from the number; payloads from other tools reuse one id for a phone
/// user and a username-only user), and a message from another sender is never
/// taken for a redelivery and dropped unanswered.
pub fn inbound_key(keys: &KeyRing, wa_id: &str, wamid: &str) -> Vec<u8> {
    keys.blind_index
        .compute("wamid", &format!("{wa_id}\u{1f}{wamid}"))
}

pub fn inbox_aad(id: Uuid) -> Aad<'static> {
    Aad {
        table: "wa_inbox",
        column: "payload_ct",
        row: id,
    }
}

/// Verifies `X-Hub-Signature-256: sha256=<hex>` over the raw body, in constant time.
pub fn signature_valid(header: Option<&str>, body: &[u8], app_secret: &str) -> bool {
    let Some(given) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    let expected = crate::crypto::hex(&mac.finalize().into_bytes());
    crate::crypto::ct_eq(expected.as_bytes(), given.to_ascii_lowercase().as_bytes())
}

/// Webhook refusals are read by Meta's servers and their operators: English JSON.
#[derive(serde::Deserialize)]
pub struct Handshake {
    #[serde(rename = "hub.mode")]
    pub mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    pub verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    pub challenge: Option<String>,
}

/// One message of a delivery, as stored.
pub struct Incoming {
    wa_id: String,
    wamid: String,
    message: serde_json::Value,
}

/// One delivery status of a message we sent: its id, the status and, for `failed`,
/// the error's code and title (Meta's words).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    pub wamid: String,
    pub status: String,
    pub detail: Option<String>,
}

/// Longest phone-number WhatsApp id and business-scoped user id we accept (real ones
/// are far shorter), and message id.
const MAX_PHONE_ID: usize = 32;
const MAX_WA_ID: usize = 160;
const MAX_WAMID: usize = 512;

/// Message types that are not a worker speaking to the conversation: a reaction to
/// one of our messages, an edit or deletion of an earlier message, a system notice
/// (number changed). Acknowledged and counted, never answered.
const IGNORED_TYPES: [&str; 4] = ["reaction", "edit", "revoke", "system"];

/// Webhook fields (`changes[].field`) Buzón does not use, named in the metric; any
/// other is counted as `other`.
const KNOWN_FIELDS: [&str; 12] = [
    "account_update",
    "account_alerts",
    "business_capability_update",
    "message_template_status_update",
    "message_template_quality_update",
    "message_template_components_update",
    "template_category_update",
    "phone_number_quality_update",
    "phone_number_name_update",
    "calls",
    "smb_message_echoes",
    "user_preferences",
];

fn ignored(what: &str) {
    let label = KNOWN_FIELDS
        .iter()
        .chain(IGNORED_TYPES.iter())
        .chain(["errors", "status_other", "smb_app_state_sync", "history"].iter())
        .find(|k| **k == what)
        .copied()
        .unwrap_or("other");
    crate::metrics::whatsapp_ignored(label);
}

fn text<'a>(value: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(|v| v.as_str())
}

fn array<'a>(
    value: &'a serde_json::Value,
    key: &str,
) -> impl Iterator<Item = &'a serde_json::Value> {
    value
        .get(key)
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
}

/// One status, read leniently: every field but the id and the status is optional and
/// may come as a string or a number (`timestamp`, `expiration_timestamp`); the
/// recipient may be a phone (`recipient_id`) or a user id (`recipient_user_id`);
/// conversation and pricing blocks are not needed. `None`: not a status at all.
fn read_status(s: &serde_json::Value) -> Option<StatusUpdate> {
    let wamid = text(s, "id").filter(|i| !i.is_empty() && i.len() <= MAX_WAMID)?;
    let status = text(s, "status")?.to_ascii_lowercase();
    // Kept as `kind:code title` (`window:131047 Re-engagement message`), so staff
    // read on the case why a message sent was not delivered after all.
    let detail = array(s, "errors").next().map(|e| {
        let code = e.get("code").and_then(|c| {
            c.as_i64()
                .or_else(|| c.as_str().and_then(|t| t.trim().parse().ok()))
        });
        let kind = match code.and_then(graph::meaning) {
            Some(Err(kind)) => kind,
            _ => crate::domain::Undelivered::Rejected,
        };
        let title = text(e, "title")
            .or_else(|| text(e, "message"))
            .unwrap_or("");
        let code = code.map(|c| c.to_string()).unwrap_or_default();
        crate::domain::truncate(format!("{}:{code} {title}", kind.code()).trim(), 96)
    });
    Some(StatusUpdate {
        wamid: wamid.to_owned(),
        status,
        detail,
    })
}

/// The messages and statuses of a delivery, read from the JSON tree so that one
/// malformed message (wrong types, unknown shape) never sinks the others. Fields and
/// message types Buzón does not use are counted (`buzon_whatsapp_webhook_ignored`),
/// not skipped as malformed.
fn extract(payload: &serde_json::Value) -> (Vec<Incoming>, Vec<StatusUpdate>, usize) {
    let mut messages = Vec::new();
    let mut statuses = Vec::new();
    let mut skipped = 0;
    let changes = array(payload, "entry").flat_map(|entry| array(entry, "changes"));
    for change in changes {
        match text(change, "field") {
            Some("messages") => {}
            Some(field) => {
                ignored(field);
                continue;
            }
            None => continue,
        }
        let Some(value) = change.get("value") else {
            continue;
        };
        if value.get("errors").is_some() {
            ignored("errors");
        }
        // A username-only user: the only id may be the contact's `user_id`.
        let contacts: Vec<&serde_json::Value> = array(value, "contacts").collect();
        let contact_user = match contacts.as_slice() {
            [one] => text(one, "user_id").or_else(|| text(one, "parent_user_id")),
            _ => None,
        };
        for m in array(value, "messages") {
            let id = text(m, "id").unwrap_or("");
            if id.is_empty() || id.len() > MAX_WAMID {
                skipped += 1;
                continue;
            }
            // A reaction, edit, revoke or system notice needs no one to answer: it is
            // acknowledged whoever it names (a system notice about a changed number
            // or user id may carry no sender Buzón can address).
            if let Some(kind) = text(m, "type")
                && IGNORED_TYPES.contains(&kind)
            {
                ignored(kind);
                continue;
            }
            let mut message = m.clone();
            if reply_to(&message).is_none()
                && text(&message, "from").is_none()
                && let (Some(user), Some(map)) = (contact_user, message.as_object_mut())
            {
                map.insert("from_user_id".into(), user.into());
            }
            let Some(wa_id) = reply_to(&message).map(str::to_owned) else {
                skipped += 1;
                continue;
            };
            messages.push(Incoming {
                wa_id,
                wamid: id.to_owned(),
                message,
            });
        }
        for s in array(value, "statuses") {
            match read_status(s) {
                Some(status) if crate::outbox::DELIVERY_ORDER.contains(&status.status.as_str()) => {
                    statuses.push(status);
                }
                Some(_) => ignored("status_other"),
                None => skipped += 1,
            }
        }
    }
    (messages, statuses, skipped)
}

/// What a delivery holds, once its signature is checked: the messages, the statuses
/// and how many items were skipped as malformed.
pub type Delivery = (Vec<Incoming>, Vec<StatusUpdate>, usize);

/// The signature first, then the JSON: everything the webhook does with the bytes
/// before storing them (pure, so the fuzz targets run it too).
pub fn accept(
    signature: Option<&str>,
    bytes: &[u8],
    app_secret: &str,
) -> Result<Delivery, ErrorCode> {
    if !signature_valid(signature, bytes, app_secret) {
        tracing::warn!(
            signed = signature.is_some(),
            "WhatsApp webhook refused: bad signature"
        );
        return Err(ErrorCode::InvalidSignature);
    }
    let Ok(payload) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        tracing::warn!("WhatsApp webhook refused: body is not JSON");
        return Err(ErrorCode::InvalidJson);
    };
    if !payload.is_object() {
        return Err(ErrorCode::InvalidJson);
    }
    Ok(extract(&payload))
}

/// Stores a verified delivery's messages (new ones only) and statuses with the
/// deliveries arriving alongside it, in one transaction (`db::group`); the number
/// of new messages, once committed.
pub async fn store(
    group: &crate::db::group::GroupCommit,
    keys: &KeyRing,
    messages: Vec<Incoming>,
    statuses: Vec<StatusUpdate>,
) -> anyhow::Result<u64> {
    let delivery = Inbound::new(keys, messages, statuses)?;
    let outcome = group.store(delivery.job()?).await?;
    Ok(outcome.iter().filter(|new| **new).count() as u64)
}

/// One webhook delivery, encrypted and ready to store: its messages (in one fixed
/// order) and its delivery statuses.
pub struct Inbound {
    messages: Vec<wa_inbox::ActiveModel>,
    statuses: Vec<(Vec<u8>, String, Option<String>)>,
    /// The senders who wrote (blind indexes, sorted, once each): their 24-hour
    /// window opens now.
    senders: Vec<Vec<u8>>,
}

impl Inbound {
    /// Encrypts what a verified delivery carries.
    pub fn new(
        keys: &KeyRing,
        messages: Vec<Incoming>,
        statuses: Vec<StatusUpdate>,
    ) -> anyhow::Result<Self> {
        let now = Utc::now();
        // Concurrent redeliveries of one payload may list its messages in any order:
        // insert them in one fixed order so their transactions never wait on each
        // other in a cycle. Ids are given in payload order (v7 ids sort by creation),
        // which is the order the worker follows; only the inserts are sorted.
        let mut messages: Vec<(Vec<u8>, Uuid, Incoming)> = messages
            .into_iter()
            .map(|m| (inbound_key(keys, &m.wa_id, &m.wamid), Uuid::now_v7(), m))
            .collect();
        messages.sort_by(|a, b| a.0.cmp(&b.0));
        messages.dedup_by(|a, b| a.0 == b.0);
        let mut statuses: Vec<(Vec<u8>, String, Option<String>)> = statuses
            .into_iter()
            .map(|s| (message_key(keys, &s.wamid), s.status, s.detail))
            .collect();
        statuses.sort_by(|a, b| a.0.cmp(&b.0));
        // Meta's window is the person's, whichever of their ids a notice is sent to:
        // a case filed by user id is answered there after they wrote with a phone.
        let mut senders: Vec<Vec<u8>> = messages
            .iter()
            .flat_map(|(_, _, m)| writer_ids(&m.message).chain([m.wa_id.as_str()]))
            .map(|id| sender_key(keys, id))
            .collect();
        senders.sort();
        senders.dedup();
        let messages = messages
            .into_iter()
            .map(|(key, id, m)| {
                let payload_ct = keys
                    .cipher
                    .encrypt(inbox_aad(id), m.message.to_string().as_bytes())
                    .context("cannot encrypt message")?;
                Ok(wa_inbox::ActiveModel {
                    id: Set(id),
                    message_key: Set(key),
                    sender_bidx: Set(sender_key(keys, &m.wa_id)),
                    payload_ct: Set(payload_ct),
                    state: Set(PENDING.to_owned()),
                    attempts: Set(0),
                    next_attempt_at: Set(now),
                    locked_until: Set(None),
                    open_claims: Set(0),
                    received_at: Set(now),
                })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            messages,
            statuses,
            senders,
        })
    }

    /// What the group commit writes for it: one row per message (a redelivered one is
    /// kept once: its key is the message id's blind index), then the statuses. It
    /// writes nothing it consumes, so it may run again.
    pub fn job(self) -> anyhow::Result<Job> {
        let rows = self
            .messages
            .iter()
            .map(|row| Row::of(row, wa_inbox::Column::MessageKey))
            .collect::<anyhow::Result<_>>()?;
        let job = Job::rows(rows);
        if self.statuses.is_empty() && self.senders.is_empty() {
            return Ok(job);
        }
        let statuses = Arc::new(self.statuses);
        let senders = Arc::new(self.senders);
        Ok(job.then(Arc::new(move |txn| {
            let statuses = Arc::clone(&statuses);
            let senders = Arc::clone(&senders);
            Box::pin(async move {
                for (key, status, detail) in statuses.iter() {
                    crate::outbox::record_delivery(txn, key.clone(), status, detail.as_deref())
                        .await?;
                }
                for sender in senders.iter() {
                    window::opened(txn, sender).await?;
                }
                Ok(())
            })
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_checked_over_the_exact_body() {
        let body = br#"{"object":"whatsapp_business_account"}"#;
        let mut mac = Hmac::<Sha256>::new_from_slice(b"secret").expect("key");
        mac.update(body);
        let good = format!(
            "sha256={}",
            crate::crypto::hex(&mac.finalize().into_bytes())
        );
        assert!(signature_valid(Some(&good), body, "secret"));
        assert!(signature_valid(
            Some(&good.to_uppercase().replace("SHA256=", "sha256=")),
            body,
            "secret"
        ));
        assert!(!signature_valid(Some(&good), b"{}", "secret"));
        assert!(!signature_valid(Some(&good), body, "other"));
        assert!(!signature_valid(None, body, "secret"));
        assert!(!signature_valid(Some("sha256="), body, "secret"));
        assert!(!signature_valid(
            Some(good.trim_start_matches("sha256=")),
            body,
            "secret"
        ));
    }

    #[test]
    fn a_sender_is_one_person_with_or_without_the_mexican_mobile_one() {
        let dir = tempfile::tempdir().unwrap();
        let (keys, _) = KeyRing::load_or_create(&dir.path().join("keys.toml")).unwrap();
        let phone = keys.blind_index.compute("phone", "+524771234567");
        // Twice each: the second answer is the remembered one.
        for _ in 0..2 {
            assert_eq!(sender_key(&keys, "5214771234567"), phone);
            assert_eq!(sender_key(&keys, "524771234567"), phone);
        }
        // A business-scoped user id: as given, never mistaken for a phone.
        assert_eq!(
            sender_key(&keys, "US.13491208655302741918"),
            keys.blind_index.compute("phone", "US.13491208655302741918")
        );
        // Not a number libphonenumber knows: indexed as given.
        assert_eq!(
            sender_key(&keys, "999"),
            keys.blind_index.compute("phone", "+999")
        );
    }

    #[test]
    fn one_message_id_from_two_senders_is_two_messages() {
        // One person wrote with a phone, another (or the same id reused by a
        // tool) as username only: both are answered; a redelivery stays one.
        let dir = tempfile::tempdir().unwrap();
        let (keys, _) = KeyRing::load_or_create(&dir.path().join("keys.toml")).unwrap();
        let payload = |message: serde_json::Value| {
            delivery("messages", serde_json::json!({"messages": [message]}))
        };
        let by_phone = payload(serde_json::json!({"id": "ABGGFlA5Fpa", "timestamp": "1",
            "from": "16315551181", "from_user_id": "US.13491208655302741918",
            "type": "text", "text": {"body": "hola"}}));
        let by_user = payload(serde_json::json!({"id": "ABGGFlA5Fpa", "timestamp": "1",
            "from_user_id": "US.13491208655302741918", "type": "text", "text": {"body": "hola"}}));
        let key = |p: &serde_json::Value| {
            let (mut messages, _, _) = extract(p);
            let Some(m) = messages.pop() else {
                panic!("no message in {p}");
            };
            Inbound::new(&keys, vec![m], vec![]).unwrap().messages[0]
                .message_key
                .clone()
                .unwrap()
        };
        assert_ne!(key(&by_phone), key(&by_user));
        assert_eq!(key(&by_user), key(&by_user.clone()));
    }

    #[test]
    fn a_message_opens_the_window_of_every_id_its_writer_has() {
        let dir = tempfile::tempdir().unwrap();
        let (keys, _) = KeyRing::load_or_create(&dir.path().join("keys.toml")).unwrap();
        let payload = delivery(
            "messages",
            serde_json::json!({"messages": [{"id": "wamid.A", "timestamp": "1",
                "from": "5214771234567", "from_user_id": "MX.5024446210977",
                "from_parent_user_id": "MX.ENT.77120384411", "type": "text", "text": {"body": "hola"}}]}),
        );
        let (messages, _, _) = extract(&payload);
        let inbound = Inbound::new(&keys, messages, vec![]).unwrap();
        let mut want = vec![
            sender_key(&keys, "5214771234567"),
            sender_key(&keys, "MX.5024446210977"),
            sender_key(&keys, "MX.ENT.77120384411"),
        ];
        want.sort();
        assert_eq!(inbound.senders, want);
    }

    #[test]
    fn one_malformed_message_does_not_sink_the_delivery() {
        let payload = serde_json::json!({
            "object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "1", "phone_number_id": "1"},
                "messages": [
                    {"from": "5214771234567", "id": "wamid.A", "timestamp": "1", "type": "text", "text": {"body": "hola"}},
                    {"from": 42, "id": "wamid.B"},
                    {"from": "5214771234567", "id": "wamid.C", "type": "sticker", "sticker": 7}
                ],
                "statuses": [{"id": "wamid.OUT", "status": "delivered", "timestamp": "1", "recipient_id": "1"}, {"id": 5}]
            }}]}]
        });
        let (messages, statuses, skipped) = extract(&payload);
        assert_eq!(messages.len(), 2);
        assert_eq!(
            statuses,
            vec![StatusUpdate {
                wamid: "wamid.OUT".to_owned(),
                status: "delivered".to_owned(),
                detail: None
            }]
        );
        assert_eq!(skipped, 2);
    }

    fn delivery(field: &str, value: serde_json::Value) -> serde_json::Value {
        serde_json::json!({
            "object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": field, "value": value}]}]
        })
    }

    #[test]
    fn a_username_only_user_is_a_sender_answered_at_their_user_id() {
        // Only the contact carries the user id (no `from`, no `from_user_id`).
        let payload = delivery(
            "messages",
            serde_json::json!({
                "contacts": [{"profile": {"name": "N", "username": "@n"}, "user_id": "US.13491208655302741918"}],
                "messages": [{"id": "wamid.A", "timestamp": "1", "type": "text", "text": {"body": "hola"}}]
            }),
        );
        let (messages, _, skipped) = extract(&payload);
        assert_eq!(skipped, 0);
        assert_eq!(messages[0].wa_id, "US.13491208655302741918");
        assert_eq!(
            reply_to(&messages[0].message),
            Some("US.13491208655302741918")
        );
        // `from_user_id` on the message; with a phone too, the phone is the address.
        let both = serde_json::json!({"from": "16315551181", "from_user_id": "US.1", "id": "x"});
        assert_eq!(reply_to(&both), Some("16315551181"));
        let user = serde_json::json!({"from_user_id": "US.1", "from_parent_user_id": "US.ENT.2", "id": "x"});
        assert_eq!(reply_to(&user), Some("US.1"));
        let parent = serde_json::json!({"from_parent_user_id": "US.ENT.2", "id": "x"});
        assert_eq!(reply_to(&parent), Some("US.ENT.2"));
        for bad in ["", "US.", "U.1", "US.1 2", "+521", "US.1/../x"] {
            assert_eq!(
                reply_to(&serde_json::json!({"from_user_id": bad})),
                None,
                "{bad}"
            );
        }
    }

    #[test]
    fn every_status_meta_sends_is_read() {
        let payload = delivery(
            "messages",
            serde_json::json!({"statuses": [
                {"id": "wamid.1", "status": "sent", "timestamp": 1504902988, "recipient_user_id": "US.1",
                 "conversation": {"id": "C", "expiration_timestamp": 1504903988, "origin": {"type": "utility"}},
                 "pricing": {"billable": true, "pricing_model": "PMP", "category": "utility"}},
                {"id": "wamid.2", "status": "played", "timestamp": "1", "recipient_id": "1"},
                {"id": "wamid.3", "status": "failed", "timestamp": "1", "recipient_id": "1",
                 "errors": [{"code": 131047, "title": "Re-engagement message", "error_data": {"details": "x"}}]},
                {"id": "wamid.4", "status": "deleted", "timestamp": "1"},
                {"id": "wamid.5", "status": "RINGING", "timestamp": "1"}
            ]}),
        );
        let (_, statuses, skipped) = extract(&payload);
        assert_eq!(skipped, 0, "none is malformed");
        let got: Vec<(&str, &str, Option<&str>)> = statuses
            .iter()
            .map(|s| (s.wamid.as_str(), s.status.as_str(), s.detail.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("wamid.1", "sent", None),
                ("wamid.2", "played", None),
                (
                    "wamid.3",
                    "failed",
                    Some("window:131047 Re-engagement message")
                ),
                ("wamid.4", "deleted", None),
            ]
        );
    }

    #[test]
    fn notices_that_name_no_addressable_sender_are_ignored_not_malformed() {
        // Meta's system notice for a changed user id has no contacts block and may
        // carry no `from`; a revoke may name a sender Buzón cannot address.
        let payload = delivery(
            "messages",
            serde_json::json!({
                "messages": [
                    {"id": "wamid.S", "timestamp": "1", "type": "system",
                     "system": {"body": "User A changed", "type": "user_changed_user_id"}},
                    {"from": "<hidden>", "id": "wamid.R", "timestamp": "1", "type": "revoke",
                     "revoke": {"original_message_id": "wamid.O"}},
                    {"id": "wamid.E", "timestamp": "1", "type": "reaction",
                     "reaction": {"message_id": "wamid.O"}}
                ]
            }),
        );
        let (messages, statuses, skipped) = extract(&payload);
        assert_eq!((messages.len(), statuses.len(), skipped), (0, 0, 0));
    }

    #[test]
    fn fields_and_types_buzon_does_not_use_are_ignored_not_malformed() {
        let before = crate::metrics::get()
            .wa_ignored
            .get_or_create(&crate::metrics::IgnoredLabels { what: "reaction" })
            .get();
        for field in [
            "account_update",
            "message_template_status_update",
            "calls",
            "whatever",
        ] {
            let (m, s, skipped) = extract(&delivery(field, serde_json::json!({"event": "X"})));
            assert_eq!((m.len(), s.len(), skipped), (0, 0, 0), "{field}");
        }
        let payload = delivery(
            "messages",
            serde_json::json!({
                "errors": [{"code": 131051, "title": "Unsupported message type"}],
                "messages": [
                    {"from": "1", "id": "w1", "type": "reaction", "reaction": {"message_id": "w0", "emoji": "👍"}},
                    {"from": "1", "id": "w2", "type": "system", "system": {"body": "changed"}},
                    {"from": "1", "id": "w3", "type": "edit"},
                    {"from": "1", "id": "w4", "type": "revoke"},
                    {"from": "1", "id": "w5", "type": "unsupported", "errors": [{"code": 131051}]}
                ]
            }),
        );
        let (messages, _, skipped) = extract(&payload);
        assert_eq!(skipped, 0);
        // Unsupported content is the worker speaking: the conversation answers it.
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].wamid, "w5");
        let after = crate::metrics::get()
            .wa_ignored
            .get_or_create(&crate::metrics::IgnoredLabels { what: "reaction" })
            .get();
        assert!(after > before);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn any_json() -> impl Strategy<Value = serde_json::Value> {
            let leaf = prop_oneof![
                Just(serde_json::Value::Null),
                any::<bool>().prop_map(serde_json::Value::from),
                any::<i64>().prop_map(serde_json::Value::from),
                prop::sample::select(vec![
                    "messages",
                    "statuses",
                    "entry",
                    "changes",
                    "value",
                    "from",
                    "id",
                    "5214771234567",
                    "delivered",
                    "text"
                ])
                .prop_map(serde_json::Value::from),
                "\\PC{0,20}".prop_map(serde_json::Value::from),
            ];
            leaf.prop_recursive(5, 64, 6, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                    prop::collection::btree_map(
                        prop::sample::select(vec![
                            "object", "entry", "changes", "field", "value", "messages", "statuses",
                            "from", "id", "status", "type", "text"
                        ])
                        .prop_map(str::to_owned),
                        inner,
                        0..6,
                    )
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            /// Any JSON a signed sender could post: never a panic, and only messages
            /// with a phone or user-id sender and an id are taken.
            #[test]
            fn extraction_takes_only_well_formed_messages(payload in any_json()) {
                let (messages, _, _) = extract(&payload);
                for m in messages {
                    prop_assert!(is_phone_id(&m.wa_id) || is_user_id(&m.wa_id));
                    prop_assert_eq!(reply_to(&m.message), Some(m.wa_id.as_str()));
                    prop_assert!(!m.wamid.is_empty());
                }
            }
        }
    }
}
