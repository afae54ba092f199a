//! The write connection. Every write goes through one connection, so writes queue
//! in-process (fairly, first come first served) instead of failing with "database is
//! locked". Write transactions on it go through `SqliteDb::write`, which commits or rolls
//! back as the work decides (`group_commit` still opens its own).
//!
//! For a file database that connection is opened once and held behind a lock for the
//! life of the process. Taking it from a sqlx pool instead would cost every write the
//! pool's check on return (a spawned task and a round trip to the connection's thread),
//! about a third of a one-row commit. Holding it is safe because sqlx's SQLite worker
//! runs commands in order and itself rolls back a transaction whose owner vanished.
//! An in-memory database has only the one connection the reads share, so there it is
//! taken from their pool each time.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::sqlite::SqliteConnection;
use sqlx::{Connection, Sqlite, SqlitePool, Transaction};
use tokio::sync::{Mutex, OwnedMappedMutexGuard, OwnedMutexGuard};

use crate::portable::Decision;
use crate::sqlite::SqliteDb;
use crate::StorageError;

#[derive(Debug, Clone)]
pub(crate) enum Writer {
    /// A file database's write connection; `None` once closed.
    Held(Arc<Mutex<Option<SqliteConnection>>>),
    /// An in-memory database's single pooled connection.
    Pooled(SqlitePool),
}

/// The write connection, taken for one write.
pub(crate) enum WriteConn {
    Held(OwnedMappedMutexGuard<Option<SqliteConnection>, SqliteConnection>),
    Pooled(PoolConnection<Sqlite>),
}

impl Writer {
    pub(crate) fn held(connection: SqliteConnection) -> Writer {
        Writer::Held(Arc::new(Mutex::new(Some(connection))))
    }

    /// Waits for the write connection.
    pub(crate) async fn take(&self) -> Result<WriteConn, StorageError> {
        match self {
            Writer::Held(connection) => OwnedMutexGuard::try_map(connection.clone().lock_owned().await, Option::as_mut)
                .map(WriteConn::Held)
                .map_err(|_| StorageError::Query(sqlx::Error::PoolClosed)),
            Writer::Pooled(pool) => Ok(WriteConn::Pooled(pool.acquire().await?)),
        }
    }

    /// Closes the connection after the writes queued before it; later writes fail.
    pub(crate) async fn close(&self) {
        match self {
            Writer::Held(connection) => {
                if let Some(connection) = connection.lock().await.take() {
                    if let Err(error) = connection.close().await {
                        tracing::warn!(%error, "closing the write connection failed");
                    }
                }
            }
            Writer::Pooled(pool) => pool.close().await,
        }
    }
}

impl WriteConn {
    /// Starts a transaction holding SQLite's write lock from the first statement, so a
    /// second process waits on the busy timeout instead of failing half-way.
    pub(crate) async fn begin_immediate(&mut self) -> Result<Transaction<'_, Sqlite>, StorageError> {
        Ok(Connection::begin_with(&mut **self, "BEGIN IMMEDIATE").await?)
    }
}

impl SqliteDb {
    /// Runs `work` in one write transaction and commits or rolls it back as `work`
    /// decides. An `Err` from `work` rolls it back too (dropping an open sqlx transaction
    /// rolls it back before the connection runs anything else) and is returned as it is.
    ///
    /// It takes the write connection and starts with `BEGIN IMMEDIATE` because of how
    /// SQLite locks. A plain `BEGIN` is deferred: it reads from a snapshot and asks for
    /// the write lock only at its first write, and when another connection committed in
    /// between, SQLite refuses at once with "database is locked" (no busy timeout waits
    /// that out), half-way through the work. `BEGIN IMMEDIATE` takes the write lock with
    /// the first statement, so what `work` reads stays true until it commits: writes of
    /// this process queue for the one connection, and another process waits on the busy
    /// timeout.
    ///
    /// The write connection is let go before this returns, so a caller may read what it
    /// wrote right after: an in-memory database has no other connection to read with.
    pub(crate) async fn write<T>(
        &self,
        work: impl AsyncFnOnce(&mut Transaction<'_, Sqlite>) -> Result<Decision<T>, StorageError>,
    ) -> Result<T, StorageError> {
        let mut writer = self.writer_conn().await?;
        let mut tx = writer.begin_immediate().await?;
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
}

impl Deref for WriteConn {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        match self {
            WriteConn::Held(connection) => connection,
            WriteConn::Pooled(connection) => connection,
        }
    }
}

impl DerefMut for WriteConn {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        match self {
            WriteConn::Held(connection) => connection,
            WriteConn::Pooled(connection) => connection,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::time::Duration;

