//! Audit log benchmarks (no external harness): `audit verify` over 100,000
//! records, and append latency with fdatasync.
//!
//! `cargo bench --bench audit` (release) or, for a quick look,
//! `cargo bench --bench audit --profile dev`. Prints one line per figure.

#[path = "common/log.rs"]
mod sample;

use sample::{build, build_signed, entry};
use sitrep::audit::{self, AuditLog};
use std::io::Write;
use std::time::{Duration, Instant};

/// Best of 3 `audit::verify` of the log at `p`, which must hold `n` records.
fn best_verify(p: &std::path::Path, n: u64) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let v = audit::verify(p).unwrap();
        best = best.min(t.elapsed());
        assert_eq!(v.records, n);
    }
    best
}

fn main() {
    // `--write PATH`: write the 100,000-record log, every record signed,
    // to PATH and its public key to PATH.pub, and exit (`benches/run`
    // times `sitrep audit verify --key PATH.pub` on it as a whole process).
    let args: Vec<String> = std::env::args().collect();
    if let Some(k) = args.iter().position(|a| a == "--write") {
        let p = args.get(k + 1).expect("--write PATH");
        let (key, _) = audit::AuditKey::generate().expect("a signing key");
        std::fs::write(p, build_signed(100_000, &key)).expect("write the log");
        std::fs::write(format!("{p}.pub"), key.public_line() + "\n").expect("write the key");
        return;
    }
    let dir = std::env::temp_dir().join(format!("sitrep-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let n = 100_000;
    let bytes = build(n);
    let p = dir.join("audit.jsonl");
    std::fs::File::create(&p)
        .unwrap()
        .write_all(&bytes)
        .unwrap();
    let best = best_verify(&p, n);
    println!(
        "audit verify: {n} records, {:.1} MB: {:.3} s (best of 3)",
        bytes.len() as f64 / 1e6,
        best.as_secs_f64()
    );
    // The same log signed record by record, as every installation writes
    // it: verify checks each Ed25519 signature too.
    let (key, _) = audit::AuditKey::generate().unwrap();
    let signed = build_signed(n, &key);
    let ps = dir.join("audit-signed.jsonl");
    std::fs::write(&ps, &signed).unwrap();
    let best = best_verify(&ps, n);
    println!(
        "audit verify, every record signed: {n} records, {:.1} MB: {:.3} s (best of 3)",
        signed.len() as f64 / 1e6,
        best.as_secs_f64()
    );
    // Append latency (open, lock, read tail, write, fdatasync) on the same file.
    let log = AuditLog::new(&p, sitrep::audit::Signer::ephemeral());
    let mut lat: Vec<Duration> = (0..200)
        .map(|i| {
            let t = Instant::now();
            log.append(&entry(i)).unwrap();
            t.elapsed()
        })
        .collect();
    lat.sort();
    println!(
        "audit append with fdatasync: p50 {:.2} ms, p99 {:.2} ms (200 appends)",
        lat[100].as_secs_f64() * 1e3,
        lat[197].as_secs_f64() * 1e3
    );
    let _ = std::fs::remove_dir_all(&dir);
}
