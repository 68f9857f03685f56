//! The e-mail channel. Two doors, one pipeline:
//! - an SMTP listener (`smtp.rs`) for the configured intake addresses only, and
//! - `POST /webhooks/email`, a raw RFC 5322 message from an inbound-mail provider,
//!   authenticated by a bearer token.
//!
//! Both commit the raw message, encrypted, to `email_inbox` before saying yes (the
//! final `250` of DATA, the webhook's `200`); the same message delivered twice (same
//! sender and Message-ID) is stored once. A worker (`worker/`) then turns each
//! stored message into a new case, a follow-up on an existing case (threaded by our
//! Message-IDs, the `[Buzón BZ-…]` subject tag or a `+BZ-…` plus-address from the
//! case's own contact), or an item held for a human (unparseable, robots:
//! `robots.rs`, spam: `trust.rs`). Acknowledgements leave through the outbox
//! (lettre), never to a robot and never to a sender whose SPF/DKIM/DMARC failed at
//! the relay (`trust.rs`). A new complaint may ask to wait (`deferral.rs`).
//!
//! Privacy: addresses, subjects and bodies are only stored encrypted; senders and
//! Message-IDs only as blind indexes. Logs carry ids and outcomes, never content.

pub mod deferral;
#[doc(hidden)]
pub mod fuzzing;
pub mod mime_limits;
pub mod notify;
pub mod parse;
pub mod robots;
pub mod smtp;
pub mod suggest;
pub mod trust;
pub mod worker;

use crate::config::EmailSettings;
use crate::crypto::{Aad, KeyRing};
use crate::db::group::{Job, Row};
use crate::ratelimit::redis::Shared;
use crate::ratelimit::{Keyed, Scope};
use anyhow::Context;
use chrono::Utc;
use entity::email_inbox;
use sea_orm::ActiveValue::Set;
use std::sync::Arc;
use tokio::sync::Notify;
use uuid::Uuid;

pub const CHANNEL: &str = "email";

/// Inbox row states.
pub const PENDING: &str = "pending";
pub const DONE: &str = "done";
/// Kept, encrypted, for a person to look at.
pub const HELD: &str = "held";

/// The running channel: settings, the workers' wake-up calls and the SMTP limits.
pub struct Email {
    pub settings: EmailSettings,
    pub inbox_notify: Arc<Notify>,
    pub outbox_notify: Arc<Notify>,
    sender_limiter: Keyed<Vec<u8>>,
    ip_limiter: Keyed<std::net::IpAddr>,
}

impl Email {
    /// `shared`: the Redis store of rate limits, when configured.
    pub fn new(settings: EmailSettings, shared: Option<Arc<Shared>>) -> Self {
        Self {
            sender_limiter: Keyed::new(
                Scope::SmtpSender,
                crate::ratelimit::quota(settings.sender_limit),
                shared.clone(),
            ),
            ip_limiter: Keyed::new(
                Scope::SmtpIp,
                crate::ratelimit::quota(settings.ip_limit),
                shared,
            ),
            settings,
            inbox_notify: Arc::new(Notify::new()),
            outbox_notify: Arc::new(Notify::new()),
        }
    }

    /// One more message from this sender (blind index); false when over the limit
    /// (never for want of Redis: the in-memory limit stands in).
    pub async fn sender_allowed(&self, sender: &[u8]) -> bool {
        self.sender_limiter
            .check_open(&sender.to_vec())
            .await
            .is_ok()
    }

    /// One more message from this client address; false when over the limit.
    pub async fn ip_allowed(&self, ip: std::net::IpAddr) -> bool {
        self.ip_limiter
            .check_open(&crate::ratelimit::client_key(ip))
            .await
            .is_ok()
    }

    pub fn forget_idle(&self) {
        self.sender_limiter.forget_idle();
        self.ip_limiter.forget_idle();
    }

    /// True when `address` (any case) is one of ours, or a `+tag` form of one.
    /// One `@` only: smtp-proto hands over `<"quejas@buzon.test"@evil.test>` with
    /// its quotes taken off, as `quejas@buzon.test@evil.test`, a mailbox at
    /// evil.test whose local part merely looks like ours.
    pub fn is_intake_address(&self, address: &str) -> bool {
        let address = address.trim().to_lowercase();
        if address.matches('@').count() != 1 || address.chars().any(char::is_control) {
            return false;
        }
        let base = parse::plus_tag(&address).map_or(address, |(base, _)| base);
        self.settings.intake_addresses.contains(&base)
    }
}

