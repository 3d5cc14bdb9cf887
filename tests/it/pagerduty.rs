//! PagerDuty against a wiremock fake that follows providers.md §1: the
//! `Token token=` scheme (anything else → 401 with the PagerDuty error
//! body), classic offset/limit pagination with `more`/`total`, the
//! `offset + limit ≤ 10000` cap (400 beyond), `ratelimit-reset` on 429.

use crate::common::*;
use serde_json::{Value, json};
use sitrep::model::{Incident, IncidentStatus, Severity};
use sitrep::ops::PlanCtx;
use sitrep::ops::WriteOp;
use sitrep::providers::http::HttpConfig;
use sitrep::providers::pagerduty::PagerDuty;
use sitrep::providers::{ErrorKind, Provider, Registry};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wiremock::matchers::{any, body_json, header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "pd-test-token-0123456789";
const ACCEPT: &str = "application/vnd.pagerduty+json;version=2";

fn pd_error(message: &str, code: u32) -> Value {
    json!({"error": {"message": message, "code": code}})
}

fn incident(n: usize, status: &str) -> Value {
    let mut i = json!({
        "id": format!("PINC{n:05}"),
        "type": "incident",
        "summary": format!("[#{n}] incident {n}"),
        "self": format!("https://api.pagerduty.com/incidents/PINC{n:05}"),
        "html_url": format!("https://acme.pagerduty.com/incidents/PINC{n:05}"),
        "incident_number": n,
        "title": format!("incident {n}"),
        "created_at": "2026-11-22T03:04:05Z",
        "updated_at": "2026-11-22T03:05:05Z",
        "status": status,
        "urgency": if n.is_multiple_of(2) { "high" } else { "low" },
        "incident_key": format!("key{n}"),
        "service": {"id": if n.is_multiple_of(3) { "PSRV123" } else { "POTHER" }, "type": "service_reference",
                    "summary": "Mail Service", "self": "https://api.pagerduty.com/services/X"},
        "assignments": if status == "acknowledged" {
            json!([{"at": "2026-11-22T03:05:00Z", "assignee": {"id": "PUSR1", "type": "user_reference", "summary": "Dana Kim"}}])
        } else { json!([]) },
        "acknowledgements": [],
        "alert_counts": {"all": 1, "triggered": 1, "resolved": 0},
    });
    if n.is_multiple_of(5) {
        i["priority"] = json!({"id": "PPRIO1", "type": "priority_reference", "summary": "P1"});
    }
    i
}

/// GET /incidents as PagerDuty serves it.
struct ListIncidents(Vec<Value>);

impl Respond for ListIncidents {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let q: Vec<(String, String)> = req.url.query_pairs().into_owned().collect();
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let statuses: Vec<&str> = q
            .iter()
            .filter(|(k, _)| k == "statuses[]")
            .map(|(_, v)| v.as_str())
            .collect();
        let services: Vec<&str> = q
            .iter()
            .filter(|(k, _)| k == "service_ids[]")
            .map(|(_, v)| v.as_str())
            .collect();
        let limit: usize = get("limit")
            .and_then(|l| l.parse().ok())
            .unwrap_or(25)
            .min(100);
        let offset: usize = get("offset").and_then(|l| l.parse().ok()).unwrap_or(0);
        if offset + limit > 10_000 {
            return ResponseTemplate::new(400)
                .set_body_json(pd_error("Invalid Input Provided", 2001));
        }
        let all: Vec<&Value> = self
            .0
            .iter()
            .filter(|i| statuses.is_empty() || statuses.contains(&i["status"].as_str().unwrap()))
            .filter(|i| {
                services.is_empty() || services.contains(&i["service"]["id"].as_str().unwrap())
            })
            .collect();
        let page: Vec<&Value> = all.iter().skip(offset).take(limit).copied().collect();
        let total = if get("total").as_deref() == Some("true") {
            json!(all.len())
        } else {
            Value::Null
        };
        ResponseTemplate::new(200).set_body_json(json!({
            "incidents": page, "limit": limit, "offset": offset,
            "more": offset + limit < all.len(), "total": total,
        }))
    }
}

fn pd_config(url: &str, extra: &str) -> sitrep::config::Config {
    config(&format!(
        r#"
[[provider]]
name = "pd"
kind = "pagerduty"
base_url = "{url}"
token = {{ env = "PD_TOKEN" }}
from = "alice@example.com"
{extra}

[[service]]
name = "checkout"
pagerduty_services = ["PSRV123"]
"#
    ))
}

fn secrets() -> MapSecrets {
    MapSecrets::with(&[("PD_TOKEN", TOKEN)])
}

