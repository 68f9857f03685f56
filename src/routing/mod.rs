//! Routing: a pure function from a case's facts to the authorities that can act on
//! it and an RRM screening, driven by versioned rules data (`rules/routing.toml`).
//! No I/O here; the rules are loaded and validated once at start.
//!
//! How it decides (the README's "How routing decides" says the same for lawyers):
//! 1. The branch of industry gives the jurisdiction: federal when listed in LFT
//!    art. 527 fr. I, local otherwise; some branches are ambiguous, and an unknown
//!    branch is unknown. Ambiguous and unknown route to both candidates, said so.
//! 2. Each rule whose violations the case has, and whose jurisdiction (if it names
//!    one) matches, adds its referrals; subject-matter rules (unions -> CFCRL,
//!    safety and training -> federal inspection) apply in every jurisdiction.
//! 3. RRM screening: covered sector, trade nexus with the U.S., a denial of
//!    freedom of association, events after USMCA's entry into force. All met:
//!    `likely`; any not met: `unlikely`; otherwise `possible`, with the questions
//!    that would settle what is missing. Not knowing a fact never makes `unlikely`.

pub mod priority;

mod directory;
pub mod markdown;
pub mod petition;
mod rules;

pub use directory::{Directory, Entry, is_known_code};
pub use rules::{DEFAULT_RULES, Rule, Rules, RulesError, SectorRule};

use crate::domain::{Language, Sector, StateCode, TradeNexus, Violation};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Jurisdiction {
    Federal,
    Local,
    Ambiguous,
    Unknown,
}

impl Jurisdiction {
    fn parse(code: &str) -> Option<Self> {
        match code {
            "federal" => Some(Self::Federal),
            "local" => Some(Self::Local),
            "ambiguous" => Some(Self::Ambiguous),
            "unknown" => Some(Self::Unknown),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Federal => "federal",
            Self::Local => "local",
            Self::Ambiguous => "ambiguous",
            Self::Unknown => "unknown",
        }
    }
}

/// Authorities of TAXONOMY.md; state bodies are completed with the state's code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Authority {
    Cfcrl,
    Profedet,
    StpsInspection,
    StateCcl,
    StateLabor,
    StateProdet,
    UsIlcRrm,
}

impl Authority {
    fn parse(code: &str) -> Option<Self> {
        match code {
            "cfcrl" => Some(Self::Cfcrl),
            "profedet" => Some(Self::Profedet),
            "stps_inspection" => Some(Self::StpsInspection),
            "state_ccl" => Some(Self::StateCcl),
            "state_labor" => Some(Self::StateLabor),
            "state_prodet" => Some(Self::StateProdet),
            "us_ilc_rrm" => Some(Self::UsIlcRrm),
            _ => None,
        }
    }

