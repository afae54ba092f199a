//! The core's [`Chat`] port on Slack's Web API: channels, posts, invites, topics, pins,
//! direct messages, renames and archiving.

use std::sync::Arc;

use async_trait::async_trait;
use commands::{ChannelId, ChannelRef, Chat, ChatError, Line, Message, MessageRef};
use serde_json::{json, Value};
use tokio::sync::OnceCell;

use super::api::{SlackApi, SlackApiError};
use super::limits;
use super::names::UserNames;
use super::render;

/// Slack's limit on a channel name.
const MAX_CHANNEL_NAME: usize = limits::CHANNEL_NAME;
/// How many suffixed names (`-2`, `-3`, …) are tried when a channel name is taken.
const NAME_ATTEMPTS: u32 = 20;

/// How many pages of `conversations.list` are read looking for a channel the bot made.
const LIST_PAGES: usize = 10;
/// How many of a channel's latest messages are searched for a post already made.
const HISTORY_SEARCHED: u32 = 100;
/// The `event_type` of the metadata that marks the bot's step posts with their key.
const POST_MARKER: &str = "incidentbot_post";

/// Slack as the core sees it.
#[derive(Debug, Clone)]
pub struct SlackChat {
    api: SlackApi,
    names: Arc<UserNames>,
    /// The bot's own user id (from `auth.test`), asked once, when first needed.
    bot_user: Arc<OnceCell<String>>,
}

fn chat_error(operation: &'static str, error: SlackApiError) -> ChatError {
    let retryable = error.retryable();
    ChatError::new(operation, error.to_string(), retryable)
}

fn string_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

/// `name` with `-n` appended, cut so the whole stays within Slack's limit.
fn suffixed(name: &str, n: u32) -> String {
    let suffix = format!("-{n}");
    let keep = MAX_CHANNEL_NAME.saturating_sub(suffix.len());
    let base: String = name.chars().take(keep).collect();
    format!("{}{suffix}", base.trim_end_matches('-'))
}

impl SlackChat {
    pub fn new(api: SlackApi) -> Self {
        SlackChat { api, names: Arc::default(), bot_user: Arc::new(OnceCell::new()) }
    }

    /// The bot's own user id, from `auth.test`.
    async fn bot_user(&self, operation: &'static str) -> Result<&str, ChatError> {
        let id = self
            .bot_user
            .get_or_try_init(|| async {
                let answer = self.api.call("auth.test", &json!({})).await.map_err(|e| chat_error(operation, e))?;
                string_at(&answer, "/user_id")
                    .map(str::to_string)
                    .ok_or_else(|| ChatError::new(operation, "auth.test returned no user_id", false))
            })
            .await?;
        Ok(id.as_str())
    }

    /// A recent message of ours in `channel_id` marked with `key`, if there is one.
    async fn find_marked_post(&self, channel_id: &ChannelId, key: &str) -> Result<Option<MessageRef>, ChatError> {
        let bot = self.bot_user("post").await?.to_string();
        let args = [
            ("channel", channel_id.to_string()),
            ("limit", HISTORY_SEARCHED.to_string()),
            ("include_all_metadata", "true".to_string()),
        ];
        let answer = self.api.call_form("conversations.history", &args).await.map_err(|e| chat_error("post", e))?;
        let messages = answer.get("messages").and_then(Value::as_array).cloned().unwrap_or_default();
        Ok(messages.iter().find_map(|message| {
            let ours = string_at(message, "/user") == Some(bot.as_str());
            let marked = string_at(message, "/metadata/event_type") == Some(POST_MARKER)
                && string_at(message, "/metadata/event_payload/key") == Some(key);
            let ts = string_at(message, "/ts")?;
            (ours && marked).then(|| MessageRef { channel_id: channel_id.clone(), message_id: ts.to_string() })
        }))
    }

    pub fn api(&self) -> &SlackApi {
        &self.api
    }

    /// Display names for plain text (topics, modal errors), fetched once each.
    pub fn names(&self) -> &UserNames {
        &self.names
    }

    /// `message` as plain text with display names instead of ids (see [`render::plain`]).
    pub async fn plain_with_names(&self, message: &Message) -> String {
        self.names.learn_message(&self.api, message).await;
        render::plain(message, &|id| self.names.get(id))
    }

