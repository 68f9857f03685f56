//! The indicator tables, computed in one pass over the cases' facts, then protected
//! ([`super::suppress`]). Every table counts cases received in the period (by the
//! month of receipt, UTC) that match the filters, leaving out deferred cases whose
//! day has not come; the one-line definitions here are the README's.

use super::facts::{AUTHORITY_KINDS, Fact, NONE, index};
use super::suppress::protect;
use super::{Cell, Family, Filters, Report, Row, Table};
use crate::domain::{CaseStatus, Channel, Language, Outcome, Sector, StateCode, Violation};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// Days an RRM review runs after a petition is filed (DOMAIN.md §1.3 step 2).
pub const REVIEW_DAYS: i64 = 30;
/// The most facilities listed by name (tag).
pub const MAX_FACILITIES: usize = 50;

fn authority_label(kind: &str, lang: Language) -> &'static str {
    match kind {
        "cfcrl" => lang.pick(
            "Centro Federal de Conciliación y Registro Laboral",
            "Federal Conciliation and Labor Registration Center",
        ),
        "stps_inspection" => lang.pick(
            "Inspección federal del trabajo (STPS)",
            "Federal labor inspection (STPS)",
        ),
        "profedet" => lang.pick("PROFEDET", "PROFEDET (federal workers' attorney)"),
        "state_ccl" => lang.pick(
            "Centros de conciliación estatales",
            "State conciliation centers",
        ),
        "state_labor" => lang.pick(
            "Secretarías del trabajo estatales",
            "State labor ministries",
        ),
        "state_prodet" => lang.pick("Procuradurías estatales", "State workers' attorneys"),
        "us_ilc_rrm" => lang.pick("Petición MLRR (EE. UU.)", "RRM petition (U.S.)"),
        _ => "?",
    }
}

/// Rows × months of counts, built case by case.
struct Grid {
    rows: Vec<(String, String)>,
    cells: Vec<Vec<u64>>,
    /// Cases per month (for tables whose rows overlap).
    cases: Vec<u64>,
}

impl Grid {
    fn new(rows: Vec<(String, String)>, months: usize) -> Self {
        Self {
            cells: vec![vec![0; months]; rows.len()],
            rows,
            cases: vec![0; months],
        }
    }

    fn add(&mut self, row: usize, month: usize, n: u64) {
        if let Some(c) = self.cells.get_mut(row).and_then(|r| r.get_mut(month)) {
            *c += n;
        }
    }

    /// The table: rows with their totals (all-zero rows left out when `trim`),
    /// and a totals row that is the sum (`rows_add_up`) or the cases per month.
    fn table(self, meta: Meta, columns: &[String], rows_add_up: bool, trim: bool) -> Table {
        let rows: Vec<Row> = self
            .rows
            .into_iter()
            .zip(self.cells.iter())
            .filter(|(_, cells)| !trim || cells.iter().any(|n| *n > 0))
            .map(|((key, label), cells)| Row {
                key,
                label,
                cells: cells.iter().map(|n| Cell::Count(*n)).collect(),
                total: Some(Cell::Count(cells.iter().sum())),
            })
            .collect();
        let per_month: Vec<u64> = if rows_add_up {
            (0..columns.len())
                .map(|m| self.cells.iter().map(|r| r[m]).sum())
                .collect()
        } else {
            self.cases
        };
        Table {
            id: meta.id,
            family: meta.family,
            title: meta.title,
            definition: meta.definition,
            columns: columns.to_vec(),
            rows,
            totals: Some(Row {
                key: "total".into(),
                label: String::new(),
                total: Some(Cell::Count(per_month.iter().sum())),
                cells: per_month.into_iter().map(Cell::Count).collect(),
            }),
            rows_add_up,
            counts: true,
            chart: true,
        }
    }
}

struct Meta {
    id: &'static str,
    family: Family,
    title: String,
    definition: String,
}

fn meta(
    id: &'static str,
    family: Family,
    lang: Language,
    title: (&str, &str),
    def: (&str, &str),
) -> Meta {
    Meta {
        id,
        family,
        title: lang.pick(title.0, title.1).to_owned(),
        definition: lang.pick(def.0, def.1).to_owned(),
    }
}

