//! Plain domain types shared by the providers, the CLI and the TUI. The serde
//! shapes are the JSON contract of SPEC §4: additive changes only.

use crate::text::SafeText;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

pub type Time = DateTime<Utc>;

/// Incident severity, SEV1 (worst) to SEV4. Ordered so that `SEV1 < SEV4`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Severity {
    #[serde(rename = "SEV1")]
    Sev1,
    #[serde(rename = "SEV2")]
    Sev2,
    #[serde(rename = "SEV3")]
    Sev3,
    #[serde(rename = "SEV4")]
    Sev4,
}

impl Severity {
    pub const ALL: [Severity; 4] = [Self::Sev1, Self::Sev2, Self::Sev3, Self::Sev4];

    pub fn label(self) -> &'static str {
        match self {
            Self::Sev1 => "SEV1",
            Self::Sev2 => "SEV2",
            Self::Sev3 => "SEV3",
            Self::Sev4 => "SEV4",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "SEV1" | "1" => Ok(Self::Sev1),
            "SEV2" | "2" => Ok(Self::Sev2),
            "SEV3" | "3" => Ok(Self::Sev3),
            "SEV4" | "4" => Ok(Self::Sev4),
            other => Err(format!("unknown severity {other:?} (expected SEV1..SEV4)")),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentStatus {
    Triggered,
    Firing,
    Acknowledged,
    Silenced,
    Resolved,
}

impl IncidentStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::Triggered => "triggered",
            Self::Firing => "firing",
            Self::Acknowledged => "acknowledged",
            Self::Silenced => "silenced",
            Self::Resolved => "resolved",
        }
    }

    /// The word the console and the tables show: the JSON word, in capitals
    /// (one set of state words everywhere, docs/CONSOLE.md).
    pub fn word(self) -> &'static str {
        match self {
            Self::Triggered => "TRIGGERED",
            Self::Firing => "FIRING",
            Self::Acknowledged => "ACKNOWLEDGED",
            Self::Silenced => "SILENCED",
            Self::Resolved => "RESOLVED",
        }
    }

    /// Open = needs someone (not resolved, not silenced).
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Resolved)
    }

    /// Nobody has taken it yet.
    pub fn is_unacked(self) -> bool {
        matches!(self, Self::Triggered | Self::Firing)
    }
}

/// One line of an incident's history: who did what, when (PagerDuty log
/// entries, Opsgenie alert logs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    pub at: Time,
    /// The vendor's kind of entry, e.g. `acknowledge_log_entry`.
    pub kind: SafeText,
    /// Who did it, when the vendor says.
    pub agent: Option<SafeText>,
    /// The vendor's one-line summary.
    pub summary: SafeText,
}

/// A note on an incident.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoteLine {
    pub at: Time,
    pub author: Option<SafeText>,
    pub text: SafeText,
}

/// What the details pane shows of one incident beyond its list row, read
/// on demand: its history (newest first, bounded), notes (newest first)
/// and who is assigned or responding.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IncidentDetails {
    pub log: Vec<LogLine>,
    pub notes: Vec<NoteLine>,
    pub assignees: Vec<SafeText>,
    pub responders: Vec<SafeText>,
}

/// Fields in key order: `--json` prints them as declared, sorted (see
/// `cli::output::doc` and its test).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub assignee: Option<SafeText>,
    pub created_at: Time,
    pub id: SafeText,
    /// The alert's labels (Alertmanager: `instance`, `alertname`,
    /// `mountpoint`, ...); empty for providers without labels, and then
    /// left out of the JSON.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, SafeText>,
    pub provider: SafeText,
    pub runbook: Option<SafeText>,
    pub service: Option<SafeText>,
    pub severity: Severity,
    pub status: IncidentStatus,
    pub title: SafeText,
    pub url: Option<SafeText>,
}

impl Incident {
    /// Worst first, then unacknowledged before acknowledged, then newest first.
    pub fn urgency_cmp(a: &Incident, b: &Incident) -> std::cmp::Ordering {
        a.severity
            .cmp(&b.severity)
            .then(b.status.is_unacked().cmp(&a.status.is_unacked()))
            .then(b.created_at.cmp(&a.created_at))
            .then(a.id.cmp(&b.id))
    }
}

/// Fields in key order: `--json` prints them as declared, sorted (see
/// `cli::output::doc` and its test).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OnCall {
    pub level: u32,
    pub policy: SafeText,
    pub provider: SafeText,
    pub until: Option<Time>,
    pub user: SafeText,
}

/// The seven windows of SPEC §4, in order.
pub const BURN_WINDOWS: [&str; 7] = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"];

