//! Fault injection on Discord, process-level: the real `incidentbot serve` against the
//! stateful fake Discord REST API of [`discord_world`](crate::discord_world) and the
//! fake gateway of [`discord_gateway_fake`](crate::discord_gateway_fake). The test
//! pushes `/incident declare sev1 Database is down` as an `INTERACTION_CREATE`; the bot
//! commits it, defers, and runs the declare's steps. For each step (create the channel,
//! set the topic, post the kick-off, pin it, announce, reply) the fake applies the call
//! and never answers; the bot is SIGKILLed right there and started again on the same
//! database. The new process connects to the gateway again (IDENTIFY, not RESUME),
//! runs what its inbox holds unfinished, and the fake then holds exactly one incident,
//! one channel, one kick-off, one pin, one announcement and one reply (the deferred
//! reply, edited to say the declare was delayed by a restart), with no step unfinished.
//!
//! The same after a finished declare for a resolve (killed posting to its channel, or
//! announcing) and a press of Acknowledge: applied once, each post made once. And a
//! declare whose channel create Discord refuses twice with a 500 is retried by the same
//! process and finishes, the person told once that it is being retried. A declare
//! resumed after its interaction token expired answers by DM.
//!
//! `cargo test -p bot --test it reliability_discord_kill` (Postgres:
//! `INCIDENTBOT_TEST_ENGINE=postgres` with `TEST_POSTGRES_URL`).

use std::time::Duration;

use serde_json::{json, Value};
use storage::Db;
use wiremock::MockServer;

use crate::discord_gateway_fake::FakeGateway;
use crate::discord_support::{fixture_with, ALICE, ANNOUNCE, GUILD, TOKEN};
use crate::discord_world::{FakeDiscord, World, FIRST_CHANNEL};
use crate::process_support::{eventually, incidentbot, Served};

/// One run: a fake Discord (REST and gateway), a config, and the suite's database.
struct Run {
    dir: tempfile::TempDir,
    fake: FakeDiscord,
    server: MockServer,
    gateway: FakeGateway,
    /// The suite's engine (SQLite, or Postgres under INCIDENTBOT_TEST_ENGINE=postgres).
    database: storage::test_database::TestDatabase,
}

impl Run {
    async fn new(hang_on: Option<&'static str>) -> Run {
        let dir = tempfile::tempdir().unwrap();
        let config = format!("[discord]\ncategory = \"Incidents\"\nannouncements_channel = \"{ANNOUNCE}\"\n");
        std::fs::write(dir.path().join("bot.toml"), config).unwrap();
        let (fake, server) = FakeDiscord::serve(hang_on).await;
        let gateway = FakeGateway::start().await;
        fake.world().gateway_url = Some(gateway.url.clone());
        let database = storage::test_database::TestDatabase::for_suite().await;
        Run { dir, fake, server, gateway, database }
    }

    fn envs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("DATABASE_URL", self.database.url.clone()),
            ("DISCORD_TOKEN", TOKEN.to_string()),
            ("DISCORD_API_URL", self.server.uri()),
            ("DISCORD_GUILD_ID", GUILD.to_string()),
            ("INCIDENTBOT_CONFIG", self.dir.path().join("bot.toml").display().to_string()),
            // A killed copy's lease runs out quickly, so the restart takes over at once.
            ("INCIDENTBOT_LEASE_TTL_MS", "1000".to_string()),
        ]
    }

    /// Starts `serve` and waits until it is active and connected to the gateway: the
    /// `connection`-th (from 1) to identify.
    async fn start(&self, name: &str, connection: usize) -> Served {
        let served = Served::start(self.dir.path(), name, &self.envs());
        let identified = self.gateway.wait_identified(connection, Duration::from_secs(30)).await;
        assert!(identified, "{name} never identified to the gateway; logs:\n{}", served.logs());
        served.wait_for_health(Duration::from_secs(30), |status, _| status == 200).await;
        served
    }

    /// Waits until the fake hangs on its step; panics with the logs otherwise.
    async fn wait_hung(&self, served: &Served, what: &str) {
        let fake = self.fake.clone();
        let hung = eventually(Duration::from_secs(20), || async { fake.world().hung }).await;
        assert!(hung, "{what} never reached the hung call; logs:\n{}", served.logs());
    }

    /// Waits until `done` holds of the world, then leaves room for a duplicate to show.
    async fn settle(&self, served: &Served, what: &str, done: impl Fn(&World) -> bool) {
        let fake = self.fake.clone();
        let settled = eventually(Duration::from_secs(30), || async { done(&fake.world()) }).await;
        assert!(settled, "{what} did not finish; world: {:?}\nlogs:\n{}", self.fake.world(), served.logs());
        tokio::time::sleep(Duration::from_millis(700)).await;
    }

    async fn db(&self) -> Db {
        Db::connect_existing(&self.database.url).await.unwrap()
    }

    /// `incidentbot check`'s output on this run's database and config.
    fn check(&self) -> String {
        let mut command = incidentbot();
        command.arg("check");
        for (key, value) in self.envs() {
            command.env(key, value);
        }
        let output = command.output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    }
}

