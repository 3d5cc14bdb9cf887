//! Watch after action: after a rollback or a kill switch, follow the
//! service's burn rate (5m and 1h) and its open incidents for a while and
//! say whether it is recovering, unchanged or worse.
//!
//! The core ([`Watch`]) is pure: feed it snapshots with their time. The
//! driver (`actions::watch::drive`) polls, and `actions::watch::record`
//! writes the verdict to the audit log as a result-only `watch` record
//! through the executor.
//!
//! Verdict rule (docs/BEYOND.md):
//! - burn = the highest 5m burn rate among the service's SLOs (the 1h burn
//!   when no 5m number exists on both sides); each side is raised to a
//!   floor (default 1.0: a burn below 1× spends no more than the budget
//!   allows, so differences below it are noise);
//! - trend: `down` if now ≤ (1 − threshold) × before, `up` if now ≥
//!   (1 + threshold) × before (default threshold 25 %), else `flat`;
//!   `unknown` without numbers on both sides (counts as flat);
//! - incidents: `resolved` = open on the service at action time and not
//!   open now; `new` = open now and not at action time; net = resolved − new;
//! - **worse** if trend is up, or flat and net < 0; **recovering** if trend
//!   is down and net ≥ 0, or flat and net > 0; else **no change** (also
//!   when the burn fell but more incidents opened than resolved: mixed).
//!
//! The watch concludes at the end of its window (default 10 minutes) with
//! the latest assessment, or early: two consecutive `worse` assessments,
//! or two consecutive assessments with the burn below the floor and no
//! incident open on the service (recovered).

use crate::model::*;
use crate::text::SafeText;
use crate::util;
use chrono::Duration;
use serde::Serialize;
use std::collections::BTreeMap;

/// Default watch window.
pub const DEFAULT_WINDOW_MINS: i64 = 10;

/// Tunables of the verdict rule.
#[derive(Clone, Debug, PartialEq)]
pub struct WatchConfig {
    pub window: Duration,
    /// Relative change of the burn that counts (0.25 = 25 %).
    pub threshold: f64,
    /// Burn rates below this are treated as this.
    pub floor: f64,
    /// Consecutive assessments that end the watch early.
    pub confirm: u32,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            window: Duration::minutes(DEFAULT_WINDOW_MINS),
            threshold: 0.25,
            floor: 1.0,
            confirm: 2,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictKind {
    Recovering,
    NoChange,
    Worse,
}

impl VerdictKind {
    /// "recovering", "no change", "worse".
    pub fn label(self) -> &'static str {
        match self {
            Self::Recovering => "recovering",
            Self::NoChange => "no change",
            Self::Worse => "worse",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    Down,
    Flat,
    Up,
    Unknown,
}

/// The service at one moment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sample {
    pub at: Time,
    pub burn_5m: Option<f64>,
    pub burn_1h: Option<f64>,
    /// Open incidents on the service: `provider/id` → severity.
    pub open: BTreeMap<String, Severity>,
    /// The runbook linked to the worst open incident on the service.
    pub runbook: Option<SafeText>,
    /// Providers that failed this time (their incidents may be missing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<String>,
}

fn max_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

impl Sample {
    /// What `snap` says about `service` (case-insensitive match).
    pub fn of(service: &str, snap: &Snapshot, at: Time) -> Sample {
        let is = |s: &Option<SafeText>| {
            s.as_ref()
                .is_some_and(|x| x.as_str().trim().eq_ignore_ascii_case(service.trim()))
        };
        let mut s = Sample {
            at,
            burn_5m: None,
            burn_1h: None,
            open: BTreeMap::new(),
            runbook: None,
            failed: snap
                .providers
                .iter()
                .filter(|p| p.error.is_some())
                .map(|p| p.name.as_str().to_string())
                .collect(),
        };
        for slo in snap.slos.iter().filter(|x| is(&x.service)) {
            let ok = |v: Option<f64>| v.filter(|x| x.is_finite() && *x >= 0.0);
            s.burn_5m = max_opt(s.burn_5m, ok(slo.burn_rates.m5));
            s.burn_1h = max_opt(s.burn_1h, ok(slo.burn_rates.h1));
        }
        let mut open: Vec<&Incident> = snap
            .incidents
            .iter()
            .filter(|i| is(&i.service) && i.status.is_open())
            .collect();
        crate::order::sort_by(&mut open, |a, b| Incident::urgency_cmp(a, b));
        s.runbook = open.iter().find_map(|i| i.runbook.clone());
        for i in open {
            s.open
                .insert(format!("{}/{}", i.provider, i.id), i.severity);
        }
        s
    }
}

/// What the watch says.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    pub kind: VerdictKind,
    /// One line for the toast / the terminal, e.g. "checkout recovering:
    /// 5m burn 31x -> 4.20x (-86%), 1h 19.0x -> 17.5x; 1 incident resolved, 0 new".
    pub summary: SafeText,
    pub service: SafeText,
    pub trend: Trend,
    pub before: Sample,
    pub now: Sample,
    /// `provider/id` of incidents resolved / opened since the action.
    pub resolved: Vec<String>,
    pub new: Vec<String>,
    pub elapsed_secs: i64,
    /// The watch is over (a verdict rather than a provisional reading).
    #[serde(rename = "final")]
    pub is_final: bool,
}

