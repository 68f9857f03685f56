//! What the WhatsApp channel promises under fire: hostile payloads, failing sends
//! retried then dead-lettered, abandoned conversations erased, a flooding sender
//! limited alone.

use super::*;

#[tokio::test]
async fn hostile_payloads_never_break_the_channel() {
    // One sender sends far more here than a worker would: lift the per-sender limit.
    // A small webhook cap, so the oversized body fits the socket buffers and the 413
    // is read rather than cut off by the closed connection.
    let wa = start(
        Backend::Sqlite,
        &[
            ("BUZON_WHATSAPP_SENDER_BURST", "100"),
            ("BUZON_WEBHOOK_MAX_BODY_BYTES", "65536"),
        ],
    )
    .await;
    // Signed, but not what Meta sends.
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (br#"{"object":"whatsapp_business_account","entry":[{"id":"1","chan"#.to_vec(), 400),
        (b"[1,2,3]".to_vec(), 400),
        (b"".to_vec(), 400),
        (br#"{"object":5,"entry":"x"}"#.to_vec(), 200),
        (br#"{"entry":[{"changes":[{"field":"messages","value":{"messages":[{"from":123,"id":["x"]},{"from":"52","id":""}]}}]}]}"#.to_vec(), 200),
        (br#"{"entry":[{"changes":[{"field":"messages","value":{"messages":"no","statuses":[{"id":1}]}}]}]}"#.to_vec(), 200),
        (format!(r#"{{"entry":[{{"changes":[{{"field":"messages","value":{{"messages":[{}]}}}}]}}]}}"#, vec!["1"; 40_000].join(",")).into_bytes(), 413),
    ];
    for (body, want) in cases {
        let sig = wa.sign(&body);
        let (status, answer) = wa.post_raw(body, Some(sig)).await;
        assert_eq!(status, want, "{answer}");
        if want != 200 {
            assert!(answer["error"]["code"].is_string(), "{answer}");
        }
    }
    assert_eq!(wa.count("SELECT COUNT(*) FROM wa_inbox").await, 0);

    // Types we don't take, mid-conversation: a polite answer, and the question again.
    let from = "5213312345678";
    wa.say(wa.text(from, "Hola"), "[consent:yes]").await;
    wa.say(wa.tap(from, "consent:yes"), "[anon:yes]").await;
    for (kind, part) in [
        (
            "sticker",
            json!({"id": "1", "mime_type": "image/webp", "sha256": "ab", "animated": false}),
        ),
        (
            "location",
            json!({"latitude": 19.4, "longitude": -99.1, "name": "Planta 2"}),
        ),
        ("order", json!({"catalog_id": "1", "product_items": []})),
        (
            "contacts",
            json!([{"name": {"formatted_name": "Otra Persona"}}]),
        ),
        ("hologram", json!({"depth": 3})),
        ("text", json!({"body": 12})),
    ] {
        let mut m = wa.base(from, kind);
        m[kind] = part;
        // The polite answer comes first, then the question again (counted below).
        wa.say(m, "[anon:yes]").await;
    }
    let sticker_answers = wa
        .stub
        .sent_to(from)
        .iter()
        .filter(|m| render(m).contains("Solo podemos leer"))
        .count();
    assert_eq!(sticker_answers, 6);
    // A reaction to one of our messages is not the worker speaking: acknowledged,
    // counted, never answered (issue 31).
    let before = wa.stub.sent_to(from).len();
    let mut reaction = wa.base(from, "reaction");
    reaction["reaction"] = json!({"message_id": "wamid.Z", "emoji": "🔥"});
    wa.deliver(&envelope(vec![reaction], vec![])).await;
    // A file type we don't keep.
    wa.say(wa.tap(from, "anon:yes"), "¿En qué estado").await;
    assert_eq!(
        wa.stub.sent_to(from)[before..]
            .iter()
            .filter(|m| render(m).contains("Solo podemos leer"))
            .count(),
        0,
        "the reaction got no answer"
    );
    wa.say(
        wa.file(
            from,
            "document",
            "99",
            "application/x-msdownload",
            "ab",
            None,
        ),
        "No podemos guardar",
    )
    .await;
    // Very long, emoji and right-to-left text.
    wa.say(wa.text(from, &"Jalisco ".repeat(1250)), "No reconocimos")
        .await;
    wa.say(wa.text(from, "Jalisco"), "¿Cómo se llama la empresa")
        .await;
    wa.say(wa.text(from, "مصنع الأمل 🏭 ‏שלום‎"), "[city:skip]")
        .await;
    wa.say(wa.tap(from, "city:skip"), "[sector:mining]").await;
    wa.say(wa.tap(from, "sector:mining"), "[viol:union_interference]")
        .await;
    wa.say(wa.tap(from, "viol:other"), "[viol:done]").await;
    wa.say(wa.tap(from, "viol:done"), "[trade:yes]").await;
    wa.say(wa.tap(from, "trade:yes"), "Cuéntenos").await;
    wa.say(wa.text(from, &"x".repeat(10_001)), "demasiado largo")
        .await;
    wa.say(wa.text(from, &"🙂 ".repeat(3000)), "[evidence:done]")
        .await;
    // A stale tap from an old list is answered with the current question.
    wa.say(wa.tap(from, "sector:glass"), "ya no aplica").await;

    // The channel still works for the next sender.
    wa.say(wa.text("5215512345678", "Hola"), "[consent:yes]")
        .await;
    let logs = wa.server.logs();
    assert!(!logs.contains("panicked"), "{logs}");
    assert!(!logs.contains("status=500"), "a 500 was answered");
    assert_eq!(
        wa.count("SELECT COUNT(*) FROM wa_inbox WHERE state <> 'done'")
            .await,
        0
    );
    assert!(wa.stub.problems().is_empty(), "{:?}", wa.stub.problems());
}

#[tokio::test]
async fn failed_sends_are_retried_then_dead_lettered_and_statuses_recorded() {
    let wa = start(
        Backend::Sqlite,
        &[
            ("BUZON_WHATSAPP_TIMEOUT_SECS", "1"),
            ("BUZON_OUTBOX_MAX_ATTEMPTS", "5"),
        ],
    )
    .await;
    // A server error, a rate limit, an expired token, a hang: all retried.
    wa.stub.fail_next(&[
        Failure::Status(500),
        Failure::Status(429),
        Failure::Status(401),
        Failure::Hang(Duration::from_millis(2500)),
    ]);
    wa.say(wa.text(WA_ID, "Hola"), "[consent:yes]").await;
    assert_eq!(wa.stub.attempts(), 5);
    // The stub has the message before the worker records the send: wait for that.
    wa.wait_count(
        "SELECT COUNT(*) FROM outbox WHERE state = 'sent' AND attempts = 5",
        1,
    )
    .await;
    // Sent rows keep no content.
    assert_eq!(
        wa.count("SELECT COUNT(*) FROM outbox WHERE state = 'sent' AND length(payload_ct) > 0")
            .await,
        0
    );

    // Five failures: dead-lettered, logged, visible in /readyz; the next message goes.
    wa.stub.fail_next(&[Failure::Status(503); 5]);
    wa.deliver(&envelope(vec![wa.text("5218187654321", "AYUDA")], vec![]))
        .await;
    wa.wait_count("SELECT COUNT(*) FROM outbox WHERE state = 'dead'", 1)
        .await;
    // A permanent refusal is not retried.
    wa.stub.fail_next(&[Failure::Status(400)]);
    wa.deliver(&envelope(vec![wa.text("5218187654322", "HELP")], vec![]))
        .await;
    wa.wait_count(
        "SELECT COUNT(*) FROM outbox WHERE state = 'dead' AND attempts = 1",
        1,
    )
    .await;
    let ready = get_json(&wa.http, &wa.server.url("/readyz")).await;
    assert_eq!(ready["outbox"]["dead"], 2, "{ready}");
    assert_eq!(ready["whatsapp"]["inbox_pending"], 0, "{ready}");
    assert!(wa.server.logs().contains("outbox message dead-lettered"));
    wa.say(wa.text(WA_ID, "AYUDA"), "CANCELAR").await;
    // Once the cause is fixed, an operator sends the dead letters again.
    let out = wa
        .server
        .command(&Options::args(&["outbox", "requeue"]))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("requeued 2"));
    wa.stub.wait_for("5218187654321", 0, "CANCELAR").await;
    wa.stub.wait_for("5218187654322", 0, "CANCEL").await;
    let ready = get_json(&wa.http, &wa.server.url("/readyz")).await;
    assert_eq!(ready["outbox"]["dead"], 0, "{ready}");

    // Status callbacks land on the message they are about, never going backwards.
    let status = |s: &str| json!({"id": "wamid.OUT00000001", "status": s, "timestamp": "1764300001", "recipient_id": WA_ID});
    wa.deliver(&envelope(vec![], vec![status("delivered")]))
        .await;
    wa.deliver(&envelope(vec![], vec![status("read"), status("delivered")]))
        .await;
    wa.deliver(&envelope(vec![], vec![status("delivered")]))
        .await;
    assert_eq!(
        wa.count("SELECT COUNT(*) FROM outbox WHERE delivery = 'read'")
            .await,
        1
    );
    assert_eq!(
        wa.count("SELECT COUNT(*) FROM wa_inbox").await,
        4,
        "statuses are not messages"
    );
    // A status that overtakes the record of its send is kept and applied after.
    let next = wa.stub.next_wamid();
    let early = json!({"id": next, "status": "delivered", "timestamp": "1764300002", "recipient_id": WA_ID});
    wa.deliver(&envelope(vec![], vec![early])).await;
    assert_eq!(wa.count("SELECT COUNT(*) FROM delivery_statuses").await, 1);
    wa.say(wa.text(WA_ID, "AYUDA"), "CANCELAR").await;
    wa.wait_count(
        "SELECT COUNT(*) FROM outbox WHERE delivery = 'delivered'",
        1,
    )
    .await;
    wa.wait_count("SELECT COUNT(*) FROM delivery_statuses", 0)
        .await;
    assert!(wa.stub.problems().is_empty(), "{:?}", wa.stub.problems());
}

#[tokio::test]
async fn abandoned_and_expired_conversations_are_erased() {
    let wa = start(Backend::Sqlite, &[("BUZON_WHATSAPP_IDLE_SECS", "5")]).await;
    let sha = wa.stub.add_media("770011", "image/png", b"png-bytes", 0);
    let a = "5214421111111";
    wa.say(wa.text(a, "Hola"), "[consent:yes]").await;
    wa.say(wa.tap(a, "consent:yes"), "[anon:yes]").await;
    wa.say(
        wa.file(a, "image", "770011", "image/png", &sha, None),
        "Archivo recibido (1)",
    )
    .await;
    assert_eq!(wa.count("SELECT COUNT(*) FROM attachments").await, 1);
    // Idle past the limit: erased with its file, and the worker is told.
    let before = wa.stub.sent_to(a).len();
    wa.stub
        .wait_for(a, before, "Borramos su queja sin terminar")
        .await;
    assert_eq!(wa.count("SELECT COUNT(*) FROM wa_conversations").await, 0);
    assert_eq!(wa.count("SELECT COUNT(*) FROM attachments").await, 0);

    let b = "5214422222222";
    wa.say(wa.text(b, "Hola"), "[consent:yes]").await;
    wa.say(wa.tap(b, "consent:yes"), "[anon:yes]").await;
    wa.say(wa.text(b, "CANCELAR"), "cancelamos su queja").await;
    let c = "5214423333333";
    wa.say(wa.text(c, "Hola"), "[consent:yes]").await;
    wa.say(wa.text(c, "borrar"), "Borramos todo").await;
    wa.say(wa.text(c, "Cancel"), "There is no complaint in progress")
        .await;
    // Declining consent keeps nothing either.
    let d = "5214424444444";
    wa.say(wa.text(d, "Hola"), "[consent:no]").await;
    wa.say(wa.tap(d, "consent:no"), "No guardamos nada").await;
    assert_eq!(wa.count("SELECT COUNT(*) FROM wa_conversations").await, 0);
    // Writing again after the expiry starts over.
    wa.say(wa.tap(a, "anon:yes"), "[consent:yes]").await;
    assert!(wa.stub.problems().is_empty(), "{:?}", wa.stub.problems());
}

#[tokio::test]
async fn a_flooding_sender_is_limited_alone() {
    let wa = start(
        Backend::Sqlite,
        &[
            ("BUZON_WHATSAPP_SENDER_PER_MINUTE", "1"),
            ("BUZON_WHATSAPP_SENDER_BURST", "3"),
        ],
    )
    .await;
    let flood: Vec<Value> = (0..8)
        .map(|i| wa.text(WA_ID, &format!("mensaje {i}")))
        .collect();
    wa.deliver(&envelope(flood, vec![])).await;
    // Three go through; five wait (acknowledged, so never dropped); one notice.
    wa.stub.wait_for(WA_ID, 0, "muchos mensajes seguidos").await;
    wa.wait_count("SELECT COUNT(*) FROM wa_inbox WHERE state = 'done'", 3)
        .await;
    assert_eq!(
        wa.count("SELECT COUNT(*) FROM wa_inbox WHERE state = 'pending'")
            .await,
        5
    );
    let notices = wa
        .stub
        .sent_to(WA_ID)
        .iter()
        .filter(|m| render(m).contains("muchos mensajes seguidos"))
        .count();
    assert_eq!(notices, 1, "one notice, not one per message");
    // Someone else is not affected.
    wa.say(wa.text("5219991234567", "Hola"), "[consent:yes]")
        .await;
    // A large batch (well over the 64 KiB cap of people's requests, under the 3 MB
    // Meta may send) is accepted whole.
    let batch: Vec<Value> = (0..50)
        .map(|i| {
            let mut m = wa.text(&format!("52155{i:08}"), "Hola");
            m["padding"] = json!("x".repeat(1900));
            m
        })
        .collect();
    let payload = envelope(batch, vec![]);
    assert!(payload.to_string().len() > 90_000);
    wa.deliver(&payload).await;
    // 50 + the 3 + the other sender's 1 (and, on a very slow run, a deferred one).
    wa.wait_count_at_least("SELECT COUNT(*) FROM wa_inbox WHERE state = 'done'", 54)
        .await;
    assert!(wa.stub.problems().is_empty(), "{:?}", wa.stub.problems());
}
