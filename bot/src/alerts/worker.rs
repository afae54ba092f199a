//! The alert worker, one run at a time: stores the deliveries the inbox holds (oldest
//! first), then applies the stored alert changes (declare, triage posts, timeline
//! lines, the resolve nudge). It wakes after each accepted delivery, and every few
//! seconds in case a wake-up was missed or a chat call failed; at start it stores and
//! applies what a stopped copy left.

use std::sync::Arc;
use std::time::Duration;

use commands::Core;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// How often the worker looks for pending alerts without being woken.
const SWEEP: Duration = Duration::from_secs(5);

pub async fn run(core: Arc<Core>, sources: Vec<String>, wake: Arc<Notify>, cancel: CancellationToken) {
    let metrics = crate::metrics::metrics();
    loop {
        for source in &sources {
            match core.store_accepted_alerts(source).await {
                Ok(stored) => {
                    for delivery in stored {
                        let deduplicated =
                            if delivery.stored.duplicate_delivery { delivery.alerts } else { delivery.stored.repeated };
                        metrics.alerts_received(&delivery.source, delivery.alerts, deduplicated);
                    }
                }
                Err(error) => tracing::error!(%source, %error, "storing accepted alerts failed; trying again shortly"),
            }
        }
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
                metrics.alerts_applied(&applied);
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
