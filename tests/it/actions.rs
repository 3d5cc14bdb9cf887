//! The audited executor against a fake HTTP provider (wiremock): fail
//! closed on audit write/fsync failure, read-only, dry-run, ambiguity,
//! intent-before-request with the idempotency key, no retry of writes; the
//! signed webhook and its retry queue; the CLI confirmation rules; and a
//! secret-leak sweep over everything sitrep writes.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use sitrep::actions::{ActionRequest, ExecError, Executor, Mode};
use sitrep::audit::webhook::{SIGNATURE_HEADER, Webhook};
use sitrep::audit::{self, AuditLog, Faults, Outcome, Phase};
use sitrep::config::ProviderKind;
use sitrep::model::Fetched;
use sitrep::ops::{ExecResult, Plan, PlanCtx, PlannedRequest, Precondition, WriteOp};
use sitrep::providers::{BoxFut, ErrorKind, Provider, ProviderError, Registry};
use sitrep::secrets::Secret;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "sk-LEAKCHECK-7f3a9c1e55";
const WEBHOOK_SECRET: &str = "whsec-LEAKCHECK-b04d2e";

fn tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A provider that sends its writes to a fake server, counts calls, and
/// checks at call time that the intent record is already on disk.
struct FakeHttp {
    name: String,
    base: String,
    token: Secret,
    audit: PathBuf,
    calls: AtomicUsize,
    intent_was_durable: Mutex<Vec<bool>>,
}

impl FakeHttp {
    fn new(name: &str, base: &str, audit: &Path) -> Arc<Self> {
        Arc::new(FakeHttp {
            name: name.into(),
            base: base.into(),
            token: Secret::new(TOKEN),
            audit: audit.to_path_buf(),
            calls: AtomicUsize::new(0),
            intent_was_durable: Mutex::new(vec![]),
        })
    }
}

impl Provider for FakeHttp {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> ProviderKind {
        ProviderKind::Launchdarkly
    }
    fn fetch(&self) -> BoxFut<'_, Result<Fetched, ProviderError>> {
        Box::pin(async { Ok(Fetched::default()) })
    }
    fn supports(&self, op: &WriteOp) -> bool {
        matches!(op, WriteOp::FlagSet { .. })
    }
    fn plan<'a>(
        &'a self,
        op: &'a WriteOp,
        _ctx: &'a PlanCtx,
    ) -> BoxFut<'a, Result<Plan, ProviderError>> {
        Box::pin(async move {
            let WriteOp::FlagSet { key, on, .. } = op else {
                return Err(ProviderError::unsupported(&self.name, "only flags"));
            };
            Ok(Plan {
                op: op.clone(),
                provider: self.name.clone(),
                summary: format!("turn {key} {}", if *on { "on" } else { "off" }),
                stakes: vec![("environment".into(), "production".into())],
                requests: vec![PlannedRequest {
                    method: "PATCH".into(),
                    url: format!("{}/flags/{key}", self.base),
                    headers: vec![("Authorization".into(), "<redacted>".into())],
                    body: Some(serde_json::json!({"on": on, "ratio": 0.25})),
                }],
                detail: serde_json::json!({"was_on": !on}),
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
            self.calls.fetch_add(1, Ordering::SeqCst);
            let on_disk = std::fs::read_to_string(&self.audit).unwrap_or_default();
            let durable = on_disk.lines().any(|l| {
                l.contains("\"phase\":\"intent\"")
                    && l.contains(&format!("\"idempotency_key\":\"{key}\""))
            });
            self.intent_was_durable.lock().unwrap().push(durable);
            let r = &plan.requests[0];
            let resp = reqwest::Client::new()
                .patch(&r.url)
                .header("Authorization", format!("Bearer {}", self.token.expose()))
                .header("Idempotency-Key", key)
                .json(&r.body)
                .send()
                .await
                .map_err(|_| ProviderError::new(&self.name, ErrorKind::Connect, "send failed"))?;
            let st = resp.status().as_u16();
            if st >= 500 {
                return Err(ProviderError::new(
                    &self.name,
                    ErrorKind::Server { status: st },
                    "upstream unavailable",
                ));
            }
            Ok(ExecResult {
                message: "flag changed".into(),
                detail: serde_json::json!({"status": st}),
            })
        })
    }
}

