//! Faults from Slack's Web API: 500s, 429 with `Retry-After`, answers that never come,
//! and dropped connections. Retries are bounded and backed off, nothing is posted twice,
//! no reminder is lost or doubled, and new commands are acknowledged throughout.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bot::secret::Secret;
use bot::slack::local::serve_on_loopback;
use bot::slack::{SlackOptions, SlackState};
use chrono::{DateTime, Utc};
use commands::followup::{FollowupSettings, Followups};
use commands::{Clock, Invocation, ManualClock};
use serde_json::json;
use storage::Db;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::slack_support::*;

/// A slash command is acknowledged quickly even while Slack misbehaves.
async fn assert_still_acks(app: &TestApp) {
    let started = Instant::now();
    assert_eq!(app.command("U0CAROL", "CGENERAL", "help").await.status(), 200);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(1), "a command took {took:?} to be acknowledged");
}

#[tokio::test]
async fn rate_limits_are_waited_out_and_the_channel_is_created_once() {
    let app = spawn_app().await;
    Mock::given(method("POST"))
        .and(path("/api/conversations.create"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&app.slack)
        .await;
    let started = Instant::now();
    assert_eq!(app.command("U0ALICE", "CGENERAL", "declare sev2 API slow").await.status(), 200);
    assert_still_acks(&app).await;
    app.settle().await;
    // Two waits of the announced second each, then success.
    assert!(started.elapsed() >= Duration::from_secs(2), "Retry-After was not honoured");
    assert_eq!(app.calls_to("conversations.create").await.len(), 3);
    assert!(app.db.incident(1).await.unwrap().unwrap().channel_id.is_some());
    let kickoffs = app.calls_to("chat.postMessage").await;
    assert_eq!(kickoffs.len(), 2, "one kick-off and one announcement, each once: {kickoffs:?}");
}

#[tokio::test]
async fn endless_rate_limits_end_after_a_bounded_number_of_attempts() {
    let app = spawn_app().await;
    let channel = app.declare("U0ALICE", "sev3 Search slow").await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .with_priority(1)
        .mount(&app.slack)
        .await;
    let before = app.calls_to("chat.postMessage").await.len();
    assert_eq!(app.command("U0ALICE", &channel, "update still looking").await.status(), 200);
    assert_still_acks(&app).await;
    app.settle().await;
    let attempts = app.calls_to("chat.postMessage").await.len() - before;
    // The update goes to the incident channel and to announcements: 4 attempts each at most.
    assert!(attempts <= 8, "{attempts} attempts: retries are not bounded");
    assert!(attempts >= 4, "{attempts} attempts: rate limits were not retried");
    // The timeline still holds the update once: the core's write does not depend on Slack.
    let updates =
        app.db.timeline(1, false).await.unwrap().into_iter().filter(|e| e.kind == storage::EntryKind::Update).count();
    assert_eq!(updates, 1);
}

#[tokio::test]
async fn server_errors_are_not_posted_twice() {
    let app = spawn_app().await;
    let channel = app.declare("U0ALICE", "sev3 Queue backlog").await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(ResponseTemplate::new(500))
        .with_priority(1)
        .mount(&app.slack)
        .await;
    let before = app.calls_to("chat.postMessage").await.len();
    assert_eq!(app.command("U0ALICE", &channel, "update draining the queue").await.status(), 200);
    assert_still_acks(&app).await;
    app.settle().await;
    // A 500 may mean the post went through; it is not repeated blindly.
    let posts = app.calls_to("chat.postMessage").await.len() - before;
    assert!(posts <= 2, "{posts} posts for one update (one per channel at most)");
    // The user hears about it privately.
    let replies = app.private_replies().await;
    assert!(!replies.is_empty());
}

#[tokio::test]
async fn a_hanging_slack_does_not_stop_commands_from_being_acknowledged() {
    let app = spawn_app().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "ok": true })).set_delay(Duration::from_secs(30)),
        )
        .with_priority(1)
        .mount(&app.slack)
        .await;
    for n in 0..10 {
        let started = Instant::now();
        let status = app.command("U0ALICE", "CGENERAL", &format!("declare sev2 Hanging {n}")).await.status();
        assert_eq!(status, 200);
        assert!(started.elapsed() < Duration::from_secs(1));
    }
    assert_still_acks(&app).await;
    // Not settled: the declares are still waiting on Slack (they give up after the
    // client's 15 s timeout).
}

/// A "Slack" that accepts connections and closes them at once.
async fn dropping_server() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (url, accepted)
}

