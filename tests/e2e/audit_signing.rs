//! Signed records against a forger who can write the log but does not hold
//! the key: each forgery (append, rewrite and re-chain, strip signatures,
//! re-sign with another key, cut records off the end) fails
//! `sitrep audit verify` at its line, or against a saved anchor.
//!
//! Each test is its own installation: `XDG_CONFIG_HOME` in a temp dir (the
//! public keys) and the signing seed from `[audit] signing_key = { env }`.

use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SEED_VAR: &str = "SITREP_E2E_AUDIT_SEED";

struct Install {
    _dir: tempfile::TempDir,
    xdg: PathBuf,
    data: PathBuf,
    config: PathBuf,
    seed: String,
}

impl Install {
    fn new() -> Install {
        let dir = tempfile::tempdir().unwrap();
        let xdg = dir.path().join("xdg");
        let data = dir.path().join("data");
        let config = dir.path().join("config.toml");
        // A local flagd file: real actions without a network (the demo
        // writes its own log, never this one).
        let flags = dir.path().join("flags.json");
        std::fs::write(
            &flags,
            r#"{"flags":{"checkout-writes":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"on"},"checkout-payments-v3":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"on"}}}"#,
        )
        .unwrap();
        std::fs::write(
            &config,
            format!(
                "[audit]\nsigning_key = {{ env = \"{SEED_VAR}\" }}\n\n[[provider]]\nname = \"ff\"\nkind = \"flagd\"\npath = {:?}\nenvironment = \"production\"\n",
                flags.display().to_string()
            ),
        )
        .unwrap();
        let seed = base64::engine::general_purpose::STANDARD.encode([42u8; 32]);
        Install {
            _dir: dir,
            xdg,
            data,
            config,
            seed,
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_sitrep"))
            .env("XDG_CONFIG_HOME", &self.xdg)
            .env(SEED_VAR, &self.seed)
            .arg("--config")
            .arg(&self.config)
            .arg("--data-dir")
            .arg(&self.data)
            .args(args)
            .output()
            .unwrap()
    }

    fn log(&self) -> PathBuf {
        self.data.join("audit.jsonl")
    }

    /// Six signed records: three kill switches (intent + result).
    fn seeded() -> Install {
        let i = Install::new();
        for key in ["checkout-writes", "checkout-payments-v3", "checkout-writes"] {
            let out = i.run(&[
                "flag",
                "off",
                key,
                "--reason",
                "drill",
                "--yes",
                "--i-know-this-is-production",
            ]);
            assert!(out.status.success(), "{}", text(&out.stderr));
        }
        assert_eq!(lines(&i.log()).len(), 6);
        i
    }

    fn verify(&self, extra: &[&str]) -> (i32, String) {
        let mut args = vec!["audit", "verify"];
        args.extend_from_slice(extra);
        let out = self.run(&args);
        (
            out.status.code().unwrap_or(-1),
            format!("{}{}", text(&out.stdout), text(&out.stderr)),
        )
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn lines(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Canonical form (sorted keys, compact) as SPEC §6 defines it.
fn canon(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&m[k])))
                        .collect(),
                )
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            x => x.clone(),
        }
    }
    serde_json::to_string(&sorted(v)).unwrap()
}

/// What a forger without the key can do: recompute `hash` (and `prev`,
/// `seq`) over records of their choosing.
fn rechain(records: &mut [Value]) {
    let mut prev = "0".repeat(64);
    for (i, r) in records.iter_mut().enumerate() {
        let m = r.as_object_mut().unwrap();
        m.remove("hash");
        m.insert("prev".into(), Value::String(prev.clone()));
        m.insert("seq".into(), Value::from(i as u64 + 1));
        let mut h = Sha256::new();
        h.update(prev.as_bytes());
        h.update(b"\n");
        h.update(canon(r).as_bytes());
        prev = hex::encode(h.finalize());
        r.as_object_mut()
            .unwrap()
            .insert("hash".into(), Value::String(prev.clone()));
    }
}

