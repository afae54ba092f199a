//! Rendering the core's platform-neutral values for Slack: a [`Message`] becomes Block
//! Kit blocks plus a fallback text, a [`Form`] becomes a modal view.
//!
//! Every piece of user text is escaped (`& < >`), so `<!channel>` or a fake link in a
//! title is shown literally; only `Span::User` and `Span::Channel` become real mentions,
//! and only when their id looks like a Slack id. Adjacent bold spans are rendered as
//! one `*…*` with its edges touching text, the only form of bold mrkdwn reads.

use commands::{Form, Line, Message, Span};
use serde_json::{json, Value};

/// Slack's limit on the text of one section block.
const SECTION_TEXT_LIMIT: usize = 3000;
/// Slack's limit on a modal title.
const MODAL_TITLE_LIMIT: usize = 24;
/// Slack's limit on a plain-text input's length.
const INPUT_LIMIT: usize = 3000;
/// Slack's limit on an input label and hint.
const LABEL_LIMIT: usize = 2000;
/// Slack's limit on a button label.
const BUTTON_LABEL_LIMIT: usize = 75;

/// Escapes the three characters Slack treats as markup in message text.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Slack user, channel and team ids: an uppercase letter, then uppercase letters and digits.
fn is_slack_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && id.len() <= 32
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

