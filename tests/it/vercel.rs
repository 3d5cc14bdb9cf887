//! Vercel deploys against a wiremock fake (providers.md §5, §10): Bearer
//! auth (401 on another scheme), `{pagination, deployments}` with ms
//! timestamps and `until` paging, `teamId` on every call, both path
//! variants of instant rollback (v1 / v9) and promote (v9 / v10), 201/202
//! with no body, errors `{"error":{"code","message"}}`.

use crate::common::{FixedSecret, token_ctx};
use serde_json::{Value, json};
use sitrep::config::{Config, ProviderConfig};
use sitrep::model::DeployState;
use sitrep::ops::PlanCtx;
use sitrep::ops::WriteOp;
use sitrep::providers::http::RetryPolicy;
use sitrep::providers::vercel::{Vercel, VercelOptions};
use sitrep::providers::{ErrorKind, Provider};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "vercel_test_token_abcdef";
const T0: i64 = 1_795_000_000_000;

#[derive(Default)]
struct VState {
    /// Newest first.
    deployments: Vec<Value>,
    alias: Option<Value>,
    posts: Vec<(String, String)>,
    page_size: usize,
    list_calls: usize,
    team_missing: usize,
    error: Option<(u16, Value)>,
    /// Serve this raw body for the deployments list.
    raw_list: Option<String>,
}

#[derive(Clone)]
struct VFake {
    st: Arc<Mutex<VState>>,
}

fn verr(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"error": {"code": code, "message": message}}))
}

impl Respond for VFake {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut st = self.st.lock().unwrap();
        if req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            != Some(&format!("Bearer {TOKEN}"))
        {
            return verr(401, "forbidden", "Not authorized");
        }
        if let Some((s, b)) = st.error.clone() {
            return ResponseTemplate::new(s).set_body_json(b);
        }
        let q: HashMap<String, String> = req.url.query_pairs().into_owned().collect();
        if q.get("teamId").map(String::as_str) != Some("team_acme") {
            st.team_missing += 1;
        }
        let path = req.url.path().to_string();
        let m = req.method.as_str();
        if m == "GET" && (path == "/v9/projects/web" || path == "/v9/projects/prj_123") {
            let mut p = json!({"id": "prj_123", "name": "web", "accountId": "team_acme"});
            if let Some(a) = &st.alias {
                p["lastAliasRequest"] = a.clone();
            }
            return ResponseTemplate::new(200).set_body_json(p);
        }
        if m == "GET" && (path == "/v6/deployments" || path == "/v7/deployments") {
            st.list_calls += 1;
            if let Some(b) = &st.raw_list {
                return ResponseTemplate::new(200).set_body_raw(b.clone(), "application/json");
            }
            if q.get("projectId").map(String::as_str) != Some("prj_123") {
                return verr(400, "bad_request", "projectId required");
            }
            let until: Option<i64> = q.get("until").and_then(|v| v.parse().ok());
            let target = q.get("target").cloned();
            let items: Vec<Value> = st
                .deployments
                .iter()
                .filter(|d| {
                    target.as_ref().is_none_or(|t| {
                        d["target"] == **t || (t == "preview" && d["target"].is_null())
                    })
                })
                .filter(|d| until.is_none_or(|u| d["created"].as_i64().unwrap() < u))
                .take(st.page_size)
                .cloned()
                .collect();
            let next = if items.len() == st.page_size {
                items
                    .last()
                    .map(|d| d["created"].clone())
                    .unwrap_or(Value::Null)
            } else {
                Value::Null
            };
            return ResponseTemplate::new(200).set_body_json(json!({
                "pagination": {"count": items.len(), "next": next, "prev": null},
                "deployments": items,
            }));
        }
        if m == "POST" {
            let parts: Vec<&str> = path.split('/').collect();
            // /vN/projects/{id}/{rollback|promote}/{dpl}
            if parts.len() == 6 && parts[2] == "projects" && parts[3] == "prj_123" {
                let kind = parts[4].to_string();
                let to = parts[5].to_string();
                if !st.deployments.iter().any(|d| d["uid"] == to.as_str()) {
                    return verr(404, "not_found", "Deployment not found");
                }
                st.posts.push((path.clone(), to.clone()));
                st.alias = Some(json!({
                    "fromDeploymentId": null, "toDeploymentId": to,
                    "jobStatus": "succeeded", "requestedAt": T0 + 1, "type": kind,
                }));
                return ResponseTemplate::new(if kind == "promote" { 202 } else { 201 });
            }
        }
        verr(404, "not_found", "The requested path was not found")
    }
}

