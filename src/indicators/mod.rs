//! Program indicators: whether enforcement is working, without pointing at anyone.
//!
//! Coordinators and admins read them as a page (`/triage/indicators`), as JSON and
//! CSV (`/api/v1/indicators`, `/api/v1/indicators.csv`) and as a report
//! (`buzon indicators report`); all four are the same [`Report`]:
//! - [`facts`]: one de-identified row per case, cached in memory and refreshed
//!   from the database before each computation;
//! - [`tables`]: the indicator tables computed from those rows for a period and
//!   filters (one pass);
//! - [`suppress`]: small-cell protection applied to every table;
//! - [`render`]: Markdown, CSV, HTML and SVG charts.
//!
//! Deferred cases whose day has not come are in no table; admins see how many
//! there are ([`Report::held`]), nothing else about them.

pub mod facts;
pub mod render;
pub mod suppress;
pub mod tables;

pub use facts::Cache;

use crate::domain::{Channel, Language, Sector, StateCode};
use serde::Serialize;

/// The default smallest count shown (`BUZON_INDICATOR_MIN_CELL`).
pub const DEFAULT_MIN_CELL: u64 = 5;
/// The longest period one report covers, in months.
pub const MAX_MONTHS: i32 = 36;

/// A calendar month (UTC): `year * 12 + month - 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month(pub i32);

impl Month {
    /// `YYYY-MM`.
    pub fn parse(s: &str) -> Option<Self> {
        let (y, m) = s.trim().split_once('-')?;
        let (y, m): (i32, i32) = (y.parse().ok()?, m.parse().ok()?);
        ((2000..=2999).contains(&y) && (1..=12).contains(&m) && s.trim().len() == 7)
            .then_some(Self(y * 12 + m - 1))
    }

    pub fn of(t: chrono::DateTime<chrono::Utc>) -> Self {
        Self(facts::month_of(t.timestamp()))
    }

    pub fn label(self) -> String {
        format!(
            "{:04}-{:02}",
            self.0.div_euclid(12),
            self.0.rem_euclid(12) + 1
        )
    }
}

/// What a report covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filters {
    pub from: Month,
    pub to: Month,
    pub state: Option<StateCode>,
    pub sector: Option<Sector>,
    pub channel: Option<Channel>,
}