/// Burn rate per window; `None` = no data (never NaN).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BurnRates {
    #[serde(rename = "5m", serialize_with = "rounded::burn")]
    pub m5: Option<f64>,
    #[serde(rename = "30m", serialize_with = "rounded::burn")]
    pub m30: Option<f64>,
    #[serde(rename = "1h", serialize_with = "rounded::burn")]
    pub h1: Option<f64>,
    #[serde(rename = "2h", serialize_with = "rounded::burn")]
    pub h2: Option<f64>,
    #[serde(rename = "6h", serialize_with = "rounded::burn")]
    pub h6: Option<f64>,
    #[serde(rename = "1d", serialize_with = "rounded::burn")]
    pub d1: Option<f64>,
    #[serde(rename = "3d", serialize_with = "rounded::burn")]
    pub d3: Option<f64>,
}

/// Numbers in JSON rounded to what the data supports: a burn rate to
/// 0.001x, a share of the budget to 0.01 % (no `19.000000000002093`).
mod rounded {
    use serde::Serializer;

    fn round(v: f64, places: i32) -> f64 {
        let k = 10f64.powi(places);
        let r = (v * k).round() / k;
        // Keep -0.0 out of the output.
        if r == 0.0 { 0.0 } else { r }
    }

    pub fn burn<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_f64(round(*v, 3)),
            None => s.serialize_none(),
        }
    }

    pub fn share<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_f64(round(*v, 4)),
            None => s.serialize_none(),
        }
    }

    pub fn shares<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|v| round(*v, 4)))
    }

    pub fn burns<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|v| round(*v, 3)))
    }
}

impl BurnRates {
    pub fn get(&self, window: &str) -> Option<f64> {
        match window {
            "5m" => self.m5,
            "30m" => self.m30,
            "1h" => self.h1,
            "2h" => self.h2,
            "6h" => self.h6,
            "1d" => self.d1,
            "3d" => self.d3,
            _ => None,
        }
    }

    pub fn set(&mut self, window: &str, v: Option<f64>) {
        let v = v.filter(|x| x.is_finite());
        match window {
            "5m" => self.m5 = v,
            "30m" => self.m30 = v,
            "1h" => self.h1 = v,
            "2h" => self.h2 = v,
            "6h" => self.h6 = v,
            "1d" => self.d1 = v,
            "3d" => self.d3 = v,
            _ => {}
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, Option<f64>)> + '_ {
        BURN_WINDOWS.iter().map(move |w| (*w, self.get(w)))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertSeverity {
    Page,
    Ticket,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SloAlert {
    pub severity: AlertSeverity,
    pub long: String,
    pub short: String,
    pub factor: f64,
    pub firing: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gate {
    Open,
    Frozen,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Slo {
    pub name: SafeText,
    pub service: Option<SafeText>,
    /// Percent, e.g. 99.9.
    pub objective: f64,
    pub window: String,
    /// Share of the budget left over the SLO window (1.0 = untouched, < 0 = overspent).
    #[serde(serialize_with = "rounded::share")]
    pub error_budget_remaining: Option<f64>,
    /// Share of the whole budget burned in the last 7 days.
    #[serde(serialize_with = "rounded::share")]
    pub budget_burned_7d: Option<f64>,
    pub burn_rates: BurnRates,
    pub alerts: Vec<SloAlert>,
    pub gate: Gate,
    /// Which provider produced it (extension to SPEC §4).
    #[serde(default)]
    pub provider: SafeText,
    /// Burn-rate history for the chart (oldest first, 1h burn), extension.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "rounded::burns"
    )]
    pub history: Vec<f64>,
    /// The error budget left over the SLO window, one point a day from the
    /// window's start (1.0) to now (`error_budget_remaining`), oldest
    /// first: the burndown chart (`slo::budget_burndown`), extension.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "rounded::shares"
    )]
    pub budget_history: Vec<f64>,
    /// Why this SLO has no numbers (a query the server rejected, a bad
    /// spec file entry), extension. The other SLOs are still shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<SafeText>,
}

impl Slo {
    /// The one-word state a responder reads: `ERROR`, `NO DATA`, or the
    /// firing alert (`PAGE`/`TICKET`) and the deploy gate (`FROZEN`/`ok`).
    pub fn state_label(&self) -> String {
        if self.error.is_some() && !self.has_data() {
            return "ERROR".into();
        }
        if !self.has_data() {
            return "NO DATA".into();
        }
        let mut v = Vec::new();
        if self.page_firing() {
            v.push("PAGE");
        } else if self.ticket_firing() {
            v.push("TICKET");
        }
        v.push(match self.gate {
            Gate::Frozen => "FROZEN",
            Gate::Open => "ok",
        });
        v.join(" ")
    }

