//! What the web pages read and write through the core: insights from tags, services
//! and detections (drills left out), an incident's page with its services, tags,
//! alerts and tracker issues, the list's count under the visibility rule, and clearing
//! a postmortem answer on purpose.

use chrono::Duration;
use commands::{Service, ServiceCatalog, Settings};
use storage::{Detection, IncidentQuery, PostmortemField, TrackerLink};

use crate::support::{harness_with, Harness};

fn settings() -> Settings {
    let services = ServiceCatalog::new(vec![Service::named("checkout"), Service::named("search")]).unwrap();
    Settings { admins: vec!["root".into()], services, ..Settings::default() }
}

async fn harness() -> Harness {
    harness_with(settings()).await
}

#[tokio::test]
async fn insights_count_tags_services_and_detections_and_leave_drills_out() {
    let h = harness().await;
    let first = h.declare("alice", "sev2 service:checkout Checkout down").await;
    let second = h.declare("bob", "sev3 service:checkout service:search Search slow").await;
    let drill = h.declare("carol", "drill sev1 service:checkout Failover practice").await;
    for channel in [&first, &second, &drill] {
        assert!(!h.run("alice", channel, "factor add change").await.is_error);
    }
    h.run("alice", &second, "factor add capacity").await;
    h.run("alice", &first, "action add Alert on 5xx @dana due:2026-03-05").await;
    h.run("alice", &first, "action add Runbook @dana due:2026-04-01").await;
    h.run("bob", &second, "action add Cache warmup @erin due:2026-03-04").await;
    h.db.record_detection(&Detection {
        incident_id: 1,
        source: "alertmanager".into(),
        alertname: "HighErrorRate".into(),
        alert_at: h.core.now(),
    })
    .await
    .unwrap();
    h.clock.advance(Duration::minutes(30));
    h.run("alice", &first, "resolve Rolled back").await;
    h.clock.advance(Duration::minutes(30));
    h.run("alice", &drill, "resolve Done").await;
    h.run("bob", "general", "action done 3").await;
    h.clock.advance(Duration::days(8));

    let insights = h.core.insights(4).await.unwrap();
    let counted: usize = insights.weeks.iter().map(|w| w.total()).sum();
    assert_eq!(counted, 2, "the drill does not count: {:?}", insights.weeks);
    assert_eq!(insights.recurring_factors, vec![("change".to_string(), 2)], "by tag, the drill's not counted");
    let checkout = &insights.services[0];
    assert_eq!((checkout.service.as_str(), checkout.incidents, checkout.open_actions), ("checkout", 2, 2));
    assert_eq!(checkout.mttr, Some(Duration::minutes(30)), "only INC-1 is resolved");
    assert_eq!((insights.services[1].service.as_str(), insights.services[1].incidents), ("search", 1));
    assert_eq!((insights.detection.by_monitoring, insights.detection.by_people), (1, 1));
    let actions = &insights.actions;
    assert_eq!((actions.total, actions.done, actions.open), (3, 1, 2));
    assert_eq!(actions.open_by_age[1], ("1–4 weeks", 2), "{:?}", actions.open_by_age);
    assert_eq!(actions.overdue_by_owner, vec![("dana".to_string(), 1)]);
}

#[tokio::test]
async fn an_incident_page_shows_services_tags_alert_detection_and_tracker_issues() {
    let h = harness().await;
    let channel = h.declare("alice", "sev2 service:search Search slow").await;
    h.run("alice", &channel, "factor add capacity").await;
    h.run("alice", &channel, "action add Add an index @bob").await;
    h.db.link_tracker_issue(&TrackerLink {
        action_item_id: 1,
        tracker: "github".into(),
        issue_key: "acme/reliability#12".into(),
        url: "https://github.com/acme/reliability/issues/12".into(),
        linked_at: h.core.now(),
    })
    .await
    .unwrap();
    h.db.record_detection(&Detection {
        incident_id: 1,
        source: "grafana".into(),
        alertname: "SearchLatency".into(),
        alert_at: h.core.now(),
    })
    .await
    .unwrap();

    let page = h.core.incident_page("alice", 1, false, 1).await.unwrap().unwrap();
    assert_eq!(page.services, vec!["search"]);
    assert_eq!(page.factor_tags, vec!["capacity"]);
    assert_eq!(page.detection.as_ref().map(|d| d.alertname.as_str()), Some("SearchLatency"));
    assert_eq!(page.actions.len(), 1);
    assert_eq!(page.actions[0].1.as_ref().map(|l| l.issue_key.as_str()), Some("acme/reliability#12"));
    assert!(page.alerts.is_empty() && page.alerts_total == 0);

    let by_service = IncidentQuery { service: Some("search".into()), ..IncidentQuery::default() };
    assert_eq!(h.core.incident_list("alice", &by_service, 1).await.unwrap().total, 1);
    let other = IncidentQuery { service: Some("checkout".into()), ..IncidentQuery::default() };
    assert_eq!(h.core.incident_list("alice", &other, 1).await.unwrap().total, 0);
}

