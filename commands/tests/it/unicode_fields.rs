//! Property test: arbitrary Unicode in every text field of every command, form and chat
//! message, through the real core. Accents, emoji, ZWJ sequences, combining marks,
//! Unicode spaces, right-to-left text, bidi overrides, zero-width characters, control
//! characters and terminal escapes go wherever a user can type: numbers, keywords,
//! mentions, dates, titles, notes and postmortem answers.
//!
//! After every step:
//! - nothing panicked, and the core answered (`Err` is for failures, never for input);
//! - a refusal (`is_error`) changed nothing: the incidents, their timelines, the
//!   postmortems and the action items read back as before, and nothing was sent to chat;
//! - what was stored carries no control character (other than line breaks and tabs) and
//!   no bidi override.
//!
//! The default run is 256 cases of up to 8 steps; `UNICODE_CASES=n` sets another count.

use chrono::Duration;
use commands::{ChatMessage, FormKind, FormSubmission, Ingested, Invocation, Outcome};
use proptest::prelude::*;

use crate::support;
use storage::{ActionFilter, ActionItem, Incident, Postmortem, TimelineEntry};

const USERS: [&str; 3] = ["alice", "bob", "carol"];

/// The character classes that have split strings inside a character before, or that
/// text hygiene must handle.
const TRICKY: &[&str] = &[
    "é",
    "ü",
    "e\u{301}",
    "\u{301}",
    "😀",
    "🔥",
    "👩\u{200d}💻",
    "👨\u{200d}👩\u{200d}👧",
    "\u{a0}",
    "\u{2003}",
    "\u{3000}",
    "\u{202f}",
    "\u{2028}",
    "\u{85}",
    "שלום",
    "مرحبا",
    "\u{202e}",
    "\u{2066}",
    "\u{200f}",
    "\u{200b}",
    "\u{feff}",
    "\u{ad}",
    "\u{1b}[2J",
    "\u{1b}[1;31m",
    "\u{1b}",
    "\u{0}",
    "\u{7}",
    "\u{7f}",
    "\r",
    "\n",
    "\t",
    "５",
    "٥",
    "’",
];

/// Pieces of the grammar, so that generated text is often almost a valid command.
const WORDS: &[&str] = &[
    "sev1",
    "sev2",
    "sev9",
    "started:-5m",
    "-5",
    "-20m",
    "+5d",
    "+2w",
    "due:+5d",
    "2026-12-24",
    "30d",
    "30",
    "1",
    "#1",
    "@bob",
    "<@U1>",
    "<@U1|bob>",
    "INC-1",
    "INC-2",
    "all",
    "identified",
    "commander",
    "comms",
    "detect",
    "high",
    "'s fault",
    "it was",
    "human error",
    " ",
];

/// What follows `/incident`; each `{x}` is filled with generated text.
const TEMPLATES: &[&str] = &[
    "declare {x}",
    "declare sev{x} {x}",
    "declare started:{x} {x}",
    "declare started:-5{x} {x}",
    "declare sev2 started:-{x} {x}",
    "declare {x} started:{x}",
    "note {x}",
    "INC-1 note {x}",
    "note INC-{x} {x}",
    "update {x}",
    "status identified {x}",
    "status {x} {x}",
    "resolve {x}",
    "INC-{x} resolve {x}",
    "reopen {x}",
    "action add {x} due:{x} kind:{x} prio:{x}",
    "action add {x} @{x} due:+{x}",
    "action add {x}",
    "action done {x}",
    "action done #{x}",
    "action wontfix {x}",
    "action snooze 1 {x}",
    "action snooze {x} {x}",
    "action reassign {x} @{x}",
    "action reassign 1 @{x}",
    "action reassign 1 <@{x}>",
    "action due {x} {x}",
    "action due 1 {x}",
    "action due 1 +{x}",
    "action due 1 due:{x}",
    "action list {x}",
    "assign comms @{x}",
    "assign commander @{x}",
    "assign {x} @{x}",
    "severity {x}",
    "sev {x}",
    "stats {x}",
    "stats 30{x}",
    "INC-{x} timeline",
    "timeline {x}",
    "postmortem {x}",
    "postmortem all{x}",
    "INC-{x} postmortem all",
    "list {x}",
    "help {x}",
    "{x}",
    "{x} {x}",
];

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(TRICKY).prop_map(str::to_string),
        3 => prop::sample::select(WORDS).prop_map(str::to_string),
        2 => "[0-9]{1,3}",
        2 => "\\PC{0,12}",
        1 => any::<String>(),
        2 => "[ \\t\\r\\n\\x00-\\x1f\\x7f\\x{85}\\x{a0}\\x{2003}\\x{3000}\\x{202f}\\x{2028}]{1,3}",
    ]
}

