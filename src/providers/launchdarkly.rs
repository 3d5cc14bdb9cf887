//! LaunchDarkly REST API v2 (providers.md §6), on the shared HTTP layer.
//!
//! - Auth: `Authorization: <access token>` (raw, no `Bearer`), `LD-API-Version: 20240415`.
//! - Read: `GET /api/v2/flags/{project}?env=<env>&filter=filterEnv:<env>&limit=100&offset=N`
//!   (both `env` and `filterEnv`, as providers.md advises), paged with
//!   `offset` while `_links.next` is present or `totalCount` says there is more.
//! - `on` = `environments.<env>.on`; archived flags are left out.
//! - `service`: the `[[service]]` whose `flags` or `kill_switch` names the key.
//! - `kill_switch`: the flag is tagged `kill-switch` (also `killswitch`,
//!   `kill_switch`), or it is a permanent (`temporary: false`) boolean flag,
//!   which is what LaunchDarkly's own "kill switch" flag template creates.
//! - Write: semantic patch `PATCH /api/v2/flags/{project}/{key}` with
//!   `Content-Type: application/json; domain-model=launchdarkly.semanticpatch`
//!   and `{"environmentKey", "instructions":[{"kind":"turnFlagOff"|"turnFlagOn"}], "comment"}`.
//!   Never retried. 405 (approval required) and 409 (conflict) are explained.

use super::http::{Auth, HttpClient, HttpConfig, seg};
use super::{
    Basics, BuildCtx, ErrorKind, Provider, ProviderError, TokenUse, http_client, is_flag_set,
    require,
};
use crate::config::{ProviderConfig, ProviderKind};
use crate::model::{Flag, Time};
use crate::ops::{ExecResult, Plan, PlanCtx, PlannedRequest, Precondition, WriteOp};
use crate::text::SafeText;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub const API_VERSION: &str = "20240415";
pub const SEMANTIC_PATCH: &str = "application/json; domain-model=launchdarkly.semanticpatch";
/// Page size asked for (the API default is 20).
pub const PAGE_LIMIT: usize = 100;

