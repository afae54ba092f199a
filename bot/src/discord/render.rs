//! Turning the core's platform-neutral replies into Discord's shapes: a [`Message`]
//! becomes markdown content (or an embed when it is too long for content) plus button
//! components; a [`Form`] becomes one or more modals of at most five inputs.
//!
//! User text (Text, Bold and Code spans) is escaped so it cannot format, quote or
//! mention; only User and Channel spans become real mentions. Every outgoing message
//! also carries `allowed_mentions` with nothing allowed, which is what really stops a
//! ping: the escaping only keeps the text looking like what was typed.

use ::commands::{Form, FormKind, Message, Span};
use serenity::all::{
    ButtonStyle, CreateActionRow, CreateAllowedMentions, CreateButton, CreateEmbed, CreateInputText,
    CreateInteractionResponseFollowup, CreateInteractionResponseMessage, CreateMessage, CreateModal,
    EditInteractionResponse, EditMessage, InputTextStyle,
};

/// Discord's limit on a message's `content`.
pub const MAX_CONTENT: usize = 2000;
/// Discord's limit on an embed's description.
pub const MAX_EMBED: usize = 4096;
/// Discord's limit on inputs per modal.
pub const INPUTS_PER_MODAL: usize = 5;
/// Discord's limit on buttons per action row.
const BUTTONS_PER_ROW: usize = 5;
/// Discord's limits on a modal title, an input label and a placeholder.
const MAX_MODAL_TITLE: usize = 45;
const MAX_LABEL: usize = 45;
const MAX_PLACEHOLDER: usize = 100;
/// Discord's limit on a text input's length.
const MAX_INPUT: usize = 4000;

/// The custom id prefix of the button that opens the next postmortem modal:
/// `pmcontinue:<part>:<form kind>`.
pub const CONTINUE_POSTMORTEM_PREFIX: &str = "pmcontinue:";

/// Mentions of nobody: no users, no roles, no `@everyone`. Sent with every message.
pub fn no_mentions() -> CreateAllowedMentions {
    CreateAllowedMentions::new()
}

/// A message in Discord's terms, ready to go into any of serenity's builders.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub content: String,
    /// Set instead of `content` when the text is longer than a message may be.
    pub embed: Option<CreateEmbed>,
    pub components: Vec<CreateActionRow>,
}

impl Rendered {
    pub fn create_message(self) -> CreateMessage {
        let mut builder = CreateMessage::new().allowed_mentions(no_mentions()).components(self.components);
        if !self.content.is_empty() {
            builder = builder.content(self.content);
        }
        if let Some(embed) = self.embed {
            builder = builder.embed(embed);
        }
        builder
    }

    pub fn edit_message(self) -> EditMessage {
        EditMessage::new()
            .allowed_mentions(no_mentions())
            .content(self.content)
            .embeds(self.embed.into_iter().collect())
            .components(self.components)
    }

    /// An immediate interaction reply; `ephemeral` shows it only to the user who acted.
    pub fn interaction_message(self, ephemeral: bool) -> CreateInteractionResponseMessage {
        let mut builder = CreateInteractionResponseMessage::new()
            .allowed_mentions(no_mentions())
            .ephemeral(ephemeral)
            .components(self.components);
        if !self.content.is_empty() {
            builder = builder.content(self.content);
        }
        if let Some(embed) = self.embed {
            builder = builder.embed(embed);
        }
        builder
    }

    /// The completion of a deferred interaction.
    pub fn edit_response(self) -> EditInteractionResponse {
        EditInteractionResponse::new()
            .allowed_mentions(no_mentions())
            .content(self.content)
            .embeds(self.embed.into_iter().collect())
            .components(self.components)
    }

