//! Checking who sent an alert, before anything is parsed or written: bearer or basic
//! auth (Alertmanager's and Grafana's `http_config`), Grafana's optional HMAC
//! signature, PagerDuty's `X-PagerDuty-Signature` (any one of several, for secret
//! rotation), and bearer for generic JSON. Every comparison is constant-time.

use axum::http::HeaderMap;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::config::{Source, SourceKind};

/// Grafana's default signature header.
pub const GRAFANA_SIGNATURE_HEADER: &str = "x-grafana-alerting-signature";
pub const PAGERDUTY_SIGNATURE_HEADER: &str = "x-pagerduty-signature";

/// Whether the request carries `source`'s credentials.
pub fn authorized(source: &Source, headers: &HeaderMap, body: &[u8]) -> bool {
    let secret = source.secret.expose().as_bytes();
    match source.kind {
        SourceKind::Alertmanager => bearer_or_basic(headers, secret, true),
        SourceKind::Grafana => {
            bearer_or_basic(headers, secret, true)
                && source.hmac_secret.as_ref().is_none_or(|hmac_secret| {
                    grafana_signature_ok(
                        headers,
                        body,
                        hmac_secret.expose().as_bytes(),
                        source.hmac_timestamp_header.as_deref(),
                    )
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

/// Grafana's HMAC: the hex HMAC-SHA256 of the body, or, when the contact point sets a
/// timestamp header, of `timestamp:body`.
fn grafana_signature_ok(headers: &HeaderMap, body: &[u8], secret: &[u8], timestamp_header: Option<&str>) -> bool {
    let Some(given) = headers.get(GRAFANA_SIGNATURE_HEADER).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let expected = match timestamp_header {
        Some(name) => {
            let Some(timestamp) = headers.get(name).and_then(|v| v.to_str().ok()) else {
                return false;
            };
            hmac_hex(secret, &[timestamp.as_bytes(), b":", body])
        }
        None => hmac_hex(secret, &[body]),
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
        assert!(authorized(&am, &headers(&[("authorization", "Bearer s3cret".into())]), b""));
        assert!(authorized(&am, &headers(&[("authorization", format!("Basic {basic}"))]), b""));
        assert!(!authorized(&am, &headers(&[("authorization", "Bearer s3cre".into())]), b""));
        assert!(!authorized(&am, &headers(&[]), b""));
        let generic = source(SourceKind::Generic);
        assert!(!authorized(&generic, &headers(&[("authorization", format!("Basic {basic}"))]), b""));
        assert!(authorized(&generic, &headers(&[("authorization", "bearer s3cret".into())]), b""));
    }

    #[test]
    fn pagerduty_accepts_any_one_of_several_signatures() {
        let pd = source(SourceKind::Pagerduty);
        let body = br#"{"event":{"id":"01"}}"#;
        let good = hmac_hex(b"s3cret", &[body]).unwrap();
        let old = hmac_hex(b"old-secret", &[body]).unwrap();
        let sig = |v: String| headers(&[("x-pagerduty-signature", v)]);
        assert!(authorized(&pd, &sig(format!("v1={good}")), body));
        assert!(authorized(&pd, &sig(format!("v1={old},v1={good}")), body));
        assert!(!authorized(&pd, &sig(format!("v1={old}")), body));
        assert!(!authorized(&pd, &sig(format!("v1={good}")), b"tampered"));
        assert!(!authorized(&pd, &sig(format!("v2={good}")), body));
    }

    #[test]
    fn grafana_hmac_with_and_without_timestamp() {
        let mut grafana = source(SourceKind::Grafana);
        grafana.hmac_secret = Some(Secret::new("hmac-key"));
        let body = b"{}";
        let auth = ("authorization", "Bearer s3cret".to_string());
        let plain = hmac_hex(b"hmac-key", &[body]).unwrap();
        assert!(authorized(&grafana, &headers(&[auth.clone(), ("x-grafana-alerting-signature", plain.clone())]), body));
        assert!(!authorized(&grafana, &headers(std::slice::from_ref(&auth)), body));
        grafana.hmac_timestamp_header = Some("x-grafana-alerting-timestamp".into());
        let stamped = hmac_hex(b"hmac-key", &[b"1700000000", b":", body]).unwrap();
        let signed = headers(&[
            auth.clone(),
            ("x-grafana-alerting-signature", stamped),
            ("x-grafana-alerting-timestamp", "1700000000".into()),
        ]);
        assert!(authorized(&grafana, &signed, body));
        assert!(!authorized(&grafana, &headers(&[auth, ("x-grafana-alerting-signature", plain)]), body));
    }
}
