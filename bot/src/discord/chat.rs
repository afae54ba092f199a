//! The core's [`Chat`] port over serenity's REST client.
//!
//! Incident channels are text channels in the configured category, or — when the config
//! asks for threads — public threads under the announcements channel. A private
//! incident's channel is visible only to the bot and the people invited: permission
//! overwrites deny View Channel to `@everyone` and allow it per member (which takes
//! Manage Roles); in thread mode it is a private thread its members are added to.
//! Archiving a text channel renames it `archived-<name>` (Discord has no channel
//! archive); archiving a thread archives and locks it. Every message goes out with no mentions allowed. Every REST call goes
//! through [`retry`](super::retry), which retries only what cannot happen twice.

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use ::commands::{ChannelRef, Chat, ChatError, Line, Message, MessageRef};
use async_trait::async_trait;
use serenity::all::{
    AutoArchiveDuration, Channel, ChannelId, ChannelType, CreateChannel, CreateThread, EditChannel, EditThread,
    GuildId, MessageId, PermissionOverwrite, PermissionOverwriteType, Permissions, RoleId, UserId,
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
    /// Whether a text channel is private (invites add a permission overwrite), for
    /// channels this process created or has looked at.
    privacy: Mutex<std::collections::HashMap<ChannelId, bool>>,
}

/// What a member of a private incident channel may do there.
fn member_allow() -> Permissions {
    Permissions::VIEW_CHANNEL | Permissions::SEND_MESSAGES | Permissions::READ_MESSAGE_HISTORY
}

/// What the bot itself keeps in a private channel: everything it does in a public one.
fn bot_allow() -> Permissions {
    member_allow() | Permissions::MANAGE_CHANNELS | Permissions::MANAGE_MESSAGES | Permissions::EMBED_LINKS
}

