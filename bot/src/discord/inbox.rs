//! Discord's deferred interactions through the durable inbox. A slash command or a
//! button press that is answered with a deferral (its work takes longer than Discord's
//! 3 seconds allow) is committed as an inbox row first, with the whole interaction as
//! Discord sent it; the deferred reply is completed once the core is done, and the row
//! is then done. At start-up the rows not done are run again, oldest first: the core's
//! work is idempotent by the interaction's id, and a declare resumes at its first
//! unfinished step. Past the interaction token's 15 minutes the work still happens and
//! the reply goes by DM. (What answers directly, such as a modal, is never deferred
//! and never stored: Discord shows the person its failure at once.)

use ::commands::{
    ButtonAction, ButtonPress, Chat, CoreError, EventSource, InboxRequest, Invocation, Outcome, SourceId,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serenity::all::{CommandInteraction, ComponentInteraction};

use super::commands::to_command;
use super::interactions;
use super::retry::Effect;
use super::Discord;

/// An interaction as stored in its inbox row.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Pending {
    Command { interaction: Box<CommandInteraction> },
    Button { interaction: Box<ComponentInteraction> },
}

/// Commits `pending` before its deferral goes out. `Ok(false)`: the inbox holds it
/// already (handled, or being handled), so it is not run again.
pub async fn accept(bot: &Discord, source_id: &SourceId, pending: &Pending) -> anyhow::Result<bool> {
    let (kind, user, channel, token) = match pending {
        Pending::Command { interaction } => {
            ("command", interaction.user.id, interaction.channel_id, interaction.token.clone())
        }
        Pending::Button { interaction } => {
            ("button", interaction.user.id, interaction.channel_id, interaction.token.clone())
        }
    };
    let request = InboxRequest {
        source_id: source_id.clone(),
        source: EventSource::discord_interactions(),
        kind: kind.to_string(),
        user: user.to_string(),
        channel_id: channel.to_string().into(),
        request: serde_json::to_string(pending)?,
        reply_handle: Some(token),
        received_at: Utc::now(),
    };
    Ok(bot.core.inbox_accept(&request).await?)
}

/// Runs an accepted interaction, completes its reply (by DM once the token expired),
/// and marks its row done.
pub async fn process(
    bot: &Discord,
    source_id: &SourceId,
    pending: &Pending,
    received_at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let open = ::commands::inbox::reply_path_open(storage::Platform::Discord, received_at, Utc::now());
    match pending {
        Pending::Command { interaction } => {
            if let Some(guild) = interaction.guild_id {
                bot.chat.remember_guild(guild);
            }
            let tell = |message: ::commands::Message| async move {
                if open {
                    let edit = interactions::first_and_rest(super::render::render_all(&message)).0.edit_response();
                    let _ = interaction.edit_response(&*bot.http, edit).await;
                }
            };
            let Some(result) = with_retries(source_id, tell, || async {
                match to_command(&interaction.data) {
                    Ok(typed) => {
                        let invocation = Invocation {
                            source_id: source_id.clone(),
                            user: interaction.user.id.to_string(),
                            channel_id: interaction.channel_id.to_string().into(),
                            text: format!("{typed:?}"),
                        };
                        bot.core.execute(&invocation, typed).await
                    }
                    Err(problem) => Ok(Outcome::error(::commands::Message::plain(problem.problem))),
                }
            })
            .await
            else {
                return Ok(()); // left unfinished, for the next start
            };
            crate::metrics::metrics().observe_result(&result);
            if open {
                let (first, rest) = interactions::first_and_rest(interactions::reply_for(result));
                let edit = first.edit_response();
                interactions::answer(bot, "complete a command", Effect::Idempotent, || {
                    interaction.edit_response(&*bot.http, edit.clone())
                })
                .await?;
                interactions::follow_up(bot, rest, |f| interaction.create_followup(&*bot.http, f)).await?;
            } else {
                reply_by_dm(bot, &interaction.user.id.to_string(), result).await;
            }
        }
        Pending::Button { interaction } => {
            let Some(action) = ButtonAction::decode(&interaction.data.custom_id) else {
                bot.core.inbox_done(source_id).await?;
                return Ok(());
            };
            let press = ButtonPress {
                source_id: source_id.clone(),
                user: interaction.user.id.to_string(),
                channel_id: interaction.channel_id.to_string().into(),
                action,
            };
            let tell = |message: ::commands::Message| async move {
                if open {
                    let edit = interactions::first_and_rest(super::render::render_all(&message)).0.edit_response();
                    let _ = interaction.edit_response(&*bot.http, edit).await;
                }
            };
            let Some(result) = with_retries(source_id, tell, || bot.core.press_button(&press)).await else {
                return Ok(()); // left unfinished, for the next start
            };
            if open {
                let (first, rest) = interactions::first_and_rest(interactions::reply_for(result));
                let edit = first.edit_response();
                interactions::answer(bot, "complete a button", Effect::Idempotent, || {
                    interaction.edit_response(&*bot.http, edit.clone())
                })
                .await?;
                interactions::follow_up(bot, rest, |f| interaction.create_followup(&*bot.http, f)).await?;
            } else {
                reply_by_dm(bot, &interaction.user.id.to_string(), result).await;
            }
        }
    }
    bot.core.inbox_done(source_id).await?;
    Ok(())
}

