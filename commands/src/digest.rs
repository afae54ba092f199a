//! The weekly lessons-learned digest, built from the structured fields alone: the
//! week's incidents, counts and MTTA/MTTR per severity against the week before, the
//! lessons and lucky breaks quoted per incident, the game days of the week, the
//! contributing-factor tags and services that recur over 90 days (and which recurring
//! factors have no open prevention work), and the state of action items.
//!
//! The digest is posted where everyone reads it, so it shows only what everyone may
//! see: a private incident is counted ("1 private incident") but never named, and its
//! lessons and action items stay out. Drills never count in the figures; they are
//! listed under "Game days".

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use storage::{ActionFilter, ActionItem, ActionStatus, Attachment, Db, Incident, StorageError};

use crate::action_cmds::days_word;
use crate::format;
use crate::message::{Line, Message};
use crate::recurrence::{self, WINDOW_DAYS as RECURRENCE_WINDOW_DAYS};
use crate::stats::{self, SeverityStats};
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

fn incident_line(incident: &Incident, now: DateTime<Utc>, public_url: Option<&str>) -> Line {
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
    if let Some(base) = public_url {
        line = line.text(format!(" {}/incidents/{}", base.trim_end_matches('/'), incident.id));
    }
    line
}

/// Which incidents are private: read once per digest, since the action items it lists
/// may belong to thousands of incidents and private ones are few.
struct Privacy {
    private: HashSet<i64>,
}

impl Privacy {
    async fn load(db: &Db) -> Result<Privacy, StorageError> {
        Ok(Privacy { private: db.private_incident_ids().await?.into_iter().collect() })
    }

    fn is_private(&self, incident_id: i64) -> bool {
        self.private.contains(&incident_id)
    }

    /// Action items of incidents everyone may see, and how many were left out.
    fn public_items<'i>(&self, items: &'i [ActionItem]) -> (Vec<&'i ActionItem>, usize) {
        let (hidden, shown): (Vec<&ActionItem>, Vec<&ActionItem>) =
            items.iter().partition(|item| self.is_private(item.incident_id));
        (shown, hidden.len())
    }
}

/// `INC-1, INC-4 and 1 private incident`: references everyone may see, private ones counted.
fn references(ids: &[i64], private: &HashSet<i64>) -> String {
    let mut refs: Vec<String> = ids.iter().filter(|id| !private.contains(id)).map(|id| format!("INC-{id}")).collect();
    let hidden = ids.iter().filter(|id| private.contains(id)).count();
    if hidden > 0 {
        refs.push(count_word(hidden, "private incident", "private incidents"));
    }
    refs.join(", ")
}

/// Builds the digest for `[now - window, now)`.
pub async fn build(db: &Db, tz: Tz, now: DateTime<Utc>, window: Duration) -> Result<Message, StorageError> {
    build_linked(db, tz, now, window, None).await
}

