//! What an incident teaches, attached to it: the services it touched (`service
//! add|remove`, `service:` at declare), its contributing-factor tags (`factor
//! add|remove`, the postmortem's tag picker) and the people invited to it (`invite`,
//! and service owners, invited when their service is named).
//!
//! Names are resolved here against the configured catalog and vocabulary, so storage
//! only ever holds catalog names and vocabulary tags; an unknown name is refused with
//! the closest ones. Every change is a timeline entry with its author.

use storage::{Attached, Attachment, ChannelId, EntryKind, Incident, NewEntry, SourceId};

use crate::catalog::{Service, UnknownName};
use crate::chat::ChannelRef;
use crate::core::{settle, Core, Invocation};
use crate::error::{refused, CoreError, Problem};
use crate::grammar::{usage, SetChange, UsageError};
use crate::message::{Line, Message};
use crate::outcome::Outcome;
use crate::permissions::{self, Act};

/// A set of factor tags chosen in a picker (Slack's multi-select, Discord's select
/// menu): the incident's tags become exactly these.
#[derive(Debug, Clone)]
pub struct TagSelection {
    /// Unique per delivery; a retry carries the same id.
    pub source_id: SourceId,
    pub user: String,
    pub channel_id: ChannelId,
    pub incident: i64,
    /// Tags as the picker sent them; each must be in the vocabulary.
    pub tags: Vec<String>,
}

fn unknown(name: UnknownName, usage: &'static str) -> Problem {
    Problem::Usage(UsageError { problem: name.to_string(), usage })
}

impl Core {
    /// The catalog names of the services an incident touches, by name. For surfaces
    /// that show them (the web pages, exports); it does not check who may see the
    /// incident, so callers ask [`Core::may_see`] first.
    pub async fn services_of(&self, incident_id: i64) -> Result<Vec<String>, CoreError> {
        Ok(self.db.attached(Attachment::Service, incident_id).await?)
    }

    /// The contributing-factor tags of an incident, by tag. Like [`Core::services_of`],
    /// callers check visibility first.
    pub async fn factor_tags_of(&self, incident_id: i64) -> Result<Vec<String>, CoreError> {
        Ok(self.db.attached(Attachment::Factor, incident_id).await?)
    }

    /// The catalog services for names as typed, in order and without repeats; the first
    /// unknown one refuses them all, with the closest names.
    pub(crate) fn resolve_services(&self, typed: &[String], usage: &'static str) -> Result<Vec<Service>, Problem> {
        let mut services: Vec<Service> = Vec::new();
        for name in typed {
            let service = self.settings.services.resolve(name).map_err(|e| unknown(e, usage))?;
            if !services.iter().any(|s| s.name == service.name) {
                services.push(service.clone());
            }
        }
        Ok(services)
    }

    /// The catalog services among names a system source gave, without repeats; unknown
    /// ones are logged with the closest names and left out.
    pub(crate) fn known_services(&self, given: &[String]) -> Vec<Service> {
        let mut services: Vec<Service> = Vec::new();
        for name in given {
            match self.settings.services.resolve(name) {
                Ok(service) if !services.iter().any(|s| s.name == service.name) => services.push(service.clone()),
                Ok(_) => {}
                Err(unknown) => tracing::warn!(%unknown, "a system declare named a service not in the catalog"),
            }
        }
        services
    }

    /// Invites the owners of `services` to the incident's channel, recording each invite
    /// (so they may see a private incident). The declarer is in already.
    pub(crate) async fn invite_service_owners(
        &self,
        incident: &Incident,
        source_id: &SourceId,
        services: &[Service],
    ) -> Result<(), Problem> {
        for service in services {
            for owner in &service.owners {
                if incident.commander.as_deref() == Some(owner.as_str()) || owner == &incident.declared_by {
                    continue;
                }
                let entry = NewEntry {
                    incident_id: incident.id,
                    source_id: source_id.part(&format!("invite:{}:{owner}", service.name)),
                    at: self.now(),
                    kind: EntryKind::Role,
                    author: incident.declared_by.clone(),
                    text: format!("@{owner} invited as an owner of {}", service.name),
                    is_key: false,
                };
                if self.db.attach(Attachment::Invite, owner, &entry).await? == Attached::Changed {
                    self.invite_to_incident(incident, owner).await;
                }
            }
        }
        Ok(())
    }

