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
use commands::follow_through::{Destination, FollowThrough, People, PersonIds};
use commands::tracker::{Tracker, TrackerKind};

use crate::config::{FileConfig, ServiceConfig, TrackersConfig};
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
    let default_kind = default_tracker(trackers)?;
    let destinations = match default_kind {
        Some(default) => {
            service_destinations(&file.services, default, trackers.github.is_some(), trackers.jira.is_some())?
        }
        None => HashMap::new(),
    };
    let mut clients: Vec<Arc<dyn Tracker>> = Vec::new();
    if let Some(gh) = &trackers.github {
        let token = required_env(&gh.token_env, "trackers.github.token_env")?;
        let api_url = env("GITHUB_API_URL").unwrap_or_else(|| github::DEFAULT_API_URL.to_string());
        clients.push(Arc::new(github::GitHub::new(&api_url, token, &gh.repo, gh.labels.clone())?));
        if let Some(name) = &gh.webhook_secret_env {
            secrets.github = Some(required_env(name, "trackers.github.webhook_secret_env")?);
        }
    }
    if let Some(jira_config) = &trackers.jira {
        let email = required_env(&jira_config.email_env, "trackers.jira.email_env")?;
        let token = required_env(&jira_config.token_env, "trackers.jira.token_env")?;
        let base_url = env("JIRA_BASE_URL").unwrap_or_else(|| jira_config.base_url.clone());
        let projects = destinations.values().filter(|d| d.tracker == TrackerKind::Jira).map(|d| d.place.clone());
        let client = jira::Jira::new(
            &base_url,
            &jira_config.base_url,
            email,
            token,
            &jira_config.project,
            &jira_config.issue_type,
        )?
        .with_projects(projects);
        clients.push(Arc::new(client));
        if let Some(name) = &jira_config.webhook_secret_env {
            secrets.jira = Some(required_env(name, "trackers.jira.webhook_secret_env")?);
        }
    }
    for client in clients {
        if Some(client.kind()) == default_kind {
            follow.tracker = Some(client);
        } else {
            follow.other_tracker = Some(client);
        }
    }
    follow.destinations = destinations;
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

/// The tracker items go to unless their service names another: the one configured, or
/// `trackers.default` when both are (GitHub when it is not set, the first the README
/// lists).
pub fn default_tracker(trackers: &TrackersConfig) -> anyhow::Result<Option<TrackerKind>> {
    let named = match trackers.default.as_deref().map(str::trim) {
        None => None,
        Some("github") => Some(TrackerKind::GitHub),
        Some("jira") => Some(TrackerKind::Jira),
        Some(other) => bail!("`trackers.default`: `{other}` is not github or jira"),
    };
    Ok(match (trackers.github.is_some(), trackers.jira.is_some(), named) {
        (false, false, None) => None,
        (false, false, Some(_)) => {
            bail!("`trackers.default` is set, but neither [trackers.github] nor [trackers.jira] is")
        }
        (true, false, Some(TrackerKind::Jira)) | (false, true, Some(TrackerKind::GitHub)) => {
            bail!("`trackers.default` names a tracker that is not configured")
        }
        (true, false, _) => Some(TrackerKind::GitHub),
        (false, true, _) => Some(TrackerKind::Jira),
        (true, true, named) => Some(named.unwrap_or(TrackerKind::GitHub)),
    })
}

/// The services that name their own place: a repository (`github_repo`) or a project
/// (`jira_project`) of a configured tracker, by service name. A service naming both
/// (with both trackers configured) goes to the default tracker's. A bad one stops
/// start-up, naming the service.
pub fn service_destinations(
    services: &[ServiceConfig],
    default: TrackerKind,
    github_configured: bool,
    jira_configured: bool,
) -> anyhow::Result<HashMap<String, Destination>> {
    let mut destinations = HashMap::new();
    for service in services {
        let github = service.github_repo.as_ref().filter(|_| github_configured);
        let jira = service.jira_project.as_ref().filter(|_| jira_configured);
        if let Some(repo) = github {
            if !github::is_repo(repo) {
                bail!("`services` `{}`: github_repo `{repo}` is not an owner/name repository", service.name);
            }
        }
        if let Some(project) = jira {
            if !jira::is_project_key(project) {
                bail!("`services` `{}`: jira_project `{project}` is not a Jira project key such as REL", service.name);
            }
        }
        let destination = match (github, jira) {
            (Some(repo), Some(_)) if default == TrackerKind::GitHub => Destination::github(repo),
            (Some(_), Some(project)) => Destination::jira(project),
            (Some(repo), None) => Destination::github(repo),
            (None, Some(project)) => Destination::jira(project),
            (None, None) => continue,
        };
        destinations.insert(service.name.clone(), destination);
    }
    Ok(destinations)
}
