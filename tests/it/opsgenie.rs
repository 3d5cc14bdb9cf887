//! Opsgenie against a wiremock fake that follows providers.md §9:
//! `Authorization: GenieKey <key>` (other schemes → 401 with the Opsgenie
//! error body), `{data, paging.next}` pagination, asynchronous 202 +
//! `requestId` writes with the request-status lookup.

use crate::common::*;
use serde_json::{Value, json};
use sitrep::model::{IncidentStatus, Severity};
use sitrep::ops::PlanCtx;
use sitrep::ops::WriteOp;
use sitrep::providers::http::HttpConfig;
use sitrep::providers::opsgenie::Opsgenie;
use sitrep::providers::{ErrorKind, Provider};
use std::time::{Duration, Instant};
use wiremock::matchers::{any, body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const KEY: &str = "og-key-abcdef-123456";

fn alert(n: usize) -> Value {
    json!({
        "id": format!("70413a06-38d6-4c85-92b8-5ebc900d42e{n:03}"),
        "tinyId": n.to_string(),
        "alias": format!("alias-{n}"),
        "message": format!("alert {n}"),
        "status": "open",
        "acknowledged": n % 3 == 1,
        "isSeen": true,
        "tags": if n.is_multiple_of(2) { json!(["service:checkout", "prod"]) } else { json!(["prod"]) },
        "snoozed": n.is_multiple_of(7),
        "count": 1,
        "createdAt": "2026-11-22T03:04:05.123Z",
        "updatedAt": "2026-11-22T03:05:05.123Z",
        "lastOccurredAt": "2026-11-22T03:04:05.123Z",
        "source": "prometheus",
        "owner": if n % 3 == 1 { "dana@example.com" } else { "" },
        "priority": format!("P{}", (n % 5) + 1),
        "responders": [],
        "ownerTeamId": ""
    })
}

struct ListAlerts {
    alerts: Vec<Value>,
    base: String,
}

impl Respond for ListAlerts {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let q: Vec<(String, String)> = req.url.query_pairs().into_owned().collect();
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        if get("query").as_deref() != Some("status:open") {
            return ResponseTemplate::new(422).set_body_json(
                json!({"message": "expected query=status:open", "took": 0.0, "requestId": "r"}),
            );
        }
        let limit: usize = get("limit")
            .and_then(|v| v.parse().ok())
            .unwrap_or(20)
            .min(100);
        let offset: usize = get("offset").and_then(|v| v.parse().ok()).unwrap_or(0);
        let page: Vec<&Value> = self.alerts.iter().skip(offset).take(limit).collect();
        let mut paging = json!({
            "first": format!("{}/v2/alerts?query=status%3Aopen&limit={limit}&offset=0&sort=createdAt&order=desc", self.base),
        });
        if offset + limit < self.alerts.len() {
            paging["next"] = json!(format!(
                "{}/v2/alerts?query=status%3Aopen&limit={limit}&offset={}&sort=createdAt&order=desc",
                self.base,
                offset + limit
            ));
        }
        ResponseTemplate::new(200).set_body_json(json!({
            "data": page, "paging": paging, "took": 0.1, "requestId": "list-req"
        }))
    }
}

async fn fake(alerts: Vec<Value>) -> MockServer {
    let s = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/alerts"))
        .and(header("Authorization", format!("GenieKey {KEY}").as_str()))
        .respond_with(ListAlerts {
            alerts,
            base: s.uri(),
        })
        .mount(&s)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "message": "Could not authenticate", "took": 0.0, "requestId": "auth-req"
        })))
        .with_priority(10)
        .mount(&s)
        .await;
    s
}

fn provider(url: &str, key: &str) -> Opsgenie {
    provider_with(url, key, fast_http())
}

fn provider_with(url: &str, key: &str, http: HttpConfig) -> Opsgenie {
    init();
    let cfg = config(&format!(
        "[identity]\nname = \"alice@example.com\"\n\n[[provider]]\nname = \"og\"\nkind = \"opsgenie\"\nbase_url = \"{url}\"\ntoken = {{ env = \"OG_KEY\" }}\n"
    ));
    let sec = MapSecrets::with(&[("OG_KEY", key)]);
    Opsgenie::with_http_config(cfg.provider_named("og").unwrap(), &ctx(&cfg, &sec), http).unwrap()
}

