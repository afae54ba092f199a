//! Secrets stay out of logs and `Debug` output. This test captures logs with a
//! thread-local subscriber, so it lives in its own test binary: a test in another
//! thread of the same binary could otherwise settle tracing's shared per-callsite
//! interest cache while no subscriber is listening, and the log lines would go missing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod slack_support;

use std::sync::{Arc, Mutex};

use serde_json::json;
use slack_support::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

/// Collects every log line written while it is the default subscriber.
#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_token_and_signing_secret_never_reach_logs_or_debug_output() {
    let logs = CapturedLogs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // The test runs on one thread, so every task it starts logs here too.
    let _guard = tracing::subscriber::set_default(subscriber);

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

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
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
