//! Group commit: deliveries that arrive together (a burst of WhatsApp webhooks,
//! several SMTP sessions ending at once) are stored in one transaction, so one
//! commit (one fsync) acknowledges them all.
//!
//! Each writer sends its job and waits. One task takes the first job waiting and
//! every other one already queued behind it (up to [`MAX`]; a job alone waits up to
//! [`WINDOW`] for a second), runs them in arrival order in one transaction and
//! commits; only then does each job's sender hear `Ok` (and answer 200 or 250).
//! While a group commits, the next one queues: under load, groups form by
//! themselves. When anything in a group
//! fails (a statement, the commit), nothing of it was stored: each job is then run
//! again alone, in its own transaction, so one bad delivery can't fail its
//! neighbours, and each sender hears its own job's outcome. A sender that heard an
//! error answers it, and the provider delivers again later: nothing is
//! acknowledged that is not committed.

use futures_util::future::BoxFuture;
use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionTrait};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// One delivery's writes, run inside the group's transaction. It may run twice (the
/// second time alone, after its group failed), so it must not consume what it
/// writes. Answers how many rows it stored.
pub type Job = Arc<
    dyn for<'a> Fn(&'a DatabaseTransaction) -> BoxFuture<'a, anyhow::Result<u64>> + Send + Sync,
>;

type Waiting = (Job, oneshot::Sender<anyhow::Result<u64>>);

/// A handle to the committing task; cheap to clone.
#[derive(Clone)]
pub struct GroupCommit {
    jobs: mpsc::Sender<Waiting>,
}

/// How long the first job of a group waits for company on SQLite: well under a
/// commit's own cost, so a lone delivery is barely slower. (PostgreSQL, with
/// several committers, doesn't wait: an idle committer takes the job at once.)
pub const WINDOW: Duration = Duration::from_millis(2);
/// The most jobs in one group.
pub const MAX: usize = 64;

impl GroupCommit {
    /// Group commit on the server's writer, as its back end wants it: on SQLite one
    /// committer (on the one writing connection) and a lone delivery waits
    /// [`WINDOW`] for company; on PostgreSQL half of `pool_size` connections commit
    /// side by side and nothing waits, so a group's round trips don't all queue on
    /// one connection.
    pub fn for_writer(db: DatabaseConnection, pool_size: u32) -> Self {
        if db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
            Self::start(db, WINDOW, MAX, 1)
        } else {
            let committers = usize::try_from(pool_size / 2).unwrap_or(1).max(1);
            Self::start(db, Duration::ZERO, MAX, committers)
        }
    }

    /// Starts `committers` committing tasks on `db` (on SQLite, one: the one
    /// writing connection). Several committers keep a back end that writes in
    /// parallel (PostgreSQL) busy on several connections, each committing groups
    /// of what is waiting; with one, a group's statements are one connection's
    /// round trips in a row.
    pub fn start(db: DatabaseConnection, window: Duration, max: usize, committers: usize) -> Self {
        let (jobs, queue) = mpsc::channel(max.max(1) * 4);
        let queue = Arc::new(tokio::sync::Mutex::new(queue));
        for _ in 0..committers.max(1) {
            tokio::spawn(run(db.clone(), Arc::clone(&queue), window, max.max(1)));
        }
        Self { jobs }
    }

    /// Stores `job` with whatever else is waiting; `Ok` only after the commit.
    pub async fn store(&self, job: Job) -> anyhow::Result<u64> {
        let (done, outcome) = oneshot::channel();
        self.jobs
            .send((job, done))
            .await
            .map_err(|_| anyhow::anyhow!("the group-commit task has stopped"))?;
        outcome
            .await
            .map_err(|_| anyhow::anyhow!("the group-commit task stopped before committing"))?
    }
}

async fn run(
    db: DatabaseConnection,
    queue: Arc<tokio::sync::Mutex<mpsc::Receiver<Waiting>>>,
    window: Duration,
    max: usize,
) {
    loop {
        // One committer gathers at a time; the others commit meanwhile.
        let group = {
            let mut queue = queue.lock().await;
            let Some(first) = queue.recv().await else {
                return;
            };
            let mut group = vec![first];
            take_waiting(&mut queue, &mut group, max);
            // A lone job waits a moment for company (a burst's next delivery); a
            // group that formed while the last one committed goes at once. Under
            // load groups form by themselves, at no added latency.
            if group.len() == 1
                && max > 1
                && !window.is_zero()
                && let Ok(Some(job)) = tokio::time::timeout(window, queue.recv()).await
            {
                group.push(job);
                take_waiting(&mut queue, &mut group, max);
            }
            group
        };
        commit(&db, group).await;
    }
}

/// Adds what is already queued, up to `max` in all.
fn take_waiting(queue: &mut mpsc::Receiver<Waiting>, group: &mut Vec<Waiting>, max: usize) {
    while group.len() < max {
        match queue.try_recv() {
            Ok(job) => group.push(job),
            Err(_) => break,
        }
    }
}

