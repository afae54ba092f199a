//! The tracker port: what the core asks of an issue tracker (GitHub Issues, Jira Cloud)
//! so action items live where the team plans its work. The clients live in the bot;
//! core tests use a recording fake. Which item becomes an issue, what it says, and how
//! the two sides follow each other are rules of [`crate::follow_through`].

use async_trait::async_trait;
use chrono::NaiveDate;

/// Which tracker: stored with each link, and the name of its webhook source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackerKind {
    GitHub,
    Jira,
}

impl TrackerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TrackerKind::GitHub => "github",
            TrackerKind::Jira => "jira",
        }
    }

    /// The kind stored as [`TrackerKind::as_str`].
    pub fn from_stored(stored: &str) -> Option<TrackerKind> {
        match stored {
            "github" => Some(TrackerKind::GitHub),
            "jira" => Some(TrackerKind::Jira),
            _ => None,
        }
    }

    /// How people name it.
    pub fn label(self) -> &'static str {
        match self {
            TrackerKind::GitHub => "GitHub",
            TrackerKind::Jira => "Jira",
        }
    }
}

/// An issue to open. The body is a list of paragraphs, each a list of pieces, so each
/// client renders it its own way (Markdown on GitHub, Atlassian Document Format on Jira).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueDraft {
    pub title: String,
    pub body: Vec<Vec<BodyPiece>>,
    /// The owner's tracker identity (GitHub login, Jira account id), when mapped.
    pub assignee: Option<String>,
    pub due: NaiveDate,
    /// A line the bot can find the issue by: `incidentbot action #12`.
    pub marker: String,
    /// Where it goes when not the tracker's default: the repository (`owner/name`) or
    /// project key a service of the incident names.
    pub destination: Option<String>,
}

/// A piece of a paragraph in an issue body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyPiece {
    Text(String),
    Bold(String),
    Link { text: String, url: String },
}

/// An issue that exists: its key (`acme/reliability#12`, `REL-7`) and web address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueRef {
    pub key: String,
    pub url: String,
}

/// The state of an item that its issue follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueState {
    pub open: bool,
    pub assignee: Option<String>,
    pub due: NaiveDate,
}

/// A tracker call that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed: {detail}")]
pub struct TrackerError {
    pub operation: &'static str,
    pub detail: String,
    /// Worth trying again (rate limits, timeouts, 5xx); a 4xx other than 429 is not.
    pub retryable: bool,
}

impl TrackerError {
    pub fn new(operation: &'static str, detail: impl Into<String>, retryable: bool) -> Self {
        TrackerError { operation, detail: detail.into(), retryable }
    }
}

/// What the core needs from an issue tracker.
#[async_trait]
pub trait Tracker: Send + Sync {
    fn kind(&self) -> TrackerKind;

    /// Opens an issue.
    async fn create_issue(&self, draft: &IssueDraft) -> Result<IssueRef, TrackerError>;

    /// The issue whose body carries `marker`, if one exists, in `destination` (the
    /// default repository or project when `None`): asked before opening again after an
    /// attempt whose outcome is unknown (the process died mid-call).
    async fn find_issue(&self, marker: &str, destination: Option<&str>) -> Result<Option<IssueRef>, TrackerError>;

    /// Makes the issue match the item: open or closed, assignee, due date.
    async fn sync_issue(&self, key: &str, state: &IssueState) -> Result<(), TrackerError>;

    /// Reads an issue URL or key as typed (`https://github.com/acme/rel/issues/12`,
    /// `acme/rel#12`, `#12` in the default repository; `REL-7`). `None` when it is not
    /// one of this tracker's.
    fn parse_reference(&self, text: &str) -> Option<IssueRef>;
}
