//! Escape injection end to end (RELIABILITY §3.4 T3, SPEC §8): the real
//! binary in tmux over hostile provider data (a PagerDuty fake answering
//! every path with titles, services and names full of OSC 0/2 title sets,
//! OSC 52 clipboard writes, `ESC[2J`, cursor moves, a fake confirmation
//! prompt, C1 controls, DEL, bidi overrides and zero-width characters) and
//! a hostile runbook in `./runbooks`. The terminal's title, paste buffers,
//! alternate screen and screen content are checked, with a control run
//! proving the same checks catch the raw payload. The CLI outputs
//! (`--json`, tables, `runbook show`) are scanned byte by byte.

use crate::common::fault::{Fault, background};
use crate::common::tmux::{Tmux, foreign_sequences};
use crate::common::{self, Tool};
use std::path::Path;
use std::process::Command;

/// Every payload class of RELIABILITY §3.1, between visible words.
fn payload() -> String {
    [
        "db-primary-down",
        "\u{1b}]0;PWNED-OSC0\u{7}",
        "\u{1b}]2;PWNED-OSC2\u{1b}\\",
        "\u{1b}]52;c;ZWNobyBwd25lZA==\u{7}",
        "\u{1b}[2J\u{1b}[H",
        "\u{1b}[10;10H",
        "\u{1b}[?1049l\u{1b}[?25h\u{1b}[?1000l\u{1b}[?1003l",
        "Type 'prod-db' to confirm:",
        "\u{9b}31m",
        "\u{9d}2;PWNED-C1\u{9c}",
        "c1\u{85}x\u{8d}y\u{84}z",
        "\u{90}dcs-PWNED\u{9c}\u{98}sos-PWNED\u{9c}\u{9e}pm-PWNED\u{9c}\u{9f}apc-PWNED\u{9c}",
        "\u{1b}P1$rPWNED\u{1b}\\\u{1b}_apc-PWNED\u{1b}\\",
        "del\u{7f}",
        "bidi\u{202e}lirpa\u{202c}\u{2066}iso\u{2069}\u{202a}\u{202b}\u{202d}\u{2067}\u{2068}",
        "zero\u{200b}width\u{200c}\u{200d}\u{feff}\u{2060}",
        "\u{1b}c\u{1b}[6n",
        "tail-marker",
    ]
    .join(" ")
}

fn pd_body() -> String {
    let p = payload();
    serde_json::json!({
        "incidents": [{
            "id": "PHOSTILE",
            "title": p,
            "created_at": "2026-11-22T01:00:00Z",
            "status": "triggered",
            "urgency": "high",
            "html_url": "https://example.com/incidents/PHOSTILE",
            "service": {"id": "S1", "summary": format!("svc {p}")},
            "assignments": [{"assignee": {"summary": format!("\u{1b}[2J\u{1b}[1;1HType 'prod-db' to confirm: {p}")}}],
        }],
        "more": false,
        "total": 1,
        "oncalls": [{
            "user": {"summary": format!("oncall-person {p}")},
            "escalation_policy": {"summary": format!("policy {p}")},
            "escalation_level": 1,
            "end": "2099-01-01T00:00:00Z",
        }],
    })
    .to_string()
}

/// A runbook with raw escapes in the markdown and YAML-escaped ones in the front matter.
fn hostile_runbook() -> String {
    let p = payload();
    format!(
        "---\nid: evil\ntitle: \"Evil \\e]0;PWNED-RB\\a runbook \\u202e \\x9b31m\"\nservices: [checkout]\ntags: [\"t\\e[2J\"]\nlast_reviewed: 2026-11-01\n---\n## 1. Step {p}\n\n- [ ] check {p}\n\nText \u{1b}]52;c;cHduZWQ=\u{7} and \u{1b}[2J more.\n\n```sh\necho hi \u{1b}[31m red {p}\n```\n\n## 2. Second \u{9b}2J step\n\nDone.\n"
    )
}

fn setup(dir: &Path, url: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("runbooks")).unwrap();
    std::fs::write(dir.join("runbooks/evil.md"), hostile_runbook()).unwrap();
    let cfg = dir.join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[provider]]\nname = \"pd\"\nkind = \"pagerduty\"\nbase_url = \"{url}\"\ntoken = {{ env = \"SITREP_E2E_PD\" }}\ntimeout = \"2s\"\npoll = \"1h\"\n"
        ),
    )
    .unwrap();
    cfg
}