/// (uid, sha, target, minutes ago, state)
type Seed<'a> = (&'a str, &'a str, Option<&'a str>, i64, &'a str);

fn dep(uid: &str, sha: &str, target: Option<&str>, mins: i64, state: &str) -> Value {
    let at = T0 - mins * 60_000;
    json!({
        "uid": uid, "name": "web", "projectId": "prj_123",
        "url": format!("web-{uid}.vercel.app"), "created": at, "createdAt": at,
        "state": state, "readyState": state, "type": "LAMBDAS", "target": target,
        "creator": {"uid": "u_1", "username": format!("dev-{uid}")},
        "meta": {"githubCommitSha": sha, "githubCommitRef": "main", "githubCommitMessage": format!("commit {sha}")},
        "inspectorUrl": format!("https://vercel.com/acme/web/{uid}"),
        "isRollbackCandidate": true,
    })
}

async fn fake(seeds: &[Seed<'_>], page_size: usize) -> (MockServer, VFake) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let server = MockServer::start().await;
    let mut v: Vec<&Seed> = seeds.iter().collect();
    v.sort_by_key(|s| s.3);
    let st = VState {
        deployments: v.iter().map(|s| dep(s.0, s.1, s.2, s.3, s.4)).collect(),
        page_size,
        ..Default::default()
    };
    let f = VFake {
        st: Arc::new(Mutex::new(st)),
    };
    Mock::given(any())
        .respond_with(f.clone())
        .mount(&server)
        .await;
    (server, f)
}

fn config(base: &str, extra: &str) -> (Config, ProviderConfig) {
    let text = format!(
        r#"
[[provider]]
name = "vc"
kind = "vercel"
base_url = "{base}"
project = "web"
team = "team_acme"
token = {{ env = "VERCEL_TEST_TOKEN_UNUSED" }}
{extra}

[[service]]
name = "storefront"
deploys = {{ provider = "vc", project = "web" }}
"#
    );
    let c = sitrep::config::parse(&text, Path::new("t.toml")).unwrap();
    let pc = c.providers().next().unwrap().clone();
    (c, pc)
}

fn provider(server: &MockServer, extra: &str) -> Vercel {
    let (c, pc) = config(&server.uri(), extra);
    let mut o = VercelOptions::from_config(&pc);
    o.http.retry = RetryPolicy {
        max_attempts: 2,
        base: Duration::from_millis(5),
        cap: Duration::from_millis(20),
        min_wait: Duration::from_millis(10),
        max_wait: Duration::from_secs(2),
        max_inline_wait: Duration::from_secs(1),
    };
    Vercel::with_options(&pc, &token_ctx(&c, &FixedSecret(TOKEN)), o).unwrap()
}

fn rollback(to: Option<&str>) -> WriteOp {
    WriteOp::Rollback {
        provider: Some("vc".into()),
        service: "storefront".into(),
        environment: "production".into(),
        to: to.map(str::to_string),
    }
}

fn seeds() -> Vec<Seed<'static>> {
    vec![
        ("dpl_6", "ffff666", Some("production"), 1, "ERROR"),
        ("dpl_5", "eeee555", Some("production"), 10, "READY"),
        ("dpl_4", "dddd444", Some("production"), 20, "READY"),
        ("dpl_3", "cccc333", Some("production"), 30, "CANCELED"),
        ("dpl_2", "bbbb222", Some("production"), 40, "READY"),
        ("dpl_p2", "pppp002", None, 3, "BUILDING"),
        ("dpl_p1", "pppp001", Some("preview"), 15, "READY"),
        ("dpl_p0", "pppp000", Some("preview"), 25, "QUEUED"),
        ("dpl_p9", "pppp009", Some("preview"), 26, "INITIALIZING"),
    ]
}

