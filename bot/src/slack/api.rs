//! A thin client for Slack's Web API over reqwest. It sends the bot token as a bearer
//! header (never in a URL, never in a log), turns `ok: false` into a typed error,
//! waits out `429 Retry-After` a bounded number of times, and gives every call a timeout.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderValue, AUTHORIZATION, RETRY_AFTER};
use reqwest::StatusCode;
use serde_json::Value;

use crate::health::PlatformHealth;
use crate::metrics::metrics;
use crate::secret::Secret;

/// Attempts per call when Slack answers 429; the last 429 becomes an error.
const MAX_ATTEMPTS: u32 = 4;
/// Longest wait honoured from a `Retry-After` header, so one call cannot stall a task for long.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// Slack's own limit for answering is a few seconds; past this we give up on one call.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A failed Web API call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlackApiError {
    /// Slack answered `ok: false`; `code` is its error string, e.g. `name_taken`.
    #[error("{method}: Slack said `{code}`")]
    Api { method: String, code: String },
    #[error("{method}: still rate limited after {MAX_ATTEMPTS} attempts")]
    RateLimited { method: String },
    #[error("{method}: HTTP {status}")]
    Http { method: String, status: u16 },
    #[error("{method}: {detail}")]
    Transport { method: String, detail: String },
    #[error("{method}: the answer is not Slack's JSON: {detail}")]
    Decode { method: String, detail: String },
}

impl SlackApiError {
    /// Slack's error string when it answered `ok: false`.
    pub fn code(&self) -> Option<&str> {
        match self {
            SlackApiError::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Worth trying again later: rate limits, timeouts, Slack's own failures.
    pub fn retryable(&self) -> bool {
        match self {
            SlackApiError::Api { code, .. } => {
                matches!(code.as_str(), "ratelimited" | "internal_error" | "fatal_error")
            }
            SlackApiError::RateLimited { .. } | SlackApiError::Transport { .. } => true,
            SlackApiError::Http { status, .. } => *status >= 500,
            SlackApiError::Decode { .. } => false,
        }
    }

    /// True when the failure says nothing about whether Slack is reachable with this
    /// token (Slack answered, and only this call was refused, e.g. `name_taken`).
    fn leaves_connection_healthy(&self) -> bool {
        match self {
            SlackApiError::Api { code, .. } => !matches!(
                code.as_str(),
                "invalid_auth" | "not_authed" | "account_inactive" | "token_revoked" | "token_expired"
            ),
            SlackApiError::Decode { .. } => true,
            _ => false,
        }
    }
}

/// The Web API client. Cheap to clone.
#[derive(Clone)]
pub struct SlackApi {
    http: reqwest::Client,
    base_url: Arc<str>,
    token: Secret,
    /// Updated by every call: `/healthz` reports Slack as connected when the last call got through.
    health: Arc<PlatformHealth>,
}

impl std::fmt::Debug for SlackApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackApi").field("base_url", &self.base_url).field("token", &self.token).finish()
    }
}

/// An HTTP client with the timeouts every Slack call uses.
pub fn http_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("incidentbot/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| anyhow::anyhow!("cannot build the HTTP client: {e}"))
}

impl SlackApi {
    /// `base_url` is `SLACK_API_URL`, e.g. `https://slack.com/api`.
    pub fn new(base_url: &str, token: Secret) -> anyhow::Result<SlackApi> {
        Ok(SlackApi {
            http: http_client()?,
            base_url: base_url.trim_end_matches('/').into(),
            token,
            health: PlatformHealth::new(),
        })
    }

    /// Slack's connection as the calls so far saw it.
    pub fn health(&self) -> &Arc<PlatformHealth> {
        &self.health
    }

    /// Checks the bot token with `auth.test`; the result also updates [`SlackApi::health`].
    pub async fn verify_token(&self) -> Result<(), SlackApiError> {
        self.call("auth.test", &serde_json::json!({})).await.map(|_| ())
    }