fn flag_req(provider: Option<&str>) -> ActionRequest {
    ActionRequest {
        op: WriteOp::FlagSet {
            provider: provider.map(str::to_string),
            key: "checkout-writes".into(),
            environment: Some("production".into()),
            on: false,
        },
        reason: "db failover \u{1b}]52;c;ZWNobyBwd25lZA==\u{7}".into(),
        incident: Some("Q1".into()),
        runbook: None,
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    server: MockServer,
    audit: PathBuf,
    fake: Arc<FakeHttp>,
}

async fn setup() -> Setup {
    tls();
    let dir = tempfile::tempdir().unwrap();
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let audit = dir.path().join("audit.jsonl");
    let fake = FakeHttp::new("ld", &server.uri(), &audit);
    Setup {
        _dir: dir,
        server,
        audit,
        fake,
    }
}

fn executor(s: &Setup, log: AuditLog) -> Executor {
    let reg = Registry {
        providers: vec![s.fake.clone() as Arc<dyn Provider>],
        demo: false,
        keep: Vec::new(),
    };
    Executor::new(reg, Arc::new(log)).with_actor("alice@example.com", "laptop")
}

async fn requests(s: &Setup) -> usize {
    s.server.received_requests().await.unwrap_or_default().len()
}

#[tokio::test]
async fn live_action_records_intent_before_the_request_and_sends_the_key() {
    let s = setup().await;
    let ex = executor(
        &s,
        AuditLog::new(&s.audit, sitrep::audit::Signer::ephemeral()),
    );
    let req = flag_req(None);
    let plan = ex.plan(&req).await.unwrap();
    assert_eq!(plan.provider, "ld");
    let done = ex.execute(&req, &plan, Mode::Live).await.unwrap();
    assert_eq!(done.outcome, Outcome::Ok);
    assert_eq!(s.fake.calls.load(Ordering::SeqCst), 1);
    assert_eq!(*s.fake.intent_was_durable.lock().unwrap(), vec![true]);
    let got = s.server.received_requests().await.unwrap();
    assert_eq!(got.len(), 1);
    let key = done.idempotency_key.clone().unwrap();
    assert_eq!(
        got[0]
            .headers
            .get("Idempotency-Key")
            .unwrap()
            .to_str()
            .unwrap(),
        key
    );
    let (recs, _) = audit::read(&s.audit).unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(
        (recs[0].phase, recs[0].outcome),
        (Phase::Intent, Outcome::Pending)
    );
    assert_eq!(
        (recs[1].phase, recs[1].outcome),
        (Phase::Result, Outcome::Ok)
    );
    assert!(
        recs.iter()
            .all(|r| r.idempotency_key.as_deref() == Some(key.as_str()))
    );
    assert_eq!(recs[0].incident.as_deref(), Some("Q1"));
    // The reason was sanitized: the OSC 52 sequence is gone.
    assert!(recs[0].reason.starts_with("db failover"));
    assert!(!recs[0].reason.contains('\u{1b}') && !recs[0].reason.contains("52;c"));
    // The float in the request body became a string.
    assert_eq!(recs[0].detail["requests"][0]["body"]["ratio"], "0.25");
    // The token is on the wire, never in the log.
    let text = std::fs::read_to_string(&s.audit).unwrap();
    assert!(!text.contains(TOKEN));
    assert!(audit::verify(&s.audit).is_ok());
}

#[tokio::test]
async fn fsync_or_write_failure_refuses_and_sends_nothing() {
    let s = setup().await;
    for faults in [
        Faults {
            fail_write_at: None,
            fail_sync_at: Some(0),
        },
        Faults {
            fail_write_at: Some(0),
            fail_sync_at: None,
        },
    ] {
        let ex = executor(
            &s,
            AuditLog::new(&s.audit, sitrep::audit::Signer::ephemeral()).with_faults(faults),
        );
        let req = flag_req(None);
        let plan = ex.plan(&req).await.unwrap();
        let e = ex.execute(&req, &plan, Mode::Live).await.unwrap_err();
        assert!(matches!(e, ExecError::Audit(_)), "{e:?}");
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("nothing was sent"), "{e}");
        // The writer is poisoned: the next action is refused as well.
        let e = ex.execute(&req, &plan, Mode::Live).await.unwrap_err();
        assert!(
            matches!(e, ExecError::Audit(audit::AuditError::Poisoned)),
            "{e:?}"
        );
        assert!(ex.audit().is_poisoned());
    }
    assert_eq!(s.fake.calls.load(Ordering::SeqCst), 0);
    assert_eq!(requests(&s).await, 0);
    // An unwritable log location refuses too.
    let blocker = s.audit.parent().unwrap().join("file");
    std::fs::write(&blocker, "x").unwrap();
    let ex = executor(
        &s,
        AuditLog::new(
            blocker.join("audit.jsonl"),
            sitrep::audit::Signer::ephemeral(),
        ),
    );
    let req = flag_req(None);
    let plan = ex.plan(&req).await.unwrap();
    assert!(matches!(
        ex.execute(&req, &plan, Mode::Live).await,
        Err(ExecError::Audit(_))
    ));
    assert_eq!(requests(&s).await, 0);
}

