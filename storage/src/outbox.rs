//! Outbound jobs to systems other than chat (trackers, the status page, pull requests),
//! claimed before the call so a retry, a restart or a second copy never makes it twice.
//! A failed attempt waits until its next attempt time; the core decides the backoff.

use chrono::{DateTime, Utc};

use crate::portable::{Decision, PortableRow};
use crate::time::{from_millis, from_millis_opt, to_millis};
use crate::{Db, Fence, StorageError};

/// A job to enqueue: `kind:subject[:period]` is its idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub kind: String,
    pub subject: String,
    /// Distinguishes several jobs of one kind about one subject (`""` for one ever).
    pub period: String,
    pub payload: String,
}

impl NewJob {
    pub fn key(&self) -> String {
        if self.period.is_empty() {
            format!("{}:{}", self.kind, self.subject)
        } else {
            format!("{}:{}:{}", self.kind, self.subject, self.period)
        }
    }
}

/// What a caller that claimed an attempt needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptStart {
    /// An earlier attempt began and never reported success or failure: its call may
    /// have gone through, so the caller looks before calling again.
    pub earlier_outcome_unknown: bool,
}

/// A stored job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub key: String,
    pub kind: String,
    pub subject: String,
    pub payload: String,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub done_at: Option<DateTime<Utc>>,
}

fn job_from_row(row: &impl PortableRow) -> Result<Job, StorageError> {
    Ok(Job {
        id: row.col("id")?,
        key: row.col("key")?,
        kind: row.col("kind")?,
        subject: row.col("subject")?,
        payload: row.col("payload")?,
        created_at: from_millis(row.col("created_at")?)?,
        next_attempt_at: from_millis(row.col("next_attempt_at")?)?,
        attempts: row.col("attempts")?,
        last_error: row.col("last_error")?,
        done_at: from_millis_opt(row.col("done_at")?)?,
    })
}

impl Db {
    /// Enqueues a job, due at once. False when a job with its key exists already (done
    /// or not), so enqueuing twice does the work once.
    pub async fn enqueue_job(&self, job: &NewJob, at: DateTime<Utc>) -> Result<bool, StorageError> {
        in_transaction!(self, |tx| Ok(Decision::Commit(insert_job!(tx, job, at)?)))
    }

    pub async fn job(&self, key: &str) -> Result<Option<Job>, StorageError> {
        with_pool!(self, |pool| {
            sqlx::query("SELECT * FROM outbox_jobs WHERE key = $1")
                .bind(key)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(job_from_row)
                .transpose()
        })
    }

