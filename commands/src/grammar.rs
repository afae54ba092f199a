//! The grammar of what users type after `/incident`, the same on every platform.
//! Parsing is pure: text in, a typed [`Command`] or a [`UsageError`] out.

use chrono::NaiveDate;
use storage::{ActionKind, Priority, Role, Severity, Status};

/// The usage line of every command, shown with errors and in help.
pub mod usage {
    pub const DECLARE: &str = "/incident declare [sev1..sev4] <title>";
    pub const STATUS: &str = "/incident status <investigating|identified|monitoring> [note]";
    pub const SEVERITY: &str = "/incident severity <sev1..sev4>";
    pub const ASSIGN: &str = "/incident assign <commander|comms|scribe> <@user>";
    pub const UPDATE: &str = "/incident update <text>";
    pub const NOTE: &str = "/incident note <text>";
    pub const TIMELINE: &str = "/incident timeline";
    pub const RESOLVE: &str = "/incident resolve [summary]";
    pub const REOPEN: &str = "/incident reopen";
    pub const POSTMORTEM: &str = "/incident postmortem";
    pub const ACTION_ADD: &str =
        "/incident action add <text> [@owner] [due:YYYY-MM-DD|due:+5d] [kind:prevent|detect|mitigate|process]";
    pub const ACTION_DONE: &str = "/incident action done <id>";
    pub const ACTION_WONTFIX: &str = "/incident action wontfix <id>";
    pub const ACTION_SNOOZE: &str = "/incident action snooze <id> <days>";
    pub const ACTION_LIST: &str = "/incident action list [mine|overdue|all]";
    pub const ACTION: &str = "/incident action <add|done|wontfix|snooze|list> …";
    pub const LIST: &str = "/incident list";
    pub const STATS: &str = "/incident stats [30d]";
    pub const HELP: &str = "/incident help";
    pub const ANY: &str = "/incident <declare|status|severity|assign|update|note|timeline|resolve|reopen|postmortem|action|list|stats|help> …";
}

/// A due date as typed: a calendar date, or a number of days from today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueSpec {
    On(NaiveDate),
    InDays(u32),
}

/// When an incident started, if earlier than its declaration: `started:-20m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartedAgo(pub chrono::Duration);

/// Which action items `action list` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListScope {
    Mine,
    Overdue,
    All,
}

/// A parsed command. `target` is an explicit `INC-n`; `None` means "this channel's incident".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Declare {
        severity: Option<Severity>,
        title: Option<String>,
        started: Option<StartedAgo>,
    },
    Status {
        target: Option<i64>,
        status: Status,
        note: Option<String>,
    },
    Severity {
        target: Option<i64>,
        severity: Severity,
    },
    Assign {
        target: Option<i64>,
        role: Role,
        user: String,
    },
    Update {
        target: Option<i64>,
        text: String,
    },
    Note {
        target: Option<i64>,
        text: String,
    },
    Timeline {
        target: Option<i64>,
    },
    Resolve {
        target: Option<i64>,
        summary: Option<String>,
    },
    Reopen {
        target: Option<i64>,
    },
    Postmortem {
        target: Option<i64>,
    },
    ActionAdd {
        target: Option<i64>,
        text: String,
        owner: Option<String>,
        due: Option<DueSpec>,
        kind: Option<ActionKind>,
        priority: Option<Priority>,
    },
    ActionDone {
        id: i64,
    },
    ActionWontfix {
        id: i64,
    },
    ActionSnooze {
        id: i64,
        days: u32,
    },
    ActionList {
        target: Option<i64>,
        scope: Option<ListScope>,
    },
    List,
    Stats {
        days: u32,
    },
    Help,
}

/// Input that does not fit the grammar: what is wrong, and the usage line to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem}")]
pub struct UsageError {
    pub problem: String,
    pub usage: &'static str,
}

fn usage_error(problem: impl Into<String>, usage: &'static str) -> UsageError {
    UsageError { problem: problem.into(), usage }
}

/// Walks the words of a command while keeping the untouched rest for free text.
struct Words<'a> {
    rest: &'a str,
}

impl<'a> Words<'a> {
    fn new(text: &'a str) -> Self {
        Words { rest: text.trim() }
    }