#[tokio::test]
async fn lists_open_alerts_across_pages_with_priorities() {
    let s = fake((1..=230).map(alert).collect()).await;
    let p = provider(&s.uri(), KEY);
    let f = p.fetch().await.unwrap();
    assert_eq!(f.incidents.len(), 230);
    let pages = s
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/v2/alerts")
        .count();
    assert_eq!(pages, 3, "followed paging.next");
    let find = |n: usize| {
        let id = format!("70413a06-38d6-4c85-92b8-5ebc900d42e{n:03}");
        f.incidents
            .iter()
            .find(|i| i.id.as_str() == id)
            .unwrap()
            .clone()
    };
    // P1..P5 through the matrix: P1 SEV1, P2 SEV2, P3 SEV3, P4/P5 SEV4.
    assert_eq!(find(5).severity, Severity::Sev1); // 5 % 5 + 1 = P1
    assert_eq!(find(1).severity, Severity::Sev2);
    assert_eq!(find(2).severity, Severity::Sev3);
    assert_eq!(find(3).severity, Severity::Sev4);
    assert_eq!(find(4).severity, Severity::Sev4);
    let a = find(1);
    assert_eq!(a.status, IncidentStatus::Acknowledged);
    assert_eq!(a.assignee.as_ref().unwrap().as_str(), "dana@example.com");
    assert_eq!(a.title.as_str(), "alert 1");
    assert_eq!(find(2).status, IncidentStatus::Triggered);
    assert_eq!(find(2).service.as_ref().unwrap().as_str(), "checkout");
    assert_eq!(find(14).status, IncidentStatus::Silenced, "snoozed");
}

#[tokio::test]
async fn wrong_scheme_is_rejected_and_named() {
    let s = fake(vec![alert(1)]).await;
    let p = provider(&s.uri(), "not-the-key");
    let e = p.fetch().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized { status: 401 });
    let m = e.to_string();
    assert!(
        m.starts_with("og: token rejected (401): GET /v2/alerts: Could not authenticate"),
        "{m}"
    );
    assert!(!m.contains("not-the-key"));
}

#[tokio::test]
async fn a_429_without_headers_backs_off_and_recovers() {
    let s = fake(vec![alert(1)]).await;
    Mock::given(method("GET"))
        .and(path("/v2/alerts"))
        .respond_with(
            ResponseTemplate::new(429).set_body_json(
                json!({"message": "Too many requests", "took": 0.0, "requestId": "x"}),
            ),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&s)
        .await;
    let (http, waits) = recorded_http();
    let p = provider_with(&s.uri(), KEY, http);
    let f = p.fetch().await.unwrap();
    assert_eq!(f.incidents.len(), 1);
    // No header: the minimum server wait, 1 s.
    assert_eq!(waits.get(), [Duration::from_secs(1)]);
}

#[tokio::test]
async fn acknowledge_is_accepted_then_confirmed() {
    let s = fake(vec![alert(2)]).await;
    let id = alert(2)["id"].as_str().unwrap().to_string();
    Mock::given(method("GET"))
        .and(path(format!("/v2/alerts/{id}")))
        .and(query_param("identifierType", "id"))
        .and(header("Authorization", format!("GenieKey {KEY}").as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": alert(2), "took": 0.0, "requestId": "g"})),
        )
        .mount(&s)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v2/alerts/{id}/acknowledge")))
        .and(query_param("identifierType", "id"))
        .and(header("Authorization", format!("GenieKey {KEY}").as_str()))
        .and(body_json(
            json!({"user": "bob@example.com", "source": "sitrep", "note": "INC-7 on it"}),
        ))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({
            "result": "Request will be processed", "took": 0.107, "requestId": "req-ack-1"
        })))
        .expect(1)
        .mount(&s)
        .await;
    // Not processed yet on the first look, then done.
    Mock::given(method("GET"))
        .and(path("/v2/alerts/requests/req-ack-1"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(
                json!({"message": "Request not found", "took": 0.0, "requestId": "x"}),
            ),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/alerts/requests/req-ack-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": {"isSuccess": true, "action": "Acknowledge", "processedAt": "2026-11-22T03:06:00Z",
                     "status": "Acknowledged alert", "alertId": id, "alias": "alias-2"},
            "took": 0.0, "requestId": "y"
        })))
        .mount(&s)
        .await;
    let p = provider(&s.uri(), KEY);
    let op = WriteOp::IncidentAck {
        provider: None,
        id: id.clone(),
    };
    let plan = p.plan(&op, &PlanCtx::default()).await.unwrap();
    assert!(
        plan.summary.starts_with("acknowledge SEV3 alert"),
        "{}",
        plan.summary
    );
    let shown = serde_json::to_string(&plan).unwrap();
    assert!(
        !shown.contains(KEY) && shown.contains("GenieKey <redacted>"),
        "{shown}"
    );
    // Who acts and why are the provider's to fill when it plans.
    let plan = p
        .plan(&op, &PlanCtx::new("bob@example.com", "INC-7 on it"))
        .await
        .unwrap();
    let r = p.execute(&plan, "k").await.unwrap();
    assert_eq!(r.detail["requestId"], "req-ack-1");
    assert_eq!(r.detail["processed"], true);
    assert!(r.message.contains("done"), "{}", r.message);
}

