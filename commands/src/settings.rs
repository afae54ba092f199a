//! The core's settings: naming, admins, severity labels, channels, time zone, and the
//! vocabulary of the system (services and contributing-factor tags).
//! The bot reads them from the TOML config; tests build them directly.

use chrono_tz::Tz;
use storage::{ChannelId, Severity};

use crate::catalog::{FactorVocabulary, ServiceCatalog};

/// The label and description shown for one severity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeverityLabel {
    pub label: String,
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// Channel names are `<prefix>-<id>-<slug>`.
    pub channel_prefix: String,
    /// Used by `/incident declare` when no severity is given.
    pub default_severity: Severity,
    /// Users (platform ids) who may do what the commander may do on every incident.
    pub admins: Vec<String>,
    /// Where declarations, status updates and resolutions are announced.
    pub announcements_channel: Option<ChannelId>,
    /// Labels for `sev1`..`sev4`, in that order.
    pub severity_labels: [SeverityLabel; 4],
    /// The zone that local dates (due dates, "today") are read in.
    pub timezone: Tz,
    /// How many days out an action item is due when no `due:` is given.
    pub default_due_days: u32,
    /// `[web] public_url`: when set, chat posts link to the web pages.
    pub public_url: Option<String>,
    /// Where sign-in links point: `public_url`, or the bot's local address when that
    /// is not set (the link then works only where that address does).
    pub sign_in_base: String,
    /// The services incidents may name (`service:checkout`). Empty: none configured.
    pub services: ServiceCatalog,
    /// The contributing-factor tags postmortems may use; the default set unless configured.
    pub factors: FactorVocabulary,
}

impl Default for Settings {
    fn default() -> Self {
        let label = |label: &str, description: &str| SeverityLabel {
            label: label.to_string(),
            description: description.to_string(),
        };
        Settings {
            channel_prefix: "inc".to_string(),
            default_severity: Severity::Sev3,
            admins: Vec::new(),
            announcements_channel: None,
            severity_labels: [
                label("Critical", "Full outage or data loss; all hands"),
                label("Major", "A core feature is down for many users"),
                label("Minor", "Degraded service or a workaround exists"),
                label("Low", "Little user impact; fix in working hours"),
            ],
            timezone: Tz::UTC,
            default_due_days: 14,
            public_url: None,
            sign_in_base: "http://localhost:8080".to_string(),
            services: ServiceCatalog::default(),
            factors: FactorVocabulary::default(),
        }
    }
}

impl Settings {
    pub fn severity_label(&self, severity: Severity) -> &SeverityLabel {
        let index = match severity {
            Severity::Sev1 => 0,
            Severity::Sev2 => 1,
            Severity::Sev3 => 2,
            Severity::Sev4 => 3,
        };
        &self.severity_labels[index]
    }

    /// The full address of a web page (`/incidents/3`), when `public_url` is set.
    pub fn page_url(&self, path: &str) -> Option<String> {
        self.public_url.as_deref().map(|base| format!("{}{path}", base.trim_end_matches('/')))
    }

    pub fn is_admin(&self, user: &str) -> bool {
        self.admins.iter().any(|admin| admin == user)
    }
}
