//! Follow-through beyond chat against wiremock fakes of GitHub, Jira and Statuspage:
//! the request shapes each API documents, exactly-once creation through retries,
//! outages and restarts, and the signed webhooks coming back.

use std::collections::HashMap;
use std::sync::Arc;

use bot::secret::Secret;
use bot::trackers::github::{sign, GitHub};
use bot::trackers::jira::Jira;
use bot::trackers::statuspage::Statuspage;
use bot::trackers::webhook::{self, Webhooks};
use bot::trackers::WebhookSecrets;
use chrono::{DateTime, Duration, Utc};
use commands::follow_through::{Destination, FollowThrough, People, PersonIds, RetryPolicy};
use commands::followup::{FollowupSettings, Followups};
use commands::recording_chat::RecordingChat;
use commands::{Clock, Core, Invocation, ManualClock, Settings};
use serde_json::{json, Value};
use storage::{ActionStatus, Db, EntryKind};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const REPO: &str = "acme/reliability";
const CHANNEL: &str = "inc-1-checkout-is-failing";

fn start() -> DateTime<Utc> {
    "2026-03-02T09:00:00Z".parse().unwrap()
}

fn people() -> People {
    People::new(HashMap::from([(
        "bob".to_string(),
        PersonIds { github: Some("bob-gh".into()), jira: Some("5b10a2844c20165700ede21g".into()) },
    )]))
}

fn retry() -> RetryPolicy {
    RetryPolicy {
        first: Duration::seconds(30),
        longest: Duration::minutes(10),
        tell_after: 5,
        hold: Duration::minutes(2),
    }
}

fn github(server: &MockServer) -> Arc<GitHub> {
    Arc::new(GitHub::new(&server.uri(), Secret::new("ghp_test"), REPO, vec!["incident-follow-up".into()]).unwrap())
}

struct Bench {
    core: Arc<Core>,
    chat: Arc<RecordingChat>,
    clock: ManualClock,
    db: Db,
}

/// A core on `db` with the given follow-through, and one incident declared by alice.
async fn bench(db: Db, follow: FollowThrough, declare: bool) -> Bench {
    bench_at(db, follow, declare, None).await
}

/// [`bench`], with the web pages at `public_url`.
async fn bench_at(db: Db, follow: FollowThrough, declare: bool, public_url: Option<&str>) -> Bench {
    let clock = ManualClock::new(start());
    let chat = Arc::new(RecordingChat::new());
    let services = commands::catalog::ServiceCatalog::new(vec![
        commands::catalog::Service::named("checkout"),
        commands::catalog::Service::named("search"),
    ])
    .unwrap();
    let settings = Settings { services, public_url: public_url.map(str::to_string), ..Settings::default() };
    let core = Arc::new(Core::new(db.clone(), chat.clone(), Arc::new(clock.clone()), settings));
    assert!(core.set_follow_through(follow));
    let bench = Bench { core, chat, clock, db };
    if declare {
        bench.run_in("general", "alice", "declare sev2 Checkout is failing", "declare").await;
    }
    bench
}

impl Bench {
    async fn run_in(&self, channel: &str, user: &str, text: &str, source: &str) -> commands::Outcome {
        self.core
            .run(&Invocation {
                source_id: source.into(),
                user: user.into(),
                channel_id: channel.into(),
                text: text.into(),
            })
            .await
            .unwrap()
    }

    async fn run(&self, user: &str, text: &str, source: &str) -> commands::Outcome {
        self.run_in(CHANNEL, user, text, source).await
    }

    fn followups(&self) -> Followups {
        let settings = FollowupSettings {
            backoff: std::time::Duration::from_millis(1),
            ..FollowupSettings::defaults(chrono_tz::Tz::UTC).unwrap()
        };
        Followups::new(self.core.clone(), settings)
    }
}

fn created(number: u64) -> ResponseTemplate {
    ResponseTemplate::new(201)
        .set_body_json(json!({ "number": number, "html_url": format!("https://github.com/{REPO}/issues/{number}") }))
}

fn issue_posts(requests: &[Request]) -> Vec<Value> {
    requests
        .iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path() == "/repos/acme/reliability/issues")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

#[tokio::test]
async fn an_item_added_twice_in_a_retry_opens_one_issue_of_the_documented_shape() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/reliability/issues"))
        .and(header("authorization", "Bearer ghp_test"))
        .and(header("accept", "application/vnd.github+json"))
        .and(header("x-github-api-version", "2022-11-28"))
        .and(body_partial_json(json!({
            "title": "Alert on checkout error rate",
            "labels": ["incident-follow-up"],
            "assignees": ["bob-gh"],
        })))
        .respond_with(created(12))
        .expect(1)
        .mount(&server)
        .await;
    let follow =
        FollowThrough { tracker: Some(github(&server)), people: people(), retry: retry(), ..Default::default() };
    let b = bench(Db::in_memory().await.unwrap(), follow, true).await;
    let add = "action add Alert on checkout error rate @bob due:2026-03-09 kind:detect addresses:alerting-gap";
    b.run("alice", add, "add-1").await;
    // Slack retries the same request: same source id.
    b.run("alice", add, "add-1").await;

    let posts = issue_posts(&server.received_requests().await.unwrap());
    assert_eq!(posts.len(), 1);
    let body = posts[0]["body"].as_str().unwrap();
    assert!(body.contains("INC-1: Checkout is failing"), "{body}");
    assert!(body.contains("**Due:** 2026-03-09"), "{body}");
    assert!(body.contains("**Kind:** detect"), "{body}");
    assert!(body.contains("**Addresses:** alerting-gap"), "{body}");
    assert!(body.contains("incidentbot action #1"), "{body}");
    let link = b.db.tracker_link(1).await.unwrap().unwrap();
    assert_eq!(
        (link.issue_key.as_str(), link.url.as_str()),
        ("acme/reliability#12", "https://github.com/acme/reliability/issues/12")
    );
    let shown = b.chat.posts_to(CHANNEL).join("\n");
    assert!(
        shown.contains(
            "Action #1 is tracked in GitHub: acme/reliability#12 https://github.com/acme/reliability/issues/12"
        ),
        "{shown}"
    );
    // The export carries the issue, in JSON and in Markdown.
    let record = commands::export::IncidentRecord::load(&b.db, 1).await.unwrap().unwrap();
    let json: Value = serde_json::from_str(&record.to_json()).unwrap();
    assert_eq!(
        json["action_items"][0]["issue"],
        json!({ "tracker": "github", "key": "acme/reliability#12", "url": "https://github.com/acme/reliability/issues/12" })
    );
    let markdown = record.to_markdown(chrono_tz::Tz::UTC);
    assert!(
        markdown.contains("open · [acme/reliability#12](https://github.com/acme/reliability/issues/12)"),
        "{markdown}"
    );
}

#[tokio::test]
async fn the_tracker_down_for_five_attempts_then_up_opens_one_issue_and_the_owner_is_told_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/reliability/issues"))
        .respond_with(ResponseTemplate::new(503).set_body_string("GitHub is down"))
        .up_to_n_times(5)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/reliability/issues"))
        .respond_with(created(7))
        .mount(&server)
        .await;
    let follow =
        FollowThrough { tracker: Some(github(&server)), people: people(), retry: retry(), ..Default::default() };
    let b = bench(Db::in_memory().await.unwrap(), follow, true).await;
    // The item is saved even though the first attempt fails.
    b.run("alice", "action add Add a canary for checkout @bob", "add-1").await;
    assert_eq!(b.db.action(1).await.unwrap().unwrap().status, ActionStatus::Open);
    assert!(b.db.tracker_link(1).await.unwrap().is_none());

    let followups = b.followups();
    followups.tick(b.clock.now()).await.unwrap();
    // Ticks before the backoff has passed make no call.
    let calls = || async { issue_posts(&server.received_requests().await.unwrap()).len() };
    followups.tick(b.clock.now() + Duration::seconds(10)).await.unwrap();
    assert_eq!(calls().await, 1);
    // Each pause doubles: 30 s, 60 s, 120 s, 240 s.
    for (n, pause) in [30, 60, 120, 240].into_iter().enumerate() {
        let due = followups.next_due_after(b.clock.now()).await.unwrap().unwrap();
        assert_eq!(due, b.clock.now() + Duration::seconds(pause), "pause {n}");
        b.clock.advance(Duration::seconds(pause));
        followups.tick(b.clock.now()).await.unwrap();
        assert_eq!(calls().await, n + 2);
    }
    assert!(b.db.tracker_link(1).await.unwrap().is_none());
    let told = b.chat.dms_to("bob");
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].contains("could not open its issue in GitHub after 5 attempts"), "{}", told[0]);
    // Up again: the sixth attempt opens the one issue; later ticks call no more.
    b.clock.advance(Duration::seconds(480));
    followups.tick(b.clock.now()).await.unwrap();
    b.clock.advance(Duration::hours(2));
    followups.tick(b.clock.now()).await.unwrap();
    assert_eq!(calls().await, 6);
    assert_eq!(b.db.tracker_link(1).await.unwrap().unwrap().issue_key, "acme/reliability#7");
    assert_eq!(b.chat.dms_to("bob").len(), 1);
}