    /// Calls `method` with a JSON body (Slack's write methods accept JSON).
    pub async fn call(&self, method: &str, body: &Value) -> Result<Value, SlackApiError> {
        self.send(method, |request| request.json(body)).await
    }

    /// Calls `method` with a form body (some read methods, such as
    /// `conversations.history`, take only form arguments).
    pub async fn call_form(&self, method: &str, args: &[(&str, String)]) -> Result<Value, SlackApiError> {
        self.send(method, |request| request.form(args)).await
    }

    async fn send(
        &self,
        method: &str,
        with_body: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<Value, SlackApiError> {
        if !crate::fence::gate().may_send() {
            return Err(SlackApiError::Transport { method: method.to_string(), detail: crate::fence::FENCED.into() });
        }
        let result = self.send_with_retries(method, with_body).await;
        match &result {
            Ok(_) => self.health.connected(),
            Err(error) => {
                metrics().chat_api_error(storage::Platform::Slack);
                if error.leaves_connection_healthy() {
                    self.health.connected();
                } else {
                    self.health.disconnected(error.to_string());
                }
            }
        }
        result
    }

    async fn send_with_retries(
        &self,
        method: &str,
        with_body: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<Value, SlackApiError> {
        let url = format!("{}/{method}", self.base_url);
        let mut bearer = HeaderValue::from_str(&format!("Bearer {}", self.token.expose())).map_err(|_| {
            SlackApiError::Transport {
                method: method.into(),
                detail: "the bot token is not a valid header value".into(),
            }
        })?;
        bearer.set_sensitive(true);
        for attempt in 1..=MAX_ATTEMPTS {
            let request = with_body(self.http.post(&url).header(AUTHORIZATION, bearer.clone()));
            let response = request.send().await.map_err(|e| SlackApiError::Transport {
                method: method.into(),
                // Without the URL: it is harmless, but the error's Display is enough.
                detail: e.without_url().to_string(),
            })?;
            let status = response.status();
            if status == StatusCode::TOO_MANY_REQUESTS {
                let wait = retry_after(response.headers().get(RETRY_AFTER));
                if attempt == MAX_ATTEMPTS {
                    break;
                }
                tracing::warn!(method, attempt, wait_secs = wait.as_secs(), "Slack rate limit; waiting");
                metrics().chat_api_retry(storage::Platform::Slack);
                tokio::time::sleep(wait).await;
                continue;
            }
            if !status.is_success() {
                return Err(SlackApiError::Http { method: method.into(), status: status.as_u16() });
            }
            let value: Value = response
                .json()
                .await
                .map_err(|e| SlackApiError::Decode { method: method.into(), detail: e.without_url().to_string() })?;
            if value.get("ok").and_then(Value::as_bool) == Some(true) {
                return Ok(value);
            }
            let code = value.get("error").and_then(Value::as_str).unwrap_or("unknown_error").to_string();
            return Err(SlackApiError::Api { method: method.into(), code });
        }
        Err(SlackApiError::RateLimited { method: method.into() })
    }
}

/// The wait a `Retry-After` header asks for (seconds), capped; 1 s when absent or odd.
fn retry_after(header: Option<&HeaderValue>) -> Duration {
    header
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(Duration::from_secs(1), Duration::from_secs)
        .min(MAX_RETRY_AFTER)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_read_and_capped() {
        assert_eq!(retry_after(Some(&HeaderValue::from_static("3"))), Duration::from_secs(3));
        assert_eq!(retry_after(Some(&HeaderValue::from_static("3600"))), MAX_RETRY_AFTER);
        assert_eq!(retry_after(Some(&HeaderValue::from_static("soon"))), Duration::from_secs(1));
        assert_eq!(retry_after(None), Duration::from_secs(1));
    }

    #[test]
    fn debug_hides_the_token() {
        let api = SlackApi::new("http://127.0.0.1:1/api", Secret::new("xoxb-sentinel")).unwrap();
        assert!(!format!("{api:?}").contains("sentinel"));
    }
}