    /// Jobs not done whose next attempt is due at `now` and that no attempt holds, oldest
    /// first.
    pub async fn due_jobs(&self, now: DateTime<Utc>) -> Result<Vec<Job>, StorageError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT * FROM outbox_jobs WHERE done_at IS NULL AND next_attempt_at <= $1
               AND (attempt_until IS NULL OR attempt_until <= $1) ORDER BY id",
            )
            .bind(to_millis(now))
            .fetch_all(pool)
            .await?;
            rows.iter().map(job_from_row).collect()
        })
    }

    /// Every job not done yet, oldest first (for the next wake-up, and for tests).
    pub async fn pending_jobs(&self) -> Result<Vec<Job>, StorageError> {
        with_pool!(self, |pool| {
            let rows =
                sqlx::query("SELECT * FROM outbox_jobs WHERE done_at IS NULL ORDER BY id").fetch_all(pool).await?;
            rows.iter().map(job_from_row).collect()
        })
    }

    /// Every job of `kind` about `subject`, done or not, oldest first.
    pub async fn jobs_about(&self, kind: &str, subject: &str) -> Result<Vec<Job>, StorageError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query("SELECT * FROM outbox_jobs WHERE kind = $1 AND subject = $2 ORDER BY id")
                .bind(kind)
                .bind(subject)
                .fetch_all(pool)
                .await?;
            rows.iter().map(job_from_row).collect()
        })
    }

    /// Claims one attempt at a job until `hold_until`. `Some` for exactly one caller while
    /// the job is due, not done and not held by another attempt.
    pub async fn begin_job_attempt(
        &self,
        key: &str,
        now: DateTime<Utc>,
        hold_until: DateTime<Utc>,
    ) -> Result<Option<AttemptStart>, StorageError> {
        self.claim_job_attempt(key, now, hold_until, None).await
    }

    /// [`Db::begin_job_attempt`] for the holder of lease `lease` with token `fence`: the
    /// attempt is claimed only while that lease is unexpired at `now` with that very
    /// token, in the same statement (as [`Db::claim_delivery_fenced`] claims a delivery),
    /// so a copy that was paused past its lease and woke after another took over claims
    /// (and so calls) nothing.
    pub async fn begin_job_attempt_fenced(
        &self,
        key: &str,
        now: DateTime<Utc>,
        hold_until: DateTime<Utc>,
        lease: &str,
        fence: Fence,
    ) -> Result<Option<AttemptStart>, StorageError> {
        self.claim_job_attempt(key, now, hold_until, Some((lease, fence))).await
    }

    async fn claim_job_attempt(
        &self,
        key: &str,
        now: DateTime<Utc>,
        hold_until: DateTime<Utc>,
        fenced: Option<(&str, Fence)>,
    ) -> Result<Option<AttemptStart>, StorageError> {
        let (lease, token) = fenced.map_or((None, None), |(lease, fence)| (Some(lease), Some(fence.token)));
        in_transaction!(self, |tx| {
            let before: Option<(i64, Option<String>)> = sqlx::query_as(
                "SELECT attempts, last_error FROM outbox_jobs
                 WHERE key = $1 AND done_at IS NULL AND next_attempt_at <= $2
                   AND (attempt_until IS NULL OR attempt_until <= $2)",
            )
            .bind(key)
            .bind(to_millis(now))
            .fetch_optional(&mut **tx)
            .await?;
            let Some((attempts, last_error)) = before else {
                return Ok(Decision::Commit(None));
            };
            // The error is cleared while the attempt runs: an attempt that never reports
            // back (the process died mid-call) leaves it empty for the next one to see.
            // The same conditions again: on Postgres two runners may both have read the
            // job, and only the one whose update still finds it free holds it. Fenced,
            // the lease must still be this caller's, checked in the same statement.
            let rows = sqlx::query(
                "UPDATE outbox_jobs SET attempt_until = $1, attempts = attempts + 1, last_error = NULL
                 WHERE key = $2 AND done_at IS NULL AND next_attempt_at <= $3
                   AND (attempt_until IS NULL OR attempt_until <= $3)
                   AND ($4 IS NULL
                        OR EXISTS (SELECT 1 FROM leases WHERE name = $4 AND token = $5 AND expires_at > $3))",
            )
            .bind(to_millis(hold_until))
            .bind(key)
            .bind(to_millis(now))
            .bind(lease)
            .bind(token)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            if rows == 0 {
                return Ok(Decision::Rollback(None));
            }
            Ok(Decision::Commit(Some(AttemptStart { earlier_outcome_unknown: attempts > 0 && last_error.is_none() })))
        })
    }

    /// Records that the job's call succeeded.
    pub async fn finish_job(&self, key: &str, at: DateTime<Utc>) -> Result<(), StorageError> {
        in_transaction!(self, |tx| {
            sqlx::query("UPDATE outbox_jobs SET done_at = $1, attempt_until = NULL, last_error = NULL WHERE key = $2")
                .bind(to_millis(at))
                .bind(key)
                .execute(&mut **tx)
                .await?;
            Ok(Decision::Commit(()))
        })
    }

    /// Records a failed attempt; the job is tried again from `next_attempt_at`.
    pub async fn fail_job(&self, key: &str, error: &str, next_attempt_at: DateTime<Utc>) -> Result<(), StorageError> {
        in_transaction!(self, |tx| {
            sqlx::query(
                "UPDATE outbox_jobs SET attempt_until = NULL, last_error = $1, next_attempt_at = $2 WHERE key = $3",
            )
            .bind(error)
            .bind(to_millis(next_attempt_at))
            .bind(key)
            .execute(&mut **tx)
            .await?;
            Ok(Decision::Commit(()))
        })
    }
}
