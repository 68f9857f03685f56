//! Every stored case carries its routing decision; the dry run routes without
//! storing; a bad rules file stops the server naming the line.

use crate::helpers::*;
use crate::on_both_backends;

async fn every_filed_case_is_stored_with_its_routing_decision(backend: Backend) {
    let server = TestServer::spawn(backend).await;
    let http = client();
    // A dismissal for union activity at a local electronics plant in Chihuahua.
    let body = serde_json::json!({
        "anonymous": true,
        "workplace": {"employer": "Electrónica del Norte", "state": "MX-CHH", "sector": "electronics", "trade_with_us": "yes"},
        "violations": ["union_retaliation"],
        "narrative": "Me corrieron después de la asamblea.",
        "occurred_on": "2025-02-01"
    });
    let (status, created) = post_json(&http, &server.url("/api/v1/complaints"), &body).await;
    assert_eq!(status, 201, "{created}");
    let authorities: Vec<&str> = created["routing"]["referrals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["authority"].as_str().unwrap())
        .collect();
    for want in ["state_ccl:MX-CHH", "cfcrl", "us_ilc_rrm"] {
        assert!(authorities.contains(&want), "{want} not in {authorities:?}");
    }
    assert_eq!(created["routing"]["rrm"]["status"], "likely");
    let ccl = &created["routing"]["referrals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["authority"] == "state_ccl:MX-CHH")
        .unwrap();
    assert_eq!(
        ccl["name"],
        "Centro de Conciliación Laboral del Estado de Chihuahua"
    );
    assert!(
        ccl["next_step"].as_str().unwrap().contains("plática"),
        "plain Spanish: {ccl}"
    );

    // Stored with the rule version that routed it.
    let db = server.db().await;
    let row = one_row(&db, "SELECT rule_version FROM cases").await;
    let version: String = row.try_get_by_index(0).unwrap();
    assert_eq!(
        version,
        created["routing"]["rule_version"].as_str().unwrap()
    );

    // The worker sees it with the receipt, in plain words.
    let (_, view) = post_json(
        &http,
        &server.url("/api/v1/status"),
        &serde_json::json!({"receipt": created["receipt"], "language": "en"}),
    )
    .await;
    let names: Vec<&str> = view["routing"]["referrals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(
        names.iter().any(|n| n.contains("Federal Conciliation")),
        "{names:?}"
    );
}

on_both_backends!(every_filed_case_is_stored_with_its_routing_decision);

#[tokio::test]
async fn the_dry_run_routes_without_storing_and_asks_what_is_missing() {
    let server = TestServer::spawn(Backend::Sqlite).await;
    let http = client();
    let body = serde_json::json!({
        "language": "en",
        "complainant": {"name": "Ignored Name"},
        "workplace": {"state": "MX-GUA", "sector": "garment"},
        "violations": ["union_coercion", "unjust_dismissal"]
    });
    let (status, d) = post_json(&http, &server.url("/api/v1/route"), &body).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["jurisdiction"]["status"], "ambiguous");
    let conciliation: Vec<&serde_json::Value> = d["referrals"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["function"] == "conciliation")
        .collect();
    assert_eq!(conciliation.len(), 2, "both candidates: {d}");
    assert!(conciliation.iter().all(|r| r["candidate"] == true));
    assert_eq!(d["rrm"]["status"], "possible");
    assert!(
        d["rrm"]["missing"]
            .as_array()
            .unwrap()
            .contains(&"trade_nexus".into())
    );
    assert!(!d["rrm"]["questions"].as_array().unwrap().is_empty());
    assert!(!d.to_string().contains("Ignored Name"));

    let db = server.db().await;
    let row = one_row(&db, "SELECT COUNT(*) FROM cases").await;
    assert_eq!(row.try_get_by_index::<i64>(0).unwrap(), 0, "nothing stored");

    let (status, err) = post_json(
        &http,
        &server.url("/api/v1/route"),
        &serde_json::json!({"workplace": {"state": "MX-GUA"}}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(err["error"]["field"], "violations");
}

#[tokio::test]
async fn the_receipt_page_says_where_the_case_goes() {
    let server = TestServer::spawn(Backend::Sqlite).await;
    let http = client();
    let page = get_text(&http, &server.url("/")).await;
    let form = [
        ("csrf", csrf_token(&page)),
        ("employer", "Minera del Centro".to_string()),
        ("state", "MX-ZAC".to_string()),
        ("sector", "mining".to_string()),
        ("violations", "safety_health".to_string()),
        ("narrative", "No nos dan equipo de protección.".to_string()),
        ("identity", "anonymous".to_string()),
    ];
    let (status, html) = post_form(&http, &server.url("/complaints"), &form).await;
    assert_eq!(status, 200);
    assert!(html.contains("Adónde va su queja"), "{html}");
    assert!(html.contains("Inspección Federal del Trabajo (STPS)"));
    assert!(html.contains("Pueden mandar inspectores"));
}

#[tokio::test]
async fn a_bad_rules_file_stops_the_server_naming_the_line() {
    let server = TestServer::spawn(Backend::Sqlite).await;
    let rules =
        buzon::routing::DEFAULT_RULES.replacen("code = \"mining\"", "code = \"minning\"", 1);
    let line = rules
        .lines()
        .position(|l| l.contains("\"minning\""))
        .unwrap()
        + 1;
    let path = server.data_dir.join("rules.toml");
    std::fs::write(&path, rules).unwrap();
    let out = server
        .command(&Options::default().env("BUZON_ROUTING_RULES", path.to_str().unwrap()))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("line {line}: unknown sector \"minning\"")),
        "{err}"
    );
}

/// `buzon authorities export` / `import` round-trip the directory; an admin's
/// contacts and confirmed names are kept and shown after a restart.
async fn the_authority_directory_round_trips_as_csv(backend: Backend) {
    let mut server = TestServer::spawn(backend).await;
    server.terminate();
    let run = |args: &[&str]| {
        let out = server.command(&Options::args(args)).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let exported = run(&["authorities", "export"]);
    assert_eq!(
        exported.lines().count(),
        1 + 4 + 32 * 3,
        "header, 4 federal, 3 per state"
    );
    assert!(
        exported.starts_with("code,name_es,name_en,name_confirmed,phone,email,address,website")
    );
    let agu = exported
        .lines()
        .find(|l| l.starts_with("state_ccl:MX-AGU,"))
        .unwrap();
    assert!(
        agu.contains(",false,"),
        "unknown names stay unconfirmed: {agu}"
    );

    // An admin confirms a name and adds a phone number.
    let edited = exported.replace(
        agu,
        "state_ccl:MX-AGU,Centro de Conciliación Laboral del Estado de Aguascalientes,Aguascalientes Labor Conciliation Center,true,449 000 0000,,,",
    );
    let file = server.data_dir.join("authorities.csv");
    std::fs::write(&file, &edited).unwrap();
    run(&["authorities", "import", file.to_str().unwrap()]);
    assert_eq!(run(&["authorities", "export"]), edited, "round trip");

    // A row with an unknown code is refused, naming the row; nothing changes.
    std::fs::write(
        &file,
        edited.replace("state_ccl:MX-AGU,", "state_ccl:MX-ZZZ,"),
    )
    .unwrap();
    let out = server
        .command(&Options::args(&[
            "authorities",
            "import",
            file.to_str().unwrap(),
        ]))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unknown authority \"state_ccl:MX-ZZZ\"")
    );
    assert_eq!(run(&["authorities", "export"]), edited);

    // The server shows the confirmed name.
    server.start(&Options::default());
    let (_, d) = post_json(
        &client(),
        &server.url("/api/v1/route"),
        &serde_json::json!({"workplace": {"state": "MX-AGU", "sector": "electronics"}, "violations": ["unpaid_wages"]}),
    )
    .await;
    let names = d["referrals"].to_string();
    assert!(
        names.contains("Centro de Conciliación Laboral del Estado de Aguascalientes\""),
        "{names}"
    );
}

