//! Why a notice did not reach the person (yet), in channel-neutral words: what the
//! outbox keeps (`last_error`) and what staff read on the case.

use super::Language;

/// Why a notice did not reach the person (yet), as the outbox row records it
/// (`last_error`: `window`, `template:132001`, ...). Channel-neutral words; the
/// channel maps its provider's codes onto them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undelivered {
    /// Waiting: the channel takes it only after the person writes (WhatsApp's
    /// 24-hour window); they were asked to write.
    Waiting,
    /// Refused: the person must write first.
    Window,
    /// The channel's notification template is missing, paused or disabled.
    Template,
    /// The person cannot receive it there (not on the channel, blocked or stopped
    /// messages from us).
    Unreachable,
    /// The channel's spam or engagement limits.
    Spam,
    /// The business account must be fixed by an operator.
    Account,
    /// The channel will never take the message as written.
    Rejected,
}

impl Undelivered {
    pub const ALL: [Undelivered; 7] = [
        Self::Waiting,
        Self::Window,
        Self::Template,
        Self::Unreachable,
        Self::Spam,
        Self::Account,
        Self::Rejected,
    ];

    /// The fixed code kept on the outbox row (before `:CODE` when a provider gave one).
    pub fn code(self) -> &'static str {
        match self {
            Self::Waiting => "awaiting_window",
            Self::Window => "window",
            Self::Template => "template",
            Self::Unreachable => "unreachable",
            Self::Spam => "spam",
            Self::Account => "account",
            Self::Rejected => "rejected",
        }
    }

    /// Reads an outbox row's `last_error` back.
    pub fn parse(note: &str) -> Option<Self> {
        let kind = note.split(':').next().unwrap_or(note);
        Self::ALL.into_iter().find(|u| u.code() == kind)
    }

    /// What staff read on the case.
    pub fn explain(self, lang: Language) -> &'static str {
        match self {
            Self::Waiting => lang.pick(
                "Esperando en WhatsApp: pasaron más de 24 horas desde el último mensaje de la persona; se le pidió escribir y el mensaje saldrá cuando lo haga. Ya está en su página de estado.",
                "Waiting on WhatsApp: more than 24 hours passed since the person's last message; they were asked to write, and the message leaves when they do. It is on their status page already.",
            ),
            Self::Window => lang.pick(
                "No entregado por WhatsApp: la persona debe escribir primero; el mensaje está en su página de estado.",
                "Not delivered on WhatsApp: the worker must write first; the message is on their status page.",
            ),
            Self::Template => lang.pick(
                "No entregado por WhatsApp: la plantilla de aviso falta, está en pausa o desactivada (avise a quien administra Buzón); el mensaje está en su página de estado.",
                "Not delivered on WhatsApp: the notice template is missing, paused or disabled (tell Buzón's administrator); the message is on their status page.",
            ),
            Self::Unreachable => lang.pick(
                "No entregado por WhatsApp: ese número no puede recibirlo (no usa WhatsApp, o bloqueó o dejó de recibir nuestros mensajes); el mensaje está en su página de estado.",
                "Not delivered on WhatsApp: that number cannot receive it (not on WhatsApp, or blocked or stopped our messages); the message is on their status page.",
            ),
            Self::Spam => lang.pick(
                "No entregado por WhatsApp: WhatsApp limitó nuestros envíos; el mensaje está en su página de estado.",
                "Not delivered on WhatsApp: WhatsApp limited our sending; the message is on their status page.",
            ),
            Self::Account => lang.pick(
                "No entregado por WhatsApp: la cuenta de WhatsApp de Buzón necesita atención (avise a quien la administra); el mensaje está en su página de estado.",
                "Not delivered on WhatsApp: Buzón's WhatsApp account needs attention (tell its administrator); the message is on their status page.",
            ),
            Self::Rejected => lang.pick(
                "No entregado por WhatsApp: el mensaje fue rechazado; está en su página de estado.",
                "Not delivered on WhatsApp: the message was refused; it is on their status page.",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undelivered_notes_read_back() {
        for u in Undelivered::ALL {
            assert_eq!(Undelivered::parse(u.code()), Some(u));
            assert_eq!(Undelivered::parse(&format!("{}:131047", u.code())), Some(u));
            assert!(!u.explain(Language::En).is_empty());
        }
        assert_eq!(Undelivered::parse("http 500"), None);
        assert_eq!(Undelivered::parse("crashed"), None);
    }
}
