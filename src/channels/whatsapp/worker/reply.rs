//! A WhatsApp worker's conversation with the office about a filed case: their
//! answers reach the case, and ESTADO shows the latest messages.
//!
//! How a message is read when no interview is in progress (an interview in progress
//! takes every message, as before):
//!
//! - **A named case waiting for the worker's answer** (`info_requested`), filed from
//!   this sender: the text *is* the answer. It is added to the case's messages (the
//!   same [`crate::intake::Intake::append_message`] as the status page and e-mail),
//!   the case goes back to review, and the worker gets a short confirmation with a
//!   "Queja nueva" button (or NUEVA / NEW) in case they meant a new complaint.
//! - **Other open named cases from this sender**: the text is held (encrypted,
//!   `wa_pending_replies`, for the conversation idle time) and the worker is asked
//!   "¿Es sobre su queja BZ-…?" with buttons (one case: *Sí, agregarlo* / *Queja
//!   nueva*; several: one button or list row per case, by reference). More text
//!   before they choose is added to the held message. Several cases waiting for an
//!   answer are asked about the same way.
//! - **NUEVA / NEW** (or the button) always starts a new complaint.
//! - **RESPONDER <código> <mensaje>** (REPLY <code> <message>) adds a message to the
//!   case the receipt opens: the only way for an anonymous case, which keeps no
//!   contact and no index of the sender, so a plain message can never find it.
//! - Keywords (ESTADO, AYUDA, DERECHOS...) keep their meaning; CANCELAR / BORRAR
//!   also drop a held message.
//!
//! Anonymous cases are never offered: nothing ties them to a number.

use super::{CHANNEL, Inbox, finish};
use crate::channels::whatsapp::conversation::{self, Input, Reply, Row, fold, tr, wa_limits};
use crate::crypto::receipt::Receipt;
use crate::domain::{CaseStatus, Language, Text, limits};
use crate::error::ErrorCode;
use crate::intake::ReceiptError;
use anyhow::Context;
use chrono::{DateTime, Utc};
use entity::wa_inbox;
use sea_orm::{ConnectionTrait, DatabaseTransaction, TransactionTrait};
use uuid::Uuid;

mod pending;
use pending::Pending;
pub(super) use pending::prune as prune_pending;

/// Button and list ids of the offer.
const NEW: &str = "reply:new";
const CASE: &str = "reply:case:";

/// What the inbox worker does with a message after [`Inbox::thread`].
pub(super) enum Threaded {
    /// Worked here (reply, offer, or confirmation sent; the inbox row is done).
    Done,
    /// The interview takes it: `input`, with `before` sent ahead of its replies.
    Interview { input: Input, before: Vec<Reply> },
}

/// An open named WhatsApp case of the sender.
pub(super) struct OpenCase {
    id: Uuid,
    pub(super) case_ref: String,
    status: CaseStatus,
    language: Language,
    created_at: DateTime<Utc>,
}

/// A typed word that starts a new complaint.
fn is_new(folded: &str) -> bool {
    matches!(
        folded,
        "NUEVA" | "NUEVA QUEJA" | "QUEJA NUEVA" | "NEW" | "NEW COMPLAINT"
    )
}

fn is_yes(folded: &str) -> bool {
    matches!(
        folded,
        "SI" | "SI AGREGARLO" | "YES" | "YES ADD IT" | "AGREGAR" | "ADD"
    )
}

fn is_erase(folded: &str) -> bool {
    matches!(folded, "CANCELAR" | "CANCEL" | "BORRAR" | "DELETE")
}

/// `RESPONDER <código> <mensaje>`: the receipt and the message, if the text is one.
fn answer_by_receipt(text: &str) -> Option<(Receipt, String, Language)> {
    let trimmed = text.trim();
    let (first, rest) = trimmed.split_once(char::is_whitespace)?;
    let lang = match fold(first).as_str() {
        "RESPONDER" | "CONTESTAR" => Language::Es,
        "REPLY" | "ANSWER" => Language::En,
        _ => return None,
    };
    // The code may be typed in groups separated by spaces: the shortest run of words
    // that reads as a receipt, the rest is the message.
    let words: Vec<&str> = rest.split_whitespace().collect();
    (1..=words.len().min(6)).find_map(|k| {
        let receipt = Receipt::parse(&words[..k].join(""))?;
        let message = words[k..].join(" ");
        Some((receipt, message, lang))
    })
}

