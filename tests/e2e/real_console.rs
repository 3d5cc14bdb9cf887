//! The console on a real team's providers, not the demo: a real
//! Alertmanager with a firing alert, a PagerDuty account (the vendor
//! simulator) reached with a good token and with a revoked one, a GitHub
//! whose host does not resolve, an Opsgenie whose token variable is unset
//! and a flagd file that is not there. Driven through tmux as a responder
//! would: the causes on screen, an action the alert's provider cannot do
//! refused with the alternative, the silence confirmed at 80x24 and sent,
//! and an id read off the screen pasted back into the CLI.

use crate::common::tmux::Tmux;
use crate::common::{AmServer, Tool, have, init};
use sitrep::sim::pagerduty::{Incident, PagerDuty};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const PD_TOKEN: &str = "e2e-pd-token";

fn write_config(dir: &Path, pd_url: &str, am_url: &str) -> std::path::PathBuf {
    let cfg = dir.join("config.toml");
    let flags = dir.join("no-such-dir/flags.json");
    std::fs::write(
        &cfg,
        format!(
            r#"
[identity]
name = "dana@example.com"

[[provider]]
name = "pd"
kind = "pagerduty"
base_url = "{pd_url}"
allow_insecure_http = true
token = {{ env = "SITREP_E2E_PD_TOKEN" }}
from = "dana@example.com"

[[provider]]
name = "pdold"
kind = "pagerduty"
base_url = "{pd_url}"
allow_insecure_http = true
token = {{ env = "SITREP_E2E_REVOKED_TOKEN" }}

[[provider]]
name = "am"
kind = "alertmanager"
base_url = "{am_url}"
allow_insecure_http = true

[[provider]]
name = "gh"
kind = "github"
base_url = "http://sitrep-e2e-no-such-host.invalid"
allow_insecure_http = true
repos = ["acme/api"]
environments = ["production"]
token = {{ env = "SITREP_E2E_GH_TOKEN" }}

[[provider]]
name = "og"
kind = "opsgenie"
token = {{ env = "SITREP_E2E_SURELY_UNSET_TOKEN" }}

[[provider]]
name = "flags"
kind = "flagd"
path = "{}"
"#,
            flags.display()
        ),
    )
    .unwrap();
    cfg
}

