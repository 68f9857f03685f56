//! Mail a machine sent, recognised the way mail software does, so that it never
//! becomes a case and is never answered (an answer to a robot is a mail loop, an
//! answer to a bounce or to spam is backscatter to whoever was forged):
//!
//! - delivery reports: `multipart/report; report-type=delivery-status` (RFC 3464)
//!   or `global-delivery-status` (RFC 6533), the null sender `<>`, and old-style
//!   bounces from `MAILER-DAEMON` / `postmaster` or with a bounce subject;
//! - abuse reports: `report-type=feedback-report` (ARF, RFC 5965);
//! - challenge-response systems (Boxbe, TMDA, SpamArrest, ...): "prove you are a
//!   person" mail that must never be answered;
//! - automatic replies: `Auto-Submitted` other than `no` (RFC 3834),
//!   `X-Auto-Response-Suppress`, the `X-Autoreply` family, read receipts
//!   (`report-type=disposition-notification`, RFC 8098), and out-of-office subjects
//!   in Spanish, English, German, French, Portuguese, Italian, Dutch, Latvian,
//!   Polish and the Nordic languages (Lotus "AUTO: … is out of the office",
//!   "Automatic reply:", "Respuesta automática", "Fuera de la oficina", ...);
//! - senders that take no answer: `noreply`, `no-reply`, `donotreply`,
//!   `do-not-reply`, `*-noreply`, `gmail-noreply`;
//! - bulk and list mail: `Precedence: bulk / junk / list`, any `List-*` header
//!   of RFC 2369/2919 (`List-Id`, `List-Unsubscribe`, `List-Subscribe`, …).
//!
//! The report parts are read with mail-parser's own MIME tree (its `ContentType`
//! gives `report-type`), so no report-parsing crate is needed: whether a message is
//! a report is all Buzón asks, never what it reports. Pure: no I/O.

use mail_parser::{Message, MimeHeaders};

/// What a machine sent instead of a person: kept for a human, never answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Automatic {
    /// A delivery report (RFC 3464/6533), the null sender, MAILER-DAEMON.
    Bounce,
    /// An abuse (feedback) report, ARF (RFC 5965).
    AbuseReport,
    /// A challenge-response system asking to prove the sender is a person.
    Challenge,
    /// `Auto-Submitted`, out-of-office and other autoresponders, read receipts.
    AutoReply,
    /// A sender address that takes no answer (`noreply@…`).
    NoReply,
    /// Bulk and mailing-list mail (`Precedence`, `List-*`).
    Bulk,
    /// A spam verdict a relay wrote into the headers (see `trust`).
    Spam,
}

impl Automatic {
    /// The reason an inbox row is held with.
    pub fn code(self) -> &'static str {
        match self {
            Self::Bounce => "bounce",
            Self::AbuseReport => "abuse_report",
            Self::Challenge => "challenge_response",
            Self::AutoReply => "auto_reply",
            Self::NoReply => "no_reply",
            Self::Bulk => "bulk",
            Self::Spam => "spam",
        }
    }
}

fn header_text<'a>(msg: &'a Message<'_>, name: &'a str) -> Option<&'a str> {
    msg.header(name).and_then(|v| v.as_text()).map(str::trim)
}

/// Which robot sent `msg`, if one did. `from`: the author's address (From, else
/// Sender), lower-cased. A message with no author address or a null envelope
/// sender is no robot's by that alone (a carrier's picture message has a phone
/// number for a From): it is a bounce when it carries a report, comes from a
/// daemon or says so in its subject. (A null sender is never answered: see
/// `Mail::null_sender`.)
pub fn classify(msg: &Message<'_>, from: Option<&str>, subject: &str) -> Option<Automatic> {
    let local = from.map(local_part).unwrap_or_default();
    let domain = from
        .and_then(|a| a.rsplit_once('@').map(|(_, d)| d))
        .unwrap_or("")
        .to_ascii_lowercase();
    let subject = subject.to_lowercase();
    if is_challenge(msg, &domain, &subject) {
        return Some(Automatic::Challenge);
    }
    if let Some(kind) = report(msg) {
        return Some(kind);
    }
    if is_bounce_sender(&local) || is_bounce_subject(&subject) {
        return Some(Automatic::Bounce);
    }
    if is_auto_reply(msg) || is_out_of_office(&subject) {
        return Some(Automatic::AutoReply);
    }
    if is_no_reply(&local) {
        return Some(Automatic::NoReply);
    }
    let bulk = header_text(msg, "Precedence").is_some_and(|v| {
        ["bulk", "list", "junk"]
            .iter()
            .any(|p| v.eq_ignore_ascii_case(p))
    });
    // Any RFC 2369/2919 list header: list software's own notices ("you are not a
    // member") often carry only `List-Subscribe` or `List-Help`.
    let list = [
        "List-Id",
        "List-Unsubscribe",
        "List-Post",
        "List-Subscribe",
        "List-Help",
        "List-Owner",
        "List-Archive",
    ]
    .iter()
    .any(|h| msg.header_raw(*h).is_some());
    (bulk || list).then_some(Automatic::Bulk)
}

