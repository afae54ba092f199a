//! The renderers against their platforms' limits tables, as a property: any message,
//! form or topic the core could hand over, full of hostile text (maximum lengths,
//! markup characters, `& < >`, mention syntax, emoji, up to 70 lines), renders only to
//! payloads within the table, shows everything it was given, and pre-fills a form
//! only with whole values.

use bot::discord::{limits as discord_limits, render as discord};
use bot::slack::{limits as slack_limits, render as slack};
use bot::text_units::len;
use commands::{Button, ButtonAction, Form, FormField, FormKind, Line, Message, Span};
use proptest::prelude::*;
use serde_json::Value;

use crate::slack_fidelity::{message_problems, view_problems};

/// Pieces of hostile text; long runs reach the maximum lengths quickly.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("&".to_string()),
        Just("<".to_string()),
        Just(">".to_string()),
        Just("*".to_string()),
        Just("_".to_string()),
        Just("~".to_string()),
        Just("`".to_string()),
        Just("\\".to_string()),
        Just("|".to_string()),
        Just("#".to_string()),
        Just("-".to_string()),
        Just(" ".to_string()),
        Just("@everyone".to_string()),
        Just("<!channel>".to_string()),
        Just("<@U0BOB>".to_string()),
        Just("👩‍💻".to_string()),
        Just("é\u{a0}".to_string()),
        Just("שלום".to_string()),
        Just("word".to_string()),
        (1usize..1500).prop_map(|n| "x".repeat(n)),
        (1usize..700).prop_map(|n| "&<".repeat(n)),
        (1usize..500).prop_map(|n| "😀 ".repeat(n)),
    ]
}

fn text(max_pieces: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..max_pieces).prop_map(|pieces| pieces.concat())
}

fn span() -> impl Strategy<Value = Span> {
    prop_oneof![
        4 => text(12).prop_map(Span::Text),
        2 => text(4).prop_map(Span::Bold),
        1 => text(3).prop_map(Span::Code),
        1 => prop_oneof![Just("U0ALICE".to_string()), Just("80351110224678912".to_string()), text(2)].prop_map(Span::User),
        1 => (prop_oneof![Just("C0INC1".to_string()), Just("1100".to_string())], text(2))
            .prop_map(|(id, name)| Span::Channel { id: id.into(), name }),
    ]
}

fn button() -> impl Strategy<Value = Button> {
    (text(3), 1i64..i64::MAX, any::<bool>()).prop_map(|(label, id, primary)| Button {
        label,
        action: ButtonAction::Snooze { item: id, days: 365 },
        primary,
    })
}

fn message() -> impl Strategy<Value = Message> {
    (
        prop::collection::vec(prop::collection::vec(span(), 0..6).prop_map(Line), 0..70),
        prop::collection::vec(button(), 0..30),
    )
        .prop_map(|(lines, buttons)| Message { lines, buttons })
}

fn form() -> impl Strategy<Value = Form> {
    let field =
        (text(8), text(3), any::<bool>(), 1usize..5000).prop_map(|(value, label, multiline, max_len)| FormField {
            key: "field",
            label,
            question: "What happened, and why does it matter?".into(),
            value: Some(value),
            multiline,
            required: false,
            max_len,
        });
    (prop::collection::vec(field, 1..11), text(3)).prop_map(|(fields, title)| Form {
        kind: FormKind::PostmortemAll { incident: i64::MAX },
        title,
        fields,
        tags: None,
    })
}

/// The text without whitespace and markers, so a bold split over two runs (`*a* *b*`)
/// compares equal to the whole (`*ab*`); user text's own markers are escaped or
/// swapped for look-alikes, so this drops only the renderer's. Backslashes go too: a
/// piece that starts a new message may begin with `#` or `>`, which Discord reads as a
/// heading or a quote only at the start of a line, so the renderer escapes it there
/// and not in the middle of the whole. The escape adds a character and loses none.
fn squeeze(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace() && !matches!(c, '*' | '`' | '\\')).collect()
}

fn str_len(value: &Value) -> usize {
    len(value.as_str().unwrap_or_default())
}

