//! GitHub Issues as the tracker, through the REST API
//! (<https://docs.github.com/en/rest/issues/issues>): an action item is opened with
//! `POST /repos/{owner}/{repo}/issues`, followed with `PATCH …/issues/{number}`, and
//! its webhook `issues` events (closed, reopened, assigned, and edited for the due date
//! in the body) come back signed with `X-Hub-Signature-256`.

use async_trait::async_trait;
use commands::follow_through::{IssueChange, TrackerEvent};
use commands::tracker::{BodyPiece, IssueDraft, IssueRef, IssueState, Tracker, TrackerError, TrackerKind};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::secret::Secret;
use crate::trackers::http::{send_json, Failed};

pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// The GitHub client for one default repository.
pub struct GitHub {
    http: reqwest::Client,
    api_url: String,
    token: Secret,
    /// `owner/name`, as configured.
    repo: String,
    labels: Vec<String>,
}

impl GitHub {
    pub fn new(api_url: &str, token: Secret, repo: &str, labels: Vec<String>) -> anyhow::Result<GitHub> {
        if parse_repo(repo).is_none() {
            anyhow::bail!("`trackers.github.repo`: `{repo}` is not owner/name");
        }
        Ok(GitHub {
            http: crate::trackers::http::client()?,
            api_url: api_url.trim_end_matches('/').to_string(),
            token,
            repo: repo.to_string(),
            labels,
        })
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.api_url))
            .bearer_auth(self.token.expose())
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
    }
}

fn failed(operation: &'static str) -> impl Fn(Failed) -> TrackerError {
    move |f| TrackerError::new(operation, f.detail, f.retryable)
}

/// Whether `repo` is `owner/name` (for the config's per-service repositories).
pub fn is_repo(repo: &str) -> bool {
    parse_repo(repo).is_some()
}

/// `owner/name` split, when it is one.
fn parse_repo(repo: &str) -> Option<(&str, &str)> {
    let (owner, name) = repo.split_once('/')?;
    let ok = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    (ok(owner) && ok(name)).then_some((owner, name))
}

/// `owner/name#12`, in lower case: GitHub names are case-insensitive, webhooks spell
/// them as the repository does.
fn issue_key(repo: &str, number: u64) -> String {
    format!("{}#{number}", repo.to_ascii_lowercase())
}

/// The repository and number of a key.
fn split_key(key: &str) -> Option<(&str, u64)> {
    let (repo, number) = key.rsplit_once('#')?;
    parse_repo(repo)?;
    Some((repo, number.parse().ok()?))
}

