//! `POST /slack/events`: the Events API. Answers `url_verification`, and records the
//! timeline of incident channels: messages, edits, deletions, ⭐/📌 reactions and pins.
//!
//! Slack retries a delivery it did not see acknowledged, so each event is applied at
//! most once: its `event_id` is recorded after it was applied, and 200 is answered only
//! then (a failure answers 500, and Slack's retry applies it). The core's source ids
//! (`slack:<channel>:<ts>`) make the same message idempotent across event ids too.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use commands::{ChatMessage, CoreError, Ingested};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Serialize;
use serde_json::Value;

use super::ids::{message_source_id, parse_ts};
use super::{verify, SlackState};

/// Message subtypes that are a person saying something; every other subtype (joins,
/// topic changes, bot messages, …) is not part of the timeline.
pub const HUMAN_SUBTYPES: &[&str] = &["file_share", "thread_broadcast", "me_message"];

/// The headers this route reads, taken from the request without copying its header map.
pub struct SlackHeaders {
    timestamp: Option<HeaderValue>,
    signature: Option<HeaderValue>,
    retry: Option<HeaderValue>,
}

impl<S: Send + Sync> FromRequestParts<S> for SlackHeaders {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let header = |name: &str| parts.headers.get(name).cloned();
        Ok(SlackHeaders {
            timestamp: header("x-slack-request-timestamp"),
            signature: header("x-slack-signature"),
            retry: header("x-slack-retry-num"),
        })
    }
}

fn header_text(value: &Option<HeaderValue>) -> Option<&str> {
    value.as_ref().and_then(|v| v.to_str().ok())
}

/// `url_verification`'s answer.
#[derive(Serialize)]
struct Challenge<'a> {
    challenge: &'a str,
}

