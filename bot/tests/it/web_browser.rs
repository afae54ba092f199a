//! The web pages in a real browser: headless Chromium driven over chromedriver by
//! fantoccini, against `serve` on a history the console wrote (moved to Postgres with
//! `migrate-db` under `INCIDENTBOT_TEST_ENGINE=postgres`). Each page's screenshot is
//! saved under the target dir's `web-screenshots/`.
//!
//! fantoccini speaks the W3C WebDriver protocol over the async HTTP stack the tests
//! already run on (tokio, hyper, rustls), needs no Selenium server or Java, and is the
//! maintained Rust WebDriver client; chromedriver is Debian's `chromium-driver`.
//!
//! Needs `chromium` and `chromedriver` on PATH (`.ci/setup.d/30-chromium.sh` installs
//! them). Under `CI=true` a missing browser fails the test; elsewhere it skips with a
//! line saying so.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::process_support::{eventually, free_port, incidentbot, Served};

fn find_program(env: &str, name: &str) -> Option<PathBuf> {
    if let Ok(path) = std::env::var(env) {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH")?.to_str()?.split(':').map(|dir| Path::new(dir).join(name)).find(|p| p.is_file())
}

struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two catalog services, so the list's service filter and the header have something.
const CONFIG: &str = "\
[[services]]
name = \"checkout\"
team = \"payments\"

[[services]]
name = \"search\"
";

const SCRIPT: &str = "\
/incident declare sev1 service:checkout Checkout <script>alert(1)</script> \"><img src=x onerror=alert(2)>
/incident factor add change
@alice: the payments database disk is full
:pin
@alice: looking at the graphs
/incident status identified disk full on db-1
@bob /incident note rotated logs on db-1
/incident action add add a disk usage alert @bob due:+3d kind:detect
/incident resolve cleared the disk
/incident declare sev3 service:search Slow search results
@carol: search p99 is 4 s
";

/// The page-weight budget: a page and its stylesheet (no page loads anything else).
const PAGE_BUDGET: usize = 150 * 1024;

/// Saves a screenshot of the page, and checks its weight with the stylesheet.
async fn screenshot(client: &Client, name: &str) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = client.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    let html = client.source().await.unwrap().len();
    let css = bot::web::layout::STYLESHEET.len();
    assert!(html + css < PAGE_BUDGET, "the {name} page weighs {html} bytes + {css} of stylesheet");
}

