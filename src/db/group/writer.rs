//! A committer's connection. On PostgreSQL a group that is one statement runs on a
//! connection the committer keeps: a pooled connection costs two round trips more
//! per group than its statement, sqlx pinging it when it is taken (unless hot, see
//! `db::open`) and always when it is given back, and on the same cores those pings
//! cost the server about what the insert does. Groups in a transaction (several
//! statements, `then`s) and every group on SQLite (whose one writing connection
//! is the pool) take the pool's connection as before.
//!
//! The kept connection is taken out of the pool (`detach`), so the pool may open
//! another in its place: the server holds at most its pool size plus one
//! connection per committer. A statement that fails drops the kept connection (it
//! may be broken, or mid-protocol) and the next group takes a fresh one.

use anyhow::Context;
use sea_orm::Values;
use sea_orm::sqlx::{self, Connection as _, PgConnection, Row as _};
use sea_orm::{DatabaseBackend, DatabaseConnection, DbErr, RuntimeErr, Statement};
use sea_query_sqlx::SqlxValues;
use std::sync::Arc;
use std::time::Instant;

pub(super) struct Writer {
    pub(super) db: DatabaseConnection,
    /// The kept connection and when it last answered.
    kept: Option<(PgConnection, Instant)>,
}

impl Writer {
    pub(super) fn new(db: DatabaseConnection) -> Self {
        Self { db, kept: None }
    }

    /// Runs one autocommitted `INSERT … RETURNING key` of `table`; the keys stored.
    pub(super) async fn insert_alone(
        &mut self,
        table: &'static str,
        statement: Statement,
    ) -> anyhow::Result<Vec<(&'static str, Vec<u8>)>> {
        if self.db.get_database_backend() != DatabaseBackend::Postgres {
            return super::insert_all(&self.db, vec![(table, statement)]).await;
        }
        let result = self.on_kept(statement).await;
        if result.is_err() {
            // Dropped, its socket closed, without a goodbye: it may be what failed.
            self.kept = None;
        }
        let keys = result.with_context(|| format!("cannot store the group's {table} rows"))?;
        Ok(keys.into_iter().map(|key| (table, key)).collect())
    }

    async fn on_kept(&mut self, statement: Statement) -> Result<Vec<Vec<u8>>, DbErr> {
        // Idle as long as the pool would ping, it is pinged too (a restarted server
        // or a proxy may have dropped it): a dead one is replaced, not failed on.
        if let Some((conn, since)) = &mut self.kept
            && since.elapsed() >= crate::db::IDLE_PING
            && conn.ping().await.is_err()
        {
            self.kept = None;
        }
        let (conn, since) = match &mut self.kept {
            Some(kept) => kept,
            empty => {
                let pooled = self
                    .db
                    .get_postgres_connection_pool()
                    .acquire()
                    .await
                    .map_err(failed)?;
                empty.insert((pooled.detach(), Instant::now()))
            }
        };
        let values = statement.values.unwrap_or(Values(Vec::new()));
        let rows = sqlx::query_with(
            sqlx::AssertSqlSafe(statement.sql.as_str()),
            SqlxValues(values),
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(failed)?;
        *since = Instant::now();
        rows.iter()
            .map(|row| row.try_get::<Vec<u8>, _>(0).map_err(failed))
            .collect()
    }
}

/// As sea-orm reports a failed statement; `error::is_temporary` tells a lost
/// connection (503 "try again", as on the pool) from a bad statement.
fn failed(err: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(Arc::new(err)))
}
