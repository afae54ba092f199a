//! End-to-end test support: run console scripts in-process and capture what they print.

use std::io::Write;
use std::sync::{Arc, Mutex};

use bot::console::output::Output;
use bot::console::{Console, ConsoleOptions, Prompting};
use commands::Settings;

/// A `Write` whose bytes can be read back after the console is done.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The settings the console uses by default: announcements in `#incidents`.
pub fn console_settings() -> Settings {
    Settings { announcements_channel: Some("incidents".into()), ..Settings::default() }
}

/// The console's follow-up settings: default schedules in UTC, with the follow-ups
/// and digest channels the console uses.
pub fn console_followups() -> commands::followup::FollowupSettings {
    commands::followup::FollowupSettings {
        followups_channel: Some("follow-ups".into()),
        digest_channel: Some("digest".into()),
        ..commands::followup::FollowupSettings::defaults(chrono_tz::Tz::UTC).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Runs `script` in a console on `database_url` (in memory when `None`), starting the
/// clock at Monday 2026-03-02 09:00 UTC. Returns the transcript and the console.
pub async fn run_script(script: &str, database_url: Option<String>) -> anyhow::Result<(String, Console)> {
    play(script, database_url, Prompting::Quiet).await
}

/// Like [`run_script`] in memory, printing each line after its prompt as a terminal
/// session shows it (`console --script FILE --echo`): the transcripts in the README.
pub async fn echo_script(script: &str) -> anyhow::Result<(String, Console)> {
    play(script, None, Prompting::Echo).await
}

/// Like [`run_script`] in memory, with the `[alerts]` section of the config file
/// `config_toml`; a relative `:alert FILE` is read from `tests/scripts/`.
pub async fn run_script_with_alerts(script: &str, config_toml: &str) -> anyhow::Result<(String, Console)> {
    let alerts = bot::config::FileConfig::parse(config_toml)?.alerts;
    play_with(script, None, Prompting::Quiet, console_settings(), Some(alerts)).await
}

/// Like [`run_script`] in memory, with the settings a config file gives (its console
/// part), as `INCIDENTBOT_CONFIG=FILE incidentbot console` would run.
pub async fn run_script_with_config(script: &str, config: &str) -> anyhow::Result<(String, Console)> {
    let path = format!("{}/scripts/{config}", env!("CARGO_MANIFEST_DIR"));
    let file = bot::config::FileConfig::load(std::path::Path::new(&path))?;
    let settings = file.settings(&file.console)?;
    play_with(script, None, Prompting::Quiet, settings, None).await
}

async fn play(script: &str, database_url: Option<String>, prompting: Prompting) -> anyhow::Result<(String, Console)> {
    play_with(script, database_url, prompting, console_settings(), None).await
}

async fn play_with(
    script: &str,
    database_url: Option<String>,
    prompting: Prompting,
    settings: Settings,
    alerts: Option<bot::alerts::config::AlertsConfig>,
) -> anyhow::Result<(String, Console)> {
    // "In memory" means a fresh database of the suite's engine: SQLite's in-memory one,
    // or a new Postgres database under INCIDENTBOT_TEST_ENGINE=postgres.
    let database_url = match database_url {
        Some(url) => Some(url),
        None => fresh_postgres_database().await,
    };
    let captured = Captured::default();
    let options = ConsoleOptions {
        database_url,
        start: Some("2026-03-02T09:00:00Z".parse()?),
        settings,
        followups: console_followups(),
    };
    let mut console = Console::open(&options, Output::new(Box::new(captured.clone()))).await?;
    if let Some(alerts) = alerts {
        console.set_alerts(&alerts)?;
        console.set_base_dir(format!("{}/scripts", env!("CARGO_MANIFEST_DIR")));
    }
    console.run(script.as_bytes(), prompting).await?;
    Ok((captured.text(), console))
}

/// A fresh Postgres database's URL when the suite runs on Postgres, else `None`. The
/// database lives until the test process ends (the Postgres setup script removes those
/// left over), since the console handed back outlives this call.
async fn fresh_postgres_database() -> Option<String> {
    if storage::test_database::suite_engine() != storage::Engine::Postgres {
        return None;
    }
    let database = storage::test_database::TestDatabase::for_suite().await;
    let url = database.url.clone();
    KEPT.lock().unwrap_or_else(|e| e.into_inner()).push(database);
    Some(url)
}

static KEPT: Mutex<Vec<storage::test_database::TestDatabase>> = Mutex::new(Vec::new());

/// A script from `tests/scripts/`.
pub fn script(name: &str) -> String {
    let path = format!("{}/scripts/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}
