//! The Alertmanager simulator (`sitrep::sim::alertmanager`) against the
//! real Alertmanager provider: alerts as incidents, a silence planned,
//! created (the alert it matches turns silenced on the next read) and
//! expired again, Alertmanager's string error bodies, and the proxy's 401
//! when the token is missing.

use crate::common::*;
use sitrep::model::{IncidentStatus, Severity};
use sitrep::ops::{Matcher, PlanCtx, WriteOp};
use sitrep::providers::alertmanager::Alertmanager as AmProvider;
use sitrep::providers::{ErrorKind, Provider};
use sitrep::sim::alertmanager::{Alert, Alertmanager, fingerprint};
use std::collections::BTreeMap;
use std::sync::Arc;

const TOKEN: &str = "sim-am-token";

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn alertmanager() -> Arc<Alertmanager> {
    let am = Arc::new(Alertmanager::new(Some(TOKEN)));
    let now = chrono::Utc::now();
    for (name, service, severity) in [
        ("HighErrorRate", "checkout", "critical"),
        ("DiskWillFill", "search", "warning"),
    ] {
        am.add_alert(&Alert {
            labels: labels(&[
                ("alertname", name),
                ("service", service),
                ("severity", severity),
            ]),
            annotations: labels(&[("summary", "something is wrong")]),
            starts_at: now - chrono::Duration::minutes(5),
        });
    }
    am
}

/// The provider, sending `token` as a bearer (`None`: no token).
fn provider(url: &str, token: Option<&'static str>) -> AmProvider {
    init();
    let token_line = if token.is_some() {
        "token = { env = \"AM_TOKEN\" }"
    } else {
        ""
    };
    let cfg = config(&format!(
        "[[provider]]\nname = \"am\"\nkind = \"alertmanager\"\nbase_url = \"{url}\"\n{token_line}\n"
    ));
    let s = FixedSecret(token.unwrap_or("unused"));
    AmProvider::with_http_config(
        cfg.provider_named("am").unwrap(),
        &token_ctx(&cfg, &s),
        fast_http(),
    )
    .unwrap()
}

fn matcher(name: &str, value: &str) -> Matcher {
    Matcher {
        name: name.into(),
        value: value.into(),
        is_regex: false,
        is_equal: true,
    }
}

#[tokio::test]
async fn a_silence_planned_created_and_expired_through_the_real_provider() {
    let am = alertmanager();
    let server = sitrep::sim::serve(am.clone()).await.unwrap();
    let p = provider(&server.url(), Some(TOKEN));
    let f = p.fetch().await.unwrap();
    assert_eq!(f.incidents.len(), 2);
    let disk = f
        .incidents
        .iter()
        .find(|i| i.title.as_str().starts_with("DiskWillFill"))
        .unwrap();
    assert_eq!(disk.severity, Severity::Sev3);
    assert_eq!(disk.status, IncidentStatus::Firing);
    assert_eq!(disk.service.as_ref().unwrap().as_str(), "search");
    let fp = fingerprint(&labels(&[
        ("alertname", "DiskWillFill"),
        ("service", "search"),
        ("severity", "warning"),
    ]));
    assert_eq!(disk.id.as_str(), fp);
    assert_eq!(fp.len(), 16);

    // The plan reads what the silence matches (through `filter`).
    let op = WriteOp::SilenceCreate {
        provider: None,
        matchers: vec![matcher("alertname", "DiskWillFill")],
        duration_secs: 3600,
    };
    let ctx = PlanCtx {
        actor: "dana".into(),
        ..PlanCtx::default()
    };
    let plan = p.plan(&op, &ctx).await.unwrap();
    assert_eq!(plan.detail["matched"], 1, "{}", plan.summary);
    let shown = plan.requests[0].to_string();
    assert!(shown.starts_with("POST http://"), "{shown}");
    assert!(shown.contains("/api/v2/silences"), "{shown}");
    assert!(am.active_silences().is_empty());

    // Created: the simulator holds it and the alert reads as silenced.
    let done = p.execute(&plan, "k1").await.unwrap();
    let active = am.active_silences();
    assert_eq!(active.len(), 1, "{}", done.message);
    assert_eq!(active[0].1, "dana");
    assert_eq!(active[0].2, vec!["alertname=DiskWillFill".to_string()]);
    let f = p.fetch().await.unwrap();
    let status = |id: &str| {
        f.incidents
            .iter()
            .find(|i| i.id.as_str() == id)
            .map(|i| i.status)
    };
    assert_eq!(status(&fp), Some(IncidentStatus::Silenced));
    assert_eq!(f.incidents.len(), 2);

    // Expired: it stays listed as expired and the alert fires again.
    let expire = WriteOp::SilenceExpire {
        provider: None,
        id: active[0].0.clone(),
    };
    let plan = p.plan(&expire, &ctx).await.unwrap();
    p.execute(&plan, "k2").await.unwrap();
    assert!(am.active_silences().is_empty());
    let f = p.fetch().await.unwrap();
    assert!(
        f.incidents
            .iter()
            .all(|i| i.status == IncidentStatus::Firing)
    );
}

