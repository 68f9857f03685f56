//! What a message says: the sender to answer (or why it is held), a new
//! complaint's text and facts (deferral line included), a reply's own words.

use super::Hold;
use crate::channels::email::deferral::{self, Deferral};
use crate::channels::email::parse::{self, Mail};
use crate::channels::email::suggest;
use crate::domain::{Text, limits};
use crate::intake::MailComplaint;
use crate::intake::evidence;

/// The sender to answer (none when the message names no usable address), or why
/// the message is held for a person: mail a machine sent.
pub(in crate::channels::email) fn screen(
    mail: &Mail,
) -> Result<Option<crate::domain::Email>, Hold> {
    if let Some(kind) = mail.automatic {
        return Err(Hold(kind.code()));
    }
    Ok(mail
        .from
        .as_deref()
        .and_then(|f| crate::domain::Email::parse(f).ok()))
}

/// A message that starts no thread as a complaint (true when its text was cut), or
/// held when it says nothing.
///
/// `today` (Mexico City) bounds a deferral line; an invalid one is
/// [`Hold::INVALID_HOLD_DATE`], answered by the worker. A message with no words but
/// evidence (a carrier's picture message) is a complaint whose text says so. With
/// no address to answer, only a message carrying evidence is a complaint (a
/// carrier's picture message names the phone, not an address): the rest is held
/// as `no_sender`.
pub(in crate::channels::email) fn mail_complaint(
    mail: &Mail,
    from: Option<crate::domain::Email>,
    today: chrono::NaiveDate,
) -> Result<(MailComplaint, bool), Hold> {
    if from.is_none() && !has_evidence(mail) {
        return Err(Hold("no_sender"));
    }
    let hold_until = match deferral::requested(&mail.body, today) {
        Deferral::None => None,
        Deferral::Until(day) => Some(day),
        Deferral::Invalid => return Err(Hold(Hold::INVALID_HOLD_DATE)),
    };
    let (text, cut) = narrative(mail);
    let narrative = match Text::parse(&text, limits::NARRATIVE) {
        Ok(text) => text,
        Err(_) if has_evidence(mail) => {
            Text::parse(NO_TEXT, limits::NARRATIVE).map_err(|_| Hold("empty"))?
        }
        Err(_) => return Err(Hold("empty")),
    };
    let stated = suggest::stated(&mail.body);
    let complaint = MailComplaint {
        language: mail.language,
        email: from,
        narrative,
        employer: stated
            .employer
            .and_then(|e| Text::parse(&e, limits::EMPLOYER).ok()),
        city: stated.city.and_then(|c| Text::parse(&c, limits::CITY).ok()),
        state: stated.state,
        suggested: suggest::violations(&text),
        hold_until,
    };
    Ok((complaint, cut))
}

/// The text of a complaint that came as files alone.
const NO_TEXT: &str =
    "(Mensaje sin texto: la evidencia va adjunta / Message without text: the evidence is attached)";

/// True when one of the message's files is kept as evidence.
fn has_evidence(mail: &Mail) -> bool {
    mail.attachments.iter().any(|p| {
        !p.bytes.is_empty()
            && evidence::kept_type(&p.mime_type, p.name.as_deref(), Some(&p.bytes)).is_some()
    })
}

/// The complaint's text: subject, then body, cut to the narrative limit (the original
/// message is then kept with the case); true when it was cut.
fn narrative(mail: &Mail) -> (String, bool) {
    let text = match (mail.subject.trim(), mail.body.trim()) {
        ("", body) => body.to_owned(),
        (subject, "") => subject.to_owned(),
        (subject, body) => format!("{subject}\n\n{body}"),
    };
    cut(&text)
}

/// `text` within [`TEXT_CUT`] characters (room to spare: normalization may lengthen
/// a few), and whether anything was cut.
fn cut(text: &str) -> (String, bool) {
    let kept = crate::domain::truncate(text, TEXT_CUT);
    let was_cut = kept.len() != text.len();
    (kept, was_cut)
}

/// Where e-mail text is cut (under `limits::NARRATIVE`); the original is attached.
const TEXT_CUT: usize = limits::NARRATIVE - 1_000;

