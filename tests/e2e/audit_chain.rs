//! The audit log under stress: an independent verifier (tests/verify_audit.py,
//! written from SPEC §6 without the crate's code) agrees with ours; two
//! concurrent writer processes; a SIGKILL campaign; torn tails at every byte
//! offset; a byte-mutation sweep; injected write/fsync failures.
//!
//! Writer children run `examples/audit_child.rs` (see `child_exe`).

use crate::common::audit_entry::entry;
use crate::common::{self, Tool};
use rand::{Rng, SeedableRng};
use sitrep::audit::{self, AuditLog, BreakKind, Faults, Phase, VerifyError};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

fn python_verify(path: &Path) -> (bool, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/verify_audit.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(path)
        .output()
        .expect("python3 is needed for the independent verifier");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
    )
}

fn write_log(path: &Path, n: u64) -> Vec<audit::Record> {
    let log = AuditLog::new(path, sitrep::audit::Signer::ephemeral());
    (0..n)
        .map(|i| log.append(&entry("w", i)).unwrap().record)
        .collect()
}

/// The writer child: the `audit_child` example, built by this test with the
/// cargo that built it, into the same target directory and profile (a
/// no-op when `cargo test` already built the examples, and never stale when
/// only this test binary was built).
fn child_exe() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        // This binary is <target-dir>/<profile>/deps/e2e-HASH.
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().and_then(Path::parent).unwrap();
        let profile = profile_dir.file_name().unwrap().to_str().unwrap();
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "--quiet", "--example", "audit_child"])
            .args(["--message-format", "json"])
            .arg("--manifest-path")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .arg("--target-dir")
            .arg(profile_dir.parent().unwrap());
        match profile {
            "debug" => {}
            "release" => {
                cmd.arg("--release");
            }
            other => {
                cmd.args(["--profile", other]);
            }
        }
        let out = cmd.stderr(Stdio::inherit()).output().unwrap();
        assert!(out.status.success(), "building examples/audit_child failed");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "audit_child")
            .and_then(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo named the audit_child executable")
    })
}

struct Writer {
    child: std::process::Child,
    reader: std::thread::JoinHandle<()>,
}

fn spawn_writer(
    log: &Path,
    id: &str,
    n: Option<u64>,
    acks: Arc<Mutex<Vec<(u64, String)>>>,
) -> Writer {
    let mut cmd = Command::new(child_exe());
    cmd.env("SITREP_AUDIT_CHILD_LOG", log)
        .env("SITREP_AUDIT_CHILD_ID", id)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(n) = n {
        cmd.env("SITREP_AUDIT_CHILD_N", n.to_string());
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        let mut line = String::new();
        loop {
            line.clear();
            match r.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    // Only whole lines are acknowledgements.
                    if let Some(rest) = line.strip_suffix('\n').and_then(|l| l.strip_prefix("ack "))
                        && let Some((seq, hash)) = rest.split_once(' ')
                    {
                        acks.lock()
                            .unwrap()
                            .push((seq.parse().unwrap(), hash.to_string()));
                    }
                }
            }
        }
    });
    Writer { child, reader }
}

/// Every acknowledged record is in the file at its seq with its hash.
fn check_acks(path: &Path, acks: &[(u64, String)]) -> usize {
    let (recs, bad) = audit::read(path).unwrap();
    assert_eq!(bad, 0);
    let by_seq: BTreeMap<u64, &str> = recs.iter().map(|r| (r.seq, r.hash.as_str())).collect();
    for (seq, hash) in acks {
        assert_eq!(
            by_seq.get(seq).copied(),
            Some(hash.as_str()),
            "acknowledged record seq {seq} lost or changed"
        );
    }
    recs.len()
}

#[test]
fn independent_verifier_agrees_on_ascii_and_non_ascii() {
    if !common::have(&[Tool::Python3]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("audit.jsonl");
    let recs = write_log(&p, 20);
    // Control characters that survive sanitizing as escapes, DEL, and
    // every JSON escape class, straight through the writer.
    let log = AuditLog::new(&p, sitrep::audit::Signer::ephemeral());
    let mut e = entry("x", 99);
    e.detail = serde_json::json!({"s": "tab\there\u{7f} \u{1} \u{2028} \u{10ffff} /"});
    log.append(&e).unwrap();
    let (ok, out) = python_verify(&p);
    assert!(ok, "python verifier: {out}");
    let ours = audit::verify(&p).unwrap();
    assert_eq!(out, format!("ok {} {}", ours.records, ours.head));
    assert_eq!(ours.records, 21);
    assert_eq!(recs[19].seq, 20);
    // And it catches a change too.
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, text.replacen("café", "cafe", 1)).unwrap();
    let (ok, out) = python_verify(&p);
    assert!(!ok);
    assert!(out.starts_with("broken 1 "), "{out}");
}

