//! What the web pages show, read through the core: the filtered incident list, one
//! incident's page, the postmortem library's search, and open action items by owner.
//! Durations come from [`crate::durations`], the one definition. The web adapter only
//! renders these values.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use storage::pages::{HIT_END, HIT_START};
use storage::{
    ActionFilter, ActionItem, ActionStatus, Detection, Incident, IncidentQuery, Postmortem, PostmortemField,
    StoredAlert, TimelineEntry, TrackerLink,
};

use crate::core::Core;
use crate::durations::Durations;
use crate::error::CoreError;
use crate::visibility::Viewer;

/// Incidents on one page of the list.
pub const INCIDENTS_PER_PAGE: i64 = 50;
/// Timeline entries on one page of an incident.
pub const ENTRIES_PER_PAGE: i64 = 500;
/// The most hits the library shows.
pub const LIBRARY_HITS: i64 = 50;
/// Words a library search uses; more are ignored.
const MAX_SEARCH_WORDS: usize = 12;
/// Characters per search word; a longer one is cut.
const MAX_SEARCH_WORD: usize = 64;

/// One row of the incident list.
#[derive(Debug, Clone)]
pub struct IncidentRow {
    pub incident: Incident,
    pub durations: Durations,
    /// Started until resolved, or until now while it is not resolved.
    pub duration: Duration,
}

/// A page of the incident list.
#[derive(Debug, Clone)]
pub struct IncidentList {
    pub rows: Vec<IncidentRow>,
    pub total: i64,
    /// 1-based.
    pub page: i64,
    pub pages: i64,
}

/// Everything on an incident's page.
#[derive(Debug, Clone)]
pub struct IncidentPage {
    pub incident: Incident,
    pub durations: Durations,
    pub timeline: Vec<TimelineEntry>,
    pub timeline_total: i64,
    pub page: i64,
    pub pages: i64,
    pub key_only: bool,
    /// Each action item with its tracker issue, when it has one.
    pub actions: Vec<(ActionItem, Option<TrackerLink>)>,
    pub postmortem: Postmortem,
    /// Catalog services it touched, by name.
    pub services: Vec<String>,
    /// Its contributing-factor tags, by tag.
    pub factor_tags: Vec<String>,
    /// The alert that detected it, when one did.
    pub detection: Option<Detection>,
    /// Alerts attached to it, oldest first, at most [`ALERTS_SHOWN`].
    pub alerts: Vec<StoredAlert>,
    /// How many alerts are attached in all.
    pub alerts_total: usize,
}

/// The most alerts an incident's page lists.
pub const ALERTS_SHOWN: usize = 100;

/// A part of a snippet: matched words are marked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnippetPart {
    pub text: String,
    pub matched: bool,
}

/// One library hit.
#[derive(Debug, Clone)]
pub struct LibraryResult {
    pub incident: Incident,
    /// The field's label, or "Key event".
    pub part: String,
    pub snippet: Vec<SnippetPart>,
}

/// A library search's hits, best first.
#[derive(Debug, Clone, Default)]
pub struct LibraryResults {
    pub results: Vec<LibraryResult>,
    /// So many matched that only the newest postmortems and key events were ranked.
    pub narrowed: bool,
}

/// One open action item on the actions page.
#[derive(Debug, Clone)]
pub struct ActionRow {
    pub item: ActionItem,
    pub incident_title: String,
    /// Days since it was created.
    pub age_days: i64,
    /// Days past its due date; 0 when not overdue.
    pub overdue_days: i64,
}

impl Core {
    /// A page of incidents matching `query`, newest first.
    /// Private incidents `viewer` is not part of are left out.
    pub async fn incident_list(
        &self,
        viewer: &str,
        query: &IncidentQuery,
        page: i64,
    ) -> Result<IncidentList, CoreError> {
        let page = page.max(1);
        let offset = (page - 1).saturating_mul(INCIDENTS_PER_PAGE);
        let (incidents, total) = self.db.find_incidents(query, offset, INCIDENTS_PER_PAGE).await?;
        let incidents = self.visible(&Viewer::Person(viewer), incidents).await?;
        // The count leaves out the private incidents the viewer may not see (few: each
        // is checked by the visibility rule).
        let private = self.db.private_incidents_matching(query).await?;
        let private_total = private.len();
        let private_seen = self.visible(&Viewer::Person(viewer), private).await?.len();
        let hidden = i64::try_from(private_total - private_seen).unwrap_or(0);
        let now = self.now();
        let rows = incidents
            .into_iter()
            .map(|incident| {
                let durations = Durations::of(&incident);
                let duration =
                    durations.to_resolve.unwrap_or_else(|| (now - incident.started_at).max(Duration::zero()));
                IncidentRow { incident, durations, duration }
            })
            .collect();
        // Pages are counted over every match, hidden ones included, so paging by offset
        // reaches every visible row (a page may show fewer than a full page).
        Ok(IncidentList { rows, total: total - hidden, page, pages: pages(total, INCIDENTS_PER_PAGE) })
    }

