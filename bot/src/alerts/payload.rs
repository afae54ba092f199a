//! Each source's wire format, parsed into the core's normalised alerts: Alertmanager's
//! webhook (version 4), Grafana's (Alertmanager's plus its own fields), PagerDuty's V3
//! webhooks, and the generic JSON body. A body that does not parse is refused with
//! the reason, and nothing is stored.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use commands::alerts::model::MAX_ALERTS_PER_DELIVERY;
use commands::alerts::{AlertDelivery, IncomingAlert};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use storage::AlertStatus;

use super::config::SourceKind;

/// Why a body was refused, in words for the sender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PayloadError(pub String);

/// Parses `body` as `kind` sends it. `delivery_id` is the request's own id, where the
/// source sends one (PagerDuty's `X-Webhook-Id`).
pub fn parse(
    kind: SourceKind,
    body: &[u8],
    delivery_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<AlertDelivery, PayloadError> {
    let alerts = match kind {
        SourceKind::Alertmanager | SourceKind::Grafana => alertmanager(body, now)?,
        SourceKind::Pagerduty => pagerduty(body, now)?,
        SourceKind::Generic => generic(body, now)?,
    };
    if alerts.len() > MAX_ALERTS_PER_DELIVERY {
        return Err(PayloadError(format!(
            "{} alerts in one delivery; at most {MAX_ALERTS_PER_DELIVERY} are taken",
            alerts.len()
        )));
    }
    Ok(AlertDelivery { delivery_id, alerts })
}

/// Guesses a payload's kind from its shape, for the console's `:alert FILE`.
pub fn detect_kind(body: &[u8]) -> Option<SourceKind> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    if value.get("event").and_then(|e| e.get("event_type")).is_some() {
        Some(SourceKind::Pagerduty)
    } else if value.get("alerts").is_some() && value.get("orgId").is_some() {
        Some(SourceKind::Grafana)
    } else if value.get("alerts").is_some() {
        Some(SourceKind::Alertmanager)
    } else if value.get("dedup_key").is_some() {
        Some(SourceKind::Generic)
    } else {
        None
    }
}

fn json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, PayloadError> {
    serde_json::from_slice(body).map_err(|e| PayloadError(format!("malformed JSON: {e}")))
}

fn status(word: &str) -> Result<AlertStatus, PayloadError> {
    match word {
        "firing" => Ok(AlertStatus::Firing),
        "resolved" => Ok(AlertStatus::Resolved),
        other => Err(PayloadError(format!("status `{other}` is neither firing nor resolved"))),
    }
}

/// Alertmanager's zero time (`0001-01-01T00:00:00Z`) means "not set".
fn set_time(at: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    at.filter(|at| at.timestamp() > 0)
}

fn non_empty(text: Option<String>) -> Option<String> {
    text.filter(|t| !t.trim().is_empty())
}

