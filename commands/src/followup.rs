//! Follow-through: what is due and what to say. Overdue action-item reminders (with
//! escalation), postmortem nudges, status-update nudges, the weekly digest, and the
//! archiving of closed incidents' channels.
//!
//! Every delivery has an idempotency key (kind, subject, local period) that is claimed
//! in SQLite before sending, so restarts, overlapping ticks or two runners never send
//! anything twice. The loop that calls [`Followups::tick`] lives in the bot; the console
//! calls it while `:advance` moves the clock.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use storage::{
    ActionFilter, ActionItem, ChannelId, DeliveryKey, DeliveryKind, EntryKind, Incident, Platform, Severity, Status,
};

use crate::action_cmds::days_word;
use crate::chat::ChatError;
use crate::core::Core;
use crate::error::CoreError;
use crate::message::{ButtonAction, Line, Message};
use crate::schedule::CronSchedule;
use crate::{digest, drill, postmortem};

/// How follow-ups behave; built from the config's `[schedules]` and channels.
#[derive(Debug, Clone)]
pub struct FollowupSettings {
    /// When overdue reminders and postmortem nudges go out.
    pub reminders: CronSchedule,
    /// When the weekly digest is posted.
    pub digest: CronSchedule,
    /// Missed runs younger than this are delivered once after downtime; older ones are skipped.
    pub grace: Duration,
    /// Reminders about one item before its incident's commander is told too.
    pub escalate_after: u32,
    /// Business days after resolution before the commander is nudged about the postmortem.
    pub postmortem_nudge_days: u32,
    pub sev1_quiet: Duration,
    pub sev2_quiet: Duration,
    pub followups_channel: Option<ChannelId>,
    pub digest_channel: Option<ChannelId>,
    /// Attempts per delivery before giving up, and the first pause between them (doubling).
    pub attempts: u32,
    pub backoff: std::time::Duration,
    /// How long after an incident closes its channel is archived; `None` never.
    pub archive_after: Option<Duration>,
}

impl FollowupSettings {
    /// The documented defaults, in `tz`.
    pub fn defaults(tz: chrono_tz::Tz) -> Result<FollowupSettings, crate::schedule::ScheduleError> {
        Ok(FollowupSettings {
            reminders: CronSchedule::parse("0 9 * * 1-5", tz)?,
            digest: CronSchedule::parse("0 9 * * 1", tz)?,
            grace: Duration::hours(24),
            escalate_after: 3,
            postmortem_nudge_days: 2,
            sev1_quiet: Duration::minutes(30),
            sev2_quiet: Duration::minutes(60),
            followups_channel: None,
            digest_channel: None,
            attempts: 4,
            backoff: std::time::Duration::from_secs(2),
            archive_after: None,
        })
    }
}

/// Where a delivery goes.
#[derive(Debug, Clone)]
enum Target {
    Dm(String),
    Channel(ChannelId),
    /// The message goes to the channel, which is then archived.
    ArchiveChannel(ChannelId),
}

/// One claimed delivery waiting to be sent.
struct Pending {
    key: DeliveryKey,
    target: Target,
    message: Message,
}

/// What one tick did, for logs and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TickReport {
    pub sent: usize,
    pub failed: usize,
    /// Scheduled runs merged into one delivery after downtime.
    pub merged: usize,
    /// Scheduled runs skipped because they were older than the grace window.
    pub skipped: usize,
    /// Outbound jobs (tracker issues, status page posts) that succeeded or failed.
    pub jobs: crate::follow_through::JobReport,
}

/// Follow-ups for one chat platform: its incidents' items, its channels.
pub struct Followups {
    core: Arc<Core>,
    settings: FollowupSettings,
    fence: Option<Arc<dyn LeaseFence>>,
}

/// Which lease the scheduler runs under. With one, every delivery is claimed only while
/// that lease is unexpired with this copy's fencing token (`Db::claim_delivery_fenced`),
/// so a copy that lost its lease, however late it finds out, claims and sends nothing.
pub trait LeaseFence: Send + Sync {
    /// The lease's name and the token of this copy's holding; `None` while it holds none.
    fn current(&self) -> Option<(&'static str, storage::Fence)>;
}

/// The one archive of an incident's channel.
fn archive_key(incident: &Incident) -> DeliveryKey {
    DeliveryKey::new(DeliveryKind::ChannelArchive, incident.id, "closed")
}

/// Weekdays from `from` (exclusive) to `to` (inclusive).
pub fn business_days_between(from: NaiveDate, to: NaiveDate) -> i64 {
    let mut days = 0;
    let mut day = from;
    while day < to {
        day = day.succ_opt().unwrap_or(day);
        if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            days += 1;
        }
        if day == NaiveDate::MAX {
            break;
        }
    }
    days
}

