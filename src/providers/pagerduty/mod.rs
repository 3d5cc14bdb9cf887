//! PagerDuty REST API v2: open incidents, who is on call, and
//! acknowledge / resolve / note (providers.md §1).
//!
//! - Open = `statuses[]=triggered&statuses[]=acknowledged`, every page
//!   (`limit=100`, `offset + limit ≤ 10000`), optional `service_ids[]` /
//!   `team_ids[]` from `services` / `teams`. The first page asks for
//!   `total=true`; the remaining pages are then requested all at once
//!   ([`PAGE_CONCURRENCY`] in flight at most, and at most half of the
//!   `ratelimit-remaining` the first page reports), kept in order and
//!   deduplicated by id: two round trips for any list up to 5,000.
//! - Severity: `priority.summary` through `[severity] pagerduty_priority`,
//!   else `urgency` through `pagerduty_urgency`, else SEV3.
//! - Writes (`writes.rs`), all with `From`: `PUT /incidents/{id}` (ack,
//!   resolve, escalate, reassign), `POST /incidents/{id}/notes` (note),
//!   `POST /incidents/{id}/snooze`, `POST /incidents/{id}/responder_requests`,
//!   `PUT /incidents` (bulk ack, 250 a request). PagerDuty does not document
//!   `Idempotency-Key`; setting a status is naturally idempotent, a note is
//!   not (a blind retry would add it twice, so the executor never retries).
//! - Details (`details.rs`): an incident's log entries and notes, read on
//!   demand when the console opens it.

mod details;
mod writes;

pub use details::LOG_LIMIT;
pub use writes::BULK_LIMIT;

use super::http::{self, Auth, HttpClient, HttpConfig, OffsetPage};
use super::{
    Basics, BoxFut, BuildCtx, ErrorKind, Provider, ProviderError, TokenUse, http_client,
    is_incident_write,
};
use crate::config::{ProviderConfig, ProviderKind, SeverityMatrix};
use crate::model::{Fetched, Incident, IncidentStatus, OnCall, Severity, Time};
use crate::ops::WriteOp;
use crate::text::SafeText;
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};

/// PagerDuty's limit on `offset + limit`.
pub const OFFSET_CAP: usize = 10_000;
const PAGE: usize = 100;
/// Pages of one list in flight at once after the first. PagerDuty limits
/// an API key to 960 requests a minute (providers.md §1.3) and documents
/// no limit on concurrent requests: the largest list it serves (10,000,
/// the offset cap) is 100 pages, about a tenth of a minute's budget, and
/// 50 at once reads 5,000 incidents in one round trip after the first.
pub const PAGE_CONCURRENCY: usize = 50;
const ACCEPT: &str = "application/vnd.pagerduty+json;version=2";

pub struct PagerDuty {
    basics: Basics,
    /// `name` as the `provider` of every incident (shared, not re-made).
    label: SafeText,
    http: HttpClient,
    from: Option<String>,
    services: Vec<String>,
    teams: Vec<String>,
    severity: SeverityMatrix,
    /// PagerDuty service id → configured `[[service]]` name.
    service_names: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Ref {
    #[serde(default)]
    summary: Option<String>,
}

/// Text fields of an incident borrow from the page body where the JSON
/// has no escapes (`Cow`): each is copied once, into its `SafeText`.
type Txt<'a> = Option<Cow<'a, str>>;

#[derive(Deserialize)]
struct IncRef<'a> {
    #[serde(default, borrow)]
    id: Txt<'a>,
    #[serde(default, borrow)]
    summary: Txt<'a>,
}

#[derive(Deserialize)]
struct Assignment<'a> {
    #[serde(default, borrow)]
    assignee: Option<IncRef<'a>>,
}

#[derive(Deserialize)]
struct PdIncident<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(default, borrow)]
    title: Txt<'a>,
    #[serde(default, borrow)]
    summary: Txt<'a>,
    #[serde(default, borrow)]
    html_url: Txt<'a>,
    created_at: Time,
    #[serde(borrow)]
    status: Cow<'a, str>,
    #[serde(default, borrow)]
    urgency: Txt<'a>,
    #[serde(default, borrow)]
    service: Option<IncRef<'a>>,
    #[serde(default, borrow)]
    priority: Option<IncRef<'a>>,
    #[serde(default, borrow)]
    assignments: Vec<Assignment<'a>>,
    /// The level of the escalation policy the incident is at (escalate).
    #[serde(default)]
    escalation_level: Option<u32>,
}

