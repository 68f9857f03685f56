//! `POST /webhooks/whatsapp` and the inbox worker: a delivery body signed with the
//! app secret (so the fuzzer gets past the signature), every message worked through
//! the guided conversation. An unsigned or wrongly signed body must be refused.
#![no_main]

use hmac::{Hmac, KeyInit, Mac};
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "fuzz-app-secret";

fuzz_target!(|body: &[u8]| {
    let today = chrono::Utc::now().date_naive();
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()) else {
        return;
    };
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let signature = format!("sha256={hex}");
    assert!(buzon::fuzzing::whatsapp_delivery(None, body, SECRET, today).is_err());
    assert!(buzon::fuzzing::whatsapp_delivery(Some(&signature), body, "other", today).is_err());
    let _ = buzon::fuzzing::whatsapp_delivery(Some(&signature), body, SECRET, today);
});
