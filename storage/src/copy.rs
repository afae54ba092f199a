//! Copying a whole history from one database to another, on either engine: what
//! `incidentbot migrate-db --from URL --to URL` runs.
//!
//! - The target must be empty (migrated, with no row in any table copied here); a target
//!   with rows is refused before anything is written.
//! - Everything is written in one transaction on the target. A copy that fails half-way
//!   (a lost connection, a full disk, a refused row) leaves the target as empty as it
//!   was, so the same command can simply run again.
//! - Before that transaction commits, every table's row count and checksum are read
//!   back from the target, inside it, and compared with the source's; a mismatch rolls
//!   it back.
//!
//! The checksum of a table is the sum (mod 2^64) of a SHA-256 of each row's values in a
//! canonical form, so it does not depend on the order the engines return rows in (their
//! text collations differ). The lease is not copied: it belongs to the running copies.

use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};

use crate::portable::{Decision, EngineTx, PortableRow};
use crate::{Db, StorageError};

/// A column's type, as both engines store it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Text,
    Bool,
}

use Kind::{Bool, Int, Text};

/// A table to copy: its columns, and its identity column (whose sequence is moved past
/// the copied ids on Postgres), if any.
struct Table {
    name: &'static str,
    columns: &'static [(&'static str, Kind)],
    identity: Option<&'static str>,
}

