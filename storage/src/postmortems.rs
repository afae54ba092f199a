//! Queries on postmortems. Saving the last missing field can close the incident in the
//! same transaction, so a closed incident always has a complete postmortem.

use crate::model::{Incident, NewEntry, Postmortem, PostmortemField, Saved};
use crate::portable::{Decision, PortableRow};
use crate::time::to_millis;
use crate::{Db, StorageError};
use chrono::{DateTime, Utc};

/// Reads the ten fields of a `postmortems` row.
pub(crate) fn postmortem_from_row(row: &impl PortableRow) -> Result<Postmortem, StorageError> {
    Ok(Postmortem {
        summary: row.col("summary")?,
        impact: row.col("impact")?,
        detection: row.col("detection")?,
        trigger: row.col("trigger_text")?,
        contributing_factors: row.col("contributing_factors")?,
        resolution: row.col("resolution")?,
        went_well: row.col("went_well")?,
        went_wrong: row.col("went_wrong")?,
        got_lucky: row.col("got_lucky")?,
        lessons: row.col("lessons")?,
    })
}

impl Db {
    pub async fn postmortem(&self, incident_id: i64) -> Result<Option<Postmortem>, StorageError> {
        with_pool!(self, |pool| {
            let row = sqlx::query("SELECT * FROM postmortems WHERE incident_id = $1")
                .bind(incident_id)
                .fetch_optional(pool)
                .await?;
            let Some(row) = row else { return Ok(None) };
            Ok(Some(postmortem_from_row(&row)?))
        })
    }

    /// Writes the changed fields of a postmortem, each with the timeline entry that
    /// records who wrote it, in one transaction. Fields not in `changes` keep what is
    /// stored, so two people writing different fields at once both keep theirs. When
    /// `closing` is given (the incident in its new closed state, with the entry
    /// recording it), the incident is saved in the same transaction under the usual
    /// revision check. A retried request (its first entry already stored) writes
    /// nothing and is a [`Saved::Duplicate`].
    pub async fn save_postmortem(
        &self,
        incident_id: i64,
        changes: &[(PostmortemField, String, NewEntry)],
        at: DateTime<Utc>,
        closing: Option<(&Incident, &NewEntry)>,
    ) -> Result<Saved, StorageError> {
        in_transaction!(self, |tx| {
            for (_, _, entry) in changes {
                if !insert_entry!(tx, entry)? {
                    return Ok(Decision::Rollback(Saved::Duplicate));
                }
            }
            let mut update = Postmortem::default();
            let mut by = None;
            for (field, value, entry) in changes {
                update.set(*field, value.clone());
                by = Some(entry.author.as_str());
            }
            if let Some(by) = by {
                // NULL means "not changed": COALESCE keeps the stored answer.
                sqlx::query(
                    "INSERT INTO postmortems (incident_id, summary, impact, detection, trigger_text, contributing_factors,
                                              resolution, went_well, went_wrong, got_lucky, lessons, updated_at, updated_by)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                     ON CONFLICT (incident_id) DO UPDATE SET
                        summary = COALESCE(excluded.summary, postmortems.summary),
                        impact = COALESCE(excluded.impact, postmortems.impact),
                        detection = COALESCE(excluded.detection, postmortems.detection),
                        trigger_text = COALESCE(excluded.trigger_text, postmortems.trigger_text),
                        contributing_factors = COALESCE(excluded.contributing_factors, postmortems.contributing_factors),
                        resolution = COALESCE(excluded.resolution, postmortems.resolution),
                        went_well = COALESCE(excluded.went_well, postmortems.went_well),
                        went_wrong = COALESCE(excluded.went_wrong, postmortems.went_wrong),
                        got_lucky = COALESCE(excluded.got_lucky, postmortems.got_lucky),
                        lessons = COALESCE(excluded.lessons, postmortems.lessons),
                        updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                )
                .bind(incident_id)
                .bind(&update.summary)
                .bind(&update.impact)
                .bind(&update.detection)
                .bind(&update.trigger)
                .bind(&update.contributing_factors)
                .bind(&update.resolution)
                .bind(&update.went_well)
                .bind(&update.went_wrong)
                .bind(&update.got_lucky)
                .bind(&update.lessons)
                .bind(to_millis(at))
                .bind(by)
                .execute(&mut **tx)
                .await?;
            }
            if let Some((incident, entry)) = closing {
                insert_entry!(tx, entry)?;
                let rows = sqlx::query(
                    "UPDATE incidents SET status = $1, closed_at = $2, revision = revision + 1
                     WHERE id = $3 AND revision = $4",
                )
                .bind(incident.status.as_str())
                .bind(incident.closed_at.map(to_millis))
                .bind(incident.id)
                .bind(incident.revision)
                .execute(&mut **tx)
                .await?
                .rows_affected();
                if rows == 0 {
                    // Undoes the fields and entries written above.
                    return Ok(Decision::Rollback(Saved::Conflict));
                }
            }
            Ok(Decision::Commit(Saved::Written))
        })
    }
}
