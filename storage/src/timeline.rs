//! Queries on timeline entries: idempotent inserts, edits, deletions and key marks
//! (new entries on their own go through the `group_commit` module).

use crate::model::{EntryKind, NewEntry, SourceId, TimelineEntry};
use crate::time::{from_millis, from_millis_opt, parse_word, to_millis};
use crate::writer::Decision;
use crate::{Db, StorageError};
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};

/// Inserts an entry unless its source id is already stored. Returns true when inserted.
pub(crate) async fn insert_entry(tx: &mut Transaction<'_, Sqlite>, entry: &NewEntry) -> Result<bool, StorageError> {
    Ok(crate::group_commit::insert_statement(entry).execute(&mut **tx).await?.rows_affected() > 0)
}

pub(crate) fn entry_from_row(row: &SqliteRow) -> Result<TimelineEntry, StorageError> {
    Ok(TimelineEntry {
        id: row.try_get("id")?,
        incident_id: row.try_get("incident_id")?,
        source_id: row.try_get("source_id")?,
        at: from_millis(row.try_get("at")?)?,
        kind: parse_word::<EntryKind>(row.try_get::<&str, _>("kind")?)?,
        author: row.try_get("author")?,
        text: row.try_get("text")?,
        is_key: row.try_get("is_key")?,
        edited_at: from_millis_opt(row.try_get("edited_at")?)?,
        deleted_at: from_millis_opt(row.try_get("deleted_at")?)?,
    })
}

impl Db {
    /// Replaces the text of a stored message. Returns false when no entry has that source id.
    pub async fn edit_entry(&self, source_id: &SourceId, text: &str, at: DateTime<Utc>) -> Result<bool, StorageError> {
        self.write(async |tx| {
            let rows = sqlx::query("UPDATE timeline_entries SET text = ?1, edited_at = ?2 WHERE source_id = ?3")
                .bind(text)
                .bind(to_millis(at))
                .bind(source_id)
                .execute(&mut **tx)
                .await?
                .rows_affected();
            Ok(Decision::Commit(rows > 0))
        })
        .await
    }

    /// Marks a stored message as deleted; the row stays so the timeline shows the gap.
    pub async fn delete_entry(&self, source_id: &SourceId, at: DateTime<Utc>) -> Result<bool, StorageError> {
        self.write(async |tx| {
            let rows =
                sqlx::query("UPDATE timeline_entries SET deleted_at = ?1 WHERE source_id = ?2 AND deleted_at IS NULL")
                    .bind(to_millis(at))
                    .bind(source_id)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected();
            Ok(Decision::Commit(rows > 0))
        })
        .await
    }

    /// Marks an entry as a key event (pinned or starred). Returns false when it is unknown.
    pub async fn mark_key(&self, source_id: &SourceId) -> Result<bool, StorageError> {
        self.write(async |tx| {
            let rows = sqlx::query("UPDATE timeline_entries SET is_key = ?1 WHERE source_id = ?2")
                .bind(true)
                .bind(source_id)
                .execute(&mut **tx)
                .await?
                .rows_affected();
            Ok(Decision::Commit(rows > 0))
        })
        .await
    }

    pub async fn entry_by_source(&self, source_id: &SourceId) -> Result<Option<TimelineEntry>, StorageError> {
        sqlx::query("SELECT * FROM timeline_entries WHERE source_id = ?1")
            .bind(source_id)
            .fetch_optional(self.reader())
            .await?
            .as_ref()
            .map(entry_from_row)
            .transpose()
    }

    /// Every entry of an incident in time order; `key_only` keeps just the key events.
    pub async fn timeline(&self, incident_id: i64, key_only: bool) -> Result<Vec<TimelineEntry>, StorageError> {
        sqlx::query(
            "SELECT * FROM timeline_entries WHERE incident_id = ?1 AND (is_key OR NOT ?2)
             ORDER BY at, id",
        )
        .bind(incident_id)
        .bind(key_only)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(entry_from_row)
        .collect()
    }

    /// The newest entry of one kind, e.g. the last status update.
    pub async fn latest_entry_of_kind(
        &self,
        incident_id: i64,
        kind: EntryKind,
    ) -> Result<Option<TimelineEntry>, StorageError> {
        sqlx::query(
            "SELECT * FROM timeline_entries WHERE incident_id = ?1 AND kind = ?2 ORDER BY at DESC, id DESC LIMIT 1",
        )
        .bind(incident_id)
        .bind(kind.as_str())
        .fetch_optional(self.reader())
        .await?
        .as_ref()
        .map(entry_from_row)
        .transpose()
    }

    /// The newest human message stored for an incident: where a backfill after downtime
    /// starts from.
    pub async fn latest_message(&self, incident_id: i64) -> Result<Option<TimelineEntry>, StorageError> {
        self.latest_entry_of_kind(incident_id, EntryKind::Message).await
    }

    /// How many timeline entries are stored in all.
    pub async fn count_entries(&self) -> Result<i64, StorageError> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM timeline_entries").fetch_one(self.reader()).await?)
    }
}
