//! Failover on Postgres: two `serve` copies on one database behind a "load balancer"
//! (this test, which sends each Slack event to whichever copy answers 200). The active
//! copy is SIGKILLed again and again while messages and reminders flow; the killed one
//! is started again as the next standby. Checked at the end:
//!
//! - every event a copy acknowledged (answered 200) is stored, exactly once;
//! - no reminder went out twice;
//! - the takeover time per kill (kill until the other copy reports active), printed as
//!   median and max.
//!
//! And the fencing: a copy paused (SIGSTOP) longer than its lease, then woken (SIGCONT),
//! sends nothing more, because its send gate shut before another copy could take over.
//!
//! These need Postgres (`TEST_POSTGRES_URL`); the 20-kill run is `#[ignore]`d as long.

use std::time::{Duration, Instant};

use bot::secret::Secret;
use bot::slack::signature::sign;
use chrono::{Duration as Days, Utc};
use serde_json::json;
use storage::test_database::TestDatabase;
use storage::{ActionKind, ChannelId, Db, EntryKind, NewActionItem, NewEntry, NewIncident, Priority, Severity};
use wiremock::MockServer;

use crate::process_support::*;

const TTL_MS: u64 = 1500;
const CHANNEL: &str = "C0FAILOVER";

/// A Slack incident in channel `CHANNEL`; returns its id.
async fn seed_incident(db: &Db) -> i64 {
    let now = Utc::now();
    let new = NewIncident {
        title: "DB down".into(),
        description: None,
        severity: Severity::Sev2,
        platform: storage::Platform::Slack,
        declared_by: "U0ALICE".into(),
        commander: Some("U0ALICE".into()),
        declare_source: "seed:failover".into(),
        started_at: now - Days::days(3),
        declared_at: now - Days::days(3),
        drill: false,
        private: false,
        services: Vec::new(),
    };
    let declared = db.declare_incident(&new, |id| format!("inc-{id}-db-down"), |id| format!("INC-{id}")).await;
    let mut incident = declared.unwrap().incident;
    incident.channel_id = Some(ChannelId::from(CHANNEL));
    assert_eq!(db.save_incident(&incident, None, None).await.unwrap(), storage::Saved::Written);
    incident.id
}

/// An action item for U0BOB that was due yesterday: the active copy reminds bob of it
/// once. Its text carries `#n#`, so each reminder can be told apart.
async fn add_overdue_item(db: &Db, incident_id: i64, n: usize) {
    let now = Utc::now();
    let text = format!("Replica item #{n}#");
    let item = NewActionItem {
        incident_id,
        text: text.clone(),
        owner: "U0BOB".into(),
        due: (now - Days::days(1)).date_naive(),
        priority: Priority::High,
        kind: ActionKind::Prevent,
        created_by: "U0ALICE".into(),
        created_at: now - Days::days(2),
        addresses: None,
    };
    let entry = NewEntry {
        incident_id,
        source_id: format!("seed:item:{n}").into(),
        at: now - Days::days(2),
        kind: EntryKind::Action,
        author: "U0ALICE".into(),
        text,
        is_key: false,
    };
    db.add_action(&item, &entry).await.unwrap().unwrap();
}

/// How many reminders about item `n` the fake Slack was asked to post.
async fn reminders_of(slack: &MockServer, n: usize) -> usize {
    let needle = format!("#{n}#");
    slack
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/api/chat.postMessage")
        .filter(|r| String::from_utf8_lossy(&r.body).contains(&needle))
        .count()
}

/// Sends one signed message event to the copy at `events_url`; true when it was
/// acknowledged (200).
async fn deliver(http: &reqwest::Client, events_url: &str, n: usize) -> bool {
    let ts = format!("1800000000.{n:06}");
    let event = json!({ "type": "message", "channel": CHANNEL, "user": "U0BOB", "text": format!("message {n}"),
                        "ts": ts, "event_ts": ts, "channel_type": "channel" });
    let body = json!({ "type": "event_callback", "team_id": "T0TEAM", "event_id": format!("EvF{n}"), "event": event })
        .to_string();
    let stamp = Utc::now().timestamp().to_string();
    let signature = sign(&Secret::new(SLACK_SECRET), &stamp, body.as_bytes());
    let sent = http
        .post(events_url)
        .header("content-type", "application/json")
        .header("x-slack-request-timestamp", &stamp)
        .header("x-slack-signature", signature)
        .timeout(Duration::from_secs(5))
        .body(body)
        .send()
        .await;
    matches!(sent, Ok(response) if response.status().as_u16() == 200)
}

