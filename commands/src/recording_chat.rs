//! A [`Chat`] that records every call instead of talking to a platform. The core's
//! tests use it, and so can any test that needs to see what the bot would have said.

use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;

use crate::chat::{ChannelRef, Chat, ChatError, MessageRef};
use crate::message::{Line, Message};
use storage::ChannelId;

/// One recorded call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatCall {
    CreateChannel { name: String },
    CreatePrivateChannel { name: String, members: Vec<String> },
    Post { channel_id: ChannelId, text: String },
    Invite { channel_id: ChannelId, users: Vec<String> },
    SetTopic { channel_id: ChannelId, topic: String },
    Pin { message_id: String },
    Dm { user: String, text: String },
    Archive { channel_id: ChannelId },
}

/// Records calls; channel ids are the channel names, message ids count up.
#[derive(Debug, Default)]
pub struct RecordingChat {
    calls: Mutex<Vec<ChatCall>>,
    /// When set, every call fails with this detail (to test failure handling).
    fail_with: Mutex<Option<String>>,
    /// Direct messages to these users fail (to test that one failure blocks no other).
    failing_dm_users: Mutex<Vec<String>>,
}

impl RecordingChat {
    pub fn new() -> Self {
        RecordingChat::default()
    }

    pub fn calls(&self) -> Vec<ChatCall> {
        self.calls.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Plain text of every post to `channel_id`, in order.
    pub fn posts_to(&self, channel_id: &str) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter_map(|call| match call {
                ChatCall::Post { channel_id: c, text } if c == channel_id => Some(text),
                _ => None,
            })
            .collect()
    }

    /// Plain text of every direct message to `user`, in order.
    pub fn dms_to(&self, user: &str) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter_map(|call| match call {
                ChatCall::Dm { user: u, text } if u == user => Some(text),
                _ => None,
            })
            .collect()
    }

    pub fn fail_all(&self, detail: Option<&str>) {
        *self.fail_with.lock().unwrap_or_else(PoisonError::into_inner) = detail.map(str::to_string);
    }

    /// Makes every direct message to `user` fail with a retryable error.
    pub fn fail_dms_to(&self, user: &str) {
        self.failing_dm_users.lock().unwrap_or_else(PoisonError::into_inner).push(user.to_string());
    }

    fn record(&self, operation: &'static str, call: ChatCall) -> Result<usize, ChatError> {
        if let Some(detail) = self.fail_with.lock().unwrap_or_else(PoisonError::into_inner).clone() {
            return Err(ChatError::new(operation, detail, true));
        }
        let mut calls = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
        calls.push(call);
        Ok(calls.len())
    }
}

#[async_trait]
impl Chat for RecordingChat {
    fn platform(&self) -> storage::Platform {
        storage::Platform::Console
    }

    async fn create_channel(&self, name: &str) -> Result<ChannelRef, ChatError> {
        self.record("create_channel", ChatCall::CreateChannel { name: name.to_string() })?;
        Ok(ChannelRef { id: name.into(), name: name.to_string() })
    }

    async fn create_private_channel(&self, name: &str, members: &[String]) -> Result<ChannelRef, ChatError> {
        let call = ChatCall::CreatePrivateChannel { name: name.to_string(), members: members.to_vec() };
        self.record("create_private_channel", call)?;
        Ok(ChannelRef { id: name.into(), name: name.to_string() })
    }

    async fn post(&self, channel_id: &ChannelId, message: &Message) -> Result<MessageRef, ChatError> {
        let n = self.record("post", ChatCall::Post { channel_id: channel_id.clone(), text: message.to_plain() })?;
        Ok(MessageRef { channel_id: channel_id.clone(), message_id: format!("m{n}") })
    }

    async fn invite(&self, channel_id: &ChannelId, users: &[String]) -> Result<(), ChatError> {
        self.record("invite", ChatCall::Invite { channel_id: channel_id.clone(), users: users.to_vec() })?;
        Ok(())
    }

    async fn set_topic(&self, channel_id: &ChannelId, topic: &Line) -> Result<(), ChatError> {
        let topic = Message::new().line(topic.clone()).to_plain();
        self.record("set_topic", ChatCall::SetTopic { channel_id: channel_id.clone(), topic })?;
        Ok(())
    }

    async fn pin(&self, target: &MessageRef) -> Result<(), ChatError> {
        self.record("pin", ChatCall::Pin { message_id: target.message_id.clone() })?;
        Ok(())
    }

    async fn send_dm(&self, user: &str, message: &Message) -> Result<MessageRef, ChatError> {
        if self.failing_dm_users.lock().unwrap_or_else(PoisonError::into_inner).iter().any(|u| u == user) {
            return Err(ChatError::new("send_dm", "HTTP 500 from the fake platform", true));
        }
        let n = self.record("send_dm", ChatCall::Dm { user: user.to_string(), text: message.to_plain() })?;
        Ok(MessageRef { channel_id: format!("dm-{user}").into(), message_id: format!("m{n}") })
    }

    async fn archive_channel(&self, channel_id: &ChannelId) -> Result<(), ChatError> {
        self.record("archive_channel", ChatCall::Archive { channel_id: channel_id.clone() })?;
        Ok(())
    }
}
