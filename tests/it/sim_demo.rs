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
