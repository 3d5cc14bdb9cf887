//! Against a real Alertmanager (v2 API): alerts posted, listed through the
//! provider, silenced through plan + execute, shown as silenced, expired.

use crate::common::*;
use crate::common::{self, Tool};
use sitrep::model::{IncidentStatus, Severity};
use sitrep::ops::PlanCtx;
use sitrep::ops::{Matcher, WriteOp};
use sitrep::providers::alertmanager::Alertmanager;
use sitrep::providers::{ErrorKind, Provider};

fn am_config(url: &str) -> sitrep::config::Config {
    config(&format!(
        r#"
[identity]
name = "alice@example.com"

[[provider]]
name = "am"
kind = "alertmanager"
base_url = "{url}"
timeout = "5s"

[[service]]
name = "checkout"
alert_labels = {{ team = "payments", app = "checkout" }}
"#
    ))
}

async fn post_test_alerts(am: &AmServer) {
    am.post_alerts(serde_json::json!([
        {"labels": {"alertname": "HighErrorRate", "service": "api", "severity": "page"},
         "annotations": {"summary": "5xx ratio above SLO", "runbook_url": "https://runbooks.example/high-errors"},
         "generatorURL": "http://prometheus:9090/graph?g0.expr=up"},
        {"labels": {"alertname": "DiskFilling", "job": "node", "severity": "warning", "instance": "db1"},
         "annotations": {"summary": "disk will fill in 4h"}},
        {"labels": {"alertname": "CheckoutLatency", "team": "payments", "app": "checkout", "severity": "Critical"},
         "annotations": {"runbook": "checkout-latency"}},
        {"labels": {"alertname": "Weird\u{1b}[2J\u{202e}Title", "severity": "nonsense"},
         "annotations": {}}
    ]))
    .await;
}

