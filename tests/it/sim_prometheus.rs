//! The Prometheus simulator (`sitrep::sim::prometheus`) against the real
//! Prometheus provider, seeded from the demo company: the SLOs' burn rates
//! are the seeds', an SLO without data says so, a rollback away from the
//! faulty deploy makes the burn fall from the moment it goes live, the
//! query API's error envelope, and the proxy's 401 without the token.

use crate::common::*;
use sitrep::model::Gate;
use sitrep::providers::ErrorKind;
use sitrep::providers::prometheus::Prometheus as PromProvider;
use sitrep::sim::prometheus::Prometheus;
use sitrep::sim::world::{Health, World};
use std::sync::Arc;

const TOKEN: &str = "sim-prom-token";

/// The demo company's health, started `now`, and the config of its SLOs
/// pointing at `url`.
fn slo_config(world: &World, url: &str, token: bool) -> String {
    let mut s = format!(
        "[[provider]]\nname = \"prom\"\nkind = \"prometheus\"\nbase_url = \"{url}\"\n{}\n",
        if token {
            "token = { env = \"PROM_TOKEN\" }"
        } else {
            ""
        }
    );
    for slo in &world.slos {
        s.push_str(&format!(
            "\n[[slo]]\nname = {:?}\nservice = {:?}\nprovider = \"prom\"\nobjective = {}\nerrors = {:?}\ntotal = {:?}\n",
            slo.name, slo.service, slo.objective, slo.errors, slo.total
        ));
    }
    s
}

fn provider(text: &str) -> PromProvider {
    init();
    let cfg = config(text);
    let s = FixedSecret(TOKEN);
    PromProvider::with_http_config(
        cfg.provider_named("prom").unwrap(),
        &token_ctx(&cfg, &s),
        fast_http(),
    )
    .unwrap()
}

#[tokio::test]
async fn the_real_provider_reads_the_companys_slos_and_sees_a_rollback_take_effect() {
    let now = chrono::Utc::now();
    let world = World::load(now).unwrap();
    let health = Arc::new(Health::new(&world, now));
    let server = sitrep::sim::serve(Arc::new(Prometheus::new(Some(TOKEN), health.clone())))
        .await
        .unwrap();
    let p = provider(&slo_config(&world, &server.url(), true));
    let t0 = now.timestamp() as f64;
    p.set_eval_time(Some(t0));
    let slos = p.fetch_slos().await.unwrap();
    assert_eq!(slos.len(), 5);
    let by = |name: &str| slos.iter().find(|s| s.name.as_str() == name).unwrap();
    let checkout = by("checkout-availability");
    // 0.031 errors in 5m against a 0.1 % budget: 31x.
    assert!((checkout.burn_rates.m5.unwrap() - 31.0).abs() < 1e-6);
    assert_eq!(checkout.gate, Gate::Frozen);
    assert!(checkout.page_firing());
    assert!(checkout.history.len() >= 48, "{}", checkout.history.len());
    assert!(!by("search-indexing-freshness").has_data());
    assert!(by("search-availability").has_data());

    // The good deploy goes live one minute in: three minutes later the
    // 5m burn has fallen, six minutes later it is the healthy one.
    let live = now + chrono::Duration::minutes(1);
    health.deployed("checkout", "production", "4e1d09c3aa87b210", live);
    p.set_eval_time(Some(
        (live + chrono::Duration::minutes(3)).timestamp() as f64
    ));
    let m5 = |slos: &[sitrep::model::Slo]| {
        slos.iter()
            .find(|s| s.name.as_str() == "checkout-availability")
            .and_then(|s| s.burn_rates.m5)
            .unwrap()
    };
    let during = m5(&p.fetch_slos().await.unwrap());
    assert!(during < 31.0 * 0.5, "{during}");
    p.set_eval_time(Some(
        (live + chrono::Duration::minutes(6)).timestamp() as f64
    ));
    let after = m5(&p.fetch_slos().await.unwrap());
    assert!((after - 0.4).abs() < 1e-6, "{after}");
    // The other services did not move.
    let slos = p.fetch_slos().await.unwrap();
    let auth = slos
        .iter()
        .find(|s| s.name.as_str() == "auth-login-success")
        .unwrap();
    assert!((auth.burn_rates.m5.unwrap() - 6.2).abs() < 1e-6);
}

#[tokio::test]
async fn the_simulator_answers_errors_as_prometheus_does() {
    let now = chrono::Utc::now();
    let world = World::load(now).unwrap();
    let health = Arc::new(Health::new(&world, now));
    let server = sitrep::sim::serve(Arc::new(Prometheus::new(Some(TOKEN), health)))
        .await
        .unwrap();
    // Without the token: 401 from the proxy in front, the whole fetch fails.
    let e = provider(&slo_config(&world, &server.url(), false))
        .fetch_slos()
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized { status: 401 }, "{e}");

    init();
    let c = reqwest::Client::new();
    let get = |path: &str, q: &[(&str, &str)]| {
        c.get(format!("{}{path}", server.url()))
            .header("Authorization", format!("Bearer {TOKEN}"))
            .query(q)
            .send()
    };
    // A query that does not parse: bad_data, 400.
    let r = get("/api/v1/query", &[("query", "sum(rate(x[5m])")])
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        (v["status"].as_str(), v["errorType"].as_str()),
        (Some("error"), Some("bad_data"))
    );
    // A metric the world does not have: an empty vector.
    let v: serde_json::Value = get("/api/v1/query", &[("query", "up{job=\"x\"}")])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["data"]["resultType"], "vector");
    assert_eq!(v["data"]["result"], serde_json::json!([]));
    // Too many points for a range query.
    let r = get(
        "/api/v1/query_range",
        &[
            ("query", "up"),
            ("start", "0"),
            ("end", "100000"),
            ("step", "1"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(
        v["error"].as_str().unwrap().contains("11,000 points"),
        "{v}"
    );
}
