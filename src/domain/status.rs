//! Case status values and the transitions allowed between them: the one place that
//! says how a case moves.

use super::Language;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CaseStatus {
    /// Stored and routed; nobody has looked at it yet.
    Received,
    /// An inspector is reviewing it.
    InReview,
    /// Staff asked the worker a question (answered with a follow-up message).
    InfoRequested,
    /// Sent to the competent authority.
    Referred,
    /// Finished.
    Closed,
}

impl CaseStatus {
    pub const ALL: &'static [CaseStatus] = &[
        Self::Received,
        Self::InReview,
        Self::InfoRequested,
        Self::Referred,
        Self::Closed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::InReview => "in_review",
            Self::InfoRequested => "info_requested",
            Self::Referred => "referred",
            Self::Closed => "closed",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|s| s.code() == code)
    }

    /// This status's bit in `cases.reached` (every status a case has ever had).
    pub fn bit(self) -> i32 {
        1 << Self::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }

    /// The statuses a case may move to from this one.
    pub fn next(self) -> &'static [CaseStatus] {
        use CaseStatus::*;
        match self {
            Received => &[InReview, Closed],
            InReview => &[InfoRequested, Referred, Closed],
            InfoRequested => &[InReview, Referred, Closed],
            Referred => &[InReview, Closed],
            Closed => &[InReview],
        }
    }

    pub fn can_move_to(self, to: CaseStatus) -> bool {
        self.next().contains(&to)
    }

    /// Whether the complainant may still add messages.
    pub fn accepts_messages(self) -> bool {
        self != Self::Closed
    }

    pub fn label(self, lang: Language) -> &'static str {
        use CaseStatus::*;
        match (self, lang) {
            (Received, Language::Es) => "Recibida",
            (Received, Language::En) => "Received",
            (InReview, Language::Es) => "En revisión",
            (InReview, Language::En) => "Under review",
            (InfoRequested, Language::Es) => "Necesitamos más información",
            (InfoRequested, Language::En) => "We need more information",
            (Referred, Language::Es) => "Enviada a la autoridad",
            (Referred, Language::En) => "Sent to the authority",
            (Closed, Language::Es) => "Cerrada",
            (Closed, Language::En) => "Closed",
        }
    }

    /// What this status means for the worker, in plain words.
    pub fn explanation(self, lang: Language) -> &'static str {
        use CaseStatus::*;
        match (self, lang) {
            (Received, Language::Es) => "Recibimos su queja. Una persona la va a revisar pronto.",
            (Received, Language::En) => "We received your complaint. A person will review it soon.",
            (InReview, Language::Es) => "Una persona está revisando su queja.",
            (InReview, Language::En) => "A person is reviewing your complaint.",
            (InfoRequested, Language::Es) => {
                "Tenemos una pregunta para usted. Lea los mensajes y conteste abajo."
            }
            (InfoRequested, Language::En) => {
                "We have a question for you. Read the messages and answer below."
            }
            (Referred, Language::Es) => "Enviamos su queja a la autoridad que puede actuar.",
            (Referred, Language::En) => {
                "We sent your complaint to the authority that can act on it."
            }
            (Closed, Language::Es) => "Su queja está cerrada.",
            (Closed, Language::En) => "Your complaint is closed.",
        }
    }
}

/// What a worker reads while their deferred case waits for the date they chose.
pub fn held_notice(until: chrono::NaiveDate, lang: Language) -> String {
    let day = until.format("%Y-%m-%d");
    match lang {
        Language::Es => format!(
            "Guardamos su queja. Como usted pidió, nadie la va a revisar ni le vamos a escribir antes del {day}."
        ),
        Language::En => format!(
            "We stored your complaint. As you asked, nobody will review it or write to you before {day}."
        ),
    }
}

/// How a closed case ended, recorded by staff when they close it, so that
/// "remediation" in the program indicators is a count and not a guess.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// The employer corrected the violation (paid, reinstated, fixed the hazard).
    Remedied,
    /// Worker and employer settled before a conciliation center.
    Conciliated,
    /// Sent to an authority or organization outside Buzón's referrals.
    ReferredElsewhere,
    /// Reviewed and found without basis.
    Unfounded,
    /// The worker withdrew it.
    Withdrawn,
    /// The worker stopped answering.
    NoResponse,
    /// The same complaint as another case (set when marking a duplicate).
    Duplicate,
    Other,
}

impl Outcome {
    pub const ALL: &'static [Outcome] = &[
        Self::Remedied,
        Self::Conciliated,
        Self::ReferredElsewhere,
        Self::Unfounded,
        Self::Withdrawn,
        Self::NoResponse,
        Self::Duplicate,
        Self::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Remedied => "remedied",
            Self::Conciliated => "conciliated",
            Self::ReferredElsewhere => "referred_elsewhere",
            Self::Unfounded => "unfounded",
            Self::Withdrawn => "withdrawn",
            Self::NoResponse => "no_response",
            Self::Duplicate => "duplicate",
            Self::Other => "other",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|s| s.code() == code)
    }

    pub fn label(self, lang: Language) -> &'static str {
        use Outcome::*;
        match (self, lang) {
            (Remedied, Language::Es) => "Se corrigió (remediada)",
            (Remedied, Language::En) => "Remedied",
            (Conciliated, Language::Es) => "Conciliada",
            (Conciliated, Language::En) => "Conciliated",
            (ReferredElsewhere, Language::Es) => "Enviada a otra instancia",
            (ReferredElsewhere, Language::En) => "Referred elsewhere",
            (Unfounded, Language::Es) => "Sin fundamento",
            (Unfounded, Language::En) => "Unfounded",
            (Withdrawn, Language::Es) => "Retirada por quien la presentó",
            (Withdrawn, Language::En) => "Withdrawn",
            (NoResponse, Language::Es) => "Sin respuesta de quien la presentó",
            (NoResponse, Language::En) => "No response",
            (Duplicate, Language::Es) => "Duplicada",
            (Duplicate, Language::En) => "Duplicate",
            (Other, Language::Es) => "Otro",
            (Other, Language::En) => "Other",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_nothing_moves_to_itself() {
        for s in CaseStatus::ALL {
            assert_eq!(CaseStatus::parse(s.code()), Some(*s));
            assert!(!s.can_move_to(*s));
        }
    }

    #[test]
    fn outcomes_round_trip_and_status_bits_are_distinct() {
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.code()), Some(*o));
        }
        let bits: i32 = CaseStatus::ALL.iter().map(|s| s.bit()).sum();
        assert_eq!(bits, 31);
        assert_eq!(CaseStatus::Received.bit(), 1);
    }

    #[test]
    fn a_new_case_cannot_jump_to_referred() {
        assert!(!CaseStatus::Received.can_move_to(CaseStatus::Referred));
        assert!(CaseStatus::Received.can_move_to(CaseStatus::InReview));
        assert!(CaseStatus::Closed.can_move_to(CaseStatus::InReview));
    }
}
