//! Reading one raw e-mail (RFC 5322/MIME) with mail-parser: who sent it, what it
//! says (HTML reduced to text, forwarded messages included), its attachments, how it
//! threads, whether a machine sent it. Pure: no I/O, nothing logged.

use super::mime_limits::{self, TooComplex};
use crate::domain::Language;
use mail_parser::{Address, HeaderValue, Message, MessageParser, MimeHeaders};
use serde::{Deserialize, Serialize};

/// The SMTP envelope, when the message came through our listener.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Envelope {
    /// `""` is the null sender (`MAIL FROM:<>`): a bounce.
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
}

pub use super::robots::Automatic;
pub use super::trust::Auth;

/// One attachment as sent.
pub struct Part {
    pub name: Option<String>,
    pub mime_type: String,
    pub bytes: Vec<u8>,
}

/// A parsed message. Holds personal data: no `Debug`.
pub struct Mail {
    /// Lower-cased sender address (From, else Sender, else the envelope or
    /// Return-Path unless a daemon's).
    pub from: Option<String>,
    /// The null reverse-path (`MAIL FROM:<>`, `Return-Path: <>`): nothing is ever
    /// sent in answer (RFC 3834 §4, RFC 5321 §4.5.5), though a person may have
    /// written it.
    pub null_sender: bool,
    pub subject: String,
    pub message_id: Option<String>,
    /// `In-Reply-To` then `References`, without angle brackets.
    pub thread_ids: Vec<String>,
    /// Lower-cased addresses the message was for (envelope, To, Cc, Delivered-To).
    pub recipients: Vec<String>,
    pub body: String,
    pub attachments: Vec<Part>,
    /// More parts than [`MAX_ATTACHMENTS`]: the rest were not read.
    pub attachments_dropped: bool,
    /// A robot or a relay's spam verdict: held, never answered.
    pub automatic: Option<Automatic>,
    /// What the receiving relay recorded of the sender's SPF/DKIM/DMARC.
    pub auth: Auth,
    pub language: Language,
}

/// Most thread ids looked at; most nested forwards unfolded; most attachments read.
const MAX_THREAD_IDS: usize = 50;
const MAX_NESTING: usize = 3;
pub const MAX_ATTACHMENTS: usize = 50;

/// The two headers needed before the message is stored: sender and Message-ID.
pub fn summary(raw: &[u8]) -> (Option<String>, Option<String>) {
    match MessageParser::new().parse_headers(raw) {
        Some(msg) if !msg.headers().is_empty() => (
            sender(&msg),
            msg.message_id().map(|id| id.trim().to_owned()),
        ),
        _ => (None, None),
    }
}

/// Why a stored message cannot be read: held for a person with this reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unreadable {
    /// Not an e-mail at all (no header a message must have).
    NotMail,
    /// Over a limit of [`mime_limits`]: never parsed (further).
    TooComplex(TooComplex),
}

impl Unreadable {
    /// The outcome the inbox row is held with.
    pub fn code(self) -> &'static str {
        match self {
            Self::NotMail => "unparseable",
            Self::TooComplex(_) => "too_complex",
        }
    }
}

/// `None` when the bytes are not an e-mail at all, or not one within the limits.
pub fn parse(raw: &[u8], envelope: Option<&Envelope>) -> Option<Mail> {
    read(raw, envelope, None).ok()
}

