//! Vercel deployments and instant rollback, on the shared HTTP layer.
//!
//! Reads: `GET /v9/projects/{project}` (the project id and the last
//! alias request, which says which deployment production points at after
//! an instant rollback) and `GET /v6/deployments?projectId=…&target=…`
//! for `production` and `preview` at once, each paged with `until =
//! pagination.next`. The lists need the project's id: the first fetch
//! reads the project first (two round trips), later ones (or a `prj_…`
//! project in the config) send all three together (one).
//! Writes: instant rollback `POST /v9/projects/{id}/rollback/{deployment}`
//! with body `{}`; a `--to` deployment that never served production is
//! promoted instead (`POST /v10/projects/{id}/promote/{deployment}`).
//! Every path is overridable with `paths = { deployments = "…", project =
//! "…", rollback = "…", promote = "…" }` (Vercel has moved them over
//! versions); `{project}` and `{deployment}` are substituted.
//! With `team`, `teamId=` (a `team_…` id) or `slug=` is sent on every call.

use super::http::{Auth, HttpClient, HttpConfig, seg};
use super::rollback;
use super::{Basics, BoxFut, BuildCtx, ErrorKind, Provider, ProviderError};
use crate::config::{ProviderConfig, ProviderKind};
use crate::model::{Deploy, DeployState, Fetched, Time};
use crate::ops::{ExecResult, Plan, PlanCtx, Precondition, WriteOp};
use crate::text::SafeText;
use crate::util;
use chrono::TimeZone;
use reqwest::Method;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

/// Default API paths (see docs/PROVIDERS.md for the alternatives).
pub const DEFAULT_PATHS: [(&str, &str); 4] = [
    ("deployments", "/v6/deployments"),
    ("project", "/v9/projects/{project}"),
    ("rollback", "/v9/projects/{project}/rollback/{deployment}"),
    ("promote", "/v10/projects/{project}/promote/{deployment}"),
];

/// Deployment targets listed.
pub const TARGETS: [&str; 2] = ["production", "preview"];

#[derive(Clone, Debug)]
pub struct VercelOptions {
    pub http: HttpConfig,
    /// Pages (of 100) of production deployments read per poll.
    pub max_pages: usize,
    /// Pages of preview deployments (there are usually many; only the
    /// newest matter, as promote candidates).
    pub preview_pages: usize,
}

impl VercelOptions {
    pub fn from_config(pc: &ProviderConfig) -> Self {
        VercelOptions {
            http: HttpConfig::from_timeout(pc.timeout()),
            max_pages: 10,
            preview_pages: 1,
        }
    }
}

#[derive(Debug, Deserialize)]
struct VCreator {
    #[serde(default)]
    username: Option<String>,
}

#[derive(Debug, Deserialize)]
struct VDeployment {
    uid: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    created: Option<i64>,
    #[serde(default, rename = "createdAt")]
    created_at: Option<i64>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default, rename = "readyState")]
    ready_state: Option<String>,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    creator: Option<VCreator>,
    #[serde(default)]
    /// Strings only (Vercel's meta is string → string); other values are
    /// skipped while decoding.
    meta: Option<BTreeMap<String, super::http::StrOrSkip>>,
    #[serde(default, rename = "inspectorUrl")]
    inspector_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct VPagination {
    #[serde(default)]
    next: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct VList {
    #[serde(default)]
    deployments: Vec<VDeployment>,
    #[serde(default)]
    pagination: Option<VPagination>,
}

#[derive(Debug, Deserialize)]
struct VAliasRequest {
    #[serde(default, rename = "toDeploymentId")]
    to_deployment_id: Option<String>,
    #[serde(default, rename = "jobStatus")]
    job_status: Option<String>,
    /// "rollback" or "promote".
    #[serde(default, rename = "type")]
    kind: Option<String>,
    /// ms epoch.
    #[serde(default, rename = "requestedAt")]
    requested_at: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct VProject {
    id: String,
    #[serde(default, rename = "lastAliasRequest")]
    last_alias_request: Option<VAliasRequest>,
}

/// Vercel state → SPEC §4 state. DELETED counts as canceled and BLOCKED as
/// failure (neither can be rolled back to); unknown states as queued.
pub fn map_state(raw: &str) -> DeployState {
    match raw.to_ascii_uppercase().as_str() {
        "READY" => DeployState::Success,
        "ERROR" | "BLOCKED" => DeployState::Failure,
        "BUILDING" | "INITIALIZING" => DeployState::InProgress,
        "CANCELED" | "DELETED" => DeployState::Canceled,
        _ => DeployState::Queued,
    }
}

fn meta_str<'a>(
    meta: &'a Option<BTreeMap<String, super::http::StrOrSkip>>,
    keys: &[&str],
) -> Option<&'a str> {
    let m = meta.as_ref()?;
    keys.iter()
        .find_map(|k| m.get(*k).and_then(|v| v.0.as_deref()))
        .filter(|s| !s.is_empty())
}