#[tokio::test]
async fn alerts_listed_silenced_and_expired_on_a_real_alertmanager() {
    if !common::have(&[Tool::Alertmanager]) {
        return;
    }
    init();
    let am = AmServer::start().await;
    post_test_alerts(&am).await;
    let cfg = am_config(&am.url);
    let secrets = MapSecrets::default();
    let p = Alertmanager::with_http_config(
        cfg.provider_named("am").unwrap(),
        &ctx(&cfg, &secrets),
        fast_http(),
    )
    .unwrap();

    // Listed as incidents.
    let f = p.fetch().await.unwrap();
    assert_eq!(f.incidents.len(), 4, "{:?}", f.incidents);
    let by = |name: &str| {
        f.incidents
            .iter()
            .find(|i| i.title.as_str().starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {:?}", f.incidents))
    };
    let high = by("HighErrorRate");
    assert_eq!(high.title.as_str(), "HighErrorRate: 5xx ratio above SLO");
    assert_eq!(high.severity, Severity::Sev1);
    assert_eq!(high.status, IncidentStatus::Firing);
    assert_eq!(high.service.as_ref().unwrap().as_str(), "api");
    assert_eq!(
        high.runbook.as_ref().unwrap().as_str(),
        "https://runbooks.example/high-errors"
    );
    assert_eq!(high.id.as_str().len(), 16, "fingerprint id");
    assert!(high.id.as_str().chars().all(|c| c.is_ascii_hexdigit()));
    let disk = by("DiskFilling");
    assert_eq!(disk.severity, Severity::Sev3);
    assert_eq!(disk.service.as_ref().unwrap().as_str(), "node", "job label");
    let co = by("CheckoutLatency");
    assert_eq!(
        co.severity,
        Severity::Sev1,
        "label values are case-insensitive"
    );
    assert_eq!(
        co.service.as_ref().unwrap().as_str(),
        "checkout",
        "[[service]] alert_labels"
    );
    assert_eq!(co.runbook.as_ref().unwrap().as_str(), "checkout-latency");
    let weird = by("Weird");
    assert!(!weird.title.as_str().contains('\u{1b}'));
    assert!(!weird.title.as_str().contains('\u{202e}'));
    assert_eq!(weird.severity, Severity::Sev3, "unknown value → SEV3");

    // Silence through plan + execute.
    let op = WriteOp::SilenceCreate {
        provider: Some("am".into()),
        matchers: vec!["alertname=HighErrorRate".parse::<Matcher>().unwrap()],
        duration_secs: 3600,
    };
    assert!(p.supports(&op));
    let plan = p
        .plan(&op, &PlanCtx::new("alice@example.com", ""))
        .await
        .unwrap();
    assert!(
        plan.summary.contains("matches 1 alert, 1 firing"),
        "{}",
        plan.summary
    );
    assert_eq!(plan.requests.len(), 1);
    let req = &plan.requests[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.url, format!("{}/api/v2/silences", am.url));
    let body = req.body.as_ref().unwrap();
    assert_eq!(body["matchers"][0]["name"], "alertname");
    assert_eq!(body["matchers"][0]["isEqual"], true);
    assert_eq!(body["createdBy"], "alice@example.com");
    // Who acts and why are the provider's to fill when it plans.
    let plan = p
        .plan(
            &op,
            &PlanCtx::new("bob@example.com", "INC-42 rollback in progress"),
        )
        .await
        .unwrap();
    let res = p.execute(&plan, "idem-1").await.unwrap();
    let silence_id = res.detail["silenceID"].as_str().unwrap().to_string();
    assert!(!silence_id.is_empty());

    // The silence is stored as planned.
    let s = am.get_json(&format!("/api/v2/silence/{silence_id}")).await;
    assert_eq!(s["createdBy"], "bob@example.com");
    assert_eq!(s["comment"], "INC-42 rollback in progress");
    assert_eq!(s["status"]["state"], "active");

    // Shown as silenced; the others still fire.
    let f = p.fetch().await.unwrap();
    let high = f
        .incidents
        .iter()
        .find(|i| i.title.as_str().starts_with("HighErrorRate"))
        .unwrap();
    assert_eq!(high.status, IncidentStatus::Silenced);
    assert_eq!(
        f.incidents
            .iter()
            .filter(|i| i.status == IncidentStatus::Firing)
            .count(),
        3
    );

    // Expire it.
    let op = WriteOp::SilenceExpire {
        provider: Some("am".into()),
        id: silence_id.clone(),
    };
    let plan = p.plan(&op, &PlanCtx::default()).await.unwrap();
    assert_eq!(plan.requests[0].method, "DELETE");
    assert!(
        plan.summary.contains("alertname=\"HighErrorRate\""),
        "{}",
        plan.summary
    );
    p.execute(&plan, "idem-2").await.unwrap();
    let s = am.get_json(&format!("/api/v2/silence/{silence_id}")).await;
    assert_eq!(s["status"]["state"], "expired");
    let f = p.fetch().await.unwrap();
    assert!(
        f.incidents
            .iter()
            .all(|i| i.status == IncidentStatus::Firing),
        "{:?}",
        f.incidents
    );

    // Unknown silence: a typed NotFound naming the provider.
    let op = WriteOp::SilenceExpire {
        provider: None,
        id: "00000000-0000-0000-0000-000000000000".into(),
    };
    let e = p.plan(&op, &PlanCtx::default()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
    assert!(e.to_string().starts_with("am: not found"), "{e}");
}

#[tokio::test]
async fn alertmanager_errors_are_typed() {
    if !common::have(&[Tool::Alertmanager]) {
        return;
    }
    init();
    let am = AmServer::start().await;
    let cfg = am_config(&am.url);
    let secrets = MapSecrets::default();
    let p = Alertmanager::with_http_config(
        cfg.provider_named("am").unwrap(),
        &ctx(&cfg, &secrets),
        fast_http(),
    )
    .unwrap();
    // A bad matcher is refused by Alertmanager with a JSON string body (400).
    let op = WriteOp::SilenceCreate {
        provider: None,
        matchers: vec![Matcher {
            name: "job".into(),
            value: "(".into(),
            is_regex: true,
            is_equal: true,
        }],
        duration_secs: 60,
    };
    let e = p.plan(&op, &PlanCtx::default()).await.unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Http { status: 400 }), "{e:?}");
    // Stopped server: connection refused, named.
    let url = am.url.clone();
    drop(am);
    let cfg = am_config(&url);
    let p = Alertmanager::with_http_config(
        cfg.provider_named("am").unwrap(),
        &ctx(&cfg, &secrets),
        fast_http(),
    )
    .unwrap();
    let e = p.fetch().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Connect, "{e}");
    assert!(e.to_string().starts_with("am: connection failed"), "{e}");
}

