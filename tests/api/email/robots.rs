//! No case and no reply for robots; no reply to spam or to a sender the relay could
//! not authenticate. Messages are written the way real mail systems write them
//! (shapes learnt from sisimai, bounce parsers, rspamd and carrier samples), over
//! SMTP and through the provider webhook.

use super::*;

/// A raw message from `from` with these extra headers and body.
fn robot(i: usize, from: &str, subject: &str, headers: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {INTAKE}\r\nSubject: {subject}\r\nMessage-ID: <robot-{i}@remitente.test>\r\n\
         Date: Tue, 08 Dec 2026 10:00:00 -0600\r\nMIME-Version: 1.0\r\n{headers}\r\n{body}"
    )
    .into_bytes()
}

fn address(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let from = text
        .lines()
        .next()
        .unwrap_or("")
        .trim_start_matches("From: ");
    let from = from
        .rsplit('<')
        .next()
        .unwrap_or(from)
        .trim_end_matches('>');
    from.trim().to_owned()
}

/// Every robot and every spam verdict is held with its reason: no case, nothing in
/// the outbox; a person's complaint on the same server still gets its receipt.
#[tokio::test]
async fn robots_and_spam_are_held_without_a_case_or_an_answer() {
    let mail = start(Backend::Sqlite, &[]).await;
    let token = mail.token.clone();
    let dsn = |report_type: &str| {
        format!(
            "Content-Type: multipart/report; report-type={report_type};\r\n\tboundary=\"rep\"\r\n"
        )
    };
    let dsn_body = "--rep\r\nContent-Type: text/plain\r\n\r\nThis is the mail system at host mx.remitente.test.\r\n\
                    I'm sorry to have to inform you that your message could not be delivered.\r\n\r\n\
                    --rep\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.remitente.test\r\n\r\n\
                    Final-Recipient: rfc822; nadie@remitente.test\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--rep--\r\n";
    let arf_body = "--rep\r\nContent-Type: text/plain\r\n\r\nThis is an email abuse report for an email message received from IP 192.0.2.1.\r\n\r\n\
                    --rep\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nUser-Agent: SomeGenerator/1.0\r\nVersion: 1\r\n\r\n\
                    --rep\r\nContent-Type: message/rfc822\r\n\r\nFrom: quejas@buzon.test\r\nSubject: Recibimos su queja\r\n\r\nx\r\n--rep--\r\n";
    // (message, expected hold reason, through the webhook?)
    let robots: Vec<(Vec<u8>, &str, bool)> = vec![
        (
            robot(
                1,
                "Rosa <rosa@remitente.test>",
                "Re: Queja",
                "Auto-Submitted: auto-replied\r\n",
                "Estoy de vacaciones.",
            ),
            "auto_reply",
            false,
        ),
        (
            robot(
                2,
                "John.Smith@remitente.test",
                "AUTO: Smith, John is out of the office. (returning 05/01/2027)",
                "",
                "I am out of the office until 05/01/2027.",
            ),
            "auto_reply",
            true,
        ),
        (
            robot(
                3,
                "Neko <neko@remitente.test>",
                "Respuesta automática: Queja",
                "",
                "Gracias por su mensaje.",
            ),
            "auto_reply",
            false,
        ),
        (
            robot(
                4,
                "Agris <agris@remitente.test>",
                "Arpus biroja atrasanas automatiska atbilde: Queja",
                "",
                "Esmu atvaļinājumā.",
            ),
            "auto_reply",
            true,
        ),
        (
            robot(
                5,
                "Mail Delivery System <mta@remitente.test>",
                "Hola",
                &dsn("delivery-status"),
                dsn_body,
            ),
            "bounce",
            true,
        ),
        (
            robot(
                6,
                "mta@remitente.test",
                "Hola",
                &dsn("global-delivery-status"),
                &dsn_body.replace("message/delivery-status", "message/global-delivery-status"),
            ),
            "bounce",
            false,
        ),
        (
            robot(
                7,
                "abuse@remitente.test",
                "FW: Recibimos su queja",
                &dsn("feedback-report"),
                arf_body,
            ),
            "abuse_report",
            false,
        ),
        (
            robot(
                8,
                "gmail-noreply@google.test",
                "Bienvenido",
                "",
                "No responda a este mensaje.",
            ),
            "no_reply",
            true,
        ),
        (
            robot(
                9,
                "post_master@remitente.test",
                "Delivery report",
                "",
                "Your message was not delivered.",
            ),
            "bounce",
            false,
        ),
        (
            robot(
                10,
                "noreply@boxbe.com",
                "Re: Queja (Action Required)",
                "Reply-To: alguien@remitente.test\r\n",
                "Please verify your message by clicking the link.",
            ),
            "challenge_response",
            true,
        ),
        (
            robot(
                11,
                "lista-owner@listas.test",
                "Your message to Obreros awaits approval",
                "List-Id: <obreros.listas.test>\r\n",
                "You are not a member of this list.",
            ),
            "bulk",
            false,
        ),
        (
            robot(
                12,
                "Oferta <ofertas@remitente.test>",
                "Gane dinero",
                "X-Spam-Flag: YES\r\nX-Spam-Status: Yes, score=9.1 required=5.0 tests=BAYES_99\r\n",
                "Gane dinero desde su casa.",
            ),
            "spam",
            true,
        ),
        (
            robot(
                13,
                "Premio <premio@remitente.test>",
                "Usted ganó",
                "X-Spamd-Result: default: True [16.20 / 15.00];\r\n\tBAYES_SPAM(5.10)[99.99%]\r\nX-Rspamd-Action: add header\r\n",
                "Reclame su premio.",
            ),
            "spam",
            false,
        ),
        (
            robot(
                14,
                "Banco <alertas@remitente.test>",
                "Aviso",
                "X-Spam: Yes\r\n",
                "Confirme su cuenta.",
            ),
            "spam",
            true,
        ),
    ];
    for (raw, _, webhook) in &robots {
        if *webhook {
            let (status, _) = mail
                .webhook(Some(&token), "message/rfc822", raw.clone())
                .await;
            assert_eq!(status, 200);
        } else {
            mail.send_raw(&address(raw), raw).await.unwrap();
        }
    }
    mail.settle().await;
    assert_eq!(
        mail.count("SELECT COUNT(*) FROM cases").await,
        0,
        "no case for a robot"
    );
    assert_eq!(
        mail.count("SELECT COUNT(*) FROM outbox").await,
        0,
        "no answer to a robot"
    );
    for (raw, reason, _) in &robots {
        let held = mail
            .count(&format!(
                "SELECT COUNT(*) FROM email_inbox WHERE state = 'held' AND outcome = '{reason}' AND acked_at IS NULL"
            ))
            .await;
        assert!(held >= 1, "{reason}: {}", String::from_utf8_lossy(raw));
    }
    assert_eq!(
        mail.count("SELECT COUNT(*) FROM email_inbox WHERE state = 'held'")
            .await,
        robots.len() as i64
    );
    // The same server answers a person.
    mail.send(complaint_message("persona-1@sindicato-ejemplo.mx"))
        .await;
    let acks = mail.sink.wait_for(1).await;
    assert_eq!(acks[0].rcpt_to, vec![ADVOCATE.to_owned()]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(mail.sink.received().len(), 1, "nothing went to a robot");
}

/// A first-time sender whose SPF/DKIM/DMARC failed at the relay gets a case (the
/// complaint is kept) but no mail; only the configured relay's results count.
#[tokio::test]
async fn an_unauthenticated_sender_gets_a_case_but_no_answer() {
    let mail = start(
        Backend::Sqlite,
        &[("BUZON_EMAIL_AUTHSERV_ID", "mx.relay.test")],
    )
    .await;
    let complaint = |i: usize, from: &str, results: &str| {
        robot(
            20 + i,
            from,
            "Despidos en la planta",
            results,
            "Nos despidieron a 14 por ir a la asamblea del sindicato.",
        )
    };
    let failed = complaint(
        1,
        "falsa@remitente.test",
        "Authentication-Results: mx.relay.test;\r\n\tspf=fail (sender IP is 203.0.113.9) smtp.mailfrom=remitente.test;\r\n\tdkim=none;\r\n\tdmarc=fail (p=reject) header.from=remitente.test\r\n",
    );
    // A "pass" written above the relay's own header by someone else is not read.
    let forged_pass = complaint(
        2,
        "otra@remitente.test",
        "Authentication-Results: evil.test; spf=pass; dkim=pass; dmarc=pass\r\n\
         Authentication-Results: mx.relay.test; dkim=fail header.d=remitente.test\r\n",
    );
    let passed = complaint(
        3,
        "buena@remitente.test",
        "Authentication-Results: mx.relay.test; spf=pass smtp.mailfrom=remitente.test; dkim=pass header.d=remitente.test; dmarc=pass\r\n",
    );
    for raw in [&failed, &forged_pass] {
        mail.send_raw(&address(raw), raw).await.unwrap();
    }
    let (status, _) = mail
        .webhook(Some(&mail.token), "message/rfc822", passed.clone())
        .await;
    assert_eq!(status, 200);
    mail.settle().await;
    let acks = mail.sink.wait_for(1).await;
    assert_eq!(acks[0].rcpt_to, vec!["buena@remitente.test".to_owned()]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(mail.sink.received().len(), 1);
    assert_eq!(
        mail.count("SELECT COUNT(*) FROM cases").await,
        3,
        "every complaint kept"
    );
    assert_eq!(mail.count("SELECT COUNT(*) FROM outbox").await, 1);
    assert_eq!(
        mail.count("SELECT COUNT(*) FROM email_inbox WHERE outcome = 'case' AND acked_at IS NULL")
            .await,
        2
    );
}
