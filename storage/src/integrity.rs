//! SQLite's own consistency check, for the crash-safety suite and operators.

use crate::{Db, StorageError};

impl Db {
    /// Runs `PRAGMA integrity_check` and returns its lines: exactly `["ok"]` when the
    /// database file is sound.
    pub async fn integrity_check(&self) -> Result<Vec<String>, StorageError> {
        Ok(sqlx::query_scalar("PRAGMA integrity_check").fetch_all(self.reader()).await?)
    }
}
