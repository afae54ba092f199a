//! Fresh databases for tests, on either engine (feature `test-support`).
//!
//! [`TestDatabase::sqlite`] is a new file in the system's temporary folder;
//! [`TestDatabase::postgres`] is a new database, uniquely named `ibt_…`, created on the
//! server `TEST_POSTGRES_URL` names (`.ci/run` starts one and sets it). Without that
//! variable the Postgres half of a suite is skipped, with one line on stderr saying how
//! to run it, except under `CI=true`, where it fails: CI never skips it silently.
//! Dropping a [`TestDatabase`] removes the database again; one a killed test run leaves
//! behind is removed by `.ci/setup.d/10-postgres.sh` on its next run.
//!
//! The end-to-end suites run on the engine `INCIDENTBOT_TEST_ENGINE` names (`sqlite`, the
//! default, or `postgres`): [`TestDatabase::for_suite`]. `.ci/run` runs them once more
//! with `postgres`.

use std::io::Write as _;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::location::Engine;
use crate::{Db, StorageError};

/// A fresh, empty database of one engine, and how to reach it.
#[derive(Debug)]
pub struct TestDatabase {
    /// The URL to open it with (`sqlite://…` or `postgres://…`).
    pub url: String,
    pub engine: Engine,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    File(std::path::PathBuf),
    Database { server: String, name: String },
}

static NEXT: AtomicU64 = AtomicU64::new(0);

/// `pid_nanos_n`, unique across the processes of one machine.
fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{}_{}_{}", std::process::id(), nanos % 1_000_000_000_000, NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Whether the Postgres half must run: `CI` is `true` (or `1`).
fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The Postgres server the tests use, or `None` (after saying so once) outside CI when
/// none is set. Panics under CI when none is set.
pub fn postgres_server() -> Option<String> {
    match std::env::var("TEST_POSTGRES_URL").ok().filter(|v| !v.trim().is_empty()) {
        Some(url) => Some(url),
        None if required() => {
            panic!("CI=true but TEST_POSTGRES_URL is not set: the Postgres half of the suite cannot be skipped in CI")
        }
        None => {
            static SAID: Once = Once::new();
            SAID.call_once(|| {
                // Straight to stderr: the test harness would capture a `eprintln!`.
                let _ = writeln!(
                    std::io::stderr(),
                    "postgres tests skipped: TEST_POSTGRES_URL is not set (run .ci/run, or set \
                     TEST_POSTGRES_URL=postgres://USER:PASSWORD@HOST/DB for a role that may create databases)"
                );
            });
            None
        }
    }
}

impl TestDatabase {
    /// A fresh database of `engine`; `None` when the Postgres half is skipped.
    pub async fn new(engine: Engine) -> Option<TestDatabase> {
        match engine {
            Engine::Sqlite => Some(TestDatabase::sqlite()),
            Engine::Postgres => TestDatabase::postgres().await,
        }
    }

    /// A new SQLite file (not created yet: opening it creates it).
    pub fn sqlite() -> TestDatabase {
        let path = std::env::temp_dir().join(format!("incidentbot-test-{}.db", unique_suffix()));
        TestDatabase {
            url: format!("sqlite://{}", path.display()),
            engine: Engine::Sqlite,
            cleanup: Cleanup::File(path),
        }
    }

    /// A new, empty Postgres database on the `TEST_POSTGRES_URL` server; `None` when the
    /// Postgres half is skipped. Panics when the server cannot be reached.
    #[allow(clippy::panic)]
    pub async fn postgres() -> Option<TestDatabase> {
        let server = postgres_server()?;
        match TestDatabase::postgres_on(&server).await {
            Ok(database) => Some(database),
            Err(error) => panic!("cannot create a test database on TEST_POSTGRES_URL: {error}"),
        }
    }

    /// A new, empty database, uniquely named `ibt_…`, on the Postgres server `server`
    /// (a URL of a role that may create databases), dropped again with the value.
    pub async fn postgres_on(server: &str) -> Result<TestDatabase, StorageError> {
        let name = format!("ibt_{}", unique_suffix());
        let mut admin = PgConnectOptions::from_str(server)?.connect().await?;
        // A name of letters, digits and `_` only: nothing here comes from outside.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await?;
        admin.close().await?;
        let url = with_database(server, &name);
        Ok(TestDatabase {
            url,
            engine: Engine::Postgres,
            cleanup: Cleanup::Database { server: server.to_string(), name },
        })
    }

    /// Opens (and migrates) it.
    pub async fn open(&self) -> Result<Db, StorageError> {
        Db::connect(&self.url).await
    }

    /// A fresh database of the engine the end-to-end suites run on
    /// (`INCIDENTBOT_TEST_ENGINE`: `sqlite`, the default, or `postgres`). Asked for
    /// Postgres by name, a missing `TEST_POSTGRES_URL` is a failure, not a skip.
    #[allow(clippy::panic)]
    pub async fn for_suite() -> TestDatabase {
        match suite_engine() {
            Engine::Sqlite => TestDatabase::sqlite(),
            Engine::Postgres => match TestDatabase::postgres().await {
                Some(database) => database,
                None => panic!("INCIDENTBOT_TEST_ENGINE=postgres needs TEST_POSTGRES_URL"),
            },
        }
    }
}

/// The engine of the end-to-end suites: `INCIDENTBOT_TEST_ENGINE`, SQLite by default.
#[allow(clippy::panic)]
pub fn suite_engine() -> Engine {
    match std::env::var("INCIDENTBOT_TEST_ENGINE").ok().as_deref().map(str::trim) {
        None | Some("") | Some("sqlite") => Engine::Sqlite,
        Some("postgres") => Engine::Postgres,
        Some(other) => panic!("INCIDENTBOT_TEST_ENGINE: `{other}` is neither sqlite nor postgres"),
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Database { server, name } => {
                // Drop may run inside a runtime, which cannot block on another: a thread
                // of its own runs the statement.
                let (server, name) = (server.clone(), name.clone());
                let dropped = std::thread::spawn(move || {
                    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                        return;
                    };
                    runtime.block_on(async {
                        let Ok(options) = PgConnectOptions::from_str(&server) else { return };
                        if let Ok(mut admin) = options.connect().await {
                            let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                            let _ = sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&mut admin).await;
                            let _ = admin.close().await;
                        }
                    });
                });
                let _ = dropped.join();
            }
        }
    }
}

/// `server` (a Postgres URL) with its database replaced by `name`.
pub fn with_database(server: &str, name: &str) -> String {
    let (base, query) = server.split_once('?').map_or((server, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_of_a_url_is_replaced() {
        assert_eq!(with_database("postgres://u:p@h:5432/db", "x"), "postgres://u:p@h:5432/x");
        assert_eq!(with_database("postgres://u:p@h/db?sslmode=disable", "x"), "postgres://u:p@h/x?sslmode=disable");
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }
}
