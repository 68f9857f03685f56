//! Real-world MIME shapes through the SMTP listener: none crashes it, each ends as
//! a case, a follow-up, a held message or a refusal.

use super::*;

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
