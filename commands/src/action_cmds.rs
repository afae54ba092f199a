//! Action items: add, done, wontfix, snooze, reassign, re-date and list.

use chrono::{Days, NaiveDate};
use storage::{ActionChange, ActionFilter, ActionItem, ActionKind, ActionStatus, EntryKind, Incident, Priority, Saved};

use crate::core::{Core, Invocation};
use crate::error::{refused, Problem};
use crate::grammar::{usage, DueSpec, ListScope, UsageError};
use crate::limits::{MAX_ACTION_TEXT, MAX_DUE_DAYS};
use crate::message::{Line, Message};
use crate::outcome::Outcome;
use crate::permissions::{self, Act};
use crate::text;

impl Core {
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn add_action(
        &self,
        inv: &Invocation,
        target: Option<i64>,
        text: String,
        owner: Option<String>,
        due: Option<DueSpec>,
        kind: Option<ActionKind>,
        priority: Option<Priority>,
        addresses: Option<String>,
    ) -> Result<Outcome, Problem> {
        let addresses = match addresses {
            Some(typed) => Some(
                self.settings
                    .factors
                    .resolve(&typed)
                    .map_err(|e| UsageError { problem: e.to_string(), usage: usage::ACTION_ADD })?
                    .tag
                    .clone(),
            ),
            None => None,
        };
        let text = crate::format::one_line(&text::clean(&text, false));
        if !text::has_visible(&text) {
            return Err(UsageError {
                problem: "What needs doing? Give the action item's text.".into(),
                usage: usage::ACTION_ADD,
            }
            .into());
        }
        if text.chars().count() > MAX_ACTION_TEXT {
            return Err(UsageError {
                problem: format!("Keep an action item under {MAX_ACTION_TEXT} characters; link to details instead."),
                usage: usage::ACTION_ADD,
            }
            .into());
        }
        let incident = self.target_incident(inv, target, usage::ACTION_ADD).await?;
        permissions::require(Act::AddAction, &inv.user, &incident, &self.settings)?;
        let due = self.due_date(due.unwrap_or(DueSpec::InDays(self.settings.default_due_days)), usage::ACTION_ADD)?;
        let owner = owner.unwrap_or_else(|| inv.user.clone());
        let kind = kind.unwrap_or(ActionKind::Prevent);
        let item = storage::NewActionItem {
            incident_id: incident.id,
            text: text.clone(),
            owner: owner.clone(),
            due,
            priority: priority.unwrap_or(Priority::Medium),
            kind,
            created_by: inv.user.clone(),
            created_at: self.now(),
            addresses: addresses.clone(),
        };
        let addresses_text = addresses.as_ref().map(|tag| format!(", addresses {tag}")).unwrap_or_default();
        let entry = self.entry_for(
            inv,
            &incident,
            EntryKind::Action,
            format!("Action added: {text} (owner @{owner}, due {due}{addresses_text})"),
        );
        let job = self.new_item_job();
        let Some(stored) = self.db.add_action_with_job(&item, &entry, job).await? else {
            return Ok(Outcome::silent());
        };
        self.note_activity(&incident, &inv.user).await?;
        self.post_to_incident(
            &incident,
            &Message::new().line(
                Line::new()
                    .text("📝 Action ")
                    .bold(format!("#{}", stored.id))
                    .text(format!(": {} · owner ", stored.text))
                    .user(owner)
                    .text(format!(" · due {} · {} · {}{addresses_text}", stored.due, stored.kind, stored.priority)),
            ),
        )
        .await;
        if let Some(kind) = job {
            // Claimed with the item; opened now if the tracker answers, else retried.
            self.attempt_now(&format!("{kind}:{}", stored.id)).await;
        }
        Ok(self.confirm(inv, &incident, format!("action #{} added.", stored.id)))
    }