impl Verdict {
    /// The runbook the responder may continue with (worst open incident).
    pub fn runbook(&self) -> Option<&SafeText> {
        self.now.runbook.as_ref().or(self.before.runbook.as_ref())
    }

    /// The audit `detail` of the verdict (numbers as strings: the audit
    /// log holds no floats).
    pub fn detail(&self) -> serde_json::Value {
        let n = |v: Option<f64>| v.map(|x| format!("{x:.3}"));
        serde_json::json!({
            "verdict": self.kind.label(),
            "trend": self.trend,
            "burn_5m_before": n(self.before.burn_5m),
            "burn_5m_now": n(self.now.burn_5m),
            "burn_1h_before": n(self.before.burn_1h),
            "burn_1h_now": n(self.now.burn_1h),
            "resolved": self.resolved,
            "new": self.new,
            "open_now": self.now.open.len(),
            "elapsed_secs": self.elapsed_secs,
            "final": self.is_final,
            "summary": self.summary.as_str(),
        })
    }
}

/// A watch of one service after one action.
#[derive(Clone, Debug, PartialEq)]
pub struct Watch {
    service: String,
    /// What the action was on (`service/env`, flag key), for the record.
    target: String,
    /// The audit action watched after (`rollback`, `flag.off`...).
    after: String,
    cfg: WatchConfig,
    started: Time,
    baseline: Sample,
    latest: Option<Verdict>,
    worse_streak: u32,
    clear_streak: u32,
    concluded: Option<Verdict>,
}

/// The trend of a burn series from `before` to `now` under `cfg`.
pub fn trend(before: Option<f64>, now: Option<f64>, cfg: &WatchConfig) -> Trend {
    let (Some(b), Some(n)) = (before, now) else {
        return Trend::Unknown;
    };
    if !b.is_finite() || !n.is_finite() {
        return Trend::Unknown;
    }
    let floor = cfg.floor.max(f64::MIN_POSITIVE);
    let (b, n) = (b.max(floor), n.max(floor));
    let r = n / b;
    if r <= 1.0 - cfg.threshold {
        Trend::Down
    } else if r >= 1.0 + cfg.threshold {
        Trend::Up
    } else {
        Trend::Flat
    }
}

