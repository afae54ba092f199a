//! Where failures cluster: which contributing-factor tags and which services recur
//! across incidents, and the figures per service (incidents, time to resolve, open
//! action items). Pure functions over what storage returns, shared by the digest,
//! `/incident stats` and any other report (the web insights).
//!
//! Drills never count here; callers pass only the incidents that count
//! ([`crate::drill::real`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::Duration;
use storage::{ActionItem, Incident};

use crate::durations::Durations;

/// How far back the digest looks for recurrence, in days.
pub const WINDOW_DAYS: i64 = 90;

/// A name (a tag or a service) shared by two or more incidents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurring {
    pub name: String,
    /// The incidents naming it, by id, oldest first.
    pub incidents: Vec<i64>,
}

/// Names attached to two or more of the `counted` incidents, most incidents first,
/// then by name. `pairs` is `(incident id, name)` as storage lists them.
pub fn recurring(pairs: &[(i64, String)], counted: &HashSet<i64>) -> Vec<Recurring> {
    let mut by_name: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for (incident, name) in pairs.iter().filter(|(id, _)| counted.contains(id)) {
        let incidents = by_name.entry(name).or_default();
        if !incidents.contains(incident) {
            incidents.push(*incident);
        }
    }
    let mut out: Vec<Recurring> = by_name
        .into_iter()
        .filter(|(_, incidents)| incidents.len() >= 2)
        .map(|(name, mut incidents)| {
            incidents.sort_unstable();
            Recurring { name: name.to_string(), incidents }
        })
        .collect();
    out.sort_by(|a, b| b.incidents.len().cmp(&a.incidents.len()).then_with(|| a.name.cmp(&b.name)));
    out
}

/// The figures of one service over a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceFigures {
    pub service: String,
    /// Incidents that named it.
    pub incidents: usize,
    /// Mean time to resolve, over its resolved incidents.
    pub mttr: Option<Duration>,
    /// Open action items of its incidents.
    pub open_actions: usize,
}

/// Figures per service for `incidents` (the ones that count), most incidents first,
/// then by name. `pairs` is `(incident id, service)`.
pub fn by_service(pairs: &[(i64, String)], incidents: &[Incident], open_actions: &[ActionItem]) -> Vec<ServiceFigures> {
    let resolutions: HashMap<i64, Option<Duration>> =
        incidents.iter().map(|i| (i.id, Durations::of(i).to_resolve)).collect();
    let mut open: HashMap<i64, usize> = HashMap::new();
    for item in open_actions {
        *open.entry(item.incident_id).or_default() += 1;
    }
    service_figures(pairs, &resolutions, &open)
}

/// [`by_service`] from what a report read without whole incidents: each counted
/// incident's time to resolve (`None` while unresolved) and its open action items.
/// Incidents missing from `resolutions` do not count.
pub fn service_figures(
    pairs: &[(i64, String)],
    resolutions: &HashMap<i64, Option<Duration>>,
    open_actions: &HashMap<i64, usize>,
) -> Vec<ServiceFigures> {
    let mut services: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for (id, service) in pairs {
        if resolutions.contains_key(id) {
            let of_service = services.entry(service).or_default();
            if !of_service.contains(id) {
                of_service.push(*id);
            }
        }
    }
    let mut out: Vec<ServiceFigures> = services
        .into_iter()
        .map(|(service, of_service)| {
            let resolved: Vec<Duration> =
                of_service.iter().filter_map(|id| resolutions.get(id).copied().flatten()).collect();
            let mttr = (!resolved.is_empty()).then(|| {
                let total: i64 = resolved.iter().map(Duration::num_seconds).sum();
                Duration::seconds(total / resolved.len() as i64)
            });
            ServiceFigures {
                service: service.to_string(),
                incidents: of_service.len(),
                mttr,
                open_actions: of_service.iter().map(|id| open_actions.get(id).copied().unwrap_or(0)).sum(),
            }
        })
        .collect();
    out.sort_by(|a, b| b.incidents.cmp(&a.incidents).then_with(|| a.service.cmp(&b.service)));
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::testing::{action_item, incident};
    use storage::Status;

    #[test]
    fn names_recur_across_counted_incidents_only() {
        let pairs = vec![
            (1, "alerting-gap".to_string()),
            (2, "alerting-gap".to_string()),
            (2, "change".to_string()),
            (3, "change".to_string()),
            (4, "capacity".to_string()),
        ];
        let counted: HashSet<i64> = [1, 2, 4].into_iter().collect();
        assert_eq!(recurring(&pairs, &counted), vec![Recurring { name: "alerting-gap".into(), incidents: vec![1, 2] }]);
    }

    #[test]
    fn services_count_incidents_resolutions_and_open_items() {
        let mut first = incident(Status::Resolved);
        first.resolved_at = Some(first.started_at + Duration::minutes(30));
        let mut second = incident(Status::Resolved);
        second.id = 2;
        second.resolved_at = Some(second.started_at + Duration::minutes(90));
        let pairs = vec![(1, "checkout".to_string()), (2, "checkout".to_string()), (2, "search".to_string())];
        let figures = by_service(&pairs, &[first, second], &[action_item("bob")]);
        assert_eq!(figures[0].service, "checkout");
        assert_eq!((figures[0].incidents, figures[0].mttr, figures[0].open_actions), (2, Some(Duration::hours(1)), 1));
        assert_eq!((figures[1].service.as_str(), figures[1].incidents), ("search", 1));
    }
}
