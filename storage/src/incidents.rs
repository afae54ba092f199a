//! Queries on incidents and their roles.

use crate::model::{ChannelId, DeliveryKind, Incident, NewEntry, NewIncident, Platform, Role, Saved, Status};
use crate::portable::{Decision, EngineTx, PortableRow};
use crate::time::{from_millis, from_millis_opt, parse_word, to_millis};
use crate::{Db, StorageError};
use chrono::{DateTime, Utc};

/// A query selecting every incident column and its three roles, then `$suffix`.
macro_rules! incident_query {
    ($suffix:literal) => {
        sqlx::query(const_format_concat!($suffix))
    };
}

// `concat!` needs literals, so the shared SELECT lives in a macro rather than a const.
macro_rules! const_format_concat {
    ($suffix:literal) => {
        concat!(
            "SELECT i.id, i.title, i.description, i.severity, i.status, i.platform, i.channel_name,
                    i.channel_id, i.declared_by, i.started_at, i.declared_at, i.acknowledged_at,
                    i.mitigated_at, i.resolved_at, i.closed_at, i.revision, i.drill, i.private,
                    (SELECT user_id FROM incident_roles r WHERE r.incident_id = i.id AND r.role = 'commander') AS commander,
                    (SELECT user_id FROM incident_roles r WHERE r.incident_id = i.id AND r.role = 'comms') AS comms,
                    (SELECT user_id FROM incident_roles r WHERE r.incident_id = i.id AND r.role = 'scribe') AS scribe
             FROM incidents i ",
            $suffix
        )
    };
}

pub(crate) fn incident_from_row(row: &impl PortableRow) -> Result<Incident, StorageError> {
    Ok(Incident {
        id: row.col("id")?,
        title: row.col("title")?,
        description: row.col("description")?,
        severity: parse_word(&row.col::<String>("severity")?)?,
        status: parse_word(&row.col::<String>("status")?)?,
        platform: parse_word(&row.col::<String>("platform")?)?,
        channel_name: row.col("channel_name")?,
        channel_id: row.col("channel_id")?,
        declared_by: row.col("declared_by")?,
        commander: row.col("commander")?,
        comms: row.col("comms")?,
        scribe: row.col("scribe")?,
        started_at: from_millis(row.col("started_at")?)?,
        declared_at: from_millis(row.col("declared_at")?)?,
        acknowledged_at: from_millis_opt(row.col("acknowledged_at")?)?,
        mitigated_at: from_millis_opt(row.col("mitigated_at")?)?,
        resolved_at: from_millis_opt(row.col("resolved_at")?)?,
        closed_at: from_millis_opt(row.col("closed_at")?)?,
        revision: row.col("revision")?,
        drill: row.col("drill")?,
        private: row.col("private")?,
    })
}

/// Whether [`Db::declare_incident`] made a new incident or found the one a previous
/// delivery of the same request made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub incident: Incident,
    pub is_new: bool,
}

