//! Every test runs on SQLite and on PostgreSQL (a database of its own, dropped
//! after; `BUZON_TEST_POSTGRES_URL` points elsewhere, `BUZON_TEST_SKIP_POSTGRES=1`
//! skips that half, as in the API tests).

use super::*;
use sea_orm::{ActiveValue::Set, ConnectionTrait, Database};

mod entry {
    use sea_orm::entity::prelude::*;

    /// A stand-in inbox: `k` is the dedupe key, `n` may not be negative (a row
    /// that makes its statement fail).
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "group_test")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i64,
        pub k: Vec<u8>,
        pub n: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The writer, a second connection watching what is committed, and the
/// PostgreSQL database to drop.
struct Db {
    write: DatabaseConnection,
    read: DatabaseConnection,
    drop: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

fn admin_url() -> String {
    std::env::var("BUZON_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

async fn backends() -> Vec<Db> {
    const TABLE: &str = "CREATE TABLE group_test (id BIGINT PRIMARY KEY, \
        k BYTEA NOT NULL UNIQUE, n INTEGER NOT NULL CHECK (n >= 0))";
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("g.db").display());
    let pools = crate::db::Pools::connect(&url, 2).await.unwrap();
    pools
        .write
        .execute_unprepared(&TABLE.replace("BYTEA", "BLOB"))
        .await
        .unwrap();
    let mut all = vec![Db {
        write: pools.write,
        read: pools.read,
        drop: None,
        _dir: Some(dir),
    }];
    if std::env::var("BUZON_TEST_SKIP_POSTGRES").is_ok_and(|v| v == "1") {
        eprintln!("SKIPPED: PostgreSQL half (BUZON_TEST_SKIP_POSTGRES=1)");
        return all;
    }
    let admin = Database::connect(admin_url())
        .await
        .expect("PostgreSQL (or BUZON_TEST_SKIP_POSTGRES=1)");
    let name = format!("buzon_group_{}", uuid::Uuid::new_v4().simple());
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let url = match admin_url().rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => panic!("a PostgreSQL URL without a database"),
    };
    let write = crate::db::connect(&url, 4).await.unwrap();
    write.execute_unprepared(TABLE).await.unwrap();
    let read = crate::db::connect(&url, 1).await.unwrap();
    all.push(Db {
        write,
        read,
        drop: Some(name),
        _dir: None,
    });
    all
}

impl Db {
    fn postgres(&self) -> bool {
        self.drop.is_some()
    }

    /// Groups as the server forms them on this back end, but with a long window on
    /// both (so the jobs of one `join!` land in one group).
    fn group(&self) -> GroupCommit {
        let committers = if self.postgres() { 2 } else { 1 };
        GroupCommit::start(
            self.write.clone(),
            Duration::from_millis(100),
            MAX,
            committers,
        )
    }

    async fn count(&self) -> i64 {
        count(&self.read).await
    }

    /// The `n` of the row stored under key `k`.
    async fn n_of(&self, k: u8) -> Option<i32> {
        crate::db::row(
            &self.read,
            "SELECT n FROM group_test WHERE k = $1",
            vec![vec![k].into()],
        )
        .await
        .unwrap()
        .map(|r| r.try_get_by_index(0).unwrap())
    }

    async fn done(self) {
        self.write.close().await.ok();
        self.read.close().await.ok();
        if let Some(name) = self.drop {
            let admin = Database::connect(admin_url()).await.unwrap();
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await
                .ok();
        }
    }
}

async fn count(conn: &impl ConnectionTrait) -> i64 {
    crate::db::row(conn, "SELECT COUNT(*) FROM group_test", vec![])
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index(0)
        .unwrap()
}

static NEXT_ID: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1);

/// A row under key `k` carrying `n`.
fn row(k: u8, n: i32) -> Row {
    let model = entry::ActiveModel {
        id: Set(NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed)),
        k: Set(vec![k]),
        n: Set(n),
    };
    Row::of(&model, entry::Column::K).unwrap()
}

fn job(keys: &[u8]) -> Job {
    Job::rows(keys.iter().map(|k| row(*k, i32::from(*k))).collect())
}

#[tokio::test]
async fn jobs_arriving_together_share_a_commit_and_hear_after_it() {
    for db in backends().await {
        let group = db.group();
        // Each job's `then` looks at what its transaction holds and what another
        // connection sees committed: all ten rows and none of them, for every job,
        // only if the ten share one transaction.
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let watching = |k: u8| -> Job {
            let (reader, seen) = (db.read.clone(), Arc::clone(&seen));
            job(&[k]).then(Arc::new(move |txn| {
                let (reader, seen) = (reader.clone(), Arc::clone(&seen));
                Box::pin(async move {
                    let pair = (count(txn).await, count(&reader).await);
                    seen.lock().unwrap().push(pair);
                    Ok(())
                })
            }))
        };
        let mut waiting = tokio::task::JoinSet::new();
        for k in 0..10 {
            let (group, job) = (group.clone(), watching(k));
            waiting.spawn(async move { group.store(job).await });
        }
        while let Some(done) = waiting.join_next().await {
            assert_eq!(done.unwrap().unwrap(), vec![true]);
        }
        assert_eq!(
            *seen.lock().unwrap(),
            vec![(10, 0); 10],
            "postgres: {}",
            db.postgres()
        );
        assert_eq!(db.count().await, 10);
        db.done().await;
    }
}