pub async fn handle(State(state): State<SlackState>, headers: SlackHeaders, body: Bytes) -> Response {
    if let Err(status) =
        verify::check_signed(&state, header_text(&headers.timestamp), header_text(&headers.signature), &body)
    {
        return status.into_response();
    }
    let Ok(envelope) = Envelope::parse(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    match envelope.kind.as_deref() {
        Some("url_verification") => {
            Json(Challenge { challenge: envelope.challenge.as_deref().unwrap_or_default() }).into_response()
        }
        Some("event_callback") => {
            let retry = header_text(&headers.retry).unwrap_or("0");
            callback(&state, &envelope, retry).await.into_response()
        }
        _ => StatusCode::OK.into_response(),
    }
}

async fn callback(state: &SlackState, envelope: &Envelope<'_>, retry: &str) -> StatusCode {
    let (Some(event_id), Some(event)) = (envelope.event_id.as_deref(), envelope.event.as_ref()) else {
        return StatusCode::BAD_REQUEST;
    };
    // A person's new message is keyed by its ts, which the timeline's unique source id
    // already deduplicates (also against catch-up), so it needs no event-id bookkeeping:
    // that saves a read and a second commit on the hottest path.
    if event.is_new_message() {
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

/// Applies one inner event to the core. Events it does not use, or that lack a field
/// it needs, are skipped (an error would only make Slack retry them).
pub async fn apply(state: &SlackState, event: &Event<'_>) -> Result<(), CoreError> {
    let core = &state.core;
    let event_time =
        || event.event_ts.as_deref().or(event.said.ts.as_deref()).and_then(parse_ts).unwrap_or_else(|| core.now());
    match event.kind.as_deref() {
        Some("message") => {
            let Some(channel) = event.channel.as_deref() else {
                return Ok(());
            };
            match event.subtype.as_deref() {
                None => store_said(state, channel, &event.said).await.map(|_| ()),
                Some(subtype) if HUMAN_SUBTYPES.contains(&subtype) => {
                    store_said(state, channel, &event.said).await.map(|_| ())
                }
                Some("message_changed") => {
                    let Some(message) = event.message.as_ref().filter(|m| m.is_from_person()) else {
                        return Ok(());
                    };
                    let (Some(ts), Some(text)) = (message.ts.as_deref(), message.text.as_deref()) else {
                        return Ok(());
                    };
                    // Slack also sends message_changed when it unfurls a link; the text is the same.
                    if event.previous_message.as_ref().and_then(|m| m.text.as_deref()) == Some(text) {
                        return Ok(());
                    }
                    core.message_edited(&message_source_id(channel, ts), text, event_time()).await.map(|_| ())
                }
                Some("message_deleted") => {
                    let Some(ts) = event.deleted_ts.as_deref() else {
                        return Ok(());
                    };
                    core.message_deleted(&message_source_id(channel, ts), event_time()).await.map(|_| ())
                }
                Some(_) => Ok(()),
            }
        }
        Some("reaction_added") => {
            let Some(item) = event.item.as_ref().filter(|i| i.kind.as_deref() == Some("message")) else {
                return Ok(());
            };
            let (Some(channel), Some(ts), Some(reaction)) =
                (item.channel.as_deref(), item.ts.as_deref(), event.reaction.as_deref())
            else {
                return Ok(());
            };
            core.reaction_added(&message_source_id(channel, ts), reaction).await.map(|_| ())
        }
        Some("pin_added") => {
            let Some(item) = event.item.as_ref().filter(|i| i.kind.as_deref() == Some("message")) else {
                return Ok(());
            };
            let channel = item.channel.as_deref().or(event.channel_id.as_deref());
            let ts = item.message.as_ref().and_then(|m| m.ts.as_deref()).or(item.ts.as_deref());
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
    store_said(state, channel, &Said::from_value(message)).await
}

async fn store_said(state: &SlackState, channel: &str, said: &Said<'_>) -> Result<Option<Ingested>, CoreError> {
    let Some(chat_message) = said.chat_message(channel) else {
        return Ok(None);
    };
    let ingested = state.core.message_posted_owned(chat_message).await?;
    if ingested == Ingested::Stored {
        crate::metrics::metrics().timeline_event_ingested();
    }
    Ok(Some(ingested))
}

/// The timeline message a Slack `message` payload in `channel` stands for; `None` when
/// it is not a person's message or lacks its user or timestamp.
pub fn chat_message(channel: &str, message: &Value) -> Option<ChatMessage> {
    Said::from_value(message).chat_message(channel)
}

// The payload, read field by field. Slack's Events API bodies carry much more than the
// timeline uses (blocks, team and app ids, authorizations…); only the fields below are
// decoded, as strings borrowed from the body unless an escape forces a copy. Reading
// follows what `serde_json::Value` accepts and what its `get(…).as_str()` would see: the
// same JSON is accepted or refused (every other value is still parsed in full, numbers
// and escapes included, just not kept), a field of another type than a string counts as
// absent, a repeated key keeps its last value, and a nested object that is not an object
// is present with no fields.

/// A request body of the Events API.
#[derive(Debug, Default)]
pub struct Envelope<'a> {
    kind: Option<Cow<'a, str>>,
    challenge: Option<Cow<'a, str>>,
    event_id: Option<Cow<'a, str>>,
    event: Option<Event<'a>>,
}

/// The `event` of an `event_callback`.
#[derive(Debug, Default)]
pub struct Event<'a> {
    kind: Option<Cow<'a, str>>,
    subtype: Option<Cow<'a, str>>,
    channel: Option<Cow<'a, str>>,
    channel_id: Option<Cow<'a, str>>,
    event_ts: Option<Cow<'a, str>>,
    deleted_ts: Option<Cow<'a, str>>,
    reaction: Option<Cow<'a, str>>,
    /// A `message` event is itself the message.
    said: Said<'a>,
    message: Option<Said<'a>>,
    previous_message: Option<Said<'a>>,
    item: Option<Item<'a>>,
}

/// The `item` of a reaction or a pin.
#[derive(Debug, Default)]
struct Item<'a> {
    kind: Option<Cow<'a, str>>,
    channel: Option<Cow<'a, str>>,
    ts: Option<Cow<'a, str>>,
    message: Option<Said<'a>>,
}

/// What a message says and who said it.
#[derive(Debug, Default)]
struct Said<'a> {
    /// A `bot_id` key is there (whatever its value): a bot posted it.
    has_bot_id: bool,
    user: Option<Cow<'a, str>>,
    ts: Option<Cow<'a, str>>,
    text: Option<Cow<'a, str>>,
}

impl<'a> Envelope<'a> {
    /// Reads a request body; `Err` exactly when it is not JSON.
    pub fn parse(body: &'a [u8]) -> Result<Envelope<'a>, serde_json::Error> {
        // Checked first so that invalid UTF-8 anywhere is refused, as parsing the whole
        // body into a `Value` would; the parser then need not check it again.
        let text = std::str::from_utf8(body).map_err(|_| <serde_json::Error as de::Error>::custom("invalid UTF-8"))?;
        serde_json::from_str::<Object<Envelope<'a>>>(text).map(|object| object.0)
    }
}

impl Event<'_> {
    /// A `message` event that adds a message (no subtype, or a subtype people post with).
    fn is_new_message(&self) -> bool {
        self.kind.as_deref() == Some("message")
            && self.subtype.as_deref().is_none_or(|subtype| HUMAN_SUBTYPES.contains(&subtype))
    }
}

impl Said<'_> {
    fn from_value(message: &Value) -> Said<'_> {
        // Reading a `Value` cannot fail: every JSON value is accepted.
        Object::<Said<'_>>::deserialize(message).map(|object| object.0).unwrap_or_default()
    }

    /// A message (or the `message` inside an edit) written by a person, not a bot.
    fn is_from_person(&self) -> bool {
        !self.has_bot_id && self.user.is_some()
    }

    fn chat_message(&self, channel: &str) -> Option<ChatMessage> {
        if !self.is_from_person() {
            return None;
        }
        let (user, ts) = (self.user.as_deref()?, self.ts.as_deref()?);
        let at = parse_ts(ts)?;
        Some(ChatMessage {
            source_id: message_source_id(channel, ts),
            channel_id: channel.to_string().into(),
            author: user.to_string(),
            text: self.text.as_deref().unwrap_or_default().to_string(),
            at,
        })
    }
}

