//! Prometheus Alertmanager API v2 (providers.md §2): alerts as incidents,
//! silences created and expired. No auth by default (`Auth::None`).
//!
//! - Every alert `GET /api/v2/alerts` returns (active, silenced, inhibited,
//!   unprocessed; resolved ones are not listed) is an incident: id =
//!   `fingerprint`; status `silenced` when the alert is suppressed (silenced
//!   or inhibited), else `firing`.
//! - Severity: the `[severity] alert_label` label through `alert_values`
//!   (case-insensitive), else SEV3.
//! - Title: `alertname` + the `summary` annotation; service: a `[[service]]`
//!   whose `alert_labels` all match, else the `service` label, else `job`;
//!   runbook: the `runbook_url` (or `runbook`) annotation; labels: the
//!   alert's labels (runbooks bind `{instance}` and `{alertname}` from them).
//! - Silences: `POST /api/v2/silences` (createdBy = actor, comment = reason),
//!   expire with `DELETE /api/v2/silence/{id}`. Alertmanager has no
//!   idempotency key: a repeated create makes a second, identical silence
//!   (harmless, and the executor never retries blindly); expiring twice is a
//!   no-op.

use super::http::{self, HttpClient, HttpConfig};
use super::{Basics, BuildCtx, ErrorKind, Provider, ProviderError, TokenUse, http_client};
use crate::config::{ProviderConfig, ProviderKind, SeverityMatrix};
use crate::model::{Incident, IncidentStatus, Severity, Time};
use crate::ops::{ExecResult, Matcher, Plan, PlanCtx, Precondition, WriteOp};
use crate::text::SafeText;
use reqwest::Method;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

pub struct Alertmanager {
    basics: Basics,
    http: HttpClient,
    severity: SeverityMatrix,
    /// `[[service]]` name → labels that identify its alerts.
    services: Vec<(String, BTreeMap<String, String>)>,
    /// The longest silence planned (`max_silence`, default 7 days): a
    /// typo of `7000h` must not hide alerts for most of a year.
    max_silence: Duration,
}

/// The default `max_silence`.
pub const MAX_SILENCE: Duration = Duration::from_secs(7 * 86400);

#[derive(Deserialize)]
struct AmStatus {
    #[serde(default)]
    state: String,
    #[serde(default, rename = "silencedBy")]
    silenced_by: Vec<String>,
    #[serde(default, rename = "inhibitedBy")]
    inhibited_by: Vec<String>,
    #[serde(default, rename = "mutedBy")]
    muted_by: Vec<String>,
}

#[derive(Deserialize)]
struct AmAlert {
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(rename = "startsAt")]
    starts_at: Time,
    fingerprint: String,
    status: AmStatus,
    #[serde(default, rename = "generatorURL")]
    generator_url: Option<String>,
}

#[derive(Deserialize)]
struct SilenceCreated {
    #[serde(rename = "silenceID")]
    silence_id: String,
}

#[derive(Deserialize)]
struct SilenceStatus {
    state: String,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct AmMatcher {
    name: String,
    value: String,
    #[serde(default, rename = "isRegex")]
    is_regex: bool,
    #[serde(default = "yes", rename = "isEqual")]
    is_equal: bool,
}

#[derive(Deserialize)]
struct GettableSilence {
    id: String,
    #[serde(default)]
    matchers: Vec<AmMatcher>,
    #[serde(rename = "startsAt")]
    starts_at: Option<Time>,
    #[serde(rename = "endsAt")]
    ends_at: Time,
    #[serde(default, rename = "createdBy")]
    created_by: String,
    #[serde(default)]
    comment: String,
    status: SilenceStatus,
}

/// A matcher as an Alertmanager `filter` expression: `name="value"`.
fn filter_expr(m: &Matcher) -> String {
    let op = match (m.is_regex, m.is_equal) {
        (false, true) => "=",
        (false, false) => "!=",
        (true, true) => "=~",
        (true, false) => "!~",
    };
    let v = m.value.replace('\\', "\\\\").replace('"', "\\\"");
    format!("{}{}\"{}\"", m.name, op, v)
}

impl Alertmanager {
    /// Alerts and silences of one Alertmanager (no auth of its own); `cfg`
    /// replaces the HTTP settings of `timeout` (tests shrink waits).
    pub fn with_http_config(
        pc: &ProviderConfig,
        ctx: &BuildCtx<'_>,
        cfg: HttpConfig,
    ) -> Result<Self, ProviderError> {
        // Alertmanager has no auth of its own; a proxy may add a bearer token
        // when one is configured explicitly.
        let http = http_client(
            pc,
            ctx,
            cfg,
            "alertmanager needs base_url (e.g. http://localhost:9093)",
            TokenUse::OptionalBearer,
        )?;
        Ok(Alertmanager {
            max_silence: pc.max_silence.unwrap_or(MAX_SILENCE),
            basics: Basics::new(pc, ProviderKind::Alertmanager),
            http,
            severity: ctx.config.severity.clone(),
            services: ctx
                .config
                .service
                .iter()
                .filter(|s| !s.alert_labels.is_empty())
                .map(|s| (s.name.clone(), s.alert_labels.clone()))
                .collect(),
        })
    }

