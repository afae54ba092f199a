//! Small text helpers shared by replies, exports and digests: times, durations,
//! and trimming user text to size.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

/// `2026-03-02 09:05 UTC`, in the configured zone.
pub fn time(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string()
}

/// `09:05`, in the configured zone.
pub fn clock_time(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%H:%M").to_string()
}

/// `2d 3h`, `1h 20m`, `4m`, `<1m`.
pub fn duration(d: Duration) -> String {
    let minutes = d.num_minutes();
    if minutes < 1 {
        return "<1m".to_string();
    }
    let (days, hours, mins) = (minutes / 1440, (minutes % 1440) / 60, minutes % 60);
    match (days, hours, mins) {
        (0, 0, m) => format!("{m}m"),
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

/// Cuts `text` to at most `max` characters, marking the cut with `…`.
/// Returns the text and whether it was cut.
pub fn truncate(text: &str, max: usize) -> (String, bool) {
    if text.chars().count() <= max {
        return (text.to_string(), false);
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    (format!("{}…", kept.trim_end()), true)
}

/// Folds line breaks and runs of white space into single spaces.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(Duration::seconds(30)), "<1m");
        assert_eq!(duration(Duration::minutes(4)), "4m");
        assert_eq!(duration(Duration::minutes(80)), "1h 20m");
        assert_eq!(duration(Duration::minutes(120)), "2h");
        assert_eq!(duration(Duration::minutes(3 * 1440 + 125)), "3d 2h");
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate("héllo", 10), ("héllo".to_string(), false));
        let (cut, was_cut) = truncate(&"é".repeat(300), 200);
        assert!(was_cut);
        assert_eq!(cut.chars().count(), 200);
    }
}
