//! A stateful fake Discord REST API for the reliability tests: its guild channel list
//! shows the channels made; a post with `enforce_nonce` and a nonce already seen answers
//! the first message, as Discord does; it records pins, replies (edits of the deferred
//! reply, and DMs) and interaction callbacks. It can hang at one step of a declare (the
//! call is applied, then never answered) and refuse a number of channel creates with a
//! 500 (nothing applied).
//!
//! It also answers what `incidentbot serve` asks before its gateway connects (the
//! application, the command registration, the gateway URL), so the real binary can run
//! against it together with [`discord_gateway_fake`](crate::discord_gateway_fake).

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::discord_support::{message_json, user, ANNOUNCE, APP, CATEGORY, GENERAL, GUILD};

/// The id of the first channel the fake creates; later ones count up.
pub const FIRST_CHANNEL: u64 = 1300000000000000001;

/// The effects of every call the fake applied.
#[derive(Debug, Default)]
pub struct World {
    /// (id, name)
    pub channels: Vec<(u64, String)>,
    /// (channel, id, content, nonce)
    pub messages: Vec<(String, u64, String, Option<String>)>,
    pub pins: Vec<String>,
    /// Edits of the deferred reply, and DMs.
    pub replies: Vec<String>,
    /// DMs only.
    pub dms: Vec<String>,
    /// Interaction callbacks (deferrals and direct answers), by interaction token.
    pub callbacks: Vec<String>,
    /// The step to hang on (`create`, `topic`, `kickoff`, `pin`, `announce`, `reply`),
    /// and whether it was hit.
    pub hang_on: Option<&'static str>,
    pub hung: bool,
    /// How many channel creates still answer HTTP 500 (and create nothing).
    pub failing_creates: usize,
    /// What `GET /gateway/bot` names, once a fake gateway runs.
    pub gateway_url: Option<String>,
}

impl World {
    /// Posts to the incident channel `channel` / to the announcements channel.
    pub fn posts_in(&self, channel: u64) -> usize {
        self.messages.iter().filter(|(c, ..)| *c == channel.to_string()).count()
    }

    /// Whether the first declare finished: its announcement is out and its reply says INC-1.
    pub fn declare_finished(&self) -> bool {
        self.posts_in(ANNOUNCE) >= 1 && self.replies.iter().any(|r| r.contains("INC-1"))
    }
}

#[derive(Clone, Default)]
pub struct FakeDiscord(pub Arc<Mutex<World>>);

impl FakeDiscord {
    /// A fake with `hang_on` set, mounted on a new server for every route.
    pub async fn serve(hang_on: Option<&'static str>) -> (FakeDiscord, MockServer) {
        let fake = FakeDiscord::default();
        fake.0.lock().unwrap().hang_on = hang_on;
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any()).respond_with(fake.clone()).mount(&server).await;
        (fake, server)
    }

    pub fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.0.lock().unwrap()
    }
}

pub fn channel_json(id: u64, kind: u8, name: &str, parent: Option<u64>) -> Value {
    json!({ "id": id.to_string(), "type": kind, "guild_id": GUILD.to_string(), "name": name, "position": 1,
            "permission_overwrites": [], "parent_id": parent.map(|p| p.to_string()), "nsfw": false, "topic": null })
}

impl Respond for FakeDiscord {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let path = request.url.path().trim_start_matches("/api/v10").to_string();
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let verb = request.method.to_string();
        let mut world = self.0.lock().unwrap();
        if verb == "POST" && path == format!("/guilds/{GUILD}/channels") && world.failing_creates > 0 {
            world.failing_creates -= 1;
            return ResponseTemplate::new(500).set_body_json(json!({ "message": "upstream connect error", "code": 0 }));
        }
        let (step, answer) = apply(&mut world, &verb, &path, &body);
        if step.is_some() && step == world.hang_on && !world.hung {
            world.hung = true;
            // Applied, and never answered: the bot dies waiting.
            return answer.set_delay(Duration::from_secs(120));
        }
        answer
    }
}

/// What `incidentbot serve` reads before it connects: the application, the command
/// registration and the gateway URL. `None` for any other call.
fn start_up(world: &World, verb: &str, path: &str) -> Option<ResponseTemplate> {
    let ok = |value: Value| Some(ResponseTemplate::new(200).set_body_json(value));
    match (verb, path) {
        ("GET", "/oauth2/applications/@me") => ok(json!({
            "id": APP.to_string(), "name": "incidentbot", "icon": null, "description": "",
            "bot_public": false, "bot_require_code_grant": false, "verify_key": "0", "owner": null, "team": null,
            "flags": 0
        })),
        ("PUT", _) if path.starts_with(&format!("/applications/{APP}/")) && path.ends_with("/commands") => {
            ok(json!([]))
        }
        ("GET", "/gateway" | "/gateway/bot") => {
            // Without a gateway, a port nobody listens on: serenity keeps trying.
            let url = world.gateway_url.clone().unwrap_or_else(|| "ws://127.0.0.1:9".to_string());
            ok(json!({ "url": url, "shards": 1,
                       "session_start_limit": { "total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1 } }))
        }
        _ => None,
    }
}

/// Applies one call; returns the declare step it is (if any) and the answer.
fn apply(world: &mut World, verb: &str, path: &str, body: &Value) -> (Option<&'static str>, ResponseTemplate) {
    if let Some(answer) = start_up(world, verb, path) {
        return (None, answer);
    }
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
        // The backfill after a (re)connect reads what it missed: nothing here.
        ("GET", ["channels", _, "messages"]) => (None, ok(json!([]))),
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
                world.dms.push(content.clone());
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
        ("POST", ["interactions", _, token, "callback"]) => {
            world.callbacks.push(token.to_string());
            (None, ResponseTemplate::new(204))
        }
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
