//! Connections as a bounded resource (issue 30): slow headers and idle
//! connections are closed, one address cannot hold every connection (HTTP or
//! SMTP), and a trusted IPv4 proxy is recognised on a dual-stack listener. The
//! connection handling is the same whatever the database, so these run on SQLite.

use crate::helpers::mail;
use crate::helpers::*;
use crate::smtp_sink::{SmtpSink, read_reply};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

/// How many slow connections one address opens: with the server's other files,
/// more than a 1024-file limit holds (1 000 leave the old server a few files to
/// spare; the assessment used 1 100).
const SLOW: usize = 1100;
const HEADER_TIMEOUT_SECS: u64 = 2;

/// A connection to `to` from the loopback address `from` (127.0.0.x).
async fn connect_from(from: [u8; 4], to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((from, 0)))?;
    socket.connect(to).await
}

fn addr_of(server: &TestServer) -> SocketAddr {
    let port = server
        .base
        .rsplit(':')
        .next()
        .and_then(|p| p.parse::<u16>().ok())
        .expect("port in the base URL");
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// One `GET /healthz` on a connection of its own from `from`: the status line, or
/// why there was none within a second.
async fn healthz_from(from: [u8; 4], to: SocketAddr) -> Result<String, String> {
    tokio::time::timeout(Duration::from_secs(1), async {
        let mut stream = connect_from(from, to).await.map_err(|e| e.to_string())?;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: buzon.test\r\nConnection: close\r\n\r\n")
            .await
            .map_err(|e| e.to_string())?;
        let mut answer = Vec::new();
        stream
            .read_to_end(&mut answer)
            .await
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&answer).into_owned();
        Ok(text.lines().next().unwrap_or_default().to_owned())
    })
    .await
    .map_err(|_| "no answer within 1 s".to_owned())?
}

/// Reads until the server closes the connection (EOF or reset) or `until`; when
/// it closed, how long after `opened`.
async fn closed_after(
    mut read: tokio::net::tcp::OwnedReadHalf,
    opened: Instant,
    until: Instant,
) -> Option<Duration> {
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout_at(until, read.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(opened.elapsed()),
            Ok(Ok(_)) => continue,
            Err(_) => return None,
        }
    }
}

/// Finding 2: 1 100 connections from one address, each sending a partial header
/// line and then a byte now and then, under a 1024-file limit. Before, the server
/// held every one of them open for ever, ran out of files (`accept error: Too many
/// open files`) and answered nobody else. Now the address gets its share, the rest
/// are closed at once, the share is closed at the header timeout, and another
/// address is answered within a second throughout.
#[tokio::test]
async fn slow_headers_from_one_address_do_not_starve_the_others() {
    // The test's own side of 1 000 connections.
    let _ = rlimit::increase_nofile_limit(8192);
    let server = TestServer::spawn_with(
        Backend::Sqlite,
        Options::default()
            .wrapped_in(&["prlimit", "--nofile=1024:1024"])
            .env(
                "BUZON_HTTP_HEADER_TIMEOUT_SECS",
                &HEADER_TIMEOUT_SECS.to_string(),
            )
            .env("BUZON_HTTP_IDLE_TIMEOUT_SECS", "3")
            .env("BUZON_LOG", "info"),
    )
    .await;
    let to = addr_of(&server);

    let started = Instant::now();
    let mut writers = Vec::new();
    let mut closes = Vec::new();
    let until = started + Duration::from_secs(HEADER_TIMEOUT_SECS + 8);
    for _ in 0..SLOW {
        let Ok(Ok(stream)) =
            tokio::time::timeout(Duration::from_secs(2), connect_from([127, 0, 0, 1], to)).await
        else {
            continue;
        };
        let opened = Instant::now();
        let (read, mut write) = stream.into_split();
        let _ = write
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: buzon.test\r\nX-Slow: a")
            .await;
        writers.push(write);
        closes.push(tokio::spawn(closed_after(read, opened, until)));
    }
    assert!(
        closes.len() > SLOW / 2,
        "most slow connections were made: {}",
        closes.len()
    );
    // A byte every half second on each (a bounded number of rounds).
    let trickle = tokio::spawn(async move {
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(500)).await;
            for w in &mut writers {
                let _ = w.try_write(b"a");
            }
        }
    });

    // Meanwhile, another address is answered at once, every time.
    for i in 0..10 {
        let status = healthz_from([127, 0, 0, 2], to).await;
        assert!(
            status
                .as_deref()
                .is_ok_and(|s| s.starts_with("HTTP/1.1 200")),
            "request {i} from another address: {status:?}; logs:\n{}",
            tail(&server.logs())
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // Every slow connection is closed by the server: the address's share at the
    // header timeout (not before), the rest at once.
    let mut held = 0;
    for close in closes {
        let after = close.await.expect("reader task");
        let after = after.unwrap_or_else(|| {
            panic!("a slow connection still open after {HEADER_TIMEOUT_SECS} s + 8 s")
        });
        if after >= Duration::from_millis(HEADER_TIMEOUT_SECS * 1000 - 500) {
            held += 1;
        }
    }
    trickle.abort();
    assert!(
        (1..SLOW / 2).contains(&held),
        "the address's share (64 at a time) was held until the header timeout, the \
         rest closed at once: {held} held"
    );

    // A kept-alive connection with nothing to do is closed after the idle timeout.
    let mut idle = connect_from([127, 0, 0, 3], to).await.expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: buzon.test\r\n\r\n")
        .await
        .expect("request");
    let mut first = [0u8; 512];
    let n = idle.read(&mut first).await.expect("answer");
    assert!(first[..n].starts_with(b"HTTP/1.1 200"), "kept-alive answer");
    let answered = Instant::now();
    let (read, _write) = idle.into_split();
    let after = closed_after(read, answered, answered + Duration::from_secs(8))
        .await
        .expect("idle connection closed");
    assert!(
        after >= Duration::from_millis(2500),
        "idle timeout (3 s), not the header timeout (2 s): {after:?}"
    );

    let logs = server.logs();
    assert!(!logs.contains("Too many open files"), "{}", tail(&logs));
    let refusals: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("connections refused over a connection cap"))
        .collect();
    assert!(!refusals.is_empty(), "refusals logged");
    assert!(
        refusals.len() <= 3,
        "refusals logged at most once per 10 s: {refusals:?}"
    );
    assert!(
        refusals.iter().all(|l| !l.contains("127.0.0.")),
        "no address in the refusal lines: {refusals:?}"
    );
    assert!(
        logs.contains("HTTP connection cap") || logs.contains("open-file limit"),
        "the file limit and the cap are logged"
    );
}

