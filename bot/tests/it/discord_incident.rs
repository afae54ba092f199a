//! The incident flow through Discord interactions: declare, refusals, buttons, the
//! two-part postmortem modal and autocomplete, against a fake Discord REST API.

use bot::discord::chat::Placement;
use bot::discord::interactions::handle_interaction;
use commands::{Chat, Invocation, Message};
use serde_json::{json, Value};
use serenity::all::Interaction;
use storage::Status;

use crate::discord_support::*;

async fn interact(fake: &Fake, name: &str) {
    let interaction: Interaction = fixture(name);
    handle_interaction(&fake.bot, &interaction).await.unwrap_or_else(|e| panic!("{name}: {e:#}"));
}

fn callback_path(id: &str, token: &str) -> String {
    format!("/interactions/{id}/{token}/callback")
}

fn original_path(token: &str) -> String {
    format!("/webhooks/{APP}/{token}/messages/@original")
}

/// The one callback of an interaction, and the deferred reply's completion if any.
fn callback<'a>(calls: &'a [Call], id: &str, token: &str) -> &'a Value {
    let found = find(calls, "POST", &callback_path(id, token));
    assert_eq!(found.len(), 1, "one callback for {id}: {calls:#?}");
    &found[0].body
}

fn custom_ids(components: &Value) -> Vec<String> {
    let mut ids = Vec::new();
    for row in components.as_array().into_iter().flatten() {
        for component in row["components"].as_array().into_iter().flatten() {
            if let Some(id) = component["custom_id"].as_str() {
                ids.push(id.to_string());
            }
        }
    }
    ids
}

#[tokio::test]
async fn declare_creates_the_channel_in_the_category_pins_the_kickoff_and_pings_nobody() {
    let fake = start().await;
    interact(&fake, "command_declare.json").await;
    let calls = calls(&fake.server).await;

    // Deferred first, privately.
    let first = &calls[0];
    assert_eq!(first.path, callback_path("1600000000000000001", "token-declare"));
    assert_eq!(first.body["type"], 5);
    assert_eq!(first.body["data"]["flags"], 64);

    let created = find(&calls, "POST", &format!("/guilds/{GUILD}/channels"));
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].body["name"], "inc-1-everyone-checkout-is-down");
    assert_eq!(created[0].body["parent_id"], CATEGORY.to_string());
    assert_eq!(created[0].body["type"], 0);

    let topic = find(&calls, "PATCH", &format!("/channels/{CHANNEL}"));
    assert_eq!(topic.len(), 1);
    let topic = topic[0].body["topic"].as_str().unwrap();
    assert!(topic.starts_with("INC-1 · sev2"), "{topic}");

    let kickoff = find(&calls, "POST", &format!("/channels/{CHANNEL}/messages"));
    assert_eq!(kickoff.len(), 1);
    let content = kickoff[0].body["content"].as_str().unwrap();
    assert!(content.contains("checkout is down"), "{content}");
    assert_eq!(custom_ids(&kickoff[0].body["components"]), vec!["ack:1"]);
    let pins = find(&calls, "PUT", &format!("/channels/{CHANNEL}/pins/{FIRST_POSTED}"));
    assert_eq!(pins.len(), 1, "the kick-off post is pinned");

    let announced = find(&calls, "POST", &format!("/channels/{ANNOUNCE}/messages"));
    assert_eq!(announced.len(), 1);
    assert!(announced[0].body["content"].as_str().unwrap().contains(&format!("<#{CHANNEL}>")));

    // `@everyone` in the title: every message allows no mentions and keeps the text inert.
    for posted in calls.iter().filter(|c| c.method == "POST" && c.path.ends_with("/messages")) {
        assert_eq!(posted.body["allowed_mentions"]["parse"], json!([]), "{posted:?}");
        assert_eq!(posted.body["allowed_mentions"]["users"], json!([]));
        assert_eq!(posted.body["allowed_mentions"]["roles"], json!([]));
        assert!(!posted.body["content"].as_str().unwrap().contains("@everyone"), "{posted:?}");
    }

    let done = find(&calls, "PATCH", &original_path("token-declare"));
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].body["allowed_mentions"]["parse"], json!([]));
    assert!(done[0].body["content"].as_str().unwrap().contains("Declared **INC-1**"));

    let incident = &fake.db.incident(1).await.unwrap().unwrap();
    assert_eq!(incident.channel_id, Some(CHANNEL.to_string().into()));
    assert_eq!(incident.platform, storage::Platform::Discord);
    assert_eq!(incident.commander.as_deref(), Some(ALICE));
    assert_eq!(incident.title, "@everyone checkout is down");
}

