//! What the tracker, status page and postmortem-repository clients share: one HTTP
//! client, the send gate checked before every call, and the reading of a response into
//! success or a [`Failed`] that says whether to try again.

use std::time::Duration;

/// A call that did not succeed: the service's own words, and whether retrying may help.
#[derive(Debug, Clone)]
pub struct Failed {
    pub detail: String,
    pub retryable: bool,
}

pub fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("incidentbot/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

/// Sends a request and reads a JSON answer. 429 and 5xx are worth retrying; a network
/// failure too; any other error status is not. Nothing is sent while this copy's send
/// gate is shut (its lease may have run out): the attempt fails, to be retried by
/// whichever copy holds the lease.
pub async fn send_json(request: reqwest::RequestBuilder) -> Result<serde_json::Value, Failed> {
    if !crate::fence::gate().may_send() {
        return Err(Failed { detail: crate::fence::FENCED.to_string(), retryable: true });
    }
    let response = request.send().await.map_err(|e| Failed { detail: without_url(&e), retryable: true })?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        let retryable = status.as_u16() == 429 || status.is_server_error();
        let excerpt: String = text.chars().take(300).collect();
        return Err(Failed { detail: format!("HTTP {status}: {excerpt}"), retryable });
    }
    if text.trim().is_empty() {
        return Ok(serde_json::Value::Null);
    }
    serde_json::from_str(&text).map_err(|e| Failed { detail: format!("unreadable answer: {e}"), retryable: false })
}

/// A reqwest error without its URL, which may carry a query with secrets in other APIs.
fn without_url(error: &reqwest::Error) -> String {
    let mut shown = error.to_string();
    if let Some(url) = error.url() {
        shown = shown.replace(url.as_str(), "<url>");
    }
    if error.is_timeout() {
        "timed out".to_string()
    } else {
        shown
    }
}
