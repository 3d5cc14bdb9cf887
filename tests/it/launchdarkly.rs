//! LaunchDarkly against a wiremock fake that behaves like providers.md §6:
//! raw-token auth (401 otherwise, also for `Bearer`), semantic-patch content
//! type required (400 otherwise), `X-Ratelimit-Reset` in epoch milliseconds
//! on 429, `{items,_links,totalCount}` paging. The fake records requests so
//! every test can assert that no stray write was sent.

use serde_json::{Value, json};
use sitrep::config::SecretRef;
use sitrep::ops::PlanCtx;
use sitrep::ops::WriteOp;
use sitrep::providers::http::HttpConfig;
use sitrep::providers::launchdarkly::LaunchDarkly;
use sitrep::providers::{BuildCtx, ErrorKind, Provider, Registry};
use sitrep::secrets::{Secret, SecretSource};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use wiremock::matchers::{any, body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "api-0123456789abcdef-SECRET";
const SEMANTIC: &str = "application/json; domain-model=launchdarkly.semanticpatch";
const FLAG_PATH: &str = "/api/v2/flags/web/checkout-kill-switch";

struct Fixed(&'static str);
impl SecretSource for Fixed {
    fn get(&self, _r: &SecretRef) -> Result<Secret, String> {
        Ok(Secret::new(self.0))
    }
}

fn provider(server: &MockServer, token: &'static str) -> Arc<dyn Provider> {
    let toml = format!(
        "[[provider]]\nname = \"ld\"\nkind = \"launchdarkly\"\nbase_url = \"{}\"\nproject = \"web\"\nenvironment = \"production\"\ntimeout = \"2s\"\ntoken = {{ env = \"LD_TOKEN\" }}\n",
        server.uri()
    );
    let cfg = sitrep::config::parse(&toml, Path::new("c.toml")).unwrap();
    let reg = Registry::from_config(&cfg, &Fixed(token));
    reg.get("ld").unwrap().clone()
}

/// The provider as the registry builds it, on `http`.
fn provider_with(server: &MockServer, token: &'static str, http: HttpConfig) -> LaunchDarkly {
    let toml = format!(
        "[[provider]]\nname = \"ld\"\nkind = \"launchdarkly\"\nbase_url = \"{}\"\nproject = \"web\"\nenvironment = \"production\"\ntimeout = \"2s\"\ntoken = {{ env = \"LD_TOKEN\" }}\n",
        server.uri()
    );
    let cfg = sitrep::config::parse(&toml, Path::new("c.toml")).unwrap();
    let ctx = BuildCtx {
        config: &cfg,
        secrets: &Fixed(token),
    };
    LaunchDarkly::with_http_config(cfg.provider_named("ld").unwrap(), &ctx, http).unwrap()
}

fn op(key: &str, on: bool) -> WriteOp {
    WriteOp::FlagSet {
        provider: None,
        key: key.into(),
        environment: None,
        on,
    }
}

fn env(on: bool, modified: i64) -> Value {
    json!({"on": on, "archived": false, "salt": "s", "sel": "x", "lastModified": modified,
        "version": 12, "_environmentName": "Production",
        "_site": {"href": "/web/production/features/checkout-kill-switch", "type": "text/html"},
        "trackEvents": false, "trackEventsFallthrough": false, "offVariation": 1})
}

fn flag(key: &str, name: &str, kind: &str, temporary: bool, tags: &[&str], on: bool) -> Value {
    let mut e = env(on, 1_716_400_000_000);
    e["_site"]["href"] = json!(format!("/web/production/features/{key}"));
    json!({"key": key, "name": name, "kind": kind, "_version": 7, "creationDate": 1_716_400_000_000i64,
        "archived": false, "temporary": temporary, "tags": tags,
        "variations": [{"_id": "a1", "value": true}, {"_id": "b2", "value": false}],
        "customProperties": {}, "experiments": {"baselineIdx": 0, "items": []},
        "_links": {"self": {"href": format!("/api/v2/flags/web/{key}"), "type": "application/json"}},
        "environments": {"production": e}})
}

/// The fake's baseline: anything without the raw token is 401 (a `Bearer`
/// token included); a PATCH without the semantic-patch content type is 400.
async fn fake() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"code": "unauthorized", "message": "Invalid account ID header", "id": "e1"}),
        ))
        .with_priority(20)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(header("authorization", TOKEN))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "code": "invalid_request",
            "message": "unsupported patch: expected a JSON patch array (send domain-model=launchdarkly.semanticpatch for semantic patches)",
            "id": "e2"
        })))
        .with_priority(10)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(FLAG_PATH))
        .and(header("authorization", TOKEN))
        .and(query_param("env", "production"))
        .respond_with(ResponseTemplate::new(200).set_body_json(flag(
            "checkout-kill-switch",
            "Checkout kill switch",
            "boolean",
            false,
            &["kill-switch"],
            true,
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/flags/web/nope"))
        .and(header("authorization", TOKEN))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(
                json!({"code": "not_found", "message": "Unknown resource", "id": "e3"}),
            ),
        )
        .mount(&server)
        .await;
    server
}

/// A PATCH carrying the raw token and the semantic-patch content type.
fn semantic_patch(kind: &str) -> wiremock::MockBuilder {
    Mock::given(method("PATCH"))
        .and(path(FLAG_PATH))
        .and(header("authorization", TOKEN))
        .and(header("content-type", SEMANTIC))
        .and(header("ld-api-version", "20240415"))
        .and(body_partial_json(
            json!({"environmentKey": "production", "instructions": [{"kind": kind}]}),
        ))
}

async fn writes(server: &MockServer) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() != "GET")
        .collect()
}

