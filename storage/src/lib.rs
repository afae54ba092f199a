//! Persistence for incidentbot, on SQLite (the default, embedded) or PostgreSQL, behind
//! one [`Db`].
//!
//! - [`location`] reads a database URL (or a file path) into where the database lives;
//!   the one place that knows which engines exist.
//! - [`db`] is the facade: it opens either engine as its [`OpenMode`] says, and holds
//!   the storage errors.
//! - `portable` makes one typed query serve both engines: the `with_pool!` and
//!   `in_transaction!` macros, rows read through `PortableRow`, and the few steps
//!   inside a shared transaction that each engine takes its own way (`EngineTx`).
//! - `sqlite` opens SQLite (WAL, foreign keys, busy timeout, one writer) with its
//!   migrations (`migrations/sqlite`) and version guards; `writer` holds its one write
//!   connection, and `group_commit` lets concurrent timeline writes share one commit.
//! - `postgres` opens PostgreSQL (a pool, no single writer) with its migrations
//!   (`migrations/postgres`) and version guards.
//! - [`model`] holds the stored value types and records.
//! - [`incidents`], [`timeline`], [`postmortems`] and [`actions`] hold the typed
//!   queries, each as methods on [`Db`].
//! - [`learning`] holds what an incident teaches: its services, contributing-factor tags
//!   and invites.
//! - [`reports`] answers the digest's windowed queries.
//! - [`pages`] answers the web pages: the filtered incident list, timeline pages, the
//!   postmortem library's full-text search (FTS5 on SQLite, a `tsvector` with a GIN
//!   index on Postgres, each kept in step by triggers).
//! - [`insights`] answers the insights page with few columns and SQL counts.
//! - [`web_auth`] stores one-time sign-in links and web sessions, by token hash.
//! - [`deliveries`] records scheduled deliveries and job runs, for exactly-once reminders
//!   (fenced by the lease's token when the scheduler runs under one).
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
//! - [`lease`] decides which running copy of the bot is the active one, with a fencing
//!   token.
//! - [`copy`] copies a whole history between databases (`migrate-db`), verified.
//! - [`backup`] writes verified online snapshots of SQLite (and names `pg_dump` on
//!   Postgres); [`integrity`] runs SQLite's consistency check.
//! - `baseline` (feature `bench-support`) is raw SQLite inserts, the yardstick the
//!   benchmarks compare against, and their synthetic history; `baseline_postgres` is the
//!   same yardstick on PostgreSQL.
//! - `testing` and `test_database` (feature `test-support`) put a database in states the
//!   bot never produces, and give tests a fresh database of either engine.
//!
//! Every timestamp is stored as UTC milliseconds since the Unix epoch, and every query
//! binds its parameters. The shared SQL is what both engines run: `$n` placeholders,
//! `RETURNING`, `ON CONFLICT`, booleans bound and read as `bool`.

#[macro_use]
mod portable;

pub mod actions;
pub mod alerts;
pub mod backup;
#[cfg(feature = "bench-support")]
pub mod baseline;
#[cfg(feature = "bench-support")]
pub mod baseline_postgres;
pub mod copy;
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
mod postgres;
pub mod postmortems;
pub mod reports;
mod sqlite;
pub mod steps;
#[cfg(feature = "test-support")]
pub mod test_database;
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
pub use deliveries::{Claim, DeliveryKey};
pub use inbox::{InboxRequest, InboxRow};
pub use insights::{ActionCounts, IncidentMoments};
pub use learning::{Attached, Attachment};
pub use lease::{Fence, LeaseHolder};
pub use links::{LinkOutcome, PostmortemPr, TrackerLink};
pub use location::{Engine, Location, UrlError};
pub use model::*;
pub use outbox::{AttemptStart, Job, NewJob};
pub use pages::{IncidentQuery, LibraryHit, LibrarySearch};
pub use steps::{StepState, UnfinishedIncident};
pub use web_auth::{LinkRefusal, WebSession, WebUser};
