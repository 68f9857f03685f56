//! Buzón: secure intake of labor-rights complaints.
//!
//! See `ARCHITECTURE.md` in the design folder for the shape: channel adapters turn
//! what arrived into an [`domain::IntakeDraft`]; the [`intake`] core validates,
//! encrypts ([`crypto`]) and stores it in one transaction and issues a receipt.

pub mod advocacy;
pub mod app;
pub mod audit;
pub mod cases;
pub mod channels;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod error;
pub mod fault;
pub mod http;
pub mod indicators;
pub mod intake;
pub mod metrics;
pub mod net;
pub mod notify;
pub mod outbox;
pub mod ratelimit;
pub mod rekey;
pub mod retention;
pub mod rights;
pub mod routing;
pub mod staff;
pub mod telemetry;
pub mod triage;

/// Entry points for the fuzz targets in `fuzz/` (not an API): each runs the code
/// the server runs on outside bytes, short of the database, and panics when an
/// invariant does not hold.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::channels::api::fuzzing::body as api_body;
    pub use crate::channels::email::fuzzing::message as email_message;
    pub use crate::channels::whatsapp::fuzzing::delivery as whatsapp_delivery;
    pub use crate::crypto::receipt::Receipt;
    pub use crate::http::web::fuzzing::body as form_body;
}

/// Selects rustls' process-wide crypto back end (ring) before any TLS is used.
pub fn install_crypto_provider() {
    // Err means one is installed already, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The fuzz targets' deep-nesting seeds (issue 30) run through the same entry
/// points in `cargo test`, so a crash they find fails the suite too, not only
/// `tools/fuzz`.
#[cfg(test)]
mod deep_nesting {
    #[test]
    fn deep_nesting_seeds_are_refused_without_a_crash() {
        for raw in [
            &include_bytes!("../fuzz/corpus/email_mime/deep_nesting_plain.eml")[..],
            &include_bytes!("../fuzz/corpus/email_mime/deep_nesting_base64.eml")[..],
            &include_bytes!("../fuzz/corpus/email_mime/deep_multipart.eml")[..],
        ] {
            let worked = crate::fuzzing::email_message(raw);
            assert!(!worked.parsed, "refused before it is parsed");
        }
        crate::fuzzing::api_body(include_bytes!(
            "../fuzz/corpus/intake_json/deep_nesting.json"
        ));
    }
}
