//! Follow-through beyond chat: the rules for action items in a tracker and updates on
//! a status page.
//!
//! - A new action item becomes an issue when a tracker is configured. The creation is
//!   an outbound job enqueued in the same transaction as the item, so it is claimed
//!   before any call: a retried request, a restart or a second copy never opens a
//!   second issue. It is tried at once, then with backoff by the follow-up scheduler;
//!   after [`RetryPolicy::tell_after`] failed attempts the owner is told, once.
//! - Closing, re-dating or reassigning an item in chat queues a sync of its issue;
//!   closing or reopening the issue (a tracker webhook) closes or reopens the item,
//!   recorded as the tracker's system actor. An event about an issue we do not know is
//!   ignored.
//! - Nothing reaches the status page unless a person typed `/incident public`; each
//!   such update is recorded word for word and queued in order. The first creates the
//!   page incident; later ones update it; resolving an incident that was published
//!   resolves its page incident.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use storage::{
    ActionChange, ActionItem, ActionStatus, DeliveryKey, DeliveryKind, EntryKind, Incident, Job, NewEntry, NewJob,
    Saved, Severity, SourceId, Status, TrackerLink,
};

use crate::actor::{Actor, SystemSource};
use crate::core::{Core, Invocation};
use crate::error::{refused, CoreError, Problem};
use crate::grammar::{usage, UsageError};
use crate::message::{Line, Message};
use crate::outcome::Outcome;
use crate::permissions::{self, Act};
use crate::postmortem_repo::{PostmortemRepo, ProposedFile};
use crate::status_page::{ComponentStatus, PageImpact, PagePost, PageStatus, StatusPage};
use crate::tracker::{BodyPiece, IssueDraft, IssueState, Tracker, TrackerKind};

/// Job kinds, the first part of each job's key.
pub const TRACKER_CREATE: &str = "tracker_create";
pub const TRACKER_SYNC: &str = "tracker_sync";
pub const STATUS_POST: &str = "status_post";
pub const POSTMORTEM_PR: &str = "postmortem_pr";
pub const POSTMORTEM_FIX: &str = "postmortem_fix";

/// A person's identities outside chat, from the config's `[people]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonIds {
    pub github: Option<String>,
    pub jira: Option<String>,
}

/// Chat ids mapped to tracker identities.
#[derive(Debug, Clone, Default)]
pub struct People {
    by_chat_id: HashMap<String, PersonIds>,
}

impl People {
    pub fn new(by_chat_id: HashMap<String, PersonIds>) -> Self {
        People { by_chat_id }
    }

    /// The tracker identity of a chat user, when mapped.
    pub fn tracker_id(&self, kind: TrackerKind, chat_id: &str) -> Option<String> {
        let ids = self.by_chat_id.get(chat_id)?;
        match kind {
            TrackerKind::GitHub => ids.github.clone(),
            TrackerKind::Jira => ids.jira.clone(),
        }
    }

    /// The chat user with a tracker identity. GitHub logins compare without case.
    pub fn chat_id(&self, kind: TrackerKind, tracker_id: &str) -> Option<String> {
        self.by_chat_id
            .iter()
            .find(|(_, ids)| match kind {
                TrackerKind::GitHub => ids.github.as_deref().is_some_and(|g| g.eq_ignore_ascii_case(tracker_id)),
                TrackerKind::Jira => ids.jira.as_deref() == Some(tracker_id),
            })
            .map(|(chat, _)| chat.clone())
    }
}

/// How failed outbound calls are retried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// The pause after the first failure; it doubles after each one, up to `longest`.
    pub first: Duration,
    pub longest: Duration,
    /// After this many failed attempts the owner (or the incident channel) is told.
    pub tell_after: u32,
    /// How long one attempt holds its job: a copy that died mid-call frees it then.
    pub hold: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            first: Duration::seconds(30),
            longest: Duration::hours(1),
            tell_after: 5,
            hold: Duration::minutes(2),
        }
    }
}

impl RetryPolicy {
    /// The pause after `failures` failed attempts (1 for the first).
    pub fn pause_after(&self, failures: u32) -> Duration {
        let mut pause = self.first;
        for _ in 1..failures.min(32) {
            pause = pause * 2;
            if pause >= self.longest {
                return self.longest;
            }
        }
        pause.min(self.longest)
    }
}

/// Where a service's action items go instead of the default tracker's default place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub tracker: TrackerKind,
    /// The repository (`owner/name`, GitHub) or project key (Jira).
    pub place: String,
}

impl Destination {
    pub fn github(repo: &str) -> Destination {
        Destination { tracker: TrackerKind::GitHub, place: repo.to_string() }
    }

    pub fn jira(project: &str) -> Destination {
        Destination { tracker: TrackerKind::Jira, place: project.to_string() }
    }
}

/// Everything outside chat the core follows through to; empty by default.
#[derive(Clone, Default)]
pub struct FollowThrough {
    /// The tracker items go to unless a service of their incident names another place.
    pub tracker: Option<Arc<dyn Tracker>>,
    /// The other tracker, when both GitHub and Jira are configured: only items of
    /// services that name a place in it go there.
    pub other_tracker: Option<Arc<dyn Tracker>>,
    pub status_page: Option<Arc<dyn StatusPage>>,
    /// Status page component ids by service name.
    pub components: HashMap<String, String>,
    /// Where a service's action items go instead of the default tracker's default
    /// place, by service name.
    pub destinations: HashMap<String, Destination>,
    pub people: People,
    pub retry: RetryPolicy,
    pub postmortem_repo: Option<Arc<dyn PostmortemRepo>>,
    /// Where a postmortem goes in that repository, with `{date}`, `{id}` and `{slug}`.
    pub postmortem_path: String,
    /// The lease this copy calls out under, if it runs under one: every attempt is then
    /// claimed only while that lease is this copy's (`Db::begin_job_attempt_fenced`),
    /// so a copy that lost it, however late it finds out, calls nothing.
    pub fence: Option<Arc<dyn crate::followup::LeaseFence>>,
}