fn write(p: &Path, records: &[Value]) {
    let mut s = String::new();
    for r in records {
        s.push_str(&canon(r));
        s.push('\n');
    }
    std::fs::write(p, s).unwrap();
}

#[test]
fn a_signed_log_verifies_and_names_its_key() {
    let i = Install::seeded();
    let (code, out) = i.verify(&[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ok, 6 records"), "{out}");
    assert!(out.contains("6 records signed by 1 trusted key"), "{out}");
    // The key printed by `audit key` is the one that signed.
    let key = i.run(&["audit", "key"]);
    assert!(key.status.success(), "{}", text(&key.stderr));
    let line = text(&key.stdout);
    let id = line.trim().strip_prefix("sitrep-audit-ed25519 ").unwrap();
    for r in lines(&i.log()) {
        assert_eq!(r["key_id"], id);
        assert_eq!(r["sig"].as_str().unwrap().len(), 128);
    }
    assert!(out.contains(&id[..16]), "{out}");
    // The independent verifier (SPEC §6, knows nothing of signatures) still
    // agrees: `hash` covers `sig`.
    if crate::common::have(&[crate::common::Tool::Python3]) {
        let py = Command::new("python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/verify_audit.py"))
            .arg(i.log())
            .output()
            .unwrap();
        assert!(py.status.success(), "{}", text(&py.stdout));
    }
}

#[test]
fn an_appended_forgery_fails_at_its_line() {
    let i = Install::seeded();
    let orig = lines(&i.log());
    // 1. Appended with a recomputed hash and no signature.
    let mut recs = orig.clone();
    let mut forged = recs[5].clone();
    forged["reason"] = "approved by the CTO".into();
    forged.as_object_mut().unwrap().remove("sig");
    forged.as_object_mut().unwrap().remove("key_id");
    recs.push(forged.clone());
    rechain(&mut recs);
    write(&i.log(), &recs);
    let (code, out) = i.verify(&[]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("line 7: record is not signed"), "{out}");

    // 2. Appended keeping the real key_id and signature of another record.
    let mut recs = orig.clone();
    let mut forged = recs[5].clone();
    forged["reason"] = "approved by the CTO".into();
    recs.push(forged);
    rechain(&mut recs);
    write(&i.log(), &recs);
    let (code, out) = i.verify(&[]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("line 7: signature does not verify"), "{out}");

    // 3. Appended and signed with the forger's own key.
    let mut recs = orig.clone();
    let mut forged = recs[5].clone();
    forged["reason"] = "approved by the CTO".into();
    recs.push(forged);
    rechain(&mut recs);
    let forger = sitrep::audit::AuditKey::from_seed(&[9u8; 32]).unwrap();
    resign(&mut recs[6], &forger);
    write(&i.log(), &recs);
    let (code, out) = i.verify(&[]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("line 7: signed by key") && out.contains("not trusted"),
        "{out}"
    );
    // Its public key given with --key makes it trusted: the check is the
    // key, not anything else about the record.
    let pubf = i.data.join("forger.pub");
    std::fs::write(&pubf, format!("{}\n", forger.public_line())).unwrap();
    let (code, out) = i.verify(&["--key", pubf.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
}

/// Sign `rec` (whose `prev` is set) with `key`, then fix its hash: what a
/// forger with their own key does.
fn resign(rec: &mut Value, key: &sitrep::audit::AuditKey) {
    let m = rec.as_object_mut().unwrap();
    m.remove("hash");
    m.remove("sig");
    m.insert("key_id".into(), Value::String(key.id().to_string()));
    let prev = m["prev"].as_str().unwrap().to_string();
    let body = canon(rec);
    let sig = key.sign(format!("{prev}\n{body}").as_bytes());
    rec["sig"] = Value::String(sig);
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(canon(rec).as_bytes());
    rec["hash"] = Value::String(hex::encode(h.finalize()));
}

#[test]
fn rewritten_and_rechained_history_fails_at_the_first_changed_line() {
    let i = Install::seeded();
    let mut recs = lines(&i.log());
    recs[2]["reason"] = "routine".into();
    rechain(&mut recs);
    write(&i.log(), &recs);
    let (code, out) = i.verify(&[]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("line 3: signature does not verify"), "{out}");
}

#[test]
fn a_log_stripped_of_signatures_is_refused_unless_told_it_predates_them() {
    let i = Install::seeded();
    let mut recs = lines(&i.log());
    for r in &mut recs {
        let m = r.as_object_mut().unwrap();
        m.remove("sig");
        m.remove("key_id");
    }
    rechain(&mut recs);
    write(&i.log(), &recs);
    let (code, out) = i.verify(&[]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("line 1: record is not signed"), "{out}");
    // A log begun before signing: accepted when said so, and counted.
    let (code, out) = i.verify(&["--allow-unsigned-prefix"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("the first 6 record(s) are unsigned"), "{out}");
    // A new action after it is signed; unsigned after signed never passes.
    let out = i.run(&[
        "flag",
        "on",
        "checkout-writes",
        "--reason",
        "r",
        "--yes",
        "--i-know-this-is-production",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (code, out) = i.verify(&["--allow-unsigned-prefix"]);
    assert_eq!(code, 0, "{out}");
    let mut recs = lines(&i.log());
    recs.swap(5, 6);
    rechain(&mut recs);
    write(&i.log(), &recs);
    let (code, out) = i.verify(&["--allow-unsigned-prefix"]);
    assert_eq!(code, 3, "{out}");
}

#[test]
fn records_cut_off_the_end_are_found_against_a_saved_head() {
    let i = Install::seeded();
    let head = i.run(&["audit", "head"]);
    assert!(head.status.success(), "{}", text(&head.stderr));
    let anchor = i.data.join("head.json");
    std::fs::write(&anchor, &head.stdout).unwrap();
    let h: Value = serde_json::from_slice(&head.stdout).unwrap();
    assert_eq!(h["seq"], 6);
    let (code, out) = i.verify(&["--anchor", anchor.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("anchor: seq 6"), "{out}");

    // Cut the last two records at a line boundary: the chain alone holds.
    let text_now = std::fs::read_to_string(i.log()).unwrap();
    let kept: Vec<&str> = text_now.lines().take(4).collect();
    std::fs::write(i.log(), format!("{}\n", kept.join("\n"))).unwrap();
    let (code, out) = i.verify(&[]);
    assert_eq!(code, 0, "the chain alone cannot see a cut: {out}");
    let (code, out) = i.verify(&["--anchor", anchor.to_str().unwrap()]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("ends at seq 4") && out.contains("cut off the end"),
        "{out}"
    );

    // The webhook receiver's last body (an audit record) is an anchor too:
    // a log rewritten up to it, re-signed with another key that was then
    // trusted, still differs from it.
    let mut recs = lines(&i.log());
    let last_delivered = canon(&recs[3]);
    std::fs::write(&anchor, format!("{last_delivered}\n")).unwrap();
    recs[1]["reason"] = "nothing happened".into();
    rechain(&mut recs);
    let forger = sitrep::audit::AuditKey::from_seed(&[9u8; 32]).unwrap();
    let mut prev = "0".repeat(64);
    for r in recs.iter_mut() {
        r["prev"] = Value::String(prev.clone());
        resign(r, &forger);
        prev = r["hash"].as_str().unwrap().to_string();
    }
    write(&i.log(), &recs);
    let pubf = i.data.join("forger.pub");
    std::fs::write(&pubf, format!("{}\n", forger.public_line())).unwrap();
    let (code, out) = i.verify(&[
        "--key",
        pubf.to_str().unwrap(),
        "--anchor",
        anchor.to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("rewritten at or before seq 4"), "{out}");
}
