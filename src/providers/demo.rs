//! The embedded demo: deterministic, realistic data for four services,
//! served through the same `Provider` trait as the real providers. Its
//! write actions change the demo state in memory, so the whole flow
//! (confirm, execute, audit, see the change) can be tried with `--demo`.

use super::{BoxFut, ErrorKind, Provider, ProviderError};
use crate::config::ProviderKind;
use crate::model::*;
use crate::ops::{ExecResult, Plan, PlanCtx, PlannedRequest, Precondition, WriteOp};
use crate::slo;
use crate::text::SafeText;
use chrono::Duration as Cd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn t(s: &str) -> SafeText {
    SafeText::line(s)
}

fn ot(s: &str) -> Option<SafeText> {
    Some(SafeText::line(s))
}

/// The whole demo world, shared by the demo providers.
#[derive(Debug)]
pub struct World {
    pub now: Time,
    pub incidents: Vec<Incident>,
    pub oncall: Vec<OnCall>,
    pub slos: Vec<Slo>,
    pub deploys: Vec<Deploy>,
    pub flags: Vec<Flag>,
    next_deploy: u32,
}

struct SloSeed {
    name: &'static str,
    service: &'static str,
    objective: f64,
    /// Error ratio per window 5m, 30m, 1h, 2h, 6h, 1d, 3d.
    ratios: [Option<f64>; 7],
    /// Error ratio over the 30d window and the last 7 days.
    ratio_30d: Option<f64>,
    ratio_7d: Option<f64>,
}

