//! The numbers behind `/insights`, over a window of whole weeks in the configured time
//! zone: incidents per week by severity, time to acknowledge and to resolve (median and
//! p90, per week and per severity), detection by monitoring or by people, recurring
//! contributing-factor tags and services, and action-item follow-through. Durations come
//! from [`crate::durations`]; drills do not count ([`crate::drill`]), as in the digest.
//!
//! It reads only what it needs: each incident's moments (no titles, no roles) and
//! action-item counts made in SQL, so a window of thousands of incidents stays fast.
//! Private incidents are counted, never named, as in the digest.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, Days, Duration, NaiveDate};
use storage::{Attachment, Severity};

use crate::core::Core;
use crate::durations::Durations;
use crate::error::CoreError;
use crate::recurrence::{self, ServiceFigures};

/// The window when none is chosen.
pub const DEFAULT_WEEKS: u32 = 26;
/// The longest window offered.
pub const MAX_WEEKS: u32 = 156;
/// The most recurring tags, services and overdue owners shown.
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
    /// Contributing-factor tags on two or more incidents, with their incident count.
    pub recurring_factors: Vec<(String, usize)>,
    /// Services by incident count, with their time to resolve and open action items.
    pub services: Vec<ServiceFigures>,
    pub actions: ActionFollowThrough,
}

/// The age buckets of open action items: a label and the age in days it starts at.
const AGE_BUCKETS: [(&str, u64); 4] = [("under a week", 0), ("1–4 weeks", 7), ("1–3 months", 28), ("older", 91)];

impl Core {
    /// The insights over the last `weeks` weeks, this one included.
    pub async fn insights(&self, weeks: u32) -> Result<Insights, CoreError> {
        let weeks = weeks.clamp(1, MAX_WEEKS);
        let tz = self.settings.timezone;
        let today = self.today();
        let this_monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()));
        let first_monday = this_monday - Days::new(u64::from(weeks - 1) * 7);
        let from = crate::pages::local_day_start(first_monday, tz).unwrap_or_else(|| self.now() - Duration::weeks(26));
        let moments = self.db.incident_moments_between(from, self.now() + Duration::seconds(1)).await?;

        let mut buckets: Vec<Bucket> =
            (0..weeks).map(|w| (first_monday + Days::new(u64::from(w) * 7), [0; 4], Vec::new(), Vec::new())).collect();
        let mut severity_acks: BTreeMap<Severity, Vec<Duration>> = BTreeMap::new();
        let mut severity_resolves: BTreeMap<Severity, Vec<Duration>> = BTreeMap::new();
        let mut detection = Detection::default();
        let (mut monitoring, mut people) = (Vec::new(), Vec::new());
        let mut resolutions: HashMap<i64, Option<Duration>> = HashMap::new();
        for incident in moments.iter().filter(|m| crate::drill::drill_counts(m.drill)) {
            let local = incident.declared_at.with_timezone(&tz).date_naive();
            let index = usize::try_from((local - first_monday).num_days() / 7).unwrap_or(0).min(buckets.len() - 1);
            let durations = Durations::of_moments(incident);
            resolutions.insert(incident.id, durations.to_resolve);
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
            if incident.detected_by_alert {
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

        let counted: HashSet<i64> = resolutions.keys().copied().collect();
        let tags = self.db.attached_since(Attachment::Factor, from).await?;
        let recurring_factors = recurrence::recurring(&tags, &counted)
            .into_iter()
            .take(MAX_LISTED)
            .map(|recurring| (recurring.name, recurring.incidents.len()))
            .collect();
        let services = self.db.attached_since(Attachment::Service, from).await?;
        let open_per_incident: HashMap<i64, usize> = self
            .db
            .open_actions_per_incident_since(from)
            .await?
            .into_iter()
            .map(|(id, n)| (id, usize::try_from(n).unwrap_or(0)))
            .collect();
        let mut services = recurrence::service_figures(&services, &resolutions, &open_per_incident);
        services.truncate(MAX_LISTED);

        Ok(Insights {
            weeks,
            by_severity,
            detection,
            recurring_factors,
            services,
            actions: self.follow_through(from, today).await?,
        })
    }

    /// Action items created since `from`: by status, open ones by age, overdue owners.
    async fn follow_through(
        &self,
        from: chrono::DateTime<chrono::Utc>,
        today: NaiveDate,
    ) -> Result<ActionFollowThrough, CoreError> {
        let tz = self.settings.timezone;
        // An item is at least N days old when it was created before the local day N-1
        // days ago began (today is day 0).
        let threshold = |days: u64| {
            let day = today - Days::new(days.saturating_sub(1));
            crate::pages::local_day_start(day, tz).unwrap_or(from)
        };
        let counts = self
            .db
            .action_counts_since(
                from,
                [threshold(AGE_BUCKETS[1].1), threshold(AGE_BUCKETS[2].1), threshold(AGE_BUCKETS[3].1)],
            )
            .await?;
        let as_count = |n: i64| usize::try_from(n).unwrap_or(0);
        let open = as_count(counts.open);
        let [younger_than_week, younger_than_month, younger_than_quarter] = counts.open_since.map(as_count);
        let limit = i64::try_from(MAX_LISTED).unwrap_or(10);
        let overdue_by_owner = self
            .db
            .overdue_owners_since(from, today, limit)
            .await?
            .into_iter()
            .map(|(owner, n)| (owner, as_count(n)))
            .collect();
        let done = as_count(counts.done);
        let wontfix = as_count(counts.wontfix);
        Ok(ActionFollowThrough {
            total: done + wontfix + open,
            done,
            wontfix,
            open,
            open_by_age: [
                (AGE_BUCKETS[0].0, younger_than_week),
                (AGE_BUCKETS[1].0, younger_than_month.saturating_sub(younger_than_week)),
                (AGE_BUCKETS[2].0, younger_than_quarter.saturating_sub(younger_than_month)),
                (AGE_BUCKETS[3].0, open.saturating_sub(younger_than_quarter)),
            ],
            overdue_by_owner,
        })
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
