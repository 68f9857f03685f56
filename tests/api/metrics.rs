//! `/metrics` against the real server: requests by route template and status,
//! complaints by channel, rate-limit rejections and the backlog gauges, and nothing
//! a sender typed (names, contacts, narratives, references, receipts, raw paths).

use crate::helpers::*;
use crate::on_both_backends;
use serde_json::json;

async fn metrics_count_by_route_and_never_carry_personal_data(backend: Backend) {
    let options = Options::default()
        .env("BUZON_INTAKE_BURST", "3")
        .env("BUZON_INTAKE_PER_MINUTE", "1");
    let server = TestServer::spawn_with(backend, options).await;
    let http = client();
    let body = complaint(
        "Rosalinda Métrica",
        "+52 1 477 987 6543",
        "rosalinda.metrica@example.org",
        "Narrativa-secreta-de-metricas",
    );
    let mut refs = Vec::new();
    for _ in 0..2 {
        let (status, created) = post_json(&http, &server.url("/api/v1/complaints"), &body).await;
        assert_eq!(status, 201, "{created}");
        refs.push(created["case_ref"].as_str().unwrap().to_owned());
        refs.push(created["receipt"].as_str().unwrap().to_owned());
    }
    // A refusal with its field, then the limit: the third request of the burst
    // is a 422, the fourth a 429.
    let (status, _) = post_json(
        &http,
        &server.url("/api/v1/complaints"),
        &json!({"workplace": {}}),
    )
    .await;
    assert_eq!(status, 422);
    let (status, _) = post_json(&http, &server.url("/api/v1/complaints"), &body).await;
    assert_eq!(status, 429);
    let res = http
        .get(server.url(&format!("/api/v1/cases/{}", refs[0])))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    let res = http
        .get(server.url("/nada/Rosalinda-Metrica"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404);

    let res = http.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = res.text().await.unwrap();
    for want in [
        r#"buzon_http_requests_total{method="POST",route="/api/v1/complaints",status="201"} 2"#,
        r#"buzon_http_requests_total{method="POST",route="/api/v1/complaints",status="422"} 1"#,
        r#"buzon_http_requests_total{method="POST",route="/api/v1/complaints",status="429"} 1"#,
        r#"buzon_http_requests_total{method="GET",route="/api/v1/cases/{case_ref}",status="401"} 1"#,
        r#"buzon_http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
        r#"buzon_complaints_filed_total{channel="api"} 2"#,
        r#"buzon_rate_limited_total{bucket="intake"} 1"#,
        r#"buzon_backlog_rows{queue="outbox",state="pending"} 0"#,
        r#"buzon_backlog_rows{queue="whatsapp_inbox",state="pending"} 0"#,
        r#"buzon_inbox_oldest_pending_seconds{inbox="email"} 0"#,
        "# EOF",
    ] {
        assert!(text.contains(want), "{want} missing from:\n{text}");
    }
    for secret in [
        "Rosalinda",
        "9876543",
        "rosalinda.metrica",
        "Narrativa-secreta",
        "Metrica",
    ]
    .into_iter()
    .chain(refs.iter().map(String::as_str))
    {
        assert!(!text.contains(secret), "{secret} in /metrics");
    }
}

/// With `BUZON_METRICS_TOKEN` set, `/metrics` asks for it (issue 30, finding 9);
/// without it, it answers anyone and the server warns at start.
#[tokio::test]
async fn metrics_ask_for_their_token_when_one_is_set() {
    const TOKEN: &str = "metrics-token-0123456789";
    let server = TestServer::spawn_with(
        Backend::Sqlite,
        Options::default().env("BUZON_METRICS_TOKEN", TOKEN),
    )
    .await;
    let http = client();
    let url = server.url("/metrics");
    for auth in [
        None,
        Some("Bearer not-the-metrics-token-at-all"),
        Some("Bearer metrics-token-012345678"),
        Some(TOKEN),
        Some("Basic bWV0cmljcy10b2tlbi0wMTIzNDU2Nzg5"),
    ] {
        let mut req = http.get(&url);
        if let Some(auth) = auth {
            req = req.header("authorization", auth);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status().as_u16(), 401, "{auth:?}");
        assert!(res.headers().contains_key("www-authenticate"));
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_token", "{body}");
    }
    let res = http
        .get(&url)
        .header("authorization", format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("buzon_http_requests_total")
    );
    assert!(!server.logs().contains("BUZON_METRICS_TOKEN is not set"));
    assert!(!server.logs().contains(TOKEN), "the token is never logged");

    // Without a token: open, with a warning at start.
    let open = TestServer::spawn(Backend::Sqlite).await;
    let res = http.get(open.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(open.logs().contains("BUZON_METRICS_TOKEN is not set"));

    // A short token is refused at start.
    let short = TestServer::prepare(Backend::Sqlite).await;
    let out = short
        .command(&Options::default().env("BUZON_METRICS_TOKEN", "too-short"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("BUZON_METRICS_TOKEN must be at least 16 characters"),
        "{err}"
    );
}

on_both_backends!(metrics_count_by_route_and_never_carry_personal_data);
