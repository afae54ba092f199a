//! Button presses: acknowledge, write postmortem, mark done, snooze, take command, the
//! triage post's declare / attach / dismiss, and the resolve nudge's resolve.

use storage::{ChannelId, EntryKind, SourceId};

use crate::core::{settle, Core, Invocation};
use crate::error::{CoreError, Problem};
use crate::format;
use crate::grammar::usage;
use crate::message::{ButtonAction, Line, Message};
use crate::outcome::Outcome;

/// A button pressed by a user.
#[derive(Debug, Clone)]
pub struct ButtonPress {
    /// Unique per delivery of this press; a retry carries the same id.
    pub source_id: SourceId,
    pub user: String,
    pub channel_id: ChannelId,
    pub action: ButtonAction,
}

impl Core {
    pub async fn press_button(&self, press: &ButtonPress) -> Result<Outcome, CoreError> {
        let inv = Invocation {
            source_id: press.source_id.clone(),
            user: press.user.clone(),
            channel_id: press.channel_id.clone(),
            text: String::new(),
        };
        let result = match press.action {
            ButtonAction::Acknowledge { incident } => self.acknowledge_button(&inv, incident).await,
            ButtonAction::WritePostmortem { incident } => self.open_postmortem(&inv, Some(incident), false).await,
            ButtonAction::MarkDone { item } => self.close_action(&inv, item, storage::ActionStatus::Done).await,
            ButtonAction::Snooze { item, days } => self.snooze_action(&inv, item, days).await,
            ButtonAction::TakeCommand { incident } => self.take_command(&inv, Some(incident)).await,
            // Both open a form: the declare pre-filled from the alert, the optional reason.
            ButtonAction::AlertDeclare { alert } => self.alert_declare(&inv, alert, None).await,
            ButtonAction::AlertAttach { alert, incident } => self.alert_attach(&inv, alert, incident).await,
            ButtonAction::AlertDismiss { alert } => self.alert_dismiss_form(&inv, alert).await,
            ButtonAction::ResolveIncident { incident } => self.resolve(&inv, Some(incident), None).await,
        };
        settle(result)
    }

    async fn acknowledge_button(&self, inv: &Invocation, incident_id: i64) -> Result<Outcome, Problem> {
        let incident = self.target_incident(inv, Some(incident_id), usage::ANY).await?;
        if let Some(at) = incident.acknowledged_at {
            return Ok(Outcome::reply(Message::plain(format!(
                "{} was acknowledged at {}.",
                incident.reference(),
                format::time(at, self.settings.timezone)
            ))));
        }
        if inv.user == incident.declared_by {
            return Ok(Outcome::reply(Message::plain(
                "You declared it; the acknowledgement comes from the first other responder.",
            )));
        }
        let entry = self.entry_for(inv, &incident, EntryKind::Note, format!("Acknowledged by @{}", inv.user));
        if self.db.add_entry(&entry, true).await? == storage::Saved::Written {
            self.post_to_incident(
                &incident,
                &Message::new()
                    .line(Line::new().text("👍 ").user(inv.user.clone()).text(" acknowledged and is responding.")),
            )
            .await;
        }
        Ok(self.confirm(inv, &incident, "acknowledged.".into()))
    }
}
