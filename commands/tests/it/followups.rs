//! Follow-through rules, each driven by the core's clock: no double sends, missed runs,
//! daylight saving, failed deliveries, snoozes, postmortem and status-update nudges.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use commands::followup::{FollowupSettings, Followups};
use commands::schedule::CronSchedule;
use commands::Settings;

use crate::support::{self, harness_with, Harness};

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn followup_settings(tz: Tz) -> FollowupSettings {
    FollowupSettings {
        followups_channel: Some("follow-ups".into()),
        digest_channel: Some("digest".into()),
        attempts: 3,
        backoff: std::time::Duration::from_millis(1),
        ..FollowupSettings::defaults(tz).unwrap()
    }
}

/// A harness whose clock is at `start`, with one incident (declared by alice) holding an
/// action item owned by bob and due on `due`.
async fn with_overdue_item(tz: Tz, start: &str, due: &str) -> (Arc<Harness>, Followups) {
    let h = Arc::new(harness_with(Settings { timezone: tz, ..Settings::default() }).await);
    // A due date already past is refused at creation, so the item is added on its due
    // date (noon, local) and the clock then moves on to `start`.
    let due_day: chrono::NaiveDate = due.parse().unwrap();
    let created = due_day.and_hms_opt(12, 0, 0).unwrap().and_local_timezone(tz).unwrap().with_timezone(&Utc);
    h.clock.set(created.min(utc(start)));
    let ch = h.declare("alice", "sev3 Slow search").await;
    let outcome = h.run("alice", &ch, &format!("action add Fix the indexer @bob due:{due}")).await;
    assert!(!outcome.is_error, "{outcome:?}");
    h.clock.set(utc(start));
    let followups = Followups::new(core_of(&h), followup_settings(tz));
    followups.tick(h.core.now()).await.unwrap();
    (h, followups)
}

/// A second core over the harness's database, chat and clock: the follow-ups runner
/// takes an `Arc<Core>`, as the serve loop gives it.
fn core_of(h: &Harness) -> Arc<commands::Core> {
    Arc::new(commands::Core::new(h.db.clone(), h.chat.clone(), Arc::new(h.clock.clone()), h.core.settings().clone()))
}

/// Ticks every `step` from the clock's time until `until`, like the serve loop would.
async fn run_until(h: &Harness, followups: &Followups, until: DateTime<Utc>, step: Duration) {
    while h.core.now() + step <= until {
        h.clock.advance(step);
        followups.tick(h.core.now()).await.unwrap();
    }
}

#[tokio::test]
async fn one_reminder_per_weekday_and_none_after_done() {
    // Monday 2026-03-02; the item is due Wednesday, so Thursday is its first overdue day.
    let (h, followups) = with_overdue_item(Tz::UTC, "2026-03-02T08:00:00Z", "2026-03-04").await;
    run_until(&h, &followups, utc("2026-03-10T12:00:00Z"), Duration::minutes(30)).await;
    // Thu, Fri, Mon, Tue: four reminders; none on Saturday or Sunday.
    assert_eq!(h.chat.dms_to("bob").len(), 4, "{:?}", h.chat.dms_to("bob"));
    assert!(
        h.chat.dms_to("bob")[0].contains("1 day overdue")
            && h.chat.dms_to("bob")[0].contains("/incident action done 1")
    );
    // The fourth reminder escalates to the commander.
    assert_eq!(h.chat.dms_to("alice").len(), 1);
    assert!(h.chat.dms_to("alice")[0].contains("after 3 reminders"));
    assert_eq!(h.chat.posts_to("follow-ups").len(), 4);

    h.run("bob", "general", "action done 1").await;
    run_until(&h, &followups, utc("2026-03-14T12:00:00Z"), Duration::minutes(30)).await;
    assert_eq!(h.chat.dms_to("bob").len(), 4, "reminders stop once the item is done");
}

