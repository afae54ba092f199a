//! A declare's platform calls as recorded steps: the rule of which calls a declare
//! makes, in which order, and how a declare run again after a crash resumes at its
//! first unfinished one.
//!
//! The steps, in order: [`CHANNEL`] (create the incident channel), [`TOPIC`],
//! [`INVITE`] (the commander), [`KICKOFF`] (post the kick-off), [`PIN`] (pin it) and
//! [`ANNOUNCE`] (post to the announcements channel). Each is recorded in storage as an
//! intent before its call and with its result after it. A finished step is skipped and
//! its result reused (the channel id, the kick-off's message id). An interrupted one
//! (begun, never finished: the process died during the call) may have happened, so it
//! is done again the idempotent way: the channel is looked for before one is created,
//! the posts go through [`Chat::post_once`](crate::Chat::post_once), and the topic,
//! invite and pin are idempotent on every platform. The reply to the person who
//! declared is not a step here: the adapter sends it, and the request's inbox row is
//! done only once it has.

use storage::{ChannelId, Incident, SourceId, StepState};

use crate::chat::{ChannelRef, ChatError, MessageRef};
use crate::core::{retry_on_conflict, Attempt, Core};
use crate::error::{CoreError, Problem};
use crate::message::{Line, Message};

pub const CHANNEL: &str = "channel";
pub const TOPIC: &str = "topic";
pub const INVITE: &str = "invite";
pub const KICKOFF: &str = "kickoff";
pub const PIN: &str = "pin";
pub const ANNOUNCE: &str = "announce";

/// Every step of a declare, in the order they run.
pub const DECLARE_STEPS: [&str; 6] = [CHANNEL, TOPIC, INVITE, KICKOFF, PIN, ANNOUNCE];

/// A channel as a step's result: its id, a newline, its name.
fn encode_channel(channel: &ChannelRef) -> String {
    format!("{}\n{}", channel.id, channel.name)
}

fn decode_channel(result: &str) -> Option<ChannelRef> {
    let (id, name) = result.split_once('\n')?;
    (!id.is_empty()).then(|| ChannelRef { id: id.to_string().into(), name: name.to_string() })
}

/// What a step's call is told: whether an earlier attempt began it and never finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MaybeDone(pub bool);

impl Core {
    /// Runs `step` of `request` unless it already finished: records the intent, makes
    /// the call, records its result. Returns the result (now or from before), or the
    /// call's error, with the step left unfinished so a later run tries it again.
    pub(crate) async fn run_step<F, Fut>(
        &self,
        incident_id: i64,
        request: &SourceId,
        step: &str,
        call: F,
    ) -> Result<Result<String, ChatError>, Problem>
    where
        F: FnOnce(MaybeDone) -> Fut,
        Fut: std::future::Future<Output = Result<String, ChatError>>,
    {
        let maybe_done = match self.db.step_begin(incident_id, request, step, self.now()).await? {
            StepState::Finished { result } => return Ok(Ok(result)),
            StepState::New => MaybeDone(false),
            StepState::Interrupted { attempts } => {
                tracing::info!(incident = incident_id, step, attempts, "resuming an interrupted step");
                MaybeDone(true)
            }
        };
        let result = call(maybe_done).await;
        if let Ok(value) = &result {
            self.db.step_finish(request, step, value, self.now()).await?;
        }
        Ok(result)
    }

    /// The declare's channel: the incident's stored one, or the [`CHANNEL`] step's
    /// result, or a new channel (after looking for the one an interrupted attempt may
    /// have made); then stored on the incident.
    pub(crate) async fn declare_channel(&self, request: &SourceId, incident: Incident) -> Result<Incident, Problem> {
        if incident.channel_id.is_some() {
            return Ok(incident);
        }
        let name = incident.channel_name.clone();
        let private = incident.private;
        // A private channel has the bot and the declarer only; the others are invited.
        let members: Vec<String> = incident.commander.iter().cloned().collect();
        let made = self
            .run_step(incident.id, request, CHANNEL, |maybe_done| async move {
                if maybe_done.0 {
                    match self.chat.find_own_channel(&name).await {
                        // Ours, and no other incident's: the interrupted attempt made it.
                        Ok(Some(found)) if self.db.incident_by_channel(&found.id).await.ok().flatten().is_none() => {
                            tracing::info!(channel = %found.id, "adopting the channel an interrupted declare made");
                            return Ok(encode_channel(&found));
                        }
                        Ok(_) => {}
                        // Looking is a courtesy; a second channel beats no channel.
                        Err(error) => tracing::warn!(%error, "could not look for the channel a declare may have made"),
                    }
                }
                let made = if private {
                    self.chat.create_private_channel(&name, &members).await?
                } else {
                    self.chat.create_channel(&name).await?
                };
                Ok(encode_channel(&made))
            })
            .await?
            .map_err(CoreError::Chat)?;
        let channel = decode_channel(&made).ok_or_else(|| {
            CoreError::Chat(ChatError::new("create_channel", "a stored channel step is unreadable", false))
        })?;
        let stored = retry_on_conflict(&incident.reference(), || async {
            let mut with_channel = self.current(&incident).await?;
            if with_channel.channel_id.is_some() {
                return Ok(Attempt::Done(with_channel));
            }
            with_channel.channel_id = Some(channel.id.clone());
            with_channel.channel_name = channel.name.clone();
            Ok(match self.db.save_incident(&with_channel, None, None).await? {
                storage::Saved::Written => {
                    with_channel.revision += 1;
                    Attempt::Done(with_channel)
                }
                _ => Attempt::Conflict,
            })
        })
        .await?;
        Ok(stored)
    }

