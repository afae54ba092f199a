//! The triage post's buttons, pressed through each adapter: on Slack through the real
//! `/slack/interactions` route (block actions, `views.open`, the submitted view), on
//! Discord through the interaction handler, both against wiremock fakes. Declare opens
//! the declare form pre-filled from the alert and its submit declares and takes the
//! group; Attach joins an open incident (a private one only for its people); Dismiss
//! asks for an optional reason.

use bot::discord::interactions::handle_interaction;
use commands::alerts::AlertSettings;
use serde_json::{json, Value};
use serenity::all::Interaction;
use storage::{AlertState, Severity};

use super::alerts_support::feed_alertmanager;
use super::discord_support as discord;
use super::slack_support::spawn_app;

const TRIAGE: &str = "CTRIAGE";

fn block_actions(uri: &str, user: &str, trigger: &str, action_id: &str) -> Value {
    json!({
        "type": "block_actions",
        "user": { "id": user },
        "channel": { "id": TRIAGE },
        "trigger_id": trigger,
        "response_url": format!("{uri}/response/{trigger}"),
        "actions": [{ "action_id": action_id, "action_ts": "1800000001.000100" }]
    })
}

fn view_submission(view_id: &str, callback_id: &str, user: &str, answers: &[(&str, &str)]) -> Value {
    let values: serde_json::Map<String, Value> = answers
        .iter()
        .map(|(k, v)| (k.to_string(), json!({ *k: { "type": "plain_text_input", "value": v } })))
        .collect();
    json!({
        "type": "view_submission",
        "user": { "id": user },
        "view": {
            "id": view_id,
            "callback_id": callback_id,
            "private_metadata": json!({ "u": user, "c": TRIAGE }).to_string(),
            "blocks": answers.iter().map(|(k, _)| json!({ "block_id": k })).collect::<Vec<_>>(),
            "state": { "values": values }
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_triage_buttons_open_the_prefilled_form_attach_and_dismiss_with_a_reason() {
    let app = spawn_app().await;
    let core = app.state.core();
    core.set_alert_settings(AlertSettings { triage_channel: Some(TRIAGE.to_string().into()), rules: Vec::new() });
    // INC-1 is public; INC-2 is private to Alice.
    app.declare("U0ALICE", "sev2 Checkout is down").await;
    app.declare("U0ALICE", "private sev2 Leaked key").await;
    feed_alertmanager(core, "DiskFull", &[("fp1", "firing", "warning")]).await;
    feed_alertmanager(core, "SlowQueries", &[("fp2", "firing", "warning")]).await;
    feed_alertmanager(core, "CertExpiry", &[("fp3", "firing", "warning")]).await;

    let triage_posts: Vec<String> = app
        .calls_to("chat.postMessage")
        .await
        .into_iter()
        .filter(|p| p["channel"] == TRIAGE)
        .map(|p| p.to_string())
        .collect();
    assert_eq!(triage_posts.len(), 3, "{triage_posts:#?}");
    // Everyone in the triage channel reads the post: it offers the public incident only.
    assert!(triage_posts[0].contains("alert-attach:1:1"), "{}", triage_posts[0]);
    assert!(!triage_posts.iter().any(|p| p.contains("alert-attach:1:2")), "a private incident was offered");

    // Declare opens the declare modal, pre-filled from the alert.
    let uri = app.slack.uri();
    assert_eq!(app.interaction(block_actions(&uri, "U0BOB", "5000.1.trigger", "alert-declare:1")).await.status(), 200);
    app.settle().await;
    let opens = app.calls_to("views.open").await;
    assert_eq!(opens.len(), 1, "{opens:#?}");
    assert_eq!(opens[0]["trigger_id"], "5000.1.trigger");
    let view = &opens[0]["view"];
    assert_eq!(view["callback_id"], "alert-declare:1");
    let blocks = view["blocks"].as_array().unwrap();
    let initial = |key: &str| {
        blocks.iter().find(|b| b["block_id"] == key).map(|b| b["element"]["initial_value"].clone()).unwrap_or_default()
    };
    assert_eq!(initial("title"), "DiskFull is failing");
    assert_eq!(initial("severity"), "sev3");
    assert!(initial("description").as_str().unwrap().starts_with("Declared from alert #1 (prometheus/DiskFull)."));
    assert_eq!(app.db.alert(1).await.unwrap().unwrap().state, AlertState::Triage, "opening the form decides nothing");

    // A bad severity keeps the modal open with the error on its field.
    let refused = app
        .interaction(view_submission("V0AD1", "alert-declare:1", "U0BOB", &[("title", "Disk"), ("severity", "sev9")]))
        .await;
    let refused: Value = refused.json().await.unwrap();
    assert_eq!(refused["response_action"], "errors");
    assert!(refused["errors"]["severity"].is_string(), "{refused}");

    // Submitted with a new title and a raised severity: Bob declares, and leads.
    let submitted = app
        .interaction(view_submission(
            "V0AD1",
            "alert-declare:1",
            "U0BOB",
            &[("title", "Disk full on db-1"), ("severity", "sev2"), ("description", "")],
        ))
        .await;
    assert_eq!(submitted.status(), 200);
    app.settle().await;
    let db = &app.db;
    let declared = db.incident(3).await.unwrap().expect("the form declared INC-3");
    assert_eq!((declared.title.as_str(), declared.severity), ("Disk full on db-1", Severity::Sev2));
    assert_eq!(declared.commander.as_deref(), Some("U0BOB"));
    let alert = db.alert(1).await.unwrap().unwrap();
    assert_eq!((alert.state, alert.incident_id), (AlertState::Attached, Some(3)));
    assert!(db.detection(3).await.unwrap().is_some(), "detected by monitoring");
    let updates = app.calls_to("chat.update").await;
    assert!(
        updates.iter().any(|u| u["channel"] == TRIAGE && u.to_string().contains("Declared as INC-3")),
        "{updates:#?}"
    );

    // Attach to INC-1.
    assert_eq!(app.interaction(block_actions(&uri, "U0BOB", "5000.2.trigger", "alert-attach:2:1")).await.status(), 200);
    app.settle().await;
    let alert = db.alert(2).await.unwrap().unwrap();
    assert_eq!((alert.state, alert.incident_id), (AlertState::Attached, Some(1)));

    // Attaching to the private INC-2 by someone outside it: it does not exist for him.
    assert_eq!(app.interaction(block_actions(&uri, "U0BOB", "5000.3.trigger", "alert-attach:3:2")).await.status(), 200);
    app.settle().await;
    assert_eq!(db.alert(3).await.unwrap().unwrap().state, AlertState::Triage);
    let replies = app.private_replies().await;
    assert!(replies.iter().any(|r| r.to_string().contains("INC-2 does not exist")), "{replies:#?}");

    // Dismiss asks for a reason; the answer dismisses the group and says why.
    assert_eq!(app.interaction(block_actions(&uri, "U0BOB", "5000.4.trigger", "alert-dismiss:3")).await.status(), 200);
    app.settle().await;
    let opens = app.calls_to("views.open").await;
    assert_eq!(opens.len(), 2);
    assert_eq!(opens[1]["view"]["callback_id"], "alert-dismiss:3");
    assert_eq!(db.alert(3).await.unwrap().unwrap().state, AlertState::Triage, "pressing alone dismisses nothing");
    let dismissed = app
        .interaction(view_submission("V0DI1", "alert-dismiss:3", "U0BOB", &[("reason", "renewal is scheduled")]))
        .await;
    assert_eq!(dismissed.status(), 200);
    app.settle().await;
    assert_eq!(db.alert(3).await.unwrap().unwrap().state, AlertState::Dismissed);
    let updates = app.calls_to("chat.update").await;
    assert!(updates.iter().any(|u| u.to_string().contains("renewal is scheduled")), "{updates:#?}");
    assert!(updates.iter().any(|u| u.to_string().contains("Attached to INC-1")), "{updates:#?}");

    // Alice, in the private incident, sees what Bob may not: its alerts list.
    let listed = core
        .run(&commands::Invocation {
            source_id: "list-alerts-bob".into(),
            user: "U0BOB".into(),
            channel_id: TRIAGE.to_string().into(),
            text: "INC-2 alerts".into(),
        })
        .await
        .unwrap();
    assert!(listed.is_error, "{listed:?}");
}

fn discord_press(id: &str, custom_id: &str) -> Interaction {
    let (id, custom_id) = (id.to_string(), custom_id.to_string());
    discord::fixture_with("button_acknowledge.json", move |v| {
        v["id"] = json!(id);
        v["token"] = json!(format!("token-{id}"));
        v["channel_id"] = json!(discord::GENERAL.to_string());
        v["channel"]["id"] = json!(discord::GENERAL.to_string());
        v["data"]["custom_id"] = json!(custom_id);
    })
}

fn discord_submit(id: &str, custom_id: &str, answers: &[(&str, &str)]) -> Interaction {
    let (id, custom_id) = (id.to_string(), custom_id.to_string());
    let rows: Vec<Value> = answers
        .iter()
        .map(|(k, v)| json!({ "type": 1, "components": [{ "type": 4, "custom_id": k, "value": v }] }))
        .collect();
    discord::fixture_with("modal_postmortem_1.json", move |v| {
        v["id"] = json!(id);
        v["token"] = json!(format!("token-{id}"));
        v["channel_id"] = json!(discord::GENERAL.to_string());
        v["data"] = json!({ "custom_id": custom_id, "components": rows });
    })
}

fn discord_callback(calls: &[discord::Call], id: &str) -> Value {
    let path = format!("/interactions/{id}/token-{id}/callback");
    let found = discord::find(calls, "POST", &path);
    assert_eq!(found.len(), 1, "one callback for {id}");
    found[0].body.clone()
}

fn input_values(modal: &Value) -> Vec<(String, String)> {
    modal["data"]["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .map(|input| {
            (
                input["custom_id"].as_str().unwrap_or_default().to_string(),
                input["value"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_triage_buttons_open_the_prefilled_modal_attach_and_dismiss_with_a_reason() {
    let fake = discord::start().await;
    let core = &fake.bot.core;
    let triage = discord::GENERAL.to_string();
    core.set_alert_settings(AlertSettings { triage_channel: Some(triage.clone().into()), rules: Vec::new() });
    feed_alertmanager(core, "DiskFull", &[("fp1", "firing", "warning")]).await;

    // Declare answers with the modal itself (a modal must be the first response).
    handle_interaction(&fake.bot, &discord_press("1600000000000000031", "alert-declare:1")).await.unwrap();
    let all = discord::calls(&fake.server).await;
    let modal = discord_callback(&all, "1600000000000000031");
    assert_eq!(modal["type"], 9, "{modal}");
    assert_eq!(modal["data"]["custom_id"], "modal:1:alert-declare:1");
    let inputs = input_values(&modal);
    let keys: Vec<&str> = inputs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, vec!["title", "severity", "description"]);
    assert_eq!(inputs[0].1, "DiskFull is failing");
    assert_eq!(inputs[1].1, "sev3");
    assert!(inputs[2].1.starts_with("Declared from alert #1"), "{inputs:?}");

    let submit = discord_submit(
        "1600000000000000032",
        "modal:1:alert-declare:1",
        &[("title", "Disk full on db-1"), ("severity", "sev1"), ("description", "db-1 at 90%")],
    );
    handle_interaction(&fake.bot, &submit).await.unwrap();
    let db = &fake.db;
    let incident = db.incident(1).await.unwrap().expect("the modal declared INC-1");
    assert_eq!((incident.title.as_str(), incident.severity), ("Disk full on db-1", Severity::Sev1));
    assert_eq!(incident.commander.as_deref(), Some(discord::ALICE), "who submitted the modal leads");
    assert_eq!(db.alert(1).await.unwrap().unwrap().incident_id, Some(1));
    let all = discord::calls(&fake.server).await;
    let edits: Vec<&discord::Call> = all
        .iter()
        .filter(|c| c.method == "PATCH" && c.path.starts_with(&format!("/channels/{triage}/messages/")))
        .collect();
    assert!(edits.iter().any(|c| c.body.to_string().contains("Declared as INC-1")), "{edits:#?}");

    // The next alert's post offers INC-1; Attach is deferred, then done.
    feed_alertmanager(core, "SlowQueries", &[("fp2", "firing", "warning")]).await;
    let all = discord::calls(&fake.server).await;
    let posts = discord::find(&all, "POST", &format!("/channels/{triage}/messages"));
    assert!(posts.last().unwrap().body.to_string().contains("alert-attach:2:1"), "{:?}", posts.last());
    handle_interaction(&fake.bot, &discord_press("1600000000000000033", "alert-attach:2:1")).await.unwrap();
    let all = discord::calls(&fake.server).await;
    assert_eq!(discord_callback(&all, "1600000000000000033")["type"], 5, "deferred");
    let alert = db.alert(2).await.unwrap().unwrap();
    assert_eq!((alert.state, alert.incident_id), (AlertState::Attached, Some(1)));

    // Dismiss opens a one-field modal; its answer is the reason.
    feed_alertmanager(core, "CertExpiry", &[("fp3", "firing", "warning")]).await;
    handle_interaction(&fake.bot, &discord_press("1600000000000000034", "alert-dismiss:3")).await.unwrap();
    let all = discord::calls(&fake.server).await;
    let modal = discord_callback(&all, "1600000000000000034");
    assert_eq!(modal["data"]["custom_id"], "modal:1:alert-dismiss:3");
    assert_eq!(db.alert(3).await.unwrap().unwrap().state, AlertState::Triage);
    let submit =
        discord_submit("1600000000000000035", "modal:1:alert-dismiss:3", &[("reason", "renewal is scheduled")]);
    handle_interaction(&fake.bot, &submit).await.unwrap();
    assert_eq!(db.alert(3).await.unwrap().unwrap().state, AlertState::Dismissed);
    let all = discord::calls(&fake.server).await;
    assert!(
        all.iter().any(|c| c.method == "PATCH" && c.body.to_string().contains("renewal is scheduled")),
        "the triage post says why"
    );

    // Pressed again, the decided post's button says what became of the alert.
    handle_interaction(&fake.bot, &discord_press("1600000000000000036", "alert-declare:3")).await.unwrap();
    let all = discord::calls(&fake.server).await;
    let answer = discord_callback(&all, "1600000000000000036");
    assert_eq!(answer["type"], 4, "{answer}");
    assert!(answer["data"]["content"].as_str().unwrap().contains("it was dismissed"), "{answer}");
}
