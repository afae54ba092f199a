//! The whole incident flow through the core, against a real in-memory SQLite and a
//! recording chat.

use chrono::Duration;
use commands::recording_chat::ChatCall;
use commands::{FormKind, FormSubmission};
use storage::{ActionFilter, ActionStatus, EntryKind, Status};

use crate::support::{self, harness, Harness};

#[tokio::test]
async fn declare_opens_a_channel_with_a_pinned_kickoff_and_an_announcement() {
    let h = harness().await;
    let channel = h.declare("alice", "sev2 Checkout <!channel> is down").await;
    assert_eq!(channel, "inc-1-checkout-channel-is-down");
    let incident = h.db.incident(1).await.unwrap().unwrap();
    assert_eq!((incident.commander.as_deref().unwrap_or_default(), incident.status), ("alice", Status::Investigating));
    let calls = h.chat.calls();
    assert!(calls.contains(&ChatCall::CreateChannel { name: channel.clone() }));
    assert!(calls.iter().any(|c| matches!(c, ChatCall::Invite { users, .. } if users == &["alice".to_string()])));
    assert!(calls.iter().any(|c| matches!(c, ChatCall::Pin { .. })));
    let kickoff = &h.chat.posts_to(&channel)[0];
    for expected in
        ["INC-1", "Checkout <!channel> is down", "sev2", "investigating", "@alice", "/incident status", "[Acknowledge]"]
    {
        assert!(kickoff.contains(expected), "kick-off lacks {expected}: {kickoff}");
    }
    assert_eq!(h.chat.posts_to("incidents").len(), 1);
}

#[tokio::test]
async fn a_retried_declare_opens_one_incident_and_one_channel() {
    let h = harness().await;
    let inv = commands::Invocation {
        source_id: "retry-me".into(),
        user: "alice".into(),
        channel_id: "general".into(),
        text: "declare sev1 Payments down".into(),
    };
    let first = h.core.run(&inv).await.unwrap();
    let second = h.core.run(&inv).await.unwrap();
    assert_eq!(first.opened, second.opened);
    assert!(h.db.incident(2).await.unwrap().is_none());
    let creates = h.chat.calls().iter().filter(|c| matches!(c, ChatCall::CreateChannel { .. })).count();
    assert_eq!(creates, 1);
}

#[tokio::test]
async fn concurrent_retries_of_one_declare_still_open_one_channel() {
    let h = std::sync::Arc::new(harness().await);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let h = h.clone();
        tasks.push(tokio::spawn(async move {
            let inv = commands::Invocation {
                source_id: "same-request".into(),
                user: "alice".into(),
                channel_id: "general".into(),
                text: "declare sev1 Payments down".into(),
            };
            h.core.run(&inv).await.unwrap()
        }));
    }
    for task in tasks {
        assert!(task.await.unwrap().opened.is_some());
    }
    let creates = h.chat.calls().iter().filter(|c| matches!(c, ChatCall::CreateChannel { .. })).count();
    assert_eq!(creates, 1);
    assert!(h.db.incident(2).await.unwrap().is_none());
}

#[tokio::test]
async fn status_moves_forward_only_and_refusals_list_the_options() {
    let h = harness().await;
    let ch = h.declare("alice", "DB down").await;
    assert!(!h.run("alice", &ch, "status monitoring failover done").await.is_error);
    let incident = h.db.incident(1).await.unwrap().unwrap();
    assert!(incident.mitigated_at.is_some());
    let refused = h.run("alice", &ch, "status identified").await;
    assert!(refused.is_error);
    let text = Harness::reply_text(&refused);
    assert!(text.contains("monitoring") && text.contains("/incident resolve"), "{text}");
    let entries = h.db.timeline(1, false).await.unwrap();
    assert_eq!(entries.iter().filter(|e| e.kind == EntryKind::Status).count(), 1);
}

#[tokio::test]
async fn only_the_commander_or_an_admin_may_resolve_and_the_refusal_says_who() {
    let h = support::harness_with(commands::Settings { admins: vec!["root".into()], ..Default::default() }).await;
    let ch = h.declare("alice", "DB down").await;
    let before = h.db.timeline(1, false).await.unwrap().len();
    let refused = h.run("mallory", &ch, "resolve").await;
    assert!(refused.is_error);
    assert_eq!(Harness::reply_text(&refused), "Only the commander (@alice) or an admin (@root) may resolve INC-1.");
    assert_eq!(h.db.timeline(1, false).await.unwrap().len(), before);
    assert_eq!(h.db.incident(1).await.unwrap().unwrap().status, Status::Investigating);
    assert!(!h.run("root", &ch, "resolve").await.is_error);
}

