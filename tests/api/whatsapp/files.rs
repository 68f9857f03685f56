//! Issue 30, findings 5 and 8: what the database keeps about a worker's files, and
//! where the Graph API access token goes when a file is downloaded.
//!
//! An employer holding the letter it issued, with a backup but not the key file,
//! must not find the case by the letter's SHA-256, its WhatsApp media id or its
//! exact size; and a media look-up naming a host other than Meta's must not get
//! the token.

use super::{WA_ID, start};
use crate::helpers::mail::INTAKE;
use crate::helpers::*;
use crate::on_both_backends;
use crate::smtp_sink::SmtpSink;
use base64::Engine;
use buzon::crypto::{Aad, KeyRing};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, MultiPart, SinglePart};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const MEDIA_ID: &str = "913377004455";
/// Sizes no other column would hold by chance.
const PHOTO_SIZE: usize = 48_731;
const LETTER_SIZE: usize = 39_517;

fn photo() -> Vec<u8> {
    let mut bytes = b"\xff\xd8\xff\xe0JFIF-DISMISSAL-PHOTO".to_vec();
    bytes.resize(PHOTO_SIZE, b'j');
    bytes
}

fn letter() -> Vec<u8> {
    let mut bytes = b"%PDF-1.4 CARTA-DE-DESPIDO".to_vec();
    bytes.resize(LETTER_SIZE, b'p');
    bytes
}

/// Every form of a file's digest someone could search a database for.
fn digest_forms(bytes: &[u8]) -> (String, String, String, Vec<u8>) {
    let raw = Sha256::digest(bytes).to_vec();
    (
        buzon::crypto::hex(&raw),
        buzon::crypto::hex(&raw).to_ascii_uppercase(),
        base64::engine::general_purpose::STANDARD.encode(&raw),
        raw,
    )
}

/// Every column of every table, as (table, column).
async fn all_columns(server: &TestServer, backend: Backend) -> Vec<(String, String)> {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        }
        Backend::Postgres => {
            "SELECT c.table_name, c.column_name FROM information_schema.columns c \
             JOIN information_schema.tables t ON t.table_name = c.table_name AND t.table_schema = c.table_schema \
             WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'"
        }
    };
    let db = server.db().await;
    let rows = buzon::db::rows(&db, sql, vec![]).await.unwrap();
    db.close().await.ok();
    rows.iter()
        .map(|r| {
            (
                r.try_get_by_index(0).unwrap(),
                r.try_get_by_index(1).unwrap(),
            )
        })
        .collect()
}

