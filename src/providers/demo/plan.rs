//! Planning and applying the demo's write actions on its world: the same
//! plans (summary, stakes, requests) a real provider would show.

use super::{Demo, ot, t};
use crate::model::*;
use crate::ops::{ExecResult, Plan, PlannedRequest, Precondition, WriteOp};
use crate::providers::{ErrorKind, ProviderError};
use crate::text::SafeText;
use chrono::Duration as Cd;
use std::time::Duration;

impl Demo {
    pub(super) fn make_plan(&self, op: &WriteOp) -> Result<Plan, ProviderError> {
        let w = self.world()?;
        let name = self.name.to_string();
        let req = |method: &str, path: String, body: serde_json::Value| PlannedRequest {
            method: method.into(),
            url: self.url(&path),
            headers: vec![("Authorization".into(), "<redacted>".into())],
            body: Some(body),
        };
        let plan = |summary: String,
                    stakes: Vec<(String, String)>,
                    requests: Vec<PlannedRequest>,
                    detail: serde_json::Value| Plan {
            op: op.clone(),
            provider: name.clone(),
            summary,
            stakes,
            requests,
            detail,
            precondition: Precondition::None,
            environment: None,
        };
        match op {
            WriteOp::IncidentAck { id, .. }
            | WriteOp::IncidentResolve { id, .. }
            | WriteOp::IncidentNote { id, .. } => {
                let i = w
                    .incidents
                    .iter()
                    .find(|i| i.id.as_str() == id && i.provider.as_str() == self.name)
                    .ok_or_else(|| {
                        ProviderError::new(
                            self.name,
                            ErrorKind::NotFound,
                            format!("no incident {id}"),
                        )
                    })?;
                let (verb, body) = match op {
                    WriteOp::IncidentAck { .. } => {
                        ("acknowledge", serde_json::json!({"status": "acknowledged"}))
                    }
                    WriteOp::IncidentResolve { .. } => {
                        ("resolve", serde_json::json!({"status": "resolved"}))
                    }
                    WriteOp::IncidentNote { text, .. } => (
                        "add a note to",
                        serde_json::json!({"note": {"content": text}}),
                    ),
                    _ => ("change", serde_json::Value::Null),
                };
                let path = if matches!(op, WriteOp::IncidentNote { .. }) {
                    format!("/incidents/{id}/notes")
                } else {
                    format!("/incidents/{id}")
                };
                Ok(plan(
                    format!("{verb} {} incident {id}: {}", i.severity, i.title),
                    vec![("status".into(), i.status.label().into())],
                    vec![req(
                        if matches!(op, WriteOp::IncidentNote { .. }) {
                            "POST"
                        } else {
                            "PUT"
                        },
                        path,
                        body,
                    )],
                    serde_json::json!({"severity": i.severity.label(), "title": i.title.as_str()}),
                ))
            }
            WriteOp::SilenceCreate {
                matchers,
                duration_secs,
                ..
            } => Ok(plan(
                format!(
                    "silence alerts matching {} for {}",
                    op.target(),
                    humantime::format_duration(Duration::from_secs(*duration_secs))
                ),
                vec![],
                vec![req(
                    "POST",
                    "/api/v2/silences".into(),
                    serde_json::json!({"matchers": matchers, "duration_secs": duration_secs}),
                )],
                serde_json::json!({}),
            )),
            WriteOp::Rollback {
                service,
                environment,
                to,
                ..
            } => {
                let mut group: Vec<&Deploy> = w
                    .deploys
                    .iter()
                    .filter(|d| {
                        d.service.as_str() == service && d.environment.as_str() == environment
                    })
                    .collect();
                group.sort_by_key(|d| std::cmp::Reverse(d.created_at));
                if group.is_empty() {
                    return Err(ProviderError::new(
                        self.name,
                        ErrorKind::NotFound,
                        format!("no deploys of {service} in {environment}"),
                    ));
                }
                let live = group.iter().find(|d| d.current).copied();
                let target = match to {
                    Some(id) => group
                        .iter()
                        .find(|d| d.id.as_str() == id)
                        .copied()
                        .ok_or_else(|| {
                            ProviderError::new(
                                self.name,
                                ErrorKind::NotFound,
                                format!("no deploy {id} of {service} in {environment}"),
                            )
                        })?,
                    None => {
                        let live_at = live.map(|l| l.created_at);
                        group
                            .iter()
                            .find(|d| {
                                matches!(d.state, DeployState::Success | DeployState::Inactive)
                                    && !d.current
                                    && live_at.is_none_or(|t| d.created_at < t)
                                    && live.is_none_or(|l| l.sha != d.sha)
                            })
                            .copied()
                            .ok_or_else(|| {
                                ProviderError::new(
                                    self.name,
                                    ErrorKind::Conflict { status: 409 },
                                    format!("no earlier good deploy of {service} in {environment} to roll back to"),
                                )
                            })?
                    }
                };
                let from = live
                    .map(|l| {
                        format!(
                            "{} {} by {}",
                            l.git_ref,
                            short(&l.sha),
                            l.creator.as_ref().map(|c| c.as_str()).unwrap_or("?")
                        )
                    })
                    .unwrap_or_else(|| "nothing live".into());
                Ok(plan(
                    format!(
                        "roll back {service}/{environment} to {} ({})",
                        target.git_ref,
                        short(&target.sha)
                    ),
                    vec![
                        ("from".into(), from),
                        (
                            "to".into(),
                            format!(
                                "{} {} by {}",
                                target.git_ref,
                                short(&target.sha),
                                target.creator.as_ref().map(|c| c.as_str()).unwrap_or("?")
                            ),
                        ),
                    ],
                    vec![req(
                        "POST",
                        format!("/repos/acme/{service}/deployments"),
                        serde_json::json!({
                            "ref": target.sha.as_str(), "environment": environment, "auto_merge": false,
                            "description": format!("rollback to {}", target.git_ref),
                        }),
                    )],
                    serde_json::json!({"to_id": target.id.as_str(), "to_sha": target.sha.as_str(), "from_id": live.map(|l| l.id.as_str().to_string())}),
                ))
            }
            WriteOp::FlagSet { key, on, .. } => {
                let f = w
                    .flags
                    .iter()
                    .find(|f| f.key.as_str() == key)
                    .ok_or_else(|| {
                        ProviderError::new(self.name, ErrorKind::NotFound, format!("no flag {key}"))
                    })?;
                let env = f.environment.as_ref().map(|e| e.as_str().to_string());
                Ok(plan(
                    format!(
                        "turn flag {key} {} in {}",
                        if *on { "ON" } else { "OFF" },
                        f.environment.as_ref().map(|e| e.as_str()).unwrap_or("-")
                    ),
                    vec![
                        ("now".into(), if f.on { "ON".into() } else { "OFF".into() }),
                        ("flag".into(), f.name.as_str().into()),
                    ],
                    vec![req(
                        "PATCH",
                        format!("/api/v2/flags/acme/{key}"),
                        serde_json::json!({
                            "environmentKey": "production",
                            "instructions": [{"kind": if *on { "turnFlagOn" } else { "turnFlagOff" }}],
                        }),
                    )],
                    serde_json::json!({"was_on": f.on}),
                )
                .in_environment(env))
            }
            other => Err(ProviderError::op_unsupported(self.name, "the demo", other)),
        }
    }