/// Every table of the history, parents before children (foreign keys).
const TABLES: &[Table] = &[
    Table {
        name: "incidents",
        columns: &[
            ("id", Int),
            ("title", Text),
            ("description", Text),
            ("severity", Text),
            ("status", Text),
            ("platform", Text),
            ("channel_name", Text),
            ("channel_id", Text),
            ("declared_by", Text),
            ("declare_source", Text),
            ("started_at", Int),
            ("declared_at", Int),
            ("acknowledged_at", Int),
            ("mitigated_at", Int),
            ("resolved_at", Int),
            ("closed_at", Int),
            ("revision", Int),
            ("drill", Bool),
            ("private", Bool),
        ],
        identity: Some("id"),
    },
    Table {
        name: "incident_roles",
        columns: &[("incident_id", Int), ("role", Text), ("user_id", Text), ("assigned_at", Int)],
        identity: None,
    },
    Table {
        name: "timeline_entries",
        columns: &[
            ("id", Int),
            ("incident_id", Int),
            ("source_id", Text),
            ("at", Int),
            ("kind", Text),
            ("author", Text),
            ("text", Text),
            ("is_key", Bool),
            ("edited_at", Int),
            ("deleted_at", Int),
        ],
        identity: Some("id"),
    },
    Table {
        name: "postmortems",
        columns: &[
            ("incident_id", Int),
            ("summary", Text),
            ("impact", Text),
            ("detection", Text),
            ("trigger_text", Text),
            ("contributing_factors", Text),
            ("resolution", Text),
            ("went_well", Text),
            ("went_wrong", Text),
            ("got_lucky", Text),
            ("lessons", Text),
            ("updated_at", Int),
            ("updated_by", Text),
        ],
        identity: None,
    },
    Table {
        name: "action_items",
        columns: &[
            ("id", Int),
            ("incident_id", Int),
            ("text", Text),
            ("owner", Text),
            ("due_date", Text),
            ("priority", Text),
            ("kind", Text),
            ("status", Text),
            ("created_by", Text),
            ("created_at", Int),
            ("closed_at", Int),
            ("snoozed_until", Text),
            ("addresses", Text),
        ],
        identity: Some("id"),
    },
    Table {
        name: "deliveries",
        columns: &[
            ("key", Text),
            ("kind", Text),
            ("subject", Text),
            ("period", Text),
            ("claimed_at", Int),
            ("sent_at", Int),
            ("attempts", Int),
            ("last_error", Text),
        ],
        identity: None,
    },
    Table {
        name: "incident_services",
        columns: &[("incident_id", Int), ("service", Text), ("added_by", Text), ("added_at", Int)],
        identity: None,
    },
    Table {
        name: "incident_factors",
        columns: &[("incident_id", Int), ("tag", Text), ("added_by", Text), ("added_at", Int)],
        identity: None,
    },
    Table {
        name: "incident_invites",
        columns: &[("incident_id", Int), ("user_id", Text), ("invited_by", Text), ("invited_at", Int)],
        identity: None,
    },
    Table {
        name: "outbox_jobs",
        columns: &[
            ("id", Int),
            ("key", Text),
            ("kind", Text),
            ("subject", Text),
            ("payload", Text),
            ("created_at", Int),
            ("next_attempt_at", Int),
            ("attempt_until", Int),
            ("attempts", Int),
            ("last_error", Text),
            ("done_at", Int),
        ],
        identity: Some("id"),
    },
    Table {
        name: "tracker_links",
        columns: &[("action_item_id", Int), ("tracker", Text), ("issue_key", Text), ("url", Text), ("linked_at", Int)],
        identity: None,
    },
    Table {
        name: "status_page_incidents",
        columns: &[("incident_id", Int), ("page_incident_id", Text), ("created_at", Int)],
        identity: None,
    },
    Table {
        name: "postmortem_prs",
        columns: &[
            ("incident_id", Int),
            ("number", Int),
            ("branch", Text),
            ("path", Text),
            ("url", Text),
            ("merged", Bool),
            ("opened_at", Int),
        ],
        identity: None,
    },
    Table { name: "schedule_runs", columns: &[("job", Text), ("last_run_at", Int)], identity: None },
    Table {
        name: "inbound_events",
        columns: &[("source", Text), ("event_id", Text), ("processed_at", Int)],
        identity: None,
    },
    // The web pages' sign-in links and sessions: a session carries over, so nobody is
    // signed out by a change of database. The library's search index is not a table of
    // the history: the target's triggers rebuild it as postmortems and entries arrive.
    Table {
        name: "web_links",
        columns: &[
            ("token_hash", Text),
            ("platform", Text),
            ("user_id", Text),
            ("created_at", Int),
            ("expires_at", Int),
            ("used_at", Int),
        ],
        identity: None,
    },
    Table {
        name: "web_sessions",
        columns: &[
            ("token_hash", Text),
            ("platform", Text),
            ("user_id", Text),
            ("created_at", Int),
            ("last_seen_at", Int),
            ("ended_at", Int),
        ],
        identity: None,
    },
    // The durable inbox and the recorded steps: requests not done yet run again on the
    // target, and a resumed declare finds what its interrupted steps already did.
    Table {
        name: "inbox",
        columns: &[
            ("source_id", Text),
            ("source", Text),
            ("kind", Text),
            ("user_id", Text),
            ("channel_id", Text),
            ("request", Text),
            ("reply_handle", Text),
            ("received_at", Int),
            ("done_at", Int),
        ],
        identity: None,
    },
    Table {
        name: "side_effect_steps",
        columns: &[
            ("incident_id", Int),
            ("request", Text),
            ("step", Text),
            ("started_at", Int),
            ("attempts", Int),
            ("finished_at", Int),
            ("result", Text),
        ],
        identity: None,
    },
    // Alerts from monitoring, their groups, how incidents were detected and the resolve
    // nudges sent: alerts still pending are applied by the target's worker.
    Table {
        name: "alerts",
        columns: &[
            ("id", Int),
            ("source", Text),
            ("fingerprint", Text),
            ("group_key", Text),
            ("alertname", Text),
            ("title", Text),
            ("labels", Text),
            ("annotations", Text),
            ("url", Text),
            ("status", Text),
            ("starts_at", Int),
            ("ends_at", Int),
            ("first_seen", Int),
            ("last_seen", Int),
            ("deliveries", Int),
            ("generation", Int),
            ("state", Text),
            ("incident_id", Int),
            ("pending", Bool),
            ("version", Int),
        ],
        identity: Some("id"),
    },
    Table {
        name: "alert_groups",
        columns: &[
            ("id", Int),
            ("source", Text),
            ("group_key", Text),
            ("incident_id", Int),
            ("proposed_severity", Text),
            ("triage_claimed_at", Int),
            ("triage_channel", Text),
            ("triage_message", Text),
            ("triage_outcome", Text),
        ],
        identity: Some("id"),
    },
    Table {
        name: "incident_detections",
        columns: &[("incident_id", Int), ("source", Text), ("alertname", Text), ("alert_at", Int)],
        identity: None,
    },
    Table {
        name: "alert_nudges",
        columns: &[("incident_id", Int), ("nudge_key", Text), ("sent_at", Int)],
        identity: None,
    },
];

/// Rows per multi-row `INSERT`: at most 19 columns, so well under both engines' limits
/// on bound parameters.
const BATCH: usize = 500;

/// One column value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    Bool(Option<bool>),
}

/// Why a copy did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("the target is not empty: `{table}` has {rows} row(s). migrate-db copies into an empty database only")]
    TargetNotEmpty { table: &'static str, rows: i64 },
    #[error(
        "verification failed for `{table}`: the source has {source_rows} row(s) (checksum {source_checksum:016x}), \
         the target would have {target_rows} (checksum {target_checksum:016x}); nothing was committed"
    )]
    Mismatch { table: &'static str, source_rows: i64, source_checksum: u64, target_rows: i64, target_checksum: u64 },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<sqlx::Error> for CopyError {
    fn from(error: sqlx::Error) -> Self {
        CopyError::Storage(StorageError::Query(error))
    }
}