async fn a_known_document_finds_no_case_without_the_key(backend: Backend) {
    let sink = SmtpSink::start().await;
    let relay = sink.url();
    let mut wa = start(
        backend,
        &[
            ("BUZON_SMTP_ADDR", "127.0.0.1:0"),
            ("BUZON_EMAIL_INTAKE_ADDRESSES", INTAKE),
            ("BUZON_SMTP_RELAY_URL", &relay),
            ("BUZON_EMAIL_FROM", "Buzón <quejas@buzon.test>"),
            ("BUZON_GENERAL_BURST", "10000"),
        ],
    )
    .await;
    let photo = photo();
    let letter = letter();

    // A photo by WhatsApp, through the Graph stand-in.
    let sha = wa.stub.add_media(MEDIA_ID, "image/jpeg", &photo, 0);
    wa.say(wa.text(WA_ID, "Hola"), "[consent:yes]").await;
    wa.say(wa.tap(WA_ID, "consent:yes"), "[anon:yes]").await;
    wa.say(
        wa.file(WA_ID, "image", MEDIA_ID, "image/jpeg", &sha, None),
        "Archivo recibido (1)",
    )
    .await;

    // A letter by e-mail, over SMTP.
    let message = lettre::Message::builder()
        .from(
            "Rocío Despedida <rocio.d.4471@example.org>"
                .parse()
                .unwrap(),
        )
        .to(INTAKE.parse().unwrap())
        .subject("Me despidieron")
        .message_id(Some("<carta-1@example.org>".into()))
        .multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain(
                    "Me despidieron por ir a la asamblea.\nEstado: Jalisco\n".to_owned(),
                ))
                .singlepart(Attachment::new("carta.pdf".into()).body(
                    letter.clone(),
                    ContentType::parse("application/pdf").unwrap(),
                )),
        )
        .unwrap();
    crate::helpers::mail::submit(wa.server.smtp.unwrap(), message)
        .await
        .unwrap();
    wa.wait_count("SELECT COUNT(*) FROM attachments WHERE state = 'stored'", 2)
        .await;

    // Staff still see the letter with its size; the digests decrypt.
    let admin = crate::triage::add_staff(&wa.server, "admin@buzon.test", "admin", &[]).await;
    let db = wa.server.db().await;
    let case_ref: String = one_row(&db, "SELECT case_ref FROM cases WHERE channel = 'email'")
        .await
        .try_get_by_index(0)
        .unwrap();
    let (status, case) = crate::triage::call(
        &wa.http,
        "GET",
        &wa.server.url(&format!("/api/v1/cases/{case_ref}")),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(status, 200, "{case}");
    let attachment = &case["attachments"][0];
    assert_eq!(attachment["state"], "stored", "{case}");
    assert_eq!(attachment["mime_type"], "application/pdf", "{case}");
    assert_eq!(attachment["size_bytes"], LETTER_SIZE, "{case}");
    db.close().await.ok();

    // No column anywhere holds either exact size.
    let db = wa.server.db().await;
    for (table, column) in all_columns(&wa.server, backend).await {
        for size in [PHOTO_SIZE, LETTER_SIZE] {
            let sql = format!(
                "SELECT COUNT(*) FROM \"{table}\" WHERE CAST(\"{column}\" AS TEXT) = '{size}'"
            );
            let row = one_row(&db, &sql).await;
            let n: i64 = row.try_get_by_index(0).unwrap();
            assert_eq!(n, 0, "{table}.{column} holds the size {size}");
        }
    }
    db.close().await.ok();

    // Nor does a file's ciphertext have the file's length (plus a fixed overhead).
    for size in [PHOTO_SIZE, LETTER_SIZE] {
        let n = wa
            .count(&format!(
                "SELECT COUNT(*) FROM attachments WHERE length(content_ct) BETWEEN {size} AND {size} + 64"
            ))
            .await;
        assert_eq!(n, 0, "a ciphertext {size} bytes long and a little more");
    }

    // What was sealed decrypts to what was sent.
    let db = wa.server.db().await;
    let keys = KeyRing::load(&wa.server.keys_file()).unwrap();
    let rows = buzon::db::rows(
        &db,
        "SELECT id, mime_type, sha256_ct, size_ct, media_ref_ct FROM attachments",
        vec![],
    )
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    for r in &rows {
        let id: uuid::Uuid = r.try_get_by_index(0).unwrap();
        let mime: String = r.try_get_by_index(1).unwrap();
        let open = |column, i| open_attachment_column(&keys, r, id, column, i);
        let (bytes, media_ref) = if mime == "image/jpeg" {
            (&photo, Some(MEDIA_ID))
        } else {
            (&letter, None)
        };
        assert_eq!(open("sha256_ct", 2), buzon::crypto::sha256_hex(bytes));
        assert_eq!(open("size_ct", 3), bytes.len().to_string());
        if let Some(m) = media_ref {
            assert_eq!(open("media_ref_ct", 4), m);
        } else {
            assert!(r.try_get_by_index::<Option<Vec<u8>>>(4).unwrap().is_none());
        }
    }
    db.close().await.ok();

    // Nor does any byte the database or the logs hold give a digest or the media id.
    let places = wa.server.everything_written();
    let mut needles = vec![MEDIA_ID.to_owned()];
    let mut raw_digests = Vec::new();
    for bytes in [&photo, &letter] {
        let (hex, upper, b64, raw) = digest_forms(bytes);
        needles.extend([hex, upper, b64]);
        raw_digests.push(raw);
    }
    let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
    assert_none_in(&places, &needles);
    for (place, haystack) in &places {
        for raw in &raw_digests {
            assert!(!contains_bytes(haystack, raw), "a raw digest in {place}");
        }
    }
}

on_both_backends!(a_known_document_finds_no_case_without_the_key);

