//! What people do with alerts: declare an incident from one waiting in triage, attach
//! it to an open incident, dismiss it, and `/incident alerts`. Each acts on the alert's
//! whole group, which shares one triage post, and updates that post.

use storage::{AlertGroup, AlertState, Detection, Incident, Saved, Severity, StoredAlert, TriageOutcome};

use super::process::ChannelLines;
use super::render;
use crate::actor::Actor;
use crate::core::{Core, Invocation};
use crate::error::Problem;
use crate::grammar::{usage, UsageError};
use crate::message::{Line, Message};
use crate::outcome::Outcome;

/// How many alerts `/incident alerts` lists.
const LISTED: i64 = 50;

impl Core {
    /// The alert and its group, when it waits in triage; otherwise a refusal that says
    /// what became of it.
    async fn alert_in_triage(&self, alert_id: i64, usage: &'static str) -> Result<(StoredAlert, AlertGroup), Problem> {
        let Some(alert) = self.db.alert(alert_id).await? else {
            return Err(UsageError { problem: format!("Alert #{alert_id} does not exist."), usage }.into());
        };
        let group = self
            .db
            .alert_group(&alert.source, &alert.group_key)
            .await?
            .ok_or_else(|| crate::error::CoreError::Alert(format!("alert #{alert_id} has no group")))?;
        if alert.state != AlertState::Triage || group.triage_outcome.is_some() {
            let what = match (alert.state, alert.incident_id) {
                (AlertState::Attached, Some(id)) => format!("it is part of INC-{id}"),
                (AlertState::Dismissed, _) => "it was dismissed".to_string(),
                (AlertState::Noise, _) => "it resolved on its own".to_string(),
                (AlertState::Ignored, _) => "a rule ignores it".to_string(),
                _ => "it has not been looked at yet; try again in a moment".to_string(),
            };
            return Err(crate::error::refused(format!("Alert #{alert_id} is not waiting in triage: {what}.")));
        }
        Ok((alert, group))
    }

    /// `/incident alert declare <id> [sev]`: the person declares, and leads.
    pub(crate) async fn alert_declare(
        &self,
        inv: &Invocation,
        alert_id: i64,
        severity: Option<Severity>,
    ) -> Result<Outcome, Problem> {
        // A retried request finds the incident its first delivery declared.
        if let Some(id) = self.db.incident_id_by_declare_source(&inv.source_id).await? {
            if let Some(incident) = self.db.incident(id).await? {
                return Ok(self.confirm(inv, &incident, "declared from the alert.".into()));
            }
        }
        let (alert, group) = self.alert_in_triage(alert_id, usage::ALERT_DECLARE).await?;
        let severity = severity.or(group.proposed_severity).unwrap_or(self.settings.default_severity);
        let started = self.earliest_start(&alert).await?;
        let actor = Actor::Person(inv.user.clone());
        let declaration = crate::incident_cmds::Declaration {
            severity: Some(severity),
            title: &alert.title,
            description: Some(render::description(&alert)),
            started: Some(started),
            services: self.alert_services(&alert),
            kind: Default::default(),
        };
        let outcome = self.declare_incident(inv, &actor, declaration).await?;
        let Some(incident_id) = self.db.incident_id_by_declare_source(&inv.source_id).await? else {
            return Ok(outcome);
        };
        self.db
            .record_detection(&Detection {
                incident_id,
                source: alert.source.clone(),
                alertname: alert.alertname.clone(),
                alert_at: alert.starts_at,
            })
            .await?;
        let Some(incident) = self.db.incident(incident_id).await? else {
            return Ok(outcome);
        };
        self.take_group(inv, &group, &incident, TriageOutcome::Declared).await?;
        self.update_triage_post(
            &group,
            render::triage_closed(&alert, &format!("Declared as {} by @{}.", incident.reference(), inv.user)),
        )
        .await;
        Ok(outcome)
    }

    /// `/incident alert attach <id> INC-n`.
    pub(crate) async fn alert_attach(
        &self,
        inv: &Invocation,
        alert_id: i64,
        incident_id: i64,
    ) -> Result<Outcome, Problem> {
        let incident = self.target_incident(inv, Some(incident_id), usage::ALERT_ATTACH).await?;
        if !incident.status.is_open() {
            return Err(crate::error::refused(format!(
                "{} is {}; alerts join open incidents only.",
                incident.reference(),
                incident.status
            )));
        }
        let (alert, group) = self.alert_in_triage(alert_id, usage::ALERT_ATTACH).await?;
        if !self.take_group(inv, &group, &incident, TriageOutcome::Attached).await? {
            return Ok(Outcome::silent());
        }
        self.update_triage_post(
            &group,
            render::triage_closed(&alert, &format!("Attached to {} by @{}.", incident.reference(), inv.user)),
        )
        .await;
        Ok(Outcome::reply(Message::plain(format!("Alert #{alert_id} is attached to {}.", incident.reference()))))
    }

