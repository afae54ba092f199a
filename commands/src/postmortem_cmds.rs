//! The postmortem flow: opening the form, taking answers (with blameless hints),
//! closing the incident when every field is written and it is resolved (whichever
//! comes first), and showing the finished document.
//!
//! Anyone may write the postmortem; every changed field is a timeline entry with its
//! author. A closed incident's postmortem can still be corrected: the correction is
//! recorded and the incident stays closed.

use storage::{ChannelId, EntryKind, Incident, NewEntry, Postmortem, PostmortemField, Saved, SourceId, Status};

use crate::core::{retry_on_conflict, settle, Attempt, Core, Invocation};
use crate::error::{refused, CoreError, Problem};
use crate::grammar::{usage, UsageError};
use crate::lifecycle;
use crate::limits::MAX_TEXT;
use crate::message::{Line, Message};
use crate::outcome::{Form, FormField, FormKind, Outcome, TagPicker};
use crate::permissions::{self, Act};
use crate::postmortem::{self, FIELDS};
use crate::{blameless, format, text};

/// Longest answer accepted per postmortem field: the core's one text limit.
pub const MAX_ANSWER: usize = MAX_TEXT;

/// One answered form, as the adapter collected it: `(field key, text)` pairs. An
/// empty text leaves that field as it was.
#[derive(Debug, Clone)]
pub struct FormSubmission {
    pub source_id: SourceId,
    pub user: String,
    pub channel_id: ChannelId,
    pub kind: FormKind,
    pub answers: Vec<(String, String)>,
}

impl Core {
    pub(crate) async fn open_postmortem(
        &self,
        inv: &Invocation,
        target: Option<i64>,
        all: bool,
    ) -> Result<Outcome, Problem> {
        let incident = self.target_incident(inv, target, usage::POSTMORTEM).await?;
        permissions::require(Act::WritePostmortem, &inv.user, &incident, &self.settings)?;
        let written = self.db.postmortem(incident.id).await?.unwrap_or_default();
        if !written.is_complete() || all {
            let mut form = postmortem_form(&incident, &written, all);
            self.prefill_detection(&incident, &mut form).await?;
            form.tags = Some(self.tag_picker(&incident).await?);
            return Ok(Outcome::form(form));
        }
        // Complete: close it if it is resolved (a crash between resolve and close, or a
        // postmortem finished before resolve, would otherwise leave it resolved for good).
        let incident = match self.close_if_complete(&incident, &inv.user, &inv.source_id).await? {
            Some(closed) => closed,
            None => incident,
        };
        let mut document = self.postmortem_document(&incident, &written);
        document = document.line(Line::new().code("/incident postmortem all").text(" corrects any field."));
        Ok(Outcome::reply(document))
    }

    /// An unwritten Detection field starts with the first alert, when an alert detected
    /// the incident: its name, source and time.
    async fn prefill_detection(&self, incident: &Incident, form: &mut crate::outcome::Form) -> Result<(), Problem> {
        let Some(field) = form.fields.iter_mut().find(|f| f.key == "detection" && f.value.is_none()) else {
            return Ok(());
        };
        if let Some(detection) = self.db.detection(incident.id).await? {
            field.value = Some(format!(
                "Alert {} ({}) at {}.",
                if detection.alertname.is_empty() { "(unnamed)" } else { detection.alertname.as_str() },
                detection.source,
                format::time(detection.alert_at, self.settings.timezone)
            ));
        }
        Ok(())
    }

