//! The Vercel simulator (`sitrep::sim::vercel`) against the real Vercel
//! provider: deployments read across pages, an instant rollback planned
//! and sent (a second one is refused while the alias moves), production
//! served by the target once it has moved (the live hook hears its sha), a
//! second rollback never back to the deployment the first moved away from,
//! and Vercel's error body for a wrong token.

use crate::common::*;
use sitrep::model::DeployState;
use sitrep::ops::{PlanCtx, WriteOp};
use sitrep::providers::vercel::{Vercel as VercelProvider, VercelOptions};
use sitrep::providers::{ErrorKind, Provider};
use sitrep::sim::vercel::{Deployment, Vercel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN: &str = "sim-vercel-token";
const ALIAS_TIME: Duration = Duration::from_millis(400);

fn provider(url: &str, token: &'static str) -> VercelProvider {
    init();
    let cfg = config(&format!(
        "[[provider]]\nname = \"vercel\"\nkind = \"vercel\"\nbase_url = \"{url}\"\nproject = \"web\"\ntoken = {{ env = \"VERCEL_TOKEN\" }}\n\n[[service]]\nname = \"storefront\"\ndeploys = {{ provider = \"vercel\", project = \"web\" }}\n"
    ));
    let s = FixedSecret(token);
    VercelProvider::with_options(
        cfg.provider_named("vercel").unwrap(),
        &token_ctx(&cfg, &s),
        VercelOptions {
            http: fast_http(),
            max_pages: 10,
            preview_pages: 1,
        },
    )
    .unwrap()
}

type Heard = Arc<Mutex<Vec<String>>>;

/// `n` ready production deployments (the newest is the suspect
/// `dpl_suspect`), one preview.
fn project(n: usize) -> (Arc<Vercel>, Heard) {
    let heard: Heard = Arc::default();
    let h = heard.clone();
    let vc = Arc::new(Vercel::new(TOKEN, "web", ALIAS_TIME).on_live(Box::new(
        move |_, _, sha, _| h.lock().unwrap().push(sha.to_string()),
    )));
    let now = chrono::Utc::now();
    for i in 0..n {
        let uid = if i == 0 {
            "dpl_suspect".to_string()
        } else {
            format!("dpl_old{i:03}")
        };
        vc.add(&Deployment {
            uid,
            target: "production".into(),
            state: "READY".into(),
            created_at: now - chrono::Duration::minutes(10 + 60 * i as i64),
            creator: "sam".into(),
            git_ref: "main".into(),
            sha: format!("{i:07x}abcdef0"),
            message: format!("change {i}"),
        });
    }
    vc.add(&Deployment {
        uid: "dpl_preview".into(),
        target: "preview".into(),
        state: "READY".into(),
        created_at: now - chrono::Duration::minutes(5),
        creator: "sam".into(),
        git_ref: "feature".into(),
        sha: "feedfacecafe".into(),
        message: "preview".into(),
    });
    (vc, heard)
}

fn rollback() -> WriteOp {
    WriteOp::Rollback {
        provider: None,
        service: "storefront".into(),
        environment: "production".into(),
        to: None,
    }
}

async fn wait_live(vc: &Vercel, uid: &str) {
    let t = Instant::now();
    while vc.live().as_deref() != Some(uid) {
        assert!(t.elapsed() < Duration::from_secs(10), "never went live");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_instant_rollback_through_the_real_provider_moves_production() {
    // 130 production deployments: two pages of 100.
    let (vc, heard) = project(130);
    let server = sitrep::sim::serve(vc.clone()).await.unwrap();
    let p = provider(&server.url(), TOKEN);
    let f = p.fetch().await.unwrap();
    assert_eq!(f.deploys.len(), 131);
    let live: Vec<_> = f
        .deploys
        .iter()
        .filter(|d| d.current && d.environment.as_str() == "production")
        .collect();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].id.as_str(), "dpl_suspect");
    assert_eq!(live[0].service.as_str(), "storefront");
    assert_eq!(live[0].state, DeployState::Success);

    let plan = p.plan(&rollback(), &PlanCtx::default()).await.unwrap();
    assert_eq!(plan.detail["to_id"], "dpl_old001");
    let shown = plan.requests[0].to_string();
    assert!(
        shown.contains("POST http://")
            && shown.contains("/v9/projects/prj_web/rollback/dpl_old001"),
        "{shown}"
    );
    p.execute(&plan, "k1").await.unwrap();
    // While the alias moves, a second rollback is refused.
    let e = p.plan(&rollback(), &PlanCtx::default()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict { status: 409 }, "{e}");
    wait_live(&vc, "dpl_old001").await;
    assert_eq!(heard.lock().unwrap().clone(), vec!["0000001abcdef0"]);
    let f = p.fetch().await.unwrap();
    let live = f
        .deploys
        .iter()
        .find(|d| d.current && d.environment.as_str() == "production")
        .unwrap();
    assert_eq!(live.id.as_str(), "dpl_old001");

    // The second rollback goes further back, never to the suspect.
    let plan = p.plan(&rollback(), &PlanCtx::default()).await.unwrap();
    assert_eq!(plan.detail["to_id"], "dpl_old002");
    assert_ne!(plan.detail["to_id"], "dpl_suspect");
}

#[tokio::test]
async fn the_simulator_answers_errors_as_vercel_does() {
    let (vc, heard) = project(2);
    let server = sitrep::sim::serve(vc.clone()).await.unwrap();
    let e = provider(&server.url(), "wrong").fetch().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized { status: 403 }, "{e}");

    init();
    let c = reqwest::Client::new();
    let post = |path: &str| {
        c.post(format!("{}{path}", server.url()))
            .header("Authorization", format!("Bearer {TOKEN}"))
            .body("{}")
            .send()
    };
    // A preview cannot be rolled back to (it is promoted instead).
    let r = post("/v9/projects/prj_web/rollback/dpl_preview")
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "bad_request");
    assert!(r_headers_ok(&c, &server.url()).await);
    let r = post("/v9/projects/prj_web/rollback/dpl_nope")
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // Promote answers 202 without a body; production serves it afterwards.
    let r = post("/v10/projects/prj_web/promote/dpl_preview")
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert!(r.bytes().await.unwrap().is_empty());
    wait_live(&vc, "dpl_preview").await;
    assert_eq!(heard.lock().unwrap().clone(), vec!["feedfacecafe"]);
}

/// Every answer carries Vercel's rate-limit headers.
async fn r_headers_ok(c: &reqwest::Client, url: &str) -> bool {
    let r = c
        .get(format!("{url}/v9/projects/web"))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap();
    r.status() == 200
        && [
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
        ]
        .iter()
        .all(|h| r.headers().contains_key(*h))
}
