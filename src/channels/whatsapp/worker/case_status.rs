//! ESTADO <código> on WhatsApp: the case's status in plain words, the latest
//! messages with the office (both sides, each cut to a few hundred characters, the
//! whole within WhatsApp's text limit), how to answer *here* (a named case of this
//! sender: write in the chat; any other: RESPONDER and the code, see `reply.rs`), and
//! for a closed case how it ended and where to turn next.

use super::Inbox;
use super::reply::open_cases;
use crate::channels::whatsapp::conversation::{self, Reply, tr, wa_limits};
use crate::crypto::receipt::Receipt;
use crate::domain::Language;
use crate::error::ErrorCode;
use crate::intake::ReceiptError;

/// Messages of the conversation ESTADO shows, and how much of each.
const RECENT: usize = 4;
const EXCERPT: usize = 600;

impl Inbox {
    /// ESTADO <código>: the status in plain words, the latest messages with the office
    /// (both sides), and how to answer here on WhatsApp; a closed case says how it
    /// ended and where to turn next.
    pub(super) async fn status_reply(
        &self,
        typed: &str,
        lang: Language,
        sender: &[u8],
    ) -> anyhow::Result<Reply> {
        let Some(receipt) = Receipt::parse(typed) else {
            return Ok(Reply::Text(
                ErrorCode::InvalidReceipt.message(lang).to_owned(),
            ));
        };
        let view = match self.state.intake.status(&receipt).await {
            Ok(view) => view,
            Err(ReceiptError::Closed(view)) => *view,
            Err(ReceiptError::NotFound) => {
                return Ok(Reply::Text(
                    ErrorCode::ReceiptNotFound.message(lang).to_owned(),
                ));
            }
            Err(ReceiptError::Unexpected(e)) => return Err(e),
        };
        let mut text = format!(
            "{} {}: {}\n{}",
            tr(lang, "Queja", "Complaint"),
            view.case_ref,
            view.status.label(lang),
            view.status.explanation(lang)
        );
        if let Some(day) = view.held_until {
            text.push_str(&format!("\n{}", crate::domain::held_notice(day, lang)));
        }
        if let Some(outcome) = view.outcome {
            let advice: Vec<String> = view
                .legal_aid
                .iter()
                .map(|code| self.state.directory.name(code, lang))
                .collect();
            text.push_str("\n\n");
            text.push_str(&crate::domain::closing_notice(outcome, lang, &advice));
        }
        let recent = view.messages.len().saturating_sub(RECENT);
        if !view.messages[recent..].is_empty() {
            text.push_str(&format!(
                "\n\n{}",
                tr(lang, "Últimos mensajes:", "Latest messages:")
            ));
            for m in &view.messages[recent..] {
                let who = match (m.from_staff, m.from_advocate) {
                    (_, true) => tr(lang, "Su organización", "Your organization"),
                    (true, false) => tr(lang, "Oficina", "Office"),
                    (false, false) => tr(lang, "Usted", "You"),
                };
                text.push_str(&format!(
                    "\n\n{who} ({}):\n{}",
                    crate::clock::mexico_date(m.created_at),
                    conversation::truncate(&m.body, EXCERPT)
                ));
            }
        }
        if view.status.accepts_messages() {
            let own = open_cases(self.db(), sender)
                .await?
                .iter()
                .any(|c| c.case_ref == view.case_ref);
            text.push_str("\n\n");
            text.push_str(&if own {
                tr(
                    lang,
                    "Para contestar o agregar información, escriba su mensaje aquí, en este chat.",
                    "To answer or add information, write your message here, in this chat.",
                )
            } else {
                tr(
                    lang,
                    "Para contestar o agregar información por aquí, escriba RESPONDER, su código y su mensaje. Por ejemplo: RESPONDER ABCD-EFGH-JKMN-PQRS-TVWX-YZ01 Trabajo en la línea 3.",
                    "To answer or add information here, write REPLY, your code and your message. For example: REPLY ABCD-EFGH-JKMN-PQRS-TVWX-YZ01 I work on line 3.",
                )
            });
        }
        Ok(Reply::Text(conversation::truncate(
            &text,
            wa_limits::TEXT_BODY,
        )))
    }
}
