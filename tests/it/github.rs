//! GitHub deploys against a wiremock fake that behaves like api.github.com
//! (providers.md §4, §10): Bearer auth (401 on another scheme), bare-array
//! lists with absolute `Link` URLs back to the fake, `x-ratelimit-*` headers
//! on every answer, error bodies `{"message","documentation_url"}`, 201 on
//! create, 204 on workflow dispatch.

use crate::common::{FixedSecret, token_ctx};
use serde_json::{Value, json};
use sitrep::config::{Config, ProviderConfig};
use sitrep::model::DeployState;
use sitrep::ops::PlanCtx;
use sitrep::ops::WriteOp;
use sitrep::providers::github::{Github, GithubOptions};
use sitrep::providers::http::RetryPolicy;
use sitrep::providers::{ErrorKind, Provider};
use sitrep::secrets::Secret;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "ghp_testtoken1234567890";
const REPO: &str = "/repos/acme/checkout-api";

// ---------------------------------------------------------------------------
// The fake

/// (status, headers, body)
type Scripted = (u16, Vec<(String, String)>, String);

#[derive(Default)]
struct GhState {
    /// Newest first, like GitHub.
    deployments: Vec<Value>,
    /// List them oldest first instead (an order GitHub does not promise
    /// never to use).
    oldest_first: bool,
    /// Newest first per deployment.
    statuses: HashMap<u64, Vec<Value>>,
    next_id: u64,
    /// GHES-style API root under the host, e.g. "/api/v3" ("" = none).
    prefix: String,
    posts: Vec<Value>,
    dispatches: Vec<Value>,
    runs: Vec<Value>,
    list_calls: usize,
    status_calls: usize,
    /// GETs answered `304 Not Modified` (their `If-None-Match` matched).
    not_modified: usize,
    /// GETs that carried `If-None-Match`.
    conditional: usize,
    /// Answers served before the normal ones (status, headers, body), for
    /// any request.
    scripted: Vec<Scripted>,
    /// Answer every POST with this (status, body).
    post_answer: Option<(u16, Value)>,
    /// Create the deployment, but answer this late.
    post_delay: Option<Duration>,
}

#[derive(Clone)]
struct GhFake {
    base: String,
    st: Arc<Mutex<GhState>>,
}

fn rate_headers(t: ResponseTemplate) -> ResponseTemplate {
    t.insert_header("x-ratelimit-limit", "5000")
        .insert_header("x-ratelimit-remaining", "4990")
        .insert_header("x-ratelimit-used", "10")
        .insert_header("x-ratelimit-reset", "4102444800")
        .insert_header("x-ratelimit-resource", "core")
}

/// A GET answer as GitHub gives it: a strong `ETag` over the body, and
/// `304 Not Modified` (no body) when the request's `If-None-Match` names it.
fn conditional(st: &mut GhState, req: &Request, body: &Value) -> ResponseTemplate {
    use std::hash::{Hash, Hasher};
    let text = body.to_string();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    let etag = format!("\"{:016x}\"", h.finish());
    let inm = req
        .headers
        .get("if-none-match")
        .and_then(|v| v.to_str().ok());
    if inm.is_some() {
        st.conditional += 1;
    }
    if inm == Some(etag.as_str()) {
        st.not_modified += 1;
        return rate_headers(ResponseTemplate::new(304)).insert_header("etag", etag.as_str());
    }
    rate_headers(ResponseTemplate::new(200))
        .insert_header("etag", etag.as_str())
        .set_body_raw(text, "application/json; charset=utf-8")
}

fn gh_error(status: u16, message: &str) -> ResponseTemplate {
    rate_headers(ResponseTemplate::new(status)).set_body_json(json!({
        "message": message,
        "documentation_url": "https://docs.github.com/rest",
        "status": status.to_string(),
    }))
}

impl Respond for GhFake {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut st = self.st.lock().unwrap();
        if req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            != Some(&format!("Bearer {TOKEN}"))
        {
            return gh_error(401, "Bad credentials");
        }
        if !st.scripted.is_empty() {
            let (status, headers, body) = st.scripted.remove(0);
            let mut t = ResponseTemplate::new(status).set_body_raw(body, "application/json");
            for (k, v) in headers {
                t = t.insert_header(k.as_str(), v.as_str());
            }
            return t;
        }
        let Some(path) = req
            .url
            .path()
            .strip_prefix(st.prefix.as_str())
            .map(str::to_string)
        else {
            return gh_error(404, "Not Found");
        };
        let prefix = st.prefix.clone();
        let q: HashMap<String, String> = req.url.query_pairs().into_owned().collect();
        let method = req.method.as_str();
        if method == "GET" && path == format!("{REPO}/deployments") {
            st.list_calls += 1;
            let per_page: usize = q.get("per_page").and_then(|v| v.parse().ok()).unwrap_or(30);
            let page: usize = q.get("page").and_then(|v| v.parse().ok()).unwrap_or(1);
            let mut all: Vec<&Value> = st
                .deployments
                .iter()
                .filter(|d| q.get("environment").is_none_or(|e| d["environment"] == **e))
                .filter(|d| q.get("sha").is_none_or(|s| d["sha"] == **s))
                .collect();
            if st.oldest_first {
                all.reverse();
            }
            let pages = all.len().div_ceil(per_page).max(1);
            let items: Vec<&Value> = all
                .iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .copied()
                .collect();
            let items = json!(items);
            let mut t = conditional(&mut st, req, &items);
            if page < pages {
                let mut base_q: Vec<(String, String)> = q
                    .iter()
                    .filter(|(k, _)| *k != "page")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                base_q.sort();
                let link = |p: usize| {
                    let mut s = url::form_urlencoded::Serializer::new(String::new());
                    for (k, v) in &base_q {
                        s.append_pair(k, v);
                    }
                    s.append_pair("page", &p.to_string());
                    format!("{}{prefix}{REPO}/deployments?{}", self.base, s.finish())
                };
                t = t.insert_header(
                    "link",
                    format!(
                        "<{}>; rel=\"next\", <{}>; rel=\"last\"",
                        link(page + 1),
                        link(pages)
                    )
                    .as_str(),
                );
            }
            return t;
        }
        if method == "GET"
            && let Some(rest) = path.strip_prefix(&format!("{REPO}/deployments/"))
            && let Some(id) = rest.strip_suffix("/statuses")
        {
            st.status_calls += 1;
            let Ok(id) = id.parse::<u64>() else {
                return gh_error(404, "Not Found");
            };
            if !st.deployments.iter().any(|d| d["id"] == id) {
                return gh_error(404, "Not Found");
            }
            let per_page: usize = q.get("per_page").and_then(|v| v.parse().ok()).unwrap_or(30);
            let list: Vec<Value> = st
                .statuses
                .get(&id)
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .take(per_page)
                .collect();
            return conditional(&mut st, req, &json!(list));
        }
        if method == "GET" && path == format!("{REPO}/actions/workflows/deploy.yml/runs") {
            return rate_headers(ResponseTemplate::new(200)).set_body_json(json!({
                "total_count": st.runs.len(),
                "workflow_runs": st.runs,
            }));
        }
        if method == "POST" && path == format!("{REPO}/deployments") {
            let body: Value = req.body_json().unwrap_or(Value::Null);
            st.posts.push(body.clone());
            if let Some((status, b)) = st.post_answer.clone() {
                return rate_headers(ResponseTemplate::new(status)).set_body_json(b);
            }
            st.next_id += 1;
            let id = st.next_id;
            let d = deployment(
                id,
                body["ref"].as_str().unwrap_or_default(),
                body["ref"].as_str().unwrap_or_default(),
                body["environment"].as_str().unwrap_or("production"),
                &chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "sitrep-bot",
                body["description"].as_str().unwrap_or_default(),
                body["payload"].clone(),
            );
            st.deployments.insert(0, d.clone());
            let t = rate_headers(ResponseTemplate::new(201)).set_body_json(d);
            return match st.post_delay {
                Some(delay) => t.set_delay(delay),
                None => t,
            };
        }
        // Compare two commits: the deployments' shas in creation order are
        // the history, one commit each (its ref the message).
        if method == "GET"
            && let Some(basehead) = path.strip_prefix(&format!("{REPO}/compare/"))
        {
            let Some((base, head)) = basehead.split_once("...") else {
                return gh_error(404, "Not Found");
            };
            let mut shas: Vec<&Value> = st.deployments.iter().collect();
            shas.sort_by_key(|d| d["created_at"].as_str().unwrap_or_default().to_string());
            let at = |sha: &str| shas.iter().position(|d| d["sha"] == sha);
            let (Some(a), Some(b)) = (at(base), at(head)) else {
                return gh_error(
                    404,
                    &format!("No common ancestor between {base} and {head}."),
                );
            };
            let commits: Vec<Value> = shas[(a + 1).min(b + 1)..=b.max(a)]
                .iter()
                .filter(|_| b > a)
                .map(|d| {
                    json!({"sha": format!("{}00000000000000000000000000000000", d["sha"].as_str().unwrap_or("")),
                           "commit": {"message": format!("{}\n\nlonger body", d["ref"].as_str().unwrap_or("")),
                                      "author": {"name": "Dev Eloper", "email": "dev@example.com"}},
                           "author": if d["id"] == 4 { Value::Null } else { json!({"login": d["creator"]["login"]}) }})
                })
                .collect();
            let status = match b.cmp(&a) {
                std::cmp::Ordering::Greater => "ahead",
                std::cmp::Ordering::Less => "behind",
                std::cmp::Ordering::Equal => "identical",
            };
            return rate_headers(ResponseTemplate::new(200)).set_body_json(json!({
                "url": format!("{}{REPO}/compare/{basehead}", self.base),
                "html_url": format!("https://github.com/acme/checkout-api/compare/{basehead}"),
                "status": status,
                "ahead_by": b.saturating_sub(a),
                "behind_by": a.saturating_sub(b),
                "total_commits": b.saturating_sub(a),
                "commits": commits,
                "files": [],
            }));
        }
        if method == "POST" && path.ends_with("/dispatches") {
            st.dispatches.push(req.body_json().unwrap_or(Value::Null));
            return rate_headers(ResponseTemplate::new(204));
        }
        gh_error(404, "Not Found")
    }
}