#[tokio::test]
async fn reminders_continue_after_the_incident_is_closed_and_stop_when_snoozed() {
    let (h, followups) = with_overdue_item(Tz::UTC, "2026-03-02T08:00:00Z", "2026-03-03").await;
    let ch = "inc-1-slow-search";
    h.run("alice", ch, "resolve").await;
    let answers = commands::postmortem::FIELDS.iter().map(|f| (f.key.to_string(), "x".to_string())).collect();
    let submission = commands::FormSubmission {
        source_id: "pm".into(),
        user: "alice".into(),
        channel_id: ch.into(),
        kind: commands::FormKind::Postmortem { incident: 1 },
        answers,
    };
    h.core.submit_form(&submission).await.unwrap();
    assert_eq!(h.db.incident(1).await.unwrap().unwrap().status, storage::Status::Closed);
    run_until(&h, &followups, utc("2026-03-04T10:00:00Z"), Duration::hours(1)).await;
    assert_eq!(h.chat.dms_to("bob").len(), 1, "a closed incident's items are still chased");

    let snoozed = h.run("bob", "general", "action snooze 1 3").await;
    assert!(Harness::reply_text(&snoozed).contains("no reminders until 2026-03-07"));
    run_until(&h, &followups, utc("2026-03-06T10:00:00Z"), Duration::hours(1)).await;
    assert_eq!(h.chat.dms_to("bob").len(), 1, "no reminders while snoozed");
    run_until(&h, &followups, utc("2026-03-09T10:00:00Z"), Duration::hours(1)).await;
    assert_eq!(h.chat.dms_to("bob").len(), 2, "reminders resume after the snooze (Monday)");
}

#[tokio::test]
async fn repeated_overlapping_and_restarted_runners_never_send_twice() {
    let (h, followups) = with_overdue_item(Tz::UTC, "2026-03-04T08:00:00Z", "2026-03-03").await;
    h.clock.set(utc("2026-03-04T09:00:00Z"));
    let now = h.core.now();
    // A second runner on the same database, as after a restart or a second instance.
    let other = Followups::new(core_of(&h), followup_settings(Tz::UTC));
    let (a, b) = tokio::join!(followups.tick(now), other.tick(now));
    a.unwrap();
    b.unwrap();
    followups.tick(now).await.unwrap();
    h.clock.advance(Duration::minutes(5));
    other.tick(h.core.now()).await.unwrap();
    assert_eq!(h.chat.dms_to("bob").len(), 1);
    assert_eq!(h.chat.posts_to("follow-ups").len(), 1);
}

#[tokio::test]
async fn missed_runs_merge_into_one_delivery_within_the_grace_window() {
    let (h, followups) = with_overdue_item(Tz::UTC, "2026-03-02T08:00:00Z", "2026-03-01").await;
    // Down from Monday 08:00 until Wednesday 10:00: Mon, Tue and Wed 09:00 were missed.
    h.clock.set(utc("2026-03-04T10:00:00Z"));
    let report = followups.tick(h.core.now()).await.unwrap();
    assert_eq!(report.merged, 2);
    assert_eq!(h.chat.dms_to("bob").len(), 1, "one reminder, not one per missed day");
}

#[tokio::test]
async fn missed_runs_older_than_the_grace_window_are_skipped() {
    let (h, followups) = with_overdue_item(Tz::UTC, "2026-03-05T08:00:00Z", "2026-03-01").await;
    // Down from Thursday 08:00 until Saturday noon: the last run (Friday 09:00) is 27 h old.
    h.clock.set(utc("2026-03-07T12:00:00Z"));
    let report = followups.tick(h.core.now()).await.unwrap();
    assert_eq!(report.skipped, 2);
    assert!(h.chat.dms_to("bob").is_empty());
}

/// Runs a daily 02:30 (or 01:30) schedule across a transition and returns each
/// reminder's local time.
async fn reminders_across(tz: Tz, cron: &str, start: &str, until: &str) -> Vec<String> {
    let (h, _) = with_overdue_item(tz, start, "2026-01-01").await;
    let settings = FollowupSettings { reminders: CronSchedule::parse(cron, tz).unwrap(), ..followup_settings(tz) };
    let followups = Followups::new(core_of(&h), settings);
    followups.tick(h.core.now()).await.unwrap();
    let mut times = Vec::new();
    while h.core.now() < utc(until) {
        h.clock.advance(Duration::minutes(15));
        let before = h.chat.dms_to("bob").len();
        followups.tick(h.core.now()).await.unwrap();
        if h.chat.dms_to("bob").len() > before {
            times.push(h.core.now().with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string());
        }
    }
    times
}

