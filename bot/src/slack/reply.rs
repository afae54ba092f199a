//! Delivering the core's [`Outcome`] to the Slack user who acted: the private reply
//! through the request's `response_url` (or `chat.postEphemeral` when there is none),
//! and a form as a modal through `views.open`.

use commands::{CoreError, Message, Outcome};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::SlackState;
use super::{limits, render};

/// Who gets a private reply, and how.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ReplyTo {
    /// The user's Slack id.
    #[serde(rename = "u")]
    pub user: String,
    /// The channel the user acted in.
    #[serde(rename = "c")]
    pub channel: String,
    /// Slack's reply hook for this interaction, when it gave one.
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub response_url: Option<String>,
}

impl ReplyTo {
    /// The modal's `private_metadata`: where the submission's reply goes.
    pub fn to_metadata(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_metadata(text: &str) -> Option<ReplyTo> {
        serde_json::from_str(text).ok()
    }
}

/// Delivers a core result: opens its form (with `trigger_id`) and sends its reply.
/// Failures are logged; the core's work is already committed either way.
pub async fn deliver(state: &SlackState, to: &ReplyTo, trigger_id: Option<&str>, result: Result<Outcome, CoreError>) {
    crate::metrics::metrics().observe_result(&result);
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(error) => {
            tracing::error!(error = %error, user = %to.user, "Slack request failed in the core");
            send_private(state, to, &error.reply()).await;
            return;
        }
    };
    if let Some(form) = &outcome.form {
        match trigger_id {
            Some(trigger_id) => {
                let view = render::modal(form, &to.to_metadata());
                let body = json!({ "trigger_id": trigger_id, "view": view });
                if let Err(error) = state.chat.api().call("views.open", &body).await {
                    tracing::warn!(%error, "could not open a modal");
                    let text = format!("Could not open the form ({error}). Please try again.");
                    send_private(state, to, &Message::plain(text)).await;
                }
            }
            None => {
                tracing::warn!("the core asked for a form, but this interaction cannot open one")
            }
        }
    }
    if let Some(reply) = &outcome.reply {
        send_private(state, to, reply).await;
    }
}

/// Delivers a core result whose reply path has expired (a request run again long after
/// it came): the reply goes to `to.user` by DM, and a form is not opened (its
/// `trigger_id` expired too).
pub async fn deliver_by_dm(state: &SlackState, to: &ReplyTo, result: Result<Outcome, CoreError>) {
    crate::metrics::metrics().observe_result(&result);
    let reply = match result {
        Ok(outcome) => outcome.reply,
        Err(error) => {
            tracing::error!(error = %error, user = %to.user, "Slack request failed in the core");
            Some(error.reply())
        }
    };
    let Some(reply) = reply else { return };
    if let Err(error) = commands::Chat::send_dm(state.chat.as_ref(), &to.user, &reply).await {
        tracing::warn!(%error, "could not deliver a late reply by DM");
    }
}

/// A message only `to.user` sees, in as many parts as it needs: through the
/// `response_url` while Slack allows its uses, then through `chat.postEphemeral`.
pub async fn send_private(state: &SlackState, to: &ReplyTo, message: &Message) {
    let hooked = render::ephemeral_bodies(message);
    let posted = render::post_bodies(&to.channel, message);
    let mut response_url = to.response_url.as_deref();
    for (n, (hook_body, mut body)) in hooked.into_iter().zip(posted).enumerate() {
        if let Some(url) = response_url.filter(|_| n < limits::RESPONSE_URL_USES) {
            match post_response_url(state, url, &hook_body).await {
                Ok(()) => continue,
                Err(error) => {
                    tracing::warn!(%error, "response_url failed; trying chat.postEphemeral");
                    response_url = None;
                }
            }
        }
        body["user"] = json!(to.user);
        if let Err(error) = state.chat.api().call("chat.postEphemeral", &body).await {
            tracing::warn!(%error, "could not deliver a private reply");
            return;
        }
    }
}

async fn post_response_url(state: &SlackState, url: &str, body: &Value) -> anyhow::Result<()> {
    let response = state
        .responder
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("response_url: {}", e.without_url()))?;
    if !response.status().is_success() {
        anyhow::bail!("response_url answered HTTP {}", response.status());
    }
    Ok(())
}
