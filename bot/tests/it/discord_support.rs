//! Shared setup for the Discord tests: a wiremock server standing in for Discord's REST
//! API (through serenity's proxy setting), a real in-memory SQLite, a manual clock, and
//! the gateway and interaction fixtures.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use storage::test_database::TestDatabase;

use bot::discord::chat::Placement;
use bot::discord::http::build_http;
use bot::discord::Discord;
use bot::secret::Secret;
use chrono::{TimeZone, Utc};
use commands::{Invocation, ManualClock, Settings};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use storage::Db;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const TOKEN: &str = "MTAwMDAwMDAwMDAwMDAwMDAwMQ.sentinel.discord-bot-token";
pub const APP: u64 = 1000000000000000001;
pub const GUILD: u64 = 1100000000000000001;
pub const CATEGORY: u64 = 1200000000000000001;
/// The incident channel the fake creates.
pub const CHANNEL: u64 = 1300000000000000001;
pub const GENERAL: u64 = 1700000000000000001;
pub const ANNOUNCE: u64 = 1800000000000000001;
pub const ALICE: &str = "80351110224678912";
pub const BOB: &str = "80351110224678913";
/// The first id the fake gives to a posted message.
pub const FIRST_POSTED: u64 = 1500000000000000001;

pub struct Fake {
    pub server: MockServer,
    pub bot: Discord,
    /// The bot's database, for the tests to check what was stored.
    pub db: Db,
    pub clock: Arc<ManualClock>,
    /// The fresh database of the suite's engine, removed when the fake is dropped.
    pub _database: Option<TestDatabase>,
}

/// A fake Discord with every REST route the bot uses, and a bot pointed at it.
pub async fn start() -> Fake {
    start_with(Placement { guild: Some(GUILD), category: Some("Incidents".into()), thread_parent: None }).await
}

pub async fn start_with(placement: Placement) -> Fake {
    let fake = start_unmounted(placement).await;
    mount_discord(&fake.server).await;
    fake
}

/// A bot pointed at a fake that answers every request with 404.
pub async fn start_unmounted(placement: Placement) -> Fake {
    let server = MockServer::start().await;
    let http = Arc::new(build_http(&Secret::new(TOKEN), Some(&server.uri()), Some(APP)));
    let database = TestDatabase::for_suite().await;
    let db = database.open().await.expect("a fresh database");
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()));
    let settings = Settings { announcements_channel: Some(ANNOUNCE.to_string().into()), ..Settings::default() };
    let bot = Discord::new(http, db.clone(), clock.clone(), settings, placement);
    Fake { server, bot, db, clock, _database: Some(database) }
}

/// A fixture from `tests/fixtures/discord`, deserialized as serenity would.
pub fn fixture<T: DeserializeOwned>(name: &str) -> T {
    fixture_with(name, |_| {})
}

/// A fixture, changed by `edit` before it is deserialized.
pub fn fixture_with<T: DeserializeOwned>(name: &str, edit: impl FnOnce(&mut Value)) -> T {
    let path = format!("{}/tests/fixtures/discord/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    edit(&mut value);
    serde_json::from_value(value).unwrap_or_else(|e| panic!("{path} does not deserialize: {e}"))
}

/// One REST call the bot made.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// Without the `/api/v10` prefix.
    pub path: String,
    pub query: String,
    pub body: Value,
    pub authorization: String,
}

pub async fn calls(server: &MockServer) -> Vec<Call> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|request| Call {
            method: request.method.to_string(),
            path: request.url.path().trim_start_matches("/api/v10").to_string(),
            query: request.url.query().unwrap_or_default().to_string(),
            body: serde_json::from_slice(&request.body).unwrap_or(Value::Null),
            authorization: request
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string(),
        })
        .collect()
}

/// Calls matching a method and an exact path.
pub fn find<'a>(calls: &'a [Call], method: &str, path: &str) -> Vec<&'a Call> {
    calls.iter().filter(|c| c.method == method && c.path == path).collect()
}

/// Declares an incident straight through the core (as a slash command would), so the
/// fake creates [`CHANNEL`].
pub async fn declare(bot: &Discord, title: &str) {
    let outcome = bot
        .core
        .run(&Invocation {
            source_id: format!("discord:interaction:declare-{title}").into(),
            user: ALICE.to_string(),
            channel_id: GENERAL.to_string().into(),
            text: format!("declare sev2 {title}"),
        })
        .await
        .expect("declare");
    assert!(!outcome.is_error, "{outcome:?}");
}

