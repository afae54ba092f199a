//! `incidentbot console`: a local workspace that plays the whole incident flow with no
//! chat account. It reads one line at a time (stdin or a script), drives the same
//! [`Core`] as Slack and Discord, and prints each bot action on its own line.

pub mod chat;
pub mod clock;
pub mod output;
pub mod script;

use std::collections::HashMap;
use std::io::BufRead;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use commands::followup::{FollowupSettings, Followups};
use commands::{ChannelId, ChatMessage, Clock, Core, Form, FormSubmission, Invocation, Outcome, Settings, SourceId};
use storage::Db;

use self::chat::ConsoleChat;
use self::clock::ConsoleClock;
use self::output::Output;
use self::script::{parse_line, ConsoleLine, CONSOLE_HELP};

/// How to start the workspace.
pub struct ConsoleOptions {
    /// `None` keeps the workspace in memory.
    pub database_url: Option<String>,
    /// A fixed start time (scripts use it for repeatable output); `None` follows the wall clock.
    pub start: Option<DateTime<Utc>>,
    pub settings: Settings,
    pub followups: FollowupSettings,
}

/// How the workspace shows where input goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompting {
    /// Output only (a script, or a pipe).
    Quiet,
    /// A prompt before each line (a terminal).
    Interactive,
    /// Each input line after its prompt, as a terminal session reads: the README's
    /// transcripts are made this way.
    Echo,
}

/// A form being answered one line per field.
struct PendingForm {
    form: Form,
    user: String,
    channel: ChannelId,
    /// Answers carried over from an earlier submission the core sent back for a fix.
    kept: Vec<(String, String)>,
    /// Answers to `form.fields`, in order.
    answers: Vec<(String, String)>,
}

/// The workspace's state between lines.
pub struct Console {
    core: Arc<Core>,
    db: Db,
    followups: Followups,
    chat: Arc<ConsoleChat>,
    clock: Arc<ConsoleClock>,
    output: Output,
    user: String,
    channel: ChannelId,
    /// The last human message per channel, by source id, for `:pin` and `:react`.
    last_message: HashMap<ChannelId, SourceId>,
    pending: Option<PendingForm>,
    /// Distinguishes this run's source ids from an earlier run's on the same database.
    session: String,
    line_number: u64,
    /// Alert sources by name and kind, from `[alerts]`.
    alert_sources: Vec<(String, crate::alerts::config::SourceKind)>,
    /// Where `:alert FILE` looks for a relative FILE (a script's folder).
    base_dir: std::path::PathBuf,
}

/// The console's default triage channel.
pub const TRIAGE_CHANNEL: &str = "alerts";

impl Console {
    pub async fn open(options: &ConsoleOptions, output: Output) -> anyhow::Result<Console> {
        let db = match &options.database_url {
            Some(url) => Db::connect(url).await?,
            None => Db::in_memory().await?,
        };
        Console::with_db(db, options, output).await
    }

    /// The workspace on a database opened already (`--db PATH` opens its file by path,
    /// so no URL is built from it); `options.database_url` is not read.
    pub async fn with_db(db: Db, options: &ConsoleOptions, output: Output) -> anyhow::Result<Console> {
        let chat = Arc::new(ConsoleChat::new(output.clone()));
        let clock = Arc::new(match options.start {
            Some(start) => ConsoleClock::fixed(start),
            None => ConsoleClock::following_wall_clock(),
        });
        let session = format!("{}", Utc::now().timestamp_nanos_opt().unwrap_or_default());
        let core = Arc::new(Core::new(db.clone(), chat.clone(), clock.clone(), options.settings.clone()));
        core.set_alert_settings(commands::alerts::AlertSettings {
            triage_channel: Some(TRIAGE_CHANNEL.into()),
            rules: Vec::new(),
        });
        for name in core.channel_names().await? {
            chat.know_channel(&name);
        }
        let followups = Followups::new(core.clone(), options.followups.clone());
        // The first tick only records where the schedules start from.
        followups.tick(clock.now()).await?;
        Ok(Console {
            core,
            db,
            followups,
            chat,
            clock,
            output,
            user: "you".to_string(),
            channel: "general".into(),
            last_message: HashMap::new(),
            pending: None,
            session,
            line_number: 0,
            alert_sources: Vec::new(),
            base_dir: std::path::PathBuf::from("."),
        })
    }

    /// Takes the `[alerts]` rules, triage channel (default `alerts`) and source kinds.
    pub fn set_alerts(&mut self, config: &crate::alerts::config::AlertsConfig) -> anyhow::Result<()> {
        self.core.set_alert_settings(config.settings(Some(TRIAGE_CHANNEL))?);
        self.alert_sources = config.sources.iter().map(|s| (s.name.clone(), s.kind)).collect();
        Ok(())
    }

    /// Where `:alert FILE` finds a relative FILE.
    pub fn set_base_dir(&mut self, dir: impl Into<std::path::PathBuf>) {
        self.base_dir = dir.into();
    }

