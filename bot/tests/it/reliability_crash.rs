//! Crash safety of `incidentbot serve`: the real binary, with Slack configured against
//! wiremock, takes signed message events while it is killed with SIGKILL at random
//! moments. After each restart the database passes `PRAGMA integrity_check`, every
//! event that got a 2xx is in the timeline, and nothing is stored twice (acknowledged
//! events are also delivered again, as Slack's retries would).
//!
//! The whole run uses sentinel secrets, and the binary's logs (debug level) must never
//! contain them.
//!
//! Fast (3 kills): `cargo test -p bot --test it reliability_crash`.
//! Long (50 kills): `cargo test --release -p bot --test it reliability_crash -- --ignored`.

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bot::secret::Secret;
use bot::slack::signature::sign;
use commands::recording_chat::RecordingChat;
use commands::{Core, Invocation, Settings, SystemClock};
use serde_json::json;
use storage::{Db, EntryKind};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "xoxb-CRASH-SENTINEL-4f1d2c";
const SIGNING_SECRET: &str = "CRASH-SENTINEL-signing-9a8b7c";
const SENDERS: usize = 4;

struct Setup {
    dir: tempfile::TempDir,
    db_url: String,
    channel: String,
    slack: MockServer,
    log_path: std::path::PathBuf,
}

/// A database with one open incident whose channel takes the events.
async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", dir.path().join("crash.db").display());
    let db = Db::connect(&db_url).await.unwrap();
    let core = Core::new(db.clone(), Arc::new(RecordingChat::new()), Arc::new(SystemClock), Settings::default());
    let outcome = core
        .run(&Invocation {
            source_id: "crash-declare".into(),
            user: "U0ALICE".into(),
            channel_id: "CGENERAL".into(),
            text: "declare sev2 Crash test".into(),
        })
        .await
        .unwrap();
    let channel = outcome.opened.unwrap().id;
    db.close().await;
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "ok": true, "messages": [], "has_more": false })),
        )
        .mount(&slack)
        .await;
    let log_path = dir.path().join("serve.log");
    Setup { dir, db_url, channel, slack, log_path }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn spawn_serve(setup: &Setup, port: u16) -> Child {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(&setup.log_path).unwrap();
    Command::new(env!("CARGO_BIN_EXE_incidentbot"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &setup.db_url)
        .env("PORT", port.to_string())
        .env("SLACK_BOT_TOKEN", TOKEN)
        .env("SLACK_SIGNING_SECRET", SIGNING_SECRET)
        .env("SLACK_API_URL", format!("{}/api", setup.slack.uri()))
        .env("RUST_LOG", "debug")
        // A killed copy's lease must expire before the next one turns active; a short
        // lease keeps each restart to about a second instead of the default 15.
        .env("INCIDENTBOT_LEASE_TTL_MS", "1000")
        .current_dir(setup.dir.path())
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

async fn wait_healthy(http: &reqwest::Client, port: u16) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if let Ok(response) = http.get(format!("http://127.0.0.1:{port}/healthz")).send().await {
            if response.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("serve did not become healthy");
}

fn ts_of(n: u64) -> String {
    format!("1800000000.{n:06}")
}

/// Sends the message event numbered `n`; `true` when it was answered with a 2xx.
async fn send_event(http: &reqwest::Client, port: u16, channel: &str, n: u64) -> bool {
    let body = json!({
        "type": "event_callback",
        "event_id": format!("EvCrash{n}"),
        "event": { "type": "message", "channel": channel, "user": "U0BOB", "text": format!("event {n}"),
                   "ts": ts_of(n), "event_ts": ts_of(n) },
    })
    .to_string();
    let stamp = chrono::Utc::now().timestamp().to_string();
    let signature = sign(&Secret::new(SIGNING_SECRET), &stamp, body.as_bytes());
    let sent = http
        .post(format!("http://127.0.0.1:{port}/slack/events"))
        .header("content-type", "application/json")
        .header("x-slack-request-timestamp", stamp)
        .header("x-slack-signature", signature)
        .timeout(Duration::from_secs(5))
        .body(body)
        .send()
        .await;
    matches!(sent, Ok(response) if response.status().is_success())
}

/// Checks the database against what was acknowledged; returns the number of messages.
async fn check_database(setup: &Setup, acknowledged: &BTreeSet<u64>) -> usize {
    let db = Db::connect(&setup.db_url).await.unwrap();
    assert_eq!(db.integrity_check().await.unwrap(), vec!["ok".to_string()]);
    let incident = db.incident_by_channel(&setup.channel).await.unwrap().unwrap();
    let messages: Vec<_> =
        db.timeline(incident.id, false).await.unwrap().into_iter().filter(|e| e.kind == EntryKind::Message).collect();
    let stored: BTreeSet<&str> = messages.iter().map(|e| e.source_id.as_str()).collect();
    assert_eq!(stored.len(), messages.len(), "a message is stored twice");
    let texts: BTreeSet<&str> = messages.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(texts.len(), messages.len(), "a message text is stored twice");
    for n in acknowledged {
        let source = format!("slack:{}:{}", setup.channel, ts_of(*n));
        assert!(stored.contains(source.as_str()), "event {n} got a 2xx but is not in the timeline");
    }
    db.close().await;
    messages.len()
}

async fn crash_loop(kills: usize) {
    let setup = setup().await;
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let next = Arc::new(AtomicU64::new(1));
    let mut rng = Rng(0x5eed_1234_abcd_0001 ^ std::process::id() as u64);
    let mut stored = 0;
    for round in 0..kills {
        let port = free_port();
        let mut child = spawn_serve(&setup, port);
        wait_healthy(&http, port).await;
        // Slack retries what it did not see acknowledged; here every acknowledged event
        // from earlier rounds is delivered again as well, and must change nothing.
        let earlier: Vec<u64> = acknowledged.lock().unwrap().iter().copied().rev().take(20).collect();
        for n in earlier {
            send_event(&http, port, &setup.channel, n).await;
        }
        let mut senders = Vec::new();
        for _ in 0..SENDERS {
            let (http, channel, next, acknowledged) =
                (http.clone(), setup.channel.clone(), next.clone(), acknowledged.clone());
            senders.push(tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    if send_event(&http, port, &channel, n).await {
                        acknowledged.lock().unwrap().insert(n);
                    } else {
                        break;
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(100 + rng.below(900))).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        for sender in senders {
            sender.await.unwrap();
        }
        let acknowledged_so_far = acknowledged.lock().unwrap().clone();
        stored = check_database(&setup, &acknowledged_so_far).await;
        eprintln!("round {round}: {} acknowledged, {stored} stored", acknowledged.lock().unwrap().len());
    }
    let acknowledged = acknowledged.lock().unwrap().len();
    assert!(acknowledged > kills * 5, "too few events were acknowledged to prove anything: {acknowledged}");
    assert!(stored >= acknowledged);

    let logs = std::fs::read_to_string(&setup.log_path).unwrap();
    assert!(logs.contains("listening"), "the log capture is empty");
    for sentinel in [TOKEN, SIGNING_SECRET, "CRASH-SENTINEL"] {
        assert!(!logs.contains(sentinel), "a secret appeared in the logs");
    }
}

/// A tiny xorshift generator: random kill moments without another dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_three_kills_without_losing_or_doubling_events() {
    crash_loop(3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long: 50 kills; run with --ignored"]
async fn survives_fifty_kills_without_losing_or_doubling_events() {
    crash_loop(50).await;
}
