//! Evidence as phones and old mail programs send it: mislabelled types, a content
//! type without its `;`, a uuencoded Word file, a spreadsheet; a carrier's picture
//! message (MMS-to-mail) is a complaint with evidence; a deferral line holds the
//! case until the day the worker chose.

use super::*;
use base64::Engine;

const JPEG: &[u8] =
    b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00FOTO-DEL-CONTRATO";
const SND: &[u8] = b".snd\x00\x00\x00\x18\x00\x00\x10\x00\x00\x00\x00\x01\x00\x00\x1f\x40\x00\x00\x00\x01NOTA-DE-VOZ";
const XLSX: &[u8] = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x0f\x00\x00\x00xl/workbook.xmlNOMINA";
const DOC: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00CARTA-DE-RENUNCIA-FORZADA-0123456789-abcdefghijklmnopqrstuvwxyz";
const EXE: &[u8] = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00PROGRAMA";

fn b64(bytes: &[u8]) -> String {
    let text = base64::engine::general_purpose::STANDARD.encode(bytes);
    let lines: Vec<&str> = text
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    lines.join("\r\n")
}

/// Classic uuencode (`begin 644 name` … `end`).
fn uuencode(name: &str, bytes: &[u8]) -> String {
    let enc = |v: u8| if v == 0 { '`' } else { char::from(v + 32) };
    let mut out = format!("begin 644 {name}\r\n");
    for line in bytes.chunks(45) {
        out.push(enc(line.len() as u8));
        for group in line.chunks(3) {
            let b = |i: usize| group.get(i).copied().unwrap_or(0);
            out.push(enc(b(0) >> 2));
            out.push(enc(((b(0) & 3) << 4) | (b(1) >> 4)));
            out.push(enc(((b(1) & 0xf) << 2) | (b(2) >> 6)));
            out.push(enc(b(2) & 0x3f));
        }
        out.push_str("\r\n");
    }
    out.push_str("`\r\nend\r\n");
    out
}

/// Stored attachments: (mime type, state, content) by file name.
async fn attachments(mail: &Mail) -> Vec<(String, String, String, Vec<u8>)> {
    use sea_orm::{ConnectionTrait, Statement};
    let db = mail.server.db().await;
    let keys = mail.keys();
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT id, mime_type, state, filename_ct, content_ct FROM attachments",
        ))
        .await
        .unwrap();
    db.close().await.ok();
    rows.iter()
        .map(|row| {
            let id: uuid::Uuid = row.try_get("", "id").unwrap();
            let aad = |column| Aad {
                table: "attachments",
                column,
                row: id,
            };
            let name = row
                .try_get::<Option<Vec<u8>>>("", "filename_ct")
                .unwrap()
                .map(|ct| keys.cipher.decrypt_string(aad("filename_ct"), &ct).unwrap())
                .unwrap_or_default();
            let content = row
                .try_get::<Option<Vec<u8>>>("", "content_ct")
                .unwrap()
                .map(|ct| keys.cipher.decrypt(aad("content_ct"), &ct).unwrap())
                .unwrap_or_default();
            (
                name,
                row.try_get("", "mime_type").unwrap(),
                row.try_get("", "state").unwrap(),
                content,
            )
        })
        .collect()
}