/// A filter the caller got wrong: the field, for the stable `invalid_field` error.
#[derive(Debug, PartialEq, Eq)]
pub struct BadFilter(pub &'static str);

impl Filters {
    /// Reads `from`, `to` (`YYYY-MM`), `state`, `sector`, `channel`. Without a
    /// period: the twelve months up to `now`'s; without `from`: eleven before `to`.
    pub fn parse(
        get: impl Fn(&str) -> Option<String>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Self, BadFilter> {
        let given = |k: &str| {
            get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let month = |k: &'static str| {
            given(k)
                .map(|v| Month::parse(&v).ok_or(BadFilter(k)))
                .transpose()
        };
        let to = month("to")?.unwrap_or(Month::of(now));
        let from = month("from")?.unwrap_or(Month(to.0 - 11));
        if from > to {
            return Err(BadFilter("from"));
        }
        if to.0 - from.0 + 1 > MAX_MONTHS {
            return Err(BadFilter("to"));
        }
        let state = given("state")
            .map(|v| StateCode::parse(&v).ok_or(BadFilter("state")))
            .transpose()?;
        let sector = given("sector")
            .map(|v| Sector::parse(&v).ok_or(BadFilter("sector")))
            .transpose()?;
        let channel = given("channel")
            .map(|v| Channel::parse(&v).ok_or(BadFilter("channel")))
            .transpose()?;
        Ok(Self {
            from,
            to,
            state,
            sector,
            channel,
        })
    }

    pub fn months(&self) -> impl Iterator<Item = Month> + use<> {
        (self.from.0..=self.to.0).map(Month)
    }

    /// The filters as query parameters (for links between the page and exports).
    pub fn query(&self) -> String {
        let mut q = format!("from={}&to={}", self.from.label(), self.to.label());
        if let Some(s) = self.state {
            q.push_str(&format!("&state={}", s.code()));
        }
        if let Some(s) = self.sector {
            q.push_str(&format!("&sector={}", s.code()));
        }
        if let Some(c) = self.channel {
            q.push_str(&format!("&channel={}", c.code()));
        }
        q
    }
}

/// One entry of a table.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Count(u64),
    /// A count under the minimum (or hidden to protect one): shown as "< min".
    Suppressed,
    /// A number that is not a count (days, a sum of workers).
    Value(f64),
    /// Nothing to show (a median of too few cases).
    Empty,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Row {
    /// A stable code (`web`, `MX-GUA`, `remedied`, a facility tag).
    pub key: String,
    pub label: String,
    pub cells: Vec<Cell>,
    /// The row's total, when its cells add up to one.
    pub total: Option<Cell>,
}

/// The families the program is judged on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    #[default]
    Intake,
    Enforcement,
    Employers,
    Rrm,
    Outcomes,
}

impl Family {
    pub fn title(self, lang: Language) -> &'static str {
        match self {
            Self::Intake => lang.pick("Quejas recibidas", "Complaints received"),
            Self::Enforcement => lang.pick("Acciones de la autoridad", "Enforcement outputs"),
            Self::Employers => lang.pick("Conducta de las empresas", "Employer behaviour"),
            Self::Rrm => lang.pick("Mecanismo de Respuesta Rápida", "Rapid Response Mechanism"),
            Self::Outcomes => lang.pick("Resultados", "Outcomes"),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    pub id: &'static str,
    pub family: Family,
    pub title: String,
    /// What it counts, in one line.
    pub definition: String,
    /// Column headings (months, or the table's own).
    pub columns: Vec<String>,
    pub rows: Vec<Row>,
    /// Column totals (and the grand total); `None` when columns do not add up.
    pub totals: Option<Row>,
    /// Whether each column's rows add up to its total (false when a case can be in
    /// several rows: its total is then the number of cases).
    pub rows_add_up: bool,
    /// Counts of cases (protected) or other figures (already protected by the
    /// table's maker).
    pub counts: bool,
    /// Chart it as bars over the columns.
    pub chart: bool,
}

/// Every indicator for one period and set of filters, protected.
#[derive(Clone, Debug)]
pub struct Report {
    pub filters: Filters,
    pub min_cell: u64,
    pub language: Language,
    pub generated_at: chrono::DateTime<chrono::Utc>,
    pub tables: Vec<Table>,
    /// Deferred cases still waiting for their day (admins only), protected.
    pub held: Option<Cell>,
}

impl Report {
    pub fn table(&self, id: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.id == id)
    }
}

/// Computes the report from the cached facts, brought up to date first.
pub async fn report(
    cache: &Cache,
    db: &sea_orm::DatabaseConnection,
    filters: &Filters,
    min_cell: u64,
    lang: Language,
    with_held: bool,
) -> anyhow::Result<Report> {
    let now = crate::clock::now();
    cache
        .with(db, |facts| {
            tables::compute(facts, filters, min_cell, lang, now, with_held)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_strictly() {
        assert_eq!(
            Month::parse("2026-01").map(Month::label).as_deref(),
            Some("2026-01")
        );
        for bad in ["2026-13", "2026-1", "26-01", "2026/01", "", "2026-00", "x"] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn filters_default_to_twelve_months_and_refuse_what_they_cannot_read() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-03T10:00:00Z")
            .unwrap()
            .to_utc();
        let none = |_: &str| None;
        let f = Filters::parse(none, now).unwrap();
        assert_eq!(
            (f.from.label(), f.to.label()),
            ("2026-01".into(), "2026-12".into())
        );
        let with =
            |k: &'static str, v: &'static str| move |key: &str| (key == k).then(|| v.to_owned());
        assert_eq!(
            Filters::parse(with("state", "MX-XXX"), now),
            Err(BadFilter("state"))
        );
        assert_eq!(
            Filters::parse(with("from", "2027-01"), now),
            Err(BadFilter("from"))
        );
        assert_eq!(
            Filters::parse(with("from", "2020-01"), now),
            Err(BadFilter("to"))
        );
        assert_eq!(
            Filters::parse(with("channel", "fax"), now),
            Err(BadFilter("channel"))
        );
        assert!(Filters::parse(with("sector", "automotive"), now).is_ok());
    }
}
