//! What the core knows of inbound history: which deliveries were processed already,
//! and, after downtime, the one policy for where each incident channel's missed
//! messages start, shared by Slack's catch-up and Discord's backfill. The adapters
//! fetch from their platform; this decides from where.
//!
//! A channel resumes after the newest message stored before live capture took over,
//! less [`SKEW_MARGIN`] (clocks differ, and a message may be stored a moment after it
//! was posted). An adapter that plans before it takes any live event (Slack) passes
//! no such moment: every stored message counts. With none stored, a channel resumes at
//! the declaration. Anything fetched twice is stored once, by its source id, so erring
//! early costs nothing.

use chrono::{DateTime, Duration, Utc};
use storage::{ChannelId, EntryKind, SourceId};

use crate::core::Core;
use crate::error::CoreError;

/// How much earlier than the moment live capture took over a catch-up reads.
pub const SKEW_MARGIN: Duration = Duration::seconds(120);

/// Where one incident channel's catch-up starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatchUpStart {
    pub incident_id: i64,
    pub channel_id: ChannelId,
    /// The newest message stored before the margin: its platform source id and time.
    /// `None` when none is: start at `declared_at`.
    pub after: Option<(SourceId, DateTime<Utc>)>,
    pub declared_at: DateTime<Utc>,
}

impl Core {
    /// Where each open incident on this core's platform resumes, for live capture that
    /// took over at `live_since` (`None`: not yet).
    pub async fn catch_up_starts(&self, live_since: Option<DateTime<Utc>>) -> Result<Vec<CatchUpStart>, CoreError> {
        let before = live_since.map(|at| at - SKEW_MARGIN);
        let platform = self.chat.platform();
        let mut starts = Vec::new();
        for incident in self.db.open_incidents().await? {
            let Some(channel_id) = incident.channel_id.clone().filter(|_| incident.platform == platform) else {
                continue;
            };
            let latest = self.db.latest_message(incident.id).await?;
            let after = match latest {
                None => None,
                // The common case: nothing arrived since, so no need to read further.
                Some(entry) if before.is_none_or(|before| entry.at < before) => Some((entry.source_id, entry.at)),
                Some(_) => self
                    .db
                    .timeline(incident.id, false)
                    .await?
                    .into_iter()
                    .filter(|entry| entry.kind == EntryKind::Message && before.is_none_or(|before| entry.at < before))
                    .max_by_key(|entry| (entry.at, entry.id))
                    .map(|entry| (entry.source_id, entry.at)),
            };
            starts.push(CatchUpStart {
                incident_id: incident.id,
                channel_id,
                after,
                declared_at: incident.declared_at,
            });
        }
        Ok(starts)
    }

    /// Whether `event_id` from `source` was processed already: an adapter acknowledges a
    /// retried delivery without applying it again.
    pub async fn inbound_seen(&self, source: &storage::EventSource, event_id: &str) -> Result<bool, CoreError> {
        Ok(self.db.inbound_event_processed(source, event_id).await?)
    }

    /// Records that `event_id` from `source` was processed, once it was.
    pub async fn record_inbound(&self, source: &storage::EventSource, event_id: &str) -> Result<bool, CoreError> {
        Ok(self.db.record_inbound_event(source, event_id, self.now()).await?)
    }

    /// The channel names of every incident on this core's platform, so an adapter that
    /// picks names itself (the console) never reuses one.
    pub async fn channel_names(&self) -> Result<Vec<String>, CoreError> {
        Ok(self.db.channel_names(self.chat.platform()).await?)
    }

    /// Whether a channel is an incident's, so an adapter can skip platform calls for
    /// channels the bot does not follow.
    pub async fn is_incident_channel(&self, channel_id: &ChannelId) -> Result<bool, CoreError> {
        Ok(self.channel_incident(channel_id).await?.is_some())
    }
}
