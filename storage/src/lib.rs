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
//! - [`learning`] holds what an incident teaches: its services, contributing-factor tags
//!   and invites.
//! - [`reports`] answers the digest's windowed queries.
//! - [`pages`] answers the web pages: the filtered incident list, timeline pages, the
//!   postmortem library's full-text search (FTS5, kept in step by triggers).
//! - [`insights`] answers the insights page with few columns and SQL counts.
//! - [`web_auth`] stores one-time sign-in links and web sessions, by token hash.
//! - `group_commit` lets concurrent timeline writes share one commit.
//! - [`deliveries`] records scheduled deliveries and job runs, for exactly-once reminders.
//! - [`inbound_events`] records processed inbound deliveries of every surface, so a
//!   retried one is recognised.
//! - [`alerts`] stores alerts from monitoring once per source and fingerprint, their
//!   groups and triage posts, how incidents were detected, and the resolve nudges.
//! - [`inbox`] is the durable inbox: requests answered before their work is done,
//!   committed before the answer, run again after a crash; [`steps`] records each
//!   platform call such a request makes (intent before, result after), so a resumed
//!   request picks up at its first unfinished step.
//! - [`outbox`] holds outbound jobs to trackers, the status page and pull requests,
//!   claimed before each call; [`links`] records what those calls created (an item's
//!   issue, an incident's status page incident and postmortem pull requests).
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

pub mod actions;
pub mod alerts;
pub mod backup;
#[cfg(feature = "bench-support")]
pub mod baseline;
pub mod db;
pub mod deliveries;
mod group_commit;
pub mod inbound_events;
pub mod inbox;
pub mod incidents;
pub mod insights;
pub mod integrity;
pub mod learning;
pub mod lease;
pub mod links;
pub mod location;
pub mod model;
pub mod outbox;
pub mod pages;
pub mod postmortems;
pub mod reports;
pub mod steps;
#[cfg(feature = "test-support")]
pub mod testing;
mod time;
pub mod timeline;
pub mod web_auth;
mod writer;

pub use alerts::{
    AlertGroup, AlertState, AlertStatus, Detection, NewAlert, NoiseCount, StoredAlert, StoredDelivery, TriageOutcome,
};
pub use db::{Db, OpenMode, StorageError};
pub use deliveries::DeliveryKey;
pub use inbox::{InboxRequest, InboxRow};
pub use insights::{ActionCounts, IncidentMoments};
pub use learning::{Attached, Attachment};
pub use links::{LinkOutcome, PostmortemPr, TrackerLink};
pub use location::{Location, UrlError};
pub use model::*;
pub use outbox::{AttemptStart, Job, NewJob};
pub use pages::{IncidentQuery, LibraryHit, LibrarySearch};
pub use steps::{StepState, UnfinishedIncident};
pub use web_auth::{LinkRefusal, WebSession, WebUser};
