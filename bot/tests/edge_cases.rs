//! Edges a user reaches by mistake, through the real binary: a mistyped
//! `DATABASE_URL` for a command that only reads, a `--db` file name with URL
//! characters in it, a database URL of a backend the bot does not run on, and
//! `serve`'s logs when they go to a file rather than a terminal.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod process_support;

use std::path::Path;
use std::time::Duration;

use process_support::{incidentbot, Served};

fn text(output: &std::process::Output) -> (String, String) {
    (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// Every file name in `dir`, sorted.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `text` with every byte that may not stand in a URL path percent-encoded.
fn percent_encode_path(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"/-_.~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[test]
fn read_only_commands_never_create_a_database() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["export", "1", "--format", "markdown"][..], &["digest"], &["backup", "copy.db"]] {
        let output =
            incidentbot().args(args).current_dir(dir.path()).env("DATABASE_URL", "sqlite://typo.db").output().unwrap();
        let (stdout, stderr) = text(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains("no database at typo.db; check DATABASE_URL"), "{args:?}: {stderr}");
        assert!(!stderr.contains("does not exist in"), "{args:?}: {stderr}");
        assert_eq!(files_in(dir.path()), Vec::<String>::new(), "{args:?} left a file behind");
    }
    // `check` only looks, and says what `serve` would do.
    let output = incidentbot().arg("check").current_dir(dir.path()).env("DATABASE_URL", "sqlite://typo.db").output();
    let (stdout, stderr) = text(&output.unwrap());
    assert!(stdout.contains("database: typo.db (does not exist yet; created at start)"), "{stdout}{stderr}");
    assert_eq!(files_in(dir.path()), Vec::<String>::new(), "check left a file behind");
}

#[test]
fn read_only_commands_still_read_an_existing_database() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("s.txt");
    std::fs::write(&script, "/incident declare sev2 Search is slow\n").unwrap();
    let db = dir.path().join("live.db");
    let console = incidentbot().arg("console").arg("--script").arg(&script).arg("--db").arg(&db).output().unwrap();
    assert!(console.status.success(), "{:?}", text(&console));
    let url = format!("sqlite://{}", db.display());
    let export = incidentbot().args(["export", "INC-1"]).env("DATABASE_URL", &url).output().unwrap();
    assert!(export.status.success() && text(&export).0.contains("Search is slow"), "{:?}", text(&export));
    let missing = incidentbot().args(["export", "2"]).env("DATABASE_URL", &url).output().unwrap();
    assert!(text(&missing).1.contains("INC-2 does not exist in"), "{:?}", text(&missing));
    let digest = incidentbot().arg("digest").env("DATABASE_URL", &url).output().unwrap();
    assert!(digest.status.success(), "{:?}", text(&digest));
}

#[test]
fn console_db_takes_any_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let name = "we ird?#%20é.db";
    let db = dir.path().join(name);
    let script = dir.path().join("declare.txt");
    std::fs::write(&script, "/incident declare sev2 Café orders fail\n").unwrap();
    let first = incidentbot().arg("console").arg("--script").arg(&script).arg("--db").arg(&db).output().unwrap();
    let (stdout, stderr) = text(&first);
    assert!(first.status.success(), "{stdout}{stderr}");
    assert!(db.is_file(), "the database is not at {}: {:?}", db.display(), files_in(dir.path()));
    assert!(
        files_in(dir.path()).iter().all(|file| file == "declare.txt" || file.starts_with(name)),
        "a file with a cut name: {:?}",
        files_in(dir.path())
    );

    // A second run finds the first one's incident in the same file.
    let script = dir.path().join("list.txt");
    std::fs::write(&script, "/incident list\n").unwrap();
    let second = incidentbot().arg("console").arg("--script").arg(&script).arg("--db").arg(&db).output().unwrap();
    let (stdout, stderr) = text(&second);
    assert!(second.status.success() && stdout.contains("Café orders fail"), "{stdout}{stderr}");

    // The same file, named in a URL with its special characters percent-encoded.
    let url = format!("sqlite://{}", percent_encode_path(&db.to_string_lossy()));
    let export = incidentbot().args(["export", "1", "--format", "json"]).env("DATABASE_URL", &url).output().unwrap();
    let (stdout, stderr) = text(&export);
    assert!(export.status.success() && stdout.contains("Café orders fail"), "{url}: {stdout}{stderr}");
}

#[test]
fn a_postgres_url_is_refused_clearly_without_echoing_its_password() {
    let dir = tempfile::tempdir().unwrap();
    for url in ["postgres://bot:hunter2@db.internal/incidents", "postgresql://bot:hunter2@db.internal:5432/incidents"] {
        for args in [&["export", "1"][..], &["digest"], &["backup", "copy.db"], &["check"], &["serve"]] {
            let output = incidentbot()
                .args(args)
                .current_dir(dir.path())
                .env("DATABASE_URL", url)
                .env("PORT", "0")
                .output()
                .unwrap();
            let (stdout, stderr) = text(&output);
            assert_eq!(output.status.code(), Some(1), "{args:?} {url}: {stdout}{stderr}");
            assert!(stderr.contains("Postgres is not supported yet; use sqlite://PATH"), "{args:?} {url}: {stderr}");
            assert!(!stderr.contains("folder"), "{args:?} {url}: {stderr}");
            assert!(!stderr.contains("hunter2") && !stdout.contains("hunter2"), "{args:?}: the password leaked");
            assert_eq!(files_in(dir.path()), Vec::<String>::new(), "{args:?} {url} left a file behind");
        }
    }
}

#[test]
fn an_unknown_database_url_names_the_accepted_form() {
    let dir = tempfile::tempdir().unwrap();
    for (url, expected) in [
        ("mysql://bot:hunter2@db/incidents", "`mysql` database URLs are not supported"),
        ("incidentbot.db", "write sqlite://incidentbot.db"),
        ("sqlite://", "names no file"),
    ] {
        for args in [&["digest"][..], &["check"], &["serve"]] {
            let output = incidentbot()
                .args(args)
                .current_dir(dir.path())
                .env("DATABASE_URL", url)
                .env("PORT", "0")
                .output()
                .unwrap();
            let (stdout, stderr) = text(&output);
            assert_eq!(output.status.code(), Some(1), "{args:?} {url}: {stdout}{stderr}");
            assert!(stderr.contains("DATABASE_URL"), "{args:?} {url}: {stderr}");
            assert!(stderr.contains(expected), "{args:?} {url}: {stderr}");
            assert!(stderr.contains("sqlite://PATH"), "{args:?} {url}: {stderr}");
            assert!(!stderr.contains("hunter2"), "{args:?}: the password leaked");
            assert_eq!(files_in(dir.path()), Vec::<String>::new(), "{args:?} {url} left a file behind");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_writes_no_colour_codes_into_a_log_file() {
    let dir = tempfile::tempdir().unwrap();
    let envs = vec![("DATABASE_URL", format!("sqlite://{}", dir.path().join("bot.db").display()))];
    let mut served = Served::start(dir.path(), "serve", &envs);
    served.wait_for_health(Duration::from_secs(30), |_, body| body["role"] == "active").await;
    assert!(served.terminate(Duration::from_secs(30)).success());
    let logs = served.logs();
    assert!(logs.contains("listening"), "{logs}");
    assert!(!logs.contains("\x1b["), "ANSI codes in a log file:\n{logs:?}");
}
