//! Cron schedules read in an IANA time zone, with the daylight-saving rules users
//! expect: a local time that does not exist (spring forward) runs at the next valid
//! instant, and a local time that happens twice (fall back) runs once.
//!
//! Expressions take the standard 5 fields (`0 9 * * 1-5`, where day-of-week 0 and 7
//! are Sunday and 1 is Monday) or the `cron` crate's 6 and 7 fields (seconds first,
//! optional year; its day-of-week counts 1 = Sunday).

use std::str::FromStr;

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// An expression that is not a valid schedule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{expression}` is not a valid cron schedule: {reason}")]
pub struct ScheduleError {
    pub expression: String,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct CronSchedule {
    source: String,
    schedule: cron::Schedule,
    tz: Tz,
}

/// Rewrites a standard day-of-week field (0-7, 0 and 7 = Sunday) in the `cron` crate's
/// numbering (1-7, 1 = Sunday). Names such as `MON-FRI` mean the same in both and are
/// left alone.
fn convert_day_of_week(field: &str) -> Result<String, String> {
    if field == "*" || field == "?" || field.chars().any(|c| c.is_ascii_alphabetic()) {
        return Ok(field.to_string());
    }
    let mut days = [false; 7];
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => (range, step.parse::<usize>().map_err(|_| format!("bad step in `{part}`"))?),
            None => (part, 1),
        };
        if step == 0 {
            return Err(format!("zero step in `{part}`"));
        }
        let day =
            |s: &str| s.parse::<usize>().ok().filter(|d| *d <= 7).ok_or_else(|| format!("`{s}` is not a day 0-7"));
        let (first, last) = match range {
            "*" => (0, 6),
            _ => match range.split_once('-') {
                Some((a, b)) => (day(a)?, day(b)?),
                None if part.contains('/') => (day(range)?, 6),
                None => {
                    let d = day(range)?;
                    (d, d)
                }
            },
        };
        if first > last {
            return Err(format!("range `{range}` runs backwards"));
        }
        for d in (first..=last).step_by(step) {
            days[d % 7] = true;
        }
    }
    let converted: Vec<String> = (0..7).filter(|d| days[*d]).map(|d| (d + 1).to_string()).collect();
    Ok(converted.join(","))
}

/// The `cron` crate's form of a 5-, 6- or 7-field expression.
fn to_cron_crate_form(expression: &str) -> Result<String, String> {
    let fields: Vec<&str> = expression.split_whitespace().collect();
    match fields.len() {
        5 => {
            Ok(format!("0 {} {} {} {} {}", fields[0], fields[1], fields[2], fields[3], convert_day_of_week(fields[4])?))
        }
        6 | 7 => Ok(fields.join(" ")),
        n => Err(format!("it has {n} fields; use 5 (minute hour day month weekday), 6 or 7")),
    }
}

