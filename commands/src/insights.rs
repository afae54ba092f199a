//! The numbers behind `/insights`, over a window of whole weeks in the configured time
//! zone: incidents per week by severity, time to acknowledge and to resolve (median and
//! p90, per week and per severity), detection by monitoring or by people, recurring
//! contributing factors, and action-item follow-through. Durations come from
//! [`crate::durations`].
//!
//! Services and tags come with the Learning work; until then the recurring factors are
//! the digest's normalised factor text. Detection counts an incident the system
//! declared (an alert) as detected by monitoring.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, Duration, NaiveDate};
use storage::{ActionStatus, Severity};

use crate::actor::Actor;
use crate::core::Core;
use crate::durations::Durations;
use crate::error::CoreError;

/// The window when none is chosen.
pub const DEFAULT_WEEKS: u32 = 26;
/// The longest window offered.
pub const MAX_WEEKS: u32 = 156;
/// The most recurring factors and overdue owners shown.
const MAX_LISTED: usize = 10;

/// Median and 90th percentile of some durations; `None` when there were none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Spread {
    pub count: usize,
    pub median: Option<Duration>,
    pub p90: Option<Duration>,
}

impl Spread {
    pub fn of(mut durations: Vec<Duration>) -> Spread {
        durations.sort();
        Spread { count: durations.len(), median: percentile(&durations, 50), p90: percentile(&durations, 90) }
    }
}

/// The nearest-rank percentile of sorted values.
fn percentile(sorted: &[Duration], pct: usize) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (pct * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// One week of the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Week {
    /// The Monday it starts on, local.
    pub start: NaiveDate,
    /// Incidents declared that week, by severity (`sev1` first).
    pub by_severity: [usize; 4],
    pub to_acknowledge: Spread,
    pub to_resolve: Spread,
}

impl Week {
    pub fn total(&self) -> usize {
        self.by_severity.iter().sum()
    }
}

/// Response times over the whole window for one severity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeverityTimes {
    pub severity: Severity,
    pub to_acknowledge: Spread,
    pub to_resolve: Spread,
}

/// Who noticed first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Detection {
    pub by_monitoring: usize,
    pub by_people: usize,
    pub monitoring_to_detect: Spread,
    pub people_to_detect: Spread,
}

/// Action items created in the window.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActionFollowThrough {
    pub total: usize,
    pub done: usize,
    pub wontfix: usize,
    pub open: usize,
    /// Open items by age: under a week, 1–4 weeks, 1–3 months, older.
    pub open_by_age: [(&'static str, usize); 4],
    /// Owners with overdue items, most first.
    pub overdue_by_owner: Vec<(String, usize)>,
}

impl ActionFollowThrough {
    /// Done out of all items, as a whole percentage; `None` with no items.
    pub fn completion_percent(&self) -> Option<usize> {
        (self.total > 0).then(|| self.done * 100 / self.total)
    }
}

/// Everything on `/insights`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Insights {
    pub weeks: Vec<Week>,
    pub by_severity: Vec<SeverityTimes>,
    pub detection: Detection,
    /// Factors named by two or more incidents, with their incident count.
    pub recurring_factors: Vec<(String, usize)>,
    pub actions: ActionFollowThrough,
}