#[tokio::test]
async fn a_non_commander_resolving_gets_a_private_refusal_and_nothing_is_written() {
    let fake = start().await;
    declare(&fake.bot, "Checkout down").await;
    let db = &fake.db;
    let entries_before = db.count_entries().await.unwrap();
    let calls_before = calls(&fake.server).await.len();

    interact(&fake, "command_resolve_by_bob.json").await;
    let calls = calls(&fake.server).await;
    let new_calls = &calls[calls_before..];
    let defer = callback(new_calls, "1600000000000000003", "token-resolve-bob");
    assert_eq!(defer["data"]["flags"], 64, "the refusal is ephemeral");
    let reply = find(new_calls, "PATCH", &original_path("token-resolve-bob"));
    let text = reply[0].body["content"].as_str().unwrap();
    assert!(text.contains("Only the commander") && text.contains("resolve INC-1"), "{text}");
    assert!(new_calls.iter().all(|c| !c.path.starts_with("/channels/")), "nothing posted: {new_calls:#?}");

    assert_eq!(db.count_entries().await.unwrap(), entries_before);
    let incident = db.incident(1).await.unwrap().unwrap();
    assert_eq!(incident.status, Status::Investigating);
    assert!(incident.resolved_at.is_none());
}

#[tokio::test]
async fn a_command_with_subcommand_options_maps_to_the_core_command() {
    let fake = start().await;
    declare(&fake.bot, "Checkout down").await;
    interact(&fake, "command_assign.json").await;
    let incident = &fake.db.incident(1).await.unwrap().unwrap();
    assert_eq!(incident.comms.as_deref(), Some(BOB));
    let timeline = &fake.db.timeline(1, true).await.unwrap();
    assert!(timeline.iter().any(|e| e.kind == storage::EntryKind::Role), "{timeline:?}");
}

#[tokio::test]
async fn the_postmortem_takes_two_modals_of_what_is_missing_and_closes_the_incident() {
    let fake = start().await;
    declare(&fake.bot, "Checkout down").await;
    let resolved = fake
        .bot
        .core
        .run(&Invocation {
            source_id: "discord:interaction:resolve".into(),
            user: ALICE.into(),
            channel_id: CHANNEL.to_string().into(),
            text: "resolve".into(),
        })
        .await
        .unwrap();
    assert!(!resolved.is_error, "{resolved:?}");

    // `/incident postmortem` answers with the first modal, not a deferral.
    interact(&fake, "command_postmortem.json").await;
    let all = calls(&fake.server).await;
    let modal = callback(&all, "1600000000000000004", "token-postmortem");
    assert_eq!(modal["type"], 9);
    assert_eq!(modal["data"]["custom_id"], "modal:1:postmortem:1");
    assert_eq!(modal["data"]["title"], "Postmortem INC-1 (1/2)");
    assert_eq!(
        custom_ids(&modal["data"]["components"]),
        vec!["summary", "impact", "detection", "trigger", "contributing_factors"]
    );

    interact(&fake, "modal_postmortem_1.json").await;
    let all = calls(&fake.server).await;
    assert_eq!(callback(&all, "1600000000000000005", "token-modal-1")["data"]["flags"], 64);
    let saved = find(&all, "PATCH", &original_path("token-modal-1"));
    assert!(saved[0].body["content"].as_str().unwrap().contains("Saved Summary"), "{:?}", saved[0].body);
    // What comes next is the core's: the fields still missing.
    // The tag select menu (modals hold only text), then the way on.
    assert_eq!(custom_ids(&saved[0].body["components"]), vec!["tags:1", "pmcontinue:1:postmortem:1"]);

    // "Continue postmortem" opens a modal of the five fields still missing.
    interact(&fake, "button_continue_postmortem.json").await;
    let all = calls(&fake.server).await;
    let second = callback(&all, "1600000000000000006", "token-continue");
    assert_eq!(second["type"], 9);
    assert_eq!(second["data"]["custom_id"], "modal:1:postmortem:1");
    assert_eq!(
        custom_ids(&second["data"]["components"]),
        vec!["resolution", "went_well", "went_wrong", "got_lucky", "lessons"]
    );

    // `postmortem all` opens every field, pre-filled with what was written.
    let again: Interaction = fixture_with("command_postmortem.json", |v| {
        v["id"] = json!("1600000000000000010");
        v["token"] = json!("token-postmortem-again");
        v["data"]["options"][0]["options"] = json!([{ "name": "all", "type": 5, "value": true }]);
    });
    handle_interaction(&fake.bot, &again).await.unwrap();
    let all = calls(&fake.server).await;
    let prefilled = callback(&all, "1600000000000000010", "token-postmortem-again");
    assert_eq!(prefilled["data"]["custom_id"], "modal:1:postmortem-all:1");
    assert_eq!(
        prefilled["data"]["components"][0]["components"][0]["value"],
        "Checkout returned 500s for 40 minutes after a config push."
    );

    interact(&fake, "modal_postmortem_2.json").await;
    let all = calls(&fake.server).await;
    let closed = find(&all, "PATCH", &original_path("token-modal-2"));
    let text = closed[0].body["content"].as_str().unwrap();
    assert!(text.contains("is closed"), "{text}");
    // No Continue once closed; the tags can still be corrected.
    assert_eq!(custom_ids(&closed[0].body["components"]), vec!["tags:1"], "no Continue once closed");

    let db = &fake.db;
    let incident = db.incident(1).await.unwrap().unwrap();
    assert_eq!(incident.status, Status::Closed);
    let postmortem = db.postmortem(1).await.unwrap().unwrap();
    for (field, value) in [
        (&postmortem.summary, "Checkout returned"),
        (&postmortem.impact, "30%"),
        (&postmortem.detection, "alert"),
        (&postmortem.trigger, "pool size"),
        (&postmortem.contributing_factors, "canary"),
        (&postmortem.resolution, "Rolled"),
        (&postmortem.went_well, "one command"),
        (&postmortem.went_wrong, "disabled"),
        (&postmortem.got_lucky, "peak"),
        (&postmortem.lessons, "canary"),
    ] {
        assert!(field.as_deref().is_some_and(|f| f.contains(value)), "{field:?} should contain {value}");
    }
}