    /// `:alert FILE [source]`: stores the payload as that source's delivery, then
    /// applies it at once (in `serve` the worker does this in the background).
    async fn feed_alert(&mut self, file: &str, source: Option<String>) -> Result<String, String> {
        let path = self.base_dir.join(file);
        let body = std::fs::read(&path).map_err(|e| format!("Cannot read {}: {e}", path.display()))?;
        let source = source.unwrap_or_else(|| match self.alert_sources.first() {
            Some((name, _)) => name.clone(),
            None => "console".to_string(),
        });
        let kind = match self.alert_sources.iter().find(|(name, _)| *name == source) {
            Some((_, kind)) => *kind,
            None => crate::alerts::payload::detect_kind(&body).ok_or_else(|| {
                format!("{file} is not an Alertmanager, Grafana, PagerDuty or generic alert payload.")
            })?,
        };
        let delivery = crate::alerts::payload::parse(kind, &body, None, self.core.now())
            .map_err(|e| format!("{file} was refused ({}): {e}", kind.as_str()))?;
        let stored = self.core.receive_alerts(&source, &delivery).await.map_err(|e| e.to_string())?;
        self.core.apply_pending_alerts().await.map_err(|e| format!("Applying the alerts failed: {e}"))?;
        Ok(format!(
            "{source} ({}) delivered {} alert(s): {} new, {} changed, {} repeated.",
            kind.as_str(),
            delivery.alerts.len(),
            stored.new,
            stored.changed,
            stored.repeated
        ))
    }

    pub fn core(&self) -> &Core {
        &self.core
    }

    /// The workspace's database: the console opened it, so it closes it, and its tests
    /// read what was stored. Lines go through the core, never to it directly.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Closes the workspace's database, so its file is complete when the process ends.
    pub async fn close(&self) {
        self.db.close().await;
    }

    fn prompt_text(&self) -> String {
        match &self.pending {
            Some(form) => format!(
                "{}@#{} form ({}/{})> ",
                form.user,
                form.channel,
                form.answers.len() + 1,
                form.form.fields.len()
            ),
            None => format!("{}@#{}> ", self.user, self.channel),
        }
    }

    /// Runs every line of `input`, then submits a form left half-answered so no
    /// answer is lost.
    pub async fn run(&mut self, input: impl BufRead, prompting: Prompting) -> anyhow::Result<()> {
        if prompting == Prompting::Interactive {
            self.output.emit("", "incidentbot console: try `/incident declare sev2 Checkout is down`, or :help.");
            self.output.prompt(&self.prompt_text());
        }
        for line in input.lines() {
            let line = line?;
            if prompting == Prompting::Echo {
                // What a terminal shows: the prompt, then the line as typed.
                self.output.prompt(&format!("{}{line}\n", self.prompt_text()));
            }
            self.handle_line(&line).await;
            if prompting == Prompting::Interactive {
                self.output.prompt(&self.prompt_text());
            }
        }
        if self.pending.is_some() {
            self.submit_pending().await;
        }
        Ok(())
    }

    fn source_id(&self) -> SourceId {
        SourceId::new(format!("console:{}:{}", self.session, self.line_number))
    }

    fn private(&self, user: &str, text: &str) {
        self.output.emit(&format!("[only @{user}]"), text);
    }

    /// Handles one line of input.
    pub async fn handle_line(&mut self, line: &str) {
        self.line_number += 1;
        if self.pending.is_some() {
            // A command typed mid-form ends the form (keeping the answers given so far)
            // rather than being saved as an answer.
            if !matches!(parse_line(line), Ok(ConsoleLine::Command { .. })) {
                self.answer_form_field(line).await;
                return;
            }
            self.submit_pending().await;
        }
        let parsed = match parse_line(line) {
            Ok(parsed) => parsed,
            Err(error) => {
                self.private(&self.user.clone(), &error.to_string());
                return;
            }
        };
        match parsed {
            ConsoleLine::Nothing => {}
            ConsoleLine::Help => self.output.prompt(&format!("{CONSOLE_HELP}\n")),
            ConsoleLine::Switch { channel } => self.channel = channel.into(),
            ConsoleLine::Command { user, text } => {
                let user = user.unwrap_or_else(|| self.user.clone());
                let invocation = Invocation {
                    source_id: self.source_id(),
                    user: user.clone(),
                    channel_id: self.channel.clone(),
                    text,
                };
                let result = self.core.run(&invocation).await;
                self.show(&user, result);
            }
            ConsoleLine::Say { user, text } => {
                let message = ChatMessage {
                    source_id: self.source_id(),
                    channel_id: self.channel.clone(),
                    author: user.clone(),
                    text,
                    at: self.core.now(),
                };
                self.last_message.insert(self.channel.clone(), message.source_id.clone());
                if let Err(error) = self.core.message_posted(&message).await {
                    self.private(&user, &format!("That message was not recorded: {error}"));
                }
            }
            ConsoleLine::Pin | ConsoleLine::React { .. } => {
                let Some(source) = self.last_message.get(&self.channel).cloned() else {
                    self.private(&self.user.clone(), "There is no message in this channel to pin or react to yet.");
                    return;
                };
                let result = match &parsed {
                    ConsoleLine::React { emoji } => self.core.reaction_added(&source, emoji).await,
                    _ => self.core.mark_key(&source).await,
                };
                if let Err(error) = result {
                    self.private(&self.user.clone(), &format!("Could not mark it: {error}"));
                }
            }
            ConsoleLine::Alert { file, source } => {
                let text = self.feed_alert(&file, source).await.unwrap_or_else(|problem| problem);
                self.private(&self.user.clone(), &text);
            }
            ConsoleLine::Advance { by } => {
                if let Err(error) = self.advance(by).await {
                    self.private(&self.user.clone(), &format!("Follow-ups failed while advancing: {error}"));
                }
            }
        }
    }

