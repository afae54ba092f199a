//! Runs the real app (health check plus the Slack routes) on a loopback port chosen
//! by the OS, for integration tests and the load benchmark.

use std::net::SocketAddr;

use anyhow::Context;
use storage::Db;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::SlackState;
use crate::serve::{self, AppState};

/// A running app; cancel `shutdown` to stop it gracefully.
pub struct LocalApp {
    pub addr: SocketAddr,
    pub shutdown: CancellationToken,
    pub server: JoinHandle<()>,
}

impl LocalApp {
    /// `http://127.0.0.1:<port>` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// Binds `127.0.0.1:0` and serves the app there in the background.
pub async fn serve_on_loopback(state: SlackState, db: Db) -> anyhow::Result<LocalApp> {
    let app = serve::router(AppState::new(db)).merge(super::router(state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("cannot bind a loopback port")?;
    let addr = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    let server = tokio::spawn(async move {
        let result = axum::serve(crate::http_deadline::DeadlineListener::new(listener), app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        if let Err(error) = result {
            tracing::error!(%error, "loopback server failed");
        }
    });
    Ok(LocalApp { addr, shutdown, server })
}
