//! Vercel REST API (`providers.md` §5): `GET /v9/projects/{idOrName}`
//! (the project id and `lastAliasRequest`), `GET /v6/deployments`
//! (`projectId`, `target`, `limit`, newest first, paged with `until =
//! pagination.next`, times in epoch milliseconds), instant rollback `POST
//! /v9/projects/{id}/rollback/{deployment}` (also `/v1/...`; 201, no body)
//! and promote `POST /v10/projects/{id}/promote/{deployment}` (also
//! `/v9/...`; 202, no body). Auth is `Authorization: Bearer <token>` (403
//! `forbidden` otherwise); errors are `{"error": {"code", "message"}}`;
//! answers carry `X-RateLimit-Limit`, `-Remaining` and `-Reset` (epoch
//! seconds).
//!
//! An alias change is `in-progress` for [`Vercel::new`]'s `alias_time` and
//! then `succeeded`; a second one meanwhile is refused (409). When it
//! succeeds, production serves the target and `on_live` hears its sha.

use super::github::OnLive;
use super::{Handler, Request, Response};
use crate::model::Time;
use serde_json::{Value, json};
use std::sync::Mutex;

const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 100;
const RATE_LIMIT: u32 = 500;

/// One deployment as the simulator is seeded with it.
#[derive(Clone, Debug)]
pub struct Deployment {
    /// `dpl_…`.
    pub uid: String,
    /// `production` or `preview`.
    pub target: String,
    /// `READY`, `ERROR`, `BUILDING`, `QUEUED`, `CANCELED`.
    pub state: String,
    pub created_at: Time,
    pub creator: String,
    pub git_ref: String,
    pub sha: String,
    pub message: String,
}

struct Alias {
    from: Option<String>,
    to: String,
    kind: &'static str,
    requested_at: Time,
    done_at: Time,
}

struct State {
    deployments: Vec<Deployment>,
    alias: Option<Alias>,
}

/// One project.
pub struct Vercel {
    token: String,
    project_id: String,
    name: String,
    alias_time: chrono::Duration,
    state: Mutex<State>,
    on_live: Option<OnLive>,
}

fn error(status: u16, code: &str, message: &str) -> Response {
    Response::json(
        status,
        &json!({"error": {"code": code, "message": message}}),
    )
}

impl Vercel {
    /// Project `name` (id `prj_…`) that accepts `token`; an alias change
    /// takes `alias_time`.
    pub fn new(token: &str, name: &str, alias_time: std::time::Duration) -> Vercel {
        Vercel {
            token: token.to_string(),
            project_id: format!("prj_{}", name.replace('-', "")),
            name: name.to_string(),
            alias_time: chrono::Duration::from_std(alias_time)
                .unwrap_or(chrono::Duration::seconds(5)),
            state: Mutex::new(State {
                deployments: Vec::new(),
                alias: None,
            }),
            on_live: None,
        }
    }