pub struct LaunchDarkly {
    basics: Basics,
    project: String,
    environment: String,
    http: HttpClient,
    /// Flag key → `[[service]]` (`flags`, `kill_switch`).
    services: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct Page {
    /// Always present in LaunchDarkly's answer: a body without it is the
    /// wrong shape, never "no flags" (a kill switch must not vanish).
    items: Vec<LdFlag>,
    #[serde(default, rename = "_links")]
    links: Links,
    #[serde(default, rename = "totalCount")]
    total_count: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
struct Links {
    next: Option<Href>,
}

#[derive(Debug, Deserialize)]
struct Href {
    href: SafeText,
}

#[derive(Debug, Deserialize)]
struct LdFlag {
    key: SafeText,
    name: Option<SafeText>,
    kind: Option<SafeText>,
    #[serde(default)]
    tags: Vec<SafeText>,
    temporary: Option<bool>,
    #[serde(default)]
    archived: bool,
    #[serde(default, rename = "_version")]
    version: Option<i64>,
    #[serde(default)]
    environments: BTreeMap<String, LdEnv>,
}

#[derive(Debug, Deserialize)]
struct LdEnv {
    on: bool,
    #[serde(default, rename = "lastModified")]
    last_modified: Option<i64>,
    #[serde(default, rename = "_site")]
    site: Option<Href>,
    #[serde(default)]
    version: Option<i64>,
}

impl LdFlag {
    fn is_kill_switch(&self) -> bool {
        let tagged = self.tags.iter().any(|t| {
            ["kill-switch", "killswitch", "kill_switch"]
                .iter()
                .any(|k| t.as_str().eq_ignore_ascii_case(k))
        });
        let permanent_boolean = self.temporary == Some(false)
            && self.kind.as_ref().is_some_and(|k| k.as_str() == "boolean");
        tagged || permanent_boolean
    }
}

fn ms_to_time(ms: i64) -> Option<Time> {
    chrono::DateTime::from_timestamp_millis(ms)
}

impl LaunchDarkly {
    /// The flags of one LaunchDarkly project and environment; `cfg`
    /// replaces the HTTP settings of `timeout` (tests shrink waits).
    pub fn with_http_config(
        pc: &ProviderConfig,
        ctx: &BuildCtx<'_>,
        cfg: HttpConfig,
    ) -> Result<Self, ProviderError> {
        let project = require(pc, &pc.project, "launchdarkly needs `project`")?;
        let environment = require(pc, &pc.environment, "launchdarkly needs `environment`")?;
        let token = TokenUse::Required("token", Auth::Raw);
        let http = http_client(pc, ctx, cfg, "no base_url", token)?
            .with_header("LD-API-Version", API_VERSION);
        Ok(LaunchDarkly {
            basics: Basics::new(pc, ProviderKind::Launchdarkly),
            project,
            environment,
            http,
            services: super::flag_services(ctx.config),
        })
    }

    new_with_default_http!();

    fn err(&self, kind: ErrorKind, detail: impl AsRef<str>) -> ProviderError {
        ProviderError::new(&self.basics.name, kind, detail)
    }

    fn flags_url(&self) -> String {
        self.http
            .url(&format!("/api/v2/flags/{}", seg(&self.project)))
    }

    fn flag_url(&self, key: &str) -> String {
        self.http.url(&format!(
            "/api/v2/flags/{}/{}",
            seg(&self.project),
            seg(key)
        ))
    }

    fn to_flag(&self, f: &LdFlag) -> Result<Flag, ProviderError> {
        let env = f.environments.get(&self.environment).ok_or_else(|| {
            self.err(
                ErrorKind::Shape,
                format!(
                    "flag {} has no environment {:?} in the response; check `environment` (the environment key, not its name)",
                    f.key, self.environment
                ),
            )
        })?;
        Ok(Flag {
            provider: SafeText::line(&self.basics.name),
            key: f.key.clone(),
            name: f
                .name
                .clone()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| f.key.clone()),
            environment: Some(SafeText::line(&self.environment)),
            on: env.on,
            kill_switch: f.is_kill_switch(),
            updated_at: env.last_modified.and_then(ms_to_time),
            url: env
                .site
                .as_ref()
                .map(|s| SafeText::line(&self.http.url(s.href.as_str()))),
            service: self.services.get(f.key.as_str()).map(|s| SafeText::line(s)),
        })
    }

    async fn list(&self) -> Result<Vec<Flag>, ProviderError> {
        let url = self.flags_url();
        let max_pages = self.http.config().max_pages.max(1);
        let mut out = Vec::new();
        let mut offset = 0usize;
        for _ in 0..max_pages {
            let query = [
                ("env", self.environment.clone()),
                ("filter", format!("filterEnv:{}", self.environment)),
                ("limit", PAGE_LIMIT.to_string()),
                ("offset", offset.to_string()),
            ];
            let page: Page = self.http.get_json(&url, &query).await?;
            let n = page.items.len();
            for f in page.items.iter().filter(|f| !f.archived) {
                out.push(self.to_flag(f)?);
            }
            offset += n;
            let more = page.links.next.is_some() || page.total_count.is_some_and(|t| offset < t);
            if n == 0 || !more {
                return Ok(out);
            }
        }
        tracing::warn!("{}: stopped after {max_pages} pages", self.basics.name);
        Ok(out)
    }

    /// The comment of a change: the responder's reason, else what was done.
    fn comment(action: &str, ctx: &PlanCtx) -> String {
        ctx.reason_or(|| format!("{action} via sitrep"))
    }

    fn body(environment: &str, on: bool, comment: &str) -> Value {
        json!({
            "environmentKey": environment,
            "instructions": [{"kind": if on { "turnFlagOn" } else { "turnFlagOff" }}],
            "comment": comment,
        })
    }

    async fn make_plan(&self, op: &WriteOp, ctx: &PlanCtx) -> Result<Plan, ProviderError> {
        let WriteOp::FlagSet {
            key,
            environment,
            on,
            ..
        } = op
        else {
            return Err(ProviderError::unsupported(
                &self.basics.name,
                op.action_name(),
            ));
        };
        if let Some(e) = environment
            && e != &self.environment
        {
            return Err(self.err(
                ErrorKind::NotFound,
                format!(
                    "provider {} serves environment {:?}, not {e:?}",
                    self.basics.name, self.environment
                ),
            ));
        }
        let url = self.flag_url(key);
        let flag: LdFlag = match self
            .http
            .get(&url, &[("env", self.environment.clone())])
            .await
        {
            Ok(r) => r.json()?,
            Err(e) if e.kind == ErrorKind::NotFound => {
                return Err(self.err(
                    ErrorKind::NotFound,
                    format!("no flag {key} in LaunchDarkly project {}", self.project),
                ));
            }
            Err(e) => return Err(e),
        };
        let env = flag.environments.get(&self.environment).ok_or_else(|| {
            self.err(
                ErrorKind::NotFound,
                format!("flag {key} has no environment {:?}", self.environment),
            )
        })?;
        let shown = SafeText::line(key);
        let state = |b: bool| if b { "ON" } else { "OFF" };
        let action = op.action_name();
        let restore = on
            .then(|| super::recorded_restore(ctx, &self.basics.name))
            .flatten();
        let target = restore.as_ref().map_or(*on, |r| r.0);
        let body = Self::body(&self.environment, target, &Self::comment(action, ctx));
        let mut stakes = vec![
            ("now".to_string(), state(env.on).to_string()),
            (
                "flag".to_string(),
                flag.name.as_ref().unwrap_or(&flag.key).to_string(),
            ),
            (
                "where".to_string(),
                SafeText::line(&format!(
                    "project {}, environment {}",
                    self.project, self.environment
                ))
                .into_string(),
            ),
        ];
        if let Some((_, note)) = &restore {
            stakes.push(("restore".into(), note.clone()));
        }
        if env.on == target {
            stakes.push((
                "change".into(),
                format!(
                    "none: already {} (the request is still sent)",
                    state(target)
                ),
            ));
        }
        Ok(Plan {
            precondition: Precondition::None,
            environment: Some(self.environment.clone()),
            op: op.clone(),
            provider: self.basics.name.clone(),
            summary: SafeText::line(&format!(
                "turn LaunchDarkly flag {shown} {} in {}",
                state(target),
                self.environment
            ))
            .into_string(),
            stakes,
            requests: vec![PlannedRequest {
                method: "PATCH".into(),
                url,
                headers: self
                    .http
                    .redacted_headers(&[("Content-Type", SEMANTIC_PATCH)]),
                body: Some(body),
            }],
            detail: json!({
                "project": self.project,
                "environment": self.environment,
                "was_on": env.on,
                "target_on": target,
                "flag_version": flag.version,
                "env_version": env.version,
            }),
        })
    }

    async fn apply(
        &self,
        plan: &Plan,
        _idempotency_key: &str,
    ) -> Result<ExecResult, ProviderError> {
        let WriteOp::FlagSet { key, on, .. } = &plan.op else {
            return Err(ProviderError::unsupported(
                &self.basics.name,
                plan.op.action_name(),
            ));
        };
        // A restore may put the flag back OFF (see `super::recorded_restore`).
        let on = &plan
            .detail
            .get("target_on")
            .and_then(Value::as_bool)
            .unwrap_or(*on);
        let url = self.flag_url(key);
        let shown = SafeText::line(key);
        // The planned request is sent as confirmed (its comment may carry
        // the reason), after checking it is the change this op means.
        let req = plan
            .requests
            .first()
            .ok_or_else(|| self.err(ErrorKind::Config, "the plan has no request; plan again"))?;
        let body = req.body.as_ref();
        let comment = body
            .and_then(|b| b.get("comment"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if body != Some(&Self::body(&self.environment, *on, &comment)) {
            return Err(self.err(
                ErrorKind::Config,
                "the planned body is not the semantic patch for this action; nothing sent, plan again",
            ));
        }
        let resp = self
            .http
            .send_planned(
                req,
                (&Method::PATCH, &url),
                &[("Content-Type", SEMANTIC_PATCH)],
                None,
            )
            .await
            .map_err(|e| self.explain(e, shown.as_str()))?;
        let state = if *on { "ON" } else { "OFF" };
        let after: Option<LdFlag> = resp.json().ok();
        let env_after = after
            .as_ref()
            .and_then(|f| f.environments.get(&self.environment));
        let detail = json!({
            "status": resp.status,
            "on": env_after.map(|e| e.on),
            "env_version": env_after.and_then(|e| e.version),
            "comment": comment,
            "was_on": plan.detail.get("was_on"),
        });
        if let Some(e) = env_after
            && e.on != *on
        {
            return Err(self.err(
                ErrorKind::Unknown,
                format!(
                    "LaunchDarkly accepted the change but flag {shown} is still {} in {}; check pending approvals or scheduled changes",
                    if e.on { "ON" } else { "OFF" },
                    self.environment
                ),
            ));
        }
        Ok(ExecResult {
            message: format!(
                "LaunchDarkly flag {shown} is now {state} in {}",
                self.environment
            ),
            detail,
        })
    }

    /// Say what a refused write means for the responder.
    fn explain(&self, e: ProviderError, key: &str) -> ProviderError {
        let env = &self.environment;
        let (kind, text) = match e.kind {
            ErrorKind::Http { status: 405 } | ErrorKind::Conflict { status: 405 } => (
                ErrorKind::Conflict { status: 405 },
                format!(
                    "approval required: environment {env} needs an approved change request to change flag {key}; nothing was changed. Request approval in LaunchDarkly"
                ),
            ),
            ErrorKind::Conflict { status: 409 } => (
                ErrorKind::Conflict { status: 409 },
                format!(
                    "conflict: flag {key} was changed by someone else at the same time (optimistic locking); nothing was changed. Check its state and try again"
                ),
            ),
            ErrorKind::Http { status: 400 } => (
                ErrorKind::Http { status: 400 },
                format!(
                    "LaunchDarkly rejected the change to {key} (a pending scheduled change or approval may conflict); nothing was changed"
                ),
            ),
            ErrorKind::Http { status: 415 } => (
                ErrorKind::Http { status: 415 },
                "LaunchDarkly did not accept the semantic-patch content type".to_string(),
            ),
            ErrorKind::Unauthorized { status } => (
                ErrorKind::Unauthorized { status },
                format!(
                    "the LaunchDarkly access token was rejected or lacks the right to change flags in {env} (use a personal or service token with a writer role, sent raw without Bearer)"
                ),
            ),
            ErrorKind::NotFound => (
                ErrorKind::NotFound,
                format!("no flag {key} in LaunchDarkly project {}", self.project),
            ),
            _ => return e,
        };
        self.err(kind, e.explained(text))
    }
}

/// The sequential reads one fetch is given time for (`fetch_deadline`): a
/// few pages of the flag list; a longer list takes longer and is cut off
/// by the poller, as before.
const FETCH_REQUESTS: u32 = 4;

impl Provider for LaunchDarkly {
    provider_basics!(fetch_requests: FETCH_REQUESTS, fetch: flags <- list);
    fn supports(&self, op: &WriteOp) -> bool {
        is_flag_set(op)
    }
    delegate_writes!(make_plan, apply);
}

/// This provider's part of [`super::decode_wire`].
pub fn decode_wire(body: &[u8]) -> Result<(), ProviderError> {
    super::http::first_error([
        super::http::decode_json::<Page>("fuzz", "GET flags", body).map(drop),
        super::http::decode_json::<LdFlag>("fuzz", "PATCH flag", body).map(drop),
    ])
}
