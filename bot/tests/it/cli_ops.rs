//! `incidentbot check` and `incidentbot backup`, and the start-up refusal of a
//! database written by a newer release, through the real binary.

use crate::process_support::incidentbot;

fn text(output: &std::process::Output) -> (String, String) {
    (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn check_lists_platforms_schedules_in_the_zone_and_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bot.toml");
    std::fs::write(&config, "timezone = \"Europe/Berlin\"\n[schedules]\nreminders = \"0 9 * * 1-5\"\n").unwrap();
    let db = dir.path().join("bot.db");
    let output = incidentbot()
        .args(["check", "--now", "2026-03-27T12:00:00Z"])
        .env("INCIDENTBOT_CONFIG", &config)
        .env("DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("DISCORD_TOKEN", "some-token")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("slack: off"), "{stdout}");
    assert!(stdout.contains("discord: would run (global commands)"), "{stdout}");
    // Friday noon, then the weekend, then Berlin's switch to summer time on Sunday 29 March.
    assert!(
        stdout.contains(
            "reminders `0 9 * * 1-5`: Mon 2026-03-30 09:00 CEST, Tue 2026-03-31 09:00 CEST, Wed 2026-04-01 09:00 CEST"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("digest `0 9 * * 1`: Mon 2026-03-30 09:00 CEST"), "{stdout}");
    assert!(stdout.contains(&format!("database: {} (does not exist yet", db.display())), "{stdout}");
    assert!(stdout.contains("sqlite: 3."), "{stdout}");
    assert!(!db.exists(), "check must not create the database");
}

#[test]
fn check_fails_on_bad_config_and_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bot.toml");
    std::fs::write(&config, "[schedules]\ndigest = \"0 25 * * 1\"\n").unwrap();
    let output = incidentbot().arg("check").env("INCIDENTBOT_CONFIG", &config).output().unwrap();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stderr.contains("`schedules.digest`"), "{stderr}");

    let output = incidentbot().arg("check").env("SLACK_BOT_TOKEN", "x").output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output).1.contains("SLACK_SIGNING_SECRET"));

    let missing_folder = dir.path().join("nowhere/bot.db");
    let output = incidentbot()
        .arg("check")
        .env("DATABASE_URL", format!("sqlite://{}", missing_folder.display()))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output).1.contains("does not exist"), "{}", text(&output).1);
}

#[test]
fn backup_writes_a_verified_copy_and_refuses_a_missing_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let script = dir.path().join("s.txt");
    std::fs::write(&script, "/incident declare sev2 Payments down\n@bob: looking\n").unwrap();
    let console = incidentbot().args(["console", "--script"]).arg(&script).arg("--db").arg(&db).output().unwrap();
    assert!(console.status.success(), "{:?}", text(&console));
    let url = format!("sqlite://{}", db.display());

    let target = dir.path().join("backup.db");
    let output = incidentbot().arg("backup").arg(&target).env("DATABASE_URL", &url).output().unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("integrity ok"), "{stdout}");
    // The copy is a full database: the incident exports from it.
    let export = incidentbot()
        .args(["export", "1", "--format", "json"])
        .env("DATABASE_URL", format!("sqlite://{}", target.display()))
        .output()
        .unwrap();
    assert!(export.status.success(), "{:?}", text(&export));
    assert!(text(&export).0.contains("Payments down"));

    let output = incidentbot()
        .arg("backup")
        .arg(dir.path().join("other.db"))
        .env("DATABASE_URL", format!("sqlite://{}", dir.path().join("absent.db").display()))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output).1.contains("nothing to back up"), "{:?}", text(&output));
    assert!(!dir.path().join("absent.db").exists());

    let output = incidentbot()
        .arg("backup")
        .arg(dir.path().join("no/such/dir/b.db"))
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output).1.contains("does not exist"), "{:?}", text(&output));
}

#[tokio::test]
async fn serve_refuses_a_database_from_a_newer_release() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("future.db").display());
    let db = storage::Db::connect(&url).await.unwrap();
    db.close().await;
    // A release from the future recorded a migration this binary does not have.
    storage::testing::record_migration(&url, 29991231000000).await.unwrap();
    let output = incidentbot().arg("serve").env("DATABASE_URL", &url).env("PORT", "0").output().unwrap();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("written by a newer incidentbot"), "{stderr}");
    assert!(stderr.contains("29991231000000"), "{stderr}");
}

/// `sslmode` is sqlx's own: `check` shows what the server saw (TLS or not), and a
/// certificate that nothing the bot trusts signed is refused under `verify-full`.
#[tokio::test]
async fn check_on_postgres_says_whether_the_connection_is_encrypted() {
    let Some(database) = storage::test_database::TestDatabase::postgres().await else { return };
    let with = |mode: &str| format!("{}?sslmode={mode}", database.url);
    let check = |url: String| {
        let output = incidentbot().arg("check").env("DATABASE_URL", url).output().unwrap();
        let (stdout, stderr) = text(&output);
        (output.status.success(), stdout, stderr)
    };

    let (ok, stdout, stderr) = check(with("disable"));
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("not encrypted: add `?sslmode=require`"), "{stdout}");

    let (ok, stdout, stderr) = check(with("require"));
    if !ok && std::env::var("CI").is_err() && stderr.contains("TLS") {
        eprintln!("postgres TLS test skipped: the server at TEST_POSTGRES_URL has no TLS (set ssl = on)");
        return;
    }
    assert!(ok, "the CI server runs TLS (.ci/setup.d/10-postgres.sh turns it on): {stdout}{stderr}");
    assert!(stdout.contains("encrypted with TLSv1."), "{stdout}");
    assert!(!stdout.contains("not encrypted"), "{stdout}");

    // `sslrootcert` is honoured (and needs the process's crypto provider, which a build
    // with two of them once could not pick: a panic). The test server's certificate is
    // self-signed, so it is its own root; CI's is Debian's snakeoil one.
    if let Some(root) = std::env::var("TEST_POSTGRES_CA").ok().filter(|p| std::path::Path::new(p).exists()) {
        let (ok, stdout, stderr) = check(format!("{}?sslmode=verify-ca&sslrootcert={root}", database.url));
        assert!(ok, "{stdout}{stderr}");
        assert!(stdout.contains("encrypted with TLSv1."), "{stdout}");
    } else if std::env::var("CI").is_ok() {
        panic!("CI=true but TEST_POSTGRES_CA names no file: .ci/setup.d/10-postgres.sh exports it");
    }

    // No public root vouches for the test server's certificate.
    let (ok, stdout, stderr) = check(with("verify-full"));
    assert!(!ok, "a certificate no trusted root signed was accepted: {stdout}");
    assert!(stderr.contains("DATABASE_URL") || stderr.contains("certificate"), "{stderr}");
    assert!(!stderr.contains("incidentbot_test:incidentbot_test"), "the password is printed: {stderr}");
}
