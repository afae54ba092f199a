//! Every `/slack/*` route refuses unsigned, stale, altered and oversized requests
//! before doing anything: no core call, no Slack call, no row written.

use bot::secret::Secret;
use bot::slack::signature::sign;
use serde_json::json;

use crate::slack_support::*;

const ROUTES: [&str; 3] = ["/slack/commands", "/slack/events", "/slack/interactions"];

async fn assert_nothing_happened(app: &TestApp) {
    assert_eq!(app.state.tasks().len(), 0, "no background work may start");
    assert_eq!(app.db.count_entries().await.unwrap(), 0);
    assert!(app.db.incident(1).await.unwrap().is_none());
    assert!(app.slack.received_requests().await.unwrap().is_empty(), "no Slack call may be made");
}

#[tokio::test]
async fn bad_signature_is_401_and_writes_nothing() {
    let app = spawn_app().await;
    let body = app.command_body("U1", "CGENERAL", "declare sev1 DB down");
    for route in ROUTES {
        let ts = now_unix().to_string();
        let response = app
            .http
            .post(app.app.url(route))
            .header("x-slack-request-timestamp", &ts)
            .header("x-slack-signature", sign(&Secret::new("not-the-secret"), &ts, body.as_bytes()))
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{route}");
        let unsigned = app.http.post(app.app.url(route)).body(body.clone()).send().await.unwrap();
        assert_eq!(unsigned.status(), 401, "{route} without headers");
    }
    assert_nothing_happened(&app).await;
}

#[tokio::test]
async fn stale_or_future_timestamp_is_401_and_writes_nothing() {
    let app = spawn_app().await;
    let body = app.command_body("U1", "CGENERAL", "declare sev1 DB down");
    for route in ROUTES {
        for skew in [-301, 301, -3600] {
            let response =
                app.post_signed_at(route, "application/x-www-form-urlencoded", &body, now_unix() + skew).await;
            assert_eq!(response.status(), 401, "{route} at {skew}s");
        }
    }
    assert_nothing_happened(&app).await;
}

#[tokio::test]
async fn body_changed_by_one_byte_is_401_and_writes_nothing() {
    let app = spawn_app().await;
    let body = app.command_body("U1", "CGENERAL", "declare sev1 DB down");
    let ts = now_unix().to_string();
    let signature = sign(&Secret::new(SIGNING_SECRET), &ts, body.as_bytes());
    let changed = body.replacen("sev1", "sev2", 1);
    assert_eq!(changed.len(), body.len());
    for route in ROUTES {
        let response = app
            .http
            .post(app.app.url(route))
            .header("x-slack-request-timestamp", &ts)
            .header("x-slack-signature", &signature)
            .body(changed.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{route}");
    }
    assert_nothing_happened(&app).await;
}

#[tokio::test]
async fn oversized_body_is_413_and_writes_nothing() {
    let app = spawn_app().await;
    let filler = "x".repeat(bot::slack::MAX_BODY_BYTES + 1);
    let body = format!("{}&pad={filler}", app.command_body("U1", "CGENERAL", "declare sev1 DB down"));
    for route in ROUTES {
        let response = app.post_signed(route, "application/x-www-form-urlencoded", &body).await;
        assert_eq!(response.status(), 413, "{route}");
    }
    assert_nothing_happened(&app).await;
}

#[tokio::test]
async fn a_correctly_signed_request_passes() {
    let app = spawn_app().await;
    let body = json!({ "type": "url_verification", "token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" })
        .to_string();
    let response = app.post_signed("/slack/events", "application/json", &body).await;
    assert_eq!(response.status(), 200);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["challenge"], "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P");
}