/// The blind index of a sender address (lower-cased), under the e-mail purpose, so
/// it matches the e-mail a complainant gave on any channel.
/// The intake address with the case in it (`quejas+bz-7kqm2x9p@…`): mail sent to it
/// threads onto the case even when the subject is changed.
pub fn case_address(settings: &EmailSettings, case_ref: &str) -> Option<String> {
    settings
        .intake_addresses
        .first()
        .and_then(|a| a.rsplit_once('@'))
        .map(|(local, domain)| format!("{local}+{}@{domain}", case_ref.to_lowercase()))
}

/// A subject carrying the case tag that threads replies (`[Buzón BZ-…] text`).
pub fn case_subject(case_ref: &str, text: &str) -> String {
    format!("[Buzón {case_ref}] {text}")
}

pub fn sender_key(keys: &KeyRing, address: &str) -> Vec<u8> {
    keys.blind_index
        .compute("email", &address.trim().to_lowercase())
}

/// The blind index of a Message-ID (they often embed a host or user name).
pub fn message_id_key(keys: &KeyRing, message_id: &str) -> Vec<u8> {
    keys.blind_index.compute(
        "email_message_id",
        message_id.trim().trim_matches(['<', '>']),
    )
}

pub fn inbox_aad(id: Uuid, column: &'static str) -> Aad<'static> {
    Aad {
        table: "email_inbox",
        column,
        row: id,
    }
}

/// What storing a message came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    New(Uuid),
    /// Seen before (same sender and Message-ID, or the same bytes): nothing stored.
    Duplicate,
}

/// Commits one raw message, encrypted, to the inbox (with the deliveries arriving
/// alongside it: `db::group`), answering once committed. The dedupe key is the sender
/// with the Message-ID (so nobody can shadow another sender's message by reusing
/// its id); without a Message-ID, the SHA-256 of the bytes.
pub async fn store(
    group: &crate::db::group::GroupCommit,
    keys: &KeyRing,
    source: &str,
    raw: &[u8],
    envelope: Option<&parse::Envelope>,
) -> anyhow::Result<Stored> {
    let (from, message_id) = parse::summary(raw);
    let from = from.or_else(|| {
        envelope
            .map(|e| e.mail_from.to_lowercase())
            .filter(|a| !a.is_empty())
    });
    let message_key = match &message_id {
        Some(id) => keys.blind_index.compute(
            "email_inbox",
            &format!("{}\n{}", from.as_deref().unwrap_or(""), id),
        ),
        None => keys
            .blind_index
            .compute("email_inbox_raw", &crate::crypto::sha256_hex(raw)),
    };
    let id = Uuid::now_v7();
    let now = Utc::now();
    let raw_ct = keys
        .cipher
        .encrypt(inbox_aad(id, "raw_ct"), raw)
        .context("cannot encrypt message")?;
    let envelope_ct = envelope
        .map(|e| -> anyhow::Result<Vec<u8>> {
            let json = serde_json::to_vec(e).context("cannot serialize envelope")?;
            keys.cipher
                .encrypt(inbox_aad(id, "envelope_ct"), &json)
                .context("cannot encrypt envelope")
        })
        .transpose()?;
    let row = email_inbox::ActiveModel {
        id: Set(id),
        message_key: Set(message_key.clone()),
        // Without a sender, each message is its own queue (one bad one blocks none).
        sender_bidx: Set(from
            .as_deref()
            .map_or_else(|| message_key.clone(), |a| sender_key(keys, a))),
        source: Set(source.to_owned()),
        raw_ct: Set(raw_ct),
        envelope_ct: Set(envelope_ct),
        state: Set(PENDING.to_owned()),
        outcome: Set(None),
        case_id: Set(None),
        attempts: Set(0),
        next_attempt_at: Set(now),
        locked_until: Set(None),
        open_claims: Set(0),
        received_at: Set(now),
        acked_at: Set(None),
    };
    let job = Job::rows(vec![Row::of(&row, email_inbox::Column::MessageKey)?]);
    let outcome = group.store(job).await?;
    Ok(if outcome.first() == Some(&true) {
        Stored::New(id)
    } else {
        Stored::Duplicate
    })
}
