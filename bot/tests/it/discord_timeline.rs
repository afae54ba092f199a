//! Timeline capture from gateway events (fixtures of Discord's payloads) and the
//! backfill after downtime, against a fake Discord REST API and a real SQLite.

use std::collections::HashSet;

use bot::discord::{backfill, events};
use commands::Ingested;
use serde_json::{json, Value};
use serenity::all::{ChannelPinsUpdateEvent, Message, MessageDeleteEvent, MessageUpdateEvent, Reaction};
use storage::{EntryKind, TimelineEntry};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use crate::discord_support::*;

async fn messages(fake: &Fake) -> Vec<TimelineEntry> {
    let timeline = fake.db.timeline(1, false).await.unwrap();
    timeline.into_iter().filter(|e| e.kind == EntryKind::Message).collect()
}

#[tokio::test]
async fn the_same_message_create_twice_is_one_row() {
    let fake = start().await;
    declare(&fake.bot, "Checkout down").await;
    let message: Message = fixture("message_create.json");
    assert_eq!(events::message_created(&fake.bot.core, &message).await.unwrap(), Ingested::Stored);
    assert_eq!(events::message_created(&fake.bot.core, &message).await.unwrap(), Ingested::Duplicate);
    let stored = messages(&fake).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].source_id, "discord:1400000000000000001");
    assert_eq!(stored[0].author, BOB);
    assert_eq!(stored[0].text, "Replica lag is 40s on db-2 <@&999> @everyone");
    assert_eq!(stored[0].at.to_rfc3339(), "2026-03-02T09:05:00+00:00");
}

#[tokio::test]
async fn bots_and_other_channels_are_skipped() {
    let fake = start().await;
    declare(&fake.bot, "Checkout down").await;
    let from_bot: Message = fixture("message_create_bot.json");
    assert_eq!(events::message_created(&fake.bot.core, &from_bot).await.unwrap(), Ingested::Ignored);
    let elsewhere: Message = fixture_with("message_create.json", |v| v["channel_id"] = json!(GENERAL.to_string()));
    assert_eq!(events::message_created(&fake.bot.core, &elsewhere).await.unwrap(), Ingested::Ignored);
    assert!(messages(&fake).await.is_empty());
}

#[tokio::test]
async fn edits_deletions_reactions_and_pins_update_the_timeline() {
    let fake = start().await;
    declare(&fake.bot, "Checkout down").await;
    let core = &fake.bot.core;
    events::message_created(core, &fixture::<Message>("message_create.json")).await.unwrap();

    let edit: MessageUpdateEvent = fixture("message_update.json");
    assert!(events::message_updated(core, &edit).await.unwrap());
    let entry = &messages(&fake).await[0];
    assert_eq!(entry.text, "Replica lag is 45s on db-2");
    assert_eq!(entry.edited_at.map(|t| t.to_rfc3339()).as_deref(), Some("2026-03-02T09:06:30+00:00"));

    let thumbs: Reaction = fixture("reaction_add_other.json");
    assert!(!events::reaction_added(core, &thumbs).await.unwrap());
    assert!(!messages(&fake).await[0].is_key);
    let star: Reaction = fixture("reaction_add.json");
    assert!(events::reaction_added(core, &star).await.unwrap());
    assert!(messages(&fake).await[0].is_key);

    let deleted: MessageDeleteEvent = fixture("message_delete.json");
    assert!(events::message_deleted(core, deleted.message_id).await.unwrap());
    assert!(messages(&fake).await[0].deleted_at.is_some());
}

#[tokio::test]
async fn a_pins_update_marks_the_pinned_messages_key() {
    let fake = start().await;
    declare(&fake.bot, "Checkout down").await;
    let core = &fake.bot.core;
    let message: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{}/tests/fixtures/discord/message_create.json", env!("CARGO_MANIFEST_DIR")))
            .unwrap(),
    )
    .unwrap();
    events::message_created(core, &serde_json::from_value::<Message>(message.clone()).unwrap()).await.unwrap();
    Mock::given(method("GET"))
        .and(path(format!("/api/v10/channels/{CHANNEL}/pins")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([message])))
        .mount(&fake.server)
        .await;
    let event: ChannelPinsUpdateEvent = fixture("channel_pins_update.json");
    assert_eq!(events::pins_updated(&fake.bot.http, core, &event).await.unwrap(), 1);
    assert!(messages(&fake).await[0].is_key);
}