#[test]
fn two_concurrent_writer_processes_1000_appends_each() {
    if !common::have(&[Tool::Python3]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("audit.jsonl");
    let acks = Arc::new(Mutex::new(Vec::new()));
    let ws: Vec<Writer> = ["a", "b"]
        .iter()
        .map(|id| spawn_writer(&p, id, Some(1000), acks.clone()))
        .collect();
    for mut w in ws {
        assert!(w.child.wait().unwrap().success());
        w.reader.join().unwrap();
    }
    let acks = acks.lock().unwrap().clone();
    assert_eq!(acks.len(), 2000);
    assert_eq!(check_acks(&p, &acks), 2000);
    let v = audit::verify(&p).unwrap();
    assert_eq!((v.records, v.last_seq), (2000, 2000));
    let (ok, out) = python_verify(&p);
    assert!(ok, "{out}");
    assert_eq!(out, format!("ok 2000 {}", v.head));
    // Both writers interleaved into one chain.
    let (recs, _) = audit::read(&p).unwrap();
    let a = recs
        .iter()
        .filter(|r| r.actor.starts_with("writer-a"))
        .count();
    assert_eq!(a, 1000);
}

#[test]
fn sigkill_campaign_loses_no_acknowledged_record() {
    if !common::have(&[Tool::Python3]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("audit.jsonl");
    let acks = Arc::new(Mutex::new(Vec::new()));
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x0517_75e9);
    let mut kills = 0u32;
    let start = Instant::now();
    let mut slots: Vec<Option<(Writer, Instant)>> = vec![None, None];
    let mut spawned = 0u32;
    while kills < 220 || acks.lock().unwrap().len() < 1500 {
        assert!(
            start.elapsed() < Duration::from_secs(240),
            "campaign too slow"
        );
        for (i, slot) in slots.iter_mut().enumerate() {
            match slot {
                None => {
                    spawned += 1;
                    let w = spawn_writer(&p, &format!("{i}-{spawned}"), None, acks.clone());
                    let life = Duration::from_millis(rng.random_range(3..60));
                    *slot = Some((w, Instant::now() + life));
                }
                Some((_, deadline)) if Instant::now() >= *deadline => {
                    if let Some((mut w, _)) = slot.take() {
                        w.child.kill().unwrap();
                        w.child.wait().unwrap();
                        w.reader.join().unwrap();
                        kills += 1;
                    }
                }
                Some(_) => {}
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    for slot in slots.iter_mut() {
        if let Some((mut w, _)) = slot.take() {
            w.child.kill().unwrap();
            w.child.wait().unwrap();
            w.reader.join().unwrap();
            kills += 1;
        }
    }
    // The next writer repairs whatever a kill left and continues the chain.
    let after = AuditLog::new(&p, sitrep::audit::Signer::ephemeral())
        .append(&entry("final", 0))
        .unwrap();
    let acks = acks.lock().unwrap().clone();
    let total = check_acks(&p, &acks);
    assert_eq!(after.record.seq as usize, total);
    let v = audit::verify(&p).unwrap();
    assert_eq!(v.records as usize, total);
    let (ok, out) = python_verify(&p);
    assert!(ok, "{out}");
    eprintln!(
        "sigkill campaign: {kills} kills, {} acknowledged, {total} records, {:?}",
        acks.len(),
        start.elapsed()
    );
    assert!(kills >= 200);
}

#[test]
fn torn_tail_at_every_byte_offset_is_moved_aside_and_recovered() {
    if !common::have(&[Tool::Python3]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.jsonl");
    let recs = write_log(&base, 50);
    let full = std::fs::read(&base).unwrap();
    let last_start = full[..full.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    let last = &full[last_start..full.len() - 1];
    let work = dir.path().join("t");
    std::fs::create_dir(&work).unwrap();
    let p = work.join("audit.jsonl");
    // k = bytes of the last record that reached the disk (all but its `\n`).
    for k in 0..=last.len() {
        for f in std::fs::read_dir(&work).unwrap() {
            std::fs::remove_file(f.unwrap().path()).unwrap();
        }
        let mut bytes = full[..last_start].to_vec();
        bytes.extend_from_slice(&last[..k]);
        std::fs::write(&p, &bytes).unwrap();
        if k > 0 {
            assert!(
                matches!(audit::verify(&p), Err(VerifyError::Broken(b)) if b.kind == BreakKind::Torn && b.line == 50),
                "offset {k}: torn tail not reported"
            );
        }
        let a = AuditLog::new(&p, sitrep::audit::Signer::ephemeral())
            .append(&entry("next", k as u64))
            .unwrap();
        assert_eq!(a.record.seq, 50, "offset {k}");
        assert_eq!(a.record.prev, recs[48].hash, "offset {k}");
        let torn: Vec<_> = std::fs::read_dir(&work)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().contains(".torn-"))
            .collect();
        if k == 0 {
            assert!(a.recovered.is_none());
            assert!(torn.is_empty());
        } else {
            let r = a.recovered.as_ref().unwrap();
            assert_eq!(r.bytes as usize, k);
            assert_eq!(r.at as usize, last_start);
            assert_eq!(torn, vec![r.moved_to.clone()]);
            assert_eq!(std::fs::read(&torn[0]).unwrap(), &last[..k], "offset {k}");
        }
        // The 49 whole records are untouched.
        assert_eq!(std::fs::read(&p).unwrap()[..last_start], full[..last_start]);
        assert_eq!(audit::verify(&p).unwrap().records, 50, "offset {k}");
    }
    // A file grown with NULs or garbage before the data landed.
    for (n, fill) in [(1usize, 0u8), (7, 0), (513, 0), (4096, 0), (300, b'x')] {
        for f in std::fs::read_dir(&work).unwrap() {
            std::fs::remove_file(f.unwrap().path()).unwrap();
        }
        let mut bytes = full.clone();
        bytes.extend(std::iter::repeat_n(fill, n));
        std::fs::write(&p, &bytes).unwrap();
        let a = AuditLog::new(&p, sitrep::audit::Signer::ephemeral())
            .append(&entry("next", 0))
            .unwrap();
        assert_eq!(a.recovered.unwrap().bytes as usize, n);
        assert_eq!(a.record.seq, 51);
        let (ok, out) = python_verify(&p);
        assert!(ok, "{out}");
    }
}

#[test]
fn byte_mutation_sweep_is_detected_at_the_right_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("audit.jsonl");
    write_log(&p, 1000);
    let bytes = std::fs::read(&p).unwrap();
    // Line number (1-based) of every byte.
    let mut line_of = Vec::with_capacity(bytes.len());
    let mut line = 1u64;
    for &b in &bytes {
        line_of.push(line);
        if b == b'\n' {
            line += 1;
        }
    }
    let t0 = Instant::now();
    assert_eq!(audit::verify_reader(&bytes[..]).unwrap().records, 1000);
    let one = t0.elapsed();
    let (recs, _) = audit::read(&p).unwrap();
    // Start of every line, to resume verification just before line k.
    let mut starts = vec![0usize];
    starts.extend(
        bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .map(|(i, _)| i + 1),
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let check = |mutated: &[u8], i: usize, flip: u8, full: bool| {
        let k = line_of[i];
        let r = if full {
            audit::verify_reader(mutated)
        } else {
            // Lines before k are byte-identical to the original, which
            // verified above: resume from its state after line k-1.
            let v = if k == 1 {
                audit::Verifier::new()
            } else {
                let prev = &recs[(k - 2) as usize];
                audit::Verifier::resume(k - 1, prev.seq, &prev.hash)
            };
            audit::verify_stream(v, &mutated[starts[(k - 1) as usize]..])
        };
        match r {
            Err(VerifyError::Broken(b)) => assert_eq!(
                b.line, k,
                "byte {i} (line {k}) flipped by {flip:#x}: reported {b}"
            ),
            other => panic!("byte {i} (line {k}) flipped by {flip:#x} not detected: {other:?}"),
        }
    };
    let mut mutated = bytes.clone();
    let mut n = 0;
    // 1) Whole-log verification at random positions.
    for _ in 0..20 {
        let i = rng.random_range(0..bytes.len());
        let flip: u8 = rng.random_range(1..=255);
        mutated[i] ^= flip;
        check(&mutated, i, flip, true);
        mutated[i] = bytes[i];
        n += 1;
    }
    // 2) Every byte of ten whole records (first, second, middle, last two
    //    and five random ones) with a random flip and with the low bit
    //    flipped, plus 2,500 random positions; each verified by resuming
    //    just before the mutated line (a full sweep of every byte takes
    //    minutes in a debug build).
    let mut lines: Vec<u64> = vec![1, 2, 500, 999, 1000];
    lines.extend((0..5).map(|_| rng.random_range(1..=1000u64)));
    let mut positions: Vec<usize> = (0..bytes.len())
        .filter(|&i| lines.contains(&line_of[i]))
        .collect();
    positions.extend((0..2500).map(|_| rng.random_range(0..bytes.len())));
    for i in positions {
        for flip in [rng.random_range(1..=255u8), 1] {
            mutated[i] ^= flip;
            check(&mutated, i, flip, false);
            mutated[i] = bytes[i];
            n += 1;
        }
    }
    eprintln!(
        "mutation sweep: {n} mutations over {} bytes, 100% detected at the right line; one verify of 1,000 records: {one:?}",
        bytes.len()
    );
}

#[test]
fn enumerated_write_and_sync_failures_never_lose_a_committed_record() {
    if !common::have(&[Tool::Python3]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("audit.jsonl");
    let mut committed: Vec<(u64, String)> = Vec::new();
    for n in 0..12u32 {
        for faults in [
            Faults {
                fail_write_at: Some(n % 4),
                fail_sync_at: None,
            },
            Faults {
                fail_write_at: None,
                fail_sync_at: Some(n % 5),
            },
        ] {
            let log = AuditLog::new(&p, sitrep::audit::Signer::ephemeral()).with_faults(faults);
            let mut failed = false;
            for i in 0..6 {
                match log.append(&entry("f", i)) {
                    Ok(a) => {
                        assert!(!failed, "a poisoned writer appended");
                        committed.push((a.record.seq, a.record.hash));
                    }
                    Err(_) => {
                        failed = true;
                        assert!(log.is_poisoned());
                    }
                }
            }
            assert!(failed);
            // A fresh writer repairs a short write and continues.
            let a = AuditLog::new(&p, sitrep::audit::Signer::ephemeral())
                .append(&entry("g", 0))
                .unwrap();
            committed.push((a.record.seq, a.record.hash));
            assert!(audit::verify(&p).is_ok());
        }
    }
    // A record whose sync failed was never acknowledged, but may be in the
    // file; every acknowledged one is.
    check_acks(&p, &committed);
    let (ok, out) = python_verify(&p);
    assert!(ok, "{out}");
}

#[test]
fn sitrep_binary_concurrent_demo_actions_chain() {
    if !common::have(&[Tool::Python3]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = |i: usize| {
        let dd = dir.path().to_path_buf();
        std::thread::spawn(move || {
            for j in 0..15 {
                let st = Command::new(env!("CARGO_BIN_EXE_sitrep"))
                    .args(["--demo", "--data-dir"])
                    .arg(&dd)
                    .args([
                        "flag",
                        if (i + j).is_multiple_of(2) {
                            "off"
                        } else {
                            "on"
                        },
                    ])
                    .args([
                        "checkout-payments-v3",
                        "--reason",
                        "concurrency",
                        "--yes",
                        "--i-know-this-is-production",
                    ])
                    .env("SITREP_CONFIG", dd.join("none.toml"))
                    .stdin(Stdio::null())
                    .output()
                    .unwrap();
                assert!(
                    st.status.success(),
                    "{}",
                    String::from_utf8_lossy(&st.stderr)
                );
            }
        })
    };
    let hs: Vec<_> = (0..2).map(run).collect();
    for h in hs {
        h.join().unwrap();
    }
    // The demo's log, in its own data dir, every record marked.
    let p = dir.path().join("demo").join("audit.jsonl");
    assert!(!dir.path().join("audit.jsonl").exists());
    let out = Command::new(env!("CARGO_BIN_EXE_sitrep"))
        .args(["--demo", "audit", "verify", "--data-dir"])
        .arg(dir.path())
        .env("SITREP_CONFIG", dir.path().join("none.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok, 60 records"));
    let (ok, py) = python_verify(&p);
    assert!(ok, "{py}");
    // Each action: intent then result with the same key.
    let (recs, _) = audit::read(&p).unwrap();
    assert!(recs.iter().all(|r| r.demo));
    let mut keys: BTreeMap<String, Vec<Phase>> = BTreeMap::new();
    for r in &recs {
        keys.entry(r.idempotency_key.clone().unwrap())
            .or_default()
            .push(r.phase);
    }
    assert_eq!(keys.len(), 30);
    assert!(keys.values().all(|v| v == &[Phase::Intent, Phase::Result]));
    // A tampered line: exit 3, naming it.
    let text = std::fs::read_to_string(&p).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[6] = lines[6].replacen("concurrency", "concurrencY", 1);
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sitrep"))
        .args(["--demo", "audit", "verify", "--data-dir"])
        .arg(dir.path())
        .env("SITREP_CONFIG", dir.path().join("none.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 7:") && err.contains("hash"), "{err}");
}