#[allow(clippy::too_many_arguments)]
fn deployment(
    id: u64,
    sha: &str,
    r: &str,
    env: &str,
    at: &str,
    who: &str,
    desc: &str,
    payload: Value,
) -> Value {
    json!({
        "url": format!("https://api.github.com{REPO}/deployments/{id}"),
        "id": id, "node_id": format!("DE_{id}"), "sha": sha, "ref": r, "task": "deploy",
        "payload": payload, "original_environment": env, "environment": env,
        "description": desc, "creator": {"login": who, "id": 1, "type": "User"},
        "created_at": at, "updated_at": at,
        "statuses_url": format!("https://api.github.com{REPO}/deployments/{id}/statuses"),
        "repository_url": format!("https://api.github.com{REPO}"),
        "transient_environment": false, "production_environment": env == "production",
    })
}

fn status(state: &str, at: &str) -> Value {
    json!({
        "id": 1, "node_id": "DES_1", "state": state, "creator": {"login": "ci"},
        "description": "", "environment": "production",
        "target_url": "", "log_url": "https://ci.example.com/run/1",
        "environment_url": "", "created_at": at, "updated_at": at,
        "deployment_url": "", "repository_url": "", "url": "",
    })
}

/// (id, sha, ref, env, minutes before 03:00, latest status or None)
type Seed<'a> = (u64, &'a str, &'a str, &'a str, i64, Option<&'a str>);

async fn fake(seeds: &[Seed<'_>]) -> (MockServer, GhFake) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let server = MockServer::start().await;
    let mut st = GhState {
        next_id: 10_000,
        ..Default::default()
    };
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-11-22T03:00:00Z").unwrap();
    let mut sorted = seeds.to_vec();
    sorted.sort_by_key(|s| s.4);
    for (id, sha, r, env, mins, state) in sorted {
        let at = (t0 - chrono::Duration::minutes(mins))
            .to_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        st.deployments.push(deployment(
            id,
            sha,
            r,
            env,
            &at,
            &format!("dev{id}"),
            &format!("deploy {r}"),
            json!({}),
        ));
        if let Some(s) = state {
            st.statuses
                .insert(id, vec![status(s, &at), status("in_progress", &at)]);
        }
    }
    let f = GhFake {
        base: server.uri(),
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
name = "gh"
kind = "github"
base_url = "{base}"
repos = ["acme/checkout-api"]
environments = ["production", "staging"]
token = {{ env = "GH_TEST_TOKEN_UNUSED" }}
{extra}

[[service]]
name = "checkout"
deploys = {{ provider = "gh", repo = "acme/checkout-api" }}
"#
    );
    let c = sitrep::config::parse(&text, Path::new("t.toml")).unwrap();
    let pc = c.providers().next().unwrap().clone();
    (c, pc)
}

fn opts(pc: &ProviderConfig) -> GithubOptions {
    let mut o = GithubOptions::from_config(pc);
    o.http.retry = RetryPolicy {
        max_attempts: 3,
        base: Duration::from_millis(5),
        cap: Duration::from_millis(20),
        min_wait: Duration::from_millis(10),
        max_wait: Duration::from_secs(5),
        max_inline_wait: Duration::from_secs(2),
    };
    o
}

fn provider(server: &MockServer, extra: &str) -> Github {
    let (c, pc) = config(&server.uri(), extra);
    Github::with_options(&pc, &token_ctx(&c, &FixedSecret(TOKEN)), opts(&pc)).unwrap()
}

/// A registry of the one provider `provider(server, "")`.
fn registry_of(server: &MockServer) -> sitrep::providers::Registry {
    sitrep::providers::Registry {
        providers: vec![Arc::new(provider(server, ""))],
        demo: false,
        keep: Vec::new(),
    }
}

/// One environment, so one list request per fetch.
fn provider1(server: &MockServer) -> Github {
    let (c, pc) = config(&server.uri(), "");
    let pc = ProviderConfig {
        environments: Some(vec!["production".into()]),
        ..pc
    };
    Github::with_options(&pc, &token_ctx(&c, &FixedSecret(TOKEN)), opts(&pc)).unwrap()
}

fn rollback(env: &str, to: Option<&str>) -> WriteOp {
    WriteOp::Rollback {
        provider: Some("gh".into()),
        service: "checkout".into(),
        environment: env.into(),
        to: to.map(str::to_string),
    }
}

// ---------------------------------------------------------------------------
// Reads

#[tokio::test]
async fn lists_deployments_with_states_service_and_current() {
    let (server, f) = fake(&[
        (5, "eeee555", "v5", "production", 1, Some("error")),
        (4, "dddd444", "v4", "production", 10, Some("success")),
        (3, "cccc333", "v3", "production", 20, Some("inactive")),
        (2, "bbbb222", "v2", "production", 30, Some("pending")),
        (12, "ssss012", "main", "staging", 5, Some("in_progress")),
        (11, "ssss011", "main", "staging", 15, Some("success")),
        (10, "ssss010", "main", "staging", 25, None),
    ])
    .await;
    let gh = provider(&server, "");
    let got = gh.fetch().await.unwrap();
    let d = &got.deploys;
    assert_eq!(d.len(), 7);
    let by = |id: &str| d.iter().find(|x| x.id.as_str() == id).unwrap();
    assert_eq!(by("5").state, DeployState::Failure);
    assert_eq!(by("5").provider_state.as_str(), "error");
    assert_eq!(by("4").state, DeployState::Success);
    assert_eq!(by("3").state, DeployState::Inactive);
    assert_eq!(by("2").state, DeployState::Queued);
    assert_eq!(by("2").provider_state.as_str(), "pending");
    assert_eq!(by("12").state, DeployState::InProgress);
    assert_eq!(by("10").state, DeployState::Queued);
    assert_eq!(by("10").provider_state.as_str(), "none");
    // The live deploy per environment: the newest successful one.
    let live: Vec<&str> = d
        .iter()
        .filter(|x| x.current)
        .map(|x| x.id.as_str())
        .collect();
    assert_eq!(live.len(), 2, "{live:?}");
    assert!(live.contains(&"4") && live.contains(&"11"));
    // Mapped service, ref, sha, creator, url, environment.
    let x = by("4");
    assert_eq!(x.service.as_str(), "checkout");
    assert_eq!(x.environment.as_str(), "production");
    assert_eq!((x.git_ref.as_str(), x.sha.as_str()), ("v4", "dddd444"));
    assert_eq!(x.creator.as_ref().unwrap().as_str(), "dev4");
    assert_eq!(
        x.url.as_ref().unwrap().as_str(),
        "https://ci.example.com/run/1"
    );
    // The status's log_url is the deploy's log; no status, no log.
    assert_eq!(
        x.log_url.as_ref().map(|u| u.as_str()),
        Some("https://ci.example.com/run/1")
    );
    assert_eq!(by("10").log_url, None);
    // Newest first.
    assert_eq!(d[0].id.as_str(), "5");
    // Settled statuses are cached; a second poll re-reads only the newest
    // successful and the still-moving ones.
    let before = f.st.lock().unwrap().status_calls;
    assert_eq!(before, 7);
    gh.fetch().await.unwrap();
    // error (5) and inactive (3) are settled; 4 and 11 are the newest
    // successes, 2, 12 and 10 are still moving.
    let again = f.st.lock().unwrap().status_calls - before;
    assert_eq!(again, 5, "status calls on the second poll");
}

/// Deployments `1..=n` to production (the highest id the newest), each
/// with the latest status `state(id)`, and a provider listing production.
async fn production_list(n: u64, state: fn(u64) -> &'static str) -> (MockServer, GhFake, Github) {
    let shas: Vec<(u64, String)> = (1..=n).map(|i| (i, format!("{i:07x}"))).collect();
    let s: Vec<Seed> = shas
        .iter()
        .map(|(i, sha)| {
            (
                *i,
                sha.as_str(),
                "main",
                "production",
                (4 * n - *i) as i64,
                Some(state(*i)),
            )
        })
        .collect();
    let (server, f) = fake(&s).await;
    let (c, pc) = config(&server.uri(), "");
    let pc = ProviderConfig {
        environments: Some(vec!["production".into()]),
        ..pc
    };
    let gh = Github::with_options(&pc, &token_ctx(&c, &FixedSecret(TOKEN)), opts(&pc)).unwrap();
    (server, f, gh)
}

#[tokio::test]
async fn link_pagination_over_three_pages_with_absolute_urls() {
    let (server, f, gh) = production_list(250, |_| "success").await;
    f.st.lock().unwrap().oldest_first = true;
    let got = gh.fetch().await.unwrap();
    assert_eq!(got.deploys.len(), 250);
    assert_eq!(f.st.lock().unwrap().list_calls, 3);
    let reqs = server.received_requests().await.unwrap();
    let pages: Vec<String> = reqs
        .iter()
        .filter(|r| r.url.path().ends_with("/deployments"))
        .map(|r| r.url.query().unwrap_or_default().to_string())
        .collect();
    assert!(pages.iter().any(|q| q.contains("page=3")), "{pages:?}");
    // Every request carried the token and the API version.
    assert!(
        reqs.iter()
            .all(|r| r.headers.get("x-github-api-version").is_some())
    );
    let current: Vec<_> = got.deploys.iter().filter(|d| d.current).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].id.as_str(), "250");
    // Served oldest first: the statuses are read once the list is whole
    // (no read-ahead from the first page, it holds the oldest), and only
    // the newest `refresh_window`: they hold the live deploy (250) and a
    // rollback candidate (249). The rest are not read.
    assert_eq!(f.st.lock().unwrap().status_calls, 5);
    assert_eq!(
        got.deploys
            .iter()
            .filter(|d| d.state == DeployState::Unknown)
            .count(),
        245
    );
    // The next poll asks again for the 5 successes (they can still turn
    // inactive), conditionally: nothing changed, so all are 304s.
    gh.fetch().await.unwrap();
    let st = f.st.lock().unwrap();
    assert_eq!(st.status_calls, 5 + 5);
    assert_eq!(
        st.not_modified,
        3 + 5,
        "3 list pages and 5 statuses unchanged"
    );
}

