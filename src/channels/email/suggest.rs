//! What can be read from a complaint's free text: violations suggested by Spanish
//! and English keywords (hints for triage, stored apart from confirmed violations),
//! and facts the sender stated on labelled lines (`Estado: Jalisco`,
//! `Empresa: …`). Pure functions.

use crate::domain::{StateCode, Violation};
use std::collections::BTreeSet;

/// Keywords are written lower-case without accents; each must start a word in the
/// text (so `ptu` does not match inside another word). Deliberately specific: a
/// wrong suggestion costs a triager a click, a missing one costs nothing.
const KEYWORDS: &[(Violation, &[&str])] = &[
    (
        Violation::UnjustDismissal,
        &[
            "despid",
            "me corrieron",
            "nos corrieron",
            "lo corrieron",
            "la corrieron",
            "liquidacion",
            "finiquito",
            "fired",
            "dismiss",
            "laid off",
            "severance",
        ],
    ),
    (
        Violation::UnpaidWages,
        &[
            "no me pagan",
            "no nos pagan",
            "no han pagado",
            "no me han pagado",
            "horas extra",
            "tiempo extra",
            "aguinaldo",
            "overtime",
            "unpaid",
            "not paid",
            "didn't pay",
            "did not pay",
        ],
    ),
    (Violation::MinimumWage, &["salario minimo", "minimum wage"]),
    (
        Violation::ExcessiveHours,
        &[
            "sin descanso",
            "dia de descanso",
            "doble turno",
            "turnos de 12",
            "12 horas",
            "rest day",
            "day off",
            "double shift",
            "hours a day",
            "12 hours",
        ],
    ),
    (
        Violation::ProfitSharing,
        &["utilidades", "ptu", "profit sharing"],
    ),
    (
        Violation::SocialSecurity,
        &["imss", "seguro social", "infonavit", "social security"],
    ),
    (
        Violation::SafetyHealth,
        &[
            "accidente",
            "lesion",
            "herid",
            "quemadura",
            "equipo de proteccion",
            "peligros",
            "insegur",
            "quimico",
            "accident",
            "injur",
            "unsafe",
            "protective equipment",
            "dangerous",
            "chemical",
        ],
    ),
    (Violation::Training, &["capacitacion", "training"]),
    (
        Violation::HarassmentDiscrimination,
        &[
            "acoso",
            "hostiga",
            "discrimin",
            "prueba de embarazo",
            "embarazada",
            "harass",
            "pregnan",
        ],
    ),
    (
        Violation::ChildLabor,
        &[
            "menores de edad",
            "menor de edad",
            "child labor",
            "underage",
            "minors",
        ],
    ),
    (
        Violation::ForcedLabor,
        &[
            "pasaporte",
            "papeles",
            "retienen documentos",
            "deuda",
            "no me dejan salir",
            "no me dejan ir",
            "passport",
            "debt",
            "not allowed to leave",
            "forced labor",
        ],
    ),
    (
        Violation::UnionRetaliation,
        &[
            "por el sindicato",
            "por organizar",
            "represalia",
            "retaliat",
            "for organizing",
            "union activity",
            "for the union",
        ],
    ),
    (
        Violation::UnionInterference,
        &[
            "sindicato blanco",
            "sindicato de la empresa",
            "company union",
            "charro",
        ],
    ),
    (
        Violation::UnionCoercion,
        &[
            "obligan a afiliar",
            "obligan a votar",
            "presionan para votar",
            "forced to join",
            "pressured to vote",
            "pressure to join",
        ],
    ),
    (
        Violation::UnionAccessDenied,
        &[
            "no dejan entrar al sindicato",
            "union organizers",
            "kept the union out",
        ],
    ),
    (
        Violation::VoteIrregularity,
        &[
            "votacion",
            "voto secreto",
            "legitimacion",
            "boleta",
            "secret ballot",
            "ballot",
        ],
    ),
    (
        Violation::ProtectionContract,
        &["contrato de proteccion", "protection contract"],
    ),
    (
        Violation::RefusalToBargain,
        &[
            "no quiere negociar",
            "negociacion colectiva",
            "refuses to bargain",
            "bargaining",
        ],
    ),
    (
        Violation::ContratoLeyNotApplied,
        &["contrato ley", "contrato-ley"],
    ),
];

/// Lower-case, accents removed (`Liquidación` → `liquidacion`).
fn fold(text: &str) -> String {
    crate::domain::strip_accents(text)
        .flat_map(char::to_lowercase)
        .collect()
}

fn starts_word(text: &str, at: usize) -> bool {
    text[..at]
        .chars()
        .next_back()
        .is_none_or(|c| !c.is_alphanumeric())
}

/// Violations the text suggests, in code order.
pub fn violations(text: &str) -> BTreeSet<Violation> {
    let text = fold(text);
    KEYWORDS
        .iter()
        .filter(|(_, words)| {
            words
                .iter()
                .any(|w| text.match_indices(w).any(|(at, _)| starts_word(&text, at)))
        })
        .map(|(v, _)| *v)
        .collect()
}

/// Facts stated on labelled lines (`Estado: Jalisco`, `Company: …`).
#[derive(Default)]
pub struct Stated {
    pub state: Option<StateCode>,
    pub employer: Option<String>,
    pub city: Option<String>,
}

pub fn stated(body: &str) -> Stated {
    let mut found = Stated::default();
    for line in body.lines().take(200) {
        let Some((label, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        match fold(label.trim()).as_str() {
            "estado" | "state" | "entidad" if found.state.is_none() => {
                found.state = crate::channels::whatsapp::conversation::match_state(value);
            }
            "empresa" | "employer" | "company" | "fabrica" | "planta" | "factory"
                if found.employer.is_none() =>
            {
                found.employer = Some(value.to_owned());
            }
            "ciudad" | "city" | "municipio" if found.city.is_none() => {
                found.city = Some(value.to_owned());
            }
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spanish_and_english_keywords_suggest_codes() {
        let v = violations("Me DESPIDIERON sin liquidación y no me pagan las horas extra.");
        assert!(v.contains(&Violation::UnjustDismissal));
        assert!(v.contains(&Violation::UnpaidWages));
        let v = violations("They took my passport and I was injured; no protective equipment.");
        assert!(v.contains(&Violation::ForcedLabor));
        assert!(v.contains(&Violation::SafetyHealth));
        assert!(violations("Hola, buenos días").is_empty());
    }

    #[test]
    fn keywords_match_at_word_starts_only() {
        // "ptu" inside another word, "acoso" as a word.
        assert!(!violations("interruptus").contains(&Violation::ProfitSharing));
        assert!(violations("hay acoso").contains(&Violation::HarassmentDiscrimination));
    }

    #[test]
    fn labelled_lines_are_read() {
        let s = stated("Hola\nEstado: Nuevo Leon\nEmpresa: Arneses del Norte\nCiudad: Apodaca\n");
        assert_eq!(s.state, Some(StateCode::Nle));
        assert_eq!(s.employer.as_deref(), Some("Arneses del Norte"));
        assert_eq!(s.city.as_deref(), Some("Apodaca"));
        assert!(stated("Estado: no sé").state.is_none());
    }
}
