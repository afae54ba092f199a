//! [`Core`]: the entry point adapters call. It parses what users typed, finds the
//! incident a command is about, and dispatches to the handler modules. It also holds
//! the helpers those handlers share: saving with a revision check, and posting to an
//! incident's channel.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError};

use chrono::{DateTime, NaiveDate, Utc};
use storage::{ChannelId, Db, EntryKind, Incident, NewEntry, Saved, SourceId};
use tokio::sync::Mutex;

use crate::chat::Chat;
use crate::clock::Clock;
use crate::error::{CoreError, Problem};
use crate::grammar::{self, Command, UsageError};
use crate::message::{Line, Message, Span};
use crate::outcome::Outcome;
use crate::settings::Settings;

/// One `/incident …` typed by a user.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// Unique per delivery of this request; a retry carries the same id.
    pub source_id: SourceId,
    /// The user's platform id.
    pub user: String,
    /// The channel the command was typed in.
    pub channel_id: ChannelId,
    /// Everything after `/incident`.
    pub text: String,
}

/// The platform-neutral incident core. One per chat platform; cheap to share in an `Arc`.
pub struct Core {
    pub(crate) db: Db,
    pub(crate) chat: Arc<dyn Chat>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) settings: Settings,
    /// Alert rules and the triage channel, for the alerts this platform receives.
    /// Set once at start-up on the core alerts go to; a lock only because the core is
    /// shared in an `Arc` by then.
    pub(crate) alerts: std::sync::RwLock<crate::alerts::AlertSettings>,
    /// Declares run one at a time, so two deliveries of one request can never both
    /// create a channel.
    pub(crate) declare_lock: Mutex<()>,
    /// Incident channels seen so far: channel id → (incident id, declarer). A channel
    /// belongs to one incident for good, so entries never go stale; this keeps a
    /// database read off the hot path of timeline capture.
    incident_channels: std::sync::Mutex<HashMap<ChannelId, ChannelIncident>>,
    /// Trackers and the status page; empty unless configured.
    /// Set once at start-up, after the platform built its core.
    pub(crate) follow: std::sync::OnceLock<crate::follow_through::FollowThrough>,
}

/// What timeline capture needs to know about a channel's incident.
#[derive(Debug, Clone)]
pub(crate) struct ChannelIncident {
    pub id: i64,
    pub declared_by: String,
    pub declared_at: DateTime<Utc>,
    /// No later message can acknowledge the incident: it is acknowledged already, or it
    /// was no longer open when a message tried. Either holds for good (acknowledgement
    /// is never undone and status never moves back), so capture skips that update.
    pub ack_settled: bool,
}

/// How many times a change is recomputed when someone else changed the incident first.
const SAVE_ATTEMPTS: usize = 5;

/// One attempt at a revision-checked save.
pub(crate) enum Attempt<T> {
    Done(T),
    /// Someone else changed the incident first; read it again and recompute.
    Conflict,
}

/// The one retry-on-conflict loop. Runs `attempt` until it is not a conflict; after
/// [`SAVE_ATTEMPTS`] conflicts the change fails as contention on `reference`, so no
/// caller ever carries on as if it had saved.
pub(crate) async fn retry_on_conflict<T, F, Fut>(reference: &str, mut attempt: F) -> Result<T, Problem>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Attempt<T>, Problem>>,
{
    for _ in 0..SAVE_ATTEMPTS {
        if let Attempt::Done(value) = attempt().await? {
            return Ok(value);
        }
    }
    Err(CoreError::Contention(reference.to_string()).into())
}

impl Core {
    pub fn new(db: Db, chat: Arc<dyn Chat>, clock: Arc<dyn Clock>, settings: Settings) -> Self {
        Core {
            db,
            chat,
            clock,
            settings,
            alerts: Default::default(),
            declare_lock: Mutex::new(()),
            incident_channels: Default::default(),
            follow: Default::default(),
        }
    }

    /// Makes this the core alerts go to, with its rules and triage channel.
    pub fn set_alert_settings(&self, alerts: crate::alerts::AlertSettings) {
        *self.alerts.write().unwrap_or_else(PoisonError::into_inner) = alerts;
    }

