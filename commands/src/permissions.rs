//! Who may do what: one table for every act on an incident or an action item, and the
//! refusal that says who may instead. Handlers ask [`require`]; nothing else in the
//! core compares users with roles.
//!
//! | act | who |
//! |---|---|
//! | declare, note, update, add an action item, write the postmortem (tags included) | anyone |
//! | name or drop a service, invite someone | anyone who can see the incident |
//! | resolve, reopen, change severity, assign roles | the commander or an admin |
//! | take command | anyone while there is no commander; then the commander or an admin |
//! | publish to the status page (`/incident public`) | the commander or an admin |
//! | close, reopen, reassign, re-date, snooze or link an action item | its owner, the commander or an admin |
//!
//! A closed incident is final for everything but its postmortem (a correction is
//! recorded and does not reopen it) and its action items, which outlive it.

use storage::{ActionItem, Incident, Status};

use crate::lifecycle::Refusal;
use crate::message::Line;
use crate::settings::Settings;

/// Something a user does to an incident or one of its action items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act<'a> {
    Note,
    Update,
    AddAction,
    WritePostmortem,
    Resolve,
    Reopen,
    ChangeSeverity,
    AssignRoles,
    ChangeStatus,
    /// Name or drop a service of the incident.
    ChangeServices,
    /// Bring someone into the incident.
    Invite,
    /// Become commander of an incident that has none.
    TakeCommand,
    CloseAction(&'a ActionItem),
    ReassignAction(&'a ActionItem),
    RedateAction(&'a ActionItem),
    SnoozeAction(&'a ActionItem),
    /// Link an item to an existing tracker issue.
    LinkAction(&'a ActionItem),
    /// Reopen a done or won't-fix item.
    ReopenAction(&'a ActionItem),
    /// Publish an update to the status page.
    PublishPublic,
}

/// Who may do an act, as the table above says.
enum Who<'a> {
    Anyone,
    Commander,
    /// Anyone while the incident has no commander; then the commander or an admin.
    AnyoneUntilACommander,
    OwnerOrCommander(&'a ActionItem),
}

impl Act<'_> {
    fn who(&self) -> Who<'_> {
        match self {
            Act::Note
            | Act::Update
            | Act::AddAction
            | Act::WritePostmortem
            | Act::ChangeStatus
            | Act::ChangeServices
            | Act::Invite => Who::Anyone,
            Act::Resolve | Act::Reopen | Act::ChangeSeverity | Act::AssignRoles | Act::PublishPublic => Who::Commander,
            Act::TakeCommand => Who::AnyoneUntilACommander,
            Act::CloseAction(item)
            | Act::ReassignAction(item)
            | Act::RedateAction(item)
            | Act::SnoozeAction(item)
            | Act::LinkAction(item)
            | Act::ReopenAction(item) => Who::OwnerOrCommander(item),
        }
    }

    /// Whether the act is still possible once the incident is closed.
    fn allowed_when_closed(&self) -> bool {
        matches!(
            self,
            Act::WritePostmortem
                | Act::AddAction
                | Act::ChangeServices
                | Act::CloseAction(_)
                | Act::ReassignAction(_)
                | Act::RedateAction(_)
                | Act::SnoozeAction(_)
                | Act::LinkAction(_)
                | Act::ReopenAction(_)
        )
    }

    /// The act in words, completing "may … INC-n" or "may … action item #n".
    fn describe(&self) -> String {
        match self {
            Act::Note => "add notes to".into(),
            Act::Update => "post updates on".into(),
            Act::AddAction => "add action items to".into(),
            Act::WritePostmortem => "write the postmortem of".into(),
            Act::Resolve => "resolve".into(),
            Act::Reopen => "reopen".into(),
            Act::ChangeSeverity => "change the severity of".into(),
            Act::AssignRoles => "assign roles on".into(),
            Act::ChangeStatus => "change the status of".into(),
            Act::ChangeServices => "change the services of".into(),
            Act::Invite => "invite people to".into(),
            Act::TakeCommand => "hand over command of".into(),
            Act::CloseAction(item) => format!("close action item #{}", item.id),
            Act::ReassignAction(item) => format!("reassign action item #{}", item.id),
            Act::RedateAction(item) => format!("change the due date of action item #{}", item.id),
            Act::SnoozeAction(item) => format!("snooze action item #{}", item.id),
            Act::LinkAction(item) => format!("link action item #{}", item.id),
            Act::ReopenAction(item) => format!("reopen action item #{}", item.id),
            Act::PublishPublic => "publish to the status page about".into(),
        }
    }
}

fn admin_names(settings: &Settings) -> String {
    settings.admins.iter().map(|a| format!("@{a}")).collect::<Vec<_>>().join(", ")
}

/// Refuses unless `user` may do `act` on `incident`, saying who may.
pub fn require(act: Act<'_>, user: &str, incident: &Incident, settings: &Settings) -> Result<(), Refusal> {
    if incident.status == Status::Closed && !act.allowed_when_closed() {
        return Err(Refusal::new(format!(
            "{} is closed: its postmortem is complete. Declare a new incident if it is happening again.",
            incident.reference()
        )));
    }
    let is_commander = incident.commander.as_deref() == Some(user);
    let allowed = match act.who() {
        Who::Anyone => true,
        Who::AnyoneUntilACommander if incident.commander.is_none() => true,
        Who::Commander | Who::AnyoneUntilACommander => is_commander || settings.is_admin(user),
        Who::OwnerOrCommander(item) => user == item.owner || is_commander || settings.is_admin(user),
    };
    if allowed {
        return Ok(());
    }
    let admins =
        if settings.admins.is_empty() { String::new() } else { format!(" or an admin ({})", admin_names(settings)) };
    let Some(commander) = incident.commander.as_deref() else {
        return Err(Refusal::new(format!(
            "{} has no commander yet. Take command first (/incident take, or the Take command button){}.",
            incident.reference(),
            if admins.is_empty() { String::new() } else { format!(", or ask an admin ({})", admin_names(settings)) }
        )));
    };
    let mut line = Line::new();
    if let Who::OwnerOrCommander(item) = act.who() {
        line = line
            .text("Only the owner (")
            .user(item.owner.clone())
            .text(format!("), the commander of {} (", incident.reference()));
    } else {
        line = line.text("Only the commander (");
    }
    line = line.user(commander).text(")");
    for (n, admin) in settings.admins.iter().enumerate() {
        line = line.text(if n == 0 { " or an admin (" } else { ", " }).user(admin.clone());
    }
    if !settings.admins.is_empty() {
        line = line.text(")");
    }
    line = match act.who() {
        Who::OwnerOrCommander(_) => line.text(format!(" may {}.", act.describe())),
        _ => line.text(format!(" may {} {}.", act.describe(), incident.reference())),
    };
    Err(Refusal(line))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::testing::{action_item, incident};

    #[test]
    fn the_commander_acts_are_refused_to_others_with_who_may() {
        let i = incident(Status::Investigating);
        let settings = Settings { admins: vec!["root".into()], ..Settings::default() };
        let refusal = require(Act::Resolve, "mallory", &i, &settings).unwrap_err();
        assert_eq!(refusal.text(), "Only the commander (@alice) or an admin (@root) may resolve INC-1.");
        assert!(require(Act::Resolve, "root", &i, &settings).is_ok());
        assert!(require(Act::Resolve, "alice", &i, &settings).is_ok());
        assert!(require(Act::WritePostmortem, "mallory", &i, &settings).is_ok());
    }

    #[test]
    fn action_items_belong_to_their_owner_and_the_commander() {
        let i = incident(Status::Resolved);
        let item = action_item("bob");
        let settings = Settings::default();
        assert!(require(Act::ReassignAction(&item), "bob", &i, &settings).is_ok());
        assert!(require(Act::RedateAction(&item), "alice", &i, &settings).is_ok());
        let refusal = require(Act::CloseAction(&item), "carol", &i, &settings).unwrap_err();
        assert_eq!(refusal.text(), "Only the owner (@bob), the commander of INC-1 (@alice) may close action item #3.");
    }

    #[test]
    fn closed_is_final_except_for_the_postmortem_and_action_items() {
        let i = incident(Status::Closed);
        let item = action_item("bob");
        let settings = Settings::default();
        for act in [Act::Note, Act::Update, Act::ChangeSeverity, Act::AssignRoles, Act::ChangeStatus] {
            assert!(require(act, "alice", &i, &settings).unwrap_err().text().contains("is closed"), "{act:?}");
        }
        assert!(require(Act::WritePostmortem, "carol", &i, &settings).is_ok());
        assert!(require(Act::CloseAction(&item), "bob", &i, &settings).is_ok());
    }

    #[test]
    fn without_a_commander_anyone_may_take_command_and_nothing_else_of_the_commanders() {
        let mut i = incident(Status::Investigating);
        i.commander = None;
        let settings = Settings::default();
        assert!(require(Act::TakeCommand, "carol", &i, &settings).is_ok());
        let refusal = require(Act::Resolve, "carol", &i, &settings).unwrap_err();
        assert!(refusal.text().contains("has no commander yet"), "{}", refusal.text());
        i.commander = Some("alice".into());
        assert!(require(Act::TakeCommand, "carol", &i, &settings).is_err());
    }
}
