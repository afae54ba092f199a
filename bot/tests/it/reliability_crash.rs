//! Crash safety of `incidentbot serve`: the real binary, with Slack configured against
//! wiremock, takes signed message events while it is killed with SIGKILL at random
//! moments. After each restart the database passes `PRAGMA integrity_check`, and what
//! the bot acknowledged is checked against what it stored: every event answered with
//! HTTP 200 is in the timeline with its text, and everything stored was sent (the only
//! events stored without a 200 are those whose answer the kill cut off). Acknowledged
//! events are also delivered again, as Slack's retries would.
//!
//! Slash commands (`/incident note …`) and button presses (Mark done on one action item
//! each) are mixed into the events. They are answered before their work is done, so
//! each is checked after the next start has run its inbox: every acknowledged one is
//! applied exactly once, and none is applied twice.
//!
//! The whole run uses sentinel secrets, and the binary's logs (debug level) must never
//! contain them.
//!
//! Each runs on SQLite and on Postgres (`TEST_POSTGRES_URL`; the integrity check is
//! SQLite's, so on Postgres the stored events are what is checked).
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
use storage::test_database::TestDatabase;
use storage::{Db, Engine, EntryKind};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "xoxb-CRASH-SENTINEL-4f1d2c";
const SIGNING_SECRET: &str = "CRASH-SENTINEL-signing-9a8b7c";
const SENDERS: usize = 4;
/// Action items made at set-up, one for each button press the run may send.
const ITEMS: i64 = 800;

struct Setup {
    dir: tempfile::TempDir,
    _database: TestDatabase,
    db_url: String,
    channel: String,
    slack: MockServer,
    log_path: std::path::PathBuf,
}

/// A database of `engine` with one open incident whose channel takes the events; `None`
/// when the Postgres half is skipped.
async fn setup(engine: Engine) -> Option<Setup> {
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::new(engine).await?;
    let db_url = database.url.clone();
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
    for k in 1..=ITEMS {
        let added = core
            .run(&Invocation {
                source_id: format!("crash-item-{k}").into(),
                user: "U0ALICE".into(),
                channel_id: channel.clone(),
                text: format!("action add item {k} <@U0ALICE>"),
            })
            .await
            .unwrap();
        assert!(!added.is_error, "{added:?}");
    }
    db.close().await;
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "ok": true, "messages": [], "has_more": false })),
        )
        .mount(&slack)
        .await;
    let log_path = dir.path().join("serve.log");
    Some(Setup { dir, _database: database, db_url, channel: channel.to_string(), slack, log_path })
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

/// Sends the message event numbered `n`; `true` when the bot acknowledged it (HTTP 200).
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
    matches!(sent, Ok(response) if response.status() == reqwest::StatusCode::OK)
}

/// What request `n` is: mostly message events, with slash commands and presses mixed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Event,
    Command,
    Press,
}

fn kind_of(n: u64) -> Kind {
    match n % 10 {
        3 => Kind::Command,
        7 => Kind::Press,
        _ => Kind::Event,
    }
}

/// The action item request `n` (a press) marks done: one item per press.
fn item_of(n: u64) -> i64 {
    (n / 10 + 1) as i64
}

async fn signed_post(http: &reqwest::Client, url: String, content_type: &str, body: String) -> bool {
    let stamp = chrono::Utc::now().timestamp().to_string();
    let signature = sign(&Secret::new(SIGNING_SECRET), &stamp, body.as_bytes());
    let sent = http
        .post(url)
        .header("content-type", content_type)
        .header("x-slack-request-timestamp", stamp)
        .header("x-slack-signature", signature)
        .timeout(Duration::from_secs(5))
        .body(body)
        .send()
        .await;
    matches!(sent, Ok(response) if response.status() == reqwest::StatusCode::OK)
}