/// Sends `/incident declare sev3 Paused n` to the copy at `commands_url`; its status.
async fn command(commands_url: &str, response_url: &str, n: usize) -> Option<u16> {
    let body = serde_urlencoded::to_string([
        ("team_id", "T0TEAM"),
        ("channel_id", "C0GENERAL"),
        ("user_id", "U0ALICE"),
        ("command", "/incident"),
        ("text", &format!("declare sev3 Paused {n}")),
        ("response_url", response_url),
        ("trigger_id", &format!("1000.{n}.trigger")),
    ])
    .unwrap();
    let stamp = Utc::now().timestamp().to_string();
    let signature = sign(&Secret::new(SLACK_SECRET), &stamp, body.as_bytes());
    let sent = reqwest::Client::new()
        .post(commands_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", &stamp)
        .header("x-slack-signature", signature)
        .timeout(Duration::from_secs(10))
        .body(body)
        .send()
        .await;
    sent.ok().map(|response| response.status().as_u16())
}

fn envs(url: &str, config: &std::path::Path, slack: &MockServer) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", url.to_string()),
        ("INCIDENTBOT_CONFIG", config.display().to_string()),
        ("SLACK_BOT_TOKEN", SLACK_TOKEN.to_string()),
        ("SLACK_SIGNING_SECRET", SLACK_SECRET.to_string()),
        ("SLACK_API_URL", format!("{}/api", slack.uri())),
        ("INCIDENTBOT_LEASE_TTL_MS", TTL_MS.to_string()),
    ]
}

async fn is_active(served: &Served) -> bool {
    matches!(served.health().await, Some((200, body)) if body["role"] == "active")
}

