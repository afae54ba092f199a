//! Commands that change an incident: declare, status, severity, assign, update, note,
//! resolve and reopen.

use chrono::Duration;
use storage::{ChannelId, EntryKind, Incident, NewIncident, Role, Severity, SourceId, Status};

use crate::actor::{Actor, SystemSource};
use crate::change_steps;
use crate::channel_name::channel_name;
use crate::chat::ChannelRef;
use crate::core::{Core, Invocation};
use crate::error::{CoreError, Problem};
use crate::format;
use crate::grammar::{usage, DeclareKind, StartedAgo};
use crate::lifecycle;
use crate::limits::{MAX_TEXT, MAX_TITLE};
use crate::message::{ButtonAction, Line, Message};
use crate::outcome::{Form, FormField, FormKind, Outcome};
use crate::permissions::{self, Act};
use crate::text;

/// User text made ready to store: cleaned, and cut to its limit. `cut` says whether it
/// was cut, so the reply can say so.
pub(crate) struct Fitted {
    pub text: String,
    pub cut: bool,
}

/// Cleans free text and cuts it to `max` characters. `None` when nothing visible is left.
pub(crate) fn fit(raw: &str, max: usize, keep_newlines: bool) -> Option<Fitted> {
    let cleaned = text::clean(raw, keep_newlines);
    let cleaned = if keep_newlines { cleaned.trim().to_string() } else { format::one_line(&cleaned) };
    if !text::has_visible(&cleaned) {
        return None;
    }
    let (text, cut) = format::truncate(&cleaned, max);
    Some(Fitted { text, cut })
}

/// The notice added to a reply when user text was cut to its limit.
pub(crate) fn cut_notice(what: &str, max: usize) -> Line {
    Line::new().text(format!("{what} was longer than {max} characters and was cut; the rest was not saved."))
}

impl Core {
    pub(crate) async fn declare(
        &self,
        inv: &Invocation,
        severity: Option<Severity>,
        title: Option<String>,
        started: Option<StartedAgo>,
        services: Vec<String>,
        kind: DeclareKind,
    ) -> Result<Outcome, Problem> {
        let services = self.resolve_services(&services, usage::DECLARE)?;
        let Some(title) = title else {
            if !services.is_empty() || kind != DeclareKind::default() {
                return Err(crate::grammar::UsageError {
                    problem: "A drill, a private incident or one naming services needs its title on the line.".into(),
                    usage: usage::DECLARE,
                }
                .into());
            }
            return Ok(Outcome::form(declare_form(severity.unwrap_or(self.settings.default_severity))));
        };
        let request = Declaration { severity, title: &title, description: None, started, services, kind };
        self.declare_incident(inv, &Actor::Person(inv.user.clone()), request).await
    }

    /// Declares an incident for a system source (an alert): it starts with no
    /// commander, and the kick-off post offers a Take command button. A repeated
    /// delivery (same `source_id`) finds the incident the first one declared.
    pub async fn declare_for_system(
        &self,
        source: SystemSource,
        request: &SystemDeclare,
    ) -> Result<Outcome, CoreError> {
        let actor = Actor::System(source);
        let inv = Invocation {
            source_id: request.source_id.clone(),
            user: actor.stored_id(),
            channel_id: ChannelId::default(),
            text: String::new(),
        };
        let result = async {
            let services = self.known_services(&request.services);
            let declaration = Declaration {
                severity: request.severity,
                title: &request.title,
                description: request.description.clone(),
                started: None,
                services,
                kind: DeclareKind::default(),
            };
            self.declare_incident(&inv, &actor, declaration).await
        }
        .await;
        crate::core::settle(result)
    }

    /// Adds a key timeline entry for a system source (an alert firing again, a tracker
    /// closing an issue), posted to the channel as the bot's own. A repeated delivery
    /// (same `source_id`) is stored once and answered silently.
    pub async fn record_for_system(
        &self,
        source: SystemSource,
        incident_id: i64,
        source_id: &SourceId,
        text: &str,
    ) -> Result<Outcome, CoreError> {
        let inv = Invocation {
            source_id: source_id.clone(),
            user: Actor::System(source).stored_id(),
            channel_id: ChannelId::default(),
            text: String::new(),
        };
        let result = self.add_note(&inv, Some(incident_id), text.to_string()).await;
        crate::core::settle(result)
    }

