//! Turning the core's platform-neutral replies into Discord's shapes: a [`Message`]
//! becomes one or more Discord messages (markdown content when it fits, else embeds)
//! plus button components; a [`Form`] becomes one or more modals of at most five inputs;
//! a [`TagPicker`] becomes a multi-select menu (modals hold only text inputs).
//!
//! User text (Text, Bold and Code spans) is escaped so it cannot format, quote or
//! mention; only User and Channel spans become real mentions. Every outgoing message
//! also carries `allowed_mentions` with nothing allowed, which is what really stops a
//! ping: the escaping only keeps the text looking like what was typed.
//!
//! Nothing said is cut: lines are written as [`text_units`] and split between them,
//! across embeds and messages, within the table of Discord's [`limits`]. A form never
//! shortens stored text: a field longer than an input holds is left out of the modal.

use ::commands::{Form, FormKind, Line, Message, Span, TagPicker};
use serenity::all::{
    ButtonStyle, CreateActionRow, CreateAllowedMentions, CreateButton, CreateEmbed, CreateInputText,
    CreateInteractionResponseFollowup, CreateInteractionResponseMessage, CreateMessage, CreateModal, CreateSelectMenu,
    CreateSelectMenuKind, CreateSelectMenuOption, EditInteractionResponse, EditMessage, InputTextStyle,
};

use super::limits;
use crate::text_units::{self, Unit};

/// Discord's limit on a message's `content`.
pub const MAX_CONTENT: usize = limits::CONTENT;
/// Discord's limit on inputs per modal.
pub const INPUTS_PER_MODAL: usize = limits::MODAL_INPUTS;

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

/// The message's buttons.
fn buttons(message: &Message) -> Vec<CreateButton> {
    message
        .buttons
        .iter()
        .map(|button| {
            CreateButton::new(cut(&button.action.encode(), limits::CUSTOM_ID))
                .label(cut(&button.label, limits::BUTTON_LABEL))
                .style(if button.primary { ButtonStyle::Primary } else { ButtonStyle::Secondary })
        })
        .collect()
}

/// Renders a core message as Discord messages, in order: markdown content when the
/// whole fits in one, else embed descriptions of at most [`limits::EMBED_DESCRIPTION`],
/// one embed per message (so within [`limits::EMBEDS_TOTAL`]). The buttons go on the
/// last, at most [`limits::ACTION_ROWS`] rows per message. Nothing is left out.
pub fn render_all(message: &Message) -> Vec<Rendered> {
    let pieces = line_pieces(message, limits::EMBED_DESCRIPTION);
    let whole = pieces.join("\n");
    // Discord refuses a message whose text is blank and that carries nothing else
    // ("Cannot send an empty message"), so blank text makes no part of its own.
    let mut parts: Vec<Rendered> = if whole.trim().is_empty() {
        Vec::new()
    } else if text_units::len(&whole) <= limits::CONTENT {
        vec![Rendered { content: whole, embed: None, components: Vec::new() }]
    } else {
        text_units::pack(pieces, limits::EMBED_DESCRIPTION)
            .into_iter()
            .map(|text| Rendered {
                content: String::new(),
                embed: Some(CreateEmbed::new().description(text)),
                components: Vec::new(),
            })
            .collect()
    };
    let rows = button_rows(buttons(message));
    for (n, rows) in rows.chunks(limits::ACTION_ROWS).enumerate() {
        match parts.last_mut() {
            Some(last) if n == 0 => last.components = rows.to_vec(),
            _ => parts.push(Rendered { content: "…".into(), embed: None, components: rows.to_vec() }),
        }
    }
    parts
}

/// The first part of [`render_all`], for a reply that is one message; callers that
/// may get a long message send the rest after it.
pub fn render(message: &Message) -> Rendered {
    let mut parts = render_all(message);
    if parts.is_empty() {
        return Rendered { content: String::new(), embed: None, components: Vec::new() };
    }
    parts.swap_remove(0)
}

/// The incident's contributing-factor tags as a multi-select menu: every tag of the
/// vocabulary (Discord shows at most 25), the current ones selected. Choosing none
/// clears them.
pub fn tag_select(picker: &TagPicker) -> CreateActionRow {
    let options: Vec<CreateSelectMenuOption> = picker
        .options
        .iter()
        .take(MAX_SELECT_OPTIONS)
        .map(|(tag, description)| {
            CreateSelectMenuOption::new(cut(tag, 100), tag.clone())
                .description(cut(description, 100))
                .default_selection(picker.selected.contains(tag))
        })
        .collect();
    let count = u8::try_from(options.len()).unwrap_or(25);
    let menu = CreateSelectMenu::new(picker.encode(), CreateSelectMenuKind::String { options })
        .placeholder("Tag the contributing factors")
        .min_values(0)
        .max_values(count.max(1));
    CreateActionRow::SelectMenu(menu)
}

