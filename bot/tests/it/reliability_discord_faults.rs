//! Faults from Discord's REST API: 500s, 429s (with `Retry-After` and Discord's JSON
//! body), answers that never come, and dropped connections. Retries are bounded and
//! backed off, nothing is posted twice, no reminder is lost or doubled, and new
//! commands are handled throughout.
//!
//! serenity's rate limiter is off under a proxy, so these exercise the adapter's own
//! retry layer (`bot::discord::retry`) and the client's time-outs, with short values.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bot::discord::chat::Placement;
use bot::discord::http::{build_http_with, RestTimeouts};
use bot::discord::interactions::handle_interaction;
use bot::discord::retry::RetryPolicy;
use bot::discord::Discord;
use bot::secret::Secret;
use chrono::{DateTime, Utc};
use commands::followup::{FollowupSettings, Followups};
use commands::{Clock, Invocation, ManualClock, Settings};
use serde_json::json;
use serenity::all::Interaction;
use storage::Db;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::discord_support::*;

/// Short versions of the production policy, so each test takes seconds.
const RETRY: RetryPolicy = RetryPolicy {
    attempts: 3,
    first_pause: Duration::from_millis(300),
    max_pause: Duration::from_secs(1),
    deadline: Duration::from_secs(5),
};
const TIMEOUTS: RestTimeouts =
    RestTimeouts { request: Duration::from_millis(500), connect: Duration::from_millis(500) };
/// How long a new command may take to be answered while Discord misbehaves elsewhere.
const RESPONSIVE: Duration = Duration::from_secs(1);

fn placement() -> Placement {
    Placement { guild: Some(GUILD), category: Some("Incidents".into()), thread_parent: None }
}

/// A bot with the short policy, pointed at `api_url`, and its database.
async fn bot_at(api_url: &str, clock: Arc<ManualClock>) -> (Discord, Db) {
    let http = Arc::new(build_http_with(&Secret::new(TOKEN), Some(api_url), Some(APP), &TIMEOUTS));
    let db = Db::in_memory().await.unwrap();
    let settings = Settings { announcements_channel: Some(ANNOUNCE.to_string().into()), ..Settings::default() };
    (Discord::with_retry(http, db.clone(), clock, settings, placement(), RETRY), db)
}

/// A fake Discord with every route the bot uses; faults are mounted on top (priority 1).
async fn start_faulty() -> Fake {
    let server = MockServer::start().await;
    mount_discord(&server).await;
    let clock = Arc::new(ManualClock::new(utc("2026-03-02T09:00:00Z")));
    let (bot, db) = bot_at(&server.uri(), clock.clone()).await;
    Fake { server, bot, db, clock, _database: None }
}

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// A 429 as Discord sends it: the header and the JSON body both announce the wait.
fn rate_limited() -> ResponseTemplate {
    ResponseTemplate::new(429).insert_header("retry-after", "1").set_body_json(json!({
        "message": "You are being rate limited.", "retry_after": 1.0, "global": false
    }))
}

/// `/incident <subcommand>` as a fresh interaction `n`, from alice in #general.
fn command(subcommand: serde_json::Value, n: u64) -> Interaction {
    fixture_with("command_declare.json", |v| {
        v["id"] = json!((1_610_000_000_000_000_000 + n).to_string());
        v["token"] = json!(format!("token-fault-{n}"));
        v["data"]["options"] = json!([subcommand]);
    })
}

fn help(n: u64) -> Interaction {
    command(json!({ "name": "help", "type": 1, "options": [] }), n)
}

fn declare_command(title: &str, n: u64) -> Interaction {
    command(
        json!({ "name": "declare", "type": 1, "options": [
            { "name": "title", "type": 3, "value": title },
            { "name": "severity", "type": 3, "value": "sev2" }
        ]}),
        n,
    )
}

