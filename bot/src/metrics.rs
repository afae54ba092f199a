//! The bot's Prometheus metrics: process-wide counters and a histogram, kept and
//! written in the Prometheus text format by the `prometheus-client` crate.
//!
//! Counters live in one static so an adapter bumps them where the thing happens
//! without threading a handle through every call. They count since the process
//! started, as Prometheus expects; `open incidents` is read from the database at
//! scrape time, so it is right on a freshly started copy too.

use std::sync::LazyLock;
use std::time::Duration;

use commands::{CoreError, Outcome};
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use storage::{Platform, Severity};

/// The platforms with their own series (the console makes no API calls).
const PLATFORMS: [Platform; 2] = [Platform::Slack, Platform::Discord];

/// Upper bounds (seconds) of the slash-command duration buckets.
const DURATION_BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

type ConstGaugeI64 = Gauge;

/// One label, such as `severity="sev2"` or `platform="slack"`.
type Label = [(&'static str, &'static str); 1];

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

/// Every series the bot counts. Clones of a metric share its value, so a scrape can
/// register them in a registry of its own.
pub struct Metrics {
    declared: Family<Label, Counter>,
    timeline_ingested: Counter,
    reminders_sent: Counter,
    reminders_failed: Counter,
    chat_errors: Family<Label, Counter>,
    chat_retries: Family<Label, Counter>,
    command_duration: Family<Label, Histogram, fn() -> Histogram>,
    alerts: AlertMetrics,
}

