//! Processed Slack event ids: how the Slack adapter recognises a retried delivery of an
//! event it already applied. An id is recorded only after the event was processed, so a
//! retry after a failed first delivery is still applied.

use chrono::{DateTime, Utc};

use crate::time::to_millis;
use crate::{Db, StorageError};

impl Db {
    /// True when this `event_id` was recorded as processed.
    pub async fn slack_event_processed(&self, event_id: &str) -> Result<bool, StorageError> {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM slack_events WHERE event_id = ?")
            .bind(event_id)
            .fetch_optional(self.reader())
            .await?;
        Ok(found.is_some())
    }

    /// Records `event_id` as processed. Returns false when it was already recorded.
    pub async fn record_slack_event(&self, event_id: &str, at: DateTime<Utc>) -> Result<bool, StorageError> {
        let mut writer = self.writer_conn().await?;
        let mut tx = writer.begin_immediate().await?;
        let rows =
            sqlx::query("INSERT INTO slack_events (event_id, processed_at) VALUES (?, ?) ON CONFLICT DO NOTHING")
                .bind(event_id)
                .bind(to_millis(at))
                .execute(&mut *tx)
                .await?
                .rows_affected();
        tx.commit().await?;
        Ok(rows > 0)
    }

    /// Forgets ids processed before `before`; Slack stops retrying long before that.
    pub async fn forget_slack_events_before(&self, before: DateTime<Utc>) -> Result<u64, StorageError> {
        let mut writer = self.writer_conn().await?;
        let mut tx = writer.begin_immediate().await?;
        let rows = sqlx::query("DELETE FROM slack_events WHERE processed_at < ?")
            .bind(to_millis(before))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(rows)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_once_and_forgets_old_ids() {
        let db = Db::in_memory().await.unwrap();
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        assert!(!db.slack_event_processed("Ev1").await.unwrap());
        assert!(db.record_slack_event("Ev1", t0).await.unwrap());
        assert!(!db.record_slack_event("Ev1", t0).await.unwrap());
        assert!(db.slack_event_processed("Ev1").await.unwrap());
        assert_eq!(db.forget_slack_events_before(t0 + chrono::Duration::seconds(1)).await.unwrap(), 1);
        assert!(!db.slack_event_processed("Ev1").await.unwrap());
    }
}
