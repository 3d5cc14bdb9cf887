//! GitHub deployments through octocrab, and rollback.
//!
//! octocrab 0.54 has no deployments API, so this module uses its generic
//! `_get` (the body read here under the shared body cap, the `Link` header
//! followed here) and `_post` with typed models of its own. octocrab is
//! built without its `retry` feature, so it never retries by itself: reads
//! are retried through the shared layer's [`ReadGuard`] (full-jitter
//! backoff, `Retry-After`, `x-ratelimit-*`, retry budget, circuit breaker),
//! writes never.
//!
//! Fetch: for every configured repository and environment,
//! `GET /repos/{o}/{r}/deployments?environment=…&per_page=100` (all pages,
//! up to a cap), then each deployment's latest status
//! (`/deployments/{id}/statuses?per_page=1`), several at a time. Statuses
//! that cannot change any more (error, failure, inactive) are cached;
//! pending ones and the newest successful ones are read again each poll.
//!
//! Rollback: `redeploy` creates a new deployment of the target sha with
//! `auto_merge: false` and a `payload.sitrep` naming the rollback, the
//! reason and the idempotency key; before creating, the recent deployments
//! of that sha are searched for the same key so a retried rollback never
//! deploys twice. `{ workflow, ref }` dispatches that workflow with inputs
//! `{environment, sha}`. See docs/PROVIDERS.md, "Deploys".

use super::http::{BodyBudget, Failure, HttpConfig, ReadGuard, seg, server_wait};
use super::rollback;
use super::{BoxFut, ErrorKind, Provider, ProviderError};
use crate::config::{Config, ProviderConfig, ProviderKind, RollbackStrategy};
use crate::model::{Deploy, DeployState, Fetched, Time};
use crate::ops::{ExecResult, Plan, PlanCtx, PlannedRequest, Precondition, WriteOp};
use crate::secrets::Secret;
use crate::text::SafeText;
use crate::util;
use futures::StreamExt;
use octocrab::Octocrab;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// The API version pinned by octocrab (sent on every request).
pub const API_VERSION: &str = "2022-11-28";
const ACCEPT: &str = "application/vnd.github+json";
/// Placeholder shown in a plan for the key the executor assigns.
pub const KEY_PLACEHOLDER: &str = "<idempotency key, set at execution>";

/// Tunables (the defaults suit api.github.com; tests shrink the waits).
#[derive(Clone, Debug)]
pub struct GithubOptions {
    pub http: HttpConfig,
    /// Deployment pages (of 100) read per repository and environment.
    pub max_pages: usize,
    /// Status requests in flight at once.
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
        GithubOptions {
            http: HttpConfig::from_timeout(pc.timeout()),
            max_pages: 10,
            status_concurrency: 8,
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

// ---------------------------------------------------------------------------
// Wire models (only the fields used; everything else is ignored).

/// One page of a list: its items and the next page's route (path and query).
struct GhPage<T> {
    items: Vec<T>,
    next: Option<String>,
    /// The `rel="last"` route, when GitHub numbers the pages.
    last: Option<String>,
}

/// A list wrapped in an object (`{"total_count", "workflow_runs": [...]}`).
#[derive(Deserialize)]
struct GhListObject<T> {
    #[serde(default = "none")]
    workflow_runs: Option<Vec<T>>,
    #[serde(default = "none")]
    items: Option<Vec<T>>,
}

fn none<T>() -> Option<T> {
    None
}

#[derive(Debug, Deserialize)]
struct GhUser {
    #[serde(default)]
    login: Option<String>,
}

#[derive(Debug, Deserialize)]
struct GhDeployment {
    id: u64,
    sha: String,
    #[serde(rename = "ref")]
    git_ref: String,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    creator: Option<GhUser>,
    /// An object, or a string holding JSON. Only its `sitrep` record is
    /// kept (see [`sitrep_payload`]).
    #[serde(default, deserialize_with = "sitrep_payload")]
    payload: serde_json::Value,
    created_at: Time,
}

/// The largest `payload.sitrep` record read (ours are a few hundred bytes).
const SITREP_RECORD_CAP: usize = 4096;

/// Keep only `{"sitrep": …}` of a deployment payload (an object, or a
/// string holding one), `Null` otherwise. Anything else in a payload —
/// teams put arbitrary data there — is skipped while decoding, never built
/// into a `serde_json::Value` tree (which costs many times the text).
fn sitrep_payload<'de, D: serde::Deserializer<'de>>(d: D) -> Result<serde_json::Value, D::Error> {
    d.deserialize_any(SitrepPayload)
        .map(|v| v.unwrap_or_default())
}

struct SitrepPayload;

/// `SitrepPayload` as a type, to parse a payload held in a string.
struct SitrepOnly(Option<serde_json::Value>);

impl<'de> Deserialize<'de> for SitrepOnly {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SitrepPayload).map(SitrepOnly)
    }
}

impl<'de> serde::de::Visitor<'de> for SitrepPayload {
    type Value = Option<serde_json::Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a deployment payload")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
        use serde::de::IgnoredAny;
        let mut out = None;
        while let Some(k) = m.next_key::<std::borrow::Cow<'de, str>>()? {
            if k == "sitrep" {
                let raw: Box<serde_json::value::RawValue> = m.next_value()?;
                if raw.get().len() <= SITREP_RECORD_CAP {
                    out = serde_json::from_str::<serde_json::Value>(raw.get()).ok();
                }
            } else {
                m.next_value::<IgnoredAny>()?;
            }
        }
        Ok(out.map(|s| serde_json::json!({ "sitrep": s })))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(serde_json::from_str::<SitrepOnly>(v).ok().and_then(|p| p.0))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
        while s.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