#[tokio::test]
async fn newest_first_pages_read_statuses_once_each() {
    // Served newest first (as GitHub does): the first page's statuses are
    // read while the other pages load, and none is read twice. The newest
    // ten failed, so the live deploy and a rollback candidate are further
    // down: the reads reach on past the window until both are known
    // (5 in the window, then the next 5, then 10: each round reaches twice
    // as far), never all 250.
    let (_server, f, gh) = production_list(250, |i| {
        if i > 240 || i % 7 == 0 {
            "failure"
        } else {
            "success"
        }
    })
    .await;
    let got = gh.fetch().await.unwrap();
    assert_eq!(got.deploys.len(), 250);
    assert_eq!(f.st.lock().unwrap().status_calls, 20);
    let current: Vec<_> = got.deploys.iter().filter(|d| d.current).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].id.as_str(), "240");
    let state = |id: &str| {
        got.deploys
            .iter()
            .find(|d| d.id.as_str() == id)
            .map(|d| d.state)
    };
    assert_eq!(state("245"), Some(DeployState::Failure));
    assert_eq!(state("239"), Some(DeployState::Success));
    assert_eq!(state("230"), Some(DeployState::Unknown));
    // The next poll: the failures are settled; what can change is in the
    // window (all failures now) and the live deploy is known, so nothing
    // is read again.
    gh.fetch().await.unwrap();
    assert_eq!(f.st.lock().unwrap().status_calls, 20);
}

/// A rollback still finds the right earlier successful deploy when it is
/// far older than the newest deploys: the reads reach as far as needed.
#[tokio::test]
async fn rollback_target_found_past_the_statuses_shown() {
    // 200 deploys; 200 is live; 199..=150 failed; 149 is the newest
    // earlier success of another sha.
    let (_server, f, gh) = production_list(200, |i| match i {
        150..=199 => "failure",
        _ => "success",
    })
    .await;
    let plan = gh
        .plan(&rollback("production", None), &PlanCtx::default())
        .await
        .unwrap();
    assert_eq!(plan.detail["to_id"], "149", "{}", plan.detail);
    assert_eq!(plan.detail["from_id"], "200");
    // Not every status: the window's 5, then 5, 10, 20 and 40 further
    // (the last round holds 149); nothing after.
    assert_eq!(f.st.lock().unwrap().status_calls, 80);
    // `--to` an old deploy whose status was never shown is read, and
    // refused when it failed.
    let e = gh
        .plan(&rollback("production", Some("3")), &PlanCtx::default())
        .await;
    assert!(e.is_ok(), "deploy 3 succeeded: {e:?}");
    let (_server, _f, gh) =
        production_list(60, |i| if i == 3 { "failure" } else { "success" }).await;
    let e = gh
        .plan(&rollback("production", Some("3")), &PlanCtx::default())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("failure"), "{e}");
}

#[tokio::test]
async fn thousand_deployments_over_ten_pages_decode() {
    let seeds: Vec<(u64, String)> = (1..=1000).map(|i| (i, format!("{i:040x}"))).collect();
    let s: Vec<Seed> = seeds
        .iter()
        .map(|(i, sha)| {
            let st = if i % 7 == 0 { "failure" } else { "success" };
            (
                *i,
                sha.as_str(),
                "main",
                "production",
                5000 - *i as i64,
                Some(st),
            )
        })
        .collect();
    let (server, f) = fake(&s).await;
    let (c, pc) = config(&server.uri(), "");
    let pc = ProviderConfig {
        environments: Some(vec!["production".into()]),
        ..pc
    };
    let gh = Github::with_options(&pc, &token_ctx(&c, &FixedSecret(TOKEN)), opts(&pc)).unwrap();
    let got = gh.fetch().await.unwrap();
    assert_eq!(got.deploys.len(), 1000);
    assert_eq!(f.st.lock().unwrap().list_calls, 10);
    let ids: std::collections::HashSet<&str> = got.deploys.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids.len(), 1000);
    assert_eq!(got.deploys[0].id.as_str(), "1000");
    assert_eq!(got.deploys[999].id.as_str(), "1");
    // 1000 is live, 999 the rollback candidate: the newest 5 statuses are
    // read, beside the pages; no other.
    assert_eq!(f.st.lock().unwrap().status_calls, 5);
    let read: Vec<&str> = got
        .deploys
        .iter()
        .filter(|d| d.state != DeployState::Unknown)
        .map(|d| d.id.as_str())
        .collect();
    assert_eq!(read, ["1000", "999", "998", "997", "996"]);
    assert_eq!(
        got.deploys
            .iter()
            .find(|d| d.id.as_str() == "994")
            .map(|d| d.provider_state.as_str()),
        Some("unknown")
    );
    assert_eq!(got.deploys[0].sha.as_str().len(), 40);
    // 1000 is a multiple of... no: 1000 % 7 = 6, so 1000 succeeded and is live.
    assert!(got.deploys[0].current);
    assert_eq!(got.deploys.iter().filter(|d| d.current).count(), 1);
}

/// How a new process is offered the cache of the last fetch.
#[derive(Clone, Copy)]
enum Seeding {
    /// Before its first fetch (the console).
    Before,
    /// Once its first list request is out (the CLI reads the cache beside it).
    Late,
}

#[tokio::test]
async fn a_new_process_seeded_from_the_cache_reads_only_the_statuses_that_can_change() {
    seeded_refresh(Seeding::Before).await;
}

/// The CLI reads the cache while the first page is on its way; the
/// provider waits for it before it picks the statuses to read, so it reads
/// no more than when the cache came first.
#[tokio::test]
async fn a_seed_still_being_read_is_waited_for_before_statuses_are_picked() {
    seeded_refresh(Seeding::Late).await;
}

