//! Registering `/incident` (per guild or globally) and starting Discord from `serve`'s
//! configuration, against a fake Discord REST API.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bot::config::{Config, FileConfig};
use bot::discord::commands::register;
use bot::secret::Secret;
use serde_json::json;
use serenity::all::GuildId;
use tokio_util::sync::CancellationToken;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::discord_support::*;

async fn accept_command_registration(server: &MockServer) {
    Mock::given(method("PUT"))
        .and(path_regex(r"^/api/v10/applications/\d+(/guilds/\d+)?/commands$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(server)
        .await;
}

#[tokio::test]
async fn commands_are_registered_per_guild_when_one_is_configured_and_globally_otherwise() {
    let fake = start().await;
    accept_command_registration(&fake.server).await;
    register(&fake.bot.http, Some(GuildId::new(GUILD)), &commands::FactorVocabulary::default()).await.unwrap();
    register(&fake.bot.http, None, &commands::FactorVocabulary::default()).await.unwrap();
    let all = calls(&fake.server).await;
    let per_guild = find(&all, "PUT", &format!("/applications/{APP}/guilds/{GUILD}/commands"));
    assert_eq!(per_guild.len(), 1);
    assert_eq!(per_guild[0].body[0]["name"], "incident");
    let global = find(&all, "PUT", &format!("/applications/{APP}/commands"));
    assert_eq!(global.len(), 1);
    assert_eq!(global[0].body, per_guild[0].body);
}

#[tokio::test]
async fn start_learns_the_application_registers_and_runs_the_gateway_until_it_fails_or_stops() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v10/oauth2/applications/@me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": APP.to_string(), "name": "incidentbot", "icon": null, "description": "",
            "bot_public": false, "bot_require_code_grant": false, "verify_key": "abc", "team": null,
            "flags": 0
        })))
        .mount(&server)
        .await;
    accept_command_registration(&server).await;
    // The gateway URL cannot be had, so the gateway task ends with a logged error.
    Mock::given(method("GET"))
        .and(path("/api/v10/gateway/bot"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({ "message": "401: Unauthorized", "code": 0 })))
        .mount(&server)
        .await;
    let config = Config {
        file: FileConfig::parse("[discord]\ncategory = \"Incidents\"\n").unwrap(),
        timezone: chrono_tz::Tz::UTC,
        database_url: "sqlite::memory:".into(),
        port: 0,
        discord_token: Some(Secret::new(TOKEN)),
        discord_guild_id: Some(GUILD),
        discord_api_url: Some(server.uri()),
        slack_bot_token: None,
        slack_signing_secret: None,
        slack_api_url: String::new(),
    };
    let db = storage::Db::in_memory().await.unwrap();
    let cancel = CancellationToken::new();
    let started = bot::discord::start(&config, db, cancel.clone()).await.unwrap().expect("Discord is configured");
    let gateway = started.gateway;
    tokio::time::timeout(std::time::Duration::from_secs(10), gateway).await.unwrap().unwrap();
    let all = calls(&server).await;
    assert_eq!(find(&all, "PUT", &format!("/applications/{APP}/guilds/{GUILD}/commands")).len(), 1);
    assert!(!find(&all, "GET", "/gateway/bot").is_empty());

    let without_token = Config { discord_token: None, ..config };
    let db = storage::Db::in_memory().await.unwrap();
    assert!(bot::discord::start(&without_token, db, cancel).await.unwrap().is_none());
}

// Two workers: a gateway spawned before `prepare` would run while it sleeps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_core_is_prepared_before_the_gateway_or_the_inbox_can_reach_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v10/oauth2/applications/@me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": APP.to_string(), "name": "incidentbot", "icon": null, "description": "",
            "bot_public": false, "bot_require_code_grant": false, "verify_key": "abc", "team": null,
            "flags": 0
        })))
        .mount(&server)
        .await;
    accept_command_registration(&server).await;
    // The gateway's first call notes whether the core was prepared by then.
    let prepared = Arc::new(AtomicBool::new(false));
    let prepared_when_asked = Arc::new(std::sync::Mutex::new(None));
    struct NoteOrder(Arc<AtomicBool>, Arc<std::sync::Mutex<Option<bool>>>);
    impl wiremock::Respond for NoteOrder {
        fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
            self.1.lock().unwrap().get_or_insert(self.0.load(Ordering::SeqCst));
            ResponseTemplate::new(401).set_body_json(json!({ "message": "401: Unauthorized", "code": 0 }))
        }
    }
    Mock::given(method("GET"))
        .and(path("/api/v10/gateway/bot"))
        .respond_with(NoteOrder(prepared.clone(), prepared_when_asked.clone()))
        .mount(&server)
        .await;
    let config = Config {
        file: FileConfig::default(),
        timezone: chrono_tz::Tz::UTC,
        database_url: "sqlite::memory:".into(),
        port: 0,
        discord_token: Some(Secret::new(TOKEN)),
        discord_guild_id: Some(GUILD),
        discord_api_url: Some(server.uri()),
        slack_bot_token: None,
        slack_signing_secret: None,
        slack_api_url: String::new(),
    };
    let db = storage::Db::in_memory().await.unwrap();
    let cancel = CancellationToken::new();
    let started =
        bot::discord::start_with_health(&config, db, cancel.clone(), bot::health::PlatformHealth::new(), |core| {
            // Slow, so a gateway started before this would ask first.
            std::thread::sleep(std::time::Duration::from_millis(300));
            assert!(core.set_follow_through(Default::default()));
            prepared.store(true, Ordering::SeqCst);
        })
        .await
        .unwrap()
        .expect("Discord is configured");
    // The follow-through was set in `prepare`, on the core that runs: a second is refused.
    assert!(!started.core.set_follow_through(Default::default()));
    tokio::time::timeout(std::time::Duration::from_secs(10), started.gateway).await.unwrap().unwrap();
    assert_eq!(*prepared_when_asked.lock().unwrap(), Some(true), "the gateway started before the core was prepared");
}

#[test]
fn threads_need_an_announcements_channel_to_live_in() {
    let config = |toml: &str| Config {
        file: FileConfig::parse(toml).unwrap(),
        timezone: chrono_tz::Tz::UTC,
        database_url: String::new(),
        port: 0,
        discord_token: None,
        discord_guild_id: None,
        discord_api_url: None,
        slack_bot_token: None,
        slack_signing_secret: None,
        slack_api_url: String::new(),
    };
    let err = bot::discord::placement(&config("[discord]\nuse_threads = true\n")).unwrap_err();
    assert!(err.to_string().contains("announcements_channel"), "{err}");
    let placement =
        bot::discord::placement(&config("[discord]\nuse_threads = true\nannouncements_channel = \"42\"\n")).unwrap();
    assert_eq!(placement.thread_parent, Some(42));
}