/// Builds the digest, each incident linking to its web page under `public_url` when given.
pub async fn build_linked(
    db: &Db,
    tz: Tz,
    now: DateTime<Utc>,
    window: Duration,
    public_url: Option<&str>,
) -> Result<Message, StorageError> {
    let since = now - window;
    let declared = db.incidents_declared_between(since, now).await?;
    let drills: Vec<Incident> = declared.iter().filter(|i| i.drill).cloned().collect();
    let this_week = crate::drill::real(&declared);
    let week_before = crate::drill::real(&db.incidents_declared_between(since - window, since).await?);
    let postmortems = db.postmortems_touching(since, now).await?;
    let closed_actions = db.actions_closed_between(since, now).await?;
    let open_actions = db.actions(&ActionFilter::OpenAt(now)).await?;
    let today: NaiveDate = now.with_timezone(&tz).date_naive();
    let privacy = Privacy::load(db).await?;

    let heading = format!(
        "📰 Weekly lessons learned: {} to {}",
        since.with_timezone(&tz).format("%a %d %b"),
        now.with_timezone(&tz).format("%a %d %b %Y")
    );
    let mut message = Message::new().line(Line::new().bold(heading));

    let quiet = declared.is_empty() && postmortems.is_empty() && closed_actions.is_empty();
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
        for incident in this_week.iter().filter(|i| !i.private) {
            message = message.line(incident_line(incident, now, public_url));
        }
        let private = this_week.iter().filter(|i| i.private).count();
        if private > 0 {
            message = message.line(Line::new().text(format!(
                "• {} (not listed: only the people in it can see it)",
                count_word(private, "private incident", "private incidents")
            )));
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

    let titles: HashMap<i64, &Incident> = declared.iter().map(|i| (i.id, i)).collect();
    let mut lessons = Vec::new();
    let mut drill_lessons: HashMap<i64, (Option<String>, Option<String>)> = HashMap::new();
    for (incident_id, pm) in &postmortems {
        let incident = match titles.get(incident_id) {
            Some(incident) => Some((*incident).clone()),
            None => db.incident(*incident_id).await?,
        };
        let Some(incident) = incident else { continue };
        if incident.private || (pm.lessons.is_none() && pm.got_lucky.is_none()) {
            continue;
        }
        if incident.drill {
            drill_lessons.insert(incident.id, (pm.lessons.clone(), pm.got_lucky.clone()));
        } else {
            lessons.push((*incident_id, incident.title.clone(), pm.lessons.clone(), pm.got_lucky.clone()));
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

    if !drills.is_empty() {
        message = message.line(Line::new().bold(format!(
            "Game days: {} (not counted in the figures above)",
            count_word(drills.len(), "drill", "drills")
        )));
        for drill in drills.iter().filter(|d| !d.private) {
            message = message.line(incident_line(drill, now, public_url));
            if let Some((lesson, lucky)) = drill_lessons.get(&drill.id) {
                if let Some(lesson) = lesson {
                    message = message.line(Line::new().text(format!("  Lesson: “{}”", format::one_line(lesson))));
                }
                if let Some(lucky) = lucky {
                    message =
                        message.line(Line::new().text(format!("  Where we got lucky: “{}”", format::one_line(lucky))));
                }
            }
        }
        let private = drills.iter().filter(|d| d.private).count();
        if private > 0 {
            message =
                message.line(Line::new().text(format!("• {}", count_word(private, "private drill", "private drills"))));
        }
    }

    message = recurrence_section(db, message, now, &open_actions).await?;

    let overdue: Vec<_> = open_actions.iter().filter(|a| a.due < today).cloned().collect();
    let done_count = closed_actions.iter().filter(|a| a.status == ActionStatus::Done).count();
    message = message.line(Line::new().bold(format!(
        "Action items: {done_count} done this week, {} still open, {} overdue",
        open_actions.len(),
        overdue.len()
    )));
    let (closed_shown, closed_hidden) = privacy.public_items(&closed_actions);
    for item in closed_shown.iter().take(MAX_LISTED) {
        message = message.line(
            Line::new().text(format!("✔ #{} {} ({}) · ", item.id, item.text, item.status)).user(item.owner.clone()),
        );
    }
    let (overdue_shown, overdue_hidden) = privacy.public_items(&overdue);
    for item in overdue_shown.iter().take(MAX_LISTED) {
        message = message.line(
            Line::new().text(format!("⏰ #{} {} · ", item.id, item.text)).user(item.owner.clone()).text(format!(
                " · {} overdue · INC-{}",
                days_word((today - item.due).num_days()),
                item.incident_id
            )),
        );
    }
    if overdue_shown.len() > MAX_LISTED {
        message = message.line(Line::new().text(format!("… and {} more overdue.", overdue_shown.len() - MAX_LISTED)));
    }
    if closed_hidden + overdue_hidden > 0 {
        message = message.line(Line::new().text(format!(
            "({} of private incidents not listed.)",
            count_word(closed_hidden + overdue_hidden, "item", "items")
        )));
    }
    if quiet && overdue.is_empty() {
        message = message.line(Line::new().text("Nothing is overdue either. Enjoy the calm."));
    }
    Ok(message)
}

/// Recurring factor tags (with whether prevention work is open for them), the free-text
/// factors of untagged postmortems as a fallback, and the services with the most
/// incidents, all over [`RECURRENCE_WINDOW_DAYS`] and without drills.
async fn recurrence_section(
    db: &Db,
    mut message: Message,
    now: DateTime<Utc>,
    open_actions: &[ActionItem],
) -> Result<Message, StorageError> {
    let since = now - Duration::days(RECURRENCE_WINDOW_DAYS);
    let window = crate::drill::real(&db.incidents_declared_between(since, now + Duration::milliseconds(1)).await?);
    let counted: HashSet<i64> = window.iter().map(|i| i.id).collect();
    let private: HashSet<i64> = window.iter().filter(|i| i.private).map(|i| i.id).collect();
    let tags = db.attached_since(Attachment::Factor, since).await?;
    let tagged: HashSet<i64> = tags.iter().map(|(id, _)| *id).collect();
    let recurring_tags = recurrence::recurring(&tags, &counted);
    // Free text counts only for postmortems with no tags: a tagged one speaks through them.
    let untagged: Vec<(i64, String)> = db
        .contributing_factors_since(since)
        .await?
        .into_iter()
        .filter(|(id, _)| counted.contains(id) && !tagged.contains(id))
        .collect();
    let recurring_text = recurring_factors(&untagged);
    if !recurring_tags.is_empty() || !recurring_text.is_empty() {
        message = message
            .line(Line::new().bold(format!("Recurring contributing factors (last {RECURRENCE_WINDOW_DAYS} days)")));
        for recurring in recurring_tags.iter().take(5) {
            let prevention =
                open_actions.iter().filter(|a| a.addresses.as_deref() == Some(recurring.name.as_str())).count();
            let work = match prevention {
                0 => "⚠️ no open prevention work".to_string(),
                n => format!("{} open", count_word(n, "action item", "action items")),
            };
            message = message.line(Line::new().text(format!(
                "• {}: {} incidents ({}) · {work}",
                recurring.name,
                recurring.incidents.len(),
                references(&recurring.incidents, &private)
            )));
        }
        for (factor, incidents) in recurring_text.iter().take(5) {
            message = message.line(Line::new().text(format!(
                "• {factor}: {} incidents ({}) · untagged",
                incidents.len(),
                references(incidents, &private)
            )));
        }
    }
    let services = db.attached_since(Attachment::Service, since).await?;
    let figures = recurrence::by_service(&services, &window, open_actions);
    if !figures.is_empty() {
        message = message
            .line(Line::new().bold(format!("Services with the most incidents in {RECURRENCE_WINDOW_DAYS} days")));
        let recurring_services: HashMap<String, Vec<i64>> =
            recurrence::recurring(&services, &counted).into_iter().map(|r| (r.name, r.incidents)).collect();
        for figure in figures.iter().take(5) {
            let mut text = format!(
                ": {} · MTTR {} · {} open",
                count_word(figure.incidents, "incident", "incidents"),
                figure.mttr.map_or("—".to_string(), format::duration),
                count_word(figure.open_actions, "action item", "action items"),
            );
            if let Some(incidents) = recurring_services.get(&figure.service) {
                text.push_str(&format!(" · recurring ({})", references(incidents, &private)));
            }
            message = message.line(Line::new().text(format!("• {}{text}", figure.service)));
        }
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