pub struct Vercel {
    basics: Basics,
    http: HttpClient,
    project: String,
    service: String,
    team: Option<(String, String)>,
    paths: BTreeMap<String, String>,
    opts: VercelOptions,
    done: Mutex<HashMap<String, ExecResult>>,
    /// The project's id once known (a `prj_…` project in the config, or
    /// the last project read): both targets' lists then go out beside
    /// the project read instead of after it.
    project_id: Mutex<Option<String>>,
}

impl std::fmt::Debug for Vercel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vercel")
            .field("name", &self.basics.name)
            .field("project", &self.project)
            .finish_non_exhaustive()
    }
}

struct State {
    project_id: String,
    /// The deployment production points at after a finished alias request.
    aliased: Option<String>,
    /// An alias request still running: (to, status).
    pending: Option<(String, String)>,
    deploys: Vec<Deploy>,
}

impl Vercel {
    pub fn new(pc: &ProviderConfig, ctx: &BuildCtx<'_>) -> Result<Vercel, ProviderError> {
        Self::with_options(pc, ctx, VercelOptions::from_config(pc))
    }

    /// Like `new` with explicit tunables (tests shrink the waits).
    pub fn with_options(
        pc: &ProviderConfig,
        ctx: &BuildCtx<'_>,
        opts: VercelOptions,
    ) -> Result<Vercel, ProviderError> {
        let token = ctx.token(pc, "token")?;
        let config = ctx.config;
        let name = pc.name.clone();
        let project = pc
            .project
            .clone()
            .filter(|p| !p.trim().is_empty())
            .ok_or_else(|| ProviderError::config(&name, "vercel needs `project`"))?;
        let mut paths: BTreeMap<String, String> = DEFAULT_PATHS
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for (k, v) in pc.paths.clone().unwrap_or_default() {
            if !paths.contains_key(&k) {
                return Err(ProviderError::config(
                    &name,
                    format!(
                        "unknown path key {k:?} (valid: {})",
                        DEFAULT_PATHS.map(|(k, _)| k).join(", ")
                    ),
                ));
            }
            if !v.starts_with('/') {
                return Err(ProviderError::config(
                    &name,
                    format!("path {k} = {v:?} must start with '/'"),
                ));
            }
            paths.insert(k, v);
        }
        let base = pc
            .base_url()
            .unwrap_or_else(|| "https://api.vercel.com".into());
        let http = HttpClient::new(&name, &base, Auth::Bearer(token), opts.http.clone())?;
        let service = config
            .service
            .iter()
            .find(|s| {
                s.deploys.as_ref().is_some_and(|d| {
                    d.provider == name && d.project.as_ref().is_none_or(|p| *p == project)
                })
            })
            .map(|s| s.name.clone())
            .unwrap_or_else(|| project.clone());
        let team = pc.team.clone().filter(|t| !t.trim().is_empty()).map(|t| {
            if t.starts_with("team_") {
                ("teamId".to_string(), t)
            } else {
                ("slug".to_string(), t)
            }
        });
        let project_id = Some(project.clone()).filter(|p| p.starts_with("prj_"));
        Ok(Vercel {
            basics: Basics::new(pc, ProviderKind::Vercel),
            http,
            project,
            service,
            team,
            paths,
            opts,
            done: Mutex::new(HashMap::new()),
            project_id: Mutex::new(project_id),
        })
    }

