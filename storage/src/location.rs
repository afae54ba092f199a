//! Where a database lives: [`Location::parse`] is the one place that reads a database
//! URL and decides which backend it names, and [`Location::file`] names a SQLite file by
//! its path, with no URL in between (so `?`, `#` or `%` in a file name stay characters).
//!
//! `postgres://…` and `postgresql://…` name a PostgreSQL database, read by sqlx's own
//! Postgres driver (so `sslmode`, `sslrootcert` and the other libpq options it honours
//! work as they do there). Shown, a Postgres location never carries its password.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;

/// What is wrong with a database URL. The messages never repeat the URL of another
/// backend: it may carry a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("the Postgres URL is not valid: {reason}; the form is postgres://USER:PASSWORD@HOST:PORT/DATABASE")]
    InvalidPostgres { reason: String },
    #[error("the Postgres URL's `{parameter}` names `{path}`, which is not a readable file")]
    MissingTlsFile { parameter: String, path: String },
    #[error("`{scheme}` database URLs are not supported; use sqlite://PATH or postgres://…")]
    UnsupportedScheme { scheme: String },
    #[error("`{0}` is not a database URL; for a SQLite file, write sqlite://{0} (the form is sqlite://PATH)")]
    NotAUrl(String),
    #[error("the database URL `{0}` names no file; use sqlite://PATH")]
    NoFile(String),
    #[error("the database URL `{url}` is not valid: {reason}; use sqlite://PATH")]
    Invalid { url: String, reason: String },
}

/// A database to open: a SQLite file, a private in-memory SQLite database, or a
/// PostgreSQL database.
#[derive(Clone)]
pub struct Location {
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    Sqlite {
        options: SqliteConnectOptions,
        in_memory: bool,
    },
    /// `shown` is the URL without its password.
    Postgres {
        options: Box<PgConnectOptions>,
        shown: String,
        bare: String,
    },
}

/// Which engine a [`Location`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
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
            "postgres" | "postgresql" => Location::postgres_url(url),
            _ => Err(UrlError::UnsupportedScheme { scheme: scheme.to_string() }),
        }
    }

    /// The SQLite file at `path`, exactly as named.
    pub fn file(path: impl AsRef<Path>) -> Location {
        let path = path.as_ref();
        Location::sqlite(SqliteConnectOptions::new().filename(literal_file_name(path)), false)
    }

    /// A private in-memory database, gone when it is closed.
    pub fn memory() -> Location {
        // `sqlx` gives each `:memory:` its own name, so two of them never share data.
        let options = SqliteConnectOptions::from_str("sqlite::memory:").unwrap_or_else(|_| SqliteConnectOptions::new());
        Location::sqlite(options, true)
    }

    fn sqlite(options: SqliteConnectOptions, in_memory: bool) -> Location {
        Location { kind: Kind::Sqlite { options, in_memory } }
    }

    fn postgres_url(url: &str) -> Result<Location, UrlError> {
        let options = PgConnectOptions::from_str(url).map_err(|error| UrlError::InvalidPostgres {
            // sqlx's message may quote the URL, password and all.
            reason: redact_url(&error.to_string(), url),
        })?;
        refuse_missing_tls_files(url)?;
        Ok(Location {
            kind: Kind::Postgres {
                options: Box::new(options),
                shown: redact_password(url),
                bare: without_password(url),
            },
        })
    }

    /// `rest` is what follows `sqlite:` in `url`.
    fn sqlite_url(url: &str, rest: &str) -> Result<Location, UrlError> {
        let options = SqliteConnectOptions::from_str(&format!("sqlite:{rest}"))
            .map_err(|error| UrlError::Invalid { url: url.to_string(), reason: error.to_string() })?;
        let in_memory = rest.contains(":memory:") || rest.contains("mode=memory");
        if in_memory {
            return Ok(Location::sqlite(options, in_memory));
        }
        let name = options.get_filename().to_path_buf();
        if name.as_os_str().is_empty() {
            return Err(UrlError::NoFile(url.to_string()));
        }
        Ok(Location::sqlite(options.filename(literal_file_name(&name)), in_memory))
    }

    pub fn engine(&self) -> Engine {
        match self.kind {
            Kind::Sqlite { .. } => Engine::Sqlite,
            Kind::Postgres { .. } => Engine::Postgres,
        }
    }

    /// The SQLite file, or `None` in memory or on Postgres.
    pub fn path(&self) -> Option<&Path> {
        match &self.kind {
            Kind::Sqlite { options, in_memory: false } => Some(options.get_filename()),
            _ => None,
        }
    }

    pub fn is_in_memory(&self) -> bool {
        matches!(self.kind, Kind::Sqlite { in_memory: true, .. })
    }

    /// The SQLite connection settings, before the ones every connection of the bot gets;
    /// `None` on Postgres.
    pub(crate) fn sqlite_options(&self) -> Option<SqliteConnectOptions> {
        match &self.kind {
            Kind::Sqlite { options, .. } => Some(options.clone()),
            Kind::Postgres { .. } => None,
        }
    }

    /// The Postgres URL without its password; `None` on SQLite.
    pub fn postgres_url_without_password(&self) -> Option<&str> {
        match &self.kind {
            Kind::Postgres { bare, .. } => Some(bare),
            Kind::Sqlite { .. } => None,
        }
    }

    /// The Postgres connection settings; `None` on SQLite.
    pub(crate) fn postgres_options(&self) -> Option<PgConnectOptions> {
        match &self.kind {
            Kind::Postgres { options, .. } => Some((**options).clone()),
            Kind::Sqlite { .. } => None,
        }
    }
}

