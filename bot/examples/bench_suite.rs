//! The benchmark suite: one run, one table. Every row is measured against a baseline in
//! the same run, because shared machines are noisy; medians and ratios are quoted.
//!
//! - a: signed Slack `message` events end to end (HTTP → signature → core → commit),
//!   one at a time, against raw SQLite inserts with one commit per row.
//! - b: the same with concurrent senders, against raw inserts batched 100 per commit.
//! - c: slash-command ack latency at 200 requests/s with a slow fake Slack (each
//!   committed to the inbox before its answer), against `GET /healthz` and a signed
//!   `url_verification` POST (the same router and signature, no commit) at the same rate.
//! - d: weekly digest and `/incident stats` over 10,000 incidents / 1,000,000 entries,
//!   against a plain count of the entries.
//! - e: the overdue-reminder scan over 100,000 action items, against the same count.
//! - f: the release `incidentbot serve` process: idle RSS, time to healthy, RSS with the
//!   1,000,000-entry history, and RSS after ingesting live events.
//! - g: the web pages over the same history (and one incident of 10,000 entries):
//!   `/incidents`, `/incidents/{id}`, `/postmortems?q=…` and `/insights`, p50 and p99
//!   over loopback HTTP, against `GET /healthz` and a plain count of the entries.
//! - h: an alert storm of 10,000 alerts in 500 Alertmanager groups over HTTP with bearer
//!   auth against the release `serve`, then repeated: alerts/s and ack latency against
//!   `GET /healthz` in the same run, incidents against the groups the rules declare,
//!   duplicates.
//!
//! Rows a–f run on SQLite and on PostgreSQL, each Postgres row on a fresh `ibt_…`
//! database that is dropped afterwards. On Postgres the ingestion baselines are raw
//! inserts through sqlx's Postgres driver; rows d–f read the same history, seeded on
//! SQLite and moved with `migrate-db`'s copy. Rows g and h run on SQLite.
//!
//! Run: `cargo build --release -p bot && cargo run --release -p bot --example bench_suite`
//! (`BENCH_QUICK=1` for a smaller, faster run; `BENCH_ROWS=ab` for some rows only;
//! `BENCH_ENGINE=sqlite|postgres|both`, by default both when `BENCH_POSTGRES_URL` or
//! `TEST_POSTGRES_URL` names a server whose role may create databases, else SQLite;
//! `BENCH_LIVE=N` for row f's live events).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use bot::secret::Secret;
use bot::slack::local::serve_on_loopback;
use bot::slack::signature::sign;
use bot::slack::{SlackOptions, SlackState};
use chrono::{DateTime, Utc};
use commands::recording_chat::RecordingChat;
use commands::{Core, Invocation, Settings, SystemClock};
use serde_json::json;
use storage::baseline::HistorySpec;
use storage::copy::Progress;
use storage::test_database::TestDatabase;
use storage::{ActionFilter, Db, Engine};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const SIGNING_SECRET: &str = "benchmark-signing-secret";
const CHUNK: usize = 100;

struct Row {
    name: String,
    engine: Engine,
    measured: String,
    baseline: String,
    ratio: String,
    target: &'static str,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0
}

/// Where a row's database lives: a SQLite file or a database on a Postgres server.
#[derive(Clone, Debug)]
enum Target {
    Sqlite,
    /// The server's URL (a role that may create databases).
    Postgres(String),
}

impl Target {
    fn engine(&self) -> Engine {
        match self {
            Target::Sqlite => Engine::Sqlite,
            Target::Postgres(_) => Engine::Postgres,
        }
    }

    /// A fresh, empty database, removed again when the value drops.
    async fn fresh(&self) -> anyhow::Result<TestDatabase> {
        match self {
            Target::Sqlite => Ok(TestDatabase::sqlite()),
            Target::Postgres(server) => TestDatabase::postgres_on(server)
                .await
                .context("cannot create a benchmark database on the Postgres server"),
        }
    }
}

/// The engines to run rows a–f on: `BENCH_ENGINE`, by default both when a Postgres
/// server is named (`BENCH_POSTGRES_URL`, else `TEST_POSTGRES_URL`).
fn targets() -> anyhow::Result<Vec<Target>> {
    let server = ["BENCH_POSTGRES_URL", "TEST_POSTGRES_URL"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()));
    let engine = std::env::var("BENCH_ENGINE").ok().filter(|v| !v.trim().is_empty());
    let postgres = |server: Option<String>| {
        server.map(Target::Postgres).ok_or_else(|| {
            anyhow!("BENCH_ENGINE asks for Postgres: set BENCH_POSTGRES_URL=postgres://USER:PASSWORD@HOST/DB")
        })
    };
    match (engine.as_deref().map(str::trim), server) {
        (Some("sqlite"), _) => Ok(vec![Target::Sqlite]),
        (Some("postgres"), server) => Ok(vec![postgres(server)?]),
        (Some("both"), server) => Ok(vec![Target::Sqlite, postgres(server)?]),
        (Some(other), _) => Err(anyhow!("BENCH_ENGINE: `{other}` is none of sqlite, postgres, both")),
        (None, Some(server)) => Ok(vec![Target::Sqlite, Target::Postgres(server)]),
        (None, None) => {
            eprintln!(
                "postgres rows skipped: neither BENCH_POSTGRES_URL nor TEST_POSTGRES_URL is set (set \
                 BENCH_POSTGRES_URL=postgres://USER:PASSWORD@HOST/DB for a role that may create databases)"
            );
            Ok(vec![Target::Sqlite])
        }
    }
}

/// A running in-process app with a fake Slack answering after `slack_delay`.
struct Bench {
    /// Dropped after `db` is closed: removes the database.
    database: TestDatabase,
    db: Db,
    addr: std::net::SocketAddr,
    state: SlackState,
    url: String,
    slack: MockServer,
    http: reqwest::Client,
    channel: String,
    /// Where the events' timestamps start: after the declaration, like live messages.
    live_from: i64,
}

