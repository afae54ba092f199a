//! Start-up figures for the deploy docs: how long `incidentbot serve` takes from spawn
//! to a healthy `/healthz`, and its resident memory once idle. No chat platform is
//! configured, so nothing leaves the machine; the database is a fresh temporary file.
//!
//! ```text
//! cargo build --release -p bot --bin incidentbot
//! cargo run --release -p bot --example startup_figures [-- path/to/incidentbot]
//! ```

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 5;
/// Idle long enough for start-up allocations to settle and a lease renewal to pass.
const IDLE: Duration = Duration::from_secs(6);

fn binary() -> PathBuf {
    std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/incidentbot"))
}

/// VmRSS of `pid` in KiB, from /proc.
fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).ok_or_else(|| anyhow::anyhow!("no VmRSS"))?;
    Ok(line.split_whitespace().nth(1).ok_or_else(|| anyhow::anyhow!("odd VmRSS line"))?.parse()?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let binary = binary();
    anyhow::ensure!(binary.exists(), "{} does not exist; build it first with --release", binary.display());
    let size = std::fs::metadata(&binary)?.len();
    println!("binary: {} ({:.1} MiB)", binary.display(), size as f64 / 1_048_576.0);
    let client = reqwest::Client::builder().timeout(Duration::from_millis(500)).build()?;
    let mut to_healthy = Vec::new();
    let mut idle_rss = Vec::new();
    for run in 0..RUNS {
        let dir = tempfile::tempdir()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let started = Instant::now();
        let mut child = Command::new(&binary)
            .arg("serve")
            .env_clear()
            .env("DATABASE_URL", format!("sqlite://{}", dir.path().join("bot.db").display()))
            .env("PORT", port.to_string())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let url = format!("http://127.0.0.1:{port}/healthz");
        let healthy = loop {
            if let Ok(response) = client.get(&url).send().await {
                if response.status().is_success() {
                    break started.elapsed();
                }
            }
            anyhow::ensure!(started.elapsed() < Duration::from_secs(30), "serve never became healthy");
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        tokio::time::sleep(IDLE).await;
        let rss = rss_kib(child.id())?;
        Command::new("kill").arg("-TERM").arg(child.id().to_string()).status()?;
        child.wait()?;
        println!(
            "run {}: healthy after {:.1} ms, idle RSS {:.1} MiB",
            run + 1,
            healthy.as_secs_f64() * 1e3,
            rss as f64 / 1024.0
        );
        to_healthy.push(healthy);
        idle_rss.push(rss);
    }
    to_healthy.sort();
    idle_rss.sort_unstable();
    println!(
        "median of {RUNS}: start to healthy {:.1} ms, idle RSS {:.1} MiB",
        to_healthy[RUNS / 2].as_secs_f64() * 1e3,
        idle_rss[RUNS / 2] as f64 / 1024.0
    );
    Ok(())
}
