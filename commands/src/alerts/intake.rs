//! Alert deliveries through the durable inbox. What a sender's acknowledgement waits
//! for is one inbox row holding the parsed delivery ([`Core::accept_alert_delivery`]),
//! committed with whatever other requests arrive at the same moment (the inbox's group
//! commit). The alert worker then stores each accepted delivery into the alerts, oldest
//! first, and marks its row done ([`Core::store_accepted_alerts`]); a copy that stopped
//! in between does it at its next start, or the copy that takes over. Storing is
//! idempotent: a delivery stored twice only updates when its alerts were last seen, and
//! a PagerDuty delivery id is recorded once.

use std::sync::atomic::{AtomicI64, Ordering};

use storage::{EventSource, InboxRequest, SourceId, StoredDelivery};

use super::model::AlertDelivery;
use crate::actor::{Actor, SystemSource};
use crate::core::Core;
use crate::error::CoreError;

/// The inbox kind of an alert delivery.
pub const ALERT_KIND: &str = "alert";

/// The last inbox id handed out, in nanoseconds: ids increase within a process, so
/// deliveries accepted in one millisecond are stored in the order they came.
static LAST_ID: AtomicI64 = AtomicI64::new(0);

/// One delivery stored from the inbox, for the metrics.
#[derive(Debug, Clone)]
pub struct StoredFromInbox {
    pub source: String,
    pub alerts: usize,
    pub stored: StoredDelivery,
}

impl Core {
    /// The inbox id of a delivery: its own id where the source sends one (PagerDuty's
    /// `X-Webhook-Id`), so a redelivery is recognised before it is acknowledged again;
    /// otherwise a fresh, increasing one.
    fn alert_source_id(&self, source: &str, delivery: &AlertDelivery) -> SourceId {
        match &delivery.delivery_id {
            Some(id) => SourceId::new(format!("alerts:{source}:delivery:{id}")),
            None => {
                let now = self.now().timestamp_nanos_opt().unwrap_or(i64::MAX);
                let previous = LAST_ID.fetch_max(now, Ordering::SeqCst);
                let id = if previous >= now { LAST_ID.fetch_add(1, Ordering::SeqCst) + 1 } else { now };
                SourceId::new(format!("alerts:{source}:{id:020}"))
            }
        }
    }

    /// Commits one delivery from the alert source `source` to the inbox: what the
    /// sender's acknowledgement waits for. False when the same delivery (by its own id)
    /// was accepted before; it is answered and not stored again.
    pub async fn accept_alert_delivery(&self, source: &str, delivery: &AlertDelivery) -> Result<bool, CoreError> {
        let request = InboxRequest {
            source_id: self.alert_source_id(source, delivery),
            source: EventSource::alerts(source),
            kind: ALERT_KIND.to_string(),
            user: Actor::System(SystemSource::Alerts).stored_id(),
            channel_id: String::new().into(),
            request: serde_json::to_string(delivery).map_err(|e| CoreError::Alert(e.to_string()))?,
            reply_handle: None,
            received_at: self.now(),
        };
        self.inbox_accept(&request).await
    }

    /// Stores every delivery from `source` that waits in the inbox, oldest first, and
    /// marks each row done once its alerts are committed. A row that cannot be read is
    /// logged and left for an operator (it shows in `/healthz`).
    pub async fn store_accepted_alerts(&self, source: &str) -> Result<Vec<StoredFromInbox>, CoreError> {
        let mut stored = Vec::new();
        for row in self.inbox_unfinished(&EventSource::alerts(source)).await? {
            let source_id = row.request.source_id;
            let delivery: AlertDelivery = match serde_json::from_str(&row.request.request) {
                Ok(delivery) => delivery,
                Err(error) => {
                    tracing::error!(%source_id, %error, "an alert delivery in the inbox cannot be read; it is left for an operator");
                    continue;
                }
            };
            let result = self.receive_alerts(source, &delivery).await?;
            self.inbox_done(&source_id).await?;
            stored.push(StoredFromInbox { source: source.to_string(), alerts: delivery.alerts.len(), stored: result });
        }
        Ok(stored)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use chrono::{TimeZone, Utc};
    use storage::{AlertStatus, Db};

    use super::*;
    use crate::alerts::IncomingAlert;
    use crate::recording_chat::RecordingChat;
    use crate::{ManualClock, Settings};

    fn delivery(id: Option<&str>, fingerprint: &str, status: AlertStatus) -> AlertDelivery {
        AlertDelivery {
            delivery_id: id.map(str::to_string),
            alerts: vec![IncomingAlert {
                fingerprint: fingerprint.into(),
                group_key: "g".into(),
                status,
                labels: BTreeMap::from([("alertname".to_string(), "Disk ✓ 東京".to_string())]),
                annotations: BTreeMap::new(),
                starts_at: Utc.with_ymd_and_hms(2026, 3, 2, 8, 50, 0).unwrap(),
                ends_at: None,
                url: None,
                source_title: None,
            }],
        }
    }

    async fn core(db: &Db) -> Core {
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap());
        Core::new(db.clone(), Arc::new(RecordingChat::default()), Arc::new(clock), Settings::default())
    }

    #[tokio::test]
    async fn accepted_deliveries_are_stored_in_order_by_the_next_copy_and_once() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("alerts.db").display());
        let db = Db::connect(&url).await.unwrap();
        let first = core(&db).await;
        // Firing then resolved, in one millisecond of a stopped clock: the order holds.
        assert!(first.accept_alert_delivery("am", &delivery(None, "fp1", AlertStatus::Firing)).await.unwrap());
        assert!(first.accept_alert_delivery("am", &delivery(None, "fp1", AlertStatus::Resolved)).await.unwrap());
        assert!(first.accept_alert_delivery("pd", &delivery(Some("w1"), "P1", AlertStatus::Firing)).await.unwrap());
        assert!(!first.accept_alert_delivery("pd", &delivery(Some("w1"), "P1", AlertStatus::Firing)).await.unwrap());
        assert_eq!(db.alert_counts().await.unwrap().len(), 0, "acknowledged, not yet stored");
        drop(first);
        db.close().await;

        // The copy that starts next stores what was acknowledged.
        let db = Db::connect(&url).await.unwrap();
        let next = core(&db).await;
        let stored = next.store_accepted_alerts("am").await.unwrap();
        assert_eq!(stored.len(), 2);
        assert_eq!(next.store_accepted_alerts("pd").await.unwrap().len(), 1);
        assert!(next.store_accepted_alerts("am").await.unwrap().is_empty(), "each is stored once");
        let alerts = db.alerts_of_group("am", "g").await.unwrap();
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].status, AlertStatus::Resolved, "stored in the order they came");
        assert_eq!(alerts[0].alertname, "Disk ✓ 東京");
        assert_eq!(db.inbox_waiting_count(Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap()).await.unwrap(), 0);
    }
}