fn web_link(db_url: &str, user: &str) -> String {
    let output = incidentbot().args(["web-link", "--user", user]).env("DATABASE_URL", db_url).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

async fn body_text(client: &Client) -> String {
    client.find(Locator::Css("body")).await.unwrap().text().await.unwrap()
}

/// A click submits a form; the next page is there once it shows `text`.
async fn wait_for_text(client: &Client, text: &str) -> String {
    let mut body = String::new();
    // Up to a minute: a loaded CI machine runs a debug build.
    for _ in 0..1200 {
        body = match client.find(Locator::Css("body")).await {
            Ok(element) => element.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if body.contains(text) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the page never showed {text:?}; it shows:\n{body}");
}

#[tokio::test]
async fn the_web_pages_work_in_a_real_browser() {
    let (Some(chromium), Some(chromedriver)) =
        (find_program("INCIDENTBOT_CHROMIUM", "chromium"), find_program("INCIDENTBOT_CHROMEDRIVER", "chromedriver"))
    else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but chromium or chromedriver is missing; .ci/setup.d/30-chromium.sh installs them"
        );
        println!("skipped: the browser tests need chromium and chromedriver (apt install chromium chromium-driver)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("web.db");
    let db_url = format!("sqlite://{}", db_path.display());
    std::fs::write(dir.path().join("script.txt"), SCRIPT).unwrap();
    let config = dir.path().join("incidentbot.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let console = incidentbot()
        .env("INCIDENTBOT_CONFIG", &config)
        .args(["console", "--db"])
        .arg(&db_path)
        .arg("--script")
        .arg(dir.path().join("script.txt"))
        .output()
        .unwrap();
    assert!(console.status.success(), "{}", String::from_utf8_lossy(&console.stderr));
    // On Postgres (INCIDENTBOT_TEST_ENGINE=postgres) the console's history is moved
    // there with `migrate-db`, and the pages are served from Postgres.
    let database = storage::test_database::TestDatabase::for_suite().await;
    let db_url = if database.engine == storage::Engine::Postgres {
        let moved = incidentbot().args(["migrate-db", "--from", &db_url, "--to", &database.url]).output().unwrap();
        assert!(moved.status.success(), "{}", String::from_utf8_lossy(&moved.stderr));
        database.url.clone()
    } else {
        db_url
    };

    let served = Served::start(
        dir.path(),
        "serve",
        &[("DATABASE_URL", db_url.clone()), ("INCIDENTBOT_CONFIG", config.display().to_string())],
    );
    served.wait_for_health(Duration::from_secs(20), |status, _| status == 200).await;

    // An expired link, written as `web-link` would have written it 20 minutes ago.
    let expired_token = commands::web_auth::new_token().unwrap();
    {
        let db = storage::Db::connect(&db_url).await.unwrap();
        let now = chrono::Utc::now();
        let user = storage::WebUser { platform: storage::Platform::Console, user_id: "you".into() };
        db.add_web_link(
            &commands::web_auth::token_hash(&expired_token),
            &user,
            now - chrono::Duration::minutes(20),
            now - chrono::Duration::minutes(10),
        )
        .await
        .unwrap();
        db.close().await;
    }

    let driver_port = free_port();
    let driver = Driver {
        child: Command::new(&chromedriver)
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        port: driver_port,
    };
    let driver_url = format!("http://127.0.0.1:{}", driver.port);
    assert!(
        eventually(Duration::from_secs(10), || async { reqwest::get(format!("{driver_url}/status")).await.is_ok() })
            .await,
        "chromedriver did not start"
    );
    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1280,900", format!("--user-data-dir={}", profile.path().display()),
            ],
        }),
    );
    // Chromedriver is plain HTTP on loopback, but fantoccini's builder wants a TLS
    // provider chosen; a second install (another test did it) is fine to ignore.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = ClientBuilder::rustls().unwrap().capabilities(caps).connect(&driver_url).await.unwrap();

    // Not signed in: no page, and a page that says how to sign in.
    client.goto(&served.url("/incidents")).await.unwrap();
    assert!(body_text(&client).await.contains("/incident web"));

    // Sign in with a link from `web-link`, and see the list.
    let link = web_link(&db_url, "you");
    let link = link.replace("localhost:8080", &format!("127.0.0.1:{}", served.port));
    client.goto(&link).await.unwrap();
    screenshot(&client, "sign-in").await;
    client.find(Locator::Id("sign-in")).await.unwrap().click().await.unwrap();
    wait_for_text(&client, "Signed in as").await;
    assert!(client.current_url().await.unwrap().path().ends_with("/incidents"));
    let list = body_text(&client).await;
    assert!(list.contains("INC-1") && list.contains("INC-2"), "{list}");
    screenshot(&client, "incidents").await;

    // A hostile title is shown as text: no script ran, no image was made.
    assert!(list.contains("Checkout <script>alert(1)</script> \"><img src=x onerror=alert(2)>"), "{list}");
    assert!(client.get_alert_text().await.is_err(), "an alert is open");
    assert!(client.find_all(Locator::Css("img")).await.unwrap().is_empty());

    // Filter by severity.
    client.find(Locator::Id("severity")).await.unwrap().select_by_value("sev3").await.unwrap();
    client.find(Locator::Id("filter")).await.unwrap().click().await.unwrap();
    wait_for_text(&client, "1 incident").await;
    assert!(client.current_url().await.unwrap().query().unwrap_or("").contains("severity=sev3"));
    let filtered = body_text(&client).await;
    assert!(filtered.contains("INC-2") && !filtered.contains("INC-1"), "{filtered}");
    screenshot(&client, "incidents-sev3").await;

    // Filter by service.
    client.goto(&served.url("/incidents")).await.unwrap();
    client.find(Locator::Id("service")).await.unwrap().select_by_value("checkout").await.unwrap();
    client.find(Locator::Id("filter")).await.unwrap().click().await.unwrap();
    wait_for_text(&client, "1 incident").await;
    let by_service = body_text(&client).await;
    assert!(by_service.contains("INC-1") && !by_service.contains("INC-2"), "{by_service}");

    // Open an incident: its timeline, with the key events marked.
    client.goto(&served.url("/incidents/1")).await.unwrap();
    let key_events = client.find_all(Locator::Css("ol.timeline li.key")).await.unwrap();
    let all_entries = client.find_all(Locator::Css("ol.timeline li")).await.unwrap();
    assert!(!key_events.is_empty() && key_events.len() < all_entries.len());
    let pinned = client.find(Locator::Css("ol.timeline li.key .keymark")).await.unwrap();
    assert_eq!(pinned.text().await.unwrap(), "★");
    let header = body_text(&client).await;
    assert!(header.contains("the payments database disk is full"), "{header}");
    assert!(header.contains("Services\ncheckout") && header.contains("Contributing factors\nchange"), "{header}");
    assert!(header.contains("add a disk usage alert"), "{header}");
    screenshot(&client, "incident").await;
    client.find(Locator::Id("key-only")).await.unwrap().click().await.unwrap();
    wait_for_text(&client, "Show every entry").await;
    let shown = client.find_all(Locator::Css("ol.timeline li")).await.unwrap();
    assert_eq!(shown.len(), key_events.len());
    assert!(!body_text(&client).await.contains("looking at the graphs"));

    // Open the postmortem, edit a field and save; the save is on the timeline.
    client.goto(&served.url("/incidents/1/postmortem")).await.unwrap();
    screenshot(&client, "postmortem").await;
    client.find(Locator::Id("edit")).await.unwrap().click().await.unwrap();
    wait_for_text(&client, "Write the postmortem of").await;
    let lessons = client.find(Locator::Id("lessons")).await.unwrap();
    let long_lessons = format!("Quarantine the zanzibar volume before it fills. {}", "Keep headroom. ".repeat(400));
    lessons.send_keys(&long_lessons).await.unwrap();
    client.find(Locator::Id("summary")).await.unwrap().send_keys("The disk of db-1 filled up; 日本語 ✓").await.unwrap();
    client.find(Locator::Id("tag-capacity")).await.unwrap().click().await.unwrap();
    client.find(Locator::Id("save")).await.unwrap().click().await.unwrap();
    let saved = wait_for_text(&client, "Saved ").await;
    assert!(saved.contains("Saved Summary, Lessons learned for INC-1"), "{saved}");
    assert!(saved.contains("tagged capacity"), "{saved}");
    assert!(saved.contains("The console is not connected to this server"), "{saved}");
    assert!(client.find(Locator::Id("tag-capacity")).await.unwrap().is_selected().await.unwrap());
    screenshot(&client, "postmortem-editor").await;
    // Clearing an answer takes its box: the summary goes, the lessons stay.
    client.find(Locator::Id("clear_summary")).await.unwrap().click().await.unwrap();
    client.find(Locator::Id("save")).await.unwrap().click().await.unwrap();
    let cleared = wait_for_text(&client, "Cleared ").await;
    assert!(cleared.contains("Cleared Summary of INC-1"), "{cleared}");
    assert_eq!(client.find(Locator::Id("summary")).await.unwrap().prop("value").await.unwrap().as_deref(), Some(""));
    client.goto(&served.url("/incidents/1")).await.unwrap();
    let page = body_text(&client).await;
    assert!(page.contains("Postmortem Lessons learned written"), "{page}");
    assert!(page.contains("Postmortem Summary cleared"), "{page}");
    assert!(page.contains("Contributing factors\ncapacity, change"), "the tags are in the header: {page}");

    // Find the postmortem by a word from its lessons.
    client.goto(&served.url("/postmortems")).await.unwrap();
    client.find(Locator::Id("q")).await.unwrap().send_keys("zanzibar").await.unwrap();
    client.find(Locator::Id("search")).await.unwrap().click().await.unwrap();
    wait_for_text(&client, "1 match").await;
    let hit = client.find(Locator::Css("ol.hits mark")).await.unwrap();
    assert_eq!(hit.text().await.unwrap().to_lowercase(), "zanzibar");
    screenshot(&client, "library").await;

    // The action items, and the charts on /insights as SVG with data.
    client.goto(&served.url("/actions")).await.unwrap();
    assert!(body_text(&client).await.contains("add a disk usage alert"));
    screenshot(&client, "actions").await;
    client.goto(&served.url("/insights")).await.unwrap();
    let bars = client.find_all(Locator::Css("#chart-incidents svg rect")).await.unwrap();
    assert!(!bars.is_empty(), "no bars in the incidents chart");
    let lines = client.find_all(Locator::Css("#chart-acknowledge svg polyline")).await.unwrap();
    assert_eq!(lines.len(), 2);
    screenshot(&client, "insights").await;

    // Log out; a replayed link and an expired one start no session.
    client.find(Locator::Css("form[action='/sign-out'] button")).await.unwrap().click().await.unwrap();
    wait_for_text(&client, "You are signed out").await;
    client.goto(&served.url("/incidents")).await.unwrap();
    assert!(body_text(&client).await.contains("Sign in to see the incident pages"));
    client.goto(&link).await.unwrap();
    let replayed = body_text(&client).await;
    assert!(replayed.contains("already used") && replayed.contains("/incident web"), "{replayed}");
    screenshot(&client, "link-replayed").await;
    client.goto(&served.url(&format!("/sign-in/{expired_token}"))).await.unwrap();
    assert!(body_text(&client).await.contains("expired"));
    client.goto(&served.url("/incidents")).await.unwrap();
    assert!(body_text(&client).await.contains("Sign in to see the incident pages"));
    // Pressing "Sign in" for them (a stale tab) is refused the same way, with no cookie.
    let http = reqwest::Client::new();
    for token in [link.rsplit('/').next().unwrap().to_string(), expired_token, "f".repeat(64)] {
        let response = http.post(served.url("/sign-in")).form(&[("token", token)]).send().await.unwrap();
        assert_eq!(response.status(), 403);
        assert!(response.headers().get("set-cookie").is_none());
    }

    client.close().await.unwrap();
    drop(driver);
}

