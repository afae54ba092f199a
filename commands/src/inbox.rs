//! The durable inbox as adapters use it, through the core (adapters never reach the
//! database themselves). An adapter that answers a request before its work is done
//! (a Slack slash command or button press, a deferred Discord interaction, an alert
//! delivery) commits it here first, processes it, and marks it done once its work and
//! its reply are; at start-up and on taking over the lease it runs the rows not done
//! again, oldest first. What a row holds is the adapter's own (see
//! [`storage::InboxRequest`]); the rules here are when a reply path has expired, and
//! that the work happens regardless, and how long a done request is kept.

use chrono::{DateTime, Duration, Utc};
use storage::{EventSource, InboxRequest, InboxRow, Platform, SourceId};

use crate::core::Core;
use crate::error::CoreError;
use crate::message::Message;

/// How long a platform keeps a request's own reply path open: a Slack `response_url`
/// lives 30 minutes, a Discord interaction token 15. Past it, the reply goes by DM.
pub fn reply_window(platform: Platform) -> Duration {
    match platform {
        Platform::Discord => Duration::minutes(15),
        _ => Duration::minutes(30),
    }
}

/// Whether a request received at `received_at` can still be answered through its own
/// reply path at `now`, with a minute's margin for the work itself.
pub fn reply_path_open(platform: Platform, received_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - received_at < reply_window(platform) - Duration::minutes(1)
}

/// How many times a request whose run failed for a passing reason is run again in the
/// same process before it is left for the next start (or takeover) to try.
pub const RETRIES: u32 = 8;

/// Whether a failed run is worth running again: the platform or the database failed
/// for a passing reason (a rate limit, a timeout, a 5xx, a busy database, a conflict
/// with someone else's change), not a refusal. Everything a request does is idempotent
/// by its source id, so running it again redoes only what did not happen.
pub fn is_transient(error: &CoreError) -> bool {
    match error {
        CoreError::Chat(chat) => chat.retryable,
        CoreError::Storage(_) | CoreError::Contention(_) => true,
        CoreError::Alert(_) | CoreError::Internal(_) => false,
    }
}

/// How long to wait before running a failed request again, after `failures` failed
/// runs: 1 s, doubling, at most a minute; `None` once [`RETRIES`] are spent (about
/// four minutes in all).
pub fn retry_delay(failures: u32) -> Option<std::time::Duration> {
    (failures <= RETRIES).then(|| std::time::Duration::from_secs((1u64 << failures.min(6)).min(60)))
}

/// What the person hears when their request failed for a passing reason and is being
/// tried again: what failed, and that there is nothing for them to do.
pub fn retrying_reply(error: &CoreError) -> Message {
    Message::plain(format!(
        "That did not go through yet: {}. It is saved, and the bot keeps trying by itself for a few \
         minutes; you will get the answer here when it is done. There is no need to send it again.",
        what_failed(error)
    ))
}

/// What the person hears when the retries are spent: the request stays saved and is
/// tried again when the bot next starts.
pub fn gave_up_reply(error: &CoreError) -> Message {
    Message::plain(format!(
        "That still did not go through after {RETRIES} more tries: {}. It stays saved and is tried again when \
         the bot restarts; an operator can see it with `incidentbot check`.",
        what_failed(error)
    ))
}

fn what_failed(error: &CoreError) -> String {
    match error {
        // The platform's own words go to the log only: they may quote internals.
        CoreError::Chat(chat) => format!("the chat platform refused a call ({})", chat.operation),
        CoreError::Storage(_) => "the database did not answer".to_string(),
        other => other.to_string(),
    }
}

impl Core {
    /// Commits `request` before the adapter answers the platform. False when its source
    /// id is already in the inbox: a second delivery, to be answered and not processed.
    pub async fn inbox_accept(&self, request: &InboxRequest) -> Result<bool, CoreError> {
        Ok(self.db.inbox_accept(request).await?)
    }

    /// Marks a request done: its work and its reply happened.
    pub async fn inbox_done(&self, source_id: &SourceId) -> Result<(), CoreError> {
        self.db.inbox_done(source_id, self.now()).await?;
        Ok(())
    }

    /// The retention rule: requests done more than `retention` ago are forgotten, with
    /// their finished steps; a request not done is kept however old it is, for a start
    /// or a takeover to run. Returns how many were forgotten.
    pub async fn prune_inbox(&self, retention: Duration) -> Result<u64, CoreError> {
        Ok(self.db.inbox_prune(self.now() - retention).await?)
    }

    /// Forgets a request refused with nothing written, before it was done: its source
    /// id may come again with corrected answers (a Slack modal keeps its view id).
    pub async fn inbox_forget(&self, source_id: &SourceId) -> Result<(), CoreError> {
        self.db.inbox_forget(source_id).await?;
        Ok(())
    }

    /// The requests from `source` not yet done, oldest first.
    pub async fn inbox_unfinished(&self, source: &EventSource) -> Result<Vec<InboxRow>, CoreError> {
        Ok(self.db.inbox_unfinished(source).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_paths_close_with_their_platforms_window() {
        let t0 = DateTime::<Utc>::UNIX_EPOCH;
        assert!(reply_path_open(Platform::Slack, t0, t0 + Duration::minutes(20)));
        assert!(!reply_path_open(Platform::Slack, t0, t0 + Duration::minutes(31)));
        assert!(!reply_path_open(Platform::Discord, t0, t0 + Duration::minutes(20)));
        assert!(reply_path_open(Platform::Discord, t0, t0 + Duration::minutes(5)));
    }

    #[test]
    fn passing_failures_are_retried_with_a_doubling_capped_backoff_then_left() {
        let delays: Vec<u64> = (0..=RETRIES).map(|n| retry_delay(n).unwrap().as_secs()).collect();
        assert_eq!(delays, vec![1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(retry_delay(RETRIES + 1), None);
        let server_error = CoreError::Chat(crate::ChatError::new("create_channel", "HTTP 500", true));
        let refused = CoreError::Chat(crate::ChatError::new("create_channel", "restricted_action", false));
        assert!(is_transient(&server_error));
        assert!(!is_transient(&refused));
        let text = retrying_reply(&server_error).to_plain();
        assert!(text.contains("(create_channel)") && text.contains("no need to send it again"), "{text}");
    }
}