#[tokio::test]
async fn the_simulator_answers_errors_as_alertmanager_does() {
    let am = alertmanager();
    let server = sitrep::sim::serve(am.clone()).await.unwrap();
    // No token for the proxy in front: 401, the provider says so.
    let e = provider(&server.url(), None).fetch().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized { status: 401 }, "{e}");
    // An unknown silence: not found, nothing changed.
    let p = provider(&server.url(), Some(TOKEN));
    let expire = WriteOp::SilenceExpire {
        provider: None,
        id: "00000000-0000-0000-0000-000000000000".into(),
    };
    let e = p.plan(&expire, &PlanCtx::default()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");

    // Raw: a bad matcher and a silence ending in the past are 400 with a
    // JSON string body; lists are bare arrays.
    let c = reqwest::Client::new();
    let auth = format!("Bearer {TOKEN}");
    let r = c
        .get(format!("{}/api/v2/alerts?filter=nonsense", server.url()))
        .header("Authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(v.as_str().unwrap().contains("bad matcher"), "{v}");
    let r = c
        .post(format!("{}/api/v2/silences", server.url()))
        .header("Authorization", &auth)
        .body(r#"{"matchers":[{"name":"alertname","value":"X","isRegex":false}],"startsAt":"2020-01-01T00:00:00Z","endsAt":"2020-01-01T01:00:00Z","createdBy":"a","comment":"c"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(v.as_str().unwrap().contains("in the past"), "{v}");
    let v: serde_json::Value = c
        .get(format!("{}/api/v2/silences", server.url()))
        .header("Authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v, serde_json::json!([]));
    assert!(am.active_silences().is_empty());
}

/// The Silences view's `x`: `silence.expire` through the audited executor
/// (plan, then the run with its intent and result records) against the
/// demo's Alertmanager, whose silence on the certificate alert ends: the
/// next read lists it expired and the alert firing again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listed_silence_is_expired_through_the_executor_and_audited() {
    use sitrep::actions::{ActionRequest, Executor, Mode};
    use sitrep::audit::{self, AuditLog, Outcome, Phase};
    init();
    let demo = sitrep::sim::demo::start(chrono::Utc::now()).unwrap();
    let am = demo.registry.get("am").unwrap().clone();
    let f = am.fetch().await.unwrap();
    let states: Vec<&str> = f.silences.iter().map(|s| s.state.as_str()).collect();
    assert!(
        states.contains(&"active") && states.contains(&"pending"),
        "{states:?}"
    );
    assert!(states.contains(&"expired"), "ended an hour ago: {states:?}");
    let s = f
        .silences
        .iter()
        .find(|s| s.created_by.as_str() == "raj.patel")
        .unwrap();
    assert_eq!(s.state.as_str(), "active");
    let cert = f
        .incidents
        .iter()
        .find(|i| i.title.as_str().starts_with("CertificateExpiry"))
        .unwrap();
    assert_eq!(cert.status, IncidentStatus::Silenced);
    assert!(s.muting.contains(&cert.id), "{:?}", s.muting);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let reg = sitrep::providers::Registry {
        providers: vec![am.clone()],
        demo: false,
        keep: Vec::new(),
    };
    let ex = Executor::new(
        reg,
        Arc::new(AuditLog::new(&path, audit::Signer::ephemeral())),
    )
    .with_actor("dana.kim@acme.example", "laptop");
    let req = ActionRequest::new(
        WriteOp::SilenceExpire {
            provider: Some("am".into()),
            id: s.id.as_str().to_string(),
        },
        "",
    );
    let plan = ex.plan(&req).await.unwrap();
    assert_eq!(plan.requests.len(), 1);
    assert_eq!(plan.requests[0].method, "DELETE");
    assert!(
        plan.requests[0]
            .url
            .ends_with(&format!("/api/v2/silence/{}", s.id)),
        "{}",
        plan.requests[0].url
    );
    let done = ex.execute(&req, &plan, Mode::Live).await.unwrap();
    assert_eq!(done.outcome, Outcome::Ok);
    let (recs, _) = audit::read(&path).unwrap();
    let phases: Vec<(Phase, Outcome)> = recs.iter().map(|r| (r.phase, r.outcome)).collect();
    assert_eq!(phases.first(), Some(&(Phase::Intent, Outcome::Pending)));
    assert_eq!(phases.last().map(|p| p.1), Some(Outcome::Ok));
    assert!(
        recs.iter().all(|r| r.action == "silence.expire"),
        "{recs:?}"
    );
    assert!(recs.iter().all(|r| r.target == s.id.as_str()), "{recs:?}");

    // Expired at the Alertmanager; the alert fires again.
    let f = am.fetch().await.unwrap();
    let after = f.silences.iter().find(|x| x.id == s.id).unwrap();
    assert_eq!(after.state.as_str(), "expired");
    assert!(after.muting.is_empty());
    let cert = f
        .incidents
        .iter()
        .find(|i| i.title.as_str().starts_with("CertificateExpiry"))
        .unwrap();
    assert_eq!(cert.status, IncidentStatus::Firing);
}