#[derive(Deserialize)]
struct IncidentList<'a> {
    #[serde(borrow)]
    incidents: Vec<PdIncident<'a>>,
    #[serde(default)]
    more: bool,
    #[serde(default)]
    total: Option<usize>,
}

#[derive(Deserialize)]
struct OneIncident<'a> {
    #[serde(borrow)]
    incident: PdIncident<'a>,
}

#[derive(Deserialize)]
struct PdOnCall {
    #[serde(default)]
    user: Option<Ref>,
    #[serde(default)]
    escalation_policy: Option<Ref>,
    #[serde(default)]
    escalation_level: u32,
    #[serde(default)]
    end: Option<Time>,
}

#[derive(Deserialize)]
struct OnCallList {
    oncalls: Vec<PdOnCall>,
    #[serde(default)]
    more: bool,
    #[serde(default)]
    total: Option<usize>,
}

/// `ratelimit-remaining` of a PagerDuty answer (providers.md §1.3).
fn rate_budget(resp: &http::Response) -> Option<usize> {
    resp.header("ratelimit-remaining")
        .and_then(|v| v.trim().parse().ok())
}

fn opt_text(s: Option<&str>) -> Option<SafeText> {
    s.filter(|s| !s.trim().is_empty()).map(SafeText::line)
}

/// The service and assignee names of one list, each sanitized once and
/// shared: 5,000 incidents name a few dozen services and people, not
/// 5,000 (each a string of its own before).
#[derive(Default)]
struct Names(std::sync::Mutex<std::collections::HashMap<String, SafeText>>);

impl Names {
    /// Names kept at most; past it each is made anew (a list of distinct
    /// names gains nothing from sharing).
    const MAX: usize = 1024;

    fn get(&self, raw: Option<&str>) -> Option<SafeText> {
        let raw = raw.filter(|s| !s.trim().is_empty())?;
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = map.get(raw) {
            return Some(t.clone());
        }
        let t = SafeText::line(raw);
        if map.len() < Self::MAX {
            map.insert(raw.to_string(), t.clone());
        }
        Some(t)
    }
}

impl PagerDuty {
    /// Incidents and on-call of a PagerDuty account, optionally limited to
    /// `services`/`teams`; `cfg` replaces the HTTP settings of `timeout`.
    pub fn with_http_config(
        pc: &ProviderConfig,
        ctx: &BuildCtx<'_>,
        cfg: HttpConfig,
    ) -> Result<Self, ProviderError> {
        let token = TokenUse::Required("no API token", Auth::PagerDuty);
        let http = http_client(pc, ctx, cfg, "no base_url", token)?
            .with_header("Accept", ACCEPT)
            .with_header("Content-Type", "application/json");
        let mut service_names = BTreeMap::new();
        for s in &ctx.config.service {
            for id in &s.pagerduty_services {
                service_names.insert(id.clone(), s.name.clone());
            }
        }
        Ok(PagerDuty {
            basics: Basics::new(pc, ProviderKind::Pagerduty),
            label: SafeText::line(&pc.name),
            http,
            from: pc.from.clone().filter(|f| !f.trim().is_empty()),
            services: pc.services.clone().unwrap_or_default(),
            teams: pc.teams.clone().unwrap_or_default(),
            severity: ctx.config.severity.clone(),
            service_names,
        })
    }

    new_with_default_http!();

    /// Pages in flight at once: [`PAGE_CONCURRENCY`], or the client's
    /// `page_concurrency` when that was set higher; a few when the first
    /// page shows the server is near ([`http::Fanout`]).
    fn page_concurrency(&self) -> http::Fanout {
        let cfg = self.http.config();
        http::Fanout::new(PAGE_CONCURRENCY.max(cfg.page_concurrency), cfg)
    }

    fn severity_of(&self, i: &PdIncident<'_>) -> Severity {
        i.priority
            .as_ref()
            .and_then(|p| p.summary.as_deref())
            .and_then(|p| self.severity.pagerduty_priority.get(p.trim()))
            .or_else(|| {
                i.urgency
                    .as_deref()
                    .and_then(|u| self.severity.pagerduty_urgency.get(u.trim()))
            })
            .copied()
            .unwrap_or(Severity::Sev3)
    }

