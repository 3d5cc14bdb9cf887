//! GitHub REST deployments (`providers.md` §4): `GET/POST
//! /repos/{o}/{r}/deployments` (bare arrays, newest first, `per_page` ≤ 100
//! and `page`, the `Link` header), `GET .../deployments/{id}/statuses`
//! (newest first, 404 for an unknown deployment). `Authorization: Bearer
//! <token>` (401 "Bad credentials" otherwise); errors are `{"message",
//! "documentation_url"}`; every answer carries the `x-ratelimit-*` headers.
//! A `200` to a GET carries a strong `ETag` over its body; a GET whose
//! `If-None-Match` names it is answered `304 Not Modified` with no body
//! (GitHub's conditional requests, which cost no rate limit).
//!
//! The repository's CD is simulated too: a deployment created through the
//! API is `in_progress` at once and `success` [`Github::deploy_time`]
//! later, when the deployment it replaces turns `inactive` and
//! [`Github::on_live`] hears which sha went live.

use super::{Handler, Request, Response};
use crate::model::Time;
use serde_json::{Value, json};
use std::sync::Mutex;

const DOCS: &str = "https://docs.github.com/rest/deployments/deployments";
const RATE_LIMIT: u32 = 5000;

/// A deployment as the simulator is seeded with it.
#[derive(Clone, Debug)]
pub struct Deployment {
    pub repo: String,
    pub environment: String,
    pub id: u64,
    pub git_ref: String,
    pub sha: String,
    /// The latest status: `success`, `failure`, `in_progress`, `inactive`…
    pub state: String,
    pub created_at: Time,
    pub creator: String,
    pub description: String,
}

struct Stored {
    d: Deployment,
    payload: Value,
    /// `(state, at)`, oldest first; a status dated in the future has not
    /// happened yet.
    statuses: Vec<(String, Time)>,
}

/// Called when a deployment goes live: `(repo, environment, sha, at)`.
pub type OnLive = Box<dyn Fn(&str, &str, &str, Time) + Send + Sync>;

/// The deployments of some repositories.
pub struct Github {
    token: String,
    deploy_time: chrono::Duration,
    state: Mutex<Vec<Stored>>,
    on_live: Option<OnLive>,
}

fn ts(t: &Time) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn error(status: u16, message: &str) -> Response {
    Response::json(
        status,
        &json!({"message": message, "documentation_url": DOCS}),
    )
}

impl Github {
    /// Repositories that accept `token`; a created deployment takes
    /// `deploy_time` to go live.
    pub fn new(token: &str, deploy_time: std::time::Duration) -> Github {
        Github {
            token: token.to_string(),
            deploy_time: chrono::Duration::from_std(deploy_time)
                .unwrap_or(chrono::Duration::seconds(5)),
            state: Mutex::new(Vec::new()),
            on_live: None,
        }
    }

