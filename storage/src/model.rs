//! The stored data model: the value types (severity, status, role, kinds) and the
//! records the database hands back. The rules about how these may change live in
//! the `commands` crate; this module only knows how they are spelled and stored.

use chrono::{DateTime, NaiveDate, Utc};
use std::fmt;
use std::str::FromStr;

/// A word that is not one of the accepted spellings of an enum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{word}` is not a valid {what}; expected one of: {expected}")]
pub struct UnknownWord {
    pub word: String,
    pub what: &'static str,
    pub expected: &'static str,
}

/// Declares a closed set of lowercase words with `as_str`, `ALL`, `Display` and `FromStr`.
macro_rules! word_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal, { $($variant:ident => $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownWord;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.to_ascii_lowercase().as_str() {
                    $($word => Ok($name::$variant),)+
                    _ => Err(UnknownWord {
                        word: s.to_string(),
                        what: $what,
                        expected: concat!($($word, " "),+).trim_ascii_end(),
                    }),
                }
            }
        }
    };
}

word_enum!(
    /// How bad an incident is: `sev1` is critical, `sev4` minor.
    Severity, "severity", { Sev1 => "sev1", Sev2 => "sev2", Sev3 => "sev3", Sev4 => "sev4" }
);

word_enum!(
    /// The chat platform an incident (and its channel) belongs to.
    Platform, "platform", { Slack => "slack", Discord => "discord", Console => "console" }
);

word_enum!(
    /// What a scheduled delivery is: the first part of its idempotency key.
    DeliveryKind, "delivery kind", {
        ActionOverdue => "action_overdue",
        ActionEscalation => "action_escalation",
        OverdueSummary => "overdue_summary",
        PostmortemNudge => "postmortem_nudge",
        UpdateNudge => "update_nudge",
        Digest => "digest",
        ChannelArchive => "channel_archive",
        FollowThroughFailure => "follow_through_failure",
    }
);

word_enum!(
    /// Where an incident is in its lifecycle.
    Status, "status", {
        Investigating => "investigating",
        Identified => "identified",
        Monitoring => "monitoring",
        Resolved => "resolved",
        Closed => "closed",
    }
);

impl Status {
    /// True while responders are still working on it.
    pub fn is_open(self) -> bool {
        matches!(self, Status::Investigating | Status::Identified | Status::Monitoring)
    }
}

word_enum!(
    /// A responder role on an incident.
    Role, "role", { Commander => "commander", Comms => "comms", Scribe => "scribe" }
);

word_enum!(
    /// What a timeline entry records.
    EntryKind, "timeline kind", {
        Declared => "declared",
        Message => "message",
        Note => "note",
        Status => "status",
        Severity => "severity",
        Role => "role",
        Update => "update",
        Resolved => "resolved",
        Reopened => "reopened",
        Closed => "closed",
        Action => "action",
        Postmortem => "postmortem",
        // An update published to the status page, word for word.
        Public => "public",
    }
);

word_enum!(
    /// What an action item is for.
    ActionKind, "action kind", {
        Prevent => "prevent", Detect => "detect", Mitigate => "mitigate", Process => "process",
    }
);

word_enum!(
    /// Whether an action item still needs doing.
    ActionStatus, "action status", { Open => "open", Done => "done", Wontfix => "wontfix" }
);

word_enum!(
    /// How urgent an action item is.
    Priority, "priority", { High => "high", Medium => "medium", Low => "low" }
);

/// Declares a newtype over an id that a platform (or the bot) hands out as a string:
/// `new`, `as_str`, `Display`, conversions, and sqlx encoding as plain text. The type
/// keeps a channel id from being passed where a source id belongs, and back.
macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        #[derive(serde::Serialize, serde::Deserialize, sqlx::Type)]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                $name(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(id.to_string())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        /// Lets maps keyed by the id be looked up with a `&str`.
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

string_id!(
    /// The stable id of one inbound thing: a message (Slack `ts`, Discord message id, a
    /// console line), a command delivery, a button press. A retried delivery carries the
    /// same id, which is what makes every write idempotent. Ids the bot derives from one
    /// (`closed:<id>`, `<id>:pm:summary`) are built with [`SourceId::derived`].
    SourceId
);

impl SourceId {
    /// An id derived from this one for a second write caused by the same request, such
    /// as the closing entry of a postmortem save: `<prefix>:<self>`.
    pub fn derived(&self, prefix: &str) -> SourceId {
        SourceId(format!("{prefix}:{}", self.0))
    }

