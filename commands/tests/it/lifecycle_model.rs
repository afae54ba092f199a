//! Property test: random sequences of commands, garbage included, run against the real
//! core and a small model of the lifecycle. After every step the core must agree with
//! the model on acceptance and status, and the stored timestamps must stay ordered
//! (resolved ≥ acknowledged ≥ declared); repeating a command or a message changes nothing.
//!
//! The default run is 200 sequences. The long run is 10,000:
//! `cargo test --release -p commands --test it lifecycle_model -- --ignored`
//! (`LIFECYCLE_CASES=n` sets another count for either).

use chrono::Duration;
use commands::{FormKind, FormSubmission, Invocation};
use proptest::prelude::*;
use storage::Status;

use crate::support;

const USERS: [&str; 3] = ["alice", "bob", "carol"];

#[derive(Debug, Clone)]
enum Op {
    Status(usize, Status),
    Resolve(usize),
    Reopen(usize),
    Severity(usize, u8),
    AssignCommander(usize, usize),
    Note(usize),
    Message(usize),
    FillPostmortem(usize),
    Advance(i64),
    Garbage(String),
    RepeatLast,
    RepeatMessage,
}

fn op() -> impl Strategy<Value = Op> {
    let user = 0..USERS.len();
    prop_oneof![
        (user.clone(), prop_oneof![Just(Status::Investigating), Just(Status::Identified), Just(Status::Monitoring)])
            .prop_map(|(u, s)| Op::Status(u, s)),
        user.clone().prop_map(Op::Resolve),
        user.clone().prop_map(Op::Reopen),
        (user.clone(), 1u8..=4).prop_map(|(u, s)| Op::Severity(u, s)),
        (user.clone(), user.clone()).prop_map(|(u, v)| Op::AssignCommander(u, v)),
        user.clone().prop_map(Op::Note),
        user.clone().prop_map(Op::Message),
        user.clone().prop_map(Op::FillPostmortem),
        (1i64..600).prop_map(Op::Advance),
        "\\PC{0,40}".prop_map(Op::Garbage),
        Just(Op::RepeatLast),
        Just(Op::RepeatMessage),
    ]
}

/// What the model expects of the incident.
#[derive(Debug, Clone)]
struct Model {
    status: Status,
    commander: usize,
    severity: u8,
}

fn rank(s: Status) -> u8 {
    match s {
        Status::Investigating => 0,
        Status::Identified => 1,
        Status::Monitoring => 2,
        Status::Resolved => 3,
        Status::Closed => 4,
    }
}

/// Applies `op` to the model; returns whether the core should accept it.
fn expect(model: &mut Model, op: &Op) -> Option<bool> {
    let open = model.status.is_open();
    Some(match op {
        Op::Status(_, s) => {
            let ok = open && rank(*s) > rank(model.status);
            if ok {
                model.status = *s;
            }
            ok
        }
        Op::Resolve(u) => {
            let ok = *u == model.commander && open;
            if ok {
                model.status = Status::Resolved;
            }
            ok
        }
        Op::Reopen(u) => {
            let ok = *u == model.commander && model.status == Status::Resolved;
            if ok {
                model.status = Status::Investigating;
            }
            ok
        }
        Op::Severity(u, s) => {
            let ok = *u == model.commander && model.status != Status::Closed && *s != model.severity;
            if ok {
                model.severity = *s;
            }
            ok
        }
        Op::AssignCommander(u, v) => {
            let ok = *u == model.commander && model.status != Status::Closed && *v != model.commander;
            if ok {
                model.commander = *v;
            }
            ok
        }
        Op::Note(_) => model.status != Status::Closed,
        Op::FillPostmortem(u) => {
            let ok = *u == model.commander;
            if ok && model.status == Status::Resolved {
                model.status = Status::Closed;
            }
            ok
        }
        Op::Message(_) | Op::Advance(_) | Op::Garbage(_) | Op::RepeatLast | Op::RepeatMessage => return None,
    })
}

fn command_text(op: &Op) -> Option<(usize, String)> {
    Some(match op {
        Op::Status(u, s) => (*u, format!("status {s}")),
        Op::Resolve(u) => (*u, "resolve all good".into()),
        Op::Reopen(u) => (*u, "reopen".into()),
        Op::Severity(u, s) => (*u, format!("severity sev{s}")),
        Op::AssignCommander(u, v) => (*u, format!("assign commander @{}", USERS[*v])),
        Op::Note(u) => (*u, "note something happened".into()),
        Op::Garbage(text) => (0, text.clone()),
        _ => return None,
    })
}

