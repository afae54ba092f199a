//! Building serenity's REST client. In production it talks to Discord through serenity's
//! own rate limiter; with `DISCORD_API_URL` set (tests), every request goes to that
//! URL instead, and the rate limiter must be off or serenity ignores the proxy.
//!
//! Either way every request has a time-out: serenity's default HTTP client has none, so
//! a Discord that never answers would hold the calling task forever.

use std::time::Duration;

use serenity::http::{Http, HttpBuilder};
use serenity::model::id::ApplicationId;

use crate::secret::Secret;

/// Time limits of one REST request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestTimeouts {
    /// From sending the request to the end of the answer's body.
    pub request: Duration,
    /// For opening the connection (TLS included).
    pub connect: Duration,
}

impl Default for RestTimeouts {
    fn default() -> Self {
        // Interactions must be answered within 3 s; anything slower than this is a failure.
        RestTimeouts { request: Duration::from_secs(10), connect: Duration::from_secs(5) }
    }
}

/// The HTTP client serenity sends through, with `timeouts`.
fn http_client(timeouts: &RestTimeouts) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(timeouts.request)
        .connect_timeout(timeouts.connect)
        .user_agent(concat!("incidentbot/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// The REST client for `token`. `api_url` replaces `https://discord.com` when given.
pub fn build_http(token: &Secret, api_url: Option<&str>, application_id: Option<u64>) -> Http {
    build_http_with(token, api_url, application_id, &RestTimeouts::default())
}

/// [`build_http`] with the given time-outs.
pub fn build_http_with(
    token: &Secret,
    api_url: Option<&str>,
    application_id: Option<u64>,
    timeouts: &RestTimeouts,
) -> Http {
    let mut builder = HttpBuilder::new(token.expose());
    match http_client(timeouts) {
        Ok(client) => builder = builder.client(client),
        // Only a TLS backend that fails to start gets here, and serenity's own client
        // would fail the same way; keep going so the error shows at the first call.
        Err(error) => tracing::error!(%error, "discord: cannot build the HTTP client with time-outs"),
    }
    if let Some(url) = api_url {
        builder = builder.proxy(url.trim_end_matches('/')).ratelimiter_disabled(true);
    }
    if let Some(id) = application_id.filter(|id| *id != 0) {
        builder = builder.application_id(ApplicationId::new(id));
    }
    let mut http = builder.build();
    if let Some(ratelimiter) = http.ratelimiter.as_mut() {
        // Called whenever a request waits for Discord's rate limit before going (again).
        ratelimiter
            .set_ratelimit_callback(Box::new(|_| crate::metrics::metrics().chat_api_retry(storage::Platform::Discord)));
    }
    http
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_proxy_disables_the_rate_limiter_and_production_keeps_it() {
        let token = Secret::new("sentinel-token-value");
        let proxied = build_http(&token, Some("http://127.0.0.1:9/"), Some(42));
        assert_eq!(proxied.proxy.as_deref(), Some("http://127.0.0.1:9"));
        assert!(proxied.ratelimiter.is_none());
        assert_eq!(proxied.application_id().map(|id| id.get()), Some(42));
        let production = build_http(&token, None, None);
        assert!(production.proxy.is_none());
        assert!(production.ratelimiter.is_some());
        assert!(!format!("{proxied:?} {production:?}").contains("sentinel-token-value"));
    }

    #[tokio::test]
    async fn a_request_that_gets_no_answer_times_out() {
        // A server that accepts and never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let _server = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        let timeouts = RestTimeouts { request: Duration::from_millis(200), connect: Duration::from_millis(200) };
        let http = build_http_with(&Secret::new("token"), Some(&url), Some(42), &timeouts);
        let started = std::time::Instant::now();
        let error = http.get_current_user().await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
        let serenity::Error::Http(serenity::http::HttpError::Request(request)) = error else {
            panic!("not a request error: {error:?}");
        };
        assert!(request.is_timeout(), "{request:?}");
    }
}