    /// Takes an answered form (declare, from an alert or not; dismissing an alert; postmortem).
    pub async fn submit_form(&self, submission: &FormSubmission) -> Result<Outcome, CoreError> {
        let result = match submission.kind {
            FormKind::Declare => self.submit_declare(submission).await,
            FormKind::AlertDeclare { alert } => self.submit_alert_declare(submission, alert).await,
            FormKind::AlertDismiss { alert } => self.submit_alert_dismiss(submission, alert).await,
            FormKind::Postmortem { incident } | FormKind::PostmortemAll { incident } => {
                self.submit_postmortem(submission, incident).await
            }
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
        let Some(title) = answer("title").filter(|t| text::has_visible(t)) else {
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
        let actor = crate::actor::Actor::Person(inv.user.clone());
        let request = crate::incident_cmds::Declaration {
            severity,
            title: &title,
            description: answer("description"),
            started: None,
            services: Vec::new(),
            kind: crate::grammar::DeclareKind::default(),
        };
        self.declare_incident(&inv, &actor, request).await
    }

    async fn submit_postmortem(&self, submission: &FormSubmission, incident_id: i64) -> Result<Outcome, Problem> {
        self.save_postmortem_answers(submission, incident_id, MAX_ANSWER, &[]).await
    }

    /// Saves postmortem answers of at most `max_answer` characters each: chat's forms
    /// allow [`MAX_ANSWER`], the web editor more. Every changed field is a timeline entry.
    /// `clear` names fields to empty on purpose (the web editor's "clear" box; a blank
    /// answer alone never clears, so a form that lost a field loses nothing). A closed
    /// incident keeps its postmortem complete, so its fields can be corrected, not cleared.
    pub(crate) async fn save_postmortem_answers(
        &self,
        submission: &FormSubmission,
        incident_id: i64,
        max_answer: usize,
        clear: &[String],
    ) -> Result<Outcome, Problem> {
        let incident = self.db.incident(incident_id).await?.ok_or_else(|| {
            Problem::Usage(UsageError {
                problem: format!("INC-{incident_id} does not exist."),
                usage: usage::POSTMORTEM,
            })
        })?;
        permissions::require(Act::WritePostmortem, &submission.user, &incident, &self.settings)?;
        let mut answers = Vec::with_capacity(submission.answers.len());
        let mut field_errors = Vec::new();
        let mut picked_tags: Option<Vec<String>> = None;
        for (key, value) in &submission.answers {
            if key == TagPicker::KEY {
                let tags: Vec<String> = value
                    .split(|c: char| c.is_whitespace() || c == ',')
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect();
                if let Some(unknown) = tags.iter().find_map(|t| self.settings.factors.resolve(t).err()) {
                    field_errors.push((TagPicker::KEY, unknown.to_string()));
                }
                picked_tags = Some(tags);
                continue;
            }
            let Some(field) = postmortem::field(key) else {
                return Err(refused(format!("`{}` is not a postmortem field.", format::truncate(key, 40).0)));
            };
            let value = text::clean(value, true);
            let value = value.trim();
            if value.chars().count() > max_answer {
                field_errors.push((field.key, format!("Keep it under {max_answer} characters.")));
            } else if text::has_visible(value) {
                answers.push((field, value.to_string()));
            }
        }
        let mut clearing = Vec::with_capacity(clear.len());
        for key in clear {
            let Some(field) = postmortem::field(key) else {
                return Err(refused(format!("`{}` is not a postmortem field.", format::truncate(key, 40).0)));
            };
            if incident.status == Status::Closed {
                field_errors.push((
                    field.key,
                    format!(
                        "{} is closed, so its postmortem stays complete: correct this answer instead of clearing it.",
                        incident.reference()
                    ),
                ));
            } else if !clearing.iter().any(|f: &&postmortem::Field| f.field == field.field) {
                // A cleared field ignores what its box held.
                answers.retain(|(f, _): &(&postmortem::Field, String)| f.field != field.field);
                clearing.push(field);
            }
        }
        if !field_errors.is_empty() {
            let text: Vec<String> = field_errors.iter().map(|(k, e)| format!("{k}: {e}")).collect();
            return Ok(Outcome { field_errors, ..Outcome::error(Message::plain(text.join("\n"))) });
        }

        let mut written = self.db.postmortem(incident.id).await?.unwrap_or_default();
        let now = self.now();
        let mut changes = Vec::new();
        let mut hints = Vec::new();
        for (field, value) in answers {
            if written.get(field.field) == Some(value.as_str()) {
                continue;
            }
            let mut signals = blameless::blame_signals(&value);
            if postmortem::names_a_cause(field.field) {
                for signal in blameless::person_as_cause(&value) {
                    if !signals.contains(&signal) {
                        signals.push(signal);
                    }
                }
            }
            if !signals.is_empty() {
                hints.push(blameless::hint(field.label, &signals));
            }
            let verb = if written.get(field.field).is_some() { "corrected" } else { "written" };
            let entry = NewEntry {
                incident_id: incident.id,
                source_id: submission.source_id.part(&format!("pm:{}", field.key)),
                at: now,
                kind: EntryKind::Postmortem,
                author: submission.user.clone(),
                text: format!("Postmortem {} {verb}", field.label),
                is_key: false,
            };
            written.set(field.field, value.clone());
            changes.push((field.field, value, entry));
        }
        let labels: Vec<&str> = changes.iter().filter_map(|(f, _, _)| label(*f)).collect();
        let mut cleared = Vec::new();
        for field in clearing {
            if written.get(field.field).is_none() {
                continue;
            }
            let entry = NewEntry {
                incident_id: incident.id,
                source_id: submission.source_id.part(&format!("pm-clear:{}", field.key)),
                at: now,
                kind: EntryKind::Postmortem,
                author: submission.user.clone(),
                text: format!("Postmortem {} cleared", field.label),
                is_key: false,
            };
            // Stored blank: a blank answer reads as not written.
            written.set(field.field, String::new());
            changes.push((field.field, String::new(), entry));
            cleared.push(field.label);
        }
        let mut tag_change = None;
        if let Some(tags) = &picked_tags {
            let (added, removed) = self.replace_tags(&incident, &submission.user, &submission.source_id, tags).await?;
            if !added.is_empty() || !removed.is_empty() {
                tag_change = Some(crate::learning_cmds::tags_changed(&incident, &added, &removed));
            }
        }

        let closes = written.is_complete() && incident.status == Status::Resolved;
        let closed = if changes.is_empty() && !closes {
            None
        } else {
            match self.save_answers(&incident, &changes, &submission.user, closes, &submission.source_id).await? {
                AnswersSaved::Retried => return Ok(Outcome::silent()),
                AnswersSaved::Saved => None,
                AnswersSaved::Closed(closed) => Some(*closed),
            }
        };

        let mut reply = Message::new();
        if !cleared.is_empty() {
            reply = reply.line(
                Line::new().text(format!("Cleared {} of ", cleared.join(", "))).bold(incident.reference()).text("."),
            );
        }
        reply = if labels.is_empty() && (tag_change.is_some() || !cleared.is_empty()) {
            reply
        } else if labels.is_empty() {
            reply.line(Line::new().text("No answers changed."))
        } else {
            reply.line(
                Line::new().text(format!("Saved {} for ", labels.join(", "))).bold(incident.reference()).text("."),
            )
        };
        let missing = postmortem::missing(&written);
        if let Some(closed) = &closed {
            reply = reply.line(
                Line::new().text("Every field is written: ").bold(closed.reference()).text(" is closed. Thank you."),
            );
            self.announce_closed(closed).await;
        } else if incident.status == Status::Closed && !labels.is_empty() {
            reply = reply.line(Line::new().text("The correction is on the timeline; the incident stays closed."));
            self.queue_postmortem_fix(&incident, &submission.source_id).await?;
        } else if !missing.is_empty() {
            let names: Vec<&str> = missing.iter().map(|f| f.label).collect();
            reply = reply.line(Line::new().text(format!("Still missing: {}.", names.join(", "))));
        } else if incident.status.is_open() {
            reply = reply.line(Line::new().text("Every field is written; the incident closes once it is resolved."));
        }
        if let Some(tag_change) = tag_change {
            reply = reply.line(Line::new().text(format!("Contributing-factor tags of {tag_change}")));
        }
        for hint in hints {
            reply = reply.line(Line::new().text(hint));
        }
        let continues = (closed.is_none() && incident.status != Status::Closed && !missing.is_empty())
            .then_some(FormKind::Postmortem { incident: incident.id });
        // Offered with the reply where the form had no picker of its own (Discord).
        let tag_picker = if picked_tags.is_none() { Some(self.tag_picker(&incident).await?) } else { None };
        Ok(Outcome { continues, tag_picker, ..Outcome::reply(reply) })
    }

    /// Saves the changed answers, closing the incident in the same transaction when
    /// `closes` and it is still resolved.
    async fn save_answers(
        &self,
        incident: &Incident,
        changes: &[(PostmortemField, String, NewEntry)],
        user: &str,
        closes: bool,
        source_id: &SourceId,
    ) -> Result<AnswersSaved, Problem> {
        let now = self.now();
        retry_on_conflict(&incident.reference(), || async {
            let current = self.current(incident).await?;
            if !closes || current.status != Status::Resolved {
                return Ok(Attempt::Done(match self.db.save_postmortem(current.id, changes, now, None).await? {
                    Saved::Duplicate => AnswersSaved::Retried,
                    _ => AnswersSaved::Saved,
                }));
            }
            let mut closed = lifecycle::close(&current, now)?;
            let entry = closing_entry(&current, user, source_id, now);
            Ok(match self.db.save_postmortem(current.id, changes, now, Some((&closed, &entry))).await? {
                Saved::Written => {
                    closed.revision += 1;
                    Attempt::Done(AnswersSaved::Closed(Box::new(closed)))
                }
                Saved::Duplicate => Attempt::Done(AnswersSaved::Retried),
                Saved::Conflict => Attempt::Conflict,
            })
        })
        .await
    }

    /// Closes a resolved incident whose postmortem is complete; called after resolve
    /// and when the finished postmortem is opened. Returns the closed incident.
    pub(crate) async fn close_if_complete(
        &self,
        incident: &Incident,
        user: &str,
        source_id: &SourceId,
    ) -> Result<Option<Incident>, Problem> {
        let closed = retry_on_conflict(&incident.reference(), || async {
            let current = self.current(incident).await?;
            if current.status != Status::Resolved {
                return Ok(Attempt::Done(None));
            }
            let written = self.db.postmortem(current.id).await?.unwrap_or_default();
            if !written.is_complete() {
                return Ok(Attempt::Done(None));
            }
            let now = self.now();
            let mut closed = lifecycle::close(&current, now)?;
            let entry = closing_entry(&current, user, source_id, now);
            Ok(match self.db.save_postmortem(current.id, &[], now, Some((&closed, &entry))).await? {
                Saved::Written => {
                    closed.revision += 1;
                    Attempt::Done(Some(closed))
                }
                _ => Attempt::Conflict,
            })
        })
        .await?;
        if let Some(closed) = &closed {
            self.announce_closed(closed).await;
        }
        Ok(closed)
    }

    async fn announce_closed(&self, closed: &Incident) {
        let mut message = Message::new().line(
            Line::new()
                .text("📘 The postmortem is complete and ")
                .bold(closed.reference())
                .text(" is closed. ")
                .code("/incident postmortem")
                .text(" shows the document."),
        );
        if let Some(url) = self.settings.page_url(&format!("/incidents/{}/postmortem", closed.id)) {
            message = message.line(Line::new().text(format!("Read it on the web: {url}")));
        }
        self.post_to_incident(closed, &message).await;
        if let Err(error) = self.queue_postmortem_pr(closed).await {
            tracing::error!(incident = closed.id, ?error, "could not queue the postmortem pull request");
        }
    }

    /// The contributing-factor picker of `incident`: the vocabulary, with its tags now.
    pub(crate) async fn tag_picker(&self, incident: &Incident) -> Result<TagPicker, storage::StorageError> {
        Ok(TagPicker {
            incident: incident.id,
            label: "Contributing-factor tags".to_string(),
            help: crate::postmortem::TAGS_HELP.to_string(),
            options: self.settings.factors.factors().iter().map(|f| (f.tag.clone(), f.description.clone())).collect(),
            selected: self.db.attached(storage::Attachment::Factor, incident.id).await?,
        })
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
            let answer = written.get(field.field).unwrap_or("(not written)");
            message = message.line(Line::new().bold(format!("{}: ", field.label)).text(answer));
        }
        message
    }
}

/// How saving a postmortem form went.
enum AnswersSaved {
    /// A repeated delivery of a form already saved; nothing changed.
    Retried,
    Saved,
    /// The answers completed the postmortem of a resolved incident, which is now closed.
    Closed(Box<Incident>),
}

fn label(field: PostmortemField) -> Option<&'static str> {
    FIELDS.iter().find(|f| f.field == field).map(|f| f.label)
}

