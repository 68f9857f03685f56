//! Channel adapters: each turns its wire format into an [`crate::domain::IntakeDraft`]
//! for the intake and the intake's answer back into its wire format (a page's
//! fields, a JSON body, a WhatsApp conversation, an e-mail). A channel knows the
//! intake and the services below it, never the consoles or the HTTP layer; the
//! e-mail and WhatsApp channels also implement the complainant-notification port
//! ([`crate::notify`]).

pub mod api;
pub mod email;
pub mod web;
pub mod whatsapp;

use crate::config::Settings;
use crate::crypto::KeyRing;
use crate::intake::Intake;
use crate::routing::Directory;
use std::sync::Arc;

/// What the channels' background workers share: the intake they file into, the
/// authorities' directory (replies name them), the keys, the settings, and the
/// deliveries' group commit (which they yield to).
#[derive(Clone)]
pub struct Shared {
    pub intake: Intake,
    pub directory: Arc<Directory>,
    pub keys: Arc<KeyRing>,
    pub settings: Arc<Settings>,
    pub deliveries: crate::db::group::GroupCommit,
}
