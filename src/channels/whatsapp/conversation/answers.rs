//! Reading an answer: a tap on a button or list row, or typed text, at the current
//! step. Typed words for the buttons are understood too ("no sé", "listo", "sí"),
//! text that follows the story is more of the story, and a change from the summary
//! goes back to the summary.

use super::*;
use crate::domain::hold_allowed;
use chrono::NaiveDate;

/// The step after an answer: the summary when the worker is changing one answer
/// from it, otherwise `natural`.
fn after(conv: &mut Conversation, natural: Step) -> Step {
    if std::mem::take(&mut conv.fixing) {
        Step::Confirm
    } else {
        natural
    }
}

pub(super) fn on_choice(mut conv: Conversation, id: &str) -> Outcome {
    let lang = conv.lang();
    let (kind, value) = id.split_once(':').unwrap_or((id, ""));
    // A tap (or a typed choice) ends the story: later text is not more of it.
    conv.story_open = false;
    let complete = conv.step == Step::Fix || conv.fixing;
    let moved = match (conv.step, kind, value) {
        (_, "lang", code) if Language::parse(code).is_some() => {
            conv.language = code.to_owned();
            true
        }
        (Step::Consent, "consent", "yes") => {
            conv.step = Step::Anonymity;
            true
        }
        (Step::Consent, "consent", "no") => {
            return erase(vec![Reply::Text(tr(
                lang,
                "Entendido. No guardamos nada. Si cambia de opinión, escríbanos cuando quiera.",
                "Understood. We kept nothing. If you change your mind, write to us at any time.",
            ))]);
        }
        (Step::Anonymity | Step::Name, "anon", "yes") => {
            conv.anonymous = Some(true);
            conv.name = None;
            conv.step = after(&mut conv, Step::State);
            true
        }
        (Step::Anonymity, "anon", "no") => {
            conv.anonymous = Some(false);
            conv.step = Step::Name;
            true
        }
        (Step::State, "state", code) if StateCode::parse(code).is_some() => {
            conv.state = Some(code.to_owned());
            conv.step = after(&mut conv, Step::Employer);
            true
        }
        (Step::City, "city", "skip") => {
            conv.city = None;
            conv.page = 0;
            conv.step = after(&mut conv, Step::Sector);
            true
        }
        (Step::Sector, "sector", "more") => {
            conv.page += 1;
            true
        }
        (Step::Sector, "sector", code) if Sector::parse(code).is_some() => {
            conv.sector = Some(code.to_owned());
            conv.page = 0;
            conv.step = after(&mut conv, Step::Violations);
            true
        }
        (Step::Violations, "viol", "more") => {
            conv.page += 1;
            true
        }
        (Step::Violations, "viol", "done") if !conv.violations.is_empty() => {
            conv.page = 0;
            conv.step = after(&mut conv, Step::Trade);
            true
        }
        // Changing the answer from the summary: a tap adds what was not chosen or
        // takes out what was, and goes back to the summary; one must stay.
        (Step::Violations, "viol", code) if conv.fixing && Violation::parse(code).is_some() => {
            let chosen = conv.violations.iter().position(|v| v == code);
            match chosen {
                Some(_) if conv.violations.len() == 1 => {
                    let replies = vec![
                        Reply::Text(tr(
                            lang,
                            "Su queja necesita al menos una cosa que pasó. Elija otra primero y después quite esta.",
                            "Your complaint needs at least one thing that happened. Choose another first, then take this one out.",
                        )),
                        prompt(&conv),
                    ];
                    return keep(conv, replies);
                }
                Some(i) => {
                    conv.violations.remove(i);
                }
                None => conv.violations.push(code.to_owned()),
            }
            conv.page = 0;
            conv.step = after(&mut conv, Step::Trade);
            true
        }
        (Step::Violations, "viol", code) if Violation::parse(code).is_some() => {
            if !conv.violations.iter().any(|v| v == code) {
                conv.violations.push(code.to_owned());
            }
            conv.page = 0;
            true
        }
        (Step::Trade, "trade", code) if TradeNexus::parse(code).is_some() => {
            conv.trade_with_us = Some(code.to_owned());
            conv.step = after(&mut conv, Step::Narrative);
            true
        }
        // "No, enviar ahora": no deferral (the evidence step's button keeps its old id).
        (Step::Evidence | Step::HoldDate, "evidence", "done")
        | (Step::Evidence | Step::HoldDate, "hold", "no") => {
            conv.hold_until = None;
            conv.fixing = false;
            conv.step = Step::Confirm;
            true
        }
        (Step::Evidence, "hold", "yes") => {
            conv.step = Step::HoldDate;
            true
        }
        // Also from the list of answers, or while one is changed: the summary's
        // "Enviar" is still on the screen, and every answer is there.
        (step, "confirm", "send") if step == Step::Confirm || complete => {
            return Outcome {
                conversation: Some(conv),
                file: true,
                ..Outcome::default()
            };
        }
        (Step::Confirm | Step::Fix, "confirm", "restart") => {
            conv.step = Step::Fix;
            conv.fixing = false;
            conv.page = 0;
            true
        }
        (Step::Fix, "fix", field) => {
            let step = match field {
                "who" => Some(Step::Name),
                "state" => Some(Step::State),
                "employer" => Some(Step::Employer),
                "city" => Some(Step::City),
                "sector" => Some(Step::Sector),
                "viol" => Some(Step::Violations),
                "trade" => Some(Step::Trade),
                "story" => Some(Step::Narrative),
                "hold" => Some(Step::HoldDate),
                "back" => Some(Step::Confirm),
                _ => None,
            };
            match step {
                Some(step) => {
                    conv.fixing = step != Step::Confirm;
                    conv.step = step;
                    conv.page = 0;
                    true
                }
                None => false,
            }
        }
        _ => false,
    };
    if moved {
        let replies = vec![prompt(&conv)];
        return keep(conv, replies);
    }
    // A tap on an old list or button: show the current question again.
    let replies = vec![
        Reply::Text(tr(
            lang,
            "Esa opción ya no aplica. Conteste esta pregunta:",
            "That option no longer applies. Please answer this question:",
        )),
        prompt(&conv),
    ];
    keep(conv, replies)
}

