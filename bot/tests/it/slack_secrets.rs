//! Secrets stay out of logs and `Debug` output. The logs are captured per thread (see
//! `log_capture`), so the other tests of the binary can run meanwhile.

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::log_capture::Capture;
use crate::slack_support::*;

#[tokio::test]
async fn the_token_and_signing_secret_never_reach_logs_or_debug_output() {
    // The test runs on one thread, so every task it starts logs here too.
    let logs = Capture::start();

    let app = spawn_app().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&app.slack)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/pins.add"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "ok": false, "error": "not_in_channel" })))
        .with_priority(1)
        .mount(&app.slack)
        .await;
    app.command("U0ALICE", "CGENERAL", "declare sev2 DB down").await;
    app.settle().await;
    let _ = app.http.post(app.app.url("/slack/commands")).body("x").send().await.unwrap();

    let text = logs.text();
    assert!(text.contains("Slack rate limit"), "the rate limit was logged: {text}");
    assert!(text.contains("not_in_channel"), "the pin failure was logged");
    assert!(text.contains("refused a Slack request"));
    for secret in [TOKEN, SIGNING_SECRET, "SENTINEL"] {
        assert!(!text.contains(secret), "a secret leaked into the logs");
    }
    let debug = format!("{:?} {:?}", app.state, app.state.chat());
    assert!(debug.contains("redacted"));
    assert!(!debug.contains("SENTINEL"), "{debug}");
    // The token did go to Slack, as a bearer header.
    let requests = app.slack.received_requests().await.unwrap();
    assert!(requests.iter().any(|r| r.headers.get("authorization").is_some_and(|v| v == &format!("Bearer {TOKEN}"))));
}
