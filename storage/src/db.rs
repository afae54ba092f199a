//! Opening the database: connection settings, the single writer, migrations, and
//! whether a missing file may be created ([`OpenMode`]).
//!
//! Reads go through a small pool; every write goes through the one write connection
//! (the `writer` module) and starts with `BEGIN IMMEDIATE` (or is a single statement),
//! so writes queue in-process instead of failing with "database is locked", and a
//! second process waits on the busy timeout rather than erroring.

use sqlx::sqlite::{SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::time::Duration;

use crate::group_commit::PendingEntries;
use crate::location::{Location, UrlError};
use crate::writer::{WriteConn, Writer};

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
    #[error(
        "the SQLite library is version {found}, older than {MINIMUM_SQLITE_VERSION}; versions before it can corrupt a \
         database in WAL mode. Build with the bundled SQLite (the default) or upgrade the system library"
    )]
    SqliteTooOld { found: String },
    #[error(
        "the database `{url}` was written by a newer incidentbot (schema version {found}; this binary knows up to \
         {known}). Run the newer release, or restore a backup taken before the upgrade"
    )]
    NewerSchema { url: String, found: i64, known: i64 },
    #[error("no database at {0}")]
    Missing(String),
    #[error("cannot create the database {path}: the folder {folder} does not exist")]
    NoFolder { path: String, folder: String },
    #[error(transparent)]
    Url(#[from] UrlError),
    #[error("a timeline write was interrupted {0} times in a row; nothing is known to be stored")]
    Interrupted(usize),
}

/// The oldest SQLite library the bot runs on: earlier releases have a documented bug
/// that can corrupt a database in WAL mode, which is the mode the bot uses.
pub const MINIMUM_SQLITE_VERSION: &str = "3.51.3";

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

/// The migrations this binary carries, by version.
pub fn known_schema_versions() -> Vec<i64> {
    MIGRATOR.iter().map(|migration| migration.version).collect()
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// The file a SQLite URL names, or `None` for an in-memory database or a URL that is
/// not SQLite's.
pub fn database_path(url: &str) -> Option<std::path::PathBuf> {
    Location::parse(url).ok()?.path().map(std::path::Path::to_path_buf)
}

/// What to do when the database file is not there, and whether to migrate it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Create the file when it is missing, then migrate: `serve` and `console --db`,
    /// whose first run starts the history.
    Create,
    /// The file must exist ([`StorageError::Missing`] otherwise, and nothing is created);
    /// an older one is migrated: commands that read, such as `export` and `digest`.
    Existing,
    /// The file must exist, and its schema is left as it is: `backup`, so a backup taken
    /// before an upgrade is of the database as the old release left it.
    ExistingAsIs,
}

/// What `incidentbot check` reports about a database without changing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// The version of the SQLite library the binary runs.
    pub sqlite_version: String,
    /// The newest migration applied to the database, if any.
    pub schema_version: Option<i64>,
    /// Migrations this binary would apply at start-up.
    pub pending_migrations: usize,
}

/// How long a connection waits for another process's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A handle to the incidentbot database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    reader: SqlitePool,
    writer: Writer,
    /// Timeline entries waiting to share the next commit.
    pending_entries: std::sync::Arc<PendingEntries>,
    pending_inbox: std::sync::Arc<crate::inbox::PendingInbox>,
}

impl Db {
    /// Opens (creating if needed) the database at `url` and runs pending migrations.
    ///
    /// `url` is a SQLite URL such as `sqlite://incidentbot.db` or `sqlite::memory:`; see
    /// [`Location::parse`].
    pub async fn connect(url: &str) -> Result<Db, StorageError> {
        Db::open(&Location::parse(url)?, OpenMode::Create).await
    }

    /// Opens the existing database at `url` and runs pending migrations; a missing file is
    /// [`StorageError::Missing`], and nothing is created.
    pub async fn connect_existing(url: &str) -> Result<Db, StorageError> {
        Db::open(&Location::parse(url)?, OpenMode::Existing).await
    }