/// Shows the engine and where, never a password (sqlx's Postgres options would).
impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Location").field("engine", &self.engine()).field("at", &self.to_string()).finish()
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Postgres { shown, .. } => f.write_str(shown),
            Kind::Sqlite { .. } => match self.path() {
                Some(path) => write!(f, "{}", path.display()),
                None => f.write_str("an in-memory database"),
            },
        }
    }
}

/// `url` with the password of its user info (`user:password@`) replaced by `***`.
pub fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// `url` without the password of its user info, for a command line that reads the
/// password from elsewhere (`PGPASSWORD`, `~/.pgpass`).
pub fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info.split_once(':').map_or(user_info, |(user, _)| user);
            format!("{scheme}://{user}@{host}{tail}")
        }
        None => url.to_string(),
    }
}

/// The TLS files a Postgres URL names must exist before anything connects: the driver
/// itself only says "No such file or directory" at the first connection, naming none.
fn refuse_missing_tls_files(url: &str) -> Result<(), UrlError> {
    let Ok(parsed) = url::Url::parse(url) else { return Ok(()) };
    for (parameter, path) in parsed.query_pairs() {
        let names_a_file = matches!(parameter.as_ref(), "sslrootcert" | "sslcert" | "sslkey");
        if names_a_file && std::fs::File::open(path.as_ref()).is_err() {
            return Err(UrlError::MissingTlsFile { parameter: parameter.into_owned(), path: path.into_owned() });
        }
    }
    Ok(())
}

/// `text` with every copy of `url` replaced by its redacted form.
fn redact_url(text: &str, url: &str) -> String {
    text.replace(url, &redact_password(url))
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
    fn postgres_urls_name_postgres_and_never_show_their_password() {
        for url in ["postgres://bot:hunter2@db/incidents", "PostgreSQL://bot:hunter2@db:5432/incidents?sslmode=require"]
        {
            let location = Location::parse(url).unwrap();
            assert_eq!(location.engine(), Engine::Postgres);
            assert_eq!(location.path(), None);
            assert!(!location.to_string().contains("hunter2"), "{location}");
            assert!(!format!("{location:?}").contains("hunter2"), "{location:?}");
            assert!(location.to_string().contains("bot:***@db"), "{location}");
        }
        let error = Location::parse("postgres://bot:hunter2@db/x?sslmode=sometimes").unwrap_err();
        assert!(matches!(error, UrlError::InvalidPostgres { .. }), "{error}");
        assert!(!error.to_string().contains("hunter2"), "{error}");
        let missing =
            Location::parse("postgres://u:hunter2@db/x?sslmode=verify-full&sslrootcert=/no/such/ca%20file.pem")
                .unwrap_err();
        assert_eq!(
            missing.to_string(),
            "the Postgres URL's `sslrootcert` names `/no/such/ca file.pem`, which is not a readable file"
        );
        assert!(Location::parse("postgres://u@db/x?sslmode=verify-ca&sslrootcert=/dev/null").is_ok());
        assert_eq!(redact_password("postgres://db/x"), "postgres://db/x");
        assert_eq!(redact_password("postgres://u@db/x"), "postgres://u@db/x");
        assert_eq!(
            without_password("postgres://u:p%40ss@db:5/x?sslmode=require"),
            "postgres://u@db:5/x?sslmode=require"
        );
    }

    #[test]
    fn other_urls_get_a_plain_answer_without_their_password() {
        let error = Location::parse("mysql://bot:hunter2@db/incidents").unwrap_err();
        assert_eq!(error.to_string(), "`mysql` database URLs are not supported; use sqlite://PATH or postgres://…");
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
