//! PagerDuty writes: the request each `WriteOp` becomes, the plan the
//! responder confirms (the incident read first), and the send.
//!
//! Every write carries `From` (the configured `from` email). Escalate,
//! reassign, ack and resolve are `PUT /incidents/{id}` with an
//! `incident_reference`; snooze is `POST /incidents/{id}/snooze` with
//! `duration` in seconds (PagerDuty snoozes acknowledged incidents only,
//! so the plan refuses any other); add responders is `POST
//! /incidents/{id}/responder_requests` with the `requester_id` of the
//! `from` user (looked up with `GET /users?query=`); bulk ack is `PUT
//! /incidents` with at most [`BULK_LIMIT`] incidents a request.

use super::{OneIncident, PagerDuty};
use crate::model::IncidentStatus;
use crate::ops::{ExecResult, Plan, PlanCtx, PlannedRequest, Precondition, WriteOp};
use crate::providers::http;
use crate::providers::{ErrorKind, ProviderError};
use crate::text::SafeText;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

/// PagerDuty's limit on incidents in one `PUT /incidents`.
pub const BULK_LIMIT: usize = 250;

#[derive(Deserialize)]
struct PdUser {
    id: String,
    #[serde(default)]
    email: Option<String>,
}

#[derive(Deserialize)]
struct UserList {
    #[serde(default)]
    users: Vec<PdUser>,
}

fn user_refs(users: &[String]) -> Vec<Value> {
    users
        .iter()
        .map(|u| json!({"assignee": {"id": u, "type": "user_reference"}}))
        .collect()
}

impl PagerDuty {
    fn incident_url(&self, id: &str) -> String {
        self.http.url(&format!("/incidents/{}", http::seg(id)))
    }

    /// The request for a one-incident write: method, URL, planned body
    /// (`level`: the escalation level to go to, read when planning;
    /// `requester`: the `from` user's id, for add responders).
    fn write_request(
        &self,
        op: &WriteOp,
        ctx: &PlanCtx,
        level: u32,
        requester: &str,
    ) -> Result<(Method, String, Value), ProviderError> {
        let reference = |fields: Value| {
            let mut inc = json!({"type": "incident_reference"});
            if let (Some(o), Some(f)) = (inc.as_object_mut(), fields.as_object()) {
                o.extend(f.clone());
            }
            json!({ "incident": inc })
        };
        match op {
            WriteOp::IncidentAck { id, .. } => Ok((
                Method::PUT,
                self.incident_url(id),
                reference(json!({"status": "acknowledged"})),
            )),
            WriteOp::IncidentResolve { id, .. } => Ok((
                Method::PUT,
                self.incident_url(id),
                reference(
                    json!({"status": "resolved", "resolution": ctx.reason_or(|| "resolved via sitrep".into())}),
                ),
            )),
            WriteOp::IncidentNote { id, text, .. } => Ok((
                Method::POST,
                self.http
                    .url(&format!("/incidents/{}/notes", http::seg(id))),
                json!({"note": {"content": text}}),
            )),
            WriteOp::IncidentEscalate { id, .. } => Ok((
                Method::PUT,
                self.incident_url(id),
                reference(json!({"escalation_level": level})),
            )),
            WriteOp::IncidentSnooze {
                id, duration_secs, ..
            } => Ok((
                Method::POST,
                self.http
                    .url(&format!("/incidents/{}/snooze", http::seg(id))),
                json!({"duration": duration_secs}),
            )),
            WriteOp::IncidentReassign { id, users, .. } => Ok((
                Method::PUT,
                self.incident_url(id),
                reference(json!({"assignments": user_refs(users)})),
            )),
            WriteOp::IncidentAddResponders {
                id, users, message, ..
            } => Ok((
                Method::POST,
                self.http
                    .url(&format!("/incidents/{}/responder_requests", http::seg(id))),
                json!({
                    "requester_id": requester,
                    "message": message,
                    "responder_request_targets": users.iter().map(|u| json!({
                        "responder_request_target": {"id": u, "type": "user_reference"}
                    })).collect::<Vec<_>>(),
                }),
            )),
            other => Err(ProviderError::op_unsupported(
                &self.basics.name,
                "PagerDuty",
                other,
            )),
        }
    }

    pub(super) fn writer_email(&self) -> Result<&str, ProviderError> {
        self.from.as_deref().ok_or_else(|| {
            ProviderError::config(
                &self.basics.name,
                "PagerDuty writes need `from` (the email of a PagerDuty user) in the provider config",
            )
        })
    }