/// A `multipart/report` by its `report-type`, or a message carrying a report part
/// (`message/delivery-status`, `message/feedback-report`) however it is wrapped.
fn report(msg: &Message<'_>) -> Option<Automatic> {
    let by_type = |report_type: &str| match report_type.to_ascii_lowercase().as_str() {
        "feedback-report" => Automatic::AbuseReport,
        "disposition-notification" => Automatic::AutoReply,
        // delivery-status, global-delivery-status and any other report.
        _ => Automatic::Bounce,
    };
    if let Some(ct) = msg.content_type()
        && ct.ctype().eq_ignore_ascii_case("multipart")
        && ct
            .subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("report"))
    {
        return Some(by_type(ct.attribute("report-type").unwrap_or("")));
    }
    msg.parts.iter().find_map(|part| {
        let ct = part.content_type()?;
        if !ct.ctype().eq_ignore_ascii_case("message") {
            return None;
        }
        match ct.subtype()?.to_ascii_lowercase().as_str() {
            "delivery-status" | "global-delivery-status" => Some(Automatic::Bounce),
            "feedback-report" => Some(Automatic::AbuseReport),
            "disposition-notification" | "global-disposition-notification" => {
                Some(Automatic::AutoReply)
            }
            _ => None,
        }
    })
}

/// An address nobody reads answers at: a daemon's or a no-reply one.
pub fn takes_no_answer(address: &str) -> bool {
    let local = local_part(address);
    is_bounce_sender(&local) || is_no_reply(&local)
}

/// An address's local part, lower-cased, without its `+tag`.
fn local_part(address: &str) -> String {
    let local = address.rsplit_once('@').map_or(address, |(l, _)| l);
    local.split('+').next().unwrap_or("").to_ascii_lowercase()
}

fn is_bounce_sender(local: &str) -> bool {
    matches!(
        local,
        "mailer-daemon" | "mailer_daemon" | "mailerdaemon" | "postmaster" | "post_master"
    )
}

/// Subjects bounce generators write (Postfix, Sendmail, Exim, qmail, Exchange,
/// Gmail, Notes), at the start of the subject.
fn is_bounce_subject(subject: &str) -> bool {
    const STARTS: &[&str] = &[
        "undelivered mail returned to sender",
        // "Undeliverable:", "Undeliverable mail", "Undeliverable Message" (MMSC).
        "undeliverable",
        "returned mail:",
        "mail delivery failed",
        "mail delivery failure",
        "mail delivery subsystem",
        "delivery status notification",
        "delivery failure",
        "delivery has failed",
        "failure notice",
        "delivery notification: delivery has failed",
        "message delivery failure",
        "non remis",
        "no se puede entregar:",
        "notificación de estado de entrega",
        "unzustellbar:",
    ];
    STARTS.iter().any(|s| subject.starts_with(s))
}

/// Challenge-response systems: their own headers or their senders' domains, and the
/// subjects they write.
fn is_challenge(msg: &Message<'_>, domain: &str, subject: &str) -> bool {
    const DOMAINS: &[&str] = &[
        "boxbe.com",
        "spamarrest.com",
        "mailblocks.com",
        "sendio.com",
        "ask.choicemail.com",
        "bluebottle.com",
        "qurb.com",
    ];
    let tmda = header_text(msg, "X-Delivery-Agent").is_some_and(|v| v.contains("TMDA"));
    let own_header = msg.headers().iter().any(|h| {
        let name = h.name().to_ascii_lowercase();
        name.starts_with("x-boxbe") || name == "x-challenge" || name == "x-spamarrest"
    });
    let domain_known = DOMAINS
        .iter()
        .any(|d| domain == *d || domain.ends_with(&format!(".{d}")));
    let subject_known = [
        "please confirm your message",
        "please verify your email",
        "verify your e-mail to",
        "sender verification request",
        "approval request",
    ]
    .iter()
    .any(|s| subject.contains(s));
    tmda || own_header || domain_known || (subject_known && msg.header_raw("In-Reply-To").is_some())
}

