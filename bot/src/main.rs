//! `incidentbot`: see `bot::cli` for the subcommands.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    bot::cli::main().await
}
