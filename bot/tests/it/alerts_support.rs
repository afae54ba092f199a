//! Set-up for the alerts tests: `serve` with a fake Slack, a config with one source of
//! each kind and the rules, on a fresh database of the suite's engine (SQLite, or
//! Postgres under `INCIDENTBOT_TEST_ENGINE=postgres`), and helpers that post alerts and
//! read what was stored.

#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use std::sync::atomic::{AtomicU64, Ordering};

use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use storage::test_database::TestDatabase;

use super::process_support::{Served, SLACK_SECRET, SLACK_TOKEN};

/// A fake Slack that accepts every call, gives each new channel its own id, and each
/// post its own `ts`, as Slack does.
pub async fn fake_slack() -> MockServer {
    let server = MockServer::start().await;
    let next = std::sync::Arc::new(AtomicU64::new(1));
    let channels = next.clone();
    Mock::given(method("POST"))
        .and(path("/api/conversations.create"))
        .respond_with(move |request: &Request| {
            let n = channels.fetch_add(1, Ordering::SeqCst);
            let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
            ResponseTemplate::new(200)
                .set_body_json(json!({ "ok": true, "channel": { "id": format!("CINC{n}"), "name": body["name"] } }))
        })
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("^/api/.+"))
        .respond_with(move |_: &Request| {
            let n = next.fetch_add(1, Ordering::SeqCst);
            ResponseTemplate::new(200).set_body_json(json!({
                "ok": true, "user_id": "U0BOT", "ts": format!("1800000000.{n:06}"), "messages": [], "has_more": false
            }))
        })
        .mount(&server)
        .await;
    server
}

pub const AM_SECRET: &str = "SENTINEL-alertmanager-secret-11aa";
pub const PD_SECRET: &str = "SENTINEL-pagerduty-secret-22bb";
pub const GRAFANA_SECRET: &str = "SENTINEL-grafana-secret-33cc";
pub const GRAFANA_HMAC: &str = "SENTINEL-grafana-hmac-44dd";
pub const GENERIC_SECRET: &str = "SENTINEL-generic-secret-55ee";

/// The triage channel on the fake Slack.
pub const TRIAGE: &str = "CTRIAGE";

pub fn config(max_per_minute: u32) -> String {
    format!(
        r#"
[alerts]
platform = "slack"
triage_channel = "{TRIAGE}"

[[alerts.sources]]
name = "prometheus"
kind = "alertmanager"
secret_env = "ALERTS_PROMETHEUS_SECRET"
max_per_minute = {max_per_minute}

[[alerts.sources]]
name = "pd"
kind = "pagerduty"
secret_env = "ALERTS_PD_SECRET"

[[alerts.sources]]
name = "grafana"
kind = "grafana"
secret_env = "ALERTS_GRAFANA_SECRET"
hmac_secret_env = "ALERTS_GRAFANA_HMAC"

[[alerts.sources]]
name = "grafana-stamped"
kind = "grafana"
secret_env = "ALERTS_GRAFANA_SECRET"
hmac_secret_env = "ALERTS_GRAFANA_HMAC"
hmac_timestamp_header = "X-Grafana-Alerting-Timestamp"

[[alerts.sources]]
name = "uptime"
kind = "generic"
secret_env = "ALERTS_UPTIME_SECRET"

[[alerts.rules]]
when = 'severity="critical", env=~"prod|production"'
then = "declare"
severity = "sev1"

[[alerts.rules]]
when = 'alertname="Watchdog"'
then = "ignore"
"#
    )
}

/// A running `serve` with alerts on, and what it runs against.
pub struct AlertBot {
    pub served: Served,
    pub slack: wiremock::MockServer,
    pub db_url: String,
    /// Removed when the test ends.
    pub database: TestDatabase,
}