/// The typed words that mean a button or row of the current step.
fn typed_choice(conv: &Conversation, text: &str) -> Option<&'static str> {
    let folded = fold(&text.replace([',', ';'], " "));
    let dont_know = is_dont_know(text);
    let choice = match (conv.step, folded.as_str()) {
        (Step::Consent, "SI" | "ACEPTO" | "YES" | "I AGREE" | "AGREE" | "OK") => "consent:yes",
        (Step::Consent, "NO" | "NO ACEPTO") => "consent:no",
        (Step::Anonymity, "ANONIMO" | "ANONIMA" | "ANONYMOUS") => "anon:yes",
        (Step::Anonymity, "CON MI NOMBRE" | "NOMBRE" | "WITH MY NAME" | "NAME") => "anon:no",
        (Step::Name, "ANONIMO" | "ANONIMA" | "ANONYMOUS" | "MEJOR ANONIMO") => "anon:yes",
        (Step::City, "OMITIR" | "SKIP") => "city:skip",
        (Step::City, _) if dont_know => "city:skip",
        (Step::Sector, _) if dont_know => "sector:unknown",
        (Step::Trade, "SI" | "YES") => "trade:yes",
        (Step::Trade, "NO") => "trade:no",
        (Step::Trade, _) if dont_know => "trade:unknown",
        (Step::Violations, "LISTO" | "ESO ES TODO" | "DONE" | "THAT'S ALL")
            if !conv.violations.is_empty() =>
        {
            "viol:done"
        }
        (
            Step::Evidence,
            "LISTO" | "NO" | "SIN PRUEBAS" | "DONE" | "NONE" | "NO ENVIAR AHORA" | "ENVIAR AHORA"
            | "AHORA" | "NO SEND NOW" | "SEND NOW" | "NOW",
        ) => "evidence:done",
        (Step::Evidence, "SI" | "SI ESPERAR" | "ESPERAR" | "YES" | "YES WAIT" | "WAIT") => {
            "hold:yes"
        }
        (
            Step::HoldDate,
            "NO" | "NO ESPERAR" | "NO ENVIAR AHORA" | "ENVIAR AHORA" | "AHORA" | "NO SEND NOW"
            | "SEND NOW" | "NOW" | "DON'T WAIT",
        ) => "hold:no",
        (Step::Confirm, "ENVIAR" | "SI" | "SEND" | "YES") => "confirm:send",
        (Step::Confirm, "CORREGIR" | "CAMBIAR" | "EDITAR" | "CHANGE" | "EDIT" | "FIX") => {
            "confirm:restart"
        }
        (Step::Fix, "VOLVER" | "BACK" | "NADA" | "NOTHING") => "fix:back",
        _ => return None,
    };
    Some(choice)
}

/// A question answered in the worker's words: how long the answer may be, and what
/// to say when it is longer.
fn free_text(step: Step) -> (usize, (&'static str, &'static str)) {
    match step {
        Step::Name => (
            limits::NAME,
            (
                "Ese nombre es demasiado largo. Escriba solo su nombre.",
                "That name is too long. Write just your name.",
            ),
        ),
        Step::Employer => (
            limits::EMPLOYER,
            (
                "Es demasiado largo. Escriba solo el nombre de la empresa.",
                "That is too long. Write just the company's name.",
            ),
        ),
        Step::City => (
            limits::CITY,
            (
                "Es demasiado largo. Escriba solo el nombre de la ciudad.",
                "That is too long. Write just the city's name.",
            ),
        ),
        _ => (
            limits::NARRATIVE,
            (
                "Es demasiado largo. Cuéntelo en menos palabras.",
                "That is too long. Please tell it in fewer words.",
            ),
        ),
    }
}