    fn normalize(&self, i: PdIncident<'_>, names: &Names) -> Incident {
        let status = match &*i.status {
            "acknowledged" => IncidentStatus::Acknowledged,
            "resolved" => IncidentStatus::Resolved,
            // "triggered" and anything new: show it as needing someone.
            _ => IncidentStatus::Triggered,
        };
        let service = i.service.as_ref().and_then(|s| {
            s.id.as_deref()
                .and_then(|id| self.service_names.get(id))
                .and_then(|n| names.get(Some(n)))
                .or_else(|| names.get(s.summary.as_deref()))
        });
        let title = opt_text(i.title.as_deref())
            .or_else(|| opt_text(i.summary.as_deref()))
            .unwrap_or_else(|| SafeText::line(&i.id));
        Incident {
            provider: self.label.clone(),
            severity: self.severity_of(&i),
            id: SafeText::line(&i.id),
            labels: Default::default(),
            title,
            status,
            service,
            created_at: i.created_at,
            url: opt_text(i.html_url.as_deref()),
            assignee: i.assignments.iter().find_map(|a| {
                a.assignee
                    .as_ref()
                    .and_then(|r| names.get(r.summary.as_deref()))
            }),
            runbook: None,
        }
    }

    fn list_query(&self, statuses: &[&str], offset: usize) -> Vec<(&'static str, String)> {
        let mut q: Vec<(&'static str, String)> = statuses
            .iter()
            .map(|s| ("statuses[]", s.to_string()))
            .collect();
        q.push(("limit", PAGE.to_string()));
        q.push(("offset", offset.to_string()));
        if offset == 0 {
            q.push(("total", "true".into()));
        }
        q.extend(self.services.iter().map(|s| ("service_ids[]", s.clone())));
        q.extend(self.teams.iter().map(|t| ("team_ids[]", t.clone())));
        q
    }

    /// Decode and normalize one `GET /incidents` body (the fetch path's
    /// decoding, exposed for benchmarks). Returns the incidents and `more`.
    pub fn decode_incidents(&self, body: &[u8]) -> Result<(Vec<Incident>, bool), ProviderError> {
        let l: IncidentList = http::decode_json(&self.basics.name, "GET /incidents", body)?;
        Ok((
            {
                let names = Names::default();
                l.incidents
                    .into_iter()
                    .map(|i| self.normalize(i, &names))
                    .collect()
            },
            l.more,
        ))
    }

    /// All open incidents (triggered + acknowledged), deduplicated by id.
    pub async fn incidents(&self) -> Result<Vec<Incident>, ProviderError> {
        let open = self
            .list(&["triggered", "acknowledged"], &[], "open")
            .await?;
        Ok(open.into_iter().filter(|i| i.status.is_open()).collect())
    }

    /// Incidents resolved in `[since, now]`: `statuses[]=resolved` with
    /// `since`/`until`, every page (`incidents --all`).
    pub async fn resolved(
        &self,
        since: crate::model::Time,
    ) -> Result<Vec<Incident>, ProviderError> {
        let stamp = |t: crate::model::Time| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let window = [
            ("since", stamp(since)),
            ("until", stamp(chrono::Utc::now())),
        ];
        let done = self.list(&["resolved"], &window, "resolved").await?;
        Ok(done.into_iter().filter(|i| !i.status.is_open()).collect())
    }

    /// Every page of `GET /incidents` with `statuses` (and `extra` query
    /// pairs), normalized page by page, deduplicated by id. `what` names
    /// the list in the warning when the offset cap cuts it.
    async fn list(
        &self,
        statuses: &[&str],
        extra: &[(&'static str, String)],
        what: &str,
    ) -> Result<Vec<Incident>, ProviderError> {
        let url = self.http.url("/incidents");
        let names = &Names::default();
        let (raw, truncated) =
            http::offset_pages(PAGE, OFFSET_CAP, self.page_concurrency(), |offset| {
                let mut q = self.list_query(statuses, offset);
                q.extend(extra.iter().cloned());
                let url = &url;
                async move {
                    let resp = self.http.get(url, &q).await?;
                    let budget = rate_budget(&resp);
                    let l: IncidentList<'_> = resp.json()?;
                    // Normalized page by page: a page's raw records are
                    // dropped before the next pages are read.
                    Ok(OffsetPage {
                        items: l
                            .incidents
                            .into_iter()
                            .map(|i| self.normalize(i, names))
                            .collect::<Vec<_>>(),
                        more: l.more,
                        total: l.total,
                        budget,
                    })
                }
            })
            .await?;
        if truncated {
            tracing::warn!(
                "{}: more than {OFFSET_CAP} {what} incidents; PagerDuty lists only the first {OFFSET_CAP}",
                self.basics.name
            );
        }
        let mut seen = HashSet::with_capacity(raw.len());
        Ok(raw
            .into_iter()
            .filter(|i| seen.insert(i.id.clone()))
            .collect())
    }

    /// Who is on call now (the earliest on-call per policy, level and user).
    pub async fn oncall(&self) -> Result<Vec<OnCall>, ProviderError> {
        let url = self.http.url("/oncalls");
        let (raw, _) = http::offset_pages(PAGE, OFFSET_CAP, self.page_concurrency(), |offset| {
            let mut q = vec![
                ("limit", PAGE.to_string()),
                ("offset", offset.to_string()),
                ("earliest", "true".to_string()),
            ];
            if offset == 0 {
                q.push(("total", "true".into()));
            }
            let url = &url;
            async move {
                let resp = self.http.get(url, &q).await?;
                let l: OnCallList = resp.json()?;
                Ok(OffsetPage {
                    items: l.oncalls,
                    more: l.more,
                    total: l.total,
                    budget: rate_budget(&resp),
                })
            }
        })
        .await?;
        Ok(raw
            .into_iter()
            .map(|o| OnCall {
                provider: SafeText::line(&self.basics.name),
                policy: o
                    .escalation_policy
                    .as_ref()
                    .and_then(|p| opt_text(p.summary.as_deref()))
                    .unwrap_or_else(|| SafeText::line("-")),
                level: o.escalation_level,
                user: o
                    .user
                    .as_ref()
                    .and_then(|u| opt_text(u.summary.as_deref()))
                    .unwrap_or_else(|| SafeText::line("-")),
                until: o.end,
            })
            .collect())
    }
}

/// The sequential reads one fetch is given time for (`fetch_deadline`): the
/// first pages of the incident and on-call lists (read side by side); a
/// longer list takes longer and is cut off by the poller, as before.
const FETCH_REQUESTS: u32 = 4;

impl Provider for PagerDuty {
    provider_basics!(fetch_requests: FETCH_REQUESTS);
    fn resolved_since(
        &self,
        since: crate::model::Time,
    ) -> BoxFut<'_, Result<Vec<Incident>, ProviderError>> {
        Box::pin(self.resolved(since))
    }
    fn fetch(&self) -> BoxFut<'_, Result<Fetched, ProviderError>> {
        Box::pin(async move {
            let (incidents, oncall) = futures::join!(self.incidents(), self.oncall());
            let incidents = incidents?;
            let oncall = match oncall {
                Ok(o) => o,
                // An account without on-call schedules (402) or access to
                // them must not hide its incidents.
                Err(e)
                    if matches!(
                        e.kind,
                        ErrorKind::Http { status: 402 }
                            | ErrorKind::NotFound
                            | ErrorKind::Unauthorized { status: 403 }
                    ) =>
                {
                    tracing::warn!("{e} (on-call not shown)");
                    Vec::new()
                }
                Err(e) => return Err(e),
            };
            Ok(Fetched {
                incidents,
                oncall,
                ..Default::default()
            })
        })
    }
    fn supports(&self, op: &WriteOp) -> bool {
        is_incident_write(op)
            || matches!(
                op,
                WriteOp::IncidentEscalate { .. }
                    | WriteOp::IncidentSnooze { .. }
                    | WriteOp::IncidentReassign { .. }
                    | WriteOp::IncidentAddResponders { .. }
                    | WriteOp::IncidentBulkAck { .. }
            )
    }
    delegate_writes!(make_plan, run);
    fn has_details(&self) -> bool {
        true
    }
    fn incident_details<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFut<'a, Result<crate::model::IncidentDetails, ProviderError>> {
        Box::pin(self.details(id))
    }
}

/// This provider's part of [`super::decode_wire`].
pub fn decode_wire(body: &[u8]) -> Result<(), ProviderError> {
    super::http::first_error([
        super::http::decode_json::<IncidentList>("fuzz", "GET /incidents", body).map(drop),
        super::http::decode_json::<OnCallList>("fuzz", "GET /oncalls", body).map(drop),
        super::http::decode_json::<OneIncident>("fuzz", "GET /incidents/{id}", body).map(drop),
        details::decode_wire(body),
    ])
}
