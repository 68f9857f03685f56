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

/// The blind index of a sender: their WhatsApp id as E.164 (so the `+52 1` form and
/// the `+52` form of a Mexican mobile are one person), under the phone purpose, so it
/// matches the phone a named complainant gave on any channel.
/// The parse is remembered (`BlindIndex::compute_normalized`): a sender's every
/// message needs it, and libphonenumber takes longer than the rest of storing one.
pub fn sender_key(keys: &KeyRing, wa_id: &str) -> Vec<u8> {
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

/// Longest WhatsApp id and message id we accept (real ones are far shorter).
const MAX_WA_ID: usize = 32;
const MAX_WAMID: usize = 512;

/// The messages and statuses of a delivery, read from the JSON tree so that one
/// malformed message (wrong types, unknown shape) never sinks the others.
fn extract(payload: &serde_json::Value) -> (Vec<Incoming>, Vec<(String, String)>, usize) {
    let mut messages = Vec::new();
    let mut statuses = Vec::new();
    let mut skipped = 0;
    let values = payload
        .get("entry")
        .and_then(|e| e.as_array())
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.get("changes").and_then(|c| c.as_array()))
        .flatten()
        .filter(|change| change.get("field").and_then(|f| f.as_str()) == Some("messages"))
        .filter_map(|change| change.get("value"));
    for value in values {
        for m in value
            .get("messages")
            .and_then(|m| m.as_array())
            .into_iter()
            .flatten()
        {
            let from = m.get("from").and_then(|f| f.as_str()).unwrap_or("");
            let id = m.get("id").and_then(|i| i.as_str()).unwrap_or("");
            let from_ok = !from.is_empty()
                && from.len() <= MAX_WA_ID
                && from.chars().all(|c| c.is_ascii_digit());
            if !from_ok || id.is_empty() || id.len() > MAX_WAMID {
                skipped += 1;
                continue;
            }
            messages.push(Incoming {
                wa_id: from.to_owned(),
                wamid: id.to_owned(),
                message: m.clone(),
            });
        }
        for s in value
            .get("statuses")
            .and_then(|s| s.as_array())
            .into_iter()
            .flatten()
        {
            match serde_json::from_value::<whatsapp::models::webhooks::Status>(s.clone()) {
                Ok(status) => {
                    let code = serde_json::to_value(&status.status)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default();
                    statuses.push((status.id, code));
                }
                Err(_) => skipped += 1,
            }
        }
    }
    (messages, statuses, skipped)
}

/// What a delivery holds, once its signature is checked: the messages, the statuses
/// and how many items were skipped as malformed.
pub type Delivery = (Vec<Incoming>, Vec<(String, String)>, usize);

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
    statuses: Vec<(String, String)>,
) -> anyhow::Result<u64> {
    let delivery = Inbound::new(keys, messages, statuses)?;
    let outcome = group.store(delivery.job()?).await?;
    Ok(outcome.iter().filter(|new| **new).count() as u64)
}

/// One webhook delivery, encrypted and ready to store: its messages (in one fixed
/// order) and its delivery statuses.
pub struct Inbound {
    messages: Vec<wa_inbox::ActiveModel>,
    statuses: Vec<(Vec<u8>, String)>,
}

impl Inbound {
    /// Encrypts what a verified delivery carries.
    pub fn new(
        keys: &KeyRing,
        messages: Vec<Incoming>,
        statuses: Vec<(String, String)>,
    ) -> anyhow::Result<Self> {
        let now = Utc::now();
        // Concurrent redeliveries of one payload may list its messages in any order:
        // insert them in one fixed order so their transactions never wait on each
        // other in a cycle. Ids are given in payload order (v7 ids sort by creation),
        // which is the order the worker follows; only the inserts are sorted.
        let mut messages: Vec<(Vec<u8>, Uuid, Incoming)> = messages
            .into_iter()
            .map(|m| (message_key(keys, &m.wamid), Uuid::now_v7(), m))
            .collect();
        messages.sort_by(|a, b| a.0.cmp(&b.0));
        messages.dedup_by(|a, b| a.0 == b.0);
        let mut statuses: Vec<(Vec<u8>, String)> = statuses
            .into_iter()
            .map(|(wamid, status)| (message_key(keys, &wamid), status))
            .collect();
        statuses.sort_by(|a, b| a.0.cmp(&b.0));
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
        Ok(Self { messages, statuses })
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
        if self.statuses.is_empty() {
            return Ok(job);
        }
        let statuses = Arc::new(self.statuses);
        Ok(job.then(Arc::new(move |txn| {
            let statuses = Arc::clone(&statuses);
            Box::pin(async move {
                for (key, status) in statuses.iter() {
                    crate::outbox::record_delivery(txn, key.clone(), status).await?;
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
        // Not a number libphonenumber knows: indexed as given.
        assert_eq!(
            sender_key(&keys, "999"),
            keys.blind_index.compute("phone", "+999")
        );
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
            vec![("wamid.OUT".to_owned(), "delivered".to_owned())]
        );
        assert_eq!(skipped, 2);
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
            /// with a digits-only sender and an id are taken.
            #[test]
            fn extraction_takes_only_well_formed_messages(payload in any_json()) {
                let (messages, _, _) = extract(&payload);
                for m in messages {
                    prop_assert!(!m.wa_id.is_empty() && m.wa_id.chars().all(|c| c.is_ascii_digit()));
                    prop_assert!(!m.wamid.is_empty());
                }
            }
        }
    }
}
