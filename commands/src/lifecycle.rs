//! The incident lifecycle: which status moves are allowed, what each move stamps,
//! and who may make which change.
//!
//! `investigating → identified → monitoring → resolved → closed`, moving forward
//! only (skipping a step is allowed: a fix can be found while still investigating).
//! A resolved incident may be reopened; it closes only when its postmortem is complete.

use chrono::{DateTime, Utc};
use storage::{Incident, Status};

use crate::message::{Line, Message};

/// A refused move or action, in words for the user. It is a line, so the people it
/// names (the commander, an owner) are real mentions wherever mentions work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.text())]
pub struct Refusal(pub Line);

impl Refusal {
    /// A refusal in plain words.
    pub fn new(text: impl Into<String>) -> Self {
        Refusal(Line::new().text(text))
    }

    /// The refusal as plain text, users as `@id`.
    pub fn text(&self) -> String {
        Message::new().line(self.0.clone()).to_plain()
    }
}

fn rank(status: Status) -> u8 {
    match status {
        Status::Investigating => 0,
        Status::Identified => 1,
        Status::Monitoring => 2,
        Status::Resolved => 3,
        Status::Closed => 4,
    }
}

/// The moves a user can make from `from`, as the commands that make them.
pub fn allowed_moves(from: Status) -> Vec<String> {
    match from {
        Status::Resolved => vec!["/incident reopen".into(), "/incident postmortem (closes it when complete)".into()],
        Status::Closed => Vec::new(),
        open => {
            let mut moves: Vec<String> = [Status::Identified, Status::Monitoring]
                .into_iter()
                .filter(|to| rank(*to) > rank(open))
                .map(|to| format!("/incident status {to}"))
                .collect();
            moves.push("/incident resolve".into());
            moves
        }
    }
}

fn refuse_move(incident: &Incident, attempted: &str) -> Refusal {
    let reference = incident.reference();
    let status = incident.status;
    if status == Status::Closed {
        return Refusal::new(format!(
            "{reference} is closed: its postmortem is complete. Declare a new incident if it is happening again."
        ));
    }
    Refusal::new(format!(
        "{reference} is {status} and cannot {attempted}. From {status}, it can go to: {}.",
        allowed_moves(status).join(", ")
    ))
}

/// Moves an open incident forward to another open status.
pub fn change_status(incident: &Incident, to: Status, at: DateTime<Utc>) -> Result<Incident, Refusal> {
    if !incident.status.is_open() || !to.is_open() || rank(to) <= rank(incident.status) {
        return Err(refuse_move(incident, &format!("move to {to}")));
    }
    let mut next = incident.clone();
    next.status = to;
    if to == Status::Monitoring && next.mitigated_at.is_none() {
        next.mitigated_at = Some(at);
    }
    Ok(next)
}

pub fn resolve(incident: &Incident, at: DateTime<Utc>) -> Result<Incident, Refusal> {
    if incident.status == Status::Resolved {
        return Err(Refusal::new(format!(
            "{} is already resolved. From resolved, it can go to: {}.",
            incident.reference(),
            allowed_moves(Status::Resolved).join(", ")
        )));
    }
    if !incident.status.is_open() {
        return Err(refuse_move(incident, "be resolved"));
    }
    let mut next = incident.clone();
    next.status = Status::Resolved;
    next.mitigated_at.get_or_insert(at);
    next.resolved_at = Some(at.max(incident.declared_at));
    Ok(next)
}

pub fn reopen(incident: &Incident) -> Result<Incident, Refusal> {
    if incident.status != Status::Resolved {
        return Err(refuse_move(incident, "be reopened (only a resolved incident can)"));
    }
    let mut next = incident.clone();
    next.status = Status::Investigating;
    next.resolved_at = None;
    Ok(next)
}

/// Closes a resolved incident; called when its postmortem becomes complete.
pub fn close(incident: &Incident, at: DateTime<Utc>) -> Result<Incident, Refusal> {
    if incident.status != Status::Resolved {
        return Err(refuse_move(incident, "be closed (resolve it first)"));
    }
    let mut next = incident.clone();
    next.status = Status::Closed;
    next.closed_at = Some(at);
    Ok(next)
}

/// The acknowledgement rule, the one place it is written: the first message, command
/// or button press from anyone other than the declarer, while the incident is open
/// and not before its declaration, acknowledges it. So resolved ≥ acknowledged ≥
/// declared always holds.
///
/// Storage applies the same "open, not yet acknowledged, not before the declaration"
/// guard in the statement that stamps it, so that two concurrent writers cannot both
/// win; this function decides whether to ask.
pub fn acknowledges(incident: &Incident, actor: &str) -> bool {
    is_other_responder(&incident.declared_by, actor) && incident.acknowledged_at.is_none()
}

/// Whether `actor` is someone other than the declarer, whose first act acknowledges.
pub fn is_other_responder(declared_by: &str, actor: &str) -> bool {
    actor != declared_by
}

/// Stamps the first acknowledgement on a change computed in memory (see
/// [`acknowledges`]); `was_open` is the status before the change.
pub fn acknowledge_if_first(incident: &mut Incident, was_open: bool, actor: &str, at: DateTime<Utc>) {
    if was_open && acknowledges(incident, actor) && at >= incident.declared_at {
        incident.acknowledged_at = Some(at);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::testing::incident;

    #[test]
    fn forward_moves_are_allowed_and_stamp_mitigation() {
        let i = incident(Status::Investigating);
        let later = i.declared_at + chrono::Duration::minutes(5);
        let next = change_status(&i, Status::Monitoring, later).unwrap();
        assert_eq!(next.status, Status::Monitoring);
        assert_eq!(next.mitigated_at, Some(later));
    }

    #[test]
    fn backward_and_same_moves_are_refused_with_the_options() {
        let i = incident(Status::Monitoring);
        let refusal = change_status(&i, Status::Identified, i.declared_at).unwrap_err();
        assert!(refusal.text().contains("INC-1 is monitoring"), "{}", refusal.text());
        assert!(refusal.text().contains("/incident resolve"), "{}", refusal.text());
        assert!(change_status(&i, Status::Monitoring, i.declared_at).is_err());
    }

    #[test]
    fn resolve_reopen_close() {
        let open = incident(Status::Identified);
        let resolved = resolve(&open, open.declared_at).unwrap();
        assert!(resolved.resolved_at.is_some() && resolved.mitigated_at.is_some());
        assert!(resolve(&resolved, open.declared_at).is_err());
        let reopened = reopen(&resolved).unwrap();
        assert_eq!((reopened.status, reopened.resolved_at), (Status::Investigating, None));
        assert!(reopen(&open).is_err());
        assert!(close(&open, open.declared_at).is_err());
        assert_eq!(close(&resolved, open.declared_at).unwrap().status, Status::Closed);
    }
}
