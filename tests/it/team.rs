//! Team mode against a real PostgreSQL server (tests/common/pg.rs): the
//! shared audit log seen and verified by another console, leases keeping
//! two responders off one target (exactly one request reaches the fake
//! provider), a dead holder's lease expiring, the database going away and
//! coming back (records kept locally, then appended once), two writers ×
//! 50 actions, and migrations run by many consoles at once.

use crate::common::{self, Tool, pg::PgServer};
use sitrep::actions::{ActionRequest, ExecError, Executor, Mode};
use sitrep::audit::{self, AuditLog, Outcome, Phase, Signer};
use sitrep::config::ProviderKind;
use sitrep::model::Fetched;
use sitrep::ops::{ExecResult, Plan, PlanCtx, PlannedRequest, Precondition, WriteOp};
use sitrep::providers::{BoxFut, ErrorKind, Provider, ProviderError, Registry};
use sitrep::secrets::Secret;
use sitrep::team::Team;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A provider that sends every write to a fake server as one POST.
struct Fake {
    base: String,
}

impl Provider for Fake {
    fn name(&self) -> &str {
        "fake"
    }
    fn kind(&self) -> ProviderKind {
        ProviderKind::Launchdarkly
    }
    fn fetch(&self) -> BoxFut<'_, Result<Fetched, ProviderError>> {
        Box::pin(async { Ok(Fetched::default()) })
    }
    fn supports(&self, op: &WriteOp) -> bool {
        matches!(op, WriteOp::FlagSet { .. } | WriteOp::Rollback { .. })
    }
    fn plan<'a>(
        &'a self,
        op: &'a WriteOp,
        _ctx: &'a PlanCtx,
    ) -> BoxFut<'a, Result<Plan, ProviderError>> {
        Box::pin(async move {
            Ok(Plan {
                op: op.clone(),
                provider: "fake".into(),
                summary: format!("{} {}", op.action_name(), op.target()),
                stakes: vec![],
                requests: vec![PlannedRequest {
                    method: "POST".into(),
                    url: format!("{}/write/{}", self.base, op.target()),
                    headers: vec![],
                    body: Some(serde_json::json!({"target": op.target()})),
                }],
                detail: serde_json::json!({}),
                precondition: Precondition::None,
                environment: None,
            })
        })
    }
    fn execute<'a>(
        &'a self,
        plan: &'a Plan,
        key: &'a str,
    ) -> BoxFut<'a, Result<ExecResult, ProviderError>> {
        Box::pin(async move {
            let r = &plan.requests[0];
            let resp = reqwest::Client::new()
                .post(&r.url)
                .header("Idempotency-Key", key)
                .json(&r.body)
                .send()
                .await
                .map_err(|_| ProviderError::new("fake", ErrorKind::Connect, "send failed"))?;
            Ok(ExecResult {
                message: "done".into(),
                detail: serde_json::json!({"status": resp.status().as_u16()}),
            })
        })
    }
}

/// One responder's console: its own data dir, local log and signing key.
struct Console {
    ex: Executor,
    team: Arc<Team>,
    audit: PathBuf,
    _dir: tempfile::TempDir,
}

fn console(url: &str, team: &str, actor: &str, base: &str, ttl: Duration) -> Console {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let reg = Registry {
        providers: vec![Arc::new(Fake { base: base.into() }) as Arc<dyn Provider>],
        demo: false,
        keep: Vec::new(),
    };
    let t = Arc::new(Team::new(Ok(Secret::new(url)), team, ttl));
    let ex = Executor::new(reg, Arc::new(AuditLog::new(&audit, Signer::ephemeral())))
        .with_actor(actor, format!("{actor}-laptop"))
        .with_team(Some(t.clone()));
    Console {
        ex,
        team: t,
        audit,
        _dir: dir,
    }
}

fn rollback(service: &str) -> ActionRequest {
    ActionRequest {
        op: WriteOp::Rollback {
            provider: None,
            service: service.into(),
            environment: "production".into(),
            to: None,
        },
        reason: "bad deploy".into(),
        incident: Some("INC-42".into()),
        runbook: None,
    }
}

