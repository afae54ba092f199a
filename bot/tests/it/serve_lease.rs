//! Two `serve` processes on one database (a SQLite file, or Postgres under
//! `INCIDENTBOT_TEST_ENGINE=postgres`): exactly one is active (runs Slack and
//! the scheduler), the other is a standby that refuses Slack's requests. When the
//! active one is killed, the standby takes over once the lease expires, and a reminder
//! the first one already sent is not sent again.

use std::time::Duration;

use chrono::{Duration as Days, Utc};
use storage::{ActionKind, Db, EntryKind, NewActionItem, NewEntry, NewIncident, Priority, Severity};

use crate::process_support::*;

/// A Slack incident with an action item for U0BOB that was due yesterday.
async fn seed_overdue_item(url: &str) {
    let db = Db::connect(url).await.unwrap();
    let now = Utc::now();
    let incident = NewIncident {
        title: "DB down".into(),
        description: None,
        severity: Severity::Sev3,
        platform: storage::Platform::Slack,
        declared_by: "U0ALICE".into(),
        commander: Some("U0ALICE".into()),
        declare_source: "seed:1".into(),
        started_at: now - Days::days(3),
        declared_at: now - Days::days(3),
        drill: false,
        private: false,
        services: Vec::new(),
    };
    let declared = db.declare_incident(&incident, |id| format!("inc-{id}-db-down"), |id| format!("INC-{id}")).await;
    let id = declared.unwrap().incident.id;
    let item = NewActionItem {
        incident_id: id,
        text: "Add a replica".into(),
        owner: "U0BOB".into(),
        due: (now - Days::days(1)).date_naive(),
        priority: Priority::High,
        kind: ActionKind::Prevent,
        created_by: "U0ALICE".into(),
        created_at: now - Days::days(3),
        addresses: None,
    };
    let entry = NewEntry {
        incident_id: id,
        source_id: "seed:action".into(),
        at: now - Days::days(3),
        kind: EntryKind::Action,
        author: "U0ALICE".into(),
        text: "Add a replica".into(),
        is_key: false,
    };
    db.add_action(&item, &entry).await.unwrap().unwrap();
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_copy_is_active_and_a_takeover_sends_no_reminder_twice() {
    let dir = tempfile::tempdir().unwrap();
    let database = storage::test_database::TestDatabase::for_suite().await;
    let url = database.url.clone();
    seed_overdue_item(&url).await;
    let config = dir.path().join("incidentbot.toml");
    // Reminders every two seconds, so the scheduler has work as soon as it runs.
    std::fs::write(&config, "[schedules]\nreminders = \"*/2 * * * * *\"\n").unwrap();
    let slack = fake_slack().await;
    let envs = vec![
        ("DATABASE_URL", url.clone()),
        ("INCIDENTBOT_CONFIG", config.display().to_string()),
        ("SLACK_BOT_TOKEN", SLACK_TOKEN.to_string()),
        ("SLACK_SIGNING_SECRET", SLACK_SECRET.to_string()),
        ("SLACK_API_URL", format!("{}/api", slack.uri())),
        ("INCIDENTBOT_LEASE_TTL_MS", "3000".to_string()),
    ];

    let mut first = Served::start(dir.path(), "first", &envs);
    let (_, body) = first.wait_for_health(Duration::from_secs(30), |status, _| status == 200).await;
    assert_eq!(body["role"], "active");
    assert_eq!(body["platforms"]["slack"], "ok");
    let mut second = Served::start(dir.path(), "second", &envs);
    let (status, body) = second.wait_for_health(Duration::from_secs(30), |_, body| body["role"] == "standby").await;
    assert_eq!(status, 503, "a standby is not where traffic should go: {body}");
    assert_eq!(body["database"], "ok");

    // The active copy reminds bob once; the standby sends nothing.
    let reminded =
        eventually(Duration::from_secs(20), || async { calls_to(&slack, "chat.postMessage").await >= 1 }).await;
    assert!(reminded, "no reminder was sent; logs:\n{}", first.logs());
    assert_eq!(calls_to(&slack, "conversations.open").await, 1);
    // The tick reports what it sent once the delivery is recorded, just after Slack saw it.
    let counted = eventually(Duration::from_secs(10), || async {
        first.metrics().await.contains("incidentbot_reminders_sent_total 1")
    })
    .await;
    assert!(counted, "{}", first.metrics().await);
    assert!(second.metrics().await.contains("incidentbot_active 0"));

    // Slack's requests: the standby answers 503 (Slack retries elsewhere); the active
    // copy takes them (this unsigned one then fails verification).
    let client = reqwest::Client::new();
    let to_standby = client.post(second.url("/slack/commands")).body("text=list").send().await.unwrap();
    assert_eq!(to_standby.status().as_u16(), 503);
    let to_active = client.post(first.url("/slack/commands")).body("text=list").send().await.unwrap();
    assert_eq!(to_active.status().as_u16(), 401);

    // Kill the active copy outright: no graceful shutdown, no lease release.
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let killed_at = Utc::now();
    let (_, body) =
        second.wait_for_health(Duration::from_secs(20), |status, body| status == 200 && body["role"] == "active").await;
    assert_eq!(body["platforms"]["slack"], "ok");

    // Wait until the new active copy has run its reminders after the takeover, then
    // check nothing went out a second time.
    let db = Db::connect(&url).await.unwrap();
    let ran_after_takeover = eventually(Duration::from_secs(20), || async {
        db.last_run("reminders:slack").await.unwrap().is_some_and(|at| at > killed_at + Days::seconds(3))
    })
    .await;
    assert!(ran_after_takeover, "the standby never ran reminders; logs:\n{}", second.logs());
    assert_eq!(calls_to(&slack, "chat.postMessage").await, 1, "the reminder was sent again");
    assert_eq!(db.sent_count(storage::DeliveryKind::ActionOverdue, "1").await.unwrap(), 1);
    assert!(second.metrics().await.contains("incidentbot_reminders_sent_total 0"));

    // A graceful stop releases the lease for the next copy.
    let status = second.terminate(Duration::from_secs(30));
    assert!(status.success(), "serve exited with {status}; logs:\n{}", second.logs());
    let lease = db.lease_holder("active").await.unwrap().unwrap();
    assert!(lease.expires_at <= Utc::now(), "the lease was not released: {lease:?}");
    db.close().await;
}
