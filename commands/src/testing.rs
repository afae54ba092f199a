//! Fixtures for the core's unit tests: an incident and an action item with plain
//! values, to be adjusted per test.

use chrono::{DateTime, NaiveDate};
use storage::{ActionItem, ActionKind, ActionStatus, Incident, Priority, Severity, Status};

/// INC-1, declared by alice (its commander) at a fixed time, in `status`.
#[allow(clippy::unwrap_used)]
pub fn incident(status: Status) -> Incident {
    let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    Incident {
        id: 1,
        title: "t".into(),
        description: None,
        severity: Severity::Sev2,
        status,
        platform: storage::Platform::Console,
        channel_name: "inc-1-t".into(),
        channel_id: Some("inc-1-t".into()),
        declared_by: "alice".into(),
        commander: Some("alice".into()),
        comms: None,
        scribe: None,
        started_at: at,
        declared_at: at,
        acknowledged_at: None,
        mitigated_at: None,
        resolved_at: if status.is_open() { None } else { Some(at) },
        closed_at: (status == Status::Closed).then_some(at),
        revision: 0,
        drill: false,
        private: false,
    }
}

/// Action item #3 of INC-1, owned by `owner`.
#[allow(clippy::unwrap_used)]
pub fn action_item(owner: &str) -> ActionItem {
    let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    ActionItem {
        id: 3,
        incident_id: 1,
        text: "Alert on queue age".into(),
        owner: owner.into(),
        due: NaiveDate::from_ymd_opt(2023, 11, 30).unwrap(),
        priority: Priority::Medium,
        kind: ActionKind::Detect,
        status: ActionStatus::Open,
        created_by: "alice".into(),
        created_at: at,
        closed_at: None,
        snoozed_until: None,
        addresses: None,
    }
}