/// The longest issue title sent, in characters: under both GitHub's (256) and Jira's
/// (255) limits.
pub const MAX_ISSUE_TITLE: usize = 250;

impl FollowThrough {
    /// The configured tracker of `kind`.
    pub fn tracker_of(&self, kind: TrackerKind) -> Option<&Arc<dyn Tracker>> {
        [&self.tracker, &self.other_tracker].into_iter().flatten().find(|t| t.kind() == kind)
    }

    /// Every configured tracker, the default first.
    pub fn trackers(&self) -> impl Iterator<Item = &Arc<dyn Tracker>> {
        [&self.tracker, &self.other_tracker].into_iter().flatten()
    }
}

/// The default `[postmortem_repo] path`.
pub const DEFAULT_POSTMORTEM_PATH: &str = "postmortems/{date}-inc-{id}-{slug}.md";

/// The file a postmortem is written to: `postmortems/2026-03-02-inc-3-checkout-is-failing.md`.
pub fn postmortem_path(template: &str, date: chrono::NaiveDate, id: i64, title: &str) -> String {
    let name = crate::channel_name::channel_name("inc", id, title);
    let slug = name.strip_prefix(&format!("inc-{id}")).unwrap_or_default().trim_start_matches('-');
    let slug = if slug.is_empty() { "incident" } else { slug };
    let template = if template.is_empty() { DEFAULT_POSTMORTEM_PATH } else { template };
    template.replace("{date}", &date.to_string()).replace("{id}", &id.to_string()).replace("{slug}", slug)
}

/// The page status for our status.
pub fn page_status(status: Status) -> PageStatus {
    match status {
        Status::Investigating => PageStatus::Investigating,
        Status::Identified => PageStatus::Identified,
        Status::Monitoring => PageStatus::Monitoring,
        Status::Resolved | Status::Closed => PageStatus::Resolved,
    }
}

/// The page impact for a severity.
pub fn page_impact(severity: Severity) -> PageImpact {
    match severity {
        Severity::Sev1 => PageImpact::Critical,
        Severity::Sev2 => PageImpact::Major,
        Severity::Sev3 => PageImpact::Minor,
        Severity::Sev4 => PageImpact::None,
    }
}

/// The status of an affected component while the incident is open, as the issue asks:
/// "degraded or major outage by severity". Sev1 and sev2 (a core feature down for many)
/// are a major outage, as their page impact is critical or major; sev3 and sev4 are
/// degraded performance.
pub fn component_status(severity: Severity) -> ComponentStatus {
    match severity {
        Severity::Sev1 | Severity::Sev2 => ComponentStatus::MajorOutage,
        Severity::Sev3 | Severity::Sev4 => ComponentStatus::DegradedPerformance,
    }
}

/// A change a tracker reports about one of its issues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueChange {
    Closed,
    Reopened,
    /// The new assignee's tracker identity; `None` when unassigned.
    Assigned(Option<String>),
    Due(chrono::NaiveDate),
}

/// One tracker webhook event, already verified by the adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerEvent {
    pub tracker: TrackerKind,
    pub issue_key: String,
    /// The tracker's delivery id: a second delivery of it is recorded once.
    pub delivery_id: String,
    pub change: IssueChange,
}

/// What applying a tracker event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOutcome {
    Applied,
    /// The item is already as the event says (or the event carries nothing we follow).
    NoChange,
    /// No item is linked to that issue.
    UnknownIssue,
    /// The item's incident belongs to another chat platform's core.
    OtherPlatform,
}

/// What one run of due jobs did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct JobReport {
    pub done: usize,
    pub failed: usize,
}

/// Why one attempt failed.
struct Failure {
    detail: String,
    retryable: bool,
}

impl<E: std::fmt::Display> From<(E, bool)> for Failure {
    fn from((error, retryable): (E, bool)) -> Self {
        Failure { detail: error.to_string(), retryable }
    }
}

fn internal(error: impl std::fmt::Display) -> Failure {
    Failure { detail: error.to_string(), retryable: true }
}

/// How a failure to record a call that succeeded starts, so the next attempt looks for
/// what the call made before making it again.
const UNRECORDED: &str = "the call went through but was not recorded: ";

fn unrecorded(error: impl std::fmt::Display) -> Failure {
    Failure { detail: format!("{UNRECORDED}{error}"), retryable: true }
}

impl Core {
    /// Sets what the core follows through to outside chat. It is set once, at start-up;
    /// a second call is refused and returns false.
    pub fn set_follow_through(&self, follow: FollowThrough) -> bool {
        self.follow.set(follow).is_ok()
    }

    /// What the core follows through to; nothing until [`Core::set_follow_through`].
    pub fn follow(&self) -> &FollowThrough {
        static NOTHING: std::sync::LazyLock<FollowThrough> = std::sync::LazyLock::new(FollowThrough::default);
        self.follow.get().unwrap_or(&NOTHING)
    }

