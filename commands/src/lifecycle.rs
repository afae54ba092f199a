//! The incident lifecycle: which status moves are allowed, what each move stamps,
//! and who may make which change.
//!
//! `investigating → identified → monitoring → resolved → closed`, moving forward
//! only (skipping a step is allowed: a fix can be found while still investigating).
//! A resolved incident may be reopened; it closes only when its postmortem is complete.

use chrono::{DateTime, Utc};
use storage::{Incident, Status};

use crate::settings::Settings;

/// A refused move or action, in words for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub String);

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
    let moves = allowed_moves(incident.status);
    let options = if moves.is_empty() { "nothing; it is closed".to_string() } else { moves.join(", ") };
    Refusal(format!(
        "{} is {} and cannot {attempted}. From {}, it can go to: {options}.",
        incident.reference(),
        incident.status,
        incident.status
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

/// Stamps the first acknowledgement: any message or command from someone other than
/// the declarer while the incident was still open (`was_open`), so that
/// resolved ≥ acknowledged ≥ declared always holds.
pub fn acknowledge_if_first(incident: &mut Incident, was_open: bool, actor: &str, at: DateTime<Utc>) {
    if was_open && incident.acknowledged_at.is_none() && actor != incident.declared_by && at >= incident.declared_at {
        incident.acknowledged_at = Some(at);
    }
}

/// Things only the commander or an admin may do.
#[derive(Debug, Clone, Copy)]
pub enum Privileged {
    Resolve,
    Reopen,
    ChangeSeverity,
    AssignRoles,
    EditPostmortem,
}

impl Privileged {
    fn describe(self) -> &'static str {
        match self {
            Privileged::Resolve => "resolve",
            Privileged::Reopen => "reopen",
            Privileged::ChangeSeverity => "change the severity of",
            Privileged::AssignRoles => "assign roles on",
            Privileged::EditPostmortem => "edit the postmortem of",
        }
    }
}

/// Refuses unless `actor` is the incident's commander or an admin, saying who may.
pub fn require_commander(
    incident: &Incident,
    actor: &str,
    settings: &Settings,
    what: Privileged,
) -> Result<(), Refusal> {
    if actor == incident.commander || settings.is_admin(actor) {
        return Ok(());
    }
    let admins = if settings.admins.is_empty() {
        String::new()
    } else {
        let names: Vec<String> = settings.admins.iter().map(|a| format!("@{a}")).collect();
        format!(" or an admin ({})", names.join(", "))
    };
    Err(Refusal(format!(
        "Only the commander (@{}){admins} may {} {}.",
        incident.commander,
        what.describe(),
        incident.reference()
    )))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use storage::Severity;

    fn incident(status: Status) -> Incident {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        Incident {
            id: 1,
            title: "t".into(),
            description: None,
            severity: Severity::Sev2,
            status,
            platform: "console".into(),
            channel_name: "inc-1-t".into(),
            channel_id: Some("inc-1-t".into()),
            declared_by: "alice".into(),
            commander: "alice".into(),
            comms: None,
            scribe: None,
            started_at: at,
            declared_at: at,
            acknowledged_at: None,
            mitigated_at: None,
            resolved_at: if status.is_open() { None } else { Some(at) },
            closed_at: (status == Status::Closed).then_some(at),
            revision: 0,
        }
    }

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
        assert!(refusal.0.contains("INC-1 is monitoring"), "{}", refusal.0);
        assert!(refusal.0.contains("/incident resolve"), "{}", refusal.0);
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

    #[test]
    fn refusal_names_the_commander_and_admins() {
        let i = incident(Status::Investigating);
        let settings = Settings { admins: vec!["root".into()], ..Settings::default() };
        let refusal = require_commander(&i, "mallory", &settings, Privileged::Resolve).unwrap_err();
        assert_eq!(refusal.0, "Only the commander (@alice) or an admin (@root) may resolve INC-1.");
        assert!(require_commander(&i, "root", &settings, Privileged::Resolve).is_ok());
        assert!(require_commander(&i, "alice", &settings, Privileged::Resolve).is_ok());
    }
}
