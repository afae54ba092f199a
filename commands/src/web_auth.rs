//! Who may see the web pages: one-time sign-in links and the sessions they start.
//!
//! - `/incident web` (every platform, and the console) and `incidentbot web-link` hand
//!   out a link that works once, for [`LINK_LIFETIME`]. Opening it starts a session for
//!   the person who asked, as who they are in chat.
//! - A session ends after [`SESSION_IDLE`] without use, at [`SESSION_MAX_AGE`], or on log
//!   out.
//! - Only a SHA-256 hash of each token is stored. Tokens are 32 random bytes.
//! - A form's CSRF token is derived from the session token, so only a page served to
//!   that session can carry it.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use storage::{Db, LinkRefusal, Platform, WebUser};

use crate::core::{Core, Invocation};
use crate::error::{CoreError, Problem};
use crate::message::{Line, Message};
use crate::outcome::Outcome;

/// How long a sign-in link works.
pub const LINK_LIFETIME: Duration = Duration::minutes(10);
/// A session unused for this long is over.
pub const SESSION_IDLE: Duration = Duration::hours(12);
/// No session lasts longer than this, however busy.
pub const SESSION_MAX_AGE: Duration = Duration::days(7);
/// A session's last use is recorded at most this often, so reading pages stays off
/// the one write connection.
const TOUCH_EVERY: Duration = Duration::minutes(1);

/// The path of the sign-in route; the token follows it.
pub const SIGN_IN_PATH: &str = "/sign-in/";

/// A fresh random token, as 64 hex digits.
pub fn new_token() -> Result<String, CoreError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| CoreError::Internal(format!("no randomness for a token: {e}")))?;
    Ok(hex::encode(bytes))
}

/// What is stored for a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The CSRF token that forms of this session carry.
pub fn csrf_token(session_token: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"incidentbot csrf\0");
    hasher.update(session_token.as_bytes());
    hex::encode(hasher.finalize())
}