async fn seeded_refresh(seeding: Seeding) {
    let seeds: Vec<(u64, String)> = (1..=300).map(|i| (i, format!("{i:040x}"))).collect();
    let s: Vec<Seed> = seeds
        .iter()
        .map(|(i, sha)| {
            let st = match i % 10 {
                0 => Some("failure"),
                1 => Some("in_progress"),
                2 => None,
                _ => Some("success"),
            };
            (*i, sha.as_str(), "main", "production", 5000 - *i as i64, st)
        })
        .collect();
    let (server, f) = fake(&s).await;
    let (c, pc) = config(&server.uri(), "");
    let pc = ProviderConfig {
        environments: Some(vec!["production".into()]),
        ..pc
    };
    let window = opts(&pc).refresh_window;
    let first = Github::with_options(&pc, &token_ctx(&c, &FixedSecret(TOKEN)), opts(&pc)).unwrap();
    let cached = first.fetch().await.unwrap();
    // The window (300 failed, 299..296 succeeded) holds the live deploy
    // and a candidate.
    assert_eq!(f.st.lock().unwrap().status_calls, window);
    // A new process: same provider config, the cached data offered first.
    let again = Github::with_options(&pc, &token_ctx(&c, &FixedSecret(TOKEN)), opts(&pc)).unwrap();
    let (before, lists) = {
        let st = f.st.lock().unwrap();
        (st.status_calls, st.list_calls)
    };
    let got = match seeding {
        Seeding::Before => {
            again.seed(&cached);
            again.fetch().await.unwrap()
        }
        Seeding::Late => {
            let (tx, rx) = tokio::sync::oneshot::channel();
            again.seed_later(rx);
            let (st, seed) = (f.st.clone(), cached.clone());
            let send = async move {
                // The first page has been asked for; no status yet.
                while st.lock().unwrap().list_calls == lists {
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                }
                assert_eq!(st.lock().unwrap().status_calls, before);
                tx.send(seed).unwrap();
            };
            let (got, ()) = tokio::join!(again.fetch(), send);
            got.unwrap()
        }
    };
    let calls = f.st.lock().unwrap().status_calls - before;
    // The successes of the window only: not the settled failure (300),
    // and nothing older (never read, and not needed).
    let newest_successes = (1..=300u64)
        .rev()
        .take(window)
        .filter(|i| i % 10 >= 3)
        .count();
    assert_eq!(calls, newest_successes);
    assert_eq!(got, cached);
}

/// A refresh with nothing changed asks conditionally (`If-None-Match`) for
/// every page and status it asks for; GitHub answers 304 to each, which
/// costs none of its rate limit, and the deploys are the same.
#[tokio::test]
async fn an_unchanged_refresh_is_conditional_and_all_304() {
    let (_server, f, gh) = production_list(250, |_| "success").await;
    let first = gh.fetch().await.unwrap();
    let (sent, n304) = {
        let st = f.st.lock().unwrap();
        (st.list_calls + st.status_calls, st.not_modified)
    };
    assert_eq!((sent, n304), (3 + 5, 0));
    let again = gh.fetch().await.unwrap();
    let (sent_again, conditional, not_modified) = {
        let st = f.st.lock().unwrap();
        (
            st.list_calls + st.status_calls - sent,
            st.conditional,
            st.not_modified,
        )
    };
    assert_eq!(sent_again, 3 + 5);
    assert_eq!(conditional, sent_again, "every GET carried If-None-Match");
    assert_eq!(not_modified, sent_again, "every answer a 304");
    assert_eq!(again, first);
    // Something changed: a new status on the live deploy. Only that
    // answer is a 200; the refresh shows it.
    {
        let mut st = f.st.lock().unwrap();
        st.statuses
            .get_mut(&250)
            .unwrap()
            .insert(0, status("inactive", "2026-11-22T04:00:00Z"));
    }
    let changed = gh.fetch().await.unwrap();
    let st = f.st.lock().unwrap();
    assert_eq!(st.not_modified, 2 * sent_again - 1);
    let d250 = changed
        .deploys
        .iter()
        .find(|d| d.id.as_str() == "250")
        .unwrap();
    assert_eq!(d250.state, DeployState::Inactive);
}

#[tokio::test]
async fn hostile_text_is_inert_after_decode() {
    let (server, f) = fake(&[(1, "abc1234", "main", "production", 5, Some("success"))]).await;
    {
        let mut st = f.st.lock().unwrap();
        let d = &mut st.deployments[0];
        d["description"] = json!(
            "fix\u{1b}]0;pwned\u{7} \u{1b}[2J\u{1b}[31mred \u{9b}31m c1 \u{202e}evil\u{2066} \u{200b}z"
        );
        d["ref"] = json!("main\u{1b}[H\u{85}");
        d["creator"]["login"] = json!("mallory\u{1b}P+q\u{1b}\\\u{202d}");
        d["sha"] = json!("abc\u{7}1234");
    }
    let gh = provider(&server, "");
    let got = gh.fetch().await.unwrap();
    let d = &got.deploys[0];
    let json = serde_json::to_string(&got.deploys).unwrap();
    for s in [
        d.description.as_ref().unwrap().as_str(),
        d.git_ref.as_str(),
        d.creator.as_ref().unwrap().as_str(),
        d.sha.as_str(),
        json.as_str(),
    ] {
        assert!(
            !s.chars().any(|c| c == '\u{1b}'
                || c == '\u{7}'
                || ('\u{80}'..='\u{9f}').contains(&c)
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200b}')),
            "live control in {s:?}"
        );
    }
    assert!(d.description.as_ref().unwrap().as_str().contains("fix"));
    assert!(d.git_ref.as_str().starts_with("main"));
}

// ---------------------------------------------------------------------------
// Errors

#[tokio::test]
async fn wrong_token_is_unauthorized_and_never_echoed() {
    let (server, _f) = fake(&[(1, "a", "main", "production", 5, Some("success"))]).await;
    let (c, pc) = config(&server.uri(), "");
    let pc = ProviderConfig {
        environments: Some(vec!["production".into()]),
        ..pc
    };
    let gh = Github::with_options(
        &pc,
        &token_ctx(&c, &FixedSecret("ghp_wrong_token_value")),
        opts(&pc),
    )
    .unwrap();
    let e = gh.fetch().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized { status: 401 });
    let s = e.to_string();
    assert!(s.contains("Bad credentials"), "{s}");
    assert!(!s.contains("ghp_wrong_token_value"), "{s}");
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "401 is not retried"
    );
}

#[tokio::test]
async fn unknown_repository_is_not_found() {
    let (server, f) = fake(&[]).await;
    f.st.lock().unwrap().scripted.push((
        404,
        vec![],
        json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
            .to_string(),
    ));
    let e = provider(&server, "").fetch().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(e.to_string().contains("acme/checkout-api"), "{e}");
}

#[tokio::test]
async fn a_moved_repository_is_named_not_followed() {
    let (server, f) = fake(&[]).await;
    f.st.lock().unwrap().scripted.push((
        301,
        vec![(
            "location".into(),
            "https://api.github.com/repositories/42/deployments".into(),
        )],
        json!({"message": "Moved Permanently", "url": "https://api.github.com/repositories/42/deployments", "documentation_url": "https://docs.github.com/rest"}).to_string(),
    ));
    let e = provider1(&server).fetch().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Http { status: 301 });
    assert!(e.to_string().contains("repositories/42"), "{e}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn primary_rate_limit_fails_fast_until_reset() {
    let (server, f) = fake(&[]).await;
    let reset = chrono::Utc::now().timestamp() + 3600;
    f.st.lock().unwrap().scripted.push((
        403,
        vec![
            ("x-ratelimit-limit".into(), "5000".into()),
            ("x-ratelimit-remaining".into(), "0".into()),
            ("x-ratelimit-used".into(), "5000".into()),
            ("x-ratelimit-reset".into(), reset.to_string()),
            ("x-ratelimit-resource".into(), "core".into()),
        ],
        json!({"message": "API rate limit exceeded for user ID 1.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}).to_string(),
    ));
    let gh = provider1(&server);
    let e = gh.fetch().await.unwrap_err();
    let ErrorKind::RateLimited { retry_after } = e.kind else {
        panic!("{e}")
    };
    assert!(retry_after.unwrap() > Duration::from_secs(2), "{e}");
    assert!(e.to_string().contains("primary rate limit"), "{e}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    // Until the reset, no request leaves.
    let e2 = gh.fetch().await.unwrap_err();
    assert!(matches!(e2.kind, ErrorKind::RateLimited { .. }), "{e2}");
    assert!(e2.to_string().contains("no request sent"), "{e2}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn secondary_rate_limit_honours_retry_after_then_succeeds() {
    let (server, f) = fake(&[(1, "a", "main", "production", 5, Some("success"))]).await;
    f.st.lock().unwrap().scripted.push((
        403,
        vec![
            ("retry-after".into(), "1".into()),
            ("x-ratelimit-remaining".into(), "4000".into()),
        ],
        json!({"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", "documentation_url": "https://docs.github.com/rest"}).to_string(),
    ));
    // The retry wait is recorded, not slept (as for the other providers).
    let (c, pc) = config(&server.uri(), "");
    let (http, waits) = crate::common::recorded_http();
    let gh = Github::with_options(
        &pc,
        &token_ctx(&c, &FixedSecret(TOKEN)),
        GithubOptions { http, ..opts(&pc) },
    )
    .unwrap();
    let got = gh.fetch().await.unwrap();
    assert_eq!(waits.get(), [Duration::from_secs(1)]);
    assert_eq!(
        got.deploys
            .iter()
            .filter(|d| d.environment.as_str() == "production")
            .count(),
        1
    );
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let (server, f) = fake(&[]).await;
    for _ in 0..3 {
        f.st.lock().unwrap().scripted.push((
            502,
            vec![],
            json!({"message": "Server Error"}).to_string(),
        ));
    }
    let e = provider1(&server).fetch().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Server { status: 502 });
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn malformed_and_wrong_shape_bodies_are_named() {
    // Invalid JSON: not retried.
    let (server, f) = fake(&[]).await;
    f.st.lock()
        .unwrap()
        .scripted
        .push((200, vec![], "[{\"id\": 1,, }]".into()));
    let e = provider1(&server).fetch().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Malformed, "{e}");
    assert!(e.to_string().contains("invalid JSON"), "{e}");
    // Cut off: retried, then reported.
    let (server, f) = fake(&[]).await;
    for _ in 0..3 {
        f.st.lock()
            .unwrap()
            .scripted
            .push((200, vec![], "[{\"id\": 1, \"sha\": ".into()));
    }
    let e = provider1(&server).fetch().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Malformed, "{e}");
    assert!(e.to_string().contains("truncated JSON"), "{e}");
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    // Valid JSON of the wrong shape.
    let (server, f) = fake(&[]).await;
    f.st.lock()
        .unwrap()
        .scripted
        .push((200, vec![], json!([{"id": "x"}]).to_string()));
    let e = provider1(&server).fetch().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Shape, "{e}");
    let (server, f) = fake(&[]).await;
    f.st.lock()
        .unwrap()
        .scripted
        .push((200, vec![], json!({"deployments": []}).to_string()));
    let e = provider1(&server).fetch().await.unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Shape), "{e}");
}