/// Reads a message within [`mime_limits`]: the structure is bounded on the raw
/// bytes before mail-parser builds anything, and again on what it built. Deep
/// trees are built (and dropped) with the caller's stack: the worker calls this on
/// a thread with a stack sized for the deepest message the size limit allows.
/// `authserv_id`: the relay whose `Authentication-Results` are trusted (see `trust`).
pub fn read(
    raw: &[u8],
    envelope: Option<&Envelope>,
    authserv_id: Option<&str>,
) -> Result<Mail, Unreadable> {
    mime_limits::scan(raw).map_err(Unreadable::TooComplex)?;
    let msg = MessageParser::new().parse(raw).ok_or(Unreadable::NotMail)?;
    mime_limits::check(&msg).map_err(Unreadable::TooComplex)?;
    let has_headers = msg.from().is_some()
        || msg.subject().is_some()
        || msg.message_id().is_some()
        || msg.date().is_some();
    if !has_headers {
        return Err(Unreadable::NotMail);
    }
    // The author (From, else Sender) is who robots are recognised by; the envelope
    // sender or Return-Path only stands in as the address to answer, and never a
    // daemon's (a carrier's picture message comes from MAILER-DAEMON with the
    // phone number, no address, in its From).
    let author = sender(&msg);
    let from = author.clone().or_else(|| {
        envelope
            .map(|e| e.mail_from.to_lowercase())
            .filter(|a| !a.is_empty())
            .or_else(|| msg.return_address().map(str::to_lowercase))
            .filter(|a| !super::robots::takes_no_answer(a))
    });
    let null_sender = envelope.is_some_and(|e| e.mail_from.is_empty())
        || msg
            .header_raw("Return-Path")
            .is_some_and(|v| v.trim() == "<>");
    let mut thread_ids = ids(msg.in_reply_to());
    thread_ids.extend(ids(msg.references()));
    thread_ids.dedup();
    thread_ids.truncate(MAX_THREAD_IDS);
    let mut recipients: Vec<String> = envelope.map(|e| e.rcpt_to.clone()).unwrap_or_default();
    for list in [msg.to(), msg.cc()].into_iter().flatten() {
        recipients.extend(addresses(list));
    }
    for name in ["Delivered-To", "X-Original-To"] {
        for value in msg.header_values(name) {
            if let Some(text) = value.as_text() {
                recipients.push(text.trim().trim_matches(['<', '>']).to_lowercase());
            }
        }
    }
    let mut body = String::new();
    let mut attachments = Vec::new();
    let attachments_dropped = read_content(&msg, 0, &mut body, &mut attachments);
    let subject = msg.subject().unwrap_or("").trim().to_owned();
    let language = declared_language(&msg).unwrap_or_else(|| guess_language(&subject, &body));
    let automatic = super::robots::classify(&msg, author.as_deref(), &subject)
        .or_else(|| super::trust::is_spam(&msg, &body).then_some(Automatic::Spam));
    Ok(Mail {
        automatic,
        auth: super::trust::authentication(&msg, authserv_id),
        message_id: msg.message_id().map(|id| id.trim().to_owned()),
        from,
        null_sender,
        subject,
        thread_ids,
        recipients,
        body,
        attachments,
        attachments_dropped,
        language,
    })
}

fn sender(msg: &Message<'_>) -> Option<String> {
    [msg.from(), msg.sender()]
        .into_iter()
        .flatten()
        .find_map(|a| a.first().and_then(|a| a.address()))
        .map(|a| a.trim().to_lowercase())
        .filter(|a| !a.is_empty())
}

fn addresses(list: &Address<'_>) -> Vec<String> {
    list.iter()
        .filter_map(|a| a.address())
        .map(|a| a.trim().to_lowercase())
        .collect()
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(id) => vec![id.trim().to_owned()],
        HeaderValue::TextList(list) => list.iter().map(|id| id.trim().to_owned()).collect(),
        _ => Vec::new(),
    }
}

