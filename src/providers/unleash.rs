//! Unleash Admin API (unleash-server v8, providers.md §7), on the shared HTTP layer.
//!
//! - Auth: `Authorization: <token>` (raw, no `Bearer`): a personal access
//!   token, service-account token or admin API token (`*:*.<secret>`).
//! - Read: `GET /api/admin/projects/{project}/features` (one response, no
//!   paging); `on` = the configured environment's `enabled`.
//! - `kill_switch` = the feature's `type` is `kill-switch`; `service` = the
//!   `[[service]]` whose `flags` or `kill_switch` names the feature.
//! - Write: `POST /api/admin/projects/{project}/features/{feature}/environments/{env}/off|on`,
//!   no body, answered with 200 and an empty body. Never retried.

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
use serde_json::json;

pub struct Unleash {
    basics: Basics,
    project: String,
    environment: String,
    http: HttpClient,
    /// Feature name → `[[service]]` (`flags`, `kill_switch`).
    services: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct Features {
    features: Vec<Feature>,
}

#[derive(Debug, Deserialize)]
struct Feature {
    name: SafeText,
    #[serde(default, rename = "type")]
    kind: Option<SafeText>,
    #[serde(default)]
    description: Option<SafeText>,
    #[serde(default)]
    archived: bool,
    #[serde(default)]
    environments: Vec<FeatureEnv>,
}

#[derive(Debug, Deserialize)]
struct FeatureEnv {
    name: String,
    enabled: bool,
}

impl Unleash {
    /// The features of one Unleash project and environment (Admin API);
    /// `cfg` replaces the HTTP settings of `timeout`.
    pub fn with_http_config(
        pc: &ProviderConfig,
        ctx: &BuildCtx<'_>,
        cfg: HttpConfig,
    ) -> Result<Self, ProviderError> {
        let project = require(pc, &pc.project, "unleash needs `project`")?;
        let environment = require(pc, &pc.environment, "unleash needs `environment`")?;
        let no_base =
            "unleash needs `base_url` (your Unleash server, e.g. https://unleash.example.com)";
        let token = TokenUse::Required("token", Auth::Raw);
        let http = http_client(pc, ctx, cfg, no_base, token)?;
        Ok(Unleash {
            basics: Basics::new(pc, ProviderKind::Unleash),
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

    fn feature_path(&self, feature: &str) -> String {
        format!(
            "/api/admin/projects/{}/features/{}",
            seg(&self.project),
            seg(feature)
        )
    }

    fn ui_url(&self, feature: &str) -> String {
        self.http.url(&format!(
            "/projects/{}/features/{}",
            seg(&self.project),
            seg(feature)
        ))
    }

    async fn list(&self) -> Result<Vec<Flag>, ProviderError> {
        let url = self.http.url(&format!(
            "/api/admin/projects/{}/features",
            seg(&self.project)
        ));
        let page: Features = self.http.get_json(&url, &[]).await?;
        let mut out = Vec::new();
        let mut seen_env = page.features.is_empty();
        for f in page.features.iter().filter(|f| !f.archived) {
            let Some(env) = f.environments.iter().find(|e| e.name == self.environment) else {
                continue;
            };
            seen_env = true;
            out.push(Flag {
                provider: SafeText::line(&self.basics.name),
                key: f.name.clone(),
                name: f
                    .description
                    .clone()
                    .filter(|d| !d.is_empty())
                    .unwrap_or_else(|| f.name.clone()),
                environment: Some(SafeText::line(&self.environment)),
                on: env.enabled,
                kill_switch: f.kind.as_ref().is_some_and(|k| k.as_str() == "kill-switch"),
                updated_at: None::<Time>,
                url: Some(SafeText::line(&self.ui_url(f.name.as_str()))),
                service: self
                    .services
                    .get(f.name.as_str())
                    .map(|s| SafeText::line(s)),
            });
        }
        if !seen_env {
            let mut envs: Vec<&str> = page
                .features
                .iter()
                .flat_map(|f| f.environments.iter().map(|e| e.name.as_str()))
                .collect();
            envs.sort_unstable();
            envs.dedup();
            return Err(self.err(
                ErrorKind::Config,
                format!(
                    "no feature of project {} has environment {:?} (environments seen: {})",
                    self.project,
                    self.environment,
                    envs.join(", ")
                ),
            ));
        }
        Ok(out)
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
        let url = self.http.url(&self.feature_path(key));
        let feature: Feature = match self.http.get(&url, &[]).await {
            Ok(r) => r.json()?,
            Err(e) if e.kind == ErrorKind::NotFound => {
                return Err(self.err(
                    ErrorKind::NotFound,
                    format!("no feature {key} in Unleash project {}", self.project),
                ));
            }
            Err(e) => return Err(e),
        };
        let env = feature
            .environments
            .iter()
            .find(|e| e.name == self.environment)
            .ok_or_else(|| {
                self.err(
                    ErrorKind::NotFound,
                    format!("feature {key} has no environment {:?}", self.environment),
                )
            })?;
        let state = |b: bool| if b { "ON" } else { "OFF" };
        let restore = on
            .then(|| super::recorded_restore(ctx, &self.basics.name))
            .flatten();
        let target = restore.as_ref().map_or(*on, |r| r.0);
        let write_url = self.write_url(key, target);
        let mut stakes = vec![
            ("now".to_string(), state(env.enabled).to_string()),
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
        if env.enabled == target {
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
                "turn Unleash feature {} {} in {}",
                SafeText::line(key),
                state(target),
                self.environment
            ))
            .into_string(),
            stakes,
            requests: vec![PlannedRequest {
                method: "POST".into(),
                url: write_url,
                headers: self.http.redacted_headers(&[]),
                body: None,
            }],
            detail: json!({
                "project": self.project,
                "environment": self.environment,
                "was_on": env.enabled,
                "target_on": target,
            }),
        })
    }

    fn write_url(&self, key: &str, on: bool) -> String {
        self.http.url(&format!(
            "{}/environments/{}/{}",
            self.feature_path(key),
            seg(&self.environment),
            if on { "on" } else { "off" }
        ))
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
        // A restore may put the feature back OFF (see `super::recorded_restore`).
        let on = &plan
            .detail
            .get("target_on")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(*on);
        let shown = SafeText::line(key);
        let req = plan
            .requests
            .first()
            .ok_or_else(|| self.err(ErrorKind::Config, "the plan has no request; plan again"))?;
        let resp = self
            .http
            .send_planned(req, (&Method::POST, &self.write_url(key, *on)), &[], None)
            .await
            .map_err(|e| self.explain(e, shown.as_str()))?;
        Ok(ExecResult {
            message: format!(
                "Unleash feature {shown} is now {} in {}",
                if *on { "ON" } else { "OFF" },
                self.environment
            ),
            detail: json!({"status": resp.status, "was_on": plan.detail.get("was_on")}),
        })
    }

    fn explain(&self, e: ProviderError, key: &str) -> ProviderError {
        let env = &self.environment;
        let (kind, text) = match e.kind {
            ErrorKind::Unauthorized { status } => (
                ErrorKind::Unauthorized { status },
                format!(
                    "the Unleash token was rejected or may not change {key} in {env} (use an admin, personal or service-account token sent raw without Bearer; client and frontend tokens cannot use the Admin API)"
                ),
            ),
            ErrorKind::NotFound => (
                ErrorKind::NotFound,
                format!(
                    "no feature {key} or environment {env} in Unleash project {}",
                    self.project
                ),
            ),
            ErrorKind::Conflict { status }
            | ErrorKind::Http {
                status: status @ 405,
            } => (
                ErrorKind::Conflict { status },
                format!(
                    "Unleash refused to change {key} in {env} (a change request may be required in this environment); nothing was changed"
                ),
            ),
            _ => return e,
        };
        self.err(kind, e.explained(text))
    }
}

/// One fetch is a single read: the project's features, with their
/// environments.
const FETCH_REQUESTS: u32 = 1;

impl Provider for Unleash {
    provider_basics!(fetch_requests: FETCH_REQUESTS, fetch: flags <- list);
    fn supports(&self, op: &WriteOp) -> bool {
        is_flag_set(op)
    }
    delegate_writes!(make_plan, apply);
}

/// This provider's part of [`super::decode_wire`].
pub fn decode_wire(body: &[u8]) -> Result<(), ProviderError> {
    super::http::decode_json::<Features>("fuzz", "GET features", body).map(drop)
}
