//! `POST /slack/commands`: `/incident …` typed in Slack. The command is committed to the
//! inbox, then answered at once ("received"); the core runs in the background, because
//! declaring calls Slack's Web API several times and Slack gives a slash command 3
//! seconds (and never retries one). The reply then goes through the command's
//! `response_url`, a form through `views.open`. A crash after the answer loses nothing:
//! the next start runs the inbox row again (see [`inbox`](super::inbox)).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};

use super::form;
use super::inbox::{self, Pending};
use super::{verify, SlackState};

/// The fields of Slack's slash-command payload the bot uses.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    let source_id: commands::SourceId = format!("slack:cmd:{}", command.trigger_id).into();
    let pending = Pending::Command { command };
    match inbox::accept(&state, &source_id, &pending).await {
        Ok(true) => {}
        // A second delivery of a command the inbox holds: the first one runs it.
        Ok(false) => return StatusCode::OK,
        Err(error) => {
            // Not committed, so not acknowledged: Slack shows the person an error.
            tracing::error!(%error, "could not commit a slash command to the inbox");
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
    }
    let worker = state.clone();
    let received_at = state.wall_clock.now();
    state.tasks.spawn(async move {
        inbox::process(&worker, source_id, pending, received_at, false).await;
        crate::metrics::metrics().slash_command_handled(storage::Platform::Slack, received.elapsed());
    });
    StatusCode::OK
}
