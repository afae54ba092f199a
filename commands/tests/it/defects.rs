//! Regression tests for the defects found by trying the bot as a new user would, one
//! test per defect, numbered as they were reported. Each drives the core as an adapter
//! does and checks what a user would see or what is stored.

use chrono::Duration;
use commands::recording_chat::ChatCall;
use commands::{ButtonAction, ButtonPress, FormKind, FormSubmission, SystemDeclare, SystemSource};
use storage::{ActionFilter, EntryKind, Status};

use crate::support::{harness, Harness};

fn submission(user: &str, channel: &str, kind: FormKind, answers: &[(&str, &str)]) -> FormSubmission {
    FormSubmission {
        source_id: format!("form-{user}-{}", answers.len()).into(),
        user: user.into(),
        channel_id: channel.into(),
        kind,
        answers: answers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    }
}

fn every_field(text: &str) -> Vec<(&'static str, String)> {
    commands::postmortem::FIELDS.iter().map(|f| (f.key, format!("{text} {}", f.key))).collect()
}

async fn fill_postmortem(h: &Harness, user: &str, channel: &str) -> commands::Outcome {
    let answers = every_field("answer");
    let answers: Vec<(&str, &str)> = answers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    h.core.submit_form(&submission(user, channel, FormKind::Postmortem { incident: 1 }, &answers)).await.unwrap()
}

#[tokio::test]
async fn d01_d03_a_started_offset_never_panics_and_writes_nothing() {
    let h = harness().await;
    for text in ["declare started:-5é Broken", "declare started:-576460752303423489d Broken"] {
        let outcome = h.run("alice", "general", text).await;
        assert!(outcome.is_error && Harness::reply_text(&outcome).contains("is not a time ago"), "{outcome:?}");
    }
    assert!(h.db.incident(1).await.unwrap().is_none());
}

#[tokio::test]
async fn d02_a_no_break_space_before_a_blame_reaches_the_hint() {
    let h = harness().await;
    let ch = h.declare("alice", "DB down").await;
    h.run("alice", &ch, "resolve").await;
    let answer = "It was\u{00A0}bob's fault";
    let outcome = h
        .core
        .submit_form(&submission("alice", &ch, FormKind::Postmortem { incident: 1 }, &[("went_wrong", answer)]))
        .await
        .unwrap();
    assert!(Harness::reply_text(&outcome).contains("\"bob's fault\""), "{outcome:?}");
}

#[tokio::test]
async fn d04_a_postmortem_written_before_the_resolve_closes_it_at_the_resolve() {
    let h = harness().await;
    let ch = h.declare("alice", "DB down").await;
    let early = fill_postmortem(&h, "alice", &ch).await;
    assert!(Harness::reply_text(&early).contains("closes once it is resolved"), "{early:?}");
    assert_eq!(h.db.incident(1).await.unwrap().unwrap().status, Status::Investigating);
    let resolved = h.run("alice", &ch, "resolve Fixed").await;
    assert!(!resolved.is_error, "{resolved:?}");
    let incident = h.db.incident(1).await.unwrap().unwrap();
    assert_eq!(incident.status, Status::Closed);
    let posts = h.chat.posts_to(&ch).join("\n");
    assert!(posts.contains("is closed") && !posts.contains("[Write postmortem]"), "{posts}");
}

#[tokio::test]
async fn d07_the_topic_follows_severity_status_and_commander_with_a_mention() {
    let h = harness().await;
    let ch = h.declare("alice", "sev3 DB down").await;
    h.run("alice", &ch, "severity sev1").await;
    h.run("alice", &ch, "status identified").await;
    h.run("alice", &ch, "assign commander @bob").await;
    let topics: Vec<String> = h
        .chat
        .calls()
        .into_iter()
        .filter_map(|call| match call {
            ChatCall::SetTopic { topic, .. } => Some(topic),
            _ => None,
        })
        .collect();
    assert_eq!(topics.len(), 4, "{topics:?}");
    assert_eq!(topics[3], "INC-1 · sev1 (Critical) · identified · DB down · commander @bob");
    // The commander is a mention the platform renders, not a raw id.
    let line = h.core.topic(&h.db.incident(1).await.unwrap().unwrap());
    assert!(line.0.contains(&commands::Span::User("bob".into())), "{line:?}");
}