    /// The alert rules and triage channel.
    pub(crate) fn alert_settings(&self) -> std::sync::RwLockReadGuard<'_, crate::alerts::AlertSettings> {
        self.alerts.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The chat platform this core runs on.
    pub fn chat_platform(&self) -> storage::Platform {
        self.chat.platform()
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Today's date in the configured zone.
    pub fn today(&self) -> NaiveDate {
        self.now().with_timezone(&self.settings.timezone).date_naive()
    }

    /// Runs one command. Mistakes and refusals come back as a private reply with
    /// `is_error` set, and nothing written; `Err` means something unexpected failed.
    pub async fn run(&self, invocation: &Invocation) -> Result<Outcome, CoreError> {
        match grammar::parse(&invocation.text) {
            Ok(command) => self.execute(invocation, command).await,
            Err(usage) => settle(Err(Problem::Usage(usage))),
        }
    }

    /// Runs a command that arrived already typed (Discord's options), without turning
    /// it into text and parsing it again. `invocation.text` is only for the logs.
    pub async fn execute(&self, invocation: &Invocation, command: Command) -> Result<Outcome, CoreError> {
        settle(self.dispatch(invocation, command).await)
    }

    async fn dispatch(&self, inv: &Invocation, command: Command) -> Result<Outcome, Problem> {
        use Command as C;
        // A command that names someone names a real user, or nothing is written.
        let platform = self.chat.platform();
        match &command {
            C::Assign { user, .. } => crate::users::require_user(platform, user, grammar::usage::ASSIGN)?,
            C::ActionAdd { owner: Some(owner), .. } => {
                crate::users::require_user(platform, owner, grammar::usage::ACTION_ADD)?
            }
            C::ActionReassign { owner, .. } => {
                crate::users::require_user(platform, owner, grammar::usage::ACTION_REASSIGN)?
            }
            _ => {}
        }
        match command {
            C::Declare { severity, title, started, services, kind } => {
                self.declare(inv, severity, title, started, services, kind).await
            }
            C::Status { target, status, note } => self.set_status(inv, target, status, note).await,
            C::Severity { target, severity } => self.set_severity(inv, target, severity).await,
            C::Assign { target, role, user } => self.assign(inv, target, role, user).await,
            C::TakeCommand { target } => self.take_command(inv, target).await,
            C::Update { target, text } => self.post_update(inv, target, text).await,
            C::Note { target, text } => self.add_note(inv, target, text).await,
            C::Timeline { target } => self.show_timeline(inv, target).await,
            C::Resolve { target, summary } => self.resolve(inv, target, summary).await,
            C::Reopen { target } => self.reopen(inv, target).await,
            C::Postmortem { target, all } => self.open_postmortem(inv, target, all).await,
            C::ActionAdd { target, text, owner, due, kind, priority, addresses } => {
                self.add_action(inv, target, text, owner, due, kind, priority, addresses).await
            }
            C::ActionDone { id } => self.close_action(inv, id, storage::ActionStatus::Done).await,
            C::ActionWontfix { id } => self.close_action(inv, id, storage::ActionStatus::Wontfix).await,
            C::ActionSnooze { id, days } => self.snooze_action(inv, id, days).await,
            C::ActionReassign { id, owner } => self.reassign_action(inv, id, owner).await,
            C::ActionDue { id, due } => self.redate_action(inv, id, due).await,
            C::ActionList { target, scope } => self.list_actions(inv, target, scope).await,
            C::ActionReopen { id } => self.reopen_action(inv, id).await,
            C::ActionLink { id, reference } => self.link_action(inv, id, reference).await,
            C::Public { target, text } => self.post_public(inv, target, text).await,
            C::Service { target, change, name } => self.change_service(inv, target, change, &name).await,
            C::ServiceList { target } => self.list_services(inv, target).await,
            C::Factor { target, change, tag } => self.change_factor(inv, target, change, &tag).await,
            C::FactorList { target } => self.list_factors(inv, target).await,
            C::Invite { target, user } => self.invite(inv, target, &user).await,
            C::List => self.list_open(inv).await,
            C::Stats { days } => self.stats(days).await,
            C::Web => self.web_sign_in_reply(inv).await,
            C::Help => Ok(Outcome::reply(crate::help::help_message())),
            C::AlertDeclare { alert, severity } => self.alert_declare(inv, alert, severity).await,
            C::AlertAttach { alert, incident } => self.alert_attach(inv, alert, incident).await,
            C::AlertDismiss { alert, reason } => self.alert_dismiss(inv, alert, reason).await,
            C::Alerts { target } => self.list_alerts(inv, target).await,
        }
    }

    /// The incident a command is about: the named `INC-n`, or the one whose channel
    /// the command was typed in.
    pub(crate) async fn target_incident(
        &self,
        inv: &Invocation,
        target: Option<i64>,
        usage: &'static str,
    ) -> Result<Incident, Problem> {
        match target {
            Some(id) => {
                let missing = || Problem::Usage(UsageError { problem: format!("INC-{id} does not exist."), usage });
                let incident = self.db.incident(id).await?.ok_or_else(missing)?;
                // Named from outside, a private incident exists only for the people in it.
                if !self.may_see(&crate::visibility::Viewer::Person(&inv.user), &incident).await? {
                    return Err(missing());
                }
                Ok(incident)
            }
            None => self.db.incident_by_channel(&inv.channel_id).await?.ok_or_else(|| {
                Problem::Usage(UsageError {
                    problem: "This is not an incident channel. Type it in the incident's channel, \
                              or name the incident first, like INC-3."
                        .to_string(),
                    usage,
                })
            }),
        }
    }

    /// The incident whose channel this is, if any, from the cache or the database.
    pub(crate) async fn channel_incident(&self, channel_id: &ChannelId) -> Result<Option<ChannelIncident>, CoreError> {
        let cached = self.incident_channels.lock().unwrap_or_else(PoisonError::into_inner).get(channel_id).cloned();
        if cached.is_some() {
            return Ok(cached);
        }
        let Some(incident) = self.db.incident_by_channel(channel_id).await? else {
            return Ok(None);
        };
        let found = ChannelIncident {
            id: incident.id,
            ack_settled: incident.acknowledged_at.is_some(),
            declared_by: incident.declared_by,
            declared_at: incident.declared_at,
        };
        self.incident_channels.lock().unwrap_or_else(PoisonError::into_inner).insert(channel_id.clone(), found.clone());
        Ok(Some(found))
    }

    /// Remembers that no message can acknowledge this channel's incident any more.
    pub(crate) fn settle_ack(&self, channel_id: &ChannelId) {
        if let Some(cached) = self.incident_channels.lock().unwrap_or_else(PoisonError::into_inner).get_mut(channel_id)
        {
            cached.ack_settled = true;
        }
    }

    /// A timeline entry recording `inv`.
    pub(crate) fn entry_for(&self, inv: &Invocation, incident: &Incident, kind: EntryKind, text: String) -> NewEntry {
        NewEntry {
            incident_id: incident.id,
            source_id: inv.source_id.clone(),
            at: self.now(),
            kind,
            author: inv.user.clone(),
            text,
            is_key: kind != EntryKind::Message && kind != EntryKind::Action,
        }
    }

    /// Reads the incident, lets `change` compute its next state and the entry that
    /// records it, and saves both under the revision check, recomputing if someone
    /// else changed the incident meanwhile. Returns `None` for a retried request that
    /// was already applied.
    pub(crate) async fn change_incident<F>(
        &self,
        inv: &Invocation,
        target: Option<i64>,
        usage: &'static str,
        change: F,
    ) -> Result<Option<(Incident, Incident)>, Problem>
    where
        F: Fn(&Incident) -> Result<(Incident, Option<storage::Role>, NewEntry), Problem>,
    {
        // Named without a read: only a contention error uses it.
        let reference = target.map_or_else(|| "This channel's incident".to_string(), |id| format!("INC-{id}"));
        let saved = retry_on_conflict(&reference, || async {
            let before = self.target_incident(inv, target, usage).await?;
            if self.db.entry_by_source(&inv.source_id).await?.is_some() {
                return Ok(Attempt::Done(None));
            }
            let (mut after, role, entry) = change(&before)?;
            crate::lifecycle::acknowledge_if_first(&mut after, before.status.is_open(), &inv.user, entry.at);
            Ok(match self.db.save_incident(&after, role, Some(&entry)).await? {
                Saved::Written => {
                    after.revision += 1;
                    Attempt::Done(Some((before, after)))
                }
                Saved::Duplicate => Attempt::Done(None),
                Saved::Conflict => Attempt::Conflict,
            })
        })
        .await?;
        if let Some((before, after)) = &saved {
            if topic_changed(before, after) {
                self.refresh_topic(after).await;
            }
        }
        Ok(saved)
    }

    /// The incident as stored now, for an attempt after a conflict.
    pub(crate) async fn current(&self, incident: &Incident) -> Result<Incident, Problem> {
        Ok(self.db.incident(incident.id).await?.ok_or_else(|| CoreError::Contention(incident.reference()))?)
    }

    /// Records that a non-declarer acted on the incident, if it is the first such act.
    pub(crate) async fn note_activity(&self, incident: &Incident, user: &str) -> Result<(), Problem> {
        if crate::lifecycle::acknowledges(incident, user) {
            self.db.acknowledge(incident.id, self.now()).await?;
        }
        Ok(())
    }

    /// Sets the channel topic to the incident's current state. The change is already
    /// committed, so a chat failure is logged rather than undoing it.
    pub(crate) async fn refresh_topic(&self, incident: &Incident) {
        let Some(channel) = incident.channel_id.as_ref() else {
            return;
        };
        if let Err(error) = self.chat.set_topic(channel, &self.topic(incident)).await {
            tracing::warn!(incident = incident.id, %error, "could not set the channel topic");
        }
    }

    /// `INC-3 · sev2 (Major) · identified · Checkout is failing · commander @bob`, with
    /// the commander as a mention the platform renders.
    pub fn topic(&self, incident: &Incident) -> Line {
        let label = self.settings.severity_label(incident.severity);
        let line = Line::new().text(format!(
            "{} · {} ({}) · {} · {} · commander ",
            incident.reference(),
            incident.severity,
            label.label,
            incident.status,
            incident.title,
        ));
        crate::incident_cmds::commander_span(line, incident)
    }

    /// Invites someone who just took a part in the incident (a role, an action item) to
    /// its channel. The change is already committed, so a chat failure is logged.
    pub(crate) async fn invite_to_incident(&self, incident: &Incident, user: &str) {
        let Some(channel) = incident.channel_id.as_ref() else {
            return;
        };
        if let Err(error) = self.chat.invite(channel, &[user.to_string()]).await {
            tracing::warn!(incident = incident.id, %error, "could not invite a responder to the channel");
        }
    }

    /// Posts to the incident's channel, marked DRILL for a drill. The change is already
    /// committed, so a chat failure is logged rather than undoing it.
    pub(crate) async fn post_to_incident(&self, incident: &Incident, message: &Message) {
        let Some(channel) = incident.channel_id.as_ref() else {
            tracing::warn!(incident = incident.id, "incident has no channel yet; post skipped");
            return;
        };
        if let Err(error) = self.chat.post(channel, &crate::drill::mark(incident, message)).await {
            tracing::warn!(incident = incident.id, %error, "could not post to the incident channel");
        }
    }

    /// Posts news of `incident` to the announcements channel, when one is configured.
    /// A private incident is never announced; a drill's news is marked DRILL.
    pub(crate) async fn announce(&self, incident: &Incident, message: &Message) {
        if incident.private {
            return;
        }
        let Some(channel) = self.settings.announcements_channel.as_ref() else {
            return;
        };
        if let Err(error) = self.chat.post(channel, &crate::drill::mark(incident, message)).await {
            tracing::warn!(%error, "could not post to the announcements channel");
        }
    }

    /// A private confirmation when the command was typed outside the incident's
    /// channel (inside it, the channel post already says it).
    pub(crate) fn confirm(&self, inv: &Invocation, incident: &Incident, text: String) -> Outcome {
        if incident.channel_id.as_ref() == Some(&inv.channel_id) {
            Outcome::silent()
        } else {
            Outcome::reply(Message::new().line(Line::new().bold(incident.reference()).text(format!(": {text}"))))
        }
    }
}

/// Whether a change shows in the channel topic.
fn topic_changed(before: &Incident, after: &Incident) -> bool {
    before.severity != after.severity
        || before.status != after.status
        || before.commander != after.commander
        || before.title != after.title
}

/// Turns a handler's result into what adapters see.
pub(crate) fn settle(result: Result<Outcome, Problem>) -> Result<Outcome, CoreError> {
    match result {
        Ok(outcome) => Ok(outcome),
        Err(Problem::Usage(usage)) => Ok(Outcome::error(
            Message::new()
                .line(Line::new().text(echo_safe(&usage.problem)))
                .line(Line::new().text("Usage: ").code(usage.usage)),
        )),
        Err(Problem::Refused(line)) => Ok(Outcome::error(Message::new().line(echo_safe_line(line)))),
        Err(Problem::Internal(error)) => Err(error),
    }
}

/// Refusals quote what the user typed; quoted back, it is cleaned like stored text
/// (no terminal escapes or bidi overrides reach a screen) and kept to a reply's length.
fn echo_safe(problem: &str) -> String {
    crate::format::truncate(&crate::text::clean(problem, false), MAX_REFUSAL).0
}

/// [`echo_safe`] for a refusal's words; the people it names stay mentions.
fn echo_safe_line(line: Line) -> Line {
    Line(
        line.0
            .into_iter()
            .map(|span| match span {
                Span::Text(text) => Span::Text(echo_safe(&text)),
                other => other,
            })
            .collect(),
    )
}

/// The longest refusal shown: enough for any message of ours and a quoted word.
const MAX_REFUSAL: usize = 600;