/// RFC 3834 and the headers autoresponders write besides it.
fn is_auto_reply(msg: &Message<'_>) -> bool {
    let auto_submitted =
        header_text(msg, "Auto-Submitted").is_some_and(|v| !v.eq_ignore_ascii_case("no"));
    let suppress = header_text(msg, "X-Auto-Response-Suppress").is_some_and(|v| {
        let v = v.to_ascii_lowercase();
        v.contains("all") || v.contains("autoreply") || v.contains("oof")
    });
    let precedence = header_text(msg, "X-Precedence")
        .or_else(|| header_text(msg, "Precedence"))
        .is_some_and(|v| v.eq_ignore_ascii_case("auto_reply"));
    let named = [
        "X-Autoreply",
        "X-Autorespond",
        "X-Autogenerated",
        "X-AutoReply-From",
        "X-Mail-Autoreply",
        "X-FC-MachineGenerated",
    ]
    .iter()
    .any(|h| msg.header_raw(*h).is_some());
    let message_class = header_text(msg, "X-POST-MessageClass")
        .is_some_and(|v| v.to_ascii_lowercase().contains("autoresponder"));
    auto_submitted || suppress || precedence || named || message_class
}

/// Out-of-office and auto-acknowledgement subjects (lower-cased). Phrases a worker
/// would not write about their job: "ausencia" alone is a complaint's word, "fuera
/// de la oficina" is not.
fn is_out_of_office(subject: &str) -> bool {
    // Lotus Notes: "AUTO: Smith, John is out of the office (returning …)".
    if subject.starts_with("auto:") {
        return true;
    }
    const PHRASES: &[&str] = &[
        // English
        "out of office",
        "out of the office",
        "auto reply",
        "auto-reply",
        "autoreply",
        "auto response",
        "auto-response",
        "autoresponse",
        "autorespons",
        "automatic reply",
        "automatic response",
        "automated response",
        "away from my desk",
        // Spanish
        "respuesta automática",
        "respuesta automatica",
        "fuera de la oficina",
        "fuera de oficina",
        "mensaje automático",
        "respuesta de ausencia",
        // German
        "abwesenheitsnotiz",
        "automatische antwort",
        "abwesenheit:",
        // French
        "réponse automatique",
        "reponse automatique",
        "absent du bureau",
        "absence du bureau",
        "message d'absence",
        // Portuguese
        "resposta automática",
        "resposta automatica",
        "fora do escritório",
        "ausência temporária",
        // Italian
        "risposta automatica",
        "fuori sede",
        "fuori ufficio",
        // Dutch
        "automatisch antwoord",
        "afwezigheidsbericht",
        "niet aanwezig",
        // Latvian
        "automātiskā atbilde",
        "automatiska atbilde",
        "ārpus biroja",
        "arpus biroja",
        "atvaļinājums",
        "atvalinajums",
        // Polish
        "automatyczna odpowiedź",
        "automatyczna odpowiedz",
        // Nordic
        "autosvar",
        "automatisk svar",
        "frånvaromeddelande",
        "fraværsmelding",
        "automaattinen vastaus",
    ];
    PHRASES.iter().any(|p| subject.contains(p))
}

