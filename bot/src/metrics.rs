//! The bot's Prometheus metrics: process-wide counters, gauges and a histogram, written
//! in the text exposition format by hand (a handful of series needs no library).
//!
//! Counters live in one static so an adapter bumps them where the thing happens
//! without threading a handle through every call. They count since the process
//! started, as Prometheus expects; `open incidents` is read from the database at
//! scrape time, so it is right on a freshly started copy too.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use commands::{Core, CoreError, Outcome};
use storage::Severity;

/// The platforms with their own series.
const PLATFORMS: [&str; 2] = ["slack", "discord"];

/// Upper bounds (seconds) of the slash-command duration buckets.
const DURATION_BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// A cumulative-on-render histogram of durations.
struct Histogram {
    /// Observations per bucket (not cumulative); the last slot is `+Inf`.
    buckets: [AtomicU64; DURATION_BUCKETS.len() + 1],
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    const fn new() -> Self {
        Histogram {
            buckets: [const { AtomicU64::new(0) }; DURATION_BUCKETS.len() + 1],
            sum_micros: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let slot = DURATION_BUCKETS.iter().position(|bound| seconds <= *bound).unwrap_or(DURATION_BUCKETS.len());
        self.buckets[slot].fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX), Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (index, bound) in DURATION_BUCKETS.iter().enumerate() {
            cumulative += self.buckets[index].load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
        }
        cumulative += self.buckets[DURATION_BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {cumulative}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count.load(Ordering::Relaxed));
    }
}

/// Every series the bot exports.
pub struct Metrics {
    declared: [AtomicU64; 4],
    timeline_ingested: AtomicU64,
    reminders_sent: AtomicU64,
    reminders_failed: AtomicU64,
    chat_errors: [AtomicU64; PLATFORMS.len()],
    chat_retries: [AtomicU64; PLATFORMS.len()],
    command_duration: [Histogram; PLATFORMS.len()],
}

static METRICS: Metrics = Metrics::new();

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

fn platform_slot(platform: &str) -> Option<usize> {
    PLATFORMS.iter().position(|p| *p == platform)
}

fn severity_slot(severity: Severity) -> usize {
    Severity::ALL.iter().position(|s| *s == severity).unwrap_or(0)
}

impl Metrics {
    const fn new() -> Self {
        Metrics {
            declared: [const { AtomicU64::new(0) }; 4],
            timeline_ingested: AtomicU64::new(0),
            reminders_sent: AtomicU64::new(0),
            reminders_failed: AtomicU64::new(0),
            chat_errors: [const { AtomicU64::new(0) }; PLATFORMS.len()],
            chat_retries: [const { AtomicU64::new(0) }; PLATFORMS.len()],
            command_duration: [const { Histogram::new() }; PLATFORMS.len()],
        }
    }

    pub fn incident_declared(&self, severity: Severity) {
        self.declared[severity_slot(severity)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn timeline_event_ingested(&self) {
        self.timeline_ingested.fetch_add(1, Ordering::Relaxed);
    }

    pub fn reminders(&self, sent: usize, failed: usize) {
        self.reminders_sent.fetch_add(sent as u64, Ordering::Relaxed);
        self.reminders_failed.fetch_add(failed as u64, Ordering::Relaxed);
    }

    /// A call to a platform's API that failed (after any retries of its own).
    pub fn chat_api_error(&self, platform: &str) {
        if let Some(slot) = platform_slot(platform) {
            self.chat_errors[slot].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A call to a platform's API that waited for its rate limit and went again.
    pub fn chat_api_retry(&self, platform: &str) {
        if let Some(slot) = platform_slot(platform) {
            self.chat_retries[slot].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn slash_command_handled(&self, platform: &str, elapsed: Duration) {
        if let Some(slot) = platform_slot(platform) {
            self.command_duration[slot].observe(elapsed);
        }
    }

    /// Counts what a core call did that is worth a series: an incident declared.
    pub async fn observe_result(&self, core: &Core, result: &Result<Outcome, CoreError>) {
        // A retried declare answers silently with the channel it opened the first time;
        // only a fresh one carries a reply, so a platform's retry is not counted twice.
        let Ok(Outcome { opened: Some(channel), reply: Some(_), .. }) = result else {
            return;
        };
        match core.db().incident_by_channel(&channel.id).await {
            Ok(Some(incident)) => self.incident_declared(incident.severity),
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "metrics: cannot read the declared incident"),
        }
    }

    /// The text exposition format. `open_incidents` is `None` when the database did not answer.
    pub fn render(&self, open_incidents: Option<usize>, active: bool) -> String {
        let mut out = String::new();
        let header = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
        };
        header(&mut out, "incidentbot_incidents_declared_total", "counter", "Incidents declared, by severity.");
        for severity in Severity::ALL.iter().copied() {
            let count = self.declared[severity_slot(severity)].load(Ordering::Relaxed);
            let _ = writeln!(out, "incidentbot_incidents_declared_total{{severity=\"{}\"}} {count}", severity.as_str());
        }
        if let Some(open) = open_incidents {
            header(&mut out, "incidentbot_open_incidents", "gauge", "Incidents not yet resolved.");
            let _ = writeln!(out, "incidentbot_open_incidents {open}");
        }
        header(
            &mut out,
            "incidentbot_timeline_events_ingested_total",
            "counter",
            "Chat messages stored in a timeline.",
        );
        let _ = writeln!(
            out,
            "incidentbot_timeline_events_ingested_total {}",
            self.timeline_ingested.load(Ordering::Relaxed)
        );
        header(&mut out, "incidentbot_reminders_sent_total", "counter", "Follow-up deliveries sent.");
        let _ = writeln!(out, "incidentbot_reminders_sent_total {}", self.reminders_sent.load(Ordering::Relaxed));
        header(&mut out, "incidentbot_reminders_failed_total", "counter", "Follow-up deliveries given up on.");
        let _ = writeln!(out, "incidentbot_reminders_failed_total {}", self.reminders_failed.load(Ordering::Relaxed));
        header(&mut out, "incidentbot_chat_api_errors_total", "counter", "Failed chat platform API calls.");
        for (slot, platform) in PLATFORMS.iter().enumerate() {
            let count = self.chat_errors[slot].load(Ordering::Relaxed);
            let _ = writeln!(out, "incidentbot_chat_api_errors_total{{platform=\"{platform}\"}} {count}");
        }
        header(
            &mut out,
            "incidentbot_chat_api_retries_total",
            "counter",
            "Chat platform API calls delayed and sent again because of a rate limit.",
        );
        for (slot, platform) in PLATFORMS.iter().enumerate() {
            let count = self.chat_retries[slot].load(Ordering::Relaxed);
            let _ = writeln!(out, "incidentbot_chat_api_retries_total{{platform=\"{platform}\"}} {count}");
        }
        header(
            &mut out,
            "incidentbot_slash_command_duration_seconds",
            "histogram",
            "Time from receiving a slash command to the core's answer.",
        );
        for (slot, platform) in PLATFORMS.iter().enumerate() {
            self.command_duration[slot].render(
                &mut out,
                "incidentbot_slash_command_duration_seconds",
                &format!("platform=\"{platform}\""),
            );
        }
        header(&mut out, "incidentbot_active", "gauge", "1 when this copy holds the lease and runs the platforms.");
        let _ = writeln!(out, "incidentbot_active {}", u8::from(active));
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
        metrics.chat_api_error("slack");
        metrics.chat_api_error("console");
        metrics.chat_api_retry("discord");
        metrics.slash_command_handled("slack", Duration::from_millis(30));
        metrics.slash_command_handled("slack", Duration::from_secs(60));
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
