//! The response durations, defined once and used everywhere: the export, `/incident
//! stats`, the digest and the web pages all read them from here.
//!
//! - time to detect = declared − started;
//! - time to acknowledge = acknowledged − declared;
//! - time to mitigate = mitigated − started;
//! - time to resolve = resolved − started.

use chrono::{DateTime, Duration, Utc};
use storage::{Incident, IncidentMoments};

/// One incident's durations; `None` where the later moment has not happened yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Durations {
    pub to_detect: Duration,
    pub to_acknowledge: Option<Duration>,
    pub to_mitigate: Option<Duration>,
    pub to_resolve: Option<Duration>,
}

/// The moments the durations are measured between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moments {
    pub started: DateTime<Utc>,
    pub declared: DateTime<Utc>,
    pub acknowledged: Option<DateTime<Utc>>,
    pub mitigated: Option<DateTime<Utc>>,
    pub resolved: Option<DateTime<Utc>>,
}

impl Durations {
    pub fn of(incident: &Incident) -> Durations {
        Durations::between(&Moments {
            started: incident.started_at,
            declared: incident.declared_at,
            acknowledged: incident.acknowledged_at,
            mitigated: incident.mitigated_at,
            resolved: incident.resolved_at,
        })
    }

    /// From the few columns a report reads instead of whole incidents.
    pub fn of_moments(incident: &IncidentMoments) -> Durations {
        Durations::between(&Moments {
            started: incident.started_at,
            declared: incident.declared_at,
            acknowledged: incident.acknowledged_at,
            mitigated: incident.mitigated_at,
            resolved: incident.resolved_at,
        })
    }

    pub fn between(moments: &Moments) -> Durations {
        // Stored timestamps keep started ≤ declared ≤ acknowledged; the floor at zero
        // keeps a hand-edited database from showing negative times.
        let since = |from, to| Some(to - from).filter(|d: &Duration| *d >= Duration::zero()).or(Some(Duration::zero()));
        Durations {
            to_detect: since(moments.started, moments.declared).unwrap_or_default(),
            to_acknowledge: moments.acknowledged.and_then(|at| since(moments.declared, at)),
            to_mitigate: moments.mitigated.and_then(|at| since(moments.started, at)),
            to_resolve: moments.resolved.and_then(|at| since(moments.started, at)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::testing::incident;
    use storage::Status;

    #[test]
    fn each_duration_has_its_own_start() {
        let mut i = incident(Status::Resolved);
        let t0 = i.declared_at;
        i.started_at = t0 - Duration::minutes(20);
        i.acknowledged_at = Some(t0 + Duration::minutes(3));
        i.mitigated_at = Some(t0 + Duration::minutes(30));
        i.resolved_at = Some(t0 + Duration::minutes(40));
        let d = Durations::of(&i);
        assert_eq!(d.to_detect, Duration::minutes(20));
        assert_eq!(d.to_acknowledge, Some(Duration::minutes(3)));
        assert_eq!(d.to_mitigate, Some(Duration::minutes(50)));
        assert_eq!(d.to_resolve, Some(Duration::minutes(60)));
    }

    #[test]
    fn moments_not_reached_have_no_duration() {
        let d = Durations::of(&incident(Status::Investigating));
        assert_eq!((d.to_acknowledge, d.to_mitigate, d.to_resolve), (None, None, None));
        assert_eq!(d.to_detect, Duration::zero());
    }
}
