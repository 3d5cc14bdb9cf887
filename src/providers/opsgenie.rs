//! Opsgenie Alert API v2 (providers.md §9): open alerts as incidents,
//! acknowledge / close / note.
//!
//! - Open = `query=status:open`, every page (`limit=100`, following
//!   `paging.next`). Status: snoozed → `silenced`, acknowledged →
//!   `acknowledged`, else `triggered`; closed alerts are dropped.
//! - Severity: `priority` (P1–P5) through `[severity] opsgenie_priority`,
//!   else SEV3. Service: a `service:<name>` (or `service=<name>`) tag.
//! - Writes are asynchronous: 202 + `requestId`; the outcome is looked up
//!   at `/v2/alerts/requests/{requestId}` a few times and reported. The body
//!   carries `user` = actor, `source` = "sitrep", `note` = reason. No
//!   idempotency key exists; acknowledge and close are naturally idempotent
//!   (the state is set, not toggled); a note is not (never retried blindly).
//! - Details, read on demand by the console (issue 23): `GET
//!   /v2/alerts/{id}/logs` and `GET /v2/alerts/{id}/notes` (both
//!   `identifierType=id&order=desc&limit=20`), at once.

use super::http::{self, Auth, HttpClient, HttpConfig};
use super::{
    Basics, BuildCtx, ErrorKind, Provider, ProviderError, TokenUse, http_client, is_incident_write,
};
use crate::config::{ProviderConfig, ProviderKind, SeverityMatrix};
use crate::model::{Incident, IncidentStatus, Severity, Time};
use crate::ops::{ExecResult, Plan, PlanCtx, Precondition, WriteOp};
use crate::text::SafeText;
use reqwest::Method;
use serde::Deserialize;
use std::time::Duration;

const PAGE: usize = 100;

pub struct Opsgenie {
    basics: Basics,
    http: HttpClient,
    severity: SeverityMatrix,
    /// Lookups of an async request's outcome, and the pause between them.
    request_checks: u32,
    request_check_pause: Duration,
}

#[derive(Deserialize)]
struct OgAlert {
    id: String,
    #[serde(default, rename = "tinyId")]
    tiny_id: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    acknowledged: bool,
    #[serde(default)]
    snoozed: bool,
    #[serde(rename = "createdAt")]
    created_at: Time,
    #[serde(default)]
    priority: Option<String>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Deserialize)]
struct Paging {
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct OgList {
    data: Vec<OgAlert>,
    #[serde(default)]
    paging: Option<Paging>,
}

#[derive(Deserialize)]
struct OgOne {
    data: OgAlert,
}

#[derive(Deserialize)]
struct OgLog {
    #[serde(default)]
    log: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(rename = "createdAt")]
    created_at: Time,
}

#[derive(Deserialize)]
struct OgLogs {
    data: Vec<OgLog>,
}

#[derive(Deserialize)]
struct OgNote {
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(rename = "createdAt")]
    created_at: Time,
}

#[derive(Deserialize)]
struct OgNotes {
    data: Vec<OgNote>,
}

/// Log lines and notes of one alert read for the details pane.
const DETAIL_LIMIT: usize = 20;

fn who(s: &Option<String>) -> Option<SafeText> {
    s.as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(SafeText::line)
}

#[derive(Deserialize)]
struct Accepted {
    #[serde(default, rename = "requestId")]
    request_id: Option<String>,
    #[serde(default)]
    result: Option<String>,
}

#[derive(Deserialize)]
struct RequestStatusData {
    #[serde(rename = "isSuccess")]
    is_success: bool,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Deserialize)]
struct RequestStatus {
    data: RequestStatusData,
}

impl Opsgenie {
    /// The alerts API with a `GenieKey` (EU accounts set `base_url`);
    /// `cfg` replaces the HTTP settings of `timeout` (tests shrink waits).
    pub fn with_http_config(
        pc: &ProviderConfig,
        ctx: &BuildCtx<'_>,
        cfg: HttpConfig,
    ) -> Result<Self, ProviderError> {
        let pause = cfg.retry.base;
        let token = TokenUse::Required("no API key", Auth::GenieKey);
        Ok(Opsgenie {
            basics: Basics::new(pc, ProviderKind::Opsgenie),
            http: http_client(pc, ctx, cfg, "no base_url", token)?,
            severity: ctx.config.severity.clone(),
            request_checks: 3,
            request_check_pause: pause,
        })
    }

    new_with_default_http!();

