//! Slack's requests through the durable inbox. A slash command or a button press is
//! committed as an inbox row before the 200 goes out, then processed in the background;
//! its row is done once the core's work and the reply are. At start-up (and on taking
//! over the lease) the rows not done are run again, oldest first: the core's work is
//! idempotent by source id, and a declare resumes at its first unfinished step. A
//! request older than its `response_url` (30 minutes) still does its work, and its
//! reply goes by DM.

use chrono::{DateTime, Utc};
use commands::{ButtonAction, ButtonPress, EventSource, InboxRequest, Invocation, SourceId};
use serde::{Deserialize, Serialize};

use super::commands::SlashCommand;
use super::reply::{self, ReplyTo};
use super::SlackState;

/// A request as stored in its inbox row: enough to run it again.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Pending {
    /// `/incident …`.
    Command { command: SlashCommand },
    /// A press of one of the bot's buttons.
    Button {
        action_id: String,
        to: ReplyTo,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        trigger_id: Option<String>,
    },
}

impl Pending {
    fn kind(&self) -> &'static str {
        match self {
            Pending::Command { .. } => "command",
            Pending::Button { .. } => "button",
        }
    }

    fn reply_to(&self) -> ReplyTo {
        match self {
            Pending::Command { command } => ReplyTo {
                user: command.user_id.clone(),
                channel: command.channel_id.clone(),
                response_url: command.response_url.clone(),
            },
            Pending::Button { to, .. } => to.clone(),
        }
    }
}

/// Commits `pending` under `source_id` before the request is answered. `Ok(false)`: a
/// second delivery of a request already in the inbox, to be answered and not run.
pub async fn accept(state: &SlackState, source_id: &SourceId, pending: &Pending) -> anyhow::Result<bool> {
    let to = pending.reply_to();
    let request = InboxRequest {
        source_id: source_id.clone(),
        source: EventSource::slack_requests(),
        kind: pending.kind().to_string(),
        user: to.user.clone(),
        channel_id: to.channel.clone().into(),
        request: serde_json::to_string(pending)?,
        reply_handle: to.response_url.clone(),
        received_at: state.wall_clock.now(),
    };
    Ok(state.core.inbox_accept(&request).await?)
}

/// Runs one accepted request and marks its row done. `received_at` decides whether its
/// reply can still go through the `response_url` or goes by DM; `trigger_id`s live
/// seconds, so a request run again opens no modal.
pub async fn process(
    state: &SlackState,
    source_id: SourceId,
    pending: Pending,
    received_at: DateTime<Utc>,
    again: bool,
) {
    let mut to = pending.reply_to();
    let late = !commands::inbox::reply_path_open(storage::Platform::Slack, received_at, state.wall_clock.now());
    let (result, trigger_id) = match pending {
        Pending::Command { command } => {
            let invocation = Invocation {
                source_id: source_id.clone(),
                user: command.user_id.clone(),
                channel_id: command.channel_id.clone().into(),
                text: command.text.trim().to_string(),
            };
            (state.core.run(&invocation).await, (!again).then_some(command.trigger_id))
        }
        Pending::Button { action_id, trigger_id, .. } => {
            let Some(action) = ButtonAction::decode(&action_id) else {
                tracing::warn!(%source_id, "an inbox row holds a button that is not ours; dropped");
                mark_done(state, &source_id).await;
                return;
            };
            let press = ButtonPress {
                source_id: source_id.clone(),
                user: to.user.clone(),
                channel_id: to.channel.clone().into(),
                action,
            };
            (state.core.press_button(&press).await, trigger_id.filter(|_| !again))
        }
    };
    if late {
        to.response_url = None;
        reply::deliver_by_dm(state, &to, result).await;
    } else {
        reply::deliver(state, &to, trigger_id.as_deref(), result).await;
    }
    mark_done(state, &source_id).await;
}

async fn mark_done(state: &SlackState, source_id: &SourceId) {
    if let Err(error) = state.core.inbox_done(source_id).await {
        // The row stays; the next start runs it again, which changes nothing but the reply.
        tracing::warn!(%source_id, %error, "could not mark an inbox row done");
    }
}

/// Runs again, oldest first, every Slack request the inbox holds that is not done.
/// Returns how many it ran.
pub async fn resume(state: &SlackState) -> anyhow::Result<usize> {
    let rows = state.core.inbox_unfinished(&EventSource::slack_requests()).await?;
    if !rows.is_empty() {
        tracing::info!(count = rows.len(), "running again the Slack requests a previous run left unfinished");
    }
    let mut ran = 0;
    for row in rows {
        let source_id = row.request.source_id.clone();
        match serde_json::from_str::<Pending>(&row.request.request) {
            Ok(pending) => {
                process(state, source_id, pending, row.request.received_at, true).await;
                ran += 1;
            }
            Err(error) => {
                tracing::error!(%source_id, %error, "an inbox row cannot be read; it is left for an operator");
            }
        }
    }
    Ok(ran)
}