fn flag(key: &str) -> ActionRequest {
    ActionRequest::new(
        WriteOp::FlagSet {
            provider: None,
            key: key.into(),
            environment: Some("production".into()),
            on: false,
        },
        "kill switch",
    )
}

async fn run(c: &Console, req: &ActionRequest) -> Result<sitrep::actions::Executed, ExecError> {
    let plan = c.ex.plan(req).await?;
    c.ex.execute(req, &plan, Mode::Live).await
}

async fn fake_server(delay: Option<Duration>) -> MockServer {
    let server = MockServer::start().await;
    let mut resp = ResponseTemplate::new(200);
    if let Some(d) = delay {
        resp = resp.set_delay(d);
    }
    Mock::given(method("POST"))
        .respond_with(resp)
        .mount(&server)
        .await;
    server
}

fn local_hashes(audit: &Path) -> Vec<String> {
    audit::read(audit)
        .unwrap()
        .0
        .into_iter()
        .map(|r| r.hash)
        .collect()
}

fn start() -> Option<PgServer> {
    if !common::have(&[Tool::Postgres]) {
        return None;
    }
    common::init();
    Some(PgServer::start())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_audit_is_seen_by_the_other_console_and_verifies() {
    let Some(pg) = start() else { return };
    let server = fake_server(None).await;
    let ttl = Duration::from_secs(60);
    let alice = console(&pg.url(), "payments", "alice", &server.uri(), ttl);
    let bob = console(&pg.url(), "payments", "bob", &server.uri(), ttl);
    let other = console(&pg.url(), "search", "carol", &server.uri(), ttl);

    let done = run(&alice, &rollback("checkout")).await.unwrap();
    assert!(done.warnings.is_empty(), "{:?}", done.warnings);
    run(&bob, &flag("checkout-writes")).await.unwrap();

    // Bob's console reads Alice's records, in the team's one order.
    let (recs, bad) = bob.team.records(None).await.unwrap();
    assert_eq!(bad, 0);
    let seen: Vec<(&str, Phase, Outcome)> = recs
        .iter()
        .map(|r| (r.actor.as_str(), r.phase, r.outcome))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("alice", Phase::Intent, Outcome::Pending),
            ("alice", Phase::Result, Outcome::Ok),
            ("bob", Phase::Intent, Outcome::Pending),
            ("bob", Phase::Result, Outcome::Ok),
        ]
    );
    // Exactly the lines each local log holds.
    let mut want = local_hashes(&alice.audit);
    want.extend(local_hashes(&bob.audit));
    assert_eq!(
        recs.iter().map(|r| r.hash.clone()).collect::<Vec<_>>(),
        want
    );
    let v = bob.team.verify().await.unwrap();
    assert_eq!(v.records, 4);
    assert_eq!(v.signers.len(), 2, "both responders' keys registered");
    assert_eq!(v.unsigned, 0);
    // Another team sees none of it.
    assert_eq!(other.team.records(None).await.unwrap().0.len(), 0);

    // A changed row is found: by the shared chain, and by the record's own
    // signature once the chain is re-sealed around it.
    let (client, conn) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .execute(
            "UPDATE sitrep_audit SET line = replace(line, '\"bad deploy\"', '\"routine\"')
             WHERE team = 'payments' AND seq = 1",
            &[],
        )
        .await
        .unwrap();
    let e = alice.team.verify().await.unwrap_err();
    assert!(e.starts_with("BROKEN at shared seq 1"), "{e}");
    // A record signed by a key the team never registered is refused.
    client
        .execute("DELETE FROM sitrep_keys WHERE actor = 'alice'", &[])
        .await
        .unwrap();
    client
        .execute(
            "UPDATE sitrep_audit SET line = replace(line, '\"routine\"', '\"bad deploy\"')
             WHERE team = 'payments' AND seq = 1",
            &[],
        )
        .await
        .unwrap();
    let e = bob.team.verify().await.unwrap_err();
    assert!(e.contains("not registered for the team"), "{e}");

    // The password is in no file sitrep wrote.
    for c in [&alice, &bob] {
        for entry in std::fs::read_dir(c.audit.parent().unwrap()).unwrap() {
            let text = std::fs::read(entry.unwrap().path()).unwrap();
            assert!(!String::from_utf8_lossy(&text).contains(common::pg::PASSWORD));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_conflicting_rollbacks_reach_the_provider_once() {
    let Some(pg) = start() else { return };
    let server = fake_server(None).await;
    let ttl = Duration::from_secs(60);
    let dana = console(&pg.url(), "payments", "dana", &server.uri(), ttl);
    let erin = console(&pg.url(), "payments", "erin", &server.uri(), ttl);
    let req = rollback("checkout");
    let (a, b) = tokio::join!(run(&dana, &req), run(&erin, &req));
    let received = server.received_requests().await.unwrap().len();
    assert_eq!(received, 1, "exactly one rollback reached the provider");
    let (ok, refused) = match (a, b) {
        (Ok(_), Err(e)) => (&dana, (e, "dana")),
        (Err(e), Ok(_)) => (&erin, (e, "erin")),
        other => panic!("expected one success and one refusal: {other:?}"),
    };
    let (err, holder) = refused;
    assert!(matches!(err, ExecError::Leased(_)), "{err:?}");
    assert_eq!(err.exit_code(), 2);
    let msg = err.to_string();
    assert!(
        msg.contains(&format!(
            "{holder} is rolling back checkout/production for INC-42"
        )),
        "{msg}"
    );
    assert!(msg.contains("--take-over"), "{msg}");
    let loser = if std::ptr::eq(ok, &dana) {
        &erin
    } else {
        &dana
    };
    // The refusal is recorded, and shared.
    let (recs, _) = loser.team.records(None).await.unwrap();
    assert!(recs.iter().any(|r| r.outcome == Outcome::Refused
        && r.detail["lease"]["holder"] == holder
        && r.target == "checkout/production"));

    // A takeover goes through, and says whose lease it took.
    let taker = loser.ex.clone().with_take_over(true);
    let plan = taker.plan(&req).await.unwrap();
    let done = taker.execute(&req, &plan, Mode::Live).await.unwrap();
    assert_eq!(done.outcome, Outcome::Ok);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    let (recs, _) = ok.team.records(None).await.unwrap();
    let intent = recs
        .iter()
        .rev()
        .find(|r| r.phase == Phase::Intent)
        .unwrap();
    assert_eq!(intent.detail["lease_taken_over"]["holder"], holder);
    // And now the first holder is the one refused.
    let e = run(ok, &req).await.unwrap_err();
    assert!(matches!(e, ExecError::Leased(_)), "{e:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    ok.team.verify().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_holders_lease_expires() {
    let Some(pg) = start() else { return };
    let slow = fake_server(Some(Duration::from_secs(30))).await;
    let fast = fake_server(None).await;
    let ttl = Duration::from_millis(1500);
    let holder = console(&pg.url(), "payments", "dana", &slow.uri(), ttl);
    let other = console(&pg.url(), "payments", "erin", &fast.uri(), ttl);
    let req = rollback("checkout");
    let ex = holder.ex.clone();
    let r = req.clone();
    let task = tokio::spawn(async move {
        let plan = ex.plan(&r).await.unwrap();
        let _ = ex.execute(&r, &plan, Mode::Live).await;
    });
    // The holder is mid-rollback: its request is at the provider.
    let deadline = Instant::now() + Duration::from_secs(10);
    while slow.received_requests().await.unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the holder never called");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Heartbeats keep it held past its TTL.
    tokio::time::sleep(ttl * 2).await;
    let e = run(&other, &req).await.unwrap_err();
    assert!(matches!(e, ExecError::Leased(_)), "{e:?}");
    // The holder dies: its task and its connection are gone.
    task.abort();
    let _ = task.await;
    drop(holder);
    let died = Instant::now();
    let e = run(&other, &req).await.unwrap_err();
    assert!(
        matches!(e, ExecError::Leased(_)),
        "still held right after: {e:?}"
    );
    // Within a TTL (and some) the lease has expired.
    loop {
        match run(&other, &req).await {
            Ok(done) => {
                assert_eq!(done.outcome, Outcome::Ok);
                break;
            }
            Err(ExecError::Leased(_)) => {
                assert!(
                    died.elapsed() < ttl + Duration::from_secs(3),
                    "the lease outlived its TTL"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(fast.received_requests().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_away_keeps_records_local_then_syncs_them_once() {
    let Some(mut pg) = start() else { return };
    let server = fake_server(None).await;
    let c = console(
        &pg.url(),
        "payments",
        "alice",
        &server.uri(),
        Duration::from_secs(60),
    );
    run(&c, &flag("f1")).await.unwrap();
    assert_eq!(c.team.status().reachable, Some(true));

    pg.stop();
    // Actions keep working; the records wait in the local log.
    for key in ["f2", "f3"] {
        let done = run(&c, &flag(key)).await.unwrap();
        let w: Vec<String> = done.warnings.iter().map(|w| w.to_string()).collect();
        assert!(w.iter().any(|w| w.contains("no lease taken")), "{w:?}");
        assert!(
            w.iter().any(|w| w.contains("team log not updated")),
            "{w:?}"
        );
        assert!(w.iter().all(|w| !w.contains(common::pg::PASSWORD)), "{w:?}");
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    let st = c.team.status();
    assert_eq!(st.reachable, Some(false));
    assert_eq!(st.unsynced, 4);
    let banner = st.banner().unwrap();
    assert!(banner.contains("team log unreachable") && banner.contains("4 record(s)"));
    assert!(!banner.contains(common::pg::PASSWORD), "{banner}");

    pg.resume();
    c.ex.sync_team().await.unwrap();
    let st = c.team.status();
    assert_eq!(
        (st.reachable, st.unsynced, st.banner()),
        (Some(true), 0, None)
    );
    let shared = |c: &Console| {
        let t = c.team.clone();
        async move {
            t.records(None)
                .await
                .unwrap()
                .0
                .into_iter()
                .map(|r| r.hash)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(shared(&c).await, local_hashes(&c.audit), "in order, once");
    // Pushed again: nothing doubles.
    c.ex.sync_team().await.unwrap();
    // Killed between the commit and the cursor write: the cursor is lost,
    // everything is offered again, nothing doubles.
    std::fs::remove_file(sitrep::team::log::cursor_path(&c.audit, "payments")).unwrap();
    c.ex.sync_team().await.unwrap();
    assert_eq!(shared(&c).await, local_hashes(&c.audit));
    assert_eq!(c.team.verify().await.unwrap().records, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_fifty_actions_each_nothing_lost_or_duplicated() {
    let Some(pg) = start() else { return };
    let server = fake_server(None).await;
    let ttl = Duration::from_secs(60);
    let a = Arc::new(console(&pg.url(), "payments", "alice", &server.uri(), ttl));
    let b = Arc::new(console(&pg.url(), "payments", "bob", &server.uri(), ttl));
    let writer = |c: Arc<Console>, prefix: &'static str| {
        tokio::spawn(async move {
            for i in 0..50 {
                let done = run(&c, &flag(&format!("{prefix}-{i}"))).await.unwrap();
                assert!(done.warnings.is_empty(), "{:?}", done.warnings);
            }
        })
    };
    let (ra, rb) = tokio::join!(writer(a.clone(), "a"), writer(b.clone(), "b"));
    ra.unwrap();
    rb.unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 100);
    let (recs, bad) = a.team.records(None).await.unwrap();
    assert_eq!((recs.len(), bad), (200, 0));
    let mut shared: Vec<String> = recs.iter().map(|r| r.hash.clone()).collect();
    // Each console's records keep their own order inside the team's.
    for c in [&a, &b] {
        let local = local_hashes(&c.audit);
        let mine: Vec<String> = shared
            .iter()
            .filter(|h| local.contains(h))
            .cloned()
            .collect();
        assert_eq!(mine, local);
    }
    shared.sort();
    shared.dedup();
    assert_eq!(shared.len(), 200, "no record twice");
    let v = b.team.verify().await.unwrap();
    assert_eq!((v.records, v.last_seq), (200, 200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_consoles_migrate_at_once() {
    let Some(pg) = start() else { return };
    let teams: Vec<Arc<Team>> = (0..12)
        .map(|_| {
            Arc::new(Team::new(
                Ok(Secret::new(pg.url())),
                "payments",
                Duration::from_secs(5),
            ))
        })
        .collect();
    let all = futures::future::join_all(teams.iter().map(|t| t.records(None))).await;
    for r in all {
        assert_eq!(r.unwrap().0.len(), 0);
    }
    let (client, conn) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let n: i64 = client
        .query_one("SELECT count(*) FROM sitrep_schema", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n as usize, sitrep::team::db::MIGRATIONS.len());

    // A wrong password is said without the URL or the password.
    let bad = pg.url().replace(common::pg::PASSWORD, "wrong-pw-123");
    let t = Team::new(Ok(Secret::new(bad)), "payments", Duration::from_secs(5));
    let e = t.records(None).await.unwrap_err();
    assert!(e.contains("team database"), "{e}");
    assert!(!e.contains("wrong-pw-123") && !e.contains(&pg.url()), "{e}");
}

async fn sitrep(data: &Path, config: &Path, args: &[&str], url: &str) -> (i32, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_sitrep"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env("SITREP_CONFIG", config)
        .env("SITREP_TEST_TEAM_URL", url)
        .env_remove("SITREP_READ_ONLY")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_cli_responders_share_one_log_and_one_lease() {
    let Some(pg) = start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let flags = dir.path().join("flags.json");
    std::fs::write(
        &flags,
        r#"{"flags":{"checkout-payments-v3":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"on"}}}"#,
    )
    .unwrap();
    let write_config = |who: &str| {
        let p = dir.path().join(format!("{who}.toml"));
        std::fs::write(
            &p,
            format!(
                r#"
[identity]
name = "{who}@example.com"

[team]
database_url = {{ env = "SITREP_TEST_TEAM_URL" }}
name = "payments"
lease_ttl = "60s"

[[provider]]
name = "ff"
kind = "flagd"
path = {:?}
environment = "production"
"#,
                flags.display().to_string()
            ),
        )
        .unwrap();
        p
    };
    let (cfg_a, cfg_b) = (write_config("dana"), write_config("erin"));
    let (data_a, data_b) = (dir.path().join("a"), dir.path().join("b"));
    let url = pg.url();
    let off = [
        "-vv",
        "flag",
        "off",
        "checkout-payments-v3",
        "--reason",
        "kill",
        "--yes",
        "--i-know-this-is-production",
    ];
    let mut seen = String::new();
    let (code, out, err) = sitrep(&data_a, &cfg_a, &off, &url).await;
    assert_eq!(code, 0, "{out}{err}");
    seen.push_str(&(out + &err));
    // The other responder is kept off the flag, told by whom and why.
    let (code, out, err) = sitrep(&data_b, &cfg_b, &off, &url).await;
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("dana@example.com is turning off") && err.contains("(\"kill\")"),
        "{err}"
    );
    assert!(err.contains("--take-over"), "{err}");
    seen.push_str(&(out + &err));
    let mut on: Vec<&str> = off.to_vec();
    on[2] = "on";
    on[5] = "restore";
    on.push("--take-over");
    let (code, out, err) = sitrep(&data_b, &cfg_b, &on, &url).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("lease taken over from dana@example.com"),
        "{err}"
    );
    seen.push_str(&(out + &err));

    // One log for both: dana's console lists erin's records, and verifies.
    let (code, out, err) = sitrep(&data_a, &cfg_a, &["audit", "--json"], &url).await;
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["team"], "payments");
    let actors: Vec<&str> = doc["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    // intent+result by dana, a refusal by erin, intent+result by erin.
    assert_eq!(actors.len(), 5, "{actors:?}");
    assert_eq!(actors.iter().filter(|a| a.starts_with("erin")).count(), 3);
    seen.push_str(&(out + &err));
    let (code, out, err) = sitrep(&data_b, &cfg_b, &["audit", "verify"], &url).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("team log payments: ok, 5 records"), "{out}");
    seen.push_str(&(out + &err));

    // Neither the password nor the URL in any output or file.
    assert!(!seen.contains(common::pg::PASSWORD), "{seen}");
    for d in [&data_a, &data_b] {
        for e in walk(d) {
            let text = String::from_utf8_lossy(&std::fs::read(&e).unwrap()).into_owned();
            assert!(!text.contains(common::pg::PASSWORD), "{}", e.display());
        }
    }
}

fn walk(d: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(d) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
