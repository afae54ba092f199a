//! Every transcript in the README comes from a script, and this checks that it still
//! does: a newcomer who types what the README shows gets what it shows.
//!
//! A transcript is marked in the README by a comment line right before its fenced
//! block:
//!
//! - `<!-- transcript: console SCRIPT -->`: `console --script SCRIPT --echo --now
//!   2026-03-02T09:00:00Z`;
//! - `<!-- transcript: digest SCRIPT NOW -->`: the script played into a workspace, then
//!   `digest --now NOW`.
//!
//! After a change of wording, `UPDATE_README=1 cargo test -p tests --test it readme::`
//! rewrites the blocks; read the diff before committing it.

use tests::{echo_script, run_script, script};

const MARKER: &str = "<!-- transcript: ";

/// What the marked command prints today.
async fn produce(spec: &str) -> String {
    let words: Vec<&str> = spec.split_whitespace().collect();
    match words.as_slice() {
        ["console", path] => echo_script(&script(file_name(path))).await.unwrap().0,
        ["digest", path, now] => {
            let (_, console) = run_script(&script(file_name(path)), None).await.unwrap();
            let now = now.parse().unwrap();
            let digest = commands::digest::build(console.db(), chrono_tz::Tz::UTC, now, chrono::Duration::days(7))
                .await
                .unwrap();
            format!("{}\n", digest.to_plain())
        }
        _ => panic!("unknown transcript marker `{spec}`"),
    }
}

fn file_name(path: &str) -> &str {
    path.strip_prefix("tests/scripts/").unwrap_or_else(|| panic!("transcripts come from tests/scripts/: {path}"))
}

#[tokio::test]
async fn every_transcript_in_the_readme_is_what_its_script_prints() {
    let path = format!("{}/../README.md", env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(&path).unwrap();
    let mut rewritten = String::new();
    let mut stale = Vec::new();
    let mut found = 0;
    let mut lines = readme.split_inclusive('\n').peekable();
    while let Some(line) = lines.next() {
        rewritten.push_str(line);
        let Some(spec) = line.trim().strip_prefix(MARKER).and_then(|rest| rest.strip_suffix("-->")) else {
            continue;
        };
        found += 1;
        let fence = lines.next().unwrap_or_default();
        assert_eq!(fence.trim(), "```text", "a transcript marker must be followed by a ```text block");
        rewritten.push_str(fence);
        let mut shown = String::new();
        for inner in lines.by_ref() {
            if inner.trim() == "```" {
                break;
            }
            shown.push_str(inner);
        }
        let produced = produce(spec.trim()).await;
        if produced != shown {
            stale.push(format!("`{}`:\n--- README\n{shown}--- now\n{produced}", spec.trim()));
        }
        rewritten.push_str(&produced);
        rewritten.push_str("```\n");
    }
    assert!(found >= 2, "the README's transcripts lost their markers");
    if std::env::var_os("UPDATE_README").is_some() {
        std::fs::write(&path, rewritten).unwrap();
        return;
    }
    assert!(stale.is_empty(), "README transcripts differ from their scripts:\n{}", stale.join("\n"));
}
