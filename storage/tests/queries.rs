//! The storage conformance suite: every case runs on a fresh migrated database of each
//! engine, SQLite and PostgreSQL (see `conformance!` at the end). The Postgres half needs
//! `TEST_POSTGRES_URL` (`.ci/run` sets it); outside CI it is skipped with one line
//! saying so, under `CI=true` it fails without it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, NaiveDate, Utc};
use storage::test_database::TestDatabase;
use storage::*;

fn t0() -> DateTime<Utc> {
    "2026-03-02T09:00:00Z".parse().unwrap()
}

fn new_incident(source: &str) -> NewIncident {
    NewIncident {
        title: "DB down".into(),
        description: None,
        severity: Severity::Sev2,
        platform: storage::Platform::Console,
        declared_by: "alice".into(),
        commander: Some("alice".into()),
        declare_source: source.into(),
        started_at: t0(),
        declared_at: t0(),
        drill: false,
        private: false,
        services: Vec::new(),
    }
}

async fn declared(db: &Db, source: &str) -> Incident {
    db.declare_incident(&new_incident(source), |id| format!("inc-{id}-db-down"), |_| "declared".into())
        .await
        .unwrap()
        .incident
}

fn entry(incident_id: i64, source: &str, kind: EntryKind) -> NewEntry {
    NewEntry {
        incident_id,
        source_id: source.into(),
        at: t0(),
        kind,
        author: "bob".into(),
        text: "hi".into(),
        is_key: false,
    }
}

async fn ids_count_up_from_one_and_declares_are_idempotent_by_source(db: Db, _url: &str) {
    let first = declared(&db, "req-1").await;
    let again = db.declare_incident(&new_incident("req-1"), |_| unreachable!(), |_| unreachable!()).await.unwrap();
    assert!(!again.is_new);
    assert_eq!(again.incident.id, first.id);
    let second = declared(&db, "req-2").await;
    assert_eq!((first.id, second.id), (1, 2));
    assert_eq!(first.channel_name, "inc-1-db-down");
    assert_eq!(first.commander.as_deref(), Some("alice"));
    assert_eq!(db.timeline(1, false).await.unwrap().len(), 1);
}

async fn a_repeated_source_id_is_stored_once(db: Db, _url: &str) {
    let incident = declared(&db, "req-1").await;
    for _ in 0..4 {
        db.add_entry(&entry(incident.id, "slack:C1:1.2", EntryKind::Message), true).await.unwrap();
    }
    let messages = db.timeline(incident.id, false).await.unwrap();
    assert_eq!(messages.iter().filter(|e| e.source_id == "slack:C1:1.2").count(), 1);
    // The first message by someone else acknowledged it.
    assert_eq!(db.incident(incident.id).await.unwrap().unwrap().acknowledged_at, Some(t0()));
}

async fn saving_from_a_stale_read_is_refused_and_writes_nothing(db: Db, _url: &str) {
    let incident = declared(&db, "req-1").await;
    let mut first = incident.clone();
    first.severity = Severity::Sev1;
    assert_eq!(
        db.save_incident(&first, None, Some(&entry(1, "a", EntryKind::Severity))).await.unwrap(),
        Saved::Written
    );
    let mut stale = incident.clone();
    stale.severity = Severity::Sev4;
    assert_eq!(
        db.save_incident(&stale, None, Some(&entry(1, "b", EntryKind::Severity))).await.unwrap(),
        Saved::Conflict
    );
    assert!(db.entry_by_source(&"b".into()).await.unwrap().is_none(), "the entry was rolled back");
    assert_eq!(db.incident(1).await.unwrap().unwrap().severity, Severity::Sev1);
    let retried = db.save_incident(&first, None, Some(&entry(1, "a", EntryKind::Severity))).await.unwrap();
    assert_eq!(retried, Saved::Duplicate);
}

async fn the_schema_refuses_inconsistent_rows(db: Db, _url: &str) {
    let incident = declared(&db, "req-1").await;
    let mut resolved_without_time = incident.clone();
    resolved_without_time.status = Status::Resolved;
    assert!(db.save_incident(&resolved_without_time, None, None).await.is_err());
    let mut resolved_before_declared = incident.clone();
    resolved_before_declared.status = Status::Resolved;
    resolved_before_declared.resolved_at = Some(t0() - Duration::hours(1));
    assert!(db.save_incident(&resolved_before_declared, None, None).await.is_err());
    // A timeline entry for an incident that does not exist breaks the foreign key.
    assert!(db.add_entry(&entry(99, "x", EntryKind::Message), false).await.is_err());
    assert_eq!(db.incident(1).await.unwrap().unwrap().status, Status::Investigating);
}

async fn action_items_filter_by_owner_and_overdue(db: Db, _url: &str) {
    let incident = declared(&db, "req-1").await;
    let item = |text: &str, owner: &str, due: &str| NewActionItem {
        incident_id: incident.id,
        text: text.into(),
        owner: owner.into(),
        due: due.parse().unwrap(),
        priority: Priority::Medium,
        kind: ActionKind::Prevent,
        created_by: "alice".into(),
        created_at: t0(),
        addresses: None,
    };
    db.add_action(&item("a", "bob", "2026-03-03"), &entry(1, "e1", EntryKind::Action)).await.unwrap().unwrap();
    db.add_action(&item("b", "carol", "2026-03-10"), &entry(1, "e2", EntryKind::Action)).await.unwrap().unwrap();
    assert!(db
        .add_action(&item("a", "bob", "2026-03-03"), &entry(1, "e1", EntryKind::Action))
        .await
        .unwrap()
        .is_none());
    let today: NaiveDate = "2026-03-05".parse().unwrap();
    let overdue = db.actions(&ActionFilter::OverdueOn { today, incident_id: None }).await.unwrap();
    assert_eq!(overdue.iter().map(|i| i.text.as_str()).collect::<Vec<_>>(), ["a"]);
    let bobs = db.actions(&ActionFilter::OpenOwnedBy { owner: "bob".into(), incident_id: Some(1) }).await.unwrap();
    assert_eq!(bobs.len(), 1);
    assert_eq!(
        db.set_action_status(1, ActionStatus::Open, ActionStatus::Done, t0(), &entry(1, "e3", EntryKind::Action))
            .await
            .unwrap(),
        Saved::Written
    );
    assert_eq!(
        db.set_action_status(1, ActionStatus::Open, ActionStatus::Done, t0(), &entry(1, "e4", EntryKind::Action))
            .await
            .unwrap(),
        Saved::Conflict
    );
    assert!(db.actions(&ActionFilter::OverdueOn { today, incident_id: None }).await.unwrap().is_empty());
}