/// A fingerprint from the labels, for a sender that leaves it out: the same labels give
/// the same alert.
fn labels_fingerprint(labels: &BTreeMap<String, String>) -> String {
    let mut hash = Sha256::new();
    for (name, value) in labels {
        hash.update(name.as_bytes());
        hash.update([0xff]);
        hash.update(value.as_bytes());
        hash.update([0xfe]);
    }
    hex::encode(&hash.finalize()[..8])
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlertmanagerBody {
    version: Option<String>,
    group_key: Option<String>,
    alerts: Vec<AlertmanagerAlert>,
    /// Grafana's title of the whole notification.
    title: Option<String>,
    #[serde(default)]
    common_labels: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlertmanagerAlert {
    status: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    #[serde(rename = "generatorURL")]
    generator_url: Option<String>,
    fingerprint: Option<String>,
    // Grafana's own.
    #[serde(rename = "dashboardURL")]
    dashboard_url: Option<String>,
    #[serde(rename = "panelURL")]
    panel_url: Option<String>,
}

fn alertmanager(body: &[u8], now: DateTime<Utc>) -> Result<Vec<IncomingAlert>, PayloadError> {
    let body: AlertmanagerBody = json(body)?;
    if let Some(version) = &body.version {
        // Grafana sends "1"; Alertmanager 0.25 and later send "4".
        if version != "4" && version != "1" {
            return Err(PayloadError(format!("webhook version `{version}` is not supported; version 4 is")));
        }
    }
    let group_key = non_empty(body.group_key).unwrap_or_else(|| labels_fingerprint(&body.common_labels));
    body.alerts
        .into_iter()
        .map(|alert| {
            let status = status(&alert.status)?;
            let fingerprint = non_empty(alert.fingerprint).unwrap_or_else(|| labels_fingerprint(&alert.labels));
            Ok(IncomingAlert {
                fingerprint,
                group_key: group_key.clone(),
                status,
                starts_at: set_time(alert.starts_at).unwrap_or(now),
                ends_at: match status {
                    AlertStatus::Resolved => set_time(alert.ends_at).or(Some(now)),
                    AlertStatus::Firing => None,
                },
                url: non_empty(alert.dashboard_url).or(non_empty(alert.panel_url)).or(non_empty(alert.generator_url)),
                labels: alert.labels,
                annotations: alert.annotations,
                source_title: non_empty(body.title.clone()),
            })
        })
        .collect()
}

#[derive(Deserialize)]
struct PagerDutyBody {
    event: PagerDutyEvent,
}

#[derive(Deserialize)]
struct PagerDutyEvent {
    event_type: String,
    occurred_at: Option<DateTime<Utc>>,
    data: serde_json::Value,
}

/// `incident.triggered`, `.acknowledged`, `.resolved` and `.reopened` become the
/// incident's alert; other event types (notes, priority changes) are acknowledged and
/// carry no alert.
fn pagerduty(body: &[u8], now: DateTime<Utc>) -> Result<Vec<IncomingAlert>, PayloadError> {
    let body: PagerDutyBody = json(body)?;
    let event = body.event;
    let status = match event.event_type.as_str() {
        "incident.triggered" | "incident.acknowledged" | "incident.reopened" => AlertStatus::Firing,
        "incident.resolved" => AlertStatus::Resolved,
        _ => return Ok(Vec::new()),
    };
    let data = &event.data;
    let text = |value: &serde_json::Value| value.as_str().map(str::to_string);
    let id = text(&data["id"]).ok_or_else(|| PayloadError("event.data.id (the incident id) is missing".into()))?;
    let created = data["created_at"].as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|t| t.to_utc());
    let occurred = event.occurred_at.unwrap_or(now);
    let mut labels = BTreeMap::new();
    for (label, value) in [
        ("service", &data["service"]["summary"]),
        ("urgency", &data["urgency"]),
        ("priority", &data["priority"]["summary"]),
    ] {
        if let Some(value) = text(value) {
            labels.insert(label.to_string(), value);
        }
    }
    if let Some(number) = data["number"].as_i64() {
        labels.insert("pagerduty_incident".into(), number.to_string());
    }
    Ok(vec![IncomingAlert {
        fingerprint: id.clone(),
        group_key: id,
        status,
        labels,
        annotations: BTreeMap::new(),
        // A reopened incident fires again from when it reopened.
        starts_at: if event.event_type == "incident.reopened" { occurred } else { created.unwrap_or(occurred) },
        ends_at: (status == AlertStatus::Resolved).then_some(occurred),
        url: text(&data["html_url"]),
        source_title: text(&data["title"]),
    }])
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GenericBody {
    dedup_key: String,
    status: String,
    title: String,
    severity: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    url: Option<String>,
    started_at: Option<DateTime<Utc>>,
}

fn generic(body: &[u8], now: DateTime<Utc>) -> Result<Vec<IncomingAlert>, PayloadError> {
    let body: GenericBody = json(body)?;
    if body.dedup_key.trim().is_empty() {
        return Err(PayloadError("dedup_key is empty".into()));
    }
    let status = status(&body.status)?;
    let mut labels = body.labels;
    if let Some(severity) = body.severity {
        labels.insert("severity".into(), severity);
    }
    Ok(vec![IncomingAlert {
        fingerprint: body.dedup_key.clone(),
        group_key: body.dedup_key,
        status,
        labels,
        annotations: body.annotations,
        starts_at: body.started_at.unwrap_or(now),
        ends_at: (status == AlertStatus::Resolved).then_some(now),
        url: non_empty(body.url),
        source_title: Some(body.title),
    }])
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    #[test]
    fn alertmanager_v4() {
        let body = br#"{"version":"4","groupKey":"{}:{alertname=\"HighErrorRate\"}","truncatedAlerts":0,
            "status":"firing","receiver":"incidentbot","groupLabels":{"alertname":"HighErrorRate"},
            "commonLabels":{"alertname":"HighErrorRate"},"commonAnnotations":{},"externalURL":"http://am:9093",
            "alerts":[{"status":"firing","labels":{"alertname":"HighErrorRate","severity":"critical"},
            "annotations":{"summary":"Checkout errors above 5%"},"startsAt":"2027-01-15T10:00:00Z",
            "endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prom/graph","fingerprint":"a1b2"}]}"#;
        let delivery = parse(SourceKind::Alertmanager, body, None, now()).unwrap();
        let alert = &delivery.alerts[0];
        assert_eq!(alert.fingerprint, "a1b2");
        assert_eq!(alert.group_key, "{}:{alertname=\"HighErrorRate\"}");
        assert_eq!(alert.title(), "Checkout errors above 5%");
        assert_eq!(alert.ends_at, None);
        assert_eq!(alert.url.as_deref(), Some("http://prom/graph"));
    }

    #[test]
    fn grafana_prefers_its_dashboard_link_and_title() {
        let body = br#"{"receiver":"incidentbot","status":"firing","orgId":1,"alerts":[{"status":"resolved",
            "labels":{"grafana_folder":"Prod"},"annotations":{},"startsAt":"2027-01-15T10:00:00Z",
            "endsAt":"2027-01-15T10:05:00Z","generatorURL":"http://g/alerting/grafana/x/view","fingerprint":"f00d",
            "silenceURL":"http://g/silence","dashboardURL":"http://g/d/abc","panelURL":"http://g/d/abc?viewPanel=1",
            "values":{"B":22}}],"groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://g/",
            "version":"1","groupKey":"{}:{}","truncatedAlerts":0,"title":"[RESOLVED] Disk full","state":"ok",
            "message":"Disk full"}"#;
        let alert = parse(SourceKind::Grafana, body, None, now()).unwrap().alerts.remove(0);
        assert_eq!(alert.status, AlertStatus::Resolved);
        assert_eq!(alert.url.as_deref(), Some("http://g/d/abc"));
        assert_eq!(alert.title(), "[RESOLVED] Disk full");
        assert!(alert.ends_at.is_some());
    }

    #[test]
    fn pagerduty_v3_events() {
        let event = |kind: &str| {
            format!(
                r#"{{"event":{{"id":"01DEN","event_type":"{kind}","resource_type":"incident",
                "occurred_at":"2027-01-15T10:07:00.000Z","agent":null,"client":null,"data":{{"id":"PGR0VU2",
                "type":"incident","html_url":"https://acme.pagerduty.com/incidents/PGR0VU2","number":2,
                "status":"triggered","title":"A little bump in the road","created_at":"2027-01-15T10:00:00Z",
                "service":{{"id":"PF9KMXH","summary":"API Service"}},"urgency":"high"}}}}}}"#
            )
        };
        let fired =
            parse(SourceKind::Pagerduty, event("incident.triggered").as_bytes(), Some("w1".into()), now()).unwrap();
        assert_eq!(fired.delivery_id.as_deref(), Some("w1"));
        let alert = &fired.alerts[0];
        assert_eq!((alert.fingerprint.as_str(), alert.status), ("PGR0VU2", AlertStatus::Firing));
        assert_eq!(alert.title(), "A little bump in the road");
        assert_eq!(alert.labels["service"], "API Service");
        let resolved = parse(SourceKind::Pagerduty, event("incident.resolved").as_bytes(), None, now()).unwrap();
        assert_eq!(resolved.alerts[0].status, AlertStatus::Resolved);
        let reopened = parse(SourceKind::Pagerduty, event("incident.reopened").as_bytes(), None, now()).unwrap();
        assert!(reopened.alerts[0].starts_at > alert.starts_at);
        let note = parse(SourceKind::Pagerduty, event("incident.annotated").as_bytes(), None, now()).unwrap();
        assert!(note.alerts.is_empty());
    }

    #[test]
    fn generic_and_bad_bodies() {
        let body = br#"{"dedup_key":"disk-db1","status":"firing","title":"Disk almost full","severity":"warning"}"#;
        let alert = parse(SourceKind::Generic, body, None, now()).unwrap().alerts.remove(0);
        assert_eq!(alert.labels["severity"], "warning");
        assert_eq!(alert.title(), "Disk almost full");
        for (kind, bad) in [
            (SourceKind::Generic, &b"{"[..]),
            (SourceKind::Generic, br#"{"dedup_key":"k","status":"on fire","title":"t"}"#),
            (SourceKind::Generic, br#"{"dedup_key":"k","status":"firing"}"#),
            (SourceKind::Alertmanager, br#"{"version":"3","alerts":[]}"#),
            (SourceKind::Alertmanager, br#"{"alerts":[{"status":"firing","startsAt":"yesterday"}]}"#),
            (SourceKind::Pagerduty, br#"{"event":{"event_type":"incident.triggered","data":{}}}"#),
        ] {
            assert!(parse(kind, bad, None, now()).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