    /// A due date as typed, checked against the one limit: from today up to
    /// [`MAX_DUE_DAYS`] ahead, whether given as a date or as `+Nd`.
    fn due_date(&self, due: DueSpec, usage: &'static str) -> Result<NaiveDate, Problem> {
        let today = self.today();
        let latest = add_days(today, MAX_DUE_DAYS)?;
        let date = match due {
            DueSpec::On(date) => date,
            DueSpec::InDays(days) => add_days(today, days)?,
        };
        if date < today {
            return Err(UsageError {
                problem: format!("{date} is in the past (today is {today}). Give a date from today on."),
                usage,
            }
            .into());
        }
        if date > latest {
            return Err(UsageError {
                problem: format!("{date} is too far ahead: due dates go up to {MAX_DUE_DAYS} days out ({latest})."),
                usage,
            }
            .into());
        }
        Ok(date)
    }

    /// The open item `id` and its incident, once `act` is allowed for `inv.user`.
    async fn open_action_for(
        &self,
        inv: &Invocation,
        id: i64,
        usage: &'static str,
        act: fn(&ActionItem) -> Act<'_>,
    ) -> Result<(ActionItem, Incident), Problem> {
        let item = self.db.action(id).await?.ok_or_else(|| {
            Problem::Usage(UsageError { problem: format!("Action item #{id} does not exist."), usage })
        })?;
        if item.status != ActionStatus::Open {
            return Err(refused(format!("Action item #{id} is already {}.", item.status)));
        }
        let incident = self.target_incident(inv, Some(item.incident_id), usage).await?;
        permissions::require(act(&item), &inv.user, &incident, &self.settings)?;
        Ok((item, incident))
    }

    /// Marks an item done or wontfix; its owner, the incident's commander or an admin may.
    pub(crate) async fn close_action(
        &self,
        inv: &Invocation,
        id: i64,
        status: ActionStatus,
    ) -> Result<Outcome, Problem> {
        let usage = if status == ActionStatus::Done { usage::ACTION_DONE } else { usage::ACTION_WONTFIX };
        let (item, incident) = self.open_action_for(inv, id, usage, |item| Act::CloseAction(item)).await?;
        let entry = self.entry_for(inv, &incident, EntryKind::Action, format!("Action #{id} {status}: {}", item.text));
        match self.db.set_action_status(id, ActionStatus::Open, status, self.now(), &entry).await? {
            Saved::Written => {}
            Saved::Duplicate => return Ok(Outcome::silent()),
            Saved::Conflict => return Err(refused(format!("Action item #{id} was closed meanwhile."))),
        }
        self.queue_issue_sync(id, &inv.source_id).await?;
        let verb = if status == ActionStatus::Done { "✔️ done" } else { "✖️ won't fix" };
        self.post_status_change(inv, &incident, &item, verb).await;
        Ok(self.confirm(inv, &incident, format!("action #{id} is {status}.")))
    }

    /// Tells the incident's channel that an item was closed or reopened, and by whom:
    /// "Action **#3** ✔️ done: add a replica alert (@bob)".
    async fn post_status_change(&self, inv: &Invocation, incident: &Incident, item: &ActionItem, change: &str) {
        let line = Line::new()
            .text("Action ")
            .bold(format!("#{}", item.id))
            .text(format!(" {change}: {} (", item.text))
            .user(inv.user.clone())
            .text(")");
        self.post_to_incident(incident, &Message::new().line(line)).await;
    }

