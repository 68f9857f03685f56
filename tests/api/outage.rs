//! A PostgreSQL outage: senders are told to try again, nothing typed is lost, and
//! everything resumes when the database is back, without restarting the server.
//!
//! The shared PostgreSQL server is never stopped (other tests use it): the server
//! under test reaches it through a TCP proxy in the test, and the outage is the
//! proxy cutting every connection and closing each new one at once, which is what
//! the server sees of a database that went away.

use crate::graph_stub::{GraphStub, render};
use crate::helpers::tcp_proxy::CutProxy;
use crate::helpers::wa::{self, case_ref_in};
use crate::helpers::{mail, *};
use crate::smtp_sink::{SmtpSink, read_reply};
use serde_json::Value;
use std::net::SocketAddr;
use tokio::io::AsyncWriteExt;

/// `url` with its host and port replaced by the proxy's.
fn through(proxy: &CutProxy, url: &str) -> String {
    let mut url = reqwest::Url::parse(url).expect("database URL");
    url.set_host(Some(&proxy.addr.ip().to_string()))
        .expect("host");
    url.set_port(Some(proxy.addr.port())).expect("port");
    url.to_string()
}

/// Where a `postgres://` URL points.
fn upstream(url: &str) -> SocketAddr {
    use std::net::ToSocketAddrs;
    let url = reqwest::Url::parse(url).expect("database URL");
    let host = url.host_str().expect("database host").to_owned();
    (host.as_str(), url.port().unwrap_or(5432))
        .to_socket_addrs()
        .expect("database address")
        .next()
        .expect("a database address")
}

async fn readyz(http: &reqwest::Client, server: &TestServer) -> Result<u16, String> {
    http.get(server.url("/readyz"))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map_err(|e| e.to_string())
}

/// One whole SMTP transaction; every reply, the last the one to the end of DATA.
async fn smtp_transaction(smtp: SocketAddr, from: &str, message_id: &str) -> Vec<String> {
    let stream = tokio::net::TcpStream::connect(smtp)
        .await
        .expect("SMTP connect");
    let (read, mut write) = stream.into_split();
    let mut read = tokio::io::BufReader::new(read);
    let mut replies = vec![read_reply(&mut read).await];
    let message = format!(
        "From: <{from}>\r\nTo: <{}>\r\nSubject: Despidos en la planta\r\nMessage-ID: <{message_id}>\r\n\
         Date: Mon, 1 Dec 2025 10:00:00 -0600\r\n\r\nMe despidieron sin liquidación.\r\nEstado: Coahuila\r\n.",
        mail::INTAKE
    );
    for line in [
        "EHLO sender.example".to_owned(),
        format!("MAIL FROM:<{from}>"),
        format!("RCPT TO:<{}>", mail::INTAKE),
        "DATA".to_owned(),
        message,
        "QUIT".to_owned(),
    ] {
        write.write_all(line.as_bytes()).await.expect("SMTP write");
        write.write_all(b"\r\n").await.expect("SMTP write");
        replies.push(read_reply(&mut read).await);
    }
    replies
}

/// The value of one field of a form.
fn field<'a>(fields: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    fields
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