#[derive(Debug, Deserialize)]
struct GhStatus {
    state: String,
    #[serde(default)]
    log_url: Option<String>,
    #[serde(default)]
    target_url: Option<String>,
    #[serde(default)]
    environment_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct GhRun {
    id: u64,
    #[serde(default)]
    display_title: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    head_branch: Option<String>,
    #[serde(default)]
    head_sha: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    conclusion: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    actor: Option<GhUser>,
    created_at: Time,
}

/// The pseudo-environment under which runs of the deploy workflow are listed.
pub fn runs_environment(workflow: &str) -> String {
    format!("actions:{workflow}")
}

/// A workflow run's `status` / `conclusion` → SPEC §4 state; the raw value
/// (conclusion when completed, else status) goes to `provider_state`.
pub fn map_run(status: Option<&str>, conclusion: Option<&str>) -> (DeployState, String) {
    match (status, conclusion) {
        (Some("completed"), Some(c)) => (
            match c {
                "success" => DeployState::Success,
                "cancelled" => DeployState::Canceled,
                "skipped" | "neutral" | "stale" => DeployState::Inactive,
                // failure, timed_out, startup_failure, action_required...
                _ => DeployState::Failure,
            },
            c.to_string(),
        ),
        (Some("in_progress"), _) => (DeployState::InProgress, "in_progress".into()),
        (s, _) => (DeployState::Queued, s.unwrap_or("queued").to_string()),
    }
}

/// What we remember of a deployment's latest status.
#[derive(Clone, Debug)]
struct StatusInfo {
    /// None = the deployment has no status yet.
    state: Option<String>,
    url: Option<String>,
}

impl StatusInfo {
    fn settled(&self) -> bool {
        matches!(
            self.state.as_deref(),
            Some("error" | "failure" | "inactive")
        )
    }
}

/// SPEC §4 state mapping. Unknown states count as queued (the raw value is
/// kept in `provider_state`).
pub fn map_state(raw: Option<&str>) -> DeployState {
    match raw {
        Some("error" | "failure") => DeployState::Failure,
        Some("in_progress") => DeployState::InProgress,
        Some("success") => DeployState::Success,
        Some("inactive") => DeployState::Inactive,
        _ => DeployState::Queued,
    }
}

/// A rollback created by sitrep within this many minutes that has no final
/// status yet blocks another automatic rollback of the same environment.
pub const PENDING_ROLLBACK_MINUTES: i64 = 30;

/// A field of the `sitrep` record in a deployment payload (an object, or a
/// string holding JSON).
fn payload_field(payload: &serde_json::Value, field: &str) -> Option<String> {
    let parsed;
    let p = match payload {
        serde_json::Value::String(s) => {
            parsed = serde_json::from_str::<serde_json::Value>(s).ok()?;
            &parsed
        }
        v => v,
    };
    p.get("sitrep")?.get(field)?.as_str().map(str::to_string)
}

/// The idempotency key a deployment was created with by sitrep, if any.
fn payload_key(payload: &serde_json::Value) -> Option<String> {
    payload_field(payload, "idempotency_key")
}

fn payload_action(payload: &serde_json::Value) -> Option<String> {
    payload_field(payload, "action")
}

/// The sha a sitrep rollback moved away from.
fn payload_from_sha(payload: &serde_json::Value) -> Option<String> {
    let parsed;
    let p = match payload {
        serde_json::Value::String(s) => {
            parsed = serde_json::from_str::<serde_json::Value>(s).ok()?;
            &parsed
        }
        v => v,
    };
    let s = p.get("sitrep")?;
    if s.get("action")?.as_str()? != "rollback" {
        return None;
    }
    s.get("from")?.get("sha")?.as_str().map(str::to_string)
}

pub struct Github {
    name: String,
    crab: Octocrab,
    base: String,
    web: String,
    token: Secret,
    repos: Vec<Repo>,
    environments: Vec<String>,
    strategy: Strategy,
    /// The deploy workflow whose runs are listed.
    workflow: Option<String>,
    opts: GithubOptions,
    poll: Duration,
    statuses: Mutex<HashMap<u64, StatusInfo>>,
    /// The shared layer's rate-limit block, circuit breaker, retry budget
    /// and read retries, fed by this client's outcomes.
    guard: ReadGuard,
    /// Response bytes held at once across concurrent requests.
    body_budget: BodyBudget,
    /// Results of writes already carried out in this process, by key.
    done: Mutex<HashMap<String, ExecResult>>,
}

impl std::fmt::Debug for Github {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Github")
            .field("name", &self.name)
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

fn query(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// List pages read at once when GitHub numbers them.
const PAGE_CONCURRENCY: usize = 4;

/// Statuses read at once while the list's pages are still loading.
const EARLY_STATUS_CONCURRENCY: usize = 2;

/// The routes of pages `K..=N` when `next` asks for `page=K` and `last` for
/// `page=N` of the same list (same path, same other parameters); `None`
/// when the links are not of that form (then `next` is followed).
fn numbered_pages(next: Option<&str>, last: Option<&str>) -> Option<Vec<String>> {
    type Split<'a> = (&'a str, Vec<(String, String)>, usize);
    fn split(route: &str) -> Option<Split<'_>> {
        let (path, q) = route.split_once('?')?;
        let mut page = None;
        let mut rest = Vec::new();
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
            if k == "page" {
                page = Some(v.parse::<usize>().ok()?);
            } else {
                rest.push((k.into_owned(), v.into_owned()));
            }
        }
        Some((path, rest, page?))
    }
    let (path, rest, from) = split(next?)?;
    let (lpath, lrest, to) = split(last?)?;
    // A sane span only: never thousands of routes from a hostile header.
    if path != lpath || rest != lrest || from < 2 || to < from || to - from > 1000 {
        return None;
    }
    Some(
        (from..=to)
            .map(|p| {
                let mut q = url::form_urlencoded::Serializer::new(String::new());
                for (k, v) in &rest {
                    q.append_pair(k, v);
                }
                q.append_pair("page", &p.to_string());
                format!("{path}?{}", q.finish())
            })
            .collect(),
    )
}

/// The reqwest error somewhere in an octocrab error's chain.
fn reqwest_in(e: &octocrab::Error) -> Option<&reqwest::Error> {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = src {
        if let Some(r) = s.downcast_ref::<reqwest::Error>() {
            return Some(r);
        }
        if let Some(octocrab::Error::Reqwest { source, .. }) = s.downcast_ref::<octocrab::Error>() {
            return Some(source);
        }
        src = s.source();
    }
    None
}

fn header<'a>(h: Option<&'a HeaderMap>, name: &str) -> Option<&'a str> {
    h?.get(name)?.to_str().ok()
}

impl Github {
    /// Build from the config and the secret store (`build_one`).
    pub fn from_ctx(
        pc: &ProviderConfig,
        ctx: &super::BuildCtx<'_>,
    ) -> Result<Github, ProviderError> {
        let token = ctx
            .secrets
            .get(&pc.token_ref())
            .map_err(|e| ProviderError::config(&pc.name, format!("token: {e}")))?;
        Self::new(pc, ctx.config, token, GithubOptions::from_config(pc))
    }

    /// Build from config. `token` is the resolved secret.
    pub fn new(
        pc: &ProviderConfig,
        config: &Config,
        token: Secret,
        opts: GithubOptions,
    ) -> Result<Github, ProviderError> {
        let name = pc.name.clone();
        let base = pc
            .base_url()
            .unwrap_or_else(|| "https://api.github.com".into());
        let parsed = url::Url::parse(&base)
            .map_err(|e| ProviderError::config(&name, format!("base_url {base:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ProviderError::config(
                &name,
                format!("base_url {base:?} must be http or https"),
            ));
        }
        if reqwest::header::HeaderValue::from_str(&format!("Bearer {}", token.expose())).is_err() {
            return Err(ProviderError::config(
                &name,
                "the token contains characters not allowed in a header",
            ));
        }
        let repos = repos_of(pc, config)?;
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
        // octocrab's middleware (auth, base URI, headers) on the shared
        // reqwest client: the same TLS stack, timeouts and redirect policy
        // as every other provider.
        let http = super::http::reqwest_client(&name, &opts.http, parsed.scheme() == "https")?;
        let crab = Octocrab::builder()
            .base_uri(base.as_str())
            .map_err(|e| ProviderError::config(&name, format!("base_url {base:?}: {e}")))?
            .personal_token(token.expose().to_string())
            .add_header(reqwest::header::ACCEPT, ACCEPT.to_string())
            .build_with_reqwest(http)
            .map_err(|e| ProviderError::config(&name, format!("GitHub client: {e}")))?;
        Ok(Github {
            name,
            crab,
            web: web_root(&base),
            base,
            token,
            repos,
            environments: pc.environments.clone().unwrap_or_default(),
            strategy,
            workflow: pc.workflow.clone().filter(|w| !w.trim().is_empty()),
            guard: ReadGuard::new(&pc.name, opts.http.retry.clone(), opts.http.breaker.clone()),
            body_budget: BodyBudget::new(opts.http.body_cap),
            opts,
            poll: pc.poll(),
            statuses: Mutex::new(HashMap::new()),
            done: Mutex::new(HashMap::new()),
        })
    }

    fn err(&self, kind: ErrorKind, detail: impl AsRef<str>) -> ProviderError {
        let mut d = detail.as_ref().to_string();
        let t = self.token.expose();
        if t.len() >= 4 {
            d = d.replace(t, "<redacted>");
        }
        ProviderError::new(&self.name, kind, d)
    }

