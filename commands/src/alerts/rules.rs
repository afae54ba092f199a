//! What an alert does: the configured rules, in order. The first rule whose matchers
//! all match decides; with no match the alert goes to triage, proposing the default
//! severity.

use std::collections::BTreeMap;

use storage::Severity;

use super::matcher::{MatcherError, Matchers};

/// What a matching rule does with an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleAction {
    /// The system declares an incident.
    Declare,
    /// A person decides, from a post in the triage channel.
    Triage,
    /// Nothing; the alert is stored and counted only.
    Ignore,
}

impl std::str::FromStr for RuleAction {
    type Err = String;
    fn from_str(word: &str) -> Result<Self, Self::Err> {
        match word {
            "declare" => Ok(RuleAction::Declare),
            "triage" => Ok(RuleAction::Triage),
            "ignore" => Ok(RuleAction::Ignore),
            other => Err(format!("`{other}` is not one of declare, triage, ignore")),
        }
    }
}

/// One `[[alerts.rules]]` entry.
#[derive(Debug, Clone)]
pub struct Rule {
    pub when: Matchers,
    pub then: RuleAction,
    /// For declare, and what triage proposes; `None` uses the default severity.
    pub severity: Option<Severity>,
}

/// A rule that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error(transparent)]
    Matcher(#[from] MatcherError),
    #[error("`then`: {0}")]
    Action(String),
}

impl Rule {
    pub fn parse(when: &str, then: &str, severity: Option<Severity>) -> Result<Rule, RuleError> {
        Ok(Rule { when: Matchers::parse(when)?, then: then.parse().map_err(RuleError::Action)?, severity })
    }
}

/// What the rules decided for one alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub action: RuleAction,
    pub severity: Severity,
}

/// The first matching rule's decision, else triage with `default_severity`.
pub fn evaluate(rules: &[Rule], labels: &BTreeMap<String, String>, default_severity: Severity) -> Decision {
    rules
        .iter()
        .find(|rule| rule.when.matches(labels))
        .map(|rule| Decision { action: rule.then, severity: rule.severity.unwrap_or(default_severity) })
        .unwrap_or(Decision { action: RuleAction::Triage, severity: default_severity })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn first_match_wins_else_triage() {
        let rules = vec![
            Rule::parse(r#"severity="critical", env=~"prod|production""#, "declare", Some(Severity::Sev1)).unwrap(),
            Rule::parse(r#"severity="critical""#, "triage", Some(Severity::Sev2)).unwrap(),
            Rule::parse(r#"alertname="Watchdog""#, "ignore", None).unwrap(),
        ];
        let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let decide = |l| evaluate(&rules, &l, Severity::Sev3);
        assert_eq!(
            decide(labels(&[("severity", "critical"), ("env", "production")])),
            Decision { action: RuleAction::Declare, severity: Severity::Sev1 }
        );
        assert_eq!(
            decide(labels(&[("severity", "critical"), ("env", "staging")])),
            Decision { action: RuleAction::Triage, severity: Severity::Sev2 }
        );
        assert_eq!(decide(labels(&[("alertname", "Watchdog")])).action, RuleAction::Ignore);
        assert_eq!(
            decide(labels(&[("alertname", "Other")])),
            Decision { action: RuleAction::Triage, severity: Severity::Sev3 }
        );
        assert!(matches!(Rule::parse("", "page", None), Err(RuleError::Action(_))));
    }
}
