//! `incidentbot check`: validates the config file and the environment without
//! starting anything, and says what `serve` would run: the platforms, the schedules
//! with their next firings in the configured zone, and the database.

use std::fmt::Write as _;

use anyhow::Context;
use chrono::{DateTime, Utc};
use storage::{Db, Location, StorageError};

use crate::config::Config;
use crate::lease::LeaseSettings;

/// Validates everything `serve` would check at start and describes what it would run.
/// An error is a problem `serve` would refuse to start with.
pub async fn report(config: &Config, now: DateTime<Utc>) -> anyhow::Result<String> {
    let mut out = String::new();
    let tz = config.timezone;
    let lease = LeaseSettings::from_env()?;
    // The same per-platform checks `serve` makes, for every platform, configured or not:
    // a bad value should not wait until someone adds the token.
    for (name, channels) in
        [("slack", &config.file.slack), ("discord", &config.file.discord.channels), ("console", &config.file.console)]
    {
        config.file.settings(channels).with_context(|| format!("{name} settings"))?;
        config.file.followup_settings(channels).with_context(|| format!("{name} follow-ups"))?;
    }
    if config.discord_token.is_some() {
        crate::discord::placement(config)?;
    }
    let config_file = std::env::var("INCIDENTBOT_CONFIG").ok().filter(|v| !v.trim().is_empty());
    let _ = writeln!(out, "configuration is valid");
    let _ = writeln!(out, "config file: {}", config_file.as_deref().unwrap_or("none (defaults)"));
    let _ = writeln!(out, "time zone: {tz}");
    let settings = config.file.settings(&config.file.console)?;
    let names: Vec<&str> = settings.services.services().iter().map(|s| s.name.as_str()).collect();
    let _ = writeln!(
        out,
        "services: {}",
        if names.is_empty() { "none configured ([[services]])".to_string() } else { names.join(", ") }
    );
    let _ = writeln!(out, "contributing-factor tags: {}", settings.factors.factors().len());

    let _ = writeln!(out, "platforms:");
    let slack = config.slack_bot_token.is_some();
    let discord = config.discord_token.is_some();
    if slack {
        let _ = writeln!(out, "  slack: would run (Web API at {})", config.slack_api_url);
    } else {
        let _ = writeln!(out, "  slack: off (SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are not set)");
    }
    if discord {
        let scope = config.discord_guild_id.map_or("global commands".to_string(), |g| format!("guild {g}"));
        let _ = writeln!(out, "  discord: would run ({scope})");
    } else {
        let _ = writeln!(out, "  discord: off (DISCORD_TOKEN is not set)");
    }
    if !slack && !discord {
        let _ =
            writeln!(out, "  warning: no chat platform is configured; serve would answer only /healthz and /metrics");
    }

    let followups = config.file.followup_settings(&config.file.console)?;
    let _ = writeln!(out, "schedules (next three firings, {tz}):");
    for (name, schedule) in [("reminders", &followups.reminders), ("digest", &followups.digest)] {
        let mut firings = Vec::new();
        let mut after = now;
        for _ in 0..3 {
            let Some(next) = schedule.next_after(after) else { break };
            firings.push(next.with_timezone(&tz).format("%a %Y-%m-%d %H:%M %Z").to_string());
            after = next;
        }
        let _ = writeln!(out, "  {name} `{}`: {}", schedule.source(), firings.join(", "));
    }

    let _ = writeln!(out, "database: {}", describe_database(&config.database_url).await?);
    if let Some(unfinished) = unfinished_incidents(&config.database_url).await? {
        out.push_str(&unfinished);
    }
    let version = Db::library_version().await?;
    let _ = writeln!(out, "sqlite: {version} (minimum {})", storage::db::MINIMUM_SQLITE_VERSION);
    let _ = writeln!(out, "http: port {}", config.port);
    let _ = writeln!(
        out,
        "lease: {} ms, renewed every {} ms (one active copy per database)",
        lease.ttl.as_millis(),
        lease.renew_every.as_millis()
    );
    Ok(out)
}

/// Incidents with a side-effect step begun and never finished (or no channel), one a
/// line: what a crash left half-done that the next start resumes. `None` when there is
/// no database yet, or its schema is not current (`serve` migrates it first).
async fn unfinished_incidents(url: &str) -> anyhow::Result<Option<String>> {
    let location = Location::parse(url).context("DATABASE_URL")?;
    // An in-memory SQLite database is gone with the process that made it; a Postgres
    // server has no path and is checked like a file.
    if location.engine() == storage::Engine::Sqlite && location.path().is_none() {
        return Ok(None);
    }
    match Db::inspect_at(&location).await {
        Ok(seen) if seen.pending_migrations == 0 && seen.schema_version.is_some() => {}
        _ => return Ok(None),
    }
    let db = Db::open(&location, storage::OpenMode::ExistingAsIs).await?;
    let unfinished = db.incidents_with_unfinished_steps().await;
    db.close().await;
    let unfinished = unfinished?;
    let mut out = String::new();
    if unfinished.is_empty() {
        let _ = writeln!(out, "unfinished steps: none (every incident has its channel, kick-off and announcement)");
    } else {
        let _ = writeln!(out, "unfinished steps: {} incident(s); `serve` resumes them at start", unfinished.len());
        for incident in unfinished {
            let _ = writeln!(out, "  INC-{}: {}", incident.incident_id, incident.steps.join(", "));
        }
    }
    Ok(Some(out))
}

/// The database's path and state; refuses one `serve` would refuse (an unsupported URL,
/// too new a schema).
async fn describe_database(url: &str) -> anyhow::Result<String> {
    let location = Location::parse(url).context("DATABASE_URL")?;
    if location.engine() == storage::Engine::Postgres {
        let seen = Db::inspect_at(&location).await?;
        let transport = match seen.encryption.as_deref() {
            Some("") | None => "not encrypted: add `?sslmode=require` (or verify-full) to use TLS".to_string(),
            Some(version) => format!("encrypted with {version}"),
        };
        return Ok(format!(
            "{location} (PostgreSQL {}, {transport}; schema {}, {} migration(s) to apply at start)",
            seen.engine_version,
            seen.schema_version.map_or("empty".to_string(), |v| v.to_string()),
            seen.pending_migrations
        ));
    }
    let Some(path) = location.path() else {
        return Ok(format!("{location} (nothing is kept when the bot stops)"));
    };
    match Db::inspect_at(&location).await {
        Ok(seen) => Ok(format!(
            "{} (exists; schema {}, {} migration(s) to apply at start)",
            path.display(),
            seen.schema_version.map_or("empty".to_string(), |v| v.to_string()),
            seen.pending_migrations
        )),
        Err(StorageError::Missing(_)) => {
            let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
            if !folder.is_dir() {
                anyhow::bail!("database {}: the folder {} does not exist", path.display(), folder.display());
            }
            Ok(format!("{} (does not exist yet; created at start)", path.display()))
        }
        Err(error) => Err(error.into()),
    }
}