async fn a_database_keeps_everything_across_reopen(db: Db, url: &str) {
    declared(&db, "req-1").await;
    db.close().await;
    let db = Db::connect(url).await.unwrap();
    assert_eq!(db.incident(1).await.unwrap().unwrap().title, "DB down");
    db.close().await;
    // Opening again applies no migration twice.
    let db = Db::connect_existing(url).await.unwrap();
    db.close().await;
    assert_eq!(Db::inspect(url).await.unwrap().pending_migrations, 0);
}

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
}

const TTL: std::time::Duration = std::time::Duration::from_secs(15);

async fn one_lease_holder_at_a_time_until_it_expires(db: Db, _url: &str) {
    let first = db.acquire_lease("active", "a", at(0), TTL).await.unwrap().unwrap();
    assert!(db.acquire_lease("active", "b", at(1), TTL).await.unwrap().is_none());
    // Renewing moves the expiry but keeps when it was first acquired, and the token.
    let renewed = db.acquire_lease("active", "a", at(10), TTL).await.unwrap().unwrap();
    assert_eq!(renewed, first);
    let held = db.lease_holder("active").await.unwrap().unwrap();
    assert_eq!((held.holder.as_str(), held.acquired_at, held.expires_at), ("a", at(0), at(25)));
    assert!(db.acquire_lease("active", "b", at(24), TTL).await.unwrap().is_none());
    // Expired: b takes over with a larger token, and a cannot renew any more.
    let taken = db.acquire_lease("active", "b", at(25), TTL).await.unwrap().unwrap();
    assert!(taken.token > first.token, "{taken:?} after {first:?}");
    assert!(db.acquire_lease("active", "a", at(26), TTL).await.unwrap().is_none());
    assert_eq!(db.lease_holder("active").await.unwrap().unwrap().acquired_at, at(25));
}

async fn a_released_lease_is_free_at_once_and_its_token_still_counts_up(db: Db, _url: &str) {
    let first = db.acquire_lease("active", "a", at(0), TTL).await.unwrap().unwrap();
    assert!(!db.release_lease("active", "b").await.unwrap());
    assert!(db.release_lease("active", "a").await.unwrap());
    assert!(!db.release_lease("active", "a").await.unwrap(), "released once");
    assert!(db.lease_holder("active").await.unwrap().unwrap().expires_at < at(1));
    let next = db.acquire_lease("active", "b", at(1), TTL).await.unwrap().unwrap();
    assert!(next.token > first.token);
}

async fn two_connections_never_both_hold_the_lease(db: Db, url: &str) {
    let second = Db::connect(url).await.unwrap();
    for round in 0..20 {
        let now = at(round * 100);
        let name = format!("race-{round}");
        let (a, b) = tokio::join!(db.acquire_lease(&name, "a", now, TTL), second.acquire_lease(&name, "b", now, TTL));
        assert!(a.unwrap().is_some() ^ b.unwrap().is_some(), "exactly one copy holds the lease");
    }
}

async fn a_fenced_claim_needs_the_current_token(db: Db, _url: &str) {
    let old = db.acquire_lease("active", "a", at(0), TTL).await.unwrap().unwrap();
    let key = DeliveryKey::new(DeliveryKind::ActionOverdue, 1, "2026-03-05");
    let other = DeliveryKey::new(DeliveryKind::ActionOverdue, 2, "2026-03-05");
    assert_eq!(db.claim_delivery_fenced(&key, at(1), "active", old).await.unwrap(), Claim::Claimed);
    assert_eq!(db.claim_delivery_fenced(&key, at(1), "active", old).await.unwrap(), Claim::AlreadyClaimed);
    let new = db.acquire_lease("active", "b", at(20), TTL).await.unwrap().unwrap();
    // The old holder woke up after its lease ran out: its claim is refused, so it sends
    // nothing, and the new holder can still claim the delivery.
    assert_eq!(db.claim_delivery_fenced(&other, at(21), "active", old).await.unwrap(), Claim::Fenced);
    assert_eq!(db.claim_delivery_fenced(&other, at(21), "active", new).await.unwrap(), Claim::Claimed);
}

async fn a_delivery_is_claimed_once_and_counts_its_attempts(db: Db, _url: &str) {
    let key = DeliveryKey::new(DeliveryKind::ActionOverdue, 12, "2026-03-05");
    assert!(db.claim_delivery(&key, at(0)).await.unwrap());
    assert!(!db.claim_delivery(&key, at(1)).await.unwrap());
    db.record_attempt(&key, at(2), Some("timed out")).await.unwrap();
    assert_eq!(db.delivery_sent_at(&key).await.unwrap(), None);
    db.record_attempt(&key, at(3), None).await.unwrap();
    assert_eq!(db.delivery_attempts(&key).await.unwrap(), 2);
    assert_eq!(db.delivery_sent_at(&key).await.unwrap(), Some(at(3)));
    assert_eq!(db.sent_count(DeliveryKind::ActionOverdue, "12").await.unwrap(), 1);
}

async fn the_last_run_never_moves_backwards(db: Db, _url: &str) {
    assert_eq!(db.last_run("digest").await.unwrap(), None);
    db.set_last_run("digest", at(10)).await.unwrap();
    db.set_last_run("digest", at(5)).await.unwrap();
    assert_eq!(db.last_run("digest").await.unwrap(), Some(at(10)));
    db.set_last_run("digest", at(20)).await.unwrap();
    assert_eq!(db.last_run("digest").await.unwrap(), Some(at(20)));
    assert_eq!(db.last_run("reminders").await.unwrap(), None);
}

async fn inbound_events_are_recorded_once_per_source_and_forgotten_when_old(db: Db, _url: &str) {
    let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    let slack = EventSource::slack();
    let alerts = EventSource::alerts("prometheus");
    assert!(!db.inbound_event_processed(&slack, "Ev1").await.unwrap());
    assert!(db.record_inbound_event(&slack, "Ev1", t0).await.unwrap());
    assert!(!db.record_inbound_event(&slack, "Ev1", t0).await.unwrap());
    assert!(db.inbound_event_processed(&slack, "Ev1").await.unwrap());
    assert!(!db.inbound_event_processed(&alerts, "Ev1").await.unwrap());
    assert_eq!(db.forget_inbound_events_before(t0 + Duration::seconds(1)).await.unwrap(), 1);
    assert!(!db.inbound_event_processed(&slack, "Ev1").await.unwrap());
}

