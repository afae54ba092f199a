//! Read-only queries for the web pages: the filtered incident list, a page of one
//! incident's timeline, the postmortem library's full-text search, and the action items
//! the insights count.
//!
//! Everything is shared SQL but two things the engines spell differently: the title's
//! substring test (`instr` / `strpos`) and the full-text search itself (FTS5's `MATCH`,
//! `snippet()` and `rank` on SQLite; a GIN-indexed `tsvector` with
//! `websearch_to_tsquery`, `ts_headline` and `ts_rank` on Postgres). Both kept in step by
//! triggers, both give the same hits' shape.

use chrono::{DateTime, Utc};

use crate::model::{ActionItem, Incident, Severity, Status, TimelineEntry};
use crate::portable::PortableRow;
use crate::time::to_millis;
use crate::{Db, StorageError};

/// Which incidents the list shows. Every part is optional and they combine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncidentQuery {
    pub status: Option<Status>,
    pub severity: Option<Severity>,
    /// Declared at or after.
    pub from: Option<DateTime<Utc>>,
    /// Declared before.
    pub to: Option<DateTime<Utc>>,
    /// Words that must appear in the title, case-insensitively.
    pub title: Option<String>,
    /// A catalog service the incident names.
    pub service: Option<String>,
}

/// One hit of the library search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryHit {
    pub incident_id: i64,
    /// The postmortem field's key, or `timeline` for a key event.
    pub part: String,
    /// The matching passage; the matched words sit between [`HIT_START`] and [`HIT_END`].
    pub snippet: String,
}

/// What a library search found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibrarySearch {
    /// The best hits first.
    pub hits: Vec<LibraryHit>,
    /// So many matched that only the newest were ranked.
    pub narrowed: bool,
}

/// How many of the newest matching postmortem fields, and how many of the newest
/// matching key events, a library search ranks at most.
pub const RANKED_CANDIDATES: i64 = 5_000;

/// Marks the start of a matched word in a [`LibraryHit`]'s snippet. Stored text never
/// holds control characters (the core cleans them out), so the marks are unambiguous.
pub const HIT_START: char = '\u{2}';
/// Marks the end of a matched word.
pub const HIT_END: char = '\u{3}';

// `concat!` needs literals, so the shared parts of the SQL are macros.
macro_rules! incident_select {
    () => {
        "SELECT i.id, i.title, i.description, i.severity, i.status, i.platform, i.channel_name,
        i.channel_id, i.declared_by, i.started_at, i.declared_at, i.acknowledged_at,
        i.mitigated_at, i.resolved_at, i.closed_at, i.revision, i.drill, i.private,
        (SELECT user_id FROM incident_roles r WHERE r.incident_id = i.id AND r.role = 'commander') AS commander,
        (SELECT user_id FROM incident_roles r WHERE r.incident_id = i.id AND r.role = 'comms') AS comms,
        (SELECT user_id FROM incident_roles r WHERE r.incident_id = i.id AND r.role = 'scribe') AS scribe
     FROM incidents i "
    };
}

/// The list's filter; `$title_test` is the engine's "`$5` occurs in the lowered title".
macro_rules! incident_filter {
    ($title_test:literal) => {
        concat!(
            "WHERE ($1 IS NULL OR i.status = $1) AND ($2 IS NULL OR i.severity = $2)
       AND ($3 IS NULL OR i.declared_at >= $3) AND ($4 IS NULL OR i.declared_at < $4)
       AND ($5 IS NULL OR ",
            $title_test,
            " > 0)
       AND ($6 IS NULL OR EXISTS (SELECT 1 FROM incident_services s WHERE s.incident_id = i.id AND s.service = $6)) "
        )
    };
}

/// The list query, its count, and the matching private incidents, for one engine's
/// title test.
macro_rules! incident_list_sql {
    ($title_test:literal) => {
        (
            concat!(incident_select!(), incident_filter!($title_test), "ORDER BY i.id DESC LIMIT $7 OFFSET $8"),
            concat!("SELECT count(*) FROM incidents i ", incident_filter!($title_test)),
            concat!(incident_select!(), incident_filter!($title_test), "AND i.private ORDER BY i.id"),
        )
    };
}

const SQLITE_LIST_SQL: (&str, &str, &str) = incident_list_sql!("instr(lower(i.title), lower($5))");
const POSTGRES_LIST_SQL: (&str, &str, &str) = incident_list_sql!("strpos(lower(i.title), lower($5))");

/// SQLite: FTS5 over `library_fts`, best (lowest bm25) first, among the newest
/// [`RANKED_CANDIDATES`] postmortem fields and as many key events. Rowids: a postmortem
/// field is incident_id * 16 + its position (newest incident highest); a key event is
/// minus its entry id (newest lowest), so FTS5 walks both orders without sorting. The
/// snippets are made afterwards, for the hits only ([`SQLITE_SNIPPET_SQL`]).
const SQLITE_SEARCH_SQL: &str =
    "SELECT rowid, SUM(rowid > 0) OVER () AS fields, SUM(rowid < 0) OVER () AS events FROM (
         SELECT * FROM (SELECT rowid, bm25(library_fts) AS score FROM library_fts
                        WHERE library_fts MATCH $1 AND rowid > 0 ORDER BY rowid DESC LIMIT $2)
         UNION ALL
         SELECT * FROM (SELECT rowid, bm25(library_fts) AS score FROM library_fts
                        WHERE library_fts MATCH $1 AND rowid < 0 ORDER BY rowid ASC LIMIT $2)
     ) ORDER BY score, rowid LIMIT $3";