    /// Takes command of an incident that has none yet.
    pub(crate) async fn take_command(&self, inv: &Invocation, target: Option<i64>) -> Result<Outcome, Problem> {
        let applied = self
            .change_incident(inv, target, usage::TAKE, |incident| {
                if let Some(commander) = &incident.commander {
                    if commander == &inv.user {
                        return Err(crate::error::refused(format!(
                            "You are already the commander of {}.",
                            incident.reference()
                        )));
                    }
                }
                permissions::require(Act::TakeCommand, &inv.user, incident, &self.settings)?;
                let mut next = incident.clone();
                next.commander = Some(inv.user.clone());
                let text = format!("@{} took command", inv.user);
                Ok((next, Some(Role::Commander), self.entry_for(inv, incident, EntryKind::Role, text)))
            })
            .await?;
        let after = match applied {
            Some((_, after)) => after,
            // Applied before: run again after a restart, it makes what it had not.
            None => {
                let after = self.target_incident(inv, target, usage::TAKE).await?;
                self.refresh_topic(&after).await;
                after
            }
        };
        // Inviting is idempotent on every platform, so it needs no step.
        self.invite_to_incident(&after, &inv.user).await;
        self.post_to_incident_once(
            &after,
            &inv.source_id,
            change_steps::POST,
            &Message::new().line(Line::new().text("🎖️ ").user(inv.user.clone()).text(" took command.")),
        )
        .await?;
        Ok(self.confirm(inv, &after, "you are the commander.".into()))
    }

    /// Declares an incident: stores it, opens and prepares its channel, announces it.
    /// A repeated delivery of the same request finds the stored incident and only
    /// finishes what the first delivery did not (the channel), so one request gives
    /// one incident and one channel.
    pub(crate) async fn declare_incident(
        &self,
        inv: &Invocation,
        actor: &Actor,
        request: Declaration<'_>,
    ) -> Result<Outcome, Problem> {
        let Declaration { severity, title, description, started, services, kind } = request;
        let Some(Fitted { text: title, cut: title_cut }) = fit(title, MAX_TITLE, false) else {
            return Err(crate::grammar::UsageError {
                problem: "The incident needs a title with visible characters.".into(),
                usage: usage::DECLARE,
            }
            .into());
        };
        let description = description.and_then(|d| fit(&d, MAX_TEXT, true));
        let severity = severity.unwrap_or(self.settings.default_severity);
        let now = self.now();
        let new = NewIncident {
            title: title.clone(),
            description: description.as_ref().map(|d| d.text.clone()),
            severity,
            platform: self.chat.platform(),
            declared_by: actor.stored_id(),
            // A person who declares leads until someone else is assigned; the system
            // never leads.
            commander: match actor {
                Actor::Person(id) => Some(id.clone()),
                Actor::System(_) => None,
            },
            declare_source: inv.source_id.clone(),
            started_at: now - started.map_or(Duration::zero(), |s| s.0),
            declared_at: now,
            drill: kind.drill,
            private: kind.private,
            services: services.iter().map(|s| s.name.clone()).collect(),
        };
        let prefix = if kind.drill { crate::drill::CHANNEL_PREFIX } else { self.settings.channel_prefix.as_str() };
        let what = match (kind.drill, kind.private) {
            (true, true) => "private drill ",
            (true, false) => "drill ",
            (false, true) => "private ",
            (false, false) => "",
        };
        let _one_declare_at_a_time = self.declare_lock.lock().await;
        let declared = self
            .db
            .declare_incident(
                &new,
                |id| channel_name(prefix, id, &title),
                |_| format!("Declared {what}{severity}: {title}"),
            )
            .await?;
        // A repeated delivery (the inbox running a request again after a restart) finds
        // the incident and resumes at its first unfinished step.
        let is_new = declared.is_new;
        let incident = self.declare_channel(&inv.source_id, declared.incident).await?;
        self.prepare_channel_steps(&inv.source_id, &incident).await?;
        let Some(channel_id) = incident.channel_id.clone() else {
            return Err(CoreError::Contention(incident.reference()).into());
        };
        let channel = ChannelRef { id: channel_id.clone(), name: incident.channel_name.clone() };
        // Idempotent by source id, so a resumed declare runs it again.
        self.invite_service_owners(&incident, &inv.source_id, &services).await?;
        // Recorded steps: a resumed declare posts to each team channel exactly once.
        self.announce_to_teams(&incident, &inv.source_id, &channel, &services).await?;
        if !is_new {
            return Ok(Outcome {
                reply: Some(crate::declare_steps::delayed_reply(&incident, &channel_id)),
                opened: Some(channel),
                ..Outcome::silent()
            });
        }
        let mut declared = Line::new()
            .text(format!("Declared {what}"))
            .bold(incident.reference())
            .text(" in ")
            .channel(channel.id.clone(), channel.name.clone());
        declared = match actor {
            Actor::Person(_) => declared.text(". You are the commander."),
            Actor::System(_) => declared.text(". It has no commander yet."),
        };
        let mut reply = Message::new().line(declared);
        if title_cut {
            reply = reply.line(cut_notice("The title", MAX_TITLE));
        }
        if description.is_some_and(|d| d.cut) {
            reply = reply.line(cut_notice("The description", MAX_TEXT));
        }
        Ok(Outcome {
            reply: Some(reply),
            opened: Some(channel),
            declared: Some(incident.severity),
            ..Outcome::silent()
        })
    }

