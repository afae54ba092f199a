//! The durable inbox as adapters use it, through the core (adapters never reach the
//! database themselves). An adapter that answers a request before its work is done
//! (a Slack slash command or button press, a deferred Discord interaction, an alert
//! delivery) commits it here first, processes it, and marks it done once its work and
//! its reply are; at start-up and on taking over the lease it runs the rows not done
//! again, oldest first. What a row holds is the adapter's own (see
//! [`storage::InboxRequest`]); the rules here are when a reply path has expired, and
//! that the work happens regardless.

use chrono::{DateTime, Duration, Utc};
use storage::{EventSource, InboxRequest, InboxRow, Platform, SourceId};

use crate::core::Core;
use crate::error::CoreError;

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
}
