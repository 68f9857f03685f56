//! A real browser: Debian's Chromium, JavaScript disabled, a phone-sized screen,
//! fills the form and reaches the receipt, then opens the case with it.

use crate::helpers::*;
use fantoccini::{ClientBuilder, Locator};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_chromedriver() -> (Driver, String) {
    buzon::install_crypto_provider();
    let port = free_port();
    let mut child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver is not installed: apt-get install chromium chromium-driver (.ci/run does)");
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if reqwest::get(format!("{url}/status")).await.is_ok() {
            return (Driver(child), url);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("chromedriver did not start");
}

#[tokio::test]
async fn a_worker_on_a_phone_without_javascript_files_and_gets_a_receipt() {
    buzon::install_crypto_provider();
    let server = TestServer::spawn(Backend::Sqlite).await;
    let (_driver, driver_url) = start_chromedriver().await;
    let profile = tempfile::tempdir().unwrap();
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", format!("--user-data-dir={}", profile.path().display()),
            ],
            "mobileEmulation": {"deviceMetrics": {"width": 360, "height": 740, "pixelRatio": 2.0}},
            "prefs": {
                "profile.managed_default_content_settings.javascript": 2,
                "intl.accept_languages": "es-MX,es"
            }
        }
    });
    let caps = caps.as_object().unwrap().clone().into_iter().collect();
    let browser = ClientBuilder::rustls()
        .unwrap()
        .capabilities(caps)
        .connect(&driver_url)
        .await
        .expect("start Chromium through chromedriver");

    let steps = async {
        // JavaScript really is off: <noscript> content only renders when it is.
        browser
            .goto("data:text/html,<noscript><p id=off>off</p></noscript>")
            .await?;
        assert!(
            browser.find(Locator::Id("off")).await.is_ok(),
            "JavaScript is disabled"
        );

        browser.goto(&server.url("/")).await?;
        // Only keyboard input: chromedriver's click waits on a page timer, which never
        // fires with JavaScript off. Typing is what a phone keyboard does anyway.
        let type_into = |css: &'static str, text: &'static str| {
            let browser = &browser;
            async move { browser.find(Locator::Css(css)).await?.send_keys(text).await }
        };
        type_into("#employer", "Arneses del Bajío").await?;
        type_into("#state", "Guanajuato").await?;
        type_into("#city", "León").await?;
        type_into("#sector", "Autopartes").await?;
        type_into("input[name=violations][value=union_retaliation]", " ").await?;
        type_into(
            "#narrative",
            "Me despidieron dos días después de la asamblea del sindicato.",
        )
        .await?;
        type_into("#identity-anonymous", " ").await?;
        // Enter in a text field submits the form, as the submit button would.
        type_into("#city", "\u{e007}").await?;

        let receipt = browser
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Id("receipt"))
            .await?;
        let code = receipt.text().await?;
        assert_eq!(code.len(), 29, "{code}");
        let png = browser.screenshot().await?;
        std::fs::write(std::env::temp_dir().join("buzon-receipt.png"), png).ok();

        // Back with the code.
        browser.goto(&server.url("/status")).await?;
        let input = browser.find(Locator::Id("receipt")).await?;
        input.send_keys(&code).await?;
        input.send_keys("\u{e007}").await?;
        let status = browser
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Id("status"))
            .await?;
        assert_eq!(status.text().await?, "Recibida");
        Ok::<_, fantoccini::error::CmdError>(())
    };
    let result = tokio::time::timeout(Duration::from_secs(120), steps).await;
    browser.close().await.ok();
    result
        .expect("browser flow took over two minutes")
        .expect("browser flow");
}

/// Where the console screenshots are kept (test artifacts, not checked in), emptied
/// of the last run's so the check that they were taken is about this run.
fn screenshot_dir() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        if entry.file_name().to_string_lossy().starts_with("triage-") {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
    dir
}

