//! Free text as the core takes it: postmortem answers (cleaned, trimmed, checked for a
//! visible character, then read for blame), titles (cut, and turned into a channel
//! name) and one-line texts. Any string passes through without panicking, and the
//! cleaned text keeps the promises of `commands::text`.
#![no_main]

use commands::{blameless, channel_name, format, text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    for keep_newlines in [true, false] {
        let cleaned = text::clean(raw, keep_newlines);
        // Nothing that `clean` drops survives it, and cleaning twice changes nothing.
        assert!(
            !cleaned.chars().any(|c| {
                (c.is_control() && !(keep_newlines && matches!(c, '\n' | '\t')))
                    || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
            }),
            "{cleaned:?}"
        );
        assert_eq!(text::clean(&cleaned, keep_newlines), cleaned);
        // Cleaning removes characters (and adds only spaces and line breaks), so it
        // never makes invisible text visible.
        assert!(!text::has_visible(&cleaned) || text::has_visible(raw));
    }

    // A postmortem answer, the way `submit_postmortem` reads it.
    let answer = text::clean(raw, true);
    let answer = answer.trim();
    if text::has_visible(answer) {
        let signals = blameless::blame_signals(answer);
        if !signals.is_empty() {
            let _ = blameless::hint("What happened", &signals);
        }
    }
    let _ = blameless::blame_signals(raw);

    // A title: cut with a notice, and made into a channel name.
    for max in [1, 40, 200] {
        let (cut, _) = format::truncate(raw, max);
        assert!(cut.chars().count() <= max);
    }
    let name = channel_name::channel_name("inc", 42, raw);
    assert!(name.is_ascii() && name.len() <= channel_name::MAX_CHANNEL_NAME && name.starts_with("inc-42"), "{name}");
    let _ = format::one_line(&text::clean(raw, false));
});
