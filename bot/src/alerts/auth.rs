//! Checking who sent an alert, before anything is parsed or written: bearer or basic
//! auth (Alertmanager's and Grafana's `http_config`), Grafana's optional HMAC
//! signature, PagerDuty's `X-PagerDuty-Signature` (any one of several, for secret
//! rotation), and bearer for generic JSON. Every comparison is constant-time.
//!
//! Grafana's HMAC, as its webhook contact point sends it: the lowercase hex
//! HMAC-SHA256 of the raw body in `X-Grafana-Alerting-Signature` (the header name is
//! configurable). When the contact point names a timestamp header, Grafana puts the
//! Unix time in seconds there and signs `<timestamp>:<body>`; a timestamp more than
//! [`GRAFANA_TIMESTAMP_TOLERANCE_SECS`] from now is refused, so a captured delivery
//! cannot be replayed later.

use axum::http::HeaderMap;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::config::{Source, SourceKind};

/// Grafana's default signature header.
pub const GRAFANA_SIGNATURE_HEADER: &str = "x-grafana-alerting-signature";
pub const PAGERDUTY_SIGNATURE_HEADER: &str = "x-pagerduty-signature";
/// How far a signed Grafana timestamp may be from now, either way.
pub const GRAFANA_TIMESTAMP_TOLERANCE_SECS: i64 = 300;

/// Whether the request carries `source`'s credentials; `now` is Unix seconds.
pub fn authorized(source: &Source, headers: &HeaderMap, body: &[u8], now: i64) -> bool {
    let secret = source.secret.expose().as_bytes();
    match source.kind {
        SourceKind::Alertmanager => bearer_or_basic(headers, secret, true),
        SourceKind::Grafana => {
            bearer_or_basic(headers, secret, true)
                && source.hmac_secret.as_ref().is_none_or(|hmac_secret| {
                    let signing = GrafanaSigning {
                        secret: hmac_secret.expose().as_bytes(),
                        header: &source.hmac_header,
                        timestamp_header: source.hmac_timestamp_header.as_deref(),
                    };
                    grafana_signature_ok(headers, body, &signing, now)
                })
        }
        SourceKind::Pagerduty => pagerduty_signature_ok(headers, body, secret),
        SourceKind::Generic => bearer_or_basic(headers, secret, false),
    }
}

fn equal(a: &[u8], b: &[u8]) -> bool {
    // `ct_eq` on slices of different lengths is false without looking at the bytes;
    // the length of a secret is not what it protects.
    a.ct_eq(b).into()
}

/// `Authorization: Bearer <secret>`, or (when `basic` allows) basic auth with the
/// secret as the password and any user name.
fn bearer_or_basic(headers: &HeaderMap, secret: &[u8], basic: bool) -> bool {
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let (scheme, credentials) = value.trim().split_once(' ').unwrap_or((value, ""));
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return equal(credentials.as_bytes(), secret);
    }
    if basic && scheme.eq_ignore_ascii_case("basic") {
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(credentials) else {
            return false;
        };
        let password = match decoded.iter().position(|b| *b == b':') {
            Some(colon) => &decoded[colon + 1..],
            None => return false,
        };
        return equal(password, secret);
    }
    false
}

fn hmac_hex(secret: &[u8], parts: &[&[u8]]) -> Option<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).ok()?;
    for part in parts {
        mac.update(part);
    }
    Some(hex::encode(mac.finalize().into_bytes()))
}

/// How a Grafana contact point signs.
struct GrafanaSigning<'a> {
    secret: &'a [u8],
    /// Lowercase.
    header: &'a str,
    timestamp_header: Option<&'a str>,
}

