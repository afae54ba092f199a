//! `GET /incidents` (the filtered, paged list) and `GET /incidents/{id}` (header,
//! durations, timeline with key events, action items, links to chat and postmortem).
//! Filters live in the query string, so a filtered list is a link to share.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::{Days, NaiveDate};
use commands::pages::{duration_text, local_day_start, optional_duration};
use maud::{html, Markup};
use serde::{Deserialize, Serialize};
use storage::{ActionStatus, Incident, IncidentQuery, Platform, Severity, Status};

use super::auth::signed_in;
use super::layout::{self, person, severity_badge, status_text, time, Section};
use super::{parse_id, PageError, WebState};

/// The list's filters as they appear in the query string; blank means "any".
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct ListParams {
    pub status: String,
    pub severity: String,
    pub from: String,
    pub to: String,
    pub q: String,
    pub service: String,
    #[serde(skip_serializing)]
    pub page: String,
}

impl ListParams {
    /// The core's query, and a note for each filter that could not be read.
    fn query(&self, tz: chrono_tz::Tz, services: &commands::ServiceCatalog) -> (IncidentQuery, Vec<String>) {
        let mut problems = Vec::new();
        let mut query = IncidentQuery::default();
        let blank = |s: &str| s.trim().is_empty();
        if !blank(&self.status) {
            match self.status.trim().parse::<Status>() {
                Ok(status) => query.status = Some(status),
                Err(e) => problems.push(e.to_string()),
            }
        }
        if !blank(&self.severity) {
            match self.severity.trim().parse::<Severity>() {
                Ok(severity) => query.severity = Some(severity),
                Err(e) => problems.push(e.to_string()),
            }
        }
        let date = |raw: &str, what: &str, problems: &mut Vec<String>| -> Option<NaiveDate> {
            if blank(raw) {
                return None;
            }
            let parsed = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").ok();
            if parsed.is_none() {
                problems
                    .push(format!("`{}` is not a {what} date like 2026-03-05.", commands::format::truncate(raw, 40).0));
            }
            parsed
        };
        query.from = date(&self.from, "from", &mut problems).and_then(|d| local_day_start(d, tz));
        // "To" includes the whole day it names.
        query.to = date(&self.to, "to", &mut problems)
            .and_then(|d| d.checked_add_days(Days::new(1)))
            .and_then(|d| local_day_start(d, tz));
        if !blank(&self.service) {
            match services.resolve(self.service.trim()) {
                Ok(service) => query.service = Some(service.name.clone()),
                Err(unknown) => problems.push(unknown.to_string()),
            }
        }
        let title = self.q.trim();
        if !title.is_empty() {
            query.title = Some(title.chars().take(commands::limits::MAX_TITLE).collect());
        }
        (query, problems)
    }

    fn page(&self) -> i64 {
        self.page.trim().parse::<i64>().ok().filter(|p| (1..=1_000_000).contains(p)).unwrap_or(1)
    }

    /// The query string for another page of the same list.
    fn link_to_page(&self, page: i64) -> String {
        let filters = serde_urlencoded::to_string(self).unwrap_or_default();
        format!("/incidents?{filters}&page={page}")
    }
}