async fn many_concurrent_writers_store_everything_once(db: Db, _url: &str) {
    let incident = declared(&db, "req-1").await;
    let tasks: Vec<_> = (0..200)
        .map(|n| {
            let db = db.clone();
            tokio::spawn(async move {
                // Every message is sent twice, as a platform retry would.
                let mut entry = entry(incident.id, &format!("m{}", n % 100), EntryKind::Message);
                entry.at = t0() + Duration::seconds(n % 100);
                db.add_entry(&entry, true).await
            })
        })
        .collect();
    let mut written = 0;
    for task in tasks {
        if task.await.unwrap().unwrap() == Saved::Written {
            written += 1;
        }
    }
    assert_eq!(written, 100);
    assert_eq!(db.count_entries().await.unwrap(), 101);
    // One of the racing messages acknowledged it: whichever was written first.
    let acknowledged = db.incident(incident.id).await.unwrap().unwrap().acknowledged_at.unwrap();
    assert!(acknowledged >= t0() && acknowledged < t0() + Duration::seconds(100), "{acknowledged}");
}

async fn a_request_declared_twice_at_once_opens_one_incident(db: Db, url: &str) {
    let second = Db::connect(url).await.unwrap();
    for n in 0..10 {
        let source = format!("req-{n}");
        let new = new_incident(&source);
        let (a, b) = tokio::join!(
            db.declare_incident(&new, |id| format!("inc-{id}"), |_| "declared".into()),
            second.declare_incident(&new, |id| format!("inc-{id}"), |_| "declared".into())
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.incident.id, b.incident.id);
        assert!(a.is_new ^ b.is_new, "exactly one declaration is new");
    }
    // Ids count up without gaps: a retried declaration spends none.
    assert_eq!(
        db.open_incidents().await.unwrap().iter().map(|i| i.id).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>()
    );
}

async fn concurrent_edits_of_one_incident_keep_exactly_one(db: Db, url: &str) {
    let incident = declared(&db, "req-1").await;
    let second = Db::connect(url).await.unwrap();
    let mut a = incident.clone();
    a.severity = Severity::Sev1;
    let mut b = incident.clone();
    b.severity = Severity::Sev3;
    let (entry_a, entry_b) =
        (entry(incident.id, "edit-a", EntryKind::Severity), entry(incident.id, "edit-b", EntryKind::Severity));
    let (ra, rb) =
        tokio::join!(db.save_incident(&a, None, Some(&entry_a)), second.save_incident(&b, None, Some(&entry_b)));
    let outcomes = [ra.unwrap(), rb.unwrap()];
    assert!(outcomes.contains(&Saved::Written) && outcomes.contains(&Saved::Conflict), "{outcomes:?}");
    let stored = db.incident(incident.id).await.unwrap().unwrap();
    assert_eq!(stored.revision, incident.revision + 1);
    let winner = if outcomes[0] == Saved::Written { "edit-a" } else { "edit-b" };
    let loser = if winner == "edit-a" { "edit-b" } else { "edit-a" };
    assert!(db.entry_by_source(&winner.into()).await.unwrap().is_some());
    assert!(db.entry_by_source(&loser.into()).await.unwrap().is_none(), "the refused edit left no entry");
}

async fn non_ascii_text_round_trips(db: Db, _url: &str) {
    let mut new = new_incident("req-ü");
    new.title = "Zahlungen ⚠️ مدفوعات 👩‍💻\u{a0}down".into();
    let incident = db.declare_incident(&new, |id| format!("inc-{id}"), |_| "déclaré ✅".into()).await.unwrap().incident;
    assert_eq!(incident.title, new.title);
    let mut e = entry(incident.id, "m-ü", EntryKind::Message);
    e.text = "נפל\u{200d}🔥 \u{7}".into();
    db.add_entry(&e, false).await.unwrap();
    assert_eq!(db.entry_by_source(&"m-ü".into()).await.unwrap().unwrap().text, e.text);
}

/// Every case above, once per engine: `mod sqlite` and `mod postgres`, each case on a
/// fresh database that is removed again afterwards.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    super::run(storage::Engine::Sqlite, async |db, url| super::$case(db, url).await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    super::run(storage::Engine::Postgres, async |db, url| super::$case(db, url).await).await;
                }
            )*
        }
    };
}

/// Runs `case` on a fresh database of `engine` (skipped as `TestDatabase` says).
async fn run(engine: Engine, case: impl AsyncFnOnce(Db, &str)) {
    let Some(database) = TestDatabase::new(engine).await else { return };
    let db = database.open().await.unwrap();
    case(db.clone(), &database.url).await;
    db.close().await;
}

conformance!(
    ids_count_up_from_one_and_declares_are_idempotent_by_source,
    a_repeated_source_id_is_stored_once,
    saving_from_a_stale_read_is_refused_and_writes_nothing,
    the_schema_refuses_inconsistent_rows,
    action_items_filter_by_owner_and_overdue,
    a_database_keeps_everything_across_reopen,
    one_lease_holder_at_a_time_until_it_expires,
    a_released_lease_is_free_at_once_and_its_token_still_counts_up,
    two_connections_never_both_hold_the_lease,
    a_fenced_claim_needs_the_current_token,
    a_delivery_is_claimed_once_and_counts_its_attempts,
    the_last_run_never_moves_backwards,
    inbound_events_are_recorded_once_per_source_and_forgotten_when_old,
    many_concurrent_writers_store_everything_once,
    a_request_declared_twice_at_once_opens_one_incident,
    concurrent_edits_of_one_incident_keep_exactly_one,
    non_ascii_text_round_trips,
    attachments_change_once_with_their_entry_and_read_back_in_order,
    the_library_search_finds_postmortems_and_key_events_and_follows_edits,
    the_inbox_accepts_once_replays_in_order_and_counts_the_waiting,
    concurrent_inbox_accepts_each_get_their_own_answer,
    the_inbox_prunes_only_what_was_done_long_ago_and_forgets_a_refused_request,
    a_step_is_new_then_interrupted_then_finished,
    a_sign_in_link_starts_one_session_however_many_race,
    the_library_finds_key_timeline_events_after_every_migration,
    alert_repeats_only_move_last_seen_and_changes_become_pending,
    an_alert_delivery_id_is_applied_once_however_many_race,
    alert_deliveries_racing_on_two_handles_store_each_alert_and_group_once,
    a_triage_post_and_a_resolve_nudge_are_claimed_once_on_two_handles,
    alert_noise_counts_dismissed_and_resolved_alone_by_source_and_name,
    an_outbox_job_is_enqueued_once_and_one_attempt_of_two_handles_holds_it,
    a_fenced_job_attempt_needs_the_current_token,
    a_library_search_matching_very_many_ranks_the_newest_and_says_so,
    the_insights_counts_agree_on_both_engines,
);

