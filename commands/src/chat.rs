//! The `Chat` port: everything the core asks of a chat platform. Slack, Discord and the
//! console each implement it; core tests use a recording fake.

use crate::message::{Line, Message};
use async_trait::async_trait;
use storage::ChannelId;

/// A channel on the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRef {
    pub id: ChannelId,
    pub name: String,
}

/// A posted message, enough to update or pin it later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRef {
    pub channel_id: ChannelId,
    pub message_id: String,
}

/// A chat call that failed. Adapters keep the platform's own words in `detail`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed: {detail}")]
pub struct ChatError {
    pub operation: &'static str,
    pub detail: String,
    /// Worth trying again later (rate limits, timeouts, 5xx).
    pub retryable: bool,
}

impl ChatError {
    pub fn new(operation: &'static str, detail: impl Into<String>, retryable: bool) -> Self {
        ChatError { operation, detail: detail.into(), retryable }
    }
}

/// What the core needs from a chat platform.
#[async_trait]
pub trait Chat: Send + Sync {
    /// Which platform this is: stored with each incident.
    fn platform(&self) -> storage::Platform;

    /// Creates an incident channel. If `name` is taken, the adapter picks a free
    /// variant and returns the name it used.
    async fn create_channel(&self, name: &str) -> Result<ChannelRef, ChatError>;
    /// Creates a private incident channel: visible only to the bot and `members`
    /// (platform user ids); others come in through [`Chat::invite`]. A platform that
    /// cannot keep a channel private refuses, and the declare fails with nothing posted,
    /// rather than opening a public one.
    async fn create_private_channel(&self, name: &str, members: &[String]) -> Result<ChannelRef, ChatError> {
        let _ = (name, members);
        Err(ChatError::new("create_private_channel", "this platform cannot open private channels", false))
    }
    async fn post(&self, channel_id: &ChannelId, message: &Message) -> Result<MessageRef, ChatError>;
    async fn invite(&self, channel_id: &ChannelId, users: &[String]) -> Result<(), ChatError>;
    /// Sets the channel topic. It is one line, so mentions render the platform's way.
    async fn set_topic(&self, channel_id: &ChannelId, topic: &Line) -> Result<(), ChatError>;
    async fn pin(&self, target: &MessageRef) -> Result<(), ChatError>;
    /// Replaces what a posted message says (a triage post once decided). A platform
    /// that cannot edit posts the new text as a new message instead.
    async fn update(&self, target: &MessageRef, message: &Message) -> Result<(), ChatError> {
        self.post(&target.channel_id, message).await.map(|_| ())
    }
    async fn send_dm(&self, user: &str, message: &Message) -> Result<MessageRef, ChatError>;
    /// Archives an incident channel (a thread on Discord): the follow-ups do it a
    /// configured number of days after the incident closed.
    async fn archive_channel(&self, channel_id: &ChannelId) -> Result<(), ChatError>;

    /// A channel this bot created under `name` (or a suffixed variant of it) that an
    /// interrupted attempt made without recording it, when the platform can tell. The
    /// core asks only when a channel step was begun and never finished, and adopts the
    /// channel only when no other incident has it. The default: the platform cannot tell.
    async fn find_own_channel(&self, name: &str) -> Result<Option<ChannelRef>, ChatError> {
        let _ = name;
        Ok(None)
    }

    /// Posts `message` at most once for `key` where the platform allows it: Discord
    /// dedupes by a nonce, Slack is searched for a recent post of ours marked with `key`
    /// when `maybe_posted` (an earlier attempt began this post and never recorded it).
    /// The default posts; a post sent but not recorded may then be sent again.
    async fn post_once(
        &self,
        channel_id: &ChannelId,
        message: &Message,
        key: &str,
        maybe_posted: bool,
    ) -> Result<MessageRef, ChatError> {
        let _ = (key, maybe_posted);
        self.post(channel_id, message).await
    }
}