on_both_backends!(the_authority_directory_round_trips_as_csv);

#[tokio::test]
async fn rrm_drafts_are_bilingual_filled_from_the_case_and_never_name_the_worker() {
    let mut server = TestServer::spawn(Backend::Sqlite).await;
    let http = client();
    let anonymous = serde_json::json!({
        "anonymous": true,
        "workplace": {"employer": "Arneses del Bajío", "city": "Silao", "state": "MX-GUA", "sector": "auto_parts", "trade_with_us": "yes", "workers": 1200},
        "violations": ["vote_irregularity"],
        "narrative": "No hubo voto secreto en la legitimación.",
        "occurred_on": "2024-04-10"
    });
    let (_, a) = post_json(&http, &server.url("/api/v1/complaints"), &anonymous).await;
    let identified = complaint(
        "Rosa Draft",
        "+52 1 477 123 4567",
        "rosa.draft@example.org",
        "Me despidieron por el sindicato.",
    );
    let (_, b) = post_json(&http, &server.url("/api/v1/complaints"), &identified).await;
    let wages = serde_json::json!({
        "anonymous": true,
        "workplace": {"employer": "X", "state": "MX-GUA", "sector": "auto_parts"},
        "violations": ["unpaid_wages"],
        "narrative": "No pagan."
    });
    let (_, c) = post_json(&http, &server.url("/api/v1/complaints"), &wages).await;
    server.terminate();

    let draft = |case_ref: &serde_json::Value| {
        server
            .command(&Options::args(&["rrm-draft", case_ref.as_str().unwrap()]))
            .output()
            .unwrap()
    };
    let out = draft(&a["case_ref"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for want in [
        "Borrador de petición",
        "Draft Rapid Response Labor Mechanism",
        "Arneses del Bajío",
        "Silao",
        "1200",
        "No hubo voto secreto en la legitimación.",
        "Identidad reservada",
        "Identity withheld",
        "[FALTA: completar]",
        "[MISSING: to complete]",
        "2024-04-10",
    ] {
        assert!(text.contains(want), "{want} missing from:\n{text}");
    }

    // An identified worker is not named either: only with their explicit consent.
    let text = String::from_utf8(draft(&b["case_ref"]).stdout).unwrap();
    for secret in ["Rosa", "4771234567", "rosa.draft"] {
        assert!(!text.contains(secret), "{secret} in the draft:\n{text}");
    }
    assert!(
        text.contains("explicit consent") && text.contains("consentimiento expreso"),
        "{text}"
    );

    let out = draft(&c["case_ref"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an RRM candidate"));
    // Each export is on the audit record (the refused one is not).
    let exports = server
        .count("SELECT COUNT(*) FROM audit_log WHERE action = 'export' AND case_id IS NOT NULL")
        .await;
    assert_eq!(exports, 2);
}
