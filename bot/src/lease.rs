//! One active copy: the lease in the database decides which running copy of the bot
//! runs the chat connections and the scheduler. The others wait as standbys, retrying
//! as often as the holder renews, and take over once the holder's lease has expired.
//!
//! A holder that cannot renew before its own lease runs out stops at once: by then a
//! standby may have taken over, and two active copies would double-process events.

use std::time::Duration;

use anyhow::{bail, Context};
use chrono::Utc;
use storage::Db;
use tokio_util::sync::CancellationToken;

/// The lease's row name: one lease for the whole bot.
pub const LEASE_NAME: &str = "active";

/// How long a lease lasts and how often it is renewed (and a standby retries).
#[derive(Debug, Clone)]
pub struct LeaseSettings {
    pub ttl: Duration,
    pub renew_every: Duration,
    /// This copy's name in the lease row: host, process id and start time.
    pub holder: String,
    /// The send gate the lease opens and shuts: the process's own, except in tests.
    pub gate: &'static crate::fence::SendGate,
}

pub const DEFAULT_TTL: Duration = Duration::from_secs(15);
pub const DEFAULT_RENEW_EVERY: Duration = Duration::from_secs(5);

impl LeaseSettings {
    /// Defaults (15 s lease, renewed every 5 s), or `INCIDENTBOT_LEASE_TTL_MS` with a
    /// renewal every third of it. The renewal must fit in the lease several times over,
    /// or one slow write would hand the lease away.
    pub fn from_env() -> anyhow::Result<LeaseSettings> {
        let (ttl, renew_every) = parse_ttl(std::env::var("INCIDENTBOT_LEASE_TTL_MS").ok().as_deref())?;
        Ok(LeaseSettings { ttl, renew_every, holder: holder_name(), gate: crate::fence::gate() })
    }
}

/// The lease's TTL and renewal period from `INCIDENTBOT_LEASE_TTL_MS`'s value.
fn parse_ttl(value: Option<&str>) -> anyhow::Result<(Duration, Duration)> {
    Ok(match value.filter(|v| !v.trim().is_empty()) {
        None => (DEFAULT_TTL, DEFAULT_RENEW_EVERY),
        Some(text) => {
            let ms: u64 = text
                .trim()
                .parse()
                .with_context(|| format!("`INCIDENTBOT_LEASE_TTL_MS`: `{text}` is not a number of milliseconds"))?;
            if !(300..=600_000).contains(&ms) {
                bail!("`INCIDENTBOT_LEASE_TTL_MS`: {ms} must be between 300 and 600000");
            }
            (Duration::from_millis(ms), Duration::from_millis(ms / 3))
        }
    })
}

/// `host:pid:start-millis`, unique per running copy.
fn holder_name() -> String {
    let host = std::env::var("FLY_MACHINE_ID")
        .or_else(|_| std::env::var("HOSTNAME"))
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok().map(|h| h.trim().to_string()))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{host}:{}:{}", std::process::id(), Utc::now().timestamp_millis())
}

/// Waits until this copy holds the lease. Returns false when `cancel` fires first.
pub async fn acquire(db: &Db, settings: &LeaseSettings, cancel: &CancellationToken) -> bool {
    let mut announced = false;
    // A standby sends nothing.
    settings.gate.shut();
    loop {
        let attempt_started = tokio::time::Instant::now();
        match db.acquire_lease(LEASE_NAME, &settings.holder, Utc::now(), settings.ttl).await {
            Ok(Some(fence)) => {
                settings.gate.open_until(attempt_started + settings.ttl - crate::fence::margin(settings.ttl), fence);
                tracing::info!(holder = %settings.holder, token = fence.token, "lease acquired; this copy is active");
                return true;
            }
            Ok(None) if !announced => {
                announced = true;
                let current = db.lease_holder(LEASE_NAME).await.ok().flatten().map(|l| l.holder);
                tracing::info!(active = ?current, "another copy is active; waiting as standby");
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "cannot check the lease; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(settings.renew_every) => {}
            _ = cancel.cancelled() => return false,
        }
    }
}

/// Why an active copy stopped being active.
#[derive(Debug, thiserror::Error)]
#[error("lost the lease: {0}; stopping so that only one copy is active")]
pub struct LeaseLost(String);

/// The lease is gone: the gate shuts before anyone hears of it.
fn lost(gate: &crate::fence::SendGate, reason: String) -> LeaseLost {
    gate.shut();
    LeaseLost(reason)
}

/// Renews the lease until `cancel` fires (then releases it with [`release`]), or until
/// it is lost: another copy holds it, or it could not be renewed before it expired.
pub async fn keep(
    db: &Db,
    settings: &LeaseSettings,
    cancel: &CancellationToken,
    mut on_renew: impl FnMut(),
) -> Result<(), LeaseLost> {
    let mut valid_until = tokio::time::Instant::now() + settings.ttl;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(settings.renew_every) => {}
            _ = cancel.cancelled() => return Ok(()),
        }
        let attempt_started = tokio::time::Instant::now();
        // A renewal stuck behind a slow disk must not outlive the lease it renews.
        let remaining = valid_until.saturating_duration_since(attempt_started);
        let renewal = db.acquire_lease(LEASE_NAME, &settings.holder, Utc::now(), settings.ttl);
        match tokio::time::timeout(remaining, renewal).await {
            Err(_) => {
                return Err(lost(settings.gate, "not renewed before it expired (the database was too slow)".into()))
            }
            Ok(Ok(Some(fence))) => {
                valid_until = attempt_started + settings.ttl;
                settings.gate.open_until(valid_until - crate::fence::margin(settings.ttl), fence);
                on_renew();
            }
            Ok(Ok(None)) => return Err(lost(settings.gate, "another copy took it over".into())),
            Ok(Err(error)) => {
                tracing::warn!(%error, "cannot renew the lease");
                if tokio::time::Instant::now() + settings.renew_every >= valid_until {
                    return Err(lost(settings.gate, format!("not renewed before it expired ({error})")));
                }
            }
        }
    }
}

