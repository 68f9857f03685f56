//! A fault tests inject on purpose: with `BUZON_TEST_ABORT_ON` set (16 characters
//! at least), working a stored inbox message (e-mail or WhatsApp) whose decrypted
//! bytes contain that marker aborts the process (SIGABRT, as the stack overflow of
//! issue 30 did), so a test can prove such a message is set aside after
//! `outbox::MAX_OPEN_CLAIMS` claims instead of killing every restart. Unset (always,
//! outside tests) it does nothing; the server warns at start when it is set.

use std::sync::OnceLock;

/// The environment variable holding the marker.
pub const TEST_ABORT_ON: &str = "BUZON_TEST_ABORT_ON";

fn marker() -> Option<&'static [u8]> {
    static MARKER: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    MARKER
        .get_or_init(|| {
            std::env::var(TEST_ABORT_ON)
                .ok()
                .filter(|m| m.len() >= 16)
                .map(String::into_bytes)
        })
        .as_deref()
}

/// Whether the fault is armed (the server warns at start).
pub fn is_armed() -> bool {
    marker().is_some()
}

/// Aborts the process if the fault is armed and `bytes` carry its marker.
pub fn abort_if_marked(bytes: &[u8]) {
    if let Some(m) = marker()
        && bytes.windows(m.len()).any(|w| w == m)
    {
        std::process::abort();
    }
}
