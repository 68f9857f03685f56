//! The triage console and staff API against the real server: who may see and do
//! what (an authorization matrix over every role, endpoint and jurisdiction), sign-in
//! with its second factor and every way it must refuse, the audit chain and what
//! `buzon audit verify` says when a row is tampered with, and the queue's order,
//! filters and pages.

mod queue;

use crate::helpers::*;
use serde_json::{Value, json};

pub const PASSWORD: &str = "correct horse battery staple";

/// Rate limits lifted: these tests sign in and file many times from one address.
pub fn options() -> Options {
    Options::default()
        .env("BUZON_INTAKE_BURST", "10000")
        .env("BUZON_LOGIN_BURST", "10000")
        .env("BUZON_STATUS_BURST", "10000")
        .env("BUZON_GENERAL_BURST", "10000")
}

/// Adds a staff member; returns a personal API token of theirs.
pub async fn add_staff(server: &TestServer, email: &str, role: &str, extra: &[&str]) -> String {
    // An advocate's organization exists first (`buzon org add`); adding it again is
    // refused, which is fine here.
    if let Some(i) = extra.iter().position(|a| *a == "--org") {
        server.run(&["org", "add", extra[i + 1]], "");
    }
    let mut args = vec!["staff", "add", "--email", email, "--role", role];
    args.extend_from_slice(extra);
    let (ok, _) = server.run(&args, &format!("{PASSWORD}\n"));
    assert!(ok, "staff add {email}");
    let (ok, list) = server.run(&["staff", "list"], "");
    assert!(ok && list.contains(email), "{list}");
    token(server, email).await.0
}

/// A personal API token for `email` and the staff id behind it.
pub async fn token(server: &TestServer, email: &str) -> (String, String) {
    let (ok, out) = server.run(&["staff", "token", "--email", email], "");
    assert!(ok, "staff token {email}");
    let token = out.trim().to_owned();
    assert!(token.starts_with("bzt_"), "{out}");
    let db = server.db().await;
    let row = one_row(
        &db,
        "SELECT s.id FROM staff s JOIN staff_tokens t ON t.staff_id = s.id ORDER BY t.created_at DESC LIMIT 1",
    )
    .await;
    let id: uuid::Uuid = row.try_get_by_index(0).unwrap();
    (token, id.to_string())
}

