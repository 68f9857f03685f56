//! The authority directory: the name (Spanish and English) and contacts of every
//! body a case can be referred to.
//!
//! Built-in entries cover the federal bodies and, for each of the 32 states, its
//! conciliation centre, labor ministry and labor defense office, with names from
//! `rules/states.csv` (a copy of shared/domain/states.csv). A name the sources
//! don't know stays visibly unconfirmed instead of being made up, and contacts
//! start empty. The database holds the editable copy (`buzon authorities export`
//! / `import` round-trip it as CSV); built-in entries only fill codes it lacks.

use crate::domain::{Language, StateCode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const DEFAULT_STATES: &str = include_str!("../../rules/states.csv");

/// One authority, as stored and as exported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub code: String,
    pub name_es: String,
    pub name_en: String,
    /// False while no source confirms the official name.
    pub name_confirmed: bool,
    pub phone: String,
    pub email: String,
    pub address: String,
    pub website: String,
}

#[derive(Deserialize)]
struct StateRow {
    iso_code: String,
    labor_authority_name: String,
    conciliation_center_name: String,
}

const FEDERAL: [(&str, &str, &str); 4] = [
    (
        "cfcrl",
        "Centro Federal de Conciliación y Registro Laboral (CFCRL), oficina de su estado",
        "Federal Conciliation and Labor Registration Center (CFCRL), office in your state",
    ),
    (
        "profedet",
        "Procuraduría Federal de la Defensa del Trabajo (PROFEDET)",
        "Federal Labor Defense Office (PROFEDET)",
    ),
    (
        "stps_inspection",
        "Inspección Federal del Trabajo (STPS)",
        "Federal Labor Inspection (STPS)",
    ),
    (
        "us_ilc_rrm",
        "Comité de Trabajo de Estados Unidos (Mecanismo Laboral de Respuesta Rápida del T-MEC)",
        "U.S. Interagency Labor Committee (USMCA Rapid Response Labor Mechanism)",
    ),
];

const STATE_KINDS: [&str; 3] = ["state_ccl", "state_labor", "state_prodet"];

/// A name from the sources without their bracketed notes; `None` when the sources
/// say it is unknown or only approximate.
fn known(raw: &str) -> Option<String> {
    let name = raw.split(" [").next().unwrap_or("").trim();
    let approximate = raw.contains("official name unknown");
    (!name.is_empty() && name != "unknown" && !approximate).then(|| name.to_string())
}

fn entry(code: String, es: String, en: String, confirmed: bool) -> Entry {
    Entry {
        code,
        name_es: es,
        name_en: en,
        name_confirmed: confirmed,
        phone: String::new(),
        email: String::new(),
        address: String::new(),
        website: String::new(),
    }
}

/// Whether `code` names an authority Buzón can refer to.
pub fn is_known_code(code: &str) -> bool {
    match code.split_once(':') {
        None => FEDERAL.iter().any(|(c, _, _)| *c == code),
        Some((kind, state)) => STATE_KINDS.contains(&kind) && StateCode::parse(state).is_some(),
    }
}

#[derive(Clone, Debug)]
pub struct Directory {
    entries: BTreeMap<String, Entry>,
}

impl Directory {
    /// The built-in directory.
    pub fn builtin() -> Result<Self, String> {
        let mut entries = BTreeMap::new();
        for (code, es, en) in FEDERAL {
            entries.insert(
                code.to_string(),
                entry(code.into(), es.into(), en.into(), true),
            );
        }
        let mut reader = csv::Reader::from_reader(DEFAULT_STATES.as_bytes());
        for (i, row) in reader.deserialize::<StateRow>().enumerate() {
            let row = row.map_err(|e| format!("states.csv row {}: {e}", i + 2))?;
            let state = StateCode::parse(&row.iso_code).ok_or_else(|| {
                format!("states.csv row {}: unknown state {:?}", i + 2, row.iso_code)
            })?;
            let es_name = state.label(Language::Es);
            let en_name = state.label(Language::En);
            let ccl = known(&row.conciliation_center_name);
            let labor = known(&row.labor_authority_name);
            let bodies = [
                (
                    "state_ccl",
                    ccl.clone(),
                    format!("Centro de Conciliación Laboral de {es_name}"),
                    format!("Labor Conciliation Center of {en_name}"),
                ),
                (
                    "state_labor",
                    labor.clone(),
                    format!("Secretaría del Trabajo de {es_name}"),
                    format!("Labor ministry of {en_name}"),
                ),
                (
                    "state_prodet",
                    None,
                    format!("Procuraduría de la Defensa del Trabajo de {es_name}"),
                    format!("Labor Defense Office of {en_name}"),
                ),
            ];
            for (kind, official, generic_es, generic_en) in bodies {
                let code = format!("{kind}:{}", state.code());
                let e = match official {
                    // Official names are Spanish proper names; English readers get the
                    // same name with the generic description after it.
                    Some(name) => entry(
                        code.clone(),
                        name.clone(),
                        format!("{name} ({generic_en})"),
                        true,
                    ),
                    None => entry(code.clone(), generic_es, generic_en, false),
                };
                entries.insert(code, e);
            }
        }
        if let Some(missing) = StateCode::ALL
            .iter()
            .find(|s| !entries.contains_key(&format!("state_ccl:{}", s.code())))
        {
            return Err(format!("states.csv has no row for {}", missing.code()));
        }
        Ok(Self { entries })
    }

