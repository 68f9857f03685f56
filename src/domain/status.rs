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
            // Read on the web page, in the JSON API and on WhatsApp alike: each says
            // where to answer in its own words.
            (InfoRequested, Language::Es) => {
                "Tenemos una pregunta para usted. Lea el mensaje de la oficina y contéstelo."
            }
            (InfoRequested, Language::En) => {
                "We have a question for you. Read the message from the office and answer it."
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

impl Outcome {
    /// How the case ended, in plain words for the worker (staff read [`Outcome::label`]).
    pub fn for_worker(self, lang: Language) -> &'static str {
        use Outcome::*;
        match (self, lang) {
            (Remedied, Language::Es) => "La empresa corrigió el problema.",
            (Remedied, Language::En) => "The employer put the problem right.",
            (Conciliated, Language::Es) => {
                "Usted y la empresa llegaron a un acuerdo ante un centro de conciliación."
            }
            (Conciliated, Language::En) => {
                "You and the employer reached an agreement before a conciliation center."
            }
            (ReferredElsewhere, Language::Es) => {
                "La enviamos a otra oficina u organización que puede atenderla."
            }
            (ReferredElsewhere, Language::En) => {
                "We sent it to another office or organization that can deal with it."
            }
            (Unfounded, Language::Es) => {
                "La revisamos y no encontramos elementos para que la autoridad actúe."
            }
            (Unfounded, Language::En) => {
                "We reviewed it and found nothing the authority can act on."
            }
            (Withdrawn, Language::Es) => "Usted la retiró.",
            (Withdrawn, Language::En) => "You withdrew it.",
            (NoResponse, Language::Es) => "No recibimos respuesta a nuestras preguntas.",
            (NoResponse, Language::En) => "We got no answer to our questions.",
            (Duplicate, Language::Es) => {
                "Ya atendemos la misma situación en otra queja y seguimos con esa."
            }
            (Duplicate, Language::En) => {
                "We are already dealing with the same situation in another complaint."
            }
            (Other, Language::Es) => "La persona que la revisó la cerró.",
            (Other, Language::En) => "The person who reviewed it closed it.",
        }
    }
}

/// What a worker reads when their case closes (on their channel and on the status
/// page): how it ended and what they can do next. `advice` names the bodies that give
/// workers free legal advice for this case (its legal-aid referrals: PROFEDET for a
/// federal matter, the state's Procuraduría de la Defensa del Trabajo for a local
/// one); empty when the case was never routed, and then both are named.
pub fn closing_notice(outcome: Outcome, lang: Language, advice: &[String]) -> String {
    let es = lang == Language::Es;
    let if_not = match (outcome, es) {
        (Outcome::Remedied | Outcome::Conciliated, true) => {
            "Si la empresa no cumple o el problema vuelve"
        }
        (Outcome::Remedied | Outcome::Conciliated, false) => {
            "If the employer does not keep to it or the problem comes back"
        }
        (_, true) => "Si no está de acuerdo o el problema sigue",
        (_, false) => "If you do not agree or the problem goes on",
    };
    let bodies = if advice.is_empty() {
        lang.pick(
            "la Procuraduría Federal de la Defensa del Trabajo (PROFEDET), si la empresa es de \
             jurisdicción federal, o la Procuraduría de la Defensa del Trabajo de su estado",
            "the Federal Labor Defense Office (PROFEDET), if the employer is under federal \
             jurisdiction, or your state's Labor Defense Office",
        )
        .to_owned()
    } else {
        advice.join(lang.pick(" o ", " or "))
    };
    let (result, next, law, again) = if es {
        (
            "Resultado",
            "puede pedir asesoría y representación gratis a",
            "La Ley Federal del Trabajo (art. 530) le da ese derecho. Antes de un juicio, la ley pide \
             una cita de conciliación; allí le explican cómo.",
            "También puede presentar una queja nueva cuando quiera.",
        )
    } else {
        (
            "Outcome",
            "you can ask for free advice and representation from",
            "The Federal Labor Law (art. 530) gives you that right. Before going to court, the law \
             asks for a conciliation meeting; they will explain how.",
            "You can also file a new complaint at any time.",
        )
    };
    format!(
        "{result}: {}\n\n{if_not}, {next} {bodies}. {law}\n\n{again}",
        outcome.for_worker(lang)
    )
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
    fn a_closing_notice_says_how_it_ended_and_where_to_go_next() {
        let named = closing_notice(
            Outcome::Unfounded,
            Language::Es,
            &["Procuraduría de la Defensa del Trabajo de Jalisco".to_owned()],
        );
        assert!(named.contains("no encontramos elementos"), "{named}");
        assert!(named.contains("Si no está de acuerdo"), "{named}");
        assert!(named.contains("Procuraduría de la Defensa del Trabajo de Jalisco"));
        assert!(named.contains("art. 530"), "{named}");
        let unrouted = closing_notice(Outcome::Remedied, Language::En, &[]);
        assert!(unrouted.contains("put the problem right"), "{unrouted}");
        assert!(unrouted.contains("PROFEDET") && unrouted.contains("comes back"));
        for o in Outcome::ALL {
            assert_ne!(o.for_worker(Language::Es), o.for_worker(Language::En));
        }
    }

    #[test]
    fn no_status_tells_a_whatsapp_worker_to_answer_below() {
        for s in CaseStatus::ALL {
            for lang in [Language::Es, Language::En] {
                let text = s.explanation(lang);
                assert!(!text.contains("abajo") && !text.contains("below"), "{text}");
            }
        }
    }

    #[test]
    fn a_new_case_cannot_jump_to_referred() {
        assert!(!CaseStatus::Received.can_move_to(CaseStatus::Referred));
        assert!(CaseStatus::Received.can_move_to(CaseStatus::InReview));
        assert!(CaseStatus::Closed.can_move_to(CaseStatus::InReview));
    }
}