/// Local parts that take no answer (the `+tag` already cut off).
fn is_no_reply(local: &str) -> bool {
    const EXACT: &[&str] = &[
        "noreply",
        "no-reply",
        "no_reply",
        "donotreply",
        "do-not-reply",
        "do_not_reply",
        "dontreply",
        "gmail-noreply",
        "bounce",
        "bounces",
    ];
    EXACT.contains(&local)
        || [
            "-noreply",
            "_noreply",
            ".noreply",
            "-no-reply",
            "-donotreply",
        ]
        .iter()
        .any(|s| local.ends_with(s))
        || [
            "noreply-",
            "noreply.",
            "no-reply-",
            "no-reply.",
            "donotreply-",
            "bounce-",
            "bounces-",
        ]
        .iter()
        .any(|s| local.starts_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::MessageParser;

    fn kind(raw: &str) -> Option<Automatic> {
        let msg = MessageParser::new().parse(raw.as_bytes()).expect("parsed");
        let from = msg
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .map(str::to_lowercase);
        classify(&msg, from.as_deref(), msg.subject().unwrap_or(""))
    }

    const PERSON: &str = "From: Rosa <rosa.maria@example.org>\r\nTo: quejas@buzon.test\r\n";

    #[test]
    fn delivery_reports_rfc_3464_and_6533() {
        for report_type in [
            "delivery-status",
            "global-delivery-status",
            "Delivery-Status",
        ] {
            let raw = format!(
                "From: Mail Delivery System <mta@mx.example.net>\r\nSubject: Hola\r\n\
                 Content-Type: multipart/report; report-type={report_type};\r\n\tboundary=\"b1\"\r\n\r\n\
                 --b1\r\nContent-Type: text/plain\r\n\r\nThis is the mail system.\r\n\
                 --b1\r\nContent-Type: message/{report_type}\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n\
                 Final-Recipient: rfc822; x@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--b1--\r\n"
            );
            assert_eq!(kind(&raw), Some(Automatic::Bounce), "{report_type}");
        }
    }

    #[test]
    fn old_style_bounces() {
        let cases = [
            "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\nSubject: Hola\r\n\r\nx",
            "From: postmaster@example.net\r\nSubject: Hola\r\n\r\nx",
            "From: post_master@example.net\r\nSubject: Hola\r\n\r\nx",
            "From: Mail Delivery Subsystem <mds@example.net>\r\nSubject: Undelivered Mail Returned to Sender\r\n\r\nx",
            "From: mta@example.net\r\nSubject: failure notice\r\n\r\nHi. This is the qmail-send program",
            "From: MMSC NDR Administrator <sysadmin@mms.example.net>\r\nReturn-Path: <>\r\n\
             Subject: Undeliverable Message\r\n\r\nMessage could not be delivered to mobile.",
        ];
        for raw in cases {
            assert_eq!(kind(raw), Some(Automatic::Bounce), "{raw}");
        }
    }

    /// A carrier's picture message: the phone number (no address) for a From, the
    /// gateway's MAILER-DAEMON for a Return-Path, no report part. No robot's (the
    /// whole message: `worker::complaint`'s tests).
    #[test]
    fn a_sender_without_an_address_is_no_bounce_by_that_alone() {
        let raw = "Return-Path: <MAILER-DAEMON@mms.carrier.example>\r\n\
                   From: +525512345678/TYPE=PLMN\r\nSubject: Foto\r\n\r\nx";
        assert_eq!(kind(raw), None);
        let null = "From: a@example.org\r\nReturn-Path: <>\r\nSubject: hi\r\n\r\nx";
        assert_eq!(kind(null), None);
        assert!(takes_no_answer("MAILER-DAEMON@mms.carrier.example"));
        assert!(takes_no_answer("noreply+x@example.com"));
        assert!(!takes_no_answer("rosa@example.org"));
    }

    #[test]
    fn abuse_reports_arf_rfc_5965() {
        let raw = "From: abuse@isp.example\r\nSubject: FW: Earn money\r\nMIME-Version: 1.0\r\n\
                   Content-Type: multipart/report; report-type=feedback-report;\r\n boundary=\"p\"\r\n\r\n\
                   --p\r\nContent-Type: text/plain\r\n\r\nThis is an email abuse report\r\n\
                   --p\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nUser-Agent: SomeGenerator/1.0\r\nVersion: 1\r\n\r\n\
                   --p\r\nContent-Type: message/rfc822\r\n\r\nFrom: x@y.example\r\nSubject: spam\r\n\r\nbuy\r\n--p--\r\n";
        assert_eq!(kind(raw), Some(Automatic::AbuseReport));
    }

    #[test]
    fn challenge_response_systems() {
        let boxbe = "From: noreply@boxbe.com\r\nReply-To: fred@example.com\r\n\
                     Subject: Re: Dear Mr Bloggs (Action Required)\r\n\
                     Content-Type: multipart/report; report-type=delivery-status; boundary=\"z\"\r\n\r\n\
                     --z\r\nContent-Type: text/plain\r\n\r\nPlease verify\r\n--z--\r\n";
        assert_eq!(kind(boxbe), Some(Automatic::Challenge));
        let tmda = "From: fred-confirm-123@example.com\r\nX-Delivery-Agent: TMDA/1.1.12\r\n\
                    Subject: Please confirm your message\r\n\r\nx";
        assert_eq!(kind(tmda), Some(Automatic::Challenge));
    }

    #[test]
    fn rfc_3834_and_autoresponder_headers() {
        let cases = [
            "Auto-Submitted: auto-replied",
            "Auto-Submitted: auto-generated",
            "X-Auto-Response-Suppress: All",
            "X-Autoreply: yes",
            "Precedence: auto_reply",
        ];
        for header in cases {
            let raw = format!("{PERSON}{header}\r\nSubject: Re: queja\r\n\r\nx");
            assert_eq!(kind(&raw), Some(Automatic::AutoReply), "{header}");
        }
        let raw = format!("{PERSON}Auto-Submitted: no\r\nSubject: Despido\r\n\r\nx");
        assert_eq!(kind(&raw), None);
    }

    #[test]
    fn out_of_office_subjects_in_many_languages() {
        let subjects = [
            "AUTO: Smith, John is out of the office. (returning 05/01/2010)",
            "Auto reply: Nyaan",
            "Automatic reply: Queja",
            "Re: blah blah (Automatic Response)",
            "Respuesta automática: Queja",
            "Fuera de la oficina",
            "Abwesenheitsnotiz: Ihre Nachricht",
            "Réponse automatique : votre message",
            "Resposta automática: Re: oi",
            "Risposta automatica: ciao",
            "Automatisch antwoord: Uw bericht",
            "Arpus biroja atrasanas automatiska atbilde: subjecting",
            "[Automatyczna odpowiedź] test",
            "=?UTF-8?Q?AutoRespons?= :Nyaan?",
        ];
        for subject in subjects {
            let raw = format!("{PERSON}Subject: {subject}\r\n\r\nx");
            assert_eq!(kind(&raw), Some(Automatic::AutoReply), "{subject}");
        }
        // A worker's own words about absences are a complaint.
        for subject in [
            "Me descontaron por ausencia",
            "Automatización de la línea 3 y despidos",
            "Out of pay for three weeks",
        ] {
            let raw = format!("{PERSON}Subject: {subject}\r\n\r\nx");
            assert_eq!(kind(&raw), None, "{subject}");
        }
    }

    #[test]
    fn senders_that_take_no_answer() {
        for from in [
            "noreply@example.com",
            "No-Reply@example.com",
            "donotreply@example.com",
            "do-not-reply@example.com",
            "gmail-noreply@google.com",
            "billing-noreply@shop.example",
            "noreply+abc@example.com",
        ] {
            let raw = format!("From: {from}\r\nSubject: Hola\r\n\r\nx");
            assert_eq!(kind(&raw), Some(Automatic::NoReply), "{from}");
        }
        let raw = format!("{PERSON}Subject: Hola\r\n\r\nx");
        assert_eq!(kind(&raw), None);
        let raw = "From: noreplica@example.com\r\nSubject: Hola\r\n\r\nx";
        assert_eq!(kind(raw), None);
    }

    #[test]
    fn lists_and_bulk() {
        for header in [
            "Precedence: bulk",
            "Precedence: junk",
            "Precedence: list",
            "List-Id: <news.example.org>",
            "List-Unsubscribe: <mailto:leave@example.org>",
            "List-Subscribe: <mailto:neko-ctl@example.org?body=subscribe>",
        ] {
            let raw = format!("{PERSON}{header}\r\nSubject: Boletín\r\n\r\nx");
            assert_eq!(kind(&raw), Some(Automatic::Bulk), "{header}");
        }
    }

    #[test]
    fn read_receipts_are_auto_replies() {
        let raw = format!(
            "{PERSON}Subject: Leído: Queja\r\n\
             Content-Type: multipart/report; report-type=disposition-notification; boundary=\"m\"\r\n\r\n\
             --m\r\nContent-Type: text/plain\r\n\r\nread\r\n--m--\r\n"
        );
        assert_eq!(kind(&raw), Some(Automatic::AutoReply));
    }
}