async fn the_insights_counts_agree_on_both_engines(db: Db, _url: &str) {
    let incident = declared(&db, "req-1").await;
    let item = |text: &str, owner: &str, due: &str| NewActionItem {
        incident_id: incident.id,
        text: text.into(),
        owner: owner.into(),
        due: due.parse().unwrap(),
        priority: Priority::Medium,
        kind: ActionKind::Prevent,
        created_by: "alice".into(),
        created_at: t0(),
        addresses: None,
    };
    db.add_action(&item("a", "bob", "2026-03-03"), &entry(1, "e1", EntryKind::Action)).await.unwrap().unwrap();
    db.add_action(&item("b", "bob", "2026-03-04"), &entry(1, "e2", EntryKind::Action)).await.unwrap().unwrap();
    db.add_action(&item("c", "carol", "2026-04-10"), &entry(1, "e3", EntryKind::Action)).await.unwrap().unwrap();
    let hour = chrono::Duration::hours(1);
    let moments = db.incident_moments_between(t0() - hour, t0() + hour).await.unwrap();
    assert_eq!(moments.len(), 1);
    assert_eq!((moments[0].id, moments[0].drill, moments[0].detected_by_alert), (incident.id, false, false));
    assert!(db.incident_moments_between(t0() + hour, t0() + hour * 2).await.unwrap().is_empty());
    let counts = db.action_counts_since(t0() - hour, [t0() - hour, t0(), t0() + hour]).await.unwrap();
    assert_eq!((counts.open, counts.done, counts.wontfix, counts.open_since), (3, 0, 0, [3, 3, 0]));
    let today: NaiveDate = "2026-03-05".parse().unwrap();
    assert_eq!(db.overdue_owners_since(t0() - hour, today, 10).await.unwrap(), vec![("bob".to_string(), 2)]);
    assert_eq!(db.open_actions_per_incident_since(t0() - hour).await.unwrap(), vec![(incident.id, 3)]);
}

async fn attachments_change_once_with_their_entry_and_read_back_in_order(db: Db, _url: &str) {
    use storage::{Attached, Attachment};
    let incident = declared(&db, "req-1").await;
    let add = |source: &str| entry(incident.id, source, EntryKind::Note);
    assert_eq!(db.attach(Attachment::Service, "search", &add("s1")).await.unwrap(), Attached::Changed);
    assert_eq!(db.attach(Attachment::Service, "checkout", &add("s2")).await.unwrap(), Attached::Changed);
    // A retried request changes nothing; a name already there writes no entry either.
    assert_eq!(db.attach(Attachment::Service, "search", &add("s1")).await.unwrap(), Attached::Duplicate);
    assert_eq!(db.attach(Attachment::Service, "search", &add("s3")).await.unwrap(), Attached::Unchanged);
    assert!(db.entry_by_source(&"s3".into()).await.unwrap().is_none(), "the unchanged write left no entry");
    assert_eq!(db.attached(Attachment::Service, incident.id).await.unwrap(), vec!["checkout", "search"]);
    assert_eq!(db.detach(Attachment::Service, "search", &add("s4")).await.unwrap(), Attached::Changed);
    assert_eq!(db.detach(Attachment::Service, "search", &add("s5")).await.unwrap(), Attached::Unchanged);
    assert_eq!(db.attach(Attachment::Factor, "change", &add("f1")).await.unwrap(), Attached::Changed);
    let since = db.attached_since(Attachment::Factor, t0() - Duration::days(1)).await.unwrap();
    assert_eq!(since, vec![(incident.id, "change".to_string())]);
    assert!(db.attached_since(Attachment::Factor, t0() + Duration::days(1)).await.unwrap().is_empty());
    // A name too long for the column is refused by the schema, and nothing is written.
    assert!(db.attach(Attachment::Factor, &"x".repeat(65), &add("f2")).await.is_err());
    assert!(db.entry_by_source(&"f2".into()).await.unwrap().is_none());
}

fn pm_entry(incident_id: i64, source: &str) -> NewEntry {
    NewEntry { kind: EntryKind::Postmortem, ..entry(incident_id, source, EntryKind::Postmortem) }
}

/// The hit's snippet with its marked words in brackets, for readable assertions.
fn marked(hit: &LibraryHit) -> String {
    hit.snippet.replace(pages::HIT_START, "[").replace(pages::HIT_END, "]")
}

