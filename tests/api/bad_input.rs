//! Bad input gets the documented 4xx and a stable code, never a 5xx, and the server
//! keeps working afterwards.

use crate::helpers::*;
use crate::on_both_backends;
use std::io::{Read, Write};

struct Case {
    name: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
    status: u16,
    code: &'static str,
    field: Option<&'static str>,
}

fn json_case(
    name: &'static str,
    body: serde_json::Value,
    status: u16,
    code: &'static str,
    field: Option<&'static str>,
) -> Case {
    Case {
        name,
        content_type: "application/json",
        body: body.to_string().into_bytes(),
        status,
        code,
        field,
    }
}

fn with(mutate: impl FnOnce(&mut serde_json::Value)) -> serde_json::Value {
    let mut body = complaint("Ana", "477 123 4567", "ana@example.org", "Pasó algo.");
    mutate(&mut body);
    body
}

fn api_cases() -> Vec<Case> {
    vec![
        json_case(
            "empty object",
            serde_json::json!({}),
            422,
            "missing_field",
            Some("workplace.employer"),
        ),
        json_case(
            "no narrative",
            with(|b| {
                b.as_object_mut().unwrap().remove("narrative");
            }),
            422,
            "missing_field",
            Some("narrative"),
        ),
        json_case(
            "no violations",
            with(|b| b["violations"] = serde_json::json!([])),
            422,
            "missing_field",
            Some("violations"),
        ),
        json_case(
            "no state",
            with(|b| {
                b["workplace"].as_object_mut().unwrap().remove("state");
            }),
            422,
            "missing_field",
            Some("workplace.state"),
        ),
        json_case(
            "unknown sector",
            with(|b| b["workplace"]["sector"] = "cars".into()),
            422,
            "unknown_sector",
            Some("workplace.sector"),
        ),
        json_case(
            "unknown violation",
            with(|b| b["violations"] = serde_json::json!(["bad_boss"])),
            422,
            "unknown_violation",
            Some("violations"),
        ),
        json_case(
            "invalid state",
            with(|b| b["workplace"]["state"] = "MX-XYZ".into()),
            422,
            "invalid_state",
            Some("workplace.state"),
        ),
        json_case(
            "state name instead of code",
            with(|b| b["workplace"]["state"] = "Guanajuato".into()),
            422,
            "invalid_state",
            Some("workplace.state"),
        ),
        json_case(
            "over-long narrative",
            with(|b| b["narrative"] = "a".repeat(10_001).into()),
            422,
            "too_long",
            Some("narrative"),
        ),
        json_case(
            "over-long name",
            with(|b| b["complainant"]["name"] = "n".repeat(201).into()),
            422,
            "too_long",
            Some("complainant.name"),
        ),
        json_case(
            "over-long employer",
            with(|b| b["workplace"]["employer"] = "e".repeat(201).into()),
            422,
            "too_long",
            Some("workplace.employer"),
        ),
        json_case(
            "bad phone",
            with(|b| b["complainant"]["phone"] = "call me".into()),
            422,
            "invalid_phone",
            Some("complainant.phone"),
        ),
        json_case(
            "bad e-mail",
            with(|b| b["complainant"]["email"] = "ana@".into()),
            422,
            "invalid_email",
            Some("complainant.email"),
        ),
        json_case(
            "future date",
            with(|b| b["occurred_on"] = "2999-01-01".into()),
            422,
            "invalid_date",
            Some("occurred_on"),
        ),
        json_case(
            "workers not a number",
            with(|b| b["workplace"]["workers"] = "many".into()),
            422,
            "invalid_number",
            Some("workplace.workers"),
        ),
        json_case(
            "bad trade answer",
            with(|b| b["workplace"]["trade_with_us"] = "maybe".into()),
            422,
            "invalid_trade_with_us",
            Some("workplace.trade_with_us"),
        ),
        json_case(
            "bad language",
            with(|b| b["language"] = "fr".into()),
            422,
            "invalid_language",
            Some("language"),
        ),
        json_case(
            "violations not a list",
            with(|b| b["violations"] = "union_retaliation".into()),
            422,
            "invalid_field",
            Some("violations"),
        ),
        json_case(
            "anonymous with a name",
            with(|b| b["anonymous"] = true.into()),
            422,
            "anonymous_with_identity",
            Some("complainant"),
        ),
        json_case(
            "identified without contact",
            with(|b| {
                b["complainant"] = serde_json::json!({});
                b["anonymous"] = false.into();
            }),
            422,
            "contact_required",
            Some("complainant"),
        ),
        Case {
            name: "malformed JSON",
            content_type: "application/json",
            body: b"{\"narrative\": ".to_vec(),
            status: 400,
            code: "invalid_json",
            field: None,
        },
        Case {
            name: "trailing garbage",
            content_type: "application/json",
            body: b"{} {}".to_vec(),
            status: 400,
            code: "invalid_json",
            field: None,
        },
        Case {
            name: "invalid UTF-8",
            content_type: "application/json",
            body: b"{\"narrative\": \"\xff\xfe\"}".to_vec(),
            status: 400,
            code: "invalid_encoding",
            field: None,
        },
        Case {
            name: "wrong content type",
            content_type: "text/plain",
            body: b"{}".to_vec(),
            status: 415,
            code: "unsupported_media_type",
            field: None,
        },
        Case {
            name: "form to the API",
            content_type: "application/x-www-form-urlencoded",
            body: b"a=b".to_vec(),
            status: 415,
            code: "unsupported_media_type",
            field: None,
        },
        Case {
            name: "oversized body",
            content_type: "application/json",
            body: vec![b' '; 70 * 1024],
            status: 413,
            code: "payload_too_large",
            field: None,
        },
    ]
}

