//! Program indicators against the real server, on both back ends: complaints filed
//! across three months (the test clock moves the server's time, no sleeping),
//! closed with outcomes; the figures match counts the test computes itself, every
//! count under five reads "< 5" in the JSON, the CSV, the page and the report, no
//! total lets it be recovered by subtraction, and nobody reading them learns an
//! employer, a case or a person. Inspectors and advocates are refused.

use crate::helpers::*;
use crate::on_both_backends;
use crate::triage::{add_staff, call, options};
use chrono::{Datelike, Duration, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;

/// The 15th, at noon, of the month `back` months before this one.
fn mid_month(back: i32) -> chrono::DateTime<Utc> {
    let now = Utc::now();
    let m = now.year() * 12 + now.month0() as i32 - back;
    chrono::NaiveDate::from_ymd_opt(m.div_euclid(12), m.rem_euclid(12) as u32 + 1, 15)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap()
        .and_utc()
}

fn label(t: chrono::DateTime<Utc>) -> String {
    t.format("%Y-%m").to_string()
}

struct Filing {
    month: usize,
    state: &'static str,
    sector: &'static str,
    employer: &'static str,
    violations: Vec<&'static str>,
    anonymous: bool,
}

const NAME: &str = "Herminia Castañeda Ruiz";
const NARRATIVE: &str =
    "El supervisor amenazó con correr a quien vote por el sindicato independiente.";

fn body(f: &Filing) -> Value {
    let mut b = json!({
        "language": "es",
        "workplace": {"employer": f.employer, "state": f.state, "sector": f.sector,
                      "trade_with_us": "yes", "workers": 300},
        "violations": f.violations,
        "narrative": NARRATIVE,
    });
    if f.anonymous {
        b["anonymous"] = json!(true);
    } else {
        b["complainant"] = json!({"name": NAME, "phone": "477 555 0101"});
    }
    b
}

/// The dataset: (month, state, sector, employer, violations, anonymous, how many).
fn dataset() -> Vec<Filing> {
    let mut out = Vec::new();
    let mut add =
        |n: usize, month, state, sector, employer, violations: &[&'static str], anonymous| {
            for _ in 0..n {
                out.push(Filing {
                    month,
                    state,
                    sector,
                    employer,
                    violations: violations.to_vec(),
                    anonymous,
                });
            }
        };
    add(
        6,
        0,
        "MX-GUA",
        "auto_parts",
        "Autopartes del Bajío",
        &["unpaid_wages"],
        false,
    );
    add(
        4,
        0,
        "MX-JAL",
        "electronics",
        "Circuitos de Occidente",
        &["union_coercion", "unjust_dismissal"],
        true,
    );
    add(
        7,
        1,
        "MX-GUA",
        "auto_parts",
        "Autopartes del Bajío",
        &["unpaid_wages", "excessive_hours"],
        false,
    );
    add(
        2,
        1,
        "MX-NLE",
        "automotive",
        "Ensambles del Norte",
        &["safety_health"],
        true,
    );
    add(
        5,
        2,
        "MX-JAL",
        "electronics",
        "Circuitos de Occidente",
        &["union_coercion"],
        false,
    );
    add(
        1,
        2,
        "MX-NLE",
        "automotive",
        "Ensambles del Norte",
        &["safety_health"],
        false,
    );
    out
}

fn table<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["tables"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["id"] == id))
        .unwrap_or_else(|| panic!("table {id} in {report}"))
}