    /// An incident's page: its header, a page of its timeline, its action items and
    /// postmortem. `None` when there is no such incident.
    /// A private incident `viewer` is not part of does not exist for them.
    pub async fn incident_page(
        &self,
        viewer: &str,
        id: i64,
        key_only: bool,
        page: i64,
    ) -> Result<Option<IncidentPage>, CoreError> {
        let Some(incident) = self.visible_incident(viewer, id).await? else { return Ok(None) };
        let page = page.max(1);
        let offset = (page - 1).saturating_mul(ENTRIES_PER_PAGE);
        let (timeline, timeline_total) = self.db.timeline_page(id, key_only, offset, ENTRIES_PER_PAGE).await?;
        let mut actions = Vec::new();
        for item in self.db.actions(&ActionFilter::Incident(id)).await? {
            let link = self.db.tracker_link(item.id).await?;
            actions.push((item, link));
        }
        let postmortem = self.db.postmortem(id).await?.unwrap_or_default();
        let mut alerts = self.db.alerts_of_incident(id).await?;
        let alerts_total = alerts.len();
        alerts.truncate(ALERTS_SHOWN);
        Ok(Some(IncidentPage {
            services: self.services_of(id).await?,
            factor_tags: self.factor_tags_of(id).await?,
            detection: self.db.detection(id).await?,
            alerts,
            alerts_total,
            durations: Durations::of(&incident),
            incident,
            timeline,
            timeline_total,
            page,
            pages: pages(timeline_total, ENTRIES_PER_PAGE),
            key_only,
            actions,
            postmortem,
        }))
    }

    /// The postmortem library: every postmortem field and key timeline event matching
    /// all the words of `query`, best first. Words are matched whole, with stemming
    /// ("failing" finds "failed"); punctuation is ignored, so no input is a syntax error.
    /// When very many match, only the newest are ranked and `narrowed` says so.
    pub async fn search_library(&self, viewer: &str, query: &str) -> Result<LibraryResults, CoreError> {
        let Some(expression) = match_expression(query) else { return Ok(LibraryResults::default()) };
        let found = self.db.search_library(&expression, LIBRARY_HITS).await?;
        let (hits, narrowed) = (found.hits, found.narrowed);
        let mut incidents: BTreeMap<i64, Incident> = BTreeMap::new();
        let mut results = Vec::with_capacity(hits.len());
        for hit in hits {
            if let std::collections::btree_map::Entry::Vacant(slot) = incidents.entry(hit.incident_id) {
                let Some(incident) = self.visible_incident(viewer, hit.incident_id).await? else { continue };
                slot.insert(incident);
            }
            let Some(incident) = incidents.get(&hit.incident_id).cloned() else { continue };
            results.push(LibraryResult { incident, part: part_label(&hit.part), snippet: snippet_parts(&hit.snippet) });
        }
        Ok(LibraryResults { results, narrowed })
    }

    /// Open action items grouped by owner: owners with overdue items first (most
    /// overdue first), and within an owner, overdue items first, then by due date.
    pub async fn open_actions_by_owner(&self, viewer: &str) -> Result<Vec<(String, Vec<ActionRow>)>, CoreError> {
        let items = self.db.actions(&ActionFilter::AllOpen).await?;
        let today = self.today();
        let mut titles: BTreeMap<i64, Option<String>> = BTreeMap::new();
        let mut owners: BTreeMap<String, Vec<ActionRow>> = BTreeMap::new();
        for item in items {
            if let std::collections::btree_map::Entry::Vacant(slot) = titles.entry(item.incident_id) {
                slot.insert(self.visible_incident(viewer, item.incident_id).await?.map(|i| i.title));
            }
            // Items of a private incident the viewer is not part of are not listed.
            if titles.get(&item.incident_id).is_none_or(Option::is_none) {
                continue;
            }
            let row = action_row(item, today, &titles);
            owners.entry(row.item.owner.clone()).or_default().push(row);
        }
        let mut grouped: Vec<(String, Vec<ActionRow>)> = owners.into_iter().collect();
        for (_, rows) in &mut grouped {
            rows.sort_by_key(|r| (r.overdue_days == 0, r.item.due, r.item.id));
        }
        grouped.sort_by_key(|(owner, rows)| {
            (std::cmp::Reverse(rows.iter().map(|r| r.overdue_days).max().unwrap_or(0)), owner.clone())
        });
        Ok(grouped)
    }
}

