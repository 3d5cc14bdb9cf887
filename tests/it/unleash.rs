//! Unleash against a wiremock fake that behaves like providers.md §7:
//! raw-token auth (401 otherwise, also for `Bearer`), `{version, features}`,
//! toggles answered with 200 and an empty body. The fake records requests
//! so every test can assert that no stray write was sent.

use serde_json::{Value, json};
use sitrep::config::SecretRef;
use sitrep::ops::PlanCtx;
use sitrep::ops::WriteOp;
use sitrep::providers::{ErrorKind, Provider, ProviderError, Registry};
use sitrep::secrets::{Secret, SecretSource};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use wiremock::matchers::{any, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "*:*.unleash-admin-SECRET-4242";
const FEATURE: &str = "/api/admin/projects/default/features/checkout-v2";

struct Fixed(&'static str);
impl SecretSource for Fixed {
    fn get(&self, _r: &SecretRef) -> Result<Secret, String> {
        Ok(Secret::new(self.0))
    }
}

fn provider(server: &MockServer, token: &'static str) -> Arc<dyn Provider> {
    let toml = format!(
        "[[provider]]\nname = \"un\"\nkind = \"unleash\"\nbase_url = \"{}\"\nproject = \"default\"\nenvironment = \"production\"\ntimeout = \"2s\"\n",
        server.uri()
    );
    let cfg = sitrep::config::parse(&toml, Path::new("c.toml")).unwrap();
    Registry::from_config(&cfg, &Fixed(token))
        .get("un")
        .unwrap()
        .clone()
}

fn op(key: &str, on: bool) -> WriteOp {
    WriteOp::FlagSet {
        provider: None,
        key: key.into(),
        environment: None,
        on,
    }
}

fn feature(name: &str, kind: &str, description: &str, prod: bool) -> Value {
    json!({"name": name, "type": kind, "description": description, "stale": false,
        "favorite": false, "impressionData": false, "createdAt": "2026-08-01T10:00:00.000Z",
        "environments": [
            {"name": "development", "type": "development", "enabled": !prod, "sortOrder": 0,
             "variantCount": 0, "lastSeenAt": null, "hasStrategies": true, "hasEnabledStrategies": true},
            {"name": "production", "type": "production", "enabled": prod, "sortOrder": 1,
             "variantCount": 0, "lastSeenAt": null, "hasStrategies": true, "hasEnabledStrategies": true}],
        "tags": []})
}

async fn fake() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "id": "u1", "name": "AuthenticationRequired",
            "message": "You must log in to use Unleash. Your request had no authorization header, so we could not authorize you. Try logging in at /auth/simple/login.",
        })))
        .with_priority(20)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/admin/projects/default/features"))
        .and(header("authorization", TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "version": 2,
            "features": [
                feature("checkout-v2", "kill-switch", "Checkout v2 kill switch", true),
                feature("new-search", "release", "", false),
                feature("evil", "operational", "pay\u{1b}]0;pwned\u{7}ments \u{9b}31m \u{202e}txt.exe", true),
            ]
        })))
        .mount(&server)
        .await;
    let mut single = feature(
        "checkout-v2",
        "kill-switch",
        "Checkout v2 kill switch",
        true,
    );
    single["project"] = json!("default");
    single["enabled"] = json!(true);
    single["archived"] = json!(false);
    Mock::given(method("GET"))
        .and(path(FEATURE))
        .and(header("authorization", TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(single))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/admin/projects/default/features/nope"))
        .and(header("authorization", TOKEN))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "id": "u2", "name": "NotFoundError", "message": "Could not find feature toggle nope"
        })))
        .mount(&server)
        .await;
    server
}

fn toggle(state: &str) -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path(format!("{FEATURE}/environments/production/{state}")))
        .and(header("authorization", TOKEN))
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

