//! The write connection. Every write goes through one connection, so writes queue
//! in-process (fairly, first come first served) instead of failing with "database is
//! locked".
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

    use crate::Db;

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

    #[tokio::test]
    async fn writes_after_close_fail_instead_of_hanging() {
        let (_dir, db) = file_db().await;
        db.close().await;
        assert!(db.writer_conn().await.is_err());
    }
}
