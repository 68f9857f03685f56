//! A WhatsApp worker and the office talk about a filed case: the inspector's question
//! goes to the exact WhatsApp id the worker wrote from, the worker's answer reaches
//! the case, ESTADO shows the conversation, several open cases are asked about by
//! reference, NUEVA starts a new complaint, and a closed case tells the worker how it
//! ended and where to turn next. Every exchange stays within minutes of the worker's
//! last message (Meta's 24-hour window).

use super::*;

/// The worker's WhatsApp id, in the `+52 1` form some numbers still have, and the
/// E.164 form the case shows: notices must go to the first.
const FROM: &str = "5214775550142";
const E164_DIGITS: &str = "524775550142";
const WORKER: &str = "Herminia Cuautle Zavaleta";

/// Files a named complaint from `from` through the whole interview: its reference
/// and receipt. A sender who has an open case starts with NUEVA (otherwise their
/// first message is offered to that case).
async fn file_named(wa: &Wa, from: &str, again: bool) -> (String, String) {
    let mut steps = Vec::new();
    for (i, &(tap, sent, expect)) in wa::CONVERSATION.iter().enumerate() {
        match sent {
            _ if i == 0 && again => steps.push((wa.text(from, "NUEVA"), expect)),
            "anon:yes" => {
                steps.push((wa.tap(from, "anon:no"), "¿Cuál es su nombre?"));
                steps.push((wa.text(from, WORKER), "¿En qué estado"));
            }
            _ if tap => steps.push((wa.tap(from, sent), expect)),
            _ => steps.push((wa.text(from, sent), expect)),
        }
    }
    let (last, before) = steps.split_last().expect("a conversation");
    let (last_message, last_expect) = last.clone();
    wa.script(before.to_vec()).await;
    let receipt_text = wa.say(last_message, last_expect).await;
    (
        case_ref_in(&receipt_text),
        receipt_in(&receipt_text, "Su código secreto"),
    )
}

async fn case_json(wa: &Wa, token: &str, case_ref: &str) -> Value {
    let (st, case) = crate::triage::call(
        &client(),
        "GET",
        &wa.server.url(&format!("/api/v1/cases/{case_ref}")),
        Some(token),
        None,
    )
    .await;
    assert_eq!(st, 200, "{case}");
    case
}

