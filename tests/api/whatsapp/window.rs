//! Meta's rules, kept: the 24-hour customer-service window (a question days after
//! the worker's last message goes out as the template, and the content follows when
//! they write), Graph's refusals shown on the case and not retried, username-only
//! users served at their user id, every status and every unused webhook field
//! acknowledged. The stand-in enforces the same rules, so breaking one fails here.

use super::*;
use crate::graph_stub::TEMPLATE;

/// A worker's number (the `+52 1` form), used only here.
const WORKER: &str = "5214775550142";
/// A username-only user's business-scoped id.
const USER_ID: &str = "US.13491208655302741918";

/// The channel on a test clock the stand-in follows too.
async fn start_on_clock(backend: Backend) -> (Wa, TestClock) {
    let clock = TestClock::new();
    let stub = GraphStub::start().await;
    stub.follow_clock(&clock);
    let secret = format!("appsecret-{}", uuid::Uuid::new_v4().simple());
    let verify_token = format!("verify-{}", uuid::Uuid::new_v4().simple());
    let options = wa::options(Options::default(), &stub, &secret, &verify_token)
        .env("BUZON_OUTBOX_RETRY_BASE_MS", "50");
    let server = TestServer::spawn_with(backend, clock.on(options)).await;
    let wa = Wa {
        server,
        stub,
        secret,
        verify_token,
        http: client(),
        counter: AtomicU64::new(0),
    };
    (wa, clock)
}

/// A named complaint in English from `WORKER`; its case reference.
async fn named_case(wa: &Wa) -> String {
    wa.script(vec![
        (wa.text(WORKER, "hi"), "[consent:yes]"),
        (wa.tap(WORKER, "consent:yes"), "[anon:no]"),
        (wa.tap(WORKER, "anon:no"), "What is your name?"),
        (wa.text(WORKER, NAME), "In which state"),
        (wa.text(WORKER, "Jalisco"), "name of the company"),
        (wa.text(WORKER, EMPLOYER), "[city:skip]"),
        (wa.tap(WORKER, "city:skip"), "[sector:electronics]"),
        (
            wa.tap(WORKER, "sector:electronics"),
            "[viol:union_interference]",
        ),
        (wa.tap(WORKER, "viol:excessive_hours"), "[viol:done]"),
        (wa.tap(WORKER, "viol:done"), "[trade:yes]"),
        (wa.tap(WORKER, "trade:no"), "Tell us what happened"),
        (wa.text(WORKER, NARRATIVE), "[evidence:done]"),
        (wa.tap(WORKER, "evidence:done"), "[confirm:send]"),
    ])
    .await;
    let text = wa
        .say(wa.tap(WORKER, "confirm:send"), "We received your complaint")
        .await;
    case_ref_in(&text)
}

async fn ask(wa: &Wa, admin: &str, case_ref: &str, body: &str) {
    let (st, sent) = crate::triage::call(
        &client(),
        "POST",
        &wa.server
            .url(&format!("/api/v1/cases/{case_ref}/questions")),
        Some(admin),
        Some(&json!({"body": body})),
    )
    .await;
    assert_eq!(
        (st, &sent["delivered_via"]),
        (201, &json!(["status_page", "whatsapp"])),
        "{sent}"
    );
}

async fn deliveries(wa: &Wa, admin: &str, case_ref: &str) -> Vec<Value> {
    let (st, case) = crate::triage::call(
        &client(),
        "GET",
        &wa.server.url(&format!("/api/v1/cases/{case_ref}")),
        Some(admin),
        None,
    )
    .await;
    assert_eq!(st, 200, "{case}");
    case["deliveries"].as_array().cloned().unwrap_or_default()
}