async fn every_bad_api_request_gets_its_documented_4xx(backend: Backend) {
    let mut server = TestServer::spawn_with(
        backend,
        Options::default().env("BUZON_INTAKE_BURST", "1000"),
    )
    .await;
    let http = client();
    for case in api_cases() {
        let res = http
            .post(server.url("/api/v1/complaints"))
            .header("content-type", case.content_type)
            .body(case.body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let body: serde_json::Value = res.json().await.unwrap_or_default();
        assert_eq!(status, case.status, "{}: {body}", case.name);
        assert_eq!(body["error"]["code"], case.code, "{}: {body}", case.name);
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{}",
            case.name
        );
        if let Some(field) = case.field {
            assert_eq!(body["error"]["field"], field, "{}: {body}", case.name);
        }
    }

    // Status and messages endpoints refuse bad input too.
    let status_cases = [
        (
            "/api/v1/status",
            serde_json::json!({}),
            422,
            "missing_field",
        ),
        (
            "/api/v1/status",
            serde_json::json!({"receipt": "hola"}),
            422,
            "invalid_receipt",
        ),
        (
            "/api/v1/status",
            serde_json::json!({"receipt": 12}),
            422,
            "invalid_field",
        ),
        (
            "/api/v1/status/messages",
            serde_json::json!({"receipt": "0000-0000-0000-0000-0000-0000"}),
            422,
            "missing_field",
        ),
    ];
    for (path, body, want, code) in status_cases {
        let (status, json) = post_json(&http, &server.url(path), &body).await;
        assert_eq!(
            (status, json["error"]["code"].as_str()),
            (want, Some(code)),
            "{path} {body}"
        );
    }

    // Nothing above was stored, nothing crashed, and a good complaint still goes in.
    assert!(server.is_running());
    let (status, _) = post_json(
        &http,
        &server.url("/api/v1/complaints"),
        &anonymous_complaint(),
    )
    .await;
    assert_eq!(status, 201);
    assert!(!server.logs().contains("panicked"), "{}", server.logs());
}

on_both_backends!(every_bad_api_request_gets_its_documented_4xx);

/// A chunked body with no Content-Length is cut off at the cap while being read.
#[tokio::test]
async fn an_oversized_chunked_body_is_refused() {
    let server = TestServer::spawn(Backend::Sqlite).await;
    let addr = server.base.trim_start_matches("http://").to_string();
    let status_line = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .write_all(b"POST /api/v1/complaints HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            .unwrap();
        let chunk = vec![b' '; 8192];
        for _ in 0..10 {
            if stream.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).is_err()
                || stream.write_all(&chunk).is_err()
                || stream.write_all(b"\r\n").is_err()
            {
                break;
            }
        }
        let _ = stream.write_all(b"0\r\n\r\n");
        let mut response = vec![0u8; 512];
        let n = stream.read(&mut response).unwrap_or(0);
        String::from_utf8_lossy(&response[..n]).lines().next().unwrap_or_default().to_string()
    })
    .await
    .unwrap();
    assert!(status_line.contains("413"), "{status_line}");
}

