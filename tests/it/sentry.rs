//! Sentry against a wiremock fake that follows providers.md §11:
//! `Authorization: Bearer`, bare-array lists paged by the `Link` header
//! (`previous` then `next`, `results="true|false"`, opaque cursors),
//! `X-Sentry-Rate-Limit-*` headers (and a self-hosted mode without them),
//! DRF `{"detail": ...}` errors, org-scoped issue PUT with the legacy route
//! as a fallback.

use crate::common::*;
use serde_json::{Value, json};
use sitrep::model::{IncidentStatus, Severity};
use sitrep::ops::PlanCtx;
use sitrep::ops::{Matcher, WriteOp};
use sitrep::providers::http::HttpConfig;
use sitrep::providers::sentry::Sentry;
use sitrep::providers::{ErrorKind, Provider};
use std::time::{Duration, Instant};
use wiremock::matchers::{any, body_json, header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "sntrys_test_token_abcdef";
const LIST: &str = "/api/0/organizations/acme/issues/";

fn issue(n: usize) -> Value {
    let level = ["fatal", "error", "warning", "info", "debug", "sample"][n % 6];
    json!({
        "id": (4_505_000_000usize + n).to_string(),
        "shortId": format!("PUMP-STATION-{n}"),
        "title": format!("Exception {n}"),
        "culprit": "raven.scripts.runner in main",
        "level": level,
        "status": "unresolved",
        "substatus": "ongoing",
        "count": "150",
        "userCount": 0,
        "firstSeen": "2026-11-21T21:19:55.123456Z",
        "lastSeen": "2026-11-22T03:19:55Z",
        "permalink": format!("https://acme.sentry.io/issues/{n}/"),
        "project": {"id": "2", "name": "Pump Station", "slug": "pump-station", "platform": "python"},
        "assignedTo": if n.is_multiple_of(4) { json!({"type": "user", "id": "1", "name": "Dana Kim", "email": "dana@example.com"}) } else { Value::Null },
        "statusDetails": {},
        "metadata": {"title": format!("Exception {n}")}
    })
}

/// The org issues list with cursor pagination in `Link`.
struct ListIssues {
    issues: Vec<Value>,
    /// Origin used in `Link` URLs (the fake's, or a customer domain).
    link_origin: String,
    rate_headers: bool,
}

impl Respond for ListIssues {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let q: Vec<(String, String)> = req.url.query_pairs().into_owned().collect();
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        if get("query").as_deref() != Some("is:unresolved") {
            return ResponseTemplate::new(400)
                .set_body_json(json!({"detail": "expected is:unresolved"}));
        }
        let limit: usize = get("limit")
            .and_then(|v| v.parse().ok())
            .unwrap_or(100)
            .min(100);
        // Cursor "<value>:<offset>:<is_prev>".
        let offset: usize = get("cursor")
            .and_then(|c| c.split(':').nth(1).and_then(|o| o.parse().ok()))
            .unwrap_or(0);
        let page: Vec<&Value> = self.issues.iter().skip(offset).take(limit).collect();
        let rest: Vec<(String, String)> =
            q.iter().filter(|(k, _)| k != "cursor").cloned().collect();
        let qs = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(rest.iter())
            .finish();
        let link_url = |c: &str| format!("{}{}?{qs}&cursor={c}", self.link_origin, LIST);
        let prev = format!("1724300000000:{}:1", offset);
        let next = format!("1724300000000:{}:0", offset + limit);
        let has_next = offset + limit < self.issues.len();
        let link = format!(
            "<{}>; rel=\"previous\"; results=\"{}\"; cursor=\"{prev}\", <{}>; rel=\"next\"; results=\"{has_next}\"; cursor=\"{next}\"",
            link_url(&prev),
            offset > 0,
            link_url(&next)
        );
        let mut r = ResponseTemplate::new(200)
            .insert_header("Link", link.as_str())
            .insert_header("X-Hits", self.issues.len().to_string().as_str())
            .insert_header("X-Max-Hits", "1000")
            .set_body_json(page);
        if self.rate_headers {
            r = r
                .insert_header("X-Sentry-Rate-Limit-Limit", "40")
                .insert_header("X-Sentry-Rate-Limit-Remaining", "39")
                .insert_header("X-Sentry-Rate-Limit-Reset", "1724300001");
        }
        r
    }
}

