//! A declare run again after it was cut off resumes at its first unfinished step: one
//! channel, one kick-off, one pin, one announcement, and the reply the declarer missed.

use commands::recording_chat::ChatCall;
use commands::Invocation;

use crate::support::harness;

fn declare(source: &str) -> Invocation {
    Invocation {
        source_id: source.into(),
        user: "alice".into(),
        channel_id: "general".into(),
        text: "declare sev1 Database is down".into(),
    }
}

fn count(calls: &[ChatCall], wanted: impl Fn(&ChatCall) -> bool) -> usize {
    calls.iter().filter(|c| wanted(c)).count()
}

#[tokio::test]
async fn a_declare_cut_off_before_its_channel_finishes_on_the_next_run() {
    let h = harness().await;
    h.chat.fail_all(Some("HTTP 500 from the fake platform"));
    assert!(h.core.run(&declare("req-1")).await.is_err(), "the channel could not be made");
    let check = h.db.incidents_with_unfinished_steps().await.unwrap();
    assert_eq!(check.len(), 1, "the incident without its channel is listed: {check:?}");
    h.chat.fail_all(None);
    let outcome = h.core.run(&declare("req-1")).await.unwrap();
    let reply = outcome.reply.unwrap().to_plain();
    assert_eq!(reply, "INC-1 is declared in #inc-1-database-is-down (delayed by a restart).");
    let calls = h.chat.calls();
    assert_eq!(count(&calls, |c| matches!(c, ChatCall::CreateChannel { .. })), 1);
    assert_eq!(count(&calls, |c| matches!(c, ChatCall::Pin { .. })), 1);
    assert_eq!(h.chat.posts_to("inc-1-database-is-down").len(), 1, "one kick-off");
    assert_eq!(h.chat.posts_to("incidents").len(), 1, "one announcement");
    assert!(h.db.incidents_with_unfinished_steps().await.unwrap().is_empty());
    assert!(h.db.incident(2).await.unwrap().is_none());
}

#[tokio::test]
async fn a_finished_declare_run_again_repeats_no_call_and_answers_again() {
    let h = harness().await;
    let first = h.core.run(&declare("req-2")).await.unwrap();
    assert!(first.reply.unwrap().to_plain().contains("You are the commander"));
    let before = h.chat.calls().len();
    let again = h.core.run(&declare("req-2")).await.unwrap();
    assert_eq!(h.chat.calls().len(), before, "no platform call is made twice");
    assert!(again.reply.unwrap().to_plain().ends_with("(delayed by a restart)."));
    assert_eq!(first.opened, again.opened);
}

#[tokio::test]
async fn a_second_declare_cut_off_resumes_into_its_own_channel_with_a_pinned_kickoff() {
    let h = harness().await;
    let first = h.core.run(&declare("req-3")).await.unwrap();
    let channel = first.opened.unwrap().id;
    let request: storage::SourceId = "req-4".into();
    h.chat.fail_all(Some("HTTP 500"));
    assert!(h.core.run(&declare("req-4")).await.is_err());
    h.chat.fail_all(None);
    let incident = h.db.incident(2).await.unwrap().unwrap();
    assert!(incident.channel_id.is_none());
    h.core.run(&declare("req-4")).await.unwrap();
    assert_eq!(h.db.step_result(&request, "kickoff").await.unwrap().map(|id| id.is_empty()), Some(false));
    assert_eq!(h.db.step_result(&request, "pin").await.unwrap(), Some(String::new()));
    assert_ne!(h.db.incident(2).await.unwrap().unwrap().channel_id, Some(channel));
}
