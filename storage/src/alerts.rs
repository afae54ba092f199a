//! Alerts from monitoring: each one stored once per (source, fingerprint), the groups
//! they share an incident or a triage post in, how incidents were detected, and the
//! "all alerts resolved" nudges sent. A delivery is stored in one transaction, so what
//! the bot acknowledges to a sender is committed; applying it (declaring, posting) is
//! the alert worker's job, marked by `pending`.

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use crate::model::{EventSource, Severity};
use crate::time::{from_millis, from_millis_opt, parse_word, to_millis};
use crate::writer::Decision;
use crate::{Db, StorageError};

macro_rules! alert_word {
    ($(#[$meta:meta])* $name:ident, $what:literal, { $($(#[$vmeta:meta])* $variant:ident => $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::UnknownWord;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($word => Ok($name::$variant),)+
                    _ => Err(crate::UnknownWord {
                        word: s.to_string(),
                        what: $what,
                        expected: concat!($($word, " "),+).trim_ascii_end(),
                    }),
                }
            }
        }
    };
}

alert_word!(
    /// Whether an alert is firing now.
    AlertStatus, "alert status", { Firing => "firing", Resolved => "resolved" }
);

alert_word!(
    /// What became of an alert.
    AlertState, "alert state", {
        /// Stored, not yet looked at by the rules.
        New => "new",
        /// Waiting in the triage queue for a person to decide.
        Triage => "triage",
        /// Part of an incident.
        Attached => "attached",
        /// A person dismissed it.
        Dismissed => "dismissed",
        /// A rule said to ignore it.
        Ignored => "ignored",
        /// It resolved on its own while waiting in triage.
        Noise => "noise",
    }
);

alert_word!(
    /// How a triage post ended.
    TriageOutcome, "triage outcome", {
        Declared => "declared",
        Attached => "attached",
        Dismissed => "dismissed",
        Noise => "noise",
    }
);

/// One alert as a delivery carries it, normalised by the core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlert {
    pub fingerprint: String,
    pub group_key: String,
    pub alertname: String,
    pub title: String,
    /// JSON object of strings.
    pub labels: String,
    /// JSON object of strings.
    pub annotations: String,
    pub url: Option<String>,
    pub status: AlertStatus,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAlert {
    pub id: i64,
    pub source: String,
    pub fingerprint: String,
    pub group_key: String,
    pub alertname: String,
    pub title: String,
    pub labels: String,
    pub annotations: String,
    pub url: Option<String>,
    pub status: AlertStatus,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub deliveries: i64,
    pub generation: i64,
    pub state: AlertState,
    pub incident_id: Option<i64>,
    pub pending: bool,
    pub version: i64,
}

/// A stored alert group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertGroup {
    pub id: i64,
    pub source: String,
    pub group_key: String,
    pub incident_id: Option<i64>,
    pub proposed_severity: Option<Severity>,
    pub triage_claimed: bool,
    pub triage_channel: Option<String>,
    pub triage_message: Option<String>,
    pub triage_outcome: Option<TriageOutcome>,
}

/// What storing one delivery did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoredDelivery {
    /// The delivery id was seen before: nothing was written.
    pub duplicate_delivery: bool,
    /// Alerts seen for the first time.
    pub new: usize,
    /// Alerts whose state changed (resolved, or firing again).
    pub changed: usize,
    /// Alerts repeated unchanged: only when they were last seen moved.
    pub repeated: usize,
}

/// How an incident was detected, when an alert detected it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    pub incident_id: i64,
    pub source: String,
    pub alertname: String,
    pub alert_at: DateTime<Utc>,
}

/// Alerts that ended without an incident, counted by source and alertname.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoiseCount {
    pub source: String,
    pub alertname: String,
    pub dismissed: i64,
    pub resolved_on_own: i64,
}

/// `SELECT` of every alert column, then `$suffix` (`concat!` needs literals, and sqlx
/// takes only static SQL).
macro_rules! alert_select {
    ($suffix:literal) => {
        concat!(
            "SELECT id, source, fingerprint, group_key, alertname, title, labels, annotations, url, status,
                    starts_at, ends_at, first_seen, last_seen, deliveries, generation, state, incident_id, pending,
                    version FROM alerts ",
            $suffix
        )
    };
}

