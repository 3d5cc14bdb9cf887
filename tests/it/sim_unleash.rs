//! The Unleash simulator (`sitrep::sim::unleash`) against the real Unleash
//! provider: features read with their kill-switch type, a feature turned
//! off and on again in one environment only (the other stays as it was),
//! and Unleash's error bodies for a missing token and an unknown feature.

use crate::common::*;
use sitrep::ops::{PlanCtx, WriteOp};
use sitrep::providers::unleash::Unleash as UnleashProvider;
use sitrep::providers::{ErrorKind, Provider};
use sitrep::sim::unleash::{Feature, Unleash};
use std::sync::Arc;

const TOKEN: &str = "*:*.sim-unleash-secret";

fn provider(url: &str, token: &'static str) -> UnleashProvider {
    init();
    let cfg = config(&format!(
        "[[provider]]\nname = \"unleash\"\nkind = \"unleash\"\nbase_url = \"{url}\"\nproject = \"default\"\nenvironment = \"production\"\n\n[[service]]\nname = \"auth\"\nflags = [\"auth-social-login\"]\n"
    ));
    let s = FixedSecret(token);
    UnleashProvider::with_http_config(
        cfg.provider_named("unleash").unwrap(),
        &token_ctx(&cfg, &s),
        fast_http(),
    )
    .unwrap()
}

fn project() -> Arc<Unleash> {
    let un = Arc::new(Unleash::new(
        TOKEN,
        "default",
        &["production", "development"],
    ));
    let now = chrono::Utc::now();
    for (name, kind) in [
        ("auth-social-login", "kill-switch"),
        ("auth-new-ui", "release"),
    ] {
        un.add(&Feature {
            name: name.into(),
            description: format!("{name} feature"),
            kind: kind.into(),
            enabled: true,
            created_at: now - chrono::Duration::days(2),
        });
    }
    un
}

fn set(key: &str, on: bool) -> WriteOp {
    WriteOp::FlagSet {
        provider: None,
        key: key.into(),
        environment: None,
        on,
    }
}

#[tokio::test]
async fn the_real_provider_turns_a_feature_off_and_on_in_its_environment() {
    let un = project();
    let server = sitrep::sim::serve(un.clone()).await.unwrap();
    let p = provider(&server.url(), TOKEN);
    let f = p.fetch().await.unwrap();
    assert_eq!(f.flags.len(), 2);
    let social = f
        .flags
        .iter()
        .find(|f| f.key.as_str() == "auth-social-login")
        .unwrap();
    assert!(social.on && social.kill_switch);
    assert_eq!(social.service.as_ref().unwrap().as_str(), "auth");

    let plan = p
        .plan(&set("auth-social-login", false), &PlanCtx::default())
        .await
        .unwrap();
    let shown = plan.requests[0].to_string();
    assert!(
        shown.contains(
            "/api/admin/projects/default/features/auth-social-login/environments/production/off"
        ),
        "{shown}"
    );
    p.execute(&plan, "k1").await.unwrap();
    assert_eq!(
        un.is_enabled("auth-social-login", "production"),
        Some(false)
    );
    // The other environment is left alone.
    assert_eq!(
        un.is_enabled("auth-social-login", "development"),
        Some(true)
    );
    assert_eq!(un.is_enabled("auth-new-ui", "production"), Some(true));
    let f = p.fetch().await.unwrap();
    assert!(
        !f.flags
            .iter()
            .find(|f| f.key.as_str() == "auth-social-login")
            .unwrap()
            .on
    );
    let plan = p
        .plan(&set("auth-social-login", true), &PlanCtx::default())
        .await
        .unwrap();
    p.execute(&plan, "k2").await.unwrap();
    assert_eq!(un.is_enabled("auth-social-login", "production"), Some(true));
}

#[tokio::test]
async fn the_simulator_answers_errors_as_unleash_does() {
    let un = project();
    let server = sitrep::sim::serve(un.clone()).await.unwrap();
    let e = provider(&server.url(), "user:wrong")
        .fetch()
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized { status: 401 }, "{e}");
    let p = provider(&server.url(), TOKEN);
    let e = p
        .plan(&set("nope", false), &PlanCtx::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");

    init();
    let c = reqwest::Client::new();
    let r = c
        .post(format!(
            "{}/api/admin/projects/default/features/nope/environments/production/off",
            server.url()
        ))
        .header("Authorization", TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["name"], "NotFoundError");
    assert!(v["details"][0]["message"].as_str().is_some(), "{v}");
    // A write answers 200 with an empty body.
    let r = c
        .post(format!(
            "{}/api/admin/projects/default/features/auth-new-ui/environments/production/off",
            server.url()
        ))
        .header("Authorization", TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap().is_empty());
    assert_eq!(un.is_enabled("auth-new-ui", "production"), Some(false));
}