impl Bench {
    async fn start(target: &Target, slack_delay: Duration) -> anyhow::Result<Bench> {
        let slack = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(
                        json!({ "ok": true, "channel": { "id": "CBENCH", "name": "inc-1-bench" }, "ts": "1.1" }),
                    )
                    .set_delay(slack_delay),
            )
            .mount(&slack)
            .await;
        let database = target.fresh().await?;
        let db = database.open().await?;
        let options = SlackOptions {
            bot_token: Secret::new("xoxb-benchmark"),
            signing_secret: Secret::new(SIGNING_SECRET),
            api_url: format!("{}/api", slack.uri()),
        };
        let state = SlackState::new(options, db.clone(), Settings::default(), Arc::new(SystemClock))?;
        let app = serve_on_loopback(state.clone(), db.clone()).await?;
        let outcome = state
            .core()
            .run(&Invocation {
                source_id: "bench-declare".into(),
                user: "U0ALICE".into(),
                channel_id: "CGENERAL".into(),
                text: "declare sev2 Benchmark".into(),
            })
            .await?;
        let channel = outcome.opened.ok_or_else(|| anyhow!("declare opened no channel"))?.id;
        let http = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;
        let live_from = live_from();
        Ok(Bench {
            database,
            db,
            addr: app.addr,
            state,
            url: app.url(""),
            slack,
            http,
            channel: channel.to_string(),
            live_from,
        })
    }
}

/// The first second after now: where the timestamps of events sent to an incident
/// declared just before start. (Rounded up: a message stamped before the declaration
/// cannot acknowledge it, so it would keep trying, which live messages do not.)
fn live_from() -> i64 {
    Utc::now().timestamp() + 1
}

/// A signed Slack `message` event's JSON: the `n`th message in `channel`.
fn event_body(channel: &str, base: i64, n: u64) -> String {
    // Live messages: stamped after the incident was declared, like real ones, and
    // unique per `n` (one microsecond apart from `base`, which each row takes after
    // declaring its incident: one taken once for the whole suite would stamp a later
    // row's messages before that row's declaration).
    let ts = format!("{}.{:06}", base + (n / 1_000_000) as i64, n % 1_000_000);
    json!({
        "type": "event_callback", "event_id": format!("EvBench{n}"),
        "event": { "type": "message", "channel": channel, "user": "U0BOB", "ts": ts, "event_ts": ts,
                   "text": "the database is slow again, looking at the replica lag" },
    })
    .to_string()
}

async fn send_event(http: &reqwest::Client, url: &str, channel: &str, base: i64, n: u64) -> anyhow::Result<()> {
    let response = signed_post(http, url, "application/json", event_body(channel, base, n)).send().await?;
    if response.status() != 200 {
        return Err(anyhow!("event answered {}", response.status()));
    }
    Ok(())
}

/// A load generator on its own thread, so that sending does not compete with the
/// server for the server's two worker threads (in production Slack sends from
/// elsewhere). It speaks plain HTTP/1.1 over one kept-alive blocking socket, and each
/// chunk's requests are built and signed before the clock starts, as Slack signs on its
/// side: what is timed is the server's work and the loopback round trips. Each request
/// asks it to send `count` requests one at a time and answers how long they took.
struct SequentialSender {
    requests: std::sync::mpsc::Sender<SendRequest>,
}

/// `count` events (or, with `challenges`, transport-only requests), and where to answer.
/// With `ready`, the thread waits there once its requests are built, so that several
/// senders start together (and their building stays outside the caller's clock).
struct SendRequest {
    count: usize,
    challenges: bool,
    ready: Option<Arc<std::sync::Barrier>>,
    reply: tokio::sync::oneshot::Sender<anyhow::Result<Duration>>,
}

impl SequentialSender {
    fn start(
        addr: std::net::SocketAddr,
        channel: String,
        base: i64,
        next: Arc<AtomicU64>,
    ) -> anyhow::Result<SequentialSender> {
        let (requests, incoming) = std::sync::mpsc::channel::<SendRequest>();
        let mut socket = std::net::TcpStream::connect(addr)?;
        socket.set_nodelay(true)?;
        std::thread::spawn(move || {
            while let Ok(SendRequest { count, challenges, ready, reply }) = incoming.recv() {
                let prepared: Vec<Vec<u8>> = (0..count)
                    .map(|_| {
                        let body = if challenges {
                            json!({ "type": "url_verification", "challenge": "benchmark" }).to_string()
                        } else {
                            event_body(&channel, base, next.fetch_add(1, Ordering::Relaxed))
                        };
                        raw_signed_post("/slack/events", &body)
                    })
                    .collect();
                if let Some(ready) = ready {
                    ready.wait();
                }
                let start = Instant::now();
                let sent = prepared.iter().try_for_each(|request| exchange(&mut socket, request));
                let _ = reply.send(sent.map(|()| start.elapsed()));
            }
        });
        Ok(SequentialSender { requests })
    }

    /// Hands the thread `count` requests to send; the answer comes when they are done.
    fn start_sending(
        &self,
        count: usize,
        challenges: bool,
        ready: Option<Arc<std::sync::Barrier>>,
    ) -> anyhow::Result<tokio::sync::oneshot::Receiver<anyhow::Result<Duration>>> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.requests
            .send(SendRequest { count, challenges, ready, reply })
            .map_err(|_| anyhow!("the sender thread stopped"))?;
        Ok(answer)
    }

    async fn send(&self, count: usize, challenges: bool) -> anyhow::Result<Duration> {
        self.start_sending(count, challenges, None)?.await?
    }
}

