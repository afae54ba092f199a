//! The Events API and restart catch-up: timeline capture with Slack's retries and
//! downtime, against a real SQLite file and wiremock as Slack; and `serve`'s start-up,
//! through the real binary.

use std::time::Duration;

use bot::secret::Secret;
use bot::slack::catchup;
use bot::slack::signature::sign;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::process_support::{self, Served};
use crate::slack_support::*;

fn ts(offset_secs: i64, micros: u32) -> String {
    format!("{}.{micros:06}", now_unix() + offset_secs)
}

#[tokio::test]
async fn url_verification_echoes_the_challenge() {
    let app = spawn_app().await;
    let body = json!({ "token": "x", "challenge": "abc123", "type": "url_verification" }).to_string();
    let response = app.post_signed("/slack/events", "application/json", &body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<serde_json::Value>().await.unwrap()["challenge"], "abc123");
}

#[tokio::test]
async fn the_same_event_delivered_four_times_is_stored_once() {
    let app = spawn_app().await;
    let channel = app.declare("U0ALICE", "sev2 DB down").await;
    let event = message_event(&channel, "U0BOB", &ts(1, 100), "replica lag is 40s");
    for retry in [None, Some(1), Some(2), Some(3)] {
        let response = app.event("Ev0001", event.clone(), retry).await;
        assert_eq!(response.status(), 200);
    }
    // Concurrent duplicates of another event, as Slack sends when an ack was slow.
    let other = message_event(&channel, "U0BOB", &ts(2, 200), "failing over");
    let (a, b, c, d) = tokio::join!(
        app.event("Ev0002", other.clone(), None),
        app.event("Ev0002", other.clone(), Some(1)),
        app.event("Ev0002", other.clone(), Some(2)),
        app.event("Ev0002", other.clone(), Some(3)),
    );
    for response in [a, b, c, d] {
        assert_eq!(response.status(), 200);
    }
    assert_eq!(app.message_count(1).await, 2);
    let timeline = app.db.timeline(1, false).await.unwrap();
    let texts: Vec<&str> =
        timeline.iter().filter(|e| e.kind == storage::EntryKind::Message).map(|e| e.text.as_str()).collect();
    assert_eq!(texts, ["replica lag is 40s", "failing over"]);
    // The same message under a new event id is still one row (dedupe by ts).
    app.event("Ev0003", event, None).await;
    assert_eq!(app.message_count(1).await, 2);
}

#[tokio::test]
async fn edits_deletions_reactions_and_pins_reach_the_timeline() {
    let app = spawn_app().await;
    let channel = app.declare("U0ALICE", "sev2 DB down").await;
    let (first, second, third) = (ts(1, 1), ts(2, 2), ts(3, 3));
    app.event("Ev1", message_event(&channel, "U0BOB", &first, "disk is full"), None).await;
    app.event("Ev2", message_event(&channel, "U0BOB", &second, "rotating logs"), None).await;
    app.event("Ev3", message_event(&channel, "U0CAROL", &third, "oops wrong channel"), None).await;
    // Skipped: the bot's own post, a channel join, another channel.
    let mut bot_post = message_event(&channel, "U0BOT", &ts(4, 4), "🚨 kick-off");
    bot_post["bot_id"] = json!("B0BOT");
    app.event("Ev4", bot_post, None).await;
    let mut join = message_event(&channel, "U0DAVE", &ts(5, 5), "<@U0DAVE> has joined the channel");
    join["subtype"] = json!("channel_join");
    app.event("Ev5", join, None).await;
    app.event("Ev6", message_event("COTHER", "U0BOB", &ts(6, 6), "lunch?"), None).await;
    assert_eq!(app.message_count(1).await, 3);

    let edit = json!({
        "type": "message", "subtype": "message_changed", "channel": channel, "event_ts": ts(7, 7), "ts": ts(7, 7),
        "message": { "type": "message", "user": "U0BOB", "text": "disk is full on db-1", "ts": first },
        "previous_message": { "type": "message", "user": "U0BOB", "text": "disk is full", "ts": first }
    });
    assert_eq!(app.event("Ev7", edit, None).await.status(), 200);
    let delete = json!({ "type": "message", "subtype": "message_deleted", "channel": channel, "deleted_ts": third, "ts": ts(8, 8), "event_ts": ts(8, 8) });
    assert_eq!(app.event("Ev8", delete, None).await.status(), 200);
    let star = json!({ "type": "reaction_added", "user": "U0ALICE", "reaction": "star", "item": { "type": "message", "channel": channel, "ts": first }, "event_ts": ts(9, 9) });
    app.event("Ev9", star, None).await;
    let thumbs = json!({ "type": "reaction_added", "user": "U0ALICE", "reaction": "+1", "item": { "type": "message", "channel": channel, "ts": third }, "event_ts": ts(9, 10) });
    app.event("Ev10", thumbs, None).await;
    let pin = json!({ "type": "pin_added", "user": "U0ALICE", "channel_id": channel,
        "item": { "type": "message", "channel": channel, "message": { "type": "message", "user": "U0BOB", "text": "rotating logs", "ts": second } },
        "event_ts": ts(10, 10) });
    app.event("Ev11", pin, None).await;

    let by_source = |t: &str| format!("slack:{channel}:{t}");
    let first_entry = app.db.entry_by_source(&by_source(&first).as_str().into()).await.unwrap().unwrap();
    assert_eq!(first_entry.text, "disk is full on db-1");
    assert!(first_entry.edited_at.is_some());
    assert!(first_entry.is_key, "⭐ marks it key");
    let second_entry = app.db.entry_by_source(&by_source(&second).as_str().into()).await.unwrap().unwrap();
    assert!(second_entry.is_key, "the pin marks it key");
    let third_entry = app.db.entry_by_source(&by_source(&third).as_str().into()).await.unwrap().unwrap();
    assert!(third_entry.deleted_at.is_some());
    assert!(!third_entry.is_key, "👍 is not a key reaction");
}

