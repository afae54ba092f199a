//! Slack's documented limits on what the bot sends, in one table. The renderer reads
//! these, and the payload tests check every payload against them.
//!
//! Lengths are counted in UTF-16 code units ([`len`]): that is never less than the
//! count of characters the documentation speaks of, so a payload within these bounds
//! is within Slack's whichever way Slack counts.

/// Blocks in one message.
/// <https://docs.slack.dev/reference/block-kit/blocks> ("up to 50 blocks in each message").
pub const BLOCKS_PER_MESSAGE: usize = 50;
/// Blocks in one modal view. <https://docs.slack.dev/reference/block-kit/blocks>
pub const BLOCKS_PER_VIEW: usize = 100;
/// The text of a section block.
/// <https://docs.slack.dev/reference/block-kit/blocks/section-block>
pub const SECTION_TEXT: usize = 3000;
/// The text of a header block.
/// <https://docs.slack.dev/reference/block-kit/blocks/header-block>
pub const HEADER_TEXT: usize = 150;
/// Elements in an actions block.
/// <https://docs.slack.dev/reference/block-kit/blocks/actions-block>
pub const ACTIONS_ELEMENTS: usize = 25;
/// A button's text, `action_id` and `value`.
/// <https://docs.slack.dev/reference/block-kit/block-elements/button-element>
pub const BUTTON_TEXT: usize = 75;
pub const ACTION_ID: usize = 255;
pub const BUTTON_VALUE: usize = 2000;
/// A block's `block_id`. <https://docs.slack.dev/reference/block-kit/blocks>
pub const BLOCK_ID: usize = 255;
/// A modal's title, submit and close texts, `callback_id` and `private_metadata`.
/// <https://docs.slack.dev/reference/views/modal-views>
pub const MODAL_TITLE: usize = 24;
pub const MODAL_BUTTON: usize = 24;
pub const CALLBACK_ID: usize = 255;
pub const PRIVATE_METADATA: usize = 3000;
/// An input block's label and hint.
/// <https://docs.slack.dev/reference/block-kit/blocks/input-block>
pub const INPUT_LABEL: usize = 2000;
pub const INPUT_HINT: usize = 2000;
/// The most a plain-text input can hold (its `max_length` and `initial_value`).
/// <https://docs.slack.dev/reference/block-kit/block-elements/plain-text-input-element>
pub const PLAIN_TEXT_INPUT_MAX: usize = 3000;
/// A message's top-level `text`: Slack truncates past 40,000; we keep the
/// notification text far shorter. <https://docs.slack.dev/reference/methods/chat.postMessage>
pub const MESSAGE_TEXT: usize = 3000;
/// All the text in one message's blocks together. Not in the reference, but
/// `chat.postMessage` answers `msg_blocks_too_long` past about 13,000 characters
/// (slackapi/bolt-js#2509), so a message stays well below.
pub const MESSAGE_BLOCKS_TEXT: usize = 12_000;
/// A channel topic. <https://docs.slack.dev/reference/methods/conversations.setTopic>
/// ("too_long: Topic was longer than 250 characters"); it takes no formatting.
pub const TOPIC: usize = 250;
/// A channel name. <https://docs.slack.dev/reference/methods/conversations.create>
pub const CHANNEL_NAME: usize = 80;
/// How many times one `response_url` may be used.
/// <https://docs.slack.dev/interactivity/handling-user-interaction#message_responses>
pub const RESPONSE_URL_USES: usize = 5;

/// A text's length as the limits above count it.
pub fn len(text: &str) -> usize {
    crate::text_units::len(text)
}

pub use crate::text_units::fit;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn lengths_count_utf16_and_fit_cuts_on_characters() {
        assert_eq!(len("a😀"), 3);
        assert_eq!(fit("abc", 3), "abc");
        assert_eq!(fit("abcd", 3), "ab…");
        let emoji = "😀".repeat(10);
        let fitted = fit(&emoji, 5);
        assert!(len(&fitted) <= 5, "{fitted}");
        assert_eq!(fitted, "😀😀…");
    }
}