    /// `🚨 INC-3 declared (sev2, Major): Checkout is failing · join #inc-3-…`.
    pub(crate) fn declared_announcement(&self, incident: &Incident, channel: &ChannelRef) -> Message {
        let label = self.settings.severity_label(incident.severity);
        Message::new().line(
            Line::new()
                .text("🚨 ")
                .bold(incident.reference())
                .text(format!(" declared ({}, {}): ", incident.severity, label.label))
                .bold(incident.title.clone())
                .text(" · join ")
                .channel(channel.id.clone(), channel.name.clone()),
        )
    }

    /// The first post in an incident channel: what, how bad, who leads, and how to drive it.
    pub fn kickoff_message(&self, incident: &Incident) -> Message {
        let label = self.settings.severity_label(incident.severity);
        let mut message = Message::new()
            .line(Line::new().text("🚨 ").bold(format!("{}: ", incident.reference())).bold(incident.title.clone()))
            .line(
                Line::new()
                    .text(format!("Severity: {} ({}: {})", incident.severity, label.label, label.description))
                    .text(format!(" · Status: {}", incident.status)),
            )
            .line(
                commander_span(Line::new().text("Commander: "), incident)
                    .text(format!(" · Declared {}", format::time(incident.declared_at, self.settings.timezone))),
            );
        if let Some(description) = &incident.description {
            message = message.text_block(description);
        }
        let mut message = message
            .line(Line::new().text("Drive it from here:"))
            .line(
                Line::new()
                    .text("• ")
                    .code("/incident status identified <note>")
                    .text(" · ")
                    .code("/incident update <text>"),
            )
            .line(Line::new().text("• ").code("/incident note <text>").text(" · ").code("/incident assign comms @user"))
            .line(
                Line::new().text("• ").code("/incident severity sev1").text(" · ").code("/incident resolve [summary]"),
            )
            .line(
                Line::new()
                    .text("Pin or ⭐ a message to make it a key event; ")
                    .code("/incident help")
                    .text(" lists everything."),
            )
            .button("Acknowledge", ButtonAction::Acknowledge { incident: incident.id }, true);
        if let Some(url) = self.settings.page_url(&format!("/incidents/{}", incident.id)) {
            message = message.line(Line::new().text(format!("Incident page: {url}")));
        }
        if incident.commander.is_none() {
            message = message.button("Take command", ButtonAction::TakeCommand { incident: incident.id }, true);
        }
        message
    }