#[tokio::test]
async fn read_only_and_dry_run_send_nothing() {
    let s = setup().await;
    let ex = executor(
        &s,
        AuditLog::new(&s.audit, sitrep::audit::Signer::ephemeral()),
    )
    .with_read_only(true);
    let req = flag_req(None);
    let plan = ex.plan(&req).await.unwrap();
    let e = ex.execute(&req, &plan, Mode::Live).await.unwrap_err();
    assert_eq!(e, ExecError::ReadOnly);
    assert_eq!(e.exit_code(), 2);
    // Read-only wins over dry-run as well.
    assert_eq!(
        ex.execute(&req, &plan, Mode::DryRun).await.unwrap_err(),
        ExecError::ReadOnly
    );
    let ex = ex.with_read_only(false);
    let done = ex.execute(&req, &plan, Mode::DryRun).await.unwrap();
    assert_eq!(done.outcome, Outcome::DryRun);
    assert_eq!(done.idempotency_key, None);
    assert_eq!(s.fake.calls.load(Ordering::SeqCst), 0);
    assert_eq!(requests(&s).await, 0);
    let (recs, _) = audit::read(&s.audit).unwrap();
    let outcomes: Vec<_> = recs.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [Outcome::Refused, Outcome::Refused, Outcome::DryRun]
    );
    // The dry-run record carries the exact request, credentials redacted.
    assert_eq!(recs[2].detail["requests"][0]["method"], "PATCH");
    assert!(!std::fs::read_to_string(&s.audit).unwrap().contains(TOKEN));
}

#[tokio::test]
async fn provider_failure_is_recorded_not_retried_and_exits_4() {
    let s = setup().await;
    s.server.reset().await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&s.server)
        .await;
    let ex = executor(
        &s,
        AuditLog::new(&s.audit, sitrep::audit::Signer::ephemeral()),
    );
    let req = flag_req(None);
    let plan = ex.plan(&req).await.unwrap();
    let e = ex.execute(&req, &plan, Mode::Live).await.unwrap_err();
    assert_eq!(e.exit_code(), 4);
    assert!(e.to_string().contains("ld: server error (503)"), "{e}");
    assert_eq!(requests(&s).await, 1);
    let (recs, _) = audit::read(&s.audit).unwrap();
    assert_eq!(recs[1].outcome, Outcome::Error);
    assert!(recs[1].detail["error"].as_str().unwrap().contains("503"));
}

