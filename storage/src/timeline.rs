//! Queries on timeline entries: idempotent inserts, edits, deletions and key marks
//! (new entries on their own go through the `group_commit` module).

use crate::model::{EntryKind, SourceId, TimelineEntry};
use crate::portable::{Decision, PortableRow};
use crate::time::{from_millis, from_millis_opt, parse_word, to_millis};
use crate::{Db, StorageError};
use chrono::{DateTime, Utc};

/// Inserts a timeline entry unless its source id is already stored (`insert_entry!`
/// binds it; a repeated source id affects no row).
pub(crate) const INSERT_ENTRY_SQL: &str =
    "INSERT INTO timeline_entries (incident_id, source_id, at, kind, author, text, is_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (source_id) DO NOTHING";

/// Makes an entry's time (`$1`) its incident's (`$2`) acknowledgement, if the incident
/// is open, has none yet, and the entry is not older than the declaration.
pub(crate) const ACKNOWLEDGE_SQL: &str = "UPDATE incidents SET acknowledged_at = $1, revision = revision + 1
     WHERE id = $2 AND acknowledged_at IS NULL AND declared_at <= $1
       AND status IN ('investigating', 'identified', 'monitoring')";

pub(crate) fn entry_from_row(row: &impl PortableRow) -> Result<TimelineEntry, StorageError> {
    Ok(TimelineEntry {
        id: row.col("id")?,
        incident_id: row.col("incident_id")?,
        source_id: row.col("source_id")?,
        at: from_millis(row.col("at")?)?,
        kind: parse_word::<EntryKind>(&row.col::<String>("kind")?)?,
        author: row.col("author")?,
        text: row.col("text")?,
        is_key: row.col("is_key")?,
        edited_at: from_millis_opt(row.col("edited_at")?)?,
        deleted_at: from_millis_opt(row.col("deleted_at")?)?,
    })
}

impl Db {
    /// Replaces the text of a stored message. Returns false when no entry has that source id.
    pub async fn edit_entry(&self, source_id: &SourceId, text: &str, at: DateTime<Utc>) -> Result<bool, StorageError> {
        in_transaction!(self, |tx| {
            let rows = sqlx::query("UPDATE timeline_entries SET text = $1, edited_at = $2 WHERE source_id = $3")
                .bind(text)
                .bind(to_millis(at))
                .bind(source_id)
                .execute(&mut **tx)
                .await?
                .rows_affected();
            Ok(Decision::Commit(rows > 0))
        })
    }

    /// Marks a stored message as deleted; the row stays so the timeline shows the gap.
    pub async fn delete_entry(&self, source_id: &SourceId, at: DateTime<Utc>) -> Result<bool, StorageError> {
        in_transaction!(self, |tx| {
            let rows =
                sqlx::query("UPDATE timeline_entries SET deleted_at = $1 WHERE source_id = $2 AND deleted_at IS NULL")
                    .bind(to_millis(at))
                    .bind(source_id)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected();
            Ok(Decision::Commit(rows > 0))
        })
    }

    /// Marks an entry as a key event (pinned or starred). Returns false when it is unknown.
    pub async fn mark_key(&self, source_id: &SourceId) -> Result<bool, StorageError> {
        in_transaction!(self, |tx| {
            let rows = sqlx::query("UPDATE timeline_entries SET is_key = $1 WHERE source_id = $2")
                .bind(true)
                .bind(source_id)
                .execute(&mut **tx)
                .await?
                .rows_affected();
            Ok(Decision::Commit(rows > 0))
        })
    }

    pub async fn entry_by_source(&self, source_id: &SourceId) -> Result<Option<TimelineEntry>, StorageError> {
        with_pool!(self, |pool| {
            sqlx::query("SELECT * FROM timeline_entries WHERE source_id = $1")
                .bind(source_id)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(entry_from_row)
                .transpose()
        })
    }

    /// Every entry of an incident in time order; `key_only` keeps just the key events.
    pub async fn timeline(&self, incident_id: i64, key_only: bool) -> Result<Vec<TimelineEntry>, StorageError> {
        with_pool!(self, |pool| {
            sqlx::query(
                "SELECT * FROM timeline_entries WHERE incident_id = $1 AND (is_key OR NOT $2)
             ORDER BY at, id",
            )
            .bind(incident_id)
            .bind(key_only)
            .fetch_all(pool)
            .await?
            .iter()
            .map(entry_from_row)
            .collect()
        })
    }

    /// The newest entry of one kind, e.g. the last status update.
    pub async fn latest_entry_of_kind(
        &self,
        incident_id: i64,
        kind: EntryKind,
    ) -> Result<Option<TimelineEntry>, StorageError> {
        with_pool!(self, |pool| {
            sqlx::query(
                "SELECT * FROM timeline_entries WHERE incident_id = $1 AND kind = $2 ORDER BY at DESC, id DESC LIMIT 1",
            )
            .bind(incident_id)
            .bind(kind.as_str())
            .fetch_optional(pool)
            .await?
            .as_ref()
            .map(entry_from_row)
            .transpose()
        })
    }

    /// The newest human message stored for an incident: where a backfill after downtime
    /// starts from.
    pub async fn latest_message(&self, incident_id: i64) -> Result<Option<TimelineEntry>, StorageError> {
        self.latest_entry_of_kind(incident_id, EntryKind::Message).await
    }

    /// How many timeline entries are stored in all.
    pub async fn count_entries(&self) -> Result<i64, StorageError> {
        with_pool!(self, |pool| {
            Ok(sqlx::query_scalar("SELECT count(*) FROM timeline_entries").fetch_one(pool).await?)
        })
    }
}
