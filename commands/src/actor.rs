//! Who acts on an incident: a person, by platform user id, or the bot itself on behalf
//! of a system source (alerts, the scheduler, tracker webhooks). The system can
//! declare and add timeline entries without posing as a person; it never holds a role
//! and is never an admin, so an incident it declares has no commander until someone
//! takes command.

use std::fmt;

/// A system source that may change incidents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SystemSource {
    Alerts,
    Scheduler,
    Tracker,
}

impl SystemSource {
    pub fn as_str(self) -> &'static str {
        match self {
            SystemSource::Alerts => "alerts",
            SystemSource::Scheduler => "scheduler",
            SystemSource::Tracker => "tracker",
        }
    }
}

/// The author recorded for what a system source does: `system:alerts`. A person's
/// platform id never contains `:` (see [`crate::grammar::parse_user`]), so the two
/// cannot be mistaken for each other.
const SYSTEM_PREFIX: &str = "system:";

/// Who acts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    Person(String),
    System(SystemSource),
}

impl Actor {
    /// The actor as stored in a timeline entry's author or an incident's declarer.
    pub fn stored_id(&self) -> String {
        match self {
            Actor::Person(id) => id.clone(),
            Actor::System(source) => format!("{SYSTEM_PREFIX}{}", source.as_str()),
        }
    }

    /// Reads a stored author back.
    pub fn from_stored(id: &str) -> Actor {
        match id.strip_prefix(SYSTEM_PREFIX) {
            Some("alerts") => Actor::System(SystemSource::Alerts),
            Some("scheduler") => Actor::System(SystemSource::Scheduler),
            Some("tracker") => Actor::System(SystemSource::Tracker),
            _ => Actor::Person(id.to_string()),
        }
    }

    pub fn is_system(&self) -> bool {
        matches!(self, Actor::System(_))
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Person(id) => write!(f, "@{id}"),
            Actor::System(source) => write!(f, "incidentbot ({})", source.as_str()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn stored_ids_round_trip_and_people_stay_people() {
        for actor in [Actor::System(SystemSource::Alerts), Actor::Person("U123".into())] {
            assert_eq!(Actor::from_stored(&actor.stored_id()), actor);
        }
        assert_eq!(Actor::from_stored("system:unknown"), Actor::Person("system:unknown".into()));
        assert!(crate::grammar::parse_user("@system:alerts").is_none());
    }
}