/// A reply's own words (quoted text and what is over the limit cut), or a marker
/// when it has none (only files); true when something was cut.
pub(in crate::channels::email) fn follow_up_text(mail: &Mail) -> anyhow::Result<(Text, bool)> {
    let own = parse::strip_quoted(&mail.body);
    let quoted_cut = own.len() != mail.body.trim().len();
    let (text, over) = cut(&own);
    let text = Text::parse(&text, limits::NARRATIVE)
        .or_else(|_| Text::parse("(sin texto / no text)", limits::NARRATIVE))
        .map_err(|_| anyhow::anyhow!("follow-up text cannot be stored"))?;
    Ok((text, quoted_cut || over))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(raw: &str) -> Mail {
        parse::parse(raw.as_bytes(), None).expect("parsed")
    }

    fn from() -> Option<crate::domain::Email> {
        crate::domain::Email::parse("rosa@example.org").ok()
    }

    fn today() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 8).expect("date")
    }

    #[test]
    fn a_deferral_line_is_carried_or_refused() {
        let m = mail(
            "From: rosa@example.org\r\nSubject: Despido\r\n\r\nNos corrieron.\r\nESPERAR HASTA 2027-03-01\r\n",
        );
        let Ok((complaint, _)) = mail_complaint(&m, from(), today()) else {
            panic!("a complaint")
        };
        assert_eq!(
            complaint.hold_until,
            chrono::NaiveDate::from_ymd_opt(2027, 3, 1)
        );
        let m = mail(
            "From: rosa@example.org\r\nSubject: Despido\r\n\r\nNos corrieron.\r\nESPERAR HASTA 2027-06-01\r\n",
        );
        assert!(matches!(
            mail_complaint(&m, from(), today()),
            Err(Hold(Hold::INVALID_HOLD_DATE))
        ));
    }

    #[test]
    fn files_without_words_are_a_complaint_and_nothing_at_all_is_held() {
        let picture = mail(
            "From: 5551234567@mms.carrier.example\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Type: image/jpeg; name=IMG.jpg\r\nContent-Disposition: attachment; filename=IMG.jpg\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n/9j/4AAQSkZJRgABAQ==\r\n--b--\r\n",
        );
        let Ok((complaint, _)) = mail_complaint(&picture, from(), today()) else {
            panic!("a complaint")
        };
        assert_eq!(complaint.narrative.as_str(), NO_TEXT);
        let nothing = mail("From: rosa@example.org\r\nSubject: \r\n\r\n\r\n");
        assert!(matches!(
            mail_complaint(&nothing, from(), today()),
            Err(Hold("empty"))
        ));
    }

    /// A carrier's picture message: the phone number (no address) for a From, the
    /// gateway's MAILER-DAEMON for a Return-Path (or a null envelope sender), no
    /// report part. A complaint with its image and no contact, never answered.
    #[test]
    fn a_picture_message_from_a_phone_number_is_a_complaint_without_contact() {
        let raw = "Return-Path: <MAILER-DAEMON@mms.carrier.example>\r\n\
                   From: +525512345678/TYPE=PLMN\r\nTo: quejas@buzon.test\r\nSubject: Foto\r\n\
                   Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
                   --b\r\nContent-Type: text/plain\r\n\r\nasi nos tienen\r\n\
                   --b\r\nContent-Type: image/jpeg; name=IMG.jpg\r\nContent-Transfer-Encoding: base64\r\n\r\n\
                   /9j/4AAQSkZJRgABAQ==\r\n--b--\r\n";
        let null = parse::Envelope::default();
        for envelope in [None, Some(&null)] {
            let Some(m) = parse::parse(raw.as_bytes(), envelope) else {
                panic!("parsed")
            };
            assert!(m.automatic.is_none());
            assert!(m.from.is_none(), "the daemon is nobody to answer");
            assert_eq!(m.null_sender, envelope.is_some());
            let Ok(from) = screen(&m) else {
                panic!("not held")
            };
            assert!(from.is_none());
            let Ok((complaint, _)) = mail_complaint(&m, from, today()) else {
                panic!("a complaint")
            };
            assert!(complaint.email.is_none());
            assert!(complaint.narrative.as_str().contains("asi nos tienen"));
        }
        // Without an address and without evidence: held for a person.
        let words = mail("From: +525512345678/TYPE=PLMN\r\nSubject: Hola\r\n\r\nhola\r\n");
        assert!(matches!(
            mail_complaint(&words, None, today()),
            Err(Hold("no_sender"))
        ));
    }
}