impl Inbox {
    /// Reads a message as a reply to the sender's cases when it is one (see the
    /// module's doc); everything it does is committed with the inbox row marked done.
    pub(super) async fn thread(
        &self,
        row: &wa_inbox::Model,
        lease: DateTime<Utc>,
        sender: &[u8],
        wa_id: &str,
        input: Input,
        interviewing: bool,
    ) -> anyhow::Result<Threaded> {
        let interview = |input| {
            Ok(Threaded::Interview {
                input,
                before: Vec::new(),
            })
        };
        if interviewing {
            // An interview in progress takes every message (an old tap on an offer
            // gets its "that option no longer applies").
            return interview(input);
        }
        let text = match &input {
            // Only what can be stored as a message (not blank once cleaned).
            Input::Text(t) if crate::domain::clean_text(t).is_some() => Some(t.clone()),
            _ => None,
        };
        if let Some((receipt, message, lang)) = text.as_deref().and_then(answer_by_receipt) {
            return self
                .answer_by_receipt(row, lease, sender, wa_id, &receipt, &message, lang)
                .await;
        }

        let txn = self
            .db()
            .begin()
            .await
            .context("cannot begin transaction")?;
        let held = pending::load(&txn, &self.state.keys, sender, row.received_at).await?;
        let open = open_cases(&txn, sender).await?;
        let folded = text.as_deref().map(fold).unwrap_or_default();
        let tapped = match &input {
            Input::Choice(id) if id.starts_with("reply:") => Some(id.as_str()),
            _ => None,
        };
        let wants_new = tapped == Some(NEW) || (text.is_some() && is_new(&folded));
        let newest_lang = open.first().map_or(Language::Es, |c| c.language);

        let (reply, keep) = match held {
            Some((id, mut pending)) => {
                let lang = Language::parse(&pending.language).unwrap_or_default();
                if wants_new || (text.is_some() && is_erase(&folded)) {
                    pending::delete(&txn, id).await?;
                    txn.commit().await.context("cannot commit")?;
                    return if wants_new {
                        Ok(start_new(lang))
                    } else {
                        interview(input)
                    };
                }
                if text.as_deref().is_some_and(conversation::is_keyword) {
                    // ESTADO, AYUDA...: answered as always; the held message waits.
                    txn.commit().await.context("cannot commit")?;
                    return interview(input);
                }
                let yes =
                    (pending.cases.len() == 1 && is_yes(&folded)).then(|| pending.cases[0].clone());
                let chosen = tapped
                    .and_then(|t| t.strip_prefix(CASE))
                    .map(str::to_owned)
                    .or(yes);
                pending::delete(&txn, id).await?;
                match chosen.and_then(|r| open.iter().find(|c| c.case_ref == r)) {
                    Some(case) => (self.append(&txn, case, &pending.text).await?, None),
                    None => {
                        // More words before choosing belong to the same message.
                        if let Some(more) = &text {
                            pending.text = join(&pending.text, more);
                        }
                        let candidates: Vec<&OpenCase> = open
                            .iter()
                            .filter(|c| pending.cases.contains(&c.case_ref))
                            .collect();
                        if candidates.is_empty() {
                            // Every case offered closed meanwhile: a new complaint.
                            txn.commit().await.context("cannot commit")?;
                            return Ok(start_new(lang));
                        }
                        (offer(lang, &candidates), Some(pending))
                    }
                }
            }
            None if wants_new => {
                txn.commit().await.context("cannot commit")?;
                let lang = match folded.starts_with("NEW") {
                    true => Language::En,
                    false if tapped.is_some() => newest_lang,
                    false => Language::Es,
                };
                return Ok(start_new(lang));
            }
            None if tapped.is_some() => (
                Reply::Text(tr(
                    newest_lang,
                    "Esa opción ya no aplica. Escriba su mensaje de nuevo, por favor.",
                    "That option no longer applies. Please write your message again.",
                )),
                None,
            ),
            None => {
                let Some(text) = text.filter(|t| !conversation::is_keyword(t) && !open.is_empty())
                else {
                    txn.commit().await.context("cannot commit")?;
                    return interview(input);
                };
                let waiting: Vec<&OpenCase> = open
                    .iter()
                    .filter(|c| c.status == CaseStatus::InfoRequested)
                    .collect();
                if let [case] = waiting[..] {
                    (self.append(&txn, case, &text).await?, None)
                } else {
                    let candidates: Vec<&OpenCase> = if waiting.is_empty() {
                        open.iter().collect()
                    } else {
                        waiting
                    };
                    let lang = candidates[0].language;
                    let pending = Pending {
                        language: lang.code().to_owned(),
                        text,
                        cases: candidates.iter().map(|c| c.case_ref.clone()).collect(),
                    };
                    (offer(lang, &candidates), Some(pending))
                }
            }
        };
        if let Some(pending) = keep {
            let expires = crate::outbox::after(self.wa.settings.idle);
            pending::store(&txn, &self.state.keys, sender, &pending, expires).await?;
        }
        self.enqueue(&txn, sender, wa_id, &[reply]).await?;
        finish(&txn, row.id, lease).await?;
        txn.commit().await.context("cannot commit reply")?;
        self.wa.outbox_notify.notify_one();
        Ok(Threaded::Done)
    }

