//! The postmortem: `GET /incidents/{id}/postmortem` (the printable document, with the
//! Markdown and JSON exports beside it), `GET …/postmortem/edit` (one textarea per
//! field, the blameless hints next to the field they concern) and `POST
//! …/postmortem` (saves through the core: every changed field is a timeline entry).
//! The exports are the `export` command's, unchanged.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use commands::limits::MAX_WEB_POSTMORTEM_FIELD;
use commands::postmortem::FIELDS;
use maud::{html, Markup};
use storage::{Incident, Postmortem};

use super::auth::{signed_in, Session};
use super::layout::{self, severity_badge, status_text, time, Section};
use super::{parse_id, PageError, WebState};

async fn load(state: &WebState, viewer: &str, raw_id: &str) -> Result<(Incident, Postmortem), PageError> {
    let id = parse_id(raw_id)?;
    let incident = state
        .core()
        .visible_incident(viewer, id)
        .await?
        .ok_or_else(|| PageError::NotFound(format!("INC-{id} does not exist.")))?;
    let written = state.db().postmortem(id).await?.unwrap_or_default();
    Ok((incident, written))
}

/// `GET /incidents/{id}/postmortem`.
pub async fn document(State(state): State<WebState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let session = match signed_in(&state, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let (incident, written) = match load(&state, &session.user.user_id, &id).await {
        Ok(found) => found,
        Err(error) => return error.into_response(),
    };
    let tz = state.settings().timezone;
    let id = incident.id;
    let body = html! {
        p.muted.noprint { a href={ "/incidents/" (id) } { "← " (incident.reference()) } }
        h1 { "Postmortem " (incident.reference()) ": " (incident.title) }
        p {
            (severity_badge(incident.severity)) " " (status_text(incident.status))
            " · declared " (time(incident.declared_at, tz))
            @if let Some(resolved) = incident.resolved_at { " · resolved " (time(resolved, tz)) }
        }
        p.noprint {
            a.button href={ "/incidents/" (id) "/postmortem/edit" } id="edit" { "Edit" } " "
            a href={ "/incidents/" (id) "/postmortem.md" } { "Download Markdown" } " · "
            a href={ "/incidents/" (id) "/postmortem.json" } { "Download JSON" }
        }
        div.doc {
            @for field in &FIELDS {
                section {
                    h2 { (field.label) }
                    @match written.get(field.field) {
                        Some(answer) => div.answer { (answer) },
                        None => p.muted { "Not written yet." },
                    }
                }
            }
        }
    };
    let title = format!("Postmortem {}", incident.reference());
    layout::page(&title, Section::Postmortems, &session.viewer(), body).into_response()
}

/// `GET /incidents/{id}/postmortem/edit`.
pub async fn editor(State(state): State<WebState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let session = match signed_in(&state, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    match load(&state, &session.user.user_id, &id).await {
        Ok((incident, written)) => {
            let values: HashMap<&str, String> =
                FIELDS.iter().filter_map(|f| written.get(f.field).map(|v| (f.key, v.to_string()))).collect();
            editor_page(&session, &incident, &values, None).into_response()
        }
        Err(error) => error.into_response(),
    }
}

fn editor_page(
    session: &Session,
    incident: &Incident,
    values: &HashMap<&str, String>,
    outcome: Option<&commands::Outcome>,
) -> Response {
    let form_id = match commands::web_auth::new_token() {
        Ok(token) => token,
        Err(error) => return PageError::from(error).into_response(),
    };
    let field_errors: HashMap<&str, &str> =
        outcome.map(|o| o.field_errors.iter().map(|(k, e)| (*k, e.as_str())).collect()).unwrap_or_default();
    let id = incident.id;
    let body = html! {
        p.muted { a href={ "/incidents/" (id) "/postmortem" } { "← The postmortem of " (incident.reference()) } }
        h1 { "Write the postmortem of " (incident.reference()) ": " (incident.title) }
        @if let Some(outcome) = outcome { (layout::flash(outcome)) }
        p.muted { "Describe what the system made easy or hard, not who slipped. Each field takes up to "
            (MAX_WEB_POSTMORTEM_FIELD) " characters. Every saved change is recorded on the timeline with your name. An empty field stays as it was." }
        form.editor method="post" action={ "/incidents/" (id) "/postmortem" } {
            input type="hidden" name="csrf" value=(session.csrf);
            input type="hidden" name="form_id" value=(form_id);
            @for field in &FIELDS {
                @let value = values.get(field.key).map(String::as_str).unwrap_or("");
                div.field {
                    label for=(field.key) { (field.label) }
                    p.question { (field.question) }
                    textarea id=(field.key) name=(field.key) maxlength=(MAX_WEB_POSTMORTEM_FIELD) { (value) }
                    (hint(field.label, value))
                    @if let Some(error) = field_errors.get(field.key) { p.overdue { (error) } }
                }
            }
            button type="submit" id="save" { "Save" }
        }
    };
    let title = format!("Edit postmortem {}", incident.reference());
    let status = if outcome.is_some_and(|o| o.is_error) { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    (status, layout::page(&title, Section::Postmortems, &session.viewer(), body)).into_response()
}

/// The blameless hint for what a field says now, if it reads as blame.
fn hint(label: &str, value: &str) -> Markup {
    let signals = commands::blameless::blame_signals(value);
    html! {
        @if !signals.is_empty() { p.hint { (commands::blameless::hint(label, &signals)) } }
    }
}

/// `POST /incidents/{id}/postmortem`.
pub async fn save(
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
    let (incident, _) = match load(&state, &session.user.user_id, &id).await {
        Ok(found) => found,
        Err(error) => return error.into_response(),
    };
    let Some(form_id) = form.get("form_id").filter(|f| f.len() == 64 && f.bytes().all(|b| b.is_ascii_hexdigit()))
    else {
        return PageError::BadRequest("The form is incomplete; reload the editor and try again.".into())
            .into_response();
    };
    let answers: Vec<(String, String)> =
        FIELDS.iter().filter_map(|f| form.get(f.key).map(|v| (f.key.to_string(), v.clone()))).collect();
    let core = state.core_for(incident.platform);
    let outcome = match core
        .save_postmortem_from_web(&format!("web:{form_id}"), &session.user.user_id, incident.id, answers.clone())
        .await
    {
        Ok(outcome) => outcome,
        Err(error) => return PageError::from(error).into_response(),
    };
    // Show what was typed after an error (nothing was saved); what is stored after a save.
    let values: HashMap<&str, String> = if outcome.is_error {
        FIELDS.iter().filter_map(|f| form.get(f.key).map(|v| (f.key, v.clone()))).collect()
    } else {
        let written = state.db().postmortem(incident.id).await.ok().flatten().unwrap_or_default();
        FIELDS.iter().filter_map(|f| written.get(f.field).map(|v| (f.key, v.to_string()))).collect()
    };
    editor_page(&session, &incident, &values, Some(&outcome))
}

async fn export(state: &WebState, headers: &HeaderMap, raw_id: &str, markdown: bool) -> Response {
    let session = match signed_in(state, headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let id = match load(state, &session.user.user_id, raw_id).await {
        Ok((incident, _)) => incident.id,
        Err(error) => return error.into_response(),
    };
    let record = match commands::export::IncidentRecord::load(state.db(), id).await {
        Ok(Some(record)) => record,
        Ok(None) => return PageError::NotFound(format!("INC-{id} does not exist.")).into_response(),
        Err(error) => return PageError::from(error).into_response(),
    };
    let (body, kind, ext) = if markdown {
        (record.to_markdown(state.settings().timezone), "text/markdown; charset=utf-8", "md")
    } else {
        (record.to_json(), "application/json", "json")
    };
    let disposition = format!("attachment; filename=\"INC-{id}-postmortem.{ext}\"");
    ([(header::CONTENT_TYPE, kind.to_string()), (header::CONTENT_DISPOSITION, disposition)], body).into_response()
}

/// `GET /incidents/{id}/postmortem.md`: the Markdown export.
pub async fn markdown(State(state): State<WebState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    export(&state, &headers, &id, true).await
}

/// `GET /incidents/{id}/postmortem.json`: the JSON export.
pub async fn json(State(state): State<WebState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    export(&state, &headers, &id, false).await
}
