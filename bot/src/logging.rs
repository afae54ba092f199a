//! Log set-up: `RUST_LOG` filters, `LOG_FORMAT=json` switches to JSON lines. Logs go
//! to stderr so the console's stdout stays the transcript. They are coloured only on a
//! terminal, and never when `NO_COLOR` is set (<https://no-color.org>): a log file or a
//! log collector gets plain text.

use std::ffi::OsStr;
use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub fn init(quiet_by_default: bool) {
    let default = if quiet_by_default { "warn" } else { "info" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let colour = use_colour(std::io::stderr().is_terminal(), std::env::var_os("NO_COLOR").as_deref());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(colour);
    let json = std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    // A second init (tests) fails harmlessly; the first subscriber stays.
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}

/// Colour on a terminal, unless `NO_COLOR` is set to anything but the empty string.
fn use_colour(stderr_is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(OsStr::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_colour(true, None));
        assert!(use_colour(true, Some(OsStr::new(""))));
        assert!(!use_colour(true, Some(OsStr::new("1"))));
        assert!(!use_colour(false, None));
        assert!(!use_colour(false, Some(OsStr::new(""))));
    }
}
