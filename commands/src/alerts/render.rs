//! What alerts look like in chat: the triage post and its buttons, the timeline lines
//! of an attached alert, the resolve nudge, and the `/incident alerts` listing. Alert
//! text comes from monitoring, so it is carried in text spans, which every adapter
//! escapes: a label cannot ping anyone.

use storage::{AlertStatus, Incident, Severity, StoredAlert};

use super::model::from_json;
use crate::format;
use crate::message::{ButtonAction, Line, Message};

/// Labels worth showing first, in this order; the rest follow by name.
const LABELS_THAT_MATTER: &[&str] =
    &["severity", "env", "environment", "service", "team", "cluster", "namespace", "instance", "job"];
/// How many labels a post shows.
const SHOWN_LABELS: usize = 6;
/// How many open incidents the triage post offers to attach to.
const ATTACH_CHOICES: usize = 3;

/// `severity=critical · env=prod · service=checkout`.
pub fn labels_line(alert: &StoredAlert) -> String {
    let labels = from_json(&alert.labels);
    let mut names: Vec<&str> = LABELS_THAT_MATTER.iter().copied().filter(|name| labels.contains_key(*name)).collect();
    names.extend(
        labels.keys().map(String::as_str).filter(|name| *name != "alertname" && !LABELS_THAT_MATTER.contains(name)),
    );
    names
        .into_iter()
        .take(SHOWN_LABELS)
        .map(|name| format!("{name}={}", format::truncate(labels.get(name).map_or("", String::as_str), 60).0))
        .collect::<Vec<_>>()
        .join(" · ")
}

fn name_of(alert: &StoredAlert) -> String {
    if alert.alertname.is_empty() {
        alert.source.clone()
    } else {
        format!("{}/{}", alert.source, alert.alertname)
    }
}

/// The incident description an alert declares with: what fired and where to look.
pub fn description(alert: &StoredAlert) -> String {
    let annotations = from_json(&alert.annotations);
    let mut text = format!("Declared from alert #{} ({}).", alert.id, name_of(alert));
    if let Some(detail) = annotations.get("description") {
        text.push(' ');
        text.push_str(detail);
    }
    let labels = labels_line(alert);
    if !labels.is_empty() {
        text.push_str(&format!("\nLabels: {labels}"));
    }
    if let Some(url) = &alert.url {
        text.push_str(&format!("\nLink: {url}"));
    }
    text
}

pub fn firing_text(alert: &StoredAlert, again: bool) -> String {
    let verb = if again { "Firing again" } else { "Firing" };
    format!("🔔 {verb}: {} (alert #{}, {})", alert.title, alert.id, name_of(alert))
}

pub fn firing_line(alert: &StoredAlert, again: bool) -> Line {
    Line::new().text(firing_text(alert, again))
}

pub fn resolved_text(alert: &StoredAlert) -> String {
    format!("✅ Alert resolved: {} (alert #{}, {})", alert.title, alert.id, name_of(alert))
}

pub fn resolved_line(alert: &StoredAlert) -> Line {
    Line::new().text(resolved_text(alert))
}

/// The one nudge when every alert of an open incident has resolved.
pub fn resolve_nudge(incident: &Incident) -> Message {
    Message::new()
        .line(Line::new().text(format!(
            "✅ All alerts resolved: resolve {}? The bot never resolves by itself; confirm the recovery first.",
            incident.reference()
        )))
        .button("Resolve", ButtonAction::ResolveIncident { incident: incident.id }, true)
}

/// The triage post: what fired, the labels that matter, the link, and what to do.
pub fn triage_post(alert: &StoredAlert, proposed: Severity, open: &[Incident]) -> Message {
    let mut message = Message::new().line(
        Line::new()
            .text("🔔 ")
            .bold(format!("Alert #{}", alert.id))
            .text(format!(" ({}): ", name_of(alert)))
            .bold(alert.title.clone()),
    );
    let labels = labels_line(alert);
    if !labels.is_empty() {
        message = message.line(Line::new().text(labels));
    }
    if let Some(url) = &alert.url {
        message = message.line(Line::new().text(url.clone()));
    }
    message = message.line(Line::new().text(format!(
        "Proposed {proposed}. Or type /incident alert declare {id} [sev], /incident alert attach {id} INC-n, \
         /incident alert dismiss {id} [reason].",
        id = alert.id
    )));
    message = message.button(format!("Declare ({proposed})"), ButtonAction::AlertDeclare { alert: alert.id }, true);
    for incident in open.iter().take(ATTACH_CHOICES) {
        message = message.button(
            format!("Attach to {}", incident.reference()),
            ButtonAction::AlertAttach { alert: alert.id, incident: incident.id },
            false,
        );
    }
    message.button("Dismiss", ButtonAction::AlertDismiss { alert: alert.id }, false)
}

/// A triage post once decided: what it was, and what became of it (no more buttons).
pub fn triage_closed(alert: &StoredAlert, what_happened: &str) -> Message {
    Message::new()
        .line(
            Line::new()
                .text("🔕 ")
                .bold(format!("Alert #{}", alert.id))
                .text(format!(" ({}): ", name_of(alert)))
                .bold(alert.title.clone()),
        )
        .line(Line::new().text(what_happened.to_string()))
}

/// One line of `/incident alerts`.
pub fn listing_line(alert: &StoredAlert, tz: chrono_tz::Tz) -> Line {
    let status = match alert.status {
        AlertStatus::Firing => format!("firing since {}", format::time(alert.starts_at, tz)),
        AlertStatus::Resolved => match alert.ends_at {
            Some(at) => format!("resolved at {}", format::time(at, tz)),
            None => "resolved".to_string(),
        },
    };
    Line::new().bold(format!("#{}", alert.id)).text(format!(" {} · {} · {status}", name_of(alert), alert.title))
}
