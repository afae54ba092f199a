//! Platform-neutral messages. The core builds them; each adapter renders them in its
//! own format (Slack blocks, Discord embeds, console text).
//!
//! Text that users wrote is always carried in `Span::Text` or `Span::Bold`, which every
//! adapter escapes; only `Span::User` and `Span::Channel` become real mentions. That
//! is what keeps `<!channel>` or `@everyone` in a title from pinging anyone.

use std::fmt::Write as _;

use storage::ChannelId;

/// A piece of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Span {
    Text(String),
    Bold(String),
    Code(String),
    /// A user, by platform id.
    User(String),
    /// A channel, by platform id and display name.
    Channel {
        id: ChannelId,
        name: String,
    },
}

/// One line of a message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Line(pub Vec<Span>);

impl Line {
    pub fn new() -> Self {
        Line(Vec::new())
    }
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.0.push(Span::Text(text.into()));
        self
    }
    pub fn bold(mut self, text: impl Into<String>) -> Self {
        self.0.push(Span::Bold(text.into()));
        self
    }
    pub fn code(mut self, text: impl Into<String>) -> Self {
        self.0.push(Span::Code(text.into()));
        self
    }
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.0.push(Span::User(user.into()));
        self
    }
    pub fn channel(mut self, id: impl Into<ChannelId>, name: impl Into<String>) -> Self {
        self.0.push(Span::Channel { id: id.into(), name: name.into() });
        self
    }
}

/// What pressing a button asks the core to do. Encoded into the platform's action id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonAction {
    Acknowledge {
        incident: i64,
    },
    WritePostmortem {
        incident: i64,
    },
    MarkDone {
        item: i64,
    },
    Snooze {
        item: i64,
        days: u32,
    },
    /// Take command of an incident that has no commander yet.
    TakeCommand {
        incident: i64,
    },
    /// Declare an incident from an alert waiting in triage.
    AlertDeclare {
        alert: i64,
    },
    /// Attach an alert waiting in triage to an open incident.
    AlertAttach {
        alert: i64,
        incident: i64,
    },
    /// Dismiss an alert waiting in triage.
    AlertDismiss {
        alert: i64,
    },
    /// Resolve an incident (the nudge once all its alerts resolved).
    ResolveIncident {
        incident: i64,
    },
}

impl ButtonAction {
    /// A compact id such as `ack:3`, safe for Slack `action_id` and Discord `custom_id`.
    pub fn encode(&self) -> String {
        match self {
            ButtonAction::Acknowledge { incident } => format!("ack:{incident}"),
            ButtonAction::WritePostmortem { incident } => format!("postmortem:{incident}"),
            ButtonAction::MarkDone { item } => format!("done:{item}"),
            ButtonAction::Snooze { item, days } => format!("snooze:{item}:{days}"),
            ButtonAction::TakeCommand { incident } => format!("take:{incident}"),
            ButtonAction::AlertDeclare { alert } => format!("alert-declare:{alert}"),
            ButtonAction::AlertAttach { alert, incident } => format!("alert-attach:{alert}:{incident}"),
            ButtonAction::AlertDismiss { alert } => format!("alert-dismiss:{alert}"),
            ButtonAction::ResolveIncident { incident } => format!("resolve:{incident}"),
        }
    }

    /// Whether pressing it may open a form (Write postmortem; the triage post's Declare
    /// and Dismiss), so an adapter whose modal must be the first answer (Discord) asks
    /// the core before it answers, rather than deferring.
    pub fn may_open_form(&self) -> bool {
        matches!(
            self,
            ButtonAction::WritePostmortem { .. }
                | ButtonAction::AlertDeclare { .. }
                | ButtonAction::AlertDismiss { .. }
        )
    }

