//! The shared corpus fed end to end: ~600 real e-mails and WhatsApp webhook payloads
//! written by other projects (mail parsers, bounce parsers, spam filters, WhatsApp
//! libraries and Meta's documented examples; provenance in the corpus's
//! `MANIFEST.tsv`) go through a real server, every e-mail once by the inbound-mail
//! webhook and once by SMTP, every WhatsApp payload signed to the webhook.
//!
//! Run by `tools/corpus-feed` (which CI runs), never by the README's test command:
//! the corpus is other projects' files, kept outside the repository, and
//! `BUZON_CORPUS_DIR` names it. What must hold, per the manifest's categories:
//! - nothing answers 5xx, nothing panics, no ERROR line is logged, the server stays up
//!   and every stored message is worked;
//! - automatic mail (auto-replies, bounces, delivery reports, abuse reports,
//!   challenge-response, bulk) never becomes a case and is never acknowledged;
//! - spam is held unacknowledged once a relay has flagged it: Buzón does not classify
//!   spam itself (that is the receiving relay's job, e.g. rspamd), so the feeder
//!   adds the `X-Spam-Flag: YES` such a relay writes, as the relay in front of a
//!   deployment would;
//! - a carrier picture message (MMS-to-mail) is a complaint with its image kept, and
//!   so is every message carrying one of the commonly mislabelled evidence types;
//! - no WhatsApp status or field is dropped as malformed, and a sender known only by
//!   a username (business-scoped user id) is asked for consent like anyone else.

use crate::graph_stub::{self, GraphStub};
use crate::helpers::mail::{self, INTAKE};
use crate::helpers::*;
use crate::smtp_sink::SmtpSink;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::Value;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

const SECRET: &str = "corpus-feed-app-secret";

/// One line of the manifest.
struct Entry {
    file: String,
    channel: String,
    categories: Vec<String>,
}

impl Entry {
    fn is(&self, category: &str) -> bool {
        self.categories.iter().any(|c| c == category)
    }
}

/// Automatic mail: never a case, never an acknowledgement.
const AUTOMATIC: &[&str] = &[
    "auto-reply",
    "bounce",
    "dsn",
    "feedback-report",
    "challenge-response",
    "bulk",
];

/// Content types phones and mail programs mislabel or encode the old way: a message
/// carrying one is a complaint whose file is kept.
const MISLABELLED_EVIDENCE: &[&str] = &[
    "audio/basic",
    "image/jpg",
    "application/pdf name=",
    "x-uuencode",
];

fn corpus_dir() -> PathBuf {
    let dir = std::env::var_os("BUZON_CORPUS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    assert!(
        dir.join("MANIFEST.tsv").is_file(),
        "no corpus at {} (set BUZON_CORPUS_DIR)",
        dir.display()
    );
    dir
}

fn manifest(dir: &Path) -> Vec<Entry> {
    let text = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("manifest");
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            (cols.len() >= 6).then(|| Entry {
                file: cols[0].to_owned(),
                channel: cols[1].to_owned(),
                categories: cols[5].split(',').map(|c| c.trim().to_owned()).collect(),
            })
        })
        .collect()
}

/// What one stored e-mail became.
struct Worked {
    outcome: Option<String>,
    acked: bool,
    attachments: i64,
}

