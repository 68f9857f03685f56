//! Retaliation-aware filing: a worker asks that nobody act on the complaint before a
//! day they choose. It is stored and receipted at once; until the day it is in no
//! queue, no case look-up, no indicator and no outgoing message, and the status
//! page says why; after the day (the test clock moved, no sleeping) it is an
//! ordinary case. Admins see such cases counted, never opened.

use crate::helpers::*;
use crate::on_both_backends;
use crate::triage::{add_staff, call};
use chrono::Duration;
use serde_json::{Value, json};

fn today_mx() -> chrono::NaiveDate {
    buzon::clock::today()
}

fn complaint(hold: Option<String>) -> Value {
    let mut c = json!({
        "language": "es",
        "complainant": {"name": "Yolanda Pérez Osorio", "phone": "477 555 0199"},
        "workplace": {"employer": "Arneses del Centro", "state": "MX-GUA", "sector": "auto_parts",
                      "trade_with_us": "yes", "workers": 900},
        "violations": ["union_retaliation"],
        "narrative": "Me van a despedir si saben que me quejé."
    });
    if let Some(h) = hold {
        c["hold_until"] = json!(h);
    }
    c
}

fn intake_total(report: &Value) -> Value {
    report["tables"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["id"] == "intake_channel"))
        .map(|t| t["totals"]["total"].clone())
        .unwrap_or_default()
}

