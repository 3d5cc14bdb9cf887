//! Tests that go through the writer, the verifier and the reader together.

use super::*;
use std::fs::OpenOptions;
use std::time::Duration;

fn entry(i: u64) -> Entry {
    Entry {
        action: "flag.off".into(),
        actor: "alice@example.com".into(),
        detail: serde_json::json!({"n": i, "ratio": 0.5, "note": "é \u{1b}[2J ok"}),
        host: "laptop".into(),
        idempotency_key: Some(format!("key-{i}")),
        incident: None,
        outcome: Outcome::Ok,
        phase: Phase::Result,
        provider: Some("ld".into()),
        reason: "bad deploy\n\u{202e}x".into(),
        runbook: Some(RunbookRef {
            id: "rollback".into(),
            step: 3,
        }),
        target: "checkout".into(),
    }
}

#[test]
fn records_are_sanitized_and_chain() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a").join("audit.jsonl");
    let log = AuditLog::new(&p);
    let a = log.append(&entry(1)).unwrap();
    let b = log.append(&entry(2)).unwrap();
    assert_eq!(a.record.prev, ZERO_HASH);
    assert_eq!(a.record.seq, 1);
    assert_eq!(b.record.prev, a.record.hash);
    assert_eq!(b.record.seq, 2);
    assert_eq!(a.record.detail["ratio"], "0.5");
    assert!(!a.line.contains('\u{1b}'));
    assert!(!a.line.contains('\u{202e}'));
    assert!(a.record.reason.contains("bad deploy"));
    assert_eq!(a.record.ts.len(), 24);
    assert!(a.record.ts.ends_with('Z'));
    // The line starts with the sorted keys and the hash is over the rest.
    assert!(a.line.starts_with("{\"action\":\"flag.off\",\"actor\":"));
    let v = verify(&p).unwrap();
    assert_eq!(
        (v.records, v.last_seq, v.head.clone()),
        (2, 2, b.record.hash.clone())
    );
    let (recs, bad) = read(&p).unwrap();
    assert_eq!((recs.len(), bad), (2, 0));
    assert_eq!(recs[1], b.record);
    // An intent without a result is unresolved until its result lands.
    let mut i = entry(3);
    i.phase = Phase::Intent;
    i.idempotency_key = Some("k-open".into());
    log.append(&i).unwrap();
    let (recs, _) = read(&p).unwrap();
    let open: Vec<u64> = unresolved(&recs).iter().map(|r| r.seq).collect();
    assert_eq!(open, vec![3]);
    i.phase = Phase::Result;
    log.append(&i).unwrap();
    let (recs, _) = read(&p).unwrap();
    assert!(unresolved(&recs).is_empty());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn verify_names_the_changed_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("audit.jsonl");
    let log = AuditLog::new(&p);
    for i in 0..5 {
        log.append(&entry(i)).unwrap();
    }
    let text = std::fs::read_to_string(&p).unwrap();
    let changed = text.replacen("key-2", "key-9", 1);
    std::fs::write(&p, &changed).unwrap();
    let VerifyError::Broken(b) = verify(&p).unwrap_err() else {
        panic!()
    };
    assert_eq!((b.line, b.kind), (3, BreakKind::Hash));
    // Removing a line breaks the chain at the next one.
    let mut lines: Vec<&str> = text.lines().collect();
    lines.remove(1);
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    let VerifyError::Broken(b) = verify(&p).unwrap_err() else {
        panic!()
    };
    assert_eq!((b.line, b.kind), (2, BreakKind::Prev));
    // A damaged last record is not silently repaired by the writer.
    let mut t = text.clone();
    t.truncate(t.len() - 3);
    t.push_str("}\n");
    std::fs::write(&p, &t).unwrap();
    assert!(matches!(
        AuditLog::new(&p).append(&entry(9)),
        Err(AuditError::Broken(_))
    ));
}

#[test]
fn injected_failures_poison_and_leave_a_recoverable_tail() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("audit.jsonl");
    AuditLog::new(&p).append(&entry(0)).unwrap();
    let log = AuditLog::new(&p).with_faults(Faults {
        fail_write_at: Some(1),
        fail_sync_at: None,
    });
    log.append(&entry(1)).unwrap();
    assert!(matches!(log.append(&entry(2)), Err(AuditError::Write(_))));
    assert!(log.is_poisoned());
    assert!(matches!(log.append(&entry(3)), Err(AuditError::Poisoned)));
    // Half a record is on disk; a fresh writer moves it aside.
    assert!(matches!(
        verify(&p),
        Err(VerifyError::Broken(Broken {
            kind: BreakKind::Torn,
            line: 3,
            ..
        }))
    ));
    let a = AuditLog::new(&p).append(&entry(4)).unwrap();
    let r = a.recovered.unwrap();
    assert!(r.bytes > 0);
    assert_eq!(a.record.seq, 3);
    assert_eq!(verify(&p).unwrap().records, 3);
    // A failed sync poisons too.
    let log = AuditLog::new(&p).with_faults(Faults {
        fail_write_at: None,
        fail_sync_at: Some(0),
    });
    assert!(matches!(log.append(&entry(5)), Err(AuditError::Write(_))));
    assert!(log.is_poisoned());
}

#[test]
fn busy_lock_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("audit.jsonl");
    AuditLog::new(&p).append(&entry(0)).unwrap();
    let holder = OpenOptions::new().read(true).append(true).open(&p).unwrap();
    holder.lock().unwrap();
    let log = AuditLog::new(&p).with_lock_timeout(Duration::from_millis(50));
    assert_eq!(log.append(&entry(1)).map(|_| ()), Err(AuditError::Busy));
    assert!(!log.is_poisoned());
    holder.unlock().unwrap();
    assert_eq!(log.append(&entry(1)).unwrap().record.seq, 2);
}
