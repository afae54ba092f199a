//! Edits made on the web pages, through the same rules as chat: writing the postmortem
//! (each changed field a timeline entry, with blameless hints, closing a resolved
//! incident once complete) and changing action items (done, won't fix, reassign, due
//! date; owner, commander or admin). Each edit is one request with its own source id,
//! so a resubmitted form is recorded once.

use storage::{ActionStatus, ChannelId, Incident, Postmortem, SourceId};

use crate::core::{settle, Core, Invocation};
use crate::error::CoreError;
use crate::grammar::{self, usage, UsageError};
use crate::limits::MAX_WEB_POSTMORTEM_FIELD;
use crate::outcome::{FormKind, Outcome, TagPicker};
use crate::postmortem_cmds::FormSubmission;

/// The postmortem of one incident, as the web pages show and edit it.
#[derive(Debug, Clone)]
pub struct PostmortemView {
    pub incident: Incident,
    pub postmortem: Postmortem,
    pub tags: TagPicker,
}

/// A change to an action item from the web.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebActionChange {
    Done,
    Wontfix,
    /// A user id, as typed (`bob`, `@bob`, `<@U123>`).
    Reassign(String),
    /// A date as typed: `YYYY-MM-DD` or `+5d`.
    Due(String),
}

/// The channel id recorded for what is done on the web: no chat channel matches it.
const WEB_CHANNEL: &str = "web";

impl Core {
    /// Saves the web editor's postmortem form for `user`: `(field key, text)` pairs.
    pub async fn save_postmortem_from_web(
        &self,
        source_id: &str,
        user: &str,
        incident_id: i64,
        answers: Vec<(String, String)>,
        clear: Vec<String>,
    ) -> Result<Outcome, CoreError> {
        let submission = FormSubmission {
            source_id: SourceId::from(source_id.to_string()),
            user: user.to_string(),
            channel_id: ChannelId::from(WEB_CHANNEL.to_string()),
            kind: FormKind::PostmortemAll { incident: incident_id },
            answers,
        };
        settle(self.save_postmortem_answers(&submission, incident_id, MAX_WEB_POSTMORTEM_FIELD, &clear).await)
    }

    /// The incident of action item `id`, if there is one and `viewer` may see it.
    pub async fn action_incident(&self, viewer: &str, id: i64) -> Result<Option<Incident>, CoreError> {
        let Some(item) = self.db.action(id).await? else { return Ok(None) };
        self.visible_incident(viewer, item.incident_id).await
    }

    /// What the postmortem pages show: the incident, its postmortem and its tag picker
    /// (every vocabulary tag, the incident's own selected). `None` when there is no such
    /// incident or `viewer` may not see it.
    pub async fn postmortem_view(&self, viewer: &str, incident_id: i64) -> Result<Option<PostmortemView>, CoreError> {
        let Some(incident) = self.visible_incident(viewer, incident_id).await? else { return Ok(None) };
        let postmortem = self.db.postmortem(incident_id).await?.unwrap_or_default();
        let tags = self.tag_picker(&incident).await?;
        Ok(Some(PostmortemView { incident, postmortem, tags }))
    }

    /// Changes an action item for `user`, as the matching `/incident action …` would.
    pub async fn change_action_from_web(
        &self,
        source_id: &str,
        user: &str,
        id: i64,
        change: WebActionChange,
    ) -> Result<Outcome, CoreError> {
        let inv = Invocation {
            source_id: SourceId::from(source_id.to_string()),
            user: user.to_string(),
            channel_id: ChannelId::from(WEB_CHANNEL.to_string()),
            text: format!("web: action {id} {change:?}"),
        };
        let result = match change {
            WebActionChange::Done => self.close_action(&inv, id, ActionStatus::Done).await,
            WebActionChange::Wontfix => self.close_action(&inv, id, ActionStatus::Wontfix).await,
            WebActionChange::Reassign(owner) => {
                match grammar::parse_user(owner.trim()).or_else(|| grammar::parse_user(&format!("@{}", owner.trim()))) {
                    Some(owner) => self.reassign_action(&inv, id, owner).await,
                    None => Err(UsageError {
                        problem: "Name the new owner by their chat id, like bob or @bob.".into(),
                        usage: usage::ACTION_REASSIGN,
                    }
                    .into()),
                }
            }
            WebActionChange::Due(due) => match grammar::parse_due(due.trim()) {
                Ok(due) => self.redate_action(&inv, id, due).await,
                Err(usage) => Err(usage.into()),
            },
        };
        settle(result)
    }
}
