//! The weekly lessons-learned digest, built from the structured fields alone: the
//! week's incidents, counts and MTTA/MTTR per severity against the week before, the
//! lessons and lucky breaks quoted per incident, contributing factors that recur, and
//! the state of action items.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use storage::{ActionFilter, ActionStatus, Db, Incident, StorageError};

use crate::action_cmds::days_word;
use crate::format;
use crate::message::{Line, Message};
use crate::stats::{self, SeverityStats};

/// How far back contributing factors are compared for recurrence.
const RECURRENCE_WINDOW_DAYS: i64 = 90;
/// At most this many items are listed per action-item section.
const MAX_LISTED: usize = 15;

/// A contributing factor, normalised so the same words in other case or punctuation match.
fn normalise_factor(factor: &str) -> String {
    format::one_line(factor).trim_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace()).to_lowercase()
}

/// Factors named by two or more incidents, most frequent first, with their incidents.
pub fn recurring_factors(answers: &[(i64, String)]) -> Vec<(String, Vec<i64>)> {
    let mut incidents_by_factor: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (incident, answer) in answers {
        for factor in answer.split([';', '\n']).map(normalise_factor).filter(|f| f.len() >= 3) {
            let incidents = incidents_by_factor.entry(factor).or_default();
            if !incidents.contains(incident) {
                incidents.push(*incident);
            }
        }
    }
    let mut recurring: Vec<(String, Vec<i64>)> =
        incidents_by_factor.into_iter().filter(|(_, incidents)| incidents.len() >= 2).collect();
    recurring.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
    recurring
}