    /// Calls `method`, treating the listed Slack error codes as success (the state the
    /// caller wanted already holds, e.g. `already_pinned`).
    async fn call_allowing(
        &self,
        operation: &'static str,
        method: &str,
        body: Value,
        harmless: &[&str],
    ) -> Result<(), ChatError> {
        match self.api.call(method, &body).await {
            Ok(_) => Ok(()),
            Err(error) if error.code().is_some_and(|code| harmless.contains(&code)) => Ok(()),
            Err(error) => Err(chat_error(operation, error)),
        }
    }

    /// `conversations.create`, public or private, trying the next free name when taken.
    async fn create_conversation(&self, name: &str, private: bool) -> Result<ChannelRef, ChatError> {
        let mut candidate = name.to_string();
        for n in 2..=NAME_ATTEMPTS + 1 {
            match self.api.call("conversations.create", &json!({ "name": candidate, "is_private": private })).await {
                Ok(answer) => {
                    let id = string_at(&answer, "/channel/id")
                        .ok_or_else(|| ChatError::new("create_channel", "Slack returned no channel id", false))?;
                    let name = string_at(&answer, "/channel/name").unwrap_or(&candidate);
                    return Ok(ChannelRef { id: id.to_string().into(), name: name.to_string() });
                }
                Err(error) if error.code() == Some("name_taken") => candidate = suffixed(name, n),
                Err(error) => return Err(chat_error("create_channel", error)),
            }
        }
        Err(ChatError::new(
            "create_channel",
            format!("`{name}` and its next {NAME_ATTEMPTS} variants are taken"),
            false,
        ))
    }
}

#[async_trait]
impl Chat for SlackChat {
    fn platform(&self) -> storage::Platform {
        storage::Platform::Slack
    }

    async fn create_channel(&self, name: &str) -> Result<ChannelRef, ChatError> {
        self.create_conversation(name, false).await
    }

    /// A private channel (`is_private`): only the bot, who creates it, is in it; the
    /// members are invited next. It needs the `groups:write` scope.
    async fn create_private_channel(&self, name: &str, members: &[String]) -> Result<ChannelRef, ChatError> {
        let channel = self.create_conversation(name, true).await?;
        self.invite(&channel.id, members).await?;
        Ok(channel)
    }

    /// Posts `message`, as several Slack messages when it is too long for one (see
    /// [`render::render`]); the reference is to the first, which pins the whole start.
    async fn post(&self, channel_id: &ChannelId, message: &Message) -> Result<MessageRef, ChatError> {
        let mut first: Option<MessageRef> = None;
        for body in render::post_bodies(channel_id.as_str(), message) {
            let answer = self.api.call("chat.postMessage", &body).await.map_err(|e| chat_error("post", e))?;
            let ts = string_at(&answer, "/ts").ok_or_else(|| ChatError::new("post", "Slack returned no ts", false))?;
            let channel = string_at(&answer, "/channel").unwrap_or(channel_id.as_str());
            first.get_or_insert(MessageRef { channel_id: channel.to_string().into(), message_id: ts.to_string() });
        }
        first.ok_or_else(|| ChatError::new("post", "nothing to post", false))
    }

    async fn update(&self, target: &MessageRef, message: &Message) -> Result<(), ChatError> {
        // A triage post stays one message: the first part replaces it (they are short).
        let Some(mut body) = render::post_bodies(target.channel_id.as_str(), message).into_iter().next() else {
            return Ok(());
        };
        body["ts"] = json!(target.message_id);
        self.api.call("chat.update", &body).await.map_err(|e| chat_error("update", e))?;
        Ok(())
    }

    async fn invite(&self, channel_id: &ChannelId, users: &[String]) -> Result<(), ChatError> {
        if users.is_empty() {
            return Ok(());
        }
        let body = json!({ "channel": channel_id, "users": users.join(",") });
        self.call_allowing("invite", "conversations.invite", body, &["already_in_channel", "cant_invite_self"]).await
    }

    async fn set_topic(&self, channel_id: &ChannelId, topic: &Line) -> Result<(), ChatError> {
        // A topic takes no formatting: plain text, people by their display names.
        self.names.learn(&self.api, [topic]).await;
        let topic = render::topic(topic, &|id| self.names.get(id));
        let body = json!({ "channel": channel_id, "topic": topic });
        self.call_allowing("set_topic", "conversations.setTopic", body, &[]).await
    }

    async fn pin(&self, target: &MessageRef) -> Result<(), ChatError> {
        let body = json!({ "channel": target.channel_id, "timestamp": target.message_id });
        self.call_allowing("pin", "pins.add", body, &["already_pinned"]).await
    }

