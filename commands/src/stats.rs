//! Response metrics: counts, mean time to acknowledge (MTTA) and to resolve (MTTR) per
//! severity. Pure functions over incidents, shared by `/incident stats` and the digest.

use chrono::Duration;
use storage::{Incident, Severity};

use crate::durations::Durations;

/// The figures for one severity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeverityStats {
    pub severity: Severity,
    pub count: usize,
    pub resolved: usize,
    /// Mean time to acknowledge, over acknowledged incidents.
    pub mtta: Option<Duration>,
    /// Mean time to resolve, over resolved incidents.
    pub mttr: Option<Duration>,
}

pub(crate) fn mean(durations: &[Duration]) -> Option<Duration> {
    if durations.is_empty() {
        return None;
    }
    let total: i64 = durations.iter().map(Duration::num_seconds).sum();
    Some(Duration::seconds(total / durations.len() as i64))
}

/// Figures per severity, `sev1` first, for the given incidents.
pub fn by_severity(incidents: &[Incident]) -> Vec<SeverityStats> {
    Severity::ALL
        .iter()
        .map(|&severity| {
            let of_severity: Vec<&Incident> = incidents.iter().filter(|i| i.severity == severity).collect();
            let durations: Vec<Durations> = of_severity.iter().map(|i| Durations::of(i)).collect();
            let acks: Vec<Duration> = durations.iter().filter_map(|d| d.to_acknowledge).collect();
            let resolutions: Vec<Duration> = durations.iter().filter_map(|d| d.to_resolve).collect();
            SeverityStats {
                severity,
                count: of_severity.len(),
                resolved: resolutions.len(),
                mtta: mean(&acks),
                mttr: mean(&resolutions),
            }
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use chrono::DateTime;
    use storage::Status;

    fn incident(severity: Severity, ack_min: Option<i64>, resolve_min: Option<i64>) -> Incident {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        Incident {
            id: 1,
            title: "t".into(),
            description: None,
            severity,
            status: if resolve_min.is_some() { Status::Resolved } else { Status::Investigating },
            platform: storage::Platform::Console,
            channel_name: "c".into(),
            channel_id: None,
            declared_by: "a".into(),
            commander: Some("a".into()),
            comms: None,
            scribe: None,
            started_at: t0,
            declared_at: t0,
            acknowledged_at: ack_min.map(|m| t0 + Duration::minutes(m)),
            mitigated_at: None,
            resolved_at: resolve_min.map(|m| t0 + Duration::minutes(m)),
            closed_at: None,
            revision: 0,
            drill: false,
            private: false,
        }
    }

    #[test]
    fn means_skip_incidents_without_the_timestamp() {
        let stats = by_severity(&[
            incident(Severity::Sev1, Some(2), Some(60)),
            incident(Severity::Sev1, Some(4), None),
            incident(Severity::Sev3, None, Some(30)),
        ]);
        assert_eq!(stats[0].count, 2);
        assert_eq!(stats[0].mtta, Some(Duration::minutes(3)));
        assert_eq!(stats[0].mttr, Some(Duration::minutes(60)));
        assert_eq!(stats[1].count, 0);
        assert_eq!(stats[1].mtta, None);
        assert_eq!((stats[2].mtta, stats[2].mttr), (None, Some(Duration::minutes(30))));
    }
}
