//! The guided WhatsApp intake as a pure state machine: a stored [`Conversation`] and
//! one incoming [`Input`] give the replies to send and what to do next. No I/O here,
//! so every path is unit-tested; the worker (`../worker/`) stores, files and sends.
//!
//! Order of questions: privacy notice and consent, anonymity (name if not anonymous),
//! state, workplace, city, sector, what happened, trade with the US, description,
//! evidence, summary to confirm. Keywords work at any point: AYUDA/HELP,
//! CANCELAR/CANCEL, BORRAR/DELETE, ESTADO/STATUS <receipt>, ENGLISH/ESPAÑOL,
//! DERECHOS/RIGHTS (the rights guide, [`crate::rights`], added by [`send_rights`]).

mod prompts;
#[cfg(test)]
mod tests;
mod words;
pub use prompts::*;
pub use words::*;

use crate::crypto::receipt::Receipt;
pub use crate::domain::truncate;
use crate::domain::{
    Channel, IntakeDraft, Language, NewComplaint, PhoneNumber, Sector, StateCode, Text, TradeNexus,
    Violation, limits,
};
use crate::routing::{Directory, Rules};
use serde::{Deserialize, Serialize};

/// Files a worker may send as evidence, the list e-mail shares
/// (`intake::evidence`): the media type without parameters, normalized, if it is
/// one we keep; anything else is politely refused.
pub use crate::intake::evidence::accepted_media_type;

/// Evidence files per complaint.
pub const MAX_ATTACHMENTS: u32 = 10;

/// WhatsApp's own limits on interactive messages (Cloud API reference).
pub mod wa_limits {
    pub const BUTTONS: usize = 3;
    pub const BUTTON_TITLE: usize = 20;
    pub const LIST_ROWS: usize = 10;
    pub const ROW_TITLE: usize = 24;
    pub const ROW_DESCRIPTION: usize = 72;
    pub const INTERACTIVE_BODY: usize = 1024;
    pub const TEXT_BODY: usize = 4096;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    Consent,
    Anonymity,
    Name,
    State,
    Employer,
    City,
    Sector,
    Violations,
    Trade,
    Narrative,
    Evidence,
    Confirm,
}

/// An intake in progress. Stored only encrypted; never `Debug`.
#[derive(Clone, Serialize, Deserialize)]
pub struct Conversation {
    /// The sender as WhatsApp names them (digits of the number).
    pub wa_id: String,
    pub language: String,
    pub step: Step,
    /// Page of the list shown at the sector and violation steps.
    #[serde(default)]
    pub page: usize,
    pub anonymous: Option<bool>,
    pub name: Option<String>,
    pub state: Option<String>,
    pub employer: Option<String>,
    pub city: Option<String>,
    pub sector: Option<String>,
    #[serde(default)]
    pub violations: Vec<String>,
    pub trade_with_us: Option<String>,
    pub narrative: Option<String>,
    #[serde(default)]
    pub attachments: u32,
}

impl Conversation {
    fn new(wa_id: &str, lang: Language) -> Self {
        Self {
            wa_id: wa_id.to_owned(),
            language: lang.code().to_owned(),
            step: Step::Consent,
            page: 0,
            anonymous: None,
            name: None,
            state: None,
            employer: None,
            city: None,
            sector: None,
            violations: Vec::new(),
            trade_with_us: None,
            narrative: None,
            attachments: 0,
        }
    }

    pub fn lang(&self) -> Language {
        Language::parse(&self.language).unwrap_or_default()
    }

