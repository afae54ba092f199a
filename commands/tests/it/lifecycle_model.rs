//! Property test: random sequences of commands, garbage included, run against the real
//! core and a small model of the lifecycle. After every step the core must agree with
//! the model on acceptance, status, commander and severity, and the stored timestamps
//! must stay ordered (resolved ≥ acknowledged ≥ declared); repeating a command or a
//! message changes nothing. Garbage that the grammar refuses must be refused and write
//! nothing; garbage that happens to be a valid command is checked as that command.
//!
//! The default run is 200 sequences. The long run is 10,000:
//! `cargo test --release -p commands --test it lifecycle_model -- --ignored`
//! (`LIFECYCLE_CASES=n` sets another count for either). Failing cases are saved to
//! `lifecycle_model.proptest-regressions` beside this file and replayed first.

use chrono::Duration;
use commands::grammar::{self, Command};
use commands::{FormKind, FormSubmission, Invocation};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use storage::{Role, Severity, Status};

use crate::support;

const USERS: [&str; 3] = ["alice", "bob", "carol"];

#[derive(Debug, Clone)]
enum Op {
    Status(usize, Status),
    Resolve(usize),
    Reopen(usize),
    Severity(usize, u8),
    /// Who assigns, and the user id they name (not always one of [`USERS`]).
    AssignCommander(usize, String),
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
        (user.clone(), user.clone()).prop_map(|(u, v)| Op::AssignCommander(u, USERS[v].to_string())),
        user.clone().prop_map(Op::Note),
        user.clone().prop_map(Op::Message),
        user.clone().prop_map(Op::FillPostmortem),
        (1i64..600).prop_map(Op::Advance),
        garbage().prop_map(Op::Garbage),
        Just(Op::RepeatLast),
        Just(Op::RepeatMessage),
    ]
}

/// Words and phrases of the grammar, so that some garbage is a valid command by chance.
const WORDS: [&str; 27] = [
    "declare",
    "status",
    "identified",
    "monitoring",
    "severity",
    "sev",
    "sev1",
    "sev3",
    "assign",
    "commander",
    "comms",
    "@bob",
    "@zed",
    "update",
    "note",
    "timeline",
    "resolve",
    "reopen",
    "postmortem",
    "action",
    "add",
    "help",
    "INC-1",
    "INC-2",
    "status monitoring",
    "severity sev1",
    "assign commander @bob",
];

/// Arbitrary text, or words of the grammar mixed with arbitrary text.
fn garbage() -> impl Strategy<Value = String> {
    let word = prop_oneof![prop::sample::select(WORDS.to_vec()).prop_map(String::from), "\\PC{0,8}"];
    prop_oneof!["\\PC{0,40}", prop::collection::vec(word, 1..5).prop_map(|words| words.join(" "))]
}

/// What the model expects of the incident.
#[derive(Debug, Clone)]
struct Model {
    status: Status,
    /// The commander's user id.
    commander: String,
    severity: u8,
    /// Every postmortem field is written.
    postmortem_complete: bool,
}

fn level(severity: Severity) -> u8 {
    match severity {
        Severity::Sev1 => 1,
        Severity::Sev2 => 2,
        Severity::Sev3 => 3,
        Severity::Sev4 => 4,
    }
}