/// Text for one field: a few pieces run together.
fn field() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..5).prop_map(|pieces| pieces.concat())
}

/// Where a step happens: the first incident's channel, the second's, or elsewhere.
#[derive(Debug, Clone, Copy)]
enum Place {
    First,
    Second,
    General,
}

#[derive(Debug, Clone)]
enum Op {
    Command { user: usize, place: Place, text: String },
    Form { user: usize, place: Place, kind: FormKind, answers: Vec<(String, String)> },
    Message { user: usize, place: Place, text: String },
}

fn place() -> impl Strategy<Value = Place> {
    prop_oneof![Just(Place::First), Just(Place::Second), Just(Place::General)]
}

fn command_text() -> impl Strategy<Value = String> {
    (prop::sample::select(TEMPLATES), prop::collection::vec(field(), 4)).prop_map(|(template, fields)| {
        let mut out = String::new();
        let mut fields = fields.into_iter();
        let mut parts = template.split("{x}").peekable();
        while let Some(part) = parts.next() {
            out.push_str(part);
            if parts.peek().is_some() {
                out.push_str(&fields.next().unwrap_or_default());
            }
        }
        out
    })
}

fn form_key() -> impl Strategy<Value = String> {
    let keys: Vec<&'static str> = commands::postmortem::FIELDS.iter().map(|f| f.key).collect();
    prop_oneof![
        8 => prop::sample::select(keys).prop_map(str::to_string),
        1 => prop::sample::select(vec!["title", "severity", "description"]).prop_map(str::to_string),
        1 => field(),
    ]
}