    /// The answers as the intake core's draft; the WhatsApp number is the contact of
    /// a worker who gives their name.
    pub fn draft(&self) -> IntakeDraft {
        let anonymous = self.anonymous.unwrap_or(true);
        let phone = (!anonymous)
            .then(|| PhoneNumber::parse(&format!("+{}", self.wa_id)).ok())
            .flatten()
            .map(|p| p.e164().to_owned());
        IntakeDraft {
            language: Some(self.language.clone()),
            anonymous,
            name: if anonymous { None } else { self.name.clone() },
            phone,
            employer: self.employer.clone(),
            city: self.city.clone(),
            state: self.state.clone(),
            sector: self.sector.clone(),
            trade_with_us: self.trade_with_us.clone(),
            violations: self.violations.clone(),
            narrative: self.narrative.clone(),
            ..IntakeDraft::default()
        }
    }

    pub fn complaint(&self, today: chrono::NaiveDate) -> Option<NewComplaint> {
        self.draft().validate(Channel::WhatsApp, today).ok()
    }
}

/// A file the worker sent, as the webhook described it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Media {
    pub id: String,
    pub mime_type: String,
    pub sha256: Option<String>,
    pub caption: Option<String>,
}

/// One incoming WhatsApp message, reduced to what the conversation understands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    Text(String),
    /// The id of a button or list row the worker tapped.
    Choice(String),
    Media(Media),
    /// Stickers, reactions, locations, orders, contacts, future types...
    Unsupported,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
}

/// A message to send back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    Text(String),
    /// Up to three reply buttons: (id, title).
    Buttons {
        body: String,
        buttons: Vec<(String, String)>,
    },
    List {
        body: String,
        button: String,
        rows: Vec<Row>,
    },
}

/// What the worker must do after one input.
#[derive(Default)]
pub struct Outcome {
    pub replies: Vec<Reply>,
    /// The conversation to store; `None` erases it (and its unfiled attachments).
    pub conversation: Option<Conversation>,
    /// File the complaint now (the conversation is complete and confirmed).
    pub file: bool,
    /// Look up a case by this receipt and answer with its status.
    pub status_lookup: Option<String>,
    /// The language to answer that look-up in: the conversation's, or the keyword's.
    pub status_language: Language,
    /// Store this file as evidence of the conversation.
    pub media: Option<Media>,
    /// Send the rights guide before the replies ([`send_rights`] does).
    pub rights: Option<RightsAsk>,
}

/// Which part of the rights guide a worker asked for, and in which language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RightsAsk {
    pub lang: Language,
    /// A topic's id, or `None` for the short guide of every topic.
    pub topic: Option<&'static str>,
}

/// Puts the rights guide the outcome asks for before its replies, generated from the
/// routing rules the server routes by ([`crate::rights::whatsapp_messages`]).
pub fn send_rights(outcome: &mut Outcome, rules: &Rules, directory: &Directory) {
    let Some(ask) = outcome.rights.take() else {
        return;
    };
    let messages = ask
        .topic
        .and_then(|id| crate::rights::whatsapp_topic(rules, directory, ask.lang, id))
        .unwrap_or_else(|| crate::rights::whatsapp_messages(rules, directory, ask.lang));
    let guide = messages.into_iter().map(Reply::Text);
    outcome.replies.splice(0..0, guide);
}

/// The text in the reader's language.
pub fn tr(lang: Language, es: &str, en: &str) -> String {
    lang.pick(es, en).to_owned()
}

/// Advances the conversation by one input.
pub fn advance(current: Option<Conversation>, wa_id: &str, input: Input) -> Outcome {
    let text_keyword = match &input {
        Input::Text(t) => keyword(t),
        _ => None,
    };
    if let Some((kw, kw_lang)) = text_keyword {
        return on_keyword(current, wa_id, kw, kw_lang);
    }
    let Some(conv) = current else {
        let lang = match &input {
            Input::Text(t) if is_english_greeting(t) => Language::En,
            _ => Language::Es,
        };
        let conv = Conversation::new(wa_id, lang);
        let mut replies = Vec::new();
        if matches!(input, Input::Media(_) | Input::Unsupported) {
            replies.push(Reply::Text(tr(
                lang,
                "Antes de recibir archivos necesitamos su permiso.",
                "Before we can take files we need your consent.",
            )));
        }
        replies.push(prompt(&conv));
        return keep(conv, replies);
    };
    let lang = conv.lang();
    match input {
        Input::Unsupported => {
            let replies = vec![
                Reply::Text(tr(
                    lang,
                    "Solo podemos leer texto, fotos, documentos y notas de voz. Siga con la pregunta de abajo.",
                    "We can only read text, photos, documents and voice notes. Please go on with the question below.",
                )),
                prompt(&conv),
            ];
            keep(conv, replies)
        }
        Input::Media(media) => on_media(conv, media),
        Input::Choice(id) => on_choice(conv, &id),
        Input::Text(text) => on_text(conv, &text),
    }
}

