//! Unleash Admin API (unleash-server v8, `providers.md` §7): `GET
//! /api/admin/projects/{project}/features` (`{"version", "features"}`, one
//! answer, no paging), `GET .../features/{name}` and `POST
//! .../features/{name}/environments/{env}/on|off` (200, empty body). Auth
//! is the raw token in `Authorization` (401 otherwise); errors are
//! `{"id", "name", "message", "details": [{"message"}]}`. The Admin API
//! sends no rate-limit headers.

use super::launchdarkly::OnChange;
use super::{Handler, Request, Response};
use crate::model::Time;
use serde_json::{Value, json};
use std::sync::Mutex;

/// One feature as the simulator is seeded with it.
#[derive(Clone, Debug)]
pub struct Feature {
    pub name: String,
    pub description: String,
    /// `kill-switch`, `release`, `experiment`, `operational`, `permission`.
    pub kind: String,
    pub enabled: bool,
    pub created_at: Time,
}

/// One project with its environments (each feature has them all).
pub struct Unleash {
    token: String,
    project: String,
    environments: Vec<String>,
    /// `(feature, enabled per environment)`.
    state: Mutex<Vec<(Feature, Vec<bool>)>>,
    on_change: Option<OnChange>,
}

fn error(status: u16, name: &str, message: &str) -> Response {
    Response::json(
        status,
        &json!({"id": uuid::Uuid::new_v4().to_string(), "name": name, "message": message, "details": [{"message": message}]}),
    )
}

fn ts(t: &Time) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Unleash {
    /// Every feature has every environment of `environments`; the first
    /// is the one whose changes [`Unleash::on_change`] hears.
    pub fn new(token: &str, project: &str, environments: &[&str]) -> Unleash {
        Unleash {
            token: token.to_string(),
            project: project.to_string(),
            environments: environments.iter().map(|e| e.to_string()).collect(),
            state: Mutex::new(Vec::new()),
            on_change: None,
        }
    }

    /// Hear about every change in the first environment.
    pub fn on_change(mut self, f: OnChange) -> Unleash {
        self.on_change = Some(f);
        self
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Vec<(Feature, Vec<bool>)>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Add a feature, `enabled` in every environment.
    pub fn add(&self, f: &Feature) {
        let on = vec![f.enabled; self.environments.len()];
        self.state().push((f.clone(), on));
    }

    /// Whether `feature` is enabled in `environment` now.
    pub fn is_enabled(&self, feature: &str, environment: &str) -> Option<bool> {
        let i = self.environments.iter().position(|e| e == environment)?;
        self.state()
            .iter()
            .find(|(f, _)| f.name == feature)
            .and_then(|(_, on)| on.get(i).copied())
    }

    fn envs(&self, on: &[bool], full: bool) -> Vec<Value> {
        self.environments
            .iter()
            .zip(on)
            .enumerate()
            .map(|(i, (e, enabled))| {
                let kind = if e == "production" {
                    "production"
                } else {
                    "development"
                };
                let mut v = json!({
                    "name": e, "type": kind, "enabled": enabled, "sortOrder": i + 1,
                    "variantCount": 0, "lastSeenAt": null,
                    "hasStrategies": true, "hasEnabledStrategies": true,
                });
                if full {
                    v["environment"] = json!(e);
                    v["strategies"] = json!([{"name": "flexibleRollout", "constraints": [], "parameters": {"rollout": "100", "stickiness": "default", "groupId": ""}}]);
                    v["variants"] = json!([]);
                }
                v
            })
            .collect()
    }

    fn route(&self, req: &Request) -> Response {
        if req.header("authorization") != Some(self.token.as_str()) {
            return error(
                401,
                "AuthenticationRequired",
                "You must log in to use Unleash. Your request had no authorization header, so we could not authorize you. Try logging in at /auth/simple/login.",
            );
        }
        let seg = req.segments();
        let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
        let project_ok = |p: &str| p == self.project;
        match (req.method.as_str(), seg.as_slice()) {
            ("GET", ["api", "admin", "projects", p, "features"]) if project_ok(p) => {
                let features: Vec<Value> = self
                    .state()
                    .iter()
                    .map(|(f, on)| {
                        json!({
                            "name": f.name, "type": f.kind, "description": f.description,
                            "stale": false, "favorite": false, "impressionData": false,
                            "createdAt": ts(&f.created_at), "environments": self.envs(on, false),
                            "tags": [],
                        })
                    })
                    .collect();
                Response::json(200, &json!({"version": 2, "features": features}))
            }
            ("GET", ["api", "admin", "projects", p, "features", name]) if project_ok(p) => {
                match self.state().iter().find(|(f, _)| f.name == *name) {
                    Some((f, on)) => Response::json(
                        200,
                        &json!({
                            "name": f.name, "type": f.kind, "project": self.project,
                            "description": f.description, "enabled": on.first().copied().unwrap_or(false),
                            "stale": false, "archived": false, "impressionData": false,
                            "createdAt": ts(&f.created_at), "environments": self.envs(on, true),
                            "variants": [],
                        }),
                    ),
                    None => error(
                        404,
                        "NotFoundError",
                        &format!("Could not find feature flag with name {name}"),
                    ),
                }
            }
            (
                "POST",
                [
                    "api",
                    "admin",
                    "projects",
                    p,
                    "features",
                    name,
                    "environments",
                    env,
                    action @ ("on" | "off"),
                ],
            ) if project_ok(p) => {
                let Some(i) = self.environments.iter().position(|e| e == env) else {
                    return error(
                        404,
                        "NotFoundError",
                        &format!("Could not find environment {env}"),
                    );
                };
                let enabled = *action == "on";
                let now = chrono::Utc::now();
                let mut st = self.state();
                let Some((_, on)) = st.iter_mut().find(|(f, _)| f.name == *name) else {
                    return error(
                        404,
                        "NotFoundError",
                        &format!("Could not find feature flag with name {name}"),
                    );
                };
                let changed = on[i] != enabled;
                on[i] = enabled;
                drop(st);
                if changed
                    && i == 0
                    && let Some(f) = &self.on_change
                {
                    f(name, enabled, now);
                }
                Response::empty(200)
            }
            ("GET" | "POST", ["api", "admin", "projects", p, ..]) if !project_ok(p) => error(
                404,
                "NotFoundError",
                &format!("Could not find project with id {p}"),
            ),
            _ => error(
                404,
                "NotFoundError",
                "The requested resource could not be found",
            ),
        }
    }
}

impl Handler for Unleash {
    fn handle(&self, req: &Request) -> Response {
        self.route(req)
    }
}
