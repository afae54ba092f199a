//! Applying stored alerts: what a change of an alert (new, resolved, firing again)
//! does to incidents and the triage queue. A delivery is first accepted into the inbox
//! (see [`intake`](super::intake), which is all a sender waits for), then stored as it
//! came ([`Core::receive_alerts`]); the worker then applies each pending change
//! ([`Core::apply_pending_alerts`]). Every step is idempotent (the
//! declare by its source id, timeline entries by theirs, the triage post and the
//! nudge by a claim), so a worker stopped half-way repeats nothing when it runs again.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use storage::{
    AlertGroup, AlertState, AlertStatus, Detection, EntryKind, Incident, NewEntry, Saved, StoredAlert, StoredDelivery,
    TriageOutcome,
};

use super::model::{from_json, AlertDelivery};
use super::render;
use super::rules::{evaluate, RuleAction};
use crate::actor::{Actor, SystemSource};
use crate::core::{Core, Invocation};
use crate::error::{CoreError, Problem};
use crate::grammar::StartedAgo;
use crate::message::{Line, Message};

/// How many pending alerts the worker reads at a time.
const BATCH: i64 = 500;

/// What one run of the worker did, for the metrics and the logs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppliedAlerts {
    /// Per source: incidents declared, alerts sent to triage, alerts attached to an
    /// incident, alerts ignored by a rule, and resolutions recorded.
    pub by_source: BTreeMap<String, AppliedCounts>,
    /// Alerts whose change failed this pass; they stay pending.
    pub failed: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppliedCounts {
    pub declared: u64,
    pub triaged: u64,
    pub attached: u64,
    pub ignored: u64,
    pub resolved: u64,
}

impl AppliedAlerts {
    fn count(&mut self, source: &str) -> &mut AppliedCounts {
        self.by_source.entry(source.to_string()).or_default()
    }

    pub fn total(&self) -> AppliedCounts {
        self.by_source.values().fold(AppliedCounts::default(), |sum, c| AppliedCounts {
            declared: sum.declared + c.declared,
            triaged: sum.triaged + c.triaged,
            attached: sum.attached + c.attached,
            ignored: sum.ignored + c.ignored,
            resolved: sum.resolved + c.resolved,
        })
    }
}

/// Channel lines gathered while applying a batch, one post per incident at the end, so a
/// group of a hundred alerts makes one post rather than a hundred; and the incidents
/// where an alert resolved, which may get the resolve nudge after their lines.
#[derive(Default)]
pub(crate) struct ChannelLines {
    lines: BTreeMap<i64, Vec<Line>>,
    resolved_in: BTreeSet<i64>,
}

/// The most alert lines one channel post lists.
const MAX_LINES_PER_POST: usize = 10;

impl ChannelLines {
    pub(crate) fn add(&mut self, incident_id: i64, line: Line) {
        self.lines.entry(incident_id).or_default().push(line);
    }
}

impl Core {
    /// Stores one delivery from the alert source `source` into the alerts, in one
    /// transaction. Nothing is declared or posted here. `serve` reaches it through the
    /// inbox ([`Core::store_accepted_alerts`]); the console calls it directly.
    pub async fn receive_alerts(&self, source: &str, delivery: &AlertDelivery) -> Result<StoredDelivery, CoreError> {
        let alerts: Vec<_> = delivery.alerts.iter().map(|alert| alert.to_new()).collect();
        Ok(self.db.store_alert_delivery(source, delivery.delivery_id.as_deref(), &alerts, self.now()).await?)
    }

    /// Applies every pending alert change, oldest first, in one pass. An alert whose
    /// change fails stays pending for the next pass (and is logged), so one failure
    /// never holds up the alerts behind it; `failed` counts them.
    pub async fn apply_pending_alerts(&self) -> Result<AppliedAlerts, CoreError> {
        let mut applied = AppliedAlerts::default();
        let mut after = 0;
        loop {
            let pending = self.db.pending_alerts(after, BATCH).await?;
            let Some(last) = pending.last() else {
                return Ok(applied);
            };
            after = last.id;
            let mut lines = ChannelLines::default();
            for alert in pending {
                if let Err(problem) = self.apply_alert(&alert, &mut applied, &mut lines).await {
                    applied.failed += 1;
                    tracing::warn!(alert = alert.id, problem = problem.describe(), "an alert could not be applied yet");
                }
            }
            self.flush_lines(lines).await;
        }
    }

