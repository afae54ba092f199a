//! Read-only queries for reports (the weekly digest): windows of incidents,
//! postmortems and action items, each answered by an index.

use crate::portable::PortableRow;
use chrono::{DateTime, Utc};

use crate::model::{ActionItem, Postmortem};
use crate::time::to_millis;
use crate::{Db, StorageError};

impl Db {
    /// Postmortems of incidents declared or closed in `[from, to)`, by incident id.
    pub async fn postmortems_touching(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(i64, Postmortem)>, StorageError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT p.* FROM postmortems p WHERE p.incident_id IN (
                 SELECT id FROM incidents WHERE declared_at >= $1 AND declared_at < $2
                 UNION
                 SELECT id FROM incidents WHERE closed_at >= $1 AND closed_at < $2)
             ORDER BY p.incident_id",
            )
            .bind(to_millis(from))
            .bind(to_millis(to))
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| Ok((row.col("incident_id")?, crate::postmortems::postmortem_from_row(row)?)))
                .collect()
        })
    }

    /// The contributing-factor answers of incidents declared since `since`, by incident id.
    pub async fn contributing_factors_since(&self, since: DateTime<Utc>) -> Result<Vec<(i64, String)>, StorageError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT p.incident_id, p.contributing_factors FROM postmortems p
             JOIN incidents i ON i.id = p.incident_id
             WHERE i.declared_at >= $1 AND p.contributing_factors IS NOT NULL
             ORDER BY p.incident_id",
            )
            .bind(to_millis(since))
            .fetch_all(pool)
            .await?;
            rows.iter().map(|row| Ok((row.col_at(0)?, row.col_at(1)?))).collect()
        })
    }

    /// The ids of incidents closed in `[from, to)`.
    pub async fn incidents_closed_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<i64>, StorageError> {
        with_pool!(self, |pool| {
            Ok(sqlx::query_scalar("SELECT id FROM incidents WHERE closed_at >= $1 AND closed_at < $2 ORDER BY id")
                .bind(to_millis(from))
                .bind(to_millis(to))
                .fetch_all(pool)
                .await?)
        })
    }

    /// Action items closed (done or wontfix) in `[from, to)`.
    pub async fn actions_closed_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ActionItem>, StorageError> {
        with_pool!(self, |pool| {
            sqlx::query("SELECT * FROM action_items WHERE closed_at >= $1 AND closed_at < $2 ORDER BY closed_at, id")
                .bind(to_millis(from))
                .bind(to_millis(to))
                .fetch_all(pool)
                .await?
                .iter()
                .map(crate::actions::action_from_row)
                .collect()
        })
    }
}