#[tokio::test]
async fn assigning_a_commander_hands_over_the_permissions() {
    let h = harness().await;
    let ch = h.declare("alice", "DB down").await;
    assert!(!h.run("alice", &ch, "assign commander @bob").await.is_error);
    assert!(h.run("alice", &ch, "severity sev1").await.is_error);
    assert!(!h.run("bob", &ch, "severity sev1").await.is_error);
    let incident = h.db.incident(1).await.unwrap().unwrap();
    assert_eq!(incident.commander.as_deref(), Some("bob"));
    assert_eq!(incident.severity, storage::Severity::Sev1);
}

#[tokio::test]
async fn acknowledgement_is_the_first_act_of_someone_else() {
    let h = harness().await;
    let ch = h.declare("alice", "DB down").await;
    h.clock.advance(Duration::minutes(3));
    h.run("alice", &ch, "note still looking").await;
    assert!(h.db.incident(1).await.unwrap().unwrap().acknowledged_at.is_none());
    h.clock.advance(Duration::minutes(2));
    let message = commands::ChatMessage {
        source_id: "m1".into(),
        channel_id: ch.clone().into(),
        author: "bob".into(),
        text: "on it".into(),
        at: h.core.now(),
    };
    h.core.message_posted(&message).await.unwrap();
    let incident = h.db.incident(1).await.unwrap().unwrap();
    assert_eq!(incident.acknowledged_at, Some(support::start_time() + Duration::minutes(5)));
}

#[tokio::test]
async fn outside_an_incident_channel_commands_need_an_incident_reference() {
    let h = harness().await;
    h.declare("alice", "DB down").await;
    let outcome = h.run("alice", "general", "status identified").await;
    assert!(outcome.is_error);
    let text = Harness::reply_text(&outcome);
    assert!(text.contains("not an incident channel") && text.contains("Usage: `/incident status"), "{text}");
    let ok = h.run("alice", "general", "INC-1 status identified").await;
    assert!(!ok.is_error);
    assert!(Harness::reply_text(&ok).contains("INC-1"));
    let missing = h.run("alice", "general", "INC-9 status identified").await;
    assert!(Harness::reply_text(&missing).contains("INC-9 does not exist"));
}

#[tokio::test]
async fn malformed_commands_write_nothing() {
    let h = harness().await;
    let ch = h.declare("alice", "DB down").await;
    let entries_before = h.db.count_entries().await.unwrap();
    for bad in
        ["explode", "severity sev9", "status fixed", "action add fix due:someday", "assign boss @bob", "action done 99"]
    {
        let outcome = h.run("alice", &ch, bad).await;
        assert!(outcome.is_error, "{bad} should be refused");
        let text = Harness::reply_text(&outcome);
        if bad != "action done 99" {
            assert!(text.contains("Usage:"), "{bad}: {text}");
        }
    }
    assert_eq!(h.db.count_entries().await.unwrap(), entries_before);
    assert!(h.db.actions(&ActionFilter::AllOpen).await.unwrap().is_empty());
}

#[tokio::test]
async fn action_items_default_owner_and_due_date_and_close_by_owner_or_commander() {
    let h = harness().await;
    let ch = h.declare("alice", "DB down").await;
    h.run("alice", &ch, "action add Write the runbook").await;
    h.run("alice", &ch, "action add Alert on lag @bob due:+3d kind:detect").await;
    h.run("alice", &ch, "action add Pin versions @carol due:2026-04-01").await;
    let items = h.db.actions(&ActionFilter::Incident(1)).await.unwrap();
    assert_eq!(items[0].owner, "alice");
    assert_eq!(items[0].due.to_string(), "2026-03-16");
    assert_eq!((items[1].owner.as_str(), items[1].due.to_string()), ("bob", "2026-03-05".to_string()));
    assert_eq!(items[1].kind, storage::ActionKind::Detect);

    let refused = h.run("mallory", &ch, "action done 2").await;
    assert!(Harness::reply_text(&refused).contains("Only the owner (@bob), the commander of INC-1 (@alice) may close"));
    assert!(!h.run("bob", &ch, "action done 2").await.is_error);
    assert!(!h.run("alice", "general", "action done 3").await.is_error);
    assert!(h.run("alice", &ch, "action done 3").await.is_error, "already done");
    let items = h.db.actions(&ActionFilter::Incident(1)).await.unwrap();
    assert_eq!(
        items.iter().map(|i| i.status).collect::<Vec<_>>(),
        [ActionStatus::Open, ActionStatus::Done, ActionStatus::Done]
    );

    h.clock.advance(Duration::days(20));
    let overdue = h.run("alice", "general", "action list overdue").await;
    let text = Harness::reply_text(&overdue);
    assert!(text.contains("#1") && text.contains("6 days overdue") && !text.contains("#2"), "{text}");
}

