//! Rendering the core's platform-neutral values for Slack: a [`Message`] becomes one or
//! more Slack messages of Block Kit blocks plus a fallback text, a [`Form`] becomes a
//! modal view, and a topic becomes plain text.
//!
//! Lines are written by [`mrkdwn`], which escapes and neutralises user text. Nothing
//! that was said is cut: a long line is split across sections, sections across
//! messages, each within [`limits`]. A form never shortens what is stored: a field
//! whose stored text is longer than Slack's input can hold is left out of the modal,
//! which says so and where the text can be read whole.

use commands::{Form, Line, Message, Span, TagPicker};
use serde_json::{json, Value};

use super::limits::{self, fit};
use super::mrkdwn;

pub use super::mrkdwn::escape;

/// One Slack message: the blocks and the notification text that go with them.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackMessage {
    pub text: String,
    pub blocks: Vec<Value>,
}

/// The message as Slack mrkdwn, one line per line, unsplit (for tests and logs).
pub fn mrkdwn(message: &Message) -> String {
    let lines: Vec<String> = message.lines.iter().map(mrkdwn::line).collect();
    lines.join("\n")
}

/// The section texts of a message: its lines, a long one split over several sections,
/// short ones sharing a section, each at most [`limits::SECTION_TEXT`].
fn section_texts(message: &Message) -> Vec<String> {
    let mut sections = Vec::new();
    let mut section = String::new();
    for line in &message.lines {
        let units = mrkdwn::line_units(line, limits::SECTION_TEXT);
        let mut pieces = mrkdwn::split(&units, limits::SECTION_TEXT);
        if pieces.is_empty() {
            // A section's text may not be empty or only a newline; keep blank lines visible.
            pieces.push(" ".to_string());
        }
        for piece in pieces {
            if !section.is_empty() && limits::len(&section) + 1 + limits::len(&piece) > limits::SECTION_TEXT {
                sections.push(std::mem::take(&mut section));
            }
            if !section.is_empty() {
                section.push('\n');
            }
            section.push_str(&piece);
        }
    }
    if !section.is_empty() {
        sections.push(section);
    }
    sections
}

fn section(text: String) -> Value {
    json!({ "type": "section", "text": { "type": "mrkdwn", "text": text } })
}

/// The buttons as actions blocks of at most [`limits::ACTIONS_ELEMENTS`] each.
fn actions_blocks(message: &Message) -> Vec<Value> {
    message
        .buttons
        .chunks(limits::ACTIONS_ELEMENTS)
        .map(|row| {
            let elements: Vec<Value> = row
                .iter()
                .map(|button| {
                    let id = button.action.encode();
                    let mut element = json!({
                        "type": "button",
                        "text": { "type": "plain_text", "text": fit(&button.label, limits::BUTTON_TEXT), "emoji": true },
                        "action_id": fit(&id, limits::ACTION_ID),
                        "value": fit(&id, limits::BUTTON_VALUE),
                    });
                    if button.primary {
                        element["style"] = json!("primary");
                    }
                    element
                })
                .collect();
            json!({ "type": "actions", "elements": elements })
        })
        .collect()
}

/// The message as Slack messages, in order. Each holds at most
/// [`limits::BLOCKS_PER_MESSAGE`] blocks and [`limits::MESSAGE_BLOCKS_TEXT`] of text;
/// the buttons come last. Everything in `message` is in one of them.
pub fn render(message: &Message) -> Vec<SlackMessage> {
    let mut parts: Vec<SlackMessage> = Vec::new();
    let mut blocks: Vec<Value> = Vec::new();
    let mut first_text = String::new();
    let mut text_len = 0;
    for text in section_texts(message) {
        let len = limits::len(&text);
        if !blocks.is_empty()
            && (blocks.len() == limits::BLOCKS_PER_MESSAGE || text_len + len > limits::MESSAGE_BLOCKS_TEXT)
        {
            parts.push(SlackMessage { text: std::mem::take(&mut first_text), blocks: std::mem::take(&mut blocks) });
            text_len = 0;
        }
        if blocks.is_empty() {
            // The notification text: the part's first section (already within the limit).
            first_text = text.clone();
        }
        text_len += len;
        blocks.push(section(text));
    }
    for actions in actions_blocks(message) {
        if blocks.len() == limits::BLOCKS_PER_MESSAGE {
            parts.push(SlackMessage { text: std::mem::take(&mut first_text), blocks: std::mem::take(&mut blocks) });
        }
        blocks.push(actions);
    }
    if !blocks.is_empty() || parts.is_empty() {
        parts.push(SlackMessage { text: first_text, blocks });
    }
    for part in &mut parts {
        if part.text.trim().is_empty() {
            let labels: Vec<String> = message.buttons.iter().map(|b| escape(&b.label)).collect();
            part.text = fit(&labels.join(" · "), limits::MESSAGE_TEXT);
        }
    }
    parts
}

