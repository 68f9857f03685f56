//! Issue 30, finding 1, on WhatsApp: a stored message whose working kills the
//! process (an abort the test hook makes on purpose) is set aside after
//! `MAX_OPEN_CLAIMS` claims, counted in `/readyz`, and the sender's next message is
//! answered as usual.

use super::*;

const MARKER: &str = "ABORT-MARKER-3c5e8a1f0d";
const FROM: &str = "5214775550199";

#[tokio::test]
async fn a_message_that_kills_the_process_is_set_aside_after_its_tries() {
    let stub = GraphStub::start().await;
    let secret = format!("appsecret-{}", uuid::Uuid::new_v4().simple());
    let options = wa::options(Options::default(), &stub, &secret, "verify-poison")
        .env("BUZON_TEST_ABORT_ON", MARKER)
        .env("BUZON_LEASE_SECS", "2")
        .env("BUZON_WHATSAPP_TIMEOUT_SECS", "1");
    let mut server = TestServer::spawn_with(Backend::Sqlite, options.clone()).await;
    let http = client();
    let poison = wa::text(FROM, "wamid.HBgNPOISON0001", &format!("hola {MARKER}"));
    let (status, _) = wa::deliver(&http, &server.base, &secret, &poison)
        .await
        .unwrap();
    assert_eq!(status, 200, "stored and acknowledged before it is worked");
    for crash in 1..=buzon::outbox::MAX_OPEN_CLAIMS {
        assert!(
            server.exits_within(30).await,
            "crash {crash} did not happen; logs:\n{}",
            server.logs()
        );
        server.start(&options);
    }
    eventually(30, "the message set aside", || async {
        let n = server
            .count("SELECT COUNT(*) FROM wa_inbox WHERE state = 'failed' AND open_claims >= 3")
            .await;
        if n == 1 {
            Ok(())
        } else {
            Err(format!("{n} set aside"))
        }
    })
    .await;
    let ready = get_json(&http, &server.url("/readyz")).await;
    assert_eq!(ready["whatsapp"]["inbox_crashed"], 1, "{ready}");
    // The sender is not blocked behind it: the next message is answered.
    let next = wa::text(FROM, "wamid.HBgNPOISON0002", "hola");
    let (status, _) = wa::deliver(&http, &server.base, &secret, &next)
        .await
        .unwrap();
    assert_eq!(status, 200);
    eventually(30, "a reply to the next message", || async {
        let n = stub.sent_to(FROM).len();
        if n >= 1 {
            Ok(())
        } else {
            Err(format!("{n} replies"))
        }
    })
    .await;
    assert!(server.is_running(), "logs:\n{}", server.logs());
}
