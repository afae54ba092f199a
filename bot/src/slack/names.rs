//! Display names of Slack users, for the places that take no mentions (channel topics,
//! modal errors): each fetched once with `users.info` (scope `users:read`) and kept.
//! When Slack cannot say, the id is shown instead, and asked again next time.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use commands::{Line, Message, Span};
use serde_json::Value;

use super::api::SlackApi;
use super::mrkdwn::is_slack_id;

/// The cache. Names change rarely; a renamed user shows the old name until a restart.
#[derive(Debug, Default)]
pub struct UserNames {
    known: Mutex<HashMap<String, String>>,
}

/// The name Slack shows for a `users.info` answer: the display name, else the real
/// name, else the handle.
fn shown_name(answer: &Value) -> Option<String> {
    let pick = |pointer: &str| {
        answer.pointer(pointer).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
    };
    pick("/user/profile/display_name").or_else(|| pick("/user/profile/real_name")).or_else(|| pick("/user/name"))
}

impl UserNames {
    pub fn get(&self, id: &str) -> Option<String> {
        self.known.lock().unwrap_or_else(PoisonError::into_inner).get(id).cloned()
    }

    /// Fetches every user in `lines` that is not known yet.
    pub async fn learn<'a>(&self, api: &SlackApi, lines: impl IntoIterator<Item = &'a Line>) {
        let mut wanted: Vec<&str> = Vec::new();
        for line in lines {
            for span in &line.0 {
                if let Span::User(id) = span {
                    if is_slack_id(id) && self.get(id).is_none() && !wanted.contains(&id.as_str()) {
                        wanted.push(id);
                    }
                }
            }
        }
        for id in wanted {
            match api.call_form("users.info", &[("user", id.to_string())]).await {
                Ok(answer) => {
                    if let Some(name) = shown_name(&answer) {
                        self.known.lock().unwrap_or_else(PoisonError::into_inner).insert(id.to_string(), name);
                    }
                }
                Err(error) => tracing::warn!(%error, user = id, "could not look up a display name"),
            }
        }
    }

    /// Fetches the users of a whole message.
    pub async fn learn_message(&self, api: &SlackApi, message: &Message) {
        self.learn(api, &message.lines).await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_display_name_wins_then_the_real_name_then_the_handle() {
        let answer =
            json!({ "user": { "name": "alice", "profile": { "display_name": "Alice", "real_name": "Alice A" } } });
        assert_eq!(shown_name(&answer).as_deref(), Some("Alice"));
        let answer = json!({ "user": { "name": "alice", "profile": { "display_name": " ", "real_name": "Alice A" } } });
        assert_eq!(shown_name(&answer).as_deref(), Some("Alice A"));
        assert_eq!(shown_name(&json!({ "user": { "name": "alice" } })).as_deref(), Some("alice"));
        assert_eq!(shown_name(&json!({})), None);
    }
}
