//! The WhatsApp channel end to end: signed webhook deliveries in Meta's documented
//! shape go into the real server; its replies go to a local Graph API stand-in
//! (`graph_stub.rs`) that checks every request. Conversations are driven exactly as a
//! phone would: text, taps on buttons and list rows, files.

mod deferred;
mod files;
mod interview;
mod poison;
mod resilience;
mod rights;
pub(crate) mod thread;
mod window;

use crate::graph_stub::{Failure, GraphStub, render};
use crate::helpers::wa::{self, case_ref_in, envelope};
use crate::helpers::*;
use crate::on_both_backends;
use buzon::crypto::{Aad, KeyRing};
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A worker's number in the old `+52 1` form WhatsApp still uses for some, and the
/// same number without the `1`.
const WA_ID: &str = "5214775550123";
const WA_ID_SHORT: &str = "524775550123";
const EMPLOYER: &str = "Ensambladora Quetzalcóatl Poniente";
const NARRATIVE: &str = "El jefe Eustaquio Barragán nos obliga a doblar turno sin pagar";
const CAPTION: &str = "foto del checador de Eustaquio";
const NAME: &str = "Filomena Tzintzun Arreola";
const EVIDENCE: &[u8] = b"\xff\xd8\xff\xe0JFIF-EVIDENCE-PLAINTEXT-MARKER-7731";

struct Wa {
    server: TestServer,
    stub: GraphStub,
    secret: String,
    verify_token: String,
    http: reqwest::Client,
    counter: AtomicU64,
}

async fn start(backend: Backend, extra: &[(&str, &str)]) -> Wa {
    let stub = GraphStub::start().await;
    let secret = format!("appsecret-{}", uuid::Uuid::new_v4().simple());
    let verify_token = format!("verify-{}", uuid::Uuid::new_v4().simple());
    let mut options = wa::options(Options::default(), &stub, &secret, &verify_token)
        .env("BUZON_OUTBOX_RETRY_BASE_MS", "50");
    for (k, v) in extra {
        options = options.env(k, v);
    }
    let server = TestServer::spawn_with(backend, options).await;
    Wa {
        server,
        stub,
        secret,
        verify_token,
        http: client(),
        counter: AtomicU64::new(0),
    }
}

impl Wa {
    /// A message id like WhatsApp's, which embeds the sender's number.
    fn wamid(&self, from: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        format!("wamid.HBgN{from}FQIAEhgU{n:08}")
    }

    fn base(&self, from: &str, kind: &str) -> Value {
        wa::message(from, &self.wamid(from), kind)
    }

    fn text(&self, from: &str, body: &str) -> Value {
        wa::text(from, &self.wamid(from), body)
    }

    /// A tap on a button or on a list row (lists carry sectors and violations).
    fn tap(&self, from: &str, id: &str) -> Value {
        wa::tap(from, &self.wamid(from), id)
    }

    fn file(
        &self,
        from: &str,
        kind: &str,
        media_id: &str,
        mime: &str,
        sha256: &str,
        caption: Option<&str>,
    ) -> Value {
        let mut m = self.base(from, kind);
        let mut part = json!({"id": media_id, "mime_type": mime, "sha256": sha256});
        if let Some(c) = caption {
            part["caption"] = json!(c);
        }
        if kind == "audio" {
            part["voice"] = json!(true);
        }
        m[kind] = part;
        m
    }

    fn sign(&self, body: &[u8]) -> String {
        wa::sign(&self.secret, body)
    }