    pub(super) fn apply(&self, plan: &Plan) -> Result<ExecResult, ProviderError> {
        let mut w = self.world()?;
        let now = w.now;
        match &plan.op {
            WriteOp::IncidentAck { id, .. } | WriteOp::IncidentResolve { id, .. } => {
                let ack = matches!(plan.op, WriteOp::IncidentAck { .. });
                let i = w
                    .incidents
                    .iter_mut()
                    .find(|i| i.id.as_str() == id)
                    .ok_or_else(|| {
                        ProviderError::new(
                            self.name,
                            ErrorKind::NotFound,
                            format!("no incident {id}"),
                        )
                    })?;
                i.status = if ack {
                    IncidentStatus::Acknowledged
                } else {
                    IncidentStatus::Resolved
                };
                if ack && i.assignee.is_none() {
                    i.assignee = ot("you");
                }
                Ok(ExecResult {
                    message: format!("{} {id}", if ack { "acknowledged" } else { "resolved" }),
                    detail: serde_json::json!({"status": 200}),
                })
            }
            WriteOp::IncidentNote { id, .. } => Ok(ExecResult {
                message: format!("note added to {id}"),
                detail: serde_json::json!({"status": 201}),
            }),
            WriteOp::SilenceCreate { matchers, .. } => {
                let mut n = 0;
                for i in w
                    .incidents
                    .iter_mut()
                    .filter(|i| i.provider.as_str() == "am")
                {
                    if matchers
                        .iter()
                        .all(|m| m.name == "alertname" && m.value == i.id.as_str())
                    {
                        i.status = IncidentStatus::Silenced;
                        n += 1;
                    }
                }
                Ok(ExecResult {
                    message: format!("silence created ({n} alerts matched)"),
                    detail: serde_json::json!({"silenceID": "demo-silence-1"}),
                })
            }
            WriteOp::Rollback {
                service,
                environment,
                ..
            } => {
                let to_id = plan
                    .detail
                    .get("to_id")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string();
                let target = w
                    .deploys
                    .iter()
                    .find(|d| d.id.as_str() == to_id)
                    .cloned()
                    .ok_or_else(|| {
                        ProviderError::new(
                            self.name,
                            ErrorKind::NotFound,
                            format!("deploy {to_id} disappeared"),
                        )
                    })?;
                for d in w.deploys.iter_mut().filter(|d| {
                    d.service.as_str() == service && d.environment.as_str() == environment
                }) {
                    d.current = false;
                }
                w.next_deploy += 1;
                let id = w.next_deploy.to_string();
                w.deploys.push(Deploy {
                    id: t(&id),
                    created_at: now + Cd::seconds(1),
                    creator: ot("you (sitrep rollback)"),
                    current: true,
                    state: DeployState::Success,
                    provider_state: t("success"),
                    description: ot(&format!("rollback to {}", target.git_ref)),
                    ..target.clone()
                });
                Ok(ExecResult {
                    message: format!(
                        "rolled back {service}/{environment} to {} ({})",
                        target.git_ref,
                        short(&target.sha)
                    ),
                    detail: serde_json::json!({"deployment_id": id}),
                })
            }
            WriteOp::FlagSet { key, on, .. } => {
                let f = w
                    .flags
                    .iter_mut()
                    .find(|f| f.key.as_str() == key)
                    .ok_or_else(|| {
                        ProviderError::new(self.name, ErrorKind::NotFound, format!("no flag {key}"))
                    })?;
                f.on = *on;
                f.updated_at = Some(now);
                Ok(ExecResult {
                    message: format!("flag {key} is now {}", if *on { "ON" } else { "OFF" }),
                    detail: serde_json::json!({"status": 200}),
                })
            }
            other => Err(ProviderError::unsupported(self.name, other.action_name())),
        }
    }
}

fn short(sha: &SafeText) -> &str {
    let s = sha.as_str();
    s.get(..7).unwrap_or(s)
}