    /// An extra message after the first reply to an interaction.
    pub fn followup(self, ephemeral: bool) -> CreateInteractionResponseFollowup {
        let mut builder = CreateInteractionResponseFollowup::new()
            .allowed_mentions(no_mentions())
            .ephemeral(ephemeral)
            .components(self.components);
        if !self.content.is_empty() {
            builder = builder.content(self.content);
        }
        if let Some(embed) = self.embed {
            builder = builder.embed(embed);
        }
        builder
    }
}

/// Renders a core message: markdown content, or an embed when it is too long, plus
/// its buttons in rows of five.
pub fn render(message: &Message) -> Rendered {
    let text = markdown(message);
    let (content, embed) = if text.chars().count() <= MAX_CONTENT {
        (text, None)
    } else {
        (String::new(), Some(CreateEmbed::new().description(cut(&text, MAX_EMBED))))
    };
    let buttons: Vec<CreateButton> = message
        .buttons
        .iter()
        .map(|button| {
            CreateButton::new(button.action.encode()).label(cut(&button.label, 80)).style(if button.primary {
                ButtonStyle::Primary
            } else {
                ButtonStyle::Secondary
            })
        })
        .collect();
    Rendered { content, embed, components: button_rows(buttons) }
}

/// Groups buttons into action rows of at most five.
pub fn button_rows(buttons: Vec<CreateButton>) -> Vec<CreateActionRow> {
    buttons.chunks(BUTTONS_PER_ROW).map(|row| CreateActionRow::Buttons(row.to_vec())).collect()
}

/// The "Continue postmortem" button shown after the first half of a postmortem is saved.
pub fn continue_postmortem_button(kind: FormKind, part: usize) -> CreateActionRow {
    CreateActionRow::Buttons(vec![CreateButton::new(format!("{CONTINUE_POSTMORTEM_PREFIX}{part}:{}", kind.encode()))
        .label("Continue postmortem")
        .style(ButtonStyle::Primary)])
}

/// The message's lines as Discord markdown.
pub fn markdown(message: &Message) -> String {
    let mut out = String::new();
    for (n, line) in message.lines.iter().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let mut line_text = String::new();
        // Adjacent bold spans are merged, or `****` would appear between them.
        let mut bold = String::new();
        for span in &line.0 {
            if let Span::Bold(text) = span {
                bold.push_str(text);
                continue;
            }
            flush_bold(&mut line_text, &mut bold);
            match span {
                Span::Text(text) => line_text.push_str(&escape(text)),
                Span::Bold(_) => {}
                Span::Code(text) => line_text.push_str(&code(text)),
                Span::User(id) => line_text.push_str(&user_mention(id)),
                Span::Channel { id, name } => line_text.push_str(&channel_mention(id.as_str(), name)),
            }
        }
        flush_bold(&mut line_text, &mut bold);
        // A line that starts with `#` or `-` would become a heading or a list item.
        if line_text.starts_with('#') || line_text.starts_with('-') {
            out.push('\\');
        }
        out.push_str(&line_text);
    }
    out
}

/// Appends pending bold text as `**…**`, keeping surrounding spaces outside the markers.
fn flush_bold(out: &mut String, bold: &mut String) {
    let text = std::mem::take(bold);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        out.push_str(&text);
        return;
    }
    let leading = text.strip_suffix(text.trim_start()).unwrap_or_default();
    let trailing = text.strip_prefix(text.trim_end()).unwrap_or_default();
    out.push_str(leading);
    out.push_str("**");
    out.push_str(&escape(trimmed));
    out.push_str("**");
    out.push_str(trailing);
}