    async fn post_raw(&self, body: Vec<u8>, signature: Option<String>) -> (u16, Value) {
        let mut req = self
            .http
            .post(self.server.url("/webhooks/whatsapp"))
            .header("content-type", "application/json");
        if let Some(sig) = signature {
            req = req.header("x-hub-signature-256", sig);
        }
        let res = req.body(body).send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn deliver(&self, payload: &Value) -> u16 {
        let body = payload.to_string().into_bytes();
        let sig = self.sign(&body);
        let (status, answer) = self.post_raw(body, Some(sig)).await;
        assert_eq!(status, 200, "{answer}");
        status
    }

    /// Sends one message and waits for a reply (sent after it) containing `expect`.
    async fn say(&self, message: Value, expect: &str) -> String {
        let from = message["from"].as_str().unwrap().to_owned();
        let before = self.stub.sent_to(&from).len();
        self.deliver(&envelope(vec![message], vec![])).await;
        let i = self.stub.wait_for(&from, before, expect).await;
        render(&self.stub.sent_to(&from)[i])
    }

    async fn count(&self, sql: &str) -> i64 {
        self.server.count(sql).await
    }

    async fn wait_count_at_least(&self, sql: &str, want: i64) {
        for _ in 0..300 {
            if self.count(sql).await >= want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "{sql} never reached {want} (last {})",
            self.count(sql).await
        );
    }

    async fn wait_count(&self, sql: &str, want: i64) {
        for _ in 0..200 {
            if self.count(sql).await == want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "{sql} never gave {want} (last {}); logs:\n{}",
            self.count(sql).await,
            self.server.logs()
        );
    }

    /// The one row `sql` selects (the row's key, then a column sealed as
    /// `table.column`, then anything else): that column decrypted with the server's
    /// keys, and the row for the rest.
    async fn unseal(
        &self,
        table: &'static str,
        column: &'static str,
        sql: &str,
    ) -> (Vec<u8>, sea_orm::QueryResult) {
        let keys = KeyRing::load(&self.server.keys_file()).unwrap();
        let db = self.server.db().await;
        let row = one_row(&db, sql).await;
        db.close().await.ok();
        let id: uuid::Uuid = row.try_get_by_index(0).unwrap();
        let ct: Vec<u8> = row.try_get_by_index(1).unwrap();
        let aad = Aad {
            table,
            column,
            row: id,
        };
        (keys.cipher.decrypt(aad, &ct).unwrap(), row)
    }

    /// Sends each message in turn, waiting each time for the reply that contains
    /// the text paired with it.
    async fn script(&self, steps: Vec<(Value, &str)>) {
        for (message, expect) in steps {
            self.say(message, expect).await;
        }
    }

    /// From the first message up to the summary, anonymous, in Spanish.
    async fn until_summary(&self, from: &str) {
        let (_, until_summary) = wa::CONVERSATION.split_last().unwrap();
        let steps = until_summary
            .iter()
            .map(|&(tap, sent, expect)| {
                let message = if tap {
                    self.tap(from, sent)
                } else {
                    self.text(from, sent)
                };
                (message, expect)
            })
            .collect();
        self.script(steps).await;
    }
}

fn receipt_in(text: &str, label: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{label}: ")))
        .unwrap_or_else(|| panic!("no {label} in {text}"))
        .trim()
        .to_owned()
}

async fn an_anonymous_worker_files_with_evidence_in_spanish_and_follows_up(backend: Backend) {
    let mut wa = start(backend, &[]).await;
    let photo_sha = wa.stub.add_media("880011223344", "image/jpeg", EVIDENCE, 2);
    let voice_sha = wa
        .stub
        .add_media("880055667788", "audio/ogg", b"OggS-voice-note", 0);

    let consent = wa
        .say(wa.text(WA_ID, "Hola, buenas tardes"), "[consent:yes]")
        .await;
    assert!(
        consent.contains("cifradas") && consent.contains("BORRAR"),
        "{consent}"
    );
    wa.script(vec![
        (wa.tap(WA_ID, "consent:yes"), "[anon:yes]"),
        (wa.tap(WA_ID, "anon:yes"), "¿En qué estado"),
        // Typos and missing accents are forgiven; nonsense is asked again.
        (wa.text(WA_ID, "Narnia"), "No reconocimos"),
        (wa.text(WA_ID, "guanajato"), "¿Cómo se llama la empresa"),
        (wa.text(WA_ID, EMPLOYER), "[city:skip]"),
        (wa.text(WA_ID, "León"), "[sector:auto_parts]"),
    ])
    .await;
    let more = wa
        .say(wa.tap(WA_ID, "sector:more"), "[sector:call_center]")
        .await;
    assert!(!more.contains("[sector:automotive]"), "second page: {more}");
    wa.script(vec![
        (
            wa.tap(WA_ID, "sector:auto_parts"),
            "[viol:union_retaliation]",
        ),
        (wa.tap(WA_ID, "viol:unpaid_wages"), "[viol:done]"),
    ])
    .await;
    let chosen = wa
        .say(wa.tap(WA_ID, "viol:excessive_hours"), "[viol:done]")
        .await;
    assert!(
        chosen.contains("Demasiadas horas") && chosen.contains("No me pagan"),
        "{chosen}"
    );
    wa.script(vec![
        (wa.tap(WA_ID, "viol:done"), "[trade:yes]"),
        (wa.tap(WA_ID, "trade:yes"), "Cuéntenos qué pasó"),
        (wa.text(WA_ID, NARRATIVE), "[evidence:done]"),
        (
            wa.file(
                WA_ID,
                "image",
                "880011223344",
                "image/jpeg",
                &photo_sha,
                Some(CAPTION),
            ),
            "Archivo recibido (1)",
        ),
        (
            wa.file(
                WA_ID,
                "audio",
                "880055667788",
                "audio/ogg; codecs=opus",
                &voice_sha,
                None,
            ),
            "Archivo recibido (2)",
        ),
    ])
    .await;
    let summary = wa
        .say(wa.tap(WA_ID, "evidence:done"), "[confirm:send]")
        .await;
    assert!(
        summary.contains("anónimo")
            && summary.contains("Guanajuato")
            && summary.contains("Archivos: 2"),
        "{summary}"
    );
    let receipt_text = wa
        .say(wa.tap(WA_ID, "confirm:send"), "Recibimos su queja")
        .await;
    let receipt = receipt_in(&receipt_text, "Su código secreto");
    let case_ref = case_ref_in(&receipt_text);
    assert!(
        receipt_text.contains("Su queja va a:"),
        "routing in plain words: {receipt_text}"
    );

    // Stored as a WhatsApp case, anonymous: no complainant row at all.
    assert_eq!(wa.count(&format!("SELECT COUNT(*) FROM cases WHERE case_ref = '{case_ref}' AND channel = 'whatsapp' AND anonymous = true")).await, 1);
    assert_eq!(wa.count("SELECT COUNT(*) FROM complainants").await, 0);
    assert_eq!(wa.count("SELECT COUNT(*) FROM wa_conversations").await, 0);
    // Both files end up stored with the case; the photo only on the third download.
    wa.wait_count(
        "SELECT COUNT(*) FROM attachments WHERE state = 'stored' AND case_id IS NOT NULL",
        2,
    )
    .await;
    assert_eq!(wa.stub.downloads("880011223344"), 3);
    let (photo, _) = wa
        .unseal(
            "attachments",
            "content_ct",
            "SELECT id, content_ct FROM attachments WHERE mime_type = 'image/jpeg'",
        )
        .await;
    assert_eq!(photo, EVIDENCE);

    // Following the case by keyword, from the other form of the same number.
    let status = wa
        .say(
            wa.text(WA_ID_SHORT, &format!("ESTADO {}", receipt.to_lowercase())),
            &case_ref,
        )
        .await;
    assert!(status.contains("Recibida"), "{status}");
    let wrong = wa
        .say(
            wa.text(WA_ID, "ESTADO 0000-0000-0000-0000-0000-0000"),
            "No encontramos",
        )
        .await;
    assert!(!wrong.contains(&case_ref));

    assert!(wa.stub.problems().is_empty(), "{:?}", wa.stub.problems());
    let places = wa.server.everything_written();
    assert_none_in(
        &places,
        &[
            WA_ID,
            WA_ID_SHORT,
            "4775550123",
            EMPLOYER,
            "Quetzalc",
            NARRATIVE,
            "Eustaquio",
            CAPTION,
            "JFIF-EVIDENCE-PLAINTEXT-MARKER",
            "Perfil De WhatsApp",
        ],
    );
    let logs = wa.server.logs();
    assert!(
        logs.contains("complaint filed by WhatsApp"),
        "logs were captured"
    );
    assert!(!logs.contains(&receipt), "the receipt is logged");
}

async fn a_named_worker_files_in_english_and_is_one_person_in_both_number_forms(backend: Backend) {
    let mut wa = start(backend, &[]).await;
    let consent = wa.say(wa.text(WA_ID, "hi"), "[consent:yes]").await;
    assert!(
        consent.contains("I agree") && consent.contains("encrypted"),
        "{consent}"
    );
    wa.script(vec![
        (wa.tap(WA_ID, "consent:yes"), "[anon:no]"),
        (wa.tap(WA_ID, "anon:no"), "What is your name?"),
        // The same person writing from the number without the `1` goes on where they were.
        (wa.text(WA_ID_SHORT, NAME), "In which state"),
        (wa.text(WA_ID, "nuevo leon"), "name of the company"),
        (wa.text(WA_ID, "Maquila Norteña"), "[city:skip]"),
        (wa.text(WA_ID, "Apodaca"), "[sector:electronics]"),
        (
            wa.tap(WA_ID, "sector:electronics"),
            "[viol:union_interference]",
        ),
        (wa.tap(WA_ID, "viol:safety_health"), "[viol:done]"),
        (wa.text(WA_ID, "done"), "[trade:unknown]"),
        (wa.text(WA_ID, "I don't know"), "Tell us what happened"),
        (
            wa.text(
                WA_ID,
                "No gloves near the solder bath; two burns this month.",
            ),
            "[evidence:done]",
        ),
    ])
    .await;
    let summary = wa.say(wa.text(WA_ID, "done"), "[confirm:send]").await;
    assert!(
        summary.contains(NAME) && summary.contains("Nuevo León"),
        "{summary}"
    );
    let text = wa
        .say(wa.text(WA_ID, "send"), "We received your complaint")
        .await;
    let receipt = receipt_in(&text, "Your secret code");
    let case_ref = case_ref_in(&text);
    assert!(text.contains("Your complaint goes to:"), "{text}");
    let status = wa
        .say(wa.text(WA_ID, &format!("STATUS {receipt}")), &case_ref)
        .await;
    assert!(status.contains("Received"), "{status}");

    // Triage asks a question: it reaches the worker on WhatsApp, in English, at the
    // exact id they filed from (not the E.164 form), and shows on their status page.
    let admin = crate::triage::add_staff(&wa.server, "admin@buzon.test", "admin", &[]).await;
    let before = wa.stub.sent_to(WA_ID).len();
    let (st, sent) = crate::triage::call(
        &client(),
        "POST",
        &wa.server
            .url(&format!("/api/v1/cases/{case_ref}/questions")),
        Some(&admin),
        Some(&json!({"body": "Which line do you work on?"})),
    )
    .await;
    assert_eq!(
        (st, &sent["delivered_via"]),
        (201, &json!(["status_page", "whatsapp"]))
    );
    let i = wa
        .stub
        .wait_for(WA_ID, before, "Which line do you work on?")
        .await;
    let question = render(&wa.stub.sent_to(WA_ID)[i]);
    assert!(
        question.contains("A question about your complaint") && question.contains(&case_ref),
        "{question}"
    );
    let status = wa
        .say(wa.text(WA_ID, &format!("STATUS {receipt}")), "Which line")
        .await;
    assert!(status.contains("We need more information"), "{status}");

    // The contact is the WhatsApp number, encrypted, indexed in its E.164 form: the
    // same index as the phone typed on the web form in either form.
    let (name, row) = wa
        .unseal(
            "complainants",
            "name_ct",
            "SELECT case_id, name_ct, phone_bidx FROM complainants",
        )
        .await;
    assert_eq!(name, NAME.as_bytes());
    let bidx: Vec<u8> = row.try_get_by_index(2).unwrap();
    let keys = KeyRing::load(&wa.server.keys_file()).unwrap();
    assert_eq!(bidx, keys.blind_index.compute("phone", "+524775550123"));
    // Worked messages and sent replies keep no trace of who they were from or to.
    assert_eq!(
        wa.count(
            "SELECT COUNT(*) FROM wa_inbox WHERE length(sender_bidx) > 0 OR length(payload_ct) > 0"
        )
        .await,
        0
    );
    assert_eq!(
        wa.count("SELECT COUNT(*) FROM outbox WHERE state = 'sent' AND (length(recipient_bidx) > 0 OR length(payload_ct) > 0)").await,
        0
    );
    assert!(wa.stub.problems().is_empty(), "{:?}", wa.stub.problems());
    let places = wa.server.everything_written();
    assert_none_in(
        &places,
        &[
            NAME,
            "Filomena",
            "Tzintzun",
            WA_ID,
            WA_ID_SHORT,
            "4775550123",
            "solder bath",
        ],
    );
}

async fn redeliveries_in_any_order_create_one_of_everything(backend: Backend) {
    let wa = start(backend, &[]).await;
    wa.until_summary(WA_ID).await;
    let before = wa.stub.sent_to(WA_ID).len();
    let confirm = envelope(vec![wa.tap(WA_ID, "confirm:send")], vec![]);
    // The same delivery five times at once.
    tokio::join!(
        wa.deliver(&confirm),
        wa.deliver(&confirm),
        wa.deliver(&confirm),
        wa.deliver(&confirm),
        wa.deliver(&confirm),
    );
    wa.stub.wait_for(WA_ID, before, "Recibimos su queja").await;
    // Several messages in one delivery, redelivered five times in shuffled orders.
    let other = "5218112345678";
    let messages = [
        wa.text(other, "Hola"),
        {
            // Not a reaction: a reaction to our message is acknowledged and ignored,
            // never stored nor answered (issue 31).
            let mut m = wa.base(other, "sticker");
            m["sticker"] = json!({"id": "5", "mime_type": "image/webp", "sha256": "ab"});
            m
        },
        {
            let mut m = wa.base(other, "location");
            m["location"] = json!({"latitude": 21.1, "longitude": -101.6});
            m
        },
    ];
    let orders = [[0, 1, 2], [2, 1, 0], [1, 0, 2], [2, 0, 1], [0, 2, 1]];
    let p: Vec<Value> = orders
        .iter()
        .map(|order| envelope(order.iter().map(|&i| messages[i].clone()).collect(), vec![]))
        .collect();
    tokio::join!(
        wa.deliver(&p[0]),
        wa.deliver(&p[1]),
        wa.deliver(&p[2]),
        wa.deliver(&p[3]),
        wa.deliver(&p[4]),
    );
    wa.wait_count("SELECT COUNT(*) FROM wa_inbox WHERE state = 'done'", 16)
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let receipts = wa
        .stub
        .sent_to(WA_ID)
        .iter()
        .filter(|m| render(m).contains("Recibimos su queja"))
        .count();
    assert_eq!(receipts, 1, "one receipt");
    assert_eq!(wa.count("SELECT COUNT(*) FROM cases").await, 1, "one case");
    assert_eq!(
        wa.count("SELECT COUNT(*) FROM wa_inbox").await,
        16,
        "13 + 3 distinct messages"
    );
    let consent_prompts = wa
        .stub
        .sent_to(other)
        .iter()
        .filter(|m| render(m).contains("[consent:yes]"))
        .count();
    // Each of the three messages answered once (at most two replies each).
    assert!(
        consent_prompts == 3 && wa.stub.sent_to(other).len() <= 6,
        "{:?}",
        wa.stub.sent_to(other)
    );
    // Messages of one delivery are worked in the order they were sent.
    let third = "5218112340000";
    let batch = vec![
        wa.text(third, "Hola"),
        wa.tap(third, "consent:yes"),
        wa.tap(third, "anon:yes"),
    ];
    wa.deliver(&envelope(batch, vec![])).await;
    wa.stub.wait_for(third, 0, "¿En qué estado").await;
    assert!(
        !wa.stub
            .sent_to(third)
            .iter()
            .any(|m| render(m).contains("ya no aplica")),
        "{:?}",
        wa.stub.sent_to(third)
    );
    assert!(wa.stub.problems().is_empty(), "{:?}", wa.stub.problems());
}

async fn unsigned_or_missigned_deliveries_are_refused_without_a_trace(backend: Backend) {
    let wa = start(backend, &[]).await;
    let payload = envelope(vec![wa.text(WA_ID, "Hola")], vec![]);
    let body = payload.to_string().into_bytes();
    let other_body = envelope(vec![wa.text(WA_ID, "Hola!")], vec![])
        .to_string()
        .into_bytes();
    let mut wrong_secret = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"not-the-secret").unwrap();
    wrong_secret.update(&body);
    let wrong_secret = format!(
        "sha256={}",
        buzon::crypto::hex(&wrong_secret.finalize().into_bytes())
    );
    let good = wa.sign(&body);
    for signature in [
        None,
        Some(wrong_secret),
        Some(wa.sign(&other_body)),
        Some(good.trim_start_matches("sha256=").to_owned()),
        Some("sha256=".to_owned()),
        Some("sha1=0123".to_owned()),
    ] {
        let (status, answer) = wa.post_raw(body.clone(), signature.clone()).await;
        assert_eq!(status, 401, "{signature:?}: {answer}");
        assert_eq!(answer["error"]["code"], "invalid_signature");
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(wa.count("SELECT COUNT(*) FROM wa_inbox").await, 0);
    assert_eq!(wa.count("SELECT COUNT(*) FROM wa_conversations").await, 0);
    assert!(wa.stub.sent_to(WA_ID).is_empty());

    // The subscription handshake.
    let url = |token: &str, challenge: &str| {
        wa.server.url(&format!("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token={token}&hub.challenge={challenge}"))
    };
    let res = wa
        .http
        .get(url(&wa.verify_token, "1158201444"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "1158201444");
    for bad in [
        url("guess", "1158201444"),
        url(&wa.verify_token, "<script>"),
        wa.server.url("/webhooks/whatsapp"),
    ] {
        let res = wa.http.get(bad).send().await.unwrap();
        assert_eq!(res.status(), 403);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "verification_failed");
    }
    assert!(
        !wa.server.logs().contains(&wa.verify_token),
        "verify token logged"
    );

    // Signed right, it goes through.
    wa.deliver(&payload).await;
    wa.stub.wait_for(WA_ID, 0, "[consent:yes]").await;
}

async fn the_channel_is_off_until_configured(backend: Backend) {
    let server = TestServer::spawn(backend).await;
    let http = client();
    let res = http
        .get(server.url("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = http
        .post(server.url("/webhooks/whatsapp"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    let ready = get_json(&http, &server.url("/readyz")).await;
    assert_eq!(ready["status"], "ready");
    assert!(ready["whatsapp"].is_null());
}

on_both_backends!(
    an_anonymous_worker_files_with_evidence_in_spanish_and_follows_up,
    a_named_worker_files_in_english_and_is_one_person_in_both_number_forms,
    redeliveries_in_any_order_create_one_of_everything,
    unsigned_or_missigned_deliveries_are_refused_without_a_trace,
    the_channel_is_off_until_configured,
);
