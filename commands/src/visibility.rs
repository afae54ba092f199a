//! Who may see an incident. A public one, everyone. A private one (security, HR), only
//! the people in it, and admins: its declarer, its role holders, and everyone invited to
//! it (service owners included, who are invited when their service is named). For anyone
//! else a private incident does not exist: it is never announced, never listed, its
//! `INC-n` answers "does not exist", and its export is refused.

use storage::{Attachment, Incident, StorageError};

use crate::core::Core;
use crate::settings::Settings;

/// Whether `user` took part in `incident`: declared it, holds a role, or was invited.
pub fn is_participant(user: &str, incident: &Incident, invited: &[String]) -> bool {
    incident.declared_by == user
        || [incident.commander.as_deref(), incident.comms.as_deref(), incident.scribe.as_deref()].contains(&Some(user))
        || invited.iter().any(|u| u == user)
}

/// Whether `user` may see `incident`, given who was invited to it.
pub fn may_see(user: &str, incident: &Incident, invited: &[String], settings: &Settings) -> bool {
    !incident.private || settings.is_admin(user) || is_participant(user, incident, invited)
}

/// Who reads: a person, or an operator with the machine's own rights (the command line,
/// which can read the database anyway, still names a person to export a private incident).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer<'a> {
    Person(&'a str),
    /// Sees public incidents only; a private one shows as a count.
    Public,
}

impl Core {
    /// Whether `viewer` may see `incident`; reads its invites only when it is private.
    pub async fn may_see(&self, viewer: &Viewer<'_>, incident: &Incident) -> Result<bool, StorageError> {
        if !incident.private {
            return Ok(true);
        }
        let Viewer::Person(user) = viewer else {
            return Ok(false);
        };
        let invited = self.db.attached(Attachment::Invite, incident.id).await?;
        Ok(may_see(user, incident, &invited, &self.settings))
    }

    /// The incidents of `incidents` that `viewer` may see, in order.
    pub async fn visible(&self, viewer: &Viewer<'_>, incidents: Vec<Incident>) -> Result<Vec<Incident>, StorageError> {
        let mut out = Vec::with_capacity(incidents.len());
        for incident in incidents {
            if self.may_see(viewer, &incident).await? {
                out.push(incident);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::testing::incident;
    use storage::Status;

    #[test]
    fn private_incidents_are_for_participants_and_admins() {
        let mut secret = incident(Status::Investigating);
        secret.private = true;
        secret.comms = Some("carol".into());
        let settings = Settings { admins: vec!["root".into()], ..Settings::default() };
        let invited = vec!["dana".to_string()];
        for user in ["alice", "carol", "dana", "root"] {
            assert!(may_see(user, &secret, &invited, &settings), "{user}");
        }
        assert!(!may_see("mallory", &secret, &invited, &settings));
        secret.private = false;
        assert!(may_see("mallory", &secret, &invited, &settings));
    }
}
