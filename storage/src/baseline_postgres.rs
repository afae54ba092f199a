//! Benchmark support on PostgreSQL: raw inserts through sqlx's own Postgres driver, one
//! transaction per row or many per transaction, the yardsticks the ingestion benchmarks
//! measure the core against on that engine. [`Db::raw_inserts_per_engine`] picks these
//! or SQLite's (in `baseline`) by the database's engine.
//!
//! Built only with the `bench-support` feature, like `baseline`.

use sqlx::{Connection, PgConnection};

use crate::db::Backend;
use crate::{Db, StorageError};

/// The scratch table, the same shape as SQLite's `bench_raw`.
const CREATE_RAW: &str = "CREATE TABLE IF NOT EXISTS bench_raw (id BIGSERIAL PRIMARY KEY, source_id TEXT, body TEXT)";
const INSERT_RAW: &str = "INSERT INTO bench_raw (source_id, body) VALUES ($1, $2)";
const BODY: &str = "the database is slow again, looking at the replica lag";

impl Db {
    /// Raw inserts into the scratch table `bench_raw`, `batch` rows (one statement each)
    /// per transaction (`1`: one transaction per row), through this database's own
    /// driver: on SQLite [`Db::baseline_raw_inserts`] /
    /// [`Db::baseline_raw_batched_inserts`], on Postgres one connection of the same pool
    /// the bot writes through. Returns the number of rows written.
    pub async fn raw_inserts_per_engine(&self, rows: usize, batch: usize) -> Result<usize, StorageError> {
        let postgres = match self.backend() {
            Backend::Sqlite(_) if batch <= 1 => return self.baseline_raw_inserts(rows).await,
            Backend::Sqlite(_) => return self.baseline_raw_batched_inserts(rows, batch).await,
            Backend::Postgres(postgres) => postgres,
        };
        let mut conn = postgres.pool().acquire().await?;
        sqlx::query(CREATE_RAW).execute(&mut *conn).await?;
        let batch = batch.max(1);
        let mut written = 0;
        while written < rows {
            let end = (written + batch).min(rows);
            insert_in_one_transaction(&mut conn, written..end).await?;
            written = end;
        }
        Ok(rows)
    }
}

async fn insert_in_one_transaction(
    conn: &mut PgConnection,
    numbers: std::ops::Range<usize>,
) -> Result<(), StorageError> {
    let mut tx = conn.begin().await?;
    for n in numbers {
        sqlx::query(INSERT_RAW).bind(format!("raw:{n}")).bind(BODY).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}
