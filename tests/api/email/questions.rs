//! Triage's questions go back by mail, through the notification port, and the
//! answers thread onto the case.

use super::*;

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

/// The reply a worker writes to the question mail, to the case's plus address.
fn answer_to(
    question: &Received,
    case_ref: &str,
    text: &str,
) -> (lettre::address::Envelope, Vec<u8>) {
    let to = format!("quejas+{}@buzon.test", case_ref.to_lowercase());
    let answer = lettre::Message::builder()
        .from(format!("{ADVOCATE_NAME} <{ADVOCATE}>").parse().unwrap())
        .to(to.parse().unwrap())
        .subject(format!("Re: {}", question.subject()))
        .body(text.to_owned())
        .unwrap();
    let envelope =
        lettre::address::Envelope::new(Some(ADVOCATE.parse().unwrap()), vec![to.parse().unwrap()])
            .unwrap();
    (envelope, answer.formatted())
}

/// Question, answer by mail, the inspector reads it with the case back in review; then
/// the case closes and the worker is told by mail and on the status page how it ended
/// and where to turn next. On both backends.
async fn a_mailed_answer_reaches_the_inspector_and_a_closing_is_told(backend: Backend) {
    let mail = start(backend, &[]).await;
    mail.send(complaint_message("orig-close@sindicato-ejemplo.mx"))
        .await;
    let acks = mail.sink.wait_for(1).await;
    let case_ref = case_ref_of(&acks[0]);
    let receipt = secret_code(&acks[0]);
    let admin = crate::triage::add_staff(&mail.server, "admin@buzon.test", "admin", &[]).await;
    let case_url = mail.server.url(&format!("/api/v1/cases/{case_ref}"));
    let (st, sent) = crate::triage::call(
        &mail.http,
        "POST",
        &format!("{case_url}/questions"),
        Some(&admin),
        Some(&serde_json::json!({"body": "¿Les dieron alguna carta de despido?"})),
    )
    .await;
    assert_eq!(
        (st, &sent["delivered_via"]),
        (201, &serde_json::json!(["status_page", "email"]))
    );
    let got = mail.sink.wait_for(2).await;
    assert!(
        got[1].body().contains("carta de despido"),
        "{}",
        got[1].body()
    );
    let (envelope, raw) = answer_to(&got[1], &case_ref, "No, solo nos sacaron de la planta.");
    mail.transport().send_raw(&envelope, &raw).await.unwrap();
    mail.settle().await;
    let (_, case) = crate::triage::call(&mail.http, "GET", &case_url, Some(&admin), None).await;
    assert_eq!(case["status"], "in_review", "{case}");
    assert!(
        case["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["body"]
                .as_str()
                .unwrap()
                .contains("nos sacaron de la planta")),
        "{case}"
    );

    let (st, body) = crate::triage::call(
        &mail.http,
        "POST",
        &format!("{case_url}/status"),
        Some(&admin),
        Some(&serde_json::json!({"status": "closed", "outcome": "remedied"})),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    // Mail 3 acknowledged the answer ("added to your complaint"); 4 tells the close.
    let got = mail.sink.wait_for(4).await;
    let closing = got
        .iter()
        .find(|m| m.subject().contains("Su queja se cerró"))
        .unwrap_or_else(|| {
            panic!(
                "no closing mail in {:?}",
                got.iter().map(Received::subject).collect::<Vec<_>>()
            )
        });
    assert_eq!(closing.rcpt_to, vec![ADVOCATE.to_owned()]);
    let text = closing.body();
    assert!(
        text.contains(&format!("Su queja se cerró: {case_ref}"))
            && text.contains("La empresa corrigió el problema")
            && text.contains("Si la empresa no cumple")
            && text.contains("PROFEDET"),
        "{text}"
    );
    let page = crate::whatsapp::thread::status_page(&mail.server, &receipt).await;
    assert!(
        page.contains("id=\"closing\"") && page.contains("La empresa corrigió el problema"),
        "{page}"
    );
}

on_both_backends!(a_mailed_answer_reaches_the_inspector_and_a_closing_is_told);