/// A label with a configured value: `source="prometheus"`.
type OwnedLabel = Vec<(&'static str, String)>;

/// Per alert source: alerts received, deliveries or alerts deduplicated, incidents
/// declared, and alerts sent to triage. Dismissed and noise are read from the database
/// at scrape time (`incidentbot_alerts{state=…}`), as people decide them anywhere.
#[derive(Default)]
struct AlertMetrics {
    received: Family<OwnedLabel, Counter>,
    deduplicated: Family<OwnedLabel, Counter>,
    declared: Family<OwnedLabel, Counter>,
    triaged: Family<OwnedLabel, Counter>,
    rejected: Family<OwnedLabel, Counter>,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

fn platform_label(platform: Platform) -> Option<Label> {
    PLATFORMS.contains(&platform).then(|| [("platform", platform.as_str())])
}

fn severity_label(severity: Severity) -> Label {
    [("severity", severity.as_str())]
}

impl Metrics {
    fn new() -> Self {
        let metrics = Metrics {
            declared: Family::default(),
            timeline_ingested: Counter::default(),
            reminders_sent: Counter::default(),
            reminders_failed: Counter::default(),
            chat_errors: Family::default(),
            chat_retries: Family::default(),
            command_duration: Family::new_with_constructor(duration_histogram),
            alerts: AlertMetrics::default(),
        };
        // Every label value is exported from the start, at 0, so a dashboard's rate()
        // has a series before the first event. (Each `let _` drops the family's lock.)
        for severity in Severity::ALL.iter().copied() {
            let _ = metrics.declared.get_or_create(&severity_label(severity));
        }
        for platform in PLATFORMS {
            let label = [("platform", platform.as_str())];
            let _ = metrics.chat_errors.get_or_create(&label);
            let _ = metrics.chat_retries.get_or_create(&label);
            let _ = metrics.command_duration.get_or_create(&label);
        }
        metrics
    }

    pub fn incident_declared(&self, severity: Severity) {
        self.declared.get_or_create(&severity_label(severity)).inc();
    }

    pub fn timeline_event_ingested(&self) {
        self.timeline_ingested.inc();
    }

    pub fn reminders(&self, sent: usize, failed: usize) {
        self.reminders_sent.inc_by(u64::try_from(sent).unwrap_or(u64::MAX));
        self.reminders_failed.inc_by(u64::try_from(failed).unwrap_or(u64::MAX));
    }

    /// A call to a platform's API that failed (after any retries of its own).
    pub fn chat_api_error(&self, platform: Platform) {
        if let Some(label) = platform_label(platform) {
            self.chat_errors.get_or_create(&label).inc();
        }
    }

    /// A call to a platform's API that waited for its rate limit and went again.
    pub fn chat_api_retry(&self, platform: Platform) {
        if let Some(label) = platform_label(platform) {
            self.chat_retries.get_or_create(&label).inc();
        }
    }

    pub fn slash_command_handled(&self, platform: Platform, elapsed: Duration) {
        if let Some(label) = platform_label(platform) {
            self.command_duration.get_or_create(&label).observe(elapsed.as_secs_f64());
        }
    }

    /// Counts what a core call did that is worth a series: an incident declared. The
    /// core says so only for a fresh declare, so a platform's retry is not counted twice.
    pub fn observe_result(&self, result: &Result<Outcome, CoreError>) {
        if let Ok(Outcome { declared: Some(severity), .. }) = result {
            self.incident_declared(*severity);
        }
    }

    /// Exports every series of an alert source at 0 from start-up.
    pub fn alert_source_configured(&self, source: &str) {
        let label = vec![("source", source.to_string())];
        let alerts = &self.alerts;
        for family in [&alerts.received, &alerts.deduplicated, &alerts.declared, &alerts.triaged, &alerts.rejected] {
            let _ = family.get_or_create(&label);
        }
    }

    /// One delivery of `source` stored: `received` alerts, `deduplicated` of them
    /// repeats (a whole redelivery counts all its alerts).
    pub fn alerts_received(&self, source: &str, received: usize, deduplicated: usize) {
        let label = vec![("source", source.to_string())];
        self.alerts.received.get_or_create(&label).inc_by(u64::try_from(received).unwrap_or(u64::MAX));
        self.alerts.deduplicated.get_or_create(&label).inc_by(u64::try_from(deduplicated).unwrap_or(u64::MAX));
    }

    /// A request to `source` refused (auth, size, malformed, rate limit).
    pub fn alert_rejected(&self, source: &str) {
        self.alerts.rejected.get_or_create(&vec![("source", source.to_string())]).inc();
    }

    /// What the alert worker applied.
    pub fn alerts_applied(&self, applied: &commands::alerts::AppliedAlerts) {
        for (source, counts) in &applied.by_source {
            let label = vec![("source", source.clone())];
            self.alerts.declared.get_or_create(&label).inc_by(counts.declared);
            self.alerts.triaged.get_or_create(&label).inc_by(counts.triaged);
        }
    }

    /// The Prometheus text format (version 0.0.4). `open_incidents` is `None` when the
    /// database did not answer; that series is then left out rather than reported as 0.
    pub fn render(&self, open_incidents: Option<usize>, active: bool) -> String {
        self.render_with_alerts(open_incidents, active, &[])
    }

    /// [`Metrics::render`], with the stored alerts counted by source and state.
    pub fn render_with_alerts(
        &self,
        open_incidents: Option<usize>,
        active: bool,
        alert_states: &[(String, storage::AlertState, i64)],
    ) -> String {
        // A registry per scrape: the two gauges are what this scrape read, and the
        // counters are clones sharing the live values. Counter names go in without
        // `_total`; the encoder adds it.
        let mut registry = Registry::default();
        registry.register("incidentbot_incidents_declared", "Incidents declared, by severity", self.declared.clone());
        if let Some(open) = open_incidents {
            let open = ConstGauge::new(i64::try_from(open).unwrap_or(i64::MAX));
            registry.register("incidentbot_open_incidents", "Incidents not yet resolved", open);
        }
        registry.register(
            "incidentbot_timeline_events_ingested",
            "Chat messages stored in a timeline",
            self.timeline_ingested.clone(),
        );
        registry.register("incidentbot_reminders_sent", "Follow-up deliveries sent", self.reminders_sent.clone());
        registry.register(
            "incidentbot_reminders_failed",
            "Follow-up deliveries given up on",
            self.reminders_failed.clone(),
        );
        registry.register(
            "incidentbot_chat_api_errors",
            "Failed chat platform API calls, after their own retries",
            self.chat_errors.clone(),
        );
        registry.register(
            "incidentbot_chat_api_retries",
            "Chat platform API calls delayed and sent again because of a rate limit",
            self.chat_retries.clone(),
        );
        registry.register(
            "incidentbot_slash_command_duration_seconds",
            "Time from receiving a slash command to the core's answer",
            self.command_duration.clone(),
        );
        let alerts = &self.alerts;
        registry.register("incidentbot_alerts_received", "Alerts received, by source", alerts.received.clone());
        registry.register(
            "incidentbot_alerts_deduplicated",
            "Alerts received again unchanged (repeats and redeliveries), by source",
            alerts.deduplicated.clone(),
        );
        registry.register(
            "incidentbot_alerts_declared",
            "Incidents the alert rules declared, by source",
            alerts.declared.clone(),
        );
        registry.register("incidentbot_alerts_triaged", "Alerts sent to triage, by source", alerts.triaged.clone());
        registry.register(
            "incidentbot_alert_requests_rejected",
            "Alert requests refused (auth, size, malformed, rate limit), by source",
            alerts.rejected.clone(),
        );
        let states: Family<Vec<(&'static str, String)>, ConstGaugeI64> = Family::default();
        for (source, state, count) in alert_states {
            let label = vec![("source", source.clone()), ("state", state.as_str().to_string())];
            states.get_or_create(&label).set(*count);
        }
        registry.register(
            "incidentbot_alerts",
            "Stored alerts by source and state (triage, attached, dismissed, noise, ...)",
            states,
        );
        registry.register(
            "incidentbot_active",
            "1 when this copy holds the lease and runs the platforms",
            ConstGauge::new(i64::from(active)),
        );
        let mut out = String::new();
        if let Err(error) = prometheus_text::encode(&mut out, &registry) {
            tracing::warn!(%error, "metrics: cannot encode the exposition");
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_series_with_cumulative_buckets() {
        let metrics = Metrics::new();
        metrics.incident_declared(Severity::Sev2);
        metrics.timeline_event_ingested();
        metrics.reminders(2, 1);
        metrics.chat_api_error(storage::Platform::Slack);
        metrics.chat_api_error(Platform::Console);
        metrics.chat_api_retry(storage::Platform::Discord);
        metrics.slash_command_handled(storage::Platform::Slack, Duration::from_millis(30));
        metrics.slash_command_handled(storage::Platform::Slack, Duration::from_secs(60));
        let text = metrics.render(Some(3), true);
        for line in [
            "incidentbot_incidents_declared_total{severity=\"sev2\"} 1",
            "incidentbot_incidents_declared_total{severity=\"sev1\"} 0",
            "incidentbot_open_incidents 3",
            "incidentbot_timeline_events_ingested_total 1",
            "incidentbot_reminders_sent_total 2",
            "incidentbot_reminders_failed_total 1",
            "incidentbot_chat_api_errors_total{platform=\"slack\"} 1",
            "incidentbot_chat_api_errors_total{platform=\"discord\"} 0",
            "incidentbot_chat_api_retries_total{platform=\"discord\"} 1",
            "incidentbot_slash_command_duration_seconds_bucket{platform=\"slack\",le=\"0.025\"} 0",
            "incidentbot_slash_command_duration_seconds_bucket{platform=\"slack\",le=\"0.05\"} 1",
            "incidentbot_slash_command_duration_seconds_bucket{platform=\"slack\",le=\"10\"} 1",
            "incidentbot_slash_command_duration_seconds_bucket{platform=\"slack\",le=\"+Inf\"} 2",
            "incidentbot_slash_command_duration_seconds_sum{platform=\"slack\"} 60.03",
            "incidentbot_slash_command_duration_seconds_count{platform=\"slack\"} 2",
            "incidentbot_active 1",
        ] {
            assert!(text.lines().any(|l| l == line), "missing `{line}` in\n{text}");
        }
        // Every sample belongs to a declared family.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            let family = name.trim_end_matches("_bucket").trim_end_matches("_sum").trim_end_matches("_count");
            assert!(text.contains(&format!("# TYPE {family} ")), "{name} has no TYPE line");
        }
        assert!(!metrics.render(None, false).contains("incidentbot_open_incidents"));
    }
}
