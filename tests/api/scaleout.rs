//! Several `buzon serve` instances on one PostgreSQL database, as behind a load
//! balancer: they start together (the migrations run once), share the inbox and
//! outbox work without sending anything twice, and a row claimed by an instance
//! that dies (SIGKILL) is done by another once its lease (`BUZON_LEASE_SECS`) ran
//! out.
//!
//! Each instance sends its WhatsApp replies to a Graph API stand-in of its own, so
//! the test knows which instance sent what and can make exactly one of them hang;
//! the instances name themselves to PostgreSQL (`application_name`), so the test
//! knows which one is stuck on a lock it holds.

use crate::graph_stub::{Failure, GraphStub, render};
use crate::helpers::wa::{self, case_ref_in};
use crate::helpers::{mail, *};
use crate::smtp_sink::SmtpSink;
use serde_json::Value;
use std::collections::HashSet;
use std::time::Duration;

/// Short, so a dead instance's rows are taken over within the test; longer than
/// the Graph API timeout, as the configuration requires.
const LEASE_SECS: &str = "4";

struct Instance {
    server: TestServer,
    options: Options,
    stub: GraphStub,
    name: &'static str,
}

struct Cluster {
    nodes: Vec<Instance>,
    sink: SmtpSink,
    secret: String,
    http: reqwest::Client,
    keys: buzon::crypto::KeyRing,
    /// Owns the database (dropped with it); never started itself.
    owner: TestServer,
    _keys_dir: tempfile::TempDir,
}

/// A conversation's messages, with ids unique to this test run.
fn conversation(from: &str) -> Vec<Value> {
    wa::CONVERSATION
        .iter()
        .enumerate()
        .map(|(i, &(tap, sent, _))| {
            let id = format!(
                "wamid.HBgN{from}FQIAEhgU{i:02}{}",
                uuid::Uuid::new_v4().simple()
            );
            if tap {
                wa::tap(from, &id, sent)
            } else {
                wa::text(from, &id, sent)
            }
        })
        .collect()
}

impl Cluster {
    /// Two instances started at the same moment on a fresh database.
    async fn start() -> Self {
        buzon::install_crypto_provider();
        let sink = SmtpSink::start().await;
        let secret = format!("appsecret-{}", uuid::Uuid::new_v4().simple());
        // Instances share the key file, as they must (the database takes only the
        // one it was created with): provisioned before either starts.
        let keys_dir = tempfile::tempdir().expect("temp dir");
        let keys_file = keys_dir.path().join("keys.toml");
        let (keys, _) = buzon::crypto::KeyRing::load_or_create(&keys_file).expect("a key file");
        let owner = TestServer::prepare(Backend::Postgres).await;
        let mut nodes = Vec::new();
        for (name, prefix) in [("buzon-a", "OUTA"), ("buzon-b", "OUTB")] {
            let stub = GraphStub::start_with_prefix(prefix).await;
            let server = owner.another_instance();
            let mut url = reqwest::Url::parse(&server.database_url).expect("database URL");
            url.query_pairs_mut().append_pair("application_name", name);
            let mut options = mail::options(
                wa::options(Options::default(), &stub, &secret, "verify-scale"),
                &sink,
            );
            for (k, v) in [
                ("BUZON_DATABASE_URL", url.as_str()),
                ("BUZON_KEYS_FILE", &keys_file.display().to_string()),
                ("BUZON_LEASE_SECS", LEASE_SECS),
                ("BUZON_WHATSAPP_TIMEOUT_SECS", "2"),
                ("BUZON_OUTBOX_RETRY_BASE_MS", "50"),
                ("BUZON_SMTP_IP_PER_MINUTE", "100000"),
                ("BUZON_SMTP_IP_BURST", "100000"),
                ("BUZON_LOG", "info,sqlx=warn"),
            ] {
                options = options.env(k, v);
            }
            nodes.push(Instance {
                server,
                options,
                stub,
                name,
            });
        }
        let mut cluster = Self {
            nodes,
            sink,
            secret,
            http: client(),
            keys,
            owner,
            _keys_dir: keys_dir,
        };
        tokio::task::block_in_place(|| {
            std::thread::scope(|scope| {
                for node in &mut cluster.nodes {
                    let (server, options) = (&mut node.server, &node.options);
                    scope.spawn(move || server.start(options));
                }
            })
        });
        cluster
    }

