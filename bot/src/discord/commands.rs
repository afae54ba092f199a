//! The `/incident` application command: its definition (subcommands with typed
//! options, choices and `INC-n` autocomplete), its registration, and the mapping of a
//! command interaction's options back onto the text grammar the core parses. The
//! mapping only re-spells what was chosen; every rule stays in the core.

use serenity::all::{
    Command, CommandData, CommandDataOption, CommandDataOptionValue, CommandOptionType, CreateCommand,
    CreateCommandOption, GuildId,
};
use serenity::http::Http;

pub const COMMAND_NAME: &str = "incident";
/// The option that names an incident, offered by autocomplete.
pub const INCIDENT_OPTION: &str = "incident";

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
    option(CommandOptionType::String, name, description).required(required).max_length(4000)
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

fn item_id() -> CreateCommandOption {
    option(CommandOptionType::Integer, "id", "The action item's number").required(true).min_int_value(1)
}

fn subcommand(name: &str, description: &str, options: Vec<CreateCommandOption>) -> CreateCommandOption {
    options.into_iter().fold(option(CommandOptionType::SubCommand, name, description), |s, o| s.add_sub_option(o))
}

/// The `/incident` command with every subcommand of the grammar.
pub fn definition() -> CreateCommand {
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
                incident(),
            ],
        ),
        subcommand("done", "Mark an action item done", vec![item_id()]),
        subcommand("wontfix", "Close an action item without doing it", vec![item_id()]),
        subcommand(
            "snooze",
            "Push an action item's due date out",
            vec![
                item_id(),
                option(CommandOptionType::Integer, "days", "How many days")
                    .required(true)
                    .min_int_value(1)
                    .max_int_value(365),
            ],
        ),
        subcommand("list", "List action items", vec![choice("scope", "Which items", false, &LIST_SCOPES), incident()]),
    ]
    .into_iter()
    .fold(option(CommandOptionType::SubCommandGroup, "action", "Action items"), |g, s| g.add_sub_option(s));

    let subcommands = vec![
        subcommand(
            "declare",
            "Open an incident, its channel and a kick-off post",
            vec![
                option(CommandOptionType::String, "title", "What is wrong (leave out to fill a form)").max_length(200),
                choice("severity", "How bad it is", false, &SEVERITIES),
                option(CommandOptionType::String, "started", "When it started, if earlier: 20m, 2h or 1d ago"),
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
        subcommand("note", "Add a key event to the timeline", vec![text("text", "The note", true), incident()]),
        subcommand("timeline", "Show the key events so far", vec![incident()]),
        subcommand("resolve", "Resolve the incident", vec![text("summary", "What fixed it", false), incident()]),
        subcommand("reopen", "Reopen a resolved incident", vec![incident()]),
        subcommand("postmortem", "Write or show the postmortem", vec![incident()]),
        action,
        subcommand("list", "Open incidents", vec![]),
        subcommand(
            "stats",
            "Counts, MTTA and MTTR by severity",
            vec![option(CommandOptionType::Integer, "days", "Over how many days").min_int_value(1).max_int_value(3650)],
        ),
        subcommand("help", "Everything /incident can do", vec![]),
    ];
    subcommands
        .into_iter()
        .fold(CreateCommand::new(COMMAND_NAME).description("Declare and run incidents").dm_permission(false), |c, s| {
            c.add_option(s)
        })
}

/// Registers `/incident` in one guild (instant) or globally (Discord may take up to an
/// hour to show it everywhere). Replaces whatever was registered before.
pub async fn register(http: &Http, guild: Option<GuildId>) -> serenity::Result<()> {
    match guild {
        Some(guild) => guild.set_commands(http, vec![definition()]).await.map(|_| ()),
        None => Command::set_global_commands(http, vec![definition()]).await.map(|_| ()),
    }
}

/// A command whose options do not fit (an unknown subcommand, or an incident that is
/// not `INC-n`). Shown privately to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MappingError(pub String);

/// The options of one subcommand, by name.
struct Options<'a>(&'a [CommandDataOption]);

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

    fn user(&self, name: &str) -> Option<String> {
        match self.get(name)? {
            CommandDataOptionValue::User(id) => Some(format!("<@{id}>")),
            _ => None,
        }
    }

    /// The `incident` option as `INC-n`; a bare number is accepted too.
    fn incident(&self) -> Result<Option<String>, MappingError> {
        let Some(raw) = self.text(INCIDENT_OPTION) else {
            return Ok(None);
        };
        let word = raw.split([' ', ':']).next().unwrap_or_default();
        let digits = word.strip_prefix("INC-").or_else(|| word.strip_prefix("inc-")).unwrap_or(word);
        match digits.parse::<u64>() {
            Ok(id) if id > 0 => Ok(Some(format!("INC-{id}"))),
            _ => Err(MappingError(format!("`{raw}` is not an incident; pick one like INC-3."))),
        }
    }
}

/// Joins the present parts with single spaces.
fn words(parts: &[Option<String>]) -> String {
    parts.iter().flatten().map(String::as_str).collect::<Vec<_>>().join(" ")
}

fn some(word: &str) -> Option<String> {
    Some(word.to_string())
}

