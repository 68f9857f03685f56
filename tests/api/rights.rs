//! The workers' rights guide, `GET /derechos`: Spanish by default, English on
//! request, no JavaScript, small, and every "where your complaint goes" list equal
//! to what the dry-run routing endpoint (`POST /api/v1/route`) answers for the same
//! facts, with the shipped rules and with a changed rules file. (The page reads no
//! database, so SQLite is enough.)

use crate::helpers::*;
use serde_json::{Value, json};

const TOPICS: [&str; 6] = [
    "sindicato",
    "votaciones",
    "despido",
    "salario",
    "seguridad",
    "tmec",
];

/// A referral list on the page: the sample workplace and its referrals
/// (authority, function, name and next step as shown).
struct Listed {
    topic: String,
    violations: Vec<String>,
    sector: String,
    state: String,
    referrals: Vec<Shown>,
}

/// Authority code, function code, name, next step.
type Shown = (String, String, String, String);

fn unescape(s: &str) -> String {
    s.replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Every referral list of every topic section on the page.
fn listed(html: &str) -> Vec<Listed> {
    let section = regex::Regex::new(
        r#"(?s)<section id="([a-z]+)" class="topic" data-violations="([a-z_,]+)">(.*?)</section>"#,
    )
    .unwrap();
    let list = regex::Regex::new(
        r#"(?s)<ul class="referrals" data-sector="([a-z_]+)" data-state="(MX-[A-Z]{3})">(.*?)</ul>"#,
    )
    .unwrap();
    let item = regex::Regex::new(
        r#"<li data-authority="([^"]+)" data-function="([a-z_]+)"><b>([^<]+)</b>(?: <small>[^<]*</small>)?<br>([^<]+)"#,
    )
    .unwrap();
    let mut out = Vec::new();
    for s in section.captures_iter(html) {
        for l in list.captures_iter(&s[3]) {
            out.push(Listed {
                topic: s[1].to_owned(),
                violations: s[2].split(',').map(str::to_owned).collect(),
                sector: l[1].to_owned(),
                state: l[2].to_owned(),
                referrals: item
                    .captures_iter(&l[3])
                    .map(|i| {
                        (
                            i[1].to_owned(),
                            i[2].to_owned(),
                            unescape(&i[3]),
                            unescape(i[4].trim()),
                        )
                    })
                    .collect(),
            });
        }
    }
    out
}

async fn page(http: &reqwest::Client, url: &str, accept_language: Option<&str>) -> String {
    let mut req = http.get(url);
    if let Some(al) = accept_language {
        req = req.header("accept-language", al);
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), 200, "{url}");
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(res.headers()["cache-control"], "no-store");
    res.text().await.unwrap()
}

/// Asks the dry run about every list on the page and checks they agree: the same
/// authorities, functions and order, federal bodies by the same name, state bodies
/// described for any state.
async fn assert_page_matches_dry_run(server: &TestServer, html: &str, lang: &str) -> usize {
    let http = client();
    let lists = listed(html);
    let mut topics: Vec<&str> = lists.iter().map(|l| l.topic.as_str()).collect();
    topics.dedup();
    assert_eq!(topics, TOPICS, "every topic has its lists");
    let version = regex::Regex::new(r#"<span id="rule-version">([^<]+)</span>"#)
        .unwrap()
        .captures(html)
        .map(|c| c[1].to_owned())
        .expect("rule version on the page");
    for l in &lists {
        assert!(!l.referrals.is_empty(), "{}", l.topic);
        let body = json!({
            "language": lang,
            "anonymous": true,
            "workplace": {"state": l.state, "sector": l.sector, "trade_with_us": "unknown"},
            "violations": l.violations,
        });
        let (status, decision) = post_json(&http, &server.url("/api/v1/route"), &body).await;
        assert_eq!(status, 200, "{decision}");
        assert_eq!(decision["rule_version"], Value::from(version.as_str()));
        let routed: Vec<Shown> = decision["referrals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let field = |k: &str| r[k].as_str().unwrap().to_owned();
                (
                    field("authority"),
                    field("function"),
                    field("name"),
                    field("next_step"),
                )
            })
            .collect();
        let codes = |v: &[Shown]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, f, _, _)| (a.clone(), f.clone()))
                .collect()
        };
        assert_eq!(
            codes(&l.referrals),
            codes(&routed),
            "{} at a {} workplace",
            l.topic,
            l.sector
        );
        for ((authority, _, shown, step), (_, _, named, next_step)) in
            l.referrals.iter().zip(&routed)
        {
            if authority.starts_with("state_") {
                assert!(authority.ends_with(&format!(":{}", l.state)));
                let generic = if lang == "es" {
                    "de su estado"
                } else {
                    "Your state's"
                };
                assert!(shown.contains(generic), "{shown}");
            } else {
                assert_eq!(shown, named);
            }
            assert_eq!(step, next_step, "{authority}");
        }
    }
    lists.len()
}