    /// The built-in directory overlaid with stored entries.
    pub fn with_entries(mut self, stored: impl IntoIterator<Item = Entry>) -> Self {
        for e in stored {
            self.entries.insert(e.code.clone(), e);
        }
        self
    }

    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// The display name of an authority code; unconfirmed names say so.
    pub fn name(&self, code: &str, lang: Language) -> String {
        let Some(e) = self.entries.get(code) else {
            return code.to_string();
        };
        match (lang, e.name_confirmed) {
            (Language::Es, true) => e.name_es.clone(),
            (Language::En, true) => e.name_en.clone(),
            (Language::Es, false) => format!("{} (nombre oficial por confirmar)", e.name_es),
            (Language::En, false) => format!("{} (official name to be confirmed)", e.name_en),
        }
    }

    /// The directory as CSV, one authority per row, in code order.
    pub fn to_csv(&self) -> Result<String, String> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        for e in self.entries.values() {
            writer.serialize(e).map_err(|e| e.to_string())?;
        }
        let bytes = writer.into_inner().map_err(|e| e.to_string())?;
        String::from_utf8(bytes).map_err(|e| e.to_string())
    }

    /// Reads an exported (and edited) CSV. Every row must name a known authority
    /// and carry both names; problems name their row.
    pub fn parse_csv(text: &str) -> Result<Vec<Entry>, String> {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let mut out = Vec::new();
        let mut problems = Vec::new();
        for (i, row) in reader.deserialize::<Entry>().enumerate() {
            let line = i + 2;
            match row {
                Err(e) => problems.push(format!("row {line}: {e}")),
                Ok(e) if !is_known_code(&e.code) => {
                    problems.push(format!("row {line}: unknown authority {:?}", e.code));
                }
                Ok(e) if e.name_es.trim().is_empty() || e.name_en.trim().is_empty() => {
                    problems.push(format!("row {line}: {} needs name_es and name_en", e.code));
                }
                Ok(e) => out.push(e),
            }
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(problems.join("; "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_its_bodies_and_unknown_names_stay_unknown() {
        let d = Directory::builtin().unwrap();
        assert_eq!(
            d.name("state_ccl:MX-JAL", Language::Es),
            "Centro de Conciliación Laboral del Estado de Jalisco"
        );
        let agu = d.name("state_ccl:MX-AGU", Language::Es);
        assert!(
            agu.contains("Aguascalientes") && agu.contains("por confirmar"),
            "{agu}"
        );
        let dur = d.name("state_ccl:MX-DUR", Language::En);
        assert!(
            dur.contains("to be confirmed"),
            "approximate names are not confirmed: {dur}"
        );
        let bcn = d.name("state_ccl:MX-BCN", Language::Es);
        assert!(!bcn.contains('['), "source notes are not shown: {bcn}");
        assert_eq!(d.entries().count(), 4 + 32 * 3);
        assert!(
            d.entries()
                .all(|e| e.phone.is_empty() && is_known_code(&e.code))
        );
    }

    #[test]
    fn csv_round_trips_and_refuses_unknown_codes_by_row() {
        let d = Directory::builtin().unwrap();
        let csv = d.to_csv().unwrap();
        let back = Directory::builtin()
            .unwrap()
            .with_entries(Directory::parse_csv(&csv).unwrap());
        assert_eq!(back.to_csv().unwrap(), csv);
        let bad = csv.replacen("state_ccl:MX-AGU", "state_ccl:MX-XXX", 1);
        let err = Directory::parse_csv(&bad).unwrap_err();
        assert!(
            err.contains("unknown authority \"state_ccl:MX-XXX\""),
            "{err}"
        );
        assert!(err.starts_with("row "), "{err}");
    }
}
