//! The LaunchDarkly simulator (`sitrep::sim::launchdarkly`) against the
//! real LaunchDarkly provider: every page of a long flag list, the kill
//! switch turned off with the semantic patch the provider plans (the
//! simulator's flag changes and its change hook hears it), a JSON patch,
//! and LaunchDarkly's error bodies for a `Bearer` token and an unknown flag.

use crate::common::*;
use sitrep::ops::{PlanCtx, WriteOp};
use sitrep::providers::launchdarkly::LaunchDarkly as LdProvider;
use sitrep::providers::{ErrorKind, Provider};
use sitrep::sim::launchdarkly::{Flag, LaunchDarkly};
use std::sync::{Arc, Mutex};

const TOKEN: &str = "api-sim-ld-token";

fn provider(url: &str, token: &'static str) -> LdProvider {
    init();
    let cfg = config(&format!(
        "[[provider]]\nname = \"ld\"\nkind = \"launchdarkly\"\nbase_url = \"{url}\"\nproject = \"web\"\nenvironment = \"production\"\n\n[[service]]\nname = \"checkout\"\nkill_switch = \"checkout-v3\"\n"
    ));
    let s = FixedSecret(token);
    LdProvider::with_http_config(
        cfg.provider_named("ld").unwrap(),
        &token_ctx(&cfg, &s),
        fast_http(),
    )
    .unwrap()
}

type Heard = Arc<Mutex<Vec<(String, bool)>>>;

/// A project with `n` flags besides the kill switch `checkout-v3`.
fn project(n: usize) -> (Arc<LaunchDarkly>, Heard) {
    let heard: Heard = Arc::default();
    let h = heard.clone();
    let ld = Arc::new(
        LaunchDarkly::new(TOKEN, "web", "production").on_change(Box::new(move |k, on, _| {
            h.lock().unwrap().push((k.to_string(), on))
        })),
    );
    let now = chrono::Utc::now();
    ld.add(&Flag {
        key: "checkout-v3".into(),
        name: "Checkout v3".into(),
        on: true,
        kill_switch: true,
        updated_at: now - chrono::Duration::minutes(11),
    });
    for i in 0..n {
        ld.add(&Flag {
            key: format!("flag-{i:03}"),
            name: format!("Flag {i}"),
            on: i % 2 == 0,
            kill_switch: false,
            updated_at: now - chrono::Duration::days(3),
        });
    }
    (ld, heard)
}

fn off(key: &str) -> WriteOp {
    WriteOp::FlagSet {
        provider: None,
        key: key.into(),
        environment: None,
        on: false,
    }
}

#[tokio::test]
async fn the_real_provider_reads_every_page_and_turns_the_kill_switch_off() {
    // 250 flags: three pages of 100.
    let (ld, heard) = project(249);
    let server = sitrep::sim::serve(ld.clone()).await.unwrap();
    let p = provider(&server.url(), TOKEN);
    let f = p.fetch().await.unwrap();
    assert_eq!(f.flags.len(), 250);
    let ks = f
        .flags
        .iter()
        .find(|f| f.key.as_str() == "checkout-v3")
        .unwrap();
    assert!(ks.on && ks.kill_switch);
    assert_eq!(ks.service.as_ref().unwrap().as_str(), "checkout");
    assert!(
        f.flags
            .iter()
            .filter(|f| f.key.as_str() != "checkout-v3")
            .all(|f| !f.kill_switch)
    );

    let plan = p
        .plan(&off("checkout-v3"), &PlanCtx::new("dana", "5xx"))
        .await
        .unwrap();
    let shown = plan.requests[0].to_string();
    assert!(shown.contains("PATCH http://"), "{shown}");
    assert!(
        shown.contains("domain-model=launchdarkly.semanticpatch"),
        "{shown}"
    );
    assert!(shown.contains("turnFlagOff"), "{shown}");
    assert_eq!(ld.is_on("checkout-v3"), Some(true));
    p.execute(&plan, "k1").await.unwrap();
    assert_eq!(ld.is_on("checkout-v3"), Some(false));
    assert_eq!(
        heard.lock().unwrap().clone(),
        vec![("checkout-v3".to_string(), false)]
    );
    let f = p.fetch().await.unwrap();
    assert!(
        !f.flags
            .iter()
            .find(|f| f.key.as_str() == "checkout-v3")
            .unwrap()
            .on
    );
    // Off again: nothing changes, nothing is heard.
    let plan = p
        .plan(&off("checkout-v3"), &PlanCtx::default())
        .await
        .unwrap();
    p.execute(&plan, "k2").await.unwrap();
    assert_eq!(heard.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn the_simulator_answers_errors_as_launchdarkly_does() {
    let (ld, heard) = project(2);
    let server = sitrep::sim::serve(ld.clone()).await.unwrap();
    // A wrong token: 401.
    let e = provider(&server.url(), "api-wrong")
        .fetch()
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized { status: 401 }, "{e}");
    // An unknown flag: not found.
    let p = provider(&server.url(), TOKEN);
    let e = p.plan(&off("nope"), &PlanCtx::default()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");

    init();
    let c = reqwest::Client::new();
    let url = format!("{}/api/v2/flags/web/checkout-v3", server.url());
    // `Bearer` is refused, with LaunchDarkly's body and rate-limit headers.
    let r = c
        .get(&url)
        .header("Authorization", format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("x-ratelimit-reset"));
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["code"], "unauthorized");
    // A semantic patch without its content type is read as a JSON patch: 400.
    let r = c
        .patch(&url)
        .header("Authorization", TOKEN)
        .header("Content-Type", "application/json")
        .body(r#"{"environmentKey":"production","instructions":[{"kind":"turnFlagOff"}]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(ld.is_on("checkout-v3"), Some(true));
    // A JSON patch of the environment's `on` is applied.
    let r = c
        .patch(&url)
        .header("Authorization", TOKEN)
        .header("Content-Type", "application/json")
        .body(r#"{"comment":"c","patch":[{"op":"replace","path":"/environments/production/on","value":false}]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["environments"]["production"]["on"], false);
    assert_eq!(ld.is_on("checkout-v3"), Some(false));
    assert_eq!(heard.lock().unwrap().len(), 1);
}