fn alert_from_row(row: &SqliteRow) -> Result<StoredAlert, StorageError> {
    Ok(StoredAlert {
        id: row.try_get("id")?,
        source: row.try_get("source")?,
        fingerprint: row.try_get("fingerprint")?,
        group_key: row.try_get("group_key")?,
        alertname: row.try_get("alertname")?,
        title: row.try_get("title")?,
        labels: row.try_get("labels")?,
        annotations: row.try_get("annotations")?,
        url: row.try_get("url")?,
        status: parse_word(row.try_get::<&str, _>("status")?)?,
        starts_at: from_millis(row.try_get("starts_at")?)?,
        ends_at: from_millis_opt(row.try_get("ends_at")?)?,
        first_seen: from_millis(row.try_get("first_seen")?)?,
        last_seen: from_millis(row.try_get("last_seen")?)?,
        deliveries: row.try_get("deliveries")?,
        generation: row.try_get("generation")?,
        state: parse_word(row.try_get::<&str, _>("state")?)?,
        incident_id: row.try_get("incident_id")?,
        pending: row.try_get("pending")?,
        version: row.try_get("version")?,
    })
}

fn group_from_row(row: &SqliteRow) -> Result<AlertGroup, StorageError> {
    Ok(AlertGroup {
        id: row.try_get("id")?,
        source: row.try_get("source")?,
        group_key: row.try_get("group_key")?,
        incident_id: row.try_get("incident_id")?,
        proposed_severity: match row.try_get::<Option<&str>, _>("proposed_severity")? {
            Some(word) => Some(parse_word(word)?),
            None => None,
        },
        triage_claimed: row.try_get::<Option<i64>, _>("triage_claimed_at")?.is_some(),
        triage_channel: row.try_get("triage_channel")?,
        triage_message: row.try_get("triage_message")?,
        triage_outcome: match row.try_get::<Option<&str>, _>("triage_outcome")? {
            Some(word) => Some(parse_word(word)?),
            None => None,
        },
    })
}