/// Problems of one Discord message against its table.
fn discord_problems(message: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if str_len(&message["content"]) > discord_limits::CONTENT {
        problems.push(format!("content of {}", str_len(&message["content"])));
    }
    let embeds = message["embeds"].as_array().cloned().unwrap_or_default();
    if embeds.len() > discord_limits::EMBEDS_PER_MESSAGE {
        problems.push(format!("{} embeds", embeds.len()));
    }
    let mut total = 0;
    for embed in &embeds {
        let n = str_len(&embed["description"]) + str_len(&embed["title"]);
        total += n;
        if str_len(&embed["description"]) > discord_limits::EMBED_DESCRIPTION {
            problems.push(format!("description of {n}"));
        }
    }
    if total > discord_limits::EMBEDS_TOTAL {
        problems.push(format!("{total} characters of embeds"));
    }
    let rows = message["components"].as_array().cloned().unwrap_or_default();
    if rows.len() > discord_limits::ACTION_ROWS {
        problems.push(format!("{} rows", rows.len()));
    }
    for row in &rows {
        let buttons = row["components"].as_array().cloned().unwrap_or_default();
        if buttons.len() > discord_limits::BUTTONS_PER_ROW {
            problems.push(format!("{} buttons in a row", buttons.len()));
        }
        for button in &buttons {
            if str_len(&button["label"]) > discord_limits::BUTTON_LABEL
                || str_len(&button["custom_id"]) > discord_limits::CUSTOM_ID
            {
                problems.push(format!("button {button}"));
            }
        }
    }
    if message["content"].as_str().unwrap_or_default().trim().is_empty() && embeds.is_empty() && rows.is_empty() {
        problems.push("an empty message".into());
    }
    problems
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn slack_messages_stay_within_the_table_and_lose_nothing(message in message()) {
        let bodies = slack::post_bodies("C0INC1", &message);
        let mut shown = String::new();
        for body in &bodies {
            let problems = message_problems(body);
            prop_assert!(problems.is_empty(), "{:?}", problems);
            for block in body["blocks"].as_array().unwrap() {
                if block["type"] == "section" {
                    shown.push_str(block["text"]["text"].as_str().unwrap());
                }
            }
        }
        prop_assert_eq!(squeeze(&shown), squeeze(&slack::mrkdwn(&message)));
        let buttons: usize = bodies.iter().flat_map(|b| b["blocks"].as_array().unwrap().iter())
            .filter(|b| b["type"] == "actions").map(|b| b["elements"].as_array().unwrap().len()).sum();
        prop_assert_eq!(buttons, message.buttons.len());
    }

    #[test]
    fn discord_messages_stay_within_the_table_and_lose_nothing(message in message()) {
        let parts = discord::render_all(&message);
        let mut shown = String::new();
        let mut buttons = 0;
        for part in parts {
            let json = serde_json::to_value(part.create_message()).unwrap();
            let problems = discord_problems(&json);
            prop_assert!(problems.is_empty(), "{:?}", problems);
            if part_is_text(&json) {
                shown.push_str(json["content"].as_str().unwrap_or_default());
            }
            for embed in json["embeds"].as_array().cloned().unwrap_or_default() {
                shown.push_str(embed["description"].as_str().unwrap_or_default());
            }
            buttons += json["components"].as_array().map_or(0, |rows| rows.iter().map(|r| r["components"].as_array().unwrap().len()).sum());
        }
        prop_assert_eq!(squeeze(&shown), squeeze(&discord::markdown(&message)));
        prop_assert_eq!(buttons, message.buttons.len());
    }

    #[test]
    fn forms_stay_within_the_table_and_never_shorten_a_value(form in form()) {
        let view = slack::modal(&form, "{}");
        let problems = view_problems(&view);
        prop_assert!(problems.is_empty(), "{:?}", problems);
        let inputs: Vec<&Value> = view["blocks"].as_array().unwrap().iter().filter(|b| b["type"] == "input").collect();
        let kept: Vec<&FormField> = form.fields.iter().filter(|f| len(f.value.as_deref().unwrap_or_default()) <= slack_limits::PLAIN_TEXT_INPUT_MAX).collect();
        prop_assert_eq!(inputs.len(), kept.len());
        for (input, field) in inputs.iter().zip(&kept) {
            let value = field.value.as_deref().unwrap_or_default();
            prop_assert_eq!(input["element"]["initial_value"].as_str().unwrap_or_default(), value);
        }
        for part in 1..=discord::modal_count(&form) {
            let modal = serde_json::to_value(discord::form_modal(&form, part).unwrap()).unwrap();
            prop_assert!(str_len(&modal["title"]) <= discord_limits::MODAL_TITLE);
            let rows = modal["components"].as_array().unwrap();
            prop_assert!(rows.len() <= discord_limits::MODAL_INPUTS);
            for row in rows {
                let input = &row["components"][0];
                let value = input["value"].as_str().unwrap_or_default();
                prop_assert!(str_len(&input["label"]) <= discord_limits::INPUT_LABEL);
                prop_assert!(str_len(&input["placeholder"]) <= discord_limits::INPUT_PLACEHOLDER);
                prop_assert!(len(value) <= input["max_length"].as_u64().unwrap() as usize);
                prop_assert!(input["max_length"].as_u64().unwrap() as usize <= discord_limits::INPUT_VALUE);
                prop_assert!(form.fields.iter().any(|f| f.value.as_deref() == Some(value)), "a value was shortened");
            }
        }
    }

    #[test]
    fn topics_stay_within_the_table(line in prop::collection::vec(span(), 0..8).prop_map(Line)) {
        let topic = slack::topic(&line, &|_| Some("Alice".to_string()));
        prop_assert!(len(&topic) <= slack_limits::TOPIC);
        prop_assert!(!topic.contains("<!") && !topic.contains("<@"));
        prop_assert!(len(&discord::line_within(&line, discord_limits::TOPIC)) <= discord_limits::TOPIC);
    }
}

fn part_is_text(json: &Value) -> bool {
    json["content"].as_str().is_some_and(|c| c != "…")
}