/// Silences are capped (`max_silence`, default 7 days), and the plan says
/// exactly what is sent: the end time in the summary is the body's.
#[tokio::test]
async fn silences_are_capped_and_the_plan_says_until_when() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let s = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/alerts"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .mount(&s)
        .await;
    let secrets = MapSecrets::default();
    let silence = |secs| WriteOp::SilenceCreate {
        provider: None,
        matchers: vec!["alertname=Disk".parse::<Matcher>().unwrap()],
        duration_secs: secs,
    };
    for (extra, secs, allowed) in [
        ("", 8 * 86400, false),
        ("", 7 * 86400, true),
        ("", 2 * 3600, true),
        ("max_silence = \"30d\"\n", 8 * 86400, true),
        ("max_silence = \"1h\"\n", 2 * 3600, false),
    ] {
        let cfg = config(&format!(
            "[[provider]]\nname = \"am\"\nkind = \"alertmanager\"\nbase_url = \"{}\"\n{extra}",
            s.uri()
        ));
        let p = Alertmanager::with_http_config(
            cfg.provider_named("am").unwrap(),
            &ctx(&cfg, &secrets),
            fast_http(),
        )
        .unwrap();
        let r = p.plan(&silence(secs), &PlanCtx::new("bob", "disk")).await;
        if !allowed {
            let e = r.expect_err("over the cap");
            assert_eq!(e.kind, ErrorKind::Config);
            assert!(e.to_string().contains("max_silence"), "{e}");
            continue;
        }
        let plan = r.unwrap_or_else(|e| panic!("{extra} {secs}: {e}"));
        let body = plan.requests[0].body.as_ref().unwrap();
        let start: chrono::DateTime<chrono::Utc> =
            body["startsAt"].as_str().unwrap().parse().unwrap();
        let end: chrono::DateTime<chrono::Utc> = body["endsAt"].as_str().unwrap().parse().unwrap();
        assert_eq!((end - start).num_seconds(), secs as i64, "what is sent");
        assert!(
            plan.summary
                .contains(&format!("until {}", body["endsAt"].as_str().unwrap())),
            "{}",
            plan.summary
        );
    }
}

/// The alert's labels ride on the incident (a served `/api/v2/alerts`
/// body, no Alertmanager needed), so runbooks can bind `{instance}`.
#[tokio::test]
async fn alert_labels_ride_on_the_incident() {
    use crate::common::fault::{Fault, FaultServer};
    init();
    let body = serde_json::json!([
        {"labels": {"alertname": "DiskFilling", "job": "node", "instance": "db1:9100",
                    "mountpoint": "/var/lib/postgresql", "empty": " ", "k\u{1b}[2J": "v\u{202e}"},
         "annotations": {"summary": "disk will fill in 4h"},
         "startsAt": "2026-11-22T03:00:00Z", "fingerprint": "0123456789abcdef",
         "status": {"state": "active", "silencedBy": [], "inhibitedBy": []}}
    ]);
    let silences = serde_json::json!([
        {"id": "5f0c1d7e-0000-4000-8000-000000000001",
         "matchers": [{"name": "instance", "value": "db1:9100", "isRegex": false, "isEqual": true}],
         "startsAt": "2026-11-22T02:00:00Z", "endsAt": "2999-01-01T00:00:00Z",
         "createdBy": "raj\u{1b}[2J", "comment": "disk swap\u{202e}", "status": {"state": "active"}}
    ]);
    let server = FaultServer::start(
        Fault::route(
            "/api/v2/alerts",
            Fault::ok(serde_json::to_vec(&body).unwrap()),
        )
        .or(
            "/api/v2/silences",
            Fault::ok(serde_json::to_vec(&silences).unwrap()),
        ),
    )
    .await;
    let cfg = am_config(&server.url);
    let secrets = MapSecrets::default();
    let p = Alertmanager::with_http_config(
        cfg.provider_named("am").unwrap(),
        &ctx(&cfg, &secrets),
        fast_http(),
    )
    .unwrap();
    let f = p.fetch().await.unwrap();
    assert_eq!(server.hits(), 2, "alerts and silences, one read each");
    // The silence rides along, its provider text made safe.
    assert_eq!(f.silences.len(), 1, "{:?}", f.silences);
    let s = &f.silences[0];
    assert_eq!(s.matchers[0].as_str(), "instance=\"db1:9100\"");
    assert_eq!(s.state.as_str(), "active");
    assert_eq!(s.provider.as_str(), "am");
    assert!(
        !s.created_by.as_str().contains('\u{1b}'),
        "{:?}",
        s.created_by
    );
    assert!(!s.comment.as_str().contains('\u{202e}'), "{:?}", s.comment);
    let inc = &f.incidents[0];
    let label = |k: &str| inc.labels.get(k).map(|v| v.as_str());
    assert_eq!(label("instance"), Some("db1:9100"));
    assert_eq!(label("alertname"), Some("DiskFilling"));
    assert_eq!(label("mountpoint"), Some("/var/lib/postgresql"));
    assert_eq!(label("empty"), None, "blank values are dropped");
    assert!(
        inc.labels
            .iter()
            .all(|(k, v)| !k.contains('\u{1b}') && !v.as_str().contains('\u{202e}')),
        "{:?}",
        inc.labels
    );
    // The JSON carries them; an incident without labels has no key.
    let json = serde_json::to_value(inc).unwrap();
    assert_eq!(json["labels"]["instance"], "db1:9100");
    let mut bare = inc.clone();
    bare.labels.clear();
    assert!(serde_json::to_value(&bare).unwrap().get("labels").is_none());
}
