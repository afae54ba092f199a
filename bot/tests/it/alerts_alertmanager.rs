//! Against the real Prometheus Alertmanager (Debian's `prometheus-alertmanager`,
//! 0.25): it runs on loopback with a webhook receiver pointing at `serve` with bearer
//! auth, and short group_wait / group_interval / repeat_interval. Alerts go in through
//! its `POST /api/v2/alerts`. Shown: firing declares or triages by the rules, repeats
//! add nothing, resolving adds the timeline entry, and killing and restarting the bot
//! in the middle of a storm loses and duplicates nothing.
//!
//! `.ci/run` installs the package and exports `ALERTMANAGER_BIN`. Under `CI=true` a
//! missing Alertmanager fails the test; elsewhere it is skipped with a line that says so.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use super::alerts_support::*;
use super::process_support::{eventually, free_port, Served};

/// The Alertmanager binary: `ALERTMANAGER_BIN`, else one on `PATH`.
fn alertmanager_bin() -> Option<String> {
    if let Ok(bin) = std::env::var("ALERTMANAGER_BIN") {
        if !bin.is_empty() {
            return Some(bin);
        }
    }
    ["prometheus-alertmanager", "alertmanager"].into_iter().find_map(|name| {
        let found = Command::new("sh").arg("-c").arg(format!("command -v {name}")).output().ok()?;
        let path = String::from_utf8_lossy(&found.stdout).trim().to_string();
        (found.status.success() && !path.is_empty()).then_some(path)
    })
}

