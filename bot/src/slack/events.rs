//! `POST /slack/events`: the Events API. Answers `url_verification`, and records the
//! timeline of incident channels: messages, edits, deletions, ⭐/📌 reactions and pins.
//!
//! Slack retries a delivery it did not see acknowledged, so each event is applied at
//! most once: its `event_id` is recorded after it was applied, and 200 is answered only
//! then (a failure answers 500, and Slack's retry applies it). The core's source ids
//! (`slack:<channel>:<ts>`) make the same message idempotent across event ids too.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use commands::{ChatMessage, CoreError, Ingested};
use serde_json::{json, Value};

use super::ids::{message_source_id, parse_ts};
use super::{verify, SlackState};

/// Message subtypes that are a person saying something; every other subtype (joins,
/// topic changes, bot messages, …) is not part of the timeline.
pub const HUMAN_SUBTYPES: &[&str] = &["file_share", "thread_broadcast", "me_message"];

pub async fn handle(State(state): State<SlackState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(status) = verify::check(&state, &headers, &body) {
        return status.into_response();
    }
    let Ok(envelope) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    match envelope.get("type").and_then(Value::as_str) {
        Some("url_verification") => {
            let challenge = envelope.get("challenge").and_then(Value::as_str).unwrap_or_default();
            Json(json!({ "challenge": challenge })).into_response()
        }
        Some("event_callback") => {
            let retry = headers.get("x-slack-retry-num").and_then(|v| v.to_str().ok()).unwrap_or("0");
            callback(&state, &envelope, retry).await.into_response()
        }
        _ => StatusCode::OK.into_response(),
    }
}

async fn callback(state: &SlackState, envelope: &Value, retry: &str) -> StatusCode {
    let (Some(event_id), Some(event)) = (envelope.get("event_id").and_then(Value::as_str), envelope.get("event"))
    else {
        return StatusCode::BAD_REQUEST;
    };
    // A person's new message is keyed by its ts, which the timeline's unique source id
    // already deduplicates (also against catch-up), so it needs no event-id bookkeeping:
    // that saves a read and a second commit on the hottest path.
    if is_new_message(event) {
        return match apply(state, event).await {
            Ok(()) => StatusCode::OK,
            Err(error) => {
                tracing::error!(%error, event_id, retry, "Slack event failed; Slack will retry it");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
    }
    let source = storage::EventSource::slack();
    let _one_event_at_a_time = state.events_lock.lock().await;
    match state.core.inbound_seen(&source, event_id).await {
        Ok(true) => {
            tracing::debug!(event_id, retry, "event already processed");
            return StatusCode::OK;
        }
        Ok(false) => {}
        Err(error) => {
            tracing::error!(%error, event_id, "cannot check a Slack event id");
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
    }
    if let Err(error) = apply(state, event).await {
        tracing::error!(%error, event_id, retry, "Slack event failed; Slack will retry it");
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    if let Err(error) = state.core.record_inbound(&source, event_id).await {
        // Applied but not recorded: the retry is applied again, harmlessly, by source id.
        tracing::error!(%error, event_id, "cannot record a processed Slack event");
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    StatusCode::OK
}

/// A `message` event that adds a message (no subtype, or a subtype people post with).
fn is_new_message(event: &Value) -> bool {
    text_at(event, "type") == Some("message")
        && text_at(event, "subtype").is_none_or(|subtype| HUMAN_SUBTYPES.contains(&subtype))
}

fn text_at<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

/// A message (or the `message` inside an edit) written by a person, not a bot.
fn from_person(message: &Value) -> bool {
    message.get("bot_id").is_none() && text_at(message, "user").is_some()
}

/// Applies one inner event to the core. Events it does not use, or that lack a field
/// it needs, are skipped (an error would only make Slack retry them).
pub async fn apply(state: &SlackState, event: &Value) -> Result<(), CoreError> {
    let core = &state.core;
    let event_time =
        || text_at(event, "event_ts").or(text_at(event, "ts")).and_then(parse_ts).unwrap_or_else(|| core.now());
    match text_at(event, "type") {
        Some("message") => {
            let Some(channel) = text_at(event, "channel") else {
                return Ok(());
            };
            match text_at(event, "subtype") {
                None => store_message(state, channel, event).await.map(|_| ()),
                Some(subtype) if HUMAN_SUBTYPES.contains(&subtype) => {
                    store_message(state, channel, event).await.map(|_| ())
                }
                Some("message_changed") => {
                    let Some(message) = event.get("message").filter(|m| from_person(m)) else {
                        return Ok(());
                    };
                    let (Some(ts), Some(text)) = (text_at(message, "ts"), text_at(message, "text")) else {
                        return Ok(());
                    };
                    // Slack also sends message_changed when it unfurls a link; the text is the same.
                    if event.get("previous_message").and_then(|m| text_at(m, "text")) == Some(text) {
                        return Ok(());
                    }
                    core.message_edited(&message_source_id(channel, ts), text, event_time()).await.map(|_| ())
                }
                Some("message_deleted") => {
                    let Some(ts) = text_at(event, "deleted_ts") else {
                        return Ok(());
                    };
                    core.message_deleted(&message_source_id(channel, ts), event_time()).await.map(|_| ())
                }
                Some(_) => Ok(()),
            }
        }
        Some("reaction_added") => {
            let Some(item) = event.get("item").filter(|i| text_at(i, "type") == Some("message")) else {
                return Ok(());
            };
            let (Some(channel), Some(ts), Some(reaction)) =
                (text_at(item, "channel"), text_at(item, "ts"), text_at(event, "reaction"))
            else {
                return Ok(());
            };
            core.reaction_added(&message_source_id(channel, ts), reaction).await.map(|_| ())
        }
        Some("pin_added") => {
            let Some(item) = event.get("item").filter(|i| text_at(i, "type") == Some("message")) else {
                return Ok(());
            };
            let channel = text_at(item, "channel").or(text_at(event, "channel_id"));
            let ts = item.get("message").and_then(|m| text_at(m, "ts")).or(text_at(item, "ts"));
            let (Some(channel), Some(ts)) = (channel, ts) else {
                return Ok(());
            };
            core.mark_key(&message_source_id(channel, ts)).await.map(|_| ())
        }
        _ => Ok(()),
    }
}

/// Stores a person's message (live or from catch-up) in its incident's timeline.
/// `None` when it is not a person's message.
pub async fn store_message(state: &SlackState, channel: &str, message: &Value) -> Result<Option<Ingested>, CoreError> {
    let Some(chat_message) = chat_message(channel, message) else {
        return Ok(None);
    };
    let ingested = state.core.message_posted(&chat_message).await?;
    if ingested == Ingested::Stored {
        crate::metrics::metrics().timeline_event_ingested();
    }
    Ok(Some(ingested))
}

/// The timeline message a Slack `message` payload in `channel` stands for; `None` when
/// it is not a person's message or lacks its user or timestamp.
pub fn chat_message(channel: &str, message: &Value) -> Option<ChatMessage> {
    if !from_person(message) {
        return None;
    }
    let (user, ts) = (text_at(message, "user")?, text_at(message, "ts")?);
    let at = parse_ts(ts)?;
    Some(ChatMessage {
        source_id: message_source_id(channel, ts),
        channel_id: channel.to_string(),
        author: user.to_string(),
        text: text_at(message, "text").unwrap_or_default().to_string(),
        at,
    })
}