fn keep(conv: Conversation, replies: Vec<Reply>) -> Outcome {
    Outcome {
        replies,
        conversation: Some(conv),
        ..Outcome::default()
    }
}

fn erase(replies: Vec<Reply>) -> Outcome {
    Outcome {
        replies,
        ..Outcome::default()
    }
}

fn on_keyword(
    current: Option<Conversation>,
    wa_id: &str,
    kw: Keyword,
    kw_lang: Language,
) -> Outcome {
    let lang = current.as_ref().map_or(kw_lang, Conversation::lang);
    match kw {
        Keyword::Help => {
            let mut replies = vec![Reply::Text(help_text(lang))];
            match current {
                Some(conv) => {
                    replies.push(prompt(&conv));
                    keep(conv, replies)
                }
                None => erase(replies),
            }
        }
        Keyword::Cancel => erase(vec![Reply::Text(if current.is_some() {
            tr(
                lang,
                "Listo: cancelamos su queja y borramos lo que escribió. Puede empezar de nuevo cuando quiera.",
                "Done: your complaint was cancelled and what you wrote was erased. You can start again at any time.",
            )
        } else {
            tr(
                lang,
                "No hay ninguna queja en curso. Escriba cualquier mensaje para empezar una.",
                "There is no complaint in progress. Send any message to start one.",
            )
        })]),
        Keyword::Delete => erase(vec![Reply::Text(tr(
            lang,
            "Borramos todo lo que escribió en esta conversación. Las quejas que ya envió no cambian; para verlas use su código.",
            "We erased everything you wrote in this conversation. Complaints you already sent are not affected; use your code to see them.",
        ))]),
        Keyword::Status(None) => {
            let reply = Reply::Text(tr(
                lang,
                "Para ver su queja escriba ESTADO y su código, por ejemplo: ESTADO ABCD-EFGH-JKMN-PQRS-TVWX-YZ01",
                "To see your complaint write STATUS and your code, for example: STATUS ABCD-EFGH-JKMN-PQRS-TVWX-YZ01",
            ));
            match current {
                Some(conv) => keep(conv, vec![reply]),
                None => erase(vec![reply]),
            }
        }
        // Answered by the worker; a conversation in progress stays as it is.
        Keyword::Status(Some(receipt)) => Outcome {
            status_lookup: Some(receipt),
            status_language: lang,
            conversation: current,
            ..Outcome::default()
        },
        // The guide goes first (send_rights); an intake in progress stays, and its
        // question is asked again.
        Keyword::Rights(topic) => {
            let rights = Some(RightsAsk { lang, topic });
            match current {
                Some(conv) => {
                    let replies = vec![
                        Reply::Text(tr(
                            lang,
                            "Su queja sigue guardada. Siga con la pregunta:",
                            "Your complaint is still saved. Please go on with the question:",
                        )),
                        prompt(&conv),
                    ];
                    Outcome {
                        rights,
                        ..keep(conv, replies)
                    }
                }
                None => Outcome {
                    rights,
                    ..Outcome::default()
                },
            }
        }
        Keyword::Language(new) => {
            let mut conv = current.unwrap_or_else(|| Conversation::new(wa_id, new));
            conv.language = new.code().to_owned();
            let replies = vec![prompt(&conv)];
            keep(conv, replies)
        }
    }
}

