//! Audit log benchmarks (no external harness): `audit verify` over 100,000
//! records, and append latency with fdatasync.
//!
//! `cargo bench --bench audit` (release) or, for a quick look,
//! `cargo bench --bench audit --profile dev`. Prints one line per figure.

use sitrep::audit::{self, AuditLog, Entry, Outcome, Phase};
use std::io::Write;
use std::time::{Duration, Instant};

fn entry(i: u64) -> Entry {
    Entry {
        action: if i.is_multiple_of(2) {
            "rollback"
        } else {
            "flag.off"
        }
        .into(),
        actor: "alice@example.com".into(),
        detail: serde_json::json!({
            "summary": "roll back checkout/production to v2.13.2 (4e1d09c)",
            "requests": [{"method": "POST", "url": "https://api.github.com/repos/acme/checkout/deployments",
                          "body": {"ref": "4e1d09c3aa87b210", "environment": "production"}}],
            "i": i,
        }),
        host: "laptop".into(),
        idempotency_key: Some(format!("6fbc9a37-15f2-4e75-84e2-{i:012}")),
        incident: Some("Q1CHK5XZ01".into()),
        outcome: if i.is_multiple_of(2) {
            Outcome::Pending
        } else {
            Outcome::Ok
        },
        phase: if i.is_multiple_of(2) {
            Phase::Intent
        } else {
            Phase::Result
        },
        provider: Some("gh".into()),
        reason: "bad deploy".into(),
        runbook: None,
        target: "checkout/production".into(),
    }
}

/// Build a valid log of `n` records without fsync per record (the chain is
/// what matters for verify): seal via a real writer on tmpfs-speed I/O would
/// take n fsyncs, so lines are produced by appending to one log once and
/// re-chaining in memory.
fn build(n: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(n as usize * 450);
    let mut prev = audit::ZERO_HASH.to_string();
    for i in 0..n {
        let e = entry(i);
        let mut v = serde_json::json!({
            "action": e.action, "actor": e.actor, "detail": e.detail, "host": e.host,
            "idempotency_key": e.idempotency_key, "incident": e.incident,
            "outcome": e.outcome, "phase": e.phase, "prev": prev, "provider": e.provider,
            "reason": e.reason, "runbook": null, "seq": i + 1, "target": e.target,
            "ts": "2026-11-22T03:04:05.123Z",
        });
        let body = audit::canonical(&v).unwrap();
        let hash = audit::chain_hash(&prev, &body);
        v["hash"] = serde_json::Value::String(hash.clone());
        out.extend_from_slice(&audit::canonical(&v).unwrap());
        out.push(b'\n');
        prev = hash;
    }
    out
}

/// [`build`], each record signed as the writer signs it (`key_id`, and
/// `sig` over `prev + "\n" + canonical(record without hash and sig)`; the
/// hash covers the signature): the log every installation writes.
fn build_signed(n: u64, key: &audit::AuditKey) -> Vec<u8> {
    let mut out = Vec::with_capacity(n as usize * 650);
    let mut prev = audit::ZERO_HASH.to_string();
    for i in 0..n {
        let e = entry(i);
        let mut v = serde_json::json!({
            "action": e.action, "actor": e.actor, "detail": e.detail, "host": e.host,
            "idempotency_key": e.idempotency_key, "incident": e.incident,
            "key_id": key.id(), "outcome": e.outcome, "phase": e.phase, "prev": prev,
            "provider": e.provider, "reason": e.reason, "runbook": null, "seq": i + 1,
            "target": e.target, "ts": "2026-11-22T03:04:05.123Z",
        });
        let mut signed = format!("{prev}\n").into_bytes();
        signed.extend_from_slice(&audit::canonical(&v).unwrap());
        v["sig"] = serde_json::Value::String(key.sign(&signed));
        let hash = audit::chain_hash(&prev, &audit::canonical(&v).unwrap());
        v["hash"] = serde_json::Value::String(hash.clone());
        out.extend_from_slice(&audit::canonical(&v).unwrap());
        out.push(b'\n');
        prev = hash;
    }
    out
}

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