    // -- error mapping -------------------------------------------------------

    /// A GitHub error answer (octocrab `Error::GitHub`).
    fn github_failure(&self, g: &octocrab::GitHubError, what: &str, write: bool) -> Failure {
        let status = g.status_code.as_u16();
        let h = g.headers.as_ref();
        let mut msg = g.message.trim().to_string();
        if let Some(errs) = &g.errors {
            let parts: Vec<String> = errs
                .iter()
                .map(|e| match e {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Object(o) => o
                        .get("message")
                        .and_then(|m| m.as_str())
                        .map(str::to_string)
                        .unwrap_or_else(|| {
                            ["resource", "field", "code"]
                                .iter()
                                .filter_map(|k| o.get(*k).and_then(|v| v.as_str()))
                                .collect::<Vec<_>>()
                                .join(" ")
                        }),
                    other => other.to_string(),
                })
                .filter(|s| !s.is_empty())
                .collect();
            if !parts.is_empty() {
                msg = format!("{msg} ({})", parts.join("; "));
            }
        }
        let msg: String = msg.chars().take(300).collect();
        let wait = h.and_then(|h| server_wait(h, SystemTime::now()));
        let remaining0 = header(h, "x-ratelimit-remaining") == Some("0");
        let secondary = msg.to_ascii_lowercase().contains("secondary rate limit");
        let resource = header(h, "x-ratelimit-resource").unwrap_or("core");
        let secs = |w: Option<Duration>| {
            w.map(|w| format!("; retry in {}s", w.as_secs().max(1)))
                .unwrap_or_default()
        };
        let (kind, retryable, detail, wait) = match status {
            403 | 429 if remaining0 && !secondary => (
                ErrorKind::RateLimited { retry_after: wait },
                true,
                format!(
                    "{what}: primary rate limit exhausted ({resource}, x-ratelimit-remaining 0){}",
                    secs(wait)
                ),
                wait,
            ),
            403 | 429 if secondary => {
                // GitHub: honour retry-after, else the reset, else wait ≥ 1 minute.
                let w = wait.or(Some(Duration::from_secs(60)));
                (
                    ErrorKind::RateLimited { retry_after: w },
                    true,
                    format!("{what}: secondary rate limit: {msg}{}", secs(w)),
                    w,
                )
            }
            429 => (
                ErrorKind::RateLimited { retry_after: wait },
                true,
                format!("{what}: {msg}{}", secs(wait)),
                wait,
            ),
            401 => (
                ErrorKind::Unauthorized { status },
                false,
                format!("{what}: {msg} (check the token)"),
                None,
            ),
            403 => (
                ErrorKind::Unauthorized { status },
                false,
                format!(
                    "{what}: {msg} (the token needs `repo` or `repo_deployment` scope{})",
                    if write {
                        ", or Deployments/Actions write"
                    } else {
                        ""
                    }
                ),
                None,
            ),
            404 => (
                ErrorKind::NotFound,
                false,
                format!("{what}: {msg} (unknown repository, or the token cannot see it)"),
                None,
            ),
            301 | 302 | 307 | 308 => (
                ErrorKind::Http { status },
                false,
                format!(
                    "{what}: {msg} (moved{}; redirects are not followed: update `repos` or `base_url`)",
                    header(h, "location")
                        .map(|l| format!(" to {l}"))
                        .unwrap_or_default()
                ),
                None,
            ),
            409 => (
                ErrorKind::Conflict { status },
                false,
                format!("{what}: {msg}"),
                None,
            ),
            422 if write => (
                ErrorKind::Conflict { status },
                false,
                format!("{what}: validation failed: {msg}"),
                None,
            ),
            501 | 505 => (
                ErrorKind::Server { status },
                false,
                format!("{what}: {msg}"),
                None,
            ),
            500..=599 => (
                ErrorKind::Server { status },
                true,
                format!("{what}: {msg}"),
                None,
            ),
            _ => (
                ErrorKind::Http { status },
                false,
                format!("{what}: {msg}"),
                None,
            ),
        };
        Failure {
            err: self.err(kind, detail),
            retryable,
            wait,
            not_sent: false,
        }
    }

    fn decode_failure(&self, cat: serde_json::error::Category, what: &str, e: String) -> Failure {
        use serde_json::error::Category;
        let (kind, cause, retryable) = match cat {
            Category::Eof => (ErrorKind::Malformed, "truncated JSON", true),
            Category::Syntax | Category::Io => (ErrorKind::Malformed, "invalid JSON", false),
            Category::Data => (ErrorKind::Shape, "wrong shape", false),
        };
        Failure {
            err: self.err(kind, format!("{what}: {cause}: {e}")),
            retryable,
            wait: None,
            not_sent: false,
        }
    }

    /// A failure of the reqwest transport under octocrab, mapped as the
    /// shared layer maps its own ([`super::http::send_error`]); a write
    /// that may have reached GitHub has an unknown outcome.
    fn transport_failure(&self, e: &reqwest::Error, what: &str, write: bool) -> Failure {
        let (kind, detail, not_sent) = super::http::send_error(e, what);
        let kind = if write && !not_sent && kind == ErrorKind::Connect {
            ErrorKind::Unknown
        } else {
            kind
        };
        Failure {
            err: self.err(kind, detail),
            // A write whose request may have left is never repeated blind.
            retryable: not_sent || !write,
            wait: None,
            not_sent,
        }
    }