    new_with_default_http!();

    fn severity_of(&self, labels: &BTreeMap<String, String>) -> Severity {
        labels
            .get(&self.severity.alert_label)
            .and_then(|v| {
                self.severity.alert_values.get(v.trim()).or_else(|| {
                    let lower = v.trim().to_ascii_lowercase();
                    self.severity.alert_values.get(&lower)
                })
            })
            .copied()
            .unwrap_or(Severity::Sev3)
    }

    fn normalize(&self, a: AmAlert) -> Incident {
        let suppressed = a.status.state == "suppressed"
            || !a.status.silenced_by.is_empty()
            || !a.status.inhibited_by.is_empty()
            || !a.status.muted_by.is_empty();
        let nonempty = |m: &BTreeMap<String, String>, k: &str| {
            m.get(k).filter(|v| !v.trim().is_empty()).cloned()
        };
        let alertname = nonempty(&a.labels, "alertname").unwrap_or_else(|| "alert".into());
        let title = match nonempty(&a.annotations, "summary") {
            Some(s) => format!("{alertname}: {s}"),
            None => alertname,
        };
        let service = self
            .services
            .iter()
            .find(|(_, want)| want.iter().all(|(k, v)| a.labels.get(k) == Some(v)))
            .map(|(n, _)| n.clone())
            .or_else(|| nonempty(&a.labels, "service"))
            .or_else(|| nonempty(&a.labels, "job"));
        let runbook =
            nonempty(&a.annotations, "runbook_url").or_else(|| nonempty(&a.annotations, "runbook"));
        let url = a
            .generator_url
            .clone()
            .filter(|u| !u.is_empty())
            .or_else(|| {
                a.labels.get("alertname").map(|n| {
                    format!(
                        "{}/#/alerts?filter=%7Balertname%3D%22{}%22%7D",
                        self.http.base_url(),
                        http::seg(n)
                    )
                })
            });
        Incident {
            provider: SafeText::line(&self.basics.name),
            id: SafeText::line(&a.fingerprint),
            labels: a
                .labels
                .iter()
                .filter(|(k, v)| !k.is_empty() && !v.trim().is_empty())
                .map(|(k, v)| (SafeText::line(k).into_string(), SafeText::line(v)))
                .collect(),
            severity: self.severity_of(&a.labels),
            title: SafeText::line(&title),
            status: if suppressed {
                IncidentStatus::Silenced
            } else {
                IncidentStatus::Firing
            },
            service: service.map(|s| SafeText::line(&s)),
            created_at: a.starts_at,
            url: url.map(|u| SafeText::line(&u)),
            assignee: None,
            runbook: runbook.map(|r| SafeText::line(&r)),
        }
    }

    async fn alerts(&self, matchers: &[Matcher]) -> Result<Vec<AmAlert>, ProviderError> {
        let q: Vec<(&str, String)> = matchers
            .iter()
            .map(|m| ("filter", filter_expr(m)))
            .collect();
        self.http
            .get_json(&self.http.url("/api/v2/alerts"), &q)
            .await
    }

    /// Every alert as an incident.
    pub async fn incidents(&self) -> Result<Vec<Incident>, ProviderError> {
        Ok(self
            .alerts(&[])
            .await?
            .into_iter()
            .map(|a| self.normalize(a))
            .collect())
    }