/// The text after `/incident` that the chosen subcommand and options stand for, with
/// users as `<@id>` mentions, e.g. `INC-3 assign comms <@80351110224678912>`.
pub fn to_core_text(data: &CommandData) -> Result<String, MappingError> {
    let Some(first) = data.options.first() else {
        return Ok("help".to_string());
    };
    match &first.value {
        CommandDataOptionValue::SubCommand(options) => subcommand_text(&first.name, &Options(options)),
        CommandDataOptionValue::SubCommandGroup(subs) if first.name == "action" => {
            let Some(sub) = subs.first() else {
                return Err(MappingError("Which action command?".into()));
            };
            let CommandDataOptionValue::SubCommand(options) = &sub.value else {
                return Err(MappingError("Which action command?".into()));
            };
            action_text(&sub.name, &Options(options))
        }
        _ => Err(MappingError(format!("`{}` is not an /incident command.", first.name))),
    }
}

fn subcommand_text(name: &str, o: &Options<'_>) -> Result<String, MappingError> {
    let inc = o.incident()?;
    let text = match name {
        "declare" => {
            let started = o.text("started").map(|s| {
                let ago = s.trim_start_matches('-').trim_end_matches(" ago").replace(' ', "");
                format!("started:-{ago}")
            });
            words(&[some("declare"), o.text("severity"), started, o.text("title")])
        }
        "status" => words(&[inc, some("status"), o.text("status"), o.text("note")]),
        "severity" => words(&[inc, some("severity"), o.text("severity")]),
        "assign" => words(&[inc, some("assign"), o.text("role"), o.user("user")]),
        "update" => words(&[inc, some("update"), o.text("text")]),
        "note" => words(&[inc, some("note"), o.text("text")]),
        "resolve" => words(&[inc, some("resolve"), o.text("summary")]),
        "timeline" | "reopen" | "postmortem" => words(&[inc, some(name)]),
        "list" | "help" => name.to_string(),
        "stats" => words(&[some("stats"), o.text("days").map(|d| format!("{d}d"))]),
        other => return Err(MappingError(format!("`{other}` is not an /incident command."))),
    };
    Ok(text)
}

fn action_text(name: &str, o: &Options<'_>) -> Result<String, MappingError> {
    let text = match name {
        "add" => words(&[
            some("action add"),
            o.incident()?,
            o.text("text"),
            o.user("owner"),
            o.text("due").map(|d| format!("due:{d}")),
            o.text("kind").map(|k| format!("kind:{k}")),
            o.text("priority").map(|p| format!("priority:{p}")),
        ]),
        "done" | "wontfix" => words(&[some("action"), some(name), o.text("id")]),
        "snooze" => words(&[some("action snooze"), o.text("id"), o.text("days").map(|d| format!("{d}d"))]),
        "list" => words(&[some("action list"), o.incident()?, o.text("scope")]),
        other => return Err(MappingError(format!("`{other}` is not an action command."))),
    };
    Ok(text)
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
    fn subcommands_map_onto_the_grammar() {
        let assign = data(json!([{ "name": "assign", "type": 1, "options": [
            { "name": "role", "type": 3, "value": "comms" },
            { "name": "user", "type": 6, "value": "80351110224678912" },
            { "name": "incident", "type": 3, "value": "INC-4" }
        ]}]));
        assert_eq!(to_core_text(&assign).unwrap(), "INC-4 assign comms <@80351110224678912>");
        let declare = data(json!([{ "name": "declare", "type": 1, "options": [
            { "name": "title", "type": 3, "value": "DB down" },
            { "name": "severity", "type": 3, "value": "sev2" },
            { "name": "started", "type": 3, "value": "20m" }
        ]}]));
        assert_eq!(to_core_text(&declare).unwrap(), "declare sev2 started:-20m DB down");
        let add = data(json!([{ "name": "action", "type": 2, "options": [{ "name": "add", "type": 1, "options": [
            { "name": "text", "type": 3, "value": "Add a lag alert" },
            { "name": "owner", "type": 6, "value": "42" },
            { "name": "kind", "type": 3, "value": "detect" },
            { "name": "due", "type": 3, "value": "+5d" }
        ]}]}]));
        assert_eq!(to_core_text(&add).unwrap(), "action add Add a lag alert <@42> due:+5d kind:detect");
        let snooze =
            data(json!([{ "name": "action", "type": 2, "options": [{ "name": "snooze", "type": 1, "options": [
                { "name": "id", "type": 4, "value": 7 }, { "name": "days", "type": 4, "value": 3 }
            ]}]}]));
        assert_eq!(to_core_text(&snooze).unwrap(), "action snooze 7 3d");
        assert_eq!(to_core_text(&data(json!([]))).unwrap(), "help");
    }

    #[test]
    fn an_incident_must_look_like_inc_n() {
        let typed = data(json!([{ "name": "reopen", "type": 1, "options": [
            { "name": "incident", "type": 3, "value": "12" }
        ]}]));
        assert_eq!(to_core_text(&typed).unwrap(), "INC-12 reopen");
        let bad = data(json!([{ "name": "reopen", "type": 1, "options": [
            { "name": "incident", "type": 3, "value": "yesterday's" }
        ]}]));
        assert!(to_core_text(&bad).is_err());
    }

    #[test]
    fn the_definition_has_typed_options() {
        let json = serde_json::to_value(definition()).unwrap();
        assert_eq!(json["name"], "incident");
        let subs = json["options"].as_array().unwrap();
        let find = |name: &str| subs.iter().find(|s| s["name"] == name).unwrap().clone();
        let assign = find("assign");
        assert_eq!(assign["options"][1]["type"], 6, "user option");
        assert_eq!(assign["options"][0]["choices"].as_array().unwrap().len(), 3);
        assert_eq!(find("status")["options"][2]["autocomplete"], true);
        assert_eq!(find("action")["type"], 2);
        for sub in subs {
            assert!(sub["name"].as_str().unwrap().len() <= 32);
            assert!(sub["description"].as_str().unwrap().len() <= 100);
        }
    }
}
