//! The record of scheduled deliveries (claimed before sending, so nothing goes out
//! twice) and of when each scheduled job last ran.

use chrono::{DateTime, Utc};

use crate::lease::Fence;
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

/// What [`Db::claim_delivery_fenced`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Claimed now, by this caller: it may send.
    Claimed,
    /// Claimed before (by this copy or another): nothing to send.
    AlreadyClaimed,
    /// Refused: the caller's lease has expired or changed hands since its token was
    /// granted. It must send nothing until it holds the lease again.
    Fenced,
}

impl Db {
    /// Claims a delivery for the holder of lease `lease` with token `fence`: the claim is
    /// written only while that lease is still unexpired at `at` with that very token, in
    /// the same statement, so a copy that was paused past its lease and woke up after
    /// another took over claims (and so sends) nothing.
    pub async fn claim_delivery_fenced(
        &self,
        key: &DeliveryKey,
        at: DateTime<Utc>,
        lease: &str,
        fence: Fence,
    ) -> Result<Claim, StorageError> {
        in_transaction!(self, |tx| {
            let rows = sqlx::query(
                "INSERT INTO deliveries (key, kind, subject, period, claimed_at)
                 SELECT $1, $2, $3, $4, $5
                 WHERE EXISTS (SELECT 1 FROM leases WHERE name = $6 AND token = $7 AND expires_at > $5)
                 ON CONFLICT (key) DO NOTHING",
            )
            .bind(key.key())
            .bind(&key.kind)
            .bind(&key.subject)
            .bind(&key.period)
            .bind(to_millis(at))
            .bind(lease)
            .bind(fence.token)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            if rows > 0 {
                return Ok(Decision::Commit(Claim::Claimed));
            }
            let still_held: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM leases WHERE name = $1 AND token = $2 AND expires_at > $3)",
            )
            .bind(lease)
            .bind(fence.token)
            .bind(to_millis(at))
            .fetch_one(&mut **tx)
            .await?;
            Ok(Decision::Commit(if still_held { Claim::AlreadyClaimed } else { Claim::Fenced }))
        })
    }

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