#[tokio::test]
async fn the_postmortem_closes_the_incident_when_every_field_is_written() {
    let h = harness().await;
    let ch = h.declare("alice", "DB down").await;
    h.clock.advance(Duration::minutes(42));
    h.run("alice", &ch, "resolve Failed over to the replica").await;
    let posts = h.chat.posts_to(&ch);
    assert!(posts.last().unwrap().contains("[Write postmortem]"));

    let outcome = h.run("alice", &ch, "postmortem").await;
    let form = outcome.form.expect("a form");
    // The resolve summary seeded the summary, so the form asks for the nine others.
    assert_eq!(form.fields.len(), 9);
    assert!(form.fields.iter().all(|f| f.key != "summary"));
    let all = h.run("alice", &ch, "postmortem all").await.form.expect("every field");
    assert_eq!(all.fields.len(), 10);
    assert_eq!(all.fields[0].value.as_deref(), Some("Failed over to the replica"));

    let answers: Vec<(String, String)> = form
        .fields
        .iter()
        .map(|f| {
            let answer = if f.key == "contributing_factors" {
                "It was human error by @dave".into()
            } else {
                format!("answer {}", f.key)
            };
            (f.key.to_string(), answer)
        })
        .collect();
    let submission = FormSubmission {
        source_id: "pm-1".into(),
        user: "alice".into(),
        channel_id: ch.clone().into(),
        kind: FormKind::Postmortem { incident: 1 },
        answers,
    };
    let outcome = h.core.submit_form(&submission).await.unwrap();
    let text = Harness::reply_text(&outcome);
    assert!(text.contains("is closed"), "{text}");
    assert!(text.contains("Blameless hint") && text.contains("human error") && text.contains("@dave"), "{text}");
    let incident = h.db.incident(1).await.unwrap().unwrap();
    assert_eq!(incident.status, Status::Closed);
    assert!(incident.closed_at.is_some());
    let pm = h.db.postmortem(1).await.unwrap().unwrap();
    assert_eq!(pm.summary.as_deref(), Some("Failed over to the replica"));
    assert_eq!(pm.contributing_factors.as_deref(), Some("It was human error by @dave"));

    let document = h.run("bob", &ch, "postmortem").await;
    assert!(document.form.is_none());
    assert!(Harness::reply_text(&document).contains("Lessons learned: answer lessons"));
    assert!(h.run("alice", &ch, "reopen").await.is_error, "a closed incident cannot be reopened");
}

#[tokio::test]
async fn anyone_may_write_the_postmortem_and_a_partial_one_does_not_close() {
    let h = harness().await;
    let ch = h.declare("alice", "DB down").await;
    h.run("alice", &ch, "resolve").await;
    let form = h.run("bob", &ch, "postmortem").await;
    assert!(!form.is_error && form.form.is_some(), "bob, not the commander, gets the form: {form:?}");
    let submission = FormSubmission {
        source_id: "pm-1".into(),
        user: "bob".into(),
        channel_id: ch.clone().into(),
        kind: FormKind::Postmortem { incident: 1 },
        answers: vec![("summary".into(), "Short".into())],
    };
    let text = Harness::reply_text(&h.core.submit_form(&submission).await.unwrap());
    assert!(text.contains("Still missing: Impact"), "{text}");
    assert_eq!(h.db.incident(1).await.unwrap().unwrap().status, Status::Resolved);
    // The edit is on the timeline, with its author.
    let timeline = h.db.timeline(1, false).await.unwrap();
    let edit = timeline.iter().find(|e| e.kind == storage::EntryKind::Postmortem).expect("a postmortem entry");
    assert_eq!((edit.author.as_str(), edit.text.as_str()), ("bob", "Postmortem Summary written"));
}

#[tokio::test]
async fn reopen_clears_the_resolution() {
    let h = harness().await;
    let ch = h.declare("alice", "DB down").await;
    h.run("alice", &ch, "resolve").await;
    assert!(!h.run("alice", &ch, "reopen").await.is_error);
    let incident = h.db.incident(1).await.unwrap().unwrap();
    assert_eq!((incident.status, incident.resolved_at), (Status::Investigating, None));
}

