//! The Discord permissions the bot asks for, and the OAuth2 invite URL that grants them.
//! The install guide shows the same integer; a test keeps the two honest.

use serenity::all::Permissions;

/// Exactly what the bot needs, and nothing more:
/// - View Channel, Read Message History: see incident channels and backfill them;
/// - Send Messages, Embed Links: post (long replies go in an embed);
/// - Manage Channels: create, rename and set the topic of incident channels;
/// - Manage Messages: pin the kick-off post;
/// - Create Public Threads: the thread-per-incident mode;
/// - Manage Roles: private incidents, whose channels hide from `@everyone` and open to
///   each invited member through permission overwrites;
/// - Create Private Threads: private incidents in the thread-per-incident mode.
pub fn required() -> Permissions {
    Permissions::VIEW_CHANNEL
        | Permissions::SEND_MESSAGES
        | Permissions::MANAGE_CHANNELS
        | Permissions::MANAGE_MESSAGES
        | Permissions::READ_MESSAGE_HISTORY
        | Permissions::EMBED_LINKS
        | Permissions::CREATE_PUBLIC_THREADS
        | Permissions::MANAGE_ROLES
        | Permissions::CREATE_PRIVATE_THREADS
}

/// The invite URL for an application: the `bot` and `applications.commands` scopes with
/// [`required`] permissions.
pub fn invite_url(application_id: u64) -> String {
    format!(
        "https://discord.com/oauth2/authorize?client_id={application_id}&scope=bot%20applications.commands&permissions={}",
        required().bits()
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_permission_integer_is_the_sum_of_its_bits() {
        let view_channel = 1u64 << 10; // 1024
        let send_messages = 1u64 << 11; // 2048
        let manage_channels = 1u64 << 4; // 16
        let manage_messages = 1u64 << 13; // 8192
        let read_message_history = 1u64 << 16; // 65536
        let embed_links = 1u64 << 14; // 16384
        let create_public_threads = 1u64 << 35; // 34359738368
        let manage_roles = 1u64 << 28; // 268435456
        let create_private_threads = 1u64 << 36; // 68719476736
        let sum = manage_roles
            + create_private_threads
            + view_channel
            + send_messages
            + manage_channels
            + manage_messages
            + read_message_history
            + embed_links
            + create_public_threads;
        assert_eq!(sum, 103_347_743_760);
        assert_eq!(required().bits(), sum);
        assert_eq!(
            invite_url(123),
            "https://discord.com/oauth2/authorize?client_id=123&scope=bot%20applications.commands&permissions=103347743760"
        );
    }
}
