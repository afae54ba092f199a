//! Signing in and out. A one-time link (`/incident web`, `incidentbot web-link`) opens
//! `GET /sign-in/{token}`, a page with one button; pressing it (`POST /sign-in`) uses
//! the link up and starts the session. The two steps keep link previews and prefetches
//! from spending a link. The session lives in an `HttpOnly`, `SameSite=Lax` cookie,
//! `Secure` when the public URL is https. Forms carry a CSRF token derived from it.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use commands::web_auth;
use maud::html;
use serde::Deserialize;
use storage::{LinkRefusal, WebUser};

use super::{layout, PageError, WebState};

const COOKIE: &str = "incidentbot_session";

/// A signed-in request.
pub struct Session {
    pub user: WebUser,
    pub token: String,
    pub csrf: String,
}

impl Session {
    pub fn viewer(&self) -> layout::Viewer<'_> {
        layout::Viewer { user: &self.user, csrf: &self.csrf }
    }

    /// Refuses a form that does not carry this session's CSRF token.
    pub fn check_csrf(&self, offered: &str) -> Result<(), PageError> {
        if web_auth::csrf_matches(&self.token, offered) {
            Ok(())
        } else {
            Err(PageError::BadRequest(
                "This form is out of date or did not come from these pages. Go back, reload, and try again.".into(),
            ))
        }
    }
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
}

/// The session of this request, or the page that says how to sign in.
pub async fn signed_in(state: &WebState, headers: &HeaderMap) -> Result<Session, Response> {
    let Some(token) = cookie_token(headers) else { return Err(sign_in_needed()) };
    match web_auth::session_user(state.db(), &token, state.core().now()).await {
        Ok(Some(user)) => Ok(Session { user, csrf: web_auth::csrf_token(&token), token }),
        Ok(None) => Err(sign_in_needed()),
        Err(error) => Err(PageError::from(error).into_response()),
    }
}

fn how_to_sign_in() -> maud::Markup {
    html! {
        p { "Type " code { "/incident web" } " in Slack, Discord or the console. The bot answers privately with a link that signs you in; it works once, for 10 minutes." }
        p.muted { "An admin can also print one: " code { "incidentbot web-link --user <id> --platform slack" } }
    }
}

fn sign_in_needed() -> Response {
    (StatusCode::UNAUTHORIZED, layout::bare("Sign in to see the incident pages", how_to_sign_in())).into_response()
}

fn link_refused(refusal: LinkRefusal) -> Response {
    let (title, why) = match refusal {
        LinkRefusal::Expired => ("This sign-in link has expired", "Links work for 10 minutes after they are made."),
        LinkRefusal::Used => ("This sign-in link was already used", "Each link signs in once."),
        LinkRefusal::Unknown => (
            "This sign-in link is not valid",
            "It may be cut short or mistyped; copy the whole link from the bot's message.",
        ),
    };
    let body = html! {
        p { strong { (why) } " No session was started." }
        p { "To get a new link:" }
        (how_to_sign_in())
    };
    (StatusCode::FORBIDDEN, layout::bare(title, body)).into_response()
}

/// `GET /sign-in/{token}`: says whose link it is and offers the button, or why not.
pub async fn sign_in_page(State(state): State<WebState>, Path(token): Path<String>) -> Response {
    match web_auth::check_link(state.db(), &token, state.core().now()).await {
        Ok(Ok(user)) => {
            let body = html! {
                p { "This link signs you in as " strong { (user.user_id) } " (" (user.platform) ")." }
                form method="post" action="/sign-in" {
                    input type="hidden" name="token" value=(token);
                    button type="submit" id="sign-in" { "Sign in" }
                }
            };
            layout::bare("Sign in to incidentbot", body).into_response()
        }
        Ok(Err(refusal)) => link_refused(refusal),
        Err(error) => PageError::from(error).into_response(),
    }
}

#[derive(Deserialize)]
pub struct SignInForm {
    token: String,
}

/// `POST /sign-in`: uses the link up and starts the session.
pub async fn sign_in(State(state): State<WebState>, Form(form): Form<SignInForm>) -> Response {
    match web_auth::redeem_link(state.db(), &form.token, state.core().now()).await {
        Ok(Ok(started)) => {
            let mut cookie = format!(
                "{COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}",
                started.token,
                web_auth::SESSION_MAX_AGE.num_seconds()
            );
            if state.inner.secure_cookies {
                cookie.push_str("; Secure");
            }
            tracing::info!(user = %started.user.user_id, platform = %started.user.platform, "web: signed in");
            let mut response = Redirect::to("/incidents").into_response();
            match HeaderValue::from_str(&cookie) {
                Ok(value) => {
                    response.headers_mut().insert(header::SET_COOKIE, value);
                    response
                }
                Err(error) => PageError::Internal(error.into()).into_response(),
            }
        }
        Ok(Err(refusal)) => link_refused(refusal),
        Err(error) => PageError::from(error).into_response(),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /sign-out`: ends the session and clears the cookie.
pub async fn sign_out(State(state): State<WebState>, headers: HeaderMap, Form(form): Form<CsrfForm>) -> Response {
    let session = match signed_in(&state, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    if let Err(error) = session.check_csrf(&form.csrf) {
        return error.into_response();
    }
    if let Err(error) = web_auth::end_session(state.db(), &session.token, state.core().now()).await {
        return PageError::from(error).into_response();
    }
    let mut response = layout::bare("You are signed out", how_to_sign_in()).into_response();
    let clear = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}
