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
use commands::web_edit::PostmortemView;
use commands::TagPicker;
use maud::{html, Markup};
use storage::{Platform, Postmortem, Status};

use super::auth::{signed_in, Session};
use super::layout::{self, severity_badge, status_text, time, Section};
use super::{parse_id, PageError, WebState};

async fn load(state: &WebState, viewer: &str, raw_id: &str) -> Result<PostmortemView, PageError> {
    let id = parse_id(raw_id)?;
    state
        .core()
        .postmortem_view(viewer, id)
        .await?
        .ok_or_else(|| PageError::NotFound(format!("INC-{id} does not exist.")))
}

/// The form's name of a field's "clear" box.
fn clear_name(key: &str) -> String {
    format!("clear_{key}")
}

/// `GET /incidents/{id}/postmortem`.
pub async fn document(State(state): State<WebState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let session = match signed_in(&state, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let PostmortemView { incident, postmortem: written, tags } = match load(&state, &session.user.user_id, &id).await {
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
        p { "Contributing-factor tags: " @if tags.selected.is_empty() { span.muted { "none yet" } } @else { strong { (tags.selected.join(", ")) } } }
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
        Ok(view) => {
            let values: HashMap<&str, String> =
                FIELDS.iter().filter_map(|f| view.postmortem.get(f.field).map(|v| (f.key, v.to_string()))).collect();
            let shown = Shown { values, written: &view.postmortem, tags: &view.tags.selected, not_posted: None };
            editor_page(&session, &view, &shown, None).into_response()
        }
        Err(error) => error.into_response(),
    }
}

/// What the editor shows besides the stored postmortem.
struct Shown<'a> {
    /// Each box's text.
    values: HashMap<&'static str, String>,
    /// What is stored (a "clear" box is offered for written fields).
    written: &'a Postmortem,
    /// The ticked tags.
    tags: &'a [String],
    /// Set after a save when the incident's platform is not running here: the platform.
    not_posted: Option<Platform>,
}

fn editor_page(
    session: &Session,
    view: &PostmortemView,
    shown: &Shown<'_>,
    outcome: Option<&commands::Outcome>,
) -> Response {
    let incident = &view.incident;
    let values = &shown.values;
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
        @if let Some(platform) = shown.not_posted {
            div.flash { p { "Saved here and on the timeline. " (layout::platform_name(platform)) " is not connected to this server, so nothing was posted to #" (incident.channel_name) "." } }
        }
        p.muted { "Describe what the system made easy or hard, not who slipped. Each field takes up to "
            (layout::thousands(MAX_WEB_POSTMORTEM_FIELD)) " characters. Every saved change is recorded on the timeline with your name. "
            "An emptied box keeps what is stored; "
            @if incident.status == Status::Closed { "the incident is closed, so its answers can be corrected but not cleared." }
            @else { "to remove an answer, tick its \"Clear\" box." } }
        form.editor method="post" action={ "/incidents/" (id) "/postmortem" } {
            input type="hidden" name="csrf" value=(session.csrf);
            input type="hidden" name="form_id" value=(form_id);
            @for field in &FIELDS {
                @let value = values.get(field.key).map(String::as_str).unwrap_or("");
                div.field {
                    label for=(field.key) { (field.label) }
                    p.question { (field.question) }
                    textarea id=(field.key) name=(field.key) maxlength=(MAX_WEB_POSTMORTEM_FIELD) { (value) }
                    // A closed incident keeps a complete postmortem: answers are corrected, not cleared.
                    @if shown.written.get(field.field).is_some() && incident.status != Status::Closed {
                        label.clear { input type="checkbox" name=(clear_name(field.key)) id=(clear_name(field.key)) value="1"; " Clear this answer when I save" }
                    }
                    (hint(field.label, value))
                    @if let Some(error) = field_errors.get(field.key) { p.overdue { (error) } }
                }
            }
            fieldset.tags {
                legend { (view.tags.label) }
                p.question { (view.tags.help) }
                // Always sent, so unticking every tag is a choice, not a missing field.
                input type="hidden" name=(TagPicker::KEY) value="";
                @for (tag, description) in &view.tags.options {
                    label.tag { input type="checkbox" name=(TagPicker::KEY) id={ "tag-" (tag) } value=(tag) checked[shown.tags.contains(tag)]; " " strong { (tag) } " " span.muted { (description) } }
                }
                @if let Some(error) = field_errors.get(TagPicker::KEY) { p.overdue { (error) } }
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

/// `POST /incidents/{id}/postmortem`. The form is read as pairs: the tag boxes repeat
/// one name.
pub async fn save(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let session = match signed_in(&state, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let one = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    if let Err(error) = session.check_csrf(one("csrf").unwrap_or("")) {
        return error.into_response();
    }
    let view = match load(&state, &session.user.user_id, &id).await {
        Ok(found) => found,
        Err(error) => return error.into_response(),
    };
    let Some(form_id) = one("form_id").filter(|f| f.len() == 64 && f.bytes().all(|b| b.is_ascii_hexdigit())) else {
        return PageError::BadRequest("The form is incomplete; reload the editor and try again.".into())
            .into_response();
    };
    let mut answers: Vec<(String, String)> =
        FIELDS.iter().filter_map(|f| one(f.key).map(|v| (f.key.to_string(), v.to_string()))).collect();
    let picked: Option<Vec<String>> = pairs
        .iter()
        .any(|(k, _)| k == TagPicker::KEY)
        .then(|| pairs.iter().filter(|(k, v)| k == TagPicker::KEY && !v.is_empty()).map(|(_, v)| v.clone()).collect());
    if let Some(tags) = &picked {
        answers.push((TagPicker::KEY.to_string(), tags.join(" ")));
    }
    let clear: Vec<String> =
        FIELDS.iter().filter(|f| one(&clear_name(f.key)) == Some("1")).map(|f| f.key.to_string()).collect();
    let incident = &view.incident;
    let core = state.core_for(incident.platform);
    let outcome = match core
        .save_postmortem_from_web(&format!("web:{form_id}"), &session.user.user_id, incident.id, answers, clear)
        .await
    {
        Ok(outcome) => outcome,
        Err(error) => return PageError::from(error).into_response(),
    };
    // Show what was typed after an error (nothing was saved); what is stored after a save.
    if outcome.is_error {
        let values = FIELDS.iter().filter_map(|f| one(f.key).map(|v| (f.key, v.to_string()))).collect();
        let tags = picked.unwrap_or_else(|| view.tags.selected.clone());
        let shown = Shown { values, written: &view.postmortem, tags: &tags, not_posted: None };
        return editor_page(&session, &view, &shown, Some(&outcome));
    }
    let saved = match load(&state, &session.user.user_id, &id).await {
        Ok(found) => found,
        Err(error) => return error.into_response(),
    };
    let values = FIELDS.iter().filter_map(|f| saved.postmortem.get(f.field).map(|v| (f.key, v.to_string()))).collect();
    let not_posted = (!state.runs_platform(incident.platform)).then_some(incident.platform);
    let shown = Shown { values, written: &saved.postmortem, tags: &saved.tags.selected, not_posted };
    editor_page(&session, &saved, &shown, Some(&outcome))
}

async fn export(state: &WebState, headers: &HeaderMap, raw_id: &str, markdown: bool) -> Response {
    let session = match signed_in(state, headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let id = match load(state, &session.user.user_id, raw_id).await {
        Ok(view) => view.incident.id,
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
