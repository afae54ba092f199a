//! One-time sign-in links and web sessions. Only a hash of each token is stored; the
//! rules (how long a link or session lives) belong to the core, which passes the
//! moments in.

use chrono::{DateTime, Utc};

use crate::model::Platform;
use crate::portable::{Decision, PortableRow};
use crate::time::{parse_word, to_millis};
use crate::{Db, StorageError};

/// Who a link or session belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebUser {
    pub platform: Platform,
    pub user_id: String,
}

/// Why a link did not start a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    /// No link has this token: mistyped, cut short, or made up.
    Unknown,
    /// The link is older than its lifetime.
    Expired,
    /// The link was used already.
    Used,
}

/// A stored session, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    pub user: WebUser,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub ended: bool,
}

impl Db {
    /// Stores a new sign-in link by its token's hash.
    pub async fn add_web_link(
        &self,
        token_hash: &str,
        user: &WebUser,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        in_transaction!(self, |tx| {
            sqlx::query(
                "INSERT INTO web_links (token_hash, platform, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(token_hash)
            .bind(user.platform.as_str())
            .bind(&user.user_id)
            .bind(to_millis(at))
            .bind(to_millis(expires_at))
            .execute(&mut **tx)
            .await?;
            // Links past their lifetime are of no use to anyone; they go here rather
            // than in a job of their own.
            sqlx::query("DELETE FROM web_links WHERE expires_at < $1")
                .bind(to_millis(at) - 86_400_000)
                .execute(&mut **tx)
                .await?;
            Ok(Decision::Commit(()))
        })
    }

    /// Whether a link could be used now, without using it.
    pub async fn check_web_link(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<WebUser, LinkRefusal>, StorageError> {
        let row = with_pool!(self, |pool| {
            sqlx::query("SELECT platform, user_id, expires_at, used_at FROM web_links WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(pool)
                .await?
                .map(|row| -> Result<_, StorageError> {
                    Ok((
                        row.col::<String>("platform")?,
                        row.col::<String>("user_id")?,
                        row.col::<i64>("expires_at")?,
                        row.col::<Option<i64>>("used_at")?,
                    ))
                })
                .transpose()?
        });
        let Some((platform, user_id, expires_at, used_at)) = row else { return Ok(Err(LinkRefusal::Unknown)) };
        if used_at.is_some() {
            return Ok(Err(LinkRefusal::Used));
        }
        if expires_at <= to_millis(now) {
            return Ok(Err(LinkRefusal::Expired));
        }
        Ok(Ok(WebUser { platform: parse_word(&platform)?, user_id }))
    }

    /// Uses a link and starts a session for its user, in one transaction: a link
    /// starts at most one session, however many requests race for it.
    pub async fn redeem_web_link(
        &self,
        link_hash: &str,
        session_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<WebUser, LinkRefusal>, StorageError> {
        in_transaction!(self, |tx| {
            let row = sqlx::query("SELECT platform, user_id, expires_at, used_at FROM web_links WHERE token_hash = $1")
                .bind(link_hash)
                .fetch_optional(&mut **tx)
                .await?;
            let Some(row) = row else { return Ok(Decision::Rollback(Err(LinkRefusal::Unknown))) };
            if row.col::<Option<i64>>("used_at")?.is_some() {
                return Ok(Decision::Rollback(Err(LinkRefusal::Used)));
            }
            if row.col::<i64>("expires_at")? <= to_millis(now) {
                return Ok(Decision::Rollback(Err(LinkRefusal::Expired)));
            }
            let user = WebUser { platform: parse_word(&row.col::<String>("platform")?)?, user_id: row.col("user_id")? };
            // Only while still unused: on Postgres two requests may both have read the
            // link unused, and the second one's update, waiting on the first's row lock,
            // then finds it used.
            let used = sqlx::query("UPDATE web_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL")
                .bind(to_millis(now))
                .bind(link_hash)
                .execute(&mut **tx)
                .await?;
            if used.rows_affected() == 0 {
                return Ok(Decision::Rollback(Err(LinkRefusal::Used)));
            }
            sqlx::query(
                "INSERT INTO web_sessions (token_hash, platform, user_id, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $4)",
            )
            .bind(session_hash)
            .bind(user.platform.as_str())
            .bind(&user.user_id)
            .bind(to_millis(now))
            .execute(&mut **tx)
            .await?;
            Ok(Decision::Commit(Ok(user)))
        })
    }

    /// The session with this token hash, if one was ever started.
    pub async fn web_session(&self, session_hash: &str) -> Result<Option<WebSession>, StorageError> {
        with_pool!(self, |pool| {
            let row = sqlx::query(
                "SELECT platform, user_id, created_at, last_seen_at, ended_at FROM web_sessions WHERE token_hash = $1",
            )
            .bind(session_hash)
            .fetch_optional(pool)
            .await?;
            let Some(row) = row else { return Ok(None) };
            Ok(Some(WebSession {
                user: WebUser { platform: parse_word(&row.col::<String>("platform")?)?, user_id: row.col("user_id")? },
                created_at: crate::time::from_millis(row.col("created_at")?)?,
                last_seen_at: crate::time::from_millis(row.col("last_seen_at")?)?,
                ended: row.col::<Option<i64>>("ended_at")?.is_some(),
            }))
        })
    }

    /// Records that a session was used at `now`.
    pub async fn touch_web_session(&self, session_hash: &str, now: DateTime<Utc>) -> Result<(), StorageError> {
        in_transaction!(self, |tx| {
            sqlx::query("UPDATE web_sessions SET last_seen_at = $1 WHERE token_hash = $2 AND ended_at IS NULL")
                .bind(to_millis(now))
                .bind(session_hash)
                .execute(&mut **tx)
                .await?;
            Ok(Decision::Commit(()))
        })
    }

    /// Ends a session (log out, or found expired).
    pub async fn end_web_session(&self, session_hash: &str, now: DateTime<Utc>) -> Result<(), StorageError> {
        in_transaction!(self, |tx| {
            sqlx::query("UPDATE web_sessions SET ended_at = $1 WHERE token_hash = $2 AND ended_at IS NULL")
                .bind(to_millis(now))
                .bind(session_hash)
                .execute(&mut **tx)
                .await?;
            Ok(Decision::Commit(()))
        })
    }
}