    fn err(&self, kind: ErrorKind, detail: impl AsRef<str>) -> ProviderError {
        ProviderError::new(&self.basics.name, kind, detail)
    }

    /// A configured path with `{project}` / `{deployment}` filled in
    /// (also `{projectId}`, `{idOrName}`, `{deploymentId}`).
    fn path(&self, key: &str, project: &str, deployment: &str) -> String {
        let p = self.paths.get(key).map(String::as_str).unwrap_or_default();
        let (pr, dp) = (seg(project), seg(deployment));
        p.replace("{projectId}", &pr)
            .replace("{idOrName}", &pr)
            .replace("{project}", &pr)
            .replace("{deploymentId}", &dp)
            .replace("{deployment}", &dp)
    }

    fn team_query(&self) -> Vec<(&str, String)> {
        self.team
            .as_ref()
            .map(|(k, v)| vec![(k.as_str(), v.clone())])
            .unwrap_or_default()
    }

    /// The URL with the team query, for writes (the query is part of the URL).
    fn write_url(&self, path: &str) -> String {
        let mut u = self.http.url(path);
        if let Some((k, v)) = &self.team {
            let q = url::form_urlencoded::Serializer::new(String::new())
                .append_pair(k, v)
                .finish();
            u = format!("{u}?{q}");
        }
        u
    }

    async fn get_project(&self) -> Result<VProject, ProviderError> {
        let url = self.http.url(&self.path("project", &self.project, ""));
        self.http.get_json(&url, &self.team_query()).await
    }

    async fn list(
        &self,
        project_id: &str,
        target: &str,
    ) -> Result<Vec<VDeployment>, ProviderError> {
        let url = self.http.url(&self.path("deployments", project_id, ""));
        let mut out = Vec::new();
        let mut until: Option<i64> = None;
        let pages = if target == "production" {
            self.opts.max_pages
        } else {
            self.opts.preview_pages
        };
        for _ in 0..pages.max(1) {
            let mut q = self.team_query();
            q.push(("projectId", project_id.to_string()));
            q.push(("target", target.to_string()));
            q.push(("limit", "100".into()));
            if let Some(u) = until {
                q.push(("until", u.to_string()));
            }
            let page: VList = self.http.get_json(&url, &q).await?;
            let n = page.deployments.len();
            out.extend(page.deployments);
            match page.pagination.and_then(|p| p.next) {
                // A cursor that does not move would loop.
                Some(next) if n > 0 && Some(next) != until => until = Some(next),
                _ => return Ok(out),
            }
        }
        tracing::debug!(
            "{}: {target} deployments: stopped after {pages} pages",
            self.basics.name
        );
        Ok(out)
    }

    fn to_deploy(&self, d: &VDeployment, target: &str) -> Deploy {
        let raw = d
            .ready_state
            .as_deref()
            .or(d.state.as_deref())
            .unwrap_or("QUEUED");
        let ms = d.created_at.or(d.created).unwrap_or(0);
        let created_at: Time = chrono::Utc
            .timestamp_millis_opt(ms)
            .single()
            .unwrap_or_default();
        let inspector = d.inspector_url.clone().filter(|u| util::is_web_url(u));
        let url = inspector.clone().or_else(|| {
            d.url
                .as_ref()
                .filter(|u| !u.is_empty())
                .map(|u| format!("https://{u}"))
        });
        Deploy {
            provider: SafeText::line(&self.basics.name),
            service: SafeText::line(&self.service),
            environment: SafeText::line(d.target.as_deref().unwrap_or(target)),
            id: SafeText::line(&d.uid),
            git_ref: SafeText::line(
                meta_str(
                    &d.meta,
                    &["githubCommitRef", "gitlabCommitRef", "bitbucketCommitRef"],
                )
                .unwrap_or("-"),
            ),
            sha: SafeText::line(
                meta_str(
                    &d.meta,
                    &["githubCommitSha", "gitlabCommitSha", "bitbucketCommitSha"],
                )
                .unwrap_or(""),
            ),
            state: map_state(raw),
            provider_state: SafeText::line(raw),
            created_at,
            creator: d
                .creator
                .as_ref()
                .and_then(|c| c.username.as_deref())
                .map(SafeText::line),
            url: url.as_deref().map(SafeText::line),
            // The inspector is where the build and runtime logs are.
            log_url: inspector.as_deref().map(SafeText::line),
            current: false,
            description: meta_str(
                &d.meta,
                &[
                    "githubCommitMessage",
                    "gitlabCommitMessage",
                    "bitbucketCommitMessage",
                ],
            )
            .map(SafeText::line),
        }
    }

