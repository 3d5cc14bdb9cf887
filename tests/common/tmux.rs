//! The real binary in a real terminal: a private tmux server per test
//! (its own socket, no user config), with helpers to read what the
//! terminal ended up with (screen, title, paste buffers, modes).

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tmux {
    pub socket: String,
    pub session: String,
}

static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Tmux {
    /// Start `cmd` (a shell command line) in a `w`×`h` pane, in `cwd`, with
    /// `env` added. The tmux config sets `set-clipboard on`, so an OSC 52
    /// reaching the terminal would create a paste buffer.
    pub fn start(w: u16, h: u16, cwd: &Path, env: &[(&str, &str)], cmd: &str) -> Tmux {
        let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let socket = format!("sitrep-t-{}-{n}", std::process::id());
        let conf = cwd.join(".tmux-test.conf");
        std::fs::write(
            &conf,
            "set -g set-clipboard on\nset -g allow-rename on\nset -g history-limit 100\n",
        )
        .unwrap();
        let mut c = Command::new("tmux");
        c.args(["-L", &socket, "-f"])
            .arg(&conf)
            .args(["new-session", "-d", "-s", "t"])
            .args(["-x", &w.to_string(), "-y", &h.to_string(), "-c"])
            .arg(cwd)
            .arg(cmd)
            .env("TERM", "xterm-256color")
            .env_remove("TMUX");
        for (k, v) in env {
            c.env(k, v);
        }
        let st = c
            .status()
            .expect("tmux must be installed (scripts/test installs it)");
        assert!(st.success());
        Tmux {
            socket,
            session: "t".into(),
        }
    }

    pub fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The visible screen as text.
    pub fn capture(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", &self.session])
    }

    /// The visible screen with the attributes tmux keeps (`-e`: SGR only
    /// for text it drew), as raw text.
    pub fn capture_e(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-e", "-t", &self.session])
    }

    pub fn format(&self, f: &str) -> String {
        self.tmux(&["display-message", "-p", "-t", &self.session, f])
            .trim_end_matches('\n')
            .to_string()
    }

    pub fn send(&self, keys: &[&str]) {
        let mut a = vec!["send-keys", "-t", &self.session];
        a.extend_from_slice(keys);
        self.tmux(&a);
    }

    /// Literal text (no key-name lookup).
    pub fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-l", "-t", &self.session, text]);
    }

    pub fn buffers(&self) -> String {
        self.tmux(&["list-buffers"])
    }

    /// Wait (bounded) until the screen contains every needle.
    pub fn wait_for(&self, needles: &[&str]) -> String {
        let start = Instant::now();
        loop {
            let s = self.capture();
            if needles.iter().all(|n| s.contains(n)) {
                return s;
            }
            if start.elapsed() > Duration::from_secs(25) {
                panic!("screen never showed {needles:?}:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The pid of the first child of the pane's shell (the program).
    pub fn program_pid(&self) -> String {
        let shell = self.format("#{pane_pid}");
        let start = Instant::now();
        loop {
            let kids = Command::new("pgrep")
                .args(["-P", shell.trim()])
                .output()
                .unwrap();
            if let Some(p) = String::from_utf8_lossy(&kids.stdout).lines().next() {
                return p.trim().to_string();
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "no program under the pane"
            );
            std::thread::sleep(Duration::from_millis(50));
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

/// Every escape sequence in `s` that is not SGR (`ESC [ … m`), and every
/// control, C1, bidi or invisible format character left on screen.
pub fn foreign_sequences(s: &str) -> Vec<String> {
    let mut bad = Vec::new();
    let cs: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        if c == '\u{1b}' {
            if cs.get(i + 1) == Some(&'[') {
                let mut j = i + 2;
                while j < cs.len() && (cs[j].is_ascii_digit() || cs[j] == ';' || cs[j] == ':') {
                    j += 1;
                }
                if cs.get(j) == Some(&'m') {
                    i = j + 1;
                    continue;
                }
            }
            bad.push(format!(
                "ESC sequence {:?}",
                cs[i..(i + 12).min(cs.len())].iter().collect::<String>()
            ));
        } else if (c.is_control() && c != '\n')
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}' | '\u{2066}'..='\u{2069}' | '\u{061c}' | '\u{feff}')
        {
            bad.push(format!("character U+{:04X}", c as u32));
        }
        i += 1;
    }
    bad
}
