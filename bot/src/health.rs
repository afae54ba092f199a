//! What `/healthz` reports: whether this copy is the active one, and whether each
//! configured platform is connected. Adapters hold a [`PlatformHealth`] and flip it
//! as they learn (Slack: `auth.test` at start, then every Web API call; Discord: the
//! gateway's ready and disconnects); the database is asked at request time.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

/// One platform's connection, as last seen.
#[derive(Debug, Default)]
pub struct PlatformHealth {
    connected: AtomicBool,
    /// Why it is not connected, for the health report (never a secret: error kinds only).
    problem: Mutex<Option<String>>,
}

impl PlatformHealth {
    pub fn new() -> Arc<Self> {
        Arc::new(PlatformHealth::default())
    }

    pub fn connected(&self) {
        self.connected.store(true, Ordering::Relaxed);
        if let Ok(mut problem) = self.problem.lock() {
            *problem = None;
        }
    }

    pub fn disconnected(&self, why: impl Into<String>) {
        self.connected.store(false, Ordering::Relaxed);
        if let Ok(mut problem) = self.problem.lock() {
            *problem = Some(why.into());
        }
    }

    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// `ok`, or what went wrong (`not connected yet` before the first news).
    pub fn describe(&self) -> String {
        if self.is_connected() {
            return "ok".into();
        }
        self.problem.lock().ok().and_then(|p| p.clone()).unwrap_or_else(|| "not connected yet".into())
    }
}

/// Whether this copy runs the platforms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Waiting for the lease; serves only `/healthz` and `/metrics`.
    Standby,
    /// Holds the lease; runs the platforms and the scheduler.
    Active,
    /// Shutting down.
    Stopping,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Standby => "standby",
            Role::Active => "active",
            Role::Stopping => "stopping",
        }
    }
}

/// The configured platforms, by name.
type Registered = Vec<(&'static str, Arc<PlatformHealth>)>;

/// Everything `/healthz` reads. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Health {
    role: Arc<AtomicU8>,
    platforms: Arc<Mutex<Registered>>,
}

impl Default for Health {
    /// Active with no platforms: what tests that run the router directly expect.
    fn default() -> Self {
        Health::new(Role::Active)
    }
}

impl Health {
    pub fn new(role: Role) -> Self {
        let health = Health { role: Arc::new(AtomicU8::new(0)), platforms: Arc::default() };
        health.set_role(role);
        health
    }

    pub fn role(&self) -> Role {
        match self.role.load(Ordering::Relaxed) {
            0 => Role::Standby,
            1 => Role::Active,
            _ => Role::Stopping,
        }
    }

    pub fn set_role(&self, role: Role) {
        let value = match role {
            Role::Standby => 0,
            Role::Active => 1,
            Role::Stopping => 2,
        };
        self.role.store(value, Ordering::Relaxed);
    }

    /// Adds a configured platform; `/healthz` fails until it reports connected.
    pub fn register(&self, name: &'static str, platform: Arc<PlatformHealth>) {
        if let Ok(mut platforms) = self.platforms.lock() {
            platforms.retain(|(n, _)| *n != name);
            platforms.push((name, platform));
        }
    }

    /// Each registered platform with `ok` or its problem.
    pub fn platforms(&self) -> Vec<(&'static str, bool, String)> {
        self.platforms
            .lock()
            .map(|platforms| platforms.iter().map(|(name, p)| (*name, p.is_connected(), p.describe())).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_platform_is_unhealthy_until_connected_and_says_why_after() {
        let health = Health::new(Role::Standby);
        assert_eq!(health.role(), Role::Standby);
        let slack = PlatformHealth::new();
        health.register("slack", slack.clone());
        assert_eq!(health.platforms(), vec![("slack", false, "not connected yet".to_string())]);
        slack.connected();
        assert_eq!(health.platforms(), vec![("slack", true, "ok".to_string())]);
        slack.disconnected("auth.test: Slack said `invalid_auth`");
        assert_eq!(health.platforms()[0].2, "auth.test: Slack said `invalid_auth`");
        health.set_role(Role::Active);
        assert_eq!(health.role(), Role::Active);
    }
}