    /// Map any octocrab error. Network failures are recognised from the
    /// error chain (I/O kinds), never from anything that could hold a secret.
    fn failure(&self, e: &octocrab::Error, what: &str, write: bool) -> Failure {
        match e {
            octocrab::Error::GitHub { source, .. } => self.github_failure(source, what, write),
            octocrab::Error::Serde { source, .. } => {
                self.decode_failure(source.classify(), what, source.to_string())
            }
            octocrab::Error::Json { source, .. } => self.decode_failure(
                source.inner().classify(),
                what,
                format!("at {}: {}", source.path(), source.inner()),
            ),
            // octocrab's `Page` found neither an array nor a known list key.
            octocrab::Error::Other { source, .. } => Failure {
                err: self.err(ErrorKind::Shape, format!("{what}: wrong shape: {source}")),
                retryable: false,
                wait: None,
                not_sent: false,
            },
            octocrab::Error::Reqwest { source, .. } => self.transport_failure(source, what, write),
            // Through octocrab's buffer layer the transport error arrives
            // boxed: find it in the chain.
            other if let Some(r) = reqwest_in(other) => self.transport_failure(r, what, write),
            other => {
                let mut src: Option<&(dyn std::error::Error + 'static)> = Some(other);
                let mut timeout = false;
                let mut refused = false;
                let mut text = String::new();
                while let Some(s) = src {
                    if let Some(io) = s.downcast_ref::<std::io::Error>() {
                        use std::io::ErrorKind as K;
                        match io.kind() {
                            K::TimedOut => timeout = true,
                            K::ConnectionRefused
                            | K::HostUnreachable
                            | K::NetworkUnreachable
                            | K::AddrNotAvailable => refused = true,
                            _ => {}
                        }
                    }
                    text = s.to_string();
                    src = s.source();
                }
                let connect = refused
                    || text.contains("dns error")
                    || other.to_string().contains("(Connect)");
                if timeout {
                    Failure {
                        err: self.err(ErrorKind::Timeout, format!("{what}: no answer in time")),
                        retryable: true,
                        wait: None,
                        not_sent: false,
                    }
                } else if connect {
                    Failure {
                        err: self.err(ErrorKind::Connect, format!("{what}: {text}")),
                        retryable: true,
                        wait: None,
                        not_sent: true,
                    }
                } else {
                    Failure {
                        err: self.err(
                            if write {
                                ErrorKind::Unknown
                            } else {
                                ErrorKind::Connect
                            },
                            format!("{what}: {text}"),
                        ),
                        retryable: !write,
                        wait: None,
                        not_sent: false,
                    }
                }
            }
        }
    }

    // -- reads ----------------------------------------------------------------

    /// GET one page (route = path and query, relative to the base), with
    /// retries of transient failures.
    async fn get_page<T: DeserializeOwned>(
        &self,
        route: &str,
        what: &str,
    ) -> Result<GhPage<T>, ProviderError> {
        let total = self.opts.http.total_timeout;
        self.guard
            .retry_guarded(|| async move {
                match tokio::time::timeout(total, self.read_page::<T>(route, what)).await {
                    Ok(r) => r,
                    Err(_) => Err(Failure {
                        err: self.err(
                            ErrorKind::Timeout,
                            format!("{what}: no answer within {}s", total.as_secs_f64()),
                        ),
                        retryable: true,
                        wait: None,
                        not_sent: false,
                    }),
                }
            })
            .await
    }

    /// Read a response body under the provider's body budget (octocrab
    /// reads bodies whole, without a cap).
    async fn read_capped(
        &self,
        resp: http::Response<http_body_util::combinators::BoxBody<bytes::Bytes, octocrab::Error>>,
        what: &str,
        write: bool,
    ) -> Result<(http::response::Parts, bytes::Bytes), Failure> {
        use http_body_util::BodyExt;
        let crab = |e: octocrab::Error| self.failure(&e, what, write);
        let cap = self.opts.http.body_cap;
        let too_large = |n: String| Failure {
            err: self.err(
                ErrorKind::TooLarge,
                format!("{what}: body {n} exceeds the {cap}-byte cap"),
            ),
            retryable: false,
            wait: None,
            not_sent: false,
        };
        if let Some(len) = resp
            .headers()
            .get(reqwest::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            && len > cap as u64
        {
            return Err(too_large(format!("of {len} bytes")));
        }
        let (parts, mut body) = resp.into_parts();
        let mut held = self.body_budget.hold();
        let mut chunks: Vec<bytes::Bytes> = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(crab)?;
            if let Ok(data) = frame.into_data() {
                if !held.grow(data.len()) {
                    return Err(too_large("size".into()));
                }
                chunks.push(data);
            }
        }
        let bytes = bytes::Bytes::from(chunks.concat());
        drop(chunks);
        drop(held);
        Ok((parts, bytes))
    }

    /// One GET, its body read under the provider's body budget (octocrab
    /// itself reads bodies whole, without a cap) and decoded straight into
    /// `T` (no intermediate `serde_json::Value`, whose size can be many
    /// times the body's).
    async fn read_page<T: DeserializeOwned>(
        &self,
        route: &str,
        what: &str,
    ) -> Result<GhPage<T>, Failure> {
        use http_body_util::BodyExt;
        let crab = |e: octocrab::Error| self.failure(&e, what, false);
        let resp = self.crab._get(route).await.map_err(crab)?;
        let (parts, bytes) = self.read_capped(resp, what, false).await?;
        if !parts.status.is_success() {
            let full = http_body_util::Full::new(bytes)
                .map_err(|never| match never {})
                .boxed();
            let resp = http::Response::from_parts(parts, full);
            return match octocrab::map_github_error(resp).await {
                Err(e) => Err(crab(e)),
                Ok(_) => Err(self.decode_failure(
                    serde_json::error::Category::Data,
                    what,
                    "unexpected status".into(),
                )),
            };
        }
        let link = |rel: &str| {
            parts
                .headers
                .get_all(reqwest::header::LINK)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(|h| super::http::link_rel(h, rel))
                .and_then(|u| {
                    u.parse::<http::Uri>()
                        .ok()
                        .and_then(|u| u.path_and_query().map(|pq| pq.as_str().to_string()))
                })
        };
        let (next, last) = (link("next"), link("last"));
        let decode = |e: serde_json::Error| {
            let msg: String = e.to_string().chars().take(200).collect();
            self.decode_failure(e.classify(), what, msg)
        };
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
        let items = if first == Some(b'{') {
            let obj: GhListObject<T> = serde_json::from_slice(&bytes).map_err(decode)?;
            obj.workflow_runs.or(obj.items).ok_or_else(|| {
                self.decode_failure(
                    serde_json::error::Category::Data,
                    what,
                    "no list in the object".into(),
                )
            })?
        } else {
            serde_json::from_slice::<Vec<T>>(&bytes).map_err(decode)?
        };
        Ok(GhPage { items, next, last })
    }

    /// The next-page route of a `Link` URL: its path and query, always sent
    /// to the configured base (a token never follows a link to another host).
    fn next_route<T>(page: &GhPage<T>) -> Option<String> {
        page.next.clone()
    }

    /// All pages of a list, up to `max_pages`. When the first page's links
    /// number the pages (`page=2` next, `page=N` last), the rest are read
    /// [`PAGE_CONCURRENCY`] at a time and kept in order; otherwise one after
    /// the other, following `next`.
    async fn get_all<T: DeserializeOwned>(
        &self,
        route: String,
        what: &str,
        max_pages: usize,
    ) -> Result<Vec<T>, ProviderError> {
        let page: GhPage<T> = self.get_page(&route, what).await?;
        self.rest_of(page, what, max_pages).await
    }

    /// The items of `page` (a list's first page) and of the pages after it,
    /// up to `max_pages` in all (see [`Github::get_all`]).
    async fn rest_of<T: DeserializeOwned>(
        &self,
        mut page: GhPage<T>,
        what: &str,
        max_pages: usize,
    ) -> Result<Vec<T>, ProviderError> {
        use futures::{StreamExt, TryStreamExt};
        let max_pages = max_pages.max(1);
        if let Some(routes) = numbered_pages(page.next.as_deref(), page.last.as_deref()) {
            let total = routes.len() + 1;
            let routes: Vec<String> = routes.into_iter().take(max_pages - 1).collect();
            if total > max_pages {
                tracing::warn!("{}: {what}: stopped after {max_pages} pages", self.name);
            }
            let mut out = std::mem::take(&mut page.items);
            let pages: Vec<GhPage<T>> = futures::stream::iter(routes)
                .map(|r| async move { self.get_page::<T>(&r, what).await })
                .buffered(PAGE_CONCURRENCY)
                .try_collect()
                .await?;
            for mut p in pages {
                out.append(&mut p.items);
            }
            return Ok(out);
        }
        let mut out = Vec::new();
        for n in 1..=max_pages {
            out.append(&mut page.items);
            let Some(next) = Self::next_route(&page) else {
                return Ok(out);
            };
            if n == max_pages {
                tracing::warn!("{}: {what}: stopped after {n} pages", self.name);
                break;
            }
            page = self.get_page(&next, what).await?;
        }
        Ok(out)
    }

    /// The route and label of a deployments list.
    fn deployments_route(repo: &Repo, env: Option<&str>, sha: Option<&str>) -> (String, String) {
        let mut q: Vec<(&str, &str)> = Vec::new();
        if let Some(e) = env {
            q.push(("environment", e));
        }
        if let Some(s) = sha {
            q.push(("sha", s));
        }
        q.push(("per_page", "100"));
        (
            format!("{}/deployments?{}", repo.route(), query(&q)),
            format!("GET /repos/{}/deployments", repo.full()),
        )
    }

    async fn list_deployments(
        &self,
        repo: &Repo,
        env: Option<&str>,
        sha: Option<&str>,
        max_pages: usize,
    ) -> Result<Vec<GhDeployment>, ProviderError> {
        let (route, what) = Self::deployments_route(repo, env, sha);
        self.get_all(route, &what, max_pages).await
    }

    async fn latest_status(
        &self,
        repo: &Repo,
        id: u64,
    ) -> Result<(u64, StatusInfo), ProviderError> {
        self.latest_status_of(repo, id).await.map(|s| (id, s))
    }

    async fn latest_status_of(&self, repo: &Repo, id: u64) -> Result<StatusInfo, ProviderError> {
        let route = format!("{}/deployments/{id}/statuses?per_page=1", repo.route());
        let what = format!("GET /repos/{}/deployments/{id}/statuses", repo.full());
        match self.get_page::<GhStatus>(&route, &what).await {
            Ok(mut p) => {
                let s = std::mem::take(&mut p.items).into_iter().next();
                Ok(StatusInfo {
                    url: s.as_ref().and_then(|s| {
                        [&s.log_url, &s.target_url, &s.environment_url]
                            .into_iter()
                            .flatten()
                            .find(|u| u.starts_with("https://") || u.starts_with("http://"))
                            .cloned()
                    }),
                    state: s.map(|s| s.state),
                })
            }
            // Deleted between the list and this call.
            Err(e) if e.kind == ErrorKind::NotFound => Ok(StatusInfo {
                state: None,
                url: None,
            }),
            Err(e) => Err(e),
        }
    }

    /// Deployments of one repository (one environment, or all when none is
    /// configured), newest first, with their latest statuses.
    async fn group(
        &self,
        repo: &Repo,
        env: Option<&str>,
    ) -> Result<Vec<(GhDeployment, StatusInfo)>, ProviderError> {
        fn newest_first(a: &GhDeployment, b: &GhDeployment) -> std::cmp::Ordering {
            b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id))
        }
        let (route, what) = Self::deployments_route(repo, env, None);
        let first: GhPage<GhDeployment> = self.get_page(&route, &what).await?;
        // The statuses the first page already shows to be needed are read
        // while the remaining pages load: GitHub lists newest first, so the
        // first page holds the newest deploys. Only when the page is in that
        // order: a server listing oldest first would have the newest on the
        // last page, and reading ahead would only cost requests.
        let in_order = first
            .items
            .windows(2)
            .all(|w| newest_first(&w[0], &w[1]) != std::cmp::Ordering::Greater);
        let early: Vec<u64> = if in_order {
            self.statuses_needed(&first.items)
        } else {
            Vec::new()
        };
        let (list, got) = futures::join!(
            self.rest_of(first, &what, self.opts.max_pages),
            // Beside the pages' own requests: a few at a time, so the
            // two together stay near the connections the pages use.
            self.read_statuses(repo, &early, EARLY_STATUS_CONCURRENCY)
        );
        let mut list = list?;
        self.remember(got?);
        // Newest-first order is not documented: sort.
        list.sort_by(newest_first);
        let late: Vec<u64> = self
            .statuses_needed(&list)
            .into_iter()
            .filter(|id| !early.contains(id))
            .collect();
        let got = self
            .read_statuses(repo, &late, self.opts.status_concurrency)
            .await?;
        self.remember(got);
        let cache = self.statuses.lock().unwrap_or_else(|p| p.into_inner());
        Ok(list
            .into_iter()
            .map(|d| {
                let s = cache.get(&d.id).cloned().unwrap_or(StatusInfo {
                    state: None,
                    url: None,
                });
                (d, s)
            })
            .collect())
    }

    /// The deployments of a newest-first list whose latest status must be
    /// read: not known yet, not settled, or a success among the newest
    /// `refresh_window` of its environment (it may have gone inactive).
    fn statuses_needed<'a>(&self, list: impl IntoIterator<Item = &'a GhDeployment>) -> Vec<u64> {
        let cache = self.statuses.lock().unwrap_or_else(|p| p.into_inner());
        let mut newest_per_env: HashMap<&str, usize> = HashMap::new();
        list.into_iter()
            .filter(|d| {
                let e = d.environment.as_deref().unwrap_or_default();
                let rank = newest_per_env.entry(e).or_insert(0);
                *rank += 1;
                match cache.get(&d.id) {
                    None => true,
                    Some(s) if s.settled() => false,
                    Some(s) if s.state.as_deref() == Some("success") => {
                        *rank <= self.opts.refresh_window
                    }
                    Some(_) => true,
                }
            })
            .map(|d| d.id)
            .collect()
    }

    /// The latest status of each deployment in `ids`, a few at a time.
    async fn read_statuses(
        &self,
        repo: &Repo,
        ids: &[u64],
        at_once: usize,
    ) -> Result<Vec<(u64, StatusInfo)>, ProviderError> {
        let futs: Vec<_> = ids
            .iter()
            .copied()
            .map(|id| self.latest_status(repo, id))
            .collect();
        futures::stream::iter(futs)
            .buffer_unordered(at_once.max(1))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    }

    fn remember(&self, got: Vec<(u64, StatusInfo)>) {
        let mut cache = self.statuses.lock().unwrap_or_else(|p| p.into_inner());
        cache.extend(got);
    }

    async fn group_deploys(
        &self,
        repo: &Repo,
        env: Option<&str>,
    ) -> Result<Vec<Deploy>, ProviderError> {
        let g = self.group(repo, env).await?;
        Ok(g.iter()
            .map(|(d, s)| self.to_deploy(repo, env, d, s))
            .collect())
    }

    fn to_deploy(
        &self,
        repo: &Repo,
        env: Option<&str>,
        d: &GhDeployment,
        s: &StatusInfo,
    ) -> Deploy {
        let environment = d
            .environment
            .as_deref()
            .or(env)
            .unwrap_or("production")
            .to_string();
        let url = s.url.clone().unwrap_or_else(|| {
            format!(
                "{}/{}/{}/deployments/{}",
                self.web,
                repo.owner,
                repo.name,
                seg(&environment)
            )
        });
        Deploy {
            provider: SafeText::line(&self.name),
            service: SafeText::line(&repo.service),
            environment: SafeText::line(&environment),
            id: SafeText::line(&d.id.to_string()),
            git_ref: SafeText::line(&d.git_ref),
            sha: SafeText::line(&d.sha),
            state: map_state(s.state.as_deref()),
            provider_state: SafeText::line(s.state.as_deref().unwrap_or("none")),
            created_at: d.created_at,
            creator: d
                .creator
                .as_ref()
                .and_then(|c| c.login.as_deref())
                .map(SafeText::line),
            url: Some(SafeText::line(&url)),
            current: false,
            description: d
                .description
                .as_deref()
                .filter(|s| !s.trim().is_empty())
                .map(SafeText::line),
        }
    }

    fn envs(&self) -> Vec<Option<&str>> {
        if self.environments.is_empty() {
            vec![None]
        } else {
            self.environments.iter().map(|e| Some(e.as_str())).collect()
        }
    }

    async fn fetch_all(&self) -> Result<Fetched, ProviderError> {
        let mut jobs = Vec::new();
        for repo in &self.repos {
            for env in self.envs() {
                jobs.push((repo, env));
            }
        }
        let futs: Vec<_> = jobs
            .into_iter()
            .map(|(repo, env)| self.group_deploys(repo, env))
            .collect();
        let results: Vec<Result<Vec<Deploy>, ProviderError>> =
            futures::stream::iter(futs).buffered(4).collect().await;
        let mut deploys = Vec::new();
        for r in results {
            deploys.extend(r?);
        }
        let mut runs = Vec::new();
        if let Some(wf) = &self.workflow {
            for repo in &self.repos {
                runs.extend(self.workflow_runs(repo, wf).await?);
            }
        }
        // Keep the status cache to what is still listed.
        {
            let ids: std::collections::HashSet<u64> = deploys
                .iter()
                .filter_map(|d| d.id.as_str().parse().ok())
                .collect();
            let mut cache = self.statuses.lock().unwrap_or_else(|p| p.into_inner());
            cache.retain(|id, _| ids.contains(id));
        }
        rollback::mark_current(&mut deploys);
        // Workflow runs are shown for information; none of them is "live".
        deploys.extend(runs);
        deploys.sort_by(rollback::newest_first);
        Ok(Fetched {
            deploys,
            ..Fetched::default()
        })
    }

    /// The newest runs (one page of 30) of the deploy workflow.
    async fn workflow_runs(
        &self,
        repo: &Repo,
        workflow: &str,
    ) -> Result<Vec<Deploy>, ProviderError> {
        let route = format!(
            "{}/actions/workflows/{}/runs?per_page=30",
            repo.route(),
            seg(workflow)
        );
        let what = format!(
            "GET /repos/{}/actions/workflows/{workflow}/runs",
            repo.full()
        );
        let page: GhPage<GhRun> = self.get_page(&route, &what).await?;
        let env = runs_environment(workflow);
        Ok(page
            .items
            .into_iter()
            .map(|r| {
                let (state, raw) = map_run(r.status.as_deref(), r.conclusion.as_deref());
                Deploy {
                    provider: SafeText::line(&self.name),
                    service: SafeText::line(&repo.service),
                    environment: SafeText::line(&env),
                    id: SafeText::line(&r.id.to_string()),
                    git_ref: SafeText::line(r.head_branch.as_deref().unwrap_or("-")),
                    sha: SafeText::line(r.head_sha.as_deref().unwrap_or_default()),
                    state,
                    provider_state: SafeText::line(&raw),
                    created_at: r.created_at,
                    creator: r
                        .actor
                        .as_ref()
                        .and_then(|a| a.login.as_deref())
                        .map(SafeText::line),
                    url: r
                        .html_url
                        .as_deref()
                        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
                        .map(SafeText::line),
                    current: false,
                    description: r
                        .display_title
                        .as_deref()
                        .or(r.name.as_deref())
                        .map(SafeText::line),
                }
            })
            .collect())
    }

    // -- rollback ---------------------------------------------------------------

    fn repo_for(&self, service: &str) -> Result<&Repo, ProviderError> {
        self.repos
            .iter()
            .find(|r| r.service == service)
            .or_else(|| self.repos.iter().find(|r| r.full().eq_ignore_ascii_case(service)))
            .ok_or_else(|| {
                self.err(
                    ErrorKind::NotFound,
                    format!(
                        "no repository of provider {} deploys service {service} (map it with [[service]] deploys = {{ provider = \"{}\", repo = \"owner/name\" }})",
                        self.name, self.name
                    ),
                )
            })
    }

    fn planned_headers(&self) -> Vec<(String, String)> {
        vec![
            ("Accept".into(), ACCEPT.into()),
            ("Authorization".into(), "Bearer <redacted>".into()),
            ("X-GitHub-Api-Version".into(), API_VERSION.into()),
            ("User-Agent".into(), "octocrab".into()),
            ("Content-Type".into(), "application/json".into()),
        ]
    }

    /// The request route a rollback of `repo` goes to.
    fn write_route(&self, repo: &Repo) -> String {
        match &self.strategy {
            Strategy::Redeploy => format!("{}/deployments", repo.route()),
            Strategy::Workflow { workflow, .. } => format!(
                "{}/actions/workflows/{}/dispatches",
                repo.route(),
                seg(workflow)
            ),
        }
    }

    async fn plan_rollback(
        &self,
        op: &WriteOp,
        service: &str,
        environment: &str,
        to: Option<&str>,
    ) -> Result<Plan, ProviderError> {
        if environment.starts_with("actions:") {
            return Err(self.err(
                ErrorKind::Unsupported,
                format!(
                    "{environment} lists workflow runs for information; roll back a deployment environment ({})",
                    if self.environments.is_empty() {
                        "e.g. production".to_string()
                    } else {
                        self.environments.join(", ")
                    }
                ),
            ));
        }
        let repo = self.repo_for(service)?;
        let g = self.group(repo, Some(environment)).await?;
        let mut deploys: Vec<Deploy> = g
            .iter()
            .map(|(d, s)| self.to_deploy(repo, Some(environment), d, s))
            .filter(|d| d.environment.as_str() == environment)
            .collect();
        rollback::mark_current(&mut deploys);
        let now = chrono::Utc::now();
        // A rollback created by sitrep that has not finished yet: a second
        // one now would roll back twice. `--to` is taken as deliberate.
        if to.is_none()
            && let Some((d, st)) = g.iter().find(|(d, st)| {
                payload_action(&d.payload).as_deref() == Some("rollback")
                    && matches!(
                        map_state(st.state.as_deref()),
                        DeployState::Queued | DeployState::InProgress
                    )
                    && now - d.created_at < chrono::Duration::minutes(PENDING_ROLLBACK_MINUTES)
            })
        {
            return Err(self.err(
                ErrorKind::Conflict { status: 409 },
                format!(
                    "a rollback of {service}/{environment} to {} {} is still {} (deployment {}, {} ago); wait for it to finish, or name the target with --to",
                    d.git_ref,
                    util::short_sha(&d.sha),
                    st.state.as_deref().unwrap_or("waiting for a status"),
                    d.id,
                    util::age(now, d.created_at)
                ),
            ));
        }
        // Shas earlier sitrep rollbacks moved away from are not targets.
        let mut skip: Vec<String> = g
            .iter()
            .filter_map(|(d, _)| payload_from_sha(&d.payload))
            .collect();
        skip.sort();
        skip.dedup();
        let (live, target) =
            rollback::pick_skipping(&self.name, service, environment, &deploys, to, &skip)?;
        let mut stakes = rollback::stakes(live, target, now);
        let url = format!("{}{}", self.base, self.write_route(repo));
        let short = util::short_sha(target.sha.as_str()).to_string();
        let (body, strategy) = match &self.strategy {
            Strategy::Redeploy => {
                let mut body = serde_json::json!({
                    "ref": target.sha.as_str(),
                    "task": "deploy",
                    "auto_merge": false,
                    "environment": environment,
                    "description": format!("Rollback to {} ({short}) via sitrep", target.git_ref),
                    "payload": {
                        "sitrep": {
                            "action": "rollback",
                            "reason": null,
                            "idempotency_key": KEY_PLACEHOLDER,
                            "from": live.map(|l| serde_json::json!({
                                "id": l.id.as_str(), "sha": l.sha.as_str(), "ref": l.git_ref.as_str()
                            })),
                            "to": {
                                "id": target.id.as_str(), "sha": target.sha.as_str(), "ref": target.git_ref.as_str()
                            },
                        }
                    },
                });
                if self.opts.skip_status_checks
                    && let Some(o) = body.as_object_mut()
                {
                    o.insert("required_contexts".into(), serde_json::json!([]));
                }
                (body, format!("redeploy: new deployment of {short}"))
            }
            Strategy::Workflow { workflow, git_ref } => (
                serde_json::json!({
                    "ref": git_ref,
                    "inputs": { "environment": environment, "sha": target.sha.as_str() },
                }),
                format!("workflow {workflow} on {git_ref}"),
            ),
        };
        stakes.push(("strategy".into(), strategy));
        stakes.push(("repository".into(), repo.full()));
        Ok(Plan {
            precondition: Precondition::None,
            op: op.clone(),
            provider: self.name.clone(),
            summary: format!(
                "roll back {service}/{environment} to {} ({short})",
                target.git_ref
            ),
            stakes,
            requests: vec![PlannedRequest {
                method: "POST".into(),
                url,
                headers: self.planned_headers(),
                body: Some(body),
            }],
            detail: serde_json::json!({
                "repository": repo.full(),
                "environment": environment,
                "strategy": match &self.strategy { Strategy::Redeploy => "redeploy", Strategy::Workflow { .. } => "workflow" },
                "from_id": live.map(|l| l.id.as_str().to_string()),
                "from_sha": live.map(|l| l.sha.as_str().to_string()),
                "to_id": target.id.as_str(),
                "to_sha": target.sha.as_str(),
                "to_ref": target.git_ref.as_str(),
            }),
        })
    }

    /// Send one write. Never retried.
    async fn post(
        &self,
        route: &str,
        body: &serde_json::Value,
        what: &str,
    ) -> Result<(u16, String), ProviderError> {
        self.guard.precheck()?;
        let fut = async {
            let resp = self
                .crab
                ._post(route, Some(body))
                .await
                .map_err(|e| self.failure(&e, what, true))?;
            let status = resp.status().as_u16();
            // Read under the body cap, as reads are.
            let (parts, bytes) = self.read_capped(resp, what, true).await?;
            if !(200..300).contains(&status) {
                // Turns the answer into octocrab's `Error::GitHub`.
                use http_body_util::BodyExt;
                let full = http_body_util::Full::new(bytes)
                    .map_err(|never| match never {})
                    .boxed();
                octocrab::map_github_error(http::Response::from_parts(parts, full))
                    .await
                    .map_err(|e| self.failure(&e, what, true))?;
                return Ok((status, String::new()));
            }
            Ok::<_, Failure>((status, String::from_utf8_lossy(&bytes).into_owned()))
        };
        match tokio::time::timeout(self.opts.http.write_timeout, fut).await {
            Ok(Ok(r)) => {
                self.guard.record_outcome(None);
                Ok(r)
            }
            Ok(Err(f)) => {
                self.guard.record_outcome(Some(&f.err));
                Err(self.guard.write_failure(f))
            }
            Err(_) => Err(self.err(
                ErrorKind::Unknown,
                format!(
                    "{what}: no answer within {}s; it may or may not have been applied: check before retrying",
                    self.opts.http.write_timeout.as_secs()
                ),
            )),
        }
    }

    async fn execute_rollback(
        &self,
        plan: &Plan,
        key: &str,
        service: &str,
        environment: &str,
    ) -> Result<ExecResult, ProviderError> {
        if let Some(r) = self.done.lock().unwrap_or_else(|p| p.into_inner()).get(key) {
            return Ok(r.clone());
        }
        let repo = self.repo_for(service)?;
        let route = self.write_route(repo);
        let expected = format!("{}{route}", self.base);
        let [req] = plan.requests.as_slice() else {
            return Err(self.err(
                ErrorKind::Config,
                "the plan does not hold exactly one request; nothing sent",
            ));
        };
        if !req.method.eq_ignore_ascii_case("POST") || req.url != expected {
            return Err(self.err(
                ErrorKind::Config,
                format!(
                    "the plan does not match the operation ({} {} planned, POST {expected} expected); nothing sent",
                    req.method, req.url
                ),
            ));
        }
        let mut body = req
            .body
            .clone()
            .ok_or_else(|| self.err(ErrorKind::Config, "the plan has no body; nothing sent"))?;
        let to_sha = plan
            .detail
            .get("to_sha")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        let what = format!("POST {route}");
        let result = match &self.strategy {
            Strategy::Redeploy => {
                if body.get("ref").and_then(|v| v.as_str()) != Some(to_sha.as_str()) {
                    return Err(self.err(
                        ErrorKind::Config,
                        "the planned ref does not match the planned target; nothing sent",
                    ));
                }
                // Fill in the key (the reason is in the planned payload).
                let Some(s) = body
                    .pointer_mut("/payload/sitrep")
                    .and_then(|s| s.as_object_mut())
                else {
                    return Err(self.err(
                        ErrorKind::Config,
                        "the planned payload has no sitrep record to carry the idempotency key; nothing sent",
                    ));
                };
                s.insert("idempotency_key".into(), key.into());
                // A retried rollback must not deploy twice: look for a
                // deployment of this sha already carrying the key.
                let existing = self
                    .list_deployments(repo, Some(environment), Some(&to_sha), 3)
                    .await
                    .map_err(|e| {
                        self.err(
                            e.kind.clone(),
                            format!(
                                "could not check for an earlier attempt with this idempotency key, nothing sent: {}",
                                e.detail
                            ),
                        )
                    })?;
                if let Some(d) = existing
                    .iter()
                    .find(|d| payload_key(&d.payload).as_deref() == Some(key))
                {
                    ExecResult {
                        message: format!(
                            "rollback of {service}/{environment} already created as deployment {} ({}); nothing sent again",
                            d.id,
                            util::short_sha(&d.sha)
                        ),
                        detail: serde_json::json!({"deployment_id": d.id, "existing": true, "sha": d.sha}),
                    }
                } else {
                    let (status, text) = self.post(&route, &body, &what).await?;
                    if status == 202 {
                        return Err(self.err(
                            ErrorKind::Conflict { status },
                            format!(
                                "{what}: GitHub merged the default branch instead of creating a deployment: {}",
                                super::http::error_excerpt(text.as_bytes(), &[self.token.expose()])
                            ),
                        ));
                    }
                    let d: GhDeployment = serde_json::from_str(&text).map_err(|e| {
                        self.err(
                            ErrorKind::Shape,
                            format!("{what}: created (HTTP {status}) but the answer is not a deployment: {e}"),
                        )
                    })?;
                    ExecResult {
                        message: format!(
                            "rolled back {service}/{environment}: deployment {} of {} created",
                            d.id,
                            util::short_sha(&d.sha)
                        ),
                        detail: serde_json::json!({"deployment_id": d.id, "status": status, "sha": d.sha, "existing": false}),
                    }
                }
            }
            Strategy::Workflow { workflow, git_ref } => {
                let (status, _) = self.post(&route, &body, &what).await?;
                ExecResult {
                    message: format!(
                        "dispatched {workflow} on {git_ref} to roll back {service}/{environment} to {}",
                        util::short_sha(&to_sha)
                    ),
                    detail: serde_json::json!({"status": status, "workflow": workflow, "sha": to_sha}),
                }
            }
        };
        self.done
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string(), result.clone());
        Ok(result)
    }
}

