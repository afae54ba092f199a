//! The deployment files: `fly.toml` uses only keys from Fly's documented app
//! configuration and says what the bot needs (one always-on machine, a volume at
//! /data, the health check, a kill timeout longer than the graceful shutdown); the
//! Dockerfile and the script that verifies its steps agree.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name)
}

fn read(name: &str) -> String {
    std::fs::read_to_string(repo_file(name)).unwrap_or_else(|e| panic!("cannot read {name}: {e}"))
}

/// The keys of Fly's app configuration reference (fly.io/docs/reference/configuration),
/// as dotted paths; `[]` marks an array of tables. Free-form maps (`env`, `build.args`,
/// check headers) accept any key below them.
const DOCUMENTED_KEYS: &[&str] = &[
    "app",
    "primary_region",
    "kill_signal",
    "kill_timeout",
    "swap_size_mb",
    "console_command",
    "build",
    "build.builder",
    "build.buildpacks",
    "build.image",
    "build.dockerfile",
    "build.ignorefile",
    "build.build-target",
    "build.args",
    "deploy",
    "deploy.release_command",
    "deploy.release_command_timeout",
    "deploy.strategy",
    "deploy.max_unavailable",
    "deploy.wait_timeout",
    "env",
    "processes",
    "mounts",
    "mounts[].source",
    "mounts[].destination",
    "mounts[].initial_size",
    "mounts[].processes",
    "mounts[].snapshot_retention",
    "mounts[].scheduled_snapshots",
    "mounts[].auto_extend_size_threshold",
    "mounts[].auto_extend_size_increment",
    "mounts[].auto_extend_size_limit",
    "http_service",
    "http_service.internal_port",
    "http_service.force_https",
    "http_service.auto_stop_machines",
    "http_service.auto_start_machines",
    "http_service.min_machines_running",
    "http_service.processes",
    "http_service.concurrency",
    "http_service.concurrency.type",
    "http_service.concurrency.soft_limit",
    "http_service.concurrency.hard_limit",
    "http_service.checks",
    "http_service.checks[].grace_period",
    "http_service.checks[].interval",
    "http_service.checks[].method",
    "http_service.checks[].timeout",
    "http_service.checks[].path",
    "http_service.checks[].protocol",
    "http_service.checks[].tls_skip_verify",
    "http_service.checks[].tls_server_name",
    "http_service.checks[].headers",
    "http_service.http_options",
    "http_service.tls_options",
    "checks",
    "metrics",
    "metrics.port",
    "metrics.path",
    "metrics.processes",
    "vm",
    "vm[].size",
    "vm[].memory",
    "vm[].cpus",
    "vm[].cpu_kind",
    "vm[].gpus",
    "vm[].gpu_kind",
    "vm[].processes",
    "statics",
];

/// Tables whose keys are the user's own.
const FREE_FORM: &[&str] = &["env", "build.args", "http_service.checks[].headers", "processes"];

fn collect_keys(prefix: &str, value: &toml::Value, keys: &mut BTreeSet<String>) {
    if FREE_FORM.contains(&prefix) {
        return;
    }
    match value {
        toml::Value::Table(table) => {
            for (key, child) in table {
                let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                keys.insert(path.clone());
                collect_keys(&path, child, keys);
            }
        }
        toml::Value::Array(items) if items.iter().all(toml::Value::is_table) && !items.is_empty() => {
            for item in items {
                collect_keys(&format!("{prefix}[]"), item, keys);
            }
        }
        _ => {}
    }
}

fn seconds(text: &str) -> u64 {
    let text = text.trim();
    if let Some(minutes) = text.strip_suffix('m') {
        return minutes.parse::<u64>().unwrap() * 60;
    }
    text.trim_end_matches('s').parse().unwrap()
}

#[test]
fn fly_toml_uses_only_documented_keys() {
    let doc: toml::Value = toml::from_str(&read("fly.toml")).expect("fly.toml is valid TOML");
    let mut keys = BTreeSet::new();
    collect_keys("", &doc, &mut keys);
    let unknown: Vec<_> = keys
        .iter()
        .map(|k| if k.ends_with("[]") { k.trim_end_matches("[]").to_string() } else { k.clone() })
        .filter(|k| !DOCUMENTED_KEYS.contains(&k.as_str()))
        .collect();
    assert!(unknown.is_empty(), "keys not in Fly's reference: {unknown:?}");
}

#[test]
fn fly_toml_runs_one_always_on_machine_with_its_database_on_the_volume() {
    let doc: toml::Value = toml::from_str(&read("fly.toml")).unwrap();
    let mounts = doc["mounts"].as_array().expect("[[mounts]]");
    assert_eq!(mounts.len(), 1);
    assert_eq!(mounts[0]["destination"].as_str(), Some("/data"));
    let database_url = doc["env"]["DATABASE_URL"].as_str().unwrap();
    assert!(database_url.starts_with("sqlite:///data/"), "{database_url}");

    let service = &doc["http_service"];
    assert_eq!(service["auto_stop_machines"].as_str(), Some("off"));
    assert_eq!(service["min_machines_running"].as_integer(), Some(1));
    assert_eq!(service["internal_port"].as_integer(), Some(8080));
    assert_eq!(doc["env"]["PORT"].as_str(), Some("8080"));
    let checks = service["checks"].as_array().unwrap();
    assert!(checks.iter().any(|c| c["path"].as_str() == Some("/healthz")));
    assert!(doc.get("deploy").and_then(|d| d.get("release_command")).is_none(), "migrations run at start-up");

    assert_eq!(doc["kill_signal"].as_str(), Some("SIGTERM"));
    let kill_timeout = seconds(doc["kill_timeout"].as_str().unwrap());
    let grace = bot::serve::SLACK_SHUTDOWN_GRACE.as_secs();
    assert!(kill_timeout > grace && kill_timeout <= 300, "kill_timeout {kill_timeout}s vs grace {grace}s");
}

#[test]
fn the_verify_script_runs_the_dockerfiles_own_build_command() {
    let dockerfile = read("Dockerfile");
    let script = read("scripts/verify-docker-steps.sh");
    let quoted = |name: &str| {
        let line = script.lines().find(|l| l.starts_with(&format!("{name}='"))).unwrap();
        line.trim_start_matches(&format!("{name}='")).trim_end_matches('\'').to_string()
    };
    for command in [quoted("BUILD_COMMAND"), quoted("COPY_COMMAND")] {
        assert!(dockerfile.lines().any(|l| l == format!("RUN {command}")), "Dockerfile lacks `RUN {command}`");
    }
    for line in ["ENTRYPOINT [\"incidentbot\"]", "CMD [\"serve\"]", "USER incidentbot:incidentbot"] {
        assert!(dockerfile.lines().any(|l| l == line), "Dockerfile lacks `{line}`");
    }
    assert!(dockerfile.contains("DATABASE_URL=sqlite:///data/incidentbot.db"));
    assert!(dockerfile.contains("cargo chef cook --release"), "dependencies get their own cached layer");
    let ignore = read(".dockerignore");
    assert!(ignore.lines().any(|l| l == "target/"), ".dockerignore keeps target/ out of the context");
}
