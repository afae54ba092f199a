//! `incidentbot serve`: opens the database, serves HTTP at once, and — once this copy
//! holds the lease — starts every configured platform and the scheduler; then shuts
//! them down together on SIGTERM or SIGINT.
//!
//! Each platform gets its own [`Core`] (its own `Chat`), all sharing one database.
//! A copy without the lease is a standby: it answers `/healthz` and `/metrics`, and
//! refuses Slack's requests with 503 so Slack retries them against the active copy.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use storage::Db;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::health::{Health, PlatformHealth, Role};
use crate::lease::LeaseSettings;

/// What every HTTP handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub health: Health,
}

impl AppState {
    /// An active copy with no platforms registered (tests, the loopback app).
    pub fn new(db: Db) -> Self {
        AppState { db, health: Health::default() }
    }
}

/// `/healthz` and `/metrics`; platform routes are merged in by the caller.
pub fn router(state: AppState) -> Router {
    Router::new().route("/healthz", get(healthz)).route("/metrics", get(metrics)).with_state(state)
}

/// 200 only when the database answers, this copy is active and every configured
/// platform is connected; otherwise 503 naming what failed. A standby answers 503 so
/// a load balancer sends traffic to the active copy.
async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    let database = match state.db.ping().await {
        Ok(()) => "ok".to_string(),
        Err(error) => {
            tracing::error!(%error, "health check: database does not answer");
            "unavailable".to_string()
        }
    };
    let role = state.health.role();
    let mut failing = Vec::new();
    if database != "ok" {
        failing.push("database".to_string());
    }
    let mut platforms = serde_json::Map::new();
    for (name, connected, detail) in state.health.platforms() {
        let shown = if role == Role::Active { detail } else { format!("not running ({})", role.as_str()) };
        if role == Role::Active && !connected {
            failing.push(name.to_string());
        }
        platforms.insert(name.to_string(), json!(shown));
    }
    if role != Role::Active {
        failing.push("role".to_string());
    }
    // Requests acknowledged over a minute ago and still not done: a stuck resume, or a
    // copy that keeps dying half-way. Shown, not failed on: the work may still finish.
    let inbox_waiting = match state.db.inbox_waiting_count(chrono::Utc::now() - chrono::Duration::minutes(1)).await {
        Ok(count) => json!(count),
        Err(error) => {
            tracing::warn!(%error, "health check: cannot count the inbox");
            json!(null)
        }
    };
    let status = if failing.is_empty() { "ok" } else { "unhealthy" };
    let body = json!({
        "status": status,
        "role": role.as_str(),
        "database": database,
        "platforms": platforms,
        "failing": failing,
        "inbox_waiting_over_a_minute": inbox_waiting,
    });
    let code = if failing.is_empty() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(body))
}

async fn metrics(State(state): State<AppState>) -> Response {
    let open = match state.db.open_incidents().await {
        Ok(open) => Some(open.len()),
        Err(error) => {
            tracing::warn!(%error, "metrics: cannot count open incidents");
            None
        }
    };
    let alert_states = state.db.alert_counts().await.unwrap_or_else(|error| {
        tracing::warn!(%error, "metrics: cannot count alerts");
        Vec::new()
    });
    let text = crate::metrics::metrics().render_with_alerts(open, state.health.role() == Role::Active, &alert_states);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

/// Lets requests through only while this copy is active.
/// A copy whose send gate shut (its lease may have run out while it was paused) is no
/// longer active either, even before its renewal finds out.
async fn only_when_active(State(health): State<Health>, request: Request, next: Next) -> Response {
    if health.role() == Role::Active && crate::fence::gate().may_send() {
        return next.run(request).await;
    }
    (StatusCode::SERVICE_UNAVAILABLE, "standby: another copy of incidentbot is active").into_response()
}

/// Resolves when SIGTERM or SIGINT arrives (or `cancel` is triggered), then cancels `cancel`.
async fn wait_for_shutdown(cancel: CancellationToken) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT received; shutting down"),
        _ = terminate => tracing::info!("SIGTERM received; shutting down"),
        _ = cancel.cancelled() => {}
    }
    cancel.cancel();
}

/// How long Slack work started before shutdown may take to finish. `kill_timeout` in
/// `fly.toml` leaves room for it.
pub const SLACK_SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(20);

