//! Receipts as a worker types them (web form, API, WhatsApp `ESTADO <code>`):
//! `Receipt::parse`, and for every accepted input the round trip
//! parse → display → parse gives the same receipt, in the canonical shape.
#![no_main]

use buzon::fuzzing::Receipt;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(typed) = std::str::from_utf8(data) else {
        return;
    };
    let Some(receipt) = Receipt::parse(typed) else {
        return;
    };
    assert_eq!(receipt.lookup.len(), 7);
    assert_eq!(receipt.secret().len(), 17);
    let shown = receipt.display();
    // Six groups of four from the Crockford alphabet (no I, L, O, U).
    assert_eq!(shown.len(), 29);
    for (i, c) in shown.chars().enumerate() {
        if i % 5 == 4 {
            assert_eq!(c, '-');
        } else {
            assert!(c.is_ascii_digit() || (c.is_ascii_uppercase() && !"ILOU".contains(c)));
        }
    }
    let Some(again) = Receipt::parse(&shown) else {
        panic!("a displayed receipt does not parse");
    };
    assert_eq!(again.lookup, receipt.lookup);
    assert_eq!(again.secret(), receipt.secret());
    assert_eq!(*again.display(), *shown);
    // What a worker might type instead: lower case, spaces, O/I/L for 0/1/1.
    let sloppy = shown
        .to_lowercase()
        .replace('-', " ")
        .replace('0', "o")
        .replace('1', "l");
    let Some(sloppy) = Receipt::parse(&sloppy) else {
        panic!("a sloppily typed receipt does not parse");
    };
    assert_eq!(sloppy.lookup, receipt.lookup);
    assert_eq!(sloppy.secret(), receipt.secret());
});