#[tokio::test]
async fn a_claimed_issue_survives_a_restart_and_is_opened_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("restart.db").display());
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/reliability/issues"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/reliability/issues"))
        .respond_with(created(3))
        .mount(&server)
        .await;
    let follow = || FollowThrough { tracker: Some(github(&server)), retry: retry(), ..Default::default() };
    {
        let b = bench(Db::connect(&url).await.unwrap(), follow(), true).await;
        b.run("alice", "action add Rotate the checkout keys", "add-1").await;
        b.db.close().await;
    }
    // A new process on the same database: the claimed job is still there.
    for _ in 0..2 {
        let b = bench(Db::connect(&url).await.unwrap(), follow(), false).await;
        b.clock.advance(Duration::minutes(5));
        b.followups().tick(b.clock.now()).await.unwrap();
        b.db.close().await;
    }
    let db = Db::connect(&url).await.unwrap();
    assert_eq!(issue_posts(&server.received_requests().await.unwrap()).len(), 2);
    assert_eq!(db.tracker_link(1).await.unwrap().unwrap().issue_key, "acme/reliability#3");
    db.close().await;
}

/// Serves the webhook routes on a free port; returns their base URL.
async fn serve_webhooks(hooks: Webhooks) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, webhook::router(hooks)).await.unwrap() });
    format!("http://{addr}")
}

fn issues_event(action: &str, number: u64) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "action": action,
        "issue": { "number": number, "state": if action == "closed" { "closed" } else { "open" } },
        "repository": { "full_name": "Acme/Reliability" },
        "sender": { "login": "bob-gh" },
    }))
    .unwrap()
}

async fn deliver(base: &str, delivery: &str, body: Vec<u8>, signature: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{base}/trackers/github"))
        .header("X-GitHub-Event", "issues")
        .header("X-GitHub-Delivery", delivery)
        .header("X-Hub-Signature-256", signature)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_signed_issues_closed_webhook_closes_the_item_once_and_a_forged_one_is_refused() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/reliability/issues"))
        .respond_with(created(12))
        .mount(&server)
        .await;
    let follow =
        FollowThrough { tracker: Some(github(&server)), people: people(), retry: retry(), ..Default::default() };
    let b = bench(Db::in_memory().await.unwrap(), follow, true).await;
    b.run("alice", "action add Alert on checkout error rate @bob due:+1d", "add-1").await;
    let secrets = WebhookSecrets { github: Some(Secret::new("whsec-test")), jira: None };
    let hooks = Webhooks::new(b.db.clone(), &secrets);
    hooks.add_core(b.core.clone());
    let base = serve_webhooks(hooks).await;

    // Forged: signed with another secret. Refused, and nothing is written.
    let body = issues_event("closed", 12);
    assert_eq!(deliver(&base, "d-1", body.clone(), &sign("guess", &body)).await, 401);
    assert_eq!(deliver(&base, "d-1", body.clone(), "sha256=00").await, 401);
    assert_eq!(b.db.action(1).await.unwrap().unwrap().status, ActionStatus::Open);
    assert!(!b.db.inbound_event_processed(&storage::EventSource::tracker("github"), "d-1").await.unwrap());

    // Signed: closes the item; delivered twice, applied once.
    assert_eq!(deliver(&base, "d-1", body.clone(), &sign("whsec-test", &body)).await, 200);
    assert_eq!(deliver(&base, "d-1", body.clone(), &sign("whsec-test", &body)).await, 200);
    assert_eq!(b.db.action(1).await.unwrap().unwrap().status, ActionStatus::Done);
    let timeline = b.db.timeline(1, false).await.unwrap();
    let closings: Vec<_> =
        timeline.iter().filter(|e| e.kind == EntryKind::Action && e.text.contains("closed in GitHub")).collect();
    assert_eq!(closings.len(), 1);
    assert_eq!(closings[0].author, "system:tracker");
    // Its reminders stop: the item is no longer overdue anywhere.
    let overdue =
        b.db.actions(&storage::ActionFilter::OverdueOn {
            today: start().date_naive() + chrono::Days::new(5),
            incident_id: None,
        })
        .await
        .unwrap();
    assert!(overdue.is_empty());

    // Reopened in GitHub: the item reopens.
    let body = issues_event("reopened", 12);
    assert_eq!(deliver(&base, "d-2", body.clone(), &sign("whsec-test", &body)).await, 200);
    assert_eq!(b.db.action(1).await.unwrap().unwrap().status, ActionStatus::Open);
    // An issue we do not know is ignored.
    let body = issues_event("closed", 999);
    assert_eq!(deliver(&base, "d-3", body.clone(), &sign("whsec-test", &body)).await, 200);
    assert_eq!(b.db.action(1).await.unwrap().unwrap().status, ActionStatus::Open);
}

#[tokio::test]
async fn closing_reassigning_and_redating_in_chat_sync_the_issue() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/reliability/issues"))
        .respond_with(created(12))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/reliability/issues/12"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "number": 12, "body": "**Kind:** prevent · **Due:** 2026-03-16\n\nincidentbot action #1"
        })))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/reliability/issues/12"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "number": 12 })))
        .mount(&server)
        .await;
    let follow =
        FollowThrough { tracker: Some(github(&server)), people: people(), retry: retry(), ..Default::default() };
    let b = bench(Db::in_memory().await.unwrap(), follow, true).await;
    b.run("alice", "action add Rotate keys", "add-1").await;
    b.run("alice", "action reassign 1 @bob", "re-1").await;
    b.run("bob", "action due 1 2026-03-20", "due-1").await;
    b.run("bob", "action done 1", "done-1").await;
    b.run("bob", "action reopen 1", "reopen-1").await;
    let patches: Vec<Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "PATCH")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(patches.len(), 4, "{patches:?}");
    assert_eq!(patches[0]["assignees"], json!(["bob-gh"]));
    assert_eq!(patches[1]["body"], "**Kind:** prevent · **Due:** 2026-03-20\n\nincidentbot action #1");
    assert_eq!(
        (patches[2]["state"].as_str(), patches[2]["state_reason"].as_str()),
        (Some("closed"), Some("completed"))
    );
}

#[tokio::test]
async fn an_existing_issue_is_linked_by_url_or_key_and_bad_references_are_refused() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/reliability/issues"))
        .respond_with(created(40))
        .mount(&server)
        .await;
    let follow = FollowThrough { tracker: Some(github(&server)), retry: retry(), ..Default::default() };
    let b = bench(Db::in_memory().await.unwrap(), follow, true).await;
    b.run("alice", "action add One", "add-1").await;
    // A second item whose creation we make wait, to link it by hand.
    let outcome = b.run("alice", "action link 1 https://github.com/acme/reliability/issues/5", "link-1").await;
    assert!(outcome.is_error, "item 1 is linked to #40 already");
    b.run("alice", "action add Two", "add-2").await;
    let outcome = b.run("alice", "action link 2 acme/reliability#40", "link-2").await;
    assert!(outcome.is_error, "#40 belongs to item 1");
    let outcome = b.run("alice", "action link 2 not-an-issue", "link-3").await;
    assert!(outcome.is_error);
    let said = outcome.reply.unwrap().to_plain();
    assert!(said.contains("is not a GitHub issue URL or key"), "{said}");
}

#[tokio::test]
async fn jira_issues_are_created_with_basic_auth_an_adf_description_and_a_due_date() {
    let server = MockServer::start().await;
    // "bot@acme.com:jira-token" in base64.
    let basic = "Basic Ym90QGFjbWUuY29tOmppcmEtdG9rZW4=";
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue"))
        .and(header("authorization", basic))
        .and(body_partial_json(json!({ "fields": {
            "project": { "key": "REL" },
            "issuetype": { "name": "Task" },
            "summary": "Alert on checkout error rate",
            "duedate": "2026-03-09",
            "assignee": { "accountId": "5b10a2844c20165700ede21g" },
            "description": { "type": "doc", "version": 1 },
        }})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "id": "10000", "key": "REL-7", "self": "x" })))
        .expect(1)
        .mount(&server)
        .await;
    let jira = Jira::new(
        &server.uri(),
        "https://acme.atlassian.net",
        Secret::new("bot@acme.com"),
        Secret::new("jira-token"),
        "REL",
        "Task",
    )
    .unwrap();
    let follow =
        FollowThrough { tracker: Some(Arc::new(jira)), people: people(), retry: retry(), ..Default::default() };
    let b = bench(Db::in_memory().await.unwrap(), follow, true).await;
    b.run("alice", "action add Alert on checkout error rate @bob due:2026-03-09", "add-1").await;
    let requests = server.received_requests().await.unwrap();
    let sent: Value = serde_json::from_slice(&requests[0].body).unwrap();
    let doc = &sent["fields"]["description"];
    assert_eq!(doc["content"][0]["type"], "paragraph");
    assert_eq!(doc["content"][0]["content"][0], json!({ "type": "text", "text": "Action item from incident " }));
    assert_eq!(doc["content"][1]["content"][0]["marks"][0]["type"], "strong");
    let link = b.db.tracker_link(1).await.unwrap().unwrap();
    assert_eq!((link.issue_key.as_str(), link.url.as_str()), ("REL-7", "https://acme.atlassian.net/browse/REL-7"));
}

