//! Atlassian Statuspage as the status page, through its REST API
//! (<https://developer.statuspage.io/>): `POST /pages/{page_id}/incidents` creates the
//! page incident and `PATCH /pages/{page_id}/incidents/{incident_id}` updates it, with
//! `Authorization: OAuth <api key>`.

use async_trait::async_trait;
use commands::status_page::{PagePost, StatusPage, StatusPageError};
use serde_json::{json, Map, Value};

use crate::secret::Secret;
use crate::trackers::http::{send_json, Failed};

pub const DEFAULT_API_URL: &str = "https://api.statuspage.io/v1";

pub struct Statuspage {
    http: reqwest::Client,
    api_url: String,
    api_key: Secret,
    page_id: String,
}

impl Statuspage {
    pub fn new(api_url: &str, api_key: Secret, page_id: &str) -> anyhow::Result<Statuspage> {
        if page_id.is_empty() || !page_id.chars().all(|c| c.is_ascii_alphanumeric()) {
            anyhow::bail!("`statuspage.page_id`: `{page_id}` is not a Statuspage page id");
        }
        Ok(Statuspage {
            http: crate::trackers::http::client()?,
            api_url: api_url.trim_end_matches('/').to_string(),
            api_key,
            page_id: page_id.to_string(),
        })
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}/pages/{}{path}", self.api_url, self.page_id))
            .header("Authorization", format!("OAuth {}", self.api_key.expose()))
    }
}

/// The metadata key our marker lives under.
const METADATA_KEY: &str = "incidentbot";

/// The `incident` object Statuspage takes.
pub fn incident_body(post: &PagePost, creating: bool) -> Value {
    let components: Map<String, Value> =
        post.components.iter().map(|(id, status)| (id.clone(), json!(status.as_str()))).collect();
    let mut incident = json!({
        "status": post.status.as_str(),
        "body": post.body,
        "components": components,
        "component_ids": post.components.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(),
    });
    if creating {
        incident["name"] = json!(post.name);
        incident["impact_override"] = json!(post.impact.as_str());
        // Metadata is not shown on the page; its top-level values must be objects.
        incident["metadata"] = json!({ METADATA_KEY: { "incident": post.marker } });
    }
    json!({ "incident": incident })
}

fn failed(operation: &'static str) -> impl Fn(Failed) -> StatusPageError {
    move |f| StatusPageError::new(operation, f.detail, f.retryable)
}

#[async_trait]
impl StatusPage for Statuspage {
    async fn create_incident(&self, post: &PagePost) -> Result<String, StatusPageError> {
        let answer = send_json(self.request(reqwest::Method::POST, "/incidents").json(&incident_body(post, true)))
            .await
            .map_err(failed("creating a Statuspage incident"))?;
        answer["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| StatusPageError::new("creating a Statuspage incident", "the answer has no id", false))
    }

    async fn find_incident(&self, marker: &str) -> Result<Option<String>, StatusPageError> {
        let answer = send_json(self.request(reqwest::Method::GET, "/incidents/unresolved"))
            .await
            .map_err(failed("listing unresolved Statuspage incidents"))?;
        let incidents = answer.as_array().cloned().unwrap_or_default();
        Ok(incidents
            .iter()
            .find(|incident| incident["metadata"][METADATA_KEY]["incident"] == marker)
            .and_then(|incident| incident["id"].as_str().map(str::to_string)))
    }

    async fn has_latest_update(&self, id: &str, post: &PagePost) -> Result<bool, StatusPageError> {
        let incident = send_json(self.request(reqwest::Method::GET, &format!("/incidents/{id}")))
            .await
            .map_err(failed("reading a Statuspage incident"))?;
        // `incident_updates` come newest first.
        let newest = &incident["incident_updates"][0];
        Ok(newest["body"] == post.body.as_str() && newest["status"] == post.status.as_str())
    }

    async fn update_incident(&self, id: &str, post: &PagePost) -> Result<(), StatusPageError> {
        send_json(self.request(reqwest::Method::PATCH, &format!("/incidents/{id}")).json(&incident_body(post, false)))
            .await
            .map_err(failed("updating a Statuspage incident"))?;
        Ok(())
    }
}