fn provider(url: &str, extra: &str, http: HttpConfig) -> PagerDuty {
    init();
    let cfg = pd_config(url, extra);
    let s = secrets();
    PagerDuty::with_http_config(cfg.provider_named("pd").unwrap(), &ctx(&cfg, &s), http).unwrap()
}

/// The fake: authenticated routes, and a 401 for any other auth.
async fn fake(incidents: Vec<Value>) -> MockServer {
    let s = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/incidents"))
        .and(header(
            "Authorization",
            format!("Token token={TOKEN}").as_str(),
        ))
        .and(header("Accept", ACCEPT))
        .respond_with(ListIncidents(incidents))
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/oncalls"))
        .and(header("Authorization", format!("Token token={TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "oncalls": [
                {"user": {"id": "PUSR1", "type": "user_reference", "summary": "Dana Kim"},
                 "schedule": null,
                 "escalation_policy": {"id": "PEP1", "type": "escalation_policy_reference", "summary": "Checkout & Payments"},
                 "escalation_level": 1, "start": "2026-11-22T00:00:00Z", "end": "2026-11-22T12:00:00Z"},
                {"user": {"id": "PUSR2", "type": "user_reference", "summary": "Maria Okafor"},
                 "schedule": null,
                 "escalation_policy": {"id": "PEP1", "type": "escalation_policy_reference", "summary": "Checkout & Payments"},
                 "escalation_level": 2, "start": null, "end": null}
            ],
            "limit": 100, "offset": 0, "more": false, "total": 2
        })))
        .mount(&s)
        .await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(401).set_body_json(pd_error("Authentication failed", 2006)),
        )
        .with_priority(10)
        .mount(&s)
        .await;
    s
}

#[tokio::test]
async fn lists_every_open_incident_across_pages() {
    let all: Vec<Value> = (1..=250)
        .map(|n| {
            let st = match n % 4 {
                0 => "resolved",
                1 => "acknowledged",
                _ => "triggered",
            };
            incident(n, st)
        })
        .collect();
    let open = all.iter().filter(|i| i["status"] != "resolved").count();
    let s = fake(all).await;
    let p = provider(&s.uri(), "", fast_http());
    let f = p.fetch().await.unwrap();
    assert_eq!(f.incidents.len(), open);
    let mut ids: Vec<&str> = f.incidents.iter().map(|i| i.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), open, "no duplicates");
    assert!(
        f.incidents
            .iter()
            .all(|i| i.status != IncidentStatus::Resolved)
    );

    let find = |id: &str| f.incidents.iter().find(|i| i.id.as_str() == id).unwrap();
    // Priority first (P1 → SEV1), then urgency (high → SEV2, low → SEV3).
    assert_eq!(find("PINC00005").severity, Severity::Sev1);
    assert_eq!(find("PINC00002").severity, Severity::Sev2);
    assert_eq!(find("PINC00003").severity, Severity::Sev3);
    let a = find("PINC00001");
    assert_eq!(a.status, IncidentStatus::Acknowledged);
    assert_eq!(a.assignee.as_ref().unwrap().as_str(), "Dana Kim");
    assert_eq!(a.title.as_str(), "incident 1");
    assert_eq!(
        a.url.as_ref().unwrap().as_str(),
        "https://acme.pagerduty.com/incidents/PINC00001"
    );
    // Service id mapped to the configured [[service]] name.
    assert_eq!(
        find("PINC00003").service.as_ref().unwrap().as_str(),
        "checkout"
    );
    assert_eq!(
        find("PINC00002").service.as_ref().unwrap().as_str(),
        "Mail Service"
    );

    // On-call.
    assert_eq!(f.oncall.len(), 2);
    assert_eq!(f.oncall[0].policy.as_str(), "Checkout & Payments");
    assert_eq!(f.oncall[0].level, 1);
    assert_eq!(f.oncall[0].user.as_str(), "Dana Kim");
    assert!(f.oncall[0].until.is_some());
    assert!(
        f.oncall[1].until.is_none(),
        "end: null = never goes off call"
    );

    // Every list request asked for open statuses only, 100 a page.
    let reqs = s.received_requests().await.unwrap();
    let lists: Vec<_> = reqs
        .iter()
        .filter(|r| r.url.path() == "/incidents")
        .collect();
    assert_eq!(lists.len(), 2, "188 open incidents = 2 pages of 100");
    for r in lists {
        let q = r.url.query().unwrap();
        assert!(
            q.contains("statuses%5B%5D=triggered&statuses%5B%5D=acknowledged"),
            "{q}"
        );
        assert!(q.contains("limit=100"), "{q}");
        assert_eq!(r.headers.get("content-type").unwrap(), "application/json");
    }
}

