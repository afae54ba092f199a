//! The `/incident` application command: its definition (subcommands with typed
//! options, choices and autocomplete for `INC-n`, services and factor tags), its registration, and the mapping of a
//! command interaction's options back onto the text grammar the core parses. The
//! mapping only re-spells what was chosen; every rule stays in the core.

use ::commands::format;
use ::commands::grammar::{self, usage, Command as GrammarCommand, DeclareKind, ListScope, SetChange, UsageError};
use ::commands::limits;
use ::commands::FactorVocabulary;
use serenity::all::{
    Command, CommandData, CommandDataOption, CommandDataOptionValue, CommandOptionType, CreateCommand,
    CreateCommandOption, GuildId,
};
use serenity::http::Http;

pub const COMMAND_NAME: &str = "incident";
/// The option that names an incident, offered by autocomplete.
pub const INCIDENT_OPTION: &str = "incident";
/// Options that name services, offered by autocomplete from the catalog. `services`
/// (at declare) takes several, separated by commas; autocomplete completes the last.
pub const SERVICE_OPTIONS: [&str; 2] = ["service", "services"];
/// Options that name a factor tag: choices when the vocabulary fits Discord's 25,
/// autocomplete otherwise.
pub const TAG_OPTIONS: [&str; 2] = ["tag", "addresses"];
/// Discord's limit on an option's choices.
const MAX_OPTION_CHOICES: usize = 25;

const SEVERITIES: [&str; 4] = ["sev1", "sev2", "sev3", "sev4"];
const OPEN_STATUSES: [&str; 3] = ["investigating", "identified", "monitoring"];
const ROLES: [&str; 3] = ["commander", "comms", "scribe"];
const ACTION_KINDS: [&str; 4] = ["prevent", "detect", "mitigate", "process"];
const PRIORITIES: [&str; 3] = ["high", "medium", "low"];
const LIST_SCOPES: [&str; 3] = ["mine", "overdue", "all"];

fn option(kind: CommandOptionType, name: &str, description: &str) -> CreateCommandOption {
    CreateCommandOption::new(kind, name, description)
}

fn text(name: &str, description: &str, required: bool) -> CreateCommandOption {
    option(CommandOptionType::String, name, description).required(required).max_length(limits_u16(limits::MAX_TEXT))
}

/// A core limit as Discord's option length (Discord caps lengths at 6,000).
fn limits_u16(limit: usize) -> u16 {
    u16::try_from(limit).unwrap_or(u16::MAX)
}

fn choice(name: &str, description: &str, required: bool, choices: &[&str]) -> CreateCommandOption {
    choices.iter().fold(option(CommandOptionType::String, name, description).required(required), |o, c| {
        o.add_string_choice(*c, *c)
    })
}

fn incident() -> CreateCommandOption {
    option(CommandOptionType::String, INCIDENT_OPTION, "INC-n; leave out inside the incident's channel")
        .set_autocomplete(true)
}

fn service(name: &str, description: &str, required: bool) -> CreateCommandOption {
    option(CommandOptionType::String, name, description).required(required).set_autocomplete(true).max_length(200)
}

fn tag(name: &str, description: &str, required: bool, factors: &FactorVocabulary) -> CreateCommandOption {
    let base = option(CommandOptionType::String, name, description).required(required);
    if factors.factors().len() > MAX_OPTION_CHOICES {
        return base.set_autocomplete(true);
    }
    factors.factors().iter().fold(base, |o, f| o.add_string_choice(&f.tag, &f.tag))
}

fn item_id() -> CreateCommandOption {
    option(CommandOptionType::Integer, "id", "The action item's number").required(true).min_int_value(1)
}

fn subcommand(name: &str, description: &str, options: Vec<CreateCommandOption>) -> CreateCommandOption {
    options.into_iter().fold(option(CommandOptionType::SubCommand, name, description), |s, o| s.add_sub_option(o))
}