/// Text bodies in order (HTML reduced to text by mail-parser), then forwarded
/// messages unfolded, nested at most [`MAX_NESTING`] deep; attachments kept up to
/// [`MAX_ATTACHMENTS`]. True when some were left out.
fn read_content(msg: &Message<'_>, depth: usize, body: &mut String, parts: &mut Vec<Part>) -> bool {
    let mut dropped = false;
    for i in 0..msg.text_body_count() {
        if let Some(text) = msg.body_text(i) {
            let text = text.trim();
            if !text.is_empty() {
                if !body.is_empty() {
                    body.push_str("\n\n");
                }
                body.push_str(text);
            }
        }
    }
    if msg.text_body_count() == 0
        && let Some(text) = msg.body_text(0)
    {
        body.push_str(text.trim());
    }
    for part in msg.attachments() {
        if let Some(inner) = part.message()
            && depth < MAX_NESTING
        {
            body.push_str("\n\n---------- Mensaje reenviado / Forwarded message ----------\n");
            if let Some(from) = inner.from().and_then(|a| a.first()) {
                let who = match (from.name(), from.address()) {
                    (Some(n), Some(a)) => format!("{n} <{a}>"),
                    (None, Some(a)) => a.to_owned(),
                    (Some(n), None) => n.to_owned(),
                    (None, None) => String::new(),
                };
                body.push_str(&format!("De / From: {who}\n"));
            }
            if let Some(date) = inner.date() {
                body.push_str(&format!("Fecha / Date: {}\n", date.to_rfc3339()));
            }
            if let Some(subject) = inner.subject() {
                body.push_str(&format!("Asunto / Subject: {subject}\n"));
            }
            body.push('\n');
            dropped |= read_content(inner, depth + 1, body, parts);
        }
        if parts.len() >= MAX_ATTACHMENTS {
            dropped = true;
            continue;
        }
        let mime_type = part
            .content_type()
            .map(|ct| match ct.subtype() {
                Some(sub) => format!("{}/{}", ct.ctype(), sub),
                None => ct.ctype().to_owned(),
            })
            .unwrap_or_else(|| "application/octet-stream".into())
            .to_ascii_lowercase();
        let mime_type = crate::intake::evidence::normalize(&mime_type);
        // An MMS's layout (SMIL) is no evidence and says nothing.
        if mime_type == "application/smil" {
            continue;
        }
        let name = part
            .attachment_name()
            .map(str::to_owned)
            .or_else(|| loose_name(part));
        let uuencoded = part.content_transfer_encoding().is_some_and(|e| {
            let e = e.trim().to_ascii_lowercase();
            matches!(e.as_str(), "x-uuencode" | "uuencode" | "x-uue" | "uue")
        });
        let bytes = if uuencoded {
            uudecode(part.contents())
        } else {
            part.contents().to_vec()
        };
        // A carrier's picture message puts its words in a named text part
        // (`text_0.txt`): they are the message's text when it has none (a text
        // file sent with words of its own is evidence like any other).
        if mime_type == "text/plain"
            && depth == 0
            && body.is_empty()
            && bytes.len() <= MAX_TEXT_PART
        {
            let text = part.text_contents().map_or_else(
                || String::from_utf8_lossy(&bytes).into_owned(),
                str::to_owned,
            );
            body.push_str(text.trim());
            continue;
        }
        parts.push(Part {
            name,
            mime_type,
            bytes,
        });
    }
    dropped
}

/// Most bytes of a named text part read as the message's words.
const MAX_TEXT_PART: usize = 64 * 1024;