#[tokio::test]
async fn service_and_team_filters_are_sent() {
    let all: Vec<Value> = (1..=30).map(|n| incident(n, "triggered")).collect();
    let s = fake(all).await;
    let p = provider(
        &s.uri(),
        "services = [\"PSRV123\"]\nteams = [\"PTEAM1\"]",
        fast_http(),
    );
    let f = p.fetch().await.unwrap();
    assert_eq!(f.incidents.len(), 10, "only PSRV123 (every third)");
    let reqs = s.received_requests().await.unwrap();
    let q = reqs
        .iter()
        .find(|r| r.url.path() == "/incidents")
        .unwrap()
        .url
        .query()
        .unwrap()
        .to_string();
    assert!(q.contains("service_ids%5B%5D=PSRV123"), "{q}");
    assert!(q.contains("team_ids%5B%5D=PTEAM1"), "{q}");
}

#[tokio::test]
async fn offset_cap_of_10000_is_respected() {
    let all: Vec<Value> = (1..=10_050).map(|n| incident(n, "triggered")).collect();
    let s = fake(all).await;
    let p = provider(&s.uri(), "", fast_http());
    let t = Instant::now();
    let f = p.fetch().await.unwrap();
    eprintln!(
        "10,000 incidents over 100 pages (50 at a time, debug build): {:?}",
        t.elapsed()
    );
    assert_eq!(
        f.incidents.len(),
        10_000,
        "PagerDuty lists only offset+limit ≤ 10000"
    );
}

#[tokio::test]
async fn five_thousand_incidents_figure() {
    let all: Vec<Value> = (1..=5_000).map(|n| incident(n, "triggered")).collect();
    let s = fake(all).await;
    let p = provider(&s.uri(), "", fast_http());
    p.fetch().await.unwrap(); // warm the connection pool
    let t = Instant::now();
    let f = p.fetch().await.unwrap();
    let took = t.elapsed();
    assert_eq!(f.incidents.len(), 5_000);
    eprintln!("5,000 incidents (50 pages from a local fake, debug build): {took:?}");
}

#[tokio::test]
async fn wrong_token_is_rejected_and_named() {
    let s = fake(vec![incident(1, "triggered")]).await;
    init();
    let cfg = pd_config(&s.uri(), "");
    let sec = MapSecrets::with(&[("PD_TOKEN", "wrong-token-value")]);
    let p = PagerDuty::with_http_config(
        cfg.provider_named("pd").unwrap(),
        &ctx(&cfg, &sec),
        fast_http(),
    )
    .unwrap();
    let e = p.fetch().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized { status: 401 });
    let msg = e.to_string();
    assert!(msg.starts_with("pd: token rejected (401)"), "{msg}");
    assert!(msg.contains("Authentication failed"), "{msg}");
    assert!(!msg.contains("wrong-token-value"), "{msg}");
    // Only one attempt: a 401 is not retried.
    let n = s
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/incidents")
        .count();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn a_429_waits_for_ratelimit_reset() {
    let s = fake(vec![incident(1, "triggered")]).await;
    Mock::given(method("GET"))
        .and(path("/incidents"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("ratelimit-limit", "960")
                .insert_header("ratelimit-remaining", "0")
                .insert_header("ratelimit-reset", "1")
                .set_body_json(pd_error("Rate Limit Exceeded", 2020)),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&s)
        .await;
    let (http, waits) = recorded_http();
    let p = provider(&s.uri(), "", http);
    let f = p.fetch().await.unwrap();
    assert_eq!(waits.get(), [Duration::from_secs(1)]);
    assert_eq!(f.incidents.len(), 1);
}

#[tokio::test]
async fn a_long_reset_is_reported_not_slept() {
    let s = fake(vec![incident(1, "triggered")]).await;
    Mock::given(method("GET"))
        .and(path("/incidents"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("ratelimit-reset", "120")
                .set_body_json(pd_error("Rate Limit Exceeded", 2020)),
        )
        .with_priority(1)
        .mount(&s)
        .await;
    let (http, waits) = recorded_http();
    let p = provider(&s.uri(), "", http);
    let e = p.fetch().await.unwrap_err();
    assert!(waits.get().is_empty(), "slept {:?}", waits.get());
    assert_eq!(
        e.kind,
        ErrorKind::RateLimited {
            retry_after: Some(Duration::from_secs(120))
        }
    );
    assert!(
        e.to_string().contains("rate limited (429), retry in 120s"),
        "{e}"
    );
}

#[tokio::test]
async fn server_errors_are_retried_then_named() {
    let s = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/incidents"))
        .respond_with(
            ResponseTemplate::new(500).set_body_json(pd_error("Internal Server Error", 0)),
        )
        .expect(3)
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/oncalls"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"oncalls": [], "more": false})),
        )
        .mount(&s)
        .await;
    let p = provider(&s.uri(), "", fast_http());
    let e = p.fetch().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Server { status: 500 });
    assert!(
        e.to_string()
            .starts_with("pd: server error (500): GET /incidents"),
        "{e}"
    );
}

