//! Jira Cloud as the tracker, through REST API v3
//! (<https://developer.atlassian.com/cloud/jira/platform/rest/v3/>): `POST /rest/api/3/issue`
//! with the description in Atlassian Document Format, `PUT /rest/api/3/issue/{key}` for
//! the assignee and due date, and a transition to a status in the `done` (or back to
//! the `new`) category for closing and reopening. Basic auth with an account's email and
//! API token. Admin webhooks registered with a secret come back signed with
//! `X-Hub-Signature: sha256=<hex>` over the raw body.

use async_trait::async_trait;
use commands::follow_through::{IssueChange, TrackerEvent};
use commands::tracker::{BodyPiece, IssueDraft, IssueRef, IssueState, Tracker, TrackerError, TrackerKind};
use serde_json::{json, Value};

use crate::secret::Secret;
use crate::trackers::http::{send_json, Failed};

pub struct Jira {
    http: reqwest::Client,
    /// Where the API is called (`JIRA_BASE_URL` in tests).
    api_url: String,
    /// The site people browse, for issue links.
    site_url: String,
    email: Secret,
    token: Secret,
    project: String,
    /// Every project items may go to (the default and the services' own), so a key of
    /// any of them can be linked by hand.
    projects: Vec<String>,
    issue_type: String,
}

impl Jira {
    pub fn new(
        api_url: &str,
        site_url: &str,
        email: Secret,
        token: Secret,
        project: &str,
        issue_type: &str,
    ) -> anyhow::Result<Jira> {
        if !is_project_key(project) {
            anyhow::bail!("`trackers.jira.project`: `{project}` is not a Jira project key such as REL");
        }
        Ok(Jira {
            http: crate::trackers::http::client()?,
            api_url: api_url.trim_end_matches('/').to_string(),
            site_url: site_url.trim_end_matches('/').to_string(),
            email,
            token,
            project: project.to_string(),
            projects: vec![project.to_string()],
            issue_type: issue_type.to_string(),
        })
    }

    /// Also accepts references to `more` projects (the services' own).
    pub fn with_projects(mut self, more: impl IntoIterator<Item = String>) -> Jira {
        for project in more {
            if !self.projects.contains(&project) {
                self.projects.push(project);
            }
        }
        self
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.api_url))
            .basic_auth(self.email.expose(), Some(self.token.expose()))
            .header("Accept", "application/json")
    }

    /// Moves the issue to a status of `category` (`done`, or `new` to reopen), through
    /// the first transition that leads there. None that does is a refusal.
    async fn transition_to(&self, key: &str, category: &str) -> Result<(), TrackerError> {
        let path = format!("/rest/api/3/issue/{key}/transitions");
        let answer =
            send_json(self.request(reqwest::Method::GET, &path)).await.map_err(failed("reading Jira transitions"))?;
        let wanted: &[&str] = if category == "done" { &["done"] } else { &["new", "indeterminate"] };
        let transitions = answer["transitions"].as_array().cloned().unwrap_or_default();
        let Some(id) = wanted.iter().find_map(|cat| {
            transitions.iter().find(|t| t["to"]["statusCategory"]["key"] == *cat).and_then(|t| t["id"].as_str())
        }) else {
            return Err(TrackerError::new(
                "moving a Jira issue",
                format!("no transition of {key} leads to a `{category}` status"),
                false,
            ));
        };
        send_json(self.request(reqwest::Method::POST, &path).json(&json!({ "transition": { "id": id } })))
            .await
            .map_err(failed("moving a Jira issue"))?;
        Ok(())
    }
}

/// Whether `key` is a Jira project key such as `REL`.
pub fn is_project_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// `REL-7`, when it is an issue key.
fn parse_key(text: &str) -> Option<String> {
    let (project, number) = text.rsplit_once('-')?;
    let number: u64 = number.parse().ok()?;
    (is_project_key(project) && number > 0).then(|| format!("{project}-{number}"))
}

fn failed(operation: &'static str) -> impl Fn(Failed) -> TrackerError {
    move |f| TrackerError::new(operation, f.detail, f.retryable)
}

/// The body as an Atlassian Document Format document: one paragraph per paragraph,
/// bold as a `strong` mark, links as a `link` mark.
pub fn adf(body: &[Vec<BodyPiece>]) -> Value {
    let paragraphs: Vec<Value> = body
        .iter()
        .map(|paragraph| {
            let content: Vec<Value> = paragraph
                .iter()
                .filter(|piece| !matches!(piece, BodyPiece::Text(t) | BodyPiece::Bold(t) if t.is_empty()))
                .map(|piece| match piece {
                    BodyPiece::Text(text) => json!({ "type": "text", "text": text }),
                    BodyPiece::Bold(text) => json!({ "type": "text", "text": text, "marks": [{ "type": "strong" }] }),
                    BodyPiece::Link { text, url } => {
                        json!({ "type": "text", "text": text, "marks": [{ "type": "link", "attrs": { "href": url } }] })
                    }
                })
                .collect();
            json!({ "type": "paragraph", "content": content })
        })
        .collect();
    json!({ "type": "doc", "version": 1, "content": paragraphs })
}

#[async_trait]
impl Tracker for Jira {
    fn kind(&self) -> TrackerKind {
        TrackerKind::Jira
    }