/// The timeline entry recording that a complete postmortem closed the incident.
fn closing_entry(incident: &Incident, user: &str, source_id: &SourceId, at: chrono::DateTime<chrono::Utc>) -> NewEntry {
    NewEntry {
        incident_id: incident.id,
        source_id: source_id.derived("closed"),
        at,
        kind: EntryKind::Closed,
        author: user.to_string(),
        text: "Postmortem complete; closed".to_string(),
        is_key: true,
    }
}

/// The postmortem form: the missing fields, or every field (pre-filled with what is
/// written) when `all`.
pub fn postmortem_form(incident: &Incident, written: &Postmortem, all: bool) -> Form {
    Form {
        kind: if all {
            FormKind::PostmortemAll { incident: incident.id }
        } else {
            FormKind::Postmortem { incident: incident.id }
        },
        title: format!("Postmortem {}", incident.reference()),
        fields: FIELDS
            .iter()
            .filter(|field| all || written.get(field.field).is_none())
            .map(|field| FormField {
                key: field.key,
                label: field.label.to_string(),
                question: field.question.to_string(),
                value: written.get(field.field).map(|v| format::truncate(v, MAX_ANSWER).0),
                multiline: true,
                required: false,
                max_len: MAX_ANSWER,
            })
            .collect(),
        tags: None,
    }
}