impl Followups {
    pub fn new(core: Arc<Core>, settings: FollowupSettings) -> Self {
        Followups { core, settings, fence: None }
    }

    /// Claims every delivery under `fence` (see [`LeaseFence`]).
    pub fn fenced_by(mut self, fence: Arc<dyn LeaseFence>) -> Self {
        self.fence = Some(fence);
        self
    }

    pub fn settings(&self) -> &FollowupSettings {
        &self.settings
    }

    fn platform(&self) -> Platform {
        self.core.chat.platform()
    }

    fn job(&self, name: &str) -> String {
        format!("{name}:{}", self.platform())
    }

    fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.core.settings.timezone).date_naive()
    }

    /// Runs everything due at `now`: scheduled jobs whose firing passed since their last
    /// run (after downtime, merged into one delivery if within the grace window), and
    /// status-update nudges.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<TickReport, CoreError> {
        let mut report = TickReport::default();
        for (name, schedule) in [("reminders", &self.settings.reminders), ("digest", &self.settings.digest)] {
            let job = self.job(name);
            let Some(last) = self.core.db.last_run(&job).await? else {
                // First start: begin from now rather than replaying the past.
                self.core.db.set_last_run(&job, now).await?;
                continue;
            };
            let fires = schedule.fires_between(last, now, 1000);
            if let Some(&latest) = fires.last() {
                if now - latest <= self.settings.grace {
                    if fires.len() > 1 {
                        tracing::info!(job, missed = fires.len(), "merging missed runs into one delivery");
                        report.merged += fires.len() - 1;
                    }
                    let pending = match name {
                        "reminders" => self.reminders_due(latest).await?,
                        _ => self.digest_due(latest).await?,
                    };
                    self.send_all(pending, now, &mut report).await?;
                } else {
                    tracing::warn!(job, missed = fires.len(), last_missed = %latest, "skipping runs missed beyond the grace window");
                    report.skipped += fires.len();
                }
            }
            self.core.db.set_last_run(&job, now).await?;
        }
        let nudges = self.status_nudges_due(now).await?;
        self.send_all(nudges, now, &mut report).await?;
        let archives = self.archives_due(now).await?;
        self.send_all(archives, now, &mut report).await?;
        report.jobs = self.core.run_due_jobs(now).await?;
        Ok(report)
    }

    /// The next instant after `after` at which [`Followups::tick`] has work.
    pub async fn next_due_after(&self, after: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, CoreError> {
        let mut next = [&self.settings.reminders, &self.settings.digest]
            .iter()
            .filter_map(|schedule| schedule.next_after(after))
            .min();
        for incident in self.open_watched_incidents().await? {
            let (last_update, quiet) = self.quiet_period(&incident).await?;
            let due = last_update + quiet;
            if due > after && next.is_none_or(|n| due < n) {
                next = Some(due);
            }
        }
        if let Some(due) = self.core.next_job_due().await? {
            // A job already due is run by the next tick; wake for it soon after `after`.
            let due = due.max(after + Duration::milliseconds(1));
            if next.is_none_or(|n| due < n) {
                next = Some(due);
            }
        }
        if let Some((_, due)) = self.archive_times().await?.into_iter().find(|(_, due)| *due > after) {
            if next.is_none_or(|n| due < n) {
                next = Some(due);
            }
        }
        Ok(next)
    }

    /// Closed incidents on this platform whose channel is not archived yet, and when
    /// each is due, soonest first. Empty when archiving is off.
    async fn archive_times(&self) -> Result<Vec<(Incident, DateTime<Utc>)>, CoreError> {
        let Some(after) = self.settings.archive_after else {
            return Ok(Vec::new());
        };
        Ok(self
            .core
            .db
            .closed_without_delivery(self.platform(), DeliveryKind::ChannelArchive)
            .await?
            .into_iter()
            .filter_map(|i| i.closed_at.map(|closed| (i, closed + after)))
            .collect())
    }

    /// Channels of incidents closed long enough ago, each archived once (the claim is
    /// the idempotency key), with a last post saying where the record lives.
    async fn archives_due(&self, now: DateTime<Utc>) -> Result<Vec<Pending>, CoreError> {
        let mut pending = Vec::new();
        for (incident, due) in self.archive_times().await? {
            let Some(channel) = incident.channel_id.clone().filter(|_| due <= now) else {
                continue;
            };
            let message = Message::new().line(
                Line::new()
                    .text("🗄️ ")
                    .bold(incident.reference())
                    .text(" closed a while ago, so this channel is archived. Its timeline and postmortem stay: ")
                    .code(format!("/incident {} postmortem", incident.reference())),
            );
            if let Some(p) = self.claim(archive_key(&incident), Target::ArchiveChannel(channel), message, now).await? {
                pending.push(p);
            }
        }
        Ok(pending)
    }

    /// Claims a delivery; `None` if someone already claimed it.
    async fn claim(
        &self,
        key: DeliveryKey,
        target: Target,
        message: Message,
        now: DateTime<Utc>,
    ) -> Result<Option<Pending>, CoreError> {
        let claimed = match &self.fence {
            None => self.core.db.claim_delivery(&key, now).await?,
            Some(fence) => match fence.current() {
                // No lease held: nothing may be claimed.
                None => false,
                Some((lease, token)) => {
                    self.core.db.claim_delivery_fenced(&key, now, lease, token).await? == storage::Claim::Claimed
                }
            },
        };
        Ok(claimed.then_some(Pending { key, target, message }))
    }

    /// Sends every claimed delivery, retrying failures with backoff. A failing delivery
    /// is retried only after every other delivery had its first attempt.
    async fn send_all(
        &self,
        pending: Vec<Pending>,
        now: DateTime<Utc>,
        report: &mut TickReport,
    ) -> Result<(), CoreError> {
        let mut waiting = pending;
        let mut pause = self.settings.backoff;
        for attempt in 1..=self.settings.attempts.max(1) {
            if waiting.is_empty() {
                break;
            }
            if attempt > 1 {
                tokio::time::sleep(pause).await;
                pause = pause.saturating_mul(2);
            }
            let mut failed = Vec::new();
            for delivery in waiting {
                match self.send(&delivery).await {
                    Ok(()) => {
                        self.core.db.record_attempt(&delivery.key, now, None).await?;
                        report.sent += 1;
                    }
                    Err(error) => {
                        tracing::warn!(key = delivery.key.key(), attempt, %error, "delivery failed");
                        self.core.db.record_attempt(&delivery.key, now, Some(&error.to_string())).await?;
                        if error.retryable {
                            failed.push(delivery);
                        } else {
                            report.failed += 1;
                        }
                    }
                }
            }
            waiting = failed;
        }
        for delivery in &waiting {
            tracing::error!(key = delivery.key.key(), "delivery given up after {} attempts", self.settings.attempts);
        }
        report.failed += waiting.len();
        Ok(())
    }

    async fn send(&self, delivery: &Pending) -> Result<(), ChatError> {
        match &delivery.target {
            Target::Dm(user) => self.core.chat.send_dm(user, &delivery.message).await.map(|_| ()),
            Target::Channel(channel) => self.core.chat.post(channel, &delivery.message).await.map(|_| ()),
            Target::ArchiveChannel(channel) => {
                self.core.chat.post(channel, &delivery.message).await?;
                self.core.chat.archive_channel(channel).await
            }
        }
    }

    /// Overdue-item reminders, the team summary, escalations and postmortem nudges for
    /// the run at `at`.
    async fn reminders_due(&self, at: DateTime<Utc>) -> Result<Vec<Pending>, CoreError> {
        let today = self.local_date(at);
        let db = &self.core.db;
        let mut incidents: HashMap<i64, Option<Incident>> = HashMap::new();
        let mut overdue: Vec<(ActionItem, Incident)> = Vec::new();
        for item in db.actions(&ActionFilter::OverdueOn { today, incident_id: None }).await? {
            if item.snoozed_until.is_some_and(|until| until > today) {
                continue;
            }
            if let std::collections::hash_map::Entry::Vacant(slot) = incidents.entry(item.incident_id) {
                slot.insert(db.incident(item.incident_id).await?);
            }
            if let Some(Some(incident)) = incidents.get(&item.incident_id) {
                if incident.platform == self.platform() {
                    overdue.push((item, incident.clone()));
                }
            }
        }

        let mut pending = Vec::new();
        for (item, incident) in &overdue {
            let days = (today - item.due).num_days();
            let key = DeliveryKey::new(DeliveryKind::ActionOverdue, item.id, today);
            if let Some(p) = self
                .claim(
                    key,
                    Target::Dm(item.owner.clone()),
                    drill::mark(incident, &overdue_dm(item, incident, days)),
                    at,
                )
                .await?
            {
                pending.push(p);
                let sent_before = db.sent_count(DeliveryKind::ActionOverdue, &item.id.to_string()).await?;
                if sent_before >= i64::from(self.settings.escalate_after) {
                    let key = DeliveryKey::new(DeliveryKind::ActionEscalation, item.id, today);
                    let message = drill::mark(incident, &escalation_dm(item, incident, days, sent_before));
                    // With no commander yet there is no one to escalate to; the owner's
                    // reminders go on.
                    if let Some(commander) = incident.commander.clone() {
                        if let Some(p) = self.claim(key, Target::Dm(commander), message, at).await? {
                            pending.push(p);
                        }
                    }
                }
            }
        }
        if let (Some(channel), false) = (&self.settings.followups_channel, overdue.is_empty()) {
            let key = DeliveryKey::new(DeliveryKind::OverdueSummary, self.platform(), today);
            if let Some(p) =
                self.claim(key, Target::Channel(channel.clone()), overdue_summary(&overdue, today), at).await?
            {
                pending.push(p);
            }
        }

        for incident in db.incidents_with_status(Status::Resolved).await? {
            if incident.platform != self.platform() {
                continue;
            }
            let resolved_on = self.local_date(incident.resolved_at.unwrap_or(incident.declared_at));
            if business_days_between(resolved_on, today) < i64::from(self.settings.postmortem_nudge_days) {
                continue;
            }
            let written = db.postmortem(incident.id).await?.unwrap_or_default();
            let missing = postmortem::missing(&written);
            if missing.is_empty() {
                continue;
            }
            let key = DeliveryKey::new(DeliveryKind::PostmortemNudge, incident.id, today);
            let message = drill::mark(
                &incident,
                &postmortem_nudge(&incident, &missing.iter().map(|f| f.label).collect::<Vec<_>>()),
            );
            // The commander is asked; an incident an admin resolved without one asks its channel.
            let target = match (&incident.commander, &incident.channel_id) {
                (Some(commander), _) => Target::Dm(commander.clone()),
                (None, Some(channel)) => Target::Channel(channel.clone()),
                (None, None) => continue,
            };
            if let Some(p) = self.claim(key, target, message, at).await? {
                pending.push(p);
            }
        }
        Ok(pending)
    }

    async fn digest_due(&self, at: DateTime<Utc>) -> Result<Vec<Pending>, CoreError> {
        let Some(channel) = &self.settings.digest_channel else {
            tracing::info!(platform = %self.platform(), "no digest channel configured; digest not posted");
            return Ok(Vec::new());
        };
        let key = DeliveryKey::new(DeliveryKind::Digest, self.platform(), self.local_date(at));
        let message = digest::build_linked(
            &self.core.db,
            self.core.settings.timezone,
            at,
            Duration::days(7),
            self.core.settings.public_url.as_deref(),
        )
        .await?;
        Ok(self.claim(key, Target::Channel(channel.clone()), message, at).await?.into_iter().collect())
    }

    /// Open sev1 and sev2 incidents on this platform with a channel.
    async fn open_watched_incidents(&self) -> Result<Vec<Incident>, CoreError> {
        Ok(self
            .core
            .db
            .open_incidents()
            .await?
            .into_iter()
            .filter(|i| i.platform == self.platform() && i.channel_id.is_some())
            .filter(|i| matches!(i.severity, Severity::Sev1 | Severity::Sev2))
            .collect())
    }

    /// When the current quiet period began (last status update, or the declaration) and
    /// how long it may last.
    async fn quiet_period(&self, incident: &Incident) -> Result<(DateTime<Utc>, Duration), CoreError> {
        let last_update = self
            .core
            .db
            .latest_entry_of_kind(incident.id, EntryKind::Update)
            .await?
            .map_or(incident.declared_at, |e| e.at);
        let quiet =
            if incident.severity == Severity::Sev1 { self.settings.sev1_quiet } else { self.settings.sev2_quiet };
        Ok((last_update, quiet))
    }

    async fn status_nudges_due(&self, now: DateTime<Utc>) -> Result<Vec<Pending>, CoreError> {
        let mut pending = Vec::new();
        for incident in self.open_watched_incidents().await? {
            let (last_update, quiet) = self.quiet_period(&incident).await?;
            if now - last_update < quiet {
                continue;
            }
            let Some(channel) = incident.channel_id.clone() else {
                continue;
            };
            // One nudge per quiet period: the period is named by when it began.
            let key = DeliveryKey::new(DeliveryKind::UpdateNudge, incident.id, last_update.timestamp());
            let message = Message::new().line(
                Line::new()
                    .text(format!(
                        "⏰ No status update on {} for {}. Post one with ",
                        incident.reference(),
                        crate::format::duration(now - last_update)
                    ))
                    .code("/incident update <text>")
                    .text(" so stakeholders know where things stand."),
            );
            let message = drill::mark(&incident, &message);
            if let Some(p) = self.claim(key, Target::Channel(channel), message, now).await? {
                pending.push(p);
            }
        }
        Ok(pending)
    }
}

