//! The one writer of Slack mrkdwn. Every line the bot posts on Slack is built here,
//! never with `format!`, so user text can neither ping nor break the bot's formatting:
//!
//! - `& < >` in user text are escaped, so `<!channel>` and fake links stay text;
//! - `* _ ~` and backticks in user text are swapped for look-alikes (`∗ ˍ ∼ ˋ`) where
//!   Slack would read them as markers: always inside our bold and code, and elsewhere
//!   unless they sit between two letters or digits (`snake_case` stays as typed, since
//!   Slack does not format inside a word);
//! - bold touches text at both edges (Slack never closes `*` after a space), and
//!   adjacent bold spans are one bold.
//!
//! A line comes out as [`Unit`]s: one escaped character, a whole bold or code run, or a
//! mention. Splitting a long line only ever falls between units, so a cut can never
//! land inside `&amp;` or leave a bold unclosed, and lengths are measured on the
//! escaped form ([`crate::text_units::len`]).

use commands::{Line, Span};

pub use crate::text_units::Unit;

/// Mrkdwn's formatting characters and the look-alike each becomes in user text.
fn look_alike(c: char) -> Option<char> {
    match c {
        '*' => Some('∗'),
        '_' => Some('ˍ'),
        '~' => Some('∼'),
        '`' => Some('ˋ'),
        _ => None,
    }
}

/// Escapes the three characters Slack reads as markup (`& < >`).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    out
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        c => out.push(c),
    }
}

/// Where user text sits: inside our own bold or code every marker goes, since any of
/// them could close ours; in plain text only markers Slack could act on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Plain,
    Bold,
    Code,
}

/// User text as units: one per character, escaped and neutralised.
fn user_units(text: &str, context: Context) -> Vec<Unit> {
    let chars: Vec<char> = text.chars().collect();
    let mut units = Vec::with_capacity(chars.len());
    for (n, &c) in chars.iter().enumerate() {
        let mut unit = String::new();
        match look_alike(c) {
            Some(similar) => {
                let inside_word = n > 0
                    && chars.get(n + 1).is_some_and(|next| next.is_alphanumeric())
                    && chars[n - 1].is_alphanumeric();
                let neutralise = match context {
                    Context::Code => c == '`',
                    Context::Bold => c == '*' || c == '`' || !inside_word,
                    Context::Plain => c == '`' || !inside_word,
                };
                unit.push(if neutralise { similar } else { c });
            }
            None => push_escaped(&mut unit, c),
        }
        units.push(unit);
    }
    units
}

/// Slack user, channel and team ids: an uppercase letter, then uppercase letters and digits.
pub fn is_slack_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && id.len() <= 32
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// One line as mrkdwn units. No unit is longer than `max`.
pub fn line_units(line: &Line, max: usize) -> Vec<Unit> {
    let mut units = Vec::new();
    let mut bold = String::new();
    for span in &line.0 {
        if let Span::Bold(text) = span {
            bold.push_str(text);
            continue;
        }
        units.extend(wrapped(user_units(&std::mem::take(&mut bold), Context::Bold), "*", max));
        match span {
            Span::Text(text) => units.extend(user_units(text, Context::Plain)),
            Span::Bold(_) => {}
            Span::Code(text) => units.extend(wrapped(user_units(text, Context::Code), "`", max)),
            Span::User(id) if is_slack_id(id) => units.push(format!("<@{id}>")),
            Span::User(id) => {
                units.push("@".into());
                units.extend(user_units(id, Context::Plain));
            }
            Span::Channel { id, .. } if is_slack_id(id.as_str()) => units.push(format!("<#{id}>")),
            Span::Channel { name, .. } => {
                units.push("#".into());
                units.extend(user_units(name, Context::Plain));
            }
        }
    }
    units.extend(wrapped(user_units(&bold, Context::Bold), "*", max));
    units
}

/// One line as mrkdwn, whole.
pub fn line(line: &Line) -> String {
    line_units(line, usize::MAX).concat()
}

pub use crate::text_units::split;
use crate::text_units::wrapped;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::slack::limits;

    fn render(line_: Line) -> String {
        line(&line_)
    }

    #[test]
    fn escapes_and_real_mentions() {
        let text = render(Line::new().bold("<!channel> & <https://evil|click>").text(" by ").user("U123ABC"));
        assert_eq!(text, "*&lt;!channel&gt; &amp; &lt;https://evil|click&gt;* by <@U123ABC>");
        assert_eq!(render(Line::new().user("<!here>")), "@&lt;!here&gt;");
        assert_eq!(render(Line::new().channel("C0987", "x")), "<#C0987>");
    }

    #[test]
    fn markers_in_user_text_cannot_break_ours() {
        // The kick-off and the postmortem lines: bold edges touch text.
        assert_eq!(render(Line::new().text("🚨 ").bold("INC-1: ").bold("title")), "🚨 *INC-1: title*");
        assert_eq!(render(Line::new().bold("Summary: ").text("it broke")), "*Summary:* it broke");
        // A title full of markers stays inside one bold.
        assert_eq!(render(Line::new().bold("a *b* _c_ ~d~ `e`")), "*a ∗b∗ ˍcˍ ∼d∼ ˋeˋ*");
        // In plain text, markers at word edges are neutralised; inside words they stay.
        assert_eq!(render(Line::new().text("_x_ db_primary_2 *y*")), "ˍxˍ db_primary_2 ∗y∗");
        assert_eq!(render(Line::new().code("a`b")), "`aˋb`");
        assert_eq!(render(Line::new().bold("  ").text("x")), "  x");
        assert_eq!(render(Line::new().text("by").bold(" @bob ")), "by *@bob* ");
    }

    #[test]
    fn splitting_never_cuts_inside_an_escape_or_a_bold() {
        let units = line_units(&Line::new().text("&".repeat(10)), 12);
        let pieces = split(&units, 12);
        assert_eq!(pieces, vec!["&amp;&amp;", "&amp;&amp;", "&amp;&amp;", "&amp;&amp;", "&amp;&amp;"]);
        let units = line_units(&Line::new().bold("abcdefghij"), 6);
        assert_eq!(units, vec!["*abcd*", "*efgh*", "*ij*"]);
        // Breaks after a space when one is near.
        let units = line_units(&Line::new().text("aaaa bbbb cccc"), 100);
        assert_eq!(split(&units, 7), vec!["aaaa ", "bbbb ", "cccc"]);
        // Nothing is lost.
        let text = "é&<x> ".repeat(400);
        let units = line_units(&Line::new().text(&text), 3000);
        let pieces = split(&units, 100);
        assert!(pieces.iter().all(|p| limits::len(p) <= 100));
        assert_eq!(pieces.concat(), escape(&text));
    }
}