/// Every e-mail, in manifest order, through `send`: the new inbox row of each (none
/// when it was refused or a duplicate of an earlier one), read once all are worked.
async fn feed_emails<F, Fut>(
    server: &TestServer,
    dir: &Path,
    entries: &[&Entry],
    send: F,
) -> Vec<Option<Worked>>
where
    F: Fn(&Entry, Vec<u8>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let db = server.db().await;
    let mut known: HashSet<uuid::Uuid> = HashSet::new();
    let mut rows = Vec::new();
    for entry in entries {
        let mut raw = std::fs::read(dir.join(&entry.file)).expect("corpus file");
        if entry.is("spam") {
            let mut flagged = b"X-Spam-Flag: YES\r\n".to_vec();
            flagged.append(&mut raw);
            raw = flagged;
        }
        send(entry, raw).await;
        let ids: Vec<uuid::Uuid> = entity::email_inbox::Entity::find()
            .all(&db)
            .await
            .expect("inbox")
            .into_iter()
            .map(|r| r.id)
            .collect();
        let new: Vec<uuid::Uuid> = ids.into_iter().filter(|id| known.insert(*id)).collect();
        assert!(
            new.len() <= 1,
            "{}: stored as {} rows",
            entry.file,
            new.len()
        );
        rows.push(new.first().copied());
    }
    settle(server, "email_inbox").await;
    let mut worked = Vec::new();
    for id in rows {
        let Some(id) = id else {
            worked.push(None);
            continue;
        };
        let row = entity::email_inbox::Entity::find_by_id(id)
            .one(&db)
            .await
            .expect("inbox row")
            .expect("row kept");
        let attachments = match row.case_id {
            Some(case) => entity::attachment::Entity::find()
                .filter(entity::attachment::Column::CaseId.eq(case))
                .count(&db)
                .await
                .expect("attachments") as i64,
            None => 0,
        };
        worked.push(Some(Worked {
            outcome: row.outcome,
            acked: row.acked_at.is_some(),
            attachments,
        }));
    }
    db.close().await.ok();
    worked
}

