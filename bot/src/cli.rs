//! The command line: `serve`, `console`, `export`, `digest`, `check`, `backup`,
//! `web-link` and `migrate-db`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};

use storage::{Db, Location, OpenMode, StorageError};

use crate::config::{Config, FileConfig};
use crate::console::{output::Output, Console, ConsoleOptions, Prompting};

#[derive(Debug, Parser)]
#[command(
    name = "incidentbot",
    version,
    about = "Incident response for Slack, Discord and a local console, on SQLite or Postgres."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: CliCommand,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Markdown,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LinkPlatform {
    Slack,
    Discord,
    Console,
}

impl LinkPlatform {
    fn platform(self) -> storage::Platform {
        match self {
            LinkPlatform::Slack => storage::Platform::Slack,
            LinkPlatform::Discord => storage::Platform::Discord,
            LinkPlatform::Console => storage::Platform::Console,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Run every configured platform, the HTTP server and the scheduler.
    Serve,
    /// A local workspace: play the whole incident flow with no chat account.
    Console {
        /// Read lines from this file instead of stdin.
        #[arg(long, value_name = "FILE")]
        script: Option<PathBuf>,
        /// Keep the workspace in this SQLite file between runs (default: in memory).
        #[arg(long, value_name = "PATH")]
        db: Option<PathBuf>,
        /// Start the clock at this RFC 3339 time instead of now (repeatable scripts).
        #[arg(long, value_name = "TIME")]
        now: Option<DateTime<Utc>>,
        /// Print each script line after its prompt, as a terminal session shows it.
        #[arg(long, requires = "script")]
        echo: bool,
    },
    /// Print the weekly lessons-learned digest without posting it (reads DATABASE_URL).
    Digest {
        /// How far back the digest looks, in days: 7d, 14d, 30d.
        #[arg(long, default_value = "7d", value_parser = parse_days)]
        since: u32,
        /// Build it as of this RFC 3339 time instead of now.
        #[arg(long, value_name = "TIME")]
        now: Option<DateTime<Utc>>,
    },
    /// Print one incident as a Markdown postmortem or as JSON (reads DATABASE_URL).
    Export {
        /// The incident: 42 or INC-42.
        id: String,
        #[arg(long, value_enum, default_value = "markdown")]
        format: ExportFormat,
        /// Export as this platform user: a private incident is exported only for its
        /// participants and admins.
        #[arg(long = "as", value_name = "USER")]
        viewer: Option<String>,
    },
    /// Validate the config and the environment, and print what `serve` would run.
    Check {
        /// List schedule firings after this RFC 3339 time instead of now.
        #[arg(long, value_name = "TIME")]
        now: Option<DateTime<Utc>>,
    },
    /// Print a one-time link that signs `--user` in to the web pages (reads DATABASE_URL).
    /// It works once, for 10 minutes; `/incident web` in chat gives the same.
    WebLink {
        /// The person's chat id (their Slack or Discord user id, or console name).
        #[arg(long)]
        user: String,
        /// Which platform that id belongs to.
        #[arg(long, value_enum, default_value = "console")]
        platform: LinkPlatform,
    },
    /// Write a consistent, verified snapshot of the live database (reads DATABASE_URL).
    /// On Postgres, prints the pg_dump command to use instead.
    Backup {
        /// Where the snapshot goes; an existing file there is replaced only once the new one checks out.
        path: PathBuf,
    },
    /// Copy a whole history into an empty database, e.g. from SQLite to Postgres, and
    /// verify every table's row count and checksum. Stop the bot first.
    MigrateDb {
        /// The database to copy: sqlite://PATH or postgres://…
        #[arg(long, value_name = "URL")]
        from: String,
        /// The empty database to copy into (migrated first): postgres://… or sqlite://PATH.
        #[arg(long, value_name = "URL")]
        to: String,
    },
}

/// `7d` (or `7`) as 7, between 1 and 365 days.
fn parse_days(text: &str) -> Result<u32, String> {
    text.strip_suffix('d')
        .unwrap_or(text)
        .parse::<u32>()
        .ok()
        .filter(|d| (1..=365).contains(d))
        .ok_or_else(|| format!("`{text}` is not a number of days between 1d and 365d"))
}

/// Where `DATABASE_URL` points; a problem with it is named as `DATABASE_URL`'s.
fn database_location(config: &Config) -> anyhow::Result<Location> {
    Location::parse(&config.database_url).context("DATABASE_URL")
}

/// The database `DATABASE_URL` names, for a command that only reads it: a missing file
/// is an error and is never created, so a typo cannot leave an empty database behind.
async fn open_existing(config: &Config, mode: OpenMode) -> anyhow::Result<Db> {
    match Db::open(&database_location(config)?, mode).await {
        Err(StorageError::Missing(path)) => anyhow::bail!("no database at {path}; check DATABASE_URL"),
        result => Ok(result?),
    }
}

/// Parses the command line, runs it, and turns errors into a message and exit code 1.
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::logging::init(matches!(cli.command, CliCommand::Console { .. }));
    match run(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", describe_error(&error));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, `: `-separated like `{:#}`, but without a cause whose
/// text the error before it already ends with (database errors quote their cause).
fn describe_error(error: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if !out.is_empty() && out.ends_with(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        CliCommand::Serve => {
            let config = Config::from_env()?;
            // `serve` creates the database on its first run; the URL is checked first so
            // that a bad one is reported as `DATABASE_URL`'s.
            database_location(&config)?;
            crate::serve::serve(config).await?;
            Ok(ExitCode::SUCCESS)
        }
        CliCommand::Console { script, db, now, echo } => {
            let file = match std::env::var("INCIDENTBOT_CONFIG") {
                Ok(path) if !path.is_empty() => FileConfig::load(path.as_ref())?,
                _ => FileConfig::default(),
            };
            let mut channels = file.console.clone();
            channels.announcements_channel.get_or_insert_with(|| "incidents".into());
            channels.followups_channel.get_or_insert_with(|| "follow-ups".into());
            channels.digest_channel.get_or_insert_with(|| "digest".into());
            let settings = file.settings(&channels)?;
            let followups = file.followup_settings(&channels)?;
            let interactive = script.is_none() && std::io::stdin().is_terminal();
            let options = ConsoleOptions { database_url: None, start: now, settings, followups };
            // `--db` is a path, opened as one: a `?`, `#` or `%` in it is part of the name.
            let db = match db {
                Some(path) => Db::open(&Location::file(&path), OpenMode::Create).await?,
                None => Db::in_memory().await?,
            };
            let output = Output::new(Box::new(std::io::stdout()));
            let mut console = Console::with_db(db, &options, output).await?;
            console.set_alerts(&file.alerts)?;
            // Trackers and the status page, as `serve` has them (GITHUB_API_URL and the
            // others point them at a fake for a rehearsal).
            if let Some((follow, _)) = crate::trackers::build(&file)? {
                console.core().set_follow_through(follow);
            }
            match script {
                Some(path) => {
                    if let Some(folder) = path.parent() {
                        console.set_base_dir(folder);
                    }
                    let file =
                        std::fs::File::open(&path).with_context(|| format!("cannot open script {}", path.display()))?;
                    let prompting = if echo { Prompting::Echo } else { Prompting::Quiet };
                    console.run(std::io::BufReader::new(file), prompting).await?;
                }
                None => {
                    let prompting = if interactive { Prompting::Interactive } else { Prompting::Quiet };
                    console.run(std::io::stdin().lock(), prompting).await?
                }
            }
            console.close().await;
            Ok(ExitCode::SUCCESS)
        }
        CliCommand::Digest { since, now } => {
            let config = Config::from_env()?;
            let db = open_existing(&config, OpenMode::Existing).await?;
            let now = now.unwrap_or_else(Utc::now);
            let digest = commands::digest::build_linked(
                &db,
                config.timezone,
                now,
                chrono::Duration::days(i64::from(since)),
                config.file.web.public_url()?.as_deref(),
            )
            .await?;
            db.close().await;
            println!("{}", digest.to_plain());
            Ok(ExitCode::SUCCESS)
        }
        CliCommand::Check { now } => {
            let config = Config::from_env()?;
            print!("{}", crate::check::report(&config, now.unwrap_or_else(Utc::now)).await?);
            Ok(ExitCode::SUCCESS)
        }
        CliCommand::Backup { path } => {
            let config = Config::from_env()?;
            // A backup copies the database as it is: nothing is created, and an older
            // schema is not migrated first, so a backup before an upgrade is of the old one.
            let db = open_existing(&config, OpenMode::ExistingAsIs).await.context("nothing to back up")?;
            let result = db.backup_to(&path).await;
            db.close().await;
            if let Err(refusal @ storage::backup::BackupError::OnPostgres { .. }) = &result {
                // Not a failure of the bot's: nothing was written, and this says what to run.
                eprintln!("{refusal}");
                return Ok(ExitCode::FAILURE);
            }
            let report = result.with_context(|| format!("backup to {} failed", path.display()))?;
            println!(
                "backed up {} to {} ({} bytes, integrity ok)",
                config.database_url,
                report.path.display(),
                report.bytes
            );
            Ok(ExitCode::SUCCESS)
        }
        CliCommand::MigrateDb { from, to } => {
            print!("{}", crate::migrate_db::run(&from, &to).await?);
            Ok(ExitCode::SUCCESS)
        }
        CliCommand::WebLink { user, platform } => {
            let config = Config::from_env()?;
            let typed = user.trim();
            let user_id = commands::grammar::parse_user(typed)
                .or_else(|| commands::grammar::parse_user(&format!("@{typed}")))
                .with_context(|| format!("`{user}` is not a chat user id; use alice, @alice or U0123ABC"))?;
            let settings = config.file.settings(&config.file.console)?;
            let db = open_existing(&config, OpenMode::Existing).await?;
            let who = storage::WebUser { platform: platform.platform(), user_id };
            let link = commands::web_auth::issue_link(&db, &settings.sign_in_base, &who, Utc::now()).await;
            db.close().await;
            let link = link?;
            println!("{}", link.url);
            eprintln!(
                "It signs in as {} ({}) once, until {}.",
                who.user_id,
                who.platform,
                link.expires_at.to_rfc3339()
            );
            Ok(ExitCode::SUCCESS)
        }
        CliCommand::Export { id, format, viewer } => {
            let config = Config::from_env()?;
            let number = commands::grammar::parse_incident_ref(&id)
                .or_else(|| id.parse().ok().filter(|n: &i64| *n > 0))
                .with_context(|| format!("`{id}` is not an incident id; use 42 or INC-42"))?;
            let db = open_existing(&config, OpenMode::Existing).await?;
            let settings = config.file.settings(&config.file.console)?;
            let access = commands::export::load_for(&db, &settings, number, viewer.as_deref()).await?;
            db.close().await;
            let record = match access {
                commands::export::ExportAccess::Allowed(record) => record,
                commands::export::ExportAccess::Missing => {
                    anyhow::bail!("INC-{number} does not exist in {}", config.database_url)
                }
                commands::export::ExportAccess::Private => anyhow::bail!(
                    "INC-{number} is private: only its participants and admins may export it; \
                     name one with --as <user id>"
                ),
            };
            let text = match format {
                ExportFormat::Json => record.to_json(),
                ExportFormat::Markdown => record.to_markdown(config.timezone),
            };
            println!("{text}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot open `x`: {0}")]
    struct Quoting(#[source] std::io::Error);

    #[test]
    fn a_cause_already_quoted_is_not_repeated() {
        let io = std::io::Error::other("unable to open database file");
        let error = anyhow::Error::new(Quoting(io)).context("nothing to back up");
        assert_eq!(describe_error(&error), "nothing to back up: cannot open `x`: unable to open database file");
        let plain = anyhow::anyhow!("no database at x.db").context("DATABASE_URL");
        assert_eq!(describe_error(&plain), "DATABASE_URL: no database at x.db");
    }
}
