//! The normalised alert every source's payload becomes: identity (fingerprint and
//! group), status, labels and annotations, times and a link. The adapters parse each
//! source's wire format into this; the core decides what it means.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use storage::{AlertStatus, NewAlert};

use crate::format;

/// The longest label or annotation value kept; longer ones are cut.
pub const MAX_LABEL_VALUE: usize = 1_000;
/// The most labels or annotations kept per alert.
pub const MAX_LABELS: usize = 64;
/// The most alerts one delivery may carry.
pub const MAX_ALERTS_PER_DELIVERY: usize = 5_000;

/// One alert as a source reported it. Serialised as it waits in the inbox between
/// the acknowledgement and being stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomingAlert {
    /// The alert's identity within its source (Alertmanager's fingerprint, PagerDuty's
    /// incident id, the generic `dedup_key`).
    pub fingerprint: String,
    /// Alerts of one group share an incident or a triage post (Alertmanager's
    /// `groupKey`; the fingerprint for sources without groups).
    pub group_key: String,
    #[serde(with = "status_word")]
    pub status: AlertStatus,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    /// The generator, dashboard or incident link.
    pub url: Option<String>,
    /// The source's own title (Grafana's `title`, PagerDuty's incident title).
    pub source_title: Option<String>,
}

/// One delivery: the alerts it carries and, where the source sends one, its delivery
/// id (PagerDuty's `X-Webhook-Id`), so a redelivery is applied once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertDelivery {
    pub delivery_id: Option<String>,
    pub alerts: Vec<IncomingAlert>,
}

impl IncomingAlert {
    pub fn alertname(&self) -> String {
        self.labels.get("alertname").cloned().unwrap_or_default()
    }

    /// The `summary` annotation, then `alertname`, then the source's title, then the
    /// fingerprint: the first with visible text.
    pub fn title(&self) -> String {
        [self.annotations.get("summary"), self.labels.get("alertname"), self.source_title.as_ref()]
            .into_iter()
            .flatten()
            .map(|text| format::one_line(&crate::text::clean(text, false)))
            .find(|text| crate::text::has_visible(text))
            .unwrap_or_else(|| format!("Alert {}", self.fingerprint))
    }

    /// The row to store, with labels and annotations as JSON and every value bounded.
    pub fn to_new(&self) -> NewAlert {
        NewAlert {
            fingerprint: bounded(&self.fingerprint, 200),
            group_key: bounded(&self.group_key, 1_000),
            alertname: bounded(&self.alertname(), 200),
            title: format::truncate(&self.title(), crate::limits::MAX_TITLE).0,
            labels: to_json(&self.labels),
            annotations: to_json(&self.annotations),
            url: self.url.as_deref().map(|url| bounded(url, 2_000)),
            status: self.status,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
        }
    }
}

/// `firing` / `resolved`, as stored.
mod status_word {
    use serde::{Deserialize, Deserializer, Serializer};
    use storage::AlertStatus;

    pub fn serialize<S: Serializer>(status: &AlertStatus, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(status.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<AlertStatus, D::Error> {
        let word = String::deserialize(deserializer)?;
        word.parse().map_err(serde::de::Error::custom)
    }
}

fn bounded(text: &str, max: usize) -> String {
    format::truncate(text, max).0
}

fn to_json(map: &BTreeMap<String, String>) -> String {
    let bounded: BTreeMap<String, String> =
        map.iter().take(MAX_LABELS).map(|(k, v)| (bounded(k, 200), bounded(v, MAX_LABEL_VALUE))).collect();
    serde_json::to_string(&bounded).unwrap_or_else(|_| "{}".to_string())
}

/// Reads stored labels or annotations back; stored text the core wrote is always a JSON
/// object, so anything else reads as empty.
pub fn from_json(text: &str) -> BTreeMap<String, String> {
    serde_json::from_str(text).unwrap_or_default()
}