    /// Moves the clock by `by`, running every follow-up that falls due on the way, in
    /// time order, as if the bot had been running.
    async fn advance(&mut self, by: chrono::Duration) -> Result<(), commands::CoreError> {
        let target = self.clock.now() + by;
        while let Some(due) = self.followups.next_due_after(self.clock.now()).await? {
            if due > target {
                break;
            }
            self.clock.advance_to(due);
            self.followups.tick(due).await?;
        }
        self.clock.advance_to(target);
        self.followups.tick(target).await?;
        Ok(())
    }

    /// Prints an outcome and starts its form, if any.
    fn show(&mut self, user: &str, result: Result<Outcome, commands::CoreError>) {
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(error) => {
                tracing::error!(error = %error, "command failed");
                self.private(user, &error.reply().to_plain());
                return;
            }
        };
        if let Some(reply) = &outcome.reply {
            self.private(user, &reply.to_plain());
        }
        if let Some(channel) = &outcome.opened {
            self.chat.know_channel(&channel.name);
            self.channel = channel.id.clone();
        }
        if let Some(form) = outcome.form {
            self.private(
                user,
                &format!("{}: answer one line per field; an empty line keeps what is there.", form.title),
            );
            self.pending = Some(PendingForm {
                form,
                user: user.to_string(),
                channel: self.channel.clone(),
                kept: Vec::new(),
                answers: Vec::new(),
            });
            self.ask_next_field();
        }
    }

    fn ask_next_field(&self) {
        let Some(pending) = &self.pending else { return };
        let index = pending.answers.len();
        let Some(field) = pending.form.fields.get(index) else {
            return;
        };
        let current = field
            .value
            .as_deref()
            .map(|v| format!(" [now: {}]", commands::format::truncate(&commands::format::one_line(v), 60).0))
            .unwrap_or_default();
        self.private(
            &pending.user,
            &format!("({}/{}) {}: {}{current}", index + 1, pending.form.fields.len(), field.label, field.question),
        );
    }

    async fn answer_form_field(&mut self, line: &str) {
        let Some(pending) = &mut self.pending else {
            return;
        };
        let Some(field) = pending.form.fields.get(pending.answers.len()) else {
            return;
        };
        pending.answers.push((field.key.to_string(), field.answer_or_kept(line)));
        if pending.answers.len() < pending.form.fields.len() {
            self.ask_next_field();
        } else {
            self.submit_pending().await;
        }
    }

    async fn submit_pending(&mut self) {
        let Some(pending) = self.pending.take() else {
            return;
        };
        let mut answers = pending.kept.clone();
        answers.extend(pending.answers.iter().cloned());
        let submission = FormSubmission {
            // Its own id: a command typed mid-form ends the form on the same line, and
            // must not be taken for a retry of the submission.
            source_id: self.source_id().part("form"),
            user: pending.user.clone(),
            channel_id: pending.channel.clone(),
            kind: pending.form.kind,
            answers: answers.clone(),
        };
        let result = self.core.submit_form(&submission).await;
        let to_fix = match &result {
            Ok(outcome) => outcome.field_errors.iter().map(|(key, _)| *key).collect::<Vec<_>>(),
            Err(_) => Vec::new(),
        };
        self.show(&pending.user, result);
        if !to_fix.is_empty() {
            // Nothing was saved: ask again for just the fields in error, showing what was
            // typed, and keep every other answer, so nothing the user said is lost.
            self.ask_again(pending, answers, &to_fix);
        }
    }

    fn ask_again(&mut self, pending: PendingForm, answers: Vec<(String, String)>, to_fix: &[&str]) {
        let typed = |key: &str| answers.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let fields: Vec<_> = pending
            .form
            .fields
            .iter()
            .filter(|field| to_fix.contains(&field.key))
            .map(|field| commands::FormField { value: typed(field.key).filter(|v| !v.is_empty()), ..field.clone() })
            .collect();
        let kept = answers.iter().filter(|(key, _)| !to_fix.contains(&key.as_str())).cloned().collect();
        let names: Vec<&str> = fields.iter().map(|f| f.label.as_str()).collect();
        self.private(
            &pending.user,
            &format!("Nothing was saved yet. Fix {}; the other answers are kept.", names.join(", ")),
        );
        let form = Form { fields, ..pending.form };
        self.pending =
            Some(PendingForm { form, user: pending.user, channel: pending.channel, kept, answers: Vec::new() });
        self.ask_next_field();
    }
}