fn on_media(mut conv: Conversation, media: Media) -> Outcome {
    let lang = conv.lang();
    if conv.step == Step::Consent {
        let replies = vec![
            Reply::Text(tr(
                lang,
                "Antes de recibir archivos necesitamos su permiso.",
                "Before we can take files we need your consent.",
            )),
            prompt(&conv),
        ];
        return keep(conv, replies);
    }
    let Some(mime) = accepted_media_type(&media.mime_type) else {
        let mut replies = vec![Reply::Text(tr(
            lang,
            "No podemos guardar ese tipo de archivo. Envíe fotos, PDF, documentos de Word o notas de voz.",
            "We cannot keep that kind of file. Send photos, PDFs, Word documents or voice notes.",
        ))];
        if conv.step != Step::Evidence {
            replies.push(prompt(&conv));
        }
        return keep(conv, replies);
    };
    if conv.attachments >= MAX_ATTACHMENTS {
        let replies = vec![Reply::Text(tr(
            lang,
            "Ya recibimos 10 archivos, el máximo para una queja. Cuando termine, siga con la pregunta.",
            "We already have 10 files, the most one complaint can carry. Please go on with the question.",
        ))];
        return keep(conv, replies);
    }
    conv.attachments += 1;
    let mut replies = vec![Reply::Text(format!(
        "📎 {} ({})",
        tr(lang, "Archivo recibido", "File received"),
        conv.attachments
    ))];
    if conv.step == Step::Evidence {
        replies.push(prompt(&conv));
    } else {
        replies.push(Reply::Text(tr(
            lang,
            "Lo agregaremos a su queja. Siga con la pregunta:",
            "We will add it to your complaint. Please go on with the question:",
        )));
        replies.push(prompt(&conv));
    }
    Outcome {
        replies,
        conversation: Some(conv),
        media: Some(Media {
            mime_type: mime,
            ..media
        }),
        ..Outcome::default()
    }
}