#[tokio::test]
async fn a_hung_server_times_out() {
    let s = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .mount(&s)
        .await;
    let mut http = HttpConfig::from_timeout(Duration::from_millis(300));
    http.retry.max_attempts = 1;
    let p = provider(&s.uri(), "", http);
    let t = Instant::now();
    let e = p.fetch().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout, "{e}");
    assert!(e.to_string().starts_with("pd: timed out"), "{e}");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
}

#[tokio::test]
async fn garbage_truncated_and_wrong_shape_json_are_named() {
    for (body, kind, words) in [
        (
            "<html>502 Bad Gateway</html>",
            ErrorKind::Malformed,
            "invalid JSON",
        ),
        (
            r#"{"incidents":[{"id":"P1","status":"trig"#,
            ErrorKind::Malformed,
            "truncated JSON",
        ),
        (
            r#"{"incidents": 5, "more": false}"#,
            ErrorKind::Shape,
            "wrong shape",
        ),
        (
            r#"{"incidents":[{"id":"P1"}]}"#,
            ErrorKind::Shape,
            "missing field",
        ),
    ] {
        let s = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/incidents"))
            .respond_with(ResponseTemplate::new(200).set_body_string(body))
            .mount(&s)
            .await;
        Mock::given(method("GET"))
            .and(path("/oncalls"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"oncalls": [], "more": false})),
            )
            .mount(&s)
            .await;
        let p = provider(&s.uri(), "", fast_http());
        let e = p.fetch().await.unwrap_err();
        assert_eq!(e.kind, kind, "{body}: {e}");
        let msg = e.to_string();
        assert!(msg.starts_with("pd: "), "{msg}");
        assert!(msg.contains(words), "{body}: {msg}");
    }
}

async fn mount_incident(s: &MockServer, id: &str, status: &str) {
    let mut i = incident(7, status);
    i["id"] = json!(id);
    Mock::given(method("GET"))
        .and(path(format!("/incidents/{id}")))
        .and(header(
            "Authorization",
            format!("Token token={TOKEN}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"incident": i})))
        .mount(s)
        .await;
}

#[tokio::test]
async fn ack_resolve_and_note_plan_and_execute() {
    let s = fake(vec![]).await;
    mount_incident(&s, "PX1", "triggered").await;
    let mut acked = incident(7, "acknowledged");
    acked["id"] = json!("PX1");
    Mock::given(method("PUT"))
        .and(path("/incidents/PX1"))
        .and(header(
            "Authorization",
            format!("Token token={TOKEN}").as_str(),
        ))
        .and(header("From", "alice@example.com"))
        .and(header("Accept", ACCEPT))
        .and(body_json(
            json!({"incident": {"type": "incident_reference", "status": "acknowledged"}}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"incident": acked})))
        .expect(1)
        .mount(&s)
        .await;
    let mut resolved = incident(7, "resolved");
    resolved["id"] = json!("PX1");
    Mock::given(method("PUT"))
        .and(path("/incidents/PX1"))
        .and(header("From", "alice@example.com"))
        .and(body_json(json!({"incident": {"type": "incident_reference", "status": "resolved", "resolution": "rolled back v1.4.2"}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"incident": resolved})))
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("POST"))
        .and(path("/incidents/PX1/notes"))
        .and(header("From", "alice@example.com"))
        .and(body_json(
            json!({"note": {"content": "Rolled back v1.4.2"}}),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"note": {"id": "PN1", "content": "Rolled back v1.4.2"}})),
        )
        .expect(1)
        .mount(&s)
        .await;
    let p = provider(&s.uri(), "", fast_http());

    let ack = WriteOp::IncidentAck {
        provider: Some("pd".into()),
        id: "PX1".into(),
    };
    assert!(p.supports(&ack));
    let plan = p.plan(&ack, &PlanCtx::default()).await.unwrap();
    assert!(
        plan.summary
            .starts_with("acknowledge SEV3 incident PX1: incident 7"),
        "{}",
        plan.summary
    );
    let req = &plan.requests[0];
    assert_eq!(req.method, "PUT");
    assert_eq!(req.url, format!("{}/incidents/PX1", s.uri()));
    let shown = serde_json::to_string(&plan).unwrap() + &req.to_string();
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(shown.contains("Token token=<redacted>"), "{shown}");
    assert!(
        req.headers
            .contains(&("From".into(), "alice@example.com".into()))
    );
    let r = p.execute(&plan, "k1").await.unwrap();
    assert_eq!(r.message, "PX1 is now acknowledged");

    let resolve = WriteOp::IncidentResolve {
        provider: None,
        id: "PX1".into(),
    };
    let plan = p
        .plan(
            &resolve,
            &PlanCtx::new("alice@example.com", "rolled back v1.4.2"),
        )
        .await
        .unwrap();
    let r = p.execute(&plan, "k2").await.unwrap();
    assert_eq!(r.message, "PX1 is now resolved");

    let note = WriteOp::IncidentNote {
        provider: None,
        id: "PX1".into(),
        text: "Rolled back v1.4.2".into(),
    };
    let plan = p
        .plan(
            &note,
            &PlanCtx::new("alice@example.com", "a reason never replaces the note"),
        )
        .await
        .unwrap();
    assert_eq!(plan.requests[0].method, "POST");
    p.execute(&plan, "k3").await.unwrap();

    // A plan for one incident cannot be pointed at another URL.
    let mut bad = p.plan(&ack, &PlanCtx::default()).await.unwrap();
    bad.requests[0].url = format!("{}/incidents/OTHER", s.uri());
    let e = p.execute(&bad, "k4").await.unwrap_err();
    assert!(e.to_string().contains("does not match"), "{e}");

    // Unknown incident: NotFound at plan time, nothing written.
    Mock::given(method("GET"))
        .and(path("/incidents/NOPE"))
        .respond_with(ResponseTemplate::new(404).set_body_json(pd_error("Not Found", 2100)))
        .mount(&s)
        .await;
    let e = p
        .plan(
            &WriteOp::IncidentAck {
                provider: None,
                id: "NOPE".into(),
            },
            &PlanCtx::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(
        e.to_string()
            .starts_with("pd: not found (404): GET /incidents/NOPE: Not Found"),
        "{e}"
    );
}

