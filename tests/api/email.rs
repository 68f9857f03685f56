//! The e-mail channel end to end: lettre (a real SMTP client) sends to the server's
//! SMTP listener or a provider posts to `/webhooks/email`; acknowledgements arrive at
//! an SMTP server started by the test (`smtp_sink.rs`). Messages are built with
//! lettre's MIME builder, or written byte by byte where lettre would refuse to make
//! them (other charsets, broken MIME, 8-bit headers).

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

    // The attachment: encrypted, SHA-256 recorded, its name encrypted too.
    let db = mail.server.db().await;
    let row = one_row(
        &db,
        "SELECT id, content_ct, content_sha256, filename_ct, mime_type, state FROM attachments",
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
    let sha: String = row.try_get("", "content_sha256").unwrap();
    assert_eq!(sha, buzon::crypto::sha256_hex(PDF));
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

/// A message of the corpus: how it is sent and what it must become.
struct Sample {
    name: &'static str,
    from: String,
    raw: Vec<u8>,
}

fn sample(name: &'static str, from: &str, raw: impl Into<Vec<u8>>) -> Sample {
    Sample {
        name,
        from: from.to_owned(),
        raw: raw.into(),
    }
}

fn built(
    name: &'static str,
    i: usize,
    subject: &str,
    f: impl FnOnce(lettre::message::MessageBuilder) -> lettre::Message,
) -> Sample {
    let from = format!("trabajadora{i}@ejemplo.mx");
    let builder = lettre::Message::builder()
        .from(from.parse::<Mailbox>().unwrap())
        .to(INTAKE.parse().unwrap())
        .subject(subject)
        .message_id(Some(format!("<corpus-{i}@ejemplo.mx>")));
    sample(name, &from, f(builder).formatted())
}

fn raw(i: usize, headers: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "From: persona{i}@ejemplo.mx\r\nTo: {INTAKE}\r\nMessage-ID: <raw-{i}@ejemplo.mx>\r\n"
    )
    .into_bytes();
    out.extend_from_slice(headers);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

fn corpus() -> Vec<Sample> {
    let pdf = || ContentType::parse("application/pdf").unwrap();
    let inner = lettre::Message::builder()
        .from("jefe.turno@fabrica.example".parse().unwrap())
        .to("rh@fabrica.example".parse().unwrap())
        .subject("Lista de despidos")
        .body(String::from("Despedir a los que fueron a la asamblea."))
        .unwrap()
        .formatted();
    let twice = lettre::Message::builder()
        .from("compa@ejemplo.mx".parse().unwrap())
        .to("yo@ejemplo.mx".parse().unwrap())
        .subject("Fwd: Lista de despidos")
        .singlepart(
            SinglePart::builder()
                .header(ContentType::parse("message/rfc822").unwrap())
                .body(inner.clone()),
        )
        .unwrap()
        .formatted();
    let mut c = vec![
        built("plain utf-8", 1, "Queja", |b| {
            b.body(String::from(
                "Nos obligan a trabajar 12 horas sin descanso.",
            ))
            .unwrap()
        }),
        built("quoted-printable", 2, "Acoso", |b| {
            b.singlepart(
                SinglePart::builder().header(ContentType::TEXT_PLAIN).body(
                    Body::new_with_encoding(
                        "Hay acoso del supervisor en la línea 3 — señoras y señores.".to_owned(),
                        lettre::message::header::ContentTransferEncoding::QuotedPrintable,
                    )
                    .unwrap(),
                ),
            )
            .unwrap()
        }),
        built("base64", 3, "IMSS", |b| {
            b.singlepart(
                SinglePart::builder().header(ContentType::TEXT_PLAIN).body(
                    Body::new_with_encoding(
                        "No nos dieron de alta en el IMSS.".to_owned(),
                        lettre::message::header::ContentTransferEncoding::Base64,
                    )
                    .unwrap(),
                ),
            )
            .unwrap()
        }),
        built("html only", 4, "Despido", |b| {
            b.singlepart(SinglePart::html(String::from(
                "<html><body><p>Me <b>despidieron</b> embarazada</p><br>sin pagar</body></html>",
            )))
            .unwrap()
        }),
        built("alternative", 5, "Horas extra", |b| {
            b.multipart(MultiPart::alternative_plain_html(
                String::from("No pagan horas extra."),
                String::from("<p>No pagan <i>horas extra</i>.</p>"),
            ))
            .unwrap()
        }),
        built("pdf attachment", 6, "Recibo", |b| {
            b.multipart(
                MultiPart::mixed()
                    .singlepart(SinglePart::plain(String::from("Adjunto recibo.")))
                    .singlepart(
                        Attachment::new("recibo.pdf".into())
                            .body(b"%PDF-1.4 recibo".to_vec(), pdf()),
                    ),
            )
            .unwrap()
        }),
        built("jpeg attachment", 7, "Foto", |b| {
            b.multipart(
                MultiPart::mixed()
                    .singlepart(SinglePart::plain(String::from("Foto del accidente.")))
                    .singlepart(Attachment::new("foto.jpg".into()).body(
                        b"\xff\xd8\xff\xe0JFIF".to_vec(),
                        ContentType::parse("image/jpeg").unwrap(),
                    )),
            )
            .unwrap()
        }),
        built("refused attachment", 8, "Programa", |b| {
            b.multipart(
                MultiPart::mixed()
                    .singlepart(SinglePart::plain(String::from("Va un programa.")))
                    .singlepart(Attachment::new("virus.exe".into()).body(
                        b"MZ\x90\x00".to_vec(),
                        ContentType::parse("application/x-msdownload").unwrap(),
                    )),
            )
            .unwrap()
        }),
        built("nested alternative in mixed", 9, "Anidado", |b| {
            b.multipart(
                MultiPart::mixed()
                    .multipart(MultiPart::alternative_plain_html(
                        String::from("Texto anidado."),
                        String::from("<p>Texto anidado.</p>"),
                    ))
                    .singlepart(
                        Attachment::new("acta.pdf".into()).body(b"%PDF acta".to_vec(), pdf()),
                    ),
            )
            .unwrap()
        }),
        built("forwarded rfc822", 10, "Fwd: Lista de despidos", |b| {
            b.multipart(
                MultiPart::mixed()
                    .singlepart(SinglePart::plain(String::from(
                        "Miren lo que mandó el jefe.",
                    )))
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::parse("message/rfc822").unwrap())
                            .body(inner.clone()),
                    ),
            )
            .unwrap()
        }),
        built("forwarded twice", 11, "Fwd: Fwd: Lista", |b| {
            b.multipart(
                MultiPart::mixed()
                    .singlepart(SinglePart::plain(String::from("Reenvío.")))
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::parse("message/rfc822").unwrap())
                            .body(twice),
                    ),
            )
            .unwrap()
        }),
        built("inline forward", 12, "Fwd: aviso", |b| {
            b.body(String::from("---------- Forwarded message ---------\nFrom: RH <rh@fabrica.example>\nSubject: aviso\n\nMañana no hay pago.")).unwrap()
        }),
        built("english", 13, "Complaint", |b| {
            b.body(String::from(
                "We were fired because we joined the union and they did not pay overtime.",
            ))
            .unwrap()
        }),
        built("content-language en", 14, "Hi", |b| {
            b.raw_header(lettre::message::header::HeaderValue::new(
                lettre::message::header::HeaderName::new_from_ascii_str("Content-Language"),
                "en".into(),
            ))
            .body(String::from("Unsafe work."))
            .unwrap()
        }),
    ];
    let raws: Vec<(&'static str, Vec<u8>)> = vec![
        ("iso-8859-1 qp", raw(20, b"Subject: =?ISO-8859-1?Q?Queja_por_acci=F3n?=\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n", b"Represalia por la acci=F3n sindical.\r\n")),
        ("iso-8859-1 8bit", raw(21, b"Subject: latin1\r\nContent-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n", b"Ca\xf1ada de los ni\xf1os, sin capacitaci\xf3n.\r\n")),
        ("windows-1252", raw(22, b"Subject: cp1252\r\nContent-Type: text/plain; charset=windows-1252\r\nContent-Transfer-Encoding: 8bit\r\n", b"Nos descuentan 500 \x80 \x93por uniforme\x94 en la planta \xd1and\xfa.\r\n")),
        ("broken multipart, no closing boundary", raw(23, b"Subject: roto\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XYZ\"\r\n", b"--XYZ\r\nContent-Type: text/plain\r\n\r\nMensaje con MIME roto.\r\n--XYZ\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK")),
        ("boundary never used", raw(24, b"Subject: sin partes\r\nContent-Type: multipart/mixed; boundary=\"NADA\"\r\n", b"Texto sin partes.\r\n")),
        ("no message-id", b"From: sinid@ejemplo.mx\r\nTo: quejas@buzon.test\r\nSubject: sin id\r\n\r\nNo hay Message-ID.\r\n".to_vec()),
        ("no subject, no date", raw(26, b"", b"Solo cuerpo, sin asunto.\r\n")),
        ("8-bit utf-8 header", raw(27, b"Subject: Queja de Pe\xc3\xb1a sin codificar\r\n", b"Cuerpo.\r\n")),
        ("8-bit latin-1 header", raw(28, b"Subject: Queja de Pe\xf1a en latin1\r\n", b"Cuerpo.\r\n")),
        ("rfc2047 base64 subject", raw(29, b"Subject: =?UTF-8?B?UXVlamEgZGUgc2VndXJpZGFk?=\r\n", b"Sin equipo de protecci\xc3\xb3n.\r\n")),
        ("very long line", raw(30, b"Subject: largo\r\n", "palabra ".repeat(700).as_bytes())),
        ("subject only", raw(31, b"Subject: Solo el asunto: no pagan utilidades\r\n", b"")),
        ("rfc2231 filename", raw(32, b"Subject: adjunto\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n", b"--B\r\nContent-Type: text/plain\r\n\r\nVer adjunto.\r\n--B\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename*=UTF-8''acta%20de%20despido%20%C3%B1.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--B--\r\n")),
        ("invalid base64", raw(33, b"Subject: b64 malo\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n", b"!!!no es base64***\r\n")),
        ("unknown charset", raw(34, b"Subject: charset raro\r\nContent-Type: text/plain; charset=x-desconocido\r\n", b"Texto con charset desconocido.\r\n")),
        ("format=flowed", raw(35, b"Subject: flowed\r\nContent-Type: text/plain; charset=utf-8; format=flowed\r\n", b"Linea que sigue \r\nen la siguiente.\r\n")),
        ("no from header (envelope sender)", b"To: quejas@buzon.test\r\nSubject: sin From\r\nMessage-ID: <nofrom@ejemplo.mx>\r\n\r\nNo puse remitente.\r\n".to_vec()),
        ("empty message", raw(37, b"Subject:\r\n", b"")),
        ("binary garbage", b"\x00\x01\x02\xff\xfe GARBAGE \x00\r\n\r\n\x00".to_vec()),
        ("not a message", b"hola que tal\r\n".to_vec()),
    ];
    for (i, (name, bytes)) in raws.into_iter().enumerate() {
        let from = if name.starts_with("no from") {
            "envelope.sender@ejemplo.mx".to_owned()
        } else {
            format!("persona{}@ejemplo.mx", i + 20)
        };
        c.push(sample(name, &from, bytes));
    }
    c
}