/// Discord's limit on a select menu's options.
const MAX_SELECT_OPTIONS: usize = 25;

/// Groups buttons into action rows of at most five.
pub fn button_rows(buttons: Vec<CreateButton>) -> Vec<CreateActionRow> {
    buttons.chunks(limits::BUTTONS_PER_ROW).map(|row| CreateActionRow::Buttons(row.to_vec())).collect()
}

/// The "Continue postmortem" button shown after the first half of a postmortem is saved.
pub fn continue_postmortem_button(kind: FormKind, part: usize) -> CreateActionRow {
    CreateActionRow::Buttons(vec![CreateButton::new(format!("{CONTINUE_POSTMORTEM_PREFIX}{part}:{}", kind.encode()))
        .label("Continue postmortem")
        .style(ButtonStyle::Primary)])
}

/// One line as Discord markdown units; none longer than `max`.
fn line_units(line: &Line, max: usize) -> Vec<Unit> {
    let mut units = Vec::new();
    // Adjacent bold spans are merged, or `****` would appear between them.
    let mut bold = String::new();
    for span in &line.0 {
        if let Span::Bold(text) = span {
            bold.push_str(text);
            continue;
        }
        units.extend(text_units::wrapped(escaped_units(&std::mem::take(&mut bold)), "**", max));
        match span {
            Span::Text(text) => units.extend(escaped_units(text)),
            Span::Bold(_) => {}
            // A backtick cannot be escaped inside code, so it is swapped for a look-alike.
            Span::Code(text) => {
                let inner: Vec<Unit> =
                    text.chars().map(|c| if c == '`' { "ˋ".to_string() } else { c.to_string() }).collect();
                units.extend(text_units::wrapped(inner, "`", max));
            }
            Span::User(id) if is_snowflake(id) => units.push(user_mention(id)),
            Span::Channel { id, name } if is_snowflake(id.as_str()) => units.push(channel_mention(id.as_str(), name)),
            // Not a Discord id: shown as escaped text, split like any.
            Span::User(name) | Span::Channel { name, .. } => {
                let sign = if matches!(span, Span::User(_)) { '@' } else { '#' };
                units.extend(escaped_units(&format!("{sign}{name}")));
            }
        }
    }
    units.extend(text_units::wrapped(escaped_units(&bold), "**", max));
    units
}

/// A piece that starts with `#` or `-` would become a heading or a list item; a
/// backslash keeps it text.
fn guard_start(piece: String) -> String {
    if piece.starts_with(['#', '-']) {
        format!("\\{piece}")
    } else {
        piece
    }
}

/// Every line as pieces of at most `max`, split between units, each guarded at its
/// start (one character is kept for the guard).
fn line_pieces(message: &Message, max: usize) -> Vec<String> {
    let room = max.saturating_sub(1).max(1);
    let mut pieces = Vec::new();
    for line in &message.lines {
        let split = text_units::split(&line_units(line, room), room);
        if split.is_empty() {
            pieces.push(String::new());
        }
        pieces.extend(split.into_iter().map(guard_start));
    }
    pieces
}

/// The message's lines as Discord markdown, whole.
pub fn markdown(message: &Message) -> String {
    line_pieces(message, usize::MAX).join("\n")
}

/// A line as markdown within `max`, ending in `…` when it had to be cut (between
/// units, never inside an escape): for topics, one line of the bot's own facts.
pub fn line_within(line: &Line, max: usize) -> String {
    let units = line_units(line, max.saturating_sub(1));
    let pieces = text_units::split(&units, max.saturating_sub(1));
    match pieces.len() {
        0 | 1 => guard_start(pieces.concat()),
        _ => {
            let first = text_units::split(&units, max.saturating_sub(2)).into_iter().next().unwrap_or_default();
            format!("{}…", guard_start(first))
        }
    }
}