    /// The authority code of a referral: `cfcrl`, or `state_ccl:MX-GUA`.
    pub fn code_for(self, state: StateCode) -> String {
        match self {
            Self::Cfcrl => "cfcrl".into(),
            Self::Profedet => "profedet".into(),
            Self::StpsInspection => "stps_inspection".into(),
            Self::UsIlcRrm => "us_ilc_rrm".into(),
            Self::StateCcl => format!("state_ccl:{}", state.code()),
            Self::StateLabor => format!("state_labor:{}", state.code()),
            Self::StateProdet => format!("state_prodet:{}", state.code()),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Function {
    Conciliation,
    Inspection,
    Registration,
    LegalAid,
    Petition,
}

impl Function {
    fn parse(code: &str) -> Option<Self> {
        match code {
            "conciliation" => Some(Self::Conciliation),
            "inspection" => Some(Self::Inspection),
            "registration" => Some(Self::Registration),
            "legal_aid" => Some(Self::LegalAid),
            "petition" => Some(Self::Petition),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Conciliation => "conciliation",
            Self::Inspection => "inspection",
            Self::Registration => "registration",
            Self::LegalAid => "legal_aid",
            Self::Petition => "petition",
        }
    }

    /// What happens next, in plain words for the worker.
    pub fn next_step(self, lang: Language) -> &'static str {
        match (self, lang) {
            (Self::Conciliation, Language::Es) => {
                "Le pueden citar a una plática con la empresa para llegar a un acuerdo, antes de ir a juicio."
            }
            (Self::Conciliation, Language::En) => {
                "You may be called to a meeting with the company to reach an agreement, before going to court."
            }
            (Self::Inspection, Language::Es) => {
                "Pueden mandar inspectores a revisar el centro de trabajo."
            }
            (Self::Inspection, Language::En) => "Inspectors may be sent to check the workplace.",
            (Self::Registration, Language::Es) => {
                "Atienden los asuntos del sindicato y del contrato colectivo: la libertad para organizarse, las votaciones y los registros."
            }
            (Self::Registration, Language::En) => {
                "They handle union and collective agreement matters: the freedom to organize, votes and registrations."
            }
            (Self::LegalAid, Language::Es) => "Le pueden dar asesoría y un abogado sin costo.",
            (Self::LegalAid, Language::En) => "They can give you advice and a lawyer for free.",
            (Self::Petition, Language::Es) => {
                "Una organización puede pedir a Estados Unidos que revise el caso bajo el T-MEC."
            }
            (Self::Petition, Language::En) => {
                "An organization can ask the United States to review the case under the USMCA."
            }
        }
    }
}

/// What routing looks at: validated facts, nothing identifying.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseFacts {
    pub state: StateCode,
    pub sector: Sector,
    pub trade_with_us: TradeNexus,
    pub workers: Option<u32>,
    pub violations: BTreeSet<Violation>,
    pub occurred_on: Option<NaiveDate>,
}

impl CaseFacts {
    pub fn of(complaint: &crate::domain::NewComplaint) -> Self {
        Self {
            state: complaint.workplace.state,
            sector: complaint.workplace.sector,
            trade_with_us: complaint.workplace.trade_with_us,
            workers: complaint.workplace.workers,
            violations: complaint.violations.clone(),
            occurred_on: complaint.occurred_on,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JurisdictionFinding {
    pub status: Jurisdiction,
    pub basis: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Referral {
    /// `cfcrl`, `state_ccl:MX-GUA`, ... (TAXONOMY.md "Authorities").
    pub authority: String,
    pub function: Function,
    /// The rule that fired.
    pub rule: String,
    /// Its legal basis, in words.
    pub basis: String,
    /// The facts it used.
    pub facts: Vec<String>,
    /// True when the jurisdiction is ambiguous or unknown and this is one of the
    /// candidates a person has to choose between.
    pub candidate: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RrmStatus {
    Likely,
    Possible,
    Unlikely,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    CoveredSector,
    TradeNexus,
    DenialOfRights,
    #[serde(rename = "after_2020_07_01")]
    AfterEntryIntoForce,
}

impl Criterion {
    /// The question that would settle a missing criterion.
    pub fn question(self, lang: Language) -> &'static str {
        match (self, lang) {
            (Self::CoveredSector, Language::Es) => "¿Qué hace o produce la empresa?",
            (Self::CoveredSector, Language::En) => "What does the company make or do?",
            (Self::TradeNexus, Language::Es) => {
                "¿La empresa vende a Estados Unidos, o compite con empresas de allá?"
            }
            (Self::TradeNexus, Language::En) => {
                "Does the company sell to the United States, or compete with U.S. companies?"
            }
            (Self::DenialOfRights, Language::Es) => {
                "¿Hubo algo contra el sindicato o la libre organización de los trabajadores?"
            }
            (Self::DenialOfRights, Language::En) => {
                "Was anything done against the union or workers' freedom to organize?"
            }
            (Self::AfterEntryIntoForce, Language::Es) => {
                "¿En qué fecha pasó? (tiene que ser después del 1 de julio de 2020)"
            }
            (Self::AfterEntryIntoForce, Language::En) => {
                "When did it happen? (it must be after 1 July 2020)"
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RrmScreening {
    pub status: RrmStatus,
    pub met: Vec<Criterion>,
    /// Facts nobody knows yet: ask.
    pub missing: Vec<Criterion>,
    /// Facts known to fail.
    pub not_met: Vec<Criterion>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub rule_version: String,
    pub jurisdiction: JurisdictionFinding,
    pub referrals: Vec<Referral>,
    pub rrm: RrmScreening,
}

/// Routes a case. Pure and total: every input gets a decision with at least one
/// referral (the rules file is checked for that when loaded).
pub fn route(rules: &Rules, facts: &CaseFacts) -> Decision {
    let sector_rule = rules.sectors.get(&facts.sector);
    let jurisdiction = sector_rule.map_or(Jurisdiction::Unknown, |r| r.jurisdiction);
    let candidate = matches!(
        jurisdiction,
        Jurisdiction::Ambiguous | Jurisdiction::Unknown
    );
    let applies = |rule: &Rule| match (rule.jurisdiction, jurisdiction) {
        (None, _) => true,
        (Some(_), Jurisdiction::Ambiguous | Jurisdiction::Unknown) => true,
        (Some(wanted), actual) => wanted == actual,
    };

    let mut referrals: Vec<Referral> = Vec::new();
    for rule in rules.rules.iter().filter(|r| applies(r)) {
        let matched: Vec<&Violation> = rule.violations.intersection(&facts.violations).collect();
        if matched.is_empty() {
            continue;
        }
        let mut used = vec![format!(
            "violations: {}",
            matched
                .iter()
                .map(|v| v.code())
                .collect::<Vec<_>>()
                .join(", ")
        )];
        if rule.jurisdiction.is_some() {
            used.push(format!(
                "sector: {} ({})",
                facts.sector.code(),
                jurisdiction.code()
            ));
        }
        used.push(format!("state: {}", facts.state.code()));
        for (authority, function) in &rule.refer {
            let code = authority.code_for(facts.state);
            // One referral per authority and function; the first rule to ask wins.
            if referrals
                .iter()
                .any(|r| r.authority == code && r.function == *function)
            {
                continue;
            }
            referrals.push(Referral {
                authority: code,
                function: *function,
                rule: rule.id.clone(),
                basis: rule.basis.clone(),
                facts: used.clone(),
                candidate: candidate && rule.jurisdiction.is_some(),
            });
        }
    }

    let rrm = screen(rules, facts);
    if rrm.status != RrmStatus::Unlikely {
        referrals.push(Referral {
            authority: Authority::UsIlcRrm.code_for(facts.state),
            function: Function::Petition,
            rule: "rrm-screening".into(),
            basis: "USMCA Annex 31-A: a denial of free association or collective bargaining at a covered facility; an advocate can petition the U.S. Interagency Labor Committee (DOMAIN.md §1-2, §7.4)".into(),
            facts: rrm.met.iter().map(|c| format!("met: {}", c.code())).collect(),
            // A petition comes on top of the other referrals, not instead of one.
            candidate: false,
        });
    }

    Decision {
        rule_version: rules.version.clone(),
        jurisdiction: JurisdictionFinding {
            status: jurisdiction,
            basis: sector_rule.map_or_else(String::new, |r| r.basis.clone()),
        },
        referrals,
        rrm,
    }
}

impl RrmStatus {
    pub fn code(self) -> &'static str {
        match self {
            Self::Likely => "likely",
            Self::Possible => "possible",
            Self::Unlikely => "unlikely",
        }
    }
}

impl Criterion {
    pub fn code(self) -> &'static str {
        match self {
            Criterion::CoveredSector => "covered_sector",
            Criterion::TradeNexus => "trade_nexus",
            Criterion::DenialOfRights => "denial_of_rights",
            Criterion::AfterEntryIntoForce => "after_2020_07_01",
        }
    }
}

fn screen(rules: &Rules, facts: &CaseFacts) -> RrmScreening {
    let mut met = Vec::new();
    let mut missing = Vec::new();
    let mut not_met = Vec::new();
    let mut record = |criterion, known: Option<bool>| match known {
        Some(true) => met.push(criterion),
        Some(false) => not_met.push(criterion),
        None => missing.push(criterion),
    };
    record(
        Criterion::CoveredSector,
        match facts.sector {
            Sector::Unknown => None,
            s => Some(!rules.not_covered.contains(&s)),
        },
    );
    // "Does it sell to the U.S.?" answered "no" still leaves the second prong of a
    // covered facility open (it may compete with U.S. goods or services, read
    // broadly in Atento, DOMAIN.md §1.2): only "yes" settles the criterion.
    record(
        Criterion::TradeNexus,
        match facts.trade_with_us {
            TradeNexus::Yes => Some(true),
            TradeNexus::No | TradeNexus::Unknown => None,
        },
    );
    record(
        Criterion::DenialOfRights,
        Some(!facts.violations.is_disjoint(&rules.denial_of_rights)),
    );
    record(
        Criterion::AfterEntryIntoForce,
        facts.occurred_on.map(|d| d >= rules.entry_into_force),
    );
    let status = if !not_met.is_empty() {
        RrmStatus::Unlikely
    } else if missing.is_empty() {
        RrmStatus::Likely
    } else {
        RrmStatus::Possible
    };
    RrmScreening {
        status,
        met,
        missing,
        not_met,
    }
}

#[cfg(test)]
mod tests;