/// Sends request `n` of its kind; `true` when the bot acknowledged it (HTTP 200).
async fn send_request(http: &reqwest::Client, port: u16, setup: &Setup, n: u64) -> bool {
    let form = "application/x-www-form-urlencoded";
    let reply_url = format!("{}/response/{n}", setup.slack.uri());
    match kind_of(n) {
        Kind::Event => send_event(http, port, &setup.channel, n).await,
        Kind::Command => {
            let body = serde_urlencoded::to_string([
                ("channel_id", setup.channel.as_str()),
                ("user_id", "U0BOB"),
                ("command", "/incident"),
                ("text", &format!("note command {n}")),
                ("response_url", &reply_url),
                ("trigger_id", &format!("{n}.crash.trigger")),
            ])
            .unwrap();
            signed_post(http, format!("http://127.0.0.1:{port}/slack/commands"), form, body).await
        }
        Kind::Press => {
            let payload = json!({
                "type": "block_actions", "user": { "id": "U0ALICE" }, "channel": { "id": setup.channel },
                "trigger_id": format!("{n}.crash.press"), "response_url": reply_url,
                "actions": [{ "action_id": format!("done:{}", item_of(n)), "action_ts": format!("{n}.0") }],
            });
            let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
            signed_post(http, format!("http://127.0.0.1:{port}/slack/interactions"), form, body).await
        }
    }
}

/// The source id the bot gives request `n` (a command or a press).
fn request_source(n: u64) -> String {
    match kind_of(n) {
        Kind::Command => format!("slack:cmd:{n}.crash.trigger"),
        _ => format!("slack:action:{n}.crash.press:done:{}", item_of(n)),
    }
}

/// How many times each command or press sent so far was applied: its timeline entries.
async fn applied_counts(setup: &Setup, sent: &Sent) -> std::collections::BTreeMap<u64, usize> {
    let db = Db::connect(&setup.db_url).await.unwrap();
    let incident = db.incident_by_channel(&setup.channel.as_str().into()).await.unwrap().unwrap();
    let entries = db.timeline(incident.id, false).await.unwrap();
    db.close().await;
    let mut counts = std::collections::BTreeMap::new();
    for &n in sent.acknowledged.iter().chain(&sent.unanswered).filter(|n| kind_of(**n) != Kind::Event) {
        let source = request_source(n);
        let found: Vec<_> = entries.iter().filter(|e| e.source_id.as_str() == source).collect();
        for entry in &found {
            let expected = match kind_of(n) {
                Kind::Command => format!("command {n}"),
                _ => format!("Action #{} done: item {}", item_of(n), item_of(n)),
            };
            assert_eq!(entry.text, expected, "request {n} stored with another text");
        }
        counts.insert(n, found.len());
    }
    counts
}

/// After a start has run its inbox: every acknowledged command and press is applied
/// exactly once, and none at all is applied twice. Returns (acknowledged, applied).
async fn check_requests(setup: &Setup, sent: &Sent) -> (usize, usize) {
    let acknowledged: Vec<u64> = sent.acknowledged.iter().copied().filter(|n| kind_of(*n) != Kind::Event).collect();
    let started = Instant::now();
    let mut counts = applied_counts(setup, sent).await;
    while acknowledged.iter().any(|n| counts.get(n) != Some(&1)) && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        counts = applied_counts(setup, sent).await;
    }
    let missing: Vec<u64> = acknowledged.iter().copied().filter(|n| counts.get(n) == Some(&0)).collect();
    assert!(missing.is_empty(), "acknowledged commands or presses were never applied: {missing:?}");
    let twice: Vec<(u64, usize)> = counts.iter().filter(|(_, c)| **c > 1).map(|(n, c)| (*n, *c)).collect();
    assert!(twice.is_empty(), "commands or presses applied more than once: {twice:?}");
    (acknowledged.len(), counts.values().sum())
}

/// The events sent so far: those the bot acknowledged, and those it did not (the request
/// in flight when the bot was killed, one per sender and round).
#[derive(Clone, Default)]
struct Sent {
    acknowledged: BTreeSet<u64>,
    unanswered: BTreeSet<u64>,
}

/// Checks the database against the message events sent; returns the numbers stored.
async fn check_database(setup: &Setup, sent: &Sent) -> BTreeSet<u64> {
    let db = Db::connect(&setup.db_url).await.unwrap();
    if db.engine() == Engine::Sqlite {
        assert_eq!(db.integrity_check().await.unwrap(), vec!["ok".to_string()]);
    }
    let incident = db.incident_by_channel(&setup.channel.as_str().into()).await.unwrap().unwrap();
    let prefix = format!("slack:{}:1800000000.", setup.channel);
    let mut stored = BTreeSet::new();
    for entry in db.timeline(incident.id, false).await.unwrap().into_iter().filter(|e| e.kind == EntryKind::Message) {
        let n: u64 = entry
            .source_id
            .as_str()
            .strip_prefix(&prefix)
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("a message that was never sent is stored: {}", entry.source_id));
        assert_eq!(entry.text, format!("event {n}"), "event {n} is stored with another text");
        stored.insert(n);
    }
    db.close().await;
    let lost: Vec<u64> =
        sent.acknowledged.iter().filter(|n| kind_of(**n) == Kind::Event && !stored.contains(n)).copied().collect();
    assert!(lost.is_empty(), "{} events were acknowledged but are not stored: {lost:?}", lost.len());
    let never_sent: Vec<u64> =
        stored.iter().filter(|n| !sent.acknowledged.contains(n) && !sent.unanswered.contains(n)).copied().collect();
    assert!(never_sent.is_empty(), "events that were never sent are stored: {never_sent:?}");
    stored
}

