//! Opening the database: connection settings, the single writer, migrations.
//!
//! Reads go through a small pool; every write goes through a pool of exactly one
//! connection and starts with `BEGIN IMMEDIATE`, so writes queue in-process instead
//! of failing with "database is locked", and a second process waits on the busy
//! timeout rather than erroring.

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use std::str::FromStr;
use std::time::Duration;

/// Errors from the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("cannot open database `{url}`: {source}")]
    Open {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

/// How long a connection waits for another process's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A handle to the incidentbot database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    reader: SqlitePool,
    writer: SqlitePool,
}

impl Db {
    /// Opens (creating if needed) the database at `url` and runs pending migrations.
    ///
    /// `url` is a SQLite URL such as `sqlite://incidentbot.db` or `sqlite::memory:`.
    pub async fn connect(url: &str) -> Result<Db, StorageError> {
        let open_err = |source| StorageError::Open { url: url.to_string(), source };
        let options = SqliteConnectOptions::from_str(url)
            .map_err(open_err)?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if in_memory {
            // Each in-memory connection is its own database, so reads and writes
            // must share the one connection.
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await
                .map_err(open_err)?;
            let db = Db { reader: pool.clone(), writer: pool };
            db.migrate().await?;
            return Ok(db);
        }
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            // FULL syncs the WAL on every commit: what the bot acknowledges survives a
            // power cut, not only a crash.
            .synchronous(SqliteSynchronous::Full);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(open_err)?;
        let db_for_migration = Db { reader: writer.clone(), writer: writer.clone() };
        db_for_migration.migrate().await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await
            .map_err(open_err)?;
        Ok(Db { reader, writer })
    }

    /// A fresh, migrated in-memory database (tests, the console without `--db`).
    pub async fn in_memory() -> Result<Db, StorageError> {
        Db::connect("sqlite::memory:").await
    }

    async fn migrate(&self) -> Result<(), StorageError> {
        sqlx::migrate!("../migrations").run(&self.writer).await?;
        Ok(())
    }

    /// Starts a write transaction holding SQLite's write lock from the first statement.
    pub(crate) async fn write(&self) -> Result<Transaction<'static, Sqlite>, StorageError> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// The write connection itself, for work that manages its own transactions.
    pub(crate) async fn writer_conn(&self) -> Result<sqlx::pool::PoolConnection<Sqlite>, StorageError> {
        Ok(self.writer.acquire().await?)
    }

    pub(crate) fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    /// Checks that the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StorageError> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    /// Closes every connection, checkpointing the WAL.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn file_database_runs_in_wal_mode_with_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = Db::connect(&url).await.unwrap();
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(db.reader()).await.unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(&db.writer).await.unwrap();
        assert_eq!(fk, 1);
        let timeout: i64 = sqlx::query_scalar("PRAGMA busy_timeout").fetch_one(&db.writer).await.unwrap();
        assert_eq!(timeout, 10_000);
    }

    #[tokio::test]
    async fn reopening_runs_no_migration_twice() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        Db::connect(&url).await.unwrap().close().await;
        Db::connect(&url).await.unwrap().ping().await.unwrap();
    }
}