pub async fn call(
    http: &reqwest::Client,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut req = match method {
        "GET" => http.get(url),
        _ => http.post(url),
    };
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let bytes = res.bytes().await.expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Files a complaint through the API; its case reference.
pub async fn file(server: &TestServer, http: &reqwest::Client, body: &Value) -> String {
    let (status, created) = post_json(http, &server.url("/api/v1/complaints"), body).await;
    assert_eq!(status, 201, "{created}");
    created["case_ref"].as_str().unwrap().to_owned()
}

pub fn local_case(state: &str, name: &str, violations: &[&str], workers: Option<u32>) -> Value {
    json!({
        "language": "es",
        "complainant": {"name": name, "phone": "477 123 4567", "email": "obrera.triage@example.org"},
        "workplace": {"employer": format!("Servicios {state}"), "state": state,
                      "sector": "other_services", "trade_with_us": "unknown", "workers": workers},
        "violations": violations,
        "narrative": "No nos pagan el sueldo desde marzo."
    })
}

struct Fixture {
    server: TestServer,
    http: reqwest::Client,
    admin: String,
    gua: String,
    gua_id: String,
    jal: String,
    jal_id: String,
    advocate: String,
    coordinator: String,
    gua_case: String,
    gua_case2: String,
    jal_case: String,
}

async fn fixture(backend: Backend) -> Fixture {
    let server = TestServer::spawn_with(backend, options()).await;
    let http = client();
    let gua_case = file(
        &server,
        &http,
        &local_case("MX-GUA", "Rosa Inés Galván", &["unpaid_wages"], Some(40)),
    )
    .await;
    let gua_case2 = file(
        &server,
        &http,
        &local_case("MX-GUA", "Rosa Inés Galván", &["unpaid_wages"], Some(40)),
    )
    .await;
    let jal_case = file(
        &server,
        &http,
        &local_case("MX-JAL", "Marta Jalisciense Ochoa", &["unpaid_wages"], None),
    )
    .await;
    let admin = add_staff(&server, "admin@buzon.test", "admin", &[]).await;
    let (gua, gua_id) = {
        add_staff(
            &server,
            "gua@buzon.test",
            "inspector",
            &["--authority", "state_ccl:MX-GUA"],
        )
        .await;
        token(&server, "gua@buzon.test").await
    };
    let (jal, jal_id) = {
        add_staff(
            &server,
            "jal@buzon.test",
            "inspector",
            &["--authority", "state_ccl:MX-JAL"],
        )
        .await;
        token(&server, "jal@buzon.test").await
    };
    let advocate = add_staff(
        &server,
        "adv@buzon.test",
        "advocate",
        &["--org", "Sindicato Independiente"],
    )
    .await;
    let coordinator = add_staff(&server, "coord@buzon.test", "coordinator", &[]).await;
    Fixture {
        server,
        http,
        admin,
        gua,
        gua_id,
        jal,
        jal_id,
        advocate,
        coordinator,
        gua_case,
        gua_case2,
        jal_case,
    }
}

/// Every case endpoint with a valid body for `case` (bodies may name other cases).
fn endpoints(
    case: &str,
    other: &str,
    staff_id: &str,
) -> Vec<(&'static str, String, Option<Value>)> {
    let attachment = uuid::Uuid::new_v4();
    vec![
        ("GET", format!("/api/v1/cases/{case}"), None),
        (
            "POST",
            format!("/api/v1/cases/{case}/reveal"),
            Some(json!({"reason": "llamar a la trabajadora"})),
        ),
        (
            "POST",
            format!("/api/v1/cases/{case}/notes"),
            Some(json!({"body": "nota interna"})),
        ),
        (
            "POST",
            format!("/api/v1/cases/{case}/questions"),
            Some(json!({"body": "¿Cuándo pasó?"})),
        ),
        (
            "POST",
            format!("/api/v1/cases/{case}/assign"),
            Some(json!({"staff_id": staff_id})),
        ),
        (
            "POST",
            format!("/api/v1/cases/{case}/status"),
            Some(json!({"status": "in_review"})),
        ),
        (
            "POST",
            format!("/api/v1/cases/{case}/duplicate"),
            Some(json!({"duplicate_of": other})),
        ),
        (
            "POST",
            format!("/api/v1/cases/{case}/attachments/{attachment}"),
            Some(json!({"reason": "ver"})),
        ),
        (
            "POST",
            format!("/api/v1/cases/{case}/referrals"),
            Some(json!({"authority": "cfcrl", "reason": "es sindical"})),
        ),
    ]
}

async fn authorization_matrix(backend: Backend) {
    let f = fixture(backend).await;
    let s = &f.server;
    let http = &f.http;
    let db = s.db().await;
    let jal_before = s
        .count(&format!(
            "SELECT COUNT(*) FROM audit_log a JOIN cases c ON c.id = a.case_id WHERE c.case_ref = '{}'",
            f.jal_case
        ))
        .await;
    assert_eq!(jal_before, 0);

    // Nobody, a forged token, an advocate and a coordinator: refused everywhere, before
    // any case is looked up (so the answer cannot depend on the case).
    for (who, token, status, code) in [
        ("nobody", None, 401, "unauthorized"),
        (
            "forged",
            Some("bzt_forged-token-that-was-never-issued"),
            401,
            "unauthorized",
        ),
        (
            "coordinator",
            Some(f.coordinator.as_str()),
            403,
            "forbidden",
        ),
    ] {
        let mut all = endpoints(&f.gua_case, &f.jal_case, &f.gua_id);
        all.extend(endpoints(&f.jal_case, &f.gua_case, &f.jal_id));
        all.extend(endpoints("BZ-NOTREAL0", &f.gua_case, &f.gua_id));
        all.push(("GET", "/api/v1/cases".into(), None));
        all.push(("GET", "/api/v1/audit".into(), None));
        for (method, path, body) in all {
            let (got, json) = call(http, method, &s.url(&path), token, body.as_ref()).await;
            assert_eq!(
                (got, json["error"]["code"].as_str()),
                (status, Some(code)),
                "{who} {method} {path}"
            );
        }
    }
    // An advocate reads their organization's cases only (none of these: workers
    // filed them): "no such case" where advocates may read, forbidden elsewhere.
    let mut all = endpoints(&f.gua_case, &f.jal_case, &f.gua_id);
    all.extend(endpoints(&f.jal_case, &f.gua_case, &f.gua_id));
    all.push(("GET", "/api/v1/audit".into(), None));
    for (method, path, body) in all {
        let reads =
            (method == "GET" && path.matches('/').count() == 4) || path.ends_with("/reveal");
        let want = if reads {
            (404, Some("case_not_found"))
        } else {
            (403, Some("forbidden"))
        };
        let (got, json) = call(
            http,
            method,
            &s.url(&path),
            Some(&f.advocate),
            body.as_ref(),
        )
        .await;
        assert_eq!(
            (got, json["error"]["code"].as_str()),
            want,
            "advocate {method} {path}"
        );
    }
    let (got, list) = call(
        http,
        "GET",
        &s.url("/api/v1/cases"),
        Some(&f.advocate),
        None,
    )
    .await;
    assert_eq!(
        (got, list["items"].as_array().map(Vec::len)),
        (200, Some(0)),
        "{list}"
    );
    // Coordinators read aggregates only; inspectors and advocates don't. Three
    // cases are fewer than five: the total itself is hidden.
    let (st, stats) = call(
        http,
        "GET",
        &s.url("/api/v1/indicators"),
        Some(&f.coordinator),
        None,
    )
    .await;
    assert_eq!(st, 200);
    let intake = stats["tables"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["id"] == "intake_channel"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(intake["totals"]["total"], "< 5", "{stats}");
    assert!(
        !stats.to_string().contains("BZ-"),
        "aggregates name no case: {stats}"
    );
    for t in [&f.gua, &f.advocate] {
        assert_eq!(
            call(http, "GET", &s.url("/api/v1/indicators"), Some(t), None)
                .await
                .0,
            403
        );
    }
    assert_eq!(
        call(http, "GET", &s.url("/api/v1/audit"), Some(&f.gua), None)
            .await
            .0,
        403
    );

    // Each inspector's queue holds exactly their jurisdiction's cases.
    let refs = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["case_ref"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, q) = call(
        http,
        "GET",
        &s.url("/api/v1/cases?status=all"),
        Some(&f.gua),
        None,
    )
    .await;
    let mut mine = refs(&q);
    mine.sort();
    let mut want = vec![f.gua_case.clone(), f.gua_case2.clone()];
    want.sort();
    assert_eq!(mine, want);
    let (_, q) = call(
        http,
        "GET",
        &s.url("/api/v1/cases?status=all"),
        Some(&f.jal),
        None,
    )
    .await;
    assert_eq!(refs(&q), vec![f.jal_case.clone()]);
    let (_, q) = call(
        http,
        "GET",
        &s.url("/api/v1/cases?status=all"),
        Some(&f.admin),
        None,
    )
    .await;
    assert_eq!(refs(&q).len(), 3);

    // The other jurisdiction's case answers exactly as a case that does not exist,
    // for every endpoint, including guessed references and references in bodies.
    let missing = [
        "BZ-NOTREAL0",
        "BZ-00000000",
        "bz-zzzzzzzz",
        "BZ-A%2FB",
        "BZ-%27%20OR%201=1",
        "BZ-%00",
    ];
    for (i, (method, path, body)) in endpoints(&f.jal_case, &f.gua_case, &f.gua_id)
        .into_iter()
        .enumerate()
    {
        let other = call(http, method, &s.url(&path), Some(&f.gua), body.as_ref()).await;
        assert_eq!(other.0, 404, "{method} {path}: {}", other.1);
        for fake in missing {
            let (m, p, b) = endpoints(fake, &f.gua_case, &f.gua_id).remove(i);
            let nonexistent = call(http, m, &s.url(&p), Some(&f.gua), b.as_ref()).await;
            assert_eq!(other, nonexistent, "{method} {path} vs {p}");
        }
    }
    // A case of the other jurisdiction named in a body: as unknown as a made-up one.
    let dup = |of: &str| json!({"duplicate_of": of});
    let a = call(
        http,
        "POST",
        &s.url(&format!("/api/v1/cases/{}/duplicate", f.gua_case2)),
        Some(&f.gua),
        Some(&dup(&f.jal_case)),
    )
    .await;
    let b = call(
        http,
        "POST",
        &s.url(&format!("/api/v1/cases/{}/duplicate", f.gua_case2)),
        Some(&f.gua),
        Some(&dup("BZ-NOTREAL0")),
    )
    .await;
    assert_eq!(a, b);
    assert_eq!(
        (a.0, a.1["error"]["field"].as_str()),
        (404, Some("duplicate_of"))
    );
    // A colleague of another authority, or no one at all, cannot be given the case.
    let assign = |id: &str| json!({"staff_id": id});
    let a = call(
        http,
        "POST",
        &s.url(&format!("/api/v1/cases/{}/assign", f.gua_case)),
        Some(&f.gua),
        Some(&assign(&f.jal_id)),
    )
    .await;
    let b = call(
        http,
        "POST",
        &s.url(&format!("/api/v1/cases/{}/assign", f.gua_case)),
        Some(&f.gua),
        Some(&assign(&uuid::Uuid::new_v4().to_string())),
    )
    .await;
    assert_eq!(a, b);
    assert_eq!(
        (a.0, a.1["error"]["code"].as_str()),
        (422, Some("unknown_staff"))
    );

    // Nothing the Guanajuato inspector tried touched the Jalisco case.
    let jal_after = s
        .count(&format!(
            "SELECT COUNT(*) FROM audit_log a JOIN cases c ON c.id = a.case_id WHERE c.case_ref = '{}'",
            f.jal_case
        ))
        .await;
    assert_eq!(jal_after, 0);
    let row = one_row(&db, &format!("SELECT status, assigned_to IS NULL, duplicate_of IS NULL FROM cases WHERE case_ref = '{}'", f.jal_case)).await;
    assert_eq!(row.try_get_by_index::<String>(0).unwrap(), "received");
    assert!(row.try_get_by_index::<bool>(1).unwrap() && row.try_get_by_index::<bool>(2).unwrap());
    assert_eq!(s.count("SELECT COUNT(*) FROM case_notes").await, 0);

    // In their own jurisdiction every endpoint works (attachment: none with that id).
    let own = endpoints(&f.gua_case2, &f.gua_case, &f.gua_id);
    let expected = [200, 200, 201, 201, 200, 200, 200, 404, 201];
    for ((method, path, body), want) in own.into_iter().zip(expected) {
        let (got, json) = call(http, method, &s.url(&path), Some(&f.gua), body.as_ref()).await;
        assert_eq!(got, want, "{method} {path}: {json}");
        if path.ends_with("/reveal") {
            assert_eq!(json["name"], "Rosa Inés Galván");
            assert_eq!(json["email"], "obrera.triage@example.org");
        }
    }
    // Referred to the CFCRL, it left this inspector's jurisdiction: now it is unknown.
    let (got, _) = call(
        http,
        "GET",
        &s.url(&format!("/api/v1/cases/{}", f.gua_case2)),
        Some(&f.gua),
        None,
    )
    .await;
    assert_eq!(got, 404);
    let (got, case) = call(
        http,
        "GET",
        &s.url(&format!("/api/v1/cases/{}", f.gua_case2)),
        Some(&f.admin),
        None,
    )
    .await;
    assert_eq!(got, 200);
    assert_eq!(case["status"], "closed", "marked a duplicate: {case}");
    assert_eq!(case["duplicate_of"], f.gua_case.as_str());
    assert!(
        case["referrals"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["authority"] == "cfcrl" && r["state"] == "active")
    );
    // Masked by default: the identity is not in the case, only which fields exist.
    assert!(!case.to_string().contains("Rosa Inés"), "{case}");
    assert_eq!(
        case["identity_on_record"],
        json!(["name", "phone", "email"])
    );

    // Nothing identifying reached the logs or the database in plaintext.
    let (ok, out) = s.run(&["audit", "verify"], "");
    assert!(ok, "{out}");
    let mut f = f;
    let mut places = f.server.everything_written();
    places.push(("logs".into(), f.server.logs().into_bytes()));
    assert_none_in(
        &places,
        &[
            "Rosa Inés Galván",
            "obrera.triage@example.org",
            "nota interna",
            "llamar a la trabajadora",
        ],
    );
}

async fn reveal_is_audited_once_and_tampering_is_detected(backend: Backend) {
    let f = fixture(backend).await;
    let s = &f.server;
    let case_id = |r: &str| format!("(SELECT id FROM cases WHERE case_ref = '{r}')");
    let reveals = || async {
        s.count(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'reveal' AND case_id = {}",
            case_id(&f.gua_case)
        ))
        .await
    };
    // Reading the masked case is not a reveal.
    call(
        &f.http,
        "GET",
        &s.url(&format!("/api/v1/cases/{}", f.gua_case)),
        Some(&f.gua),
        None,
    )
    .await;
    assert_eq!(reveals().await, 0);
    // No reason, no reveal, no record.
    let (st, body) = call(
        &f.http,
        "POST",
        &s.url(&format!("/api/v1/cases/{}/reveal", f.gua_case)),
        Some(&f.gua),
        Some(&json!({"reason": "  "})),
    )
    .await;
    assert_eq!((st, body["error"]["field"].as_str()), (422, Some("reason")));
    assert_eq!(reveals().await, 0);
    let total_before = s.count("SELECT COUNT(*) FROM audit_log").await;
    let (st, who) = call(
        &f.http,
        "POST",
        &s.url(&format!("/api/v1/cases/{}/reveal", f.gua_case)),
        Some(&f.gua),
        Some(&json!({"reason": "citar a declarar"})),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(who["name"], "Rosa Inés Galván");
    assert_eq!(reveals().await, 1);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_log").await,
        total_before + 1
    );
    // The record says who, which case and why (the reason readable by admins only).
    let (_, log) = call(
        &f.http,
        "GET",
        &s.url("/api/v1/audit"),
        Some(&f.admin),
        None,
    )
    .await;
    let last = &log[0];
    assert_eq!(last["action"], "reveal");
    assert_eq!(last["actor_id"], f.gua_id.as_str());
    assert_eq!(last["reason"], "citar a declarar");

    let (ok, out) = s.run(&["audit", "verify"], "");
    assert!(ok && out.contains("intact"), "{out}");
    let db = s.db().await;
    use sea_orm::ConnectionTrait;
    // Altering a row's contents breaks the chain there.
    let seq: i64 = one_row(
        &db,
        "SELECT MAX(seq) FROM audit_log WHERE action = 'reveal'",
    )
    .await
    .try_get_by_index(0)
    .unwrap();
    db.execute_unprepared(&format!(
        "UPDATE audit_log SET detail = 'nothing happened' WHERE seq = {seq}"
    ))
    .await
    .unwrap();
    let (ok, out) = s.run(&["audit", "verify"], "");
    assert!(!ok, "tampering must fail verify: {out}");
    assert!(out.contains(&format!("row {seq}")), "{out}");
    db.execute_unprepared(&format!(
        "UPDATE audit_log SET detail = '' WHERE seq = {seq}"
    ))
    .await
    .unwrap();
    assert!(
        s.run(&["audit", "verify"], "").0,
        "restored row verifies again"
    );
    // Deleting a row in the middle, or the newest one, is a break too.
    db.execute_unprepared("DELETE FROM audit_log WHERE seq = 2")
        .await
        .unwrap();
    let (ok, out) = s.run(&["audit", "verify"], "");
    assert!(!ok && out.contains("row 2"), "{out}");
    let f2 = fixture(backend).await;
    let db2 = f2.server.db().await;
    db2.execute_unprepared("DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)")
        .await
        .unwrap();
    let (ok, out) = f2.server.run(&["audit", "verify"], "");
    assert!(!ok && out.contains("removed from the end"), "{out}");
    // ...even when the head is pointed at the new last row: it is keyed.
    db2.execute_unprepared(
        "UPDATE audit_head SET seq = seq - 1, hash = (SELECT hash FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log))",
    )
    .await
    .unwrap();
    let (ok, out) = f2.server.run(&["audit", "verify"], "");
    assert!(!ok && out.contains("head does not match"), "{out}");
}

#[tokio::test]
async fn staff_api_bad_input_gets_stable_codes_and_the_openapi_document_lists_it() {
    let f = fixture(Backend::Sqlite).await;
    let s = &f.server;
    let url = s.url(&format!("/api/v1/cases/{}/notes", f.gua_case));
    let post = |body: Vec<u8>, ctype: &'static str| {
        let http = f.http.clone();
        let url = url.clone();
        let token = f.gua.clone();
        async move {
            let res = http
                .post(&url)
                .bearer_auth(token)
                .header("content-type", ctype)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let code = |v: &Value| v["error"]["code"].as_str().unwrap_or_default().to_owned();
    let (st, v) = post(b"{not json".to_vec(), "application/json").await;
    assert_eq!((st, code(&v).as_str()), (400, "invalid_json"));
    let (st, v) = post(br#"{"body": 5}"#.to_vec(), "application/json").await;
    assert_eq!((st, code(&v).as_str()), (422, "invalid_field"));
    let (st, v) = post(br#"{"body": "x"}"#.to_vec(), "text/plain").await;
    assert_eq!((st, code(&v).as_str()), (415, "unsupported_media_type"));
    let long = serde_json::to_vec(&json!({"body": "a".repeat(4001)})).unwrap();
    let (st, v) = post(long, "application/json").await;
    assert_eq!(
        (st, code(&v).as_str(), v["error"]["field"].as_str()),
        (422, "too_long", Some("body"))
    );
    let huge = serde_json::to_vec(&json!({"body": "a".repeat(70_000)})).unwrap();
    let (st, v) = post(huge, "application/json").await;
    assert_eq!((st, code(&v).as_str()), (413, "payload_too_large"));
    let (st, v) = post(vec![0xff, 0xfe], "application/json").await;
    assert_eq!((st, code(&v).as_str()), (400, "invalid_encoding"));
    for (path, body, field) in [
        (
            "referrals",
            json!({"authority": "state_ccl:MX-XXX", "reason": "x"}),
            "authority",
        ),
        ("referrals", json!({"authority": "cfcrl"}), "reason"),
        ("status", json!({"status": "archived"}), "status"),
        ("assign", json!({"staff_id": "not-a-uuid"}), "staff_id"),
        ("questions", json!({"body": ""}), "body"),
    ] {
        let (st, v) = call(
            &f.http,
            "POST",
            &s.url(&format!("/api/v1/cases/{}/{path}", f.gua_case)),
            Some(&f.gua),
            Some(&body),
        )
        .await;
        assert_eq!(
            (st / 100, v["error"]["field"].as_str()),
            (4, Some(field)),
            "{path} {body}: {v}"
        );
    }
    assert_eq!(s.count("SELECT COUNT(*) FROM case_notes").await, 0);
    let doc = get_json(&f.http, &s.url("/api/v1/openapi.json")).await;
    for path in [
        "/api/v1/cases",
        "/api/v1/cases/{case_ref}",
        "/api/v1/cases/{case_ref}/reveal",
        "/api/v1/cases/{case_ref}/status",
        "/api/v1/cases/{case_ref}/notes",
        "/api/v1/cases/{case_ref}/messages",
        "/api/v1/cases/{case_ref}/rrm",
        "/api/v1/cases/{case_ref}/rrm/evidence",
        "/api/v1/cases/{case_ref}/rrm/petition",
        "/api/v1/cases/{case_ref}/rrm/filed",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    // Filing on behalf: the consent and members are in the intake body's schema.
    let request = &doc["components"]["schemas"]["ComplaintRequest"]["properties"];
    for field in ["consent", "members", "workers_affected"] {
        assert!(request[field].is_object(), "{field} in ComplaintRequest");
    }
    assert!(doc["components"]["schemas"]["RrmAnswers"].is_object());
}

crate::on_both_backends!(
    authorization_matrix,
    reveal_is_audited_once_and_tampering_is_detected
);