#[tokio::test]
async fn pages_carry_the_security_headers_and_refuse_forms_without_the_csrf_token() {
    let dir = tempfile::tempdir().unwrap();
    // On the suite's engine: sign-in links and sessions on Postgres too.
    let database = storage::test_database::TestDatabase::for_suite().await;
    let db_url = database.url.clone();
    let served = Served::start(dir.path(), "serve", &[("DATABASE_URL", db_url.clone())]);
    served.wait_for_health(Duration::from_secs(20), |status, _| status == 200).await;
    let link = web_link(&db_url, "you");
    let token = link.rsplit('/').next().unwrap().to_string();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let signed = http.post(served.url("/sign-in")).form(&[("token", token)]).send().await.unwrap();
    let cookie = signed.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && !cookie.contains("Secure"), "{cookie}");
    let session = cookie.split(';').next().unwrap().to_string();
    let page = http.get(served.url("/incidents")).header("cookie", &session).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let forged =
        http.post(served.url("/sign-out")).header("cookie", &session).form(&[("csrf", "x")]).send().await.unwrap();
    assert_eq!(forged.status(), 400);
    let still = http.get(served.url("/incidents")).header("cookie", &session).send().await.unwrap();
    assert_eq!(still.status(), 200, "a forged log-out ended the session");
}
