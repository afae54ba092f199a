//! The postmortem-repository port: what the core asks of a Git host so a closed
//! incident's postmortem is reviewed like code, as a pull request that adds its
//! Markdown export. The client (GitHub's contents and pulls APIs) lives in the bot.
//! When a pull request is opened, updated or followed up is a rule of
//! [`crate::follow_through`].

use async_trait::async_trait;

/// A file to propose on a branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposedFile {
    pub branch: String,
    pub path: String,
    pub content: String,
    /// The commit message.
    pub message: String,
}

/// An opened pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub number: i64,
    pub url: String,
}

/// A call to the repository that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed: {detail}")]
pub struct RepoError {
    pub operation: &'static str,
    pub detail: String,
    pub retryable: bool,
}

impl RepoError {
    pub fn new(operation: &'static str, detail: impl Into<String>, retryable: bool) -> Self {
        RepoError { operation, detail: detail.into(), retryable }
    }
}

/// What the core needs from the repository that holds postmortems.
#[async_trait]
pub trait PostmortemRepo: Send + Sync {
    /// Creates the branch from the base branch (an existing one is reused), commits the
    /// file on it and opens a pull request, or finds the one already open from that
    /// branch: calling it again after a crash opens nothing twice.
    async fn open_pull_request(&self, file: &ProposedFile, title: &str, body: &str) -> Result<PullRequest, RepoError>;

    /// Commits a new version of the file on the branch (the open pull request follows).
    async fn update_file(&self, file: &ProposedFile) -> Result<(), RepoError>;

    /// Whether the pull request was merged.
    async fn is_merged(&self, number: i64) -> Result<bool, RepoError>;
}
