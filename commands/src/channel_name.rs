//! Incident channel names: `<prefix>-<id>-<slug>`, at most 80 characters (Slack's limit).

/// Slack's and our maximum channel-name length.
pub const MAX_CHANNEL_NAME: usize = 80;

/// The channel name for incident `id` titled `title`.
///
/// The slug is the title transliterated to ASCII ("Paiement échoué" reads
/// `paiement-echoue`, "Ошибка" `oshibka`), lowercased, with every run of characters
/// other than letters and digits turned into one `-`, trimmed of `-` at both ends.
pub fn channel_name(prefix: &str, id: i64, title: &str) -> String {
    let mut slug = String::new();
    for c in deunicode::deunicode(title).chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let head = format!("{prefix}-{id}");
    let room = MAX_CHANNEL_NAME.saturating_sub(head.len() + 1);
    // The slug is ASCII, so slicing at `room` is on a character boundary.
    let slug = slug.trim_matches('-');
    let slug = slug[..slug.len().min(room)].trim_end_matches('-');
    if slug.is_empty() {
        head
    } else {
        format!("{head}-{slug}")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn slug_lowercases_and_collapses_runs() {
        assert_eq!(channel_name("inc", 42, "Database  down!! (EU)"), "inc-42-database-down-eu");
        assert_eq!(channel_name("inc", 1, "Ünïcode — café"), "inc-1-unicode-cafe");
        assert_eq!(channel_name("inc", 2, "Paiement échoué"), "inc-2-paiement-echoue");
        assert_eq!(channel_name("inc", 3, "Ошибка оплаты"), "inc-3-oshibka-oplaty");
        assert_eq!(channel_name("inc", 4, "🔥🔥"), "inc-4-fire-fire");
        assert_eq!(channel_name("inc", 7, "!!!"), "inc-7");
    }

    #[test]
    fn name_is_capped_at_80_characters() {
        let name = channel_name("incident", 123456, &"very long title ".repeat(20));
        assert!(name.len() <= MAX_CHANNEL_NAME, "{name}");
        assert!(name.starts_with("incident-123456-very-long"));
        assert!(!name.ends_with('-'));
    }
}