    /// The job a new action item enqueues with itself: an issue, when a tracker is set.
    pub(crate) fn new_item_job(&self) -> Option<&'static str> {
        self.follow().tracker.as_ref().map(|_| TRACKER_CREATE)
    }

    /// The line shown for an item's issue, if it has one.
    pub(crate) async fn issue_line(&self, item_id: i64) -> Result<Option<Line>, Problem> {
        Ok(self.db.tracker_link(item_id).await?.map(|link| {
            Line::new()
                .text(format!("🔗 Action #{item_id} is tracked in {}: ", tracker_label(&link.tracker)))
                .bold(link.issue_key.clone())
                .text(format!(" {}", link.url))
        }))
    }

    /// Queues a sync of an item's issue after a change in chat, and tries it at once.
    pub(crate) async fn queue_issue_sync(&self, item_id: i64, source_id: &SourceId) -> Result<(), Problem> {
        if self.follow().tracker.is_none() {
            return Ok(());
        }
        let job = NewJob {
            kind: TRACKER_SYNC.into(),
            subject: item_id.to_string(),
            period: source_id.to_string(),
            payload: String::new(),
        };
        if self.db.enqueue_job(&job, self.now()).await? {
            self.attempt_now(&job.key()).await;
        }
        Ok(())
    }

    /// Runs a just-enqueued job at once, so the issue or page post usually appears
    /// right away; a failure leaves it to the scheduler.
    pub(crate) async fn attempt_now(&self, key: &str) {
        match self.db.job(key).await {
            Ok(Some(job)) => {
                if let Err(error) = self.attempt(&job, self.now()).await {
                    tracing::warn!(key, %error, "outbound job: first attempt could not run");
                }
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(key, %error, "outbound job: cannot read it"),
        }
    }

    /// Runs every outbound job of this platform's incidents that is due at `now`.
    pub async fn run_due_jobs(&self, now: DateTime<Utc>) -> Result<JobReport, CoreError> {
        let mut report = JobReport::default();
        for job in self.db.due_jobs(now).await? {
            if !self.is_ours(&job).await? {
                continue;
            }
            match self.attempt(&job, now).await? {
                Some(true) => report.done += 1,
                Some(false) => report.failed += 1,
                None => {}
            }
        }
        Ok(report)
    }

    /// When the next outbound job of this platform's incidents is due.
    pub async fn next_job_due(&self) -> Result<Option<DateTime<Utc>>, CoreError> {
        let mut next: Option<DateTime<Utc>> = None;
        let pending = self.db.pending_jobs().await?;
        for job in &pending {
            // A page post waits for the one before it, so only the first of each counts.
            let waits = job.kind == STATUS_POST
                && pending.iter().any(|o| o.kind == STATUS_POST && o.subject == job.subject && o.id < job.id);
            if !waits && self.is_ours(job).await? && next.is_none_or(|n| job.next_attempt_at < n) {
                next = Some(job.next_attempt_at);
            }
        }
        Ok(next)
    }

    /// The incident a job is about.
    async fn job_incident(&self, job: &Job) -> Result<Option<Incident>, CoreError> {
        let Ok(id) = job.subject.parse::<i64>() else {
            return Ok(None);
        };
        let incident_id = match job.kind.as_str() {
            TRACKER_CREATE | TRACKER_SYNC => match self.db.action(id).await? {
                Some(item) => item.incident_id,
                None => return Ok(None),
            },
            _ => id,
        };
        Ok(self.db.incident(incident_id).await?)
    }

    async fn is_ours(&self, job: &Job) -> Result<bool, CoreError> {
        Ok(self.job_incident(job).await?.is_some_and(|i| i.platform == self.chat.platform()))
    }

    /// One attempt at a job, if this caller gets to claim it. `Some(true)` when it
    /// succeeded, `Some(false)` when it failed and waits for its next attempt.
    async fn attempt(&self, job: &Job, now: DateTime<Utc>) -> Result<Option<bool>, CoreError> {
        if job.kind == STATUS_POST && self.earlier_post_pending(job).await? {
            // Page posts go out in the order they were typed.
            return Ok(None);
        }
        let hold_until = now + self.follow().retry.hold;
        let claimed = match &self.follow().fence {
            None => self.db.begin_job_attempt(&job.key, now, hold_until).await?,
            Some(fence) => match fence.current() {
                // No lease held: nothing may be attempted.
                None => None,
                Some((lease, token)) => {
                    self.db.begin_job_attempt_fenced(&job.key, now, hold_until, lease, token).await?
                }
            },
        };
        let Some(start) = claimed else {
            return Ok(None);
        };
        // The last call may have gone through: it never reported back, or it did and
        // recording its answer failed.
        let look_first = start.earlier_outcome_unknown
            || job.last_error.as_deref().is_some_and(|error| error.starts_with(UNRECORDED));
        let result = match job.kind.as_str() {
            TRACKER_CREATE => self.create_issue(job, look_first).await,
            TRACKER_SYNC => self.sync_issue(job).await,
            STATUS_POST => self.publish(job, look_first).await,
            POSTMORTEM_PR => self.open_postmortem_pr(job).await,
            POSTMORTEM_FIX => self.correct_postmortem_pr(job).await,
            other => Err(Failure { detail: format!("unknown job kind `{other}`"), retryable: false }),
        };
        match result {
            Ok(()) => {
                self.db.finish_job(&job.key, self.now()).await?;
                Ok(Some(true))
            }
            Err(failure) => {
                let failures = u32::try_from(job.attempts + 1).unwrap_or(u32::MAX);
                // A refusal (bad token, unknown repository) is not fixed by retrying soon,
                // but it may be fixed by the operator: it waits the longest pause.
                let pause = if failure.retryable {
                    self.follow().retry.pause_after(failures)
                } else {
                    self.follow().retry.longest
                };
                tracing::warn!(key = job.key, attempt = failures, error = failure.detail, "outbound job failed");
                self.db.fail_job(&job.key, &failure.detail, self.now() + pause).await?;
                if failures >= self.follow().retry.tell_after || !failure.retryable {
                    self.tell_about_failure(job, &failure, failures).await?;
                }
                Ok(Some(false))
            }
        }
    }

    /// Tells the owner (an item's issue) or the incident channel (a page post), once
    /// per job, that it keeps failing.
    async fn tell_about_failure(&self, job: &Job, failure: &Failure, failures: u32) -> Result<(), CoreError> {
        let key = DeliveryKey::new(DeliveryKind::FollowThroughFailure, &job.key, "told");
        if !self.db.claim_delivery(&key, self.now()).await? {
            return Ok(());
        }
        let attempts = if failures == 1 { "1 attempt".to_string() } else { format!("{failures} attempts") };
        let sent = match job.kind.as_str() {
            TRACKER_CREATE | TRACKER_SYNC => {
                let Some(item) = self.db.action(job.subject.parse().unwrap_or_default()).await? else {
                    return Ok(());
                };
                let tracker = match self.item_tracker(&item).await {
                    Ok(Some(tracker)) => tracker.kind().label(),
                    _ => "the tracker",
                };
                let what = if job.kind == TRACKER_CREATE { "open its issue" } else { "update its issue" };
                let message = Message::new()
                    .line(Line::new().text(format!(
                        "⚠️ Action #{} ({}): I could not {what} in {tracker} after {attempts}: {}.",
                        item.id, item.text, failure.detail
                    )))
                    .line(Line::new().text("The item is saved here, and I keep trying."));
                self.chat.send_dm(&item.owner, &message).await.map(|_| ())
            }
            _ => {
                let Some(incident) = self.job_incident(job).await? else {
                    return Ok(());
                };
                let what = if job.kind == STATUS_POST {
                    "The status page did not take a public update of"
                } else {
                    "The postmortem repository did not take the postmortem of"
                };
                let message = Message::new().line(Line::new().text(format!(
                    "⚠️ {what} {} after {attempts}: {}. I keep trying.",
                    incident.reference(),
                    failure.detail
                )));
                match incident.channel_id.as_ref() {
                    Some(channel) => self.chat.post(channel, &message).await.map(|_| ()),
                    None => Ok(()),
                }
            }
        };
        self.db.record_attempt(&key, self.now(), sent.as_ref().err().map(|e| e.to_string()).as_deref()).await?;
        if let Err(error) = sent {
            tracing::warn!(%error, "could not tell about a failing outbound job");
        }
        Ok(())
    }

    /// The incident's web page, when `[web] public_url` says where the pages live: the
    /// same setting the web pages and chat links use.
    fn incident_web_page(&self, incident: &Incident) -> Option<String> {
        self.settings.page_url(&format!("/incidents/{}", incident.id))
    }

    /// The issue a new item opens.
    async fn issue_draft(
        &self,
        tracker: &dyn Tracker,
        item: &ActionItem,
        incident: &Incident,
    ) -> Result<IssueDraft, Failure> {
        let incident_name = format!("{}: {}", incident.reference(), incident.title);
        let incident_piece = match self.incident_web_page(incident) {
            Some(url) => BodyPiece::Link { text: incident_name, url },
            None => BodyPiece::Text(incident_name),
        };
        let assignee = self.follow().people.tracker_id(tracker.kind(), &item.owner);
        let mut body = vec![
            vec![BodyPiece::Text("Action item from incident ".into()), incident_piece, BodyPiece::Text(".".into())],
            vec![
                BodyPiece::Bold("Kind: ".into()),
                BodyPiece::Text(format!("{} · ", item.kind)),
                BodyPiece::Bold("Priority: ".into()),
                BodyPiece::Text(format!("{} · ", item.priority)),
                BodyPiece::Bold("Due: ".into()),
                BodyPiece::Text(item.due.to_string()),
            ],
            vec![BodyPiece::Bold("Owner in chat: ".into()), BodyPiece::Text(format!("@{}", item.owner))],
        ];
        if let Some(tag) = &item.addresses {
            body.push(vec![BodyPiece::Bold("Addresses: ".into()), BodyPiece::Text(tag.clone())]);
        }
        if let Ok(Some(postmortem)) = self.db.postmortem(incident.id).await {
            if let Some(lessons) = postmortem.get(storage::PostmortemField::Lessons) {
                body.push(vec![
                    BodyPiece::Bold("Lessons from the postmortem: ".into()),
                    BodyPiece::Text(lessons.into()),
                ]);
            }
        }
        let marker = format!("incidentbot action #{}", item.id);
        body.push(vec![BodyPiece::Text(marker.clone())]);
        // GitHub titles stop at 256 characters and Jira summaries at 255; an item may be
        // longer, so the title is cut and the body carries the whole text.
        let (title, cut) = crate::format::truncate(&item.text, MAX_ISSUE_TITLE);
        if cut {
            body.insert(1, vec![BodyPiece::Bold("The item in full: ".into()), BodyPiece::Text(item.text.clone())]);
        }
        let destination = self
            .destination(incident)
            .await
            .map_err(internal)?
            .filter(|d| d.tracker == tracker.kind())
            .map(|d| d.place);
        Ok(IssueDraft { title, body, assignee, due: item.due, marker, destination })
    }

    /// Where an incident's action items go: the place of the first of its services (by
    /// name) that names one in a configured tracker; `None` for the default tracker's
    /// default place.
    async fn destination(&self, incident: &Incident) -> Result<Option<Destination>, storage::StorageError> {
        let destinations = &self.follow().destinations;
        if destinations.is_empty() {
            return Ok(None);
        }
        let services = self.db.attached(storage::Attachment::Service, incident.id).await?;
        Ok(services
            .iter()
            .filter_map(|service| destinations.get(service))
            .find(|d| self.follow().tracker_of(d.tracker).is_some())
            .cloned())
    }

    /// The tracker an item's issue lives in: its link's, or else where a new issue of
    /// its incident goes.
    async fn item_tracker(&self, item: &ActionItem) -> Result<Option<Arc<dyn Tracker>>, storage::StorageError> {
        if let Some(link) = self.db.tracker_link(item.id).await? {
            return Ok(TrackerKind::from_stored(&link.tracker)
                .and_then(|kind| self.follow().tracker_of(kind))
                .cloned());
        }
        let Some(incident) = self.db.incident(item.incident_id).await? else {
            return Ok(None);
        };
        self.new_issue_tracker(&incident).await
    }

    /// The tracker a new issue of `incident` opens in.
    async fn new_issue_tracker(&self, incident: &Incident) -> Result<Option<Arc<dyn Tracker>>, storage::StorageError> {
        let routed = self.destination(incident).await?.and_then(|d| self.follow().tracker_of(d.tracker).cloned());
        Ok(routed.or_else(|| self.follow().tracker.clone()))
    }

    /// Opens the item's issue. After an attempt whose outcome is unknown, the tracker
    /// is first asked for an issue carrying the item's marker, so a call that went
    /// through before a crash is not made twice.
    async fn create_issue(&self, job: &Job, look_first: bool) -> Result<(), Failure> {
        let id: i64 = job.subject.parse().map_err(internal)?;
        let Some(item) = self.db.action(id).await.map_err(internal)? else {
            return Ok(());
        };
        if self.db.tracker_link(id).await.map_err(internal)?.is_some() {
            // Linked by hand meanwhile.
            return Ok(());
        }
        let Some(incident) = self.db.incident(item.incident_id).await.map_err(internal)? else {
            return Ok(());
        };
        let Some(tracker) = self.new_issue_tracker(&incident).await.map_err(internal)? else {
            return Err(Failure { detail: "no tracker is configured".into(), retryable: false });
        };
        let draft = self.issue_draft(tracker.as_ref(), &item, &incident).await?;
        let found = if look_first {
            tracker
                .find_issue(&draft.marker, draft.destination.as_deref())
                .await
                .map_err(|e| Failure::from((&e, e.retryable)))?
        } else {
            None
        };
        let issue = match found {
            Some(issue) => {
                tracing::info!(item = id, issue = issue.key, "found the issue an interrupted attempt opened");
                issue
            }
            None => tracker.create_issue(&draft).await.map_err(|e| Failure::from((&e, e.retryable)))?,
        };
        let link = TrackerLink {
            action_item_id: id,
            tracker: tracker.kind().as_str().to_string(),
            issue_key: issue.key.clone(),
            url: issue.url.clone(),
            linked_at: self.now(),
        };
        self.db.link_tracker_issue(&link).await.map_err(unrecorded)?;
        if let Ok(Some(line)) = self.issue_line(id).await {
            self.post_to_incident(&incident, &Message::new().line(line)).await;
        }
        // The item may have moved on while the issue was being opened.
        let current = self.db.action(id).await.map_err(internal)?;
        if current.is_some_and(|c| c.status != ActionStatus::Open || c.owner != item.owner || c.due != item.due) {
            let sync = NewJob {
                kind: TRACKER_SYNC.into(),
                subject: id.to_string(),
                period: "after-create".into(),
                payload: String::new(),
            };
            self.db.enqueue_job(&sync, self.now()).await.map_err(internal)?;
        }
        Ok(())
    }

    async fn sync_issue(&self, job: &Job) -> Result<(), Failure> {
        let id: i64 = job.subject.parse().map_err(internal)?;
        let (Some(item), Some(link)) =
            (self.db.action(id).await.map_err(internal)?, self.db.tracker_link(id).await.map_err(internal)?)
        else {
            // No issue yet: its creation carries the item's state when it runs.
            return Ok(());
        };
        // An issue of a tracker no longer configured is left alone.
        let Some(tracker) = TrackerKind::from_stored(&link.tracker).and_then(|k| self.follow().tracker_of(k)).cloned()
        else {
            return Ok(());
        };
        let state = IssueState {
            open: item.status == ActionStatus::Open,
            assignee: self.follow().people.tracker_id(tracker.kind(), &item.owner),
            due: item.due,
        };
        tracker.sync_issue(&link.issue_key, &state).await.map_err(|e| Failure::from((&e, e.retryable)))
    }

    /// `/incident action link <id> <url-or-key>`.
    pub(crate) async fn link_action(&self, inv: &Invocation, id: i64, reference: String) -> Result<Outcome, Problem> {
        if self.follow().tracker.is_none() {
            return Err(refused("No tracker is configured; add [trackers.github] or [trackers.jira] to the config."));
        }
        let item = self.db.action(id).await?.ok_or_else(|| {
            Problem::Usage(UsageError {
                problem: format!("Action item #{id} does not exist."),
                usage: usage::ACTION_LINK,
            })
        })?;
        let incident = self.target_incident(inv, Some(item.incident_id), usage::ACTION_LINK).await?;
        permissions::require(Act::LinkAction(&item), &inv.user, &incident, &self.settings)?;
        let shown = crate::format::truncate(&reference, 80).0;
        let parsed =
            self.follow().trackers().find_map(|t| t.parse_reference(&reference).map(|issue| (t.kind(), issue)));
        let Some((kind, issue)) = parsed else {
            let labels: Vec<&str> = self.follow().trackers().map(|t| t.kind().label()).collect();
            return Err(Problem::Usage(UsageError {
                problem: format!("`{shown}` is not a {} issue URL or key.", labels.join(" or ")),
                usage: usage::ACTION_LINK,
            }));
        };
        let link = TrackerLink {
            action_item_id: id,
            tracker: kind.as_str().to_string(),
            issue_key: issue.key.clone(),
            url: issue.url.clone(),
            linked_at: self.now(),
        };
        match self.db.link_tracker_issue(&link).await? {
            storage::LinkOutcome::Linked => {}
            storage::LinkOutcome::ItemLinked => {
                let existing = self.db.tracker_link(id).await?;
                if existing.as_ref().is_some_and(|l| l.issue_key == issue.key) {
                    // A retried request, or the same link typed again.
                    return Ok(Outcome::silent());
                }
                let key = existing.map(|l| l.issue_key).unwrap_or_default();
                return Err(refused(format!("Action item #{id} is already linked to {key}.")));
            }
            storage::LinkOutcome::IssueTaken => {
                return Err(refused(format!("{} is already linked to another action item.", issue.key)));
            }
        }
        let entry = self.entry_for(inv, &incident, EntryKind::Action, format!("Action #{id} linked to {}", issue.key));
        self.db.add_entry(&entry, false).await?;
        if let Some(line) = self.issue_line(id).await? {
            self.post_to_incident(&incident, &Message::new().line(line)).await;
        }
        Ok(self.confirm(inv, &incident, format!("action #{id} is linked to {}.", issue.key)))
    }

    /// Applies a change a tracker reported about one of its issues, as the tracker's
    /// system actor. A second delivery of the same event changes nothing.
    pub async fn apply_tracker_event(&self, event: &TrackerEvent) -> Result<EventOutcome, CoreError> {
        let Some(link) = self.db.tracker_link_by_issue(event.tracker.as_str(), &event.issue_key).await? else {
            tracing::debug!(
                tracker = event.tracker.as_str(),
                issue = event.issue_key,
                "event about an unknown issue ignored"
            );
            return Ok(EventOutcome::UnknownIssue);
        };
        let Some(item) = self.db.action(link.action_item_id).await? else {
            return Ok(EventOutcome::UnknownIssue);
        };
        let Some(incident) = self.db.incident(item.incident_id).await? else {
            return Ok(EventOutcome::UnknownIssue);
        };
        if incident.platform != self.chat.platform() {
            return Ok(EventOutcome::OtherPlatform);
        }
        let label = event.tracker.label();
        let source_id = SourceId::from(format!("tracker:{}:{}", event.tracker.as_str(), event.delivery_id).as_str());
        let entry = |text: String| NewEntry {
            incident_id: incident.id,
            source_id: source_id.clone(),
            at: self.now(),
            kind: EntryKind::Action,
            author: Actor::System(SystemSource::Tracker).stored_id(),
            text,
            is_key: false,
        };
        let id = item.id;
        let (saved, said) = match &event.change {
            IssueChange::Closed => {
                if item.status != ActionStatus::Open {
                    return Ok(EventOutcome::NoChange);
                }
                let text = format!("Action #{id} done: {} (closed in {label}, {})", item.text, link.issue_key);
                let saved = self
                    .db
                    .set_action_status(id, ActionStatus::Open, ActionStatus::Done, self.now(), &entry(text))
                    .await?;
                (saved, format!("✔️ done: {} (closed in {label}: {})", item.text, link.issue_key))
            }
            IssueChange::Reopened => {
                if item.status == ActionStatus::Open {
                    return Ok(EventOutcome::NoChange);
                }
                let text = format!("Action #{id} reopened in {label} ({})", link.issue_key);
                let saved =
                    self.db.set_action_status(id, item.status, ActionStatus::Open, self.now(), &entry(text)).await?;
                (saved, format!("reopened: {} (reopened in {label}: {})", item.text, link.issue_key))
            }
            IssueChange::Assigned(login) => {
                let Some(owner) = login.as_deref().and_then(|l| self.follow().people.chat_id(event.tracker, l)) else {
                    tracing::debug!(issue = event.issue_key, "assignee has no chat id in [people]; owner kept");
                    return Ok(EventOutcome::NoChange);
                };
                if item.status != ActionStatus::Open || owner == item.owner {
                    return Ok(EventOutcome::NoChange);
                }
                let text = format!("Action #{id} reassigned from @{} to @{owner} in {label}", item.owner);
                let saved = self
                    .db
                    .change_open_action(id, &ActionChange::Reassign { owner: owner.clone() }, &entry(text))
                    .await?;
                (saved, format!("now owned by @{owner} (assigned in {label}: {})", link.issue_key))
            }
            IssueChange::Due(due) => {
                if item.status != ActionStatus::Open || *due == item.due {
                    return Ok(EventOutcome::NoChange);
                }
                let text = format!("Action #{id} due date moved from {} to {due} in {label}", item.due);
                let saved = self.db.change_open_action(id, &ActionChange::Redate { due: *due }, &entry(text)).await?;
                (saved, format!("now due {due} (changed in {label}: {})", link.issue_key))
            }
        };
        if saved != Saved::Written {
            return Ok(EventOutcome::NoChange);
        }
        self.post_to_incident(
            &incident,
            &Message::new().line(Line::new().text("Action ").bold(format!("#{id}")).text(format!(" {said}"))),
        )
        .await;
        Ok(EventOutcome::Applied)
    }

    /// Queues a public update typed with `/incident public`, and tries it at once.
    pub(crate) async fn queue_public_update(
        &self,
        incident: &Incident,
        source_id: &SourceId,
        text: &str,
    ) -> Result<(), Problem> {
        let payload = serde_json::json!({ "text": text, "resolve": false }).to_string();
        let job = NewJob {
            kind: STATUS_POST.into(),
            subject: incident.id.to_string(),
            period: source_id.to_string(),
            payload,
        };
        if self.db.enqueue_job(&job, self.now()).await? {
            self.attempt_now(&job.key()).await;
        }
        Ok(())
    }

    /// After a resolve: the page incident is resolved too, if anything was published.
    pub(crate) async fn queue_public_resolution(
        &self,
        incident: &Incident,
        source_id: &SourceId,
    ) -> Result<(), Problem> {
        if self.follow().status_page.is_none()
            || self.db.jobs_about(STATUS_POST, &incident.id.to_string()).await?.is_empty()
        {
            return Ok(());
        }
        let payload = serde_json::json!({ "text": "This incident has been resolved.", "resolve": true }).to_string();
        let job = NewJob {
            kind: STATUS_POST.into(),
            subject: incident.id.to_string(),
            period: source_id.derived("resolved").to_string(),
            payload,
        };
        if self.db.enqueue_job(&job, self.now()).await? {
            self.attempt_now(&job.key()).await;
        }
        Ok(())
    }

    async fn earlier_post_pending(&self, job: &Job) -> Result<bool, CoreError> {
        Ok(self
            .db
            .jobs_about(STATUS_POST, &job.subject)
            .await?
            .iter()
            .any(|other| other.id < job.id && other.done_at.is_none()))
    }

    /// The post a page update makes: our status and severity mapped to the page's.
    pub fn page_post(&self, incident: &Incident, text: &str, resolve: bool, services: &[String]) -> PagePost {
        let status = if resolve { PageStatus::Resolved } else { page_status(incident.status) };
        let component = if resolve { ComponentStatus::Operational } else { component_status(incident.severity) };
        PagePost {
            name: incident.title.clone(),
            status,
            body: text.to_string(),
            impact: page_impact(incident.severity),
            components: services
                .iter()
                .filter_map(|service| self.follow().components.get(service).map(|id| (id.clone(), component)))
                .collect(),
            marker: incident.reference(),
        }
    }

    /// Posts one public update. After an attempt whose outcome is unknown, the page is
    /// asked first: for an unresolved incident carrying our marker, so a create that went
    /// through before a crash is recorded instead of made twice, or for the page incident's
    /// newest update, so an update that went through is not posted twice.
    async fn publish(&self, job: &Job, look_first: bool) -> Result<(), Failure> {
        let Some(page) = self.follow().status_page.clone() else {
            return Err(Failure { detail: "no status page is configured".into(), retryable: false });
        };
        let incident_id: i64 = job.subject.parse().map_err(internal)?;
        let Some(incident) = self.db.incident(incident_id).await.map_err(internal)? else {
            return Ok(());
        };
        let payload: serde_json::Value = serde_json::from_str(&job.payload).map_err(internal)?;
        let text = payload["text"].as_str().unwrap_or_default();
        let resolve = payload["resolve"].as_bool().unwrap_or(false);
        // The incident's catalog services name the components it affects.
        let services = self.db.attached(storage::Attachment::Service, incident_id).await.map_err(internal)?;
        let post = self.page_post(&incident, text, resolve, &services);
        match self.db.status_page_incident(incident_id).await.map_err(internal)? {
            Some(page_id) => {
                if look_first
                    && page.has_latest_update(&page_id, &post).await.map_err(|e| Failure::from((&e, e.retryable)))?
                {
                    // The interrupted update went through: readers saw it once.
                    tracing::info!(incident = incident_id, page_id, "found the update an interrupted attempt posted");
                    return Ok(());
                }
                page.update_incident(&page_id, &post).await.map_err(|e| Failure::from((&e, e.retryable)))
            }
            None => {
                let found = if look_first {
                    page.find_incident(&post.marker).await.map_err(|e| Failure::from((&e, e.retryable)))?
                } else {
                    None
                };
                if let Some(page_id) = found {
                    // The interrupted create carried this very post.
                    tracing::info!(
                        incident = incident_id,
                        page_id,
                        "found the page incident an interrupted attempt created"
                    );
                    return self
                        .db
                        .set_status_page_incident(incident_id, &page_id, self.now())
                        .await
                        .map_err(unrecorded);
                }
                let page_id = page.create_incident(&post).await.map_err(|e| Failure::from((&e, e.retryable)))?;
                self.db.set_status_page_incident(incident_id, &page_id, self.now()).await.map_err(unrecorded)
            }
        }
    }
}