    pub(crate) async fn set_status(
        &self,
        inv: &Invocation,
        target: Option<i64>,
        status: Status,
        note: Option<String>,
    ) -> Result<Outcome, Problem> {
        let note = note.and_then(|n| fit(&n, MAX_TEXT, false));
        let note_cut = note.as_ref().is_some_and(|n| n.cut);
        let note = note.map(|n| n.text);
        let Some((before, after)) = self
            .change_incident(inv, target, usage::STATUS, |incident| {
                permissions::require(Act::ChangeStatus, &inv.user, incident, &self.settings)?;
                let next = lifecycle::change_status(incident, status, self.now())?;
                let text = match &note {
                    Some(note) => format!("Status {} → {status}: {note}", incident.status),
                    None => format!("Status {} → {status}", incident.status),
                };
                Ok((next, None, self.entry_for(inv, incident, EntryKind::Status, text)))
            })
            .await?
        else {
            return Ok(Outcome::silent());
        };
        let icon = match status {
            Status::Identified => "🔎",
            Status::Monitoring => "👀",
            _ => "ℹ️",
        };
        let mut line = Line::new()
            .text(format!("{icon} Status: {} → ", before.status))
            .bold(status.as_str())
            .text(" (")
            .user(inv.user.clone())
            .text(")");
        if let Some(note) = &note {
            line = line.text(format!(": {note}"));
        }
        self.post_to_incident(&after, &Message::new().line(line)).await;
        let outcome = self.confirm(inv, &after, format!("status is now {status}."));
        Ok(if note_cut { outcome.with_notice(cut_notice("The note", MAX_TEXT)) } else { outcome })
    }

    pub(crate) async fn set_severity(
        &self,
        inv: &Invocation,
        target: Option<i64>,
        severity: Severity,
    ) -> Result<Outcome, Problem> {
        let Some((before, after)) = self
            .change_incident(inv, target, usage::SEVERITY, |incident| {
                permissions::require(Act::ChangeSeverity, &inv.user, incident, &self.settings)?;
                if incident.severity == severity {
                    return Err(crate::error::refused(format!("{} is already {severity}.", incident.reference())));
                }
                let mut next = incident.clone();
                next.severity = severity;
                let text = format!("Severity {} → {severity}", incident.severity);
                Ok((next, None, self.entry_for(inv, incident, EntryKind::Severity, text)))
            })
            .await?
        else {
            return Ok(Outcome::silent());
        };
        let label = self.settings.severity_label(severity);
        self.post_to_incident(
            &after,
            &Message::new().line(
                Line::new()
                    .text(format!("⚠️ Severity: {} → ", before.severity))
                    .bold(format!("{severity} ({})", label.label))
                    .text(" (")
                    .user(inv.user.clone())
                    .text(")"),
            ),
        )
        .await;
        // Escalating to sev1 or sev2 is news for everyone, like a declaration.
        if severity <= Severity::Sev2 && severity < before.severity {
            self.announce(
                &after,
                &Message::new().line(
                    Line::new()
                        .text("⚠️ ")
                        .bold(after.reference())
                        .text(format!(" escalated {} → ", before.severity))
                        .bold(format!("{severity} ({})", label.label))
                        .text(": ")
                        .bold(after.title.clone())
                        .text(" by ")
                        .user(inv.user.clone()),
                ),
            )
            .await;
        }
        Ok(self.confirm(inv, &after, format!("severity is now {severity}.")))
    }

    pub(crate) async fn assign(
        &self,
        inv: &Invocation,
        target: Option<i64>,
        role: Role,
        user: String,
    ) -> Result<Outcome, Problem> {
        let Some((_, after)) = self
            .change_incident(inv, target, usage::ASSIGN, |incident| {
                permissions::require(Act::AssignRoles, &inv.user, incident, &self.settings)?;
                if incident.role(role) == Some(user.as_str()) {
                    return Err(crate::error::refused(format!(
                        "@{user} is already {role} of {}.",
                        incident.reference()
                    )));
                }
                let mut next = incident.clone();
                match role {
                    Role::Commander => next.commander = Some(user.clone()),
                    Role::Comms => next.comms = Some(user.clone()),
                    Role::Scribe => next.scribe = Some(user.clone()),
                }
                let text = format!("@{user} is now {role}");
                Ok((next, Some(role), self.entry_for(inv, incident, EntryKind::Role, text)))
            })
            .await?
        else {
            return Ok(Outcome::silent());
        };
        self.invite_to_incident(&after, &user).await;
        self.post_to_incident(
            &after,
            &Message::new().line(
                Line::new()
                    .text("👤 ")
                    .user(user.clone())
                    .text(" is now ")
                    .bold(role.as_str())
                    .text(" (assigned by ")
                    .user(inv.user.clone())
                    .text(")"),
            ),
        )
        .await;
        Ok(self.confirm(inv, &after, format!("@{user} is now {role}.")))
    }