/// The environment `serve` runs with, on the database at `db_url`.
pub fn envs(
    dir: &Path,
    slack: &wiremock::MockServer,
    max_per_minute: u32,
    db_url: &str,
) -> Vec<(&'static str, String)> {
    let config = dir.join("incidentbot.toml");
    std::fs::write(&config, self::config(max_per_minute)).unwrap();
    vec![
        ("DATABASE_URL", db_url.to_string()),
        ("INCIDENTBOT_CONFIG", config.display().to_string()),
        ("SLACK_BOT_TOKEN", SLACK_TOKEN.to_string()),
        ("SLACK_SIGNING_SECRET", SLACK_SECRET.to_string()),
        ("SLACK_API_URL", format!("{}/api", slack.uri())),
        ("INCIDENTBOT_LEASE_TTL_MS", "1500".to_string()),
        ("ALERTS_PROMETHEUS_SECRET", AM_SECRET.to_string()),
        ("ALERTS_PD_SECRET", PD_SECRET.to_string()),
        ("ALERTS_GRAFANA_SECRET", GRAFANA_SECRET.to_string()),
        ("ALERTS_GRAFANA_HMAC", GRAFANA_HMAC.to_string()),
        ("ALERTS_UPTIME_SECRET", GENERIC_SECRET.to_string()),
    ]
}

pub async fn start(dir: &Path, max_per_minute: u32) -> AlertBot {
    let slack = fake_slack().await;
    let database = TestDatabase::for_suite().await;
    let db_url = database.url.clone();
    let served = Served::start(dir, "serve", &envs(dir, &slack, max_per_minute, &db_url));
    served.wait_for_health(Duration::from_secs(30), |status, _| status == 200).await;
    AlertBot { served, slack, db_url, database }
}

/// An Alertmanager webhook (version 4) of one group.
pub fn alertmanager_body(group: &str, alerts: &[(&str, &str, &str)]) -> Value {
    let alerts: Vec<Value> = alerts
        .iter()
        .map(|(fingerprint, status, severity)| {
            json!({
                "status": status,
                "labels": { "alertname": group, "severity": severity, "env": "prod" },
                "annotations": { "summary": format!("{group} is failing") },
                "startsAt": "2026-03-02T08:50:00Z",
                "endsAt": if *status == "resolved" { "2026-03-02T09:20:00Z" } else { "0001-01-01T00:00:00Z" },
                "generatorURL": "http://prometheus:9090/graph",
                "fingerprint": fingerprint,
            })
        })
        .collect();
    json!({
        "version": "4", "groupKey": format!("{{}}:{{alertname=\"{group}\"}}"), "truncatedAlerts": 0,
        "status": "firing", "receiver": "incidentbot", "groupLabels": { "alertname": group },
        "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://alertmanager:9093",
        "alerts": alerts,
    })
}

/// Posts `body` to `/alerts/<source>` with a bearer token; returns the status.
pub async fn post_bearer(bot: &AlertBot, source: &str, token: &str, body: &[u8]) -> reqwest::Response {
    reqwest::Client::new()
        .post(bot.served.url(&format!("/alerts/{source}")))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

/// The database `serve` writes, opened beside it for reading.
pub async fn db(bot: &AlertBot) -> storage::Db {
    storage::Db::connect_existing(&bot.db_url).await.unwrap()
}

/// Rows in a table, read with the sqlite3-free storage API: alerts and incidents.
pub async fn counts(db: &storage::Db) -> (usize, usize) {
    let alerts: usize = db.alert_counts().await.unwrap().iter().map(|(_, _, n)| usize::try_from(*n).unwrap()).sum();
    let incidents = db.open_incidents().await.unwrap().len();
    (alerts, incidents)
}

/// Slack posts to `channel` whose text contains `needle`.
pub async fn slack_posts(slack: &wiremock::MockServer, channel: &str, needle: &str) -> usize {
    slack
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/api/chat.postMessage")
        .filter(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap_or_default();
            body["channel"] == channel && body.to_string().contains(needle)
        })
        .count()
}

/// Feeds one Alertmanager group straight into `core`, as `POST /alerts/prometheus`
/// would, and applies it (declare, triage post) at once.
pub async fn feed_alertmanager(core: &commands::Core, group: &str, alerts: &[(&str, &str, &str)]) {
    let body = serde_json::to_vec(&alertmanager_body(group, alerts)).unwrap();
    let delivery =
        bot::alerts::payload::parse(bot::alerts::config::SourceKind::Alertmanager, &body, None, core.now()).unwrap();
    core.receive_alerts("prometheus", &delivery).await.unwrap();
    let applied = core.apply_pending_alerts().await.unwrap();
    assert_eq!(applied.failed, 0, "{applied:?}");
}
