//! Strict decoding of Slack's `application/x-www-form-urlencoded` bodies.
//!
//! The usual decoders replace bytes that are not UTF-8 with `�` and carry on, so a
//! malformed request would reach the core with altered text. Here a body whose raw or
//! percent-decoded bytes are not UTF-8 is refused before it is read into a type.

use serde::de::DeserializeOwned;

/// Why a form body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("the form body is not valid UTF-8")]
    NotUtf8,
    #[error("the form body does not have the expected fields: {0}")]
    Shape(String),
}

/// Decodes `body` into `T`, refusing any key or value that is not UTF-8 once decoded.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, FormError> {
    let text = std::str::from_utf8(body).map_err(|_| FormError::NotUtf8)?;
    for part in text.split('&') {
        if !percent_decodes_to_utf8(part) {
            return Err(FormError::NotUtf8);
        }
    }
    serde_urlencoded::from_str(text).map_err(|error| FormError::Shape(error.to_string()))
}

/// Whether `part` (one `key=value` pair) percent-decodes to valid UTF-8. A `%` not
/// followed by two hex digits is kept as it is, as form decoders do.
fn percent_decodes_to_utf8(part: &str) -> bool {
    let bytes = part.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte == b'%' {
            let hex_pair = bytes.get(i + 1..i + 3).and_then(|pair| std::str::from_utf8(pair).ok());
            if let Some(value) = hex_pair.and_then(|pair| u8::from_str_radix(pair, 16).ok()) {
                decoded.push(value);
                i += 3;
                continue;
            }
        }
        decoded.push(byte);
        i += 1;
    }
    std::str::from_utf8(&decoded).is_ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    type Fields = BTreeMap<String, String>;

    #[test]
    fn decodes_ordinary_forms_with_multibyte_text() {
        let fields: Fields = decode(b"text=declare+sev2+%E2%AD%90+DB+down&user_id=U1").unwrap();
        assert_eq!(fields["text"], "declare sev2 ⭐ DB down");
        assert_eq!(fields["user_id"], "U1");
    }

    #[test]
    fn refuses_invalid_utf8_raw_or_percent_encoded() {
        assert_eq!(decode::<Fields>(b"text=%FF%FE"), Err(FormError::NotUtf8));
        assert_eq!(decode::<Fields>(b"text=\xff"), Err(FormError::NotUtf8));
        // A lone continuation byte and a truncated sequence.
        assert_eq!(decode::<Fields>(b"text=%80"), Err(FormError::NotUtf8));
        assert_eq!(decode::<Fields>(b"te%E2%AD=x"), Err(FormError::NotUtf8));
    }

    #[test]
    fn a_stray_percent_is_kept() {
        let fields: Fields = decode(b"text=100%25+and+50%+off%2").unwrap();
        assert_eq!(fields["text"], "100% and 50% off%2");
    }
}
