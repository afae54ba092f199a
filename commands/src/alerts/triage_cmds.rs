//! What people do with alerts: declare an incident from one waiting in triage, attach
//! it to an open incident, dismiss it, and `/incident alerts`. Each acts on the alert's
//! whole group, which shares one triage post, and updates that post.

use storage::{AlertGroup, AlertState, Detection, Incident, Saved, Severity, StoredAlert, TriageOutcome};

use super::process::ChannelLines;
use super::render;
use crate::actor::Actor;
use crate::catalog::Service;
use crate::core::{Core, Invocation};
use crate::error::Problem;
use crate::grammar::{usage, UsageError};
use crate::limits::{MAX_TEXT, MAX_TITLE};
use crate::message::{Line, Message};
use crate::outcome::Outcome;
use crate::outcome::{Form, FormField, FormKind};
use crate::postmortem_cmds::FormSubmission;
use crate::visibility::Viewer;

/// How many alerts `/incident alerts` lists.
const LISTED: i64 = 50;

impl Core {
    /// The alert and its group, when it waits in triage; otherwise a refusal that says
    /// what became of it.
    async fn alert_in_triage(
        &self,
        inv: &Invocation,
        alert_id: i64,
        usage: &'static str,
    ) -> Result<(StoredAlert, AlertGroup), Problem> {
        let Some(alert) = self.db.alert(alert_id).await? else {
            return Err(UsageError { problem: format!("Alert #{alert_id} does not exist."), usage }.into());
        };
        let group = self
            .db
            .alert_group(&alert.source, &alert.group_key)
            .await?
            .ok_or_else(|| crate::error::CoreError::Alert(format!("alert #{alert_id} has no group")))?;
        if alert.state != AlertState::Triage || group.triage_outcome.is_some() {
            let holder = match alert.incident_id {
                Some(id) => self.db.incident(id).await?,
                None => None,
            };
            // A private incident exists only for the people in it: to anyone else the
            // alert was taken, and where to stays unsaid.
            let seen = match &holder {
                Some(incident) => self.may_see(&Viewer::Person(&inv.user), incident).await?.then_some(incident.id),
                None => None,
            };
            let what = match (alert.state, seen) {
                (AlertState::Attached, Some(id)) => format!("it is part of INC-{id}"),
                (AlertState::Attached, None) => "it was taken into an incident".to_string(),
                (AlertState::Dismissed, _) => "it was dismissed".to_string(),
                (AlertState::Noise, _) => "it resolved on its own".to_string(),
                (AlertState::Ignored, _) => "a rule ignores it".to_string(),
                _ => "it has not been looked at yet; try again in a moment".to_string(),
            };
            return Err(crate::error::refused(format!("Alert #{alert_id} is not waiting in triage: {what}.")));
        }
        Ok((alert, group))
    }

    /// `/incident alert declare <id> [sev]`: the person declares, and leads. With no
    /// severity (and from the triage post's Declare button) it opens the declare form
    /// pre-filled from the alert instead, where the platform has forms.
    pub(crate) async fn alert_declare(
        &self,
        inv: &Invocation,
        alert_id: i64,
        severity: Option<Severity>,
    ) -> Result<Outcome, Problem> {
        // A retried request finds the incident its first delivery declared.
        if let Some(outcome) = self.declared_before(inv).await? {
            return Ok(outcome);
        }
        let (alert, group) = self.alert_in_triage(inv, alert_id, usage::ALERT_DECLARE).await?;
        let Some(severity) = severity else {
            let proposed = group.proposed_severity.unwrap_or(self.settings.default_severity);
            let with_services = !self.settings.services.is_empty();
            let services = if with_services { self.alert_services(&alert) } else { Vec::new() };
            return Ok(Outcome::form(alert_declare_form(&alert, proposed, &services, with_services)));
        };
        let chosen = AlertDeclaration {
            title: alert.title.clone(),
            severity,
            description: render::description(&alert),
            services: self.alert_services(&alert),
        };
        self.declare_alert_group(inv, &alert, &group, chosen).await
    }

    /// The incident this request (by its source id) declared already, confirmed again.
    async fn declared_before(&self, inv: &Invocation) -> Result<Option<Outcome>, Problem> {
        let Some(id) = self.db.incident_id_by_declare_source(&inv.source_id).await? else {
            return Ok(None);
        };
        let Some(incident) = self.db.incident(id).await? else {
            return Ok(None);
        };
        Ok(Some(self.confirm(inv, &incident, "declared from the alert.".into())))
    }