    /// Sends `replies` and marks the message worked, in `txn`.
    async fn done(
        &self,
        txn: DatabaseTransaction,
        row: &wa_inbox::Model,
        lease: DateTime<Utc>,
        sender: &[u8],
        wa_id: &str,
        replies: &[Reply],
    ) -> anyhow::Result<Threaded> {
        self.enqueue(&txn, sender, wa_id, replies).await?;
        finish(&txn, row.id, lease).await?;
        txn.commit().await.context("cannot commit reply")?;
        self.wa.outbox_notify.notify_one();
        Ok(Threaded::Done)
    }

    /// Adds `text` to `case` as the complainant's message (an answer puts the case
    /// back in review); the confirmation to send.
    async fn append(
        &self,
        txn: &DatabaseTransaction,
        case: &OpenCase,
        text: &str,
    ) -> anyhow::Result<Reply> {
        let body = Text::parse(
            &conversation::truncate(text, limits::MESSAGE),
            limits::MESSAGE,
        )
        .map_err(|_| anyhow::anyhow!("reply text cannot be stored"))?;
        self.state
            .intake
            .append_message(txn, case.id, &body)
            .await?;
        tracing::info!(case_ref = %case.case_ref, "WhatsApp reply added to case");
        let lang = case.language;
        let answered = case.status == CaseStatus::InfoRequested;
        Ok(Reply::Buttons {
            body: conversation::truncate(
                &format!(
                    "✅ {} {}. {}\n\n{}",
                    tr(
                        lang,
                        if answered {
                            "Recibimos su respuesta y la agregamos a su queja"
                        } else {
                            "Agregamos su mensaje a su queja"
                        },
                        if answered {
                            "We got your answer and added it to your complaint"
                        } else {
                            "We added your message to your complaint"
                        },
                    ),
                    case.case_ref,
                    tr(
                        lang,
                        "La persona que revisa su queja lo va a leer.",
                        "The person reviewing your complaint will read it.",
                    ),
                    tr(
                        lang,
                        "Si es otra cosa y quiere presentar una queja nueva, toque el botón o escriba NUEVA.",
                        "If this is something else and you want to file a new complaint, tap the button or write NEW.",
                    ),
                ),
                wa_limits::INTERACTIVE_BODY,
            ),
            buttons: vec![(NEW.to_owned(), tr(lang, "Queja nueva", "New complaint"))],
        })
    }