/// A signed `POST` as bytes on the wire.
fn raw_signed_post(path: &str, body: &str) -> Vec<u8> {
    let stamp = Utc::now().timestamp().to_string();
    let signature = sign(&Secret::new(SIGNING_SECRET), &stamp, body.as_bytes());
    format!(
        "POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n\
         x-slack-request-timestamp: {stamp}\r\nx-slack-signature: {signature}\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Writes one request and reads its whole answer; errors unless it was a 200.
fn exchange(socket: &mut std::net::TcpStream, request: &[u8]) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    socket.write_all(request)?;
    let mut answer = Vec::with_capacity(512);
    let mut buffer = [0u8; 4096];
    loop {
        let read = socket.read(&mut buffer)?;
        if read == 0 {
            return Err(anyhow!("the server closed the connection"));
        }
        answer.extend_from_slice(&buffer[..read]);
        let Some(head_end) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&answer[..head_end]).to_ascii_lowercase();
        if !head.starts_with("http/1.1 200") {
            return Err(anyhow!("answered {}", head.lines().next().unwrap_or_default()));
        }
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0);
        if answer.len() >= head_end + 4 + length {
            return Ok(());
        }
    }
}

/// Row a: sequential events against one-commit-per-row inserts, in alternating chunks.
async fn row_a(target: &Target, rows: usize, rounds: usize) -> anyhow::Result<Row> {
    let bench = Bench::start(target, Duration::ZERO).await?;
    let sender =
        SequentialSender::start(bench.addr, bench.channel.clone(), bench.live_from, Arc::new(AtomicU64::new(1)))?;
    let (mut raw_rates, mut event_rates, mut ratios, mut transport) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (mut raw_secs, mut event_secs, mut transport_secs) = (0.0, 0.0, 0.0);
        for _ in 0..rows / CHUNK {
            let start = Instant::now();
            bench.db.raw_inserts_per_engine(CHUNK, 1).await?;
            raw_secs += start.elapsed().as_secs_f64();
            event_secs += sender.send(CHUNK, false).await?.as_secs_f64();
            transport_secs += sender.send(CHUNK, true).await?.as_secs_f64();
        }
        let total = (rows / CHUNK * CHUNK) as f64;
        raw_rates.push(total / raw_secs);
        event_rates.push(total / event_secs);
        ratios.push(raw_secs / event_secs);
        transport.push(transport_secs / total * 1e6);
    }
    let stored = bench.db.count_entries().await?;
    bench.db.close().await;
    // The declaration's own entry plus every event sent.
    if stored != (rounds * (rows / CHUNK) * CHUNK) as i64 + 1 {
        return Err(anyhow!("row a: {stored} timeline entries stored, not one per event"));
    }
    drop(bench.database);
    Ok(Row {
        name: "a  signed Slack events, one at a time".into(),
        engine: target.engine(),
        measured: format!("{:.0} events/s (transport alone: {:.0} us/request)", median(event_rates), median(transport)),
        baseline: format!("{:.0} rows/s raw, 1 commit/row", median(raw_rates)),
        ratio: format!("{:.2}x", median(ratios)),
        target: ">= 0.5x",
    })
}

