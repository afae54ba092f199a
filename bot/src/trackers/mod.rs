//! Follow-through beyond chat: the clients for GitHub Issues ([`github`]), Jira Cloud
//! ([`jira`]), Atlassian Statuspage ([`statuspage`]) and postmortem pull requests on
//! GitHub ([`postmortem_pr`]), built from the config, and
//! the inbound tracker webhooks ([`webhook`]). Every rule lives in the core
//! (`commands::follow_through`); this module only speaks HTTP.
//!
//! `GITHUB_API_URL`, `JIRA_BASE_URL` and `STATUSPAGE_API_URL` point the clients at a
//! fake, for tests only, like `SLACK_API_URL`.

pub mod github;
pub mod http;
pub mod jira;
pub mod postmortem_pr;
pub mod statuspage;
pub mod webhook;

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{bail, Context};
use commands::follow_through::{FollowThrough, People, PersonIds};
use commands::tracker::TrackerKind;

use crate::config::{FileConfig, ServiceConfig};
use crate::secret::Secret;

/// The webhook secrets the inbound routes check.
#[derive(Debug, Clone, Default)]
pub struct WebhookSecrets {
    pub github: Option<Secret>,
    pub jira: Option<Secret>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn required_env(name: &str, key: &str) -> anyhow::Result<Secret> {
    env(name).map(Secret::new).with_context(|| format!("`{key}` names `{name}`, which is not set"))
}

/// Builds the follow-through clients the config asks for. `None` when it asks for none.
pub fn build(file: &FileConfig) -> anyhow::Result<Option<(FollowThrough, WebhookSecrets)>> {
    let trackers = &file.trackers;
    if trackers.github.is_none()
        && trackers.jira.is_none()
        && file.statuspage.is_none()
        && file.postmortem_repo.is_none()
    {
        return Ok(None);
    }
    let mut follow = FollowThrough::default();
    let mut secrets = WebhookSecrets::default();
    match (&trackers.github, &trackers.jira) {
        (Some(_), Some(_)) => bail!("configure one tracker: `[trackers.github]` or `[trackers.jira]`, not both"),
        (Some(gh), None) => {
            let token = required_env(&gh.token_env, "trackers.github.token_env")?;
            let api_url = env("GITHUB_API_URL").unwrap_or_else(|| github::DEFAULT_API_URL.to_string());
            follow.tracker = Some(Arc::new(github::GitHub::new(&api_url, token, &gh.repo, gh.labels.clone())?));
            follow.destinations = service_destinations(&file.services, TrackerKind::GitHub)?;
            if let Some(name) = &gh.webhook_secret_env {
                secrets.github = Some(required_env(name, "trackers.github.webhook_secret_env")?);
            }
        }
        (None, Some(jira_config)) => {
            let email = required_env(&jira_config.email_env, "trackers.jira.email_env")?;
            let token = required_env(&jira_config.token_env, "trackers.jira.token_env")?;
            let base_url = env("JIRA_BASE_URL").unwrap_or_else(|| jira_config.base_url.clone());
            follow.destinations = service_destinations(&file.services, TrackerKind::Jira)?;
            let client = jira::Jira::new(
                &base_url,
                &jira_config.base_url,
                email,
                token,
                &jira_config.project,
                &jira_config.issue_type,
            )?
            .with_projects(follow.destinations.values().cloned());
            follow.tracker = Some(Arc::new(client));
            if let Some(name) = &jira_config.webhook_secret_env {
                secrets.jira = Some(required_env(name, "trackers.jira.webhook_secret_env")?);
            }
        }
        (None, None) => {}
    }
    if let Some(page) = &file.statuspage {
        let key = required_env(&page.api_key_env, "statuspage.api_key_env")?;
        let api_url = env("STATUSPAGE_API_URL").unwrap_or_else(|| statuspage::DEFAULT_API_URL.to_string());
        follow.status_page = Some(Arc::new(statuspage::Statuspage::new(&api_url, key, &page.page_id)?));
        follow.components = page.components.clone().into_iter().collect();
    }
    if let Some(repo) = &file.postmortem_repo {
        let token = required_env(&repo.token_env, "postmortem_repo.token_env")?;
        let api_url = env("GITHUB_API_URL").unwrap_or_else(|| github::DEFAULT_API_URL.to_string());
        follow.postmortem_repo =
            Some(Arc::new(postmortem_pr::GitHubPostmortems::new(&api_url, token, &repo.repo, &repo.branch)?));
        follow.postmortem_path = repo.path.clone();
    }
    let people: HashMap<String, PersonIds> = file
        .people
        .iter()
        .map(|(chat, ids)| (chat.clone(), PersonIds { github: ids.github.clone(), jira: ids.jira.clone() }))
        .collect();
    follow.people = People::new(people);
    Ok(Some((follow, secrets)))
}

/// The services that name their own repository (`github_repo`) or project
/// (`jira_project`) for the tracker in use, by service name. A bad one stops start-up,
/// naming the service.
pub fn service_destinations(
    services: &[ServiceConfig],
    tracker: TrackerKind,
) -> anyhow::Result<HashMap<String, String>> {
    let mut destinations = HashMap::new();
    for service in services {
        let named = match tracker {
            TrackerKind::GitHub => service.github_repo.as_ref(),
            TrackerKind::Jira => service.jira_project.as_ref(),
        };
        let Some(destination) = named else { continue };
        let valid = match tracker {
            TrackerKind::GitHub => github::is_repo(destination),
            TrackerKind::Jira => jira::is_project_key(destination),
        };
        if !valid {
            let (key, shape) = match tracker {
                TrackerKind::GitHub => ("github_repo", "an owner/name repository"),
                TrackerKind::Jira => ("jira_project", "a Jira project key such as REL"),
            };
            bail!("`services` `{}`: {key} `{destination}` is not {shape}", service.name);
        }
        destinations.insert(service.name.clone(), destination.clone());
    }
    Ok(destinations)
}