    /// `RESPONDER <código> <mensaje>`: the message added to the case the receipt
    /// opens, with its confirmation, in one transaction.
    #[allow(clippy::too_many_arguments)]
    async fn answer_by_receipt(
        &self,
        row: &wa_inbox::Model,
        lease: DateTime<Utc>,
        sender: &[u8],
        wa_id: &str,
        receipt: &Receipt,
        message: &str,
        lang: Language,
    ) -> anyhow::Result<Threaded> {
        let refused = |text: String| vec![Reply::Text(text)];
        let found = match Text::parse(message, limits::MESSAGE) {
            Err(_) => Err(refused(tr(
                lang,
                "Escriba su mensaje después del código, por ejemplo: RESPONDER ABCD-EFGH-JKMN-PQRS-TVWX-YZ01 Trabajo en la línea 3.",
                "Write your message after the code, for example: REPLY ABCD-EFGH-JKMN-PQRS-TVWX-YZ01 I work on line 3.",
            ))),
            Ok(body) => match self.state.intake.open_for_message(receipt).await {
                Ok((case_id, member)) => Ok((body, case_id, member)),
                Err(ReceiptError::NotFound) => {
                    Err(refused(ErrorCode::ReceiptNotFound.message(lang).to_owned()))
                }
                Err(ReceiptError::Closed(_)) => {
                    Err(refused(ErrorCode::CaseClosed.message(lang).to_owned()))
                }
                Err(ReceiptError::Unexpected(e)) => return Err(e),
            },
        };
        let txn = self
            .db()
            .begin()
            .await
            .context("cannot begin transaction")?;
        let replies = match found {
            Err(replies) => replies,
            Ok((body, case_id, member)) => {
                let case = self
                    .state
                    .intake
                    .append_message_as(
                        &txn,
                        case_id,
                        &body,
                        crate::intake::AUTHOR_COMPLAINANT,
                        member,
                    )
                    .await?;
                tracing::info!(case_ref = %case.case_ref, "WhatsApp reply added to case by receipt");
                vec![Reply::Text(format!(
                    "✅ {} {}. {}",
                    tr(
                        lang,
                        "Agregamos su mensaje a su queja",
                        "We added your message to your complaint"
                    ),
                    case.case_ref,
                    tr(
                        lang,
                        "La persona que revisa su queja lo va a leer.",
                        "The person reviewing your complaint will read it."
                    ),
                ))]
            }
        };
        self.done(txn, row, lease, sender, wa_id, &replies).await
    }
}

/// Consecutive messages held for one choice, as one.
fn join(held: &str, more: &str) -> String {
    conversation::truncate(&format!("{held}\n{more}"), limits::MESSAGE)
}

/// A new complaint: the interview starts as for a first message, in `lang`.
fn start_new(lang: Language) -> Threaded {
    let greeting = match lang {
        Language::En => "hi",
        Language::Es => "hola",
    };
    Threaded::Interview {
        input: Input::Text(greeting.to_owned()),
        before: vec![Reply::Text(tr(
            lang,
            "Empecemos una queja nueva.",
            "Let's start a new complaint.",
        ))],
    }
}

/// "¿Es sobre su queja BZ-…?": by buttons for up to two cases, by a list for more.
fn offer(lang: Language, cases: &[&OpenCase]) -> Reply {
    let new_title = tr(lang, "Queja nueva", "New complaint");
    let filed = |c: &OpenCase| {
        format!(
            "{} {}",
            tr(lang, "presentada el", "filed on"),
            crate::clock::mexico_date(c.created_at)
        )
    };
    if let [case] = cases {
        return Reply::Buttons {
            body: format!(
                "{} {} ({})?\n\n{}",
                tr(
                    lang,
                    "¿Su mensaje es sobre su queja",
                    "Is your message about your complaint"
                ),
                case.case_ref,
                filed(case),
                tr(
                    lang,
                    "Si es así, lo agregamos para que lo lea la persona que la revisa.",
                    "If so, we add it for the person reviewing it to read.",
                )
            ),
            buttons: vec![
                (
                    format!("{CASE}{}", case.case_ref),
                    tr(lang, "Sí, agregarlo", "Yes, add it"),
                ),
                (NEW.to_owned(), new_title),
            ],
        };
    }
    let body = tr(
        lang,
        "Tiene varias quejas abiertas. ¿Sobre cuál es su mensaje? Elija una, o Queja nueva.",
        "You have several open complaints. Which one is your message about? Choose one, or New complaint.",
    );
    if cases.len() < wa_limits::BUTTONS {
        let mut buttons: Vec<(String, String)> = cases
            .iter()
            .map(|c| (format!("{CASE}{}", c.case_ref), c.case_ref.clone()))
            .collect();
        buttons.push((NEW.to_owned(), new_title));
        return Reply::Buttons { body, buttons };
    }
    let mut rows: Vec<Row> = cases
        .iter()
        .take(wa_limits::LIST_ROWS - 1)
        .map(|c| Row {
            id: format!("{CASE}{}", c.case_ref),
            title: c.case_ref.clone(),
            description: Some(format!("{} · {}", filed(c), c.status.label(lang))),
        })
        .collect();
    rows.push(Row {
        id: NEW.to_owned(),
        title: new_title,
        description: None,
    });
    Reply::List {
        body,
        button: tr(lang, "Elegir", "Choose"),
        rows,
    }
}

