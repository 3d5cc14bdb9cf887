//! Team mode benchmarks (no external harness) against a real PostgreSQL
//! server started like the tests start it (tests/common/pg.rs: the
//! Debian binaries, a temporary cluster on a free loopback port).
//!
//! - lease acquire: 50 consoles, each with its own connection, each
//!   taking leases on its own targets while the other 49 do the same
//!   (one `acquire` = one transaction: look, insert-or-update, commit);
//!   p50/p95/p99 over every call, and one console alone for the floor;
//! - shared audit append: one console pushing one record (the push after
//!   each local append), p50/p95;
//! - checklist propagation: 50 consoles, each with its own connection
//!   and its own listening connection; from just before one console
//!   writes a tick until each of the other 49 hears it (NOTIFY), over
//!   every delivery: one tick at a time (the ticker rotates), then all 50
//!   ticking at once;
//! - shared audit verify: 100,000 records, every one signed, pushed into
//!   a team's shared log; `sitrep audit verify`'s team check (read every
//!   row, the team chain, each record's hash and signature), best of 3.
//!
//! `cargo bench --bench team` (release). Prints one line per figure.

#[path = "../tests/common/pg.rs"]
#[allow(dead_code)]
mod pg;
#[path = "common/log.rs"]
#[allow(dead_code)]
mod sample;

use sitrep::audit::{AuditLog, Entry, Outcome, Phase, Signer};
use sitrep::secrets::Secret;
use sitrep::team::listen::{self, Heard};
use sitrep::team::live::Event;
use sitrep::team::{Acquired, Team, Tick};
use sitrep::text::SafeText;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

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

        propagation(&consoles).await;

        shared_verify(&url).await;
    });
}

/// 100,000 signed records in a team's shared log: the push that puts
/// them there (once), then `Team::verify` (what `sitrep audit verify`
/// runs in team mode), best of 3.
async fn shared_verify(url: &str) {
    const N: u64 = 100_000;
    let team = Team::new(
        Ok(Secret::new(url.to_string())),
        "verify",
        Duration::from_secs(120),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let (key, _) = sitrep::audit::AuditKey::generate().unwrap();
    std::fs::write(&path, sample::build_signed(N, &key)).unwrap();
    let t = Instant::now();
    let mut pushed = 0;
    while pushed < N {
        let p = team.sync(&path).await.unwrap();
        assert!(p.appended > 0, "the push made no progress at {pushed}");
        pushed += p.appended;
    }
    let push = t.elapsed();
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let v = team.verify().await.unwrap();
        best = best.min(t.elapsed());
        assert_eq!(v.records, N);
    }
    println!(
        "shared audit verify: {N} records, every one signed: {:.3} s (best of 3); pushing them took {:.1} s",
        best.as_secs_f64(),
        push.as_secs_f64()
    );
}

fn tick(t: &Team, item: u32) -> Tick {
    Tick {
        incident: "INC-bench".into(),
        runbook: "bench".into(),
        step: 1,
        item,
        checked: true,
        actor: SafeText::line("bench"),
        host: SafeText::line("bench"),
        session: t.session().to_string(),
        at: None,
        own: true,
    }
}

/// Checklist propagation through LISTEN/NOTIFY to every other console.
async fn propagation(consoles: &[Arc<Team>]) {
    // Every console listens; each hears others' ticks as (item, when).
    let (htx, mut heard) = mpsc::unbounded_channel::<(u32, Instant)>();
    let (ready_tx, mut ready) = mpsc::unbounded_channel::<()>();
    for t in consoles {
        let (tx, mut rx) = mpsc::channel(1024);
        listen::spawn(t.clone(), tx, sitrep::team::RETRY_EVERY);
        let (htx, ready_tx) = (htx.clone(), ready_tx.clone());
        tokio::spawn(async move {
            while let Some(h) = rx.recv().await {
                match h {
                    Heard::Connected => {
                        let _ = ready_tx.send(());
                    }
                    Heard::Event(Event::Tick(t)) if !t.own => {
                        let _ = htx.send((t.item, Instant::now()));
                    }
                    _ => {}
                }
            }
        });
    }
    for _ in consoles {
        ready.recv().await.unwrap();
    }
    let others = consoles.len() - 1;
    let mut collect = async |sent: &HashMap<u32, Instant>, out: &mut Vec<Duration>| {
        let want = sent.len() * others;
        for _ in 0..want {
            let (item, at) = tokio::time::timeout(Duration::from_secs(30), heard.recv())
                .await
                .expect("a tick was not heard within 30 s")
                .unwrap();
            out.push(at - sent[&item]);
        }
    };
    // One tick at a time, the ticker rotating.
    let mut one = Vec::new();
    for round in 0..ROUNDS as u32 * 2 {
        let t = &consoles[round as usize % consoles.len()];
        let mut sent = HashMap::new();
        sent.insert(round, Instant::now());
        t.tick(tick(t, round)).await.unwrap();
        collect(&sent, &mut one).await;
    }
    line(
        &format!("checklist propagation, 1 tick heard by {others} consoles (loopback)"),
        one,
    );
    // All at once.
    let mut burst = Vec::new();
    for round in 0..10u32 {
        let mut sent = HashMap::new();
        let mut tasks = Vec::new();
        let base = 100_000 + round * consoles.len() as u32;
        for (i, t) in consoles.iter().enumerate() {
            let item = base + i as u32;
            sent.insert(item, Instant::now());
            let t = t.clone();
            tasks.push(tokio::spawn(async move { t.tick(tick(&t, item)).await }));
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        collect(&sent, &mut burst).await;
    }
    line(
        &format!(
            "checklist propagation, {} consoles ticking at once, each heard by {others}",
            consoles.len()
        ),
        burst,
    );
}