#[tokio::test]
async fn writes_need_from_and_are_never_retried() {
    let s = fake(vec![]).await;
    mount_incident(&s, "PX2", "triggered").await;
    Mock::given(method("PUT"))
        .and(path("/incidents/PX2"))
        .respond_with(
            ResponseTemplate::new(500).set_body_json(pd_error("Internal Server Error", 0)),
        )
        .expect(1)
        .mount(&s)
        .await;
    let p = provider(&s.uri(), "", fast_http());
    let plan = p
        .plan(
            &WriteOp::IncidentAck {
                provider: None,
                id: "PX2".into(),
            },
            &PlanCtx::default(),
        )
        .await
        .unwrap();
    let e = p.execute(&plan, "k").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Server { status: 500 });

    // Without `from`, writes are refused at plan time.
    init();
    let cfg = config(&format!(
        "[[provider]]\nname = \"pd\"\nkind = \"pagerduty\"\nbase_url = \"{}\"\ntoken = {{ env = \"PD_TOKEN\" }}\n",
        s.uri()
    ));
    let sec = secrets();
    let p = PagerDuty::with_http_config(
        cfg.provider_named("pd").unwrap(),
        &ctx(&cfg, &sec),
        fast_http(),
    )
    .unwrap();
    let e = p
        .plan(
            &WriteOp::IncidentAck {
                provider: None,
                id: "PX2".into(),
            },
            &PlanCtx::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Config);
    assert!(e.to_string().contains("from"), "{e}");
}

