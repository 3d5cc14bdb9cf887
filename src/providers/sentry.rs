//! Sentry web API (providers.md §11): unresolved issues of the organization
//! as incidents; resolve, and ignore (archive) for a while.
//!
//! - List: `GET /api/0/organizations/{org}/issues/?query=is:unresolved`
//!   (optionally `project=` per configured project), `limit=100`, stats
//!   collapsed, every page through the `Link` header until `results="false"`.
//! - Status: unresolved + assigned → `acknowledged` (someone owns it),
//!   unresolved → `triggered`, ignored → `silenced`, resolved → `resolved`.
//! - Severity: `level` through `[severity] sentry_level`, else SEV3.
//! - Resolve: `PUT /api/0/organizations/{org}/issues/{id}/`
//!   `{"status":"resolved"}`; on 404 (old self-hosted without the org-scoped
//!   route) the same body goes to `PUT /api/0/issues/{id}/`: a 404 changed
//!   nothing, so the fallback is safe.
//! - Ignore = `silence create issue=<id> --for <d>`: `{"status":"ignored",
//!   "statusDetails":{"ignoreDuration":<minutes>}}`.
//! - Sentry has no acknowledge and no idempotency key; both writes set a
//!   state, so repeating them is harmless.

use super::http::{self, Auth, HttpClient, HttpConfig};
use super::{Basics, BuildCtx, ErrorKind, Provider, ProviderError, TokenUse, http_client, require};
use crate::config::{ProviderConfig, ProviderKind, SeverityMatrix};
use crate::model::{Incident, IncidentStatus, Severity, Time};
use crate::ops::{ExecResult, Plan, PlanCtx, Precondition, WriteOp};
use crate::text::SafeText;
use reqwest::Method;
use serde::Deserialize;
use std::time::Duration;

pub struct Sentry {
    basics: Basics,
    http: HttpClient,
    org: String,
    projects: Vec<String>,
    severity: SeverityMatrix,
}

#[derive(Deserialize)]
struct SProject {
    #[serde(default)]
    slug: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct SAssignee {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

#[derive(Deserialize)]
struct SIssue {
    id: String,
    #[serde(default, rename = "shortId")]
    short_id: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default, rename = "firstSeen")]
    first_seen: Option<Time>,
    #[serde(default, rename = "lastSeen")]
    last_seen: Option<Time>,
    #[serde(default)]
    permalink: Option<String>,
    #[serde(default)]
    project: Option<SProject>,
    #[serde(default, rename = "assignedTo")]
    assigned_to: Option<SAssignee>,
}

fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl Sentry {
    /// The issues of one organization, read with a bearer auth token;
    /// `cfg` replaces the HTTP settings of `timeout` (tests shrink waits).
    pub fn with_http_config(
        pc: &ProviderConfig,
        ctx: &BuildCtx<'_>,
        cfg: HttpConfig,
    ) -> Result<Self, ProviderError> {
        let org = require(
            pc,
            &pc.organization,
            "sentry needs `organization` (the org slug)",
        )?;
        let token = TokenUse::Required("no auth token", Auth::Bearer);
        Ok(Sentry {
            basics: Basics::new(pc, ProviderKind::Sentry),
            http: http_client(pc, ctx, cfg, "no base_url", token)?,
            org,
            projects: pc.projects.clone().unwrap_or_default(),
            severity: ctx.config.severity.clone(),
        })
    }

    new_with_default_http!();

    fn normalize(&self, i: SIssue) -> Incident {
        let assignee = i
            .assigned_to
            .as_ref()
            .and_then(|a| nonempty(&a.name).or(nonempty(&a.email)))
            .map(SafeText::line);
        let status = match i.status.as_deref() {
            Some("resolved") => IncidentStatus::Resolved,
            Some("ignored") | Some("muted") => IncidentStatus::Silenced,
            _ if assignee.is_some() => IncidentStatus::Acknowledged,
            _ => IncidentStatus::Triggered,
        };
        let severity = i
            .level
            .as_deref()
            .and_then(|l| {
                let l = l.trim().to_ascii_lowercase();
                self.severity.sentry_level.get(&l).copied()
            })
            .unwrap_or(Severity::Sev3);
        let title = match (nonempty(&i.short_id), nonempty(&i.title)) {
            (Some(s), Some(t)) => format!("{s}: {t}"),
            (None, Some(t)) => t.to_string(),
            (Some(s), None) => s.to_string(),
            (None, None) => i.id.clone(),
        };
        Incident {
            provider: SafeText::line(&self.basics.name),
            id: SafeText::line(&i.id),
            labels: Default::default(),
            title: SafeText::line(&title),
            severity,
            status,
            service: i
                .project
                .as_ref()
                .and_then(|p| nonempty(&p.slug).or(nonempty(&p.name)))
                .map(SafeText::line),
            created_at: i
                .first_seen
                .or(i.last_seen)
                .unwrap_or_else(chrono::Utc::now),
            url: nonempty(&i.permalink).map(SafeText::line),
            assignee,
            runbook: None,
        }
    }

    /// Every unresolved issue of the organization (and configured projects).
    pub async fn incidents(&self) -> Result<Vec<Incident>, ProviderError> {
        let mut q: Vec<(&str, String)> = vec![
            ("query", "is:unresolved".into()),
            ("limit", "100".into()),
            ("sort", "date".into()),
            ("collapse", "stats".into()),
            ("collapse", "lifetime".into()),
            ("collapse", "filtered".into()),
        ];
        q.extend(self.projects.iter().map(|p| ("project", p.clone())));
        let url = self.http.url(&format!(
            "/api/0/organizations/{}/issues/",
            http::seg(&self.org)
        ));
        let raw: Vec<SIssue> = self.http.get_link_pages(&url, &q).await?;
        let mut seen = std::collections::HashSet::new();
        Ok(raw
            .into_iter()
            .filter(|i| seen.insert(i.id.clone()))
            .map(|i| self.normalize(i))
            .filter(|i| i.status.is_open())
            .collect())
    }

    fn issue_url(&self, id: &str) -> String {
        self.http.url(&format!(
            "/api/0/organizations/{}/issues/{}/",
            http::seg(&self.org),
            http::seg(id)
        ))
    }

    fn legacy_issue_url(&self, id: &str) -> String {
        self.http.url(&format!("/api/0/issues/{}/", http::seg(id)))
    }

    /// The issue a write targets, and the body.
    fn write_request(&self, op: &WriteOp) -> Result<(String, serde_json::Value), ProviderError> {
        match op {
            WriteOp::IncidentResolve { id, .. } => {
                Ok((id.clone(), serde_json::json!({"status": "resolved"})))
            }
            WriteOp::SilenceCreate {
                matchers,
                duration_secs,
                ..
            } => {
                let id = match matchers.as_slice() {
                    [m] if !m.is_regex
                        && m.is_equal
                        && matches!(m.name.as_str(), "issue" | "id") =>
                    {
                        m.value.clone()
                    }
                    _ => {
                        return Err(ProviderError::unsupported(
                            &self.basics.name,
                            "a Sentry silence (ignore) takes exactly one matcher issue=<issue id>",
                        ));
                    }
                };
                let minutes = duration_secs.div_ceil(60).max(1);
                Ok((
                    id,
                    serde_json::json!({"status": "ignored", "statusDetails": {"ignoreDuration": minutes}}),
                ))
            }
            other => Err(ProviderError::op_unsupported(
                &self.basics.name,
                "Sentry",
                other,
            )),
        }
    }

    async fn get_issue(&self, id: &str) -> Result<SIssue, ProviderError> {
        match self.http.get_json(&self.issue_url(id), &[]).await {
            Err(e) if e.kind == ErrorKind::NotFound => {
                self.http.get_json(&self.legacy_issue_url(id), &[]).await
            }
            r => r,
        }
    }

    async fn make_plan(&self, op: &WriteOp, _ctx: &PlanCtx) -> Result<Plan, ProviderError> {
        let (id, body) = self.write_request(op)?;
        let inc = self.normalize(self.get_issue(&id).await?);
        let verb = match op {
            WriteOp::IncidentResolve { .. } => "resolve".to_string(),
            WriteOp::SilenceCreate { duration_secs, .. } => format!(
                "ignore for {}",
                humantime::format_duration(Duration::from_secs(duration_secs.div_ceil(60) * 60))
            ),
            _ => "change".into(),
        };
        let url = self.issue_url(&id);
        Ok(Plan {
            precondition: Precondition::None,
            environment: None,
            op: op.clone(),
            provider: self.basics.name.clone(),
            summary: format!(
                "{verb} {} Sentry issue {}: {}",
                inc.severity, inc.id, inc.title
            ),
            stakes: vec![
                ("status".into(), inc.status.label().into()),
                (
                    "fallback".into(),
                    format!(
                        "the same PUT to {} if the org-scoped route answers 404",
                        self.legacy_issue_url(&id)
                    ),
                ),
            ],
            requests: vec![self.http.planned(&Method::PUT, &url, Some(body), &[])],
            detail: serde_json::json!({
                "severity": inc.severity.label(),
                "title": inc.title.as_str(),
                "status_before": inc.status.label(),
            }),
        })
    }

    async fn run(&self, plan: &Plan, _idempotency_key: &str) -> Result<ExecResult, ProviderError> {
        let (id, _) = self.write_request(&plan.op)?;
        let req = plan.requests.first().ok_or_else(|| {
            ProviderError::new(
                &self.basics.name,
                ErrorKind::Config,
                "the plan has no request",
            )
        })?;
        let url = self.issue_url(&id);
        let (resp, fallback) = match self
            .http
            .send_planned(req, (&Method::PUT, &url), &[], None)
            .await
        {
            Err(e) if e.kind == ErrorKind::NotFound => {
                let legacy = self.legacy_issue_url(&id);
                let mut r2 = req.clone();
                r2.url = legacy.clone();
                (
                    self.http
                        .send_planned(&r2, (&Method::PUT, &legacy), &[], None)
                        .await?,
                    true,
                )
            }
            r => (r?, false),
        };
        let status = resp
            .json::<SIssue>()
            .ok()
            .and_then(|i| i.status)
            .unwrap_or_else(|| "updated".into());
        Ok(ExecResult {
            message: format!(
                "Sentry issue {} is now {}",
                SafeText::line(&id),
                SafeText::line(&status)
            ),
            detail: serde_json::json!({"status": resp.status, "legacy_route": fallback}),
        })
    }
}

/// The sequential reads one fetch is given time for (`fetch_deadline`): a
/// few pages of the unresolved-issue list; a longer list takes longer and is
/// cut off by the poller, as before.
const FETCH_REQUESTS: u32 = 4;

impl Provider for Sentry {
    provider_basics!(fetch_requests: FETCH_REQUESTS, fetch: incidents <- incidents);
    fn supports(&self, op: &WriteOp) -> bool {
        match op {
            WriteOp::IncidentResolve { .. } => true,
            // Only an ignore of one issue: `issue=<id>`.
            WriteOp::SilenceCreate { .. } => self.write_request(op).is_ok(),
            _ => false,
        }
    }
    delegate_writes!(make_plan, run);
}

/// This provider's part of [`super::decode_wire`].
pub fn decode_wire(body: &[u8]) -> Result<(), ProviderError> {
    super::http::first_error([
        super::http::decode_json::<Vec<SIssue>>("fuzz", "GET issues", body).map(drop),
        super::http::decode_json::<SIssue>("fuzz", "GET issue", body).map(drop),
    ])
}