#[tokio::test]
async fn a_statuspage_incident_goes_through_created_updated_resolved_and_nothing_leaks_before() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/pages/pg1/incidents"))
        .and(header("authorization", "OAuth sp-key"))
        .and(body_partial_json(json!({ "incident": {
            "name": "Checkout is failing",
            "status": "investigating",
            "impact_override": "major",
            "body": "We are looking into failed payments at checkout.",
        }})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "id": "inc_abc" })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/pages/pg1/incidents/inc_abc"))
        .and(header("authorization", "OAuth sp-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": "inc_abc" })))
        .expect(2)
        .mount(&server)
        .await;
    let page = Statuspage::new(&server.uri(), Secret::new("sp-key"), "pg1").unwrap();
    let components = HashMap::from([("checkout".to_string(), "cmp_checkout".to_string())]);
    let follow = FollowThrough { status_page: Some(Arc::new(page)), components, retry: retry(), ..Default::default() };
    let b = bench(Db::in_memory().await.unwrap(), follow, true).await;
    b.run("alice", "service add checkout", "svc-1").await;
    b.run("alice", "service add search", "svc-2").await;
    // Internal updates and notes never reach the page.
    b.run("alice", "update Payments provider returns 500s; internal only", "u-1").await;
    b.run("alice", "note rolled back deploy 4411", "n-1").await;
    assert!(server.received_requests().await.unwrap().is_empty());
    // Only the commander may publish.
    assert!(b.run("carol", "public Hello world", "p-0").await.is_error);
    b.run("alice", "public We are looking into failed payments at checkout.", "p-1").await;
    b.run("alice", "status identified", "s-1").await;
    b.run("alice", "public We found the cause: a payment provider outage. Café ☕ payments resume soon.", "p-2").await;
    b.run("alice", "public We found the cause: a payment provider outage. Café ☕ payments resume soon.", "p-2").await;
    b.run("alice", "resolve Provider recovered", "r-1").await;

    let requests = server.received_requests().await.unwrap();
    let bodies: Vec<Value> = requests.iter().map(|r| serde_json::from_slice(&r.body).unwrap()).collect();
    assert_eq!(bodies.len(), 3);
    assert_eq!(bodies[1]["incident"]["status"], "identified");
    assert_eq!(
        bodies[1]["incident"]["body"],
        "We found the cause: a payment provider outage. Café ☕ payments resume soon."
    );
    assert_eq!(bodies[2]["incident"]["status"], "resolved");
    // The incident's services with a component: sev2 is a major outage, then operational.
    assert_eq!(bodies[0]["incident"]["components"], json!({ "cmp_checkout": "major_outage" }));
    assert_eq!(bodies[0]["incident"]["component_ids"], json!(["cmp_checkout"]));
    assert_eq!(bodies[2]["incident"]["components"], json!({ "cmp_checkout": "operational" }));
    assert!(bodies[1]["incident"].get("name").is_none());
    // The timeline keeps every public update word for word.
    let public: Vec<String> =
        b.db.timeline(1, false)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == EntryKind::Public)
            .map(|e| e.text)
            .collect();
    assert_eq!(
        public,
        vec![
            "We are looking into failed payments at checkout.".to_string(),
            "We found the cause: a payment provider outage. Café ☕ payments resume soon.".to_string(),
        ]
    );
}

#[tokio::test]
async fn without_a_status_page_public_is_refused_and_nothing_is_written() {
    let b = bench(Db::in_memory().await.unwrap(), FollowThrough::default(), true).await;
    let outcome = b.run("alice", "public Hello", "p-1").await;
    assert!(outcome.is_error);
    assert!(b.db.timeline(1, false).await.unwrap().iter().all(|e| e.kind != EntryKind::Public));
}

/// The console script of the README's tracker section, played by the real binary with
/// the config and environment `serve` would have, against fake GitHub and Statuspage.
#[tokio::test]
async fn a_console_incident_sends_its_action_items_to_a_fake_github() {
    let github = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/reliability/issues"))
        .and(header("authorization", "Bearer ghp_console"))
        .and(body_partial_json(json!({ "title": "Alert on payment provider errors", "assignees": ["bob-gh"] })))
        .respond_with(created(12))
        .expect(1)
        .mount(&github)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/reliability/issues/12"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "number": 12, "body": "**Due:** 2026-03-09" })))
        .mount(&github)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/reliability/issues/12"))
        .and(body_partial_json(json!({ "state": "closed" })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "number": 12 })))
        .expect(1)
        .mount(&github)
        .await;
    let page = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/pages/pg1/incidents"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "id": "inc_1" })))
        .expect(1)
        .mount(&page)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/pages/pg1/incidents/inc_1"))
        .and(body_partial_json(json!({ "incident": { "status": "resolved" } })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": "inc_1" })))
        .expect(1)
        .mount(&page)
        .await;

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("incidentbot.toml");
    std::fs::write(
        &config,
        r#"
[trackers.github]
repo = "acme/reliability"
token_env = "GITHUB_TOKEN"
labels = ["incident-follow-up"]

[people.bob]
github = "bob-gh"

[statuspage]
page_id = "pg1"
api_key_env = "STATUSPAGE_API_KEY"
"#,
    )
    .unwrap();
    let script = format!("{}/../tests/scripts/trackers_github.txt", env!("CARGO_MANIFEST_DIR"));
    let mut command = crate::process_support::incidentbot();
    command
        .args(["console", "--now", "2026-03-02T09:00:00Z", "--script", &script])
        .env("INCIDENTBOT_CONFIG", &config)
        .env("GITHUB_TOKEN", "ghp_console")
        .env("GITHUB_API_URL", github.uri())
        .env("STATUSPAGE_API_KEY", "sp-console")
        .env("STATUSPAGE_API_URL", page.uri());
    let output = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    let transcript = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{transcript}\n{}", String::from_utf8_lossy(&output.stderr));
    let channel = "[#inc-1-checkout-is-failing] incidentbot:";
    let expect = [
        format!("{channel} 🌐 Public update from @you: We are investigating failed payments at checkout."),
        format!("{channel} 📝 Action #1: Alert on payment provider errors · owner @bob"),
        format!(
            "{channel} 🔗 Action #1 is tracked in GitHub: acme/reliability#12 https://github.com/acme/reliability/issues/12"
        ),
        "· INC-1 · acme/reliability#12 https://github.com/acme/reliability/issues/12".to_string(),
        "[only @you] Action item #1 is already linked to acme/reliability#12.".to_string(),
        format!("{channel} Action #1 ✔️ done: Alert on payment provider errors (@bob)"),
    ];
    let mut from = 0;
    for line in &expect {
        let at = transcript[from..]
            .find(line.as_str())
            .unwrap_or_else(|| panic!("missing or out of order: {line}\n---\n{transcript}"));
        from += at + line.len();
    }
    // The internal update never reached the page.
    for request in page.received_requests().await.unwrap() {
        assert!(!String::from_utf8_lossy(&request.body).contains("deploy 4411"));
    }
}

/// A fake postmortem repository on GitHub: the base branch, branch creation, the
/// contents API and pull requests. `merged` says what `GET /pulls/{n}` answers.
async fn fake_postmortem_repo(merged: bool) -> MockServer {
    let server = MockServer::start().await;
    let repo = "/repos/acme/postmortems";
    Mock::given(method("GET"))
        .and(path(format!("{repo}/git/ref/heads/main")))
        .and(header("authorization", "Bearer ghp_pm"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "object": { "sha": "base-sha-1" } })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{repo}/git/refs")))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "ref": "x" })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex(format!("^{repo}/contents/.+")))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({ "message": "Not Found" })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex(format!("^{repo}/contents/.+")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "sha": "blob-sha-1" })))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(wiremock::matchers::path_regex(format!("^{repo}/contents/.+")))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "content": {} })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{repo}/pulls")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{repo}/pulls")))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "number": 5, "html_url": "https://github.com/acme/postmortems/pull/5"
        })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{repo}/pulls")))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "number": 6, "html_url": "https://github.com/acme/postmortems/pull/6"
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{repo}/pulls/5")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "number": 5, "merged": merged })))
        .mount(&server)
        .await;
    server
}

fn postmortem_follow(server: &MockServer) -> FollowThrough {
    let repo = bot::trackers::postmortem_pr::GitHubPostmortems::new(
        &server.uri(),
        Secret::new("ghp_pm"),
        "acme/postmortems",
        "main",
    )
    .unwrap();
    FollowThrough {
        postmortem_repo: Some(Arc::new(repo)),
        postmortem_path: commands::follow_through::DEFAULT_POSTMORTEM_PATH.into(),
        retry: retry(),
        ..Default::default()
    }
}

fn answers(lessons: &str) -> Vec<(String, String)> {
    commands::postmortem::FIELDS
        .iter()
        .map(|f| {
            (f.key.to_string(), if f.key == "lessons" { lessons.to_string() } else { format!("{} written", f.label) })
        })
        .collect()
}

async fn submit(b: &Bench, source: &str, lessons: &str) {
    b.core
        .submit_form(&commands::FormSubmission {
            source_id: source.into(),
            user: "alice".into(),
            channel_id: CHANNEL.into(),
            kind: commands::FormKind::Postmortem { incident: 1 },
            answers: answers(lessons),
        })
        .await
        .unwrap();
}

fn requests_to(requests: &[Request], verb: &str, suffix: &str) -> Vec<Value> {
    requests
        .iter()
        .filter(|r| r.method.as_str() == verb && r.url.path().ends_with(suffix))
        .map(|r| serde_json::from_slice(&r.body).unwrap_or(Value::Null))
        .collect()
}