    async fn apply_alert(
        &self,
        alert: &StoredAlert,
        applied: &mut AppliedAlerts,
        lines: &mut ChannelLines,
    ) -> Result<(), Problem> {
        let group = self
            .db
            .alert_group(&alert.source, &alert.group_key)
            .await?
            .ok_or_else(|| CoreError::Alert(format!("alert #{} has no group", alert.id)))?;
        match alert.status {
            AlertStatus::Firing => self.apply_firing(alert, &group, applied, lines).await,
            AlertStatus::Resolved => self.apply_resolved(alert, &group, applied, lines).await,
        }
    }

    async fn open_incident(&self, id: Option<i64>) -> Result<Option<Incident>, Problem> {
        let Some(id) = id else { return Ok(None) };
        Ok(self.db.incident(id).await?.filter(|incident| incident.status.is_open()))
    }

    async fn apply_firing(
        &self,
        alert: &StoredAlert,
        group: &AlertGroup,
        applied: &mut AppliedAlerts,
        lines: &mut ChannelLines,
    ) -> Result<(), Problem> {
        // An open incident holding this alert or its group: it joins that incident.
        let holder = match self.open_incident(alert.incident_id).await? {
            Some(incident) => Some(incident),
            None => self.open_incident(group.incident_id).await?,
        };
        if let Some(incident) = holder {
            self.attach_firing(alert, &incident, lines).await?;
            self.db.set_alert_state(alert.id, AlertState::Attached, Some(incident.id), Some(alert.version)).await?;
            applied.count(&alert.source).attached += 1;
            return Ok(());
        }
        // A group whose triage post is open: the alert waits there with the others.
        if group.triage_claimed && group.triage_outcome.is_none() {
            self.db.set_alert_state(alert.id, AlertState::Triage, None, Some(alert.version)).await?;
            applied.count(&alert.source).triaged += 1;
            return Ok(());
        }
        let labels = from_json(&alert.labels);
        let decision = evaluate(&self.alert_settings().rules, &labels, self.settings.default_severity);
        match decision.action {
            RuleAction::Ignore => {
                self.db.set_alert_state(alert.id, AlertState::Ignored, None, Some(alert.version)).await?;
                applied.count(&alert.source).ignored += 1;
            }
            RuleAction::Declare => {
                let incident = self.declare_from_alert(alert, group, decision.severity).await?;
                self.attach_firing(alert, &incident, lines).await?;
                self.db.set_alert_state(alert.id, AlertState::Attached, Some(incident.id), Some(alert.version)).await?;
                applied.count(&alert.source).declared += 1;
            }
            RuleAction::Triage => {
                self.db.set_alert_state(alert.id, AlertState::Triage, None, None).await?;
                if self.db.claim_triage_post(group.id, decision.severity, self.now()).await? {
                    self.post_triage(alert, group.id, decision.severity).await?;
                }
                self.db.finish_alert(alert.id, alert.version).await?;
                applied.count(&alert.source).triaged += 1;
            }
        }
        Ok(())
    }

