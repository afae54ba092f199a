//! The bot token never shows up in Debug output or in logs, even when Discord fails.

use bot::config::{Config, FileConfig};
use bot::discord::chat::Placement;
use bot::discord::interactions::handle_interaction;
use bot::secret::Secret;
use commands::{Chat, Invocation, Message};
use serenity::all::Interaction;

use crate::discord_support::*;
use crate::log_capture::Capture;

#[test]
fn debug_output_never_shows_the_token() {
    let config = Config {
        file: FileConfig::default(),
        timezone: chrono_tz::Tz::UTC,
        database_url: "sqlite::memory:".into(),
        port: 0,
        discord_token: Some(Secret::new(TOKEN)),
        discord_guild_id: Some(GUILD),
        discord_api_url: None,
        slack_bot_token: None,
        slack_signing_secret: None,
        slack_api_url: String::new(),
    };
    let http = bot::discord::http::build_http(&Secret::new(TOKEN), None, Some(APP));
    let printed = format!("{config:?} {http:?}");
    assert!(printed.contains("redacted"), "{printed}");
    assert!(!printed.contains("sentinel"), "{printed}");
}

#[tokio::test]
async fn logs_never_show_the_token_when_discord_fails() {
    // Everything logged at every level on this thread, where the test and its tasks run.
    let captured = Capture::start();

    // Every REST call fails with a 404.
    let fake =
        start_unmounted(Placement { guild: Some(GUILD), category: Some("Incidents".into()), thread_parent: None })
            .await;
    let interaction: Interaction = fixture("command_declare.json");
    if let Err(error) = handle_interaction(&fake.bot, &interaction).await {
        tracing::warn!(error = format!("{error:#}"), "discord: answering an interaction failed");
    }
    let result = fake
        .bot
        .core
        .run(&Invocation {
            source_id: "discord:interaction:2".into(),
            user: ALICE.into(),
            channel_id: GENERAL.to_string().into(),
            text: "declare sev1 Everything is down".into(),
        })
        .await;
    if let Err(error) = &result {
        tracing::error!(%error, ?error, "command failed");
    }
    let post = fake.bot.chat.post(&CHANNEL.to_string().as_str().into(), &Message::plain("hello")).await;
    tracing::warn!(?post, "post result");
    tracing::debug!(chat = ?fake.bot.chat, http = ?fake.bot.http, "state");

    let requests = calls(&fake.server).await;
    assert!(!requests.is_empty());
    assert!(requests.iter().all(|r| r.authorization == format!("Bot {TOKEN}")), "the token was used");
    let logs = captured.text();
    assert!(logs.contains("404"), "Discord's failures are logged: {logs}");
    assert!(!logs.contains(TOKEN) && !logs.contains("sentinel"), "{logs}");
}
