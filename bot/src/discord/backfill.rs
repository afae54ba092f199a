//! Catching up after downtime: for every open Discord incident, read the channel's
//! messages after the last one stored (`GET /channels/{id}/messages?after=…`), page by
//! page until there are no more. Messages go through the same path as MESSAGE_CREATE,
//! so whatever the gateway also delivers is stored once: no gaps, no duplicates.
//!
//! Where each channel resumes is the core's catch-up policy
//! ([`commands::history`]): the last message stored *before the gateway connected*,
//! less a margin for clock skew.

use ::commands::history::CatchUpStart;
use ::commands::{Core, Ingested};
use chrono::{DateTime, Utc};
use serenity::all::{ChannelId, GetMessages, MessageId};
use serenity::http::Http;

use super::chat::chat_error;
use super::events;

/// Discord's largest page of messages.
const PAGE: u8 = 100;
/// A bound on pages per channel per run, so one enormous channel cannot hold up the rest.
const MAX_PAGES: usize = 500;

/// What one backfill run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BackfillReport {
    pub channels: usize,
    pub stored: usize,
}

/// Backfills every open incident that lives on Discord, for a gateway session that
/// connected at `connected_at`. Where each channel resumes is the core's catch-up
/// policy. A channel that fails is logged and skipped; the others still catch up.
pub async fn backfill_all(http: &Http, core: &Core, connected_at: DateTime<Utc>) -> anyhow::Result<BackfillReport> {
    let mut report = BackfillReport::default();
    for start in core.catch_up_starts(Some(connected_at)).await? {
        match backfill_channel(http, core, &start).await {
            Ok(stored) => {
                report.channels += 1;
                report.stored += stored;
            }
            Err(error) => {
                tracing::warn!(incident = start.incident_id, error = format!("{error:#}"), "backfill failed")
            }
        }
    }
    if report.stored > 0 {
        tracing::info!(channels = report.channels, stored = report.stored, "backfilled missed messages");
    }
    Ok(report)
}

/// Backfills one incident's channel from where the core says it resumes; returns how
/// many messages were newly stored.
async fn backfill_channel(http: &Http, core: &Core, start: &CatchUpStart) -> anyhow::Result<usize> {
    let channel_id = start.channel_id.as_str();
    let channel = ChannelId::new(super::chat::snowflake("backfill", channel_id)?);
    // Every message in a channel has a larger id than the channel itself (ids grow with
    // time), so the channel id is where a channel with no stored message starts.
    let mut after = start
        .after
        .as_ref()
        .and_then(|(source_id, _)| events::message_id_of(source_id))
        .unwrap_or(MessageId::new(channel.get()));
    let mut stored = 0;
    for _ in 0..MAX_PAGES {
        let mut page = channel
            .messages(http, GetMessages::new().after(after).limit(PAGE))
            .await
            .map_err(|e| chat_error("read channel history", &e))?;
        // Discord returns a page newest first; store it oldest first.
        page.sort_by_key(|message| message.id);
        let Some(newest) = page.last().map(|message| message.id) else {
            break;
        };
        for message in &page {
            if events::message_created(core, message).await? == Ingested::Stored {
                stored += 1;
            }
        }
        if page.len() < usize::from(PAGE) || newest <= after {
            break;
        }
        after = newest;
    }
    Ok(stored)
}
