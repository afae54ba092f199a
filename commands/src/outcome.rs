//! What the core hands back to an adapter after a command, a button or a form:
//! a private reply, a form to open, and the channel a declare opened.

use crate::chat::ChannelRef;
use crate::message::Message;

/// Which form is being asked for or answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormKind {
    /// Title, severity and description of a new incident.
    Declare,
    /// The postmortem fields of one incident that are still missing.
    Postmortem { incident: i64 },
    /// Every postmortem field of one incident, pre-filled, to correct what is written.
    PostmortemAll { incident: i64 },
    /// A declare pre-filled from an alert waiting in triage; submitting it declares and
    /// takes the alert's group into the new incident.
    AlertDeclare { alert: i64 },
    /// Dismissing an alert waiting in triage, with an optional reason.
    AlertDismiss { alert: i64 },
}

impl FormKind {
    /// The incident a postmortem form is about.
    pub fn postmortem_incident(&self) -> Option<i64> {
        match self {
            FormKind::Declare | FormKind::AlertDeclare { .. } | FormKind::AlertDismiss { .. } => None,
            FormKind::Postmortem { incident } | FormKind::PostmortemAll { incident } => Some(*incident),
        }
    }

    /// A compact id for a modal's callback id: `declare` or `postmortem:3`.
    pub fn encode(&self) -> String {
        match self {
            FormKind::Declare => "declare".to_string(),
            FormKind::Postmortem { incident } => format!("postmortem:{incident}"),
            FormKind::PostmortemAll { incident } => format!("postmortem-all:{incident}"),
            FormKind::AlertDeclare { alert } => format!("alert-declare:{alert}"),
            FormKind::AlertDismiss { alert } => format!("alert-dismiss:{alert}"),
        }
    }

    pub fn decode(id: &str) -> Option<FormKind> {
        match id.split_once(':') {
            None if id == "declare" => Some(FormKind::Declare),
            Some(("postmortem", n)) => {
                n.parse().ok().filter(|n| *n > 0).map(|incident| FormKind::Postmortem { incident })
            }
            Some(("postmortem-all", n)) => {
                n.parse().ok().filter(|n| *n > 0).map(|incident| FormKind::PostmortemAll { incident })
            }
            Some(("alert-declare", n)) => {
                n.parse().ok().filter(|n| *n > 0).map(|alert| FormKind::AlertDeclare { alert })
            }
            Some(("alert-dismiss", n)) => {
                n.parse().ok().filter(|n| *n > 0).map(|alert| FormKind::AlertDismiss { alert })
            }
            _ => None,
        }
    }
}

/// One input of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormField {
    pub key: &'static str,
    pub label: String,
    pub question: String,
    /// What is already written, to pre-fill the input.
    pub value: Option<String>,
    pub multiline: bool,
    pub required: bool,
    /// Upper bound on the answer's length in characters.
    pub max_len: usize,
}

impl FormField {
    /// The answer to submit for what the user typed: an empty answer keeps what the
    /// form shows (the pre-filled value), as a modal's untouched input would.
    pub fn answer_or_kept(&self, typed: &str) -> String {
        let typed = typed.trim();
        if typed.is_empty() {
            self.value.clone().unwrap_or_default()
        } else {
            typed.to_string()
        }
    }
}

/// A form to show the user (a Slack or Discord modal, or console prompts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    pub kind: FormKind,
    pub title: String,
    pub fields: Vec<FormField>,
    /// A multi-select of contributing-factor tags, for adapters whose forms hold one
    /// (Slack's modal). Its answer comes back under [`TagPicker::KEY`] as the tags
    /// chosen, separated by spaces; the incident's tags become exactly those. Adapters
    /// without one in their forms leave it out (the console takes `/incident factor`;
    /// Discord offers [`Outcome::tag_picker`] as a select menu after the modal).
    pub tags: Option<TagPicker>,
}

/// A choice of contributing-factor tags for one incident: every tag of the vocabulary,
/// with the ones the incident has already selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagPicker {
    pub incident: i64,
    pub label: String,
    /// Why tags are asked for, shown next to the picker.
    pub help: String,
    /// `(tag, description)`, in vocabulary order.
    pub options: Vec<(String, String)>,
    /// The incident's tags now.
    pub selected: Vec<String>,
}

impl TagPicker {
    /// The answer key of the picker in a form submission.
    pub const KEY: &'static str = "factor_tags";

    /// A compact id for a select menu's custom id: `tags:3`.
    pub fn encode(&self) -> String {
        format!("tags:{}", self.incident)
    }

    /// The incident of a select menu's custom id made by [`TagPicker::encode`].
    pub fn decode(id: &str) -> Option<i64> {
        id.strip_prefix("tags:")?.parse().ok().filter(|n| *n > 0)
    }
}

/// The result of handling one user action.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Shown only to the user who acted (Slack ephemeral, Discord ephemeral, `[only @user]`).
    pub reply: Option<Message>,
    /// The reply reports a mistake or refusal; nothing was written.
    pub is_error: bool,
    /// A form the adapter should open for the user.
    pub form: Option<Form>,
    /// The incident channel this action opened (declare).
    pub opened: Option<ChannelRef>,
    /// The severity of an incident this action newly declared (not set for a retry).
    pub declared: Option<storage::Severity>,
    /// Per-field problems in a submitted form, by field key. Nothing was written.
    pub field_errors: Vec<(&'static str, String)>,
    /// After a form was saved: what is left to write, as the form that asks for it. An
    /// adapter that shows forms in pages (Discord's modals hold five inputs) offers to
    /// continue with it; the others have already asked every field.
    pub continues: Option<FormKind>,
    /// A tag picker to offer with the reply (Discord renders it as a select menu).
    pub tag_picker: Option<TagPicker>,
}

impl Outcome {
    pub fn silent() -> Self {
        Outcome::default()
    }

    pub fn reply(message: Message) -> Self {
        Outcome { reply: Some(message), ..Outcome::default() }
    }

    pub fn error(message: Message) -> Self {
        Outcome { reply: Some(message), is_error: true, ..Outcome::default() }
    }

    pub fn form(form: Form) -> Self {
        Outcome { form: Some(form), ..Outcome::default() }
    }

    /// Adds a line to the private reply, opening one if there is none.
    pub fn with_notice(mut self, notice: crate::message::Line) -> Self {
        self.reply = Some(self.reply.take().unwrap_or_default().line(notice));
        self
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn form_kinds_round_trip() {
        for kind in [
            FormKind::Declare,
            FormKind::Postmortem { incident: 9 },
            FormKind::PostmortemAll { incident: 9 },
            FormKind::AlertDeclare { alert: 12 },
            FormKind::AlertDismiss { alert: 12 },
        ] {
            assert_eq!(FormKind::decode(&kind.encode()), Some(kind));
        }
        assert_eq!(FormKind::decode("postmortem:x"), None);
        assert_eq!(FormKind::decode("other"), None);
    }
}
