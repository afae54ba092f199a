//! The gate in front of every `/slack/*` handler: a request whose signature or
//! timestamp does not check out gets 401 before its body is even parsed, so nothing is
//! written. (Bodies over the limit never get here: the router answers 413.)

use axum::http::{HeaderMap, StatusCode};

use super::signature::SignatureError;
use super::SlackState;

/// Checks that `body` was signed by Slack with our signing secret, recently.
pub fn check(state: &SlackState, headers: &HeaderMap, body: &[u8]) -> Result<(), StatusCode> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    check_signed(state, header("x-slack-request-timestamp"), header("x-slack-signature"), body)
}

/// [`check`] with the two headers already looked up.
pub fn check_signed(
    state: &SlackState,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
) -> Result<(), StatusCode> {
    let now = state.wall_clock.now().timestamp();
    match state.signing_key.verify(timestamp, signature, body, now) {
        Ok(()) => Ok(()),
        Err(error) => {
            // Said at warn: a flood of these means a wrong secret or someone probing.
            let reason = match error {
                SignatureError::MissingHeader => "missing headers",
                SignatureError::BadTimestamp => "bad timestamp",
                SignatureError::Stale => "stale timestamp",
                SignatureError::Mismatch => "signature mismatch",
            };
            tracing::warn!(reason, "refused a Slack request");
            Err(StatusCode::UNAUTHORIZED)
        }
    }
}
