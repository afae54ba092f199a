//! Hostile input through the real Slack router: oversized bodies, slow clients, invalid
//! UTF-8, huge titles and mass mentions. Each is refused with a clear 4xx and no writes,
//! or accepted with the text made harmless; nothing is reflected unescaped.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::slack_support::*;

const FORM: &str = "application/x-www-form-urlencoded";

/// Nothing at all was written: no incident, no timeline entry, no Slack call.
async fn assert_nothing_written(app: &TestApp) {
    app.settle().await;
    assert!(app.db.incident(1).await.unwrap().is_none(), "an incident was written");
    assert_eq!(app.db.count_entries().await.unwrap(), 0, "a timeline entry was written");
    assert!(app.calls().await.is_empty(), "Slack was called");
}

#[tokio::test]
async fn oversized_bodies_get_413_before_anything_is_read() {
    let app = spawn_app().await;
    let huge = format!("{}&text=declare+sev1+x", "a".repeat(300 * 1024));
    for route in ["/slack/commands", "/slack/events", "/slack/interactions"] {
        let response = app.post_signed(route, FORM, &huge).await;
        assert_eq!(response.status(), 413, "{route}");
    }
    assert_nothing_written(&app).await;
}

#[tokio::test]
async fn invalid_utf8_is_refused_with_400_and_no_writes() {
    let app = spawn_app().await;
    // Percent-encoded bytes that are not UTF-8, in a slash command and an interaction.
    let body = app.command_body("U0ALICE", "CGENERAL", "declare sev2 x").replace("declare", "declare%FF%FE");
    assert_eq!(app.post_signed("/slack/commands", FORM, &body).await.status(), 400);
    let interaction = "payload=%7B%22type%22%3A%22block_actions%22%2C%22user%22%3A%7B%22id%22%3A%22U%FF%22%7D%7D";
    assert_eq!(app.post_signed("/slack/interactions", FORM, interaction).await.status(), 400);
    // Raw bytes that are not UTF-8 in an Events API body.
    let channel = "C0NOTANINCIDENT";
    let mut event =
        json!({ "type": "event_callback", "event_id": "Ev1", "event": message_event(channel, "U1", "1.1", "x") })
            .to_string()
            .into_bytes();
    let at = event.iter().position(|b| *b == b'x').unwrap();
    event[at] = 0xFF;
    let ts = now_unix().to_string();
    let signature = bot::slack::signature::sign(&bot::secret::Secret::new(SIGNING_SECRET), &ts, &event);
    let response = app
        .http
        .post(app.app.url("/slack/events"))
        .header("content-type", "application/json")
        .header("x-slack-request-timestamp", ts)
        .header("x-slack-signature", signature)
        .body(event)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_nothing_written(&app).await;
}

/// Sends `head` and then one more byte every 500 ms; returns how long the server took
/// to close the connection.
async fn trickle(addr: std::net::SocketAddr, head: &'static str) -> Duration {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut buf = [0u8; 256];
    loop {
        if started.elapsed() > Duration::from_secs(20) {
            panic!("a slow client was kept for 20 s");
        }
        if stream.write_all(b"a").await.is_err() {
            return started.elapsed();
        }
        match tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return started.elapsed(),
            // Anything the server says before closing (it should say nothing) is ignored.
            Ok(Ok(_)) | Err(_) => {}
        }
    }
}

#[tokio::test]
async fn slow_clients_are_dropped_within_ten_seconds() {
    let app = spawn_app().await;
    let addr = app.app.addr;
    let slow_headers = tokio::spawn(trickle(addr, "POST /slack/commands HTTP/1.1\r\nhost: x\r\nx-slow: "));
    let slow_body = tokio::spawn(trickle(
        addr,
        "POST /slack/commands HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 100000\r\n\r\ntext=",
    ));
    // Meanwhile the bot keeps answering others.
    let started = Instant::now();
    assert_eq!(app.http.get(app.app.url("/healthz")).send().await.unwrap().status(), 200);
    assert!(started.elapsed() < Duration::from_secs(2));
    for slow in [slow_headers, slow_body] {
        let held = slow.await.unwrap();
        assert!(held < Duration::from_secs(10), "a slow client was held for {held:?}");
    }
    assert_nothing_written(&app).await;
}

#[tokio::test]
async fn a_100_kb_title_is_cut_with_a_notice() {
    let app = spawn_app().await;
    let title = "disk full ".repeat(10 * 1024);
    let response = app.command("U0ALICE", "CGENERAL", &format!("declare sev2 {title}")).await;
    assert_eq!(response.status(), 200);
    app.settle().await;
    let incident = app.db.incident(1).await.unwrap().unwrap();
    assert_eq!(incident.title.chars().count(), 200, "{}", incident.title.len());
    let replies = app.private_replies().await;
    assert!(replies.iter().any(|r| r.to_string().contains("longer than 200 characters and was cut")), "{replies:?}");
    for (method, body) in app.calls().await {
        assert!(body.to_string().len() < 20_000, "{method} carried the whole title");
    }
}

