//! The loop that wakes up and delivers follow-ups: it ticks every platform's
//! [`Followups`] (the policy lives in the core), then sleeps until the next thing is
//! due, at most [`MAX_SLEEP`], or until shutdown.

use std::sync::Arc;
use std::time::Duration;

use commands::followup::Followups;
use commands::Clock;
use tokio_util::sync::CancellationToken;

/// Re-check at least this often, so config-independent work (status nudges after a new
/// incident, clock corrections) is never far behind.
pub const MAX_SLEEP: Duration = Duration::from_secs(30);

/// Runs until `cancel` fires. A failing tick is logged and retried on the next wake-up.
pub async fn run(followups: Vec<Followups>, clock: Arc<dyn Clock>, cancel: CancellationToken) {
    if followups.is_empty() {
        return;
    }
    tracing::info!(platforms = followups.len(), "scheduler started");
    loop {
        let now = clock.now();
        let mut next_due = None;
        for runner in &followups {
            let result = runner.tick(now).await;
            if let Ok(report) = &result {
                crate::metrics::metrics().reminders(report.sent, report.failed);
            }
            match result {
                Ok(report)
                    if report.sent + report.failed + report.skipped + report.jobs.done + report.jobs.failed > 0 =>
                {
                    tracing::info!(?report, "follow-ups delivered");
                }
                Ok(_) => {}
                Err(error) => tracing::error!(%error, "follow-up tick failed"),
            }
            match runner.next_due_after(now).await {
                Ok(Some(due)) => next_due = Some(next_due.map_or(due, |n: chrono::DateTime<chrono::Utc>| n.min(due))),
                Ok(None) => {}
                Err(error) => tracing::error!(%error, "cannot compute the next follow-up"),
            }
        }
        // A due time already past (the tick itself took that long) means "soon", not
        // "nothing due": a negative wait counts as zero before the clamp.
        let wait = next_due
            .map(|due| (due - clock.now()).to_std().unwrap_or(Duration::ZERO))
            .map_or(MAX_SLEEP, |until| until.clamp(Duration::from_millis(200), MAX_SLEEP));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = cancel.cancelled() => break,
        }
    }
    tracing::info!("scheduler stopped");
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use commands::followup::FollowupSettings;
    use commands::recording_chat::RecordingChat;
    use commands::{Core, Invocation, ManualClock, Settings};

    #[tokio::test]
    async fn delivers_what_is_due_and_stops_on_shutdown() {
        let clock = ManualClock::new("2026-03-02T08:00:00Z".parse().unwrap());
        let chat = Arc::new(RecordingChat::new());
        let db = storage::Db::in_memory().await.unwrap();
        let core = Arc::new(Core::new(db, chat.clone(), Arc::new(clock.clone()), Settings::default()));
        let inv = |text: &str, source: &str| Invocation {
            source_id: source.into(),
            user: "alice".into(),
            channel_id: "inc-1-db".into(),
            text: text.into(),
        };
        core.run(&Invocation { channel_id: "general".into(), ..inv("declare DB", "s1") }).await.unwrap();
        // Due today; by tomorrow it is overdue (a date already past is refused at creation).
        core.run(&inv("action add Fix @bob due:2026-03-02", "s2")).await.unwrap();
        let settings = FollowupSettings {
            backoff: Duration::from_millis(1),
            ..FollowupSettings::defaults(chrono_tz::Tz::UTC).unwrap()
        };
        let followups = Followups::new(core.clone(), settings);
        followups.tick(clock.now()).await.unwrap();
        clock.set("2026-03-03T09:00:00Z".parse().unwrap());

        let cancel = CancellationToken::new();
        let task = tokio::spawn(run(vec![followups], Arc::new(clock.clone()), cancel.clone()));
        // The first tick happens at once; poll briefly for its effect.
        for _ in 0..250 {
            if !chat.dms_to("bob").is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(chat.dms_to("bob").len(), 1);
        cancel.cancel();
        task.await.unwrap();
    }
}