#[tokio::test]
async fn the_rights_guide_is_small_plain_and_routed_by_the_rules() {
    let server = TestServer::spawn(Backend::Sqlite).await;
    let http = client();
    let css = http
        .get(server.url("/static/buzon.css"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();

    let es = page(&http, &server.url("/derechos"), None).await;
    assert!(es.contains("<html lang=\"es\">"));
    assert!(es.contains("<h1>Sus derechos en el trabajo</h1>"));
    assert!(es.contains("Libertad sindical"));
    assert!(es.contains("Mecanismo Laboral de Respuesta Rápida"));
    assert!(es.contains("Fuente: T-MEC, Anexo 23-A"));
    assert!(es.contains(">Presentar una queja</a>"));
    assert!(es.contains("href=\"/?lang=es\""));
    assert!(es.contains("id=\"quick-exit\""));
    assert!(es.contains("href=\"/derechos?lang=en\""), "language switch");
    for topic in TOPICS {
        assert!(es.contains(&format!("<section id=\"{topic}\"")), "{topic}");
        assert!(es.contains(&format!("href=\"#{topic}\"")), "{topic}");
    }

    let en = page(&http, &server.url("/derechos?lang=en"), None).await;
    assert!(en.contains("<html lang=\"en\">"));
    assert!(en.contains("<h1>Your rights at work</h1>"));
    assert!(en.contains(">File a complaint</a>"));
    assert!(en.contains("Source: USMCA Annex 23-A"));
    let by_header = page(&http, &server.url("/derechos"), Some("en-US,en;q=0.9")).await;
    assert!(by_header.contains("<html lang=\"en\">"));
    let query_wins = page(&http, &server.url("/derechos?lang=es"), Some("en")).await;
    assert!(query_wins.contains("<html lang=\"es\">"));

    let handler = regex::Regex::new(r"<[^>]+\son[a-z]+=").unwrap();
    for html in [&es, &en] {
        assert!(
            !html.to_ascii_lowercase().contains("<script"),
            "no JavaScript"
        );
        assert!(!handler.is_match(html), "no event handlers");
        let total = html.len() + css.len();
        assert!(total < 30 * 1024, "page and stylesheet: {total} bytes");
    }

    let lists = assert_page_matches_dry_run(&server, &es, "es").await;
    assert_eq!(
        lists,
        2 * TOPICS.len(),
        "a federal and a local workplace each"
    );
    assert_page_matches_dry_run(&server, &en, "en").await;
    assert!(es.contains("Inspección Federal del Trabajo (STPS)"));
    assert!(es.contains("Centro de Conciliación Laboral de su estado"));
}

/// A changed rules file changes the page the same way it changes routing.
#[tokio::test]
async fn a_changed_rule_changes_the_guide() {
    let mut server = TestServer::prepare(Backend::Sqlite).await;
    let rules = format!(
        "{}\n[[rule]]\nid = \"wages-inspection\"\nviolations = [\"unpaid_wages\"]\n\
         refer = [{{ authority = \"state_labor\", function = \"inspection\" }}]\n\
         jurisdiction = \"local\"\nbasis = \"test\"\n",
        buzon::routing::DEFAULT_RULES.replacen("version = \"", "version = \"test-rights-", 1)
    );
    // Next to the data directory, which the server creates when it starts.
    let path = server.data_dir.parent().unwrap().join("rules.toml");
    std::fs::write(&path, rules).unwrap();
    server.start(&Options::default().env("BUZON_ROUTING_RULES", path.to_str().unwrap()));
    let http = client();
    let es = page(&http, &server.url("/derechos"), None).await;
    assert!(
        es.contains("test-rights-"),
        "the page names the rules version"
    );
    let wages = listed(&es)
        .into_iter()
        .filter(|l| l.topic == "salario")
        .flat_map(|l| l.referrals)
        .any(|(a, f, name, _)| {
            a.starts_with("state_labor:")
                && f == "inspection"
                && name == "Secretaría del Trabajo de su estado (inspección del estado)"
        });
    assert!(wages, "unpaid wages now go to the state's inspection too");
    assert_page_matches_dry_run(&server, &es, "es").await;
}
