//! What outbound calls created: the tracker issue linked to an action item, the status
//! page incident of an incident, and an incident's postmortem pull requests.

use chrono::{DateTime, Utc};

use crate::portable::{Decision, PortableRow};
use crate::time::{from_millis, to_millis};
use crate::{Db, StorageError};

/// An action item's issue in a tracker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerLink {
    pub action_item_id: i64,
    /// `github` or `jira`.
    pub tracker: String,
    /// `acme/reliability#12` or `REL-7`.
    pub issue_key: String,
    pub url: String,
    pub linked_at: DateTime<Utc>,
}

fn link_from_row(row: &impl PortableRow) -> Result<TrackerLink, StorageError> {
    Ok(TrackerLink {
        action_item_id: row.col("action_item_id")?,
        tracker: row.col("tracker")?,
        issue_key: row.col("issue_key")?,
        url: row.col("url")?,
        linked_at: from_millis(row.col("linked_at")?)?,
    })
}

/// One postmortem pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostmortemPr {
    pub incident_id: i64,
    pub number: i64,
    pub branch: String,
    pub path: String,
    pub url: String,
    pub merged: bool,
    pub opened_at: DateTime<Utc>,
}

/// Why a link was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkOutcome {
    Linked,
    /// The item has an issue already.
    ItemLinked,
    /// That issue belongs to another item.
    IssueTaken,
}

