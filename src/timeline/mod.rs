//! What changed: one chronological list (newest first) of deploys, flag
//! flips, incidents and alerts, silences, SLO state and sitrep's own
//! audited actions, with deploys and flag flips that happened shortly
//! before an incident or a burn-rate rise on the same service marked as
//! suspects. Pure: the caller supplies the snapshot and the audit records.
//!
//! Correlation rule (docs/BEYOND.md): a change (deploy, flag flip) on
//! service S at time t is a suspect when
//! - an incident or alert on S opened at `o` with `t <= o <= t + window`
//!   (default window 30 minutes); the closest such opening is named, the
//!   worst severity on a tie; or else
//! - an SLO of S has a page alert firing (a burn-rate rise) and
//!   `now - long - window <= t <= now`, where `long` is the long window of
//!   the fastest firing page pair (1h for 1h/5m, 6h for 6h/30m): the burn
//!   is measured over that window, so the rise started at most that long ago;
//!   a change made while an incident was already open on S is a response
//!   (a kill switch, a rollback), not a suspect of the burn.
//!
//! Deploys that never ran (queued, canceled) are never suspects.
//!
//! The parts: this file has the event types, [`build`] and the ordering;
//! `events` turns each kind of source (deploy, flag, incident, SLO, audit
//! record) into an [`Event`]; `correlate` applies the rule above.

mod correlate;
mod events;

pub use events::{budget_text, slo_state_line};

use crate::audit::{Outcome, Phase, Record};
use crate::model::*;
use crate::text::SafeText;
use crate::util;
use chrono::Duration;
use correlate::{Change, correlate, triggers};
use events::{deploy_event, flag_event, incident_event, record_event, slo_event};
use serde::Serialize;

/// Default correlation window.
pub const DEFAULT_WINDOW_MINS: i64 = 30;
/// How far back the timeline looks unless told: the same 12 h in the
/// console's Timeline view, `sitrep timeline` and `sitrep handoff` (a shift).
pub const DEFAULT_SINCE_HOURS: i64 = 12;
/// A flag change seen in the provider data within this many seconds of an
/// audited flip of the same flag is the same change (the audited one, with
/// who and why, is kept).
pub const FLAG_DEDUP_SECS: i64 = 300;

/// What kind of change. Ordered for a stable sort of events at the same time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Current SLO state (page/ticket alert firing, gate frozen).
    Slo,
    Incident,
    Alert,
    Silence,
    Deploy,
    Flag,
    /// Another sitrep action from the audit log.
    Action,
}

impl EventKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::Slo => "slo",
            Self::Incident => "incident",
            Self::Alert => "alert",
            Self::Silence => "silence",
            Self::Deploy => "deploy",
            Self::Flag => "flag",
            Self::Action => "action",
        }
    }
}

/// Why a change is suspected.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Suspect {
    /// E.g. "deployed 4m before SEV1 Q1CHK5XZ01 on checkout".
    pub reason: SafeText,
    /// The incident it is suspected for (`null` for a burn-rate rise).
    pub incident: Option<SafeText>,
}

/// One change. JSON: `{ts, kind, service, summary, provider, ref, suspect}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    pub ts: Time,
    pub kind: EventKind,
    pub service: Option<SafeText>,
    pub summary: SafeText,
    pub provider: Option<SafeText>,
    /// `provider/id` of the deploy, incident or flag; `audit#seq`; `provider/slo`.
    #[serde(rename = "ref")]
    pub reference: Option<SafeText>,
    pub suspect: Option<Suspect>,
}

impl Event {
    /// A current state rather than a past change (SLO burning now).
    pub fn is_current(&self) -> bool {
        self.kind == EventKind::Slo
    }
}

/// How to build the timeline.
#[derive(Clone, Debug)]
pub struct Options {
    pub now: Time,
    /// Events before this are left out (correlation still sees them).
    pub since: Time,
    /// Correlation window.
    pub window: Duration,
    /// `production_environments` of the config: only deploys to production
    /// are suspects (incidents carry no environment).
    pub production_envs: crate::model::ProductionEnvs,
}

impl Options {
    pub fn new(now: Time, since: Time) -> Options {
        Options {
            now,
            since,
            window: Duration::minutes(DEFAULT_WINDOW_MINS),
            production_envs: Default::default(),
        }
    }

    pub fn with_window(mut self, window: Duration) -> Options {
        self.window = window;
        self
    }

    pub fn with_production(mut self, envs: crate::model::ProductionEnvs) -> Options {
        self.production_envs = envs;
        self
    }

    pub fn with_production_envs(mut self, envs: Option<Vec<String>>) -> Options {
        self.production_envs = crate::model::ProductionEnvs::new(envs);
        self
    }

    fn is_production(&self, env: &str) -> bool {
        self.production_envs.contains(env)
    }
}

fn same_service(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    !a.is_empty() && a.eq_ignore_ascii_case(b)
}

fn opt_text(s: &Option<SafeText>) -> Option<&str> {
    s.as_ref().map(|x| x.as_str()).filter(|x| !x.is_empty())
}