impl Db {
    /// Stores a new incident with its first commander (if any) and its `declared` timeline
    /// entry, all in one transaction. A second call with the same `declare_source`
    /// returns the incident the first call stored.
    ///
    /// The channel name depends on the new id, so the caller passes how to make it.
    pub async fn declare_incident(
        &self,
        new: &NewIncident,
        channel_name: impl FnOnce(i64) -> String,
        declared_text: impl FnOnce(i64) -> String,
    ) -> Result<Declared, StorageError> {
        let (id, is_new) = in_transaction!(self, |tx| {
            // Looked up first (with other declarations of this request held back), so a
            // retried request uses no id: Postgres would spend a sequence value on an
            // insert that conflicts. `ON CONFLICT DO NOTHING` stays as the last guard.
            tx.serialize_on(new.declare_source.as_str()).await?;
            let find_existing = "SELECT id FROM incidents WHERE declare_source = $1";
            let existing: Option<i64> =
                sqlx::query_scalar(find_existing).bind(&new.declare_source).fetch_optional(&mut **tx).await?;
            if let Some(id) = existing {
                return Ok(Decision::Rollback((id, false)));
            }
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO incidents (title, description, severity, status, platform, channel_name,
                                            declared_by, declare_source, started_at, declared_at, drill, private)
                     VALUES ($1, $2, $3, 'investigating', $4, '', $5, $6, $7, $8, $9, $10)
                     ON CONFLICT (declare_source) DO NOTHING
                     RETURNING id",
            )
            .bind(&new.title)
            .bind(&new.description)
            .bind(new.severity.as_str())
            .bind(new.platform.as_str())
            .bind(&new.declared_by)
            .bind(&new.declare_source)
            .bind(to_millis(new.started_at))
            .bind(to_millis(new.declared_at))
            .bind(new.drill)
            .bind(new.private)
            .fetch_optional(&mut **tx)
            .await?;
            let Some(id) = inserted else {
                let existing: i64 =
                    sqlx::query_scalar(find_existing).bind(&new.declare_source).fetch_one(&mut **tx).await?;
                return Ok(Decision::Rollback((existing, false)));
            };
            sqlx::query("UPDATE incidents SET channel_name = $1 WHERE id = $2")
                .bind(channel_name(id))
                .bind(id)
                .execute(&mut **tx)
                .await?;
            if let Some(commander) = &new.commander {
                upsert_role!(tx, id, Role::Commander, commander, new.declared_at)?;
            }
            for service in &new.services {
                insert_attachment!(
                    tx,
                    crate::learning::Attachment::Service,
                    id,
                    service,
                    &new.declared_by,
                    new.declared_at
                )?;
            }
            let entry = NewEntry {
                incident_id: id,
                source_id: new.declare_source.derived("declared"),
                at: new.declared_at,
                kind: crate::EntryKind::Declared,
                author: new.declared_by.clone(),
                text: declared_text(id),
                is_key: true,
            };
            insert_entry!(tx, &entry)?;
            Ok(Decision::Commit((id, true)))
        })?;
        // `write` let go of the write connection before this read: an in-memory database
        // has no other.
        let incident = self.require_incident(id).await?;
        Ok(Declared { incident, is_new })
    }

    /// Saves a changed incident together with the timeline entry that records the change.
    ///
    /// Refuses with [`Saved::Duplicate`] when the entry's source id is already stored
    /// (a retried request), and with [`Saved::Conflict`] when the incident's revision
    /// moved since `updated` was read. In both cases nothing is written.
    pub async fn save_incident(
        &self,
        updated: &Incident,
        changed_role: Option<Role>,
        entry: Option<&NewEntry>,
    ) -> Result<Saved, StorageError> {
        in_transaction!(self, |tx| {
            if let Some(entry) = entry {
                if !insert_entry!(tx, entry)? {
                    return Ok(Decision::Rollback(Saved::Duplicate));
                }
            }
            let rows = sqlx::query(
                "UPDATE incidents
                 SET title = $1, description = $2, severity = $3, status = $4, channel_name = $5, channel_id = $6,
                     started_at = $7, acknowledged_at = $8, mitigated_at = $9, resolved_at = $10, closed_at = $11,
                     revision = revision + 1
                 WHERE id = $12 AND revision = $13",
            )
            .bind(&updated.title)
            .bind(&updated.description)
            .bind(updated.severity.as_str())
            .bind(updated.status.as_str())
            .bind(&updated.channel_name)
            .bind(&updated.channel_id)
            .bind(to_millis(updated.started_at))
            .bind(updated.acknowledged_at.map(to_millis))
            .bind(updated.mitigated_at.map(to_millis))
            .bind(updated.resolved_at.map(to_millis))
            .bind(updated.closed_at.map(to_millis))
            .bind(updated.id)
            .bind(updated.revision)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            if rows == 0 {
                // Undoes the entry written above.
                return Ok(Decision::Rollback(Saved::Conflict));
            }
            if let Some(role) = changed_role {
                let at = entry.map(|e| e.at).unwrap_or(updated.declared_at);
                match updated.role(role) {
                    Some(user) => upsert_role!(tx, updated.id, role, user, at)?,
                    None => {
                        sqlx::query("DELETE FROM incident_roles WHERE incident_id = $1 AND role = $2")
                            .bind(updated.id)
                            .bind(role.as_str())
                            .execute(&mut **tx)
                            .await?;
                    }
                }
            }
            Ok(Decision::Commit(Saved::Written))
        })
    }

    /// Records when an open incident was first acknowledged, if it was not already.
    /// Returns true when this call set it.
    pub async fn acknowledge(&self, incident_id: i64, at: DateTime<Utc>) -> Result<bool, StorageError> {
        in_transaction!(self, |tx| {
            let rows = sqlx::query(
                "UPDATE incidents SET acknowledged_at = $1, revision = revision + 1
                 WHERE id = $2 AND acknowledged_at IS NULL AND declared_at <= $1
                       AND status IN ('investigating', 'identified', 'monitoring')",
            )
            .bind(to_millis(at))
            .bind(incident_id)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            Ok(Decision::Commit(rows > 0))
        })
    }

    pub async fn incident(&self, id: i64) -> Result<Option<Incident>, StorageError> {
        with_pool!(self, |pool| {
            incident_query!("WHERE i.id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(incident_from_row)
                .transpose()
        })
    }

    async fn require_incident(&self, id: i64) -> Result<Incident, StorageError> {
        self.incident(id).await?.ok_or_else(|| StorageError::Corrupt(format!("incident {id} vanished")))
    }

    /// The incident whose channel has this platform id.
    pub async fn incident_by_channel(&self, channel_id: &ChannelId) -> Result<Option<Incident>, StorageError> {
        with_pool!(self, |pool| {
            incident_query!("WHERE i.channel_id = $1")
                .bind(channel_id)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(incident_from_row)
                .transpose()
        })
    }

    /// Incidents that are not yet resolved, oldest first.
    pub async fn open_incidents(&self) -> Result<Vec<Incident>, StorageError> {
        with_pool!(self, |pool| {
            incident_query!("WHERE i.status IN ('investigating', 'identified', 'monitoring') ORDER BY i.id")
                .fetch_all(pool)
                .await?
                .iter()
                .map(incident_from_row)
                .collect()
        })
    }

    /// Incidents declared in `[from, to)`, oldest first.
    pub async fn incidents_declared_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Incident>, StorageError> {
        with_pool!(self, |pool| {
            incident_query!("WHERE i.declared_at >= $1 AND i.declared_at < $2 ORDER BY i.declared_at, i.id")
                .bind(to_millis(from))
                .bind(to_millis(to))
                .fetch_all(pool)
                .await?
                .iter()
                .map(incident_from_row)
                .collect()
        })
    }

    /// The ids of every private incident. Private incidents are few, so callers that
    /// must hide many items (the digest's action items) read this once instead of
    /// looking up each item's incident.
    pub async fn private_incident_ids(&self) -> Result<Vec<i64>, StorageError> {
        with_pool!(self, |pool| {
            Ok(sqlx::query_scalar("SELECT id FROM incidents WHERE private = TRUE ORDER BY id").fetch_all(pool).await?)
        })
    }

    /// The channel names of every incident, on one platform.
    pub async fn channel_names(&self, platform: Platform) -> Result<Vec<String>, StorageError> {
        with_pool!(self, |pool| {
            Ok(sqlx::query_scalar("SELECT channel_name FROM incidents WHERE platform = $1 ORDER BY id")
                .bind(platform.as_str())
                .fetch_all(pool)
                .await?)
        })
    }

    /// Closed incidents on `platform` with a channel that no `delivery_kind` delivery
    /// was claimed for yet, oldest closed first: the channels still to archive. One
    /// query, so the scheduler's tick does not grow with the history.
    pub async fn closed_without_delivery(
        &self,
        platform: Platform,
        delivery_kind: DeliveryKind,
    ) -> Result<Vec<Incident>, StorageError> {
        with_pool!(self, |pool| {
            incident_query!(
                "WHERE i.status = 'closed' AND i.platform = $1 AND i.channel_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM deliveries d
                               WHERE d.kind = $2 AND d.subject = CAST(i.id AS TEXT))
             ORDER BY i.closed_at, i.id"
            )
            .bind(platform.as_str())
            .bind(delivery_kind.as_str())
            .fetch_all(pool)
            .await?
            .iter()
            .map(incident_from_row)
            .collect()
        })
    }

    /// Incidents in one status, oldest first.
    pub async fn incidents_with_status(&self, status: Status) -> Result<Vec<Incident>, StorageError> {
        with_pool!(self, |pool| {
            incident_query!("WHERE i.status = $1 ORDER BY i.id")
                .bind(status.as_str())
                .fetch_all(pool)
                .await?
                .iter()
                .map(incident_from_row)
                .collect()
        })
    }
}
