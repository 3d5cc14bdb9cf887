//! A read command's answer is written to stdout as it is made (the JSON of
//! thousands of incidents is never held whole): it is whole and valid when
//! read to the end, and a reader that goes away early (`| head`) is no
//! error: the command ends as it would have, with nothing on stderr.

use std::io::Read;
use std::process::{Command, Stdio};

fn demo(args: &[&str], data: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sitrep"));
    c.arg("--demo")
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .stdin(Stdio::null());
    c
}

#[test]
fn a_json_answer_is_whole_and_a_reader_that_leaves_early_is_no_error() {
    let dir = tempfile::tempdir().unwrap();
    for cmd in ["incidents", "deploys", "flags", "slo", "oncall", "status"] {
        let out = demo(&[cmd, "--json"], dir.path()).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{cmd}");
        assert!(out.stdout.ends_with(b"}\n"), "{cmd}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(v["generated_at"].is_string(), "{cmd}: {v}");

        // The reader is gone before the first byte is written: every
        // write fails (EPIPE).
        let mut child = demo(&[cmd, "--json"], dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{cmd}: {err}");
        assert!(err.is_empty(), "{cmd}: {err}");
    }
}
