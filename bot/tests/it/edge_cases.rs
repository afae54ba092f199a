//! Edges a user reaches by mistake, through the real binary: a mistyped
//! `DATABASE_URL` for a command that only reads, a `--db` file name with URL
//! characters in it, a database URL of a backend the bot does not run on, and
//! `serve`'s logs when they go to a file rather than a terminal.

use std::path::Path;
use std::time::Duration;

use crate::process_support::{incidentbot, Served};

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
fn an_unreachable_postgres_is_a_clear_error_without_echoing_its_password() {
    let dir = tempfile::tempdir().unwrap();
    // Port 1 on the loopback: nothing listens there, so the connection is refused at once.
    for url in ["postgres://bot:hunter2@127.0.0.1:1/incidents", "postgresql://bot:hunter2@127.0.0.1:1/incidents"] {
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
            assert!(stderr.contains("cannot open database `postgres"), "{args:?} {url}: {stderr}");
            assert!(stderr.contains("bot:***@127.0.0.1:1/incidents"), "{args:?} {url}: {stderr}");
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

/// Checks one line of the Prometheus text format; returns the sample's series
/// (`name{labels}`) and family, or `None` for a comment.
fn parse_exposition_line(line: &str) -> Result<Option<(String, String)>, String> {
    let is_name = |name: &str| {
        let mut chars = name.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    let is_value = |value: &str| matches!(value, "+Inf" | "-Inf" | "NaN") || value.parse::<f64>().is_ok();
    if let Some(rest) = line.strip_prefix("# HELP ") {
        let (name, help) = rest.split_once(' ').ok_or("HELP without text")?;
        return if is_name(name) && !help.trim().is_empty() { Ok(None) } else { Err("bad HELP".into()) };
    }
    if let Some(rest) = line.strip_prefix("# TYPE ") {
        let (name, kind) = rest.split_once(' ').ok_or("TYPE without a type")?;
        let known = matches!(kind, "counter" | "gauge" | "histogram" | "summary" | "untyped");
        return if is_name(name) && known { Ok(None) } else { Err("bad TYPE".into()) };
    }
    if line.starts_with('#') {
        return Err("a comment that is neither HELP nor TYPE".into());
    }
    let (series, value) = line.rsplit_once(' ').ok_or("a sample without a value")?;
    if !is_value(value) {
        return Err(format!("`{value}` is not a sample value"));
    }
    let (name, labels) = match series.split_once('{') {
        None => (series, ""),
        Some((name, rest)) => (name, rest.strip_suffix('}').ok_or("unclosed labels")?),
    };
    if !is_name(name) {
        return Err(format!("`{name}` is not a metric name"));
    }
    let mut rest = labels;
    while !rest.is_empty() {
        let (label, after) = rest.split_once("=\"").ok_or("a label without =\"")?;
        if !is_name(label) || label.starts_with("__") {
            return Err(format!("`{label}` is not a label name"));
        }
        // The value runs to the first `"` not escaped by a backslash.
        let mut escaped = false;
        let end = after
            .char_indices()
            .find(|&(_, c)| {
                let closes = c == '"' && !escaped;
                escaped = c == '\\' && !escaped;
                closes
            })
            .map(|(at, _)| at)
            .ok_or("an unclosed label value")?;
        rest = after[end + 1..].strip_prefix(',').unwrap_or(&after[end + 1..]);
    }
    let family = ["_bucket", "_sum", "_count"].iter().find_map(|suffix| name.strip_suffix(suffix)).unwrap_or(name);
    Ok(Some((series.to_string(), family.to_string())))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_valid_exposition_with_the_series_dashboards_use() {
    let dir = tempfile::tempdir().unwrap();
    let envs = vec![("DATABASE_URL", format!("sqlite://{}", dir.path().join("bot.db").display()))];
    let served = Served::start(dir.path(), "serve", &envs);
    served.wait_for_health(Duration::from_secs(30), |_, body| body["role"] == "active").await;
    let response = reqwest::get(served.url("/metrics")).await.unwrap();
    assert_eq!(response.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    let text = response.text().await.unwrap();
    assert!(text.ends_with('\n'), "{text}");

    let mut series = std::collections::BTreeSet::new();
    let mut typed = std::collections::BTreeSet::new();
    let lines: Vec<&str> = text.lines().collect();
    for (n, line) in lines.iter().enumerate() {
        if *line == "# EOF" {
            assert_eq!(n + 1, lines.len(), "`# EOF` before the end");
            continue;
        }
        match parse_exposition_line(line) {
            Err(problem) => panic!("line {}: {problem}: `{line}`\n{text}", n + 1),
            Ok(None) => {
                if let Some(rest) = line.strip_prefix("# TYPE ") {
                    let name = rest.split(' ').next().unwrap().to_string();
                    assert!(typed.insert(name), "two TYPE lines for one family: `{line}`");
                }
            }
            Ok(Some((sample, family))) => {
                assert!(typed.contains(&family), "`{sample}` comes before its family's TYPE line");
                assert!(series.insert(sample.clone()), "`{sample}` twice");
            }
        }
    }

    // The series (names and labels) a dashboard may query, as the bot has always exported them.
    let mut expected: std::collections::BTreeSet<String> = [
        "incidentbot_open_incidents",
        "incidentbot_timeline_events_ingested_total",
        "incidentbot_reminders_sent_total",
        "incidentbot_reminders_failed_total",
        "incidentbot_active",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    for severity in ["sev1", "sev2", "sev3", "sev4"] {
        expected.insert(format!("incidentbot_incidents_declared_total{{severity=\"{severity}\"}}"));
    }
    for platform in ["slack", "discord"] {
        for name in ["incidentbot_chat_api_errors_total", "incidentbot_chat_api_retries_total"] {
            expected.insert(format!("{name}{{platform=\"{platform}\"}}"));
        }
        let histogram = "incidentbot_slash_command_duration_seconds";
        for le in ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"] {
            expected.insert(format!("{histogram}_bucket{{platform=\"{platform}\",le=\"{le}\"}}"));
        }
        expected.insert(format!("{histogram}_sum{{platform=\"{platform}\"}}"));
        expected.insert(format!("{histogram}_count{{platform=\"{platform}\"}}"));
    }
    assert_eq!(series, expected, "\n{text}");
    let types: Vec<&str> = lines.iter().filter(|l| l.starts_with("# TYPE ")).copied().collect();
    for expected_type in [
        "# TYPE incidentbot_incidents_declared_total counter",
        "# TYPE incidentbot_open_incidents gauge",
        "# TYPE incidentbot_timeline_events_ingested_total counter",
        "# TYPE incidentbot_reminders_sent_total counter",
        "# TYPE incidentbot_reminders_failed_total counter",
        "# TYPE incidentbot_chat_api_errors_total counter",
        "# TYPE incidentbot_chat_api_retries_total counter",
        "# TYPE incidentbot_slash_command_duration_seconds histogram",
        "# TYPE incidentbot_active gauge",
    ] {
        assert!(types.contains(&expected_type), "no `{expected_type}` in\n{text}");
    }
    assert_eq!(types.len(), 9, "{text}");
}
