//! Configuration: the optional TOML file named by `INCIDENTBOT_CONFIG`, plus the
//! environment. Everything is checked at start-up, and a bad value is an error that
//! names its key.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context};
use chrono_tz::Tz;
use commands::catalog::{Factor, FactorVocabulary, Service, ServiceCatalog};
use commands::followup::FollowupSettings;
use commands::schedule::CronSchedule;
use commands::settings::{Settings, SeverityLabel};
use serde::Deserialize;
use storage::{ChannelId, Severity};

use crate::secret::Secret;

/// The TOML file, as written. Unknown keys are refused so typos do not pass silently.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileConfig {
    /// IANA zone for schedules and local dates, e.g. `Europe/Berlin`.
    pub timezone: Option<String>,
    pub channel_prefix: Option<String>,
    pub default_severity: Option<String>,
    pub default_due_days: Option<u32>,
    /// Platform user ids (console names) allowed to act as commander on any incident.
    pub admins: Vec<String>,
    pub severities: BTreeMap<String, SeverityConfig>,
    pub schedules: ScheduleConfig,
    pub slack: PlatformChannels,
    pub discord: DiscordConfig,
    pub console: PlatformChannels,
    pub web: WebConfig,
    /// Issue trackers action items go to.
    pub trackers: TrackersConfig,
    /// Chat ids mapped to tracker identities: `[people.U123] github = "alice"`.
    pub people: BTreeMap<String, PersonConfig>,
    pub statuspage: Option<StatuspageConfig>,
    /// Where closed postmortems are proposed as pull requests.
    pub postmortem_repo: Option<PostmortemRepoConfig>,
    /// The service catalog: `[[services]]`.
    pub services: Vec<ServiceConfig>,
    /// The contributing-factor tags: `[[factors]]`. None listed: the default set.
    pub factors: Vec<FactorConfig>,
    pub alerts: crate::alerts::config::AlertsConfig,
}

/// `[web]`: the web pages.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// Where people reach the pages, e.g. `https://incidentbot.example.com`. Links in
    /// chat posts are built from it; without it, posts carry no links.
    pub public_url: Option<String>,
}

impl WebConfig {
    /// The public URL without a trailing slash, checked to be http(s).
    pub fn public_url(&self) -> anyhow::Result<Option<String>> {
        let Some(url) = &self.public_url else { return Ok(None) };
        let trimmed = url.trim().trim_end_matches('/');
        let rest = trimmed.strip_prefix("https://").or_else(|| trimmed.strip_prefix("http://"));
        match rest {
            Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => Ok(Some(trimmed.to_string())),
            _ => bail!("`web.public_url`: `{url}` must be an http:// or https:// address such as https://incidentbot.example.com"),
        }
    }

    /// Whether the session cookie must be `Secure`.
    pub fn is_https(&self) -> bool {
        self.public_url.as_deref().is_some_and(|u| u.trim().starts_with("https://"))
    }
}

/// `[postmortem_repo]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostmortemRepoConfig {
    /// `owner/name`.
    pub repo: String,
    /// The branch pull requests go into.
    #[serde(default = "default_postmortem_branch")]
    pub branch: String,
    /// With `{date}`, `{id}` and `{slug}`.
    #[serde(default = "default_postmortem_path")]
    pub path: String,
    #[serde(default = "default_github_token_env")]
    pub token_env: String,
}

fn default_postmortem_branch() -> String {
    "main".into()
}

fn default_postmortem_path() -> String {
    commands::follow_through::DEFAULT_POSTMORTEM_PATH.into()
}

/// One `[[services]]` entry.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceConfig {
    pub name: String,
    pub description: String,
    pub team: String,
    /// Platform user ids invited to every incident naming the service.
    pub owners: Vec<String>,
    pub aliases: Vec<String>,
    /// The team's channel per platform: `team_channels = { slack = "C0123", discord = "1234" }`.
    pub team_channels: TeamChannels,
    /// The GitHub repository (`owner/name`) this service's action items go to, instead
    /// of `trackers.github.repo`.
    pub github_repo: Option<String>,
    /// The Jira project key this service's action items go to, instead of
    /// `trackers.jira.project`.
    pub jira_project: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrackersConfig {
    /// `github` or `jira`: where items go when both are configured and their service
    /// names no place of its own. GitHub when not set.
    pub default: Option<String>,
    pub github: Option<GitHubConfig>,
    pub jira: Option<JiraConfig>,
}

