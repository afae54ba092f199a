//! The web pages, served on `serve`'s port: server-rendered HTML that works without
//! JavaScript. Every page reads through the core and every edit goes through it, under
//! the same rules as chat.
//!
//! - [`auth`] signs people in with one-time links, keeps the session cookie, checks
//!   CSRF tokens and signs out.
//! - [`layout`] is the page shell, the stylesheet (compiled into the binary) and the
//!   rendering of the core's messages.
//! - [`incidents`] is the list and one incident's page; [`postmortem`] the document, its
//!   exports and the editor; [`library`] the full-text search; [`actions`] open action
//!   items by owner; [`insights`] the charts, drawn by [`charts`].
//! - [`detached`] is the chat the pages' own core uses for incidents whose platform is
//!   not running here.
//!
//! Templates are maud: compiled into the binary (it stays one file), checked by the
//! compiler, and every interpolated value is HTML-escaped unless marked otherwise.

pub mod actions;
pub mod auth;
pub mod charts;
pub mod detached;
pub mod incidents;
pub mod insights;
pub mod layout;
pub mod library;
pub mod postmortem;

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use commands::{Core, Settings};
use storage::{Db, Platform};

/// What every page handler reaches.
#[derive(Clone)]
pub struct WebState {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    /// Reads every page, and edits incidents of platforms not running in this process.
    reader: Arc<Core>,
    /// Each running platform's core, so an edit posts to the incident's own channel.
    cores: RwLock<HashMap<Platform, Arc<Core>>>,
    /// Whether the cookie is `Secure` (the public URL is https).
    secure_cookies: bool,
    /// For links to a Discord channel.
    discord_guild: Option<u64>,
}

impl WebState {
    pub fn new(db: Db, settings: Settings, secure_cookies: bool, discord_guild: Option<u64>) -> Self {
        let reader = Arc::new(Core::new(
            db.clone(),
            Arc::new(detached::DetachedChat),
            Arc::new(commands::SystemClock),
            settings,
        ));
        Self::with_reader(db, reader, secure_cookies, discord_guild)
    }

    /// With a given core for reading (tests pass one on a manual clock).
    pub fn with_reader(db: Db, reader: Arc<Core>, secure_cookies: bool, discord_guild: Option<u64>) -> Self {
        WebState { inner: Arc::new(Inner { db, reader, cores: RwLock::default(), secure_cookies, discord_guild }) }
    }

    /// Makes edits of this platform's incidents go through its own core.
    pub fn register_platform(&self, platform: Platform, core: Arc<Core>) {
        self.inner.cores.write().unwrap_or_else(PoisonError::into_inner).insert(platform, core);
    }

    pub(crate) fn db(&self) -> &Db {
        &self.inner.db
    }

    pub(crate) fn core(&self) -> &Core {
        &self.inner.reader
    }

    /// The core that edits an incident of `platform`.
    pub(crate) fn core_for(&self, platform: Platform) -> Arc<Core> {
        self.inner
            .cores
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&platform)
            .cloned()
            .unwrap_or_else(|| self.inner.reader.clone())
    }

    /// Whether `platform` runs in this process, so an edit of its incidents posts to
    /// their channels (otherwise the edit is saved and on the timeline only).
    pub(crate) fn runs_platform(&self, platform: Platform) -> bool {
        self.inner.cores.read().unwrap_or_else(PoisonError::into_inner).contains_key(&platform)
    }

    pub(crate) fn settings(&self) -> &Settings {
        self.inner.reader.settings()
    }
}

/// Every page route, with the security headers on each response.
pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/incidents") }))
        .route("/static/style.css", get(layout::stylesheet))
        .route("/sign-in/{token}", get(auth::sign_in_page))
        .route("/sign-in", post(auth::sign_in))
        .route("/sign-out", post(auth::sign_out))
        .route("/incidents", get(incidents::list))
        .route("/incidents/{id}", get(incidents::page))
        .route("/incidents/{id}/postmortem", get(postmortem::document).post(postmortem::save))
        .route("/incidents/{id}/postmortem/edit", get(postmortem::editor))
        .route("/incidents/{id}/postmortem.md", get(postmortem::markdown))
        .route("/incidents/{id}/postmortem.json", get(postmortem::json))
        .route("/postmortems", get(library::search))
        .route("/actions", get(actions::list))
        .route("/actions/{id}", post(actions::change))
        .route("/insights", get(insights::page))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(state)
}

/// The largest form accepted: ten postmortem fields of 20,000 characters, each up to
/// four bytes, with room for the encoding.
const MAX_FORM_BYTES: usize = 2 * 1024 * 1024;

/// No script runs but our own (and we ship none), nothing frames the pages, and
/// nothing leaks a sign-in link through the Referer.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// What a page handler fails with: a page saying so. Internal details go to the log.
pub enum PageError {
    NotFound(String),
    BadRequest(String),
    Internal(anyhow::Error),
}

impl From<commands::CoreError> for PageError {
    fn from(error: commands::CoreError) -> Self {
        PageError::Internal(error.into())
    }
}

impl From<storage::StorageError> for PageError {
    fn from(error: storage::StorageError) -> Self {
        PageError::Internal(error.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, text) = match self {
            PageError::NotFound(what) => (StatusCode::NOT_FOUND, "Not found", what),
            PageError::BadRequest(what) => (StatusCode::BAD_REQUEST, "That did not work", what),
            PageError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "web page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The page could not be built; it was logged. Please try again.".to_string(),
                )
            }
        };
        (status, layout::bare_page(title, &text)).into_response()
    }
}

/// A path id: digits only, as `/incidents/{id}` takes it.
pub(crate) fn parse_id(raw: &str) -> Result<i64, PageError> {
    raw.parse::<i64>().ok().filter(|id| *id > 0 && raw.len() <= commands::limits::MAX_ID_DIGITS).ok_or_else(|| {
        PageError::NotFound(format!("`{}` is not an incident number.", commands::format::truncate(raw, 40).0))
    })
}
