//! Timeline capture: human messages in incident channels, their edits and deletions,
//! and pins or ⭐/📌 reactions that make them key events. Every event is keyed by the
//! platform's source id, so a repeated delivery is stored once.

use chrono::{DateTime, Utc};
use storage::{ChannelId, EntryKind, NewEntry, Saved, SourceId};

use crate::core::Core;
use crate::error::CoreError;
use crate::format;

/// Slack's own limit on a message; anything longer is cut.
pub const MAX_MESSAGE: usize = 40_000;

/// A human message seen in a channel.
#[derive(Debug, Clone)]
pub struct ChatMessage {
    /// The platform's unique id for this message (Slack `ts`, Discord id, console line).
    pub source_id: SourceId,
    pub channel_id: ChannelId,
    pub author: String,
    pub text: String,
    pub at: DateTime<Utc>,
}

/// What happened to an ingested message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingested {
    Stored,
    /// Its source id was stored before; nothing changed.
    Duplicate,
    /// Not an incident channel; nothing stored.
    Ignored,
}

/// `text` cleaned (see [`crate::text`]) and cut to [`MAX_MESSAGE`] characters as
/// [`format::truncate`] cuts it, without a copy when it is clean and fits (no more bytes
/// than the limit means no more characters either).
fn capped(text: String) -> String {
    let text = crate::text::clean_owned(text, true);
    if text.len() <= MAX_MESSAGE || text.chars().count() <= MAX_MESSAGE {
        return text;
    }
    format::truncate(&text, MAX_MESSAGE).0
}

/// Whether a reaction marks a key event: 📌 or ⭐, by emoji or by Slack's name.
pub fn is_key_reaction(emoji: &str) -> bool {
    matches!(emoji.trim_matches(':'), "📌" | "⭐" | "🌟" | "pushpin" | "star" | "star2")
}

impl Core {
    /// Stores a message posted in an incident channel.
    pub async fn message_posted(&self, message: &ChatMessage) -> Result<Ingested, CoreError> {
        let ChatMessage { source_id, channel_id, author, text, at } = message;
        self.store_posted(channel_id, *at, source_id.clone(), author.clone(), text.clone()).await
    }

    /// [`Core::message_posted`] for a message the caller no longer needs: its strings
    /// become the entry's without being copied.
    pub async fn message_posted_owned(&self, message: ChatMessage) -> Result<Ingested, CoreError> {
        let ChatMessage { source_id, channel_id, author, text, at } = message;
        self.store_posted(&channel_id, at, source_id, author, text).await
    }

    async fn store_posted(
        &self,
        channel_id: &ChannelId,
        at: DateTime<Utc>,
        source_id: SourceId,
        author: String,
        text: String,
    ) -> Result<Ingested, CoreError> {
        let Some(incident) = self.channel_incident(channel_id).await? else {
            return Ok(Ingested::Ignored);
        };
        let acknowledges =
            crate::lifecycle::is_other_responder(&incident.declared_by, &author) && !incident.ack_settled;
        let entry = NewEntry {
            incident_id: incident.id,
            source_id,
            at,
            kind: EntryKind::Message,
            author,
            text: capped(text),
            is_key: false,
        };
        Ok(match self.db.add_entry(&entry, acknowledges).await? {
            Saved::Written => {
                // The update either acknowledged the incident, found it acknowledged, or
                // found it closed to acknowledgement; only a message from before the
                // declaration (a backfill) leaves it open for a later one.
                if acknowledges && at >= incident.declared_at {
                    self.settle_ack(channel_id);
                }
                Ingested::Stored
            }
            _ => Ingested::Duplicate,
        })
    }

    /// Records an edit. Returns false when the message is not in any timeline.
    pub async fn message_edited(&self, source_id: &SourceId, text: &str, at: DateTime<Utc>) -> Result<bool, CoreError> {
        Ok(self.db.edit_entry(source_id, &format::truncate(&crate::text::clean(text, true), MAX_MESSAGE).0, at).await?)
    }

    /// Records a deletion; the entry stays, marked deleted.
    pub async fn message_deleted(&self, source_id: &SourceId, at: DateTime<Utc>) -> Result<bool, CoreError> {
        Ok(self.db.delete_entry(source_id, at).await?)
    }

    /// Marks a message as a key event (it was pinned).
    pub async fn mark_key(&self, source_id: &SourceId) -> Result<bool, CoreError> {
        Ok(self.db.mark_key(source_id).await?)
    }

    /// Marks a message as a key event when the reaction is 📌 or ⭐; other reactions
    /// are ignored. Returns true when an entry was marked.
    pub async fn reaction_added(&self, source_id: &SourceId, emoji: &str) -> Result<bool, CoreError> {
        if !is_key_reaction(emoji) {
            return Ok(false);
        }
        self.mark_key(source_id).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_like_truncate_and_short_ones_kept() {
        for text in ["", "short", &"é".repeat(MAX_MESSAGE), &"é".repeat(MAX_MESSAGE + 1), &"x".repeat(MAX_MESSAGE + 5)]
        {
            assert_eq!(
                capped(text.to_string()),
                format::truncate(text, MAX_MESSAGE).0,
                "{} chars",
                text.chars().count()
            );
        }
    }

    #[test]
    fn key_reactions() {
        for emoji in ["📌", "⭐", "pushpin", ":star:", "star"] {
            assert!(is_key_reaction(emoji), "{emoji}");
        }
        assert!(!is_key_reaction("👍"));
        assert!(!is_key_reaction("thumbsup"));
    }
}