/// The issue body in GitHub Markdown. User text is written as-is inside the paragraph;
/// GitHub renders it safely.
pub fn markdown(body: &[Vec<BodyPiece>]) -> String {
    body.iter()
        .map(|paragraph| {
            paragraph
                .iter()
                .map(|piece| match piece {
                    BodyPiece::Text(text) => text.clone(),
                    // `**Kind:** `: Markdown's emphasis may not end in a space.
                    BodyPiece::Bold(text) => {
                        let trimmed = text.trim_end();
                        format!("**{trimmed}**{}", &text[trimmed.len()..])
                    }
                    BodyPiece::Link { text, url } => format!("[{text}]({url})"),
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The date after `**Due:** ` in a body written by [`markdown`], when it is one.
fn due_in(body: &str) -> Option<chrono::NaiveDate> {
    let (_, rest) = body.split_once("**Due:** ")?;
    let date: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '-').collect();
    chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").ok()
}

/// Replaces the date after `**Due:** ` in a body written by [`markdown`].
fn with_due(body: &str, due: chrono::NaiveDate) -> Option<String> {
    const LABEL: &str = "**Due:** ";
    let (before, rest) = body.split_once(LABEL)?;
    let after = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == '-');
    Some(format!("{before}{LABEL}{due}{after}"))
}

#[async_trait]
impl Tracker for GitHub {
    fn kind(&self) -> TrackerKind {
        TrackerKind::GitHub
    }

    async fn create_issue(&self, draft: &IssueDraft) -> Result<IssueRef, TrackerError> {
        let mut body = json!({ "title": draft.title, "body": markdown(&draft.body), "labels": self.labels });
        if let Some(login) = &draft.assignee {
            body["assignees"] = json!([login]);
        }
        // A service of the incident may name its own repository.
        let repo = draft.destination.as_deref().unwrap_or(&self.repo);
        let path = format!("/repos/{repo}/issues");
        let answer = match send_json(self.request(reqwest::Method::POST, &path).json(&body)).await {
            // 422 names a field GitHub refused; an assignee without access to the
            // repository is the likely one. The issue opens unassigned rather than never
            // (the body names the owner).
            Err(f) if f.detail.starts_with("HTTP 422") && draft.assignee.is_some() => {
                tracing::warn!(detail = f.detail, "GitHub refused the issue as assigned; opening it unassigned");
                if let Some(fields) = body.as_object_mut() {
                    fields.remove("assignees");
                }
                send_json(self.request(reqwest::Method::POST, &path).json(&body)).await
            }
            other => other,
        }
        .map_err(failed("creating a GitHub issue"))?;
        let number = answer["number"]
            .as_u64()
            .ok_or_else(|| TrackerError::new("creating a GitHub issue", "the answer has no issue number", false))?;
        let url = answer["html_url"].as_str().unwrap_or_default().to_string();
        Ok(IssueRef { key: issue_key(repo, number), url })
    }

    async fn find_issue(&self, marker: &str, destination: Option<&str>) -> Result<Option<IssueRef>, TrackerError> {
        let repo = destination.unwrap_or(&self.repo);
        // GitHub's issue search: the marker as a phrase, in bodies, in that repository.
        // `advanced_search`: the query syntax GitHub keeps once the legacy one is removed
        // (announced in its changelog of 2025-03-06).
        let query = format!("\"{marker}\" in:body repo:{repo} is:issue");
        let params = [("q", query.as_str()), ("advanced_search", "true")];
        let answer = send_json(self.request(reqwest::Method::GET, "/search/issues").query(&params))
            .await
            .map_err(failed("searching GitHub issues"))?;
        let items = answer["items"].as_array().cloned().unwrap_or_default();
        // Search matches words, so `#12` also finds `#120`: the body must end the marker.
        let found = items
            .iter()
            .find(|issue| issue["body"].as_str().is_some_and(|body| body.lines().any(|line| line.trim() == marker)));
        Ok(found.and_then(|issue| {
            Some(IssueRef {
                key: issue_key(repo, issue["number"].as_u64()?),
                url: issue["html_url"].as_str()?.to_string(),
            })
        }))
    }

    async fn sync_issue(&self, key: &str, state: &IssueState) -> Result<(), TrackerError> {
        let (repo, number) = split_key(key)
            .ok_or_else(|| TrackerError::new("updating a GitHub issue", format!("bad key {key}"), false))?;
        let path = format!("/repos/{repo}/issues/{number}");
        let current =
            send_json(self.request(reqwest::Method::GET, &path)).await.map_err(failed("reading a GitHub issue"))?;
        let mut patch = json!({
            "state": if state.open { "open" } else { "closed" },
        });
        if !state.open {
            patch["state_reason"] = json!("completed");
        }
        if let Some(login) = &state.assignee {
            patch["assignees"] = json!([login]);
        }
        // GitHub has no due date: it lives in the body the bot wrote.
        if let Some(body) = current["body"].as_str().and_then(|b| with_due(b, state.due)) {
            if Some(body.as_str()) != current["body"].as_str() {
                patch["body"] = json!(body);
            }
        }
        send_json(self.request(reqwest::Method::PATCH, &path).json(&patch))
            .await
            .map_err(failed("updating a GitHub issue"))?;
        Ok(())
    }

    fn parse_reference(&self, text: &str) -> Option<IssueRef> {
        let text = text.trim().trim_start_matches('<').trim_end_matches('>');
        let (repo, number) = if let Some(path) =
            text.strip_prefix("https://github.com/").or_else(|| text.strip_prefix("http://github.com/"))
        {
            let mut parts = path.split('/');
            let (owner, name, kind, number) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
            if kind != "issues" {
                return None;
            }
            (format!("{owner}/{name}"), number.split(['#', '?']).next()?.parse::<u64>().ok()?)
        } else if let Some(number) = text.strip_prefix('#') {
            (self.repo.clone(), number.parse().ok()?)
        } else {
            let (repo, number) = text.rsplit_once('#')?;
            (repo.to_string(), number.parse().ok()?)
        };
        parse_repo(&repo)?;
        if number == 0 {
            return None;
        }
        Some(IssueRef { key: issue_key(&repo, number), url: format!("https://github.com/{repo}/issues/{number}") })
    }
}

/// Why a webhook delivery was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the X-Hub-Signature-256 header is missing or malformed")]
    MissingSignature,
    #[error("the signature does not match")]
    Mismatch,
}

/// Checks `X-Hub-Signature-256: sha256=<hex>` over the raw body, in constant time.
pub fn verify_signature(secret: &Secret, header: Option<&str>, body: &[u8]) -> Result<(), WebhookError> {
    let hex_sig = header.and_then(|h| h.trim().strip_prefix("sha256=")).ok_or(WebhookError::MissingSignature)?;
    let expected = hex::decode(hex_sig).map_err(|_| WebhookError::MissingSignature)?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    mac.verify_slice(&expected).map_err(|_| WebhookError::Mismatch)
}

/// The signature GitHub would send for `body` (tests and the console's fakes use it).
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Reads an `issues` event into what the core follows; `None` for actions it does not
/// (labeled, edited, …) and for other events.
pub fn parse_event(event: &str, delivery_id: &str, payload: &Value) -> Option<TrackerEvent> {
    if event != "issues" {
        return None;
    }
    let repo = payload["repository"]["full_name"].as_str()?;
    let number = payload["issue"]["number"].as_u64()?;
    let change = match payload["action"].as_str()? {
        "closed" => IssueChange::Closed,
        "reopened" => IssueChange::Reopened,
        "assigned" => IssueChange::Assigned(payload["assignee"]["login"].as_str().map(str::to_string)),
        // GitHub has no due date field: it is the `**Due:**` line of the body the bot
        // wrote. Only an edit of the body can move it; a date that does not read as one
        // is left alone. The core ignores a date equal to the item's (our own sync).
        "edited" if payload["changes"].get("body").is_some() => {
            IssueChange::Due(payload["issue"]["body"].as_str().and_then(due_in)?)
        }
        _ => return None,
    };
    Some(TrackerEvent {
        tracker: TrackerKind::GitHub,
        issue_key: issue_key(repo, number),
        delivery_id: delivery_id.to_string(),
        change,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn github() -> GitHub {
        GitHub::new("http://localhost", Secret::new("t"), "Acme/Reliability", vec![]).unwrap()
    }

    #[test]
    fn references_in_every_form_name_one_issue() {
        let gh = github();
        for text in [
            "https://github.com/acme/reliability/issues/12",
            "acme/reliability#12",
            "#12",
            "<https://github.com/Acme/Reliability/issues/12>",
        ] {
            assert_eq!(gh.parse_reference(text).unwrap().key, "acme/reliability#12", "{text}");
        }
        for text in ["https://github.com/acme/reliability/pull/12", "#x", "12", "#0", "a/b/c#1", "#١٢"] {
            assert!(gh.parse_reference(text).is_none(), "{text}");
        }
    }

    #[test]
    fn signatures_verify_and_forgeries_do_not() {
        let secret = Secret::new("It's a Secret to Everybody");
        // GitHub's documented example: "Hello, World!" with that secret.
        let documented = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(sign(secret.expose(), b"Hello, World!"), documented);
        assert!(verify_signature(&secret, Some(documented), b"Hello, World!").is_ok());
        assert_eq!(verify_signature(&secret, Some(documented), b"Hello, World?"), Err(WebhookError::Mismatch));
        assert_eq!(verify_signature(&secret, None, b"x"), Err(WebhookError::MissingSignature));
        assert_eq!(verify_signature(&secret, Some("sha1=00"), b"x"), Err(WebhookError::MissingSignature));
    }

    #[test]
    fn the_due_date_in_a_body_is_replaced() {
        let date = chrono::NaiveDate::from_ymd_opt(2026, 4, 1).unwrap();
        let body = "**Kind:** prevent · **Due:** 2026-03-09\n\nmore";
        assert_eq!(with_due(body, date).unwrap(), "**Kind:** prevent · **Due:** 2026-04-01\n\nmore");
        assert_eq!(with_due("no date here", date), None);
    }

    #[test]
    fn an_edited_body_with_a_new_due_date_is_a_due_change_and_anything_else_is_not() {
        let event = |body: &str, changes: Value| {
            let payload = json!({
                "action": "edited",
                "changes": changes,
                "issue": { "number": 12, "body": body },
                "repository": { "full_name": "Acme/Reliability" },
            });
            parse_event("issues", "d-1", &payload).map(|e| e.change)
        };
        let body_changed = json!({ "body": { "from": "old" } });
        assert_eq!(
            event("**Kind:** fix · **Due:** 2026-04-01\n\nx", body_changed.clone()),
            Some(IssueChange::Due(chrono::NaiveDate::from_ymd_opt(2026, 4, 1).unwrap()))
        );
        for bad in ["**Due:** -5é", "**Due:** 2026-02-30", "**Due:** ٢٠٢٦-٠٤-٠١", "no due line", "**Due:** 2026-04"]
        {
            assert_eq!(event(bad, body_changed.clone()), None, "{bad}");
        }
        // A title edit carries no body change.
        assert_eq!(event("**Due:** 2026-04-01", json!({ "title": { "from": "old" } })), None);
    }
}
