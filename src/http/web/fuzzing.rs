//! What the fuzz targets (`fuzz/`) run on a form body
//! (`application/x-www-form-urlencoded`): the strict decoding, then what
//! `POST /complaints` does short of storing (the answers validated, the form shown
//! again with its errors) and what the receipt forms (`POST /status`,
//! `POST /status/messages`) do with the typed receipt and message. Panics when an
//! invariant does not hold.

use super::*;

/// Text a fuzzer may put in a field to see whether it comes back unescaped.
const MARKER: &str = "<fuzz";

/// One form body through the web form's handlers.
pub fn body(bytes: &[u8]) {
    let (fields, lang) = match parse_fields(bytes, Language::Es) {
        Ok(parsed) => parsed,
        Err(code) => {
            let page = error_page(code, Language::Es, None);
            assert!(page.status().is_client_error());
            return;
        }
    };
    let values = form_values(&fields);
    match check_form(&values, lang, crate::clock::today()) {
        Ok(complaint) => {
            assert!(!complaint.violations.is_empty());
            assert!(complaint.narrative.as_str().chars().count() <= limits::NARRATIVE);
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "refused without a reason");
            let page = refill(lang, "token".to_owned(), values, &errors);
            let html = match page.render() {
                Ok(html) => html,
                Err(e) => panic!("the form does not render: {e}"),
            };
            assert!(
                !html.contains(MARKER),
                "the form shows typed text unescaped"
            );
        }
    }
    // The receipt forms.
    let typed = typed_receipt(&fields);
    assert!(typed.chars().count() <= limits::RECEIPT_INPUT);
    if let Ok((shown, receipt)) = form_receipt(&fields, true) {
        assert_eq!(shown, typed);
        assert_eq!(receipt.lookup.len(), crate::crypto::receipt::LOOKUP_LEN);
    }
    let mut page = StatusPage::new(lang, "token".to_owned());
    page.receipt = typed;
    page.message = fields.owned("message").unwrap_or_default();
    if let Err(code) = Text::parse(&page.message, limits::MESSAGE) {
        page.message_error = Some(Notice::of(code, lang));
    }
    let html = match page.render() {
        Ok(html) => html,
        Err(e) => panic!("the status page does not render: {e}"),
    };
    assert!(
        !html.contains(MARKER),
        "the status page shows typed text unescaped"
    );
}
