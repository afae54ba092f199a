//! What alerts teach, for `/incident stats` and the weekly digest: the share of
//! incidents detected by monitoring, the time to detect per severity, and the alert
//! noise (dismissed, or resolved on their own) per source and alertname.

use chrono::{DateTime, Utc};
use storage::{Db, Incident, Severity, StorageError};

use crate::durations::Durations;
use crate::format;
use crate::message::Line;

/// The noisiest alerts listed.
const NOISE_LISTED: usize = 5;

/// The lines about detection and noise for the incidents declared in `[from, to)`.
pub async fn detection_lines(
    db: &Db,
    incidents: &[Incident],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Line>, StorageError> {
    let mut lines = Vec::new();
    let detections = db.detections_between(from, to).await?;
    if !incidents.is_empty() {
        let by_monitoring = incidents.iter().filter(|i| detections.iter().any(|d| d.incident_id == i.id)).count();
        let percent = by_monitoring * 100 / incidents.len();
        lines.push(Line::new().text(format!(
            "Detected by monitoring: {by_monitoring} of {} ({percent}%); by people: {}",
            incidents.len(),
            incidents.len() - by_monitoring
        )));
        let per_severity: Vec<String> = Severity::ALL
            .iter()
            .filter_map(|&severity| {
                let detect: Vec<_> =
                    incidents.iter().filter(|i| i.severity == severity).map(|i| Durations::of(i).to_detect).collect();
                crate::stats::mean(&detect)
                    .map(|mean| format!("{severity} {} ({})", format::duration(mean), detect.len()))
            })
            .collect();
        lines.push(Line::new().text(format!("Time to detect: {}", per_severity.join(" · "))));
    }
    let noise = db.alert_noise_between(from, to).await?;
    if !noise.is_empty() {
        let total: i64 = noise.iter().map(|n| n.dismissed + n.resolved_on_own).sum();
        let top: Vec<String> = noise
            .iter()
            .take(NOISE_LISTED)
            .map(|n| {
                let name =
                    if n.alertname.is_empty() { n.source.clone() } else { format!("{}/{}", n.source, n.alertname) };
                format!(
                    "{name} {} ({} dismissed, {} resolved on their own)",
                    n.dismissed + n.resolved_on_own,
                    n.dismissed,
                    n.resolved_on_own
                )
            })
            .collect();
        lines.push(Line::new().text(format!("Alert noise: {total} alerts without an incident · {}", top.join(" · "))));
    }
    Ok(lines)
}
