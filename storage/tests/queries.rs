//! Storage tests, each on a fresh migrated database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, NaiveDate, Utc};
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

#[tokio::test]
async fn ids_count_up_from_one_and_declares_are_idempotent_by_source() {
    let db = Db::in_memory().await.unwrap();
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

#[tokio::test]
async fn a_repeated_source_id_is_stored_once() {
    let db = Db::in_memory().await.unwrap();
    let incident = declared(&db, "req-1").await;
    for _ in 0..4 {
        db.add_entry(&entry(incident.id, "slack:C1:1.2", EntryKind::Message), true).await.unwrap();
    }
    let messages = db.timeline(incident.id, false).await.unwrap();
    assert_eq!(messages.iter().filter(|e| e.source_id == "slack:C1:1.2").count(), 1);
    // The first message by someone else acknowledged it.
    assert_eq!(db.incident(incident.id).await.unwrap().unwrap().acknowledged_at, Some(t0()));
}

#[tokio::test]
async fn saving_from_a_stale_read_is_refused_and_writes_nothing() {
    let db = Db::in_memory().await.unwrap();
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

#[tokio::test]
async fn the_schema_refuses_inconsistent_rows() {
    let db = Db::in_memory().await.unwrap();
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

#[tokio::test]
async fn action_items_filter_by_owner_and_overdue() {
    let db = Db::in_memory().await.unwrap();
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

#[tokio::test]
async fn a_file_database_keeps_everything_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("keep.db").display());
    {
        let db = Db::connect(&url).await.unwrap();
        declared(&db, "req-1").await;
        db.close().await;
    }
    let db = Db::connect(&url).await.unwrap();
    assert_eq!(db.incident(1).await.unwrap().unwrap().title, "DB down");
}

#[tokio::test]
async fn attachments_change_once_with_their_entry_and_read_back_in_order() {
    use storage::{Attached, Attachment};
    let db = Db::in_memory().await.unwrap();
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

#[tokio::test]
async fn the_library_finds_key_timeline_events_after_every_migration() {
    // A later migration rebuilt `timeline_entries` and with it dropped the library's
    // triggers; key events written afterwards were never indexed.
    let db = Db::in_memory().await.unwrap();
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

#[tokio::test]
async fn a_library_search_matching_very_many_ranks_the_newest_and_says_so() {
    let db = Db::in_memory().await.unwrap();
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