    /// Adds a key timeline entry without changing the incident itself (note, update).
    async fn add_event(
        &self,
        inv: &Invocation,
        target: Option<i64>,
        usage: &'static str,
        kind: EntryKind,
        text: &str,
    ) -> Result<Option<(Incident, Fitted)>, Problem> {
        let incident = self.target_incident(inv, target, usage).await?;
        let (act, what) = match kind {
            EntryKind::Update => (Act::Update, "update"),
            EntryKind::Public => (Act::PublishPublic, "public update"),
            _ => (Act::Note, "note"),
        };
        permissions::require(act, &inv.user, &incident, &self.settings)?;
        let fitted = fit(text, MAX_TEXT, false)
            .ok_or_else(|| crate::grammar::UsageError { problem: format!("The {what} needs visible text."), usage })?;
        let entry = self.entry_for(inv, &incident, kind, fitted.text.clone());
        let acknowledges = lifecycle::acknowledges(&incident, &inv.user);
        match self.db.add_entry(&entry, acknowledges).await? {
            storage::Saved::Written => Ok(Some((incident, fitted))),
            _ => Ok(None),
        }
    }

    pub(crate) async fn post_update(
        &self,
        inv: &Invocation,
        target: Option<i64>,
        text: String,
    ) -> Result<Outcome, Problem> {
        let Some((incident, Fitted { text, cut })) =
            self.add_event(inv, target, usage::UPDATE, EntryKind::Update, &text).await?
        else {
            return Ok(Outcome::silent());
        };
        self.post_to_incident(
            &incident,
            &Message::new()
                .line(actor_span(Line::new().text("📣 Status update from "), &inv.user).text(format!(": {text}"))),
        )
        .await;
        self.announce(
            &incident,
            &Message::new().line(
                Line::new()
                    .text("📣 ")
                    .bold(incident.reference())
                    .text(format!(" ({}, {}) ", incident.severity, incident.status))
                    .bold(incident.title.clone())
                    .text(format!(": {text}")),
            ),
        )
        .await;
        let outcome = self.confirm(inv, &incident, "update posted.".into());
        Ok(if cut { outcome.with_notice(cut_notice("The update", MAX_TEXT)) } else { outcome })
    }

    /// `/incident public <text>`: records the update word for word and queues it for the
    /// status page. This is the only way anything reaches the page.
    pub(crate) async fn post_public(
        &self,
        inv: &Invocation,
        target: Option<i64>,
        text: String,
    ) -> Result<Outcome, Problem> {
        if self.follow().status_page.is_none() {
            return Err(crate::error::refused(
                "No status page is configured; add a [statuspage] section to the config to publish.",
            ));
        }
        let Some((incident, Fitted { text, cut })) =
            self.add_event(inv, target, usage::PUBLIC, EntryKind::Public, &text).await?
        else {
            return Ok(Outcome::silent());
        };
        self.queue_public_update(&incident, &inv.source_id, &text).await?;
        self.post_to_incident(
            &incident,
            &Message::new()
                .line(actor_span(Line::new().text("🌐 Public update from "), &inv.user).text(format!(": {text}"))),
        )
        .await;
        let outcome = self.confirm(inv, &incident, "public update queued for the status page.".into());
        Ok(if cut { outcome.with_notice(cut_notice("The public update", MAX_TEXT)) } else { outcome })
    }

