//! The postmortem flow: opening the form, taking answers (with blameless hints), closing
//! the incident when every field is written, and showing the finished document.

use storage::{EntryKind, Incident, NewEntry, Postmortem, Saved, Status};

use crate::core::{settle, Core, Invocation};
use crate::error::{refused, CoreError, Problem};
use crate::grammar::{usage, UsageError};
use crate::lifecycle::{self, Privileged};
use crate::message::{Line, Message};
use crate::outcome::{Form, FormField, FormKind, Outcome};
use crate::postmortem::{self, FIELDS};
use crate::{blameless, format};

/// Longest answer accepted per postmortem field.
pub const MAX_ANSWER: usize = 3000;

/// One answered form, as the adapter collected it: `(field key, text)` pairs. An
/// empty text leaves that field as it was.
#[derive(Debug, Clone)]
pub struct FormSubmission {
    pub source_id: String,
    pub user: String,
    pub channel_id: String,
    pub kind: FormKind,
    pub answers: Vec<(String, String)>,
}

impl Core {
    pub(crate) async fn open_postmortem(&self, inv: &Invocation, target: Option<i64>) -> Result<Outcome, Problem> {
        let incident = self.target_incident(inv, target, usage::POSTMORTEM).await?;
        self.postmortem_form_or_document(&incident, &inv.user).await
    }

    /// The form when fields are missing (for those who may edit it), otherwise the document.
    pub(crate) async fn postmortem_form_or_document(
        &self,
        incident: &Incident,
        user: &str,
    ) -> Result<Outcome, Problem> {
        let written = self.db.postmortem(incident.id).await?.unwrap_or_default();
        let missing = postmortem::missing(&written);
        if missing.is_empty() {
            return Ok(Outcome::reply(self.postmortem_document(incident, &written)));
        }
        if let Err(refusal) = lifecycle::require_commander(incident, user, &self.settings, Privileged::EditPostmortem) {
            let names: Vec<&str> = missing.iter().map(|f| f.label).collect();
            return Err(refused(format!("{} Still missing: {}.", refusal.0, names.join(", "))));
        }
        Ok(Outcome::form(postmortem_form(incident, &written)))
    }

    /// Takes an answered form (declare or postmortem).
    pub async fn submit_form(&self, submission: &FormSubmission) -> Result<Outcome, CoreError> {
        let result = match submission.kind {
            FormKind::Declare => self.submit_declare(submission).await,
            FormKind::Postmortem { incident } => self.submit_postmortem(submission, incident).await,
        };
        settle(result)
    }

