//! Loading and validating the rules file (`rules/routing.toml`). Every code is
//! checked against the domain vocabulary; a mistake names its line.

use super::{Authority, Function, Jurisdiction};
use crate::domain::{Sector, Violation};
use chrono::NaiveDate;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use toml::Spanned;

/// The rules shipped with Buzón.
pub const DEFAULT_RULES: &str = include_str!("../../rules/routing.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    version: String,
    rrm: RawRrm,
    sector: Vec<RawSector>,
    rule: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRrm {
    entry_into_force: Spanned<String>,
    denial_of_rights: Vec<Spanned<String>>,
    not_covered: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSector {
    code: Spanned<String>,
    jurisdiction: Spanned<String>,
    basis: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Spanned<String>,
    jurisdiction: Option<Spanned<String>>,
    violations: Vec<Spanned<String>>,
    refer: Vec<RawRefer>,
    basis: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRefer {
    authority: Spanned<String>,
    function: Spanned<String>,
}

/// The jurisdiction of a branch of industry and why.
#[derive(Clone, Debug)]
pub struct SectorRule {
    pub jurisdiction: Jurisdiction,
    pub basis: String,
}

/// One referral rule.
#[derive(Clone, Debug)]
pub struct Rule {
    pub id: String,
    /// `None`: applies whatever the jurisdiction (subject-matter rules).
    pub jurisdiction: Option<Jurisdiction>,
    pub violations: BTreeSet<Violation>,
    pub refer: Vec<(Authority, Function)>,
    pub basis: String,
}

/// Validated rules, ready for [`super::route`].
#[derive(Clone, Debug)]
pub struct Rules {
    pub version: String,
    pub entry_into_force: NaiveDate,
    pub denial_of_rights: BTreeSet<Violation>,
    pub not_covered: BTreeSet<Sector>,
    pub sectors: BTreeMap<Sector, SectorRule>,
    pub rules: Vec<Rule>,
}

#[derive(Debug, thiserror::Error)]
#[error("routing rules {source_name}: {}", .problems.join("; "))]
pub struct RulesError {
    pub source_name: String,
    pub problems: Vec<String>,
}

struct Checker<'a> {
    text: &'a str,
    problems: Vec<String>,
}

impl Checker<'_> {
    fn line(&self, offset: usize) -> usize {
        self.text
            .get(..offset)
            .map_or(0, |t| t.bytes().filter(|b| *b == b'\n').count())
            + 1
    }

    fn fail(&mut self, at: &Spanned<String>, what: &str) {
        let line = self.line(at.span().start);
        self.problems
            .push(format!("line {line}: {what} {:?}", at.get_ref()));
    }

    fn sector(&mut self, code: &Spanned<String>) -> Option<Sector> {
        let s = Sector::parse(code.get_ref());
        if s.is_none() {
            self.fail(code, "unknown sector");
        }
        s
    }

    fn violation(&mut self, code: &Spanned<String>) -> Option<Violation> {
        let v = Violation::parse(code.get_ref());
        if v.is_none() {
            self.fail(code, "unknown violation");
        }
        v
    }
}

impl Rules {
    /// The rules shipped with Buzón.
    pub fn default_rules() -> Result<Self, RulesError> {
        Self::parse(DEFAULT_RULES, "rules/routing.toml (built in)")
    }

    /// The rules file at `path` (BUZON_ROUTING_RULES), or the built-in rules.
    pub fn load(path: Option<&std::path::Path>) -> Result<Self, RulesError> {
        let Some(path) = path else {
            return Self::default_rules();
        };
        let source_name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| RulesError {
            source_name: source_name.clone(),
            problems: vec![format!("cannot read it: {e} (BUZON_ROUTING_RULES)")],
        })?;
        Self::parse(&text, &source_name)
    }

    /// Parses and validates a rules file; `source_name` names it in errors.
    pub fn parse(text: &str, source_name: &str) -> Result<Self, RulesError> {
        let err = |problems: Vec<String>| RulesError {
            source_name: source_name.to_owned(),
            problems,
        };
        let raw: RawRules = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(0, |s| {
                text.get(..s.start)
                    .map_or(0, |t| t.bytes().filter(|b| *b == b'\n').count())
                    + 1
            });
            err(vec![format!("line {line}: {}", e.message())])
        })?;
        let mut c = Checker {
            text,
            problems: Vec::new(),
        };

        let entry_into_force =
            NaiveDate::parse_from_str(raw.rrm.entry_into_force.get_ref(), "%Y-%m-%d")
                .unwrap_or_else(|_| {
                    c.fail(&raw.rrm.entry_into_force, "not a date (YYYY-MM-DD):");
                    NaiveDate::MIN
                });
        let denial_of_rights = raw
            .rrm
            .denial_of_rights
            .iter()
            .filter_map(|v| c.violation(v))
            .collect();
        let not_covered = raw
            .rrm
            .not_covered
            .iter()
            .filter_map(|s| c.sector(s))
            .collect();

        let mut sectors = BTreeMap::new();
        for s in &raw.sector {
            let Some(sector) = c.sector(&s.code) else {
                continue;
            };
            let Some(jurisdiction) = Jurisdiction::parse(s.jurisdiction.get_ref()) else {
                c.fail(
                    &s.jurisdiction,
                    "jurisdiction must be federal, local, ambiguous or unknown, not",
                );
                continue;
            };
            let rule = SectorRule {
                jurisdiction,
                basis: s.basis.clone(),
            };
            if sectors.insert(sector, rule).is_some() {
                c.fail(&s.code, "sector listed twice:");
            }
        }
        for sector in Sector::ALL {
            if !sectors.contains_key(sector) {
                c.problems.push(format!(
                    "sector {:?} has no [[sector]] entry",
                    sector.code()
                ));
            }
        }

        let mut rules = Vec::new();
        let mut ids = BTreeSet::new();
        for r in &raw.rule {
            if !ids.insert(r.id.get_ref().clone()) {
                c.fail(&r.id, "rule id used twice:");
            }
            let jurisdiction = match &r.jurisdiction {
                None => None,
                Some(j) => match Jurisdiction::parse(j.get_ref()) {
                    Some(j @ (Jurisdiction::Federal | Jurisdiction::Local)) => Some(j),
                    _ => {
                        c.fail(j, "a rule's jurisdiction must be federal or local, not");
                        None
                    }
                },
            };
            let violations: BTreeSet<Violation> =
                r.violations.iter().filter_map(|v| c.violation(v)).collect();
            let mut refer = Vec::new();
            for target in &r.refer {
                let authority = Authority::parse(target.authority.get_ref());
                let function = Function::parse(target.function.get_ref());
                if authority.is_none() {
                    c.fail(&target.authority, "unknown authority");
                }
                if function.is_none() {
                    c.fail(&target.function, "unknown function");
                }
                if let (Some(a), Some(f)) = (authority, function) {
                    refer.push((a, f));
                }
            }
            if refer.is_empty() {
                c.fail(&r.id, "rule refers to no authority:");
            }
            rules.push(Rule {
                id: r.id.get_ref().clone(),
                jurisdiction,
                violations,
                refer,
                basis: r.basis.clone(),
            });
        }
        // Every violation must lead somewhere in both jurisdictions, so every case
        // gets at least one referral.
        for j in [Jurisdiction::Federal, Jurisdiction::Local] {
            for v in Violation::ALL {
                let covered = rules
                    .iter()
                    .any(|r| r.violations.contains(v) && r.jurisdiction.is_none_or(|rj| rj == j));
                if !covered {
                    c.problems.push(format!(
                        "no rule refers violation {:?} in {} jurisdiction",
                        v.code(),
                        j.code()
                    ));
                }
            }
        }
        if raw.version.trim().is_empty() {
            c.problems.push("version is empty".into());
        }
        if !c.problems.is_empty() {
            return Err(err(c.problems));
        }
        Ok(Self {
            version: raw.version,
            entry_into_force,
            denial_of_rights,
            not_covered,
            sectors,
            rules,
        })
    }
}
