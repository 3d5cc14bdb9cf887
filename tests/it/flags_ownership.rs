//! The executor resolves `flag off KEY` by planning on every provider that
//! supports it: exactly one success wins, several are ambiguous, none is an
//! unknown key. This checks the providers' side of that contract with all
//! three flag providers configured together: each plans only keys it has
//! and answers `NotFound` for the rest, and a key present in two providers
//! plans on both (so the executor can call it ambiguous).

use serde_json::json;
use sitrep::config::SecretRef;
use sitrep::ops::PlanCtx;
use sitrep::ops::WriteOp;
use sitrep::providers::{ErrorKind, Registry};
use sitrep::secrets::{Secret, SecretSource};
use std::path::Path;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

struct Fixed;
impl SecretSource for Fixed {
    fn get(&self, _r: &SecretRef) -> Result<Secret, String> {
        Ok(Secret::new("tok-123456"))
    }
}

fn op(key: &str) -> WriteOp {
    WriteOp::FlagSet {
        provider: None,
        key: key.into(),
        environment: None,
        on: false,
    }
}

#[tokio::test]
async fn each_provider_plans_only_its_own_keys() {
    let ld = MockServer::start().await;
    let un = MockServer::start().await;
    // LaunchDarkly has "shared-key"; everything else is 404.
    Mock::given(method("GET"))
        .and(path("/api/v2/flags/web/shared-key"))
        .and(header("authorization", "tok-123456"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "key": "shared-key", "name": "Shared", "kind": "boolean", "temporary": false,
            "tags": [], "environments": {"production": {"on": true}}
        })))
        .mount(&ld)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"code": "not_found", "message": "Unknown resource"})),
        )
        .with_priority(10)
        .mount(&ld)
        .await;
    // Unleash has "unleash-only".
    Mock::given(method("GET"))
        .and(path("/api/admin/projects/default/features/unleash-only"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "name": "unleash-only", "type": "kill-switch",
            "environments": [{"name": "production", "enabled": true}]
        })))
        .mount(&un)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(
                json!({"name": "NotFoundError", "message": "Could not find feature"}),
            ),
        )
        .with_priority(10)
        .mount(&un)
        .await;
    // The flagd file has "shared-key" and "file-only".
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("flags.json");
    std::fs::write(
        &file,
        r#"{"flags":{
  "shared-key":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"on"},
  "file-only":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"on"}}}"#,
    )
    .unwrap();
    let toml = format!(
        r#"[[provider]]
name = "ld"
kind = "launchdarkly"
base_url = "{}"
project = "web"
environment = "production"

[[provider]]
name = "un"
kind = "unleash"
base_url = "{}"
project = "default"
environment = "production"

[[provider]]
name = "file"
kind = "flagd"
path = {:?}
"#,
        ld.uri(),
        un.uri(),
        file.display().to_string()
    );
    let cfg = sitrep::config::parse(&toml, Path::new("c.toml")).unwrap();
    let reg = Registry::from_config(&cfg, &Fixed);
    assert_eq!(reg.providers.len(), 3);

    let owners = |key: &'static str| {
        let reg = reg.clone();
        async move {
            let mut ok = Vec::new();
            for p in &reg.providers {
                assert!(p.supports(&op(key)));
                match p.plan(&op(key), &PlanCtx::default()).await {
                    Ok(plan) => ok.push(plan.provider),
                    Err(e) => assert_eq!(e.kind, ErrorKind::NotFound, "{}: {e}", p.name()),
                }
            }
            ok
        }
    };
    assert_eq!(owners("unleash-only").await, vec!["un"]);
    assert_eq!(owners("file-only").await, vec!["file"]);
    assert_eq!(owners("shared-key").await, vec!["ld", "file"]);
    assert!(owners("nowhere").await.is_empty());
    // Nothing but reads went out.
    for s in [&ld, &un] {
        assert!(
            s.received_requests()
                .await
                .unwrap()
                .iter()
                .all(|r| r.method.as_str() == "GET")
        );
    }
}