async fn metrics(wa: &Wa) -> String {
    wa.http
        .get(wa.server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn templates_to(wa: &Wa, to: &str) -> usize {
    wa.stub
        .sent_to(to)
        .iter()
        .filter(|m| m["type"] == "template")
        .count()
}

async fn a_question_days_later_goes_as_the_template_and_the_answer_brings_it(backend: Backend) {
    let (wa, clock) = start_on_clock(backend).await;
    let case_ref = named_case(&wa).await;
    let admin = crate::triage::add_staff(&wa.server, "admin@buzon.test", "admin", &[]).await;

    // Two days after the worker's last message: only a template may go.
    clock.advance(chrono::Duration::days(2));
    let before = wa.stub.sent_to(WORKER).len();
    ask(&wa, &admin, &case_ref, "Which line do you work on?").await;
    let i = wa
        .stub
        .wait_for(WORKER, before, &format!("[template {TEMPLATE} en]"))
        .await;
    // A second question while the first waits: one template per waiting batch.
    ask(&wa, &admin, &case_ref, "Since when?").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let sent = wa.stub.sent_to(WORKER);
    assert_eq!(sent.len(), i + 1, "only the template left: {sent:#?}");
    assert_eq!(templates_to(&wa, WORKER), 1);
    assert!(
        !render(&sent[i]).contains("Which line"),
        "the template carries no case content"
    );
    assert_eq!(wa.stub.window_refusals(), 0);
    let waiting = deliveries(&wa, &admin, &case_ref).await;
    assert_eq!(waiting.len(), 2, "{waiting:?}");
    assert!(
        waiting.iter().all(|d| d["state"] == "waiting"),
        "{waiting:?}"
    );
    assert!(
        waiting[0]["explanation"]
            .as_str()
            .unwrap()
            .contains("más de 24 horas"),
        "{waiting:?}"
    );
    // Nothing was spent: the rows wait with their retry budget untouched.
    assert_eq!(
        wa.count("SELECT COUNT(*) FROM outbox WHERE state = 'pending' AND attempts = 0 AND case_id IS NOT NULL").await,
        2
    );

    // The worker writes: the window opens and the waiting questions arrive, in order.
    let before = wa.stub.sent_to(WORKER).len();
    wa.deliver(&envelope(vec![wa.text(WORKER, "Hola")], vec![]))
        .await;
    let first = wa.stub.wait_for(WORKER, i + 1, "Which line").await;
    let second = wa.stub.wait_for(WORKER, first, "Since when?").await;
    assert!(second > first);
    wa.stub.wait_for(WORKER, before, "").await;
    assert!(deliveries(&wa, &admin, &case_ref).await.is_empty());
    assert_eq!(templates_to(&wa, WORKER), 1);
    assert!(
        metrics(&wa)
            .await
            .contains("buzon_whatsapp_templates_sent_total 1")
    );
    assert!(wa.stub.problems().is_empty(), "{:?}", wa.stub.problems());
}

#[tokio::test]
async fn the_stand_in_refuses_a_free_form_message_outside_the_window() {
    let (wa, clock) = start_on_clock(Backend::Sqlite).await;
    let text = |to: &str| json!({"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": "hola"}});
    // Never wrote: refused as Meta refuses it, in Meta's shape.
    let (status, answer) = wa.stub.post_message(&text("5215550001111")).await;
    assert_eq!(status, 400);
    let error = &answer["error"];
    assert_eq!(error["code"], 131047);
    for field in ["message", "type", "error_subcode", "fbtrace_id"] {
        assert!(!error[field].is_null(), "{field}: {answer}");
    }
    assert_eq!(error["error_data"]["messaging_product"], "whatsapp");
    assert!(error["error_data"]["details"].is_string());
    assert_eq!(wa.stub.window_refusals(), 1);
    assert!(
        !wa.stub.problems().is_empty(),
        "a test that does this fails"
    );
    wa.stub.clear_problems();

    // Wrote (in the `+52 1` form): inside the window, either form is them.
    wa.say(wa.text("5215550001111", "Hola"), "[consent:yes]")
        .await;
    assert_eq!(wa.stub.post_message(&text("525550001111")).await.0, 200);
    // 25 hours later: refused again; the template goes.
    clock.advance(chrono::Duration::hours(25));
    assert_eq!(wa.stub.post_message(&text("525550001111")).await.0, 400);
    let template = |name: &str, lang: &str, params: usize| {
        let parameters: Vec<Value> = (0..params)
            .map(|_| json!({"type": "text", "text": "x"}))
            .collect();
        let mut t = json!({"name": name, "language": {"code": lang}});
        if params > 0 {
            t["components"] = json!([{"type": "body", "parameters": parameters}]);
        }
        json!({"messaging_product": "whatsapp", "to": "525550001111", "type": "template", "template": t})
    };
    assert_eq!(
        wa.stub
            .post_message(&template(TEMPLATE, "es_MX", 0))
            .await
            .0,
        200
    );
    let (status, answer) = wa
        .stub
        .post_message(&template("not_registered", "es_MX", 0))
        .await;
    assert_eq!((status, &answer["error"]["code"]), (404, &json!(132001)));
    let (status, answer) = wa.stub.post_message(&template(TEMPLATE, "es_MX", 1)).await;
    assert_eq!((status, &answer["error"]["code"]), (400, &json!(132000)));
    wa.stub.register_template("buzon_with_one", "es_MX", 1);
    assert_eq!(
        wa.stub
            .post_message(&template("buzon_with_one", "es_MX", 1))
            .await
            .0,
        200
    );
    // A username-only user is addressed by `recipient`.
    let to_user = json!({"messaging_product": "whatsapp", "recipient": USER_ID, "type": "text", "text": {"body": "hola"}});
    assert_eq!(wa.stub.post_message(&to_user).await.0, 400, "never wrote");
    wa.deliver(&user_delivery(wa.text(USER_ID, "Hola"))).await;
    assert_eq!(wa.stub.post_message(&to_user).await.0, 200);
    assert_eq!(wa.stub.window_refusals(), 3);
    wa.stub.clear_problems();
}

async fn a_refusal_is_shown_on_the_case_and_not_retried(backend: Backend) {
    let wa = start(backend, &[]).await;
    let case_ref = named_case(&wa).await;
    let admin = crate::triage::add_staff(&wa.server, "admin@buzon.test", "admin", &[]).await;
    // Meta says the window is closed (our record of it notwithstanding).
    wa.stub.fail_next(&[Failure::Meta(400, 131047)]);
    let attempts = wa.stub.attempts();
    ask(&wa, &admin, &case_ref, "Which line do you work on?").await;
    wa.wait_count(
        "SELECT COUNT(*) FROM outbox WHERE state = 'dead' AND case_id IS NOT NULL",
        1,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(wa.stub.attempts(), attempts + 1, "tried once, not 16 times");
    assert_eq!(
        wa.count("SELECT COUNT(*) FROM outbox WHERE state = 'dead' AND attempts = 1 AND last_error = 'window:131047'").await,
        1
    );
    let shown = deliveries(&wa, &admin, &case_ref).await;
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(shown[0]["state"], "not_delivered");
    assert!(
        shown[0]["explanation"]
            .as_str()
            .unwrap()
            .contains("la persona debe escribir primero"),
        "{shown:?}"
    );
    // The console page says it too.
    let browser = client();
    crate::triage_login::first_sign_in(&wa.server, &browser, "admin@buzon.test").await;
    let page = get_text(
        &browser,
        &wa.server.url(&format!("/triage/cases/{case_ref}")),
    )
    .await;
    assert!(
        page.contains("la persona debe escribir primero"),
        "the console shows the refusal"
    );
    assert!(
        metrics(&wa)
            .await
            .contains(r#"buzon_whatsapp_refused_total{reason="window",code="131047"} 1"#)
    );
    // A temporary error code is retried as before.
    wa.stub.fail_next(&[Failure::Meta(400, 130429)]);
    let before = wa.stub.sent_to(WORKER).len();
    ask(&wa, &admin, &case_ref, "Since when?").await;
    wa.stub.wait_for(WORKER, before, "Since when?").await;
    // Sent, then reported failed by a status: shown on the case as well.
    let (wamid, _) = wa.stub.accepted().pop().unwrap();
    let failed = json!({"id": wamid, "status": "failed", "timestamp": "1764300000", "recipient_id": WORKER,
                        "errors": [{"code": 131026, "title": "Message undeliverable"}]});
    wa.deliver(&envelope(vec![], vec![failed])).await;
    wa.wait_count("SELECT COUNT(*) FROM outbox WHERE delivery = 'failed'", 1)
        .await;
    let shown = deliveries(&wa, &admin, &case_ref).await;
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert_eq!(shown[1]["state"], "not_delivered");
    assert_eq!(
        shown[1]["reason"],
        "unreachable:131026 Message undeliverable"
    );
    assert!(wa.stub.problems().is_empty(), "{:?}", wa.stub.problems());
}

/// A delivery from a username-only user: no phone anywhere, only the user id (on the
/// message and on the contact), as Meta sends it.
fn user_delivery(mut message: Value) -> Value {
    let id = message["from"].as_str().unwrap().to_owned();
    let map = message.as_object_mut().unwrap();
    map.remove("from");
    map.insert("from_user_id".into(), json!(id));
    let mut payload = envelope(vec![message], vec![]);
    payload["entry"][0]["changes"][0]["value"]["contacts"] =
        json!([{"profile": {"name": "Perfil", "username": "@perfil"}, "user_id": id}]);
    payload
}

async fn a_username_only_user_files_and_statuses_by_user_id_are_recorded(backend: Backend) {
    let mut wa = start(backend, &[]).await;
    for &(tap, sent, expect) in wa::CONVERSATION {
        let message = if tap {
            wa.tap(USER_ID, sent)
        } else {
            wa.text(USER_ID, sent)
        };
        let before = wa.stub.sent_to(USER_ID).len();
        wa.deliver(&user_delivery(message)).await;
        wa.stub.wait_for(USER_ID, before, expect).await;
    }
    assert_eq!(wa.count("SELECT COUNT(*) FROM cases").await, 1);
    // Every reply went to the user id, as `recipient`.
    let sent = wa.stub.accepted();
    assert!(
        sent.iter()
            .all(|(_, m)| m["recipient"] == USER_ID && m.get("to").is_none())
    );

    // Statuses addressed by user id, with numbers for timestamps, `played`, and a
    // failure with its error: all recorded, none dropped.
    let (first, second) = (&sent[0].0, &sent[1].0);
    let status = |id: &str, status: &str| {
        json!({"id": id, "status": status, "timestamp": 1_764_300_000u64, "recipient_user_id": USER_ID,
               "parent_recipient_user_id": "US.ENT.506847293015824",
               "conversation": {"id": "C1", "expiration_timestamp": 1_764_386_400u64, "origin": {"type": "service"}},
               "pricing": {"billable": false, "pricing_model": "PMP", "type": "free_customer_service", "category": "service"}})
    };
    let mut failed = status(second, "failed");
    failed["errors"] = json!([{"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable", "error_data": {"details": "x"}}]);
    let statuses = vec![
        status(first, "delivered"),
        status(first, "read"),
        status(first, "played"),
        failed,
    ];
    wa.deliver(&envelope(vec![], statuses)).await;
    wa.wait_count("SELECT COUNT(*) FROM outbox WHERE delivery = 'played'", 1)
        .await;
    wa.wait_count(
        "SELECT COUNT(*) FROM outbox WHERE delivery = 'failed' AND delivery_error = 'unreachable:131026 Message undeliverable'",
        1,
    )
    .await;
    let logs = wa.server.logs();
    assert!(!logs.contains("US.1349"), "the user id is never logged");
    assert_none_in(
        &wa.server.everything_written(),
        &[USER_ID, "13491208655302741918"],
    );
    assert!(wa.stub.problems().is_empty(), "{:?}", wa.stub.problems());
}

#[tokio::test]
async fn every_field_buzon_does_not_use_is_acknowledged_and_counted() {
    let wa = start(Backend::Sqlite, &[]).await;
    let change = |field: &str, value: Value| {
        json!({"object": "whatsapp_business_account",
               "entry": [{"id": "1", "changes": [{"field": field, "value": value}]}]})
    };
    for field in [
        "account_update",
        "message_template_status_update",
        "message_template_quality_update",
        "message_template_components_update",
        "template_category_update",
        "calls",
        "smb_message_echoes",
        "user_preferences",
    ] {
        wa.deliver(&change(
            field,
            json!({"event": "X", "messaging_product": "whatsapp"}),
        ))
        .await;
    }
    let from = "5215550002222";
    let mut messages = Vec::new();
    for (kind, part) in [
        ("reaction", json!({"message_id": "wamid.X", "emoji": "👍"})),
        ("edit", json!({"original_message_id": "wamid.X"})),
        ("revoke", json!({"original_message_id": "wamid.X"})),
        (
            "system",
            json!({"body": "User changed number", "type": "user_changed_number"}),
        ),
    ] {
        let mut m = wa.base(from, kind);
        m[kind] = part;
        messages.push(m);
    }
    let mut with_errors = envelope(messages, vec![]);
    with_errors["entry"][0]["changes"][0]["value"]["errors"] =
        json!([{"code": 131051, "title": "Unsupported message type"}]);
    wa.deliver(&with_errors).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(wa.count("SELECT COUNT(*) FROM wa_inbox").await, 0);
    assert!(wa.stub.accepted().is_empty(), "nothing is answered");
    let text = metrics(&wa).await;
    for what in [
        "account_update",
        "message_template_status_update",
        "calls",
        "smb_message_echoes",
        "user_preferences",
        "reaction",
        "edit",
        "revoke",
        "system",
        "errors",
    ] {
        assert!(
            text.contains(&format!(
                "buzon_whatsapp_webhook_ignored_total{{what=\"{what}\"}}"
            )),
            "{what}"
        );
    }
    let logs = wa.server.logs();
    assert!(logs.contains("skipped=0"), "none skipped as malformed");
}

on_both_backends!(
    a_question_days_later_goes_as_the_template_and_the_answer_brings_it,
    a_refusal_is_shown_on_the_case_and_not_retried,
    a_username_only_user_files_and_statuses_by_user_id_are_recorded,
);
