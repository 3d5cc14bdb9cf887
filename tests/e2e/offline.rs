//! Offline: with every provider down, the last cached snapshot is shown,
//! marked stale with its age, in JSON and tables; a corrupt or foreign
//! cache file is ignored with a warning, never trusted, never fatal.

use std::process::Command;

fn closed_port() -> u16 {
    // Bind and drop: nothing listens there afterwards.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn write_config(dir: &std::path::Path) -> std::path::PathBuf {
    let port = closed_port();
    let cfg = dir.join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[provider]]\nname = \"am\"\nkind = \"alertmanager\"\nbase_url = \"http://127.0.0.1:{port}\"\ntimeout = \"1s\"\n"
        ),
    )
    .unwrap();
    cfg
}

fn sitrep(cfg: &std::path::Path, data: &std::path::Path, args: &[&str]) -> std::process::Output {
    sitrep_env(cfg, data, args, &[])
}

fn sitrep_env(
    cfg: &std::path::Path,
    data: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sitrep"))
        .arg("--config")
        .arg(cfg)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

const CACHED: &str = r#"{"format":1,"provider":"am","kind":"alertmanager","fetched_at":"2026-11-22T01:00:00Z","data":{"incidents":[{"provider":"am","id":"abc123","title":"HighErrorRate: checkout 5xx above 5%\u001b]0;pwned\u0007","severity":"SEV1","status":"firing","service":"checkout","created_at":"2026-11-22T00:50:00Z","url":null,"assignee":null,"runbook":"rollback"}]}}"#;

#[test]
fn cached_data_is_shown_stale_when_the_provider_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path());
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("cache")).unwrap();
    std::fs::write(data.join("cache/am.json"), CACHED).unwrap();

    let out = sitrep(&cfg, &data, &["incidents", "--json"]);
    assert_eq!(out.status.code(), Some(1), "partial: a provider failed");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let p = &v["providers"][0];
    assert_eq!(p["name"], "am");
    assert_eq!(p["ok"], false);
    assert_eq!(p["stale"], true);
    assert_eq!(p["fetched_at"], "2026-11-22T01:00:00Z");
    assert!(
        p["error"].as_str().unwrap().contains("connection failed"),
        "{p}"
    );
    let inc = &v["incidents"][0];
    assert_eq!(inc["id"], "abc123");
    // Cached text is untrusted: sanitized again on the way in.
    assert_eq!(inc["title"], "HighErrorRate: checkout 5xx above 5%");
    assert!(!out.stdout.contains(&0x1b));

    // The human table says the data is cached and how old it is.
    let out = sitrep(&cfg, &data, &["incidents"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("HighErrorRate"), "{text}");
    assert!(text.contains("cached data from"), "{text}");
}

#[test]
fn corrupt_or_foreign_cache_is_ignored_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path());
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("cache")).unwrap();
    for (content, why) in [
        (&CACHED[..CACHED.len() / 2], "corrupt"),
        (
            &CACHED.replace("\"kind\":\"alertmanager\"", "\"kind\":\"pagerduty\"")[..],
            "another provider",
        ),
    ] {
        std::fs::write(data.join("cache/am.json"), content).unwrap();
        let out = sitrep(&cfg, &data, &["incidents", "--json"]);
        // The one provider failed and its cache is not used: no data (5).
        assert_eq!(out.status.code(), Some(5));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            v["incidents"].as_array().unwrap().len(),
            0,
            "{why}: cache must not be trusted"
        );
        assert_eq!(v["providers"][0]["stale"], false);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("warning") && err.contains(why), "{why}: {err}");
    }
}

/// GitHub reads its cache beside its first requests (to know which
/// statuses it already has): with GitHub down, that cache is still shown,
/// stale; a corrupt one is warned about once, not once per read.
#[test]
fn a_provider_that_reads_its_cache_first_shows_it_when_down_and_warns_once() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[provider]]\nname = \"gh\"\nkind = \"github\"\nbase_url = \"http://127.0.0.1:{}\"\nrepos = [\"acme/checkout\"]\ntoken = {{ env = \"SITREP_TEST_GH_TOKEN\" }}\ntimeout = \"1s\"\n",
            closed_port()
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("cache")).unwrap();
    let cached = r#"{"format":1,"provider":"gh","kind":"github","fetched_at":"2026-11-22T01:00:00Z","data":{"deploys":[{"created_at":"2026-11-22T00:40:00Z","creator":"deploy-bot","current":true,"environment":"production","id":"101","provider":"gh","provider_state":"success","ref":"v1.4","service":"checkout","sha":"0123456789012345678901234567890123456789","state":"success","url":null}]}}"#;
    let token = [(
        "SITREP_TEST_GH_TOKEN",
        "ghp_notarealtoken0000000000000000000000",
    )];
    let run = || sitrep_env(&cfg, &data, &["deploys", "--json"], &token);
    std::fs::write(data.join("cache/gh.json"), cached).unwrap();
    let out = run();
    assert_eq!(out.status.code(), Some(1), "partial: GitHub failed");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["providers"][0]["stale"], true);
    assert_eq!(v["deploys"][0]["id"], "101");
    assert_eq!(v["deploys"][0]["ref"], "v1.4");

    std::fs::write(data.join("cache/gh.json"), &cached[..cached.len() / 2]).unwrap();
    let out = run();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("warning").count(), 1, "{err}");
    assert!(err.contains("corrupt"), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["deploys"].as_array().unwrap().len(), 0);
}

/// What sitrep creates is private to the user: the data directory and its
/// subdirectories 0700, the audit log, the log file and the cache 0600.
#[cfg(unix)]
#[test]
fn files_and_directories_sitrep_creates_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("new/data");
    let cfg = dir.path().join("none.toml");
    // A write in the demo: the audit log and the log file (-v).
    let out = Command::new(env!("CARGO_BIN_EXE_sitrep"))
        .args(["-v", "--demo", "--data-dir"])
        .arg(&data)
        .args([
            "flag",
            "off",
            "checkout-payments-v3",
            "--reason",
            "modes",
            "--yes",
            "--i-know-this-is-production",
        ])
        .env("SITREP_CONFIG", &cfg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mode = |p: &std::path::Path| {
        std::fs::metadata(p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&data), 0o700, "data dir");
    // The demo writes in its own data dir below the user's.
    let demo = data.join("demo");
    assert_eq!(mode(&demo), 0o700, "demo data dir");
    assert_eq!(mode(&demo.join("audit.jsonl")), 0o600, "audit log");
    assert_eq!(mode(&demo.join("sitrep.log")), 0o600, "log file");
}