/// Checks a protected table against the true counts `want[row key][month]`:
/// counts 1–4 read "< 5", every number shown is the true count, nothing else is
/// hidden that need not be... and no line that adds up holds a single hidden entry.
fn check_table(t: &Value, want: &HashMap<String, Vec<u64>>, months: usize) {
    let id = &t["id"];
    for row in t["rows"].as_array().unwrap() {
        let key = row["key"].as_str().unwrap();
        let truth = want.get(key).cloned().unwrap_or(vec![0; months]);
        for (m, cell) in row["cells"].as_array().unwrap().iter().enumerate() {
            match (truth[m], cell) {
                (1..=4, c) => assert_eq!(c, "< 5", "{id} {key} month {m}: {t}"),
                (n, Value::Number(shown)) => assert_eq!(shown.as_u64(), Some(n), "{id} {key} {m}"),
                (_, c) => assert_eq!(c, "< 5", "{id} {key} {m}: hidden only as \"< 5\""),
            }
        }
        let total: u64 = truth.iter().sum();
        match &row["total"] {
            Value::Number(n) => assert_eq!(n.as_u64(), Some(total), "{id} {key} total"),
            other => assert_eq!(other, "< 5"),
        }
    }
    for key in want.keys() {
        if want[key].iter().any(|n| *n > 0) {
            assert!(
                t["rows"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r["key"] == key.as_str()),
                "{id} has row {key}"
            );
        }
    }
    assert_no_single_hidden(t);
}

/// In every line whose entries add up to a total shown with them, hidden entries
/// are none or at least two: subtraction recovers nothing.
pub fn assert_no_single_hidden(t: &Value) {
    let hidden = |v: &Value| v.as_str().is_some_and(|s| s.starts_with("< "));
    let rows = t["rows"].as_array().unwrap();
    let totals = &t["totals"];
    let mut lines: Vec<Vec<&Value>> = Vec::new();
    for r in rows.iter().chain(totals.is_object().then_some(totals)) {
        if !r["total"].is_null() {
            let mut l: Vec<&Value> = r["cells"].as_array().unwrap().iter().collect();
            l.push(&r["total"]);
            lines.push(l);
        }
    }
    if t["rows_add_up"] == true && totals.is_object() {
        let width = t["columns"].as_array().unwrap().len();
        for c in 0..width {
            let mut l: Vec<&Value> = rows.iter().map(|r| &r["cells"][c]).collect();
            l.push(&totals["cells"][c]);
            lines.push(l);
        }
        let mut l: Vec<&Value> = rows.iter().map(|r| &r["total"]).collect();
        l.push(&totals["total"]);
        lines.push(l);
    }
    for l in lines {
        let n = l.iter().filter(|v| hidden(v)).count();
        assert_ne!(
            n, 1,
            "one hidden entry alone in a line of {}: {l:?}",
            t["id"]
        );
    }
}