    /// Reopens a done or won't-fix item, and its issue; its owner, the commander or an
    /// admin may.
    pub(crate) async fn reopen_action(&self, inv: &Invocation, id: i64) -> Result<Outcome, Problem> {
        let item = self.db.action(id).await?.ok_or_else(|| {
            Problem::Usage(UsageError {
                problem: format!("Action item #{id} does not exist."),
                usage: usage::ACTION_REOPEN,
            })
        })?;
        if item.status == ActionStatus::Open {
            return Err(refused(format!("Action item #{id} is already open.")));
        }
        let incident = self.target_incident(inv, Some(item.incident_id), usage::ACTION_REOPEN).await?;
        permissions::require(Act::ReopenAction(&item), &inv.user, &incident, &self.settings)?;
        let entry = self.entry_for(inv, &incident, EntryKind::Action, format!("Action #{id} reopened: {}", item.text));
        match self.db.set_action_status(id, item.status, ActionStatus::Open, self.now(), &entry).await? {
            Saved::Written => {}
            Saved::Duplicate => return Ok(Outcome::silent()),
            Saved::Conflict => return Err(refused(format!("Action item #{id} changed meanwhile; try again."))),
        }
        self.queue_issue_sync(id, &inv.source_id).await?;
        self.post_status_change(inv, &incident, &item, "reopened").await;
        Ok(self.confirm(inv, &incident, format!("action #{id} is open again.")))
    }

    /// Holds reminders for an item; its owner, the commander or an admin may.
    pub(crate) async fn snooze_action(&self, inv: &Invocation, id: i64, days: u32) -> Result<Outcome, Problem> {
        let (_, incident) = self.open_action_for(inv, id, usage::ACTION_SNOOZE, |item| Act::SnoozeAction(item)).await?;
        let until = add_days(self.today(), days)?;
        let entry = self.entry_for(inv, &incident, EntryKind::Action, format!("Action #{id} snoozed until {until}"));
        if !self.change_action(id, &ActionChange::Snooze { until }, &entry).await? {
            return Ok(Outcome::silent());
        }
        Ok(Outcome::reply(
            Message::new().line(
                Line::new()
                    .text("😴 Action ")
                    .bold(format!("#{id}"))
                    .text(format!(" snoozed: no reminders until {until}.")),
            ),
        ))
    }

    /// Hands an item to someone else; its owner, the commander or an admin may.
    pub(crate) async fn reassign_action(&self, inv: &Invocation, id: i64, owner: String) -> Result<Outcome, Problem> {
        let (item, incident) =
            self.open_action_for(inv, id, usage::ACTION_REASSIGN, |item| Act::ReassignAction(item)).await?;
        if item.owner == owner {
            return Err(refused(format!("@{owner} already owns action item #{id}.")));
        }
        let text = format!("Action #{id} reassigned from @{} to @{owner}", item.owner);
        let entry = self.entry_for(inv, &incident, EntryKind::Action, text);
        if !self.change_action(id, &ActionChange::Reassign { owner: owner.clone() }, &entry).await? {
            return Ok(Outcome::silent());
        }
        self.queue_issue_sync(id, &inv.source_id).await?;
        self.invite_to_incident(&incident, &owner).await;
        self.post_to_incident(
            &incident,
            &Message::new().line(
                Line::new()
                    .text("📝 Action ")
                    .bold(format!("#{id}"))
                    .text(format!(": {} · now owned by ", item.text))
                    .user(owner.clone())
                    .text(" (from ")
                    .user(item.owner.clone())
                    .text(", by ")
                    .user(inv.user.clone())
                    .text(")"),
            ),
        )
        .await;
        Ok(self.confirm(inv, &incident, format!("action #{id} is now owned by @{owner}.")))
    }

    /// Moves an item's due date; its owner, the commander or an admin may.
    pub(crate) async fn redate_action(&self, inv: &Invocation, id: i64, due: DueSpec) -> Result<Outcome, Problem> {
        let (item, incident) = self.open_action_for(inv, id, usage::ACTION_DUE, |item| Act::RedateAction(item)).await?;
        let due = self.due_date(due, usage::ACTION_DUE)?;
        if item.due == due {
            return Err(refused(format!("Action item #{id} is already due {due}.")));
        }
        let text = format!("Action #{id} due date moved from {} to {due}", item.due);
        let entry = self.entry_for(inv, &incident, EntryKind::Action, text);
        if !self.change_action(id, &ActionChange::Redate { due }, &entry).await? {
            return Ok(Outcome::silent());
        }
        self.queue_issue_sync(id, &inv.source_id).await?;
        self.post_to_incident(
            &incident,
            &Message::new().line(
                Line::new()
                    .text("📝 Action ")
                    .bold(format!("#{id}"))
                    .text(format!(": {} · now due {due} (was {}, by ", item.text, item.due))
                    .user(inv.user.clone())
                    .text(")"),
            ),
        )
        .await;
        Ok(self.confirm(inv, &incident, format!("action #{id} is now due {due}.")))
    }

