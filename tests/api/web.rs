//! The web form over plain HTTP (no JavaScript): language, validation that keeps the
//! worker's input, the receipt, the status page and follow-up messages.

use crate::helpers::*;
use crate::on_both_backends;

fn receipt_in(html: &str) -> String {
    let re = regex::Regex::new(r#"id="receipt">([0-9A-Z-]{29})<"#).unwrap();
    re.captures(html)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string())
        .expect("receipt shown")
}

async fn a_worker_files_by_form_and_follows_the_case_with_the_receipt(backend: Backend) {
    let server = TestServer::spawn(backend).await;
    let http = client();

    let page = http.get(server.url("/")).send().await.unwrap();
    assert!(
        page.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("SameSite=Strict")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("<html lang=\"es\">"));
    assert!(html.contains("Presentar una queja"));
    // Sectors and violations are offered in plain words (codes only as values).
    assert!(html.contains(">Autopartes (arneses, asientos, piezas para autos)<"));
    assert!(!html.contains(">auto_parts<"));
    assert_eq!(
        html.matches("<option value=\"MX-").count(),
        32,
        "all 32 states"
    );

    // First try: forgot the state and typed a bad phone. Everything typed comes back.
    let mut form = vec![
        ("csrf", csrf_token(&html)),
        ("lang", "es".to_string()),
        ("employer", "Componentes de Sonora".to_string()),
        ("city", "Hermosillo".to_string()),
        ("state", String::new()),
        ("sector", "electronics".to_string()),
        ("trade_with_us", "yes".to_string()),
        ("workers", "1,200".to_string()),
        ("violations", "union_coercion".to_string()),
        ("violations", "unpaid_wages".to_string()),
        (
            "narrative",
            "Nos obligan a votar por el sindicato de la empresa.".to_string(),
        ),
        ("identity", "contact".to_string()),
        ("name", "Lupita".to_string()),
        ("phone", "12".to_string()),
    ];
    let (status, html) = post_form(&http, &server.url("/complaints"), &form).await;
    assert_eq!(status, 422);
    assert!(
        html.contains("id=\"state-error\""),
        "state error next to the state"
    );
    assert!(
        html.contains("id=\"phone-error\""),
        "phone error next to the phone"
    );
    assert!(
        html.contains("data-code=\"invalid_phone\" id=\"phone-error\""),
        "with its stable code"
    );
    assert!(html.contains("value=\"Componentes de Sonora\""));
    assert!(html.contains("Nos obligan a votar por el sindicato de la empresa.</textarea>"));
    assert!(html.contains("value=\"union_coercion\" checked"));
    assert!(html.contains("value=\"unpaid_wages\" checked"));
    assert!(html.contains("value=\"electronics\" selected"));
    assert!(html.contains("value=\"contact\" checked"));
    assert!(html.contains("value=\"Lupita\""));

    // Fixed: it goes through and the receipt is on screen.
    form[0].1 = csrf_token(&html);
    form[4].1 = "MX-SON".into();
    form[13].1 = "662 123 4567".into();
    let res = http
        .post(server.url("/complaints"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let html = res.text().await.unwrap();
    let receipt = receipt_in(&html);
    assert!(html.contains("Recibimos su queja"));

    // The receipt page switches to English without losing the receipt.
    let res = http
        .post(server.url("/receipt"))
        .form(&[
            ("csrf", csrf_token(&html)),
            ("lang", "en".to_string()),
            ("receipt", receipt.clone()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let english = res.text().await.unwrap();
    assert!(english.contains("We received your complaint"));
    assert_eq!(receipt_in(&english), receipt);

    // Later, with only the code.
    let html = get_text(&http, &server.url("/status")).await;
    let (status, html) = post_form(
        &http,
        &server.url("/status"),
        &[
            ("csrf", csrf_token(&html).as_str()),
            ("lang", "es"),
            ("receipt", receipt.to_lowercase().as_str()),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"status\">Recibida<"), "{html}");
    assert!(
        !html.contains("Lupita") && !html.contains("Componentes de Sonora"),
        "no identifying data"
    );

    // Add a message from the status page.
    let (status, html) = post_form(
        &http,
        &server.url("/status/messages"),
        &[
            ("csrf", csrf_token(&html).as_str()),
            ("lang", "es"),
            ("receipt", receipt.as_str()),
            ("message", "Ya nos amenazaron otra vez."),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"notice\""));
    assert!(html.contains("Ya nos amenazaron otra vez."));

    // An empty message is refused next to the field, the case still shown.
    let (status, html) = post_form(
        &http,
        &server.url("/status/messages"),
        &[
            ("csrf", csrf_token(&html).as_str()),
            ("receipt", receipt.as_str()),
            ("message", "   "),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("id=\"message-error\""));

    // A wrong code gets the same plain message as an unknown one.
    let res = http
        .post(server.url("/status"))
        .form(&[
            ("csrf", csrf_token(&html).as_str()),
            ("receipt", "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("No encontramos ese código")
    );
}

on_both_backends!(a_worker_files_by_form_and_follows_the_case_with_the_receipt);

#[tokio::test]
async fn english_is_one_tap_away_and_follows_accept_language() {
    let server = TestServer::spawn(Backend::Sqlite).await;
    let http = client();
    let es = get_text(&http, &server.url("/")).await;
    assert!(
        es.contains("href=\"/?lang=en\""),
        "a link to English on the form"
    );
    let en = get_text(&http, &server.url("/?lang=en")).await;
    assert!(en.contains("<html lang=\"en\">") && en.contains("File a complaint"));
    assert!(en.contains(">Auto parts (wire harnesses, seats, car parts)<"));
    let by_header = http
        .get(server.url("/status"))
        .header("accept-language", "en-US,en;q=0.9")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(by_header.contains("See my complaint"));

    // Errors in English when the form was in English.
    let res = http
        .post(server.url("/complaints"))
        .form(&[
            ("csrf", csrf_token(&en).as_str()),
            ("lang", "en"),
            ("employer", "X"),
        ])
        .send()
        .await
        .unwrap();
    let html = res.text().await.unwrap();
    assert!(html.contains("This is required."), "{html}");
}

#[tokio::test]
async fn worker_pages_are_light_self_contained_and_have_a_quick_exit() {
    let server = TestServer::spawn(Backend::Sqlite).await;
    let http = client();
    let css = http
        .get(server.url("/static/buzon.css"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let external = regex::Regex::new(r#"(src|href)="(https?:)?//"#).unwrap();
    for path in ["/", "/?lang=en", "/status"] {
        let html = get_text(&http, &server.url(path)).await;
        assert!(
            html.len() + css.len() < 30 * 1024,
            "{path} weighs {} bytes",
            html.len() + css.len()
        );
        assert!(
            html.contains("id=\"quick-exit\""),
            "{path} has a quick exit"
        );
        assert!(!html.contains("<script"), "{path} has no script");
        let externals: Vec<_> = external.find_iter(&html).map(|m| m.as_str()).collect();
        // The only off-site link is the quick exit itself.
        assert_eq!(externals.len(), 1, "{path}: {externals:?}");
    }
    assert!(
        !String::from_utf8_lossy(&css).contains("@font-face")
            && !String::from_utf8_lossy(&css).contains("url(")
    );
}