/// Gives the lease up so a standby takes over at once instead of after the TTL.
pub async fn release(db: &Db, settings: &LeaseSettings) {
    settings.gate.shut();
    match db.release_lease(LEASE_NAME, &settings.holder).await {
        Ok(true) => tracing::info!("lease released"),
        Ok(false) => {}
        Err(error) => tracing::warn!(%error, "cannot release the lease; it expires on its own"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn settings(holder: &str) -> LeaseSettings {
        LeaseSettings {
            ttl: Duration::from_millis(600),
            renew_every: Duration::from_millis(200),
            holder: holder.into(),
            // Its own gate, so these tests leave the process's alone.
            gate: Box::leak(Box::new(crate::fence::SendGate::new())),
        }
    }

    #[tokio::test]
    async fn a_standby_takes_over_after_the_holder_stops_renewing() {
        let db = Db::in_memory().await.unwrap();
        let cancel = CancellationToken::new();
        assert!(acquire(&db, &settings("a"), &cancel).await);
        let started = std::time::Instant::now();
        // `a` never renews (as if killed): `b` gets it once the 600 ms have passed.
        assert!(acquire(&db, &settings("b"), &cancel).await);
        assert!(started.elapsed() >= Duration::from_millis(400), "{:?}", started.elapsed());
        // `a`, still running, finds out at its next renewal.
        let lost = keep(&db, &settings("a"), &cancel, || {}).await.unwrap_err();
        assert!(lost.to_string().contains("another copy"), "{lost}");
    }

    #[tokio::test]
    async fn the_holder_keeps_it_while_renewing_and_releases_on_shutdown() {
        let db = Db::in_memory().await.unwrap();
        let cancel = CancellationToken::new();
        let a = settings("a");
        assert!(acquire(&db, &a, &cancel).await);
        let stop = cancel.clone();
        let mut renewals = 0;
        let keeper = keep(&db, &a, &cancel, || {
            renewals += 1;
            if renewals == 4 {
                stop.cancel();
            }
        });
        keeper.await.unwrap();
        assert_eq!(db.lease_holder(LEASE_NAME).await.unwrap().unwrap().holder, "a");
        release(&db, &a).await;
        let standby = CancellationToken::new();
        let quick = tokio::time::timeout(Duration::from_millis(100), acquire(&db, &settings("b"), &standby)).await;
        assert_eq!(quick.ok(), Some(true), "released, so taken over at once");
    }

    #[test]
    fn the_ttl_defaults_to_15s_and_a_set_one_is_renewed_every_third() {
        assert_eq!(parse_ttl(None).unwrap(), (DEFAULT_TTL, DEFAULT_RENEW_EVERY));
        assert_eq!(parse_ttl(Some(" ")).unwrap(), (DEFAULT_TTL, DEFAULT_RENEW_EVERY));
        assert_eq!(parse_ttl(Some("1500")).unwrap(), (Duration::from_millis(1500), Duration::from_millis(500)));
        assert!(parse_ttl(Some("10")).unwrap_err().to_string().contains("INCIDENTBOT_LEASE_TTL_MS"));
        assert!(parse_ttl(Some("soon")).is_err());
        assert!(holder_name().contains(&format!(":{}:", std::process::id())));
    }
}