    use crate::portable::Decision;
    use crate::{Db, StorageError};

    async fn file_db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap();
        (dir, db)
    }

    async fn lease_rows(db: &Db) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM leases").fetch_one(db.reader()).await.unwrap()
    }

    #[tokio::test]
    async fn a_task_cancelled_inside_a_transaction_leaves_the_held_connection_usable() {
        let (_dir, db) = file_db().await;
        let before = lease_rows(&db).await;
        let holder = db.clone();
        let task = tokio::spawn(async move {
            let mut writer = holder.writer_conn().await.unwrap();
            let mut tx = writer.begin_immediate().await.unwrap();
            sqlx::query("INSERT INTO leases (name, holder, acquired_at, expires_at) VALUES ('x', 'cancelled', 0, 0)")
                .execute(&mut *tx)
                .await
                .unwrap();
            std::future::pending::<()>().await;
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        task.abort();
        let _ = task.await;
        // The next write begins a fresh transaction; the cancelled one left nothing behind.
        let mut writer = tokio::time::timeout(Duration::from_secs(5), db.writer_conn()).await.unwrap().unwrap();
        let tx = writer.begin_immediate().await.unwrap();
        tx.commit().await.unwrap();
        drop(writer);
        assert_eq!(lease_rows(&db).await, before);
    }

    async fn insert_lease(tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>, name: &str) {
        sqlx::query("INSERT INTO leases (name, holder, acquired_at, expires_at) VALUES (?1, 'h', 0, 0)")
            .bind(name)
            .execute(&mut **tx)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn write_keeps_what_the_work_commits_and_undoes_a_rollback_or_an_error() {
        // In memory, reads share the write connection: each read below would wait forever
        // if `write` still held it.
        let db = Db::in_memory().await.unwrap();
        db.sqlite()
            .unwrap()
            .write(async |tx| {
                insert_lease(tx, "kept").await;
                Ok(Decision::Commit(()))
            })
            .await
            .unwrap();
        let seen = tokio::time::timeout(Duration::from_secs(5), lease_rows(&db)).await.unwrap();
        assert_eq!(seen, 1);
        let undone = db
            .sqlite()
            .unwrap()
            .write(async |tx| {
                insert_lease(tx, "rolled back").await;
                Ok(Decision::Rollback("refused"))
            })
            .await
            .unwrap();
        assert_eq!(undone, "refused");
        let failed = db
            .sqlite()
            .unwrap()
            .write(async |tx| -> Result<Decision<()>, StorageError> {
                insert_lease(tx, "failed").await;
                Err(StorageError::Corrupt("the work failed".into()))
            })
            .await;
        assert!(matches!(failed, Err(StorageError::Corrupt(_))), "{failed:?}");
        let names: Vec<String> = tokio::time::timeout(
            Duration::from_secs(5),
            sqlx::query_scalar("SELECT name FROM leases ORDER BY name").fetch_all(db.reader()),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(names, ["kept"]);
    }

    #[tokio::test]
    async fn a_task_cancelled_inside_write_leaves_nothing_and_the_connection_usable() {
        let (_dir, db) = file_db().await;
        let holder = db.clone();
        let task = tokio::spawn(async move {
            holder
                .sqlite()
                .unwrap()
                .write(async |tx| -> Result<Decision<()>, StorageError> {
                    insert_lease(tx, "cancelled").await;
                    std::future::pending().await
                })
                .await
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        task.abort();
        let _ = task.await;
        let next = db.sqlite().unwrap().write(async |tx| {
            insert_lease(tx, "next").await;
            Ok(Decision::Commit(()))
        });
        tokio::time::timeout(Duration::from_secs(5), next).await.unwrap().unwrap();
        let names: Vec<String> =
            sqlx::query_scalar("SELECT name FROM leases ORDER BY name").fetch_all(db.reader()).await.unwrap();
        assert_eq!(names, ["next"]);
    }

    /// Compiled, never run: the write methods stay `Send`, so the bot can run them on
    /// spawned tasks (`write` takes an async closure, whose future is checked here).
    #[allow(dead_code)]
    fn write_methods_are_send(
        db: &Db,
        incident: &crate::NewIncident,
        item: &crate::NewActionItem,
        entry: &crate::NewEntry,
    ) {
        fn send<T: Send>(_: T) {}
        send(db.declare_incident(incident, |id| format!("inc-{id}"), |_| String::new()));
        send(db.add_action(item, entry));
        send(db.release_lease("active", "a"));
    }

    #[tokio::test]
    async fn writes_after_close_fail_instead_of_hanging() {
        let (_dir, db) = file_db().await;
        db.close().await;
        assert!(db.writer_conn().await.is_err());
    }
}
