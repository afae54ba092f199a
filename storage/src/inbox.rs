//! The durable inbox: inbound requests that are answered before their work is done,
//! committed before the answer goes out, so a crash after the answer loses nothing.
//!
//! How a surface uses it (any [`EventSource`]: Slack, Discord, an alert source):
//! 1. [`Db::inbox_accept`] the request, parsed far enough to run again, *before*
//!    answering the platform. A second delivery of the same source id is recognised.
//! 2. Process it. Everything it does must be idempotent by its source id.
//! 3. [`Db::inbox_done`] once its work and its reply are done.
//! 4. At start-up and on taking over the lease, [`Db::inbox_unfinished`] gives the rows
//!    to run again, oldest first. [`Db::inbox_waiting_count`] is what `/healthz` shows.

use chrono::{DateTime, Utc};
use std::sync::{Mutex, PoisonError};

use tokio::sync::oneshot;

use crate::model::{ChannelId, EventSource, SourceId};
use crate::portable::{Decision, PortableRow};
use crate::time::{from_millis, from_millis_opt, to_millis};
use crate::{Db, StorageError};

/// One inbound request, as the adapter parsed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxRequest {
    pub source_id: SourceId,
    pub source: EventSource,
    /// What it is, in the adapter's words (`command`, `button`, `form`, `alert`).
    pub kind: String,
    /// Who sent it (a platform user id, or a system actor's stored id).
    pub user: String,
    /// Where it was sent from (empty when it has no channel, like an alert).
    pub channel_id: ChannelId,
    /// The adapter's own serialised form of the request: enough to run it again.
    pub request: String,
    /// The platform's reply path: a Slack `response_url`, a Discord interaction token.
    pub reply_handle: Option<String>,
    pub received_at: DateTime<Utc>,
}

/// A stored inbox row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxRow {
    pub request: InboxRequest,
    pub done_at: Option<DateTime<Utc>>,
}

fn row_from(row: &impl PortableRow) -> Result<InboxRow, StorageError> {
    Ok(InboxRow {
        request: InboxRequest {
            source_id: SourceId::new(row.col::<String>("source_id")?),
            source: EventSource::from_stored(row.col::<String>("source")?),
            kind: row.col("kind")?,
            user: row.col("user_id")?,
            channel_id: ChannelId::new(row.col::<String>("channel_id")?),
            request: row.col("request")?,
            reply_handle: row.col("reply_handle")?,
            received_at: from_millis(row.col("received_at")?)?,
        },
        done_at: from_millis_opt(row.col("done_at")?)?,
    })
}

/// `SELECT <every column> FROM inbox <suffix>`, as one literal.
macro_rules! select_inbox {
    ($suffix:literal) => {
        concat!(
            "SELECT source_id, source, kind, user_id, channel_id, request, reply_handle, received_at, done_at FROM inbox ",
            $suffix
        )
    };
}

/// One write waiting for the next group: an accept or a done mark.
#[derive(Debug, Clone)]
enum InboxWrite {
    Accept(InboxRequest),
    Done(SourceId, i64),
}

struct PendingWrite {
    write: InboxWrite,
    reply: oneshot::Sender<Result<bool, StorageError>>,
}

/// Inbox writes waiting for the next leader (see [`Db::inbox_write`]).
#[derive(Default)]
pub(crate) struct PendingInbox(Mutex<Vec<PendingWrite>>);

impl std::fmt::Debug for PendingInbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingInbox").finish_non_exhaustive()
    }
}

impl PendingInbox {
    fn push(&self, pending: PendingWrite) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).push(pending);
    }

    fn take(&self) -> Vec<PendingWrite> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// How many times a caller queues again after the leader carrying its write vanished.
const REQUEUES: usize = 5;