/// The notification text of the message's first part.
pub fn fallback_text(message: &Message) -> String {
    render(message).into_iter().next().map(|part| part.text).unwrap_or_default()
}

/// Block Kit blocks of a message that fits in one Slack message (tests).
pub fn blocks(message: &Message) -> Vec<Value> {
    render(message).into_iter().flat_map(|part| part.blocks).collect()
}

/// The bodies of the `chat.postMessage` calls that post `message` to `channel`, in
/// order: blocks, fallback text, no link unfurling, and no `link_names`, so a plain
/// `@channel` in user text stays text.
pub fn post_bodies(channel: &str, message: &Message) -> Vec<Value> {
    render(message)
        .into_iter()
        .map(|part| {
            json!({
                "channel": channel,
                "text": part.text,
                "blocks": part.blocks,
                "unfurl_links": false,
                "unfurl_media": false,
            })
        })
        .collect()
}

/// The bodies of a private reply through a `response_url`, in order.
pub fn ephemeral_bodies(message: &Message) -> Vec<Value> {
    render(message)
        .into_iter()
        .map(|part| {
            json!({
                "response_type": "ephemeral",
                "replace_original": false,
                "text": part.text,
                "blocks": part.blocks,
            })
        })
        .collect()
}

/// A line as plain text for places that take no formatting (topics, modal errors):
/// nothing escaped, users by `name_of` (their display name), and `<!` or `<@` kept
/// from reading as Slack's own syntax by a word joiner, so nothing can ping.
pub fn plain_line(line: &Line, name_of: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    for span in &line.0 {
        match span {
            Span::Text(t) | Span::Bold(t) => out.push_str(t),
            Span::Code(t) => {
                out.push('`');
                out.push_str(t);
                out.push('`');
            }
            Span::User(id) => {
                out.push('@');
                out.push_str(&name_of(id).unwrap_or_else(|| id.clone()));
            }
            Span::Channel { name, .. } => {
                out.push('#');
                out.push_str(name);
            }
        }
    }
    defuse(&out)
}

/// A message as plain text (see [`plain_line`]), one line per line.
pub fn plain(message: &Message, name_of: &dyn Fn(&str) -> Option<String>) -> String {
    let lines: Vec<String> = message.lines.iter().map(|line| plain_line(line, name_of)).collect();
    lines.join("\n")
}

/// Slack's limits on a select option's text and description, and on a menu's options.
const OPTION_TEXT_LIMIT: usize = 75;
const MAX_MENU_OPTIONS: usize = 100;

/// The contributing-factor tags as an optional multi-select input, the incident's
/// current tags chosen. Its answer comes back under [`TagPicker::KEY`].
pub fn tag_block(picker: &TagPicker) -> Value {
    let option = |tag: &str, description: &str| {
        json!({
            "text": { "type": "plain_text", "text": fit(tag, OPTION_TEXT_LIMIT) },
            "description": { "type": "plain_text", "text": fit(description, OPTION_TEXT_LIMIT) },
            "value": tag,
        })
    };
    let options: Vec<Value> =
        picker.options.iter().take(MAX_MENU_OPTIONS).map(|(tag, description)| option(tag, description)).collect();
    let mut element = json!({
        "type": "multi_static_select",
        "action_id": TagPicker::KEY,
        "placeholder": { "type": "plain_text", "text": "Pick the conditions that contributed" },
        "options": options,
    });
    // Slack refuses initial options that are not among the options, word for word.
    let initial: Vec<Value> = picker
        .options
        .iter()
        .take(MAX_MENU_OPTIONS)
        .filter(|(tag, _)| picker.selected.contains(tag))
        .map(|(tag, description)| option(tag, description))
        .collect();
    if !initial.is_empty() {
        element["initial_options"] = json!(initial);
    }
    json!({
        "type": "input",
        "block_id": TagPicker::KEY,
        "optional": true,
        "label": { "type": "plain_text", "text": fit(&picker.label, limits::INPUT_LABEL) },
        "hint": { "type": "plain_text", "text": fit(&picker.help, limits::INPUT_HINT) },
        "element": element,
    })
}

/// `<!channel>`, `<@U1>`, `<#C1>` and `<https://…|link>` typed as text stay text: a
/// word joiner after the `<` keeps Slack from reading them, and shows nothing.
fn defuse(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '<' && chars.peek().is_some_and(|next| !next.is_whitespace()) {
            out.push('\u{2060}');
        }
    }
    out
}