/// What was copied of one table, and verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCopy {
    pub table: &'static str,
    pub rows: i64,
    pub checksum: u64,
}

/// Progress of a copy, for the command to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// `table` is being copied: `copied` of `total` rows so far.
    Copying { table: &'static str, copied: i64, total: i64 },
    /// Every row is written; the target is being checked table by table.
    Verifying { table: &'static str },
}

/// Counts and checksums of every table of `db`, in [`TABLES`] order.
pub async fn summarize(db: &Db) -> Result<Vec<TableCopy>, StorageError> {
    let mut summary = Vec::new();
    for table in TABLES {
        let (rows, checksum) = with_pool!(db, |pool| {
            let mut hasher = TableHasher::default();
            let mut stream = sqlx::query(sqlx::AssertSqlSafe(select_sql(table))).fetch(pool);
            while let Some(row) = stream.try_next().await? {
                hasher.add(&read_row(&row, table)?);
            }
            Ok::<_, StorageError>(hasher.finish())
        })?;
        summary.push(TableCopy { table: table.name, rows, checksum });
    }
    Ok(summary)
}

/// Copies every table of `from` into the empty database `to`, in one transaction on
/// `to`, verified before it commits (see the module docs). `progress` hears about each
/// batch.
pub async fn copy_history(from: &Db, to: &Db, mut progress: impl FnMut(Progress)) -> Result<Vec<TableCopy>, CopyError> {
    // Refused early, before the source is read; checked again inside the transaction.
    for table in TABLES {
        let rows = count(to, table).await?;
        if rows > 0 {
            return Err(CopyError::TargetNotEmpty { table: table.name, rows });
        }
    }
    let expected = summarize(from).await?;
    in_transaction!(to, |tx| {
        for table in TABLES {
            let sql = format!("SELECT count(*) FROM {}", table.name);
            let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&mut **tx).await?;
            if rows > 0 {
                return Ok(Decision::Rollback(Err(CopyError::TargetNotEmpty { table: table.name, rows })));
            }
        }
        for (table, summary) in TABLES.iter().zip(&expected) {
            let mut copied = 0_i64;
            progress(Progress::Copying { table: table.name, copied, total: summary.rows });
            let mut batch: Vec<Vec<Value>> = Vec::with_capacity(BATCH);
            // The source streams on its own connection while the target's transaction
            // takes each batch.
            let mut flush = async |batch: &mut Vec<Vec<Value>>| -> Result<(), StorageError> {
                if batch.is_empty() {
                    return Ok(());
                }
                let sql = insert_sql(table, batch.len());
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for row in batch.iter() {
                    for value in row {
                        query = match value {
                            Value::Int(v) => query.bind(*v),
                            Value::Text(v) => query.bind(v.clone()),
                            Value::Bool(v) => query.bind(*v),
                        };
                    }
                }
                query.execute(&mut **tx).await?;
                batch.clear();
                Ok(())
            };
            with_pool!(from, |pool| {
                let mut stream = sqlx::query(sqlx::AssertSqlSafe(select_sql(table))).fetch(pool);
                while let Some(row) = stream.try_next().await? {
                    batch.push(read_row(&row, table)?);
                    if batch.len() == BATCH {
                        flush(&mut batch).await?;
                        copied += BATCH as i64;
                        progress(Progress::Copying { table: table.name, copied, total: summary.rows });
                    }
                }
                Ok::<_, StorageError>(())
            })?;
            copied += batch.len() as i64;
            flush(&mut batch).await?;
            progress(Progress::Copying { table: table.name, copied, total: summary.rows });
            if let Some(identity) = table.identity {
                tx.after_explicit_ids(table.name, identity).await?;
            }
        }
        for (table, summary) in TABLES.iter().zip(&expected) {
            progress(Progress::Verifying { table: table.name });
            let mut hasher = TableHasher::default();
            let mut stream = sqlx::query(sqlx::AssertSqlSafe(select_sql(table))).fetch(&mut **tx);
            while let Some(row) = stream.try_next().await? {
                hasher.add(&read_row(&row, table)?);
            }
            drop(stream);
            let (rows, checksum) = hasher.finish();
            if (rows, checksum) != (summary.rows, summary.checksum) {
                return Ok(Decision::Rollback(Err(CopyError::Mismatch {
                    table: table.name,
                    source_rows: summary.rows,
                    source_checksum: summary.checksum,
                    target_rows: rows,
                    target_checksum: checksum,
                })));
            }
        }
        Ok(Decision::Commit(Ok(())))
    })??;
    Ok(expected)
}

async fn count(db: &Db, table: &Table) -> Result<i64, StorageError> {
    let sql = format!("SELECT count(*) FROM {}", table.name);
    with_pool!(db, |pool| Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(pool).await?))
}

