//! The e-mail channel end to end: lettre (a real SMTP client) sends to the server's
//! SMTP listener or a provider posts to `/webhooks/email`; acknowledgements arrive at
//! an SMTP server started by the test (`smtp_sink.rs`). Messages are built with
//! lettre's MIME builder, or written byte by byte where lettre would refuse to make
//! them (other charsets, broken MIME, 8-bit headers).

mod corpus;
mod envelope;
mod evidence;
mod poison;
mod questions;
mod resilience;
mod robots;

use crate::helpers::mail::{self, INTAKE};
use crate::helpers::*;
use crate::on_both_backends;
use crate::smtp_sink::{Received, SmtpSink, read_reply};
use buzon::crypto::{Aad, KeyRing};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Body, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::time::Duration;
use tokio::io::{AsyncWriteExt, BufReader};

const ADVOCATE: &str = "ximena.quintanar@sindicato-ejemplo.mx";
const ADVOCATE_NAME: &str = "Ximena Quintanar Olvera";
const SUBJECT: &str = "Despidos en la planta Arneses Tlacuache";
const BODY: &str = "Me despidieron sin liquidación junto con 14 compañeros después de la asamblea.\nEstado: Coahuila\n";
/// Marks a `dialog` line that gets no reply (DATA content).
const NO_REPLY: &str = "\u{1}";
const PDF: &[u8] = b"%PDF-1.4 ACTA-DE-DESPIDO-PLAINTEXT-MARKER-5512";

struct Mail {
    server: TestServer,
    sink: SmtpSink,
    token: String,
    http: reqwest::Client,
}

async fn start(backend: Backend, extra: &[(&str, &str)]) -> Mail {
    buzon::install_crypto_provider();
    let sink = SmtpSink::start().await;
    let token = format!("mailtoken-{}", uuid::Uuid::new_v4().simple());
    let mut options = mail::options(Options::default(), &sink)
        .env("BUZON_EMAIL_WEBHOOK_TOKEN", &token)
        .env("BUZON_OUTBOX_RETRY_BASE_MS", "50");
    for (k, v) in extra {
        options = options.env(k, v);
    }
    let server = TestServer::spawn_with(backend, options).await;
    assert!(server.smtp.is_some(), "SMTP address logged");
    Mail {
        server,
        sink,
        token,
        http: client(),
    }
}

impl Mail {
    fn port(&self) -> u16 {
        self.server.smtp.map(|a| a.port()).unwrap_or_default()
    }

    fn transport(&self) -> AsyncSmtpTransport<Tokio1Executor> {
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(self.port())
            .timeout(Some(Duration::from_secs(20)))
            .build()
    }

    async fn send(&self, message: lettre::Message) {
        self.transport().send(message).await.expect("accepted");
    }

    /// Sends bytes as they are; `from` empty is the null sender.
    async fn send_raw(
        &self,
        from: &str,
        raw: &[u8],
    ) -> Result<lettre::transport::smtp::response::Response, lettre::transport::smtp::Error> {
        let from = (!from.is_empty()).then(|| from.parse().unwrap());
        let envelope = lettre::address::Envelope::new(from, vec![INTAKE.parse().unwrap()]).unwrap();
        self.transport().send_raw(&envelope, raw).await
    }

    async fn count(&self, sql: &str) -> i64 {
        self.server.count(sql).await
    }