/// The `/incident` command with every subcommand of the grammar; factor tags are
/// offered from `factors`.
pub fn definition(factors: &FactorVocabulary) -> CreateCommand {
    let action = [
        subcommand(
            "add",
            "Add an action item",
            vec![
                text("text", "What needs doing", true),
                option(CommandOptionType::User, "owner", "Who owns it"),
                option(CommandOptionType::String, "due", "YYYY-MM-DD or +5d"),
                choice("kind", "What it is for", false, &ACTION_KINDS),
                choice("priority", "How urgent", false, &PRIORITIES),
                tag("addresses", "The contributing factor it prevents", false, factors),
                incident(),
            ],
        ),
        subcommand("done", "Mark an action item done", vec![item_id()]),
        subcommand("wontfix", "Close an action item without doing it", vec![item_id()]),
        subcommand("reopen", "Reopen a closed action item", vec![item_id()]),
        subcommand(
            "snooze",
            "Push an action item's due date out",
            vec![
                item_id(),
                option(CommandOptionType::Integer, "days", "How many days")
                    .required(true)
                    .min_int_value(1)
                    .max_int_value(u64::from(limits::MAX_SNOOZE_DAYS)),
            ],
        ),
        subcommand(
            "reassign",
            "Hand an action item to someone else",
            vec![item_id(), option(CommandOptionType::User, "owner", "The new owner").required(true)],
        ),
        subcommand(
            "due",
            "Move an action item's due date",
            vec![item_id(), option(CommandOptionType::String, "due", "YYYY-MM-DD or +5d").required(true)],
        ),
        subcommand(
            "link",
            "Link an action item to an existing GitHub or Jira issue",
            vec![
                item_id(),
                option(CommandOptionType::String, "issue", "The issue's URL or key (acme/rel#12, REL-7)")
                    .required(true)
                    .max_length(300),
            ],
        ),
        subcommand("list", "List action items", vec![choice("scope", "Which items", false, &LIST_SCOPES), incident()]),
    ]
    .into_iter()
    .fold(option(CommandOptionType::SubCommandGroup, "action", "Action items"), |g, s| g.add_sub_option(s));

    let alert_id = || {
        option(CommandOptionType::Integer, "alert", "The alert's number, from its triage post")
            .required(true)
            .min_int_value(1)
    };
    let alert = [
        subcommand(
            "declare",
            "Declare an incident from an alert waiting in triage",
            vec![alert_id(), choice("severity", "How bad it is (default: what triage proposed)", false, &SEVERITIES)],
        ),
        subcommand(
            "attach",
            "Add an alert waiting in triage to an open incident",
            vec![alert_id(), incident().required(true)],
        ),
        subcommand("dismiss", "Dismiss an alert waiting in triage", vec![alert_id(), text("reason", "Why", false)]),
    ]
    .into_iter()
    .fold(option(CommandOptionType::SubCommandGroup, "alert", "Alerts waiting in triage"), |g, s| g.add_sub_option(s));

    let subcommands = vec![
        subcommand(
            "declare",
            "Open an incident, its channel and a kick-off post",
            vec![
                option(CommandOptionType::String, "title", "What is wrong (leave out to fill a form)")
                    .max_length(limits_u16(limits::MAX_TITLE)),
                choice("severity", "How bad it is", false, &SEVERITIES),
                option(CommandOptionType::String, "started", "When it started, if earlier: 20m, 2h or 1d ago"),
                service("services", "Services it touches, separated by commas", false),
                option(CommandOptionType::Boolean, "drill", "A game day: practised, not counted in the metrics"),
                option(CommandOptionType::Boolean, "private", "Only the bot and invited people see its channel"),
            ],
        ),
        subcommand(
            "status",
            "Move the incident to a new status",
            vec![choice("status", "The new status", true, &OPEN_STATUSES), text("note", "Why", false), incident()],
        ),
        subcommand(
            "severity",
            "Change the severity",
            vec![choice("severity", "The new severity", true, &SEVERITIES), incident()],
        ),
        subcommand(
            "assign",
            "Give someone a role",
            vec![
                choice("role", "The role", true, &ROLES),
                option(CommandOptionType::User, "user", "Who takes it").required(true),
                incident(),
            ],
        ),
        subcommand(
            "update",
            "Post a status update (also announced)",
            vec![text("text", "The update", true), incident()],
        ),
        subcommand(
            "public",
            "Publish an update to the status page, word for word",
            vec![text("text", "What customers read", true), incident()],
        ),
        subcommand("note", "Add a key event to the timeline", vec![text("text", "The note", true), incident()]),
        subcommand("timeline", "Show the key events so far", vec![incident()]),
        subcommand("resolve", "Resolve the incident", vec![text("summary", "What fixed it", false), incident()]),
        subcommand("reopen", "Reopen a resolved incident", vec![incident()]),
        subcommand("take", "Take command of an incident that has no commander yet", vec![incident()]),
        subcommand(
            "postmortem",
            "Write the missing postmortem fields, or show it when complete",
            vec![incident(), option(CommandOptionType::Boolean, "all", "Open every field, to correct what is written")],
        ),
        action,
        alert,
        subcommand("alerts", "This incident's alerts, or the triage queue outside one", vec![incident()]),
        set_group("service", "Services of the incident", |required| service("service", "The service", required)),
        set_group("factor", "Contributing-factor tags of the postmortem", |required| {
            tag("tag", "The contributing factor", required, factors)
        }),
        subcommand(
            "invite",
            "Bring someone into the incident",
            vec![option(CommandOptionType::User, "user", "Who to invite").required(true), incident()],
        ),
        subcommand("list", "Open incidents", vec![]),
        subcommand(
            "stats",
            "Counts, MTTA and MTTR by severity",
            vec![option(CommandOptionType::Integer, "days", "Over how many days")
                .min_int_value(1)
                .max_int_value(u64::from(limits::MAX_STATS_DAYS))],
        ),
        subcommand("web", "A private one-time link to sign in to the web pages", vec![]),
        subcommand("help", "Everything /incident can do", vec![]),
    ];
    subcommands
        .into_iter()
        .fold(CreateCommand::new(COMMAND_NAME).description("Declare and run incidents").dm_permission(false), |c, s| {
            c.add_option(s)
        })
}

