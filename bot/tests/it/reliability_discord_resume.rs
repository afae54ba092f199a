//! Fault injection on a Discord declare, in process: the stateful fake Discord of
//! [`discord_world`](crate::discord_world) applies the call at each step of the
//! declare and then never answers. The task handling the interaction is dropped there
//! (what a SIGKILL leaves: what was committed, nothing of what was running), and a new
//! bot on the same database resumes from its inbox. It ends with one incident, one
//! channel, one kick-off, one pin, one announcement and one reply.
//! The same after a declare for a resolve (killed posting to its channel, or
//! announcing) and a press of Acknowledge: applied once, each post made once.
//!
//! `cargo test -p bot --test it reliability_discord_resume`.

use std::sync::Arc;
use std::time::Duration;

use bot::discord::chat::Placement;
use bot::discord::http::build_http;
use bot::discord::interactions::handle_interaction;
use bot::discord::Discord;
use bot::secret::Secret;
use commands::{Settings, SystemClock};
use serde_json::{json, Value};
use serenity::all::Interaction;
use storage::Db;
use wiremock::MockServer;

use crate::discord_support::{fixture, ANNOUNCE, APP, GUILD, TOKEN};
use crate::discord_world::{FakeDiscord, FIRST_CHANNEL};
use crate::process_support::eventually;

fn new_bot(server: &MockServer, db: &Db) -> Discord {
    let http = Arc::new(build_http(&Secret::new(TOKEN), Some(&server.uri()), Some(APP)));
    let settings = Settings { announcements_channel: Some(ANNOUNCE.to_string().into()), ..Settings::default() };
    let placement = Placement { guild: Some(GUILD), category: Some("Incidents".into()), thread_parent: None };
    Discord::new(http, db.clone(), Arc::new(SystemClock), settings, placement)
}

async fn killed_at(step: &'static str) {
    let (fake, server) = FakeDiscord::serve(Some(step)).await;
    // The suite's engine (SQLite, or Postgres under INCIDENTBOT_TEST_ENGINE=postgres).
    let database = storage::test_database::TestDatabase::for_suite().await;
    let db = Db::connect(&database.url).await.unwrap();

    let first = new_bot(&server, &db);
    let interaction: Interaction = fixture("command_declare.json");
    let running = tokio::spawn(async move { handle_interaction(&first, &interaction).await });
    let watched = fake.clone();
    assert!(
        eventually(Duration::from_secs(20), || async { watched.0.lock().unwrap().hung }).await,
        "the declare never reached {step}"
    );
    running.abort(); // the process dies here
    let _ = running.await;

    let second = new_bot(&server, &db);
    let restarted = chrono::Utc::now();
    assert_eq!(
        bot::discord::inbox::resume(&second, restarted).await.unwrap(),
        1,
        "the unfinished interaction runs again"
    );
    assert_eq!(bot::discord::inbox::resume(&second, restarted).await.unwrap(), 0, "and is then done");

    assert!(db.incident(1).await.unwrap().is_some());
    assert!(db.incident(2).await.unwrap().is_none(), "one incident");
    assert_eq!(db.incidents_with_unfinished_steps().await.unwrap(), vec![], "after a kill at {step}");
    let channel = FIRST_CHANNEL.to_string();
    assert_eq!(db.incident(1).await.unwrap().unwrap().channel_id.map(|c| c.to_string()), Some(channel.clone()));
    db.close().await;
    let world = fake.0.lock().unwrap();
    assert_eq!(world.channels.len(), 1, "one channel after a kill at {step}: {:?}", world.channels);
    let kickoffs = world.messages.iter().filter(|(c, ..)| *c == channel).count();
    let announcements = world.messages.iter().filter(|(c, ..)| *c == ANNOUNCE.to_string()).count();
    assert_eq!((kickoffs, world.pins.len(), announcements), (1, 1, 1), "after a kill at {step}");
    // Edits of the one deferred reply are one message; the last one is what shows.
    let shown = world.replies.last().cloned().unwrap_or_default();
    assert!(shown.contains("INC-1") && shown.contains("delayed by a restart"), "{:?}", world.replies);
}

#[tokio::test]
async fn killed_while_creating_the_channel() {
    killed_at("create").await;
}

#[tokio::test]
async fn killed_while_setting_the_topic() {
    killed_at("topic").await;
}

#[tokio::test]
async fn killed_while_posting_the_kickoff() {
    killed_at("kickoff").await;
}

#[tokio::test]
async fn killed_while_pinning() {
    killed_at("pin").await;
}

#[tokio::test]
async fn killed_while_announcing() {
    killed_at("announce").await;
}

#[tokio::test]
async fn killed_while_replying() {
    killed_at("reply").await;
}

