//! Hygiene for user text before the core stores or echoes it: control characters,
//! terminal escape sequences and bidi overrides are removed, and text must show at
//! least one visible character. Every handler that takes free text runs it through
//! [`clean`]; the checks here are char-aware, never byte-indexed.

/// Bidi embedding, override and isolate controls. A lone one reorders everything after
/// it ("Trojan source"); plain left-to-right and right-to-left marks are kept.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that take no space and show nothing on their own. They are kept inside
/// text (a zero-width joiner builds emoji sequences) but do not count as visible.
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || is_bidi_control(c)
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2060}'..='\u{2064}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

/// Whether `text` shows at least one visible character.
pub fn has_visible(text: &str) -> bool {
    text.chars().any(|c| !is_invisible(c))
}

/// Whether [`clean`] would change `text`; lets hot paths skip the copy.
fn needs_cleaning(text: &str, keep_newlines: bool) -> bool {
    text.chars().any(|c| dropped(c, keep_newlines))
}

fn dropped(c: char, keep_newlines: bool) -> bool {
    if keep_newlines && matches!(c, '\n' | '\t') {
        return false;
    }
    (c.is_control() && c != ' ') || is_bidi_control(c)
}

/// [`clean`] for text the caller owns: returned as it is, without a copy, when there is
/// nothing to remove (the common case on the timeline's hot path).
pub fn clean_owned(text: String, keep_newlines: bool) -> String {
    if needs_cleaning(&text, keep_newlines) {
        clean(&text, keep_newlines)
    } else {
        text
    }
}

/// `text` without terminal escape sequences, control characters (line breaks and tabs
/// survive when `keep_newlines`) and bidi overrides. A CSI sequence such as `ESC[2J`
/// goes whole, so no stray `[2J` is left behind.
pub fn clean(text: &str, keep_newlines: bool) -> String {
    if !needs_cleaning(text, keep_newlines) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ params… final: parameters and intermediates are 0x20–0x3F, the
            // final byte is 0x40–0x7E. ESC followed by one other character is a
            // two-character escape; drop both.
            match chars.peek() {
                Some('[') => {
                    chars.next();
                    while let Some(&next) = chars.peek() {
                        if ('\u{20}'..='\u{3F}').contains(&next) {
                            chars.next();
                        } else {
                            if ('\u{40}'..='\u{7E}').contains(&next) {
                                chars.next();
                            }
                            break;
                        }
                    }
                }
                Some(next) if !next.is_control() => {
                    chars.next();
                }
                _ => {}
            }
            continue;
        }
        if c == '\r' && keep_newlines {
            // A CRLF keeps its LF; a lone CR becomes a line break.
            if chars.peek() != Some(&'\n') {
                out.push('\n');
            }
            continue;
        }
        if dropped(c, keep_newlines) {
            // A dropped line break or tab still separates words.
            if c.is_whitespace() && !out.ends_with(' ') {
                out.push(' ');
            }
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_controls_go_whole() {
        assert_eq!(clean("esc\u{1b}[2J", false), "esc");
        assert_eq!(clean("a\u{1b}[1;31mred\u{1b}[0m b", false), "ared b");
        assert_eq!(clean("bell\u{7}s", false), "bells");
        assert_eq!(clean("a\u{202E}evil\u{2066}x", false), "aevilx");
        assert_eq!(clean("line\nbreak", false), "line break");
        assert_eq!(clean("line\r\nbreak\rthere", true), "line\nbreak\nthere");
    }

    #[test]
    fn multibyte_text_is_untouched() {
        for text in ["Paiement échoué", "👩‍💻 on call", "שלום עולם", "a\u{00A0}b", "e\u{301}"] {
            assert_eq!(clean(text, true), text);
        }
    }

    #[test]
    fn visible_needs_more_than_zero_width_characters() {
        assert!(!has_visible("\u{200B}\u{200D}\u{FEFF}"));
        assert!(!has_visible(" \u{00A0}\u{3000} "));
        assert!(has_visible("\u{200B}x"));
        assert!(has_visible("👍"));
    }
}