#[tokio::test]
async fn refused_connection_is_an_error_not_a_panic() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let (c, pc) = config(&format!("http://127.0.0.1:{port}"), "");
    let gh = Github::with_options(&pc, &token_ctx(&c, &FixedSecret(TOKEN)), opts(&pc)).unwrap();
    let e = gh.fetch().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Connect, "{e}");
}

// ---------------------------------------------------------------------------
// Rollback

fn posts(f: &GhFake) -> usize {
    f.st.lock().unwrap().posts.len()
}

#[tokio::test]
async fn rollback_after_failed_newest_goes_before_live() {
    let (server, f) = fake(&[
        (5, "eeee555", "v5", "production", 1, Some("failure")),
        (4, "dddd444", "v4", "production", 10, Some("success")),
        (3, "dddd444", "v4", "production", 20, Some("success")),
        (2, "bbbb222", "v2", "production", 30, Some("inactive")),
        (1, "aaaa111", "v1", "production", 40, Some("success")),
    ])
    .await;
    let gh = provider(&server, "");
    let plan = gh
        .plan(&rollback("production", None), &PlanCtx::default())
        .await
        .unwrap();
    // Live is 4 (the failed 5 never went live); 3 has the live sha.
    assert_eq!(plan.detail["from_id"], "4");
    assert_eq!(plan.detail["to_id"], "2");
    let body = plan.requests[0].body.as_ref().unwrap();
    assert_eq!(body["ref"], "bbbb222");
    assert_eq!(body["auto_merge"], false);
    assert_eq!(body["environment"], "production");
    assert!(body.get("required_contexts").is_none());
    assert_eq!(body["payload"]["sitrep"]["action"], "rollback");
    assert_eq!(posts(&f), 0, "planning sends nothing");
}

#[tokio::test]
async fn rollback_from_a_bad_live_deploy() {
    let (server, f) = fake(&[
        (3, "cccc333", "v3", "production", 5, Some("success")),
        (2, "bbbb222", "v2", "production", 30, Some("success")),
        (1, "aaaa111", "v1", "production", 60, Some("success")),
    ])
    .await;
    let gh = provider(&server, "");
    let plan = gh
        .plan(&rollback("production", None), &PlanCtx::default())
        .await
        .unwrap();
    assert_eq!(plan.requests[0].body.as_ref().unwrap()["ref"], "bbbb222");
    assert_eq!(
        plan.summary,
        "roll back checkout/production to v2 (bbbb222)"
    );
    let from = &plan.stakes.iter().find(|(k, _)| k == "from").unwrap().1;
    let to = &plan.stakes.iter().find(|(k, _)| k == "to").unwrap().1;
    assert!(
        from.starts_with("v3 cccc333") && from.contains("by dev3"),
        "{from}"
    );
    assert!(
        to.starts_with("v2 bbbb222") && to.contains("ago by dev2"),
        "{to}"
    );
    // The exact request, token redacted.
    let r = &plan.requests[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.url, format!("{}{REPO}/deployments", server.uri()));
    assert!(
        r.headers
            .contains(&("Authorization".into(), "Bearer <redacted>".into()))
    );
    let all = serde_json::to_string(&plan).unwrap();
    assert!(!all.contains(TOKEN));
    assert_eq!(posts(&f), 0);
    // --to an older good deploy.
    let plan = gh
        .plan(&rollback("production", Some("1")), &PlanCtx::default())
        .await
        .unwrap();
    assert_eq!(plan.requests[0].body.as_ref().unwrap()["ref"], "aaaa111");
}

#[tokio::test]
async fn rollback_with_only_one_good_deploy_is_refused() {
    let (server, f) = fake(&[
        (2, "bbbb222", "v2", "production", 5, Some("error")),
        (1, "aaaa111", "v1", "production", 60, Some("success")),
    ])
    .await;
    let gh = provider(&server, "");
    let e = gh
        .plan(&rollback("production", None), &PlanCtx::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict { status: 409 });
    let s = e.to_string();
    assert!(
        s.contains("no earlier good deploy of checkout in production"),
        "{s}"
    );
    assert!(s.contains("v1 aaaa111"), "{s}");
    assert_eq!(posts(&f), 0);
}

#[tokio::test]
async fn rollback_to_an_unknown_id_is_a_clear_error() {
    let (server, f) = fake(&[
        (2, "bbbb222", "v2", "production", 5, Some("success")),
        (1, "aaaa111", "v1", "production", 60, Some("success")),
    ])
    .await;
    let gh = provider(&server, "");
    let e = gh
        .plan(&rollback("production", Some("999")), &PlanCtx::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(
        e.to_string()
            .contains("no deploy 999 of checkout in production"),
        "{e}"
    );
    // Unknown service.
    let op = WriteOp::Rollback {
        provider: None,
        service: "nope".into(),
        environment: "production".into(),
        to: None,
    };
    assert!(!gh.supports(&op), "not this provider's service");
    assert!(gh.supports(&rollback("production", None)));
    let e = gh.plan(&op, &PlanCtx::default()).await.unwrap_err();
    assert!(e.to_string().contains("service nope"), "{e}");
    assert_eq!(posts(&f), 0);
}

#[tokio::test]
async fn retried_rollback_with_the_same_key_deploys_once() {
    let (server, f) = fake(&[
        (2, "bbbb222", "v2", "production", 5, Some("success")),
        (1, "aaaa111", "v1", "production", 60, Some("success")),
    ])
    .await;
    let gh = provider(&server, "");
    // The reason travels in the planned deployment payload.
    let plan = gh
        .plan(
            &rollback("production", None),
            &PlanCtx::new("dana@example.com", "checkout 5xx after v2"),
        )
        .await
        .unwrap();
    assert_eq!(posts(&f), 0);
    let r1 = gh.execute(&plan, "key-123").await.unwrap();
    assert_eq!(posts(&f), 1);
    assert_eq!(r1.detail["existing"], false);
    let sent = f.st.lock().unwrap().posts[0].clone();
    assert_eq!(sent["ref"], "aaaa111");
    assert_eq!(sent["payload"]["sitrep"]["idempotency_key"], "key-123");
    assert_eq!(sent["payload"]["sitrep"]["reason"], "checkout 5xx after v2");
    // The responder is named, not the token's owner (sitrep-bot).
    assert_eq!(sent["payload"]["sitrep"]["actor"], "dana@example.com");
    assert_eq!(
        sent["description"],
        "Rollback to v1 (aaaa111) by dana@example.com via sitrep"
    );
    let listed = gh.fetch().await.unwrap();
    let made = listed
        .deploys
        .iter()
        .find(|d| {
            Some(d.id.as_str())
                == r1.detail["deployment_id"]
                    .as_u64()
                    .map(|n| n.to_string())
                    .as_deref()
        })
        .expect("the rollback's deployment is listed");
    assert_eq!(made.creator.as_ref().unwrap().as_str(), "dana@example.com");
    // Same process, same key: nothing sent.
    gh.execute(&plan, "key-123").await.unwrap();
    assert_eq!(posts(&f), 1);
    // Another process (no memory), same key: found through the payload.
    let gh2 = provider(&server, "");
    let r2 = gh2.execute(&plan, "key-123").await.unwrap();
    assert_eq!(posts(&f), 1, "a retried rollback must not deploy twice");
    assert_eq!(r2.detail["existing"], true);
    assert_eq!(r2.detail["deployment_id"], r1.detail["deployment_id"]);
    assert!(r2.message.contains("already created"), "{}", r2.message);
    // A different key is a new action.
    gh2.execute(&plan, "key-456").await.unwrap();
    assert_eq!(posts(&f), 2);
}

#[tokio::test]
async fn rollback_refusals_409_and_422_are_named() {
    let (server, f) = fake(&[
        (2, "bbbb222", "v2", "production", 5, Some("success")),
        (1, "aaaa111", "v1", "production", 60, Some("success")),
    ])
    .await;
    let gh = provider(&server, "");
    let plan = gh
        .plan(&rollback("production", None), &PlanCtx::default())
        .await
        .unwrap();
    f.st.lock().unwrap().post_answer = Some((
        409,
        json!({"message": "Conflict: Commit status checks failed for aaaa111.", "documentation_url": "https://docs.github.com/rest/deployments/deployments#create-a-deployment"}),
    ));
    let e = gh.execute(&plan, "k1").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict { status: 409 });
    assert!(e.to_string().contains("status checks failed"), "{e}");
    f.st.lock().unwrap().post_answer = Some((
        422,
        json!({"message": "Validation Failed", "errors": [{"resource": "Deployment", "field": "ref", "code": "invalid"}], "documentation_url": "https://docs.github.com/rest"}),
    ));
    let e = gh.execute(&plan, "k2").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict { status: 422 });
    let s = e.to_string();
    assert!(
        s.contains("Validation Failed") && s.contains("Deployment ref invalid"),
        "{s}"
    );
    // Each write went out exactly once (never retried).
    assert_eq!(posts(&f), 2);
}

