//! Issue 30, finding 11: refusals of malformed paths in the project's own error
//! format, and forms refused when the browser names another origin.

use crate::helpers::*;
use crate::triage::{add_staff, options};

/// `%FF` is not UTF-8: every route with a path parameter answers with the JSON
/// error body (or, outside `/api/`, an error page), never axum's `text/plain`.
#[tokio::test]
async fn a_path_that_is_not_utf8_gets_the_projects_error() {
    let server = TestServer::spawn_with(Backend::Sqlite, options()).await;
    let admin = add_staff(&server, "admin@buzon.test", "admin", &[]).await;
    let http = client();
    let res = http
        .get(server.url("/api/v1/cases/%FF"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
    assert_eq!(res.headers()["content-type"], "application/json");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_encoding", "{body}");

    for (method, path) in [
        ("POST", "/api/v1/cases/%FF/notes"),
        ("POST", "/api/v1/cases/%FF/reveal"),
        ("POST", "/api/v1/cases/BZ-1/attachments/%FF"),
        ("GET", "/api/v1/cases/%FF/rrm"),
        ("GET", "/api/v1/cases/%C3%28/rrm/evidence/%FF"),
        ("POST", "/api/v1/cases/%FF/rrm/petition"),
        ("GET", "/triage/cases/%FF"),
        ("GET", "/org/cases/%FF"),
        ("GET", "/org/cases/%FF/rrm/evidence/%FF"),
    ] {
        let req = match method {
            "GET" => http.get(server.url(path)),
            _ => http
                .post(server.url(path))
                .header("content-type", "application/json")
                .body("{}"),
        };
        let res = req.bearer_auth(&admin).send().await.unwrap();
        let status = res.status().as_u16();
        let kind = res
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        assert!(
            !kind.starts_with("text/plain"),
            "{method} {path}: {status} {kind}"
        );
        if path.starts_with("/api/") {
            assert_eq!(kind, "application/json", "{method} {path}: {status}");
            let body: serde_json::Value = res.json().await.unwrap();
            assert!(body["error"]["code"].is_string(), "{method} {path}: {body}");
        }
    }
}

/// A form post with a valid token is still refused when the browser says it came
/// from another origin (or from `null`); from the server's own origin it passes.
#[tokio::test]
async fn a_form_from_another_origin_is_refused() {
    let server = TestServer::spawn_with(Backend::Sqlite, options()).await;
    let http = client();
    let page = get_text(&http, &server.url("/status")).await;
    let token = csrf_token(&page);
    let own = server.url("/");
    let own = own.trim_end_matches('/');
    let post = |origin: Option<&str>| {
        let mut req = http.post(server.url("/status/messages")).form(&[
            ("csrf", token.as_str()),
            ("receipt", "0000-0000-0000-0000-0000-0000"),
            ("message", "hola"),
        ]);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send()
    };
    for origin in [
        "http://evil.test",
        "null",
        "http://127.0.0.1:1",
        "https://evil.test",
    ] {
        let res = post(Some(origin)).await.unwrap();
        assert_eq!(res.status().as_u16(), 403, "{origin}");
        let html = res.text().await.unwrap();
        assert!(
            html.contains("data-code=\"csrf_failed\""),
            "{origin}: {html}"
        );
    }
    // Past the CSRF check: the (unknown) receipt is what is refused.
    for origin in [Some(own), None] {
        let res = post(origin).await.unwrap();
        assert_eq!(res.status().as_u16(), 404, "{origin:?}");
        let html = res.text().await.unwrap();
        assert!(html.contains("data-code=\"receipt_not_found\""), "{html}");
    }
}
