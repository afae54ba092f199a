//! Learning as a system: services, contributing-factor tags, drills and private
//! incidents, through the core.

use std::collections::BTreeMap;

use chrono::Duration;
use commands::recording_chat::ChatCall;
use commands::{FormKind, FormSubmission, Service, ServiceCatalog, Settings, TagPicker};
use storage::{Attachment, Platform};

use crate::support::{harness_with, Harness};

fn settings() -> Settings {
    let mut checkout = Service::named("checkout");
    checkout.team = "payments".into();
    checkout.owners = vec!["olga".into()];
    checkout.aliases = vec!["cart".into()];
    checkout.team_channels = BTreeMap::from([(Platform::Console, "team-payments".into())]);
    let services = ServiceCatalog::new(vec![checkout, Service::named("search")]).unwrap();
    Settings {
        announcements_channel: Some("incidents".into()),
        admins: vec!["root".into()],
        services,
        ..Settings::default()
    }
}

async fn harness() -> Harness {
    harness_with(settings()).await
}

#[tokio::test]
async fn a_service_named_at_declare_invites_its_owners_and_tells_its_team() {
    let h = harness().await;
    let refused = h.run("alice", "general", "declare service:chekout Checkout down").await;
    assert!(refused.is_error);
    assert!(Harness::reply_text(&refused).contains("Did you mean checkout?"), "{refused:?}");
    assert!(h.db.incident(1).await.unwrap().is_none(), "nothing is written for a refused declare");

    let channel = h.declare("alice", "sev2 service:cart Checkout down").await;
    assert_eq!(h.db.attached(Attachment::Service, 1).await.unwrap(), vec!["checkout"]);
    assert!(h
        .chat
        .calls()
        .contains(&ChatCall::Invite { channel_id: channel.clone().into(), users: vec!["olga".into()] }));
    assert_eq!(h.db.attached(Attachment::Invite, 1).await.unwrap(), vec!["olga"]);
    let team = h.chat.posts_to("team-payments");
    assert_eq!(team.len(), 1, "{team:?}");
    assert!(team[0].contains("INC-1 declared"), "{team:?}");

    let again = h.run("bob", &channel, "service add checkout").await;
    assert!(Harness::reply_text(&again).contains("already names checkout"), "{again:?}");
    let added = h.run("bob", &channel, "service add search").await;
    assert!(!added.is_error, "{added:?}");
    let removed = h.run("bob", &channel, "service remove checkout").await;
    assert!(!removed.is_error, "{removed:?}");
    assert_eq!(h.db.attached(Attachment::Service, 1).await.unwrap(), vec!["search"]);
}

#[tokio::test]
async fn a_private_incident_is_never_announced_and_hidden_from_outsiders() {
    let h = harness().await;
    let channel = h.declare("alice", "private Leaked credentials").await;
    assert!(h
        .chat
        .calls()
        .contains(&ChatCall::CreatePrivateChannel { name: channel.clone(), members: vec!["alice".into()] }));
    assert!(!h.chat.calls().iter().any(|c| matches!(c, ChatCall::CreateChannel { .. })));
    assert!(h.chat.posts_to("incidents").is_empty(), "a private incident is never announced");

    let listed = Harness::reply_text(&h.run("mallory", "general", "list").await);
    assert!(!listed.contains("INC-1") && !listed.contains("Leaked"), "{listed}");
    let outsider = h.run("mallory", "general", "INC-1 timeline").await;
    assert_eq!(Harness::reply_text(&outsider).lines().next(), Some("INC-1 does not exist."));
    assert!(Harness::reply_text(&h.run("root", "general", "list").await).contains("INC-1"));

    let invited = h.run("alice", &channel, "invite @dana").await;
    assert!(!invited.is_error, "{invited:?}");
    assert!(h
        .chat
        .calls()
        .contains(&ChatCall::Invite { channel_id: channel.clone().into(), users: vec!["dana".into()] }));
    assert!(Harness::reply_text(&h.run("dana", "general", "list").await).contains("INC-1"));

    // Updates and the resolution stay inside too.
    h.run("alice", &channel, "update Keys rotated").await;
    // Its action item, overdue by the digest, is counted there but never named.
    assert!(!h.run("alice", &channel, "action add Revoke the leaked signing keys @alice due:+1d").await.is_error);
    h.run("alice", &channel, "resolve Rotated").await;
    assert!(h.chat.posts_to("incidents").is_empty());

    h.clock.advance(Duration::days(3));
    let settings = settings();
    use commands::export::{load_for, ExportAccess};
    assert!(matches!(load_for(&h.db, &settings, 1, Some("mallory")).await.unwrap(), ExportAccess::Private));
    assert!(matches!(load_for(&h.db, &settings, 1, None).await.unwrap(), ExportAccess::Private));
    for user in ["alice", "dana", "root"] {
        assert!(matches!(load_for(&h.db, &settings, 1, Some(user)).await.unwrap(), ExportAccess::Allowed(_)), "{user}");
    }

    let digest = commands::digest::build(&h.db, chrono_tz::Tz::UTC, h.core.now(), Duration::days(7)).await.unwrap();
    let digest = digest.to_plain();
    assert!(digest.contains("1 private incident"), "{digest}");
    assert!(!digest.contains("Leaked"), "{digest}");
    assert!(digest.contains("1 overdue"), "{digest}");
    assert!(digest.contains("(1 item of private incidents not listed.)"), "{digest}");
    assert!(!digest.contains("Revoke"), "{digest}");
}

