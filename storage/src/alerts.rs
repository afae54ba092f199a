//! Alerts from monitoring: each one stored once per (source, fingerprint), the groups
//! they share an incident or a triage post in, how incidents were detected, and the
//! "all alerts resolved" nudges sent. A delivery is stored in one transaction, so what
//! the bot acknowledges to a sender is committed; applying it (declaring, posting) is
//! the alert worker's job, marked by `pending`.

use crate::model::{EventSource, Severity};
use crate::portable::{Decision, PortableRow};
use crate::time::{from_millis, from_millis_opt, parse_word, to_millis};
use crate::{Db, StorageError};
use chrono::{DateTime, Utc};

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

fn alert_from_row(row: &impl PortableRow) -> Result<StoredAlert, StorageError> {
    Ok(StoredAlert {
        id: row.col("id")?,
        source: row.col("source")?,
        fingerprint: row.col("fingerprint")?,
        group_key: row.col("group_key")?,
        alertname: row.col("alertname")?,
        title: row.col("title")?,
        labels: row.col("labels")?,
        annotations: row.col("annotations")?,
        url: row.col("url")?,
        status: parse_word(&row.col::<String>("status")?)?,
        starts_at: from_millis(row.col("starts_at")?)?,
        ends_at: from_millis_opt(row.col("ends_at")?)?,
        first_seen: from_millis(row.col("first_seen")?)?,
        last_seen: from_millis(row.col("last_seen")?)?,
        deliveries: row.col("deliveries")?,
        generation: row.col("generation")?,
        state: parse_word(&row.col::<String>("state")?)?,
        incident_id: row.col("incident_id")?,
        pending: row.col("pending")?,
        version: row.col("version")?,
    })
}

fn group_from_row(row: &impl PortableRow) -> Result<AlertGroup, StorageError> {
    Ok(AlertGroup {
        id: row.col("id")?,
        source: row.col("source")?,
        group_key: row.col("group_key")?,
        incident_id: row.col("incident_id")?,
        proposed_severity: match row.col::<Option<String>>("proposed_severity")? {
            Some(word) => Some(parse_word(&word)?),
            None => None,
        },
        triage_claimed: row.col::<Option<i64>>("triage_claimed_at")?.is_some(),
        triage_channel: row.col("triage_channel")?,
        triage_message: row.col("triage_message")?,
        triage_outcome: match row.col::<Option<String>>("triage_outcome")? {
            Some(word) => Some(parse_word(&word)?),
            None => None,
        },
    })
}

fn detection_from_tuple(
    (incident_id, source, alertname, at): (i64, String, String, i64),
) -> Result<Detection, StorageError> {
    Ok(Detection { incident_id, source, alertname, alert_at: from_millis(at)? })
}

