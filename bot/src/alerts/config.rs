//! The `[alerts]` section: where alert incidents and triage posts go, each source
//! (`POST /alerts/<name>`) with the env var holding its secret, and the rules. Read and
//! checked at start-up; a bad value is an error naming its key.

use std::collections::HashSet;

use anyhow::{bail, Context};
use commands::alerts::{AlertSettings, Rule};
use serde::Deserialize;

use crate::secret::Secret;

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// `slack`, `discord` or `console`: where alert incidents and triage posts go when
    /// several platforms run.
    pub platform: Option<String>,
    /// A channel id on that platform (console: a name; default `alerts`).
    pub triage_channel: Option<String>,
    pub sources: Vec<SourceConfig>,
    pub rules: Vec<RuleConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// `POST /alerts/<name>`.
    pub name: String,
    pub kind: SourceKind,
    /// The env var holding the source's secret (never the secret itself).
    pub secret_env: String,
    /// Grafana only: the env var holding the HMAC signing secret, when the contact
    /// point signs its requests (`X-Grafana-Alerting-Signature`).
    #[serde(default)]
    pub hmac_secret_env: Option<String>,
    /// Grafana only: the timestamp header configured on the contact point, when set.
    #[serde(default)]
    pub hmac_timestamp_header: Option<String>,
    /// Grafana only: the signature header, when the contact point names another than
    /// `X-Grafana-Alerting-Signature`.
    #[serde(default)]
    pub hmac_header: Option<String>,
    /// Deliveries a minute before 429 (default 120).
    #[serde(default)]
    pub max_per_minute: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Alertmanager,
    Grafana,
    Pagerduty,
    Generic,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Alertmanager => "alertmanager",
            SourceKind::Grafana => "grafana",
            SourceKind::Pagerduty => "pagerduty",
            SourceKind::Generic => "generic",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Alertmanager matchers: `severity="critical", env=~"prod|production"`.
    #[serde(default)]
    pub when: String,
    /// `declare`, `triage` or `ignore`.
    pub then: String,
    pub severity: Option<String>,
}

/// One source, ready to serve: its secrets read from the environment.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub kind: SourceKind,
    pub secret: Secret,
    pub hmac_secret: Option<Secret>,
    pub hmac_timestamp_header: Option<String>,
    /// Where the HMAC signature comes, lowercase.
    pub hmac_header: String,
    pub max_per_minute: u32,
}

/// The default budget of deliveries per source and minute.
pub const DEFAULT_MAX_PER_MINUTE: u32 = 120;

impl AlertsConfig {
    /// The rules and triage channel for the core alerts go to.
    pub fn settings(&self, default_triage_channel: Option<&str>) -> anyhow::Result<AlertSettings> {
        let mut rules = Vec::new();
        for (index, rule) in self.rules.iter().enumerate() {
            let key = format!("`alerts.rules[{index}]`");
            let severity = rule.severity.as_deref().map(str::parse).transpose().with_context(|| key.clone())?;
            rules.push(Rule::parse(&rule.when, &rule.then, severity).with_context(|| key.clone())?);
        }
        Ok(AlertSettings {
            triage_channel: self
                .triage_channel
                .clone()
                .or_else(|| default_triage_channel.map(str::to_string))
                .map(storage::ChannelId::from),
            rules,
        })
    }

    /// Every source, with its secrets read from `env` (a missing one is an error
    /// naming the variable, never the value).
    pub fn sources(&self, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Vec<Source>> {
        let mut names = HashSet::new();
        let mut sources = Vec::new();
        for source in &self.sources {
            let name = &source.name;
            let valid = !name.is_empty()
                && name.len() <= 40
                && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
            if !valid {
                bail!("`alerts.sources`: name `{name}` must be 1-40 lowercase letters, digits, - or _");
            }
            if !names.insert(name.clone()) {
                bail!("`alerts.sources`: `{name}` is configured twice");
            }
            let read = |var: &str| {
                env(var).filter(|v| !v.trim().is_empty()).map(Secret::new).with_context(|| {
                    format!("`alerts.sources` `{name}`: the environment variable `{var}` (its secret) is not set")
                })
            };
            let secret = read(&source.secret_env)?;
            let hmac_secret = match (&source.hmac_secret_env, source.kind) {
                (Some(var), SourceKind::Grafana) => Some(read(var)?),
                (Some(_), _) => bail!("`alerts.sources` `{name}`: `hmac_secret_env` is for grafana sources"),
                (None, _) => None,
            };
            if hmac_secret.is_none() && (source.hmac_timestamp_header.is_some() || source.hmac_header.is_some()) {
                bail!("`alerts.sources` `{name}`: `hmac_header` and `hmac_timestamp_header` need `hmac_secret_env`");
            }
            let header_name = |field: &str, value: &str| -> anyhow::Result<String> {
                let lower = value.trim().to_ascii_lowercase();
                axum::http::HeaderName::from_bytes(lower.as_bytes())
                    .map(|_| lower.clone())
                    .map_err(|_| anyhow::anyhow!("`alerts.sources` `{name}`: `{field}` `{value}` is not a header name"))
            };
            let hmac_timestamp_header = match &source.hmac_timestamp_header {
                Some(value) => Some(header_name("hmac_timestamp_header", value)?),
                None => None,
            };
            let hmac_header = match &source.hmac_header {
                Some(value) => header_name("hmac_header", value)?,
                None => super::auth::GRAFANA_SIGNATURE_HEADER.to_string(),
            };
            let max_per_minute = source.max_per_minute.unwrap_or(DEFAULT_MAX_PER_MINUTE);
            if max_per_minute == 0 {
                bail!("`alerts.sources` `{name}`: `max_per_minute` must be at least 1");
            }
            sources.push(Source {
                name: name.clone(),
                kind: source.kind,
                secret,
                hmac_secret,
                hmac_timestamp_header,
                hmac_header,
                max_per_minute,
            });
        }
        Ok(sources)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_issue_example_parses_and_bad_values_name_their_key() {
        let config: AlertsConfig = toml::from_str(
            r#"
            platform = "slack"
            triage_channel = "C0123456789"
            [[sources]]
            name = "prometheus"
            kind = "alertmanager"
            secret_env = "ALERTS_PROMETHEUS_SECRET"
            [[rules]]
            when = 'severity="critical", env=~"prod|production"'
            then = "declare"
            severity = "sev1"
            "#,
        )
        .unwrap();
        let settings = config.settings(None).unwrap();
        assert_eq!(settings.rules.len(), 1);
        assert_eq!(settings.triage_channel.unwrap(), "C0123456789");
        let sources = config.sources(|var| (var == "ALERTS_PROMETHEUS_SECRET").then(|| "s3cret".into())).unwrap();
        assert_eq!(sources[0].max_per_minute, 120);
        assert!(!format!("{:?}", sources[0]).contains("s3cret"));
        let missing = config.sources(|_| None).unwrap_err();
        assert!(format!("{missing:#}").contains("ALERTS_PROMETHEUS_SECRET"), "{missing:#}");

        let bad: AlertsConfig = toml::from_str("[[rules]]\nwhen = 'sev=~\"(\"'\nthen = \"declare\"").unwrap();
        assert!(format!("{:#}", bad.settings(None).unwrap_err()).contains("alerts.rules[0]"));
        let bad: AlertsConfig = toml::from_str("[[rules]]\nthen = \"page\"").unwrap();
        assert!(format!("{:#}", bad.settings(None).unwrap_err()).contains("page"));
    }
}
