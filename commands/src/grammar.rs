//! The grammar of what users type after `/incident`, the same on every platform.
//! Parsing is pure: text in, a typed [`Command`] or a [`UsageError`] out.

use chrono::NaiveDate;
use storage::{ActionKind, Priority, Role, Severity, Status};

use crate::{format, limits};

/// The usage line of every command, shown with errors and in help.
pub mod usage {
    pub const DECLARE: &str =
        "/incident declare [drill] [private] [sev1..sev4] [started:-20m] [service:<name>]… <title>";
    pub const STATUS: &str = "/incident status <investigating|identified|monitoring> [note]";
    pub const SEVERITY: &str = "/incident severity <sev1..sev4>";
    pub const ASSIGN: &str = "/incident assign <commander|comms|scribe> <@user>";
    pub const TAKE: &str = "/incident take";
    pub const UPDATE: &str = "/incident update <text>";
    pub const NOTE: &str = "/incident note <text>";
    pub const TIMELINE: &str = "/incident timeline";
    pub const RESOLVE: &str = "/incident resolve [summary]";
    pub const REOPEN: &str = "/incident reopen";
    pub const POSTMORTEM: &str = "/incident postmortem [all]";
    pub const ACTION_ADD: &str =
        "/incident action add <text> [@owner] [due:YYYY-MM-DD|due:+5d] [kind:prevent|detect|mitigate|process] [prio:high|medium|low] [addresses:<tag>]";
    pub const ACTION_DONE: &str = "/incident action done <id>";
    pub const ACTION_WONTFIX: &str = "/incident action wontfix <id>";
    pub const ACTION_SNOOZE: &str = "/incident action snooze <id> <days>";
    pub const ACTION_REASSIGN: &str = "/incident action reassign <id> <@user>";
    pub const ACTION_DUE: &str = "/incident action due <id> <YYYY-MM-DD|+5d>";
    pub const ACTION_LIST: &str = "/incident action list [mine|overdue|all]";
    pub const ACTION_LINK: &str = "/incident action link <id> <issue URL or key>";
    pub const ACTION_REOPEN: &str = "/incident action reopen <id>";
    pub const ACTION: &str = "/incident action <add|done|wontfix|reopen|snooze|reassign|due|link|list> …";
    pub const PUBLIC: &str = "/incident public <text>";
    pub const SERVICE: &str = "/incident service <add|remove|list> [name]";
    pub const FACTOR: &str = "/incident factor <add|remove|list> [tag]";
    pub const INVITE: &str = "/incident invite <@user>";
    pub const LIST: &str = "/incident list";
    pub const STATS: &str = "/incident stats [30d]";
    pub const WEB: &str = "/incident web";
    pub const HELP: &str = "/incident help";
    pub const ALERT_DECLARE: &str = "/incident alert declare <alert-id> [sev1..sev4]";
    pub const ALERT_ATTACH: &str = "/incident alert attach <alert-id> INC-n";
    pub const ALERT_DISMISS: &str = "/incident alert dismiss <alert-id> [reason]";
    pub const ALERT: &str = "/incident alert <declare|attach|dismiss> <alert-id> …";
    pub const ALERTS: &str = "/incident alerts";
    pub const ANY: &str = "/incident <declare|status|severity|assign|take|update|public|note|timeline|resolve|reopen|postmortem|action|alert|alerts|service|factor|invite|list|stats|web|help> …";
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

/// Whether a name is being added to a set or taken out of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetChange {
    Add,
    Remove,
}

/// What kind of incident a declare opens: real or a drill, public or private.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeclareKind {
    /// A game day: `declare drill …`.
    pub drill: bool,
    /// Seen only by the people in it: `declare private …`.
    pub private: bool,
}

