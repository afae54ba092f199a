//! Shared set-up for the Slack integration tests: the real app on a loopback port, a
//! fresh SQLite file, wiremock as Slack's Web API (through the API base URL), and
//! helpers that sign requests the way Slack does.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use storage::test_database::TestDatabase;

use bot::secret::Secret;
use bot::slack::local::{serve_on_loopback, LocalApp};
use bot::slack::signature::sign;
use bot::slack::{SlackOptions, SlackState};
use commands::{Invocation, Settings, SystemClock};
use serde_json::{json, Value};
use storage::Db;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const TOKEN: &str = "xoxb-SENTINEL-token-0123456789";
pub const SIGNING_SECRET: &str = "SENTINEL-signing-secret-abcdef";
pub const ANNOUNCEMENTS: &str = "CANNOUNCE1";

pub struct TestApp {
    pub app: LocalApp,
    pub slack: MockServer,
    pub state: SlackState,
    pub db: Db,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
    /// The URL of the app's database.
    pub db_url: String,
    next_trigger: AtomicU64,
    /// The fresh database of the suite's engine, removed when the app is dropped.
    _database: Option<TestDatabase>,
}

/// A fake Slack that answers every Web API method the way Slack does on success.
struct FakeSlack {
    counter: AtomicU64,
}

impl Respond for FakeSlack {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let n = self.counter.fetch_add(1, Ordering::SeqCst) + 1;
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(json!({}));
        let answer = match request.url.path().trim_start_matches("/api/") {
            "conversations.create" => {
                json!({ "ok": true, "channel": { "id": format!("C0INC{n}"), "name": body["name"] } })
            }
            "chat.postMessage" => {
                json!({ "ok": true, "channel": body["channel"], "ts": format!("1800000000.{n:06}") })
            }
            "conversations.open" => json!({ "ok": true, "channel": { "id": "D0DM1" } }),
            "conversations.history" => json!({ "ok": true, "messages": [], "has_more": false }),
            "users.info" => {
                // `U0ALICE` is "Alice": a display name that differs from the id.
                let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&request.body).unwrap_or_default();
                let id = form.iter().find(|(k, _)| k == "user").map(|(_, v)| v.clone()).unwrap_or_default();
                json!({ "ok": true, "user": { "id": id, "name": id.to_lowercase(), "profile": { "display_name": display_name(&id) } } })
            }
            _ => json!({ "ok": true }),
        };
        ResponseTemplate::new(200).set_body_json(answer)
    }
}

/// The display name the fake Slack gives a user id: `U0ALICE` is `Alice`.
pub fn display_name(id: &str) -> String {
    let name = id.trim_start_matches("U0").to_lowercase();
    let mut chars = name.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

pub fn settings() -> Settings {
    Settings { announcements_channel: Some(ANNOUNCEMENTS.to_string().into()), ..Settings::default() }
}

/// Starts the app on a fresh database of the suite's engine (`INCIDENTBOT_TEST_ENGINE`),
/// with the default fake Slack mounted at a low priority (tests mount more specific
/// mocks over it).
pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::for_suite().await;
    let url = database.url.clone();
    let mut app = spawn_app_on(dir, &url).await;
    app._database = Some(database);
    app
}

pub async fn spawn_app_on(dir: tempfile::TempDir, db_url: &str) -> TestApp {
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex("^/api/"))
        .respond_with(FakeSlack { counter: AtomicU64::new(0) })
        .with_priority(10)
        .mount(&slack)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("^/response/"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(10)
        .mount(&slack)
        .await;
    let db = Db::connect(db_url).await.unwrap();
    let options = SlackOptions {
        bot_token: Secret::new(TOKEN),
        signing_secret: Secret::new(SIGNING_SECRET),
        api_url: format!("{}/api", slack.uri()),
    };
    let state = SlackState::new(options, db.clone(), settings(), Arc::new(SystemClock)).unwrap();
    let app = serve_on_loopback(state.clone(), db.clone()).await.unwrap();
    TestApp {
        app,
        slack,
        state,
        db,
        http: reqwest::Client::new(),
        dir,
        db_url: db_url.to_string(),
        next_trigger: AtomicU64::new(1),
        _database: None,
    }
}

pub fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