async fn run_sequence(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let h = support::harness().await;
    let channel = h.declare("alice", "sev3 Model incident").await;
    let mut model = Model { status: Status::Investigating, commander: 0, severity: 3 };
    let mut last: Option<Invocation> = None;
    let mut last_message: Option<commands::ChatMessage> = None;
    for (step, op) in ops.iter().enumerate() {
        let before = h.core.db().incident(1).await.unwrap().unwrap();
        let entries_before = h.core.db().count_entries().await.unwrap();
        let predicted = expect(&mut model, op);
        let outcome = match op {
            Op::Advance(minutes) => {
                h.clock.advance(Duration::minutes(*minutes));
                None
            }
            Op::Message(u) => {
                let message = commands::ChatMessage {
                    source_id: format!("msg-{step}"),
                    channel_id: channel.clone(),
                    author: USERS[*u].into(),
                    text: "chatter".into(),
                    at: h.core.now(),
                };
                h.core.message_posted(&message).await.unwrap();
                last_message = Some(message);
                None
            }
            Op::RepeatMessage => {
                if let Some(message) = &last_message {
                    let again = h.core.message_posted(message).await.unwrap();
                    prop_assert_eq!(again, commands::Ingested::Duplicate);
                    prop_assert_eq!(h.core.db().count_entries().await.unwrap(), entries_before, "a repeat was stored");
                    let after = h.core.db().incident(1).await.unwrap().unwrap();
                    prop_assert_eq!(after.acknowledged_at, before.acknowledged_at, "a repeat acknowledged");
                }
                None
            }
            Op::FillPostmortem(u) => {
                let answers = commands::postmortem::FIELDS
                    .iter()
                    .map(|f| (f.key.to_string(), format!("{} text", f.key)))
                    .collect();
                let submission = FormSubmission {
                    source_id: format!("pm-{step}"),
                    user: USERS[*u].into(),
                    channel_id: channel.clone(),
                    kind: FormKind::Postmortem { incident: 1 },
                    answers,
                };
                Some(h.core.submit_form(&submission).await.unwrap())
            }
            Op::RepeatLast => {
                if let Some(inv) = &last {
                    let outcome = h.core.run(inv).await.unwrap();
                    let after = h.core.db().incident(1).await.unwrap().unwrap();
                    prop_assert_eq!(&after.status, &before.status, "a repeated request changed the status");
                    prop_assert_eq!(
                        h.core.db().count_entries().await.unwrap(),
                        entries_before,
                        "a repeat added an entry"
                    );
                    let _ = outcome;
                }
                None
            }
            other => {
                let (user, text) = command_text(other).unwrap();
                let inv = Invocation {
                    source_id: format!("cmd-{step}"),
                    user: USERS[user].into(),
                    channel_id: channel.clone(),
                    text,
                };
                let outcome = h.core.run(&inv).await.unwrap();
                last = Some(inv);
                Some(outcome)
            }
        };
        if let (Some(predicted), Some(outcome)) = (predicted, &outcome) {
            prop_assert_eq!(!outcome.is_error, predicted, "step {}: {:?} gave {:?}", step, op, outcome.reply);
        }
        if let (Op::Garbage(_), Some(outcome)) = (op, &outcome) {
            // Garbage may be a valid command by chance; then the model no longer applies.
            if !outcome.is_error {
                return Ok(());
            }
            prop_assert_eq!(h.core.db().count_entries().await.unwrap(), entries_before, "garbage wrote something");
        }
        let after = h.core.db().incident(1).await.unwrap().unwrap();
        prop_assert_eq!(after.status, model.status, "step {}: {:?}", step, op);
        prop_assert_eq!(after.commander.as_str(), USERS[model.commander]);
        if let Some(resolved) = after.resolved_at {
            prop_assert!(resolved >= after.declared_at);
        }
        if let Some(ack) = after.acknowledged_at {
            prop_assert!(ack >= after.declared_at);
            if let Some(resolved) = after.resolved_at {
                prop_assert!(resolved >= ack, "resolved before it was acknowledged");
            }
        }
        prop_assert_eq!(after.resolved_at.is_some(), matches!(after.status, Status::Resolved | Status::Closed));
        prop_assert_eq!(after.closed_at.is_some(), after.status == Status::Closed);
        if after.status == Status::Closed {
            let pm = h.core.db().postmortem(1).await.unwrap().unwrap();
            prop_assert!(commands::postmortem::missing(&pm).is_empty());
        }
    }
    Ok(())
}

/// How many sequences to run: `LIFECYCLE_CASES`, or `default`.
fn cases(default: u32) -> u32 {
    std::env::var("LIFECYCLE_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(default)
}

fn run_cases(count: u32) {
    let config = ProptestConfig { cases: count, failure_persistence: None, ..ProptestConfig::default() };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let result = runner.run(&prop::collection::vec(op(), 1..40), |ops| runtime.block_on(run_sequence(ops)));
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

#[test]
fn command_sequences_keep_the_incident_valid() {
    run_cases(cases(200));
}

#[test]
#[ignore = "long: 10,000 sequences; run with --ignored"]
fn ten_thousand_command_sequences_keep_the_incident_valid() {
    run_cases(cases(10_000));
}
