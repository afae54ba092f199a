//! The status page port: what the core asks of a public status page (Atlassian
//! Statuspage). The client lives in the bot. What is published, when, and how our
//! status and severity map to the page's are rules of [`crate::follow_through`].

use async_trait::async_trait;

/// A status page incident's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageStatus {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

impl PageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PageStatus::Investigating => "investigating",
            PageStatus::Identified => "identified",
            PageStatus::Monitoring => "monitoring",
            PageStatus::Resolved => "resolved",
        }
    }
}

/// A status page incident's impact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageImpact {
    Critical,
    Major,
    Minor,
    None,
}

impl PageImpact {
    pub fn as_str(self) -> &'static str {
        match self {
            PageImpact::Critical => "critical",
            PageImpact::Major => "major",
            PageImpact::Minor => "minor",
            PageImpact::None => "none",
        }
    }
}

/// A component's status on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComponentStatus {
    Operational,
    DegradedPerformance,
    PartialOutage,
    MajorOutage,
}

impl ComponentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "operational",
            ComponentStatus::DegradedPerformance => "degraded_performance",
            ComponentStatus::PartialOutage => "partial_outage",
            ComponentStatus::MajorOutage => "major_outage",
        }
    }
}

/// One post to the page: the first creates the page incident, later ones update it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagePost {
    pub name: String,
    pub status: PageStatus,
    pub body: String,
    pub impact: PageImpact,
    /// Component ids and the status each is set to.
    pub components: Vec<(String, ComponentStatus)>,
    /// Names our incident (`INC-3`) where the public cannot see it (the page incident's
    /// metadata), so a create cut off before we recorded its id can be found again.
    pub marker: String,
}

/// A status page call that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed: {detail}")]
pub struct StatusPageError {
    pub operation: &'static str,
    pub detail: String,
    pub retryable: bool,
}

impl StatusPageError {
    pub fn new(operation: &'static str, detail: impl Into<String>, retryable: bool) -> Self {
        StatusPageError { operation, detail: detail.into(), retryable }
    }
}

/// What the core needs from a status page.
#[async_trait]
pub trait StatusPage: Send + Sync {
    /// Creates a page incident; returns its id.
    async fn create_incident(&self, post: &PagePost) -> Result<String, StatusPageError>;
    /// Updates the page incident `id`.
    async fn update_incident(&self, id: &str, post: &PagePost) -> Result<(), StatusPageError>;
    /// The unresolved page incident created with `marker`, if one exists: asked before
    /// creating again after an attempt whose outcome is unknown.
    async fn find_incident(&self, marker: &str) -> Result<Option<String>, StatusPageError>;
    /// Whether the newest update of page incident `id` is already `post` (its status and
    /// body): asked before updating again after an attempt whose outcome is unknown.
    async fn has_latest_update(&self, id: &str, post: &PagePost) -> Result<bool, StatusPageError>;
}
