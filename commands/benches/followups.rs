//! Follow-up benchmarks over a large synthetic history: the overdue-reminder scan over
//! 100,000 action items (with its query plan), a full reminder run, and the weekly digest
//! and stats over 10,000 incidents and 1,000,000 timeline entries.
//!
//! Run: `cargo bench -p commands --bench followups`.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use commands::followup::{FollowupSettings, Followups};
use commands::recording_chat::RecordingChat;
use commands::{Clock, Core, Invocation, ManualClock, Settings};
use storage::baseline::HistorySpec;
use storage::{ActionFilter, Db};

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

async fn timed<T, F: std::future::Future<Output = anyhow::Result<T>>>(
    runs: usize,
    mut f: impl FnMut() -> F,
) -> anyhow::Result<(f64, T)> {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        last = Some(f().await?);
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    Ok((median(times), last.ok_or_else(|| anyhow::anyhow!("no runs"))?))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("history.db").display());
    let db = Db::connect(&url).await?;
    let now: DateTime<Utc> = "2026-11-23T09:00:00Z".parse()?; // a Monday
    let spec = HistorySpec {
        incidents: 10_000,
        entries_per_incident: 100,
        actions_per_incident: 10,
        days: 200,
        platform: "console",
    };
    let start = Instant::now();
    let (incidents, entries, actions) = db.seed_history(spec, now).await?;
    println!(
        "seeded {incidents} incidents, {entries} timeline entries, {actions} action items in {:.1} s",
        start.elapsed().as_secs_f64()
    );

    let today = now.date_naive();
    let (scan_ms, overdue) =
        timed(7, || async { Ok(db.actions(&ActionFilter::OverdueOn { today, incident_id: None }).await?) }).await?;
    println!("overdue scan over {actions} action items: {scan_ms:.1} ms median, {} overdue", overdue.len());
    for line in db.explain_overdue_scan().await? {
        println!("  query plan: {line}");
    }

    let clock = ManualClock::new(now - Duration::hours(1));
    let chat = Arc::new(RecordingChat::new());
    let core = Arc::new(Core::new(db.clone(), chat.clone(), Arc::new(clock.clone()), Settings::default()));
    let settings = FollowupSettings {
        followups_channel: Some("follow-ups".into()),
        ..FollowupSettings::defaults(chrono_tz::Tz::UTC)?
    };
    let followups = Followups::new(core.clone(), settings);
    followups.tick(clock.now()).await?;
    clock.set(now);
    let start = Instant::now();
    let report = followups.tick(now).await?;
    println!(
        "full reminder run at {now}: {:.1} ms ({} deliveries claimed and sent, one transaction each)",
        start.elapsed().as_secs_f64() * 1000.0,
        report.sent
    );

    let (digest_ms, digest) =
        timed(5, || async { Ok(commands::digest::build(&db, chrono_tz::Tz::UTC, now, Duration::days(7)).await?) })
            .await?;
    println!(
        "weekly digest over {incidents} incidents / {entries} entries: {digest_ms:.1} ms median ({} lines)",
        digest.lines.len()
    );
    let invocation = Invocation {
        source_id: "bench".into(),
        user: "U1".into(),
        channel_id: "general".into(),
        text: "stats 30d".into(),
    };
    let (stats_ms, _) = timed(5, || async { Ok(core.run(&invocation).await?) }).await?;
    println!("/incident stats 30d over the same history: {stats_ms:.1} ms median");
    db.close().await;
    Ok(())
}
