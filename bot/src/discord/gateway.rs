//! The gateway connection: serenity's `Client` with exactly the intents the bot needs,
//! and a thin `EventHandler` that converts nothing itself. It forwards each event to
//! the same functions the tests call, with the bot's own REST client (so every REST
//! call shares one rate limiter), and logs what fails. Reconnecting is serenity's; after
//! every ready or resume the incident channels are backfilled.

use serenity::all::{
    ChannelId, ChannelPinsUpdateEvent, ClientBuilder, Context, EventHandler, GatewayIntents, GuildId, Interaction,
    Message, MessageId, MessageUpdateEvent, Reaction, Ready, ResumedEvent,
};
use serenity::async_trait;
use serenity::gateway::{ConnectionStage, ShardStageUpdateEvent};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

use super::{backfill, events, interactions, Discord};
use crate::health::PlatformHealth;
use crate::secret::Secret;

/// GUILDS, GUILD_MESSAGES, MESSAGE_CONTENT, GUILD_MESSAGE_REACTIONS and DIRECT_MESSAGES.
pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::MESSAGE_CONTENT
        | GatewayIntents::GUILD_MESSAGE_REACTIONS
        | GatewayIntents::DIRECT_MESSAGES
}

struct Handler {
    bot: Discord,
    health: Arc<PlatformHealth>,
}

impl Handler {
    /// Backfills for a session that connected just now.
    async fn catch_up(&self) {
        let connected_at = self.bot.core.now();
        if let Err(error) = backfill::backfill_all(&self.bot.http, &self.bot.core, connected_at).await {
            tracing::warn!(error = format!("{error:#}"), "discord: backfill failed");
        }
    }
}

fn log_failure<T, E: std::fmt::Display>(what: &'static str, result: Result<T, E>) {
    if let Err(error) = result {
        tracing::warn!(%error, "discord: {what} failed");
    }
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        tracing::info!(guilds = ready.guilds.len(), "discord: connected");
        self.health.connected();
        if let [only] = ready.guilds.as_slice() {
            self.bot.chat.remember_guild(only.id);
        }
        self.catch_up().await;
    }

    async fn resume(&self, _ctx: Context, _event: ResumedEvent) {
        self.health.connected();
        self.catch_up().await;
    }

    async fn shard_stage_update(&self, _ctx: Context, event: ShardStageUpdateEvent) {
        // Ready (or resume) reports connected; any other stage means the shard is away.
        if event.new != ConnectionStage::Connected {
            self.health.disconnected(format!("gateway {}", event.new));
        }
    }

    async fn message(&self, _ctx: Context, message: Message) {
        log_failure("storing a message", events::message_created(&self.bot.core, &message).await);
    }

    async fn message_update(
        &self,
        _ctx: Context,
        _old: Option<Message>,
        _new: Option<Message>,
        event: MessageUpdateEvent,
    ) {
        log_failure("storing an edit", events::message_updated(&self.bot.core, &event).await);
    }

    async fn message_delete(&self, _ctx: Context, _channel: ChannelId, message: MessageId, _guild: Option<GuildId>) {
        log_failure("storing a deletion", events::message_deleted(&self.bot.core, message).await);
    }

    async fn reaction_add(&self, _ctx: Context, reaction: Reaction) {
        log_failure("storing a reaction", events::reaction_added(&self.bot.core, &reaction).await);
    }

    async fn channel_pins_update(&self, _ctx: Context, pins: ChannelPinsUpdateEvent) {
        let result = events::pins_updated(&self.bot.http, &self.bot.core, &pins).await;
        log_failure("reading pins", result.map_err(|e| format!("{e:#}")));
    }

    async fn interaction_create(&self, _ctx: Context, interaction: Interaction) {
        let result = interactions::handle_interaction(&self.bot, &interaction).await;
        log_failure("answering an interaction", result.map_err(|e| format!("{e:#}")));
    }
}

/// Builds the gateway client for `bot` and runs it until `cancel` fires, then stops
/// every shard.
pub async fn run(
    bot: Discord,
    token: &Secret,
    api_url: Option<&str>,
    cancel: CancellationToken,
    health: Arc<PlatformHealth>,
) -> anyhow::Result<()> {
    let application_id = bot.http.application_id().map(|id| id.get());
    let http = super::http::build_http(token, api_url, application_id);
    let mut client = ClientBuilder::new_with_http(http, intents())
        .event_handler(Handler { bot, health: health.clone() })
        .await
        .map_err(|e| anyhow::anyhow!("cannot build the Discord client: {e}"))?;
    let shards = client.shard_manager.clone();
    let stopper = tokio::spawn(async move {
        cancel.cancelled().await;
        tracing::info!("discord: stopping the shards");
        shards.shutdown_all().await;
    });
    let result = client.start_autosharded().await;
    stopper.abort();
    health.disconnected("gateway stopped");
    result.map_err(|e| anyhow::anyhow!("the Discord gateway stopped: {e}"))
}
