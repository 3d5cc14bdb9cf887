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
    let log = AuditLog::new(&p, super::Signer::ephemeral());
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
    let log = AuditLog::new(&p, super::Signer::ephemeral());
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
        AuditLog::new(&p, super::Signer::ephemeral()).append(&entry(9)),
        Err(AuditError::Broken(_))
    ));
}

#[test]
fn injected_failures_poison_and_leave_a_recoverable_tail() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("audit.jsonl");
    AuditLog::new(&p, super::Signer::ephemeral())
        .append(&entry(0))
        .unwrap();
    let log = AuditLog::new(&p, super::Signer::ephemeral()).with_faults(Faults {
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
    let a = AuditLog::new(&p, super::Signer::ephemeral())
        .append(&entry(4))
        .unwrap();
    let r = a.recovered.unwrap();
    assert!(r.bytes > 0);
    assert_eq!(a.record.seq, 3);
    assert_eq!(verify(&p).unwrap().records, 3);
    // A failed sync poisons too.
    let log = AuditLog::new(&p, super::Signer::ephemeral()).with_faults(Faults {
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
    AuditLog::new(&p, super::Signer::ephemeral())
        .append(&entry(0))
        .unwrap();
    let holder = OpenOptions::new().read(true).append(true).open(&p).unwrap();
    holder.lock().unwrap();
    let log =
        AuditLog::new(&p, super::Signer::ephemeral()).with_lock_timeout(Duration::from_millis(50));
    assert_eq!(log.append(&entry(1)).map(|_| ()), Err(AuditError::Busy));
    assert!(!log.is_poisoned());
    holder.unlock().unwrap();
    assert_eq!(log.append(&entry(1)).unwrap().record.seq, 2);
}

/// `count` records chained after `prev`, sealed in memory (no fsync per
/// record): the bytes and the new head.
static TEST_KEY: std::sync::LazyLock<super::AuditKey> = std::sync::LazyLock::new(|| {
    super::AuditKey::from_seed(&[7u8; 32]).unwrap_or_else(|e| panic!("{e}"))
});

fn sealed(first_seq: u64, count: u64, prev: &str) -> (Vec<u8>, String) {
    sealed_from(0, first_seq, count, prev)
}

/// [`sealed`], the entries numbered from `first_seq + base`.
fn sealed_from(base: u64, first_seq: u64, count: u64, prev: &str) -> (Vec<u8>, String) {
    let mut out = Vec::new();
    let mut prev = prev.to_string();
    for seq in first_seq..first_seq + count {
        let (rec, line) = entry(seq + base)
            .seal(seq, &prev, now_ts(), &TEST_KEY)
            .unwrap();
        out.extend_from_slice(&line);
        prev = rec.hash;
    }
    (out, prev)
}

fn append_bytes(p: &std::path::Path, bytes: &[u8]) {
    use std::io::Write;
    let mut f = OpenOptions::new().append(true).open(p).unwrap();
    f.write_all(bytes).unwrap();
}

#[test]
fn tail_of_a_large_log_matches_the_full_read() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("audit.jsonl");
    let (bytes, _) = sealed(1, 10_000, ZERO_HASH);
    std::fs::write(&p, &bytes).unwrap();
    let (all, bad) = read(&p).unwrap();
    assert_eq!((all.len(), bad), (10_000, 0));
    for n in [0, 1, 499, 500, 9_999, 10_000, 20_000] {
        let (got, bad) = read::tail(&p, n).unwrap();
        assert_eq!(got, all[all.len().saturating_sub(n)..], "n {n}");
        assert_eq!(bad, 0, "n {n}");
    }
    // Unparsable lines and a torn tail are counted as read counts them.
    append_bytes(&p, b"not a record\n{\"torn");
    let (all, all_bad) = read(&p).unwrap();
    assert_eq!(all_bad, 2);
    let (got, bad) = read::tail(&p, 500).unwrap();
    assert_eq!((got.as_slice(), bad), (&all[all.len() - 500..], 2));
    let (got, bad) = read::tail(&p, 20_000).unwrap();
    assert_eq!((got, bad), (all, all_bad));
}

#[test]
fn resume_verifies_only_what_was_appended() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("audit.jsonl");
    // A missing file and an empty one are empty, valid logs.
    let (v, c) = verify_from(&p, None, None).unwrap();
    assert_eq!((v.records, c.offset, c.records), (0, 0, 0));
    let log = AuditLog::new(&p, super::Signer::ephemeral());
    for i in 0..5 {
        log.append(&entry(i)).unwrap();
    }
    let (v0, c0) = verify_from(&p, None, None).unwrap();
    assert_eq!(v0, verify(&p).unwrap());
    assert_eq!(c0.offset, std::fs::metadata(&p).unwrap().len());
    assert_eq!((c0.records, c0.head.as_str()), (5, v0.head.as_str()));
    // Nothing new: the same answer from the anchor alone.
    assert_eq!(
        verify_from(&p, Some(&c0), None).unwrap(),
        (v0.clone(), c0.clone())
    );
    // Three appended records: the same head and count as a full verify.
    for i in 5..8 {
        log.append(&entry(i)).unwrap();
    }
    let (v1, c1) = verify_from(&p, Some(&c0), None).unwrap();
    assert_eq!(v1, verify(&p).unwrap());
    assert_eq!((v1.records, v1.last_seq), (8, 8));
    assert_eq!(c1.offset, std::fs::metadata(&p).unwrap().len());
    assert_eq!((c1.records, c1.head.as_str()), (8, v1.head.as_str()));
    // Only the lines after the cursor were read: a same-length edit of an
    // earlier record (before the anchor line) is what resume cannot see.
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, text.replacen("key-2", "key-9", 1)).unwrap();
    log.append(&entry(8)).unwrap();
    let (v2, c2) = verify_from(&p, Some(&c1), None).unwrap();
    assert_eq!((v2.records, c2.records), (9, 9));
    let VerifyError::Broken(b) = verify(&p).unwrap_err() else {
        panic!()
    };
    assert_eq!((b.line, b.kind), (3, BreakKind::Hash));
    // A full verify (no cursor) finds it, of course.
    assert_eq!(
        verify_from(&p, None, None).unwrap_err(),
        VerifyError::Broken(b)
    );
}

