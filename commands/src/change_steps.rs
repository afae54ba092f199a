//! The posts a committed change makes (a resolve's channel post and announcement, the
//! line a button press such as Acknowledge or Mark done puts in the channel, the posts
//! to a service's team channels on a declare), each as a recorded step of its request,
//! the way [`declare_steps`](crate::declare_steps) records a declare's.
//!
//! A change is committed first, then posted about. When the process dies in between,
//! the inbox runs the request again: the change finds itself applied (its timeline
//! entry carries the request's source id) and, instead of doing nothing, makes the
//! posts it had not made. A post whose step finished is skipped; one begun and never
//! finished may have gone out, so it goes through
//! [`Chat::post_once`](crate::Chat::post_once) (a nonce on Discord, a search of the
//! channel's latest posts on Slack).

use storage::{ChannelId, Incident, SourceId};

use crate::core::Core;
use crate::error::Problem;
use crate::message::Message;

/// A change's post to its incident's channel.
pub const POST: &str = "post";
/// A change's post to the announcements channel.
pub const ANNOUNCE: &str = "announce";

/// The step that posts a declare to one team channel.
pub fn team_step(channel: &ChannelId) -> String {
    format!("team:{channel}")
}

impl Core {
    /// Whether `request` was applied before: its change is committed, so this is the
    /// request run again (by the inbox, after a restart) and only its posts are owed.
    pub(crate) async fn already_applied(&self, request: &SourceId) -> Result<bool, Problem> {
        Ok(self.db.entry_by_source(request).await?.is_some())
    }

    /// Posts `message` to the incident's channel (marked DRILL for a drill) as step
    /// `step` of `request`. A chat failure is logged and leaves the step unfinished,
    /// as [`Core::post_to_incident`] logs it; the change is committed either way.
    pub(crate) async fn post_to_incident_once(
        &self,
        incident: &Incident,
        request: &SourceId,
        step: &str,
        message: &Message,
    ) -> Result<(), Problem> {
        let Some(channel) = incident.channel_id.clone() else {
            tracing::warn!(incident = incident.id, "incident has no channel yet; post skipped");
            return Ok(());
        };
        self.post_once_as_step(incident, request, step, &channel, &crate::drill::mark(incident, message)).await
    }

    /// [`Core::announce`] as step `step` of `request`: never for a private incident,
    /// marked DRILL for a drill, nothing when no announcements channel is configured.
    pub(crate) async fn announce_once(
        &self,
        incident: &Incident,
        request: &SourceId,
        step: &str,
        message: &Message,
    ) -> Result<(), Problem> {
        if incident.private {
            return Ok(());
        }
        let Some(channel) = self.settings.announcements_channel.clone() else {
            return Ok(());
        };
        self.post_once_as_step(incident, request, step, &channel, &crate::drill::mark(incident, message)).await
    }

    /// Posts `message` to `channel` as step `step` of `request`, at most once where
    /// the platform allows it.
    pub(crate) async fn post_once_as_step(
        &self,
        incident: &Incident,
        request: &SourceId,
        step: &str,
        channel: &ChannelId,
        message: &Message,
    ) -> Result<(), Problem> {
        let key = request.part(step);
        let posted = self
            .run_step(incident.id, request, step, |maybe| async move {
                self.chat.post_once(channel, message, key.as_str(), maybe.0).await.map(|p| p.message_id)
            })
            .await?;
        if let Err(error) = posted {
            tracing::warn!(incident = incident.id, step, %error, "a post failed; its step stays unfinished");
        }
        Ok(())
    }
}