async fn failover(kills: usize) {
    let Some(database) = TestDatabase::postgres().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("incidentbot.toml");
    // Reminders every second, so every copy that becomes active has work at once.
    std::fs::write(&config, "[schedules]\nreminders = \"* * * * * *\"\n").unwrap();
    let db = Db::connect(&database.url).await.unwrap();
    let incident = seed_incident(&db).await;
    let slack = fake_slack().await;
    let envs = envs(&database.url, &config, &slack);
    let mut copies = [Served::start(dir.path(), "copy-0", &envs), Served::start(dir.path(), "copy-1", &envs)];
    let http = reqwest::Client::new();

    let mut acked = Vec::new();
    let mut takeovers = Vec::new();
    let mut next_event = 0;
    let mut items = 0;
    for kill in 0..=kills {
        // Traffic while one copy is active: events to whichever answers, a new overdue item.
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut delivered_this_round = 0;
        while delivered_this_round < 10 && Instant::now() < deadline {
            next_event += 1;
            let mut taken = false;
            for copy in &copies {
                if deliver(&http, &copy.url("/slack/events"), next_event).await {
                    taken = true;
                    break;
                }
            }
            if taken {
                acked.push(next_event);
                delivered_this_round += 1;
            } else {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        assert_eq!(delivered_this_round, 10, "no copy took events for 30 s");
        items += 1;
        add_overdue_item(&db, incident, items).await;
        if kill == kills {
            break;
        }
        // Give the active copy a tick to remind, then kill it outright.
        tokio::time::sleep(Duration::from_millis(1_200)).await;
        let mut active = None;
        for (index, copy) in copies.iter().enumerate() {
            if is_active(copy).await {
                active = Some(index);
            }
        }
        let active = active.expect("one copy is active");
        copies[active].child.kill().unwrap();
        copies[active].child.wait().unwrap();
        let killed_at = Instant::now();
        let other = 1 - active;
        let took_over = eventually(Duration::from_secs(20), || is_active(&copies[other])).await;
        assert!(took_over, "no takeover after kill {kill}; logs:\n{}", copies[other].logs());
        takeovers.push(killed_at.elapsed());
        // The killed copy comes back as the next standby.
        copies[active] = Served::start(dir.path(), &format!("copy-{}", kill + 2), &envs);
    }
    // Let the last active copy remind the last item, then check everything.
    let all_reminded = eventually(Duration::from_secs(20), || async {
        let mut every = true;
        for n in 1..=items {
            every &= reminders_of(&slack, n).await >= 1;
        }
        every
    })
    .await;
    assert!(all_reminded, "an overdue item was never reminded");
    for n in 1..=items {
        assert_eq!(reminders_of(&slack, n).await, 1, "item {n} was reminded more than once");
    }
    let timeline = db.timeline(incident, false).await.unwrap();
    for n in &acked {
        let stored = timeline.iter().filter(|e| e.text == format!("message {n}")).count();
        assert_eq!(stored, 1, "acknowledged event {n} is stored {stored} times");
    }
    let mut sorted = takeovers.clone();
    sorted.sort();
    if let (Some(median), Some(max)) = (sorted.get(sorted.len() / 2), sorted.last()) {
        eprintln!(
            "failover on Postgres: {kills} kills, {} acknowledged events, 0 lost; {items} reminders, 0 twice; takeover \
             median {} ms, max {} ms (lease {TTL_MS} ms)",
            acked.len(),
            median.as_millis(),
            max.as_millis()
        );
    }
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_kills_of_the_active_copy_lose_nothing_and_send_nothing_twice() {
    failover(3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long: 20 kills; run with --ignored --nocapture for the figures"]
async fn twenty_kills_of_the_active_copy_lose_nothing_and_send_nothing_twice() {
    failover(20).await;
}

/// SIGSTOP (or SIGCONT) to a child.
fn signal(served: &Served, name: &str) {
    let status = std::process::Command::new("kill").arg(format!("-{name}")).arg(served.child.id().to_string()).status();
    assert!(status.unwrap().success(), "kill -{name}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_paused_past_its_lease_sends_nothing_after_waking() {
    let Some(database) = TestDatabase::postgres().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("incidentbot.toml");
    std::fs::write(&config, "[schedules]\nreminders = \"* * * * * *\"\n").unwrap();
    let db = Db::connect(&database.url).await.unwrap();
    let incident = seed_incident(&db).await;
    // Each copy has its own fake Slack, so what each one sent can be told apart.
    let (slack_a, slack_b) = (fake_slack().await, fake_slack().await);
    let mut a = Served::start(dir.path(), "a", &envs(&database.url, &config, &slack_a));
    let (_, body) = a.wait_for_health(Duration::from_secs(30), |status, _| status == 200).await;
    assert_eq!(body["role"], "active");
    let b = Served::start(dir.path(), "b", &envs(&database.url, &config, &slack_b));
    b.wait_for_health(Duration::from_secs(30), |_, body| body["role"] == "standby").await;

    signal(&a, "STOP");
    // Work that falls due while `a` is stopped: an overdue item, which `a`'s scheduler
    // would remind the moment it wakes, and a Slack event queued on `a`'s socket.
    add_overdue_item(&db, incident, 1).await;
    let took_over = eventually(Duration::from_secs(20), || is_active(&b)).await;
    assert!(took_over, "b never took over; logs:\n{}", b.logs());
    let reminded = eventually(Duration::from_secs(20), || async { reminders_of(&slack_b, 1).await == 1 }).await;
    assert!(reminded, "b never reminded the item");
    let sent_by_a_before = slack_a.received_requests().await.unwrap_or_default().len();
    // Requests accepted by the kernel on `a`'s socket, read only once `a` wakes: an
    // event, and slash commands that would each open a channel on Slack.
    let events_url = a.url("/slack/events");
    let queued = tokio::spawn(async move { deliver(&reqwest::Client::new(), &events_url, 1).await });
    let mut commands = Vec::new();
    for n in 0..20 {
        let commands_url = a.url("/slack/commands");
        let response_url = format!("{}/response/{n}", slack_a.uri());
        commands.push(tokio::spawn(async move { command(&commands_url, &response_url, n).await }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    signal(&a, "CONT");
    let acked_by_a = queued.await.unwrap();
    for command in commands {
        let _ = command.await.unwrap();
    }
    assert!(!acked_by_a, "the woken copy acknowledged an event it must leave to the active one");
    // `a` finds out it lost the lease and stops; until then, and after, it sends nothing.
    let stop_by = Instant::now() + Duration::from_secs(10);
    while a.child.try_wait().unwrap().is_none() && Instant::now() < stop_by {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(a.child.try_wait().unwrap().is_some(), "the copy that lost its lease kept running; logs:\n{}", a.logs());
    let sent_by_a_after = slack_a.received_requests().await.unwrap_or_default().len();
    assert_eq!(sent_by_a_after, sent_by_a_before, "the woken copy sent to Slack; logs:\n{}", a.logs());
    assert_eq!(reminders_of(&slack_a, 1).await + reminders_of(&slack_b, 1).await, 1, "reminded twice");
    assert!(is_active(&b).await);
    db.close().await;
}

/// An action item due next week whose tracker issue is queued with it (as the core
/// queues one when a tracker is configured).
async fn add_item_with_issue_job(db: &Db, incident_id: i64, n: usize) {
    let now = Utc::now();
    let item = NewActionItem {
        incident_id,
        text: format!("Tracked item #{n}#"),
        owner: "U0BOB".into(),
        due: (now + Days::days(7)).date_naive(),
        priority: Priority::Medium,
        kind: ActionKind::Prevent,
        created_by: "U0ALICE".into(),
        created_at: now,
        addresses: None,
    };
    let entry = NewEntry {
        incident_id,
        source_id: format!("seed:tracked:{n}").into(),
        at: now,
        kind: EntryKind::Action,
        author: "U0ALICE".into(),
        text: item.text.clone(),
        is_key: false,
    };
    db.add_action_with_job(&item, &entry, Some("tracker_create")).await.unwrap().unwrap();
}

/// A fake GitHub that opens every issue it is asked to, each answer `delay` late.
async fn fake_github(delay: Duration) -> MockServer {
    use std::sync::atomic::{AtomicU64, Ordering};
    use wiremock::matchers::{method, path};
    let server = MockServer::start().await;
    let next = std::sync::Arc::new(AtomicU64::new(1));
    wiremock::Mock::given(method("POST"))
        .and(path("/repos/acme/reliability/issues"))
        .respond_with(move |_: &wiremock::Request| {
            let number = next.fetch_add(1, Ordering::SeqCst);
            wiremock::ResponseTemplate::new(201)
                .set_body_json(json!({ "number": number,
                                       "html_url": format!("https://github.com/acme/reliability/issues/{number}") }))
                .set_delay(delay)
        })
        .mount(&server)
        .await;
    server
}

async fn issues_opened(github: &MockServer) -> usize {
    let requests = github.received_requests().await.unwrap_or_default();
    requests.iter().filter(|r| r.method.as_str() == "POST" && r.url.path() == "/repos/acme/reliability/issues").count()
}

/// The fencing beyond chat: while `a` is stopped, `b` takes over and works through 20
/// queued tracker issues, slowly (its GitHub answers each after 250 ms). `a` wakes with
/// most of them still due and unclaimed, and its scheduler ticking at once: it opens
/// none of them, because its send gate shut and its claims carry the old token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_paused_past_its_lease_calls_no_tracker_after_waking() {
    let Some(database) = TestDatabase::postgres().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("incidentbot.toml");
    std::fs::write(
        &config,
        "[schedules]\nreminders = \"* * * * * *\"\n\n[trackers.github]\nrepo = \"acme/reliability\"\ntoken_env = \"GITHUB_TOKEN\"\n",
    )
    .unwrap();
    let db = Db::connect(&database.url).await.unwrap();
    let incident = seed_incident(&db).await;
    let (slack_a, slack_b) = (fake_slack().await, fake_slack().await);
    let (github_a, github_b) = (fake_github(Duration::ZERO).await, fake_github(Duration::from_millis(250)).await);
    let with_github = |slack: &MockServer, github: &MockServer| {
        let mut envs = envs(&database.url, &config, slack);
        envs.push(("GITHUB_TOKEN", "ghp_failover".to_string()));
        envs.push(("GITHUB_API_URL", github.uri()));
        envs
    };
    let mut a = Served::start(dir.path(), "a", &with_github(&slack_a, &github_a));
    let (_, body) = a.wait_for_health(Duration::from_secs(30), |status, _| status == 200).await;
    assert_eq!(body["role"], "active");
    let b = Served::start(dir.path(), "b", &with_github(&slack_b, &github_b));
    b.wait_for_health(Duration::from_secs(30), |_, body| body["role"] == "standby").await;

    signal(&a, "STOP");
    let took_over = eventually(Duration::from_secs(20), || is_active(&b)).await;
    assert!(took_over, "b never took over; logs:\n{}", b.logs());
    for n in 0..20 {
        add_item_with_issue_job(&db, incident, n).await;
    }
    let started = eventually(Duration::from_secs(20), || async { issues_opened(&github_b).await >= 1 }).await;
    assert!(started, "b never opened an issue; logs:\n{}", b.logs());
    signal(&a, "CONT");
    assert!(db.pending_jobs().await.unwrap().len() >= 10, "b finished too soon for the test to mean anything");

    let stop_by = Instant::now() + Duration::from_secs(10);
    while a.child.try_wait().unwrap().is_none() && Instant::now() < stop_by {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(a.child.try_wait().unwrap().is_some(), "the copy that lost its lease kept running; logs:\n{}", a.logs());
    let all_done = eventually(Duration::from_secs(30), || async { db.pending_jobs().await.unwrap().is_empty() }).await;
    assert!(all_done, "b did not open every issue; logs:\n{}", b.logs());
    let called_by_a = github_a.received_requests().await.unwrap_or_default().len();
    assert_eq!(called_by_a, 0, "the woken copy called GitHub; logs:\n{}", a.logs());
    assert_eq!(issues_opened(&github_b).await, 20, "an issue was opened twice or not at all");
    db.close().await;
}