impl Db {
    /// Links an item to an issue. Neither side may be linked already.
    pub async fn link_tracker_issue(&self, link: &TrackerLink) -> Result<LinkOutcome, StorageError> {
        in_transaction!(self, |tx| {
            let item_linked: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM tracker_links WHERE action_item_id = $1)")
                    .bind(link.action_item_id)
                    .fetch_one(&mut **tx)
                    .await?;
            if item_linked {
                return Ok(Decision::Rollback(LinkOutcome::ItemLinked));
            }
            let issue_taken: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM tracker_links WHERE tracker = $1 AND issue_key = $2)")
                    .bind(&link.tracker)
                    .bind(&link.issue_key)
                    .fetch_one(&mut **tx)
                    .await?;
            if issue_taken {
                return Ok(Decision::Rollback(LinkOutcome::IssueTaken));
            }
            sqlx::query(
                "INSERT INTO tracker_links (action_item_id, tracker, issue_key, url, linked_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(link.action_item_id)
            .bind(&link.tracker)
            .bind(&link.issue_key)
            .bind(&link.url)
            .bind(to_millis(link.linked_at))
            .execute(&mut **tx)
            .await?;
            Ok(Decision::Commit(LinkOutcome::Linked))
        })
    }

    pub async fn tracker_link(&self, action_item_id: i64) -> Result<Option<TrackerLink>, StorageError> {
        with_pool!(self, |pool| {
            sqlx::query("SELECT * FROM tracker_links WHERE action_item_id = $1")
                .bind(action_item_id)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(link_from_row)
                .transpose()
        })
    }

    pub async fn tracker_link_by_issue(
        &self,
        tracker: &str,
        issue_key: &str,
    ) -> Result<Option<TrackerLink>, StorageError> {
        with_pool!(self, |pool| {
            sqlx::query("SELECT * FROM tracker_links WHERE tracker = $1 AND issue_key = $2")
                .bind(tracker)
                .bind(issue_key)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(link_from_row)
                .transpose()
        })
    }

    /// The status page incident an incident published to, if any.
    pub async fn status_page_incident(&self, incident_id: i64) -> Result<Option<String>, StorageError> {
        with_pool!(self, |pool| {
            Ok(sqlx::query_scalar("SELECT page_incident_id FROM status_page_incidents WHERE incident_id = $1")
                .bind(incident_id)
                .fetch_optional(pool)
                .await?)
        })
    }

    pub async fn set_status_page_incident(
        &self,
        incident_id: i64,
        page_incident_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        in_transaction!(self, |tx| {
            sqlx::query(
                "INSERT INTO status_page_incidents (incident_id, page_incident_id, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (incident_id) DO NOTHING",
            )
            .bind(incident_id)
            .bind(page_incident_id)
            .bind(to_millis(at))
            .execute(&mut **tx)
            .await?;
            Ok(Decision::Commit(()))
        })
    }

    /// The incident's postmortem pull requests, oldest first.
    pub async fn postmortem_prs(&self, incident_id: i64) -> Result<Vec<PostmortemPr>, StorageError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query("SELECT * FROM postmortem_prs WHERE incident_id = $1 ORDER BY opened_at, number")
                .bind(incident_id)
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|row| {
                    Ok(PostmortemPr {
                        incident_id: row.col("incident_id")?,
                        number: row.col("number")?,
                        branch: row.col("branch")?,
                        path: row.col("path")?,
                        url: row.col("url")?,
                        merged: row.col("merged")?,
                        opened_at: from_millis(row.col("opened_at")?)?,
                    })
                })
                .collect()
        })
    }

    pub async fn add_postmortem_pr(&self, pr: &PostmortemPr) -> Result<(), StorageError> {
        in_transaction!(self, |tx| {
            sqlx::query(
                "INSERT INTO postmortem_prs (incident_id, number, branch, path, url, merged, opened_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            )
            .bind(pr.incident_id)
            .bind(pr.number)
            .bind(&pr.branch)
            .bind(&pr.path)
            .bind(&pr.url)
            .bind(pr.merged)
            .bind(to_millis(pr.opened_at))
            .execute(&mut **tx)
            .await?;
            Ok(Decision::Commit(()))
        })
    }

    pub async fn mark_postmortem_pr_merged(&self, incident_id: i64, number: i64) -> Result<(), StorageError> {
        in_transaction!(self, |tx| {
            sqlx::query("UPDATE postmortem_prs SET merged = TRUE WHERE incident_id = $1 AND number = $2")
                .bind(incident_id)
                .bind(number)
                .execute(&mut **tx)
                .await?;
            Ok(Decision::Commit(()))
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    use crate::model::{ActionKind, EntryKind, NewActionItem, NewEntry, NewIncident, Platform, Priority, Severity};

    async fn db_with_items(count: usize) -> (Db, Vec<i64>) {
        let db = Db::in_memory().await.unwrap();
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let incident = NewIncident {
            title: "DB down".into(),
            description: None,
            severity: Severity::Sev2,
            platform: Platform::Console,
            declared_by: "alice".into(),
            commander: Some("alice".into()),
            declare_source: "req-1".into(),
            started_at: at,
            declared_at: at,
            drill: false,
            private: false,
            services: Vec::new(),
        };
        let incident_id =
            db.declare_incident(&incident, |id| format!("inc-{id}"), |_| "declared".into()).await.unwrap().incident.id;
        let mut ids = Vec::new();
        for n in 0..count {
            let item = NewActionItem {
                incident_id,
                text: format!("Fix {n}"),
                owner: "bob".into(),
                due: at.date_naive(),
                priority: Priority::Medium,
                kind: ActionKind::Prevent,
                created_by: "alice".into(),
                created_at: at,
                addresses: None,
            };
            let entry = NewEntry {
                incident_id,
                source_id: format!("add-{n}").as_str().into(),
                at,
                kind: EntryKind::Action,
                author: "alice".into(),
                text: "added".into(),
                is_key: false,
            };
            ids.push(db.add_action(&item, &entry).await.unwrap().unwrap().id);
        }
        (db, ids)
    }

    #[tokio::test]
    async fn an_issue_links_one_item_and_an_item_one_issue() {
        let (db, ids) = db_with_items(2).await;
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let link = |item: i64, key: &str| TrackerLink {
            action_item_id: item,
            tracker: "github".into(),
            issue_key: key.into(),
            url: format!("https://github.com/{key}"),
            linked_at: at,
        };
        assert_eq!(db.link_tracker_issue(&link(ids[0], "acme/rel#1")).await.unwrap(), LinkOutcome::Linked);
        assert_eq!(db.link_tracker_issue(&link(ids[0], "acme/rel#2")).await.unwrap(), LinkOutcome::ItemLinked);
        assert_eq!(db.link_tracker_issue(&link(ids[1], "acme/rel#1")).await.unwrap(), LinkOutcome::IssueTaken);
        let found = db.tracker_link_by_issue("github", "acme/rel#1").await.unwrap().unwrap();
        assert_eq!(found.action_item_id, ids[0]);
        assert!(db.tracker_link_by_issue("jira", "acme/rel#1").await.unwrap().is_none());
    }
}