#[tokio::test]
async fn daily_reminders_run_once_per_local_day_across_both_2026_changes() {
    use chrono_tz::{America::New_York, Europe::Berlin};
    // Spring forward: 02:30 does not exist; it runs at 03:00, once.
    let ny_spring = reminders_across(New_York, "30 2 * * *", "2026-03-07T12:00:00Z", "2026-03-10T12:00:00Z").await;
    assert_eq!(ny_spring, ["2026-03-08 03:00", "2026-03-09 02:30", "2026-03-10 02:30"]);
    let berlin_spring = reminders_across(Berlin, "30 2 * * *", "2026-03-28T12:00:00Z", "2026-03-31T12:00:00Z").await;
    assert_eq!(berlin_spring, ["2026-03-29 03:00", "2026-03-30 02:30", "2026-03-31 02:30"]);
    // Fall back: the repeated 01:30 (New York) and 02:30 (Berlin) run once.
    let ny_fall = reminders_across(New_York, "30 1 * * *", "2026-10-31T12:00:00Z", "2026-11-03T12:00:00Z").await;
    assert_eq!(ny_fall, ["2026-11-01 01:30", "2026-11-02 01:30", "2026-11-03 01:30"]);
    let berlin_fall = reminders_across(Berlin, "30 2 * * *", "2026-10-24T12:00:00Z", "2026-10-27T12:00:00Z").await;
    assert_eq!(berlin_fall, ["2026-10-25 02:30", "2026-10-26 02:30", "2026-10-27 02:30"]);
}

#[tokio::test]
async fn a_failing_delivery_is_retried_a_bounded_number_of_times_and_blocks_no_other() {
    let (h, followups) = with_overdue_item(Tz::UTC, "2026-03-04T08:00:00Z", "2026-03-02").await;
    // Added on its due date: a date already past is refused.
    h.clock.set(utc("2026-03-02T12:00:00Z"));
    let added = h.run("alice", "inc-1-slow-search", "action add Write the runbook @carol due:2026-03-02").await;
    assert!(!added.is_error, "{added:?}");
    h.chat.fail_dms_to("bob");
    h.clock.set(utc("2026-03-04T09:00:00Z"));
    let report = followups.tick(h.core.now()).await.unwrap();
    assert_eq!(h.chat.dms_to("carol").len(), 1);
    assert_eq!((report.sent, report.failed), (2, 1), "carol's DM and the summary went out; bob's failed");
    let key = storage::DeliveryKey::new(storage::DeliveryKind::ActionOverdue, 1, "2026-03-04");
    assert_eq!(h.db.delivery_attempts(&key).await.unwrap(), 3);
    assert!(h.db.delivery_sent_at(&key).await.unwrap().is_none());
}

#[tokio::test]
async fn the_commander_is_nudged_daily_about_an_unfinished_postmortem_after_two_business_days() {
    let h = Arc::new(harness_with(Settings::default()).await);
    h.clock.set(utc("2026-03-06T15:00:00Z")); // a Friday
    let ch = h.declare("alice", "sev2 Broken login").await;
    h.run("alice", &ch, "resolve").await;
    let followups = Followups::new(core_of(&h), followup_settings(Tz::UTC));
    followups.tick(h.core.now()).await.unwrap();
    run_until(&h, &followups, utc("2026-03-09T12:00:00Z"), Duration::hours(1)).await;
    assert!(h.chat.dms_to("alice").is_empty(), "Monday is only one business day later");
    run_until(&h, &followups, utc("2026-03-11T12:00:00Z"), Duration::hours(1)).await;
    let nudges = h.chat.dms_to("alice");
    assert_eq!(nudges.len(), 2, "Tuesday and Wednesday: {nudges:?}");
    assert!(nudges[0].contains("still missing: Summary, Impact") && nudges[0].contains("[Write postmortem]"));
}

