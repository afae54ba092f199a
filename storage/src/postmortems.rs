//! Queries on postmortems. Saving the last missing field can close the incident in the
//! same transaction, so a closed incident always has a complete postmortem.

use crate::model::{Incident, NewEntry, Postmortem, Saved};
use crate::time::to_millis;
use crate::timeline::insert_entry;
use crate::{Db, StorageError};
use chrono::{DateTime, Utc};
use sqlx::Row;

/// Reads the ten fields of a `postmortems` row.
pub(crate) fn postmortem_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Postmortem, StorageError> {
    Ok(Postmortem {
        summary: row.try_get("summary")?,
        impact: row.try_get("impact")?,
        detection: row.try_get("detection")?,
        trigger: row.try_get("trigger_text")?,
        contributing_factors: row.try_get("contributing_factors")?,
        resolution: row.try_get("resolution")?,
        went_well: row.try_get("went_well")?,
        went_wrong: row.try_get("went_wrong")?,
        got_lucky: row.try_get("got_lucky")?,
        lessons: row.try_get("lessons")?,
    })
}

impl Db {
    pub async fn postmortem(&self, incident_id: i64) -> Result<Option<Postmortem>, StorageError> {
        let row = sqlx::query("SELECT * FROM postmortems WHERE incident_id = ?")
            .bind(incident_id)
            .fetch_optional(self.reader())
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(postmortem_from_row(&row)?))
    }

    /// Writes every field of the postmortem. When `closing` is given (the incident in its
    /// new closed state, with the entry recording it), the incident is saved in the same
    /// transaction under the usual revision check.
    pub async fn save_postmortem(
        &self,
        incident_id: i64,
        postmortem: &Postmortem,
        by: &str,
        at: DateTime<Utc>,
        closing: Option<(&Incident, &NewEntry)>,
    ) -> Result<Saved, StorageError> {
        let mut writer = self.writer_conn().await?;
        let mut tx = writer.begin_immediate().await?;
        sqlx::query(
            "INSERT INTO postmortems (incident_id, summary, impact, detection, trigger_text, contributing_factors,
                                      resolution, went_well, went_wrong, got_lucky, lessons, updated_at, updated_by)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (incident_id) DO UPDATE SET
                summary = excluded.summary, impact = excluded.impact, detection = excluded.detection,
                trigger_text = excluded.trigger_text, contributing_factors = excluded.contributing_factors,
                resolution = excluded.resolution, went_well = excluded.went_well, went_wrong = excluded.went_wrong,
                got_lucky = excluded.got_lucky, lessons = excluded.lessons,
                updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        )
        .bind(incident_id)
        .bind(&postmortem.summary)
        .bind(&postmortem.impact)
        .bind(&postmortem.detection)
        .bind(&postmortem.trigger)
        .bind(&postmortem.contributing_factors)
        .bind(&postmortem.resolution)
        .bind(&postmortem.went_well)
        .bind(&postmortem.went_wrong)
        .bind(&postmortem.got_lucky)
        .bind(&postmortem.lessons)
        .bind(to_millis(at))
        .bind(by)
        .execute(&mut *tx)
        .await?;
        if let Some((incident, entry)) = closing {
            insert_entry(&mut tx, entry).await?;
            let rows = sqlx::query(
                "UPDATE incidents SET status = ?, closed_at = ?, revision = revision + 1
                 WHERE id = ? AND revision = ?",
            )
            .bind(incident.status.as_str())
            .bind(incident.closed_at.map(to_millis))
            .bind(incident.id)
            .bind(incident.revision)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if rows == 0 {
                tx.rollback().await?;
                return Ok(Saved::Conflict);
            }
        }
        tx.commit().await?;
        Ok(Saved::Written)
    }
}