/// The verdict rule: burn trend and net incidents (resolved − new).
pub fn decide(trend: Trend, net: i64) -> VerdictKind {
    match trend {
        Trend::Up => VerdictKind::Worse,
        Trend::Down if net >= 0 => VerdictKind::Recovering,
        Trend::Down => VerdictKind::NoChange,
        Trend::Flat | Trend::Unknown => match net.signum() {
            1 => VerdictKind::Recovering,
            -1 => VerdictKind::Worse,
            _ => VerdictKind::NoChange,
        },
    }
}

fn change_pct(b: f64, n: f64) -> String {
    if b <= 0.0 {
        return String::new();
    }
    let p = ((n - b) / b * 100.0).round() as i64;
    format!(" ({}{p}%)", if p > 0 { "+" } else { "" })
}

impl Watch {
    /// Start watching `service` with `baseline` taken at action time `at`.
    pub fn new(service: &str, baseline: &Snapshot, at: Time) -> Watch {
        Watch {
            service: service.trim().to_string(),
            target: service.trim().to_string(),
            after: String::new(),
            cfg: WatchConfig::default(),
            started: at,
            baseline: Sample::of(service, baseline, at),
            latest: None,
            worse_streak: 0,
            clear_streak: 0,
            concluded: None,
        }
    }

    pub fn with_config(mut self, cfg: WatchConfig) -> Watch {
        self.cfg = cfg;
        self
    }

    pub fn with_window(mut self, window: Duration) -> Watch {
        self.cfg.window = window;
        self
    }

