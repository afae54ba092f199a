//! SQLite's own consistency check, for the crash-safety suite and operators.

use crate::{Db, StorageError};

impl Db {
    /// Runs `PRAGMA integrity_check` and returns its lines: exactly `["ok"]` when the
    /// database file is sound. PostgreSQL has no such check: there it is
    /// [`StorageError::SqliteOnly`].
    pub async fn integrity_check(&self) -> Result<Vec<String>, StorageError> {
        let sqlite = self.sqlite().ok_or(StorageError::SqliteOnly("the integrity check"))?;
        Ok(sqlx::query_scalar("PRAGMA integrity_check").fetch_all(sqlite.reader()).await?)
    }
}