#[tokio::test]
async fn a_closed_postmortem_opens_one_pull_request_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("pr.db").display());
    let server = fake_postmortem_repo(false).await;
    {
        let b = bench(Db::connect(&url).await.unwrap(), postmortem_follow(&server), true).await;
        b.run("alice", "resolve Provider recovered", "r-1").await;
        submit(&b, "pm-1", "Alert on provider errors.").await;
        let shown = b.chat.posts_to(CHANNEL).join("\n");
        assert!(shown.contains("is up for review: https://github.com/acme/postmortems/pull/5"), "{shown}");
        b.db.close().await;
    }
    // Restarted twice: the scheduler finds nothing left to open.
    for _ in 0..2 {
        let b = bench(Db::connect(&url).await.unwrap(), postmortem_follow(&server), false).await;
        b.clock.advance(Duration::hours(1));
        b.followups().tick(b.clock.now()).await.unwrap();
        b.db.close().await;
    }
    let requests = server.received_requests().await.unwrap();
    let pulls = requests_to(&requests, "POST", "/pulls");
    assert_eq!(pulls.len(), 1);
    assert_eq!(pulls[0]["head"], "incidentbot/inc-1-postmortem");
    assert_eq!(pulls[0]["base"], "main");
    let refs = requests_to(&requests, "POST", "/git/refs");
    assert_eq!(refs[0], json!({ "ref": "refs/heads/incidentbot/inc-1-postmortem", "sha": "base-sha-1" }));
    let puts: Vec<&Request> = requests.iter().filter(|r| r.method.as_str() == "PUT").collect();
    assert_eq!(puts.len(), 1);
    let today = start().date_naive();
    assert_eq!(
        puts[0].url.path(),
        format!("/repos/acme/postmortems/contents/postmortems/{today}-inc-1-checkout-is-failing.md")
    );
    let put: Value = serde_json::from_slice(&puts[0].body).unwrap();
    assert_eq!(put["branch"], "incidentbot/inc-1-postmortem");
    assert!(put.get("sha").is_none(), "a new file has no sha");
    use base64::Engine;
    let content = base64::engine::general_purpose::STANDARD.decode(put["content"].as_str().unwrap()).unwrap();
    let markdown = String::from_utf8(content).unwrap();
    assert!(markdown.contains("Checkout is failing") && markdown.contains("Alert on provider errors."), "{markdown}");
}

#[tokio::test]
async fn a_correction_updates_the_open_pull_request_and_follows_up_a_merged_one() {
    // Open: the correction is a new commit of the same file on the same branch.
    let server = fake_postmortem_repo(false).await;
    let b = bench(Db::in_memory().await.unwrap(), postmortem_follow(&server), true).await;
    b.run("alice", "resolve Provider recovered", "r-1").await;
    submit(&b, "pm-1", "Alert on provider errors.").await;
    submit(&b, "pm-2", "Alert on provider errors, and page the payments team.").await;
    let requests = server.received_requests().await.unwrap();
    let puts = requests_to(&requests, "PUT", ".md");
    assert_eq!(puts.len(), 2);
    assert_eq!(
        (puts[1]["branch"].as_str(), puts[1]["sha"].as_str()),
        (Some("incidentbot/inc-1-postmortem"), Some("blob-sha-1"))
    );
    assert_eq!(requests_to(&requests, "POST", "/pulls").len(), 1);

    // Merged: the correction opens a follow-up pull request from a new branch.
    let server = fake_postmortem_repo(true).await;
    let b = bench(Db::in_memory().await.unwrap(), postmortem_follow(&server), true).await;
    b.run("alice", "resolve Provider recovered", "r-1").await;
    submit(&b, "pm-1", "Alert on provider errors.").await;
    submit(&b, "pm-2", "Alert on provider errors, and page the payments team.").await;
    let requests = server.received_requests().await.unwrap();
    let pulls = requests_to(&requests, "POST", "/pulls");
    assert_eq!(pulls.len(), 2);
    assert_eq!(pulls[1]["head"], "incidentbot/inc-1-postmortem-2");
    assert_eq!(b.db.postmortem_prs(1).await.unwrap().len(), 2);
    assert!(b.db.postmortem_prs(1).await.unwrap()[0].merged);
    let shown = b.chat.posts_to(CHANNEL).join("\n");
    assert!(shown.contains("The correction is up for review: https://github.com/acme/postmortems/pull/6"), "{shown}");
}

#[tokio::test]
async fn a_signed_jira_webhook_moving_an_issue_to_done_closes_the_item() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "id": "10000", "key": "REL-7" })))
        .mount(&server)
        .await;
    let jira =
        Jira::new(&server.uri(), "https://acme.atlassian.net", Secret::new("e"), Secret::new("t"), "REL", "Task")
            .unwrap();
    let follow =
        FollowThrough { tracker: Some(Arc::new(jira)), people: people(), retry: retry(), ..Default::default() };
    let b = bench(Db::in_memory().await.unwrap(), follow, true).await;
    b.run("alice", "action add Alert on checkout error rate @bob", "add-1").await;
    let hooks = Webhooks::new(b.db.clone(), &WebhookSecrets { github: None, jira: Some(Secret::new("jira-secret")) });
    hooks.add_core(b.core.clone());
    let base = serve_webhooks(hooks).await;
    let event = |category: &str, field: &str, to: &str| {
        serde_json::to_vec(&json!({
            "webhookEvent": "jira:issue_updated",
            "issue": { "key": "REL-7", "fields": { "status": { "statusCategory": { "key": category } } } },
            "changelog": { "items": [{ "field": field, "to": to }] },
        }))
        .unwrap()
    };
    let send = |delivery: &'static str, body: Vec<u8>, signature: String| {
        let base = base.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{base}/trackers/jira"))
                .header("X-Atlassian-Webhook-Identifier", delivery)
                .header("X-Hub-Signature", signature)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let done = event("done", "status", "10001");
    assert_eq!(send("j-1", done.clone(), sign("wrong", &done)).await, 401);
    assert_eq!(b.db.action(1).await.unwrap().unwrap().status, ActionStatus::Open);
    assert_eq!(send("j-1", done.clone(), sign("jira-secret", &done)).await, 200);
    assert_eq!(b.db.action(1).await.unwrap().unwrap().status, ActionStatus::Done);
    // A due date moved in Jira moves the item's, once it is open again.
    let reopened = event("new", "status", "10000");
    assert_eq!(send("j-2", reopened.clone(), sign("jira-secret", &reopened)).await, 200);
    let due = event("new", "duedate", "2026-04-01");
    assert_eq!(send("j-3", due.clone(), sign("jira-secret", &due)).await, 200);
    let item = b.db.action(1).await.unwrap().unwrap();
    assert_eq!((item.status, item.due.to_string().as_str()), (ActionStatus::Open, "2026-04-01"));
}

/// `serve` itself, configured as the issue and README say (both trackers, a status page,
/// services with their own places): a Slack command adds an action item that becomes a
/// GitHub issue in its service's repository, `/incident public` reaches Statuspage, an
/// item of a service whose project is in Jira goes there, and a signed GitHub webhook
/// closes the item (a forged one is refused).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_follows_through_to_github_jira_and_statuspage() {
    use crate::process_support::{eventually, fake_slack, Served, SLACK_SECRET, SLACK_TOKEN};
    let dir = tempfile::tempdir().unwrap();
    let slack = fake_slack().await;
    let github = MockServer::start().await;
    // The incident is on checkout, whose items go to its own repository.
    Mock::given(method("POST"))
        .and(path("/repos/acme/checkout/issues"))
        .and(header("authorization", "Bearer ghp_serve"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({ "number": 21, "html_url": "https://github.com/acme/checkout/issues/21" })),
        )
        .expect(1)
        .mount(&github)
        .await;
    // Jira runs beside GitHub, as in the issue's config: only the search service's items go there.
    let jira = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue"))
        .and(body_partial_json(
            json!({ "fields": { "project": { "key": "SRCH" }, "summary": "Cache search results" } }),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "id": "10000", "key": "SRCH-1" })))
        .expect(1)
        .mount(&jira)
        .await;
    let page = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/pages/pg1/incidents"))
        .and(header("authorization", "OAuth sp-serve"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "id": "inc_9" })))
        .expect(1)
        .mount(&page)
        .await;
    let config = dir.path().join("incidentbot.toml");
    std::fs::write(
        &config,
        r#"
[web]
public_url = "https://incidents.acme.test"

[[services]]
name = "checkout"
github_repo = "acme/checkout"

[[services]]
name = "search"
jira_project = "SRCH"

[trackers.github]
repo = "acme/reliability"
token_env = "GITHUB_TOKEN"
webhook_secret_env = "GITHUB_WEBHOOK_SECRET"

[trackers.jira]
base_url = "https://acme.atlassian.net"
project = "REL"
issue_type = "Task"
email_env = "JIRA_EMAIL"
token_env = "JIRA_API_TOKEN"

[statuspage]
page_id = "pg1"
api_key_env = "STATUSPAGE_API_KEY"
"#,
    )
    .unwrap();
    let envs = vec![
        ("DATABASE_URL", format!("sqlite://{}", dir.path().join("bot.db").display())),
        ("SLACK_BOT_TOKEN", SLACK_TOKEN.to_string()),
        ("SLACK_SIGNING_SECRET", SLACK_SECRET.to_string()),
        ("SLACK_API_URL", format!("{}/api", slack.uri())),
        ("INCIDENTBOT_CONFIG", config.display().to_string()),
        ("GITHUB_TOKEN", "ghp_serve".to_string()),
        ("GITHUB_WEBHOOK_SECRET", "whsec-serve".to_string()),
        ("GITHUB_API_URL", github.uri()),
        ("JIRA_EMAIL", "bot@acme.test".to_string()),
        ("JIRA_API_TOKEN", "jira-serve".to_string()),
        ("JIRA_BASE_URL", jira.uri()),
        ("STATUSPAGE_API_KEY", "sp-serve".to_string()),
        ("STATUSPAGE_API_URL", page.uri()),
    ];
    let served = Served::start(dir.path(), "serve", &envs);
    served.wait_for_health(std::time::Duration::from_secs(30), |status, _| status == 200).await;
    let http = reqwest::Client::new();
    let command = |n: u32, text: &str| {
        let body = serde_urlencoded::to_string([
            ("team_id", "T0TEAM"),
            ("channel_id", "CGENERAL"),
            ("user_id", "U0ALICE"),
            ("command", "/incident"),
            ("text", text),
            ("response_url", &format!("{}/response/{n}", slack.uri())),
            ("trigger_id", &format!("1000.{n}.trigger")),
        ])
        .unwrap();
        let ts = chrono::Utc::now().timestamp().to_string();
        let signature = bot::slack::signature::sign(&Secret::new(SLACK_SECRET), &ts, body.as_bytes());
        http.post(served.url("/slack/commands"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", ts)
            .header("x-slack-signature", signature)
            .body(body)
            .send()
    };
    assert_eq!(command(1, "declare sev2 service:checkout Checkout is failing").await.unwrap().status(), 200);
    let wait = std::time::Duration::from_secs(20);
    let declared =
        eventually(wait, || async { crate::process_support::calls_to(&slack, "conversations.create").await > 0 }).await;
    assert!(declared, "{}", served.logs());
    assert_eq!(command(2, "INC-1 action add Alert on checkout error rate").await.unwrap().status(), 200);
    assert_eq!(command(3, "INC-1 public We are investigating failed payments.").await.unwrap().status(), 200);
    let opened = eventually(wait, || async { !github.received_requests().await.unwrap().is_empty() }).await;
    assert!(opened, "{}", served.logs());
    let posted: Value = serde_json::from_slice(&github.received_requests().await.unwrap()[0].body).unwrap();
    let issue_body = posted["body"].as_str().unwrap();
    assert!(issue_body.contains("(https://incidents.acme.test/incidents/1)"), "{issue_body}");
    let published = eventually(wait, || async { !page.received_requests().await.unwrap().is_empty() }).await;
    assert!(published, "{}", served.logs());
    // An incident on search: its item goes to the search project in Jira.
    assert_eq!(command(4, "declare sev3 service:search Search is slow").await.unwrap().status(), 200);
    let second =
        eventually(wait, || async { crate::process_support::calls_to(&slack, "conversations.create").await > 1 }).await;
    assert!(second, "{}", served.logs());
    assert_eq!(command(5, "INC-2 action add Cache search results").await.unwrap().status(), 200);
    let in_jira = eventually(wait, || async { !jira.received_requests().await.unwrap().is_empty() }).await;
    assert!(in_jira, "{}", served.logs());

    let deliver_to_serve = |delivery: &'static str, body: Vec<u8>, signature: String| {
        http.post(served.url("/trackers/github"))
            .header("X-GitHub-Event", "issues")
            .header("X-GitHub-Delivery", delivery)
            .header("X-Hub-Signature-256", signature)
            .body(body)
            .send()
    };
    let body = serde_json::to_vec(&json!({
        "action": "closed",
        "issue": { "number": 21, "state": "closed" },
        "repository": { "full_name": "acme/checkout" },
        "sender": { "login": "bob-gh" },
    }))
    .unwrap();
    assert_eq!(deliver_to_serve("s-1", body.clone(), sign("forged", &body)).await.unwrap().status(), 401);
    assert_eq!(deliver_to_serve("s-1", body.clone(), sign("whsec-serve", &body)).await.unwrap().status(), 200);
    let closed = eventually(wait, || async {
        slack
            .received_requests()
            .await
            .unwrap()
            .iter()
            .any(|r| String::from_utf8_lossy(&r.body).contains("closed in GitHub"))
    })
    .await;
    assert!(closed, "{}", served.logs());
}

