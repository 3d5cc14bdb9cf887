//! The request pattern of a fetch, counted at a gate server
//! (`common::gate`): what goes out together after the first answer, and
//! how many requests a fetch takes. No timings: each test asserts how many
//! requests were in flight at once and how many were sent.

use crate::common::gate::{GateAnswer, GateRequest, GateServer};
use crate::common::*;
use serde_json::json;
use sitrep::config::ProviderConfig;
use sitrep::model::DeployState;
use sitrep::providers::Provider;
use sitrep::providers::github::{Github, GithubOptions};
use sitrep::providers::prometheus::{Prometheus, QUERY_CONCURRENCY};
use sitrep::providers::vercel::{Vercel, VercelOptions};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

fn ok(body: serde_json::Value, held: bool) -> GateAnswer {
    GateAnswer {
        status: 200,
        headers: Vec::new(),
        body: body.to_string(),
        held,
    }
}

/// Five SLOs of events: after the lead query (two requests), every window
/// (9, two queries each) and both charts (two range queries each) of all
/// five go out at once: 110 requests in one round trip, not in waves.
#[tokio::test]
async fn prometheus_asks_for_every_window_of_every_slo_at_once() {
    init();
    let seen = Arc::new(AtomicUsize::new(0));
    let s2 = seen.clone();
    let g = GateServer::start(110, move |r: &GateRequest| {
        // The first two requests are the lead query (the first SLO's 5m
        // errors and total), answered at once.
        let held = s2.fetch_add(1, Ordering::SeqCst) > 1;
        if r.path == "/api/v1/query_range" {
            return ok(
                json!({"status": "success", "data": {"resultType": "matrix",
                    "result": [{"metric": {}, "values": [[1.0, "0.001"], [1801.0, "0.002"]]}]}}),
                held,
            );
        }
        ok(
            json!({"status": "success", "data": {"resultType": "vector",
                "result": [{"metric": {}, "value": [1.0, "0.001"]}]}}),
            held,
        )
    })
    .await;
    let mut text = format!(
        r#"
[[provider]]
name = "prom"
kind = "prometheus"
base_url = "{}"
"#,
        g.url
    );
    for n in 0..5 {
        text.push_str(&format!(
            r#"
[[slo]]
name = "s{n}"
provider = "prom"
objective = 99.9
errors = 'sum(rate(e_{n}[{{{{.window}}}}]))'
total = 'sum(rate(t_{n}[{{{{.window}}}}]))'
"#
        ));
    }
    let cfg = config(&text);
    let s = FixedSecret("unused");
    let p = Prometheus::with_http_config(
        cfg.provider_named("prom").unwrap(),
        &token_ctx(&cfg, &s),
        fast_http(),
    )
    .unwrap();
    let slos = p.fetch_slos().await.unwrap();
    assert_eq!(slos.len(), 5);
    assert!(slos.iter().all(|s| s.error.is_none()), "{slos:?}");
    // 5 SLOs × (9 windows × 2 queries + 2 charts × 2 range queries) =
    // 110, all at once (QUERY_CONCURRENCY is the bound, not lower).
    assert_eq!(QUERY_CONCURRENCY, 128);
    assert_eq!(g.max_in_flight(), 110);
    assert_eq!(g.requests().len(), 2 + 110);
}