/// A listener that records every byte sent to it and answers nothing useful.
async fn recording_listener() -> (String, Arc<Mutex<Vec<u8>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let record = Arc::clone(&record);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                if let Ok(n) = stream.read(&mut buf).await {
                    record
                        .lock()
                        .unwrap()
                        .extend_from_slice(buf.get(..n.max(1)).unwrap_or_default());
                }
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabc")
                    .await;
            });
        }
    });
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn the_access_token_goes_to_no_host_a_media_lookup_names() {
    let wa = start(Backend::Sqlite, &[]).await;
    let (foreign, seen) = recording_listener().await;
    let sha = wa.stub.add_media(MEDIA_ID, "image/jpeg", &photo(), 0);
    wa.stub
        .media_url(MEDIA_ID, &format!("{foreign}/download/{MEDIA_ID}"));
    wa.say(wa.text(WA_ID, "Hola"), "[consent:yes]").await;
    wa.say(wa.tap(WA_ID, "consent:yes"), "[anon:yes]").await;
    wa.say(
        wa.file(WA_ID, "image", MEDIA_ID, "image/jpeg", &sha, None),
        "Archivo recibido (1)",
    )
    .await;
    // Wait until the worker has dealt with it (or has sent something away).
    let wait = eventually(20, "the download dealt with", || {
        let (server, seen) = (&wa.server, &seen);
        async move {
            let pending = server
                .count("SELECT COUNT(*) FROM attachments WHERE state = 'pending' AND attempts = 0")
                .await;
            if pending == 0 || !seen.lock().unwrap().is_empty() {
                Ok(())
            } else {
                Err(format!("{pending} pending"))
            }
        }
    });
    wait.await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen = seen.lock().unwrap().clone();
    assert!(
        !contains_bytes(&seen, wa.stub.token.as_bytes()),
        "the token went to another host"
    );
    assert!(
        seen.is_empty(),
        "nothing at all goes there: {}",
        String::from_utf8_lossy(&seen)
    );
    // Refused for good, with the reason, after one look-up.
    assert_eq!(
        wa.count(
            "SELECT COUNT(*) FROM attachments WHERE state = 'rejected' AND attempts = 1 \
             AND failure = 'media URL on a host not allowed'"
        )
        .await,
        1
    );
    assert_eq!(wa.stub.downloads(MEDIA_ID), 0);
    assert!(wa.server.logs().contains("evidence file refused"));
}