    /// An id for one part of this request, such as one field of a form: `<self>:<part>`.
    pub fn part(&self, part: &str) -> SourceId {
        SourceId(format!("{}:{part}", self.0))
    }
}

string_id!(
    /// A channel's id on its platform: Slack `C…`, a Discord snowflake, a console
    /// channel's name.
    ChannelId
);

/// An incident as stored, with its roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    pub id: i64,
    pub title: String,
    pub description: Option<String>,
    pub severity: Severity,
    pub status: Status,
    /// Which chat platform owns the channel.
    pub platform: Platform,
    pub channel_name: String,
    /// The platform's id for the channel; `None` until the channel exists.
    pub channel_id: Option<ChannelId>,
    pub declared_by: String,
    /// `None` until someone takes command: an incident the system declared (an alert)
    /// starts without one.
    pub commander: Option<String>,
    pub comms: Option<String>,
    pub scribe: Option<String>,
    pub started_at: DateTime<Utc>,
    pub declared_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub mitigated_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Bumped by every saved change; a save based on an older revision is refused.
    pub revision: i64,
    /// A game day: the whole flow, practised. Never counted in the response metrics.
    pub drill: bool,
    /// Seen only by the people in it (and admins): never announced or listed to others.
    pub private: bool,
}

impl Incident {
    /// `INC-42`.
    pub fn reference(&self) -> String {
        format!("INC-{}", self.id)
    }

    pub fn role(&self, role: Role) -> Option<&str> {
        match role {
            Role::Commander => self.commander.as_deref(),
            Role::Comms => self.comms.as_deref(),
            Role::Scribe => self.scribe.as_deref(),
        }
    }
}

/// What is needed to store a newly declared incident.
#[derive(Debug, Clone)]
pub struct NewIncident {
    pub title: String,
    pub description: Option<String>,
    pub severity: Severity,
    pub platform: Platform,
    pub declared_by: String,
    /// The first commander: the declarer when a person declares, `None` when the
    /// system does.
    pub commander: Option<String>,
    /// The source id of the declaring request; a retry with the same id finds this incident.
    pub declare_source: SourceId,
    pub started_at: DateTime<Utc>,
    pub declared_at: DateTime<Utc>,
    /// A game day (see [`Incident::drill`]).
    pub drill: bool,
    /// Visible only to the people in it (see [`Incident::private`]).
    pub private: bool,
    /// Catalog names of the services it touches, stored with it.
    pub services: Vec<String>,
}

/// One line of an incident's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    pub id: i64,
    pub incident_id: i64,
    pub source_id: SourceId,
    pub at: DateTime<Utc>,
    pub kind: EntryKind,
    pub author: String,
    pub text: String,
    pub is_key: bool,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A timeline line to be written; `source_id` makes the write idempotent.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub incident_id: i64,
    pub source_id: SourceId,
    pub at: DateTime<Utc>,
    pub kind: EntryKind,
    pub author: String,
    pub text: String,
    pub is_key: bool,
}

word_enum!(
    /// One blameless postmortem field, by its export key, in the order they are asked.
    /// This is the one list of fields; labels and questions live in the core.
    PostmortemField, "postmortem field", {
        Summary => "summary",
        Impact => "impact",
        Detection => "detection",
        Trigger => "trigger",
        ContributingFactors => "contributing_factors",
        Resolution => "resolution",
        WentWell => "went_well",
        WentWrong => "went_wrong",
        GotLucky => "got_lucky",
        Lessons => "lessons",
    }
);

impl Postmortem {
    /// The answer stored for `field`; blank answers count as none.
    pub fn get(&self, field: PostmortemField) -> Option<&str> {
        let value = match field {
            PostmortemField::Summary => &self.summary,
            PostmortemField::Impact => &self.impact,
            PostmortemField::Detection => &self.detection,
            PostmortemField::Trigger => &self.trigger,
            PostmortemField::ContributingFactors => &self.contributing_factors,
            PostmortemField::Resolution => &self.resolution,
            PostmortemField::WentWell => &self.went_well,
            PostmortemField::WentWrong => &self.went_wrong,
            PostmortemField::GotLucky => &self.got_lucky,
            PostmortemField::Lessons => &self.lessons,
        };
        value.as_deref().filter(|v| !v.trim().is_empty())
    }