#[tokio::test]
async fn a_drill_says_so_everywhere_and_stays_out_of_the_metrics() {
    let h = harness().await;
    let channel = h.declare("alice", "drill sev2 Failover practice").await;
    assert!(channel.starts_with("drill-1-"), "{channel}");
    let posts = h.chat.posts_to(&channel);
    assert!(!posts.is_empty() && posts.iter().all(|p| p.starts_with("🧪 DRILL")), "{posts:?}");
    assert!(h.chat.posts_to("incidents").iter().all(|p| p.starts_with("🧪 DRILL")));
    h.clock.advance(Duration::minutes(5));
    h.run("bob", &channel, "note Replica promoted").await;
    h.run("alice", &channel, "resolve Done").await;
    assert!(h.chat.posts_to(&channel).iter().all(|p| p.starts_with("🧪 DRILL")));

    let stats = Harness::reply_text(&h.run("alice", "general", "stats 7d").await);
    assert!(stats.contains("Incidents in the last 7 days: 0"), "{stats}");
    assert!(stats.contains("Not counted: 1 drill"), "{stats}");
    let list = Harness::reply_text(&h.run("alice", "general", "list").await);
    assert!(list.contains("None"), "{list}");

    let export = commands::export::IncidentRecord::load(&h.db, 1).await.unwrap().unwrap().to_json();
    let json: serde_json::Value = serde_json::from_str(&export).unwrap();
    assert_eq!(json["drill"], true);
}

#[tokio::test]
async fn shared_tags_and_services_recur_in_the_digest() {
    let h = harness().await;
    let first = h.declare("alice", "service:checkout Checkout 500s").await;
    let second = h.declare("bob", "service:checkout Cart empty").await;
    let refused = h.run("alice", &first, "factor add monitoring").await;
    assert!(Harness::reply_text(&refused).contains("Did you mean monitoring-gap"), "{refused:?}");
    assert!(!h.run("alice", &first, "factor add alerting-gap").await.is_error);
    let again = h.run("alice", &first, "factor add alerting-gap").await;
    assert!(Harness::reply_text(&again).contains("already tagged"), "{again:?}");
    let listed = h.run("alice", &first, "factor list").await;
    assert_eq!(listed.tag_picker.unwrap().selected, vec!["alerting-gap"], "a picker to offer with the list");
    assert!(h.run("alice", "general", "factor list").await.tag_picker.is_none(), "no incident, no picker");

    // The second incident's tags come from the postmortem form's picker.
    let form = h.run("bob", &second, "postmortem").await.form.unwrap();
    let picker = form.tags.unwrap();
    assert_eq!(picker.options.len(), 11);
    let submission = FormSubmission {
        source_id: "pm-2".into(),
        user: "bob".into(),
        channel_id: second.clone().into(),
        kind: FormKind::Postmortem { incident: 2 },
        answers: vec![
            (TagPicker::KEY.into(), "alerting-gap change".into()),
            ("trigger".into(), "Dana pushed a config without the new key".into()),
        ],
    };
    let saved = h.core.submit_form(&submission).await.unwrap();
    let reply = Harness::reply_text(&saved);
    assert!(reply.contains("tagged alerting-gap, change"), "{reply}");
    assert!(reply.contains("Blameless hint") && reply.contains("Dana pushed"), "{reply}");
    assert_eq!(h.db.attached(Attachment::Factor, 2).await.unwrap(), vec!["alerting-gap", "change"]);

    let bad = FormSubmission {
        source_id: "pm-3".into(),
        answers: vec![(TagPicker::KEY.into(), "alerting".into())],
        ..submission.clone()
    };
    let refused = h.core.submit_form(&bad).await.unwrap();
    assert_eq!(refused.field_errors[0].0, TagPicker::KEY);

    h.clock.advance(Duration::minutes(1));
    let digest = commands::digest::build(&h.db, chrono_tz::Tz::UTC, h.core.now(), Duration::days(7)).await.unwrap();
    let digest = digest.to_plain();
    assert!(digest.contains("alerting-gap: 2 incidents (INC-1, INC-2) · ⚠️ no open prevention work"), "{digest}");
    assert!(digest.contains("Services with the most incidents in 90 days"), "{digest}");
    assert!(digest.contains("checkout: 2 incidents"), "{digest}");

    h.run("alice", &first, "action add Alert on 5xx rate addresses:alerting-gap").await;
    let digest = commands::digest::build(&h.db, chrono_tz::Tz::UTC, h.core.now(), Duration::days(7)).await.unwrap();
    assert!(digest.to_plain().contains("alerting-gap: 2 incidents (INC-1, INC-2) · 1 action item open"));
    let refused = h.run("alice", &first, "action add Something addresses:nope").await;
    assert!(refused.is_error);
}

#[tokio::test]
async fn a_system_declare_keeps_the_services_it_knows_and_still_declares() {
    let h = harness().await;
    let request = commands::SystemDeclare {
        source_id: "alert:prometheus:g1".into(),
        title: "HighErrorRate".into(),
        severity: None,
        description: None,
        services: vec!["cart".into(), "unknown-svc".into()],
    };
    let outcome = h.core.declare_for_system(commands::SystemSource::Alerts, &request).await.unwrap();
    assert!(!outcome.is_error, "{outcome:?}");
    assert_eq!(h.db.attached(Attachment::Service, 1).await.unwrap(), vec!["checkout"]);
    assert_eq!(h.chat.posts_to("team-payments").len(), 1);
}