#[tokio::test]
async fn dropped_connections_fail_cleanly_and_the_bot_keeps_answering() {
    let responses = wiremock::MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&responses).await;
    let (api_url, accepted) = dropping_server().await;
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&format!("sqlite://{}", dir.path().join("bot.db").display())).await.unwrap();
    let options = SlackOptions {
        bot_token: Secret::new(TOKEN),
        signing_secret: Secret::new(SIGNING_SECRET),
        api_url: format!("{api_url}/api"),
    };
    let state = SlackState::new(options, db.clone(), settings(), Arc::new(commands::SystemClock)).unwrap();
    let app = serve_on_loopback(state.clone(), db.clone()).await.unwrap();
    let http = reqwest::Client::new();
    for n in 0..5 {
        let body = serde_urlencoded::to_string([
            ("user_id", "U0ALICE"),
            ("channel_id", "CGENERAL"),
            ("text", &format!("declare sev2 Dropped {n}")),
            ("trigger_id", &format!("drop.{n}")),
            ("response_url", &format!("{}/response/{n}", responses.uri())),
        ])
        .unwrap();
        let ts = now_unix().to_string();
        let signature = bot::slack::signature::sign(&Secret::new(SIGNING_SECRET), &ts, body.as_bytes());
        let started = Instant::now();
        let response = http
            .post(app.url("/slack/commands"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", ts)
            .header("x-slack-signature", signature)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(started.elapsed() < Duration::from_secs(1));
    }
    state.tasks().close();
    tokio::time::timeout(Duration::from_secs(20), state.tasks().wait()).await.unwrap();
    // Each declare tried to create its channel a bounded number of times.
    let tries = accepted.load(Ordering::SeqCst);
    assert!((5..=5 * 4 * 2).contains(&tries), "{tries} connections for 5 declares");
    // Every user was told, privately, that it did not work.
    let replies = responses.received_requests().await.unwrap();
    assert_eq!(replies.len(), 5);
    for reply in replies {
        let text = String::from_utf8_lossy(&reply.body).to_string();
        assert!(!text.contains(TOKEN) && !text.contains(SIGNING_SECRET));
    }
    // No incident is left without a channel: either none was written or it carries none
    // and is reported; in both cases no channel id is invented.
    for incident in db.open_incidents().await.unwrap() {
        assert!(incident.channel_id.is_none(), "a channel id was recorded for a channel never created");
    }
    app.shutdown.cancel();
}

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

#[tokio::test]
async fn reminders_are_neither_lost_nor_doubled_when_slack_fails() {
    let slack_app = spawn_app().await; // only for its fake Slack
    let clock = ManualClock::new(utc("2026-03-02T08:00:00Z")); // a Monday
    let options = SlackOptions {
        bot_token: Secret::new(TOKEN),
        signing_secret: Secret::new(SIGNING_SECRET),
        api_url: format!("{}/api", slack_app.slack.uri()),
    };
    let state = SlackState::new(options, slack_app.db.clone(), settings(), Arc::new(clock.clone())).unwrap();
    let core = state.core().clone();
    let run = |text: &str, channel: &str, n: usize| Invocation {
        source_id: format!("faults-{n}").into(),
        user: "U0ALICE".into(),
        channel_id: channel.into(),
        text: text.into(),
    };
    let channel = core.run(&run("declare sev3 Slow search", "CGENERAL", 1)).await.unwrap().opened.unwrap().id;
    let added =
        core.run(&run("action add Fix the indexer <@U0BOB> due:2026-03-03", channel.as_str(), 2)).await.unwrap();
    assert!(!added.is_error, "{added:?}");
    let settings = FollowupSettings {
        attempts: 3,
        backoff: Duration::from_millis(10),
        ..FollowupSettings::defaults(chrono_tz::Tz::UTC).unwrap()
    };
    let followups = Followups::new(core.clone(), settings);
    followups.tick(clock.now()).await.unwrap();

    // Wednesday 09:00: Slack fails the first attempt to open the DM with a 500; the
    // delivery's bounded, backed-off retry gets through.
    Mock::given(method("POST"))
        .and(path("/api/conversations.open"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&slack_app.slack)
        .await;
    let dm_posts = || async {
        slack_app.calls_to("chat.postMessage").await.into_iter().filter(|b| b["channel"] == "D0DM1").count()
    };
    clock.set(utc("2026-03-04T09:00:30Z"));
    let report = followups.tick(clock.now()).await.unwrap();
    assert_eq!(report.sent, 1, "{report:?}");
    assert_eq!(dm_posts().await, 1);
    // Later ticks the same day, and a restart's catch-up, send nothing more.
    for minutes in [5, 30, 120] {
        clock.set(utc("2026-03-04T09:00:30Z") + chrono::Duration::minutes(minutes));
        followups.tick(clock.now()).await.unwrap();
    }
    let restarted = Followups::new(
        core.clone(),
        FollowupSettings {
            backoff: Duration::from_millis(10),
            ..FollowupSettings::defaults(chrono_tz::Tz::UTC).unwrap()
        },
    );
    restarted.tick(clock.now()).await.unwrap();
    assert_eq!(dm_posts().await, 1, "a reminder was doubled");
    // The next business day brings the next one.
    clock.set(utc("2026-03-05T09:00:30Z"));
    followups.tick(clock.now()).await.unwrap();
    assert_eq!(dm_posts().await, 2, "the next day's reminder was lost");
}