#[tokio::test]
async fn ambiguous_providers_are_named_and_nothing_is_sent() {
    let s = setup().await;
    let other = FakeHttp::new("flags2", &s.server.uri(), &s.audit);
    let reg = Registry {
        providers: vec![s.fake.clone() as Arc<dyn Provider>, other.clone()],
        demo: false,
        keep: Vec::new(),
    };
    let ex = Executor::new(
        reg,
        Arc::new(AuditLog::new(&s.audit, sitrep::audit::Signer::ephemeral())),
    );
    let e = ex.plan(&flag_req(None)).await.unwrap_err();
    assert_eq!(e.exit_code(), 2);
    let msg = e.to_string();
    assert!(
        msg.contains("ld") && msg.contains("flags2") && msg.contains("--provider"),
        "{msg}"
    );
    // Naming one resolves it.
    let req = flag_req(Some("flags2"));
    let plan = ex.plan(&req).await.unwrap();
    assert_eq!(plan.provider, "flags2");
    // A plan for another action is refused.
    let mut other_req = flag_req(Some("flags2"));
    other_req.op = WriteOp::FlagSet {
        provider: Some("flags2".into()),
        key: "something-else".into(),
        environment: None,
        on: false,
    };
    assert!(matches!(
        ex.execute(&other_req, &plan, Mode::Live).await,
        Err(ExecError::Refused(_))
    ));
    assert_eq!(requests(&s).await, 0);
    assert!(ex.is_production(&req.op));
}

fn check_signature(body: &[u8], header: &str) -> bool {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(WEBHOOK_SECRET.as_bytes()).unwrap();
    m.update(body);
    let want = format!("sha256={}", hex::encode(m.finalize().into_bytes()));
    want == header
}

#[tokio::test]
async fn webhook_posts_signed_records_and_retries_from_the_queue() {
    let s = setup().await;
    let hook = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&hook)
        .await;
    let queue = s.audit.with_file_name("webhook-queue.jsonl");
    let mk = || {
        Webhook::new(
            &format!("{}/hook", hook.uri()),
            Ok(Some(Secret::new(WEBHOOK_SECRET))),
            queue.clone(),
        )
    };
    let ex = executor(
        &s,
        AuditLog::new(&s.audit, sitrep::audit::Signer::ephemeral()),
    )
    .with_webhook(Some(mk()));
    let req = flag_req(None);
    let plan = ex.plan(&req).await.unwrap();
    // Delivery fails: the action still succeeds, the records wait in the queue.
    let done = ex.execute(&req, &plan, Mode::Live).await.unwrap();
    assert_eq!(done.outcome, Outcome::Ok);
    assert!(
        done.warnings
            .iter()
            .any(|w| w.as_str().contains("HTTP 500")),
        "{:?}",
        done.warnings
    );
    assert_eq!(std::fs::read_to_string(&queue).unwrap().lines().count(), 2);
    assert_eq!(requests(&s).await, 1);
    // The endpoint recovers: the queue is delivered first, in order.
    hook.reset().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&hook)
        .await;
    let before = hook.received_requests().await.unwrap().len();
    ex.execute(&req, &plan, Mode::DryRun).await.unwrap();
    let got = hook.received_requests().await.unwrap();
    let delivered = &got[before..];
    let log_lines: Vec<String> = std::fs::read_to_string(&s.audit)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(delivered.len(), 3);
    for (r, line) in delivered.iter().zip(&log_lines) {
        assert_eq!(r.body, line.as_bytes(), "the body is the exact audit line");
        let sig = r.headers.get(SIGNATURE_HEADER).unwrap().to_str().unwrap();
        assert!(check_signature(&r.body, sig), "bad signature {sig}");
        assert_eq!(
            r.headers.get("content-type").unwrap().to_str().unwrap(),
            "application/json"
        );
    }
    assert_eq!(std::fs::read_to_string(&queue).unwrap(), "");
    assert!(
        !std::fs::read_to_string(&s.audit)
            .unwrap()
            .contains(WEBHOOK_SECRET)
    );
}

// ---------------------------------------------------------------------------
// The CLI, as a user runs it.