/// Runs `run` and, while it fails for a passing reason (Discord answering 500, a
/// timeout), again with backoff, telling the person once (through `tell`) that it is
/// being retried. `None` once the retries are spent: the person is told, and the row
/// stays unfinished for the next start.
async fn with_retries<R, RFut, T, TFut>(source_id: &SourceId, tell: T, mut run: R) -> Option<Result<Outcome, CoreError>>
where
    R: FnMut() -> RFut,
    RFut: std::future::Future<Output = Result<Outcome, CoreError>>,
    T: Fn(::commands::Message) -> TFut,
    TFut: std::future::Future<Output = ()>,
{
    let mut failures = 0;
    loop {
        let result = run().await;
        let error = match &result {
            Err(error) if ::commands::inbox::is_transient(error) => error,
            _ => return Some(result),
        };
        let Some(delay) = ::commands::inbox::retry_delay(failures) else {
            tracing::error!(%source_id, %error, failures, "discord: a request kept failing; left for the next start");
            tell(::commands::inbox::gave_up_reply(error)).await;
            return None;
        };
        tracing::warn!(%source_id, %error, failures, ?delay, "discord: a request failed for a passing reason; trying again");
        if failures == 0 {
            tell(::commands::inbox::retrying_reply(error)).await;
        }
        failures += 1;
        tokio::time::sleep(delay).await;
    }
}

async fn reply_by_dm(bot: &Discord, user: &str, result: Result<Outcome, CoreError>) {
    let reply = match result {
        Ok(outcome) => outcome.reply,
        Err(error) => Some(error.reply()),
    };
    if let Some(reply) = reply {
        if let Err(error) = bot.chat.send_dm(user, &reply).await {
            tracing::warn!(%error, "discord: could not deliver a late reply by DM");
        }
    }
}

/// Runs again, oldest first, every deferred interaction the inbox holds that is not
/// done and was received before `active_since` (when this copy started taking
/// interactions). Returns how many it ran. What came later is this copy's own, being
/// run by the handler that accepted it: running it here too would run it twice at once.
pub async fn resume(bot: &Discord, active_since: DateTime<Utc>) -> anyhow::Result<usize> {
    let mut rows = bot.core.inbox_unfinished(&EventSource::discord_interactions()).await?;
    // The inbox keeps milliseconds: a row received in the same millisecond as
    // `active_since` reads back as earlier, so compare at that precision (such a row is
    // this copy's; a previous copy's stopped long before this one started).
    rows.retain(|row| row.request.received_at.timestamp_millis() < active_since.timestamp_millis());
    if !rows.is_empty() {
        tracing::info!(count = rows.len(), "discord: running again the interactions a previous run left unfinished");
    }
    let mut ran = 0;
    for row in rows {
        let source_id = row.request.source_id.clone();
        let pending = match serde_json::from_str::<Pending>(&row.request.request) {
            Ok(pending) => pending,
            Err(error) => {
                tracing::error!(%source_id, %error, "discord: an inbox row cannot be read; left for an operator");
                continue;
            }
        };
        if let Err(error) = process(bot, &source_id, &pending, row.request.received_at).await {
            tracing::warn!(%source_id, error = format!("{error:#}"), "discord: a resumed interaction failed");
        }
        ran += 1;
    }
    Ok(ran)
}
