//! Queries on action items.

use crate::model::{ActionChange, ActionFilter, ActionItem, ActionStatus, NewActionItem, NewEntry, Saved};
use crate::portable::{Decision, PortableRow};
use crate::time::{from_date_text, from_millis, from_millis_opt, parse_word, to_date_text, to_millis};
use crate::{Db, StorageError};
use chrono::{DateTime, Utc};

pub(crate) fn action_from_row(row: &impl PortableRow) -> Result<ActionItem, StorageError> {
    Ok(ActionItem {
        id: row.col("id")?,
        incident_id: row.col("incident_id")?,
        text: row.col("text")?,
        owner: row.col("owner")?,
        due: from_date_text(&row.col::<String>("due_date")?)?,
        priority: parse_word(&row.col::<String>("priority")?)?,
        kind: parse_word(&row.col::<String>("kind")?)?,
        status: parse_word(&row.col::<String>("status")?)?,
        created_by: row.col("created_by")?,
        created_at: from_millis(row.col("created_at")?)?,
        closed_at: from_millis_opt(row.col("closed_at")?)?,
        addresses: row.col("addresses")?,
        snoozed_until: row.col::<Option<String>>("snoozed_until")?.as_deref().map(from_date_text).transpose()?,
    })
}

impl Db {
    /// Stores an action item with the timeline entry that records it. A retried request
    /// (same entry source id) stores nothing and returns `None`.
    pub async fn add_action(&self, item: &NewActionItem, entry: &NewEntry) -> Result<Option<ActionItem>, StorageError> {
        self.add_action_with_job(item, entry, None).await
    }

