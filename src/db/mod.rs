//! Database connection and start-up checks, the same code for SQLite and PostgreSQL;
//! group commit for the channels' deliveries (group/).

pub mod group;

use crate::crypto::KeyRing;
use crate::routing::{Directory, Entry};
use anyhow::Context;
use entity::{authority, setting};
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ActiveValue, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, EntityTrait,
    TransactionTrait,
};
use std::time::Duration;

/// Connects with the settings Buzón relies on. SQLite: WAL (readers don't block the
/// writer), `synchronous=FULL` (an acknowledged complaint survives power loss, not
/// just a crash), a busy timeout instead of immediate `SQLITE_BUSY`, foreign keys,
/// and `secure_delete` (deleted and overwritten content is zeroed, so what the
/// retention purge erases does not stay readable in free pages).
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<DatabaseConnection> {
    open(url, max_connections, Role::Pool).await
}

/// The server's connections: every write goes through `write`, and `read` serves
/// the pages and exports that only read (the queue, a case's detail, the
/// indicators, metrics, readiness).
///
/// On SQLite, `write` is one connection: SQLite takes one writer at a time, and
/// with a pool of writers the losers sleep in SQLite's busy handler (1, 2, 5 … 100
/// ms steps, whether the lock is free meanwhile or not), which put every writer's
/// p99 at 180–650 ms against a p50 of 2–8 ms. Waiting for the one connection
/// instead is a queue (sqlx hands it over in arrival order, the moment it is free).
/// `read` is a pool of `max_connections` with `query_only` on, so a write sent
/// there by mistake fails loudly instead of contending. On PostgreSQL both are the
/// same pool.
#[derive(Clone)]
pub struct Pools {
    pub write: DatabaseConnection,
    pub read: DatabaseConnection,
}

/// How long a write waits for the SQLite writer: as long as SQLite's own busy
/// timeout, which other processes (the CLI) still meet.
const WRITER_WAIT: Duration = Duration::from_secs(10);

impl Pools {
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        let write = open(url, max_connections, Role::Writer).await?;
        if write.get_database_backend() != sea_orm::DatabaseBackend::Sqlite {
            return Ok(Self {
                read: write.clone(),
                write,
            });
        }
        let read = open(url, max_connections, Role::Reader).await?;
        Ok(Self { write, read })
    }
}

/// A pooled connection idle this long is pinged before it is handed out.
pub(crate) const IDLE_PING: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A pool that reads and writes (the CLI's commands, tests).
    Pool,
    /// On SQLite, the one writing connection (other back ends: a pool).
    Writer,
    /// On SQLite, a pool that may only read.
    Reader,
}

async fn open(url: &str, max_connections: u32, role: Role) -> anyhow::Result<DatabaseConnection> {
    // Made 0600 here, not by SQLite with the umask's mode (its -wal and -shm follow).
    crate::crypto::perms::create_sqlite_file(url)?;
    let one = role == Role::Writer && url.starts_with("sqlite:");
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(if one { 1 } else { max_connections })
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(if one {
            WRITER_WAIT
        } else {
            Duration::from_secs(5)
        })
        // Ping only a connection that sat idle (one a server restart, proxy or
        // firewall may have dropped): pinging on every checkout, sqlx's default,
        // doubled every statement's round trips.
        .test_before_acquire_if_idle_for(IDLE_PING)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(move |o| {
            let o = o
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(WRITER_WAIT)
                .foreign_keys(true)
                .pragma("secure_delete", "ON");
            if role == Role::Reader {
                o.pragma("query_only", "ON")
            } else {
                o
            }
        });
    Database::connect(options)
        .await
        .context("cannot connect to the database")
}

/// Applies pending migrations. On PostgreSQL, instances that start together (several
/// behind a load balancer) take turns: the migrations run in one transaction that
/// first takes an advisory lock, so each runs once and the others, waiting for the
/// lock, then find nothing pending. Without it the second instance's `CREATE TABLE`
/// fails and it stops.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    if db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return Migrator::up(db, None)
            .await
            .context("database migration failed");
    }
    let txn = db.begin().await.context("cannot begin transaction")?;
    // Any fixed number, the same in every instance: "buzon-migrate".
    txn.execute_unprepared("SELECT pg_advisory_xact_lock(7021853011452657511)")
        .await
        .context("cannot take the migration lock")?;
    Migrator::up(&txn, None)
        .await
        .context("database migration failed")?;
    txn.commit().await.context("cannot commit the migrations")
}