async fn indicators_match_independent_counts_and_protect_small_cells(backend: Backend) {
    let clock = TestClock::new();
    let server = TestServer::spawn_with(backend, clock.on(options())).await;
    let http = client();
    let admin = add_staff(&server, "admin@buzon.test", "admin", &[]).await;
    let coordinator = add_staff(&server, "coord@buzon.test", "coordinator", &[]).await;
    let inspector = add_staff(
        &server,
        "insp@buzon.test",
        "inspector",
        &["--authority", "cfcrl"],
    )
    .await;
    let advocate = add_staff(
        &server,
        "adv@buzon.test",
        "advocate",
        &["--org", "Sindicato Libre"],
    )
    .await;

    let months: Vec<_> = (0..3).rev().map(mid_month).collect();
    let data = dataset();
    let mut refs: Vec<(usize, String)> = Vec::new();
    for (m, at) in months.iter().enumerate() {
        clock.set(*at);
        for f in data.iter().filter(|f| f.month == m) {
            let (status, created) =
                post_json(&http, &server.url("/api/v1/complaints"), &body(f)).await;
            assert_eq!(status, 201, "{created}");
            refs.push((m, created["case_ref"].as_str().unwrap().to_owned()));
        }
        if m == 0 {
            // Five of the month's Guanajuato cases closed as remedied, one referred
            // elsewhere (the longest outcome code), an hour after they came in.
            clock.set(*at + Duration::hours(1));
            for (i, (_, r)) in refs.iter().take(6).enumerate() {
                let outcome = if i < 5 {
                    "remedied"
                } else {
                    "referred_elsewhere"
                };
                let (st, body) = call(
                    &http,
                    "POST",
                    &server.url(&format!("/api/v1/cases/{r}/status")),
                    Some(&admin),
                    Some(&json!({"status": "closed", "outcome": outcome})),
                )
                .await;
                assert_eq!(st, 200, "{body}");
            }
        }
    }
    clock.set(months[2] + Duration::days(1));

    let q = format!("from={}&to={}", label(months[0]), label(months[2]));
    let (st, report) = call(
        &http,
        "GET",
        &server.url(&format!("/api/v1/indicators?{q}")),
        Some(&coordinator),
        None,
    )
    .await;
    assert_eq!(st, 200, "{report}");
    assert_eq!(report["min_cell"], 5);
    assert!(
        report.get("held").is_none(),
        "coordinators do not see held counts"
    );

    // Counted independently, from what was filed.
    let grid = |key: &dyn Fn(&Filing) -> Vec<String>| {
        let mut g: HashMap<String, Vec<u64>> = HashMap::new();
        for f in &data {
            for k in key(f) {
                g.entry(k).or_insert(vec![0; 3])[f.month] += 1;
            }
        }
        g
    };
    check_table(
        table(&report, "intake_state"),
        &grid(&|f| vec![f.state.into()]),
        3,
    );
    check_table(
        table(&report, "intake_sector"),
        &grid(&|f| vec![f.sector.into()]),
        3,
    );
    check_table(
        table(&report, "intake_channel"),
        &grid(&|_| vec!["api".into()]),
        3,
    );
    check_table(
        table(&report, "intake_anonymous"),
        &grid(&|f| {
            vec![
                if f.anonymous {
                    "anonymous"
                } else {
                    "identified"
                }
                .into(),
            ]
        }),
        3,
    );
    check_table(
        table(&report, "intake_violation"),
        &grid(&|f| f.violations.iter().map(|v| v.to_string()).collect()),
        3,
    );
    let closed: HashMap<String, Vec<u64>> = [
        ("remedied".to_owned(), vec![5, 0, 0]),
        ("referred_elsewhere".to_owned(), vec![1, 0, 0]),
    ]
    .into();
    check_table(table(&report, "outcomes"), &closed, 3);
    // A cell of four, by itself: Jalisco in the first month.
    let jal = table(&report, "intake_state")["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "MX-JAL")
        .cloned()
        .unwrap();
    assert_eq!(jal["cells"][0], "< 5", "{jal}");
    assert_eq!(table(&report, "intake_channel")["totals"]["total"], 25);

    // Waiting times: six cases were acted on, an hour after receipt.
    let wait = table(&report, "time_to_action");
    assert_eq!(wait["rows"][0]["cells"][0], 6, "{wait}");
    assert_eq!(wait["rows"][0]["cells"][1], 0.0, "{wait}");
    assert_eq!(wait["rows"][2]["cells"][0], 6);
    assert_eq!(wait["rows"][1]["cells"][0], 0, "nothing referred by staff");

    // Employers: three facilities (fewer than five: hidden), the seven Guanajuato
    // complaints of the second month came after a case about it was closed, and
    // the one facility with five or more cases is listed by tag only.
    let fac = table(&report, "facilities");
    assert_eq!(fac["rows"][0]["cells"][0], "< 5", "{fac}");
    assert_eq!(fac["rows"][2]["cells"][0], 7, "{fac}");
    let detail = table(&report, "facility_detail");
    let listed = detail["rows"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "Guanajuato (13) and Jalisco (9): {detail}");
    assert_eq!(listed[0]["cells"][0], 13);
    assert!(listed[0]["key"].as_str().unwrap().starts_with("F-"));

    // RRM: every case is screened at intake, so none is "not screened" and the
    // screened rows hold all 25. (Counting rows would pass whatever the counts.)
    let rrm = table(&report, "rrm_screening");
    let rows = rrm["rows"].as_array().unwrap();
    let none = rows.iter().find(|r| r["key"] == "none").unwrap();
    assert_eq!(none["total"], 0, "{rrm}");
    assert_eq!(rrm["totals"]["total"], 25, "{rrm}");

    // Filters narrow every table; what cannot be read is refused with its field.
    let (_, jal_only) = call(
        &http,
        "GET",
        &server.url(&format!("/api/v1/indicators?{q}&state=MX-JAL")),
        Some(&coordinator),
        None,
    )
    .await;
    assert_eq!(table(&jal_only, "intake_channel")["totals"]["total"], 9);
    for (bad, field) in [
        ("state=MX-XXX", "state"),
        ("from=2026-13", "from"),
        ("channel=fax", "channel"),
        ("from=2020-01&to=2026-12", "to"),
    ] {
        let (st, body) = call(
            &http,
            "GET",
            &server.url(&format!("/api/v1/indicators?{bad}")),
            Some(&coordinator),
            None,
        )
        .await;
        assert_eq!(
            (
                st,
                body["error"]["code"].as_str(),
                body["error"]["field"].as_str()
            ),
            (422, Some("invalid_field"), Some(field)),
            "{bad}"
        );
    }

    // The same protection in the CSV, the page and the report.
    let csv_for = |token: String| {
        let http = http.clone();
        let url = server.url(&format!("/api/v1/indicators.csv?{q}"));
        async move {
            let res = http.get(url).bearer_auth(token).send().await.unwrap();
            assert_eq!(res.status().as_u16(), 200);
            assert!(
                res.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("text/csv")
            );
            res.text().await.unwrap()
        }
    };
    let csv = csv_for(coordinator.clone()).await;
    assert!(
        csv.lines().any(|l| l.starts_with("intake_state,MX-JAL,")
            && l.contains(&label(months[0]))
            && l.ends_with(",< 5")),
        "{csv}"
    );
    let admin_csv = csv_for(admin.clone()).await;
    let (from, to) = (label(months[0]), label(months[2]));
    let run_report = |format: &str, lang: &str| {
        let args = [
            "indicators",
            "report",
            "--from",
            &from,
            "--to",
            &to,
            "--format",
            format,
            "--lang",
            lang,
        ];
        server.run_with(
            Options::args(&args).env("BUZON_TEST_CLOCK_FILE", clock.path()),
            "",
        )
    };
    let (ok, report_csv) = run_report("csv", "es");
    assert!(ok);
    assert_eq!(
        report_csv, admin_csv,
        "the report and the export are the same figures"
    );
    let (ok, md) = run_report("md", "en");
    assert!(ok);
    assert!(
        md.contains("## Definitions") && md.contains("| < 5 |"),
        "{md}"
    );
    assert!(md.contains("Complaints per month by state"), "{md}");
    let (ok, html) = run_report("html", "es");
    assert!(
        ok && html.starts_with("<!doctype html>") && html.contains("&lt; 5"),
        "{html}"
    );

    // Nobody reading the indicators learns an employer, a case, a person or a story.
    let everything = format!("{report}{jal_only}{csv}{md}{html}");
    for secret in [
        "Autopartes del Bajío",
        "Circuitos de Occidente",
        "Ensambles",
        NAME,
        NARRATIVE,
        "555 0101",
        "BZ-",
    ] {
        assert!(
            !everything.contains(secret),
            "{secret} leaked into the indicators"
        );
    }
    for (_, r) in &refs {
        assert!(!everything.contains(r.as_str()));
    }

    // Inspectors and advocates are refused, in JSON and CSV.
    for t in [&inspector, &advocate] {
        for path in ["/api/v1/indicators", "/api/v1/indicators.csv"] {
            let (st, body) = call(&http, "GET", &server.url(path), Some(t), None).await;
            assert_eq!(
                (st, body["error"]["code"].as_str()),
                (403, Some("forbidden")),
                "{path}"
            );
        }
    }
    let (st, _) = call(&http, "GET", &server.url("/api/v1/indicators"), None, None).await;
    assert_eq!(st, 401);
}

on_both_backends!(indicators_match_independent_counts_and_protect_small_cells);