#[tokio::test]
async fn d09_a_long_resolve_summary_fits_the_postmortem_form() {
    let h = harness().await;
    let ch = h.declare("alice", "DB down").await;
    let outcome = h.run("alice", &ch, &format!("resolve {}", "s".repeat(3500))).await;
    assert!(Harness::reply_text(&outcome).contains("longer than 3000 characters"), "{outcome:?}");
    let form = h.run("alice", &ch, "postmortem all").await.form.unwrap();
    for field in &form.fields {
        let len = field.value.as_deref().map_or(0, |v| v.chars().count());
        assert!(len <= field.max_len && field.max_len == commands::limits::MAX_TEXT, "{} is {len}", field.key);
    }
}

#[tokio::test]
async fn d10_anyone_writes_the_postmortem_and_a_correction_keeps_it_closed() {
    let h = harness().await;
    let ch = h.declare("alice", "DB down").await;
    h.run("alice", &ch, "resolve").await;
    let resolve_post = h.chat.posts_to(&ch).last().cloned().unwrap();
    assert!(resolve_post.contains("Anyone can write it"), "{resolve_post}");
    // Comms and scribe (or anyone) may write it: the form asks only what is missing.
    let form = h.run("carol", &ch, "postmortem").await;
    assert_eq!(form.form.as_ref().map(|f| f.fields.len()), Some(10), "{form:?}");
    let closed = fill_postmortem(&h, "carol", &ch).await;
    assert!(Harness::reply_text(&closed).contains("is closed"), "{closed:?}");
    let correction = h
        .core
        .submit_form(&submission("dave", &ch, FormKind::PostmortemAll { incident: 1 }, &[("lessons", "Canary first")]))
        .await
        .unwrap();
    assert!(Harness::reply_text(&correction).contains("stays closed"), "{correction:?}");
    assert_eq!(h.db.incident(1).await.unwrap().unwrap().status, Status::Closed);
    let timeline = h.db.timeline(1, false).await.unwrap();
    let corrected = timeline.iter().find(|e| e.author == "dave" && e.kind == EntryKind::Postmortem).unwrap();
    assert_eq!(corrected.text, "Postmortem Lessons learned corrected");
    // A complete postmortem shows the document; `all` opens every field to correct.
    assert!(h.run("erin", &ch, "postmortem").await.form.is_none());
    assert_eq!(h.run("erin", &ch, "postmortem all").await.form.map(|f| f.fields.len()), Some(10));
}

#[tokio::test]
async fn d11_an_item_can_be_reassigned_and_redated_by_its_owner_or_the_commander() {
    let h = harness().await;
    let ch = h.declare("alice", "DB down").await;
    h.run("alice", &ch, "action add Alert on lag @bob due:+2d").await;
    assert!(h.run("carol", &ch, "action reassign 1 @carol").await.is_error);
    assert!(!h.run("bob", &ch, "action reassign 1 @carol").await.is_error);
    assert!(!h.run("alice", "general", "action due 1 2026-03-20").await.is_error);
    let item = h.db.action(1).await.unwrap().unwrap();
    assert_eq!((item.owner.as_str(), item.due.to_string().as_str()), ("carol", "2026-03-20"));
    let help = Harness::reply_text(&h.run("alice", "general", "help").await);
    assert!(help.contains("action reassign <id> <@user>") && help.contains("action due <id>"), "{help}");
}

#[tokio::test]
async fn d12_due_dates_in_the_past_or_past_the_limit_are_refused_at_creation() {
    let h = harness().await;
    let ch = h.declare("alice", "DB down").await;
    let past = h.run("alice", &ch, "action add Fix due:2026-03-01").await;
    assert!(past.is_error && Harness::reply_text(&past).contains("is in the past"), "{past:?}");
    let far = h.run("alice", &ch, "action add Fix due:9999-12-31").await;
    assert!(far.is_error && Harness::reply_text(&far).contains("3650 days"), "{far:?}");
    assert!(h.db.actions(&ActionFilter::Incident(1)).await.unwrap().is_empty());
    assert!(!h.run("alice", &ch, "action add Fix due:2026-03-02").await.is_error, "today is fine");
}

#[tokio::test]
async fn d13_incident_references_are_case_insensitive_and_bad_numbers_do_not_exist() {
    let h = harness().await;
    h.declare("alice", "DB down").await;
    assert!(!h.run("alice", "general", "Inc-1 timeline").await.is_error);
    for (text, reply) in [
        ("INC-0 timeline", "INC-0 does not exist."),
        ("INC-99999999999999999999 timeline", "INC-99999999999999999999 does not exist."),
        ("INC-2 timeline", "INC-2 does not exist."),
    ] {
        let outcome = h.run("alice", "general", text).await;
        assert!(Harness::reply_text(&outcome).starts_with(reply), "{text}: {outcome:?}");
    }
}

