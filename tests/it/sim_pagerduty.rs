//! The PagerDuty simulator (`sitrep::sim::pagerduty`) against the real
//! PagerDuty provider: listing across pages, severity from priority, the
//! writes changing what the next read returns, and the vendor's error
//! bodies for a wrong key, a missing `From` and an already resolved
//! incident.

use crate::common::*;
use sitrep::model::{IncidentStatus, Severity};
use sitrep::ops::{PlanCtx, WriteOp};
use sitrep::providers::pagerduty::PagerDuty as PdProvider;
use sitrep::providers::{ErrorKind, Provider};
use sitrep::sim::pagerduty::{Incident, OnCall, PagerDuty};
use std::sync::Arc;

const TOKEN: &str = "sim-pd-token";

fn account(n: usize) -> Arc<PagerDuty> {
    let pd = Arc::new(PagerDuty::new(TOKEN));
    let now = chrono::Utc::now();
    for i in 0..n {
        pd.add_incident(&Incident {
            id: format!("PSIM{i:04}"),
            title: format!("incident {i}"),
            status: match i % 3 {
                0 => "triggered",
                1 => "acknowledged",
                _ => "resolved",
            }
            .into(),
            priority: (i == 0).then(|| "P1".to_string()),
            urgency: "low".into(),
            service_id: "PSRV123".into(),
            service_name: "Checkout API".into(),
            created_at: now - chrono::Duration::minutes(i as i64),
            assignee: (i % 3 == 1).then(|| "Dana Kim".to_string()),
        });
    }
    pd.add_oncall(&OnCall {
        policy: "Checkout".into(),
        level: 1,
        user: "Dana Kim".into(),
        end: Some(now + chrono::Duration::hours(3)),
    });
    pd
}

fn provider(url: &str, token: &'static str, from: &str) -> PdProvider {
    init();
    let cfg = config(&format!(
        r#"
[[provider]]
name = "pd"
kind = "pagerduty"
base_url = "{url}"
{from}

[[service]]
name = "checkout"
pagerduty_services = ["PSRV123"]
"#
    ));
    let s = FixedSecret(token);
    PdProvider::with_http_config(
        cfg.provider_named("pd").unwrap(),
        &token_ctx(&cfg, &s),
        fast_http(),
    )
    .unwrap()
}

#[tokio::test]
async fn the_real_provider_reads_every_page_and_its_writes_change_the_account() {
    // 250 incidents: three pages of 100; 167 of them open.
    let pd = account(250);
    let server = sitrep::sim::serve(pd.clone()).await.unwrap();
    let p = provider(&server.url(), TOKEN, "from = \"dana@acme.example\"");
    let f = p.fetch().await.unwrap();
    assert_eq!(f.incidents.len(), 167);
    assert!(f.incidents.iter().all(|i| i.status.is_open()));
    let first = f
        .incidents
        .iter()
        .find(|i| i.id.as_str() == "PSIM0000")
        .unwrap();
    assert_eq!(first.severity, Severity::Sev1);
    assert_eq!(first.service.as_ref().unwrap().as_str(), "checkout");
    assert_eq!(f.oncall.len(), 1);
    assert_eq!(f.oncall[0].user.as_str(), "Dana Kim");

    // Acknowledge: the plan reads the incident, the request is the real one.
    let ack = WriteOp::IncidentAck {
        provider: None,
        id: "PSIM0000".into(),
    };
    let plan = p.plan(&ack, &PlanCtx::default()).await.unwrap();
    let shown = plan.requests[0].to_string();
    assert!(shown.contains("PUT"), "{shown}");
    assert!(shown.contains("incident_reference"), "{shown}");
    p.execute(&plan, "k1").await.unwrap();
    assert_eq!(pd.status("PSIM0000").as_deref(), Some("acknowledged"));
    let f = p.fetch().await.unwrap();
    let now = f
        .incidents
        .iter()
        .find(|i| i.id.as_str() == "PSIM0000")
        .unwrap();
    assert_eq!(now.status, IncidentStatus::Acknowledged);

    // A note, then resolve: the incident leaves the open list.
    let note = WriteOp::IncidentNote {
        provider: None,
        id: "PSIM0000".into(),
        text: "rolled back".into(),
    };
    let plan = p.plan(&note, &PlanCtx::default()).await.unwrap();
    p.execute(&plan, "k2").await.unwrap();
    assert_eq!(pd.notes("PSIM0000"), vec!["rolled back".to_string()]);
    let resolve = WriteOp::IncidentResolve {
        provider: None,
        id: "PSIM0000".into(),
    };
    let plan = p.plan(&resolve, &PlanCtx::default()).await.unwrap();
    p.execute(&plan, "k3").await.unwrap();
    let f = p.fetch().await.unwrap();
    assert_eq!(f.incidents.len(), 166);
    assert!(!f.incidents.iter().any(|i| i.id.as_str() == "PSIM0000"));
}

