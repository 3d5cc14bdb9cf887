//! Team mode benchmarks (no external harness) against a real PostgreSQL
//! server started like the tests start it (tests/common/pg.rs: the
//! Debian binaries, a temporary cluster on a free loopback port).
//!
//! - lease acquire: 50 consoles, each with its own connection, each
//!   taking leases on its own targets while the other 49 do the same
//!   (one `acquire` = one transaction: look, insert-or-update, commit);
//!   p50/p95/p99 over every call, and one console alone for the floor;
//! - shared audit append: one console pushing one record (the push after
//!   each local append), p50/p95.
//!
//! `cargo bench --bench team` (release). Prints one line per figure.

#[path = "../tests/common/pg.rs"]
#[allow(dead_code)]
mod pg;

use sitrep::audit::{AuditLog, Entry, Outcome, Phase, Signer};
use sitrep::secrets::Secret;
use sitrep::team::{Acquired, Team};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CONSOLES: usize = 50;
const ROUNDS: usize = 40;

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn line(what: &str, mut v: Vec<Duration>) {
    v.sort();
    println!(
        "{what}: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms ({} calls)",
        pct(&v, 0.50),
        pct(&v, 0.95),
        pct(&v, 0.99),
        v.len()
    );
}

async fn acquire_n(team: Arc<Team>, me: String, n: usize) -> Vec<Duration> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let target = format!("{me}-svc-{i}/production");
        let t = Instant::now();
        let r = team
            .acquire(&target, &me, "bench", "rollback", "bench", None, false)
            .await;
        out.push(t.elapsed());
        match r {
            Ok(Acquired::Taken { .. }) => {}
            other => panic!("lease not taken: {other:?}"),
        }
    }
    out
}

fn main() {
    if pg::bin_dir().is_none() {
        println!(
            "team benchmarks skipped: postgresql is not installed (apt-get install postgresql)"
        );
        return;
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let server = pg::PgServer::start();
    let url = server.url();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let team = |_| {
            Arc::new(Team::new(
                Ok(Secret::new(url.clone())),
                "bench",
                Duration::from_secs(120),
            ))
        };
        // Connect (and migrate) before measuring.
        let consoles: Vec<Arc<Team>> = (0..CONSOLES).map(team).collect();
        for t in &consoles {
            t.holder("warm-up").await.unwrap();
        }
        // One console alone.
        let alone = acquire_n(consoles[0].clone(), "solo".into(), 200).await;
        line("lease acquire, 1 console alone", alone);
        // 50 at once.
        let tasks: Vec<_> = consoles
            .iter()
            .enumerate()
            .map(|(i, t)| tokio::spawn(acquire_n(t.clone(), format!("c{i}"), ROUNDS)))
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        line(
            &format!("lease acquire, {CONSOLES} consoles at once on loopback"),
            all,
        );

        // Shared audit append: one local append + push, the push timed.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::new(&path, Signer::ephemeral());
        let t = consoles[1].clone();
        let mut pushes = Vec::new();
        for i in 0..200u32 {
            log.append(&Entry {
                action: "flag.off".into(),
                actor: "bench".into(),
                detail: serde_json::json!({"i": i}),
                host: "bench".into(),
                idempotency_key: None,
                incident: None,
                outcome: Outcome::Ok,
                phase: Phase::Result,
                provider: Some("ff".into()),
                reason: "bench".into(),
                runbook: None,
                target: format!("flag-{i}"),
            })
            .unwrap();
            let s = Instant::now();
            t.sync(&path).await.unwrap();
            pushes.push(s.elapsed());
        }
        line("shared audit push of one record (1 console)", pushes);
    });
}
