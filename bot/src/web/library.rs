//! `GET /postmortems?q=…`: the library. Full-text search over every postmortem field and
//! key timeline event, best first, with the matched words highlighted: how a team
//! finds "have we seen this before?".

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use super::auth::signed_in;
use super::layout::{self, severity_badge, status_text, Section};
use super::{PageError, WebState};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SearchParams {
    pub q: String,
}

/// The longest query read, in characters.
const MAX_QUERY: usize = 200;

pub async fn search(State(state): State<WebState>, headers: HeaderMap, Query(params): Query<SearchParams>) -> Response {
    let session = match signed_in(&state, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let query: String = params.q.trim().chars().take(MAX_QUERY).collect();
    let found = if query.is_empty() {
        commands::pages::LibraryResults::default()
    } else {
        match state.core().search_library(&session.user.user_id, &query).await {
            Ok(found) => found,
            Err(error) => return PageError::from(error).into_response(),
        }
    };
    let results = &found.results;
    let body = html! {
        h1 { "Postmortem library" }
        form.filters method="get" action="/postmortems" role="search" {
            label { "Search every postmortem and key event"
                input type="search" name="q" id="q" value=(query) maxlength=(MAX_QUERY) placeholder="e.g. certificate expired" size="40";
            }
            button type="submit" id="search" { "Search" }
        }
        @if query.is_empty() {
            p.muted { "Words match whole and by stem (\u{201c}failing\u{201d} finds \u{201c}failed\u{201d}); every word must appear." }
        } @else if results.is_empty() {
            p { "Nothing matches " strong { (query) } ". Try fewer or other words." }
        } @else {
            p.muted { (results.len()) " match" @if results.len() != 1 { "es" } " for " strong { (query) }
                @if found.narrowed { ". So many match that these are the best of the newest " (layout::thousands(usize::try_from(storage::pages::RANKED_CANDIDATES).unwrap_or(0))) " postmortem answers and as many key events; add a word to narrow it." } }
            ol.hits {
                @for hit in results {
                    li {
                        @let target = if hit.part == "Key event" { format!("/incidents/{}", hit.incident.id) } else { format!("/incidents/{}/postmortem", hit.incident.id) };
                        a href=(target) { (hit.incident.reference()) ": " (hit.incident.title) }
                        " " (severity_badge(hit.incident.severity)) " " (status_text(hit.incident.status))
                        br;
                        span.muted { (hit.part) ": " }
                        @for part in &hit.snippet {
                            @if part.matched { mark { (part.text) } } @else { (part.text) }
                        }
                    }
                }
            }
        }
    };
    layout::page("Postmortem library", Section::Postmortems, &session.viewer(), body).into_response()
}