#[tokio::test]
async fn lists_features_with_the_environment_state() {
    let server = fake().await;
    let p = provider(&server, TOKEN);
    let flags = p.fetch().await.unwrap().flags;
    let got: Vec<(&str, &str, bool, bool)> = flags
        .iter()
        .map(|f| (f.key.as_str(), f.name.as_str(), f.on, f.kill_switch))
        .collect();
    assert_eq!(
        got[0],
        ("checkout-v2", "Checkout v2 kill switch", true, true)
    );
    assert_eq!(got[1], ("new-search", "new-search", false, false));
    assert_eq!(
        flags[0].environment.as_ref().unwrap().as_str(),
        "production"
    );
    assert_eq!(
        flags[0].url.as_ref().unwrap().as_str(),
        format!("{}/projects/default/features/checkout-v2", server.uri())
    );
    let evil = flags[2].name.as_str();
    assert!(
        !evil
            .chars()
            .any(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)),
        "{evil:?}"
    );
    assert!(evil.starts_with("pay"));
    assert!(writes(&server).await.is_empty());
}

#[tokio::test]
async fn turns_a_feature_off_and_on() {
    let server = fake().await;
    toggle("off")
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    toggle("on")
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let p = provider(&server, TOKEN);
    let plan = p
        .plan(&op("checkout-v2", false), &PlanCtx::default())
        .await
        .unwrap();
    let r = &plan.requests[0];
    assert_eq!(r.method, "POST");
    assert_eq!(
        r.url,
        format!("{}{FEATURE}/environments/production/off", server.uri())
    );
    assert!(
        r.headers
            .contains(&("Authorization".into(), "<redacted>".into()))
    );
    assert!(r.body.is_none());
    assert!(!serde_json::to_string(&plan).unwrap().contains("SECRET"));
    assert!(plan.stakes.contains(&("now".into(), "ON".into())));
    assert!(writes(&server).await.is_empty(), "planning sent a write");

    let res = p.execute(&plan, "k1").await.unwrap();
    assert!(res.message.contains("OFF"), "{}", res.message);
    let w = writes(&server).await;
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].headers.get("authorization").unwrap(), TOKEN);
    assert!(w[0].body.is_empty());

    let plan = p
        .plan(&op("checkout-v2", true), &PlanCtx::default())
        .await
        .unwrap();
    p.execute(&plan, "k2").await.unwrap();
    let w = writes(&server).await;
    assert_eq!(w.len(), 2);
    assert!(w[1].url.path().ends_with("/environments/production/on"));
}

#[tokio::test]
async fn wrong_token_is_401_and_never_leaks() {
    let server = fake().await;
    let p = provider(&server, "user:wrong-token-value");
    let e = p.fetch().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized { status: 401 });
    assert!(!e.to_string().contains("wrong-token-value"));
    let e = p
        .plan(&op("checkout-v2", false), &PlanCtx::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized { status: 401 });
    // A Bearer token is a wrong scheme for the fake too.
    let r = reqwest::Client::new()
        .get(format!("{}{FEATURE}", server.uri()))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(writes(&server).await.is_empty());
}

async fn refused(status: u16, headers: &[(&str, &str)]) -> ProviderError {
    let server = fake().await;
    let mut t = ResponseTemplate::new(status).set_body_json(json!({
        "id": "u3", "name": "Refused", "message": format!("refused with {status}")
    }));
    for (k, v) in headers {
        t = t.insert_header(*k, *v);
    }
    toggle("off").respond_with(t).expect(1).mount(&server).await;
    let p = provider(&server, TOKEN);
    let plan = p
        .plan(&op("checkout-v2", false), &PlanCtx::default())
        .await
        .unwrap();
    let e = p.execute(&plan, "k").await.unwrap_err();
    assert_eq!(writes(&server).await.len(), 1, "retried or stray write");
    assert!(!e.to_string().contains("SECRET"));
    // Still on. After a 429 the client waits for the reset: the next read
    // fails fast without reaching the fake at all.
    let before = server.received_requests().await.unwrap().len();
    match p.fetch().await {
        Ok(f) => assert!(f.flags[0].on),
        Err(r) => {
            assert_eq!(status, 429, "{r}");
            assert!(matches!(r.kind, ErrorKind::RateLimited { .. }), "{r}");
            assert_eq!(server.received_requests().await.unwrap().len(), before);
        }
    }
    assert_eq!(writes(&server).await.len(), 1);
    e
}