#[tokio::test]
async fn one_failing_provider_does_not_hide_the_others() {
    init();
    let good = fake(vec![incident(1, "triggered"), incident(2, "acknowledged")]).await;
    let bad = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(503).set_body_string("upstream down"))
        .mount(&bad)
        .await;
    let cfg = config(&format!(
        r#"
[[provider]]
name = "pd"
kind = "pagerduty"
base_url = "{}"
token = {{ env = "PD_TOKEN" }}

[[provider]]
name = "pd-eu"
kind = "pagerduty"
base_url = "{}"
token = {{ env = "PD_TOKEN" }}
timeout = "2s"

[[provider]]
name = "pd-notoken"
kind = "pagerduty"
token = {{ env = "PD_MISSING" }}
"#,
        good.uri(),
        bad.uri()
    ));
    let sec = secrets();
    let reg = Registry::from_config(&cfg, &sec);
    assert_eq!(reg.providers.len(), 3);
    let store = sitrep::store::Store::fetch_all(&reg, None).await;
    let st = store.statuses();
    assert!(st[0].ok, "{:?}", st[0]);
    assert!(!st[1].ok);
    let e1 = st[1].error.as_ref().unwrap().as_str();
    // Incidents and on-call fail together; depending on timing the last
    // attempt meets the breaker, whose message carries the 503.
    assert!(
        e1.starts_with("pd-eu: server error (503)")
            || e1.starts_with("pd-eu: circuit open after repeated failures"),
        "{e1}"
    );
    assert!(e1.contains("(503)"), "{e1}");
    assert!(e1.contains("upstream down"), "{e1}");
    let e2 = st[2].error.as_ref().unwrap().as_str();
    assert!(e2.starts_with("pd-notoken: configuration"), "{e2}");
    assert!(e2.contains("PD_MISSING"), "{e2}");
    let snap = store.snapshot(chrono::Utc::now());
    assert_eq!(snap.incidents.len(), 2, "pd's data is shown despite pd-eu");
    assert!(snap.incidents.iter().all(|i| i.provider.as_str() == "pd"));
    let _ = Arc::clone(&reg.providers[0]);
}

#[tokio::test]
async fn hostile_titles_are_inert_in_json_output() {
    let hostile = [
        "\u{1b}[2J\u{1b}[31mFAKE: all clear\u{1b}[0m",
        "\u{1b}]8;;https://evil.example\u{7}click\u{1b}]8;;\u{7}",
        "C1 CSI \u{9b}31m and OSC \u{9d}0;title\u{9c}",
        "bidi \u{202e}gnp.exe\u{202c} \u{2066}x\u{2069} zero\u{200b}width",
        "line\nbreak\rcarriage\u{7f}",
    ];
    let all: Vec<Value> = hostile
        .iter()
        .enumerate()
        .map(|(n, t)| {
            let mut i = incident(n + 1, "triggered");
            i["title"] = json!(t);
            i["assignments"] = json!([{"assignee": {"summary": t}}]);
            i["service"]["summary"] = json!(t);
            i["service"]["id"] = json!("PNOPE");
            i
        })
        .collect();
    let s = fake(all).await;
    let p = provider(&s.uri(), "", fast_http());
    let f = p.fetch().await.unwrap();
    let now = chrono::Utc::now();
    let snap = sitrep::model::Snapshot::assemble(now, vec![], [&f]);
    let out = sitrep::cli::output::rendered(|w| {
        sitrep::cli::output::incidents(&snap, now, true, None, false, w)
    })
    .unwrap();
    let bad = |c: char| {
        (c.is_control() && c != '\n')
            || ('\u{80}'..='\u{9f}').contains(&c)
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200b}'..='\u{200f}')
    };
    assert!(
        !out.chars().any(bad),
        "raw output carries a control: {out:?}"
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    let items = v["incidents"].as_array().unwrap();
    assert_eq!(items.len(), hostile.len());
    for i in items {
        for k in ["title", "assignee", "service"] {
            let t = i[k].as_str().unwrap();
            assert!(!t.chars().any(|c| bad(c) || c == '\n'), "{k} {t:?}");
        }
    }
    // The text is still there, made visible.
    assert!(out.contains("FAKE: all clear"));
}

