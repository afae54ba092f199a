//! Processed inbound deliveries, for every surface: how an adapter recognises a retried
//! delivery of an event it already applied (Slack's `event_id`, an alert source's
//! fingerprint, a tracker's delivery id). An id is recorded only after the event was
//! processed, so a retry after a failed first delivery is still applied.

use chrono::{DateTime, Utc};

use crate::model::EventSource;
use crate::portable::Decision;
use crate::time::to_millis;
use crate::{Db, StorageError};

impl Db {
    /// True when `event_id` from `source` was recorded as processed.
    pub async fn inbound_event_processed(&self, source: &EventSource, event_id: &str) -> Result<bool, StorageError> {
        with_pool!(self, |pool| {
            Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM inbound_events WHERE source = $1 AND event_id = $2)")
                .bind(source.as_str())
                .bind(event_id)
                .fetch_one(pool)
                .await?)
        })
    }

    /// Records `event_id` from `source` as processed. False when it was already recorded.
    pub async fn record_inbound_event(
        &self,
        source: &EventSource,
        event_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        in_transaction!(self, |tx| {
            let rows = sqlx::query(
                "INSERT INTO inbound_events (source, event_id, processed_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(source.as_str())
            .bind(event_id)
            .bind(to_millis(at))
            .execute(&mut **tx)
            .await?
            .rows_affected();
            Ok(Decision::Commit(rows > 0))
        })
    }

    /// Forgets ids processed before `before`; senders stop retrying long before that.
    pub async fn forget_inbound_events_before(&self, before: DateTime<Utc>) -> Result<u64, StorageError> {
        in_transaction!(self, |tx| {
            let rows = sqlx::query("DELETE FROM inbound_events WHERE processed_at < $1")
                .bind(to_millis(before))
                .execute(&mut **tx)
                .await?
                .rows_affected();
            Ok(Decision::Commit(rows))
        })
    }
}