    fn normalize(&self, a: OgAlert) -> Incident {
        let status = if a.status.as_deref() == Some("closed") {
            IncidentStatus::Resolved
        } else if a.snoozed {
            IncidentStatus::Silenced
        } else if a.acknowledged {
            IncidentStatus::Acknowledged
        } else {
            IncidentStatus::Triggered
        };
        let severity = a
            .priority
            .as_deref()
            .and_then(|p| self.severity.opsgenie_priority.get(p.trim()))
            .copied()
            .unwrap_or(Severity::Sev3);
        let service = a.tags.iter().find_map(|t| {
            t.strip_prefix("service:")
                .or_else(|| t.strip_prefix("service="))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(SafeText::line)
        });
        let title = a
            .message
            .as_deref()
            .filter(|m| !m.trim().is_empty())
            .or(a.tiny_id.as_deref())
            .unwrap_or(&a.id);
        Incident {
            provider: SafeText::line(&self.basics.name),
            id: SafeText::line(&a.id),
            labels: Default::default(),
            title: SafeText::line(title),
            severity,
            status,
            service,
            created_at: a.created_at,
            url: None,
            assignee: a
                .owner
                .as_deref()
                .filter(|o| !o.trim().is_empty())
                .map(SafeText::line),
            runbook: None,
        }
    }

    /// An alert's log (newest first, at most [`DETAIL_LIMIT`]) and notes.
    pub async fn details(&self, id: &str) -> Result<crate::model::IncidentDetails, ProviderError> {
        use crate::model::{IncidentDetails, LogLine, NoteLine};
        let q = [
            ("identifierType", "id".to_string()),
            ("order", "desc".to_string()),
            ("limit", DETAIL_LIMIT.to_string()),
        ];
        let base = format!("/v2/alerts/{}", http::seg(id));
        let logs_url = self.http.url(&format!("{base}/logs"));
        let notes_url = self.http.url(&format!("{base}/notes"));
        let (logs, notes) =
            futures::join!(self.http.get(&logs_url, &q), self.http.get(&notes_url, &q));
        let logs: OgLogs = logs?.json()?;
        let notes: OgNotes = notes?.json()?;
        let mut log: Vec<LogLine> = logs
            .data
            .into_iter()
            .map(|l| LogLine {
                at: l.created_at,
                kind: SafeText::line(l.kind.as_deref().unwrap_or("")),
                agent: who(&l.owner),
                summary: SafeText::line(l.log.as_deref().unwrap_or("")),
            })
            .collect();
        crate::order::sort_by_key(&mut log, |l| std::cmp::Reverse(l.at));
        log.truncate(DETAIL_LIMIT);
        let mut notes: Vec<NoteLine> = notes
            .data
            .into_iter()
            .map(|n| NoteLine {
                at: n.created_at,
                author: who(&n.owner),
                text: SafeText::line(n.note.as_deref().unwrap_or("")),
            })
            .collect();
        crate::order::sort_by_key(&mut notes, |n| std::cmp::Reverse(n.at));
        Ok(IncidentDetails {
            log,
            notes,
            ..Default::default()
        })
    }

    /// Every open alert.
    pub async fn incidents(&self) -> Result<Vec<Incident>, ProviderError> {
        let q = [
            ("query", "status:open".to_string()),
            ("limit", PAGE.to_string()),
            ("offset", "0".to_string()),
            ("sort", "createdAt".to_string()),
            ("order", "desc".to_string()),
        ];
        let raw = self
            .http
            .get_next_url_pages(&self.http.url("/v2/alerts"), &q, |l: OgList| {
                (l.data, l.paging.and_then(|p| p.next))
            })
            .await?;
        let mut seen = std::collections::HashSet::new();
        Ok(raw
            .into_iter()
            .filter(|a| seen.insert(a.id.clone()))
            .map(|a| self.normalize(a))
            .filter(|i| i.status.is_open())
            .collect())
    }

    /// The URL and body of a write; the body names who acts and why
    /// (`user`, `note`: the reason, else what was done).
    fn write_request(
        &self,
        op: &WriteOp,
        ctx: &PlanCtx,
    ) -> Result<(String, serde_json::Value), ProviderError> {
        let (id, action, note) = match op {
            WriteOp::IncidentAck { id, .. } => (
                id,
                "acknowledge",
                ctx.reason_or(|| "acknowledged via sitrep".into()),
            ),
            WriteOp::IncidentResolve { id, .. } => {
                (id, "close", ctx.reason_or(|| "closed via sitrep".into()))
            }
            WriteOp::IncidentNote { id, text, .. } => (id, "notes", text.clone()),
            other => {
                return Err(ProviderError::op_unsupported(
                    &self.basics.name,
                    "Opsgenie",
                    other,
                ));
            }
        };
        let url = self.http.url(&format!(
            "/v2/alerts/{}/{action}?identifierType=id",
            http::seg(id)
        ));
        Ok((
            url,
            serde_json::json!({"user": ctx.actor, "source": "sitrep", "note": note}),
        ))
    }