#[tokio::test]
async fn timeline_capture_is_idempotent_and_tracks_edits_deletes_and_keys() {
    let h = harness().await;
    let ch = h.declare("alice", "DB down").await;
    let message = commands::ChatMessage {
        source_id: "slack:C1:1.0001".into(),
        channel_id: ch.clone().into(),
        author: "bob".into(),
        text: "first".into(),
        at: h.core.now(),
    };
    assert_eq!(h.core.message_posted(&message).await.unwrap(), commands::Ingested::Stored);
    assert_eq!(h.core.message_posted(&message).await.unwrap(), commands::Ingested::Duplicate);
    let elsewhere = commands::ChatMessage { channel_id: "random".into(), source_id: "x".into(), ..message.clone() };
    assert_eq!(h.core.message_posted(&elsewhere).await.unwrap(), commands::Ingested::Ignored);
    assert!(h.core.message_edited(&"slack:C1:1.0001".into(), "first, edited", h.core.now()).await.unwrap());
    assert!(h.core.reaction_added(&"slack:C1:1.0001".into(), "star").await.unwrap());
    assert!(!h.core.reaction_added(&"slack:C1:1.0001".into(), "thumbsup").await.unwrap());
    let entry = h.db.entry_by_source(&"slack:C1:1.0001".into()).await.unwrap().unwrap();
    assert_eq!((entry.text.as_str(), entry.is_key), ("first, edited", true));
    assert!(h.core.message_deleted(&"slack:C1:1.0001".into(), h.core.now()).await.unwrap());
    let messages: Vec<_> =
        h.db.timeline(1, false).await.unwrap().into_iter().filter(|e| e.kind == EntryKind::Message).collect();
    assert_eq!(messages.len(), 1);
    assert!(messages[0].deleted_at.is_some());
}

#[tokio::test]
async fn stats_report_counts_mtta_and_mttr_per_severity() {
    let h = harness().await;
    let ch = h.declare("alice", "sev1 Outage").await;
    h.clock.advance(Duration::minutes(4));
    h.run("bob", &ch, "note looking").await;
    h.clock.advance(Duration::minutes(56));
    h.run("alice", &ch, "resolve").await;
    let text = Harness::reply_text(&h.run("alice", "general", "stats 7d").await);
    assert!(text.contains("Incidents in the last 7 days: 1"), "{text}");
    assert!(text.contains("sev1: 1 declared, 1 resolved · MTTA 4m · MTTR 1h"), "{text}");
}

#[tokio::test]
async fn a_long_title_is_cut_with_a_notice() {
    let h = harness().await;
    let outcome = h.run("alice", "general", &format!("declare {}", "x".repeat(100_000))).await;
    assert!(Harness::reply_text(&outcome).contains("longer than 200 characters and was cut"));
    assert_eq!(h.db.incident(1).await.unwrap().unwrap().title.chars().count(), 200);
}

#[tokio::test]
async fn declare_without_a_title_asks_for_a_form_and_the_form_declares() {
    let h = harness().await;
    let outcome = h.run("alice", "general", "declare sev1").await;
    let form = outcome.form.expect("declare form");
    assert_eq!(form.kind, FormKind::Declare);
    assert!(h.db.incident(1).await.unwrap().is_none());
    let submission = FormSubmission {
        source_id: "modal-1".into(),
        user: "alice".into(),
        channel_id: "general".into(),
        kind: FormKind::Declare,
        answers: vec![("title".into(), "Search is slow".into()), ("severity".into(), "sev9".into())],
    };
    let refused = h.core.submit_form(&submission).await.unwrap();
    assert_eq!(refused.field_errors[0].0, "severity");
    let submission = FormSubmission {
        answers: vec![
            ("title".into(), "Search is slow".into()),
            ("severity".into(), "sev2".into()),
            ("description".into(), "p99 at 4s".into()),
        ],
        ..submission
    };
    let outcome = h.core.submit_form(&submission).await.unwrap();
    assert!(outcome.opened.is_some());
    let incident = h.db.incident(1).await.unwrap().unwrap();
    assert_eq!((incident.severity, incident.description.as_deref()), (storage::Severity::Sev2, Some("p99 at 4s")));
}

#[tokio::test]
async fn chat_failures_after_the_commit_do_not_lose_the_change() {
    let h = harness().await;
    let ch = h.declare("alice", "DB down").await;
    h.chat.fail_all(Some("slack is down"));
    let outcome = h.run("alice", &ch, "note the change still counts").await;
    assert!(!outcome.is_error);
    let notes = h.db.timeline(1, true).await.unwrap();
    assert!(notes.iter().any(|e| e.text == "the change still counts"));
}