/// The op that a valid garbage line amounts to (garbage is typed by `USERS[0]`), or
/// `None` for a command the model does not follow: one that leaves this incident's
/// status, commander and severity alone, or that names another incident.
fn as_op(command: &Command) -> Option<Op> {
    let this_incident = |target: &Option<i64>| matches!(target, None | Some(1));
    Some(match command {
        Command::Status { target, status, .. } if this_incident(target) => Op::Status(0, *status),
        Command::Resolve { target, .. } if this_incident(target) => Op::Resolve(0),
        Command::Reopen { target } if this_incident(target) => Op::Reopen(0),
        Command::Severity { target, severity } if this_incident(target) => Op::Severity(0, level(*severity)),
        Command::Assign { target, role: Role::Commander, user } if this_incident(target) => {
            Op::AssignCommander(0, user.clone())
        }
        Command::Note { target, .. } if this_incident(target) => Op::Note(0),
        _ => return None,
    })
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

/// Applies `op` to the model; returns whether the core should accept it, when the
/// model knows.
fn expect(model: &mut Model, op: &Op) -> Option<bool> {
    let open = model.status.is_open();
    let is_commander = |u: &usize| USERS[*u] == model.commander;
    Some(match op {
        Op::Status(_, s) => {
            let ok = open && rank(*s) > rank(model.status);
            if ok {
                model.status = *s;
            }
            ok
        }
        Op::Resolve(u) => {
            let ok = is_commander(u) && open;
            if ok {
                // A postmortem written before the resolve closes it at once.
                model.status = if model.postmortem_complete { Status::Closed } else { Status::Resolved };
            }
            ok
        }
        Op::Reopen(u) => {
            let ok = is_commander(u) && model.status == Status::Resolved;
            if ok {
                model.status = Status::Investigating;
            }
            ok
        }
        Op::Severity(u, s) => {
            let ok = is_commander(u) && model.status != Status::Closed && *s != model.severity;
            if ok {
                model.severity = *s;
            }
            ok
        }
        Op::AssignCommander(u, v) => {
            let ok = is_commander(u) && model.status != Status::Closed && *v != model.commander;
            if ok {
                model.commander = v.clone();
            }
            ok
        }
        Op::Note(_) => model.status != Status::Closed,
        Op::FillPostmortem(_) => {
            // Anyone may write it, closed or not; it closes a resolved incident.
            model.postmortem_complete = true;
            if model.status == Status::Resolved {
                model.status = Status::Closed;
            }
            true
        }
        Op::Garbage(text) => match grammar::parse(text) {
            Err(_) => false,
            Ok(command) => return as_op(&command).and_then(|op| expect(model, &op)),
        },
        Op::Message(_) | Op::Advance(_) | Op::RepeatLast | Op::RepeatMessage => return None,
    })
}

fn command_text(op: &Op) -> Option<(usize, String)> {
    Some(match op {
        Op::Status(u, s) => (*u, format!("status {s}")),
        Op::Resolve(u) => (*u, "resolve all good".into()),
        Op::Reopen(u) => (*u, "reopen".into()),
        Op::Severity(u, s) => (*u, format!("severity sev{s}")),
        Op::AssignCommander(u, v) => (*u, format!("assign commander @{v}")),
        Op::Note(u) => (*u, "note something happened".into()),
        Op::Garbage(text) => (0, text.clone()),
        _ => return None,
    })
}

async fn run_sequence(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let h = support::harness().await;
    let channel = h.declare("alice", "sev3 Model incident").await;
    let mut model = Model {
        status: Status::Investigating,
        commander: USERS[0].to_string(),
        severity: 3,
        postmortem_complete: false,
    };
    let mut last: Option<Invocation> = None;
    let mut last_message: Option<commands::ChatMessage> = None;
    for (step, op) in ops.iter().enumerate() {
        let before = h.db.incident(1).await.unwrap().unwrap();
        let entries_before = h.db.count_entries().await.unwrap();
        let predicted = expect(&mut model, op);
        let outcome = match op {
            Op::Advance(minutes) => {
                h.clock.advance(Duration::minutes(*minutes));
                None
            }
            Op::Message(u) => {
                let message = commands::ChatMessage {
                    source_id: format!("msg-{step}").into(),
                    channel_id: channel.clone().into(),
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
                    prop_assert_eq!(h.db.count_entries().await.unwrap(), entries_before, "a repeat was stored");
                    let after = h.db.incident(1).await.unwrap().unwrap();
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
                    source_id: format!("pm-{step}").into(),
                    user: USERS[*u].into(),
                    channel_id: channel.clone().into(),
                    kind: FormKind::Postmortem { incident: 1 },
                    answers,
                };
                Some(h.core.submit_form(&submission).await.unwrap())
            }
            Op::RepeatLast => {
                if let Some(inv) = &last {
                    let outcome = h.core.run(inv).await.unwrap();
                    let after = h.db.incident(1).await.unwrap().unwrap();
                    prop_assert_eq!(&after.status, &before.status, "a repeated request changed the status");
                    prop_assert_eq!(h.db.count_entries().await.unwrap(), entries_before, "a repeat added an entry");
                    let _ = outcome;
                }
                None
            }
            other => {
                let (user, text) = command_text(other).unwrap();
                let inv = Invocation {
                    source_id: format!("cmd-{step}").into(),
                    user: USERS[user].into(),
                    channel_id: channel.clone().into(),
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
            if outcome.is_error {
                prop_assert_eq!(h.db.count_entries().await.unwrap(), entries_before, "refused garbage wrote");
            }
        }
        let after = h.db.incident(1).await.unwrap().unwrap();
        prop_assert_eq!(after.status, model.status, "step {}: {:?}", step, op);
        prop_assert_eq!(after.commander.as_deref(), Some(model.commander.as_str()), "step {}: {:?}", step, op);
        prop_assert_eq!(level(after.severity), model.severity, "step {}: {:?}", step, op);
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
            let pm = h.db.postmortem(1).await.unwrap().unwrap();
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
    let config = ProptestConfig {
        cases: count,
        // Beside this file, as `lifecycle_model.proptest-regressions`.
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    };
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