    async fn submit_declare(&self, submission: &FormSubmission) -> Result<Outcome, Problem> {
        let answer = |key: &str| {
            submission
                .answers
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let Some(title) = answer("title") else {
            return Ok(Outcome {
                field_errors: vec![("title", "The incident needs a title.".into())],
                ..Outcome::error(Message::plain("The incident needs a title."))
            });
        };
        let severity = match answer("severity") {
            None => None,
            Some(word) => match word.parse() {
                Ok(severity) => Some(severity),
                Err(e) => {
                    let e: storage::UnknownWord = e;
                    return Ok(Outcome {
                        field_errors: vec![("severity", e.to_string())],
                        ..Outcome::error(Message::plain(e.to_string()))
                    });
                }
            },
        };
        let inv = Invocation {
            source_id: submission.source_id.clone(),
            user: submission.user.clone(),
            channel_id: submission.channel_id.clone(),
            text: String::new(),
        };
        self.declare_incident(&inv, severity, &title, answer("description"), None).await
    }

    async fn submit_postmortem(&self, submission: &FormSubmission, incident_id: i64) -> Result<Outcome, Problem> {
        let incident = self.db.incident(incident_id).await?.ok_or_else(|| {
            Problem::Usage(UsageError {
                problem: format!("INC-{incident_id} does not exist."),
                usage: usage::POSTMORTEM,
            })
        })?;
        lifecycle::require_commander(&incident, &submission.user, &self.settings, Privileged::EditPostmortem)?;
        if let Some((key, _)) = submission.answers.iter().find(|(key, _)| postmortem::field(key).is_none()) {
            return Err(refused(format!("`{key}` is not a postmortem field.")));
        }
        let field_errors: Vec<(&'static str, String)> = submission
            .answers
            .iter()
            .filter(|(_, value)| value.chars().count() > MAX_ANSWER)
            .filter_map(|(key, _)| postmortem::field(key))
            .map(|field| (field.key, format!("Keep it under {MAX_ANSWER} characters.")))
            .collect();
        if !field_errors.is_empty() {
            let text: Vec<String> = field_errors.iter().map(|(k, e)| format!("{k}: {e}")).collect();
            return Ok(Outcome { field_errors, ..Outcome::error(Message::plain(text.join("\n"))) });
        }

        let mut written = self.db.postmortem(incident.id).await?.unwrap_or_default();
        let mut changed = Vec::new();
        let mut hints = Vec::new();
        for (key, value) in &submission.answers {
            let value = value.trim();
            if value.is_empty() || postmortem::get(&written, key) == Some(value) {
                continue;
            }
            let Some(field) = postmortem::field(key) else {
                continue;
            };
            let signals = blameless::blame_signals(value);
            if !signals.is_empty() {
                hints.push(blameless::hint(field.label, &signals));
            }
            postmortem::set(&mut written, field.key, value.to_string());
            changed.push(field.label);
        }

        let missing = postmortem::missing(&written);
        let closes = missing.is_empty() && incident.status == Status::Resolved;
        let mut closed = None;
        if !changed.is_empty() || closes {
            closed = self.save_answers(&incident, &written, &submission.user, closes, &submission.source_id).await?;
        }

        let mut reply = Message::new();
        reply = if changed.is_empty() {
            reply.line(Line::new().text("No answers changed."))
        } else {
            reply.line(
                Line::new().text(format!("Saved {} for ", changed.join(", "))).bold(incident.reference()).text("."),
            )
        };
        if let Some(closed) = &closed {
            reply = reply.line(
                Line::new().text("Every field is written: ").bold(closed.reference()).text(" is closed. Thank you."),
            );
            self.post_to_incident(
                closed,
                &Message::new().line(
                    Line::new()
                        .text("📘 The postmortem is complete and ")
                        .bold(closed.reference())
                        .text(" is closed. ")
                        .code("/incident postmortem")
                        .text(" shows the document."),
                ),
            )
            .await;
        } else if !missing.is_empty() {
            let names: Vec<&str> = missing.iter().map(|f| f.label).collect();
            reply = reply.line(Line::new().text(format!("Still missing: {}.", names.join(", "))));
        } else if incident.status.is_open() {
            reply = reply.line(Line::new().text("Every field is written; the incident closes once it is resolved."));
        }
        for hint in hints {
            reply = reply.line(Line::new().text(hint));
        }
        Ok(Outcome::reply(reply))
    }

    /// Saves the answers, closing the incident in the same transaction when `closes`.
    /// Returns the closed incident, if it closed.
    async fn save_answers(
        &self,
        incident: &Incident,
        written: &Postmortem,
        user: &str,
        closes: bool,
        source_id: &str,
    ) -> Result<Option<Incident>, Problem> {
        let mut current = incident.clone();
        for _ in 0..5 {
            let now = self.now();
            if !closes {
                self.db.save_postmortem(current.id, written, user, now, None).await?;
                return Ok(None);
            }
            let closed = lifecycle::close(&current, now)?;
            let entry = NewEntry {
                incident_id: current.id,
                source_id: format!("closed:{source_id}"),
                at: now,
                kind: EntryKind::Closed,
                author: user.to_string(),
                text: "Postmortem complete; closed".to_string(),
                is_key: true,
            };
            match self.db.save_postmortem(current.id, written, user, now, Some((&closed, &entry))).await? {
                Saved::Written => return Ok(Some(closed)),
                _ => {
                    current = self
                        .db
                        .incident(incident.id)
                        .await?
                        .ok_or_else(|| CoreError::Contention(incident.reference()))?;
                    if current.status != Status::Resolved {
                        self.db.save_postmortem(current.id, written, user, now, None).await?;
                        return Ok(None);
                    }
                }
            }
        }
        Err(CoreError::Contention(incident.reference()).into())
    }

    /// The finished postmortem as a message.
    pub fn postmortem_document(&self, incident: &Incident, written: &Postmortem) -> Message {
        let tz = self.settings.timezone;
        let mut message = Message::new()
            .line(Line::new().text("📘 Postmortem ").bold(format!("{}: {}", incident.reference(), incident.title)))
            .line(Line::new().text(format!(
                "{} · declared {} · {}",
                incident.severity,
                format::time(incident.declared_at, tz),
                incident.status
            )));
        for field in FIELDS {
            let answer = postmortem::get(written, field.key).unwrap_or("(not written)");
            message = message.line(Line::new().bold(format!("{}: ", field.label)).text(answer));
        }
        message
    }
}

/// The postmortem form, pre-filled with what is already written.
pub fn postmortem_form(incident: &Incident, written: &Postmortem) -> Form {
    Form {
        kind: FormKind::Postmortem { incident: incident.id },
        title: format!("Postmortem {}", incident.reference()),
        fields: FIELDS
            .iter()
            .map(|field| FormField {
                key: field.key,
                label: field.label.to_string(),
                question: field.question.to_string(),
                value: postmortem::get(written, field.key).map(str::to_string),
                multiline: true,
                required: false,
                max_len: MAX_ANSWER,
            })
            .collect(),
    }
}