fn bodies(case: &Value) -> Vec<String> {
    case["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect()
}

async fn post(wa: &Wa, token: &str, path: &str, body: Value) -> (u16, Value) {
    crate::triage::call(
        &client(),
        "POST",
        &wa.server.url(path),
        Some(token),
        Some(&body),
    )
    .await
}

/// The web status page a receipt opens.
pub(crate) async fn status_page(server: &TestServer, receipt: &str) -> String {
    let http = client();
    let form = get_text(&http, &server.url("/status")).await;
    let (status, html) = post_form(
        &http,
        &server.url("/status"),
        &[
            ("csrf", csrf_token(&form).as_str()),
            ("lang", "es"),
            ("receipt", receipt),
        ],
    )
    .await;
    assert_eq!(status, 200, "{html}");
    html
}

async fn a_named_worker_answers_the_inspector_on_whatsapp(backend: Backend) {
    let mut wa = start(backend, &[]).await;
    let (case_ref, receipt) = file_named(&wa, FROM, false).await;
    let admin = crate::triage::add_staff(&wa.server, "admin@buzon.test", "admin", &[]).await;

    // The question goes to the exact id the worker wrote from, not the E.164 form.
    let before = wa.stub.sent_to(FROM).len();
    let (st, sent) = post(
        &wa,
        &admin,
        &format!("/api/v1/cases/{case_ref}/questions"),
        json!({"body": "¿En qué línea trabaja?"}),
    )
    .await;
    assert_eq!(
        (st, &sent["delivered_via"]),
        (201, &json!(["status_page", "whatsapp"]))
    );
    let i = wa
        .stub
        .wait_for(FROM, before, "¿En qué línea trabaja?")
        .await;
    assert!(render(&wa.stub.sent_to(FROM)[i]).contains("Pregunta sobre su queja"));
    assert!(
        wa.stub.sent_to(E164_DIGITS).is_empty(),
        "sent to the E.164 form"
    );
    // Kept with the case: the exact id, encrypted, and the sender's index.
    let (wa_id, row) = wa
        .unseal(
            "complainants",
            "wa_id_ct",
            "SELECT case_id, wa_id_ct, wa_sender_bidx FROM complainants",
        )
        .await;
    assert_eq!(wa_id, FROM.as_bytes());
    let bidx: Vec<u8> = row.try_get_by_index(2).unwrap();
    let keys = KeyRing::load(&wa.server.keys_file()).unwrap();
    assert_eq!(bidx, keys.blind_index.compute("phone", "+524775550142"));

    // The worker answers in the chat: the answer is on the case, back in review.
    let confirm = wa
        .say(
            wa.text(FROM, "En la línea 3, turno de noche."),
            "Recibimos su respuesta",
        )
        .await;
    assert!(
        confirm.contains(&case_ref) && confirm.contains("[reply:new]"),
        "{confirm}"
    );
    let case = case_json(&wa, &admin, &case_ref).await;
    assert_eq!(case["status"], "in_review", "{case}");
    assert!(
        bodies(&case)
            .iter()
            .any(|b| b == "En la línea 3, turno de noche."),
        "{case}"
    );
    assert_eq!(wa.count("SELECT COUNT(*) FROM wa_conversations").await, 0);

    // ESTADO shows both sides and says how to answer here, not "below".
    let status = wa
        .say(
            wa.text(FROM, &format!("ESTADO {receipt}")),
            "Últimos mensajes",
        )
        .await;
    assert!(
        status.contains("¿En qué línea trabaja?")
            && status.contains("En la línea 3")
            && status.contains("en este chat")
            && !status.contains("abajo"),
        "{status}"
    );

    // A later message, with no question waiting, is offered before it is added.
    let offer = wa
        .say(
            wa.text(FROM, "También nos quitaron el bono."),
            "¿Su mensaje es sobre su queja",
        )
        .await;
    assert!(
        offer.contains(&format!("[reply:case:{case_ref}]")) && offer.contains("[reply:new]"),
        "{offer}"
    );
    assert_eq!(wa.count("SELECT COUNT(*) FROM wa_pending_replies").await, 1);
    wa.say(
        wa.tap(FROM, &format!("reply:case:{case_ref}")),
        "Agregamos su mensaje",
    )
    .await;
    let case = case_json(&wa, &admin, &case_ref).await;
    assert!(
        bodies(&case)
            .iter()
            .any(|b| b == "También nos quitaron el bono."),
        "{case}"
    );
    assert_eq!(wa.count("SELECT COUNT(*) FROM wa_pending_replies").await, 0);

    // NUEVA starts a new complaint.
    wa.say(wa.text(FROM, "NUEVA"), "[consent:yes]").await;
    assert!(
        wa.stub
            .sent_to(FROM)
            .iter()
            .any(|m| render(m).contains("Empecemos una queja nueva")),
    );
    assert_eq!(wa.count("SELECT COUNT(*) FROM wa_conversations").await, 1);

    assert!(wa.stub.problems().is_empty(), "{:?}", wa.stub.problems());
    assert!(wa.stub.sent_to(E164_DIGITS).is_empty());
    let places = wa.server.everything_written();
    assert_none_in(
        &places,
        &[
            FROM,
            E164_DIGITS,
            "4775550142",
            WORKER,
            "turno de noche",
            "el bono",
        ],
    );
}

async fn several_open_cases_are_asked_which_and_a_duplicate_close_is_told(backend: Backend) {
    let wa = start(backend, &[]).await;
    let (first, _) = file_named(&wa, FROM, false).await;
    let (second, second_receipt) = file_named(&wa, FROM, true).await;
    let admin = crate::triage::add_staff(&wa.server, "admin@buzon.test", "admin", &[]).await;

    let offer = wa
        .say(
            wa.text(FROM, "Hoy despidieron a dos compañeras."),
            "¿Sobre cuál es su mensaje?",
        )
        .await;
    for id in [
        format!("[reply:case:{first}]"),
        format!("[reply:case:{second}]"),
        "[reply:new]".to_owned(),
    ] {
        assert!(offer.contains(&id), "{id} in {offer}");
    }
    // More words before choosing belong to the same message; the choice is asked again.
    wa.say(
        wa.text(FROM, "Sin liquidación."),
        "¿Sobre cuál es su mensaje?",
    )
    .await;
    let added = wa
        .say(
            wa.tap(FROM, &format!("reply:case:{second}")),
            "Agregamos su mensaje",
        )
        .await;
    assert!(added.contains(&second), "{added}");
    let chosen = bodies(&case_json(&wa, &admin, &second).await);
    assert!(
        chosen
            .iter()
            .any(|b| b.contains("dos compañeras") && b.contains("Sin liquidación")),
        "{chosen:?}"
    );
    assert!(bodies(&case_json(&wa, &admin, &first).await).is_empty());

    // A held message and NUEVA: the held one is dropped, a new complaint starts.
    wa.say(wa.text(FROM, "Otra cosa"), "¿Sobre cuál es su mensaje?")
        .await;
    wa.say(wa.tap(FROM, "reply:new"), "[consent:yes]").await;
    assert_eq!(wa.count("SELECT COUNT(*) FROM wa_pending_replies").await, 0);
    wa.say(wa.text(FROM, "CANCELAR"), "cancelamos").await;

    // The second case closed as a duplicate of the first: the worker is told how it
    // ended, on WhatsApp, at the id they wrote from, and on the status page.
    let before = wa.stub.sent_to(FROM).len();
    let (st, body) = post(
        &wa,
        &admin,
        &format!("/api/v1/cases/{second}/duplicate"),
        json!({"duplicate_of": first}),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    let i = wa.stub.wait_for(FROM, before, "Su queja se cerró").await;
    let told = render(&wa.stub.sent_to(FROM)[i]);
    assert!(
        told.contains(&second) && told.contains("misma situación") && told.contains("Procuraduría"),
        "{told}"
    );
    let page = status_page(&wa.server, &second_receipt).await;
    assert!(
        page.contains("id=\"closing\"") && page.contains("misma situación"),
        "{page}"
    );
    assert!(wa.stub.problems().is_empty(), "{:?}", wa.stub.problems());
}

async fn a_closed_case_tells_the_worker_how_it_ended_and_what_next(backend: Backend) {
    let wa = start(backend, &[]).await;
    let (case_ref, receipt) = file_named(&wa, FROM, false).await;
    let admin = crate::triage::add_staff(&wa.server, "admin@buzon.test", "admin", &[]).await;
    let before = wa.stub.sent_to(FROM).len();
    let (st, body) = post(
        &wa,
        &admin,
        &format!("/api/v1/cases/{case_ref}/status"),
        json!({"status": "closed", "outcome": "unfounded"}),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    let i = wa.stub.wait_for(FROM, before, "Su queja se cerró").await;
    let told = render(&wa.stub.sent_to(FROM)[i]);
    assert!(
        told.contains(&case_ref)
            && told.contains("no encontramos elementos")
            && told.contains("Si no está de acuerdo")
            && told.contains("Procuraduría")
            && told.contains("art. 530"),
        "{told}"
    );
    assert!(wa.stub.sent_to(E164_DIGITS).is_empty());
    // The status page and ESTADO say the same.
    let page = status_page(&wa.server, &receipt).await;
    assert!(
        page.contains("id=\"closing\"") && page.contains("no encontramos elementos"),
        "{page}"
    );
    let status = wa
        .say(wa.text(FROM, &format!("ESTADO {receipt}")), "Cerrada")
        .await;
    assert!(status.contains("no encontramos elementos"), "{status}");
    // A message after closing is not offered to the closed case.
    let new = wa.say(wa.text(FROM, "Hola"), "[consent:yes]").await;
    assert!(!new.contains("reply:case"), "{new}");
    // The audit says it was told.
    assert_eq!(
        wa.count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'status' \
             AND detail = 'received -> closed (unfounded); told via whatsapp'"
        )
        .await,
        1
    );
}

async fn an_anonymous_worker_answers_with_their_code(backend: Backend) {
    let wa = start(backend, &[]).await;
    wa.until_summary(FROM).await;
    let text = wa
        .say(wa.tap(FROM, "confirm:send"), "Recibimos su queja")
        .await;
    let (case_ref, receipt) = (case_ref_in(&text), receipt_in(&text, "Su código secreto"));
    let admin = crate::triage::add_staff(&wa.server, "admin@buzon.test", "admin", &[]).await;
    let (st, sent) = post(
        &wa,
        &admin,
        &format!("/api/v1/cases/{case_ref}/questions"),
        json!({"body": "¿Cuántas horas extra al día?"}),
    )
    .await;
    // Nothing ties an anonymous case to a number: only the status page has it.
    assert_eq!((st, &sent["delivered_via"]), (201, &json!(["status_page"])));
    assert_eq!(
        wa.count("SELECT COUNT(*) FROM complainants").await,
        0,
        "no index of the sender"
    );
    let status = wa
        .say(wa.text(FROM, &format!("ESTADO {receipt}")), "RESPONDER")
        .await;
    assert!(status.contains("¿Cuántas horas extra al día?"), "{status}");
    // A plain message is not an answer (it starts a complaint); with the code it is.
    wa.say(wa.text(FROM, "Cuatro horas"), "[consent:yes]").await;
    wa.say(wa.text(FROM, "CANCELAR"), "cancelamos").await;
    wa.say(
        wa.text(FROM, &format!("RESPONDER {receipt} Cuatro horas diarias")),
        "Agregamos su mensaje",
    )
    .await;
    let case = case_json(&wa, &admin, &case_ref).await;
    assert_eq!(case["status"], "in_review", "{case}");
    assert!(
        bodies(&case).iter().any(|b| b == "Cuatro horas diarias"),
        "{case}"
    );
    assert!(wa.stub.problems().is_empty(), "{:?}", wa.stub.problems());
}

on_both_backends!(
    a_named_worker_answers_the_inspector_on_whatsapp,
    several_open_cases_are_asked_which_and_a_duplicate_close_is_told,
    a_closed_case_tells_the_worker_how_it_ended_and_what_next,
    an_anonymous_worker_answers_with_their_code,
);