#[tokio::test]
async fn the_list_counts_only_the_incidents_the_viewer_may_see() {
    let h = harness().await;
    h.declare("alice", "sev2 Checkout down").await;
    h.declare("alice", "private Leaked credentials").await;
    let all = IncidentQuery::default();
    let outsider = h.core.incident_list("mallory", &all, 1).await.unwrap();
    assert_eq!((outsider.total, outsider.rows.len()), (1, 1));
    let admin = h.core.incident_list("root", &all, 1).await.unwrap();
    assert_eq!((admin.total, admin.rows.len()), (2, 2));
    let declarer = h.core.incident_list("alice", &all, 1).await.unwrap();
    assert_eq!(declarer.total, 2);
}

#[tokio::test]
async fn a_postmortem_answer_is_cleared_only_on_purpose_and_never_on_a_closed_incident() {
    let h = harness().await;
    let channel = h.declare("alice", "sev2 Checkout down").await;
    let save = |source: &'static str, answers: Vec<(&str, &str)>, clear: Vec<&str>| {
        let answers = answers.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let clear = clear.into_iter().map(str::to_string).collect();
        let core = &h.core;
        async move { core.save_postmortem_from_web(source, "alice", 1, answers, clear).await.unwrap() }
    };
    let written = save("web:1", vec![("summary", "The disk filled."), ("impact", "Checkout failed.")], vec![]).await;
    assert!(!written.is_error, "{written:?}");

    // An emptied box keeps the answer.
    let kept = save("web:2", vec![("summary", ""), ("impact", "Checkout failed.")], vec![]).await;
    assert!(Harness::reply_text(&kept).contains("No answers changed"), "{kept:?}");
    let stored = h.db.postmortem(1).await.unwrap().unwrap();
    assert_eq!(stored.get(PostmortemField::Summary), Some("The disk filled."));

    // The clear box empties it, whatever the box held, and the timeline says so.
    let cleared = save("web:3", vec![("summary", "The disk filled.")], vec!["summary"]).await;
    assert!(Harness::reply_text(&cleared).contains("Cleared Summary of INC-1"), "{cleared:?}");
    let stored = h.db.postmortem(1).await.unwrap().unwrap();
    assert_eq!(stored.get(PostmortemField::Summary), None);
    assert_eq!(stored.get(PostmortemField::Impact), Some("Checkout failed."));
    let timeline = h.db.timeline(1, false).await.unwrap();
    assert!(timeline.iter().any(|e| e.text == "Postmortem Summary cleared" && e.author == "alice"), "{timeline:?}");

    // A closed incident keeps a complete postmortem.
    let all: Vec<(&str, &str)> = commands::postmortem::FIELDS.iter().map(|f| (f.key, "Written down.")).collect();
    h.run("alice", &channel, "resolve Fixed").await;
    let closed = save("web:4", all, vec![]).await;
    assert!(Harness::reply_text(&closed).contains("is closed"), "{closed:?}");
    let refused = save("web:5", vec![], vec!["impact"]).await;
    assert!(refused.is_error, "{refused:?}");
    assert!(Harness::reply_text(&refused).contains("correct this answer instead"), "{refused:?}");
    assert!(h.db.postmortem(1).await.unwrap().unwrap().is_complete());
}
