//! The core's [`Chat`] port over serenity's REST client.
//!
//! Incident channels are text channels in the configured category, or — when the config
//! asks for threads — public threads under the announcements channel. Archiving a text
//! channel renames it `archived-<name>` (Discord has no channel archive, and locking it
//! would need Manage Roles, which the bot does not ask for); archiving a thread archives
//! and locks it. Every message goes out with no mentions allowed.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use ::commands::{ChannelRef, Chat, ChatError, Message, MessageRef};
use async_trait::async_trait;
use serenity::all::{
    AutoArchiveDuration, Channel, ChannelId, ChannelType, CreateChannel, CreateThread, EditChannel, EditThread,
    GuildId, MessageId, UserId,
};
use serenity::http::{Http, HttpError};

use super::render;

/// Discord's limit on a channel topic.
const MAX_TOPIC: usize = 1024;
/// Discord's limit on a channel name.
const MAX_CHANNEL_NAME: usize = 100;

/// Where incident channels go.
#[derive(Debug, Clone, Default)]
pub struct Placement {
    /// The guild channels are created in; learned from the first interaction when not configured.
    pub guild: Option<u64>,
    /// The category incident channels are created in, by name (case-insensitive).
    pub category: Option<String>,
    /// When set, each incident is a public thread in this channel instead of a channel.
    pub thread_parent: Option<u64>,
}

/// The Discord implementation of the core's chat port.
pub struct DiscordChat {
    http: Arc<Http>,
    guild: Mutex<Option<GuildId>>,
    category: Option<String>,
    thread_parent: Option<ChannelId>,
}

impl std::fmt::Debug for DiscordChat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The client is left out: only its configuration is worth showing.
        f.debug_struct("DiscordChat")
            .field("guild", &self.guild())
            .field("category", &self.category)
            .field("thread_parent", &self.thread_parent)
            .finish_non_exhaustive()
    }
}

impl DiscordChat {
    pub fn new(http: Arc<Http>, placement: Placement) -> Self {
        DiscordChat {
            http,
            guild: Mutex::new(placement.guild.filter(|id| *id != 0).map(GuildId::new)),
            category: placement.category,
            thread_parent: placement.thread_parent.filter(|id| *id != 0).map(ChannelId::new),
        }
    }

    pub fn http(&self) -> &Arc<Http> {
        &self.http
    }

    pub fn guild(&self) -> Option<GuildId> {
        *self.guild.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Remembers the guild commands come from, when none was configured.
    pub fn remember_guild(&self, guild: GuildId) {
        let mut current = self.guild.lock().unwrap_or_else(PoisonError::into_inner);
        if current.is_none() {
            *current = Some(guild);
        }
    }

    fn uses_threads(&self) -> bool {
        self.thread_parent.is_some()
    }

    async fn create_thread(&self, parent: ChannelId, name: &str) -> Result<ChannelRef, ChatError> {
        // serenity creates a private thread unless told otherwise.
        let builder =
            CreateThread::new(name).kind(ChannelType::PublicThread).auto_archive_duration(AutoArchiveDuration::OneWeek);
        let thread = parent.create_thread(&*self.http, builder).await.map_err(|e| chat_error("create thread", &e))?;
        Ok(ChannelRef { id: thread.id.to_string(), name: thread.name })
    }

    async fn create_text_channel(&self, name: &str) -> Result<ChannelRef, ChatError> {
        let guild = self.guild().ok_or_else(|| {
            ChatError::new("create channel", "no Discord server is known yet; set DISCORD_GUILD_ID", false)
        })?;
        let channels = self.http.get_channels(guild).await.map_err(|e| chat_error("list channels", &e))?;
        let category = match &self.category {
            None => None,
            Some(wanted) => Some(
                channels
                    .iter()
                    .find(|c| c.kind == ChannelType::Category && c.name.eq_ignore_ascii_case(wanted))
                    .map(|c| c.id)
                    .ok_or_else(|| {
                        ChatError::new("create channel", format!("there is no category named `{wanted}`"), false)
                    })?,
            ),
        };
        let taken: HashSet<&str> = channels.iter().map(|c| c.name.as_str()).collect();
        let name = free_name(name, &taken);
        let mut builder = CreateChannel::new(name).kind(ChannelType::Text);
        if let Some(category) = category {
            builder = builder.category(category);
        }
        let channel = guild.create_channel(&*self.http, builder).await.map_err(|e| chat_error("create channel", &e))?;
        Ok(ChannelRef { id: channel.id.to_string(), name: channel.name })
    }
}

/// `name`, or `name-2`, `name-3`, … whichever is not taken.
fn free_name(name: &str, taken: &HashSet<&str>) -> String {
    let base = render::cut(name, MAX_CHANNEL_NAME - 4).trim_end_matches('…').to_string();
    if !taken.contains(name) {
        return render::cut(name, MAX_CHANNEL_NAME);
    }
    (2..).map(|n| format!("{base}-{n}")).find(|candidate| !taken.contains(candidate.as_str())).unwrap_or(base)
}

/// A Discord id from the core's string form.
pub fn snowflake(operation: &'static str, id: &str) -> Result<u64, ChatError> {
    id.parse::<u64>()
        .ok()
        .filter(|id| *id != 0)
        .ok_or_else(|| ChatError::new(operation, format!("`{id}` is not a Discord id"), false))
}

/// A serenity failure in the core's terms. The detail keeps Discord's own words but
/// never a URL (interaction URLs hold a token).
pub fn chat_error(operation: &'static str, error: &serenity::Error) -> ChatError {
    crate::metrics::metrics().chat_api_error("discord");
    match error {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(response)) => {
            let status = response.status_code;
            ChatError::new(
                operation,
                format!("Discord answered {status}: {} (code {})", response.error.message, response.error.code),
                status.as_u16() == 429 || status.is_server_error(),
            )
        }
        serenity::Error::Http(HttpError::Request(request)) => {
            let kind = if request.is_timeout() {
                "timed out"
            } else if request.is_connect() {
                "could not connect"
            } else {
                "request failed"
            };
            ChatError::new(operation, format!("Discord {kind}"), true)
        }
        other => ChatError::new(operation, other.to_string(), false),
    }
}