fn cut(text: &str, max_chars: usize) -> String {
    if text.chars().nth(max_chars).is_none() {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// One line as mrkdwn. Adjacent bold spans become one bold: `*a**b*` is broken markup.
fn line_mrkdwn(line: &Line) -> String {
    let mut out = String::new();
    let mut bold = String::new();
    for span in &line.0 {
        match span {
            Span::Bold(text) => bold.push_str(text),
            other => {
                push_bold(&mut out, &std::mem::take(&mut bold));
                out.push_str(&span_mrkdwn(other));
            }
        }
    }
    push_bold(&mut out, &bold);
    out
}

/// Appends `text` as `*bold*`. Slack reads `*` as a marker only next to a non-space
/// character, so whitespace at either edge goes outside the markers; mrkdwn has no
/// escape for `*`, so one inside becomes the look-alike `∗`.
fn push_bold(out: &mut String, text: &str) {
    let inner = text.trim();
    if inner.is_empty() {
        out.push_str(&escape(text));
        return;
    }
    let leading = text.strip_suffix(text.trim_start()).unwrap_or_default();
    let trailing = text.strip_prefix(text.trim_end()).unwrap_or_default();
    out.push_str(leading);
    out.push('*');
    out.push_str(&escape(&inner.replace('*', "∗")));
    out.push('*');
    out.push_str(trailing);
}

/// A span other than bold (see [`line_mrkdwn`]).
fn span_mrkdwn(span: &Span) -> String {
    match span {
        Span::Text(t) | Span::Bold(t) => escape(t),
        Span::Code(t) => format!("`{}`", escape(t)),
        Span::User(id) if is_slack_id(id) => format!("<@{id}>"),
        Span::User(id) => format!("@{}", escape(id)),
        Span::Channel { id, .. } if is_slack_id(id.as_str()) => format!("<#{id}>"),
        Span::Channel { name, .. } => format!("#{}", escape(name)),
    }
}

/// The message as Slack mrkdwn, one line per line.
pub fn mrkdwn(message: &Message) -> String {
    let lines: Vec<String> = message.lines.iter().map(line_mrkdwn).collect();
    lines.join("\n")
}

/// The notification text: the same mrkdwn, cut to a sensible length.
pub fn fallback_text(message: &Message) -> String {
    let text = mrkdwn(message);
    if text.is_empty() {
        let labels: Vec<String> = message.buttons.iter().map(|b| escape(&b.label)).collect();
        return labels.join(" · ");
    }
    cut(&text, SECTION_TEXT_LIMIT)
}

/// Block Kit blocks: sections of at most 3000 characters, split at line ends, then one
/// actions block with the buttons.
pub fn blocks(message: &Message) -> Vec<Value> {
    let mut blocks = Vec::new();
    let mut section = String::new();
    let flush = |section: &mut String, blocks: &mut Vec<Value>| {
        if !section.is_empty() {
            blocks.push(json!({ "type": "section", "text": { "type": "mrkdwn", "text": std::mem::take(section) } }));
        }
    };
    for line in message.lines.iter().map(line_mrkdwn) {
        let line = cut(&line, SECTION_TEXT_LIMIT);
        if section.chars().count() + line.chars().count() + 1 > SECTION_TEXT_LIMIT {
            flush(&mut section, &mut blocks);
        }
        if !section.is_empty() {
            section.push('\n');
        }
        // A section's text may not be empty or only a newline; keep blank lines visible.
        section.push_str(if line.is_empty() { " " } else { &line });
    }
    flush(&mut section, &mut blocks);
    if !message.buttons.is_empty() {
        let elements: Vec<Value> = message
            .buttons
            .iter()
            .map(|button| {
                let mut element = json!({
                    "type": "button",
                    "text": { "type": "plain_text", "text": cut(&button.label, BUTTON_LABEL_LIMIT), "emoji": true },
                    "action_id": button.action.encode(),
                    "value": button.action.encode(),
                });
                if button.primary {
                    element["style"] = json!("primary");
                }
                element
            })
            .collect();
        blocks.push(json!({ "type": "actions", "elements": elements }));
    }
    blocks
}

/// The body of a `chat.postMessage` to `channel`: blocks, fallback text, no link
/// unfurling, and no `link_names`, so a plain `@channel` in user text stays text.
pub fn post_body(channel: &str, message: &Message) -> Value {
    json!({
        "channel": channel,
        "text": fallback_text(message),
        "blocks": blocks(message),
        "unfurl_links": false,
        "unfurl_media": false,
    })
}

/// A private reply through a `response_url`.
pub fn ephemeral_body(message: &Message) -> Value {
    json!({
        "response_type": "ephemeral",
        "replace_original": false,
        "text": fallback_text(message),
        "blocks": blocks(message),
    })
}

/// The modal for a form. `private_metadata` travels with the view and comes back with
/// the submission (the channel and where to reply).
pub fn modal(form: &Form, private_metadata: &str) -> Value {
    let blocks: Vec<Value> = form
        .fields
        .iter()
        .map(|field| {
            let max_length = field.max_len.clamp(1, INPUT_LIMIT);
            let mut element = json!({
                "type": "plain_text_input",
                "action_id": field.key,
                "multiline": field.multiline,
                "max_length": max_length,
            });
            if let Some(value) = field.value.as_deref().filter(|v| !v.is_empty()) {
                element["initial_value"] = json!(value.chars().take(max_length).collect::<String>());
            }
            json!({
                "type": "input",
                "block_id": field.key,
                "optional": !field.required,
                "label": { "type": "plain_text", "text": cut(&field.label, LABEL_LIMIT) },
                "hint": { "type": "plain_text", "text": cut(&field.question, LABEL_LIMIT) },
                "element": element,
            })
        })
        .collect();
    json!({
        "type": "modal",
        "callback_id": form.kind.encode(),
        "title": { "type": "plain_text", "text": cut(&form.title, MODAL_TITLE_LIMIT) },
        "submit": { "type": "plain_text", "text": "Save" },
        "close": { "type": "plain_text", "text": "Cancel" },
        "private_metadata": private_metadata,
        "blocks": blocks,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use commands::{ButtonAction, FormField, FormKind};

    #[test]
    fn user_text_is_escaped_and_only_real_mentions_ping() {
        let message = Message::new()
            .line(Line::new().bold("<!channel> & <https://evil|click>").text(" by ").user("U123ABC"))
            .line(Line::new().text("in ").channel("C0987", "inc-1-db").text(" cc ").user("<!here>"));
        let text = mrkdwn(&message);
        assert_eq!(
            text,
            "*&lt;!channel&gt; &amp; &lt;https://evil|click&gt;* by <@U123ABC>\nin <#C0987> cc @&lt;!here&gt;"
        );
        assert!(!fallback_text(&message).contains("<!"));
    }

    #[test]
    fn adjacent_bold_spans_render_as_one_valid_bold() {
        let kickoff = Message::new().line(Line::new().text("🚨 ").bold("INC-1: ").bold("Checkout is down"));
        assert_eq!(mrkdwn(&kickoff), "🚨 *INC-1: Checkout is down*");
        assert_eq!(blocks(&kickoff)[0]["text"]["text"], "🚨 *INC-1: Checkout is down*");
        let cases = [
            // Spaces at the edges move outside the markers, which must touch text.
            (Line::new().bold("INC-1: ").text("resolved"), "*INC-1:* resolved"),
            (Line::new().text("by").bold(" @bob "), "by *@bob* "),
            (Line::new().bold("a\u{a0}").bold("\u{2003}b"), "*a\u{a0}\u{2003}b*"),
            (Line::new().bold("  ").text("x"), "  x"),
            // mrkdwn has no escape for `*`: inside bold it becomes a look-alike.
            (Line::new().bold("2*3 = 6"), "*2∗3 = 6*"),
            (Line::new().bold("*"), "*∗*"),
            // Spans apart are bold apart; user text inside is still escaped.
            (Line::new().bold("a").text(" & ").bold("<b>"), "*a* &amp; *&lt;b&gt;*"),
        ];
        for (line, expected) in cases {
            assert_eq!(mrkdwn(&Message::new().line(line.clone())), expected, "{line:?}");
        }
    }

    #[test]
    fn buttons_carry_encoded_actions() {
        let message = Message::plain("hi").button("Acknowledge", ButtonAction::Acknowledge { incident: 3 }, true);
        let blocks = blocks(&message);
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[1]["elements"][0]["action_id"], "ack:3");
        assert_eq!(blocks[1]["elements"][0]["style"], "primary");
    }

    #[test]
    fn long_messages_split_into_sections_within_limits() {
        let mut message = Message::new();
        for _ in 0..100 {
            message = message.line(Line::new().text("x".repeat(100)));
        }
        let blocks = blocks(&message);
        assert!(blocks.len() >= 4);
        for block in blocks {
            assert!(block["text"]["text"].as_str().unwrap().chars().count() <= SECTION_TEXT_LIMIT);
        }
    }

    #[test]
    fn modal_prefills_and_keeps_limits() {
        let form = Form {
            kind: FormKind::Postmortem { incident: 7 },
            title: "Postmortem INC-7 of a very long name".into(),
            fields: vec![FormField {
                key: "summary",
                label: "Summary".into(),
                question: "What happened?".into(),
                value: Some("Already written".into()),
                multiline: true,
                required: false,
                max_len: 4000,
            }],
        };
        let view = modal(&form, "{}");
        assert_eq!(view["callback_id"], "postmortem:7");
        assert!(view["title"]["text"].as_str().unwrap().chars().count() <= MODAL_TITLE_LIMIT);
        assert_eq!(view["blocks"][0]["block_id"], "summary");
        assert_eq!(view["blocks"][0]["element"]["initial_value"], "Already written");
        assert_eq!(view["blocks"][0]["element"]["max_length"], 3000);
        assert_eq!(view["blocks"][0]["optional"], true);
    }
}
