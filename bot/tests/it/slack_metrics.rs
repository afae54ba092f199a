//! `/metrics` counts what happens on Slack: a declared incident by severity, the
//! slash command's handling time, a timeline message, and the open-incident gauge.

use crate::slack_support::*;

/// The value of the sample named exactly `series` (with its labels).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no `{series}` in\n{text}"))
}

#[tokio::test]
async fn a_declared_incident_and_its_messages_show_in_the_metrics() {
    let app = spawn_app().await;
    let scrape = || async { app.http.get(app.app.url("/metrics")).send().await.unwrap().text().await.unwrap() };
    let before = scrape().await;
    assert_eq!(sample(&before, "incidentbot_open_incidents"), 0.0);

    app.command("U0ALICE", "CGENERAL", "declare sev1 Checkout is down").await;
    app.settle().await;
    let incident = app.db.open_incidents().await.unwrap().pop().expect("declared");
    let channel = incident.channel_id.expect("its channel");
    app.event("Ev1", message_event(channel.as_str(), "U0BOB", "1800000000.000100", "rolling back"), None).await;
    app.settle().await;

    let after = scrape().await;
    // Counters are process-wide and other tests in this binary run alongside: compare.
    let grew = |series: &str| sample(&after, series) - sample(&before, series);
    assert!(grew("incidentbot_incidents_declared_total{severity=\"sev1\"}") >= 1.0, "{after}");
    assert!(grew("incidentbot_slash_command_duration_seconds_count{platform=\"slack\"}") >= 1.0, "{after}");
    assert!(grew("incidentbot_timeline_events_ingested_total") >= 1.0, "{after}");
    assert_eq!(sample(&after, "incidentbot_open_incidents"), 1.0);
}