/// A parsed command. `target` is an explicit `INC-n`; `None` means "this channel's incident".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Declare {
        severity: Option<Severity>,
        title: Option<String>,
        started: Option<StartedAgo>,
        /// Service names as typed (`service:checkout`, repeatable); the core resolves them.
        services: Vec<String>,
        kind: DeclareKind,
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
    /// Take command of an incident that has none yet (one the system declared).
    TakeCommand {
        target: Option<i64>,
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
    /// `all` asks for every field, to correct what is written; without it the form
    /// asks only for what is missing.
    Postmortem {
        target: Option<i64>,
        all: bool,
    },
    ActionAdd {
        target: Option<i64>,
        text: String,
        owner: Option<String>,
        due: Option<DueSpec>,
        kind: Option<ActionKind>,
        priority: Option<Priority>,
        /// The contributing-factor tag it addresses, as typed (`addresses:monitoring-gap`).
        addresses: Option<String>,
    },
    ActionDone {
        id: i64,
    },
    ActionWontfix {
        id: i64,
    },
    /// Reopens a done or won't-fix item (and its issue).
    ActionReopen {
        id: i64,
    },
    ActionSnooze {
        id: i64,
        days: u32,
    },
    ActionReassign {
        id: i64,
        owner: String,
    },
    ActionDue {
        id: i64,
        due: DueSpec,
    },
    ActionList {
        target: Option<i64>,
        scope: Option<ListScope>,
    },
    /// Links an item to an issue that already exists in the tracker.
    ActionLink {
        id: i64,
        reference: String,
    },
    /// An update for the status page, published word for word.
    Public {
        target: Option<i64>,
        text: String,
    },
    /// `service add|remove <name>`: a service, as typed, the core resolves it.
    Service {
        target: Option<i64>,
        change: SetChange,
        name: String,
    },
    /// `service list`: the catalog, and the incident's services when in its channel.
    ServiceList {
        target: Option<i64>,
    },
    /// `factor add|remove <tag>`: a contributing-factor tag of the postmortem.
    Factor {
        target: Option<i64>,
        change: SetChange,
        tag: String,
    },
    /// `factor list`: the vocabulary, and the incident's tags when in its channel.
    FactorList {
        target: Option<i64>,
    },
    /// `invite @user`: brings someone into the incident (the record of who may see a
    /// private one).
    Invite {
        target: Option<i64>,
        user: String,
    },
    List,
    Stats {
        days: u32,
    },
    /// A private one-time link that signs the user in to the web pages.
    Web,
    Help,
    /// Declare an incident from an alert waiting in triage.
    AlertDeclare {
        alert: i64,
        severity: Option<Severity>,
    },
    /// Attach an alert waiting in triage to an open incident.
    AlertAttach {
        alert: i64,
        incident: i64,
    },
    AlertDismiss {
        alert: i64,
        reason: Option<String>,
    },
    /// This incident's alerts, or the triage queue outside an incident.
    Alerts {
        target: Option<i64>,
    },
}

impl Command {
    /// Whether running this command may answer with a form rather than a reply: a
    /// declare without a title, an alert declare without a severity (the form pre-filled
    /// from the alert), and the postmortem. Adapters whose forms must be the
    /// first response (Discord's modals) answer these at once instead of deferring.
    pub fn may_open_form(&self) -> bool {
        matches!(
            self,
            Command::Declare { title: None, .. }
                | Command::Postmortem { .. }
                | Command::AlertDeclare { severity: None, .. }
        )
    }
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
        // `rest` starts at a word, so the word runs to the first white space.
        let (word, rest) = self.rest.split_once(char::is_whitespace).unwrap_or((self.rest, ""));
        if word.is_empty() {
            return None;
        }
        self.rest = rest.trim_start();
        Some(word)
    }

    /// The rest of the line, or `None` when nothing is left.
    fn rest(&self) -> Option<String> {
        let rest = self.rest.trim();
        (!rest.is_empty()).then(|| rest.to_string())
    }
}

/// How a word reads as an incident reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IncidentWord {
    /// `INC-42`, in any case.
    Valid(i64),
    /// `INC-` and digits, but no incident can have that number (`INC-0`, or more digits
    /// than an id holds).
    NoSuchNumber,
    /// Not an incident reference at all.
    Other,
}

fn incident_word(word: &str) -> IncidentWord {
    // `get` is `None` when byte 4 is inside a character, so this never splits one.
    let (Some(prefix), Some(digits)) = (word.get(..4), word.get(4..)) else {
        return IncidentWord::Other;
    };
    if !prefix.eq_ignore_ascii_case("inc-") {
        return IncidentWord::Other;
    }
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return IncidentWord::Other;
    }
    if digits.len() > limits::MAX_ID_DIGITS {
        return IncidentWord::NoSuchNumber;
    }
    match digits.parse::<i64>() {
        Ok(id) if id > 0 => IncidentWord::Valid(id),
        _ => IncidentWord::NoSuchNumber,
    }
}

