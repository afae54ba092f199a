//! `POST /trackers/github` and `POST /trackers/jira`: issue events from the trackers.
//! Each delivery is checked against its webhook secret before anything is read (401 and
//! nothing written otherwise), recognised by its delivery id so a second delivery
//! applies once, and handed to the core of the platform whose incident owns the item.

use std::sync::{Arc, PoisonError, RwLock};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use commands::follow_through::{EventOutcome, TrackerEvent};
use commands::Core;
use storage::{Db, EventSource};

use crate::secret::Secret;
use crate::trackers::github::verify_signature;

/// What the webhook routes need. The cores are added once the platforms run.
#[derive(Clone)]
pub struct Webhooks {
    db: Db,
    cores: Arc<RwLock<Vec<Arc<Core>>>>,
    github_secret: Option<Secret>,
    jira_secret: Option<Secret>,
    /// Deliveries are applied one at a time, so a concurrent duplicate waits and then
    /// finds the first one recorded.
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl Webhooks {
    pub fn new(db: Db, secrets: &crate::trackers::WebhookSecrets) -> Self {
        Webhooks {
            db,
            cores: Default::default(),
            github_secret: secrets.github.clone(),
            jira_secret: secrets.jira.clone(),
            lock: Default::default(),
        }
    }

    /// Adds a running platform's core.
    pub fn add_core(&self, core: Arc<Core>) {
        self.cores.write().unwrap_or_else(PoisonError::into_inner).push(core);
    }
}

pub fn router(webhooks: Webhooks) -> Router {
    Router::new().route("/trackers/github", post(github)).route("/trackers/jira", post(jira)).with_state(webhooks)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn github(State(hooks): State<Webhooks>, headers: HeaderMap, body: Bytes) -> (StatusCode, &'static str) {
    let Some(secret) = &hooks.github_secret else {
        return (StatusCode::NOT_FOUND, "GitHub webhooks are not configured (trackers.github.webhook_secret_env)");
    };
    if let Err(error) = verify_signature(secret, header(&headers, "x-hub-signature-256"), &body) {
        tracing::warn!(%error, "GitHub webhook refused");
        return (StatusCode::UNAUTHORIZED, "bad signature");
    }
    let Some(delivery) = header(&headers, "x-github-delivery").map(str::to_string) else {
        return (StatusCode::BAD_REQUEST, "missing X-GitHub-Delivery");
    };
    let event = header(&headers, "x-github-event").unwrap_or_default().to_string();
    let Ok(payload) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "the body is not JSON");
    };
    let parsed = crate::trackers::github::parse_event(&event, &delivery, &payload);
    hooks.apply(EventSource::tracker("github"), &delivery, parsed).await
}

async fn jira(State(hooks): State<Webhooks>, headers: HeaderMap, body: Bytes) -> (StatusCode, &'static str) {
    let Some(secret) = &hooks.jira_secret else {
        return (StatusCode::NOT_FOUND, "Jira webhooks are not configured (trackers.jira.webhook_secret_env)");
    };
    // Jira signs admin webhooks registered with a secret the WebSub way, as GitHub does.
    if let Err(error) = verify_signature(secret, header(&headers, "x-hub-signature"), &body) {
        tracing::warn!(%error, "Jira webhook refused");
        return (StatusCode::UNAUTHORIZED, "bad signature");
    }
    let Some(delivery) = header(&headers, "x-atlassian-webhook-identifier").map(str::to_string) else {
        return (StatusCode::BAD_REQUEST, "missing X-Atlassian-Webhook-Identifier");
    };
    let Ok(payload) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "the body is not JSON");
    };
    let parsed = crate::trackers::jira::parse_event(&delivery, &payload);
    hooks.apply(EventSource::tracker("jira"), &delivery, parsed).await
}

impl Webhooks {
    async fn apply(
        &self,
        source: EventSource,
        delivery: &str,
        event: Option<TrackerEvent>,
    ) -> (StatusCode, &'static str) {
        let _one_at_a_time = self.lock.lock().await;
        match self.db.inbound_event_processed(&source, delivery).await {
            Ok(true) => return (StatusCode::OK, "already applied"),
            Ok(false) => {}
            Err(error) => {
                tracing::error!(%error, "tracker webhook: database unavailable");
                return (StatusCode::SERVICE_UNAVAILABLE, "try again");
            }
        }
        if let Some(event) = &event {
            let cores: Vec<Arc<Core>> = self.cores.read().unwrap_or_else(PoisonError::into_inner).clone();
            if cores.is_empty() {
                return (StatusCode::SERVICE_UNAVAILABLE, "not running yet");
            }
            for core in cores {
                match core.apply_tracker_event(event).await {
                    Ok(EventOutcome::OtherPlatform) => continue,
                    Ok(outcome) => {
                        tracing::info!(issue = event.issue_key, ?outcome, "tracker webhook");
                        break;
                    }
                    Err(error) => {
                        // Not recorded, so the tracker's retry applies it.
                        tracing::error!(%error, issue = event.issue_key, "tracker webhook failed");
                        return (StatusCode::INTERNAL_SERVER_ERROR, "failed");
                    }
                }
            }
        }
        if let Err(error) = self.db.record_inbound_event(&source, delivery, chrono::Utc::now()).await {
            tracing::error!(%error, "tracker webhook: cannot record the delivery");
        }
        (StatusCode::OK, "ok")
    }
}
