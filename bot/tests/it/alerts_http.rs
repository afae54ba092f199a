//! `POST /alerts/<name>` on the real `serve`: refusals that write nothing (404, 401,
//! 413, 400, 429 with Retry-After), an Alertmanager group that declares once however
//! often it is repeated, a triage post on Slack, PagerDuty's signatures and redelivery,
//! Grafana's HMAC, and the generic body.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use super::alerts_support::*;
use super::process_support::eventually;

fn hmac_hex(secret: &str, parts: &[&[u8]]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    for part in parts {
        mac.update(part);
    }
    hex::encode(mac.finalize().into_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_write_nothing_and_a_group_declares_once() {
    let dir = tempfile::tempdir().unwrap();
    let bot = start(dir.path(), 5).await;
    let firing = alertmanager_body("CheckoutDown", &[("fp1", "firing", "critical"), ("fp2", "firing", "critical")]);
    let body = serde_json::to_vec(&firing).unwrap();

    assert_eq!(post_bearer(&bot, "nope", AM_SECRET, &body).await.status(), 404);
    assert_eq!(post_bearer(&bot, "prometheus", "wrong", &body).await.status(), 401);
    let unauthenticated = reqwest::Client::new().post(bot.served.url("/alerts/prometheus")).body(body.clone());
    assert_eq!(unauthenticated.send().await.unwrap().status(), 401);
    let huge = vec![b' '; 1024 * 1024 + 10];
    assert_eq!(post_bearer(&bot, "prometheus", AM_SECRET, &huge).await.status(), 413);
    let malformed = post_bearer(&bot, "prometheus", AM_SECRET, b"{\"alerts\": [").await;
    assert_eq!(malformed.status(), 400);
    assert!(malformed.text().await.unwrap().contains("malformed JSON"));
    let db = db(&bot).await;
    assert_eq!(counts(&db).await, (0, 0), "a refusal wrote something");

    // Accepted, then repeated as Alertmanager's repeat_interval would.
    for _ in 0..3 {
        let response = post_bearer(&bot, "prometheus", AM_SECRET, &body).await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }
    assert!(eventually(Duration::from_secs(10), || async { counts(&db).await.1 == 1 }).await);
    // The rest of the budget (5 a minute, with the 400 given back) is spent: 429.
    let mut limited = None;
    for _ in 0..3 {
        let response = post_bearer(&bot, "prometheus", AM_SECRET, &body).await;
        if response.status() == 429 {
            limited = Some(response);
            break;
        }
    }
    let limited = limited.expect("the budget never ran out");
    let retry_after: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(counts(&db).await, (2, 1), "one incident for the group, two alerts");
    let incident = db.incident(1).await.unwrap().unwrap();
    assert_eq!(incident.declared_by, "system:alerts");
    assert_eq!(incident.commander, None);
    assert_eq!(incident.severity, storage::Severity::Sev1);
    assert_eq!(incident.started_at.to_rfc3339(), "2026-03-02T08:50:00+00:00");
    let stored_all = eventually(Duration::from_secs(10), || async {
        bot.served.metrics().await.contains("incidentbot_alerts_received_total{source=\"prometheus\"} 10")
    })
    .await;
    let metrics = bot.served.metrics().await;
    assert!(stored_all, "{metrics}");
    assert!(metrics.contains("incidentbot_alerts_declared_total{source=\"prometheus\"} 1"), "{metrics}");
    // Five deliveries were taken (the 400 gave its place back), all but the first repeats.
    assert!(metrics.contains("incidentbot_alerts_received_total{source=\"prometheus\"} 10"), "{metrics}");
    assert!(metrics.contains("incidentbot_alerts_deduplicated_total{source=\"prometheus\"} 8"), "{metrics}");
    assert!(metrics.contains("incidentbot_alerts{source=\"prometheus\",state=\"attached\"} 2"), "{metrics}");

    // The budget is per source: the generic one still takes deliveries.
    let uptime = json!({"dedup_key": "ping-eu", "status": "firing", "title": "EU ping failing", "severity": "warning"});
    let response = post_bearer(&bot, "uptime", GENERIC_SECRET, &serde_json::to_vec(&uptime).unwrap()).await;
    assert_eq!(response.status(), 200);
    assert!(
        eventually(Duration::from_secs(10), || async { slack_posts(&bot.slack, TRIAGE, "EU ping failing").await == 1 })
            .await,
        "no triage post"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagerduty_signatures_rotation_and_redelivery() {
    let dir = tempfile::tempdir().unwrap();
    let bot = start(dir.path(), 120).await;
    let event = |kind: &str| {
        serde_json::to_vec(&json!({"event": {
            "id": "01DEN2", "event_type": kind, "resource_type": "incident",
            "occurred_at": "2026-03-02T09:10:00.000Z", "agent": null, "client": null,
            "data": {"id": "PGR0VU2", "type": "incident", "self": "https://api.pagerduty.com/incidents/PGR0VU2",
                     "html_url": "https://acme.pagerduty.com/incidents/PGR0VU2", "number": 2,
                     "status": "triggered", "title": "A little bump in the road",
                     "created_at": "2026-03-02T09:00:00Z", "urgency": "high",
                     "service": {"id": "PF9KMXH", "summary": "API Service"}}}}))
        .unwrap()
    };
    let send = |body: Vec<u8>, signature: String, webhook_id: &'static str| {
        let url = bot.served.url("/alerts/pd");
        async move {
            reqwest::Client::new()
                .post(url)
                .header("x-pagerduty-signature", signature)
                .header("x-webhook-id", webhook_id)
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    let triggered = event("incident.triggered");
    let good = hmac_hex(PD_SECRET, &[&triggered]);
    let old = hmac_hex("the-previous-secret", &[&triggered]);
    assert_eq!(send(triggered.clone(), format!("v1={old}"), "w1").await.status(), 401);
    // During rotation PagerDuty sends several; any one that matches counts.
    let response = send(triggered.clone(), format!("v1={old},v1={good}"), "w1").await;
    assert_eq!(response.status(), 200);
    let redelivered = send(triggered.clone(), format!("v1={good}"), "w1").await;
    let answer: serde_json::Value = redelivered.json().await.unwrap();
    assert_eq!(answer["duplicate_delivery"], true);
    let db = db(&bot).await;
    // Acknowledged once committed to the inbox; stored by the worker a moment later.
    assert!(eventually(Duration::from_secs(10), || async { db.alert(1).await.unwrap().is_some() }).await);
    let alert = db.alert(1).await.unwrap().unwrap();
    assert_eq!((alert.fingerprint.as_str(), alert.deliveries), ("PGR0VU2", 1));
    assert!(
        eventually(Duration::from_secs(10), || async {
            slack_posts(&bot.slack, TRIAGE, "A little bump in the road").await == 1
        })
        .await
    );
    let resolved = event("incident.resolved");
    let signature = format!("v1={}", hmac_hex(PD_SECRET, &[&resolved]));
    assert_eq!(send(resolved, signature, "w2").await.status(), 200);
    assert!(
        eventually(Duration::from_secs(10), || async {
            bot.slack
                .received_requests()
                .await
                .unwrap_or_default()
                .iter()
                .any(|r| r.url.path() == "/api/chat.update" && String::from_utf8_lossy(&r.body).contains("on its own"))
        })
        .await,
        "the triage post was not updated"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grafana_needs_its_token_and_its_hmac() {
    let dir = tempfile::tempdir().unwrap();
    let bot = start(dir.path(), 120).await;
    let body = serde_json::to_vec(&json!({
        "receiver": "incidentbot", "status": "firing", "orgId": 1, "version": "1", "groupKey": "{}:{alertname=\"Disk\"}",
        "truncatedAlerts": 0, "title": "[FIRING:1] Disk full", "state": "alerting", "message": "Disk full",
        "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://grafana:3000/",
        "alerts": [{"status": "firing", "labels": {"alertname": "Disk", "severity": "critical", "env": "prod"},
                    "annotations": {}, "startsAt": "2026-03-02T08:59:00Z", "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "http://grafana:3000/alerting/grafana/abc/view", "fingerprint": "g1",
                    "silenceURL": "http://grafana:3000/alerting/silence/new", "dashboardURL": "http://grafana:3000/d/x",
                    "panelURL": "http://grafana:3000/d/x?viewPanel=2", "values": {"B": 97.5}}]
    }))
    .unwrap();
    let send = |signature: Option<String>| {
        let url = bot.served.url("/alerts/grafana");
        let body = body.clone();
        async move {
            let mut request = reqwest::Client::new().post(url).bearer_auth(GRAFANA_SECRET).body(body);
            if let Some(signature) = signature {
                request = request.header("x-grafana-alerting-signature", signature);
            }
            request.send().await.unwrap().status()
        }
    };
    assert_eq!(send(None).await, 401);
    assert_eq!(send(Some(hmac_hex("wrong", &[&body]))).await, 401);
    assert_eq!(send(Some(hmac_hex(GRAFANA_HMAC, &[&body]))).await, 200);
    let db = db(&bot).await;
    assert!(eventually(Duration::from_secs(10), || async { counts(&db).await.1 == 1 }).await);
    assert_eq!(db.alert(1).await.unwrap().unwrap().url.as_deref(), Some("http://grafana:3000/d/x"));

    // A contact point with a timestamp header signs `<unix seconds>:<body>`; an old
    // timestamp (a replay) is refused even with its right signature.
    let stamped = |at: i64, signed_at: i64| {
        let url = bot.served.url("/alerts/grafana-stamped");
        let body = body.clone();
        let signature = hmac_hex(GRAFANA_HMAC, &[signed_at.to_string().as_bytes(), b":", &body]);
        async move {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(GRAFANA_SECRET)
                .header("X-Grafana-Alerting-Signature", signature)
                .header("X-Grafana-Alerting-Timestamp", at.to_string())
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let now = chrono::Utc::now().timestamp();
    assert_eq!(stamped(now, now + 1).await, 401, "the timestamp is part of what is signed");
    assert_eq!(stamped(now - 3600, now - 3600).await, 401, "an hour-old delivery is a replay");
    assert_eq!(stamped(now, now).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_alerts_in_one_group_are_one_incident() {
    let dir = tempfile::tempdir().unwrap();
    let bot = start(dir.path(), 120).await;
    let fingerprints: Vec<String> = (0..1000).map(|n| format!("big{n:04}")).collect();
    let alerts: Vec<(&str, &str, &str)> = fingerprints.iter().map(|f| (f.as_str(), "firing", "critical")).collect();
    let body = serde_json::to_vec(&alertmanager_body("BigOutage", &alerts)).unwrap();
    assert!(body.len() < 1024 * 1024, "the payload must fit the 1 MB limit: {}", body.len());
    let response = post_bearer(&bot, "prometheus", AM_SECRET, &body).await;
    assert_eq!(response.status(), 200);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["accepted"], 1000);
    let db = db(&bot).await;
    let applied = eventually(Duration::from_secs(60), || async {
        db.open_incidents().await.unwrap().len() == 1 && db.pending_alerts(0, 1).await.unwrap().is_empty()
    })
    .await;
    assert!(applied, "logs:\n{}", bot.served.logs());
    assert_eq!(db.alerts_of_incident(1).await.unwrap().len(), 1000);
    // One post lists the first alerts and says how many more there are.
    let channel_posts = bot
        .slack
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| {
            r.url.path() == "/api/chat.postMessage"
                && String::from_utf8_lossy(&r.body).contains("more; /incident alerts")
        })
        .count();
    assert!(channel_posts >= 1);

    // The whole group resolves in one delivery: its lines are batched, then one nudge.
    let resolved: Vec<(&str, &str, &str)> = fingerprints.iter().map(|f| (f.as_str(), "resolved", "critical")).collect();
    let body = serde_json::to_vec(&alertmanager_body("BigOutage", &resolved)).unwrap();
    assert_eq!(post_bearer(&bot, "prometheus", AM_SECRET, &body).await.status(), 200);
    let posts_with = |needle: &'static str| {
        let slack = &bot.slack;
        async move {
            slack
                .received_requests()
                .await
                .unwrap_or_default()
                .iter()
                .filter(|r| {
                    r.url.path() == "/api/chat.postMessage" && String::from_utf8_lossy(&r.body).contains(needle)
                })
                .count()
        }
    };
    assert!(
        eventually(Duration::from_secs(60), || async { posts_with("All alerts resolved").await >= 1 }).await,
        "no nudge; logs:\n{}",
        bot.served.logs()
    );
    assert!(eventually(Duration::from_secs(30), || async { db.pending_alerts(0, 1).await.unwrap().is_empty() }).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(posts_with("All alerts resolved").await, 1, "one nudge for the group");
    assert!(posts_with("Alert resolved").await <= 2, "the resolved lines are batched");
}

/// Two copies on one database: the standby answers an alert delivery 503 without
/// storing it (Alertmanager and the others retry, and the load balancer sends the retry
/// to the active copy), and the active copy takes the same delivery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_answers_alert_deliveries_503_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bot = start(dir.path(), 120).await;
    let (_, body) = bot.served.wait_for_health(Duration::from_secs(30), |status, _| status == 200).await;
    assert_eq!(body["role"], "active");
    let standby =
        super::process_support::Served::start(dir.path(), "standby", &envs(dir.path(), &bot.slack, 120, &bot.db_url));
    let (status, body) = standby.wait_for_health(Duration::from_secs(30), |_, body| body["role"] == "standby").await;
    assert_eq!(status, 503, "{body}");

    let firing = alertmanager_body("CheckoutDown", &[("fp1", "firing", "critical")]);
    let delivery = serde_json::to_vec(&firing).unwrap();
    let to_standby = reqwest::Client::new()
        .post(standby.url("/alerts/prometheus"))
        .bearer_auth(AM_SECRET)
        .header("content-type", "application/json")
        .body(delivery.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(to_standby.status(), 503);
    let db = db(&bot).await;
    assert_eq!(counts(&db).await, (0, 0), "the standby stored the delivery");
    assert!(standby.metrics().await.contains("incidentbot_active 0"));

    let to_active = post_bearer(&bot, "prometheus", AM_SECRET, &delivery).await;
    assert_eq!(to_active.status(), 200, "{}", to_active.text().await.unwrap());
    assert!(eventually(Duration::from_secs(10), || async { counts(&db).await == (1, 1) }).await);
    db.close().await;
}