fn nonempty(s: &SafeText) -> Option<SafeText> {
    (!s.is_empty()).then(|| s.clone())
}

/// An alert (Alertmanager) rather than a paged incident.
pub fn is_alert(i: &Incident, snap: &Snapshot) -> bool {
    matches!(i.status, IncidentStatus::Firing | IncidentStatus::Silenced)
        || snap
            .providers
            .iter()
            .any(|p| p.name == i.provider && p.kind == "alertmanager")
}

/// Parse an audit record's `ts`.
pub fn record_time(r: &Record) -> Option<Time> {
    chrono::DateTime::parse_from_rfc3339(&r.ts)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// Audit records the timeline shows: results (an intent is followed by its
/// result), but not dry runs nor runbook ticks, which change nothing.
pub fn is_change_record(r: &Record) -> bool {
    r.phase == Phase::Result && r.outcome != Outcome::DryRun && r.action != "runbook.step"
}

/// The timeline: newest first, SLO state (current) on top.
pub fn build(snap: &Snapshot, audit: &[Record], opts: &Options) -> Vec<Event> {
    let triggers = triggers(snap, opts);
    let mut events: Vec<Event> = Vec::new();

    // What happened before `since` is not shown: not built either (a
    // console's 5,000 cached incidents are mostly older than a day).
    for d in snap.deploys.iter().filter(|d| d.created_at >= opts.since) {
        let mut e = deploy_event(d);
        let ran = !matches!(d.state, DeployState::Queued | DeployState::Canceled);
        if ran && opts.is_production(d.environment.as_str()) {
            let verb = if d.state == DeployState::Failure {
                "deploy failed"
            } else {
                "deployed"
            };
            e.suspect = correlate(
                &Change {
                    at: d.created_at,
                    service: d.service.as_str().to_string(),
                    verb: verb.into(),
                },
                &triggers,
                opts,
            );
        }
        events.push(e);
    }

    // Audited flips, used to drop the provider's view of the same change.
    let audited_flips: Vec<(String, Time)> = audit
        .iter()
        .filter(|r| r.phase == Phase::Result && r.outcome == Outcome::Ok)
        .filter(|r| r.action == "flag.off" || r.action == "flag.on")
        .filter_map(|r| Some((r.target.clone(), record_time(r)?)))
        .collect();

    for f in &snap.flags {
        let Some(at) = f.updated_at.filter(|at| *at >= opts.since) else {
            continue;
        };
        let dup = audited_flips.iter().any(|(k, t)| {
            k.as_str() == f.key.as_str() && (*t - at).num_seconds().abs() <= FLAG_DEDUP_SECS
        });
        if dup {
            continue;
        }
        let mut e = flag_event(f, at);
        if let Some(svc) = opt_text(&f.service) {
            e.suspect = correlate(
                &Change {
                    at,
                    service: svc.to_string(),
                    verb: "flag changed".into(),
                },
                &triggers,
                opts,
            );
        }
        events.push(e);
    }

    for i in snap.incidents.iter().filter(|i| i.created_at >= opts.since) {
        events.push(incident_event(i, snap));
    }

    for r in audit.iter().filter(|r| is_change_record(r)) {
        let Some(at) = record_time(r).filter(|at| *at >= opts.since) else {
            continue;
        };
        let mut e = record_event(r, at, snap);
        if e.kind == EventKind::Flag
            && let Some(svc) = e.service.as_ref().map(|s| s.as_str().to_string())
        {
            let verb = if r.action == "flag.off" {
                "flag turned off"
            } else {
                "flag turned on"
            };
            e.suspect = correlate(
                &Change {
                    at,
                    service: svc,
                    verb: verb.into(),
                },
                &triggers,
                opts,
            );
        }
        events.push(e);
    }

    // Every event above is at or after `since` (each source was cut).
    for s in &snap.slos {
        if let Some(e) = slo_event(s, opts.now) {
            events.push(e);
        }
    }
    sort(&mut events);
    events
}

/// Newest first; at the same time by kind, then reference and summary.
pub fn sort(events: &mut [Event]) {
    crate::order::sort_by(events, |a, b| {
        b.ts.cmp(&a.ts)
            .then(a.kind.cmp(&b.kind))
            .then(a.reference.cmp(&b.reference))
            .then(a.summary.cmp(&b.summary))
    });
}

/// Suspects first (newest first among them), then the rest in order.
pub fn suspects_first(events: &[Event]) -> Vec<Event> {
    let mut v = events.to_vec();
    crate::order::sort_by_key(&mut v, |e| e.suspect.is_none());
    v
}

/// "11m ago" or "now" for a current state.
pub fn when(e: &Event, now: Time) -> String {
    if e.is_current() {
        "now".into()
    } else {
        let a = util::age(now, e.ts);
        if a.starts_with("in ") {
            a
        } else {
            format!("{a} ago")
        }
    }
}

#[cfg(test)]
mod tests;