#[tokio::test]
async fn an_attempt_that_died_mid_call_is_found_by_its_marker_not_opened_again() {
    let server = MockServer::start().await;
    // The tracker is down when the item is added, so the job waits.
    Mock::given(method("POST"))
        .and(path("/repos/acme/reliability/issues"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/search/issues"))
        .and(wiremock::matchers::query_param("q", "\"incidentbot action #1\" in:body repo:acme/reliability is:issue"))
        .and(wiremock::matchers::query_param("advanced_search", "true"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "total_count": 2, "items": [
            { "number": 30, "html_url": "https://github.com/acme/reliability/issues/30", "body": "x\n\nincidentbot action #10" },
            { "number": 31, "html_url": "https://github.com/acme/reliability/issues/31", "body": "x\n\nincidentbot action #1" },
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/reliability/issues"))
        .respond_with(created(99))
        .mount(&server)
        .await;
    let follow = FollowThrough { tracker: Some(github(&server)), retry: retry(), ..Default::default() };
    let b = bench(Db::in_memory().await.unwrap(), follow, true).await;
    b.run("alice", "action add Rotate the checkout keys", "add-1").await;
    // A copy claims the next attempt, makes the call, and dies before recording anything.
    b.clock.advance(Duration::seconds(30));
    let died = b.db.begin_job_attempt("tracker_create:1", b.clock.now(), b.clock.now() + Duration::minutes(2)).await;
    assert!(died.unwrap().is_some());
    // Once its hold runs out, the next attempt looks before it opens.
    b.clock.advance(Duration::minutes(3));
    b.followups().tick(b.clock.now()).await.unwrap();
    assert_eq!(b.db.tracker_link(1).await.unwrap().unwrap().issue_key, "acme/reliability#31");
    assert_eq!(issue_posts(&server.received_requests().await.unwrap()).len(), 1, "only the failed first attempt");
}

#[tokio::test]
async fn an_assignee_github_refuses_still_opens_the_issue_unassigned() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/reliability/issues"))
        .and(body_partial_json(json!({ "assignees": ["bob-gh"] })))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({ "message": "Validation Failed" })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/reliability/issues"))
        .respond_with(created(8))
        .mount(&server)
        .await;
    let follow =
        FollowThrough { tracker: Some(github(&server)), people: people(), retry: retry(), ..Default::default() };
    let b = bench(Db::in_memory().await.unwrap(), follow, true).await;
    b.run("alice", "action add Rotate keys @bob", "add-1").await;
    let posts = issue_posts(&server.received_requests().await.unwrap());
    assert_eq!(posts.len(), 2);
    assert!(posts[1].get("assignees").is_none());
    assert_eq!(b.db.tracker_link(1).await.unwrap().unwrap().issue_key, "acme/reliability#8");
}

#[tokio::test]
async fn items_of_an_incident_on_a_service_with_its_own_repository_go_there_and_others_to_the_default() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/checkout-service/issues"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({ "number": 4, "html_url": "https://github.com/acme/checkout-service/issues/4" })),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/reliability/issues"))
        .respond_with(created(9))
        .mount(&server)
        .await;
    let destinations = HashMap::from([("checkout".to_string(), Destination::github("acme/checkout-service"))]);
    let follow = FollowThrough { tracker: Some(github(&server)), destinations, retry: retry(), ..Default::default() };
    let b = bench(Db::in_memory().await.unwrap(), follow, true).await;
    // INC-1 is on checkout (and search, which names no repository).
    b.run("alice", "service add search", "svc-1").await;
    b.run("alice", "service add checkout", "svc-2").await;
    b.run("alice", "action add Add a canary for checkout", "add-1").await;
    // INC-2 names no service: its item goes to the default repository.
    b.run_in("general", "alice", "declare sev3 Search is slow", "declare-2").await;
    b.run_in("inc-2-search-is-slow", "alice", "action add Cache search results", "add-2").await;

    assert_eq!(b.db.tracker_link(1).await.unwrap().unwrap().issue_key, "acme/checkout-service#4");
    assert_eq!(b.db.tracker_link(2).await.unwrap().unwrap().issue_key, "acme/reliability#9");
    assert_eq!(issue_posts(&server.received_requests().await.unwrap()).len(), 1);
    // Closing the item in chat closes the issue in the service's repository.
    Mock::given(method("GET"))
        .and(path("/repos/acme/checkout-service/issues/4"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "number": 4, "body": "**Due:** 2026-03-16" })))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/checkout-service/issues/4"))
        .and(body_partial_json(json!({ "state": "closed" })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "number": 4 })))
        .expect(1)
        .mount(&server)
        .await;
    b.run("alice", "action done 1", "done-1").await;
}

