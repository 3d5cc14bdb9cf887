//! Test helper, not an example to read: the writer child process of the
//! audit-chain tests (`tests/e2e/audit_chain.rs`). Appends
//! `SITREP_AUDIT_CHILD_N` records (default: until killed) to the log at
//! `SITREP_AUDIT_CHILD_LOG` and prints `ack SEQ HASH` after each append
//! returned (i.e. after fdatasync).
//!
//! An example rather than a `[[bin]]`: `cargo install` installs every
//! `[[bin]]` but never examples, while `cargo test` builds examples, and
//! the test builds it itself when run alone (`cargo test --test e2e`).

#[path = "../tests/common/audit_entry.rs"]
mod audit_entry;

use sitrep::audit::AuditLog;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

fn main() {
    let Ok(path) = std::env::var("SITREP_AUDIT_CHILD_LOG") else {
        eprintln!("audit_child: SITREP_AUDIT_CHILD_LOG is not set (a helper of tests/e2e)");
        std::process::exit(2);
    };
    let n: u64 = std::env::var("SITREP_AUDIT_CHILD_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(u64::MAX);
    let id = std::env::var("SITREP_AUDIT_CHILD_ID").unwrap_or_default();
    let log = AuditLog::new(PathBuf::from(path), sitrep::audit::Signer::ephemeral())
        .with_lock_timeout(Duration::from_secs(30));
    let mut out = std::io::stdout().lock();
    for i in 0..n {
        let a = log.append(&audit_entry::entry(&id, i)).unwrap();
        writeln!(out, "ack {} {}", a.record.seq, a.record.hash).unwrap();
        out.flush().unwrap();
    }
}