    /// The steps after the channel: topic, invite, kick-off, pin, announcement. A chat
    /// failure is logged and leaves its step unfinished (`incidentbot check` lists it;
    /// a later run of the request tries it again); it stops none of the others, except
    /// that a kick-off never posted is never pinned.
    pub(crate) async fn prepare_channel_steps(&self, request: &SourceId, incident: &Incident) -> Result<(), Problem> {
        let Some(channel_id) = incident.channel_id.clone() else {
            return Ok(());
        };
        let channel = ChannelRef { id: channel_id.clone(), name: incident.channel_name.clone() };
        let topic = self.topic(incident);
        let done = self
            .run_step(incident.id, request, TOPIC, |_| async {
                self.chat.set_topic(&channel_id, &topic).await.map(|()| String::new())
            })
            .await?;
        log_failure(incident, TOPIC, done);
        if let Some(commander) = incident.commander.clone() {
            let done = self
                .run_step(incident.id, request, INVITE, |_| async {
                    self.chat.invite(&channel_id, &[commander]).await.map(|()| String::new())
                })
                .await?;
            log_failure(incident, INVITE, done);
        }
        let kickoff = crate::drill::mark(incident, &self.kickoff_message(incident));
        let key = request.part(KICKOFF);
        let posted = self
            .run_step(incident.id, request, KICKOFF, |maybe| async move {
                self.chat.post_once(&channel_id, &kickoff, key.as_str(), maybe.0).await.map(|posted| posted.message_id)
            })
            .await?;
        match posted {
            Ok(message_id) => {
                let target = MessageRef { channel_id: channel.id.clone(), message_id };
                let done = self
                    .run_step(incident.id, request, PIN, |_| async {
                        self.chat.pin(&target).await.map(|()| String::new())
                    })
                    .await?;
                log_failure(incident, PIN, done);
            }
            Err(error) => log_failure::<()>(incident, KICKOFF, Err(error)),
        }
        // A private incident is never announced.
        if let Some(announcements) = self.settings.announcements_channel.clone().filter(|_| !incident.private) {
            let message = crate::drill::mark(incident, &self.declared_announcement(incident, &channel));
            let key = request.part(ANNOUNCE);
            let done = self
                .run_step(incident.id, request, ANNOUNCE, |maybe| async move {
                    self.chat.post_once(&announcements, &message, key.as_str(), maybe.0).await.map(|p| p.message_id)
                })
                .await?;
            log_failure(incident, ANNOUNCE, done);
        }
        Ok(())
    }
}

/// The reply a declare run again after a restart sends the person who declared:
/// `INC-1 is declared in #inc-1-database-is-down (delayed by a restart).`
pub(crate) fn delayed_reply(incident: &Incident, channel_id: &ChannelId) -> Message {
    Message::new().line(
        Line::new()
            .bold(incident.reference())
            .text(" is declared in ")
            .channel(channel_id.clone(), incident.channel_name.clone())
            .text(" (delayed by a restart)."),
    )
}

fn log_failure<T>(incident: &Incident, step: &'static str, done: Result<T, ChatError>) {
    if let Err(error) = done {
        tracing::warn!(incident = incident.id, step, %error, "a declare step failed; it stays unfinished");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_result_reads_back() {
        let channel = ChannelRef { id: "C1".into(), name: "inc-1-db".into() };
        assert_eq!(decode_channel(&encode_channel(&channel)), Some(channel));
        assert_eq!(decode_channel(""), None);
    }
}