impl Core {
    /// On close: the postmortem goes to the repository as a pull request, once.
    pub(crate) async fn queue_postmortem_pr(&self, incident: &Incident) -> Result<(), Problem> {
        if self.follow().postmortem_repo.is_none() {
            return Ok(());
        }
        self.enqueue_and_try(POSTMORTEM_PR, incident.id, "opened").await
    }

    /// After a correction to a closed postmortem: the open pull request is updated, or a
    /// follow-up is opened once the first merged.
    pub(crate) async fn queue_postmortem_fix(&self, incident: &Incident, source_id: &SourceId) -> Result<(), Problem> {
        if self.follow().postmortem_repo.is_none() {
            return Ok(());
        }
        self.enqueue_and_try(POSTMORTEM_FIX, incident.id, source_id.as_str()).await
    }

    async fn enqueue_and_try(&self, kind: &str, subject: i64, period: &str) -> Result<(), Problem> {
        let job =
            NewJob { kind: kind.into(), subject: subject.to_string(), period: period.into(), payload: String::new() };
        if self.db.enqueue_job(&job, self.now()).await? {
            self.attempt_now(&job.key()).await;
        }
        Ok(())
    }

    /// The file holding an incident's postmortem export, as it is now.
    async fn postmortem_file(
        &self,
        incident: &Incident,
        branch: String,
        path: Option<String>,
    ) -> Result<ProposedFile, Failure> {
        let record = crate::export::IncidentRecord::load(&self.db, incident.id)
            .await
            .map_err(internal)?
            .ok_or_else(|| Failure { detail: "the incident is gone".into(), retryable: false })?;
        let tz = self.settings.timezone;
        let date = incident.closed_at.unwrap_or(incident.declared_at).with_timezone(&tz).date_naive();
        let path =
            path.unwrap_or_else(|| postmortem_path(&self.follow().postmortem_path, date, incident.id, &incident.title));
        Ok(ProposedFile {
            branch,
            path,
            content: record.to_markdown(tz),
            message: format!("Postmortem {}: {}", incident.reference(), incident.title),
        })
    }