async fn fake(issues: Vec<Value>, link_origin: Option<&str>) -> MockServer {
    let s = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(LIST))
        .and(header("Authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ListIssues {
            issues,
            link_origin: link_origin.map(str::to_string).unwrap_or_else(|| s.uri()),
            rate_headers: true,
        })
        .mount(&s)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"detail": "Invalid token"})))
        .with_priority(10)
        .mount(&s)
        .await;
    s
}

fn provider(url: &str, token: &str, extra: &str) -> Sentry {
    provider_with(url, token, extra, fast_http())
}

fn provider_with(url: &str, token: &str, extra: &str, http: HttpConfig) -> Sentry {
    init();
    let cfg = config(&format!(
        "[[provider]]\nname = \"sentry\"\nkind = \"sentry\"\nbase_url = \"{url}\"\norganization = \"acme\"\ntoken = {{ env = \"SENTRY_TOKEN\" }}\n{extra}\n"
    ));
    let sec = MapSecrets::with(&[("SENTRY_TOKEN", token)]);
    Sentry::with_http_config(
        cfg.provider_named("sentry").unwrap(),
        &ctx(&cfg, &sec),
        http,
    )
    .unwrap()
}

#[tokio::test]
async fn lists_unresolved_issues_following_link_cursors() {
    let s = fake((1..=250).map(issue).collect(), None).await;
    let p = provider(&s.uri(), TOKEN, "projects = [\"pump-station\"]");
    let f = p.fetch().await.unwrap();
    assert_eq!(f.incidents.len(), 250);
    let reqs = s.received_requests().await.unwrap();
    let lists: Vec<_> = reqs.iter().filter(|r| r.url.path() == LIST).collect();
    assert_eq!(lists.len(), 3, "stopped at results=\"false\"");
    for r in &lists {
        let q = r.url.query().unwrap();
        assert!(q.contains("project=pump-station"), "{q}");
    }
    let find = |n: usize| {
        let id = (4_505_000_000usize + n).to_string();
        f.incidents
            .iter()
            .find(|i| i.id.as_str() == id)
            .unwrap()
            .clone()
    };
    assert_eq!(find(6).severity, Severity::Sev1, "fatal");
    assert_eq!(find(1).severity, Severity::Sev2, "error");
    assert_eq!(find(2).severity, Severity::Sev3, "warning");
    assert_eq!(find(3).severity, Severity::Sev4, "info");
    assert_eq!(find(4).severity, Severity::Sev4, "debug");
    assert_eq!(find(5).severity, Severity::Sev3, "unknown level 'sample'");
    let i = find(4);
    assert_eq!(i.status, IncidentStatus::Acknowledged, "assigned");
    assert_eq!(i.assignee.as_ref().unwrap().as_str(), "Dana Kim");
    assert_eq!(i.title.as_str(), "PUMP-STATION-4: Exception 4");
    assert_eq!(i.service.as_ref().unwrap().as_str(), "pump-station");
    assert_eq!(
        i.url.as_ref().unwrap().as_str(),
        "https://acme.sentry.io/issues/4/"
    );
    assert_eq!(find(1).status, IncidentStatus::Triggered);
}

#[tokio::test]
async fn customer_domain_links_never_leave_the_configured_host() {
    // Link URLs name https://acme.sentry.io; the token must not go there.
    let s = fake(
        (1..=150).map(issue).collect(),
        Some("https://acme.sentry.io"),
    )
    .await;
    let p = provider(&s.uri(), TOKEN, "");
    let f = p.fetch().await.unwrap();
    assert_eq!(
        f.incidents.len(),
        150,
        "page 2 fetched from the fake itself"
    );
}

