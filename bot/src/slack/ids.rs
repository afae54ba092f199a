//! Slack's message timestamps (`ts`, e.g. `1700000000.000200`) and the source ids built
//! from them. A `ts` is unique per channel, so `slack:<channel>:<ts>` identifies one
//! message for the core's idempotency.

use chrono::{DateTime, Utc};
use commands::{ChannelId, SourceId};

/// The core's source id of a Slack message.
pub fn message_source_id(channel: &str, ts: &str) -> SourceId {
    SourceId::new(format!("slack:{channel}:{ts}"))
}

/// The `ts` inside a message source id of `channel`, if it is one.
pub fn ts_of_source_id<'a>(source_id: &'a SourceId, channel: &ChannelId) -> Option<&'a str> {
    let ts = source_id.as_str().strip_prefix("slack:")?.strip_prefix(channel.as_str())?.strip_prefix(':')?;
    parse_ts(ts).map(|_| ts)
}

/// The time a `ts` stands for (seconds and microseconds since the epoch).
pub fn parse_ts(ts: &str) -> Option<DateTime<Utc>> {
    let (secs, micros) = ts.split_once('.').unwrap_or((ts, "0"));
    if secs.is_empty() || micros.is_empty() || micros.len() > 6 {
        return None;
    }
    let secs: i64 = secs.parse().ok()?;
    let micros: u32 = format!("{micros:0<6}").parse().ok()?;
    DateTime::from_timestamp(secs, micros * 1000)
}

/// A time as a `ts`, for `conversations.history`'s `oldest`.
pub fn to_ts(at: DateTime<Utc>) -> String {
    format!("{}.{:06}", at.timestamp(), at.timestamp_subsec_micros())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn ts_round_trips_and_source_ids_parse() {
        let at = parse_ts("1700000000.000200").unwrap();
        assert_eq!(at.timestamp(), 1_700_000_000);
        assert_eq!(at.timestamp_subsec_micros(), 200);
        assert_eq!(to_ts(at), "1700000000.000200");
        let id = message_source_id("C1", "1700000000.000200");
        assert_eq!(ts_of_source_id(&id, &"C1".into()), Some("1700000000.000200"));
        assert_eq!(ts_of_source_id(&id, &"C2".into()), None);
        assert_eq!(parse_ts("abc"), None);
        assert_eq!(parse_ts("1.1234567"), None);
    }
}
