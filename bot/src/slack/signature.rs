//! Slack's v0 request signature: HMAC-SHA256 over `v0:<timestamp>:<raw body>` with the
//! app's signing secret, plus a 5-minute window on the timestamp so a captured request
//! cannot be replayed later.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secret::Secret;

/// How far a request's timestamp may be from now, either way.
pub const MAX_CLOCK_SKEW_SECS: i64 = 5 * 60;

/// Why a request was not accepted as coming from Slack.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the X-Slack-Request-Timestamp or X-Slack-Signature header is missing")]
    MissingHeader,
    #[error("the request timestamp is not a number")]
    BadTimestamp,
    #[error("the request timestamp is more than 5 minutes from now")]
    Stale,
    #[error("the signature does not match")]
    Mismatch,
}

/// The signing secret with HMAC's key schedule done once. Checking a request then costs
/// only hashing its body: no key setup and no allocation per request.
#[derive(Clone)]
pub struct SigningKey(Hmac<Sha256>);

impl SigningKey {
    pub fn new(secret: &Secret) -> Self {
        // HMAC accepts keys of any length, so this cannot fail.
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        SigningKey(mac)
    }

    fn mac(&self, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.0.clone();
        mac.update(b"v0:");
        mac.update(timestamp.as_bytes());
        mac.update(b":");
        mac.update(body);
        mac
    }

    /// Checks a request's timestamp against `now_unix` and its signature, in constant
    /// time.
    pub fn verify(
        &self,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        now_unix: i64,
    ) -> Result<(), SignatureError> {
        let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
            return Err(SignatureError::MissingHeader);
        };
        let sent_at: i64 = timestamp.trim().parse().map_err(|_| SignatureError::BadTimestamp)?;
        // `abs_diff` is exact for any two i64s; a subtraction overflows for a timestamp
        // far in the past (`-9223372036854775807` panicked with overflow checks, and
        // wrapped without them).
        if now_unix.abs_diff(sent_at) > MAX_CLOCK_SKEW_SECS.unsigned_abs() {
            return Err(SignatureError::Stale);
        }
        // A SHA-256 digest is 32 bytes; any other length cannot match.
        let mut expected = [0u8; 32];
        let hex_digest = signature.strip_prefix("v0=").ok_or(SignatureError::Mismatch)?;
        hex::decode_to_slice(hex_digest, &mut expected).map_err(|_| SignatureError::Mismatch)?;
        self.mac(timestamp, body).verify_slice(&expected).map_err(|_| SignatureError::Mismatch)
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey([redacted])")
    }
}

/// The `X-Slack-Signature` value Slack would send for this body (tests and the load
/// generator sign with it).
pub fn sign(secret: &Secret, timestamp: &str, body: &[u8]) -> String {
    format!("v0={}", hex::encode(SigningKey::new(secret).mac(timestamp, body).finalize().into_bytes()))
}

/// Checks a request's timestamp against `now_unix` and its signature, in constant time.
pub fn verify(
    secret: &Secret,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now_unix: i64,
) -> Result<(), SignatureError> {
    SigningKey::new(secret).verify(timestamp, signature, body, now_unix)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    // The example from Slack's "Verifying requests from Slack" page.
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TIMESTAMP: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const EXPECTED: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    #[test]
    fn slack_documented_example_verifies() {
        let secret = Secret::new(SECRET);
        assert_eq!(sign(&secret, TIMESTAMP, BODY.as_bytes()), EXPECTED);
        assert_eq!(verify(&secret, Some(TIMESTAMP), Some(EXPECTED), BODY.as_bytes(), 1_531_420_618 + 60), Ok(()));
    }

    #[test]
    fn a_prepared_key_verifies_like_the_secret_and_never_shows_it() {
        let key = SigningKey::new(&Secret::new(SECRET));
        let now = 1_531_420_618 + 60;
        assert_eq!(key.verify(Some(TIMESTAMP), Some(EXPECTED), BODY.as_bytes(), now), Ok(()));
        // Used again: the prepared state is not consumed by a check.
        assert_eq!(key.verify(Some(TIMESTAMP), Some(EXPECTED), BODY.as_bytes(), now), Ok(()));
        let short = &EXPECTED[..EXPECTED.len() - 2];
        let long = format!("{EXPECTED}00");
        for signature in [short, long.as_str(), "v0=", "a2114d57", &EXPECTED[3..]] {
            assert_eq!(
                key.verify(Some(TIMESTAMP), Some(signature), BODY.as_bytes(), now),
                Err(SignatureError::Mismatch),
                "{signature}"
            );
        }
        assert!(!format!("{key:?}").contains(SECRET));
    }

    #[test]
    fn rejects_changed_body_wrong_secret_and_old_timestamps() {
        let secret = Secret::new(SECRET);
        let now = 1_531_420_618;
        let mut changed = BODY.as_bytes().to_vec();
        changed[10] ^= 1;
        assert_eq!(verify(&secret, Some(TIMESTAMP), Some(EXPECTED), &changed, now), Err(SignatureError::Mismatch));
        let other = Secret::new("another-secret");
        assert_eq!(
            verify(&other, Some(TIMESTAMP), Some(EXPECTED), BODY.as_bytes(), now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&secret, Some(TIMESTAMP), Some(EXPECTED), BODY.as_bytes(), now + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(&secret, Some(TIMESTAMP), Some(EXPECTED), BODY.as_bytes(), now - 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(&secret, Some(TIMESTAMP), Some("v0=zz"), BODY.as_bytes(), now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify(&secret, None, Some(EXPECTED), BODY.as_bytes(), now), Err(SignatureError::MissingHeader));
        // Timestamps at the ends of i64, and the one whose difference from now is
        // exactly i64::MIN (a wrapped subtraction's absolute value stays negative).
        let wraps = (now + i64::MIN).to_string();
        for timestamp in ["-9223372036854775808", "-000000000000009223372036854775807", "9223372036854775807", &wraps] {
            assert_eq!(
                verify(&secret, Some(timestamp), Some(EXPECTED), BODY.as_bytes(), now),
                Err(SignatureError::Stale),
                "{timestamp}"
            );
        }
        assert_eq!(
            verify(&secret, Some("soon"), Some(EXPECTED), BODY.as_bytes(), now),
            Err(SignatureError::BadTimestamp)
        );
    }
}