/// Runs the bot until a shutdown signal (or until it loses the lease, an error).
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let cancel = CancellationToken::new();
    // Bad schedules stop start-up here, before anything listens or takes the lease.
    config.file.followup_settings(&crate::config::PlatformChannels::default())?;
    config.file.alerts.settings(None)?;
    let db = Db::connect(&config.database_url).await?;
    let lease = LeaseSettings::from_env()?;
    let health = Health::new(Role::Standby);
    let mut app = router(AppState { db: db.clone(), health: health.clone() });

    // The web pages answer on every copy: they only read, and edits go through the
    // database's own guarantees, so a standby serving them is harmless.
    let web = crate::web::WebState::new(
        db.clone(),
        config.file.settings(&config.file.console)?,
        config.file.web.is_https(),
        config.discord_guild_id,
    );
    app = app.merge(crate::web::router(web.clone()));

    // Slack's routes exist from the start, closed until this copy is active.
    let slack = crate::slack::build(&config, db.clone())?;
    if let Some(slack) = &slack {
        health.register("slack", slack.chat().api().health().clone());
        let routes = crate::slack::router(slack.clone())
            .layer(axum::middleware::from_fn_with_state(health.clone(), only_when_active));
        app = app.merge(routes);
    }
    // Alert routes, closed like Slack's until this copy is active.
    let alerts = crate::alerts::AlertsState::new(config.file.alerts.sources(|var| std::env::var(var).ok())?);
    if !alerts.is_empty() {
        let routes = crate::alerts::router(alerts.clone())
            .layer(axum::middleware::from_fn_with_state(health.clone(), only_when_active));
        app = app.merge(routes);
    }
    // Trackers and the status page: clients built now, so a missing token stops start-up.
    let follow = crate::trackers::build(&config.file)?;
    let webhooks = follow.as_ref().map(|(_, secrets)| crate::trackers::webhook::Webhooks::new(db.clone(), secrets));
    if let Some(webhooks) = &webhooks {
        let routes = crate::trackers::webhook::router(webhooks.clone())
            .layer(axum::middleware::from_fn_with_state(health.clone(), only_when_active));
        app = app.merge(routes);
    }
    let follow = follow.map(|(follow, _)| (follow, webhooks));
    let discord_health = PlatformHealth::new();
    if config.discord_token.is_some() {
        health.register("discord", discord_health.clone());
    }

    let addr = SocketAddr::from(([0, 0, 0, 0], config.port));
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!(%addr, "listening");
    let shutdown = tokio::spawn(wait_for_shutdown(cancel.clone()));
    let surfaces = Surfaces { slack, discord_health, web, alerts, follow };
    let active = tokio::spawn(run_while_active(config, db.clone(), lease, health.clone(), surfaces, cancel.clone()));

    let server_cancel = cancel.clone();
    // Slow clients are cut off; see `http_deadline`.
    let served = axum::serve(crate::http_deadline::DeadlineListener::new(listener), app)
        .with_graceful_shutdown(async move { server_cancel.cancelled().await })
        .await
        .context("HTTP server failed");
    cancel.cancel();
    let _ = shutdown.await;
    let active = active.await.context("the platforms task panicked")?;
    db.close().await;
    served?;
    active?;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// What serves requests besides `/healthz`: built before the lease, run once held.
struct Surfaces {
    slack: Option<crate::slack::SlackState>,
    discord_health: Arc<PlatformHealth>,
    web: crate::web::WebState,
    alerts: crate::alerts::AlertsState,
    follow: Option<FollowThroughParts>,
}

/// Waits for the lease, then runs the platforms and the scheduler until `cancel` fires
/// or the lease is lost; stops them, and releases the lease last, once nothing of this
/// copy is running any more.
// Each argument is one of the pieces `serve` built before the lease; bundling them
// would only move the list into a struct used once.
#[allow(clippy::too_many_arguments)]
async fn run_while_active(
    config: Config,
    db: Db,
    lease: LeaseSettings,
    health: Health,
    surfaces: Surfaces,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    if !crate::lease::acquire(&db, &lease, &cancel).await {
        return Ok(());
    }
    let result = run_platforms(&config, &db, &lease, &health, &surfaces, &cancel).await;
    let slack = surfaces.slack;
    health.set_role(Role::Stopping);
    cancel.cancel();
    if let Some(slack) = &slack {
        slack.shutdown(SLACK_SHUTDOWN_GRACE).await;
    }
    crate::lease::release(&db, &lease).await;
    result
}

/// The core alerts go to: `alerts.platform`, or the one platform that runs.
fn alert_core(
    config: &Config,
    slack: Option<&crate::slack::SlackState>,
    discord: Option<&crate::discord::Started>,
) -> anyhow::Result<Option<Arc<commands::Core>>> {
    let slack_core = slack.map(|s| s.core().clone());
    let discord_core = discord.map(|d| d.core.clone());
    let chosen = match config.file.alerts.platform.as_deref() {
        Some("slack") => {
            slack_core.ok_or_else(|| anyhow::anyhow!("`alerts.platform` is slack, but Slack is not configured"))?
        }
        Some("discord") => discord_core
            .ok_or_else(|| anyhow::anyhow!("`alerts.platform` is discord, but Discord is not configured"))?,
        Some(other) => anyhow::bail!("`alerts.platform`: `{other}` is not slack or discord"),
        None => match (slack_core, discord_core) {
            (Some(core), None) | (None, Some(core)) => core,
            (Some(_), Some(_)) => {
                anyhow::bail!("`alerts.platform`: Slack and Discord both run; say which one alerts go to")
            }
            (None, None) => return Ok(None),
        },
    };
    Ok(Some(chosen))
}