/// User text as units, one per character: Discord markdown escaped, mention syntax
/// neutralised.
fn escaped_units(text: &str) -> Vec<Unit> {
    let mut units = Vec::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let unit = match c {
            '\\' | '*' | '_' | '~' | '|' | '`' | '>' | '[' | ']' => format!("\\{c}"),
            // `<@123>`, `<@&role>`, `<#channel>` and `</command:id>` are mention syntax;
            // a zero-width space after `<` keeps them as text.
            '<' if matches!(chars.peek(), Some('@' | '#' | '/' | ':')) => "<\u{200B}".to_string(),
            // `@everyone` and `@here`, likewise.
            '@' => {
                let rest: String = chars.clone().take(8).collect();
                if rest.starts_with("everyone") || rest.starts_with("here") {
                    "@\u{200B}".to_string()
                } else {
                    "@".to_string()
                }
            }
            c => c.to_string(),
        };
        units.push(unit);
    }
    units
}

/// Escapes Discord markdown and neutralizes mention syntax in user text.
pub fn escape(text: &str) -> String {
    escaped_units(text).concat()
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

/// At most `max` (UTF-16 code units, as the table counts), ending in `…` when cut:
/// only for the bot's own words, such as labels and choice names.
pub fn cut(text: &str, max: usize) -> String {
    text_units::fit(text, max)
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
        .filter_map(|field| {
            let value = field.value.as_deref().filter(|v| !v.is_empty());
            if value.is_some_and(|v| text_units::len(v) > limits::INPUT_VALUE) {
                // An input would cut it, and saving would overwrite the whole with the
                // cut text: the field stays out of the form and as written.
                return None;
            }
            let style = if field.multiline { InputTextStyle::Paragraph } else { InputTextStyle::Short };
            let fits = |max: usize| value.is_none_or(|v| text_units::len(v) <= max);
            let max = field.max_len.clamp(1, limits::INPUT_VALUE);
            let max = if fits(max) { max } else { limits::INPUT_VALUE };
            let mut input = CreateInputText::new(style, cut(&field.label, limits::INPUT_LABEL), field.key)
                .placeholder(cut(&field.question, limits::INPUT_PLACEHOLDER))
                .required(field.required)
                .max_length(u16::try_from(max).unwrap_or(u16::MAX));
            if let Some(value) = value {
                input = input.value(value);
            }
            Some(CreateActionRow::InputText(input))
        })
        .collect();
    let title = if count > 1 { format!("{} ({part}/{count})", form.title) } else { form.title.clone() };
    Some(CreateModal::new(modal_id(form.kind, part), cut(&title, limits::MODAL_TITLE)).components(inputs))
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
    fn a_message_with_nothing_to_show_is_no_message_and_blank_text_does_not_hold_buttons() {
        assert!(render_all(&Message { lines: Vec::new(), buttons: Vec::new() }).is_empty());
        assert!(render_all(&Message::plain(" ").line(Line::new())).is_empty());
        let buttons_only = Message::plain(" ").button("Acknowledge", ButtonAction::Acknowledge { incident: 3 }, true);
        let parts = render_all(&buttons_only);
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].content, "…");
        assert_eq!(parts[0].components.len(), 1);
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

    #[test]
    fn a_message_longer_than_an_embed_continues_in_the_next_message() {
        // It used to be one embed cut at 4,096 characters.
        let text = "a&b ".repeat(1100);
        let message = Message::plain(&text).button("Acknowledge", ButtonAction::Acknowledge { incident: 3 }, true);
        let parts = render_all(&message);
        assert_eq!(parts.len(), 2);
        let shown: String = parts
            .iter()
            .map(|part| serde_json::to_value(part.clone().create_message()).unwrap())
            .map(|json| json["embeds"][0]["description"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(shown.replace(char::is_whitespace, ""), text.replace(char::is_whitespace, ""));
        assert!(parts[0].components.is_empty());
        assert_eq!(parts[1].components.len(), 1, "the buttons come last");
    }

    #[test]
    fn a_form_leaves_out_a_value_its_input_would_cut() {
        // It used to pre-fill the first 4,000 characters, and saving overwrote the rest.
        let long = "s".repeat(4500);
        let form = Form {
            kind: FormKind::PostmortemAll { incident: 7 },
            title: "Postmortem INC-7".into(),
            fields: vec![field("summary", Some(&long)), field("impact", Some("short"))],
            tags: None,
        };
        let modal = serde_json::to_value(form_modal(&form, 1).unwrap()).unwrap();
        let inputs = modal["components"].as_array().unwrap();
        assert_eq!(inputs.len(), 1);
        assert_eq!(inputs[0]["components"][0]["custom_id"], "impact");
        assert_eq!(inputs[0]["components"][0]["value"], "short");
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
            tags: None,
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