#[tokio::test]
async fn restart_catch_up_stores_missed_messages_without_duplicates() {
    let first_run = spawn_app().await;
    let channel = first_run.declare("U0ALICE", "sev2 DB down").await;
    let seen = ts(1, 100);
    first_run.event("Ev1", message_event(&channel, "U0BOB", &seen, "before the restart"), None).await;
    let slack_db_url = first_run.db_url.clone();
    first_run.app.shutdown.cancel();
    first_run.db.close().await;
    let dir = first_run.dir;

    // The bot was down while three people talked; then it starts again on the same file.
    let app = spawn_app_on(dir, &slack_db_url).await;
    let (missed_1, missed_2) = (ts(2, 200), ts(3, 300));
    let mut bot_post = message_event(&channel, "U0BOT", &ts(3, 400), "status update");
    bot_post["bot_id"] = json!("B0BOT");
    let mut join = message_event(&channel, "U0DAVE", &ts(3, 500), "joined");
    join["subtype"] = json!("channel_join");
    let history = json!({
        "ok": true,
        "messages": [join, bot_post, message_event(&channel, "U0CAROL", &missed_2, "db-1 is back"),
                     message_event(&channel, "U0BOB", &missed_1, "failing over now")],
        "has_more": false
    });
    Mock::given(method("POST"))
        .and(path("/api/conversations.history"))
        .respond_with(ResponseTemplate::new(200).set_body_json(history))
        .with_priority(1)
        .mount(&app.slack)
        .await;

    let plan = catchup::plan(app.state.core()).await.unwrap();
    assert_eq!(plan, vec![catchup::Start { channel_id: channel.clone(), oldest_ts: seen.clone() }]);
    let report = catchup::run(&app.state, &plan).await;
    assert_eq!((report.stored, report.duplicates, report.failed_channels), (2, 0, 0));
    let calls = app.calls_to("conversations.history").await;
    assert_eq!(calls[0]["channel"], channel.as_str());
    assert_eq!(calls[0]["oldest"], seen.as_str());
    assert_eq!(calls[0]["inclusive"], "false");

    let texts: Vec<String> = app
        .db
        .timeline(1, false)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == storage::EntryKind::Message)
        .map(|e| e.text)
        .collect();
    assert_eq!(texts, ["before the restart", "failing over now", "db-1 is back"]);

    // Running it again (or Slack also delivering the live events) adds nothing.
    let again = catchup::run(&app.state, &plan).await;
    assert_eq!((again.stored, again.duplicates), (0, 2));
    app.event("Ev9", message_event(&channel, "U0CAROL", &missed_2, "db-1 is back"), None).await;
    assert_eq!(app.message_count(1).await, 3);
    // The next restart starts after the newest stored message.
    let next = catchup::plan(app.state.core()).await.unwrap();
    assert_eq!(next[0].oldest_ts, missed_2);
}