    /// Posts the declaration to the team channel of each service, once per channel, and
    /// never for a private incident or to the announcements channel twice.
    pub(crate) async fn announce_to_teams(&self, incident: &Incident, channel: &ChannelRef, services: &[Service]) {
        if incident.private {
            return;
        }
        let platform = self.chat.platform();
        let mut posted: Vec<&ChannelId> = self.settings.announcements_channel.iter().collect();
        let message = crate::drill::mark(incident, &self.declared_announcement(incident, channel));
        for service in services {
            let Some(team_channel) = service.team_channels.get(&platform) else {
                continue;
            };
            if posted.contains(&team_channel) {
                continue;
            }
            posted.push(team_channel);
            if let Err(error) = self.chat.post(team_channel, &message).await {
                tracing::warn!(incident = incident.id, service = %service.name, %error, "could not post to the team channel");
            }
        }
    }

    pub(crate) async fn change_service(
        &self,
        inv: &Invocation,
        target: Option<i64>,
        change: SetChange,
        name: &str,
    ) -> Result<Outcome, Problem> {
        let service = self.settings.services.resolve(name).map_err(|e| unknown(e, usage::SERVICE))?.clone();
        let incident = self.target_incident(inv, target, usage::SERVICE).await?;
        permissions::require(Act::ChangeServices, &inv.user, &incident, &self.settings)?;
        let verb = match change {
            SetChange::Add => "added",
            SetChange::Remove => "removed",
        };
        let entry = self.entry_for(inv, &incident, EntryKind::Note, format!("Service {} {verb}", service.name));
        let result = match change {
            SetChange::Add => self.db.attach(Attachment::Service, &service.name, &entry).await?,
            SetChange::Remove => self.db.detach(Attachment::Service, &service.name, &entry).await?,
        };
        match (result, change) {
            (Attached::Duplicate, _) => return Ok(Outcome::silent()),
            (Attached::Unchanged, SetChange::Add) => {
                return Err(refused(format!("{} already names {}.", incident.reference(), service.name)))
            }
            (Attached::Unchanged, SetChange::Remove) => {
                return Err(refused(format!("{} does not name {}.", incident.reference(), service.name)))
            }
            (Attached::Changed, _) => {}
        }
        self.note_activity(&incident, &inv.user).await?;
        let mut line = Line::new().text(format!("🧩 Service {} {verb} by ", service.name)).user(inv.user.clone());
        if change == SetChange::Add && !service.team.is_empty() {
            line = line.text(format!(" (team {})", service.team));
        }
        self.post_to_incident(&incident, &Message::new().line(line)).await;
        if change == SetChange::Add {
            let services = [service.clone()];
            self.invite_service_owners(&incident, &inv.source_id, &services).await?;
            if let Some(channel_id) = &incident.channel_id {
                let channel = ChannelRef { id: channel_id.clone(), name: incident.channel_name.clone() };
                self.announce_to_teams(&incident, &channel, &services).await;
            }
        }
        Ok(self.confirm(inv, &incident, format!("service {} {verb}.", service.name)))
    }

    pub(crate) async fn list_services(&self, inv: &Invocation, target: Option<i64>) -> Result<Outcome, Problem> {
        let mut message = Message::new();
        if let Some(incident) = self.incident_in_context(inv, target, usage::SERVICE).await? {
            let named = self.db.attached(Attachment::Service, incident.id).await?;
            let shown = if named.is_empty() { "none yet".to_string() } else { named.join(", ") };
            message = message.line(Line::new().bold(incident.reference()).text(format!(" services: {shown}")));
        }
        let catalog = self.settings.services.services();
        if catalog.is_empty() {
            return Ok(Outcome::reply(message.line(
                Line::new().text("No services are configured. Add [[services]] to the config file; see the README."),
            )));
        }
        message = message.line(Line::new().bold("Services"));
        for service in catalog {
            let mut line = Line::new().code(service.name.clone());
            if !service.aliases.is_empty() {
                line = line.text(format!(" (also {})", service.aliases.join(", ")));
            }
            if !service.team.is_empty() {
                line = line.text(format!(" · team {}", service.team));
            }
            if !service.description.is_empty() {
                line = line.text(format!(" — {}", service.description));
            }
            message = message.line(line);
        }
        Ok(Outcome::reply(message))
    }