/// Row b: `senders` concurrent senders against raw inserts batched 100 per commit.
async fn row_b(target: &Target, rows: usize, rounds: usize, senders: usize) -> anyhow::Result<Row> {
    let bench = Bench::start(target, Duration::ZERO).await?;
    let next = Arc::new(AtomicU64::new(1));
    let senders = (0..senders)
        .map(|_| SequentialSender::start(bench.addr, bench.channel.clone(), bench.live_from, next.clone()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    // All senders at once, started together once each has built and signed its
    // requests (as in row a: Slack signs on its side); seconds until the last is done.
    let send_together = |challenges: bool| {
        let ready = Arc::new(std::sync::Barrier::new(senders.len() + 1));
        let sends = senders
            .iter()
            .map(|sender| sender.start_sending(rows / senders.len(), challenges, Some(ready.clone())))
            .collect::<anyhow::Result<Vec<_>>>();
        async move {
            let sends = sends?;
            tokio::task::spawn_blocking(move || ready.wait()).await?;
            let start = Instant::now();
            for send in sends {
                send.await??;
            }
            anyhow::Ok(start.elapsed().as_secs_f64())
        }
    };
    let (mut raw_rates, mut event_rates, mut ratios, mut transport_rates) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let start = Instant::now();
        bench.db.raw_inserts_per_engine(rows, 100).await?;
        let raw_secs = start.elapsed().as_secs_f64();
        let event_secs = send_together(false).await?;
        // What HTTP and the signature alone allow with these senders on these cores:
        // the ceiling for events, whatever the database does.
        let transport_secs = send_together(true).await?;
        let total = (rows / senders.len() * senders.len()) as f64;
        raw_rates.push(rows as f64 / raw_secs);
        event_rates.push(total / event_secs);
        transport_rates.push(total / transport_secs);
        ratios.push((total / event_secs) / (rows as f64 / raw_secs));
    }
    let stored = bench.db.count_entries().await?;
    bench.db.close().await;
    if stored != (rounds * (rows / senders.len()) * senders.len()) as i64 + 1 {
        return Err(anyhow!("row b: {stored} timeline entries stored, not one per event"));
    }
    drop(bench.database);
    Ok(Row {
        name: "b  the same, concurrent senders".into(),
        engine: target.engine(),
        measured: format!(
            "{:.0} events/s ({} senders; transport alone {:.0} requests/s)",
            median(event_rates),
            senders.len(),
            median(transport_rates)
        ),
        baseline: format!("{:.0} rows/s raw, 100 rows/commit", median(raw_rates)),
        ratio: format!("{:.3}x", median(ratios)),
        target: "report",
    })
}

/// Sends `total` requests at `rate`/s built by `request`; returns sorted latencies of 200s.
async fn at_rate(
    rate: u64,
    total: u64,
    request: impl Fn(u64) -> anyhow::Result<reqwest::RequestBuilder>,
) -> anyhow::Result<(Vec<Duration>, usize)> {
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut sends = Vec::new();
    for n in 0..total {
        ticker.tick().await;
        let request = request(n)?;
        sends.push(tokio::spawn(async move {
            let sent = Instant::now();
            let status = request.send().await.map(|r| r.status().as_u16());
            (sent.elapsed(), status)
        }));
    }
    let (mut latencies, mut failures) = (Vec::new(), 0);
    for send in sends {
        match send.await? {
            (latency, Ok(200)) => latencies.push(latency),
            _ => failures += 1,
        }
    }
    latencies.sort();
    Ok((latencies, failures))
}

/// A `POST` of `body` to `url`, signed as Slack signs, stamped now.
fn signed_post(http: &reqwest::Client, url: &str, content_type: &str, body: String) -> reqwest::RequestBuilder {
    let stamp = Utc::now().timestamp().to_string();
    let signature = sign(&Secret::new(SIGNING_SECRET), &stamp, body.as_bytes());
    http.post(url)
        .header("content-type", content_type)
        .header("x-slack-request-timestamp", stamp)
        .header("x-slack-signature", signature)
        .body(body)
}

/// Row c: slash-command acks at 200/s with Slack answering after 2 s.
async fn row_c(target: &Target, seconds: u64) -> anyhow::Result<Row> {
    let bench = Bench::start(target, Duration::from_secs(2)).await?;
    let total = 200 * seconds;
    let health = format!("{}/healthz", bench.url);
    let (baseline, _) = at_rate(200, total, |_| Ok(bench.http.get(&health))).await?;
    // The same signed POST through the same router with nothing to commit (Slack's
    // `url_verification`): what an ack costs without the inbox's commit.
    let events_url = format!("{}/slack/events", bench.url);
    let (uncommitted, _) = at_rate(200, total, |_| {
        let body = json!({ "type": "url_verification", "challenge": "benchmark" }).to_string();
        Ok(signed_post(&bench.http, &events_url, "application/json", body))
    })
    .await?;
    let commands_url = format!("{}/slack/commands", bench.url);
    let (acks, failures) = at_rate(200, total, |n| {
        let body = serde_urlencoded::to_string([
            ("user_id", "U0LOAD"),
            ("channel_id", "CGENERAL"),
            ("command", "/incident"),
            ("text", if n % 2 == 0 { "help" } else { "list" }),
            ("response_url", &format!("{}/response/{n}", bench.slack.uri())),
            ("trigger_id", &format!("{n}.load.trigger")),
        ])?;
        Ok(signed_post(&bench.http, &commands_url, "application/x-www-form-urlencoded", body))
    })
    .await?;
    if acks.is_empty() {
        return Err(anyhow!("no command was acknowledged"));
    }
    bench.state.shutdown(Duration::from_secs(10)).await;
    bench.db.close().await;
    drop(bench.database);
    Ok(Row {
        name: "c  slash-command ack at 200 req/s, Slack 2 s".into(),
        engine: target.engine(),
        measured: format!(
            "p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({failures} failed)",
            percentile(&acks, 0.5),
            percentile(&acks, 0.99),
            percentile(&acks, 1.0)
        ),
        baseline: format!(
            "/healthz p50 {:.1} ms, p99 {:.1} ms; a signed POST with no commit p50 {:.1} ms, p99 {:.1} ms",
            percentile(&baseline, 0.5),
            percentile(&baseline, 0.99),
            percentile(&uncommitted, 0.5),
            percentile(&uncommitted, 0.99)
        ),
        ratio: format!("{:.2}x p99", percentile(&acks, 0.99) / percentile(&baseline, 0.99)),
        target: "p99 < 50 ms",
    })
}

async fn timed<T, F: std::future::Future<Output = anyhow::Result<T>>>(
    runs: usize,
    mut f: impl FnMut() -> F,
) -> anyhow::Result<f64> {
    let mut times = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        f().await?;
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(median(times))
}

/// How much history was seeded.
#[derive(Clone, Copy, Debug)]
struct Seeded {
    incidents: usize,
    entries: usize,
    actions: usize,
}

/// Seeds the SQLite history at `url`; returns its size and a line saying how long it took.
async fn seed_history(url: &str, spec: HistorySpec, now: DateTime<Utc>) -> anyhow::Result<(Seeded, String)> {
    let db = Db::connect(url).await?;
    let start = Instant::now();
    let (incidents, entries, actions) = db.seed_history(spec, now).await?;
    db.close().await;
    let said = format!(
        "seeded {incidents} incidents, {entries} entries, {actions} action items in {:.0} s",
        start.elapsed().as_secs_f64()
    );
    Ok((Seeded { incidents, entries, actions }, said))
}

/// Copies the history at `from` into the empty Postgres database `to` the way
/// `migrate-db` does (batched inserts in one transaction, verified by count and
/// checksum), with progress; returns a line saying how long it took.
async fn copy_history(from: &str, to: &str) -> anyhow::Result<String> {
    let (source, target) = (Db::connect_existing(from).await?, Db::connect(to).await?);
    let start = Instant::now();
    let mut shown: Option<(&str, i64, i64)> = None;
    storage::copy::copy_history(&source, &target, |progress| {
        if let Progress::Copying { table, copied, total } = progress {
            // A line per table and per 200,000 rows of a large one.
            let step = copied / 200_000;
            let new_step = shown.is_none_or(|(t, s, _)| t != table || s != step);
            let done = copied == total && shown.is_none_or(|(t, _, c)| t != table || c != copied);
            if new_step || done {
                shown = Some((table, step, copied));
                if total > 0 {
                    eprintln!("   {table}: {copied}/{total} rows, {:.0} s", start.elapsed().as_secs_f64());
                }
            }
        }
    })
    .await?;
    source.close().await;
    target.close().await;
    Ok(format!("copied to Postgres with migrate-db's copy in {:.0} s", start.elapsed().as_secs_f64()))
}

/// Rows d and e over the seeded history at `url` (kept for row f).
async fn rows_d_e(target: &Target, url: &str, seeded: Seeded, now: DateTime<Utc>) -> anyhow::Result<(Row, Row)> {
    let Seeded { incidents, entries, actions } = seeded;
    let db = Db::connect_existing(url).await?;
    let count_ms = timed(5, || async { Ok(db.count_entries().await?) }).await?;
    let digest_ms = timed(5, || async {
        Ok(commands::digest::build(&db, chrono_tz::Tz::UTC, now, chrono::Duration::days(7)).await?)
    })
    .await?;
    let core = Core::new(db.clone(), Arc::new(RecordingChat::new()), Arc::new(SystemClock), Settings::default());
    let stats = Invocation {
        source_id: "bench".into(),
        user: "U1".into(),
        channel_id: "general".into(),
        text: "stats 30d".into(),
    };
    let stats_ms = timed(5, || async { Ok(core.run(&stats).await?) }).await?;
    let today = now.date_naive();
    let scan_ms =
        timed(7, || async { Ok(db.actions(&ActionFilter::OverdueOn { today, incident_id: None }).await?) }).await?;
    db.close().await;
    let d = Row {
        name: format!("d  digest + stats, {incidents} incidents / {entries} entries"),
        engine: target.engine(),
        measured: format!("digest {digest_ms:.1} ms, stats {stats_ms:.1} ms"),
        baseline: format!("count(*) of entries {count_ms:.1} ms"),
        ratio: format!("{:.2}x", (digest_ms + stats_ms) / count_ms),
        target: "report",
    };
    let e = Row {
        name: format!("e  reminder scan, {actions} action items"),
        engine: target.engine(),
        measured: format!("{scan_ms:.1} ms"),
        baseline: format!("count(*) of entries {count_ms:.1} ms"),
        ratio: format!("{:.2}x", scan_ms / count_ms),
        target: "report",
    };
    Ok((d, e))
}

fn rss_kb(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow!("no VmRSS for {pid}"))
}

