//! A fake Discord gateway: a websocket server on 127.0.0.1 that speaks the part of the
//! gateway protocol serenity needs to connect and take events. Every connection gets
//! HELLO (op 10); an IDENTIFY (op 2) is answered with the READY dispatch (op 0, `READY`)
//! naming the bot's user, its one guild and its application; heartbeats (op 1) are
//! acknowledged (op 11); a RESUME (op 6) is refused as an invalid session (op 9), so the
//! client identifies again. The test pushes dispatches (`INTERACTION_CREATE`,
//! `GUILD_CREATE`, …) to the connection that identified last, with the sequence numbers
//! counting up per connection as Discord's do.
//!
//! A bot that is killed and started again simply connects again and gets READY again.
//! Frames are plain text: IDENTIFY's `compress` asks for compressed payloads, which a
//! server may ignore, and serenity reads text frames too.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::discord_support::{APP, GUILD};
use crate::process_support::eventually;

/// How often the client is told to heartbeat: short, so a test of a few seconds sees
/// heartbeats go both ways.
const HEARTBEAT_INTERVAL_MS: u64 = 2_000;

#[derive(Debug, Default)]
struct State {
    /// IDENTIFY payloads received, in order (one per connection that identified).
    identifies: Vec<Value>,
    /// RESUMEs received (each refused).
    resumes: usize,
    /// Heartbeats acknowledged.
    heartbeats: usize,
    /// Where dispatches go: the connection that identified last, while it is open.
    current: Option<mpsc::UnboundedSender<(String, Value)>>,
}

/// A running fake gateway; it stops with the test's runtime.
#[derive(Clone)]
pub struct FakeGateway {
    /// `ws://127.0.0.1:PORT`, what `GET /gateway/bot` must name.
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl FakeGateway {
    pub async fn start() -> FakeGateway {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let accepting = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, accepting.clone()));
            }
        });
        FakeGateway { url, state }
    }

    /// How many connections identified (and got READY).
    pub fn identified(&self) -> usize {
        self.state.lock().unwrap().identifies.len()
    }

    /// The `n`-th IDENTIFY's payload (`d`), from 0.
    pub fn identify(&self, n: usize) -> Option<Value> {
        self.state.lock().unwrap().identifies.get(n).cloned()
    }

    pub fn resumes(&self) -> usize {
        self.state.lock().unwrap().resumes
    }

    pub fn heartbeats(&self) -> usize {
        self.state.lock().unwrap().heartbeats
    }

    /// Waits until `count` connections in all have identified and are sent READY.
    pub async fn wait_identified(&self, count: usize, timeout: Duration) -> bool {
        eventually(timeout, || async { self.identified() >= count && self.state.lock().unwrap().current.is_some() })
            .await
    }

    /// Sends dispatch `event` (op 0, `t` = `event`) with `data` to the connection that
    /// identified last. Panics when none is open.
    pub fn dispatch(&self, event: &str, data: Value) {
        let state = self.state.lock().unwrap();
        let current = state.current.as_ref().expect("no bot is connected to the fake gateway");
        current.send((event.to_string(), data)).expect("the bot's gateway connection closed");
    }
}

fn frame(value: Value) -> Message {
    Message::Text(value.to_string())
}

/// READY for a session, as Discord sends it (trimmed to what serenity reads).
fn ready(session: usize, resume_url: &str) -> Value {
    json!({
        "v": 10,
        "user": { "id": APP.to_string(), "username": "incidentbot", "discriminator": "0", "global_name": null,
                  "avatar": null, "bot": true, "verified": true, "mfa_enabled": false, "flags": 0 },
        "guilds": [{ "id": GUILD.to_string(), "unavailable": true }],
        "session_id": format!("fake-session-{session}"),
        "resume_gateway_url": resume_url,
        "application": { "id": APP.to_string(), "flags": 0 },
    })
}

/// One client connection: HELLO, then IDENTIFY → READY, heartbeats → acks, and the
/// test's dispatches, until either side closes.
async fn session(stream: tokio::net::TcpStream, state: Arc<Mutex<State>>) {
    let Ok(local) = stream.local_addr() else { return };
    let Ok(socket) = tokio_tungstenite::accept_async(stream).await else { return };
    let (mut sink, mut incoming) = socket.split();
    let hello = json!({ "op": 10, "d": { "heartbeat_interval": HEARTBEAT_INTERVAL_MS }, "s": null, "t": null });
    if sink.send(frame(hello)).await.is_err() {
        return;
    }
    let (to_session, mut dispatches) = mpsc::unbounded_channel::<(String, Value)>();
    let mut sequence = 0u64;
    loop {
        tokio::select! {
            received = incoming.next() => {
                let text = match received {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                    Some(Ok(_)) => continue,
                };
                let Ok(payload) = serde_json::from_str::<Value>(&text) else { break };
                let answer = match payload["op"].as_u64() {
                    Some(1) => {
                        state.lock().unwrap().heartbeats += 1;
                        json!({ "op": 11, "d": null, "s": null, "t": null })
                    }
                    Some(2) => {
                        sequence += 1;
                        let number = {
                            let mut state = state.lock().unwrap();
                            state.identifies.push(payload["d"].clone());
                            state.current = Some(to_session.clone());
                            state.identifies.len()
                        };
                        let data = ready(number, &format!("ws://{local}"));
                        json!({ "op": 0, "s": sequence, "t": "READY", "d": data })
                    }
                    Some(6) => {
                        state.lock().unwrap().resumes += 1;
                        json!({ "op": 9, "d": false, "s": null, "t": null })
                    }
                    _ => continue,
                };
                if sink.send(frame(answer)).await.is_err() {
                    break;
                }
            }
            Some((event, data)) = dispatches.recv() => {
                sequence += 1;
                let dispatch = json!({ "op": 0, "s": sequence, "t": event, "d": data });
                if sink.send(frame(dispatch)).await.is_err() {
                    break;
                }
            }
        }
    }
    let mut state = state.lock().unwrap();
    if state.current.as_ref().is_some_and(|current| current.same_channel(&to_session)) {
        state.current = None;
    }
}
