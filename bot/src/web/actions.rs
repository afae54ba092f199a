//! `GET /actions` (open action items grouped by owner, overdue first, with age and
//! incident) and `POST /actions/{id}` (done, won't fix, reassign, due date), which goes
//! through the core under chat's rules: the owner, the incident's commander or an admin.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use commands::web_edit::WebActionChange;
use maud::html;
use storage::Platform;

use super::auth::{signed_in, Session};
use super::layout::{self, person, Section};
use super::{PageError, WebState};

pub async fn list(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let session = match signed_in(&state, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    render(&state, &session, None, None).await
}

/// `not_posted` is the platform of an incident whose change posted nothing, because
/// that platform is not running here.
async fn render(
    state: &WebState,
    session: &Session,
    outcome: Option<&commands::Outcome>,
    not_posted: Option<Platform>,
) -> Response {
    let grouped = match state.core().open_actions_by_owner(&session.user.user_id).await {
        Ok(grouped) => grouped,
        Err(error) => return PageError::from(error).into_response(),
    };
    let form_id = match commands::web_auth::new_token() {
        Ok(token) => token,
        Err(error) => return PageError::from(error).into_response(),
    };
    let total: usize = grouped.iter().map(|(_, rows)| rows.len()).sum();
    let body = html! {
        h1 { "Open action items" }
        @if let Some(outcome) = outcome { (layout::flash(outcome)) }
        @if let Some(platform) = not_posted {
            div.flash { p { "Saved and on the incident's timeline. " (layout::platform_name(platform)) " is not connected to this server, so nothing was posted to the incident's channel." } }
        }
        p.muted { (total) " open, by owner; overdue first. The owner, the incident's commander or an admin may change an item." }
        @for (owner, rows) in &grouped {
            section.owner {
                h2 { (person(Some(owner))) " · " (rows.len()) }
                table {
                    thead { tr { th { "#" } th { "Action" } th { "Incident" } th { "Due" } th.num { "Age" } th.noprint { "Change" } } }
                    tbody {
                        @for row in rows {
                            tr id={ "action-" (row.item.id) } {
                                td { "#" (row.item.id) }
                                td.title-cell { (row.item.text) br; span.muted { (row.item.kind) " · " (row.item.priority) } }
                                td.title-cell { a href={ "/incidents/" (row.item.incident_id) } { "INC-" (row.item.incident_id) } " " (row.incident_title) }
                                td.date {
                                    (row.item.due)
                                    @if row.overdue_days > 0 { br; span.overdue { (commands::action_cmds::days_word(row.overdue_days)) " overdue" } }
                                }
                                td.num { (commands::action_cmds::days_word(row.age_days)) }
                                td.noprint {
                                    @for (verb, label) in [("done", "Done"), ("wontfix", "Won't fix")] {
                                        form.inline method="post" action={ "/actions/" (row.item.id) } {
                                            input type="hidden" name="csrf" value=(session.csrf);
                                            input type="hidden" name="form_id" value=(form_id);
                                            input type="hidden" name="change" value=(verb);
                                            button.plain type="submit" { (label) }
                                        }
                                    }
                                    form.inline method="post" action={ "/actions/" (row.item.id) } {
                                        input type="hidden" name="csrf" value=(session.csrf);
                                        input type="hidden" name="form_id" value=(form_id);
                                        input type="hidden" name="change" value="reassign";
                                        input type="text" name="value" placeholder="new owner" aria-label="New owner" maxlength="100";
                                        button.plain type="submit" { "Reassign" }
                                    }
                                    form.inline method="post" action={ "/actions/" (row.item.id) } {
                                        input type="hidden" name="csrf" value=(session.csrf);
                                        input type="hidden" name="form_id" value=(form_id);
                                        input type="hidden" name="change" value="due";
                                        input type="date" name="value" value=(row.item.due) aria-label="New due date";
                                        button.plain type="submit" { "Set due" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if grouped.is_empty() { p { "No open action items." } }
    };
    let status = if outcome.is_some_and(|o| o.is_error) { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    (status, layout::page("Action items", Section::Actions, &session.viewer(), body)).into_response()
}

pub async fn change(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let session = match signed_in(&state, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    if let Err(error) = session.check_csrf(form.get("csrf").map_or("", String::as_str)) {
        return error.into_response();
    }
    let Some(id) = id.parse::<i64>().ok().filter(|id| *id > 0) else {
        return PageError::NotFound("No such action item.".into()).into_response();
    };
    let value = form.get("value").cloned().unwrap_or_default();
    let change = match form.get("change").map(String::as_str) {
        Some("done") => WebActionChange::Done,
        Some("wontfix") => WebActionChange::Wontfix,
        Some("reassign") => WebActionChange::Reassign(value),
        Some("due") => WebActionChange::Due(value),
        _ => return PageError::BadRequest("Which change? Reload the page and try again.".into()).into_response(),
    };
    let Some(form_id) = form.get("form_id").filter(|f| f.len() == 64 && f.bytes().all(|b| b.is_ascii_hexdigit()))
    else {
        return PageError::BadRequest("The form is incomplete; reload the page and try again.".into()).into_response();
    };
    let platform = match state.core().action_incident(&session.user.user_id, id).await {
        Ok(Some(incident)) => incident.platform,
        Ok(None) => return PageError::NotFound(format!("Action item #{id} does not exist.")).into_response(),
        Err(error) => return PageError::from(error).into_response(),
    };
    // One source id per item and change kind of a rendered page: a resubmitted form is
    // recorded once.
    let verb = form.get("change").map_or("", String::as_str);
    let source = format!("web:{form_id}:{id}:{verb}");
    let core = state.core_for(platform);
    match core.change_action_from_web(&source, &session.user.user_id, id, change).await {
        Ok(outcome) => {
            let not_posted = (!outcome.is_error && !state.runs_platform(platform)).then_some(platform);
            render(&state, &session, Some(&outcome), not_posted).await
        }
        Err(error) => PageError::from(error).into_response(),
    }
}
