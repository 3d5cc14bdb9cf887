//! Rollback: plan and execute.
//!
//! `redeploy` creates a new deployment of the target sha with
//! `auto_merge: false` and a `payload.sitrep` naming the rollback, the
//! reason and the idempotency key; before creating, the recent deployments
//! of that sha are searched for the same key so a retried rollback never
//! deploys twice. `{ workflow, ref }` dispatches that workflow with inputs
//! `{environment, sha}`. Planning reads fresh state (GETs only); the write
//! goes through the shared client's `send`, never retried. See
//! docs/PROVIDERS.md, "Deploys".

use super::wire::{GhDeployment, map_state, payload_action, payload_key};
use super::{Github, KEY_PLACEHOLDER, Repo, Strategy};
use crate::model::{Deploy, DeployState};
use crate::ops::{ExecResult, Plan, PlanCtx, PlannedRequest, Precondition, WriteOp};
use crate::providers::http::{error_excerpt, seg};
use crate::providers::{ErrorKind, ProviderError, rollback};
use crate::util;
use reqwest::Method;

/// A rollback created by sitrep within this many minutes that has no final
/// status yet blocks another automatic rollback of the same environment.
pub const PENDING_ROLLBACK_MINUTES: i64 = 30;

impl Github {
    /// `Provider::plan`: a rollback, with the reason in the deployment's
    /// own payload.
    pub(super) async fn plan_write(
        &self,
        op: &WriteOp,
        ctx: &PlanCtx,
    ) -> Result<Plan, ProviderError> {
        let r = rollback::requested(&self.basics.name, "GitHub", op)?;
        let mut plan = self
            .plan_rollback(op, r.service, r.environment, r.to)
            .await?;
        // The reason and the responder travel in the deployment's own
        // payload, and the responder in its description: the deploy list
        // then names who rolled back, not the token's owner.
        let reason = ctx.reason.trim();
        let actor = crate::text::SafeText::line(ctx.actor.trim()).to_string();
        for r in &mut plan.requests {
            let Some(body) = r.body.as_mut() else {
                continue;
            };
            if !actor.is_empty()
                && let Some(d) = body.get_mut("description")
                && let Some(text) = d.as_str()
            {
                let by = text.replace(" via sitrep", &format!(" by {actor} via sitrep"));
                // GitHub refuses a description over 140 characters.
                *d = by.chars().take(140).collect::<String>().into();
            }
            if let Some(s) = body
                .pointer_mut("/payload/sitrep")
                .and_then(|s| s.as_object_mut())
            {
                if !reason.is_empty() {
                    s.insert("reason".into(), reason.into());
                }
                if !actor.is_empty() {
                    s.insert("actor".into(), actor.clone().into());
                }
            }
        }
        Ok(plan)
    }

    /// `Provider::execute`: a planned rollback.
    pub(super) async fn execute_write(
        &self,
        plan: &Plan,
        key: &str,
    ) -> Result<ExecResult, ProviderError> {
        let r = rollback::requested(&self.basics.name, "GitHub", &plan.op)?;
        self.execute_rollback(plan, key, r.service, r.environment)
            .await
    }

    pub(super) fn repo_for(&self, service: &str) -> Result<&Repo, ProviderError> {
        self.repos
            .iter()
            .find(|r| r.service == service)
            .or_else(|| self.repos.iter().find(|r| r.full().eq_ignore_ascii_case(service)))
            .ok_or_else(|| {
                self.err(
                    ErrorKind::NotFound,
                    format!(
                        "no repository of provider {} deploys service {service} (map it with [[service]] deploys = {{ provider = \"{}\", repo = \"owner/name\" }})",
                        self.basics.name, self.basics.name
                    ),
                )
            })
    }

    /// The headers the write carries (the shared client's, token redacted).
    fn planned_headers(&self) -> Vec<(String, String)> {
        let mut h = self.http.redacted_headers(&[]);
        h.push(("Content-Type".into(), "application/json".into()));
        h
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

    pub(super) async fn plan_rollback(
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
        // A deploy named with `--to` has its status read even when it is
        // older than what the list shows.
        let want: Vec<u64> = to.and_then(|t| t.trim().parse().ok()).into_iter().collect();
        let g = self.group(repo, Some(environment), &want).await?;
        let mut deploys: Vec<Deploy> = g
            .iter()
            .map(|(d, s)| self.to_deploy(repo, Some(environment), d, s.as_ref()))
            .filter(|d| d.environment.as_str() == environment)
            .collect();
        rollback::mark_current(&mut deploys);
        let now = chrono::Utc::now();
        // A rollback created by sitrep that has not finished yet: a second
        // one now would roll back twice. `--to` is taken as deliberate.
        if to.is_none()
            && let Some((d, st)) = g.iter().find(|(d, st)| {
                payload_action(&d.payload).as_deref() == Some("rollback")
                    && st.as_ref().is_some_and(|st| {
                        matches!(
                            map_state(st.state.as_deref()),
                            DeployState::Queued | DeployState::InProgress
                        )
                    })
                    && now - d.created_at < chrono::Duration::minutes(PENDING_ROLLBACK_MINUTES)
            })
        {
            return Err(self.err(
                ErrorKind::Conflict { status: 409 },
                format!(
                    "a rollback of {service}/{environment} to {} {} is still {} (deployment {}, {} ago); wait for it to finish, or name the target with --to",
                    d.git_ref,
                    util::short_sha(&d.sha),
                    st.as_ref()
                        .and_then(|s| s.state.as_deref())
                        .unwrap_or("waiting for a status"),
                    d.id,
                    util::age(now, d.created_at)
                ),
            ));
        }
        // Shas earlier sitrep rollbacks moved away from are not targets.
        let skip = super::fetch::rolled_back_from(g.iter().map(|(d, _)| d));
        let (live, target) =
            rollback::pick_skipping(&self.basics.name, service, environment, &deploys, to, &skip)?;
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
            environment: Some(environment.to_string()),
            op: op.clone(),
            provider: self.basics.name.clone(),
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

    /// Send one write through the shared client. Never retried.
    async fn post(
        &self,
        route: &str,
        body: &serde_json::Value,
    ) -> Result<(u16, String), ProviderError> {
        let resp = self
            .http
            .send(Method::POST, &self.http.url(route), Some(body), &[], None)
            .await
            .map_err(|e| self.explain(e, true))?;
        Ok((
            resp.status,
            String::from_utf8_lossy(&resp.body).into_owned(),
        ))
    }

    pub(super) async fn execute_rollback(
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
                    let (status, text) = self.post(&route, &body).await?;
                    if status == 202 {
                        return Err(self.err(
                            ErrorKind::Conflict { status },
                            format!(
                                "{what}: GitHub merged the default branch instead of creating a deployment: {}",
                                error_excerpt(text.as_bytes(), &[self.token.expose()])
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
                let (status, _) = self.post(&route, &body).await?;
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