#[tokio::test]
async fn bad_form_posts_get_a_page_with_the_documented_status() {
    let server = TestServer::spawn(Backend::Sqlite).await;
    let http = client();
    let page = get_text(&http, &server.url("/")).await;
    let token = csrf_token(&page);

    // Wrong content type, invalid UTF-8, oversized.
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "application/json",
            b"{}".to_vec(),
            415,
            "unsupported_media_type",
        ),
        (
            "application/x-www-form-urlencoded",
            format!("csrf={token}&employer=%FF%FE").into_bytes(),
            400,
            "invalid_encoding",
        ),
        (
            "application/x-www-form-urlencoded",
            vec![b'a'; 70 * 1024],
            413,
            "payload_too_large",
        ),
    ];
    for (content_type, body, want, code) in cases {
        let res = http
            .post(server.url("/complaints"))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), want, "{code}");
        let html = res.text().await.unwrap();
        assert!(
            html.contains(&format!("data-code=\"{code}\"")),
            "{code}: {html}"
        );
    }

    // Missing CSRF token: the form comes back, filled in, with a fresh token.
    let res = client()
        .post(server.url("/complaints"))
        .form(&[
            ("employer", "Fábrica Sin Token"),
            ("state", "MX-JAL"),
            ("narrative", "Algo pasó."),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let html = res.text().await.unwrap();
    assert!(html.contains("Fábrica Sin Token"), "input kept");
    assert!(html.contains("La página ya expiró"), "{html}");
    assert!(!csrf_token(&html).is_empty());

    // A token from another browser (which has its own cookie) does not pass either.
    let other = client();
    other.get(server.url("/")).send().await.unwrap();
    let res = other
        .post(server.url("/complaints"))
        .form(&[("csrf", token.as_str()), ("employer", "X")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // Unknown page and wrong method: 404 and 405 pages, not crashes.
    assert_eq!(
        http.get(server.url("/nothing-here"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        http.delete(server.url("/complaints"))
            .send()
            .await
            .unwrap()
            .status(),
        405
    );
}

#[tokio::test]
async fn bad_receipt_forms_get_a_page_with_the_documented_code() {
    let server = TestServer::spawn_with(
        Backend::Sqlite,
        Options::default().env("BUZON_STATUS_BURST", "1000"),
    )
    .await;
    let http = client();
    let token = csrf_token(&get_text(&http, &server.url("/status")).await);
    let long_multibyte = format!("a{}", "é".repeat(200));
    type FormCase = (&'static str, Vec<(&'static str, String)>, u16, &'static str);
    let cases: Vec<FormCase> = vec![
        (
            "/status",
            vec![("csrf", token.clone()), ("receipt", long_multibyte.clone())],
            422,
            "invalid_receipt",
        ),
        (
            "/status",
            vec![("csrf", token.clone()), ("receipt", "hola".into())],
            422,
            "invalid_receipt",
        ),
        (
            "/status",
            vec![("receipt", "0000-0000-0000-0000-0000-0000".into())],
            403,
            "csrf_failed",
        ),
        (
            "/status/messages",
            vec![
                ("csrf", token.clone()),
                ("receipt", long_multibyte),
                ("message", "x".into()),
            ],
            422,
            "invalid_receipt",
        ),
        (
            "/status/messages",
            vec![
                ("receipt", "0000-0000-0000-0000-0000-0000".into()),
                ("message", "x".into()),
            ],
            403,
            "csrf_failed",
        ),
        (
            "/status/messages",
            vec![
                ("csrf", token.clone()),
                ("receipt", "0000-0000-0000-0000-0000-0000".into()),
                ("message", "x".into()),
            ],
            404,
            "receipt_not_found",
        ),
        (
            "/receipt",
            vec![("csrf", token.clone()), ("receipt", "hola".into())],
            422,
            "invalid_receipt",
        ),
        (
            "/receipt",
            vec![("receipt", "0000-0000-0000-0000-0000-0000".into())],
            403,
            "csrf_failed",
        ),
    ];
    for (path, form, want, code) in cases {
        let res = http
            .post(server.url(path))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), want, "{path} {code}");
        let html = res.text().await.unwrap();
        assert!(
            html.contains(&format!("data-code=\"{code}\"")),
            "{path} {code}: {html}"
        );
    }
    let mut server = server;
    assert!(server.is_running());
    assert!(!server.logs().contains("panicked"));
}

#[tokio::test]
async fn a_complaint_with_only_the_required_fields_is_accepted_as_anonymous() {
    let server = TestServer::spawn(Backend::Sqlite).await;
    let body = serde_json::json!({
        "workplace": {"employer": "Maquila Norte", "state": "MX-CHH"},
        "violations": ["excessive_hours"],
        "narrative": "Doce horas sin descanso."
    });
    let (status, created) = post_json(&client(), &server.url("/api/v1/complaints"), &body).await;
    assert_eq!(status, 201, "{created}");
}

/// A client that sends its whole body before reading (Python's urllib) gets the
/// 413 and its error code, not a broken pipe: the refused body is drained.
#[tokio::test]
async fn a_client_that_sends_everything_first_still_reads_the_413() {
    let mut server = TestServer::spawn(Backend::Sqlite).await;
    let script = r#"
import json, sys, urllib.request, urllib.error
body = b'{"narrative": "' + b'x' * (6 * 1000 * 1000) + b'"}'
req = urllib.request.Request(sys.argv[1], data=body, headers={"Content-Type": "application/json"})
try:
    urllib.request.urlopen(req, timeout=30)
    print("accepted")
except urllib.error.HTTPError as e:
    print(e.code, json.loads(e.read())["error"]["code"])
"#;
    let url = server.url("/api/v1/complaints");
    let out = tokio::process::Command::new("python3")
        .args(["-c", script, &url])
        .output()
        .await
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.trim(),
        "413 payload_too_large",
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The same with a raw socket: everything written, then the answer read.
    let addr = server.base.trim_start_matches("http://").to_string();
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        let body = vec![b'x'; 6 * 1000 * 1000];
        let head = format!(
            "POST /api/v1/complaints HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        let sent = stream.write_all(&body);
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        (sent.is_ok(), String::from_utf8_lossy(&answer).to_string())
    })
    .await
    .unwrap();
    assert!(answer.0, "the body could not be sent whole");
    assert!(answer.1.starts_with("HTTP/1.1 413"), "{}", answer.1);
    assert!(answer.1.contains("payload_too_large"), "{}", answer.1);
    assert!(server.is_running());
}
