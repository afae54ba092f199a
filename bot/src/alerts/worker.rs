//! The alert worker: applies stored alert changes (declare, triage posts, timeline
//! lines, the resolve nudge) in the background, one run at a time. It wakes after each
//! stored delivery, and every few seconds in case a wake-up was missed or a chat call
//! failed; at start it applies what a stopped copy left pending.

use std::sync::Arc;
use std::time::Duration;

use commands::Core;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// How often the worker looks for pending alerts without being woken.
const SWEEP: Duration = Duration::from_secs(5);

pub async fn run(core: Arc<Core>, wake: Arc<Notify>, cancel: CancellationToken) {
    loop {
        match core.apply_pending_alerts().await {
            Ok(applied) => {
                if !applied.by_source.is_empty() {
                    let total = applied.total();
                    tracing::info!(
                        declared = total.declared,
                        triaged = total.triaged,
                        attached = total.attached,
                        resolved = total.resolved,
                        "alerts applied"
                    );
                }
                crate::metrics::metrics().alerts_applied(&applied);
            }
            Err(error) => tracing::error!(%error, "applying alerts failed; trying again shortly"),
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = wake.notified() => {}
            _ = tokio::time::sleep(SWEEP) => {}
        }
    }
}