/// `[trackers.github]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitHubConfig {
    /// The default repository, `owner/name`.
    pub repo: String,
    #[serde(default = "default_github_token_env")]
    pub token_env: String,
    #[serde(default)]
    pub labels: Vec<String>,
    /// The environment variable holding the webhook secret; without it
    /// `POST /trackers/github` refuses every delivery.
    pub webhook_secret_env: Option<String>,
}

fn default_github_token_env() -> String {
    "GITHUB_TOKEN".into()
}

/// `[trackers.jira]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JiraConfig {
    pub base_url: String,
    pub project: String,
    #[serde(default = "default_jira_issue_type")]
    pub issue_type: String,
    pub email_env: String,
    pub token_env: String,
    pub webhook_secret_env: Option<String>,
}

fn default_jira_issue_type() -> String {
    "Task".into()
}

/// One person's tracker identities.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PersonConfig {
    pub github: Option<String>,
    pub jira: Option<String>,
}

/// `[statuspage]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatuspageConfig {
    pub page_id: String,
    #[serde(default = "default_statuspage_key_env")]
    pub api_key_env: String,
    /// Service name → component id.
    #[serde(default)]
    pub components: BTreeMap<String, String>,
}

fn default_statuspage_key_env() -> String {
    "STATUSPAGE_API_KEY".into()
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TeamChannels {
    pub slack: Option<String>,
    pub discord: Option<String>,
    pub console: Option<String>,
}

/// One `[[factors]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactorConfig {
    pub tag: String,
    pub description: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeverityConfig {
    pub label: String,
    pub description: String,
}

/// Channels of one platform, by that platform's channel id (console: by name).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlatformChannels {
    pub announcements_channel: Option<ChannelId>,
    pub followups_channel: Option<ChannelId>,
    pub digest_channel: Option<ChannelId>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiscordConfig {
    #[serde(flatten)]
    pub channels: PlatformChannels,
    /// The category incident channels are created in, by name.
    pub category: Option<String>,
    /// Open a public thread per incident instead of a channel.
    pub use_threads: bool,
}

/// When follow-ups run. Cron expressions take 5, 6 or 7 fields.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleConfig {
    pub reminders: String,
    pub digest: String,
    /// Missed runs younger than this are delivered once on start; older ones are skipped.
    pub grace_hours: u32,
    /// After this many reminders for one item, the commander is told too.
    pub escalate_after: u32,
    /// Business days after resolve before the commander is nudged about the postmortem.
    pub postmortem_nudge_days: u32,
    /// Quiet minutes before a status-update nudge, for sev1 and sev2.
    pub sev1_update_minutes: u32,
    pub sev2_update_minutes: u32,
    /// Days after an incident closes before its channel is archived; 0 never archives.
    pub archive_after_days: u32,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            reminders: "0 9 * * 1-5".into(),
            digest: "0 9 * * 1".into(),
            grace_hours: 24,
            escalate_after: 3,
            postmortem_nudge_days: 2,
            sev1_update_minutes: 30,
            sev2_update_minutes: 60,
            archive_after_days: 0,
        }
    }
}