    /// The action watched after (audit action name and target).
    pub fn after(mut self, action: &str, target: &str) -> Watch {
        self.after = action.to_string();
        self.target = target.to_string();
        self
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    pub fn target(&self) -> &str {
        &self.target
    }

    /// The audit action watched after (`rollback`, `flag.off`...).
    pub fn after_action(&self) -> &str {
        &self.after
    }

    pub fn started(&self) -> Time {
        self.started
    }

    pub fn deadline(&self) -> Time {
        self.started + self.cfg.window
    }

    pub fn config(&self) -> &WatchConfig {
        &self.cfg
    }

    pub fn baseline(&self) -> &Sample {
        &self.baseline
    }

    /// The latest assessment (provisional until the watch concludes).
    pub fn latest(&self) -> Option<&Verdict> {
        self.latest.as_ref()
    }

    /// The final verdict, once concluded.
    pub fn verdict(&self) -> Option<&Verdict> {
        self.concluded.as_ref()
    }

    pub fn is_done(&self) -> bool {
        self.concluded.is_some()
    }

    /// Assess `snap` against the baseline (pure, changes nothing).
    pub fn assess(&self, snap: &Snapshot, now: Time) -> Verdict {
        let cur = Sample::of(&self.service, snap, now);
        let b = &self.baseline;
        let use_5m = b.burn_5m.is_some() && cur.burn_5m.is_some();
        let (b_burn, n_burn, win) = if use_5m {
            (b.burn_5m, cur.burn_5m, "5m")
        } else {
            (b.burn_1h, cur.burn_1h, "1h")
        };
        let trend = trend(b_burn, n_burn, &self.cfg);
        // An incident missing because its provider failed is not resolved.
        let provider_failed = |k: &str| {
            let p = k.split_once('/').map(|(p, _)| p).unwrap_or(k);
            cur.failed.iter().any(|f| f == p)
        };
        let resolved: Vec<String> = b
            .open
            .keys()
            .filter(|k| !cur.open.contains_key(*k) && !provider_failed(k))
            .cloned()
            .collect();
        let new: Vec<String> = cur
            .open
            .keys()
            .filter(|k| !b.open.contains_key(*k))
            .cloned()
            .collect();
        let net = resolved.len() as i64 - new.len() as i64;
        let kind = decide(trend, net);
        let mut s = format!("{} {}: ", self.service, kind.label());
        match (b_burn, n_burn) {
            (Some(x), Some(y)) => {
                s.push_str(&format!(
                    "{win} burn {} -> {}{}",
                    util::burn(Some(x)),
                    util::burn(Some(y)),
                    change_pct(x, y)
                ));
                if use_5m {
                    s.push_str(&format!(
                        ", 1h {} -> {}",
                        util::burn(b.burn_1h),
                        util::burn(cur.burn_1h)
                    ));
                }
            }
            _ => s.push_str("no burn-rate data"),
        }
        s.push_str(&format!(
            "; {} incident{} resolved, {} new, {} open",
            resolved.len(),
            if resolved.len() == 1 { "" } else { "s" },
            new.len(),
            cur.open.len()
        ));
        if kind == VerdictKind::NoChange && trend == Trend::Down && net < 0 {
            s.push_str(" (mixed: burn down but more incidents)");
        }
        if !cur.failed.is_empty() {
            s.push_str(&format!(" (no fresh data from {})", cur.failed.join(", ")));
        }
        let elapsed = (now - self.started).num_seconds().max(0);
        s.push_str(&format!(" (after {})", util::span(elapsed)));
        Verdict {
            kind,
            summary: SafeText::line(&s),
            service: SafeText::line(&self.service),
            trend,
            before: self.baseline.clone(),
            now: cur,
            resolved,
            new,
            elapsed_secs: elapsed,
            is_final: false,
        }
    }

    /// Take one observation. Returns the final verdict when the watch
    /// concludes (once); `None` while it goes on, and after it concluded.
    pub fn observe(&mut self, snap: &Snapshot, now: Time) -> Option<Verdict> {
        if self.concluded.is_some() {
            return None;
        }
        let mut v = self.assess(snap, now);
        if v.kind == VerdictKind::Worse {
            self.worse_streak += 1;
        } else {
            self.worse_streak = 0;
        }
        let below = |x: Option<f64>| x.is_none_or(|b| b < self.cfg.floor);
        let clear = v.kind == VerdictKind::Recovering
            && (v.now.burn_5m.is_some() || v.now.burn_1h.is_some())
            && below(v.now.burn_5m)
            && (v.now.burn_5m.is_some() || below(v.now.burn_1h))
            && v.now.open.is_empty()
            && v.now.failed.is_empty();
        if clear {
            self.clear_streak += 1;
        } else {
            self.clear_streak = 0;
        }
        let confirm = self.cfg.confirm.max(1);
        let done =
            now >= self.deadline() || self.worse_streak >= confirm || self.clear_streak >= confirm;
        if done {
            v.is_final = true;
            self.latest = Some(v.clone());
            self.concluded = Some(v.clone());
            return Some(v);
        }
        self.latest = Some(v);
        None
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::TimeZone;

    pub(crate) fn t0() -> Time {
        chrono::Utc
            .with_ymd_and_hms(2026, 11, 22, 3, 0, 0)
            .single()
            .unwrap_or_default()
    }

    fn slo(svc: &str, m5: Option<f64>, h1: Option<f64>) -> Slo {
        let mut b = BurnRates::default();
        b.set("5m", m5);
        b.set("1h", h1);
        Slo {
            name: SafeText::line(&format!("{svc}-availability")),
            service: Some(SafeText::line(svc)),
            objective: 99.9,
            window: "30d".into(),
            error_budget_remaining: Some(0.5),
            budget_burned_7d: None,
            burn_rates: b,
            alerts: vec![],
            gate: Gate::Open,
            provider: SafeText::line("prom"),
            history: vec![],
            budget_history: vec![],
            error: None,
        }
    }

    fn inc(svc: &str, id: &str, status: IncidentStatus) -> Incident {
        Incident {
            provider: SafeText::line("pd"),
            id: SafeText::line(id),
            labels: Default::default(),
            title: SafeText::line(id),
            severity: Severity::Sev1,
            status,
            service: Some(SafeText::line(svc)),
            created_at: t0(),
            url: None,
            assignee: None,
            runbook: Some(SafeText::line("rollback")),
        }
    }

    pub(crate) fn snap(m5: Option<f64>, open: &[&str]) -> Snapshot {
        Snapshot {
            slos: vec![
                slo("checkout", m5, m5.map(|x| x * 0.8)),
                slo("search", Some(50.0), None),
            ],
            incidents: open
                .iter()
                .map(|id| inc("checkout", id, IncidentStatus::Triggered))
                .chain([inc("search", "S1", IncidentStatus::Triggered)])
                .collect(),
            ..Default::default()
        }
    }

    pub(crate) fn at(mins: i64) -> Time {
        t0() + Duration::minutes(mins)
    }

    /// Run a synthetic 5m burn series (one sample a minute) and return the
    /// final verdict.
    fn run(series: &[(Option<f64>, &[&str])]) -> Verdict {
        let (b, open) = series[0];
        let mut w =
            Watch::new("checkout", &snap(b, open), t0()).after("rollback", "checkout/production");
        for (i, (b, open)) in series.iter().enumerate().skip(1) {
            if let Some(v) = w.observe(&snap(*b, open), at(i as i64)) {
                return v;
            }
        }
        // Past the deadline: conclude with the last sample.
        let (b, open) = series[series.len() - 1];
        w.observe(&snap(b, open), at(DEFAULT_WINDOW_MINS))
            .unwrap_or_else(|| panic!("no verdict"))
    }

    #[test]
    fn falling_burn_is_recovering() {
        let v = run(&[
            (Some(31.0), &["I1"]),
            (Some(30.0), &["I1"]),
            (Some(22.0), &["I1"]),
            (Some(12.0), &["I1"]),
            (Some(6.0), &["I1"]),
        ]);
        assert_eq!(v.kind, VerdictKind::Recovering);
        assert_eq!(v.trend, Trend::Down);
        assert!(v.is_final);
        assert_eq!(
            v.summary.as_str(),
            "checkout recovering: 5m burn 31.0x -> 6.00x (-81%), 1h 24.8x -> 4.80x; 0 incidents resolved, 0 new, 1 open (after 10m)"
        );
        assert_eq!(v.runbook().map(|r| r.as_str()), Some("rollback"));
    }

    #[test]
    fn flat_burn_is_no_change() {
        let v = run(&[
            (Some(20.0), &["I1"]),
            (Some(22.0), &["I1"]),
            (Some(18.0), &["I1"]),
            (Some(21.0), &["I1"]),
        ]);
        assert_eq!(v.kind, VerdictKind::NoChange);
        assert_eq!(v.trend, Trend::Flat);
    }

    #[test]
    fn rising_burn_is_worse_and_ends_early() {
        let mut w = Watch::new("checkout", &snap(Some(10.0), &["I1"]), t0());
        assert!(w.observe(&snap(Some(14.0), &["I1"]), at(1)).is_none());
        assert_eq!(w.latest().map(|v| v.kind), Some(VerdictKind::Worse));
        let v = w
            .observe(&snap(Some(18.0), &["I1"]), at(2))
            .expect("early verdict");
        assert_eq!(v.kind, VerdictKind::Worse);
        assert_eq!(v.trend, Trend::Up);
        assert!(w.is_done());
        assert!(w.observe(&snap(Some(1.0), &[]), at(3)).is_none());
        assert_eq!(w.verdict().map(|v| v.kind), Some(VerdictKind::Worse));
    }

    #[test]
    fn a_single_bad_sample_does_not_end_the_watch() {
        let v = run(&[
            (Some(10.0), &["I1"]),
            (Some(15.0), &["I1"]),
            (Some(9.0), &["I1"]),
            (Some(10.5), &["I1"]),
        ]);
        assert_eq!(v.kind, VerdictKind::NoChange);
        assert_eq!(v.elapsed_secs, 600);
    }

    #[test]
    fn tiny_numbers_below_the_floor_are_no_change() {
        // 0.2x -> 0.6x is +200 % but both are under 1x: noise.
        let v = run(&[(Some(0.2), &[]), (Some(0.6), &[]), (Some(0.5), &[])]);
        assert_eq!(v.trend, Trend::Flat);
        // Not "clear" either: recovering needs a fall or fewer incidents.
        assert_eq!(v.kind, VerdictKind::NoChange);
        // 0.5x -> 1.5x crosses the floor by 50 %: worse.
        assert_eq!(
            trend(Some(0.5), Some(1.5), &WatchConfig::default()),
            Trend::Up
        );
    }

    #[test]
    fn recovered_ends_early() {
        let mut w = Watch::new("checkout", &snap(Some(25.0), &["I1"]), t0());
        assert!(w.observe(&snap(Some(0.4), &[]), at(2)).is_none());
        let v = w.observe(&snap(Some(0.3), &[]), at(3)).expect("early");
        assert_eq!(v.kind, VerdictKind::Recovering);
        assert_eq!(v.resolved, ["pd/I1"]);
        assert!(
            v.summary
                .as_str()
                .contains("1 incident resolved, 0 new, 0 open")
        );
    }

    #[test]
    fn incidents_count_in() {
        // Flat burn, an incident resolved: recovering.
        let v = run(&[(Some(20.0), &["I1", "I2"]), (Some(20.0), &["I1"])]);
        assert_eq!(v.kind, VerdictKind::Recovering);
        assert_eq!(v.resolved, ["pd/I2"]);
        // Flat burn, a new incident: worse.
        let v = run(&[
            (Some(20.0), &["I1"]),
            (Some(20.0), &["I1", "I3"]),
            (Some(20.0), &["I1", "I3"]),
        ]);
        assert_eq!(v.kind, VerdictKind::Worse);
        assert_eq!(v.new, ["pd/I3"]);
        // Burn falling but a new incident: mixed, no change.
        let v = run(&[(Some(20.0), &["I1"]), (Some(5.0), &["I1", "I3"])]);
        assert_eq!(v.kind, VerdictKind::NoChange);
        assert!(v.summary.as_str().contains("mixed"));
        // Rising burn wins over a resolved incident.
        let v = run(&[
            (Some(10.0), &["I1", "I2"]),
            (Some(30.0), &["I1"]),
            (Some(30.0), &["I1"]),
        ]);
        assert_eq!(v.kind, VerdictKind::Worse);
    }

    #[test]
    fn incidents_of_a_failed_provider_are_not_resolved() {
        let w = Watch::new("checkout", &snap(Some(20.0), &["I1"]), t0());
        let mut now = snap(Some(20.0), &[]);
        now.providers.push(ProviderStatus {
            name: SafeText::line("pd"),
            kind: "pagerduty".into(),
            ok: false,
            error: Some(SafeText::line("pd: timeout")),
            fetched_at: None,
            stale: false,
        });
        let v = w.assess(&now, at(2));
        assert!(v.resolved.is_empty());
        assert_eq!(v.kind, VerdictKind::NoChange);
        assert!(
            v.summary.as_str().contains("no fresh data from pd"),
            "{}",
            v.summary
        );
    }

    #[test]
    fn no_burn_data_is_decided_by_incidents_and_falls_back_to_1h() {
        let v = run(&[(None, &["I1"]), (None, &["I1"])]);
        assert_eq!((v.kind, v.trend), (VerdictKind::NoChange, Trend::Unknown));
        assert!(v.summary.as_str().contains("no burn-rate data"));
        // Only a 1h number on one side: the 1h series is used.
        let mut before = snap(Some(20.0), &[]);
        before.slos[0].burn_rates.m5 = None;
        let w = Watch::new("checkout", &before, t0());
        let v = w.assess(&snap(Some(5.0), &[]), at(5));
        assert_eq!(v.trend, Trend::Down);
        assert!(
            v.summary.as_str().contains("1h burn 16.0x -> 4.00x"),
            "{}",
            v.summary
        );
    }
}
