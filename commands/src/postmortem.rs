//! The blameless postmortem's fields: their order, labels and questions, and reading
//! or writing them by key.

use storage::Postmortem;

/// One postmortem field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The export JSON key.
    pub key: &'static str,
    pub label: &'static str,
    pub question: &'static str,
}

/// Every field, in the order the form asks them.
pub const FIELDS: [Field; 10] = [
    Field { key: "summary", label: "Summary", question: "What happened, in two or three sentences?" },
    Field { key: "impact", label: "Impact", question: "Who was affected, how, and for how long?" },
    Field { key: "detection", label: "Detection", question: "How did we find out? Could we have known sooner?" },
    Field { key: "trigger", label: "Trigger", question: "What change or event set it off?" },
    Field {
        key: "contributing_factors",
        label: "Contributing factors",
        question: "Which conditions let it happen or made it worse? Separate them with ;",
    },
    Field { key: "resolution", label: "Resolution", question: "What stopped the impact?" },
    Field { key: "went_well", label: "What went well", question: "What helped the response?" },
    Field { key: "went_wrong", label: "What went wrong", question: "What slowed the response down?" },
    Field { key: "got_lucky", label: "Where we got lucky", question: "What could have made it worse, but did not?" },
    Field { key: "lessons", label: "Lessons learned", question: "What will we do or know differently now?" },
];

pub fn field(key: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.key == key)
}

fn slot<'a>(pm: &'a mut Postmortem, key: &str) -> Option<&'a mut Option<String>> {
    Some(match key {
        "summary" => &mut pm.summary,
        "impact" => &mut pm.impact,
        "detection" => &mut pm.detection,
        "trigger" => &mut pm.trigger,
        "contributing_factors" => &mut pm.contributing_factors,
        "resolution" => &mut pm.resolution,
        "went_well" => &mut pm.went_well,
        "went_wrong" => &mut pm.went_wrong,
        "got_lucky" => &mut pm.got_lucky,
        "lessons" => &mut pm.lessons,
        _ => return None,
    })
}

/// The answer stored for `key`, if any.
pub fn get<'a>(pm: &'a Postmortem, key: &str) -> Option<&'a str> {
    let value = match key {
        "summary" => &pm.summary,
        "impact" => &pm.impact,
        "detection" => &pm.detection,
        "trigger" => &pm.trigger,
        "contributing_factors" => &pm.contributing_factors,
        "resolution" => &pm.resolution,
        "went_well" => &pm.went_well,
        "went_wrong" => &pm.went_wrong,
        "got_lucky" => &pm.got_lucky,
        "lessons" => &pm.lessons,
        _ => return None,
    };
    value.as_deref().filter(|v| !v.trim().is_empty())
}

/// Stores an answer. Returns false for an unknown key.
pub fn set(pm: &mut Postmortem, key: &str, value: String) -> bool {
    match slot(pm, key) {
        Some(slot) => {
            *slot = Some(value);
            true
        }
        None => false,
    }
}

/// The fields still unanswered, in form order.
pub fn missing(pm: &Postmortem) -> Vec<&'static Field> {
    FIELDS.iter().filter(|f| get(pm, f.key).is_none()).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn every_field_can_be_set_and_read() {
        let mut pm = Postmortem::default();
        assert_eq!(missing(&pm).len(), 10);
        for f in FIELDS {
            assert!(set(&mut pm, f.key, format!("answer for {}", f.key)));
        }
        assert!(missing(&pm).is_empty());
        assert_eq!(get(&pm, "got_lucky"), Some("answer for got_lucky"));
        assert!(!set(&mut pm, "nope", String::new()));
    }

    #[test]
    fn blank_answers_count_as_missing() {
        let pm = Postmortem { summary: Some("  ".into()), ..Postmortem::default() };
        assert_eq!(missing(&pm)[0].key, "summary");
    }
}