    /// The inverse of [`ButtonAction::encode`]; `None` for anything else.
    pub fn decode(id: &str) -> Option<ButtonAction> {
        let mut parts = id.split(':');
        let verb = parts.next()?;
        let first: i64 = parts.next()?.parse().ok()?;
        let action = match verb {
            "ack" => ButtonAction::Acknowledge { incident: first },
            "postmortem" => ButtonAction::WritePostmortem { incident: first },
            "done" => ButtonAction::MarkDone { item: first },
            "snooze" => ButtonAction::Snooze { item: first, days: parts.next()?.parse().ok()? },
            "take" => ButtonAction::TakeCommand { incident: first },
            "alert-declare" => ButtonAction::AlertDeclare { alert: first },
            "alert-attach" => ButtonAction::AlertAttach { alert: first, incident: parts.next()?.parse().ok()? },
            "alert-dismiss" => ButtonAction::AlertDismiss { alert: first },
            "resolve" => ButtonAction::ResolveIncident { incident: first },
            _ => return None,
        };
        parts.next().is_none().then_some(action)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub label: String,
    pub action: ButtonAction,
    pub primary: bool,
}

/// A message: lines of spans, then optional buttons.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    pub lines: Vec<Line>,
    pub buttons: Vec<Button>,
}

impl Message {
    pub fn new() -> Self {
        Message::default()
    }

    /// A message of one plain-text line.
    pub fn plain(text: impl Into<String>) -> Self {
        Message::new().line(Line::new().text(text))
    }

    pub fn line(mut self, line: Line) -> Self {
        self.lines.push(line);
        self
    }

    /// Appends each line of `text` as plain text.
    pub fn text_block(mut self, text: &str) -> Self {
        for part in text.lines() {
            self.lines.push(Line::new().text(part));
        }
        self
    }

    pub fn button(mut self, label: impl Into<String>, action: ButtonAction, primary: bool) -> Self {
        self.buttons.push(Button { label: label.into(), action, primary });
        self
    }

    /// Plain text: users as `@id`, channels as `#name`, buttons as `[Label]` on a last line.
    /// Used by the console and as the notification fallback on chat platforms.
    pub fn to_plain(&self) -> String {
        let mut out = String::new();
        for (n, line) in self.lines.iter().enumerate() {
            if n > 0 {
                out.push('\n');
            }
            for span in &line.0 {
                match span {
                    Span::Text(t) | Span::Bold(t) => out.push_str(t),
                    Span::Code(t) => {
                        let _ = write!(out, "`{t}`");
                    }
                    Span::User(u) => {
                        let _ = write!(out, "@{u}");
                    }
                    Span::Channel { name, .. } => {
                        let _ = write!(out, "#{name}");
                    }
                }
            }
        }
        if !self.buttons.is_empty() {
            if !out.is_empty() {
                out.push('\n');
            }
            let labels: Vec<String> = self.buttons.iter().map(|b| format!("[{}]", b.label)).collect();
            out.push_str(&labels.join(" "));
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn button_actions_round_trip() {
        for action in [
            ButtonAction::Acknowledge { incident: 4 },
            ButtonAction::WritePostmortem { incident: 12 },
            ButtonAction::MarkDone { item: 7 },
            ButtonAction::Snooze { item: 7, days: 3 },
            ButtonAction::AlertDeclare { alert: 5 },
            ButtonAction::AlertAttach { alert: 5, incident: 2 },
            ButtonAction::AlertDismiss { alert: 5 },
            ButtonAction::ResolveIncident { incident: 2 },
        ] {
            assert_eq!(ButtonAction::decode(&action.encode()), Some(action));
        }
        assert_eq!(ButtonAction::decode("ack:x"), None);
        assert_eq!(ButtonAction::decode("ack:1:2"), None);
        assert_eq!(ButtonAction::decode("boom:1"), None);
    }

    #[test]
    fn plain_rendering_shows_mentions_and_buttons() {
        let msg = Message::new()
            .line(Line::new().bold("INC-1").text(" led by ").user("bob"))
            .line(Line::new().text("in ").channel("C1", "inc-1-db"))
            .button("Acknowledge", ButtonAction::Acknowledge { incident: 1 }, true);
        assert_eq!(msg.to_plain(), "INC-1 led by @bob\nin #inc-1-db\n[Acknowledge]");
    }
}