/// The instant a local wall time means: the earlier of two on a repeated hour, the
/// end of the gap for a time skipped by spring forward.
fn resolve_local(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    let mut candidate = local;
    // Gaps are at most a few hours in every real zone; a day is a generous bound.
    for _ in 0..=24 * 60 {
        match tz.from_local_datetime(&candidate) {
            LocalResult::Single(t) => return Some(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(earlier, _) => return Some(earlier.with_timezone(&Utc)),
            LocalResult::None => candidate += Duration::minutes(1),
        }
    }
    None
}

impl CronSchedule {
    pub fn parse(expression: &str, tz: Tz) -> Result<CronSchedule, ScheduleError> {
        let error = |reason: String| ScheduleError { expression: expression.to_string(), reason };
        let form = to_cron_crate_form(expression).map_err(error)?;
        let schedule = cron::Schedule::from_str(&form).map_err(|e| error(e.to_string()))?;
        if schedule.after(&Utc::now()).next().is_none() {
            return Err(error("it never fires".to_string()));
        }
        Ok(CronSchedule { source: expression.to_string(), schedule, tz })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The first firing strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Walk the schedule in local wall time (UTC stands in for "no zone") and map each
        // wall time to its instant. That map never goes backwards (a repeated hour takes
        // its earlier instant, a skipped time the end of the gap), so no wall time before
        // `after`'s own can map past `after`: starting there is enough. Inside a repeated
        // hour up to an hour of wall times map before `after` and are passed over.
        let local_after = after.with_timezone(&self.tz).naive_local();
        let start = Utc.from_utc_datetime(&(local_after - Duration::seconds(1)));
        self.schedule
            .after(&start)
            .take(100_000)
            .filter_map(|wall| resolve_local(self.tz, wall.naive_utc()))
            .find(|instant| *instant > after)
    }

    /// Every firing in `(from, to]`, in order, at most `limit` of them.
    pub fn fires_between(&self, from: DateTime<Utc>, to: DateTime<Utc>, limit: usize) -> Vec<DateTime<Utc>> {
        let mut fires = Vec::new();
        let mut cursor = from;
        while fires.len() < limit {
            match self.next_after(cursor) {
                Some(next) if next <= to => {
                    fires.push(next);
                    cursor = next;
                }
                _ => break,
            }
        }
        fires
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use chrono::{Datelike, Timelike, Weekday};
    use chrono_tz::{America::New_York, Europe::Berlin};

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn five_field_weekdays_mean_monday_to_friday() {
        let schedule = CronSchedule::parse("0 9 * * 1-5", Tz::UTC).unwrap();
        // 2026-03-07 is a Saturday.
        let fires = schedule.fires_between(utc("2026-03-06T10:00:00Z"), utc("2026-03-13T10:00:00Z"), 100);
        let days: Vec<Weekday> = fires.iter().map(|f| f.weekday()).collect();
        assert_eq!(days, [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri]);
        assert!(fires.iter().all(|f| f.hour() == 9 && f.minute() == 0));
    }

    #[test]
    fn sunday_is_zero_or_seven_and_lists_and_steps_convert() {
        assert_eq!(convert_day_of_week("0").unwrap(), "1");
        assert_eq!(convert_day_of_week("7").unwrap(), "1");
        assert_eq!(convert_day_of_week("1-5").unwrap(), "2,3,4,5,6");
        assert_eq!(convert_day_of_week("5-7").unwrap(), "1,6,7");
        assert_eq!(convert_day_of_week("*/2").unwrap(), "1,3,5,7");
        assert_eq!(convert_day_of_week("MON-FRI").unwrap(), "MON-FRI");
        let monday = CronSchedule::parse("0 9 * * 1", Tz::UTC).unwrap();
        assert_eq!(monday.next_after(utc("2026-03-03T00:00:00Z")).unwrap(), utc("2026-03-09T09:00:00Z"));
    }

    #[test]
    fn six_and_seven_field_forms_use_the_cron_crate_numbering() {
        let six = CronSchedule::parse("0 0 9 * * 2-6", Tz::UTC).unwrap();
        let five = CronSchedule::parse("0 9 * * 1-5", Tz::UTC).unwrap();
        let from = utc("2026-03-01T00:00:00Z");
        assert_eq!(
            six.fires_between(from, from + Duration::days(14), 50),
            five.fires_between(from, from + Duration::days(14), 50)
        );
        assert!(CronSchedule::parse("0 0 9 * * * 2026", Tz::UTC).is_ok());
    }

    #[test]
    fn an_every_second_schedule_fires_every_second() {
        let schedule = CronSchedule::parse("* * * * * *", Tz::UTC).unwrap();
        let t = utc("2026-03-02T09:00:00Z");
        assert_eq!(schedule.next_after(t), Some(t + Duration::seconds(1)));
        let in_berlin = CronSchedule::parse("*/2 * * * * *", Berlin).unwrap();
        assert_eq!(in_berlin.next_after(t), Some(t + Duration::seconds(2)));
    }

    #[test]
    fn bad_expressions_are_refused() {
        for bad in ["", "* * *", "61 9 * * *", "0 9 * * 1-9", "0 9 * * 5-1", "every day"] {
            assert!(CronSchedule::parse(bad, Tz::UTC).is_err(), "{bad}");
        }
    }

    /// Every daily firing's local date, across `days` days from `from`.
    fn daily_local_dates(schedule: &CronSchedule, from: DateTime<Utc>, days: i64) -> Vec<(String, String)> {
        schedule
            .fires_between(from, from + Duration::days(days), 100)
            .iter()
            .map(|f| {
                let local = f.with_timezone(&schedule.timezone());
                (local.format("%Y-%m-%d").to_string(), local.format("%H:%M %Z").to_string())
            })
            .collect()
    }

    #[test]
    fn a_skipped_local_time_runs_at_the_next_valid_instant() {
        // 2026-03-08: New York jumps from 02:00 to 03:00. 2026-03-29: Berlin does the same.
        for (tz, from, day) in
            [(New_York, "2026-03-06T12:00:00Z", "2026-03-08"), (Berlin, "2026-03-27T12:00:00Z", "2026-03-29")]
        {
            let schedule = CronSchedule::parse("30 2 * * *", tz).unwrap();
            let fires = daily_local_dates(&schedule, utc(from), 4);
            let dates: Vec<&str> = fires.iter().map(|(d, _)| d.as_str()).collect();
            assert_eq!(dates.len(), 4, "{fires:?}");
            assert!(dates.windows(2).all(|w| w[0] < w[1]), "one run per local day: {fires:?}");
            let on_the_day = fires.iter().find(|(d, _)| d == day).unwrap();
            assert!(on_the_day.1.starts_with("03:00"), "{fires:?}");
        }
    }

    #[test]
    fn a_repeated_local_time_runs_once() {
        // 2026-11-01: New York repeats 01:00-02:00. 2026-10-25: Berlin repeats 02:00-03:00.
        for (tz, expr, from, day) in [
            (New_York, "30 1 * * *", "2026-10-30T12:00:00Z", "2026-11-01"),
            (Berlin, "30 2 * * *", "2026-10-23T12:00:00Z", "2026-10-25"),
        ] {
            let schedule = CronSchedule::parse(expr, tz).unwrap();
            let fires = daily_local_dates(&schedule, utc(from), 4);
            assert_eq!(fires.iter().filter(|(d, _)| d == day).count(), 1, "{fires:?}");
            assert_eq!(fires.len(), 4, "{fires:?}");
        }
    }

    #[test]
    fn nine_oclock_stays_nine_oclock_local_across_both_changes() {
        for tz in [New_York, Berlin] {
            let schedule = CronSchedule::parse("0 9 * * *", tz).unwrap();
            for from in ["2026-03-05T00:00:00Z", "2026-10-22T00:00:00Z"] {
                let fires = daily_local_dates(&schedule, utc(from), 14);
                assert_eq!(fires.len(), 14);
                assert!(fires.iter().all(|(_, time)| time.starts_with("09:00")), "{fires:?}");
            }
        }
    }
}