/// Everything the bot runs with.
#[derive(Debug)]
pub struct Config {
    pub file: FileConfig,
    pub timezone: Tz,
    pub database_url: String,
    pub port: u16,
    pub discord_token: Option<Secret>,
    pub discord_guild_id: Option<u64>,
    pub discord_api_url: Option<String>,
    pub slack_bot_token: Option<Secret>,
    pub slack_signing_secret: Option<Secret>,
    pub slack_api_url: String,
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://incidentbot.db";
pub const DEFAULT_SLACK_API_URL: &str = "https://slack.com/api";

impl FileConfig {
    pub fn load(path: &Path) -> anyhow::Result<FileConfig> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read config file {}", path.display()))?;
        FileConfig::parse(&text).with_context(|| format!("invalid config file {}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<FileConfig> {
        Ok(toml::from_str(text)?)
    }

    pub fn timezone(&self) -> anyhow::Result<Tz> {
        match &self.timezone {
            None => Ok(Tz::UTC),
            Some(name) => name
                .parse()
                .map_err(|_| anyhow::anyhow!("`timezone`: `{name}` is not an IANA time zone such as Europe/Berlin")),
        }
    }

    /// The core's settings for one platform's channels.
    pub fn settings(&self, channels: &PlatformChannels) -> anyhow::Result<Settings> {
        let mut settings = Settings { timezone: self.timezone()?, ..Settings::default() };
        if let Some(prefix) = &self.channel_prefix {
            let valid = !prefix.is_empty()
                && prefix.len() <= 20
                && prefix.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !valid {
                bail!("`channel_prefix`: `{prefix}` must be 1-20 lowercase letters, digits or dashes");
            }
            settings.channel_prefix = prefix.clone();
        }
        if let Some(word) = &self.default_severity {
            settings.default_severity = word.parse().with_context(|| "`default_severity`".to_string())?;
        }
        if let Some(days) = self.default_due_days {
            if !(1..=365).contains(&days) {
                bail!("`default_due_days`: {days} must be between 1 and 365");
            }
            settings.default_due_days = days;
        }
        for (key, value) in &self.severities {
            let severity: Severity = key.parse().with_context(|| format!("`severities.{key}`"))?;
            let index = Severity::ALL.iter().position(|s| *s == severity).unwrap_or(0);
            settings.severity_labels[index] =
                SeverityLabel { label: value.label.clone(), description: value.description.clone() };
        }
        settings.admins = self.admins.clone();
        settings.announcements_channel = channels.announcements_channel.clone();
        settings.public_url = self.web.public_url()?;
        // Without a public URL, sign-in links point at this machine's own port.
        settings.sign_in_base = settings.public_url.clone().unwrap_or_else(|| {
            let port = std::env::var("PORT").ok().filter(|p| p.parse::<u16>().is_ok()).unwrap_or_else(|| "8080".into());
            format!("http://localhost:{port}")
        });
        settings.services = self.service_catalog()?;
        if !self.factors.is_empty() {
            let factors = self
                .factors
                .iter()
                .map(|f| Factor { tag: f.tag.clone(), description: f.description.clone() })
                .collect();
            settings.factors = FactorVocabulary::new(factors).context("`factors`")?;
        }
        Ok(settings)
    }

    /// The `[[services]]` as the core's catalog: names and aliases checked and unique.
    pub fn service_catalog(&self) -> anyhow::Result<ServiceCatalog> {
        let services = self
            .services
            .iter()
            .map(|s| {
                let channels = [
                    (storage::Platform::Slack, &s.team_channels.slack),
                    (storage::Platform::Discord, &s.team_channels.discord),
                    (storage::Platform::Console, &s.team_channels.console),
                ];
                Service {
                    name: s.name.clone(),
                    description: s.description.clone(),
                    team: s.team.clone(),
                    owners: s.owners.clone(),
                    aliases: s.aliases.clone(),
                    team_channels: channels
                        .into_iter()
                        .filter_map(|(platform, channel)| channel.clone().map(|c| (platform, c.into())))
                        .collect(),
                }
            })
            .collect();
        ServiceCatalog::new(services).context("`services`")
    }
}

impl FileConfig {
    /// Follow-up schedules and channels for one platform. A bad cron expression is an
    /// error naming its key.
    pub fn followup_settings(&self, channels: &PlatformChannels) -> anyhow::Result<FollowupSettings> {
        let tz = self.timezone()?;
        let schedules = &self.schedules;
        let parse = |key: &str, expression: &str| {
            CronSchedule::parse(expression, tz).map_err(|e| anyhow::anyhow!("`schedules.{key}`: {e}"))
        };
        let minutes = |key: &str, value: u32| {
            if value == 0 || value > 7 * 24 * 60 {
                bail!("`schedules.{key}`: {value} must be between 1 and 10080 minutes");
            }
            Ok(chrono::Duration::minutes(i64::from(value)))
        };
        Ok(FollowupSettings {
            reminders: parse("reminders", &schedules.reminders)?,
            digest: parse("digest", &schedules.digest)?,
            grace: chrono::Duration::hours(i64::from(schedules.grace_hours)),
            escalate_after: schedules.escalate_after,
            postmortem_nudge_days: schedules.postmortem_nudge_days,
            sev1_quiet: minutes("sev1_update_minutes", schedules.sev1_update_minutes)?,
            sev2_quiet: minutes("sev2_update_minutes", schedules.sev2_update_minutes)?,
            followups_channel: channels.followups_channel.clone(),
            digest_channel: channels.digest_channel.clone(),
            archive_after: match schedules.archive_after_days {
                0 => None,
                days @ 1..=3650 => Some(chrono::Duration::days(i64::from(days))),
                days => anyhow::bail!("`schedules.archive_after_days`: {days} must be between 0 (never) and 3650"),
            },
            ..FollowupSettings::defaults(tz)?
        })
    }
}

impl Config {
    /// Reads the environment and the config file it names.
    pub fn from_env() -> anyhow::Result<Config> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let file = match var("INCIDENTBOT_CONFIG") {
            Some(path) => FileConfig::load(Path::new(&path))?,
            None => FileConfig::default(),
        };
        let timezone = file.timezone()?;
        let port = match var("PORT") {
            None => 8080,
            Some(p) => p.parse().with_context(|| format!("`PORT`: `{p}` is not a port number"))?,
        };
        let discord_guild_id = match var("DISCORD_GUILD_ID") {
            None => None,
            Some(id) => Some(id.parse().with_context(|| format!("`DISCORD_GUILD_ID`: `{id}` is not a Discord id"))?),
        };
        let slack_bot_token = var("SLACK_BOT_TOKEN").map(Secret::new);
        let slack_signing_secret = var("SLACK_SIGNING_SECRET").map(Secret::new);
        if slack_bot_token.is_some() != slack_signing_secret.is_some() {
            bail!("Slack needs both `SLACK_BOT_TOKEN` and `SLACK_SIGNING_SECRET`; only one is set");
        }
        Ok(Config {
            file,
            timezone,
            database_url: var("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string()),
            port,
            discord_token: var("DISCORD_TOKEN").map(Secret::new),
            discord_guild_id,
            discord_api_url: var("DISCORD_API_URL"),
            slack_bot_token,
            slack_signing_secret,
            slack_api_url: var("SLACK_API_URL").unwrap_or_else(|| DEFAULT_SLACK_API_URL.to_string()),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn full_example_parses() {
        let file = FileConfig::parse(
            r#"
            timezone = "Europe/Berlin"
            channel_prefix = "incident"
            default_severity = "sev2"
            admins = ["alice"]
            [severities.sev1]
            label = "SEV-1"
            description = "Everything is on fire"
            [schedules]
            reminders = "0 10 * * 1-5"
            [console]
            announcements_channel = "incidents"
            [discord]
            category = "Incidents"
            use_threads = true
            announcements_channel = "123"
            "#,
        )
        .unwrap();
        let settings = file.settings(&file.console).unwrap();
        assert_eq!(settings.timezone, chrono_tz::Europe::Berlin);
        assert_eq!(settings.channel_prefix, "incident");
        assert_eq!(settings.default_severity, Severity::Sev2);
        assert_eq!(settings.severity_label(Severity::Sev1).label, "SEV-1");
        assert_eq!(settings.announcements_channel.as_ref().map(ChannelId::as_str), Some("incidents"));
        assert_eq!(file.discord.channels.announcements_channel.as_ref().map(ChannelId::as_str), Some("123"));
        assert_eq!(file.schedules.digest, "0 9 * * 1");
    }

    #[test]
    fn the_follow_through_sections_parse_as_documented() {
        let file = FileConfig::parse(
            r#"
            [trackers.github]
            repo = "acme/reliability"
            token_env = "GITHUB_TOKEN"
            labels = ["incident-follow-up"]

            [trackers.jira]
            base_url = "https://acme.atlassian.net"
            project = "REL"
            issue_type = "Task"
            email_env = "JIRA_EMAIL"
            token_env = "JIRA_API_TOKEN"

            [people.U0123ABCD]
            github = "alice-gh"
            jira = "5b10a2844c20165700ede21g"

            [statuspage]
            page_id = "kctbh9vrtdwd"
            api_key_env = "STATUSPAGE_API_KEY"
            components = { checkout = "cmp_id_1", search = "cmp_id_2" }

            [postmortem_repo]
            repo = "acme/postmortems"
            branch = "main"
            path = "postmortems/{date}-inc-{id}-{slug}.md"
            "#,
        )
        .unwrap();
        let github = file.trackers.github.as_ref().unwrap();
        assert_eq!((github.repo.as_str(), github.labels.len()), ("acme/reliability", 1));
        assert_eq!(file.trackers.jira.as_ref().unwrap().project, "REL");
        assert_eq!(file.people["U0123ABCD"].github.as_deref(), Some("alice-gh"));
        assert_eq!(file.statuspage.as_ref().unwrap().components["search"], "cmp_id_2");
        assert_eq!(file.postmortem_repo.as_ref().unwrap().token_env, "GITHUB_TOKEN");
        // Both trackers at once: GitHub takes items unless `trackers.default` says Jira.
        assert_eq!(
            crate::trackers::default_tracker(&file.trackers).unwrap(),
            Some(commands::tracker::TrackerKind::GitHub)
        );
        let err = FileConfig::parse("[trackers.github]\nrepo = \"a/b\"\ntoken = \"x\"").unwrap_err();
        assert!(format!("{err:#}").contains("token"), "{err:#}");
    }

    #[test]
    fn schedules_default_and_bad_ones_name_their_key() {
        let file = FileConfig::default();
        let followups = file.followup_settings(&file.console).unwrap();
        assert_eq!(followups.reminders.source(), "0 9 * * 1-5");
        assert_eq!(followups.digest.source(), "0 9 * * 1");
        assert_eq!(followups.escalate_after, 3);
        let file = FileConfig::parse("[schedules]\ndigest = \"0 25 * * 1\"").unwrap();
        let err = file.followup_settings(&file.console).unwrap_err();
        assert!(err.to_string().contains("`schedules.digest`"), "{err}");
    }

    #[test]
    fn services_and_factors_parse_and_duplicates_are_refused() {
        let file = FileConfig::parse(
            r#"
            [[services]]
            name = "checkout"
            team = "payments"
            owners = ["U0OLGA"]
            aliases = ["cart"]
            team_channels = { slack = "C0PAY", console = "team-payments" }
            [[services]]
            name = "search"
            [[factors]]
            tag = "change"
            description = "A change set it off."
            "#,
        )
        .unwrap();
        let settings = file.settings(&file.console).unwrap();
        let checkout = settings.services.resolve("cart").unwrap();
        assert_eq!(checkout.team_channels.get(&storage::Platform::Slack).map(|c| c.as_str()), Some("C0PAY"));
        assert_eq!(settings.factors.factors().len(), 1);
        assert_eq!(FileConfig::default().settings(&PlatformChannels::default()).unwrap().factors.factors().len(), 11);

        let twice =
            FileConfig::parse("[[services]]\nname = \"a\"\n[[services]]\nname = \"b\"\naliases = [\"a\"]").unwrap();
        let err = twice.settings(&twice.console).unwrap_err();
        assert!(format!("{err:#}").contains("`services`") && format!("{err:#}").contains("`a`"), "{err:#}");
        let tags = FileConfig::parse(
            "[[factors]]\ntag = \"x\"\ndescription = \"\"\n[[factors]]\ntag = \"x\"\ndescription = \"\"",
        )
        .unwrap();
        assert!(format!("{:#}", tags.settings(&tags.console).unwrap_err()).contains("listed twice"));
    }

    #[test]
    fn bad_values_name_their_key() {
        let err = FileConfig::parse("timezone = \"Mars/Olympus\"").unwrap().timezone().unwrap_err();
        assert!(err.to_string().contains("`timezone`"), "{err}");
        let err = FileConfig::parse("timezon = \"UTC\"").unwrap_err();
        assert!(format!("{err:#}").contains("timezon"), "{err:#}");
        let file = FileConfig::parse("default_severity = \"sev9\"").unwrap();
        let err = file.settings(&file.console).unwrap_err();
        assert!(format!("{err:#}").contains("default_severity"), "{err:#}");
    }
}
