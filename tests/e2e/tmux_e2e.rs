//! The real binary in a real terminal (tmux): the demo renders all four
//! panels, `?` shows help, `q` exits 0 and the terminal is restored.

use crate::common::{self, Tool};
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
    session: String,
}

impl Tmux {
    fn start(w: u16, h: u16, args: &str, data_dir: &std::path::Path) -> Tmux {
        let socket = format!("sitrep-e2e-{}-{w}x{h}", std::process::id());
        let session = "e2e".to_string();
        let bin = env!("CARGO_BIN_EXE_sitrep");
        let cmd = format!(
            "{bin} {args} --data-dir {}; echo SITREP_EXIT=$?; sleep 120",
            data_dir.display()
        );
        let st = Command::new("tmux")
            .args(["-L", &socket, "new-session", "-d", "-s", &session])
            .args(["-x", &w.to_string(), "-y", &h.to_string()])
            .arg(cmd)
            .env("TERM", "xterm-256color")
            .status()
            .expect("tmux must be installed (scripts/test installs it)");
        assert!(st.success());
        Tmux { socket, session }
    }

    fn capture(&self) -> String {
        let out = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "capture-pane",
                "-p",
                "-t",
                &self.session,
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn send(&self, keys: &str) {
        Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", &self.session, keys])
            .status()
            .unwrap();
    }

    /// Wait (bounded) until the screen contains every needle.
    fn wait_for(&self, needles: &[&str]) -> String {
        let start = Instant::now();
        loop {
            let s = self.capture();
            if needles.iter().all(|n| s.contains(n)) {
                return s;
            }
            if start.elapsed() > Duration::from_secs(20) {
                panic!("screen never showed {needles:?}:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

fn run_demo(w: u16, h: u16) {
    let dir = tempfile::tempdir().unwrap();
    let t = Tmux::start(w, h, "--demo", dir.path());
    // The SLO row arrives with its provider's first poll, after the frame.
    let screen = t.wait_for(&[
        "Incidents",
        "SLO burn",
        "Deploys",
        "OFF = feature off",
        "SEV1",
        "checkout-availability",
    ]);
    assert!(screen.contains("DEMO"));
    t.send("?");
    t.wait_for(&["Help", "kill switch", "log file"]);
    t.send("q");
    t.wait_for(&["SLO burn"]);
    t.send("3");
    t.wait_for(&["SLOs (5)", "FIRING", "FROZEN  ", "rollback allowed"]);
    t.send("q");
    let s = t.wait_for(&["SITREP_EXIT=0"]);
    // Restored: the alternate screen is gone, the dashboard is not on screen.
    assert!(!s.contains("SLO burn"), "terminal not restored:\n{s}");
}

#[test]
fn demo_at_80x24() {
    if !common::have(&[Tool::Tmux]) {
        return;
    }
    run_demo(80, 24);
}

#[test]
fn demo_at_160x45() {
    if !common::have(&[Tool::Tmux]) {
        return;
    }
    run_demo(160, 45);
}

#[test]
fn tiny_terminal_shows_a_notice_and_quits() {
    if !common::have(&[Tool::Tmux]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let t = Tmux::start(20, 5, "--demo", dir.path());
    t.wait_for(&["terminal too"]);
    t.send("q");
    t.wait_for(&["SITREP_EXIT=0"]);
}

#[test]
fn sigterm_restores_the_terminal() {
    if !common::have(&[Tool::Tmux]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let t = Tmux::start(100, 30, "--demo", dir.path());
    t.wait_for(&["SLO burn"]);
    let out = Command::new("tmux")
        .args([
            "-L",
            &t.socket,
            "list-panes",
            "-t",
            &t.session,
            "-F",
            "#{pane_pid}",
        ])
        .output()
        .unwrap();
    let shell: i32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    // The pane runs `sh -c "sitrep ...; echo ..."`: signal its child.
    let kids = Command::new("pgrep")
        .args(["-P", &shell.to_string()])
        .output()
        .unwrap();
    let pid = String::from_utf8_lossy(&kids.stdout)
        .lines()
        .next()
        .unwrap()
        .trim()
        .to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let s = t.wait_for(&["SITREP_EXIT=0"]);
    assert!(!s.contains("SLO burn"), "terminal not restored:\n{s}");
}
