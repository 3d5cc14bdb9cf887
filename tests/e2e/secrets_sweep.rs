//! Secrets (SPEC §6, issue 9): one test runs every command — read commands,
//! write commands dry-run and live, `auth status`, `config check`,
//! `runbook`, `audit` — against real providers of every HTTP kind, with a
//! recognisable token for each in the environment, and scans stdout,
//! stderr, the log file (`-vv`), the audit log, the cache, every other file
//! in the data dir and the output of a panic for any of them.
//!
//! The fakes are hostile: all but one answer every request with an error
//! whose body echoes the request head back, `Authorization` header and
//! all, so an unscrubbed error excerpt would carry the token to the screen.

use crate::common::fault::{Fault, background};
use crate::common::tmux::Tmux;
use crate::common::{self, Tool};
use std::path::{Path, PathBuf};
use std::process::Command;

const MARK: &str = "SWEEPSECRET";

fn token(name: &str) -> String {
    format!("{MARK}-{name}-7f3a9c2e")
}

const KINDS: &[&str] = &[
    "alertmanager",
    "opsgenie",
    "sentry",
    "prometheus",
    "datadog",
    "github",
    "vercel",
    "launchdarkly",
    "unleash",
];

fn pd_body() -> String {
    let inc = serde_json::json!({
        "id": "PX1",
        "title": "checkout 5xx",
        "created_at": "2026-11-22T01:00:00Z",
        "status": "triggered",
        "urgency": "high",
        "service": {"id": "S1", "summary": "checkout"},
    });
    serde_json::json!({
        "incidents": [inc.clone()],
        "incident": inc,
        "more": false,
        "total": 1,
        "oncalls": [{"user": {"summary": "alice"}, "escalation_policy": {"summary": "web"}, "escalation_level": 1}],
    })
    .to_string()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn no_token_reaches_any_output_file_or_panic() {
    if !common::have(&[Tool::Tmux]) {
        return;
    }
    let mut rts = Vec::new();
    let (pd, rt) = background(Fault::ok(pd_body()));
    rts.push(rt);
    let (hook, rt) = background(Fault::ok("{}"));
    rts.push(rt);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut env: Vec<(String, String)> = vec![
        ("SWEEP_PD".into(), token("pd")),
        ("SWEEP_HOOK".into(), token("webhook")),
        ("SWEEP_DD_APP".into(), token("ddapp")),
    ];
    let mut cfg = format!(
        "[identity]\nname = \"sweep@example.com\"\n\n[audit]\nwebhook = {{ url = \"{}/hook\", secret = {{ env = \"SWEEP_HOOK\" }} }}\n\n[[provider]]\nname = \"pd\"\nkind = \"pagerduty\"\nbase_url = \"{}\"\ntoken = {{ env = \"SWEEP_PD\" }}\ntimeout = \"1s\"\nfrom = \"sweep@example.com\"\n\n",
        hook.url, pd.url
    );
    let mut echoes = Vec::new();
    for kind in KINDS {
        let status = match *kind {
            "github" => 403,
            "datadog" => 500,
            _ => 401,
        };
        let (srv, rt) = background(Fault::Echo(status));
        rts.push(rt);
        let var = format!("SWEEP_{}", kind.to_uppercase());
        env.push((var.clone(), token(kind)));
        let extra = match *kind {
            "sentry" => "organization = \"acme\"\n".to_string(),
            "datadog" => "app_key = { env = \"SWEEP_DD_APP\" }\n".into(),
            "github" => "repos = [\"acme/checkout\"]\nenvironments = [\"production\"]\n".into(),
            "vercel" => "project = \"web\"\n".into(),
            "launchdarkly" | "unleash" => {
                "project = \"default\"\nenvironment = \"production\"\n".into()
            }
            _ => String::new(),
        };
        let (tok, base) = if matches!(*kind, "alertmanager" | "prometheus") {
            // No token for these: a user and password in the URL instead
            // (sent as basic auth), which must never be printed either.
            (
                String::new(),
                srv.url
                    .replacen("http://", &format!("http://sweep:{}@", token(kind)), 1),
            )
        } else {
            (format!("token = {{ env = \"{var}\" }}\n"), srv.url.clone())
        };
        cfg.push_str(&format!(
            "[[provider]]\nname = \"{kind}\"\nkind = \"{kind}\"\nbase_url = \"{base}\"\ntimeout = \"1s\"\n{tok}{extra}\n"
        ));
        echoes.push(srv);
    }
    cfg.push_str("[[service]]\nname = \"checkout\"\ndeploys = { provider = \"github\", repo = \"acme/checkout\" }\n\n[[slo]]\nname = \"api\"\nprovider = \"prometheus\"\nobjective = 99.9\nwindow = \"30d\"\nerrors = 'sum(rate(e[{{.window}}]))'\ntotal = 'sum(rate(t[{{.window}}]))'\n");
    let cfg_path = dir.path().join("config.toml");
    std::fs::write(&cfg_path, &cfg).unwrap();

    let run = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_sitrep"));
        c.arg("-vv")
            .arg("--config")
            .arg(&cfg_path)
            .arg("--data-dir")
            .arg(&data)
            .args(args)
            .current_dir(dir.path())
            .env_remove("SITREP_LOG")
            .stdin(std::process::Stdio::null());
        for (k, v) in &env {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let write_cmds: Vec<Vec<&str>> = vec![
        vec!["incident", "ack", "PX1", "--provider", "pd"],
        vec!["incident", "resolve", "PX1", "--provider", "pd"],
        vec!["incident", "note", "PX1", "noted", "--provider", "pd"],
        vec!["incident", "ack", "X1", "--provider", "opsgenie"],
        vec!["incident", "resolve", "X1", "--provider", "sentry"],
        vec![
            "silence",
            "--matcher",
            "alertname=X",
            "--reason",
            "sweep",
            "--provider",
            "alertmanager",
        ],
        vec![
            "rollback",
            "checkout",
            "--env",
            "production",
            "--reason",
            "sweep",
            "--provider",
            "github",
            "--i-know-this-is-production",
        ],
        vec![
            "rollback",
            "web",
            "--env",
            "production",
            "--reason",
            "sweep",
            "--provider",
            "vercel",
            "--i-know-this-is-production",
        ],
        vec![
            "flag",
            "off",
            "checkout-writes",
            "--reason",
            "sweep",
            "--provider",
            "launchdarkly",
        ],
        vec![
            "flag",
            "on",
            "checkout-writes",
            "--reason",
            "sweep",
            "--provider",
            "unleash",
        ],
    ];
    let mut runs: Vec<Vec<&str>> = vec![
        vec!["status"],
        vec!["status", "--json"],
        vec!["incidents"],
        vec!["incidents", "--json", "--all"],
        vec!["oncall"],
        vec!["oncall", "--json"],
        vec!["slo"],
        vec!["slo", "--json"],
        vec!["deploys"],
        vec!["deploys", "--json"],
        vec!["flags"],
        vec!["flags", "--json"],
    ];
    for w in &write_cmds {
        for mode in [&["--dry-run"][..], &["--yes"][..]] {
            let mut a = w.clone();
            a.extend_from_slice(mode);
            runs.push(a);
        }
    }
    runs.extend([
        vec!["runbook", "list"],
        vec!["runbook", "list", "--json"],
        vec!["runbook", "show", "rollback"],
        vec!["audit"],
        vec!["audit", "--json"],
        vec!["audit", "verify"],
        vec!["auth", "status"],
        vec!["config", "check"],
        vec!["config", "path"],
    ]);
    // Every secret, also in the encoded forms an echo may carry it in
    // (the fakes echo `Authorization: Basic base64(user:password)`).
    let mut forms: Vec<String> = vec![MARK.to_string()];
    for (_, v) in &env {
        forms.extend(sitrep::secrets::secret_forms(v));
    }
    for kind in ["alertmanager", "prometheus"] {
        forms.extend(sitrep::secrets::secret_forms(&format!(
            "sweep:{}",
            token(kind)
        )));
    }
    let leaked = |text: &str| forms.iter().find(|f| text.contains(f.as_str())).cloned();
    let mut all = String::new();
    let mut leaks = Vec::new();
    for args in &runs {
        let out = run(args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if let Some(f) = leaked(&text) {
            leaks.push(format!(
                "`sitrep {}` printed a token ({f}):\n{text}",
                args.join(" ")
            ));
        }
        all.push_str(&text);
    }
    // The panic path, in a terminal, with the same tokens in the environment.
    let bin = env!("CARGO_BIN_EXE_sitrep");
    let cmd = format!(
        "{bin} -vv --config {} --data-dir {}; echo SITREP_EXIT=$?; sleep 60",
        cfg_path.display(),
        data.display()
    );
    let mut tenv: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    tenv.push(("SITREP_TEST_PANIC", "1"));
    let t = Tmux::start(120, 40, dir.path(), &tenv, &cmd);
    t.wait_for(&["sitrep"]);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    t.send(&["j"]);
    let screen = t.wait_for(&["SITREP_EXIT=101"]);
    assert!(screen.contains("sitrep crashed at"), "{screen}");
    if let Some(f) = leaked(&screen) {
        leaks.push(format!("the panic screen shows a token ({f}):\n{screen}"));
    }
    // Every file sitrep wrote.
    let written = files(&data);
    let names: Vec<String> = written
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for p in &written {
        let bytes = std::fs::read(p).unwrap();
        if let Some(f) = leaked(&String::from_utf8_lossy(&bytes)) {
            leaks.push(format!("{} contains a token ({f})", p.display()));
        }
    }
    assert!(leaks.is_empty(), "{}", leaks.join("\n\n"));

    // The sweep had teeth: the hostile echo reached the output (scrubbed),
    // tokens were loaded, logs, audit and cache were written.
    assert!(
        all.contains("you sent"),
        "no echoed request in any output:\n{all}"
    );
    assert!(
        all.contains("<redacted>"),
        "no scrubbed credential seen:\n{all}"
    );
    assert!(all.contains("token rejected (401)"), "{all}");
    // The URL's user and password went out as basic auth, and its echo
    // (base64) came back scrubbed.
    assert!(all.contains("Basic <redacted>"), "{all}");
    assert!(
        all.contains("SWEEP_PD") && all.contains("present"),
        "auth status:\n{all}"
    );
    let log = std::fs::read_to_string(data.join("sitrep.log")).unwrap();
    assert!(
        log.contains("DEBUG") || log.contains("WARN"),
        "log file empty:\n{log}"
    );
    assert!(names.iter().any(|n| n == "audit.jsonl"), "{names:?}");
    assert!(
        names
            .iter()
            .any(|n| n.contains("pd") && n.ends_with(".json")),
        "no cache file for pd: {names:?}"
    );
    let audit = std::fs::read_to_string(data.join("audit.jsonl")).unwrap();
    assert!(
        audit.contains("\"outcome\":\"dry-run\"") && audit.contains("\"outcome\":\"ok\""),
        "dry-run and live actions audited:\n{audit}"
    );
    drop(t);
    drop(echoes);
    drop(rts);
}