/// A group `add` / `remove` / `list` over one named option (`service`, `factor`).
fn set_group(name: &str, description: &str, named: impl Fn(bool) -> CreateCommandOption) -> CreateCommandOption {
    [
        subcommand("add", "Add one", vec![named(true), incident()]),
        subcommand("remove", "Remove one", vec![named(true), incident()]),
        subcommand("list", "List them", vec![incident()]),
    ]
    .into_iter()
    .fold(option(CommandOptionType::SubCommandGroup, name, description), |g, s| g.add_sub_option(s))
}

/// Registers `/incident` in one guild (instant) or globally (Discord may take up to an
/// hour to show it everywhere). Replaces whatever was registered before.
pub async fn register(http: &Http, guild: Option<GuildId>, factors: &FactorVocabulary) -> serenity::Result<()> {
    match guild {
        Some(guild) => guild.set_commands(http, vec![definition(factors)]).await.map(|_| ()),
        None => Command::set_global_commands(http, vec![definition(factors)]).await.map(|_| ()),
    }
}

/// The options of one subcommand, by name.
struct Options<'a>(&'a [CommandDataOption]);

/// A problem with the chosen options, with the usage line to show.
fn usage_error(problem: impl Into<String>, usage: &'static str) -> UsageError {
    UsageError { problem: problem.into(), usage }
}

