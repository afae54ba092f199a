//! The SQLite engine: opening a file (WAL, foreign keys, busy timeout, one writer) or an
//! in-memory database, its embedded migrations (`migrations/sqlite`) and its start-up
//! version guards.
//!
//! Reads go through a small pool; every write goes through the one write connection
//! (the `writer` module) and starts with `BEGIN IMMEDIATE` (or is a single statement),
//! so writes queue in-process instead of failing with "database is locked", and a
//! second process waits on the busy timeout rather than erroring.

use std::time::Duration;

use sqlx::sqlite::{SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use crate::db::{Inspection, OpenMode, MINIMUM_SQLITE_VERSION};
use crate::group_commit::PendingEntries;
use crate::location::{Engine, Location};
use crate::writer::{WriteConn, Writer};
use crate::StorageError;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// How long a connection waits for another process's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The SQLite migrations this binary carries, by version.
pub fn known_schema_versions() -> Vec<i64> {
    MIGRATOR.iter().map(|migration| migration.version).collect()
}

/// `3.51.3` as `(3, 51, 3)`; `None` when it is not a dotted version.
pub fn parse_sqlite_version(text: &str) -> Option<(u32, u32, u32)> {
    let mut parts = text.trim().split('.').map(|part| part.parse::<u32>().ok());
    let major = parts.next()??;
    let minor = parts.next().unwrap_or(Some(0))?;
    let patch = parts.next().unwrap_or(Some(0))?;
    Some((major, minor, patch))
}

/// True when `version` is at least [`MINIMUM_SQLITE_VERSION`]. An unreadable version is
/// refused: the guard cannot vouch for it.
pub fn sqlite_version_is_supported(version: &str) -> bool {
    match (parse_sqlite_version(version), parse_sqlite_version(MINIMUM_SQLITE_VERSION)) {
        (Some(found), Some(minimum)) => found >= minimum,
        _ => false,
    }
}

/// A SQLite database: the read pool, the one writer, and the writes waiting for the
/// next group commit.
#[derive(Clone, Debug)]
pub(crate) struct SqliteDb {
    reader: SqlitePool,
    writer: Writer,
    /// Timeline entries waiting to share the next commit.
    pending_entries: std::sync::Arc<PendingEntries>,
    /// Inbox writes waiting to share the next commit.
    pending_inbox: std::sync::Arc<crate::inbox::PendingInbox>,
}

impl SqliteDb {
    pub(crate) async fn open(location: &Location, mode: OpenMode) -> Result<SqliteDb, StorageError> {
        let shown = location.to_string();
        let open_err = |source| StorageError::Open { url: shown.clone(), source };
        let options = location
            .sqlite_options()
            .ok_or(StorageError::Corrupt("not a SQLite location".into()))?
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let Some(path) = location.path() else {
            // Each in-memory connection is its own database, so reads and writes
            // must share the one connection. It is new each time: there is nothing to
            // find missing.
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .test_before_acquire(false)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options.create_if_missing(true))
                .await
                .map_err(open_err)?;
            startup_guards(&pool, &shown).await?;
            MIGRATOR.run(&pool).await?;
            return Ok(SqliteDb {
                reader: pool.clone(),
                writer: Writer::Pooled(pool),
                pending_entries: Default::default(),
                pending_inbox: Default::default(),
            });
        };
        let create = mode == OpenMode::Create;
        let missing = || StorageError::Missing(path.display().to_string());
        if !create && !path.exists() {
            return Err(missing());
        }
        if create && !path.exists() {
            let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
            if !folder.is_dir() {
                return Err(StorageError::NoFolder {
                    path: path.display().to_string(),
                    folder: folder.display().to_string(),
                });
            }
        }
        let options = options
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL syncs the WAL on every commit: what the bot acknowledges survives a
            // power cut, not only a crash.
            .synchronous(SqliteSynchronous::Full);
        // Without `create_if_missing`, SQLite itself refuses a file that went away since
        // the check above, so nothing is created in between either.
        let setup = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(|source| if !create && !path.exists() { missing() } else { open_err(source) })?;
        startup_guards(&setup, &shown).await?;
        if mode != OpenMode::ExistingAsIs {
            MIGRATOR.run(&setup).await?;
        }
        let writer = Writer::held(setup.acquire().await?.detach());
        setup.close().await;
        // A local SQLite connection does not go stale the way a network one does, so the
        // pool skips sqlx's ping before each use: it would cost every read a round trip.
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(options.read_only(true))
            .await
            .map_err(open_err)?;
        Ok(SqliteDb { reader, writer, pending_entries: Default::default(), pending_inbox: Default::default() })
    }

    pub(crate) async fn inspect(location: &Location) -> Result<Inspection, StorageError> {
        let shown = location.to_string();
        let open_err = |source| StorageError::Open { url: shown.clone(), source };
        let (Some(path), Some(options)) = (location.path(), location.sqlite_options()) else {
            return Err(StorageError::Missing(shown));
        };
        if !path.exists() {
            return Err(StorageError::Missing(path.display().to_string()));
        }
        let options = options.read_only(true).busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await.map_err(open_err)?;
        let result = async {
            startup_guards(&pool, &shown).await?;
            let applied = applied_versions(&pool).await?;
            let pending = known_schema_versions().iter().filter(|v| !applied.contains(v)).count();
            Ok(Inspection {
                engine: Engine::Sqlite,
                engine_version: sqlite_version(&pool).await?,
                schema_version: applied.iter().copied().max(),
                pending_migrations: pending,
                encryption: None,
            })
        }
        .await;
        pool.close().await;
        result
    }

    /// The write connection, for one write (see the `writer` module).
    pub(crate) async fn writer_conn(&self) -> Result<WriteConn, StorageError> {
        self.writer.take().await
    }

    pub(crate) fn pending_entries(&self) -> &PendingEntries {
        &self.pending_entries
    }

    pub(crate) fn pending_inbox(&self) -> &crate::inbox::PendingInbox {
        &self.pending_inbox
    }

    pub(crate) fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    /// Closes every connection, checkpointing the WAL.
    pub(crate) async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

/// The version of the SQLite library this binary runs, from a throwaway in-memory
/// connection.
pub(crate) async fn library_version() -> Result<String, StorageError> {
    let pool = SqlitePoolOptions::new().max_connections(1).connect("sqlite::memory:").await?;
    let version = sqlite_version(&pool).await;
    pool.close().await;
    version
}

async fn sqlite_version(pool: &SqlitePool) -> Result<String, StorageError> {
    Ok(sqlx::query_scalar("SELECT sqlite_version()").fetch_one(pool).await?)
}

/// The migration versions recorded in the database (none for a new database).
async fn applied_versions(pool: &SqlitePool) -> Result<Vec<i64>, StorageError> {
    let has_table: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'")
            .fetch_optional(pool)
            .await?;
    if has_table.is_none() {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_scalar("SELECT version FROM _sqlx_migrations").fetch_all(pool).await?)
}

/// Refuses an SQLite library older than [`MINIMUM_SQLITE_VERSION`], and a database that
/// records a migration this binary does not carry (written by a newer release), before
/// anything is migrated or written.
async fn startup_guards(pool: &SqlitePool, url: &str) -> Result<(), StorageError> {
    let found = sqlite_version(pool).await?;
    if !sqlite_version_is_supported(&found) {
        return Err(StorageError::SqliteTooOld { found });
    }
    crate::db::refuse_newer_schema(url, &known_schema_versions(), applied_versions(pool).await?)
}
