//! Slack's request bodies: slash-command forms, interaction payloads (and the answers
//! read from a submitted view), and Events API message payloads. Any bytes decode or
//! are refused, without panicking.
#![no_main]

use bot::slack::{commands, events, form, interactions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = commands::decode(data);
    let _ = form::decode::<Vec<(String, String)>>(data);
    if let Some(payload) = interactions::decode_payload(data) {
        if let Some(view) = payload.get("view") {
            let _ = interactions::answers(view);
        }
    }
    if let Ok(envelope) = serde_json::from_slice::<serde_json::Value>(data) {
        let event = envelope.get("event").unwrap_or(&envelope);
        let channel = event.get("channel").and_then(|c| c.as_str()).unwrap_or("C1");
        let _ = events::chat_message(channel, event);
        if let Some(view) = envelope.get("view") {
            let _ = interactions::answers(view);
        }
    }
});