/// The authority directory: built-in entries for codes the database lacks are
/// stored first (admins' edits are never overwritten), then everything is read.
pub async fn load_directory(db: &DatabaseConnection) -> anyhow::Result<Directory> {
    let builtin = Directory::builtin().map_err(anyhow::Error::msg)?;
    let stored: Vec<authority::Model> = authority::Entity::find()
        .all(db)
        .await
        .context("cannot read the authority directory")?;
    let missing: Vec<Entry> = builtin
        .entries()
        .filter(|e| !stored.iter().any(|s| s.code == e.code))
        .cloned()
        .collect();
    if !missing.is_empty() {
        save_directory(db, &missing).await?;
    }
    let stored = authority::Entity::find()
        .all(db)
        .await
        .context("cannot read the authority directory")?;
    Ok(builtin.with_entries(stored.into_iter().map(|m| Entry {
        code: m.code,
        name_es: m.name_es,
        name_en: m.name_en,
        name_confirmed: m.name_confirmed,
        phone: m.phone,
        email: m.email,
        address: m.address,
        website: m.website,
    })))
}

/// Inserts or replaces directory entries, in one transaction.
pub async fn save_directory(db: &DatabaseConnection, entries: &[Entry]) -> anyhow::Result<()> {
    use sea_orm::sea_query::OnConflict;
    let txn = db.begin().await.context("cannot begin transaction")?;
    let now = chrono::Utc::now();
    for e in entries {
        let row = authority::ActiveModel {
            code: ActiveValue::Set(e.code.clone()),
            name_es: ActiveValue::Set(e.name_es.clone()),
            name_en: ActiveValue::Set(e.name_en.clone()),
            name_confirmed: ActiveValue::Set(e.name_confirmed),
            phone: ActiveValue::Set(e.phone.clone()),
            email: ActiveValue::Set(e.email.clone()),
            address: ActiveValue::Set(e.address.clone()),
            website: ActiveValue::Set(e.website.clone()),
            updated_at: ActiveValue::Set(now),
        };
        authority::Entity::insert(row)
            .on_conflict(
                OnConflict::column(authority::Column::Code)
                    .update_columns([
                        authority::Column::NameEs,
                        authority::Column::NameEn,
                        authority::Column::NameConfirmed,
                        authority::Column::Phone,
                        authority::Column::Email,
                        authority::Column::Address,
                        authority::Column::Website,
                        authority::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec(&txn)
            .await
            .with_context(|| format!("cannot save authority {}", e.code))?;
    }
    txn.commit().await.context("cannot commit the directory")?;
    Ok(())
}

const KEY_CHECK: &str = "key_check";

/// The key-file check value recorded on the database's first start, if any.
pub async fn recorded_key_check(db: &DatabaseConnection) -> anyhow::Result<Option<String>> {
    Ok(setting::Entity::find_by_id(KEY_CHECK.to_owned())
        .one(db)
        .await
        .context("cannot read settings")?
        .map(|row| row.value))
}

/// Refuses to run with a key file other than the one the database was started with:
/// new data would be unreadable together with the old. Records the check value on
/// the first start.
pub async fn check_keys(db: &DatabaseConnection, keys: &KeyRing) -> anyhow::Result<()> {
    use sea_orm::sea_query::OnConflict;
    let expected = keys.check_value();
    let recorded = match recorded_key_check(db).await? {
        Some(value) => value,
        None => {
            // Instances starting together on a new database all get here: the first
            // records its value, the others compare theirs with it.
            setting::Entity::insert(setting::ActiveModel {
                name: ActiveValue::Set(KEY_CHECK.to_owned()),
                value: ActiveValue::Set(expected.clone()),
            })
            .on_conflict(
                OnConflict::column(setting::Column::Name)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await
            .context("cannot record the key check")?;
            recorded_key_check(db)
                .await?
                .context("the key check was not recorded")?
        }
    };
    anyhow::ensure!(
        recorded == expected,
        "the key file does not belong to this database: its blind-index key differs from \
         the one this database was created with. Restore the key file from your backup \
         (or point BUZON_KEYS_FILE at the right one); starting would write data that can \
         never be read together with the existing data"
    );
    Ok(())
}

/// Runs one statement with `$1`-style placeholders (both back ends read them).
pub async fn exec(
    conn: &impl sea_orm::ConnectionTrait,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> anyhow::Result<u64> {
    let stmt = sea_orm::Statement::from_sql_and_values(conn.get_database_backend(), sql, values);
    Ok(conn.execute_raw(stmt).await?.rows_affected())
}

/// Every row of a query with `$1`-style placeholders.
pub async fn rows(
    conn: &impl sea_orm::ConnectionTrait,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> anyhow::Result<Vec<sea_orm::QueryResult>> {
    let stmt = sea_orm::Statement::from_sql_and_values(conn.get_database_backend(), sql, values);
    Ok(conn.query_all_raw(stmt).await?)
}

/// The first row of a query with `$1`-style placeholders.
pub async fn row(
    conn: &impl sea_orm::ConnectionTrait,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> anyhow::Result<Option<sea_orm::QueryResult>> {
    let stmt = sea_orm::Statement::from_sql_and_values(conn.get_database_backend(), sql, values);
    Ok(conn.query_one_raw(stmt).await?)
}

/// Every row of a query with `$1`-style placeholders, each made into a `T`.
pub async fn all<T>(
    conn: &impl sea_orm::ConnectionTrait,
    sql: &str,
    values: Vec<sea_orm::Value>,
    make: impl Fn(&sea_orm::QueryResult) -> Result<T, sea_orm::DbErr>,
) -> anyhow::Result<Vec<T>> {
    rows(conn, sql, values)
        .await?
        .iter()
        .map(|r| make(r).map_err(anyhow::Error::from))
        .collect()
}

/// What `buzon backup` wrote.
pub struct Backup {
    pub cases: i64,
    pub bytes: u64,
}

/// A consistent online copy of a SQLite database (`VACUUM INTO`: one read
/// transaction, so the server may keep writing meanwhile), readable by its owner
/// only, checked by opening it and running `PRAGMA integrity_check`. `target` must
/// not exist. The key file is not in it (and must be backed up apart from it).
pub async fn backup_sqlite(
    db: &DatabaseConnection,
    target: &std::path::Path,
) -> anyhow::Result<Backup> {
    anyhow::ensure!(
        db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite,
        "buzon backup copies a SQLite database; for PostgreSQL use pg_dump (README, Operations)"
    );
    anyhow::ensure!(
        !target.exists(),
        "{} exists: back up to a new file",
        target.display()
    );
    let path = target
        .to_str()
        .context("the backup path must be valid UTF-8")?
        .replace('\'', "''");
    db.execute_unprepared(&format!("VACUUM INTO '{path}'"))
        .await
        .context("VACUUM INTO failed")?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(target, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot restrict {}", target.display()))?;
    }
    // Opened as it is (read-only: no journal-mode pragma, nothing written).
    let url = format!("sqlite://{}?mode=ro", target.display());
    let copy = Database::connect(url)
        .await
        .context("cannot open the backup")?;
    let check: String = row(&copy, "PRAGMA integrity_check", vec![])
        .await?
        .context("integrity_check answered nothing")?
        .try_get_by_index(0)?;
    anyhow::ensure!(
        check == "ok",
        "the backup failed its integrity check: {check}"
    );
    let cases: i64 = row(&copy, "SELECT COUNT(*) FROM cases", vec![])
        .await?
        .context("cannot count cases")?
        .try_get_by_index(0)?;
    copy.close().await.ok();
    let bytes = std::fs::metadata(target)
        .with_context(|| format!("cannot read {}", target.display()))?
        .len();
    Ok(Backup { cases, bytes })
}

/// A write refused because a unique key was taken (a concurrent insert won).
pub fn is_unique_violation(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<sea_orm::DbErr>()
            .and_then(|e| e.sql_err())
            .is_some_and(|e| matches!(e, sea_orm::SqlErr::UniqueConstraintViolation(_)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_writes_go_through_one_connection_and_reads_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let pools = Pools::connect(&url, 4).await.unwrap();
        exec(&pools.write, "CREATE TABLE t (k INTEGER)", vec![])
            .await
            .unwrap();
        exec(&pools.write, "INSERT INTO t VALUES (1)", vec![])
            .await
            .unwrap();
        // A write sent to the readers fails loudly instead of contending.
        assert!(
            exec(&pools.read, "INSERT INTO t VALUES (2)", vec![])
                .await
                .is_err()
        );
        let n: i64 = row(&pools.read, "SELECT COUNT(*) FROM t", vec![])
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index(0)
            .unwrap();
        assert_eq!(n, 1);
        // The writer is one connection: a second write waits for the first one's
        // transaction instead of taking SQLite's lock beside it.
        let txn = pools.write.begin().await.unwrap();
        let waiting = tokio::time::timeout(
            Duration::from_millis(300),
            exec(&pools.write, "INSERT INTO t VALUES (3)", vec![]),
        )
        .await;
        assert!(
            waiting.is_err(),
            "a second writer got a connection of its own"
        );
        txn.commit().await.unwrap();
        exec(&pools.write, "INSERT INTO t VALUES (3)", vec![])
            .await
            .unwrap();
    }
}
