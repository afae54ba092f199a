//! Errors of the core. [`CoreError`] is what adapters see: something unexpected went
//! wrong. Mistakes and refusals are not errors to them; they come back as an
//! [`crate::Outcome`] with a private reply. Inside the core, [`Problem`] carries both.

use crate::chat::ChatError;
use crate::grammar::UsageError;
use crate::lifecycle::Refusal;
use storage::StorageError;

/// Something went wrong that the user could not have avoided.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Chat(#[from] ChatError),
    #[error("{0} kept changing while it was being saved; try again")]
    Contention(String),
    /// A stored alert could not be applied (a missing group, a declare that vanished).
    #[error("an alert could not be applied: {0}")]
    Alert(String),
    /// The system could not give us what every token needs (randomness).
    #[error("{0}")]
    Internal(String),
}

impl CoreError {
    /// The one reply every surface shows for an unexpected failure: what failed, in
    /// words a responder can act on, without internals. The full cause goes to the log.
    pub fn reply(&self) -> crate::message::Message {
        let what = match self {
            CoreError::Storage(_) => "the database did not answer".to_string(),
            CoreError::Chat(chat) => format!("the chat platform refused a call ({})", chat.operation),
            CoreError::Contention(_) => self.to_string(),
            CoreError::Alert(_) => "an alert could not be applied".to_string(),
            CoreError::Internal(_) => "the system could not make a secure token".to_string(),
        };
        crate::message::Message::plain(format!(
            "Something went wrong: {what}. What was saved before stays saved; it was logged. Please try again."
        ))
    }
}

/// Why a handler stopped: the user's mistake, a refusal, or an unexpected failure.
#[derive(Debug)]
pub(crate) enum Problem {
    Usage(UsageError),
    /// A refusal: a line, so the people it names are mentions.
    Refused(crate::message::Line),
    Internal(CoreError),
}

impl Problem {
    /// The problem in words, for a log line about work no user is waiting on.
    pub(crate) fn describe(&self) -> String {
        match self {
            Problem::Usage(usage) => usage.problem.clone(),
            Problem::Refused(line) => crate::message::Message::new().line(line.clone()).to_plain(),
            Problem::Internal(error) => error.to_string(),
        }
    }
}

impl From<UsageError> for Problem {
    fn from(e: UsageError) -> Self {
        Problem::Usage(e)
    }
}

impl From<Refusal> for Problem {
    fn from(e: Refusal) -> Self {
        Problem::Refused(e.0)
    }
}

impl From<StorageError> for Problem {
    fn from(e: StorageError) -> Self {
        Problem::Internal(CoreError::Storage(e))
    }
}

impl From<CoreError> for Problem {
    fn from(e: CoreError) -> Self {
        Problem::Internal(e)
    }
}

pub(crate) fn refused(text: impl Into<String>) -> Problem {
    Problem::Refused(crate::message::Line::new().text(text))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_internal_error_reply_says_what_failed_without_internals() {
        let chat = CoreError::Chat(ChatError::new("create_channel", "HTTP 500: token xoxb-secret", true));
        let text = chat.reply().to_plain();
        assert!(text.contains("the chat platform refused a call (create_channel)"), "{text}");
        assert!(!text.contains("xoxb"), "{text}");
        let contention = CoreError::Contention("INC-3".into()).reply().to_plain();
        assert!(contention.contains("INC-3 kept changing"), "{contention}");
    }
}
