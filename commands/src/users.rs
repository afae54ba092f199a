//! What counts as a user: the one rule every platform follows before a command that
//! names someone (assign, an action item's owner) writes anything or calls the
//! platform. On Slack and Discord a user is a real mention, which arrives as an id;
//! a bare `@bob` is only a name, and inviting or assigning a name would fail on the
//! platform after the change was already announced. The console has no ids: its
//! users are the names typed.

use storage::Platform;

use crate::grammar::UsageError;

/// Whether `id` (what the grammar took from `@…` or `<@…>`) names a user on `platform`.
pub fn is_user(platform: Platform, id: &str) -> bool {
    match platform {
        // Slack user ids: `U` (or `W` on Enterprise Grid), then uppercase letters and digits.
        Platform::Slack => {
            let mut chars = id.chars();
            chars.next().is_some_and(|c| matches!(c, 'U' | 'W'))
                && (2..=32).contains(&id.len())
                && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        }
        // Discord user ids are snowflakes: up to 20 digits.
        Platform::Discord => (1..=20).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit()),
        Platform::Console => true,
    }
}

/// Refuses a user that is not one on `platform`, saying how to name one.
pub fn require_user(platform: Platform, id: &str, usage: &'static str) -> Result<(), UsageError> {
    if is_user(platform, id) {
        return Ok(());
    }
    let how = match platform {
        Platform::Slack => "pick them from Slack's @ list so the command carries a real mention",
        Platform::Discord => "choose them in the command's user option",
        Platform::Console => "mention them as @name",
    };
    Err(UsageError {
        problem: format!(
            "`@{}` is not a {} user: {how}. Nothing was changed.",
            crate::format::truncate(id, 40).0,
            platform_name(platform)
        ),
        usage,
    })
}

fn platform_name(platform: Platform) -> &'static str {
    match platform {
        Platform::Slack => "Slack",
        Platform::Discord => "Discord",
        Platform::Console => "console",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_not_a_user_where_users_are_ids() {
        assert!(is_user(Platform::Slack, "U0ALICE"));
        assert!(is_user(Platform::Slack, "W12AB"));
        assert!(!is_user(Platform::Slack, "bob"));
        assert!(!is_user(Platform::Slack, "Ubob"));
        assert!(is_user(Platform::Discord, "80351110224678912"));
        assert!(!is_user(Platform::Discord, "bob"));
        assert!(is_user(Platform::Console, "bob"));
        let refusal = require_user(Platform::Slack, "bob", "usage").unwrap_err();
        assert!(refusal.problem.starts_with("`@bob` is not a Slack user"), "{}", refusal.problem);
    }
}