    fn kill(&mut self, i: usize) {
        let server = &mut self.nodes[i].server;
        tokio::task::block_in_place(|| server.kill());
    }

    async fn deliver(&self, node: usize, message: &Value) {
        let base = &self.nodes[node].server.base;
        let (http, secret) = (&self.http, &self.secret);
        eventually(30, "a delivery answered 200", || async move {
            match wa::deliver(http, base, secret, message).await {
                Ok((200, _)) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        })
        .await;
    }

    /// Every message to `to` any instance sent, rendered.
    fn sent_to(&self, to: &str) -> Vec<String> {
        self.nodes
            .iter()
            .flat_map(|n| n.stub.sent_to(to))
            .map(|m| render(&m))
            .collect()
    }

    async fn wait_for_reply(&self, to: &str, needle: &str) {
        eventually(
            60,
            &format!("a reply to {to} saying {needle:?}"),
            || async move {
                if self.sent_to(to).iter().any(|m| m.contains(needle)) {
                    Ok(())
                } else {
                    Err(format!("{:?}", self.sent_to(to)))
                }
            },
        )
        .await;
    }

    /// Waits until every stored message was worked and every reply sent.
    async fn settle(&self) {
        let db = &self.owner;
        eventually(120, "inboxes worked and outbox sent", || async move {
            let waiting = db
                .count("SELECT COUNT(*) FROM wa_inbox WHERE state <> 'done'")
                .await
                + db.count("SELECT COUNT(*) FROM email_inbox WHERE state = 'pending'")
                    .await;
            let unsent = db
                .count("SELECT COUNT(*) FROM outbox WHERE state <> 'sent'")
                .await;
            if waiting == 0 && unsent == 0 {
                Ok(())
            } else {
                Err(format!(
                    "{waiting} inbox rows not done, {unsent} outbox rows unsent"
                ))
            }
        })
        .await;
    }

    /// Each outbox row reached the stand-ins exactly once, whichever instance sent
    /// it; how many each instance sent.
    async fn assert_each_reply_sent_once(&self) -> Vec<usize> {
        use sea_orm::EntityTrait;
        let db = self.owner.db().await;
        let rows = entity::outbox::Entity::find()
            .all(&db)
            .await
            .expect("outbox rows");
        db.close().await.ok();
        assert!(rows.iter().all(|r| r.state == "sent"), "every reply sent");
        let recorded: HashSet<Vec<u8>> = rows
            .iter()
            .filter(|r| r.channel == "whatsapp")
            .filter_map(|r| r.provider_key.clone())
            .collect();
        let whatsapp_rows = rows.iter().filter(|r| r.channel == "whatsapp").count();
        assert_eq!(recorded.len(), whatsapp_rows, "each row its own send");
        let mut per_instance = Vec::new();
        let mut accepted = 0;
        for node in &self.nodes {
            let sent = node.stub.accepted();
            for (wamid, message) in &sent {
                assert!(
                    recorded.contains(&buzon::channels::whatsapp::message_key(&self.keys, wamid)),
                    "{} sent a message no row records (a second send?): {message}",
                    node.name
                );
            }
            assert!(
                node.stub.problems().is_empty(),
                "{:?}",
                node.stub.problems()
            );
            accepted += sent.len();
            per_instance.push(sent.len());
        }
        assert_eq!(accepted, whatsapp_rows, "each WhatsApp reply sent once");
        let email_rows = rows.iter().filter(|r| r.channel == "email").count();
        let acks = self.sink.received();
        assert_eq!(acks.len(), email_rows, "each acknowledgement sent once");
        let answered: HashSet<Option<String>> =
            acks.iter().map(|a| a.header("In-Reply-To")).collect();
        assert_eq!(answered.len(), acks.len(), "one acknowledgement per mail");
        per_instance
    }

    fn terminate(&mut self) {
        for node in &mut self.nodes {
            node.server.terminate();
        }
    }
}

async fn two_instances_start_together_and_share_the_work_once() {
    let mut cluster = Cluster::start().await;
    for node in &mut cluster.nodes {
        assert!(node.server.is_running(), "{} started", node.name);
    }

    // The migrations ran once: each applied by one instance, recorded once.
    let migrations = cluster
        .owner
        .count("SELECT COUNT(*) FROM seaql_migrations")
        .await;
    let distinct = cluster
        .owner
        .count("SELECT COUNT(DISTINCT version) FROM seaql_migrations")
        .await;
    assert!(migrations > 0 && migrations == distinct);
    let applied: usize = cluster
        .nodes
        .iter()
        .map(|n| n.server.logs().matches("Applying migration '").count())
        .sum();
    assert_eq!(
        i64::try_from(applied).unwrap_or(0),
        migrations,
        "each migration applied by one instance"
    );

    // Load, spread over both as a load balancer does: a conversation's messages
    // alternate between the instances, mail goes to either.
    let conversations: Vec<(String, Vec<Value>)> = (0..6)
        .map(|i| {
            let from = format!("52147755{:05}", 60 + i);
            let messages = conversation(&from);
            (from, messages)
        })
        .collect();
    let cluster_ref = &cluster;
    let talks = conversations
        .iter()
        .enumerate()
        .map(|(c, (_, messages))| async move {
            for (i, message) in messages.iter().enumerate() {
                cluster_ref.deliver((c + i) % 2, message).await;
            }
        });
    let mails = (0..10).map(|i| async move {
        let smtp = cluster_ref.nodes[i % 2].server.smtp.expect("SMTP listener");
        let from = format!("delegada{i}@sindicato.mx");
        let id = format!("escala-{i}-{}@sindicato.mx", uuid::Uuid::new_v4().simple());
        let body = format!("Nos cambiaron el turno sin aviso, queja {i}.\nEstado: Sonora\n");
        mail::submit(smtp, mail::complaint(&from, &id, &body))
            .await
            .expect("mail taken");
    });
    futures_join(talks, mails).await;
    cluster.settle().await;

    for (from, _) in &conversations {
        let receipts: Vec<String> = cluster
            .sent_to(from)
            .into_iter()
            .filter(|m| m.contains("Recibimos su queja"))
            .collect();
        assert_eq!(receipts.len(), 1, "one receipt to {from}: {receipts:?}");
        let case_ref = case_ref_in(&receipts[0]);
        assert_eq!(
            cluster
                .owner
                .count(&format!(
                    "SELECT COUNT(*) FROM cases WHERE case_ref = '{case_ref}'"
                ))
                .await,
            1
        );
    }
    assert_eq!(
        cluster
            .owner
            .count("SELECT COUNT(*) FROM cases WHERE channel = 'whatsapp'")
            .await,
        6
    );
    assert_eq!(
        cluster
            .owner
            .count("SELECT COUNT(*) FROM cases WHERE channel = 'email'")
            .await,
        10
    );
    let per_instance = cluster.assert_each_reply_sent_once().await;
    eprintln!("WhatsApp replies sent by each instance: {per_instance:?}");
    cluster.terminate();
}

/// Runs two sets of futures to completion, concurrently.
async fn futures_join<A, B>(a: A, b: B)
where
    A: IntoIterator,
    A::Item: std::future::Future<Output = ()>,
    B: IntoIterator,
    B::Item: std::future::Future<Output = ()>,
{
    let mut all: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + '_>>> = Vec::new();
    for f in a {
        all.push(Box::pin(f));
    }
    for f in b {
        all.push(Box::pin(f));
    }
    join_all(all).await;
}

/// Polls every future until all are done (the test's runtime drives the I/O).
async fn join_all(mut futures: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + '_>>>) {
    std::future::poll_fn(|cx| {
        futures.retain_mut(|f| f.as_mut().poll(cx).is_pending());
        if futures.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
}

async fn a_reply_claimed_by_a_killed_instance_is_sent_by_the_other() {
    let mut cluster = Cluster::start().await;
    // Whichever instance takes the reply hangs in its send.
    for node in &cluster.nodes {
        node.stub
            .fail_next(&[Failure::Hang(Duration::from_secs(600))]);
    }
    let from = "5214775550271";
    let messages = conversation(from);
    cluster.deliver(0, &messages[0]).await;
    let nodes = &cluster.nodes;
    let holder = eventually(60, "an instance sending the reply", || async move {
        nodes
            .iter()
            .position(|n| n.stub.attempts() > 0)
            .ok_or_else(|| "no send attempted".to_owned())
    })
    .await;
    let other = 1 - holder;
    // It dies mid-send, its claim on the row still standing.
    cluster.kill(holder);
    cluster.nodes[other].stub.clear_failures();

    // Once the lease ran out, the other instance sends it, once.
    cluster.wait_for_reply(from, "[consent:yes]").await;
    cluster.settle().await;
    assert!(
        cluster.nodes[holder].stub.accepted().is_empty(),
        "the dead instance's send never completed"
    );
    let per_instance = cluster.assert_each_reply_sent_once().await;
    assert!(per_instance[other] > 0, "{per_instance:?}");

    // The conversation goes on with the survivor alone.
    for message in &messages[1..] {
        cluster.deliver(other, message).await;
    }
    cluster.wait_for_reply(from, "Recibimos su queja").await;
    cluster.settle().await;
    cluster.assert_each_reply_sent_once().await;
    cluster.terminate();
}

async fn a_message_claimed_by_a_killed_instance_is_worked_by_the_other() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let mut cluster = Cluster::start().await;
    let from = "5214775550272";
    let messages = conversation(from);
    let (confirm, until_summary) = messages.split_last().expect("messages");
    for (i, message) in until_summary.iter().enumerate() {
        cluster.deliver(i % 2, message).await;
    }
    cluster.wait_for_reply(from, "[confirm:send]").await;

    // New cases wait on a lock the test holds: whichever instance works the last
    // message is stuck inside it, its claim on the message standing.
    let db = cluster.owner.db().await;
    let lock = db.begin().await.expect("transaction");
    lock.execute_unprepared("LOCK TABLE cases IN SHARE MODE")
        .await
        .expect("lock cases");
    cluster.deliver(0, confirm).await;
    let owner = &cluster.owner;
    let stuck = eventually(60, "an instance filing the case", || async move {
        let db = owner.db().await;
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT application_name FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock' \
                 AND application_name LIKE 'buzon-%' AND query LIKE '%INSERT INTO \"cases\"%'",
            ))
            .await
            .map_err(|e| e.to_string())?;
        db.close().await.ok();
        row.and_then(|r| r.try_get_by_index::<String>(0).ok())
            .ok_or_else(|| "nobody waiting".to_owned())
    })
    .await;
    let holder = cluster
        .nodes
        .iter()
        .position(|n| n.name == stuck)
        .expect("a known instance");
    let other = 1 - holder;
    cluster.kill(holder);
    lock.commit().await.expect("release cases");
    db.close().await.ok();

