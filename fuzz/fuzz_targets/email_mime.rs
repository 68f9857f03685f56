//! One raw e-mail (RFC 5322 / MIME bytes, as the SMTP listener or
//! `POST /webhooks/email` stores it) through the inbox worker's pipeline: parse,
//! screening, threading references, complaint or follow-up text, attachments, and
//! the acknowledgement lettre renders.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &[u8]| {
    let _ = buzon::fuzzing::email_message(raw);
});