/// The keys read anywhere in a payload; every other key is skipped.
enum Key {
    Type,
    Challenge,
    EventId,
    Event,
    Subtype,
    Channel,
    ChannelId,
    User,
    Ts,
    EventTs,
    DeletedTs,
    Text,
    Reaction,
    BotId,
    Message,
    PreviousMessage,
    Item,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(match key {
                    "type" => Key::Type,
                    "challenge" => Key::Challenge,
                    "event_id" => Key::EventId,
                    "event" => Key::Event,
                    "subtype" => Key::Subtype,
                    "channel" => Key::Channel,
                    "channel_id" => Key::ChannelId,
                    "user" => Key::User,
                    "ts" => Key::Ts,
                    "event_ts" => Key::EventTs,
                    "deleted_ts" => Key::DeletedTs,
                    "text" => Key::Text,
                    "reaction" => Key::Reaction,
                    "bot_id" => Key::BotId,
                    "message" => Key::Message,
                    "previous_message" => Key::PreviousMessage,
                    "item" => Key::Item,
                    _ => Key::Other,
                })
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// One level of the payload: what to do with the value under each key.
trait Fields<'de>: Default {
    fn read<A: MapAccess<'de>>(&mut self, key: Key, map: &mut A) -> Result<(), A::Error>;
}

impl<'de> Fields<'de> for Envelope<'de> {
    fn read<A: MapAccess<'de>>(&mut self, key: Key, map: &mut A) -> Result<(), A::Error> {
        match key {
            Key::Type => self.kind = text(map)?,
            Key::Challenge => self.challenge = text(map)?,
            Key::EventId => self.event_id = text(map)?,
            Key::Event => self.event = Some(object(map)?),
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl<'de> Fields<'de> for Event<'de> {
    fn read<A: MapAccess<'de>>(&mut self, key: Key, map: &mut A) -> Result<(), A::Error> {
        match key {
            Key::Type => self.kind = text(map)?,
            Key::Subtype => self.subtype = text(map)?,
            Key::Channel => self.channel = text(map)?,
            Key::ChannelId => self.channel_id = text(map)?,
            Key::EventTs => self.event_ts = text(map)?,
            Key::DeletedTs => self.deleted_ts = text(map)?,
            Key::Reaction => self.reaction = text(map)?,
            Key::Message => self.message = Some(object(map)?),
            Key::PreviousMessage => self.previous_message = Some(object(map)?),
            Key::Item => self.item = Some(object(map)?),
            key => self.said.read(key, map)?,
        }
        Ok(())
    }
}

