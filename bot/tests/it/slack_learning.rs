//! Slack and learning as a system: a private incident opens a private channel (and is
//! never announced), and the postmortem modal's tag multi-select sets the incident's
//! contributing-factor tags.

use commands::Invocation;
use serde_json::{json, Value};
use storage::Attachment;

use crate::slack_support::*;

fn methods(calls: &[(String, Value)]) -> Vec<&str> {
    calls.iter().map(|(m, _)| m.as_str()).collect()
}

#[tokio::test]
async fn a_private_incident_opens_a_private_channel_and_is_never_announced() {
    let app = spawn_app().await;
    assert_eq!(app.command("U0ALICE", "CGENERAL", "declare private sev1 Leaked API key").await.status(), 200);
    app.settle().await;
    let calls = app.calls().await;
    assert_eq!(calls[0].0, "conversations.create");
    assert_eq!(calls[0].1["is_private"], true, "{:?}", calls[0].1);
    assert!(calls[0].1["name"].as_str().unwrap().starts_with("inc-1-leaked-api-key"));
    let channel = app.db.incident(1).await.unwrap().unwrap().channel_id.unwrap();
    // The declarer is let in right after the channel exists.
    assert_eq!(calls[1], ("conversations.invite".to_string(), json!({ "channel": channel, "users": "U0ALICE" })));
    assert!(
        calls.iter().all(|(m, body)| m != "chat.postMessage" || body["channel"] != ANNOUNCEMENTS),
        "announced: {:?}",
        methods(&calls)
    );

    // An invite is recorded and lets the person into the private channel.
    let invite = Invocation {
        source_id: "invite-1".into(),
        user: "U0ALICE".into(),
        channel_id: channel.clone(),
        text: "invite <@U0DANA|dana>".into(),
    };
    let outcome = app.state.core().run(&invite).await.unwrap();
    assert!(!outcome.is_error, "{outcome:?}");
    let invites = app.calls_to("conversations.invite").await;
    assert!(invites.contains(&json!({ "channel": channel, "users": "U0DANA" })), "{invites:?}");
    assert_eq!(app.db.attached(Attachment::Invite, 1).await.unwrap(), vec!["U0DANA"]);

    // A public one stays public.
    app.declare("U0ALICE", "sev3 Search is slow").await;
    let creates = app.calls_to("conversations.create").await;
    assert_eq!(creates[1]["is_private"], false);
}

#[tokio::test]
async fn the_postmortem_modal_tag_multi_select_sets_the_factor_tags() {
    let app = spawn_app().await;
    let channel = app.declare("U0ALICE", "sev2 DB down").await;
    let open = Invocation {
        source_id: "pm-open".into(),
        user: "U0ALICE".into(),
        channel_id: channel.clone().into(),
        text: "postmortem".into(),
    };
    let outcome = app.state.core().run(&open).await.unwrap();
    let form = outcome.form.expect("the postmortem form");
    let view = bot::slack::render::modal(&form, "{}");
    let picker = view["blocks"].as_array().unwrap().iter().find(|b| b["block_id"] == "factor_tags").unwrap();
    assert_eq!(picker["element"]["type"], "multi_static_select");
    assert_eq!(picker["element"]["options"].as_array().unwrap().len(), 11);

    let submission = |view_id: &str, selected: &[&str]| {
        let selected: Vec<Value> =
            selected.iter().map(|t| json!({ "value": t, "text": { "type": "plain_text", "text": t } })).collect();
        json!({
            "type": "view_submission",
            "user": { "id": "U0ALICE" },
            "view": {
                "id": view_id,
                "callback_id": "postmortem:1",
                "private_metadata": json!({ "u": "U0ALICE", "c": channel }).to_string(),
                "blocks": [{ "block_id": "summary" }, { "block_id": "factor_tags" }],
                "state": { "values": {
                    "summary": { "summary": { "type": "plain_text_input", "value": "The primary ran out of disk." } },
                    "factor_tags": { "factor_tags": { "type": "multi_static_select", "selected_options": selected } }
                } }
            }
        })
    };
    let response = app.interaction(submission("V0TAGS1", &["capacity", "monitoring-gap"])).await;
    assert_eq!(response.status(), 200);
    app.settle().await;
    assert_eq!(app.db.attached(Attachment::Factor, 1).await.unwrap(), vec!["capacity", "monitoring-gap"]);
    assert_eq!(app.db.postmortem(1).await.unwrap().unwrap().summary.as_deref(), Some("The primary ran out of disk."));

    // Choosing none clears them: the picker sends the whole selection.
    assert_eq!(app.interaction(submission("V0TAGS2", &[])).await.status(), 200);
    app.settle().await;
    assert!(app.db.attached(Attachment::Factor, 1).await.unwrap().is_empty());
}