struct Served {
    child: std::process::Child,
    url: String,
    healthy_after: Duration,
}

async fn start_serve(
    binary: &Path,
    db_url: &str,
    slack: &MockServer,
    http: &reqwest::Client,
) -> anyhow::Result<Served> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let started = Instant::now();
    let child = std::process::Command::new(binary)
        .arg("serve")
        .env("DATABASE_URL", db_url)
        .env("PORT", port.to_string())
        .env("SLACK_BOT_TOKEN", "xoxb-benchmark")
        .env("SLACK_SIGNING_SECRET", SIGNING_SECRET)
        .env("SLACK_API_URL", format!("{}/api", slack.uri()))
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let url = format!("http://127.0.0.1:{port}");
    loop {
        if let Ok(r) = http.get(format!("{url}/healthz")).send().await {
            if r.status() == 200 {
                break;
            }
        }
        if started.elapsed() > Duration::from_secs(60) {
            return Err(anyhow!("serve did not become healthy in 60 s"));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(Served { child, url, healthy_after: started.elapsed() })
}

/// Row f: the release binary's memory, empty and with the seeded history, then after
/// ingesting `live` events through signed HTTP.
async fn row_f(
    target: &Target,
    binary: &Path,
    history_url: &str,
    history_entries: usize,
    live: u64,
) -> anyhow::Result<Row> {
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "ok": true, "messages": [], "has_more": false })),
        )
        .mount(&slack)
        .await;
    let http = reqwest::Client::builder().pool_max_idle_per_host(64).build()?;
    let empty_database = target.fresh().await?;
    let mut empty = start_serve(binary, &empty_database.url, &slack, &http).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_empty = rss_kb(empty.child.id())?;
    empty.child.kill()?;
    empty.child.wait()?;
    drop(empty_database);

    // The history's incidents are resolved or closed; one open incident takes the events.
    let db = Db::connect_existing(history_url).await?;
    let core = Core::new(db.clone(), Arc::new(RecordingChat::new()), Arc::new(SystemClock), Settings::default());
    let outcome = core
        .run(&Invocation {
            source_id: "bench-live".into(),
            user: "U0ALICE".into(),
            channel_id: "CGENERAL".into(),
            text: "declare sev2 Live ingestion".into(),
        })
        .await?;
    let channel = outcome.opened.ok_or_else(|| anyhow!("declare opened no channel"))?.id;
    let base = live_from();
    db.close().await;
    let mut full = start_serve(binary, history_url, &slack, &http).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_history = rss_kb(full.child.id())?;
    let next = Arc::new(AtomicU64::new(1));
    let events_url = format!("{}/slack/events", full.url);
    let start = Instant::now();
    let mut senders = Vec::new();
    for _ in 0..16 {
        let (http, url, channel, next) = (http.clone(), events_url.clone(), channel.clone(), next.clone());
        senders.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n > live {
                    return anyhow::Ok(());
                }
                send_event(&http, &url, channel.as_str(), base, n).await?;
            }
        }));
    }
    // Progress every 10 s, and the highest RSS seen along the way.
    let pid = full.child.id();
    let progress = {
        let next = next.clone();
        tokio::spawn(async move {
            let mut peak = 0;
            loop {
                tokio::time::sleep(Duration::from_secs(10)).await;
                let rss = rss_kb(pid).unwrap_or(0);
                peak = peak.max(rss);
                let sent = next.load(Ordering::Relaxed).min(live + 1) - 1;
                eprintln!(
                    "   {sent}/{live} events, {:.0}/s, RSS {:.1} MB",
                    sent as f64 / start.elapsed().as_secs_f64(),
                    rss as f64 / 1024.0
                );
                if sent >= live {
                    return peak;
                }
            }
        })
    };
    for sender in senders {
        sender.await??;
    }
    let rate = live as f64 / start.elapsed().as_secs_f64();
    let after = rss_kb(full.child.id())?;
    let peak = progress.await?.max(after);
    full.child.kill()?;
    full.child.wait()?;
    Ok(Row {
        name: "f  serve: RSS and time to healthy".into(),
        engine: target.engine(),
        measured: format!(
            "idle {:.1} MB; healthy in {} ms; with {history_entries}-entry history {:.1} MB; after {live} more events \
             {:.1} MB (peak {:.1} MB, {rate:.0} events/s)",
            idle_empty as f64 / 1024.0,
            empty.healthy_after.as_millis(),
            idle_history as f64 / 1024.0,
            after as f64 / 1024.0,
            peak as f64 / 1024.0
        ),
        baseline: format!("healthy in {} ms with history", full.healthy_after.as_millis()),
        ratio: format!("{:.2}x RSS history/empty", idle_history as f64 / idle_empty as f64),
        target: "< 30 MB idle, no growth",
    })
}