/// `apply_inbox_write!(tx, write)`: one accept or done mark, in SQL both engines run;
/// `Ok(true)` when it changed a row. A macro so one body serves both engines'
/// transactions.
macro_rules! apply_inbox_write {
    ($tx:expr, $write:expr) => {{
        let write: &InboxWrite = $write;
        let done = match write {
            InboxWrite::Accept(request) => sqlx::query(
                "INSERT INTO inbox (source_id, source, kind, user_id, channel_id, request, reply_handle, received_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            )
            .bind(request.source_id.as_str())
            .bind(request.source.as_str())
            .bind(&request.kind)
            .bind(&request.user)
            .bind(request.channel_id.as_str())
            .bind(&request.request)
            .bind(&request.reply_handle)
            .bind(to_millis(request.received_at))
            .execute(&mut **$tx)
            .await,
            InboxWrite::Done(source_id, at) => {
                sqlx::query("UPDATE inbox SET done_at = $1 WHERE source_id = $2 AND done_at IS NULL")
                    .bind(at)
                    .bind(source_id.as_str())
                    .execute(&mut **$tx)
                    .await
            }
        };
        done.map(|done| done.rows_affected() > 0)
    }};
}

impl Db {
    /// Commits `request` to the inbox. False when its source id is already there (a
    /// second delivery): the caller answers it without processing it again.
    pub async fn inbox_accept(&self, request: &InboxRequest) -> Result<bool, StorageError> {
        self.inbox_write(InboxWrite::Accept(request.clone())).await
    }

    /// Marks a request done: its work and its reply happened. False when it was not in
    /// the inbox or was already done.
    pub async fn inbox_done(&self, source_id: &SourceId, at: DateTime<Utc>) -> Result<bool, StorageError> {
        self.inbox_write(InboxWrite::Done(source_id.clone(), to_millis(at))).await
    }

    /// Group commit for the inbox: an accept sits on the path of every acknowledgement,
    /// so concurrent accepts and done marks share one commit. Each caller queues its
    /// write and waits for the write connection through [`Db::write`]; whoever gets it
    /// writes everything queued so far in that one transaction, and every caller gets
    /// its own answer once it is committed. A leader whose batch fails returns the error;
    /// the callers it carried queue again.
    ///
    /// SQLite only: it has one writer to share. On Postgres each write is its own
    /// transaction on the pool, which already commits concurrent ones side by side.
    async fn inbox_write(&self, write: InboxWrite) -> Result<bool, StorageError> {
        let sqlite = match self.backend() {
            crate::db::Backend::Sqlite(engine) => engine,
            crate::db::Backend::Postgres(engine) => {
                return engine.write(async |tx| Ok(Decision::Commit(apply_inbox_write!(tx, &write)?))).await;
            }
        };
        for _ in 0..REQUEUES {
            let (reply, mut answer) = oneshot::channel();
            sqlite.pending_inbox().push(PendingWrite { write: write.clone(), reply });
            tokio::select! {
                biased;
                carried = &mut answer => match carried {
                    Ok(result) => return result,
                    Err(_) => continue,
                },
                led = sqlite.write(async |tx| {
                    let batch = sqlite.pending_inbox().take();
                    let mut results = Vec::with_capacity(batch.len());
                    for pending in &batch {
                        results.push(apply_inbox_write!(tx, &pending.write)?);
                    }
                    Ok(Decision::Commit((batch, results)))
                }) => {
                    let (batch, results) = led?;
                    for (pending, result) in batch.into_iter().zip(results) {
                        let _ = pending.reply.send(Ok(result));
                    }
                }
            }
            // We led: our write was in our batch, or in an earlier leader's.
            match answer.await {
                Ok(result) => return result,
                Err(_) => continue,
            }
        }
        Err(StorageError::Interrupted(REQUEUES))
    }

    /// The row for `source_id`, done or not.
    pub async fn inbox_row(&self, source_id: &SourceId) -> Result<Option<InboxRow>, StorageError> {
        with_pool!(self, |pool| {
            sqlx::query(select_inbox!("WHERE source_id = $1"))
                .bind(source_id.as_str())
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(row_from)
                .transpose()
        })
    }

    /// The requests from `source` not yet done, oldest first: what a starting (or
    /// taking-over) copy runs again.
    pub async fn inbox_unfinished(&self, source: &EventSource) -> Result<Vec<InboxRow>, StorageError> {
        with_pool!(self, |pool| {
            sqlx::query(select_inbox!("WHERE source = $1 AND done_at IS NULL ORDER BY received_at, source_id"))
                .bind(source.as_str())
                .fetch_all(pool)
                .await?
                .iter()
                .map(row_from)
                .collect()
        })
    }

    /// How many requests, of any source, were received before `before` and are not done.
    pub async fn inbox_waiting_count(&self, before: DateTime<Utc>) -> Result<i64, StorageError> {
        with_pool!(self, |pool| {
            Ok(sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE done_at IS NULL AND received_at < $1")
                .bind(to_millis(before))
                .fetch_one(pool)
                .await?)
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn request(id: &str, at: DateTime<Utc>) -> InboxRequest {
        InboxRequest {
            source_id: SourceId::new(id),
            source: EventSource::slack_requests(),
            kind: "command".into(),
            user: "U1".into(),
            channel_id: ChannelId::new("C1"),
            request: r#"{"text":"declare Database is down"}"#.into(),
            reply_handle: Some("https://hooks.example/1".into()),
            received_at: at,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_accepts_share_commits_and_each_gets_its_own_answer() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("inbox.db").display())).await.unwrap();
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut tasks = Vec::new();
        for n in 0..60 {
            let db = db.clone();
            // Every fifth is a second delivery of an earlier id.
            let id = if n % 5 == 4 { format!("r{}", n - 1) } else { format!("r{n}") };
            tasks.push(tokio::spawn(async move { db.inbox_accept(&request(&id, t0)).await.unwrap() }));
        }
        let mut accepted = 0;
        for task in tasks {
            accepted += usize::from(task.await.unwrap());
        }
        assert_eq!(accepted, 48);
        assert_eq!(db.inbox_unfinished(&EventSource::slack_requests()).await.unwrap().len(), 48);
        db.close().await;
    }

    #[tokio::test]
    async fn accepts_once_replays_in_order_and_counts_the_waiting() {
        let db = Db::in_memory().await.unwrap();
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let later = t0 + chrono::Duration::seconds(5);
        assert!(db.inbox_accept(&request("b", later)).await.unwrap());
        assert!(db.inbox_accept(&request("a", t0)).await.unwrap());
        assert!(!db.inbox_accept(&request("a", t0)).await.unwrap(), "a second delivery is recognised");
        let source = EventSource::slack_requests();
        let waiting: Vec<_> =
            db.inbox_unfinished(&source).await.unwrap().into_iter().map(|r| r.request.source_id).collect();
        assert_eq!(waiting, vec![SourceId::new("a"), SourceId::new("b")]);
        assert_eq!(db.inbox_unfinished(&EventSource::slack()).await.unwrap().len(), 0, "other sources are apart");
        assert_eq!(db.inbox_waiting_count(later).await.unwrap(), 1);
        assert!(db.inbox_done(&SourceId::new("a"), later).await.unwrap());
        assert!(!db.inbox_done(&SourceId::new("a"), later).await.unwrap());
        assert_eq!(db.inbox_waiting_count(later).await.unwrap(), 0);
        let row = db.inbox_row(&SourceId::new("a")).await.unwrap().unwrap();
        assert_eq!(row.done_at, Some(later));
        assert_eq!(row.request, request("a", t0));
    }
}