/// The topic for `conversations.setTopic`: plain text (it takes no formatting), within
/// [`limits::TOPIC`].
pub fn topic(line: &Line, name_of: &dyn Fn(&str) -> Option<String>) -> String {
    fit(&plain_line(line, name_of), limits::TOPIC)
}

/// A field left out of a modal because its stored text is longer than an input holds.
fn left_out_notice(label: &str, chars: usize) -> Value {
    let text = format!(
        "*{}* is {chars} characters, more than a Slack form can hold, so it is left out of this form and stays exactly as written. The postmortem document (`/incident postmortem` once it is complete, or `incidentbot export`) shows it whole.",
        mrkdwn::line(&Line::new().text(label))
    );
    json!({ "type": "context", "elements": [{ "type": "mrkdwn", "text": fit(&text, limits::SECTION_TEXT) }] })
}

/// The modal for a form. `private_metadata` travels with the view and comes back with
/// the submission (the channel and where to reply). A field whose stored value does
/// not fit in Slack's input is left out, with a note saying so: an input would have to
/// cut it, and saving the form would then overwrite the whole text with the cut one.
pub fn modal(form: &Form, private_metadata: &str) -> Value {
    let mut blocks: Vec<Value> = Vec::new();
    for field in &form.fields {
        let value = field.value.as_deref().filter(|v| !v.is_empty());
        if let Some(value) = value.filter(|v| limits::len(v) > limits::PLAIN_TEXT_INPUT_MAX) {
            blocks.push(left_out_notice(&field.label, value.chars().count()));
            continue;
        }
        let max_length = field.max_len.clamp(1, limits::PLAIN_TEXT_INPUT_MAX);
        let mut element = json!({
            "type": "plain_text_input",
            "action_id": fit(field.key, limits::ACTION_ID),
            "multiline": field.multiline,
            "max_length": max_length,
        });
        if let Some(value) = value {
            element["initial_value"] = json!(value);
            if limits::len(value) > max_length {
                element["max_length"] = json!(limits::PLAIN_TEXT_INPUT_MAX);
            }
        }
        blocks.push(json!({
            "type": "input",
            "block_id": fit(field.key, limits::BLOCK_ID),
            "optional": !field.required,
            "label": { "type": "plain_text", "text": fit(&field.label, limits::INPUT_LABEL) },
            "hint": { "type": "plain_text", "text": fit(&field.question, limits::INPUT_HINT) },
            "element": element,
        }));
    }
    if let Some(picker) = &form.tags {
        // After the free-text contributing factors, where the two belong together.
        let at = blocks.iter().position(|b| b["block_id"] == "contributing_factors").map_or(blocks.len(), |i| i + 1);
        blocks.insert(at, tag_block(picker));
    }
    json!({
        "type": "modal",
        "callback_id": fit(&form.kind.encode(), limits::CALLBACK_ID),
        "title": { "type": "plain_text", "text": fit(&form.title, limits::MODAL_TITLE) },
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
            assert!(block["text"]["text"].as_str().unwrap().chars().count() <= limits::SECTION_TEXT);
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
            tags: None,
        };
        let view = modal(&form, "{}");
        assert_eq!(view["callback_id"], "postmortem:7");
        assert!(view["title"]["text"].as_str().unwrap().chars().count() <= limits::MODAL_TITLE);
        assert_eq!(view["blocks"][0]["block_id"], "summary");
        assert_eq!(view["blocks"][0]["element"]["initial_value"], "Already written");
        assert_eq!(view["blocks"][0]["element"]["max_length"], 3000);
        assert_eq!(view["blocks"][0]["optional"], true);
    }

    #[test]
    fn the_tag_picker_is_a_multi_select_with_the_current_tags_chosen() {
        let picker = TagPicker {
            incident: 7,
            label: "Contributing-factor tags".into(),
            help: "Why".into(),
            options: vec![("change".into(), "A change".into()), ("capacity".into(), "x".repeat(90))],
            selected: vec!["capacity".into()],
        };
        let block = tag_block(&picker);
        assert_eq!(block["block_id"], TagPicker::KEY);
        assert_eq!(block["element"]["type"], "multi_static_select");
        assert_eq!(block["element"]["options"].as_array().unwrap().len(), 2);
        assert_eq!(block["element"]["initial_options"][0]["value"], "capacity");
        let description = block["element"]["options"][1]["description"]["text"].as_str().unwrap();
        assert!(description.chars().count() <= OPTION_TEXT_LIMIT);
    }
}
