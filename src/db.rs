//! Database connection and start-up checks, the same code for SQLite and PostgreSQL.

use crate::crypto::KeyRing;
use anyhow::Context;
use entity::setting;
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ActiveValue, ConnectOptions, Database, DatabaseConnection, EntityTrait};
use std::time::Duration;

/// Connects with the settings Buzón relies on. SQLite: WAL (readers don't block the
/// writer), `synchronous=FULL` (an acknowledged complaint survives power loss, not
/// just a crash), a busy timeout instead of immediate `SQLITE_BUSY`, and foreign keys.
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    Database::connect(options)
        .await
        .context("cannot connect to the database")
}

/// Applies pending migrations.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None)
        .await
        .context("database migration failed")
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
    let expected = keys.check_value();
    match recorded_key_check(db).await? {
        Some(value) if value == expected => Ok(()),
        Some(_) => anyhow::bail!(
            "the key file does not belong to this database: its blind-index key differs from \
             the one this database was created with. Restore the key file from your backup \
             (or point BUZON_KEYS_FILE at the right one); starting would write data that can \
             never be read together with the existing data"
        ),
        None => {
            setting::Entity::insert(setting::ActiveModel {
                name: ActiveValue::Set(KEY_CHECK.to_owned()),
                value: ActiveValue::Set(expected),
            })
            .exec(db)
            .await
            .context("cannot record the key check")?;
            Ok(())
        }
    }
}
