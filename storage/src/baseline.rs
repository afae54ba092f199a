//! Benchmark support: raw SQLite inserts with one commit per row, or batched (the
//! yardsticks the ingestion benchmarks measure the core against, in the same run), a
//! synthetic history for the reminder-scan and digest benchmarks, and the query plan of
//! the reminder scan.
//!
//! Built only with the `bench-support` feature, which the benchmarks and examples turn on
//! through their dev-dependencies; the bot itself never carries it.

use sqlx::{Row, Sqlite, Transaction};

use crate::portable::Decision;
use crate::time::{to_date_text, to_millis};
use crate::{Db, StorageError};

impl Db {
    /// Inserts `rows` rows into a scratch table (`bench_raw`, kept so the sizes of both
    /// tables grow alike), one transaction each, with the same connection settings the
    /// timeline uses. Returns the number of rows written.
    pub async fn baseline_raw_inserts(&self, rows: usize) -> Result<usize, StorageError> {
        let mut writer = self.sqlite().ok_or(StorageError::SqliteOnly("this baseline"))?.writer_conn().await?;
        sqlx::query("CREATE TABLE IF NOT EXISTS bench_raw (id INTEGER PRIMARY KEY, source_id TEXT, body TEXT)")
            .execute(&mut *writer)
            .await?;
        for n in 0..rows {
            sqlx::query("BEGIN IMMEDIATE").execute(&mut *writer).await?;
            sqlx::query("INSERT INTO bench_raw (source_id, body) VALUES (?1, ?2)")
                .bind(format!("raw:{n}"))
                .bind("the database is slow again, looking at the replica lag")
                .execute(&mut *writer)
                .await?;
            sqlx::query("COMMIT").execute(&mut *writer).await?;
        }
        Ok(rows)
    }

    /// Like [`Db::baseline_raw_inserts`], but `batch` rows per transaction: the yardstick
    /// for ingestion under concurrency, where one commit can carry many rows.
    pub async fn baseline_raw_batched_inserts(&self, rows: usize, batch: usize) -> Result<usize, StorageError> {
        let mut writer = self.sqlite().ok_or(StorageError::SqliteOnly("this baseline"))?.writer_conn().await?;
        sqlx::query("CREATE TABLE IF NOT EXISTS bench_raw (id INTEGER PRIMARY KEY, source_id TEXT, body TEXT)")
            .execute(&mut *writer)
            .await?;
        let batch = batch.max(1);
        let mut written = 0;
        while written < rows {
            sqlx::query("BEGIN IMMEDIATE").execute(&mut *writer).await?;
            for n in written..(written + batch).min(rows) {
                sqlx::query("INSERT INTO bench_raw (source_id, body) VALUES (?1, ?2)")
                    .bind(format!("raw-batched:{n}"))
                    .bind("the database is slow again, looking at the replica lag")
                    .execute(&mut *writer)
                    .await?;
            }
            sqlx::query("COMMIT").execute(&mut *writer).await?;
            written = (written + batch).min(rows);
        }
        Ok(rows)
    }
}

/// The shape of a synthetic history for benchmarks.
#[derive(Debug, Clone, Copy)]
pub struct HistorySpec {
    pub incidents: usize,
    pub entries_per_incident: usize,
    pub actions_per_incident: usize,
    /// Incidents are spread evenly over this many days before `now`.
    pub days: i64,
    /// The chat platform the incidents belong to.
    pub platform: &'static str,
}

/// A few contributing factors, so recurrence has something to find.
const FACTORS: [&str; 6] = [
    "No alert on replica lag",
    "Manual failover",
    "No canary deploys",
    "Config not validated",
    "Retry storm",
    "Missing runbook",
];