#[tokio::test]
async fn the_acknowledge_button_acknowledges() {
    let fake = start().await;
    declare(&fake.bot, "Checkout down").await;
    interact(&fake, "button_acknowledge.json").await;
    let all = calls(&fake.server).await;
    assert_eq!(callback(&all, "1600000000000000008", "token-ack")["type"], 5);
    let incident = &fake.db.incident(1).await.unwrap().unwrap();
    assert!(incident.acknowledged_at.is_some());
    let posts = find(&all, "POST", &format!("/channels/{CHANNEL}/messages"));
    assert!(posts.last().unwrap().body["content"].as_str().unwrap().contains(&format!("<@{BOB}> acknowledged")));
}

#[tokio::test]
async fn autocomplete_offers_incidents_by_reference() {
    let fake = start().await;
    declare(&fake.bot, "Checkout down").await;
    interact(&fake, "autocomplete_incident.json").await;
    let all = calls(&fake.server).await;
    let answer = callback(&all, "1600000000000000009", "token-autocomplete");
    assert_eq!(answer["type"], 8);
    assert_eq!(answer["data"]["choices"][0]["value"], "INC-1");
    assert_eq!(answer["data"]["choices"][0]["name"], "INC-1 · investigating · Checkout down");
}

#[tokio::test]
async fn threads_are_created_public_under_the_announcements_channel() {
    let placement = Placement { guild: Some(GUILD), category: None, thread_parent: Some(ANNOUNCE) };
    let fake = start_with(placement).await;
    let thread = fake.bot.chat.create_channel("inc-1-checkout-down").await.unwrap();
    assert_eq!(thread.id.as_str(), CHANNEL.to_string());
    fake.bot.chat.invite(&thread.id, &[BOB.to_string()]).await.unwrap();
    fake.bot.chat.set_topic(&thread.id, &commands::Line::new().text("ignored for threads")).await.unwrap();
    let all = calls(&fake.server).await;
    let created = find(&all, "POST", &format!("/channels/{ANNOUNCE}/threads"));
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].body["type"], 11, "public thread");
    assert_eq!(created[0].body["name"], "inc-1-checkout-down");
    assert_eq!(find(&all, "PUT", &format!("/channels/{CHANNEL}/thread-members/{BOB}")).len(), 1);
    assert!(find(&all, "PATCH", &format!("/channels/{CHANNEL}")).is_empty());
}