#[test]
fn resume_reports_breaks_as_a_full_verify_does() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("audit.jsonl");
    let (bytes, head) = sealed(1, 10, ZERO_HASH);
    std::fs::write(&p, &bytes).unwrap();
    let (_, c) = verify_from(&p, None, None).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let broken_at = |want_line: u64, want_kind: BreakKind| {
        let full = verify(&p).unwrap_err();
        let VerifyError::Broken(b) = &full else {
            panic!("{full}")
        };
        assert_eq!((b.line, b.kind), (want_line, want_kind));
        assert_eq!(verify_from(&p, Some(&c), None).unwrap_err(), full);
    };
    // A record before the cursor rewritten shorter: the file shrank.
    std::fs::write(&p, text.replacen("\"key-3\"", "\"k3\"", 1)).unwrap();
    assert!(std::fs::metadata(&p).unwrap().len() < c.offset);
    broken_at(3, BreakKind::Hash);
    // Rewritten longer and more appended: the anchor line moved.
    let (more, _) = sealed(11, 2, &head);
    let mut grown = text.replacen("\"key-3\"", "\"key-33\"", 1).into_bytes();
    grown.extend_from_slice(&more);
    std::fs::write(&p, &grown).unwrap();
    assert!(std::fs::metadata(&p).unwrap().len() > c.offset);
    broken_at(3, BreakKind::Hash);
    // The line right after the cursor does not chain.
    let mut bad_next = bytes.clone();
    bad_next.extend_from_slice(&sealed(11, 1, ZERO_HASH).0);
    std::fs::write(&p, &bad_next).unwrap();
    broken_at(11, BreakKind::Prev);
    // The last verified record changed in place (same length), with the
    // records after it chaining to the hash the cursor holds: the anchor
    // no longer verifies, so the whole log is checked.
    let mut anchor_edit = text.replacen("\"key-10\"", "\"key-99\"", 1).into_bytes();
    anchor_edit.extend_from_slice(&more);
    assert_eq!(anchor_edit.len(), bytes.len() + more.len());
    std::fs::write(&p, &anchor_edit).unwrap();
    broken_at(10, BreakKind::Hash);
    // A torn append.
    let mut torn = bytes.clone();
    torn.extend_from_slice(&more[..20]);
    std::fs::write(&p, &torn).unwrap();
    broken_at(11, BreakKind::Torn);
    // A different, valid log in its place (longer or shorter) verifies as
    // what it is, not as a continuation.
    for count in [4, 12] {
        let (other, other_head) = sealed_from(100, 1, count, ZERO_HASH);
        std::fs::write(&p, &other).unwrap();
        let (v, next) = verify_from(&p, Some(&c), None).unwrap();
        assert_eq!(v, verify(&p).unwrap());
        assert_eq!((v.records, v.head.as_str()), (count, other_head.as_str()));
        assert_eq!(next.offset, other.len() as u64);
    }
}