    /// Ends the group's triage into `incident`, with a timeline entry per alert.
    async fn take_group(
        &self,
        inv: &Invocation,
        group: &AlertGroup,
        incident: &Incident,
        outcome: TriageOutcome,
    ) -> Result<bool, Problem> {
        let waiting: Vec<_> = self
            .db
            .alerts_of_group(&group.source, &group.group_key)
            .await?
            .into_iter()
            .filter(|alert| alert.state == AlertState::Triage)
            .collect();
        if !self.db.end_triage(group.id, outcome, AlertState::Attached, Some(incident.id)).await? {
            return Ok(false);
        }
        let mut lines = ChannelLines::default();
        for alert in &waiting {
            let entry = self.alert_entry(
                incident.id,
                format!("alert:{}:{}:taken:{}", alert.id, alert.generation, inv.source_id),
                format!("🔔 {} (added by @{})", render::firing_text(alert, false).trim_start_matches("🔔 "), inv.user),
            );
            if self.db.add_entry(&entry, false).await? == Saved::Written {
                lines.add(incident.id, render::firing_line(alert, false));
            }
        }
        self.flush_lines(lines).await;
        Ok(true)
    }

    /// `/incident alert dismiss <id> [reason]`.
    pub(crate) async fn alert_dismiss(
        &self,
        inv: &Invocation,
        alert_id: i64,
        reason: Option<String>,
    ) -> Result<Outcome, Problem> {
        let (alert, group) = self.alert_in_triage(alert_id, usage::ALERT_DISMISS).await?;
        let reason = reason.and_then(|r| crate::incident_cmds::fit(&r, crate::limits::MAX_TEXT, false)).map(|r| r.text);
        if !self.db.end_triage(group.id, TriageOutcome::Dismissed, AlertState::Dismissed, None).await? {
            return Ok(Outcome::silent());
        }
        let what = match &reason {
            Some(reason) => format!("Dismissed by @{}: {reason}", inv.user),
            None => format!("Dismissed by @{}.", inv.user),
        };
        self.update_triage_post(&group, render::triage_closed(&alert, &what)).await;
        Ok(Outcome::reply(Message::plain(format!("Alert #{alert_id} is dismissed."))))
    }

    /// `/incident alerts`: this incident's alerts, or the triage queue outside one.
    pub(crate) async fn list_alerts(&self, inv: &Invocation, target: Option<i64>) -> Result<Outcome, Problem> {
        let incident = match target {
            Some(_) => Some(self.target_incident(inv, target, usage::ALERTS).await?),
            None => self.db.incident_by_channel(&inv.channel_id).await?,
        };
        let tz = self.settings.timezone;
        let Some(incident) = incident else {
            let waiting = self.db.alerts_in_triage(LISTED).await?;
            let mut message =
                Message::new().line(Line::new().bold(format!("Alerts waiting in triage: {}", waiting.len())));
            if waiting.is_empty() {
                message = message.line(Line::new().text("None. 🎉"));
            }
            for alert in &waiting {
                message = message.line(render::listing_line(alert, tz));
            }
            return Ok(Outcome::reply(message));
        };
        let alerts = self.db.alerts_of_incident(incident.id).await?;
        let mut message =
            Message::new().line(Line::new().bold(format!("Alerts of {}: {}", incident.reference(), alerts.len())));
        if alerts.is_empty() {
            message = message.line(Line::new().text("None; a person declared it."));
        }
        for alert in alerts.iter().take(LISTED as usize) {
            message = message.line(render::listing_line(alert, tz));
        }
        Ok(Outcome::reply(message))
    }

    /// Posts the triage post of a group to the triage channel and records where it went.
    pub(crate) async fn post_triage(
        &self,
        alert: &StoredAlert,
        group_id: i64,
        proposed: Severity,
    ) -> Result<(), Problem> {
        let triage_channel = self.alert_settings().triage_channel.clone();
        let Some(channel) = triage_channel else {
            tracing::warn!(alert = alert.id, "no alerts.triage_channel is configured; the triage post is skipped");
            return Ok(());
        };
        let open = self.db.open_incidents().await?;
        let mut open = open;
        open.sort_by_key(|incident| std::cmp::Reverse(incident.declared_at));
        match self.chat.post(&channel, &render::triage_post(alert, proposed, &open)).await {
            Ok(posted) => self.db.set_triage_post(group_id, &posted.channel_id, &posted.message_id).await?,
            Err(error) => tracing::warn!(alert = alert.id, %error, "could not post to the triage channel"),
        }
        Ok(())
    }

    /// Replaces a group's triage post with what became of it. The change is committed
    /// already, so a chat failure is logged.
    pub(crate) async fn update_triage_post(&self, group: &AlertGroup, message: Message) {
        // Read again: the post may have been recorded after `group` was read.
        let group = match self.db.alert_group(&group.source, &group.group_key).await {
            Ok(Some(group)) => group,
            _ => group.clone(),
        };
        let (Some(channel_id), Some(message_id)) = (group.triage_channel, group.triage_message) else {
            return;
        };
        let target = crate::chat::MessageRef { channel_id: channel_id.into(), message_id };
        if let Err(error) = self.chat.update(&target, &message).await {
            tracing::warn!(group = group.id, %error, "could not update the triage post");
        }
    }
}