/// `INC-42` (any case) as 42.
pub fn parse_incident_ref(word: &str) -> Option<i64> {
    match incident_word(word) {
        IncidentWord::Valid(id) => Some(id),
        _ => None,
    }
}

/// The `INC-n` at the front of `words`, taken off if present. A reference to a number
/// that no incident can have is an error naming it, not an unknown command.
fn take_incident_ref(words: &mut Words<'_>, usage: &'static str) -> Result<Option<i64>, UsageError> {
    let Some(word) = words.peek() else {
        return Ok(None);
    };
    match incident_word(word) {
        IncidentWord::Valid(id) => {
            words.next();
            Ok(Some(id))
        }
        IncidentWord::NoSuchNumber => {
            let digits: String = word.chars().skip(4).collect();
            let digits = digits.trim_start_matches('0');
            let shown = if digits.is_empty() { "0" } else { digits };
            Err(usage_error(format!("INC-{} does not exist.", format::truncate(shown, 24).0), usage))
        }
        IncidentWord::Other => Ok(None),
    }
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
    let not_a_number =
        || usage_error(format!("`{}` is not an action item number.", format::truncate(word, 40).0), usage);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_a_number());
    }
    match digits.parse::<i64>() {
        Ok(id) if id > 0 && digits.len() <= limits::MAX_ID_DIGITS => Ok(id),
        _ => Err(usage_error(format!("Action item #{} does not exist.", format::truncate(digits, 24).0), usage)),
    }
}

/// `30d` (or `30`) as 30, between 1 and `max` days.
fn parse_days(word: &str, max: u32) -> Option<u32> {
    let digits = word.strip_suffix(['d', 'D']).unwrap_or(word);
    if digits.is_empty() || digits.len() > 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u32>().ok().filter(|d| (1..=max).contains(d))
}

