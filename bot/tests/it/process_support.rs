//! Running the real `incidentbot` binary: `serve` on a free port with its logs in a
//! file, a fake Slack Web API that accepts every call, and polling helpers.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const SLACK_TOKEN: &str = "xoxb-SENTINEL-slack-bot-token-7d1e";
pub const SLACK_SECRET: &str = "SENTINEL-slack-signing-secret-93af";
pub const DISCORD_TOKEN: &str = "SENTINEL.discord-token.b2c4";

/// The binary with a clean environment: nothing inherited that could change its behaviour.
pub fn incidentbot() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_incidentbot"));
    command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).env("RUST_LOG", "info");
    command
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A fake Slack whose every method answers `ok: true` with what the bot reads.
pub async fn fake_slack() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex("^/api/.+"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ok": true, "user_id": "U0BOT", "channel": { "id": "D0DM", "name": "dm" },
            "ts": "1800000000.000100", "messages": [], "has_more": false
        })))
        .mount(&server)
        .await;
    server
}

/// Requests the fake Slack received for `slack_method`.
pub async fn calls_to(server: &MockServer, slack_method: &str) -> usize {
    let suffix = format!("/api/{slack_method}");
    server.received_requests().await.unwrap_or_default().iter().filter(|r| r.url.path() == suffix).count()
}

/// A running `serve`; killed (SIGKILL) when dropped if still running.
pub struct Served {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl Served {
    /// Starts `serve` with `envs`, logging to `<dir>/<name>.log`.
    pub fn start(dir: &Path, name: &str, envs: &[(&str, String)]) -> Served {
        Served::start_on(dir, name, free_port(), envs)
    }

    /// [`Served::start`] on a given port (a restart where a sender expects it).
    pub fn start_on(dir: &Path, name: &str, port: u16, envs: &[(&str, String)]) -> Served {
        let log = dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let mut command = incidentbot();
        command.arg("serve").env("PORT", port.to_string());
        for (key, value) in envs {
            command.env(key, value);
        }
        let child = command.stdout(file.try_clone().unwrap()).stderr(file).stdin(Stdio::null()).spawn().unwrap();
        Served { child, port, log }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `/healthz` as (status, body); `None` while nothing listens.
    pub async fn health(&self) -> Option<(u16, Value)> {
        let response = reqwest::get(self.url("/healthz")).await.ok()?;
        let status = response.status().as_u16();
        Some((status, response.json().await.ok()?))
    }

    /// Polls `/healthz` until `accept` holds; panics with the logs after `timeout`.
    pub async fn wait_for_health(&self, timeout: Duration, accept: impl Fn(u16, &Value) -> bool) -> (u16, Value) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some((status, body)) = self.health().await {
                if accept(status, &body) {
                    return (status, body);
                }
            }
            assert!(Instant::now() < deadline, "health never became as expected; logs:\n{}", self.logs());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn metrics(&self) -> String {
        reqwest::get(self.url("/metrics")).await.unwrap().text().await.unwrap()
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn terminate(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let status = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status().unwrap();
        assert!(status.success());
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "serve did not stop on SIGTERM; logs:\n{}", self.logs());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` every 50 ms until it holds or `timeout` passes; returns whether it held.
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}
