//! Raw SQLite inserts with one commit per row: the yardstick that the ingestion
//! benchmark measures the core against, on the same machine in the same run.

use crate::{Db, StorageError};

impl Db {
    /// Inserts `rows` rows into a scratch table, one transaction each, with the same
    /// connection settings the timeline uses. Returns the number of rows written.
    pub async fn baseline_raw_inserts(&self, rows: usize) -> Result<usize, StorageError> {
        let mut writer = self.writer_conn().await?;
        sqlx::query("CREATE TABLE IF NOT EXISTS bench_raw (id INTEGER PRIMARY KEY, source_id TEXT, body TEXT)")
            .execute(&mut *writer)
            .await?;
        for n in 0..rows {
            sqlx::query("BEGIN IMMEDIATE").execute(&mut *writer).await?;
            sqlx::query("INSERT INTO bench_raw (source_id, body) VALUES (?, ?)")
                .bind(format!("raw:{n}"))
                .bind("the database is slow again, looking at the replica lag")
                .execute(&mut *writer)
                .await?;
            sqlx::query("COMMIT").execute(&mut *writer).await?;
        }
        sqlx::query("DROP TABLE bench_raw").execute(&mut *writer).await?;
        Ok(rows)
    }
}
