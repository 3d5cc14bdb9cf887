//! The audit entry the audit-chain tests write, shared with the writer
//! child (`examples/audit_child.rs`): every JSON escape class and
//! non-ASCII text, so both writers exercise canonical JSON the same way.

use sitrep::audit::{Entry, Outcome, Phase, RunbookRef};

pub fn entry(writer: &str, i: u64) -> Entry {
    Entry {
        action: "flag.off".into(),
        actor: format!("writer-{writer}@host"),
        detail: serde_json::json!({
            "i": i,
            "writer": writer,
            "text": "naïve café – 日本語 \"quoted\" back\\slash",
            "nested": {"z": [1, -2, null, true], "a": "x"},
        }),
        host: "host".into(),
        idempotency_key: Some(format!("{writer}-{i}")),
        incident: if i.is_multiple_of(3) {
            Some("Q1".into())
        } else {
            None
        },
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
        provider: Some("ld".into()),
        reason: "bad deploy: ünïcode ✓".into(),
        runbook: i.is_multiple_of(5).then(|| RunbookRef {
            id: "rollback".into(),
            step: 3,
        }),
        target: "checkout-payments-v3".into(),
    }
}
