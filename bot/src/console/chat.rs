//! The console's [`Chat`]: channels are names, and every post or DM is printed. A
//! private channel says so when it opens, and prints who is let in; the console itself
//! is one screen, so keeping people out of it is the chat platforms' part.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use commands::{ChannelId, ChannelRef, Chat, ChatError, Line, Message, MessageRef};

use super::output::Output;

pub struct ConsoleChat {
    output: Output,
    channels: Mutex<HashSet<String>>,
    private: Mutex<HashSet<String>>,
    next_message: Mutex<u64>,
}

impl ConsoleChat {
    pub fn new(output: Output) -> Self {
        ConsoleChat {
            output,
            channels: Mutex::new(HashSet::new()),
            private: Mutex::new(HashSet::new()),
            next_message: Mutex::new(0),
        }
    }

    /// Remembers a channel that already exists (from an earlier run with `--db`).
    pub fn know_channel(&self, name: &str) {
        self.channels.lock().unwrap_or_else(PoisonError::into_inner).insert(name.to_string());
    }

    fn message_ref(&self, channel_id: &ChannelId) -> MessageRef {
        let mut next = self.next_message.lock().unwrap_or_else(PoisonError::into_inner);
        *next += 1;
        MessageRef { channel_id: channel_id.to_string().into(), message_id: format!("bot-{next}") }
    }
}

#[async_trait]
impl Chat for ConsoleChat {
    fn platform(&self) -> storage::Platform {
        storage::Platform::Console
    }

    async fn create_channel(&self, name: &str) -> Result<ChannelRef, ChatError> {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        let mut candidate = name.to_string();
        let mut n = 2;
        while channels.contains(&candidate) {
            candidate = format!("{name}-{n}");
            n += 1;
        }
        channels.insert(candidate.clone());
        Ok(ChannelRef { id: candidate.clone().into(), name: candidate })
    }

    async fn create_private_channel(&self, name: &str, members: &[String]) -> Result<ChannelRef, ChatError> {
        let channel = self.create_channel(name).await?;
        self.private.lock().unwrap_or_else(PoisonError::into_inner).insert(channel.id.to_string());
        let members: Vec<String> = members.iter().map(|m| format!("@{m}")).collect();
        self.output.emit(
            &format!("[#{}] incidentbot:", channel.id),
            &format!("(private channel: only {} and the people invited can see it)", members.join(", ")),
        );
        Ok(channel)
    }

    async fn post(&self, channel_id: &ChannelId, message: &Message) -> Result<MessageRef, ChatError> {
        self.output.emit(&format!("[#{channel_id}] incidentbot:"), &message.to_plain());
        Ok(self.message_ref(channel_id))
    }

    async fn update(&self, target: &MessageRef, message: &Message) -> Result<(), ChatError> {
        self.output.emit(&format!("[#{}] incidentbot (edited):", target.channel_id), &message.to_plain());
        Ok(())
    }

    async fn invite(&self, channel_id: &ChannelId, users: &[String]) -> Result<(), ChatError> {
        // Everyone can see a public console channel; a private one shows who is let in.
        if self.private.lock().unwrap_or_else(PoisonError::into_inner).contains(channel_id.as_str()) {
            let users: Vec<String> = users.iter().map(|u| format!("@{u}")).collect();
            self.output.emit(&format!("[#{channel_id}] incidentbot:"), &format!("(let in: {})", users.join(", ")));
        }
        Ok(())
    }

    async fn set_topic(&self, _channel_id: &ChannelId, _topic: &Line) -> Result<(), ChatError> {
        Ok(())
    }

    async fn pin(&self, _target: &MessageRef) -> Result<(), ChatError> {
        Ok(())
    }

    async fn send_dm(&self, user: &str, message: &Message) -> Result<MessageRef, ChatError> {
        self.output.emit(&format!("[dm @{user}] incidentbot:"), &message.to_plain());
        Ok(self.message_ref(&format!("dm-{user}").into()))
    }

    async fn archive_channel(&self, channel_id: &ChannelId) -> Result<(), ChatError> {
        self.output.emit(&format!("[#{channel_id}] incidentbot:"), "(channel archived)");
        Ok(())
    }
}
