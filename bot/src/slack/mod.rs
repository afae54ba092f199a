//! The Slack adapter: slash commands, the Events API and interactivity over HTTP, and
//! the core's [`commands::Chat`] port over Slack's Web API.
//!
//! - [`verify`] checks every request's signature and size before anything else;
//!   [`signature`] is the v0 HMAC itself; [`form`] decodes form bodies strictly.
//! - [`commands`], [`events`] and [`interactions`] are the three routes; each turns a
//!   Slack payload into a core call, and [`reply`] delivers what the core answers.
//!   [`inbox`] commits slash commands and button presses before they are answered and
//!   runs again, at start-up, those a previous run left unfinished.
//! - [`api`] is the Web API client, [`chat`] the `Chat` port on it, [`render`] turns
//!   messages and forms into Block Kit, writing every line with [`mrkdwn`] and within
//!   the table of Slack's [`limits`]; [`names`] caches display names for plain text.
//! - [`catchup`] stores messages posted while the bot was down; [`ids`] spells Slack's
//!   timestamps and the source ids built from them.
//! - [`local`] runs the whole app on loopback (tests and the load benchmark).

pub mod api;
pub mod catchup;
pub mod chat;
pub mod commands;
pub mod events;
pub mod form;
pub mod ids;
pub mod inbox;
pub mod interactions;
pub mod limits;
pub mod local;
pub mod mrkdwn;
pub mod names;
pub mod render;
pub mod reply;
pub mod signature;
pub mod verify;

use std::sync::Arc;
use std::time::Duration;

use ::commands::{Clock, Core, Settings, SystemClock};
use axum::extract::DefaultBodyLimit;
use axum::routing::post;
use axum::Router;
use storage::Db;
use tokio_util::task::TaskTracker;

use self::api::SlackApi;
use self::chat::SlackChat;
use self::signature::SigningKey;
use crate::config::Config;
use crate::secret::Secret;

/// Slack's requests are small; anything bigger is refused with 413 before it is read.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// What the Slack adapter needs to start.
#[derive(Debug, Clone)]
pub struct SlackOptions {
    pub bot_token: Secret,
    pub signing_secret: Secret,
    /// `SLACK_API_URL`, e.g. `https://slack.com/api`.
    pub api_url: String,
}

/// Everything the Slack routes share. Cheap to clone.
#[derive(Clone)]
pub struct SlackState {
    pub(crate) core: Arc<Core>,
    pub(crate) chat: Arc<SlackChat>,
    /// Posts to `response_url`s; it never carries the bot token.
    pub(crate) responder: reqwest::Client,
    /// The signing secret, ready for HMAC (shared: a request clones the state).
    pub(crate) signing_key: Arc<SigningKey>,
    /// The real time, for the 5-minute signature window (injectable for tests; the
    /// core's clock may be a test clock set anywhere).
    pub(crate) wall_clock: Arc<dyn Clock>,
    /// Background work started by requests, so shutdown can wait for it.
    pub(crate) tasks: TaskTracker,
    /// Events are applied one at a time, so a concurrent duplicate delivery waits and
    /// then sees the first one recorded instead of applying it a second time.
    pub(crate) events_lock: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for SlackState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackState")
            .field("api", self.chat.api())
            .field("signing_key", &self.signing_key)
            .finish_non_exhaustive()
    }
}

impl SlackState {
    /// Builds the Slack chat and a core for platform `slack` on `db`.
    pub fn new(options: SlackOptions, db: Db, settings: Settings, core_clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let api = SlackApi::new(&options.api_url, options.bot_token)?;
        let chat = Arc::new(SlackChat::new(api));
        let core = Arc::new(Core::new(db, chat.clone(), core_clock, settings));
        Ok(SlackState {
            core,
            chat,
            responder: api::http_client()?,
            signing_key: Arc::new(SigningKey::new(&options.signing_secret)),
            wall_clock: Arc::new(SystemClock),
            tasks: TaskTracker::new(),
            events_lock: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    /// Replaces the clock the signature window is checked against.
    pub fn with_wall_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.wall_clock = clock;
        self
    }

    pub fn core(&self) -> &Arc<Core> {
        &self.core
    }

    pub fn chat(&self) -> &Arc<SlackChat> {
        &self.chat
    }

    /// Background work still running (slash commands, button presses, catch-up).
    pub fn tasks(&self) -> &TaskTracker {
        &self.tasks
    }

    /// Stops taking background work and waits up to `grace` for what is running.
    /// Work cut off here is safe to lose: what it wrote is committed, and what it did
    /// not write was never acknowledged as done.
    pub async fn shutdown(&self, grace: Duration) {
        self.tasks.close();
        if tokio::time::timeout(grace, self.tasks.wait()).await.is_err() {
            tracing::warn!(running = self.tasks.len(), "Slack work still running at shutdown; left unfinished");
        }
    }
}

/// The `/slack/*` routes, with the body limit. Every handler verifies first.
pub fn router(state: SlackState) -> Router {
    Router::new()
        .route("/slack/commands", post(commands::handle))
        .route("/slack/events", post(events::handle))
        .route("/slack/interactions", post(interactions::handle))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// The Slack adapter's state when Slack is configured, with nothing started yet (no
/// catch-up, no call to Slack): a standby copy mounts its routes behind the lease.
pub fn build(config: &Config, db: Db) -> anyhow::Result<Option<SlackState>> {
    let (Some(bot_token), Some(signing_secret)) = (&config.slack_bot_token, &config.slack_signing_secret) else {
        return Ok(None);
    };
    let settings = config.file.settings(&config.file.slack)?;
    let options = SlackOptions {
        bot_token: bot_token.clone(),
        signing_secret: signing_secret.clone(),
        api_url: config.slack_api_url.clone(),
    };
    Ok(Some(SlackState::new(options, db, settings, Arc::new(SystemClock))?))
}
