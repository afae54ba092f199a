//! Group commit for timeline entries: concurrent writers share one transaction.
//!
//! Every commit waits for the disk (`synchronous=FULL`), so one commit per entry caps
//! timeline capture at the disk's sync rate. Here each caller queues its entry and then
//! waits for the single write connection. Whoever gets it (the leader) writes every
//! entry queued so far in one transaction and hands each caller its own result. A caller
//! alone writes just its entry with no extra hop; under load, one sync carries everything
//! that arrived while the previous one was running.
//!
//! A batch is one multi-row `INSERT … ON CONFLICT DO NOTHING RETURNING source_id`: one
//! statement is its own transaction, so the whole batch costs one round trip to
//! SQLite's thread and one commit, where a `BEGIN`, an `INSERT` per entry and a `COMMIT`
//! each cost a round trip (under load, waking that thread and then the waiting task
//! again for every statement took more CPU than the inserts themselves). The returned
//! source ids say which entries were new. Only a batch with an entry that may
//! acknowledge its incident needs a transaction, to update the incident with it.
//!
//! Each entry keeps its own outcome: a batch that fails is rolled back and its entries
//! are written one by one, so one bad entry fails only its own caller. A leader whose
//! task is cancelled mid-batch leaves its transaction rolled back; the callers it was
//! carrying see their answer dropped and queue again (an entry it had already committed
//! then comes back as a duplicate, which is still stored once).

use std::sync::{Mutex, OnceLock, PoisonError};

use sqlx::sqlite::{SqliteArguments, SqliteConnection};
use sqlx::{Connection, Sqlite};
use tokio::sync::oneshot;

use crate::db::Backend;
use crate::model::{NewEntry, Saved, SourceId};
use crate::portable::Decision;
use crate::time::to_millis;
use crate::{Db, StorageError};

/// How many times a caller queues again after the leader carrying its entry vanished.
const REQUEUES: usize = 5;

/// The most entries one grouped `INSERT` carries: seven parameters each, far below
/// SQLite's limit of 32,766. A larger batch is written as several statements.
const MAX_GROUP: usize = 64;

/// Entries waiting for the next leader.
#[derive(Default)]
pub(crate) struct PendingEntries(Mutex<Vec<Pending>>);

impl std::fmt::Debug for PendingEntries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingEntries").finish_non_exhaustive()
    }
}

impl PendingEntries {
    fn push(&self, pending: Pending) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).push(pending);
    }

    fn take(&self) -> Vec<Pending> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

struct Pending {
    entry: NewEntry,
    acknowledges: bool,
    reply: oneshot::Sender<Result<Saved, StorageError>>,
}

impl Db {
    /// Stores a timeline entry once per source id. When `acknowledges` is set and the
    /// incident is open with no acknowledgement yet, the entry's time becomes it, in the
    /// same transaction. Concurrent calls share commits (see the module docs).
    ///
    /// On Postgres there is no single writer to share: each entry is its own transaction
    /// on the pool, and the server runs them side by side. An entry that cannot
    /// acknowledge (most of them) is one statement in autocommit: one round trip to the
    /// server, where `BEGIN`, `INSERT` and `COMMIT` would be three.
    pub async fn add_entry(&self, entry: &NewEntry, acknowledges: bool) -> Result<Saved, StorageError> {
        let sqlite = match self.backend() {
            Backend::Sqlite(sqlite) => sqlite,
            Backend::Postgres(postgres) if !acknowledges => {
                let written = insert_entry!(@on postgres.pool(), entry)?;
                return Ok(if written { Saved::Written } else { Saved::Duplicate });
            }
            Backend::Postgres(_) => {
                return in_transaction!(self, |tx| {
                    if !insert_entry!(tx, entry)? {
                        return Ok(Decision::Rollback(Saved::Duplicate));
                    }
                    acknowledge_by_entry!(tx, entry)?;
                    Ok(Decision::Commit(Saved::Written))
                });
            }
        };
        for _ in 0..REQUEUES {
            let (reply, mut answer) = oneshot::channel();
            sqlite.pending_entries().push(Pending { entry: entry.clone(), acknowledges, reply });
            tokio::select! {
                // A leader may write our entry while we wait for the connection.
                biased;
                carried = &mut answer => match carried {
                    Ok(result) => return result,
                    Err(_) => continue,
                },
                writer = sqlite.writer_conn() => {
                    let mut writer = writer?;
                    write_batch(&mut writer, sqlite.pending_entries().take()).await;
                }
            }
            // We led: our entry was in our batch, or in an earlier leader's that finished.
            match answer.await {
                Ok(result) => return result,
                Err(_) => continue,
            }
        }
        Err(StorageError::Interrupted(REQUEUES))
    }
}

