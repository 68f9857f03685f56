//! Names of the authorities a case is referred to, for the worker to read.
//!
//! Federal bodies have fixed names; state bodies come from `rules/states.csv` (a
//! copy of shared/domain/states.csv). A name the sources don't know stays visibly
//! unknown ("nombre oficial por confirmar") instead of being made up.

use crate::domain::{Language, StateCode};
use serde::Deserialize;
use std::collections::HashMap;

pub const DEFAULT_STATES: &str = include_str!("../../rules/states.csv");

#[derive(Deserialize)]
struct Row {
    iso_code: String,
    #[allow(dead_code)]
    name: String,
    labor_authority_name: String,
    conciliation_center_name: String,
}

#[derive(Clone, Debug, Default)]
struct StateBodies {
    labor: Option<String>,
    conciliation: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Directory {
    states: HashMap<StateCode, StateBodies>,
}

/// A name from the sources without the sources' bracketed notes; `None` when the
/// sources say it is unknown.
fn known(raw: &str) -> Option<String> {
    let name = raw.split(" [").next().unwrap_or("").trim();
    (!name.is_empty() && name != "unknown").then(|| name.to_string())
}

impl Directory {
    pub fn default_directory() -> Result<Self, String> {
        Self::parse(DEFAULT_STATES)
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let mut states = HashMap::new();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        for (i, row) in reader.deserialize::<Row>().enumerate() {
            let row = row.map_err(|e| format!("states.csv row {}: {e}", i + 2))?;
            let state = StateCode::parse(&row.iso_code).ok_or_else(|| {
                format!("states.csv row {}: unknown state {:?}", i + 2, row.iso_code)
            })?;
            states.insert(
                state,
                StateBodies {
                    labor: known(&row.labor_authority_name),
                    conciliation: known(&row.conciliation_center_name),
                },
            );
        }
        if let Some(missing) = StateCode::ALL.iter().find(|s| !states.contains_key(s)) {
            return Err(format!("states.csv has no row for {}", missing.code()));
        }
        Ok(Self { states })
    }

    /// The display name of an authority code (`cfcrl`, `state_ccl:MX-GUA`, ...).
    pub fn name(&self, code: &str, lang: Language) -> String {
        let (kind, state) = match code.split_once(':') {
            Some((kind, state)) => (kind, StateCode::parse(state)),
            None => (code, None),
        };
        let state_name = state.map_or("", |s| s.label(lang));
        let bodies = state
            .and_then(|s| self.states.get(&s))
            .cloned()
            .unwrap_or_default();
        let unconfirmed = match lang {
            Language::Es => "nombre oficial por confirmar",
            Language::En => "official name to be confirmed",
        };
        match (kind, lang) {
            ("cfcrl", Language::Es) => "Centro Federal de Conciliación y Registro Laboral (CFCRL), oficina de su estado".into(),
            ("cfcrl", Language::En) => "Federal Conciliation and Labor Registration Center (CFCRL), office in your state".into(),
            ("profedet", Language::Es) => "Procuraduría Federal de la Defensa del Trabajo (PROFEDET)".into(),
            ("profedet", Language::En) => "Federal Labor Defense Office (PROFEDET)".into(),
            ("stps_inspection", Language::Es) => "Inspección Federal del Trabajo (STPS)".into(),
            ("stps_inspection", Language::En) => "Federal Labor Inspection (STPS)".into(),
            ("us_ilc_rrm", Language::Es) => "Comité de Trabajo de Estados Unidos (Mecanismo Laboral de Respuesta Rápida del T-MEC)".into(),
            ("us_ilc_rrm", Language::En) => "U.S. Interagency Labor Committee (USMCA Rapid Response Labor Mechanism)".into(),
            ("state_ccl", lang) => bodies.conciliation.unwrap_or_else(|| match lang {
                Language::Es => format!("Centro de Conciliación Laboral de {state_name} ({unconfirmed})"),
                Language::En => format!("Labor Conciliation Center of {state_name} ({unconfirmed})"),
            }),
            ("state_labor", lang) => bodies.labor.unwrap_or_else(|| match lang {
                Language::Es => format!("Secretaría del Trabajo de {state_name} ({unconfirmed})"),
                Language::En => format!("Labor ministry of {state_name} ({unconfirmed})"),
            }),
            ("state_prodet", Language::Es) => format!("Procuraduría de la Defensa del Trabajo de {state_name} ({unconfirmed})"),
            ("state_prodet", Language::En) => format!("Labor Defense Office of {state_name} ({unconfirmed})"),
            (other, _) => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_bodies_and_unknown_names_stay_unknown() {
        let d = Directory::default_directory().unwrap();
        assert_eq!(
            d.name("state_ccl:MX-JAL", Language::Es),
            "Centro de Conciliación Laboral del Estado de Jalisco"
        );
        let agu = d.name("state_ccl:MX-AGU", Language::Es);
        assert!(
            agu.contains("Aguascalientes") && agu.contains("por confirmar"),
            "{agu}"
        );
        let bcn = d.name("state_ccl:MX-BCN", Language::Es);
        assert!(!bcn.contains('['), "source notes are not shown: {bcn}");
        for s in StateCode::ALL {
            for kind in ["state_ccl", "state_labor", "state_prodet"] {
                assert!(
                    !d.name(&format!("{kind}:{}", s.code()), Language::En)
                        .is_empty()
                );
            }
        }
    }
}
