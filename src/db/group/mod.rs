//! Group commit: deliveries that arrive together (a burst of WhatsApp webhooks,
//! several SMTP sessions ending at once) are stored together, so one commit (one
//! fsync) acknowledges them all.
//!
//! Each writer sends its job and waits. A job is rows to insert, each deduplicated
//! on a unique key column (a redelivery stores nothing new), and optionally more
//! writes to run after them (`Job::then`). A committing task takes the first job
//! waiting and every other one already queued behind it (up to [`MAX`]; on SQLite a
//! job alone waits up to [`WINDOW`] for a second) and writes the group's rows as
//! ONE multi-row `INSERT … ON CONFLICT DO NOTHING RETURNING key` per table, so a
//! group costs one round trip per table however many deliveries it holds (on
//! PostgreSQL over TCP each round trip of a large row may wait for a delayed ACK).
//! A group that is one statement runs it alone (autocommitted: atomic by itself,
//! one round trip in all); otherwise the statements and the `then`s share one
//! transaction. Only after the commit does each job's sender hear which of its rows
//! were new (and answer 200 or 250). A key that two jobs of one group carry is the
//! first one's (in arrival order): the later one hears "not new", as it would have
//! had it come after the first one's commit.
//!
//! When anything in a group fails (a statement, a `then`, the commit), nothing of it
//! was stored: each job is then written again alone, so one bad delivery can't fail
//! its neighbours, and each sender hears its own job's outcome. A sender that heard
//! an error answers it, and the provider delivers again later: nothing is
//! acknowledged that is not committed.
//!
//! The background work those deliveries cause (the inbox workers) shares the writer
//! and the cores with them: it yields to them ([`GroupCommit::yield_to_deliveries`])
//! so that a burst is acknowledged at full speed and worked right after.

mod activity;
mod writer;

use activity::{Activity, YIELD_AT_MOST};
use anyhow::Context;
use futures_util::future::BoxFuture;
use sea_orm::sea_query::{Alias, Expr, OnConflict, Query, ValueType};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityName,
    EntityTrait, IdenStatic, Iterable, TransactionTrait, Value,
};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use writer::Writer;

/// Writes run inside the group's transaction after its rows. They may run twice (the
/// second time alone, after the group failed), so they must not consume what they
/// write.
pub type Then =
    Arc<dyn for<'a> Fn(&'a DatabaseTransaction) -> BoxFuture<'a, anyhow::Result<()>> + Send + Sync>;

/// One row for a table's shared insert, deduplicated on its key column.
#[derive(Clone, Debug)]
pub struct Row {
    table: &'static str,
    key_column: &'static str,
    columns: Vec<&'static str>,
    values: Vec<Value>,
    key: Vec<u8>,
}

impl Row {
    /// The set columns of `model` as a row of its table; `key` is a unique column of
    /// bytes (a blind index): a row whose key is stored already is not stored again.
    pub fn of<A: ActiveModelTrait>(
        model: &A,
        key: <A::Entity as EntityTrait>::Column,
    ) -> anyhow::Result<Self> {
        let mut columns = Vec::new();
        let mut values = Vec::new();
        for column in <A::Entity as EntityTrait>::Column::iter() {
            if let Some(value) = model.get(column).into_value() {
                columns.push(column.as_str());
                values.push(value);
            }
        }
        let key_value = model
            .get(key)
            .into_value()
            .ok_or_else(|| anyhow::anyhow!("a row without its key column"))?;
        let key_bytes = <Vec<u8> as ValueType>::try_from(key_value)
            .map_err(|_| anyhow::anyhow!("a row whose key is not bytes"))?;
        Ok(Self {
            table: A::Entity::default().table_name(),
            key_column: key.as_str(),
            columns,
            values,
            key: key_bytes,
        })
    }
}

/// One delivery's writes: its rows, then whatever else it writes.
#[derive(Clone)]
pub struct Job {
    rows: Vec<Row>,
    then: Option<Then>,
}

impl Job {
    pub fn rows(rows: Vec<Row>) -> Self {
        Self { rows, then: None }
    }

    /// More writes, run in the group's transaction after every job's rows.
    pub fn then(mut self, then: Then) -> Self {
        self.then = Some(then);
        self
    }
}

/// For each of a job's rows, in its order: whether it was stored (new), once
/// committed. `false`: its key was stored already (a redelivery).
pub type Outcome = Vec<bool>;

