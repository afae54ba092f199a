//! Recovery after downtime: for each open incident channel on Slack, the messages
//! posted since the last one stored are fetched with `conversations.history` and
//! stored, so the timeline has no gap.
//!
//! Where each channel starts is fixed before the server takes events: otherwise a live
//! message stored first would move the starting point past the gap. `oldest` is
//! exclusive, so the last stored message is not fetched again; and a message seen both
//! live and here is stored once anyway, by its source id.

use commands::{Core, CoreError, Ingested};
use serde_json::Value;

use super::events::store_message;
use super::ids::{to_ts, ts_of_source_id};
use super::SlackState;

/// Pages of 200 messages fetched per channel at most (a bound, not an expectation).
const MAX_PAGES: usize = 50;
const PAGE_SIZE: &str = "200";

/// Where one channel's catch-up starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    pub channel_id: String,
    /// The `ts` after which messages are missing (exclusive).
    pub oldest_ts: String,
}

/// What a catch-up stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    pub channels: usize,
    pub stored: usize,
    pub duplicates: usize,
    pub failed_channels: usize,
}

/// The starting point of every open Slack incident channel, by the core's catch-up
/// policy: after the last stored message (its `ts`), or the declaration when none is
/// stored yet. Planned before the server takes events, so every stored message
/// counts.
pub async fn plan(core: &Core) -> Result<Vec<Start>, CoreError> {
    let starts = core.catch_up_starts(None).await?;
    Ok(starts
        .into_iter()
        .map(|start| {
            let oldest_ts = match &start.after {
                Some((source_id, at)) => {
                    ts_of_source_id(source_id, &start.channel_id).map_or_else(|| to_ts(*at), str::to_string)
                }
                None => to_ts(start.declared_at),
            };
            Start { channel_id: start.channel_id.to_string(), oldest_ts }
        })
        .collect())
}

/// Fetches and stores what was missed in each planned channel. A channel that fails is
/// logged and skipped; the others still catch up.
pub async fn run(state: &SlackState, starts: &[Start]) -> Report {
    let mut report = Report { channels: starts.len(), ..Report::default() };
    for start in starts {
        match catch_up_channel(state, start).await {
            Ok((stored, duplicates)) => {
                report.stored += stored;
                report.duplicates += duplicates;
            }
            Err(error) => {
                report.failed_channels += 1;
                tracing::warn!(channel = %start.channel_id, error = %error, "catch-up failed for a channel");
            }
        }
    }
    report
}

async fn catch_up_channel(state: &SlackState, start: &Start) -> anyhow::Result<(usize, usize)> {
    let mut messages: Vec<Value> = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut args = vec![
            ("channel", start.channel_id.clone()),
            ("oldest", start.oldest_ts.clone()),
            ("inclusive", "false".to_string()),
            ("limit", PAGE_SIZE.to_string()),
        ];
        if let Some(cursor) = &cursor {
            args.push(("cursor", cursor.clone()));
        }
        let page = state.chat.api().call_form("conversations.history", &args).await?;
        if let Some(batch) = page.get("messages").and_then(Value::as_array) {
            messages.extend(batch.iter().cloned());
        }
        cursor = page
            .pointer("/response_metadata/next_cursor")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
            .map(str::to_string);
        let has_more = page.get("has_more").and_then(Value::as_bool).unwrap_or(false);
        if !has_more || cursor.is_none() {
            break;
        }
    }
    // Slack lists newest first; the timeline is stored oldest first.
    messages.sort_by_key(|m| m.get("ts").and_then(Value::as_str).and_then(super::ids::parse_ts));
    let (mut stored, mut duplicates) = (0, 0);
    for message in &messages {
        let subtype = message.get("subtype").and_then(Value::as_str);
        if subtype.is_some_and(|s| !super::events::HUMAN_SUBTYPES.contains(&s)) {
            continue;
        }
        match store_message(state, &start.channel_id, message).await? {
            Some(Ingested::Stored) => stored += 1,
            Some(Ingested::Duplicate) => duplicates += 1,
            _ => {}
        }
    }
    Ok((stored, duplicates))
}

/// Plans now (before any event is taken) and runs the fetches in the background.
pub async fn start(state: &SlackState) -> anyhow::Result<()> {
    let starts = plan(&state.core).await?;
    if starts.is_empty() {
        return Ok(());
    }
    let worker = state.clone();
    state.tasks.spawn(async move {
        let report = run(&worker, &starts).await;
        tracing::info!(?report, "Slack catch-up finished");
    });
    Ok(())
}
