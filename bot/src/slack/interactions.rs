//! `POST /slack/interactions`: modal submissions and button presses.
//!
//! - `view_submission` (declare and postmortem modals): the core gets a moment to
//!   answer, so its per-field errors can go back as `response_action: errors` and keep
//!   the modal open. Work that outlives that moment (a declare waiting on Slack) keeps
//!   running and replies privately when done.
//! - `block_actions` (Acknowledge, Write postmortem, Mark done, Snooze): committed to
//!   the inbox and answered at once; the core runs in the background and may open a
//!   modal with the `trigger_id`.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use commands::{ButtonAction, FormKind, FormSubmission, Outcome};
use serde::Deserialize;
use serde_json::{json, Value};

use super::inbox::{self, Pending};
use super::reply::{self, ReplyTo};
use super::{form, limits};
use super::{verify, SlackState};

/// How long a modal submission waits for the core before closing the modal anyway;
/// well inside Slack's 3 seconds.
const SUBMISSION_BUDGET: Duration = Duration::from_millis(2000);

#[derive(Deserialize)]
struct Envelope {
    payload: String,
}

pub async fn handle(State(state): State<SlackState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(status) = verify::check(&state, &headers, &body) {
        return status.into_response();
    }
    let Some(payload) = decode_payload(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    match payload.get("type").and_then(Value::as_str) {
        Some("view_submission") => view_submission(&state, &payload).await,
        Some("block_actions") => block_actions(&state, &payload).await,
        _ => StatusCode::OK.into_response(),
    }
}

/// The JSON `payload` of an interaction body; `None` when the form is not UTF-8 or the
/// payload is not JSON.
pub fn decode_payload(body: &[u8]) -> Option<Value> {
    form::decode::<Envelope>(body).ok().and_then(|envelope| serde_json::from_str::<Value>(&envelope.payload).ok())
}

fn text_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

/// `(block_id, value)` of every input in a submitted view, in block order.
pub fn answers(view: &Value) -> Vec<(String, String)> {
    let order: Vec<&str> = view
        .get("blocks")
        .and_then(Value::as_array)
        .map(|blocks| blocks.iter().filter_map(|b| text_at(b, "/block_id")).collect())
        .unwrap_or_default();
    let Some(values) = view.pointer("/state/values").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut found: BTreeMap<&str, String> = BTreeMap::new();
    for (block_id, actions) in values {
        let action = actions.as_object().and_then(|actions| actions.values().next());
        let value = match action.and_then(|action| action.get("selected_options")).and_then(Value::as_array) {
            // A multi-select (the factor tags): its values, separated by spaces. None
            // chosen is an answer too: the incident's tags are cleared.
            Some(selected) => {
                selected.iter().filter_map(|o| o.get("value").and_then(Value::as_str)).collect::<Vec<_>>().join(" ")
            }
            None => {
                action.and_then(|action| action.get("value")).and_then(Value::as_str).unwrap_or_default().to_string()
            }
        };
        found.insert(block_id, value);
    }
    let mut answers: Vec<(String, String)> = Vec::new();
    for block_id in order {
        if let Some(value) = found.remove(block_id) {
            answers.push((block_id.to_string(), value));
        }
    }
    answers.extend(found.into_iter().map(|(k, v)| (k.to_string(), v)));
    answers
}

/// `response_action: errors` for a refused submission, or `None` to close the modal.
/// `refusal` is the reply as plain text with display names (modal errors take no
/// mentions).
fn errors_answer(outcome: &Outcome, first_block: Option<&str>, refusal: Option<String>) -> Option<Value> {
    let mut errors = serde_json::Map::new();
    for (key, message) in &outcome.field_errors {
        errors.insert((*key).to_string(), json!(message));
    }
    if errors.is_empty() && outcome.is_error {
        // A refusal about the whole form (e.g. not the commander): shown on the first
        // input so the answers are not lost by closing the modal.
        let text = refusal.unwrap_or_else(|| "This was refused.".into());
        errors.insert(first_block?.to_string(), json!(limits::fit(&text, MODAL_ERROR)));
    }
    (!errors.is_empty()).then(|| json!({ "response_action": "errors", "errors": errors }))
}

/// The longest error shown under a modal input.
const MODAL_ERROR: usize = 1000;

async fn view_submission(state: &SlackState, payload: &Value) -> Response {
    let view = payload.get("view").cloned().unwrap_or_default();
    let (Some(kind), Some(view_id), Some(user)) = (
        text_at(&view, "/callback_id").and_then(FormKind::decode),
        text_at(&view, "/id"),
        text_at(payload, "/user/id"),
    ) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let mut to = text_at(&view, "/private_metadata").and_then(ReplyTo::from_metadata).unwrap_or_default();
    to.user = user.to_string();
    let submission = FormSubmission {
        // One modal is one request: a resubmission after errors wrote nothing before.
        source_id: format!("slack:view:{view_id}").into(),
        user: user.to_string(),
        channel_id: to.channel.clone().into(),
        kind,
        answers: answers(&view),
    };
    let first_block = submission.answers.first().map(|(key, _)| key.clone());
    let worker = state.clone();
    let mut running = state.tasks.spawn(async move { worker.core.submit_form(&submission).await });
    match tokio::time::timeout(SUBMISSION_BUDGET, &mut running).await {
        Ok(Ok(result)) => {
            if let Ok(outcome) = &result {
                let refusal = match (&outcome.reply, outcome.is_error && outcome.field_errors.is_empty()) {
                    (Some(reply), true) => Some(state.chat.plain_with_names(reply).await),
                    _ => None,
                };
                if let Some(errors) = errors_answer(outcome, first_block.as_deref(), refusal) {
                    return Json(errors).into_response();
                }
            }
            let worker = state.clone();
            state.tasks.spawn(async move { reply::deliver(&worker, &to, None, result).await });
        }
        Ok(Err(join_error)) => {
            tracing::error!(%join_error, "a modal submission task failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        Err(_still_running) => {
            let worker = state.clone();
            state.tasks.spawn(async move {
                match running.await {
                    Ok(result) => reply::deliver(&worker, &to, None, result).await,
                    Err(join_error) => {
                        tracing::error!(%join_error, "a modal submission task failed")
                    }
                }
            });
        }
    }
    // An empty 200 closes the modal.
    StatusCode::OK.into_response()
}

/// Each press of one of our buttons is committed to the inbox before the 200, then
/// run in the background (see [`inbox`](super::inbox)).
async fn block_actions(state: &SlackState, payload: &Value) -> Response {
    let Some(user) = text_at(payload, "/user/id") else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let channel = text_at(payload, "/channel/id").or(text_at(payload, "/container/channel_id")).unwrap_or_default();
    let trigger_id = text_at(payload, "/trigger_id").map(str::to_string);
    let to = ReplyTo {
        user: user.to_string(),
        channel: channel.to_string(),
        response_url: text_at(payload, "/response_url").map(str::to_string),
    };
    let actions = payload.get("actions").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut accepted = Vec::new();
    for action in actions {
        let Some(action_id) = text_at(&action, "/action_id") else {
            continue;
        };
        if ButtonAction::decode(action_id).is_none() {
            tracing::debug!(action_id, "not one of our buttons");
            continue;
        }
        let unique =
            trigger_id.clone().or_else(|| text_at(&action, "/action_ts").map(str::to_string)).unwrap_or_default();
        let source_id: commands::SourceId = format!("slack:action:{unique}:{action_id}").into();
        let pending =
            Pending::Button { action_id: action_id.to_string(), to: to.clone(), trigger_id: trigger_id.clone() };
        match inbox::accept(state, &source_id, &pending).await {
            Ok(true) => accepted.push((source_id, pending)),
            Ok(false) => {}
            Err(error) => {
                tracing::error!(%error, "could not commit a button press to the inbox");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        }
    }
    let received_at = state.wall_clock.now();
    for (source_id, pending) in accepted {
        let worker = state.clone();
        state.tasks.spawn(async move { inbox::process(&worker, source_id, pending, received_at, false).await });
    }
    StatusCode::OK.into_response()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use commands::Message;

    #[test]
    fn answers_follow_block_order() {
        let view = json!({
            "blocks": [{ "block_id": "title" }, { "block_id": "severity" }],
            "state": { "values": {
                "severity": { "severity": { "type": "plain_text_input", "value": "sev1" } },
                "title": { "title": { "type": "plain_text_input", "value": "DB down" } },
                "description": { "description": { "type": "plain_text_input", "value": null } }
            } }
        });
        assert_eq!(
            answers(&view),
            vec![
                ("title".to_string(), "DB down".to_string()),
                ("severity".to_string(), "sev1".to_string()),
                ("description".to_string(), String::new()),
            ]
        );
    }

    #[test]
    fn errors_go_to_their_fields_or_the_first_one() {
        let outcome = Outcome { field_errors: vec![("title", "Needs a title.".into())], ..Outcome::default() };
        assert_eq!(errors_answer(&outcome, Some("title"), None).unwrap()["errors"]["title"], "Needs a title.");
        let refused = Outcome::error(Message::plain("Only the commander may."));
        let text = Some("Only the commander may.".to_string());
        assert_eq!(
            errors_answer(&refused, Some("summary"), text).unwrap()["errors"]["summary"],
            "Only the commander may."
        );
        assert!(errors_answer(&Outcome::reply(Message::plain("Saved.")), Some("summary"), None).is_none());
    }
}
