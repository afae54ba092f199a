//! The core's [`Chat`] port over serenity's REST client.
//!
//! Incident channels are text channels in the configured category, or — when the config
//! asks for threads — public threads under the announcements channel. Archiving a text
//! channel renames it `archived-<name>` (Discord has no channel archive, and locking it
//! would need Manage Roles, which the bot does not ask for); archiving a thread archives
//! and locks it. Every message goes out with no mentions allowed. Every REST call goes
//! through [`retry`](super::retry), which retries only what cannot happen twice.

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use ::commands::{ChannelRef, Chat, ChatError, Line, Message, MessageRef};
use async_trait::async_trait;
use serenity::all::{
    AutoArchiveDuration, Channel, ChannelId, ChannelType, CreateChannel, CreateThread, EditChannel, EditThread,
    GuildId, MessageId, UserId,
};
use serenity::http::{Http, HttpError};

use super::render;
use super::retry::{self, Effect, RestError, RetryPolicy};

/// Discord's limit on a channel topic.
const MAX_TOPIC: usize = super::limits::TOPIC;
/// Discord's limit on a channel name.
const MAX_CHANNEL_NAME: usize = super::limits::CHANNEL_NAME;

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
    retry: RetryPolicy,
}

impl std::fmt::Debug for DiscordChat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The client is left out: only its configuration is worth showing.
        f.debug_struct("DiscordChat")
            .field("guild", &self.guild())
            .field("category", &self.category)
            .field("thread_parent", &self.thread_parent)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl DiscordChat {
    pub fn new(http: Arc<Http>, placement: Placement) -> Self {
        Self::with_retry(http, placement, RetryPolicy::default())
    }

    /// A chat port whose REST calls retry under `retry`.
    pub fn with_retry(http: Arc<Http>, placement: Placement, retry: RetryPolicy) -> Self {
        DiscordChat {
            http,
            guild: Mutex::new(placement.guild.filter(|id| *id != 0).map(GuildId::new)),
            category: placement.category,
            thread_parent: placement.thread_parent.filter(|id| *id != 0).map(ChannelId::new),
            retry,
        }
    }

    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// One REST call under the retry policy, failing in the core's terms.
    async fn rest<T, F, Fut>(&self, operation: &'static str, effect: Effect, attempt: F) -> Result<T, ChatError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = serenity::Result<T>>,
    {
        if !crate::fence::gate().may_send() {
            return Err(ChatError::new(operation, crate::fence::FENCED.to_string(), false));
        }
        retry::call(&self.retry, operation, effect, attempt).await.map_err(|e| rest_error(operation, &e))
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
        let thread =
            self.rest("create thread", Effect::Creates, || parent.create_thread(&*self.http, builder.clone())).await?;
        Ok(ChannelRef { id: thread.id.to_string().into(), name: thread.name })
    }

    async fn create_text_channel(&self, name: &str) -> Result<ChannelRef, ChatError> {
        let guild = self.guild().ok_or_else(|| {
            ChatError::new("create channel", "no Discord server is known yet; set DISCORD_GUILD_ID", false)
        })?;
        let channels = self.rest("list channels", Effect::Idempotent, || self.http.get_channels(guild)).await?;
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
        let channel =
            self.rest("create channel", Effect::Creates, || guild.create_channel(&*self.http, builder.clone())).await?;
        Ok(ChannelRef { id: channel.id.to_string().into(), name: channel.name })
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

/// A failed call of the retry layer in the core's terms.
pub fn rest_error(operation: &'static str, error: &RestError) -> ChatError {
    match error {
        RestError::Discord(error) => chat_error(operation, error),
        RestError::Deadline(_) => {
            crate::metrics::metrics().chat_api_error(storage::Platform::Discord);
            ChatError::new(operation, error.to_string(), true)
        }
    }
}

/// A serenity failure in the core's terms. The detail keeps Discord's own words but
/// never a URL (interaction URLs hold a token).
pub fn chat_error(operation: &'static str, error: &serenity::Error) -> ChatError {
    crate::metrics::metrics().chat_api_error(storage::Platform::Discord);
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
    fn platform(&self) -> storage::Platform {
        storage::Platform::Discord
    }

    async fn create_channel(&self, name: &str) -> Result<ChannelRef, ChatError> {
        match self.thread_parent {
            Some(parent) => self.create_thread(parent, name).await,
            None => self.create_text_channel(name).await,
        }
    }

    async fn post(&self, channel_id: &::commands::ChannelId, message: &Message) -> Result<MessageRef, ChatError> {
        let channel = ChannelId::new(snowflake("post", channel_id.as_str())?);
        // A long message goes out in parts (see `render::render_all`); the reference is
        // to the first, which starts it.
        let mut first = None;
        for part in render::render_all(message) {
            let posted = self
                .rest("post", Effect::Creates, || channel.send_message(&*self.http, part.clone().create_message()))
                .await?;
            first.get_or_insert(posted.id);
        }
        let first = first.ok_or_else(|| ChatError::new("post", "nothing to post", false))?;
        Ok(MessageRef { channel_id: channel_id.to_string().into(), message_id: first.to_string() })
    }

    /// Threads get their members added. A text channel in the category is visible to
    /// whoever the category lets in, so there is nothing to do.
    async fn invite(&self, channel_id: &::commands::ChannelId, users: &[String]) -> Result<(), ChatError> {
        if !self.uses_threads() {
            return Ok(());
        }
        let thread = ChannelId::new(snowflake("invite", channel_id.as_str())?);
        for user in users {
            // Users not known by a Discord id (none in practice) cannot be added.
            let Ok(id) = snowflake("invite", user) else {
                continue;
            };
            let user = UserId::new(id);
            self.rest("invite", Effect::Idempotent, || thread.add_thread_member(&*self.http, user)).await?;
        }
        Ok(())
    }

    /// Threads have no topic; their kick-off post carries the same facts.
    async fn set_topic(&self, channel_id: &::commands::ChannelId, topic: &Line) -> Result<(), ChatError> {
        if self.uses_threads() {
            return Ok(());
        }
        let channel = ChannelId::new(snowflake("set topic", channel_id.as_str())?);
        let topic = render::line_within(topic, MAX_TOPIC);
        self.rest("set topic", Effect::Idempotent, || channel.edit(&*self.http, EditChannel::new().topic(&topic)))
            .await?;
        Ok(())
    }

    async fn pin(&self, target: &MessageRef) -> Result<(), ChatError> {
        let channel = ChannelId::new(snowflake("pin", target.channel_id.as_str())?);
        let id = MessageId::new(snowflake("pin", &target.message_id)?);
        self.rest("pin", Effect::Idempotent, || channel.pin(&*self.http, id)).await
    }

    async fn send_dm(&self, user: &str, message: &Message) -> Result<MessageRef, ChatError> {
        let user = UserId::new(snowflake("send DM", user)?);
        // Opening a DM channel twice gives the same channel.
        let dm = self.rest("open DM", Effect::Idempotent, || user.create_dm_channel(&*self.http)).await?;
        let mut first = None;
        for part in render::render_all(message) {
            let posted = self
                .rest("send DM", Effect::Creates, || dm.id.send_message(&*self.http, part.clone().create_message()))
                .await?;
            first.get_or_insert(posted.id);
        }
        let first = first.ok_or_else(|| ChatError::new("send DM", "nothing to send", false))?;
        Ok(MessageRef { channel_id: dm.id.to_string().into(), message_id: first.to_string() })
    }

    async fn archive_channel(&self, channel_id: &::commands::ChannelId) -> Result<(), ChatError> {
        let channel = ChannelId::new(snowflake("archive channel", channel_id.as_str())?);
        if self.uses_threads() {
            return self
                .rest("archive channel", Effect::Idempotent, || {
                    channel.edit_thread(&*self.http, EditThread::new().archived(true).locked(true))
                })
                .await
                .map(|_| ());
        }
        let current = match self.rest("archive channel", Effect::Idempotent, || channel.to_channel(&*self.http)).await?
        {
            Channel::Guild(guild_channel) => guild_channel.name,
            _ => return Err(ChatError::new("archive channel", "not a server channel", false)),
        };
        if current.starts_with("archived-") {
            return Ok(());
        }
        let name = render::cut(&format!("archived-{current}"), MAX_CHANNEL_NAME);
        self.rest("archive channel", Effect::Idempotent, || channel.edit(&*self.http, EditChannel::new().name(&name)))
            .await
            .map(|_| ())
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