impl Provider for Github {
    fn name(&self) -> &str {
        &self.name
    }
    /// Latest statuses from the cached deploys, so a new process reads
    /// only what a long-running one would: the statuses of deployments
    /// without one, not settled, or among the newest `refresh_window`
    /// successes of an environment (the rest are history).
    fn wants_seed(&self) -> bool {
        true
    }
    fn seed(&self, cached: &Fetched) {
        let mut cache = self.statuses.lock().unwrap_or_else(|p| p.into_inner());
        if !cache.is_empty() {
            return;
        }
        let runs_env = self.workflow.as_deref().map(runs_environment);
        for d in &cached.deploys {
            if d.provider.as_str() != self.name
                || runs_env.as_deref() == Some(d.environment.as_str())
            {
                continue;
            }
            let Ok(id) = d.id.as_str().parse::<u64>() else {
                continue;
            };
            let raw = d.provider_state.as_str();
            if raw == "none" || raw.is_empty() {
                continue;
            }
            cache.insert(
                id,
                StatusInfo {
                    state: Some(raw.to_string()),
                    url: d.url.as_ref().map(|u| u.as_str().to_string()),
                },
            );
        }
    }
    fn kind(&self) -> ProviderKind {
        ProviderKind::Github
    }
    fn poll_interval(&self) -> Duration {
        self.poll
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
                op.provider() == Some(self.name.as_str()) || self.repo_for(service).is_ok()
            }
            _ => false,
        }
    }
    fn plan<'a>(
        &'a self,
        op: &'a WriteOp,
        ctx: &'a PlanCtx,
    ) -> BoxFut<'a, Result<Plan, ProviderError>> {
        Box::pin(async move {
            match op {
                WriteOp::Rollback {
                    service,
                    environment,
                    to,
                    ..
                } => {
                    let mut plan = self
                        .plan_rollback(op, service, environment, to.as_deref())
                        .await?;
                    // The reason travels in the deployment's own payload.
                    let reason = ctx.reason.trim();
                    for r in &mut plan.requests {
                        if let Some(s) = r
                            .body
                            .as_mut()
                            .and_then(|b| b.pointer_mut("/payload/sitrep"))
                            .and_then(|s| s.as_object_mut())
                            && !reason.is_empty()
                        {
                            s.insert("reason".into(), reason.into());
                        }
                    }
                    Ok(plan)
                }
                other => Err(ProviderError::op_unsupported(&self.name, "GitHub", other)),
            }
        })
    }
    fn execute<'a>(
        &'a self,
        plan: &'a Plan,
        idempotency_key: &'a str,
    ) -> BoxFut<'a, Result<ExecResult, ProviderError>> {
        Box::pin(async move {
            match &plan.op {
                WriteOp::Rollback {
                    service,
                    environment,
                    ..
                } => {
                    self.execute_rollback(plan, idempotency_key, service, environment)
                        .await
                }
                other => Err(ProviderError::op_unsupported(&self.name, "GitHub", other)),
            }
        })
    }
}

