//! The real binary's output never contains a token or secret, in text or JSON logs,
//! and `/healthz` names a platform that is not connected (here: a Slack that refuses
//! the bot token).

use std::time::Duration;

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::process_support::*;

/// Every sentinel value shares this marker, so a partial leak is caught too.
const MARKER: &str = "SENTINEL";

#[test]
fn check_prints_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let output = incidentbot()
        .arg("check")
        .env("RUST_LOG", "trace")
        .env("DATABASE_URL", format!("sqlite://{}", dir.path().join("bot.db").display()))
        .env("SLACK_BOT_TOKEN", SLACK_TOKEN)
        .env("SLACK_SIGNING_SECRET", SLACK_SECRET)
        .env("DISCORD_TOKEN", DISCORD_TOKEN)
        .env("DISCORD_GUILD_ID", "123456789012345678")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("slack: would run") && stdout.contains("discord: would run"), "{stdout}");
    assert!(!stdout.contains(MARKER) && !stderr.contains(MARKER), "a secret leaked:\n{stdout}\n{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_logs_json_without_secrets_and_reports_a_refused_token() {
    let dir = tempfile::tempdir().unwrap();
    let slack = wiremock::MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/auth.test"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "ok": false, "error": "invalid_auth" })))
        .mount(&slack)
        .await;
    let envs = vec![
        ("DATABASE_URL", format!("sqlite://{}", dir.path().join("bot.db").display())),
        ("SLACK_BOT_TOKEN", SLACK_TOKEN.to_string()),
        ("SLACK_SIGNING_SECRET", SLACK_SECRET.to_string()),
        ("SLACK_API_URL", format!("{}/api", slack.uri())),
        ("RUST_LOG", "debug".to_string()),
        ("LOG_FORMAT", "json".to_string()),
    ];
    let mut served = Served::start(dir.path(), "serve", &envs);
    let (status, body) = served
        .wait_for_health(Duration::from_secs(30), |_, body| {
            body["role"] == "active" && body["platforms"]["slack"] != "not connected yet"
        })
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["failing"], json!(["slack"]));
    assert!(body["platforms"]["slack"].as_str().unwrap().contains("invalid_auth"), "{body}");
    assert!(served.metrics().await.contains("incidentbot_chat_api_errors_total{platform=\"slack\"} 1"));

    // The token did reach Slack (so it was really used), as a header only.
    let requests = slack.received_requests().await.unwrap();
    let auth = requests[0].headers.get("authorization").unwrap().to_str().unwrap().to_string();
    assert_eq!(auth, format!("Bearer {SLACK_TOKEN}"));

    assert!(served.terminate(Duration::from_secs(30)).success());
    let logs = served.logs();
    assert!(!logs.contains(MARKER), "a secret leaked into the logs:\n{logs}");
    let lines: Vec<&str> = logs.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 3, "{logs}");
    for line in lines {
        let parsed: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(parsed.get("level").is_some(), "{line}");
    }
}
