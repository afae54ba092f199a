//! The console's line grammar (pure): what one line of a script or of typed input means.

use chrono::Duration;

/// One console line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsoleLine {
    /// `/incident …`, optionally as another user (`@alice /incident …`).
    Command { user: Option<String>, text: String },
    /// `@alice: text`: alice says something in the current channel.
    Say { user: String, text: String },
    /// `#name`: switch channel.
    Switch { channel: String },
    /// `:pin`: pin the last message in the current channel.
    Pin,
    /// `:react ⭐`: react to the last message in the current channel.
    React { emoji: String },
    /// `:advance 3d`: move the clock, running what falls due.
    Advance { by: Duration },
    /// `:alert FILE [source]`: feed an alert payload (Alertmanager, Grafana, PagerDuty
    /// or generic JSON) as if `source` had sent it.
    Alert { file: String, source: Option<String> },
    /// `:help`.
    Help,
    /// `# …` or an empty line.
    Nothing,
}

/// A line that is not console grammar, with a hint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LineError(pub String);

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 80 && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// `3d`, `90m`, `2h`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    // The unit is the last character, whatever its width (`:advance 3⭐`).
    let mut chars = text.chars();
    let unit = chars.next_back()?;
    let n: i64 = chars.as_str().parse().ok().filter(|n| *n > 0 && *n <= 3650 * 24 * 60)?;
    match unit {
        'm' => Some(Duration::minutes(n)),
        'h' => Some(Duration::hours(n).min(Duration::days(3650))),
        'd' => Some(Duration::days(n.min(3650))),
        _ => None,
    }
}

pub fn parse_line(line: &str) -> Result<ConsoleLine, LineError> {
    let line = line.trim();
    if line.is_empty() || line == "#" || line.starts_with("# ") {
        return Ok(ConsoleLine::Nothing);
    }
    if let Some(rest) = line.strip_prefix("/incident") {
        if rest.is_empty() || rest.starts_with(char::is_whitespace) {
            return Ok(ConsoleLine::Command { user: None, text: rest.trim().to_string() });
        }
    }
    if let Some(channel) = line.strip_prefix('#') {
        let channel = channel.trim();
        if valid_name(channel) {
            return Ok(ConsoleLine::Switch { channel: channel.to_string() });
        }
        return Err(LineError(format!("`#{channel}` is not a channel name; use letters, digits, - and _.")));
    }
    if let Some(rest) = line.strip_prefix('@') {
        if let Some((user, text)) = rest.split_once(':') {
            if valid_name(user) && !user.contains(' ') {
                return Ok(ConsoleLine::Say { user: user.to_string(), text: text.trim().to_string() });
            }
        }
        if let Some((user, command)) = rest.split_once(char::is_whitespace) {
            if let Some(text) = command.trim().strip_prefix("/incident") {
                if valid_name(user) && (text.is_empty() || text.starts_with(char::is_whitespace)) {
                    return Ok(ConsoleLine::Command { user: Some(user.to_string()), text: text.trim().to_string() });
                }
            }
        }
        return Err(LineError(
            "Use `@name: message` to speak, or `@name /incident …` to run a command as name.".into(),
        ));
    }
    if let Some(rest) = line.strip_prefix(':') {
        let (verb, arg) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let arg = arg.trim();
        return match verb {
            "pin" if arg.is_empty() => Ok(ConsoleLine::Pin),
            "react" if !arg.is_empty() => Ok(ConsoleLine::React { emoji: arg.to_string() }),
            "advance" => parse_duration(arg)
                .map(|by| ConsoleLine::Advance { by })
                .ok_or_else(|| LineError(format!("`{arg}` is not a duration; use e.g. 90m, 2h or 3d."))),
            "alert" if !arg.is_empty() => {
                let mut words = arg.split_whitespace();
                let file = words.next().unwrap_or_default().to_string();
                let source = words.next().map(str::to_string);
                match words.next() {
                    Some(_) => Err(LineError("Use `:alert FILE [source]`.".into())),
                    None => Ok(ConsoleLine::Alert { file, source }),
                }
            }
            "alert" => Err(LineError("Use `:alert FILE [source]`, e.g. `:alert firing.json prometheus`.".into())),
            "help" => Ok(ConsoleLine::Help),
            _ => Err(LineError(format!("`:{verb}` is not a console command; :help lists them."))),
        };
    }
    Err(LineError("Not understood. Type `/incident help`, `@name: message`, `#channel`, or `:help`.".into()))
}

pub const CONSOLE_HELP: &str = "\
Console lines:
  /incident …          run a command as the current user
  @alice /incident …   run a command as alice
  @alice: text         alice says text in the current channel
  #name                switch to channel name
  :pin                 pin the last message in this channel
  :react ⭐            react to the last message (📌 or ⭐ mark a key event)
  :advance 3d          move the clock (m, h, d), running what falls due
  :alert FILE [source] feed an alert payload (Alertmanager, Grafana, PagerDuty, generic JSON)
  # …                  a comment
Forms (postmortem, declare without a title) take one line per field; an empty line keeps a field.
A /incident line typed mid-form saves the answers so far, then runs.";

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_documented_form() {
        assert_eq!(
            parse_line("/incident declare sev2 DB down").unwrap(),
            ConsoleLine::Command { user: None, text: "declare sev2 DB down".into() }
        );
        assert_eq!(
            parse_line("@alice /incident resolve").unwrap(),
            ConsoleLine::Command { user: Some("alice".into()), text: "resolve".into() }
        );
        assert_eq!(
            parse_line("@bob: replica lag is 40s: failing over").unwrap(),
            ConsoleLine::Say { user: "bob".into(), text: "replica lag is 40s: failing over".into() }
        );
        assert_eq!(parse_line("#inc-1-db").unwrap(), ConsoleLine::Switch { channel: "inc-1-db".into() });
        assert_eq!(parse_line(":pin").unwrap(), ConsoleLine::Pin);
        assert_eq!(parse_line(":react ⭐").unwrap(), ConsoleLine::React { emoji: "⭐".into() });
        assert_eq!(parse_line(":advance 3d").unwrap(), ConsoleLine::Advance { by: Duration::days(3) });
        assert_eq!(parse_line("# a comment").unwrap(), ConsoleLine::Nothing);
        assert_eq!(parse_line("   ").unwrap(), ConsoleLine::Nothing);
    }

    #[test]
    fn a_duration_ending_in_a_multibyte_character_is_refused_not_a_panic() {
        // Found by the `console_script` fuzz target.
        assert_eq!(parse_duration(":react ⭐"), None);
        assert_eq!(parse_duration("3⭐"), None);
        assert!(parse_line(":advance 3⭐").is_err());
        assert_eq!(parse_duration("90m"), Some(Duration::minutes(90)));
    }

    #[test]
    fn rejects_what_it_does_not_know() {
        assert!(parse_line(":advance soon").is_err());
        assert!(parse_line(":advance 0d").is_err());
        assert!(parse_line(":explode").is_err());
        assert!(parse_line("hello").is_err());
        assert!(parse_line("@bob hi").is_err());
        assert!(parse_line("/incidental").is_err());
        assert!(parse_line("#bad name!").is_err());
    }
}
