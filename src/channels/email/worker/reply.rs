//! The mail Buzón answers with: the acknowledgement of a new case (receipt, and
//! the deferral day when one was asked), of a follow-up, and the answer to a
//! deferral line whose date cannot be kept.

use super::Outgoing;
use crate::channels::email::parse::Mail;
use uuid::Uuid;

/// The acknowledgement of a new case (with its receipt) or of a follow-up; `None`
/// when the message has no sender to answer.
pub(in crate::channels::email) fn acknowledgement(
    settings: &crate::config::EmailSettings,
    mail: &Mail,
    case_ref: &str,
    receipt: Option<&str>,
    held_until: Option<chrono::NaiveDate>,
) -> Option<Outgoing> {
    let to = mail.from.clone()?;
    let lang = mail.language;
    let tr = |es: &str, en: &str| crate::channels::whatsapp::conversation::tr(lang, es, en);
    let reply_to = crate::channels::email::case_address(settings, case_ref);
    // Deferred filing: the day the worker chose, confirmed in the web form's words.
    let held = held_until.map_or_else(String::new, |day| {
        format!("{}\n\n", crate::domain::held_notice(day, lang))
    });
    let (subject, body) = match receipt {
        Some(receipt) => (
            tr("Recibimos su queja", "We received your complaint"),
            format!(
                "{}\n\n{}: {}\n{}: {}\n\n{}\n\n{held}{}\n\n{}\n\n{}\n",
                tr(
                    "Recibimos su queja y la guardamos de forma segura.",
                    "We received your complaint and stored it safely."
                ),
                tr("Número de queja", "Complaint number"),
                case_ref,
                tr("Su código secreto", "Your secret code"),
                receipt,
                tr(
                    "Guarde este código y no lo comparta: con él puede ver cómo va su queja en la página de Buzón (\"Consultar mi queja\"). No podemos recuperarlo si lo pierde.",
                    "Keep this code and do not share it: with it you can see how your complaint is going on the Buzón page (\"Check my complaint\"). We cannot recover it if you lose it."
                ),
                tr(
                    "Qué sigue: una persona de nuestro equipo leerá su mensaje, confirmará el estado, la empresa y lo que pasó, y le dirá a qué autoridad puede ir su caso. Si necesitamos más datos, le escribiremos a este correo.",
                    "What happens next: a person on our team will read your message, confirm the state, the company and what happened, and tell you which authority can take your case. If we need more details, we will write to this address."
                ),
                tr(
                    "Para agregar algo (más datos, fotos, documentos), responda a este correo sin cambiar el asunto.",
                    "To add something (more details, photos, documents), reply to this e-mail without changing the subject."
                ),
                tr(
                    "Si usted no nos escribió, ignore este mensaje.",
                    "If you did not write to us, ignore this message."
                ),
            ),
        ),
        None => (
            tr(
                "Agregamos su mensaje a su queja",
                "We added your message to your complaint",
            ),
            format!(
                "{} {}.\n\n{}\n",
                tr(
                    "Recibimos su mensaje y lo agregamos a la queja",
                    "We received your message and added it to complaint"
                ),
                case_ref,
                tr(
                    "Si usted no nos escribió, ignore este mensaje.",
                    "If you did not write to us, ignore this message."
                ),
            ),
        ),
    };
    let references = references(mail);
    Some(Outgoing {
        to,
        subject: crate::channels::email::case_subject(case_ref, &subject),
        body,
        message_id: format!("{}@{}", Uuid::new_v4().simple(), settings.hostname),
        in_reply_to: mail.message_id.clone(),
        references,
        reply_to,
        language: lang.code().to_owned(),
    })
}

/// The References of an answer to `mail`: the last of its own, then its Message-ID.
fn references(mail: &Mail) -> Vec<String> {
    let mut references: Vec<String> = mail
        .thread_ids
        .iter()
        .rev()
        .take(9)
        .rev()
        .cloned()
        .collect();
    if let Some(id) = &mail.message_id {
        references.retain(|r| r != id);
        references.push(id.clone());
    }
    references
}

/// The answer to a complaint whose deferral line has a date Buzón cannot wait for:
/// nothing was filed (the message is held for a person), and the worker is told
/// the rule and asked to write again. `None` when there is no sender to answer.
pub(in crate::channels::email) fn invalid_hold_date(
    settings: &crate::config::EmailSettings,
    mail: &Mail,
    today: chrono::NaiveDate,
) -> Option<Outgoing> {
    let to = mail.from.clone()?;
    let lang = mail.language;
    let tr = |es: &str, en: &str| crate::channels::whatsapp::conversation::tr(lang, es, en);
    let last = (today + chrono::Duration::days(crate::domain::limits::MAX_HOLD_DAYS))
        .format("%Y-%m-%d")
        .to_string();
    let body = format!(
        "{}\n\n{} {last}.\n\n{}\n\n{}\n",
        tr(
            "Todavía no guardamos su queja: la fecha de la línea ESPERAR HASTA no es válida.",
            "We have not stored your complaint yet: the date in the WAIT UNTIL line is not valid."
        ),
        tr(
            "Escriba una fecha después de hoy y como máximo a 90 días, por ejemplo ESPERAR HASTA 2027-03-01 o ESPERAR HASTA 01/03/2027 (día/mes/año). La última fecha posible hoy es el",
            "Write a date after today and at most 90 days ahead, for example WAIT UNTIL 2027-03-01 or WAIT UNTIL 01/03/2027 (day/month/year). The latest possible date today is"
        ),
        tr(
            "Envíe su queja de nuevo con la fecha corregida, o sin esa línea si quiere que la revisemos pronto.",
            "Send your complaint again with the date corrected, or without that line if you want us to review it soon."
        ),
        tr(
            "Si usted no nos escribió, ignore este mensaje.",
            "If you did not write to us, ignore this message."
        ),
    );
    Some(Outgoing {
        to,
        subject: tr(
            "Su queja no se guardó: revise la fecha",
            "Your complaint was not stored: check the date",
        ),
        body,
        message_id: format!("{}@{}", Uuid::new_v4().simple(), settings.hostname),
        in_reply_to: mail.message_id.clone(),
        references: references(mail),
        reply_to: None,
        language: lang.code().to_owned(),
    })
}
