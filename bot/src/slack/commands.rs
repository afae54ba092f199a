//! `POST /slack/commands`: `/incident …` typed in Slack. The HTTP answer comes at once
//! and only says "received"; the core runs in the background, because declaring calls
//! Slack's Web API several times and Slack gives a slash command 3 seconds. The reply
//! then goes through the command's `response_url`, a form through `views.open`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use commands::Invocation;
use serde::Deserialize;

use super::form;
use super::reply::{self, ReplyTo};
use super::{verify, SlackState};

/// The fields of Slack's slash-command payload the bot uses.
#[derive(Debug, Deserialize)]
pub struct SlashCommand {
    pub user_id: String,
    pub channel_id: String,
    #[serde(default)]
    pub text: String,
    /// Unique per invocation and identical on a retry: the command's source id.
    pub trigger_id: String,
    #[serde(default)]
    pub response_url: Option<String>,
}

/// Decodes a slash-command body; `None` when it is not UTF-8, lacks a field, or has an
/// empty user or trigger id.
pub fn decode(body: &[u8]) -> Option<SlashCommand> {
    match form::decode::<SlashCommand>(body) {
        Ok(command) if !command.trigger_id.is_empty() && !command.user_id.is_empty() => Some(command),
        Ok(_) => None,
        Err(error) => {
            tracing::warn!(%error, "unreadable slash command");
            None
        }
    }
}

pub async fn handle(State(state): State<SlackState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let received = std::time::Instant::now();
    if let Err(status) = verify::check(&state, &headers, &body) {
        return status;
    }
    let Some(command) = decode(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let worker = state.clone();
    state.tasks.spawn(async move {
        let invocation = Invocation {
            source_id: format!("slack:cmd:{}", command.trigger_id).into(),
            user: command.user_id.clone(),
            channel_id: command.channel_id.clone().into(),
            text: command.text.trim().to_string(),
        };
        let result = worker.core.run(&invocation).await;
        crate::metrics::metrics().slash_command_handled(storage::Platform::Slack, received.elapsed());
        let to = ReplyTo { user: command.user_id, channel: command.channel_id, response_url: command.response_url };
        reply::deliver(&worker, &to, Some(&command.trigger_id), result).await;
    });
    StatusCode::OK
}
