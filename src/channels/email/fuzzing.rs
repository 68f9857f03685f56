//! What the fuzz targets (`fuzz/`) run on one raw message (RFC 5322 bytes, as the
//! SMTP listener or the webhook stored it): the summary taken before storing, the
//! worker's parse, its screening (machines, no sender), the case references it
//! threads by, the complaint or follow-up text, the attachments' types, and the
//! acknowledgement built and rendered by lettre. Everything short of the database.
//! Panics when an invariant does not hold.

use super::parse::{self, Envelope};
use super::worker::{self, Outgoing};
use crate::domain::limits;

/// What one message came to.
#[derive(Debug, Default)]
pub struct Worked {
    pub parsed: bool,
    pub held: Option<&'static str>,
    pub refs: usize,
    pub attachments: usize,
    pub acknowledged: bool,
}

/// The headers an acknowledgement may carry; anything else was injected.
const ACK_HEADERS: &[&str] = &[
    "from",
    "to",
    "subject",
    "message-id",
    "auto-submitted",
    "x-auto-response-suppress",
    "content-language",
    "reply-to",
    "in-reply-to",
    "references",
    "content-type",
    "content-transfer-encoding",
    "date",
    "mime-version",
];

fn settings() -> crate::config::EmailSettings {
    let limit = crate::config::Limit {
        per_minute: 1,
        burst: 1,
    };
    crate::config::EmailSettings {
        smtp_addr: None,
        intake_addresses: vec!["quejas@buzon.example".to_owned()],
        webhook_token: None,
        relay_url: None,
        from: None,
        hostname: "buzon.example".to_owned(),
        tls: None,
        max_bytes: 10 << 20,
        attachment_max_bytes: 5 << 20,
        daily_acks: 5,
        authserv_id: None,
        sender_limit: limit,
        ip_limit: limit,
        max_connections: 1,
        max_connections_per_ip: 1,
    }
}

/// One raw message through the e-mail pipeline.
pub fn message(raw: &[u8]) -> Worked {
    let mut worked = Worked::default();
    // Before storing: sender and Message-ID for the dedupe key.
    let _ = parse::summary(raw);
    // Whatever a message says, a null envelope sender's is never answered.
    let null = Envelope {
        mail_from: String::new(),
        rcpt_to: vec!["quejas@buzon.example".to_owned()],
    };
    if let Some(mail) = parse::parse(raw, Some(&null)) {
        assert!(mail.null_sender, "a null sender's mail is answered");
    }
    let Some(mail) = parse::parse(raw, None) else {
        worked.held = Some("unparseable");
        return worked;
    };
    worked.parsed = true;
    assert!(mail.attachments.len() <= parse::MAX_ATTACHMENTS);
    for part in &mail.attachments {
        let _ = worker::accepted_type(&part.mime_type);
        let name = part
            .name
            .as_deref()
            .map(|n| crate::domain::truncate(n, 255));
        assert!(name.is_none_or(|n| n.chars().count() <= 255));
    }
    worked.attachments = mail.attachments.len();
    let settings = settings();
    let refs = parse::case_refs(&mail, &settings.intake_addresses);
    assert!(refs.len() <= 5);
    for r in &refs {
        assert!(r.len() == 11 && r.starts_with("BZ-"), "odd case reference");
    }
    worked.refs = refs.len();
    let from = match worker::screen(&mail) {
        Ok(from) => from,
        Err(worker::Hold(reason)) => {
            worked.held = Some(reason);
            return worked;
        }
    };
    // A follow-up always has a text to store.
    if let Err(e) = worker::follow_up_text(&mail) {
        panic!("a follow-up cannot be stored: {e}");
    }
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 8).unwrap_or_default();
    match worker::mail_complaint(&mail, from, today) {
        Ok((complaint, _cut)) => {
            assert!(complaint.narrative.as_str().chars().count() <= limits::NARRATIVE);
        }
        Err(worker::Hold(reason)) => worked.held = Some(reason),
    }
    let receipt = "7KQM-2X9P-RTAB-3CDE-FGHJ-KMNP";
    let ack = worker::acknowledgement(&settings, &mail, "BZ-7KQM2X9P", Some(receipt), None);
    let Some(ack) = ack else {
        assert!(
            mail.from.is_none(),
            "a message with a sender gets no acknowledgement"
        );
        return worked;
    };
    acknowledge(&ack);
    worked.acknowledged = true;
    worked
}

/// The acknowledgement as the outbox keeps it (JSON) and as lettre renders it: no
/// header a sender put in, one recipient.
fn acknowledge(ack: &Outgoing) {
    let stored = match serde_json::to_value(ack) {
        Ok(v) => v,
        Err(e) => panic!("an acknowledgement does not serialize: {e}"),
    };
    let Ok(ack) = serde_json::from_value::<Outgoing>(stored) else {
        panic!("an acknowledgement does not read back");
    };
    let from: lettre::message::Mailbox = match "Buzón <quejas@buzon.example>".parse() {
        Ok(m) => m,
        Err(e) => panic!("our own address: {e}"),
    };
    // Refused (a recipient lettre cannot write, say): a permanent failure, not a crash.
    let Ok(message) = worker::compose(&from, &ack) else {
        return;
    };
    let bytes = message.formatted();
    let Some(sent) = mail_parser::MessageParser::new().parse_headers(&bytes) else {
        panic!("an acknowledgement does not parse");
    };
    for header in sent.headers() {
        let name = header.name().to_ascii_lowercase();
        assert!(
            ACK_HEADERS.contains(&name.as_str()),
            "an acknowledgement carries a header it should not: {name}"
        );
    }
    let recipients = sent.to().map_or(0, |to| to.iter().count());
    assert_eq!(recipients, 1, "an acknowledgement goes to one address");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seeds of the fuzz target reach the end of the pipeline (the acknowledgement)
    /// or stop where they should.
    #[test]
    fn seeds_reach_the_acknowledgement_or_are_held() {
        let plain = message(include_bytes!(
            "../../../fuzz/corpus/email_mime/plain_es.eml"
        ));
        assert!(plain.acknowledged && plain.held.is_none());
        let reply = message(include_bytes!(
            "../../../fuzz/corpus/email_mime/reply_threaded.eml"
        ));
        assert_eq!(reply.refs, 1);
        let bounce = message(include_bytes!(
            "../../../fuzz/corpus/email_mime/bounce_report.eml"
        ));
        assert_eq!(bounce.held, Some("bounce"));
    }
}
