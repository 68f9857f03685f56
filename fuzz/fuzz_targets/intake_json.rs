//! A JSON API body read as every request the API takes: a worker's complaint, an
//! advocate's filing, a routing dry run (routed with the built-in rules), a status
//! look-up and a follow-up message; refusals must be 4xx JSON errors.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    buzon::fuzzing::api_body(body);
});