impl Db {
    /// Stores one delivery of `source` in one transaction. A `delivery_id` seen before
    /// (PagerDuty's `X-Webhook-Id`) writes nothing. A new alert is stored pending; a
    /// known one that changed state (resolved, or firing again) becomes pending again;
    /// one repeated unchanged only moves `last_seen`.
    pub async fn store_alert_delivery(
        &self,
        source: &str,
        delivery_id: Option<&str>,
        alerts: &[NewAlert],
        at: DateTime<Utc>,
    ) -> Result<StoredDelivery, StorageError> {
        self.write(async |tx| {
            let mut stored = StoredDelivery::default();
            if let Some(delivery_id) = delivery_id {
                let rows = sqlx::query(
                    "INSERT INTO inbound_events (source, event_id, processed_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT DO NOTHING",
                )
                .bind(EventSource::alerts(source).as_str())
                .bind(delivery_id)
                .bind(to_millis(at))
                .execute(&mut **tx)
                .await?
                .rows_affected();
                if rows == 0 {
                    stored.duplicate_delivery = true;
                    return Ok(Decision::Rollback(stored));
                }
            }
            for alert in alerts {
                let known: Option<(String, i64)> =
                    sqlx::query_as("SELECT status, starts_at FROM alerts WHERE source = ?1 AND fingerprint = ?2")
                        .bind(source)
                        .bind(&alert.fingerprint)
                        .fetch_optional(&mut **tx)
                        .await?;
                match known {
                    None => {
                        sqlx::query(
                            "INSERT INTO alerts (source, fingerprint, group_key, alertname, title, labels,
                                                 annotations, url, status, starts_at, ends_at, first_seen, last_seen)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)",
                        )
                        .bind(source)
                        .bind(&alert.fingerprint)
                        .bind(&alert.group_key)
                        .bind(&alert.alertname)
                        .bind(&alert.title)
                        .bind(&alert.labels)
                        .bind(&alert.annotations)
                        .bind(&alert.url)
                        .bind(alert.status.as_str())
                        .bind(to_millis(alert.starts_at))
                        .bind(alert.ends_at.map(to_millis))
                        .bind(to_millis(at))
                        .execute(&mut **tx)
                        .await?;
                        sqlx::query(
                            "INSERT INTO alert_groups (source, group_key) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                        )
                        .bind(source)
                        .bind(&alert.group_key)
                        .execute(&mut **tx)
                        .await?;
                        stored.new += 1;
                    }
                    Some((status, starts_at)) => {
                        let was_firing = status == AlertStatus::Firing.as_str();
                        let now_firing = alert.status == AlertStatus::Firing;
                        // Firing again after a resolve: a later start than the stored one.
                        let refired = !was_firing && now_firing && to_millis(alert.starts_at) > starts_at;
                        let resolved = was_firing && !now_firing;
                        if refired || resolved {
                            sqlx::query(
                                "UPDATE alerts SET status = ?1, starts_at = CASE WHEN ?2 THEN ?3 ELSE starts_at END,
                                        ends_at = ?4, last_seen = ?5, deliveries = deliveries + 1,
                                        generation = generation + CASE WHEN ?2 THEN 1 ELSE 0 END,
                                        labels = ?6, annotations = ?7, url = ?8,
                                        pending = 1, version = version + 1
                                 WHERE source = ?9 AND fingerprint = ?10",
                            )
                            .bind(alert.status.as_str())
                            .bind(refired)
                            .bind(to_millis(alert.starts_at))
                            .bind(alert.ends_at.map(to_millis))
                            .bind(to_millis(at))
                            .bind(&alert.labels)
                            .bind(&alert.annotations)
                            .bind(&alert.url)
                            .bind(source)
                            .bind(&alert.fingerprint)
                            .execute(&mut **tx)
                            .await?;
                            stored.changed += 1;
                        } else {
                            sqlx::query(
                                "UPDATE alerts SET last_seen = ?1, deliveries = deliveries + 1
                                 WHERE source = ?2 AND fingerprint = ?3",
                            )
                            .bind(to_millis(at))
                            .bind(source)
                            .bind(&alert.fingerprint)
                            .execute(&mut **tx)
                            .await?;
                            stored.repeated += 1;
                        }
                    }
                }
            }
            Ok(Decision::Commit(stored))
        })
        .await
    }

    /// Alerts with a change the worker has not applied yet, oldest first, after the
    /// alert `after` (0 for the first page).
    pub async fn pending_alerts(&self, after: i64, limit: i64) -> Result<Vec<StoredAlert>, StorageError> {
        let rows = sqlx::query(alert_select!("WHERE pending = 1 AND id > ?1 ORDER BY id LIMIT ?2"))
            .bind(after)
            .bind(limit)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(alert_from_row).collect()
    }

    pub async fn alert(&self, id: i64) -> Result<Option<StoredAlert>, StorageError> {
        let row = sqlx::query(alert_select!("WHERE id = ?1")).bind(id).fetch_optional(self.reader()).await?;
        row.as_ref().map(alert_from_row).transpose()
    }

    /// Every alert of one group, oldest first.
    pub async fn alerts_of_group(&self, source: &str, group_key: &str) -> Result<Vec<StoredAlert>, StorageError> {
        let rows = sqlx::query(alert_select!("WHERE source = ?1 AND group_key = ?2 ORDER BY id"))
            .bind(source)
            .bind(group_key)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(alert_from_row).collect()
    }

    /// Every alert attached to an incident, oldest first.
    pub async fn alerts_of_incident(&self, incident_id: i64) -> Result<Vec<StoredAlert>, StorageError> {
        let rows = sqlx::query(alert_select!("WHERE incident_id = ?1 ORDER BY id"))
            .bind(incident_id)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(alert_from_row).collect()
    }

    /// Alerts waiting in triage, oldest first.
    pub async fn alerts_in_triage(&self, limit: i64) -> Result<Vec<StoredAlert>, StorageError> {
        let rows = sqlx::query(alert_select!("WHERE state = 'triage' ORDER BY id LIMIT ?1"))
            .bind(limit)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(alert_from_row).collect()
    }

    /// Sets what became of an alert. With `applied_version`, it also clears `pending`
    /// when no newer change arrived since the worker read it.
    pub async fn set_alert_state(
        &self,
        id: i64,
        state: AlertState,
        incident_id: Option<i64>,
        applied_version: Option<i64>,
    ) -> Result<(), StorageError> {
        self.write(async |tx| {
            sqlx::query(
                "UPDATE alerts SET state = ?1, incident_id = ?2,
                        pending = CASE WHEN ?3 IS NOT NULL AND version = ?3 THEN 0 ELSE pending END
                 WHERE id = ?4",
            )
            .bind(state.as_str())
            .bind(incident_id)
            .bind(applied_version)
            .bind(id)
            .execute(&mut **tx)
            .await?;
            Ok(Decision::Commit(()))
        })
        .await
    }

    /// Clears `pending` for a change applied with nothing else to record.
    pub async fn finish_alert(&self, id: i64, applied_version: i64) -> Result<(), StorageError> {
        self.write(async |tx| {
            sqlx::query("UPDATE alerts SET pending = 0 WHERE id = ?1 AND version = ?2")
                .bind(id)
                .bind(applied_version)
                .execute(&mut **tx)
                .await?;
            Ok(Decision::Commit(()))
        })
        .await
    }

    pub async fn alert_group(&self, source: &str, group_key: &str) -> Result<Option<AlertGroup>, StorageError> {
        let row = sqlx::query("SELECT * FROM alert_groups WHERE source = ?1 AND group_key = ?2")
            .bind(source)
            .bind(group_key)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(group_from_row).transpose()
    }

    /// Links a group to the incident its alerts share.
    pub async fn set_group_incident(&self, group_id: i64, incident_id: Option<i64>) -> Result<(), StorageError> {
        self.write(async |tx| {
            sqlx::query("UPDATE alert_groups SET incident_id = ?1 WHERE id = ?2")
                .bind(incident_id)
                .bind(group_id)
                .execute(&mut **tx)
                .await?;
            Ok(Decision::Commit(()))
        })
        .await
    }

    /// Opens a group's triage: clears an earlier outcome and records what it proposes.
    /// Returns true for the one caller that claimed its post; a post claimed earlier (by
    /// a run that stopped before recording it) is never sent again.
    pub async fn claim_triage_post(
        &self,
        group_id: i64,
        proposed: Severity,
        at: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        self.write(async |tx| {
            let rows = sqlx::query(
                "UPDATE alert_groups SET proposed_severity = ?1, triage_claimed_at = ?2, triage_outcome = NULL,
                        triage_channel = NULL, triage_message = NULL
                 WHERE id = ?3 AND (triage_claimed_at IS NULL OR triage_outcome IS NOT NULL)",
            )
            .bind(proposed.as_str())
            .bind(to_millis(at))
            .bind(group_id)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            Ok(Decision::Commit(rows > 0))
        })
        .await
    }

    /// Records where a group's triage post went, so it can be updated.
    pub async fn set_triage_post(
        &self,
        group_id: i64,
        channel: &crate::model::ChannelId,
        message: &str,
    ) -> Result<(), StorageError> {
        self.write(async |tx| {
            sqlx::query("UPDATE alert_groups SET triage_channel = ?1, triage_message = ?2 WHERE id = ?3")
                .bind(channel.as_ref())
                .bind(message)
                .bind(group_id)
                .execute(&mut **tx)
                .await?;
            Ok(Decision::Commit(()))
        })
        .await
    }

    /// Ends a group's triage, and moves its alerts still in triage to `alert_state`
    /// (attached to `incident_id` when given). False when the triage had ended already.
    pub async fn end_triage(
        &self,
        group_id: i64,
        outcome: TriageOutcome,
        alert_state: AlertState,
        incident_id: Option<i64>,
    ) -> Result<bool, StorageError> {
        self.write(async |tx| {
            let group: Option<(String, String)> = sqlx::query_as(
                "SELECT source, group_key FROM alert_groups WHERE id = ?1 AND triage_outcome IS NULL
                 AND triage_claimed_at IS NOT NULL",
            )
            .bind(group_id)
            .fetch_optional(&mut **tx)
            .await?;
            let Some((source, group_key)) = group else {
                return Ok(Decision::Rollback(false));
            };
            sqlx::query(
                "UPDATE alert_groups SET triage_outcome = ?1, incident_id = COALESCE(?2, incident_id) WHERE id = ?3",
            )
            .bind(outcome.as_str())
            .bind(incident_id)
            .bind(group_id)
            .execute(&mut **tx)
            .await?;
            sqlx::query(
                "UPDATE alerts SET state = ?1, incident_id = COALESCE(?2, incident_id)
                 WHERE source = ?3 AND group_key = ?4 AND state = 'triage'",
            )
            .bind(alert_state.as_str())
            .bind(incident_id)
            .bind(&source)
            .bind(&group_key)
            .execute(&mut **tx)
            .await?;
            Ok(Decision::Commit(true))
        })
        .await
    }

    /// Records that an alert detected `incident_id`; the first record stays.
    pub async fn record_detection(&self, detection: &Detection) -> Result<(), StorageError> {
        self.write(async |tx| {
            sqlx::query(
                "INSERT INTO incident_detections (incident_id, source, alertname, alert_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT DO NOTHING",
            )
            .bind(detection.incident_id)
            .bind(&detection.source)
            .bind(&detection.alertname)
            .bind(to_millis(detection.alert_at))
            .execute(&mut **tx)
            .await?;
            Ok(Decision::Commit(()))
        })
        .await
    }

    pub async fn detection(&self, incident_id: i64) -> Result<Option<Detection>, StorageError> {
        let row: Option<(i64, String, String, i64)> = sqlx::query_as(
            "SELECT incident_id, source, alertname, alert_at FROM incident_detections WHERE incident_id = ?1",
        )
        .bind(incident_id)
        .fetch_optional(self.reader())
        .await?;
        row.map(|(incident_id, source, alertname, at)| {
            Ok(Detection { incident_id, source, alertname, alert_at: from_millis(at)? })
        })
        .transpose()
    }

    /// Every detection of incidents declared in `[from, to)`.
    pub async fn detections_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Detection>, StorageError> {
        let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(
            "SELECT d.incident_id, d.source, d.alertname, d.alert_at FROM incident_detections d
             JOIN incidents i ON i.id = d.incident_id
             WHERE i.declared_at >= ?1 AND i.declared_at < ?2 ORDER BY d.incident_id",
        )
        .bind(to_millis(from))
        .bind(to_millis(to))
        .fetch_all(self.reader())
        .await?;
        rows.into_iter()
            .map(|(incident_id, source, alertname, at)| {
                Ok(Detection { incident_id, source, alertname, alert_at: from_millis(at)? })
            })
            .collect()
    }

    /// Alerts first seen in `[from, to)` that were dismissed or resolved on their own.
    pub async fn alert_noise_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<NoiseCount>, StorageError> {
        let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT source, alertname,
                    SUM(CASE WHEN state = 'dismissed' THEN 1 ELSE 0 END),
                    SUM(CASE WHEN state = 'noise' THEN 1 ELSE 0 END)
             FROM alerts WHERE state IN ('dismissed', 'noise') AND first_seen >= ?1 AND first_seen < ?2
             GROUP BY source, alertname ORDER BY COUNT(*) DESC, source, alertname",
        )
        .bind(to_millis(from))
        .bind(to_millis(to))
        .fetch_all(self.reader())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(source, alertname, dismissed, resolved_on_own)| NoiseCount {
                source,
                alertname,
                dismissed,
                resolved_on_own,
            })
            .collect())
    }

    /// Alerts by source and state, for the metrics.
    pub async fn alert_counts(&self) -> Result<Vec<(String, AlertState, i64)>, StorageError> {
        let rows: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT source, state, COUNT(*) FROM alerts GROUP BY source, state ORDER BY source, state")
                .fetch_all(self.reader())
                .await?;
        rows.into_iter().map(|(source, state, count)| Ok((source, parse_word(&state)?, count))).collect()
    }

    /// Claims the "all alerts resolved" nudge of `incident_id` for the change `key`.
    /// True for exactly one caller per key.
    pub async fn claim_alert_nudge(
        &self,
        incident_id: i64,
        key: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        self.write(async |tx| {
            let rows = sqlx::query(
                "INSERT INTO alert_nudges (incident_id, nudge_key, sent_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            )
            .bind(incident_id)
            .bind(key)
            .bind(to_millis(at))
            .execute(&mut **tx)
            .await?
            .rows_affected();
            Ok(Decision::Commit(rows > 0))
        })
        .await
    }

    /// The incident a declare with this source id stored.
    pub async fn incident_id_by_declare_source(
        &self,
        declare_source: &crate::model::SourceId,
    ) -> Result<Option<i64>, StorageError> {
        Ok(sqlx::query_scalar("SELECT id FROM incidents WHERE declare_source = ?1")
            .bind(declare_source.as_ref())
            .fetch_optional(self.reader())
            .await?)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn alert(fingerprint: &str, status: AlertStatus, starts: i64) -> NewAlert {
        NewAlert {
            fingerprint: fingerprint.into(),
            group_key: "g".into(),
            alertname: "HighErrorRate".into(),
            title: "Errors".into(),
            labels: "{}".into(),
            annotations: "{}".into(),
            url: None,
            status,
            starts_at: DateTime::from_timestamp(starts, 0).unwrap(),
            ends_at: None,
        }
    }

    #[tokio::test]
    async fn repeats_only_move_last_seen_and_changes_become_pending() {
        let db = Db::in_memory().await.unwrap();
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let firing = alert("f1", AlertStatus::Firing, 1_799_999_000);
        let first = db.store_alert_delivery("prom", None, std::slice::from_ref(&firing), at).await.unwrap();
        assert_eq!(first.new, 1);
        let stored = db.pending_alerts(0, 10).await.unwrap().remove(0);
        db.set_alert_state(stored.id, AlertState::Triage, None, Some(stored.version)).await.unwrap();
        assert!(db.pending_alerts(0, 10).await.unwrap().is_empty());

        let repeat = db.store_alert_delivery("prom", None, std::slice::from_ref(&firing), at).await.unwrap();
        assert_eq!((repeat.new, repeat.changed, repeat.repeated), (0, 0, 1));
        assert!(db.pending_alerts(0, 10).await.unwrap().is_empty());
        assert_eq!(db.alert(stored.id).await.unwrap().unwrap().deliveries, 2);

        let resolved = alert("f1", AlertStatus::Resolved, 1_799_999_000);
        assert_eq!(db.store_alert_delivery("prom", None, &[resolved], at).await.unwrap().changed, 1);
        let again = alert("f1", AlertStatus::Firing, 1_800_000_500);
        assert_eq!(db.store_alert_delivery("prom", None, &[again], at).await.unwrap().changed, 1);
        let pending = db.pending_alerts(0, 10).await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].generation, 2);
        // The same fingerprint from another source is another alert.
        assert_eq!(db.store_alert_delivery("grafana", None, &[firing], at).await.unwrap().new, 1);
    }

    #[tokio::test]
    async fn a_delivery_id_is_applied_once() {
        let db = Db::in_memory().await.unwrap();
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let firing = alert("f1", AlertStatus::Firing, 1_799_999_000);
        let first = db.store_alert_delivery("pd", Some("w1"), std::slice::from_ref(&firing), at).await.unwrap();
        assert!(!first.duplicate_delivery);
        let second = db.store_alert_delivery("pd", Some("w1"), &[firing], at).await.unwrap();
        assert!(second.duplicate_delivery);
        assert_eq!(db.alert(1).await.unwrap().unwrap().deliveries, 1);
    }
}
