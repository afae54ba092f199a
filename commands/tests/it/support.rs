//! Shared set-up for the core's tests: an in-memory database, a recording chat and a
//! manual clock.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use commands::recording_chat::RecordingChat;
use commands::{Core, Invocation, ManualClock, Outcome, Settings};
use storage::Db;

pub struct Harness {
    pub core: Core,
    /// The core's database, for the tests to check what was stored.
    pub db: Db,
    pub chat: Arc<RecordingChat>,
    pub clock: ManualClock,
    next_source: AtomicU64,
}

pub fn start_time() -> DateTime<Utc> {
    "2026-03-02T09:00:00Z".parse().unwrap()
}

pub async fn harness() -> Harness {
    harness_with(Settings { announcements_channel: Some("incidents".into()), ..Settings::default() }).await
}

pub async fn harness_with(settings: Settings) -> Harness {
    let db = Db::in_memory().await.unwrap();
    let chat = Arc::new(RecordingChat::new());
    let clock = ManualClock::new(start_time());
    let core = Core::new(db.clone(), chat.clone(), Arc::new(clock.clone()), settings);
    Harness { core, db, chat, clock, next_source: AtomicU64::new(1) }
}

impl Harness {
    pub fn next_source(&self) -> String {
        format!("test:{}", self.next_source.fetch_add(1, Ordering::SeqCst))
    }

    /// Runs `/incident <text>` as `user` in `channel`.
    pub async fn run(&self, user: &str, channel: &str, text: &str) -> Outcome {
        let inv = Invocation {
            source_id: self.next_source().into(),
            user: user.into(),
            channel_id: channel.into(),
            text: text.into(),
        };
        self.core.run(&inv).await.unwrap()
    }

    /// Declares an incident as `user` and returns its channel id.
    pub async fn declare(&self, user: &str, text: &str) -> String {
        let outcome = self.run(user, "general", &format!("declare {text}")).await;
        assert!(!outcome.is_error, "{outcome:?}");
        outcome.opened.expect("declare opens a channel").id.to_string()
    }

    pub fn reply_text(outcome: &Outcome) -> String {
        outcome.reply.as_ref().map(|m| m.to_plain()).unwrap_or_default()
    }
}