#[tokio::test]
async fn mass_mentions_in_every_text_field_are_escaped() {
    let app = spawn_app().await;
    let hostile = "<!channel> <!everyone> <!here> @everyone @here <@U0VICTIM> <#C0OTHER>";
    let say = |text: &str| format!("{text} {hostile}");
    app.command("U0ALICE", "CGENERAL", &say("declare sev2 DB down")).await;
    app.settle().await;
    let channel = app.db.incident(1).await.unwrap().unwrap().channel_id.unwrap();
    for text in [
        say("note"),
        say("update"),
        say("status identified"),
        say("action add Fix it"),
        say("resolve"),
        say("nonsense command"),
    ] {
        assert_eq!(app.command("U0ALICE", channel.as_str(), &text).await.status(), 200);
        app.settle().await;
    }
    let message = message_event(channel.as_str(), "U0BOB", "1800000001.000100", &say("chatter"));
    assert_eq!(app.event("EvHostile1", message, None).await.status(), 200);
    app.command("U0ALICE", channel.as_str(), "timeline").await;
    app.settle().await;

    let mut echoed = 0;
    let bodies: Vec<String> = app
        .calls()
        .await
        .into_iter()
        .map(|(_, body)| body.to_string())
        .chain(app.private_replies().await.into_iter().map(|body| body.to_string()))
        .collect();
    for raw in &bodies {
        for mention in ["<!channel>", "<!everyone>", "<!here>", "<@U0VICTIM>", "<#C0OTHER>"] {
            assert!(!raw.contains(mention), "`{mention}` reflected unescaped in {raw}");
        }
        if raw.contains("&lt;!channel&gt;") {
            echoed += 1;
        }
    }
    assert!(echoed >= 5, "the hostile text was not echoed (escaped) where expected: {echoed}");
}

#[tokio::test]
async fn concurrent_retries_of_one_declare_open_one_incident_and_one_channel() {
    let app = spawn_app().await;
    let body = app.command_body("U0ALICE", "CGENERAL", "declare sev1 Checkout is down");
    let mut sends = Vec::new();
    for _ in 0..20 {
        let (http, url, body) = (app.http.clone(), app.app.url("/slack/commands"), body.clone());
        let ts = now_unix().to_string();
        let signature = bot::slack::signature::sign(&bot::secret::Secret::new(SIGNING_SECRET), &ts, body.as_bytes());
        sends.push(tokio::spawn(async move {
            http.post(url)
                .header("content-type", FORM)
                .header("x-slack-request-timestamp", ts)
                .header("x-slack-signature", signature)
                .header("x-slack-retry-num", "1")
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for send in sends {
        assert_eq!(send.await.unwrap(), 200);
    }
    app.settle().await;
    assert!(app.db.incident(1).await.unwrap().is_some());
    assert!(app.db.incident(2).await.unwrap().is_none(), "a retried declare opened a second incident");
    assert_eq!(app.calls_to("conversations.create").await.len(), 1);
}

#[tokio::test]
async fn twenty_different_declares_give_twenty_incidents_and_channels() {
    let app = spawn_app().await;
    let mut sends = Vec::new();
    for n in 0..20 {
        let body = app.command_body("U0ALICE", "CGENERAL", &format!("declare sev2 Outage number {n}"));
        let (http, url) = (app.http.clone(), app.app.url("/slack/commands"));
        let ts = now_unix().to_string();
        let signature = bot::slack::signature::sign(&bot::secret::Secret::new(SIGNING_SECRET), &ts, body.as_bytes());
        sends.push(tokio::spawn(async move {
            http.post(url)
                .header("content-type", FORM)
                .header("x-slack-request-timestamp", ts)
                .header("x-slack-signature", signature)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for send in sends {
        assert_eq!(send.await.unwrap(), 200);
    }
    app.settle().await;
    let incidents = app.db.open_incidents().await.unwrap();
    assert_eq!(incidents.len(), 20);
    let ids: std::collections::BTreeSet<i64> = incidents.iter().map(|i| i.id).collect();
    let channels: std::collections::BTreeSet<commands::ChannelId> =
        incidents.iter().filter_map(|i| i.channel_id.clone()).collect();
    let names: std::collections::BTreeSet<&str> = incidents.iter().map(|i| i.channel_name.as_str()).collect();
    assert_eq!(ids, (1..=20).collect());
    assert_eq!(channels.len(), 20, "channels are not unique");
    assert_eq!(names.len(), 20, "channel names are not unique");
    assert_eq!(app.calls_to("conversations.create").await.len(), 20);
}
