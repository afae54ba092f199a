//! Postmortems as pull requests on GitHub: the branch through the Git refs API
//! (`GET …/git/ref/heads/{base}`, `POST …/git/refs`), the file through the contents API
//! (`PUT …/contents/{path}` with the content in base64, and the blob's `sha` when it
//! replaces one), and the pull request through `POST …/pulls`.
//! <https://docs.github.com/en/rest/repos/contents>, <https://docs.github.com/en/rest/pulls/pulls>

use async_trait::async_trait;
use base64::Engine;
use commands::postmortem_repo::{PostmortemRepo, ProposedFile, PullRequest, RepoError};
use serde_json::json;

use crate::secret::Secret;
use crate::trackers::http::{send_json, Failed};

pub struct GitHubPostmortems {
    http: reqwest::Client,
    api_url: String,
    token: Secret,
    /// `owner/name`.
    repo: String,
    /// The branch pull requests go into.
    base: String,
}

fn failed(operation: &'static str) -> impl Fn(Failed) -> RepoError {
    move |f| RepoError::new(operation, f.detail, f.retryable)
}

/// A path or branch as one URL path segment list: each segment percent-encoded.
fn encode_path(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            segment
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                    other => format!("%{other:02X}"),
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("/")
}

impl GitHubPostmortems {
    pub fn new(api_url: &str, token: Secret, repo: &str, base: &str) -> anyhow::Result<GitHubPostmortems> {
        let valid = repo.split_once('/').is_some_and(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'));
        if !valid {
            anyhow::bail!("`postmortem_repo.repo`: `{repo}` is not owner/name");
        }
        Ok(GitHubPostmortems {
            http: crate::trackers::http::client()?,
            api_url: api_url.trim_end_matches('/').to_string(),
            token,
            repo: repo.to_string(),
            base: base.to_string(),
        })
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}/repos/{}{path}", self.api_url, self.repo))
            .bearer_auth(self.token.expose())
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
    }

    /// Creates `branch` at the base branch's head; one that exists already is kept.
    async fn ensure_branch(&self, branch: &str) -> Result<(), RepoError> {
        let head =
            send_json(self.request(reqwest::Method::GET, &format!("/git/ref/heads/{}", encode_path(&self.base))))
                .await
                .map_err(failed("reading the base branch"))?;
        let sha = head["object"]["sha"]
            .as_str()
            .ok_or_else(|| RepoError::new("reading the base branch", "no commit sha in the answer", false))?;
        let created = send_json(
            self.request(reqwest::Method::POST, "/git/refs")
                .json(&json!({ "ref": format!("refs/heads/{branch}"), "sha": sha })),
        )
        .await;
        match created {
            Ok(_) => Ok(()),
            // 422 "Reference already exists": an earlier attempt made it.
            Err(f) if f.detail.starts_with("HTTP 422") && f.detail.contains("already exists") => Ok(()),
            Err(f) => Err(failed("creating the branch")(f)),
        }
    }

    /// The blob sha of `path` on `branch`, when the file exists there.
    async fn file_sha(&self, branch: &str, path: &str) -> Result<Option<String>, RepoError> {
        let answer = send_json(
            self.request(reqwest::Method::GET, &format!("/contents/{}", encode_path(path))).query(&[("ref", branch)]),
        )
        .await;
        match answer {
            Ok(file) => Ok(file["sha"].as_str().map(str::to_string)),
            Err(f) if f.detail.starts_with("HTTP 404") => Ok(None),
            Err(f) => Err(failed("reading the postmortem file")(f)),
        }
    }

    async fn put_file(&self, file: &ProposedFile) -> Result<(), RepoError> {
        let mut body = json!({
            "message": file.message,
            "content": base64::engine::general_purpose::STANDARD.encode(file.content.as_bytes()),
            "branch": file.branch,
        });
        if let Some(sha) = self.file_sha(&file.branch, &file.path).await? {
            body["sha"] = json!(sha);
        }
        send_json(self.request(reqwest::Method::PUT, &format!("/contents/{}", encode_path(&file.path))).json(&body))
            .await
            .map_err(failed("committing the postmortem file"))?;
        Ok(())
    }

    /// The open pull request from `branch`, if there is one.
    async fn open_pr_from(&self, branch: &str) -> Result<Option<PullRequest>, RepoError> {
        let owner = self.repo.split('/').next().unwrap_or_default();
        let answer = send_json(
            self.request(reqwest::Method::GET, "/pulls")
                .query(&[("head", format!("{owner}:{branch}")), ("state", "open".to_string())]),
        )
        .await
        .map_err(failed("listing pull requests"))?;
        Ok(answer.as_array().and_then(|prs| prs.first()).and_then(|pr| {
            Some(PullRequest { number: pr["number"].as_i64()?, url: pr["html_url"].as_str()?.to_string() })
        }))
    }
}

#[async_trait]
impl PostmortemRepo for GitHubPostmortems {
    async fn open_pull_request(&self, file: &ProposedFile, title: &str, body: &str) -> Result<PullRequest, RepoError> {
        self.ensure_branch(&file.branch).await?;
        self.put_file(file).await?;
        if let Some(open) = self.open_pr_from(&file.branch).await? {
            return Ok(open);
        }
        let answer = send_json(
            self.request(reqwest::Method::POST, "/pulls")
                .json(&json!({ "title": title, "head": file.branch, "base": self.base, "body": body })),
        )
        .await
        .map_err(failed("opening the pull request"))?;
        match (answer["number"].as_i64(), answer["html_url"].as_str()) {
            (Some(number), Some(url)) => Ok(PullRequest { number, url: url.to_string() }),
            _ => Err(RepoError::new("opening the pull request", "no number or URL in the answer", false)),
        }
    }

    async fn update_file(&self, file: &ProposedFile) -> Result<(), RepoError> {
        self.put_file(file).await
    }

    async fn is_merged(&self, number: i64) -> Result<bool, RepoError> {
        let pr = send_json(self.request(reqwest::Method::GET, &format!("/pulls/{number}")))
            .await
            .map_err(failed("reading the pull request"))?;
        Ok(pr["merged"].as_bool().unwrap_or(false))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_encoded_segment_by_segment() {
        assert_eq!(encode_path("postmortems/2026-03-02-inc-3-a.md"), "postmortems/2026-03-02-inc-3-a.md");
        assert_eq!(encode_path("pm/a b?#.md"), "pm/a%20b%3F%23.md");
    }
}