/// p50 and p99 of `runs` signed-in GETs of `path`, in ms.
async fn page_times(http: &reqwest::Client, url: &str, cookie: &str, runs: usize) -> anyhow::Result<(f64, f64)> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let response = http.get(url).header("cookie", cookie).send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        times.push(start.elapsed());
        if !status.is_success() || body.is_empty() {
            return Err(anyhow!("{url} answered {status}"));
        }
    }
    times.sort();
    Ok((percentile(&times, 0.5), percentile(&times, 0.99)))
}

/// Row g: the web pages over the seeded history, served in process on loopback.
async fn row_g(history_db: &Path, now: DateTime<Utc>) -> anyhow::Result<Row> {
    let db = Db::connect(&format!("sqlite://{}", history_db.display())).await?;
    let long = db.seed_long_incident(10_000, now).await?;
    db.seed_learning_and_detections().await?;
    let web = bot::web::WebState::new(db.clone(), Settings::default(), false, None);
    let app = bot::serve::router(bot::serve::AppState::new(db.clone())).merge(bot::web::router(web));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let user = storage::WebUser { platform: storage::Platform::Slack, user_id: "U1".into() };
    let link = commands::web_auth::issue_link(&db, &url, &user, Utc::now()).await?;
    let token = link.url.rsplit('/').next().unwrap_or_default().to_string();
    let session = commands::web_auth::redeem_link(&db, &token, Utc::now())
        .await?
        .map_err(|refusal| anyhow!("the benchmark's sign-in link was refused: {refusal:?}"))?;
    let cookie = format!("incidentbot_session={}", session.token);
    let http = reqwest::Client::new();
    let runs = 200;
    let health = page_times(&http, &format!("{url}/healthz"), "", runs).await?;
    let count_ms = timed(5, || async { Ok(db.count_entries().await?) }).await?;
    let list = page_times(&http, &format!("{url}/incidents"), &cookie, runs).await?;
    let filtered = page_times(&http, &format!("{url}/incidents?severity=sev2&q=incident+12"), &cookie, runs).await?;
    let incident = page_times(&http, &format!("{url}/incidents/{long}"), &cookie, 50).await?;
    let search = page_times(&http, &format!("{url}/postmortems?q=manual+failover"), &cookie, 50).await?;
    let broad = page_times(&http, &format!("{url}/postmortems?q=replica+lag"), &cookie, 20).await?;
    let insights = page_times(&http, &format!("{url}/insights"), &cookie, 20).await?;
    // Page weight: the heaviest of the benchmarked pages, with the stylesheet.
    let mut heaviest = (0usize, String::new());
    for path in [
        "/incidents".to_string(),
        format!("/incidents/{long}"),
        "/postmortems?q=replica+lag".into(),
        "/insights".into(),
    ] {
        let bytes = http.get(format!("{url}{path}")).header("cookie", &cookie).send().await?.bytes().await?.len();
        if bytes > heaviest.0 {
            heaviest = (bytes, path);
        }
    }
    let page_kb = (heaviest.0 + bot::web::layout::STYLESHEET.len()) as f64 / 1024.0;
    let heaviest_path = heaviest.1;
    server.abort();
    db.close().await;
    Ok(Row {
        name: "g  web pages, same history (each incident with a service, a tag; a third detected by alerts) + one 10,000-entry incident".into(),
        engine: Engine::Sqlite,
        measured: format!(
            "/incidents p50 {:.1} / p99 {:.1} ms (filtered {:.1} / {:.1}); /incidents/{{id}} with 10,000 entries \
             {:.1} / {:.1} ms; /postmortems?q=manual failover {:.1} / {:.1} ms (q=replica lag, 100k+ hits, \
             {:.1} / {:.1} ms); /insights {:.1} / {:.1} ms; heaviest page {heaviest_path} {page_kb:.0} KB with CSS",
            list.0,
            list.1,
            filtered.0,
            filtered.1,
            incident.0,
            incident.1,
            search.0,
            search.1,
            broad.0,
            broad.1,
            insights.0,
            insights.1
        ),
        baseline: format!(
            "/healthz p50 {:.1} / p99 {:.1} ms; count(*) of entries {count_ms:.1} ms",
            health.0, health.1
        ),
        ratio: format!("{:.1}x /incidents p99 over /healthz p99", list.1 / health.1.max(0.001)),
        target: "/incidents p99 < 50 ms; 10k-entry incident < 100 ms; /insights < 200 ms; page < 150 KB",
    })
}

/// One Alertmanager webhook (version 4) of group `group` with `size` alerts; even
/// groups are critical in production (the rules declare them), odd ones go to triage.
fn storm_group(group: usize, size: usize) -> Vec<u8> {
    let severity = if group.is_multiple_of(2) { "critical" } else { "warning" };
    let alerts: Vec<serde_json::Value> = (0..size)
        .map(|n| {
            json!({
                "status": "firing",
                "labels": { "alertname": format!("Storm{group}"), "instance": format!("node-{n}"),
                            "severity": severity, "env": "prod" },
                "annotations": { "summary": format!("Storm {group} on node-{n}") },
                "startsAt": "2026-11-23T08:55:00Z", "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph",
                "fingerprint": format!("{group:04x}{n:04x}"),
            })
        })
        .collect();
    serde_json::to_vec(&json!({
        "version": "4", "groupKey": format!("{{}}:{{alertname=\"Storm{group}\"}}"), "truncatedAlerts": 0,
        "status": "firing", "receiver": "incidentbot", "groupLabels": {}, "commonLabels": {},
        "commonAnnotations": {}, "externalURL": "http://alertmanager:9093", "alerts": alerts,
    }))
    .unwrap_or_default()
}