fn no_token(s: &str) {
    assert!(!s.contains(TOKEN), "token leaked: {s}");
    assert!(!s.contains("0123456789abcdef"), "token leaked: {s}");
}

#[tokio::test]
async fn lists_flags_of_the_environment_across_pages() {
    let server = fake().await;
    let page1 = json!({
        "items": [
            flag("checkout-kill-switch", "Checkout kill switch", "boolean", true, &["kill-switch"], true),
            flag("search-v2", "Search v2", "boolean", false, &[], false),
        ],
        "_links": {"self": {"href": "/api/v2/flags/web?limit=2&offset=0"}, "next": {"href": "/api/v2/flags/web?limit=2&offset=2"}},
        "totalCount": 4
    });
    let mut archived = flag("old", "Old", "boolean", true, &[], true);
    archived["archived"] = json!(true);
    let page2 = json!({
        "items": [flag("banner-text", "Banner \u{1b}[31mtext\u{9b}2J \u{202e}evil", "multivariate", true, &["ui"], true), archived],
        "_links": {"self": {"href": "/api/v2/flags/web?limit=2&offset=2"}},
        "totalCount": 4
    });
    for (offset, body) in [("0", page1), ("2", page2)] {
        Mock::given(method("GET"))
            .and(path("/api/v2/flags/web"))
            .and(header("authorization", TOKEN))
            .and(header("ld-api-version", "20240415"))
            .and(query_param("env", "production"))
            .and(query_param("filter", "filterEnv:production"))
            .and(query_param("offset", offset))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
    }
    let p = provider(&server, TOKEN);
    let flags = p.fetch().await.unwrap().flags;
    let got: Vec<(&str, bool, bool)> = flags
        .iter()
        .map(|f| (f.key.as_str(), f.on, f.kill_switch))
        .collect();
    assert_eq!(
        got,
        vec![
            ("checkout-kill-switch", true, true), // tagged kill-switch
            ("search-v2", false, true),           // permanent boolean
            ("banner-text", true, false),         // temporary multivariate
        ]
    );
    let k = &flags[0];
    assert_eq!(k.provider.as_str(), "ld");
    assert_eq!(k.environment.as_ref().unwrap().as_str(), "production");
    assert_eq!(
        k.url.as_ref().unwrap().as_str(),
        format!(
            "{}/web/production/features/checkout-kill-switch",
            server.uri()
        )
    );
    assert_eq!(k.updated_at.unwrap().timestamp_millis(), 1_716_400_000_000);
    // Hostile name: inert.
    let n = flags[2].name.as_str();
    assert!(
        !n.chars()
            .any(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)),
        "{n:?}"
    );
    assert!(n.starts_with("Banner"));
    assert!(writes(&server).await.is_empty());
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn turns_a_flag_off_with_a_semantic_patch() {
    let server = fake().await;
    semantic_patch("turnFlagOff")
        .respond_with(ResponseTemplate::new(200).set_body_json(flag(
            "checkout-kill-switch",
            "Checkout kill switch",
            "boolean",
            false,
            &["kill-switch"],
            false,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let p = provider(&server, TOKEN);
    let plan = p
        .plan(&op("checkout-kill-switch", false), &PlanCtx::default())
        .await
        .unwrap();
    // The plan shows the exact request, token redacted.
    let r = &plan.requests[0];
    assert_eq!(r.method, "PATCH");
    assert_eq!(r.url, format!("{}{FLAG_PATH}", server.uri()));
    assert!(
        r.headers
            .contains(&("Authorization".into(), "<redacted>".into()))
    );
    assert!(
        r.headers
            .contains(&("Content-Type".into(), SEMANTIC.into()))
    );
    assert!(
        r.headers
            .contains(&("LD-API-Version".into(), "20240415".into()))
    );
    let body = r.body.as_ref().unwrap();
    assert_eq!(body["environmentKey"], "production");
    assert_eq!(body["instructions"], json!([{"kind": "turnFlagOff"}]));
    assert_eq!(body["comment"], "flag.off via sitrep");
    assert!(plan.stakes.contains(&("now".into(), "ON".into())));
    no_token(&serde_json::to_string(&plan).unwrap());
    no_token(&format!("{plan:?}"));
    assert!(writes(&server).await.is_empty(), "planning sent a write");

    // The executor records who acts and why in the plan before confirming
    // it; the confirmed body is what is sent.
    let plan = p
        .plan(
            &op("checkout-kill-switch", false),
            &PlanCtx::new(
                "alice@example.com",
                "INC-1234: payments gateway v3 erroring",
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        plan.requests[0].body.as_ref().unwrap()["comment"],
        "INC-1234: payments gateway v3 erroring"
    );
    let res = p.execute(&plan, "idem-42").await.unwrap();
    assert!(res.message.contains("OFF"), "{}", res.message);
    let w = writes(&server).await;
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].headers.get("authorization").unwrap(), TOKEN);
    let sent: Value = serde_json::from_slice(&w[0].body).unwrap();
    assert_eq!(
        sent,
        json!({"environmentKey": "production", "instructions": [{"kind": "turnFlagOff"}],
            "comment": "INC-1234: payments gateway v3 erroring"})
    );
    assert!(w[0].headers.get("idempotency-key").is_none());
}

#[tokio::test]
async fn turns_a_flag_on() {
    let server = fake().await;
    semantic_patch("turnFlagOn")
        .respond_with(ResponseTemplate::new(200).set_body_json(flag(
            "checkout-kill-switch",
            "Checkout kill switch",
            "boolean",
            false,
            &["kill-switch"],
            true,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let p = provider(&server, TOKEN);
    let plan = p
        .plan(&op("checkout-kill-switch", true), &PlanCtx::default())
        .await
        .unwrap();
    assert!(
        plan.stakes
            .iter()
            .any(|(k, v)| k == "change" && v.contains("already ON"))
    );
    p.execute(&plan, "k").await.unwrap();
    assert_eq!(writes(&server).await.len(), 1);
}

#[tokio::test]
async fn the_fake_requires_the_semantic_patch_content_type() {
    // Proves the fake is strict, so the tests above prove the client sends it.
    let server = fake().await;
    semantic_patch("turnFlagOff")
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let resp = reqwest::Client::new()
        .patch(format!("{}{FLAG_PATH}", server.uri()))
        .header("Authorization", TOKEN)
        .header("LD-API-Version", "20240415")
        .json(&json!({"environmentKey": "production", "instructions": [{"kind": "turnFlagOff"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let bearer = reqwest::Client::new()
        .get(format!("{}{FLAG_PATH}?env=production", server.uri()))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 401);
}

#[tokio::test]
async fn wrong_token_is_401_for_reads_and_plans_and_never_leaks() {
    let server = fake().await;
    let p = provider(&server, "api-wrong-token-0000");
    let e = p.fetch().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized { status: 401 });
    let msg = e.to_string();
    assert!(msg.starts_with("ld: token rejected (401)"), "{msg}");
    assert!(!msg.contains("api-wrong-token-0000"), "{msg}");
    let e = p
        .plan(&op("checkout-kill-switch", false), &PlanCtx::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized { status: 401 });
    assert!(writes(&server).await.is_empty());
}

async fn refused(
    status: u16,
    body: Value,
    headers: &[(&str, String)],
) -> (MockServer, sitrep::providers::ProviderError) {
    let server = fake().await;
    let mut t = ResponseTemplate::new(status).set_body_json(body);
    for (k, v) in headers {
        t = t.insert_header(*k, v.as_str());
    }
    semantic_patch("turnFlagOff")
        .respond_with(t)
        .expect(1)
        .mount(&server)
        .await;
    let p = provider(&server, TOKEN);
    let plan = p
        .plan(&op("checkout-kill-switch", false), &PlanCtx::default())
        .await
        .unwrap();
    let e = p.execute(&plan, "k").await.unwrap_err();
    // Exactly the one write, never retried.
    assert_eq!(writes(&server).await.len(), 1, "status {status}");
    no_token(&e.to_string());
    (server, e)
}

#[tokio::test]
async fn approval_required_405_is_explained() {
    let (_s, e) = refused(
        405,
        json!({"code": "method_not_allowed", "message": "This environment requires approval", "id": "x"}),
        &[],
    )
    .await;
    assert_eq!(e.kind, ErrorKind::Conflict { status: 405 });
    let m = e.to_string();
    assert!(m.contains("approval required"), "{m}");
    assert!(m.contains("nothing was changed"), "{m}");
    assert!(m.contains("This environment requires approval"), "{m}");
}

#[tokio::test]
async fn conflict_409_is_explained() {
    let (_s, e) = refused(
        409,
        json!({"code": "optimistic_locking_error", "message": "Conflict", "id": "x"}),
        &[],
    )
    .await;
    assert_eq!(e.kind, ErrorKind::Conflict { status: 409 });
    let m = e.to_string();
    assert!(m.contains("changed by someone else"), "{m}");
}

#[tokio::test]
async fn rate_limit_429_reset_is_epoch_milliseconds() {
    let reset_ms = chrono::Utc::now().timestamp_millis() + 20_000;
    let (_s, e) = refused(
        429,
        json!({"code": "rate_limited", "message": "Rate limited", "id": "x"}),
        &[("X-Ratelimit-Reset", reset_ms.to_string())],
    )
    .await;
    let ErrorKind::RateLimited {
        retry_after: Some(wait),
    } = e.kind
    else {
        panic!("{e:?}")
    };
    assert!(
        wait >= Duration::from_secs(15) && wait <= Duration::from_secs(21),
        "{wait:?}"
    );
}

#[tokio::test]
async fn rate_limited_list_fails_fast_with_the_reset() {
    let server = fake().await;
    let reset_ms = chrono::Utc::now().timestamp_millis() + 120_000;
    Mock::given(method("GET"))
        .and(path("/api/v2/flags/web"))
        .and(header("authorization", TOKEN))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("X-Ratelimit-Reset", reset_ms.to_string().as_str())
                .insert_header("X-Ratelimit-Global-Remaining", "0")
                .set_body_json(json!({"code": "rate_limited", "message": "slow down"})),
        )
        .mount(&server)
        .await;
    let (http, waits) = crate::common::recorded_http();
    let p = provider_with(&server, TOKEN, http);
    let e = p.fetch().await.unwrap_err();
    assert!(waits.get().is_empty(), "slept {:?}", waits.get());
    match e.kind {
        ErrorKind::RateLimited {
            retry_after: Some(w),
        } => assert!(w >= Duration::from_secs(100), "{w:?}"),
        other => panic!("{other:?}"),
    }
    assert!(writes(&server).await.is_empty());
}

#[tokio::test]
async fn unknown_key_or_other_environment_is_not_found() {
    let server = fake().await;
    let p = provider(&server, TOKEN);
    let e = p
        .plan(&op("nope", false), &PlanCtx::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(
        e.to_string()
            .contains("no flag nope in LaunchDarkly project web"),
        "{e}"
    );
    let staging = WriteOp::FlagSet {
        provider: None,
        key: "checkout-kill-switch".into(),
        environment: Some("staging".into()),
        on: false,
    };
    let e = p.plan(&staging, &PlanCtx::default()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(writes(&server).await.is_empty());
}

#[tokio::test]
async fn a_plan_altered_after_planning_is_not_sent() {
    let server = fake().await;
    let p = provider(&server, TOKEN);
    let mut plan = p
        .plan(&op("checkout-kill-switch", false), &PlanCtx::default())
        .await
        .unwrap();
    plan.requests[0].body.as_mut().unwrap()["instructions"] = json!([{"kind": "turnFlagOn"}]);
    let e = p.execute(&plan, "k").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Config);
    let mut plan = p
        .plan(&op("checkout-kill-switch", false), &PlanCtx::default())
        .await
        .unwrap();
    plan.requests[0].url = format!("{}/api/v2/flags/web/other-flag", server.uri());
    let e = p.execute(&plan, "k").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Config);
    assert!(writes(&server).await.is_empty());
}

/// The production guard follows where the plan writes: `flag off KEY --yes`
/// with no `--env` goes to the provider's configured environment
/// (production here), so it needs `--i-know-this-is-production` too.
#[tokio::test]
async fn production_guard_follows_the_configured_environment() {
    let server = fake().await;
    semantic_patch("turnFlagOff")
        .respond_with(ResponseTemplate::new(200).set_body_json(flag(
            "checkout-kill-switch",
            "Checkout kill switch",
            "boolean",
            false,
            &["kill-switch"],
            false,
        )))
        .mount(&server)
        .await;
    let g = crate::common::production_guard(
        provider(&server, TOKEN),
        op("checkout-kill-switch", false),
    )
    .await;
    assert_eq!(g.yes_only, 2, "sent to production without the flag");
    assert_eq!(g.acknowledged, 0);
    assert_eq!(
        writes(&server).await.len(),
        1,
        "exactly the acknowledged write"
    );
    let outcomes: Vec<&str> = g.records.iter().map(|r| r.outcome.as_str()).collect();
    assert_eq!(outcomes[0], "refused", "{outcomes:?}");
}

/// `flag on` after a kill switch restores the state the kill switch's
/// audit record holds: ON when the flag was ON (`turnFlagOn`), OFF when
/// the kill switch found it OFF already (`turnFlagOff`, said in the plan);
/// once restored, the next `flag on` turns it on.
#[tokio::test]
async fn flag_on_restores_the_state_the_kill_switch_recorded() {
    use sitrep::actions::{ActionRequest, Executor, Mode};
    let server = fake().await;
    let dark = "/api/v2/flags/web/dark-launch";
    Mock::given(method("GET"))
        .and(path(dark))
        .and(header("authorization", TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(flag(
            "dark-launch",
            "Dark launch",
            "boolean",
            true,
            &[],
            false,
        )))
        .mount(&server)
        .await;
    // The PATCH answers with the flag as the instruction left it.
    struct Applied;
    impl wiremock::Respond for Applied {
        fn respond(&self, req: &Request) -> ResponseTemplate {
            let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
            let on = body["instructions"][0]["kind"] == "turnFlagOn";
            ResponseTemplate::new(200).set_body_json(flag("x", "x", "boolean", false, &[], on))
        }
    }
    for p in [FLAG_PATH, dark] {
        Mock::given(method("PATCH"))
            .and(path(p))
            .and(header("authorization", TOKEN))
            .and(header("content-type", SEMANTIC))
            .respond_with(Applied)
            .mount(&server)
            .await;
    }
    let dir = tempfile::tempdir().unwrap();
    let ex = Executor::new(
        Registry {
            providers: vec![provider(&server, TOKEN)],
            demo: false,
            keep: Vec::new(),
        },
        Arc::new(sitrep::audit::AuditLog::new(
            dir.path().join("audit.jsonl"),
            sitrep::audit::Signer::ephemeral(),
        )),
    );
    let run = |key: &'static str, on: bool| {
        let ex = ex.clone();
        async move {
            let req = ActionRequest::new(op(key, on), "test");
            let plan = ex.plan(&req).await.unwrap();
            ex.execute(&req, &plan, Mode::Live).await.unwrap();
            plan
        }
    };
    let kind = |plan: &sitrep::ops::Plan| {
        plan.requests[0].body.as_ref().unwrap()["instructions"][0]["kind"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let restore_note = |plan: &sitrep::ops::Plan| {
        plan.stakes
            .iter()
            .find(|(k, _)| k == "restore")
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        kind(&run("checkout-kill-switch", false).await),
        "turnFlagOff"
    );
    let plan = run("checkout-kill-switch", true).await;
    assert_eq!(kind(&plan), "turnFlagOn");
    assert!(
        restore_note(&plan).is_some_and(|n| n.contains("it was ON then")),
        "{:?}",
        plan.stakes
    );
    run("dark-launch", false).await;
    let plan = run("dark-launch", true).await;
    assert_eq!(kind(&plan), "turnFlagOff", "restored to OFF, as it was");
    assert!(
        restore_note(&plan).is_some_and(|n| n.contains("it was OFF then")),
        "{:?}",
        plan.stakes
    );
    let plan = run("dark-launch", true).await;
    assert_eq!(kind(&plan), "turnFlagOn");
    assert!(restore_note(&plan).is_none());
}