type Waiting = (Job, oneshot::Sender<anyhow::Result<Outcome>>);

/// A handle to the committing tasks; cheap to clone.
#[derive(Clone)]
pub struct GroupCommit {
    jobs: mpsc::Sender<Waiting>,
    activity: Arc<Activity>,
}

/// How long the first job of a group waits for company on SQLite: well under a
/// commit's own cost, so a lone delivery is barely slower. (PostgreSQL, with
/// several committers, doesn't wait: an idle committer takes the job at once.)
pub const WINDOW: Duration = Duration::from_millis(2);
/// The most jobs in one group.
pub const MAX: usize = 64;
/// Committers on PostgreSQL: one gathers the next group while the other commits.
/// More commit smaller groups, and each statement costs the server (on the same
/// cores, here) about as much whatever its number of rows: with five, the webhook
/// bench's groups held one or two deliveries and it ran at 0.75x its speed with two.
const PG_COMMITTERS: u32 = 2;
/// The most bound values in one statement (SQLite allows 32 766, PostgreSQL
/// 65 535); a group with more rows is several statements in one transaction.
const MAX_VALUES: usize = 16_000;

impl GroupCommit {
    /// Group commit on the server's writer, as its back end wants it: on SQLite one
    /// committer (on the one writing connection) and a lone delivery waits
    /// [`WINDOW`] for company; on PostgreSQL two connections (at most `pool_size`)
    /// commit side by side and nothing waits.
    pub fn for_writer(db: DatabaseConnection, pool_size: u32) -> Self {
        if db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
            Self::start(db, WINDOW, MAX, 1)
        } else {
            let committers = usize::try_from(pool_size.min(PG_COMMITTERS)).unwrap_or(1);
            Self::start(db, Duration::ZERO, MAX, committers)
        }
    }

    /// Starts `committers` committing tasks on `db` (on SQLite, one: the one
    /// writing connection). Several committers keep a back end that writes in
    /// parallel (PostgreSQL) busy on several connections, each committing groups
    /// of what is waiting.
    pub fn start(db: DatabaseConnection, window: Duration, max: usize, committers: usize) -> Self {
        let (jobs, queue) = mpsc::channel(max.max(1) * 4);
        let queue = Arc::new(tokio::sync::Mutex::new(queue));
        for _ in 0..committers.max(1) {
            tokio::spawn(run(db.clone(), Arc::clone(&queue), window, max.max(1)));
        }
        Self {
            jobs,
            activity: Arc::default(),
        }
    }

    /// Stores `job` with whatever else is waiting; `Ok` only after the commit, with
    /// which of its rows were new.
    pub async fn store(&self, job: Job) -> anyhow::Result<Outcome> {
        let _in_flight = self.activity.arrived();
        let (done, outcome) = oneshot::channel();
        self.jobs
            .send((job, done))
            .await
            .map_err(|_| anyhow::anyhow!("the group-commit task has stopped"))?;
        outcome
            .await
            .map_err(|_| anyhow::anyhow!("the group-commit task stopped before committing"))?
    }

    /// For background work sharing the writer and the cores with the deliveries
    /// (the inbox workers, before each message): waits while deliveries are being
    /// stored, at most [`YIELD_AT_MOST`] (see [`activity`]).
    pub async fn yield_to_deliveries(&self) {
        self.activity.quiet(YIELD_AT_MOST).await;
    }
}

async fn run(
    db: DatabaseConnection,
    queue: Arc<tokio::sync::Mutex<mpsc::Receiver<Waiting>>>,
    window: Duration,
    max: usize,
) {
    let mut writer = Writer::new(db);
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
        commit(&mut writer, group).await;
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

async fn commit(writer: &mut Writer, group: Vec<Waiting>) {
    let size = group.len();
    let jobs: Vec<&Job> = group.iter().map(|(job, _)| job).collect();
    match write(writer, &jobs).await {
        Ok(outcomes) => {
            for ((_, done), outcome) in group.into_iter().zip(outcomes) {
                // A sender that gave up (its request timed out) just isn't told.
                let _ = done.send(Ok(outcome));
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
                let alone = write(writer, &[&job]).await.and_then(|mut outcomes| {
                    outcomes
                        .pop()
                        .ok_or_else(|| anyhow::anyhow!("a job without its outcome"))
                });
                let _ = done.send(alone);
            }
        }
    }
}

/// One table's insert: the rows (at most one per key, in key order, so concurrent
/// groups lock keys in one order and never wait on each other in a cycle).
struct Insert<'a> {
    table: &'static str,
    key_column: &'static str,
    columns: &'a [&'static str],
    rows: Vec<&'a Row>,
}

