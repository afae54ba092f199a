//! Blameless hints: spotting postmortem answers that blame a person, so the bot can
//! suggest describing the system conditions instead. Hints never block an answer.
//!
//! Add a phrase to [`BLAME_PHRASES`] to teach it a new pattern.

/// Lowercase phrases that usually point at a person rather than a system.
pub const BLAME_PHRASES: &[&str] = &[
    "human error",
    "should have known",
    "should've known",
    "careless",
    "carelessness",
    "negligent",
    "negligence",
    "incompetent",
    "didn't bother",
    "did not bother",
    "was sloppy",
    "to blame",
    "blame on",
    "operator error",
    "user error",
];

/// What in an answer looks like blame, in words for the hint. Empty when nothing does.
pub fn blame_signals(answer: &str) -> Vec<String> {
    let lower = answer.to_lowercase();
    let mut found: Vec<String> = BLAME_PHRASES
        .iter()
        .filter(|phrase| contains_phrase(&lower, phrase))
        .map(|phrase| format!("\"{phrase}\""))
        .collect();
    // "X's fault" or "fault of X".
    let possessive = ["'s fault", "’s fault"]
        .iter()
        .find_map(|pattern| lower.split_once(pattern).map(|(before, _)| (before, *pattern)));
    if let Some((before, pattern)) = possessive {
        // The word before the pattern: whatever follows the last white space, of any
        // width (a no-break space is two bytes), found without byte arithmetic.
        let name = before.rsplit(char::is_whitespace).next().unwrap_or(before);
        found.push(format!("\"{name}{pattern}\""));
    } else if lower.contains("fault of")
        || lower.contains("their fault")
        || lower.contains("his fault")
        || lower.contains("her fault")
    {
        found.push("\"fault\"".to_string());
    }
    // A person mentioned as a cause: "@bob", or "because of bob" style mentions.
    for word in answer.split_whitespace() {
        let word = word.trim_matches(|c: char| matches!(c, '.' | ',' | ';' | ':' | ')' | '(' | '!' | '?'));
        if crate::grammar::parse_user(word).is_some() && (word.starts_with('@') || word.starts_with("<@")) {
            found.push(format!("a mention of {word}"));
        }
    }
    found
}

/// Words that name a person (or a person's role) rather than a condition.
const PERSON_WORDS: &[&str] = &[
    "someone",
    "somebody",
    "the engineer",
    "an engineer",
    "the developer",
    "a developer",
    "the operator",
    "the intern",
    "the new hire",
    "a new hire",
    "the on-call",
    "the oncall",
    "the admin",
];

/// Verbs that, after a name, tell what a person did: "Bob pushed", "Dana forgot".
const PERSON_VERBS: &[&str] = &[
    "forgot",
    "pushed",
    "deployed",
    "ran",
    "deleted",
    "broke",
    "missed",
    "typed",
    "merged",
    "dropped",
    "ignored",
    "skipped",
    "misconfigured",
    "caused",
    "didn't",
    "failed",
];

/// What in an answer about the cause names a person as the cause: a role word
/// ("someone", "the engineer"), or a capitalised name followed by what they did ("Bob
/// pushed…"). Empty when the cause is a condition. Only the trigger and contributing
/// factors are read this way ([`crate::postmortem::names_a_cause`]).
pub fn person_as_cause(answer: &str) -> Vec<String> {
    let lower = answer.to_lowercase();
    let mut found: Vec<String> =
        PERSON_WORDS.iter().filter(|w| contains_phrase(&lower, w)).map(|w| format!("\"{w}\"")).collect();
    let words: Vec<&str> = answer.split_whitespace().collect();
    for pair in words.windows(2) {
        let name = pair[0].trim_matches(|c: char| !c.is_alphanumeric());
        let verb = pair[1].trim_matches(|c: char| !c.is_alphanumeric() && c != '\'').to_lowercase();
        let mut chars = name.chars();
        let capitalised = chars.next().is_some_and(char::is_uppercase) && chars.all(char::is_lowercase);
        // "The deploy broke" names a thing: only a bare name before the verb counts.
        let article = ["The", "A", "An", "This", "That", "It", "Our"].contains(&name);
        if capitalised && !article && PERSON_VERBS.contains(&verb.as_str()) {
            found.push(format!("\"{name} {verb}\""));
        }
    }
    found
}

/// Whether `phrase` appears in `text` as whole words.
fn contains_phrase(text: &str, phrase: &str) -> bool {
    // `match_indices` gives the match's own boundaries, so both slices start and end on
    // character boundaries whatever the text around them.
    text.match_indices(phrase).any(|(start, _)| {
        let before = text[..start].chars().next_back();
        let after = text[start + phrase.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// The gentle suggestion shown privately when [`blame_signals`] finds something.
pub fn hint(field_label: &str, signals: &[String]) -> String {
    format!(
        "Blameless hint for “{field_label}”: {} can read as blaming a person. It is saved as written; \
         consider describing the conditions that made the mistake easy (missing guardrails, unclear \
         runbooks, alerts, time pressure) instead.",
        signals.join(", ")
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_documented_examples() {
        assert!(!blame_signals("Human error during the deploy").is_empty());
        assert_eq!(blame_signals("It was Bob's fault"), vec!["\"bob's fault\""]);
        assert!(!blame_signals("they should have known better").is_empty());
        assert!(!blame_signals("a careless config change").is_empty());
        assert_eq!(blame_signals("caused by @dave pushing to main"), vec!["a mention of @dave"]);
    }

    #[test]
    fn any_space_before_the_name_is_found_whole() {
        // A no-break space, an ideographic space and an em space are wider than a byte.
        for space in ['\u{00A0}', '\u{3000}', '\u{2003}'] {
            assert_eq!(blame_signals(&format!("it was{space}bob's fault")), vec!["\"bob's fault\""]);
        }
        assert_eq!(blame_signals("éé’s fault"), vec!["\"éé’s fault\""]);
        assert_eq!(blame_signals("'s fault"), vec!["\"'s fault\""]);
    }

    #[test]
    fn a_person_named_as_the_cause_is_found() {
        assert_eq!(person_as_cause("Bob pushed a bad config"), vec!["\"Bob pushed\""]);
        assert_eq!(person_as_cause("someone forgot the flag"), vec!["\"someone\""]);
        assert!(!person_as_cause("the engineer on call").is_empty());
        assert!(person_as_cause("The deploy broke the cache; Config reloads skipped validation").is_empty());
        assert!(person_as_cause("A config change without a canary stage").is_empty());
        assert!(person_as_cause("Élodie pushed é😀").len() == 1);
    }

    #[test]
    fn leaves_system_descriptions_alone() {
        assert!(blame_signals("The deploy pipeline had no canary stage; the config was not validated").is_empty());
        assert!(blame_signals("Fault tolerance of the queue was lower than assumed").is_empty());
    }
}