fn overdue_dm(item: &ActionItem, incident: &Incident, days: i64) -> Message {
    Message::new()
        .line(Line::new().text("⏰ Action item ").bold(format!("#{}", item.id)).text(format!(
            " is {} overdue: {}",
            days_word(days),
            item.text
        )))
        .line(Line::new().text(format!("From {}: {} · due {}", incident.reference(), incident.title, item.due)))
        .line(
            Line::new()
                .text("Close it with ")
                .code(format!("/incident action done {}", item.id))
                .text(" or snooze it with ")
                .code(format!("/incident action snooze {} <days>", item.id)),
        )
        .button("Mark done", ButtonAction::MarkDone { item: item.id }, true)
        .button("Snooze 3 days", ButtonAction::Snooze { item: item.id, days: 3 }, false)
}

fn escalation_dm(item: &ActionItem, incident: &Incident, days: i64, reminders: i64) -> Message {
    Message::new()
        .line(
            Line::new()
                .text("📣 Action item ")
                .bold(format!("#{}", item.id))
                .text(format!(
                    " from {} is {} overdue after {reminders} reminders: {} · owner ",
                    incident.reference(),
                    days_word(days),
                    item.text
                ))
                .user(item.owner.clone()),
        )
        .line(
            Line::new()
                .text("As the incident's commander you may close it, reassign it with ")
                .code(format!("/incident action reassign {} @user", item.id))
                .text(", move it with ")
                .code(format!("/incident action due {} +7d", item.id))
                .text(" or snooze it."),
        )
        .button("Mark done", ButtonAction::MarkDone { item: item.id }, false)
}

