//! Discord's documented limits on what the bot sends, in one table. The renderer reads
//! these, and the payload tests check every payload against them. Lengths are counted
//! with [`crate::text_units::len`] (UTF-16 code units, never fewer than characters).

/// A message's `content`. <https://discord.com/developers/docs/resources/message#create-message>
pub const CONTENT: usize = 2000;
/// Embeds per message, and the embed limits.
/// <https://discord.com/developers/docs/resources/message#embed-object-embed-limits>
pub const EMBEDS_PER_MESSAGE: usize = 10;
pub const EMBED_TITLE: usize = 256;
pub const EMBED_DESCRIPTION: usize = 4096;
pub const EMBED_FIELDS: usize = 25;
pub const EMBED_FIELD_NAME: usize = 256;
pub const EMBED_FIELD_VALUE: usize = 1024;
/// All the text of all the embeds of one message together.
pub const EMBEDS_TOTAL: usize = 6000;
/// Action rows per message and buttons per row; a button's label and `custom_id`.
/// <https://discord.com/developers/docs/components/reference#action-row>,
/// <https://discord.com/developers/docs/components/reference#button>
pub const ACTION_ROWS: usize = 5;
pub const BUTTONS_PER_ROW: usize = 5;
pub const BUTTON_LABEL: usize = 80;
pub const CUSTOM_ID: usize = 100;
/// A modal: its title, inputs, an input's label, placeholder and value.
/// <https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object-modal>,
/// <https://discord.com/developers/docs/components/reference#text-input>
pub const MODAL_TITLE: usize = 45;
pub const MODAL_INPUTS: usize = 5;
pub const INPUT_LABEL: usize = 45;
pub const INPUT_PLACEHOLDER: usize = 100;
pub const INPUT_VALUE: usize = 4000;
/// Choices of an option and autocomplete results, and a choice's name.
/// <https://discord.com/developers/docs/interactions/application-commands#application-command-object-application-command-option-choice-structure>
pub const CHOICES: usize = 25;
pub const CHOICE_NAME: usize = 100;
/// A channel's name and topic. <https://discord.com/developers/docs/resources/channel#modify-channel>
pub const CHANNEL_NAME: usize = 100;
pub const TOPIC: usize = 1024;