fn select_sql(table: &Table) -> String {
    let columns: Vec<&str> = table.columns.iter().map(|(name, _)| *name).collect();
    format!("SELECT {} FROM {}", columns.join(", "), table.name)
}

/// `INSERT INTO table (…) VALUES ($1, …), …` for `rows` rows.
fn insert_sql(table: &Table, rows: usize) -> String {
    let width = table.columns.len();
    let columns: Vec<&str> = table.columns.iter().map(|(name, _)| *name).collect();
    let values: Vec<String> = (0..rows)
        .map(|row| {
            let params: Vec<String> = (1..=width).map(|col| format!("${}", row * width + col)).collect();
            format!("({})", params.join(", "))
        })
        .collect();
    format!("INSERT INTO {} ({}) VALUES {}", table.name, columns.join(", "), values.join(", "))
}

fn read_row(row: &impl PortableRow, table: &Table) -> Result<Vec<Value>, StorageError> {
    table
        .columns
        .iter()
        .enumerate()
        .map(|(index, (_, kind))| {
            Ok(match kind {
                Int => Value::Int(row.col_at(index)?),
                Text => Value::Text(row.col_at(index)?),
                Bool => Value::Bool(row.col_at(index)?),
            })
        })
        .collect()
}

/// The order-independent checksum of a table (see the module docs).
#[derive(Default)]
struct TableHasher {
    rows: i64,
    sum: u64,
}

impl TableHasher {
    fn add(&mut self, row: &[Value]) {
        let mut hash = Sha256::new();
        for value in row {
            // A tag and a length before each value, so no two rows encode alike.
            match value {
                Value::Int(None) | Value::Text(None) | Value::Bool(None) => hash.update([0]),
                Value::Int(Some(n)) => {
                    hash.update([1]);
                    hash.update(n.to_le_bytes());
                }
                Value::Text(Some(text)) => {
                    hash.update([2]);
                    hash.update((text.len() as u64).to_le_bytes());
                    hash.update(text.as_bytes());
                }
                Value::Bool(Some(flag)) => hash.update([3, u8::from(*flag)]),
            }
        }
        let digest = hash.finalize();
        let mut first = [0_u8; 8];
        first.copy_from_slice(&digest[..8]);
        self.sum = self.sum.wrapping_add(u64::from_le_bytes(first));
        self.rows += 1;
    }

    fn finish(&self) -> (i64, u64) {
        (self.rows, self.sum)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// Tables that are not part of the history: the migrator's own, SQLite's sequence
    /// counters, the lease (it belongs to the running copies) and the library's search
    /// index (rebuilt by the target's triggers).
    fn not_copied(table: &str) -> bool {
        table.starts_with("_sqlx") || table.starts_with("sqlite_") || table == "leases" || table.starts_with("library_")
    }

    /// A table or column added by a migration but not here would silently not be copied.
    #[tokio::test]
    async fn every_table_and_column_of_the_schema_is_copied() {
        let db = Db::in_memory().await.unwrap();
        let tables: Vec<String> =
            sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
                .fetch_all(db.reader())
                .await
                .unwrap();
        for name in tables.iter().filter(|t| !not_copied(t)) {
            let table = TABLES.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("table {name} is not copied"));
            let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info($1) ORDER BY name")
                .bind(name)
                .fetch_all(db.reader())
                .await
                .unwrap();
            let mut copied: Vec<String> = table.columns.iter().map(|(column, _)| column.to_string()).collect();
            copied.sort();
            assert_eq!(copied, columns, "the columns of {name}");
        }
    }

    #[test]
    fn the_checksum_ignores_row_order_but_not_values() {
        let a = vec![Value::Int(Some(1)), Value::Text(Some("ab".into()))];
        let b = vec![Value::Int(Some(2)), Value::Text(Some("c".into()))];
        let (mut one, mut two) = (TableHasher::default(), TableHasher::default());
        one.add(&a);
        one.add(&b);
        two.add(&b);
        two.add(&a);
        assert_eq!(one.finish(), two.finish());
        let mut three = TableHasher::default();
        three.add(&a);
        three.add(&[Value::Int(Some(2)), Value::Text(Some("C".into()))]);
        assert_ne!(one.finish(), three.finish());
        let mut null = TableHasher::default();
        null.add(&[Value::Text(None)]);
        let mut empty = TableHasher::default();
        empty.add(&[Value::Text(Some(String::new()))]);
        assert_ne!(null.finish(), empty.finish());
    }

    #[test]
    fn inserts_number_their_placeholders_row_by_row() {
        let table = TABLES.iter().find(|t| t.name == "schedule_runs").unwrap();
        assert_eq!(insert_sql(table, 2), "INSERT INTO schedule_runs (job, last_run_at) VALUES ($1, $2), ($3, $4)");
    }
}
