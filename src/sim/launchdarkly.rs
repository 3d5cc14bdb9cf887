//! LaunchDarkly REST API v2 (`providers.md` §6): `GET
//! /api/v2/flags/{project}` (`{"items", "_links", "totalCount"}`, `limit`
//! default 20 and `offset`, `_links.next` while there is more; the
//! `environments` map only for the environments `env` / `filterEnv` ask
//! for), `GET /api/v2/flags/{project}/{key}` and `PATCH` of one flag with a
//! semantic patch (`Content-Type: application/json;
//! domain-model=launchdarkly.semanticpatch`, `turnFlagOn` / `turnFlagOff`
//! with `environmentKey`) or a JSON patch (`replace
//! /environments/{env}/on`). Auth is the raw token in `Authorization`
//! (401 `unauthorized` otherwise); errors are `{"code", "message", "id"}`;
//! answers carry `X-Ratelimit-Global-Remaining`, `X-Ratelimit-Route-Remaining`
//! and `X-Ratelimit-Reset` (epoch milliseconds).

use super::{Handler, Request, Response};
use crate::model::Time;
use serde_json::{Value, json};
use std::sync::Mutex;

const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 100;

/// One flag as the simulator is seeded with it (boolean, one environment).
#[derive(Clone, Debug)]
pub struct Flag {
    pub key: String,
    pub name: String,
    pub on: bool,
    /// Tagged `kill-switch` and permanent; else temporary.
    pub kill_switch: bool,
    pub updated_at: Time,
}

struct Stored {
    f: Flag,
    version: i64,
    env_version: i64,
}

/// Called when a flag changes: `(key, on, at)`.
pub type OnChange = Box<dyn Fn(&str, bool, Time) + Send + Sync>;

/// One project with one environment.
pub struct LaunchDarkly {
    token: String,
    project: String,
    environment: String,
    state: Mutex<Vec<Stored>>,
    on_change: Option<OnChange>,
}

fn error(status: u16, code: &str, message: &str) -> Response {
    Response::json(
        status,
        &json!({"code": code, "message": message, "id": uuid::Uuid::new_v4().to_string()}),
    )
}

impl LaunchDarkly {
    pub fn new(token: &str, project: &str, environment: &str) -> LaunchDarkly {
        LaunchDarkly {
            token: token.to_string(),
            project: project.to_string(),
            environment: environment.to_string(),
            state: Mutex::new(Vec::new()),
            on_change: None,
        }
    }

