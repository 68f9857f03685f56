//! Crash harness: nothing acknowledged is lost, nothing is filed twice, every reply
//! leaves, while the server is killed with SIGKILL at random moments under mixed load.
//!
//! Each round starts the real binary, drives the web form, the JSON API, signed
//! WhatsApp webhook deliveries (whole conversations, message by message) and SMTP
//! submissions at it from concurrent clients, and kills it (SIGKILL: no shutdown code
//! runs) after a random moment; the next round restarts it on the same database.
//! Afterwards, on the last start:
//!
//! 1. before anything is sent again: every receipt (form page, 201) opens a stored
//!    case, every WhatsApp message answered 200 is in the inbox, every e-mail answered
//!    250 became a case (its acknowledgement names it);
//! 2. everything is then delivered again, acknowledged or not, as Meta and sending
//!    mail servers do for what they got no answer to (and sometimes for what they
//!    did): each conversation made exactly one case, each Message-ID exactly one;
//! 3. every reply reached the WhatsApp and SMTP stand-ins, each outbox row once. The
//!    only tolerated extra is a send that was in flight at a kill: the stand-in had
//!    accepted it but the process died before recording that, so the restarted one
//!    sends that row again (at-least-once, as the README says). Each channel's outbox
//!    worker has at most [`OUTBOX_CONCURRENCY`] send in flight, so there are at most
//!    kills × that many such repeats per channel, and each is an exact copy of a
//!    recorded send to the same recipient.
//!
//! The same on SQLite and PostgreSQL. Short form (`.ci/run`, `cargo test`): three
//! rounds per back end. Long form, as many rounds as wanted:
//!
//! ```sh
//! BUZON_CRASH_ROUNDS=200 cargo test --test api crash -- --nocapture
//! ```

use crate::graph_stub::{GraphStub, render};
use crate::helpers::wa::{self, case_ref_in};
use crate::helpers::{mail, *};
use crate::smtp_sink::{Received, SmtpSink};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const DEFAULT_ROUNDS: usize = 3;

/// Sends one channel's outbox worker has in flight at once: it claims a row, sends
/// it, records the outcome, and only then takes the next (`src/outbox.rs`).
const OUTBOX_CONCURRENCY: usize = 1;

/// Concurrent clients per kind of load.
const CLIENTS: usize = 2;

fn rounds() -> usize {
    match std::env::var("BUZON_CRASH_ROUNDS") {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("BUZON_CRASH_ROUNDS={v:?} is not a number")),
        Err(_) => DEFAULT_ROUNDS,
    }
}

fn random_below(n: u64) -> u64 {
    u64::try_from(uuid::Uuid::new_v4().as_u128() % u128::from(n)).unwrap_or(0)
}

/// Numbers and ids unique within the test process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

fn next() -> u64 {
    COUNTER.fetch_add(1, Ordering::SeqCst)
}

/// A worker's WhatsApp conversation, delivered message by message as Meta does: the
/// next one only after the previous one was answered 200.
#[derive(Clone)]
struct Conversation {
    from: String,
    messages: Vec<Value>,
    next: usize,
}

impl Conversation {
    fn new() -> Self {
        let from = format!("521477{:07}", next());
        let messages = wa::CONVERSATION
            .iter()
            .enumerate()
            .map(|(i, &(tap, sent, _))| {
                let id = format!(
                    "wamid.HBgN{from}FQIAEhgU{i:02}{}",
                    uuid::Uuid::new_v4().simple()
                );
                if tap {
                    wa::tap(&from, &id, sent)
                } else {
                    wa::text(&from, &id, sent)
                }
            })
            .collect();
        Self {
            from,
            messages,
            next: 0,
        }
    }

    fn done(&self) -> bool {
        self.next == self.messages.len()
    }

    fn wamid(message: &Value) -> String {
        message["id"].as_str().unwrap_or_default().to_owned()
    }
}

struct Mail {
    from: String,
    message_id: String,
    body: String,
    acked: bool,
}

/// What the clients were told, and what they sent.
#[derive(Default)]
struct Ledger {
    /// Receipts shown by the form or returned by the API: (channel, receipt, case).
    receipts: Vec<(&'static str, String, String)>,
    /// WhatsApp messages answered 200: sender and message id.
    acked_wamids: Vec<(String, String)>,
    mails: Vec<Mail>,
    /// Answers other than success and the tolerated "send again" (503).
    unexpected: Vec<String>,
}

impl Ledger {
    fn acknowledged(&self) -> usize {
        self.receipts.len()
            + self.acked_wamids.len()
            + self.mails.iter().filter(|m| m.acked).count()
    }