#[tokio::test]
async fn d15_stats_count_an_incident_declared_at_this_moment() {
    let h = harness().await;
    h.declare("alice", "DB down").await;
    let stats = Harness::reply_text(&h.run("alice", "general", "stats").await);
    assert!(stats.contains("Incidents in the last 30 days: 1"), "{stats}");
    // Only severities that had incidents get a row.
    assert!(!stats.contains("sev1:") && stats.contains("sev3: 1 declared"), "{stats}");
}

#[tokio::test]
async fn d15_a_past_digest_reads_action_items_as_they_were() {
    let h = harness().await;
    let ch = h.declare("alice", "DB down").await;
    h.run("alice", &ch, "action add Fix the indexer @bob due:+1d").await;
    let week = h.core.now() + Duration::days(3);
    h.clock.set(week + Duration::days(7));
    h.run("bob", &ch, "action done 1").await;
    let digest = commands::digest::build(&h.db, chrono_tz::Tz::UTC, week, Duration::days(7)).await.unwrap();
    let text = digest.to_plain();
    assert!(text.contains("1 still open, 1 overdue"), "{text}");
}

#[tokio::test]
async fn d16_durations_have_one_definition_everywhere() {
    let h = harness().await;
    let ch = h.declare("alice", "started:-20m DB down").await;
    h.clock.advance(Duration::minutes(3));
    h.run("bob", &ch, "note looking").await;
    h.clock.advance(Duration::minutes(27));
    h.run("alice", &ch, "resolve").await;
    let incident = h.db.incident(1).await.unwrap().unwrap();
    let d = commands::durations::Durations::of(&incident);
    assert_eq!(d.to_detect, Duration::minutes(20));
    assert_eq!(d.to_acknowledge, Some(Duration::minutes(3)));
    assert_eq!(d.to_resolve, Some(Duration::minutes(50)));
    let record = commands::export::IncidentRecord::load(&h.db, 1).await.unwrap().unwrap();
    let markdown = record.to_markdown(chrono_tz::Tz::UTC);
    assert!(markdown.contains("| Started | 2026-03-02 08:40 UTC | — |"), "{markdown}");
    assert!(markdown.contains("**Time to detect:** 20m · **Time to acknowledge:** 3m"), "{markdown}");
    assert!(markdown.contains("**Time to resolve:** 50m"), "{markdown}");
    let doc = record.to_doc();
    assert_eq!(doc.durations.to_acknowledge_seconds, Some(180));
    let stats = Harness::reply_text(&h.run("alice", "general", "stats").await);
    assert!(stats.contains("MTTA 3m · MTTR 50m"), "{stats}");
}

#[tokio::test]
async fn d17_cut_notes_and_updates_say_so() {
    let h = harness().await;
    let ch = h.declare("alice", "DB down").await;
    for verb in ["note", "update"] {
        let outcome = h.run("alice", &ch, &format!("{verb} {}", "n".repeat(5000))).await;
        assert!(Harness::reply_text(&outcome).contains("was cut"), "{verb}: {outcome:?}");
    }
}

#[tokio::test]
async fn d18_control_characters_escapes_and_bidi_overrides_are_stripped() {
    let h = harness().await;
    let invisible = h.run("alice", "general", "declare \u{200B}\u{200D}\u{FEFF}").await;
    assert!(invisible.is_error, "{invisible:?}");
    let ch = h.declare("alice", "Paiement échoué\u{202E}").await;
    assert_eq!(ch, "inc-1-paiement-echoue");
    h.run("alice", &ch, "note esc\u{1b}[2J and \u{7}bell").await;
    let timeline = h.db.timeline(1, true).await.unwrap();
    let note = timeline.iter().find(|e| e.kind == EntryKind::Note).unwrap();
    assert_eq!(note.text, "esc and bell");
    // Quoted back in a refusal, typed text is cleaned too.
    let refused = Harness::reply_text(&h.run("alice", &ch, "status \u{1b}[2Jfixed\u{202E}").await);
    assert!(!refused.contains('\u{1b}') && !refused.contains('\u{202E}'), "{refused:?}");
    let long = Harness::reply_text(&h.run("alice", &ch, &format!("timeline {}", "x".repeat(10_000))).await);
    assert!(long.chars().count() < 1000, "{} characters", long.chars().count());
    assert_eq!(h.db.incident(1).await.unwrap().unwrap().title, "Paiement échoué");
}

