//! The platform-neutral incident core.
//!
//! Adapters (Slack, Discord, the console) turn platform events into calls on [`Core`]
//! and render what it returns. The core holds every rule of the incident lifecycle and
//! no I/O of its own: it stores through `storage`, talks to chat only through the
//! [`Chat`] port, and reads time only through the [`Clock`].
//!
//! - [`grammar`] parses what users type; [`help`] lists it; [`actor`] says who acts: a
//!   person, or the system (alerts, the scheduler, trackers).
//! - [`core`] dispatches commands; [`incident_cmds`], [`action_cmds`],
//!   [`postmortem_cmds`], [`report_cmds`] and [`buttons`] handle them.
//! - [`declare_steps`] holds a declare's platform calls as recorded steps, and how a
//!   declare run again after a crash resumes at its first unfinished one.
//! - [`inbox`] is the durable inbox as adapters use it: commit before answering, mark
//!   done after replying, run again what is not done; and when a reply path expires.
//! - [`lifecycle`] holds the status moves; [`permissions`] the one table of who may do
//!   what; [`users`] what counts as a user on each platform; [`blameless`] the blame
//!   hints; [`postmortem`] the fields.
//! - [`limits`] holds every bound on what users type; [`text`] cleans user text
//!   (control characters, escapes, bidi overrides) before it is stored or echoed.
//! - [`ingest`] records the timeline from channel messages; [`history`] decides where
//!   catching up after downtime starts, for every platform.
//! - [`message`] and [`outcome`] are what the core hands back to adapters.
//! - [`alerts`] holds the alert rules: matchers, declare / triage / ignore, grouping
//!   and dedupe, the resolve nudge, and the triage commands.
//! - [`catalog`] holds the vocabulary of the system: the service catalog and the
//!   contributing-factor tags, with closest-name suggestions; [`learning_cmds`] attaches
//!   services, tags and invites to incidents; [`visibility`] decides who may see a private
//!   incident, and [`drill`] how a game day is marked and kept out of the metrics.
//! - [`recurrence`] finds the tags and services that recur, and the figures per service.
//! - [`export`] and [`stats`] turn stored incidents into documents and figures;
//!   [`durations`] defines time to detect, acknowledge, mitigate and resolve, once.
//! - [`pages`] is what the web pages show (lists, an incident, the library, actions);
//!   [`insights`] the numbers behind its charts; [`web_edit`] its edits, through the
//!   same rules as chat; [`web_auth`] who may see it: one-time links and sessions.
//! - [`tracker`], [`status_page`] and [`postmortem_repo`] are the ports to issue
//!   trackers, the status page and the repository of postmortems, on the model of
//!   [`Chat`]; [`follow_through`] holds their rules: which item becomes an issue, what
//!   syncs both ways, what is public, when a pull request opens, retries and backoff.

pub mod action_cmds;
pub mod actor;
pub mod alerts;
pub mod blameless;
pub mod buttons;
pub mod catalog;
pub mod channel_name;
pub mod chat;
pub mod clock;
pub mod core;
pub mod declare_steps;
pub mod digest;
pub mod drill;
pub mod durations;
pub mod error;
pub mod export;
pub mod follow_through;
pub mod followup;
pub mod format;
pub mod grammar;
pub mod help;
pub mod history;
pub mod inbox;
pub mod incident_cmds;
pub mod ingest;
pub mod insights;
pub mod learning_cmds;
pub mod lifecycle;
pub mod limits;
pub mod message;
pub mod outcome;
pub mod pages;
pub mod permissions;
pub mod postmortem;
pub mod postmortem_cmds;
pub mod postmortem_repo;
pub mod recording_chat;
pub mod recurrence;
pub mod report_cmds;
pub mod schedule;
pub mod settings;
pub mod stats;
pub mod status_page;
#[cfg(test)]
mod testing;
pub mod text;
pub mod tracker;
pub mod users;
pub mod visibility;
pub mod web_auth;
pub mod web_edit;

pub use crate::actor::{Actor, SystemSource};
pub use crate::buttons::ButtonPress;
pub use crate::catalog::{Factor, FactorVocabulary, Service, ServiceCatalog, UnknownName};
pub use crate::chat::{ChannelRef, Chat, ChatError, MessageRef};
pub use crate::clock::{Clock, ManualClock, SystemClock};
pub use crate::core::{Core, Invocation};
pub use crate::error::CoreError;
pub use crate::incident_cmds::SystemDeclare;
pub use crate::ingest::{ChatMessage, Ingested};
pub use crate::learning_cmds::TagSelection;
pub use crate::message::{Button, ButtonAction, Line, Message, Span};
pub use crate::outcome::{Form, FormField, FormKind, Outcome, TagPicker};
pub use crate::postmortem_cmds::FormSubmission;
pub use crate::settings::Settings;
pub use storage::{ChannelId, EventSource, InboxRequest, InboxRow, SourceId};
