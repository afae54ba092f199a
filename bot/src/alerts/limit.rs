//! Each source's budget of deliveries: at most N in any sixty seconds, then 429 with
//! the seconds until one is free in `Retry-After`. Nothing is lost: the sender retries.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);

/// A sliding one-minute window of accepted deliveries.
#[derive(Debug)]
pub struct RateLimit {
    max: usize,
    accepted: Mutex<VecDeque<Instant>>,
}

impl RateLimit {
    pub fn per_minute(max: u32) -> Self {
        RateLimit { max: usize::try_from(max).unwrap_or(usize::MAX).max(1), accepted: Mutex::new(VecDeque::new()) }
    }

    /// Takes one delivery from the budget, or says how long until one is free.
    pub fn take(&self, now: Instant) -> Result<(), Duration> {
        let mut accepted = self.accepted.lock().unwrap_or_else(PoisonError::into_inner);
        while accepted.front().is_some_and(|at| now.duration_since(*at) >= WINDOW) {
            accepted.pop_front();
        }
        if accepted.len() < self.max {
            accepted.push_back(now);
            return Ok(());
        }
        let oldest = accepted.front().copied().unwrap_or(now);
        Err(WINDOW.saturating_sub(now.duration_since(oldest)))
    }

    /// Gives back a delivery taken for a request that was then refused, so a sender's
    /// mistakes do not use up the budget.
    pub fn give_back(&self) {
        self.accepted.lock().unwrap_or_else(PoisonError::into_inner).pop_back();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_frees_up_as_the_window_slides() {
        let limit = RateLimit::per_minute(2);
        let t0 = Instant::now();
        assert!(limit.take(t0).is_ok());
        assert!(limit.take(t0 + Duration::from_secs(10)).is_ok());
        let wait = limit.take(t0 + Duration::from_secs(20)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(40));
        assert!(limit.take(t0 + Duration::from_secs(60)).is_ok());
    }
}