impl<'de> Fields<'de> for Item<'de> {
    fn read<A: MapAccess<'de>>(&mut self, key: Key, map: &mut A) -> Result<(), A::Error> {
        match key {
            Key::Type => self.kind = text(map)?,
            Key::Channel => self.channel = text(map)?,
            Key::Ts => self.ts = text(map)?,
            Key::Message => self.message = Some(object(map)?),
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl<'de> Fields<'de> for Said<'de> {
    fn read<A: MapAccess<'de>>(&mut self, key: Key, map: &mut A) -> Result<(), A::Error> {
        match key {
            Key::BotId => {
                self.has_bot_id = true;
                skip(map)?;
            }
            Key::User => self.user = text(map)?,
            Key::Ts => self.ts = text(map)?,
            Key::Text => self.text = text(map)?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

fn text<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<Cow<'de, str>>, A::Error> {
    map.next_value::<Text<'de>>().map(|text| text.0)
}

fn object<'de, T: Fields<'de>, A: MapAccess<'de>>(map: &mut A) -> Result<T, A::Error> {
    map.next_value::<Object<T>>().map(|object| object.0)
}

fn skip<'de, A: MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    map.next_value::<Skip>().map(|_| ())
}

/// A JSON value read as one level of [`Fields`]; a value that is not an object has none.
struct Object<T>(T);

impl<'de, T: Fields<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(PhantomData<T>);
        impl<'de, T: Fields<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = Object<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut fields = T::default();
                while let Some(key) = map.next_key::<Key>()? {
                    fields.read(key, &mut map)?;
                }
                Ok(Object(fields))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                SkipVisitor.visit_seq(seq).map(|_| Object(T::default()))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Object(T::default()))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Object(T::default()))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Object(T::default()))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Object(T::default()))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Object(T::default()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Object(T::default()))
            }
        }
        deserializer.deserialize_any(ObjectVisitor(PhantomData))
    }
}

