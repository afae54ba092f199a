//! Slack's requests through the durable inbox. A slash command, a button press or a
//! modal submission is committed as an inbox row before the answer goes out, then
//! processed (a submission gets a moment first, so its field errors can keep the modal
//! open; a refused one leaves no row, so the corrected one is taken anew);
//! its row is done once the core's work and the reply are. At start-up (and on taking
//! over the lease) the rows not done are run again, oldest first: the core's work is
//! idempotent by source id, and a declare resumes at its first unfinished step. A
//! request older than its `response_url` (30 minutes) still does its work, and its
//! reply goes by DM.

use chrono::{DateTime, Utc};
use commands::{ButtonAction, ButtonPress, EventSource, FormKind, FormSubmission, InboxRequest, Invocation, SourceId};
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
    /// A submitted modal (declare, postmortem): its callback id and answers.
    Form { form: String, answers: Vec<(String, String)>, to: ReplyTo },
}

impl Pending {
    fn kind(&self) -> &'static str {
        match self {
            Pending::Command { .. } => "command",
            Pending::Button { .. } => "button",
            Pending::Form { .. } => "form",
        }
    }

    fn reply_to(&self) -> ReplyTo {
        match self {
            Pending::Command { command } => ReplyTo {
                user: command.user_id.clone(),
                channel: command.channel_id.clone(),
                response_url: command.response_url.clone(),
            },
            Pending::Button { to, .. } | Pending::Form { to, .. } => to.clone(),
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
/// seconds, so a request run again opens no modal. A run that fails for a passing
/// reason (Slack answering 500, a timeout) is run again with backoff, the person told
/// once that it is being retried; once the retries are spent the row stays unfinished,
/// for the next start to try.
pub async fn process(
    state: &SlackState,
    source_id: SourceId,
    pending: Pending,
    received_at: DateTime<Utc>,
    again: bool,
) {
    finish(state, source_id, pending, received_at, again, None).await
}

/// [`process`], when the first run already happened (a modal submission, run while
/// Slack waited): `first` is its result.
pub async fn finish(
    state: &SlackState,
    source_id: SourceId,
    pending: Pending,
    received_at: DateTime<Utc>,
    again: bool,
    mut first: Option<Result<commands::Outcome, commands::CoreError>>,
) {
    let mut failures = 0;
    loop {
        let ran = match first.take() {
            Some(result) => Some((result, None)),
            None => run_once(state, &source_id, &pending, again || failures > 0).await,
        };
        let Some((result, trigger_id)) = ran else {
            tracing::warn!(%source_id, "an inbox row holds a button or form that is not ours; dropped");
            mark_done(state, &source_id).await;
            return;
        };
        let mut to = pending.reply_to();
        let late = !commands::inbox::reply_path_open(storage::Platform::Slack, received_at, state.wall_clock.now());
        if late {
            to.response_url = None;
        }
        if let Err(error) = &result {
            if commands::inbox::is_transient(error) {
                let delay = commands::inbox::retry_delay(failures).filter(|_| !state.tasks.is_closed());
                let Some(delay) = delay else {
                    tracing::error!(%source_id, %error, failures, "a request kept failing; left for the next start");
                    reply::send_private(state, &to, &commands::inbox::gave_up_reply(error)).await;
                    return;
                };
                tracing::warn!(%source_id, %error, failures, ?delay, "a request failed for a passing reason; trying again");
                if failures == 0 {
                    reply::send_private(state, &to, &commands::inbox::retrying_reply(error)).await;
                }
                failures += 1;
                if !wait_unless_shutting_down(state, delay).await {
                    return; // the next start runs it again
                }
                continue;
            }
        }
        if late {
            reply::deliver_by_dm(state, &to, result).await;
        } else {
            reply::deliver(state, &to, trigger_id.as_deref(), result).await;
        }
        mark_done(state, &source_id).await;
        return;
    }
}

/// One run of the core for `pending`: its result, and the `trigger_id` a form may open
/// with (none when run again). `None` for a button that is not ours.
async fn run_once(
    state: &SlackState,
    source_id: &SourceId,
    pending: &Pending,
    again: bool,
) -> Option<(Result<commands::Outcome, commands::CoreError>, Option<String>)> {
    let to = pending.reply_to();
    Some(match pending {
        Pending::Command { command } => {
            let invocation = Invocation {
                source_id: source_id.clone(),
                user: command.user_id.clone(),
                channel_id: command.channel_id.clone().into(),
                text: command.text.trim().to_string(),
            };
            (state.core.run(&invocation).await, (!again).then(|| command.trigger_id.clone()))
        }
        Pending::Button { action_id, trigger_id, .. } => {
            let action = ButtonAction::decode(action_id)?;
            let press = ButtonPress {
                source_id: source_id.clone(),
                user: to.user.clone(),
                channel_id: to.channel.clone().into(),
                action,
            };
            (state.core.press_button(&press).await, trigger_id.clone().filter(|_| !again))
        }
        Pending::Form { form, answers, to } => {
            let submission = FormSubmission {
                source_id: source_id.clone(),
                user: to.user.clone(),
                channel_id: to.channel.clone().into(),
                kind: FormKind::decode(form)?,
                answers: answers.clone(),
            };
            (state.core.submit_form(&submission).await, None)
        }
    })
}

/// Sleeps `delay`, in short steps so a shutdown is not held up; false when the bot
/// began shutting down meanwhile.
async fn wait_unless_shutting_down(state: &SlackState, delay: std::time::Duration) -> bool {
    let step = std::time::Duration::from_millis(250);
    let deadline = tokio::time::Instant::now() + delay;
    while tokio::time::Instant::now() < deadline {
        if state.tasks.is_closed() {
            return false;
        }
        tokio::time::sleep(step.min(deadline - tokio::time::Instant::now())).await;
    }
    !state.tasks.is_closed()
}

/// Removes a request that was refused with nothing written (a modal answered with
/// field errors), so the corrected submission, under the same id, is taken anew.
pub async fn forget_refused(state: &SlackState, source_id: &SourceId) {
    if let Err(error) = state.core.inbox_forget(source_id).await {
        // The row stays: the next start runs it again, and it is refused again, privately.
        tracing::warn!(%source_id, %error, "could not forget a refused submission");
    }
}

async fn mark_done(state: &SlackState, source_id: &SourceId) {
    if let Err(error) = state.core.inbox_done(source_id).await {
        // The row stays; the next start runs it again, which changes nothing but the reply.
        tracing::warn!(%source_id, %error, "could not mark an inbox row done");
    }
}

/// Runs again, oldest first, every Slack request the inbox holds that is not done.
/// Returns how many it ran.
///
/// Only rows received before `active_since` (when this copy began taking requests) are
/// a previous run's; a later one is this copy's own, already being processed, and
/// running it here too would run it twice at once.
pub async fn resume(state: &SlackState, active_since: DateTime<Utc>) -> anyhow::Result<usize> {
    let mut rows = state.core.inbox_unfinished(&EventSource::slack_requests()).await?;
    // The inbox keeps milliseconds: a row this copy received in the same millisecond as
    // `active_since` reads back as earlier, so compare at that precision.
    rows.retain(|row| row.request.received_at.timestamp_millis() < active_since.timestamp_millis());
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