/// A huge unterminated last line (or one huge record) costs no more
/// memory than a chunk: the fragment is scanned and copied aside in
/// chunks, and a last record longer than a record can be is refused
/// without being read. Checked for behaviour here; the memory bound is by
/// construction (fixed buffers in `read_tail`, `move_aside`, the verifier).
#[test]
fn a_huge_torn_tail_is_moved_aside_and_a_huge_record_refused() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("audit.jsonl");
    let log = AuditLog::new(&p, super::Signer::ephemeral());
    log.append(&entry(0)).unwrap();
    // 3 MiB of garbage with no newline: much longer than a scan chunk.
    let junk = vec![b'x'; 3 * 1024 * 1024];
    std::fs::OpenOptions::new()
        .append(true)
        .open(&p)
        .unwrap()
        .write_all(&junk)
        .unwrap();
    let a = log.append(&entry(1)).unwrap();
    let r = a.recovered.expect("the torn tail is moved aside");
    assert_eq!(r.bytes, junk.len() as u64);
    assert_eq!(std::fs::metadata(&r.moved_to).unwrap().len(), r.bytes);
    assert_eq!(a.record.seq, 2);
    assert_eq!(verify(&p).unwrap().records, 2);
    // A whole last "record" of 17 MiB: refused unread, by the writer and
    // the verifier alike.
    let mut big = vec![b'y'; 17 * 1024 * 1024];
    big.push(b'\n');
    std::fs::OpenOptions::new()
        .append(true)
        .open(&p)
        .unwrap()
        .write_all(&big)
        .unwrap();
    let e = log.append(&entry(2)).unwrap_err();
    assert!(e.to_string().contains("longer than 16 MiB"), "{e}");
    match verify(&p).unwrap_err() {
        VerifyError::Broken(b) => {
            assert_eq!(b.line, 3);
            assert!(b.reason.contains("longer than 16 MiB"), "{}", b.reason);
        }
        other => panic!("{other:?}"),
    }
}

/// Lines are checked a block at a time on every core: whatever block a
/// break falls in (the first, a later one, the last line of a block, the
/// first of the next), the first broken line in file order is reported,
/// with the lines before it counted, as a line-by-line read would.
#[test]
fn a_break_in_any_block_is_reported_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("audit.jsonl");
    let (bytes, head) = sealed(1, 2_500, ZERO_HASH);
    std::fs::write(&p, &bytes).unwrap();
    let ok = verify(&p).unwrap();
    assert_eq!(
        (ok.records, ok.last_seq, ok.head.as_str()),
        (2_500, 2_500, head.as_str())
    );
    let lines: Vec<&[u8]> = bytes.split_inclusive(|b| *b == b'\n').collect();
    // Block edges: 1, 2, 4 … lines, then 1,024 at a time (1,023 and 2,047 begin blocks).
    for at in [0usize, 1, 2, 700, 1_022, 1_023, 2_046, 2_047, 2_499] {
        let mut changed = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            if i == at {
                // A changed reason: the line's own hash no longer matches.
                let t = String::from_utf8(l.to_vec()).unwrap();
                changed
                    .extend_from_slice(t.replacen("\"reason\":\"", "\"reason\":\"X", 1).as_bytes());
            } else {
                changed.extend_from_slice(l);
            }
        }
        // Two breaks: only the first is reported.
        let last = changed.len() - 10;
        changed[last] ^= 1;
        std::fs::write(&p, &changed).unwrap();
        match verify(&p) {
            Err(VerifyError::Broken(b)) => {
                assert_eq!(b.line, at as u64 + 1, "break at index {at}: {b:?}");
                assert_eq!(b.kind, BreakKind::Hash, "break at index {at}");
            }
            other => panic!("break at index {at} not found: {other:?}"),
        }
    }
    // A torn tail after whole blocks is reported after every line before it.
    let mut torn = bytes.clone();
    torn.extend_from_slice(b"{\"torn");
    std::fs::write(&p, &torn).unwrap();
    match verify(&p) {
        Err(VerifyError::Broken(b)) => assert_eq!((b.line, b.kind), (2_501, BreakKind::Torn)),
        other => panic!("torn tail not found: {other:?}"),
    }
}

/// A record given another record's signature and a recomputed hash (what
/// a forger without the key can do): the line is named, whichever core's
/// batch of signatures it falls in, and the batch's good lines are not.
#[test]
fn a_forged_signature_in_a_batch_is_named_at_its_line() {
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("audit.jsonl");
    let (bytes, _) = sealed(1, 2_500, ZERO_HASH);
    let lines: Vec<&[u8]> = bytes.split_inclusive(|b| *b == b'\n').collect();
    let parse = |l: &[u8]| serde_json::from_slice::<serde_json::Value>(l).unwrap();
    for at in [0usize, 3, 700, 1_500, 2_499] {
        let donor = parse(lines[if at == 0 { 1 } else { at - 1 }]);
        let mut forged = parse(lines[at]);
        forged["sig"] = donor["sig"].clone();
        let m = forged.as_object_mut().unwrap();
        m.remove("hash");
        let prev = m["prev"].as_str().unwrap().to_string();
        // Sorted keys, compact: canonical for these plain records.
        let body = serde_json::to_string(&forged).unwrap();
        let hash = hex::encode(Sha256::digest(format!("{prev}\n{body}").as_bytes()));
        forged["hash"] = hash.into();
        let mut changed = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            if i == at {
                changed.extend_from_slice(serde_json::to_string(&forged).unwrap().as_bytes());
                changed.push(b'\n');
            } else {
                changed.extend_from_slice(l);
            }
        }
        std::fs::write(&p, &changed).unwrap();
        match verify(&p) {
            Err(VerifyError::Broken(b)) => {
                assert_eq!(
                    (b.line, b.kind),
                    (at as u64 + 1, BreakKind::Signature),
                    "forged at index {at}: {b:?}"
                );
            }
            other => panic!("forgery at index {at} not found: {other:?}"),
        }
    }
}