    /// Both targets' deployments of project `id`, read at once.
    async fn list_targets(&self, id: &str) -> Result<Vec<Deploy>, ProviderError> {
        let lists = futures::future::try_join_all(TARGETS.iter().map(|t| self.list(id, t))).await?;
        Ok(TARGETS
            .iter()
            .zip(lists)
            .flat_map(|(t, l)| {
                l.into_iter()
                    .map(|d| self.to_deploy(&d, t))
                    .collect::<Vec<_>>()
            })
            .collect())
    }

    /// The project and its deployments: one round trip when the project's
    /// id is known (the lists go beside the project read), two when not.
    /// A project recreated under the same name (a new id) is listed again.
    async fn project_and_deploys(&self) -> Result<(VProject, Vec<Deploy>), ProviderError> {
        let known = self
            .project_id
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let (project, deploys) = match known {
            Some(id) => {
                let (project, deploys) = futures::join!(self.get_project(), self.list_targets(&id));
                let project = project?;
                if project.id == id {
                    (project, deploys?)
                } else {
                    let deploys = self.list_targets(&project.id).await?;
                    (project, deploys)
                }
            }
            None => {
                let project = self.get_project().await?;
                let deploys = self.list_targets(&project.id).await?;
                (project, deploys)
            }
        };
        *self.project_id.lock().unwrap_or_else(|p| p.into_inner()) = Some(project.id.clone());
        Ok((project, deploys))
    }

    async fn state(&self) -> Result<State, ProviderError> {
        let (project, mut deploys) = self.project_and_deploys().await?;
        rollback::mark_current(&mut deploys);
        let (mut aliased, mut pending) = (None, None);
        if let Some(a) = &project.last_alias_request
            && let Some(to) = a.to_deployment_id.clone()
        {
            match a.job_status.as_deref() {
                Some("succeeded") => {
                    // After a rollback production stays put until the next
                    // promote; after a promote, a newer production
                    // deployment goes live as usual.
                    let at = a
                        .requested_at
                        .and_then(|ms| chrono::Utc.timestamp_millis_opt(ms).single());
                    let newer_ready = deploys.iter().any(|d| {
                        d.environment.as_str() == "production"
                            && d.state == DeployState::Success
                            && at.is_some_and(|t| d.created_at > t)
                    });
                    if a.kind.as_deref() != Some("promote") || !newer_ready {
                        aliased = Some(to);
                    }
                }
                Some(s @ ("pending" | "in-progress")) => pending = Some((to, s.to_string())),
                _ => {}
            }
        }
        // After an instant rollback production points at an older deployment.
        if let Some(to) = &aliased
            && deploys
                .iter()
                .any(|d| d.id.as_str() == to && d.state == DeployState::Success)
        {
            for d in deploys
                .iter_mut()
                .filter(|d| d.environment.as_str() == "production")
            {
                d.current = d.id.as_str() == to;
            }
        }
        crate::order::sort_by(&mut deploys, rollback::newest_first);
        Ok(State {
            project_id: project.id,
            aliased,
            pending,
            deploys,
        })
    }