    /// Hear about every deployment production moves to: `(project,
    /// "production", sha, at)`.
    pub fn on_live(mut self, f: OnLive) -> Vercel {
        self.on_live = Some(f);
        self
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn add(&self, d: &Deployment) {
        self.state().deployments.push(d.clone());
    }

    /// The uid production serves now: the target of the last alias change
    /// that succeeded, else the newest ready production deployment.
    pub fn live(&self) -> Option<String> {
        let now = chrono::Utc::now();
        let st = self.state();
        if let Some(a) = st.alias.as_ref().filter(|a| a.done_at <= now) {
            return Some(a.to.clone());
        }
        newest_ready(&st.deployments)
    }

    fn view(&self, d: &Deployment) -> Value {
        let ms = d.created_at.timestamp_millis();
        let host = format!(
            "{}-{}-acme.vercel.app",
            self.name,
            d.uid
                .trim_start_matches("dpl_")
                .to_ascii_lowercase()
                .get(..9)
                .unwrap_or("x")
        );
        json!({
            "uid": d.uid,
            "name": self.name,
            "projectId": self.project_id,
            "url": host,
            "created": ms,
            "createdAt": ms,
            "buildingAt": ms + 1000,
            "ready": if d.state == "READY" { json!(ms + 60_000) } else { Value::Null },
            "state": d.state,
            "readyState": d.state,
            "type": "LAMBDAS",
            "target": d.target,
            "source": "git",
            "creator": {"uid": format!("u_{}", d.creator.replace('.', "")), "username": d.creator},
            "meta": {"githubCommitSha": d.sha, "githubCommitRef": d.git_ref, "githubCommitMessage": d.message, "githubOrg": "acme", "githubRepo": self.name},
            "inspectorUrl": format!("https://vercel.com/acme/{}/{}", self.name, d.uid.trim_start_matches("dpl_")),
            "isRollbackCandidate": d.target == "production" && d.state == "READY",
        })
    }

    fn project(&self) -> Response {
        let now = chrono::Utc::now();
        let st = self.state();
        let alias = st.alias.as_ref().map(|a| {
            json!({
                "fromDeploymentId": a.from,
                "toDeploymentId": a.to,
                "jobStatus": if a.done_at <= now { "succeeded" } else { "in-progress" },
                "requestedAt": a.requested_at.timestamp_millis(),
                "type": a.kind,
            })
        });
        let mut v = json!({
            "id": self.project_id,
            "name": self.name,
            "framework": "nextjs",
            "createdAt": 1_700_000_000_000i64,
        });
        if let Some(a) = alias {
            v["lastAliasRequest"] = a;
        }
        Response::json(200, &v)
    }

    fn list(&self, req: &Request) -> Response {
        if req.query("projectId").is_some_and(|p| p != self.project_id) {
            return Response::json(
                200,
                &json!({"pagination": {"count": 0, "next": null, "prev": null}, "deployments": []}),
            );
        }
        let limit = match req.query("limit").map(str::parse::<usize>) {
            None => DEFAULT_LIMIT,
            Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => n,
            Some(_) => {
                return error(
                    400,
                    "bad_request",
                    "Invalid request: `limit` should be <= 100",
                );
            }
        };
        let until = match req.query("until").map(str::parse::<i64>) {
            None => None,
            Some(Ok(ms)) => Some(ms),
            Some(Err(_)) => {
                return error(
                    400,
                    "bad_request",
                    "Invalid request: `until` should be a number",
                );
            }
        };
        let now = chrono::Utc::now();
        let st = self.state();
        let promoted = st
            .alias
            .as_ref()
            .filter(|a| a.kind == "promote" && a.done_at <= now)
            .map(|a| a.to.clone());
        let mut list: Vec<Deployment> = st
            .deployments
            .iter()
            .map(|d| {
                let mut d = d.clone();
                if promoted.as_deref() == Some(d.uid.as_str()) {
                    d.target = "production".into();
                }
                d
            })
            .filter(|d| req.query("target").is_none_or(|t| d.target == t))
            .filter(|d| until.is_none_or(|u| d.created_at.timestamp_millis() < u))
            .collect();
        drop(st);
        crate::order::sort_by_key(&mut list, |d| std::cmp::Reverse(d.created_at));
        let more = list.len() > limit;
        let page: Vec<Deployment> = list.into_iter().take(limit).collect();
        let next = if more {
            page.last().map(|d| json!(d.created_at.timestamp_millis()))
        } else {
            None
        };
        let prev = page.first().map(|d| json!(d.created_at.timestamp_millis()));
        let items: Vec<Value> = page.iter().map(|d| self.view(d)).collect();
        Response::json(
            200,
            &json!({"pagination": {"count": items.len(), "next": next, "prev": prev}, "deployments": items}),
        )
    }

    fn alias(&self, project: &str, uid: &str, kind: &'static str) -> Response {
        if project != self.project_id && project != self.name {
            return error(404, "not_found", "Project not found");
        }
        let now = chrono::Utc::now();
        let mut st = self.state();
        if let Some(a) = st.alias.as_ref().filter(|a| a.done_at > now) {
            return error(
                409,
                "conflict",
                &format!("An alias change to {} is already in progress", a.to),
            );
        }
        let Some(d) = st.deployments.iter().find(|d| d.uid == uid).cloned() else {
            return error(404, "not_found", "Deployment not found");
        };
        if d.state != "READY" {
            return error(
                400,
                "bad_request",
                &format!("Deployment {uid} is not ready ({})", d.state),
            );
        }
        if kind == "rollback" && d.target != "production" {
            return error(
                400,
                "bad_request",
                "Only a deployment that served production can be rolled back to; promote it instead",
            );
        }
        let from = match st.alias.as_ref() {
            Some(a) => Some(a.to.clone()),
            None => newest_ready(&st.deployments),
        };
        let done_at = now + self.alias_time;
        st.alias = Some(Alias {
            from,
            to: uid.to_string(),
            kind,
            requested_at: now,
            done_at,
        });
        drop(st);
        if let Some(f) = &self.on_live {
            f(&self.name, "production", &d.sha, done_at);
        }
        Response::empty(if kind == "rollback" { 201 } else { 202 })
    }

    fn route(&self, req: &Request) -> Response {
        if req.header("authorization") != Some(format!("Bearer {}", self.token).as_str()) {
            return Response::json(
                403,
                &json!({"error": {"code": "forbidden", "message": "Not authorized", "invalidToken": true}}),
            );
        }
        let seg = req.segments();
        let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
        match (req.method.as_str(), seg.as_slice()) {
            ("GET", ["v9", "projects", p]) if *p == self.project_id || *p == self.name => {
                self.project()
            }
            ("GET", ["v6" | "v7", "deployments"]) => self.list(req),
            ("POST", ["v1" | "v9", "projects", p, "rollback", uid]) => {
                self.alias(p, uid, "rollback")
            }
            ("POST", ["v9" | "v10", "projects", p, "promote", uid]) => {
                self.alias(p, uid, "promote")
            }
            _ => error(
                404,
                "not_found",
                "The requested resource could not be found",
            ),
        }
    }
}

/// The newest ready production deployment.
fn newest_ready(ds: &[Deployment]) -> Option<String> {
    ds.iter()
        .filter(|d| d.target == "production" && d.state == "READY")
        .max_by_key(|d| d.created_at)
        .map(|d| d.uid.clone())
}

impl Handler for Vercel {
    fn handle(&self, req: &Request) -> Response {
        let reset = chrono::Utc::now().timestamp() + 60;
        self.route(req)
            .with_header("X-RateLimit-Limit", RATE_LIMIT.to_string())
            .with_header("X-RateLimit-Remaining", (RATE_LIMIT - 1).to_string())
            .with_header("X-RateLimit-Reset", reset.to_string())
    }
}
