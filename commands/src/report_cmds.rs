//! Read-only commands: timeline, list and stats.

use chrono::Duration;

use crate::core::{Core, Invocation};
use crate::error::{CoreError, Problem};
use crate::format;
use crate::grammar::usage;
use crate::message::{Line, Message};
use crate::outcome::Outcome;
use crate::stats;
use crate::visibility::Viewer;

/// What a key event says. Bot events already name themselves ("Status identified →
/// monitoring"); a pinned or starred message is marked as one.
pub fn timeline_text(entry: &storage::TimelineEntry) -> String {
    let text = format::one_line(&entry.text);
    match entry.kind {
        storage::EntryKind::Message => format!("💬 {text}"),
        _ => text,
    }
}

impl Core {
    pub(crate) async fn show_timeline(&self, inv: &Invocation, target: Option<i64>) -> Result<Outcome, Problem> {
        let incident = self.target_incident(inv, target, usage::TIMELINE).await?;
        let entries = self.db.timeline(incident.id, true).await?;
        let tz = self.settings.timezone;
        let mut message = Message::new().line(Line::new().text("🕒 Key events of ").bold(format!(
            "{}: {}",
            incident.reference(),
            incident.title
        )));
        for entry in entries.iter().filter(|e| e.deleted_at.is_none()) {
            message = message.line(
                Line::new()
                    .text(format!("{} ", format::clock_time(entry.at, tz)))
                    .user(entry.author.clone())
                    .text(format!(" · {}", timeline_text(entry))),
            );
        }
        Ok(Outcome::reply(message))
    }

    /// Incidents a picker may offer for what the user has typed so far: open and
    /// resolved ones (a resolved one still wants its postmortem), newest first, matching
    /// `typed` in their reference or title, at most `max`.
    /// Private incidents are offered only to the people in them.
    pub async fn incident_choices(
        &self,
        user: &str,
        typed: &str,
        max: usize,
    ) -> Result<Vec<storage::Incident>, CoreError> {
        let typed = typed.trim().to_lowercase();
        let mut incidents = self.db.open_incidents().await?;
        incidents.extend(self.db.incidents_with_status(storage::Status::Resolved).await?);
        let mut incidents = self.visible(&Viewer::Person(user), incidents).await?;
        incidents.sort_by_key(|incident| std::cmp::Reverse(incident.id));
        incidents.retain(|incident| {
            typed.is_empty()
                || incident.reference().to_lowercase().contains(&typed)
                || incident.title.to_lowercase().contains(&typed)
        });
        incidents.truncate(max);
        Ok(incidents)
    }

    /// Open incidents the user may see; drills are marked. Private ones the user is not
    /// in are left out without a trace.
    pub(crate) async fn list_open(&self, inv: &Invocation) -> Result<Outcome, Problem> {
        let incidents = self.visible(&Viewer::Person(&inv.user), self.db.open_incidents().await?).await?;
        let now = self.now();
        let mut message = Message::new().line(Line::new().bold("Open incidents"));
        if incidents.is_empty() {
            message = message.line(Line::new().text("None. 🎉"));
        }
        for incident in &incidents {
            let mut line = Line::new();
            if incident.drill {
                line = line.bold(format!("{} ", crate::drill::MARK));
            }
            if incident.private {
                line = line.text("🔒 ");
            }
            let line = line
                .bold(incident.reference())
                .text(format!(" [{}, {}] {} · commander ", incident.severity, incident.status, incident.title));
            let mut line = crate::incident_cmds::commander_span(line, incident)
                .text(format!(" · open {}", format::duration(now - incident.started_at)));
            if let Some(channel) = &incident.channel_id {
                line = line.text(" · ").channel(channel.clone(), incident.channel_name.clone());
            }
            message = message.line(line);
        }
        Ok(Outcome::reply(message))
    }

    pub(crate) async fn stats(&self, days: u32) -> Result<Outcome, Problem> {
        let now = self.now();
        // The window is (now − days, now]: an incident declared this very moment counts.
        // Times are stored in milliseconds, so the exclusive end is one past now.
        let until = now + Duration::milliseconds(1);
        let from = until - Duration::days(i64::from(days));
        let declared = self.db.incidents_declared_between(from, until).await?;
        // Drills never count; private incidents do (only as figures).
        let incidents = crate::drill::real(&declared);
        let drills = declared.len() - incidents.len();
        let mut message =
            Message::new().line(Line::new().bold(format!("Incidents in the last {days} days: {}", incidents.len())));
        if drills > 0 {
            message =
                message.line(Line::new().text(format!(
                    "Not counted: {} (game days).",
                    crate::digest::count_word(drills, "drill", "drills")
                )));
        }
        let show = |d: Option<Duration>| d.map_or("—".to_string(), format::duration);
        if incidents.is_empty() {
            message = message.line(Line::new().text("None declared. 🎉"));
        }
        // Only severities that had incidents get a row; all-zero rows say nothing.
        for row in stats::by_severity(&incidents).into_iter().filter(|row| row.count > 0) {
            message = message.line(Line::new().text(format!(
                "{}: {} declared, {} resolved · MTTA {} · MTTR {}",
                row.severity,
                row.count,
                row.resolved,
                show(row.mtta),
                show(row.mttr)
            )));
        }
        for line in crate::alerts::insights::detection_lines(
            &self.db,
            &incidents,
            until - Duration::days(i64::from(days)),
            until,
        )
        .await?
        {
            message = message.line(line);
        }
        let services = self.db.attached_since(storage::Attachment::Service, from).await?;
        let open_actions = self.db.actions(&storage::ActionFilter::AllOpen).await?;
        let figures = crate::recurrence::by_service(&services, &incidents, &open_actions);
        if !figures.is_empty() {
            message = message.line(Line::new().bold("By service"));
            for figure in figures {
                message = message.line(Line::new().text(format!(
                    "{}: {} · MTTR {} · {} open",
                    figure.service,
                    crate::digest::count_word(figure.incidents, "incident", "incidents"),
                    show(figure.mttr),
                    crate::digest::count_word(figure.open_actions, "action item", "action items"),
                )));
            }
        }
        Ok(Outcome::reply(message))
    }
}