    pub fn set(&mut self, field: PostmortemField, value: String) {
        let slot = match field {
            PostmortemField::Summary => &mut self.summary,
            PostmortemField::Impact => &mut self.impact,
            PostmortemField::Detection => &mut self.detection,
            PostmortemField::Trigger => &mut self.trigger,
            PostmortemField::ContributingFactors => &mut self.contributing_factors,
            PostmortemField::Resolution => &mut self.resolution,
            PostmortemField::WentWell => &mut self.went_well,
            PostmortemField::WentWrong => &mut self.went_wrong,
            PostmortemField::GotLucky => &mut self.got_lucky,
            PostmortemField::Lessons => &mut self.lessons,
        };
        *slot = Some(value);
    }

    /// Whether every field is written.
    pub fn is_complete(&self) -> bool {
        PostmortemField::ALL.iter().all(|field| self.get(*field).is_some())
    }
}

/// The blameless postmortem fields, in the order they are asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Postmortem {
    pub summary: Option<String>,
    pub impact: Option<String>,
    pub detection: Option<String>,
    pub trigger: Option<String>,
    pub contributing_factors: Option<String>,
    pub resolution: Option<String>,
    pub went_well: Option<String>,
    pub went_wrong: Option<String>,
    pub got_lucky: Option<String>,
    pub lessons: Option<String>,
}

/// An action item as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionItem {
    pub id: i64,
    pub incident_id: i64,
    pub text: String,
    pub owner: String,
    pub due: NaiveDate,
    pub priority: Priority,
    pub kind: ActionKind,
    pub status: ActionStatus,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// No reminders before this local date.
    pub snoozed_until: Option<NaiveDate>,
    /// The contributing-factor tag this item is prevention work for, if named.
    pub addresses: Option<String>,
}

/// Where an inbound delivery came from: `slack`, `alerts:<source name>`,
/// `tracker:<kind>`. Built only by these constructors, so two surfaces never share ids.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventSource(String);

impl EventSource {
    /// Slack's Events API.
    pub fn slack() -> Self {
        EventSource("slack".into())
    }

    /// One configured alert source (`POST /alerts/<name>`).
    pub fn alerts(name: &str) -> Self {
        EventSource(format!("alerts:{name}"))
    }

    /// An issue tracker's webhooks (`github`, `jira`).
    pub fn tracker(kind: &str) -> Self {
        EventSource(format!("tracker:{kind}"))
    }

    /// Slack's slash commands, button presses and modal submissions (the inbox's source;
    /// the Events API is [`EventSource::slack`]).
    pub fn slack_requests() -> Self {
        EventSource("slack:requests".into())
    }

    /// Discord's deferred interactions.
    pub fn discord_interactions() -> Self {
        EventSource("discord:interactions".into())
    }

    /// A source read back from the database.
    pub(crate) fn from_stored(stored: String) -> Self {
        EventSource(stored)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A change to an open action item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionChange {
    /// No reminders before this local date.
    Snooze { until: NaiveDate },
    /// A new owner (a platform user id).
    Reassign { owner: String },
    /// A new due date.
    Redate { due: NaiveDate },
}

/// An action item to be written.
#[derive(Debug, Clone)]
pub struct NewActionItem {
    pub incident_id: i64,
    pub text: String,
    pub owner: String,
    pub due: NaiveDate,
    pub priority: Priority,
    pub kind: ActionKind,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// The contributing-factor tag it addresses (`addresses:<tag>`).
    pub addresses: Option<String>,
}

/// Which action items to list.
#[derive(Debug, Clone)]
pub enum ActionFilter {
    /// Every item of one incident.
    Incident(i64),
    /// Open items owned by a user, optionally of one incident.
    OpenOwnedBy { owner: String, incident_id: Option<i64> },
    /// Open items due before the given date, optionally of one incident.
    OverdueOn { today: NaiveDate, incident_id: Option<i64> },
    /// Every open item.
    AllOpen,
    /// Every item that was open at a moment: created by then, and not closed by then.
    /// A report about the past reads the past, not today's states.
    OpenAt(DateTime<Utc>),
}

/// The result of an idempotent or revision-checked write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// The write happened.
    Written,
    /// The source id was already recorded; nothing changed.
    Duplicate,
    /// The incident changed since it was read; nothing changed. Read again and retry.
    Conflict,
}
