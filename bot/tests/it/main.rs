//! The bot crate's integration tests, in one binary so that it is linked once.
//!
//! Each module is one area; the `*_support` modules and `log_capture` are the shared
//! set-up. Run one area with a filter: `cargo test -p bot --test it slack_events::`.
//!
//! The tests share the process, so none of them changes it: no `std::env::set_var`
//! (the binary under test gets its environment through `Command::env`), no global
//! subscriber of its own (logs are checked through `log_capture`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod alerts_support;
mod discord_gateway_fake;
mod discord_support;
mod discord_world;
mod log_capture;
mod process_support;
mod slack_support;

mod alerts_alertmanager;
mod alerts_buttons;
mod alerts_http;
mod cli;
mod cli_ops;
mod deploy_files;
mod discord_commands;
mod discord_incident;
mod discord_learning;
mod discord_secrets;
mod discord_timeline;
mod edge_cases;
mod migrate_db;
mod reliability_crash;
mod reliability_discord_faults;
mod reliability_discord_kill;
mod reliability_discord_resume;
mod reliability_faults;
mod reliability_hostile;
mod reliability_resume;
mod render_limits;
mod serve_failover;
mod serve_lease;
mod serve_logs;
mod slack_events;
mod slack_fidelity;
mod slack_flow;
mod slack_learning;
mod slack_metrics;
mod slack_secrets;
mod slack_verification;
mod trackers;
mod web_browser;