    pub(crate) async fn change_factor(
        &self,
        inv: &Invocation,
        target: Option<i64>,
        change: SetChange,
        tag: &str,
    ) -> Result<Outcome, Problem> {
        let tag = self.settings.factors.resolve(tag).map_err(|e| unknown(e, usage::FACTOR))?.tag.clone();
        let incident = self.target_incident(inv, target, usage::FACTOR).await?;
        permissions::require(Act::WritePostmortem, &inv.user, &incident, &self.settings)?;
        match self.change_tag(&incident, &inv.user, &inv.source_id, change, &tag).await? {
            Attached::Duplicate => Ok(Outcome::silent()),
            Attached::Unchanged => Err(refused(match change {
                SetChange::Add => format!("{} is already tagged {tag}.", incident.reference()),
                SetChange::Remove => format!("{} is not tagged {tag}.", incident.reference()),
            })),
            Attached::Changed => {
                let verb = if change == SetChange::Add { "tagged" } else { "untagged" };
                self.post_to_incident(
                    &incident,
                    &Message::new().line(
                        Line::new().text(format!("🏷️ Contributing factor {verb} {tag} by ")).user(inv.user.clone()),
                    ),
                )
                .await;
                Ok(self.confirm(inv, &incident, format!("contributing factor {tag} {verb}.")))
            }
        }
    }

    /// Adds or removes one tag, with its postmortem entry.
    async fn change_tag(
        &self,
        incident: &Incident,
        user: &str,
        source_id: &SourceId,
        change: SetChange,
        tag: &str,
    ) -> Result<Attached, Problem> {
        let (verb, key) = match change {
            SetChange::Add => ("added", "add"),
            SetChange::Remove => ("removed", "remove"),
        };
        let entry = NewEntry {
            incident_id: incident.id,
            source_id: source_id.part(&format!("factor:{key}:{tag}")),
            at: self.now(),
            kind: EntryKind::Postmortem,
            author: user.to_string(),
            text: format!("Postmortem contributing factor tag {tag} {verb}"),
            is_key: false,
        };
        Ok(match change {
            SetChange::Add => self.db.attach(Attachment::Factor, tag, &entry).await?,
            SetChange::Remove => self.db.detach(Attachment::Factor, tag, &entry).await?,
        })
    }

    /// Makes the incident's tags exactly `tags` (a picker's whole selection). Returns
    /// the tags added and removed; an unknown tag refuses them all.
    pub(crate) async fn replace_tags(
        &self,
        incident: &Incident,
        user: &str,
        source_id: &SourceId,
        tags: &[String],
    ) -> Result<(Vec<String>, Vec<String>), Problem> {
        let mut wanted: Vec<String> = Vec::new();
        for typed in tags.iter().filter(|t| !t.trim().is_empty()) {
            let tag = self.settings.factors.resolve(typed).map_err(|e| unknown(e, usage::FACTOR))?.tag.clone();
            if !wanted.contains(&tag) {
                wanted.push(tag);
            }
        }
        let current = self.db.attached(Attachment::Factor, incident.id).await?;
        let mut added = Vec::new();
        let mut removed = Vec::new();
        for tag in wanted.iter().filter(|t| !current.contains(t)) {
            if self.change_tag(incident, user, source_id, SetChange::Add, tag).await? == Attached::Changed {
                added.push(tag.clone());
            }
        }
        for tag in current.iter().filter(|t| !wanted.contains(t)) {
            if self.change_tag(incident, user, source_id, SetChange::Remove, tag).await? == Attached::Changed {
                removed.push(tag.clone());
            }
        }
        Ok((added, removed))
    }