/// `/incident declare sev1 Database is down`, typed by alice in #general.
fn declare_interaction() -> Value {
    fixture_with("command_declare.json", |value: &mut Value| {
        value["data"]["options"][0]["options"] = json!([
            { "name": "title", "type": 3, "value": "Database is down" },
            { "name": "severity", "type": 3, "value": "sev1" },
        ]);
    })
}

/// `/incident resolve` typed by alice (the commander) in the incident channel.
fn resolve_interaction() -> Value {
    fixture_with("command_resolve_by_bob.json", |value: &mut Value| {
        value["member"]["user"]["id"] = json!(ALICE);
        value["member"]["user"]["username"] = json!("alice");
        value["id"] = json!("1600000000000000077");
        value["token"] = json!("token-resolve-alice");
    })
}

/// Bob pressing the kick-off's Acknowledge.
fn acknowledge_interaction() -> Value {
    fixture_with("button_acknowledge.json", |_: &mut Value| {})
}

/// A declare killed at `step` and finished by the restarted bot: one of everything.
async fn declare_killed_at(step: &'static str) {
    let run = Run::new(Some(step)).await;
    let first = run.start("first", 1).await;
    run.gateway.dispatch("INTERACTION_CREATE", declare_interaction());
    run.wait_hung(&first, &format!("the declare (hanging at {step})")).await;
    drop(first); // SIGKILL, mid-call

    // The reply is not a step of the incident: what a kill there leaves is the inbox row.
    let expected = if step == "reply" { "unfinished steps: none" } else { "unfinished steps: 1 incident(s)" };
    let before = run.check();
    assert!(before.contains(expected), "after a kill at {step}: {before}");

    let second = run.start("second", 2).await;
    run.settle(&second, &format!("the declare killed at {step}"), |world| {
        world.declare_finished() && world.replies.last().is_some_and(|r| r.contains("delayed by a restart"))
    })
    .await;
    let (_, health) = second.health().await.unwrap();
    assert_eq!(health["inbox_waiting_over_a_minute"], 0, "{health}");
    drop(second);
    assert!(run.check().contains("unfinished steps: none"), "after a kill at {step}");

    let db = run.db().await;
    let incident = db.incident(1).await.unwrap().expect("INC-1");
    assert!(db.incident(2).await.unwrap().is_none(), "one incident after a kill at {step}");
    assert_eq!(incident.channel_id.map(|c| c.to_string()), Some(FIRST_CHANNEL.to_string()));
    assert_eq!(incident.title, "Database is down");
    assert!(db.incidents_with_unfinished_steps().await.unwrap().is_empty(), "after a kill at {step}");
    db.close().await;

    let world = run.fake.world();
    assert_eq!(world.channels.len(), 1, "one channel after a kill at {step}: {:?}", world.channels);
    let made = (world.posts_in(FIRST_CHANNEL), world.pins.len(), world.posts_in(ANNOUNCE));
    assert_eq!(made, (1, 1, 1), "(kick-offs, pins, announcements) after a kill at {step}");
    // One deferral; the reply is that deferred message, edited (not a second message).
    assert_eq!(world.callbacks, vec!["token-declare".to_string()], "after a kill at {step}");
    assert!(world.dms.is_empty(), "the reply path was open, so no DM: {:?}", world.dms);
    let shown = world.replies.last().unwrap();
    assert!(shown.contains("INC-1") && shown.contains(&format!("<#{FIRST_CHANNEL}>")), "{:?}", world.replies);
    // The new process identified afresh; nothing tried to resume the dead one's session.
    assert_eq!((run.gateway.identified(), run.gateway.resumes()), (2, 0));
}

