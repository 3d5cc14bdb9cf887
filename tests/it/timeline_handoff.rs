//! The what-changed timeline, the hand-off report and watch after action:
//! insta snapshots on demo data with a fixed clock (table, JSON, markdown),
//! and the CLI as a user runs it (`timeline --json`, `handoff --post-note`
//! through the audited executor with the confirmation rules, `--watch`).

use chrono::{Duration, TimeZone, Utc};
use sitrep::audit::{self, Outcome, Phase, Record};
use sitrep::handoff;
use sitrep::model::{Snapshot, Time};
use sitrep::runbooks::Catalog;
use sitrep::runbooks::progress::Progress;
use sitrep::timeline;
use std::path::Path;

fn fixed_now() -> Time {
    Utc.with_ymd_and_hms(2026, 11, 22, 3, 4, 5)
        .single()
        .expect("valid time")
}

fn snap_settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path("../../snapshots");
    s.set_prepend_module_to_snapshot(false);
    s
}

/// The demo world at the fixed clock, as the CLI would assemble it.
async fn demo_snapshot() -> Snapshot {
    let now = fixed_now();
    let mut snap = sitrep::sim::demo::snapshot(now).await.expect("demo");
    // The kill switch of the audit log below, as the provider reports it.
    for f in snap.flags.iter_mut() {
        if f.key.as_str() == "checkout-payments-v3" {
            f.on = false;
            f.updated_at = Some(now - Duration::minutes(5));
        }
    }
    snap
}

fn record(
    seq: u64,
    action: &str,
    target: &str,
    mins_ago: i64,
    outcome: Outcome,
    reason: &str,
    detail: serde_json::Value,
) -> Record {
    Record {
        action: action.into(),
        actor: "dana.kim@example.com".into(),
        demo: false,
        detail,
        hash: String::new(),
        host: "laptop".into(),
        idempotency_key: None,
        incident: Some("Q1CHK5XZ01".into()),
        key_id: None,
        outcome,
        phase: Phase::Result,
        prev: String::new(),
        provider: match action {
            "rollback" => Some("gh".into()),
            "flag.off" | "flag.on" => Some("ld".into()),
            "incident.ack" => Some("pd".into()),
            _ => None,
        },
        reason: reason.into(),
        runbook: None,
        seq,
        sig: None,
        target: target.into(),
        ts: (fixed_now() - Duration::minutes(mins_ago))
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string(),
    }
}

/// A night's audit log: an ack, a kill switch, a watch verdict, a runbook
/// tick, a dry run and a refused rollback.
fn audit_log() -> Vec<Record> {
    vec![
        record(
            2,
            "incident.ack",
            "Q1CHK5XZ01",
            6,
            Outcome::Ok,
            "",
            serde_json::json!({"message": "acknowledged Q1CHK5XZ01"}),
        ),
        record(
            4,
            "flag.off",
            "checkout-payments-v3",
            5,
            Outcome::Ok,
            "5xx from gateway v3 client",
            serde_json::json!({"message": "flag checkout-payments-v3 is now OFF"}),
        ),
        record(
            5,
            "runbook.step",
            "rollback#1",
            5,
            Outcome::Ok,
            "",
            serde_json::Value::Null,
        ),
        record(
            6,
            "rollback",
            "checkout/production",
            4,
            Outcome::DryRun,
            "bad deploy",
            serde_json::Value::Null,
        ),
        record(
            7,
            "rollback",
            "checkout/production",
            3,
            Outcome::Refused,
            "bad deploy",
            serde_json::json!({"refused": "the typed name did not match exactly"}),
        ),
        record(
            8,
            "watch",
            "checkout-payments-v3",
            1,
            Outcome::Ok,
            "checkout recovering: 5m burn 31.0x -> 6.00x (-81%), 1h 19.0x -> 17.5x; 0 incidents resolved, 0 new, 2 open (after 4m)",
            serde_json::json!({"service": "checkout", "verdict": "recovering"}),
        ),
    ]
}

fn opts(since_h: i64) -> timeline::Options {
    timeline::Options::new(fixed_now(), fixed_now() - Duration::hours(since_h))
}