    pub(crate) async fn add_note(
        &self,
        inv: &Invocation,
        target: Option<i64>,
        text: String,
    ) -> Result<Outcome, Problem> {
        let Some((incident, Fitted { text, cut })) =
            self.add_event(inv, target, usage::NOTE, EntryKind::Note, &text).await?
        else {
            return Ok(Outcome::silent());
        };
        self.post_to_incident(
            &incident,
            &Message::new().line(actor_span(Line::new().text("📌 Note from "), &inv.user).text(format!(": {text}"))),
        )
        .await;
        let outcome = self.confirm(inv, &incident, "note added to the timeline.".into());
        Ok(if cut { outcome.with_notice(cut_notice("The note", MAX_TEXT)) } else { outcome })
    }

    pub(crate) async fn resolve(
        &self,
        inv: &Invocation,
        target: Option<i64>,
        summary: Option<String>,
    ) -> Result<Outcome, Problem> {
        let summary = summary.and_then(|s| fit(&s, MAX_TEXT, false));
        let summary_cut = summary.as_ref().is_some_and(|s| s.cut);
        let summary = summary.map(|s| s.text);
        let applied = self
            .change_incident(inv, target, usage::RESOLVE, |incident| {
                permissions::require(Act::Resolve, &inv.user, incident, &self.settings)?;
                let next = lifecycle::resolve(incident, self.now())?;
                let text = match &summary {
                    Some(summary) => format!("Resolved: {summary}"),
                    None => "Resolved".to_string(),
                };
                Ok((next, None, self.entry_for(inv, incident, EntryKind::Resolved, text)))
            })
            .await?;
        let after = match applied {
            Some((_, after)) => after,
            None => {
                // Applied before: the inbox runs it again after a restart. What follows
                // is idempotent by source id, and its posts are steps, so only what the
                // first run did not do happens now (the topic is set again: that is
                // idempotent).
                let after = self.target_incident(inv, target, usage::RESOLVE).await?;
                self.refresh_topic(&after).await;
                after
            }
        };
        if let Some(summary) = &summary {
            // The summary given at resolve time seeds the postmortem, unless one is written.
            let postmortem = self.db.postmortem(after.id).await?.unwrap_or_default();
            if postmortem.get(storage::PostmortemField::Summary).is_none() {
                let entry = storage::NewEntry {
                    source_id: inv.source_id.part("pm:summary"),
                    kind: EntryKind::Postmortem,
                    text: "Postmortem Summary written (from the resolve summary)".into(),
                    is_key: false,
                    ..self.entry_for(inv, &after, EntryKind::Postmortem, String::new())
                };
                let change = [(storage::PostmortemField::Summary, summary.clone(), entry)];
                self.db.save_postmortem(after.id, &change, self.now(), None).await?;
            }
        }
        let took = crate::durations::Durations::of(&after).to_resolve.unwrap_or_default();
        let mut message = Message::new().line(
            Line::new()
                .text("✅ ")
                .bold(after.reference())
                .text(format!(" resolved after {} by ", format::duration(took)))
                .user(inv.user.clone())
                .text("."),
        );
        if let Some(summary) = &summary {
            message = message.line(Line::new().text(format!("Summary: {summary}")));
        }
        if let Some(url) = self.settings.page_url(&format!("/incidents/{}/postmortem/edit", after.id)) {
            message = message.line(Line::new().text(format!("Write the postmortem on the web: {url}")));
        }
        let postmortem_done = self.db.postmortem(after.id).await?.is_some_and(|pm| pm.is_complete());
        if !postmortem_done {
            message = message
                .line(
                    Line::new()
                        .text("Next: a blameless postmortem. Anyone can write it with ")
                        .code("/incident postmortem")
                        .text("; the incident closes when every field is written."),
                )
                .button("Write postmortem", ButtonAction::WritePostmortem { incident: after.id }, true);
        }
        self.post_to_incident_once(&after, &inv.source_id, change_steps::POST, &message).await?;
        self.queue_public_resolution(&after, &inv.source_id).await?;
        // A postmortem written before the resolve completes it now.
        self.close_if_complete(&after, &inv.user, &inv.source_id).await?;
        self.announce_once(
            &after,
            &inv.source_id,
            change_steps::ANNOUNCE,
            &Message::new().line(
                Line::new()
                    .text("✅ ")
                    .bold(after.reference())
                    .text(" resolved: ")
                    .bold(after.title.clone())
                    .text(format!(" ({} after {})", after.severity, format::duration(took))),
            ),
        )
        .await?;
        let outcome = self.confirm(inv, &after, "resolved.".into());
        Ok(if summary_cut { outcome.with_notice(cut_notice("The summary", MAX_TEXT)) } else { outcome })
    }

