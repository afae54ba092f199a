//! What lets one typed query serve both engines.
//!
//! The SQL is written once, in the dialect both SQLite and PostgreSQL run: numbered
//! placeholders (`$1`; SQLite reads them too), `RETURNING`, `ON CONFLICT`, booleans bound
//! and read as `bool`, and no function only one engine has. The Rust around it is
//! written once too, and compiled once per engine by two macros:
//!
//! - `with_pool!(db, |pool| expr)` runs `expr` with `pool` the engine's read pool;
//! - `in_transaction!(db, |tx| body)` runs `body` in one write transaction of the
//!   engine (`tx` is a `&mut Transaction` of that engine) and commits or rolls back as
//!   the [`Decision`] it returns says.
//!
//! No `sqlx::Any`: it would hide how each engine's transactions behave, which is exactly
//! where they differ. Rows are read through [`PortableRow`], which names a column's type
//! once for both engines.

use sqlx::postgres::{PgRow, Postgres};
use sqlx::sqlite::{Sqlite, SqliteRow};
use sqlx::{Decode, Row, Type};

/// What the work inside a write transaction decided: keep its writes or undo them.
/// Either way the value goes back to the caller.
pub(crate) enum Decision<T> {
    Commit(T),
    /// Undo everything the work wrote, e.g. the timeline entry written before a revision
    /// check that then failed.
    Rollback(T),
}

/// A value both engines can read from a column.
pub(crate) trait Column:
    for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres>
{
}

impl<T> Column for T where T: for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres> {}

/// A result row of either engine.
pub(crate) trait PortableRow {
    /// The column `name`, decoded as `T`.
    fn col<T: Column>(&self, name: &str) -> Result<T, sqlx::Error>;
    /// The column at `index`, decoded as `T`.
    fn col_at<T: Column>(&self, index: usize) -> Result<T, sqlx::Error>;
}

impl PortableRow for SqliteRow {
    fn col<T: Column>(&self, name: &str) -> Result<T, sqlx::Error> {
        self.try_get(name)
    }

    fn col_at<T: Column>(&self, index: usize) -> Result<T, sqlx::Error> {
        self.try_get(index)
    }
}

impl PortableRow for PgRow {
    fn col<T: Column>(&self, name: &str) -> Result<T, sqlx::Error> {
        self.try_get(name)
    }

    fn col_at<T: Column>(&self, index: usize) -> Result<T, sqlx::Error> {
        self.try_get(index)
    }
}

/// The few steps inside a shared write transaction that each engine takes its own way.
pub(crate) trait EngineTx {
    /// Holds every other transaction that declares the same request (`key`) back until
    /// this one ends, so a retried declaration finds the incident instead of racing it.
    async fn serialize_on(&mut self, key: &str) -> Result<(), sqlx::Error>;

    /// After rows were written with explicit ids into `table`, makes the next id the
    /// engine hands out larger than all of them.
    async fn after_explicit_ids(&mut self, table: &str, column: &str) -> Result<(), sqlx::Error>;
}

impl EngineTx for sqlx::Transaction<'_, Sqlite> {
    /// Nothing to do: SQLite's write transactions already run one at a time
    /// (`BEGIN IMMEDIATE` on the one writer).
    async fn serialize_on(&mut self, _key: &str) -> Result<(), sqlx::Error> {
        Ok(())
    }

    /// Nothing to do: `AUTOINCREMENT` already counts on from the largest id written.
    async fn after_explicit_ids(&mut self, _table: &str, _column: &str) -> Result<(), sqlx::Error> {
        Ok(())
    }
}

impl EngineTx for sqlx::Transaction<'_, Postgres> {
    /// A transaction-scoped advisory lock on the key's hash. Without it two deliveries of
    /// one request would both insert, and the loser's conflict would still spend an id
    /// of the sequence: INC numbers would skip.
    async fn serialize_on(&mut self, key: &str) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))").bind(key).execute(&mut **self).await?;
        Ok(())
    }

    /// Moves the identity column's sequence to the largest id (or leaves it at its
    /// start on an empty table).
    async fn after_explicit_ids(&mut self, table: &str, column: &str) -> Result<(), sqlx::Error> {
        let max_sql = format!("SELECT max({column}) FROM {table}");
        let max: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(max_sql)).fetch_one(&mut **self).await?;
        if let Some(max) = max {
            sqlx::query("SELECT setval(pg_get_serial_sequence($1, $2), $3)")
                .bind(table)
                .bind(column)
                .bind(max)
                .execute(&mut **self)
                .await?;
        }
        Ok(())
    }
}

