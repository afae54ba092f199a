//! Log set-up: `RUST_LOG` filters, `LOG_FORMAT=json` switches to JSON lines. Logs go
//! to stderr so the console's stdout stays the transcript.

use tracing_subscriber::EnvFilter;

pub fn init(quiet_by_default: bool) {
    let default = if quiet_by_default { "warn" } else { "info" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let json = std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    // A second init (tests) fails harmlessly; the first subscriber stays.
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}