/// A due date as typed after `due:`: `YYYY-MM-DD`, `+5d` or `+2w`.
pub fn parse_due(value: &str) -> Result<DueSpec, UsageError> {
    let bad = || {
        usage_error(
            format!(
                "`due:{}` is not a date. Use due:YYYY-MM-DD or due:+5d (at most {} days ahead).",
                format::truncate(value, 40).0,
                limits::MAX_DUE_DAYS
            ),
            usage::ACTION_ADD,
        )
    };
    if let Some(days) = value.strip_prefix('+') {
        let (number, unit_days) = match days.strip_suffix(['w', 'W']) {
            Some(weeks) => (weeks, 7),
            None => (days.strip_suffix(['d', 'D']).unwrap_or(days), 1),
        };
        if number.is_empty() || number.len() > 10 || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let n: u32 = number.parse().map_err(|_| bad())?;
        let total = n.checked_mul(unit_days).filter(|d| *d <= limits::MAX_DUE_DAYS).ok_or_else(bad)?;
        return Ok(DueSpec::InDays(total));
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d").map(DueSpec::On).map_err(|_| bad())
}

/// `-20m`, `-2h` or `-1d` as how long ago the incident started, at most 30 days.
pub fn parse_started(value: &str) -> Result<StartedAgo, UsageError> {
    let bad = || {
        usage_error(
            format!(
                "`started:{}` is not a time ago. Use started:-20m, started:-2h or started:-1d (at most 30 days).",
                format::truncate(value, 40).0
            ),
            usage::DECLARE,
        )
    };
    let ago = value.strip_prefix('-').ok_or_else(bad)?;
    // The unit is the last character, whatever its width.
    let mut chars = ago.chars();
    let unit = chars.next_back().ok_or_else(bad)?;
    let number = chars.as_str();
    if number.is_empty() || number.len() > 10 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: i64 = number.parse().map_err(|_| bad())?;
    let per_unit = match unit {
        'm' | 'M' => 1,
        'h' | 'H' => 60,
        'd' | 'D' => 24 * 60,
        _ => return Err(bad()),
    };
    let minutes = n.checked_mul(per_unit).ok_or_else(bad)?;
    if !(1..=limits::MAX_STARTED_AGO_MINUTES).contains(&minutes) {
        return Err(bad());
    }
    Ok(StartedAgo(chrono::Duration::minutes(minutes)))
}

/// Parses what follows `/incident`.
pub fn parse(input: &str) -> Result<Command, UsageError> {
    let mut words = Words::new(input);
    // `INC-n` may come before the subcommand as well as after it.
    let mut target = take_incident_ref(&mut words, usage::ANY)?;
    let Some(verb) = words.next() else {
        return match target {
            Some(id) => Err(usage_error(format!("What should happen to INC-{id}?"), usage::ANY)),
            None => Ok(Command::Help),
        };
    };
    let verb = verb.to_lowercase();
    if verb != "action" && verb != "actions" && target.is_none() {
        target = take_incident_ref(&mut words, usage_of(&verb))?;
    }
    let no_target = |command: Command, usage: &'static str| match target {
        Some(_) => Err(usage_error("This command does not take an incident.", usage)),
        None => Ok(command),
    };
    match verb.as_str() {
        "declare" => parse_declare(&mut words, target),
        "status" => {
            let word = words.next().ok_or_else(|| usage_error("Which status?", usage::STATUS))?;
            let status: Status = word.parse().map_err(|_| {
                usage_error(
                    format!(
                        "`{}` is not a status you can set; use investigating, identified or monitoring.",
                        format::truncate(word, 40).0
                    ),
                    usage::STATUS,
                )
            })?;
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
        "take" => {
            // `take` or `take command`.
            if words.peek().is_some_and(|w| w.eq_ignore_ascii_case("command")) {
                words.next();
            }
            only_target(&words, Command::TakeCommand { target }, usage::TAKE)
        }
        "update" => {
            let text = words.rest().ok_or_else(|| usage_error("What is the update?", usage::UPDATE))?;
            Ok(Command::Update { target, text })
        }
        "public" => {
            let text = words
                .rest()
                .ok_or_else(|| usage_error("What should customers read on the status page?", usage::PUBLIC))?;
            Ok(Command::Public { target, text })
        }
        "note" => {
            let text = words.rest().ok_or_else(|| usage_error("What is the note?", usage::NOTE))?;
            Ok(Command::Note { target, text })
        }
        "timeline" => only_target(&words, Command::Timeline { target }, usage::TIMELINE),
        "resolve" => Ok(Command::Resolve { target, summary: words.rest() }),
        "reopen" => only_target(&words, Command::Reopen { target }, usage::REOPEN),
        "postmortem" | "pm" => {
            let all = match words.next().map(str::to_lowercase).as_deref() {
                None => false,
                Some("all" | "edit") => true,
                Some(other) => {
                    return Err(usage_error(
                        format!("Unexpected `{}`; `all` opens every field.", format::truncate(other, 40).0),
                        usage::POSTMORTEM,
                    ))
                }
            };
            only_target(&words, Command::Postmortem { target, all }, usage::POSTMORTEM)
        }
        "action" | "actions" => parse_action(&mut words, target),
        "service" | "services" => parse_set(&mut words, target, SetKind::Service),
        "factor" | "factors" | "tag" | "tags" => parse_set(&mut words, target, SetKind::Factor),
        "invite" => {
            let word = words.next().ok_or_else(|| usage_error("Invite whom?", usage::INVITE))?;
            let user = parse_user(word).ok_or_else(|| {
                usage_error(
                    format!("`{}` is not a user; mention them as @name.", format::truncate(word, 40).0),
                    usage::INVITE,
                )
            })?;
            only_target(&words, Command::Invite { target, user }, usage::INVITE)
        }
        "list" => no_target(Command::List, usage::LIST).and_then(|c| only_target(&words, c, usage::LIST)),
        "stats" => {
            let days = match words.next() {
                None => 30,
                Some(word) => parse_days(word, limits::MAX_STATS_DAYS).ok_or_else(|| {
                    usage_error(
                        format!(
                            "`{}` is not a number of days like 30d (1 to {}).",
                            format::truncate(word, 40).0,
                            limits::MAX_STATS_DAYS
                        ),
                        usage::STATS,
                    )
                })?,
            };
            no_target(Command::Stats { days }, usage::STATS).and_then(|c| only_target(&words, c, usage::STATS))
        }
        "web" => no_target(Command::Web, usage::WEB).and_then(|c| only_target(&words, c, usage::WEB)),
        "help" => Ok(Command::Help),
        "alert" => parse_alert(&mut words, target),
        "alerts" => only_target(&words, Command::Alerts { target }, usage::ALERTS),
        other => {
            Err(usage_error(format!("`{}` is not an /incident command.", format::truncate(other, 40).0), usage::ANY))
        }
    }
}

/// The usage line for a verb, for errors found before its own parser runs.
fn usage_of(verb: &str) -> &'static str {
    match verb {
        "declare" => usage::DECLARE,
        "status" => usage::STATUS,
        "severity" | "sev" => usage::SEVERITY,
        "assign" => usage::ASSIGN,
        "take" => usage::TAKE,
        "update" => usage::UPDATE,
        "note" => usage::NOTE,
        "timeline" => usage::TIMELINE,
        "resolve" => usage::RESOLVE,
        "reopen" => usage::REOPEN,
        "postmortem" | "pm" => usage::POSTMORTEM,
        "service" | "services" => usage::SERVICE,
        "factor" | "factors" | "tag" | "tags" => usage::FACTOR,
        "invite" => usage::INVITE,
        _ => usage::ANY,
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
    let mut services: Vec<String> = Vec::new();
    let mut kind = DeclareKind::default();
    while let Some(word) = words.peek() {
        let lower = word.to_lowercase();
        if looks_like_severity(word) && severity.is_none() {
            severity = Some(parse_severity(word, usage::DECLARE)?);
        } else if let Some(value) = word.strip_prefix("started:") {
            started = Some(parse_started(value)?);
        } else if let Some(value) = word.strip_prefix("service:") {
            if value.is_empty() {
                return Err(usage_error("`service:` needs a name, like service:checkout.", usage::DECLARE));
            }
            if services.len() == limits::MAX_SERVICES {
                return Err(usage_error(
                    format!("An incident names at most {} services.", limits::MAX_SERVICES),
                    usage::DECLARE,
                ));
            }
            services.push(value.to_string());
        } else if lower == "drill" && !kind.drill {
            kind.drill = true;
        } else if lower == "private" && !kind.private {
            kind.private = true;
        } else {
            break;
        }
        words.next();
    }
    Ok(Command::Declare { severity, title: words.rest(), started, services, kind })
}

/// Which set `service` and `factor` change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetKind {
    Service,
    Factor,
}