    pub fn page_firing(&self) -> bool {
        self.alerts
            .iter()
            .any(|a| a.firing && a.severity == AlertSeverity::Page)
    }

    pub fn ticket_firing(&self) -> bool {
        self.alerts
            .iter()
            .any(|a| a.firing && a.severity == AlertSeverity::Ticket)
    }

    pub fn has_data(&self) -> bool {
        self.error_budget_remaining.is_some() || self.burn_rates.iter().any(|(_, v)| v.is_some())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeployState {
    Queued,
    InProgress,
    Success,
    Failure,
    Inactive,
    Canceled,
    /// Not read: the provider did not ask for this deploy's status (an
    /// older deploy than the live one and the rollback candidates).
    Unknown,
}

impl DeployState {
    pub fn label(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::InProgress => "in_progress",
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Inactive => "inactive",
            Self::Canceled => "canceled",
            Self::Unknown => "unknown",
        }
    }

    /// The word the console and the tables show: the JSON word, in capitals
    /// (`in_progress` as IN PROGRESS).
    pub fn word(self) -> &'static str {
        match self {
            Self::Queued => "QUEUED",
            Self::InProgress => "IN PROGRESS",
            Self::Success => "SUCCESS",
            Self::Failure => "FAILURE",
            Self::Inactive => "INACTIVE",
            Self::Canceled => "CANCELED",
            Self::Unknown => "UNKNOWN",
        }
    }
}

/// Fields in key order: `--json` prints them as declared, sorted (see
/// `cli::output::doc` and its test).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Deploy {
    pub created_at: Time,
    pub creator: Option<SafeText>,
    pub current: bool,
    /// Commit message or description, extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<SafeText>,
    pub environment: SafeText,
    pub id: SafeText,
    /// The build or deploy log (GitHub status `log_url`, a workflow run's
    /// page, Vercel's inspector), extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_url: Option<SafeText>,
    pub provider: SafeText,
    pub provider_state: SafeText,
    #[serde(rename = "ref")]
    pub git_ref: SafeText,
    pub service: SafeText,
    pub sha: SafeText,
    pub state: DeployState,
    pub url: Option<SafeText>,
}

/// What a deploy changed: the commits from the previous deploy's sha
/// (`base`) to its own (`head`), read on demand for the details pane.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CommitRange {
    pub base: SafeText,
    pub head: SafeText,
    /// The vendor's word: `ahead`, `behind` (a rollback), `diverged`, `identical`.
    pub status: SafeText,
    pub ahead_by: u32,
    pub behind_by: u32,
    /// Commits in the range; `commits` holds the first page of them.
    pub total: u32,
    /// Oldest first: (short sha, author, first line of the message).
    pub commits: Vec<(SafeText, Option<SafeText>, SafeText)>,
    /// The comparison's web page.
    pub url: Option<SafeText>,
}

/// Fields in key order: `--json` prints them as declared, sorted (see
/// `cli::output::doc` and its test).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Flag {
    pub environment: Option<SafeText>,
    pub key: SafeText,
    pub kill_switch: bool,
    pub name: SafeText,
    pub on: bool,
    pub provider: SafeText,
    /// Service the flag belongs to where known, extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<SafeText>,
    pub updated_at: Option<Time>,
    pub url: Option<SafeText>,
}

impl Flag {
    /// Does the filter match the key or the name (case-insensitive)?
    pub fn matches(&self, filter: &str) -> bool {
        let q = filter.to_lowercase();
        self.key.as_str().to_lowercase().contains(&q)
            || self.name.as_str().to_lowercase().contains(&q)
    }
}

/// An Alertmanager silence: who muted what, why and until when.
/// Fields in key order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    pub comment: SafeText,
    pub created_by: SafeText,
    pub ends_at: Time,
    pub id: SafeText,
    /// `name=value`, `name=~regex`, `name!=value`, `name!~regex`.
    pub matchers: Vec<SafeText>,
    /// The ids of the listed alerts it mutes now (their `silencedBy`).
    #[serde(default)]
    pub muting: Vec<SafeText>,
    pub provider: SafeText,
    pub starts_at: Time,
    /// `active`, `pending` or `expired`, as the provider says.
    pub state: SafeText,
}

impl Silence {
    pub fn is_active(&self) -> bool {
        self.state.as_str() == "active"
    }
}