async fn evidence_as_phones_send_it(backend: Backend) {
    let mail = start(backend, &[]).await;
    let raw = format!(
        "From: Rosa <rosa@ejemplo.mx>\r\nTo: {INTAKE}\r\nSubject: Pruebas del despido\r\n\
         Message-ID: <evidencia-1@ejemplo.mx>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"sep\"\r\n\r\n\
         --sep\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nMandé las pruebas del despido.\r\n\
         --sep\r\nContent-Type: image/jpg; name=\"contrato.jpg\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{jpeg}\r\n\
         --sep\r\nContent-Type: audio/basic; name=\"nota.au\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{snd}\r\n\
         --sep\r\nContent-Type: application/pdf name=acta.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n{pdf}\r\n\
         --sep\r\nContent-Type: application/msword; name=\"carta.doc\"\r\n ; x-mac-type=\"5738424E\"\r\n\
         Content-Disposition: attachment; filename=\"carta.doc\"\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n{doc}\
         --sep\r\nContent-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet; name=\"nomina.xlsx\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{xlsx}\r\n\
         --sep\r\nContent-Type: image/jpeg; name=\"foto.jpg\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{exe}\r\n\
         --sep--\r\n",
        jpeg = b64(JPEG),
        snd = b64(SND),
        pdf = b64(PDF),
        doc = uuencode("carta.doc", DOC),
        xlsx = b64(XLSX),
        exe = b64(EXE),
    );
    let (status, _) = mail
        .webhook(Some(&mail.token), "message/rfc822", raw.into_bytes())
        .await;
    assert_eq!(status, 200);
    mail.sink.wait_for(1).await;
    let mut got = attachments(&mail).await;
    got.sort();
    let expect: [(&str, &str, &[u8]); 5] = [
        ("contrato.jpg", "image/jpeg", JPEG),
        ("nota.au", "audio/basic", SND),
        ("acta.pdf", "application/pdf", PDF),
        ("carta.doc", "application/msword", DOC),
        (
            "nomina.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            XLSX,
        ),
    ];
    for (name, mime, bytes) in expect {
        let row = got
            .iter()
            .find(|(n, ..)| n == name)
            .unwrap_or_else(|| panic!("{name} not recorded: {got:?}"));
        assert_eq!((row.1.as_str(), row.2.as_str()), (mime, "stored"), "{name}");
        assert_eq!(row.3, bytes, "{name}: the file as sent");
    }
    // A program labelled as a photo is refused by its bytes.
    let fake = got.iter().find(|(n, ..)| n == "foto.jpg").unwrap();
    assert_eq!((fake.2.as_str(), fake.3.len()), ("rejected", 0));
}
on_both_backends!(evidence_as_phones_send_it);

/// A carrier's picture message: its words in `text_0.txt`, or a picture alone, from
/// a bare phone number, each a case with its evidence (not held as empty).
async fn a_picture_message_is_a_complaint_with_evidence(backend: Backend) {
    let mail = start(backend, &[]).await;
    let mms = |i: usize, text: Option<&str>| {
        let text_part = text.map_or_else(String::new, |t| {
            format!(
                "--mms\r\nContent-Type: text/plain; charset=utf-8; name=text_0.txt\r\n\
                 Content-Disposition: attachment; filename=text_0.txt\r\n\r\n{t}\r\n"
            )
        });
        format!(
            "From: 555123456{i}@mms.carrier.test\r\nTo: {INTAKE}\r\nSubject: \r\n\
             Message-ID: <mms-{i}@mms.carrier.test>\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/related; type=\"application/smil\"; boundary=\"mms\"\r\n\r\n\
             --mms\r\nContent-Type: application/smil; name=mms.smil\r\n\r\n<smil><body><par><img src=\"IMG_0001.jpg\"/></par></body></smil>\r\n\
             --mms\r\nContent-Type: image/jpeg; name=IMG_0001.jpg\r\nContent-Transfer-Encoding: base64\r\n\
             Content-Disposition: attachment; filename=IMG_0001.jpg\r\n\r\n{jpeg}\r\n\
             {text_part}--mms--\r\n",
            jpeg = b64(JPEG),
        )
        .into_bytes()
    };
    let words = "Nos cierran la puerta con candado en el turno de noche.";
    mail.send_raw("5551234561@mms.carrier.test", &mms(1, Some(words)))
        .await
        .unwrap();
    mail.send_raw("5551234562@mms.carrier.test", &mms(2, None))
        .await
        .unwrap();
    // Gateways that write the phone number (no address) as the From and send from
    // their MAILER-DAEMON, or from the null sender: a case, nobody to answer.
    for (i, envelope) in [(3, "MAILER-DAEMON@mms.carrier.test"), (4, "")] {
        let raw = String::from_utf8_lossy(&mms(i, None)).replacen(
            &format!("From: 555123456{i}@mms.carrier.test"),
            &format!("Return-Path: <{envelope}>\r\nFrom: +52555123456{i}/TYPE=PLMN"),
            1,
        );
        mail.send_raw(envelope, raw.as_bytes()).await.unwrap();
    }
    mail.settle().await;
    let acks = mail.sink.wait_for(2).await;
    let mut to: Vec<String> = acks.iter().flat_map(|a| a.rcpt_to.clone()).collect();
    to.sort();
    assert_eq!(
        to,
        ["5551234561@mms.carrier.test", "5551234562@mms.carrier.test"]
    );
    assert_eq!(mail.count("SELECT COUNT(*) FROM cases").await, 4);
    assert_eq!(
        mail.count("SELECT COUNT(*) FROM cases WHERE anonymous")
            .await,
        2,
        "no contact for a phone number"
    );
    assert_eq!(
        mail.count("SELECT COUNT(*) FROM outbox").await,
        2,
        "nothing to a daemon or the null sender"
    );
    assert_eq!(
        mail.count("SELECT COUNT(*) FROM email_inbox WHERE state = 'held'")
            .await,
        0,
        "nothing held as empty"
    );
    let narratives = mail.narratives().await;
    assert!(
        narratives.iter().any(|n| n.contains(words)),
        "{narratives:?}"
    );
    assert!(
        narratives
            .iter()
            .any(|n| n.contains("evidencia va adjunta")),
        "{narratives:?}"
    );
    let got = attachments(&mail).await;
    let photos = got
        .iter()
        .filter(|(n, m, s, c)| {
            n == "IMG_0001.jpg" && m == "image/jpeg" && s == "stored" && c == JPEG
        })
        .count();
    assert_eq!(photos, 4, "{got:?}");
    assert_eq!(
        got.len(),
        4,
        "the layout and the words are not evidence files"
    );
}
on_both_backends!(a_picture_message_is_a_complaint_with_evidence);

