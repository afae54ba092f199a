//! Queries on what an incident teaches: the services it touched, its contributing-factor
//! tags and who was invited to it. Each change is written with the timeline entry that
//! records it, in one transaction, so a retried request changes nothing twice.
//!
//! Names are stored as the core resolved them (a catalog name, a vocabulary tag); this
//! module does not know the catalog.

use crate::model::{NewEntry, Saved};
use crate::portable::{Decision, PortableRow};
use crate::time::to_millis;
use crate::{Db, StorageError};
use chrono::{DateTime, Utc};

/// A set of names attached to incidents: which table holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attachment {
    /// `incident_services`: catalog service names.
    Service,
    /// `incident_factors`: contributing-factor tags.
    Factor,
    /// `incident_invites`: invited user ids.
    Invite,
}

impl Attachment {
    // Table and column names cannot be bound, so each attachment has its own fixed SQL.
    pub(crate) fn insert_sql(self) -> &'static str {
        match self {
            Attachment::Service => {
                "INSERT INTO incident_services (incident_id, service, added_by, added_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING"
            }
            Attachment::Factor => {
                "INSERT INTO incident_factors (incident_id, tag, added_by, added_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING"
            }
            Attachment::Invite => {
                "INSERT INTO incident_invites (incident_id, user_id, invited_by, invited_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING"
            }
        }
    }

    fn delete_sql(self) -> &'static str {
        match self {
            Attachment::Service => "DELETE FROM incident_services WHERE incident_id = $1 AND service = $2",
            Attachment::Factor => "DELETE FROM incident_factors WHERE incident_id = $1 AND tag = $2",
            Attachment::Invite => "DELETE FROM incident_invites WHERE incident_id = $1 AND user_id = $2",
        }
    }

    fn list_sql(self) -> &'static str {
        match self {
            Attachment::Service => "SELECT service FROM incident_services WHERE incident_id = $1 ORDER BY service",
            Attachment::Factor => "SELECT tag FROM incident_factors WHERE incident_id = $1 ORDER BY tag",
            Attachment::Invite => "SELECT user_id FROM incident_invites WHERE incident_id = $1 ORDER BY invited_at",
        }
    }

    fn since_sql(self) -> &'static str {
        match self {
            Attachment::Service => {
                "SELECT a.incident_id, a.service FROM incident_services a JOIN incidents i ON i.id = a.incident_id
                 WHERE i.declared_at >= $1 ORDER BY a.incident_id, a.service"
            }
            Attachment::Factor => {
                "SELECT a.incident_id, a.tag FROM incident_factors a JOIN incidents i ON i.id = a.incident_id
                 WHERE i.declared_at >= $1 ORDER BY a.incident_id, a.tag"
            }
            Attachment::Invite => {
                "SELECT a.incident_id, a.user_id FROM incident_invites a JOIN incidents i ON i.id = a.incident_id
                 WHERE i.declared_at >= $1 ORDER BY a.incident_id, a.user_id"
            }
        }
    }
}

/// What [`Db::attach`] and [`Db::detach`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attached {
    /// The set changed, and the entry was written.
    Changed,
    /// The name was already there (attach) or not there (detach); nothing was written.
    Unchanged,
    /// The entry's source id was already stored (a retried request); nothing was written.
    Duplicate,
}

impl Db {
    /// Adds `name` to one of an incident's sets, with the entry recording it.
    pub async fn attach(&self, what: Attachment, name: &str, entry: &NewEntry) -> Result<Attached, StorageError> {
        in_transaction!(self, |tx| {
            if !insert_entry!(tx, entry)? {
                return Ok(Decision::Rollback(Attached::Duplicate));
            }
            if !insert_attachment!(tx, what, entry.incident_id, name, &entry.author, entry.at)? {
                // Undoes the entry: nothing changed, so nothing is recorded.
                return Ok(Decision::Rollback(Attached::Unchanged));
            }
            Ok(Decision::Commit(Attached::Changed))
        })
    }

    /// Removes `name` from one of an incident's sets, with the entry recording it.
    pub async fn detach(&self, what: Attachment, name: &str, entry: &NewEntry) -> Result<Attached, StorageError> {
        in_transaction!(self, |tx| {
            if !insert_entry!(tx, entry)? {
                return Ok(Decision::Rollback(Attached::Duplicate));
            }
            let rows = sqlx::query(what.delete_sql())
                .bind(entry.incident_id)
                .bind(name)
                .execute(&mut **tx)
                .await?
                .rows_affected();
            if rows == 0 {
                return Ok(Decision::Rollback(Attached::Unchanged));
            }
            Ok(Decision::Commit(Attached::Changed))
        })
    }

    /// The names in one of an incident's sets (services and tags by name, invites in
    /// the order they were made).
    pub async fn attached(&self, what: Attachment, incident_id: i64) -> Result<Vec<String>, StorageError> {
        with_pool!(self, |pool| Ok(sqlx::query_scalar(what.list_sql()).bind(incident_id).fetch_all(pool).await?))
    }

    /// `(incident id, name)` for every incident declared since `since`, by incident id.
    pub async fn attached_since(
        &self,
        what: Attachment,
        since: DateTime<Utc>,
    ) -> Result<Vec<(i64, String)>, StorageError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(what.since_sql()).bind(to_millis(since)).fetch_all(pool).await?;
            rows.iter().map(|row| Ok((row.col_at(0)?, row.col_at(1)?))).collect()
        })
    }
}

/// Whether a write changed something, for callers that only care about that.
impl From<Attached> for Saved {
    fn from(attached: Attached) -> Saved {
        match attached {
            Attached::Changed => Saved::Written,
            Attached::Unchanged | Attached::Duplicate => Saved::Duplicate,
        }
    }
}
