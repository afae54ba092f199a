//! End to end through the console: whole incidents played from scripts, checked by the
//! transcript and by the export.

use commands::export::IncidentRecord;
use tests::{run_script, script};

#[tokio::test]
async fn a_whole_incident_from_declare_to_closed_postmortem() {
    let (out, console) = run_script(&script("full_incident.txt"), None).await.unwrap();
    let channel = "[#inc-1-checkout-api-returns-500s] incidentbot:";
    let expect = [
        format!("{channel} 🚨 INC-1: Checkout API returns 500s"),
        "[#incidents] incidentbot: 🚨 INC-1 declared (sev2, Major)".to_string(),
        "[only @you] Declared INC-1 in #inc-1-checkout-api-returns-500s. You are the commander.".to_string(),
        format!("{channel} 👤 @carol is now comms (assigned by @you)"),
        format!("{channel} 🔎 Status: investigating → identified (@bob): Primary DB lost its disk"),
        format!("{channel} ⚠️ Severity: sev2 → sev1 (Critical) (@you)"),
        "[#incidents] incidentbot: 📣 INC-1 (sev1, identified) Checkout API returns 500s: Payments failing in EU"
            .to_string(),
        format!("{channel} 👀 Status: identified → monitoring (@you)"),
        format!("{channel} 📝 Action #1: Alert on replica lag · owner @bob · due 2026-03-04 · detect"),
        "[only @bob] Only the commander (@you) may resolve INC-1.".to_string(),
        format!("{channel} ✅ INC-1 resolved after 30m by @you."),
        // The resolve summary is the summary, so the form asks the nine missing fields.
        "[only @you] (9/9) Lessons learned: What will we do or know differently now?".to_string(),
        format!("{channel} 📘 The postmortem is complete and INC-1 is closed."),
        "Blameless hint for “What went wrong”: \"bob's fault\"".to_string(),
        "[only @you] 📘 Postmortem INC-1: Checkout API returns 500s".to_string(),
        "sev1: 1 declared, 1 resolved · MTTA <1m · MTTR 30m".to_string(),
    ];
    let mut from = 0;
    for line in &expect {
        let at =
            out[from..].find(line.as_str()).unwrap_or_else(|| panic!("missing or out of order: {line}\n---\n{out}"));
        from += at + line.len();
    }
    // Key timeline: the starred and the pinned message, but not the plain one.
    assert!(out.contains("@bob · 💬 replica lag on db-2 is 40s"), "{out}");
    assert!(out.contains("@carol · 💬 EU customers report failed payments"), "{out}");
    assert!(!out.contains("💬 seeing 500s"), "{out}");

    let record = IncidentRecord::load(console.db(), 1).await.unwrap().unwrap();
    let doc = record.to_doc();
    assert_eq!(
        (doc.status.as_str(), doc.severity.as_str(), doc.commander.as_deref().unwrap_or_default()),
        ("closed", "sev1", "you")
    );
    assert_eq!(doc.postmortem.lessons.as_deref(), Some("Alert on replica lag; automate failover."));
    assert_eq!(doc.action_items.len(), 2);
    assert_eq!(doc.action_items[1].kind, "process");
    assert_eq!(doc.action_items[1].owner, "you");
    assert_eq!(doc.resolved_at.as_deref(), Some("2026-03-02T09:30:00Z"));
    assert!(doc.timeline.iter().any(|e| e.kind == "message" && e.author == "bob" && e.key));
}

#[tokio::test]
async fn bad_input_gets_a_private_reply_and_writes_nothing() {
    let script = "\
/incident declare sev2 DB down
/incident frobnicate
/incident severity sev9
/incident status fixed
/incident action add Fix it due:tomorrow
/incident action done 42
#general
/incident status identified
/incident INC-7 status identified
hello there
:advance soon
";
    let (out, console) = run_script(script, None).await.unwrap();
    for expected in [
        "[only @you] `frobnicate` is not an /incident command.",
        "[only @you] `sev9` is not a valid severity; expected one of: sev1 sev2 sev3 sev4",
        "Usage: `/incident severity <sev1..sev4>`",
        "[only @you] `fixed` is not a status you can set; use investigating, identified or monitoring.",
        "[only @you] `due:tomorrow` is not a date. Use due:YYYY-MM-DD or due:+5d (at most 3650 days ahead).",
        "[only @you] Action item #42 does not exist.",
        "[only @you] This is not an incident channel.",
        "[only @you] INC-7 does not exist.",
        "[only @you] Not understood.",
        "[only @you] `soon` is not a duration",
    ] {
        assert!(out.contains(expected), "missing {expected}\n---\n{out}");
    }
    let db = console.db();
    assert_eq!(db.timeline(1, false).await.unwrap().len(), 1, "only the declaration is stored");
    assert_eq!(db.incident(1).await.unwrap().unwrap().status, storage::Status::Investigating);
}