    /// Hear about every deployment that goes live.
    pub fn on_live(mut self, f: OnLive) -> Github {
        self.on_live = Some(f);
        self
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Vec<Stored>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn add(&self, d: &Deployment) {
        let statuses = vec![(d.state.clone(), d.created_at)];
        self.state().push(Stored {
            d: d.clone(),
            payload: json!({}),
            statuses,
        });
    }

    /// The sha whose deployment of `repo`/`environment` is live now (the
    /// newest `success`).
    pub fn live_sha(&self, repo: &str, environment: &str) -> Option<String> {
        let now = chrono::Utc::now();
        let st = self.state();
        st.iter()
            .filter(|s| s.d.repo == repo && s.d.environment == environment)
            .filter(|s| latest(s, now).map(|(st, _)| st) == Some("success"))
            .max_by_key(|s| (s.d.created_at, s.d.id))
            .map(|s| s.d.sha.clone())
    }

    fn view(&self, s: &Stored, base: &str) -> Value {
        let d = &s.d;
        json!({
            "url": format!("{base}/repos/{}/deployments/{}", d.repo, d.id),
            "id": d.id,
            "node_id": format!("DE_sim{}", d.id),
            "sha": d.sha,
            "ref": d.git_ref,
            "task": "deploy",
            "payload": s.payload,
            "original_environment": d.environment,
            "environment": d.environment,
            "description": d.description,
            "creator": {"login": d.creator, "id": 1, "type": "User"},
            "created_at": ts(&d.created_at),
            "updated_at": ts(&d.created_at),
            "statuses_url": format!("{base}/repos/{}/deployments/{}/statuses", d.repo, d.id),
            "repository_url": format!("{base}/repos/{}", d.repo),
            "transient_environment": false,
            "production_environment": d.environment == "production",
        })
    }

    fn page(&self, req: &Request, base: &str, items: Vec<Value>) -> Response {
        let per_page = req
            .query("per_page")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(30)
            .clamp(1, 100);
        let page = req
            .query("page")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(1)
            .max(1);
        let total = items.len();
        let out: Vec<Value> = items
            .into_iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .collect();
        let mut r = Response::json(200, &Value::Array(out));
        if page * per_page < total {
            let mut q: Vec<(String, String)> = req
                .query
                .iter()
                .filter(|(k, _)| k != "page")
                .cloned()
                .collect();
            q.push(("page".into(), (page + 1).to_string()));
            let qs = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(q)
                .finish();
            r = r.with_header("Link", format!("<{base}{}?{qs}>; rel=\"next\"", req.path));
        }
        r
    }

    fn create(&self, req: &Request, repo: &str, base: &str) -> Response {
        let body = req.json();
        let Some(git_ref) = body["ref"].as_str() else {
            return error(422, "Invalid request. \"ref\" wasn't supplied.");
        };
        let environment = body["environment"].as_str().unwrap_or("production");
        let now = chrono::Utc::now();
        let mut st = self.state();
        // The ref is a sha or a ref this repository has deployed.
        let Some(known) = st
            .iter()
            .find(|s| s.d.repo == repo && (s.d.sha == git_ref || s.d.git_ref == git_ref))
            .map(|s| s.d.clone())
        else {
            return error(422, "No ref found for: the ref is not a branch, tag or sha");
        };
        let id = st.iter().map(|s| s.d.id).max().unwrap_or(0) + 1;
        let live_at = now + self.deploy_time;
        // The deployment it replaces turns inactive when it goes live.
        if let Some(prev) = st
            .iter_mut()
            .filter(|s| s.d.repo == repo && s.d.environment == environment)
            .filter(|s| latest(s, now).map(|(st, _)| st) == Some("success"))
            .max_by_key(|s| (s.d.created_at, s.d.id))
        {
            prev.statuses.push(("inactive".into(), live_at));
        }
        let d = Deployment {
            repo: repo.to_string(),
            environment: environment.to_string(),
            id,
            git_ref: known.git_ref.clone(),
            sha: known.sha.clone(),
            state: "in_progress".into(),
            created_at: now,
            creator: "sitrep-demo".into(),
            description: body["description"].as_str().unwrap_or("").to_string(),
        };
        let stored = Stored {
            payload: body.get("payload").cloned().unwrap_or(json!({})),
            statuses: vec![("in_progress".into(), now), ("success".into(), live_at)],
            d,
        };
        let view = self.view(&stored, base);
        st.push(stored);
        drop(st);
        if let Some(f) = &self.on_live {
            f(repo, environment, &known.sha, live_at);
        }
        Response::json(201, &view)
    }

    fn route(&self, req: &Request) -> Response {
        match req.header("authorization") {
            Some(a) if a == format!("Bearer {}", self.token) => {}
            _ => return error(401, "Bad credentials"),
        }
        let base = format!("http://{}", req.header("host").unwrap_or("127.0.0.1"));
        let seg = req.segments();
        let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
        let now = chrono::Utc::now();
        match (req.method.as_str(), seg.as_slice()) {
            ("GET", ["repos", o, r, "deployments"]) => {
                let repo = format!("{o}/{r}");
                let st = self.state();
                if !st.iter().any(|s| s.d.repo == repo) {
                    return error(404, "Not Found");
                }
                let mut list: Vec<&Stored> = st
                    .iter()
                    .filter(|s| s.d.repo == repo)
                    .filter(|s| {
                        req.query("environment")
                            .is_none_or(|e| s.d.environment == e)
                    })
                    .filter(|s| req.query("sha").is_none_or(|x| s.d.sha == x))
                    .collect();
                crate::order::sort_by_key(&mut list, |s| {
                    std::cmp::Reverse((s.d.created_at, s.d.id))
                });
                let items = list.iter().map(|s| self.view(s, &base)).collect();
                drop(st);
                self.page(req, &base, items)
            }
            ("POST", ["repos", o, r, "deployments"]) => {
                self.create(req, &format!("{o}/{r}"), &base)
            }
            ("GET", ["repos", o, r, "deployments", id, "statuses"]) => {
                let repo = format!("{o}/{r}");
                let st = self.state();
                let Some(s) = st
                    .iter()
                    .find(|s| s.d.repo == repo && id.parse() == Ok(s.d.id))
                else {
                    return error(404, "Not Found");
                };
                let items: Vec<Value> = s
                    .statuses
                    .iter()
                    .enumerate()
                    .filter(|(_, (_, at))| *at <= now)
                    .rev()
                    .map(|(n, (state, at))| {
                        json!({
                            "id": s.d.id * 100 + n as u64,
                            "node_id": format!("DES_sim{}_{n}", s.d.id),
                            "state": state,
                            "creator": {"login": "acme-cd", "id": 2, "type": "Bot"},
                            "description": "",
                            "environment": s.d.environment,
                            "target_url": "",
                            "log_url": format!("https://github.com/{}/actions/runs/{}", s.d.repo, s.d.id),
                            "environment_url": "",
                            "created_at": ts(at),
                            "updated_at": ts(at),
                            "deployment_url": format!("{base}/repos/{}/deployments/{}", s.d.repo, s.d.id),
                            "repository_url": format!("{base}/repos/{}", s.d.repo),
                        })
                    })
                    .collect();
                drop(st);
                self.page(req, &base, items)
            }
            ("GET", ["repos", o, r, "compare", basehead]) => {
                self.compare(&format!("{o}/{r}"), basehead, &base)
            }
            _ => error(404, "Not Found"),
        }
    }

    /// Compare two commits: the world's history of a repository is the
    /// shas it deployed, oldest first, one commit each (its description
    /// the message). `head` after `base` is `ahead`, before it `behind`.
    fn compare(&self, repo: &str, basehead: &str, base_url: &str) -> Response {
        let Some((from, to)) = basehead.split_once("...") else {
            return error(404, "Not Found");
        };
        let st = self.state();
        let mut shas: Vec<&Deployment> = Vec::new();
        let mut all: Vec<&Stored> = st.iter().filter(|s| s.d.repo == repo).collect();
        crate::order::sort_by_key(&mut all, |s| (s.d.created_at, s.d.id));
        for s in all {
            if !shas.iter().any(|d| d.sha == s.d.sha) {
                shas.push(&s.d);
            }
        }
        let at = |sha: &str| {
            shas.iter()
                .position(|d| d.sha == sha || d.sha.starts_with(sha))
        };
        let (Some(a), Some(b)) = (at(from), at(to)) else {
            return error(404, &format!("No common ancestor between {from} and {to}."));
        };
        let ahead: Vec<&&Deployment> = shas.iter().skip(a + 1).take(b.saturating_sub(a)).collect();
        let status = match b.cmp(&a) {
            std::cmp::Ordering::Greater => "ahead",
            std::cmp::Ordering::Less => "behind",
            std::cmp::Ordering::Equal => "identical",
        };
        let commits: Vec<Value> = ahead
            .iter()
            .map(|d| {
                json!({
                    "sha": d.sha,
                    "url": format!("{base_url}/repos/{repo}/commits/{}", d.sha),
                    "html_url": format!("https://github.com/{repo}/commit/{}", d.sha),
                    "commit": {"message": d.description,
                               "author": {"name": d.creator, "date": ts(&d.created_at)}},
                    "author": {"login": d.creator},
                })
            })
            .collect();
        Response::json(
            200,
            &json!({
                "url": format!("{base_url}/repos/{repo}/compare/{basehead}"),
                "html_url": format!("https://github.com/{repo}/compare/{basehead}"),
                "status": status,
                "ahead_by": ahead.len(),
                "behind_by": a.saturating_sub(b),
                "total_commits": ahead.len(),
                "commits": commits,
                "files": [],
            }),
        )
    }
}

/// The newest status of `s` that has happened by `now`.
fn latest(s: &Stored, now: Time) -> Option<(&str, Time)> {
    s.statuses
        .iter()
        .filter(|(_, at)| *at <= now)
        .max_by_key(|(_, at)| *at)
        .map(|(st, at)| (st.as_str(), *at))
}

/// A strong validator for a body (FNV-1a over its bytes).
fn etag(body: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in body {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("\"{h:016x}\"")
}

impl Handler for Github {
    fn handle(&self, req: &Request) -> Response {
        let reset = chrono::Utc::now().timestamp() + 3600;
        let mut r = self.route(req);
        if req.method == "GET" && r.status == 200 {
            let tag = etag(&r.body);
            if req.header("if-none-match") == Some(tag.as_str()) {
                r = Response::empty(304);
            }
            r = r.with_header("ETag", tag);
        }
        r.with_header("x-ratelimit-limit", RATE_LIMIT.to_string())
            .with_header("x-ratelimit-remaining", (RATE_LIMIT - 1).to_string())
            .with_header("x-ratelimit-used", "1")
            .with_header("x-ratelimit-reset", reset.to_string())
            .with_header("x-ratelimit-resource", "core")
    }
}