#[tokio::test]
async fn an_interrupted_create_in_a_service_repository_is_searched_for_there() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/checkout-service/issues"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/search/issues"))
        .and(wiremock::matchers::query_param(
            "q",
            "\"incidentbot action #1\" in:body repo:acme/checkout-service is:issue",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "total_count": 1, "items": [
            { "number": 5, "html_url": "https://github.com/acme/checkout-service/issues/5", "body": "x\n\nincidentbot action #1" },
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    let destinations = HashMap::from([("checkout".to_string(), Destination::github("acme/checkout-service"))]);
    let follow = FollowThrough { tracker: Some(github(&server)), destinations, retry: retry(), ..Default::default() };
    let b = bench(Db::in_memory().await.unwrap(), follow, true).await;
    b.run("alice", "service add checkout", "svc-1").await;
    b.run("alice", "action add Rotate the checkout keys", "add-1").await;
    b.clock.advance(Duration::seconds(30));
    let died = b.db.begin_job_attempt("tracker_create:1", b.clock.now(), b.clock.now() + Duration::minutes(2)).await;
    assert!(died.unwrap().is_some());
    b.clock.advance(Duration::minutes(3));
    b.followups().tick(b.clock.now()).await.unwrap();
    assert_eq!(b.db.tracker_link(1).await.unwrap().unwrap().issue_key, "acme/checkout-service#5");
}

#[tokio::test]
async fn a_jira_item_of_a_service_with_its_own_project_is_created_there_and_its_keys_can_be_linked() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue"))
        .and(body_partial_json(json!({ "fields": { "project": { "key": "CHK" } } })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "id": "10001", "key": "CHK-3" })))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    // Later items find Jira down, so they are free to be linked by hand.
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let jira = Jira::new(
        &server.uri(),
        "https://acme.atlassian.net",
        Secret::new("bot@acme.test"),
        Secret::new("jira-token"),
        "REL",
        "Task",
    )
    .unwrap()
    .with_projects(["CHK".to_string()]);
    let destinations = HashMap::from([("checkout".to_string(), Destination::jira("CHK"))]);
    let follow = FollowThrough { tracker: Some(Arc::new(jira)), destinations, retry: retry(), ..Default::default() };
    let b = bench(Db::in_memory().await.unwrap(), follow, true).await;
    b.run("alice", "service add checkout", "svc-1").await;
    b.run("alice", "action add Add a canary for checkout", "add-1").await;
    let link = b.db.tracker_link(1).await.unwrap().unwrap();
    assert_eq!((link.issue_key.as_str(), link.url.as_str()), ("CHK-3", "https://acme.atlassian.net/browse/CHK-3"));
    // A key of the service's project, or of the default one, links; another project's does not.
    b.run("alice", "action add Write the runbook", "add-2").await;
    b.run("alice", "action add Page the right team", "add-3").await;
    let _ = b.run("alice", "action link 2 CHK-40", "link-2").await;
    assert_eq!(b.db.tracker_link(2).await.unwrap().unwrap().issue_key, "CHK-40");
    let _ = b.run("alice", "action link 3 REL-41", "link-3").await;
    assert_eq!(b.db.tracker_link(3).await.unwrap().unwrap().issue_key, "REL-41");
    b.run("alice", "action add Something else", "add-4").await;
    assert!(b.run("alice", "action link 4 OPS-1", "link-4").await.is_error);
}

#[test]
fn services_name_their_repository_or_project_in_the_config_and_bad_ones_stop_start_up() {
    use bot::trackers::{default_tracker, service_destinations};
    use commands::tracker::TrackerKind::{GitHub as Gh, Jira as Jr};
    let services = |lines: &str| {
        bot::config::FileConfig::parse(&format!(
            "[[services]]\nname = \"checkout\"\n{lines}\n\n[[services]]\nname = \"search\"\njira_project = \"SRCH\"\n"
        ))
        .unwrap()
        .services
    };
    let both = services("github_repo = \"acme/checkout\"\njira_project = \"CHK\"");
    // GitHub alone: only GitHub repositories count.
    assert_eq!(
        service_destinations(&both, Gh, true, false).unwrap(),
        HashMap::from([("checkout".to_string(), Destination::github("acme/checkout"))])
    );
    // Jira alone.
    assert_eq!(
        service_destinations(&both, Jr, false, true).unwrap(),
        HashMap::from([
            ("checkout".to_string(), Destination::jira("CHK")),
            ("search".to_string(), Destination::jira("SRCH"))
        ])
    );
    // Both: a service naming both goes to the default tracker's place.
    assert_eq!(
        service_destinations(&both, Gh, true, true).unwrap(),
        HashMap::from([
            ("checkout".to_string(), Destination::github("acme/checkout")),
            ("search".to_string(), Destination::jira("SRCH"))
        ])
    );
    assert_eq!(service_destinations(&both, Jr, true, true).unwrap()["checkout"], Destination::jira("CHK"));
    let error = service_destinations(&services("github_repo = \"not a repo\""), Gh, true, false).unwrap_err();
    assert!(error.to_string().contains("`checkout`") && error.to_string().contains("owner/name"), "{error}");
    let error = service_destinations(&services("jira_project = \"chk-é\""), Jr, false, true).unwrap_err();
    assert!(error.to_string().contains("jira_project"), "{error}");

    let trackers = |toml: &str| bot::config::FileConfig::parse(toml).unwrap().trackers;
    let github = "[trackers.github]\nrepo = \"acme/reliability\"\n";
    let jira = "[trackers.jira]\nbase_url = \"https://acme.atlassian.net\"\nproject = \"REL\"\nemail_env = \"E\"\ntoken_env = \"T\"\n";
    assert_eq!(default_tracker(&trackers("")).unwrap(), None);
    assert_eq!(default_tracker(&trackers(github)).unwrap(), Some(Gh));
    assert_eq!(default_tracker(&trackers(jira)).unwrap(), Some(Jr));
    assert_eq!(default_tracker(&trackers(&format!("{github}{jira}"))).unwrap(), Some(Gh));
    assert_eq!(
        default_tracker(&trackers(&format!("[trackers]\ndefault = \"jira\"\n{github}{jira}"))).unwrap(),
        Some(Jr)
    );
    assert!(default_tracker(&trackers(&format!("[trackers]\ndefault = \"jira\"\n{github}"))).is_err());
    assert!(default_tracker(&trackers(&format!("[trackers]\ndefault = \"gitlab\"\n{github}"))).is_err());
}

#[tokio::test]
async fn with_github_and_jira_both_configured_each_service_goes_to_its_own_and_links_of_either_are_taken() {
    let github_server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/reliability/issues"))
        .respond_with(created(12))
        .up_to_n_times(1)
        .expect(1)
        .mount(&github_server)
        .await;
    // Later GitHub items wait (GitHub is down), free to be linked by hand.
    Mock::given(method("POST"))
        .and(path("/repos/acme/reliability/issues"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&github_server)
        .await;
    let jira_server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue"))
        .and(body_partial_json(json!({ "fields": { "project": { "key": "CHK" } } })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "id": "10001", "key": "CHK-3" })))
        .expect(1)
        .mount(&jira_server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/rest/api/3/issue/CHK-3"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&jira_server)
        .await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/CHK-3"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "fields": { "status": { "statusCategory": { "key": "new" } } } })),
        )
        .mount(&jira_server)
        .await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/CHK-3/transitions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "transitions": [
            { "id": "31", "to": { "statusCategory": { "key": "done" } } },
        ]})))
        .mount(&jira_server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue/CHK-3/transitions"))
        .and(body_partial_json(json!({ "transition": { "id": "31" } })))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&jira_server)
        .await;
    let jira =
        Jira::new(&jira_server.uri(), "https://acme.atlassian.net", Secret::new("e"), Secret::new("t"), "REL", "Task")
            .unwrap()
            .with_projects(["CHK".to_string()]);
    let destinations = HashMap::from([("checkout".to_string(), Destination::jira("CHK"))]);
    let follow = FollowThrough {
        tracker: Some(github(&github_server)),
        other_tracker: Some(Arc::new(jira)),
        destinations,
        retry: retry(),
        ..Default::default()
    };
    let b = bench(Db::in_memory().await.unwrap(), follow, true).await;
    // INC-1 names no service: GitHub, the default.
    b.run("alice", "action add Alert on checkout error rate", "add-1").await;
    assert_eq!(b.db.tracker_link(1).await.unwrap().unwrap().issue_key, "acme/reliability#12");
    // INC-2 is on checkout, whose project is in Jira.
    b.run_in("general", "alice", "declare sev2 service:checkout Payments fail", "declare-2").await;
    b.run_in("inc-2-payments-fail", "alice", "action add Add a canary", "add-2").await;
    let link = b.db.tracker_link(2).await.unwrap().unwrap();
    assert_eq!((link.tracker.as_str(), link.issue_key.as_str()), ("jira", "CHK-3"));
    // Closing it in chat moves the Jira issue, not a GitHub one.
    b.run_in("inc-2-payments-fail", "alice", "action done 2", "done-2").await;
    assert!(server_calls(&github_server, "PATCH").await == 0, "GitHub was not asked to change anything");
    // Either tracker's references link by hand.
    b.run("alice", "action add Write the runbook", "add-3").await;
    b.run("alice", "action add Page the right team", "add-4").await;
    let _ = b.run("alice", "action link 3 acme/reliability#77", "link-3").await;
    assert_eq!(b.db.tracker_link(3).await.unwrap().unwrap().tracker, "github");
    let refused = b.run("alice", "action link 4 OPS-1", "link-4").await;
    assert!(refused.is_error);
    let _ = b.run("alice", "action link 4 REL-41", "link-5").await;
    let link = b.db.tracker_link(4).await.unwrap().unwrap();
    assert_eq!((link.tracker.as_str(), link.issue_key.as_str()), ("jira", "REL-41"));
}

async fn server_calls(server: &MockServer, verb: &str) -> usize {
    server.received_requests().await.unwrap().iter().filter(|r| r.method.as_str() == verb).count()
}

#[tokio::test]
async fn issue_and_pull_request_bodies_link_the_incident_page_when_the_pages_have_a_public_url() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/reliability/issues"))
        .respond_with(created(12))
        .mount(&server)
        .await;
    let follow = FollowThrough { tracker: Some(github(&server)), retry: retry(), ..Default::default() };
    let b = bench_at(Db::in_memory().await.unwrap(), follow, true, Some("https://incidents.acme.test/")).await;
    b.run("alice", "action add Alert on checkout error rate", "add-1").await;
    let posts = issue_posts(&server.received_requests().await.unwrap());
    let body = posts[0]["body"].as_str().unwrap();
    assert!(
        body.starts_with(
            "Action item from incident [INC-1: Checkout is failing](https://incidents.acme.test/incidents/1)."
        ),
        "{body}"
    );

    // The postmortem's pull request links it too.
    let repo = fake_postmortem_repo(false).await;
    let b =
        bench_at(Db::in_memory().await.unwrap(), postmortem_follow(&repo), true, Some("https://incidents.acme.test"))
            .await;
    submit(&b, "pm-1", "Canaries catch this.").await;
    b.run("alice", "resolve Fixed", "r-1").await;
    b.run("alice", "close", "c-1").await;
    let pulls = requests_to(&repo.received_requests().await.unwrap(), "POST", "/pulls");
    assert_eq!(pulls.len(), 1);
    let pr_body = pulls[0]["body"].as_str().unwrap();
    assert!(pr_body.contains("The incident's page: https://incidents.acme.test/incidents/1"), "{pr_body}");
}