#[tokio::test]
async fn a_429_waits_for_the_sentry_reset() {
    let s = fake(vec![issue(1)], None).await;
    let now = chrono::Utc::now().timestamp();
    // The reset is measured against the response's Date (fixed here, so
    // the wait is exact), not the local clock.
    let date = chrono::DateTime::from_timestamp(now, 0)
        .unwrap()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    Mock::given(method("GET"))
        .and(path(LIST))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Date", date.as_str())
                .insert_header("X-Sentry-Rate-Limit-Limit", "5")
                .insert_header("X-Sentry-Rate-Limit-Remaining", "0")
                .insert_header("X-Sentry-Rate-Limit-Reset", (now + 2).to_string().as_str())
                .set_body_json(json!({"detail": "You are attempting to use this endpoint too frequently. Limit is 5 requests in 1 seconds"})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&s)
        .await;
    let (http, waits) = recorded_http();
    let p = provider_with(&s.uri(), TOKEN, "", http);
    let f = p.fetch().await.unwrap();
    assert_eq!(f.incidents.len(), 1);
    assert_eq!(waits.get(), [Duration::from_secs(2)]);
}

#[tokio::test]
async fn self_hosted_429_without_headers_still_backs_off() {
    let s = fake(vec![issue(1)], None).await;
    Mock::given(method("GET"))
        .and(path(LIST))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({"detail": "slow down"})))
        .with_priority(1)
        .mount(&s)
        .await;
    let (http, waits) = recorded_http();
    let p = provider_with(&s.uri(), TOKEN, "", http);
    let e = p.fetch().await.unwrap_err();
    assert_eq!(
        waits.get(),
        [Duration::from_secs(1), Duration::from_secs(1)],
        "two 1 s waits"
    );
    assert!(
        matches!(e.kind, ErrorKind::RateLimited { retry_after: None }),
        "{e:?}"
    );
    assert!(
        e.to_string().starts_with("sentry: rate limited (429)"),
        "{e}"
    );
    assert!(e.to_string().contains("slow down"), "{e}");
}

#[tokio::test]
async fn errors_are_named_with_the_detail() {
    let s = fake(vec![issue(1)], None).await;
    let e = provider(&s.uri(), "bad-token", "")
        .fetch()
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized { status: 401 });
    assert!(e.to_string().contains("Invalid token"), "{e}");
    assert!(!e.to_string().contains("bad-token"));

    let s = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_json(json!({"detail": "Internal Error", "errorId": "abc123"})),
        )
        .expect(3)
        .mount(&s)
        .await;
    let e = provider(&s.uri(), TOKEN, "").fetch().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Server { status: 500 });
    assert!(
        e.to_string().starts_with(
            "sentry: server error (500): GET /api/0/organizations/acme/issues/: Internal Error"
        ),
        "{e}"
    );

    let s = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"[{"id":"1","title":"x"#))
        .mount(&s)
        .await;
    let e = provider(&s.uri(), TOKEN, "").fetch().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Malformed);
    assert!(e.to_string().contains("truncated JSON"), "{e}");

    let s = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"detail": "not a list"})))
        .mount(&s)
        .await;
    let e = provider(&s.uri(), TOKEN, "").fetch().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Shape, "{e}");
}

