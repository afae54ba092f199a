//! `incidentbot serve`: opens the database, starts every configured platform, the HTTP
//! server and the scheduler, and shuts them down together on SIGTERM or SIGINT.
//!
//! Each platform gets its own [`Core`] (its own `Chat`), all sharing one database.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use storage::Db;
use tokio_util::sync::CancellationToken;

use crate::config::Config;

/// What every HTTP handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
}

/// The router with every route of the enabled platforms.
pub fn router(state: AppState) -> Router {
    Router::new().route("/healthz", get(healthz)).with_state(state)
}

async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ok", "database": "ok" }))),
        Err(error) => {
            tracing::error!(%error, "health check: database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "unhealthy", "database": "unavailable" })))
        }
    }
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

/// How long Slack work started before shutdown may take to finish.
const SLACK_SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(20);

/// Runs the bot until a shutdown signal.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let cancel = CancellationToken::new();
    let db = Db::connect(&config.database_url).await?;
    let state = AppState { db: db.clone() };
    let mut app = router(state);

    // Every platform that runs adds its core here, with its channels, for follow-ups.
    let mut platforms: Vec<(Arc<commands::Core>, crate::config::PlatformChannels)> = Vec::new();

    // Slack: mounted when both of its secrets are set.
    let slack = crate::slack::from_config(&config, db.clone()).await?;
    if let Some(slack) = &slack {
        app = app.merge(crate::slack::router(slack.clone()));
        platforms.push((slack.core.clone(), config.file.slack.clone()));
    }

    let addr = SocketAddr::from(([0, 0, 0, 0], config.port));
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!(%addr, "listening");
    let shutdown = tokio::spawn(wait_for_shutdown(cancel.clone()));

    // Discord: the gateway runs beside the HTTP server and stops with it.
    let discord = crate::discord::start(&config, db.clone(), cancel.clone()).await?;
    if let Some(discord) = &discord {
        platforms.push((discord.core.clone(), config.file.discord.channels.clone()));
    }

    let mut followups = Vec::new();
    for (core, channels) in &platforms {
        followups.push(commands::followup::Followups::new(core.clone(), config.file.followup_settings(channels)?));
    }
    let scheduler = tokio::spawn(crate::scheduler::run(followups, Arc::new(commands::SystemClock), cancel.clone()));
    let server_cancel = cancel.clone();
    // Slow clients are cut off; see `http_deadline`.
    axum::serve(crate::http_deadline::DeadlineListener::new(listener), app)
        .with_graceful_shutdown(async move { server_cancel.cancelled().await })
        .await
        .context("HTTP server failed")?;
    cancel.cancel();
    let _ = shutdown.await;
    // The scheduler finishes the delivery it is in, then stops; claims make a cut-off
    // delivery safe to leave for the next start.
    let _ = scheduler.await;
    if let Some(discord) = discord {
        let _ = discord.gateway.await;
    }
    if let Some(slack) = &slack {
        slack.shutdown(SLACK_SHUTDOWN_GRACE).await;
    }
    db.close().await;
    tracing::info!("stopped cleanly");
    Ok(())
}