#[tokio::test]
async fn a_console_workspace_with_a_database_file_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("ws.db").display());
    let (_, first) =
        run_script("/incident declare sev3 Search is slow\n@bob: looking\n", Some(url.clone())).await.unwrap();
    first.db().close().await;
    // Line numbers restart in a new run; the messages must not be mistaken for repeats.
    let second_script = "#inc-1-search-is-slow\n@carol: index rebuilt\n/incident declare sev3 Search is slow\n";
    let (out, second) = run_script(second_script, Some(url)).await.unwrap();
    let db = second.db();
    let texts: Vec<String> = db.timeline(1, false).await.unwrap().into_iter().map(|e| e.text).collect();
    assert!(texts.contains(&"looking".to_string()) && texts.contains(&"index rebuilt".to_string()), "{texts:?}");
    // A second incident with the same title gets a free channel name.
    assert!(out.contains("Declared INC-2 in #inc-2-search-is-slow"), "{out}");
}

#[tokio::test]
async fn a_form_interrupted_by_a_command_keeps_its_answers() {
    let script = "\
/incident declare DB down
/incident resolve
/incident postmortem
Short summary
/incident note after the form
";
    let (out, console) = run_script(script, None).await.unwrap();
    assert!(out.contains("Saved Summary for INC-1"), "{out}");
    let pm = console.db().postmortem(1).await.unwrap().unwrap();
    assert_eq!(pm.summary.as_deref(), Some("Short summary"));
    assert!(out.contains("📌 Note from @you: after the form"), "{out}");
}

#[tokio::test]
async fn an_empty_answer_keeps_the_severity_the_form_shows() {
    // Defect 5: `declare sev1`, a title, then an empty line for the severity shown as kept.
    let (out, console) = run_script("/incident declare sev1\nPayments down\n\n\n", None).await.unwrap();
    assert!(out.contains("(2/3) Severity: sev1 (critical) … sev4 (minor) [now: sev1]"), "{out}");
    let incident = console.db().incident(1).await.unwrap().unwrap();
    assert_eq!(incident.severity, storage::Severity::Sev1);
}

#[tokio::test]
async fn a_command_typed_mid_form_runs_after_the_form_is_saved() {
    // Defect 6: the command shared the form's source id and was dropped as a retry.
    let script = "/incident declare\nDB down\n/incident declare sev1 Payments down\n";
    let (out, console) = run_script(script, None).await.unwrap();
    assert!(out.contains("Declared INC-1"), "{out}");
    assert!(out.contains("Declared INC-2"), "{out}");
    let second = console.db().incident(2).await.unwrap().expect("the mid-form command ran");
    assert_eq!(second.title, "Payments down");
}

#[tokio::test]
async fn a_form_answer_refused_is_asked_again_and_the_others_are_kept() {
    let script = "/incident declare\nPayments down\nsev9\ncard auth failing\nsev1\n";
    let (out, console) = run_script(script, None).await.unwrap();
    assert!(out.contains("Nothing was saved yet. Fix Severity; the other answers are kept."), "{out}");
    let incident = console.db().incident(1).await.unwrap().expect("declared after the fix");
    assert_eq!((incident.title.as_str(), incident.severity), ("Payments down", storage::Severity::Sev1));
    assert_eq!(incident.description.as_deref(), Some("card auth failing"));
}

