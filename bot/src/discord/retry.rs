//! Retrying Discord REST calls, only where a retry cannot do anything twice.
//!
//! serenity's rate limiter (on in production) already waits out every 429 that carries
//! a `Retry-After` header and tries again, with no bound on the attempts or the wait.
//! With the rate limiter off (a proxy in front of Discord, or the tests' fake), serenity
//! retries nothing. This layer sits around both:
//!
//! - a 429 means Discord did not process the request, so it is always safe to send
//!   again; the layer waits a doubling, capped pause and tries a bounded number of times.
//!   (serenity's error keeps neither the `Retry-After` header nor the body's
//!   `retry_after`, so the pause is the policy's own.)
//! - a 5xx, a time-out or a connection dropped mid-request may mean the request went
//!   through. Only calls marked [`Effect::Idempotent`] (reads, edits, pins) are retried
//!   after those; a call that creates something (a message, a channel, an interaction
//!   answer) is never sent twice, and the core decides what to do with the failure.
//! - a connection that could not be opened sent nothing, so any call may try again.
//! - the whole call, serenity's own rate-limit waits included, has a deadline, which
//!   bounds serenity's unbounded 429 loop in production.

use std::future::Future;
use std::time::Duration;

use serenity::http::HttpError;

/// How hard one call tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per call, the first included.
    pub attempts: u32,
    /// The pause before the second attempt; each later pause doubles.
    pub first_pause: Duration,
    /// The longest pause between two attempts.
    pub max_pause: Duration,
    /// The longest a whole call may take, every attempt and wait included.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            // Discord's per-route windows reset within a second or two.
            first_pause: Duration::from_secs(1),
            max_pause: Duration::from_secs(5),
            deadline: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The pause after failed attempt `attempt` (1-based).
    pub fn pause_after(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(16);
        self.first_pause.saturating_mul(1 << doublings).min(self.max_pause)
    }
}

/// What sending a request twice would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// It creates something (a message, a channel, an interaction answer): twice is two.
    Creates,
    /// Twice is the same as once: a read, an edit to a given value, a pin.
    Idempotent,
}

/// A Discord call that failed for good.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    #[error(transparent)]
    Discord(#[from] serenity::Error),
    #[error("Discord did not finish the call within {0:?}")]
    Deadline(Duration),
}

/// Why an attempt failed, as far as retrying goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// 429: not processed.
    RateLimited,
    /// Nothing was sent: the connection could not be opened.
    NotSent,
    /// Maybe processed: a 5xx, a time-out, a connection dropped mid-request.
    Unknown,
    /// Discord refused the request (4xx) or the call is malformed: trying again changes nothing.
    Final,
}

fn classify(error: &serenity::Error) -> Failure {
    match error {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(response)) => {
            let status = response.status_code;
            if status.as_u16() == 429 {
                Failure::RateLimited
            } else if status.is_server_error() {
                Failure::Unknown
            } else {
                Failure::Final
            }
        }
        serenity::Error::Http(HttpError::Request(request)) if request.is_connect() => Failure::NotSent,
        serenity::Error::Http(HttpError::Request(_)) => Failure::Unknown,
        _ => Failure::Final,
    }
}

fn worth_retrying(failure: Failure, effect: Effect) -> bool {
    match failure {
        Failure::RateLimited | Failure::NotSent => true,
        Failure::Unknown => effect == Effect::Idempotent,
        Failure::Final => false,
    }
}

/// Runs `attempt` (one REST call) under `policy`. `operation` names the call in logs.
pub async fn call<T, F, Fut>(
    policy: &RetryPolicy,
    operation: &'static str,
    effect: Effect,
    mut attempt: F,
) -> Result<T, RestError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = serenity::Result<T>>,
{
    let attempts = async {
        let mut tried = 1;
        loop {
            let error = match attempt().await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            let failure = classify(&error);
            if tried >= policy.attempts.max(1) || !worth_retrying(failure, effect) {
                return Err(RestError::Discord(error));
            }
            let pause = policy.pause_after(tried);
            tracing::warn!(
                operation,
                attempt = tried,
                ?failure,
                pause_ms = pause.as_millis() as u64,
                "discord: retrying"
            );
            crate::metrics::metrics().chat_api_retry(storage::Platform::Discord);
            tokio::time::sleep(pause).await;
            tried += 1;
        }
    };
    tokio::time::timeout(policy.deadline, attempts).await.unwrap_or(Err(RestError::Deadline(policy.deadline)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_and_are_capped() {
        let policy = RetryPolicy {
            attempts: 6,
            first_pause: Duration::from_millis(500),
            max_pause: Duration::from_secs(3),
            deadline: Duration::from_secs(30),
        };
        let pauses: Vec<u128> = (1..=5).map(|n| policy.pause_after(n).as_millis()).collect();
        assert_eq!(pauses, vec![500, 1000, 2000, 3000, 3000]);
        assert_eq!(RetryPolicy::default().pause_after(40), RetryPolicy::default().max_pause);
    }

    #[test]
    fn only_safe_failures_are_retried() {
        assert!(worth_retrying(Failure::RateLimited, Effect::Creates));
        assert!(worth_retrying(Failure::NotSent, Effect::Creates));
        assert!(!worth_retrying(Failure::Unknown, Effect::Creates));
        assert!(worth_retrying(Failure::Unknown, Effect::Idempotent));
        assert!(!worth_retrying(Failure::Final, Effect::Idempotent));
    }

    #[tokio::test]
    async fn the_deadline_ends_a_call_that_never_answers() {
        let policy = RetryPolicy { deadline: Duration::from_millis(100), ..RetryPolicy::default() };
        let started = std::time::Instant::now();
        let result: Result<(), RestError> = call(&policy, "test", Effect::Idempotent, || async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        })
        .await;
        assert!(matches!(result, Err(RestError::Deadline(_))), "{result:?}");
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    }

    #[tokio::test]
    async fn a_final_failure_is_tried_once() {
        let mut tries = 0;
        let result: Result<(), RestError> = call(&RetryPolicy::default(), "test", Effect::Idempotent, || {
            tries += 1;
            async { Err(serenity::Error::Other("refused")) }
        })
        .await;
        assert!(matches!(result, Err(RestError::Discord(_))));
        assert_eq!(tries, 1);
    }
}
