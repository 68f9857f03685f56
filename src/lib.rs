//! Buzón: secure intake of labor-rights complaints.
//!
//! See `ARCHITECTURE.md` in the design folder for the shape: channel adapters turn
//! what arrived into an [`domain::IntakeDraft`]; the [`intake`] core validates,
//! encrypts ([`crypto`]) and stores it in one transaction and issues a receipt.

pub mod advocacy;
pub mod app;
pub mod audit;
pub mod channels;
pub mod config;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod error;
pub mod intake;
pub mod metrics;
pub mod outbox;
pub mod ratelimit;
pub mod rekey;
pub mod retention;
pub mod routing;
pub mod telemetry;
pub mod triage;

/// Selects rustls' process-wide crypto back end (ring) before any TLS is used.
pub fn install_crypto_provider() {
    // Err means one is installed already, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