    async fn make_plan(&self, op: &WriteOp, ctx: &PlanCtx) -> Result<Plan, ProviderError> {
        let (url, body) = self.write_request(op, ctx)?;
        let id = op.target();
        let one: OgOne = self
            .http
            .get_json(
                &self.http.url(&format!("/v2/alerts/{}", http::seg(&id))),
                &[("identifierType", "id".to_string())],
            )
            .await?;
        let inc = self.normalize(one.data);
        let verb = match op {
            WriteOp::IncidentAck { .. } => "acknowledge",
            WriteOp::IncidentResolve { .. } => "close",
            _ => "add a note to",
        };
        Ok(Plan {
            precondition: Precondition::None,
            environment: None,
            op: op.clone(),
            provider: self.basics.name.clone(),
            summary: format!("{verb} {} alert {}: {}", inc.severity, inc.id, inc.title),
            stakes: vec![("status".into(), inc.status.label().into())],
            requests: vec![self.http.planned(&Method::POST, &url, Some(body), &[])],
            detail: serde_json::json!({
                "severity": inc.severity.label(),
                "title": inc.title.as_str(),
                "status_before": inc.status.label(),
            }),
        })
    }

    async fn run(&self, plan: &Plan, _idempotency_key: &str) -> Result<ExecResult, ProviderError> {
        let (url, _) = self.write_request(&plan.op, &PlanCtx::default())?;
        let req = plan.requests.first().ok_or_else(|| {
            ProviderError::new(
                &self.basics.name,
                ErrorKind::Config,
                "the plan has no request",
            )
        })?;
        let resp = self
            .http
            .send_planned(req, (&Method::POST, &url), &[], None)
            .await?;
        // 202 means accepted; an odd body must not turn that into a failure.
        let accepted: Accepted = resp.json().unwrap_or(Accepted {
            request_id: None,
            result: None,
        });
        let id = plan.op.target();
        let Some(rid) = accepted.request_id.filter(|r| !r.is_empty()) else {
            return Ok(ExecResult {
                message: format!("{} accepted for {id}", plan.op.action_name()),
                detail: serde_json::json!({"status": resp.status}),
            });
        };
        let rid = SafeText::line(&rid);
        // The change is processed asynchronously: look the outcome up.
        let status_url = self
            .http
            .url(&format!("/v2/alerts/requests/{}", http::seg(rid.as_str())));
        for _ in 0..self.request_checks {
            tokio::time::sleep(self.request_check_pause).await;
            match self.http.get_json::<RequestStatus>(&status_url, &[]).await {
                Ok(s) if s.data.is_success => {
                    return Ok(ExecResult {
                        message: format!("{} done for {id}", plan.op.action_name()),
                        detail: serde_json::json!({"status": resp.status, "requestId": rid.as_str(), "processed": true}),
                    });
                }
                Ok(s) => {
                    return Err(ProviderError::new(
                        &self.basics.name,
                        ErrorKind::Conflict {
                            status: resp.status,
                        },
                        format!(
                            "request {rid} was accepted but failed: {}",
                            s.data.status.unwrap_or_default()
                        ),
                    ));
                }
                // Not processed yet (404) or unreadable: try again, then report accepted.
                Err(_) => continue,
            }
        }
        Ok(ExecResult {
            message: format!(
                "{} accepted for {id} ({}); Opsgenie processes it asynchronously",
                plan.op.action_name(),
                SafeText::line(
                    accepted
                        .result
                        .as_deref()
                        .unwrap_or("Request will be processed")
                )
            ),
            detail: serde_json::json!({"status": resp.status, "requestId": rid.as_str(), "processed": false}),
        })
    }
}

/// The sequential reads one fetch is given time for (`fetch_deadline`): a
/// few pages of the open-incident list; a longer list takes longer and is
/// cut off by the poller, as before.
const FETCH_REQUESTS: u32 = 4;

impl Provider for Opsgenie {
    provider_basics!(fetch_requests: FETCH_REQUESTS, fetch: incidents <- incidents);
    fn supports(&self, op: &WriteOp) -> bool {
        is_incident_write(op)
    }
    delegate_writes!(make_plan, run);
    fn has_details(&self) -> bool {
        true
    }
    fn incident_details<'a>(
        &'a self,
        id: &'a str,
    ) -> super::BoxFut<'a, Result<crate::model::IncidentDetails, ProviderError>> {
        Box::pin(self.details(id))
    }
}

/// This provider's part of [`super::decode_wire`].
pub fn decode_wire(body: &[u8]) -> Result<(), ProviderError> {
    super::http::first_error([
        super::http::decode_json::<OgList>("fuzz", "GET /v2/alerts", body).map(drop),
        super::http::decode_json::<OgOne>("fuzz", "GET /v2/alerts/{id}", body).map(drop),
        super::http::decode_json::<Accepted>("fuzz", "POST /v2/alerts/{id}/...", body).map(drop),
        super::http::decode_json::<RequestStatus>("fuzz", "GET /v2/alerts/requests/{id}", body)
            .map(drop),
    ])
}