/// 1,000 GitHub deployments in two environments, cold: the first page
/// alone, then the other 9 pages and the statuses the first page shows to
/// be needed (the newest 5 of each environment: the live deploys and the
/// rollback candidates are among them) together. 20 requests in all, not
/// one status per deployment.
#[tokio::test]
async fn github_reads_the_other_pages_and_the_needed_statuses_together() {
    const N: usize = 1000;
    let g = GateServer::start(19, move |r: &GateRequest| {
        let base = "/repos/acme/checkout-api/deployments";
        if let Some(id) = r
            .path
            .strip_prefix(&format!("{base}/"))
            .and_then(|x| x.strip_suffix("/statuses"))
        {
            return ok(
                json!([{"id": 1, "state": "success", "log_url": format!("https://ci.example/{id}")}]),
                true,
            );
        }
        let per: usize = r.q("per_page").and_then(|v| v.parse().ok()).unwrap_or(30);
        let page: usize = r.q("page").and_then(|v| v.parse().ok()).unwrap_or(1);
        let last = N.div_ceil(per);
        let items: Vec<serde_json::Value> = ((page - 1) * per..(page * per).min(N))
            .map(|i| {
                let id = 100_000 + (N - i);
                json!({"id": id, "sha": format!("{id:040x}"), "ref": format!("v{id}"),
                       "environment": if i % 2 == 0 { "production" } else { "staging" },
                       "payload": {}, "created_at": format!("2026-11-20T{:02}:{:02}:00Z", 23 - i / 60 % 24, 59 - i % 60)})
            })
            .collect();
        let mut a = ok(json!(items), page > 1);
        if page < last {
            let link = |p: usize| format!("<http://127.0.0.1{base}?per_page={per}&page={p}>");
            a.headers.push((
                "Link".into(),
                format!("{}; rel=\"next\", {}; rel=\"last\"", link(page + 1), link(last)),
            ));
        }
        a
    })
    .await;
    let cfg = config(&format!(
        r#"
[[provider]]
name = "gh"
kind = "github"
base_url = "{}"
repos = ["acme/checkout-api"]
token = {{ env = "GH_TOKEN_UNUSED" }}
"#,
        g.url
    ));
    let pc: ProviderConfig = cfg.provider_named("gh").unwrap().clone();
    let s = FixedSecret("ghp_x");
    let gh =
        Github::with_options(&pc, &token_ctx(&cfg, &s), GithubOptions::from_config(&pc)).unwrap();
    let got = gh.fetch().await.unwrap();
    assert_eq!(got.deploys.len(), N);
    let reqs = g.requests();
    let statuses = reqs.iter().filter(|r| r.contains("/statuses")).count();
    assert_eq!(statuses, 10, "the newest 5 of each environment");
    assert_eq!(reqs.len(), 10 + 10);
    assert!(reqs[0].contains("per_page=100") && !reqs[0].contains("page=2"));
    assert_eq!(g.max_in_flight(), 19, "9 pages and 10 statuses at once");
    let live: Vec<&str> = got
        .deploys
        .iter()
        .filter(|d| d.current)
        .map(|d| d.id.as_str())
        .collect();
    assert_eq!(live, ["101000", "100999"]);
    assert_eq!(
        got.deploys
            .iter()
            .filter(|d| d.state == DeployState::Unknown)
            .count(),
        N - 10
    );
}

/// Vercel: the deployments lists need the project's id. The first fetch
/// reads the project alone, then both targets' lists at once; later
/// fetches know the id and send all three at once (one round trip).
#[tokio::test]
async fn vercel_lists_both_targets_at_once_and_beside_the_project_once_its_id_is_known() {
    init();
    let seen = Arc::new(AtomicUsize::new(0));
    let s2 = seen.clone();
    let g = GateServer::start(3, move |r: &GateRequest| {
        // The first fetch (3 requests) is answered at once; the second
        // fetch's are held until 3 are in flight together.
        let held = s2.fetch_add(1, Ordering::SeqCst) >= 3;
        if r.path == "/v9/projects/web" {
            return ok(json!({"id": "prj_123", "name": "web"}), held);
        }
        assert_eq!(
            r.q("projectId"),
            Some("prj_123"),
            "lists name the project's id"
        );
        let target = r.q("target").unwrap_or("none").to_string();
        ok(
            json!({"pagination": {"count": 1, "next": null, "prev": null},
                   "deployments": [{"uid": format!("dpl_{target}"), "name": "web",
                     "projectId": "prj_123", "url": format!("web-{target}.vercel.app"),
                     "created": 1_795_000_000_000i64, "createdAt": 1_795_000_000_000i64,
                     "state": "READY", "readyState": "READY", "type": "LAMBDAS",
                     "target": target, "creator": {"uid": "u_1"}, "inspectorUrl": null}]}),
            held,
        )
    })
    .await;
    let cfg = config(&format!(
        r#"
[[provider]]
name = "vc"
kind = "vercel"
base_url = "{}"
project = "web"
token = {{ env = "VC_TOKEN_UNUSED" }}
"#,
        g.url
    ));
    let pc: ProviderConfig = cfg.provider_named("vc").unwrap().clone();
    let s = FixedSecret("vercel_x");
    let vc =
        Vercel::with_options(&pc, &token_ctx(&cfg, &s), VercelOptions::from_config(&pc)).unwrap();
    let first = vc.fetch().await.unwrap();
    assert_eq!(first.deploys.len(), 2);
    let reqs = g.requests();
    assert_eq!(reqs.len(), 3);
    assert!(reqs[0].starts_with("/v9/projects/web"), "{reqs:?}");
    assert_eq!(g.max_in_flight(), 0, "nothing of the first fetch was held");
    let second = vc.fetch().await.unwrap();
    assert_eq!(second.deploys.len(), 2);
    assert_eq!(g.requests().len(), 6);
    assert_eq!(g.max_in_flight(), 3, "the project and both lists at once");
}