/// Grafana's HMAC: the hex HMAC-SHA256 of the body or, when the contact point sets a
/// timestamp header, of `timestamp:body`, with the timestamp within the tolerance.
fn grafana_signature_ok(headers: &HeaderMap, body: &[u8], signing: &GrafanaSigning<'_>, now: i64) -> bool {
    let Some(given) = headers.get(signing.header).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let expected = match signing.timestamp_header {
        Some(name) => {
            let Some(timestamp) = headers.get(name).and_then(|v| v.to_str().ok()) else {
                return false;
            };
            let Ok(seconds) = timestamp.trim().parse::<i64>() else {
                return false;
            };
            if seconds.abs_diff(now) > GRAFANA_TIMESTAMP_TOLERANCE_SECS.unsigned_abs() {
                return false;
            }
            hmac_hex(signing.secret, &[timestamp.as_bytes(), b":", body])
        }
        None => hmac_hex(signing.secret, &[body]),
    };
    expected.is_some_and(|expected| equal(given.trim().to_ascii_lowercase().as_bytes(), expected.as_bytes()))
}

/// `X-PagerDuty-Signature: v1=<hex>,v1=<hex>`: any one that matches counts.
fn pagerduty_signature_ok(headers: &HeaderMap, body: &[u8], secret: &[u8]) -> bool {
    let Some(expected) = hmac_hex(secret, &[body]) else {
        return false;
    };
    let mut found = false;
    for value in headers.get_all(PAGERDUTY_SIGNATURE_HEADER) {
        let Ok(value) = value.to_str() else { continue };
        for signature in value.split(',') {
            if let Some(hex) = signature.trim().strip_prefix("v1=") {
                // Every candidate is compared, so the time taken does not say which matched.
                found |= equal(hex.to_ascii_lowercase().as_bytes(), expected.as_bytes());
            }
        }
    }
    found
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn source(kind: SourceKind) -> Source {
        Source {
            name: "s".into(),
            kind,
            secret: Secret::new("s3cret"),
            hmac_secret: None,
            hmac_timestamp_header: None,
            hmac_header: GRAFANA_SIGNATURE_HEADER.into(),
            max_per_minute: 120,
        }
    }

    fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn bearer_and_basic_for_alertmanager_bearer_only_for_generic() {
        let am = source(SourceKind::Alertmanager);
        let basic = base64::engine::general_purpose::STANDARD.encode("alertmanager:s3cret");
        assert!(authorized(&am, &headers(&[("authorization", "Bearer s3cret".into())]), b"", 0));
        assert!(authorized(&am, &headers(&[("authorization", format!("Basic {basic}"))]), b"", 0));
        assert!(!authorized(&am, &headers(&[("authorization", "Bearer s3cre".into())]), b"", 0));
        assert!(!authorized(&am, &headers(&[]), b"", 0));
        let generic = source(SourceKind::Generic);
        assert!(!authorized(&generic, &headers(&[("authorization", format!("Basic {basic}"))]), b"", 0));
        assert!(authorized(&generic, &headers(&[("authorization", "bearer s3cret".into())]), b"", 0));
    }

    #[test]
    fn pagerduty_accepts_any_one_of_several_signatures() {
        let pd = source(SourceKind::Pagerduty);
        let body = br#"{"event":{"id":"01"}}"#;
        let good = hmac_hex(b"s3cret", &[body]).unwrap();
        let old = hmac_hex(b"old-secret", &[body]).unwrap();
        let sig = |v: String| headers(&[("x-pagerduty-signature", v)]);
        assert!(authorized(&pd, &sig(format!("v1={good}")), body, 0));
        assert!(authorized(&pd, &sig(format!("v1={old},v1={good}")), body, 0));
        assert!(!authorized(&pd, &sig(format!("v1={old}")), body, 0));
        assert!(!authorized(&pd, &sig(format!("v1={good}")), b"tampered", 0));
        assert!(!authorized(&pd, &sig(format!("v2={good}")), body, 0));
    }

    /// Vectors computed outside this code (Python's `hmac` module), signed as Grafana's
    /// webhook sender signs: hex HMAC-SHA256 of the body, or of `<unix seconds>:<body>`.
    const GRAFANA_BODY: &[u8] = br#"{"receiver":"incidentbot","status":"firing","orgId":1}"#;
    const GRAFANA_BODY_SIGNATURE: &str = "3d6efed8e60bb3035d60d209ec532d02edcf06e238229e7f3277795626d8a2b3";
    const GRAFANA_STAMPED_SIGNATURE: &str = "b7b9d79e16a79d464b111e5bf8281e65741e3ea2c11aa956c9f9b9228cb26a25";
    const STAMP: i64 = 1_700_000_000;

    #[test]
    fn grafana_hmac_of_the_body_matches_an_outside_vector() {
        let mut grafana = source(SourceKind::Grafana);
        grafana.hmac_secret = Some(Secret::new("hmac-key"));
        let auth = ("authorization", "Bearer s3cret".to_string());
        let signed = |sig: &str| headers(&[auth.clone(), ("x-grafana-alerting-signature", sig.to_string())]);
        assert!(authorized(&grafana, &signed(GRAFANA_BODY_SIGNATURE), GRAFANA_BODY, STAMP));
        assert!(authorized(&grafana, &signed(&GRAFANA_BODY_SIGNATURE.to_uppercase()), GRAFANA_BODY, STAMP));
        assert!(!authorized(&grafana, &signed(GRAFANA_BODY_SIGNATURE), b"{}", STAMP), "another body");
        assert!(!authorized(&grafana, &headers(std::slice::from_ref(&auth)), GRAFANA_BODY, STAMP), "unsigned");
        let unauthenticated = headers(&[("x-grafana-alerting-signature", GRAFANA_BODY_SIGNATURE.to_string())]);
        assert!(!authorized(&grafana, &unauthenticated, GRAFANA_BODY, STAMP), "the signature adds to the bearer");
        // A contact point that names its own signature header.
        grafana.hmac_header = "x-signature".into();
        let custom = headers(&[auth.clone(), ("x-signature", GRAFANA_BODY_SIGNATURE.to_string())]);
        assert!(authorized(&grafana, &custom, GRAFANA_BODY, STAMP));
        assert!(!authorized(&grafana, &signed(GRAFANA_BODY_SIGNATURE), GRAFANA_BODY, STAMP));
    }

    #[test]
    fn grafana_hmac_with_a_timestamp_matches_an_outside_vector_and_refuses_replays() {
        let mut grafana = source(SourceKind::Grafana);
        grafana.hmac_secret = Some(Secret::new("hmac-key"));
        grafana.hmac_timestamp_header = Some("x-grafana-alerting-timestamp".into());
        let auth = ("authorization", "Bearer s3cret".to_string());
        let signed = |sig: &str, stamp: &str| {
            headers(&[
                auth.clone(),
                ("x-grafana-alerting-signature", sig.to_string()),
                ("x-grafana-alerting-timestamp", stamp.to_string()),
            ])
        };
        let stamped = signed(GRAFANA_STAMPED_SIGNATURE, "1700000000");
        assert!(authorized(&grafana, &stamped, GRAFANA_BODY, STAMP));
        assert!(authorized(&grafana, &stamped, GRAFANA_BODY, STAMP + 299), "a little late is fine");
        assert!(authorized(&grafana, &stamped, GRAFANA_BODY, STAMP - 299), "a clock a little behind too");
        assert!(!authorized(&grafana, &stamped, GRAFANA_BODY, STAMP + 301), "replayed later");
        assert!(!authorized(&grafana, &signed(GRAFANA_STAMPED_SIGNATURE, "1700000001"), GRAFANA_BODY, STAMP));
        assert!(!authorized(&grafana, &signed(GRAFANA_BODY_SIGNATURE, "1700000000"), GRAFANA_BODY, STAMP));
        assert!(!authorized(&grafana, &signed(GRAFANA_STAMPED_SIGNATURE, "١٧٠٠٠٠٠٠٠٠"), GRAFANA_BODY, STAMP));
        let no_stamp = headers(&[auth, ("x-grafana-alerting-signature", GRAFANA_STAMPED_SIGNATURE.to_string())]);
        assert!(!authorized(&grafana, &no_stamp, GRAFANA_BODY, STAMP));
    }
}
