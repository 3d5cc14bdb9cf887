//! The executor resolves `flag off KEY` by planning on every provider that
//! supports it: exactly one success wins, several are ambiguous, none is an
//! unknown key. This checks the providers' side of that contract with all
//! three flag providers configured together: each plans only keys it has
//! and answers `NotFound` for the rest, and a key present in two providers
//! plans on both (so the executor can call it ambiguous). LaunchDarkly and
//! Unleash are their simulators (`sitrep::sim`).

use sitrep::config::SecretRef;
use sitrep::ops::PlanCtx;
use sitrep::ops::WriteOp;
use sitrep::providers::{ErrorKind, Registry};
use sitrep::secrets::{Secret, SecretSource};
use sitrep::sim::launchdarkly::{Flag as LdFlag, LaunchDarkly};
use sitrep::sim::unleash::{Feature, Unleash};
use std::path::Path;
use std::sync::Arc;

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
    // The vendors' simulators: LaunchDarkly has "shared-key", Unleash
    // "unleash-only"; any other key is their 404.
    let now = chrono::Utc::now();
    let ld = Arc::new(LaunchDarkly::new("tok-123456", "web", "production"));
    ld.add(&LdFlag {
        key: "shared-key".into(),
        name: "Shared".into(),
        on: true,
        kill_switch: false,
        updated_at: now,
    });
    let un = Arc::new(Unleash::new("tok-123456", "default", &["production"]));
    un.add(&Feature {
        name: "unleash-only".into(),
        description: String::new(),
        kind: "kill-switch".into(),
        enabled: true,
        created_at: now,
    });
    let ld_server = sitrep::sim::serve(ld.clone()).await.unwrap();
    let un_server = sitrep::sim::serve(un.clone()).await.unwrap();
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
        ld_server.url(),
        un_server.url(),
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
    // Planning changed nothing.
    assert_eq!(ld.is_on("shared-key"), Some(true));
    assert_eq!(un.is_enabled("unleash-only", "production"), Some(true));
}
