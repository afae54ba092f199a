//! `GET /insights?weeks=26`: the charts, each with its numbers in a table beside it (the
//! table is also what a screen reader reads). Weeks start on Monday in the configured
//! time zone; the numbers come from the core's `insights`.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use commands::insights::{Spread, DEFAULT_WEEKS, MAX_WEEKS};
use commands::pages::optional_duration;
use maud::{html, Markup};
use serde::Deserialize;
use storage::Severity;

use super::auth::signed_in;
use super::charts;
use super::layout::{self, Section};
use super::{PageError, WebState};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct InsightsParams {
    pub weeks: String,
}

fn minutes(d: Option<Duration>) -> Option<f64> {
    d.map(|d| d.num_seconds() as f64 / 60.0)
}

fn spread_cells(spread: &Spread) -> Markup {
    html! { td.num { (optional_duration(spread.median)) } td.num { (optional_duration(spread.p90)) } td.num { (spread.count) } }
}

pub async fn page(State(state): State<WebState>, headers: HeaderMap, Query(params): Query<InsightsParams>) -> Response {
    let session = match signed_in(&state, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let weeks =
        params.weeks.trim().parse::<u32>().ok().filter(|w| (1..=MAX_WEEKS).contains(w)).unwrap_or(DEFAULT_WEEKS);
    let insights = match state.core().insights(weeks).await {
        Ok(insights) => insights,
        Err(error) => return PageError::from(error).into_response(),
    };
    let labels: Vec<String> = insights.weeks.iter().map(|w| w.start.format("%b %d").to_string()).collect();
    let counts: Vec<Vec<f64>> =
        insights.weeks.iter().map(|w| w.by_severity.iter().map(|c| *c as f64).collect()).collect();
    let sev_classes = ["fill-sev1", "fill-sev2", "fill-sev3", "fill-sev4"];
    let time_series = |pick: fn(&commands::insights::Week) -> Spread| {
        vec![
            ("line-median", insights.weeks.iter().map(|w| minutes(pick(w).median)).collect::<Vec<_>>()),
            ("line-p90", insights.weeks.iter().map(|w| minutes(pick(w).p90)).collect::<Vec<_>>()),
        ]
    };
    let ack_series = time_series(|w| w.to_acknowledge);
    let resolve_series = time_series(|w| w.to_resolve);
    let detection = &insights.detection;
    let detected_total = detection.by_monitoring + detection.by_people;
    let share = |n: usize| (n * 100).checked_div(detected_total).unwrap_or(0);
    let factor_rows: Vec<(String, f64)> =
        insights.recurring_factors.iter().map(|(f, n)| (f.clone(), *n as f64)).collect();
    let service_rows: Vec<(String, f64)> =
        insights.services.iter().map(|s| (s.service.clone(), s.incidents as f64)).collect();
    let actions = &insights.actions;
    let age_rows: Vec<(String, f64)> = actions.open_by_age.iter().map(|(l, n)| (l.to_string(), *n as f64)).collect();
    let owner_rows: Vec<(String, f64)> =
        actions.overdue_by_owner.iter().map(|(o, n)| (layout::person(Some(o)), *n as f64)).collect();
    let legend_sev = html! {
        p.legend { @for (i, s) in Severity::ALL.iter().enumerate() { span { i class={ "sev" (i + 1) } {} (s) } } }
    };
    let legend_lines = html! { p.legend { span { i.median {} "median" } span { i.p90 {} "p90" } } };
    let body = html! {
        h1 { "Insights" }
        form.filters method="get" action="/insights" {
            label { "Window" select name="weeks" {
                @for w in [4u32, 13, 26, 52, 104] { option value=(w) selected[w == weeks] { (w) " weeks" } }
            } }
            button type="submit" { "Show" }
        }
        p.muted { "The last " (weeks) " weeks, Monday to Sunday in " (state.settings().timezone) ". Durations are the same everywhere: acknowledge counts from declared, resolve from started." }

        h2 { "Incidents per week, by severity" }
        (legend_sev)
        div.chart id="chart-incidents" {
            (charts::stacked_bars("Incidents per week by severity", &labels, &counts, &sev_classes))
            div.data { table {
                thead { tr { th { "Week of" } @for s in Severity::ALL { th.num { (s) } } th.num { "All" } } }
                tbody { @for w in insights.weeks.iter().rev() { tr {
                    td { (w.start) } @for c in w.by_severity { td.num { (c) } } td.num { (w.total()) }
                } } }
            } }
        }

        h2 { "Time to acknowledge per week" }
        (legend_lines)
        div.chart id="chart-acknowledge" {
            (charts::lines("Time to acknowledge per week, median and p90", &labels, &ack_series, charts::nice_minutes_max, charts::minutes_tick))
            div.data { table {
                thead { tr { th { "Week of" } th.num { "Median" } th.num { "p90" } th.num { "n" } } }
                tbody { @for w in insights.weeks.iter().rev() { tr { td { (w.start) } (spread_cells(&w.to_acknowledge)) } } }
            } }
        }

        h2 { "Time to resolve per week" }
        (legend_lines)
        div.chart id="chart-resolve" {
            (charts::lines("Time to resolve per week, median and p90", &labels, &resolve_series, charts::nice_minutes_max, charts::minutes_tick))
            div.data { table {
                thead { tr { th { "Week of" } th.num { "Median" } th.num { "p90" } th.num { "n" } } }
                tbody { @for w in insights.weeks.iter().rev() { tr { td { (w.start) } (spread_cells(&w.to_resolve)) } } }
            } }
        }

        h2 { "By severity, over the window" }
        table {
            thead { tr { th { "Severity" } th.num { "Ack median" } th.num { "Ack p90" } th.num { "n" } th.num { "Resolve median" } th.num { "Resolve p90" } th.num { "n" } } }
            tbody { @for s in &insights.by_severity { tr {
                td { (layout::severity_badge(s.severity)) } (spread_cells(&s.to_acknowledge)) (spread_cells(&s.to_resolve))
            } } }
        }

        h2 { "Detection" }
        div.chart.stacked id="chart-detection" {
            (charts::horizontal_bars("Incidents by who detected them", &[
                ("Monitoring (alerts)".to_string(), detection.by_monitoring as f64),
                ("People".to_string(), detection.by_people as f64),
            ]))
            div.data { table {
                thead { tr { th { "Detected by" } th.num { "Incidents" } th.num { "Share" } th.num { "Detect median" } th.num { "Detect p90" } } }
                tbody {
                    tr { td { "Monitoring" } td.num { (detection.by_monitoring) } td.num { (share(detection.by_monitoring)) "%" }
                        td.num { (optional_duration(detection.monitoring_to_detect.median)) } td.num { (optional_duration(detection.monitoring_to_detect.p90)) } }
                    tr { td { "People" } td.num { (detection.by_people) } td.num { (share(detection.by_people)) "%" }
                        td.num { (optional_duration(detection.people_to_detect.median)) } td.num { (optional_duration(detection.people_to_detect.p90)) } }
                }
            } }
        }
        p.muted { "An incident an alert detected counts as detected by monitoring. Time to detect is declared minus started. Drills do not count." }

        h2 { "Recurring contributing factors" }
        @if factor_rows.is_empty() { p.muted { "No contributing-factor tag is on two or more incidents in this window." } }
        @else {
            div.chart id="chart-factors" {
                (charts::horizontal_bars("Recurring contributing-factor tags by incident count", &factor_rows))
                div.data { table {
                    thead { tr { th { "Tag" } th.num { "Incidents" } } }
                    tbody { @for (f, n) in &insights.recurring_factors { tr { td.title-cell { (f) } td.num { (n) } } } }
                } }
            }
        }
        p.muted { "Tags come from the postmortem's tag picker and " code { "/incident factor add" } "; drills do not count." }

        h2 { "Services by incident count" }
        @if service_rows.is_empty() { p.muted { "No incident in this window names a service (" code { "/incident service add" } ")." } }
        @else {
            div.chart.stacked id="chart-services" {
                (charts::horizontal_bars("Services by incident count", &service_rows))
                div.data { table {
                    thead { tr { th { "Service" } th.num { "Incidents" } th.num { "Mean time to resolve" } th.num { "Open actions" } } }
                    tbody { @for s in &insights.services { tr {
                        td.title-cell { a href={ "/incidents?service=" (s.service) } { (s.service) } }
                        td.num { (s.incidents) } td.num { (optional_duration(s.mttr)) } td.num { (s.open_actions) }
                    } } }
                } }
            }
        }

        h2 { "Action items" }
        p { "Of " (actions.total) " created in the window: " (actions.done) " done, " (actions.wontfix) " won't fix, " (actions.open) " open."
            @if let Some(pct) = actions.completion_percent() { " Completion rate " strong { (pct) "%" } "." } }
        h3 { "Open action items by age" }
        div.chart id="chart-action-age" {
            (charts::horizontal_bars("Open action items by age", &age_rows))
            div.data { table {
                thead { tr { th { "Age" } th.num { "Open" } } }
                tbody { @for (l, n) in &actions.open_by_age { tr { td { (l) } td.num { (n) } } } }
            } }
        }
        @if !owner_rows.is_empty() {
            h3 { "Overdue action items by owner" }
            div.chart id="chart-overdue" {
                (charts::horizontal_bars("Overdue action items by owner", &owner_rows))
                div.data { table {
                    thead { tr { th { "Owner" } th.num { "Overdue" } } }
                    tbody { @for (o, n) in &owner_rows { tr { td { (o) } td.num { (n) } } } }
                } }
            }
        }
    };
    layout::page("Insights", Section::Insights, &session.viewer(), body).into_response()
}