impl Db {
    /// Stores one delivery of `source` in one transaction. A `delivery_id` seen before
    /// (PagerDuty's `X-Webhook-Id`) writes nothing. A new alert is stored pending; a
    /// known one that changed state (resolved, or firing again) becomes pending again;
    /// one repeated unchanged only moves `last_seen`.
    ///
    /// On Postgres two copies may store deliveries of one alert at once: a new alert is
    /// inserted `ON CONFLICT DO NOTHING`, and a known one is read by the `UPDATE` that
    /// counts the delivery, which waits for the other's row lock and then sees its
    /// change, so every alert is stored once and every change is counted once.
    pub async fn store_alert_delivery(
        &self,
        source: &str,
        delivery_id: Option<&str>,
        alerts: &[NewAlert],
        at: DateTime<Utc>,
    ) -> Result<StoredDelivery, StorageError> {
        in_transaction!(self, |tx| {
            let mut stored = StoredDelivery::default();
            if let Some(delivery_id) = delivery_id {
                let rows = sqlx::query(
                    "INSERT INTO inbound_events (source, event_id, processed_at) VALUES ($1, $2, $3)
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
            // In fingerprint order, so two deliveries of the same alerts lock their rows
            // in the same order on Postgres and never wait on each other in a cycle.
            let mut in_order: Vec<&NewAlert> = alerts.iter().collect();
            in_order.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
            for alert in in_order {
                // Looked up first, so a repeat or a change spends no id (alert numbers are
                // shown to people). Two copies inserting the same new alert at once on
                // Postgres: the loser's insert does nothing and it goes on as for a known
                // alert (that race alone may skip an id, as a sequence does).
                let known: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM alerts WHERE source = $1 AND fingerprint = $2")
                        .bind(source)
                        .bind(&alert.fingerprint)
                        .fetch_optional(&mut **tx)
                        .await?;
                if known.is_none() {
                    let inserted = sqlx::query(
                        "INSERT INTO alerts (source, fingerprint, group_key, alertname, title, labels,
                                             annotations, url, status, starts_at, ends_at, first_seen, last_seen)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
                         ON CONFLICT (source, fingerprint) DO NOTHING",
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
                    .await?
                    .rows_affected()
                        > 0;
                    if inserted {
                        sqlx::query(
                            "INSERT INTO alert_groups (source, group_key) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                        )
                        .bind(source)
                        .bind(&alert.group_key)
                        .execute(&mut **tx)
                        .await?;
                        stored.new += 1;
                        continue;
                    }
                }
                // Counting the delivery also locks the row on Postgres: a second copy storing
                // the same alert waits here, then reads the first one's change.
                let (status, starts_at): (String, i64) = sqlx::query_as(
                    "UPDATE alerts SET last_seen = $1, deliveries = deliveries + 1
                     WHERE source = $2 AND fingerprint = $3 RETURNING status, starts_at",
                )
                .bind(to_millis(at))
                .bind(source)
                .bind(&alert.fingerprint)
                .fetch_one(&mut **tx)
                .await?;
                let was_firing = status == AlertStatus::Firing.as_str();
                let now_firing = alert.status == AlertStatus::Firing;
                // Firing again after a resolve: a later start than the stored one.
                let refired = !was_firing && now_firing && to_millis(alert.starts_at) > starts_at;
                let resolved = was_firing && !now_firing;
                if refired || resolved {
                    sqlx::query(
                        "UPDATE alerts SET status = $1, starts_at = CASE WHEN $2 THEN $3 ELSE starts_at END,
                                ends_at = $4, generation = generation + CASE WHEN $2 THEN 1 ELSE 0 END,
                                labels = $5, annotations = $6, url = $7,
                                pending = TRUE, version = version + 1
                         WHERE source = $8 AND fingerprint = $9",
                    )
                    .bind(alert.status.as_str())
                    .bind(refired)
                    .bind(to_millis(alert.starts_at))
                    .bind(alert.ends_at.map(to_millis))
                    .bind(&alert.labels)
                    .bind(&alert.annotations)
                    .bind(&alert.url)
                    .bind(source)
                    .bind(&alert.fingerprint)
                    .execute(&mut **tx)
                    .await?;
                    stored.changed += 1;
                } else {
                    stored.repeated += 1;
                }
            }
            Ok(Decision::Commit(stored))
        })
    }

    /// Alerts with a change the worker has not applied yet, oldest first, after the
    /// alert `after` (0 for the first page).
    pub async fn pending_alerts(&self, after: i64, limit: i64) -> Result<Vec<StoredAlert>, StorageError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(alert_select!("WHERE pending = TRUE AND id > $1 ORDER BY id LIMIT $2"))
                .bind(after)
                .bind(limit)
                .fetch_all(pool)
                .await?;
            rows.iter().map(alert_from_row).collect()
        })
    }

    pub async fn alert(&self, id: i64) -> Result<Option<StoredAlert>, StorageError> {
        with_pool!(self, |pool| {
            let row = sqlx::query(alert_select!("WHERE id = $1")).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(alert_from_row).transpose()
        })
    }