/// The `name=` of a content type written without the `;` before it
/// (`application/pdf name=acta.pdf`), which mail-parser does not see as a parameter.
fn loose_name(part: &mail_parser::MessagePart<'_>) -> Option<String> {
    let ct = part.content_type()?;
    let sub = ct.subtype()?;
    let (_, rest) = sub.split_once("name=")?;
    let name = rest.trim().trim_matches(['"', '\'', ';']).trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// Decodes a uuencoded body (`begin 644 name` … `end`, or the lines alone). Lines
/// that are not uuencode are skipped; a damaged line gives what it can.
pub fn uudecode(input: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(input);
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let mut started = !text.lines().any(|l| l.starts_with("begin "));
    for line in text.lines() {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.starts_with("begin ") {
            started = true;
            continue;
        }
        if !started || line.is_empty() {
            continue;
        }
        if line == "end" {
            break;
        }
        let bytes = line.as_bytes();
        let n = usize::from(bytes[0].wrapping_sub(b' ') & 0x3f);
        if n == 0 {
            continue;
        }
        let sextets: Vec<u8> = bytes[1..]
            .iter()
            .map(|b| b.wrapping_sub(b' ') & 0x3f)
            .collect();
        let mut line_out = Vec::with_capacity(n + 2);
        for chunk in sextets.chunks(4) {
            let get = |i: usize| chunk.get(i).copied().unwrap_or(0);
            line_out.push((get(0) << 2) | (get(1) >> 4));
            line_out.push((get(1) << 4) | (get(2) >> 2));
            line_out.push((get(2) << 6) | get(3));
        }
        line_out.truncate(n);
        out.extend_from_slice(&line_out);
    }
    out
}

fn declared_language(msg: &Message<'_>) -> Option<Language> {
    let first = match msg.content_language() {
        HeaderValue::Text(t) => t.to_string(),
        HeaderValue::TextList(l) => l.first().map(|t| t.to_string())?,
        _ => return None,
    };
    Language::parse(first.split('-').next().unwrap_or(""))
}

/// English only when English words clearly outnumber Spanish ones: Spanish is the
/// default for workers.
pub fn guess_language(subject: &str, body: &str) -> Language {
    const ES: &[&str] = &[
        "el", "la", "los", "las", "que", "de", "y", "en", "mi", "nos", "por", "para", "con", "una",
        "empresa", "trabajo", "pero", "muy", "porque", "hola",
    ];
    const EN: &[&str] = &[
        "the", "and", "my", "we", "was", "were", "they", "is", "are", "have", "with", "for",
        "company", "work", "but", "very", "because", "hello", "of", "to",
    ];
    let head: String = body.chars().take(20_000).collect();
    let text = format!("{subject} {head}").to_lowercase();
    let (mut es, mut en) = (0usize, 0usize);
    for word in text
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .take(400)
    {
        es += usize::from(ES.contains(&word));
        en += usize::from(EN.contains(&word));
    }
    if en >= 3 && en > es * 3 / 2 {
        Language::En
    } else {
        Language::Es
    }
}

/// Case references a message names: the subject tag `[Buzón BZ-XXXXXXXX]` and a
/// plus-address `buzon+BZ-XXXXXXXX@…` of one of our intake addresses. Upper-cased.
pub fn case_refs(mail: &Mail, intake: &[String]) -> Vec<String> {
    let mut refs = Vec::new();
    // A subject line is at most 998 bytes (RFC 5322); each tag is looked at within
    // a few characters, so a hostile subject costs linear time.
    let subject: String = mail
        .subject
        .chars()
        .take(998)
        .collect::<String>()
        .to_uppercase();
    for (start, _) in subject.match_indices('[') {
        let tag: String = subject[start + 1..].chars().take(24).collect();
        let tag = tag.trim_start();
        let rest = tag
            .strip_prefix("BUZÓN")
            .or_else(|| tag.strip_prefix("BUZON"));
        if let Some(rest) = rest
            && let Some((code, _)) = rest.trim_start().split_once(']')
            && is_case_ref(code.trim())
        {
            refs.push(code.trim().to_owned());
        }
    }
    for rcpt in &mail.recipients {
        if let Some((base, tag)) = plus_tag(rcpt)
            && intake.contains(&base)
        {
            let tag = tag.to_uppercase();
            if is_case_ref(&tag) {
                refs.push(tag);
            }
        }
    }
    refs.dedup();
    refs.truncate(5);
    refs
}

/// `local+tag@domain` as (`local@domain`, `tag`).
pub fn plus_tag(address: &str) -> Option<(String, String)> {
    let (local, domain) = address.rsplit_once('@')?;
    let (base, tag) = local.split_once('+')?;
    Some((format!("{base}@{domain}"), tag.to_owned()))
}

fn is_case_ref(code: &str) -> bool {
    code.strip_prefix("BZ-")
        .is_some_and(|c| c.len() == 8 && c.chars().all(|ch| ch.is_ascii_alphanumeric()))
}

/// A reply without the quoted message under it: the text before the first
/// "On … wrote:" / "El … escribió:" line, an Outlook separator or a `>` quote. The
/// whole text when cutting would leave nothing.
pub fn strip_quoted(body: &str) -> String {
    let mut kept = Vec::new();
    for line in body.lines() {
        let t = line.trim();
        let lower = t.to_lowercase();
        let header_line = (lower.starts_with("on ") && lower.ends_with("wrote:"))
            || (lower.starts_with("el ") && lower.ends_with("escribió:"))
            || lower.starts_with("-----original message")
            || lower.starts_with("-----mensaje original")
            || t.starts_with("________________________________");
        if header_line || t.starts_with('>') {
            break;
        }
        kept.push(line);
    }
    let kept = kept.join("\n");
    if kept.trim().is_empty() {
        body.trim().to_owned()
    } else {
        kept.trim().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(raw: &str) -> Mail {
        match parse(raw.as_bytes(), None) {
            Some(m) => m,
            None => panic!("not parsed: {raw}"),
        }
    }

    #[test]
    fn latin1_quoted_printable_and_headers_decode() {
        let m = mail(
            "From: =?ISO-8859-1?Q?Jos=E9?= <Jose@Example.ORG>\r\n\
             Subject: =?windows-1252?Q?Queja_caf=E9_=80?=\r\n\
             Message-ID: <a1@example.org>\r\n\
             Content-Type: text/plain; charset=iso-8859-1\r\n\
             Content-Transfer-Encoding: quoted-printable\r\n\r\n\
             Me despidieron sin liquidaci=F3n.\r\n",
        );
        assert_eq!(m.from.as_deref(), Some("jose@example.org"));
        assert_eq!(m.subject, "Queja café €");
        assert_eq!(m.message_id.as_deref(), Some("a1@example.org"));
        assert!(m.body.contains("liquidación"));
        assert!(m.automatic.is_none());
        assert_eq!(m.language, Language::Es);
    }

    #[test]
    fn html_only_is_reduced_to_text() {
        let m = mail(
            "From: a@example.org\r\nSubject: x\r\nContent-Type: text/html\r\n\r\n\
             <p>We were <b>fired</b></p><br>for the union",
        );
        assert!(m.body.contains("We were fired"), "{}", m.body);
        assert!(!m.body.contains('<'));
    }

    #[test]
    fn machines_are_recognized() {
        let cases = [
            (
                "From: MAILER-DAEMON@example.org\r\nSubject: Undelivered\r\n\r\nx",
                Automatic::Bounce,
            ),
            (
                "From: a@example.org\r\nAuto-Submitted: auto-replied\r\nSubject: OOO\r\n\r\nx",
                Automatic::AutoReply,
            ),
            (
                "From: a@example.org\r\nPrecedence: bulk\r\nSubject: News\r\n\r\nx",
                Automatic::Bulk,
            ),
            (
                "From: a@example.org\r\nList-Id: <l.example.org>\r\nSubject: News\r\n\r\nx",
                Automatic::Bulk,
            ),
            (
                "From: noreply@example.org\r\nSubject: hi\r\n\r\nx",
                Automatic::NoReply,
            ),
        ];
        for (raw, kind) in cases {
            assert_eq!(mail(raw).automatic, Some(kind), "{raw}");
        }
        assert_eq!(
            mail("From: a@example.org\r\nAuto-Submitted: no\r\nSubject: hi\r\n\r\nx").automatic,
            None
        );
        let null = Envelope {
            mail_from: String::new(),
            rcpt_to: vec![],
        };
        // The null sender alone is no robot's, but is never answered.
        let m = parse(b"From: a@example.org\r\nSubject: hi\r\n\r\nx", Some(&null));
        assert!(m.is_some_and(|m| m.automatic.is_none() && m.null_sender));
    }

    #[test]
    fn garbage_is_not_a_message() {
        assert!(parse(b"", None).is_none());
        assert!(parse(b"hello world\r\n", None).is_none());
        assert!(parse(b"just some\r\ntext\r\n\r\nbody", None).is_none());
    }

    #[test]
    fn references_tags_and_plus_addresses() {
        let m = mail(
            "From: a@example.org\r\nTo: Buzon+bz-ab12cd34@example.net\r\n\
             Subject: Re: [Buzón BZ-QW12ER34] Recibimos su queja\r\n\
             In-Reply-To: <x@buzon>\r\nReferences: <w@y> <x@buzon>\r\n\r\nmás datos",
        );
        assert_eq!(m.thread_ids, vec!["x@buzon", "w@y", "x@buzon"]);
        let refs = case_refs(&m, &["buzon@example.net".to_owned()]);
        assert_eq!(refs, vec!["BZ-QW12ER34", "BZ-AB12CD34"]);
        assert!(case_refs(&m, &["other@example.net".to_owned()]).len() == 1);
    }

    #[test]
    fn quoted_replies_are_cut() {
        let body = "Also they took my passport.\n\nOn Mon, 1 Dec 2026, Buzón wrote:\n> We received";
        assert_eq!(strip_quoted(body), "Also they took my passport.");
        assert_eq!(strip_quoted("> only quoted"), "> only quoted");
        let es = "Otra cosa.\nEl lun, 1 dic 2026 a las 10:00, Buzón escribió:\n> Recibimos";
        assert_eq!(strip_quoted(es), "Otra cosa.");
    }

    #[test]
    fn english_only_when_clearly_english() {
        assert_eq!(
            guess_language(
                "Complaint",
                "We were fired because we joined the union and they did not pay"
            ),
            Language::En
        );
        assert_eq!(
            guess_language("Queja", "Nos despidieron por el sindicato"),
            Language::Es
        );
        assert_eq!(guess_language("", ""), Language::Es);
    }

    #[test]
    fn uuencoded_parts_and_loose_names_are_read() {
        // "Cat" and a longer line, as uuencode writes them.
        assert_eq!(uudecode(b"begin 644 a.txt\n#0V%T\n`\nend\n"), b"Cat");
        assert_eq!(uudecode(b"#0V%T\n"), b"Cat");
        let m = mail(
            "From: a@example.org\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Type: text/plain\r\n\r\nVan los papeles.\r\n\
             --b\r\nContent-Type: application/msword; name=\"c.doc\"\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n\
             begin 644 c.doc\r\n#0V%T\r\n`\r\nend\r\n\
             --b\r\nContent-Type: application/pdf name=acta.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQ=\r\n--b--\r\n",
        );
        assert_eq!(m.attachments.len(), 2);
        assert_eq!(m.attachments[0].bytes, b"Cat");
        assert_eq!(m.attachments[1].name.as_deref(), Some("acta.pdf"));
        assert_eq!(m.attachments[1].mime_type, "application/pdf");
        assert_eq!(m.attachments[1].bytes, b"%PDF-1.4");
    }

    #[test]
    fn a_picture_messages_words_are_its_text() {
        let m = mail(
            "From: 5551234567@mms.carrier.example\r\nSubject: \r\n\
             Content-Type: multipart/related; boundary=\"m\"\r\n\r\n\
             --m\r\nContent-Type: application/smil; name=mms.smil\r\n\r\n<smil/>\r\n\
             --m\r\nContent-Type: image/jpeg; name=IMG.jpg\r\nContent-Disposition: attachment; filename=IMG.jpg\r\n\r\nJPEG\r\n\
             --m\r\nContent-Type: text/plain; name=text_0.txt\r\nContent-Disposition: attachment; filename=text_0.txt\r\n\r\nNos encierran.\r\n--m--\r\n",
        );
        assert_eq!(m.body, "Nos encierran.");
        assert_eq!(
            m.attachments.len(),
            1,
            "the layout and the words are no files"
        );
        assert_eq!(m.attachments[0].mime_type, "image/jpeg");
        assert!(m.automatic.is_none());
    }
}