async fn a_deferred_case_waits_for_its_day_everywhere(backend: Backend) {
    let clock = TestClock::new();
    let server = TestServer::spawn_with(backend, clock.on(crate::triage::options())).await;
    let http = client();
    let admin = add_staff(&server, "admin@buzon.test", "admin", &[]).await;
    let coordinator = add_staff(&server, "coord@buzon.test", "coordinator", &[]).await;

    let indicators = |token: &String| {
        let (http, url, token) = (
            http.clone(),
            server.url("/api/v1/indicators"),
            token.clone(),
        );
        async move { call(&http, "GET", &url, Some(&token), None).await.1 }
    };

    // Dates the worker cannot choose: today, or more than 90 days ahead.
    for bad in [today_mx(), today_mx() + Duration::days(91)] {
        let (st, body) = post_json(
            &http,
            &server.url("/api/v1/complaints"),
            &complaint(Some(bad.to_string())),
        )
        .await;
        assert_eq!(st, 422, "{bad}: {body}");
        assert!(body.to_string().contains("invalid_hold_until"), "{body}");
    }

    // Six ordinary cases, so the counts are above the small-cell minimum.
    for _ in 0..6 {
        let (st, _) = post_json(&http, &server.url("/api/v1/complaints"), &complaint(None)).await;
        assert_eq!(st, 201);
    }
    let day = today_mx() + Duration::days(30);
    let (st, created) = post_json(
        &http,
        &server.url("/api/v1/complaints"),
        &complaint(Some(day.to_string())),
    )
    .await;
    assert_eq!(st, 201, "stored and receipted at once: {created}");
    assert_eq!(created["held_until"], day.to_string());
    let case_ref = created["case_ref"].as_str().unwrap().to_owned();
    let receipt = created["receipt"].as_str().unwrap().to_owned();

    // The worker's status says why nothing happens yet.
    let (_, status) = post_json(
        &http,
        &server.url("/api/v1/status"),
        &json!({"receipt": receipt}),
    )
    .await;
    assert_eq!(status["held_until"], day.to_string(), "{status}");
    assert!(
        status["held_explanation"]
            .as_str()
            .unwrap()
            .contains(&day.to_string())
    );

    // Not in the queue, not to be opened or acted on (asking the worker is an
    // outgoing message), not counted: even for an admin.
    let listed = |token: String| {
        let http = http.clone();
        let url = server.url("/api/v1/cases?status=all");
        async move {
            let (_, q) = call(&http, "GET", &url, Some(&token), None).await;
            q["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["case_ref"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let before = listed(admin.clone()).await;
    assert_eq!(before.len(), 6);
    assert!(!before.contains(&case_ref));
    for (path, body) in [
        (format!("/api/v1/cases/{case_ref}"), None),
        (
            format!("/api/v1/cases/{case_ref}/questions"),
            Some(json!({"body": "¿Sigue ahí?"})),
        ),
        (
            format!("/api/v1/cases/{case_ref}/status"),
            Some(json!({"status": "in_review"})),
        ),
    ] {
        let method = if body.is_some() { "POST" } else { "GET" };
        let (st, res) = call(
            &http,
            method,
            &server.url(&path),
            Some(&admin),
            body.as_ref(),
        )
        .await;
        assert_eq!(
            (st, res["error"]["code"].as_str()),
            (404, Some("case_not_found")),
            "{path}"
        );
    }
    assert_eq!(
        server.count("SELECT COUNT(*) FROM outbox").await,
        0,
        "nothing sent about it"
    );
    let report = indicators(&admin).await;
    assert_eq!(intake_total(&report), 6, "{report}");
    assert_eq!(
        report["held"], "< 5",
        "admins see it counted (one is fewer than five)"
    );
    let coord = indicators(&coordinator).await;
    assert!(coord.get("held").is_none() && intake_total(&coord) == 6);

    // Its day comes.
    clock.advance(Duration::days(31));
    let after = listed(admin.clone()).await;
    assert_eq!(after.len(), 7);
    assert!(after.contains(&case_ref));
    let (st, _) = call(
        &http,
        "GET",
        &server.url(&format!("/api/v1/cases/{case_ref}")),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(st, 200);
    let report = indicators(&admin).await;
    assert_eq!(intake_total(&report), 7, "{report}");
    assert_eq!(report["held"], 0);
    let (_, status) = post_json(
        &http,
        &server.url("/api/v1/status"),
        &json!({"receipt": receipt}),
    )
    .await;
    assert!(status.get("held_until").is_none(), "{status}");
}

/// The form offers the date, with its bounds, and the receipt and status pages say
/// what it means.
async fn the_form_offers_deferral_and_the_receipt_explains_it(backend: Backend) {
    let server = TestServer::spawn(backend).await;
    let http = client();
    let html = get_text(&http, &server.url("/")).await;
    let tomorrow = (today_mx() + Duration::days(1)).to_string();
    assert!(
        html.contains(&format!(
            "name=\"hold_until\" type=\"date\" min=\"{tomorrow}\""
        )),
        "{html}"
    );
    assert!(
        html.contains("href=\"/derechos?lang=es\""),
        "the rights guide is linked"
    );
    let day = (today_mx() + Duration::days(45)).to_string();
    let form = vec![
        ("csrf", csrf_token(&html)),
        ("lang", "es".to_string()),
        ("employer", "Arneses del Centro".to_string()),
        ("state", "MX-GUA".to_string()),
        ("sector", "auto_parts".to_string()),
        ("trade_with_us", "yes".to_string()),
        ("violations", "union_retaliation".to_string()),
        (
            "narrative",
            "Me van a despedir si saben que me quejé.".to_string(),
        ),
        ("identity", "anonymous".to_string()),
        ("hold_until", day.clone()),
    ];
    let (status, receipt) = post_form(&http, &server.url("/complaints"), &form).await;
    assert_eq!(status, 200, "{receipt}");
    assert!(
        receipt.contains("id=\"held\"") && receipt.contains(&day),
        "{receipt}"
    );
    assert!(receipt.contains("href=\"/derechos?lang=es\""));
    // A day out of bounds comes back next to its field, the rest kept.
    let mut bad = form.clone();
    bad[0].1 = csrf_token(&get_text(&http, &server.url("/")).await);
    bad[9].1 = "2020-01-01".into();
    let (status, html) = post_form(&http, &server.url("/complaints"), &bad).await;
    assert_eq!(status, 422);
    assert!(
        html.contains("data-code=\"invalid_hold_until\" id=\"hold_until-error\""),
        "{html}"
    );
    assert!(html.contains("value=\"Arneses del Centro\""));
}

on_both_backends!(
    a_deferred_case_waits_for_its_day_everywhere,
    the_form_offers_deferral_and_the_receipt_explains_it
);