    async fn make_plan(&self, op: &WriteOp, ctx: &PlanCtx) -> Result<Plan, ProviderError> {
        match op {
            WriteOp::SilenceCreate {
                matchers,
                duration_secs,
                ..
            } => {
                if matchers.is_empty() {
                    return Err(ProviderError::config(
                        &self.basics.name,
                        "a silence needs at least one matcher",
                    ));
                }
                if *duration_secs == 0 {
                    return Err(ProviderError::config(
                        &self.basics.name,
                        "a silence needs a positive duration",
                    ));
                }
                let asked = Duration::from_secs(*duration_secs);
                if asked > self.max_silence {
                    return Err(ProviderError::config(
                        &self.basics.name,
                        format!(
                            "a silence of {} is longer than the {} this provider allows (max_silence); nothing was planned",
                            humantime::format_duration(asked),
                            humantime::format_duration(self.max_silence)
                        ),
                    ));
                }
                let now = chrono::Utc::now();
                // Within max_silence: the end is exactly what was asked.
                let secs = i64::try_from(*duration_secs).unwrap_or(i64::MAX / 2);
                let ends = now
                    .checked_add_signed(chrono::Duration::seconds(secs))
                    .unwrap_or(now);
                let ts = |t: Time| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                let body = serde_json::json!({
                    "matchers": matchers,
                    "startsAt": ts(now),
                    "endsAt": ts(ends),
                    "createdBy": ctx.actor,
                    "comment": ctx.reason_or(|| format!("silenced via sitrep by {}", ctx.actor)),
                });
                let matched: Vec<Incident> = self
                    .alerts(matchers)
                    .await?
                    .into_iter()
                    .map(|a| self.normalize(a))
                    .collect();
                let firing = matched
                    .iter()
                    .filter(|i| i.status == IncidentStatus::Firing)
                    .count();
                let names: Vec<&str> = matched.iter().take(5).map(|i| i.title.as_str()).collect();
                let url = self.http.url("/api/v2/silences");
                Ok(Plan {
                    precondition: Precondition::None,
                    environment: None,
                    op: op.clone(),
                    provider: self.basics.name.clone(),
                    summary: format!(
                        "silence alerts matching {} for {} until {} (matches {}, {firing} firing)",
                        op.target(),
                        humantime::format_duration(asked),
                        ts(ends),
                        plural(matched.len(), "alert")
                    ),
                    stakes: vec![
                        ("matches".into(), plural(matched.len(), "alert")),
                        ("alerts".into(), names.join("; ")),
                        ("until".into(), ts(ends)),
                    ],
                    requests: vec![self.http.planned(&Method::POST, &url, Some(body), &[])],
                    detail: serde_json::json!({"matched": matched.len(), "firing": firing, "ends_at": ts(ends)}),
                })
            }
            WriteOp::SilenceExpire { id, .. } => {
                let url = self.http.url(&format!("/api/v2/silence/{}", http::seg(id)));
                let s: GettableSilence = self.http.get_json(&url, &[]).await?;
                let what = s
                    .matchers
                    .iter()
                    .map(|m| {
                        Matcher {
                            name: m.name.clone(),
                            value: m.value.clone(),
                            is_regex: m.is_regex,
                            is_equal: m.is_equal,
                        }
                        .to_string()
                    })
                    .collect::<Vec<_>>()
                    .join(",");
                Ok(Plan {
                    precondition: Precondition::None,
                    environment: None,
                    op: op.clone(),
                    provider: self.basics.name.clone(),
                    summary: format!(
                        "expire silence {} ({}, {})",
                        SafeText::line(&s.id),
                        SafeText::line(&what),
                        SafeText::line(&s.status.state)
                    ),
                    stakes: vec![
                        (
                            "created by".into(),
                            SafeText::line(&s.created_by).to_string(),
                        ),
                        ("comment".into(), SafeText::line(&s.comment).to_string()),
                        ("ends".into(), s.ends_at.to_rfc3339()),
                    ],
                    requests: vec![self.http.planned(&Method::DELETE, &url, None, &[])],
                    detail: serde_json::json!({"state_before": SafeText::line(&s.status.state).as_str()}),
                })
            }
            other => Err(ProviderError::op_unsupported(
                &self.basics.name,
                "Alertmanager",
                other,
            )),
        }
    }

