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
