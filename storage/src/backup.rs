//! Online backups: a consistent snapshot of the live database written next to the
//! target, checked, and only then renamed into place, so the target is either the old
//! backup or a complete, verified new one, never something half-written.
//!
//! That is SQLite's. A PostgreSQL database is backed up by PostgreSQL's own tools
//! (`pg_dump`, or the provider's snapshots and point-in-time recovery):
//! [`Db::backup_to`] there writes nothing and answers [`BackupError::OnPostgres`], with
//! the exact `pg_dump` command to run.

use std::path::{Path, PathBuf};

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::{Db, StorageError};

/// Why a backup failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("the backup target `{0}` has no file name")]
    NoFileName(PathBuf),
    #[error("the backup target's folder `{0}` does not exist")]
    NoFolder(PathBuf),
    #[error("cannot write the snapshot `{path}`: {source}")]
    Snapshot {
        path: PathBuf,
        #[source]
        source: StorageError,
    },
    #[error("the snapshot `{path}` failed its integrity check: {report}; the previous backup is left as it was")]
    Integrity { path: PathBuf, report: String },
    #[error(
        "this database is on PostgreSQL, which incidentbot does not copy itself: back it up with pg_dump or your \
         provider's snapshots. The same backup with pg_dump (the password from PGPASSWORD or ~/.pgpass):\n  {command}"
    )]
    OnPostgres { command: String },
    #[error("cannot move the snapshot into place at `{path}`: {source}")]
    Rename {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What a finished backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    pub path: PathBuf,
    pub bytes: u64,
}

/// `<folder>/.<name>.partial`: beside the target, so the final rename stays on one file system.
fn partial_path(target: &Path) -> Result<PathBuf, BackupError> {
    let name = target.file_name().ok_or_else(|| BackupError::NoFileName(target.to_path_buf()))?;
    let folder = match target.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !folder.is_dir() {
        return Err(BackupError::NoFolder(folder));
    }
    Ok(folder.join(format!(".{}.partial", name.to_string_lossy())))
}

impl Db {
    /// Writes a consistent snapshot of the database to `target`: `VACUUM INTO` a
    /// temporary file beside it, `PRAGMA integrity_check` on that file, then rename.
    /// Readers and writers keep working meanwhile (the snapshot is one read transaction).
    pub async fn backup_to(&self, target: &Path) -> Result<BackupReport, BackupError> {
        let sqlite = match self.backend() {
            crate::db::Backend::Sqlite(sqlite) => sqlite,
            crate::db::Backend::Postgres(postgres) => {
                return Err(BackupError::OnPostgres {
                    command: pg_dump_command(postgres.url_without_password(), target),
                })
            }
        };
        let partial = partial_path(target)?;
        let snapshot_err = |source: StorageError| BackupError::Snapshot { path: partial.clone(), source };
        // A leftover from an interrupted run would make VACUUM INTO refuse.
        if partial.exists() {
            std::fs::remove_file(&partial).map_err(|e| snapshot_err(StorageError::Corrupt(e.to_string())))?;
        }
        let partial_text = partial.to_string_lossy().to_string();
        sqlx::query("VACUUM INTO ?1")
            .bind(&partial_text)
            .execute(sqlite.reader())
            .await
            .map_err(|e| snapshot_err(e.into()))?;
        let report = match integrity_check(&partial).await {
            Ok(report) => report,
            Err(source) => {
                let _ = std::fs::remove_file(&partial);
                return Err(BackupError::Snapshot { path: partial, source });
            }
        };
        if report != "ok" {
            let _ = std::fs::remove_file(&partial);
            return Err(BackupError::Integrity { path: partial, report });
        }
        std::fs::rename(&partial, target)
            .map_err(|source| BackupError::Rename { path: target.to_path_buf(), source })?;
        let bytes = std::fs::metadata(target).map(|m| m.len()).unwrap_or(0);
        Ok(BackupReport { path: target.to_path_buf(), bytes })
    }
}

/// The `pg_dump` command that writes the database at `url` to `target` in pg_dump's
/// custom format (restored with `pg_restore --dbname=URL TARGET`).
pub fn pg_dump_command(url: &str, target: &Path) -> String {
    format!("pg_dump --format=custom --file={} {}", shell_quote(&target.to_string_lossy()), shell_quote(url))
}

/// `text` quoted for a POSIX shell, when it needs it.
fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | ':' | '@' | '=' | ','));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// `PRAGMA integrity_check` on the file at `path`: `ok`, or SQLite's list of problems.
pub async fn integrity_check(path: &Path) -> Result<String, StorageError> {
    let mut conn = SqliteConnectOptions::new().filename(path).read_only(true).connect().await?;
    let lines: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check").fetch_all(&mut conn).await?;
    conn.close().await?;
    Ok(lines.join("; "))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    async fn file_db(dir: &Path) -> Db {
        Db::connect(&format!("sqlite://{}", dir.join("live.db").display())).await.unwrap()
    }

    #[tokio::test]
    async fn the_snapshot_is_a_complete_database_and_no_partial_file_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let db = file_db(dir.path()).await;
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        db.record_inbound_event(&crate::EventSource::slack(), "Ev1", now).await.unwrap();
        let target = dir.path().join("backup.db");
        std::fs::write(&target, b"an older backup").unwrap();
        let report = db.backup_to(&target).await.unwrap();
        assert!(report.bytes > 0);
        assert_eq!(integrity_check(&target).await.unwrap(), "ok");
        assert!(!dir.path().join(".backup.db.partial").exists());
        let copy = Db::connect(&format!("sqlite://{}", target.display())).await.unwrap();
        assert!(copy.inbound_event_processed(&crate::EventSource::slack(), "Ev1").await.unwrap());
    }

    #[test]
    fn the_pg_dump_command_is_quoted_for_the_shell() {
        assert_eq!(
            pg_dump_command("postgres://bot@db:5432/incidents", Path::new("/backups/ib.dump")),
            "pg_dump --format=custom --file=/backups/ib.dump postgres://bot@db:5432/incidents"
        );
        assert_eq!(
            pg_dump_command("postgres://bot@db/x?sslmode=require&a=b", Path::new("it's here.dump")),
            "pg_dump --format=custom --file='it'\\''s here.dump' 'postgres://bot@db/x?sslmode=require&a=b'"
        );
    }

    #[tokio::test]
    async fn a_missing_folder_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let db = file_db(dir.path()).await;
        let err = db.backup_to(&dir.path().join("nowhere/backup.db")).await.unwrap_err();
        assert!(matches!(err, BackupError::NoFolder(_)), "{err}");
        assert!(err.to_string().contains("nowhere"), "{err}");
    }

    #[tokio::test]
    async fn a_corrupt_snapshot_fails_the_integrity_check() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken.db");
        let db = Db::connect(&format!("sqlite://{}", path.display())).await.unwrap();
        db.backup_to(&path.with_extension("copy")).await.unwrap();
        db.close().await;
        // Overwrite a page in the middle of the copy: the header stays readable.
        let copy = path.with_extension("copy");
        let mut bytes = std::fs::read(&copy).unwrap();
        let page = 4096;
        for byte in bytes.iter_mut().skip(page * 2).take(page) {
            *byte = 0x5a;
        }
        std::fs::write(&copy, bytes).unwrap();
        let report = integrity_check(&copy).await;
        assert!(report.map_or(true, |r| r != "ok"));
    }
}