    async fn create_issue(&self, draft: &IssueDraft) -> Result<IssueRef, TrackerError> {
        // A service of the incident may name its own project.
        let project = draft.destination.as_deref().unwrap_or(&self.project);
        let mut fields = json!({
            "project": { "key": project },
            "issuetype": { "name": self.issue_type },
            "summary": draft.title,
            "description": adf(&draft.body),
            "duedate": draft.due.to_string(),
            "labels": ["incident-follow-up"],
        });
        if let Some(account) = &draft.assignee {
            fields["assignee"] = json!({ "accountId": account });
        }
        let answer =
            send_json(self.request(reqwest::Method::POST, "/rest/api/3/issue").json(&json!({ "fields": fields })))
                .await
                .map_err(failed("creating a Jira issue"))?;
        let key = answer["key"]
            .as_str()
            .and_then(parse_key)
            .ok_or_else(|| TrackerError::new("creating a Jira issue", "the answer has no issue key", false))?;
        Ok(IssueRef { url: format!("{}/browse/{key}", self.site_url), key })
    }

    async fn find_issue(&self, marker: &str, destination: Option<&str>) -> Result<Option<IssueRef>, TrackerError> {
        let project = destination.unwrap_or(&self.project);
        let jql = format!("project = {project} AND text ~ \"\\\"{marker}\\\"\"");
        let answer = send_json(
            self.request(reqwest::Method::GET, "/rest/api/3/search/jql")
                .query(&[("jql", jql.as_str()), ("fields", "description")]),
        )
        .await
        .map_err(failed("searching Jira issues"))?;
        let issues = answer["issues"].as_array().cloned().unwrap_or_default();
        // Text search matches words: the description must hold the marker itself.
        let found =
            issues.iter().find(|issue| issue["fields"]["description"].to_string().contains(&format!("\"{marker}\"")));
        Ok(found
            .and_then(|issue| issue["key"].as_str().and_then(parse_key))
            .map(|key| IssueRef { url: format!("{}/browse/{key}", self.site_url), key }))
    }

    async fn sync_issue(&self, key: &str, state: &IssueState) -> Result<(), TrackerError> {
        let key = parse_key(key).ok_or_else(|| TrackerError::new("updating a Jira issue", "bad issue key", false))?;
        let mut fields = json!({ "duedate": state.due.to_string() });
        if let Some(account) = &state.assignee {
            fields["assignee"] = json!({ "accountId": account });
        }
        send_json(
            self.request(reqwest::Method::PUT, &format!("/rest/api/3/issue/{key}")).json(&json!({ "fields": fields })),
        )
        .await
        .map_err(failed("updating a Jira issue"))?;
        let issue = send_json(self.request(reqwest::Method::GET, &format!("/rest/api/3/issue/{key}?fields=status")))
            .await
            .map_err(failed("reading a Jira issue"))?;
        let done = issue["fields"]["status"]["statusCategory"]["key"] == "done";
        match (state.open, done) {
            (false, false) => self.transition_to(&key, "done").await,
            (true, true) => self.transition_to(&key, "new").await,
            _ => Ok(()),
        }
    }

    fn parse_reference(&self, text: &str) -> Option<IssueRef> {
        let text = text.trim().trim_start_matches('<').trim_end_matches('>');
        let key = match text.rsplit_once("/browse/") {
            Some((site, key)) if site.starts_with("https://") => parse_key(key.split(['?', '#', '/']).next()?)?,
            Some(_) => return None,
            None => parse_key(text)?,
        };
        let project = key.rsplit_once('-').map(|(project, _)| project)?;
        self.projects
            .iter()
            .any(|p| p == project)
            .then(|| IssueRef { url: format!("{}/browse/{key}", self.site_url), key })
    }
}

/// Reads a `jira:issue_updated` event: a status moving into or out of the `done`
/// category, a new assignee or a new due date. `None` for anything else.
pub fn parse_event(delivery_id: &str, payload: &Value) -> Option<TrackerEvent> {
    if payload["webhookEvent"] != "jira:issue_updated" {
        return None;
    }
    let key = payload["issue"]["key"].as_str().and_then(parse_key)?;
    let items = payload["changelog"]["items"].as_array()?;
    let change = items.iter().find_map(|item| match item["field"].as_str()? {
        "status" => {
            let done = payload["issue"]["fields"]["status"]["statusCategory"]["key"] == "done";
            Some(if done { IssueChange::Closed } else { IssueChange::Reopened })
        }
        "assignee" => Some(IssueChange::Assigned(item["to"].as_str().map(str::to_string))),
        "duedate" => item["to"].as_str().and_then(|d| d.parse().ok()).map(IssueChange::Due),
        _ => None,
    })?;
    Some(TrackerEvent { tracker: TrackerKind::Jira, issue_key: key, delivery_id: delivery_id.to_string(), change })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_browse_urls_of_the_project_are_references() {
        let jira =
            Jira::new("http://x", "https://acme.atlassian.net", Secret::new("e"), Secret::new("t"), "REL", "Task")
                .unwrap();
        assert_eq!(jira.parse_reference("REL-7").unwrap().url, "https://acme.atlassian.net/browse/REL-7");
        assert_eq!(jira.parse_reference("https://acme.atlassian.net/browse/REL-7?focus=1").unwrap().key, "REL-7");
        for text in ["OPS-7", "REL-0", "REL-x", "rel-7", "REL-٧", "http://evil/browse/REL-7"] {
            assert!(jira.parse_reference(text).is_none(), "{text}");
        }
    }

    #[test]
    fn the_body_is_a_document_of_paragraphs_with_marks() {
        let doc = adf(&[vec![BodyPiece::Bold("Due: ".into()), BodyPiece::Text("2026-03-09".into())]]);
        assert_eq!(doc["type"], "doc");
        assert_eq!(doc["version"], 1);
        assert_eq!(doc["content"][0]["type"], "paragraph");
        assert_eq!(doc["content"][0]["content"][0]["marks"][0]["type"], "strong");
        assert_eq!(doc["content"][0]["content"][1]["text"], "2026-03-09");
    }
}
