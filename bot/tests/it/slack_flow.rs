//! Slash commands, modals and buttons through the real router, with wiremock as Slack.

use std::time::{Duration, Instant};

use commands::{ButtonAction, Chat, Invocation, Message};
use serde_json::{json, Value};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::slack_support::*;

fn methods(calls: &[(String, Value)]) -> Vec<&str> {
    calls.iter().map(|(m, _)| m.as_str()).collect()
}

#[tokio::test]
async fn declare_by_slash_command_sets_up_the_channel() {
    let app = spawn_app().await;
    let response =
        app.command("U0ALICE", "CGENERAL", "declare sev2 <!channel> DB down & <https://evil.example|click>").await;
    assert_eq!(response.status(), 200);
    app.settle().await;

    let calls = app.calls().await;
    assert_eq!(
        methods(&calls),
        [
            "conversations.create",
            "users.info",
            "conversations.setTopic",
            "conversations.invite",
            "chat.postMessage",
            "pins.add",
            "chat.postMessage"
        ]
    );
    let incident = app.db.incident(1).await.unwrap().unwrap();
    let channel = incident.channel_id.clone().unwrap();
    assert!(calls[0].1["name"].as_str().unwrap().starts_with("inc-1-channel-db-down"));
    assert_eq!(calls[3].1, json!({ "channel": channel, "users": "U0ALICE" }));
    // The topic is plain text: the title as typed, no ping, the commander by name.
    let topic = calls[2].1["topic"].as_str().unwrap();
    assert!(topic.contains("<\u{2060}!channel> DB down & <\u{2060}https://evil.example|click>"), "{topic}");
    assert!(topic.contains("@Alice"), "{topic}");
    assert!(!topic.contains("U0ALICE") && !topic.contains("&amp;"), "{topic}");

    let kickoff = &calls[4].1;
    assert_eq!(kickoff["channel"], channel.as_str());
    let actions = kickoff["blocks"].as_array().unwrap().iter().find(|b| b["type"] == "actions").unwrap();
    assert_eq!(actions["elements"][0]["action_id"], "ack:1");
    assert_eq!(calls[5].1, json!({ "channel": channel, "timestamp": "1800000000.000005" }));
    let announcement = &calls[6].1;
    assert_eq!(announcement["channel"], ANNOUNCEMENTS);
    assert!(announcement["text"].as_str().unwrap().contains(&format!("<#{channel}>")));

    // User text is escaped everywhere it is echoed: no @channel ping, no fake link.
    for (_, body) in &calls {
        let raw = body.to_string();
        assert!(!raw.contains("<!channel>"), "unescaped mention in {raw}");
        assert!(!raw.contains("<https://evil"), "unescaped link in {raw}");
    }
    assert!(kickoff.to_string().contains("&lt;!channel&gt; DB down &amp; &lt;https://evil.example|click&gt;"));

    let replies = app.private_replies().await;
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0]["response_type"], "ephemeral");
    assert!(replies[0]["text"].as_str().unwrap().contains("Declared *INC-1*"), "{}", replies[0]);
}

#[tokio::test]
async fn name_taken_gets_a_suffix() {
    let app = spawn_app().await;
    Mock::given(method("POST"))
        .and(path("/api/conversations.create"))
        .and(body_partial_json(json!({ "name": "inc-1-db-down" })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "ok": false, "error": "name_taken" })))
        .with_priority(1)
        .mount(&app.slack)
        .await;
    let channel = app.declare("U0ALICE", "sev2 DB down").await;
    let creates = app.calls_to("conversations.create").await;
    assert_eq!(creates.len(), 2);
    assert_eq!(creates[1]["name"], "inc-1-db-down-2");
    let incident = app.db.incident(1).await.unwrap().unwrap();
    assert_eq!(incident.channel_name, "inc-1-db-down-2");
    assert_eq!(incident.channel_id.as_ref().map(commands::ChannelId::as_str), Some(channel.as_str()));
}

