//! Building serenity's REST client. In production it talks to Discord through serenity's
//! own rate limiter; with `DISCORD_API_URL` set (tests), every request goes to that
//! URL instead, and the rate limiter must be off or serenity ignores the proxy.

use serenity::http::{Http, HttpBuilder};
use serenity::model::id::ApplicationId;

use crate::secret::Secret;

/// The REST client for `token`. `api_url` replaces `https://discord.com` when given.
pub fn build_http(token: &Secret, api_url: Option<&str>, application_id: Option<u64>) -> Http {
    let mut builder = HttpBuilder::new(token.expose());
    if let Some(url) = api_url {
        builder = builder.proxy(url.trim_end_matches('/')).ratelimiter_disabled(true);
    }
    if let Some(id) = application_id.filter(|id| *id != 0) {
        builder = builder.application_id(ApplicationId::new(id));
    }
    let mut http = builder.build();
    if let Some(ratelimiter) = http.ratelimiter.as_mut() {
        // Called whenever a request waits for Discord's rate limit before going (again).
        ratelimiter.set_ratelimit_callback(Box::new(|_| crate::metrics::metrics().chat_api_retry("discord")));
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
}
