//! `incidentbot migrate-db` through the real binary: a history played in the console is
//! copied from SQLite to a fresh Postgres database and back, and every incident exports
//! the very same JSON; a non-empty target is refused, and a copy that fails half-way
//! leaves the target empty, so running it again works.

use std::path::Path;

use storage::test_database::TestDatabase;

use crate::process_support::incidentbot;

fn text(output: &std::process::Output) -> (String, String) {
    (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// A history of three incidents in a SQLite file, played in the console.
fn history(dir: &Path) -> String {
    let script = dir.join("history.txt");
    let mut lines =
        std::fs::read_to_string(format!("{}/../tests/scripts/full_incident.txt", env!("CARGO_MANIFEST_DIR"))).unwrap();
    lines.push_str(
        "#general\n/incident declare sev3 Ünïcode 👩‍💻 title\n@bob: مرحبا\n#general\n/incident declare sev4 Third one\n",
    );
    std::fs::write(&script, lines).unwrap();
    let db = dir.join("a.db");
    let output = incidentbot()
        .args(["console", "--now", "2026-03-02T09:00:00Z", "--script"])
        .arg(&script)
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert!(output.status.success(), "{:?}", text(&output));
    format!("sqlite://{}", db.display())
}

fn migrate(from: &str, to: &str) -> std::process::Output {
    incidentbot().args(["migrate-db", "--from", from, "--to", to]).env_remove("DATABASE_URL").output().unwrap()
}

fn export(url: &str, id: i64) -> String {
    let output = incidentbot().args(["export", &id.to_string(), "--format", "json"]).env("DATABASE_URL", url).output();
    let output = output.unwrap();
    assert!(output.status.success(), "{url} {id}: {:?}", text(&output));
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn a_history_moved_to_postgres_and_back_exports_exactly_the_same() {
    let Some(target) = TestDatabase::postgres().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let source = history(dir.path());
    let copied = migrate(&source, &target.url);
    let (stdout, stderr) = text(&copied);
    assert!(copied.status.success(), "{stdout}{stderr}");
    assert!(stderr.contains("timeline_entries: ") && stderr.contains("verifying incidents"), "{stderr}");
    assert!(stdout.contains("every table's count and checksum match the source"), "{stdout}");
    assert!(!stdout.contains("incidentbot_test:incidentbot_test"), "the password leaked: {stdout}");
    let back = format!("sqlite://{}", dir.path().join("back.db").display());
    let returned = migrate(&target.url, &back);
    assert!(returned.status.success(), "{:?}", text(&returned));
    for id in 1..=3 {
        let original = export(&source, id);
        assert_eq!(export(&target.url, id), original, "INC-{id} on Postgres");
        assert_eq!(export(&back, id), original, "INC-{id} back on SQLite");
    }
    // Both copies print the same checksums as the source.
    assert_eq!(String::from_utf8_lossy(&returned.stdout).lines().next(), stdout.lines().next());

    // A target with rows is refused, and left as it was.
    let again = migrate(&source, &target.url);
    let (_, stderr) = text(&again);
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr.contains("the target is not empty: `incidents` has 3 row(s)"), "{stderr}");
}

#[tokio::test]
async fn a_copy_that_fails_half_way_leaves_nothing_and_can_run_again() {
    let Some(target) = TestDatabase::postgres().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let source = history(dir.path());
    // Migrate the target, then make it refuse the first action item, after the incidents
    // and the timeline are already written in the copy's transaction.
    let db = storage::Db::connect(&target.url).await.unwrap();
    db.close().await;
    let admin = std::process::Command::new("psql")
        .arg(&target.url)
        .args(["-v", "ON_ERROR_STOP=1", "-qc"])
        .arg(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$;
             CREATE TRIGGER refuse BEFORE INSERT ON action_items FOR EACH ROW EXECUTE FUNCTION refuse();",
        )
        .output()
        .expect("psql, which comes with PostgreSQL");
    assert!(admin.status.success(), "{:?}", text(&admin));
    let failed = migrate(&source, &target.url);
    let (_, stderr) = text(&failed);
    assert_eq!(failed.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("disk full") && stderr.contains("the target was left as it was"), "{stderr}");
    let count = std::process::Command::new("psql")
        .arg(&target.url)
        .args(["-Atc", "SELECT (SELECT count(*) FROM incidents) + (SELECT count(*) FROM timeline_entries)"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&count.stdout).trim(), "0", "half a copy was kept");
    let fixed = std::process::Command::new("psql")
        .arg(&target.url)
        .args(["-qc", "DROP TRIGGER refuse ON action_items"])
        .output()
        .unwrap();
    assert!(fixed.status.success());
    let again = migrate(&source, &target.url);
    assert!(again.status.success(), "{:?}", text(&again));
    assert_eq!(export(&target.url, 1), export(&source, 1));
}

#[test]
fn the_same_database_twice_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("a.db").display());
    let output = migrate(&url, &url);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.contains("name the same database"), "{stderr}");
}