#[tokio::test]
async fn snapshot_timeline_table_and_json_on_demo() {
    let snap = demo_snapshot().await;
    let recs = audit_log();
    let events = timeline::build(&snap, &recs, &opts(2));
    // The audited kill switch replaces the provider's view of that flip.
    assert_eq!(
        events
            .iter()
            .filter(|e| e.summary.as_str().contains("checkout-payments-v3"))
            .count(),
        2,
        "{events:#?}"
    );
    let table = sitrep::cli::report::timeline_table(&events, fixed_now());
    snap_settings().bind(|| insta::assert_snapshot!("timeline_table_demo", table));
    let json =
        sitrep::cli::report::timeline_json(&snap, fixed_now() - Duration::hours(2), "30m", &events);
    for e in json["events"].as_array().expect("events") {
        let keys: Vec<&str> = e
            .as_object()
            .expect("object")
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(
            keys,
            [
                "kind", "provider", "ref", "service", "summary", "suspect", "ts"
            ]
        );
    }
    snap_settings().bind(|| insta::assert_json_snapshot!("timeline_json_demo", json));
}

fn checklists(dir: &Path, snap: &Snapshot) -> Vec<handoff::OpenChecklist> {
    let mut p = Progress::new("rollback", Some("Q1CHK5XZ01"));
    p.toggle(1, 0);
    p.toggle(1, 1);
    p.current_step = 2;
    p.save(dir, fixed_now() - Duration::minutes(5))
        .expect("save");
    let cat = Catalog::bundled();
    let (list, warnings) = handoff::scan_checklists(
        dir,
        &cat.runbooks,
        snap,
        &[],
        fixed_now() - Duration::hours(12),
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    list
}

#[tokio::test]
async fn snapshot_handoff_markdown_and_json_on_demo() {
    let dir = tempfile::tempdir().expect("tempdir");
    let snap = demo_snapshot().await;
    let recs = audit_log();
    let list = checklists(dir.path(), &snap);
    assert_eq!(list.len(), 1);
    let h = handoff::build(&snap, &recs, list, &opts(12));
    // Ticks and dry runs are counted, not listed.
    assert_eq!((h.actions.len(), h.runbook_ticks, h.dry_runs), (4, 1, 1));
    // Suspects first.
    let first_plain = h
        .changes
        .iter()
        .position(|e| e.suspect.is_none())
        .unwrap_or(h.changes.len());
    assert!(h.changes[first_plain..].iter().all(|e| e.suspect.is_none()));
    assert_eq!(first_plain, 3);
    let md = handoff::markdown(&h);
    assert!(!md.contains('\u{1b}'));
    snap_settings().bind(|| insta::assert_snapshot!("handoff_markdown_demo", md));
    let json = handoff::to_json(&h);
    snap_settings().bind(|| insta::assert_json_snapshot!("handoff_json_demo", json));
}

// ---------------------------------------------------------------- the CLI

fn sitrep(data: &Path, args: &[&str]) -> (i32, String, String) {
    let cfg = data.join("config.toml");
    if !cfg.exists() {
        std::fs::write(&cfg, "").expect("write config");
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sitrep"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env("SITREP_CONFIG", &cfg)
        .env_remove("SITREP_READ_ONLY")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run sitrep");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn records(data: &Path) -> Vec<Record> {
    audit::read(&data.join("demo").join("audit.jsonl"))
        .expect("audit")
        .0
}

#[test]
fn cli_timeline_json_has_the_contract_shape() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err) = sitrep(
        dir.path(),
        &["--demo", "timeline", "--since", "1h", "--json"],
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    for k in ["generated_at", "providers", "since", "events"] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    let ev = v["events"].as_array().expect("events");
    assert!(ev.iter().any(|e| e["suspect"]["reason"]
        == "deployed 4m before SEV1 Q1CHK5XZ01 on checkout"
        && e["suspect"]["incident"] == "Q1CHK5XZ01"));
    // Newest first, current SLO state on top.
    assert_eq!(ev[0]["kind"], "slo");
    // Nothing older than --since.
    assert!(!out.contains("gh/1890"));
    // Bad durations are usage errors.
    let (code, _, err) = sitrep(dir.path(), &["--demo", "timeline", "--since", "soon"]);
    assert_eq!(code, 2);
    assert!(err.contains("--since"), "{err}");
}

#[test]
fn cli_handoff_post_note_follows_the_write_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // Plain markdown on stdout, nothing recorded.
    let (code, out, err) = sitrep(d, &["--demo", "handoff"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("## Hand-off "), "{out}");
    assert!(records(d).is_empty());
    // No terminal, no --yes: refused and recorded.
    let (code, _, err) = sitrep(d, &["--demo", "handoff", "--post-note", "Q1CHK5XZ01"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("refused"), "{err}");
    let r = records(d);
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0].action.as_str(), r[0].outcome),
        ("incident.note", Outcome::Refused)
    );
    // Dry run: the exact request, nothing sent.
    let (code, out, err) = sitrep(
        d,
        &[
            "--demo",
            "handoff",
            "--post-note",
            "Q1CHK5XZ01",
            "--dry-run",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("/incidents/Q1CHK5XZ01/notes"), "{out}");
    assert!(out.contains("Hand-off"), "{out}");
    assert_eq!(records(d).last().map(|r| r.outcome), Some(Outcome::DryRun));
    // --yes: posted through the executor, intent then result.
    let (code, out, err) = sitrep(
        d,
        &["--demo", "handoff", "--post-note", "Q1CHK5XZ01", "--yes"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("note added to Q1CHK5XZ01"), "{out}");
    let r = records(d);
    let n = r.len();
    assert_eq!(
        (r[n - 2].phase, r[n - 1].phase),
        (Phase::Intent, Phase::Result)
    );
    assert_eq!(r[n - 1].action, "incident.note");
    assert_eq!(r[n - 1].outcome, Outcome::Ok);
    assert_eq!(r[n - 1].incident.as_deref(), Some("Q1CHK5XZ01"));
    // Read-only refuses.
    let (code, _, err) = sitrep(
        d,
        &[
            "--demo",
            "--read-only",
            "handoff",
            "--post-note",
            "Q1CHK5XZ01",
            "--yes",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(audit::verify(&d.join("demo").join("audit.jsonl")).is_ok());
    // The next hand-off lists the note among the actions taken.
    let (_, out, _) = sitrep(d, &["--demo", "handoff", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert!(
        v["actions"]
            .as_array()
            .expect("actions")
            .iter()
            .any(|a| a["action"] == "incident.note" && a["outcome"] == "ok")
    );
}

#[test]
fn cli_flag_off_watch_prints_a_verdict_and_records_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let (code, out, err) = sitrep(
        d,
        &[
            "--demo",
            "flag",
            "off",
            "checkout-payments-v3",
            "--reason",
            "5xx from v3 client",
            "--yes",
            "--i-know-this-is-production",
            "--watch-for",
            "2s",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("flag checkout-payments-v3 is now OFF"),
        "{out}"
    );
    // The demo's burn does not move: no change.
    assert!(out.contains("watch verdict: NO CHANGE"), "{out}");
    assert!(err.contains("watching checkout for 2s"), "{err}");
    let r = records(d);
    let w = r.last().expect("records");
    assert_eq!(
        (w.action.as_str(), w.phase, w.outcome),
        ("watch", Phase::Result, Outcome::Ok)
    );
    assert_eq!(w.target, "checkout-payments-v3");
    assert_eq!(w.detail["service"], "checkout");
    assert_eq!(w.detail["verdict"], "no change");
    assert!(audit::verify(&d.join("demo").join("audit.jsonl")).is_ok());
    // A dry run has nothing to watch; a bad --watch-for acts on nothing.
    let (code, _, err) = sitrep(
        d,
        &[
            "--demo",
            "rollback",
            "checkout",
            "--env",
            "production",
            "--reason",
            "x",
            "--dry-run",
            "--watch",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("nothing to watch"), "{err}");
    let before = records(d).len();
    let (code, _, err) = sitrep(
        d,
        &[
            "--demo",
            "rollback",
            "checkout",
            "--env",
            "production",
            "--reason",
            "x",
            "--yes",
            "--i-know-this-is-production",
            "--watch-for",
            "later",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert_eq!(records(d).len(), before);
}