async fn commit(db: &DatabaseConnection, group: Vec<Waiting>) {
    let size = group.len();
    let together = async {
        let txn = db.begin().await?;
        let mut stored = Vec::with_capacity(size);
        for (job, _) in &group {
            stored.push(job(&txn).await?);
        }
        txn.commit().await?;
        anyhow::Ok(stored)
    };
    match together.await {
        Ok(stored) => {
            for ((_, done), n) in group.into_iter().zip(stored) {
                // A sender that gave up (its request timed out) just isn't told.
                let _ = done.send(Ok(n));
            }
        }
        Err(e) if size == 1 => {
            if let Some((_, done)) = group.into_iter().next() {
                let _ = done.send(Err(e));
            }
        }
        Err(e) => {
            tracing::warn!(
                size,
                error = %format!("{e:#}"),
                "a group commit failed; storing its deliveries one by one"
            );
            for (job, done) in group {
                let alone = async {
                    let txn = db.begin().await?;
                    let n = job(&txn).await?;
                    txn.commit().await?;
                    anyhow::Ok(n)
                };
                let _ = done.send(alone.await);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{ConnectOptions, ConnectionTrait, Database};

    async fn db() -> DatabaseConnection {
        // One connection: each in-memory connection would be a database of its own.
        let mut options = ConnectOptions::new("sqlite::memory:");
        options.max_connections(1).sqlx_logging(false);
        let db = Database::connect(options).await.unwrap();
        db.execute_unprepared("CREATE TABLE t (k INTEGER PRIMARY KEY)")
            .await
            .unwrap();
        db
    }

    fn insert(k: i64) -> Job {
        Arc::new(move |txn| {
            Box::pin(async move {
                crate::db::exec(txn, "INSERT INTO t (k) VALUES ($1)", vec![k.into()]).await
            })
        })
    }

    async fn count(db: &DatabaseConnection) -> i64 {
        crate::db::row(db, "SELECT COUNT(*) FROM t", vec![])
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index(0)
            .unwrap()
    }

    #[tokio::test]
    async fn jobs_arriving_together_share_a_commit_and_hear_after_it() {
        // A file, so a second connection can watch what is committed.
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("g.db").display());
        let pools = crate::db::Pools::connect(&url, 2).await.unwrap();
        pools
            .write
            .execute_unprepared("CREATE TABLE t (k INTEGER PRIMARY KEY)")
            .await
            .unwrap();
        let group = GroupCommit::start(pools.write.clone(), Duration::from_millis(50), MAX, 1);
        // Each job inserts its row, then answers how many rows the other connection
        // sees committed: 0 for every one of them only if they share one transaction.
        let watching = |k: i64| -> Job {
            let reader = pools.read.clone();
            Arc::new(move |txn| {
                let reader = reader.clone();
                Box::pin(async move {
                    crate::db::exec(txn, "INSERT INTO t (k) VALUES ($1)", vec![k.into()]).await?;
                    let committed: i64 = crate::db::row(&reader, "SELECT COUNT(*) FROM t", vec![])
                        .await?
                        .map_or(Ok(0), |r| r.try_get_by_index(0))?;
                    Ok(u64::try_from(committed).unwrap_or(u64::MAX))
                })
            })
        };
        let mut waiting = tokio::task::JoinSet::new();
        for k in 0..10 {
            let (group, job) = (group.clone(), watching(k));
            waiting.spawn(async move { group.store(job).await });
        }
        while let Some(done) = waiting.join_next().await {
            assert_eq!(done.unwrap().unwrap(), 0, "a job saw another one's commit");
        }
        assert_eq!(count(&pools.read).await, 10);
    }

    #[tokio::test]
    async fn a_bad_job_fails_alone_and_its_neighbours_are_stored() {
        let db = db().await;
        // A long window: all three land in one group, whose first try fails.
        let group = GroupCommit::start(db.clone(), Duration::from_millis(200), MAX, 1);
        let (a, b, c) = tokio::join!(
            group.store(insert(1)),
            group.store(insert(1)),
            group.store(insert(2))
        );
        let failed = [a.is_err(), b.is_err(), c.is_err()];
        assert_eq!(failed.iter().filter(|f| **f).count(), 1, "{failed:?}");
        assert!(c.is_ok());
        assert_eq!(count(&db).await, 2);
    }

    #[tokio::test]
    async fn nothing_is_acknowledged_when_the_commit_cannot_happen() {
        let db = db().await;
        let group = GroupCommit::start(db.clone(), Duration::from_millis(20), MAX, 1);
        db.execute_unprepared("DROP TABLE t").await.unwrap();
        let (a, b) = tokio::join!(group.store(insert(1)), group.store(insert(2)));
        assert!(a.is_err() && b.is_err());
    }
}