#[tokio::test]
async fn write_refusals_are_explained_and_not_retried() {
    let e = refused(401, &[]).await;
    assert_eq!(e.kind, ErrorKind::Unauthorized { status: 401 });
    assert!(e.to_string().contains("raw without Bearer"), "{e}");

    let e = refused(405, &[]).await;
    assert_eq!(e.kind, ErrorKind::Conflict { status: 405 });
    assert!(e.to_string().contains("nothing was changed"), "{e}");

    let e = refused(409, &[]).await;
    assert_eq!(e.kind, ErrorKind::Conflict { status: 409 });
    assert!(e.to_string().contains("refused with 409"), "{e}");

    let e = refused(429, &[("Retry-After", "7")]).await;
    assert_eq!(
        e.kind,
        ErrorKind::RateLimited {
            retry_after: Some(Duration::from_secs(7))
        }
    );
}

#[tokio::test]
async fn unknown_feature_or_other_environment_is_not_found() {
    let server = fake().await;
    let p = provider(&server, TOKEN);
    let e = p
        .plan(&op("nope", false), &PlanCtx::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(e.to_string().contains("no feature nope"), "{e}");
    let dev = WriteOp::FlagSet {
        provider: None,
        key: "checkout-v2".into(),
        environment: Some("development".into()),
        on: false,
    };
    assert_eq!(
        p.plan(&dev, &PlanCtx::default()).await.unwrap_err().kind,
        ErrorKind::NotFound
    );
    assert!(writes(&server).await.is_empty());
}

#[tokio::test]
async fn a_missing_environment_is_a_clear_config_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/admin/projects/default/features"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "version": 2,
            "features": [{"name": "a", "type": "release", "description": "", "stale": false,
              "favorite": false, "impressionData": false, "createdAt": "2026-08-01T10:00:00.000Z",
              "environments": [{"name": "development", "type": "development", "enabled": true,
                "sortOrder": 0, "variantCount": 0, "lastSeenAt": null}]}]
        })))
        .mount(&server)
        .await;
    let e = provider(&server, TOKEN).fetch().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Config);
    assert!(
        e.to_string().contains("environments seen: development"),
        "{e}"
    );
}

/// The production guard follows where the plan writes: with no `--env`
/// the toggle goes to the configured environment (production here).
#[tokio::test]
async fn production_guard_follows_the_configured_environment() {
    let server = fake().await;
    toggle("off")
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let g =
        crate::common::production_guard(provider(&server, TOKEN), op("checkout-v2", false)).await;
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

/// `flag on` after a kill switch restores the recorded state: ON when the
/// feature was ON, OFF when the kill switch found it OFF already; a second
/// `flag on` then turns it on.
#[tokio::test]
async fn flag_on_restores_the_state_the_kill_switch_recorded() {
    use sitrep::actions::{ActionRequest, Executor, Mode};
    let server = fake().await;
    let dark = "/api/admin/projects/default/features/dark-launch";
    let mut single = feature("dark-launch", "release", "", false);
    single["project"] = json!("default");
    Mock::given(method("GET"))
        .and(path(dark))
        .and(header("authorization", TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(single))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(header("authorization", TOKEN))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry {
        providers: vec![provider(&server, TOKEN)],
        demo: false,
        keep: Vec::new(),
    };
    let ex = Executor::new(
        reg,
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
    run("checkout-v2", false).await;
    let plan = run("checkout-v2", true).await;
    assert!(
        plan.requests[0]
            .url
            .ends_with("/environments/production/on")
    );
    assert!(
        plan.stakes
            .iter()
            .any(|(k, v)| k == "restore" && v.contains("it was ON then")),
        "{:?}",
        plan.stakes
    );
    run("dark-launch", false).await;
    let plan = run("dark-launch", true).await;
    assert!(
        plan.requests[0]
            .url
            .ends_with("/environments/production/off"),
        "{}",
        plan.requests[0].url
    );
    assert!(
        plan.stakes
            .iter()
            .any(|(k, v)| k == "restore" && v.contains("it was OFF then")),
        "{:?}",
        plan.stakes
    );
    // The restore is done: the next `flag on` turns it on.
    let plan = run("dark-launch", true).await;
    assert!(
        plan.requests[0]
            .url
            .ends_with("/environments/production/on")
    );
    assert!(!plan.stakes.iter().any(|(k, _)| k == "restore"));
}