async fn the_library_search_finds_postmortems_and_key_events_and_follows_edits(db: Db, _url: &str) {
    let first = declared(&db, "req-1").await;
    let second = declared(&db, "req-2").await;
    let summary = "The primary database ran out of connections when the nightly batch job started, \
                   and every retry from the API made the pile-up worse until the pool was raised";
    let saved = db
        .save_postmortem(
            first.id,
            &[
                (PostmortemField::Summary, summary.into(), pm_entry(first.id, "pm-1")),
                (
                    PostmortemField::Lessons,
                    "Alert on pool saturation, not only on errors".into(),
                    pm_entry(first.id, "pm-2"),
                ),
            ],
            t0(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(saved, Saved::Written);
    let key = NewEntry {
        text: "Raised the connection pool to 400".into(),
        is_key: true,
        ..entry(second.id, "k-1", EntryKind::Note)
    };
    db.add_entry(&key, false).await.unwrap();
    db.add_entry(
        &NewEntry { text: "connection chatter, not key".into(), ..entry(second.id, "m-1", EntryKind::Message) },
        false,
    )
    .await
    .unwrap();

    // Every word required; stemming lets "connections" find "connection".
    let hits = db.search_library("\"connections\"", 10).await.unwrap().hits;
    let mut found: Vec<(i64, String)> = hits.iter().map(|h| (h.incident_id, h.part.clone())).collect();
    found.sort();
    assert_eq!(found, vec![(first.id, "summary".to_string()), (second.id, "timeline".to_string())], "{hits:?}");
    let hits = db.search_library("\"nightly\" \"batch\"", 10).await.unwrap().hits;
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!((hits[0].incident_id, hits[0].part.as_str()), (first.id, "summary"));
    let shown = marked(&hits[0]);
    assert!(shown.contains("[nightly] [batch]"), "{shown}");
    assert!(shown.ends_with('…'), "a passage cut short says so: {shown}");
    assert!(
        db.search_library("\"nightly\" \"kubernetes\"", 10).await.unwrap().hits.is_empty(),
        "all words are required"
    );
    // Quoted operators are plain words.
    assert!(db.search_library("\"AND\" \"NEAR\"", 10).await.unwrap().hits.is_empty());
    // Non-ASCII text is found and marked whole.
    db.save_postmortem(
        second.id,
        &[(PostmortemField::Impact, "Zahlungen über Café-Kasse fielen aus".into(), pm_entry(second.id, "pm-3"))],
        t0(),
        None,
    )
    .await
    .unwrap();
    let hits = db.search_library("\"Zahlungen\"", 10).await.unwrap().hits;
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert!(marked(&hits[0]).starts_with("[Zahlungen] über"), "{}", marked(&hits[0]));

    // The index follows edits: a changed field, an entry no longer key, a deleted one.
    db.save_postmortem(
        first.id,
        &[(PostmortemField::Summary, "A certificate expired".into(), pm_entry(first.id, "pm-4"))],
        t0(),
        None,
    )
    .await
    .unwrap();
    assert!(db.search_library("\"nightly\"", 10).await.unwrap().hits.is_empty());
    assert_eq!(db.search_library("\"certificate\"", 10).await.unwrap().hits.len(), 1);
    assert_eq!(db.search_library("\"saturation\"", 10).await.unwrap().hits.len(), 1, "other fields stay");
    assert!(db.delete_entry(&"k-1".into(), t0()).await.unwrap());
    let hits = db.search_library("\"connections\"", 10).await.unwrap().hits;
    assert!(hits.is_empty(), "{hits:?}");
}

fn inbox_request(id: &str, at: DateTime<Utc>) -> InboxRequest {
    InboxRequest {
        source_id: id.into(),
        source: EventSource::slack_requests(),
        kind: "command".into(),
        user: "U1".into(),
        channel_id: "C1".into(),
        request: r#"{"text":"declare Datenbank ist weg ✓"}"#.into(),
        reply_handle: Some("https://hooks.example/1".into()),
        received_at: at,
    }
}

async fn the_inbox_accepts_once_replays_in_order_and_counts_the_waiting(db: Db, _url: &str) {
    let later = t0() + Duration::seconds(5);
    assert!(db.inbox_accept(&inbox_request("b", later)).await.unwrap());
    assert!(db.inbox_accept(&inbox_request("a", t0())).await.unwrap());
    assert!(!db.inbox_accept(&inbox_request("a", t0())).await.unwrap(), "a second delivery is recognised");
    let source = EventSource::slack_requests();
    let waiting: Vec<SourceId> =
        db.inbox_unfinished(&source).await.unwrap().into_iter().map(|r| r.request.source_id).collect();
    assert_eq!(waiting, vec![SourceId::from("a"), SourceId::from("b")]);
    assert!(db.inbox_unfinished(&EventSource::slack()).await.unwrap().is_empty(), "other sources are apart");
    assert_eq!(db.inbox_waiting_count(later).await.unwrap(), 1);
    assert!(db.inbox_done(&"a".into(), later).await.unwrap());
    assert!(!db.inbox_done(&"a".into(), later).await.unwrap());
    assert!(!db.inbox_done(&"never-seen".into(), later).await.unwrap());
    assert_eq!(db.inbox_waiting_count(later).await.unwrap(), 0);
    let row = db.inbox_row(&"a".into()).await.unwrap().unwrap();
    assert_eq!(row.done_at, Some(later));
    assert_eq!(row.request, inbox_request("a", t0()));
    assert_eq!(db.inbox_row(&"nope".into()).await.unwrap(), None);
}

async fn the_inbox_prunes_only_what_was_done_long_ago_and_forgets_a_refused_request(db: Db, _url: &str) {
    let day = Duration::days(1);
    for id in ["old-done", "old-waiting", "new-done"] {
        assert!(db.inbox_accept(&inbox_request(id, t0())).await.unwrap());
    }
    db.inbox_done(&"old-done".into(), t0()).await.unwrap();
    db.inbox_done(&"new-done".into(), t0() + day * 3).await.unwrap();
    assert_eq!(db.inbox_prune(t0() + day).await.unwrap(), 1);
    assert!(db.inbox_row(&"old-done".into()).await.unwrap().is_none(), "done long ago: pruned");
    assert!(db.inbox_row(&"old-waiting".into()).await.unwrap().is_some(), "never done: kept");
    assert!(db.inbox_row(&"new-done".into()).await.unwrap().is_some(), "done lately: kept");
    assert!(db.inbox_forget(&"old-waiting".into()).await.unwrap(), "a refused request goes");
    assert!(!db.inbox_forget(&"new-done".into()).await.unwrap(), "a done one stays");
    assert!(db.inbox_accept(&inbox_request("old-waiting", t0())).await.unwrap(), "and its id is taken anew");
}

async fn concurrent_inbox_accepts_each_get_their_own_answer(db: Db, url: &str) {
    let second = Db::connect(url).await.unwrap();
    let mut tasks = Vec::new();
    for n in 0..60 {
        let db = if n % 2 == 0 { db.clone() } else { second.clone() };
        // Every fifth is a second delivery of an earlier id.
        let id = if n % 5 == 4 { format!("r{}", n - 1) } else { format!("r{n}") };
        tasks.push(tokio::spawn(async move { db.inbox_accept(&inbox_request(&id, t0())).await.unwrap() }));
    }
    let mut accepted = 0;
    for task in tasks {
        accepted += usize::from(task.await.unwrap());
    }
    assert_eq!(accepted, 48);
    assert_eq!(db.inbox_unfinished(&EventSource::slack_requests()).await.unwrap().len(), 48);
    second.close().await;
}

async fn a_step_is_new_then_interrupted_then_finished(db: Db, url: &str) {
    let incident = declared(&db, "req-1").await;
    let request: SourceId = "req-1".into();
    assert_eq!(
        db.incidents_with_unfinished_steps().await.unwrap(),
        vec![UnfinishedIncident { incident_id: incident.id, steps: vec!["channel".into()] }],
        "an incident without its channel is unfinished before any step is begun"
    );
    // Two copies beginning one step at once: exactly one sees it new.
    let second = Db::connect(url).await.unwrap();
    let (a, b) = tokio::join!(
        db.step_begin(incident.id, &request, "channel", t0()),
        second.step_begin(incident.id, &request, "channel", t0())
    );
    let mut states = vec![a.unwrap(), b.unwrap()];
    states.sort_by_key(|s| format!("{s:?}"));
    assert_eq!(states, vec![StepState::Interrupted { attempts: 1 }, StepState::New]);
    assert_eq!(
        db.step_begin(incident.id, &request, "channel", t0()).await.unwrap(),
        StepState::Interrupted { attempts: 2 }
    );
    assert_eq!(db.step_begin(incident.id, &request, "topic", t0()).await.unwrap(), StepState::New);
    assert_eq!(db.step_result(&request, "channel").await.unwrap(), None);
    db.step_finish(&request, "channel", "C0NEW", t0()).await.unwrap();
    assert_eq!(
        db.step_begin(incident.id, &request, "channel", t0()).await.unwrap(),
        StepState::Finished { result: "C0NEW".into() }
    );
    assert_eq!(db.step_result(&request, "channel").await.unwrap().as_deref(), Some("C0NEW"));
    let unfinished = db.incidents_with_unfinished_steps().await.unwrap();
    assert_eq!(unfinished.len(), 1);
    assert!(unfinished[0].steps.contains(&"topic".to_string()), "{unfinished:?}");
    second.close().await;
}

async fn a_sign_in_link_starts_one_session_however_many_race(db: Db, url: &str) {
    let who = WebUser { platform: storage::Platform::Slack, user_id: "U0ALICE".into() };
    let expires = t0() + Duration::minutes(10);
    db.add_web_link("link-hash", &who, t0(), expires).await.unwrap();
    assert_eq!(db.check_web_link("link-hash", t0()).await.unwrap(), Ok(who.clone()));
    assert_eq!(db.check_web_link("other", t0()).await.unwrap(), Err(LinkRefusal::Unknown));
    assert_eq!(db.check_web_link("link-hash", expires).await.unwrap(), Err(LinkRefusal::Expired));
    let second = Db::connect(url).await.unwrap();
    let (a, b) = tokio::join!(
        db.redeem_web_link("link-hash", "session-a", t0()),
        second.redeem_web_link("link-hash", "session-b", t0())
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.is_ok() ^ b.is_ok(), "exactly one redeems: {a:?} {b:?}");
    assert_eq!(if a.is_ok() { b } else { a }, Err(LinkRefusal::Used));
    let session_hash = if db.web_session("session-a").await.unwrap().is_some() { "session-a" } else { "session-b" };
    let other = if session_hash == "session-a" { "session-b" } else { "session-a" };
    assert_eq!(db.web_session(other).await.unwrap(), None, "the loser started no session");
    let later = t0() + Duration::minutes(3);
    db.touch_web_session(session_hash, later).await.unwrap();
    let session = db.web_session(session_hash).await.unwrap().unwrap();
    assert_eq!((session.user, session.created_at, session.last_seen_at, session.ended), (who, t0(), later, false));
    db.end_web_session(session_hash, later).await.unwrap();
    assert!(db.web_session(session_hash).await.unwrap().unwrap().ended);
    second.close().await;
}

async fn the_library_finds_key_timeline_events_after_every_migration(db: Db, _url: &str) {
    // A later migration rebuilt `timeline_entries` and with it dropped the library's
    // triggers; key events written afterwards were never indexed.
    let incident = declared(&db, "req-1").await;
    let mut key = entry(incident.id, "msg-1", EntryKind::Message);
    key.text = "the replica fell behind by forty minutes".into();
    db.add_entry(&key, false).await.unwrap();
    let mut plain = entry(incident.id, "msg-2", EntryKind::Message);
    plain.text = "forty coffees later".into();
    db.add_entry(&plain, false).await.unwrap();
    assert!(db.search_library("replica", 10).await.unwrap().hits.is_empty(), "not a key event yet");
    assert!(db.mark_key(&"msg-1".into()).await.unwrap());
    let found = db.search_library("replica", 10).await.unwrap();
    assert!(!found.narrowed);
    let hits = found.hits;
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!((hits[0].incident_id, hits[0].part.as_str()), (incident.id, "timeline"));
    assert!(db.search_library("coffees", 10).await.unwrap().hits.is_empty(), "only key events are searched");
}

async fn a_library_search_matching_very_many_ranks_the_newest_and_says_so(db: Db, _url: &str) {
    let incident = declared(&db, "req-1").await;
    let total = usize::try_from(storage::pages::RANKED_CANDIDATES).unwrap() + 5;
    for n in 0..total {
        let mut key = entry(incident.id, &format!("msg-{n}"), EntryKind::Message);
        key.text = format!("replica lag {n}");
        key.is_key = true;
        db.add_entry(&key, false).await.unwrap();
    }
    let broad = db.search_library("\"replica\"", 10).await.unwrap();
    assert!(broad.narrowed);
    assert_eq!(broad.hits.len(), 10);
    assert!(broad.hits.iter().all(|h| h.snippet.contains('\u{2}')), "{:?}", broad.hits);
    let narrow = db.search_library("\"replica\" \"7\"", 10).await.unwrap();
    assert!(!narrow.narrowed);
    assert_eq!(narrow.hits.len(), 1, "{:?}", narrow.hits);
}

fn alert(fingerprint: &str, group_key: &str, status: AlertStatus, starts: i64) -> NewAlert {
    NewAlert {
        fingerprint: fingerprint.into(),
        group_key: group_key.into(),
        alertname: "HighErrorRate".into(),
        title: "Errors".into(),
        labels: "{}".into(),
        annotations: "{}".into(),
        url: None,
        status,
        starts_at: DateTime::from_timestamp(starts, 0).unwrap(),
        ends_at: None,
    }
}

async fn alert_repeats_only_move_last_seen_and_changes_become_pending(db: Db, _url: &str) {
    let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let firing = alert("f1", "g", AlertStatus::Firing, 1_799_999_000);
    let first = db.store_alert_delivery("prom", None, std::slice::from_ref(&firing), at).await.unwrap();
    assert_eq!(first.new, 1);
    let stored = db.pending_alerts(0, 10).await.unwrap().remove(0);
    assert!(stored.pending);
    db.set_alert_state(stored.id, AlertState::Triage, None, Some(stored.version)).await.unwrap();
    assert!(db.pending_alerts(0, 10).await.unwrap().is_empty());

    let later = at + Duration::seconds(30);
    let repeat = db.store_alert_delivery("prom", None, std::slice::from_ref(&firing), later).await.unwrap();
    assert_eq!((repeat.new, repeat.changed, repeat.repeated), (0, 0, 1));
    assert!(db.pending_alerts(0, 10).await.unwrap().is_empty());
    let repeated = db.alert(stored.id).await.unwrap().unwrap();
    assert_eq!((repeated.deliveries, repeated.last_seen, repeated.first_seen), (2, later, at));
    assert_eq!(db.alerts_in_triage(10).await.unwrap().len(), 1);

    let resolved = alert("f1", "g", AlertStatus::Resolved, 1_799_999_000);
    assert_eq!(db.store_alert_delivery("prom", None, &[resolved], at).await.unwrap().changed, 1);
    let again = alert("f1", "g", AlertStatus::Firing, 1_800_000_500);
    assert_eq!(db.store_alert_delivery("prom", None, &[again], at).await.unwrap().changed, 1);
    let pending = db.pending_alerts(0, 10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!((pending[0].generation, pending[0].version, pending[0].deliveries), (2, 3, 4));
    // A worker that read an older version does not clear the newer change.
    db.finish_alert(stored.id, pending[0].version - 1).await.unwrap();
    assert_eq!(db.pending_alerts(0, 10).await.unwrap().len(), 1);
    db.finish_alert(stored.id, pending[0].version).await.unwrap();
    assert!(db.pending_alerts(0, 10).await.unwrap().is_empty());
    // The same fingerprint from another source is another alert, and the repeats and
    // changes spent no number: it is alert 2.
    assert_eq!(db.store_alert_delivery("grafana", None, &[firing], at).await.unwrap().new, 1);
    assert_eq!(db.alerts_of_group("grafana", "g").await.unwrap()[0].id, 2);
    let mut counts = db.alert_counts().await.unwrap();
    counts.sort();
    assert_eq!(counts, vec![("grafana".into(), AlertState::New, 1), ("prom".into(), AlertState::Triage, 1)]);
}

async fn an_alert_delivery_id_is_applied_once_however_many_race(db: Db, url: &str) {
    let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let firing = alert("f1", "g", AlertStatus::Firing, 1_799_999_000);
    let second = Db::connect(url).await.unwrap();
    let (a, b) = tokio::join!(
        db.store_alert_delivery("pd", Some("w1"), std::slice::from_ref(&firing), at),
        second.store_alert_delivery("pd", Some("w1"), std::slice::from_ref(&firing), at)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.duplicate_delivery ^ b.duplicate_delivery, "exactly one applies it: {a:?} {b:?}");
    assert_eq!(a.new + b.new, 1);
    let stored = db.alerts_of_group("pd", "g").await.unwrap();
    assert_eq!((stored.len(), stored[0].deliveries), (1, 1));
    let third = db.store_alert_delivery("pd", Some("w1"), &[firing], at).await.unwrap();
    assert!(third.duplicate_delivery);
    second.close().await;
}

/// Two copies storing deliveries of one group at once (the same alerts, in either
/// order, and a resolve racing a repeat): each alert and the group are stored once,
/// every delivery is counted, and the one change is counted once.
async fn alert_deliveries_racing_on_two_handles_store_each_alert_and_group_once(db: Db, url: &str) {
    let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let second = Db::connect(url).await.unwrap();
    let one = alert("f1", "checkout", AlertStatus::Firing, 1_799_999_000);
    let two = alert("f2", "checkout", AlertStatus::Firing, 1_799_999_000);
    let forward = [one.clone(), two.clone()];
    let backward = [two.clone(), one.clone()];
    let mut new = 0;
    for _ in 0..10 {
        let (a, b) = tokio::join!(
            db.store_alert_delivery("am", None, &forward, at),
            second.store_alert_delivery("am", None, &backward, at)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        new += a.new + b.new;
        assert_eq!(a.changed + b.changed, 0);
    }
    assert_eq!(new, 2, "each alert is new once");
    let stored = db.alerts_of_group("am", "checkout").await.unwrap();
    assert_eq!(
        stored.iter().map(|a| (a.fingerprint.as_str(), a.deliveries)).collect::<Vec<_>>(),
        [("f1", 20), ("f2", 20)]
    );
    assert!(db.alert_group("am", "checkout").await.unwrap().is_some());

    let resolved = [alert("f1", "checkout", AlertStatus::Resolved, 1_799_999_000)];
    let (a, b) = tokio::join!(
        db.store_alert_delivery("am", None, &resolved, at),
        second.store_alert_delivery("am", None, &resolved, at)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!((a.changed + b.changed, a.repeated + b.repeated), (1, 1), "{a:?} {b:?}");
    let f1 = db.alerts_of_group("am", "checkout").await.unwrap().remove(0);
    assert_eq!((f1.status, f1.version, f1.deliveries), (AlertStatus::Resolved, 2, 22));
    second.close().await;
}

/// A group's triage post is claimed by one of two copies, its triage ended by one, and
/// each "all resolved" nudge claimed by one.
async fn a_triage_post_and_a_resolve_nudge_are_claimed_once_on_two_handles(db: Db, url: &str) {
    let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let second = Db::connect(url).await.unwrap();
    db.store_alert_delivery("am", None, &[alert("f1", "disk", AlertStatus::Firing, 1_799_999_000)], at).await.unwrap();
    let stored = db.alerts_of_group("am", "disk").await.unwrap().remove(0);
    db.set_alert_state(stored.id, AlertState::Triage, None, Some(stored.version)).await.unwrap();
    let group = db.alert_group("am", "disk").await.unwrap().unwrap();
    assert!(!group.triage_claimed);
    let (a, b) = tokio::join!(
        db.claim_triage_post(group.id, Severity::Sev2, at),
        second.claim_triage_post(group.id, Severity::Sev3, at)
    );
    assert!(a.unwrap() ^ b.unwrap(), "exactly one posts the triage");
    db.set_triage_post(group.id, &ChannelId::from("C-TRIAGE"), "1.2").await.unwrap();
    let claimed = db.alert_group("am", "disk").await.unwrap().unwrap();
    assert!(claimed.triage_claimed);
    assert_eq!((claimed.triage_channel.as_deref(), claimed.triage_message.as_deref()), (Some("C-TRIAGE"), Some("1.2")));
    assert!(!db.claim_triage_post(group.id, Severity::Sev2, at).await.unwrap(), "an open triage is not posted again");

    let incident = declared(&db, "req-1").await;
    let (a, b) = tokio::join!(
        db.end_triage(group.id, TriageOutcome::Declared, AlertState::Attached, Some(incident.id)),
        second.end_triage(group.id, TriageOutcome::Dismissed, AlertState::Dismissed, None)
    );
    assert!(a.as_ref().unwrap() ^ b.as_ref().unwrap(), "exactly one ends the triage");
    let ended = db.alert_group("am", "disk").await.unwrap().unwrap();
    let alert = db.alert(stored.id).await.unwrap().unwrap();
    if a.unwrap() {
        assert_eq!((ended.triage_outcome, ended.incident_id), (Some(TriageOutcome::Declared), Some(incident.id)));
        assert_eq!((alert.state, alert.incident_id), (AlertState::Attached, Some(incident.id)));
        assert_eq!(db.alerts_of_incident(incident.id).await.unwrap().len(), 1);
    } else {
        assert_eq!((ended.triage_outcome, ended.incident_id), (Some(TriageOutcome::Dismissed), None));
        assert_eq!(alert.state, AlertState::Dismissed);
        assert!(db.alerts_in_triage(10).await.unwrap().is_empty());
    }
    // An ended triage can be opened again by a later firing.
    assert!(db.claim_triage_post(group.id, Severity::Sev1, at).await.unwrap());

    let (a, b) =
        tokio::join!(db.claim_alert_nudge(incident.id, "v2", at), second.claim_alert_nudge(incident.id, "v2", at));
    assert!(a.unwrap() ^ b.unwrap(), "exactly one nudges");
    assert!(db.claim_alert_nudge(incident.id, "v3", at).await.unwrap());

    let detection =
        Detection { incident_id: incident.id, source: "am".into(), alertname: "DiskFull".into(), alert_at: at };
    db.record_detection(&detection).await.unwrap();
    db.record_detection(&Detection { alertname: "Later".into(), ..detection.clone() }).await.unwrap();
    assert_eq!(db.detection(incident.id).await.unwrap(), Some(detection.clone()));
    assert_eq!(db.detections_between(t0() - Duration::days(1), t0() + Duration::days(1)).await.unwrap(), [detection]);
    assert_eq!(db.incident_id_by_declare_source(&"req-1".into()).await.unwrap(), Some(incident.id));
    second.close().await;
}

async fn alert_noise_counts_dismissed_and_resolved_alone_by_source_and_name(db: Db, _url: &str) {
    let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let alerts = [
        alert("a", "g1", AlertStatus::Firing, 1_799_999_000),
        alert("b", "g2", AlertStatus::Firing, 1_799_999_000),
        alert("c", "g3", AlertStatus::Firing, 1_799_999_000),
    ];
    db.store_alert_delivery("am", None, &alerts, at).await.unwrap();
    let ids: Vec<i64> = db.pending_alerts(0, 10).await.unwrap().iter().map(|a| a.id).collect();
    db.set_alert_state(ids[0], AlertState::Dismissed, None, None).await.unwrap();
    db.set_alert_state(ids[1], AlertState::Noise, None, None).await.unwrap();
    db.set_alert_state(ids[2], AlertState::Noise, None, None).await.unwrap();
    let noise = db.alert_noise_between(at - Duration::hours(1), at + Duration::hours(1)).await.unwrap();
    assert_eq!(
        noise,
        [NoiseCount { source: "am".into(), alertname: "HighErrorRate".into(), dismissed: 1, resolved_on_own: 2 }]
    );
    assert!(db.alert_noise_between(at + Duration::hours(1), at + Duration::hours(2)).await.unwrap().is_empty());
}

fn tracker_job(subject: &str) -> NewJob {
    NewJob { kind: "tracker_create".into(), subject: subject.into(), period: String::new(), payload: String::new() }
}

async fn an_outbox_job_is_enqueued_once_and_one_attempt_of_two_handles_holds_it(db: Db, url: &str) {
    let job = tracker_job("12");
    assert!(db.enqueue_job(&job, at(0)).await.unwrap());
    assert!(!db.enqueue_job(&job, at(1)).await.unwrap());
    let second = Db::connect(url).await.unwrap();
    let key = job.key();
    let (a, b) = tokio::join!(db.begin_job_attempt(&key, at(1), at(61)), second.begin_job_attempt(&key, at(1), at(61)));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.is_some() ^ b.is_some(), "exactly one holds it: {a:?} {b:?}");
    assert!(!a.or(b).unwrap().earlier_outcome_unknown);
    // Held: nobody else gets it, and it is not due for anyone.
    assert!(db.begin_job_attempt(&job.key(), at(2), at(62)).await.unwrap().is_none());
    assert!(db.due_jobs(at(2)).await.unwrap().is_empty());
    db.fail_job(&job.key(), "503", at(30)).await.unwrap();
    assert!(db.due_jobs(at(29)).await.unwrap().is_empty());
    assert_eq!(db.due_jobs(at(30)).await.unwrap().len(), 1);
    // The failure was recorded, so this attempt knows the last one did not go through.
    assert!(!db.begin_job_attempt(&job.key(), at(30), at(90)).await.unwrap().unwrap().earlier_outcome_unknown);
    // That one dies mid-call: once its hold runs out, the next attempt is warned.
    assert!(db.begin_job_attempt(&job.key(), at(90), at(150)).await.unwrap().unwrap().earlier_outcome_unknown);
    db.finish_job(&job.key(), at(91)).await.unwrap();
    assert!(db.begin_job_attempt(&job.key(), at(200), at(260)).await.unwrap().is_none());
    let stored = db.job(&job.key()).await.unwrap().unwrap();
    assert_eq!((stored.attempts, stored.done_at), (3, Some(at(91))));
    assert!(db.pending_jobs().await.unwrap().is_empty());
    second.close().await;
}

async fn a_fenced_job_attempt_needs_the_current_token(db: Db, _url: &str) {
    let old = db.acquire_lease("active", "a", at(0), TTL).await.unwrap().unwrap();
    let (first, other) = (tracker_job("1"), tracker_job("2"));
    db.enqueue_job(&first, at(0)).await.unwrap();
    db.enqueue_job(&other, at(0)).await.unwrap();
    assert!(db.begin_job_attempt_fenced(&first.key(), at(1), at(2), "active", old).await.unwrap().is_some());
    // A token of another lease name holds nothing.
    assert!(db.begin_job_attempt_fenced(&other.key(), at(1), at(2), "other", old).await.unwrap().is_none());
    let new = db.acquire_lease("active", "b", at(20), TTL).await.unwrap().unwrap();
    // The old holder woke after its lease ran out: it claims nothing, so it calls
    // nothing, and the job stays due for the new holder.
    assert!(db.begin_job_attempt_fenced(&other.key(), at(21), at(81), "active", old).await.unwrap().is_none());
    assert_eq!(db.job(&other.key()).await.unwrap().unwrap().attempts, 0, "the refused attempt left no trace");
    assert!(db.begin_job_attempt_fenced(&other.key(), at(21), at(81), "active", new).await.unwrap().is_some());
}
