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
