//! The demo is the real providers against the demo company's simulators:
//! its confirm dialog shows the request the real provider sends, and a
//! second rollback never brings back the deploy the first moved away from.

use sitrep::ops::{PlanCtx, WriteOp};
use sitrep::providers::ErrorKind;
use std::time::{Duration, Instant};

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

/// The confirm dialog's request text with the simulator's port named.
fn shown(plan: &sitrep::ops::Plan, url: &str) -> String {
    sitrep::cli::actions::render_plan(plan).replace(url, "http://SIM")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_confirm_dialog_shows_the_real_providers_requests() {
    crate::common::init();
    let demo = sitrep::sim::demo::start(now()).unwrap();
    let pd = demo.registry.get("pd").unwrap();
    let url = demo
        .config
        .provider_named("pd")
        .unwrap()
        .base_url()
        .unwrap();
    let ack = WriteOp::IncidentAck {
        provider: None,
        id: "Q1CHK5XZ01".into(),
    };
    let plan = pd.plan(&ack, &PlanCtx::default()).await.unwrap();
    assert_eq!(
        shown(&plan, &url),
        "acknowledge SEV1 incident Q1CHK5XZ01: Checkout error rate above 5% (HTTP 5xx from payments-gateway)\n  provider: pd\n  status: triggered\n  service: checkout\n\nPUT http://SIM/incidents/Q1CHK5XZ01\nAccept: application/vnd.pagerduty+json;version=2\nContent-Type: application/json\nAuthorization: Token token=<redacted>\nFrom: you@acme.example\n\n{\n  \"incident\": {\n    \"status\": \"acknowledged\",\n    \"type\": \"incident_reference\"\n  }\n}\n"
    );
    // The request is what PagerDuty gets: executing it changes the account.
    pd.execute(&plan, "k").await.unwrap();
    assert_eq!(
        demo.pagerduty.status("Q1CHK5XZ01").as_deref(),
        Some("acknowledged")
    );

    let gh = demo.registry.get("gh").unwrap();
    let gh_url = demo
        .config
        .provider_named("gh")
        .unwrap()
        .base_url()
        .unwrap();
    let rollback = WriteOp::Rollback {
        provider: None,
        service: "checkout".into(),
        environment: "production".into(),
        to: None,
    };
    let plan = gh.plan(&rollback, &PlanCtx::default()).await.unwrap();
    let text = shown(&plan, &gh_url);
    assert!(
        text.starts_with("roll back checkout/production to v2.13.2 (4e1d09c)\n"),
        "{text}"
    );
    assert!(
        text.contains("POST http://SIM/repos/acme/checkout/deployments\nAccept: application/vnd.github+json\nX-GitHub-Api-Version: 2022-11-28\nAuthorization: Bearer <redacted>\nContent-Type: application/json\n"),
        "{text}"
    );
    assert!(text.contains("\"ref\": \"4e1d09c3aa87b210\""), "{text}");
    assert!(text.contains("\"sha\": \"9f3c2ab71e0d4c55\""), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_back_twice_in_the_demo_never_returns_to_the_suspect_deploy() {
    crate::common::init();
    let demo = sitrep::sim::demo::start(now()).unwrap();
    let gh = demo.registry.get("gh").unwrap();
    let suspect = "9f3c2ab71e0d4c55";
    let op = WriteOp::Rollback {
        provider: None,
        service: "checkout".into(),
        environment: "production".into(),
        to: None,
    };
    let plan = gh.plan(&op, &PlanCtx::default()).await.unwrap();
    assert_eq!(plan.detail["to_sha"], "4e1d09c3aa87b210");
    gh.execute(&plan, "first").await.unwrap();
    // While the rollback deploys, a second one is refused.
    let e = gh.plan(&op, &PlanCtx::default()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict { status: 409 }, "{e}");
    // The CD finishes: the good sha is live, with a real (recent) time.
    let t = Instant::now();
    while demo
        .github
        .live_sha("acme/checkout", "production")
        .as_deref()
        != Some("4e1d09c3aa87b210")
    {
        assert!(t.elapsed() < Duration::from_secs(15), "never went live");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let f = gh.fetch().await.unwrap();
    let live = f
        .deploys
        .iter()
        .find(|d| {
            d.current && d.service.as_str() == "checkout" && d.environment.as_str() == "production"
        })
        .unwrap();
    assert_eq!(live.sha.as_str(), "4e1d09c3aa87b210");
    assert!(now() - live.created_at < chrono::Duration::minutes(1));
    // The second rollback: never the suspect the first moved away from.
    match gh.plan(&op, &PlanCtx::default()).await {
        Ok(p) => assert_ne!(p.detail["to_sha"], suspect, "{}", p.summary),
        Err(e) => assert!(e.to_string().contains("no earlier good deploy"), "{e}"),
    }
}

/// The confirm dialog's text with the simulator's port and the times of
/// the moment named, for a snapshot.
fn shown_stable(plan: &sitrep::ops::Plan, url: &str) -> String {
    let text = shown(plan, url);
    // RFC 3339 times (`2026-12-05T05:21:23.431Z`) as <TIME>.
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let is_time = b.len() - i >= 20
            && b[i..i + 4].iter().all(u8::is_ascii_digit)
            && b[i + 4] == b'-'
            && b[i + 10] == b'T'
            && b[i + 13] == b':';
        if is_time {
            let mut j = i + 19;
            while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'.') {
                j += 1;
            }
            if j < b.len() && b[j] == b'Z' {
                out.push_str("<TIME>");
                i = j + 1;
                continue;
            }
        }
        let ch = text[i..].chars().next().unwrap();
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

macro_rules! snap {
    ($name:expr, $value:expr) => {
        insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!($name, $value);
        })
    };
}

fn base_url(demo: &sitrep::sim::demo::Demo, name: &str) -> String {
    demo.config
        .provider_named(name)
        .unwrap()
        .base_url()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_confirm_dialogs_for_a_silence_and_a_kill_switch_are_the_real_requests() {
    crate::common::init();
    let demo = sitrep::sim::demo::start(now()).unwrap();
    let ctx = PlanCtx::new("dana.kim@acme.example", "disk cleanup running");
    let am = demo.registry.get("am").unwrap();
    let silence = WriteOp::SilenceCreate {
        provider: None,
        matchers: vec!["alertname=DiskWillFillIn4Hours".parse().unwrap()],
        duration_secs: 7200,
    };
    let plan = am.plan(&silence, &ctx).await.unwrap();
    snap!(
        "demo_confirm_silence",
        shown_stable(&plan, &base_url(&demo, "am"))
    );
    // Sent as shown: the simulator holds the silence.
    am.execute(&plan, "k1").await.unwrap();
    let active = demo.alertmanager.active_silences();
    assert!(
        active.iter().any(|(_, by, m)| by == "dana.kim@acme.example"
            && m == &vec!["alertname=DiskWillFillIn4Hours".to_string()]),
        "{active:?}"
    );

    let ctx = PlanCtx::new("dana.kim@acme.example", "5xx from gateway v3 client");
    let ld = demo.registry.get("ld").unwrap();
    let off = WriteOp::FlagSet {
        provider: None,
        key: "checkout-payments-v3".into(),
        environment: None,
        on: false,
    };
    let plan = ld.plan(&off, &ctx).await.unwrap();
    snap!(
        "demo_confirm_flag_off",
        shown_stable(&plan, &base_url(&demo, "ld"))
    );
    ld.execute(&plan, "k2").await.unwrap();
    assert_eq!(demo.launchdarkly.is_on("checkout-payments-v3"), Some(false));
    // Unleash's kill switch: a POST to .../off, no body.
    let un = demo.registry.get("unleash").unwrap();
    let off = WriteOp::FlagSet {
        provider: None,
        key: "auth-social-login".into(),
        environment: None,
        on: false,
    };
    let plan = un.plan(&off, &ctx).await.unwrap();
    snap!(
        "demo_confirm_flag_off_unleash",
        shown_stable(&plan, &base_url(&demo, "unleash"))
    );
}

/// The demo's Prometheus provider, evaluating at `t` instead of now.
fn prometheus_at(
    demo: &sitrep::sim::demo::Demo,
    t: chrono::DateTime<chrono::Utc>,
) -> sitrep::providers::prometheus::Prometheus {
    let ctx = sitrep::providers::BuildCtx {
        config: &demo.config,
        secrets: &sitrep::sim::demo::DemoSecrets,
    };
    let p = sitrep::providers::prometheus::Prometheus::new(
        demo.config.provider_named("prom").unwrap(),
        &ctx,
    )
    .unwrap();
    p.set_eval_time(Some(t.timestamp_millis() as f64 / 1000.0));
    p
}

/// The demo as the console sees it at `t` (Prometheus evaluated at `t`).
async fn snapshot_at(
    demo: &sitrep::sim::demo::Demo,
    t: chrono::DateTime<chrono::Utc>,
) -> sitrep::model::Snapshot {
    let store = sitrep::store::Store::fetch_all_unsaved(&demo.registry, None).await;
    let mut snap = store.snapshot(t);
    snap.slos = prometheus_at(demo, t).fetch_slos().await.unwrap();
    snap
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_demo_rollback_the_watch_reports_recovery_within_its_window() {
    crate::common::init();
    let demo = sitrep::sim::demo::start(now()).unwrap();
    let gh = demo.registry.get("gh").unwrap();
    let t0 = now();
    let baseline = snapshot_at(&demo, t0).await;
    let mut watch = sitrep::watch::Watch::new("checkout", &baseline, t0);
    let before = watch.baseline().burn_5m.unwrap();
    assert!(before > 14.4, "{before}");
    let op = WriteOp::Rollback {
        provider: None,
        service: "checkout".into(),
        environment: "production".into(),
        to: None,
    };
    let plan = gh.plan(&op, &PlanCtx::default()).await.unwrap();
    gh.execute(&plan, "k").await.unwrap();
    // Before the new deployment is live nothing has changed.
    let v = watch.assess(&snapshot_at(&demo, now()).await, now());
    assert_eq!(
        v.kind,
        sitrep::watch::VerdictKind::NoChange,
        "{}",
        v.summary
    );
    let t = Instant::now();
    while demo
        .github
        .live_sha("acme/checkout", "production")
        .as_deref()
        != Some("4e1d09c3aa87b210")
    {
        assert!(t.elapsed() < Duration::from_secs(15), "never went live");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Two minutes after it went live (Prometheus asked as of then): the
    // 5m burn has fallen and the watch says recovering, inside its window.
    let later = now() + chrono::Duration::minutes(2);
    let v = watch.observe(&snapshot_at(&demo, later).await, later);
    let v = v.or_else(|| watch.latest().cloned()).unwrap();
    assert_eq!(
        v.kind,
        sitrep::watch::VerdictKind::Recovering,
        "{}",
        v.summary
    );
    assert!(v.now.burn_5m.unwrap() < before * 0.75, "{}", v.summary);
    assert!(later < watch.deadline(), "{}", v.summary);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_kill_switch_lowers_its_services_error_rate_from_then_on() {
    crate::common::init();
    let demo = sitrep::sim::demo::start(now()).unwrap();
    let burn = |snap: &sitrep::model::Snapshot, slo: &str| {
        snap.slos
            .iter()
            .find(|s| s.name.as_str() == slo)
            .and_then(|s| s.burn_rates.m5)
            .unwrap()
    };
    let t0 = now();
    let before = snapshot_at(&demo, t0).await;
    // Unleash's kill switch for auth.
    let un = demo.registry.get("unleash").unwrap();
    let off = WriteOp::FlagSet {
        provider: None,
        key: "auth-social-login".into(),
        environment: None,
        on: false,
    };
    let plan = un.plan(&off, &PlanCtx::default()).await.unwrap();
    un.execute(&plan, "k").await.unwrap();
    let later = now() + chrono::Duration::minutes(6);
    let after = snapshot_at(&demo, later).await;
    let (b, a) = (
        burn(&before, "auth-login-success"),
        burn(&after, "auth-login-success"),
    );
    assert!(a < b / 10.0, "{b} -> {a}");
    // Checkout is untouched by it.
    assert_eq!(
        burn(&before, "checkout-availability"),
        burn(&after, "checkout-availability")
    );
    let f = after
        .flags
        .iter()
        .find(|f| f.key.as_str() == "auth-social-login")
        .unwrap();
    assert!(!f.on);

    // LaunchDarkly's kill switch for checkout: its burn falls too, and the
    // change is dated when it was made (not backdated).
    let ld = demo.registry.get("ld").unwrap();
    let off = WriteOp::FlagSet {
        provider: None,
        key: "checkout-payments-v3".into(),
        environment: None,
        on: false,
    };
    let plan = ld.plan(&off, &PlanCtx::default()).await.unwrap();
    let sent = now();
    ld.execute(&plan, "k2").await.unwrap();
    let later = now() + chrono::Duration::minutes(6);
    let after = snapshot_at(&demo, later).await;
    let (b, a) = (
        burn(&before, "checkout-availability"),
        burn(&after, "checkout-availability"),
    );
    assert!(a < b / 10.0, "{b} -> {a}");
    let f = after
        .flags
        .iter()
        .find(|f| f.key.as_str() == "checkout-payments-v3")
        .unwrap();
    assert!(!f.on);
    let changed = f.updated_at.unwrap();
    assert!(
        (changed - sent).num_seconds().abs() <= 2,
        "{changed} vs {sent}"
    );
}