#[tokio::test]
async fn a_long_item_opens_an_issue_with_a_title_under_the_trackers_limits_and_the_full_text_in_the_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/reliability/issues"))
        .respond_with(created(12))
        .mount(&server)
        .await;
    let follow = FollowThrough { tracker: Some(github(&server)), retry: retry(), ..Default::default() };
    let b = bench(Db::in_memory().await.unwrap(), follow, true).await;
    let text = "Réparer le paiement é ".repeat(20);
    let text = text.trim();
    b.run("alice", &format!("action add {text}"), "add-1").await;
    let posts = issue_posts(&server.received_requests().await.unwrap());
    assert_eq!(posts.len(), 1);
    let title = posts[0]["title"].as_str().unwrap();
    assert!(title.chars().count() <= 250 && title.ends_with('…'), "{title}");
    assert!(posts[0]["body"].as_str().unwrap().contains(&format!("**The item in full:** {text}")));
}

#[tokio::test]
async fn a_statuspage_create_cut_off_before_it_was_recorded_is_found_not_made_twice() {
    let server = MockServer::start().await;
    // The page is down at first, so the post waits for the scheduler.
    Mock::given(method("POST"))
        .and(path("/pages/pg1/incidents"))
        .and(body_partial_json(json!({ "incident": { "metadata": { "incidentbot": { "incident": "INC-1" } } } })))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/pages/pg1/incidents/unresolved"))
        .and(header("authorization", "OAuth sp-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            { "id": "someone_elses", "name": "Checkout is failing", "metadata": {} },
            { "id": "inc_other_bot", "metadata": { "incidentbot": { "incident": "INC-10" } } },
            { "id": "inc_ours", "metadata": { "incidentbot": { "incident": "INC-1" } } },
        ])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/pages/pg1/incidents/inc_ours"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": "inc_ours" })))
        .expect(1)
        .mount(&server)
        .await;
    let page = Statuspage::new(&server.uri(), Secret::new("sp-key"), "pg1").unwrap();
    let follow = FollowThrough { status_page: Some(Arc::new(page)), retry: retry(), ..Default::default() };
    let b = bench(Db::in_memory().await.unwrap(), follow, true).await;
    b.run("alice", "public We are looking into failed payments.", "p-1").await;
    // A copy claims the retry, creates the page incident, and dies before recording it.
    b.clock.advance(Duration::seconds(30));
    let key = b.db.jobs_about("status_post", "1").await.unwrap()[0].key.clone();
    assert!(b.db.begin_job_attempt(&key, b.clock.now(), b.clock.now() + Duration::minutes(2)).await.unwrap().is_some());
    // Once its hold runs out, the next attempt finds it instead of creating another.
    b.clock.advance(Duration::minutes(3));
    b.followups().tick(b.clock.now()).await.unwrap();
    assert_eq!(b.db.status_page_incident(1).await.unwrap().as_deref(), Some("inc_ours"));
    // Later updates go to the incident found.
    b.run("alice", "public Payments resume.", "p-2").await;
    let creates = server.received_requests().await.unwrap().into_iter().filter(|r| r.method.as_str() == "POST").count();
    assert_eq!(creates, 1, "only the first, failed create");
}

#[tokio::test]
async fn a_due_date_edited_in_the_github_issue_body_moves_the_item() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/reliability/issues"))
        .respond_with(created(12))
        .mount(&server)
        .await;
    let follow = FollowThrough { tracker: Some(github(&server)), retry: retry(), ..Default::default() };
    let b = bench(Db::in_memory().await.unwrap(), follow, true).await;
    b.run("alice", "action add Alert on checkout error rate @bob due:2026-03-09", "add-1").await;
    let secrets = WebhookSecrets { github: Some(Secret::new("whsec-test")), jira: None };
    let hooks = Webhooks::new(b.db.clone(), &secrets);
    hooks.add_core(b.core.clone());
    let base = serve_webhooks(hooks).await;
    let edited = |due: &str| {
        serde_json::to_vec(&json!({
            "action": "edited",
            "changes": { "body": { "from": "**Kind:** fix · **Priority:** p2 · **Due:** 2026-03-09" } },
            "issue": { "number": 12, "state": "open", "body": format!("**Kind:** fix · **Priority:** p2 · **Due:** {due}\n\nincidentbot action #1") },
            "repository": { "full_name": "Acme/Reliability" },
            "sender": { "login": "bob-gh" },
        }))
        .unwrap()
    };
    // A date that is not one changes nothing.
    let body = edited("-5é");
    assert_eq!(deliver(&base, "e-0", body.clone(), &sign("whsec-test", &body)).await, 200);
    assert_eq!(b.db.action(1).await.unwrap().unwrap().due.to_string(), "2026-03-09");
    let body = edited("2026-03-20");
    assert_eq!(deliver(&base, "e-1", body.clone(), &sign("whsec-test", &body)).await, 200);
    assert_eq!(deliver(&base, "e-1", body.clone(), &sign("whsec-test", &body)).await, 200);
    assert_eq!(b.db.action(1).await.unwrap().unwrap().due.to_string(), "2026-03-20");
    let moves: Vec<_> =
        b.db.timeline(1, false)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.text.contains("due date moved from 2026-03-09 to 2026-03-20 in GitHub"))
            .collect();
    assert_eq!(moves.len(), 1);
    assert_eq!(moves[0].author, "system:tracker");
    // A forged edit is refused.
    let body = edited("2026-05-01");
    assert_eq!(deliver(&base, "e-2", body.clone(), &sign("guess", &body)).await, 401);
    assert_eq!(b.db.action(1).await.unwrap().unwrap().due.to_string(), "2026-03-20");
}

#[tokio::test]
async fn an_item_closed_and_redated_before_its_issue_opened_opens_the_issue_then_closes_it() {
    let server = MockServer::start().await;
    // GitHub is down when the item is added, closed and re-dated.
    Mock::given(method("POST"))
        .and(path("/repos/acme/reliability/issues"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/reliability/issues"))
        .respond_with(created(21))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/reliability/issues/21"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({ "number": 21, "body": "**Kind:** fix · **Due:** 2026-03-09\n\nincidentbot action #1" }),
        ))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/reliability/issues/21"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "number": 21 })))
        .mount(&server)
        .await;
    let follow = FollowThrough { tracker: Some(github(&server)), retry: retry(), ..Default::default() };
    let b = bench(Db::in_memory().await.unwrap(), follow, true).await;
    b.run("alice", "action add Rotate the checkout keys due:2026-03-09", "add-1").await;
    b.run("alice", "action due 1 2026-03-20", "due-1").await;
    b.run("alice", "action done 1", "done-1").await;
    assert!(b.db.tracker_link(1).await.unwrap().is_none());
    // The retry opens the issue as the item is now (the new date), then the next tick
    // closes it.
    b.clock.advance(Duration::seconds(30));
    b.followups().tick(b.clock.now()).await.unwrap();
    b.followups().tick(b.clock.now()).await.unwrap();
    assert_eq!(b.db.tracker_link(1).await.unwrap().unwrap().issue_key, "acme/reliability#21");
    let patches: Vec<Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "PATCH")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(patches.len(), 1, "{patches:?}");
    assert_eq!(patches[0]["state"], "closed");
    assert!(patches[0]["body"].as_str().unwrap().contains("**Due:** 2026-03-20"), "{patches:?}");
}