/// Wait (bounded) until `f` holds.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < Duration::from_secs(20), "never: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_console_on_real_providers_says_why_refuses_confirms_and_its_ids_paste_back() {
    if !have(&[Tool::Tmux, Tool::Alertmanager]) {
        return;
    }
    init();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let am = rt.block_on(AmServer::start());
    rt.block_on(am.post_alerts(serde_json::json!([{
        "labels": {
            "alertname": "HighErrorRate",
            "service": "api",
            "severity": "critical",
            "instance": "api-1:8080"
        },
        "annotations": { "summary": "api 5xx above 5% for 10m" }
    }])));
    let pd = Arc::new(PagerDuty::new(PD_TOKEN));
    pd.add_incident(&Incident {
        id: "PE2E0001".into(),
        title: "Checkout p99 latency above 2s".into(),
        status: "triggered".into(),
        priority: Some("P3".into()),
        urgency: "low".into(),
        service_id: "PSRV1".into(),
        service_name: "Checkout".into(),
        created_at: chrono::Utc::now() - chrono::Duration::minutes(5),
        assignee: None,
    });
    let sims = sitrep::sim::Background::start(vec![pd.clone()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &sims.url(0).unwrap(), &am.url);
    let data = dir.path().join("data");
    let env = [
        ("SITREP_E2E_PD_TOKEN", PD_TOKEN),
        ("SITREP_E2E_REVOKED_TOKEN", "revoked-token"),
        ("SITREP_E2E_GH_TOKEN", "gh-token"),
        ("XDG_CONFIG_HOME", dir.path().to_str().unwrap()),
        ("SITREP_CONFIG", ""),
        ("SITREP_DATA_DIR", ""),
    ];
    let bin = env!("CARGO_BIN_EXE_sitrep");
    let cmd = format!(
        "{bin} --config {} --data-dir {}; echo SITREP_EXIT=$?; sleep 60",
        cfg.display(),
        data.display()
    );
    let t = Tmux::start(80, 24, dir.path(), &env, &cmd);

    // The header says which failed; one key shows why, each in words.
    t.wait_for(&["am✓", "pd✓", "pdold✗", "gh✗", "og✗", "flags✗"]);
    t.send(&["9"]);
    let s = t.wait_for(&["Providers (6, 4 failed)"]);
    for cause in [
        "token rejected (401)",
        "cannot resolve host sitrep-e2e-no-such-host.invalid",
        "SITREP_E2E_SURELY_UNSET_TOKEN is not set",
        "no such file",
    ] {
        assert!(s.contains(cause), "{cause} not on screen:\n{s}");
    }
    // The panes say whose data is missing, not "no deploys".
    t.send(&["1"]);
    // (Messages take rows while shown; the pane's line is there once they go.)
    let s = t.wait_for(&["HighErrorRate", "Checkout p99", "gh failed"]);
    assert!(!s.contains("no deploys"), "{s}");

    // The incidents view: select the alert. `a` is refused with the
    // alternative; nothing is planned.
    t.send(&["2"]);
    // The alert is the SEV1, listed first and selected.
    let s = t.wait_for(&["Incidents (2)", "id        am/"]);
    assert!(s.contains("HighErrorRate"), "{s}");
    // Its details offer only what Alertmanager can do.
    assert!(s.contains("s silence") && !s.contains("a ack"), "{s}");
    t.send(&["a"]);
    let s = t.wait_for(&["cannot be acknowledged", "silence"]);
    assert!(!s.contains("Confirm"), "{s}");

    // `s` silences it: matchers as offered, a reason, and the confirm
    // dialog at 80x24 with its controls on screen and the real request.
    t.send(&["s"]);
    t.wait_for(&["alertname="]);
    t.send(&["Enter"]);
    // Feasibility first: what the silence will match, before the reason
    // (checked in the background: wait for its answer, not the dialog).
    let s = t.wait_for(&["Reason", "silence alerts matching"]);
    assert!(s.contains("✓ silence alerts matching"), "{s}");
    t.type_text("api 5xx under investigation");
    t.send(&["Enter"]);
    let s = t.wait_for(&["Confirm silence.create", "y/Enter run", "n/Esc cancel"]);
    assert!(s.contains("/api/v2/silences"), "{s}");
    assert!(s.contains("HighErrorRate"), "{s}");
    t.send(&["Tab"]);
    t.wait_for(&["y/Enter run"]);
    t.send(&["y"]);
    let active = || -> Vec<serde_json::Value> {
        let all = rt.block_on(am.get_json("/api/v2/silences"));
        all.as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["status"]["state"] == "active")
            .cloned()
            .collect()
    };
    eventually("Alertmanager has the silence", || !active().is_empty());
    let active = active();
    assert_eq!(active.len(), 1, "{active:?}");
    assert_eq!(active[0]["comment"], "api 5xx under investigation");
    assert_eq!(active[0]["createdBy"], "dana@example.com");
    // The console refreshes after the action: the alert reads SILENCED.
    eventually("the console shows the silence", || {
        t.capture().contains("SILENCED")
    });

    // The PagerDuty incident's id as the details show it, pasted back
    // into the CLI: it reaches the incident's own provider.
    t.send(&["j"]);
    let s = t.wait_for(&["id        pd/"]);
    let id = s
        .lines()
        .find_map(|l| {
            let at = l.find("id        pd/")?;
            l[at + "id        ".len()..]
                .split(|c: char| c.is_whitespace() || c == '│')
                .next()
                .map(str::to_string)
        })
        .unwrap();
    assert_eq!(id, "pd/PE2E0001");
    let out = Command::new(bin)
        .args(["--config"])
        .arg(&cfg)
        .arg("--data-dir")
        .arg(&data)
        .args(["incident", "ack", &id, "--reason", "pasted", "--yes"])
        .env("SITREP_E2E_PD_TOKEN", PD_TOKEN)
        .env("XDG_CONFIG_HOME", dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(pd.status("PE2E0001").as_deref(), Some("acknowledged"));
    // The console shows it after its refresh (r).
    t.send(&["r"]);
    eventually("the console shows the ack", || {
        t.capture().contains("ACKNOWLEDGED")
    });
    t.send(&["q"]);
    t.wait_for(&["SITREP_EXIT=0"]);
}
