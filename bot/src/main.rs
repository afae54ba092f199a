//! `incidentbot`: see `bot::cli` for the subcommands.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    // rustls needs one crypto provider for the process. A build that links two (ring,
    // which sqlx, reqwest and serenity use here, and aws-lc-rs, which some dependency
    // trees add) cannot pick one by itself and panics at the first TLS setup that asks,
    // e.g. Postgres with `sslmode=verify-ca&sslrootcert=…`. Ring it is; an error only
    // means one is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    bot::cli::main().await
}
