//! A form body (`application/x-www-form-urlencoded`) through `POST /complaints`
//! (decoded, validated, the form rendered again with its errors) and the receipt
//! forms; nothing typed comes back unescaped.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    buzon::fuzzing::form_body(body);
});