    fn refuse(&self, why: impl AsRef<str>) -> ProviderError {
        ProviderError::new(
            &self.basics.name,
            ErrorKind::Conflict { status: 409 },
            format!("PagerDuty: {}", why.as_ref()),
        )
    }

    /// The PagerDuty user id of `from` (`requester_id` of a responder
    /// request): the user of `GET /users?query=` whose email is `from`.
    async fn requester_id(&self, from: &str) -> Result<String, ProviderError> {
        let resp = self
            .http
            .get(&self.http.url("/users"), &[("query", from.to_string())])
            .await?;
        let l: UserList = resp.json()?;
        l.users
            .into_iter()
            .find(|u| {
                u.email
                    .as_deref()
                    .is_some_and(|e| e.trim().eq_ignore_ascii_case(from.trim()))
            })
            .map(|u| u.id)
            .ok_or_else(|| {
                ProviderError::config(
                    &self.basics.name,
                    format!("PagerDuty has no user with the `from` email {from}: responder requests need one"),
                )
            })
    }

    /// Users named by the op must be ids, not blanks.
    fn check_users(&self, op: &WriteOp) -> Result<(), ProviderError> {
        let users = match op {
            WriteOp::IncidentReassign { users, .. }
            | WriteOp::IncidentAddResponders { users, .. } => users,
            _ => return Ok(()),
        };
        if users.is_empty() || users.iter().any(|u| u.trim().is_empty()) {
            return Err(ProviderError::config(
                &self.basics.name,
                "PagerDuty: name at least one user id (e.g. PUSR123), none blank",
            ));
        }
        Ok(())
    }

    fn bulk_plan(&self, op: &WriteOp, ids: &[String], from: &str) -> Result<Plan, ProviderError> {
        if ids.is_empty() {
            return Err(ProviderError::config(
                &self.basics.name,
                "PagerDuty: no incidents to acknowledge",
            ));
        }
        let url = self.http.url("/incidents");
        let requests = ids
            .chunks(BULK_LIMIT)
            .map(|chunk| {
                let items: Vec<Value> = chunk
                    .iter()
                    .map(|id| json!({"id": id, "type": "incident_reference", "status": "acknowledged"}))
                    .collect();
                self.http.planned(
                    &Method::PUT,
                    &url,
                    Some(json!({ "incidents": items })),
                    &[("From", from)],
                )
            })
            .collect::<Vec<_>>();
        let shown: Vec<String> = ids.iter().map(|i| SafeText::line(i).to_string()).collect();
        Ok(Plan {
            precondition: Precondition::None,
            environment: None,
            op: op.clone(),
            provider: self.basics.name.clone(),
            summary: format!("acknowledge {} incidents: {}", ids.len(), shown.join(", ")),
            stakes: vec![
                ("incidents".into(), ids.len().to_string()),
                ("requests".into(), requests.len().to_string()),
            ],
            requests,
            detail: json!({ "ids": shown }),
        })
    }

    pub(super) async fn make_plan(
        &self,
        op: &WriteOp,
        ctx: &PlanCtx,
    ) -> Result<Plan, ProviderError> {
        let from = self.writer_email()?;
        if let WriteOp::IncidentBulkAck { ids, .. } = op {
            return self.bulk_plan(op, ids, from);
        }
        // Refuse unsupported ops before any request.
        self.write_request(op, ctx, 0, "")?;
        self.check_users(op)?;
        let id = op.target();
        // Read the incident first: the responder confirms what they see.
        let resp = self.http.get(&self.incident_url(&id), &[]).await?;
        let current: OneIncident<'_> = resp.json()?;
        let level = current.incident.escalation_level.unwrap_or(1);
        let inc = self.normalize(current.incident, &Default::default());
        let requester = match op {
            WriteOp::IncidentAddResponders { .. } => self.requester_id(from).await?,
            _ => String::new(),
        };
        let verb = match op {
            WriteOp::IncidentAck { .. } => "acknowledge".to_string(),
            WriteOp::IncidentResolve { .. } => "resolve".to_string(),
            WriteOp::IncidentEscalate { .. } => format!("escalate to level {}", level + 1),
            WriteOp::IncidentSnooze { duration_secs, .. } => {
                if inc.status != IncidentStatus::Acknowledged {
                    return Err(self.refuse(format!(
                        "only acknowledged incidents can be snoozed; {} is {}: acknowledge it first",
                        inc.id,
                        inc.status.label()
                    )));
                }
                format!(
                    "snooze for {}",
                    humantime::format_duration(std::time::Duration::from_secs(*duration_secs))
                )
            }
            WriteOp::IncidentReassign { users, .. } => {
                format!("reassign to {}", SafeText::line(&users.join(", ")))
            }
            WriteOp::IncidentAddResponders { users, .. } => {
                format!("ask {} to respond to", SafeText::line(&users.join(", ")))
            }
            _ => "add a note to".to_string(),
        };
        let (method, url, body) = self.write_request(op, ctx, level + 1, &requester)?;
        let mut stakes = vec![("status".to_string(), inc.status.label().to_string())];
        if let Some(s) = &inc.service {
            stakes.push(("service".into(), s.to_string()));
        }
        if let Some(a) = &inc.assignee {
            stakes.push(("assignee".into(), a.to_string()));
        }
        if matches!(op, WriteOp::IncidentEscalate { .. }) {
            stakes.push(("level".into(), format!("{level} -> {}", level + 1)));
        }
        let mut detail = json!({
            "severity": inc.severity.label(),
            "title": inc.title.as_str(),
            "status_before": inc.status.label(),
        });
        if matches!(op, WriteOp::IncidentEscalate { .. }) {
            detail["level_before"] = json!(level);
        }
        Ok(Plan {
            precondition: Precondition::None,
            environment: None,
            op: op.clone(),
            provider: self.basics.name.clone(),
            summary: format!("{verb} {} incident {}: {}", inc.severity, inc.id, inc.title),
            stakes,
            requests: vec![
                self.http
                    .planned(&method, &url, Some(body), &[("From", from)]),
            ],
            detail,
        })
    }

