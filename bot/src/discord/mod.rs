//! The Discord adapter: the incident flow through serenity's gateway, slash commands,
//! buttons and modals. It translates Discord events into core calls and renders the
//! core's replies; no incident rule lives here.
//!
//! - [`http`] builds serenity's REST client (rate limited, or pointed at a fake), with
//!   time-outs; [`retry`] retries the calls that are safe to send again.
//! - [`chat`] implements the core's `Chat` port over it; [`render`] shapes messages,
//!   buttons and modals, escaping user text and splitting long text within the
//!   table of Discord's [`limits`].
//! - [`commands`] defines `/incident` and maps its options onto the core's grammar.
//! - [`interactions`] answers commands, autocomplete, buttons and modal submits;
//!   [`inbox`] commits the deferred ones first and runs again, at start, those a
//!   previous run left unfinished.
//! - [`events`] feeds the timeline from gateway events; [`backfill`] catches up after
//!   downtime.
//! - [`gateway`] runs the serenity client; [`permissions`] lists what the bot needs.

pub mod backfill;
pub mod chat;
pub mod commands;
pub mod events;
pub mod gateway;
pub mod http;
pub mod inbox;
pub mod interactions;
pub mod limits;
pub mod permissions;
pub mod render;
pub mod retry;

use std::sync::Arc;

use ::commands::{Clock, Core, Settings, SystemClock};
use anyhow::{bail, Context as _};
use serenity::all::GuildId;
use serenity::http::Http;
use storage::Db;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use self::chat::{DiscordChat, Placement};
use self::retry::RetryPolicy;
use crate::config::Config;
use crate::health::PlatformHealth;

/// Everything a Discord event handler needs: the REST client, the core, and the chat
/// port (which learns the guild from interactions).
#[derive(Clone)]
pub struct Discord {
    pub http: Arc<Http>,
    pub core: Arc<Core>,
    pub chat: Arc<DiscordChat>,
}

impl Discord {
    pub fn new(http: Arc<Http>, db: Db, clock: Arc<dyn Clock>, settings: Settings, placement: Placement) -> Discord {
        Self::with_retry(http, db, clock, settings, placement, RetryPolicy::default())
    }

    /// [`Discord::new`] whose REST calls retry under `retry`.
    pub fn with_retry(
        http: Arc<Http>,
        db: Db,
        clock: Arc<dyn Clock>,
        settings: Settings,
        placement: Placement,
        retry: RetryPolicy,
    ) -> Discord {
        let chat = Arc::new(DiscordChat::with_retry(http.clone(), placement, retry));
        let core = Arc::new(Core::new(db, chat.clone(), clock, settings));
        Discord { http, core, chat }
    }
}

/// Where incident channels go, from the config. Threads live under the announcements
/// channel, where the incident is announced.
pub fn placement(config: &Config) -> anyhow::Result<Placement> {
    let discord = &config.file.discord;
    let thread_parent = if discord.use_threads {
        let Some(channel) = discord.channels.announcements_channel.as_ref() else {
            bail!("`discord.use_threads` needs `discord.announcements_channel`: incident threads are opened there");
        };
        Some(
            channel
                .as_str()
                .parse::<u64>()
                .with_context(|| format!("`discord.announcements_channel`: `{channel}` is not a Discord channel id"))?,
        )
    } else {
        None
    };
    Ok(Placement { guild: config.discord_guild_id, category: discord.category.clone(), thread_parent })
}

/// A running Discord platform: its gateway task and its core (for follow-ups).
pub struct Started {
    pub gateway: JoinHandle<()>,
    pub core: Arc<Core>,
}

/// Starts Discord when `DISCORD_TOKEN` is set: registers `/incident`, then runs the
/// gateway (which backfills on every ready) until `cancel` fires. Returns `None` when
/// Discord is not configured.
pub async fn start(config: &Config, db: Db, cancel: CancellationToken) -> anyhow::Result<Option<Started>> {
    start_with_health(config, db, cancel, PlatformHealth::new(), |_| {}).await
}

/// [`start`], reporting the gateway's connection to `health`. `prepare` gets the core
/// before anything can reach it (the inbox resume, the gateway's first event), so what
/// it attaches (the trackers and status page) is there for the first command.
pub async fn start_with_health(
    config: &Config,
    db: Db,
    cancel: CancellationToken,
    health: Arc<PlatformHealth>,
    prepare: impl FnOnce(&Arc<Core>),
) -> anyhow::Result<Option<Started>> {
    let Some(token) = config.discord_token.clone() else {
        return Ok(None);
    };
    let settings = config.file.settings(&config.file.discord.channels).context("Discord settings")?;
    let placement = placement(config)?;
    let api_url = config.discord_api_url.clone();
    let http = Arc::new(http::build_http(&token, api_url.as_deref(), None));
    let application = http
        .get_current_application_info()
        .await
        .map_err(|e| anyhow::anyhow!("{}", chat::chat_error("read the Discord application", &e)))
        .context("is DISCORD_TOKEN a valid bot token?")?;
    http.set_application_id(application.id);
    let bot = Discord::new(http, db, Arc::new(SystemClock), settings, placement);

    let guild = config.discord_guild_id.map(GuildId::new);
    match commands::register(&bot.http, guild, &bot.core.settings().factors).await {
        Ok(()) => tracing::info!(per_guild = guild.is_some(), "discord: /incident registered"),
        Err(e) => {
            tracing::warn!(error = %chat::chat_error("register /incident", &e), "discord: commands not registered")
        }
    }
    let core = bot.core.clone();
    prepare(&core);
    // What a previous run deferred and left unfinished runs again, oldest first. Only
    // that: the gateway starts below, and what it brings is handled as it comes, even
    // when this task reads the inbox late.
    let active_since = chrono::Utc::now();
    let resuming = bot.clone();
    tokio::spawn(async move {
        match inbox::resume(&resuming, active_since).await {
            Ok(0) => {}
            Ok(ran) => tracing::info!(ran, "discord: unfinished interactions run again"),
            Err(error) => tracing::error!(error = format!("{error:#}"), "discord: could not read the inbox"),
        }
    });
    let gateway = tokio::spawn(async move {
        if let Err(error) = gateway::run(bot, &token, api_url.as_deref(), cancel, health).await {
            tracing::error!(error = format!("{error:#}"), "discord: gateway failed");
        }
    });
    Ok(Some(Started { gateway, core }))
}