/// Writes `jobs` together and commits; each job's outcome, in order.
async fn write(writer: &mut Writer, jobs: &[&Job]) -> anyhow::Result<Vec<Outcome>> {
    // Each key goes in once, for the first job that carries it.
    let mut claimed: HashSet<(&str, &[u8])> = HashSet::new();
    let mut inserts: BTreeMap<(&str, &[&str]), Insert> = BTreeMap::new();
    let carried: Vec<Vec<bool>> = jobs
        .iter()
        .map(|job| {
            job.rows
                .iter()
                .map(|row| {
                    let first = claimed.insert((row.table, row.key.as_slice()));
                    if first {
                        inserts
                            .entry((row.table, row.columns.as_slice()))
                            .or_insert_with(|| Insert {
                                table: row.table,
                                key_column: row.key_column,
                                columns: &row.columns,
                                rows: Vec::new(),
                            })
                            .rows
                            .push(row);
                    }
                    first
                })
                .collect()
        })
        .collect();
    let backend = writer.db.get_database_backend();
    let mut statements = Vec::new();
    for insert in inserts.values_mut() {
        insert.rows.sort_by(|a, b| a.key.cmp(&b.key));
        let per_statement = (MAX_VALUES / insert.columns.len().max(1)).max(1);
        for chunk in insert.rows.chunks(per_statement) {
            let mut query = Query::insert();
            query
                .into_table(Alias::new(insert.table))
                .columns(insert.columns.iter().map(|c| Alias::new(*c)));
            for row in chunk {
                query
                    .values(row.values.iter().cloned().map(Expr::val))
                    .map_err(|e| anyhow::anyhow!("a row of {} does not fit: {e}", insert.table))?;
            }
            query
                .on_conflict(
                    OnConflict::column(Alias::new(insert.key_column))
                        .do_nothing()
                        .to_owned(),
                )
                .returning_col(Alias::new(insert.key_column));
            statements.push((insert.table, backend.build(&query)));
        }
    }
    let mut stored: HashSet<(&'static str, Vec<u8>)> = HashSet::new();
    let thens: Vec<&Then> = jobs.iter().filter_map(|job| job.then.as_ref()).collect();
    if statements.len() <= 1 && thens.is_empty() {
        // One statement commits by itself (atomic: all its rows or none), one round
        // trip in all; and `Ok` only once it has.
        if let Some((table, statement)) = statements.pop() {
            stored.extend(writer.insert_alone(table, statement).await?);
        }
    } else {
        let txn = writer.db.begin().await?;
        stored.extend(insert_all(&txn, statements).await?);
        for then in thens {
            then(&txn).await?;
        }
        txn.commit().await?;
    }
    Ok(jobs
        .iter()
        .zip(carried)
        .map(|(job, carried)| {
            job.rows
                .iter()
                .zip(carried)
                .map(|(row, carried)| carried && stored.contains(&(row.table, row.key.clone())))
                .collect()
        })
        .collect())
}

/// Runs the group's inserts on `conn`; the keys they stored.
async fn insert_all(
    conn: &impl ConnectionTrait,
    statements: Vec<(&'static str, sea_orm::Statement)>,
) -> anyhow::Result<Vec<(&'static str, Vec<u8>)>> {
    let mut stored = Vec::new();
    for (table, statement) in statements {
        let rows = conn
            .query_all_raw(statement)
            .await
            .with_context(|| format!("cannot store the group's {table} rows"))?;
        stored.extend(returned(table, rows)?);
    }
    Ok(stored)
}

/// The keys an insert's `RETURNING` answered: the rows it stored.
fn returned(
    table: &'static str,
    rows: Vec<sea_orm::QueryResult>,
) -> anyhow::Result<Vec<(&'static str, Vec<u8>)>> {
    rows.into_iter()
        .map(|row| Ok((table, row.try_get_by_index::<Vec<u8>>(0)?)))
        .collect()
}

#[cfg(test)]
mod tests;
