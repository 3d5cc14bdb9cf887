//! The demo company: incidents, on-call, SLOs, deploys and flags of four
//! services, read from the embedded `world.toml` with every time taken
//! relative to "now", so the demo always looks current; and its health
//! ([`Health`]): the error ratios the simulated Prometheus answers with,
//! which a rollback away from a faulty deploy or a kill switch turned off
//! lowers from the moment the change happens.

use crate::model::{DeployState, IncidentStatus, Severity, Time};
use chrono::Duration as Cd;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The data file, compiled in.
static DATA: &str = include_str!("world.toml");

/// The burn windows the seeds give ratios for, in seconds (5m … 3d).
const WINDOWS: [i64; 7] = [300, 1800, 3600, 7200, 21600, 86400, 259200];

/// The whole demo company.
#[derive(Debug)]
pub struct World {
    pub incidents: Vec<Incident>,
    pub oncall: Vec<OnCall>,
    pub slos: Vec<Slo>,
    pub faults: Vec<Fault>,
    pub deploys: Vec<Deploy>,
    pub flags: Vec<Flag>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Data {
    incident: Vec<IncidentSeed>,
    oncall: Vec<OnCallSeed>,
    slo: Vec<Slo>,
    #[serde(default)]
    fault: Vec<Fault>,
    deploy: Vec<DeploySeed>,
    flag: Vec<FlagSeed>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IncidentSeed {
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

/// An incident (`pd`) or an alert (`am`; its `id` is the alert name).
#[derive(Clone, Debug)]
pub struct Incident {
    /// `pd` (PagerDuty) or `am` (Alertmanager).
    pub provider: String,
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub status: IncidentStatus,
    pub service: String,
    pub created_at: Time,
    pub assignee: Option<String>,
    pub runbook: Option<String>,
    /// Alert labels beyond alertname, service and severity (`am` only).
    pub labels: BTreeMap<String, String>,
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

#[derive(Clone, Debug)]
pub struct OnCall {
    pub provider: String,
    pub policy: String,
    pub level: u32,
    pub user: String,
    pub until: Time,
}

/// An SLO as the simulated Prometheus serves it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    pub name: String,
    pub service: String,
    pub objective: f64,
    /// Error ratio per window 5m, 30m, 1h, 2h, 6h, 1d, 3d; none = no data.
    pub ratios: Option<[f64; 7]>,
    /// Error ratio over the 30d window and the last 7 days.
    pub ratio_30d: Option<f64>,
    pub ratio_7d: Option<f64>,
    /// The PromQL of the bad and of all events (`{{.window}}` = window).
    pub errors: String,
    pub total: String,
    /// The error ratio once the service's fault is gone.
    pub healthy_ratio: Option<f64>,
}

/// What makes a service unhealthy: `sha` live in production and `flag` on.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    pub service: String,
    pub sha: Option<String>,
    pub flag: Option<String>,
}

fn github() -> String {
    "github".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeploySeed {
    #[serde(default = "github")]
    provider: String,
    service: String,
    environment: String,
    id: String,
    git_ref: String,
    sha: String,
    state: DeployState,
    ago_mins: i64,
    creator: String,
    description: String,
}

/// A deployment (`github` or `vercel`).
#[derive(Clone, Debug)]
pub struct Deploy {
    pub provider: String,
    pub service: String,
    pub environment: String,
    pub id: String,
    pub git_ref: String,
    pub sha: String,
    pub state: DeployState,
    pub created_at: Time,
    pub creator: String,
    pub description: String,
}

fn launchdarkly() -> String {
    "launchdarkly".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FlagSeed {
    #[serde(default = "launchdarkly")]
    provider: String,
    key: String,
    name: String,
    on: bool,
    kill_switch: bool,
    ago_mins: i64,
    service: String,
}

/// A feature flag (`launchdarkly`, `unleash` or `flagd`).
#[derive(Clone, Debug)]
pub struct Flag {
    pub provider: String,
    pub key: String,
    pub name: String,
    pub on: bool,
    pub kill_switch: bool,
    pub updated_at: Time,
    pub service: String,
}

impl World {
    /// The company of the embedded `world.toml` at `now`. An error names
    /// the file and the line: the data is compiled in, so it is a build
    /// defect (the unit tests parse it).
    pub fn load(now: Time) -> Result<World, String> {
        Self::parse(DATA, now)
            .map_err(|e| format!("the embedded demo data (sim/world.toml) is malformed: {e}"))
    }

    fn parse(text: &str, now: Time) -> Result<World, toml::de::Error> {
        let data: Data = toml::from_str(text)?;
        let ago = |m: i64| now - Cd::minutes(m);
        Ok(World {
            incidents: data
                .incident
                .into_iter()
                .map(|i| Incident {
                    provider: i.provider,
                    id: i.id,
                    title: i.title,
                    severity: i.severity,
                    status: i.status,
                    service: i.service,
                    created_at: ago(i.ago_mins),
                    assignee: i.assignee,
                    runbook: i.runbook,
                    labels: i.labels,
                })
                .collect(),
            oncall: data
                .oncall
                .into_iter()
                .map(|o| OnCall {
                    provider: o.provider,
                    policy: o.policy,
                    level: o.level,
                    user: o.user,
                    until: now + Cd::hours(o.until_in_hours),
                })
                .collect(),
            slos: data.slo,
            faults: data.fault,
            deploys: data
                .deploy
                .into_iter()
                .map(|d| Deploy {
                    provider: d.provider,
                    service: d.service,
                    environment: d.environment,
                    id: d.id,
                    git_ref: d.git_ref,
                    sha: d.sha,
                    state: d.state,
                    created_at: ago(d.ago_mins),
                    creator: d.creator,
                    description: d.description,
                })
                .collect(),
            flags: data
                .flag
                .into_iter()
                .map(|f| Flag {
                    provider: f.provider,
                    key: f.key,
                    name: f.name,
                    on: f.on,
                    kill_switch: f.kill_switch,
                    updated_at: ago(f.ago_mins),
                    service: f.service,
                })
                .collect(),
        })
    }
}

/// A change the world hears of, at the time it takes effect.
#[derive(Clone, Debug)]
enum Change {
    /// This sha went live in the service's production.
    Live(String),
    /// The flag was turned on or off.
    Flag(String, bool),
}

struct FaultState {
    fault: Fault,
    /// `(at, change)`, in the order heard.
    changes: Vec<(Time, Change)>,
}

impl FaultState {
    /// The spans (from, until) during which the fault was gone, in time
    /// order; `None` = still gone.
    fn gone(&self) -> Vec<(Time, Option<Time>)> {
        let mut changes = self.changes.clone();
        crate::order::sort_by_key(&mut changes, |(at, _)| *at);
        // Seeded: the faulty sha is live and the flag on.
        let mut sha_live = true;
        let mut flag_on = true;
        let mut out: Vec<(Time, Option<Time>)> = Vec::new();
        for (at, c) in changes {
            let was = sha_live && flag_on;
            match c {
                Change::Live(sha) => {
                    if let Some(f) = &self.fault.sha {
                        sha_live = *f == sha;
                    }
                }
                Change::Flag(key, on) => {
                    if self.fault.flag.as_deref() == Some(key.as_str()) {
                        flag_on = on;
                    }
                }
            }
            let is = sha_live && flag_on;
            if was && !is {
                out.push((at, None));
            } else if !was
                && is
                && let Some(last) = out.last_mut()
            {
                last.1 = Some(at);
            }
        }
        out
    }
}

struct HealthState {
    /// When the demo started (wall clock): before it, the seeds' history.
    started: Time,
    slos: Vec<Slo>,
    faults: Vec<FaultState>,
}

/// The services' error ratios over time, shared by the simulators: GitHub
/// and Vercel say which sha went live, the flag vendors which flag changed,
/// Prometheus asks for a ratio at a time.
pub struct Health {
    state: Mutex<HealthState>,
}

/// Seconds of a PromQL duration (`5m`, `1h`, `30d`); `None` otherwise.
pub fn window_secs(w: &str) -> Option<i64> {
    let (n, unit) = w.split_at(w.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = n.parse().ok()?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        "w" => 7 * 86400,
        _ => return None,
    };
    Some(n * mult)
}

impl Health {
    /// The world's SLOs and faults, seeded as of `started` (wall clock).
    pub fn new(world: &World, started: Time) -> Health {
        Health {
            state: Mutex::new(HealthState {
                started,
                slos: world.slos.clone(),
                faults: world
                    .faults
                    .iter()
                    .map(|f| FaultState {
                        fault: f.clone(),
                        changes: Vec::new(),
                    })
                    .collect(),
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, HealthState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `sha` went live in `service`'s `environment` at `at`.
    pub fn deployed(&self, service: &str, environment: &str, sha: &str, at: Time) {
        if environment != "production" {
            return;
        }
        for f in self
            .state()
            .faults
            .iter_mut()
            .filter(|f| f.fault.service == service)
        {
            f.changes.push((at, Change::Live(sha.to_string())));
        }
    }

    /// Flag `key` was turned on or off at `at`.
    pub fn flag_set(&self, key: &str, on: bool, at: Time) {
        for f in self
            .state()
            .faults
            .iter_mut()
            .filter(|f| f.fault.flag.as_deref() == Some(key))
        {
            f.changes.push((at, Change::Flag(key.to_string(), on)));
        }
    }

    /// The SLOs, as seeded.
    pub fn slos(&self) -> Vec<Slo> {
        self.state().slos.clone()
    }

    /// The error ratio of SLO `name` over `window` (seconds) ending at
    /// `t`; `None` when the SLO has no data or no ratio for that window.
    pub fn ratio(&self, name: &str, window: i64, t: Time) -> Option<f64> {
        let st = self.state();
        let slo = st.slos.iter().find(|s| s.name == name)?;
        let ratios = slo.ratios?;
        let seeded = match WINDOWS.iter().position(|w| *w == window) {
            Some(i) => ratios[i],
            None if window == 30 * 86400 => slo.ratio_30d?,
            None if window == 7 * 86400 => slo.ratio_7d?,
            None => return None,
        };
        let age = (st.started - t).num_seconds();
        let seeded = if window == 3600 && t < st.started {
            history(&ratios, age)
        } else if window == 86_400 && age > 86_400 {
            day_history(slo.ratio_30d.unwrap_or(ratios[6]), age)
        } else {
            seeded
        };
        let Some(healthy) = slo.healthy_ratio else {
            return Some(seeded);
        };
        // The share of the window during which the service's fault was gone.
        let from = t - Cd::seconds(window);
        let mut gone_secs = 0i64;
        for f in st.faults.iter().filter(|f| f.fault.service == slo.service) {
            for (a, b) in f.gone() {
                let a = a.max(from);
                let b = b.unwrap_or(t).min(t);
                if b > a {
                    gone_secs += (b - a).num_seconds();
                }
            }
        }
        let share = (gone_secs as f64 / window as f64).clamp(0.0, 1.0);
        Some(seeded * (1.0 - share) + healthy * share)
    }
}

/// The seeded 1h ratio `age` seconds before the demo started: the 3d
/// level, rising to the 1h one over the last hours.
fn history(ratios: &[f64; 7], age: i64) -> f64 {
    let (base, peak) = (ratios[6], ratios[2]);
    let rise = 3 * 3600 + 1800;
    if age < rise {
        base + (peak - base) * (1.0 - age as f64 / rise as f64)
    } else {
        let k = (age / 1800) as usize;
        base + ((k * 7) % 5) as f64 * 0.04 * base
    }
}

/// The 1d ratio `age` seconds (over a day) before the demo started: the
/// 30d level, some days quieter and some worse (a burndown with a shape).
fn day_history(ratio_30d: f64, age: i64) -> f64 {
    const WEEK: [f64; 7] = [0.4, 0.7, 1.6, 0.5, 2.1, 0.8, 1.2];
    ratio_30d * WEEK[(age / 86_400) as usize % 7]
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
                w.flags.len(),
                w.faults.len()
            ),
            (7, 4, 5, 12, 8, 2)
        );
        assert_eq!(w.incidents[0].created_at, now() - Cd::minutes(7));
        assert_eq!(w.oncall[1].until, now() + Cd::days(3));
        // Every fault's flag and sha exist.
        for f in &w.faults {
            assert!(
                f.flag
                    .as_ref()
                    .is_none_or(|k| w.flags.iter().any(|x| x.key == *k))
            );
            assert!(
                f.sha
                    .as_ref()
                    .is_none_or(|s| w.deploys.iter().any(|d| d.sha == *s))
            );
        }
    }

    #[test]
    fn malformed_data_is_a_clear_error() {
        let e = World::parse("[[incident]]\nid = 3\n", now())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("line 2"), "{e}");
        let e = World::parse("[[flag]]\nkey = \"x\"\ncolour = \"red\"\n", now())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("colour"), "{e}");
    }

    #[test]
    fn the_error_ratio_falls_from_the_moment_the_fault_is_gone() {
        let w = World::load(now()).unwrap_or_else(|e| panic!("{e}"));
        let h = Health::new(&w, now());
        let slo = "checkout-availability";
        assert_eq!(h.ratio(slo, 300, now()), Some(0.031));
        // Rolled back away from the faulty sha one minute in.
        let at = now() + Cd::minutes(1);
        h.deployed("checkout", "production", "4e1d09c3aa87b210", at);
        assert_eq!(h.ratio(slo, 300, at), Some(0.031));
        let later = h.ratio(slo, 300, at + Cd::minutes(2)).unwrap_or(1.0);
        assert!(
            (later - (0.031 * 0.6 + 0.0004 * 0.4)).abs() < 1e-9,
            "{later}"
        );
        assert_eq!(h.ratio(slo, 300, at + Cd::minutes(5)), Some(0.0004));
        // Staging and other services do not count.
        let h = Health::new(&w, now());
        h.deployed("checkout", "staging", "4e1d09c3aa87b210", now());
        h.deployed("payments", "production", "x", now());
        assert_eq!(h.ratio(slo, 300, now() + Cd::minutes(5)), Some(0.031));
        // The kill switch: off, then on again.
        h.flag_set("checkout-payments-v3", false, now());
        h.flag_set("checkout-payments-v3", true, now() + Cd::minutes(5));
        assert_eq!(h.ratio(slo, 300, now() + Cd::minutes(5)), Some(0.0004));
        assert_eq!(h.ratio(slo, 300, now() + Cd::minutes(10)), Some(0.031));
        // An SLO without ratios has no data.
        assert_eq!(h.ratio("search-indexing-freshness", 300, now()), None);
    }
}