async fn sitrep(
    data: &Path,
    config: &Path,
    args: &[&str],
    extra_env: &[(&str, &str)],
) -> (i32, String, String) {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_sitrep"));
    c.arg("--data-dir")
        .arg(data)
        .args(args)
        .env("SITREP_CONFIG", config)
        .env_remove("SITREP_READ_ONLY")
        .stdin(std::process::Stdio::null());
    for (k, v) in extra_env {
        c.env(k, v);
    }
    let out = c.output().await.unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn records(data: &Path) -> Vec<audit::Record> {
    // The demo's own log, in its own data dir.
    audit::read(&data.join("demo").join("audit.jsonl"))
        .unwrap()
        .0
}

#[tokio::test]
async fn cli_refuses_without_a_terminal_and_guards_production() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = d.join("none.toml");
    let (code, _, err) = sitrep(
        d,
        &cfg,
        &[
            "--demo",
            "flag",
            "off",
            "checkout-payments-v3",
            "--reason",
            "x",
        ],
        &[],
    )
    .await;
    assert_eq!(code, 2);
    assert!(
        err.contains("no terminal") && err.contains("--yes"),
        "{err}"
    );
    let (code, _, err) = sitrep(
        d,
        &cfg,
        &[
            "--demo",
            "rollback",
            "checkout",
            "--env",
            "production",
            "--reason",
            "x",
            "--yes",
        ],
        &[],
    )
    .await;
    assert_eq!(code, 2);
    assert!(err.contains("--i-know-this-is-production"), "{err}");
    let (code, _, err) = sitrep(
        d,
        &cfg,
        &[
            "--demo",
            "--read-only",
            "incident",
            "ack",
            "Q1CHK5XZ01",
            "--yes",
        ],
        &[],
    )
    .await;
    assert_eq!(code, 2);
    assert!(err.contains("read-only"), "{err}");
    let (code, _, err) = sitrep(
        d,
        &cfg,
        &["--demo", "incident", "ack", "Q1CHK5XZ01", "--yes"],
        &[("SITREP_READ_ONLY", "1")],
    )
    .await;
    assert_eq!(code, 2, "{err}");
    // Nothing was carried out: no intent, only refusals.
    let recs = records(d);
    assert_eq!(recs.len(), 4);
    assert!(
        recs.iter()
            .all(|r| r.outcome == Outcome::Refused && r.phase == Phase::Result)
    );
    // Dry-run prints the exact request with credentials redacted.
    let (code, out, _) = sitrep(
        d,
        &cfg,
        &[
            "--demo",
            "rollback",
            "checkout",
            "--env",
            "production",
            "--reason",
            "x",
            "--dry-run",
        ],
        &[],
    )
    .await;
    assert_eq!(code, 0);
    assert!(
        out.contains("POST http://127.0.0.1:") && out.contains("/repos/acme/checkout/deployments"),
        "{out}"
    );
    assert!(out.contains("Authorization: Bearer <redacted>"), "{out}");
    assert_eq!(records(d).last().unwrap().outcome, Outcome::DryRun);
    // Production with both flags goes through; ambiguity/unknowns exit 2.
    let (code, out, err) = sitrep(
        d,
        &cfg,
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
        ],
        &[],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("rolled back checkout/production"), "{out}");
    let (code, _, err) = sitrep(
        d,
        &cfg,
        &["--demo", "incident", "ack", "NOPE", "--yes"],
        &[],
    )
    .await;
    assert_eq!(code, 2);
    assert!(err.contains("pd") && err.contains("NOPE"), "{err}");
    let (code, out, _) = sitrep(d, &cfg, &["--demo", "audit", "verify"], &[]).await;
    assert_eq!(code, 0);
    assert!(out.contains("ok, 7 records"), "{out}");
    let (code, out, _) = sitrep(d, &cfg, &["--demo", "audit", "--json", "--limit", "2"], &[]).await;
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let e = v["entries"].as_array().unwrap();
    assert_eq!(e.len(), 2);
    assert_eq!(e[0]["seq"], 7);
    assert_eq!(e[0]["phase"], "result");
    assert!(v["generated_at"].is_string());
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_leak_sweep_over_every_action_and_every_file() {
    tls();
    let hook = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&hook)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    let cfg = dir.path().join("config.toml");
    // The flag actions go to a real (local) flagd file: the demo's actions
    // are written to the demo's own log and never sent to the webhook.
    let flags = dir.path().join("flags.json");
    std::fs::write(
        &flags,
        r#"{"flags":{"checkout-payments-v3":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"on"}}}"#,
    )
    .unwrap();
    std::fs::write(
        &cfg,
        format!(
            r#"
[identity]
name = "leak-test@example.com"

[audit]
webhook = {{ url = "{}/hook", secret = {{ env = "SITREP_TEST_WEBHOOK_SECRET" }} }}

[[provider]]
name = "pd"
kind = "pagerduty"
base_url = "{}"
token = {{ env = "SITREP_TEST_PD_TOKEN" }}

[[provider]]
name = "ff"
kind = "flagd"
path = {:?}
environment = "production"
"#,
            hook.uri(),
            hook.uri(),
            flags.display().to_string()
        ),
    )
    .unwrap();
    let env = [
        ("SITREP_TEST_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("SITREP_TEST_PD_TOKEN", TOKEN),
    ];
    let runs: Vec<Vec<&str>> = vec![
        vec!["incident", "ack", "Q1CHK5XZ01"],
        vec!["incident", "resolve", "Q1PAY7LAG2"],
        vec!["incident", "note", "Q1CHK5XZ01", "rolled back"],
        vec![
            "silence",
            "--matcher",
            "alertname=DiskWillFillIn4Hours",
            "--duration",
            "2h",
            "--reason",
            "disk",
        ],
        vec![
            "rollback",
            "checkout",
            "--env",
            "production",
            "--reason",
            "bad",
            "--i-know-this-is-production",
        ],
        // The demo's flags are production: the guard's flag too.
        vec![
            "flag",
            "off",
            "checkout-payments-v3",
            "--reason",
            "kill",
            "--i-know-this-is-production",
        ],
        vec![
            "flag",
            "on",
            "checkout-payments-v3",
            "--reason",
            "restore",
            "--i-know-this-is-production",
        ],
    ];
    let mut outputs = String::new();
    let mut n_ok = 0;
    for args in &runs {
        for mode in [
            &["--yes"][..],
            &["--dry-run"][..],
            &[][..],
            &["--yes", "--read-only"][..],
        ] {
            let mut a = vec!["-vv"];
            if args[0] != "flag" {
                a.push("--demo");
            }
            a.extend_from_slice(args);
            a.extend_from_slice(mode);
            let (code, out, err) = sitrep(&d, &cfg, &a, &env).await;
            if code == 0 {
                n_ok += 1;
            }
            outputs.push_str(&out);
            outputs.push_str(&err);
        }
    }
    assert_eq!(
        n_ok,
        runs.len() * 2,
        "every live (--yes) and dry-run action succeeds:\n{outputs}"
    );
    for args in [
        &["--demo", "audit"][..],
        &["--demo", "audit", "--json"],
        &["--demo", "audit", "verify"],
        &["auth", "status"],
        &["-vv", "status"],
    ] {
        let (_, out, err) = sitrep(&d, &cfg, args, &env).await;
        outputs.push_str(&out);
        outputs.push_str(&err);
    }
    // The secrets were loaded and used: the webhook got signed records...
    // (The same server also plays PagerDuty for `status`: only the POSTs
    // to /hook are webhook deliveries.)
    let got: Vec<_> = hook
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/hook")
        .collect();
    // Two flag actions, each live (intent + result), dry-run, refused
    // without a terminal and refused read-only.
    assert!(got.len() >= 10, "webhook deliveries: {}", got.len());
    for r in &got {
        assert!(
            !String::from_utf8_lossy(&r.body).contains("\"demo\""),
            "a demo record reached the webhook"
        );
        let sig = r.headers.get(SIGNATURE_HEADER).unwrap().to_str().unwrap();
        assert!(check_signature(&r.body, sig));
    }
    // ...and auth status saw the token (without printing it).
    assert!(
        outputs.contains("env SITREP_TEST_PD_TOKEN") && outputs.contains("present"),
        "{outputs}"
    );
    // Nothing sitrep wrote or printed contains either secret.
    let written = files(&d);
    assert!(written.iter().any(|p| p.ends_with("audit.jsonl")));
    assert!(written.iter().any(|p| p.ends_with("sitrep.log")));
    for p in &written {
        let bytes = std::fs::read(p).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for s in [TOKEN, WEBHOOK_SECRET] {
            assert!(!text.contains(s), "{} contains a secret", p.display());
        }
    }
    for s in [TOKEN, WEBHOOK_SECRET] {
        assert!(
            !outputs.contains(s),
            "the terminal output contains a secret"
        );
    }
    for r in &got {
        assert!(!String::from_utf8_lossy(&r.body).contains(TOKEN));
    }
    assert!(audit::verify(&d.join("audit.jsonl")).is_ok());
    assert!(audit::verify(&d.join("demo").join("audit.jsonl")).is_ok());
}

