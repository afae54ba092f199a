//! SQLite persistence for incidentbot.
//!
//! - [`location`] reads a database URL (or a file path) into where the database lives;
//!   the one place that knows which backends exist.
//! - [`db`] opens the database (WAL, foreign keys, busy timeout, one writer), creating it
//!   or not as its [`OpenMode`] says, and runs the embedded migrations.
//! - `writer` holds the one write connection, and `Db::write`, the one way to run a
//!   write transaction: `BEGIN IMMEDIATE` on that connection, then commit or roll back.
//! - [`model`] holds the stored value types and records.
//! - [`incidents`], [`timeline`], [`postmortems`] and [`actions`] hold the typed
//!   queries, each as methods on [`Db`].
//! - [`reports`] answers the digest's windowed queries.
//! - `group_commit` lets concurrent timeline writes share one commit.
//! - [`deliveries`] records scheduled deliveries and job runs, for exactly-once reminders.
//! - [`learning`] holds what an incident teaches: its services, contributing-factor tags
//!   and invites.
//! - [`inbound_events`] records processed inbound deliveries of every surface, so a
//!   retried one is recognised.
//! - [`integrity`] runs SQLite's consistency check.
//! - [`lease`] decides which running copy of the bot is the active one.
//! - [`backup`] writes verified online snapshots.
//! - `baseline` (feature `bench-support`) is raw SQLite inserts, the yardstick the
//!   benchmarks compare against, and their synthetic history.
//! - `testing` (feature `test-support`) puts a database in states the bot never produces,
//!   for tests in other crates.
//!
//! Every timestamp is stored as UTC milliseconds since the Unix epoch, and every query
//! binds its parameters.
//!
//! The typed queries keep to SQL that PostgreSQL also runs, so a second backend can share
//! them: numbered placeholders (`?1`, which map to `$1`), `RETURNING` for new ids,
//! booleans bound and read as `bool`, `ON CONFLICT` upserts, and no function only SQLite
//! has (`timeline` and `group_commit` still bind `?` and compare `is_key` with 0/1).
//! What stays SQLite's own is the write path (`writer`), the lease's locking, backups,
//! the integrity check and the start-up version guards.

#[macro_use]
mod portable;

pub mod actions;
pub mod backup;
#[cfg(feature = "bench-support")]
pub mod baseline;
pub mod copy;
pub mod db;
pub mod deliveries;
mod group_commit;
pub mod inbound_events;
pub mod incidents;
pub mod integrity;
pub mod learning;
pub mod lease;
pub mod location;
pub mod model;
mod postgres;
pub mod postmortems;
pub mod reports;
mod sqlite;
#[cfg(feature = "test-support")]
pub mod test_database;
#[cfg(feature = "test-support")]
pub mod testing;
mod time;
pub mod timeline;
mod writer;

pub use db::{Db, OpenMode, StorageError};
pub use deliveries::{Claim, DeliveryKey};
pub use learning::{Attached, Attachment};
pub use lease::{Fence, LeaseHolder};
pub use location::{Engine, Location, UrlError};
pub use model::*;