#[tokio::test]
async fn a_corpus_of_real_world_mime_never_crashes_the_listener() {
    // Every message from one address: the per-IP limit would rightly slow this down.
    let mut mail = start(Backend::Sqlite, &[("BUZON_SMTP_IP_BURST", "1000")]).await;
    let corpus = corpus();
    assert!(corpus.len() >= 30);
    for s in &corpus {
        let res = mail.send_raw(&s.from, &s.raw).await;
        assert!(res.is_ok(), "{}: {res:?}", s.name);
    }
    mail.settle().await;
    assert!(mail.server.is_running(), "the server survived the corpus");
    let total = mail.count("SELECT COUNT(*) FROM email_inbox").await;
    assert_eq!(total, corpus.len() as i64, "every message stored once");
    let worked = mail
        .count("SELECT COUNT(*) FROM email_inbox WHERE (state = 'done' AND case_id IS NOT NULL) OR state = 'held'")
        .await;
    assert_eq!(worked, total, "every message is a case or held for a human");
    // Only the three that are not e-mail at all (garbage, not a message, empty).
    let db = mail.server.db().await;
    let outcomes: Vec<String> = {
        use sea_orm::{ConnectionTrait, Statement};
        db.query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT outcome FROM email_inbox WHERE state = 'held' ORDER BY outcome",
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect()
    };
    db.close().await.ok();
    assert_eq!(
        outcomes,
        ["empty", "unparseable", "unparseable"],
        "only the unreadable and empty ones are held; warnings:\n{}",
        mail.server
            .logs()
            .lines()
            .filter(|l| l.contains("WARN") || l.contains("ERROR"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(
        mail.count("SELECT COUNT(*) FROM email_inbox WHERE state = 'held' AND length(raw_ct) > 0")
            .await,
        3,
        "held messages keep their bytes (encrypted)"
    );

    let narratives = mail.narratives().await;
    let any = |needle: &str| narratives.iter().any(|n| n.contains(needle));
    for needle in [
        "acción sindical",      // ISO-8859-1 quoted-printable
        "Cañada de los niños",  // ISO-8859-1 8-bit
        "500 € “por uniforme”", // Windows-1252
        "Ñandú",
        "Me despidieron embarazada",               // HTML reduced to text
        "Despedir a los que fueron a la asamblea", // forwarded message/rfc822
        "Queja de seguridad",                      // RFC 2047 subject
        "Queja de Peña sin codificar",             // 8-bit UTF-8 header
        "No puse remitente",                       // From missing: envelope sender is the contact
        "Mensaje con MIME roto",
    ] {
        assert!(any(needle), "{needle:?} not in any narrative");
    }
    assert!(
        narratives.iter().all(|n| !n.contains("<b>")),
        "no HTML tags"
    );
    assert_eq!(
        mail.count("SELECT COUNT(*) FROM cases WHERE language = 'en'")
            .await,
        2,
        "English detected from the text and from Content-Language"
    );
    assert_eq!(
        mail.count("SELECT COUNT(*) FROM attachments WHERE state = 'rejected' AND mime_type = 'application/x-msdownload' AND content_ct IS NULL").await,
        1
    );
    assert!(mail.count("SELECT COUNT(*) FROM attachments WHERE state = 'stored' AND mime_type = 'message/rfc822'").await >= 1);
    // What was refused is not lost: the original goes with the case.
    assert_eq!(
        mail.count(
            "SELECT COUNT(*) FROM attachments WHERE mime_type = 'message/rfc822' AND state = 'stored' \
             AND case_id IN (SELECT case_id FROM attachments WHERE state = 'rejected')"
        )
                .await,
                mail.count(
            "SELECT COUNT(DISTINCT case_id) FROM attachments WHERE state = 'rejected' \
             AND case_id IS NOT NULL"
        )
        .await,
        "original.eml kept with each case whose attachment was refused"
    );
    assert!(
        mail.count(
            "SELECT COUNT(*) FROM attachments WHERE state = 'rejected' AND case_id IS NOT NULL"
        )
        .await
            >= 1
    );
    let ready = get_json(&mail.http, &mail.server.url("/readyz")).await;
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["email"]["inbox_pending"], 0);
    assert_eq!(ready["email"]["held"], 3);
}

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
    assert_eq!(
        mail.count("SELECT COUNT(*) FROM outbox WHERE state = 'sent' AND attempts = 3")
            .await,
        1,
        "sent on the third attempt, after two temporary refusals"
    );
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

/// A question from triage goes back by e-mail to the sender, in their language, with
/// the case in the subject and the plus address to answer to; the answer threads
/// onto the case and puts it back in review.
#[tokio::test]
async fn triage_questions_go_back_by_mail_and_answers_thread() {
    let mail = start(Backend::Sqlite, &[]).await;
    mail.send(complaint_message("orig-q@sindicato-ejemplo.mx"))
        .await;
    let acks = mail.sink.wait_for(1).await;
    let case_ref = case_ref_of(&acks[0]);
    let admin = crate::triage::add_staff(&mail.server, "admin@buzon.test", "admin", &[]).await;
    let (st, sent) = crate::triage::call(
        &mail.http,
        "POST",
        &mail
            .server
            .url(&format!("/api/v1/cases/{case_ref}/questions")),
        Some(&admin),
        Some(&serde_json::json!({"body": "¿En qué turno trabajaban los 14 compañeros?"})),
    )
    .await;
    assert_eq!(
        (st, &sent["delivered_via"]),
        (201, &serde_json::json!(["status_page", "email"]))
    );
    let got = mail.sink.wait_for(2).await;
    let question = &got[1];
    assert_eq!(question.rcpt_to, vec![ADVOCATE.to_owned()]);
    assert!(
        question.subject().contains(&format!("[Buzón {case_ref}]")),
        "{}",
        question.subject()
    );
    assert!(question.subject().contains("Pregunta sobre su queja"));
    assert!(
        question
            .body()
            .contains("¿En qué turno trabajaban los 14 compañeros?"),
        "{}",
        question.body()
    );
    assert!(
        question
            .header("Reply-To")
            .unwrap()
            .contains(&format!("quejas+{}@buzon.test", case_ref.to_lowercase()))
    );
    // The answer, by reply, lands on the case and the case is back in review.
    let answer = lettre::Message::builder()
        .from(format!("{ADVOCATE_NAME} <{ADVOCATE}>").parse().unwrap())
        .to(format!("quejas+{}@buzon.test", case_ref.to_lowercase())
            .parse()
            .unwrap())
        .subject(format!("Re: {}", question.subject()))
        .body("En el turno de noche.".to_owned())
        .unwrap();
    let envelope = lettre::address::Envelope::new(
        Some(ADVOCATE.parse().unwrap()),
        vec![
            format!("quejas+{}@buzon.test", case_ref.to_lowercase())
                .parse()
                .unwrap(),
        ],
    )
    .unwrap();
    mail.transport()
        .send_raw(&envelope, &answer.formatted())
        .await
        .unwrap();
    mail.settle().await;
    let (_, case) = crate::triage::call(
        &mail.http,
        "GET",
        &mail.server.url(&format!("/api/v1/cases/{case_ref}")),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(case["status"], "in_review", "{case}");
    let bodies: Vec<&str> = case["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert!(
        bodies.iter().any(|b| b.contains("turno de noche")),
        "{bodies:?}"
    );
    assert!(
        bodies.iter().any(|b| b.contains("¿En qué turno")),
        "{bodies:?}"
    );

    // Free text is not routed until triage confirms the facts; then it is, like any
    // case, and reaches the queues of the authorities it goes to.
    assert!(case["routing"].is_null() && case["referrals"] == serde_json::json!([]));
    let facts_url = mail.server.url(&format!("/api/v1/cases/{case_ref}/facts"));
    for (body, field) in [
        (
            serde_json::json!({"sector": "auto_parts", "violations": ["unjust_dismissal"]}),
            "state",
        ),
        (
            serde_json::json!({"state": "MX-COA", "violations": []}),
            "violations",
        ),
        (
            serde_json::json!({"state": "MX-COA", "violations": ["fired"]}),
            "violations",
        ),
        (
            serde_json::json!({"state": "MX-COA", "workers": 0, "violations": ["unjust_dismissal"]}),
            "workers",
        ),
    ] {
        let (st, err) =
            crate::triage::call(&mail.http, "POST", &facts_url, Some(&admin), Some(&body)).await;
        assert_eq!(
            (st, err["error"]["field"].as_str()),
            (422, Some(field)),
            "{body}: {err}"
        );
    }
    // In the console: the form starts from the suggested violations.
    let browser = client();
    crate::triage_login::first_sign_in(&mail.server, &browser, "admin@buzon.test").await;
    let page = get_text(
        &browser,
        &mail.server.url(&format!("/triage/cases/{case_ref}")),
    )
    .await;
    assert!(
        page.contains(r#"value="unjust_dismissal" checked"#),
        "suggested violations preselected"
    );
    let res = browser
        .post(mail.server.url(&format!("/triage/cases/{case_ref}/facts")))
        .form(&[
            ("csrf", csrf_token(&page).as_str()),
            ("state", "MX-COA"),
            ("sector", "auto_parts"),
            ("trade_with_us", "yes"),
            ("workers", "15"),
            ("violations", "unjust_dismissal"),
            ("violations", "union_retaliation"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let (_, case) = crate::triage::call(
        &mail.http,
        "GET",
        &mail.server.url(&format!("/api/v1/cases/{case_ref}")),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(case["state"], "MX-COA");
    assert_eq!(
        case["routing"]["jurisdiction"]["status"], "federal",
        "{case}"
    );
    assert!(
        case["priority"].as_i64().unwrap() >= 100,
        "retaliation now counts: {case}"
    );
    let referred = |authority: &str, function: &str| {
        case["referrals"].as_array().unwrap().iter().any(|r| {
            r["authority"] == authority && r["function"] == function && r["source"] == "rules"
        })
    };
    assert!(
        referred("cfcrl", "registration") && referred("us_ilc_rrm", "petition"),
        "{case}"
    );
    let inspector = crate::triage::add_staff(
        &mail.server,
        "cfcrl@buzon.test",
        "inspector",
        &["--authority", "cfcrl"],
    )
    .await;
    let (_, queue) = crate::triage::call(
        &mail.http,
        "GET",
        &mail.server.url("/api/v1/cases"),
        Some(&inspector),
        None,
    )
    .await;
    assert_eq!(queue["items"][0]["case_ref"], case_ref.as_str(), "{queue}");
    assert_eq!(
        mail.count("SELECT COUNT(*) FROM audit_log WHERE action = 'facts'")
            .await,
        1
    );
}