/// A deferred interaction run again after its token has expired (15 minutes) still does
/// its work, and tells the person by DM instead of editing the deferred reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declare_resumed_after_its_token_expired_answers_by_dm() {
    let run = Run::new(Some("kickoff")).await;
    let first = run.start("first", 1).await;
    run.gateway.dispatch("INTERACTION_CREATE", declare_interaction());
    run.wait_hung(&first, "the declare (hanging at the kick-off)").await;
    drop(first); // SIGKILL, mid-call

    // The bot stays down past Discord's reply window.
    let db = run.db().await;
    assert_eq!(db.age_inbox(chrono::Duration::minutes(16)).await.unwrap(), 1);
    db.close().await;

    let second = run.start("second", 2).await;
    run.settle(&second, "the declare resumed late", |world| {
        world.declare_finished() && world.dms.iter().any(|dm| dm.contains("delayed by a restart"))
    })
    .await;
    drop(second);
    let world = run.fake.world();
    assert_eq!(world.channels.len(), 1, "{:?}", world.channels);
    assert_eq!((world.posts_in(FIRST_CHANNEL), world.pins.len(), world.posts_in(ANNOUNCE)), (1, 1, 1));
    assert_eq!(world.dms.len(), 1, "one DM: {:?}", world.dms);
    assert!(world.dms[0].contains(&format!("<#{FIRST_CHANNEL}>")), "{:?}", world.dms);
    // Nothing went through the expired token: the only reply is the DM.
    assert_eq!(world.replies.iter().filter(|r| r.contains("INC-1")).count(), 1, "{:?}", world.replies);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_creating_the_channel() {
    declare_killed_at("create").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_setting_the_topic() {
    declare_killed_at("topic").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_posting_the_kickoff() {
    declare_killed_at("kickoff").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_pinning() {
    declare_killed_at("pin").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_announcing() {
    declare_killed_at("announce").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_replying() {
    declare_killed_at("reply").await;
}

/// What follows a finished declare and is killed.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Change {
    Resolve,
    Acknowledge,
}

impl Change {
    fn interaction(self) -> Value {
        match self {
            Change::Resolve => resolve_interaction(),
            Change::Acknowledge => acknowledge_interaction(),
        }
    }

    /// What its channel post says.
    fn marker(self) -> &'static str {
        match self {
            Change::Resolve => "resolved",
            Change::Acknowledge => "acknowledged and is responding",
        }
    }

    /// Its interaction's id, which its timeline entries' source ids carry.
    fn interaction_id(self) -> &'static str {
        match self {
            Change::Resolve => "1600000000000000077",
            Change::Acknowledge => "1600000000000000008",
        }
    }

    fn kind(self) -> storage::EntryKind {
        match self {
            Change::Resolve => storage::EntryKind::Resolved,
            Change::Acknowledge => storage::EntryKind::Note,
        }
    }
}

/// Posts in `channel` containing `marker`.
fn posts_with(world: &World, channel: u64, marker: &str) -> usize {
    world.messages.iter().filter(|(c, _, text, _)| *c == channel.to_string() && text.contains(marker)).count()
}

/// Declares (no fault), then pushes `change` with the fake set to hang at `step`,
/// SIGKILLs the bot there and restarts it. Returns (the change's posts in the incident
/// channel, its announcements, the timeline entries it stored), once the restarted bot
/// settled, with the run and the restarted bot still running.
async fn change_killed_at(change: Change, step: &'static str) -> ((usize, usize, usize), Run, Served) {
    let run = Run::new(None).await;
    let first = run.start("first", 1).await;
    run.gateway.dispatch("INTERACTION_CREATE", declare_interaction());
    run.settle(&first, "the declare", World::declare_finished).await;
    {
        let mut world = run.fake.world();
        world.hang_on = Some(step);
        world.hung = false;
    }
    run.gateway.dispatch("INTERACTION_CREATE", change.interaction());
    run.wait_hung(&first, &format!("the {change:?} (hanging at {step})")).await;
    drop(first); // SIGKILL, mid-call

    let second = run.start("second", 2).await;
    let marker = change.marker();
    run.settle(&second, &format!("the {change:?} killed at {step}"), |world| {
        let posted = posts_with(world, FIRST_CHANNEL, marker) >= 1;
        let announced = posts_with(world, ANNOUNCE, "resolved") >= 1;
        posted && (announced || change == Change::Acknowledge)
    })
    .await;
    let db = run.db().await;
    assert!(db.incidents_with_unfinished_steps().await.unwrap().is_empty(), "after the {change:?} killed at {step}");
    let applied = db
        .timeline(1, false)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.kind == change.kind() && e.source_id.as_str().contains(change.interaction_id()))
        .count();
    db.close().await;
    let counted = {
        let world = run.fake.world();
        (posts_with(&world, FIRST_CHANNEL, marker), posts_with(&world, ANNOUNCE, "resolved"), applied)
    };
    (counted, run, second)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolve_killed_while_posting_to_its_channel_posts_once() {
    let (counted, ..) = change_killed_at(Change::Resolve, "kickoff").await;
    assert_eq!(counted, (1, 1, 1), "(channel posts, announcements, applied)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolve_killed_while_announcing_announces_once() {
    let (counted, ..) = change_killed_at(Change::Resolve, "announce").await;
    assert_eq!(counted, (1, 1, 1), "(channel posts, announcements, applied)");
}

/// Also shows the restarted bot takes new events from its new gateway connection: a
/// resolve pushed after the restart is handled by it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledge_press_killed_while_posting_posts_once() {
    let (counted, run, second) = change_killed_at(Change::Acknowledge, "kickoff").await;
    assert_eq!(counted, (1, 0, 1), "(channel posts, announcements, applied)");

    run.gateway.dispatch("INTERACTION_CREATE", resolve_interaction());
    run.settle(&second, "a resolve after the restart", |world| posts_with(world, ANNOUNCE, "resolved") >= 1).await;
    let world = run.fake.world();
    assert_eq!(posts_with(&world, ANNOUNCE, "resolved"), 1, "{:?}", world.messages);
    assert!(world.callbacks.contains(&"token-resolve-alice".to_string()), "{:?}", world.callbacks);
}

/// Discord refusing the channel create with a 500 (twice) does not leave the incident
/// without its channel: the same process tells the person once that it is retrying
/// (an edit of the deferred reply), retries with backoff, and finishes the declare;
/// nothing is made twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declare_discord_refuses_with_a_500_is_retried_and_finishes() {
    let run = Run::new(None).await;
    run.fake.world().failing_creates = 2;
    let served = run.start("only", 1).await;
    run.gateway.dispatch("INTERACTION_CREATE", declare_interaction());
    run.settle(&served, "the retried declare", |world| {
        world.declare_finished() && world.replies.last().is_some_and(|r| r.contains("INC-1"))
    })
    .await;
    let db = run.db().await;
    assert!(db.incidents_with_unfinished_steps().await.unwrap().is_empty());
    assert!(db.incident(2).await.unwrap().is_none(), "one incident");
    db.close().await;
    let world = run.fake.world();
    assert_eq!(world.failing_creates, 0, "both refusals were met");
    assert_eq!(world.channels.len(), 1, "{:?}", world.channels);
    assert_eq!((world.posts_in(FIRST_CHANNEL), world.pins.len(), world.posts_in(ANNOUNCE)), (1, 1, 1));
    assert_eq!(world.callbacks.len(), 1, "one deferral: {:?}", world.callbacks);
    assert!(world.dms.is_empty(), "{:?}", world.dms);
    let retrying: Vec<_> = world.replies.iter().filter(|r| r.contains("keeps trying by itself")).collect();
    assert_eq!(retrying.len(), 1, "told once that it is being retried: {:?}", world.replies);
    assert!(retrying[0].contains("create channel"), "{retrying:?}");
    // The retry notice came first; the answer replaced it.
    assert_eq!(world.replies.len(), 2, "{:?}", world.replies);
    assert!(world.replies[1].contains("INC-1"), "{:?}", world.replies);
    // The start-up resume did not take it as well: it is this process's own.
    assert!(!served.logs().contains("running again the interactions"), "{}", served.logs());
}

/// The fake gateway holds a session the way Discord does: the bot heartbeats, each
/// heartbeat is acknowledged, and the connection stays up (a missed acknowledgement
/// would make serenity reconnect, which would show as a second IDENTIFY).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_session_stays_up_across_heartbeats() {
    let run = Run::new(None).await;
    let served = run.start("only", 1).await;
    let identify = run.gateway.identify(0).unwrap();
    // serenity sends it as `Bot <token>`, which Discord accepts.
    let token = identify["token"].as_str().unwrap_or_default();
    assert!(token.ends_with(TOKEN), "IDENTIFY carries the bot token: {token}");
    assert_eq!(identify["shard"], json!([0, 1]));
    let gateway = run.gateway.clone();
    let beat = eventually(Duration::from_secs(15), || async { gateway.heartbeats() >= 2 }).await;
    assert!(beat, "no heartbeats; logs:\n{}", served.logs());
    assert_eq!((run.gateway.identified(), run.gateway.resumes()), (1, 0), "logs:\n{}", served.logs());
    served.wait_for_health(Duration::from_secs(5), |status, _| status == 200).await;
}
