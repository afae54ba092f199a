//! The real binary: a console session written to a file, then exported through
//! `DATABASE_URL`, as a newcomer following the README would do.

use std::process::Command;

fn incidentbot() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_incidentbot"));
    command.env_remove("INCIDENTBOT_CONFIG").env_remove("DATABASE_URL").env("RUST_LOG", "warn");
    command
}

const SCRIPT: &str = "\
/incident declare sev2 Login <!channel> @everyone fails
@bob: 401s from the auth service
:pin
/incident action add Rotate the signing key @bob due:2026-03-20 kind:mitigate
/incident resolve Rolled back the auth deploy
/incident postmortem
All users.
Synthetic login check.
Auth deploy with a bad key.
No canary for auth.
Rolled back the auth deploy.
Fast rollback.
Alert fired late.
Low traffic.
Canary the auth service.
";

#[test]
fn console_then_export_as_json_and_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ws.db");
    let script = dir.path().join("incident.txt");
    std::fs::write(&script, SCRIPT).unwrap();

    let console = incidentbot()
        .args(["console", "--now", "2026-03-02T09:00:00Z", "--script"])
        .arg(&script)
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert!(console.status.success(), "{}", String::from_utf8_lossy(&console.stderr));
    let transcript = String::from_utf8(console.stdout).unwrap();
    assert!(transcript.contains("INC-1 is closed"), "{transcript}");

    let url = format!("sqlite://{}", db.display());
    let json = incidentbot().args(["export", "1", "--format", "json"]).env("DATABASE_URL", &url).output().unwrap();
    assert!(json.status.success(), "{}", String::from_utf8_lossy(&json.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["id"], 1);
    assert_eq!(doc["title"], "Login <!channel> @everyone fails");
    assert_eq!(doc["severity"], "sev2");
    assert_eq!(doc["status"], "closed");
    assert_eq!(doc["channel"], "inc-1-login-channel-everyone-fails");
    assert_eq!(doc["commander"], "you");
    assert_eq!(doc["declared_at"], "2026-03-02T09:00:00Z");
    assert_eq!(doc["resolved_at"], "2026-03-02T09:00:00Z");
    let timeline = doc["timeline"].as_array().unwrap();
    let pinned = timeline.iter().find(|e| e["kind"] == "message").unwrap();
    assert_eq!((pinned["author"].as_str(), pinned["key"].as_bool()), (Some("bob"), Some(true)));
    for kind in ["declared", "action", "resolved", "closed"] {
        assert!(timeline.iter().any(|e| e["kind"] == kind), "no {kind} entry");
    }
    for entry in timeline {
        for key in ["at", "kind", "author", "text", "key"] {
            assert!(entry.get(key).is_some(), "timeline entry lacks {key}");
        }
    }
    let pm = &doc["postmortem"];
    // The empty first answer kept the summary given with `/incident resolve`.
    assert_eq!(pm["summary"], "Rolled back the auth deploy");
    assert_eq!(pm["contributing_factors"], "No canary for auth.");
    assert_eq!(pm["lessons"], "Canary the auth service.");
    for key in ["impact", "detection", "trigger", "resolution", "went_well", "went_wrong", "got_lucky"] {
        assert!(pm[key].is_string(), "postmortem lacks {key}");
    }
    assert_eq!(pm["resolution"], "Rolled back the auth deploy.");
    let item = &doc["action_items"][0];
    assert_eq!(item["id"], 1);
    assert_eq!(item["owner"], "bob");
    assert_eq!(item["due"], "2026-03-20");
    assert_eq!(item["status"], "open");
    assert_eq!(item["kind"], "mitigate");

    let markdown = incidentbot().args(["export", "INC-1"]).env("DATABASE_URL", &url).output().unwrap();
    let md = String::from_utf8(markdown.stdout).unwrap();
    for expected in [
        "# INC-1: Login &lt;!channel&gt; @everyone fails",
        "| Resolved | 2026-03-02 09:00 UTC |",
        "### Where we got lucky\n\nLow traffic.",
        "## Key timeline",
        "<details>",
        "| 1 | Rotate the signing key | @bob | 2026-03-20 | mitigate | medium | open |",
    ] {
        assert!(md.contains(expected), "markdown lacks {expected}\n---\n{md}");
    }
}

#[test]
fn digest_prints_the_week_without_posting() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ws.db");
    let script = dir.path().join("incident.txt");
    std::fs::write(&script, SCRIPT).unwrap();
    let console = incidentbot()
        .args(["console", "--now", "2026-03-02T09:00:00Z", "--script"])
        .arg(&script)
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert!(console.status.success());
    let url = format!("sqlite://{}", db.display());
    let digest = incidentbot()
        .args(["digest", "--since", "7d", "--now", "2026-03-09T09:00:00Z"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(digest.status.success(), "{}", String::from_utf8_lossy(&digest.stderr));
    let text = String::from_utf8(digest.stdout).unwrap();
    for expected in [
        "Weekly lessons learned",
        "INC-1 [sev2] Login <!channel> @everyone fails",
        "Lesson: “Canary the auth service.”",
        "Where we got lucky: “Low traffic.”",
    ] {
        assert!(text.contains(expected), "digest lacks {expected}\n{text}");
    }
    let quiet =
        incidentbot().args(["digest", "--now", "2026-06-01T09:00:00Z"]).env("DATABASE_URL", &url).output().unwrap();
    assert!(String::from_utf8_lossy(&quiet.stdout).contains("A quiet week"));
    let bad = incidentbot().args(["digest", "--since", "forever"]).env("DATABASE_URL", &url).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a number of days"));
}

#[test]
fn export_of_a_missing_incident_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("empty.db").display());
    // A database with no incident 7: read-only commands never create one themselves.
    let made = incidentbot()
        .args(["console", "--script", "/dev/null", "--db"])
        .arg(dir.path().join("empty.db"))
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let out = incidentbot().args(["export", "7", "--format", "json"]).env("DATABASE_URL", &url).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("INC-7 does not exist"));
    let bad = incidentbot().args(["export", "seven"]).env("DATABASE_URL", &url).output().unwrap();
    assert!(String::from_utf8_lossy(&bad.stderr).contains("`seven` is not an incident id"));
}