/// Waits until no row of `table` is pending (each row is worked or set aside).
async fn settle(server: &TestServer, table: &str) {
    for _ in 0..2400 {
        let pending = server
            .count(&format!(
                "SELECT COUNT(*) FROM {table} WHERE state = 'pending'"
            ))
            .await;
        if pending == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{table} never drained; logs:\n{}", server.logs());
}

/// What went wrong with the e-mails of one pass, one line each.
fn email_failures(
    via: &str,
    dir: &Path,
    entries: &[&Entry],
    worked: &[Option<Worked>],
) -> Vec<String> {
    let mut failures = Vec::new();
    for (entry, worked) in entries.iter().zip(worked) {
        let Some(w) = worked else { continue };
        let filed = matches!(w.outcome.as_deref(), Some("case" | "follow_up"));
        let name = format!("{via} {}", entry.file);
        if AUTOMATIC.iter().any(|c| entry.is(c)) || entry.is("spam") {
            if filed || w.acked {
                failures.push(format!(
                    "{name}: automatic or spam, but outcome {:?}, acknowledged {}",
                    w.outcome, w.acked
                ));
            }
            continue;
        }
        let raw = std::fs::read(dir.join(&entry.file)).unwrap_or_default();
        let lower = String::from_utf8_lossy(&raw).to_ascii_lowercase();
        let mislabelled = MISLABELLED_EVIDENCE.iter().any(|t| lower.contains(t));
        let picture = entry.is("mms") && lower.contains("content-type: image/");
        if (mislabelled || picture) && (!filed || w.attachments == 0) {
            failures.push(format!(
                "{name}: evidence expected, outcome {:?}, {} file(s) kept",
                w.outcome, w.attachments
            ));
        }
    }
    failures
}

/// The envelope sender an MTA would give: the null sender for delivery reports,
/// else the From address when it parses.
fn envelope_sender(entry: &Entry, raw: &[u8]) -> Option<lettre::Address> {
    if entry.is("bounce") || entry.is("dsn") {
        return None;
    }
    let text = String::from_utf8_lossy(raw);
    let from = text
        .lines()
        .take_while(|l| !l.is_empty() && *l != "\r")
        .find(|l| l.to_ascii_lowercase().starts_with("from:"))?;
    let addr = from
        .rsplit_once('<')
        .map_or(&from[5..], |(_, a)| a)
        .trim()
        .trim_end_matches('>')
        .trim();
    addr.parse().ok()
}

fn problems_in_logs(server: &TestServer) -> Vec<String> {
    server
        .logs()
        .lines()
        .filter(|l| l.contains("ERROR") || l.contains("panicked"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
#[ignore = "feeds ../shared/corpus (other projects' files): run tools/corpus-feed"]
async fn the_shared_corpus_goes_through_both_channels() {
    buzon::install_crypto_provider();
    let dir = corpus_dir();
    let entries = manifest(&dir);
    let emails: Vec<&Entry> = entries.iter().filter(|e| e.channel == "email").collect();
    let whatsapp: Vec<&Entry> = entries.iter().filter(|e| e.channel == "whatsapp").collect();
    assert!(
        emails.len() > 400 && whatsapp.len() > 100,
        "corpus incomplete"
    );
    let http = client();
    let mut failures = Vec::new();

    // `BUZON_CORPUS_PASSES` (e.g. `smtp,whatsapp`) runs some passes only.
    let passes =
        std::env::var("BUZON_CORPUS_PASSES").unwrap_or_else(|_| "webhook,smtp,whatsapp".to_owned());
    let sink = SmtpSink::start().await;

    // E-mail by the inbound-mail webhook.
    if passes.contains("webhook") {
        let token = format!("corpus-{}", uuid::Uuid::new_v4().simple());
        let options = mail::options(Options::default(), &sink)
            .env("BUZON_EMAIL_WEBHOOK_TOKEN", &token)
            .env("BUZON_OUTBOX_RETRY_BASE_MS", "50");
        let mut server = TestServer::spawn_with(Backend::Sqlite, options).await;
        let worked = feed_emails(&server, &dir, &emails, |entry, raw| {
            let (http, url, token) = (&http, server.url("/webhooks/email"), &token);
            let name = entry.file.clone();
            async move {
                let res = http
                    .post(url)
                    .bearer_auth(token)
                    .header("content-type", "message/rfc822")
                    .body(raw)
                    .send()
                    .await
                    .expect("webhook answers");
                assert!(res.status().as_u16() < 500, "{name}: {}", res.status());
            }
        })
        .await;
        failures.extend(email_failures("webhook", &dir, &emails, &worked));
        failures.extend(problems_in_logs(&server));
        assert!(server.is_running(), "server died: {}", server.logs());
        drop(server);
    }

    // E-mail by SMTP, on a server of its own (the same Message-IDs would be
    // duplicates of the webhook's).
    let refused = std::cell::RefCell::new(Vec::new());
    if passes.contains("smtp") {
        let options = mail::options(Options::default(), &sink)
            .env("BUZON_OUTBOX_RETRY_BASE_MS", "50")
            .env("BUZON_SMTP_MAX_CONNECTIONS_PER_IP", "1000")
            // One test client sends the whole corpus within a minute or two.
            .env("BUZON_SMTP_IP_PER_MINUTE", "100000")
            .env("BUZON_SMTP_SENDER_PER_MINUTE", "100000");
        let mut server = TestServer::spawn_with(Backend::Sqlite, options).await;
        let smtp = server.smtp.expect("SMTP listener");
        let worked = feed_emails(&server, &dir, &emails, |entry, raw| {
            use lettre::AsyncTransport;
            let envelope = lettre::address::Envelope::new(
                envelope_sender(entry, &raw),
                vec![INTAKE.parse().unwrap()],
            )
            .unwrap();
            let transport =
                lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous(
                    "127.0.0.1",
                )
                .port(smtp.port())
                .timeout(Some(Duration::from_secs(20)))
                .build();
            let refused = &refused;
            let entry_name = entry.file.clone();
            async move {
                if let Err(e) = transport.send_raw(&envelope, &raw).await {
                    refused.borrow_mut().push(format!("{}: {e}", entry_name));
                }
            }
        })
        .await;
        failures.extend(email_failures("smtp", &dir, &emails, &worked));
        for line in refused.borrow().iter().take(40) {
            println!("refused by SMTP: {line}");
        }
        failures.extend(problems_in_logs(&server));
        assert!(server.is_running(), "server died: {}", server.logs());
        drop(server);
    }

    // WhatsApp: every payload as it is, signed.
    let mut username_only = Vec::new();
    if passes.contains("whatsapp") {
        let stub = GraphStub::start().await;
        let options = crate::helpers::wa::options(Options::default(), &stub, SECRET, "verify");
        let mut server = TestServer::spawn_with(Backend::Sqlite, options).await;
        let mut accepted = 0;
        for entry in &whatsapp {
            let body = std::fs::read(dir.join(&entry.file)).expect("corpus file");
            let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            username_only.extend(username_only_senders(&payload));
            let res = http
                .post(server.url("/webhooks/whatsapp"))
                .header("content-type", "application/json")
                .header(
                    "x-hub-signature-256",
                    crate::helpers::wa::sign(SECRET, &body),
                )
                .body(body)
                .send()
                .await
                .expect("webhook answers");
            if res.status().as_u16() != 200 {
                failures.push(format!("whatsapp {}: {}", entry.file, res.status()));
                continue;
            }
            // Only a message no reply could reach (a fixture's placeholder sender,
            // `PHONE_NUMBER`, `BSUID_123`) may be skipped; anything else Meta sends
            // is understood or explicitly ignored.
            let skipped = delivery_logged(&server, accepted).await;
            accepted += 1;
            let unaddressable = unaddressable_messages(&payload);
            if skipped > unaddressable {
                failures.push(format!(
                    "whatsapp {}: {skipped} item(s) dropped as malformed ({unaddressable} with no addressable sender)",
                    entry.file
                ));
            }
        }
        settle(&server, "wa_inbox").await;
        // Replies go out through the outbox; give it a moment to reach the stand-in.
        for user in &username_only {
            let mut asked = false;
            for _ in 0..200 {
                asked = stub.accepted().iter().any(|(_, m)| {
                    m.to_string().contains(user.as_str())
                        && graph_stub::render(m).contains("[consent:yes]")
                });
                if asked {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if !asked {
                failures.push(format!(
                    "whatsapp: the username-only sender {user} was not asked for consent"
                ));
            }
        }
        failures.extend(problems_in_logs(&server));
        failures.extend(stub.problems());
        assert!(server.is_running(), "server died: {}", server.logs());
    }

    println!(
        "corpus: {} e-mails (webhook and SMTP; {} refused by SMTP), {} WhatsApp payloads, {} username-only senders",
        emails.len(),
        refused.borrow().len(),
        whatsapp.len(),
        username_only.len()
    );
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Senders of a payload known only by a business-scoped user id (no phone).
fn username_only_senders(payload: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for change in payload["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["changes"].as_array())
        .flatten()
    {
        for m in change["value"]["messages"].as_array().into_iter().flatten() {
            if m.get("from").is_none()
                && let Some(user) = m["from_user_id"].as_str()
            {
                out.push(user.to_owned());
            }
        }
    }
    out
}

const ACCEPTED: &str = "WhatsApp delivery accepted";

/// The `skipped` count of the server's `n`th (from 0) accepted delivery, once it is
/// logged.
async fn delivery_logged(server: &TestServer, n: usize) -> usize {
    for _ in 0..200 {
        let logs = server.logs();
        if let Some(line) = logs.lines().filter(|l| l.contains(ACCEPTED)).nth(n) {
            return line
                .split_whitespace()
                .find_map(|w| w.strip_prefix("skipped="))
                .and_then(|v| v.parse().ok())
                .unwrap_or(usize::MAX);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("delivery {n} never logged; logs:\n{}", server.logs());
}

/// Messages of a payload whose sender is neither a phone number (digits) nor a
/// business-scoped user id (`US.1349…`, Meta's documented form), from the message
/// or its one contact: nobody a reply could reach.
fn unaddressable_messages(payload: &Value) -> usize {
    let phone = |v: &Value| {
        v.as_str()
            .is_some_and(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()))
    };
    let user = |v: &Value| {
        v.as_str().is_some_and(|s| {
            s.split_once('.').is_some_and(|(country, rest)| {
                country.len() == 2
                    && country.chars().all(|c| c.is_ascii_uppercase())
                    && !rest.is_empty()
            })
        })
    };
    let mut count = 0;
    for value in payload["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["changes"].as_array())
        .flatten()
        .map(|c| &c["value"])
    {
        let contacts = value["contacts"].as_array().map_or(&[][..], Vec::as_slice);
        let contact_user =
            matches!(contacts, [one] if user(&one["user_id"]) || user(&one["parent_user_id"]));
        for m in value["messages"].as_array().into_iter().flatten() {
            let addressable = phone(&m["from"])
                || user(&m["from_user_id"])
                || user(&m["from_parent_user_id"])
                || contact_user;
            if !addressable {
                count += 1;
            }
        }
    }
    count
}