impl<'a> Options<'a> {
    fn get(&self, name: &str) -> Option<&'a CommandDataOptionValue> {
        self.0.iter().find(|o| o.name == name).map(|o| &o.value)
    }

    fn text(&self, name: &str) -> Option<String> {
        match self.get(name)? {
            CommandDataOptionValue::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
            CommandDataOptionValue::Autocomplete { value, .. } => {
                Some(value.trim().to_string()).filter(|s| !s.is_empty())
            }
            CommandDataOptionValue::Integer(n) => Some(n.to_string()),
            _ => None,
        }
    }

    fn required_text(&self, name: &str, usage: &'static str) -> Result<String, UsageError> {
        self.text(name).ok_or_else(|| usage_error(format!("The `{name}` option is needed."), usage))
    }

    /// A choice option, parsed as the word it offers.
    fn word<T: std::str::FromStr<Err = storage::UnknownWord>>(
        &self,
        name: &str,
        usage: &'static str,
    ) -> Result<Option<T>, UsageError> {
        self.text(name)
            .map(|w| w.parse().map_err(|e: storage::UnknownWord| usage_error(e.to_string(), usage)))
            .transpose()
    }

    fn required_word<T: std::str::FromStr<Err = storage::UnknownWord>>(
        &self,
        name: &str,
        usage: &'static str,
    ) -> Result<T, UsageError> {
        self.word(name, usage)?.ok_or_else(|| usage_error(format!("The `{name}` option is needed."), usage))
    }

    fn user(&self, name: &str) -> Option<String> {
        match self.get(name)? {
            CommandDataOptionValue::User(id) => Some(id.to_string()),
            _ => None,
        }
    }

    fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some(CommandDataOptionValue::Boolean(true)))
    }

    fn integer(&self, name: &str) -> Option<i64> {
        match self.get(name)? {
            CommandDataOptionValue::Integer(n) => Some(*n),
            _ => None,
        }
    }

    /// An integer option that must fit `T` (Discord enforces the ranges it was given;
    /// this holds if a payload says otherwise).
    fn number<T: TryFrom<i64>>(&self, name: &str, usage: &'static str) -> Result<T, UsageError> {
        let n = self.integer(name).ok_or_else(|| usage_error(format!("The `{name}` option is needed."), usage))?;
        T::try_from(n).map_err(|_| usage_error(format!("{n} is out of range for `{name}`."), usage))
    }

    /// The `incident` option: `INC-n` (any case) or a bare number.
    fn incident(&self, usage: &'static str) -> Result<Option<i64>, UsageError> {
        let Some(raw) = self.text(INCIDENT_OPTION) else {
            return Ok(None);
        };
        let word = raw.split([' ', ':']).next().unwrap_or_default();
        let reference = if word.bytes().all(|b| b.is_ascii_digit()) { format!("INC-{word}") } else { word.to_string() };
        grammar::parse_incident_ref(&reference).map(Some).ok_or_else(|| {
            usage_error(format!("`{}` is not an incident; pick one like INC-3.", format::truncate(&raw, 40).0), usage)
        })
    }
}

/// The core's [`GrammarCommand`] for the chosen subcommand and options, built from the
/// typed values directly: nothing is turned back into text and parsed again, so a
/// title "sev1 outage" stays a title and action text may contain `due:`.
pub fn to_command(data: &CommandData) -> Result<GrammarCommand, UsageError> {
    let Some(first) = data.options.first() else {
        return Ok(GrammarCommand::Help);
    };
    match &first.value {
        CommandDataOptionValue::SubCommand(options) => typed_subcommand(&first.name, &Options(options)),
        CommandDataOptionValue::SubCommandGroup(subs) if first.name == "action" => {
            let sub = subs.first().ok_or_else(|| usage_error("Which action command?", usage::ACTION))?;
            let CommandDataOptionValue::SubCommand(options) = &sub.value else {
                return Err(usage_error("Which action command?", usage::ACTION));
            };
            typed_action(&sub.name, &Options(options))
        }
        CommandDataOptionValue::SubCommandGroup(subs) if first.name == "alert" => {
            let sub = subs.first().ok_or_else(|| usage_error("Which alert command?", usage::ALERT))?;
            let CommandDataOptionValue::SubCommand(options) = &sub.value else {
                return Err(usage_error("Which alert command?", usage::ALERT));
            };
            typed_alert(&sub.name, &Options(options))
        }
        CommandDataOptionValue::SubCommandGroup(subs) if first.name == "service" || first.name == "factor" => {
            let usage = if first.name == "service" { usage::SERVICE } else { usage::FACTOR };
            let sub = subs.first().ok_or_else(|| usage_error("Add, remove or list?", usage))?;
            let CommandDataOptionValue::SubCommand(options) = &sub.value else {
                return Err(usage_error("Add, remove or list?", usage));
            };
            typed_set(&first.name, &sub.name, &Options(options), usage)
        }
        _ => Err(unknown(&first.name, usage::ANY)),
    }
}