    async fn open_postmortem_pr(&self, job: &Job) -> Result<(), Failure> {
        let Some(repo) = self.follow().postmortem_repo.clone() else {
            return Err(Failure { detail: "no postmortem repository is configured".into(), retryable: false });
        };
        let id: i64 = job.subject.parse().map_err(internal)?;
        let Some(incident) = self.db.incident(id).await.map_err(internal)? else {
            return Ok(());
        };
        if !self.db.postmortem_prs(id).await.map_err(internal)?.is_empty() {
            return Ok(());
        }
        let file = self.postmortem_file(&incident, format!("incidentbot/inc-{id}-postmortem"), None).await?;
        let title = format!("Postmortem {}: {}", incident.reference(), incident.title);
        let mut body = format!(
            "The blameless postmortem of {} ({}, {}), exported by incidentbot when the incident closed.",
            incident.reference(),
            incident.severity,
            incident.title
        );
        if let Some(page) = self.incident_web_page(&incident) {
            body.push_str(&format!("\n\nThe incident's page: {page}"));
        }
        let pr = repo.open_pull_request(&file, &title, &body).await.map_err(|e| Failure::from((&e, e.retryable)))?;
        self.record_pr(&incident, &file, &pr).await?;
        self.post_to_incident(
            &incident,
            &Message::new().line(
                Line::new()
                    .text("📘 The postmortem of ")
                    .bold(incident.reference())
                    .text(format!(" is up for review: {}", pr.url)),
            ),
        )
        .await;
        Ok(())
    }

