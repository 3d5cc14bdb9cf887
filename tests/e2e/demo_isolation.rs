//! `--demo` keeps to its own data dir: a demo session (ack, silence,
//! rollback, kill switch) leaves the user's data dir and config dir
//! byte-for-byte as they were, its own log verifies and marks every record
//! `demo: true`, nothing of it shows in `audit`, `timeline` or `handoff`
//! without `--demo`, and the directory of its flag file is gone when it ends.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

struct Home {
    _dir: tempfile::TempDir,
    /// The temp dir the child processes use (the demo's flag file).
    tmp: PathBuf,
    xdg: PathBuf,
    data: PathBuf,
    config: PathBuf,
}

impl Home {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_sitrep"))
            .env("XDG_CONFIG_HOME", &self.xdg)
            .env(
                "SITREP_AUDIT_SEED",
                "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=",
            )
            .env_remove("SITREP_READ_ONLY")
            .env("TMPDIR", &self.tmp)
            .arg("--config")
            .arg(&self.config)
            .arg("--data-dir")
            .arg(&self.data)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Every file below `root` (but not below `skip`), with its bytes.
fn tree(root: &Path, skip: Option<&Path>) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if Some(p.as_path()) == skip {
                continue;
            }
            if p.is_dir() {
                out.insert(p.clone(), Vec::new());
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn a_demo_session_leaves_the_users_data_untouched_and_its_own_log_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let flags = dir.path().join("flags.json");
    std::fs::write(
        &flags,
        r#"{"flags":{"ops-writes":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"on"}}}"#,
    )
    .unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[identity]\nname = \"alice@example.com\"\n\n[audit]\nsigning_key = {{ env = \"SITREP_AUDIT_SEED\" }}\n\n[[provider]]\nname = \"ff\"\nkind = \"flagd\"\npath = {:?}\n",
            flags.display().to_string()
        ),
    )
    .unwrap();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let home = Home {
        tmp,
        xdg: dir.path().join("xdg"),
        data: dir.path().join("data"),
        config,
        _dir: dir,
    };
    // The user's own history: one real action.
    let out = home.run(&["flag", "off", "ops-writes", "--reason", "real", "--yes"]);
    assert!(out.status.success(), "{}", text(&out));
    let data_before = tree(&home.data, None);
    let xdg_before = tree(&home.xdg, None);
    let flags_before = std::fs::read(&flags).unwrap();
    assert!(data_before.keys().any(|p| p.ends_with("audit.jsonl")));

    // The demo session.
    for args in [
        &["incident", "ack", "Q1CHK5XZ01", "--yes"][..],
        &[
            "silence",
            "--matcher",
            "alertname=DiskWillFillIn4Hours",
            "--duration",
            "2h",
            "--reason",
            "cleanup",
            "--yes",
        ],
        &[
            "rollback",
            "checkout",
            "--env",
            "production",
            "--reason",
            "bad deploy",
            "--yes",
            "--i-know-this-is-production",
        ],
        &[
            "flag",
            "off",
            "checkout-payments-v3",
            "--reason",
            "kill",
            "--yes",
            "--i-know-this-is-production",
        ],
    ] {
        let mut a = vec!["--demo"];
        a.extend_from_slice(args);
        let out = home.run(&a);
        assert!(out.status.success(), "{a:?}: {}", text(&out));
    }

    // The user's data dir (all but the demo's own), config dir and flag
    // file: byte-for-byte as before.
    let demo = home.data.join("demo");
    assert_eq!(tree(&home.data, Some(&demo)), data_before);
    assert_eq!(tree(&home.xdg, None), xdg_before);
    assert_eq!(std::fs::read(&flags).unwrap(), flags_before);

    // Each demo process removed its flag file's directory when it ended.
    let left: Vec<_> = std::fs::read_dir(&home.tmp).unwrap().flatten().collect();
    assert!(left.is_empty(), "{left:?}");

    // The demo's log: four actions, intent + result each, all marked.
    let log = std::fs::read_to_string(demo.join("audit.jsonl")).unwrap();
    let recs: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs.len(), 8, "{log}");
    assert!(recs.iter().all(|r| r["demo"] == true), "{log}");
    let out = home.run(&["--demo", "audit", "verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("ok, 8 records"), "{}", text(&out));
    // The user's log has no demo field and still verifies.
    let user_log = std::fs::read_to_string(home.data.join("audit.jsonl")).unwrap();
    assert!(!user_log.contains("\"demo\""), "{user_log}");
    let out = home.run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // Without --demo, nothing of the demo is reported...
    for args in [
        &["audit", "--json"][..],
        &["timeline", "--json"],
        &["handoff"],
    ] {
        let out = home.run(args);
        let t = text(&out);
        for demo_word in ["Q1CHK5XZ01", "checkout-payments-v3", "rolled back checkout"] {
            assert!(!t.contains(demo_word), "{args:?} shows {demo_word}: {t}");
        }
    }
    // ...and with it, the demo's actions are.
    let out = home.run(&["--demo", "audit", "--json"]);
    let t = text(&out);
    assert!(
        t.contains("Q1CHK5XZ01") && t.contains("checkout-payments-v3"),
        "{t}"
    );
    assert!(!t.contains("ops-writes"), "{t}");
}