/// Fields in key order: `--json` prints them as declared, sorted (see
/// `cli::output::doc` and its test).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProviderStatus {
    pub error: Option<SafeText>,
    pub fetched_at: Option<Time>,
    pub kind: String,
    pub name: SafeText,
    pub ok: bool,
    pub stale: bool,
}

/// What one provider fetch returns: any of the four kinds of data.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Fetched {
    #[serde(default)]
    pub incidents: Vec<Incident>,
    #[serde(default)]
    pub oncall: Vec<OnCall>,
    #[serde(default)]
    pub slos: Vec<Slo>,
    #[serde(default)]
    pub deploys: Vec<Deploy>,
    #[serde(default)]
    pub flags: Vec<Flag>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub silences: Vec<Silence>,
}

/// The aggregated picture, `sitrep status --json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub generated_at: Option<Time>,
    pub providers: Vec<ProviderStatus>,
    pub incidents: Vec<Incident>,
    pub oncall: Vec<OnCall>,
    pub slos: Vec<Slo>,
    pub deploys: Vec<Deploy>,
    pub flags: Vec<Flag>,
    /// Alertmanager silences (an extension: absent when there are none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub silences: Vec<Silence>,
}

impl Snapshot {
    /// Providers that gave nothing this time: an error and no cached data.
    pub fn unanswered(&self) -> Vec<&str> {
        self.providers
            .iter()
            .filter(|p| p.error.is_some() && !p.stale)
            .map(|p| p.name.as_str())
            .collect()
    }

    /// No provider answered and nothing is cached: nothing is known (not
    /// "all clear").
    pub fn no_data(&self) -> bool {
        !self.providers.is_empty() && self.unanswered().len() == self.providers.len()
    }

    /// Every provider answered (none failed, none shown from cache).
    pub fn complete(&self) -> bool {
        self.providers.iter().all(|p| p.error.is_none() && !p.stale)
    }

    /// The service of flag `key` (matching provider and environment when
    /// given): what a kill switch's watch follows.
    pub fn flag_service(
        &self,
        key: &str,
        provider: Option<&str>,
        env: Option<&str>,
    ) -> Option<String> {
        self.flags
            .iter()
            .filter(|f| f.key.as_str() == key)
            .filter(|f| provider.is_none_or(|p| f.provider.as_str() == p))
            .filter(|f| env.is_none_or(|e| f.environment.as_ref().is_none_or(|x| x.as_str() == e)))
            .find_map(|f| f.service.as_ref().map(|s| s.as_str().to_string()))
            .filter(|s| !s.trim().is_empty())
    }