#[tokio::test]
async fn skip_status_checks_is_opt_in() {
    let (server, _f) = fake(&[
        (2, "bbbb222", "v2", "production", 5, Some("success")),
        (1, "aaaa111", "v1", "production", 60, Some("success")),
    ])
    .await;
    let (c, pc) = config(&server.uri(), "skip_status_checks = true");
    let gh = Github::with_options(&pc, &token_ctx(&c, &FixedSecret(TOKEN)), opts(&pc)).unwrap();
    let plan = gh
        .plan(&rollback("production", None), &PlanCtx::default())
        .await
        .unwrap();
    assert_eq!(
        plan.requests[0].body.as_ref().unwrap()["required_contexts"],
        json!([])
    );
}

#[tokio::test]
async fn workflow_strategy_dispatches_with_environment_and_sha() {
    let (server, f) = fake(&[
        (2, "bbbb222", "v2", "staging", 5, Some("success")),
        (1, "aaaa111", "v1", "staging", 60, Some("success")),
    ])
    .await;
    let gh = provider(
        &server,
        r#"rollback = { workflow = "rollback.yml", ref = "main" }"#,
    );
    let plan = gh
        .plan(&rollback("staging", None), &PlanCtx::default())
        .await
        .unwrap();
    let r = &plan.requests[0];
    assert_eq!(
        r.url,
        format!(
            "{}{REPO}/actions/workflows/rollback.yml/dispatches",
            server.uri()
        )
    );
    assert_eq!(
        r.body.as_ref().unwrap(),
        &json!({"ref": "main", "inputs": {"environment": "staging", "sha": "aaaa111"}})
    );
    assert!(f.st.lock().unwrap().dispatches.is_empty());
    let res = gh.execute(&plan, "k").await.unwrap();
    assert_eq!(res.detail["status"], 204);
    let d = f.st.lock().unwrap().dispatches.clone();
    assert_eq!(
        d,
        vec![json!({"ref": "main", "inputs": {"environment": "staging", "sha": "aaaa111"}})]
    );
    // Same key again in this process: not dispatched twice.
    gh.execute(&plan, "k").await.unwrap();
    assert_eq!(f.st.lock().unwrap().dispatches.len(), 1);
}

#[tokio::test]
async fn a_tampered_plan_is_refused_before_sending() {
    let (server, f) = fake(&[
        (2, "bbbb222", "v2", "production", 5, Some("success")),
        (1, "aaaa111", "v1", "production", 60, Some("success")),
    ])
    .await;
    let gh = provider(&server, "");
    let mut plan = gh
        .plan(&rollback("production", None), &PlanCtx::default())
        .await
        .unwrap();
    plan.requests[0].url = "https://evil.example.com/repos/x/y/deployments".into();
    let e = gh.execute(&plan, "k").await.unwrap_err();
    assert!(e.to_string().contains("nothing sent"), "{e}");
    // A payload that cannot carry the key.
    let mut plan = gh
        .plan(&rollback("production", None), &PlanCtx::default())
        .await
        .unwrap();
    plan.requests[0].body.as_mut().unwrap()["payload"] = json!({});
    let e = gh.execute(&plan, "k").await.unwrap_err();
    assert!(e.to_string().contains("idempotency key"), "{e}");
    assert_eq!(posts(&f), 0);
}

#[tokio::test]
async fn build_one_names_a_missing_token() {
    struct NoSecrets;
    impl sitrep::secrets::SecretSource for NoSecrets {
        fn get(&self, _r: &sitrep::config::SecretRef) -> Result<Secret, String> {
            Err("environment variable GH_TEST_TOKEN_UNUSED is not set".into())
        }
    }
    let (c, pc) = config("http://127.0.0.1:9", "");
    let p = sitrep::providers::build_one(
        &pc,
        &sitrep::providers::BuildCtx {
            config: &c,
            secrets: &NoSecrets,
        },
    );
    let e = p.fetch().await.unwrap_err();
    assert!(e.to_string().contains("GH_TEST_TOKEN_UNUSED"), "{e}");
}

fn run(id: u64, status: &str, conclusion: Option<&str>, at: &str) -> Value {
    json!({
        "id": id, "name": "Deploy", "display_title": format!("Deploy run {id}"),
        "node_id": format!("WFR_{id}"), "head_branch": "main", "head_sha": format!("{id:040x}"),
        "run_number": id, "run_attempt": 1, "event": "push", "status": status,
        "conclusion": conclusion, "workflow_id": 7,
        "html_url": format!("https://github.com/acme/checkout-api/actions/runs/{id}"),
        "url": format!("https://api.github.com{REPO}/actions/runs/{id}"),
        "actor": {"login": "octocat", "id": 1},
        "created_at": at, "updated_at": at,
    })
}