/// SQLite: one hit's passage.
const SQLITE_SNIPPET_SQL: &str =
    "SELECT incident_id, part, snippet(library_fts, 2, char(2), char(3), '…', 16) AS snippet
     FROM library_fts WHERE library_fts MATCH $1 AND rowid = $2";

/// Postgres: the GIN-indexed `tsvector` of `library_docs`. `websearch_to_tsquery` reads
/// the caller's expression of quoted words the way FTS5 does (every word required);
/// `ts_headline` marks the matched words with the same control characters, and `body`
/// comes along so the snippet can be given FTS5's ellipses where it cuts the text.
/// Like SQLite's, only the newest [`RANKED_CANDIDATES`] fields and as many key events
/// (the same id scheme) are ranked.
const POSTGRES_SEARCH_SQL: &str = "WITH q AS (SELECT websearch_to_tsquery('english', $1) AS q),
     candidates AS (
         (SELECT d.id FROM library_docs d, q WHERE d.search @@ q.q AND d.id > 0 ORDER BY d.id DESC LIMIT $2)
         UNION ALL
         (SELECT d.id FROM library_docs d, q WHERE d.search @@ q.q AND d.id < 0 ORDER BY d.id ASC LIMIT $2)
     ),
     counted AS (SELECT count(*) FILTER (WHERE id > 0) AS fields, count(*) FILTER (WHERE id < 0) AS events
                 FROM candidates)
     SELECT d.incident_id, d.part, d.body, counted.fields, counted.events,
        ts_headline('english', d.body, q.q,
            'StartSel=' || chr(2) || ', StopSel=' || chr(3) || ', MaxWords=16, MinWords=10') AS snippet
     FROM candidates c JOIN library_docs d ON d.id = c.id, q, counted
     ORDER BY ts_rank(d.search, q.q) DESC, d.id LIMIT $3";

/// A `ts_headline` passage with `…` where it leaves out the start or the end of `body`,
/// as FTS5's `snippet()` shows it.
fn with_ellipses(snippet: String, body: &str) -> String {
    let plain: String = snippet.chars().filter(|c| *c != HIT_START && *c != HIT_END).collect();
    let plain = plain.trim();
    let body = body.trim();
    let mut shown = snippet.trim().to_string();
    if !body.starts_with(plain) {
        shown.insert(0, '…');
    }
    if !body.ends_with(plain) {
        shown.push('…');
    }
    shown
}

fn hit_from_row(row: &impl PortableRow) -> Result<LibraryHit, StorageError> {
    Ok(LibraryHit { incident_id: row.col("incident_id")?, part: row.col("part")?, snippet: row.col("snippet")? })
}

impl Db {
    /// A page of the incidents matching `query`, newest first, and how many match in all.
    pub async fn find_incidents(
        &self,
        query: &IncidentQuery,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<Incident>, i64), StorageError> {
        let (sql, count_sql, _) = match self.engine() {
            crate::Engine::Sqlite => SQLITE_LIST_SQL,
            crate::Engine::Postgres => POSTGRES_LIST_SQL,
        };
        let title = query.title.as_deref();
        with_pool!(self, |pool| {
            let rows = sqlx::query(sql)
                .bind(query.status.map(Status::as_str))
                .bind(query.severity.map(Severity::as_str))
                .bind(query.from.map(to_millis))
                .bind(query.to.map(to_millis))
                .bind(title)
                .bind(query.service.as_deref())
                .bind(limit)
                .bind(offset)
                .fetch_all(pool)
                .await?;
            let incidents = rows.iter().map(crate::incidents::incident_from_row).collect::<Result<Vec<_>, _>>()?;
            let total: i64 = sqlx::query_scalar(count_sql)
                .bind(query.status.map(Status::as_str))
                .bind(query.severity.map(Severity::as_str))
                .bind(query.from.map(to_millis))
                .bind(query.to.map(to_millis))
                .bind(title)
                .bind(query.service.as_deref())
                .fetch_one(pool)
                .await?;
            Ok((incidents, total))
        })
    }