/// The overwrites of a private incident channel: hidden from `@everyone` (whose role
/// id is the guild's), open to the bot and each member.
pub fn private_overwrites(guild: GuildId, bot: UserId, members: &[UserId]) -> Vec<PermissionOverwrite> {
    let mut overwrites = vec![
        PermissionOverwrite {
            allow: Permissions::empty(),
            deny: Permissions::VIEW_CHANNEL,
            kind: PermissionOverwriteType::Role(RoleId::new(guild.get())),
        },
        PermissionOverwrite {
            allow: bot_allow(),
            deny: Permissions::empty(),
            kind: PermissionOverwriteType::Member(bot),
        },
    ];
    for member in members.iter().filter(|m| **m != bot) {
        overwrites.push(PermissionOverwrite {
            allow: member_allow(),
            deny: Permissions::empty(),
            kind: PermissionOverwriteType::Member(*member),
        });
    }
    overwrites
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
            privacy: Mutex::new(Default::default()),
        }
    }

    fn remember_privacy(&self, channel: ChannelId, private: bool) {
        self.privacy.lock().unwrap_or_else(PoisonError::into_inner).insert(channel, private);
    }

    /// Whether a text channel is private: remembered, or read from its overwrites.
    async fn is_private(&self, channel: ChannelId) -> Result<bool, ChatError> {
        if let Some(private) = self.privacy.lock().unwrap_or_else(PoisonError::into_inner).get(&channel) {
            return Ok(*private);
        }
        let private = match self.rest("read channel", Effect::Idempotent, || channel.to_channel(&*self.http)).await? {
            Channel::Guild(guild_channel) => guild_channel.permission_overwrites.iter().any(|o| {
                o.kind == PermissionOverwriteType::Role(RoleId::new(guild_channel.guild_id.get()))
                    && o.deny.contains(Permissions::VIEW_CHANNEL)
            }),
            _ => false,
        };
        self.remember_privacy(channel, private);
        Ok(private)
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

    async fn create_thread(&self, parent: ChannelId, name: &str, private: bool) -> Result<ChannelRef, ChatError> {
        // serenity creates a private thread unless told otherwise; a private one is not
        // open to invitation by its members, so only the bot brings people in.
        let kind = if private { ChannelType::PrivateThread } else { ChannelType::PublicThread };
        let mut builder = CreateThread::new(name).kind(kind).auto_archive_duration(AutoArchiveDuration::OneWeek);
        if private {
            builder = builder.invitable(false);
        }
        let thread =
            self.rest("create thread", Effect::Creates, || parent.create_thread(&*self.http, builder.clone())).await?;
        Ok(ChannelRef { id: thread.id.to_string().into(), name: thread.name })
    }

    async fn create_text_channel(&self, name: &str, members: Option<&[String]>) -> Result<ChannelRef, ChatError> {
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
        if let Some(members) = members {
            let me = self.rest("read the bot user", Effect::Idempotent, || self.http.get_current_user()).await?;
            let members: Vec<UserId> =
                members.iter().filter_map(|m| snowflake("create channel", m).ok()).map(UserId::new).collect();
            builder = builder.permissions(private_overwrites(guild, me.id, &members));
        }
        let channel =
            self.rest("create channel", Effect::Creates, || guild.create_channel(&*self.http, builder.clone())).await?;
        self.remember_privacy(channel.id, members.is_some());
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

/// Discord's nonce for a step post: 24 hex digits of the key's SHA-256 (Discord takes
/// at most 25 characters), the same in every process and release.
fn nonce_for(key: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(key.as_bytes()).iter().take(12).map(|b| format!("{b:02x}")).collect()
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
            Some(parent) => self.create_thread(parent, name, false).await,
            None => self.create_text_channel(name, None).await,
        }
    }

    async fn create_private_channel(&self, name: &str, members: &[String]) -> Result<ChannelRef, ChatError> {
        match self.thread_parent {
            Some(parent) => {
                let thread = self.create_thread(parent, name, true).await?;
                self.invite(&thread.id, members).await?;
                Ok(thread)
            }
            None => self.create_text_channel(name, Some(members)).await,
        }
    }

    /// A text channel in the guild (in the configured category, when there is one)
    /// named `name` or one of the suffixed names `create_channel` picks, from the
    /// guild's channel list. Discord does not say who created a channel; the core
    /// adopts it only when no other incident has it. Threads are not looked for: a
    /// thread of ours is found by nobody else's name, and a lost one is rare enough
    /// to report instead (see the README's Reliability section).
    async fn find_own_channel(&self, name: &str) -> Result<Option<ChannelRef>, ChatError> {
        if self.uses_threads() {
            return Ok(None);
        }
        let Some(guild) = self.guild() else {
            return Ok(None);
        };
        let channels = self.rest("list channels", Effect::Idempotent, || self.http.get_channels(guild)).await?;
        let category = self.category.as_ref().and_then(|wanted| {
            channels
                .iter()
                .find(|c| c.kind == ChannelType::Category && c.name.eq_ignore_ascii_case(wanted))
                .map(|c| c.id)
        });
        let exact = render::cut(name, MAX_CHANNEL_NAME);
        let base = render::cut(name, MAX_CHANNEL_NAME - 4).trim_end_matches('…').to_string();
        let is_variant = |found: &str| {
            found == exact
                || found
                    .strip_prefix(&format!("{base}-"))
                    .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        };
        let mut candidates: Vec<_> = channels
            .iter()
            .filter(|c| c.kind == ChannelType::Text && is_variant(&c.name))
            .filter(|c| category.is_none() || c.parent_id == category)
            .collect();
        // The newest is the one the interrupted attempt made.
        candidates.sort_by_key(|c| std::cmp::Reverse(c.id));
        Ok(candidates.first().map(|c| ChannelRef { id: c.id.to_string().into(), name: c.name.clone() }))
    }

    /// Sent with a nonce derived from `key` and `enforce_nonce`, so Discord itself
    /// answers a repeat within its nonce window with the first message instead of
    /// posting it again.
    async fn post_once(
        &self,
        channel_id: &::commands::ChannelId,
        message: &Message,
        key: &str,
        _maybe_posted: bool,
    ) -> Result<MessageRef, ChatError> {
        let channel = ChannelId::new(snowflake("post", channel_id.as_str())?);
        let nonce = nonce_for(key);
        let posted = self
            .rest("post", Effect::Creates, || {
                channel.send_message(
                    &*self.http,
                    render::render(message)
                        .create_message()
                        .nonce(serenity::all::Nonce::String(nonce.clone()))
                        .enforce_nonce(true),
                )
            })
            .await?;
        Ok(MessageRef { channel_id: channel_id.to_string().into(), message_id: posted.id.to_string() })
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

    /// Threads get their members added. A public text channel in the category is visible
    /// to whoever the category lets in, so there is nothing to do; a private one gets a
    /// permission overwrite per invited member.
    async fn invite(&self, channel_id: &::commands::ChannelId, users: &[String]) -> Result<(), ChatError> {
        if !self.uses_threads() {
            let channel = ChannelId::new(snowflake("invite", channel_id.as_str())?);
            if !self.is_private(channel).await? {
                return Ok(());
            }
            for user in users {
                let Ok(id) = snowflake("invite", user) else {
                    continue;
                };
                let overwrite = PermissionOverwrite {
                    allow: member_allow(),
                    deny: Permissions::empty(),
                    kind: PermissionOverwriteType::Member(UserId::new(id)),
                };
                self.rest("invite", Effect::Idempotent, || channel.create_permission(&*self.http, overwrite.clone()))
                    .await?;
            }
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

    async fn update(&self, target: &MessageRef, message: &Message) -> Result<(), ChatError> {
        let channel = ChannelId::new(snowflake("update", target.channel_id.as_str())?);
        let id = MessageId::new(snowflake("update", &target.message_id)?);
        self.rest("update", Effect::Idempotent, || {
            channel.edit_message(&*self.http, id, render::render(message).edit_message())
        })
        .await
        .map(|_| ())
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
