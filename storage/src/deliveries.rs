//! The record of scheduled deliveries (claimed before sending, so nothing goes out
//! twice) and of when each scheduled job last ran.

use chrono::{DateTime, Utc};

use crate::model::DeliveryKind;
use crate::time::{from_millis_opt, to_millis};
use crate::writer::Decision;
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
        self.write(async |tx| {
            let rows = sqlx::query(
                "INSERT INTO deliveries (key, kind, subject, period, claimed_at) VALUES (?1, ?2, ?3, ?4, ?5)
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
        .await
    }

    /// Records one attempt at a claimed delivery: sent, or failed with `error`.
    pub async fn record_attempt(
        &self,
        key: &DeliveryKey,
        at: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<(), StorageError> {
        self.write(async |tx| {
            sqlx::query(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = ?1,
                        sent_at = CASE WHEN ?1 IS NULL THEN ?2 ELSE sent_at END
                 WHERE key = ?3",
            )
            .bind(error)
            .bind(to_millis(at))
            .bind(key.key())
            .execute(&mut **tx)
            .await?;
            Ok(Decision::Commit(()))
        })
        .await
    }

    /// How many deliveries of `kind` about `subject` were sent.
    pub async fn sent_count(&self, kind: DeliveryKind, subject: &str) -> Result<i64, StorageError> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE kind = ? AND subject = ? AND sent_at IS NOT NULL")
            .bind(kind.as_str())
            .bind(subject)
            .fetch_one(self.reader())
            .await?)
    }

    /// When a delivery was sent, if it was.
    pub async fn delivery_sent_at(&self, key: &DeliveryKey) -> Result<Option<DateTime<Utc>>, StorageError> {
        let sent: Option<Option<i64>> = sqlx::query_scalar("SELECT sent_at FROM deliveries WHERE key = ?")
            .bind(key.key())
            .fetch_optional(self.reader())
            .await?;
        from_millis_opt(sent.flatten())
    }

    /// How many attempts a delivery took so far.
    pub async fn delivery_attempts(&self, key: &DeliveryKey) -> Result<i64, StorageError> {
        Ok(sqlx::query_scalar("SELECT coalesce(max(attempts), 0) FROM deliveries WHERE key = ?")
            .bind(key.key())
            .fetch_one(self.reader())
            .await?)
    }

    /// When `job` last ran, if ever.
    pub async fn last_run(&self, job: &str) -> Result<Option<DateTime<Utc>>, StorageError> {
        let at: Option<i64> = sqlx::query_scalar("SELECT last_run_at FROM schedule_runs WHERE job = ?")
            .bind(job)
            .fetch_optional(self.reader())
            .await?;
        from_millis_opt(at)
    }

    /// Records that `job` ran up to `at`. Never moves backwards.
    pub async fn set_last_run(&self, job: &str, at: DateTime<Utc>) -> Result<(), StorageError> {
        self.write(async |tx| {
            sqlx::query(
                "INSERT INTO schedule_runs (job, last_run_at) VALUES (?1, ?2)
                 ON CONFLICT (job) DO UPDATE SET last_run_at = max(last_run_at, excluded.last_run_at)",
            )
            .bind(job)
            .bind(to_millis(at))
            .execute(&mut **tx)
            .await?;
            Ok(Decision::Commit(()))
        })
        .await
    }
}