#[async_trait]
impl Chat for DiscordChat {
    fn platform(&self) -> &'static str {
        "discord"
    }

    async fn create_channel(&self, name: &str) -> Result<ChannelRef, ChatError> {
        match self.thread_parent {
            Some(parent) => self.create_thread(parent, name).await,
            None => self.create_text_channel(name).await,
        }
    }

    async fn post(&self, channel_id: &str, message: &Message) -> Result<MessageRef, ChatError> {
        let channel = ChannelId::new(snowflake("post", channel_id)?);
        let posted = channel
            .send_message(&*self.http, render::render(message).create_message())
            .await
            .map_err(|e| chat_error("post", &e))?;
        Ok(MessageRef { channel_id: channel_id.to_string(), message_id: posted.id.to_string() })
    }

    async fn update(&self, target: &MessageRef, message: &Message) -> Result<(), ChatError> {
        let channel = ChannelId::new(snowflake("update", &target.channel_id)?);
        let id = MessageId::new(snowflake("update", &target.message_id)?);
        channel
            .edit_message(&*self.http, id, render::render(message).edit_message())
            .await
            .map_err(|e| chat_error("update", &e))?;
        Ok(())
    }

    /// Threads get their members added. A text channel in the category is visible to
    /// whoever the category lets in, so there is nothing to do.
    async fn invite(&self, channel_id: &str, users: &[String]) -> Result<(), ChatError> {
        if !self.uses_threads() {
            return Ok(());
        }
        let thread = ChannelId::new(snowflake("invite", channel_id)?);
        for user in users {
            // Users not known by a Discord id (none in practice) cannot be added.
            let Ok(id) = snowflake("invite", user) else {
                continue;
            };
            thread.add_thread_member(&*self.http, UserId::new(id)).await.map_err(|e| chat_error("invite", &e))?;
        }
        Ok(())
    }

    /// Threads have no topic; their kick-off post carries the same facts.
    async fn set_topic(&self, channel_id: &str, topic: &str) -> Result<(), ChatError> {
        if self.uses_threads() {
            return Ok(());
        }
        let channel = ChannelId::new(snowflake("set topic", channel_id)?);
        channel
            .edit(&*self.http, EditChannel::new().topic(render::cut(topic, MAX_TOPIC)))
            .await
            .map_err(|e| chat_error("set topic", &e))?;
        Ok(())
    }

    async fn pin(&self, target: &MessageRef) -> Result<(), ChatError> {
        let channel = ChannelId::new(snowflake("pin", &target.channel_id)?);
        let id = MessageId::new(snowflake("pin", &target.message_id)?);
        channel.pin(&*self.http, id).await.map_err(|e| chat_error("pin", &e))
    }

    async fn send_dm(&self, user: &str, message: &Message) -> Result<MessageRef, ChatError> {
        let user = UserId::new(snowflake("send DM", user)?);
        let dm = user.create_dm_channel(&*self.http).await.map_err(|e| chat_error("open DM", &e))?;
        let posted = dm
            .id
            .send_message(&*self.http, render::render(message).create_message())
            .await
            .map_err(|e| chat_error("send DM", &e))?;
        Ok(MessageRef { channel_id: dm.id.to_string(), message_id: posted.id.to_string() })
    }

    async fn rename_channel(&self, channel_id: &str, name: &str) -> Result<(), ChatError> {
        let channel = ChannelId::new(snowflake("rename channel", channel_id)?);
        let name = render::cut(name, MAX_CHANNEL_NAME);
        let result = if self.uses_threads() {
            channel.edit_thread(&*self.http, EditThread::new().name(name)).await
        } else {
            channel.edit(&*self.http, EditChannel::new().name(name)).await
        };
        result.map(|_| ()).map_err(|e| chat_error("rename channel", &e))
    }

    async fn archive_channel(&self, channel_id: &str) -> Result<(), ChatError> {
        let channel = ChannelId::new(snowflake("archive channel", channel_id)?);
        if self.uses_threads() {
            return channel
                .edit_thread(&*self.http, EditThread::new().archived(true).locked(true))
                .await
                .map(|_| ())
                .map_err(|e| chat_error("archive channel", &e));
        }
        let current = match channel.to_channel(&*self.http).await.map_err(|e| chat_error("archive channel", &e))? {
            Channel::Guild(guild_channel) => guild_channel.name,
            _ => return Err(ChatError::new("archive channel", "not a server channel", false)),
        };
        if current.starts_with("archived-") {
            return Ok(());
        }
        let name = render::cut(&format!("archived-{current}"), MAX_CHANNEL_NAME);
        channel
            .edit(&*self.http, EditChannel::new().name(name))
            .await
            .map(|_| ())
            .map_err(|e| chat_error("archive channel", &e))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_name_gets_the_next_free_suffix() {
        let taken: HashSet<&str> = ["inc-1-db", "inc-1-db-2"].into_iter().collect();
        assert_eq!(free_name("inc-1-db", &taken), "inc-1-db-3");
        assert_eq!(free_name("inc-2-api", &taken), "inc-2-api");
    }

    #[test]
    fn ids_must_be_snowflakes() {
        assert_eq!(snowflake("post", "1234").unwrap(), 1234);
        assert!(snowflake("post", "general").is_err());
        assert!(snowflake("post", "0").is_err());
    }
}