fn on_choice(mut conv: Conversation, id: &str) -> Outcome {
    let lang = conv.lang();
    let (kind, value) = id.split_once(':').unwrap_or((id, ""));
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
        (Step::Anonymity, "anon", "yes") => {
            conv.anonymous = Some(true);
            conv.name = None;
            conv.step = Step::State;
            true
        }
        (Step::Anonymity, "anon", "no") => {
            conv.anonymous = Some(false);
            conv.step = Step::Name;
            true
        }
        (Step::City, "city", "skip") => {
            conv.city = None;
            conv.step = Step::Sector;
            conv.page = 0;
            true
        }
        (Step::Sector, "sector", "more") => {
            conv.page += 1;
            true
        }
        (Step::Sector, "sector", code) if Sector::parse(code).is_some() => {
            conv.sector = Some(code.to_owned());
            conv.step = Step::Violations;
            conv.page = 0;
            true
        }
        (Step::Violations, "viol", "more") => {
            conv.page += 1;
            true
        }
        (Step::Violations, "viol", "done") if !conv.violations.is_empty() => {
            conv.step = Step::Trade;
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
            conv.step = Step::Narrative;
            true
        }
        (Step::Evidence, "evidence", "done") => {
            conv.step = Step::Confirm;
            true
        }
        (Step::Confirm, "confirm", "send") => {
            return Outcome {
                conversation: Some(conv),
                file: true,
                ..Outcome::default()
            };
        }
        (Step::Confirm, "confirm", "restart") => {
            let fresh = Conversation {
                step: Step::Anonymity,
                attachments: conv.attachments,
                ..Conversation::new(&conv.wa_id, lang)
            };
            conv = fresh;
            true
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

fn on_text(mut conv: Conversation, text: &str) -> Outcome {
    let lang = conv.lang();
    let folded = fold(text);
    let retry = |conv: Conversation, es: &str, en: &str| {
        let replies = vec![Reply::Text(tr(lang, es, en)), prompt(&conv)];
        keep(conv, replies)
    };
    // Typed answers to button questions are understood too.
    let typed_choice = match (conv.step, folded.as_str()) {
        (Step::Consent, "SI" | "ACEPTO" | "YES" | "I AGREE" | "AGREE" | "OK") => {
            Some("consent:yes")
        }
        (Step::Consent, "NO" | "NO ACEPTO") => Some("consent:no"),
        (Step::Anonymity, "ANONIMO" | "ANONIMA" | "ANONYMOUS") => Some("anon:yes"),
        (Step::Anonymity, "CON MI NOMBRE" | "NOMBRE" | "WITH MY NAME" | "NAME") => Some("anon:no"),
        (Step::City, "NO SE" | "OMITIR" | "SKIP" | "I DON'T KNOW" | "DON'T KNOW") => {
            Some("city:skip")
        }
        (Step::Trade, "SI" | "YES") => Some("trade:yes"),
        (Step::Trade, "NO") => Some("trade:no"),
        (Step::Trade, "NO SE" | "I DON'T KNOW" | "DON'T KNOW") => Some("trade:unknown"),
        (Step::Violations, "LISTO" | "ESO ES TODO" | "DONE") if !conv.violations.is_empty() => {
            Some("viol:done")
        }
        (Step::Evidence, "LISTO" | "NO" | "SIN PRUEBAS" | "DONE" | "NONE") => Some("evidence:done"),
        (Step::Confirm, "ENVIAR" | "SI" | "SEND" | "YES") => Some("confirm:send"),
        _ => None,
    };
    if let Some(choice) = typed_choice {
        return on_choice(conv, choice);
    }
    match conv.step {
        Step::Name => match Text::parse(text, limits::NAME) {
            Ok(name) => {
                conv.name = Some(name.as_str().to_owned());
                conv.step = Step::State;
            }
            Err(_) => {
                return retry(
                    conv,
                    "Ese nombre es demasiado largo. Escriba solo su nombre.",
                    "That name is too long. Write just your name.",
                );
            }
        },
        Step::State => match match_state(text) {
            Some(state) => {
                conv.state = Some(state.code().to_owned());
                conv.step = Step::Employer;
            }
            None => {
                return retry(
                    conv,
                    "No reconocimos ese estado.",
                    "We did not recognize that state.",
                );
            }
        },
        Step::Employer => match Text::parse(text, limits::EMPLOYER) {
            Ok(employer) => {
                conv.employer = Some(employer.as_str().to_owned());
                conv.step = Step::City;
            }
            Err(_) => {
                return retry(
                    conv,
                    "Es demasiado largo. Escriba solo el nombre de la empresa.",
                    "That is too long. Write just the company's name.",
                );
            }
        },
        Step::City => match Text::parse(text, limits::CITY) {
            Ok(city) => {
                conv.city = Some(city.as_str().to_owned());
                conv.step = Step::Sector;
                conv.page = 0;
            }
            Err(_) => {
                return retry(
                    conv,
                    "Es demasiado largo. Escriba solo el nombre de la ciudad.",
                    "That is too long. Write just the city's name.",
                );
            }
        },
        Step::Narrative => match Text::parse(text, limits::NARRATIVE) {
            Ok(narrative) => {
                conv.narrative = Some(narrative.as_str().to_owned());
                conv.step = Step::Evidence;
            }
            Err(_) => {
                return retry(
                    conv,
                    "Es demasiado largo. Cuéntelo en menos palabras.",
                    "That is too long. Please tell it in fewer words.",
                );
            }
        },
        Step::Consent
        | Step::Anonymity
        | Step::Sector
        | Step::Violations
        | Step::Trade
        | Step::Evidence
        | Step::Confirm => {
            return retry(
                conv,
                "Por favor use los botones o la lista de este mensaje:",
                "Please use the buttons or the list in this message:",
            );
        }
    }
    let replies = vec![prompt(&conv)];
    keep(conv, replies)
}