#[tokio::test]
async fn slow_slack_still_gets_an_immediate_ack() {
    let app = spawn_app().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "ok": true })).set_delay(Duration::from_secs(10)),
        )
        .with_priority(1)
        .mount(&app.slack)
        .await;
    let started = Instant::now();
    let ack =
        tokio::time::timeout(Duration::from_secs(1), app.command("U0ALICE", "CGENERAL", "declare sev1 Checkout down"))
            .await
            .expect("the ack must not wait for Slack");
    assert_eq!(ack.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(1));
    // The work did start: the (slow) channel creation is under way.
    assert_eq!(app.state.tasks().len(), 1);
}

#[tokio::test]
async fn rate_limit_is_waited_out_and_the_post_happens_once() {
    let app = spawn_app().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&app.slack)
        .await;
    let started = Instant::now();
    let posted = app.state.chat().post(&"C0INC1".into(), &Message::plain("hello")).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After was not honoured");
    assert_eq!(posted.channel_id, "C0INC1");
    let posts = app.calls_to("chat.postMessage").await;
    assert_eq!(posts.len(), 2, "one refused attempt, one post");
    assert_eq!(posts[0], posts[1]);
}

#[tokio::test]
async fn declare_without_title_opens_the_modal_and_its_submission_declares() {
    let app = spawn_app().await;
    app.command("U0ALICE", "CGENERAL", "declare").await;
    app.settle().await;
    let opens = app.calls_to("views.open").await;
    assert_eq!(opens.len(), 1);
    assert_eq!(opens[0]["trigger_id"], "1000.1.trigger");
    let view = &opens[0]["view"];
    assert_eq!(view["callback_id"], "declare");
    assert_eq!(view["blocks"].as_array().unwrap().len(), 3);
    assert!(app.db.incident(1).await.unwrap().is_none());

    // An empty title keeps the modal open with the error on the title.
    let submit = |title: &str| {
        json!({
            "type": "view_submission",
            "user": { "id": "U0ALICE" },
            "trigger_id": "2000.1.trigger",
            "view": {
                "id": "V0DECLARE",
                "callback_id": "declare",
                "private_metadata": view["private_metadata"],
                "blocks": view["blocks"],
                "state": { "values": {
                    "title": { "title": { "type": "plain_text_input", "value": title } },
                    "severity": { "severity": { "type": "plain_text_input", "value": "sev1" } },
                    "description": { "description": { "type": "plain_text_input", "value": "Payments fail" } }
                } }
            }
        })
    };
    let refused: Value = app.interaction(submit("")).await.json().await.unwrap();
    assert_eq!(refused["response_action"], "errors");
    assert!(refused["errors"]["title"].as_str().unwrap().contains("title"));
    assert!(app.db.incident(1).await.unwrap().is_none());

    let accepted = app.interaction(submit("Payments failing")).await;
    assert_eq!(accepted.status(), 200);
    assert_eq!(accepted.text().await.unwrap(), "");
    app.settle().await;
    let incident = app.db.incident(1).await.unwrap().unwrap();
    assert_eq!(incident.title, "Payments failing");
    assert_eq!(incident.severity, storage::Severity::Sev1);
    assert_eq!(incident.description.as_deref(), Some("Payments fail"));
    assert!(app.private_replies().await.iter().any(|r| r["text"].as_str().unwrap().contains("Declared")));
}

fn postmortem_submission(incident: i64, user: &str, answers: &[(&str, &str)]) -> Value {
    let values: serde_json::Map<String, Value> = answers
        .iter()
        .map(|(k, v)| (k.to_string(), json!({ *k: { "type": "plain_text_input", "value": v } })))
        .collect();
    json!({
        "type": "view_submission",
        "user": { "id": user },
        "view": {
            "id": format!("V0PM{}", answers.len()),
            "callback_id": format!("postmortem:{incident}"),
            "private_metadata": json!({ "u": user, "c": "CGENERAL" }).to_string(),
            "blocks": answers.iter().map(|(k, _)| json!({ "block_id": k })).collect::<Vec<_>>(),
            "state": { "values": values }
        }
    })
}

