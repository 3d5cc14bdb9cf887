//! Terminal lifecycle (issue 9): SIGHUP, SIGINT, SIGTERM and a panic each
//! restore the terminal (alternate screen left, raw mode off, mouse
//! reporting off, cursor shown) and leave the audit log whole; a burst of
//! resizes, down to tiny sizes, does not crash the console.
//!
//! The panic is the debug-build-only hook `SITREP_TEST_PANIC=1` (first key
//! press panics with escape sequences in its message; see src/tui/mod.rs).

use crate::common::tmux::Tmux;
use crate::common::{self, Tool};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn sitrep(data: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sitrep"))
        .arg("--demo")
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .unwrap()
}

/// Two audit records (intent + result of a real demo kill switch).
fn seed_audit(data: &Path) -> Vec<u8> {
    let out = sitrep(
        data,
        &[
            "flag",
            "off",
            "checkout-writes",
            "--reason",
            "lifecycle",
            "--yes",
            "--i-know-this-is-production",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(demo_log(data)).unwrap()
}

/// The demo's own log, in its own data dir below `data`.
fn demo_log(data: &Path) -> std::path::PathBuf {
    data.join("demo").join("audit.jsonl")
}

fn assert_audit_whole(data: &Path, before: &[u8]) {
    let now = std::fs::read(demo_log(data)).unwrap();
    assert_eq!(now, before, "the audit log changed");
    let out = sitrep(data, &["audit", "verify"]);
    assert!(
        out.status.success(),
        "audit verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let torn = std::fs::read_dir(data.join("demo"))
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().contains("torn"));
    assert!(!torn, "a torn tail was set aside");
}

/// Start the demo console; after it exits the pane prints its exit code
/// and whether the tty is back in canonical mode.
fn start(dir: &Path, data: &Path, env: &[(&str, &str)]) -> Tmux {
    let bin = env!("CARGO_BIN_EXE_sitrep");
    let cmd = format!(
        "{bin} --demo --data-dir {}; echo SITREP_EXIT=$?; stty -a | grep -o -- '-\\?icanon' | head -1 | sed 's/^/TTY=/'; sleep 120",
        data.display()
    );
    let t = Tmux::start(100, 30, dir, env, &cmd);
    t.wait_for(&["SLO burn"]);
    assert_eq!(t.format("#{alternate_on}"), "1");
    t
}

fn assert_restored(t: &Tmux, exit: &str) {
    let s = t.wait_for(&["SITREP_EXIT=", "TTY="]);
    assert!(
        s.contains(&format!("SITREP_EXIT={exit}")),
        "exit code:\n{s}"
    );
    assert!(s.contains("TTY=icanon"), "raw mode left on:\n{s}");
    assert!(!s.contains("SLO burn"), "dashboard still on screen:\n{s}");
    assert_eq!(t.format("#{alternate_on}"), "0", "alternate screen left on");
    assert_eq!(
        t.format("#{mouse_any_flag}"),
        "0",
        "mouse reporting left on"
    );
    assert_eq!(
        t.format("#{mouse_standard_flag}"),
        "0",
        "mouse reporting left on"
    );
    assert_eq!(t.format("#{cursor_flag}"), "1", "cursor left hidden");
}

fn signal_case(sig: &str) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let audit = seed_audit(&data);
    let t = start(dir.path(), &data, &[]);
    let pid = t.program_pid();
    let st = Command::new("kill")
        .args([&format!("-{sig}"), &pid])
        .status()
        .unwrap();
    assert!(st.success());
    assert_restored(&t, "0");
    assert_audit_whole(&data, &audit);
}

#[test]
fn sighup_restores_the_terminal_and_keeps_the_audit_log_whole() {
    if !common::have(&[Tool::Tmux]) {
        return;
    }
    signal_case("HUP");
}

#[test]
fn sigint_restores_the_terminal_and_keeps_the_audit_log_whole() {
    if !common::have(&[Tool::Tmux]) {
        return;
    }
    signal_case("INT");
}

#[test]
fn sigterm_restores_the_terminal_and_keeps_the_audit_log_whole() {
    if !common::have(&[Tool::Tmux]) {
        return;
    }
    signal_case("TERM");
}

#[test]
fn a_panic_restores_the_terminal_and_prints_sanitized_text() {
    if !common::have(&[Tool::Tmux]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let audit = seed_audit(&data);
    let t = start(dir.path(), &data, &[("SITREP_TEST_PANIC", "1")]);
    let title_before = t.format("#{pane_title}");
    t.send(&["j"]);
    assert_restored(&t, "101");
    let s = t.capture();
    assert!(s.contains("sitrep crashed at"), "no crash message:\n{s}");
    assert!(s.contains("test panic requested"), "{s}");
    assert!(!s.contains("PWNED"), "escape payload shown raw:\n{s}");
    assert_eq!(t.format("#{pane_title}"), title_before, "title changed");
    assert_audit_whole(&data, &audit);
}

#[test]
fn a_burst_of_resizes_does_not_crash() {
    if !common::have(&[Tool::Tmux]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let t = start(dir.path(), &data, &[]);
    let sizes = [
        (80, 24),
        (20, 5),
        (200, 60),
        (1, 1),
        (133, 7),
        (9, 40),
        (100, 30),
        (2, 2),
        (160, 45),
    ];
    for i in 0..60 {
        let (w, h) = sizes[i % sizes.len()];
        t.tmux(&[
            "resize-window",
            "-t",
            "t",
            "-x",
            &w.to_string(),
            "-y",
            &h.to_string(),
        ]);
    }
    t.tmux(&["resize-window", "-t", "t", "-x", "100", "-y", "30"]);
    std::thread::sleep(Duration::from_millis(500));
    // Still alive and drawing at the final size: keys answer.
    t.send(&["3"]);
    t.wait_for(&["SLOs (5)"]);
    t.send(&["q"]);
    assert_restored(&t, "0");
}
