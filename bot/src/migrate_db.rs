//! `incidentbot migrate-db --from URL --to URL`: copies a whole history between
//! databases (SQLite to Postgres, or back), showing progress on stderr and a verified
//! row count and checksum per table at the end. The copy itself, its one transaction and
//! its checks are `storage::copy`'s.

use std::io::{IsTerminal as _, Write as _};

use anyhow::Context;
use storage::copy::{copy_history, Progress, TableCopy};
use storage::{Db, Location, OpenMode, StorageError};

/// Runs the copy and returns the report to print.
pub async fn run(from: &str, to: &str) -> anyhow::Result<String> {
    let source = Location::parse(from).context("--from")?;
    let target = Location::parse(to).context("--to")?;
    if source.to_string() == target.to_string() && !source.is_in_memory() {
        anyhow::bail!("--from and --to name the same database ({source}); nothing to copy");
    }
    let from_db = match Db::open(&source, OpenMode::Existing).await {
        Err(StorageError::Missing(path)) => anyhow::bail!("--from: no database at {path}"),
        result => result.context("--from")?,
    };
    let to_db = Db::open(&target, OpenMode::Create).await.context("--to")?;
    eprintln!("copying {source} to {target} in one transaction (nothing is kept if it fails)");
    let mut shown = ProgressLine::default();
    let result = copy_history(&from_db, &to_db, |progress| shown.show(progress)).await;
    shown.end();
    from_db.close().await;
    to_db.close().await;
    let tables = result.with_context(|| format!("migrate-db to {target} failed; the target was left as it was"))?;
    Ok(report(&tables, &target))
}

/// The final table: rows and checksum per table, all verified.
fn report(tables: &[TableCopy], target: &Location) -> String {
    let width = tables.iter().map(|t| t.table.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    let total: i64 = tables.iter().map(|t| t.rows).sum();
    for table in tables {
        out.push_str(&format!(
            "{:<width$}  {:>9} rows  checksum {:016x}  verified\n",
            table.table, table.rows, table.checksum
        ));
    }
    out.push_str(&format!("copied {total} rows into {target}; every table's count and checksum match the source\n"));
    out
}

/// One line on stderr per table, rewritten in place on a terminal; elsewhere (a log)
/// one line per step shown.
struct ProgressLine {
    current: Option<&'static str>,
    last_shown: i64,
    terminal: bool,
}

impl Default for ProgressLine {
    fn default() -> Self {
        ProgressLine { current: None, last_shown: -1, terminal: std::io::stderr().is_terminal() }
    }
}

impl ProgressLine {
    fn show(&mut self, progress: Progress) {
        let mut err = std::io::stderr();
        match progress {
            Progress::Copying { table, copied, total } => {
                if self.current != Some(table) {
                    self.end();
                    self.current = Some(table);
                    self.last_shown = -1;
                }
                // Every 5% (and the first and last batch), so a large table shows it moves.
                let step = (total / 20).max(1);
                let due = copied == total || copied == 0 || copied - self.last_shown >= step;
                if due && copied != self.last_shown {
                    self.last_shown = copied;
                    if self.terminal {
                        let _ = write!(err, "\r  {table}: {copied}/{total} rows");
                        let _ = err.flush();
                    } else if copied > 0 || total == 0 {
                        let _ = writeln!(err, "  {table}: {copied}/{total} rows");
                    }
                }
            }
            Progress::Verifying { table } => {
                self.end();
                let _ = writeln!(err, "  verifying {table}");
            }
        }
    }

    fn end(&mut self) {
        if self.current.take().is_some() && self.terminal {
            let _ = writeln!(std::io::stderr());
        }
    }
}