#[tokio::test]
async fn postmortem_modal_updates_and_a_complete_one_closes_the_incident() {
    let app = spawn_app().await;
    let channel = app.declare("U0ALICE", "sev2 DB down").await;
    let resolve = Invocation {
        source_id: "resolve-1".into(),
        user: "U0ALICE".into(),
        channel_id: channel.clone().into(),
        text: "resolve".into(),
    };
    app.state.core().run(&resolve).await.unwrap();

    // "Write postmortem" on the resolve message opens the modal with all ten fields.
    let press = json!({
        "type": "block_actions",
        "user": { "id": "U0ALICE" },
        "channel": { "id": channel },
        "trigger_id": "3000.1.trigger",
        "response_url": format!("{}/response/button", app.slack.uri()),
        "actions": [{ "action_id": ButtonAction::WritePostmortem { incident: 1 }.encode(), "action_ts": "1800000001.000100" }]
    });
    assert_eq!(app.interaction(press).await.status(), 200);
    app.settle().await;
    let opens = app.calls_to("views.open").await;
    assert_eq!(opens.len(), 1);
    assert_eq!(opens[0]["trigger_id"], "3000.1.trigger");
    assert_eq!(opens[0]["view"]["callback_id"], "postmortem:1");
    // Ten fields, and the contributing-factor tags after the free-text factors.
    let blocks = opens[0]["view"]["blocks"].as_array().unwrap();
    assert_eq!(blocks.len(), 11);
    assert_eq!(blocks[5]["block_id"], "factor_tags");
    assert_eq!(blocks[5]["element"]["type"], "multi_static_select");

    // A partial answer is saved; the incident stays resolved.
    let partial =
        app.interaction(postmortem_submission(1, "U0ALICE", &[("summary", "The primary ran out of disk.")])).await;
    assert_eq!(partial.status(), 200);
    app.settle().await;
    let written = app.db.postmortem(1).await.unwrap().unwrap();
    assert_eq!(written.summary.as_deref(), Some("The primary ran out of disk."));
    assert_eq!(app.db.incident(1).await.unwrap().unwrap().status, storage::Status::Resolved);

    // Anyone may write it, not only the commander; the edit is on the timeline with
    // its author.
    let by_other = app.interaction(postmortem_submission(1, "U0MALLORY", &[("impact", "EU checkout")])).await;
    assert_eq!(by_other.status(), 200);
    app.settle().await;
    assert_eq!(app.db.postmortem(1).await.unwrap().unwrap().impact.as_deref(), Some("EU checkout"));
    let timeline = app.db.timeline(1, false).await.unwrap();
    assert!(timeline.iter().any(|e| e.kind == storage::EntryKind::Postmortem && e.author == "U0MALLORY"));

    // An answer over the limit is a field error.
    let long = "y".repeat(3001);
    let too_long: Value =
        app.interaction(postmortem_submission(1, "U0ALICE", &[("impact", &long)])).await.json().await.unwrap();
    assert_eq!(too_long["response_action"], "errors");
    assert!(too_long["errors"]["impact"].as_str().is_some());

    // All ten fields close it.
    let answers: Vec<(&str, &str)> =
        commands::postmortem::FIELDS.iter().map(|f| (f.key, "Written down carefully.")).collect();
    let complete = app.interaction(postmortem_submission(1, "U0ALICE", &answers)).await;
    assert_eq!(complete.status(), 200);
    app.settle().await;
    let incident = app.db.incident(1).await.unwrap().unwrap();
    assert_eq!(incident.status, storage::Status::Closed);
    let written = app.db.postmortem(1).await.unwrap().unwrap();
    assert_eq!(written.lessons.as_deref(), Some("Written down carefully."));
}

#[tokio::test]
async fn acknowledge_button_is_recorded_and_replied_privately() {
    let app = spawn_app().await;
    let channel = app.declare("U0ALICE", "sev2 DB down").await;
    let press = json!({
        "type": "block_actions",
        "user": { "id": "U0BOB" },
        "channel": { "id": channel },
        "trigger_id": "4000.1.trigger",
        "response_url": format!("{}/response/ack", app.slack.uri()),
        "actions": [{ "action_id": "ack:1", "action_ts": "1800000002.000100" }]
    });
    assert_eq!(app.interaction(press).await.status(), 200);
    app.settle().await;
    let incident = app.db.incident(1).await.unwrap().unwrap();
    assert!(incident.acknowledged_at.is_some());
    let posts = app.calls_to("chat.postMessage").await;
    assert!(posts
        .iter()
        .any(|p| p["channel"] == channel.as_str() && p["text"].as_str().unwrap().contains("acknowledged")));
}