async fn outage_is_answered_try_again_and_recovers_without_restart(backend: Backend) {
    buzon::install_crypto_provider();
    let stub = GraphStub::start().await;
    let sink = SmtpSink::start().await;
    let secret = format!("appsecret-{}", uuid::Uuid::new_v4().simple());
    let mut server = TestServer::prepare(backend).await;
    let proxy = CutProxy::start(upstream(&server.database_url)).await;
    let options = mail::options(
        wa::options(Options::default(), &stub, &secret, "verify-outage"),
        &sink,
    )
    .env("BUZON_DATABASE_URL", &through(&proxy, &server.database_url))
    .env("BUZON_OUTBOX_RETRY_BASE_MS", "50")
    .env("BUZON_LOG", "info,sqlx=warn");
    tokio::task::block_in_place(|| server.start(&options));
    let smtp = server.smtp.expect("SMTP listener");
    let http = client();
    assert_eq!(readyz(&http, &server).await, Ok(200));

    // A worker is at the summary of a WhatsApp complaint; another has the form open.
    let from = "5214775550188";
    let messages: Vec<Value> = wa::CONVERSATION
        .iter()
        .enumerate()
        .map(|(i, &(tap, sent, _))| {
            let id = format!("wamid.HBgN{from}FQIAEhgU{i:08}");
            if tap {
                wa::tap(from, &id, sent)
            } else {
                wa::text(from, &id, sent)
            }
        })
        .collect();
    let (confirm, until_summary) = messages.split_last().expect("a conversation");
    for message in until_summary {
        let (status, body) = wa::deliver(&http, &server.base, &secret, message)
            .await
            .expect("delivery");
        assert_eq!(status, 200, "{body}");
    }
    stub.wait_for(from, 0, "[confirm:send]").await;
    let form_page = get_text(&http, &server.url("/")).await;
    let typed: Vec<(String, String)> = [
        ("csrf", csrf_token(&form_page).as_str()),
        ("lang", "es"),
        ("employer", "Arneses Tlacuache del Norte"),
        ("state", "MX-COA"),
        ("city", "Ramos Arizpe"),
        ("sector", "auto_parts"),
        ("trade_with_us", "yes"),
        ("workers", "950"),
        ("violations", "union_retaliation"),
        ("violations", "unjust_dismissal"),
        (
            "narrative",
            "Despidieron a Rosalba Quintero y a otros seis después de la asamblea.",
        ),
        ("occurred_on", "2025-10-03"),
        ("identity", "contact"),
        ("name", "Rosalba Quintero Ibarra"),
        ("phone", "844 555 0199"),
        ("email", "rosalba.q@ejemplo.mx"),
        ("worker_id", "RA-40211"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();

    // The database goes away.
    proxy.cut();
    let http_ref = &http;
    let server_ref = &server;
    eventually(60, "/readyz fails", || async move {
        match readyz(http_ref, server_ref).await {
            Ok(503) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;

    // The webhook: 503, so Meta delivers it again.
    let (status, body) = wa::deliver(&http, &server.base, &secret, confirm)
        .await
        .expect("an answer");
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "unavailable", "{body}");

    // SMTP: a temporary refusal at the end of DATA, so the sending server retries.
    let replies = smtp_transaction(smtp, "rosalba.q@ejemplo.mx", "caida-1@ejemplo.mx").await;
    let end_of_data = &replies[replies.len() - 2];
    assert!(
        end_of_data.starts_with("451 4.3.0"),
        "end of DATA answered {end_of_data:?}; all: {replies:?}"
    );

    // The form: "try again", with everything the worker typed still in it.
    let (status, page) = post_form(&http, &server.url("/complaints"), &typed).await;
    assert_eq!(status, 503, "{page}");
    assert!(page.contains("data-code=\"unavailable\""), "{page}");
    assert!(page.contains("Intente de nuevo"), "{page}");
    let kept = form_fields(&page, "/complaints");
    for (name, _) in &typed {
        if name == "csrf" {
            continue;
        }
        assert_eq!(
            field(&kept, name),
            field(&typed, name),
            "{name} kept in the form"
        );
    }

    // The JSON API: 503 unavailable.
    let (status, body) = post_json(
        &http,
        &server.url("/api/v1/complaints"),
        &anonymous_complaint(),
    )
    .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "unavailable");

    // Nothing half-stored meanwhile.
    assert_eq!(server.count("SELECT COUNT(*) FROM cases").await, 0);
    assert_eq!(server.count("SELECT COUNT(*) FROM email_inbox").await, 0);
    assert!(server.is_running(), "the outage did not stop the server");

    // Back, without a restart.
    proxy.restore();
    let server_ref = &server;
    eventually(60, "/readyz recovers", || async move {
        match readyz(http_ref, server_ref).await {
            Ok(200) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;

    // Meta retries (once more than needed): one case.
    for _ in 0..2 {
        let (status, body) = wa::deliver(&http, &server.base, &secret, confirm)
            .await
            .expect("an answer");
        assert_eq!(status, 200, "{body}");
    }
    let i = stub.wait_for(from, 0, "Recibimos su queja").await;
    let case_ref = case_ref_in(&render(&stub.sent_to(from)[i]));

    // The sending server retries: the mail is taken and acknowledged.
    let replies = smtp_transaction(smtp, "rosalba.q@ejemplo.mx", "caida-1@ejemplo.mx").await;
    assert!(
        replies[replies.len() - 2].starts_with("250 "),
        "{replies:?}"
    );

    // The worker presses "send" again on the page they were shown: the receipt.
    let (status, page) = post_form(&http, &server.url("/complaints"), &kept).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("id=\"receipt\""), "{page}");

    let (status, body) = post_json(
        &http,
        &server.url("/api/v1/complaints"),
        &anonymous_complaint(),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    sink.wait_for(1).await;
    let server_ref = &server;
    eventually(60, "the inboxes worked", || async move {
        let pending = server_ref
            .count("SELECT COUNT(*) FROM wa_inbox WHERE state <> 'done'")
            .await
            + server_ref
                .count("SELECT COUNT(*) FROM email_inbox WHERE state = 'pending'")
                .await;
        let unsent = server_ref
            .count("SELECT COUNT(*) FROM outbox WHERE state <> 'sent'")
            .await;
        if pending == 0 && unsent == 0 {
            Ok(())
        } else {
            Err(format!(
                "{pending} inbox rows not done, {unsent} replies unsent"
            ))
        }
    })
    .await;
    for (channel, n) in [("whatsapp", 1), ("email", 1), ("web", 1), ("api", 1)] {
        assert_eq!(
            server
                .count(&format!(
                    "SELECT COUNT(*) FROM cases WHERE channel = '{channel}'"
                ))
                .await,
            n,
            "{channel} cases"
        );
    }
    assert_eq!(
        server
            .count(&format!(
                "SELECT COUNT(*) FROM cases WHERE case_ref = '{case_ref}'"
            ))
            .await,
        1
    );
    let receipts = stub
        .sent_to(from)
        .iter()
        .filter(|m| render(m).contains("Recibimos su queja"))
        .count();
    assert_eq!(receipts, 1, "one receipt on WhatsApp");
    assert_eq!(sink.received().len(), 1, "one acknowledgement by e-mail");
    assert!(stub.problems().is_empty(), "{:?}", stub.problems());
    assert!(server.is_running(), "never restarted");
    server.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_is_answered_try_again_and_recovers_without_restart() {
    if let Some(backend) = Backend::postgres().await {
        outage_is_answered_try_again_and_recovers_without_restart(backend).await;
    }
}