/// Writes `batch` and answers every caller in it.
async fn write_batch(conn: &mut SqliteConnection, mut batch: Vec<Pending>) {
    while batch.len() > 1 {
        let rest = batch.split_off(batch.len().min(MAX_GROUP));
        let group = std::mem::replace(&mut batch, rest);
        match write_together(conn, &group).await {
            Ok(results) => {
                for (pending, saved) in group.into_iter().zip(results) {
                    let _ = pending.reply.send(Ok(saved));
                }
            }
            Err(error) => {
                tracing::warn!(%error, entries = group.len(), "a grouped timeline write failed; writing one by one");
                write_each(conn, group).await;
            }
        }
    }
    write_each(conn, batch).await;
}

/// Writes each entry of `batch` on its own.
async fn write_each(conn: &mut SqliteConnection, batch: Vec<Pending>) {
    for pending in batch {
        let result = write_one(conn, &pending.entry, pending.acknowledges).await;
        // A caller that stopped waiting no longer needs its answer.
        let _ = pending.reply.send(result);
    }
}

/// Every entry of `group` (at most [`MAX_GROUP`]) in one transaction; all or nothing.
async fn write_together(conn: &mut SqliteConnection, group: &[Pending]) -> Result<Vec<Saved>, StorageError> {
    if !group.iter().any(|pending| pending.acknowledges) {
        // One statement is its own transaction (see `write_one`).
        let inserted = grouped_insert_statement(group).fetch_all(&mut *conn).await?;
        return Ok(outcomes(group, inserted));
    }
    let mut tx = Connection::begin_with(&mut *conn, "BEGIN IMMEDIATE").await?;
    let inserted = grouped_insert_statement(group).fetch_all(&mut *tx).await?;
    let results = outcomes(group, inserted);
    // In the group's order, so the earliest acknowledging entry written wins, as it
    // would written one by one (the update only applies while there is none).
    for (pending, saved) in group.iter().zip(&results) {
        if pending.acknowledges && *saved == Saved::Written {
            acknowledge_statement(&pending.entry).execute(&mut *tx).await?;
        }
    }
    tx.commit().await?;
    Ok(results)
}

/// Which entries of `group` the grouped insert wrote, from the source ids it returned
/// (in no particular order). An entry whose source id is repeated later in the group
/// was written by its first occurrence, as it would be one by one; the later ones are
/// duplicates.
fn outcomes(group: &[Pending], mut inserted: Vec<SourceId>) -> Vec<Saved> {
    group
        .iter()
        .map(|pending| match inserted.iter().position(|id| *id == pending.entry.source_id) {
            Some(found) => {
                inserted.swap_remove(found);
                Saved::Written
            }
            None => Saved::Duplicate,
        })
        .collect()
}

/// The grouped `INSERT` for `rows` entries (a power of two up to [`MAX_GROUP`]).
fn grouped_insert_sql(rows: usize) -> &'static str {
    static SQL: OnceLock<Vec<String>> = OnceLock::new();
    let statements = SQL.get_or_init(|| {
        std::iter::successors(Some(1_usize), |rows| Some(rows * 2))
            .take_while(|rows| *rows <= MAX_GROUP)
            .map(|rows| {
                let values = vec!["(?, ?, ?, ?, ?, ?, ?)"; rows].join(", ");
                format!(
                    "INSERT INTO timeline_entries (incident_id, source_id, at, kind, author, text, is_key)
                     VALUES {values}
                     ON CONFLICT (source_id) DO NOTHING
                     RETURNING source_id"
                )
            })
            .collect()
    });
    // `rows` is a power of two no larger than MAX_GROUP, so its log is an index.
    let index = rows.trailing_zeros() as usize;
    statements.get(index).or(statements.last()).map_or("", String::as_str)
}

