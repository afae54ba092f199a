//! Alerts in: one route per configured source, `POST /alerts/<name>`. A request is
//! checked in this order, and a refusal writes nothing: unknown source 404, body over
//! 1 MB 413, credentials 401, the source's budget 429, malformed payload 400. An
//! accepted delivery is committed to the durable inbox before the answer (one row,
//! group-committed with whatever else arrives); storing it into the alerts, declaring,
//! triage posts and timeline posts happen afterwards in the alert worker ([`worker`]),
//! so a slow chat platform never makes a sender time out, and a crash after the answer
//! loses nothing: the next start (or the copy taking over) stores what was accepted.
//!
//! - [`config`] reads `[alerts]`; [`auth`] checks credentials and signatures;
//!   [`payload`] parses each source's format; [`limit`] is the per-source budget.

pub mod auth;
pub mod config;
pub mod limit;
pub mod payload;
pub mod worker;

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use commands::Core;
use serde_json::json;
use tokio::sync::Notify;

use self::config::Source;
use self::limit::RateLimit;

/// The largest alert body taken.
pub const MAX_BODY: usize = 1024 * 1024;

/// What the alert routes share.
#[derive(Clone)]
pub struct AlertsState {
    sources: Arc<HashMap<String, (Source, RateLimit)>>,
    /// The core alerts go to, once this copy is active and its platform runs.
    core: Arc<RwLock<Option<Arc<Core>>>>,
    /// Wakes the worker after a delivery is stored.
    pub(crate) wake: Arc<Notify>,
}

impl AlertsState {
    pub fn new(sources: Vec<Source>) -> Self {
        for source in &sources {
            crate::metrics::metrics().alert_source_configured(&source.name);
        }
        let sources = sources
            .into_iter()
            .map(|source| {
                let limit = RateLimit::per_minute(source.max_per_minute);
                (source.name.clone(), (source, limit))
            })
            .collect();
        AlertsState { sources: Arc::new(sources), core: Default::default(), wake: Arc::new(Notify::new()) }
    }

    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// The configured source names, whose inbox rows the worker stores.
    pub fn source_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.sources.keys().cloned().collect();
        names.sort();
        names
    }

    /// Alerts go to `core` from now on.
    pub fn set_core(&self, core: Arc<Core>) {
        *self.core.write().unwrap_or_else(PoisonError::into_inner) = Some(core);
    }

    fn core(&self) -> Option<Arc<Core>> {
        self.core.read().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// `POST /alerts/{name}` for every configured source.
pub fn router(state: AlertsState) -> Router {
    Router::new().route("/alerts/{name}", post(receive)).layer(DefaultBodyLimit::max(MAX_BODY)).with_state(state)
}

fn refuse(status: StatusCode, reason: impl Into<String>) -> Response {
    (status, Json(json!({ "error": reason.into() }))).into_response()
}

async fn receive(
    State(state): State<AlertsState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let Some((source, limit)) = state.sources.get(&name) else {
        return refuse(StatusCode::NOT_FOUND, "no alert source of that name is configured");
    };
    let metrics = crate::metrics::metrics();
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            metrics.alert_rejected(&source.name);
            return refuse(rejection.status(), rejection.body_text());
        }
    };
    if !auth::authorized(source, &headers, &body, chrono::Utc::now().timestamp()) {
        metrics.alert_rejected(&source.name);
        return refuse(StatusCode::UNAUTHORIZED, "missing or wrong credentials");
    }
    if let Err(wait) = limit.take(Instant::now()) {
        metrics.alert_rejected(&source.name);
        let seconds = wait.as_secs().max(1).to_string();
        let mut response = refuse(StatusCode::TOO_MANY_REQUESTS, "too many deliveries this minute; retry later");
        if let Ok(value) = seconds.parse() {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    let Some(core) = state.core() else {
        limit.give_back();
        let mut response = refuse(StatusCode::SERVICE_UNAVAILABLE, "starting up; retry shortly");
        response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
        return response;
    };
    let delivery_id = headers.get("x-webhook-id").and_then(|v| v.to_str().ok()).map(str::to_string);
    let delivery = match payload::parse(source.kind, &body, delivery_id, core.now()) {
        Ok(delivery) => delivery,
        Err(error) => {
            limit.give_back();
            metrics.alert_rejected(&source.name);
            return refuse(StatusCode::BAD_REQUEST, error.to_string());
        }
    };
    match core.accept_alert_delivery(&source.name, &delivery).await {
        Ok(accepted) => {
            if accepted {
                state.wake.notify_one();
            } else {
                // A redelivery (PagerDuty's X-Webhook-Id): every alert in it is a repeat.
                metrics.alerts_received(&source.name, delivery.alerts.len(), delivery.alerts.len());
            }
            (StatusCode::OK, Json(json!({ "accepted": delivery.alerts.len(), "duplicate_delivery": !accepted })))
                .into_response()
        }
        Err(error) => {
            tracing::error!(source = %source.name, %error, "could not commit an alert delivery");
            refuse(StatusCode::SERVICE_UNAVAILABLE, "could not store the alerts; retry")
        }
    }
}