    /// The private incidents matching `query`, by id: the few whose visibility the
    /// caller checks to count only what a viewer may see.
    pub async fn private_incidents_matching(&self, query: &IncidentQuery) -> Result<Vec<Incident>, StorageError> {
        let (_, _, sql) = match self.engine() {
            crate::Engine::Sqlite => SQLITE_LIST_SQL,
            crate::Engine::Postgres => POSTGRES_LIST_SQL,
        };
        with_pool!(self, |pool| {
            sqlx::query(sql)
                .bind(query.status.map(Status::as_str))
                .bind(query.severity.map(Severity::as_str))
                .bind(query.from.map(to_millis))
                .bind(query.to.map(to_millis))
                .bind(query.title.as_deref())
                .bind(query.service.as_deref())
                .fetch_all(pool)
                .await?
                .iter()
                .map(crate::incidents::incident_from_row)
                .collect()
        })
    }

    /// A page of one incident's timeline in time order, and how many entries there are
    /// in all; `key_only` keeps just the key events.
    pub async fn timeline_page(
        &self,
        incident_id: i64,
        key_only: bool,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<TimelineEntry>, i64), StorageError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT * FROM timeline_entries WHERE incident_id = $1 AND (is_key OR NOT $2)
                 ORDER BY at, id LIMIT $3 OFFSET $4",
            )
            .bind(incident_id)
            .bind(key_only)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await?;
            let entries = rows.iter().map(crate::timeline::entry_from_row).collect::<Result<Vec<_>, _>>()?;
            let total: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM timeline_entries WHERE incident_id = $1 AND (is_key OR NOT $2)",
            )
            .bind(incident_id)
            .bind(key_only)
            .fetch_one(pool)
            .await?;
            Ok((entries, total))
        })
    }

    /// Searches every postmortem field and key timeline event. `match_expression` is
    /// the caller's words, each in double quotes (never raw user input), which FTS5 and
    /// `websearch_to_tsquery` both read as "all of these words"; the best matches come
    /// first.
    ///
    /// Ranking every match of a broad query (100,000 key events say "replica") costs
    /// most of a second, so only the newest [`RANKED_CANDIDATES`] postmortem fields and
    /// as many key events are ranked; `narrowed` says when matches were left out.
    pub async fn search_library(&self, match_expression: &str, limit: i64) -> Result<LibrarySearch, StorageError> {
        let narrowed = |fields: i64, events: i64| fields >= RANKED_CANDIDATES || events >= RANKED_CANDIDATES;
        match self.backend() {
            crate::db::Backend::Sqlite(engine) => {
                let ranked: Vec<(i64, i64, i64)> = sqlx::query_as(SQLITE_SEARCH_SQL)
                    .bind(match_expression)
                    .bind(RANKED_CANDIDATES)
                    .bind(limit)
                    .fetch_all(engine.reader())
                    .await?;
                let narrowed = ranked.first().is_some_and(|(_, fields, events)| narrowed(*fields, *events));
                let mut hits = Vec::with_capacity(ranked.len());
                for (rowid, _, _) in ranked {
                    let row = sqlx::query(SQLITE_SNIPPET_SQL)
                        .bind(match_expression)
                        .bind(rowid)
                        .fetch_optional(engine.reader())
                        .await?;
                    // A row deleted between the two reads is simply not a hit any more.
                    if let Some(row) = row {
                        hits.push(hit_from_row(&row)?);
                    }
                }
                Ok(LibrarySearch { hits, narrowed })
            }
            crate::db::Backend::Postgres(engine) => {
                let rows = sqlx::query(POSTGRES_SEARCH_SQL)
                    .bind(match_expression)
                    .bind(RANKED_CANDIDATES)
                    .bind(limit)
                    .fetch_all(engine.pool())
                    .await?;
                let mut narrowed_search = false;
                let hits = rows
                    .iter()
                    .map(|row| {
                        let hit = hit_from_row(row)?;
                        let body: String = row.col("body")?;
                        narrowed_search |= narrowed(row.col("fields")?, row.col("events")?);
                        Ok(LibraryHit { snippet: with_ellipses(hit.snippet, &body), ..hit })
                    })
                    .collect::<Result<Vec<_>, StorageError>>()?;
                Ok(LibrarySearch { hits, narrowed: narrowed_search })
            }
        }
    }

    /// Action items created at or after `since`, whatever their status, by id.
    pub async fn actions_created_since(&self, since: DateTime<Utc>) -> Result<Vec<ActionItem>, StorageError> {
        with_pool!(self, |pool| {
            sqlx::query("SELECT * FROM action_items WHERE created_at >= $1 ORDER BY id")
                .bind(to_millis(since))
                .fetch_all(pool)
                .await?
                .iter()
                .map(crate::actions::action_from_row)
                .collect()
        })
    }

    /// Incidents by id, for pages that show a few of them (library hits, action items).
    pub async fn incidents_by_ids(&self, ids: &[i64]) -> Result<Vec<Incident>, StorageError> {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(incident) = self.incident(*id).await? {
                found.push(incident);
            }
        }
        Ok(found)
    }
}