/// A running Alertmanager, killed when dropped.
struct Alertmanager {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Alertmanager {
    async fn start(bin: &str, dir: &std::path::Path, bot_port: u16) -> Alertmanager {
        let port = free_port();
        let config = dir.join("alertmanager.yml");
        std::fs::write(
            &config,
            format!(
                r#"
route:
  receiver: incidentbot
  group_by: ['alertname']
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 3s
receivers:
  - name: incidentbot
    webhook_configs:
      - url: http://127.0.0.1:{bot_port}/alerts/prometheus
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {AM_SECRET}
"#
            ),
        )
        .unwrap();
        let log = dir.join("alertmanager.log");
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(bin)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", dir.join("am-data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let am = Alertmanager { child, port, log };
        let ready = eventually(Duration::from_secs(20), || async {
            reqwest::get(am.url("/-/ready")).await.is_ok_and(|r| r.status().is_success())
        })
        .await;
        assert!(ready, "Alertmanager did not start:\n{}", std::fs::read_to_string(&am.log).unwrap_or_default());
        am
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Posts alerts through Alertmanager's own API, as Prometheus would.
    async fn post(&self, alerts: &[Value]) {
        let response = reqwest::Client::new().post(self.url("/api/v2/alerts")).json(&alerts).send().await.unwrap();
        assert!(response.status().is_success(), "{}", response.text().await.unwrap());
    }
}

fn alert(name: &str, instance: &str, severity: &str, ends: Option<chrono::DateTime<chrono::Utc>>) -> Value {
    let starts = chrono::Utc::now() - chrono::Duration::minutes(5);
    let mut alert = json!({
        "labels": { "alertname": name, "instance": instance, "severity": severity, "env": "prod" },
        "annotations": { "summary": format!("{name} on {instance}") },
        "startsAt": starts.to_rfc3339(),
        "generatorURL": "http://prometheus:9090/graph",
    });
    if let Some(ends) = ends {
        alert["endsAt"] = json!(ends.to_rfc3339());
    }
    alert
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_alertmanager_declares_triages_repeats_resolves_and_survives_a_restart() {
    let Some(bin) = alertmanager_bin() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but Alertmanager is missing: .ci/run installs prometheus-alertmanager and sets ALERTMANAGER_BIN"
        );
        println!("skipped: no Alertmanager; install prometheus-alertmanager or run .ci/run");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let slack = fake_slack().await;
    let database = storage::test_database::TestDatabase::for_suite().await;
    let db_url = database.url.clone();
    let envs = envs(dir.path(), &slack, 10_000, &db_url);
    let mut served = Served::start(dir.path(), "serve", &envs);
    served.wait_for_health(Duration::from_secs(30), |status, _| status == 200).await;
    let port = served.port;
    let am = Alertmanager::start(&bin, dir.path(), port).await;
    let db = storage::Db::connect_existing(&db_url).await.unwrap();

    // Firing: the critical group declares, the warning goes to triage.
    am.post(&[alert("CheckoutDown", "web-1", "critical", None), alert("CheckoutDown", "web-2", "critical", None)])
        .await;
    am.post(&[alert("DiskFilling", "db-1", "warning", None)]).await;
    let declared = eventually(Duration::from_secs(20), || async {
        db.open_incidents().await.unwrap().len() == 1 && slack_posts(&slack, TRIAGE, "DiskFilling").await == 1
    })
    .await;
    assert!(declared, "no declare and triage; bot logs:\n{}", served.logs());
    let incident = db.open_incidents().await.unwrap().remove(0);
    assert_eq!(incident.declared_by, "system:alerts");
    // The group's alerts are stored one by one, so the second may join a moment after
    // the first has declared.
    let both =
        eventually(Duration::from_secs(20), || async { db.alerts_of_incident(incident.id).await.unwrap().len() == 2 })
            .await;
    assert!(both, "the group's second alert never joined; bot logs:\n{}", served.logs());

    // Repeats (repeat_interval 3s) arrive and add nothing.
    let repeated = eventually(Duration::from_secs(20), || async {
        db.alerts_of_incident(incident.id).await.unwrap().iter().all(|a| a.deliveries >= 3)
    })
    .await;
    assert!(repeated, "Alertmanager never repeated; its log:\n{}", std::fs::read_to_string(&am.log).unwrap());
    assert_eq!(db.open_incidents().await.unwrap().len(), 1);
    assert_eq!(slack_posts(&slack, TRIAGE, "DiskFilling").await, 1, "a repeat posted to triage again");

    // Resolving one alert adds its timeline entry.
    let now = chrono::Utc::now();
    am.post(&[alert("CheckoutDown", "web-1", "critical", Some(now))]).await;
    let resolved = eventually(Duration::from_secs(20), || async {
        db.timeline(incident.id, true)
            .await
            .unwrap()
            .iter()
            .any(|e| e.text.starts_with("✅ Alert resolved: CheckoutDown on web-1"))
    })
    .await;
    assert!(resolved, "no resolved entry; bot logs:\n{}", served.logs());

    // A storm of 30 critical groups, with the bot killed in the middle and restarted.
    let storm: Vec<Value> = (0..30).map(|n| alert(&format!("Storm{n:02}"), "node-1", "critical", None)).collect();
    am.post(&storm[..15]).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    served.child.kill().unwrap();
    served.child.wait().unwrap();
    am.post(&storm[15..]).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let restarted = Served::start_on(dir.path(), "restarted", port, &envs);
    restarted.wait_for_health(Duration::from_secs(30), |status, _| status == 200).await;
    let all_in = eventually(Duration::from_secs(60), || async { db.open_incidents().await.unwrap().len() == 31 }).await;
    let open = db.open_incidents().await.unwrap();
    assert!(all_in, "{} open incidents, not 31; logs:\n{}", open.len(), restarted.logs());
    // Nothing duplicated: one incident per group, each with its one alert, even after
    // a few more repeats.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let open = db.open_incidents().await.unwrap();
    assert_eq!(open.len(), 31);
    let mut titles: Vec<_> = open.iter().map(|i| i.title.clone()).collect();
    titles.sort();
    titles.dedup();
    assert_eq!(titles.len(), 31, "two incidents share a title: {titles:?}");
    for incident in open.iter().filter(|i| i.title.starts_with("Storm")) {
        assert_eq!(db.alerts_of_incident(incident.id).await.unwrap().len(), 1, "{}", incident.title);
    }
    assert_eq!(slack_posts(&slack, TRIAGE, "DiskFilling").await, 1);
}
