//! The console's clock: either fixed at a start time (scripts, for repeatable output)
//! or following the wall clock; `:advance` moves it forward in both cases.

use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};
use commands::Clock;

pub struct ConsoleClock {
    /// `None` follows the wall clock.
    fixed_start: Option<DateTime<Utc>>,
    advanced: Mutex<Duration>,
}

impl ConsoleClock {
    pub fn fixed(start: DateTime<Utc>) -> Self {
        ConsoleClock { fixed_start: Some(start), advanced: Mutex::new(Duration::zero()) }
    }

    pub fn following_wall_clock() -> Self {
        ConsoleClock { fixed_start: None, advanced: Mutex::new(Duration::zero()) }
    }

    pub fn advance(&self, by: Duration) {
        *self.advanced.lock().unwrap_or_else(PoisonError::into_inner) += by;
    }
}

impl Clock for ConsoleClock {
    fn now(&self) -> DateTime<Utc> {
        let base = self.fixed_start.unwrap_or_else(Utc::now);
        base + *self.advanced.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