/// "ESPERAR HASTA" holds the new case until that day, and the receipt says so; a
/// date the web form would refuse gets a clear answer and files nothing.
async fn a_deferral_line_holds_the_case(backend: Backend) {
    let mail = start(backend, &[]).await;
    let today = buzon::clock::today();
    let day = today + chrono::Duration::days(30);
    let iso = day.format("%Y-%m-%d").to_string();
    let message = |i: usize, line: &str| {
        mail::complaint(
            &format!("diferida{i}@ejemplo.mx"),
            &format!("diferida-{i}@ejemplo.mx"),
            &format!("Nos despidieron por ir a la asamblea.\n{line}\nGracias."),
        )
    };
    mail.send(message(
        1,
        &format!("ESPERAR HASTA {}", day.format("%d/%m/%Y")),
    ))
    .await;
    let acks = mail.sink.wait_for(1).await;
    let body = acks[0].body();
    assert!(
        body.contains(&format!(
            "nadie la va a revisar ni le vamos a escribir antes del {iso}"
        )),
        "{body}"
    );
    assert_eq!(
        mail.count("SELECT COUNT(*) FROM cases WHERE hold_until IS NOT NULL")
            .await,
        1
    );
    // Held until that day: not before, and not a day more than asked.
    let db = mail.server.db().await;
    let row = one_row(&db, "SELECT hold_until FROM cases").await;
    let until: chrono::DateTime<chrono::Utc> = row
        .try_get::<chrono::DateTime<chrono::Utc>>("", "hold_until")
        .or_else(|_| {
            row.try_get::<chrono::NaiveDateTime>("", "hold_until")
                .map(|t| t.and_utc())
        })
        .unwrap();
    db.close().await.ok();
    assert_eq!(until, buzon::clock::start_of(day));

    let too_far = today + chrono::Duration::days(120);
    mail.send(message(
        2,
        &format!("WAIT UNTIL {}", too_far.format("%Y-%m-%d")),
    ))
    .await;
    let acks = mail.sink.wait_for(2).await;
    let answer = acks
        .iter()
        .find(|a| a.rcpt_to == ["diferida2@ejemplo.mx"])
        .unwrap();
    assert!(answer.body().contains("no es válida"), "{}", answer.body());
    mail.settle().await;
    assert_eq!(mail.count("SELECT COUNT(*) FROM cases").await, 1);
    assert_eq!(
        mail.count(
            "SELECT COUNT(*) FROM email_inbox WHERE state = 'held' AND outcome = 'invalid_hold_date'"
        )
        .await,
        1
    );
}
on_both_backends!(a_deferral_line_holds_the_case);