#[tokio::test]
async fn deploy_workflow_runs_are_listed_for_information() {
    let (server, f) = fake(&[(1, "aaaa111", "v1", "production", 60, Some("success"))]).await;
    f.st.lock().unwrap().runs = vec![
        run(55, "queued", None, "2026-11-22T02:59:00Z"),
        run(54, "in_progress", None, "2026-11-22T02:58:00Z"),
        run(53, "completed", Some("failure"), "2026-11-22T02:50:00Z"),
        run(52, "completed", Some("cancelled"), "2026-11-22T02:40:00Z"),
        run(51, "completed", Some("success"), "2026-11-22T02:30:00Z"),
    ];
    let gh = provider(&server, r#"workflow = "deploy.yml""#);
    let got = gh.fetch().await.unwrap();
    let runs: Vec<_> = got
        .deploys
        .iter()
        .filter(|d| d.environment.as_str() == "actions:deploy.yml")
        .collect();
    assert_eq!(runs.len(), 5);
    let st: Vec<(&str, DeployState, &str)> = runs
        .iter()
        .map(|d| (d.id.as_str(), d.state, d.provider_state.as_str()))
        .collect();
    assert_eq!(
        st,
        vec![
            ("55", DeployState::Queued, "queued"),
            ("54", DeployState::InProgress, "in_progress"),
            ("53", DeployState::Failure, "failure"),
            ("52", DeployState::Canceled, "cancelled"),
            ("51", DeployState::Success, "success"),
        ]
    );
    assert!(runs.iter().all(|d| !d.current));
    assert_eq!(runs[4].service.as_str(), "checkout");
    assert_eq!(runs[4].creator.as_ref().unwrap().as_str(), "octocat");
    assert_eq!(
        runs[4].url.as_ref().unwrap().as_str(),
        "https://github.com/acme/checkout-api/actions/runs/51"
    );
    assert_eq!(
        runs[4].description.as_ref().unwrap().as_str(),
        "Deploy run 51"
    );
    // The production deployment is still the live one.
    assert!(
        got.deploys
            .iter()
            .any(|d| d.current && d.id.as_str() == "1")
    );
    let e = gh
        .plan(&rollback("actions:deploy.yml", None), &PlanCtx::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unsupported);
    assert_eq!(posts(&f), 0);
}

#[tokio::test]
async fn ghes_base_url_with_a_path_keeps_it_across_pages() {
    let seeds: Vec<(u64, String)> = (1..=150).map(|i| (i, format!("{i:07x}"))).collect();
    let s: Vec<Seed> = seeds
        .iter()
        .map(|(i, sha)| {
            (
                *i,
                sha.as_str(),
                "main",
                "production",
                1000 - *i as i64,
                Some("success"),
            )
        })
        .collect();
    let (server, f) = fake(&s).await;
    f.st.lock().unwrap().prefix = "/api/v3".into();
    f.st.lock().unwrap().statuses.remove(&150);
    let (c, pc) = config(&format!("{}/api/v3", server.uri()), "");
    let pc = ProviderConfig {
        environments: Some(vec!["production".into()]),
        ..pc
    };
    let gh = Github::with_options(&pc, &token_ctx(&c, &FixedSecret(TOKEN)), opts(&pc)).unwrap();
    let got = gh.fetch().await.unwrap();
    assert_eq!(got.deploys.len(), 150);
    let reqs = server.received_requests().await.unwrap();
    assert!(
        reqs.iter()
            .all(|r| r.url.path().starts_with("/api/v3/repos/"))
    );
    assert_eq!(f.st.lock().unwrap().list_calls, 2);
    // Without a status URL, the link goes to the web UI (no API root).
    let d = got.deploys.iter().find(|d| d.id.as_str() == "150").unwrap();
    assert_eq!(
        d.url.as_ref().unwrap().as_str(),
        format!("{}/acme/checkout-api/deployments/production", server.uri())
    );
    assert!(!d.current, "no status yet: not live");
    assert!(
        got.deploys
            .iter()
            .find(|d| d.id.as_str() == "149")
            .unwrap()
            .current
    );
    let plan = gh
        .plan(&rollback("production", None), &PlanCtx::default())
        .await
        .unwrap();
    assert_eq!(
        plan.requests[0].url,
        format!("{}/api/v3{REPO}/deployments", server.uri())
    );
}

#[tokio::test]
async fn sitrep_deploys_json_end_to_end() {
    let (server, _f) = fake(&[
        (3, "cccc333", "v3", "production", 5, Some("failure")),
        (2, "bbbb222", "v2", "production", 30, Some("success")),
        (1, "aaaa111", "v1", "staging", 60, Some("success")),
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
[[provider]]
name = "gh"
kind = "github"
base_url = "{}"
repos = ["acme/checkout-api"]
environments = ["production", "staging"]
token = {{ env = "SITREP_TEST_GH_TOKEN" }}

[[service]]
name = "checkout"
deploys = {{ provider = "gh", repo = "acme/checkout-api" }}
"#,
            server.uri()
        ),
    )
    .unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_sitrep"))
        .arg("--config")
        .arg(&cfg)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["deploys", "--json"])
        .env("SITREP_TEST_GH_TOKEN", TOKEN)
        .env_remove("SITREP_CONFIG")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains(TOKEN));
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["providers"][0]["ok"], true, "{v}");
    let d = v["deploys"].as_array().unwrap();
    assert_eq!(d.len(), 3);
    let keys: Vec<&str> = d[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for k in [
        "provider",
        "service",
        "environment",
        "id",
        "ref",
        "sha",
        "state",
        "provider_state",
        "created_at",
        "creator",
        "url",
        "current",
    ] {
        assert!(keys.contains(&k), "missing {k} in {keys:?}");
    }
    assert_eq!(d[0]["id"], "3");
    assert_eq!(d[0]["state"], "failure");
    assert_eq!(d[1]["current"], true);
    assert_eq!(d[1]["service"], "checkout");
}

#[tokio::test]
async fn a_rollback_cut_off_mid_way_is_unknown_and_its_retry_does_not_deploy_twice() {
    let (server, f) = fake(&[
        (2, "bbbb222", "v2", "production", 5, Some("success")),
        (1, "aaaa111", "v1", "production", 60, Some("success")),
    ])
    .await;
    let (c, pc) = config(&server.uri(), "");
    let mut o = opts(&pc);
    o.http.write_timeout = Duration::from_millis(300);
    let gh = Github::with_options(&pc, &token_ctx(&c, &FixedSecret(TOKEN)), o).unwrap();
    let plan = gh
        .plan(&rollback("production", None), &PlanCtx::default())
        .await
        .unwrap();
    f.st.lock().unwrap().post_delay = Some(Duration::from_secs(3));
    let e = gh.execute(&plan, "key-cut").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unknown, "{e}");
    assert!(
        e.to_string().contains("may or may not have been applied"),
        "{e}"
    );
    assert_eq!(posts(&f), 1);
    // The deployment was created; the retry finds it by its key.
    f.st.lock().unwrap().post_delay = None;
    let r = gh.execute(&plan, "key-cut").await.unwrap();
    assert_eq!(r.detail["existing"], true);
    assert_eq!(posts(&f), 1);
}

#[tokio::test]
async fn a_failing_github_opens_the_circuit_and_retries_stay_in_budget() {
    let (server, f) = fake(&[]).await;
    for _ in 0..50 {
        f.st.lock().unwrap().scripted.push((
            503,
            vec![],
            json!({"message": "Service Unavailable"}).to_string(),
        ));
    }
    let gh = provider1(&server);
    let mut kinds = Vec::new();
    for _ in 0..5 {
        kinds.push(gh.fetch().await.unwrap_err().kind);
    }
    assert_eq!(kinds[0], ErrorKind::Server { status: 503 });
    assert_eq!(*kinds.last().unwrap(), ErrorKind::CircuitOpen, "{kinds:?}");
    let sent = server.received_requests().await.unwrap().len();
    // 5 consecutive failures open the circuit; retries never exceed the budget.
    assert!(sent <= 6, "{sent} requests");
    let e = gh.fetch().await.unwrap_err();
    assert!(e.to_string().contains("no request sent"), "{e}");
    assert_eq!(server.received_requests().await.unwrap().len(), sent);
}

/// Bodies a broken or hostile server might send for the deployments list.
fn junk_body() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..400)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        (any::<i64>(), ".{0,40}", ".{0,30}", any::<bool>()).prop_map(|(id, sha, at, nul)| {
            json!([{
                "id": id, "sha": sha, "ref": if nul { Value::Null } else { json!(sha) },
                "environment": "production", "created_at": at,
                "creator": if nul { json!(7) } else { json!({"login": sha}) },
                "payload": if nul { json!("{not json") } else { json!({"sitrep": {"idempotency_key": 5}}) },
            }])
            .to_string()
        }),
        (1u64..u64::MAX, 0usize..60).prop_map(|(id, cut)| {
            let s = deployment(id, "abc", "main", "production", "2026-11-22T03:00:00Z", "x", "d", json!({})).to_string();
            let s = format!("[{s}]");
            s.chars().take(cut).collect()
        }),
    ]
}

#[test]
fn arbitrary_list_bodies_never_panic() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (server, f) = rt.block_on(fake(&[]));
    let gh = rt.block_on(async { provider1(&server) });
    let mut cfg = proptest::test_runner::Config::with_cases(64);
    cfg.failure_persistence = None;
    let mut runner = proptest::test_runner::TestRunner::new(cfg);
    runner
        .run(&junk_body(), |body| {
            f.st.lock().unwrap().scripted = vec![(200, vec![], body.clone()); 3];
            match rt.block_on(gh.fetch()) {
                Ok(got) => {
                    for d in &got.deploys {
                        proptest::prop_assert!(
                            !d.sha.as_str().contains(char::from(0x1b)),
                            "ESC in sha"
                        );
                    }
                }
                Err(e) => proptest::prop_assert!(
                    matches!(e.kind, ErrorKind::Malformed | ErrorKind::Shape),
                    "{e}"
                ),
            }
            f.st.lock().unwrap().scripted.clear();
            Ok(())
        })
        .unwrap();
}

#[tokio::test]
async fn a_second_rollback_waits_for_the_first_and_never_brings_back_the_bad_sha() {
    let (server, f) = fake(&[
        (3, "cccc333", "v3", "production", 5, Some("success")),
        (2, "bbbb222", "v2", "production", 30, Some("success")),
        (1, "aaaa111", "v1", "production", 60, Some("success")),
    ])
    .await;
    let gh = provider(&server, "");
    let plan = gh
        .plan(&rollback("production", None), &PlanCtx::default())
        .await
        .unwrap();
    assert_eq!(plan.detail["to_sha"], "bbbb222");
    let r = gh.execute(&plan, "k1").await.unwrap();
    let new_id = r.detail["deployment_id"].as_u64().unwrap();
    // The rollback deployment has no final status yet: a second automatic
    // rollback is refused, nothing sent.
    let e = gh
        .plan(&rollback("production", None), &PlanCtx::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict { status: 409 });
    assert!(
        e.to_string().contains("is still waiting for a status"),
        "{e}"
    );
    // The deploy system reports success: the rollback is live.
    f.st.lock()
        .unwrap()
        .statuses
        .insert(new_id, vec![status("success", "2026-11-22T03:31:00Z")]);
    let got = gh.fetch().await.unwrap();
    let live = got
        .deploys
        .iter()
        .find(|d| d.current && d.environment.as_str() == "production")
        .unwrap();
    assert_eq!(live.sha.as_str(), "bbbb222");
    // Rolling back again goes further back, never to the bad cccc333.
    let plan = gh
        .plan(&rollback("production", None), &PlanCtx::default())
        .await
        .unwrap();
    assert_eq!(plan.detail["to_sha"], "aaaa111");
    assert_eq!(posts(&f), 1);
}