#[tokio::test]
async fn a_quiet_sev1_gets_one_status_update_nudge_per_quiet_period() {
    let h = Arc::new(harness_with(Settings::default()).await);
    let ch = h.declare("alice", "sev1 Everything is down").await;
    let followups = Followups::new(core_of(&h), followup_settings(Tz::UTC));
    followups.tick(h.core.now()).await.unwrap();
    run_until(&h, &followups, support::start_time() + Duration::minutes(50), Duration::minutes(1)).await;
    let nudges = |h: &Harness| h.chat.posts_to(&ch).iter().filter(|p| p.contains("No status update")).count();
    assert_eq!(nudges(&h), 1);
    h.run("alice", &ch, "update Failing over").await;
    run_until(&h, &followups, support::start_time() + Duration::minutes(79), Duration::minutes(1)).await;
    assert_eq!(nudges(&h), 1, "the update started a new quiet period");
    run_until(&h, &followups, support::start_time() + Duration::minutes(85), Duration::minutes(1)).await;
    assert_eq!(nudges(&h), 2);
    h.run("alice", &ch, "resolve").await;
    run_until(&h, &followups, support::start_time() + Duration::hours(5), Duration::minutes(5)).await;
    assert_eq!(nudges(&h), 2, "no nudges once resolved");
}

#[tokio::test]
async fn a_quiet_week_gets_a_short_friendly_digest() {
    let h = harness_with(Settings::default()).await;
    let digest = commands::digest::build(&h.db, Tz::UTC, h.core.now(), Duration::days(7)).await.unwrap();
    let text = digest.to_plain();
    assert!(text.contains("A quiet week") && text.contains("Enjoy the calm"), "{text}");
    assert!(text.lines().count() <= 4, "{text}");
}

#[tokio::test]
async fn a_closed_incidents_channel_is_archived_once_after_the_configured_days() {
    let h = Arc::new(harness_with(Settings::default()).await);
    h.clock.set(utc("2026-03-02T09:00:00Z"));
    let ch = h.declare("alice", "sev3 Slow search").await;
    h.run("alice", &ch, "resolve Restarted the indexer").await;
    let answers: Vec<(String, String)> =
        commands::postmortem::FIELDS.iter().map(|f| (f.key.to_string(), format!("answer {}", f.key))).collect();
    let submission = commands::FormSubmission {
        source_id: "pm".into(),
        user: "alice".into(),
        channel_id: ch.clone().into(),
        kind: commands::FormKind::Postmortem { incident: 1 },
        answers,
    };
    h.core.submit_form(&submission).await.unwrap();
    let settings = FollowupSettings { archive_after: Some(Duration::days(3)), ..followup_settings(Tz::UTC) };
    let followups = Followups::new(core_of(&h), settings);
    followups.tick(h.core.now()).await.unwrap();
    let archived = |h: &Harness| {
        h.chat.calls().iter().filter(|c| matches!(c, commands::recording_chat::ChatCall::Archive { .. })).count()
    };
    // Not before the third day; the console's :advance finds the moment (a Saturday,
    // when no reminder is scheduled).
    h.clock.set(utc("2026-03-07T08:00:00Z"));
    assert_eq!(followups.next_due_after(utc("2026-03-07T08:00:00Z")).await.unwrap(), Some(utc("2026-03-09T09:00:00Z")));
    h.clock.set(utc("2026-03-02T09:00:00Z"));
    let late = FollowupSettings { archive_after: Some(Duration::days(5)), ..followup_settings(Tz::UTC) };
    let saturday = Followups::new(core_of(&h), late).next_due_after(utc("2026-03-07T08:00:00Z")).await.unwrap();
    assert_eq!(saturday, Some(utc("2026-03-07T09:00:00Z")), "closed Monday 09:00, archived five days later");
    run_until(&h, &followups, utc("2026-03-05T08:59:00Z"), Duration::hours(1)).await;
    assert_eq!(archived(&h), 0);
    run_until(&h, &followups, utc("2026-03-08T09:00:00Z"), Duration::hours(1)).await;
    assert_eq!(archived(&h), 1, "archived once, however many ticks follow");
    assert!(h.chat.posts_to(&ch).last().unwrap().contains("this channel is archived"));
    // A second runner (a restart) archives nothing more.
    let again = Followups::new(
        core_of(&h),
        FollowupSettings { archive_after: Some(Duration::days(3)), ..followup_settings(Tz::UTC) },
    );
    again.tick(h.core.now()).await.unwrap();
    assert_eq!(archived(&h), 1);
}
