//! Side-effect steps: the platform calls one request makes (create the incident's
//! channel, set its topic, post and pin the kick-off, announce), each recorded as an
//! intent before the call and with its result after it. A request run again after a
//! crash skips the finished steps (reusing their results: the channel id, the message
//! id) and knows which step was interrupted, so it can look for what that call may
//! already have done before doing it again. The rule of which steps a request has, and
//! their order, is the core's; this module only keeps the records.

use chrono::{DateTime, Utc};

use crate::model::SourceId;
use crate::portable::{Decision, PortableRow};
use crate::time::to_millis;
use crate::{Db, StorageError};

/// How a step stood when it was begun.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepState {
    /// Never begun: the call was certainly not made.
    New,
    /// Begun by an earlier attempt that never recorded a result: the call may have
    /// happened. `attempts` counts the earlier attempts.
    Interrupted { attempts: i64 },
    /// Finished, with its result (empty when the step has none).
    Finished { result: String },
}

/// An incident with steps that were begun and never finished, or no channel at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnfinishedIncident {
    pub incident_id: i64,
    /// The unfinished steps' names, in the order they were begun; `channel` when the
    /// incident has no channel and no step says why.
    pub steps: Vec<String>,
}

impl Db {
    /// Records the intent to run `step` of `request` (for `incident_id`), and says how
    /// the step stood before: new, interrupted, or finished with its result. A finished
    /// step is left as it was.
    pub async fn step_begin(
        &self,
        incident_id: i64,
        request: &SourceId,
        step: &str,
        at: DateTime<Utc>,
    ) -> Result<StepState, StorageError> {
        // Insert first, then count an attempt with one conditional update: both are
        // atomic on either engine, so two copies beginning one step never both see it new.
        in_transaction!(self, |tx| {
            let inserted = sqlx::query(
                "INSERT INTO side_effect_steps (incident_id, request, step, started_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (request, step) DO NOTHING",
            )
            .bind(incident_id)
            .bind(request.as_str())
            .bind(step)
            .bind(to_millis(at))
            .execute(&mut **tx)
            .await?;
            if inserted.rows_affected() > 0 {
                return Ok(Decision::Commit(StepState::New));
            }
            let attempts: Option<i64> = sqlx::query_scalar(
                "UPDATE side_effect_steps SET attempts = attempts + 1
                 WHERE request = $1 AND step = $2 AND finished_at IS NULL RETURNING attempts - 1",
            )
            .bind(request.as_str())
            .bind(step)
            .fetch_optional(&mut **tx)
            .await?;
            if let Some(attempts) = attempts {
                return Ok(Decision::Commit(StepState::Interrupted { attempts }));
            }
            let result: Option<String> =
                sqlx::query_scalar("SELECT result FROM side_effect_steps WHERE request = $1 AND step = $2")
                    .bind(request.as_str())
                    .bind(step)
                    .fetch_one(&mut **tx)
                    .await?;
            Ok(Decision::Rollback(StepState::Finished { result: result.unwrap_or_default() }))
        })
    }

    /// Records that `step` of `request` finished, with its result (a channel id, a
    /// message id; empty when it has none).
    pub async fn step_finish(
        &self,
        request: &SourceId,
        step: &str,
        result: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        in_transaction!(self, |tx| {
            sqlx::query(
                "UPDATE side_effect_steps SET finished_at = $1, result = $2
                 WHERE request = $3 AND step = $4 AND finished_at IS NULL",
            )
            .bind(to_millis(at))
            .bind(result)
            .bind(request.as_str())
            .bind(step)
            .execute(&mut **tx)
            .await?;
            Ok(Decision::Commit(()))
        })
    }

    /// The finished result of `step` of `request`, if it finished.
    pub async fn step_result(&self, request: &SourceId, step: &str) -> Result<Option<String>, StorageError> {
        let result: Option<Option<String>> = with_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT result FROM side_effect_steps WHERE request = $1 AND step = $2 AND finished_at IS NOT NULL",
            )
            .bind(request.as_str())
            .bind(step)
            .fetch_optional(pool)
            .await?
        });
        Ok(result.map(Option::unwrap_or_default))
    }

    /// Incidents with a step begun and never finished, or with no channel: what
    /// `incidentbot check` lists, and what a resumed request still has to do.
    pub async fn incidents_with_unfinished_steps(&self) -> Result<Vec<UnfinishedIncident>, StorageError> {
        let rows: Vec<(i64, String)> = with_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT incident_id, step FROM side_effect_steps WHERE finished_at IS NULL
             UNION ALL
             SELECT id, 'channel' FROM incidents i WHERE channel_id IS NULL
                AND NOT EXISTS (SELECT 1 FROM side_effect_steps s
                                WHERE s.incident_id = i.id AND s.step = 'channel' AND s.finished_at IS NULL)
             ORDER BY 1",
            )
            .fetch_all(pool)
            .await?;
            rows.iter().map(|row| Ok((row.col_at(0)?, row.col_at(1)?))).collect::<Result<Vec<_>, StorageError>>()?
        });
        let mut found: Vec<UnfinishedIncident> = Vec::new();
        for (incident_id, step) in rows {
            match found.last_mut() {
                Some(last) if last.incident_id == incident_id => last.steps.push(step),
                _ => found.push(UnfinishedIncident { incident_id, steps: vec![step] }),
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::model::{NewIncident, Platform, Severity};

    #[tokio::test]
    async fn a_step_is_new_then_interrupted_then_finished_with_its_result() {
        let db = Db::in_memory().await.unwrap();
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let new = NewIncident {
            title: "Database is down".into(),
            description: None,
            severity: Severity::Sev1,
            platform: Platform::Slack,
            declared_by: "U1".into(),
            commander: Some("U1".into()),
            declare_source: SourceId::new("req-1"),
            started_at: at,
            declared_at: at,
            drill: false,
            private: false,
            services: Vec::new(),
        };
        let id = db.declare_incident(&new, |id| format!("inc-{id}"), |_| "Declared".into()).await.unwrap().incident.id;
        let request = SourceId::new("req-1");
        assert_eq!(
            db.incidents_with_unfinished_steps().await.unwrap(),
            vec![UnfinishedIncident { incident_id: id, steps: vec!["channel".into()] }],
            "an incident without its channel is unfinished before any step is begun"
        );
        assert_eq!(db.step_begin(id, &request, "channel", at).await.unwrap(), StepState::New);
        assert_eq!(db.step_begin(id, &request, "channel", at).await.unwrap(), StepState::Interrupted { attempts: 1 });
        assert_eq!(db.step_begin(id, &request, "topic", at).await.unwrap(), StepState::New);
        assert_eq!(
            db.incidents_with_unfinished_steps().await.unwrap(),
            vec![UnfinishedIncident { incident_id: id, steps: vec!["channel".into(), "topic".into()] }]
        );
        assert_eq!(db.step_result(&request, "channel").await.unwrap(), None);
        db.step_finish(&request, "channel", "C123", at).await.unwrap();
        db.step_finish(&request, "topic", "", at).await.unwrap();
        assert_eq!(db.step_result(&request, "channel").await.unwrap(), Some("C123".into()));
        assert_eq!(
            db.step_begin(id, &request, "channel", at).await.unwrap(),
            StepState::Finished { result: "C123".into() }
        );
        // The incident still has no channel id stored: it is listed until it has.
        assert_eq!(db.incidents_with_unfinished_steps().await.unwrap().len(), 1);
    }
}
