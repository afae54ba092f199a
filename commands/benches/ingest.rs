//! Timeline ingestion benchmark: messages through the core (event → dedupe check →
//! commit to SQLite) against raw SQLite inserts with one commit per row, on the same
//! machine, same file system and same connection settings, in the same run.
//!
//! Run: `cargo bench -p commands --bench ingest` (optionally `-- 5000` rows per round).

use std::sync::Arc;
use std::time::Instant;

use commands::recording_chat::RecordingChat;
use commands::{ChatMessage, Core, Invocation, Settings, SystemClock};
use storage::Db;

const ROUNDS: usize = 5;
const CHUNK: usize = 100;

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let rows: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(2000);
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let db = Db::connect(&url).await?;
    let chat = Arc::new(RecordingChat::new());
    let core = Core::new(db.clone(), chat, Arc::new(SystemClock), Settings::default());
    let declared = core
        .run(&Invocation {
            source_id: "bench-declare".into(),
            user: "alice".into(),
            channel_id: "general".into(),
            text: "declare sev2 Benchmark incident".into(),
        })
        .await?;
    let channel = declared.opened.ok_or_else(|| anyhow::anyhow!("declare opened no channel"))?.id;

    println!("timeline ingestion, {rows} rows per round, {ROUNDS} rounds, file database in WAL mode, synchronous=FULL");
    println!("raw and core run in alternating chunks of {CHUNK} rows, so both see the same disk conditions");
    let (mut raw_rates, mut core_rates, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let (mut raw_secs, mut core_secs) = (0.0, 0.0);
        for chunk in 0..rows.div_ceil(CHUNK) {
            let start = Instant::now();
            db.baseline_raw_inserts(CHUNK).await?;
            raw_secs += start.elapsed().as_secs_f64();

            let start = Instant::now();
            for n in 0..CHUNK {
                let message = ChatMessage {
                    source_id: format!("bench:{round}:{chunk}:{n}").into(),
                    channel_id: channel.clone(),
                    author: "bob".into(),
                    text: "the database is slow again, looking at the replica lag".into(),
                    at: core.now(),
                };
                core.message_posted(&message).await?;
            }
            core_secs += start.elapsed().as_secs_f64();
        }
        let total = (rows.div_ceil(CHUNK) * CHUNK) as f64;
        let (raw, through_core) = (total / raw_secs, total / core_secs);
        println!(
            "round {round}: raw {raw:>9.0} rows/s   core {through_core:>9.0} rows/s   ratio {:.2}",
            through_core / raw
        );
        raw_rates.push(raw);
        core_rates.push(through_core);
        ratios.push(through_core / raw);
    }
    let stored = db.count_entries().await?;
    println!(
        "median: raw {:.0} rows/s, core {:.0} rows/s, ratio {:.2} (target >= 0.50); {stored} entries stored",
        median(&mut raw_rates),
        median(&mut core_rates),
        median(&mut ratios)
    );
    db.close().await;
    Ok(())
}