pub fn user(id: &str, name: &str, bot: bool) -> Value {
    json!({ "id": id, "username": name, "discriminator": "0", "global_name": null, "avatar": null, "bot": bot })
}

/// A message as Discord returns it.
pub fn message_json(id: u64, channel: &str, author: Value, content: &str, at: &str) -> Value {
    json!({
        "id": id.to_string(), "channel_id": channel, "author": author, "content": content,
        "timestamp": at, "edited_timestamp": null, "tts": false, "mention_everyone": false,
        "mentions": [], "mention_roles": [], "attachments": [], "embeds": [], "pinned": false,
        "type": 0, "flags": 0, "components": []
    })
}

fn guild_channel(id: u64, kind: u8, name: &str, parent: Option<u64>) -> Value {
    json!({
        "id": id.to_string(), "type": kind, "guild_id": GUILD.to_string(), "name": name, "position": 1,
        "permission_overwrites": [], "parent_id": parent.map(|p| p.to_string()), "nsfw": false, "topic": null
    })
}

/// Answers a posted message with a Discord message carrying the next id.
struct PostedMessage {
    next: AtomicU64,
}

impl Respond for PostedMessage {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let id = self.next.fetch_add(1, Ordering::SeqCst);
        let channel = request.url.path().split('/').nth(4).unwrap_or_default().to_string();
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let content = body["content"].as_str().unwrap_or_default();
        let at = "2026-03-02T09:00:01.000000+00:00";
        ResponseTemplate::new(200).set_body_json(message_json(
            id,
            &channel,
            user(&APP.to_string(), "incidentbot", true),
            content,
            at,
        ))
    }
}

/// Answers a channel or thread creation (or edit) with the channel it describes.
struct ChannelEcho {
    id: u64,
    kind: u8,
}

impl Respond for ChannelEcho {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let name = body["name"].as_str().unwrap_or("inc-1-renamed");
        let parent = body["parent_id"].as_str().and_then(|p| p.parse().ok());
        let mut channel = guild_channel(self.id, self.kind, name, parent);
        channel["topic"] = body["topic"].clone();
        ResponseTemplate::new(200).set_body_json(channel)
    }
}

/// A reply to an interaction's webhook (edit of the original reply, or a followup).
struct WebhookMessage;

impl Respond for WebhookMessage {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let content = body["content"].as_str().unwrap_or_default();
        let message = message_json(
            1590000000000000001,
            &CHANNEL.to_string(),
            user(&APP.to_string(), "incidentbot", true),
            content,
            "2026-03-02T09:00:02.000000+00:00",
        );
        ResponseTemplate::new(200).set_body_json(message)
    }
}

pub async fn mount_discord(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(format!("/api/v10/guilds/{GUILD}/channels")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            guild_channel(CATEGORY, 4, "Incidents", None),
            guild_channel(GENERAL, 0, "general", None),
            guild_channel(ANNOUNCE, 0, "incidents", None),
        ])))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v10/guilds/{GUILD}/channels")))
        .respond_with(ChannelEcho { id: CHANNEL, kind: 0 })
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/api/v10/channels/\d+/threads$"))
        .respond_with(ChannelEcho { id: CHANNEL, kind: 11 })
        .mount(server)
        .await;
    Mock::given(method("PATCH"))
        .and(path_regex(r"^/api/v10/channels/\d+$"))
        .respond_with(ChannelEcho { id: CHANNEL, kind: 0 })
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/api/v10/channels/\d+/messages$"))
        .respond_with(PostedMessage { next: AtomicU64::new(FIRST_POSTED) })
        .mount(server)
        .await;
    Mock::given(method("PUT"))
        .and(path_regex(r"^/api/v10/channels/\d+/pins/\d+$"))
        .respond_with(ResponseTemplate::new(204))
        .mount(server)
        .await;
    Mock::given(method("PUT"))
        .and(path_regex(r"^/api/v10/channels/\d+/thread-members/\d+$"))
        .respond_with(ResponseTemplate::new(204))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/api/v10/interactions/\d+/[^/]+/callback$"))
        .respond_with(ResponseTemplate::new(204))
        .mount(server)
        .await;
    Mock::given(method("PATCH"))
        .and(path_regex(r"^/api/v10/webhooks/\d+/[^/]+/messages/@original$"))
        .respond_with(WebhookMessage)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/api/v10/webhooks/\d+/[^/]+$"))
        .respond_with(WebhookMessage)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v10/users/@me/channels"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "1900000000000000001", "type": 1, "last_message_id": null,
            "recipients": [user(BOB, "bob", false)]
        })))
        .mount(server)
        .await;
}
