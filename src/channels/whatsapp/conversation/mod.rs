//! The guided WhatsApp intake as a pure state machine: a stored [`Conversation`] and
//! one incoming [`Input`] give the replies to send and what to do next. No I/O here,
//! so every path is unit-tested; the worker (`../worker/`) stores, files and sends.
//!
//! Order of questions: privacy notice and consent, anonymity (name if not anonymous),
//! state (asked back when the name fits several, "Baja"), workplace, city, sector,
//! what happened, trade with the US, description (in one or several messages),
//! evidence and whether to hold the complaint until a date (the web form's rule),
//! summary to confirm, where "Corregir" changes one answer and comes back. The
//! quickest anonymous filing is 13 messages from "hola" to the receipt; changing one
//! answer from the summary costs 3 (tests.rs counts both). Keywords work at any point: AYUDA/HELP,
//! CANCELAR/CANCEL, BORRAR/DELETE, ESTADO/STATUS <receipt>, ENGLISH/ESPAÑOL,
//! DERECHOS/RIGHTS (the rights guide, [`crate::rights`], added by [`send_rights`]).

mod answers;
mod prompts;
#[cfg(test)]
mod tests;
mod words;
pub use prompts::*;
pub use words::*;

use crate::crypto::receipt::Receipt;
pub use crate::domain::truncate;
use crate::domain::{
    Channel, ErrorCode, IntakeDraft, Language, NewComplaint, PhoneNumber, Sector, StateCode, Text,
    TradeNexus, Violation, limits,
};
use crate::routing::{Directory, Rules};
use answers::{on_choice, on_text};
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
    /// Files, then whether to hold the complaint until a date (its "No, enviar
    /// ahora" button keeps the id `evidence:done`).
    Evidence,
    Confirm,
    /// The date to hold the complaint until, typed.
    HoldDate,
    /// The list of answers, to change one from the summary.
    Fix,
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
    /// Deferred filing: nobody reviews the case before this day (`YYYY-MM-DD`).
    #[serde(default)]
    pub hold_until: Option<String>,
    /// Changing one answer from the summary: that answer goes back to the summary.
    #[serde(default)]
    pub fixing: bool,
    /// The story was the last thing written: more text is more of the story.
    #[serde(default)]
    pub story_open: bool,
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
            hold_until: None,
            fixing: false,
            story_open: false,
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
            hold_until: self.hold_until.clone(),
            ..IntakeDraft::default()
        }
    }

    /// The complaint to file today. A hold date that has come while the
    /// conversation waited holds nothing back any more, so it is left out.
    pub fn complaint(&self, today: chrono::NaiveDate) -> Option<NewComplaint> {
        let mut draft = self.draft();
        if self.held_until().is_some_and(|d| d <= today) {
            draft.hold_until = None;
        }
        draft.validate(Channel::WhatsApp, today).ok()
    }

    /// The day chosen to hold the complaint until, if any.
    pub fn held_until(&self) -> Option<chrono::NaiveDate> {
        self.hold_until
            .as_deref()
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
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

/// Advances the conversation by one input, today being the server's day in Mexico
/// City ([`crate::clock::today`]).
pub fn advance(current: Option<Conversation>, wa_id: &str, input: Input) -> Outcome {
    advance_on(current, wa_id, input, crate::clock::today())
}

/// Advances the conversation by one input on a given day (the day bounds the date a
/// worker may choose to hold the complaint until).
pub fn advance_on(
    current: Option<Conversation>,
    wa_id: &str,
    input: Input,
    today: chrono::NaiveDate,
) -> Outcome {
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
        Input::Text(text) => on_text(conv, &text, today),
    }
}

pub(super) fn keep(conv: Conversation, replies: Vec<Reply>) -> Outcome {
    Outcome {
        replies,
        conversation: Some(conv),
        ..Outcome::default()
    }
}

pub(super) fn erase(replies: Vec<Reply>) -> Outcome {
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