#[tokio::test]
async fn resolve_and_ignore_with_the_legacy_fallback() {
    let s = fake(vec![], None).await;
    let auth = format!("Bearer {TOKEN}");
    // Issue 1: the org-scoped route works.
    Mock::given(method("GET"))
        .and(path("/api/0/organizations/acme/issues/4505000001/"))
        .and(header("Authorization", auth.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(issue(1)))
        .mount(&s)
        .await;
    let mut resolved = issue(1);
    resolved["status"] = json!("resolved");
    Mock::given(method("PUT"))
        .and(path("/api/0/organizations/acme/issues/4505000001/"))
        .and(header("Authorization", auth.as_str()))
        .and(body_json(json!({"status": "resolved"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(resolved))
        .expect(1)
        .mount(&s)
        .await;
    let mut ignored = issue(1);
    ignored["status"] = json!("ignored");
    Mock::given(method("PUT"))
        .and(path("/api/0/organizations/acme/issues/4505000001/"))
        .and(body_json(
            json!({"status": "ignored", "statusDetails": {"ignoreDuration": 30}}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(ignored))
        .expect(1)
        .mount(&s)
        .await;
    // Issue 2: an old self-hosted without the org-scoped route.
    Mock::given(method("GET"))
        .and(path("/api/0/organizations/acme/issues/4505000002/"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"detail": "The requested resource does not exist"})),
        )
        .with_priority(1)
        .mount(&s)
        .await;
    Mock::given(method("PUT"))
        .and(path("/api/0/organizations/acme/issues/4505000002/"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"detail": "The requested resource does not exist"})),
        )
        .with_priority(1)
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/0/issues/4505000002/"))
        .and(header("Authorization", auth.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(issue(2)))
        .mount(&s)
        .await;
    let mut resolved2 = issue(2);
    resolved2["status"] = json!("resolved");
    Mock::given(method("PUT"))
        .and(path("/api/0/issues/4505000002/"))
        .and(body_json(json!({"status": "resolved"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(resolved2))
        .expect(1)
        .mount(&s)
        .await;

    let p = provider(&s.uri(), TOKEN, "");
    let op = WriteOp::IncidentResolve {
        provider: None,
        id: "4505000001".into(),
    };
    let plan = p.plan(&op, &PlanCtx::default()).await.unwrap();
    assert!(
        plan.summary
            .starts_with("resolve SEV2 Sentry issue 4505000001"),
        "{}",
        plan.summary
    );
    assert_eq!(plan.requests[0].method, "PUT");
    let shown = serde_json::to_string(&plan).unwrap();
    assert!(
        !shown.contains(TOKEN) && shown.contains("Bearer <redacted>"),
        "{shown}"
    );
    let r = p.execute(&plan, "k").await.unwrap();
    assert_eq!(r.message, "Sentry issue 4505000001 is now resolved");

    let ignore = WriteOp::SilenceCreate {
        provider: None,
        matchers: vec!["issue=4505000001".parse::<Matcher>().unwrap()],
        duration_secs: 1800,
    };
    assert!(p.supports(&ignore));
    let not_ours = WriteOp::SilenceCreate {
        provider: None,
        matchers: vec!["alertname=X".parse::<Matcher>().unwrap()],
        duration_secs: 1800,
    };
    assert!(!p.supports(&not_ours));
    let plan = p.plan(&ignore, &PlanCtx::default()).await.unwrap();
    assert!(
        plan.summary.starts_with("ignore for 30m"),
        "{}",
        plan.summary
    );
    let r = p.execute(&plan, "k").await.unwrap();
    assert_eq!(r.message, "Sentry issue 4505000001 is now ignored");

    let op = WriteOp::IncidentResolve {
        provider: None,
        id: "4505000002".into(),
    };
    let plan = p.plan(&op, &PlanCtx::default()).await.unwrap();
    let r = p.execute(&plan, "k").await.unwrap();
    assert_eq!(r.detail["legacy_route"], true);
    assert_eq!(r.message, "Sentry issue 4505000002 is now resolved");

    // Acknowledge has no Sentry equivalent.
    assert!(!p.supports(&WriteOp::IncidentAck {
        provider: None,
        id: "1".into()
    }));
}

#[tokio::test]
async fn a_hung_server_times_out() {
    let s = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .mount(&s)
        .await;
    init();
    let cfg = config(&format!(
        "[[provider]]\nname = \"sentry\"\nkind = \"sentry\"\nbase_url = \"{}\"\norganization = \"acme\"\ntoken = {{ env = \"SENTRY_TOKEN\" }}\n",
        s.uri()
    ));
    let sec = MapSecrets::with(&[("SENTRY_TOKEN", TOKEN)]);
    let mut http = sitrep::providers::http::HttpConfig::from_timeout(Duration::from_millis(300));
    http.retry.max_attempts = 1;
    let p = Sentry::with_http_config(
        cfg.provider_named("sentry").unwrap(),
        &ctx(&cfg, &sec),
        http,
    )
    .unwrap();
    let t = Instant::now();
    let e = p.fetch().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout, "{e}");
    assert!(e.to_string().starts_with("sentry: timed out"), "{e}");
    assert!(t.elapsed() < Duration::from_secs(3));
}