fn form() -> impl Strategy<Value = (FormKind, Vec<(String, String)>)> {
    let postmortem =
        (prop_oneof![Just(1i64), Just(2), Just(3), 1i64..i64::MAX], any::<bool>()).prop_map(|(incident, all)| {
            if all {
                FormKind::PostmortemAll { incident }
            } else {
                FormKind::Postmortem { incident }
            }
        });
    let declare_answers = (field(), prop_oneof![field(), Just("sev2".to_string())], field()).prop_map(
        |(title, severity, description)| {
            vec![
                ("title".to_string(), title),
                ("severity".to_string(), severity),
                ("description".to_string(), description),
            ]
        },
    );
    prop_oneof![
        1 => declare_answers.prop_map(|answers| (FormKind::Declare, answers)),
        3 => (postmortem, prop::collection::vec((form_key(), field()), 0..4)),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let user = 0..USERS.len();
    prop_oneof![
        6 => (user.clone(), place(), command_text()).prop_map(|(user, place, text)| Op::Command { user, place, text }),
        3 => (user.clone(), place(), form())
            .prop_map(|(user, place, (kind, answers))| Op::Form { user, place, kind, answers }),
        1 => (user, place(), field()).prop_map(|(user, place, text)| Op::Message { user, place, text }),
    ]
}

/// Everything a refused step must leave as it was.
#[derive(Debug, PartialEq)]
struct Snapshot {
    entries: i64,
    /// Incidents 1, 2, … up to and including the first id that does not exist.
    incidents: Vec<Option<Incident>>,
    timelines: Vec<Vec<TimelineEntry>>,
    postmortems: Vec<Option<Postmortem>>,
    actions: Vec<Vec<ActionItem>>,
    open_actions: Vec<ActionItem>,
    chat_calls: usize,
}

async fn snapshot(h: &support::Harness) -> Snapshot {
    let db = &h.db;
    let mut snapshot = Snapshot {
        entries: db.count_entries().await.unwrap(),
        incidents: Vec::new(),
        timelines: Vec::new(),
        postmortems: Vec::new(),
        actions: Vec::new(),
        open_actions: db.actions(&ActionFilter::AllOpen).await.unwrap(),
        chat_calls: h.chat.calls().len(),
    };
    for id in 1.. {
        let incident = db.incident(id).await.unwrap();
        let exists = incident.is_some();
        snapshot.incidents.push(incident);
        if !exists {
            break;
        }
        snapshot.timelines.push(db.timeline(id, false).await.unwrap());
        snapshot.postmortems.push(db.postmortem(id).await.unwrap());
        snapshot.actions.push(db.actions(&ActionFilter::Incident(id)).await.unwrap());
    }
    snapshot
}

/// What differs between two snapshots, in words; empty when nothing does.
fn changes(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    let mut changed = Vec::new();
    if before.entries != after.entries {
        changed.push(format!("the entry count from {} to {}", before.entries, after.entries));
    }
    for (i, (b, a)) in before.incidents.iter().zip(&after.incidents).enumerate() {
        if b != a {
            changed.push(format!("incident {}: {b:?} became {a:?}", i + 1));
        }
    }
    if after.incidents.len() != before.incidents.len() {
        changed.push(format!("the incidents: {} became {}", before.incidents.len(), after.incidents.len()));
    }
    for (i, (b, a)) in before.timelines.iter().zip(&after.timelines).enumerate() {
        if b != a {
            let new: Vec<&TimelineEntry> = a.iter().filter(|e| !b.contains(e)).collect();
            changed.push(format!("the timeline of INC-{}: now also {new:?}", i + 1));
        }
    }
    for (i, (b, a)) in before.postmortems.iter().zip(&after.postmortems).enumerate() {
        if b != a {
            changed.push(format!("the postmortem of INC-{}: {b:?} became {a:?}", i + 1));
        }
    }
    for (i, (b, a)) in before.actions.iter().zip(&after.actions).enumerate() {
        if b != a {
            changed.push(format!("the action items of INC-{}: {b:?} became {a:?}", i + 1));
        }
    }
    if before.open_actions != after.open_actions {
        changed.push("the open action items".to_string());
    }
    if before.chat_calls != after.chat_calls {
        changed.push(format!("chat: {} calls became {}", before.chat_calls, after.chat_calls));
    }
    changed
}

/// A character that cleaning removes: controls other than line breaks and tabs, and
/// bidi embeddings, overrides and isolates.
fn unclean(c: char) -> bool {
    (c.is_control() && !matches!(c, '\n' | '\t')) || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Every stored text is clean.
fn check_stored_text(snapshot: &Snapshot) -> Result<(), TestCaseError> {
    let mut texts: Vec<(&str, &str)> = Vec::new();
    for incident in snapshot.incidents.iter().flatten() {
        texts.push(("title", &incident.title));
        if let Some(description) = &incident.description {
            texts.push(("description", description));
        }
    }
    for entry in snapshot.timelines.iter().flatten() {
        texts.push(("timeline entry", &entry.text));
    }
    for item in snapshot.actions.iter().flatten() {
        texts.push(("action item", &item.text));
    }
    for postmortem in snapshot.postmortems.iter().flatten() {
        for field in commands::postmortem::FIELDS {
            if let Some(answer) = postmortem.get(field.field) {
                texts.push((field.key, answer));
            }
        }
    }
    for (what, text) in texts {
        prop_assert!(!text.chars().any(unclean), "stored {} is not clean: {:?}", what, text);
    }
    for incident in snapshot.incidents.iter().flatten() {
        prop_assert!(!incident.title.contains(['\n', '\t']), "a title keeps a line break: {:?}", incident.title);
    }
    Ok(())
}

/// Two incidents, as a session would have them: INC-1 open with action item #1, INC-2
/// resolved with every postmortem field but the lessons written.
async fn setting() -> (support::Harness, String, String) {
    let h = support::harness().await;
    let first = h.declare("alice", "sev2 Checkout is failing").await;
    let second = h.declare("alice", "sev3 Search is slow").await;
    for (channel, text) in [(&first, "action add fix the alert @bob due:+5d"), (&second, "resolve cache flushed")] {
        let outcome = h.run("alice", channel, text).await;
        assert!(!outcome.is_error, "{outcome:?}");
    }
    let answers = commands::postmortem::FIELDS
        .iter()
        .filter(|f| f.key != "lessons")
        .map(|f| (f.key.to_string(), format!("{} text", f.key)))
        .collect();
    let submission = FormSubmission {
        source_id: h.next_source().into(),
        user: "alice".into(),
        channel_id: second.clone().into(),
        kind: FormKind::Postmortem { incident: 2 },
        answers,
    };
    let outcome = h.core.submit_form(&submission).await.unwrap();
    assert!(!outcome.is_error, "{outcome:?}");
    (h, first, second)
}

async fn run_case(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let (h, first, second) = setting().await;
    let channel = |place: Place| match place {
        Place::First => first.clone(),
        Place::Second => second.clone(),
        Place::General => "general".to_string(),
    };
    for (step, op) in ops.iter().enumerate() {
        h.clock.advance(Duration::minutes(1));
        let before = snapshot(&h).await;
        let refused = match op {
            Op::Command { user, place, text } => {
                let inv = Invocation {
                    source_id: h.next_source().into(),
                    user: USERS[*user].into(),
                    channel_id: channel(*place).into(),
                    text: text.clone(),
                };
                let outcome = h.core.run(&inv).await;
                prop_assert!(outcome.is_ok(), "step {}: `{:?}` failed: {:?}", step, text, outcome);
                is_refusal(outcome.ok())
            }
            Op::Form { user, place, kind, answers } => {
                let submission = FormSubmission {
                    source_id: h.next_source().into(),
                    user: USERS[*user].into(),
                    channel_id: channel(*place).into(),
                    kind: *kind,
                    answers: answers.clone(),
                };
                let outcome = h.core.submit_form(&submission).await;
                prop_assert!(outcome.is_ok(), "step {}: form {:?} failed: {:?}", step, submission, outcome);
                is_refusal(outcome.ok())
            }
            Op::Message { user, place, text } => {
                let message = ChatMessage {
                    source_id: h.next_source().into(),
                    channel_id: channel(*place).into(),
                    author: USERS[*user].into(),
                    text: text.clone(),
                    at: h.core.now(),
                };
                let ingested = h.core.message_posted(&message).await;
                prop_assert!(ingested.is_ok(), "step {}: message {:?} failed: {:?}", step, text, ingested);
                let after = snapshot(&h).await;
                match ingested.ok() {
                    Some(Ingested::Stored) => {
                        prop_assert_eq!(after.entries, before.entries + 1, "step {}: one message, one entry", step)
                    }
                    _ => {
                        let changed = changes(&before, &after);
                        prop_assert!(changed.is_empty(), "step {}: an ignored message changed {:?}", step, changed);
                    }
                }
                false
            }
        };
        let after = snapshot(&h).await;
        if refused {
            let changed = changes(&before, &after);
            prop_assert!(changed.is_empty(), "step {}: {:?} was refused but changed {:?}", step, op, changed);
        }
        check_stored_text(&after)?;
    }
    Ok(())
}

fn is_refusal(outcome: Option<Outcome>) -> bool {
    outcome.is_some_and(|outcome| outcome.is_error)
}

fn cases(default: u32) -> u32 {
    std::env::var("UNICODE_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(default)
}

#[test]
fn unicode_in_every_field_never_panics_and_refusals_write_nothing() {
    let config = ProptestConfig { cases: cases(256), failure_persistence: None, ..ProptestConfig::default() };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let result = runner.run(&prop::collection::vec(op(), 1..8), |ops| runtime.block_on(run_case(ops)));
    if let Err(failure) = result {
        panic!("{failure}");
    }
}