/// `GET /incidents`.
pub async fn list(State(state): State<WebState>, headers: HeaderMap, Query(params): Query<ListParams>) -> Response {
    let session = match signed_in(&state, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let tz = state.settings().timezone;
    let catalog = &state.settings().services;
    let (query, problems) = params.query(tz, catalog);
    let listed = match state.core().incident_list(&session.user.user_id, &query, params.page()).await {
        Ok(listed) => listed,
        Err(error) => return PageError::from(error).into_response(),
    };
    let statuses = Status::ALL.iter().map(|s| s.as_str());
    let severities = Severity::ALL.iter().map(|s| s.as_str());
    let body = html! {
        h1 { "Incidents" }
        form.filters method="get" action="/incidents" {
            label { "Status" select name="status" {
                option value="" { "any" }
                @for s in statuses { option value=(s) selected[params.status == s] { (s) } }
            } }
            label { "Severity" select name="severity" id="severity" {
                option value="" { "any" }
                @for s in severities { option value=(s) selected[params.severity == s] { (s) } }
            } }
            @if catalog.is_empty() {
                label { "Service" select name="service" disabled title="No services are configured ([[services]] in the config file)" { option value="" { "(none configured)" } } }
            } @else {
                label { "Service" select name="service" id="service" {
                    option value="" { "any" }
                    @for service in catalog.services() { option value=(service.name) selected[query.service.as_deref() == Some(service.name.as_str())] { (service.name) } }
                } }
            }
            label { "From" input type="date" name="from" value=(params.from); }
            label { "To" input type="date" name="to" value=(params.to); }
            label { "Title contains" input type="search" name="q" value=(params.q) maxlength="200"; }
            button type="submit" id="filter" { "Filter" }
            a href="/incidents" { "Clear" }
        }
        @for problem in &problems { div.flash.error { p { (problem) " That filter is ignored." } } }
        p.muted { (listed.total) " incident" @if listed.total != 1 { "s" } }
        table.incidents {
            thead { tr {
                th { "Incident" } th { "Title" } th { "Severity" } th { "Status" } th { "Commander" }
                th.num { "Duration" } th { "Declared" }
            } }
            tbody {
                @for row in &listed.rows {
                    tr {
                        td { a href={ "/incidents/" (row.incident.id) } { (row.incident.reference()) } }
                        td.title-cell { a href={ "/incidents/" (row.incident.id) } { (row.incident.title) } }
                        td { (severity_badge(row.incident.severity)) }
                        td { (status_text(row.incident.status)) }
                        td { (person(row.incident.commander.as_deref())) }
                        td.num { (duration_text(row.duration)) @if row.durations.to_resolve.is_none() { " (ongoing)" } }
                        td.muted { (time(row.incident.declared_at, tz)) }
                    }
                }
            }
        }
        @if listed.rows.is_empty() { p { "No incidents match." } }
        (pager(listed.page, listed.pages, |p| params.link_to_page(p)))
    };
    layout::page("Incidents", Section::Incidents, &session.viewer(), body).into_response()
}

/// Previous / next links for a paged list.
pub fn pager(page: i64, pages: i64, link: impl Fn(i64) -> String) -> Markup {
    html! {
        @if pages > 1 {
            nav.pager {
                @if page > 1 { a href=(link(page - 1)) { "← Newer" } }
                span.muted { "Page " (page) " of " (pages) }
                @if page < pages { a href=(link(page + 1)) { "Older →" } }
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PageParams {
    /// `1` keeps only the key events.
    pub key: String,
    pub page: String,
}

/// `GET /incidents/{id}`.
pub async fn page(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(params): Query<PageParams>,
) -> Response {
    let session = match signed_in(&state, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    match incident_body(&state, &session.user.user_id, &id, &params).await {
        Ok((title, body)) => layout::page(&title, Section::Incidents, &session.viewer(), body).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn incident_body(
    state: &WebState,
    viewer: &str,
    raw_id: &str,
    params: &PageParams,
) -> Result<(String, Markup), PageError> {
    let id = parse_id(raw_id)?;
    let key_only = params.key == "1";
    let page_number = params.page.trim().parse::<i64>().ok().filter(|p| (1..=1_000_000).contains(p)).unwrap_or(1);
    let Some(view) = state.core().incident_page(viewer, id, key_only, page_number).await? else {
        return Err(PageError::NotFound(format!("INC-{id} does not exist.")));
    };
    let tz = state.settings().timezone;
    let incident = &view.incident;
    let today = state.core().today();
    let key_param = if key_only { "1" } else { "" };
    let body = html! {
        p.muted { a href="/incidents" { "← All incidents" } }
        h1 { (incident.reference()) ": " (incident.title) }
        p {
            (severity_badge(incident.severity)) " "
            span.muted { (state.settings().severity_label(incident.severity).label) } " · "
            (status_text(incident.status))
            " · " a href={ "/incidents/" (id) "/postmortem" } { "Postmortem" }
            @if let Some(link) = channel_link(state, incident) { " · " a href=(link) { "Open #" (incident.channel_name) " in " (incident.platform) } }
            @else { " · " span.muted { "#" (incident.channel_name) " (" (incident.platform) ")" } }
        }
        @if let Some(description) = &incident.description { p.answer { (description) } }
        dl.facts {
            div { dt { "Commander" } dd { (person(incident.commander.as_deref())) } }
            div { dt { "Comms" } dd { (person(incident.comms.as_deref())) } }
            div { dt { "Scribe" } dd { (person(incident.scribe.as_deref())) } }
            div { dt { "Declared by" } dd { (person(Some(&incident.declared_by))) } }
            div { dt { "Services" } @if view.services.is_empty() { dd.muted { "none named" } } @else { dd {
                @for (i, service) in view.services.iter().enumerate() { @if i > 0 { ", " } a href={ "/incidents?service=" (service) } { (service) } }
            } } }
            div { dt { "Contributing factors" } @if view.factor_tags.is_empty() { dd.muted { "none tagged" } } @else { dd { (view.factor_tags.join(", ")) } } }
            div { dt { "Detected by" } @match &view.detection {
                Some(d) => dd { "alert " (if d.alertname.is_empty() { "(unnamed)" } else { d.alertname.as_str() }) " from " (d.source) " at " (time(d.alert_at, tz)) },
                None => dd { "people" },
            } }
            div { dt { "Started" } dd { (time(incident.started_at, tz)) } }
            div { dt { "Time to detect" } dd { (duration_text(view.durations.to_detect)) } }
            div { dt { "Time to acknowledge" } dd { (optional_duration(view.durations.to_acknowledge)) } }
            div { dt { "Time to mitigate" } dd { (optional_duration(view.durations.to_mitigate)) } }
            div { dt { "Time to resolve" } dd { (optional_duration(view.durations.to_resolve)) } }
        }
        h2 id="timeline" { "Timeline" }
        p.toggle {
            @if key_only {
                strong { "Key events only" } " · " a href={ "/incidents/" (id) "#timeline" } id="all-events" { "Show every entry" }
            } @else {
                a href={ "/incidents/" (id) "?key=1#timeline" } id="key-only" { "Key events only" } " · " strong { "Every entry" }
            }
            span.muted { " (" (view.timeline_total) " entries; key events are marked ★)" }
        }
        ol.timeline {
            @for entry in &view.timeline {
                li class=[entry.is_key.then_some("key")] {
                    @if entry.is_key { span.keymark title="Key event" { "★" } }
                    span.when { (commands::format::time(entry.at, tz)) }
                    span.kind { (entry.kind) }
                    strong { (person(Some(&entry.author))) } ": "
                    @if entry.deleted_at.is_some() { span.deleted { (entry.text) } " (deleted)" }
                    @else { (entry.text) @if entry.edited_at.is_some() { span.muted { " (edited)" } } }
                }
            }
        }
        (pager(view.page, view.pages, |p| format!("/incidents/{id}?key={key_param}&page={p}#timeline")))
        h2 id="alerts" { "Alerts" }
        @if view.alerts.is_empty() { p.muted { "No alert is attached to it." } }
        @else {
            @if view.alerts_total > view.alerts.len() { p.muted { "The first " (view.alerts.len()) " of " (view.alerts_total) " alerts." } }
            table.alerts {
                thead { tr { th { "#" } th { "Alert" } th { "Source" } th { "Status" } th { "Since" } th.num { "Deliveries" } } }
                tbody {
                    @for alert in &view.alerts {
                        tr {
                            td { "#" (alert.id) }
                            td.title-cell { strong { (alert.alertname) } " " (alert.title)
                                @if let Some(url) = alert.url.as_deref().filter(|u| u.starts_with("https://") || u.starts_with("http://")) { " " a href=(url) rel="noopener noreferrer" { "source" } } }
                            td { (alert.source) }
                            td { (alert.status.as_str()) }
                            td.muted { (time(alert.starts_at, tz)) @if let Some(end) = alert.ends_at { " → " (time(end, tz)) } }
                            td.num { (alert.deliveries) }
                        }
                    }
                }
            }
        }
        h2 { "Action items" }
        @if view.actions.is_empty() { p.muted { "None yet." } }
        @else {
            table {
                thead { tr { th { "#" } th { "Action" } th { "Owner" } th { "Due" } th { "Kind" } th { "Status" } th { "Tracked in" } } }
                tbody {
                    @for (item, link) in &view.actions {
                        tr {
                            td { "#" (item.id) }
                            td.title-cell { (item.text) }
                            td { (person(Some(&item.owner))) }
                            td class=[(item.status == ActionStatus::Open && item.due < today).then_some("overdue")] { (item.due) }
                            td { (item.kind) }
                            td { (item.status) }
                            td { (tracker_cell(link.as_ref())) }
                        }
                    }
                }
            }
            p { a href="/actions" { "Change open action items" } }
        }
    };
    Ok((format!("{}: {}", incident.reference(), incident.title), body))
}

/// An action item's tracker issue: its key, linking to it when the URL is a web one.
pub fn tracker_cell(link: Option<&storage::TrackerLink>) -> Markup {
    html! {
        @match link {
            Some(link) if link.url.starts_with("https://") || link.url.starts_with("http://") => {
                a href=(link.url) rel="noopener noreferrer" class="issue" { (link.issue_key) } span.muted { " (" (link.tracker) ")" }
            }
            Some(link) => { (link.issue_key) span.muted { " (" (link.tracker) ")" } }
            None => span.muted { "—" },
        }
    }
}

/// The incident's channel on its platform, when the platform has web links.
fn channel_link(state: &WebState, incident: &Incident) -> Option<String> {
    let channel = incident.channel_id.as_ref()?.as_str();
    let safe = channel.chars().all(|c| c.is_ascii_alphanumeric());
    match incident.platform {
        Platform::Slack if safe => Some(format!("https://slack.com/app_redirect?channel={channel}")),
        Platform::Discord if safe => {
            state.inner.discord_guild.map(|guild| format!("https://discord.com/channels/{guild}/{channel}"))
        }
        _ => None,
    }
}