    async fn record_pr(
        &self,
        incident: &Incident,
        file: &ProposedFile,
        pr: &crate::postmortem_repo::PullRequest,
    ) -> Result<(), Failure> {
        let stored = storage::PostmortemPr {
            incident_id: incident.id,
            number: pr.number,
            branch: file.branch.clone(),
            path: file.path.clone(),
            url: pr.url.clone(),
            merged: false,
            opened_at: self.now(),
        };
        self.db.add_postmortem_pr(&stored).await.map_err(internal)
    }

    async fn correct_postmortem_pr(&self, job: &Job) -> Result<(), Failure> {
        let Some(repo) = self.follow().postmortem_repo.clone() else {
            return Err(Failure { detail: "no postmortem repository is configured".into(), retryable: false });
        };
        let id: i64 = job.subject.parse().map_err(internal)?;
        let Some(incident) = self.db.incident(id).await.map_err(internal)? else {
            return Ok(());
        };
        let prs = self.db.postmortem_prs(id).await.map_err(internal)?;
        let Some(last) = prs.last() else {
            // Not opened yet: when it opens, it carries the correction.
            return Ok(());
        };
        let merged = last.merged || repo.is_merged(last.number).await.map_err(|e| Failure::from((&e, e.retryable)))?;
        if !merged {
            let file = self.postmortem_file(&incident, last.branch.clone(), Some(last.path.clone())).await?;
            let file = ProposedFile { message: format!("Postmortem {}: correction", incident.reference()), ..file };
            repo.update_file(&file).await.map_err(|e| Failure::from((&e, e.retryable)))?;
            self.post_to_incident(
                &incident,
                &Message::new()
                    .line(Line::new().text(format!("📘 The correction is on the open pull request: {}", last.url))),
            )
            .await;
            return Ok(());
        }
        self.db.mark_postmortem_pr_merged(id, last.number).await.map_err(internal)?;
        // Named by how many came before, so a retry after a crash finds the same branch.
        let branch = format!("incidentbot/inc-{id}-postmortem-{}", prs.len() + 1);
        let file = self.postmortem_file(&incident, branch, Some(last.path.clone())).await?;
        let file = ProposedFile { message: format!("Postmortem {}: correction", incident.reference()), ..file };
        let title = format!("Postmortem {}: correction", incident.reference());
        let body = format!("A correction to the postmortem of {}, after {} merged.", incident.reference(), last.url);
        let pr = repo.open_pull_request(&file, &title, &body).await.map_err(|e| Failure::from((&e, e.retryable)))?;
        self.record_pr(&incident, &file, &pr).await?;
        self.post_to_incident(
            &incident,
            &Message::new().line(Line::new().text(format!("📘 The correction is up for review: {}", pr.url))),
        )
        .await;
        Ok(())
    }
}