    /// `Provider::plan`: a rollback.
    async fn plan_write(&self, op: &WriteOp, _ctx: &PlanCtx) -> Result<Plan, ProviderError> {
        let r = rollback::requested(&self.basics.name, "Vercel", op)?;
        self.plan_rollback(op, r.service, r.environment, r.to).await
    }

    /// `Provider::execute`: a planned rollback.
    async fn execute_write(&self, plan: &Plan, key: &str) -> Result<ExecResult, ProviderError> {
        rollback::requested(&self.basics.name, "Vercel", &plan.op)?;
        self.execute_rollback(plan, key).await
    }

    async fn plan_rollback(
        &self,
        op: &WriteOp,
        service: &str,
        environment: &str,
        to: Option<&str>,
    ) -> Result<Plan, ProviderError> {
        if service != self.service && service != self.project {
            return Err(self.err(
                ErrorKind::NotFound,
                format!(
                    "provider {} deploys service {}, not {service}",
                    self.basics.name, self.service
                ),
            ));
        }
        if environment != "production" {
            return Err(self.err(
                ErrorKind::Unsupported,
                format!("Vercel rolls back production only, not {environment}"),
            ));
        }
        let st = self.state().await?;
        if let Some((pto, status)) = &st.pending {
            return Err(self.err(
                ErrorKind::Conflict { status: 409 },
                format!(
                    "an alias change to {pto} is still {status}; wait for it before rolling back"
                ),
            ));
        }
        let prod: Vec<Deploy> = st
            .deploys
            .iter()
            .filter(|d| d.environment.as_str() == "production")
            .cloned()
            .collect();
        // `--to` a deployment that never served production: promote it.
        let preview = to.and_then(|id| {
            st.deploys
                .iter()
                .find(|d| d.id.as_str() == id && d.environment.as_str() != "production")
        });
        let now = chrono::Utc::now();
        let (live, target, action) = match preview {
            Some(p) => {
                if p.state != DeployState::Success {
                    return Err(self.err(
                        ErrorKind::Conflict { status: 409 },
                        format!(
                            "deployment {} is {}; promote only a deployment that is ready",
                            p.id,
                            p.state.label()
                        ),
                    ));
                }
                (prod.iter().find(|d| d.current), p, "promote")
            }
            None => {
                let (l, t) = rollback::pick(&self.basics.name, service, environment, &prod, to)?;
                (l, t, "rollback")
            }
        };
        let path = self.path(action, &st.project_id, target.id.as_str());
        let url = self.write_url(&path);
        let req = self
            .http
            .planned(&Method::POST, &url, Some(serde_json::json!({})), &[]);
        let mut stakes = rollback::stakes(live, target, now);
        stakes.push((
            "action".into(),
            if action == "promote" {
                format!(
                    "promote {} ({}) to production",
                    target.id, target.environment
                )
            } else {
                "instant rollback (production alias moves; no rebuild)".into()
            },
        ));
        Ok(Plan {
            op: op.clone(),
            provider: self.basics.name.clone(),
            summary: format!(
                "{} {service}/production to {} ({})",
                if action == "promote" {
                    "promote"
                } else {
                    "roll back"
                },
                target.id,
                if target.sha.is_empty() {
                    target.git_ref.as_str()
                } else {
                    util::short_sha(target.sha.as_str())
                }
            ),
            stakes,
            requests: vec![req],
            detail: serde_json::json!({
                "project_id": st.project_id,
                "action": action,
                "from_id": live.map(|l| l.id.as_str().to_string()),
                "to_id": target.id.as_str(),
                "to_sha": target.sha.as_str(),
                "aliased_before": st.aliased,
            }),
            // Vercel rolls back only production (checked above).
            environment: Some("production".into()),
            precondition: Precondition::AliasUnchanged {
                aliased: st.aliased.clone(),
            },
        })
    }

