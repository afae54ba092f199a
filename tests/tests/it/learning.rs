//! Learning as a system, played from `tests/scripts/learning.txt` with the catalog in
//! `learning.toml`: two incidents share a service and a factor tag and the digest names
//! the recurrence; a drill stays out of the metrics; a private incident stays out of
//! the digest's list.

use tests::{run_script_with_config, script};

/// The part of the transcript from the line starting with `start` to the next line that
/// is not a continuation of it.
fn post<'a>(out: &'a str, start: &str) -> &'a str {
    let at = out.find(start).unwrap_or_else(|| panic!("missing: {start}\n---\n{out}"));
    let rest = &out[at..];
    let end = rest.find("\n[").map_or(rest.len(), |n| n + 1);
    &rest[..end]
}

#[tokio::test]
async fn the_digest_names_what_recurs_and_keeps_drills_and_private_incidents_apart() {
    let (out, console) = run_script_with_config(&script("learning.txt"), "learning.toml").await.unwrap();

    // Services: an unknown name is refused with the closest; the team hears of both.
    assert!(out.contains("[only @you] `chekout` is not a known service. Did you mean checkout?"), "{out}");
    assert!(out.contains("`monitoring` is not a known factor tag. Did you mean monitoring-gap?"), "{out}");
    assert!(out.contains("[#team-payments] incidentbot: 🚨 INC-1 declared"), "{out}");
    assert!(out.contains("[#team-payments] incidentbot: 🚨 INC-2 declared"), "{out}");
    assert!(out.contains("Blameless hint for “Trigger”: \"Dana pushed\""), "{out}");

    // The drill says so everywhere and is not counted.
    assert!(out.contains("[#drill-3-database-failover-practice] incidentbot: 🧪 DRILL · 🚨 INC-3"), "{out}");
    assert!(!out.contains("[#drill-3-database-failover-practice] incidentbot: ✅"), "every drill post is marked");
    let stats = post(&out, "[only @you] Incidents in the last 7 days:");
    assert!(stats.starts_with("[only @you] Incidents in the last 7 days: 3\n"), "{stats}");
    assert!(stats.contains("Not counted: 1 drill (game days)."), "{stats}");
    assert!(stats.contains("checkout: 2 incidents · MTTR 35m"), "{stats}");

    // The private incident: never announced, hidden from outsiders, shown to the invited.
    assert!(out.contains("(private channel: only @you and the people invited can see it)"), "{out}");
    assert!(!out.contains("[#incidents] incidentbot: 🚨 INC-4"), "{out}");
    assert!(!out.contains("[#incidents] incidentbot: ✅ INC-4"), "{out}");
    assert!(post(&out, "[only @mallory] Open incidents").contains("None."), "{out}");
    assert!(out.contains("[only @mallory] INC-4 does not exist."), "{out}");
    assert!(out.contains("[only @dana] 🕒 Key events of INC-4: Leaked API key"), "{out}");

    let digest = post(&out, "[#digest] incidentbot: 📰 Weekly lessons learned");
    assert!(digest.contains("3 incidents declared"), "{digest}");
    assert!(digest.contains("• INC-1 [sev2] Checkout returns 500s"), "{digest}");
    assert!(digest.contains("• 1 private incident (not listed"), "{digest}");
    assert!(!digest.contains("Leaked") && !digest.contains("INC-4"), "{digest}");
    assert!(digest.contains("Game days: 1 drill (not counted in the figures above)"), "{digest}");
    assert!(digest.contains("• INC-3 [sev2] Database failover practice"), "{digest}");
    let by_severity = &digest[digest.find("By severity").unwrap()..digest.find("Lessons learned").unwrap()];
    assert!(!by_severity.contains("sev2: 2"), "the drill is not in the figures: {by_severity}");
    assert!(digest.contains("• alerting-gap: 2 incidents (INC-1, INC-2) · ⚠️ no open prevention work"), "{digest}");
    assert!(digest.contains("Services with the most incidents in 90 days"), "{digest}");
    assert!(digest.contains("• checkout: 2 incidents · MTTR 35m · 1 action item open · recurring (INC-1, INC-2)"));

    let json = commands::export::IncidentRecord::load(console.db(), 3).await.unwrap().unwrap().to_json();
    assert!(json.contains("\"drill\": true"), "{json}");
}