/// A new `/incident help` is deferred and answered, within [`RESPONSIVE`].
async fn assert_answers_new_commands(fake: &Fake, n: u64) {
    let started = Instant::now();
    handle_interaction(&fake.bot, &help(n)).await.unwrap();
    let took = started.elapsed();
    assert!(took < RESPONSIVE, "a new command took {took:?}");
    let calls = calls(&fake.server).await;
    let id = 1_610_000_000_000_000_000 + n;
    assert_eq!(find(&calls, "POST", &format!("/interactions/{id}/token-fault-{n}/callback")).len(), 1);
    let answer = find(&calls, "PATCH", &format!("/webhooks/{APP}/token-fault-{n}/messages/@original"));
    assert_eq!(answer.len(), 1, "the help reply is sent once");
    // A reply longer than a message's content goes in an embed.
    let text = answer[0].body["content"]
        .as_str()
        .filter(|c| !c.is_empty())
        .or(answer[0].body["embeds"][0]["description"].as_str());
    assert!(text.unwrap_or_default().contains("/incident"), "{:?}", answer[0].body);
}

async fn count(fake: &Fake, verb: &str, route: &str) -> usize {
    find(&calls(&fake.server).await, verb, route).len()
}

fn run(text: &str, channel: &str, n: usize) -> Invocation {
    Invocation {
        source_id: format!("discord:interaction:fault-{n}").into(),
        user: ALICE.into(),
        channel_id: channel.into(),
        text: text.into(),
    }
}

#[tokio::test]
async fn rate_limits_are_retried_after_a_pause_and_the_channel_is_created_once() {
    let fake = start_faulty().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v10/guilds/{GUILD}/channels")))
        .respond_with(rate_limited())
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&fake.server)
        .await;
    let started = Instant::now();
    handle_interaction(&fake.bot, &declare_command("API slow", 1)).await.unwrap();
    // Two pauses, the second twice the first.
    let waited = started.elapsed();
    assert!(waited >= RETRY.first_pause * 3, "no back-off: {waited:?}");
    assert_eq!(count(&fake, "POST", &format!("/guilds/{GUILD}/channels")).await, 3);
    let incident = &fake.db.incident(1).await.unwrap().unwrap();
    assert_eq!(incident.channel_id, Some(CHANNEL.to_string().into()));
    assert_eq!(count(&fake, "POST", &format!("/channels/{CHANNEL}/messages")).await, 1, "one kick-off");
    assert_eq!(count(&fake, "POST", &format!("/channels/{ANNOUNCE}/messages")).await, 1, "one announcement");
    let answer =
        find(&calls(&fake.server).await, "PATCH", &format!("/webhooks/{APP}/token-fault-1/messages/@original"))
            .into_iter()
            .map(|c| c.body["content"].as_str().unwrap().to_string())
            .collect::<Vec<_>>();
    assert_eq!(answer.len(), 1);
    assert!(answer[0].contains("Declared **INC-1**"), "{answer:?}");
}

#[tokio::test]
async fn endless_rate_limits_end_after_a_bounded_number_of_attempts_and_commands_still_run() {
    let fake = start_faulty().await;
    declare(&fake.bot, "Search slow").await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/api/v10/channels/\d+/messages$"))
        .respond_with(rate_limited())
        .with_priority(1)
        .mount(&fake.server)
        .await;
    let posts_before = count(&fake, "POST", &format!("/channels/{CHANNEL}/messages")).await;
    let announced_before = count(&fake, "POST", &format!("/channels/{ANNOUNCE}/messages")).await;
    let core = fake.bot.core.clone();
    let update =
        tokio::spawn(async move { core.run(&run("update still looking", &CHANNEL.to_string(), 1)).await.unwrap() });
    // While the update waits out the rate limit, new commands are answered.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_answers_new_commands(&fake, 2).await;
    let outcome = tokio::time::timeout(RETRY.deadline * 2, update).await.expect("the update never ended").unwrap();
    let posts = count(&fake, "POST", &format!("/channels/{CHANNEL}/messages")).await - posts_before;
    let announced = count(&fake, "POST", &format!("/channels/{ANNOUNCE}/messages")).await - announced_before;
    assert_eq!(posts, RETRY.attempts as usize, "attempts in the incident channel");
    assert!(announced <= RETRY.attempts as usize, "{announced} attempts in announcements");
    // The update is in the timeline once: the core's write does not depend on Discord
    // (the core logs the post it could not make).
    let updates =
        fake.db.timeline(1, false).await.unwrap().into_iter().filter(|e| e.kind == storage::EntryKind::Update).count();
    assert_eq!(updates, 1);
    assert!(!outcome.is_error, "{outcome:?}");
}