fn rows_of<T: Copy>(
    all: &[T],
    key: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
) -> Vec<(String, String)> {
    all.iter()
        .map(|v| (key(*v).to_owned(), label(*v).to_owned()))
        .collect()
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// The filters as the facts' indexes (`None`: any).
struct Wanted {
    state: Option<u8>,
    sector: Option<u8>,
    channel: Option<u8>,
}

impl Wanted {
    fn of(filters: &Filters) -> Self {
        Self {
            state: filters.state.map(|s| index(StateCode::ALL, Some(s))),
            sector: filters.sector.map(|s| index(Sector::ALL, Some(s))),
            channel: filters.channel.map(|c| index(Channel::ALL, Some(c))),
        }
    }

    fn matches(&self, f: &Fact) -> bool {
        self.state.is_none_or(|w| f.state == w)
            && self.sector.is_none_or(|w| f.sector == w)
            && self.channel.is_none_or(|w| f.channel == w)
    }
}

/// Every indicator table for the period and filters, protected with `min`.
pub fn compute(
    facts: &[Fact],
    filters: &Filters,
    min: u64,
    lang: Language,
    now: DateTime<Utc>,
    with_held: bool,
) -> Report {
    let now_s = now.timestamp();
    let closed = index(CaseStatus::ALL, Some(CaseStatus::Closed));
    let months: Vec<String> = filters.months().map(|m| m.label()).collect();
    let n = months.len();
    let first = filters.from.0;
    let l = |es: &str, en: &str| lang.pick(es, en).to_owned();

    let mut channel = Grid::new(rows_of(Channel::ALL, |c| c.code(), |c| c.label(lang)), n);
    let mut state = Grid::new(rows_of(StateCode::ALL, |c| c.code(), |c| c.label(lang)), n);
    let mut sector = Grid::new(rows_of(Sector::ALL, |c| c.code(), |c| c.label(lang)), n);
    let mut violation = Grid::new(rows_of(Violation::ALL, |c| c.code(), |c| c.label(lang)), n);
    let mut filer = Grid::new(
        vec![
            (
                "worker".into(),
                l("Por la persona trabajadora", "By the worker"),
            ),
            (
                "organization".into(),
                l("Por una organización", "By an organization"),
            ),
        ],
        n,
    );
    let mut anonymous = Grid::new(
        vec![
            ("anonymous".into(), l("Anónimas", "Anonymous")),
            (
                "identified".into(),
                l("Con datos de contacto", "With contact details"),
            ),
        ],
        n,
    );
    let mut collective = Grid::new(
        vec![(
            "collective".into(),
            l("Quejas colectivas", "Collective complaints"),
        )],
        n,
    );
    let mut workers = vec![0u64; n];
    let mut authority = Grid::new(
        AUTHORITY_KINDS
            .iter()
            .map(|k| ((*k).to_owned(), authority_label(k, lang).to_owned()))
            .collect(),
        n,
    );
    let mut reached = Grid::new(rows_of(CaseStatus::ALL, |c| c.code(), |c| c.label(lang)), n);
    let mut questions = Grid::new(
        vec![
            ("asked".into(), l("Preguntas hechas", "Questions asked")),
            (
                "answered".into(),
                l("Preguntas contestadas", "Questions answered"),
            ),
        ],
        n,
    );
    let mut rrm = Grid::new(
        vec![
            ("likely".into(), l("Probable", "Likely")),
            ("possible".into(), l("Posible", "Possible")),
            ("unlikely".into(), l("Poco probable", "Unlikely")),
            ("none".into(), l("Sin evaluar", "Not screened")),
        ],
        n,
    );
    let mut outcome = Grid::new(rows_of(Outcome::ALL, |c| c.code(), |c| c.label(lang)), n);
    let mut waits: [Vec<f64>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    let mut petitions = [0u64; 4];
    // Facilities: cases in the period and how many came after the first closure
    // of a case about the same facility (any case, any time: a closure is a closure).
    let mut facility_cases: HashMap<u64, (u64, u64)> = HashMap::new();
    let mut first_closure: HashMap<u64, i64> = HashMap::new();
    let mut held = 0u64;
    let wanted = Wanted::of(filters);
    // The period's bounds in Unix seconds, so that most facts skip the calendar.
    let bound = |m: i32| {
        chrono::NaiveDate::from_ymd_opt(m.div_euclid(12), m.rem_euclid(12) as u32 + 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map_or(0, |t| t.and_utc().timestamp())
    };
    let (start, end) = (bound(first), bound(filters.to.0 + 1));
    for f in facts {
        if f.closed != 0 && f.facility != 0 && f.visible_at(now_s) {
            first_closure
                .entry(f.facility)
                .and_modify(|c| *c = (*c).min(f.closed))
                .or_insert(f.closed);
        }
    }

    for f in facts {
        if !f.visible_at(now_s) {
            held += 1;
            continue;
        }
        if f.created < start || f.created >= end || !wanted.matches(f) {
            continue;
        }
        let month = f.month() - first;
        if month < 0 || month as usize >= n {
            continue;
        }
        let m = month as usize;
        let one = |g: &mut Grid, row: u8| g.add(usize::from(row), m, 1);
        one(&mut channel, f.channel);
        one(&mut state, f.state);
        one(&mut sector, f.sector);
        for g in [&mut violation, &mut authority, &mut reached, &mut questions] {
            g.cases[m] += 1;
        }
        for (i, _) in Violation::ALL.iter().enumerate() {
            if f.violations & (1 << i) != 0 {
                violation.add(i, m, 1);
            }
        }
        filer.add(usize::from(f.by_org), m, 1);
        anonymous.add(usize::from(!f.anonymous), m, 1);
        if f.workers > 0 {
            collective.add(0, m, 1);
            workers[m] += u64::from(f.workers);
        }
        for (i, _) in AUTHORITY_KINDS.iter().enumerate() {
            if f.authorities & (1 << i) != 0 {
                authority.add(i, m, 1);
            }
        }
        for (i, s) in CaseStatus::ALL.iter().enumerate() {
            if i32::from(f.reached) & s.bit() != 0 || usize::from(f.status) == i {
                reached.add(i, m, 1);
            }
        }
        questions.add(0, m, u64::from(f.questions));
        questions.add(1, m, u64::from(f.answered));
        rrm.add(
            if f.rrm == 0 {
                3
            } else {
                usize::from(f.rrm - 1)
            },
            m,
            1,
        );
        if f.outcome > 0 && f.status == closed {
            outcome.add(usize::from(f.outcome - 1), m, 1);
        }
        let days = |secs: u32| f64::from(secs) / 86_400.0;
        if f.first_action != NONE {
            waits[0].push(days(f.first_action));
        }
        if f.referred != NONE {
            waits[1].push(days(f.referred));
        }
        if f.closed != 0 && f.status == closed {
            waits[2].push((f.closed - f.created).max(0) as f64 / 86_400.0);
        }
        if f.petition_prepared {
            petitions[0] += 1;
        }
        if f.petition_filed != 0 {
            petitions[1] += 1;
            let age = now.date_naive() - chrono::NaiveDate::default();
            if age.num_days() - i64::from(f.petition_filed) <= REVIEW_DAYS {
                petitions[2] += 1;
            } else {
                petitions[3] += 1;
            }
        }
        if f.facility != 0 {
            let after = first_closure
                .get(&f.facility)
                .is_some_and(|c| f.created > *c);
            let e = facility_cases.entry(f.facility).or_default();
            e.0 += 1;
            e.1 += u64::from(after);
        }
    }

    use Family::*;
    let mut tables = vec![
        channel.table(meta("intake_channel", Intake, lang,
            ("Quejas por mes y canal", "Complaints per month by channel"),
            ("Casos recibidos en el mes, por el canal por el que llegaron.", "Cases received in the month, by the channel they came through.")), &months, true, false),
        state.table(meta("intake_state", Intake, lang,
            ("Quejas por mes y estado", "Complaints per month by state"),
            ("Casos recibidos en el mes, por el estado del centro de trabajo.", "Cases received in the month, by the workplace's state.")), &months, true, true),
        sector.table(meta("intake_sector", Intake, lang,
            ("Quejas por mes y rama", "Complaints per month by sector"),
            ("Casos recibidos en el mes, por la rama de la empresa.", "Cases received in the month, by the employer's sector.")), &months, true, true),
        violation.table(meta("intake_violation", Intake, lang,
            ("Quejas por mes y violación", "Complaints per month by violation"),
            ("Casos recibidos en el mes que nombran cada violación (una queja puede nombrar varias; el total es de casos).", "Cases received in the month naming each violation (a complaint can name several; the total is cases).")), &months, false, true),
        filer.table(meta("intake_filer", Intake, lang,
            ("Quién presentó la queja", "Who filed"),
            ("Casos presentados por la persona trabajadora o por una organización en su nombre.", "Cases filed by the worker, or by an organization on their behalf.")), &months, true, false),
        anonymous.table(meta("intake_anonymous", Intake, lang,
            ("Quejas anónimas", "Anonymous complaints"),
            ("Casos sin nombre ni contacto, y casos con datos de contacto.", "Cases with no name or contact, and cases with contact details.")), &months, true, false),
        authority.table(meta("referrals_authority", Enforcement, lang,
            ("Casos enviados a cada autoridad", "Cases referred to each authority"),
            ("Casos con una remisión vigente a cada tipo de autoridad (un caso puede ir a varias; el total es de casos).", "Cases with an active referral to each kind of authority (a case can go to several; the total is cases).")), &months, false, true),
        reached.table(meta("status_reached", Enforcement, lang,
            ("Casos que llegaron a cada estado", "Cases reaching each status"),
            ("Casos que tuvieron cada estado alguna vez (el total es de casos).", "Cases that have had each status at some point (the total is cases).")), &months, false, false),
        questions.table(meta("questions", Enforcement, lang,
            ("Preguntas a quien presentó la queja", "Questions to the complainant"),
            ("Preguntas del personal sobre casos recibidos en el mes, y cuántas tuvieron respuesta después.", "Staff questions on cases received in the month, and how many were answered after.")), &months, false, false),
        rrm.table(meta("rrm_screening", Rrm, lang,
            ("Evaluación MLRR por mes", "RRM screening per month"),
            ("Resultado de la evaluación automática del Mecanismo Laboral de Respuesta Rápida.", "Result of the automatic Rapid Response Mechanism screening.")), &months, true, false),
        outcome.table(meta("outcomes", Outcomes, lang,
            ("Cómo se cerraron los casos", "How cases closed"),
            ("Casos cerrados, por el resultado que el personal registró al cerrarlos.", "Closed cases, by the outcome staff recorded when closing them.")), &months, true, true),
    ];
    // Questions count questions, not cases: the totals row would mislead.
    if let Some(q) = tables.iter_mut().find(|t| t.id == "questions") {
        q.totals = None;
    }
    // Collective complaints, and the workers they are for (shown only where the
    // number of complaints is).
    let mut coll = collective.table(
        meta(
            "collective",
            Intake,
            lang,
            ("Quejas colectivas", "Collective complaints"),
            (
                "Quejas presentadas por varias personas, y cuántas personas trabajadoras abarcan.",
                "Complaints filed for several workers, and how many workers they cover.",
            ),
        ),
        &months,
        true,
        false,
    );
    coll.totals = None;
    protect(&mut coll, min);
    let shown = |c: &Cell, v: u64| match c {
        Cell::Count(_) => Cell::Value(v as f64),
        _ => Cell::Suppressed,
    };
    let worker_row = coll.rows.first().map(|r| Row {
        key: "workers".into(),
        label: l("Personas trabajadoras", "Workers affected"),
        cells: r
            .cells
            .iter()
            .zip(&workers)
            .map(|(c, w)| shown(c, *w))
            .collect(),
        total: r.total.as_ref().map(|c| shown(c, workers.iter().sum())),
    });
    coll.rows.extend(worker_row);
    coll.counts = false;

    for t in &mut tables {
        protect(t, min);
    }
    tables.insert(6, coll);

    // Waiting times: figures over cases, shown for at least `min` cases.
    let wait_rows = [
        (
            "first_action",
            l(
                "Hasta la primera acción del personal",
                "To the first staff action",
            ),
        ),
        (
            "referral",
            l("Hasta la remisión a la autoridad", "To referral"),
        ),
        ("closure", l("Hasta el cierre", "To closure")),
    ];
    let mut wait = Table {
        id: "time_to_action",
        family: Enforcement,
        title: l("Días de espera", "Days waited"),
        definition: l(
            "Días desde que se recibió el caso: mediana y percentil 90, sobre los casos que ya llegaron a ese punto.",
            "Days from receipt: median and 90th percentile, over the cases that have reached that point.",
        ),
        columns: vec![
            l("Casos", "Cases"),
            l("Mediana", "Median"),
            l("Percentil 90", "90th percentile"),
        ],
        counts: false,
        ..Table::default()
    };
    for ((key, label), values) in wait_rows.into_iter().zip(waits.iter_mut()) {
        values.sort_by(f64::total_cmp);
        let count = values.len() as u64;
        let cells = if count < min {
            vec![super::suppress::count(count, min), Cell::Empty, Cell::Empty]
        } else {
            vec![
                Cell::Count(count),
                Cell::Value(round1(percentile(values, 0.5))),
                Cell::Value(round1(percentile(values, 0.9))),
            ]
        };
        wait.rows.push(Row {
            key: key.into(),
            label,
            cells,
            total: None,
        });
    }
    tables.insert(
        tables
            .iter()
            .position(|t| t.id == "questions")
            .unwrap_or(tables.len()),
        wait,
    );

    // Employers: facilities (tags only), repeat complaints, complaints after a
    // closed case about the same facility.
    let mut repeat = 0u64;
    let mut after_closure = 0u64;
    let mut listed: Vec<(u64, u64, u64)> = Vec::new();
    for (key, (count, after)) in &facility_cases {
        if *count >= 2 {
            repeat += 1;
        }
        after_closure += after;
        if *count >= min {
            listed.push((*key, *count, *after));
        }
    }
    let mut facilities = Table {
        id: "facilities",
        family: Employers,
        title: l(
            "Centros de trabajo con quejas",
            "Facilities with complaints",
        ),
        definition: l(
            "Centros de trabajo (misma empresa en el mismo estado) con quejas en el periodo, con más de una, y quejas llegadas después de que se cerró un caso sobre el mismo centro.",
            "Facilities (same employer in the same state) with complaints in the period, with more than one, and complaints received after a case about the same facility was closed.",
        ),
        columns: vec![l("Número", "Number")],
        counts: true,
        ..Table::default()
    };
    for (key, label, v) in [
        (
            "facilities",
            l("Centros con quejas", "Facilities with complaints"),
            facility_cases.len() as u64,
        ),
        (
            "repeat",
            l(
                "Centros con quejas repetidas",
                "Facilities with repeat complaints",
            ),
            repeat,
        ),
        (
            "after_closure",
            l(
                "Quejas después de un caso cerrado",
                "Complaints after a closed case",
            ),
            after_closure,
        ),
    ] {
        facilities.rows.push(Row {
            key: key.into(),
            label,
            cells: vec![Cell::Count(v)],
            total: None,
        });
    }
    protect(&mut facilities, min);
    listed.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut detail = Table {
        id: "facility_detail",
        family: Employers,
        title: l(
            "Centros con más quejas",
            "Facilities with the most complaints",
        ),
        definition: l(
            "Centros de trabajo con al menos el mínimo de casos en el periodo, por su etiqueta (nunca el nombre de la empresa).",
            "Facilities with at least the minimum number of cases in the period, by tag (never the employer's name).",
        ),
        columns: vec![
            l("Casos", "Cases"),
            l("Después de un caso cerrado", "After a closed case"),
        ],
        counts: true,
        ..Table::default()
    };
    for (key, count, after) in listed.into_iter().take(MAX_FACILITIES) {
        let tag = super::facts::facility_tag(key);
        detail.rows.push(Row {
            key: tag.clone(),
            label: tag,
            cells: vec![Cell::Count(count), Cell::Count(after)],
            total: None,
        });
    }
    protect(&mut detail, min);
    let at = tables
        .iter()
        .position(|t| t.id == "rrm_screening")
        .unwrap_or(tables.len());
    tables.insert(at, detail);
    tables.insert(at, facilities);

    let mut pet = Table {
        id: "rrm_petitions",
        family: Rrm,
        title: l("Peticiones MLRR", "RRM petitions"),
        definition: l(
            "Peticiones preparadas y presentadas sobre casos del periodo, y las presentadas cuya revisión de 30 días sigue corriendo o ya pasó.",
            "Petitions prepared and filed on cases of the period, and filed petitions whose 30-day review is still running or past.",
        ),
        columns: vec![l("Número", "Number")],
        counts: true,
        ..Table::default()
    };
    for (i, (key, label)) in [
        ("prepared", l("Preparadas", "Prepared")),
        ("filed", l("Presentadas", "Filed")),
        (
            "review_open",
            l("En los 30 días de revisión", "Inside the 30-day review"),
        ),
        (
            "review_past",
            l("Pasados los 30 días", "Past the 30-day review"),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        pet.rows.push(Row {
            key: key.into(),
            label,
            cells: vec![Cell::Count(petitions[i])],
            total: None,
        });
    }
    protect(&mut pet, min);
    let at = tables
        .iter()
        .position(|t| t.id == "outcomes")
        .unwrap_or(tables.len());
    tables.insert(at, pet);
    for t in &mut tables {
        if t.columns.len() == 1 || t.id == "time_to_action" || t.id == "facility_detail" {
            t.chart = false;
        }
    }

    Report {
        filters: filters.clone(),
        min_cell: min,
        language: lang,
        generated_at: now,
        tables,
        held: with_held.then(|| super::suppress::count(held, min)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::Month;

    fn at(y: i32, m: u32, d: u32) -> i64 {
        chrono::NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp()
    }

    fn fact(created: i64, state: u8) -> Fact {
        Fact {
            created,
            state,
            first_action: NONE,
            referred: NONE,
            reached: 1,
            ..Fact::default()
        }
    }

    #[test]
    fn counts_by_month_leave_out_held_cases_and_other_periods() {
        let now = DateTime::from_timestamp(at(2026, 3, 20), 0).unwrap();
        let mut facts: Vec<Fact> = (0..7).map(|_| fact(at(2026, 1, 10), 0)).collect();
        facts.extend((0..6).map(|_| fact(at(2026, 3, 1), 1)));
        facts.push(fact(at(2025, 12, 31), 0)); // before the period
        let mut held = fact(at(2026, 3, 2), 1);
        held.hold_until = at(2026, 4, 1);
        facts.push(held);
        let filters = Filters {
            from: Month::parse("2026-01").unwrap(),
            to: Month::parse("2026-03").unwrap(),
            state: None,
            sector: None,
            channel: None,
        };
        let r = compute(&facts, &filters, 5, Language::En, now, true);
        let state = r.table("intake_state").unwrap();
        assert_eq!(state.rows.len(), 2, "only states with cases");
        assert_eq!(
            state.rows[0].cells,
            vec![Cell::Count(7), Cell::Count(0), Cell::Count(0)]
        );
        assert_eq!(
            state.rows[1].cells,
            vec![Cell::Count(0), Cell::Count(0), Cell::Count(6)]
        );
        assert_eq!(state.totals.as_ref().unwrap().total, Some(Cell::Count(13)));
        assert_eq!(
            r.held,
            Some(Cell::Suppressed),
            "one held case, counted as < 5"
        );
        // Its day comes: counted, no longer held.
        let later = DateTime::from_timestamp(at(2026, 4, 2), 0).unwrap();
        let r = compute(&facts, &filters, 5, Language::En, later, true);
        let total = &r
            .table("intake_state")
            .unwrap()
            .totals
            .as_ref()
            .unwrap()
            .total;
        assert_eq!(total, &Some(Cell::Count(14)));
        assert_eq!(r.held, Some(Cell::Count(0)));
        // A state filter keeps that state only.
        let only = Filters {
            state: Some(StateCode::ALL[1]),
            ..filters
        };
        let r = compute(&facts, &only, 5, Language::En, now, false);
        assert_eq!(r.table("intake_state").unwrap().rows.len(), 1);
        assert_eq!(r.held, None, "not asked for");
    }

    #[test]
    fn waiting_times_are_nearest_rank_and_hidden_under_the_minimum() {
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.0);
        assert_eq!(
            percentile(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 0.9),
            9.0
        );
        let now = DateTime::from_timestamp(at(2026, 3, 20), 0).unwrap();
        let facts: Vec<Fact> = (0..4)
            .map(|i| Fact {
                first_action: 86_400 * (i + 1),
                ..fact(at(2026, 3, 1), 0)
            })
            .collect();
        let filters = Filters::parse(|_| None, now).unwrap();
        let r = compute(&facts, &filters, 5, Language::Es, now, false);
        let wait = r.table("time_to_action").unwrap();
        assert_eq!(
            wait.rows[0].cells,
            vec![Cell::Suppressed, Cell::Empty, Cell::Empty]
        );
        let r = compute(&facts, &filters, 2, Language::Es, now, false);
        let wait = r.table("time_to_action").unwrap();
        assert_eq!(
            wait.rows[0].cells,
            vec![Cell::Count(4), Cell::Value(2.0), Cell::Value(4.0)]
        );
    }
}