/// `count` human messages from `first_id` up, newest first as Discord returns them,
/// with one bot message among them.
fn page(first_id: u64, count: u64) -> Value {
    let mut page: Vec<Value> = (0..count)
        .map(|n| {
            let id = first_id + n;
            let author = if n == 3 { user(&APP.to_string(), "incidentbot", true) } else { user(BOB, "bob", false) };
            // Later ids are later messages, as with real snowflakes.
            let seconds = id % 1000;
            let at = format!("2026-03-02T10:{:02}:{:02}.000000+00:00", seconds / 60, seconds % 60);
            message_json(id, &CHANNEL.to_string(), author, &format!("message {id}"), &at)
        })
        .collect();
    page.reverse();
    Value::Array(page)
}

#[tokio::test]
async fn backfill_after_a_gap_fills_it_without_duplicates() {
    let fake = start().await;
    declare(&fake.bot, "Checkout down").await;
    let core = &fake.bot.core;
    // Seen live before the bot went down.
    let seen: Message = fixture("message_create.json");
    events::message_created(core, &seen).await.unwrap();

    // While it was down: 100 messages, then 3 more (two pages of Discord's 100).
    let first_page_start = 1400000000000000010;
    let second_page_start = first_page_start + 100;
    Mock::given(method("GET"))
        .and(path(format!("/api/v10/channels/{CHANNEL}/messages")))
        .and(query_param("after", "1400000000000000001"))
        .and(query_param("limit", "100"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(first_page_start, 100)))
        .mount(&fake.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v10/channels/{CHANNEL}/messages")))
        .and(query_param("after", (second_page_start - 1).to_string()))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(second_page_start, 3)))
        .mount(&fake.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v10/channels/{CHANNEL}/messages")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .with_priority(10)
        .mount(&fake.server)
        .await;

    // The gateway came back first and already delivered one of the missed messages.
    let early: Message = serde_json::from_value(page(second_page_start, 1)[0].clone()).unwrap();
    assert_eq!(events::message_created(core, &early).await.unwrap(), Ingested::Stored);

    // The gateway reconnected shortly before that message.
    let connected_at = *early.timestamp - chrono::Duration::seconds(5);
    let report = backfill::backfill_all(&fake.bot.http, core, connected_at).await.unwrap();
    // 103 missed, minus the bot's, minus the one the gateway delivered.
    assert_eq!(report, backfill::BackfillReport { channels: 1, stored: 101 });
    let stored = messages(&fake).await;
    assert_eq!(stored.len(), 1 + 102);
    let unique: HashSet<&str> = stored.iter().map(|e| e.source_id.as_str()).collect();
    assert_eq!(unique.len(), stored.len(), "no duplicates");

    // A second run (a reconnect) starts after the newest stored message and adds nothing.
    let later = connected_at + chrono::Duration::hours(1);
    let again = backfill::backfill_all(&fake.bot.http, core, later).await.unwrap();
    assert_eq!(again.stored, 0);
    let queries: Vec<String> = calls(&fake.server)
        .await
        .into_iter()
        .filter(|c| c.method == "GET" && c.path.ends_with("/messages"))
        .map(|c| c.query)
        .collect();
    let last = queries.last().unwrap();
    assert!(last.ends_with(&format!("after={}", second_page_start + 2)), "{last}");
}

#[tokio::test]
async fn backfill_of_a_channel_with_no_stored_message_starts_at_the_channel() {
    let fake = start().await;
    declare(&fake.bot, "Checkout down").await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v10/channels/{CHANNEL}/messages")))
        .and(query_param("after", CHANNEL.to_string()))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(1400000000000000001, 2)))
        .mount(&fake.server)
        .await;
    let report = backfill::backfill_all(&fake.bot.http, &fake.bot.core, fake.bot.core.now()).await.unwrap();
    assert_eq!(report.stored, 2);
    assert_eq!(messages(&fake).await.len(), 2);
}