#[tokio::test]
async fn a_key_two_jobs_of_a_group_carry_is_the_first_ones() {
    for db in backends().await {
        let group = db.group();
        let first = Job::rows(vec![row(1, 10), row(2, 20)]);
        let second = Job::rows(vec![row(2, 21), row(3, 30)]);
        let third = Job::rows(vec![row(1, 11)]);
        let (a, b, c) = tokio::join!(group.store(first), group.store(second), group.store(third));
        assert_eq!(a.unwrap(), vec![true, true]);
        assert_eq!(b.unwrap(), vec![false, true]);
        assert_eq!(c.unwrap(), vec![false]);
        assert_eq!(db.count().await, 3);
        assert_eq!((db.n_of(1).await, db.n_of(2).await), (Some(10), Some(20)));
        db.done().await;
    }
}

#[tokio::test]
async fn a_redelivery_stores_nothing_and_is_still_acknowledged() {
    for db in backends().await {
        let group = db.group();
        assert_eq!(
            group.store(Job::rows(vec![row(7, 70)])).await.unwrap(),
            vec![true]
        );
        let again = Job::rows(vec![row(7, 71), row(8, 80)]);
        assert_eq!(group.store(again).await.unwrap(), vec![false, true]);
        assert_eq!(
            group.store(Job::rows(vec![row(7, 72)])).await.unwrap(),
            vec![false]
        );
        assert_eq!(db.count().await, 2);
        assert_eq!(db.n_of(7).await, Some(70), "the first delivery's row stays");
        db.done().await;
    }
}

#[tokio::test]
async fn a_bad_job_fails_alone_and_its_neighbours_hear_their_own_outcome() {
    for db in backends().await {
        let group = db.group();
        // One group, whose one statement fails on the bad row: stored alone, the
        // first job's row is new, its duplicate is not, the bad one fails.
        let (a, bad, dup, d) = tokio::join!(
            group.store(job(&[1])),
            group.store(Job::rows(vec![row(2, -1)])),
            group.store(job(&[1])),
            group.store(job(&[3])),
        );
        assert_eq!(a.unwrap(), vec![true]);
        assert!(bad.is_err());
        assert_eq!(dup.unwrap(), vec![false]);
        assert_eq!(d.unwrap(), vec![true]);
        assert_eq!(db.count().await, 2);
        assert_eq!(
            db.n_of(2).await,
            None,
            "nothing of the failed job is stored"
        );
        db.done().await;
    }
}

#[tokio::test]
async fn a_failing_then_takes_its_own_rows_with_it() {
    for db in backends().await {
        let group = db.group();
        let failing = job(&[1]).then(Arc::new(|_| {
            Box::pin(async { Err(anyhow::anyhow!("the job's own writes fail")) })
        }));
        let (a, b) = tokio::join!(group.store(failing), group.store(job(&[2])));
        assert!(a.is_err());
        assert_eq!(b.unwrap(), vec![true]);
        assert_eq!((db.n_of(1).await, db.n_of(2).await), (None, Some(2)));
        db.done().await;
    }
}

#[tokio::test]
async fn more_rows_than_one_statement_binds_are_stored_in_one_transaction() {
    for db in backends().await {
        let group = db.group();
        // Three columns: 16 000 values are 5 333 rows; 6 000 need two statements.
        let rows: Vec<Row> = (0..6000u32)
            .map(|i| {
                let model = entry::ActiveModel {
                    id: Set(NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed)),
                    k: Set(i.to_be_bytes().to_vec()),
                    n: Set(1),
                };
                Row::of(&model, entry::Column::K).unwrap()
            })
            .collect();
        let outcome = group.store(Job::rows(rows)).await.unwrap();
        assert_eq!(outcome.len(), 6000);
        assert!(outcome.iter().all(|new| *new));
        assert_eq!(db.count().await, 6000);
        db.done().await;
    }
}

#[tokio::test]
async fn nothing_is_acknowledged_when_the_commit_cannot_happen() {
    for db in backends().await {
        let group = db.group();
        db.write
            .execute_unprepared("DROP TABLE group_test")
            .await
            .unwrap();
        let (a, b) = tokio::join!(group.store(job(&[1])), group.store(job(&[2])));
        assert!(a.is_err() && b.is_err());
        db.done().await;
    }
}
