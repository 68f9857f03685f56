//! Signing in to the console: password, then a TOTP second factor (enrolled on first
//! sign-in), and every way it must refuse: wrong password, unknown user, locked
//! account, missing, wrong or replayed codes, a planted session, an expired session,
//! a missing CSRF token; logging out everywhere.

use crate::helpers::*;
use crate::triage::{PASSWORD, add_staff, file, local_case, options};
use regex::Regex;
use sea_orm::ConnectionTrait;

pub fn capture(html: &str, re: &str) -> String {
    Regex::new(re)
        .unwrap()
        .captures(html)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| panic!("{re} not in page: {html}"))
}

fn error_code(html: &str) -> String {
    capture(html, r#"data-code="([a-z_]*)""#)
}

/// The TOTP code for `secret` (base32, as the enrollment page shows it) `steps`
/// periods from now.
pub fn code(secret: &str, steps: i64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .unwrap();
    let totp = buzon::staff::totp(bytes, "test").unwrap();
    let now = chrono::Utc::now().timestamp() + steps * 30;
    totp.generate(u64::try_from(now).unwrap())
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// The password step; returns where it sends the browser.
pub async fn password_step(
    server: &TestServer,
    http: &reqwest::Client,
    email: &str,
    password: &str,
) -> (u16, String, String) {
    let page = get_text(http, &server.url("/triage/login")).await;
    let csrf = csrf_token(&page);
    let res = http
        .post(server.url("/triage/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let to = location(&res);
    (status, to, res.text().await.unwrap())
}

async fn post_code(
    server: &TestServer,
    http: &reqwest::Client,
    path: &str,
    code: &str,
) -> reqwest::Response {
    let page = get_text(http, &server.url(path)).await;
    let csrf = csrf_token(&page);
    http.post(server.url(path))
        .form(&[("csrf", csrf.as_str()), ("code", code)])
        .send()
        .await
        .unwrap()
}

/// Signs in for the first time: password, then enrollment. The TOTP secret and the
/// recovery codes.
pub async fn first_sign_in(
    server: &TestServer,
    http: &reqwest::Client,
    email: &str,
) -> (String, Vec<String>) {
    let (status, to, _) = password_step(server, http, email, PASSWORD).await;
    assert_eq!(
        (status, to.starts_with("/triage/enroll")),
        (303, true),
        "{to}"
    );
    let page = get_text(http, &server.url("/triage/enroll")).await;
    assert!(page.contains("<svg"), "the QR code is an inline SVG");
    let secret = capture(&page, r#"id="totp-secret">([A-Z2-7]+)<"#);
    // A wrong code does not enroll.
    let res = post_code(server, http, "/triage/enroll", "000000").await;
    assert_eq!(res.status().as_u16(), 401);
    let res = post_code(server, http, "/triage/enroll", &code(&secret, 0)).await;
    assert_eq!(res.status().as_u16(), 200);
    let page = res.text().await.unwrap();
    let re = Regex::new(r"<li>([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})</li>").unwrap();
    let codes: Vec<String> = re.captures_iter(&page).map(|c| c[1].to_owned()).collect();
    assert_eq!(codes.len(), 10, "{page}");
    (secret, codes)
}

async fn queue_status(server: &TestServer, http: &reqwest::Client) -> (u16, String) {
    let res = http.get(server.url("/triage")).send().await.unwrap();
    (res.status().as_u16(), location(&res))
}

#[tokio::test]
async fn sign_in_with_a_second_factor_and_every_refusal() {
    let server = TestServer::spawn_with(Backend::Sqlite, options()).await;
    add_staff(
        &server,
        "ana@buzon.test",
        "inspector",
        &["--authority", "state_ccl:MX-GUA"],
    )
    .await;
    let http = client();
    // Not signed in: the console sends you to sign in.
    assert_eq!(
        queue_status(&server, &http).await,
        (303, "/triage/login?lang=es".into())
    );

    let (secret, _) = first_sign_in(&server, &http, "ana@buzon.test").await;
    assert_eq!(queue_status(&server, &http).await.0, 200);

    // Unknown user and wrong password: the same refusal.
    let other = client();
    let (s1, _, p1) = password_step(&server, &other, "nobody@buzon.test", PASSWORD).await;
    let (s2, _, p2) = password_step(&server, &other, "ana@buzon.test", "wrong password 123").await;
    assert_eq!((s1, error_code(&p1)), (401, "invalid_credentials".into()));
    assert_eq!((s2, error_code(&p2)), (401, "invalid_credentials".into()));
    // An unknown e-mail "locks" after as many failures as a real account would.
    let mut last = String::new();
    for _ in 0..5 {
        last = error_code(
            &password_step(&server, &other, "ghost@buzon.test", PASSWORD)
                .await
                .2,
        );
    }
    assert_eq!(last, "account_locked");
    let failed = server
        .count("SELECT COUNT(*) FROM audit_log WHERE action IN ('login_failed', 'login_locked') AND actor_id IS NULL")
        .await;
    assert_eq!(
        failed, 6,
        "failures on unknown accounts are on the record too"
    );

    // Password right, second factor missing: no access, not even to the API.
    let half = client();
    let (status, to, _) = password_step(&server, &half, "ana@buzon.test", PASSWORD).await;
    assert_eq!((status, to.as_str()), (303, "/triage/totp?lang=es"));
    assert_eq!(queue_status(&server, &half).await.0, 303);
    assert_eq!(
        half.get(server.url("/api/v1/cases"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        401
    );
    // The code used at enrollment cannot be used again (replay), nor can a wrong one.
    let res = post_code(&server, &half, "/triage/totp", &code(&secret, 0)).await;
    assert_eq!(res.status().as_u16(), 401);
    assert_eq!(error_code(&res.text().await.unwrap()), "invalid_totp");
    let res = post_code(&server, &half, "/triage/totp", "123").await;
    assert_eq!(res.status().as_u16(), 401);
    // The next period's code works (clock drift), once, but not posted from another site.
    let next = code(&secret, 1);
    let page = get_text(&half, &server.url("/triage/totp")).await;
    let res = half
        .post(server.url("/triage/totp"))
        .header("sec-fetch-site", "cross-site")
        .form(&[
            ("csrf", csrf_token(&page).as_str()),
            ("code", next.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    let res = post_code(&server, &half, "/triage/totp", &next).await;
    assert_eq!(
        (res.status().as_u16(), location(&res).as_str()),
        (303, "/triage?lang=es")
    );
    assert_eq!(queue_status(&server, &half).await.0, 200);
    let again = client();
    password_step(&server, &again, "ana@buzon.test", PASSWORD).await;
    let res = post_code(&server, &again, "/triage/totp", &next).await;
    assert_eq!(res.status().as_u16(), 401, "a replayed code is refused");
    assert_eq!(queue_status(&server, &again).await.0, 303);

    // CSRF: a state change without the token, or from another site, is refused.
    let http_case = client();
    let case = file(
        &server,
        &http_case,
        &local_case("MX-GUA", "Lucía", &["unpaid_wages"], None),
    )
    .await;
    let page = get_text(&http, &server.url(&format!("/triage/cases/{case}"))).await;
    let csrf = csrf_token(&page);
    let res = http
        .post(server.url(&format!("/triage/cases/{case}/notes")))
        .form(&[("body", "sin token")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    assert_eq!(error_code(&res.text().await.unwrap()), "csrf_failed");
    let res = http
        .post(server.url(&format!("/triage/cases/{case}/notes")))
        .header("sec-fetch-site", "cross-site")
        .form(&[("csrf", csrf.as_str()), ("body", "de otro sitio")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    // The JSON API with the cookie needs the token in a header.
    let res = http
        .post(server.url(&format!("/api/v1/cases/{case}/notes")))
        .json(&serde_json::json!({"body": "sin token"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    let res = http
        .post(server.url(&format!("/api/v1/cases/{case}/notes")))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"body": "con token"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    assert_eq!(server.count("SELECT COUNT(*) FROM case_notes").await, 1);
    let res = http
        .post(server.url(&format!("/triage/cases/{case}/notes")))
        .form(&[("csrf", csrf.as_str()), ("body", "nota con token")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(server.count("SELECT COUNT(*) FROM case_notes").await, 2);

    // Sessions expire when idle and after their absolute lifetime.
    let db = server.db().await;
    let idle = client();
    password_step(&server, &idle, "ana@buzon.test", PASSWORD).await;
    let res = post_code(&server, &idle, "/triage/totp", &code(&secret, -1)).await;
    assert_eq!(
        res.status().as_u16(),
        401,
        "the period before was used by neither, but is older than the last used one"
    );
    let sessions_before = server
        .count("SELECT COUNT(*) FROM staff_sessions WHERE stage = 'full'")
        .await;
    assert_eq!(sessions_before, 2);
    db.execute_unprepared(&format!(
        "UPDATE staff_sessions SET last_seen_at = '{}' WHERE stage = 'full'",
        (chrono::Utc::now() - chrono::Duration::hours(2)).format("%Y-%m-%d %H:%M:%S%.f+00:00")
    ))
    .await
    .unwrap();
    assert_eq!(
        queue_status(&server, &http).await.0,
        303,
        "idle session expired"
    );
    assert_eq!(queue_status(&server, &half).await.0, 303);
    assert_eq!(
        server
            .count("SELECT COUNT(*) FROM staff_sessions WHERE stage = 'full'")
            .await,
        0
    );
}

#[tokio::test]
async fn lockout_fixation_recovery_codes_and_logout_everywhere() {
    let mut server = TestServer::spawn_with(Backend::Sqlite, options()).await;
    add_staff(&server, "beto@buzon.test", "admin", &[]).await;
    let http = client();
    let (secret, _) = first_sign_in(&server, &http, "beto@buzon.test").await;

    // Session fixation: a session id planted before sign-in is never the signed-in one.
    let planted = "A".repeat(43);
    let fixated = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = fixated
        .get(server.url("/triage/login"))
        .header("cookie", format!("buzon_staff={planted}"))
        .send()
        .await
        .unwrap();
    let csrf_cookie = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with("buzon_csrf="))
        .unwrap();
    let csrf = csrf_token(&login.text().await.unwrap());
    let res = fixated
        .post(server.url("/triage/login"))
        .header("cookie", format!("buzon_staff={planted}; {csrf_cookie}"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", "beto@buzon.test"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let issued = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("buzon_staff="))
        .expect("a new session cookie");
    let first_half = issued
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("buzon_staff=")
        .to_owned();
    assert_ne!(first_half, planted);
    // Signing in again from a browser that holds a real session drops that session.
    let session_rows = |token: String| {
        let server = &server;
        async move {
            server
                .count(&format!(
                    "SELECT COUNT(*) FROM staff_sessions WHERE id_hash = '{}'",
                    buzon::crypto::sha256_hex(token.as_bytes())
                ))
                .await
        }
    };
    assert_eq!(session_rows(first_half.clone()).await, 1);
    let res = fixated
        .post(server.url("/triage/login"))
        .header("cookie", format!("buzon_staff={first_half}; {csrf_cookie}"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", "beto@buzon.test"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let half_token = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with("buzon_staff="))
        .expect("a new session cookie")
        .trim_start_matches("buzon_staff=")
        .to_owned();
    assert_ne!(half_token, first_half);
    assert_eq!(
        session_rows(first_half.clone()).await,
        0,
        "the old session is gone"
    );
    assert_eq!(session_rows(half_token.clone()).await, 1);
    assert!(
        issued.contains("HttpOnly") && issued.contains("SameSite=Strict"),
        "{issued}"
    );
    // Finishing the second factor replaces the half-signed-in session with a new one.
    let page = fixated
        .get(server.url("/triage/totp"))
        .header("cookie", format!("buzon_staff={half_token}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let res = fixated
        .post(server.url("/triage/totp"))
        .header("cookie", format!("buzon_staff={half_token}"))
        .form(&[
            ("csrf", csrf_token(&page).as_str()),
            ("code", code(&secret, 1).as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let full = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with("buzon_staff="))
        .unwrap();
    assert_ne!(full, format!("buzon_staff={half_token}"));
    for (cookie, want) in [
        (format!("buzon_staff={planted}"), 401),
        (format!("buzon_staff={half_token}"), 401),
        (full.clone(), 200),
    ] {
        let st = fixated
            .get(server.url("/api/v1/cases"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        assert_eq!(st, want, "{cookie}");
    }

    // Recovery codes: one works once instead of the app's code.
    let (ok, _) = server.run(&["staff", "reset-totp", "--email", "beto@buzon.test"], "");
    assert!(ok);
    let fresh = client();
    let (secret2, codes) = first_sign_in(&server, &fresh, "beto@buzon.test").await;
    assert_ne!(secret, secret2);
    let lost_phone = client();
    password_step(&server, &lost_phone, "beto@buzon.test", PASSWORD).await;
    let res = post_code(
        &server,
        &lost_phone,
        "/triage/totp",
        &codes[3].to_lowercase(),
    )
    .await;
    assert_eq!(
        res.status().as_u16(),
        303,
        "a recovery code (any case) signs in"
    );
    let reuse = client();
    password_step(&server, &reuse, "beto@buzon.test", PASSWORD).await;
    let res = post_code(&server, &reuse, "/triage/totp", &codes[3]).await;
    assert_eq!(res.status().as_u16(), 401, "a recovery code works once");
    let stored = server
        .count("SELECT COUNT(*) FROM staff_recovery_codes WHERE used_at IS NOT NULL")
        .await;
    assert_eq!(stored, 1);

    // Five failures in a row lock the account (the reused recovery code above was
    // the first, so four wrong passwords now); even the right password is refused
    // then, until an admin lifts the lock.
    let mallory = client();
    for i in 1..=4 {
        let (status, _, page) =
            password_step(&server, &mallory, "beto@buzon.test", "not the password").await;
        let want = if i < 4 {
            "invalid_credentials"
        } else {
            "account_locked"
        };
        assert_eq!(error_code(&page), want, "attempt {i} ({status})");
    }
    let (status, _, page) = password_step(&server, &mallory, "beto@buzon.test", PASSWORD).await;
    assert_eq!(
        (status, error_code(&page).as_str()),
        (423, "account_locked")
    );
    let (ok, list) = server.run(&["staff", "list"], "");
    assert!(ok && list.contains("locked"), "{list}");
    let (ok, _) = server.run(&["staff", "unlock", "--email", "beto@buzon.test"], "");
    assert!(ok);
    let (status, to, _) = password_step(&server, &mallory, "beto@buzon.test", PASSWORD).await;
    assert_eq!((status, to.as_str()), (303, "/triage/totp?lang=es"));
    assert!(
        server
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'login_locked'")
            .await
            == 1
    );

    // Log out everywhere: every session of the account ends.
    assert_eq!(queue_status(&server, &fresh).await.0, 200);
    let page = get_text(&fresh, &server.url("/triage")).await;
    let res = fresh
        .post(server.url("/triage/logout-everywhere"))
        .form(&[("csrf", csrf_token(&page).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(queue_status(&server, &fresh).await.0, 303);
    let st = fixated
        .get(server.url("/api/v1/cases"))
        .header("cookie", &full)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(st, 401, "the other browser's session ended too");
    assert_eq!(
        server
            .count("SELECT COUNT(*) FROM staff_sessions WHERE stage = 'full'")
            .await,
        0
    );
    let (ok, out) = server.run(&["audit", "verify"], "");
    assert!(ok, "{out}");
    // Recovery codes, TOTP secrets and the password are stored only as hashes or
    // ciphertext.
    let written = server.everything_written();
    assert_none_in(
        &written,
        &[
            &codes[0],
            &codes[0].replace('-', ""),
            &secret2,
            PASSWORD,
            "beto@buzon.test",
        ],
    );
}

/// The console by role: advocates get their organization's pages, coordinators see figures only, an
/// inspector's other-jurisdiction case is as absent as a made-up one; sessions end
/// at their absolute lifetime even when in use.
#[tokio::test]
async fn the_console_by_role_and_session_lifetime() {
    let server = TestServer::spawn_with(Backend::Sqlite, options()).await;
    let http = client();
    let jal = file(
        &server,
        &http,
        &local_case("MX-JAL", "Irma", &["unpaid_wages"], None),
    )
    .await;
    let gua = file(
        &server,
        &http,
        &local_case("MX-GUA", "Irma", &["unpaid_wages"], None),
    )
    .await;
    add_staff(
        &server,
        "adv@buzon.test",
        "advocate",
        &["--org", "Sindicato"],
    )
    .await;
    add_staff(&server, "coord@buzon.test", "coordinator", &[]).await;
    add_staff(
        &server,
        "gua@buzon.test",
        "inspector",
        &["--authority", "state_ccl:MX-GUA"],
    )
    .await;

    // Advocates see their members' identities: a second factor, then their
    // organization's pages, never the queue or a worker's case.
    let adv = client();
    first_sign_in(&server, &adv, "adv@buzon.test").await;
    assert_eq!(
        queue_status(&server, &adv).await,
        (303, "/org?lang=es".into())
    );
    let res = adv
        .get(server.url(&format!("/triage/cases/{gua}")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (res.status().as_u16(), location(&res)),
        (303, "/org?lang=es".into())
    );
    let res = adv
        .get(server.url(&format!("/org/cases/{gua}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404);
    assert_eq!(error_code(&res.text().await.unwrap()), "case_not_found");
    for path in ["/triage/indicators", "/triage/audit", "/triage/staff"] {
        let res = adv.get(server.url(path)).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 403, "{path}");
        assert_eq!(error_code(&res.text().await.unwrap()), "forbidden");
    }
    let page = get_text(&adv, &server.url("/org")).await;
    assert!(page.contains("Sindicato") && !page.contains(&gua), "{page}");
    let coord = client();
    password_step(&server, &coord, "coord@buzon.test", PASSWORD).await;
    assert_eq!(
        queue_status(&server, &coord).await,
        (303, "/triage/indicators?lang=es".into())
    );
    let stats = get_text(&coord, &server.url("/triage/indicators?lang=en")).await;
    assert!(
        stats.contains("Program indicators") && stats.contains("&lt; 5"),
        "two cases are fewer than five: {stats}"
    );
    assert!(!stats.contains(&gua) && !stats.contains(&jal));
    assert_eq!(
        coord
            .get(server.url(&format!("/triage/cases/{gua}")))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        303
    );
    assert_eq!(
        coord
            .get(server.url("/triage/audit"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );

    let inspector = client();
    first_sign_in(&server, &inspector, "gua@buzon.test").await;
    let other = inspector
        .get(server.url(&format!("/triage/cases/{jal}")))
        .send()
        .await
        .unwrap();
    let made_up = inspector
        .get(server.url("/triage/cases/BZ-NOTREAL0"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (other.status().as_u16(), made_up.status().as_u16()),
        (404, 404)
    );
    assert_eq!(other.text().await.unwrap(), made_up.text().await.unwrap());
    let page = get_text(
        &inspector,
        &server.url(&format!("/triage/cases/{gua}?lang=en")),
    )
    .await;
    assert!(
        page.contains("Reveal") && !page.contains("Irma"),
        "masked, in English"
    );
    let queue = get_text(&inspector, &server.url("/triage")).await;
    assert!(queue.contains(&gua) && !queue.contains(&jal));
    // The case can be assigned to colleagues of its authority, no one else.
    add_staff(
        &server,
        "gua2@buzon.test",
        "inspector",
        &["--authority", "state_ccl:MX-GUA"],
    )
    .await;
    add_staff(
        &server,
        "jal@buzon.test",
        "inspector",
        &["--authority", "state_ccl:MX-JAL"],
    )
    .await;
    let page = get_text(&inspector, &server.url(&format!("/triage/cases/{gua}"))).await;
    assert!(
        page.contains("gua2@buzon.test") && page.contains(">gua@buzon.test<"),
        "colleagues listed"
    );
    assert!(!page.contains("jal@buzon.test") && !page.contains("coord@buzon.test"));

    // The absolute lifetime: a session in use still ends.
    let db = server.db().await;
    db.execute_unprepared(&format!(
        "UPDATE staff_sessions SET expires_at = '{}'",
        (chrono::Utc::now() - chrono::Duration::seconds(1)).format("%Y-%m-%d %H:%M:%S%.f+00:00")
    ))
    .await
    .unwrap();
    assert_eq!(queue_status(&server, &inspector).await.0, 303);
    assert_eq!(
        adv.get(server.url("/api/v1/cases"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        401
    );

    // Sessions nobody presents again are swept (the sweep runs at start, then every
    // minute): end the others too and restart.
    let coord_sessions = server.count("SELECT COUNT(*) FROM staff_sessions").await;
    assert!(
        coord_sessions >= 1,
        "the coordinator's session is still there"
    );
    db.execute_unprepared(&format!(
        "UPDATE staff_sessions SET last_seen_at = '{}', expires_at = '{}'",
        (chrono::Utc::now() - chrono::Duration::hours(3)).format("%Y-%m-%dT%H:%M:%S%.f+00:00"),
        (chrono::Utc::now() + chrono::Duration::hours(3)).format("%Y-%m-%dT%H:%M:%S%.f+00:00")
    ))
    .await
    .unwrap();
    let mut server = server;
    server.terminate();
    server.start(&options());
    for _ in 0..100 {
        if server.count("SELECT COUNT(*) FROM staff_sessions").await == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("abandoned sessions were not swept");
}