#[tokio::test]
async fn lists_deployments_per_target_with_states_and_current() {
    let (server, f) = fake(&seeds(), 100).await;
    let vc = provider(&server, "");
    let got = vc.fetch().await.unwrap();
    let d = &got.deploys;
    assert_eq!(d.len(), 9);
    let by = |id: &str| d.iter().find(|x| x.id.as_str() == id).unwrap();
    assert_eq!(by("dpl_6").state, DeployState::Failure);
    assert_eq!(by("dpl_5").state, DeployState::Success);
    assert_eq!(by("dpl_3").state, DeployState::Canceled);
    assert_eq!(by("dpl_p2").state, DeployState::InProgress);
    assert_eq!(by("dpl_p9").state, DeployState::InProgress);
    assert_eq!(by("dpl_p0").state, DeployState::Queued);
    assert_eq!(by("dpl_p0").provider_state.as_str(), "QUEUED");
    let x = by("dpl_5");
    assert!(x.current);
    assert_eq!(x.service.as_str(), "storefront");
    assert_eq!(x.environment.as_str(), "production");
    assert_eq!((x.sha.as_str(), x.git_ref.as_str()), ("eeee555", "main"));
    assert_eq!(x.creator.as_ref().unwrap().as_str(), "dev-dpl_5");
    assert_eq!(
        x.url.as_ref().unwrap().as_str(),
        "https://vercel.com/acme/web/dpl_5"
    );
    // The inspector is where the build logs are.
    assert_eq!(
        x.log_url.as_ref().map(|u| u.as_str()),
        Some("https://vercel.com/acme/web/dpl_5")
    );
    assert!(!vc.has_commits());
    assert_eq!(x.description.as_ref().unwrap().as_str(), "commit eeee555");
    assert_eq!(x.created_at.timestamp_millis(), T0 - 600_000);
    // A deployment without a target is listed under the target asked for.
    assert_eq!(by("dpl_p2").environment.as_str(), "preview");
    // One live production deploy; preview's newest READY is its "current".
    assert_eq!(d.iter().filter(|x| x.current).count(), 2);
    assert_eq!(f.st.lock().unwrap().team_missing, 0, "teamId on every call");
}

#[tokio::test]
async fn pages_follow_until_over_three_pages() {
    let owned: Vec<(String, String)> = (0..25)
        .map(|i| (format!("dpl_{i:03}"), format!("{i:07x}")))
        .collect();
    let mut s: Vec<Seed> = owned
        .iter()
        .enumerate()
        .map(|(i, (u, sha))| {
            (
                u.as_str(),
                sha.as_str(),
                Some("production"),
                i as i64,
                "READY",
            )
        })
        .collect();
    let previews: Vec<String> = (0..15).map(|i| format!("dpl_p{i:03}")).collect();
    s.extend(
        previews
            .iter()
            .enumerate()
            .map(|(i, u)| (u.as_str(), "", Some("preview"), i as i64, "BUILDING")),
    );
    let (server, f) = fake(&s, 10).await;
    let got = provider(&server, "").fetch().await.unwrap();
    let prod = got
        .deploys
        .iter()
        .filter(|d| d.environment.as_str() == "production");
    assert_eq!(prod.count(), 25);
    // Previews: only the newest page.
    let prev = got
        .deploys
        .iter()
        .filter(|d| d.environment.as_str() == "preview");
    assert_eq!(prev.count(), 10);
    // 3 pages of production, 1 of preview.
    assert_eq!(f.st.lock().unwrap().list_calls, 4);
    assert_eq!(got.deploys.iter().filter(|d| d.current).count(), 1);
    assert!(
        got.deploys
            .iter()
            .find(|d| d.id.as_str() == "dpl_000")
            .unwrap()
            .current
    );
}

#[tokio::test]
async fn rollback_goes_to_the_previous_ready_production_deploy() {
    let (server, f) = fake(&seeds(), 100).await;
    let vc = provider(&server, "");
    let plan = vc.plan(&rollback(None), &PlanCtx::default()).await.unwrap();
    assert_eq!(plan.detail["to_id"], "dpl_4");
    assert_eq!(plan.detail["from_id"], "dpl_5");
    let r = &plan.requests[0];
    assert_eq!(
        r.url,
        format!(
            "{}/v9/projects/prj_123/rollback/dpl_4?teamId=team_acme",
            server.uri()
        )
    );
    assert_eq!(r.body, Some(json!({})));
    assert!(
        r.headers
            .contains(&("Authorization".into(), "Bearer <redacted>".into()))
    );
    assert!(!serde_json::to_string(&plan).unwrap().contains(TOKEN));
    assert!(
        f.st.lock().unwrap().posts.is_empty(),
        "planning sends nothing"
    );
    let res = vc.execute(&plan, "key-1").await.unwrap();
    assert_eq!(res.detail["status"], 201);
    assert_eq!(f.st.lock().unwrap().posts.len(), 1);
    // Production now points at dpl_4 although dpl_5 is newer.
    let got = vc.fetch().await.unwrap();
    let live: Vec<&str> = got
        .deploys
        .iter()
        .filter(|d| d.current && d.environment.as_str() == "production")
        .map(|d| d.id.as_str())
        .collect();
    assert_eq!(live, vec!["dpl_4"]);
    // A retry with the same key from a fresh process sends nothing.
    let vc2 = provider(&server, "");
    let again = vc2.execute(&plan, "key-1").await.unwrap();
    assert_eq!(again.detail["existing"], true);
    assert_eq!(f.st.lock().unwrap().posts.len(), 1);
    // The next rollback from dpl_4 goes to dpl_2 (dpl_3 was canceled).
    let plan = vc2
        .plan(&rollback(None), &PlanCtx::default())
        .await
        .unwrap();
    assert_eq!(plan.detail["to_id"], "dpl_2");
}