fn parse_set(words: &mut Words<'_>, target: Option<i64>, kind: SetKind) -> Result<Command, UsageError> {
    let usage = match kind {
        SetKind::Service => usage::SERVICE,
        SetKind::Factor => usage::FACTOR,
    };
    let sub = words.next().ok_or_else(|| usage_error("Add, remove or list?", usage))?.to_lowercase();
    let change = match sub.as_str() {
        "add" => SetChange::Add,
        "remove" | "rm" | "delete" => SetChange::Remove,
        "list" | "ls" => {
            let command = match kind {
                SetKind::Service => Command::ServiceList { target },
                SetKind::Factor => Command::FactorList { target },
            };
            return only_target(words, command, usage);
        }
        other => {
            return Err(usage_error(
                format!("`{}` is not one of add, remove, list.", format::truncate(other, 40).0),
                usage,
            ))
        }
    };
    let target = match target {
        Some(t) => Some(t),
        None => take_incident_ref(words, usage)?,
    };
    let what = match kind {
        SetKind::Service => "Which service?",
        SetKind::Factor => "Which factor tag?",
    };
    let name = words.next().ok_or_else(|| usage_error(what, usage))?.to_string();
    let command = match kind {
        SetKind::Service => Command::Service { target, change, name },
        SetKind::Factor => Command::Factor { target, change, tag: name },
    };
    only_target(words, command, usage)
}

/// An alert id as typed: `12` or `#12`.
fn parse_alert_id(word: Option<&str>, usage: &'static str) -> Result<i64, UsageError> {
    let word = word.ok_or_else(|| usage_error("Which alert? Give its number, like 12.", usage))?;
    let digits = word.strip_prefix('#').unwrap_or(word);
    match digits.parse::<i64>() {
        Ok(id) if id > 0 && digits.len() <= limits::MAX_ID_DIGITS && digits.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(id)
        }
        _ => Err(usage_error(format!("`{}` is not an alert number.", format::truncate(word, 24).0), usage)),
    }
}