/// `1 incident`, `3 incidents`.
pub fn count_word(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn trend(now: usize, before: usize) -> String {
    match now.cmp(&before) {
        std::cmp::Ordering::Greater => format!("▲{} vs the week before", now - before),
        std::cmp::Ordering::Less => format!("▼{} vs the week before", before - now),
        std::cmp::Ordering::Equal => "same as the week before".to_string(),
    }
}

fn duration_trend(now: Option<Duration>, before: Option<Duration>) -> String {
    let show = |d: Option<Duration>| d.map_or("—".to_string(), format::duration);
    match (now, before) {
        (Some(n), Some(b)) if n < b => format!("{} (was {}, faster)", show(now), show(before)),
        (Some(n), Some(b)) if n > b => format!("{} (was {}, slower)", show(now), show(before)),
        _ => show(now),
    }
}

fn severity_row(row: &SeverityStats, before: &SeverityStats) -> String {
    format!(
        "{}: {} ({}) · MTTA {} · MTTR {}",
        row.severity,
        row.count,
        trend(row.count, before.count),
        duration_trend(row.mtta, before.mtta),
        duration_trend(row.mttr, before.mttr)
    )
}

fn incident_line(incident: &Incident, now: DateTime<Utc>) -> Line {
    let duration = crate::durations::Durations::of(incident).to_resolve.unwrap_or(now - incident.started_at);
    let state = if incident.status.is_open() {
        format!("{}, open for {}", incident.status, format::duration(duration))
    } else {
        format!("{}, {} to resolve", incident.status, format::duration(duration))
    };
    let mut line = Line::new()
        .text("• ")
        .bold(incident.reference())
        .text(format!(" [{}] {} ({state})", incident.severity, incident.title));
    if let Some(channel) = &incident.channel_id {
        line = line.text(" ").channel(channel.clone(), incident.channel_name.clone());
    }
    line
}

/// Builds the digest for `[now - window, now)`.
pub async fn build(db: &Db, tz: Tz, now: DateTime<Utc>, window: Duration) -> Result<Message, StorageError> {
    let since = now - window;
    let this_week = db.incidents_declared_between(since, now).await?;
    let week_before = db.incidents_declared_between(since - window, since).await?;
    let postmortems = db.postmortems_touching(since, now).await?;
    let closed_actions = db.actions_closed_between(since, now).await?;
    let open_actions = db.actions(&ActionFilter::OpenAt(now)).await?;
    let today: NaiveDate = now.with_timezone(&tz).date_naive();

    let heading = format!(
        "📰 Weekly lessons learned: {} to {}",
        since.with_timezone(&tz).format("%a %d %b"),
        now.with_timezone(&tz).format("%a %d %b %Y")
    );
    let mut message = Message::new().line(Line::new().bold(heading));

    let quiet = this_week.is_empty() && postmortems.is_empty() && closed_actions.is_empty();
    if quiet {
        message = message.line(
            Line::new().text(format!("A quiet week: no incidents were declared ({}). 🌤️", trend(0, week_before.len()))),
        );
    } else {
        message = message.line(Line::new().text(format!(
            "{} declared, {}.",
            count_word(this_week.len(), "incident", "incidents"),
            trend(this_week.len(), week_before.len())
        )));
        for incident in &this_week {
            message = message.line(incident_line(incident, now));
        }
        if !this_week.is_empty() {
            message = message.line(Line::new().bold("By severity"));
            let before = stats::by_severity(&week_before);
            for (row, before_row) in stats::by_severity(&this_week).iter().zip(before.iter()) {
                if row.count > 0 || before_row.count > 0 {
                    message = message.line(Line::new().text(severity_row(row, before_row)));
                }
            }
        }
    }

    for line in crate::alerts::insights::detection_lines(db, &this_week, since, now).await? {
        message = message.line(line);
    }

    let titles: HashMap<i64, String> = this_week.iter().map(|i| (i.id, i.title.clone())).collect();
    let mut lessons = Vec::new();
    for (incident_id, pm) in &postmortems {
        let title = match titles.get(incident_id) {
            Some(title) => title.clone(),
            None => db.incident(*incident_id).await?.map(|i| i.title).unwrap_or_default(),
        };
        if pm.lessons.is_some() || pm.got_lucky.is_some() {
            lessons.push((*incident_id, title, pm.lessons.clone(), pm.got_lucky.clone()));
        }
    }
    if !lessons.is_empty() {
        message = message.line(Line::new().bold("Lessons learned"));
        for (id, title, lesson, lucky) in lessons {
            message = message.line(Line::new().text("• ").bold(format!("INC-{id}")).text(format!(" {title}")));
            if let Some(lesson) = lesson {
                message = message.line(Line::new().text(format!("  Lesson: “{}”", format::one_line(&lesson))));
            }
            if let Some(lucky) = lucky {
                message =
                    message.line(Line::new().text(format!("  Where we got lucky: “{}”", format::one_line(&lucky))));
            }
        }
    }

    let factors = db.contributing_factors_since(now - Duration::days(RECURRENCE_WINDOW_DAYS)).await?;
    let recurring = recurring_factors(&factors);
    if !recurring.is_empty() {
        message = message
            .line(Line::new().bold(format!("Recurring contributing factors (last {RECURRENCE_WINDOW_DAYS} days)")));
        for (factor, incidents) in recurring.iter().take(5) {
            let refs: Vec<String> = incidents.iter().map(|i| format!("INC-{i}")).collect();
            message = message.line(Line::new().text(format!(
                "• {factor}: {} incidents ({})",
                incidents.len(),
                refs.join(", ")
            )));
        }
    }

    let overdue: Vec<_> = open_actions.iter().filter(|a| a.due < today).collect();
    let done_count = closed_actions.iter().filter(|a| a.status == ActionStatus::Done).count();
    message = message.line(Line::new().bold(format!(
        "Action items: {done_count} done this week, {} still open, {} overdue",
        open_actions.len(),
        overdue.len()
    )));
    for item in closed_actions.iter().take(MAX_LISTED) {
        message = message.line(
            Line::new().text(format!("✔ #{} {} ({}) · ", item.id, item.text, item.status)).user(item.owner.clone()),
        );
    }
    for item in overdue.iter().take(MAX_LISTED) {
        message = message.line(
            Line::new().text(format!("⏰ #{} {} · ", item.id, item.text)).user(item.owner.clone()).text(format!(
                " · {} overdue · INC-{}",
                days_word((today - item.due).num_days()),
                item.incident_id
            )),
        );
    }
    if overdue.len() > MAX_LISTED {
        message = message.line(Line::new().text(format!("… and {} more overdue.", overdue.len() - MAX_LISTED)));
    }
    if quiet && overdue.is_empty() {
        message = message.line(Line::new().text("Nothing is overdue either. Enjoy the calm."));
    }
    Ok(message)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn factors_recur_across_incidents_not_within_one() {
        let answers = vec![
            (1, "No canary deploys; missing alert on replica lag".to_string()),
            (2, "Missing alert on replica lag.\nManual failover".to_string()),
            (3, "no canary deploys; no canary deploys".to_string()),
            (4, "Manual failover".to_string()),
        ];
        let recurring = recurring_factors(&answers);
        assert_eq!(
            recurring,
            vec![
                ("manual failover".to_string(), vec![2, 4]),
                ("missing alert on replica lag".to_string(), vec![1, 2]),
                ("no canary deploys".to_string(), vec![1, 3]),
            ]
        );
        assert!(recurring_factors(&[(1, "a; b".into())]).is_empty());
    }
}
