//! Alerts from monitoring, as rules: the matcher syntax ([`matcher`]), the rules that
//! declare, triage or ignore ([`rules`]), the normalised alert every source becomes
//! ([`model`]), deliveries through the durable inbox ([`intake`]), applying stored alerts to incidents with grouping, dedupe and the
//! resolve nudge ([`process`]), what people do with triaged alerts ([`triage_cmds`]),
//! how alerts look in chat ([`render`]), and what they teach in stats and the digest
//! ([`insights`]). Receiving them over HTTP is the bot's job.

pub mod insights;
pub mod intake;
pub mod matcher;
pub mod model;
pub mod process;
pub mod render;
pub mod rules;
pub mod triage_cmds;

pub use self::intake::StoredFromInbox;
pub use self::model::{AlertDelivery, IncomingAlert};
pub use self::process::{AppliedAlerts, AppliedCounts};
pub use self::rules::{Rule, RuleAction, RuleError};

/// How alerts are handled on the platform they go to.
#[derive(Debug, Clone, Default)]
pub struct AlertSettings {
    /// Where triage posts go: a channel id on the platform (console: a name).
    pub triage_channel: Option<storage::ChannelId>,
    /// In order; the first match decides.
    pub rules: Vec<Rule>,
}