/// Escapes Discord markdown and neutralizes mention syntax in user text.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' | '*' | '_' | '~' | '|' | '`' | '>' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            // `<@123>`, `<@&role>`, `<#channel>` and `</command:id>` are mention syntax;
            // a zero-width space after `<` keeps them as text.
            '<' if matches!(chars.peek(), Some('@' | '#' | '/' | ':')) => {
                out.push('<');
                out.push('\u{200B}');
            }
            // `@everyone` and `@here`, likewise.
            '@' => {
                out.push('@');
                let rest: String = chars.clone().take(8).collect();
                if rest.starts_with("everyone") || rest.starts_with("here") {
                    out.push('\u{200B}');
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Inline code. A backtick cannot be escaped inside code, so it is swapped for a look-alike.
fn code(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    format!("`{}`", text.replace('`', "ˋ"))
}

fn is_snowflake(id: &str) -> bool {
    !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit())
}

/// A real mention for a Discord user id; anything else is shown as escaped text.
fn user_mention(id: &str) -> String {
    if is_snowflake(id) {
        format!("<@{id}>")
    } else {
        format!("@{}", escape(id))
    }
}

fn channel_mention(id: &str, name: &str) -> String {
    if is_snowflake(id) {
        format!("<#{id}>")
    } else {
        format!("#{}", escape(name))
    }
}

/// At most `max` characters, ending in `…` when cut.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The modal's custom id: which form, and which part of it (from 1).
pub fn modal_id(kind: FormKind, part: usize) -> String {
    format!("modal:{part}:{}", kind.encode())
}

/// The form and part a continue button opens: the inverse of [`continue_postmortem_button`].
pub fn parse_continue_id(id: &str) -> Option<(FormKind, usize)> {
    let (part, kind) = id.strip_prefix(CONTINUE_POSTMORTEM_PREFIX)?.split_once(':')?;
    let part: usize = part.parse().ok().filter(|p| *p >= 1)?;
    Some((FormKind::decode(kind)?, part))
}

/// The inverse of [`modal_id`].
pub fn parse_modal_id(id: &str) -> Option<(FormKind, usize)> {
    let (part, kind) = id.strip_prefix("modal:")?.split_once(':')?;
    let part: usize = part.parse().ok().filter(|p| *p >= 1)?;
    Some((FormKind::decode(kind)?, part))
}

/// How many modals a form needs.
pub fn modal_count(form: &Form) -> usize {
    form.fields.len().div_ceil(INPUTS_PER_MODAL).max(1)
}

/// Part `part` (from 1) of a form as a modal, each input pre-filled with what is
/// already written. `None` when the form has no such part.
pub fn form_modal(form: &Form, part: usize) -> Option<CreateModal> {
    let count = modal_count(form);
    if part == 0 || part > count {
        return None;
    }
    let fields = form.fields.iter().skip((part - 1) * INPUTS_PER_MODAL).take(INPUTS_PER_MODAL);
    let inputs: Vec<CreateActionRow> = fields
        .map(|field| {
            let style = if field.multiline { InputTextStyle::Paragraph } else { InputTextStyle::Short };
            let max = field.max_len.clamp(1, MAX_INPUT);
            let mut input = CreateInputText::new(style, cut(&field.label, MAX_LABEL), field.key)
                .placeholder(cut(&field.question, MAX_PLACEHOLDER))
                .required(field.required)
                .max_length(u16::try_from(max).unwrap_or(u16::MAX));
            if let Some(value) = field.value.as_deref().filter(|v| !v.is_empty()) {
                input = input.value(cut(value, max));
            }
            CreateActionRow::InputText(input)
        })
        .collect();
    let title = if count > 1 { format!("{} ({part}/{count})", form.title) } else { form.title.clone() };
    Some(CreateModal::new(modal_id(form.kind, part), cut(&title, MAX_MODAL_TITLE)).components(inputs))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use ::commands::{ButtonAction, FormField, Line};

    #[test]
    fn user_text_cannot_format_or_mention() {
        let escaped = escape("@everyone **boom** <@123> <@&9> @here_ `x` > q ~~s~~ ||p|| [l](u)");
        assert!(!escaped.contains("@everyone"));
        assert!(!escaped.contains("@here"));
        assert!(!escaped.contains("<@123>"));
        assert!(!escaped.contains("<@&9>"));
        assert!(escaped.contains("\\*\\*boom\\*\\*"));
        assert!(escaped.contains("\\`x\\`"));
        assert!(escaped.contains("\\> q"));
        assert!(escaped.contains("\\|\\|p\\|\\|"));
        assert!(escaped.contains("\\[l\\](u)"));
        assert_eq!(escape("plain words, 3 < 4"), "plain words, 3 < 4");
    }

    #[test]
    fn only_user_and_channel_spans_mention() {
        let message = Message::new()
            .line(Line::new().bold("INC-1: ").bold("@everyone down").text(" led by ").user("80351110224678912"))
            .line(Line::new().text("in ").channel("1100", "inc-1-x").text(" ").code("/incident `note`"))
            .line(Line::new().text("# not a heading"));
        let text = markdown(&message);
        assert_eq!(
            text,
            "**INC-1: @\u{200B}everyone down** led by <@80351110224678912>\nin <#1100> `/incident ˋnoteˋ`\n\\# not a heading"
        );
    }

    #[test]
    fn bold_renders_validly_at_its_edges() {
        let cases = [
            (Line::new().text("🚨 ").bold("INC-1: ").bold("Checkout is down"), "🚨 **INC-1: Checkout is down**"),
            (Line::new().bold("INC-1: ").text("resolved"), "**INC-1:** resolved"),
            (Line::new().text("by").bold(" bob "), "by **bob** "),
            (Line::new().bold("a\u{a0}").bold("\u{2003}b"), "**a\u{a0}\u{2003}b**"),
            (Line::new().bold("  ").text("x"), "  x"),
            (Line::new().bold("2*3 = **6**"), "**2\\*3 = \\*\\*6\\*\\***"),
            (Line::new().bold("a").text(" and ").bold("b"), "**a** and **b**"),
        ];
        for (line, expected) in cases {
            assert_eq!(markdown(&Message::new().line(line.clone())), expected, "{line:?}");
        }
    }

    #[test]
    fn long_messages_move_to_an_embed_and_buttons_keep_their_ids() {
        let long = Message::plain("x".repeat(MAX_CONTENT + 1)).button(
            "Acknowledge",
            ButtonAction::Acknowledge { incident: 3 },
            true,
        );
        let rendered = render(&long);
        assert!(rendered.content.is_empty());
        assert!(rendered.embed.is_some());
        let json = serde_json::to_value(&rendered.components).unwrap();
        assert_eq!(json[0]["components"][0]["custom_id"], "ack:3");
        assert_eq!(json[0]["components"][0]["style"], 1);
    }

    fn field(key: &'static str, value: Option<&str>) -> FormField {
        FormField {
            key,
            label: key.to_string(),
            question: "What?".to_string(),
            value: value.map(str::to_string),
            multiline: true,
            required: false,
            max_len: 3000,
        }
    }

    #[test]
    fn a_ten_field_form_is_two_prefilled_modals() {
        let keys = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
        let form = Form {
            kind: FormKind::Postmortem { incident: 7 },
            title: "Postmortem INC-7".into(),
            fields: keys.iter().map(|k| field(k, (*k == "g").then_some("already"))).collect(),
        };
        assert_eq!(modal_count(&form), 2);
        let second = serde_json::to_value(form_modal(&form, 2).unwrap()).unwrap();
        assert_eq!(second["custom_id"], "modal:2:postmortem:7");
        assert_eq!(second["title"], "Postmortem INC-7 (2/2)");
        let inputs = second["components"].as_array().unwrap();
        assert_eq!(inputs.len(), 5);
        assert_eq!(inputs[0]["components"][0]["custom_id"], "f");
        assert_eq!(inputs[1]["components"][0]["value"], "already");
        assert!(form_modal(&form, 3).is_none());
        assert_eq!(parse_modal_id("modal:2:postmortem:7"), Some((FormKind::Postmortem { incident: 7 }, 2)));
        assert_eq!(parse_modal_id("modal:0:declare"), None);
    }
}
