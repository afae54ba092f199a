//! Where a database lives: [`Location::parse`] is the one place that reads a database
//! URL and decides which backend it names, and [`Location::file`] names a SQLite file by
//! its path, with no URL in between (so `?`, `#` or `%` in a file name stay characters).
//!
//! Only SQLite runs today. Postgres URLs are recognised so that they get a plain answer
//! rather than an attempt to open a file called `postgres://…`; a Postgres backend is one
//! more arm in [`Location::parse`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;

/// What is wrong with a database URL. The messages never repeat the URL of another
/// backend: it may carry a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("Postgres is not supported yet; use sqlite://PATH")]
    PostgresNotSupported,
    #[error("`{scheme}` database URLs are not supported; use sqlite://PATH")]
    UnsupportedScheme { scheme: String },
    #[error("`{0}` is not a database URL; for a SQLite file, write sqlite://{0} (the form is sqlite://PATH)")]
    NotAUrl(String),
    #[error("the database URL `{0}` names no file; use sqlite://PATH")]
    NoFile(String),
    #[error("the database URL `{url}` is not valid: {reason}; use sqlite://PATH")]
    Invalid { url: String, reason: String },
}

/// A database to open: a SQLite file or a private in-memory SQLite database.
#[derive(Debug, Clone)]
pub struct Location {
    options: SqliteConnectOptions,
    in_memory: bool,
}

impl Location {
    /// Classifies a database URL such as `sqlite://incidentbot.db`,
    /// `sqlite:///data/incidentbot.db` or `sqlite::memory:`.
    ///
    /// In a URL the file name is percent-decoded, so a `?`, `#` or `%` in it is written
    /// `%3F`, `%23` or `%25`. A plain path is refused rather than guessed at; so is every
    /// scheme but `sqlite` (Postgres with its own message).
    pub fn parse(url: &str) -> Result<Location, UrlError> {
        let Some((scheme, rest)) = split_scheme(url) else {
            return Err(UrlError::NotAUrl(url.to_string()));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => Location::sqlite_url(url, rest),
            "postgres" | "postgresql" => Err(UrlError::PostgresNotSupported),
            _ => Err(UrlError::UnsupportedScheme { scheme: scheme.to_string() }),
        }
    }

    /// The SQLite file at `path`, exactly as named.
    pub fn file(path: impl AsRef<Path>) -> Location {
        let path = path.as_ref();
        Location { options: SqliteConnectOptions::new().filename(literal_file_name(path)), in_memory: false }
    }

    /// A private in-memory database, gone when it is closed.
    pub fn memory() -> Location {
        // `sqlx` gives each `:memory:` its own name, so two of them never share data.
        let options = SqliteConnectOptions::from_str("sqlite::memory:").unwrap_or_else(|_| SqliteConnectOptions::new());
        Location { options, in_memory: true }
    }

    /// `rest` is what follows `sqlite:` in `url`.
    fn sqlite_url(url: &str, rest: &str) -> Result<Location, UrlError> {
        let options = SqliteConnectOptions::from_str(&format!("sqlite:{rest}"))
            .map_err(|error| UrlError::Invalid { url: url.to_string(), reason: error.to_string() })?;
        let in_memory = rest.contains(":memory:") || rest.contains("mode=memory");
        if in_memory {
            return Ok(Location { options, in_memory });
        }
        let name = options.get_filename().to_path_buf();
        if name.as_os_str().is_empty() {
            return Err(UrlError::NoFile(url.to_string()));
        }
        Ok(Location { options: options.filename(literal_file_name(&name)), in_memory })
    }

    /// The file, or `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        (!self.in_memory).then(|| self.options.get_filename())
    }

    pub fn is_in_memory(&self) -> bool {
        self.in_memory
    }

    /// The connection settings, before the ones every connection of the bot gets.
    pub(crate) fn options(&self) -> SqliteConnectOptions {
        self.options.clone()
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.path() {
            Some(path) => write!(f, "{}", path.display()),
            None => f.write_str("an in-memory database"),
        }
    }
}

/// `scheme` and the rest of `scheme:rest`, when `url` starts with a URL scheme (a
/// letter, then letters, digits, `+`, `-` or `.`).
fn split_scheme(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once(':')?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some((scheme, rest))
}

/// SQLite reads a file name that starts with `file:` as a URI of its own; `./` in front
/// keeps a relative name like that a plain file name.
fn literal_file_name(path: &Path) -> PathBuf {
    if path.is_relative() && path.to_string_lossy().starts_with("file:") {
        Path::new(".").join(path)
    } else {
        path.to_path_buf()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_a_file_or_memory() {
        let cases = [
            ("sqlite://incidentbot.db", "incidentbot.db"),
            ("sqlite:///data/incidentbot.db", "/data/incidentbot.db"),
            ("SQLite://Upper.db", "Upper.db"),
            ("sqlite:relative.db", "relative.db"),
            ("sqlite://we%20ird%3F%23%25%C3%A9.db", "we ird?#%é.db"),
            ("sqlite://file:odd.db", "./file:odd.db"),
        ];
        for (url, path) in cases {
            let location = Location::parse(url).unwrap();
            assert_eq!(location.path(), Some(Path::new(path)), "{url}");
            assert!(!location.is_in_memory());
        }
        for url in ["sqlite::memory:", "sqlite://:memory:", "sqlite://?mode=memory"] {
            let location = Location::parse(url).unwrap();
            assert!(location.is_in_memory(), "{url}");
            assert_eq!(location.path(), None);
            assert_eq!(location.to_string(), "an in-memory database");
        }
    }

    #[test]
    fn other_urls_get_a_plain_answer_without_their_password() {
        for url in ["postgres://bot:hunter2@db/incidents", "PostgreSQL://bot:hunter2@db:5432/incidents"] {
            assert_eq!(Location::parse(url).unwrap_err(), UrlError::PostgresNotSupported);
        }
        let error = Location::parse("mysql://bot:hunter2@db/incidents").unwrap_err();
        assert_eq!(error.to_string(), "`mysql` database URLs are not supported; use sqlite://PATH");
        let error = Location::parse("bot:hunter2@db/incidents").unwrap_err();
        assert!(!error.to_string().contains("hunter2"), "{error}");
        assert_eq!(
            Location::parse("typo.db").unwrap_err().to_string(),
            "`typo.db` is not a database URL; for a SQLite file, write sqlite://typo.db (the form is sqlite://PATH)"
        );
        assert_eq!(Location::parse("/data/x.db").unwrap_err(), UrlError::NotAUrl("/data/x.db".into()));
        assert_eq!(Location::parse("sqlite://").unwrap_err(), UrlError::NoFile("sqlite://".into()));
        assert!(matches!(Location::parse("sqlite://x.db?color=red").unwrap_err(), UrlError::Invalid { .. }));
    }

    #[test]
    fn a_path_is_taken_literally() {
        for name in ["we ird?.db", "a#b.db", "100%.db", "%20.db", "café.db", "file:x.db"] {
            let location = Location::file(name);
            let expected = if name == "file:x.db" { Path::new("./file:x.db") } else { Path::new(name) };
            assert_eq!(location.path(), Some(expected), "{name}");
        }
        assert_eq!(Location::file("/abs/file:x.db").path(), Some(Path::new("/abs/file:x.db")));
    }
}
