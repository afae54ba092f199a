//! The blameless postmortem's fields as people see them: labels and questions, in the
//! order the form asks them. The list of fields itself is storage's
//! [`PostmortemField`]; this module only words it.

use storage::{Postmortem, PostmortemField};

/// One postmortem field, worded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub field: PostmortemField,
    /// The export JSON key.
    pub key: &'static str,
    pub label: &'static str,
    pub question: &'static str,
}

const fn worded(field: PostmortemField, key: &'static str, label: &'static str, question: &'static str) -> Field {
    Field { field, key, label, question }
}

/// Every field, in the order the form asks them.
pub const FIELDS: [Field; 10] = {
    use PostmortemField as F;
    [
        worded(F::Summary, "summary", "Summary", "What happened, in two or three sentences?"),
        worded(F::Impact, "impact", "Impact", "Who was affected, how, and for how long?"),
        worded(F::Detection, "detection", "Detection", "How did we find out? Could we have known sooner?"),
        worded(
            F::Trigger,
            "trigger",
            "Trigger",
            "The proximal cause: which one change or event set it off? Name the event, not a person; \
             the conditions that let it hurt go in the next field.",
        ),
        worded(
            F::ContributingFactors,
            "contributing_factors",
            "Contributing factors",
            "The systemic causes: which conditions let the trigger do harm, or made it worse? A trigger \
             happens again in some form; these are what prevention can fix. Separate them with ; and tag them.",
        ),
        worded(F::Resolution, "resolution", "Resolution", "What stopped the impact?"),
        worded(F::WentWell, "went_well", "What went well", "What helped the response?"),
        worded(F::WentWrong, "went_wrong", "What went wrong", "What slowed the response down?"),
        worded(F::GotLucky, "got_lucky", "Where we got lucky", "What could have made it worse, but did not?"),
        worded(F::Lessons, "lessons", "Lessons learned", "What will we do or know differently now?"),
    ]
};

/// Why the postmortem asks for tags as well as words, shown with the tag picker.
pub const TAGS_HELP: &str = "Pick the conditions from the team's shared list, so the same cause in different \
     words is counted as one across incidents: the digest shows which ones recur and which have no open \
     prevention work.";

/// Whether an answer to `field` names the cause, where naming a person instead of a
/// condition gets the extra blameless hint.
pub fn names_a_cause(field: PostmortemField) -> bool {
    matches!(field, PostmortemField::Trigger | PostmortemField::ContributingFactors)
}

pub fn field(key: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.key == key)
}

/// The answer stored for `key`, if any.
pub fn get<'a>(pm: &'a Postmortem, key: &str) -> Option<&'a str> {
    field(key).and_then(|f| pm.get(f.field))
}

/// The fields still unanswered, in form order.
pub fn missing(pm: &Postmortem) -> Vec<&'static Field> {
    FIELDS.iter().filter(|f| pm.get(f.field).is_none()).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_worded_fields_are_storage_fields_in_order() {
        assert_eq!(FIELDS.len(), PostmortemField::ALL.len());
        for (worded, field) in FIELDS.iter().zip(PostmortemField::ALL) {
            assert_eq!(worded.field, *field);
            assert_eq!(worded.key, field.as_str());
        }
    }

    #[test]
    fn every_field_can_be_set_and_read() {
        let mut pm = Postmortem::default();
        assert_eq!(missing(&pm).len(), 10);
        for f in FIELDS {
            pm.set(f.field, format!("answer for {}", f.key));
        }
        assert!(missing(&pm).is_empty() && pm.is_complete());
        assert_eq!(get(&pm, "got_lucky"), Some("answer for got_lucky"));
        assert_eq!(get(&pm, "nope"), None);
    }

    #[test]
    fn blank_answers_count_as_missing() {
        let pm = Postmortem { summary: Some("  ".into()), ..Postmortem::default() };
        assert_eq!(missing(&pm)[0].key, "summary");
    }
}