/// `serve` itself with Jira as the tracker and a postmortem repository: an item becomes
/// a Jira issue in the project of the incident's service, closing the incident through
/// the Slack postmortem modal opens the pull request (its URL posted in the channel),
/// and a signed Jira webhook closes the item.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_follows_through_to_jira_and_opens_the_postmortem_pull_request() {
    use crate::process_support::{eventually, fake_slack, Served, SLACK_SECRET, SLACK_TOKEN};
    let dir = tempfile::tempdir().unwrap();
    let slack = fake_slack().await;
    let jira = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue"))
        // "bot@acme.test:jira-serve" in base64.
        .and(header("authorization", "Basic Ym90QGFjbWUudGVzdDpqaXJhLXNlcnZl"))
        .and(body_partial_json(json!({ "fields": { "project": { "key": "CHK" }, "summary": "Write the runbook" } })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "id": "10000", "key": "CHK-7" })))
        .expect(1)
        .mount(&jira)
        .await;
    let repo = fake_postmortem_repo(false).await;
    let config = dir.path().join("incidentbot.toml");
    std::fs::write(
        &config,
        r#"
[[services]]
name = "checkout"
jira_project = "CHK"

[trackers.jira]
base_url = "https://acme.atlassian.net"
project = "REL"
issue_type = "Task"
email_env = "JIRA_EMAIL"
token_env = "JIRA_API_TOKEN"
webhook_secret_env = "JIRA_WEBHOOK_SECRET"

[postmortem_repo]
repo = "acme/postmortems"
branch = "main"
path = "postmortems/{date}-inc-{id}-{slug}.md"
"#,
    )
    .unwrap();
    let envs = vec![
        ("DATABASE_URL", format!("sqlite://{}", dir.path().join("bot.db").display())),
        ("SLACK_BOT_TOKEN", SLACK_TOKEN.to_string()),
        ("SLACK_SIGNING_SECRET", SLACK_SECRET.to_string()),
        ("SLACK_API_URL", format!("{}/api", slack.uri())),
        ("INCIDENTBOT_CONFIG", config.display().to_string()),
        ("JIRA_EMAIL", "bot@acme.test".to_string()),
        ("JIRA_API_TOKEN", "jira-serve".to_string()),
        ("JIRA_WEBHOOK_SECRET", "jira-whsec".to_string()),
        ("JIRA_BASE_URL", jira.uri()),
        ("GITHUB_TOKEN", "ghp_pm".to_string()),
        ("GITHUB_API_URL", repo.uri()),
    ];
    let served = Served::start(dir.path(), "serve", &envs);
    served.wait_for_health(std::time::Duration::from_secs(30), |status, _| status == 200).await;
    let http = reqwest::Client::new();
    let signed = |path: &str, body: String| {
        let ts = chrono::Utc::now().timestamp().to_string();
        let signature = bot::slack::signature::sign(&Secret::new(SLACK_SECRET), &ts, body.as_bytes());
        http.post(served.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", ts)
            .header("x-slack-signature", signature)
            .body(body)
            .send()
    };
    let command = |n: u32, text: &str| {
        let body = serde_urlencoded::to_string([
            ("team_id", "T0TEAM"),
            ("channel_id", "CGENERAL"),
            ("user_id", "U0ALICE"),
            ("command", "/incident"),
            ("text", text),
            ("response_url", &format!("{}/response/{n}", slack.uri())),
            ("trigger_id", &format!("1000.{n}.trigger")),
        ])
        .unwrap();
        signed("/slack/commands", body)
    };
    let wait = std::time::Duration::from_secs(20);
    assert_eq!(command(1, "declare sev2 service:checkout Checkout is failing").await.unwrap().status(), 200);
    let declared =
        eventually(wait, || async { crate::process_support::calls_to(&slack, "conversations.create").await > 0 }).await;
    assert!(declared, "{}", served.logs());
    assert_eq!(command(2, "INC-1 action add Write the runbook").await.unwrap().status(), 200);
    let opened = eventually(wait, || async { !jira.received_requests().await.unwrap().is_empty() }).await;
    assert!(opened, "{}", served.logs());

    // Resolved, then the postmortem modal submitted whole: the incident closes.
    assert_eq!(command(3, "INC-1 resolve Provider recovered").await.unwrap().status(), 200);
    let fields = answers("Alert on provider errors.");
    let values: serde_json::Map<String, Value> = fields
        .iter()
        .map(|(k, v)| (k.clone(), json!({ k.as_str(): { "type": "plain_text_input", "value": v } })))
        .collect();
    let submission = json!({
        "type": "view_submission",
        "user": { "id": "U0ALICE" },
        "view": {
            "id": "V0PM",
            "callback_id": "postmortem:1",
            "private_metadata": json!({ "u": "U0ALICE", "c": "CGENERAL" }).to_string(),
            "blocks": fields.iter().map(|(k, _)| json!({ "block_id": k })).collect::<Vec<_>>(),
            "state": { "values": values }
        }
    });
    let body = serde_urlencoded::to_string([("payload", submission.to_string())]).unwrap();
    assert_eq!(signed("/slack/interactions", body).await.unwrap().status(), 200);
    let pr_posted = eventually(wait, || async {
        slack
            .received_requests()
            .await
            .unwrap()
            .iter()
            .any(|r| String::from_utf8_lossy(&r.body).contains("https://github.com/acme/postmortems/pull/5"))
    })
    .await;
    assert!(pr_posted, "{}", served.logs());
    let pulls = requests_to(&repo.received_requests().await.unwrap(), "POST", "/pulls");
    assert_eq!(pulls.len(), 1);
    assert_eq!(pulls[0]["head"], "incidentbot/inc-1-postmortem");

    // Jira closes the item, signed; a forged delivery is refused.
    let done = serde_json::to_vec(&json!({
        "webhookEvent": "jira:issue_updated",
        "issue": { "key": "CHK-7", "fields": { "status": { "statusCategory": { "key": "done" } } } },
        "changelog": { "items": [{ "field": "status", "to": "10001" }] },
    }))
    .unwrap();
    let deliver = |signature: String| {
        http.post(served.url("/trackers/jira"))
            .header("X-Atlassian-Webhook-Identifier", "j-serve-1")
            .header("X-Hub-Signature", signature)
            .body(done.clone())
            .send()
    };
    assert_eq!(deliver(sign("forged", &done)).await.unwrap().status(), 401);
    assert_eq!(deliver(sign("jira-whsec", &done)).await.unwrap().status(), 200);
    let closed = eventually(wait, || async {
        slack
            .received_requests()
            .await
            .unwrap()
            .iter()
            .any(|r| String::from_utf8_lossy(&r.body).contains("closed in Jira"))
    })
    .await;
    assert!(closed, "{}", served.logs());
}

#[tokio::test]
async fn a_statuspage_update_cut_off_after_it_went_through_is_not_posted_twice() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/pages/pg1/incidents"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "id": "inc_abc" })))
        .expect(1)
        .mount(&server)
        .await;
    // The first update finds the page down, so it waits for the scheduler.
    Mock::given(method("PATCH"))
        .and(path("/pages/pg1/incidents/inc_abc"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/pages/pg1/incidents/inc_abc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": "inc_abc" })))
        .mount(&server)
        .await;
    // What the page shows: the interrupted update went through.
    Mock::given(method("GET"))
        .and(path("/pages/pg1/incidents/inc_abc"))
        .and(header("authorization", "OAuth sp-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": "inc_abc", "incident_updates": [
            { "status": "investigating", "body": "Payments resume for most customers." },
            { "status": "investigating", "body": "We are looking into failed payments." },
        ]})))
        .mount(&server)
        .await;
    let page = Statuspage::new(&server.uri(), Secret::new("sp-key"), "pg1").unwrap();
    let follow = FollowThrough { status_page: Some(Arc::new(page)), retry: retry(), ..Default::default() };
    let b = bench(Db::in_memory().await.unwrap(), follow, true).await;
    b.run("alice", "public We are looking into failed payments.", "p-1").await;
    b.run("alice", "public Payments resume for most customers.", "p-2").await;
    let patches = || async { server_calls(&server, "PATCH").await };
    assert_eq!(patches().await, 1, "the first try, refused");
    // A copy claims the retry, makes the call, and dies before recording it.
    b.clock.advance(Duration::seconds(30));
    let jobs = b.db.jobs_about("status_post", "1").await.unwrap();
    let second = jobs.iter().find(|j| j.done_at.is_none()).unwrap().key.clone();
    assert!(b
        .db
        .begin_job_attempt(&second, b.clock.now(), b.clock.now() + Duration::minutes(2))
        .await
        .unwrap()
        .is_some());
    b.clock.advance(Duration::minutes(3));
    b.followups().tick(b.clock.now()).await.unwrap();
    assert_eq!(patches().await, 1, "the page already shows it: not posted again");
    assert!(b.db.jobs_about("status_post", "1").await.unwrap().iter().all(|j| j.done_at.is_some()));
    // A later update whose text the page does not show yet is posted as usual.
    b.run("alice", "resolve Provider recovered", "r-1").await;
    assert_eq!(patches().await, 2);
}

/// A copy's view of its lease, fixed for the test: the lease name and token it holds.
struct FixedFence(Option<(&'static str, storage::Fence)>);

impl commands::followup::LeaseFence for FixedFence {
    fn current(&self) -> Option<(&'static str, storage::Fence)> {
        self.0
    }
}

/// Under a lease, an outbound call is claimed only with the lease's current token: a
/// copy holding none, or an old token (its lease ran out and another copy took it),
/// opens no issue, neither at once nor from the scheduler; the holder of the current
/// token opens it, once.
#[tokio::test]
async fn a_copy_without_the_current_lease_token_opens_no_issue() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/reliability/issues"))
        .respond_with(created(5))
        .mount(&server)
        .await;
    let db = Db::in_memory().await.unwrap();
    let ttl = std::time::Duration::from_secs(15);
    let old = db.acquire_lease("active", "a", start() - Duration::seconds(40), ttl).await.unwrap().unwrap();
    let current = db.acquire_lease("active", "b", start() - Duration::seconds(5), ttl).await.unwrap().unwrap();
    let fenced = |fence: Option<(&'static str, storage::Fence)>| FollowThrough {
        tracker: Some(github(&server)),
        retry: retry(),
        fence: Some(Arc::new(FixedFence(fence))),
        ..Default::default()
    };
    let stale = bench(db.clone(), fenced(Some(("active", old))), true).await;
    stale.run("alice", "action add Add a replica @bob due:2026-03-09", "add-1").await;
    assert!(stale.core.run_due_jobs(start()).await.unwrap() == Default::default());
    let none = bench(db.clone(), fenced(None), false).await;
    none.core.run_due_jobs(start()).await.unwrap();
    assert!(issue_posts(&server.received_requests().await.unwrap()).is_empty(), "a fenced copy called GitHub");
    let job = db.job("tracker_create:1").await.unwrap().unwrap();
    assert_eq!((job.attempts, job.done_at), (0, None), "the refused attempts left the job due");

    let holder = bench(db.clone(), fenced(Some(("active", current))), false).await;
    assert_eq!(holder.core.run_due_jobs(start()).await.unwrap().done, 1);
    assert_eq!(issue_posts(&server.received_requests().await.unwrap()).len(), 1);
    assert_eq!(db.tracker_link(1).await.unwrap().unwrap().issue_key, "acme/reliability#5");
}
