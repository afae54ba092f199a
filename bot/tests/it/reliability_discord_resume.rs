//! Fault injection on a Discord declare: a stateful fake Discord (its guild channel
//! list shows the channels made; a post with `enforce_nonce` and a nonce already seen
//! answers the first message, as Discord does) applies the call at each step of the
//! declare and then never answers. The task handling the interaction is dropped there
//! (what a SIGKILL leaves: what was committed, nothing of what was running), and a new
//! bot on the same database resumes from its inbox. It ends with one incident, one
//! channel, one kick-off, one pin, one announcement and one reply.
//!
//! `cargo test -p bot --test it reliability_discord_resume`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bot::discord::chat::Placement;
use bot::discord::http::build_http;
use bot::discord::interactions::handle_interaction;
use bot::discord::Discord;
use bot::secret::Secret;
use commands::{Settings, SystemClock};
use serde_json::{json, Value};
use serenity::all::Interaction;
use storage::Db;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::discord_support::{fixture, message_json, user, ANNOUNCE, APP, CATEGORY, GENERAL, GUILD, TOKEN};
use crate::process_support::eventually;

const FIRST_CHANNEL: u64 = 1300000000000000001;

#[derive(Debug, Default)]
struct World {
    /// (id, name)
    channels: Vec<(u64, String)>,
    /// (channel, id, content, nonce)
    messages: Vec<(String, u64, String, Option<String>)>,
    pins: Vec<String>,
    /// Edits of the deferred reply, and DMs.
    replies: Vec<String>,
    hang_on: Option<&'static str>,
    hung: bool,
}

#[derive(Clone, Default)]
struct FakeDiscord(Arc<Mutex<World>>);

fn channel_json(id: u64, kind: u8, name: &str, parent: Option<u64>) -> Value {
    json!({ "id": id.to_string(), "type": kind, "guild_id": GUILD.to_string(), "name": name, "position": 1,
            "permission_overwrites": [], "parent_id": parent.map(|p| p.to_string()), "nsfw": false, "topic": null })
}

impl Respond for FakeDiscord {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let path = request.url.path().trim_start_matches("/api/v10").to_string();
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let verb = request.method.to_string();
        let mut world = self.0.lock().unwrap();
        let (step, answer) = apply(&mut world, &verb, &path, &body);
        if step.is_some() && step == world.hang_on && !world.hung {
            world.hung = true;
            return answer.set_delay(Duration::from_secs(120));
        }
        answer
    }
}

/// Applies one call; returns the declare step it is (if any) and the answer.
fn apply(world: &mut World, verb: &str, path: &str, body: &Value) -> (Option<&'static str>, ResponseTemplate) {
    let channels_path = format!("/guilds/{GUILD}/channels");
    let ok = |value: Value| ResponseTemplate::new(200).set_body_json(value);
    if path == channels_path && verb == "GET" {
        let mut list = vec![
            channel_json(CATEGORY, 4, "Incidents", None),
            channel_json(GENERAL, 0, "general", None),
            channel_json(ANNOUNCE, 0, "incidents", None),
        ];
        list.extend(world.channels.iter().map(|(id, name)| channel_json(*id, 0, name, Some(CATEGORY))));
        return (None, ok(Value::Array(list)));
    }
    if path == channels_path && verb == "POST" {
        let id = FIRST_CHANNEL + world.channels.len() as u64;
        let name = body["name"].as_str().unwrap_or_default().to_string();
        world.channels.push((id, name.clone()));
        return (Some("create"), ok(channel_json(id, 0, &name, Some(CATEGORY))));
    }
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (verb, parts.as_slice()) {
        ("GET", ["channels", id]) => {
            let id: u64 = id.parse().unwrap_or_default();
            let name = world.channels.iter().find(|(c, _)| *c == id).map(|(_, n)| n.clone()).unwrap_or_default();
            (None, ok(channel_json(id, 0, &name, Some(CATEGORY))))
        }
        ("PATCH", ["channels", id]) => {
            let id: u64 = id.parse().unwrap_or_default();
            let name = world.channels.iter().find(|(c, _)| *c == id).map(|(_, n)| n.clone()).unwrap_or_default();
            (Some("topic"), ok(channel_json(id, 0, &name, Some(CATEGORY))))
        }
        ("POST", ["channels", channel, "messages"]) => {
            let nonce = body["nonce"].as_str().map(str::to_string);
            let enforced = body["enforce_nonce"].as_bool().unwrap_or(false);
            let author = user(&APP.to_string(), "incidentbot", true);
            let at = "2026-03-02T09:00:01.000000+00:00";
            let step = if *channel == ANNOUNCE.to_string() {
                Some("announce")
            } else if channel.starts_with("13") {
                Some("kickoff")
            } else {
                None
            };
            if let Some(seen) =
                world.messages.iter().find(|(c, _, _, n)| c == channel && enforced && n.is_some() && *n == nonce)
            {
                return (step, ok(message_json(seen.1, channel, author, &seen.2, at)));
            }
            let id = 1500000000000000001 + world.messages.len() as u64;
            let content = body["content"].as_str().unwrap_or_default().to_string();
            if step.is_none() {
                world.replies.push(content.clone()); // a DM
            }
            world.messages.push((channel.to_string(), id, content.clone(), nonce));
            (step, ok(message_json(id, channel, author, &content, at)))
        }
        ("PUT", ["channels", _, "pins", message]) => {
            if !world.pins.iter().any(|p| p == message) {
                world.pins.push(message.to_string());
            }
            (Some("pin"), ResponseTemplate::new(204))
        }
        ("PUT", ["channels", _, "thread-members", _]) => (None, ResponseTemplate::new(204)),
        ("POST", ["interactions", _, _, "callback"]) => (None, ResponseTemplate::new(204)),
        ("PATCH", ["webhooks", _, _, "messages", "@original"]) => {
            let content = body["content"].as_str().unwrap_or_default().to_string();
            world.replies.push(content.clone());
            let author = user(&APP.to_string(), "incidentbot", true);
            (
                Some("reply"),
                ok(message_json(
                    1590000000000000001,
                    &GENERAL.to_string(),
                    author,
                    &content,
                    "2026-03-02T09:00:02.000000+00:00",
                )),
            )
        }
        ("POST", ["users", "@me", "channels"]) => (
            None,
            ok(json!({ "id": "1900000000000000001", "type": 1, "last_message_id": null,
                        "recipients": [user("80351110224678912", "alice", false)] })),
        ),
        _ => (None, ResponseTemplate::new(404)),
    }
}