/// Sends `bodies` to `url` from `senders` concurrent senders; returns sorted latencies
/// of the 200s and the count of anything else.
async fn send_all(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    bodies: Arc<Vec<Vec<u8>>>,
    senders: usize,
) -> anyhow::Result<(Vec<Duration>, usize)> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..senders {
        let (http, url, token, bodies, next) =
            (http.clone(), url.to_string(), token.map(str::to_string), bodies.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut failures) = (Vec::new(), 0);
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(body) = bodies.get(n) else { break };
                let mut request = if body.is_empty() { http.get(&url) } else { http.post(&url).body(body.clone()) };
                if let Some(token) = &token {
                    request = request.bearer_auth(token);
                }
                let sent = Instant::now();
                match request.send().await {
                    Ok(response) if response.status() == 200 => latencies.push(sent.elapsed()),
                    _ => failures += 1,
                }
            }
            (latencies, failures)
        }));
    }
    let (mut latencies, mut failures) = (Vec::new(), 0);
    for task in tasks {
        let (l, f) = task.await?;
        latencies.extend(l);
        failures += f;
    }
    latencies.sort();
    Ok((latencies, failures))
}

/// Row h: an alert storm of `groups` Alertmanager groups of `per_group` alerts over
/// HTTP with bearer auth, against the release `serve`, then the whole storm repeated
/// (Alertmanager's repeat_interval). Counts incidents, triage posts and stored alerts
/// once the worker is done.
async fn row_h(binary: &Path, groups: usize, per_group: usize) -> anyhow::Result<Row> {
    const TOKEN: &str = "benchmark-alertmanager-secret";
    const TRIAGE: &str = "CTRIAGE";
    let slack = MockServer::start().await;
    let channels = Arc::new(std::sync::atomic::AtomicU64::new(1));
    Mock::given(wiremock::matchers::path("/api/conversations.create"))
        .respond_with(move |_: &wiremock::Request| {
            let n = channels.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            ResponseTemplate::new(200).set_body_json(
                json!({ "ok": true, "channel": { "id": format!("CINC{n}"), "name": format!("inc-{n}") } }),
            )
        })
        .mount(&slack)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({ "ok": true, "user_id": "U0BOT", "ts": "1800000000.000100", "messages": [], "has_more": false }),
        ))
        .mount(&slack)
        .await;
    let dir = tempfile::tempdir()?;
    let db_path = dir.path().join("storm.db");
    let config = dir.path().join("incidentbot.toml");
    std::fs::write(
        &config,
        format!(
            "[alerts]\nplatform = \"slack\"\ntriage_channel = \"{TRIAGE}\"\n\
             [[alerts.sources]]\nname = \"prometheus\"\nkind = \"alertmanager\"\n\
             secret_env = \"ALERTS_BENCH_SECRET\"\nmax_per_minute = 1000000\n\
             [[alerts.rules]]\nwhen = 'severity=\"critical\", env=~\"prod|production\"'\nthen = \"declare\"\n\
             severity = \"sev1\"\n"
        ),
    )?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut child = std::process::Command::new(binary)
        .arg("serve")
        .env("DATABASE_URL", format!("sqlite://{}", db_path.display()))
        .env("PORT", port.to_string())
        .env("INCIDENTBOT_CONFIG", &config)
        .env("ALERTS_BENCH_SECRET", TOKEN)
        .env("SLACK_BOT_TOKEN", "xoxb-benchmark")
        .env("SLACK_SIGNING_SECRET", SIGNING_SECRET)
        .env("SLACK_API_URL", format!("{}/api", slack.uri()))
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let started = Instant::now();
    while !http.get(format!("{url}/healthz")).send().await.is_ok_and(|r| r.status() == 200) {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            return Err(anyhow!("serve did not become healthy in 60 s"));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let senders = 8;
    let health_probes = Arc::new(vec![Vec::new(); groups]);
    let (health, _) = send_all(&http, &format!("{url}/healthz"), None, health_probes, senders).await?;
    let storm: Arc<Vec<Vec<u8>>> = Arc::new((0..groups).map(|g| storm_group(g, per_group)).collect());
    let alerts_url = format!("{url}/alerts/prometheus");
    let storm_started = Instant::now();
    let (mut acks, mut failures) = send_all(&http, &alerts_url, Some(TOKEN), storm.clone(), senders).await?;
    let storm_took = storm_started.elapsed();
    // Alertmanager's repeat_interval: every group again, unchanged.
    let (repeats, repeat_failures) = send_all(&http, &alerts_url, Some(TOKEN), storm, senders).await?;
    acks.extend(repeats);
    acks.sort();
    failures += repeat_failures;
    // Wait for the worker to apply everything.
    let db = Db::connect_existing(&format!("sqlite://{}", db_path.display())).await?;
    let applied_from = Instant::now();
    let inbox = storage::EventSource::alerts("prometheus");
    while !db.pending_alerts(0, 1).await?.is_empty() || !db.inbox_unfinished(&inbox).await?.is_empty() {
        if applied_from.elapsed() > Duration::from_secs(600) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let applied_after = storm_started.elapsed();
    let incidents = db.open_incidents().await?.len();
    let stored: i64 = db.alert_counts().await?.iter().map(|(_, _, n)| n).sum();
    let triage_posts = slack
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/api/chat.postMessage" && String::from_utf8_lossy(&r.body).contains(TRIAGE))
        .count();
    db.close().await;
    let _ = child.kill();
    let _ = child.wait();
    let declared_groups = groups.div_ceil(2);
    let expected_alerts = i64::try_from(groups * per_group)?;
    let duplicates = incidents.saturating_sub(declared_groups)
        + usize::try_from((stored - expected_alerts).max(0))?
        + triage_posts.saturating_sub(groups - declared_groups);
    let lost = declared_groups.saturating_sub(incidents) + usize::try_from((expected_alerts - stored).max(0))?;
    if acks.is_empty() {
        return Err(anyhow!("no alert delivery was acknowledged"));
    }
    Ok(Row {
        name: format!("h  alert storm: {} alerts in {groups} groups, bearer, {senders} senders, then repeated", groups * per_group),
        engine: Engine::Sqlite,
        measured: format!(
            "{:.0} alerts/s; ack p50 {:.1} ms, p99 {:.1} ms ({failures} failed); {incidents} incidents for {declared_groups} \
             declared groups, {triage_posts} triage posts; duplicates {duplicates}, lost {lost}; all applied after {:.1} s",
            (groups * per_group) as f64 / storm_took.as_secs_f64(),
            percentile(&acks, 0.5),
            percentile(&acks, 0.99),
            applied_after.as_secs_f64()
        ),
        baseline: format!("/healthz p50 {:.1} ms, p99 {:.1} ms", percentile(&health, 0.5), percentile(&health, 0.99)),
        ratio: format!("{:.2}x p99", percentile(&acks, 0.99) / percentile(&health, 0.99)),
        target: "p99 < 50 ms, duplicates 0",
    })
}

fn serve_binary() -> anyhow::Result<PathBuf> {
    // target/release/examples/bench_suite → target/release/incidentbot
    let exe = std::env::current_exe()?;
    let binary = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("incidentbot"))
        .ok_or_else(|| anyhow!("cannot find the target directory"))?;
    if !binary.exists() {
        return Err(anyhow!("{} is missing: run `cargo build --release -p bot` first", binary.display()));
    }
    Ok(binary)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let quick = std::env::var("BENCH_QUICK").is_ok();
    let (rows_a, rounds, c_seconds, live) = if quick { (500, 3, 3, 20_000) } else { (1_000, 5, 10, 1_000_000) };
    let spec = HistorySpec {
        incidents: if quick { 1_000 } else { 10_000 },
        entries_per_incident: 100,
        actions_per_incident: 10,
        days: 200,
        platform: "slack",
    };
    // BENCH_ROWS=ab (for example) runs only those rows; rows d, e and f share one history.
    let selected = std::env::var("BENCH_ROWS").unwrap_or_else(|_| "abcdefgh".into());
    let wants = |row: char| selected.contains(row);
    // Only rows f and h run the release `serve`; checked before any row runs.
    let binary = if wants('f') || wants('h') { serve_binary()? } else { PathBuf::new() };
    let targets = targets()?;
    let live = std::env::var("BENCH_LIVE").ok().and_then(|v| v.trim().parse().ok()).unwrap_or(live);
    let mut rows = Vec::new();
    for target in &targets {
        let engine = target.engine();
        if wants('a') {
            eprintln!("a ({engine:?}): sequential ingestion");
            rows.push(row_a(target, rows_a, rounds).await?);
        }
        if wants('b') {
            eprintln!("b ({engine:?}): concurrent ingestion");
            rows.push(row_b(target, rows_a * 4, rounds, 16).await?);
        }
        if wants('c') {
            eprintln!("c ({engine:?}): ack latency");
            rows.push(row_c(target, c_seconds).await?);
        }
    }
    let mut seeded_said = vec![String::from("no history seeded")];
    if wants('d') || wants('e') || wants('f') || wants('g') {
        eprintln!("d, e: seeding the history");
        let now: DateTime<Utc> = "2026-11-23T09:00:00Z".parse()?;
        // Seeded once on SQLite; each Postgres target gets a copy before any row adds to it.
        let sqlite_history = TestDatabase::sqlite();
        let (seeded, said) = seed_history(&sqlite_history.url, spec, now).await?;
        seeded_said = vec![said];
        let mut histories = Vec::new();
        for target in &targets {
            match target {
                Target::Sqlite => histories.push((target, None)),
                Target::Postgres(_) => {
                    eprintln!("d, e (Postgres): copying the history");
                    let database = target.fresh().await?;
                    seeded_said.push(copy_history(&sqlite_history.url, &database.url).await?);
                    histories.push((target, Some(database)));
                }
            }
        }
        for (target, database) in &histories {
            let url = database.as_ref().map_or(sqlite_history.url.as_str(), |d| d.url.as_str());
            let engine = target.engine();
            if wants('d') || wants('e') {
                eprintln!("d, e ({engine:?}): digest, stats, reminder scan");
                let (d, e) = rows_d_e(target, url, seeded, now).await?;
                if wants('d') {
                    rows.push(d);
                }
                if wants('e') {
                    rows.push(e);
                }
            }
            if wants('f') {
                eprintln!("f ({engine:?}): serve process, {live} live events");
                rows.push(row_f(target, &binary, url, seeded.entries, live).await?);
            }
        }
        drop(histories);
        if wants('g') {
            eprintln!("g: web pages");
            let history = storage::db::database_path(&sqlite_history.url)
                .ok_or_else(|| anyhow!("the SQLite history has no path"))?;
            rows.push(row_g(&history, now).await?);
        }
    }

    if wants('h') {
        let (groups, per_group) = if quick { (100, 20) } else { (500, 20) };
        eprintln!("h: alert storm, {} alerts in {groups} groups", groups * per_group);
        rows.push(row_h(&binary, groups, per_group).await?);
    }

    println!("incidentbot benchmark suite ({}; {})", if quick { "quick" } else { "full" }, seeded_said.join("; "));
    println!("| row | engine | measured | same-run baseline | ratio | target |");
    println!("|---|---|---|---|---|---|");
    for row in rows {
        let engine = match row.engine {
            Engine::Sqlite => "SQLite",
            Engine::Postgres => "Postgres",
        };
        println!("| {} | {engine} | {} | {} | {} | {} |", row.name, row.measured, row.baseline, row.ratio, row.target);
    }
    Ok(())
}