    /// Like [`Db::add_action`], and in the same transaction enqueues an outbound job of
    /// `job_kind` about the new item (its id is the subject): the tracker issue is
    /// claimed before any call, and a retried request enqueues nothing.
    pub async fn add_action_with_job(
        &self,
        item: &NewActionItem,
        entry: &NewEntry,
        job_kind: Option<&str>,
    ) -> Result<Option<ActionItem>, StorageError> {
        let id = in_transaction!(self, |tx| {
            if !insert_entry!(tx, entry)? {
                return Ok(Decision::Rollback(None));
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO action_items (incident_id, text, owner, due_date, priority, kind, status, created_by,
                                               created_at, addresses)
                     VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $9)
                     RETURNING id",
            )
            .bind(item.incident_id)
            .bind(&item.text)
            .bind(&item.owner)
            .bind(to_date_text(item.due))
            .bind(item.priority.as_str())
            .bind(item.kind.as_str())
            .bind(&item.created_by)
            .bind(to_millis(item.created_at))
            .bind(&item.addresses)
            .fetch_one(&mut **tx)
            .await?;
            if let Some(kind) = job_kind {
                let job = crate::outbox::NewJob {
                    kind: kind.to_string(),
                    subject: id.to_string(),
                    period: String::new(),
                    payload: String::new(),
                };
                insert_job!(tx, &job, item.created_at)?;
            }
            Ok(Decision::Commit(Some(id)))
        })?;
        let Some(id) = id else { return Ok(None) };
        // `write` let go of the write connection before this read: an in-memory database
        // has no other.
        self.action(id).await
    }

    pub async fn action(&self, id: i64) -> Result<Option<ActionItem>, StorageError> {
        with_pool!(self, |pool| {
            sqlx::query("SELECT * FROM action_items WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(action_from_row)
                .transpose()
        })
    }

    /// Moves an item to a new status, recording the entry. Only an item still in
    /// `expected` status moves, so two people closing it at once close it once.
    pub async fn set_action_status(
        &self,
        id: i64,
        expected: ActionStatus,
        status: ActionStatus,
        at: DateTime<Utc>,
        entry: &NewEntry,
    ) -> Result<Saved, StorageError> {
        in_transaction!(self, |tx| {
            if !insert_entry!(tx, entry)? {
                return Ok(Decision::Rollback(Saved::Duplicate));
            }
            let closed_at = (status != ActionStatus::Open).then(|| to_millis(at));
            let rows = sqlx::query("UPDATE action_items SET status = $1, closed_at = $2 WHERE id = $3 AND status = $4")
                .bind(status.as_str())
                .bind(closed_at)
                .bind(id)
                .bind(expected.as_str())
                .execute(&mut **tx)
                .await?
                .rows_affected();
            if rows == 0 {
                // Undoes the entry written above.
                return Ok(Decision::Rollback(Saved::Conflict));
            }
            Ok(Decision::Commit(Saved::Written))
        })
    }

    /// Changes an open item (snooze, new owner, new due date), recording the entry in
    /// the same transaction. An item closed meanwhile is a [`Saved::Conflict`].
    pub async fn change_open_action(
        &self,
        id: i64,
        change: &ActionChange,
        entry: &NewEntry,
    ) -> Result<Saved, StorageError> {
        in_transaction!(self, |tx| {
            if !insert_entry!(tx, entry)? {
                return Ok(Decision::Rollback(Saved::Duplicate));
            }
            let statement = match change {
                ActionChange::Snooze { until } => {
                    sqlx::query("UPDATE action_items SET snoozed_until = $1 WHERE id = $2 AND status = 'open'")
                        .bind(to_date_text(*until))
                }
                ActionChange::Reassign { owner } => {
                    sqlx::query("UPDATE action_items SET owner = $1 WHERE id = $2 AND status = 'open'")
                        .bind(owner.clone())
                }
                // A new due date starts its reminders afresh: any snooze was for the old one.
                ActionChange::Redate { due } => sqlx::query(
                    "UPDATE action_items SET due_date = $1, snoozed_until = NULL WHERE id = $2 AND status = 'open'",
                )
                .bind(to_date_text(*due)),
            };
            let rows = statement.bind(id).execute(&mut **tx).await?.rows_affected();
            if rows == 0 {
                // Undoes the entry written above.
                return Ok(Decision::Rollback(Saved::Conflict));
            }
            Ok(Decision::Commit(Saved::Written))
        })
    }

    /// Action items matching `filter`, by due date then id.
    pub async fn actions(&self, filter: &ActionFilter) -> Result<Vec<ActionItem>, StorageError> {
        with_pool!(self, |pool| {
            let rows =
                match filter {
                    ActionFilter::Incident(incident_id) => {
                        sqlx::query("SELECT * FROM action_items WHERE incident_id = $1 ORDER BY id")
                            .bind(incident_id)
                            .fetch_all(pool)
                            .await?
                    }
                    ActionFilter::OpenOwnedBy { owner, incident_id } => {
                        sqlx::query(
                            "SELECT * FROM action_items WHERE owner = $1 AND status = 'open'
                       AND ($2 IS NULL OR incident_id = $2) ORDER BY due_date, id",
                        )
                        .bind(owner)
                        .bind(incident_id)
                        .fetch_all(pool)
                        .await?
                    }
                    ActionFilter::OverdueOn { today, incident_id } => {
                        sqlx::query(
                            "SELECT * FROM action_items WHERE status = 'open' AND due_date < $1
                       AND ($2 IS NULL OR incident_id = $2) ORDER BY due_date, id",
                        )
                        .bind(to_date_text(*today))
                        .bind(incident_id)
                        .fetch_all(pool)
                        .await?
                    }
                    ActionFilter::AllOpen => {
                        sqlx::query("SELECT * FROM action_items WHERE status = 'open' ORDER BY due_date, id")
                            .fetch_all(pool)
                            .await?
                    }
                    ActionFilter::OpenAt(at) => sqlx::query(
                        "SELECT * FROM action_items WHERE created_at <= $1 AND (closed_at IS NULL OR closed_at > $1)
                     ORDER BY due_date, id",
                    )
                    .bind(to_millis(*at))
                    .fetch_all(pool)
                    .await?,
                };
            rows.iter().map(action_from_row).collect()
        })
    }
}