    /// Waits until every stored message has been worked.
    async fn settle(&self) {
        for _ in 0..400 {
            if self
                .count("SELECT COUNT(*) FROM email_inbox WHERE state = 'pending'")
                .await
                == 0
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("e-mail inbox never drained; logs:\n{}", self.server.logs());
    }

    fn keys(&self) -> KeyRing {
        KeyRing::load(&self.server.keys_file()).unwrap()
    }

    /// Every case narrative, decrypted.
    async fn narratives(&self) -> Vec<String> {
        use sea_orm::EntityTrait;
        let db = self.server.db().await;
        let keys = self.keys();
        let rows = entity::case::Entity::find().all(&db).await.unwrap();
        db.close().await.ok();
        rows.iter()
            .map(|c| {
                let aad = Aad {
                    table: "cases",
                    column: "narrative_ct",
                    row: c.id,
                };
                keys.cipher.decrypt_string(aad, &c.narrative_ct).unwrap()
            })
            .collect()
    }

    async fn webhook(
        &self,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> (u16, serde_json::Value) {
        let mut req = self
            .http
            .post(self.server.url("/webhooks/email"))
            .header("content-type", content_type)
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or_default())
    }

    /// A raw SMTP conversation: each line sent, each reply (all its lines) returned;
    /// a line starting with [`NO_REPLY`] (message content) is sent without it and
    /// without waiting.
    async fn dialog(&self, lines: &[&str]) -> Vec<String> {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port()))
            .await
            .unwrap();
        let (read, mut write) = stream.into_split();
        let mut read = BufReader::new(read);
        let mut replies = vec![read_reply(&mut read).await];
        for line in lines {
            let content = line.strip_prefix(NO_REPLY);
            write
                .write_all(content.unwrap_or(line).as_bytes())
                .await
                .unwrap();
            write.write_all(b"\r\n").await.unwrap();
            if content.is_some() {
                continue;
            }
            replies.push(read_reply(&mut read).await);
        }
        replies
    }
}

fn secret_code(ack: &Received) -> String {
    let body = ack.body();
    let re = regex::Regex::new(r"(?:código secreto|secret code): ([A-Z0-9-]{20,})").unwrap();
    re.captures(&body)
        .map(|c| c[1].to_owned())
        .unwrap_or_else(|| panic!("no receipt in {body}"))
}

fn case_ref_of(ack: &Received) -> String {
    let re = regex::Regex::new(r"\[Buzón (BZ-[A-Z0-9]{8})\]").unwrap();
    re.captures(&ack.subject())
        .map(|c| c[1].to_owned())
        .unwrap_or_else(|| panic!("no case tag in {}", ack.subject()))
}

fn complaint_message(message_id: &str) -> lettre::Message {
    lettre::Message::builder()
        .from(format!("{ADVOCATE_NAME} <{ADVOCATE}>").parse().unwrap())
        .to(INTAKE.parse().unwrap())
        .subject(SUBJECT)
        .message_id(Some(format!("<{message_id}>")))
        .multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain(BODY.to_owned()))
                .singlepart(
                    Attachment::new("acta-despido.pdf".into())
                        .body(PDF.to_vec(), ContentType::parse("application/pdf").unwrap()),
                ),
        )
        .unwrap()
}