    /// Saves a change to an open item. False for a retried request already applied.
    async fn change_action(&self, id: i64, change: &ActionChange, entry: &storage::NewEntry) -> Result<bool, Problem> {
        match self.db.change_open_action(id, change, entry).await? {
            Saved::Written => Ok(true),
            Saved::Duplicate => Ok(false),
            Saved::Conflict => Err(refused(format!("Action item #{id} was closed meanwhile."))),
        }
    }

    pub(crate) async fn list_actions(
        &self,
        inv: &Invocation,
        target: Option<i64>,
        scope: Option<ListScope>,
    ) -> Result<Outcome, Problem> {
        // Inside an incident channel (or with INC-n) the list is that incident's.
        let incident = match target {
            Some(_) => Some(self.target_incident(inv, target, usage::ACTION_LIST).await?),
            None => self.db.incident_by_channel(&inv.channel_id).await?,
        };
        let incident_id = incident.as_ref().map(|i| i.id);
        let today = self.today();
        let (filter, heading) = match (scope, incident_id) {
            (Some(ListScope::Mine), _) => {
                (ActionFilter::OpenOwnedBy { owner: inv.user.clone(), incident_id }, "Your open action items")
            }
            (Some(ListScope::Overdue), _) => (ActionFilter::OverdueOn { today, incident_id }, "Overdue action items"),
            (Some(ListScope::All) | None, Some(id)) => (ActionFilter::Incident(id), "Action items"),
            (Some(ListScope::All), None) => (ActionFilter::AllOpen, "All open action items"),
            (None, None) => {
                (ActionFilter::OpenOwnedBy { owner: inv.user.clone(), incident_id: None }, "Your open action items")
            }
        };
        let items = self.db.actions(&filter).await?;
        let mut message = Message::new().line(match &incident {
            Some(i) => Line::new().bold(format!("{heading} of {}", i.reference())),
            None => Line::new().bold(heading),
        });
        if items.is_empty() {
            message = message.line(Line::new().text("None."));
        }
        for item in &items {
            let line = action_line(item, today);
            message = message.line(match self.db.tracker_link(item.id).await? {
                Some(link) => line.text(format!(" · {} {}", link.issue_key, link.url)),
                None => line,
            });
        }
        Ok(Outcome::reply(message))
    }
}

/// `#3 [open] Add an alert · @carol · due 2026-03-09 (2 days overdue) · detect · INC-1`
pub fn action_line(item: &ActionItem, today: NaiveDate) -> Line {
    let overdue = if item.status == ActionStatus::Open && item.due < today {
        format!(" ({} overdue)", days_word((today - item.due).num_days()))
    } else {
        String::new()
    };
    Line::new()
        .bold(format!("#{}", item.id))
        .text(format!(" [{}] {} · ", item.status, item.text))
        .user(item.owner.clone())
        .text(format!(" · due {}{overdue} · {} · INC-{}", item.due, item.kind, item.incident_id))
}

/// `1 day`, `3 days`.
pub fn days_word(days: i64) -> String {
    if days == 1 {
        "1 day".to_string()
    } else {
        format!("{days} days")
    }
}

fn add_days(date: NaiveDate, days: u32) -> Result<NaiveDate, Problem> {
    date.checked_add_days(Days::new(u64::from(days)))
        .ok_or_else(|| refused(format!("{days} days from {date} is past the calendar's end.")))
}