#[tokio::test]
async fn decode_figure_for_5000_incidents() {
    // The decoding and normalizing alone (no network), as fetch does it.
    let body = serde_json::to_vec(&json!({
        "incidents": (1..=5_000).map(|n| incident(n, "triggered")).collect::<Vec<_>>(),
        "limit": 5000, "offset": 0, "more": false, "total": null
    }))
    .unwrap();
    let p = provider("http://127.0.0.1:9", "", fast_http());
    let t = Instant::now();
    let (list, more) = p.decode_incidents(&body).unwrap();
    let took = t.elapsed();
    assert_eq!(list.len(), 5_000);
    assert!(!more);
    assert!(list.iter().all(|i| i.status == IncidentStatus::Triggered));
    eprintln!(
        "decode + normalize 5,000 PagerDuty incidents ({} KiB): {took:?} ({} build)",
        body.len() / 1024,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
}

/// The few service and assignee names of a list are each sanitized once
/// and shared by the incidents that carry them (one string, not one per
/// incident), and stay equal to what each incident says.
#[tokio::test]
async fn a_lists_names_are_shared_not_copied_per_incident() {
    let mut raw: Vec<Value> = (1..=12).map(|n| incident(n, "acknowledged")).collect();
    raw[6]["service"]["summary"] = json!("Payments \u{1b}[31mAPI");
    raw[7]["service"]["summary"] = json!("Payments \u{1b}[31mAPI");
    let body = serde_json::to_vec(&json!({"incidents": raw, "more": false})).unwrap();
    let p = provider("http://127.0.0.1:9", "", fast_http());
    let (list, _) = p.decode_incidents(&body).unwrap();
    fn service(i: &Incident) -> &str {
        i.service.as_ref().map(|s| s.as_str()).unwrap_or("")
    }
    fn assignee(i: &Incident) -> &str {
        i.assignee.as_ref().map(|s| s.as_str()).unwrap_or("")
    }
    // (distinct names, distinct strings in memory)
    let distinct = |f: fn(&Incident) -> &str| {
        let texts: std::collections::BTreeSet<&str> = list.iter().map(f).collect();
        let ptrs: std::collections::BTreeSet<*const u8> =
            list.iter().map(|i| f(i).as_ptr()).collect();
        (texts.len(), ptrs.len())
    };
    // "Mail Service", "Payments API" and `checkout` (the config's name
    // for PSRV123).
    assert_eq!(distinct(service), (3, 3));
    assert_eq!(service(&list[6]), "Payments API");
    assert_eq!(service(&list[7]), "Payments API");
    assert_eq!(service(&list[2]), "checkout");
    assert_eq!(service(&list[0]), "Mail Service");
    assert_eq!(distinct(assignee), (1, 1));
    assert_eq!(assignee(&list[11]), "Dana Kim");
}

#[tokio::test]
async fn escaped_text_decodes_whole_and_sanitized() {
    // Text with JSON escapes cannot be borrowed from the body: it is
    // decoded into its own string, then sanitized like any other.
    let body = br#"{"incidents":[{"id":"Q\u0031","title":"db \"primary\" down \u001b[31mNOW\u001b[0m","status":"acknowledged","created_at":"2026-11-22T03:00:00Z","urgency":"high","service":{"id":"P1","summary":"check\tout"},"assignments":[{"assignee":{"summary":"Ana \u00e9"}}]}],"more":false}"#;
    let p = provider("http://127.0.0.1:9", "", fast_http());
    let (list, more) = p.decode_incidents(body).unwrap();
    assert!(!more);
    let i = &list[0];
    assert_eq!(i.id.as_str(), "Q1");
    assert!(
        i.title.as_str().starts_with("db \"primary\" down"),
        "{:?}",
        i.title
    );
    assert!(!i.title.as_str().contains('\u{1b}'), "{:?}", i.title);
    assert_eq!(i.status, IncidentStatus::Acknowledged);
    assert!(!i.service.as_ref().unwrap().as_str().contains('\t'));
    assert_eq!(i.assignee.as_ref().unwrap().as_str(), "Ana é");
    assert_eq!(i.provider.as_str(), "pd");
}

/// `incidents --all` adds what PagerDuty resolved in the `--since` window
/// (SPEC §2): `statuses[]=resolved` with `since`/`until`, every page; the
/// open list stays open-only.
#[tokio::test]
async fn all_adds_incidents_resolved_in_the_since_window() {
    let mut incs: Vec<Value> = (1..=3).map(|n| incident(n, "triggered")).collect();
    incs.extend((4..=130).map(|n| incident(n, "resolved")));
    let s = fake(incs).await;
    let p = provider(&s.uri(), "", fast_http());
    let since = chrono::Utc::now() - chrono::Duration::hours(6);
    let resolved = p.resolved(since).await.unwrap();
    assert_eq!(resolved.len(), 127, "every page of resolved incidents");
    assert!(
        resolved
            .iter()
            .all(|i| i.status == IncidentStatus::Resolved)
    );
    assert_eq!(p.incidents().await.unwrap().len(), 3);
    let reqs = s.received_requests().await.unwrap();
    let windowed: Vec<Vec<(String, String)>> = reqs
        .iter()
        .map(|r| r.url.query_pairs().into_owned().collect::<Vec<_>>())
        .filter(|q| q.iter().any(|(k, v)| k == "statuses[]" && v == "resolved"))
        .collect();
    assert!(windowed.len() >= 2, "paged");
    let want = since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    for q in &windowed {
        assert!(q.iter().any(|(k, v)| k == "since" && *v == want), "{q:?}");
        assert!(q.iter().any(|(k, _)| k == "until"), "{q:?}");
        assert!(
            !q.iter().any(|(k, v)| k == "statuses[]" && v != "resolved"),
            "{q:?}"
        );
    }

    // Through the CLI: --all shows both, without it only the open ones.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[provider]]\nname = \"pd\"\nkind = \"pagerduty\"\nbase_url = \"{}\"\ntoken = {{ env = \"PD_TOKEN\" }}\n",
            s.uri()
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sitrep"))
            .arg("--config")
            .arg(&cfg)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(args)
            .env("PD_TOKEN", TOKEN)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["incidents"].as_array().cloned().unwrap_or_default()
    };
    let all = run(&["incidents", "--json", "--all", "--since", "6h"]);
    assert_eq!(all.len(), 130);
    assert!(all.iter().any(|i| i["status"] == "resolved"));
    let open = run(&["incidents", "--json"]);
    assert_eq!(open.len(), 3);
}