impl TestApp {
    /// POSTs `body` to `path`, signed with `timestamp`.
    pub async fn post_signed_at(
        &self,
        path: &str,
        content_type: &str,
        body: &str,
        timestamp: i64,
    ) -> reqwest::Response {
        let ts = timestamp.to_string();
        let signature = sign(&Secret::new(SIGNING_SECRET), &ts, body.as_bytes());
        self.http
            .post(self.app.url(path))
            .header("content-type", content_type)
            .header("x-slack-request-timestamp", ts)
            .header("x-slack-signature", signature)
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    pub async fn post_signed(&self, path: &str, content_type: &str, body: &str) -> reqwest::Response {
        self.post_signed_at(path, content_type, body, now_unix()).await
    }

    /// The form body of `/incident <text>` typed by `user` in `channel`.
    pub fn command_body(&self, user: &str, channel: &str, text: &str) -> String {
        let n = self.next_trigger.fetch_add(1, Ordering::SeqCst);
        serde_urlencoded::to_string([
            ("token", "legacy-unused"),
            ("team_id", "T0TEAM"),
            ("channel_id", channel),
            ("user_id", user),
            ("command", "/incident"),
            ("text", text),
            ("response_url", &format!("{}/response/{n}", self.slack.uri())),
            ("trigger_id", &format!("1000.{n}.trigger")),
        ])
        .unwrap()
    }

    pub async fn command(&self, user: &str, channel: &str, text: &str) -> reqwest::Response {
        let body = self.command_body(user, channel, text);
        self.post_signed("/slack/commands", "application/x-www-form-urlencoded", &body).await
    }

    /// Delivers an Events API callback; `retry` sets `X-Slack-Retry-Num`.
    pub async fn event(&self, event_id: &str, event: Value, retry: Option<u32>) -> reqwest::Response {
        let body =
            json!({ "type": "event_callback", "team_id": "T0TEAM", "event_id": event_id, "event": event }).to_string();
        let ts = now_unix().to_string();
        let mut request = self
            .http
            .post(self.app.url("/slack/events"))
            .header("content-type", "application/json")
            .header("x-slack-request-timestamp", &ts)
            .header("x-slack-signature", sign(&Secret::new(SIGNING_SECRET), &ts, body.as_bytes()));
        if let Some(n) = retry {
            request = request.header("x-slack-retry-num", n.to_string()).header("x-slack-retry-reason", "http_timeout");
        }
        request.body(body).send().await.unwrap()
    }

    pub async fn interaction(&self, payload: Value) -> reqwest::Response {
        let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
        self.post_signed("/slack/interactions", "application/x-www-form-urlencoded", &body).await
    }

    /// Waits until every background task the requests started has finished.
    pub async fn settle(&self) {
        let tasks = self.state.tasks();
        tasks.close();
        tokio::time::timeout(Duration::from_secs(20), tasks.wait()).await.expect("background work did not finish");
        tasks.reopen();
    }

    /// Every Web API call made so far, as (method, JSON or form body).
    pub async fn calls(&self) -> Vec<(String, Value)> {
        self.slack
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.url.path().starts_with("/api/"))
            .map(|r| {
                let body = serde_json::from_slice(&r.body).unwrap_or_else(|_| {
                    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&r.body).unwrap_or_default();
                    Value::Object(pairs.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
                });
                (r.url.path().trim_start_matches("/api/").to_string(), body)
            })
            .collect()
    }

    pub async fn calls_to(&self, method_name: &str) -> Vec<Value> {
        self.calls().await.into_iter().filter(|(m, _)| m == method_name).map(|(_, b)| b).collect()
    }

    /// Bodies posted to `response_url`s.
    pub async fn private_replies(&self) -> Vec<Value> {
        self.slack
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.url.path().starts_with("/response/"))
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect()
    }

    /// Declares an incident through the core (no HTTP), as `user`; returns its channel id.
    pub async fn declare(&self, user: &str, text: &str) -> String {
        let outcome = self
            .state
            .core()
            .run(&Invocation {
                source_id: format!("test-declare-{}", self.next_trigger.fetch_add(1, Ordering::SeqCst)).into(),
                user: user.to_string(),
                channel_id: "CGENERAL".to_string().into(),
                text: format!("declare {text}"),
            })
            .await
            .unwrap();
        outcome.opened.expect("declare opened a channel").id.to_string()
    }

    pub async fn message_count(&self, incident_id: i64) -> usize {
        self.db
            .timeline(incident_id, false)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == storage::EntryKind::Message)
            .count()
    }
}

/// A Slack message event in `channel`.
pub fn message_event(channel: &str, user: &str, ts: &str, text: &str) -> Value {
    json!({ "type": "message", "channel": channel, "user": user, "text": text, "ts": ts, "event_ts": ts, "channel_type": "channel" })
}