/// The overdue items for the follow-ups channel, which everyone reads: items of private
/// incidents are counted, not listed.
fn overdue_summary(overdue: &[(ActionItem, Incident)], today: NaiveDate) -> Message {
    let mut message = Message::new().line(
        Line::new()
            .bold(format!("⏰ {} overdue", crate::digest::count_word(overdue.len(), "action item", "action items"))),
    );
    let private = overdue.iter().filter(|(_, incident)| incident.private).count();
    if private > 0 {
        message = message.line(Line::new().text(format!(
            "• {} of private incidents (not listed)",
            crate::digest::count_word(private, "item", "items")
        )));
    }
    for (item, incident) in overdue.iter().filter(|(_, incident)| !incident.private) {
        message = message.line(
            Line::new().text(format!("• #{} {} · ", item.id, item.text)).user(item.owner.clone()).text(format!(
                " · {} overdue · {}",
                days_word((today - item.due).num_days()),
                incident.reference()
            )),
        );
    }
    message
}

fn postmortem_nudge(incident: &Incident, missing: &[&str]) -> Message {
    Message::new()
        .line(Line::new().text("📘 The postmortem of ").bold(incident.reference()).text(format!(
            " ({}) is still missing: {}.",
            incident.title,
            missing.join(", ")
        )))
        .line(
            Line::new()
                .text("Write it with ")
                .code(format!("/incident INC-{} postmortem", incident.id))
                .text("; it closes the incident when complete."),
        )
        .button("Write postmortem", ButtonAction::WritePostmortem { incident: incident.id }, true)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn business_days_skip_weekends() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        // Friday to Monday is one business day; to Tuesday, two.
        assert_eq!(business_days_between(d("2026-03-06"), d("2026-03-09")), 1);
        assert_eq!(business_days_between(d("2026-03-06"), d("2026-03-10")), 2);
        assert_eq!(business_days_between(d("2026-03-09"), d("2026-03-09")), 0);
    }
}
