//! Receipts: the right code opens the case; a wrong secret and an unknown code are
//! indistinguishable (same answer, same cost); guessing is rate limited.

use crate::helpers::*;
use crate::on_both_backends;
use std::time::{Duration, Instant};

async fn timed_status(http: &reqwest::Client, url: &str, receipt: &str) -> (u16, String, Duration) {
    let start = Instant::now();
    let res = http
        .post(url)
        .json(&serde_json::json!({"receipt": receipt}))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body = res.text().await.unwrap();
    (status, body, start.elapsed())
}

/// Changes the last character of the secret part to another valid one.
fn wrong_secret(receipt: &str) -> String {
    let mut chars: Vec<char> = receipt.chars().collect();
    let last = chars.len() - 1;
    chars[last] = if chars[last] == 'Z' { 'Y' } else { 'Z' };
    chars.into_iter().collect()
}

/// Changes the first character (the lookup part) so no case has it.
fn unknown_lookup(receipt: &str) -> String {
    let mut chars: Vec<char> = receipt.chars().collect();
    chars[0] = if chars[0] == 'Z' { 'Y' } else { 'Z' };
    chars.into_iter().collect()
}

async fn a_wrong_receipt_looks_exactly_like_an_unknown_one(backend: Backend) {
    let server = TestServer::spawn_with(
        backend,
        Options::default().env("BUZON_STATUS_BURST", "1000"),
    )
    .await;
    let http = client();
    let (_, created) = post_json(
        &http,
        &server.url("/api/v1/complaints"),
        &anonymous_complaint(),
    )
    .await;
    let receipt = created["receipt"].as_str().unwrap().to_string();
    let url = server.url("/api/v1/status");

    let (status, _, _) = timed_status(&http, &url, &receipt).await;
    assert_eq!(status, 200);

    let mut right = Vec::new();
    let mut wrong = Vec::new();
    let mut unknown = Vec::new();
    let mut bodies = Vec::new();
    for _ in 0..5 {
        let (s, _, t) = timed_status(&http, &url, &receipt).await;
        assert_eq!(s, 200);
        right.push(t);
        let (s, body, t) = timed_status(&http, &url, &wrong_secret(&receipt)).await;
        assert_eq!(s, 404);
        wrong.push(t);
        bodies.push(body);
        let (s, body, t) = timed_status(&http, &url, &unknown_lookup(&receipt)).await;
        assert_eq!(s, 404);
        unknown.push(t);
        bodies.push(body);
    }
    // Same message, byte for byte.
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    assert!(bodies[0].contains("receipt_not_found"));
    // Same time class: an unknown code still pays for one Argon2id verification, so
    // its fastest answer is nowhere near an order of magnitude below a real check.
    let fastest = |v: &Vec<Duration>| *v.iter().min().unwrap();
    assert!(
        fastest(&unknown) * 3 > fastest(&right) && fastest(&wrong) * 3 > fastest(&right),
        "right {right:?} wrong {wrong:?} unknown {unknown:?}"
    );
}

async fn guessing_receipts_trips_the_rate_limit(backend: Backend) {
    // Defaults: a burst of 5 look-ups, then 5 a minute.
    let server = TestServer::spawn_with(
        backend,
        Options::default().env("BUZON_TRUSTED_PROXIES", "127.0.0.1"),
    )
    .await;
    let http = client();
    let url = server.url("/api/v1/status");
    let guess = "0000-0000-0000-0000-0000-0000";
    for i in 0..5 {
        let (status, body, _) = timed_status(&http, &url, guess).await;
        assert_eq!(status, 404, "attempt {i}: {body}");
    }
    let res = http
        .post(&url)
        .json(&serde_json::json!({"receipt": guess}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");

    // The web form shares the bucket.
    let res = http
        .post(server.url("/status"))
        .form(&[("receipt", guess)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));

    // Another client (behind the trusted proxy) is not affected.
    let res = http
        .post(&url)
        .header("x-forwarded-for", "203.0.113.77")
        .json(&serde_json::json!({"receipt": guess}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

on_both_backends!(
    a_wrong_receipt_looks_exactly_like_an_unknown_one,
    guessing_receipts_trips_the_rate_limit,
);

#[tokio::test]
async fn filing_is_rate_limited_per_client() {
    let server = TestServer::spawn_with(
        Backend::Sqlite,
        Options::default()
            .env("BUZON_INTAKE_BURST", "2")
            .env("BUZON_INTAKE_PER_MINUTE", "1"),
    )
    .await;
    let http = client();
    let url = server.url("/api/v1/complaints");
    for _ in 0..2 {
        let (status, _) = post_json(&http, &url, &anonymous_complaint()).await;
        assert_eq!(status, 201);
    }
    let (status, body) = post_json(&http, &url, &anonymous_complaint()).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
}