#[tokio::test]
async fn the_simulator_answers_errors_as_pagerduty_does() {
    let pd = account(3);
    let server = sitrep::sim::serve(pd.clone()).await.unwrap();
    // A wrong key: 401, the provider says the token was rejected.
    let bad = provider(&server.url(), "wrong", "from = \"dana@acme.example\"");
    let e = bad.fetch().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized { status: 401 });
    // Resolving a resolved incident: refused, with PagerDuty's message.
    let p = provider(&server.url(), TOKEN, "from = \"dana@acme.example\"");
    let resolve = WriteOp::IncidentResolve {
        provider: None,
        id: "PSIM0002".into(),
    };
    let plan = p.plan(&resolve, &PlanCtx::default()).await.unwrap();
    let e = p.execute(&plan, "k").await.unwrap_err();
    assert!(e.to_string().contains("Already Resolved"), "{e}");
    // An unknown incident: not found.
    let ack = WriteOp::IncidentAck {
        provider: None,
        id: "PNOPE".into(),
    };
    let e = p.plan(&ack, &PlanCtx::default()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
    assert_eq!(pd.status("PSIM0000").as_deref(), Some("triggered"));
}

#[tokio::test]
async fn raw_requests_get_pagerduty_pagination_and_rate_limit_headers() {
    let pd = account(5);
    let server = sitrep::sim::serve(pd).await.unwrap();
    init();
    let c = reqwest::Client::new();
    let get = |q: &'static str, auth: &'static str| {
        c.get(format!("{}/incidents{q}", server.url()))
            .header("Authorization", auth)
            .send()
    };
    let auth = "Token token=sim-pd-token";
    let r = get("?limit=2&total=true", auth).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["ratelimit-limit"], "960");
    assert!(r.headers().contains_key("ratelimit-reset"));
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        (
            v["limit"].as_u64(),
            v["more"].as_bool(),
            v["total"].as_u64()
        ),
        (Some(2), Some(true), Some(5))
    );
    let v: serde_json::Value = get("?limit=2&offset=4", auth)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["more"], false);
    assert!(v["total"].is_null());
    let r = get("?limit=100&offset=9950", auth).await.unwrap();
    assert_eq!(r.status(), 400);
    let r = get("", "Bearer sim-pd-token").await.unwrap();
    assert_eq!(r.status(), 401);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], 2006);
    // A write without From: 400, code 2001.
    let r = c
        .put(format!("{}/incidents/PSIM0000", server.url()))
        .header("Authorization", auth)
        .body(r#"{"incident":{"type":"incident_reference","status":"acknowledged"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], 2001);
}

/// Issue 23: the simulator answers escalate, snooze, reassign, responder
/// requests, bulk ack, and an incident's log entries and notes, so
/// `--demo` shows them; the history records what the writes did.
#[tokio::test]
async fn the_simulator_answers_the_depth_endpoints() {
    let pd = account(9);
    let server = sitrep::sim::serve(pd.clone()).await.unwrap();
    let p = provider(&server.url(), TOKEN, "from = \"dana@acme.example\"");
    let run = |op: WriteOp| {
        let p = &p;
        async move {
            let plan = p.plan(&op, &PlanCtx::default()).await?;
            p.execute(&plan, "k").await
        }
    };
    // PSIM0000 is triggered: escalate, reassign, ask for responders.
    let r = run(WriteOp::IncidentEscalate {
        provider: None,
        id: "PSIM0000".into(),
    })
    .await
    .unwrap();
    assert_eq!(r.message, "PSIM0000 escalated to level 2");
    run(WriteOp::IncidentReassign {
        provider: None,
        id: "PSIM0000".into(),
        users: vec!["PUSR42".into()],
    })
    .await
    .unwrap();
    run(WriteOp::IncidentAddResponders {
        provider: None,
        id: "PSIM0000".into(),
        users: vec!["PUSR7".into()],
        message: "join the bridge".into(),
    })
    .await
    .unwrap();
    // Snoozing it is refused until it is acknowledged (bulk, with PSIM0003).
    let e = run(WriteOp::IncidentSnooze {
        provider: None,
        id: "PSIM0000".into(),
        duration_secs: 1800,
    })
    .await
    .unwrap_err();
    assert!(e.to_string().contains("acknowledge it first"), "{e}");
    run(WriteOp::IncidentBulkAck {
        provider: None,
        ids: vec!["PSIM0000".into(), "PSIM0003".into()],
    })
    .await
    .unwrap();
    assert_eq!(pd.status("PSIM0003").as_deref(), Some("acknowledged"));
    run(WriteOp::IncidentSnooze {
        provider: None,
        id: "PSIM0000".into(),
        duration_secs: 1800,
    })
    .await
    .unwrap();
    let d = p.incident_details("PSIM0000").await.unwrap();
    let kinds: Vec<&str> = d.log.iter().map(|l| l.kind.as_str()).collect();
    for k in [
        "trigger_log_entry",
        "escalate_log_entry",
        "assign_log_entry",
        "responder_request_log_entry",
        "acknowledge_log_entry",
        "snooze_log_entry",
    ] {
        assert!(kinds.contains(&k), "{k} not in {kinds:?}");
    }
    assert!(d.assignees.iter().any(|a| a.as_str() == "PUSR42"));
    assert!(d.notes.is_empty());
}