    /// Takes a tag picker's selection (Discord's select menu).
    pub async fn select_factor_tags(&self, selection: &TagSelection) -> Result<Outcome, CoreError> {
        let result = async {
            let inv = Invocation {
                source_id: selection.source_id.clone(),
                user: selection.user.clone(),
                channel_id: selection.channel_id.clone(),
                text: String::new(),
            };
            let incident = self.target_incident(&inv, Some(selection.incident), usage::FACTOR).await?;
            permissions::require(Act::WritePostmortem, &inv.user, &incident, &self.settings)?;
            let (added, removed) = self.replace_tags(&incident, &inv.user, &inv.source_id, &selection.tags).await?;
            Ok(Outcome::reply(Message::plain(tags_changed(&incident, &added, &removed))))
        }
        .await;
        settle(result)
    }

    pub(crate) async fn list_factors(&self, inv: &Invocation, target: Option<i64>) -> Result<Outcome, Problem> {
        let mut message = Message::new();
        let mut tag_picker = None;
        if let Some(incident) = self.incident_in_context(inv, target, usage::FACTOR).await? {
            // Where replies can carry one (Discord's select menu), the tags are offered to pick.
            tag_picker = Some(self.tag_picker(&incident).await?);
            let tagged = self.db.attached(Attachment::Factor, incident.id).await?;
            let shown = if tagged.is_empty() { "none yet".to_string() } else { tagged.join(", ") };
            message =
                message.line(Line::new().bold(incident.reference()).text(format!(" contributing factors: {shown}")));
        }
        message = message.line(Line::new().bold("Contributing-factor tags"));
        for factor in self.settings.factors.factors() {
            message = message.line(Line::new().code(factor.tag.clone()).text(format!(" — {}", factor.description)));
        }
        let message = message.line(
            Line::new()
                .text("Tag the conditions that let it happen, not the people: ")
                .code("/incident factor add <tag>"),
        );
        Ok(Outcome { tag_picker, ..Outcome::reply(message) })
    }

    pub(crate) async fn invite(&self, inv: &Invocation, target: Option<i64>, user: &str) -> Result<Outcome, Problem> {
        let incident = self.target_incident(inv, target, usage::INVITE).await?;
        permissions::require(Act::Invite, &inv.user, &incident, &self.settings)?;
        let entry = self.entry_for(inv, &incident, EntryKind::Role, format!("@{user} invited by @{}", inv.user));
        match self.db.attach(Attachment::Invite, user, &entry).await? {
            Attached::Duplicate => return Ok(Outcome::silent()),
            Attached::Unchanged => {
                // Invited before: they may have left the channel, so bring them back.
                self.invite_to_incident(&incident, user).await;
                return Ok(Outcome::reply(Message::plain(format!(
                    "@{user} was already invited to {}; invited to the channel again.",
                    incident.reference()
                ))));
            }
            Attached::Changed => {}
        }
        self.invite_to_incident(&incident, user).await;
        self.post_to_incident(
            &incident,
            &Message::new().line(
                Line::new()
                    .text("👋 ")
                    .user(user.to_string())
                    .text(" was invited by ")
                    .user(inv.user.clone())
                    .text("."),
            ),
        )
        .await;
        Ok(self.confirm(inv, &incident, format!("@{user} invited.")))
    }

    /// The incident a list command is about, if any: the named one, or this channel's.
    async fn incident_in_context(
        &self,
        inv: &Invocation,
        target: Option<i64>,
        usage: &'static str,
    ) -> Result<Option<Incident>, Problem> {
        match target {
            Some(_) => Ok(Some(self.target_incident(inv, target, usage).await?)),
            None => Ok(self.db.incident_by_channel(&inv.channel_id).await?),
        }
    }
}

/// `INC-3: tagged alerting-gap, change; untagged capacity.` or `no tags changed`.
pub(crate) fn tags_changed(incident: &Incident, added: &[String], removed: &[String]) -> String {
    let mut parts = Vec::new();
    if !added.is_empty() {
        parts.push(format!("tagged {}", added.join(", ")));
    }
    if !removed.is_empty() {
        parts.push(format!("untagged {}", removed.join(", ")));
    }
    if parts.is_empty() {
        format!("{}: no contributing-factor tags changed.", incident.reference())
    } else {
        format!("{}: {}.", incident.reference(), parts.join("; "))
    }
}