/// Whether `offered` is this session's CSRF token, compared in constant time.
pub fn csrf_matches(session_token: &str, offered: &str) -> bool {
    let expected = csrf_token(session_token);
    expected.len() == offered.len() && expected.bytes().zip(offered.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// Only tokens we could have made are looked up: 64 lowercase hex digits.
fn well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A link handed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInLink {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// A session that was started: the browser keeps `token` in its cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedSession {
    pub user: WebUser,
    pub token: String,
}

/// Makes a one-time sign-in link for `user`, valid for [`LINK_LIFETIME`] from `now`.
pub async fn issue_link(db: &Db, base: &str, user: &WebUser, now: DateTime<Utc>) -> Result<SignInLink, CoreError> {
    let token = new_token()?;
    let expires_at = now + LINK_LIFETIME;
    db.add_web_link(&token_hash(&token), user, now, expires_at).await?;
    Ok(SignInLink { url: format!("{}{SIGN_IN_PATH}{token}", base.trim_end_matches('/')), expires_at })
}

/// Whether a link would start a session now, without using it up.
pub async fn check_link(db: &Db, token: &str, now: DateTime<Utc>) -> Result<Result<WebUser, LinkRefusal>, CoreError> {
    if !well_formed(token) {
        return Ok(Err(LinkRefusal::Unknown));
    }
    Ok(db.check_web_link(&token_hash(token), now).await?)
}

/// Uses a link up and starts a session; a link starts at most one.
pub async fn redeem_link(
    db: &Db,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Result<StartedSession, LinkRefusal>, CoreError> {
    if !well_formed(token) {
        return Ok(Err(LinkRefusal::Unknown));
    }
    let session = new_token()?;
    Ok(db
        .redeem_web_link(&token_hash(token), &token_hash(&session), now)
        .await?
        .map(|user| StartedSession { user, token: session }))
}

/// The person a session token belongs to, while the session lasts. An expired session
/// is ended here, so it never comes back.
pub async fn session_user(db: &Db, token: &str, now: DateTime<Utc>) -> Result<Option<WebUser>, CoreError> {
    if !well_formed(token) {
        return Ok(None);
    }
    let hash = token_hash(token);
    let Some(session) = db.web_session(&hash).await? else { return Ok(None) };
    if session.ended {
        return Ok(None);
    }
    if now - session.last_seen_at >= SESSION_IDLE || now - session.created_at >= SESSION_MAX_AGE {
        db.end_web_session(&hash, now).await?;
        return Ok(None);
    }
    if now - session.last_seen_at >= TOUCH_EVERY {
        db.touch_web_session(&hash, now).await?;
    }
    Ok(Some(session.user))
}

/// Ends a session (log out).
pub async fn end_session(db: &Db, token: &str, now: DateTime<Utc>) -> Result<(), CoreError> {
    if well_formed(token) {
        db.end_web_session(&token_hash(token), now).await?;
    }
    Ok(())
}

impl Core {
    /// `/incident web`: a private one-time link for the person who typed it.
    pub(crate) async fn web_sign_in_reply(&self, inv: &Invocation) -> Result<Outcome, Problem> {
        let user = WebUser { platform: self.chat.platform(), user_id: inv.user.clone() };
        let link = issue_link(&self.db, &self.settings.sign_in_base, &user, self.now()).await?;
        Ok(Outcome::reply(sign_in_message(&link, self.settings.timezone)))
    }

    /// A sign-in link for `user` on `platform`: `incidentbot web-link`.
    pub async fn web_link_for(&self, platform: Platform, user: &str) -> Result<SignInLink, CoreError> {
        let user = WebUser { platform, user_id: user.to_string() };
        issue_link(&self.db, &self.settings.sign_in_base, &user, self.now()).await
    }
}

/// The private reply carrying a link.
fn sign_in_message(link: &SignInLink, tz: chrono_tz::Tz) -> Message {
    Message::new()
        .line(Line::new().text("🔑 Your sign-in link for the incident pages (only you can see this):"))
        .line(Line::new().text(link.url.clone()))
        .line(Line::new().text(format!(
            "It works once, until {}. Do not share it: it signs in as you.",
            crate::format::time(link.expires_at, tz)
        )))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex_and_stored_only_hashed() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(a, b);
        assert!(well_formed(&a));
        assert_ne!(token_hash(&a), a);
        assert_eq!(token_hash(&a).len(), 64);
    }

    #[test]
    fn csrf_tokens_belong_to_their_session() {
        let session = new_token().unwrap();
        let other = new_token().unwrap();
        assert!(csrf_matches(&session, &csrf_token(&session)));
        assert!(!csrf_matches(&other, &csrf_token(&session)));
        assert!(!csrf_matches(&session, ""));
    }

    #[tokio::test]
    async fn a_link_starts_one_session_and_expires() {
        let db = Db::in_memory().await.unwrap();
        let now = Utc::now();
        let user = WebUser { platform: Platform::Console, user_id: "alice".into() };
        let link = issue_link(&db, "http://x", &user, now).await.unwrap();
        let token = link.url.rsplit('/').next().unwrap().to_string();
        let started = redeem_link(&db, &token, now).await.unwrap().unwrap();
        assert_eq!(started.user, user);
        assert_eq!(redeem_link(&db, &token, now).await.unwrap(), Err(LinkRefusal::Used));
        assert_eq!(session_user(&db, &started.token, now).await.unwrap(), Some(user.clone()));
        assert_eq!(session_user(&db, &started.token, now + SESSION_IDLE).await.unwrap(), None);

        let late = issue_link(&db, "http://x", &user, now).await.unwrap();
        let late = late.url.rsplit('/').next().unwrap().to_string();
        assert_eq!(redeem_link(&db, &late, now + LINK_LIFETIME).await.unwrap(), Err(LinkRefusal::Expired));
        assert_eq!(redeem_link(&db, &"0".repeat(64), now).await.unwrap(), Err(LinkRefusal::Unknown));
        assert_eq!(redeem_link(&db, "<script>", now).await.unwrap(), Err(LinkRefusal::Unknown));
    }

    #[tokio::test]
    async fn a_session_ends_at_its_maximum_age_and_on_log_out() {
        let db = Db::in_memory().await.unwrap();
        let mut now = Utc::now();
        let user = WebUser { platform: Platform::Slack, user_id: "U1".into() };
        let link = issue_link(&db, "http://x", &user, now).await.unwrap();
        let token = link.url.rsplit('/').next().unwrap().to_string();
        let started = redeem_link(&db, &token, now).await.unwrap().unwrap();
        // Busy every 11 hours: never idle, but a week is the end.
        while now < Utc::now() + SESSION_MAX_AGE - Duration::hours(11) {
            now += Duration::hours(11);
            assert!(session_user(&db, &started.token, now).await.unwrap().is_some(), "{now}");
        }
        assert!(session_user(&db, &started.token, now + Duration::hours(11)).await.unwrap().is_none());

        let link = issue_link(&db, "http://x", &user, now).await.unwrap();
        let token = link.url.rsplit('/').next().unwrap().to_string();
        let started = redeem_link(&db, &token, now).await.unwrap().unwrap();
        end_session(&db, &started.token, now).await.unwrap();
        assert!(session_user(&db, &started.token, now).await.unwrap().is_none());
    }
}
