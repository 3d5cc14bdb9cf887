//! `sitrep status` never reads as "all clear" when it knows nothing: with
//! every provider failing it says NO DATA and exits 5; with one failing it
//! shows the rest, names the one that failed, and exits 1; errors are
//! printed once, on stderr; `--json` says `complete` and `failed`.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

const FLAGS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/flagd/checkout.flagd.json"
);

fn run(cfg: &Path, data: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sitrep"))
        .arg("--config")
        .arg(cfg)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("SITREP_STATUS_TEST_UNSET")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const PD: &str = "[[provider]]\nname = \"pd\"\nkind = \"pagerduty\"\ntoken = { env = \"SITREP_STATUS_TEST_UNSET\" }\n\n";
const AM: &str = "[[provider]]\nname = \"am\"\nkind = \"alertmanager\"\nbase_url = \"http://127.0.0.1:1\"\ntimeout = \"1s\"\n\n";

#[test]
fn no_provider_answering_is_no_data_not_all_clear() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!("{PD}{AM}[[provider]]\nname = \"flags\"\nkind = \"flagd\"\npath = \"/nonexistent/f.json\"\n"),
    )
    .unwrap();
    let data = dir.path().join("data");
    let (code, out, err) = run(&cfg, &data, &["status"]);
    assert_eq!(code, 5, "{out}{err}");
    assert!(
        out.starts_with("NO DATA: none of the 3 providers answered (pd, am, flags)"),
        "{out}"
    );
    assert!(
        !out.contains("SEV1 0") && !out.contains("OFF: none"),
        "{out}"
    );
    // Each cause once, on stderr.
    assert_eq!(
        err.matches("SITREP_STATUS_TEST_UNSET is not set").count(),
        1,
        "{err}"
    );
    assert!(!out.contains("SITREP_STATUS_TEST_UNSET"), "{out}");
    let (code, out, _) = run(&cfg, &data, &["status", "--json"]);
    assert_eq!(code, 5);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["complete"], false);
    assert_eq!(v["failed"], serde_json::json!(["pd", "am", "flags"]));
    let (code, out, _) = run(&cfg, &data, &["incidents"]);
    assert_eq!(code, 5);
    assert!(out.starts_with("NO DATA"), "{out}");
}

