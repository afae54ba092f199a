//! Slack's v0 signature check: arbitrary headers and bodies never panic, and only the
//! signature computed with the secret over the exact body verifies.
#![no_main]

use bot::secret::Secret;
use bot::slack::signature::{sign, verify};
use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_800_000_000;

fuzz_target!(|data: &[u8]| {
    // Layout: timestamp \n signature \n body (missing parts are absent headers).
    let mut parts = data.splitn(3, |b| *b == b'\n');
    let timestamp = parts.next().and_then(|p| std::str::from_utf8(p).ok());
    let signature = parts.next().and_then(|p| std::str::from_utf8(p).ok());
    let body = parts.next().unwrap_or_default();
    let secret = Secret::new("fuzz-signing-secret");
    let _ = verify(&secret, timestamp, signature, body, NOW);

    let stamp = NOW.to_string();
    let good = sign(&secret, &stamp, body);
    assert!(verify(&secret, Some(&stamp), Some(&good), body, NOW).is_ok());
    if let Some(forged) = signature {
        if forged != good {
            assert!(verify(&secret, Some(&stamp), Some(forged), body, NOW).is_err() || forged.eq_ignore_ascii_case(&good));
        }
    }
});