impl World {
    pub fn new(now: Time) -> Self {
        let ago = |m: i64| now - Cd::minutes(m);
        let inc = |prov: &str,
                   id: &str,
                   title: &str,
                   sev: Severity,
                   st: IncidentStatus,
                   svc: &str,
                   mins: i64,
                   who: Option<&str>,
                   rb: Option<&str>| Incident {
            provider: t(prov),
            id: t(id),
            title: t(title),
            severity: sev,
            status: st,
            service: ot(svc),
            created_at: ago(mins),
            url: Some(t(&if prov == "pd" {
                format!("https://acme.pagerduty.com/incidents/{id}")
            } else {
                format!(
                    "http://alertmanager.acme.internal:9093/#/alerts?filter=%7Balertname%3D%22{id}%22%7D"
                )
            })),
            assignee: who.map(t),
            runbook: rb.map(t),
        };
        use IncidentStatus::*;
        use Severity::*;
        let incidents = vec![
            inc(
                "pd",
                "Q1CHK5XZ01",
                "Checkout error rate above 5% (HTTP 5xx from payments-gateway)",
                Sev1,
                Triggered,
                "checkout",
                7,
                None,
                Some("rollback"),
            ),
            inc(
                "pd",
                "Q1PAY7LAG2",
                "payments-db primary replication lag 94s on replica-2",
                Sev2,
                Acknowledged,
                "payments",
                26,
                Some("maria.okafor"),
                Some("db-failover"),
            ),
            inc(
                "am",
                "AuthTokenRefreshErrors",
                "AuthTokenRefreshErrors: token refresh failures 12% of requests (idp-proxy)",
                Sev2,
                Firing,
                "auth",
                14,
                None,
                Some("auth-outage"),
            ),
            inc(
                "pd",
                "Q1SRCH0LAT",
                "search p99 latency 2.4s over SLO for 15m",
                Sev3,
                Triggered,
                "search",
                48,
                None,
                None,
            ),
            inc(
                "am",
                "DiskWillFillIn4Hours",
                "DiskWillFillIn4Hours: search-indexer-3 /var/lib/search disk will fill in 4h",
                Sev3,
                Firing,
                "search",
                95,
                None,
                None,
            ),
            inc(
                "am",
                "CertificateExpiry",
                "CertificateExpiry: TLS certificate for api.acme.example expires in 12 days",
                Sev4,
                Silenced,
                "auth",
                600,
                None,
                None,
            ),
            inc(
                "pd",
                "Q1CHKCRON3",
                "checkout nightly reconciliation job failed (exit 1)",
                Sev4,
                Acknowledged,
                "checkout",
                380,
                Some("sam.lee"),
                None,
            ),
        ];
        let oncall = vec![
            OnCall {
                provider: t("pd"),
                policy: t("Checkout & Payments"),
                level: 1,
                user: t("dana.kim"),
                until: Some(now + Cd::hours(9)),
            },
            OnCall {
                provider: t("pd"),
                policy: t("Checkout & Payments"),
                level: 2,
                user: t("maria.okafor"),
                until: Some(now + Cd::days(3)),
            },
            OnCall {
                provider: t("pd"),
                policy: t("Identity"),
                level: 1,
                user: t("raj.patel"),
                until: Some(now + Cd::hours(33)),
            },
            OnCall {
                provider: t("pd"),
                policy: t("Search"),
                level: 1,
                user: t("sam.lee"),
                until: Some(now + Cd::hours(4)),
            },
        ];
        let seeds = [
            SloSeed {
                name: "checkout-availability",
                service: "checkout",
                objective: 99.9,
                ratios: [
                    Some(0.031),
                    Some(0.024),
                    Some(0.019),
                    Some(0.012),
                    Some(0.0062),
                    Some(0.0028),
                    Some(0.0013),
                ],
                ratio_30d: Some(0.00112),
                ratio_7d: Some(0.0019),
            },
            SloSeed {
                name: "payments-latency-p99",
                service: "payments",
                objective: 99.5,
                ratios: [
                    Some(0.009),
                    Some(0.011),
                    Some(0.012),
                    Some(0.017),
                    Some(0.012),
                    Some(0.0155),
                    Some(0.007),
                ],
                ratio_30d: Some(0.0042),
                ratio_7d: Some(0.0061),
            },
            SloSeed {
                name: "auth-login-success",
                service: "auth",
                objective: 99.95,
                ratios: [
                    Some(0.0031),
                    Some(0.0022),
                    Some(0.0012),
                    Some(0.0007),
                    Some(0.00031),
                    Some(0.00012),
                    Some(0.00006),
                ],
                ratio_30d: Some(0.00009),
                ratio_7d: Some(0.00014),
            },
            SloSeed {
                name: "search-availability",
                service: "search",
                objective: 99.0,
                ratios: [
                    Some(0.001),
                    Some(0.0012),
                    Some(0.0011),
                    Some(0.0013),
                    Some(0.0015),
                    Some(0.0014),
                    Some(0.0016),
                ],
                ratio_30d: Some(0.0021),
                ratio_7d: Some(0.0015),
            },
            SloSeed {
                name: "search-indexing-freshness",
                service: "search",
                objective: 99.0,
                ratios: [None; 7],
                ratio_30d: None,
                ratio_7d: None,
            },
        ];
        let slos = seeds
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut burn = BurnRates::default();
                for (w, r) in BURN_WINDOWS.iter().zip(s.ratios) {
                    burn.set(w, r.and_then(|r| slo::burn_rate(r, s.objective)));
                }
                let remaining = s
                    .ratio_30d
                    .and_then(|r| slo::budget_remaining(r, s.objective));
                let burned7 = s
                    .ratio_7d
                    .and_then(|r| slo::budget_burned_share(r, s.objective, 7.0, 30.0));
                let alerts = slo::mwmbr_alerts(&burn);
                let gate = slo::gate(remaining, &alerts);
                // A deterministic history for the chart: base burn with a recent rise.
                let base = burn.d3.unwrap_or(0.0);
                let peak = burn.h1.unwrap_or(0.0);
                let history = (0..48)
                    .map(|k| {
                        let x = k as f64 / 47.0;
                        let wobble = ((k * 7 + i * 3) % 5) as f64 * 0.04 * base.max(0.1);
                        if x > 0.85 {
                            base + (peak - base) * ((x - 0.85) / 0.15) + wobble
                        } else {
                            base + wobble
                        }
                    })
                    .collect();
                Slo {
                    name: t(s.name),
                    service: ot(s.service),
                    objective: s.objective,
                    window: "30d".into(),
                    error_budget_remaining: remaining,
                    budget_burned_7d: burned7,
                    burn_rates: burn,
                    alerts,
                    gate,
                    provider: t("prom"),
                    history: if s.ratio_30d.is_some() {
                        history
                    } else {
                        Vec::new()
                    },
                    error: None,
                }
            })
            .collect();
        let dep = |svc: &str,
                   env: &str,
                   id: &str,
                   r: &str,
                   sha: &str,
                   st: DeployState,
                   raw: &str,
                   mins: i64,
                   who: &str,
                   cur: bool,
                   msg: &str| Deploy {
            provider: t("gh"),
            service: t(svc),
            environment: t(env),
            id: t(id),
            git_ref: t(r),
            sha: t(sha),
            state: st,
            provider_state: t(raw),
            created_at: ago(mins),
            creator: ot(who),
            url: Some(t(&format!(
                "https://github.com/acme/{svc}/deployments/{id}"
            ))),
            current: cur,
            description: ot(msg),
        };
        use DeployState::*;
        let deploys = vec![
            dep(
                "checkout",
                "production",
                "1893",
                "v2.14.0",
                "9f3c2ab71e0d4c55",
                Success,
                "success",
                11,
                "bob.nguyen",
                true,
                "payments client: switch to gateway v3 API",
            ),
            dep(
                "checkout",
                "production",
                "1871",
                "v2.13.2",
                "4e1d09c3aa87b210",
                Success,
                "success",
                1460,
                "dana.kim",
                false,
                "fix currency rounding for JPY",
            ),
            dep(
                "checkout",
                "production",
                "1850",
                "v2.13.1",
                "b7aa3310c9e2f6d1",
                Inactive,
                "inactive",
                4300,
                "sam.lee",
                false,
                "cart: retry idempotent calls",
            ),
            dep(
                "checkout",
                "staging",
                "1890",
                "v2.14.0",
                "9f3c2ab71e0d4c55",
                Success,
                "success",
                95,
                "bob.nguyen",
                true,
                "payments client: switch to gateway v3 API",
            ),
            dep(
                "payments",
                "production",
                "1888",
                "v5.2.0",
                "c0ffee12d4b5a697",
                Failure,
                "failure",
                42,
                "maria.okafor",
                false,
                "migrate ledger index (online)",
            ),
            dep(
                "payments",
                "production",
                "1862",
                "v5.1.9",
                "a1b2c3d4e5f60718",
                Success,
                "success",
                2900,
                "maria.okafor",
                true,
                "bump pgbouncer pool to 80",
            ),
            dep(
                "payments",
                "staging",
                "1887",
                "v5.2.0",
                "c0ffee12d4b5a697",
                Success,
                "success",
                120,
                "maria.okafor",
                true,
                "migrate ledger index (online)",
            ),
            dep(
                "auth",
                "production",
                "1880",
                "v3.8.1",
                "5d6e7f8091a2b3c4",
                Success,
                "success",
                320,
                "raj.patel",
                true,
                "rotate JWKS cache TTL to 10m",
            ),
            dep(
                "auth",
                "production",
                "1876",
                "v3.8.0",
                "0a9b8c7d6e5f4a3b",
                Success,
                "success",
                5800,
                "raj.patel",
                false,
                "add WebAuthn login",
            ),
            dep(
                "search",
                "production",
                "1885",
                "v1.30.0",
                "77e8d9c0b1a2f3e4",
                InProgress,
                "in_progress",
                3,
                "sam.lee",
                false,
                "reindex with new analyzer",
            ),
            dep(
                "search",
                "production",
                "1869",
                "v1.29.4",
                "3f4e5d6c7b8a9012",
                Success,
                "success",
                2200,
                "sam.lee",
                true,
                "tune query cache",
            ),
        ];
        let flag = |key: &str, name: &str, on: bool, ks: bool, mins: i64, svc: &str| Flag {
            provider: t("ld"),
            key: t(key),
            name: t(name),
            environment: ot("production"),
            on,
            kill_switch: ks,
            updated_at: Some(ago(mins)),
            url: Some(t(&format!(
                "https://app.launchdarkly.com/acme/production/features/{key}"
            ))),
            service: ot(svc),
        };
        let flags = vec![
            flag(
                "checkout-payments-v3",
                "Checkout: payments gateway v3 client",
                true,
                true,
                11,
                "checkout",
            ),
            flag(
                "checkout-writes",
                "Checkout: accept new orders (write path)",
                true,
                true,
                8000,
                "checkout",
            ),
            flag(
                "auth-social-login",
                "Auth: Google/GitHub social login",
                true,
                true,
                2000,
                "auth",
            ),
            flag(
                "auth-webauthn",
                "Auth: WebAuthn passkeys",
                true,
                true,
                5800,
                "auth",
            ),
            flag(
                "search-new-analyzer",
                "Search: new tokenizer/analyzer",
                false,
                true,
                3,
                "search",
            ),
            flag(
                "payments-ledger-async",
                "Payments: async ledger writes",
                false,
                true,
                42,
                "payments",
            ),
            flag(
                "checkout-recommendations",
                "Checkout: product recommendations widget",
                true,
                false,
                12000,
                "checkout",
            ),
            flag(
                "search-typeahead-v2",
                "Search: typeahead v2 UI",
                true,
                false,
                9000,
                "search",
            ),
        ];
        World {
            now,
            incidents,
            oncall,
            slos,
            deploys,
            flags,
            next_deploy: 1900,
        }
    }
}