impl Db {
    /// Writes a synthetic history in a few large transactions: resolved and closed
    /// incidents with timelines, postmortems and action items (most done, some open and
    /// overdue). For benchmarks only; returns how many rows of each were written.
    pub async fn seed_history(
        &self,
        spec: HistorySpec,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(usize, usize, usize), StorageError> {
        let span_ms = spec.days * 86_400_000;
        let mut entries = 0;
        let mut actions = 0;
        for batch in (0..spec.incidents).collect::<Vec<_>>().chunks(500) {
            let (batch_entries, batch_actions) = self
                .sqlite()
                .ok_or(StorageError::SqliteOnly("the synthetic history"))?
                .write(async |tx| {
                    let (mut entries, mut actions) = (0, 0);
                    for &n in batch {
                        let declared = to_millis(now) - span_ms + (span_ms * n as i64) / spec.incidents.max(1) as i64;
                        let (e, a) = seed_incident(tx, spec, n, declared).await?;
                        entries += e;
                        actions += a;
                    }
                    Ok(Decision::Commit((entries, actions)))
                })
                .await?;
            entries += batch_entries;
            actions += batch_actions;
        }
        Ok((spec.incidents, entries, actions))
    }

    /// One resolved incident with `entries` timeline entries (every tenth a key event),
    /// for the benchmark of the longest incident page. Returns its id.
    pub async fn seed_long_incident(
        &self,
        entries: usize,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<i64, StorageError> {
        let declared = to_millis(now) - 86_400_000;
        in_transaction!(self, |tx| {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO incidents (title, severity, status, platform, channel_name, channel_id, declared_by,
                    declare_source, started_at, declared_at, acknowledged_at, mitigated_at, resolved_at)
                 VALUES ('A very long incident', 'sev1', 'resolved', 'slack', 'inc-long', 'CLONG', 'U1', 'seed-long',
                    $1, $1, $2, $3, $4)
                 RETURNING id",
            )
            .bind(declared)
            .bind(declared + 60_000)
            .bind(declared + 1_800_000)
            .bind(declared + 7_200_000)
            .fetch_one(&mut **tx)
            .await?;
            for e in 0..entries {
                sqlx::query(
                    "INSERT INTO timeline_entries (incident_id, source_id, at, kind, author, text, is_key)
                     VALUES ($1, $2, $3, 'message', 'U2', 'still draining the queue on the east replicas', $4)",
                )
                .bind(id)
                .bind(format!("seed-long:{e}"))
                .bind(declared + e as i64 * 500)
                .bind(e % 10 == 0)
                .execute(&mut **tx)
                .await?;
            }
            Ok(Decision::Commit(id))
        })
    }

    /// What the Learning and Alerts work attach, over the whole seeded history: every
    /// incident names one of 20 services and one of four factor tags, and every third
    /// was detected by an alert. For the insights benchmark, which reads them. (`WHERE
    /// true` keeps SQLite from reading `ON CONFLICT` as a join's `ON`.)
    pub async fn seed_learning_and_detections(&self) -> Result<(), StorageError> {
        in_transaction!(self, |tx| {
            sqlx::query(
                "INSERT INTO incident_services (incident_id, service, added_by, added_at)
                 SELECT id, 'service-' || (id % 20), 'U1', declared_at FROM incidents WHERE true
                 ON CONFLICT DO NOTHING",
            )
            .execute(&mut **tx)
            .await?;
            sqlx::query(
                "INSERT INTO incident_factors (incident_id, tag, added_by, added_at)
                 SELECT id, CASE id % 4 WHEN 0 THEN 'change' WHEN 1 THEN 'capacity' WHEN 2 THEN 'monitoring-gap'
                            ELSE 'runbook-gap' END, 'U1', declared_at FROM incidents WHERE true
                 ON CONFLICT DO NOTHING",
            )
            .execute(&mut **tx)
            .await?;
            sqlx::query(
                "INSERT INTO incident_detections (incident_id, source, alertname, alert_at)
                 SELECT id, 'alertmanager', 'HighErrorRate', declared_at FROM incidents WHERE id % 3 = 0
                 ON CONFLICT DO NOTHING",
            )
            .execute(&mut **tx)
            .await?;
            Ok(Decision::Commit(()))
        })
    }

    /// The query plan SQLite picks for the overdue-reminder scan: the query of
    /// [`ActionFilter::OverdueOn`](crate::ActionFilter::OverdueOn).
    pub async fn explain_overdue_scan(&self) -> Result<Vec<String>, StorageError> {
        let rows = sqlx::query(
            "EXPLAIN QUERY PLAN SELECT * FROM action_items WHERE status = 'open' AND due_date < ?1
               AND (?2 IS NULL OR incident_id = ?2) ORDER BY due_date, id",
        )
        .bind("2026-01-01")
        .bind(Option::<i64>::None)
        .fetch_all(self.sqlite().ok_or(StorageError::SqliteOnly("EXPLAIN QUERY PLAN"))?.reader())
        .await?;
        rows.iter().map(|row| Ok(row.try_get::<String, _>("detail")?)).collect()
    }
}

/// Writes synthetic incident `n`, declared at `declared` (UTC milliseconds), with its
/// commander, timeline, postmortem (when closed) and action items. Returns how many
/// entries and action items it wrote.
async fn seed_incident(
    tx: &mut Transaction<'_, Sqlite>,
    spec: HistorySpec,
    n: usize,
    declared: i64,
) -> Result<(usize, usize), StorageError> {
    let closed = !n.is_multiple_of(10);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO incidents (title, severity, status, platform, channel_name, channel_id, declared_by,
            declare_source, started_at, declared_at, acknowledged_at, mitigated_at, resolved_at, closed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'U1', ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         RETURNING id",
    )
    .bind(format!("Synthetic incident {n}"))
    .bind(["sev1", "sev2", "sev3", "sev4"][n % 4])
    .bind(if closed { "closed" } else { "resolved" })
    .bind(spec.platform)
    .bind(format!("inc-{n}"))
    .bind(format!("C{n:08}"))
    .bind(format!("seed:{n}"))
    .bind(declared)
    .bind(declared)
    .bind(declared + 120_000)
    .bind(declared + 1_800_000)
    .bind(declared + 3_600_000)
    .bind(closed.then_some(declared + 86_400_000))
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO incident_roles (incident_id, role, user_id, assigned_at) VALUES (?1, 'commander', 'U1', ?2)",
    )
    .bind(id)
    .bind(declared)
    .execute(&mut **tx)
    .await?;
    for e in 0..spec.entries_per_incident {
        sqlx::query(
            "INSERT INTO timeline_entries (incident_id, source_id, at, kind, author, text, is_key)
             VALUES (?1, ?2, ?3, ?4, 'U2', 'checking the dashboards and the replica lag', ?5)",
        )
        .bind(id)
        .bind(format!("seed:{n}:{e}"))
        .bind(declared + e as i64 * 1000)
        .bind(if e == 0 {
            "declared"
        } else if e % 10 == 0 {
            "update"
        } else {
            "message"
        })
        .bind(e % 10 == 0)
        .execute(&mut **tx)
        .await?;
    }
    if closed {
        sqlx::query(
            "INSERT INTO postmortems (incident_id, summary, impact, detection, trigger_text, contributing_factors,
                resolution, went_well, went_wrong, got_lucky, lessons, updated_at, updated_by)
             VALUES (?1, 's', 'i', 'd', 't', ?2, 'r', 'w', 'ww', 'It happened at night', 'Alert earlier', ?3, 'U1')",
        )
        .bind(id)
        .bind(format!("{}; {}", FACTORS[n % FACTORS.len()], FACTORS[(n / 7) % FACTORS.len()]))
        .bind(declared + 86_400_000)
        .execute(&mut **tx)
        .await?;
    }
    for a in 0..spec.actions_per_incident {
        let open = (n + a).is_multiple_of(20);
        let due = chrono::DateTime::from_timestamp_millis(declared + 14 * 86_400_000)
            .map(|d| to_date_text(d.date_naive()))
            .unwrap_or_else(|| "2026-01-01".to_string());
        sqlx::query(
            "INSERT INTO action_items (incident_id, text, owner, due_date, priority, kind, status,
                created_by, created_at, closed_at)
             VALUES (?1, 'Follow up on the synthetic incident', ?2, ?3, 'medium', 'prevent', ?4, 'U1', ?5, ?6)",
        )
        .bind(id)
        .bind(format!("U{}", a % 50))
        .bind(due)
        .bind(if open { "open" } else { "done" })
        .bind(declared)
        .bind((!open).then_some(declared + 7 * 86_400_000))
        .execute(&mut **tx)
        .await?;
    }
    Ok((spec.entries_per_incident, spec.actions_per_incident))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_synthetic_history_hangs_together() {
        let db = Db::in_memory().await.unwrap();
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let spec = HistorySpec {
            incidents: 12,
            entries_per_incident: 11,
            actions_per_incident: 3,
            days: 30,
            platform: "slack",
        };
        assert_eq!(db.seed_history(spec, now).await.unwrap(), (12, 132, 36));
        // Each incident's rows point at it: the id each insert returned.
        let incident = db.incident_by_channel(&"C00000007".into()).await.unwrap().unwrap();
        assert_eq!(incident.commander.as_deref(), Some("U1"));
        let timeline = db.timeline(incident.id, false).await.unwrap();
        assert_eq!(timeline.len(), 11);
        assert_eq!(timeline.iter().filter(|e| e.is_key).count(), 2, "entries 0 and 10 are key");
        assert_eq!(db.actions(&crate::ActionFilter::Incident(incident.id)).await.unwrap().len(), 3);
        assert!(db.postmortem(incident.id).await.unwrap().is_some());
        assert!(!db.explain_overdue_scan().await.unwrap().is_empty());
    }
}