fn typed_set(group: &str, sub: &str, o: &Options<'_>, usage: &'static str) -> Result<GrammarCommand, UsageError> {
    use GrammarCommand as C;
    let target = o.incident(usage)?;
    let change = match sub {
        "add" => SetChange::Add,
        "remove" => SetChange::Remove,
        "list" if group == "service" => return Ok(C::ServiceList { target }),
        "list" => return Ok(C::FactorList { target }),
        other => return Err(unknown(other, usage)),
    };
    Ok(if group == "service" {
        C::Service { target, change, name: o.required_text("service", usage)? }
    } else {
        C::Factor { target, change, tag: o.required_text("tag", usage)? }
    })
}

fn unknown(name: &str, usage: &'static str) -> UsageError {
    usage_error(format!("`{}` is not an /incident command.", format::truncate(name, 40).0), usage)
}

fn typed_subcommand(name: &str, o: &Options<'_>) -> Result<GrammarCommand, UsageError> {
    use GrammarCommand as C;
    Ok(match name {
        "declare" => C::Declare {
            severity: o.word("severity", usage::DECLARE)?,
            title: o.text("title"),
            // Offered as "20m", "2h" or "1d" ago; a leading `-` or a trailing "ago" is fine too.
            started: o
                .text("started")
                .map(|s| {
                    let ago: String = s.trim_start_matches('-').trim_end_matches(" ago").split_whitespace().collect();
                    grammar::parse_started(&format!("-{ago}"))
                })
                .transpose()?,
            services: o
                .text("services")
                .map(|s| s.split(',').map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).collect())
                .unwrap_or_default(),
            kind: DeclareKind { drill: o.flag("drill"), private: o.flag("private") },
        },
        "invite" => C::Invite {
            target: o.incident(usage::INVITE)?,
            user: o.user("user").ok_or_else(|| usage_error("Invite whom?", usage::INVITE))?,
        },
        "status" => C::Status {
            target: o.incident(usage::STATUS)?,
            status: o.required_word("status", usage::STATUS)?,
            note: o.text("note"),
        },
        "severity" => C::Severity {
            target: o.incident(usage::SEVERITY)?,
            severity: o.required_word("severity", usage::SEVERITY)?,
        },
        "assign" => C::Assign {
            target: o.incident(usage::ASSIGN)?,
            role: o.required_word("role", usage::ASSIGN)?,
            user: o.user("user").ok_or_else(|| usage_error("Assign it to whom?", usage::ASSIGN))?,
        },
        "update" => C::Update { target: o.incident(usage::UPDATE)?, text: o.required_text("text", usage::UPDATE)? },
        "public" => C::Public { target: o.incident(usage::PUBLIC)?, text: o.required_text("text", usage::PUBLIC)? },
        "note" => C::Note { target: o.incident(usage::NOTE)?, text: o.required_text("text", usage::NOTE)? },
        "resolve" => C::Resolve { target: o.incident(usage::RESOLVE)?, summary: o.text("summary") },
        "timeline" => C::Timeline { target: o.incident(usage::TIMELINE)? },
        "reopen" => C::Reopen { target: o.incident(usage::REOPEN)? },
        "take" => C::TakeCommand { target: o.incident(usage::TAKE)? },
        "postmortem" => C::Postmortem {
            target: o.incident(usage::POSTMORTEM)?,
            all: matches!(o.get("all"), Some(CommandDataOptionValue::Boolean(true))),
        },
        "list" => C::List,
        "alerts" => C::Alerts { target: o.incident(usage::ALERTS)? },
        "web" => C::Web,
        "help" => C::Help,
        "stats" => C::Stats {
            days: match o.integer("days") {
                None => 30,
                Some(_) => o.number("days", usage::STATS)?,
            },
        },
        other => return Err(unknown(other, usage::ANY)),
    })
}