/// `INSERT … ON CONFLICT (source_id) DO NOTHING RETURNING source_id` for every entry
/// of `group`. The row count is rounded up to a power of two by repeating the last
/// entry, so that at most seven statement shapes exist (sqlx keeps each one prepared);
/// a repeat conflicts with the row just inserted, or with the stored one, and so is
/// neither written nor returned.
fn grouped_insert_statement(group: &[Pending]) -> sqlx::query::QueryScalar<'_, Sqlite, SourceId, SqliteArguments> {
    let rows = group.len().next_power_of_two().min(MAX_GROUP);
    let mut query = sqlx::query_scalar(grouped_insert_sql(rows));
    for row in 0..rows {
        let Some(pending) = group.get(row).or(group.last()) else {
            break;
        };
        let entry = &pending.entry;
        query = query
            .bind(entry.incident_id)
            .bind(&entry.source_id)
            .bind(to_millis(entry.at))
            .bind(entry.kind.as_str())
            .bind(&entry.author)
            .bind(&entry.text)
            .bind(entry.is_key);
    }
    query
}

/// One entry on its own.
async fn write_one(conn: &mut SqliteConnection, entry: &NewEntry, acknowledges: bool) -> Result<Saved, StorageError> {
    if !acknowledges {
        // One statement is its own transaction: SQLite commits it atomically, and it
        // cannot deadlock the way a read-then-write transaction can, so it needs no
        // `BEGIN IMMEDIATE`. This is the hot path of timeline capture: one round trip
        // to the connection and one commit.
        let written = insert_statement(entry).execute(&mut *conn).await?.rows_affected() > 0;
        return Ok(if written { Saved::Written } else { Saved::Duplicate });
    }
    let mut tx = Connection::begin_with(&mut *conn, "BEGIN IMMEDIATE").await?;
    if insert_statement(entry).execute(&mut *tx).await?.rows_affected() == 0 {
        tx.rollback().await?;
        return Ok(Saved::Duplicate);
    }
    acknowledge_statement(entry).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(Saved::Written)
}

/// `INSERT … ON CONFLICT (source_id) DO NOTHING` for one entry: a repeated source id
/// affects no row.
fn insert_statement(entry: &NewEntry) -> sqlx::query::Query<'_, Sqlite, SqliteArguments> {
    sqlx::query(crate::timeline::INSERT_ENTRY_SQL)
        .bind(entry.incident_id)
        .bind(&entry.source_id)
        .bind(to_millis(entry.at))
        .bind(entry.kind.as_str())
        .bind(&entry.author)
        .bind(&entry.text)
        .bind(entry.is_key)
}