#[tokio::test]
async fn direct_messages_go_through_a_dm_channel_with_no_mentions() {
    let fake = start().await;
    let sent = fake.bot.chat.send_dm(BOB, &Message::plain("@here your action item is due")).await.unwrap();
    assert_eq!(sent.channel_id, "1900000000000000001");
    let all = calls(&fake.server).await;
    assert_eq!(find(&all, "POST", "/users/@me/channels")[0].body["recipient_id"], BOB);
    let posted = find(&all, "POST", "/channels/1900000000000000001/messages");
    assert_eq!(posted[0].body["allowed_mentions"]["parse"], json!([]));
    assert!(!posted[0].body["content"].as_str().unwrap().contains("@here"));
}

#[tokio::test]
async fn declare_without_a_title_opens_the_declare_modal_and_its_submit_declares() {
    let fake = start().await;
    let untitled: Interaction = fixture_with("command_declare.json", |v| {
        v["data"]["options"][0]["options"] = json!([{ "name": "severity", "type": 3, "value": "sev1" }]);
    });
    handle_interaction(&fake.bot, &untitled).await.unwrap();
    let all = calls(&fake.server).await;
    let modal = callback(&all, "1600000000000000001", "token-declare");
    assert_eq!(modal["type"], 9);
    assert_eq!(modal["data"]["custom_id"], "modal:1:declare");
    assert_eq!(custom_ids(&modal["data"]["components"]), vec!["title", "severity", "description"]);

    let submitted: Interaction = fixture_with("modal_postmortem_1.json", |v| {
        v["channel_id"] = json!(GENERAL.to_string());
        v["data"] = json!({ "custom_id": "modal:1:declare", "components": [
            { "type": 1, "components": [{ "type": 4, "custom_id": "title", "value": "Search is slow" }] },
            { "type": 1, "components": [{ "type": 4, "custom_id": "severity", "value": "sev1" }] },
            { "type": 1, "components": [{ "type": 4, "custom_id": "description", "value": "p99 at 4s" }] }
        ]});
    });
    handle_interaction(&fake.bot, &submitted).await.unwrap();
    let incident = &fake.db.incident(1).await.unwrap().unwrap();
    assert_eq!(incident.title, "Search is slow");
    assert_eq!(incident.severity, storage::Severity::Sev1);
    assert_eq!(incident.channel_id, Some(CHANNEL.to_string().into()));
}

#[tokio::test]
async fn reminder_buttons_mark_done_and_snooze() {
    let fake = start().await;
    declare(&fake.bot, "Checkout down").await;
    for (n, text) in
        ["action add Add a pool-size check <@BOB> due:+3d", "action add Alert on pool use <@BOB>"].iter().enumerate()
    {
        let outcome = fake
            .bot
            .core
            .run(&Invocation {
                source_id: format!("discord:interaction:add-{n}").into(),
                user: ALICE.into(),
                channel_id: CHANNEL.to_string().into(),
                text: text.replace("BOB", BOB),
            })
            .await
            .unwrap();
        assert!(!outcome.is_error, "{outcome:?}");
    }
    let press = |id: &str, custom_id: &str| -> Interaction {
        let (id, custom_id) = (id.to_string(), custom_id.to_string());
        fixture_with("button_acknowledge.json", move |v| {
            v["id"] = json!(id);
            v["token"] = json!(format!("token-{id}"));
            v["channel_id"] = json!("1900000000000000001");
            v["data"]["custom_id"] = json!(custom_id);
        })
    };
    handle_interaction(&fake.bot, &press("1600000000000000021", "done:1")).await.unwrap();
    handle_interaction(&fake.bot, &press("1600000000000000022", "snooze:2:7")).await.unwrap();
    let db = &fake.db;
    assert_eq!(db.action(1).await.unwrap().unwrap().status, storage::ActionStatus::Done);
    let snoozed = db.action(2).await.unwrap().unwrap();
    assert_eq!(snoozed.status, storage::ActionStatus::Open);
    assert_eq!(snoozed.snoozed_until.map(|d| d.to_string()).as_deref(), Some("2026-03-09"));
    let all = calls(&fake.server).await;
    for id in ["1600000000000000021", "1600000000000000022"] {
        assert_eq!(callback(&all, id, &format!("token-{id}"))["data"]["flags"], 64);
        let reply = find(&all, "PATCH", &original_path(&format!("token-{id}")));
        assert_eq!(reply.len(), 1, "the deferred reply is completed");
    }
}