    async fn execute_rollback(&self, plan: &Plan, key: &str) -> Result<ExecResult, ProviderError> {
        if let Some(r) = self.done.lock().unwrap_or_else(|p| p.into_inner()).get(key) {
            return Ok(r.clone());
        }
        let s = |k: &str| {
            plan.detail
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let (project_id, action, to_id) = (s("project_id"), s("action"), s("to_id"));
        if !matches!(action.as_str(), "rollback" | "promote") || to_id.is_empty() {
            return Err(self.err(ErrorKind::Config, "the plan names no target; nothing sent"));
        }
        let expected = self.write_url(&self.path(&action, &project_id, &to_id));
        let [req] = plan.requests.as_slice() else {
            return Err(self.err(
                ErrorKind::Config,
                "the plan does not hold exactly one request; nothing sent",
            ));
        };
        // Already done (a retry after an answer was lost)? The project's
        // last alias request says where production is going.
        let project = self.get_project().await.map_err(|e| {
            self.err(
                e.kind.clone(),
                format!(
                    "could not check the current alias, nothing sent: {}",
                    e.detail
                ),
            )
        })?;
        if let Some(a) = &project.last_alias_request
            && a.to_deployment_id.as_deref() == Some(to_id.as_str())
            && matches!(
                a.job_status.as_deref(),
                Some("pending" | "in-progress" | "succeeded")
            )
            && !matches!(&plan.precondition,
                Precondition::AliasUnchanged { aliased: Some(a) } if *a == to_id)
        {
            let r = ExecResult {
                message: format!(
                    "production already moving to {to_id} ({}); nothing sent again",
                    a.job_status.as_deref().unwrap_or("?")
                ),
                detail: serde_json::json!({"to_id": to_id, "existing": true}),
            };
            return Ok(r);
        }
        // The planned body is sent as planned, after checking method + URL.
        let resp = self
            .http
            .send_planned(req, (&Method::POST, &expected), &[], None)
            .await?
            .status;
        let r = ExecResult {
            message: format!(
                "{} production to {to_id} requested (HTTP {}); Vercel moves the alias now",
                if action == "promote" {
                    "promote"
                } else {
                    "rollback"
                },
                resp
            ),
            detail: serde_json::json!({"status": resp, "to_id": to_id, "action": action, "existing": false}),
        };
        self.done
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string(), r.clone());
        Ok(r)
    }
}

impl Provider for Vercel {
    provider_basics!();
    fn fetch_deadline(&self) -> Duration {
        self.opts
            .http
            .fetch_deadline((1 + TARGETS.len() * self.opts.max_pages.min(5)) as u32)
    }
    fn fetch(&self) -> BoxFut<'_, Result<Fetched, ProviderError>> {
        Box::pin(async move {
            let st = self.state().await?;
            Ok(Fetched {
                deploys: st.deploys,
                ..Fetched::default()
            })
        })
    }
    /// Rollbacks of the services this provider deploys (any service when
    /// the responder named this provider, so planning can say why not).
    fn supports(&self, op: &WriteOp) -> bool {
        match op {
            WriteOp::Rollback { service, .. } => {
                op.provider() == Some(self.basics.name.as_str())
                    || service == &self.service
                    || service == &self.project
            }
            _ => false,
        }
    }
    delegate_writes!(plan_write, execute_write);
}

/// This provider's part of [`super::decode_wire`].
pub fn decode_wire(body: &[u8]) -> Result<(), ProviderError> {
    super::http::first_error([
        super::http::decode_json::<VList>("fuzz", "GET deployments", body).map(drop),
        super::http::decode_json::<VProject>("fuzz", "GET project", body).map(drop),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_map() {
        assert_eq!(map_state("READY"), DeployState::Success);
        assert_eq!(map_state("ERROR"), DeployState::Failure);
        assert_eq!(map_state("BUILDING"), DeployState::InProgress);
        assert_eq!(map_state("INITIALIZING"), DeployState::InProgress);
        assert_eq!(map_state("CANCELED"), DeployState::Canceled);
        assert_eq!(map_state("QUEUED"), DeployState::Queued);
        assert_eq!(map_state("DELETED"), DeployState::Canceled);
    }
}
