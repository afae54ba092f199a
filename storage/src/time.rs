//! Conversions between chrono values and the INTEGER / TEXT forms in the schema.

use crate::StorageError;
use chrono::{DateTime, NaiveDate, Utc};

pub(crate) fn to_millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub(crate) fn from_millis(ms: i64) -> Result<DateTime<Utc>, StorageError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StorageError::Corrupt(format!("timestamp {ms} is out of range")))
}

pub(crate) fn from_millis_opt(ms: Option<i64>) -> Result<Option<DateTime<Utc>>, StorageError> {
    ms.map(from_millis).transpose()
}

pub(crate) fn to_date_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

pub(crate) fn from_date_text(text: &str) -> Result<NaiveDate, StorageError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|e| StorageError::Corrupt(format!("date `{text}`: {e}")))
}

/// Parses a stored enum word, reporting a bad one as corruption rather than user error.
pub(crate) fn parse_word<T: std::str::FromStr<Err = crate::UnknownWord>>(
    text: &str,
) -> Result<T, StorageError> {
    text.parse().map_err(|e: crate::UnknownWord| StorageError::Corrupt(e.to_string()))
}