#[tokio::test]
async fn a_server_error_on_a_post_is_not_retried_so_nothing_is_posted_twice() {
    let fake = start_faulty().await;
    declare(&fake.bot, "Queue backlog").await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/api/v10/channels/\d+/messages$"))
        .respond_with(
            ResponseTemplate::new(500).set_body_json(json!({ "message": "500: Internal Server Error", "code": 0 })),
        )
        .with_priority(1)
        .mount(&fake.server)
        .await;
    let posts_before = count(&fake, "POST", &format!("/channels/{CHANNEL}/messages")).await;
    let announced_before = count(&fake, "POST", &format!("/channels/{ANNOUNCE}/messages")).await;
    let outcome = fake.bot.core.run(&run("update draining the queue", &CHANNEL.to_string(), 1)).await.unwrap();
    // A 500 may mean the message went out: each channel got one attempt, no more.
    assert_eq!(count(&fake, "POST", &format!("/channels/{CHANNEL}/messages")).await - posts_before, 1);
    assert!(count(&fake, "POST", &format!("/channels/{ANNOUNCE}/messages")).await - announced_before <= 1);
    assert!(!outcome.is_error, "{outcome:?}");
    assert_answers_new_commands(&fake, 2).await;
}

#[tokio::test]
async fn a_server_error_on_an_edit_is_retried_because_an_edit_twice_is_an_edit_once() {
    let fake = start_faulty().await;
    Mock::given(method("PATCH"))
        .and(path(format!("/api/v10/channels/{CHANNEL}")))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&fake.server)
        .await;
    declare(&fake.bot, "Topic flaky").await;
    let topics = find(&calls(&fake.server).await, "PATCH", &format!("/channels/{CHANNEL}"))
        .into_iter()
        .map(|c| c.body["topic"].as_str().unwrap_or_default().to_string())
        .collect::<Vec<_>>();
    assert_eq!(topics.len(), 2, "one failure, one retry: {topics:?}");
    assert_eq!(topics[0], topics[1]);
    assert!(topics[1].starts_with("INC-1"), "{topics:?}");
}

#[tokio::test]
async fn a_hanging_discord_is_cut_by_the_time_out_and_new_commands_still_run() {
    let fake = start_faulty().await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/api/v10/channels/\d+/messages$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})).set_delay(Duration::from_secs(30)))
        .with_priority(1)
        .mount(&fake.server)
        .await;
    let core = fake.bot.core.clone();
    let started = Instant::now();
    let declared =
        tokio::spawn(async move { core.run(&run("declare sev2 Posts hang", &GENERAL.to_string(), 1)).await.unwrap() });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_answers_new_commands(&fake, 2).await;
    let outcome = tokio::time::timeout(Duration::from_secs(10), declared).await.expect("the declare hung").unwrap();
    // Two posts (kick-off and announcement), each cut after the request time-out.
    assert!(started.elapsed() < TIMEOUTS.request * 6, "took {:?}", started.elapsed());
    // A post that timed out may have arrived: it is not sent again.
    assert_eq!(count(&fake, "POST", &format!("/channels/{CHANNEL}/messages")).await, 1);
    assert!(count(&fake, "POST", &format!("/channels/{ANNOUNCE}/messages")).await <= 1);
    // The incident and its channel exist; the posts that did not go out are logged by the core.
    assert!(!outcome.is_error, "{outcome:?}");
    assert_eq!(outcome.opened.map(|c| c.id), Some(CHANNEL.to_string().into()));
}

/// A "Discord" that accepts connections and closes them at once.
async fn dropping_server() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (url, accepted)
}