/// Decode `body` with every wire type this provider reads (the decoders of
/// the fetch and write paths), for the fuzz targets and property tests:
/// any input is a value or a `ProviderError`, never a panic.
pub fn decode_wire(body: &[u8]) -> Result<(), ProviderError> {
    super::http::first_error([
        super::http::decode_json::<Vec<GhDeployment>>("fuzz", "GET deployments", body).map(drop),
        super::http::decode_json::<Vec<GhStatus>>("fuzz", "GET statuses", body).map(drop),
        super::http::decode_json::<GhListObject<GhRun>>("fuzz", "GET workflow runs", body)
            .map(drop),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_follow_the_spec() {
        assert_eq!(map_state(Some("error")), DeployState::Failure);
        assert_eq!(map_state(Some("failure")), DeployState::Failure);
        assert_eq!(map_state(Some("pending")), DeployState::Queued);
        assert_eq!(map_state(Some("queued")), DeployState::Queued);
        assert_eq!(map_state(Some("in_progress")), DeployState::InProgress);
        assert_eq!(map_state(Some("success")), DeployState::Success);
        assert_eq!(map_state(Some("inactive")), DeployState::Inactive);
        assert_eq!(map_state(None), DeployState::Queued);
    }

    #[test]
    fn workflow_runs_map() {
        assert_eq!(
            map_run(Some("completed"), Some("success")),
            (DeployState::Success, "success".into())
        );
        assert_eq!(
            map_run(Some("completed"), Some("timed_out")).0,
            DeployState::Failure
        );
        assert_eq!(
            map_run(Some("completed"), Some("cancelled")).0,
            DeployState::Canceled
        );
        assert_eq!(
            map_run(Some("completed"), Some("skipped")).0,
            DeployState::Inactive
        );
        assert_eq!(
            map_run(Some("in_progress"), None).0,
            DeployState::InProgress
        );
        assert_eq!(
            map_run(Some("waiting"), None),
            (DeployState::Queued, "waiting".into())
        );
    }

    #[test]
    fn payloads_keep_only_the_sitrep_record() {
        let list: Vec<GhDeployment> = serde_json::from_str(
            r#"[
              {"id":1,"sha":"a","ref":"r","created_at":"2026-11-22T01:00:00Z","payload":{"big":[1,2,3],"sitrep":{"idempotency_key":"k1","action":"rollback","from":{"sha":"s0"}}}},
              {"id":2,"sha":"a","ref":"r","created_at":"2026-11-22T01:00:00Z","payload":"{\"sitrep\":{\"idempotency_key\":\"k2\"}}"},
              {"id":3,"sha":"a","ref":"r","created_at":"2026-11-22T01:00:00Z","payload":[1,{"sitrep":{}}]},
              {"id":4,"sha":"a","ref":"r","created_at":"2026-11-22T01:00:00Z","payload":{"sitrep":5}},
              {"id":5,"sha":"a","ref":"r","created_at":"2026-11-22T01:00:00Z","payload":"not json"},
              {"id":6,"sha":"a","ref":"r","created_at":"2026-11-22T01:00:00Z","payload":null},
              {"id":7,"sha":"a","ref":"r","created_at":"2026-11-22T01:00:00Z"}
            ]"#,
        )
        .unwrap();
        assert_eq!(payload_key(&list[0].payload).as_deref(), Some("k1"));
        assert_eq!(payload_from_sha(&list[0].payload).as_deref(), Some("s0"));
        assert!(list[0].payload.get("big").is_none(), "the rest is not kept");
        assert_eq!(payload_key(&list[1].payload).as_deref(), Some("k2"));
        for d in &list[2..] {
            assert_eq!(payload_key(&d.payload), None, "{}", d.id);
        }
    }

    #[test]
    fn payload_key_reads_objects_and_strings() {
        let o = serde_json::json!({"sitrep": {"idempotency_key": "k1"}});
        assert_eq!(payload_key(&o).as_deref(), Some("k1"));
        let s = serde_json::Value::String(r#"{"sitrep":{"idempotency_key":"k2"}}"#.into());
        assert_eq!(payload_key(&s).as_deref(), Some("k2"));
        assert_eq!(payload_key(&serde_json::json!("")), None);
        assert_eq!(payload_key(&serde_json::json!({})), None);
    }

    #[test]
    fn numbered_pages_only_for_the_same_list() {
        let next = "/repositories/1/deployments?per_page=100&page=2";
        let last = "/repositories/1/deployments?per_page=100&page=4";
        assert_eq!(
            numbered_pages(Some(next), Some(last)),
            Some(vec![
                "/repositories/1/deployments?per_page=100&page=2".to_string(),
                "/repositories/1/deployments?per_page=100&page=3".to_string(),
                "/repositories/1/deployments?per_page=100&page=4".to_string(),
            ])
        );
        // No last link, another list, other parameters, a cursor, a huge span.
        assert_eq!(numbered_pages(Some(next), None), None);
        assert_eq!(
            numbered_pages(
                Some(next),
                Some("/repositories/2/deployments?per_page=100&page=4")
            ),
            None
        );
        assert_eq!(
            numbered_pages(
                Some(next),
                Some("/repositories/1/deployments?per_page=50&page=4")
            ),
            None
        );
        assert_eq!(
            numbered_pages(Some("/x?after=abc"), Some("/x?page=9")),
            None
        );
        assert_eq!(
            numbered_pages(Some("/x?page=2"), Some("/x?page=999999")),
            None
        );
        assert_eq!(numbered_pages(Some("/x?page=3"), Some("/x?page=2")), None);
    }

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
