//! GitHub deployments and rollback, on the shared HTTP layer.
//!
//! One client: every request goes through the provider's
//! [`HttpClient`] (`Authorization: Bearer`, `Accept:
//! application/vnd.github+json`, `X-GitHub-Api-Version`), so GitHub has
//! the same retry policy and budget, circuit breaker, body cap, transport
//! and status error mapping (GitHub's primary and secondary rate limits,
//! validation `errors`, unfollowed redirects are read there) and `Link`
//! page loop as every other provider. [`Github::explain`] only adds what a
//! responder should check (token scope, repository name) and calls a 422
//! answer to a write a refusal.
//!
//! octocrab is no longer used: it has no deployments API (providers.md
//! §4.5), so it served only as a raw `_get`/`_post` transport beside the
//! shared one, and its typed models do not fit (see [`wire`]).
//!
//! Files: `wire` (wire types, state mapping, `payload.sitrep`), `fetch`
//! (deployments, statuses, workflow runs), `status_cache` (latest statuses
//! between polls), `rollback` (plan and execute), `compare` (a deploy's
//! commit range, on demand).

mod compare;
mod fetch;
mod rollback;
mod status_cache;
mod wire;

pub use rollback::PENDING_ROLLBACK_MINUTES;
pub use wire::{decode_wire, map_run, map_state, runs_environment};

use super::http::{Auth, HttpClient, HttpConfig, seg};
use super::{Basics, BoxFut, BuildCtx, ErrorKind, Provider, ProviderError};
use crate::config::{Config, ProviderConfig, ProviderKind, RollbackStrategy};
use crate::model::Fetched;
use crate::ops::{ExecResult, WriteOp};
use crate::secrets::Secret;
use status_cache::StatusCache;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// The REST API version sent on every request.
pub const API_VERSION: &str = "2022-11-28";
const ACCEPT: &str = "application/vnd.github+json";
/// Requests in flight at once, over every repository and environment:
/// half the 100 concurrent requests GitHub's secondary limit allows
/// (docs.github.com, "Rate limits for the REST API").
pub const MAX_IN_FLIGHT: usize = 50;
/// Placeholder shown in a plan for the key the executor assigns.
pub const KEY_PLACEHOLDER: &str = "<idempotency key, set at execution>";

/// Tunables (the defaults suit api.github.com; tests shrink the waits).
#[derive(Clone, Debug)]
pub struct GithubOptions {
    pub http: HttpConfig,
    /// Deployment pages (of 100) read per repository and environment.
    pub max_pages: usize,
    /// Status requests in flight at once (beside the pages': together far
    /// below the 100 concurrent requests GitHub's secondary limit allows).
    pub status_concurrency: usize,
    /// The newest N deployments per repository and environment whose
    /// cached `success` status is read again each poll (a live deploy can
    /// turn into failure or inactive).
    pub refresh_window: usize,
    /// Send `required_contexts: []` on a redeploy (skip commit status checks).
    pub skip_status_checks: bool,
}

