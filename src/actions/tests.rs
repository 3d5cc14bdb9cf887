//! The executor's record sequence, refusals and runbook commands.

use super::*;

#[test]
fn keys_look_like_uuid_v4() {
    let k = new_idempotency_key();
    assert_eq!(k.len(), 36);
    let parts: Vec<&str> = k.split('-').collect();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12]
    );
    assert!(parts[2].starts_with('4'));
    assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"));
    assert_ne!(k, new_idempotency_key());
}

fn req(op: WriteOp) -> ActionRequest {
    ActionRequest::new(op, "test")
}

#[tokio::test]
async fn demo_flow_records_intent_then_result() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(AuditLog::new(
        dir.path().join("audit.jsonl"),
        crate::audit::Signer::ephemeral(),
    ));
    let ex = Executor::new(Registry::demo(chrono::Utc::now()), log).with_actor("alice", "box");
    let r = req(WriteOp::FlagSet {
        provider: None,
        key: "checkout-payments-v3".into(),
        environment: None,
        on: false,
    });
    let plan = ex.plan(&r).await.unwrap();
    assert_eq!(plan.provider, "ld");
    let done = ex.execute(&r, &plan, Mode::Live).await.unwrap();
    assert_eq!(done.records, vec![1, 2]);
    let (recs, _) = audit::read(&dir.path().join("audit.jsonl")).unwrap();
    assert_eq!(recs[0].phase, Phase::Intent);
    assert_eq!(recs[0].outcome, Outcome::Pending);
    assert_eq!(recs[1].outcome, Outcome::Ok);
    assert_eq!(recs[0].idempotency_key, done.idempotency_key);
    assert_eq!(recs[1].idempotency_key, done.idempotency_key);
    assert_eq!(recs[1].action, "flag.off");
    assert_eq!(recs[1].provider.as_deref(), Some("ld"));
    let (newest, bad) = ex.recent(1).unwrap();
    assert_eq!((newest.len(), newest[0].seq, bad), (1, 2, 0));
    assert_eq!(ex.verify().unwrap().records, 2);
    // A provider error: recorded, exit 4, names the provider.
    let r = req(WriteOp::IncidentAck {
        provider: Some("am".into()),
        id: "x".into(),
    });
    let e = ex.plan(&r).await.unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("am"), "{e}");
    // Unknown provider and no provider.
    let r = req(WriteOp::IncidentAck {
        provider: Some("nope".into()),
        id: "x".into(),
    });
    assert_eq!(
        ex.plan(&r).await.unwrap_err(),
        ExecError::UnknownProvider("nope".into())
    );
    // No provider that can: the demo without its Alertmanager.
    let mut reg = Registry::demo(chrono::Utc::now());
    reg.providers.retain(|p| p.name() != "am");
    let ex = Executor::new(
        reg,
        Arc::new(AuditLog::new(
            dir.path().join("audit2.jsonl"),
            crate::audit::Signer::ephemeral(),
        )),
    );
    let r = req(WriteOp::SilenceExpire {
        provider: None,
        id: "x".into(),
    });
    assert!(matches!(
        ex.plan(&r).await.unwrap_err(),
        ExecError::NoProvider { .. }
    ));
}

#[tokio::test]
async fn runbook_exec_needs_allow_exec_and_records_output() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let ex = Executor::new(
        Registry::default(),
        Arc::new(AuditLog::new(&path, crate::audit::Signer::ephemeral())),
    );
    let r = req(WriteOp::RunbookExec {
        runbook: "db-failover".into(),
        step: 2,
        command: "printf 'hello\\033[2J'; exit 3".into(),
    });
    let plan = ex.plan(&r).await.unwrap();
    assert_eq!(
        ex.execute(&r, &plan, Mode::Live).await.unwrap_err(),
        ExecError::ExecDisabled
    );
    let ex = ex.with_allow_exec(true);
    let e = ex.execute(&r, &plan, Mode::Live).await.unwrap_err();
    assert_eq!(e.exit_code(), 4);
    let (recs, _) = audit::read(&path).unwrap();
    assert_eq!(recs.len(), 3);
    assert_eq!(recs[0].outcome, Outcome::Refused);
    assert_eq!(recs[2].outcome, Outcome::Error);
    assert_eq!(recs[2].detail["exit"], 3);
    let out = recs[2].detail["output"].as_str().unwrap();
    assert!(out.starts_with("hello") && !out.contains('\u{1b}'), "{out}");
    assert_eq!(
        recs[2].runbook,
        Some(RunbookRef {
            id: "db-failover".into(),
            step: 2
        })
    );
    assert_eq!(recs[2].provider, None);
    // A step is only recorded.
    let r = req(WriteOp::RunbookStep {
        runbook: "db-failover".into(),
        step: 1,
        item: Some(2),
        checked: true,
    });
    let plan = ex.plan(&r).await.unwrap();
    ex.execute(&r, &plan, Mode::Live).await.unwrap();
    let (recs, _) = audit::read(&path).unwrap();
    assert_eq!(recs[3].action, "runbook.step");
    assert_eq!(recs[3].outcome, Outcome::Ok);
    assert!(audit::verify(&path).is_ok());
}