#[tokio::test]
async fn interactive_confirmation_needs_the_exact_name() {
    use sitrep::cli::WriteFlags;
    use sitrep::cli::actions::run_write_with;
    use std::io::Cursor;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let ex = Executor::new(
        Registry::demo(chrono::Utc::now()),
        Arc::new(AuditLog::new(&path, sitrep::audit::Signer::ephemeral())),
    );
    let rollback = || {
        ActionRequest::new(
            WriteOp::Rollback {
                provider: None,
                service: "checkout".into(),
                environment: "production".into(),
                to: None,
            },
            "bad deploy",
        )
    };
    let yes = WriteFlags {
        yes: true,
        ..WriteFlags::default()
    };
    // On a terminal, production with --yes but without
    // --i-know-this-is-production still asks for the typed name.
    for typed in [
        "Checkout\n",
        "checkout \n",
        " checkout\n",
        "checkou\n",
        "checkout/production\n",
        "checkout\u{1b}[A\n",
        "",
    ] {
        let code = run_write_with(&ex, rollback(), &yes, true, &mut Cursor::new(typed)).await;
        assert_eq!(code, 2, "{typed:?} was accepted");
    }
    let code = run_write_with(&ex, rollback(), &yes, true, &mut Cursor::new("checkout\n")).await;
    assert_eq!(code, 0);
    let (recs, _) = audit::read(&path).unwrap();
    let outcomes: Vec<_> = recs.iter().map(|r| r.outcome).collect();
    let mut want = vec![Outcome::Refused; 7];
    want.extend([Outcome::Pending, Outcome::Ok]);
    assert_eq!(outcomes, want);
    // An ack asks y/N.
    let ack = || {
        ActionRequest::new(
            WriteOp::IncidentAck {
                provider: None,
                id: "Q1CHK5XZ01".into(),
            },
            "",
        )
    };
    let none = WriteFlags::default();
    assert_eq!(
        run_write_with(&ex, ack(), &none, true, &mut Cursor::new("\n")).await,
        2
    );
    assert_eq!(
        run_write_with(&ex, ack(), &none, true, &mut Cursor::new("y\n")).await,
        0
    );
    // --yes with --i-know-this-is-production skips the prompt.
    let both = WriteFlags {
        yes: true,
        i_know_this_is_production: true,
        ..WriteFlags::default()
    };
    let r = ActionRequest::new(
        WriteOp::Rollback {
            provider: None,
            service: "checkout".into(),
            environment: "production".into(),
            to: None,
        },
        "again",
    );
    let fresh = Executor::new(
        Registry::demo(chrono::Utc::now()),
        Arc::new(AuditLog::new(&path, sitrep::audit::Signer::ephemeral())),
    );
    let code = run_write_with(&fresh, r, &both, false, &mut Cursor::new("")).await;
    assert_eq!(code, 0);
    let (recs, _) = audit::read(&path).unwrap();
    assert_eq!(recs.last().unwrap().outcome, Outcome::Ok);
    assert_eq!(recs.last().unwrap().reason, "again");
    assert!(audit::verify(&path).is_ok());
}