/// `alert declare|attach|dismiss <id> …`; an `INC-n` typed before `alert` is what
/// `attach` attaches to.
fn parse_alert(words: &mut Words<'_>, target: Option<i64>) -> Result<Command, UsageError> {
    let verb = words.next().map(str::to_lowercase);
    match verb.as_deref() {
        Some("declare") => {
            let alert = parse_alert_id(words.next(), usage::ALERT_DECLARE)?;
            let severity = words.next().map(|word| parse_severity(word, usage::ALERT_DECLARE)).transpose()?;
            if target.is_some() {
                return Err(usage_error("Declaring opens a new incident; leave out the INC-n.", usage::ALERT_DECLARE));
            }
            only_target(words, Command::AlertDeclare { alert, severity }, usage::ALERT_DECLARE)
        }
        Some("attach") => {
            let alert = parse_alert_id(words.next(), usage::ALERT_ATTACH)?;
            let incident = match take_incident_ref(words, usage::ALERT_ATTACH)? {
                Some(id) => id,
                None => target.ok_or_else(|| usage_error("Attach it to which incident?", usage::ALERT_ATTACH))?,
            };
            only_target(words, Command::AlertAttach { alert, incident }, usage::ALERT_ATTACH)
        }
        Some("dismiss") => {
            let alert = parse_alert_id(words.next(), usage::ALERT_DISMISS)?;
            if target.is_some() {
                return Err(usage_error("Dismissing does not take an incident.", usage::ALERT_DISMISS));
            }
            Ok(Command::AlertDismiss { alert, reason: words.rest() })
        }
        Some(other) => Err(usage_error(
            format!("`{}` is not an alert command; use declare, attach or dismiss.", format::truncate(other, 40).0),
            usage::ALERT,
        )),
        None => Err(usage_error("What should happen to the alert?", usage::ALERT)),
    }
}