#[tokio::test]
async fn refusals_are_clear() {
    let (server, f) = fake(
        &[
            ("dpl_2", "bbbb222", Some("production"), 5, "ERROR"),
            ("dpl_1", "aaaa111", Some("production"), 50, "READY"),
        ],
        100,
    )
    .await;
    let vc = provider(&server, "");
    let e = vc
        .plan(&rollback(None), &PlanCtx::default())
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("no earlier good deploy of storefront in production"),
        "{e}"
    );
    let e = vc
        .plan(&rollback(Some("dpl_nope")), &PlanCtx::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(e.to_string().contains("no deploy dpl_nope"), "{e}");
    let e = vc
        .plan(
            &WriteOp::Rollback {
                provider: None,
                service: "storefront".into(),
                environment: "preview".into(),
                to: None,
            },
            &PlanCtx::default(),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("production only"), "{e}");
    assert!(f.st.lock().unwrap().posts.is_empty());
}

#[tokio::test]
async fn to_a_preview_deployment_promotes_it() {
    let (server, f) = fake(&seeds(), 100).await;
    let vc = provider(&server, "");
    let plan = vc
        .plan(&rollback(Some("dpl_p1")), &PlanCtx::default())
        .await
        .unwrap();
    assert_eq!(
        plan.requests[0].url,
        format!(
            "{}/v10/projects/prj_123/promote/dpl_p1?teamId=team_acme",
            server.uri()
        )
    );
    assert_eq!(plan.detail["action"], "promote");
    let res = vc.execute(&plan, "k").await.unwrap();
    assert_eq!(res.detail["status"], 202);
    assert_eq!(
        f.st.lock().unwrap().posts,
        vec![(
            "/v10/projects/prj_123/promote/dpl_p1".to_string(),
            "dpl_p1".to_string()
        )]
    );
    // A preview that is not ready is refused.
    let e = vc
        .plan(&rollback(Some("dpl_p0")), &PlanCtx::default())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("is queued"), "{e}");
}

#[tokio::test]
async fn paths_are_configurable() {
    let (server, f) = fake(&seeds(), 100).await;
    let vc = provider(
        &server,
        r#"paths = { deployments = "/v7/deployments", rollback = "/v1/projects/{projectId}/rollback/{deploymentId}" }"#,
    );
    vc.fetch().await.unwrap();
    let reqs = server.received_requests().await.unwrap();
    assert!(reqs.iter().any(|r| r.url.path() == "/v7/deployments"));
    let plan = vc.plan(&rollback(None), &PlanCtx::default()).await.unwrap();
    vc.execute(&plan, "k").await.unwrap();
    assert_eq!(
        f.st.lock().unwrap().posts[0].0,
        "/v1/projects/prj_123/rollback/dpl_4"
    );
    // An unknown key is a configuration error naming the valid ones.
    let (c, pc) = config(&server.uri(), r#"paths = { rollbak = "/x" }"#);
    let e = Vercel::with_options(
        &pc,
        &token_ctx(&c, &FixedSecret(TOKEN)),
        VercelOptions::from_config(&pc),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("rollbak") && e.to_string().contains("rollback"),
        "{e}"
    );
}

#[tokio::test]
async fn errors_name_the_cause_and_hide_the_token() {
    let (server, f) = fake(&seeds(), 100).await;
    f.st.lock().unwrap().error = Some((
        403,
        json!({"error": {"code": "forbidden", "message": "You don't have permission to access this team"}}),
    ));
    let e = provider(&server, "").fetch().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized { status: 403 });
    assert!(
        e.to_string().contains("permission to access this team"),
        "{e}"
    );
    assert!(!e.to_string().contains(TOKEN));
    // Wrong token.
    f.st.lock().unwrap().error = None;
    let (c, pc) = config(&server.uri(), "");
    let vc = Vercel::with_options(
        &pc,
        &token_ctx(&c, &FixedSecret("other_token_value")),
        VercelOptions::from_config(&pc),
    )
    .unwrap();
    let e = vc.fetch().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized { status: 401 });
    // A refused rollback (409) is reported, not retried.
    let vc = provider(&server, "");
    let plan = vc.plan(&rollback(None), &PlanCtx::default()).await.unwrap();
    f.st.lock().unwrap().error = Some((
        409,
        json!({"error": {"code": "rollback_in_progress", "message": "A rollback is already in progress"}}),
    ));
    let n = server.received_requests().await.unwrap().len();
    let e = vc.execute(&plan, "k").await.unwrap_err();
    assert!(
        matches!(
            e.kind,
            ErrorKind::Conflict { status: 409 } | ErrorKind::Http { status: 409 }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("already in progress"), "{e}");
    // One GET (alias check) + one POST.
    assert_eq!(server.received_requests().await.unwrap().len(), n + 1);
}