    async fn run(&self, plan: &Plan, _idempotency_key: &str) -> Result<ExecResult, ProviderError> {
        let req = plan.requests.first().ok_or_else(|| {
            ProviderError::new(
                &self.basics.name,
                ErrorKind::Config,
                "the plan has no request",
            )
        })?;
        match &plan.op {
            WriteOp::SilenceCreate { .. } => {
                let url = self.http.url("/api/v2/silences");
                let resp = self
                    .http
                    .send_planned(req, (&Method::POST, &url), &[], None)
                    .await?;
                // The silence exists once Alertmanager said 200: an
                // unreadable body must not turn that into a failure.
                match resp.json::<SilenceCreated>() {
                    Ok(created) => {
                        let id = SafeText::line(&created.silence_id);
                        Ok(ExecResult {
                            message: format!("silence {id} created"),
                            detail: serde_json::json!({"silenceID": id.as_str(), "status": resp.status}),
                        })
                    }
                    Err(e) => Ok(ExecResult {
                        message: format!(
                            "silence created (the id could not be read: {})",
                            e.detail
                        ),
                        detail: serde_json::json!({"silenceID": null, "status": resp.status}),
                    }),
                }
            }
            WriteOp::SilenceExpire { id, .. } => {
                let url = self.http.url(&format!("/api/v2/silence/{}", http::seg(id)));
                let resp = self
                    .http
                    .send_planned(req, (&Method::DELETE, &url), &[], None)
                    .await?;
                Ok(ExecResult {
                    message: format!("silence {} expired", SafeText::line(id)),
                    detail: serde_json::json!({"status": resp.status}),
                })
            }
            other => Err(ProviderError::op_unsupported(
                &self.basics.name,
                "Alertmanager",
                other,
            )),
        }
    }
}

/// One fetch is two reads at once (`GET /api/v2/alerts` and
/// `GET /api/v2/silences`): one round trip of time.
const FETCH_REQUESTS: u32 = 1;

/// Expired silences older than this are left out of the list.
const EXPIRED_SHOWN: chrono::Duration = chrono::Duration::hours(24);

impl Alertmanager {
    /// Alerts and silences, read at once; each silence knows the alerts it
    /// mutes (from their `silencedBy`).
    async fn fetch_all(&self) -> Result<crate::model::Fetched, ProviderError> {
        let silences_url = self.http.url("/api/v2/silences");
        let (alerts, silences) = futures::join!(
            self.alerts(&[]),
            self.http
                .get_json::<Vec<GettableSilence>>(&silences_url, &[] as &[(&str, String)])
        );
        let alerts = alerts?;
        let silences = silences?;
        let now = chrono::Utc::now();
        let mut muting: BTreeMap<&str, Vec<SafeText>> = BTreeMap::new();
        for a in &alerts {
            for id in &a.status.silenced_by {
                muting
                    .entry(id.as_str())
                    .or_default()
                    .push(SafeText::line(&a.fingerprint));
            }
        }
        let silences = silences
            .iter()
            .filter(|s| s.status.state != "expired" || now - s.ends_at < EXPIRED_SHOWN)
            .map(|s| crate::model::Silence {
                comment: SafeText::line(&s.comment),
                created_by: SafeText::line(&s.created_by),
                ends_at: s.ends_at,
                id: SafeText::line(&s.id),
                matchers: s
                    .matchers
                    .iter()
                    .map(|m| {
                        SafeText::line(&filter_expr(&Matcher {
                            name: m.name.clone(),
                            value: m.value.clone(),
                            is_regex: m.is_regex,
                            is_equal: m.is_equal,
                        }))
                    })
                    .collect(),
                muting: muting.get(s.id.as_str()).cloned().unwrap_or_default(),
                provider: SafeText::line(&self.basics.name),
                starts_at: s.starts_at.unwrap_or(s.ends_at),
                state: SafeText::line(&s.status.state),
            })
            .collect();
        Ok(crate::model::Fetched {
            incidents: alerts.into_iter().map(|a| self.normalize(a)).collect(),
            silences,
            ..Default::default()
        })
    }
}

impl Provider for Alertmanager {
    provider_basics!(fetch_requests: FETCH_REQUESTS);
    fn fetch(&self) -> super::BoxFut<'_, Result<crate::model::Fetched, ProviderError>> {
        Box::pin(self.fetch_all())
    }
    fn supports(&self, op: &WriteOp) -> bool {
        matches!(
            op,
            WriteOp::SilenceCreate { .. } | WriteOp::SilenceExpire { .. }
        )
    }
    delegate_writes!(make_plan, run);
}

/// "1 alert", "3 alerts".
fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// This provider's part of [`super::decode_wire`].
pub fn decode_wire(body: &[u8]) -> Result<(), ProviderError> {
    super::http::first_error([
        super::http::decode_json::<Vec<AmAlert>>("fuzz", "GET /api/v2/alerts", body).map(drop),
        super::http::decode_json::<GettableSilence>("fuzz", "GET /api/v2/silence/{id}", body)
            .map(drop),
        super::http::decode_json::<SilenceCreated>("fuzz", "POST /api/v2/silences", body).map(drop),
    ])
}