fn parse_action(words: &mut Words<'_>, target: Option<i64>) -> Result<Command, UsageError> {
    let sub = words.next().ok_or_else(|| usage_error("Which action command?", usage::ACTION))?.to_ascii_lowercase();
    let target = match target {
        Some(t) => Some(t),
        None => take_incident_ref(words, usage::ACTION)?,
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
            let days = parse_days(word, limits::MAX_SNOOZE_DAYS).ok_or_else(|| {
                usage_error(
                    format!(
                        "`{}` is not a number of days (1 to {}).",
                        format::truncate(word, 40).0,
                        limits::MAX_SNOOZE_DAYS
                    ),
                    usage::ACTION_SNOOZE,
                )
            })?;
            only_target(words, Command::ActionSnooze { id, days }, usage::ACTION_SNOOZE)
        }
        "reassign" => {
            let id = id_only(words, usage::ACTION_REASSIGN)?;
            let word = words.next().ok_or_else(|| usage_error("Reassign it to whom?", usage::ACTION_REASSIGN))?;
            let owner = parse_user(word).ok_or_else(|| {
                usage_error(
                    format!("`{}` is not a user; mention them as @name.", format::truncate(word, 40).0),
                    usage::ACTION_REASSIGN,
                )
            })?;
            only_target(words, Command::ActionReassign { id, owner }, usage::ACTION_REASSIGN)
        }
        "due" => {
            let id = id_only(words, usage::ACTION_DUE)?;
            let word = words.next().ok_or_else(|| usage_error("Due when?", usage::ACTION_DUE))?;
            let due = parse_due(word.strip_prefix("due:").unwrap_or(word))
                .map_err(|e| UsageError { usage: usage::ACTION_DUE, ..e })?;
            only_target(words, Command::ActionDue { id, due }, usage::ACTION_DUE)
        }
        "reopen" => {
            let id = id_only(words, usage::ACTION_REOPEN)?;
            only_target(words, Command::ActionReopen { id }, usage::ACTION_REOPEN)
        }
        "link" => {
            let id = id_only(words, usage::ACTION_LINK)?;
            let reference = words
                .next()
                .ok_or_else(|| usage_error("Link it to which issue? Give its URL or key.", usage::ACTION_LINK))?
                .to_string();
            only_target(words, Command::ActionLink { id, reference }, usage::ACTION_LINK)
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
    let mut addresses = None;
    while let Some(word) = words.next() {
        if let Some(value) = word.strip_prefix("addresses:") {
            if value.is_empty() {
                return Err(usage_error(
                    "`addresses:` needs a factor tag, like addresses:monitoring-gap.",
                    usage::ACTION_ADD,
                ));
            }
            addresses = Some(value.to_string());
        } else if let Some(value) = word.strip_prefix("due:") {
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
    Ok(Command::ActionAdd { target, text: text.join(" "), owner, due, kind, priority, addresses })
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
            Command::Declare {
                severity: Some(Severity::Sev2),
                title: Some("Database  down".into()),
                started: None,
                services: vec![],
                kind: DeclareKind::default()
            }
        );
        assert_eq!(
            ok("declare"),
            Command::Declare {
                severity: None,
                title: None,
                started: None,
                services: vec![],
                kind: DeclareKind::default()
            }
        );
        assert_eq!(
            ok("declare started:-20m Checkout errors"),
            Command::Declare {
                severity: None,
                title: Some("Checkout errors".into()),
                started: Some(StartedAgo(chrono::Duration::minutes(20))),
                services: vec![],
                kind: DeclareKind::default()
            }
        );
    }

    #[test]
    fn declare_takes_kinds_and_repeated_services_in_any_order() {
        assert_eq!(
            ok("declare drill sev2 service:checkout service:cart Checkout down"),
            Command::Declare {
                severity: Some(Severity::Sev2),
                title: Some("Checkout down".into()),
                started: None,
                services: vec!["checkout".into(), "cart".into()],
                kind: DeclareKind { drill: true, private: false },
            }
        );
        let private = ok("declare private Leaked key");
        assert!(matches!(private, Command::Declare { kind: DeclareKind { private: true, drill: false }, .. }));
        // Only the first of each word is an option; a second is part of the title.
        assert!(matches!(ok("declare drill drill"), Command::Declare { title: Some(t), .. } if t == "drill"));
        assert_eq!(err("declare service: x").usage, usage::DECLARE);
    }

    #[test]
    fn services_factors_and_invites_parse() {
        assert_eq!(
            ok("service add checkout"),
            Command::Service { target: None, change: SetChange::Add, name: "checkout".into() }
        );
        assert_eq!(
            ok("INC-2 factor remove monitoring-gap"),
            Command::Factor { target: Some(2), change: SetChange::Remove, tag: "monitoring-gap".into() }
        );
        assert_eq!(
            ok("factor add INC-2 change"),
            Command::Factor { target: Some(2), change: SetChange::Add, tag: "change".into() }
        );
        assert_eq!(ok("service list"), Command::ServiceList { target: None });
        assert_eq!(ok("invite @dana"), Command::Invite { target: None, user: "dana".into() });
        assert_eq!(err("invite dana").usage, usage::INVITE);
        assert_eq!(err("service add").usage, usage::SERVICE);
        assert_eq!(err("factor add a b").usage, usage::FACTOR);
        assert_eq!(err("factor explode x").usage, usage::FACTOR);
        assert!(matches!(
            ok("action add Alert on queue age addresses:alerting-gap"),
            Command::ActionAdd { addresses: Some(t), .. } if t == "alerting-gap"
        ));
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
                priority: None,
                addresses: None
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
                addresses: None,
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
    fn alert_commands() {
        assert_eq!(ok("alert declare 12"), Command::AlertDeclare { alert: 12, severity: None });
        assert_eq!(ok("alert declare #12 sev1"), Command::AlertDeclare { alert: 12, severity: Some(Severity::Sev1) });
        assert_eq!(ok("alert attach 12 INC-3"), Command::AlertAttach { alert: 12, incident: 3 });
        assert_eq!(ok("INC-3 alert attach 12"), Command::AlertAttach { alert: 12, incident: 3 });
        assert_eq!(
            ok("alert dismiss 12 flapping disk alert"),
            Command::AlertDismiss { alert: 12, reason: Some("flapping disk alert".into()) }
        );
        assert_eq!(ok("alerts"), Command::Alerts { target: None });
        assert_eq!(ok("alerts INC-4"), Command::Alerts { target: Some(4) });
        assert_eq!(err("alert attach 12").usage, usage::ALERT_ATTACH);
        assert_eq!(err("alert declare ١٢").usage, usage::ALERT_DECLARE);
        assert_eq!(err("alert declare 12 sev9").usage, usage::ALERT_DECLARE);
        assert_eq!(err("alert page 12").usage, usage::ALERT);
        assert_eq!(err("alert").usage, usage::ALERT);
        assert_eq!(err("alert declare 99999999999999999999999").usage, usage::ALERT_DECLARE);
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

    #[test]
    fn started_with_a_multibyte_unit_is_refused_not_a_panic() {
        for input in
            ["declare started:-5é Broken", "declare started:-é Broken", "declare started:-5😀 x", "declare started:- x"]
        {
            assert_eq!(err(input).usage, usage::DECLARE, "{input}");
        }
    }

    #[test]
    fn started_offsets_are_bounded_without_overflow() {
        for input in [
            "declare started:-576460752303423489d Broken",
            "declare started:-9223372036854775807m x",
            "declare started:-99999999999999999999999h x",
            "declare started:-31d x",
            "declare started:-0m x",
            "declare started:-+5m x",
        ] {
            assert_eq!(err(input).usage, usage::DECLARE, "{input}");
        }
        assert!(matches!(ok("declare started:-30d x"), Command::Declare { started: Some(_), .. }));
    }

    #[test]
    fn incident_refs_are_case_insensitive_and_bad_numbers_do_not_exist() {
        assert_eq!(ok("Inc-1 timeline"), Command::Timeline { target: Some(1) });
        assert_eq!(ok("timeline iNc-2"), Command::Timeline { target: Some(2) });
        assert_eq!(err("INC-0 timeline").problem, "INC-0 does not exist.");
        assert_eq!(err("INC-99999999999999999999 timeline").problem, "INC-99999999999999999999 does not exist.");
        assert_eq!(err("timeline INC-0").problem, "INC-0 does not exist.");
        assert_eq!(err("action list INC-000").problem, "INC-0 does not exist.");
        assert!(err("INC-3").problem.contains("INC-3"));
    }

    #[test]
    fn due_days_share_one_limit() {
        assert_eq!(ok("action due 4 +3650d"), Command::ActionDue { id: 4, due: DueSpec::InDays(3650) });
        assert!(err("action add fix due:+3651d").problem.contains("at most 3650 days"));
        assert!(err("action add fix due:+99999999999w").problem.contains("not a date"));
        assert!(err("action add fix due:+5é").problem.contains("not a date"));
    }

    #[test]
    fn reassign_and_due_parse() {
        assert_eq!(ok("action reassign 3 @bob"), Command::ActionReassign { id: 3, owner: "bob".into() });
        assert_eq!(
            ok("action due #3 due:2026-12-24").clone(),
            Command::ActionDue { id: 3, due: DueSpec::On(NaiveDate::from_ymd_opt(2026, 12, 24).unwrap()) }
        );
        assert_eq!(err("action reassign 3 bob").usage, usage::ACTION_REASSIGN);
        assert_eq!(err("action due 3 tomorrow").usage, usage::ACTION_DUE);
        assert_eq!(
            err("action done 99999999999999999999").problem,
            "Action item #99999999999999999999 does not exist."
        );
    }

    #[test]
    fn the_status_refusal_offers_only_statuses_that_can_be_set() {
        let problem = err("status fixed").problem;
        assert!(problem.contains("investigating, identified or monitoring"), "{problem}");
        assert!(!problem.contains("closed"), "{problem}");
    }

    #[test]
    fn multibyte_text_in_every_position_never_panics() {
        let words =
            ["é", "😀", "👩‍💻", "e\u{301}", "\u{00A0}", "\u{3000}", "שלום", "\u{202E}", "\u{200B}", "-5é", "+5é", "#é"];
        let templates = [
            "{w}",
            "declare {w}",
            "declare sev1{w} x",
            "declare started:{w} x",
            "declare started:-{w} x",
            "status {w}",
            "severity {w}",
            "assign {w} @bob",
            "assign comms @{w}",
            "INC-{w} timeline",
            "{w} timeline",
            "action {w}",
            "action add {w} due:{w} kind:{w} prio:{w}",
            "action done {w}",
            "action snooze 1 {w}",
            "action reassign {w} @{w}",
            "action due 1 {w}",
            "action list {w}",
            "stats {w}",
            "postmortem {w}",
            "action due 1 +{w}d",
            "stats {w}d",
            "declare service:{w} {w}",
            "service add {w}",
            "factor remove {w}",
            "invite @{w}",
            "action add x addresses:{w}",
        ];
        for template in templates {
            for w in words {
                let _ = parse(&template.replace("{w}", w));
            }
        }
    }
}
