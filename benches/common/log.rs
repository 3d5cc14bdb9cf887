//! Audit logs for the benchmarks, built in memory as the writer would
//! write them (no fsync per record): `benches/audit.rs` verifies them as
//! files, `benches/team.rs` pushes one to the team's shared log.

use sitrep::audit::{self, Entry, Outcome, Phase};

pub fn entry(i: u64) -> Entry {
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
pub fn build(n: u64) -> Vec<u8> {
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
pub fn build_signed(n: u64, key: &audit::AuditKey) -> Vec<u8> {
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