pub(super) fn on_text(mut conv: Conversation, text: &str, today: NaiveDate) -> Outcome {
    let lang = conv.lang();
    let retry = |conv: Conversation, message: String| {
        let replies = vec![Reply::Text(message), prompt(&conv)];
        keep(conv, replies)
    };
    if let Some(choice) = typed_choice(&conv, text) {
        return on_choice(conv, choice);
    }
    match conv.step {
        Step::Name | Step::Employer | Step::City | Step::Narrative => {
            let (max, too_long) = free_text(conv.step);
            let value = match Text::parse(text, max) {
                Ok(value) => Some(value.as_str().to_owned()),
                Err(ErrorCode::TooLong) => return retry(conv, tr(lang, too_long.0, too_long.1)),
                // Nothing but spaces: the question again, nothing is too long.
                Err(_) => {
                    let replies = vec![prompt(&conv)];
                    return keep(conv, replies);
                }
            };
            let next = match conv.step {
                Step::Name => {
                    conv.anonymous = Some(false);
                    conv.name = value;
                    Step::State
                }
                Step::Employer => {
                    conv.employer = value;
                    Step::City
                }
                Step::City => {
                    conv.city = value;
                    conv.page = 0;
                    Step::Sector
                }
                _ => {
                    conv.narrative = value;
                    conv.story_open = true;
                    Step::Evidence
                }
            };
            conv.step = after(&mut conv, next);
        }
        Step::State => match state_candidates(text).as_slice() {
            [one] => {
                conv.state = Some(one.code().to_owned());
                conv.step = after(&mut conv, Step::Employer);
            }
            [] => {
                return retry(
                    conv,
                    tr(
                        lang,
                        "No reconocimos ese estado.",
                        "We did not recognize that state.",
                    ),
                );
            }
            several => {
                let replies = vec![which_state(lang, several)];
                return keep(conv, replies);
            }
        },
        // A date typed at the deferral question answers it.
        Step::Evidence | Step::HoldDate if parse_date(text).is_some() => {
            return on_hold_date(conv, text, today);
        }
        Step::HoldDate => return on_hold_date(conv, text, today),
        // The story sent in several messages: what follows it is more of it.
        Step::Evidence => return add_to_story(conv, text),
        Step::Confirm if conv.story_open => return add_to_story(conv, text),
        Step::Consent
        | Step::Anonymity
        | Step::Sector
        | Step::Violations
        | Step::Trade
        | Step::Confirm
        | Step::Fix => {
            return retry(
                conv,
                tr(
                    lang,
                    "Por favor use los botones o la lista de este mensaje:",
                    "Please use the buttons or the list in this message:",
                ),
            );
        }
    }
    let replies = vec![prompt(&conv)];
    keep(conv, replies)
}

/// Appends a message to the story, says so, and asks the question again.
fn add_to_story(mut conv: Conversation, text: &str) -> Outcome {
    let lang = conv.lang();
    let joined = match conv.narrative.as_deref() {
        Some(story) => format!("{story}\n{text}"),
        None => text.to_owned(),
    };
    let message = match Text::parse(&joined, limits::NARRATIVE) {
        Ok(story) => {
            conv.narrative = Some(story.as_str().to_owned());
            conv.story_open = true;
            tr(
                lang,
                "Agregamos este mensaje a lo que nos contó.",
                "We added this message to what you told us.",
            )
        }
        Err(ErrorCode::TooLong) => tr(
            lang,
            "Lo que nos contó ya es muy largo: no pudimos agregar este mensaje.",
            "What you told us is already very long: we could not add this message.",
        ),
        Err(_) => tr(
            lang,
            "Por favor use los botones de este mensaje:",
            "Please use the buttons in this message:",
        ),
    };
    let replies = vec![Reply::Text(message), prompt(&conv)];
    keep(conv, replies)
}

/// The date to wait until, typed: checked by the same rule as the web form.
fn on_hold_date(mut conv: Conversation, text: &str, today: NaiveDate) -> Outcome {
    let lang = conv.lang();
    let message = match parse_date(text) {
        Some(day) if hold_allowed(day, today) => {
            conv.hold_until = Some(day.format("%Y-%m-%d").to_string());
            conv.fixing = false;
            conv.story_open = false;
            conv.step = Step::Confirm;
            let replies = vec![prompt(&conv)];
            return keep(conv, replies);
        }
        Some(_) => {
            let first = today + chrono::Duration::days(1);
            let last = today + chrono::Duration::days(limits::MAX_HOLD_DAYS);
            match lang {
                Language::Es => format!(
                    "La fecha debe estar entre el {} y el {}.",
                    date_words(first, lang),
                    date_words(last, lang)
                ),
                Language::En => format!(
                    "The date must be between {} and {}.",
                    date_words(first, lang),
                    date_words(last, lang)
                ),
            }
        }
        None => tr(
            lang,
            "No entendimos la fecha. Escríbala como día/mes/año, por ejemplo 01/03/2027.",
            "We did not understand the date. Write it as day/month/year, for example 01/03/2027.",
        ),
    };
    conv.step = Step::HoldDate;
    let replies = vec![Reply::Text(message), prompt(&conv)];
    keep(conv, replies)
}
