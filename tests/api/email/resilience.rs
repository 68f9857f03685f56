//! What the e-mail channel promises under pressure: no answer to machines, the
//! daily cap, a failing relay, limits and shutdown without losing mail.

use super::*;

#[tokio::test]
async fn machines_get_no_answer_and_the_daily_cap_holds() {
    let mail = start(Backend::Sqlite, &[("BUZON_EMAIL_DAILY_ACKS", "2")]).await;
    let auto = |i: usize, header: &str, from: &str| {
        format!(
            "From: {from}\r\nTo: {INTAKE}\r\nSubject: Automatic {i}\r\nMessage-ID: <auto-{i}@ejemplo.mx>\r\n{header}\r\nNo estoy en la oficina.\r\n"
        )
        .into_bytes()
    };
    mail.send_raw(
        "ooo@ejemplo.mx",
        &auto(1, "Auto-Submitted: auto-replied\r\n", "ooo@ejemplo.mx"),
    )
    .await
    .unwrap();
    mail.send_raw(
        "",
        &auto(
            2,
            "Content-Type: text/plain\r\n",
            "MAILER-DAEMON@mx.ejemplo.mx",
        ),
    )
    .await
    .unwrap();
    mail.send_raw(
        "lista@ejemplo.mx",
        &auto(3, "List-Id: <boletin.ejemplo.mx>\r\n", "lista@ejemplo.mx"),
    )
    .await
    .unwrap();
    mail.send_raw(
        "masivo@ejemplo.mx",
        &auto(4, "Precedence: bulk\r\n", "masivo@ejemplo.mx"),
    )
    .await
    .unwrap();
    for i in 0..4 {
        let msg = lettre::Message::builder()
            .from("insistente@ejemplo.mx".parse().unwrap())
            .to(INTAKE.parse().unwrap())
            .subject(format!("Queja {i}"))
            .body(format!("Otra queja distinta número {i}."))
            .unwrap();
        mail.send(msg).await;
    }
    let other = lettre::Message::builder()
        .from("alguien@ejemplo.mx".parse().unwrap())
        .to(INTAKE.parse().unwrap())
        .subject("Queja")
        .body(String::from("Una queja."))
        .unwrap();
    mail.send(other).await;
    mail.settle().await;
    let acks = mail.sink.wait_for(3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let acks_now = mail.sink.received();
    assert_eq!(
        acks_now.len(),
        3,
        "two for the insistent sender, one for the other"
    );
    assert_eq!(
        acks.iter()
            .filter(|a| a.rcpt_to == ["insistente@ejemplo.mx"])
            .count(),
        2
    );
    assert_eq!(mail.count("SELECT COUNT(*) FROM cases").await, 5);
    for outcome in ["auto_reply", "bounce", "bulk"] {
        assert!(
            mail.count(&format!(
                "SELECT COUNT(*) FROM email_inbox WHERE state = 'held' AND outcome = '{outcome}'"
            ))
            .await
                >= 1,
            "{outcome} held"
        );
    }
    assert_eq!(
        mail.count("SELECT COUNT(*) FROM email_inbox WHERE state = 'held'")
            .await,
        4
    );
}

#[tokio::test]
async fn acknowledgements_survive_a_failing_relay() {
    let mail = start(Backend::Sqlite, &[]).await;
    mail.sink.refuse_next(&[451, 451]);
    mail.send(complaint_message("retry-1@sindicato-ejemplo.mx"))
        .await;
    let acks = mail.sink.wait_for(1).await;
    assert_eq!(acks[0].rcpt_to, vec![ADVOCATE.to_owned()]);
    // The relay has the message before the worker records the send (on a busy
    // machine the update waits its turn at the writer): wait for the record.
    eventually(
        30,
        "sent on the third attempt, after two temporary refusals",
        || async {
            let sent = mail
                .count("SELECT COUNT(*) FROM outbox WHERE state = 'sent' AND attempts = 3")
                .await;
            if sent == 1 {
                Ok(())
            } else {
                Err(format!("{sent} rows sent on the third attempt"))
            }
        },
    )
    .await;
    mail.sink.refuse_next(&[550]);
    let other = lettre::Message::builder()
        .from("rebota@ejemplo.mx".parse().unwrap())
        .to(INTAKE.parse().unwrap())
        .subject("Queja")
        .body(String::from("Una queja."))
        .unwrap();
    mail.send(other).await;
    for _ in 0..100 {
        let ready = get_json(&mail.http, &mail.server.url("/readyz")).await;
        if ready["outbox"]["dead"] == 1 {
            assert!(!mail.server.logs().contains("rebota@ejemplo.mx"));
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("a permanent refusal is dead-lettered");
}

#[tokio::test]
async fn limits_hold_and_shutdown_is_clean() {
    let mut mail = start(
        Backend::Sqlite,
        &[
            ("BUZON_SMTP_SENDER_BURST", "2"),
            ("BUZON_SMTP_SENDER_PER_MINUTE", "1"),
            ("BUZON_SMTP_IP_BURST", "7"),
            ("BUZON_SMTP_IP_PER_MINUTE", "1"),
        ],
    )
    .await;
    // A session left waiting for a command (its connection counts once for the IP).
    let idle = tokio::net::TcpStream::connect(("127.0.0.1", mail.port()))
        .await
        .unwrap();
    let (idle_read, mut idle_write) = idle.into_split();
    let mut idle_read = BufReader::new(idle_read);
    assert!(read_reply(&mut idle_read).await.starts_with("220"));
    idle_write.write_all(b"EHLO idle.test\r\n").await.unwrap();
    assert!(read_reply(&mut idle_read).await.starts_with("250"));

    // Each connection and each MAIL counts for the IP; each MAIL for its sender.
    let r = mail
        .dialog(&[
            "EHLO c.test",
            "MAIL FROM:<a@ejemplo.mx>",
            "RSET",
            "MAIL FROM:<a@ejemplo.mx>",
            "RSET",
            "MAIL FROM:<a@ejemplo.mx>",
            "RSET",
            "MAIL FROM:<b@ejemplo.mx>",
            "RSET",
            "MAIL FROM:<c@ejemplo.mx>",
            "RSET",
            "MAIL FROM:<d@ejemplo.mx>",
            "QUIT",
        ])
        .await;
    assert!(r[2].starts_with("250") && r[4].starts_with("250"), "{r:?}");
    assert!(
        r[6].starts_with("450 4.7.1"),
        "sender over its limit: {}",
        r[6]
    );
    assert!(r[8].starts_with("250") && r[10].starts_with("250"), "{r:?}");
    assert!(
        r[12].starts_with("450 4.7.1"),
        "address over its limit: {}",
        r[12]
    );
    let r = mail.dialog(&[]).await;
    assert!(r[0].starts_with("421"), "new connection refused: {}", r[0]);

    // Shutdown: the waiting session is told, and the server stops cleanly.
    let status = mail.server.terminate();
    assert!(status.is_some_and(|s| s.success()), "clean stop");
    let last = read_reply(&mut idle_read).await;
    assert!(last.starts_with("421 4.3.2"), "{last}");
}

/// Nothing accepted is lost: a message whose storing fails is refused with a
/// temporary error (the sending server keeps it and retries), and a message in the
/// middle of DATA when the server is asked to stop is finished and stored first.
#[tokio::test]
async fn failures_and_shutdown_lose_no_mail() {
    let mut mail = start(Backend::Sqlite, &[]).await;
    // The inbox table goes away under the running server: storing fails.
    let db = mail.server.db().await;
    let rename = |from: &str, to: &str| format!("ALTER TABLE {from} RENAME TO {to}");
    use sea_orm::ConnectionTrait;
    db.execute_unprepared(&rename("email_inbox", "email_inbox_away"))
        .await
        .unwrap();
    let err = mail
        .transport()
        .send(complaint_message("fail-1@sindicato-ejemplo.mx"))
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert_eq!(err.status().map(u16::from), Some(451));
    db.execute_unprepared(&rename("email_inbox_away", "email_inbox"))
        .await
        .unwrap();
    db.close().await.ok();
    // The sending server's retry gets through.
    mail.send(complaint_message("fail-1@sindicato-ejemplo.mx"))
        .await;
    mail.settle().await;
    assert_eq!(mail.count("SELECT COUNT(*) FROM cases").await, 1);

    // SIGTERM in the middle of DATA: the message is finished, stored, answered.
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", mail.port()))
        .await
        .unwrap();
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    assert!(read_reply(&mut read).await.starts_with("220"));
    for (line, code) in [
        ("EHLO c.test", "250"),
        ("MAIL FROM:<tarde@ejemplo.mx>", "250"),
        (&format!("RCPT TO:<{INTAKE}>") as &str, "250"),
        ("DATA", "354"),
    ] {
        write
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
        let reply = read_reply(&mut read).await;
        assert!(reply.starts_with(code), "{line}: {reply}");
    }
    write
        .write_all(b"From: tarde@ejemplo.mx\r\nSubject: Llegando tarde\r\nMessage-ID: <tarde@ejemplo.mx>\r\n\r\nPrimera parte,\r\n")
        .await
        .unwrap();
    mail.server.signal_term();
    tokio::time::sleep(Duration::from_millis(500)).await;
    write.write_all(b"segunda parte.\r\n.\r\n").await.unwrap();
    let stored = read_reply(&mut read).await;
    assert!(stored.starts_with("250"), "{stored}");
    let bye = read_reply(&mut read).await;
    assert!(bye.starts_with("421 4.3.2"), "{bye}");
    assert!(
        mail.server.terminate().is_some_and(|s| s.success()),
        "clean stop"
    );
    let n = mail.server.count("SELECT COUNT(*) FROM email_inbox").await;
    assert_eq!(n, 2, "the message finished during shutdown is stored");
}
