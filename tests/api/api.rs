//! The JSON API end to end: file, read status, add a message.

use crate::helpers::*;
use crate::on_both_backends;

async fn a_complaint_filed_by_api_can_be_followed_with_its_receipt(backend: Backend) {
    let server = TestServer::spawn(backend).await;
    let http = client();

    // File.
    let body = complaint(
        "Rosa Api",
        "+52 1 477 123 4567",
        "rosa.api@example.org",
        "Me despidieron por el sindicato.",
    );
    let (status, created) = post_json(&http, &server.url("/api/v1/complaints"), &body).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["status"], "received");
    assert_eq!(created["status_label"], "Recibida");
    let receipt = created["receipt"].as_str().unwrap().to_string();
    let case_ref = created["case_ref"].as_str().unwrap().to_string();
    assert_eq!(receipt.len(), 29, "six groups of four: {receipt}");
    assert!(case_ref.starts_with("BZ-"));

    // Status, in English this time, typed sloppily.
    let sloppy = receipt.to_lowercase().replace('-', " ");
    let (status, view) = post_json(
        &http,
        &server.url("/api/v1/status"),
        &serde_json::json!({"receipt": sloppy, "language": "en"}),
    )
    .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["case_ref"], case_ref.as_str());
    assert_eq!(view["status"], "received");
    assert_eq!(view["status_label"], "Received");
    assert_eq!(view["messages"], serde_json::json!([]));
    let text = view.to_string();
    for secret in ["Rosa", "4771234567", "rosa.api", "sindicato", "EMP-55821"] {
        assert!(!text.contains(secret), "status leaks {secret}: {text}");
    }

    // Follow-up message.
    let (status, after) = post_json(
        &http,
        &server.url("/api/v1/status/messages"),
        &serde_json::json!({"receipt": receipt, "message": "Tengo fotos del aviso."}),
    )
    .await;
    assert_eq!(status, 201, "{after}");
    assert_eq!(after["messages"][0]["from"], "complainant");
    assert_eq!(after["messages"][0]["body"], "Tengo fotos del aviso.");

    let (_, again) = post_json(
        &http,
        &server.url("/api/v1/status"),
        &serde_json::json!({"receipt": receipt}),
    )
    .await;
    assert_eq!(again["messages"].as_array().map(Vec::len), Some(1));
}

async fn an_anonymous_complaint_needs_only_employer_state_violation_and_narrative(
    backend: Backend,
) {
    let server = TestServer::spawn(backend).await;
    let (status, created) = post_json(
        &client(),
        &server.url("/api/v1/complaints"),
        &anonymous_complaint(),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let db = server.db().await;
    let count = |sql: &'static str| {
        let db = &db;
        async move { one_row(db, sql).await.try_get_by_index::<i64>(0).unwrap() }
    };
    assert_eq!(count("SELECT COUNT(*) FROM cases WHERE anonymous").await, 1);
    assert_eq!(
        count("SELECT COUNT(*) FROM complainants").await,
        0,
        "anonymous keeps no complainant row"
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM workplaces WHERE sector = 'unknown' AND trade_with_us = 'unknown' AND workers IS NULL").await,
        1
    );
}

on_both_backends!(
    a_complaint_filed_by_api_can_be_followed_with_its_receipt,
    an_anonymous_complaint_needs_only_employer_state_violation_and_narrative,
);

#[tokio::test]
async fn the_openapi_document_is_generated_and_lists_the_codes() {
    let server = TestServer::spawn(Backend::Sqlite).await;
    let doc: serde_json::Value = client()
        .get(server.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/api/v1/complaints",
        "/api/v1/status",
        "/api/v1/status/messages",
        "/api/v1/route",
    ] {
        assert!(doc["paths"][path]["post"].is_object(), "{path} missing");
    }
    let text = doc.to_string();
    for code in [
        "auto_parts",
        "union_retaliation",
        "MX-GUA",
        "info_requested",
    ] {
        assert!(text.contains(code), "{code} not in the schema");
    }
}

#[tokio::test]
async fn health_and_readiness_answer_and_every_response_carries_the_security_headers() {
    let server = TestServer::spawn(Backend::Sqlite).await;
    let http = client();
    for path in ["/healthz", "/readyz", "/", "/api/v1/openapi.json", "/nope"] {
        let res = http.get(server.url(path)).send().await.unwrap();
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert!(
            !csp.contains("script-src"),
            "no script is allowed at all: {csp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        // No referrer to other sites; the real origin (not `null`) on our own posts.
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        if path == "/nope" {
            assert_eq!(res.status(), 404);
        } else {
            assert_eq!(res.status(), 200, "{path}");
        }
    }
}