    /// The system declares an incident for `alert`'s group. Its source id names the
    /// alert's firing, so a worker that stopped after the declare finds the same
    /// incident when it runs again.
    async fn declare_from_alert(
        &self,
        alert: &StoredAlert,
        group: &AlertGroup,
        severity: storage::Severity,
    ) -> Result<Incident, Problem> {
        let actor = Actor::System(SystemSource::Alerts);
        let inv = Invocation {
            source_id: format!("alerts:{}:{}:{}:{}", alert.source, group.id, alert.id, alert.generation).into(),
            user: actor.stored_id(),
            channel_id: String::new().into(),
            text: String::new(),
        };
        let started = self.earliest_start(alert).await?;
        let description = render::description(alert);
        let declaration = crate::incident_cmds::Declaration {
            severity: Some(severity),
            title: &alert.title,
            description: Some(description),
            started: Some(started),
            services: self.alert_services(alert),
            kind: Default::default(),
        };
        self.declare_incident(&inv, &actor, declaration).await?;
        let incident_id = self
            .db
            .incident_id_by_declare_source(&inv.source_id)
            .await?
            .ok_or_else(|| CoreError::Alert(format!("the incident declared for alert #{} is missing", alert.id)))?;
        self.db
            .record_detection(&Detection {
                incident_id,
                source: alert.source.clone(),
                alertname: alert.alertname.clone(),
                alert_at: alert.starts_at,
            })
            .await?;
        self.db.set_group_incident(group.id, Some(incident_id)).await?;
        Ok(self.db.incident(incident_id).await?.ok_or_else(|| CoreError::Contention(format!("INC-{incident_id}")))?)
    }