fn typed_alert(name: &str, o: &Options<'_>) -> Result<GrammarCommand, UsageError> {
    use GrammarCommand as C;
    Ok(match name {
        "declare" => C::AlertDeclare {
            alert: o.number("alert", usage::ALERT_DECLARE)?,
            severity: o.word("severity", usage::ALERT_DECLARE)?,
        },
        "attach" => C::AlertAttach {
            alert: o.number("alert", usage::ALERT_ATTACH)?,
            incident: o
                .incident(usage::ALERT_ATTACH)?
                .ok_or_else(|| usage_error("Attach it to which incident?", usage::ALERT_ATTACH))?,
        },
        "dismiss" => C::AlertDismiss { alert: o.number("alert", usage::ALERT_DISMISS)?, reason: o.text("reason") },
        other => {
            return Err(usage_error(
                format!("`{}` is not an alert command.", format::truncate(other, 40).0),
                usage::ALERT,
            ))
        }
    })
}

fn typed_action(name: &str, o: &Options<'_>) -> Result<GrammarCommand, UsageError> {
    use GrammarCommand as C;
    Ok(match name {
        "add" => C::ActionAdd {
            target: o.incident(usage::ACTION_ADD)?,
            text: o.required_text("text", usage::ACTION_ADD)?,
            owner: o.user("owner"),
            due: o.text("due").map(|d| grammar::parse_due(d.strip_prefix("due:").unwrap_or(&d))).transpose()?,
            kind: o.word("kind", usage::ACTION_ADD)?,
            priority: o.word("priority", usage::ACTION_ADD)?,
            addresses: o.text("addresses"),
        },
        "done" => C::ActionDone { id: o.number("id", usage::ACTION_DONE)? },
        "wontfix" => C::ActionWontfix { id: o.number("id", usage::ACTION_WONTFIX)? },
        "reopen" => C::ActionReopen { id: o.number("id", usage::ACTION_REOPEN)? },
        "snooze" => {
            C::ActionSnooze { id: o.number("id", usage::ACTION_SNOOZE)?, days: o.number("days", usage::ACTION_SNOOZE)? }
        }
        "reassign" => C::ActionReassign {
            id: o.number("id", usage::ACTION_REASSIGN)?,
            owner: o.user("owner").ok_or_else(|| usage_error("Reassign it to whom?", usage::ACTION_REASSIGN))?,
        },
        "due" => C::ActionDue {
            id: o.number("id", usage::ACTION_DUE)?,
            due: {
                let due = o.required_text("due", usage::ACTION_DUE)?;
                grammar::parse_due(due.strip_prefix("due:").unwrap_or(&due))
                    .map_err(|e| UsageError { usage: usage::ACTION_DUE, ..e })?
            },
        },
        "link" => C::ActionLink {
            id: o.number("id", usage::ACTION_LINK)?,
            reference: o.required_text("issue", usage::ACTION_LINK)?,
        },
        "list" => C::ActionList {
            target: o.incident(usage::ACTION_LIST)?,
            scope: match o.text("scope").as_deref() {
                None => None,
                Some("mine") => Some(ListScope::Mine),
                Some("overdue") => Some(ListScope::Overdue),
                Some("all") => Some(ListScope::All),
                Some(other) => {
                    return Err(usage_error(
                        format!("`{}` is not one of mine, overdue, all.", format::truncate(other, 40).0),
                        usage::ACTION_LIST,
                    ))
                }
            },
        },
        other => {
            return Err(usage_error(
                format!("`{}` is not an action command.", format::truncate(other, 40).0),
                usage::ACTION,
            ))
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data(options: serde_json::Value) -> CommandData {
        serde_json::from_value(json!({ "id": "1", "name": "incident", "type": 1, "options": options })).unwrap()
    }

    #[test]
    fn subcommands_become_core_commands() {
        use storage::{ActionKind, Role, Severity};
        let assign = data(json!([{ "name": "assign", "type": 1, "options": [
            { "name": "role", "type": 3, "value": "comms" },
            { "name": "user", "type": 6, "value": "80351110224678912" },
            { "name": "incident", "type": 3, "value": "INC-4" }
        ]}]));
        assert_eq!(
            to_command(&assign).unwrap(),
            GrammarCommand::Assign { target: Some(4), role: Role::Comms, user: "80351110224678912".into() }
        );
        let take = data(
            json!([{ "name": "take", "type": 1, "options": [{ "name": "incident", "type": 3, "value": "INC-2" }] }]),
        );
        assert_eq!(to_command(&take).unwrap(), GrammarCommand::TakeCommand { target: Some(2) });
        let declare = data(json!([{ "name": "declare", "type": 1, "options": [
            { "name": "title", "type": 3, "value": "DB down" },
            { "name": "severity", "type": 3, "value": "sev2" },
            { "name": "started", "type": 3, "value": "20m" }
        ]}]));
        assert_eq!(
            to_command(&declare).unwrap(),
            GrammarCommand::Declare {
                severity: Some(Severity::Sev2),
                title: Some("DB down".into()),
                started: Some(grammar::StartedAgo(chrono::Duration::minutes(20))),
                services: vec![],
                kind: DeclareKind::default(),
            }
        );
        let private = data(json!([{ "name": "declare", "type": 1, "options": [
            { "name": "title", "type": 3, "value": "Leaked key" },
            { "name": "services", "type": 3, "value": "checkout, search" },
            { "name": "private", "type": 5, "value": true }
        ]}]));
        assert!(matches!(
            to_command(&private).unwrap(),
            GrammarCommand::Declare { kind: DeclareKind { private: true, drill: false }, services, .. }
                if services == ["checkout", "search"]
        ));
        let tag = data(json!([{ "name": "factor", "type": 2, "options": [{ "name": "add", "type": 1, "options": [
            { "name": "tag", "type": 3, "value": "alerting-gap" },
            { "name": "incident", "type": 3, "value": "INC-2" }
        ]}]}]));
        assert_eq!(
            to_command(&tag).unwrap(),
            GrammarCommand::Factor { target: Some(2), change: SetChange::Add, tag: "alerting-gap".into() }
        );
        let add = data(json!([{ "name": "action", "type": 2, "options": [{ "name": "add", "type": 1, "options": [
            { "name": "text", "type": 3, "value": "Add a lag alert" },
            { "name": "owner", "type": 6, "value": "42" },
            { "name": "kind", "type": 3, "value": "detect" },
            { "name": "due", "type": 3, "value": "+5d" }
        ]}]}]));
        assert_eq!(
            to_command(&add).unwrap(),
            GrammarCommand::ActionAdd {
                target: None,
                text: "Add a lag alert".into(),
                owner: Some("42".into()),
                due: Some(grammar::DueSpec::InDays(5)),
                kind: Some(ActionKind::Detect),
                priority: None,
                addresses: None
            }
        );
        let snooze =
            data(json!([{ "name": "action", "type": 2, "options": [{ "name": "snooze", "type": 1, "options": [
                { "name": "id", "type": 4, "value": 7 }, { "name": "days", "type": 4, "value": 3 }
            ]}]}]));
        assert_eq!(to_command(&snooze).unwrap(), GrammarCommand::ActionSnooze { id: 7, days: 3 });
        assert_eq!(to_command(&data(json!([]))).unwrap(), GrammarCommand::Help);
        let attach = data(json!([{ "name": "alert", "type": 2, "options": [{ "name": "attach", "type": 1, "options": [
            { "name": "alert", "type": 4, "value": 12 }, { "name": "incident", "type": 3, "value": "INC-3" }
        ]}]}]));
        assert_eq!(to_command(&attach).unwrap(), GrammarCommand::AlertAttach { alert: 12, incident: 3 });
        let declare =
            data(json!([{ "name": "alert", "type": 2, "options": [{ "name": "declare", "type": 1, "options": [
                { "name": "alert", "type": 4, "value": 12 }, { "name": "severity", "type": 3, "value": "sev1" }
            ]}]}]));
        assert_eq!(
            to_command(&declare).unwrap(),
            GrammarCommand::AlertDeclare { alert: 12, severity: Some(Severity::Sev1) }
        );
        let dismiss =
            data(json!([{ "name": "alert", "type": 2, "options": [{ "name": "dismiss", "type": 1, "options": [
                { "name": "alert", "type": 4, "value": 5 }, { "name": "reason", "type": 3, "value": "flapping" }
            ]}]}]));
        assert_eq!(
            to_command(&dismiss).unwrap(),
            GrammarCommand::AlertDismiss { alert: 5, reason: Some("flapping".into()) }
        );
        let alerts = data(json!([{ "name": "alerts", "type": 1, "options": [] }]));
        assert_eq!(to_command(&alerts).unwrap(), GrammarCommand::Alerts { target: None });
    }

    #[test]
    fn typed_values_are_not_read_again_as_grammar() {
        // A title that starts like a severity, with no severity chosen.
        let declare = data(json!([{ "name": "declare", "type": 1, "options": [
            { "name": "title", "type": 3, "value": "sev1 outage in checkout" }
        ]}]));
        assert!(matches!(
            to_command(&declare).unwrap(),
            GrammarCommand::Declare { severity: None, title: Some(t), .. } if t == "sev1 outage in checkout"
        ));
        // Action text that contains `due:` keeps it, and the chosen due date stands.
        let add = data(json!([{ "name": "action", "type": 2, "options": [{ "name": "add", "type": 1, "options": [
            { "name": "text", "type": 3, "value": "Document due:+1d semantics" },
            { "name": "due", "type": 3, "value": "+5d" }
        ]}]}]));
        assert!(matches!(
            to_command(&add).unwrap(),
            GrammarCommand::ActionAdd { text, due: Some(grammar::DueSpec::InDays(5)), .. } if text == "Document due:+1d semantics"
        ));
        // A title-less declare opens the form; one with a title "severe" does not.
        let titled = data(json!([{ "name": "declare", "type": 1, "options": [
            { "name": "title", "type": 3, "value": "severe" }
        ]}]));
        assert!(!to_command(&titled).unwrap().may_open_form());
        let untitled = data(json!([{ "name": "declare", "type": 1, "options": [
            { "name": "severity", "type": 3, "value": "sev2" }
        ]}]));
        assert!(to_command(&untitled).unwrap().may_open_form());
    }

    #[test]
    fn an_incident_must_look_like_inc_n() {
        let typed = data(json!([{ "name": "reopen", "type": 1, "options": [
            { "name": "incident", "type": 3, "value": "12" }
        ]}]));
        assert_eq!(to_command(&typed).unwrap(), GrammarCommand::Reopen { target: Some(12) });
        let bad = data(json!([{ "name": "reopen", "type": 1, "options": [
            { "name": "incident", "type": 3, "value": "yesterday's" }
        ]}]));
        assert!(to_command(&bad).is_err());
        let started = data(json!([{ "name": "declare", "type": 1, "options": [
            { "name": "started", "type": 3, "value": "5é" }
        ]}]));
        assert_eq!(to_command(&started).unwrap_err().usage, usage::DECLARE);
    }

    #[test]
    fn the_definition_has_typed_options() {
        let json = serde_json::to_value(definition(&FactorVocabulary::default())).unwrap();
        assert_eq!(json["name"], "incident");
        let subs = json["options"].as_array().unwrap();
        // Discord refuses a command with more than 25 subcommands and groups.
        assert!(subs.len() <= 25, "{} subcommands and groups", subs.len());
        let find = |name: &str| subs.iter().find(|s| s["name"] == name).unwrap().clone();
        assert_eq!(find("take")["options"][0]["name"], "incident", "take command, typed like the text command");
        let assign = find("assign");
        assert_eq!(assign["options"][1]["type"], 6, "user option");
        assert_eq!(assign["options"][0]["choices"].as_array().unwrap().len(), 3);
        assert_eq!(find("status")["options"][2]["autocomplete"], true);
        assert_eq!(find("action")["type"], 2);
        let factor = find("factor");
        assert_eq!(factor["options"][0]["options"][0]["choices"].as_array().unwrap().len(), 11, "tags as choices");
        assert_eq!(find("service")["options"][0]["options"][0]["autocomplete"], true, "services by autocomplete");
        let declare = find("declare");
        let declare_options: Vec<&str> =
            declare["options"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
        assert!(["services", "drill", "private"].iter().all(|n| declare_options.contains(n)), "{declare_options:?}");
        for sub in subs {
            assert!(sub["name"].as_str().unwrap().len() <= 32);
            assert!(sub["description"].as_str().unwrap().len() <= 100);
        }
    }
}