    async fn send_dm(&self, user: &str, message: &Message) -> Result<MessageRef, ChatError> {
        let answer = self
            .api
            .call("conversations.open", &json!({ "users": user }))
            .await
            .map_err(|e| chat_error("send_dm", e))?;
        let channel = string_at(&answer, "/channel/id")
            .ok_or_else(|| ChatError::new("send_dm", "Slack returned no DM channel id", false))?;
        self.post(&channel.into(), message).await
    }

    async fn archive_channel(&self, channel_id: &ChannelId) -> Result<(), ChatError> {
        let body = json!({ "channel": channel_id });
        self.call_allowing("archive_channel", "conversations.archive", body, &["already_archived"]).await
    }

    /// `name` (or one of the suffixed names `create_channel` tries) among the public
    /// channels, when its creator is the bot itself.
    async fn find_own_channel(&self, name: &str) -> Result<Option<ChannelRef>, ChatError> {
        let bot = self.bot_user("find_own_channel").await?.to_string();
        let wanted: Vec<String> =
            std::iter::once(name.to_string()).chain((2..=NAME_ATTEMPTS + 1).map(|n| suffixed(name, n))).collect();
        let mut best: Option<(usize, ChannelRef)> = None;
        let mut cursor = String::new();
        for _ in 0..LIST_PAGES {
            let mut args = vec![
                ("types", "public_channel".to_string()),
                ("exclude_archived", "true".to_string()),
                ("limit", "1000".to_string()),
            ];
            if !cursor.is_empty() {
                args.push(("cursor", cursor.clone()));
            }
            let answer =
                self.api.call_form("conversations.list", &args).await.map_err(|e| chat_error("find_own_channel", e))?;
            for channel in answer.get("channels").and_then(Value::as_array).into_iter().flatten() {
                let (Some(id), Some(found), Some(creator)) =
                    (string_at(channel, "/id"), string_at(channel, "/name"), string_at(channel, "/creator"))
                else {
                    continue;
                };
                let Some(rank) = wanted.iter().position(|w| w == found) else { continue };
                if creator == bot && best.as_ref().is_none_or(|(r, _)| rank < *r) {
                    best = Some((rank, ChannelRef { id: id.to_string().into(), name: found.to_string() }));
                }
            }
            cursor = string_at(&answer, "/response_metadata/next_cursor").unwrap_or_default().to_string();
            if cursor.is_empty() {
                break;
            }
        }
        Ok(best.map(|(_, channel)| channel))
    }

    /// Every step post carries `key` in its message metadata; when an earlier attempt
    /// may have posted it, the channel's latest messages are searched for it first.
    async fn post_once(
        &self,
        channel_id: &ChannelId,
        message: &Message,
        key: &str,
        maybe_posted: bool,
    ) -> Result<MessageRef, ChatError> {
        if maybe_posted {
            match self.find_marked_post(channel_id, key).await {
                Ok(Some(found)) => {
                    tracing::info!(channel = %channel_id, "found the post an interrupted attempt made; not posting again");
                    return Ok(found);
                }
                Ok(None) => {}
                // Without `channels:history` the search cannot run; posting again may
                // double the post, which beats losing it.
                Err(error) => tracing::warn!(%error, "could not search for an earlier post; posting"),
            }
        }
        // A long message goes in parts; the first carries the key (it is what is pinned
        // and what a later search must find), the others `key#n`.
        let mut first: Option<MessageRef> = None;
        for (n, mut body) in render::post_bodies(channel_id.as_str(), message).into_iter().enumerate() {
            let part_key = if n == 0 { key.to_string() } else { format!("{key}#{n}") };
            body["metadata"] = json!({ "event_type": POST_MARKER, "event_payload": { "key": part_key } });
            let answer = self.api.call("chat.postMessage", &body).await.map_err(|e| chat_error("post", e))?;
            let ts = string_at(&answer, "/ts").ok_or_else(|| ChatError::new("post", "Slack returned no ts", false))?;
            let channel = string_at(&answer, "/channel").unwrap_or(channel_id.as_str());
            first.get_or_insert(MessageRef { channel_id: channel.to_string().into(), message_id: ts.to_string() });
        }
        first.ok_or_else(|| ChatError::new("post", "nothing to post", false))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_stay_within_the_limit() {
        assert_eq!(suffixed("inc-1-db", 2), "inc-1-db-2");
        let long = "a".repeat(80);
        let named = suffixed(&long, 12);
        assert_eq!(named.len(), 80);
        assert!(named.ends_with("-12"));
    }
}