/// Rows written before the metadata was encrypted (plaintext in the legacy columns)
/// are encrypted at the next start, and their plaintext emptied.
async fn older_plaintext_metadata_is_encrypted_at_start(backend: Backend) {
    let mut server = TestServer::spawn(backend).await;
    let id = uuid::Uuid::new_v4();
    let (hex, ..) = digest_forms(&photo());
    let db = server.db().await;
    let now = chrono::Utc::now();
    // The file as older versions stored it: encrypted, not padded.
    let keys = KeyRing::load(&server.keys_file()).unwrap();
    let content = Aad {
        table: "attachments",
        column: "content_ct",
        row: id,
    };
    let unpadded = keys.cipher.encrypt(content, &photo()).unwrap();
    buzon::db::exec(
        &db,
        "INSERT INTO attachments (id, channel, legacy_media_ref, mime_type, declared_sha256, size_bytes, \
         state, attempts, next_attempt_at, created_at, content_sha256, content_ct) \
         VALUES ($1, 'whatsapp', $2, 'image/jpeg', $3, $4, 'stored', 1, $5, $5, $3, $6)",
        vec![
            id.into(),
            MEDIA_ID.into(),
            hex.clone().into(),
            i64::try_from(PHOTO_SIZE).unwrap().into(),
            now.into(),
            unpadded.into(),
        ],
    )
    .await
    .unwrap();
    // And a piece of RRM evidence as older versions stored it.
    let (status, _) = post_json(
        &client(),
        &server.url("/api/v1/complaints"),
        &complaint(
            "Ana Prueba",
            "477 555 0101",
            "ana.prueba@example.org",
            "Narración",
        ),
    )
    .await;
    assert_eq!(status, 201);
    let case_id: uuid::Uuid = one_row(&db, "SELECT id FROM cases")
        .await
        .try_get_by_index(0)
        .unwrap();
    let evidence_id = uuid::Uuid::new_v4();
    let evidence = |column| Aad {
        table: "case_evidence",
        column,
        row: evidence_id,
    };
    buzon::db::exec(
        &db,
        "INSERT INTO case_evidence (id, case_id, uploaded_by, mime_type, legacy_size_bytes, sha256_ct, \
         filename_ct, content_ct, created_at) VALUES ($1, $2, $3, 'application/pdf', $4, $5, $8, $6, $7)",
        vec![
            evidence_id.into(),
            case_id.into(),
            uuid::Uuid::new_v4().into(),
            i64::try_from(LETTER_SIZE).unwrap().into(),
            keys.cipher.encrypt(evidence("sha256_ct"), b"x").unwrap().into(),
            keys.cipher
                .encrypt(evidence("content_ct"), &letter())
                .unwrap()
                .into(),
            now.into(),
            keys.cipher
                .encrypt(evidence("filename_ct"), b"carta.pdf")
                .unwrap()
                .into(),
        ],
    )
    .await
    .unwrap();
    db.close().await.ok();
    server.terminate();
    server.start(&Options::default());
    assert!(
        server
            .logs()
            .contains("references and sizes of older rows encrypted"),
        "{}",
        server.logs()
    );
    let db = server.db().await;
    let row = one_row(
        &db,
        "SELECT legacy_media_ref, declared_sha256, content_sha256, size_bytes, \
         media_ref_ct, declared_sha256_ct, sha256_ct, size_ct, content_ct FROM attachments",
    )
    .await;
    for i in 0..2 {
        assert_eq!(row.try_get_by_index::<Option<String>>(i).unwrap(), None);
    }
    assert_eq!(row.try_get_by_index::<Option<String>>(2).unwrap(), None);
    assert_eq!(row.try_get_by_index::<Option<i64>>(3).unwrap(), None);
    let open = |column, i| open_attachment_column(&keys, &row, id, column, i);
    assert_eq!(open("media_ref_ct", 4), MEDIA_ID);
    assert_eq!(open("declared_sha256_ct", 5), hex);
    assert_eq!(open("sha256_ct", 6), hex);
    assert_eq!(open("size_ct", 7), PHOTO_SIZE.to_string());
    // And the file is now padded: its ciphertext no longer gives its size.
    let padded: Vec<u8> = row.try_get_by_index(8).unwrap();
    assert!(buzon::crypto::FieldCipher::is_padded(&padded));
    // Version, key id, nonce and tag around a multiple of 16 KiB.
    assert_eq!((padded.len() - 33) % (16 * 1024), 0, "{}", padded.len());
    assert_eq!(keys.cipher.decrypt(content, &padded).unwrap(), photo());
    let row = one_row(
        &db,
        "SELECT legacy_size_bytes, size_ct, content_ct FROM case_evidence",
    )
    .await;
    assert_eq!(row.try_get_by_index::<Option<i64>>(0).unwrap(), None);
    let size: Vec<u8> = row.try_get_by_index(1).unwrap();
    assert_eq!(
        keys.cipher
            .decrypt_string(evidence("size_ct"), &size)
            .unwrap(),
        LETTER_SIZE.to_string()
    );
    let evidence_ct: Vec<u8> = row.try_get_by_index(2).unwrap();
    assert!(buzon::crypto::FieldCipher::is_padded(&evidence_ct));
    assert_eq!(
        keys.cipher
            .decrypt(evidence("content_ct"), &evidence_ct)
            .unwrap(),
        letter()
    );
    db.close().await.ok();

    // Moved to a new key, files stay padded.
    let (ok, out) = server.run(&["keys", "rotate"], "");
    assert!(ok, "{out}");
    server.terminate();
    server.start(&Options::default());
    let (ok, out) = server.run(&["keys", "reencrypt"], "");
    assert!(ok && out.contains("0 still under older keys"), "{out}");
    let keys = KeyRing::load(&server.keys_file()).unwrap();
    let db = server.db().await;
    let row = one_row(&db, "SELECT content_ct FROM attachments").await;
    let moved: Vec<u8> = row.try_get_by_index(0).unwrap();
    assert_eq!(moved.get(1..5), Some(&2u32.to_be_bytes()[..]));
    assert!(buzon::crypto::FieldCipher::is_padded(&moved));
    assert_eq!(keys.cipher.decrypt(content, &moved).unwrap(), photo());
    db.close().await.ok();
}

on_both_backends!(older_plaintext_metadata_is_encrypted_at_start);

/// Column `i` of an `attachments` row read as a query result, decrypted as `column`.
fn open_attachment_column(
    keys: &KeyRing,
    row: &sea_orm::QueryResult,
    id: uuid::Uuid,
    column: &'static str,
    i: usize,
) -> String {
    let ct: Vec<u8> = row.try_get_by_index(i).unwrap();
    let aad = Aad {
        table: "attachments",
        column,
        row: id,
    };
    keys.cipher.decrypt_string(aad, &ct).unwrap()
}