    /// Hear about every change of a flag.
    pub fn on_change(mut self, f: OnChange) -> LaunchDarkly {
        self.on_change = Some(f);
        self
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Vec<Stored>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn add(&self, f: &Flag) {
        self.state().push(Stored {
            f: f.clone(),
            version: 3,
            env_version: 7,
        });
    }

    /// Whether flag `key` is on now.
    pub fn is_on(&self, key: &str) -> Option<bool> {
        self.state().iter().find(|s| s.f.key == key).map(|s| s.f.on)
    }

    fn view(&self, s: &Stored, envs: &[&str]) -> Value {
        let f = &s.f;
        let mut environments = serde_json::Map::new();
        if envs.contains(&self.environment.as_str()) {
            environments.insert(
                self.environment.clone(),
                json!({
                    "on": f.on,
                    "archived": false,
                    "salt": format!("{:x}", s.version * 7919),
                    "sel": format!("{:x}", s.env_version * 104729),
                    "lastModified": f.updated_at.timestamp_millis(),
                    "version": s.env_version,
                    "_environmentName": "Production",
                    "_site": {"href": format!("/{}/{}/features/{}", self.project, self.environment, f.key), "type": "text/html"},
                    "trackEvents": false,
                    "trackEventsFallthrough": false,
                    "offVariation": 1,
                }),
            );
        }
        json!({
            "key": f.key,
            "name": f.name,
            "kind": "boolean",
            "_version": s.version,
            "creationDate": (f.updated_at - chrono::Duration::days(90)).timestamp_millis(),
            "archived": false,
            "temporary": !f.kill_switch,
            "tags": if f.kill_switch { vec!["kill-switch"] } else { Vec::new() },
            "variations": [{"_id": "v0", "value": true}, {"_id": "v1", "value": false}],
            "customProperties": {},
            "experiments": {"baselineIdx": 0, "items": []},
            "_links": {"self": {"href": format!("/api/v2/flags/{}/{}", self.project, f.key), "type": "application/json"}},
            "environments": environments,
        })
    }

    /// The environments a read asks for (`env=` and `filterEnv:`).
    fn envs(req: &Request) -> Vec<&str> {
        let mut out: Vec<&str> = req.query_all("env");
        for f in req.query_all("filter") {
            for part in f.split(',') {
                if let Some(e) = part.strip_prefix("filterEnv:") {
                    out.push(e);
                }
            }
        }
        out
    }

    fn list(&self, req: &Request) -> Response {
        let limit = match req.query("limit").map(str::parse::<usize>) {
            None => DEFAULT_LIMIT,
            Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => n,
            Some(_) => return error(400, "invalid_request", "limit must be between 1 and 100"),
        };
        let offset = match req.query("offset").map(str::parse::<usize>) {
            None => 0,
            Some(Ok(n)) => n,
            Some(Err(_)) => return error(400, "invalid_request", "offset must be a number"),
        };
        let envs = Self::envs(req);
        let st = self.state();
        let total = st.len();
        let items: Vec<Value> = st
            .iter()
            .skip(offset)
            .take(limit)
            .map(|s| self.view(s, &envs))
            .collect();
        let path = format!("/api/v2/flags/{}", self.project);
        let mut links = json!({"self": {"href": format!("{path}?limit={limit}&offset={offset}"), "type": "application/json"}});
        if offset + limit < total {
            links["next"] = json!({"href": format!("{path}?limit={limit}&offset={}", offset + limit), "type": "application/json"});
        }
        Response::json(
            200,
            &json!({"items": items, "_links": links, "totalCount": total}),
        )
    }

    /// The `on` a patch asks for in this environment, or the error.
    fn patch_target(&self, req: &Request) -> Result<bool, Response> {
        let body = req.json();
        let semantic = req
            .header("content-type")
            .is_some_and(|c| c.contains("domain-model=launchdarkly.semanticpatch"));
        if semantic {
            let Some(env) = body["environmentKey"].as_str() else {
                return Err(error(
                    400,
                    "invalid_request",
                    "environmentKey is required for turnFlagOn and turnFlagOff",
                ));
            };
            if env != self.environment {
                return Err(error(
                    400,
                    "invalid_request",
                    &format!("unknown environment key {env:?}"),
                ));
            }
            let kinds: Vec<&str> = body["instructions"]
                .as_array()
                .map(|a| a.iter().filter_map(|i| i["kind"].as_str()).collect())
                .unwrap_or_default();
            return match kinds.as_slice() {
                ["turnFlagOn"] => Ok(true),
                ["turnFlagOff"] => Ok(false),
                [] => Err(error(400, "invalid_request", "instructions are required")),
                _ => Err(error(
                    400,
                    "invalid_request",
                    "unsupported instruction kind",
                )),
            };
        }
        // A JSON patch: `{"patch": [...]}` or the bare array.
        let ops = body
            .get("patch")
            .and_then(Value::as_array)
            .or_else(|| body.as_array())
            .cloned()
            .unwrap_or_default();
        let want = format!("/environments/{}/on", self.environment);
        match ops.as_slice() {
            [op] if op["op"] == "replace" && op["path"] == want.as_str() => op["value"]
                .as_bool()
                .ok_or_else(|| error(400, "invalid_request", "value must be a boolean")),
            _ => Err(error(
                400,
                "invalid_request",
                "invalid patch: expected a JSON patch (or a semantic patch with the domain-model content type)",
            )),
        }
    }

    fn patch(&self, req: &Request, key: &str) -> Response {
        if !self.state().iter().any(|s| s.f.key == key) {
            return error(404, "not_found", "Unknown resource");
        }
        let on = match self.patch_target(req) {
            Ok(on) => on,
            Err(r) => return r,
        };
        let now = chrono::Utc::now();
        let mut st = self.state();
        let Some(s) = st.iter_mut().find(|s| s.f.key == key) else {
            return error(404, "not_found", "Unknown resource");
        };
        let changed = s.f.on != on;
        if changed {
            s.f.on = on;
            s.f.updated_at = now;
            s.version += 1;
            s.env_version += 1;
        }
        let view = self.view(s, &[self.environment.as_str()]);
        drop(st);
        if changed && let Some(f) = &self.on_change {
            f(key, on, now);
        }
        Response::json(200, &view)
    }

    fn route(&self, req: &Request) -> Response {
        if req.header("authorization") != Some(self.token.as_str()) {
            return error(401, "unauthorized", "Invalid access token");
        }
        let seg = req.segments();
        let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
        match (req.method.as_str(), seg.as_slice()) {
            ("GET", ["api", "v2", "flags", p]) if *p == self.project => self.list(req),
            ("GET", ["api", "v2", "flags", p, key]) if *p == self.project => {
                let envs = match Self::envs(req) {
                    e if e.is_empty() => vec![self.environment.as_str()],
                    e => e,
                };
                match self.state().iter().find(|s| s.f.key == *key) {
                    Some(s) => Response::json(200, &self.view(s, &envs)),
                    None => error(404, "not_found", "Unknown resource"),
                }
            }
            ("PATCH", ["api", "v2", "flags", p, key]) if *p == self.project => self.patch(req, key),
            (_, ["api", "v2", "flags", ..]) if req.method != "GET" && req.method != "PATCH" => {
                error(405, "method_not_allowed", "Method not allowed")
            }
            _ => error(404, "not_found", "Unknown resource"),
        }
    }
}

impl Handler for LaunchDarkly {
    fn handle(&self, req: &Request) -> Response {
        let reset = chrono::Utc::now().timestamp_millis() + 10_000;
        self.route(req)
            .with_header("X-Ratelimit-Global-Remaining", "99")
            .with_header("X-Ratelimit-Route-Remaining", "49")
            .with_header("X-Ratelimit-Reset", reset.to_string())
    }
}
