//! Game days: an incident declared as a drill runs the whole flow (roles, timeline,
//! postmortem, action items) in a `drill-<id>-<slug>` channel, and every post of it says
//! DRILL. Drills never count in MTTA, MTTR or incident counts; the digest lists them on
//! their own, with their lessons. Their action items are real and reminded like any other.

use storage::Incident;

use crate::message::{Line, Message, Span};

/// The channel prefix of a drill, whatever the configured prefix of real incidents.
pub const CHANNEL_PREFIX: &str = "drill";

/// The mark every post of a drill starts with.
pub const MARK: &str = "🧪 DRILL";

/// Whether an incident counts in response metrics (MTTA, MTTR, counts).
pub fn counts_in_metrics(incident: &Incident) -> bool {
    drill_counts(incident.drill)
}

/// The same rule, for reports that read only an incident's drill flag.
pub fn drill_counts(drill: bool) -> bool {
    !drill
}

/// The incidents that count in the metrics: every one but drills.
pub fn real(incidents: &[Incident]) -> Vec<Incident> {
    incidents.iter().filter(|i| counts_in_metrics(i)).cloned().collect()
}

/// `message` marked as part of a drill when `incident` is one: its first line starts
/// with [`MARK`], so no reader takes it for a real incident.
pub fn mark(incident: &Incident, message: &Message) -> Message {
    let mut marked = message.clone();
    if !incident.drill {
        return marked;
    }
    match marked.lines.first_mut() {
        Some(first) => first.0.insert(0, Span::Bold(format!("{MARK} · "))),
        None => marked.lines.push(Line::new().bold(MARK)),
    }
    marked
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::testing::incident;
    use storage::Status;

    #[test]
    fn drills_are_marked_and_kept_out_of_the_metrics() {
        let mut drill = incident(Status::Resolved);
        drill.drill = true;
        let real_one = incident(Status::Resolved);
        let message = Message::plain("Resolved");
        assert_eq!(mark(&drill, &message).lines[0].0[0], Span::Bold("🧪 DRILL · ".into()));
        assert_eq!(mark(&real_one, &message), message);
        assert_eq!(real(&[drill, real_one.clone()]), vec![real_one]);
    }
}