/// Makes the entry's time the incident's acknowledgement, if it is open, has none yet,
/// and the entry is not older than the declaration.
fn acknowledge_statement(entry: &NewEntry) -> sqlx::query::Query<'_, Sqlite, SqliteArguments> {
    sqlx::query(crate::timeline::ACKNOWLEDGE_SQL).bind(to_millis(entry.at)).bind(entry.incident_id)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::time::Duration;

    use chrono::{DateTime, Utc};

    use super::*;
    use crate::model::{EntryKind, NewIncident, Severity};

    fn t0() -> DateTime<Utc> {
        "2026-03-02T09:00:00Z".parse().unwrap()
    }

    async fn file_db_with_incident() -> (tempfile::TempDir, Db, i64) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap();
        let incident = NewIncident {
            title: "DB down".into(),
            description: None,
            severity: Severity::Sev2,
            platform: crate::Platform::Console,
            declared_by: "alice".into(),
            commander: Some("alice".into()),
            declare_source: "req-1".into(),
            started_at: t0(),
            declared_at: t0(),
            drill: false,
            private: false,
            services: Vec::new(),
        };
        let id =
            db.declare_incident(&incident, |id| format!("inc-{id}"), |_| "declared".into()).await.unwrap().incident.id;
        (dir, db, id)
    }

    fn message(incident_id: i64, source: &str, at: DateTime<Utc>) -> NewEntry {
        NewEntry {
            incident_id,
            source_id: source.into(),
            at,
            kind: EntryKind::Message,
            author: "bob".into(),
            text: "hi".into(),
            is_key: false,
        }
    }

    fn queued(db: &Db) -> usize {
        db.sqlite().unwrap().pending_entries().0.lock().unwrap().len()
    }

    /// Holds the write connection while `entries` are added concurrently, so they all
    /// queue, then lets go: one leader writes them together.
    async fn add_while_busy(db: &Db, entries: Vec<(NewEntry, bool)>) -> Vec<Result<Saved, StorageError>> {
        let busy = db.writer_conn().await.unwrap();
        let count = entries.len();
        let tasks: Vec<_> = entries
            .into_iter()
            .map(|(entry, acknowledges)| {
                let db = db.clone();
                tokio::spawn(async move { db.add_entry(&entry, acknowledges).await })
            })
            .collect();
        for _ in 0..500 {
            if queued(db) == count {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        assert_eq!(queued(db), count, "every entry waits for the connection");
        drop(busy);
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
        }
        assert_eq!(queued(db), 0);
        results
    }

    #[tokio::test]
    async fn entries_that_queue_together_are_written_together_and_each_answered() {
        let (_dir, db, incident) = file_db_with_incident().await;
        let mut entries: Vec<_> =
            (0..20).map(|n| (message(incident, &format!("m{n}"), t0() + chrono::Duration::seconds(n)), true)).collect();
        entries.push((message(incident, "m3", t0()), false));
        let results = add_while_busy(&db, entries).await;
        let written = results.iter().filter(|r| matches!(r, Ok(Saved::Written))).count();
        let duplicates = results.iter().filter(|r| matches!(r, Ok(Saved::Duplicate))).count();
        assert_eq!((written, duplicates), (20, 1), "{results:?}");
        assert_eq!(db.timeline(incident, false).await.unwrap().len(), 21, "the declaration and 20 messages");
        // The earliest acknowledging entry written wins, as if written one by one.
        let acknowledged = db.incident(incident).await.unwrap().unwrap().acknowledged_at.unwrap();
        assert!(acknowledged >= t0() && acknowledged <= t0() + chrono::Duration::seconds(19));
    }

    #[tokio::test]
    async fn a_group_without_acknowledgements_is_one_statement_with_each_outcome_its_own() {
        let (_dir, db, incident) = file_db_with_incident().await;
        db.add_entry(&message(incident, "stored-before", t0()), false).await.unwrap();
        // 70 entries: more than one statement carries, with repeats inside the group and
        // of a stored entry, none of them acknowledging.
        let mut entries: Vec<_> = (0..67).map(|n| (message(incident, &format!("m{n}"), t0()), false)).collect();
        entries.push((message(incident, "m5", t0()), false));
        entries.push((message(incident, "stored-before", t0()), false));
        entries.push((message(incident, "m66", t0()), false));
        let results = add_while_busy(&db, entries).await;
        let saved: Vec<Saved> = results.into_iter().map(Result::unwrap).collect();
        assert!(saved[..67].iter().all(|s| *s == Saved::Written), "{saved:?}");
        assert_eq!(saved[67..], [Saved::Duplicate, Saved::Duplicate, Saved::Duplicate]);
        assert_eq!(db.count_entries().await.unwrap(), 1 + 1 + 67, "the declaration, the earlier entry, 67 new");
        assert_eq!(db.incident(incident).await.unwrap().unwrap().acknowledged_at, None);
    }

    #[test]
    fn grouped_statements_come_in_seven_shapes() {
        for rows in [1, 2, 4, 8, 16, 32, 64] {
            assert_eq!(grouped_insert_sql(rows).matches('?').count(), rows * 7, "{rows}");
        }
    }

    #[tokio::test]
    async fn a_bad_entry_in_a_group_fails_alone() {
        let (_dir, db, incident) = file_db_with_incident().await;
        let entries = vec![
            (message(incident, "good-1", t0()), false),
            (message(9_999, "no-such-incident", t0()), false),
            (message(incident, "good-2", t0()), true),
        ];
        let results = add_while_busy(&db, entries).await;
        assert!(matches!(results[0], Ok(Saved::Written)), "{results:?}");
        assert!(results[1].is_err(), "{results:?}");
        assert!(matches!(results[2], Ok(Saved::Written)), "{results:?}");
        assert_eq!(db.timeline(incident, false).await.unwrap().len(), 3);
        assert_eq!(db.incident(incident).await.unwrap().unwrap().acknowledged_at, Some(t0()));
    }

    #[tokio::test]
    async fn many_concurrent_writers_store_everything_once() {
        let (_dir, db, incident) = file_db_with_incident().await;
        let tasks: Vec<_> = (0..200)
            .map(|n| {
                let db = db.clone();
                tokio::spawn(async move {
                    // Every message is sent twice, as a platform retry would.
                    let entry = message(incident, &format!("m{}", n % 100), t0());
                    db.add_entry(&entry, true).await
                })
            })
            .collect();
        let mut written = 0;
        for task in tasks {
            if task.await.unwrap().unwrap() == Saved::Written {
                written += 1;
            }
        }
        assert_eq!(written, 100);
        assert_eq!(db.count_entries().await.unwrap(), 101);
    }
}