#[tokio::test]
async fn alerts_play_triage_declare_attach_and_the_resolve_nudge() {
    let (out, console) = tests::run_script_with_alerts(&script("alerts.txt"), &script("alerts.toml")).await.unwrap();
    let expect = [
        "[#alerts] incidentbot: 🔔 Alert #1 (prometheus/DiskAlmostFull): Disk on db-1 is 90% full",
        "severity=warning · env=prod · service=checkout",
        "[Declare (sev3)] [Dismiss]",
        "#1 prometheus/DiskAlmostFull · Disk on db-1 is 90% full · firing since",
        "Declare from alert #1: answer one line per field",
        "(1/3) Title: What is broken, in a few words? [now: Disk on db-1 is 90% full]",
        "(2/3) Severity: sev1 (critical) … sev4 (minor) [now: sev3]",
        "(3/3) Description: What do we know so far? (optional) [now: Declared from alert #1 (prometheus/DiskAlmostFull).",
        "[#alerts] incidentbot (edited): 🔕 Alert #1 (prometheus/DiskAlmostFull): Disk on db-1 is 90% full\n  Declared as INC-1 by @you.",
        "[only @you] Declared INC-1 in #inc-1-disk-on-db-1-is-90-full. You are the commander.",
        "[#alerts] incidentbot: 🔔 Alert #2 (prometheus/SlowQueries)",
        "[Declare (sev3)] [Attach to INC-1] [Dismiss]",
        "Firing: Queries on db-1 take over 2s (alert #2, prometheus/SlowQueries)",
        "[only @you] Alert #2 is attached to INC-1.",
        "0 new, 0 changed, 1 repeated.",
        "✅ Alert resolved: Disk on db-1 is 90% full (alert #1, prometheus/DiskAlmostFull)",
        "✅ Alert resolved: Queries on db-1 take over 2s (alert #2, prometheus/SlowQueries)",
        "✅ All alerts resolved: resolve INC-1?",
        "[Resolve]",
        "Alerts of INC-1: 2",
        "✅ INC-1 resolved",
        "🚨 INC-2: Checkout error rate above 5%",
        "Commander: no commander yet",
        "🔔 Firing: Checkout error rate above 5% (alert #3, prometheus/CheckoutErrors)",
        "🎖️ @bob took command.",
        "[#alerts] incidentbot: 🔔 Alert #4 (uptime/PingFailed): PingFailed",
        "resolved on its own before anyone decided",
        "Dismissed by @you: renewal is scheduled",
        "[only @you] Alert #5 is dismissed.",
        "[only @you] Alert #5 is not waiting in triage: it was dismissed.",
        "Alerts waiting in triage: 0",
        "(3/10) Detection: How did we find out? Could we have known sooner? [now: Alert CheckoutErrors (prometheus) at 2026-03-02 09:30 UTC.]",
        "Detected by monitoring: 2 of 2 (100%); by people: 0",
        "Time to detect: sev1 15m (1) · sev2 10m (1)",
        "Alert noise: 2 alerts without an incident · uptime/CertExpiry 1 (1 dismissed, 0 resolved on their own) · uptime/PingFailed 1 (0 dismissed, 1 resolved on their own)",
    ];
    let mut from = 0;
    for line in expect {
        let at = out[from..].find(line).unwrap_or_else(|| panic!("missing or out of order: {line}\n---\n{out}"));
        from += at + line.len();
    }
    // The repeat of alert #1 posted nothing: its firing is in the channel once.
    assert_eq!(out.matches("🔔 Alert #1 (prometheus/DiskAlmostFull)").count(), 1, "{out}");
    assert_eq!(out.matches("All alerts resolved").count(), 1, "{out}");

    let db = console.db();
    // The system-declared incident started when its alert did: time to detect is real.
    let inc2 = db.incident(2).await.unwrap().unwrap();
    assert_eq!(inc2.started_at.to_rfc3339(), "2026-03-02T09:30:00+00:00");
    assert_eq!(inc2.declared_by, "system:alerts");
    let detection = db.detection(2).await.unwrap().unwrap();
    assert_eq!((detection.source.as_str(), detection.alertname.as_str()), ("prometheus", "CheckoutErrors"));
    assert!(db.detection(1).await.unwrap().is_some(), "declared from triage is detected by monitoring");
    let inc1 = db.incident(1).await.unwrap().unwrap();
    assert_eq!(inc1.started_at.to_rfc3339(), "2026-03-02T08:50:00+00:00");
    // The form's answers: the kept title, the raised severity, the kept description.
    assert_eq!((inc1.title.as_str(), inc1.severity), ("Disk on db-1 is 90% full", storage::Severity::Sev2));
    assert!(inc1.description.as_deref().is_some_and(|d| d.starts_with("Declared from alert #1")), "{inc1:?}");
}
