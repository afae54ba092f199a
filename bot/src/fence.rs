//! The send gate: a copy of the bot sends to a chat platform only while its lease is
//! certainly its own.
//!
//! The lease module opens the gate until a little before the lease it just took or
//! renewed runs out, measured on this process's monotonic clock from before the renewal
//! was sent; another copy can take over only after the lease ran out in the database.
//! So a copy that was paused (SIGSTOP, a long GC-like stall, a lost network) past its
//! lease finds the gate shut the moment it wakes, before its renewal has even been
//! refused: every Slack and Discord call is refused, and Slack's routes answer 503 so
//! Slack retries at the active copy. The monotonic clock keeps running while a process
//! is stopped, which is what makes that hold.
//!
//! A process that never takes a lease (the console, the tests of single adapters) never
//! arms the gate, and it stays open.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use tokio::time::Instant;

/// Whether this copy may send, and until when.
#[derive(Debug, Default)]
pub struct SendGate {
    armed: AtomicBool,
    /// Milliseconds after [`epoch`] until which sending is allowed.
    open_until_ms: AtomicU64,
    /// The fencing token of the lease it was opened for (0: none).
    token: AtomicI64,
}

/// The gate of this process.
pub fn gate() -> &'static SendGate {
    static GATE: SendGate = SendGate::new();
    &GATE
}

/// The instant the gate's times count from.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn millis_since_epoch(at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(epoch()).as_millis()).unwrap_or(u64::MAX)
}

/// How much earlier than the lease's end the gate shuts: room for clocks that differ a
/// little between hosts, and for a send already under way.
pub fn margin(ttl: Duration) -> Duration {
    ttl / 10
}

impl SendGate {
    /// A gate never armed: open until a lease arms it.
    pub const fn new() -> SendGate {
        SendGate { armed: AtomicBool::new(false), open_until_ms: AtomicU64::new(0), token: AtomicI64::new(0) }
    }

    /// Allows sending until `until`, under the lease holding `fence`.
    pub fn open_until(&self, until: Instant, fence: storage::Fence) {
        self.token.store(fence.token, Ordering::SeqCst);
        self.open_until_ms.store(millis_since_epoch(until), Ordering::SeqCst);
        self.armed.store(true, Ordering::SeqCst);
    }

    /// Refuses every send from now on, until the gate is opened again.
    pub fn shut(&self) {
        self.open_until_ms.store(0, Ordering::SeqCst);
        self.armed.store(true, Ordering::SeqCst);
    }

    /// True when this copy may send now.
    pub fn may_send(&self) -> bool {
        !self.armed.load(Ordering::SeqCst)
            || millis_since_epoch(Instant::now()) < self.open_until_ms.load(Ordering::SeqCst)
    }
}

/// The lease a gate was opened for, as the scheduler claims its deliveries under it.
#[derive(Debug, Clone, Copy)]
pub struct GateFence(pub &'static SendGate);

impl commands::followup::LeaseFence for GateFence {
    fn current(&self) -> Option<(&'static str, storage::Fence)> {
        self.0.current()
    }
}

impl SendGate {
    /// The lease and token this gate is open for; `None` while it is shut.
    pub fn current(&self) -> Option<(&'static str, storage::Fence)> {
        let token = self.token.load(Ordering::SeqCst);
        (self.armed.load(Ordering::SeqCst) && token > 0 && self.may_send())
            .then_some((crate::lease::LEASE_NAME, storage::Fence { token }))
    }
}

/// What a refused send says.
pub const FENCED: &str = "this copy's lease may have run out, so it sends nothing until it holds the lease again";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_gate_shuts_when_the_time_it_was_opened_for_passes() {
        let gate = SendGate::new();
        assert!(gate.may_send(), "never armed: open");
        let fence = storage::Fence { token: 7 };
        gate.open_until(Instant::now() + Duration::from_millis(150), fence);
        assert!(gate.may_send());
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(!gate.may_send(), "past its time: shut");
        gate.open_until(Instant::now() + Duration::from_secs(30), fence);
        assert!(gate.may_send());
        assert_eq!(gate.current(), Some((crate::lease::LEASE_NAME, fence)));
        gate.shut();
        assert!(!gate.may_send());
        assert_eq!(gate.current(), None);
    }
}
