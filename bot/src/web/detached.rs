//! The chat of the web pages' own core: used for incidents whose platform is not
//! running in this process (a console incident, or a copy without Slack). Posts and
//! channel changes have nowhere to go, so each is logged and reported as not done; the
//! edit itself is saved and is on the timeline either way.

use async_trait::async_trait;
use commands::{ChannelRef, Chat, ChatError, Line, Message, MessageRef};
use storage::{ChannelId, Platform};

pub struct DetachedChat;

fn unavailable(operation: &'static str) -> ChatError {
    tracing::info!(operation, "web edit: the incident's chat platform is not running here; nothing posted");
    ChatError::new(operation, "the incident's chat platform is not running in this process", false)
}

#[async_trait]
impl Chat for DetachedChat {
    fn platform(&self) -> Platform {
        Platform::Console
    }

    async fn create_channel(&self, _name: &str) -> Result<ChannelRef, ChatError> {
        Err(unavailable("create_channel"))
    }

    async fn post(&self, _channel_id: &ChannelId, _message: &Message) -> Result<MessageRef, ChatError> {
        Err(unavailable("post"))
    }

    async fn invite(&self, _channel_id: &ChannelId, _users: &[String]) -> Result<(), ChatError> {
        Err(unavailable("invite"))
    }

    async fn set_topic(&self, _channel_id: &ChannelId, _topic: &Line) -> Result<(), ChatError> {
        Err(unavailable("set_topic"))
    }

    async fn pin(&self, _target: &MessageRef) -> Result<(), ChatError> {
        Err(unavailable("pin"))
    }

    async fn send_dm(&self, _user: &str, _message: &Message) -> Result<MessageRef, ChatError> {
        Err(unavailable("send_dm"))
    }

    async fn archive_channel(&self, _channel_id: &ChannelId) -> Result<(), ChatError> {
        Err(unavailable("archive_channel"))
    }
}