/// A JSON value kept when it is a string.
struct Text<'a>(Option<Cow<'a, str>>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Borrowed(text))))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(text.to_string()))))
            }
            fn visit_string<E: de::Error>(self, text: String) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(text))))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                SkipVisitor.visit_map(map).map(|_| Text(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                SkipVisitor.visit_seq(seq).map(|_| Text(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
        }
        deserializer.deserialize_any(TextVisitor)
    }
}

/// A JSON value parsed in full (as `Value` would parse it, so the same JSON is refused)
/// and dropped. Unlike serde's `IgnoredAny`, which lets serde_json skip over a value
/// without decoding its numbers and escapes.
struct Skip;

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = Skip;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(Skip)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Skip, E> {
        Ok(Skip)
    }
}

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SkipVisitor)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// What the handler sees of a body, read the old way: parsed into a `Value` and
    /// walked with `get(…).as_str()`.
    fn seen_through_value(body: &[u8]) -> Option<String> {
        let value = serde_json::from_slice::<Value>(body).ok()?;
        let text =
            |v: Option<&Value>, key: &str| v.and_then(|v| v.get(key)).and_then(Value::as_str).map(str::to_string);
        let said = |v: Option<&Value>| {
            v.map(|m| {
                format!(
                    "bot:{} user:{:?} ts:{:?} text:{:?}",
                    m.get("bot_id").is_some(),
                    text(Some(m), "user"),
                    text(Some(m), "ts"),
                    text(Some(m), "text")
                )
            })
        };
        let event = value.get("event");
        let item = event.and_then(|e| e.get("item"));
        Some(format!(
            "type:{:?} challenge:{:?} event_id:{:?} event:{} | type:{:?} subtype:{:?} channel:{:?} channel_id:{:?} event_ts:{:?} deleted_ts:{:?} reaction:{:?} said:{:?} message:{:?} previous:{:?} item:{:?}",
            text(Some(&value), "type"),
            text(Some(&value), "challenge"),
            text(Some(&value), "event_id"),
            event.is_some(),
            text(event, "type"),
            text(event, "subtype"),
            text(event, "channel"),
            text(event, "channel_id"),
            text(event, "event_ts"),
            text(event, "deleted_ts"),
            text(event, "reaction"),
            said(event),
            said(event.and_then(|e| e.get("message"))),
            said(event.and_then(|e| e.get("previous_message"))),
            item.map(|i| format!("type:{:?} channel:{:?} ts:{:?} message:{:?}", text(Some(i), "type"), text(Some(i), "channel"), text(Some(i), "ts"), said(i.get("message")))),
        ))
    }

    /// The same, read by [`Envelope::parse`].
    fn seen_typed(body: &[u8]) -> Option<String> {
        let envelope = Envelope::parse(body).ok()?;
        let text = |t: &Option<Cow<'_, str>>| t.as_deref().map(str::to_string);
        let said = |s: &Said<'_>| {
            format!("bot:{} user:{:?} ts:{:?} text:{:?}", s.has_bot_id, text(&s.user), text(&s.ts), text(&s.text))
        };
        let default = Event::default();
        let event = envelope.event.as_ref().unwrap_or(&default);
        let present = envelope.event.is_some();
        Some(format!(
            "type:{:?} challenge:{:?} event_id:{:?} event:{} | type:{:?} subtype:{:?} channel:{:?} channel_id:{:?} event_ts:{:?} deleted_ts:{:?} reaction:{:?} said:{:?} message:{:?} previous:{:?} item:{:?}",
            text(&envelope.kind),
            text(&envelope.challenge),
            text(&envelope.event_id),
            present,
            text(&event.kind),
            text(&event.subtype),
            text(&event.channel),
            text(&event.channel_id),
            text(&event.event_ts),
            text(&event.deleted_ts),
            text(&event.reaction),
            present.then(|| said(&event.said)),
            event.message.as_ref().map(said),
            event.previous_message.as_ref().map(said),
            event.item.as_ref().map(|i| format!("type:{:?} channel:{:?} ts:{:?} message:{:?}", text(&i.kind), text(&i.channel), text(&i.ts), i.message.as_ref().map(said))),
        ))
    }

    #[test]
    fn the_typed_reading_sees_what_a_value_sees() {
        let bodies: Vec<Vec<u8>> = [
            r#"{"type":"event_callback","event_id":"Ev1","team_id":"T1","event":{"type":"message","channel":"C1","user":"U1","ts":"1.000100","event_ts":"1.000100","text":"hello","blocks":[{"type":"rich_text","elements":[1,2.5,-3e10,true,null,{"a":[]}]}]}}"#,
            r#"{"type":"url_verification","challenge":"abc","token":"x"}"#,
            r#"{"type":"url_verification","challenge":7}"#,
            r#"{"type":5,"event_id":"Ev1","event":{}}"#,
            r#"{"type":"event_callback","event_id":"Ev1","event":null}"#,
            r#"{"type":"event_callback","event_id":"Ev1","event":"a string"}"#,
            r#"{"type":"event_callback","event_id":"Ev1","event":[1,{"type":"message"}]}"#,
            r#"{"type":"event_callback","event_id":"Ev1"}"#,
            r#"{"type":"event_callback","event":{"type":"message"}}"#,
            r#"{"type":"event_callback","event_id":"Ev1","event":{"type":"message","subtype":null,"bot_id":null,"user":"U1","ts":"1.1"}}"#,
            r#"{"type":"event_callback","event_id":"Ev1","event":{"type":"message","user":{"id":"U1"},"ts":1.5,"text":["no"]}}"#,
            r#"{"type":"event_callback","event_id":"Ev1","event":{"type":"message","user":"U1","user":"U2","ts":"1.1","text":"a","text":5}}"#,
            r#"{"type":"a","type":"event_callback","event_id":"Ev1","event":{"type":"message"},"event":{"type":"reaction_added"}}"#,
            r#"{"type":"event_callback","event_id":"Ev1","event":{"type":"message","user":"U1","ts":"1.1","text":"caf\u00e9 \"quoted\" \ud83d\udea8 \n line"}}"#,
            r#"{"ty\u0070e":"event_callback","event_id":"Ev\u0031","event":{"type":"message","text":"x"}}"#,
            r#"{"type":"event_callback","event_id":"Ev1","event":{"type":"message","subtype":"message_changed","channel":"C1","ts":"2.2","event_ts":"2.3","message":{"user":"U1","text":"new","ts":"1.1","bot_id":"B1"},"previous_message":{"text":"old"}}}"#,
            r#"{"type":"event_callback","event_id":"Ev1","event":{"type":"message","subtype":"message_changed","message":"not an object","previous_message":[1]}}"#,
            r#"{"type":"event_callback","event_id":"Ev1","event":{"type":"message","subtype":"message_deleted","channel":"C1","deleted_ts":"1.1"}}"#,
            r#"{"type":"event_callback","event_id":"Ev1","event":{"type":"reaction_added","reaction":"star","item":{"type":"message","channel":"C1","ts":"1.1"}}}"#,
            r#"{"type":"event_callback","event_id":"Ev1","event":{"type":"pin_added","channel_id":"C1","item":{"type":"message","message":{"ts":"1.1","user":"U1"}}}}"#,
            r#"{"type":"event_callback","event_id":"Ev1","event":{"type":"pin_added","item":null}}"#,
            r#"[1,2,3]"#,
            r#""just a string""#,
            r#"42"#,
            r#"null"#,
            // Refused either way: not JSON, trailing bytes, a number out of range or a lone
            // surrogate in a field nobody reads, too deep.
            r#"{"type":"event_callback","#,
            r#"{"type":"url_verification"} x"#,
            r#"{"type":"event_callback","event_id":"Ev1","event_time":1e400,"event":{}}"#,
            r#"{"type":"event_callback","event_id":"Ev1","event":{"blocks":"\ud800"}}"#,
            r#"{"type":"event_callback","event_id":"Ev1","event":{"text":"\x"}}"#,
            r#""#,
        ]
        .iter()
        .map(|b| b.as_bytes().to_vec())
        .chain([
            b"{\"type\":\"event_callback\",\"event_id\":\"Ev1\",\"event\":{\"text\":\"\xff\xfe\"}}".to_vec(),
            b"{\"type\":\"event_callback\",\"team\":\"\xc3\x28\",\"event\":{}}".to_vec(),
            format!("{}1{}", "[".repeat(200), "]".repeat(200)).into_bytes(),
            format!("{{\"type\":\"event_callback\",\"event\":{}1{}}}", "[".repeat(126), "]".repeat(126)).into_bytes(),
        ])
        .collect();
        for body in &bodies {
            assert_eq!(seen_typed(body), seen_through_value(body), "{}", String::from_utf8_lossy(body));
        }
        // The cases meant to be refused are refused (so the comparison above meant something).
        let refused = bodies.iter().filter(|body| seen_through_value(body).is_none()).count();
        assert_eq!(refused, 9);
    }

    #[test]
    fn strings_without_escapes_are_borrowed_from_the_body() {
        let body = br#"{"type":"event_callback","event_id":"Ev1","event":{"type":"message","user":"U1","ts":"1.1","text":"plain","channel":"C\u0031"}}"#;
        let envelope = Envelope::parse(body).unwrap();
        let event = envelope.event.unwrap();
        assert!(matches!(event.said.text, Some(Cow::Borrowed("plain"))));
        assert!(matches!(event.channel, Some(Cow::Owned(ref c)) if c == "C1"));
    }

    #[test]
    fn chat_messages_read_from_a_value_as_before() {
        let message = serde_json::json!({ "type": "message", "user": "U1", "ts": "1700000000.000200", "text": "hi" });
        let read = chat_message("C1", &message).unwrap();
        assert_eq!(
            (read.source_id.as_str(), read.author.as_str(), read.text.as_str()),
            ("slack:C1:1700000000.000200", "U1", "hi")
        );
        let mut from_bot = message.clone();
        from_bot["bot_id"] = Value::Null;
        assert!(chat_message("C1", &from_bot).is_none());
        let no_text = serde_json::json!({ "user": "U1", "ts": "1700000000.000200", "text": 5 });
        assert_eq!(chat_message("C1", &no_text).unwrap().text, "");
        assert!(chat_message("C1", &serde_json::json!({ "user": "U1" })).is_none());
        assert!(chat_message("C1", &serde_json::json!("text")).is_none());
    }
}