impl GithubOptions {
    pub fn from_config(pc: &ProviderConfig) -> Self {
        let mut http = HttpConfig::from_timeout(pc.timeout());
        // Every page after the first at once (at most `max_pages - 1` = 9):
        // far below the 100 concurrent requests GitHub's secondary limit
        // allows.
        http.page_concurrency = 10;
        GithubOptions {
            http,
            max_pages: 10,
            status_concurrency: 16,
            refresh_window: 5,
            skip_status_checks: pc.skip_status_checks.unwrap_or(false),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Repo {
    owner: String,
    name: String,
    /// The service the repository's deploys belong to.
    service: String,
}

impl Repo {
    fn full(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
    fn route(&self) -> String {
        format!("/repos/{}/{}", seg(&self.owner), seg(&self.name))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Strategy {
    Redeploy,
    Workflow { workflow: String, git_ref: String },
}

pub struct Github {
    basics: Basics,
    http: HttpClient,
    /// The API root (no trailing slash), as the plan's URLs start.
    base: String,
    web: String,
    token: Secret,
    repos: Vec<Repo>,
    environments: Vec<String>,
    strategy: Strategy,
    /// The deploy workflow whose runs are listed.
    workflow: Option<String>,
    opts: GithubOptions,
    statuses: StatusCache,
    /// Results of writes already carried out in this process, by key.
    done: Mutex<HashMap<String, ExecResult>>,
}

impl std::fmt::Debug for Github {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Github")
            .field("name", &self.basics.name)
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// The repositories of provider `pc`: its `repos`, plus any `[[service]]`
/// repo mapped to it; each with its service name (from `[[service]]`, or
/// the repository name).
fn repos_of(pc: &ProviderConfig, config: &Config) -> Result<Vec<Repo>, ProviderError> {
    let mapped: Vec<(String, String)> = config
        .service
        .iter()
        .filter_map(|s| {
            let d = s.deploys.as_ref()?;
            (d.provider == pc.name).then(|| d.repo.clone().map(|r| (r, s.name.clone())))?
        })
        .collect();
    let mut names: Vec<String> = pc.repos.clone().unwrap_or_default();
    for (r, _) in &mapped {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(r)) {
            names.push(r.clone());
        }
    }
    let mut out = Vec::new();
    for full in names {
        let mut parts = full.trim().split('/');
        let (Some(owner), Some(name), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(ProviderError::config(
                &pc.name,
                format!("repository {full:?} is not of the form owner/name"),
            ));
        };
        if owner.is_empty() || name.is_empty() {
            return Err(ProviderError::config(
                &pc.name,
                format!("repository {full:?} is not of the form owner/name"),
            ));
        }
        let service = mapped
            .iter()
            .find(|(r, _)| r.eq_ignore_ascii_case(full.trim()))
            .map(|(_, s)| s.clone())
            .unwrap_or_else(|| name.to_string());
        out.push(Repo {
            owner: owner.to_string(),
            name: name.to_string(),
            service,
        });
    }
    if out.is_empty() {
        return Err(ProviderError::config(
            &pc.name,
            "no repositories configured",
        ));
    }
    Ok(out)
}

/// The web root for links: api.github.com → github.com, GHES
/// `https://HOST/api/v3` → `https://HOST`, anything else as is.
fn web_root(base: &str) -> String {
    if let Ok(u) = url::Url::parse(base) {
        if u.host_str() == Some("api.github.com") {
            return "https://github.com".into();
        }
        if let Some(stripped) = base.strip_suffix("/api/v3") {
            return stripped.to_string();
        }
    }
    base.to_string()
}

impl Github {
    pub fn new(pc: &ProviderConfig, ctx: &BuildCtx<'_>) -> Result<Github, ProviderError> {
        Self::with_options(pc, ctx, GithubOptions::from_config(pc))
    }

    /// Like `new` with explicit tunables (tests shrink the waits).
    pub fn with_options(
        pc: &ProviderConfig,
        ctx: &BuildCtx<'_>,
        opts: GithubOptions,
    ) -> Result<Github, ProviderError> {
        let token = ctx.token(pc, "token")?;
        let name = pc.name.clone();
        let base = pc
            .base_url()
            .unwrap_or_else(|| "https://api.github.com".into());
        let repos = repos_of(pc, ctx.config)?;
        let strategy = match &pc.rollback {
            None => Strategy::Redeploy,
            Some(RollbackStrategy::Named(n)) if n == "redeploy" => Strategy::Redeploy,
            Some(RollbackStrategy::Named(n)) => {
                return Err(ProviderError::config(
                    &name,
                    format!("rollback strategy {n:?} is unknown"),
                ));
            }
            Some(RollbackStrategy::Workflow { workflow, git_ref }) => Strategy::Workflow {
                workflow: workflow.clone(),
                git_ref: git_ref.clone(),
            },
        };
        let http = HttpClient::new(&name, &base, Auth::Bearer(token.clone()), opts.http.clone())?
            .with_header("Accept", ACCEPT)
            .with_header("X-GitHub-Api-Version", API_VERSION)
            .with_conditional_gets()
            .with_max_in_flight(MAX_IN_FLIGHT);
        Ok(Github {
            basics: Basics::new(pc, ProviderKind::Github),
            base: http.base_url().to_string(),
            web: web_root(http.base_url()),
            http,
            token,
            repos,
            environments: pc.environments.clone().unwrap_or_default(),
            strategy,
            workflow: pc.workflow.clone().filter(|w| !w.trim().is_empty()),
            opts,
            statuses: StatusCache::default(),
            done: Mutex::new(HashMap::new()),
        })
    }

    fn err(&self, kind: ErrorKind, detail: impl AsRef<str>) -> ProviderError {
        let d = crate::secrets::redact(detail.as_ref(), &[self.token.expose()]);
        ProviderError::new(&self.basics.name, kind, d)
    }

    /// What a responder should check, added to an error of the shared
    /// layer (which did the mapping): the token for a 401, its scopes for a
    /// 403, the repository name for a 404 or a move. A 422 answer to a
    /// write is GitHub refusing it (validation failed), not an unexpected
    /// status.
    fn explain(&self, e: ProviderError, write: bool) -> ProviderError {
        let d = e.detail.as_str();
        let (kind, detail) = match e.kind {
            ErrorKind::Unauthorized { status: 401 } => (e.kind, format!("{d} (check the token)")),
            ErrorKind::Unauthorized { status: 403 } => (
                e.kind,
                format!(
                    "{d} (the token needs `repo` or `repo_deployment` scope{})",
                    if write {
                        ", or Deployments/Actions write"
                    } else {
                        ""
                    }
                ),
            ),
            ErrorKind::NotFound => (
                e.kind,
                format!("{d} (unknown repository, or the token cannot see it)"),
            ),
            ErrorKind::Http {
                status: 301 | 302 | 307 | 308,
            } => (e.kind, format!("{d} (update `repos` or `base_url`)")),
            ErrorKind::Http { status: 422 } if write => (
                ErrorKind::Conflict { status: 422 },
                format!("validation failed: {d}"),
            ),
            _ => return e,
        };
        ProviderError::new(&self.basics.name, kind, detail)
    }
}

impl Provider for Github {
    provider_basics!();
    /// Latest statuses from the cached deploys, so a new process reads
    /// only what a long-running one would: the statuses of deployments
    /// without one, not settled, or among the newest `refresh_window`
    /// successes of an environment (the rest are history).
    fn wants_seed(&self) -> bool {
        true
    }
    fn seed(&self, cached: &Fetched) {
        let runs_env = self.workflow.as_deref().map(runs_environment);
        self.statuses
            .seed(cached, &self.basics.name, runs_env.as_deref());
    }
    fn seed_later(&self, cached: crate::providers::SeedLater) {
        self.statuses.seed_later(cached);
    }
    fn fetch_deadline(&self) -> Duration {
        let groups = self.repos.len() * (self.envs().len() + usize::from(self.workflow.is_some()));
        let reqs = groups * (self.opts.max_pages.min(5) + 3);
        self.opts.http.fetch_deadline(reqs.min(1000) as u32)
    }
    fn fetch(&self) -> BoxFut<'_, Result<Fetched, ProviderError>> {
        Box::pin(self.fetch_all())
    }
    /// Rollbacks of the services this provider deploys (any service when
    /// the responder named this provider, so planning can say why not).
    fn supports(&self, op: &WriteOp) -> bool {
        match op {
            WriteOp::Rollback { service, .. } => {
                op.provider() == Some(self.basics.name.as_str()) || self.repo_for(service).is_ok()
            }
            _ => false,
        }
    }
    delegate_writes!(plan_write, execute_write);
    fn has_commits(&self) -> bool {
        true
    }
    fn deploy_commits<'a>(
        &'a self,
        service: &'a str,
        base: &'a str,
        head: &'a str,
    ) -> BoxFut<'a, Result<crate::model::CommitRange, ProviderError>> {
        Box::pin(self.compare(service, base, head))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_roots() {
        assert_eq!(web_root("https://api.github.com"), "https://github.com");
        assert_eq!(
            web_root("https://ghe.acme.io/api/v3"),
            "https://ghe.acme.io"
        );
        assert_eq!(web_root("http://127.0.0.1:9"), "http://127.0.0.1:9");
    }
}