/// After a finished declare, `change` (an interaction fixture, edited by `edit`) is
/// dropped while its call at `step` hangs, and a new bot resumes it. Returns the posts
/// of the incident channel and of the announcements channel containing `marker`, and
/// how many timeline entries of `kind` the change stored.
async fn change_killed_at(
    change: &str,
    edit: impl FnOnce(&mut Value),
    step: &'static str,
    marker: &str,
    kind: storage::EntryKind,
) -> (usize, usize, usize) {
    let (fake, server) = FakeDiscord::serve(None).await;
    let database = storage::test_database::TestDatabase::for_suite().await;
    let db = Db::connect(&database.url).await.unwrap();
    let first = new_bot(&server, &db);
    handle_interaction(&first, &fixture("command_declare.json")).await.unwrap();
    let watched = fake.clone();
    assert!(
        eventually(Duration::from_secs(20), || async {
            watched.0.lock().unwrap().messages.iter().any(|(c, ..)| *c == ANNOUNCE.to_string())
        })
        .await,
        "the declare did not finish"
    );
    {
        let mut world = fake.0.lock().unwrap();
        world.hang_on = Some(step);
        world.hung = false;
    }
    let interaction: Interaction = crate::discord_support::fixture_with(change, edit);
    let running = tokio::spawn(async move { handle_interaction(&first, &interaction).await });
    let watched = fake.clone();
    assert!(
        eventually(Duration::from_secs(20), || async { watched.0.lock().unwrap().hung }).await,
        "{change} never reached {step}"
    );
    running.abort(); // the process dies here
    let _ = running.await;
    let second = new_bot(&server, &db);
    let restarted = chrono::Utc::now();
    assert_eq!(
        bot::discord::inbox::resume(&second, restarted).await.unwrap(),
        1,
        "the unfinished interaction runs again"
    );
    assert_eq!(bot::discord::inbox::resume(&second, restarted).await.unwrap(), 0, "and is then done");
    assert_eq!(db.incidents_with_unfinished_steps().await.unwrap(), vec![], "after {change} killed at {step}");
    let applied = db.timeline(1, false).await.unwrap().iter().filter(|e| e.kind == kind).count();
    db.close().await;
    let world = fake.0.lock().unwrap();
    let in_channel = |channel: String| {
        world.messages.iter().filter(|(c, _, text, _)| *c == channel && text.contains(marker)).count()
    };
    (in_channel(FIRST_CHANNEL.to_string()), in_channel(ANNOUNCE.to_string()), applied)
}

/// The resolve fixture, typed by the commander (alice) rather than bob.
fn by_alice(value: &mut Value) {
    value["member"]["user"]["id"] = json!("80351110224678912");
    value["member"]["user"]["username"] = json!("alice");
    value["id"] = json!("1600000000000000077");
    value["token"] = json!("token-resolve-alice");
}

#[tokio::test]
async fn a_resolve_killed_while_posting_to_its_channel_posts_once() {
    let counted =
        change_killed_at("command_resolve_by_bob.json", by_alice, "kickoff", "resolved", storage::EntryKind::Resolved)
            .await;
    assert_eq!(counted, (1, 1, 1), "(channel posts, announcements, applied)");
}

#[tokio::test]
async fn a_resolve_killed_while_announcing_announces_once() {
    let counted =
        change_killed_at("command_resolve_by_bob.json", by_alice, "announce", "resolved", storage::EntryKind::Resolved)
            .await;
    assert_eq!(counted, (1, 1, 1), "(channel posts, announcements, applied)");
}

#[tokio::test]
async fn an_acknowledge_press_killed_while_posting_posts_once() {
    let (posted, _, _) = change_killed_at(
        "button_acknowledge.json",
        |_| {},
        "kickoff",
        "acknowledged and is responding",
        storage::EntryKind::Note,
    )
    .await;
    assert_eq!(posted, 1);
}

/// What a copy accepted after it started is its own live handler's: the start-up resume
/// (which may read the inbox late) leaves it alone, so an interaction is never run twice
/// at once, and the hung declare still has its one channel.
#[tokio::test]
async fn the_start_up_resume_leaves_alone_what_this_copy_took_after_it_started() {
    let (fake, server) = FakeDiscord::serve(Some("create")).await;
    let database = storage::test_database::TestDatabase::for_suite().await;
    let db = Db::connect(&database.url).await.unwrap();
    let bot = new_bot(&server, &db);
    let started = chrono::Utc::now();
    let live = bot.clone();
    let interaction: Interaction = fixture("command_declare.json");
    let running = tokio::spawn(async move { handle_interaction(&live, &interaction).await });
    let watched = fake.clone();
    assert!(eventually(Duration::from_secs(20), || async { watched.0.lock().unwrap().hung }).await);
    assert_eq!(bot::discord::inbox::resume(&bot, started).await.unwrap(), 0, "the live handler's row is left alone");
    running.abort();
    let _ = running.await;
    assert_eq!(db.inbox_waiting_count(chrono::Utc::now()).await.unwrap(), 1, "still unfinished, for the next start");
    db.close().await;
    let world = fake.0.lock().unwrap();
    assert_eq!(world.channels.len(), 1, "{:?}", world.channels);
    assert!(world.replies.is_empty(), "nothing answered twice: {:?}", world.replies);
}