/// `incidentbot serve` itself (the binary on a free port, against a fake Slack): with
/// neither Slack secret it serves no Slack route and calls no Slack; with one of them it
/// refuses to start; with both it mounts the routes and catches up: what was said in an
/// open incident channel while it was down is fetched and stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_start_up_mounts_slack_only_with_both_secrets_and_catches_up() {
    // An earlier run declared an incident on Slack; then the bot was down for a while.
    let earlier = spawn_app().await;
    let channel = earlier.declare("U0ALICE", "sev2 DB down").await;
    let db_url = earlier.db_url.clone();
    earlier.app.shutdown.cancel();
    earlier.db.close().await;
    let dir = earlier.dir;

    let slack = process_support::fake_slack().await;
    let missed = ts(2, 1);
    Mock::given(method("POST"))
        .and(path("/api/conversations.history"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ok": true, "messages": [message_event(&channel, "U0BOB", &missed, "said while down")], "has_more": false
        })))
        .with_priority(1)
        .mount(&slack)
        .await;
    let base = [
        ("DATABASE_URL", db_url.clone()),
        ("SLACK_API_URL", format!("{}/api", slack.uri())),
        ("INCIDENTBOT_LEASE_TTL_MS", "1000".to_string()),
    ];
    let http = reqwest::Client::new();
    let challenge = json!({ "token": "x", "challenge": "c-123", "type": "url_verification" }).to_string();
    let signed_challenge = |served: &Served| {
        let stamp = now_unix().to_string();
        let signature = sign(&Secret::new(process_support::SLACK_SECRET), &stamp, challenge.as_bytes());
        http.post(served.url("/slack/events"))
            .header("content-type", "application/json")
            .header("x-slack-request-timestamp", stamp)
            .header("x-slack-signature", signature)
            .body(challenge.clone())
            .send()
    };

    // Neither secret: healthy without Slack, no Slack route, no call to Slack.
    let mut without = Served::start(dir.path(), "without-slack", &base);
    let (_, health) = without.wait_for_health(Duration::from_secs(30), |status, _| status == 200).await;
    assert_eq!(health["platforms"], json!({}), "{health}");
    assert_eq!(signed_challenge(&without).await.unwrap().status(), 404, "Slack's routes are mounted");
    assert!(without.terminate(Duration::from_secs(30)).success(), "{}", without.logs());
    assert!(slack.received_requests().await.unwrap().is_empty(), "Slack was called without secrets");

    // One secret: `serve` refuses to start and says which are needed.
    for (key, value) in
        [("SLACK_BOT_TOKEN", process_support::SLACK_TOKEN), ("SLACK_SIGNING_SECRET", process_support::SLACK_SECRET)]
    {
        let output = process_support::incidentbot()
            .arg("serve")
            .envs(base.iter().map(|(k, v)| (*k, v.as_str())))
            .env("PORT", process_support::free_port().to_string())
            .env(key, value)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "serve started with only {key}: {stderr}");
        assert!(stderr.contains("SLACK_BOT_TOKEN") && stderr.contains("SLACK_SIGNING_SECRET"), "{stderr}");
    }
    assert!(slack.received_requests().await.unwrap().is_empty(), "Slack was called with one secret");

    // Both: Slack's routes answer, and the catch-up stored the message said while down.
    let mut envs = base.to_vec();
    envs.push(("SLACK_BOT_TOKEN", process_support::SLACK_TOKEN.to_string()));
    envs.push(("SLACK_SIGNING_SECRET", process_support::SLACK_SECRET.to_string()));
    let mut with = Served::start(dir.path(), "with-slack", &envs);
    let (_, health) = with.wait_for_health(Duration::from_secs(30), |status, _| status == 200).await;
    assert_eq!(health["platforms"]["slack"], "ok", "{health}");
    let answer = signed_challenge(&with).await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.json::<serde_json::Value>().await.unwrap()["challenge"], "c-123");
    let fetched = process_support::eventually(Duration::from_secs(10), || async {
        process_support::calls_to(&slack, "conversations.history").await == 1
    })
    .await;
    assert!(fetched, "no catch-up; logs:\n{}", with.logs());
    assert!(with.terminate(Duration::from_secs(30)).success(), "{}", with.logs());
    let history = slack.received_requests().await.unwrap();
    let history: Vec<_> = history.iter().filter(|r| r.url.path() == "/api/conversations.history").collect();
    assert_eq!(history.len(), 1);
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&history[0].body).unwrap();
    assert!(form.contains(&("channel".to_string(), channel.clone())), "{form:?}");

    let db = storage::Db::connect(&db_url).await.unwrap();
    let entry =
        db.entry_by_source(&format!("slack:{channel}:{missed}").into()).await.unwrap().expect("the missed message");
    assert_eq!((entry.author.as_str(), entry.text.as_str()), ("U0BOB", "said while down"));
    db.close().await;
}

#[tokio::test]
async fn an_unfurl_is_not_an_edit() {
    let app = spawn_app().await;
    let channel = app.declare("U0ALICE", "sev2 DB down").await;
    let first = ts(1, 1);
    app.event("Ev1", message_event(&channel, "U0BOB", &first, "see https://status.example"), None).await;
    let unfurl = json!({
        "type": "message", "subtype": "message_changed", "channel": channel, "event_ts": ts(2, 2), "ts": ts(2, 2),
        "message": { "type": "message", "user": "U0BOB", "text": "see https://status.example", "ts": first, "attachments": [{}] },
        "previous_message": { "type": "message", "user": "U0BOB", "text": "see https://status.example", "ts": first }
    });
    app.event("Ev2", unfurl, None).await;
    let entry = app.db.entry_by_source(&format!("slack:{channel}:{first}").into()).await.unwrap().unwrap();
    assert!(entry.edited_at.is_none());
}