fn new_bot(server: &MockServer, db: &Db) -> Discord {
    let http = Arc::new(build_http(&Secret::new(TOKEN), Some(&server.uri()), Some(APP)));
    let settings = Settings { announcements_channel: Some(ANNOUNCE.to_string().into()), ..Settings::default() };
    let placement = Placement { guild: Some(GUILD), category: Some("Incidents".into()), thread_parent: None };
    Discord::new(http, db.clone(), Arc::new(SystemClock), settings, placement)
}

async fn killed_at(step: &'static str) {
    let fake = FakeDiscord::default();
    fake.0.lock().unwrap().hang_on = Some(step);
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any()).respond_with(fake.clone()).mount(&server).await;
    // The suite's engine (SQLite, or Postgres under INCIDENTBOT_TEST_ENGINE=postgres).
    let database = storage::test_database::TestDatabase::for_suite().await;
    let db = Db::connect(&database.url).await.unwrap();

    let first = new_bot(&server, &db);
    let interaction: Interaction = fixture("command_declare.json");
    let running = tokio::spawn(async move { handle_interaction(&first, &interaction).await });
    let watched = fake.clone();
    assert!(
        eventually(Duration::from_secs(20), || async { watched.0.lock().unwrap().hung }).await,
        "the declare never reached {step}"
    );
    running.abort(); // the process dies here
    let _ = running.await;

    let second = new_bot(&server, &db);
    assert_eq!(bot::discord::inbox::resume(&second).await.unwrap(), 1, "the unfinished interaction runs again");
    assert_eq!(bot::discord::inbox::resume(&second).await.unwrap(), 0, "and is then done");

    assert!(db.incident(1).await.unwrap().is_some());
    assert!(db.incident(2).await.unwrap().is_none(), "one incident");
    assert_eq!(db.incidents_with_unfinished_steps().await.unwrap(), vec![], "after a kill at {step}");
    let channel = FIRST_CHANNEL.to_string();
    assert_eq!(db.incident(1).await.unwrap().unwrap().channel_id.map(|c| c.to_string()), Some(channel.clone()));
    db.close().await;
    let world = fake.0.lock().unwrap();
    assert_eq!(world.channels.len(), 1, "one channel after a kill at {step}: {:?}", world.channels);
    let kickoffs = world.messages.iter().filter(|(c, ..)| *c == channel).count();
    let announcements = world.messages.iter().filter(|(c, ..)| *c == ANNOUNCE.to_string()).count();
    assert_eq!((kickoffs, world.pins.len(), announcements), (1, 1, 1), "after a kill at {step}");
    // Edits of the one deferred reply are one message; the last one is what shows.
    let shown = world.replies.last().cloned().unwrap_or_default();
    assert!(shown.contains("INC-1") && shown.contains("delayed by a restart"), "{:?}", world.replies);
}

#[tokio::test]
async fn killed_while_creating_the_channel() {
    killed_at("create").await;
}

#[tokio::test]
async fn killed_while_setting_the_topic() {
    killed_at("topic").await;
}

#[tokio::test]
async fn killed_while_posting_the_kickoff() {
    killed_at("kickoff").await;
}

#[tokio::test]
async fn killed_while_pinning() {
    killed_at("pin").await;
}

#[tokio::test]
async fn killed_while_announcing() {
    killed_at("announce").await;
}

#[tokio::test]
async fn killed_while_replying() {
    killed_at("reply").await;
}
