//! Discord and learning as a system: a private incident's channel through permission
//! overwrites (hidden from `@everyone`, open to the bot and each invited member), and
//! the contributing-factor select menu.

use bot::discord::interactions::handle_interaction;
use commands::Invocation;
use serde_json::{json, Value};
use serenity::all::Interaction;
use storage::Attachment;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, ResponseTemplate};

use crate::discord_support::*;

/// Bits of Discord's permissions, as the overwrites carry them (strings of integers).
const VIEW_CHANNEL: u64 = 1 << 10;
const SEND_MESSAGES: u64 = 1 << 11;

fn bits(value: &Value) -> u64 {
    value.as_str().and_then(|s| s.parse().ok()).unwrap_or_default()
}

async fn run(fake: &Fake, user: &str, channel: u64, text: &str) -> commands::Outcome {
    let outcome = fake
        .bot
        .core
        .run(&Invocation {
            source_id: format!("discord:interaction:{text}").into(),
            user: user.to_string(),
            channel_id: channel.to_string().into(),
            text: text.to_string(),
        })
        .await
        .unwrap();
    assert!(!outcome.is_error, "{text}: {outcome:?}");
    outcome
}

#[tokio::test]
async fn a_private_incident_gets_a_channel_only_the_bot_and_invited_members_see() {
    let fake = start().await;
    Mock::given(method("GET"))
        .and(path("/api/v10/users/@me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user(&APP.to_string(), "incidentbot", true)))
        .mount(&fake.server)
        .await;
    Mock::given(method("PUT"))
        .and(path_regex(r"^/api/v10/channels/\d+/permissions/\d+$"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&fake.server)
        .await;

    run(&fake, ALICE, GENERAL, "declare private sev1 Leaked API key").await;
    let all = calls(&fake.server).await;
    let created = find(&all, "POST", &format!("/guilds/{GUILD}/channels"));
    assert_eq!(created.len(), 1);
    let overwrites = created[0].body["permission_overwrites"].as_array().unwrap();
    let of = |id: &str| overwrites.iter().find(|o| o["id"] == id).unwrap_or_else(|| panic!("{id}: {overwrites:?}"));
    let everyone = of(&GUILD.to_string());
    assert_eq!(everyone["type"], 0, "the @everyone role");
    assert_eq!(bits(&everyone["deny"]) & VIEW_CHANNEL, VIEW_CHANNEL);
    for member in [APP.to_string(), ALICE.to_string()] {
        let allowed = bits(&of(&member)["allow"]);
        assert_eq!(of(&member)["type"], 1, "a member");
        assert_eq!(allowed & (VIEW_CHANNEL | SEND_MESSAGES), VIEW_CHANNEL | SEND_MESSAGES, "{member}");
    }
    assert!(
        find(&all, "POST", &format!("/channels/{ANNOUNCE}/messages")).is_empty(),
        "a private incident is never announced"
    );

    // An invite opens the channel to one more member, and is recorded.
    run(&fake, ALICE, CHANNEL, &format!("invite <@{BOB}>")).await;
    let all = calls(&fake.server).await;
    let opened = find(&all, "PUT", &format!("/channels/{CHANNEL}/permissions/{BOB}"));
    assert_eq!(opened.len(), 1, "{all:#?}");
    assert_eq!(opened[0].body["type"], 1);
    assert_eq!(bits(&opened[0].body["allow"]) & VIEW_CHANNEL, VIEW_CHANNEL);
    assert_eq!(fake.db.attached(Attachment::Invite, 1).await.unwrap(), vec![BOB.to_string()]);

    // A public incident's channel has no overwrites, and an invite changes nothing.
    let public = start().await;
    declare(&public.bot, "Checkout is down").await;
    let all = calls(&public.server).await;
    let created = find(&all, "POST", &format!("/guilds/{GUILD}/channels"));
    assert!(created[0].body.get("permission_overwrites").is_none_or(|o| o.as_array().is_none_or(Vec::is_empty)));
}

#[tokio::test]
async fn the_tag_select_menu_sets_the_incidents_contributing_factors() {
    let fake = start().await;
    declare(&fake.bot, "Checkout is down").await;
    let select = |id: &str, values: Value| -> Interaction {
        fixture_with("button_continue_postmortem.json", |v| {
            v["id"] = json!(id);
            v["token"] = json!(format!("token-{id}"));
            v["data"] = json!({ "custom_id": "tags:1", "component_type": 3, "values": values });
        })
    };
    handle_interaction(&fake.bot, &select("1600000000000000301", json!(["alerting-gap", "change"]))).await.unwrap();
    assert_eq!(fake.db.attached(Attachment::Factor, 1).await.unwrap(), vec!["alerting-gap", "change"]);
    let all = calls(&fake.server).await;
    let deferred = find(&all, "POST", "/interactions/1600000000000000301/token-1600000000000000301/callback");
    assert_eq!(deferred[0].body["type"], 5, "deferred");
    assert_eq!(deferred[0].body["data"]["flags"], 64, "ephemeral");
    let reply = find(&all, "PATCH", &format!("/webhooks/{APP}/token-1600000000000000301/messages/@original"));
    let text = reply[0].body["content"].as_str().unwrap();
    assert!(text.contains("tagged alerting-gap, change"), "{text}");

    // The whole selection replaces the tags: one left, one taken away.
    handle_interaction(&fake.bot, &select("1600000000000000302", json!(["change"]))).await.unwrap();
    assert_eq!(fake.db.attached(Attachment::Factor, 1).await.unwrap(), vec!["change"]);

    // A tag not in the vocabulary changes nothing and says why.
    handle_interaction(&fake.bot, &select("1600000000000000303", json!(["alerting"]))).await.unwrap();
    assert_eq!(fake.db.attached(Attachment::Factor, 1).await.unwrap(), vec!["change"]);
    let all = calls(&fake.server).await;
    let reply = find(&all, "PATCH", &format!("/webhooks/{APP}/token-1600000000000000303/messages/@original"));
    assert!(reply[0].body["content"].as_str().unwrap().contains("Did you mean alerting-gap"), "{:?}", reply[0].body);
}

#[tokio::test]
async fn private_threads_are_private_and_their_members_added() {
    use bot::discord::chat::Placement;
    use commands::Chat;
    let placement = Placement { guild: Some(GUILD), category: None, thread_parent: Some(ANNOUNCE) };
    let fake = start_with(placement).await;
    let thread = fake.bot.chat.create_private_channel("inc-1-leak", &[ALICE.to_string()]).await.unwrap();
    let all = calls(&fake.server).await;
    let created = find(&all, "POST", &format!("/channels/{ANNOUNCE}/threads"));
    assert_eq!(created[0].body["type"], 12, "private thread");
    assert_eq!(created[0].body["invitable"], false);
    assert_eq!(find(&all, "PUT", &format!("/channels/{}/thread-members/{ALICE}", thread.id)).len(), 1);
}

#[tokio::test]
async fn autocomplete_offers_services_and_factor_tags() {
    use bot::discord::chat::Placement;
    use bot::discord::Discord;
    let fake = start().await;
    // The same fake, with a bot that knows a catalog.
    let mut checkout = commands::Service::named("checkout");
    checkout.team = "payments".into();
    let settings = commands::Settings {
        services: commands::ServiceCatalog::new(vec![checkout, commands::Service::named("search")]).unwrap(),
        ..commands::Settings::default()
    };
    let placement = Placement { guild: Some(GUILD), category: Some("Incidents".into()), thread_parent: None };
    let bot = Discord::new(fake.bot.http.clone(), fake.db.clone(), fake.clock.clone(), settings, placement);
    let focused = |id: &str, sub: Value| -> Interaction {
        fixture_with("autocomplete_incident.json", |v| {
            v["id"] = json!(id);
            v["token"] = json!(format!("token-{id}"));
            v["data"]["options"] = json!([sub]);
        })
    };
    let declare = json!({ "name": "declare", "type": 1, "options": [
        { "name": "title", "type": 3, "value": "Slow" },
        { "name": "services", "type": 3, "value": "search, che", "focused": true }
    ]});
    handle_interaction(&bot, &focused("1600000000000000401", declare)).await.unwrap();
    let tag = json!({ "name": "action", "type": 2, "options": [{ "name": "add", "type": 1, "options": [
        { "name": "text", "type": 3, "value": "Alert" },
        { "name": "addresses", "type": 3, "value": "alert", "focused": true }
    ]}]});
    handle_interaction(&bot, &focused("1600000000000000402", tag)).await.unwrap();
    let all = calls(&fake.server).await;
    let services = &find(&all, "POST", "/interactions/1600000000000000401/token-1600000000000000401/callback")[0].body;
    assert_eq!(services["type"], 8);
    assert_eq!(services["data"]["choices"][0]["value"], "search, checkout", "the earlier names are kept");
    assert_eq!(services["data"]["choices"][0]["name"], "search, checkout · team payments");
    let tags = &find(&all, "POST", "/interactions/1600000000000000402/token-1600000000000000402/callback")[0].body;
    assert_eq!(tags["data"]["choices"][0]["value"], "alerting-gap");
}