async fn mail_becomes_a_case_and_replies_thread(backend: Backend) {
    let mail = start(backend, &[]).await;
    mail.send(complaint_message("orig-1@sindicato-ejemplo.mx"))
        .await;
    let acks = mail.sink.wait_for(1).await;
    let ack = &acks[0];

    // The acknowledgement: to the sender, threaded, marked automatic, with the receipt.
    assert_eq!(ack.rcpt_to, vec![ADVOCATE.to_owned()]);
    assert_eq!(ack.mail_from, INTAKE);
    assert_eq!(
        ack.header("Auto-Submitted").as_deref(),
        Some("auto-replied")
    );
    assert_eq!(
        ack.header("In-Reply-To").as_deref(),
        Some("<orig-1@sindicato-ejemplo.mx>")
    );
    assert!(
        ack.header("References")
            .unwrap()
            .contains("<orig-1@sindicato-ejemplo.mx>")
    );
    assert!(
        ack.subject().contains("Recibimos su queja"),
        "{}",
        ack.subject()
    );
    let case_ref = case_ref_of(ack);
    assert!(
        ack.header("Reply-To")
            .unwrap()
            .contains(&format!("quejas+{}@buzon.test", case_ref.to_lowercase()))
    );
    let body = ack.body();
    assert!(
        body.contains(&format!("Número de queja: {case_ref}")),
        "{body}"
    );
    let receipt = secret_code(ack);

    // The receipt opens the case like any other.
    let (status, view) = post_json(
        &mail.http,
        &mail.server.url("/api/v1/status"),
        &serde_json::json!({ "receipt": receipt }),
    )
    .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["case_ref"], case_ref.as_str());

    // What was read from the text: the stated state, sector unknown, suggestions.
    assert_eq!(
        mail.count("SELECT COUNT(*) FROM cases WHERE channel = 'email' AND routing IS NULL")
            .await,
        1
    );
    assert_eq!(
        mail.count("SELECT COUNT(*) FROM workplaces WHERE state = 'MX-COA' AND sector = 'unknown'")
            .await,
        1
    );
    assert_eq!(
        mail.count(
            "SELECT COUNT(*) FROM case_suggested_violations WHERE violation = 'unjust_dismissal'"
        )
        .await,
        1
    );
    assert_eq!(mail.count("SELECT COUNT(*) FROM case_violations").await, 0);

    // The attachment: encrypted, SHA-256 recorded encrypted, its name encrypted too.
    let db = mail.server.db().await;
    let row = one_row(
        &db,
        "SELECT id, content_ct, sha256_ct, filename_ct, mime_type, state FROM attachments",
    )
    .await;
    let id: uuid::Uuid = row.try_get("", "id").unwrap();
    let keys = mail.keys();
    let ct: Vec<u8> = row.try_get("", "content_ct").unwrap();
    let aad = |column| Aad {
        table: "attachments",
        column,
        row: id,
    };
    assert_eq!(keys.cipher.decrypt(aad("content_ct"), &ct).unwrap(), PDF);
    let name_ct: Vec<u8> = row.try_get("", "filename_ct").unwrap();
    assert_eq!(
        keys.cipher
            .decrypt_string(aad("filename_ct"), &name_ct)
            .unwrap(),
        "acta-despido.pdf"
    );
    let sha: Vec<u8> = row.try_get("", "sha256_ct").unwrap();
    assert_eq!(
        keys.cipher.decrypt_string(aad("sha256_ct"), &sha).unwrap(),
        buzon::crypto::sha256_hex(PDF)
    );
    assert_eq!(row.try_get::<String>("", "state").unwrap(), "stored");
    db.close().await.ok();

    // A reply to the acknowledgement threads onto the case, quoted text cut.
    let ack_id = ack.header("Message-ID").unwrap();
    let reply = lettre::Message::builder()
        .from(ADVOCATE.parse().unwrap())
        .to(INTAKE.parse().unwrap())
        .subject(format!("Re: {}", ack.subject()))
        .message_id(Some("<reply-1@sindicato-ejemplo.mx>".into()))
        .in_reply_to(ack_id.clone())
        .references(format!("<orig-1@sindicato-ejemplo.mx> {ack_id}"))
        .body(String::from(
            "Tampoco nos pagaron el aguinaldo.\n\nEl lun, 1 dic 2026, Buzón escribió:\n> Recibimos su queja",
        ))
        .unwrap();
    mail.send(reply).await;
    let acks = mail.sink.wait_for(2).await;
    assert!(
        acks[1].subject().contains(&case_ref),
        "{}",
        acks[1].subject()
    );
    assert!(acks[1].subject().contains("Agregamos"));
    assert!(
        !acks[1].body().contains(&receipt),
        "the receipt is sent once"
    );
    assert_eq!(mail.count("SELECT COUNT(*) FROM cases").await, 1);
    let db = mail.server.db().await;
    let row = one_row(&db, "SELECT id, body_ct FROM case_messages").await;
    let id: uuid::Uuid = row.try_get("", "id").unwrap();
    let body_ct: Vec<u8> = row.try_get("", "body_ct").unwrap();
    let aad = Aad {
        table: "case_messages",
        column: "body_ct",
        row: id,
    };
    assert_eq!(
        keys.cipher.decrypt_string(aad, &body_ct).unwrap(),
        "Tampoco nos pagaron el aguinaldo."
    );
    db.close().await.ok();

    // The subject tag threads too, from the case's own contact only.
    let tagged = |from: &str, id: &str| {
        lettre::Message::builder()
            .from(from.parse().unwrap())
            .to(INTAKE.parse().unwrap())
            .subject(format!("Otra cosa [Buzón {case_ref}]"))
            .message_id(Some(format!("<{id}>")))
            .body(String::from("Nos amenazaron con cerrar la planta."))
            .unwrap()
    };
    mail.send(tagged(ADVOCATE, "tag-1@sindicato-ejemplo.mx"))
        .await;
    mail.send(tagged("otra.persona@ejemplo.mx", "tag-2@ejemplo.mx"))
        .await;
    mail.settle().await;
    assert_eq!(mail.count("SELECT COUNT(*) FROM case_messages").await, 2);
    assert_eq!(
        mail.count("SELECT COUNT(*) FROM cases").await,
        2,
        "a stranger's tag opens a new case"
    );

    // Naming the complainant's own Message-ID is not enough for a stranger; a
    // colleague answering our acknowledgement (in copy) threads.
    let answer = |from: &str, id: &str, refs: &str| {
        lettre::Message::builder()
            .from(from.parse().unwrap())
            .to(INTAKE.parse().unwrap())
            .subject("Re: despidos")
            .message_id(Some(format!("<{id}>")))
            .in_reply_to(refs.to_owned())
            .references(refs.to_owned())
            .body(String::from("Yo también vi los despidos."))
            .unwrap()
    };
    mail.send(answer(
        "extrano@ejemplo.mx",
        "x-1@ejemplo.mx",
        "<orig-1@sindicato-ejemplo.mx>",
    ))
    .await;
    mail.settle().await;
    assert_eq!(
        mail.count("SELECT COUNT(*) FROM cases").await,
        3,
        "a stranger citing the complaint's id"
    );
    mail.send(answer(
        "colega@sindicato-ejemplo.mx",
        "x-2@ejemplo.mx",
        &ack_id,
    ))
    .await;
    mail.settle().await;
    assert_eq!(mail.count("SELECT COUNT(*) FROM cases").await, 3);
    assert_eq!(
        mail.count("SELECT COUNT(*) FROM case_messages").await,
        3,
        "a reply to our message threads"
    );

    // Mail to the case's plus-address (the acknowledgement's Reply-To) threads too.
    let plus = lettre::Message::builder()
        .from(ADVOCATE.parse().unwrap())
        .to(format!("quejas+{}@buzon.test", case_ref.to_lowercase())
            .parse()
            .unwrap())
        .subject("Más datos")
        .message_id(Some("<plus-1@sindicato-ejemplo.mx>".into()))
        .body(String::from("Eran 15 en total."))
        .unwrap();
    mail.send(plus).await;
    mail.settle().await;
    assert_eq!(mail.count("SELECT COUNT(*) FROM cases").await, 3);
    assert_eq!(mail.count("SELECT COUNT(*) FROM case_messages").await, 4);

    // The same message delivered again (by SMTP or the webhook) makes nothing new.
    let stored = mail.count("SELECT COUNT(*) FROM email_inbox").await;
    mail.send(complaint_message("orig-1@sindicato-ejemplo.mx"))
        .await;
    let raw = complaint_message("orig-1@sindicato-ejemplo.mx").formatted();
    let (status, json) = mail.webhook(Some(&mail.token), "message/rfc822", raw).await;
    assert_eq!((status, json["status"].as_str()), (200, Some("duplicate")));
    mail.settle().await;
    assert_eq!(mail.count("SELECT COUNT(*) FROM email_inbox").await, stored);
    assert_eq!(mail.count("SELECT COUNT(*) FROM cases").await, 3);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        mail.sink.received().len(),
        7,
        "no acknowledgement for a duplicate"
    );

    // Nothing the sender wrote is stored or logged in plaintext.
    let mut mail = mail;
    let places = mail.server.everything_written();
    assert_none_in(
        &places,
        &[
            ADVOCATE,
            ADVOCATE_NAME,
            "otra.persona@ejemplo.mx",
            "extrano@ejemplo.mx",
            "colega@sindicato-ejemplo.mx",
            SUBJECT,
            "Me despidieron sin liquidaci",
            "aguinaldo",
            "amenazaron",
            "acta-despido",
            "ACTA-DE-DESPIDO-PLAINTEXT-MARKER",
            "orig-1@sindicato-ejemplo.mx",
            &receipt,
        ],
    );
}