    /// The channel with the fewest acknowledgements so far has this many.
    fn least_per_channel(&self) -> usize {
        self.receipts
            .len()
            .min(self.acked_wamids.len())
            .min(self.mails.iter().filter(|m| m.acked).count())
    }
}

type Shared = Arc<Mutex<Ledger>>;

struct Harness {
    server: TestServer,
    options: Options,
    stub: GraphStub,
    sink: SmtpSink,
    secret: String,
    ledger: Shared,
    conversations: Vec<Conversation>,
    kills: usize,
}

fn pause() -> tokio::time::Sleep {
    tokio::time::sleep(Duration::from_millis(20))
}

async fn web_client(base: String, ledger: Shared, stop: Arc<AtomicBool>) {
    let http = client();
    let receipt_re = regex::Regex::new(r#"id="receipt">([0-9A-Z-]{29})<"#).expect("regex");
    let case_re = regex::Regex::new(r#"id="case-ref">(BZ-[0-9A-Z]+)<"#).expect("regex");
    while !stop.load(Ordering::SeqCst) {
        let Ok(page) = http.get(format!("{base}/")).send().await else {
            pause().await;
            continue;
        };
        let Ok(html) = page.text().await else {
            continue;
        };
        if !html.contains("name=\"csrf\"") {
            continue;
        }
        let n = next();
        let form = [
            ("csrf", csrf_token(&html)),
            ("lang", "es".into()),
            ("employer", format!("Componentes de Sonora {n}")),
            ("city", "Hermosillo".into()),
            ("state", "MX-SON".into()),
            ("sector", "electronics".into()),
            ("trade_with_us", "yes".into()),
            ("workers", "1200".into()),
            ("violations", "unpaid_wages".into()),
            (
                "narrative",
                format!("No nos pagan las horas extra, queja {n}."),
            ),
            ("identity", "anonymous".into()),
        ];
        let Ok(res) = http
            .post(format!("{base}/complaints"))
            .form(&form)
            .send()
            .await
        else {
            pause().await;
            continue;
        };
        let status = res.status().as_u16();
        // A receipt counts once the worker has seen it: the whole page arrived.
        let Ok(html) = res.text().await else {
            continue;
        };
        let mut ledger = ledger.lock().expect("ledger");
        if status == 200 {
            let receipt = receipt_re.captures(&html).map(|c| c[1].to_owned());
            let case_ref = case_re.captures(&html).map(|c| c[1].to_owned());
            match (receipt, case_ref) {
                (Some(r), Some(c)) => ledger.receipts.push(("web", r, c)),
                _ => ledger
                    .unexpected
                    .push("receipt page without a receipt".into()),
            }
        } else if status != 503 {
            ledger.unexpected.push(format!("form answered {status}"));
        }
    }
}

async fn api_client(base: String, ledger: Shared, stop: Arc<AtomicBool>) {
    let http = client();
    while !stop.load(Ordering::SeqCst) {
        let mut body = anonymous_complaint();
        body["narrative"] = format!("Nos hacen trabajar doce horas, queja {}.", next()).into();
        let Ok(res) = http
            .post(format!("{base}/api/v1/complaints"))
            .json(&body)
            .send()
            .await
        else {
            pause().await;
            continue;
        };
        let status = res.status().as_u16();
        let Ok(json) = res.json::<Value>().await else {
            continue;
        };
        let mut ledger = ledger.lock().expect("ledger");
        match (status, json["receipt"].as_str(), json["case_ref"].as_str()) {
            (201, Some(r), Some(c)) => ledger.receipts.push(("api", r.into(), c.into())),
            (503, _, _) => {}
            _ => ledger
                .unexpected
                .push(format!("API answered {status}: {json}")),
        }
    }
}

/// Drives its own conversations (never two clients on one sender: Meta delivers a
/// sender's messages in order); gives them back when stopped.
async fn whatsapp_client(
    base: String,
    secret: String,
    mut conversations: Vec<Conversation>,
    ledger: Shared,
    stop: Arc<AtomicBool>,
) -> Vec<Conversation> {
    let http = client();
    while !stop.load(Ordering::SeqCst) {
        let open: Vec<usize> = (0..conversations.len())
            .filter(|&i| !conversations[i].done())
            .collect();
        let i = if open.len() < 3 {
            conversations.push(Conversation::new());
            conversations.len() - 1
        } else {
            open[usize::try_from(random_below(open.len() as u64)).unwrap_or(0)]
        };
        let c = &mut conversations[i];
        let message = c.messages[c.next].clone();
        match wa::deliver(&http, &base, &secret, &message).await {
            Ok((200, _)) => {
                c.next += 1;
                ledger.lock().expect("ledger").acked_wamids.push((
                    message["from"].as_str().unwrap_or_default().to_owned(),
                    Conversation::wamid(&message),
                ));
            }
            Ok((503, _)) => pause().await,
            Ok((status, body)) => {
                let mut ledger = ledger.lock().expect("ledger");
                ledger
                    .unexpected
                    .push(format!("webhook answered {status}: {body}"));
            }
            Err(_) => pause().await,
        }
    }
    conversations
}

async fn smtp_client(smtp: SocketAddr, ledger: Shared, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::SeqCst) {
        let n = next();
        // One sender per message: acknowledgements are limited per sender and day.
        let from = format!("obrera{n}@ejemplo.mx");
        let message_id = format!("queja-{n}-{}@ejemplo.mx", uuid::Uuid::new_v4().simple());
        let body = format!("Me despidieron sin liquidación, queja {n}.\nEstado: Coahuila\n");
        let result = mail::submit(smtp, mail::complaint(&from, &message_id, &body)).await;
        {
            let mut ledger = ledger.lock().expect("ledger");
            if let Err(e) = &result
                && e.is_permanent()
            {
                ledger.unexpected.push(format!("SMTP refused: {e}"));
            }
            ledger.mails.push(Mail {
                from,
                message_id,
                body,
                acked: result.is_ok(),
            });
        }
        if result.is_err() {
            pause().await;
        }
    }
}

impl Harness {
    async fn start(backend: Backend) -> Self {
        buzon::install_crypto_provider();
        let stub = GraphStub::start().await;
        let sink = SmtpSink::start().await;
        let secret = format!("appsecret-{}", uuid::Uuid::new_v4().simple());
        let mut options = wa::options(Options::default(), &stub, &secret, "verify-crash");
        options = mail::options(options, &sink);
        for (k, v) in [
            ("BUZON_OUTBOX_RETRY_BASE_MS", "50"),
            // Rows a killed process had claimed are taken up again this soon
            // (the lease must outlast the Graph API timeout).
            ("BUZON_LEASE_SECS", "3"),
            ("BUZON_WHATSAPP_TIMEOUT_SECS", "2"),
            // Load from one address: the limits are not what is tested here.
            ("BUZON_INTAKE_PER_MINUTE", "1000000"),
            ("BUZON_INTAKE_BURST", "1000000"),
            ("BUZON_STATUS_PER_MINUTE", "1000000"),
            ("BUZON_STATUS_BURST", "1000000"),
            ("BUZON_GENERAL_PER_MINUTE", "1000000"),
            ("BUZON_GENERAL_BURST", "1000000"),
            ("BUZON_SMTP_IP_PER_MINUTE", "1000000"),
            ("BUZON_SMTP_IP_BURST", "1000000"),
            ("BUZON_WHATSAPP_SENDER_PER_MINUTE", "1000"),
            ("BUZON_WHATSAPP_SENDER_BURST", "1000"),
            // Cheap receipt hashes: more complaints per round.
            ("BUZON_ARGON2_MEMORY_KIB", "1024"),
            ("BUZON_ARGON2_ITERATIONS", "1"),
            ("BUZON_LOG", "info,sqlx=warn"),
        ] {
            options = options.env(k, v);
        }
        let server = TestServer::prepare(backend).await;
        let mut harness = Self {
            server,
            options,
            stub,
            sink,
            secret,
            ledger: Arc::default(),
            conversations: Vec::new(),
            kills: 0,
        };
        harness.restart();
        harness
    }

    fn restart(&mut self) {
        let (server, options) = (&mut self.server, &self.options);
        tokio::task::block_in_place(|| server.start(options));
    }

    /// One round: load from every kind of client, SIGKILL at a random moment,
    /// start again.
    async fn round(&mut self, round: usize) {
        let stop = Arc::new(AtomicBool::new(false));
        let base = self.server.base.clone();
        let smtp = self.server.smtp.expect("SMTP listener");
        let mut others = Vec::new();
        let mut whatsapp = Vec::new();
        for i in 0..CLIENTS {
            let (ledger, stop2) = (Arc::clone(&self.ledger), Arc::clone(&stop));
            others.push(tokio::spawn(web_client(base.clone(), ledger, stop2)));
            let (ledger, stop2) = (Arc::clone(&self.ledger), Arc::clone(&stop));
            others.push(tokio::spawn(api_client(base.clone(), ledger, stop2)));
            let (ledger, stop2) = (Arc::clone(&self.ledger), Arc::clone(&stop));
            others.push(tokio::spawn(smtp_client(smtp, ledger, stop2)));
            // Each client takes back the conversations it drove before.
            let mine: Vec<Conversation> = self
                .conversations
                .iter()
                .enumerate()
                .filter(|(j, _)| j % CLIENTS == i)
                .map(|(_, c)| c.clone())
                .collect();
            let (ledger, stop2) = (Arc::clone(&self.ledger), Arc::clone(&stop));
            whatsapp.push(tokio::spawn(whatsapp_client(
                base.clone(),
                self.secret.clone(),
                mine,
                ledger,
                stop2,
            )));
        }
        // Now and then while it is still starting up (resuming what the last one left
        // claimed and unsent); otherwise in the middle of the load (always in the
        // first round, so that something is acknowledged).
        let moment = if round > 1 && random_below(4) == 0 {
            let delay = random_below(1000);
            tokio::time::sleep(Duration::from_millis(delay)).await;
            format!("{delay} ms after it started")
        } else {
            // The first round waits until every channel had something acknowledged
            // (on a busy machine one channel can lag the others by seconds), later
            // ones until anything new was.
            let measure = if round == 1 {
                Ledger::least_per_channel
            } else {
                Ledger::acknowledged
            };
            let before = measure(&self.ledger.lock().expect("ledger"));
            let ledger = &self.ledger;
            eventually(90, "the load acknowledged", || async move {
                let now = ledger.lock().map(|l| measure(&l)).unwrap_or(0);
                if now > before {
                    Ok(())
                } else {
                    Err(format!("{now} acknowledged"))
                }
            })
            .await;
            let delay = random_below(1500);
            tokio::time::sleep(Duration::from_millis(delay)).await;
            format!("{delay} ms into the load")
        };
        let server = &mut self.server;
        tokio::task::block_in_place(|| server.kill());
        self.kills += 1;
        stop.store(true, Ordering::SeqCst);
        for task in others {
            task.await.expect("client task");
        }
        self.conversations.clear();
        for task in whatsapp {
            self.conversations
                .extend(task.await.expect("WhatsApp client task"));
        }
        let ledger = self.ledger.lock().expect("ledger");
        eprintln!(
            "round {round}: killed {moment}; so far {} receipts, {} WhatsApp messages and {} mails acknowledged",
            ledger.receipts.len(),
            ledger.acked_wamids.len(),
            ledger.mails.iter().filter(|m| m.acked).count(),
        );
        drop(ledger);
        self.restart();
    }

    /// Waits until every stored message was worked and every reply sent.
    async fn settle(&self) {
        let server = &self.server;
        eventually(180, "inboxes worked and outbox sent", || async move {
            let waiting = server
                .count("SELECT COUNT(*) FROM wa_inbox WHERE state = 'pending'")
                .await
                + server
                    .count("SELECT COUNT(*) FROM email_inbox WHERE state = 'pending'")
                    .await;
            let unsent = server
                .count("SELECT COUNT(*) FROM outbox WHERE state <> 'sent'")
                .await;
            if waiting == 0 && unsent == 0 {
                Ok(())
            } else {
                Err(format!(
                    "{waiting} inbox rows pending, {unsent} outbox rows unsent"
                ))
            }
        })
        .await;
    }

    /// Acknowledgements at the sink, by the Message-ID they answer.
    fn acks_by_message_id(&self) -> HashMap<String, Vec<Received>> {
        let mut acks: HashMap<String, Vec<Received>> = HashMap::new();
        for ack in self.sink.received() {
            let answered = ack
                .header("In-Reply-To")
                .unwrap_or_default()
                .trim_matches(|c| c == '<' || c == '>')
                .to_owned();
            acks.entry(answered).or_default().push(ack);
        }
        acks
    }
}

fn case_tag(ack: &Received) -> String {
    let re = regex::Regex::new(r"\[Buzón (BZ-[A-Z0-9]{8})\]").expect("regex");
    re.captures(&ack.subject())
        .map(|c| c[1].to_owned())
        .unwrap_or_else(|| panic!("no case tag in {}", ack.subject()))
}

async fn case_exists(server: &TestServer, case_ref: &str, channel: &str) -> bool {
    // Case numbers are `BZ-` and base32: nothing to escape.
    server
        .count(&format!(
            "SELECT COUNT(*) FROM cases WHERE case_ref = '{case_ref}' AND channel = '{channel}'"
        ))
        .await
        == 1
}

async fn acknowledged_is_kept_and_sent_once_through_sigkills(backend: Backend) {
    let rounds = rounds();
    let mut h = Harness::start(backend).await;
    for round in 1..=rounds {
        h.round(round).await;
    }
    let kills = h.kills;

    // 1. What was acknowledged survived, before anything is sent again.
    h.settle().await;
    let http = client();
    let (receipts, acked_wamids, acked_mails, unexpected) = {
        let l = h.ledger.lock().expect("ledger");
        (
            l.receipts.clone(),
            l.acked_wamids.clone(),
            l.mails
                .iter()
                .filter(|m| m.acked)
                .map(|m| m.message_id.clone())
                .collect::<Vec<_>>(),
            l.unexpected.clone(),
        )
    };
    assert!(unexpected.is_empty(), "unexpected answers: {unexpected:#?}");
    assert!(
        !receipts.is_empty() && !acked_wamids.is_empty() && !acked_mails.is_empty(),
        "the load was acknowledged at all: {} receipts, {} WhatsApp messages, {} mails",
        receipts.len(),
        acked_wamids.len(),
        acked_mails.len()
    );
    for (channel, receipt, case_ref) in &receipts {
        let (status, view) = post_json(
            &http,
            &h.server.url("/api/v1/status"),
            &serde_json::json!({ "receipt": receipt }),
        )
        .await;
        assert_eq!(
            status, 200,
            "{channel} receipt of {case_ref} opens nothing: {view}"
        );
        assert_eq!(view["case_ref"], case_ref.as_str(), "{channel} receipt");
        assert!(
            case_exists(&h.server, case_ref, channel).await,
            "{case_ref}"
        );
    }
    let keys = buzon::crypto::KeyRing::load(&h.server.keys_file()).expect("key file");
    {
        use sea_orm::EntityTrait;
        let db = h.server.db().await;
        let stored: HashSet<Vec<u8>> = entity::wa_inbox::Entity::find()
            .all(&db)
            .await
            .expect("inbox rows")
            .into_iter()
            .map(|r| r.message_key)
            .collect();
        db.close().await.ok();
        for (from, wamid) in &acked_wamids {
            let key = buzon::channels::whatsapp::inbound_key(&keys, from, wamid);
            assert!(
                stored.contains(&key),
                "WhatsApp message {wamid} answered 200, not stored"
            );
        }
    }
    let acks = h.acks_by_message_id();
    for message_id in &acked_mails {
        let ack = acks
            .get(message_id)
            .and_then(|a| a.first())
            .unwrap_or_else(|| panic!("mail {message_id} answered 250 and never acknowledged"));
        let case_ref = case_tag(ack);
        assert!(
            case_exists(&h.server, &case_ref, "email").await,
            "{case_ref}"
        );
    }

    // 2. Everything again, acknowledged or not, in order per sender.
    let base = h.server.base.clone();
    let smtp = h.server.smtp.expect("SMTP listener");
    for c in &h.conversations {
        for message in &c.messages {
            let (http, base, secret) = (&http, &base, &h.secret);
            eventually(60, "a delivery answered 200", || async move {
                match wa::deliver(http, base, secret, message).await {
                    Ok((200, _)) => Ok(()),
                    other => Err(format!("{other:?}")),
                }
            })
            .await;
        }
    }
    let mails: Vec<(String, String, String)> = h
        .ledger
        .lock()
        .expect("ledger")
        .mails
        .iter()
        .map(|m| (m.from.clone(), m.message_id.clone(), m.body.clone()))
        .collect();
    for (from, message_id, body) in &mails {
        eventually(60, "a mail answered 250", || async move {
            mail::submit(smtp, mail::complaint(from, message_id, body))
                .await
                .map_err(|e| e.to_string())
        })
        .await;
    }
    h.settle().await;

    // One case per conversation and per Message-ID, however often delivered.
    let whatsapp_cases = h
        .server
        .count("SELECT COUNT(*) FROM cases WHERE channel = 'whatsapp'")
        .await;
    assert_eq!(
        whatsapp_cases,
        i64::try_from(h.conversations.len()).unwrap_or(i64::MAX),
        "one case per WhatsApp conversation"
    );
    for c in &h.conversations {
        let refs: HashSet<String> = h
            .stub
            .sent_to(&c.from)
            .iter()
            .map(render)
            .filter(|t| t.contains("Recibimos su queja"))
            .map(|t| case_ref_in(&t))
            .collect();
        assert_eq!(refs.len(), 1, "{} got receipts for {refs:?}", c.from);
        let case_ref = refs.into_iter().next().unwrap_or_default();
        assert!(
            case_exists(&h.server, &case_ref, "whatsapp").await,
            "{case_ref}"
        );
    }
    let email_cases = h
        .server
        .count("SELECT COUNT(*) FROM cases WHERE channel = 'email'")
        .await;
    assert_eq!(
        email_cases,
        i64::try_from(mails.len()).unwrap_or(i64::MAX),
        "one case per Message-ID"
    );
    let acks = h.acks_by_message_id();
    let mut repeated_acks = 0;
    for (_, message_id, _) in &mails {
        let got = acks.get(message_id).map(Vec::as_slice).unwrap_or_default();
        let cases: HashSet<String> = got.iter().map(case_tag).collect();
        assert_eq!(cases.len(), 1, "{message_id} acknowledged for {cases:?}");
        repeated_acks += got.len() - 1;
        // A repeat is the same outbox row sent again (its Message-ID is fixed when
        // the row is written), not a second acknowledgement.
        let ids: HashSet<Option<String>> = got.iter().map(|a| a.header("Message-ID")).collect();
        assert_eq!(
            ids.len(),
            1,
            "{message_id} acknowledged by different messages"
        );
    }
    assert_eq!(
        acks.values().map(Vec::len).sum::<usize>(),
        mails.len() + repeated_acks,
        "no acknowledgement of anything else"
    );

    // 3. Every outbox row was sent, each once but for sends in flight at a kill.
    use sea_orm::EntityTrait;
    let db = h.server.db().await;
    let rows = entity::outbox::Entity::find()
        .all(&db)
        .await
        .expect("outbox rows");
    db.close().await.ok();
    assert!(rows.iter().all(|r| r.state == "sent"), "every reply sent");
    let recorded: HashSet<Vec<u8>> = rows
        .iter()
        .filter(|r| r.channel == "whatsapp")
        .map(|r| {
            r.provider_key
                .clone()
                .expect("a sent row records the provider's id")
        })
        .collect();
    let whatsapp_rows = rows.iter().filter(|r| r.channel == "whatsapp").count();
    assert_eq!(recorded.len(), whatsapp_rows, "one provider id per row");
    let accepted = h.stub.accepted();
    let (mapped, repeats): (Vec<_>, Vec<_>) = accepted.iter().partition(|(wamid, _)| {
        recorded.contains(&buzon::channels::whatsapp::message_key(&keys, wamid))
    });
    assert_eq!(
        mapped.len(),
        whatsapp_rows,
        "every WhatsApp row's send reached the stand-in"
    );
    for (_, repeat) in &repeats {
        assert!(
            mapped.iter().any(|(_, m)| m == repeat),
            "a send recorded by no row is not a repeat of a recorded one: {repeat}"
        );
    }
    let email_rows = rows.iter().filter(|r| r.channel == "email").count();
    assert_eq!(
        email_rows,
        mails.len(),
        "one acknowledgement row per Message-ID"
    );
    assert_eq!(
        h.sink.received().len(),
        email_rows + repeated_acks,
        "every acknowledgement reached the relay"
    );
    let bound = kills * OUTBOX_CONCURRENCY;
    assert!(
        repeats.len() <= bound && repeated_acks <= bound,
        "{} WhatsApp and {repeated_acks} e-mail sends repeated: more than the {bound} in \
         flight at {kills} kills could explain",
        repeats.len()
    );
    assert!(h.stub.problems().is_empty(), "{:?}", h.stub.problems());
    eprintln!(
        "{kills} kills: {} receipts, {} conversations, {} mails; {} WhatsApp and {} e-mail \
         replies, {} and {repeated_acks} of them repeated sends",
        receipts.len(),
        h.conversations.len(),
        mails.len(),
        accepted.len(),
        h.sink.received().len(),
        repeats.len()
    );
    h.server.terminate();
}

mod acknowledged_is_kept_and_sent_once_through_sigkills {
    use crate::helpers::Backend;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite() {
        super::acknowledged_is_kept_and_sent_once_through_sigkills(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        if let Some(backend) = Backend::postgres().await {
            super::acknowledged_is_kept_and_sent_once_through_sigkills(backend).await;
        }
    }
}