/// Dot ids cannot reach a request path (URL parsing would fold them and
/// the write would go elsewhere than planned and audited); a `/` inside an
/// id is encoded into the one planned segment.
#[tokio::test]
async fn dot_ids_are_refused_and_slashes_encoded() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(AuditLog::new(
        dir.path().join("audit.jsonl"),
        crate::audit::Signer::ephemeral(),
    ));
    let ex = Executor::new(Registry::demo(chrono::Utc::now()), log);
    for id in [".", "..", " .. ", ""] {
        let r = req(WriteOp::IncidentAck {
            provider: Some("pd".into()),
            id: id.into(),
        });
        let e = ex.plan(&r).await.unwrap_err();
        assert!(matches!(e, ExecError::Refused(_)), "{id:?}: {e}");
        assert_eq!(e.exit_code(), 2);
    }
    let r = req(WriteOp::FlagSet {
        provider: None,
        key: "..".into(),
        environment: None,
        on: false,
    });
    assert!(matches!(ex.plan(&r).await, Err(ExecError::Refused(_))));
    assert_eq!(crate::providers::http::seg("a/../b"), "a%2F..%2Fb");
}

/// A write aimed at a provider that could not be built (no token) says
/// why, not "not supported".
#[tokio::test]
async fn a_missing_token_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(AuditLog::new(
        dir.path().join("audit.jsonl"),
        crate::audit::Signer::ephemeral(),
    ));
    let cfg: Config = toml::from_str(
        "[[provider]]\nname = \"pd\"\nkind = \"pagerduty\"\ntoken = { env = \"SITREP_TEST_NO_SUCH_VAR\" }\n",
    )
    .unwrap();
    struct NoSecrets;
    impl crate::secrets::SecretSource for NoSecrets {
        fn get(&self, r: &crate::config::SecretRef) -> Result<crate::secrets::Secret, String> {
            Err(format!("{r:?} is not set"))
        }
    }
    let ex = Executor::new(Registry::from_config(&cfg, &NoSecrets), log);
    let r = req(WriteOp::IncidentAck {
        provider: Some("pd".into()),
        id: "PX1".into(),
    });
    let e = ex.plan(&r).await.unwrap_err().to_string();
    assert!(!e.contains("not supported"), "{e}");
    assert!(e.contains("pd") && e.contains("token"), "{e}");
}

/// A result that cannot be written is never silent: the action reports
/// `Unrecorded` (exit 6) saying the provider did it, and the next start
/// closes the open intent as outcome unknown, once.
#[tokio::test]
async fn an_unwritable_result_is_reported_and_reconciled_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    // The second write (the result record) fails like a full disk.
    let log =
        AuditLog::new(&path, crate::audit::Signer::ephemeral()).with_faults(crate::audit::Faults {
            fail_write_at: Some(1),
            fail_sync_at: None,
        });
    let ex =
        Executor::new(Registry::demo(chrono::Utc::now()), Arc::new(log)).with_actor("alice", "box");
    let r = req(WriteOp::FlagSet {
        provider: None,
        key: "checkout-payments-v3".into(),
        environment: None,
        on: false,
    });
    let plan = ex.plan(&r).await.unwrap();
    let e = ex.execute(&r, &plan, Mode::Live).await.unwrap_err();
    assert!(
        matches!(
            e,
            ExecError::Unrecorded {
                done: true,
                intent: 1,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.exit_code(), crate::app::exit::UNRECORDED);
    let text = e.to_string();
    assert!(
        text.contains("carried out the action") && text.contains("could not be recorded"),
        "{text}"
    );
    // The next start: a young intent may be in flight elsewhere, left.
    let next = Executor::new(
        Registry::demo(chrono::Utc::now()),
        Arc::new(AuditLog::new(&path, crate::audit::Signer::ephemeral())),
    )
    .with_actor("bob", "box2");
    let now = chrono::Utc::now();
    assert_eq!(next.reconcile(now, reconcile_min_age()).unwrap(), 0);
    let later = now + chrono::Duration::minutes(5);
    assert_eq!(next.reconcile(later, reconcile_min_age()).unwrap(), 1);
    let (recs, bad) = audit::read(&path).unwrap();
    assert_eq!(
        (recs.len(), bad),
        (2, 0),
        "the torn half-record was moved aside"
    );
    assert_eq!(recs[0].phase, Phase::Intent);
    assert_eq!(recs[1].phase, Phase::Result);
    assert_eq!(recs[1].outcome, Outcome::Error);
    assert_eq!(recs[1].idempotency_key, recs[0].idempotency_key);
    assert_eq!(recs[1].detail["cause"], "outcome unknown");
    assert_eq!(recs[1].detail["reconciled_intent"], 1);
    assert_eq!(recs[1].action, "flag.off");
    assert!(audit::unresolved(&recs).is_empty());
    audit::verify(&path).unwrap();
    // Once only.
    assert_eq!(next.reconcile(later, reconcile_min_age()).unwrap(), 0);
}

#[tokio::test]
async fn runbook_exec_refuses_a_command_with_a_value_not_filled_in() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let marker = dir.path().join("ran");
    let ex = Executor::new(
        Registry::default(),
        Arc::new(AuditLog::new(&path, crate::audit::Signer::ephemeral())),
    )
    .with_allow_exec(true);
    for command in [
        format!("touch {} # kill <PID>", marker.display()),
        format!("touch {} # {{service}}", marker.display()),
    ] {
        let r = req(WriteOp::RunbookExec {
            runbook: "rb".into(),
            step: 1,
            command,
        });
        let plan = ex.plan(&r).await.unwrap();
        let e = ex.execute(&r, &plan, Mode::Live).await.unwrap_err();
        assert!(matches!(e, ExecError::Refused(_)), "{e:?}");
    }
    assert!(!marker.exists(), "a refused command ran");
    let (recs, _) = audit::read(&path).unwrap();
    assert_eq!(recs.len(), 2);
    assert!(recs.iter().all(|r| r.outcome == Outcome::Refused));
}
