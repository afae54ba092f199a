//! The WAL checkpointer of a SQLite file database: copies committed pages from the WAL
//! into the database file on its own connection, off the write path.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its threshold (1,000
//! pages), so every few seconds under load one commit also writes the WAL back and
//! fsyncs the database file. That commit may carry an inbox accept, whose request then
//! waits for the checkpoint before it is answered. Here the write connection has the
//! automatic checkpoint off, and this task runs a `PASSIVE` checkpoint every
//! [`INTERVAL`] on a connection of its own: a passive checkpoint never waits for the
//! writer or the readers, and the writer never waits for it (in WAL mode a commit only
//! appends to the log).
//!
//! The task holds a weak reference to the database's handle and stops once the last
//! handle is gone, or when the database is closed; closing the write connection last
//! checkpoints whatever is left.

use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};
use tokio::sync::Notify;

/// How often the WAL is copied back. Short enough that the WAL stays a few megabytes
/// under the heaviest ingestion (about 10,000 entries a second).
pub(crate) const INTERVAL: Duration = Duration::from_millis(500);

/// The running checkpointer; dropping every [`Checkpointer`] clone (with the last
/// database handle) stops it.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    stop: Arc<Notify>,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Checkpointer {
    /// Opens the checkpointer's connection and starts the task.
    pub(crate) async fn start(options: SqliteConnectOptions) -> Result<Arc<Checkpointer>, sqlx::Error> {
        let connection = options.connect().await?;
        let checkpointer = Arc::new(Checkpointer { stop: Arc::new(Notify::new()), task: Default::default() });
        let task = tokio::spawn(run(connection, Arc::downgrade(&checkpointer), checkpointer.stop.clone()));
        *checkpointer.task.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(task);
        Ok(checkpointer)
    }

    /// Stops the task and waits until its connection is closed, so that the write
    /// connection, closed after it, is the last one and checkpoints the rest.
    pub(crate) async fn stop(&self) {
        self.stop.notify_one();
        let task = self.task.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.notify_one();
    }
}

async fn run(mut connection: SqliteConnection, alive: Weak<Checkpointer>, stop: Arc<Notify>) {
    let mut ticker = tokio::time::interval(INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.notified() => break,
            _ = ticker.tick() => {}
        }
        if alive.strong_count() == 0 {
            break;
        }
        // `PASSIVE` copies what it can without waiting; a busy database just means the
        // next tick copies more. An error is logged, not fatal: the WAL keeps every
        // commit either way, it only grows until a checkpoint succeeds.
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&mut connection).await {
            tracing::warn!(%error, "the WAL checkpoint failed; trying again shortly");
        }
    }
    if let Err(error) = connection.close().await {
        tracing::debug!(%error, "closing the checkpoint connection failed");
    }
}