    /// The pre-filled declare form, answered: declares with what the person kept or
    /// changed, and takes the alert's group into the new incident.
    pub(crate) async fn submit_alert_declare(
        &self,
        submission: &FormSubmission,
        alert_id: i64,
    ) -> Result<Outcome, Problem> {
        let inv = invocation_of(submission);
        if let Some(outcome) = self.declared_before(&inv).await? {
            return Ok(outcome);
        }
        let (alert, group) = self.alert_in_triage(&inv, alert_id, usage::ALERT_DECLARE).await?;
        let answer = |key: &str| {
            submission
                .answers
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let mut field_errors = Vec::new();
        let title = answer("title").filter(|t| crate::text::has_visible(t));
        if title.is_none() {
            field_errors.push(("title", "The incident needs a title.".to_string()));
        }
        let proposed = group.proposed_severity.unwrap_or(self.settings.default_severity);
        let severity = match answer("severity").map(|word| word.parse::<Severity>()) {
            None => proposed,
            Some(Ok(severity)) => severity,
            Some(Err(unknown)) => {
                field_errors.push(("severity", unknown.to_string()));
                proposed
            }
        };
        let mut services = Vec::new();
        for name in
            answer("services").iter().flat_map(|names| names.split(',')).map(str::trim).filter(|n| !n.is_empty())
        {
            match self.settings.services.resolve(name) {
                Ok(service) if !services.iter().any(|s: &Service| s.name == service.name) => {
                    services.push(service.clone())
                }
                Ok(_) => {}
                Err(unknown) => field_errors.push(("services", unknown.to_string())),
            }
        }
        let Some(title) = title.filter(|_| field_errors.is_empty()) else {
            let text: Vec<String> = field_errors.iter().map(|(_, e)| e.clone()).collect();
            return Ok(Outcome { field_errors, ..Outcome::error(Message::plain(text.join("\n"))) });
        };
        let chosen =
            AlertDeclaration { title, severity, description: answer("description").unwrap_or_default(), services };
        self.declare_alert_group(&inv, &alert, &group, chosen).await
    }

    /// Declares `chosen` for the person, with the alert's start and detection, and takes
    /// the alert's group into the new incident.
    async fn declare_alert_group(
        &self,
        inv: &Invocation,
        alert: &StoredAlert,
        group: &AlertGroup,
        chosen: AlertDeclaration,
    ) -> Result<Outcome, Problem> {
        let started = self.earliest_start(alert).await?;
        let actor = Actor::Person(inv.user.clone());
        let declaration = crate::incident_cmds::Declaration {
            severity: Some(chosen.severity),
            title: &chosen.title,
            description: Some(chosen.description).filter(|d| crate::text::has_visible(d)),
            started: Some(started),
            services: chosen.services,
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
        self.take_group(inv, group, &incident, TriageOutcome::Declared).await?;
        self.update_triage_post(
            group,
            render::triage_closed(alert, &format!("Declared as {} by @{}.", incident.reference(), inv.user)),
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
        let (alert, group) = self.alert_in_triage(inv, alert_id, usage::ALERT_ATTACH).await?;
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

    /// The triage post's Dismiss button: a form asking for an optional reason.
    pub(crate) async fn alert_dismiss_form(&self, inv: &Invocation, alert_id: i64) -> Result<Outcome, Problem> {
        let (alert, _) = self.alert_in_triage(inv, alert_id, usage::ALERT_DISMISS).await?;
        Ok(Outcome::form(alert_dismiss_form(&alert)))
    }

    /// The dismiss form, answered: an empty reason dismisses without one.
    pub(crate) async fn submit_alert_dismiss(
        &self,
        submission: &FormSubmission,
        alert_id: i64,
    ) -> Result<Outcome, Problem> {
        let reason = submission.answers.iter().find(|(k, _)| k == "reason").map(|(_, v)| v.clone());
        self.alert_dismiss(&invocation_of(submission), alert_id, reason).await
    }

    /// `/incident alert dismiss <id> [reason]`.
    pub(crate) async fn alert_dismiss(
        &self,
        inv: &Invocation,
        alert_id: i64,
        reason: Option<String>,
    ) -> Result<Outcome, Problem> {
        let (alert, group) = self.alert_in_triage(inv, alert_id, usage::ALERT_DISMISS).await?;
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
        // A private incident's alerts are for the people in it, wherever it is asked.
        if let Some(incident) = &incident {
            if !self.may_see(&Viewer::Person(&inv.user), incident).await? {
                return Err(crate::error::refused(
                    "This incident is private; its alerts are for the people in it.".to_string(),
                ));
            }
        }
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
        // The post is read by everyone in the triage channel, so it offers only the
        // incidents everyone may see: a private one is attached to by its INC-n.
        let mut open = self.visible(&Viewer::Public, self.db.open_incidents().await?).await?;
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

/// What a person declares from an alert: the form's answers, or the alert's own.
struct AlertDeclaration {
    title: String,
    severity: Severity,
    description: String,
    services: Vec<Service>,
}

fn invocation_of(submission: &FormSubmission) -> Invocation {
    Invocation {
        source_id: submission.source_id.clone(),
        user: submission.user.clone(),
        channel_id: submission.channel_id.clone(),
        text: String::new(),
    }
}

/// The declare form pre-filled from an alert: its title, the proposed severity, the
/// catalog services its `service` label names (when a catalog is configured), and what
/// fired as the description.
pub fn alert_declare_form(alert: &StoredAlert, proposed: Severity, services: &[Service], with_services: bool) -> Form {
    let mut fields = crate::incident_cmds::declare_fields(
        Some(crate::format::truncate(&alert.title, MAX_TITLE).0),
        proposed,
        Some(crate::format::truncate(&render::description(alert), MAX_TEXT).0),
    );
    if with_services {
        let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
        // After the severity, before the description.
        fields.insert(
            2,
            FormField {
                key: "services",
                label: "Services".into(),
                question: "Affected services from the catalog, comma-separated (optional)".into(),
                value: Some(names.join(", ")).filter(|v| !v.is_empty()),
                multiline: false,
                required: false,
                max_len: 500,
            },
        );
    }
    Form {
        kind: FormKind::AlertDeclare { alert: alert.id },
        title: format!("Declare from alert #{}", alert.id),
        fields,
        tags: None,
    }
}

/// The dismiss form: one optional reason.
pub fn alert_dismiss_form(alert: &StoredAlert) -> Form {
    Form {
        kind: FormKind::AlertDismiss { alert: alert.id },
        title: format!("Dismiss alert #{}", alert.id),
        fields: vec![FormField {
            key: "reason",
            label: "Reason".into(),
            question: "Why it needs no incident, for the noise figures (optional)".into(),
            value: None,
            multiline: false,
            required: false,
            max_len: 500,
        }],
        tags: None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use chrono::{TimeZone, Utc};
    use storage::{AlertState, AlertStatus};

    use super::*;

    fn alert() -> StoredAlert {
        let at = Utc.with_ymd_and_hms(2026, 3, 2, 8, 50, 0).unwrap();
        StoredAlert {
            id: 7,
            source: "prometheus".into(),
            fingerprint: "fp".into(),
            group_key: "g".into(),
            alertname: "DiskFull".into(),
            title: "Disk on db-1 is 95% full ✓".into(),
            labels: r#"{"alertname":"DiskFull","service":"checkout, payments"}"#.into(),
            annotations: r#"{"description":"Only 2 GB left on /var."}"#.into(),
            url: Some("http://prometheus/graph".into()),
            status: AlertStatus::Firing,
            starts_at: at,
            ends_at: None,
            first_seen: at,
            last_seen: at,
            deliveries: 1,
            generation: 1,
            state: AlertState::Triage,
            incident_id: None,
            pending: false,
            version: 1,
        }
    }

    fn value<'a>(form: &'a Form, key: &str) -> Option<&'a str> {
        form.fields.iter().find(|f| f.key == key).and_then(|f| f.value.as_deref())
    }

    #[test]
    fn the_declare_form_is_prefilled_from_the_alert_and_its_catalog_services() {
        let services = [Service::named("checkout"), Service::named("payments")];
        let form = alert_declare_form(&alert(), Severity::Sev2, &services, true);
        assert_eq!(form.kind, FormKind::AlertDeclare { alert: 7 });
        let keys: Vec<&str> = form.fields.iter().map(|f| f.key).collect();
        assert_eq!(keys, ["title", "severity", "services", "description"]);
        assert_eq!(value(&form, "title"), Some("Disk on db-1 is 95% full ✓"));
        assert_eq!(value(&form, "severity"), Some("sev2"));
        assert_eq!(value(&form, "services"), Some("checkout, payments"));
        let description = value(&form, "description").unwrap();
        assert!(
            description.starts_with("Declared from alert #7 (prometheus/DiskFull). Only 2 GB left"),
            "{description}"
        );
        assert!(description.contains("Link: http://prometheus/graph"), "{description}");
        // With no catalog there is nothing to choose from: no services field.
        let without = alert_declare_form(&alert(), Severity::Sev3, &[], false);
        assert!(without.fields.iter().all(|f| f.key != "services"));
        assert_eq!(FormKind::decode(&form.kind.encode()), Some(form.kind));
    }
}
