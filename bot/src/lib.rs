//! The incidentbot binary's library: everything that touches the outside world.
//!
//! - [`alerts`] receives alerts from monitoring (`POST /alerts/<name>`) and runs the alert worker.
//! - [`cli`] parses the command line and runs a subcommand; [`check`] is `incidentbot check`.
//! - [`config`] reads the TOML file and the environment; [`secret`] keeps tokens out of logs.
//! - [`console`] is the local workspace that drives the core with typed lines.
//! - [`discord`] runs the incident flow in a Discord server.
//! - [`fence`] is the send gate: nothing goes to a chat platform once the lease may be lost.
//! - [`http_deadline`] cuts off slow HTTP clients.
//! - [`health`] is what `/healthz` reports; [`metrics`] is what `/metrics` exports.
//! - [`lease`] makes one running copy the active one.
//! - [`logging`] sets up tracing.
//! - [`migrate_db`] is `incidentbot migrate-db`: a whole history copied between databases.
//! - [`scheduler`] wakes up and delivers follow-ups (reminders, nudges, digests).
//! - [`serve`] runs the HTTP server, the chat platforms and the scheduler together.
//! - [`slack`] is the Slack adapter: its HTTP routes and its Web API client.
//! - [`web`] is the web pages: incidents, the postmortem library and editor, action
//!   items, insights, and signing in.
//! - [`text_units`] splits rendered text between whole escapes, for every renderer.
//! - [`trackers`] holds the GitHub, Jira and Statuspage clients and the inbound tracker
//!   webhooks.

pub mod alerts;
pub mod check;
pub mod cli;
pub mod config;
pub mod console;
pub mod discord;
pub mod fence;
pub mod health;
pub mod http_deadline;
pub mod lease;
pub mod logging;
pub mod metrics;
pub mod migrate_db;
pub mod scheduler;
pub mod secret;
pub mod serve;
pub mod slack;
pub mod text_units;
pub mod trackers;
pub mod web;