/// A PagerDuty `/incidents` route over `n` open incidents for the gate
/// server: the first page (offset 0) answers at once, every other page is
/// held until `gate` are in flight. `remaining` is the
/// `ratelimit-remaining` sent; `fail_at` answers that offset with a 400.
fn gated_incidents(
    n: usize,
    remaining: usize,
    fail_at: Option<usize>,
) -> impl Fn(&gate::GateRequest) -> gate::GateAnswer + Send + Sync + 'static {
    let all: Vec<Value> = (0..n).map(|i| incident(i, "triggered")).collect();
    move |r| {
        let rate = vec![
            ("ratelimit-limit".to_string(), "960".to_string()),
            ("ratelimit-remaining".to_string(), remaining.to_string()),
            ("ratelimit-reset".to_string(), "30".to_string()),
        ];
        if r.path == "/oncalls" {
            return gate::GateAnswer {
                status: 200,
                headers: rate,
                body: json!({"oncalls": [], "limit": 100, "offset": 0, "more": false, "total": 0})
                    .to_string(),
                held: false,
            };
        }
        let offset: usize = r.q("offset").and_then(|v| v.parse().ok()).unwrap_or(0);
        let limit: usize = r.q("limit").and_then(|v| v.parse().ok()).unwrap_or(25);
        if Some(offset) == fail_at {
            return gate::GateAnswer {
                status: 400,
                headers: rate,
                body: pd_error("Invalid Input Provided", 2001).to_string(),
                held: true,
            };
        }
        let page: Vec<&Value> = all.iter().skip(offset).take(limit).collect();
        let total = if r.q("total") == Some("true") {
            json!(all.len())
        } else {
            Value::Null
        };
        gate::GateAnswer {
            status: 200,
            headers: rate,
            body: json!({"incidents": page, "limit": limit, "offset": offset,
                         "more": offset + limit < all.len(), "total": total})
            .to_string(),
            held: offset > 0,
        }
    }
}

/// 5,000 incidents: the first page alone (it tells the total), then the
/// other 49 pages all in flight together: two round trips, 50 requests.
#[tokio::test]
async fn pages_after_the_first_are_requested_together() {
    let g = gate::GateServer::start(49, gated_incidents(5000, 959, None)).await;
    let pd = provider(&g.url, "", fast_http());
    let got = pd.incidents().await.unwrap();
    assert_eq!(got.len(), 5000);
    let ids: Vec<String> = got.iter().map(|i| i.id.to_string()).collect();
    let want: Vec<String> = (0..5000).map(|n| format!("PINC{n:05}")).collect();
    assert_eq!(ids, want, "in order, no duplicates");
    assert_eq!(g.max_in_flight(), 49, "every page after the first at once");
    let pages: Vec<String> = g
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("/incidents"))
        .collect();
    assert_eq!(pages.len(), 50);
    assert!(pages[0].contains("offset=0") && pages[0].contains("total=true"));
}

/// With little of the rate-limit window left, fewer pages go at once: at
/// most half of `ratelimit-remaining`.
#[tokio::test]
async fn pages_in_flight_stay_within_half_the_remaining_budget() {
    let g = gate::GateServer::start(10, gated_incidents(5000, 20, None)).await;
    let pd = provider(&g.url, "", fast_http());
    assert_eq!(pd.incidents().await.unwrap().len(), 5000);
    assert_eq!(g.max_in_flight(), 10);
}

/// A page that fails fails the list, and the error names the provider and
/// the page.
#[tokio::test]
async fn a_failed_page_is_named() {
    let g = gate::GateServer::start(49, gated_incidents(5000, 959, Some(2500))).await;
    let pd = provider(&g.url, "", fast_http());
    let e = pd.incidents().await.unwrap_err();
    let text = e.to_string();
    assert!(text.starts_with("pd:"), "{text}");
    assert!(text.contains("page at offset 2500"), "{text}");
}
