//! Load benchmark: ack latency of `POST /slack/commands` at 200 requests/s for 10 s.
//!
//! Starts the real app on loopback with a slow fake Slack (every Web API call and
//! `response_url` answer takes 2 s), sends signed `/incident` commands at a fixed rate
//! from a loop on loopback, and prints p50, p99 and the maximum time to the HTTP ack.
//!
//! Run with `cargo run --release -p bot --example slack_ack_load`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bot::secret::Secret;
use bot::slack::local::serve_on_loopback;
use bot::slack::signature::sign;
use bot::slack::{SlackOptions, SlackState};
use commands::{Settings, SystemClock};
use serde_json::json;
use storage::Db;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const RATE_PER_SEC: u64 = 200;
const SECONDS: u64 = 10;
const SLACK_DELAY: Duration = Duration::from_secs(2);
const SIGNING_SECRET: &str = "benchmark-signing-secret";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "ok": true })).set_delay(SLACK_DELAY))
        .mount(&slack)
        .await;
    let dir = tempfile::tempdir()?;
    let db = Db::connect(&format!("sqlite://{}", dir.path().join("bench.db").display())).await?;
    let options = SlackOptions {
        bot_token: Secret::new("xoxb-benchmark"),
        signing_secret: Secret::new(SIGNING_SECRET),
        api_url: format!("{}/api", slack.uri()),
    };
    let state = SlackState::new(options, db.clone(), Settings::default(), Arc::new(SystemClock))?;
    let app = serve_on_loopback(state.clone(), db.clone()).await?;
    let url = app.url("/slack/commands");
    let client = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;
    let secret = Secret::new(SIGNING_SECRET);

    let total = RATE_PER_SEC * SECONDS;
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / RATE_PER_SEC));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut sends = Vec::with_capacity(total as usize);
    let started = Instant::now();
    for n in 0..total {
        ticker.tick().await;
        // A mix of commands that reply through the (slow) response_url.
        let text = if n % 2 == 0 { "help" } else { "list" };
        let body = serde_urlencoded::to_string([
            ("user_id", "U0LOAD"),
            ("channel_id", "CGENERAL"),
            ("command", "/incident"),
            ("text", text),
            ("response_url", &format!("{}/response/{n}", slack.uri())),
            ("trigger_id", &format!("{n}.load.trigger")),
        ])?;
        let ts = chrono::Utc::now().timestamp().to_string();
        let signature = sign(&secret, &ts, body.as_bytes());
        let request = client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", ts)
            .header("x-slack-signature", signature)
            .body(body);
        sends.push(tokio::spawn(async move {
            let sent = Instant::now();
            let status = request.send().await.map(|r| r.status().as_u16());
            (sent.elapsed(), status)
        }));
    }
    let mut latencies = Vec::with_capacity(sends.len());
    let mut failures = 0;
    for send in sends {
        match send.await? {
            (latency, Ok(200)) => latencies.push(latency),
            _ => failures += 1,
        }
    }
    let sending_took = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "requests: {total} at {RATE_PER_SEC}/s over {:.1} s; non-200 or failed: {failures}",
        sending_took.as_secs_f64()
    );
    println!("fake Slack delay: {} s per call", SLACK_DELAY.as_secs());
    if !latencies.is_empty() {
        println!(
            "ack latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            at(0.50).as_secs_f64() * 1000.0,
            at(0.99).as_secs_f64() * 1000.0,
            latencies[latencies.len() - 1].as_secs_f64() * 1000.0
        );
    }
    println!("background replies still running at the end: {}", state.tasks().len());
    state.shutdown(Duration::from_secs(10)).await;
    app.shutdown.cancel();
    db.close().await;
    Ok(())
}