/// The TUI runs actions on spawned tasks: the executor and its futures are
/// `Send + 'static`.
#[tokio::test]
async fn executor_runs_on_spawned_tasks() {
    let s = setup().await;
    let ex = executor(
        &s,
        AuditLog::new(&s.audit, sitrep::audit::Signer::ephemeral()),
    );
    let req = flag_req(None);
    let (e2, r2) = (ex.clone(), req.clone());
    let plan = tokio::spawn(async move { e2.plan(&r2).await })
        .await
        .unwrap()
        .unwrap();
    let done = tokio::spawn(async move { ex.execute(&req, &plan, Mode::Live).await })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.outcome, Outcome::Ok);
    assert_eq!(done.records, vec![1, 2]);
    assert_eq!(requests(&s).await, 1);
}

/// A provider that, while carrying out the write, takes the audit log's
/// lock and keeps it (another process holding it too long).
struct HoldsTheLog {
    audit: PathBuf,
    held: Mutex<Option<std::fs::File>>,
}

impl Provider for HoldsTheLog {
    fn name(&self) -> &str {
        "ld"
    }
    fn kind(&self) -> ProviderKind {
        ProviderKind::Launchdarkly
    }
    fn fetch(&self) -> BoxFut<'_, Result<Fetched, ProviderError>> {
        Box::pin(async { Ok(Fetched::default()) })
    }
    fn supports(&self, op: &WriteOp) -> bool {
        matches!(op, WriteOp::FlagSet { .. })
    }
    fn plan<'a>(
        &'a self,
        op: &'a WriteOp,
        _ctx: &'a PlanCtx,
    ) -> BoxFut<'a, Result<Plan, ProviderError>> {
        Box::pin(async move {
            Ok(Plan {
                op: op.clone(),
                provider: "ld".into(),
                summary: "turn it off".into(),
                stakes: vec![],
                requests: vec![],
                detail: serde_json::json!({}),
                precondition: Precondition::None,
                environment: None,
            })
        })
    }
    fn execute<'a>(
        &'a self,
        _plan: &'a Plan,
        _key: &'a str,
    ) -> BoxFut<'a, Result<ExecResult, ProviderError>> {
        Box::pin(async move {
            let f = std::fs::OpenOptions::new()
                .append(true)
                .open(&self.audit)
                .map_err(|e| ProviderError::new("ld", ErrorKind::Unknown, e.to_string()))?;
            f.lock()
                .map_err(|e| ProviderError::new("ld", ErrorKind::Unknown, e.to_string()))?;
            *self.held.lock().unwrap() = Some(f);
            Ok(ExecResult {
                message: "flag changed".into(),
                detail: serde_json::json!({}),
            })
        })
    }
}