/// The sender's open cases filed on WhatsApp with their name (only those keep the
/// sender's index), newest first. Cases stored before the index was kept are found
/// by their phone's index, which is the sender's for a number.
pub(super) async fn open_cases(
    db: &impl ConnectionTrait,
    sender: &[u8],
) -> anyhow::Result<Vec<OpenCase>> {
    let rows = crate::db::rows(
        db,
        "SELECT c.id, c.case_ref, c.status, c.language, c.created_at FROM cases c \
         JOIN complainants cp ON cp.case_id = c.id \
         WHERE c.channel = $2 AND c.status <> $3 \
         AND (cp.wa_sender_bidx = $1 OR (cp.wa_sender_bidx IS NULL AND cp.phone_bidx = $1)) \
         ORDER BY c.created_at DESC LIMIT 20",
        vec![
            sender.to_vec().into(),
            CHANNEL.into(),
            CaseStatus::Closed.code().into(),
        ],
    )
    .await
    .context("cannot find the sender's cases")?;
    rows.iter()
        .map(|r| {
            let status: String = r.try_get_by_index(2)?;
            let language: String = r.try_get_by_index(3)?;
            Ok(OpenCase {
                id: r.try_get_by_index(0)?,
                case_ref: r.try_get_by_index(1)?,
                status: CaseStatus::parse(&status).unwrap_or(CaseStatus::Received),
                language: Language::parse(&language).unwrap_or_default(),
                created_at: r.try_get_by_index(4)?,
            })
        })
        .collect::<Result<_, sea_orm::DbErr>>()
        .context("cannot read the sender's cases")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_by_receipt_takes_the_code_in_groups_or_whole() {
        let code = "7KQM-2X9P-RTAB-3CDE-FGHJ-KMNP";
        assert!(Receipt::parse(code).is_some(), "a receipt as shown");
        let (_, message, lang) =
            answer_by_receipt(&format!("Responder {code} Trabajo en la línea 3")).unwrap();
        assert_eq!(
            (message.as_str(), lang),
            ("Trabajo en la línea 3", Language::Es)
        );
        let spaced = code.replace('-', " ");
        let (_, message, lang) = answer_by_receipt(&format!("REPLY {spaced} line 3")).unwrap();
        assert_eq!((message.as_str(), lang), ("line 3", Language::En));
        assert!(answer_by_receipt("Responder mañana").is_none());
        assert!(answer_by_receipt("Hola").is_none());
    }

    #[test]
    fn keywords_keep_their_meaning_and_other_text_is_a_reply() {
        for k in [
            "ESTADO",
            "AYUDA",
            "DERECHOS SINDICATO",
            "ESTADO 7KQM 2X9P",
            "CANCELAR",
        ] {
            assert!(conversation::is_keyword(k), "{k}");
        }
        for t in [
            "Estado de México, en la línea 3",
            "Trabajo en la línea 3",
            "Sí",
            // Not a topic: the interview would not read it as DERECHOS either.
            "Derechos adquiridos",
        ] {
            assert!(!conversation::is_keyword(t), "{t}");
        }
        assert!(is_new(&fold("nueva")) && is_new(&fold("New")) && !is_new(&fold("nuevo turno")));
    }

    #[test]
    fn several_cases_are_offered_by_reference() {
        // Filed at 21:30 in Mexico City: the 7th for the worker, the 8th in UTC.
        let filed: DateTime<Utc> = "2026-12-08T03:30:00Z".parse().unwrap();
        let case = |r: &str| OpenCase {
            id: Uuid::new_v4(),
            case_ref: r.to_owned(),
            status: CaseStatus::InReview,
            language: Language::Es,
            created_at: filed,
        };
        let (a, b, c) = (
            case("BZ-AAAA1111"),
            case("BZ-BBBB2222"),
            case("BZ-CCCC3333"),
        );
        let Reply::Buttons { buttons, body } = offer(Language::Es, &[&a]) else {
            panic!("one case: buttons");
        };
        assert!(body.contains("presentada el 2026-12-07"), "{body}");
        assert_eq!(buttons[0].0, "reply:case:BZ-AAAA1111");
        assert_eq!(buttons[1].0, NEW);
        let Reply::Buttons { buttons, .. } = offer(Language::Es, &[&a, &b]) else {
            panic!("two cases: buttons");
        };
        assert_eq!(buttons.len(), 3);
        let Reply::List { rows, .. } = offer(Language::En, &[&a, &b, &c]) else {
            panic!("three cases: a list");
        };
        assert_eq!(rows.len(), 4);
        assert!(
            rows.iter()
                .all(|r| r.title.chars().count() <= wa_limits::ROW_TITLE)
        );
    }
}
