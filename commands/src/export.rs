//! `incidentbot export`: an incident as JSON (the stable shape in the design) or as a
//! Markdown postmortem a team would publish. A private incident is exported only for
//! its participants and admins ([`load_for`]).

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use std::fmt::Write as _;
use storage::{ActionFilter, ActionItem, Db, Incident, Postmortem, StorageError, TimelineEntry};

use crate::durations::Durations;
use crate::format;
use crate::postmortem::{self, FIELDS};

/// The export JSON. Fields may be added; none may be renamed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ExportDoc {
    pub id: i64,
    pub title: String,
    pub severity: String,
    pub status: String,
    pub channel: String,
    /// `null` until someone takes command of an incident the system declared.
    pub commander: Option<String>,
    pub comms: Option<String>,
    pub scribe: Option<String>,
    pub declared_by: String,
    pub started_at: String,
    pub declared_at: String,
    pub acknowledged_at: Option<String>,
    pub mitigated_at: Option<String>,
    pub resolved_at: Option<String>,
    pub closed_at: Option<String>,
    /// A game day: never counted in the metrics. Added field; absent in older exports.
    pub drill: bool,
    /// The core's durations, in whole seconds (see [`crate::durations`]).
    pub durations: ExportDurations,
    pub timeline: Vec<ExportEntry>,
    pub postmortem: ExportPostmortem,
    pub action_items: Vec<ExportAction>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ExportDurations {
    pub to_detect_seconds: i64,
    pub to_acknowledge_seconds: Option<i64>,
    pub to_mitigate_seconds: Option<i64>,
    pub to_resolve_seconds: Option<i64>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ExportEntry {
    pub at: String,
    pub kind: String,
    pub author: String,
    pub text: String,
    pub key: bool,
    pub edited_at: Option<String>,
    pub deleted: bool,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ExportPostmortem {
    pub summary: Option<String>,
    pub impact: Option<String>,
    pub detection: Option<String>,
    pub trigger: Option<String>,
    pub contributing_factors: Option<String>,
    pub resolution: Option<String>,
    pub went_well: Option<String>,
    pub went_wrong: Option<String>,
    pub got_lucky: Option<String>,
    pub lessons: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ExportAction {
    pub id: i64,
    pub text: String,
    pub owner: String,
    pub due: String,
    pub status: String,
    pub kind: String,
    pub priority: String,
    /// The tracker issue the item is followed in, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issue: Option<ExportIssue>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ExportIssue {
    pub tracker: String,
    pub key: String,
    pub url: String,
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Everything an export needs, read once.
pub struct IncidentRecord {
    pub incident: Incident,
    pub timeline: Vec<TimelineEntry>,
    pub postmortem: Postmortem,
    pub actions: Vec<ActionItem>,
    /// The tracker issue of each item that has one, by item id.
    pub issues: std::collections::HashMap<i64, storage::TrackerLink>,
    /// Catalog names of the services it touched.
    pub services: Vec<String>,
    /// Its contributing-factor tags.
    pub factor_tags: Vec<String>,
}

/// What [`load_for`] found.
pub enum ExportAccess {
    Allowed(Box<IncidentRecord>),
    /// No incident has that id.
    Missing,
    /// It is private, and the viewer is not in it (or named no one).
    Private,
}

/// Loads an incident for `viewer` (a platform user id; `None` for no one in
/// particular): a private incident only for its participants and admins.
pub async fn load_for(
    db: &Db,
    settings: &crate::settings::Settings,
    id: i64,
    viewer: Option<&str>,
) -> Result<ExportAccess, StorageError> {
    let Some(record) = IncidentRecord::load(db, id).await? else {
        return Ok(ExportAccess::Missing);
    };
    if record.incident.private {
        let invited = db.attached(storage::Attachment::Invite, id).await?;
        let allowed = viewer.is_some_and(|user| crate::visibility::may_see(user, &record.incident, &invited, settings));
        if !allowed {
            return Ok(ExportAccess::Private);
        }
    }
    Ok(ExportAccess::Allowed(Box::new(record)))
}

impl IncidentRecord {
    /// Reads an incident with its timeline, postmortem and action items; `None` if it
    /// does not exist.
    pub async fn load(db: &Db, id: i64) -> Result<Option<IncidentRecord>, StorageError> {
        let Some(incident) = db.incident(id).await? else {
            return Ok(None);
        };
        let actions = db.actions(&ActionFilter::Incident(id)).await?;
        let mut issues = std::collections::HashMap::new();
        for item in &actions {
            if let Some(link) = db.tracker_link(item.id).await? {
                issues.insert(item.id, link);
            }
        }
        Ok(Some(IncidentRecord {
            timeline: db.timeline(id, false).await?,
            postmortem: db.postmortem(id).await?.unwrap_or_default(),
            actions,
            issues,
            services: db.attached(storage::Attachment::Service, id).await?,
            factor_tags: db.attached(storage::Attachment::Factor, id).await?,
            incident,
        }))
    }

    pub fn to_doc(&self) -> ExportDoc {
        let i = &self.incident;
        let pm = &self.postmortem;
        let field = |key: &str| postmortem::get(pm, key).map(str::to_string);
        ExportDoc {
            id: i.id,
            title: i.title.clone(),
            severity: i.severity.to_string(),
            status: i.status.to_string(),
            channel: i.channel_name.clone(),
            commander: i.commander.clone(),
            comms: i.comms.clone(),
            scribe: i.scribe.clone(),
            declared_by: i.declared_by.clone(),
            started_at: rfc3339(i.started_at),
            declared_at: rfc3339(i.declared_at),
            acknowledged_at: i.acknowledged_at.map(rfc3339),
            mitigated_at: i.mitigated_at.map(rfc3339),
            resolved_at: i.resolved_at.map(rfc3339),
            closed_at: i.closed_at.map(rfc3339),
            drill: i.drill,
            durations: {
                let d = Durations::of(i);
                ExportDurations {
                    to_detect_seconds: d.to_detect.num_seconds(),
                    to_acknowledge_seconds: d.to_acknowledge.map(|d| d.num_seconds()),
                    to_mitigate_seconds: d.to_mitigate.map(|d| d.num_seconds()),
                    to_resolve_seconds: d.to_resolve.map(|d| d.num_seconds()),
                }
            },
            timeline: self
                .timeline
                .iter()
                .map(|e| ExportEntry {
                    at: rfc3339(e.at),
                    kind: e.kind.to_string(),
                    author: e.author.clone(),
                    text: e.text.clone(),
                    key: e.is_key,
                    edited_at: e.edited_at.map(rfc3339),
                    deleted: e.deleted_at.is_some(),
                })
                .collect(),
            postmortem: ExportPostmortem {
                summary: field("summary"),
                impact: field("impact"),
                detection: field("detection"),
                trigger: field("trigger"),
                contributing_factors: field("contributing_factors"),
                resolution: field("resolution"),
                went_well: field("went_well"),
                went_wrong: field("went_wrong"),
                got_lucky: field("got_lucky"),
                lessons: field("lessons"),
            },
            action_items: self
                .actions
                .iter()
                .map(|a| ExportAction {
                    id: a.id,
                    text: a.text.clone(),
                    owner: a.owner.clone(),
                    due: a.due.to_string(),
                    status: a.status.to_string(),
                    kind: a.kind.to_string(),
                    priority: a.priority.to_string(),
                    issue: self.issues.get(&a.id).map(|link| ExportIssue {
                        tracker: link.tracker.clone(),
                        key: link.issue_key.clone(),
                        url: link.url.clone(),
                    }),
                })
                .collect(),
        }
    }

    pub fn to_json(&self) -> String {
        // Serializing plain strings, numbers and options cannot fail.
        serde_json::to_string_pretty(&self.to_doc()).unwrap_or_default()
    }

    /// A publishable postmortem document.
    pub fn to_markdown(&self, tz: Tz) -> String {
        let i = &self.incident;
        let mut md = String::new();
        let mark = match (i.drill, i.private) {
            (true, true) => "DRILL, private · ",
            (true, false) => "DRILL · ",
            (false, true) => "Private · ",
            (false, false) => "",
        };
        let _ = writeln!(md, "# {mark}{}: {}\n", i.reference(), escape_md(&i.title));
        let _ = writeln!(
            md,
            "**Severity:** {} · **Status:** {} · **Commander:** {} · **Channel:** #{}\n",
            i.severity,
            i.status,
            i.commander.as_deref().map_or("no commander yet".to_string(), |c| format!("@{c}")),
            i.channel_name
        );
        if let Some(description) = &i.description {
            let _ = writeln!(md, "{}\n", escape_md(description));
        }
        if !self.services.is_empty() {
            let _ = writeln!(md, "**Services:** {}\n", self.services.join(", "));
        }

        md.push_str("## Timestamps\n\n| | When | Since start |\n|---|---|---|\n");
        let rows = [
            ("Started", Some(i.started_at)),
            ("Declared", Some(i.declared_at)),
            ("Acknowledged", i.acknowledged_at),
            ("Mitigated", i.mitigated_at),
            ("Resolved", i.resolved_at),
            ("Closed", i.closed_at),
        ];
        for (n, (label, at)) in rows.into_iter().enumerate() {
            let (when, since) = match at {
                // The first row is the start itself.
                Some(at) if n == 0 => (format::time(at, tz), "—".to_string()),
                Some(at) => (format::time(at, tz), format::duration(at - i.started_at)),
                None => ("—".to_string(), "—".to_string()),
            };
            let _ = writeln!(md, "| {label} | {when} | {since} |");
        }
        let durations = Durations::of(i);
        let show = |d: Option<chrono::Duration>| d.map_or("—".to_string(), format::duration);
        let _ = writeln!(
            md,
            "\n**Time to detect:** {} · **Time to acknowledge:** {} · **Time to mitigate:** {} · **Time to resolve:** {}\n",
            format::duration(durations.to_detect),
            show(durations.to_acknowledge),
            show(durations.to_mitigate),
            show(durations.to_resolve)
        );

        md.push_str("## Postmortem\n\n");
        for field in FIELDS {
            let answer =
                postmortem::get(&self.postmortem, field.key).map_or("_Not written yet._".to_string(), escape_md);
            let _ = writeln!(md, "### {}\n\n{answer}\n", field.label);
        }

        if !self.factor_tags.is_empty() {
            let _ = writeln!(md, "**Contributing-factor tags:** {}\n", self.factor_tags.join(", "));
        }

        md.push_str("## Key timeline\n\n");
        let key: Vec<&TimelineEntry> = self.timeline.iter().filter(|e| e.is_key && e.deleted_at.is_none()).collect();
        if key.is_empty() {
            md.push_str("_No key events._\n");
        }
        for e in key {
            let _ = writeln!(
                md,
                "- **{}** @{} ({}): {}",
                format::time(e.at, tz),
                e.author,
                e.kind,
                escape_md(&format::one_line(&e.text))
            );
        }

        let _ = writeln!(md, "\n<details>\n<summary>Full timeline ({} entries)</summary>\n", self.timeline.len());
        for e in &self.timeline {
            let text =
                if e.deleted_at.is_some() { "_(deleted)_".to_string() } else { escape_md(&format::one_line(&e.text)) };
            let edited = if e.edited_at.is_some() { " _(edited)_" } else { "" };
            let _ = writeln!(md, "- {} @{} ({}): {text}{edited}", format::time(e.at, tz), e.author, e.kind);
        }
        md.push_str("\n</details>\n\n## Action items\n\n");
        if self.actions.is_empty() {
            md.push_str("_None._\n");
        } else {
            md.push_str("| # | Action | Owner | Due | Kind | Priority | Status |\n|---|---|---|---|---|---|---|\n");
            for a in &self.actions {
                let _ = writeln!(
                    md,
                    "| {} | {} | @{} | {} | {} | {} | {} |",
                    a.id,
                    escape_md(&a.text).replace('|', "\\|"),
                    a.owner,
                    a.due,
                    a.kind,
                    a.priority,
                    match self.issues.get(&a.id) {
                        Some(link) => format!("{} · [{}]({})", a.status, escape_md(&link.issue_key), link.url),
                        None => a.status.to_string(),
                    }
                );
            }
        }
        md
    }
}

/// Keeps user text from becoming HTML in the published document.
fn escape_md(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