impl Core {
    /// The incident, if `viewer` may see it.
    pub async fn visible_incident(&self, viewer: &str, id: i64) -> Result<Option<Incident>, CoreError> {
        let Some(incident) = self.db.incident(id).await? else { return Ok(None) };
        Ok(self.may_see(&Viewer::Person(viewer), &incident).await?.then_some(incident))
    }
}

fn action_row(item: ActionItem, today: NaiveDate, titles: &BTreeMap<i64, Option<String>>) -> ActionRow {
    let created = item.created_at.date_naive();
    let overdue_days =
        if item.status == ActionStatus::Open && item.due < today { (today - item.due).num_days() } else { 0 };
    ActionRow {
        incident_title: titles.get(&item.incident_id).cloned().flatten().unwrap_or_default(),
        age_days: (today - created).num_days().max(0),
        overdue_days,
        item,
    }
}

/// How many pages `total` rows fill, at least one.
fn pages(total: i64, per_page: i64) -> i64 {
    ((total + per_page - 1) / per_page).max(1)
}

/// The FTS5 expression for what someone typed: each word quoted (so `AND`, `*`, `"`
/// and `NEAR` are just words), all of them required.
pub fn match_expression(query: &str) -> Option<String> {
    let words: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(MAX_SEARCH_WORDS)
        .map(|w| format!("\"{}\"", w.chars().take(MAX_SEARCH_WORD).collect::<String>()))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// The label of a stored library part.
fn part_label(part: &str) -> String {
    match part.parse::<PostmortemField>() {
        Ok(field) => crate::postmortem::FIELDS
            .iter()
            .find(|f| f.field == field)
            .map_or_else(|| part.to_string(), |f| f.label.to_string()),
        Err(_) => "Key event".to_string(),
    }
}

/// Splits a snippet at the hit marks.
fn snippet_parts(snippet: &str) -> Vec<SnippetPart> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut matched = false;
    for c in snippet.chars() {
        if c == HIT_START || c == HIT_END {
            if !current.is_empty() {
                parts.push(SnippetPart { text: std::mem::take(&mut current), matched });
            }
            matched = c == HIT_START;
        } else {
            current.push(c);
        }
    }
    if !current.is_empty() {
        parts.push(SnippetPart { text: current, matched });
    }
    parts
}

/// The duration of an ongoing or finished incident for display: `3d 4h`, `2h 05m`, `7m`.
pub fn duration_text(duration: Duration) -> String {
    let minutes = duration.num_minutes().max(0);
    let (days, hours, mins) = (minutes / 1440, (minutes / 60) % 24, minutes % 60);
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {mins:02}m")
    } else {
        format!("{mins}m")
    }
}

/// When an incident's durations are shown, a moment not reached yet reads "—".
pub fn optional_duration(duration: Option<Duration>) -> String {
    duration.map_or_else(|| "—".to_string(), duration_text)
}

/// The local date of a moment, for date filters.
pub fn local_day_start(date: NaiveDate, tz: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    date.and_hms_opt(0, 0, 0)?.and_local_timezone(tz).earliest().map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_words_are_quoted_so_nothing_is_syntax() {
        assert_eq!(match_expression("disk full"), Some("\"disk\" \"full\"".into()));
        assert_eq!(match_expression("\"a\" OR NEAR(*)"), Some("\"a\" \"OR\" \"NEAR\"".into()));
        assert_eq!(match_expression("  ;;  "), None);
        assert_eq!(match_expression("café ünïcode"), Some("\"café\" \"ünïcode\"".into()));
    }

    #[test]
    fn snippets_split_at_the_marks() {
        let parts = snippet_parts("the \u{2}disk\u{3} was full");
        assert_eq!(parts.len(), 3);
        assert!(parts[1].matched && parts[1].text == "disk");
        assert!(!parts[2].matched);
    }

    #[test]
    fn durations_read_short() {
        assert_eq!(duration_text(Duration::minutes(7)), "7m");
        assert_eq!(duration_text(Duration::minutes(125)), "2h 05m");
        assert_eq!(duration_text(Duration::minutes(3 * 1440 + 250)), "3d 4h");
    }
}
