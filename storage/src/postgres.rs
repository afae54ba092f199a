//! The PostgreSQL engine: a connection pool (no single writer: the server orders
//! concurrent writes, and the same unique constraints and `ON CONFLICT` make them
//! idempotent), its embedded migrations (`migrations/postgres`), and its start-up
//! version guards.
//!
//! Write transactions run at PostgreSQL's default isolation, READ COMMITTED. The shared
//! queries are written for it: an idempotent insert is `ON CONFLICT DO NOTHING`, which
//! waits for a concurrent insert of the same key and then does nothing, and a change
//! to an incident is an `UPDATE … WHERE revision = $n`, which re-checks the revision
//! once the row's lock is free. So no write needs a retry loop.

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions, Postgres};
use sqlx::Transaction;

use crate::db::{Inspection, OpenMode, MINIMUM_POSTGRES_VERSION};
use crate::location::{Engine, Location};
use crate::portable::Decision;
use crate::StorageError;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// How many connections one copy of the bot keeps at most.
const MAX_CONNECTIONS: u32 = 10;

/// How long a query waits for a free connection before failing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The Postgres migrations this binary carries, by version.
pub fn known_schema_versions() -> Vec<i64> {
    MIGRATOR.iter().map(|migration| migration.version).collect()
}

/// A PostgreSQL database: one pool for reads and writes alike.
#[derive(Clone, Debug)]
pub(crate) struct PostgresDb {
    pool: PgPool,
    /// The URL without its password, for the commands the bot tells its operator to run.
    url_without_password: String,
}

impl PostgresDb {
    /// Connects, checks the server and the schema, and migrates unless `mode` is
    /// [`OpenMode::ExistingAsIs`]. The database itself must exist: creating one is its
    /// administrator's job (a role that may create databases can still do it with
    /// `createdb`).
    pub(crate) async fn open(location: &Location, mode: OpenMode) -> Result<PostgresDb, StorageError> {
        let pool = connect(location, MAX_CONNECTIONS).await?;
        let result = async {
            startup_guards(&pool, &location.to_string()).await?;
            if mode != OpenMode::ExistingAsIs {
                // sqlx holds an advisory lock while it migrates, so two copies starting
                // together apply each migration once.
                MIGRATOR.run(&pool).await?;
            }
            Ok(())
        }
        .await;
        if let Err(error) = result {
            pool.close().await;
            return Err(error);
        }
        let url_without_password = location.postgres_url_without_password().unwrap_or_default().to_string();
        Ok(PostgresDb { pool, url_without_password })
    }

    pub(crate) async fn inspect(location: &Location) -> Result<Inspection, StorageError> {
        let pool = connect(location, 1).await?;
        let result = async {
            startup_guards(&pool, &location.to_string()).await?;
            let applied = applied_versions(&pool).await?;
            let pending = known_schema_versions().iter().filter(|v| !applied.contains(v)).count();
            Ok(Inspection {
                engine: Engine::Postgres,
                engine_version: server_version(&pool).await?,
                schema_version: applied.iter().copied().max(),
                pending_migrations: pending,
                encryption: Some(connection_encryption(&pool).await?),
            })
        }
        .await;
        pool.close().await;
        result
    }

    pub(crate) fn url_without_password(&self) -> &str {
        &self.url_without_password
    }

    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Runs `work` in one transaction and commits or rolls it back as `work` decides.
    /// An `Err` from `work` rolls it back too (a dropped sqlx transaction rolls back).
    pub(crate) async fn write<T>(
        &self,
        work: impl AsyncFnOnce(&mut Transaction<'_, Postgres>) -> Result<Decision<T>, StorageError>,
    ) -> Result<T, StorageError> {
        let mut tx = self.pool.begin().await?;
        match work(&mut tx).await? {
            Decision::Commit(value) => {
                tx.commit().await?;
                Ok(value)
            }
            Decision::Rollback(value) => {
                tx.rollback().await?;
                Ok(value)
            }
        }
    }

    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }
}

async fn connect(location: &Location, max_connections: u32) -> Result<PgPool, StorageError> {
    let shown = location.to_string();
    let options = location
        .postgres_options()
        .ok_or(StorageError::Corrupt("not a Postgres location".into()))?
        // The server's NOTICEs ("relation … already exists, skipping" at every start)
        // are not the operator's business; warnings still reach the log.
        .options([("client_min_messages", "warning")]);
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
        .map_err(|source| StorageError::Open { url: shown, source })
}

/// The server's version, e.g. `15.18 (Debian 15.18-0+deb12u1)`.
async fn server_version(pool: &PgPool) -> Result<String, StorageError> {
    Ok(sqlx::query_scalar("SHOW server_version").fetch_one(pool).await?)
}

/// The TLS version this connection runs (`TLSv1.3`), or `""` when it is not encrypted:
/// the server's own view of the connection, so it shows what `sslmode` really gave.
async fn connection_encryption(pool: &PgPool) -> Result<String, StorageError> {
    let version: Option<String> =
        sqlx::query_scalar("SELECT CASE WHEN ssl THEN version END FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_optional(pool)
            .await?
            .flatten();
    Ok(version.unwrap_or_default())
}

/// The migration versions recorded in the database (none for a new database).
async fn applied_versions(pool: &PgPool) -> Result<Vec<i64>, StorageError> {
    let has_table: bool =
        sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL").fetch_one(pool).await?;
    if !has_table {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_scalar("SELECT version FROM _sqlx_migrations").fetch_all(pool).await?)
}

/// Refuses a server older than [`MINIMUM_POSTGRES_VERSION`], and a database that records
/// a migration this binary does not carry, before anything is migrated or written.
async fn startup_guards(pool: &PgPool, url: &str) -> Result<(), StorageError> {
    let number: String = sqlx::query_scalar("SHOW server_version_num").fetch_one(pool).await?;
    let major = number.trim().parse::<u32>().map(|n| n / 10_000).unwrap_or(0);
    let minimum: u32 = MINIMUM_POSTGRES_VERSION.parse().unwrap_or(0);
    if major < minimum {
        return Err(StorageError::PostgresTooOld { found: server_version(pool).await? });
    }
    crate::db::refuse_newer_schema(url, &known_schema_versions(), applied_versions(pool).await?)
}
