//! The lease that makes one running copy of the bot the active one, with a fencing
//! token.
//!
//! Taking, renewing and taking over are one statement, an upsert whose `WHERE` lets it
//! change the row only while the lease is this holder's or has expired. Both engines run
//! it atomically: SQLite under its write lock (`BEGIN IMMEDIATE`), PostgreSQL under the
//! row lock `ON CONFLICT` takes, so two copies can never both see the lease as free.
//!
//! The token counts up each time the lease changes hands and never goes back (releasing
//! expires the row rather than deleting it), so a write stamped with an old token can
//! be told from one by the current holder: [`Db::claim_delivery_fenced`] refuses it.
//! Expiry is judged by the caller's clock; the copies' clocks are assumed to agree to
//! well within the TTL (NTP does that).

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::portable::{Decision, PortableRow};
use crate::time::{from_millis, to_millis};
use crate::{Db, StorageError};

/// Who holds a lease, until when, and its fencing token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseHolder {
    pub holder: String,
    pub acquired_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub token: i64,
}

/// A lease held, as [`Db::acquire_lease`] grants it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fence {
    /// The fencing token of this holding: the same across renewals, larger after every
    /// change of hands.
    pub token: i64,
}

impl Db {
    /// Takes the lease `name` for `holder` until `now + ttl`, or renews it when `holder`
    /// already has it. Returns `None` (and changes nothing) while another holder's lease
    /// has not expired.
    pub async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Option<Fence>, StorageError> {
        let ttl =
            chrono::Duration::from_std(ttl).map_err(|_| StorageError::Corrupt("lease TTL out of range".into()))?;
        let expires_at = now.checked_add_signed(ttl).ok_or(StorageError::Corrupt("lease TTL out of range".into()))?;
        in_transaction!(self, |tx| {
            // In SET, `leases.…` is the row as it was, on both engines.
            let token: Option<i64> = sqlx::query_scalar(
                "INSERT INTO leases (name, holder, acquired_at, expires_at, token) VALUES ($1, $2, $3, $4, 1)
                 ON CONFLICT (name) DO UPDATE SET
                     acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at
                                        ELSE excluded.acquired_at END,
                     token = CASE WHEN leases.holder = excluded.holder THEN leases.token ELSE leases.token + 1 END,
                     holder = excluded.holder,
                     expires_at = excluded.expires_at
                 WHERE leases.holder = excluded.holder OR leases.expires_at <= excluded.acquired_at
                 RETURNING token",
            )
            .bind(name)
            .bind(holder)
            .bind(to_millis(now))
            .bind(to_millis(expires_at))
            .fetch_optional(&mut **tx)
            .await?;
            Ok(Decision::Commit(token.map(|token| Fence { token })))
        })
    }

    /// Gives the lease up at once, if `holder` has it, so a standby need not wait for it
    /// to expire. The row stays, expired, so the token keeps counting up. Returns whether
    /// it was held.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<bool, StorageError> {
        in_transaction!(self, |tx| {
            let rows =
                sqlx::query("UPDATE leases SET expires_at = 0 WHERE name = $1 AND holder = $2 AND expires_at > 0")
                    .bind(name)
                    .bind(holder)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected();
            Ok(Decision::Commit(rows > 0))
        })
    }

    /// The lease's current row, expired or not.
    pub async fn lease_holder(&self, name: &str) -> Result<Option<LeaseHolder>, StorageError> {
        with_pool!(self, |pool| {
            let row = sqlx::query("SELECT holder, acquired_at, expires_at, token FROM leases WHERE name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await?;
            row.map(|row| {
                Ok(LeaseHolder {
                    holder: row.col("holder")?,
                    acquired_at: from_millis(row.col("acquired_at")?)?,
                    expires_at: from_millis(row.col("expires_at")?)?,
                    token: row.col("token")?,
                })
            })
            .transpose()
        })
    }
}