    /// Merge per-provider data into one picture, sorted the way a responder
    /// reads it: incidents worst first, deploys newest first, kill switches first.
    pub fn assemble<'a>(
        generated_at: Time,
        providers: Vec<ProviderStatus>,
        data: impl IntoIterator<Item = &'a Fetched>,
    ) -> Snapshot {
        let mut s = Snapshot {
            generated_at: Some(generated_at),
            providers,
            ..Default::default()
        };
        for f in data {
            s.incidents.extend(f.incidents.iter().cloned());
            s.oncall.extend(f.oncall.iter().cloned());
            s.slos.extend(f.slos.iter().cloned());
            s.deploys.extend(f.deploys.iter().cloned());
            s.flags.extend(f.flags.iter().cloned());
            s.silences.extend(f.silences.iter().cloned());
        }
        s.sort();
        s
    }

    pub fn sort(&mut self) {
        self.incidents.sort_by(Incident::urgency_cmp);
        // Active first, then pending, then expired; the newest first.
        let rank = |s: &Silence| match s.state.as_str() {
            "active" => 0,
            "pending" => 1,
            _ => 2,
        };
        crate::order::sort_by(&mut self.silences, |a, b| {
            rank(a).cmp(&rank(b)).then(b.starts_at.cmp(&a.starts_at))
        });
        crate::order::sort_by(&mut self.oncall, |a, b| {
            a.policy.cmp(&b.policy).then(a.level.cmp(&b.level))
        });
        crate::order::sort_by(&mut self.slos, |a, b| {
            // Frozen and burning first, then by name.
            (b.gate == Gate::Frozen)
                .cmp(&(a.gate == Gate::Frozen))
                .then(a.name.cmp(&b.name))
        });
        crate::order::sort_by(&mut self.deploys, |a, b| {
            a.service
                .cmp(&b.service)
                .then(a.environment.cmp(&b.environment))
                .then(b.created_at.cmp(&a.created_at))
        });
        crate::order::sort_by(&mut self.flags, |a, b| {
            b.kill_switch
                .cmp(&a.kill_switch)
                .then(a.key.cmp(&b.key))
                .then(a.provider.cmp(&b.provider))
        });
    }

    /// Open incidents counted per severity.
    pub fn open_counts(&self) -> [usize; 4] {
        let mut c = [0; 4];
        for i in self.incidents.iter().filter(|i| i.status.is_open()) {
            c[i.severity.index()] += 1;
        }
        c
    }

    /// The deploy gate of a service: frozen if any of its SLOs is frozen.
    pub fn gate_for(&self, service: &str) -> Option<Gate> {
        let mut gate = None;
        for s in self
            .slos
            .iter()
            .filter(|s| s.service.as_ref().map(|x| x.as_str()) == Some(service))
        {
            if s.gate == Gate::Frozen {
                return Some(Gate::Frozen);
            }
            gate = Some(Gate::Open);
        }
        gate
    }

    /// Deploys grouped by (service, environment), newest first inside a group.
    pub fn deploy_groups(&self) -> BTreeMap<(String, String), Vec<&Deploy>> {
        let mut m: BTreeMap<(String, String), Vec<&Deploy>> = BTreeMap::new();
        for d in &self.deploys {
            m.entry((
                d.service.as_str().to_string(),
                d.environment.as_str().to_string(),
            ))
            .or_default()
            .push(d);
        }
        for v in m.values_mut() {
            crate::order::sort_by_key(v, |d| std::cmp::Reverse(d.created_at));
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// JSON carries numbers rounded to what the data supports.
    #[test]
    fn floats_in_json_are_rounded() {
        let b = BurnRates {
            h1: Some(19.000000000002093),
            m5: Some(-0.00000001),
            ..Default::default()
        };
        let j = serde_json::to_string(&b).unwrap();
        assert!(j.contains("\"1h\":19.0"), "{j}");
        assert!(j.contains("\"5m\":0.0"), "{j}");
        assert!(j.contains("\"30m\":null"), "{j}");
        let mut v = serde_json::json!({});
        v["x"] = serde_json::to_value(&b).unwrap();
        assert_eq!(v["x"]["1h"], 19.0);
    }

    fn inc(id: &str, sev: Severity, st: IncidentStatus, min: i64) -> Incident {
        Incident {
            provider: SafeText::line("p"),
            id: SafeText::line(id),
            labels: Default::default(),
            title: SafeText::line(id),
            severity: sev,
            status: st,
            service: None,
            created_at: Utc.timestamp_opt(1_700_000_000 + min * 60, 0).unwrap(),
            url: None,
            assignee: None,
            runbook: None,
        }
    }

    #[test]
    fn incidents_sort_worst_then_unacked_then_newest() {
        let mut s = Snapshot {
            incidents: vec![
                inc("a", Severity::Sev2, IncidentStatus::Triggered, 0),
                inc("b", Severity::Sev1, IncidentStatus::Acknowledged, 5),
                inc("c", Severity::Sev1, IncidentStatus::Triggered, 1),
                inc("d", Severity::Sev1, IncidentStatus::Triggered, 3),
            ],
            ..Default::default()
        };
        s.sort();
        let ids: Vec<_> = s.incidents.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["d", "c", "b", "a"]);
        assert_eq!(s.open_counts(), [3, 1, 0, 0]);
    }

    #[test]
    fn severity_json_and_parse() {
        assert_eq!(serde_json::to_string(&Severity::Sev2).unwrap(), "\"SEV2\"");
        assert_eq!("sev3".parse::<Severity>(), Ok(Severity::Sev3));
        assert!("SEV9".parse::<Severity>().is_err());
    }

    #[test]
    fn burn_rates_json_uses_window_names_and_null() {
        let mut b = BurnRates::default();
        b.set("1h", Some(2.5));
        b.set("5m", Some(f64::NAN));
        let v = serde_json::to_value(&b).unwrap();
        assert_eq!(v["1h"], 2.5);
        assert!(v["5m"].is_null());
        assert_eq!(v.as_object().map(|o| o.len()), Some(7));
    }
}

/// Which environments count as production: the config's
/// `production_environments`, else `production` and `prod`. The one
/// answer the executor's guard, the console's red banner and the
/// timeline's suspects all use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProductionEnvs(Option<Vec<String>>);

impl ProductionEnvs {
    pub fn new(configured: Option<Vec<String>>) -> ProductionEnvs {
        ProductionEnvs(configured)
    }

    pub fn contains(&self, env: &str) -> bool {
        match &self.0 {
            Some(v) => v.iter().any(|e| e.eq_ignore_ascii_case(env)),
            None => matches!(env.to_ascii_lowercase().as_str(), "production" | "prod"),
        }
    }
}