    /// Opens the database at `location` as `mode` says.
    pub async fn open(location: &Location, mode: OpenMode) -> Result<Db, StorageError> {
        let shown = location.to_string();
        let open_err = |source| StorageError::Open { url: shown.clone(), source };
        let options = location.options().foreign_keys(true).busy_timeout(BUSY_TIMEOUT);
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
            migrate(&pool).await?;
            return Ok(Db {
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
        let setup =
            SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await.map_err(|source| {
                if !create && !path.exists() {
                    missing()
                } else {
                    open_err(source)
                }
            })?;
        startup_guards(&setup, &shown).await?;
        if mode != OpenMode::ExistingAsIs {
            migrate(&setup).await?;
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
        Ok(Db { reader, writer, pending_entries: Default::default(), pending_inbox: Default::default() })
    }

    /// A fresh, migrated in-memory database (tests, the console without `--db`).
    pub async fn in_memory() -> Result<Db, StorageError> {
        Db::open(&Location::memory(), OpenMode::Create).await
    }

    /// Looks at an existing database without creating, migrating or writing it, after the
    /// same guards as [`Db::connect`]. A missing file is [`StorageError::Missing`].
    pub async fn inspect(url: &str) -> Result<Inspection, StorageError> {
        Db::inspect_at(&Location::parse(url)?).await
    }

    /// [`Db::inspect`] of a [`Location`].
    pub async fn inspect_at(location: &Location) -> Result<Inspection, StorageError> {
        let shown = location.to_string();
        let open_err = |source| StorageError::Open { url: shown.clone(), source };
        let Some(path) = location.path() else {
            return Err(StorageError::Missing(shown));
        };
        if !path.exists() {
            return Err(StorageError::Missing(path.display().to_string()));
        }
        let options = location.options().read_only(true).busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await.map_err(open_err)?;
        let result = async {
            startup_guards(&pool, &shown).await?;
            let applied = applied_versions(&pool).await?;
            let pending = known_schema_versions().iter().filter(|v| !applied.contains(v)).count();
            Ok(Inspection {
                sqlite_version: sqlite_version(&pool).await?,
                schema_version: applied.iter().copied().max(),
                pending_migrations: pending,
            })
        }
        .await;
        pool.close().await;
        result
    }

    /// The version of the SQLite library this binary runs, from a throwaway in-memory
    /// connection.
    pub async fn library_version() -> Result<String, StorageError> {
        let pool = SqlitePoolOptions::new().max_connections(1).connect("sqlite::memory:").await?;
        let version = sqlite_version(&pool).await;
        pool.close().await;
        version
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

    /// Checks that the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StorageError> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    /// Closes every connection, checkpointing the WAL.
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

async fn migrate(pool: &SqlitePool) -> Result<(), StorageError> {
    MIGRATOR.run(pool).await?;
    Ok(())
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
    let known = known_schema_versions();
    let newest_known = known.iter().copied().max().unwrap_or(0);
    if let Some(unknown) = applied_versions(pool).await?.into_iter().filter(|v| !known.contains(v)).max() {
        return Err(StorageError::NewerSchema { url: url.to_string(), found: unknown, known: newest_known });
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_versions_compare_by_number_not_text() {
        assert!(sqlite_version_is_supported("3.51.3"));
        assert!(sqlite_version_is_supported("3.52.0"));
        assert!(sqlite_version_is_supported("3.100.0"));
        assert!(sqlite_version_is_supported("4.0"));
        assert!(!sqlite_version_is_supported("3.51.2"));
        assert!(!sqlite_version_is_supported("3.9.9"));
        assert!(!sqlite_version_is_supported("3.45.1"));
        assert!(!sqlite_version_is_supported("garbage"));
        assert_eq!(parse_sqlite_version("3.51"), Some((3, 51, 0)));
    }

    #[tokio::test]
    async fn the_bundled_library_passes_the_guard() {
        assert!(sqlite_version_is_supported(&Db::library_version().await.unwrap()));
    }

    #[tokio::test]
    async fn a_database_from_a_newer_release_is_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = Db::connect(&url).await.unwrap();
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
             VALUES (29991231000000, 'from the future', 1, x'00', 0)",
        )
        .execute(&mut *db.writer_conn().await.unwrap())
        .await
        .unwrap();
        db.close().await;
        let err = Db::connect(&url).await.unwrap_err();
        assert!(matches!(err, StorageError::NewerSchema { found: 29991231000000, .. }), "{err}");
        let message = err.to_string();
        assert!(message.contains("newer incidentbot") && message.contains("29991231000000"), "{message}");
        assert!(matches!(Db::inspect(&url).await.unwrap_err(), StorageError::NewerSchema { .. }));
    }

    #[tokio::test]
    async fn inspect_reads_without_creating_or_migrating() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let url = format!("sqlite://{}", path.display());
        assert!(matches!(Db::inspect(&url).await.unwrap_err(), StorageError::Missing(_)));
        assert!(!path.exists());
        Db::connect(&url).await.unwrap().close().await;
        let seen = Db::inspect(&url).await.unwrap();
        assert_eq!(seen.schema_version, known_schema_versions().into_iter().max());
        assert_eq!(seen.pending_migrations, 0);
        assert!(seen.sqlite_version.starts_with('3'));
    }

    #[tokio::test]
    async fn opening_an_existing_database_never_creates_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("typo.db");
        let url = format!("sqlite://{}", path.display());
        let missing = |err: StorageError| matches!(err, StorageError::Missing(p) if p == path.display().to_string());
        assert!(missing(Db::connect_existing(&url).await.unwrap_err()));
        for mode in [OpenMode::Existing, OpenMode::ExistingAsIs] {
            assert!(missing(Db::open(&Location::file(&path), mode).await.unwrap_err()));
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "a file was left behind");
        let nowhere = dir.path().join("nowhere/x.db");
        let err = Db::open(&Location::file(&nowhere), OpenMode::Create).await.unwrap_err();
        assert!(matches!(err, StorageError::NoFolder { .. }), "{err}");
        Db::connect(&url).await.unwrap().close().await;
        Db::connect_existing(&url).await.unwrap().ping().await.unwrap();
    }

    #[tokio::test]
    async fn a_file_named_by_path_may_hold_url_characters() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("we ird?#%20é.db");
        Db::open(&Location::file(&path), OpenMode::Create).await.unwrap().close().await;
        assert!(path.is_file());
        Db::open(&Location::file(&path), OpenMode::Existing).await.unwrap().ping().await.unwrap();
    }

    #[tokio::test]
    async fn an_open_as_is_applies_no_migration() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("old.db").display());
        let db = Db::connect(&url).await.unwrap();
        // As if the newest migration came with a release this database has not met yet.
        sqlx::query("DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)")
            .execute(&mut *db.writer_conn().await.unwrap())
            .await
            .unwrap();
        db.close().await;
        let location = Location::parse(&url).unwrap();
        Db::open(&location, OpenMode::ExistingAsIs).await.unwrap().close().await;
        assert_eq!(Db::inspect(&url).await.unwrap().pending_migrations, 1);
    }

    #[tokio::test]
    async fn a_url_of_another_backend_is_refused_before_anything_is_opened() {
        let err = Db::connect("postgres://bot:hunter2@db/incidents").await.unwrap_err();
        assert!(matches!(err, StorageError::Url(UrlError::PostgresNotSupported)), "{err}");
        assert!(matches!(Db::inspect("mysql://db/x").await.unwrap_err(), StorageError::Url(_)));
    }

    #[tokio::test]
    async fn file_database_runs_in_wal_mode_with_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = Db::connect(&url).await.unwrap();
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(db.reader()).await.unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 =
            sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(&mut *db.writer_conn().await.unwrap()).await.unwrap();
        assert_eq!(fk, 1);
        let timeout: i64 =
            sqlx::query_scalar("PRAGMA busy_timeout").fetch_one(&mut *db.writer_conn().await.unwrap()).await.unwrap();
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