    pub(crate) async fn reopen(&self, inv: &Invocation, target: Option<i64>) -> Result<Outcome, Problem> {
        let Some((_, after)) = self
            .change_incident(inv, target, usage::REOPEN, |incident| {
                permissions::require(Act::Reopen, &inv.user, incident, &self.settings)?;
                let next = lifecycle::reopen(incident)?;
                Ok((next, None, self.entry_for(inv, incident, EntryKind::Reopened, "Reopened".into())))
            })
            .await?
        else {
            return Ok(Outcome::silent());
        };
        self.post_to_incident(
            &after,
            &Message::new().line(
                Line::new()
                    .text("🔁 ")
                    .bold(after.reference())
                    .text(" reopened by ")
                    .user(inv.user.clone())
                    .text("; status is investigating."),
            ),
        )
        .await;
        Ok(self.confirm(inv, &after, "reopened.".into()))
    }
}

/// `line` followed by who acted: a person as a mention, the system by name (a stored
/// `system:alerts` is no platform user, so it must not become a mention).
pub(crate) fn actor_span(line: Line, stored: &str) -> Line {
    match Actor::from_stored(stored) {
        Actor::Person(id) => line.user(id),
        system => line.text(system.to_string()),
    }
}

/// `line` followed by the commander as a mention, or "no commander yet".
pub(crate) fn commander_span(line: Line, incident: &Incident) -> Line {
    match &incident.commander {
        Some(commander) => line.user(commander.clone()),
        None => line.text("no commander yet"),
    }
}

/// What a system source asks to declare.
#[derive(Debug, Clone, Default)]
pub struct SystemDeclare {
    /// The idempotency key of the request (for an alert: source + group key).
    pub source_id: SourceId,
    pub title: String,
    pub severity: Option<Severity>,
    pub description: Option<String>,
    /// Service names as the source gave them (an alert's `service` label), resolved
    /// against the catalog like typed ones. An unknown one is left out and logged with
    /// the closest names: an alert still declares its incident.
    pub services: Vec<String>,
}

/// Everything one declaration asks for, once parsed and with its services resolved.
pub(crate) struct Declaration<'a> {
    pub severity: Option<Severity>,
    pub title: &'a str,
    pub description: Option<String>,
    pub started: Option<StartedAgo>,
    pub services: Vec<crate::catalog::Service>,
    pub kind: DeclareKind,
}

/// The form `/incident declare` opens when no title is given.
pub fn declare_form(severity: Severity) -> Form {
    Form {
        kind: FormKind::Declare,
        title: "Declare an incident".to_string(),
        fields: declare_fields(None, severity, None),
        tags: None,
    }
}

/// The declare form's fields (title, severity, description), with the values to show;
/// shared by every form that declares, so they ask the same questions.
pub(crate) fn declare_fields(title: Option<String>, severity: Severity, description: Option<String>) -> Vec<FormField> {
    vec![
        FormField {
            key: "title",
            label: "Title".into(),
            question: "What is broken, in a few words?".into(),
            value: title,
            multiline: false,
            required: true,
            max_len: MAX_TITLE,
        },
        FormField {
            key: "severity",
            label: "Severity".into(),
            question: "sev1 (critical) … sev4 (minor)".into(),
            value: Some(severity.to_string()),
            multiline: false,
            required: true,
            max_len: 4,
        },
        FormField {
            key: "description",
            label: "Description".into(),
            question: "What do we know so far? (optional)".into(),
            value: description,
            multiline: true,
            required: false,
            max_len: MAX_TEXT,
        },
    ]
}
