//! The inbox retention job: once at start and then every [`EVERY`], requests done
//! longer ago than `[inbox] retention_days` are forgotten (the rule is the core's:
//! one not done is never pruned). It runs on the active copy only and stops on
//! shutdown.

use std::sync::Arc;
use std::time::Duration;

use commands::Core;
use tokio_util::sync::CancellationToken;

/// How often the job runs.
pub const EVERY: Duration = Duration::from_secs(60 * 60);

/// Runs until `cancel` fires. A failing run is logged and tried again next time.
pub async fn run(core: Arc<Core>, retention: chrono::Duration, every: Duration, cancel: CancellationToken) {
    loop {
        match core.prune_inbox(retention).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "inbox: forgot requests done more than the retention ago"),
            Err(error) => tracing::warn!(%error, "inbox: the retention job failed; it runs again later"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = cancel.cancelled() => break,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use commands::recording_chat::RecordingChat;
    use commands::{EventSource, InboxRequest, ManualClock, Settings};

    #[tokio::test]
    async fn prunes_what_was_done_long_ago_and_stops_on_shutdown() {
        let t0 = "2026-03-02T08:00:00Z".parse().unwrap();
        let clock = ManualClock::new(t0);
        let db = storage::Db::in_memory().await.unwrap();
        let core = Arc::new(Core::new(
            db.clone(),
            Arc::new(RecordingChat::new()),
            Arc::new(clock.clone()),
            Settings::default(),
        ));
        for id in ["done", "waiting"] {
            let request = InboxRequest {
                source_id: id.into(),
                source: EventSource::slack_requests(),
                kind: "command".into(),
                user: "U1".into(),
                channel_id: "C1".into(),
                request: "{}".into(),
                reply_handle: None,
                received_at: t0,
            };
            core.inbox_accept(&request).await.unwrap();
        }
        core.inbox_done(&"done".into()).await.unwrap();
        clock.set(t0 + chrono::Duration::days(8));
        let cancel = CancellationToken::new();
        let job = tokio::spawn(run(core.clone(), chrono::Duration::days(7), Duration::from_millis(10), cancel.clone()));
        for _ in 0..200 {
            if db.inbox_row(&"done".into()).await.unwrap().is_none() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(db.inbox_row(&"done".into()).await.unwrap().is_none(), "done 8 days ago, kept 7: pruned");
        assert!(db.inbox_row(&"waiting".into()).await.unwrap().is_some(), "never done: kept");
        cancel.cancel();
        job.await.unwrap();
    }
}