/// The configured trackers and status page, and the webhook routes that feed them.
type FollowThroughParts = (commands::follow_through::FollowThrough, Option<crate::trackers::webhook::Webhooks>);

async fn run_platforms(
    config: &Config,
    db: &Db,
    lease: &LeaseSettings,
    health: &Health,
    surfaces: &Surfaces,
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let slack = surfaces.slack.as_ref();
    let alerts = &surfaces.alerts;
    let discord_health = surfaces.discord_health.clone();
    let follow = surfaces.follow.as_ref();
    let web = &surfaces.web;
    // Every platform that runs adds its core here, with its channels, for follow-ups.
    let mut platforms: Vec<(Arc<commands::Core>, crate::config::PlatformChannels)> = Vec::new();
    // Each core learns of the trackers and the status page before it takes requests.
    let attach = |core: &Arc<commands::Core>| {
        if let Some((follow, webhooks)) = follow {
            // Every outbound call is claimed under this copy's lease, like the reminders.
            let fence: Arc<dyn commands::followup::LeaseFence> = Arc::new(crate::fence::GateFence(lease.gate));
            core.set_follow_through(commands::follow_through::FollowThrough { fence: Some(fence), ..follow.clone() });
            if let Some(webhooks) = webhooks {
                webhooks.add_core(core.clone());
            }
        }
    };
    if let Some(slack) = slack {
        if let Err(error) = slack.chat().api().verify_token().await {
            tracing::error!(%error, "Slack: the bot token was not accepted; /healthz reports it");
        }
        crate::slack::catchup::start(slack).await?;
        tracing::info!(api_url = %config.slack_api_url, "Slack enabled");
        attach(slack.core());
        platforms.push((slack.core().clone(), config.file.slack.clone()));
    }
    // Slack's requests are taken from here on: its catch-up has fixed where it starts.
    health.set_role(Role::Active);
    if let Some(slack) = slack {
        // What a previous run (this copy's, or a copy whose lease this one took over)
        // acknowledged and left unfinished runs again, in the background, oldest first.
        let resuming = slack.clone();
        slack.tasks().spawn(async move {
            match crate::slack::inbox::resume(&resuming).await {
                Ok(0) => {}
                Ok(ran) => tracing::info!(ran, "Slack: unfinished requests run again"),
                Err(error) => tracing::error!(%error, "Slack: could not read the inbox"),
            }
        });
    }

    // Discord: the gateway runs beside the HTTP server and stops with it.
    // Its core gets the follow-through before the gateway takes its first event.
    let discord = crate::discord::start_with_health(config, db.clone(), cancel.clone(), discord_health, attach).await?;
    if let Some(discord) = &discord {
        platforms.push((discord.core.clone(), config.file.discord.channels.clone()));
    }

    // Alerts go to one platform's core; the worker applies what was stored, starting
    // with what a stopped copy left pending.
    let alert_worker = match alert_core(config, slack, discord.as_ref())? {
        Some(core) if !alerts.is_empty() => {
            core.set_alert_settings(config.file.alerts.settings(None)?);
            alerts.set_core(core.clone());
            Some(tokio::spawn(crate::alerts::worker::run(
                core,
                alerts.source_names(),
                alerts.wake.clone(),
                cancel.clone(),
            )))
        }
        None if !alerts.is_empty() => {
            tracing::error!("alert sources are configured but no chat platform runs; /alerts/* answers 503");
            None
        }
        _ => None,
    };

    let mut followups = Vec::new();
    for (core, _) in &platforms {
        web.register_platform(core.chat_platform(), core.clone());
    }
    for (core, channels) in &platforms {
        followups.push(
            commands::followup::Followups::new(core.clone(), config.file.followup_settings(channels)?)
                .fenced_by(Arc::new(crate::fence::GateFence(lease.gate))),
        );
    }
    let scheduler = tokio::spawn(crate::scheduler::run(followups, Arc::new(commands::SystemClock), cancel.clone()));

    let slack_api = slack.map(|s| s.chat().api().clone());
    let kept = crate::lease::keep(db, lease, cancel, || {
        // A Slack that failed is asked again, so /healthz recovers without traffic.
        if let Some(api) = slack_api.as_ref().filter(|api| !api.health().is_connected()) {
            let api = api.clone();
            tokio::spawn(async move { api.verify_token().await });
        }
    })
    .await;
    if let Err(lost) = &kept {
        tracing::error!(error = %lost, "stopping");
        health.set_role(Role::Stopping);
    }
    cancel.cancel();
    // The scheduler finishes the delivery it is in, then stops; claims make a cut-off
    // delivery safe to leave for the next start.
    let _ = scheduler.await;
    if let Some(worker) = alert_worker {
        let _ = worker.await;
    }
    if let Some(discord) = discord {
        let _ = discord.gateway.await;
    }
    kept.map_err(anyhow::Error::from)
}
