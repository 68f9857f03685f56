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
use std::ops::Deref;
use std::sync::Arc;

/// The services behind one handle: axum clones the state for every request and
/// every `from_fn_with_state` layer, so a clone is one reference count, not one per
/// service (that was about 2.5% of a webhook delivery's CPU).
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl From<Services> for AppState {
    fn from(services: Services) -> Self {
        Self(Arc::new(services))
    }
}

impl Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

pub struct Services {
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

impl Services {
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
