//! What the insights page reads, kept to the minimum: the few columns response times
//! need (no titles, no role lookups), and action-item figures counted in SQL rather
//! than loaded. The core applies its rules (durations, drills, buckets) on top.
//!
//! Shared SQL for both engines: numbered placeholders and `COUNT(*) FILTER`.

use chrono::{DateTime, NaiveDate, Utc};

use crate::model::Severity;
use crate::portable::PortableRow;
use crate::time::{from_millis, from_millis_opt, parse_word, to_millis};
use crate::{Db, StorageError};

/// The moments of one incident, and how it was detected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentMoments {
    pub id: i64,
    pub severity: Severity,
    pub drill: bool,
    pub started_at: DateTime<Utc>,
    pub declared_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub mitigated_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// An alert detected it (it has a detection record).
    pub detected_by_alert: bool,
}

/// Action items created since some moment, counted by status; the open ones also by
/// how many were created at or after each of the caller's thresholds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ActionCounts {
    pub done: i64,
    pub wontfix: i64,
    pub open: i64,
    /// Open items created at or after each threshold, in the order given.
    pub open_since: [i64; 3],
}

impl Db {
    /// The moments of every incident declared in `[from, to)`, drills included (the
    /// caller decides what counts), oldest first.
    pub async fn incident_moments_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<IncidentMoments>, StorageError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT i.id, i.severity, i.drill, i.started_at, i.declared_at, i.acknowledged_at, i.mitigated_at,
                    i.resolved_at,
                    EXISTS (SELECT 1 FROM incident_detections d WHERE d.incident_id = i.id) AS detected
             FROM incidents i WHERE i.declared_at >= $1 AND i.declared_at < $2
             ORDER BY i.declared_at, i.id",
            )
            .bind(to_millis(from))
            .bind(to_millis(to))
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(IncidentMoments {
                        id: row.col("id")?,
                        severity: parse_word(&row.col::<String>("severity")?)?,
                        drill: row.col("drill")?,
                        started_at: from_millis(row.col("started_at")?)?,
                        declared_at: from_millis(row.col("declared_at")?)?,
                        acknowledged_at: from_millis_opt(row.col("acknowledged_at")?)?,
                        mitigated_at: from_millis_opt(row.col("mitigated_at")?)?,
                        resolved_at: from_millis_opt(row.col("resolved_at")?)?,
                        detected_by_alert: row.col("detected")?,
                    })
                })
                .collect()
        })
    }

    /// Action items created at or after `since`, counted by status, with the open ones
    /// counted again from each of `open_thresholds`.
    pub async fn action_counts_since(
        &self,
        since: DateTime<Utc>,
        open_thresholds: [DateTime<Utc>; 3],
    ) -> Result<ActionCounts, StorageError> {
        let rows = with_pool!(self, |pool| {
            sqlx::query(
                "SELECT status, COUNT(*) AS n,
                    COUNT(*) FILTER (WHERE created_at >= $2) AS since0,
                    COUNT(*) FILTER (WHERE created_at >= $3) AS since1,
                    COUNT(*) FILTER (WHERE created_at >= $4) AS since2
             FROM action_items WHERE created_at >= $1 GROUP BY status",
            )
            .bind(to_millis(since))
            .bind(to_millis(open_thresholds[0]))
            .bind(to_millis(open_thresholds[1]))
            .bind(to_millis(open_thresholds[2]))
            .fetch_all(pool)
            .await?
            .iter()
            .map(|row| {
                Ok::<_, StorageError>((
                    row.col::<String>("status")?,
                    row.col::<i64>("n")?,
                    [row.col::<i64>("since0")?, row.col::<i64>("since1")?, row.col::<i64>("since2")?],
                ))
            })
            .collect::<Result<Vec<_>, _>>()?
        });
        let mut counts = ActionCounts::default();
        for (status, n, open_since) in rows {
            match parse_word(&status)? {
                crate::model::ActionStatus::Done => counts.done = n,
                crate::model::ActionStatus::Wontfix => counts.wontfix = n,
                crate::model::ActionStatus::Open => {
                    counts.open = n;
                    counts.open_since = open_since;
                }
            }
        }
        Ok(counts)
    }

    /// Owners of open items created at or after `since` and due before `today`, with
    /// how many each has, most first (then by owner), at most `limit`.
    pub async fn overdue_owners_since(
        &self,
        since: DateTime<Utc>,
        today: NaiveDate,
        limit: i64,
    ) -> Result<Vec<(String, i64)>, StorageError> {
        with_pool!(self, |pool| {
            Ok(sqlx::query_as(
                "SELECT owner, COUNT(*) AS n FROM action_items
             WHERE created_at >= $1 AND status = 'open' AND due_date < $2
             GROUP BY owner ORDER BY n DESC, owner LIMIT $3",
            )
            .bind(to_millis(since))
            .bind(today.format("%Y-%m-%d").to_string())
            .bind(limit)
            .fetch_all(pool)
            .await?)
        })
    }

    /// Open action items per incident, for incidents declared at or after `since`.
    pub async fn open_actions_per_incident_since(&self, since: DateTime<Utc>) -> Result<Vec<(i64, i64)>, StorageError> {
        with_pool!(self, |pool| {
            Ok(sqlx::query_as(
                "SELECT a.incident_id, COUNT(*) FROM action_items a JOIN incidents i ON i.id = a.incident_id
             WHERE i.declared_at >= $1 AND a.status = 'open'
             GROUP BY a.incident_id ORDER BY a.incident_id",
            )
            .bind(to_millis(since))
            .fetch_all(pool)
            .await?)
        })
    }
}
