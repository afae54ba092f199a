//! Gateway events that feed the timeline: messages created, edited and deleted in
//! incident channels, 📌/⭐ reactions and pins. Each is keyed by the Discord message id
//! (`discord:<id>`), so a repeated delivery — or a backfill of a message the gateway
//! already delivered — is stored once. Bots, webhooks and system messages are skipped.

use ::commands::{ChatMessage, Core, CoreError, Ingested, SourceId};
use serenity::all::{
    ChannelId, ChannelPinsUpdateEvent, Message, MessageId, MessageType, MessageUpdateEvent, Reaction, ReactionType,
};
use serenity::http::Http;

use super::chat::chat_error;

/// The timeline source id of a Discord message.
pub fn source_id(message: MessageId) -> SourceId {
    SourceId::new(format!("discord:{message}"))
}

/// The Discord message id inside a timeline source id, if it is one of ours.
pub fn message_id_of(source_id: &SourceId) -> Option<MessageId> {
    source_id.as_str().strip_prefix("discord:")?.parse::<u64>().ok().filter(|id| *id != 0).map(MessageId::new)
}

/// Whether a message was written by a person (not a bot, a webhook or Discord itself).
pub fn is_human(message: &Message) -> bool {
    !message.author.bot
        && !message.author.system
        && message.webhook_id.is_none()
        && matches!(message.kind, MessageType::Regular | MessageType::InlineReply)
}

/// What a message says, with its attachments named so a screenshot is not lost.
fn message_text(content: &str, attachments: &[serenity::all::Attachment]) -> String {
    let mut text = content.to_string();
    for attachment in attachments {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&format!("📎 {}", attachment.filename));
    }
    text
}

/// MESSAGE_CREATE (and each message a backfill finds).
pub async fn message_created(core: &Core, message: &Message) -> Result<Ingested, CoreError> {
    if !is_human(message) {
        return Ok(Ingested::Ignored);
    }
    let ingested = core
        .message_posted(&ChatMessage {
            source_id: source_id(message.id),
            channel_id: message.channel_id.to_string().into(),
            author: message.author.id.to_string(),
            text: message_text(&message.content, &message.attachments),
            at: *message.timestamp,
        })
        .await?;
    if ingested == Ingested::Stored {
        crate::metrics::metrics().timeline_event_ingested();
    }
    Ok(ingested)
}

/// MESSAGE_UPDATE. Updates that do not change the text (embeds unfurling) are ignored.
/// Returns whether a timeline entry changed.
pub async fn message_updated(core: &Core, event: &MessageUpdateEvent) -> Result<bool, CoreError> {
    if event.author.as_ref().is_some_and(|author| author.bot) {
        return Ok(false);
    }
    let Some(content) = &event.content else {
        return Ok(false);
    };
    let text = message_text(content, event.attachments.as_deref().unwrap_or_default());
    let at = event.edited_timestamp.map(|t| *t).unwrap_or_else(|| core.now());
    core.message_edited(&source_id(event.id), &text, at).await
}

/// MESSAGE_DELETE: the entry stays, marked deleted.
pub async fn message_deleted(core: &Core, message: MessageId) -> Result<bool, CoreError> {
    core.message_deleted(&source_id(message), core.now()).await
}

/// MESSAGE_REACTION_ADD: 📌 or ⭐ make the message a key event.
pub async fn reaction_added(core: &Core, reaction: &Reaction) -> Result<bool, CoreError> {
    let emoji = match &reaction.emoji {
        ReactionType::Unicode(emoji) => emoji.clone(),
        ReactionType::Custom { name, .. } => name.clone().unwrap_or_default(),
        _ => return Ok(false),
    };
    core.reaction_added(&source_id(reaction.message_id), &emoji).await
}

/// CHANNEL_PINS_UPDATE says only that a channel's pins changed, so the pins of an
/// incident channel are read back and each pinned message is marked key. Returns how
/// many entries were newly found among the pins.
pub async fn pins_updated(http: &Http, core: &Core, event: &ChannelPinsUpdateEvent) -> anyhow::Result<usize> {
    mark_pins(http, core, event.channel_id).await
}

async fn mark_pins(http: &Http, core: &Core, channel: ChannelId) -> anyhow::Result<usize> {
    if !core.is_incident_channel(&channel.to_string().into()).await? {
        return Ok(0);
    }
    let pins = channel.pins(http).await.map_err(|e| chat_error("read pins", &e))?;
    let mut marked = 0;
    for pinned in pins {
        if core.mark_key(&source_id(pinned.id)).await? {
            marked += 1;
        }
    }
    Ok(marked)
}
