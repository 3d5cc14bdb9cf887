//! The demo world: incidents, on-call, SLOs, deploys and flags of four
//! services, read from the embedded `world.toml` with every time taken
//! relative to "now", so the demo always looks current.

use super::{ot, t};
use crate::model::*;
use crate::slo;
use chrono::Duration as Cd;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The data file, compiled in.
const DATA: &str = include_str!("world.toml");

/// The whole demo world, shared by the demo providers.
#[derive(Debug)]
pub struct World {
    pub now: Time,
    pub incidents: Vec<Incident>,
    pub oncall: Vec<OnCall>,
    pub slos: Vec<Slo>,
    pub deploys: Vec<Deploy>,
    pub flags: Vec<Flag>,
    /// The id after which rollbacks number their new deployments.
    pub(super) next_deploy: u32,
}

/// `world.toml`, as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Data {
    next_deploy: u32,
    incident: Vec<IncidentSeed>,
    oncall: Vec<OnCallSeed>,
    slo: Vec<SloSeed>,
    deploy: Vec<DeploySeed>,
    flag: Vec<FlagSeed>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IncidentSeed {
    /// `pd` (PagerDuty) or `am` (Alertmanager): decides the URL.
    provider: String,
    id: String,
    title: String,
    severity: Severity,
    status: IncidentStatus,
    service: String,
    ago_mins: i64,
    assignee: Option<String>,
    runbook: Option<String>,
    /// Alert labels (`am` incidents): `instance`, `mountpoint`, ...
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OnCallSeed {
    provider: String,
    policy: String,
    level: u32,
    user: String,
    until_in_hours: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SloSeed {
    name: String,
    service: String,
    objective: f64,
    /// Error ratio per window 5m, 30m, 1h, 2h, 6h, 1d, 3d; none = no data.
    ratios: Option<[f64; 7]>,
    /// Error ratio over the 30d window and the last 7 days.
    ratio_30d: Option<f64>,
    ratio_7d: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeploySeed {
    service: String,
    environment: String,
    id: String,
    git_ref: String,
    sha: String,
    state: DeployState,
    ago_mins: i64,
    creator: String,
    current: bool,
    description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FlagSeed {
    key: String,
    name: String,
    on: bool,
    kill_switch: bool,
    ago_mins: i64,
    service: String,
}

impl World {
    /// The world of the embedded `world.toml` at `now`. An error names the
    /// file and the line: the data is compiled in, so it is a build defect
    /// (the unit tests parse it).
    pub fn load(now: Time) -> Result<World, String> {
        Self::parse(DATA, now).map_err(|e| {
            format!("the embedded demo data (providers/demo/world.toml) is malformed: {e}")
        })
    }

    fn parse(text: &str, now: Time) -> Result<World, toml::de::Error> {
        let data: Data = toml::from_str(text)?;
        let ago = |m: i64| now - Cd::minutes(m);
        let incidents = data
            .incident
            .iter()
            .map(|i| Incident {
                provider: t(&i.provider),
                id: t(&i.id),
                labels: i
                    .labels
                    .iter()
                    .map(|(k, v)| (k.clone(), t(v)))
                    .collect(),
                title: t(&i.title),
                severity: i.severity,
                status: i.status,
                service: ot(&i.service),
                created_at: ago(i.ago_mins),
                url: Some(t(&if i.provider == "pd" {
                    format!("https://acme.pagerduty.com/incidents/{}", i.id)
                } else {
                    format!(
                        "http://alertmanager.acme.internal:9093/#/alerts?filter=%7Balertname%3D%22{}%22%7D",
                        i.id
                    )
                })),
                assignee: i.assignee.as_deref().map(t),
                runbook: i.runbook.as_deref().map(t),
            })
            .collect();
        let oncall = data
            .oncall
            .iter()
            .map(|o| OnCall {
                provider: t(&o.provider),
                policy: t(&o.policy),
                level: o.level,
                user: t(&o.user),
                until: Some(now + Cd::hours(o.until_in_hours)),
            })
            .collect();
        let slos = data
            .slo
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let ratios: [Option<f64>; 7] = s.ratios.map(|r| r.map(Some)).unwrap_or([None; 7]);
                let mut burn = BurnRates::default();
                for (w, r) in BURN_WINDOWS.iter().zip(ratios) {
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
                    name: t(&s.name),
                    service: ot(&s.service),
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
        let deploys = data
            .deploy
            .iter()
            .map(|d| Deploy {
                provider: t("gh"),
                service: t(&d.service),
                environment: t(&d.environment),
                id: t(&d.id),
                git_ref: t(&d.git_ref),
                sha: t(&d.sha),
                state: d.state,
                provider_state: t(d.state.label()),
                created_at: ago(d.ago_mins),
                creator: ot(&d.creator),
                url: Some(t(&format!(
                    "https://github.com/acme/{}/deployments/{}",
                    d.service, d.id
                ))),
                current: d.current,
                description: ot(&d.description),
            })
            .collect();
        let flags = data
            .flag
            .iter()
            .map(|f| Flag {
                provider: t("ld"),
                key: t(&f.key),
                name: t(&f.name),
                environment: ot("production"),
                on: f.on,
                kill_switch: f.kill_switch,
                updated_at: Some(ago(f.ago_mins)),
                url: Some(t(&format!(
                    "https://app.launchdarkly.com/acme/production/features/{}",
                    f.key
                ))),
                service: ot(&f.service),
            })
            .collect();
        Ok(World {
            now,
            incidents,
            oncall,
            slos,
            deploys,
            flags,
            next_deploy: data.next_deploy,
        })
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

    #[test]
    fn the_embedded_data_parses() {
        let w = World::load(now()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (
                w.incidents.len(),
                w.oncall.len(),
                w.slos.len(),
                w.deploys.len(),
                w.flags.len()
            ),
            (7, 4, 5, 11, 8)
        );
        assert_eq!(w.next_deploy, 1900);
        assert_eq!(w.incidents[0].created_at, now() - Cd::minutes(7));
        assert_eq!(w.oncall[1].until, Some(now() + Cd::days(3)));
    }

    #[test]
    fn malformed_data_is_a_clear_error() {
        let e = World::parse("next_deploy = 1900\n[[incident]]\nid = 3\n", now())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("line 3"), "{e}");
        let e = World::parse("[[flag]]\nkey = \"x\"\ncolour = \"red\"\n", now())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("colour"), "{e}");
    }
}