/// `sitrep deploys` run again and again: a new process whose fetch would
/// write the same cache file but for its time, within one poll interval
/// of the file's time, leaves the file as it is; changed data, or a file
/// older than the interval, is written.
#[tokio::test]
async fn an_unchanged_fetch_soon_after_leaves_the_cache_file_as_it_is() {
    use sitrep::cache::Cache;
    use sitrep::store::Store;
    let (server, f) = fake(&[
        (2, "bbbb222", "v2", "production", 5, Some("success")),
        (1, "aaaa111", "v1", "production", 60, Some("success")),
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path());
    let file = dir.path().join("cache/gh.json");
    // Each fetch as a new process would: a new provider, the cache read.
    let registry = || registry_of(&server);
    let first = Store::fetch_all(&registry(), Some(&cache)).await;
    assert!(first.slots[0].error.is_none());
    let written = std::fs::read(&file).unwrap();
    let cached_at = |bytes: &[u8]| {
        serde_json::from_slice::<serde_json::Value>(bytes).unwrap()["fetched_at"]
            .as_str()
            .unwrap()
            .to_string()
    };

    let again = Store::fetch_all(&registry(), Some(&cache)).await;
    assert_eq!(again.slots[0].data, first.slots[0].data);
    assert_eq!(std::fs::read(&file).unwrap(), written, "nothing changed");

    // The newest deploy failed: the data changed, the file is written.
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    f.st.lock()
        .unwrap()
        .statuses
        .insert(2, vec![status("failure", &at)]);
    let changed = Store::fetch_all(&registry(), Some(&cache)).await;
    assert_ne!(changed.slots[0].data, first.slots[0].data);
    let now_on_disk = std::fs::read(&file).unwrap();
    assert_ne!(now_on_disk, written);
    assert!(
        String::from_utf8_lossy(&now_on_disk).contains("\"provider_state\":\"failure\""),
        "the new state is in the file"
    );

    // Unchanged, but the file's time is older than one poll interval:
    // written again, with the new time.
    let old = chrono::Utc::now() - chrono::Duration::hours(1);
    cache
        .store("gh", "github", old, &changed.slots[0].data)
        .unwrap();
    let stale = std::fs::read(&file).unwrap();
    let later = Store::fetch_all(&registry(), Some(&cache)).await;
    assert_eq!(later.slots[0].data, changed.slots[0].data);
    let rewritten = std::fs::read(&file).unwrap();
    assert_ne!(cached_at(&rewritten), cached_at(&stale));
    assert!(cached_at(&rewritten) > cached_at(&stale));
}

#[tokio::test]
async fn the_audited_executor_rolls_back_once_with_its_key_in_the_payload() {
    use sitrep::actions::{ActionRequest, Executor, Mode};
    use sitrep::audit::{AuditLog, Outcome, Phase};
    let (server, f) = fake(&[
        (2, "bbbb222", "v2", "production", 5, Some("success")),
        (1, "aaaa111", "v1", "production", 60, Some("success")),
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let registry = registry_of(&server);
    let ex = Executor::new(
        registry,
        Arc::new(AuditLog::new(&path, sitrep::audit::Signer::ephemeral())),
    )
    .with_actor("alice", "box");
    // No provider named: resolved through the service.
    let req = ActionRequest::new(
        WriteOp::Rollback {
            provider: None,
            service: "checkout".into(),
            environment: "production".into(),
            to: None,
        },
        "5xx after v2",
    );
    let plan = ex.plan(&req).await.unwrap();
    assert_eq!(plan.provider, "gh");
    ex.execute(&req, &plan, Mode::DryRun).await.unwrap();
    assert_eq!(posts(&f), 0, "a dry run sends nothing");
    let done = ex.execute(&req, &plan, Mode::Live).await.unwrap();
    assert_eq!(posts(&f), 1);
    let key = done.idempotency_key.clone().unwrap();
    let sent = f.st.lock().unwrap().posts[0].clone();
    assert_eq!(sent["payload"]["sitrep"]["idempotency_key"], key.as_str());
    let (records, _) = sitrep::audit::read(&path).unwrap();
    let live: Vec<_> = records
        .iter()
        .filter(|r| r.outcome != Outcome::DryRun)
        .collect();
    assert_eq!(live.len(), 2);
    assert_eq!(
        (live[0].phase, live[0].outcome),
        (Phase::Intent, Outcome::Pending)
    );
    assert_eq!(
        (live[1].phase, live[1].outcome),
        (Phase::Result, Outcome::Ok)
    );
    assert!(
        live.iter()
            .all(|r| r.idempotency_key.as_deref() == Some(key.as_str()))
    );
    assert_eq!(live[1].target, "checkout/production");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(TOKEN));
}

/// The production guard for a GitHub rollback comes from the plan (the
/// environment it redeploys), for the CLI's `--yes` path: refused without
/// `--i-know-this-is-production`, sent with it.
#[tokio::test]
async fn production_guard_follows_the_rollback_plan() {
    let (server, f) = fake(&[
        (2, "bbbb222", "v2", "production", 10, Some("success")),
        (1, "aaaa111", "v1", "production", 20, Some("success")),
    ])
    .await;
    let gh = provider(&server, "");
    let plan = gh
        .plan(&rollback("production", None), &PlanCtx::default())
        .await
        .unwrap();
    assert_eq!(plan.target_environment(), Some("production"));
    let g = crate::common::production_guard(Arc::new(gh), rollback("production", None)).await;
    assert_eq!(g.yes_only, 2, "redeployed to production without the flag");
    assert_eq!(g.acknowledged, 0);
    assert_eq!(posts(&f), 1, "exactly the acknowledged rollback");
    assert_eq!(g.records[0].outcome.as_str(), "refused");
}

/// A deploy's commit range: `GET /repos/{o}/{r}/compare/{base}...{head}`
/// with the token, GitHub's fields mapped (first line of the message,
/// the login else the git author's name, a short sha), a rollback's range
/// `behind`, and an unknown sha GitHub's 404 in words.
#[tokio::test]
async fn a_deploys_commit_range_comes_from_compare() {
    let (server, _f) = fake(&[
        (4, "dddd444", "v4", "production", 10, Some("success")),
        (3, "cccc333", "v3", "production", 20, Some("inactive")),
        (2, "bbbb222", "v2", "production", 30, Some("inactive")),
    ])
    .await;
    let gh = provider(&server, "");
    assert!(gh.has_commits());
    let r = gh
        .deploy_commits("checkout", "bbbb222", "dddd444")
        .await
        .unwrap();
    assert_eq!(r.status.as_str(), "ahead");
    assert_eq!((r.ahead_by, r.behind_by, r.total), (2, 0, 2));
    let c: Vec<(&str, Option<&str>, &str)> = r
        .commits
        .iter()
        .map(|(s, a, m)| (s.as_str(), a.as_ref().map(|a| a.as_str()), m.as_str()))
        .collect();
    assert_eq!(
        c,
        vec![
            ("cccc333", Some("dev3"), "v3"),
            ("dddd444", Some("Dev Eloper"), "v4"),
        ]
    );
    assert_eq!(
        r.url.as_ref().map(|u| u.as_str()),
        Some("https://github.com/acme/checkout-api/compare/bbbb222...dddd444")
    );
    let got = server.received_requests().await.unwrap();
    let q = got
        .iter()
        .find(|r| r.url.path().contains("/compare/"))
        .unwrap();
    assert_eq!(
        q.url.path(),
        "/repos/acme/checkout-api/compare/bbbb222...dddd444"
    );
    assert_eq!(q.url.query(), Some("per_page=100"));
    // A rollback goes back: behind.
    let back = gh
        .deploy_commits("checkout", "dddd444", "bbbb222")
        .await
        .unwrap();
    assert_eq!((back.status.as_str(), back.behind_by), ("behind", 2));
    assert!(back.commits.is_empty());
    // An unknown sha: GitHub's 404, named; a service it does not deploy too.
    let e = gh
        .deploy_commits("checkout", "ffff999", "dddd444")
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(e.to_string().contains("No common ancestor"), "{e}");
    let e = gh
        .deploy_commits("billing", "bbbb222", "dddd444")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("billing"), "{e}");
}