fn tail(logs: &str) -> String {
    let lines: Vec<&str> = logs.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Finding 4: behind a trusted IPv4 proxy on a dual-stack listener (`[::]`), the
/// peer is `::ffff:127.0.0.1`. It used to be checked against the trusted list as
/// it was, so `X-Forwarded-For` was ignored and every client shared the proxy's
/// bucket.
#[tokio::test]
async fn a_trusted_ipv4_proxy_is_recognised_on_a_dual_stack_listener() {
    let server = TestServer::spawn_with(
        Backend::Sqlite,
        Options::default()
            .env("BUZON_HTTP_ADDR", "[::]:0")
            .env("BUZON_TRUSTED_PROXIES", "127.0.0.1")
            .env("BUZON_STATUS_PER_MINUTE", "1")
            .env("BUZON_STATUS_BURST", "2"),
    )
    .await;
    assert!(server.base.contains("[::]"), "dual-stack: {}", server.base);
    let url = format!("http://{}/api/v1/status", addr_of(&server));
    let http = client();
    let look_up = |client_ip: &'static str| {
        let http = http.clone();
        let url = url.clone();
        async move {
            http.post(&url)
                .header("x-forwarded-for", client_ip)
                .json(&serde_json::json!({"receipt": "BZ-NOTAREAL-RECEIPT"}))
                .send()
                .await
                .expect("request")
                .status()
                .as_u16()
        }
    };
    // One client through the proxy: its burst, then limited on its own.
    assert_ne!(look_up("203.0.113.10").await, 429);
    assert_ne!(look_up("203.0.113.10").await, 429);
    assert_eq!(look_up("203.0.113.10").await, 429, "limited on its own");
    // Another client through the same proxy is keyed apart.
    assert_ne!(look_up("198.51.100.20").await, 429, "another client");
    assert_ne!(look_up("198.51.100.20").await, 429, "another client");
}

/// Finding 6: one address could hold every SMTP session (the cap was global, the
/// per-address limit a rate). Now it holds its share; its next session is refused
/// with 421 4.7.0, and another address still gets its greeting.
#[tokio::test]
async fn one_address_cannot_hold_every_smtp_session() {
    buzon::install_crypto_provider();
    let sink = SmtpSink::start().await;
    let server = TestServer::spawn_with(
        Backend::Sqlite,
        mail::options(Options::default(), &sink).env("BUZON_SMTP_MAX_CONNECTIONS_PER_IP", "3"),
    )
    .await;
    let smtp = server.smtp.expect("SMTP address logged");
    let greeting = |stream: TcpStream| async move {
        let (read, write) = stream.into_split();
        let mut read = BufReader::new(read);
        (read_reply(&mut read).await, read, write)
    };
    let mut held = Vec::new();
    for i in 0..3 {
        let stream = connect_from([127, 0, 0, 1], smtp).await.expect("connect");
        let (reply, read, write) = greeting(stream).await;
        assert!(reply.starts_with("220"), "session {i}: {reply}");
        held.push((read, write));
    }
    let stream = connect_from([127, 0, 0, 1], smtp).await.expect("connect");
    let (reply, _, _) = greeting(stream).await;
    assert!(
        reply.starts_with("421 4.7.0") && reply.contains("your address"),
        "over the address's share: {reply}"
    );
    let stream = connect_from([127, 0, 0, 2], smtp).await.expect("connect");
    let (reply, _, _) = greeting(stream).await;
    assert!(reply.starts_with("220"), "another address: {reply}");
    // A closed session frees its place.
    held.pop();
    let mut freed = String::new();
    for _ in 0..50 {
        let stream = connect_from([127, 0, 0, 1], smtp).await.expect("connect");
        freed = greeting(stream).await.0;
        if freed.starts_with("220") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(freed.starts_with("220"), "a freed place: {freed}");
    drop(held);
}

/// What `axum::serve` did and the accept loop still does: on SIGTERM a request in
/// progress (here, its body half sent) is finished and answered before the server
/// stops, and the stop is clean.
#[tokio::test]
async fn shutdown_finishes_a_request_in_progress() {
    let mut server = TestServer::spawn(Backend::Sqlite).await;
    let body = serde_json::to_vec(&anonymous_complaint()).expect("JSON");
    let mut stream = connect_from([127, 0, 0, 1], addr_of(&server))
        .await
        .expect("connect");
    let head = format!(
        "POST /api/v1/complaints HTTP/1.1\r\nHost: buzon.test\r\nContent-Type: \
         application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let (first, rest) = body.split_at(body.len() / 2);
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(first).await.expect("first half");
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.signal_term();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stream.write_all(rest).await.expect("second half");
    let mut answer = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("an answer in time")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer[..n]).into_owned();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let status = server.terminate();
    assert!(status.is_some_and(|s| s.success()), "clean stop");
    assert!(server.logs().contains("stopped"));
}