on_both_backends!(mail_becomes_a_case_and_replies_thread);

#[tokio::test]
async fn the_listener_refuses_what_it_must() {
    let mail = start(Backend::Sqlite, &[("BUZON_EMAIL_MAX_BYTES", "4096")]).await;
    let line = format!("{NO_REPLY}{}", "x".repeat(100));
    let mut lines = vec![
        "EHLO client.test",
        "MAIL FROM:<a@ejemplo.mx> SIZE=999999",
        "MAIL FROM:<a@ejemplo.mx>",
        "RCPT TO:<alguien@otro-dominio.test>",
        "RCPT TO:<QUEJAS+bz-x@BUZON.TEST>",
        "DATA",
    ];
    lines.extend(std::iter::repeat_n(line.as_str(), 60));
    let long = format!("NOOP {}", "y".repeat(6000));
    lines.extend([
        ".",
        "RSET",
        "FOO",
        &long,
        "MAIL FROM:<b@ejemplo.mx>",
        "RCPT TO:<quejas@buzon.test>",
        "DATA",
        ".",
        "QUIT",
    ]);
    let replies = mail.dialog(&lines).await;
    assert!(replies[0].starts_with("220 buzon.test"), "{}", replies[0]);
    let ehlo = &replies[1];
    assert!(ehlo.contains("SIZE 4096"), "{ehlo}");
    assert!(
        ehlo.contains("8BITMIME") && ehlo.contains("PIPELINING"),
        "{ehlo}"
    );
    assert!(
        !ehlo.contains("STARTTLS"),
        "no certificate, no STARTTLS: {ehlo}"
    );
    assert!(replies[2].starts_with("552 5.3.4"), "{}", replies[2]);
    assert!(replies[3].starts_with("250"), "{}", replies[3]);
    assert!(
        replies[4].starts_with("550 5.1.1"),
        "no relaying: {}",
        replies[4]
    );
    assert!(
        replies[5].starts_with("250"),
        "+tag of an intake address: {}",
        replies[5]
    );
    assert!(replies[6].starts_with("354"), "{}", replies[6]);
    assert!(
        replies[7].starts_with("552 5.3.4"),
        "oversized at DATA: {}",
        replies[7]
    );
    assert!(
        replies[8].starts_with("250"),
        "RSET after a refusal: {}",
        replies[8]
    );
    assert!(replies[9].starts_with("500"), "{}", replies[9]);
    // A line over the limit is refused once; its tail is not read as a command.
    assert!(replies[10].starts_with("500 5.5.6"), "{}", replies[10]);
    assert!(replies[11].starts_with("250"), "{}", replies[11]);
    assert!(replies[12].starts_with("250"), "{}", replies[12]);
    assert!(replies[13].starts_with("354"), "{}", replies[13]);
    assert!(
        replies[14].starts_with("250"),
        "an empty message is taken: {}",
        replies[14]
    );
    assert!(replies[15].starts_with("221"), "{}", replies[15]);
    assert_eq!(replies.len(), 16);

    // The same through lettre: the codes a sending server acts on.
    let err = mail
        .transport()
        .send(
            lettre::Message::builder()
                .from(ADVOCATE.parse().unwrap())
                .to("nadie@otro-dominio.test".parse().unwrap())
                .subject("x")
                .body(String::from("x"))
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert!(err.is_permanent());
    assert_eq!(err.status().map(u16::from), Some(550));
    let err = mail
        .transport()
        .send(
            lettre::Message::builder()
                .from(ADVOCATE.parse().unwrap())
                .to(INTAKE.parse().unwrap())
                .subject("x")
                .body("y".repeat(8000))
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status().map(u16::from), Some(552), "{err}");
    // Only the empty message was stored, and it is held for a person.
    mail.settle().await;
    assert_eq!(mail.count("SELECT COUNT(*) FROM email_inbox").await, 1);
    assert_eq!(
        mail.count("SELECT COUNT(*) FROM email_inbox WHERE state = 'held'")
            .await,
        1
    );
}

#[tokio::test]
async fn starttls_when_a_certificate_is_configured() {
    buzon::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_pem = cert.cert.pem();
    std::fs::write(dir.path().join("cert.pem"), &cert_pem).unwrap();
    std::fs::write(dir.path().join("key.pem"), cert.signing_key.serialize_pem()).unwrap();
    let cert_path = dir.path().join("cert.pem").display().to_string();
    let key_path = dir.path().join("key.pem").display().to_string();
    let mail = start(
        Backend::Sqlite,
        &[
            ("BUZON_SMTP_TLS_CERT", &cert_path),
            ("BUZON_SMTP_TLS_KEY", &key_path),
        ],
    )
    .await;
    let replies = mail.dialog(&["EHLO client.test", "QUIT"]).await;
    assert!(replies[1].contains("STARTTLS"), "{}", replies[1]);

    // A command pipelined behind STARTTLS, in the clear, is dropped unread.
    let mut raw = tokio::net::TcpStream::connect(("127.0.0.1", mail.port()))
        .await
        .unwrap();
    raw.write_all(b"EHLO c.test\r\nSTARTTLS\r\nMAIL FROM:<inyectado@ejemplo.mx>\r\n")
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(Ok(n)) = tokio::time::timeout(
        Duration::from_millis(500),
        tokio::io::AsyncReadExt::read(&mut raw, &mut buf),
    )
    .await
    {
        if n == 0 {
            break;
        }
        seen.extend_from_slice(&buf[..n]);
    }
    let seen = String::from_utf8_lossy(&seen);
    assert!(seen.contains("220 2.0.0"), "{seen}");
    assert!(
        !seen.contains("250 2.1.0") && !seen.contains("503"),
        "injected command answered: {seen}"
    );

    let tls = TlsParameters::builder("localhost".into())
        .add_root_certificate(Certificate::from_pem(cert_pem.as_bytes()).unwrap())
        .build_rustls()
        .unwrap();
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(mail.port())
        .tls(Tls::Required(tls))
        .timeout(Some(Duration::from_secs(20)))
        .build();
    transport
        .send(complaint_message("tls-1@sindicato-ejemplo.mx"))
        .await
        .expect("sent over STARTTLS");
    mail.settle().await;
    assert_eq!(mail.count("SELECT COUNT(*) FROM cases").await, 1);
}

#[tokio::test]
async fn the_webhook_takes_raw_messages_from_a_provider() {
    let mail = start(Backend::Sqlite, &[("BUZON_EMAIL_MAX_BYTES", "8192")]).await;
    let raw = complaint_message("hook-1@sindicato-ejemplo.mx").formatted();
    let token = mail.token.clone();
    let (status, json) = mail.webhook(None, "message/rfc822", raw.clone()).await;
    assert_eq!(
        (status, json["error"]["code"].as_str()),
        (401, Some("invalid_token"))
    );
    let (status, _) = mail
        .webhook(Some("not-the-token-at-all"), "message/rfc822", raw.clone())
        .await;
    assert_eq!(status, 401);
    let (status, json) = mail.webhook(Some(&token), "text/plain", raw.clone()).await;
    assert_eq!(
        (status, json["error"]["code"].as_str()),
        (415, Some("unsupported_media_type"))
    );
    let (status, json) = mail
        .webhook(Some(&token), "message/rfc822", Vec::new())
        .await;
    assert_eq!(
        (status, json["error"]["code"].as_str()),
        (400, Some("empty_message"))
    );
    let (status, json) = mail
        .webhook(Some(&token), "message/rfc822", vec![b'a'; 20_000])
        .await;
    assert_eq!(
        (status, json["error"]["code"].as_str()),
        (413, Some("payload_too_large"))
    );
    assert_eq!(mail.count("SELECT COUNT(*) FROM email_inbox").await, 0);

    let (status, json) = mail
        .webhook(Some(&token), "message/rfc822", raw.clone())
        .await;
    assert_eq!((status, json["status"].as_str()), (200, Some("received")));
    let acks = mail.sink.wait_for(1).await;
    assert_eq!(acks[0].rcpt_to, vec![ADVOCATE.to_owned()]);
    assert_eq!(
        mail.count("SELECT COUNT(*) FROM cases WHERE channel = 'email'")
            .await,
        1
    );
}