    async fn send_one(
        &self,
        req: &PlannedRequest,
        method: &Method,
        url: &str,
        from: &str,
    ) -> Result<http::Response, ProviderError> {
        self.http
            .send_planned(req, (method, url), &[("From", from)], None)
            .await
    }

    async fn run_bulk(
        &self,
        plan: &Plan,
        ids: &[String],
        from: &str,
    ) -> Result<ExecResult, ProviderError> {
        let url = self.http.url("/incidents");
        let mut done = 0usize;
        for req in &plan.requests {
            let n = req
                .body
                .as_ref()
                .and_then(|b| b["incidents"].as_array())
                .map_or(0, Vec::len);
            if let Err(e) = self.send_one(req, &Method::PUT, &url, from).await {
                if done == 0 {
                    return Err(e);
                }
                return Err(ProviderError {
                    detail: SafeText::line(&format!(
                        "{done} of {} acknowledged before this failed: {}",
                        ids.len(),
                        e.detail
                    )),
                    ..e
                });
            }
            done += n;
        }
        Ok(ExecResult {
            message: format!("{done} incidents acknowledged"),
            detail: json!({"acknowledged": done, "requests": plan.requests.len()}),
        })
    }

    pub(super) async fn run(
        &self,
        plan: &Plan,
        _idempotency_key: &str,
    ) -> Result<ExecResult, ProviderError> {
        let from = self.writer_email()?;
        if let WriteOp::IncidentBulkAck { ids, .. } = &plan.op {
            return self.run_bulk(plan, ids, from).await;
        }
        let (method, url, _) = self.write_request(&plan.op, &PlanCtx::default(), 0, "")?;
        let req = plan.requests.first().ok_or_else(|| {
            ProviderError::new(
                &self.basics.name,
                ErrorKind::Config,
                "the plan has no request",
            )
        })?;
        let resp = self.send_one(req, &method, &url, from).await?;
        let id = plan.op.target();
        let message = match &plan.op {
            WriteOp::IncidentNote { .. } => format!("note added to {id}"),
            WriteOp::IncidentAddResponders { users, .. } => {
                format!(
                    "responders requested for {id}: {}",
                    SafeText::line(&users.join(", "))
                )
            }
            WriteOp::IncidentReassign { users, .. } => {
                format!("{id} reassigned to {}", SafeText::line(&users.join(", ")))
            }
            WriteOp::IncidentSnooze { duration_secs, .. } => format!(
                "{id} snoozed for {}",
                humantime::format_duration(std::time::Duration::from_secs(*duration_secs))
            ),
            WriteOp::IncidentEscalate { .. } => {
                let level = resp
                    .json::<OneIncident<'_>>()
                    .ok()
                    .and_then(|o| o.incident.escalation_level);
                match level {
                    Some(l) => format!("{id} escalated to level {l}"),
                    None => format!("{id} escalated"),
                }
            }
            _ => {
                let status = resp
                    .json::<OneIncident<'_>>()
                    .map(|o| o.incident.status.into_owned())
                    .unwrap_or_else(|_| "updated".into());
                format!("{id} is now {}", SafeText::line(&status))
            }
        };
        Ok(ExecResult {
            message,
            detail: json!({"status": resp.status}),
        })
    }
}