#[tokio::test]
async fn close_that_fails_asynchronously_is_reported() {
    let s = fake(vec![alert(3)]).await;
    let id = alert(3)["id"].as_str().unwrap().to_string();
    Mock::given(method("GET"))
        .and(path(format!("/v2/alerts/{id}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": alert(3)})))
        .mount(&s)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v2/alerts/{id}/close")))
        .and(header("Authorization", format!("GenieKey {KEY}").as_str()))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({
            "result": "Request will be processed", "took": 0.1, "requestId": "req-close-1"
        })))
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/alerts/requests/req-close-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": {"isSuccess": false, "action": "Close", "status": "Alert does not exist"}
        })))
        .mount(&s)
        .await;
    let p = provider(&s.uri(), KEY);
    let op = WriteOp::IncidentResolve { provider: None, id };
    let plan = p.plan(&op, &PlanCtx::default()).await.unwrap();
    assert!(plan.requests[0].url.contains("/close?identifierType=id"));
    let e = p.execute(&plan, "k").await.unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Conflict { .. }), "{e:?}");
    assert!(e.to_string().contains("Alert does not exist"), "{e}");
}

#[tokio::test]
async fn garbage_and_truncated_bodies_are_named() {
    for (body, kind) in [
        ("not json at all", ErrorKind::Malformed),
        (
            r#"{"data":[{"id":"a","createdAt":"2026-11-22T03:04:05Z""#,
            ErrorKind::Malformed,
        ),
        (r#"{"data":{"id":"a"}}"#, ErrorKind::Shape),
    ] {
        let s = MockServer::start().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(200).set_body_string(body))
            .mount(&s)
            .await;
        let e = provider(&s.uri(), KEY).fetch().await.unwrap_err();
        assert_eq!(e.kind, kind, "{body}: {e}");
        assert!(e.to_string().starts_with("og: "), "{e}");
    }
}

#[tokio::test]
async fn server_errors_and_a_hung_server_are_named() {
    let s = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({
            "message": "Internal Server Error", "took": 0.0, "requestId": "r500"
        })))
        .expect(3)
        .mount(&s)
        .await;
    let e = provider(&s.uri(), KEY).fetch().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Server { status: 500 });
    assert!(
        e.to_string()
            .starts_with("og: server error (500): GET /v2/alerts: Internal Server Error"),
        "{e}"
    );

    let s = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .mount(&s)
        .await;
    init();
    let cfg = config(&format!(
        "[[provider]]\nname = \"og\"\nkind = \"opsgenie\"\nbase_url = \"{}\"\ntoken = {{ env = \"OG_KEY\" }}\n",
        s.uri()
    ));
    let sec = MapSecrets::with(&[("OG_KEY", KEY)]);
    let mut http = sitrep::providers::http::HttpConfig::from_timeout(Duration::from_millis(300));
    http.retry.max_attempts = 1;
    let p = Opsgenie::with_http_config(cfg.provider_named("og").unwrap(), &ctx(&cfg, &sec), http)
        .unwrap();
    let t = Instant::now();
    let e = p.fetch().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout, "{e}");
    assert!(e.to_string().starts_with("og: timed out"), "{e}");
    assert!(t.elapsed() < Duration::from_secs(3));
}

/// Issue 23: an alert's logs and notes for the details pane, newest first,
/// sanitized; a failure names the provider.
#[tokio::test]
async fn details_read_the_alerts_logs_and_notes() {
    let s = fake(vec![]).await;
    Mock::given(method("GET"))
        .and(path("/v2/alerts/A1/logs"))
        .and(header("Authorization", format!("GenieKey {KEY}").as_str()))
        .and(query_param("identifierType", "id"))
        .and(query_param("order", "desc"))
        .and(query_param("limit", "20"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [
                {"log": "Alert created via API", "type": "system", "owner": "",
                 "createdAt": "2026-11-22T02:50:00.000Z", "offset": "1"},
                {"log": "Alert acknowledged via web\u{1b}]52;c;ZXZpbA==\u{7}", "type": "alertAck",
                 "owner": "dana@acme.example", "createdAt": "2026-11-22T02:58:00.000Z", "offset": "2"}
            ],
            "paging": {}, "took": 0.01, "requestId": "r1"
        })))
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/alerts/A1/notes"))
        .and(header("Authorization", format!("GenieKey {KEY}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [{"note": "looking into it", "owner": "dana@acme.example",
                      "createdAt": "2026-11-22T03:00:00.000Z", "offset": "1"}],
            "paging": {}, "took": 0.01, "requestId": "r2"
        })))
        .expect(1)
        .mount(&s)
        .await;
    let p = provider(&s.uri(), KEY);
    assert!(p.has_details());
    let d = p.incident_details("A1").await.unwrap();
    assert_eq!(d.log.len(), 2);
    assert_eq!(d.log[0].kind.as_str(), "alertAck");
    assert_eq!(
        d.log[0].agent.as_ref().unwrap().as_str(),
        "dana@acme.example"
    );
    assert!(!d.log[0].summary.as_str().contains('\u{1b}'));
    assert!(d.log[1].agent.is_none());
    assert_eq!(d.notes[0].text.as_str(), "looking into it");

    Mock::given(method("GET"))
        .and(path("/v2/alerts/GONE/logs"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "message": "Alert does not exist", "took": 0.0, "requestId": "r3"
        })))
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/alerts/GONE/notes"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .mount(&s)
        .await;
    let e = p.incident_details("GONE").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(e.to_string().starts_with("og: "), "{e}");
    assert!(e.to_string().contains("Alert does not exist"), "{e}");
}