    // The survivor works the message once the lease ran out: one case, one receipt.
    cluster.wait_for_reply(from, "Recibimos su queja").await;
    cluster.settle().await;
    let receipts: Vec<String> = cluster
        .sent_to(from)
        .into_iter()
        .filter(|m| m.contains("Recibimos su queja"))
        .collect();
    assert_eq!(receipts.len(), 1, "{receipts:?}");
    assert!(
        cluster.nodes[other]
            .stub
            .sent_to(from)
            .iter()
            .any(|m| render(m).contains("Recibimos su queja")),
        "sent by the survivor"
    );
    assert_eq!(
        cluster
            .owner
            .count("SELECT COUNT(*) FROM cases WHERE channel = 'whatsapp'")
            .await,
        1,
        "the dead instance's work was rolled back, the survivor's stands"
    );
    cluster.assert_each_reply_sent_once().await;
    cluster.terminate();
}

async fn on_postgres(test: impl std::future::Future<Output = ()>) {
    // PostgreSQL only: several instances need a database server.
    if Backend::postgres().await.is_some() {
        test.await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_instances_start_together_and_share_the_work_once() {
    on_postgres(two_instances_start_together_and_share_the_work_once()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_reply_claimed_by_a_killed_instance_is_sent_by_the_other() {
    on_postgres(a_reply_claimed_by_a_killed_instance_is_sent_by_the_other()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_message_claimed_by_a_killed_instance_is_worked_by_the_other() {
    on_postgres(a_message_claimed_by_a_killed_instance_is_worked_by_the_other()).await;
}