    /// Every alert of one group, oldest first.
    pub async fn alerts_of_group(&self, source: &str, group_key: &str) -> Result<Vec<StoredAlert>, StorageError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(alert_select!("WHERE source = $1 AND group_key = $2 ORDER BY id"))
                .bind(source)
                .bind(group_key)
                .fetch_all(pool)
                .await?;
            rows.iter().map(alert_from_row).collect()
        })
    }

    /// Every alert attached to an incident, oldest first.
    pub async fn alerts_of_incident(&self, incident_id: i64) -> Result<Vec<StoredAlert>, StorageError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(alert_select!("WHERE incident_id = $1 ORDER BY id"))
                .bind(incident_id)
                .fetch_all(pool)
                .await?;
            rows.iter().map(alert_from_row).collect()
        })
    }

    /// Alerts waiting in triage, oldest first.
    pub async fn alerts_in_triage(&self, limit: i64) -> Result<Vec<StoredAlert>, StorageError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(alert_select!("WHERE state = 'triage' ORDER BY id LIMIT $1"))
                .bind(limit)
                .fetch_all(pool)
                .await?;
            rows.iter().map(alert_from_row).collect()
        })
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
        in_transaction!(self, |tx| {
            sqlx::query(
                "UPDATE alerts SET state = $1, incident_id = $2,
                        pending = CASE WHEN $3 IS NOT NULL AND version = $3 THEN FALSE ELSE pending END
                 WHERE id = $4",
            )
            .bind(state.as_str())
            .bind(incident_id)
            .bind(applied_version)
            .bind(id)
            .execute(&mut **tx)
            .await?;
            Ok(Decision::Commit(()))
        })
    }

    /// Clears `pending` for a change applied with nothing else to record.
    pub async fn finish_alert(&self, id: i64, applied_version: i64) -> Result<(), StorageError> {
        in_transaction!(self, |tx| {
            sqlx::query("UPDATE alerts SET pending = FALSE WHERE id = $1 AND version = $2")
                .bind(id)
                .bind(applied_version)
                .execute(&mut **tx)
                .await?;
            Ok(Decision::Commit(()))
        })
    }

    pub async fn alert_group(&self, source: &str, group_key: &str) -> Result<Option<AlertGroup>, StorageError> {
        with_pool!(self, |pool| {
            let row = sqlx::query("SELECT * FROM alert_groups WHERE source = $1 AND group_key = $2")
                .bind(source)
                .bind(group_key)
                .fetch_optional(pool)
                .await?;
            row.as_ref().map(group_from_row).transpose()
        })
    }

    /// Links a group to the incident its alerts share.
    pub async fn set_group_incident(&self, group_id: i64, incident_id: Option<i64>) -> Result<(), StorageError> {
        in_transaction!(self, |tx| {
            sqlx::query("UPDATE alert_groups SET incident_id = $1 WHERE id = $2")
                .bind(incident_id)
                .bind(group_id)
                .execute(&mut **tx)
                .await?;
            Ok(Decision::Commit(()))
        })
    }

    /// Opens a group's triage: clears an earlier outcome and records what it proposes.
    /// Returns true for the one caller that claimed its post; a post claimed earlier (by
    /// a run that stopped before recording it) is never sent again. One conditional
    /// `UPDATE`, so on Postgres too only one of two racing callers changes the row.
    pub async fn claim_triage_post(
        &self,
        group_id: i64,
        proposed: Severity,
        at: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        in_transaction!(self, |tx| {
            let rows = sqlx::query(
                "UPDATE alert_groups SET proposed_severity = $1, triage_claimed_at = $2, triage_outcome = NULL,
                        triage_channel = NULL, triage_message = NULL
                 WHERE id = $3 AND (triage_claimed_at IS NULL OR triage_outcome IS NOT NULL)",
            )
            .bind(proposed.as_str())
            .bind(to_millis(at))
            .bind(group_id)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            Ok(Decision::Commit(rows > 0))
        })
    }

    /// Records where a group's triage post went, so it can be updated.
    pub async fn set_triage_post(
        &self,
        group_id: i64,
        channel: &crate::model::ChannelId,
        message: &str,
    ) -> Result<(), StorageError> {
        in_transaction!(self, |tx| {
            sqlx::query("UPDATE alert_groups SET triage_channel = $1, triage_message = $2 WHERE id = $3")
                .bind(channel.as_ref())
                .bind(message)
                .bind(group_id)
                .execute(&mut **tx)
                .await?;
            Ok(Decision::Commit(()))
        })
    }

    /// Ends a group's triage, and moves its alerts still in triage to `alert_state`
    /// (attached to `incident_id` when given). False when the triage had ended already.
    /// The group is ended by one conditional `UPDATE … RETURNING`, so of two callers
    /// racing on Postgres exactly one ends it.
    pub async fn end_triage(
        &self,
        group_id: i64,
        outcome: TriageOutcome,
        alert_state: AlertState,
        incident_id: Option<i64>,
    ) -> Result<bool, StorageError> {
        in_transaction!(self, |tx| {
            let group: Option<(String, String)> = sqlx::query_as(
                "UPDATE alert_groups SET triage_outcome = $1, incident_id = COALESCE($2, incident_id)
                 WHERE id = $3 AND triage_outcome IS NULL AND triage_claimed_at IS NOT NULL
                 RETURNING source, group_key",
            )
            .bind(outcome.as_str())
            .bind(incident_id)
            .bind(group_id)
            .fetch_optional(&mut **tx)
            .await?;
            let Some((source, group_key)) = group else {
                return Ok(Decision::Rollback(false));
            };
            sqlx::query(
                "UPDATE alerts SET state = $1, incident_id = COALESCE($2, incident_id)
                 WHERE source = $3 AND group_key = $4 AND state = 'triage'",
            )
            .bind(alert_state.as_str())
            .bind(incident_id)
            .bind(&source)
            .bind(&group_key)
            .execute(&mut **tx)
            .await?;
            Ok(Decision::Commit(true))
        })
    }

    /// Records that an alert detected `incident_id`; the first record stays.
    pub async fn record_detection(&self, detection: &Detection) -> Result<(), StorageError> {
        in_transaction!(self, |tx| {
            sqlx::query(
                "INSERT INTO incident_detections (incident_id, source, alertname, alert_at) VALUES ($1, $2, $3, $4)
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
    }

    pub async fn detection(&self, incident_id: i64) -> Result<Option<Detection>, StorageError> {
        with_pool!(self, |pool| {
            let row: Option<(i64, String, String, i64)> = sqlx::query_as(
                "SELECT incident_id, source, alertname, alert_at FROM incident_detections WHERE incident_id = $1",
            )
            .bind(incident_id)
            .fetch_optional(pool)
            .await?;
            row.map(detection_from_tuple).transpose()
        })
    }

    /// Every detection of incidents declared in `[from, to)`.
    pub async fn detections_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Detection>, StorageError> {
        with_pool!(self, |pool| {
            let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(
                "SELECT d.incident_id, d.source, d.alertname, d.alert_at FROM incident_detections d
                 JOIN incidents i ON i.id = d.incident_id
                 WHERE i.declared_at >= $1 AND i.declared_at < $2 ORDER BY d.incident_id",
            )
            .bind(to_millis(from))
            .bind(to_millis(to))
            .fetch_all(pool)
            .await?;
            rows.into_iter().map(detection_from_tuple).collect()
        })
    }

    /// Alerts first seen in `[from, to)` that were dismissed or resolved on their own.
    pub async fn alert_noise_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<NoiseCount>, StorageError> {
        let rows: Vec<(String, String, i64, i64)> = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT source, alertname,
                        SUM(CASE WHEN state = 'dismissed' THEN 1 ELSE 0 END),
                        SUM(CASE WHEN state = 'noise' THEN 1 ELSE 0 END)
                 FROM alerts WHERE state IN ('dismissed', 'noise') AND first_seen >= $1 AND first_seen < $2
                 GROUP BY source, alertname ORDER BY COUNT(*) DESC, source, alertname",
            )
            .bind(to_millis(from))
            .bind(to_millis(to))
            .fetch_all(pool)
            .await?
        });
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
        let rows: Vec<(String, String, i64)> = with_pool!(self, |pool| {
            sqlx::query_as("SELECT source, state, COUNT(*) FROM alerts GROUP BY source, state ORDER BY source, state")
                .fetch_all(pool)
                .await?
        });
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
        in_transaction!(self, |tx| {
            let rows = sqlx::query(
                "INSERT INTO alert_nudges (incident_id, nudge_key, sent_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(incident_id)
            .bind(key)
            .bind(to_millis(at))
            .execute(&mut **tx)
            .await?
            .rows_affected();
            Ok(Decision::Commit(rows > 0))
        })
    }

    /// The incident a declare with this source id stored.
    pub async fn incident_id_by_declare_source(
        &self,
        declare_source: &crate::model::SourceId,
    ) -> Result<Option<i64>, StorageError> {
        with_pool!(self, |pool| {
            Ok(sqlx::query_scalar("SELECT id FROM incidents WHERE declare_source = $1")
                .bind(declare_source.as_ref())
                .fetch_optional(pool)
                .await?)
        })
    }
}