/// The audit lock held past its wait when the result is written: the
/// command fails with exit 6 saying the provider did it (never exit 0 with
/// a lost record), and once the lock is free the next start records the
/// open intent as outcome unknown.
#[tokio::test]
async fn a_result_blocked_by_a_held_lock_is_reported_then_reconciled() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("audit.jsonl");
    let p = Arc::new(HoldsTheLog {
        audit: log_path.clone(),
        held: Mutex::new(None),
    });
    let ex = Executor::new(
        Registry {
            providers: vec![p.clone()],
            demo: false,
            keep: Vec::new(),
        },
        Arc::new(
            AuditLog::new(&log_path, sitrep::audit::Signer::ephemeral())
                .with_lock_timeout(std::time::Duration::from_millis(100)),
        ),
    );
    let req = ActionRequest::new(
        WriteOp::FlagSet {
            provider: None,
            key: "k".into(),
            environment: None,
            on: false,
        },
        "drill",
    );
    let plan = ex.plan(&req).await.unwrap();
    let e = ex.execute(&req, &plan, Mode::Live).await.unwrap_err();
    assert!(
        matches!(e, ExecError::Unrecorded { done: true, .. }),
        "{e:?}"
    );
    assert_eq!(e.exit_code(), sitrep::app::exit::UNRECORDED);
    assert!(e.to_string().contains("audit log busy"), "{e}");
    let (recs, _) = audit::read(&log_path).unwrap();
    assert_eq!(recs.len(), 1, "only the intent");
    // The lock is let go; the next start closes the intent.
    drop(p.held.lock().unwrap().take());
    let later = chrono::Utc::now() + chrono::Duration::minutes(5);
    assert_eq!(
        ex.reconcile(later, sitrep::actions::reconcile_min_age())
            .unwrap(),
        1
    );
    let (recs, _) = audit::read(&log_path).unwrap();
    assert_eq!(recs[1].detail["cause"], "outcome unknown");
    assert_eq!(recs[1].outcome, Outcome::Error);
}