impl Core {
    /// The insights over the last `weeks` weeks, this one included.
    pub async fn insights(&self, weeks: u32) -> Result<Insights, CoreError> {
        let weeks = weeks.clamp(1, MAX_WEEKS);
        let tz = self.settings.timezone;
        let today = self.today();
        let this_monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()));
        let first_monday = this_monday - Days::new(u64::from(weeks - 1) * 7);
        let from = crate::pages::local_day_start(first_monday, tz).unwrap_or_else(|| self.now() - Duration::weeks(26));
        let incidents = self.db.incidents_declared_between(from, self.now() + Duration::seconds(1)).await?;

        let mut buckets: Vec<Bucket> =
            (0..weeks).map(|w| (first_monday + Days::new(u64::from(w) * 7), [0; 4], Vec::new(), Vec::new())).collect();
        let mut severity_acks: BTreeMap<Severity, Vec<Duration>> = BTreeMap::new();
        let mut severity_resolves: BTreeMap<Severity, Vec<Duration>> = BTreeMap::new();
        let mut detection = Detection::default();
        let (mut monitoring, mut people) = (Vec::new(), Vec::new());
        for incident in &incidents {
            let local = incident.declared_at.with_timezone(&tz).date_naive();
            let index = usize::try_from((local - first_monday).num_days() / 7).unwrap_or(0).min(buckets.len() - 1);
            let durations = Durations::of(incident);
            let bucket = &mut buckets[index];
            bucket.1[severity_index(incident.severity)] += 1;
            if let Some(ack) = durations.to_acknowledge {
                bucket.2.push(ack);
                severity_acks.entry(incident.severity).or_default().push(ack);
            }
            if let Some(resolve) = durations.to_resolve {
                bucket.3.push(resolve);
                severity_resolves.entry(incident.severity).or_default().push(resolve);
            }
            if Actor::from_stored(&incident.declared_by).is_system() {
                detection.by_monitoring += 1;
                monitoring.push(durations.to_detect);
            } else {
                detection.by_people += 1;
                people.push(durations.to_detect);
            }
        }
        detection.monitoring_to_detect = Spread::of(monitoring);
        detection.people_to_detect = Spread::of(people);
        let weeks = buckets
            .into_iter()
            .map(|(start, by_severity, acks, resolves)| Week {
                start,
                by_severity,
                to_acknowledge: Spread::of(acks),
                to_resolve: Spread::of(resolves),
            })
            .collect();
        let by_severity = Severity::ALL
            .iter()
            .map(|&severity| SeverityTimes {
                severity,
                to_acknowledge: Spread::of(severity_acks.remove(&severity).unwrap_or_default()),
                to_resolve: Spread::of(severity_resolves.remove(&severity).unwrap_or_default()),
            })
            .collect();

        let factors = self.db.contributing_factors_since(from).await?;
        let recurring_factors = crate::digest::recurring_factors(&factors)
            .into_iter()
            .take(MAX_LISTED)
            .map(|(factor, incidents)| (factor, incidents.len()))
            .collect();

        let items = self.db.actions_created_since(from).await?;
        let mut actions = ActionFollowThrough {
            total: items.len(),
            open_by_age: [("under a week", 0), ("1–4 weeks", 0), ("1–3 months", 0), ("older", 0)],
            ..ActionFollowThrough::default()
        };
        let mut overdue: BTreeMap<String, usize> = BTreeMap::new();
        for item in &items {
            match item.status {
                ActionStatus::Done => actions.done += 1,
                ActionStatus::Wontfix => actions.wontfix += 1,
                ActionStatus::Open => {
                    actions.open += 1;
                    let age = (today - item.created_at.with_timezone(&tz).date_naive()).num_days();
                    let bucket = match age {
                        ..7 => 0,
                        7..28 => 1,
                        28..91 => 2,
                        _ => 3,
                    };
                    actions.open_by_age[bucket].1 += 1;
                    if item.due < today {
                        *overdue.entry(item.owner.clone()).or_default() += 1;
                    }
                }
            }
        }
        let mut overdue: Vec<(String, usize)> = overdue.into_iter().collect();
        overdue.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        overdue.truncate(MAX_LISTED);
        actions.overdue_by_owner = overdue;

        Ok(Insights { weeks, by_severity, detection, recurring_factors, actions })
    }
}

/// One week while counting: its Monday, counts by severity, acknowledge and resolve times.
type Bucket = (NaiveDate, [usize; 4], Vec<Duration>, Vec<Duration>);

fn severity_index(severity: Severity) -> usize {
    match severity {
        Severity::Sev1 => 0,
        Severity::Sev2 => 1,
        Severity::Sev3 => 2,
        Severity::Sev4 => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let minutes: Vec<Duration> = (1..=10).map(Duration::minutes).collect();
        let spread = Spread::of(minutes);
        assert_eq!(spread.median, Some(Duration::minutes(5)));
        assert_eq!(spread.p90, Some(Duration::minutes(9)));
        assert_eq!(Spread::of(vec![]).median, None);
        assert_eq!(Spread::of(vec![Duration::minutes(3)]).p90, Some(Duration::minutes(3)));
    }
}
