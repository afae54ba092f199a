//! The one [`Db`] facade over both engines: opening a database as its [`Location`] and
//! [`OpenMode`] say, the errors of the storage layer, and what `check` reports.
//!
//! The typed queries (`incidents`, `timeline`, …) are written once, in SQL both engines
//! run, and compiled for each engine by the `portable` module's macros. What differs per
//! engine lives in `sqlite` and `postgres`: opening, the write path, the version guard,
//! backups and the integrity check.

use crate::location::{Engine, Location, UrlError};
use crate::postgres::PostgresDb;
use crate::sqlite::SqliteDb;

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
        "the PostgreSQL server is version {found}, older than {MINIMUM_POSTGRES_VERSION}, the oldest incidentbot is \
         tested on; upgrade the server"
    )]
    PostgresTooOld { found: String },
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
    #[error("{0} is SQLite's own; this database is on PostgreSQL")]
    SqliteOnly(&'static str),
}

/// The oldest SQLite library the bot runs on: earlier releases have a documented bug
/// that can corrupt a database in WAL mode, which is the mode the bot uses.
pub const MINIMUM_SQLITE_VERSION: &str = "3.51.3";

/// The oldest PostgreSQL server the bot runs on (identity columns, `ON CONFLICT … WHERE`,
/// and the release the test suite runs against are all there).
pub const MINIMUM_POSTGRES_VERSION: &str = "13";

pub use crate::sqlite::{parse_sqlite_version, sqlite_version_is_supported};

/// The SQLite migrations this binary carries, by version.
pub fn known_schema_versions() -> Vec<i64> {
    crate::sqlite::known_schema_versions()
}

/// The file a SQLite URL names, or `None` for an in-memory database or a URL that is
/// not SQLite's.
pub fn database_path(url: &str) -> Option<std::path::PathBuf> {
    Location::parse(url).ok()?.path().map(std::path::Path::to_path_buf)
}

/// What to do when the database is not there, and whether to migrate it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Create the file when it is missing, then migrate: `serve` and `console --db`,
    /// whose first run starts the history. (A Postgres database is created by its
    /// administrator; here it is migrated.)
    Create,
    /// The file must exist ([`StorageError::Missing`] otherwise, and nothing is created);
    /// an older one is migrated: commands that read, such as `export` and `digest`.
    Existing,
    /// The database must exist, and its schema is left as it is: `backup`, so a backup
    /// taken before an upgrade is of the database as the old release left it.
    ExistingAsIs,
}

/// What `incidentbot check` reports about a database without changing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    pub engine: Engine,
    /// The version of the SQLite library the binary runs, or of the Postgres server.
    pub engine_version: String,
    /// The newest migration applied to the database, if any.
    pub schema_version: Option<i64>,
    /// Migrations this binary would apply at start-up.
    pub pending_migrations: usize,
    /// How the connection to a server travels: `Some("TLSv1.3")` when encrypted, `Some("")`
    /// when not, `None` for SQLite (a local file).
    pub encryption: Option<String>,
}

/// A handle to the incidentbot database, on either engine. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    backend: Backend,
}

/// The engine behind a [`Db`]; the `portable` macros match on it.
#[derive(Clone, Debug)]
pub(crate) enum Backend {
    Sqlite(SqliteDb),
    Postgres(PostgresDb),
}

impl Db {
    /// Opens (creating a missing SQLite file) the database at `url` and runs pending
    /// migrations. `url` is `sqlite://…`, `sqlite::memory:` or `postgres://…`; see
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
        let backend = match location.engine() {
            Engine::Sqlite => Backend::Sqlite(SqliteDb::open(location, mode).await?),
            Engine::Postgres => Backend::Postgres(PostgresDb::open(location, mode).await?),
        };
        Ok(Db { backend })
    }

    /// A fresh, migrated in-memory SQLite database (tests, the console without `--db`).
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
        match location.engine() {
            Engine::Sqlite => SqliteDb::inspect(location).await,
            Engine::Postgres => PostgresDb::inspect(location).await,
        }
    }

    /// The version of the SQLite library this binary runs, from a throwaway in-memory
    /// connection.
    pub async fn library_version() -> Result<String, StorageError> {
        crate::sqlite::library_version().await
    }

    /// Which engine this database runs on.
    pub fn engine(&self) -> Engine {
        match self.backend {
            Backend::Sqlite(_) => Engine::Sqlite,
            Backend::Postgres(_) => Engine::Postgres,
        }
    }

    pub(crate) fn backend(&self) -> &Backend {
        &self.backend
    }

    /// The SQLite engine, when this database runs on it.
    pub(crate) fn sqlite(&self) -> Option<&SqliteDb> {
        match &self.backend {
            Backend::Sqlite(engine) => Some(engine),
            Backend::Postgres(_) => None,
        }
    }

    /// Checks that the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StorageError> {
        with_pool!(self, |pool| sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Closes every connection (checkpointing SQLite's WAL).
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(engine) => engine.close().await,
            Backend::Postgres(engine) => engine.close().await,
        }
    }
}

/// Refuses a database that records a migration this binary does not carry (written by a
/// newer release): `known` are this binary's versions for the engine, `applied` the
/// database's.
pub(crate) fn refuse_newer_schema(url: &str, known: &[i64], applied: Vec<i64>) -> Result<(), StorageError> {
    let newest_known = known.iter().copied().max().unwrap_or(0);
    if let Some(unknown) = applied.into_iter().filter(|v| !known.contains(v)).max() {
        return Err(StorageError::NewerSchema { url: url.to_string(), found: unknown, known: newest_known });
    }
    Ok(())
}

#[cfg(test)]
impl Db {
    /// SQLite's read pool, for the tests of SQLite's own behaviour.
    #[allow(clippy::expect_used)]
    pub(crate) fn reader(&self) -> &sqlx::SqlitePool {
        self.sqlite().expect("a SQLite database").reader()
    }

    /// SQLite's write connection, for the tests of SQLite's own behaviour.
    #[allow(clippy::expect_used)]
    pub(crate) async fn writer_conn(&self) -> Result<crate::writer::WriteConn, StorageError> {
        self.sqlite().expect("a SQLite database").writer_conn().await
    }
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
        assert!(seen.engine_version.starts_with('3'));
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
        let err = Db::connect("postgres://bot:hunter2@db/incidents?sslmode=sometimes").await.unwrap_err();
        assert!(matches!(err, StorageError::Url(UrlError::InvalidPostgres { .. })), "{err}");
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
