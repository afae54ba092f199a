//! Splitting rendered text without breaking it, for every chat renderer. A renderer
//! writes a line as units (one escaped character, a whole bold run, a mention); a piece
//! only ever ends between units, so a cut can never land inside an escape such as
//! `&amp;` or `\*`, or leave a bold unclosed. Lengths are UTF-16 code units, never less
//! than the characters the platforms' documentation counts.

/// A piece of rendered text that is never split.
pub type Unit = String;

/// A text's length in UTF-16 code units.
pub fn len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// `text` whole when it fits in `max`, else cut on a character boundary with `…`.
/// Only for the bot's own words (labels, titles, choice names); user text is split
/// into units and never cut.
pub fn fit(text: &str, max: usize) -> String {
    if len(text) <= max {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 1; // the ellipsis
    for c in text.chars() {
        used += c.len_utf16();
        if used > max {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

fn is_space(unit: &str) -> bool {
    unit.chars().all(char::is_whitespace)
}

/// `units` wrapped in `marker` on both sides, as few runs as fit in `max` each.
/// Whitespace at a run's edges goes outside the markers, which must touch text.
pub fn wrapped(units: Vec<Unit>, marker: &str, max: usize) -> Vec<Unit> {
    let room = max.saturating_sub(2 * len(marker)).max(1);
    let mut out = Vec::new();
    let mut run: Vec<Unit> = Vec::new();
    let mut run_len = 0;
    let flush = |run: &mut Vec<Unit>, out: &mut Vec<Unit>| {
        let start = run.iter().position(|u| !is_space(u));
        let end = run.iter().rposition(|u| !is_space(u));
        if let (Some(start), Some(end)) = (start, end) {
            out.extend(run[..start].iter().cloned());
            out.push(format!("{marker}{}{marker}", run[start..=end].concat()));
            out.extend(run[end + 1..].iter().cloned());
        } else {
            out.append(run);
        }
        run.clear();
    };
    for unit in units {
        let unit_len = len(&unit);
        if run_len + unit_len > room && !run.is_empty() {
            flush(&mut run, &mut out);
            run_len = 0;
        }
        run_len += unit_len;
        run.push(unit);
    }
    flush(&mut run, &mut out);
    out
}

/// How far back a split looks for a space to break at instead of inside a word.
const WORD_BREAK_WINDOW: usize = 200;

/// Packs units into pieces of at most `max` (as [`len`] counts), in order and losing
/// nothing. A piece breaks after a space when one is near the end.
pub fn split(units: &[Unit], max: usize) -> Vec<String> {
    let concat = |units: &[&Unit]| units.iter().map(|u| u.as_str()).collect::<String>();
    let mut pieces = Vec::new();
    let mut current: Vec<&Unit> = Vec::new();
    let mut current_len = 0;
    for unit in units {
        let unit_len = len(unit);
        if current_len + unit_len > max && !current.is_empty() {
            let keep = current
                .iter()
                .rposition(|u| is_space(u))
                .filter(|at| current.len() - at <= WORD_BREAK_WINDOW && *at > 0)
                .map_or(current.len(), |at| at + 1);
            let rest = current.split_off(keep);
            pieces.push(concat(&current));
            current = rest;
            current_len = current.iter().map(|u| len(u)).sum();
            if current_len + unit_len > max && !current.is_empty() {
                pieces.push(concat(&current));
                current.clear();
                current_len = 0;
            }
        }
        current_len += unit_len;
        current.push(unit);
    }
    if !current.is_empty() {
        pieces.push(concat(&current));
    }
    pieces
}

/// Pieces joined into chunks of at most `max`, a newline between pieces of one chunk.
pub fn pack(pieces: impl IntoIterator<Item = String>, max: usize) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut chunk = String::new();
    for piece in pieces {
        if !chunk.is_empty() && len(&chunk) + 1 + len(&piece) > max {
            chunks.push(std::mem::take(&mut chunk));
        }
        if !chunk.is_empty() {
            chunk.push('\n');
        }
        chunk.push_str(&piece);
    }
    if !chunk.is_empty() {
        chunks.push(chunk);
    }
    chunks
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn units(text: &str) -> Vec<Unit> {
        text.chars().map(String::from).collect()
    }

    #[test]
    fn splits_between_units_after_spaces_and_loses_nothing() {
        assert_eq!(split(&units("aaaa bbbb cccc"), 7), vec!["aaaa ", "bbbb ", "cccc"]);
        let escaped: Vec<Unit> = (0..10).map(|_| "&amp;".to_string()).collect();
        assert!(split(&escaped, 12).iter().all(|p| p == "&amp;&amp;"));
        assert_eq!(wrapped(units("abcdefghij"), "*", 6), vec!["*abcd*", "*efgh*", "*ij*"]);
        assert_eq!(wrapped(units(" ab "), "**", 100), vec![" ", "**ab**", " "]);
        assert_eq!(pack(["ab".to_string(), "cd".to_string(), "ef".to_string()], 5), vec!["ab\ncd", "ef"]);
    }
}