    fn peek(&self) -> Option<&'a str> {
        self.rest.split_whitespace().next()
    }

    fn next(&mut self) -> Option<&'a str> {
        let word = self.peek()?;
        let start = self.rest.find(word).unwrap_or(0);
        self.rest = self.rest[start + word.len()..].trim_start();
        Some(word)
    }

    /// The rest of the line, or `None` when nothing is left.
    fn rest(&self) -> Option<String> {
        let rest = self.rest.trim();
        (!rest.is_empty()).then(|| rest.to_string())
    }
}

/// `INC-42` (any case) as 42.
pub fn parse_incident_ref(word: &str) -> Option<i64> {
    let digits = word.strip_prefix("INC-").or_else(|| word.strip_prefix("inc-"))?;
    let id: i64 = digits.parse().ok()?;
    (id > 0 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}

/// A user as typed: `@alice`, or a platform mention such as `<@U123>`, `<@U123|alice>`
/// or `<@!123>`. Returns the user id.
pub fn parse_user(word: &str) -> Option<String> {
    let id = if let Some(inner) = word.strip_prefix("<@").and_then(|w| w.strip_suffix('>')) {
        let inner = inner.strip_prefix('!').unwrap_or(inner);
        inner.split('|').next().unwrap_or(inner)
    } else {
        word.strip_prefix('@')?
    };
    let valid =
        !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
    valid.then(|| id.to_string())
}

fn parse_severity(word: &str, usage: &'static str) -> Result<Severity, UsageError> {
    word.parse().map_err(|e: storage::UnknownWord| usage_error(e.to_string(), usage))
}

fn looks_like_severity(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    lower.strip_prefix("sev").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn parse_id(word: Option<&str>, usage: &'static str) -> Result<i64, UsageError> {
    let word = word.ok_or_else(|| usage_error("Which action item? Give its number.", usage))?;
    let digits = word.strip_prefix('#').unwrap_or(word);
    digits
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| usage_error(format!("`{word}` is not an action item number."), usage))
}

/// `30d` (or `30`) as 30, between 1 and 3650 days.
fn parse_days(word: &str) -> Option<u32> {
    let digits = word.strip_suffix('d').unwrap_or(word);
    digits.parse::<u32>().ok().filter(|d| (1..=3650).contains(d))
}

fn parse_due(value: &str) -> Result<DueSpec, UsageError> {
    let bad = || usage_error(format!("`due:{value}` is not a date. Use due:YYYY-MM-DD or due:+5d."), usage::ACTION_ADD);
    if let Some(days) = value.strip_prefix('+') {
        let (number, unit_days) = match days.strip_suffix('w') {
            Some(weeks) => (weeks, 7),
            None => (days.strip_suffix('d').unwrap_or(days), 1),
        };
        let n: u32 = number.parse().map_err(|_| bad())?;
        let total = n.checked_mul(unit_days).filter(|d| *d <= 3650).ok_or_else(bad)?;
        return Ok(DueSpec::InDays(total));
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d").map(DueSpec::On).map_err(|_| bad())
}

/// `-20m`, `-2h` or `-1d` as how long ago the incident started.
fn parse_started(value: &str) -> Result<StartedAgo, UsageError> {
    let bad = || {
        usage_error(
            format!("`started:{value}` is not a time ago. Use started:-20m, started:-2h or started:-1d."),
            usage::DECLARE,
        )
    };
    let ago = value.strip_prefix('-').ok_or_else(bad)?;
    let (number, unit) = ago.split_at(ago.len().saturating_sub(1));
    let n: i64 = number.parse().map_err(|_| bad())?;
    let minutes = match unit {
        "m" => n,
        "h" => n * 60,
        "d" => n * 24 * 60,
        _ => return Err(bad()),
    };
    if !(1..=30 * 24 * 60).contains(&minutes) {
        return Err(bad());
    }
    Ok(StartedAgo(chrono::Duration::minutes(minutes)))
}

/// Parses what follows `/incident`.
pub fn parse(input: &str) -> Result<Command, UsageError> {
    let mut words = Words::new(input);
    // `INC-n` may come before the subcommand as well as after it.
    let mut target = words.peek().and_then(parse_incident_ref);
    if target.is_some() {
        words.next();
    }
    let Some(verb) = words.next() else {
        return Ok(Command::Help);
    };
    let verb = verb.to_ascii_lowercase();
    if verb != "action" && target.is_none() {
        target = words.peek().and_then(parse_incident_ref);
        if target.is_some() {
            words.next();
        }
    }
    let no_target = |command: Command, usage: &'static str| match target {
        Some(_) => Err(usage_error("This command does not take an incident.", usage)),
        None => Ok(command),
    };
    match verb.as_str() {
        "declare" => parse_declare(&mut words, target),
        "status" => {
            let word = words.next().ok_or_else(|| usage_error("Which status?", usage::STATUS))?;
            let status: Status =
                word.parse().map_err(|e: storage::UnknownWord| usage_error(e.to_string(), usage::STATUS))?;
            match status {
                Status::Resolved => Err(usage_error("To resolve, use /incident resolve [summary].", usage::RESOLVE)),
                Status::Closed => Err(usage_error(
                    "An incident closes when its postmortem is complete: /incident postmortem.",
                    usage::POSTMORTEM,
                )),
                status => Ok(Command::Status { target, status, note: words.rest() }),
            }
        }
        "severity" | "sev" => {
            let word = words.next().ok_or_else(|| usage_error("Which severity?", usage::SEVERITY))?;
            let severity = parse_severity(word, usage::SEVERITY)?;
            match words.rest() {
                Some(extra) => Err(usage_error(format!("Unexpected `{extra}` after the severity."), usage::SEVERITY)),
                None => Ok(Command::Severity { target, severity }),
            }
        }
        "assign" => {
            let role_word = words.next().ok_or_else(|| usage_error("Which role?", usage::ASSIGN))?;
            let role: Role =
                role_word.parse().map_err(|e: storage::UnknownWord| usage_error(e.to_string(), usage::ASSIGN))?;
            let user_word = words.next().ok_or_else(|| usage_error("Assign it to whom?", usage::ASSIGN))?;
            let user = parse_user(user_word).ok_or_else(|| {
                usage_error(format!("`{user_word}` is not a user; mention them as @name."), usage::ASSIGN)
            })?;
            match words.rest() {
                Some(extra) => Err(usage_error(format!("Unexpected `{extra}` after the user."), usage::ASSIGN)),
                None => Ok(Command::Assign { target, role, user }),
            }
        }
        "update" => {
            let text = words.rest().ok_or_else(|| usage_error("What is the update?", usage::UPDATE))?;
            Ok(Command::Update { target, text })
        }
        "note" => {
            let text = words.rest().ok_or_else(|| usage_error("What is the note?", usage::NOTE))?;
            Ok(Command::Note { target, text })
        }
        "timeline" => only_target(&words, Command::Timeline { target }, usage::TIMELINE),
        "resolve" => Ok(Command::Resolve { target, summary: words.rest() }),
        "reopen" => only_target(&words, Command::Reopen { target }, usage::REOPEN),
        "postmortem" | "pm" => only_target(&words, Command::Postmortem { target }, usage::POSTMORTEM),
        "action" | "actions" => parse_action(&mut words, target),
        "list" => no_target(Command::List, usage::LIST).and_then(|c| only_target(&words, c, usage::LIST)),
        "stats" => {
            let days = match words.next() {
                None => 30,
                Some(word) => parse_days(word)
                    .ok_or_else(|| usage_error(format!("`{word}` is not a number of days like 30d."), usage::STATS))?,
            };
            no_target(Command::Stats { days }, usage::STATS).and_then(|c| only_target(&words, c, usage::STATS))
        }
        "help" => Ok(Command::Help),
        other => Err(usage_error(format!("`{other}` is not an /incident command."), usage::ANY)),
    }
}

fn only_target(words: &Words<'_>, command: Command, usage: &'static str) -> Result<Command, UsageError> {
    match words.rest() {
        Some(extra) => Err(usage_error(format!("Unexpected `{extra}`."), usage)),
        None => Ok(command),
    }
}

fn parse_declare(words: &mut Words<'_>, target: Option<i64>) -> Result<Command, UsageError> {
    if let Some(id) = target {
        return Err(usage_error(format!("INC-{id} already exists; declare takes a title."), usage::DECLARE));
    }
    let mut severity = None;
    let mut started = None;
    while let Some(word) = words.peek() {
        if looks_like_severity(word) && severity.is_none() {
            severity = Some(parse_severity(word, usage::DECLARE)?);
        } else if let Some(value) = word.strip_prefix("started:") {
            started = Some(parse_started(value)?);
        } else {
            break;
        }
        words.next();
    }
    Ok(Command::Declare { severity, title: words.rest(), started })
}

fn parse_action(words: &mut Words<'_>, target: Option<i64>) -> Result<Command, UsageError> {
    let sub = words.next().ok_or_else(|| usage_error("Which action command?", usage::ACTION))?.to_ascii_lowercase();
    let target = match target {
        Some(t) => Some(t),
        None => {
            let after = words.peek().and_then(parse_incident_ref);
            if after.is_some() {
                words.next();
            }
            after
        }
    };
    let id_only = |words: &mut Words<'_>, usage: &'static str| -> Result<i64, UsageError> {
        if target.is_some() {
            return Err(usage_error("Action items are named by number alone, not by incident.", usage));
        }
        let id = parse_id(words.next(), usage)?;
        Ok(id)
    };
    match sub.as_str() {
        "add" => parse_action_add(words, target),
        "done" => {
            let id = id_only(words, usage::ACTION_DONE)?;
            only_target(words, Command::ActionDone { id }, usage::ACTION_DONE)
        }
        "wontfix" => {
            let id = id_only(words, usage::ACTION_WONTFIX)?;
            only_target(words, Command::ActionWontfix { id }, usage::ACTION_WONTFIX)
        }
        "snooze" => {
            let id = id_only(words, usage::ACTION_SNOOZE)?;
            let word = words.next().ok_or_else(|| usage_error("Snooze it for how many days?", usage::ACTION_SNOOZE))?;
            let days = parse_days(word).filter(|d| *d <= 365).ok_or_else(|| {
                usage_error(format!("`{word}` is not a number of days (1 to 365)."), usage::ACTION_SNOOZE)
            })?;
            only_target(words, Command::ActionSnooze { id, days }, usage::ACTION_SNOOZE)
        }
        "list" | "ls" => {
            let scope = match words.next().map(str::to_ascii_lowercase).as_deref() {
                None => None,
                Some("mine") => Some(ListScope::Mine),
                Some("overdue") => Some(ListScope::Overdue),
                Some("all") => Some(ListScope::All),
                Some(other) => {
                    return Err(usage_error(format!("`{other}` is not one of mine, overdue, all."), usage::ACTION_LIST))
                }
            };
            only_target(words, Command::ActionList { target, scope }, usage::ACTION_LIST)
        }
        other => Err(usage_error(format!("`{other}` is not an action command."), usage::ACTION)),
    }
}

fn parse_action_add(words: &mut Words<'_>, target: Option<i64>) -> Result<Command, UsageError> {
    let mut text = Vec::new();
    let mut owner = None;
    let mut due = None;
    let mut kind = None;
    let mut priority = None;
    while let Some(word) = words.next() {
        if let Some(value) = word.strip_prefix("due:") {
            due = Some(parse_due(value)?);
        } else if let Some(value) = word.strip_prefix("kind:") {
            kind =
                Some(value.parse().map_err(|e: storage::UnknownWord| usage_error(e.to_string(), usage::ACTION_ADD))?);
        } else if let Some(value) = word.strip_prefix("priority:").or_else(|| word.strip_prefix("prio:")) {
            priority =
                Some(value.parse().map_err(|e: storage::UnknownWord| usage_error(e.to_string(), usage::ACTION_ADD))?);
        } else if let Some(user) = (word.starts_with('@') || word.starts_with("<@")).then(|| parse_user(word)).flatten()
        {
            if owner.replace(user).is_some() {
                return Err(usage_error("An action item has one owner; mention only one @user.", usage::ACTION_ADD));
            }
        } else {
            text.push(word);
        }
    }
    if text.is_empty() {
        return Err(usage_error("What needs doing? Give the action item's text.", usage::ACTION_ADD));
    }
    Ok(Command::ActionAdd { target, text: text.join(" "), owner, due, kind, priority })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn ok(input: &str) -> Command {
        parse(input).unwrap_or_else(|e| panic!("{input}: {e}"))
    }

    fn err(input: &str) -> UsageError {
        parse(input).expect_err(input)
    }

    #[test]
    fn declare_takes_optional_severity_and_title() {
        assert_eq!(
            ok("declare sev2 Database  down"),
            Command::Declare { severity: Some(Severity::Sev2), title: Some("Database  down".into()), started: None }
        );
        assert_eq!(ok("declare"), Command::Declare { severity: None, title: None, started: None });
        assert_eq!(
            ok("declare started:-20m Checkout errors"),
            Command::Declare {
                severity: None,
                title: Some("Checkout errors".into()),
                started: Some(StartedAgo(chrono::Duration::minutes(20)))
            }
        );
    }

    #[test]
    fn bad_severity_names_the_choices_and_usage() {
        let e = err("declare sev9 Something");
        assert!(e.problem.contains("sev9") && e.problem.contains("sev1"), "{}", e.problem);
        assert_eq!(e.usage, usage::DECLARE);
        assert_eq!(err("severity high").usage, usage::SEVERITY);
    }

    #[test]
    fn status_accepts_open_statuses_only() {
        assert_eq!(
            ok("status identified bad deploy"),
            Command::Status { target: None, status: Status::Identified, note: Some("bad deploy".into()) }
        );
        assert_eq!(err("status resolved").usage, usage::RESOLVE);
        assert!(err("status fixed").problem.contains("`fixed` is not a status"));
        assert_eq!(err("status").usage, usage::STATUS);
    }

    #[test]
    fn incident_ref_may_come_before_or_after_the_verb() {
        let want = Command::Severity { target: Some(3), severity: Severity::Sev1 };
        assert_eq!(ok("INC-3 severity sev1"), want);
        assert_eq!(ok("severity inc-3 sev1"), want);
        assert_eq!(
            ok("action add INC-3 fix it").clone(),
            Command::ActionAdd {
                target: Some(3),
                text: "fix it".into(),
                owner: None,
                due: None,
                kind: None,
                priority: None
            }
        );
    }

    #[test]
    fn assign_parses_platform_mentions() {
        for mention in ["@bob", "<@bob>", "<@bob|Bob B>", "<@!bob>"] {
            if mention.contains(' ') {
                continue;
            }
            assert_eq!(
                ok(&format!("assign comms {mention}")),
                Command::Assign { target: None, role: Role::Comms, user: "bob".into() }
            );
        }
        assert_eq!(
            ok("assign comms <@U123|bob>"),
            Command::Assign { target: None, role: Role::Comms, user: "U123".into() }
        );
        assert_eq!(err("assign boss @bob").usage, usage::ASSIGN);
        assert_eq!(err("assign comms bob").usage, usage::ASSIGN);
    }

    #[test]
    fn action_add_collects_options_anywhere() {
        assert_eq!(
            ok("action add Add replica lag alert @carol due:+5d kind:detect"),
            Command::ActionAdd {
                target: None,
                text: "Add replica lag alert".into(),
                owner: Some("carol".into()),
                due: Some(DueSpec::InDays(5)),
                kind: Some(ActionKind::Detect),
                priority: None,
            }
        );
        let dated = ok("action add kind:prevent due:2026-12-01 Pin the driver version");
        assert!(matches!(dated, Command::ActionAdd { due: Some(DueSpec::On(d)), .. } if d.to_string() == "2026-12-01"));
        assert!(err("action add fix due:tomorrow").problem.contains("due:tomorrow"));
        assert!(err("action add fix due:2026-02-30").problem.contains("not a date"));
        assert_eq!(err("action add @bob").usage, usage::ACTION_ADD);
        assert_eq!(err("action add a @bob @carol").usage, usage::ACTION_ADD);
    }

    #[test]
    fn action_ids_and_lists() {
        assert_eq!(ok("action done 4"), Command::ActionDone { id: 4 });
        assert_eq!(ok("action done #4"), Command::ActionDone { id: 4 });
        assert_eq!(ok("action snooze 4 3d"), Command::ActionSnooze { id: 4, days: 3 });
        assert_eq!(ok("action list overdue"), Command::ActionList { target: None, scope: Some(ListScope::Overdue) });
        assert_eq!(err("action done four").usage, usage::ACTION_DONE);
        assert_eq!(err("action list yours").usage, usage::ACTION_LIST);
        assert_eq!(err("action").usage, usage::ACTION);
    }

    #[test]
    fn unknown_and_empty_input() {
        assert_eq!(err("explode now").usage, usage::ANY);
        assert_eq!(ok(""), Command::Help);
        assert_eq!(ok("stats 7d"), Command::Stats { days: 7 });
        assert_eq!(err("stats forever").usage, usage::STATS);
        assert_eq!(err("list INC-1").usage, usage::LIST);
    }

    #[test]
    fn incident_refs() {
        assert_eq!(parse_incident_ref("INC-42"), Some(42));
        assert_eq!(parse_incident_ref("INC-0"), None);
        assert_eq!(parse_incident_ref("INC-+4"), None);
        assert_eq!(parse_incident_ref("INC42"), None);
    }
}
