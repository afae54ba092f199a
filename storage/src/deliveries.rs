//! The record of scheduled deliveries (claimed before sending, so nothing goes out
//! twice) and of when each scheduled job last ran.

use chrono::{DateTime, Utc};

use crate::model::DeliveryKind;
use crate::portable::Decision;
use crate::time::{from_millis_opt, to_millis};
use crate::{Db, StorageError};

/// A delivery to claim: its idempotency key and what it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryKey {
    pub kind: String,
    pub subject: String,
    pub period: String,
}

impl DeliveryKey {
    pub fn new(kind: DeliveryKind, subject: impl ToString, period: impl ToString) -> Self {
        DeliveryKey { kind: kind.as_str().to_string(), subject: subject.to_string(), period: period.to_string() }
    }

    /// `kind:subject:period`.
    pub fn key(&self) -> String {
        format!("{}:{}:{}", self.kind, self.subject, self.period)
    }
}

impl Db {
    /// Claims a delivery. Returns true for exactly one caller per key, ever.
    pub async fn claim_delivery(&self, key: &DeliveryKey, at: DateTime<Utc>) -> Result<bool, StorageError> {
        in_transaction!(self, |tx| {
            let rows = sqlx::query(
                "INSERT INTO deliveries (key, kind, subject, period, claimed_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (key) DO NOTHING",
            )
            .bind(key.key())
            .bind(&key.kind)
            .bind(&key.subject)
            .bind(&key.period)
            .bind(to_millis(at))
            .execute(&mut **tx)
            .await?
            .rows_affected();
            Ok(Decision::Commit(rows > 0))
        })
    }

    /// Records one attempt at a claimed delivery: sent, or failed with `error`.
    pub async fn record_attempt(
        &self,
        key: &DeliveryKey,
        at: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<(), StorageError> {
        in_transaction!(self, |tx| {
            sqlx::query(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = $1,
                        sent_at = CASE WHEN $1 IS NULL THEN $2 ELSE sent_at END
                 WHERE key = $3",
            )
            .bind(error)
            .bind(to_millis(at))
            .bind(key.key())
            .execute(&mut **tx)
            .await?;
            Ok(Decision::Commit(()))
        })
    }

    /// How many deliveries of `kind` about `subject` were sent.
    pub async fn sent_count(&self, kind: DeliveryKind, subject: &str) -> Result<i64, StorageError> {
        with_pool!(self, |pool| {
            Ok(sqlx::query_scalar(
                "SELECT count(*) FROM deliveries WHERE kind = $1 AND subject = $2 AND sent_at IS NOT NULL",
            )
            .bind(kind.as_str())
            .bind(subject)
            .fetch_one(pool)
            .await?)
        })
    }

    /// When a delivery was sent, if it was.
    pub async fn delivery_sent_at(&self, key: &DeliveryKey) -> Result<Option<DateTime<Utc>>, StorageError> {
        with_pool!(self, |pool| {
            let sent: Option<Option<i64>> = sqlx::query_scalar("SELECT sent_at FROM deliveries WHERE key = $1")
                .bind(key.key())
                .fetch_optional(pool)
                .await?;
            from_millis_opt(sent.flatten())
        })
    }

    /// How many attempts a delivery took so far.
    pub async fn delivery_attempts(&self, key: &DeliveryKey) -> Result<i64, StorageError> {
        with_pool!(self, |pool| {
            Ok(sqlx::query_scalar("SELECT coalesce(max(attempts), 0) FROM deliveries WHERE key = $1")
                .bind(key.key())
                .fetch_one(pool)
                .await?)
        })
    }

    /// When `job` last ran, if ever.
    pub async fn last_run(&self, job: &str) -> Result<Option<DateTime<Utc>>, StorageError> {
        with_pool!(self, |pool| {
            let at: Option<i64> = sqlx::query_scalar("SELECT last_run_at FROM schedule_runs WHERE job = $1")
                .bind(job)
                .fetch_optional(pool)
                .await?;
            from_millis_opt(at)
        })
    }

    /// Records that `job` ran up to `at`. Never moves backwards.
    pub async fn set_last_run(&self, job: &str, at: DateTime<Utc>) -> Result<(), StorageError> {
        in_transaction!(self, |tx| {
            // Not the two-argument `max()`, which is SQLite's own; a CASE reads the same on
            // any SQL database.
            sqlx::query(
                "INSERT INTO schedule_runs (job, last_run_at) VALUES ($1, $2)
                 ON CONFLICT (job) DO UPDATE SET last_run_at = CASE
                     WHEN excluded.last_run_at > schedule_runs.last_run_at THEN excluded.last_run_at
                     ELSE schedule_runs.last_run_at
                 END",
            )
            .bind(job)
            .bind(to_millis(at))
            .execute(&mut **tx)
            .await?;
            Ok(Decision::Commit(()))
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    #[tokio::test]
    async fn a_delivery_is_claimed_once_and_counts_its_attempts() {
        let db = Db::in_memory().await.unwrap();
        let key = DeliveryKey::new(DeliveryKind::ActionOverdue, 12, "2026-03-05");
        assert!(db.claim_delivery(&key, at(0)).await.unwrap());
        assert!(!db.claim_delivery(&key, at(1)).await.unwrap());
        db.record_attempt(&key, at(2), Some("timed out")).await.unwrap();
        assert_eq!(db.delivery_sent_at(&key).await.unwrap(), None);
        db.record_attempt(&key, at(3), None).await.unwrap();
        assert_eq!(db.delivery_attempts(&key).await.unwrap(), 2);
        assert_eq!(db.delivery_sent_at(&key).await.unwrap(), Some(at(3)));
        assert_eq!(db.sent_count(DeliveryKind::ActionOverdue, "12").await.unwrap(), 1);
    }

    #[tokio::test]
    async fn the_last_run_never_moves_backwards() {
        let db = Db::in_memory().await.unwrap();
        assert_eq!(db.last_run("digest").await.unwrap(), None);
        db.set_last_run("digest", at(10)).await.unwrap();
        db.set_last_run("digest", at(5)).await.unwrap();
        assert_eq!(db.last_run("digest").await.unwrap(), Some(at(10)));
        db.set_last_run("digest", at(20)).await.unwrap();
        assert_eq!(db.last_run("digest").await.unwrap(), Some(at(20)));
        assert_eq!(db.last_run("reminders").await.unwrap(), None);
    }
}