fn tracker_label(stored: &str) -> &'static str {
    match stored {
        "jira" => "Jira",
        _ => "GitHub",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_longest_pause() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.pause_after(1), Duration::seconds(30));
        assert_eq!(policy.pause_after(2), Duration::seconds(60));
        assert_eq!(policy.pause_after(4), Duration::seconds(240));
        assert_eq!(policy.pause_after(40), Duration::hours(1));
    }

    #[test]
    fn severity_and_status_map_to_the_page() {
        assert_eq!(page_impact(Severity::Sev1), PageImpact::Critical);
        assert_eq!(page_impact(Severity::Sev4), PageImpact::None);
        assert_eq!(component_status(Severity::Sev1), ComponentStatus::MajorOutage);
        assert_eq!(component_status(Severity::Sev2), ComponentStatus::MajorOutage);
        assert_eq!(component_status(Severity::Sev3), ComponentStatus::DegradedPerformance);
        assert_eq!(page_status(Status::Monitoring), PageStatus::Monitoring);
        assert_eq!(page_status(Status::Closed), PageStatus::Resolved);
    }

    #[test]
    fn postmortem_paths_fill_the_template() {
        let date = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        assert_eq!(
            postmortem_path(DEFAULT_POSTMORTEM_PATH, date, 3, "Paiement échoué!"),
            "postmortems/2026-03-02-inc-3-paiement-echoue.md"
        );
        assert_eq!(postmortem_path("pm/{id}.md", date, 3, "x"), "pm/3.md");
        assert_eq!(postmortem_path("", date, 4, "!!! ???"), "postmortems/2026-03-02-inc-4-incident.md");
    }

    #[test]
    fn people_map_both_ways() {
        let people = People::new(HashMap::from([(
            "U1".to_string(),
            PersonIds { github: Some("Alice-GH".into()), jira: Some("5b10ac".into()) },
        )]));
        assert_eq!(people.tracker_id(TrackerKind::GitHub, "U1").as_deref(), Some("Alice-GH"));
        assert_eq!(people.chat_id(TrackerKind::GitHub, "alice-gh").as_deref(), Some("U1"));
        assert_eq!(people.chat_id(TrackerKind::Jira, "5b10ac").as_deref(), Some("U1"));
        assert_eq!(people.tracker_id(TrackerKind::Jira, "U2"), None);
    }
}