    /// The catalog services an alert's `service` label names (comma-separated names
    /// allowed); unknown ones are left out and logged, so the alert still declares.
    pub(crate) fn alert_services(&self, alert: &StoredAlert) -> Vec<crate::catalog::Service> {
        let labels = from_json(&alert.labels);
        let given: Vec<String> = labels
            .get("service")
            .map(|names| names.split(',').map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).collect())
            .unwrap_or_default();
        self.known_services(&given)
    }

    /// How long before now the earliest firing alert of `alert`'s group started, so the
    /// incident's time to detect is real. A start in the future (a skewed clock) is now.
    pub(crate) async fn earliest_start(&self, alert: &StoredAlert) -> Result<StartedAgo, Problem> {
        let group = self.db.alerts_of_group(&alert.source, &alert.group_key).await?;
        let earliest = group
            .iter()
            .filter(|a| a.status == AlertStatus::Firing || a.id == alert.id)
            .map(|a| a.starts_at)
            .min()
            .unwrap_or(alert.starts_at);
        Ok(StartedAgo((self.now() - earliest).max(Duration::zero())))
    }

    /// Records `alert` firing in `incident`'s timeline ("firing again" after a resolve).
    pub(crate) async fn attach_firing(
        &self,
        alert: &StoredAlert,
        incident: &Incident,
        lines: &mut ChannelLines,
    ) -> Result<(), Problem> {
        let again = alert.generation > 1;
        let text = render::firing_text(alert, again);
        let entry = self.alert_entry(incident.id, format!("alert:{}:{}:firing", alert.id, alert.generation), text);
        if self.db.add_entry(&NewEntry { at: alert.starts_at.min(self.now()), ..entry }, false).await? == Saved::Written
        {
            lines.add(incident.id, render::firing_line(alert, again));
        }
        Ok(())
    }

    pub(crate) fn alert_entry(&self, incident_id: i64, source_id: String, text: String) -> NewEntry {
        NewEntry {
            incident_id,
            source_id: source_id.into(),
            at: self.now(),
            kind: EntryKind::Note,
            author: Actor::System(SystemSource::Alerts).stored_id(),
            text,
            is_key: true,
        }
    }

    async fn apply_resolved(
        &self,
        alert: &StoredAlert,
        group: &AlertGroup,
        applied: &mut AppliedAlerts,
        lines: &mut ChannelLines,
    ) -> Result<(), Problem> {
        match (alert.state, alert.incident_id) {
            (AlertState::Attached, Some(incident_id)) => {
                let entry = self.alert_entry(
                    incident_id,
                    format!("alert:{}:{}:resolved", alert.id, alert.generation),
                    render::resolved_text(alert),
                );
                let at = alert.ends_at.unwrap_or_else(|| self.now()).min(self.now());
                if self.db.add_entry(&NewEntry { at, ..entry }, false).await? == Saved::Written {
                    lines.add(incident_id, render::resolved_line(alert));
                }
                self.db.finish_alert(alert.id, alert.version).await?;
                applied.count(&alert.source).resolved += 1;
                // Decided once the batch is applied: a group resolving in one delivery
                // gets one nudge, after its lines.
                lines.resolved_in.insert(incident_id);
            }
            (AlertState::Triage, _) => {
                self.db.finish_alert(alert.id, alert.version).await?;
                applied.count(&alert.source).resolved += 1;
                let waiting: Vec<_> = self
                    .db
                    .alerts_of_group(&alert.source, &alert.group_key)
                    .await?
                    .into_iter()
                    .filter(|a| a.state == AlertState::Triage)
                    .collect();
                if waiting.iter().all(|a| a.status == AlertStatus::Resolved)
                    && self.db.end_triage(group.id, TriageOutcome::Noise, AlertState::Noise, None).await?
                {
                    self.update_triage_post(
                        group,
                        render::triage_closed(alert, "resolved on its own before anyone decided"),
                    )
                    .await;
                }
            }
            (AlertState::New, _) => {
                // It fired and resolved before the worker saw it firing: nobody was
                // bothered, and it counts as noise.
                self.db.set_alert_state(alert.id, AlertState::Noise, None, Some(alert.version)).await?;
                applied.count(&alert.source).resolved += 1;
            }
            _ => self.db.finish_alert(alert.id, alert.version).await?,
        }
        Ok(())
    }

    /// When every alert attached to the open incident has resolved, its channel gets one
    /// nudge with a Resolve button. The bot never resolves it itself. The claim names
    /// this resolution of the incident's alerts (how many, how often they fired, the
    /// newest), so it is sent once, and again only after an alert fires anew.
    async fn nudge_if_all_resolved(&self, incident_id: i64) -> Result<(), Problem> {
        let Some(incident) = self.open_incident(Some(incident_id)).await? else {
            return Ok(());
        };
        let attached = self.db.alerts_of_incident(incident_id).await?;
        if attached.is_empty() || attached.iter().any(|a| a.status == AlertStatus::Firing) {
            return Ok(());
        }
        let firings: i64 = attached.iter().map(|a| a.generation).sum();
        let newest = attached.iter().map(|a| a.id).max().unwrap_or_default();
        let key = format!("{}:{firings}:{newest}", attached.len());
        if self.db.claim_alert_nudge(incident_id, &key, self.now()).await? {
            self.post_to_incident(&incident, &render::resolve_nudge(&incident)).await;
        }
        Ok(())
    }

    /// Posts the gathered lines, one post per incident, each followed by the resolve
    /// nudge where its alerts have all resolved, so the nudge is the last word.
    pub(crate) async fn flush_lines(&self, lines: ChannelLines) {
        let ChannelLines { mut lines, resolved_in } = lines;
        let incidents: BTreeSet<i64> = lines.keys().copied().chain(resolved_in.iter().copied()).collect();
        for incident_id in incidents {
            let incident_lines = lines.remove(&incident_id).unwrap_or_default();
            if !incident_lines.is_empty() {
                match self.db.incident(incident_id).await {
                    Ok(Some(incident)) => self.post_alert_lines(&incident, incident_lines).await,
                    Ok(None) => {}
                    Err(error) => tracing::warn!(incident = incident_id, %error, "could not post alert lines"),
                }
            }
            if resolved_in.contains(&incident_id) {
                if let Err(problem) = self.nudge_if_all_resolved(incident_id).await {
                    tracing::warn!(
                        incident = incident_id,
                        problem = problem.describe(),
                        "could not check the resolve nudge"
                    );
                }
            }
        }
    }

    async fn post_alert_lines(&self, incident: &Incident, lines: Vec<Line>) {
        if lines.is_empty() {
            return;
        }
        let more = lines.len().saturating_sub(MAX_LINES_PER_POST);
        let mut message = Message::new();
        for line in lines.into_iter().take(MAX_LINES_PER_POST) {
            message = message.line(line);
        }
        if more > 0 {
            message = message.line(Line::new().text(format!("…and {more} more; /incident alerts lists them all.")));
        }
        self.post_to_incident(incident, &message).await;
    }
}