/// The checks a terminal must pass; collected, not asserted one by one.
fn terminal_problems(t: &Tmux, title_before: &str, where_: &str) -> Vec<String> {
    let mut p = Vec::new();
    let screen = t.capture_e();
    for b in foreign_sequences(&screen) {
        p.push(format!("{where_}: {b} on screen"));
    }
    if screen.contains("PWNED") {
        p.push(format!("{where_}: an escape payload is visible as text"));
    }
    let title = t.format("#{pane_title}");
    if title != title_before {
        p.push(format!("{where_}: pane title changed to {title:?}"));
    }
    let bufs = t.buffers();
    if !bufs.trim().is_empty() {
        p.push(format!("{where_}: a paste buffer appeared: {bufs}"));
    }
    if t.format("#{alternate_on}") != "1" {
        p.push(format!("{where_}: the alternate screen was left"));
    }
    // The console hides the cursor and reports the mouse; data must not
    // change either.
    if t.format("#{cursor_flag}") != "0" {
        p.push(format!("{where_}: the cursor was shown"));
    }
    if t.format("#{mouse_any_flag}") != "1" {
        p.push(format!("{where_}: mouse reporting was changed"));
    }
    p
}

#[test]
fn the_checks_catch_a_raw_payload() {
    if !common::have(&[Tool::Tmux]) {
        return;
    }
    // Control run: the same payload printed raw does change the title and
    // the clipboard, so the assertions below have teeth.
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw.txt");
    std::fs::write(&raw, payload()).unwrap();
    let t = Tmux::start(100, 30, dir.path(), &[], "sleep 60");
    let before = t.format("#{pane_title}");
    t.tmux(&[
        "respawn-pane",
        "-k",
        "-t",
        "t",
        &format!("cat {}; sleep 60", raw.display()),
    ]);
    let start = std::time::Instant::now();
    loop {
        let title = t.format("#{pane_title}");
        if title != before && !t.buffers().trim().is_empty() {
            assert!(title.contains("PWNED"), "{title}");
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "raw payload did not change title/clipboard: title {title:?}, buffers {:?}",
            t.buffers()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn hostile_provider_data_and_runbook_stay_inert_in_the_tui() {
    if !common::have(&[Tool::Tmux]) {
        return;
    }
    let (server, _rt) = background(Fault::ok(pd_body()));
    let dir = tempfile::tempdir().unwrap();
    let cfg = setup(dir.path(), &server.url);
    let bin = env!("CARGO_BIN_EXE_sitrep");
    let cmd = format!(
        "{bin} --config {} --data-dir {}; echo SITREP_EXIT=$?; sleep 120",
        cfg.display(),
        dir.path().join("data").display()
    );
    let t = Tmux::start(
        160,
        45,
        dir.path(),
        &[("SITREP_E2E_PD", "pd-e2e-token-123")],
        &cmd,
    );
    let title_before = t.format("#{pane_title}");
    let mut problems = Vec::new();

    // Dashboard with the hostile incident, on-call and service.
    let s = t.wait_for(&["db-primary-down"]);
    assert!(s.contains("oncall-person"), "on-call not shown:\n{s}");
    assert!(server.hits() >= 2, "both PagerDuty endpoints were read");
    problems.extend(terminal_problems(&t, &title_before, "dashboard"));
    // The header is still on the first line: nothing cleared or moved it.
    let first = s.lines().next().unwrap_or_default();
    assert!(
        !first.contains("Type 'prod-db'"),
        "a fake prompt took the first line:\n{s}"
    );

    // Incident details: the whole title, with placeholders shown visibly.
    // The Incidents view shows the selected incident's details beside the
    // list; Enter would toggle them off (the test used to press it, and
    // passed only when the screen was read before the key was handled).
    t.send(&["2"]);
    t.wait_for(&["PHOSTILE"]);
    let s = t.wait_for(&["tail-marker"]);
    for visible in [
        "db-primary-down",
        "Type 'prod-db' to confirm:",
        "tail-marker",
        "\\u{202e}",
        "\\u{200b}",
        "\\x7f",
    ] {
        if !s.contains(visible) {
            problems.push(format!("details: {visible:?} not shown"));
        }
    }
    problems.extend(terminal_problems(&t, &title_before, "details"));

    // The hostile runbook: list + preview, then walk mode.
    t.send(&["Escape"]);
    std::thread::sleep(std::time::Duration::from_millis(400));
    t.send(&["6"]);
    t.send(&["/"]);
    t.type_text("evil");
    t.send(&["Enter"]);
    t.wait_for(&["Evil"]);
    problems.extend(terminal_problems(&t, &title_before, "runbook preview"));
    std::thread::sleep(std::time::Duration::from_millis(300));
    t.send(&["Enter"]);
    t.wait_for(&["Step 1/2"]);
    problems.extend(terminal_problems(&t, &title_before, "runbook walk, step 1"));
    t.send(&["l"]);
    t.wait_for(&["Step 2/2"]);
    problems.extend(terminal_problems(&t, &title_before, "runbook walk"));

    // Esc then q at once would read as Alt-q: let the Esc land first.
    t.send(&["Escape"]);
    std::thread::sleep(std::time::Duration::from_millis(400));
    t.send(&["Escape"]);
    std::thread::sleep(std::time::Duration::from_millis(400));
    t.send(&["q"]);
    let end = t.wait_for(&["SITREP_EXIT="]);
    assert!(end.contains("SITREP_EXIT=0"), "{end}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Raw bytes a terminal would act on: C0 other than `\n`/`\t`, DEL, C1
/// (as UTF-8 code points), bidi and invisible format characters.
fn raw_problems(label: &str, bytes: &[u8]) -> Vec<String> {
    let mut p = Vec::new();
    if let Some(i) = bytes
        .iter()
        .position(|&b| (b < 0x20 && b != b'\n' && b != b'\t') || b == 0x7f)
    {
        p.push(format!("{label}: control byte 0x{:02x} at {i}", bytes[i]));
    }
    let text = String::from_utf8_lossy(bytes);
    for c in text.chars() {
        if matches!(c, '\u{80}'..='\u{9f}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}' | '\u{2066}'..='\u{2069}' | '\u{061c}' | '\u{feff}')
        {
            p.push(format!("{label}: U+{:04X} in output", c as u32));
            break;
        }
    }
    if text.contains("PWNED") {
        p.push(format!("{label}: an escape payload survived as text"));
    }
    p
}

#[test]
fn no_control_byte_reaches_stdout_in_json_tables_or_runbook_show() {
    let (server, _rt) = background(Fault::ok(pd_body()));
    let dir = tempfile::tempdir().unwrap();
    let cfg = setup(dir.path(), &server.url);
    let data = dir.path().join("data");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_sitrep"))
            .arg("--config")
            .arg(&cfg)
            .arg("--data-dir")
            .arg(&data)
            .args(args)
            .current_dir(dir.path())
            .env("SITREP_E2E_PD", "pd-e2e-token-123")
            .env("COLUMNS", "400")
            .output()
            .unwrap()
    };
    let mut problems = Vec::new();
    for args in [
        &["incidents", "--json"][..],
        &["incidents"],
        &["oncall", "--json"],
        &["oncall"],
        &["status", "--json"],
        &["status"],
        &["runbook", "list"],
        &["runbook", "list", "--json"],
        &["runbook", "show", "evil"],
    ] {
        let out = run(args);
        let label = args.join(" ");
        if out.stdout.is_empty() {
            problems.push(format!(
                "{label}: no output; stderr {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        problems.extend(raw_problems(&format!("{label} (stdout)"), &out.stdout));
        problems.extend(raw_problems(&format!("{label} (stderr)"), &out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        let wants: &[&str] = match args[0] {
            "incidents" | "status" => &["db-primary-down"],
            "oncall" => &["oncall-person"],
            _ if args[1] == "show" => &["Step", "Second", "echo hi"],
            _ => &["evil"],
        };
        for w in wants {
            if !text.contains(w) {
                problems.push(format!("{label}: visible text {w:?} lost:\n{text}"));
            }
        }
    }
    // JSON stays valid JSON with the sanitized text.
    let out = run(&["incidents", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let title = v["incidents"][0]["title"].as_str().unwrap();
    assert!(
        title.starts_with("db-primary-down") && title.contains("tail-marker"),
        "{title}"
    );
    assert!(title.contains("\\u{202e}"), "bidi shown visibly: {title}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