#[tokio::test]
async fn d19_escalation_to_sev1_or_sev2_is_announced() {
    let h = harness().await;
    let ch = h.declare("alice", "sev3 DB down").await;
    h.run("alice", &ch, "severity sev4").await;
    h.run("alice", &ch, "severity sev2").await;
    let announced = h.chat.posts_to("incidents").join("\n");
    assert!(announced.contains("INC-1 escalated sev4 → sev2 (Major)"), "{announced}");
    assert!(!announced.contains("→ sev4"), "{announced}");
}

#[tokio::test]
async fn d21_wording() {
    let h = harness().await;
    let ch = h.declare("alice", "DB down").await;
    let kind = Harness::reply_text(&h.run("alice", &ch, "action add x kind:fix").await);
    assert!(kind.contains("is not a valid action kind"), "{kind}");
    h.run("alice", &ch, "resolve").await;
    let again = Harness::reply_text(&h.run("alice", &ch, "resolve").await);
    assert!(again.starts_with("INC-1 is already resolved."), "{again}");
    fill_postmortem(&h, "alice", &ch).await;
    let closed = Harness::reply_text(&h.run("alice", &ch, "status identified").await);
    assert!(closed.contains("is closed") && !closed.contains("nothing"), "{closed}");
    let status = Harness::reply_text(&h.run("alice", &ch, "status done").await);
    assert!(!status.contains("resolved") && !status.contains("closed"), "{status}");
    let help = Harness::reply_text(&h.run("alice", &ch, "help").await);
    assert!(help.contains("prio:") && help.contains("started:"), "{help}");
    let timeline = Harness::reply_text(&h.run("alice", &ch, "timeline").await);
    assert!(timeline.contains("· Declared sev3: DB down") && !timeline.contains("declared: Declared"), "{timeline}");
}

#[tokio::test]
async fn a_system_declared_incident_waits_for_someone_to_take_command() {
    let h = harness().await;
    let request = SystemDeclare {
        source_id: "alert:prometheus:group-1".into(),
        title: "HighErrorRate on checkout".into(),
        severity: Some(storage::Severity::Sev2),
        description: None,
        services: Vec::new(),
    };
    let outcome = h.core.declare_for_system(SystemSource::Alerts, &request).await.unwrap();
    let channel = outcome.opened.unwrap().id;
    // A repeated delivery of the alert opens nothing more.
    h.core.declare_for_system(SystemSource::Alerts, &request).await.unwrap();
    assert!(h.db.incident(2).await.unwrap().is_none());
    let incident = h.db.incident(1).await.unwrap().unwrap();
    assert_eq!((incident.commander, incident.declared_by.as_str()), (None, "system:alerts"));
    let kickoff = h.chat.posts_to(channel.as_str()).join("\n");
    assert!(kickoff.contains("Commander: no commander yet") && kickoff.contains("[Take command]"), "{kickoff}");
    // Nothing of the commander's until someone takes command.
    let refused = Harness::reply_text(&h.run("bob", channel.as_str(), "resolve").await);
    assert!(refused.contains("has no commander yet"), "{refused}");
    let press = ButtonPress {
        source_id: "press-1".into(),
        user: "bob".into(),
        channel_id: channel.clone(),
        action: ButtonAction::TakeCommand { incident: 1 },
    };
    assert!(!h.core.press_button(&press).await.unwrap().is_error);
    assert_eq!(h.db.incident(1).await.unwrap().unwrap().commander.as_deref(), Some("bob"));
    assert!(h.run("carol", channel.as_str(), "take").await.is_error, "bob leads now");
    // The system records timeline entries without posing as a person.
    h.core
        .record_for_system(SystemSource::Alerts, 1, &"alert:prometheus:group-1:resolved".into(), "Alert resolved")
        .await
        .unwrap();
    let timeline = h.db.timeline(1, false).await.unwrap();
    assert!(timeline.iter().any(|e| e.author == "system:alerts" && e.text == "Alert resolved"));
    let posted = h.chat.posts_to(channel.as_str()).last().cloned().unwrap();
    assert_eq!(posted, "📌 Note from incidentbot (alerts): Alert resolved");
    assert!(!h.run("bob", channel.as_str(), "resolve").await.is_error);
}
