//! Helpers for tests in other crates that need a database in a state the bot itself
//! never produces. Not part of the bot's behaviour: built only with the `test-support`
//! feature, which those tests turn on through their dev-dependencies.

use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::StorageError;

/// Records migration `version` as applied, as a newer release would have.
pub async fn record_migration(url: &str, version: i64) -> Result<(), StorageError> {
    let mut conn = SqliteConnectOptions::from_str(url)?.connect().await?;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (?1, 'recorded by a test', ?2, ?3, 0)",
    )
    .bind(version)
    .bind(true)
    .bind(&[0u8][..])
    .execute(&mut conn)
    .await?;
    conn.close().await?;
    Ok(())
}

impl crate::Db {
    /// Makes every inbox row `by` older, as if the bot had been down that long before it
    /// came back to them. Returns how many rows it moved.
    pub async fn age_inbox(&self, by: chrono::Duration) -> Result<u64, StorageError> {
        in_transaction!(self, |tx| {
            let moved = sqlx::query("UPDATE inbox SET received_at = received_at - $1")
                .bind(by.num_milliseconds())
                .execute(&mut **tx)
                .await?
                .rows_affected();
            Ok(crate::portable::Decision::Commit(moved))
        })
    }
}
