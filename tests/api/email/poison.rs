//! Issue 30, finding 1: one e-mail made of about 60 000 nested `message/rfc822`
//! parts was acknowledged, then crashed the server (a stack overflow, SIGABRT) when
//! the worker parsed it, and again after every restart, since a claim never counted
//! what it had started. Now such a message is held as too complex and the server
//! stays up; and a message whose working kills the process anyway (an abort a test
//! hook makes) is set aside after `MAX_OPEN_CLAIMS` claims instead of forever.

use super::*;

/// The assessment's message: `levels` parts, each nothing but its Content-Type.
fn nested(from: &str, id: &str, levels: usize) -> Vec<u8> {
    let mut raw = format!(
        "From: {from}\r\nTo: {INTAKE}\r\nSubject: Queja\r\nMessage-ID: <{id}>\r\nMIME-Version: 1.0\r\n"
    )
    .into_bytes();
    for _ in 0..levels {
        raw.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
    }
    raw.extend_from_slice(b"Subject: dentro\r\n\r\nhola\r\n");
    raw
}

on_both_backends!(nested_messages_are_held_and_the_server_stays_up);

async fn nested_messages_are_held_and_the_server_stays_up(backend: Backend) {
    let mut mail = start(backend, &[]).await;
    let sender = "anidado@ejemplo.mx";
    let token = mail.token.clone();
    // 60 000 levels, 1.9 MB: through the webhook and through SMTP.
    let raw = nested(sender, "nest-hook@ejemplo.mx", 60_000);
    assert!(raw.len() > 1_900_000);
    let (status, json) = mail.webhook(Some(&token), "message/rfc822", raw).await;
    assert_eq!((status, json["status"].as_str()), (200, Some("received")));
    mail.send_raw(sender, &nested(sender, "nest-smtp@ejemplo.mx", 60_000))
        .await
        .expect("250 for the nested message");
    mail.settle().await;
    assert_eq!(
        mail.count(
            "SELECT COUNT(*) FROM email_inbox WHERE state = 'held' AND outcome = 'too_complex'"
        )
        .await,
        2,
        "both held as too complex; logs:\n{}",
        mail.server.logs()
    );
    assert!(mail.server.is_running(), "the server is still up");
    // The same sender's next, ordinary message is worked as usual.
    let ok = lettre::Message::builder()
        .from(sender.parse().unwrap())
        .to(INTAKE.parse().unwrap())
        .subject(SUBJECT)
        .body(BODY.to_owned())
        .unwrap();
    mail.send(ok).await;
    mail.settle().await;
    assert_eq!(
        mail.count("SELECT COUNT(*) FROM cases WHERE channel = 'email'")
            .await,
        1
    );
    let ready = get_json(&mail.http, &mail.server.url("/readyz")).await;
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["email"]["held"], 2);
    assert!(mail.server.is_running());
    assert!(!mail.server.logs().contains("overflowed its stack"));
}

const MARKER: &str = "ABORT-MARKER-7d1f0c9e2b";

/// Posts a message from the poisoned sender to the e-mail webhook.
async fn post_mail(
    http: &reqwest::Client,
    server: &TestServer,
    token: &str,
    id: &str,
    body: &str,
) -> reqwest::Response {
    let raw = format!(
        "From: veneno@ejemplo.mx\r\nTo: {INTAKE}\r\nSubject: Queja\r\nMessage-ID: <{id}@ejemplo.mx>\r\n\r\n{body}\r\n"
    );
    http.post(server.url("/webhooks/email"))
        .bearer_auth(token)
        .header("content-type", "message/rfc822")
        .body(raw)
        .send()
        .await
        .unwrap()
}

on_both_backends!(a_message_that_kills_the_process_is_set_aside_after_its_tries);

async fn a_message_that_kills_the_process_is_set_aside_after_its_tries(backend: Backend) {
    buzon::install_crypto_provider();
    let sink = SmtpSink::start().await;
    let token = format!("mailtoken-{}", uuid::Uuid::new_v4().simple());
    let options = mail::options(Options::default(), &sink)
        .env("BUZON_EMAIL_WEBHOOK_TOKEN", &token)
        .env("BUZON_TEST_ABORT_ON", MARKER)
        // Claims of a dead process run out quickly.
        .env("BUZON_LEASE_SECS", "2")
        .env("BUZON_WHATSAPP_TIMEOUT_SECS", "1");
    let mut server = TestServer::spawn_with(backend, options.clone()).await;
    assert!(server.logs().contains("BUZON_TEST_ABORT_ON is set"));
    let http = client();
    let res = post_mail(&http, &server, &token, "poison", MARKER).await;
    assert_eq!(
        res.status(),
        200,
        "stored and acknowledged before it is worked"
    );
    // Each start takes the message up again (once the dead claim's lease ran out)
    // and dies under it, until the claims it never finished are too many.
    for crash in 1..=buzon::outbox::MAX_OPEN_CLAIMS {
        assert!(
            server.exits_within(30).await,
            "crash {crash} did not happen; logs:\n{}",
            server.logs()
        );
        server.start(&options);
    }
    // This start sets it aside instead, and stays up.
    let held = eventually(30, "the message set aside", || async {
        let n = server
            .count(
                "SELECT COUNT(*) FROM email_inbox WHERE state = 'held' AND outcome = 'crashed' \
                 AND open_claims >= 3",
            )
            .await;
        if n == 1 {
            Ok(n)
        } else {
            Err(format!("{n} set aside"))
        }
    })
    .await;
    assert_eq!(held, 1);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        server.is_running(),
        "not taken up again; logs:\n{}",
        server.logs()
    );
    let ready = get_json(&http, &server.url("/readyz")).await;
    assert_eq!(ready["email"]["crashed"], 1, "{ready}");
    let metrics = http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("buzon_backlog_rows{queue=\"email_inbox\",state=\"crashed\"} 1"),
        "{metrics}"
    );
    assert!(server.logs().contains("row set aside for a person"));
    // The sender's next message is worked: the set-aside row blocks nobody.
    let res = post_mail(&http, &server, &token, "after", BODY).await;
    assert_eq!(res.status(), 200);
    eventually(30, "the next message worked", || async {
        let n = server
            .count("SELECT COUNT(*) FROM cases WHERE channel = 'email'")
            .await;
        if n == 1 {
            Ok(())
        } else {
            Err(format!("{n} cases"))
        }
    })
    .await;
}
