//! The lease that makes one running copy of the bot the active one. Acquiring and
//! renewing are the same statement inside `BEGIN IMMEDIATE`: the row is read and written
//! under SQLite's write lock, so two processes can never both see the lease as free.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::time::{from_millis, to_millis};
use crate::writer::Decision;
use crate::{Db, StorageError};

/// Who holds a lease, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseHolder {
    pub holder: String,
    pub acquired_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl Db {
    /// Takes the lease `name` for `holder` until `now + ttl`, or renews it when `holder`
    /// already has it. Returns false (and changes nothing) while another holder's lease
    /// has not expired.
    pub async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<bool, StorageError> {
        let ttl =
            chrono::Duration::from_std(ttl).map_err(|_| StorageError::Corrupt("lease TTL out of range".into()))?;
        self.write(async |tx| {
            let current = sqlx::query("SELECT holder, expires_at FROM leases WHERE name = ?1")
                .bind(name)
                .fetch_optional(&mut **tx)
                .await?;
            let acquired_at = match &current {
                None => to_millis(now),
                Some(row) => {
                    let current_holder: String = row.try_get("holder")?;
                    let expires_at: i64 = row.try_get("expires_at")?;
                    if current_holder != holder && expires_at > to_millis(now) {
                        return Ok(Decision::Rollback(false));
                    }
                    if current_holder == holder {
                        sqlx::query_scalar::<_, i64>("SELECT acquired_at FROM leases WHERE name = ?1")
                            .bind(name)
                            .fetch_one(&mut **tx)
                            .await?
                    } else {
                        to_millis(now)
                    }
                }
            };
            sqlx::query(
                "INSERT INTO leases (name, holder, acquired_at, expires_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, acquired_at = excluded.acquired_at,
                                                  expires_at = excluded.expires_at",
            )
            .bind(name)
            .bind(holder)
            .bind(acquired_at)
            .bind(to_millis(now + ttl))
            .execute(&mut **tx)
            .await?;
            Ok(Decision::Commit(true))
        })
        .await
    }

    /// Gives the lease up at once, if `holder` has it, so a standby need not wait for it
    /// to expire. Returns whether it was held.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<bool, StorageError> {
        self.write(async |tx| {
            let rows = sqlx::query("DELETE FROM leases WHERE name = ?1 AND holder = ?2")
                .bind(name)
                .bind(holder)
                .execute(&mut **tx)
                .await?
                .rows_affected();
            Ok(Decision::Commit(rows > 0))
        })
        .await
    }

    /// The lease's current row, expired or not.
    pub async fn lease_holder(&self, name: &str) -> Result<Option<LeaseHolder>, StorageError> {
        let row = sqlx::query("SELECT holder, acquired_at, expires_at FROM leases WHERE name = ?1")
            .bind(name)
            .fetch_optional(self.reader())
            .await?;
        row.map(|row| {
            Ok(LeaseHolder {
                holder: row.try_get("holder")?,
                acquired_at: from_millis(row.try_get("acquired_at")?)?,
                expires_at: from_millis(row.try_get("expires_at")?)?,
            })
        })
        .transpose()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(15);

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    #[tokio::test]
    async fn one_holder_at_a_time_until_it_expires() {
        let db = Db::in_memory().await.unwrap();
        assert!(db.acquire_lease("active", "a", at(0), TTL).await.unwrap());
        assert!(!db.acquire_lease("active", "b", at(1), TTL).await.unwrap());
        // Renewing moves the expiry but keeps when it was first acquired.
        assert!(db.acquire_lease("active", "a", at(10), TTL).await.unwrap());
        let held = db.lease_holder("active").await.unwrap().unwrap();
        assert_eq!((held.holder.as_str(), held.acquired_at, held.expires_at), ("a", at(0), at(25)));
        assert!(!db.acquire_lease("active", "b", at(24), TTL).await.unwrap());
        // Expired: b takes over, and a cannot renew any more.
        assert!(db.acquire_lease("active", "b", at(25), TTL).await.unwrap());
        assert!(!db.acquire_lease("active", "a", at(26), TTL).await.unwrap());
        assert_eq!(db.lease_holder("active").await.unwrap().unwrap().acquired_at, at(25));
    }

    #[tokio::test]
    async fn release_frees_the_lease_only_for_its_holder() {
        let db = Db::in_memory().await.unwrap();
        assert!(db.acquire_lease("active", "a", at(0), TTL).await.unwrap());
        assert!(!db.release_lease("active", "b").await.unwrap());
        assert!(db.release_lease("active", "a").await.unwrap());
        assert!(db.lease_holder("active").await.unwrap().is_none());
        assert!(db.acquire_lease("active", "b", at(1), TTL).await.unwrap());
    }

    #[tokio::test]
    async fn two_connections_on_one_file_never_both_hold_it() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("lease.db").display());
        let first = Db::connect(&url).await.unwrap();
        let second = Db::connect(&url).await.unwrap();
        let (a, b) = tokio::join!(
            first.acquire_lease("active", "a", at(0), TTL),
            second.acquire_lease("active", "b", at(0), TTL)
        );
        assert!(a.unwrap() ^ b.unwrap(), "exactly one copy holds the lease");
    }
}