/// `with_pool!(db, |pool| expr)`: `expr`, compiled once per engine, with `pool` bound to
/// the read pool of the engine `db` runs on.
macro_rules! with_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db.backend() {
            $crate::db::Backend::Sqlite(engine) => {
                let $pool = engine.reader();
                $body
            }
            $crate::db::Backend::Postgres(engine) => {
                let $pool = engine.pool();
                $body
            }
        }
    };
}

/// `in_transaction!(db, |tx| body)`: `body` (which returns
/// `Result<Decision<T>, StorageError>`), compiled once per engine, in one write
/// transaction of the engine `db` runs on; evaluates to `Result<T, StorageError>`.
macro_rules! in_transaction {
    ($db:expr, |$tx:ident| $body:expr) => {
        match $db.backend() {
            $crate::db::Backend::Sqlite(engine) => engine.write(async |$tx| $body).await,
            $crate::db::Backend::Postgres(engine) => engine.write(async |$tx| $body).await,
        }
    };
}

/// `insert_entry!(tx, entry)`: inserts a timeline entry (`&NewEntry`) unless its source
/// id is already stored; `Ok(true)` when inserted. A statement shared by the write
/// transactions that record a change together with its entry. `insert_entry!(@on
/// executor, entry)` runs it on any executor, e.g. a pool, as its own transaction.
macro_rules! insert_entry {
    ($tx:expr, $entry:expr) => {
        insert_entry!(@on &mut **$tx, $entry)
    };
    (@on $executor:expr, $entry:expr) => {{
        let entry: &$crate::model::NewEntry = $entry;
        sqlx::query($crate::timeline::INSERT_ENTRY_SQL)
            .bind(entry.incident_id)
            .bind(&entry.source_id)
            .bind($crate::time::to_millis(entry.at))
            .bind(entry.kind.as_str())
            .bind(&entry.author)
            .bind(&entry.text)
            .bind(entry.is_key)
            .execute($executor)
            .await
            .map(|done| done.rows_affected() > 0)
    }};
}

/// `acknowledge_by_entry!(tx, entry)`: makes the entry's time its incident's
/// acknowledgement, if the incident is open, has none yet, and the entry is not older
/// than the declaration.
macro_rules! acknowledge_by_entry {
    ($tx:expr, $entry:expr) => {{
        let entry: &$crate::model::NewEntry = $entry;
        sqlx::query($crate::timeline::ACKNOWLEDGE_SQL)
            .bind($crate::time::to_millis(entry.at))
            .bind(entry.incident_id)
            .execute(&mut **$tx)
            .await
            .map(|done| done.rows_affected() > 0)
    }};
}

/// `upsert_role!(tx, incident_id, role, user, at)`: gives `role` of an incident to
/// `user`, replacing whoever had it.
macro_rules! upsert_role {
    ($tx:expr, $incident_id:expr, $role:expr, $user:expr, $at:expr) => {{
        let role: $crate::model::Role = $role;
        let user: &str = $user;
        sqlx::query(
            "INSERT INTO incident_roles (incident_id, role, user_id, assigned_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (incident_id, role) DO UPDATE SET user_id = excluded.user_id, assigned_at = excluded.assigned_at",
        )
        .bind($incident_id)
        .bind(role.as_str())
        .bind(user)
        .bind($crate::time::to_millis($at))
        .execute(&mut **$tx)
        .await
        .map(|_| ())
    }};
}

/// `insert_attachment!(tx, what, incident_id, name, by, at)`: adds `name` to one of an
/// incident's sets (`crate::learning::Attachment`); `Ok(true)` when it was not there.
macro_rules! insert_attachment {
    ($tx:expr, $what:expr, $incident_id:expr, $name:expr, $by:expr, $at:expr) => {{
        let what: $crate::learning::Attachment = $what;
        let (name, by): (&str, &str) = ($name, $by);
        sqlx::query(what.insert_sql())
            .bind($incident_id)
            .bind(name)
            .bind(by)
            .bind($crate::time::to_millis($at))
            .execute(&mut **$tx)
            .await
            .map(|done| done.rows_affected() > 0)
    }};
}

/// `insert_job!(tx, job, at)`: enqueues an outbound job (`&outbox::NewJob`), due at
/// `at`; `Ok(false)` when a job with its key exists already.
macro_rules! insert_job {
    ($tx:expr, $job:expr, $at:expr) => {{
        let job: &$crate::outbox::NewJob = $job;
        sqlx::query(
            "INSERT INTO outbox_jobs (key, kind, subject, payload, created_at, next_attempt_at)
             VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (key) DO NOTHING",
        )
        .bind(job.key())
        .bind(&job.kind)
        .bind(&job.subject)
        .bind(&job.payload)
        .bind($crate::time::to_millis($at))
        .execute(&mut **$tx)
        .await
        .map(|done| done.rows_affected() > 0)
    }};
}