#[test]
fn one_provider_failing_is_partial_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!("{AM}[[provider]]\nname = \"flags\"\nkind = \"flagd\"\npath = {FLAGS:?}\n"),
    )
    .unwrap();
    let data = dir.path().join("data");
    let (code, out, err) = run(&cfg, &data, &["status"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("KILL SWITCHES OFF"), "{out}");
    assert!(out.contains("! am: failed, no data from it"), "{out}");
    assert!(
        !out.contains("Connection refused"),
        "the cause is on stderr only: {out}"
    );
    assert_eq!(err.matches("am: connection failed").count(), 1, "{err}");
    let (_, out, _) = run(&cfg, &data, &["status", "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["complete"], false);
    assert_eq!(v["failed"], serde_json::json!(["am"]));
    let (code, out, _) = run(&cfg, &data, &["incidents"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("no open incidents from the providers that answered"),
        "{out}"
    );

    // Everything answering: complete.
    std::fs::write(
        &cfg,
        format!("[[provider]]\nname = \"flags\"\nkind = \"flagd\"\npath = {FLAGS:?}\n"),
    )
    .unwrap();
    let (code, out, _) = run(&cfg, &data, &["status", "--json"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["complete"], true);
    assert_eq!(v["failed"], serde_json::json!([]));
}

/// Every id `incidents` prints can be pasted back: the table is not cut
/// when piped, and `provider/id` routes to that provider. An action the
/// owner cannot do says what to do instead.
#[test]
fn printed_ids_round_trip_and_impossible_actions_say_what_instead() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let none = dir.path().join("none.toml");
    let demo = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_sitrep"))
            .arg("--demo")
            .arg("--data-dir")
            .arg(&data)
            .args(args)
            .env("SITREP_CONFIG", &none)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (_, table, _) = demo(&["incidents"]);
    assert!(
        !table.contains('…'),
        "piped output is not truncated:\n{table}"
    );
    let id = table
        .split_whitespace()
        .find(|w| w.starts_with("pd/"))
        .unwrap_or_else(|| panic!("no pd/ id in\n{table}"))
        .to_string();
    let (code, out, err) = demo(&["incident", "ack", &id, "--reason", "paste", "--yes"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("acknowledged"), "{out}");
    // Recorded against the owner, with the bare id.
    let audit = std::fs::read_to_string(data.join("demo/audit.jsonl")).unwrap();
    let last: Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!(last["provider"], "pd");
    assert_eq!(last["target"], &id["pd/".len()..]);

    // A real Alertmanager cannot acknowledge: refused before planning,
    // with the alternative.
    let cfg = dir.path().join("am.toml");
    std::fs::write(&cfg, AM).unwrap();
    let (code, _, err) = run(
        &cfg,
        &data,
        &["incident", "ack", "am/4f1c2b", "--reason", "x", "--yes"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("silence the alert"), "{err}");
    assert!(!err.contains("404"), "{err}");
}

/// With neither `$USER` nor `$LOGNAME` (cron, containers, `sudo -i`), the
/// actor recorded is the login name from the password database, not
/// "unknown".
#[test]
fn the_actor_falls_back_to_the_login_name() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = Command::new(env!("CARGO_BIN_EXE_sitrep"))
        .args(["--demo", "--data-dir"])
        .arg(&data)
        .args([
            "incident",
            "ack",
            "pd/Q1CHK5XZ01",
            "--reason",
            "cron",
            "--yes",
        ])
        .env("SITREP_CONFIG", dir.path().join("none.toml"))
        .env_remove("USER")
        .env_remove("LOGNAME")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let audit = std::fs::read_to_string(data.join("demo/audit.jsonl")).unwrap();
    let last: Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    let actor = last["actor"].as_str().unwrap();
    assert!(!actor.starts_with("unknown@"), "{actor}");
    assert!(actor.contains('@'), "{actor}");
}

/// `status` lists the five most urgent open incidents and counts the
/// rest, with the state words of the console (ACKNOWLEDGED, FAILURE).
#[test]
fn status_says_how_many_more_and_uses_the_consoles_state_words() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sitrep"))
        .args(["--demo", "--data-dir"])
        .arg(dir.path())
        .arg("status")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let open: Vec<&str> = text
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("  SEV"))
        .collect();
    assert_eq!(open.len(), 5, "{text}");
    assert!(text.contains("  +2 more (sitrep incidents)"), "{text}");
    assert!(text.contains("ACKNOWLEDGED"), "{text}");
    assert!(text.contains("(newest v5.2.0 FAILURE)"), "{text}");
}

/// `--version` names the commit and its date.
#[test]
fn version_names_the_commit_and_its_date() {
    let out = Command::new(env!("CARGO_BIN_EXE_sitrep"))
        .arg("--version")
        .output()
        .unwrap();
    let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let inner = v
        .strip_prefix(&format!("sitrep {} (", env!("CARGO_PKG_VERSION")))
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{v}"));
    let (commit, date) = inner.split_once(' ').unwrap();
    let hash = commit.strip_suffix("-dirty").unwrap_or(commit);
    assert!(
        hash == "unknown" || (hash.len() >= 7 && hash.chars().all(|c| c.is_ascii_hexdigit())),
        "{v}"
    );
    assert!(
        date == "unknown"
            || (date.len() == 10 && chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok()),
        "{v}"
    );
}

/// `--help` of every write command describes every argument and option,
/// grouped: what it acts on (Target), why (Audit), how it is confirmed,
/// and the global options last.
#[test]
fn write_commands_describe_every_option_in_groups() {
    for cmd in [
        &["rollback"][..],
        &["silence"],
        &["incident", "ack"],
        &["incident", "resolve"],
        &["incident", "note"],
        &["flag", "off"],
        &["flag", "on"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_sitrep"))
            .args(cmd)
            .arg("--help")
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{cmd:?}: {help}");
        for heading in ["Target:", "Audit:", "Confirmation:", "Global options:"] {
            assert!(help.contains(heading), "{cmd:?} has no {heading}\n{help}");
        }
        assert!(
            help.find("Target:") < help.find("Confirmation:")
                && help.find("Confirmation:") < help.find("Global options:"),
            "{cmd:?}: groups out of order\n{help}"
        );
        // Every argument and option line says what it is for.
        for line in help.lines() {
            let l = line.trim_start();
            let is_arg = l.starts_with('-') || (l.starts_with('<') && line.starts_with("  "));
            if !is_arg {
                continue;
            }
            let described = l
                .split_once("  ")
                .is_some_and(|(_, rest)| !rest.trim().is_empty());
            assert!(described, "{cmd:?}: no description for {l:?}\n{help}");
        }
    }
}
