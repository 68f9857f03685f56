//! Floods against the real server: hundreds of complaints from one address get no
//! further than its burst, thousands of requests from as many addresses each pass
//! their own limit, a legitimate worker filing during the flood is served, and the
//! limiters forget the flood's addresses once their limits recover (the key store
//! does not grow without end; `/metrics` shows its size).
//!
//! Short by default; `BUZON_FLOOD_SCALE=20 cargo test --test api flood` multiplies
//! every count (e.g. 10 000 one-address requests and 40 000 addresses).

use crate::helpers::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn scale() -> usize {
    std::env::var("BUZON_FLOOD_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

/// The `ratelimit_clients` gauge of `bucket` from `/metrics`.
async fn clients(http: &reqwest::Client, server: &TestServer, bucket: &str) -> u64 {
    let text = get_text(http, &server.url("/metrics")).await;
    let prefix = format!("buzon_ratelimit_clients{{bucket=\"{bucket}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {prefix} in:\n{text}"))
}

/// Sends `n` requests, `concurrency` at a time; counts answers by status.
async fn flood<F, Fut>(
    n: usize,
    concurrency: usize,
    send: F,
) -> std::collections::BTreeMap<u16, usize>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = u16> + Send + 'static,
{
    let gate = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let permit = Arc::clone(&gate).acquire_owned().await.unwrap();
        let request = send(i);
        tasks.spawn(async move {
            let status = request.await;
            drop(permit);
            status
        });
    }
    let mut by_status = std::collections::BTreeMap::new();
    while let Some(status) = tasks.join_next().await {
        *by_status.entry(status.unwrap()).or_insert(0) += 1;
    }
    by_status
}

#[tokio::test]
async fn floods_hit_their_limits_and_leave_no_trace_in_memory() {
    let server = TestServer::spawn_with(
        Backend::Sqlite,
        Options::default()
            .env("BUZON_TRUSTED_PROXIES", "127.0.0.1")
            // One complaint per address per minute after a burst of ten: a flood that
            // takes less than a minute gets ten (eleven at most) through.
            .env("BUZON_INTAKE_PER_MINUTE", "1")
            .env("BUZON_INTAKE_BURST", "10")
            // An address that sent one request has recovered twenty seconds later:
            // long enough to see all the flood's addresses remembered, short enough
            // to see them forgotten by the one-second sweep.
            .env("BUZON_GENERAL_PER_MINUTE", "3")
            .env("BUZON_GENERAL_BURST", "100")
            .env("BUZON_RATELIMIT_SWEEP_SECS", "1"),
    )
    .await;
    let http = client();
    let started = Instant::now();

    // One address, many complaints (each a valid one: the limit comes before any work).
    let url = server.url("/api/v1/complaints");
    let one = flood(500 * scale(), 32, |_| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            http.post(&url)
                .header("x-forwarded-for", "203.0.113.7")
                .json(&anonymous_complaint())
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }
    })
    .await;
    let passed = one.get(&201).copied().unwrap_or(0);
    let limited = one.get(&429).copied().unwrap_or(0);
    assert!(
        started.elapsed() < Duration::from_secs(60) && (10..=11).contains(&passed),
        "one address got {passed} complaints through: {one:?}"
    );
    assert_eq!(passed + limited, 500 * scale(), "only 201 or 429: {one:?}");

    // Thousands of addresses at once, one request each, while a worker files from
    // yet another address: every one of them is answered normally.
    let addresses = 2000 * scale();
    let healthz = server.url("/healthz");
    let many = {
        let http = http.clone();
        tokio::spawn(async move {
            flood(addresses, 64, |i| {
                let (http, url) = (http.clone(), healthz.clone());
                let ip = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
                async move {
                    http.get(&url)
                        .header("x-forwarded-for", ip)
                        .send()
                        .await
                        .map(|r| r.status().as_u16())
                        .unwrap_or(0)
                }
            })
            .await
        })
    };
    let res = http
        .post(&url)
        .header("x-forwarded-for", "198.51.100.9")
        .json(&anonymous_complaint())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "a worker filing during the flood");
    let many = many.await.unwrap();
    assert_eq!(many.get(&200).copied(), Some(addresses), "{many:?}");
    assert_eq!(
        server.count("SELECT COUNT(*) FROM cases").await,
        i64::try_from(passed + 1).unwrap()
    );

    // The general limiter remembered every address; once their limits recover the
    // sweep forgets them (the scraper itself stays).
    let peak = clients(&http, &server, "general").await;
    assert!(peak >= addresses as u64, "{peak} clients remembered");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let now = clients(&http, &server, "general").await;
        if now < 10 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still {now} of {peak} clients remembered"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // The flooding address stays limited (it has not recovered), and is remembered.
    assert!(clients(&http, &server, "intake").await >= 1);
    let res = http
        .post(&url)
        .header("x-forwarded-for", "203.0.113.7")
        .json(&anonymous_complaint())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
}
