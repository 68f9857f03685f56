//! The guided WhatsApp intake as a pure state machine: a stored [`Conversation`] and
//! one incoming [`Input`] give the replies to send and what to do next. No I/O here,
//! so every path is unit-tested; the worker (`worker.rs`) stores, files and sends.
//!
//! Order of questions: privacy notice and consent, anonymity (name if not anonymous),
//! state, workplace, city, sector, what happened, trade with the US, description,
//! evidence, summary to confirm. Keywords work at any point: AYUDA/HELP,
//! CANCELAR/CANCEL, BORRAR/DELETE, ESTADO/STATUS <receipt>, ENGLISH/ESPAÑOL.

use crate::crypto::receipt::Receipt;
pub use crate::domain::truncate;
use crate::domain::{
    Channel, IntakeDraft, Language, NewComplaint, PhoneNumber, Sector, StateCode, Text, TradeNexus,
    Violation, limits,
};
use serde::{Deserialize, Serialize};

/// Files a worker may send as evidence; anything else is politely refused.
pub const MEDIA_TYPES: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/webp",
    "application/pdf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "audio/ogg",
    "audio/mpeg",
    "audio/mp4",
    "audio/aac",
    "audio/amr",
    "video/mp4",
    "video/3gpp",
];

/// The media type without parameters, lower-cased, if it is one we keep.
pub fn accepted_media_type(declared: &str) -> Option<String> {
    let mime = declared
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    MEDIA_TYPES.contains(&mime.as_str()).then_some(mime)
}

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
}

/// The text in the reader's language.
pub fn tr(lang: Language, es: &str, en: &str) -> String {
    lang.pick(es, en).to_owned()
}

