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
}

/// Why a handler stopped: the user's mistake, a refusal, or an unexpected failure.
#[derive(Debug)]
pub(crate) enum Problem {
    Usage(UsageError),
    Refused(String),
    Internal(CoreError),
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
    Problem::Refused(text.into())
}
