//! Alertmanager's matcher syntax: `name="value"`, `!=`, `=~` and `!~`, comma-separated
//! (all must match), optionally in braces. A regex is anchored at both ends, as
//! Alertmanager anchors it, so `env=~"prod"` does not match `preprod`.

use std::collections::BTreeMap;

use regex::Regex;

/// One label matcher.
#[derive(Debug, Clone)]
pub struct Matcher {
    pub name: String,
    op: Op,
    value: String,
    regex: Option<Regex>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Equal,
    NotEqual,
    Matches,
    NotMatches,
}

/// A matcher list that does not parse: what is wrong, quoting the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("matcher `{input}`: {problem}")]
pub struct MatcherError {
    pub input: String,
    pub problem: String,
}

/// Every matcher of a rule's `when`; all must match. An empty list matches everything.
#[derive(Debug, Clone, Default)]
pub struct Matchers(pub Vec<Matcher>);

impl Matcher {
    /// Whether the labels satisfy this matcher. A missing label reads as the empty
    /// string, as in Alertmanager (so `team!="db"` matches an alert without `team`).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.name).map_or("", String::as_str);
        match (self.op, &self.regex) {
            (Op::Equal, _) => value == self.value,
            (Op::NotEqual, _) => value != self.value,
            (Op::Matches, Some(regex)) => regex.is_match(value),
            (Op::NotMatches, Some(regex)) => !regex.is_match(value),
            // A regex operator always carries its compiled regex (see `parse_one`).
            (Op::Matches | Op::NotMatches, None) => false,
        }
    }
}

impl Matchers {
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|matcher| matcher.matches(labels))
    }

    /// Parses `severity="critical", env=~"prod|production"`.
    pub fn parse(input: &str) -> Result<Matchers, MatcherError> {
        let error = |problem: &str| MatcherError { input: input.to_string(), problem: problem.to_string() };
        let mut rest = input.trim();
        if let Some(inner) = rest.strip_prefix('{') {
            rest = inner.strip_suffix('}').ok_or_else(|| error("a `{` without its closing `}`"))?.trim();
        }
        let mut matchers = Vec::new();
        while !rest.is_empty() {
            let (matcher, after) = parse_one(rest).map_err(|problem| error(&problem))?;
            matchers.push(matcher);
            rest = after.trim_start();
            if let Some(after_comma) = rest.strip_prefix(',') {
                rest = after_comma.trim_start();
                if rest.is_empty() {
                    break;
                }
            } else if !rest.is_empty() {
                return Err(error("matchers are separated by commas"));
            }
        }
        Ok(Matchers(matchers))
    }
}

/// One matcher at the front of `text`, and what follows it.
fn parse_one(text: &str) -> Result<(Matcher, &str), String> {
    let name_end = text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(text.len());
    let name = &text[..name_end];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("a matcher starts with a label name (letters, digits and _)".into());
    }
    let after_name = text[name_end..].trim_start();
    let (op, after_op) = if let Some(rest) = after_name.strip_prefix("=~") {
        (Op::Matches, rest)
    } else if let Some(rest) = after_name.strip_prefix("!~") {
        (Op::NotMatches, rest)
    } else if let Some(rest) = after_name.strip_prefix("!=") {
        (Op::NotEqual, rest)
    } else if let Some(rest) = after_name.strip_prefix('=') {
        (Op::Equal, rest)
    } else {
        return Err(format!("after `{name}` comes one of = != =~ !~"));
    };
    let (value, rest) = parse_value(after_op.trim_start())?;
    let regex = match op {
        Op::Matches | Op::NotMatches => {
            Some(Regex::new(&format!("^(?:{value})$")).map_err(|e| format!("`{value}` is not a valid regex: {e}"))?)
        }
        Op::Equal | Op::NotEqual => None,
    };
    Ok((Matcher { name: name.to_string(), op, value, regex }, rest))
}

/// A double-quoted value with `\"`, `\\` and `\n` escapes, or an unquoted one up to the
/// next comma or brace.
fn parse_value(text: &str) -> Result<(String, &str), String> {
    let Some(quoted) = text.strip_prefix('"') else {
        let end = text.find([',', '}']).unwrap_or(text.len());
        return Ok((text[..end].trim().to_string(), &text[end..]));
    };
    let mut value = String::new();
    let mut chars = quoted.char_indices();
    while let Some((index, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &quoted[index + 1..])),
            '\\' => match chars.next() {
                Some((_, 'n')) => value.push('\n'),
                Some((_, escaped)) => value.push(escaped),
                None => break,
            },
            other => value.push(other),
        }
    }
    Err("a quoted value without its closing quote".into())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn all_four_operators_and_the_comma_as_and() {
        let m = Matchers::parse(r#"severity="critical", env=~"prod|production", team!="db", job!~"test.*""#).unwrap();
        assert!(m.matches(&labels(&[("severity", "critical"), ("env", "prod"), ("job", "api")])));
        assert!(!m.matches(&labels(&[("severity", "critical"), ("env", "preprod"), ("job", "api")])));
        assert!(!m.matches(&labels(&[("severity", "critical"), ("env", "prod"), ("team", "db")])));
        assert!(!m.matches(&labels(&[("severity", "critical"), ("env", "prod"), ("job", "testing")])));
        assert!(!m.matches(&labels(&[("severity", "warning"), ("env", "prod")])));
    }

    #[test]
    fn braces_unquoted_values_escapes_and_empty() {
        let m = Matchers::parse(r#"{ alertname = Disk, msg="say \"hi\"" }"#).unwrap();
        assert!(m.matches(&labels(&[("alertname", "Disk"), ("msg", "say \"hi\"")])));
        assert!(Matchers::parse("").unwrap().matches(&labels(&[])));
        // A missing label reads as empty.
        assert!(Matchers::parse(r#"team="""#).unwrap().matches(&labels(&[])));
    }

    #[test]
    fn bad_matchers_say_what_is_wrong() {
        for bad in [r#"severity"#, r#"sev=~"(""#, r#"a="b" c="d""#, r#"="x""#, r#"a="open"#, "{a=\"b\""] {
            let error = Matchers::parse(bad).unwrap_err();
            assert!(!error.problem.is_empty(), "{bad}");
        }
        // Multibyte input is refused, not a panic.
        assert!(Matchers::parse("é=\"x\"").is_err());
        assert!(Matchers::parse("a=\"é🚨\"").unwrap().matches(&labels(&[("a", "é🚨")])));
    }
}
