//! The follow-through story in the console: reminders once per weekday until the item
//! is done, escalation, and the Monday digest.

use tests::{run_script, script};

#[tokio::test]
async fn reminders_until_done_then_the_digest() {
    let (out, _console) = run_script(&script("follow_through.txt"), None).await.unwrap();
    let reminders: Vec<&str> =
        out.lines().filter(|l| l.starts_with("[dm @bob] incidentbot: ⏰ Action item #1")).collect();
    assert_eq!(
        reminders
            .iter()
            .map(|l| l.split(" is ").nth(1).unwrap_or("").split(" overdue").next().unwrap_or(""))
            .collect::<Vec<_>>(),
        ["1 day", "2 days", "5 days", "6 days"],
        "one reminder per weekday (Thu, Fri, Mon, Tue), none at the weekend or after done\n{out}"
    );
    let escalations = out.lines().filter(|l| l.starts_with("[dm @you] incidentbot: 📣 Action item #1")).count();
    assert_eq!(escalations, 1, "{out}");
    let digests: Vec<&str> =
        out.match_indices("[#digest] incidentbot: 📰 Weekly lessons learned").map(|(i, _)| &out[i..]).collect();
    assert_eq!(digests.len(), 1, "{out}");
    for expected in [
        "Lesson: “Alert on queue age before users notice.”",
        "Where we got lucky: “It happened on a quiet Monday.”",
        "⏰ #1 Alert on indexer queue age · @bob · 5 days overdue · INC-1",
    ] {
        assert!(digests[0].contains(expected), "digest lacks {expected}\n{out}");
    }
    // Order: the digest is posted on Monday, between the second and third reminders.
    let digest_at = out.find("[#digest]").unwrap();
    assert!(out.find(reminders[1]).unwrap() < digest_at && digest_at < out.rfind(reminders[3]).unwrap());
    let after_done = &out[out.find("✔️ done").unwrap()..];
    assert!(!after_done.contains("[dm @bob]"), "reminders stop once done\n{after_done}");
}
