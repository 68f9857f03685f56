//! Envelope addresses are taken as written (issue 30, finding 11): smtp-proto
//! drops a bare CR inside an address and the quotes around a local part, so
//! `<a\rb@x>` read as `ab@x`, and `<"quejas+@evil.test"@buzon.test>` as
//! `quejas+@evil.test@buzon.test`, taken for a +tag form of the intake address.
//! (`<"quejas@buzon.test"@evil.test>`, the assessment's example, was refused
//! already: its last `@` is evil.test's.)

use super::*;

#[tokio::test]
async fn smtp_envelope_addresses_are_read_as_written() {
    let mail = start(Backend::Sqlite, &[]).await;
    let r = mail
        .dialog(&[
            "EHLO client.test",
            "MAIL FROM:<a\rb@ejemplo.mx>",
            "MAIL FROM:<a@ejemplo.mx\r>",
            "MAIL FROM:<a@ejemplo.mx>",
            "RCPT TO:<quejas\r@buzon.test>",
            "RCPT TO:<\"quejas@buzon.test\"@evil.test>",
            "RCPT TO:<\"quejas+bz-x@buzon.test\"@evil.test>",
            "RCPT TO:<\"quejas+@evil.test\"@buzon.test>",
            "RCPT TO:<quejas@buzon.test>",
            "RSET",
            // A bare LF ends the line: the address is broken, and its tail is no
            // command (two replies; the second is read for QUIT).
            "MAIL FROM:<a\nb@ejemplo.mx>",
            "QUIT",
        ])
        .await;
    assert!(r[1].starts_with("250"), "{r:?}");
    assert!(r[2].starts_with("501 5.1.7"), "bare CR in MAIL: {}", r[2]);
    assert!(r[3].starts_with("501 5.1.7"), "bare CR in MAIL: {}", r[3]);
    assert!(r[4].starts_with("250"), "{}", r[4]);
    assert!(r[5].starts_with("501 5.1.3"), "bare CR in RCPT: {}", r[5]);
    assert!(
        r[6].starts_with("550 5.1.1"),
        "a quoted local part holding our address is evil.test's: {}",
        r[6]
    );
    assert!(r[7].starts_with("550 5.1.1"), "{}", r[7]);
    assert!(
        r[8].starts_with("550 5.1.1"),
        "an @ in a quoted local part is no +tag of ours: {}",
        r[8]
    );
    assert!(r[9].starts_with("250"), "the intake address still: {r:?}");
    assert!(r[10].starts_with("250"), "{}", r[10]);
    assert!(r[11].starts_with("501"), "bare LF in MAIL: {}", r[11]);
    assert!(r[12].starts_with("500"), "its tail: {}", r[12]);
}