async fn console_browser(
    driver_url: &str,
    profile: &std::path::Path,
    phone: bool,
) -> fantoccini::Client {
    let mut args = vec![
        "--headless".to_owned(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--disable-dev-shm-usage".into(),
        format!("--user-data-dir={}", profile.display()),
    ];
    if !phone {
        args.push("--window-size=1280,900".into());
    }
    let mut options = serde_json::json!({
        "binary": "/usr/bin/chromium",
        "args": args,
        "prefs": {
            "profile.managed_default_content_settings.javascript": 2,
            "intl.accept_languages": "es-MX,es"
        }
    });
    if phone {
        options["mobileEmulation"] =
            serde_json::json!({"deviceMetrics": {"width": 360, "height": 740, "pixelRatio": 2.0}});
    }
    let caps = serde_json::json!({ "goog:chromeOptions": options });
    let caps = caps.as_object().unwrap().clone().into_iter().collect();
    ClientBuilder::rustls()
        .unwrap()
        .capabilities(caps)
        .connect(driver_url)
        .await
        .expect("start Chromium through chromedriver")
}

/// An inspector signs in with a second factor (enrolling it), works the queue, reveals
/// an identity with a reason and moves the case along, in Chromium with JavaScript
/// off, on a desktop screen and on a phone; screenshots of each page are kept.
#[tokio::test]
async fn an_inspector_works_the_queue_in_a_browser_on_desktop_and_phone() {
    use crate::triage::{PASSWORD, add_staff, file, local_case, options};
    buzon::install_crypto_provider();
    let server = TestServer::spawn_with(Backend::Sqlite, options()).await;
    let http = client();
    let mut retaliation = local_case(
        "MX-GUA",
        "Teresa Navarro Ruiz",
        &["union_retaliation"],
        Some(120),
    );
    retaliation["narrative"] = serde_json::json!("Me corrieron al día siguiente de la asamblea.");
    let urgent = file(&server, &http, &retaliation).await;
    let later = file(
        &server,
        &http,
        &local_case("MX-GUA", "Pablo Díaz", &["unpaid_wages"], None),
    )
    .await;
    let (_driver, driver_url) = start_chromedriver().await;
    let shots = screenshot_dir();

    for (phone, email) in [
        (false, "escritorio@buzon.test"),
        (true, "telefono@buzon.test"),
    ] {
        add_staff(
            &server,
            email,
            "inspector",
            &["--authority", "state_ccl:MX-GUA"],
        )
        .await;
        let profile = tempfile::tempdir().unwrap();
        let browser = console_browser(&driver_url, profile.path(), phone).await;
        let width = if phone { "phone" } else { "desktop" };
        let shot = |name: &str| {
            let browser = &browser;
            let path = shots.join(format!("triage-{width}-{name}.png"));
            async move {
                let png = browser.screenshot().await?;
                std::fs::write(&path, png).unwrap();
                Ok::<_, fantoccini::error::CmdError>(())
            }
        };
        let steps = async {
            let type_into = |css: &'static str, text: String| {
                let browser = &browser;
                async move {
                    browser
                        .find(Locator::Css(css))
                        .await?
                        .send_keys(&text)
                        .await
                }
            };
            let wait_for = |css: &'static str| {
                let browser = &browser;
                async move {
                    browser
                        .wait()
                        .at_most(Duration::from_secs(20))
                        .for_element(Locator::Css(css))
                        .await
                }
            };
            // Sign in: password, then the second factor is set up from the QR page.
            browser.goto(&server.url("/triage")).await?;
            wait_for("#email").await?;
            shot("1-login").await?;
            type_into("#email", email.to_owned()).await?;
            type_into("#password", format!("{PASSWORD}\u{e007}")).await?;
            let secret = wait_for("#totp-secret").await?.text().await?;
            assert!(
                browser.find(Locator::Css(".qr svg")).await.is_ok(),
                "QR code shown"
            );
            shot("2-enroll").await?;
            type_into(
                "#code",
                format!("{}\u{e007}", crate::triage_login::code(&secret, 0)),
            )
            .await?;
            let codes = wait_for("#recovery-codes").await?.text().await?;
            assert_eq!(codes.lines().count(), 10, "{codes}");
            shot("3-recovery-codes").await?;

            // The queue: the retaliation case first, the order explained.
            browser.goto(&server.url("/triage")).await?;
            let rows = {
                wait_for("#queue").await?;
                browser.find_all(Locator::Css("tr.case")).await?
            };
            let mut order = Vec::new();
            for row in &rows {
                order.push(row.attr("data-ref").await?.unwrap_or_default());
            }
            assert_eq!(order, vec![urgent.clone(), later.clone()]);
            assert!(
                browser
                    .find(Locator::Id("order"))
                    .await?
                    .text()
                    .await?
                    .contains("represalia")
            );
            shot("4-queue").await?;

            // The case, masked; a reveal with a reason shows the name on this page only.
            browser
                .goto(&server.url(&format!("/triage/cases/{urgent}")))
                .await?;
            wait_for("#masked").await?;
            let page = browser.source().await?;
            assert!(!page.contains("Teresa Navarro"), "masked until revealed");
            shot("5-case-masked").await?;
            type_into("#reason", "Citarla para la conciliación\u{e007}".into()).await?;
            let name = wait_for("#id-name").await?.text().await?;
            assert_eq!(name, "Teresa Navarro Ruiz");
            shot("6-case-revealed").await?;
            let identity = browser
                .find(Locator::Id("identity"))
                .await?
                .screenshot()
                .await?;
            std::fs::write(
                shots.join(format!("triage-{width}-6-identity.png")),
                identity,
            )
            .unwrap();

            // Status change: received -> in review (the first allowed move).
            browser
                .goto(&server.url(&format!("/triage/cases/{urgent}")))
                .await?;
            assert!(
                !browser.source().await?.contains("Teresa Navarro"),
                "a reveal lasts for one page"
            );
            let before = browser
                .find(Locator::Id("status"))
                .await?
                .attr("data-status")
                .await?;
            type_into("#status-reason", "Revisando\u{e007}".into()).await?;
            // The old page may still be there for a moment: wait for the new one.
            let mut after = before.clone();
            for _ in 0..100 {
                if let Ok(el) = browser.find(Locator::Id("status")).await
                    && let Ok(v) = el.attr("data-status").await
                    && v != before
                {
                    after = v;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert_ne!(before, after);
            shot("7-status-changed").await?;
            Ok::<_, fantoccini::error::CmdError>(after)
        };
        let result = tokio::time::timeout(Duration::from_secs(120), steps).await;
        browser.close().await.ok();
        let after = result
            .expect("console flow took over two minutes")
            .expect("console flow");
        assert_eq!(
            after.as_deref(),
            Some(if phone { "info_requested" } else { "in_review" })
        );
    }
    for name in ["1-login", "4-queue", "6-case-revealed", "7-status-changed"] {
        for width in ["desktop", "phone"] {
            let path = shots.join(format!("triage-{width}-{name}.png"));
            assert!(
                std::fs::metadata(&path)
                    .map(|m| m.len() > 1000)
                    .unwrap_or(false),
                "{path:?}"
            );
        }
    }
    let reveals = server
        .count("SELECT COUNT(*) FROM audit_log WHERE action = 'reveal'")
        .await;
    assert_eq!(reveals, 2);
}

type Found = Result<fantoccini::elements::Element, fantoccini::error::CmdError>;

/// Waits up to 20 s for an element.
async fn wait_for(browser: &fantoccini::Client, css: &str) -> Found {
    browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
}

async fn type_into(
    browser: &fantoccini::Client,
    css: &str,
    text: String,
) -> Result<(), fantoccini::error::CmdError> {
    browser
        .find(Locator::Css(css))
        .await?
        .send_keys(&text)
        .await
}

async fn click(browser: &fantoccini::Client, css: &str) -> Result<(), fantoccini::error::CmdError> {
    browser.find(Locator::Css(css)).await?.click().await
}

/// An advocate signs in with a second factor, files a complaint for one member on the
/// form (the member's receipt shown once, and working), reveals the member on the
/// case page, takes the flagged case to the RRM workflow (answers, evidence), and
/// opens the printable bilingual petition draft, in Chromium with JavaScript off.
#[tokio::test]
async fn an_advocate_files_for_a_member_and_exports_the_petition_in_a_browser() {
    use crate::triage::{PASSWORD, add_staff, options};
    buzon::install_crypto_provider();
    let server = TestServer::spawn_with(Backend::Sqlite, options()).await;
    let http = client();
    add_staff(
        &server,
        "defensora@sindicato.test",
        "advocate",
        &["--org", "Sindicato Independiente del Bajío"],
    )
    .await;
    let (_driver, driver_url) = start_chromedriver().await;
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    for entry in std::fs::read_dir(&shots).unwrap().flatten() {
        if entry.file_name().to_string_lossy().starts_with("advocate-") {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
    let evidence = tempfile::Builder::new().suffix(".pdf").tempfile().unwrap();
    std::fs::write(evidence.path(), b"%PDF-1.4\nacta de la asamblea\n%%EOF").unwrap();
    let profile = tempfile::tempdir().unwrap();
    let browser = console_browser(&driver_url, profile.path(), false).await;
    let shot = |name: &str| {
        let browser = &browser;
        let path = shots.join(format!("advocate-{name}.png"));
        async move {
            let png = browser.screenshot().await?;
            std::fs::write(&path, png).unwrap();
            Ok::<_, fantoccini::error::CmdError>(())
        }
    };
    let steps = async {
        // Sign in with the second factor, enrolled on first sign-in.
        browser.goto(&server.url("/triage")).await?;
        type_into(&browser, "#email", "defensora@sindicato.test".into()).await?;
        type_into(&browser, "#password", format!("{PASSWORD}\u{e007}")).await?;
        let secret = wait_for(&browser, "#totp-secret").await?.text().await?;
        type_into(
            &browser,
            "#code",
            format!("{}\u{e007}", crate::triage_login::code(&secret, 0)),
        )
        .await?;
        wait_for(&browser, "#recovery-codes").await?;
        browser.goto(&server.url("/triage")).await?;
        let org = wait_for(&browser, "#org-name").await?.text().await?;
        assert_eq!(org, "Sindicato Independiente del Bajío");
        shot("1-cases").await?;

        // File for one member: identity, consent (today by default), the facts.
        click(&browser, "#file-new").await?;
        wait_for(&browser, "#file-form").await?;
        type_into(&browser, "#name", "Beatriz Lomas Prieto".into()).await?;
        type_into(&browser, "#phone", "477 321 6540".into()).await?;
        click(&browser, "#consent_method option[value=verbal]").await?;
        type_into(&browser, "#employer", "Arneses del Bajío".into()).await?;
        click(&browser, "#state option[value=MX-GUA]").await?;
        click(&browser, "#sector option[value=auto_parts]").await?;
        click(&browser, "#trade_with_us option[value=yes]").await?;
        click(&browser, "#v-union_retaliation").await?;
        type_into(
            &browser,
            "#narrative",
            "La despidieron al día siguiente de afiliarse al sindicato independiente.".into(),
        )
        .await?;
        shot("2-file-form").await?;
        click(&browser, "#submit").await?;
        let receipt = wait_for(&browser, "#receipt").await?.text().await?;
        let case_ref = browser.find(Locator::Id("case-ref")).await?.text().await?;
        shot("3-filed-receipt").await?;
        Ok::<_, fantoccini::error::CmdError>((receipt, case_ref))
    };
    let (receipt, case_ref) = tokio::time::timeout(Duration::from_secs(120), steps)
        .await
        .expect("filing took over two minutes")
        .expect("filing in the browser");
    // The member's own receipt opens the case without the organization.
    let (status, seen) = post_json(
        &http,
        &server.url("/api/v1/status"),
        &serde_json::json!({"receipt": receipt}),
    )
    .await;
    assert_eq!(
        (status, seen["case_ref"].as_str()),
        (200, Some(case_ref.as_str()))
    );

    let steps = async {
        // The case: the member masked until a recorded reveal.
        browser
            .goto(&server.url(&format!("/org/cases/{case_ref}")))
            .await?;
        wait_for(&browser, "#members").await?;
        assert!(!browser.source().await?.contains("Beatriz"), "masked");
        type_into(&browser, "#reason", "Preparar la petición\u{e007}".into()).await?;
        let name = wait_for(&browser, ".member-name").await?.text().await?;
        assert_eq!(name, "Beatriz Lomas Prieto");
        shot("4-case-revealed").await?;

        // The RRM workflow: answers and evidence.
        browser
            .goto(&server.url(&format!("/org/cases/{case_ref}")))
            .await?;
        wait_for(&browser, "#rrm-link").await?.click().await?;
        wait_for(&browser, "#answers-form").await?;
        let asked = browser.find_all(Locator::Css("li.question")).await?;
        assert!(
            !asked.is_empty(),
            "the screening's open questions are listed"
        );
        type_into(
            &browser,
            "#union_history",
            "Contrato de protección firmado sin consulta; el sindicato independiente pidió la constancia."
                .into(),
        )
        .await?;
        type_into(
            &browser,
            "#goods",
            "Arneses eléctricos para camionetas armadas en Texas.".into(),
        )
        .await?;
        browser
            .find(Locator::Id("save-answers"))
            .await?
            .click()
            .await?;
        wait_for(&browser, "#saved").await?;
        type_into(&browser, "#description", "Acta de la asamblea".into()).await?;
        type_into(&browser, "#file", evidence.path().display().to_string()).await?;
        browser.find(Locator::Id("upload")).await?.click().await?;
        wait_for(&browser, "#evidence-list").await?;
        shot("5-rrm").await?;
        // Both exports are buttons of one form (a POST: exporting records the
        // petition as prepared).
        let odt = browser
            .find(Locator::Id("export-odt"))
            .await?
            .attr("value")
            .await?;
        assert_eq!(odt.as_deref(), Some("odt"));

        // The printable draft, Spanish then English: the answers, the organization,
        // the evidence; the member withheld (no consent to be named in a petition).
        click(&browser, "#export-html").await?;
        wait_for(&browser, "#doc-en").await?;
        let page = browser.source().await?;
        shot("6-petition").await?;
        Ok::<_, fantoccini::error::CmdError>(page)
    };
    let result = tokio::time::timeout(Duration::from_secs(120), steps).await;
    browser.close().await.ok();
    let page = result
        .expect("the workflow took over two minutes")
        .expect("the RRM workflow in the browser");
    for want in [
        "Borrador de petición",
        "Draft Rapid Response Labor Mechanism",
        "Sindicato Independiente del Bajío",
        "Contrato de protección firmado sin consulta",
        "Arneses eléctricos para camionetas",
        "Acta de la asamblea",
        "Identidad reservada",
        "Identity withheld",
    ] {
        assert!(page.contains(want), "{want} missing from the printed draft");
    }
    assert!(
        !page.contains("Beatriz"),
        "named without consent to a petition"
    );
    for name in [
        "1-cases",
        "3-filed-receipt",
        "4-case-revealed",
        "5-rrm",
        "6-petition",
    ] {
        let path = shots.join(format!("advocate-{name}.png"));
        assert!(
            std::fs::metadata(&path)
                .map(|m| m.len() > 1000)
                .unwrap_or(false),
            "{path:?}"
        );
    }
    let exports = server
        .count("SELECT COUNT(*) FROM audit_log WHERE action = 'export'")
        .await;
    assert_eq!(exports, 1);
}

/// A coordinator reads the program indicators, and a worker the rights guide, in
/// Chromium with JavaScript off on a phone: tables, charts and "< 5" cells render,
/// the filters are a plain form; screenshots kept.
#[tokio::test]
async fn indicators_and_the_rights_guide_render_on_a_phone_without_javascript() {
    use crate::triage::{PASSWORD, add_staff, file, local_case, options};
    buzon::install_crypto_provider();
    let server = TestServer::spawn_with(Backend::Sqlite, options()).await;
    let http = client();
    for (state, n) in [("MX-GUA", 6), ("MX-JAL", 3)] {
        for _ in 0..n {
            file(
                &server,
                &http,
                &local_case(state, "Irma Solís", &["unpaid_wages"], None),
            )
            .await;
        }
    }
    add_staff(&server, "coord@buzon.test", "coordinator", &[]).await;
    let (_driver, driver_url) = start_chromedriver().await;
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let browser = console_browser(&driver_url, profile.path(), true).await;
    let steps = async {
        // The rights guide, as a worker opens it from the form.
        browser.goto(&server.url("/")).await?;
        let link = wait_for(&browser, "#rights-link")
            .await?
            .attr("href")
            .await?;
        assert_eq!(link.as_deref(), Some("/derechos?lang=es"));
        browser.goto(&server.url("/derechos?lang=es")).await?;
        wait_for(&browser, "#sindicato").await?;
        let page = browser.source().await?;
        assert!(
            page.contains("Presentar una queja"),
            "a way back to the form"
        );
        std::fs::write(
            shots.join("rights-phone-es.png"),
            browser.screenshot().await?,
        )
        .unwrap();
        browser.goto(&server.url("/derechos?lang=en")).await?;
        wait_for(&browser, "#tmec").await?;
        std::fs::write(
            shots.join("rights-phone-en.png"),
            browser.screenshot().await?,
        )
        .unwrap();

        // The coordinator: password only (no identities, no second factor).
        browser.goto(&server.url("/triage/login")).await?;
        wait_for(&browser, "#email").await?;
        type_into(&browser, "#email", "coord@buzon.test".into()).await?;
        type_into(&browser, "#password", format!("{PASSWORD}\u{e007}")).await?;
        wait_for(&browser, "#indicators").await?;
        let page = browser.source().await?;
        assert!(page.contains("Indicadores del programa"));
        assert!(page.contains("<svg"), "charts are drawn on the server");
        assert!(page.contains("&lt; 5"), "three Jalisco cases read < 5");
        assert!(!page.contains("Irma") && !page.contains("BZ-"));
        let jal = browser
            .find(Locator::XPath(
                "//section[@id='intake_state']//tr[th='Jalisco']/td[last()]",
            ))
            .await?
            .text()
            .await?;
        assert_eq!(jal, "< 5", "Jalisco's total itself");
        std::fs::write(
            shots.join("indicators-phone-es.png"),
            browser.screenshot().await?,
        )
        .unwrap();
        // Filters are a plain GET form (its fields and their names).
        assert!(
            browser
                .find(Locator::Css(
                    "form#indicator-filters[method='get'] select#state"
                ))
                .await
                .is_ok()
        );
        browser
            .goto(&server.url("/triage/indicators?state=MX-GUA"))
            .await?;
        wait_for(&browser, "#scope").await?;
        assert!(
            browser
                .find(Locator::Id("scope"))
                .await?
                .text()
                .await?
                .contains("Guanajuato")
        );
        browser
            .goto(&server.url("/triage/indicators?lang=en"))
            .await?;
        wait_for(&browser, "#indicators").await?;
        std::fs::write(
            shots.join("indicators-phone-en.png"),
            browser.screenshot().await?,
        )
        .unwrap();
        Ok::<_, fantoccini::error::CmdError>(())
    };
    let result = tokio::time::timeout(Duration::from_secs(120), steps).await;
    browser.close().await.ok();
    result
        .expect("took over two minutes")
        .expect("browser steps");
    for name in [
        "rights-phone-es",
        "rights-phone-en",
        "indicators-phone-es",
        "indicators-phone-en",
    ] {
        let png = std::fs::read(shots.join(format!("{name}.png"))).unwrap();
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 5_000,
            "{name} screenshot"
        );
    }
}