/// One named demo provider serving a slice of the world.
pub struct Demo {
    name: &'static str,
    serves: Serves,
    world: Arc<Mutex<World>>,
}

#[derive(Clone, Copy, PartialEq)]
enum Serves {
    Incidents,
    Alerts,
    Slos,
    Deploys,
    Flags,
}

/// The demo providers: pd, am, prom, gh, ld, sharing one world.
pub fn providers(now: Time) -> Vec<Arc<dyn Provider>> {
    let world = Arc::new(Mutex::new(World::new(now)));
    [
        ("pd", Serves::Incidents),
        ("am", Serves::Alerts),
        ("prom", Serves::Slos),
        ("gh", Serves::Deploys),
        ("ld", Serves::Flags),
    ]
    .into_iter()
    .map(|(name, serves)| {
        Arc::new(Demo {
            name,
            serves,
            world: world.clone(),
        }) as Arc<dyn Provider>
    })
    .collect()
}

impl Demo {
    fn world(&self) -> Result<std::sync::MutexGuard<'_, World>, ProviderError> {
        self.world
            .lock()
            .map_err(|_| ProviderError::new(self.name, ErrorKind::Unknown, "demo state poisoned"))
    }

    fn snapshot(&self) -> Result<Fetched, ProviderError> {
        let w = self.world()?;
        let mut f = Fetched::default();
        match self.serves {
            Serves::Incidents => {
                f.incidents = w
                    .incidents
                    .iter()
                    .filter(|i| i.provider.as_str() == "pd")
                    .cloned()
                    .collect();
                f.oncall = w.oncall.clone();
            }
            Serves::Alerts => {
                f.incidents = w
                    .incidents
                    .iter()
                    .filter(|i| i.provider.as_str() == "am")
                    .cloned()
                    .collect();
            }
            Serves::Slos => f.slos = w.slos.clone(),
            Serves::Deploys => f.deploys = w.deploys.clone(),
            Serves::Flags => f.flags = w.flags.clone(),
        }
        Ok(f)
    }

    fn url(&self, path: &str) -> String {
        format!("demo://{}{}", self.name, path)
    }

    fn make_plan(&self, op: &WriteOp) -> Result<Plan, ProviderError> {
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
                ))
            }
            other => Err(ProviderError::op_unsupported(self.name, "the demo", other)),
        }
    }

    fn apply(&self, plan: &Plan) -> Result<ExecResult, ProviderError> {
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

impl Provider for Demo {
    fn name(&self) -> &str {
        self.name
    }
    fn kind(&self) -> ProviderKind {
        ProviderKind::Demo
    }
    fn poll_interval(&self) -> Duration {
        Duration::from_secs(15)
    }
    fn fetch(&self) -> BoxFut<'_, Result<Fetched, ProviderError>> {
        Box::pin(async move { self.snapshot() })
    }
    fn supports(&self, op: &WriteOp) -> bool {
        matches!(
            (self.serves, op),
            (
                Serves::Incidents,
                WriteOp::IncidentAck { .. }
                    | WriteOp::IncidentResolve { .. }
                    | WriteOp::IncidentNote { .. },
            ) | (Serves::Alerts, WriteOp::SilenceCreate { .. })
                | (Serves::Deploys, WriteOp::Rollback { .. })
                | (Serves::Flags, WriteOp::FlagSet { .. })
        )
    }
    fn plan<'a>(
        &'a self,
        op: &'a WriteOp,
        _ctx: &'a PlanCtx,
    ) -> BoxFut<'a, Result<Plan, ProviderError>> {
        Box::pin(async move {
            if !self.supports(op) {
                return Err(ProviderError::op_unsupported(self.name, "the demo", op));
            }
            self.make_plan(op)
        })
    }
    fn execute<'a>(
        &'a self,
        plan: &'a Plan,
        _key: &'a str,
    ) -> BoxFut<'a, Result<ExecResult, ProviderError>> {
        Box::pin(async move { self.apply(plan) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> Time {
        chrono::Utc
            .with_ymd_and_hms(2026, 11, 22, 3, 4, 5)
            .single()
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn demo_has_every_kind_of_data() {
        let ps = providers(now());
        let mut all = Vec::new();
        for p in &ps {
            all.push(p.fetch().await.unwrap());
        }
        let s = Snapshot::assemble(now(), vec![], all.iter());
        assert_eq!(s.open_counts()[0], 1);
        assert!(
            s.incidents
                .iter()
                .any(|i| i.status == IncidentStatus::Acknowledged)
        );
        assert!(
            s.slos
                .iter()
                .any(|s| s.gate == Gate::Frozen && s.page_firing())
        );
        assert!(s.slos.iter().any(|s| s.gate == Gate::Open && s.has_data()));
        assert!(s.slos.iter().any(|s| !s.has_data()));
        assert!(s.deploys.iter().any(|d| d.state == DeployState::Failure));
        assert!(s.flags.iter().any(|f| f.kill_switch));
        assert!(!s.oncall.is_empty());
    }

    #[tokio::test]
    async fn demo_rollback_picks_previous_good_and_applies() {
        let ps = providers(now());
        let gh = ps.iter().find(|p| p.name() == "gh").unwrap();
        let op = WriteOp::Rollback {
            provider: None,
            service: "checkout".into(),
            environment: "production".into(),
            to: None,
        };
        let plan = gh.plan(&op, &PlanCtx::default()).await.unwrap();
        assert_eq!(plan.detail["to_id"], "1871");
        gh.execute(&plan, "k").await.unwrap();
        let f = gh.fetch().await.unwrap();
        let live: Vec<_> = f
            .deploys
            .iter()
            .filter(|d| {
                d.current
                    && d.service.as_str() == "checkout"
                    && d.environment.as_str() == "production"
            })
            .collect();
        assert_eq!(live.len(), 1);
        assert_eq!(live[0].sha.as_str(), "4e1d09c3aa87b210");
        // Only one good deploy left before the failed newest: payments.
        let op = WriteOp::Rollback {
            provider: None,
            service: "payments".into(),
            environment: "production".into(),
            to: None,
        };
        let e = gh.plan(&op, &PlanCtx::default()).await.unwrap_err();
        assert!(e.to_string().contains("no earlier good deploy"), "{e}");
    }

    #[tokio::test]
    async fn demo_flag_off_changes_state() {
        let ps = providers(now());
        let ld = ps.iter().find(|p| p.name() == "ld").unwrap();
        let op = WriteOp::FlagSet {
            provider: None,
            key: "checkout-payments-v3".into(),
            environment: None,
            on: false,
        };
        assert!(!ps[0].supports(&op));
        let plan = ld.plan(&op, &PlanCtx::default()).await.unwrap();
        ld.execute(&plan, "k").await.unwrap();
        let f = ld.fetch().await.unwrap();
        assert!(
            !f.flags
                .iter()
                .find(|f| f.key.as_str() == "checkout-payments-v3")
                .unwrap()
                .on
        );
    }
}