#[tokio::test]
async fn dropped_connections_fail_cleanly_and_the_bot_keeps_handling_commands() {
    let (api_url, accepted) = dropping_server().await;
    let clock = Arc::new(ManualClock::new(utc("2026-03-02T09:00:00Z")));
    let (bot, db) = bot_at(&api_url, clock).await;
    // Five declares arrive together; none can even be deferred.
    let mut handlers = Vec::new();
    for n in 0..5 {
        let bot = bot.clone();
        handlers.push(tokio::spawn(async move {
            let started = Instant::now();
            let result = handle_interaction(&bot, &declare_command(&format!("Dropped {n}"), n)).await;
            (result, started.elapsed())
        }));
    }
    for handler in handlers {
        let (result, took) = handler.await.unwrap();
        let error = format!("{:#}", result.expect_err("Discord is unreachable"));
        assert!(error.contains("defer a command"), "{error}");
        assert!(!error.contains(TOKEN), "{error}");
        assert!(took < RESPONSIVE, "a failing command took {took:?}");
    }
    // A deferral may have arrived (the connection dropped after it was sent), so each
    // was tried once.
    let tries = accepted.load(Ordering::SeqCst);
    assert_eq!(tries, 5, "{tries} connections for 5 commands");
    // Nothing was declared: the core never ran for an interaction that could not be answered.
    assert!(db.open_incidents().await.unwrap().is_empty());

    // A declare that reaches the core fails cleanly with a retryable error (reading the
    // channel list is retried, a bounded number of times); no channel id is invented,
    // and the next command is handled at once.
    let before = accepted.load(Ordering::SeqCst);
    let failed = bot.core.run(&run("declare sev2 Dropped core", &GENERAL.to_string(), 1)).await;
    let tries = accepted.load(Ordering::SeqCst) - before;
    assert_eq!(tries, RETRY.attempts as usize, "connections for one declare");
    let error = failed.expect_err("Discord is unreachable").to_string();
    assert!(error.contains("list channels") && !error.contains(TOKEN), "{error}");
    for incident in db.open_incidents().await.unwrap() {
        assert!(incident.channel_id.is_none(), "a channel id was recorded for a channel never created");
    }
    let started = Instant::now();
    let help = bot.core.run(&run("help", &GENERAL.to_string(), 2)).await.unwrap();
    assert!(!help.is_error && started.elapsed() < RESPONSIVE);
}

#[tokio::test]
async fn reminders_are_neither_lost_nor_doubled_when_discord_fails() {
    let fake = start_faulty().await;
    let clock = fake.clock.clone();
    let core = fake.bot.core.clone();
    let channel = core.run(&run("declare sev3 Slow search", &GENERAL.to_string(), 1)).await.unwrap().opened.unwrap().id;
    let added = core
        .run(&run(&format!("action add Fix the indexer <@{BOB}> due:2026-03-03"), channel.as_str(), 2))
        .await
        .unwrap();
    assert!(!added.is_error, "{added:?}");
    let settings = FollowupSettings {
        attempts: 3,
        backoff: Duration::from_millis(10),
        ..FollowupSettings::defaults(chrono_tz::Tz::UTC).unwrap()
    };
    let followups = Followups::new(core.clone(), settings);
    followups.tick(clock.now()).await.unwrap();

    // Wednesday 09:00: opening the DM fails once with a 500 (retried at once: opening it
    // twice gives the same channel), then the DM itself fails once with a 500 (not
    // retried by the client, since it may have gone out; the delivery's own backed-off
    // retry sends it).
    Mock::given(method("POST"))
        .and(path("/api/v10/users/@me/channels"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&fake.server)
        .await;
    let dm_route = "/channels/1900000000000000001/messages";
    Mock::given(method("POST"))
        .and(path(format!("/api/v10{dm_route}")))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&fake.server)
        .await;
    clock.set(utc("2026-03-04T09:00:30Z"));
    let report = followups.tick(clock.now()).await.unwrap();
    assert_eq!(report.sent, 1, "{report:?}");
    assert_eq!(count(&fake, "POST", dm_route).await, 2, "one failed attempt and one delivery");
    let delivered = count(&fake, "POST", dm_route).await - 1;
    assert_eq!(delivered, 1);
    // Later ticks the same day, and a restarted scheduler's catch-up, send nothing more.
    for minutes in [5, 30, 120] {
        clock.set(utc("2026-03-04T09:00:30Z") + chrono::Duration::minutes(minutes));
        followups.tick(clock.now()).await.unwrap();
    }
    let restarted = Followups::new(
        core.clone(),
        FollowupSettings {
            backoff: Duration::from_millis(10),
            ..FollowupSettings::defaults(chrono_tz::Tz::UTC).unwrap()
        },
    );
    restarted.tick(clock.now()).await.unwrap();
    assert_eq!(count(&fake, "POST", dm_route).await, 2, "a reminder was doubled");
    // The next business day brings the next one.
    clock.set(utc("2026-03-05T09:00:30Z"));
    followups.tick(clock.now()).await.unwrap();
    assert_eq!(count(&fake, "POST", dm_route).await, 3, "the next day's reminder was lost");
}