#[tokio::test]
async fn hostile_commit_messages_are_inert() {
    let (server, f) = fake(&[("dpl_1", "aaaa111", Some("production"), 5, "READY")], 100).await;
    {
        let mut st = f.st.lock().unwrap();
        st.deployments[0]["meta"]["githubCommitMessage"] = json!(
            "ok\u{1b}]8;;https://evil\u{7}click\u{1b}]8;;\u{7} \u{1b}[1A\u{9d}x\u{202e}gnp.exe"
        );
        st.deployments[0]["creator"]["username"] = json!("eve\u{1b}[6n\u{2067}");
        st.deployments[0]["meta"]["githubCommitRef"] = json!("main\u{8f}\u{1b}c");
    }
    let got = provider(&server, "").fetch().await.unwrap();
    let d = &got.deploys[0];
    for s in [
        d.description.as_ref().unwrap().as_str(),
        d.creator.as_ref().unwrap().as_str(),
        d.git_ref.as_str(),
    ] {
        assert!(
            !s.chars().any(|c| c == '\u{1b}'
                || c == '\u{7}'
                || ('\u{80}'..='\u{9f}').contains(&c)
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')),
            "live control in {s:?}"
        );
    }
    assert!(d.description.as_ref().unwrap().as_str().starts_with("ok"));
}

#[tokio::test]
async fn a_tampered_plan_is_refused_before_sending() {
    let (server, f) = fake(&seeds(), 100).await;
    let vc = provider(&server, "");
    let mut plan = vc.plan(&rollback(None), &PlanCtx::default()).await.unwrap();
    plan.requests[0].url = format!(
        "{}/v9/projects/prj_123/rollback/dpl_6?teamId=team_acme",
        server.uri()
    );
    let e = vc.execute(&plan, "k").await.unwrap_err();
    assert!(e.to_string().contains("nothing sent"), "{e}");
    assert!(f.st.lock().unwrap().posts.is_empty());
}

#[test]
fn arbitrary_list_bodies_never_panic() {
    use proptest::prelude::*;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (server, f) = rt.block_on(fake(&seeds(), 100));
    let vc = rt.block_on(async { provider(&server, "") });
    let junk = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..400)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        (any::<i64>(), ".{0,20}", any::<i64>(), any::<bool>()).prop_map(|(t, s, next, b)| {
            json!({
                "pagination": {"next": if b { json!(next) } else { json!(s) }},
                "deployments": [{
                    "uid": s, "created": t, "createdAt": if b { json!(t) } else { json!(s) },
                    "readyState": s, "target": if b { json!("production") } else { json!(7) },
                    "meta": {"githubCommitSha": if b { json!(s) } else { json!([1]) }},
                    "creator": {"username": s}, "url": s,
                }],
            })
            .to_string()
        }),
    ];
    let mut cfg = proptest::test_runner::Config::with_cases(64);
    cfg.failure_persistence = None;
    let mut runner = proptest::test_runner::TestRunner::new(cfg);
    runner
        .run(&junk, |body| {
            f.st.lock().unwrap().raw_list = Some(body);
            if let Err(e) = rt.block_on(vc.fetch()) {
                prop_assert!(
                    matches!(e.kind, ErrorKind::Malformed | ErrorKind::Shape),
                    "{}",
                    e
                );
            }
            Ok(())
        })
        .unwrap();
}

/// Vercel rolls back production only: its plan says so, and the CLI's
/// `--yes` path needs `--i-know-this-is-production` for it.
#[tokio::test]
async fn production_guard_follows_the_rollback_plan() {
    let (server, f) = fake(&seeds(), 100).await;
    let vc = provider(&server, "");
    let plan = vc.plan(&rollback(None), &PlanCtx::default()).await.unwrap();
    assert_eq!(plan.target_environment(), Some("production"));
    let g = crate::common::production_guard(std::sync::Arc::new(vc), rollback(None)).await;
    assert_eq!(g.yes_only, 2, "rolled back production without the flag");
    assert_eq!(g.acknowledged, 0);
    assert_eq!(
        f.st.lock().unwrap().posts.len(),
        1,
        "exactly the acknowledged one"
    );
    assert_eq!(g.records[0].outcome.as_str(), "refused");
}
