//! `sitrep config check` checks what the config names without the
//! network: URL schemes, zero durations, flagd files, SLO files; missing
//! tokens are warnings, faults with `--strict`; no token value is echoed.

use std::process::Command;

fn check(dir: &std::path::Path, cfg: &str, strict: bool) -> (i32, String) {
    let path = dir.join("c.toml");
    std::fs::write(&path, cfg).unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_sitrep"));
    c.arg("--config")
        .arg(&path)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(["config", "check"])
        .env_remove("SITREP_CONFIG")
        .env_remove("CC_UNSET_TOKEN_VAR")
        .current_dir(dir);
    if strict {
        c.arg("--strict");
    }
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn config_check_finds_every_fault_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.flagd.yaml"),
        "flags:\n  a:\n    state: [ENABLED\n",
    )
    .unwrap();
    let cfg = r#"[[provider]]
name = "am"
kind = "alertmanager"
base_url = "alertmanager.internal:9093"
poll = "0s"

[[provider]]
name = "pd"
kind = "pagerduty"
token = { env = "CC_UNSET_TOKEN_VAR" }
from = "a@b.c"

[[provider]]
name = "flags"
kind = "flagd"
path = "bad.flagd.yaml"

[[provider]]
name = "prom"
kind = "prometheus"
base_url = "http://127.0.0.1:9"

[slo_files]
sloth = ["nothing/*.yaml"]
"#;
    let (code, out) = check(dir.path(), cfg, false);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("c.toml:4: provider am: base_url scheme"),
        "{out}"
    );
    assert!(out.contains("`poll` must be longer than 0s"), "{out}");
    assert!(
        out.contains("bad.flagd.yaml:4:1:") || out.contains("bad.flagd.yaml:3:"),
        "{out}"
    );
    assert!(out.contains("matches no file"), "{out}");
    assert!(
        out.contains("warning: ")
            && out.contains(
                "c.toml:8: provider pd: token: environment variable CC_UNSET_TOKEN_VAR is not set"
            ),
        "{out}"
    );
    assert!(out.contains("4 faults"), "{out}");
    // --strict: the missing token is a fault too.
    let (code, out) = check(dir.path(), cfg, true);
    assert_eq!(code, 2);
    assert!(out.contains("5 faults"), "{out}");
    // A clean config passes; its missing token is only a warning.
    let ok = "[[provider]]\nname = \"pd\"\nkind = \"pagerduty\"\ntoken = { env = \"CC_UNSET_TOKEN_VAR\" }\nfrom = \"a@b.c\"\n";
    let (code, out) = check(dir.path(), ok, false);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 warnings"), "{out}");
    let (code, _) = check(dir.path(), ok, true);
    assert_eq!(code, 2);
    // A token pasted into the file is refused without echoing it.
    let pasted =
        "[[provider]]\nname = \"pd\"\nkind = \"pagerduty\"\ntoken = \"u+SECRETVALUE123\"\n";
    let (code, out) = check(dir.path(), pasted, false);
    assert_eq!(code, 2);
    assert!(!out.contains("SECRETVALUE"), "{out}");
    assert!(out.contains("c.toml:4:"), "{out}");
}

#[test]
fn config_check_runs_runbook_check_over_the_runbook_dirs() {
    let dir = tempfile::tempdir().unwrap();
    let rb = dir.path().join("team-runbooks");
    std::fs::create_dir_all(&rb).unwrap();
    // A literal flag the config does not know (line 13), and a review
    // date long past (a warning here, line 7).
    std::fs::write(
        rb.join("ours.md"),
        "---\ntitle: Ours\nservices: [svc]\nseverity: [SEV2]\ntags: [t]\nowner: team\nlast_reviewed: 2020-01-01\nrto: 5m\nrpo: 0\n---\n## 1. a\n```sitrep\nflag off not-in-config --reason r\n```\n",
    )
    .unwrap();
    let cfg = "[runbooks]\ndirs = [\"team-runbooks\"]\n\n[[service]]\nname = \"svc\"\nkill_switch = \"svc-off\"\n";
    let (code, out) = check(dir.path(), cfg, false);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("ours.md:13: flag \"not-in-config\""), "{out}");
    assert!(out.contains("ours.md:7: last reviewed 2020-01-01"), "{out}");
}