async fn crash_loop(kills: usize, engine: Engine) {
    let Some(setup) = setup(engine).await else { return };
    let setup = Arc::new(setup);
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let sent = Arc::new(Mutex::new(Sent::default()));
    let next = Arc::new(AtomicU64::new(1));
    let mut rng = Rng(0x5eed_1234_abcd_0001 ^ std::process::id() as u64);
    for round in 0..kills {
        let port = free_port();
        let mut child = spawn_serve(&setup, port);
        wait_healthy(&http, port).await;
        // Slack retries what it did not see acknowledged; here every acknowledged event
        // from earlier rounds is delivered again as well, and must change nothing.
        let so_far = sent.lock().unwrap().clone();
        let (requests_acknowledged, requests_applied) = check_requests(&setup, &so_far).await;
        let earlier: Vec<u64> =
            so_far.acknowledged.iter().copied().filter(|n| kind_of(*n) == Kind::Event).rev().take(20).collect();
        let mut redelivered = 0;
        for &n in &earlier {
            redelivered += usize::from(send_event(&http, port, &setup.channel, n).await);
        }
        if round > 0 {
            eprintln!(
                "round {round} start: {requests_acknowledged} commands and presses acknowledged so far, \
                 {requests_applied} applied, each once"
            );
        }
        let mut senders = Vec::new();
        for _ in 0..SENDERS {
            let (http, setup, next, sent) = (http.clone(), setup.clone(), next.clone(), sent.clone());
            senders.push(tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    if kind_of(n) == Kind::Press && item_of(n) > ITEMS {
                        continue;
                    }
                    let acknowledged = send_request(&http, port, &setup, n).await;
                    let mut sent = sent.lock().unwrap();
                    if acknowledged {
                        sent.acknowledged.insert(n);
                    } else {
                        sent.unanswered.insert(n);
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
        let so_far = sent.lock().unwrap().clone();
        let stored = check_database(&setup, &so_far).await;
        let cut_off = stored.intersection(&so_far.unanswered).count();
        eprintln!(
            "round {round}: {} events acknowledged, all stored; {} stored in all, {cut_off} of them unanswered \
             (cut off by a kill); {redelivered} of {} redelivered events acknowledged again",
            so_far.acknowledged.iter().filter(|n| kind_of(**n) == Kind::Event).count(),
            stored.len(),
            earlier.len(),
        );
    }
    let acknowledged = sent.lock().unwrap().acknowledged.len();
    assert!(acknowledged > kills * 5, "too few events were acknowledged to prove anything: {acknowledged}");
    // One last start runs what the last kill left in the inbox.
    let port = free_port();
    let mut child = spawn_serve(&setup, port);
    wait_healthy(&http, port).await;
    let so_far = sent.lock().unwrap().clone();
    let (requests_acknowledged, requests_applied) = check_requests(&setup, &so_far).await;
    eprintln!("end: {requests_acknowledged} commands and presses acknowledged, {requests_applied} applied, each once");
    assert!(requests_acknowledged >= kills, "too few commands and presses were acknowledged: {requests_acknowledged}");
    child.kill().unwrap();
    child.wait().unwrap();

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
async fn survives_three_kills_without_losing_an_acknowledged_event() {
    crash_loop(3, Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long: 50 kills; run with --ignored"]
async fn survives_fifty_kills_without_losing_an_acknowledged_event() {
    crash_loop(50, Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_three_kills_on_postgres_without_losing_an_acknowledged_event() {
    crash_loop(3, Engine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long: 50 kills; run with --ignored"]
async fn survives_fifty_kills_on_postgres_without_losing_an_acknowledged_event() {
    crash_loop(50, Engine::Postgres).await;
}