/// Upper case, accents off, outer punctuation and spaces trimmed: "¡Ayúdame!" → "AYUDAME".
pub fn fold(text: &str) -> String {
    let folded: String = crate::domain::strip_accents(text)
        .flat_map(char::to_uppercase)
        .collect();
    folded
        .trim_matches(|c: char| !c.is_alphanumeric())
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

enum Keyword {
    Help,
    Cancel,
    Delete,
    Status(Option<String>),
    Language(Language),
}

fn keyword(text: &str) -> Option<(Keyword, Language)> {
    let folded = fold(text);
    let mut words = folded.splitn(2, ' ');
    let first = words.next().unwrap_or("");
    let rest = words.next();
    let receipt = || {
        // The receipt exactly as typed after the keyword (Receipt::parse forgives spacing).
        let trimmed = text.trim();
        trimmed
            .split_once(char::is_whitespace)
            .map(|(_, r)| r.trim().to_owned())
            .filter(|r| !r.is_empty())
    };
    let kw = match (first, rest) {
        ("AYUDA", None) => (Keyword::Help, Language::Es),
        ("HELP", None) => (Keyword::Help, Language::En),
        ("CANCELAR", None) => (Keyword::Cancel, Language::Es),
        ("CANCEL", None) => (Keyword::Cancel, Language::En),
        ("BORRAR", None) => (Keyword::Delete, Language::Es),
        ("DELETE", None) => (Keyword::Delete, Language::En),
        // "Estado de México" or a description that starts with "Estado..." is not a
        // status request: only the bare keyword, or the keyword and a receipt, is.
        ("ESTADO", None) => (Keyword::Status(None), Language::Es),
        ("STATUS", None) => (Keyword::Status(None), Language::En),
        ("ESTADO", Some(_)) if receipt().is_some_and(|r| looks_like_receipt(&r)) => {
            (Keyword::Status(receipt()), Language::Es)
        }
        ("STATUS", Some(_)) if receipt().is_some_and(|r| looks_like_receipt(&r)) => {
            (Keyword::Status(receipt()), Language::En)
        }
        ("ENGLISH" | "INGLES", None) => (Keyword::Language(Language::En), Language::En),
        ("ESPANOL" | "SPANISH", None) => (Keyword::Language(Language::Es), Language::Es),
        _ => return None,
    };
    Some(kw)
}

/// A receipt, or something typed as one (a code with a digit in it, perhaps mistyped,
/// which then gets "check your code" rather than the start of a new complaint).
fn looks_like_receipt(text: &str) -> bool {
    if Receipt::parse(text).is_some() {
        return true;
    }
    let compact: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    (8..=40).contains(&compact.len())
        && compact.chars().all(|c| c.is_ascii_alphanumeric())
        && compact.chars().any(|c| c.is_ascii_digit())
}

fn is_english_greeting(text: &str) -> bool {
    matches!(
        fold(text).as_str(),
        "HI" | "HELLO" | "HEY" | "GOOD MORNING" | "GOOD AFTERNOON" | "GOOD EVENING"
    )
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

fn help_text(lang: Language) -> String {
    tr(
        lang,
        "Buzón recibe quejas de trabajo de forma segura. Puede escribir en cualquier momento:\n\
         • AYUDA: ver este mensaje\n\
         • CANCELAR: dejar la queja sin enviar (se borra lo que escribió)\n\
         • BORRAR: borrar ahora todo lo que escribió en esta conversación\n\
         • ESTADO y su código: ver cómo va una queja ya enviada\n\
         • ENGLISH: cambiar a inglés",
        "Buzón takes workplace complaints safely. You can write at any time:\n\
         • HELP: see this message\n\
         • CANCEL: stop without sending (what you wrote is erased)\n\
         • DELETE: erase now everything you wrote in this conversation\n\
         • STATUS and your code: see how a complaint you sent is going\n\
         • ESPAÑOL: switch to Spanish",
    )
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

fn buttons(body: String, buttons: &[(&str, String)]) -> Reply {
    Reply::Buttons {
        body: truncate(&body, wa_limits::INTERACTIVE_BODY),
        buttons: buttons
            .iter()
            .take(wa_limits::BUTTONS)
            .map(|(id, title)| ((*id).to_owned(), truncate(title, wa_limits::BUTTON_TITLE)))
            .collect(),
    }
}

/// A list of `items` (id, label), paged so a page plus its fixed rows and a "more"
/// row fit WhatsApp's ten rows. Long labels go whole into the row's description.
fn paged_list(
    body: String,
    button: String,
    items: &[(String, &str)],
    page: usize,
    fixed: Vec<Row>,
    more: Row,
) -> Reply {
    let per_page = wa_limits::LIST_ROWS - fixed.len() - 1;
    let pages = items.len().div_ceil(per_page).max(1);
    let page = page % pages;
    let mut rows = fixed;
    for (id, label) in items.iter().skip(page * per_page).take(per_page) {
        let title = truncate(label, wa_limits::ROW_TITLE);
        let description = (title != *label).then(|| truncate(label, wa_limits::ROW_DESCRIPTION));
        rows.push(Row {
            id: id.clone(),
            title,
            description,
        });
    }
    if pages > 1 {
        rows.push(more);
    }
    Reply::List {
        body: truncate(&body, wa_limits::INTERACTIVE_BODY),
        button: truncate(&button, wa_limits::BUTTON_TITLE),
        rows,
    }
}

/// The question of the current step.
pub fn prompt(conv: &Conversation) -> Reply {
    let lang = conv.lang();
    match conv.step {
        Step::Consent => buttons(
            tr(
                lang,
                "Hola. Aquí puede presentar una queja sobre su trabajo. Antes, lea esto:\n\n\
                 • Guardamos sus respuestas cifradas (bajo llave). Su empresa no las ve.\n\
                 • Solo el personal de inspección laboral que revisa su caso puede verlas.\n\
                 • Puede quedar anónimo: así no guardamos ni su nombre ni su número.\n\
                 • Si da su nombre, guardamos también su número de WhatsApp para contactarle.\n\
                 • Escriba BORRAR en cualquier momento para borrar lo que escribió, o AYUDA para ver las opciones.\n\n\
                 ¿Acepta seguir?",
                "Hello. Here you can file a complaint about your work. First, please read this:\n\n\
                 • We keep your answers encrypted (locked). Your employer does not see them.\n\
                 • Only the labor inspection staff who review your case can see them.\n\
                 • You can stay anonymous: then we keep neither your name nor your number.\n\
                 • If you give your name, we also keep your WhatsApp number to contact you.\n\
                 • Write DELETE at any time to erase what you wrote, or HELP to see the options.\n\n\
                 Do you agree to go on?",
            ),
            &[
                ("consent:yes", tr(lang, "Acepto", "I agree")),
                ("consent:no", tr(lang, "No acepto", "I don't agree")),
                match lang {
                    Language::Es => ("lang:en", "English".to_owned()),
                    Language::En => ("lang:es", "Español".to_owned()),
                },
            ],
        ),
        Step::Anonymity => buttons(
            tr(
                lang,
                "¿Quiere dar su nombre o quedar anónimo?\n\nSi queda anónimo no guardamos su nombre ni su número, y solo podrá ver su queja con el código que le daremos.",
                "Do you want to give your name or stay anonymous?\n\nIf you stay anonymous we keep neither your name nor your number, and you can only see your complaint with the code we will give you.",
            ),
            &[
                ("anon:yes", tr(lang, "Anónimo", "Anonymous")),
                ("anon:no", tr(lang, "Con mi nombre", "With my name")),
            ],
        ),
        Step::Name => Reply::Text(tr(lang, "¿Cuál es su nombre?", "What is your name?")),
        Step::State => Reply::Text(tr(
            lang,
            "¿En qué estado está su trabajo? Escriba el nombre, por ejemplo: Guanajuato",
            "In which state is your workplace? Write its name, for example: Guanajuato",
        )),
        Step::Employer => Reply::Text(tr(
            lang,
            "¿Cómo se llama la empresa o el lugar donde trabaja?",
            "What is the name of the company or place where you work?",
        )),
        Step::City => buttons(
            tr(
                lang,
                "¿En qué ciudad o municipio está? Escríbalo, o toque «No sé».",
                "In which city or town is it? Write it, or tap \"I don't know\".",
            ),
            &[("city:skip", tr(lang, "No sé", "I don't know"))],
        ),
        Step::Sector => {
            let items: Vec<(String, &str)> = Sector::ALL
                .iter()
                .map(|s| (format!("sector:{}", s.code()), s.label(lang)))
                .collect();
            paged_list(
                tr(
                    lang,
                    "¿Qué tipo de trabajo hacen ahí?",
                    "What kind of work is done there?",
                ),
                tr(lang, "Elegir", "Choose"),
                &items,
                conv.page,
                Vec::new(),
                Row {
                    id: "sector:more".into(),
                    title: tr(lang, "Más opciones…", "More options…"),
                    description: None,
                },
            )
        }
        Step::Violations => {
            let chosen: Vec<&str> = conv
                .violations
                .iter()
                .filter_map(|c| Violation::parse(c))
                .map(|v| v.label(lang))
                .collect();
            let items: Vec<(String, &str)> = Violation::ALL
                .iter()
                .filter(|v| !conv.violations.iter().any(|c| c == v.code()))
                .map(|v| (format!("viol:{}", v.code()), v.label(lang)))
                .collect();
            let (body, fixed) = if chosen.is_empty() {
                (
                    tr(
                        lang,
                        "¿Qué pasó? Elija lo que más se parezca. Después podrá agregar más.",
                        "What happened? Choose what fits best. You can add more afterwards.",
                    ),
                    Vec::new(),
                )
            } else {
                (
                    format!(
                        "{}\n• {}\n\n{}",
                        tr(lang, "Ya eligió:", "You chose:"),
                        chosen.join("\n• "),
                        tr(
                            lang,
                            "¿Pasó algo más? Elija otra cosa o «Eso es todo».",
                            "Did anything else happen? Choose another or \"That's all\".",
                        )
                    ),
                    vec![Row {
                        id: "viol:done".into(),
                        title: tr(lang, "✔ Eso es todo", "✔ That's all"),
                        description: None,
                    }],
                )
            };
            paged_list(
                body,
                tr(lang, "Elegir", "Choose"),
                &items,
                conv.page,
                fixed,
                Row {
                    id: "viol:more".into(),
                    title: tr(lang, "Más opciones…", "More options…"),
                    description: None,
                },
            )
        }
        Step::Trade => buttons(
            tr(
                lang,
                "¿Lo que hacen en su trabajo se vende a Estados Unidos (o compite con productos de allá)?",
                "Is what your workplace makes sold to the United States (or does it compete with products from there)?",
            ),
            &[
                ("trade:yes", tr(lang, "Sí", "Yes")),
                ("trade:no", "No".to_owned()),
                ("trade:unknown", tr(lang, "No sé", "I don't know")),
            ],
        ),
        Step::Narrative => Reply::Text(tr(
            lang,
            "Cuéntenos qué pasó, con sus palabras: qué, cuándo y a quién. Escríbalo en un solo mensaje.",
            "Tell us what happened, in your own words: what, when and to whom. Write it in one message.",
        )),
        Step::Evidence => buttons(
            tr(
                lang,
                "Si tiene fotos, documentos o notas de voz que muestren lo que pasó, envíelos ahora. Cuando termine (o si no tiene), toque «Listo».",
                "If you have photos, documents or voice notes that show what happened, send them now. When you are done (or if you have none), tap \"Done\".",
            ),
            &[("evidence:done", tr(lang, "Listo", "Done"))],
        ),
        Step::Confirm => buttons(
            summary(conv),
            &[
                ("confirm:send", tr(lang, "Enviar", "Send")),
                ("confirm:restart", tr(lang, "Corregir", "Start over")),
            ],
        ),
    }
}

/// The worker's answers, to check before sending.
fn summary(conv: &Conversation) -> String {
    let lang = conv.lang();
    let unknown = tr(lang, "no sé", "don't know");
    let who = if conv.anonymous.unwrap_or(true) {
        tr(lang, "anónimo", "anonymous")
    } else {
        conv.name.clone().unwrap_or_default()
    };
    let state = conv
        .state
        .as_deref()
        .and_then(StateCode::parse)
        .map_or(unknown.clone(), |s| s.label(lang).to_owned());
    let sector = conv
        .sector
        .as_deref()
        .and_then(Sector::parse)
        .map_or(unknown.clone(), |s| s.label(lang).to_owned());
    let violations: Vec<&str> = conv
        .violations
        .iter()
        .filter_map(|c| Violation::parse(c))
        .map(|v| v.label(lang))
        .collect();
    let trade = conv
        .trade_with_us
        .as_deref()
        .and_then(TradeNexus::parse)
        .map_or(unknown.clone(), |t| t.label(lang).to_owned());
    let narrative = truncate(conv.narrative.as_deref().unwrap_or(""), 200);
    let text = format!(
        "{}\n\n{}: {who}\n{}: {}\n{}: {state}\n{}: {}\n{}: {sector}\n{}: {}\n{}: {trade}\n{}: {narrative}\n{}: {}\n\n{}",
        tr(lang, "Revise su queja:", "Check your complaint:"),
        tr(lang, "Quién", "Who"),
        tr(lang, "Empresa", "Company"),
        conv.employer.as_deref().unwrap_or(""),
        tr(lang, "Estado", "State"),
        tr(lang, "Ciudad", "City"),
        conv.city.clone().unwrap_or_else(|| unknown.clone()),
        tr(lang, "Tipo de trabajo", "Kind of work"),
        tr(lang, "Qué pasó", "What happened"),
        violations.join("; "),
        tr(lang, "Vende a EE.UU.", "Sells to the US"),
        tr(lang, "Descripción", "Description"),
        tr(lang, "Archivos", "Files"),
        conv.attachments,
        tr(lang, "¿La enviamos?", "Shall we send it?"),
    );
    truncate(&text, wa_limits::INTERACTIVE_BODY)
}

/// Matches a typed state name forgivingly: case, accents, "Estado de", common
/// abbreviations and small typos don't matter. `None` when it is not clearly one state.
pub fn match_state(typed: &str) -> Option<StateCode> {
    const ALIASES: &[(&str, StateCode)] = &[
        ("AGS", StateCode::Agu),
        ("BC", StateCode::Bcn),
        ("BAJA", StateCode::Bcn),
        ("BCS", StateCode::Bcs),
        ("CDMX", StateCode::Cmx),
        ("DF", StateCode::Cmx),
        ("DISTRITO FEDERAL", StateCode::Cmx),
        ("CIUDAD DE MEXICO", StateCode::Cmx),
        ("MEXICO CITY", StateCode::Cmx),
        ("COAHUILA DE ZARAGOZA", StateCode::Coa),
        ("CHIS", StateCode::Chp),
        ("CHIH", StateCode::Chh),
        ("EDOMEX", StateCode::Mex),
        ("EDO MEX", StateCode::Mex),
        ("EDO DE MEXICO", StateCode::Mex),
        ("ESTADO DE MEXICO", StateCode::Mex),
        ("STATE OF MEXICO", StateCode::Mex),
        ("MEXICO", StateCode::Mex),
        ("GTO", StateCode::Gua),
        ("GRO", StateCode::Gro),
        ("HGO", StateCode::Hid),
        ("JAL", StateCode::Jal),
        ("MICH", StateCode::Mic),
        ("MICHOACAN DE OCAMPO", StateCode::Mic),
        ("NL", StateCode::Nle),
        ("N L", StateCode::Nle),
        ("OAX", StateCode::Oax),
        ("QRO", StateCode::Que),
        ("QROO", StateCode::Roo),
        ("Q ROO", StateCode::Roo),
        ("SLP", StateCode::Slp),
        ("SIN", StateCode::Sin),
        ("SON", StateCode::Son),
        ("TAMPS", StateCode::Tam),
        ("TLAX", StateCode::Tla),
        ("VER", StateCode::Ver),
        ("VERACRUZ DE IGNACIO DE LA LLAVE", StateCode::Ver),
        ("YUC", StateCode::Yuc),
        ("ZAC", StateCode::Zac),
    ];
    if let Some(code) = StateCode::parse(&typed.trim().to_ascii_uppercase()) {
        return Some(code);
    }
    let folded = fold(&typed.replace(['.', ',', '-'], " "));
    if folded.is_empty() || folded.chars().count() > 60 {
        return None;
    }
    if let Some(code) =
        StateCode::parse(&format!("MX-{folded}")).or_else(|| StateCode::parse(&folded))
    {
        return Some(code);
    }
    if let Some((_, code)) = ALIASES.iter().find(|(alias, _)| *alias == folded) {
        return Some(*code);
    }
    let stripped = folded
        .strip_prefix("ESTADO DE ")
        .or_else(|| folded.strip_prefix("EDO DE "))
        .or_else(|| folded.strip_prefix("EDO "))
        .unwrap_or(&folded);
    let names: Vec<(String, StateCode)> = StateCode::ALL
        .iter()
        .map(|s| (fold(s.label(Language::Es)), *s))
        .collect();
    if let Some((_, code)) = names.iter().find(|(name, _)| name == stripped) {
        return Some(*code);
    }
    // Small typos: the one name within edit distance 2 (1 for short names), if unique.
    let allowed = if stripped.chars().count() >= 6 { 2 } else { 1 };
    let close: Vec<StateCode> = names
        .iter()
        .filter(|(name, _)| strsim::levenshtein(name, stripped) <= allowed)
        .map(|(_, code)| *code)
        .collect();
    match close.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WA: &str = "5214771234567";

    fn run(inputs: &[Input]) -> (Option<Conversation>, Vec<Reply>, bool) {
        let mut conv = None;
        let mut last = Vec::new();
        let mut file = false;
        for input in inputs {
            let out = advance(conv.take(), WA, input.clone());
            conv = out.conversation;
            last = out.replies;
            file = out.file;
        }
        (conv, last, file)
    }

    fn text(t: &str) -> Input {
        Input::Text(t.into())
    }

    fn choice(id: &str) -> Input {
        Input::Choice(id.into())
    }

    #[test]
    fn a_whole_anonymous_conversation_gives_a_valid_complaint() {
        let (conv, _, file) = run(&[
            text("Hola"),
            choice("consent:yes"),
            choice("anon:yes"),
            text("guanajato"),
            text("Arneses del Bajío"),
            choice("city:skip"),
            choice("sector:auto_parts"),
            choice("viol:unpaid_wages"),
            choice("viol:excessive_hours"),
            choice("viol:done"),
            choice("trade:yes"),
            text("No nos pagan las horas extra desde marzo."),
            choice("evidence:done"),
            choice("confirm:send"),
        ]);
        assert!(file);
        let conv = conv.expect("conversation kept until filed");
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).expect("date");
        let complaint = conv.complaint(today).expect("valid complaint");
        assert_eq!(complaint.workplace.state, StateCode::Gua);
        assert_eq!(complaint.violations.len(), 2);
        assert!(matches!(
            complaint.complainant,
            crate::domain::Complainant::Anonymous
        ));
    }

    #[test]
    fn a_named_worker_is_contacted_at_their_number_in_either_form() {
        let (conv, _, _) = run(&[
            text("hi"),
            choice("consent:yes"),
            choice("anon:no"),
            text("Juana Pérez"),
        ]);
        let conv = conv.expect("kept");
        assert_eq!(conv.lang(), Language::En);
        assert_eq!(conv.draft().phone.as_deref(), Some("+524771234567"));
        let other = Conversation {
            wa_id: "524771234567".into(),
            ..conv.clone()
        };
        assert_eq!(other.draft().phone, conv.draft().phone);
    }

    #[test]
    fn keywords_work_at_any_step_and_cancel_erases() {
        let (conv, replies, _) = run(&[text("Hola"), choice("consent:yes"), text("AYUDA")]);
        assert!(conv.is_some());
        assert!(matches!(&replies[0], Reply::Text(t) if t.contains("CANCELAR")));
        let (conv, _, _) = run(&[text("Hola"), choice("consent:yes"), text("cancelar")]);
        assert!(conv.is_none());
        let (conv, _, _) = run(&[text("Hola"), text("¡Borrar!")]);
        assert!(conv.is_none());
        let out = advance(None, WA, text("ESTADO  abcd-efgh-jkmn-pqrs-tvwx-yz01"));
        assert_eq!(
            out.status_lookup.as_deref(),
            Some("abcd-efgh-jkmn-pqrs-tvwx-yz01")
        );
        assert!(out.conversation.is_none());
        // At the state question, "Estado de México" is an answer, not a keyword.
        let (conv, _, _) = run(&[
            text("Hola"),
            choice("consent:yes"),
            choice("anon:yes"),
            text("Estado de México"),
        ]);
        let conv = conv.expect("kept");
        assert_eq!(conv.state.as_deref(), Some("MX-MEX"));
        assert_eq!(conv.step, Step::Employer);
        let out = advance(Some(conv), WA, text("Estado de cosas: nos pagan tarde"));
        assert!(out.status_lookup.is_none());
        let out = advance(None, WA, text("estado 7KQM-2X9P"));
        assert_eq!(
            out.status_lookup.as_deref(),
            Some("7KQM-2X9P"),
            "a short code is still a look-up"
        );
    }

    #[test]
    fn unsupported_and_stale_inputs_repeat_the_question() {
        let (conv, replies, _) = run(&[text("Hola"), choice("consent:yes"), Input::Unsupported]);
        assert_eq!(conv.map(|c| c.step), Some(Step::Anonymity));
        assert_eq!(replies.len(), 2);
        let (conv, _, _) = run(&[text("Hola"), choice("consent:yes"), choice("trade:yes")]);
        assert_eq!(conv.map(|c| c.step), Some(Step::Anonymity));
    }

    #[test]
    fn every_prompt_respects_whatsapp_limits_on_every_page() {
        let mut conv = Conversation::new(WA, Language::Es);
        for lang in [Language::Es, Language::En] {
            conv.language = lang.code().into();
            for step in [
                Step::Consent,
                Step::Anonymity,
                Step::City,
                Step::Sector,
                Step::Violations,
                Step::Trade,
                Step::Evidence,
                Step::Confirm,
            ] {
                conv.step = step;
                for page in 0..4 {
                    conv.page = page;
                    for chosen in [0, 1] {
                        conv.violations = if chosen == 1 {
                            vec!["other".into()]
                        } else {
                            Vec::new()
                        };
                        check_limits(&prompt(&conv));
                    }
                }
            }
        }
    }

    fn check_limits(reply: &Reply) {
        match reply {
            Reply::Text(t) => assert!(t.chars().count() <= wa_limits::TEXT_BODY),
            Reply::Buttons { body, buttons } => {
                assert!(body.chars().count() <= wa_limits::INTERACTIVE_BODY);
                assert!((1..=wa_limits::BUTTONS).contains(&buttons.len()));
                for (_, title) in buttons {
                    assert!(title.chars().count() <= wa_limits::BUTTON_TITLE, "{title}");
                }
            }
            Reply::List { body, button, rows } => {
                assert!(body.chars().count() <= wa_limits::INTERACTIVE_BODY);
                assert!(button.chars().count() <= wa_limits::BUTTON_TITLE);
                assert!((1..=wa_limits::LIST_ROWS).contains(&rows.len()));
                for row in rows {
                    assert!(
                        row.title.chars().count() <= wa_limits::ROW_TITLE,
                        "{}",
                        row.title
                    );
                    assert!(
                        row.description
                            .as_ref()
                            .is_none_or(|d| d.chars().count() <= wa_limits::ROW_DESCRIPTION)
                    );
                }
            }
        }
    }

    #[test]
    fn every_sector_and_violation_is_reachable_through_the_pages() {
        let mut conv = Conversation::new(WA, Language::Es);
        conv.step = Step::Sector;
        let mut seen = std::collections::BTreeSet::new();
        for page in 0..3 {
            conv.page = page;
            if let Reply::List { rows, .. } = prompt(&conv) {
                seen.extend(rows.into_iter().map(|r| r.id));
            }
        }
        for s in Sector::ALL {
            assert!(seen.contains(&format!("sector:{}", s.code())), "{s}");
        }
        conv.step = Step::Violations;
        seen.clear();
        for page in 0..3 {
            conv.page = page;
            if let Reply::List { rows, .. } = prompt(&conv) {
                seen.extend(rows.into_iter().map(|r| r.id));
            }
        }
        for v in Violation::ALL {
            assert!(seen.contains(&format!("viol:{}", v.code())), "{v}");
        }
    }

    #[test]
    fn states_match_forgivingly_but_not_wildly() {
        assert_eq!(match_state("Guanajuato"), Some(StateCode::Gua));
        assert_eq!(match_state("  nuevo leon "), Some(StateCode::Nle));
        assert_eq!(match_state("N.L."), Some(StateCode::Nle));
        assert_eq!(match_state("Estado de México"), Some(StateCode::Mex));
        assert_eq!(match_state("cdmx"), Some(StateCode::Cmx));
        assert_eq!(match_state("Querétaro"), Some(StateCode::Que));
        assert_eq!(match_state("queretaro arteaga"), None);
        assert_eq!(match_state("Chihuaua"), Some(StateCode::Chh));
        assert_eq!(match_state("MX-COA"), Some(StateCode::Coa));
        assert_eq!(match_state("Texas"), None);
        assert_eq!(match_state(""), None);
        for s in StateCode::ALL {
            assert_eq!(match_state(s.label(Language::Es)), Some(*s));
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Everything a phone can send: keywords, answers, taps on current and stale
        /// buttons and rows, files of any type, unsupported messages, random text.
        fn any_input() -> impl Strategy<Value = Input> {
            let words = prop::sample::select(vec![
                "Hola",
                "hi",
                "AYUDA",
                "help",
                "CANCELAR",
                "borrar",
                "ESTADO",
                "estado 7KQM-2X9P",
                "STATUS abc",
                "English",
                "español",
                "sí",
                "no",
                "listo",
                "done",
                "send",
                "Guanajuato",
                "Estado de México",
                "N.L.",
                "Texas",
                "no sé",
                "Juana Pérez",
                "مصنع 🏭",
                "",
            ]);
            let choices = prop::sample::select(vec![
                "consent:yes",
                "consent:no",
                "lang:en",
                "lang:es",
                "lang:xx",
                "anon:yes",
                "anon:no",
                "city:skip",
                "sector:more",
                "sector:mining",
                "sector:nope",
                "viol:more",
                "viol:done",
                "viol:other",
                "viol:unpaid_wages",
                "trade:yes",
                "trade:unknown",
                "trade:maybe",
                "evidence:done",
                "confirm:send",
                "confirm:restart",
                "",
                ":",
                "x:y:z",
            ]);
            prop_oneof![
                words.prop_map(|w| Input::Text(w.to_owned())),
                "\\PC{0,300}".prop_map(Input::Text),
                choices.prop_map(|c| Input::Choice(c.to_owned())),
                "\\PC{0,40}".prop_map(Input::Choice),
                prop::sample::select(vec![
                    "image/jpeg",
                    "audio/ogg; codecs=opus",
                    "application/x-msdownload",
                    ""
                ])
                .prop_map(|m| Input::Media(Media {
                    id: "1".into(),
                    mime_type: m.into(),
                    sha256: None,
                    caption: None,
                })),
                Just(Input::Unsupported),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(300))]

            /// Whatever arrives in whatever order: no panic, every reply within
            /// WhatsApp's limits, and "file" only with a complaint that validates.
            #[test]
            fn any_conversation_stays_valid(inputs in prop::collection::vec(any_input(), 1..40)) {
                let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap_or_default();
                let mut conv: Option<Conversation> = None;
                for input in inputs {
                    let out = advance(conv.take(), WA, input);
                    for reply in &out.replies {
                        check_limits(reply);
                    }
                    if out.file {
                        let c = out.conversation.as_ref();
                        prop_assert!(c.is_some_and(|c| c.complaint(today).is_some()));
                        conv = None;
                    } else {
                        conv = out.conversation;
                    }
                    if let Some(c) = &conv {
                        prop_assert!(c.attachments <= MAX_ATTACHMENTS);
                        prop_assert!(c.violations.iter().all(|v| Violation::parse(v).is_some()));
                    }
                }
            }

            /// The happy path with noise between the steps: every filing it reaches
            /// carries a complaint that validates, whatever the noise did.
            #[test]
            fn noise_between_the_steps_never_files_an_invalid_complaint(
                noise in prop::collection::vec(prop::collection::vec(any_input(), 0..2), 14)
            ) {
                let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap_or_default();
                let happy = [
                    text("Hola"), choice("consent:yes"), choice("anon:no"), text("Juana"),
                    text("Coahuila"), text("Planta Norte"), choice("city:skip"),
                    choice("sector:auto_parts"), choice("viol:unpaid_wages"), choice("viol:done"),
                    choice("trade:yes"), text("No pagan."), choice("evidence:done"),
                    choice("confirm:send"),
                ];
                let mut conv: Option<Conversation> = None;
                for (step, extra) in happy.iter().zip(noise) {
                    for input in std::iter::once(step.clone()).chain(extra) {
                        let out = advance(conv.take(), WA, input);
                        if out.file {
                            let c = out.conversation.as_ref();
                            prop_assert!(c.is_some_and(|c| c.complaint(today).is_some()));
                        } else {
                            conv = out.conversation;
                        }
                    }
                }
            }

            #[test]
            fn state_matching_never_panics(text in "\\PC{0,200}") {
                let _ = match_state(&text);
            }
        }
    }
}
