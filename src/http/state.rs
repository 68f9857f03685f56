//! What every handler shares: the services, settings and channel clients.

use crate::channels::Shared;
use crate::channels::email::Email;
use crate::channels::whatsapp::WhatsApp;
use crate::config::Settings;
use crate::crypto::KeyRing;
use crate::intake::Intake;
use crate::notify::Notifier;
use crate::ratelimit::Limiters;
use crate::routing::{Directory, Rules};
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub intake: Intake,
    pub rules: Arc<Rules>,
    pub directory: Arc<Directory>,
    pub keys: Arc<KeyRing>,
    pub settings: Arc<Settings>,
    pub limiters: Arc<Limiters>,
    /// `None` while the WhatsApp channel is not configured.
    pub whatsapp: Option<Arc<WhatsApp>>,
    /// `None` while the e-mail channel is not configured.
    pub email: Option<Arc<Email>>,
    /// The configured channels that can reach a complainant.
    pub notifier: Notifier,
    /// Where the webhooks' deliveries are committed together (`db::group`).
    pub deliveries: crate::db::group::GroupCommit,
    /// The program indicators' facts, shared by the page and the exports.
    pub indicators: Arc<crate::indicators::Cache>,
}

impl AppState {
    /// What the channels' workers need of it.
    pub fn channels(&self) -> Shared {
        Shared {
            intake: self.intake.clone(),
            directory: Arc::clone(&self.directory),
            keys: Arc::clone(&self.keys),
            settings: Arc::clone(&self.settings),
            deliveries: self.deliveries.clone(),
        }
    }
}
