//! Catching up after downtime: for every open Discord incident, read the channel's
//! messages after the last one stored (`GET /channels/{id}/messages?after=…`), page by
//! page until there are no more. Messages go through the same path as MESSAGE_CREATE,
//! so whatever the gateway also delivers is stored once: no gaps, no duplicates.
//!
//! "The last one stored" means the last one stored *before the gateway connected*:
//! events handled since then may already hold newer messages, and starting after those
//! would skip the gap. A margin covers clock skew; re-reading a few known messages is
//! harmless because they are deduplicated.

use ::commands::{Core, Ingested};
use chrono::{DateTime, Duration, Utc};
use serenity::all::{ChannelId, GetMessages, MessageId};
use serenity::http::Http;
use storage::{EntryKind, Incident};

use super::chat::chat_error;
use super::events;

/// Discord's largest page of messages.
const PAGE: u8 = 100;
/// A bound on pages per channel per run, so one enormous channel cannot hold up the rest.
const MAX_PAGES: usize = 500;
/// How far the cursor stays before the connection time, for clock skew with Discord.
const SKEW_MARGIN_SECONDS: i64 = 120;

/// What one backfill run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BackfillReport {
    pub channels: usize,
    pub stored: usize,
}

/// Backfills every open incident that lives on Discord, for a gateway session that
/// connected at `connected_at`. A channel that fails is logged and skipped; the others
/// still catch up.
pub async fn backfill_all(http: &Http, core: &Core, connected_at: DateTime<Utc>) -> anyhow::Result<BackfillReport> {
    let mut report = BackfillReport::default();
    for incident in core.db().open_incidents().await? {
        if incident.platform != "discord" || incident.channel_id.is_none() {
            continue;
        }
        match backfill_incident(http, core, &incident, connected_at).await {
            Ok(stored) => {
                report.channels += 1;
                report.stored += stored;
            }
            Err(error) => tracing::warn!(incident = incident.id, error = format!("{error:#}"), "backfill failed"),
        }
    }
    if report.stored > 0 {
        tracing::info!(channels = report.channels, stored = report.stored, "backfilled missed messages");
    }
    Ok(report)
}

/// Where reading resumes: the newest message stored before `connected_at` (less the
/// skew margin). Every message in a channel has a larger id than the channel itself
/// (ids grow with time), so the channel id is where a channel with none starts.
async fn cursor(
    core: &Core,
    incident: &Incident,
    channel: ChannelId,
    connected_at: DateTime<Utc>,
) -> anyhow::Result<MessageId> {
    let Some(latest) = core.db().latest_message(incident.id).await? else {
        return Ok(MessageId::new(channel.get()));
    };
    let before = connected_at - Duration::seconds(SKEW_MARGIN_SECONDS);
    if latest.at < before {
        // The common case: nothing arrived since the connection, no need to read further.
        return Ok(events::message_id_of(&latest.source_id).unwrap_or(MessageId::new(channel.get())));
    }
    let timeline = core.db().timeline(incident.id, false).await?;
    Ok(timeline
        .iter()
        .filter(|entry| entry.kind == EntryKind::Message && entry.at < before)
        .filter_map(|entry| events::message_id_of(&entry.source_id))
        .max()
        .unwrap_or(MessageId::new(channel.get())))
}

/// Backfills one incident's channel; returns how many messages were newly stored.
pub async fn backfill_incident(
    http: &Http,
    core: &Core,
    incident: &Incident,
    connected_at: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let Some(channel_id) = incident.channel_id.as_deref() else {
        return Ok(0);
    };
    let channel = ChannelId::new(super::chat::snowflake("backfill", channel_id)?);
    let mut after = cursor(core, incident, channel, connected_at).await?;
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
