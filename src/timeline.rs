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

use crate::audit::{Outcome, Phase, Record};
use crate::model::*;
use crate::text::SafeText;
use crate::util;
use chrono::Duration;
use serde::Serialize;

/// Default correlation window.
pub const DEFAULT_WINDOW_MINS: i64 = 30;
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
    pub production_envs: Option<Vec<String>>,
}

impl Options {
    pub fn new(now: Time, since: Time) -> Options {
        Options {
            now,
            since,
            window: Duration::minutes(DEFAULT_WINDOW_MINS),
            production_envs: None,
        }
    }

    pub fn with_window(mut self, window: Duration) -> Options {
        self.window = window;
        self
    }

    pub fn with_production_envs(mut self, envs: Option<Vec<String>>) -> Options {
        self.production_envs = envs;
        self
    }

    fn is_production(&self, env: &str) -> bool {
        crate::model::ProductionEnvs::new(self.production_envs.clone()).contains(env)
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

/// A change that may be a suspect: its time, service and the verb used in
/// the reason ("deployed", "flag turned off"...).
struct Change {
    at: Time,
    service: String,
    verb: String,
}

/// Something a change may have caused.
struct Trigger {
    /// Incident opening time; for a burn-rate rise, the earliest start.
    at: Time,
    service: String,
    severity: Option<Severity>,
    label: String,
    incident: Option<String>,
    burn: bool,
    /// For a burn: the opening of the earliest incident open on the
    /// service; changes after it are responses.
    responses_after: Option<Time>,
}

fn triggers(snap: &Snapshot, opts: &Options) -> Vec<Trigger> {
    let mut out = Vec::new();
    for i in &snap.incidents {
        let Some(svc) = opt_text(&i.service) else {
            continue;
        };
        out.push(Trigger {
            at: i.created_at,
            service: svc.to_string(),
            severity: Some(i.severity),
            label: format!("{} {}", i.severity, i.id),
            incident: Some(i.id.as_str().to_string()),
            burn: false,
            responses_after: None,
        });
    }
    for s in &snap.slos {
        let Some(svc) = opt_text(&s.service) else {
            continue;
        };
        let long = s
            .alerts
            .iter()
            .filter(|a| a.firing && a.severity == AlertSeverity::Page)
            .filter_map(|a| humantime::parse_duration(&a.long).ok())
            .min();
        let Some(long) = long else { continue };
        let long = Duration::from_std(long).unwrap_or(Duration::hours(1));
        let responses_after = snap
            .incidents
            .iter()
            .filter(|i| i.status.is_open())
            .filter(|i| opt_text(&i.service).is_some_and(|x| same_service(x, svc)))
            .map(|i| i.created_at)
            .min();
        out.push(Trigger {
            at: opts.now - long,
            service: svc.to_string(),
            severity: None,
            label: format!(
                "SLO {} burning {} (1h)",
                s.name,
                util::burn(s.burn_rates.h1)
            ),
            incident: None,
            burn: true,
            responses_after,
        });
    }
    out
}

fn correlate(c: &Change, triggers: &[Trigger], opts: &Options) -> Option<Suspect> {
    let w = opts.window;
    let incident = triggers
        .iter()
        .filter(|t| !t.burn && same_service(&t.service, &c.service))
        .filter(|t| c.at <= t.at && t.at - c.at <= w)
        .min_by(|a, b| {
            (a.at - c.at)
                .cmp(&(b.at - c.at))
                .then(a.severity.cmp(&b.severity))
                .then(a.label.cmp(&b.label))
        });
    if let Some(t) = incident {
        return Some(Suspect {
            reason: SafeText::line(&format!(
                "{} {} before {} on {}",
                c.verb,
                util::span((t.at - c.at).num_seconds()),
                t.label,
                t.service
            )),
            incident: t.incident.as_deref().map(SafeText::line),
        });
    }
    let burn = triggers
        .iter()
        .filter(|t| t.burn && same_service(&t.service, &c.service))
        .filter(|t| c.at <= opts.now && c.at >= t.at - w)
        .filter(|t| t.responses_after.is_none_or(|r| c.at < r))
        .min_by(|a, b| a.at.cmp(&b.at).then(a.label.cmp(&b.label)))?;
    Some(Suspect {
        reason: SafeText::line(&format!(
            "{} {} ago on {} while {} with a page alert firing",
            c.verb,
            util::span((opts.now - c.at).num_seconds()),
            burn.service,
            burn.label
        )),
        incident: None,
    })
}

fn deploy_event(d: &Deploy) -> Event {
    let mut summary = format!(
        "{}/{} {} ({}) {}",
        d.service,
        d.environment,
        d.git_ref,
        util::short_sha(d.sha.as_str()),
        d.state.label()
    );
    if let Some(c) = opt_text(&d.creator) {
        summary.push_str(&format!(" by {c}"));
    }
    if let Some(m) = opt_text(&d.description) {
        summary.push_str(&format!(": {m}"));
    }
    Event {
        ts: d.created_at,
        kind: EventKind::Deploy,
        service: nonempty(&d.service),
        summary: SafeText::line(&summary),
        provider: nonempty(&d.provider),
        reference: Some(SafeText::line(&format!("{}/{}", d.provider, d.id))),
        suspect: None,
    }
}

fn on_off(on: bool) -> &'static str {
    if on { "ON" } else { "OFF" }
}

fn flag_event(f: &Flag, at: Time) -> Event {
    let mut summary = format!("flag {} changed, now {}", f.key, on_off(f.on));
    if let Some(e) = opt_text(&f.environment) {
        summary.push_str(&format!(" in {e}"));
    }
    if f.kill_switch {
        summary.push_str(" (kill switch)");
    }
    Event {
        ts: at,
        kind: EventKind::Flag,
        service: f.service.clone().filter(|s| !s.is_empty()),
        summary: SafeText::line(&summary),
        provider: nonempty(&f.provider),
        reference: Some(SafeText::line(&format!("{}/{}", f.provider, f.key))),
        suspect: None,
    }
}

fn incident_event(i: &Incident, snap: &Snapshot) -> Event {
    let alert = is_alert(i, snap);
    let mut now = i.status.label().to_string();
    if let Some(a) = opt_text(&i.assignee) {
        now.push_str(&format!(", {a}"));
    }
    // Alertmanager titles start with the alert name: say it once.
    let id = if i.title.as_str().starts_with(i.id.as_str()) {
        String::new()
    } else {
        format!(" {}", i.id)
    };
    let summary = if alert {
        format!("{} alert{id} fired: {} (now {now})", i.severity, i.title)
    } else {
        format!("{}{id} opened: {} (now {now})", i.severity, i.title)
    };
    Event {
        ts: i.created_at,
        kind: if alert {
            EventKind::Alert
        } else {
            EventKind::Incident
        },
        service: i.service.clone().filter(|s| !s.is_empty()),
        summary: SafeText::line(&summary),
        provider: nonempty(&i.provider),
        reference: Some(SafeText::line(&format!("{}/{}", i.provider, i.id))),
        suspect: None,
    }
}

/// "budget 40% left", "budget spent (-12%)", "budget -".
pub fn budget_text(remaining: Option<f64>) -> String {
    match remaining {
        Some(r) if r <= 0.0 => format!("budget spent ({})", util::share(Some(r))),
        r => format!("budget {} left", util::share(r)),
    }
}

/// SLO state that matters now: a page or ticket alert firing, a frozen gate.
pub fn slo_state_line(s: &Slo) -> Option<String> {
    let alert = if s.page_firing() {
        Some("PAGE")
    } else if s.ticket_firing() {
        Some("TICKET")
    } else {
        None
    };
    let frozen = s.gate == Gate::Frozen;
    if alert.is_none() && !frozen {
        return None;
    }
    let mut parts = Vec::new();
    if let Some(a) = alert {
        parts.push(format!("{a} alert firing"));
    }
    parts.push(format!(
        "burn 5m {}, 1h {}",
        util::burn(s.burn_rates.m5),
        util::burn(s.burn_rates.h1)
    ));
    parts.push(budget_text(s.error_budget_remaining));
    if frozen {
        parts.push("deploy gate FROZEN".into());
    }
    Some(parts.join(", "))
}

fn slo_event(s: &Slo, now: Time) -> Option<Event> {
    let line = slo_state_line(s)?;
    let provider = nonempty(&s.provider);
    Some(Event {
        ts: now,
        kind: EventKind::Slo,
        service: s.service.clone().filter(|x| !x.is_empty()),
        summary: SafeText::line(&format!("SLO {}: {line}", s.name)),
        reference: Some(SafeText::line(&match &provider {
            Some(p) => format!("{p}/{}", s.name),
            None => s.name.as_str().to_string(),
        })),
        provider,
        suspect: None,
    })
}

fn service_of_record(r: &Record, snap: &Snapshot) -> Option<SafeText> {
    let (action, target) = (r.action.as_str(), r.target.as_str());
    let svc = match action {
        "rollback" => target.split('/').next().map(str::to_string),
        "flag.off" | "flag.on" => snap
            .flags
            .iter()
            .find(|f| f.key.as_str() == target)
            .and_then(|f| opt_text(&f.service).map(str::to_string)),
        a if a.starts_with("incident.") => snap
            .incidents
            .iter()
            .find(|i| i.id.as_str() == target)
            .and_then(|i| opt_text(&i.service).map(str::to_string)),
        "watch" => r
            .detail
            .get("service")
            .and_then(|v| v.as_str())
            .map(str::to_string),
        "silence.create" => target.split(',').find_map(|m| {
            m.strip_prefix("service=")
                .map(|v| v.trim_matches('"').to_string())
        }),
        _ => None,
    };
    svc.filter(|s| !s.trim().is_empty())
        .map(|s| SafeText::line(&s))
}

fn record_event(r: &Record, at: Time, snap: &Snapshot) -> Event {
    let actor = SafeText::line(&r.actor);
    let target = SafeText::line(&r.target);
    let reason = SafeText::line(&r.reason);
    let why = if reason.is_empty() {
        String::new()
    } else {
        format!(" (reason: {reason})")
    };
    let ok = r.outcome == Outcome::Ok;
    let (kind, summary) = match r.action.as_str() {
        "flag.off" | "flag.on" if ok => (
            EventKind::Flag,
            format!(
                "flag {target} turned {} by {actor}{why}",
                on_off(r.action == "flag.on")
            ),
        ),
        "incident.ack" if ok => (
            EventKind::Incident,
            format!("{target} acknowledged by {actor}{why}"),
        ),
        "incident.resolve" if ok => (
            EventKind::Incident,
            format!("{target} resolved by {actor}{why}"),
        ),
        "silence.create" if ok => (
            EventKind::Silence,
            format!("silence {target} created by {actor}{why}"),
        ),
        "watch" => (
            EventKind::Action,
            format!("watch after action on {target} by {actor}: {reason}"),
        ),
        action => {
            let msg = r
                .detail
                .get("message")
                .and_then(|m| m.as_str())
                .filter(|m| ok && !m.trim().is_empty())
                .map(|m| SafeText::line(m).into_string());
            match msg {
                Some(m) => (EventKind::Action, format!("{m} by {actor}{why}")),
                None => (
                    EventKind::Action,
                    format!(
                        "{} {target} by {actor}: {}{why}",
                        SafeText::line(action),
                        r.outcome.as_str()
                    ),
                ),
            }
        }
    };
    Event {
        ts: at,
        kind,
        service: service_of_record(r, snap),
        summary: SafeText::line(&summary),
        provider: Some(SafeText::line(r.provider.as_deref().unwrap_or("sitrep"))),
        reference: Some(SafeText::line(&format!("audit#{}", r.seq))),
        suspect: None,
    }
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

    for d in &snap.deploys {
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
        let Some(at) = f.updated_at else { continue };
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

    for i in &snap.incidents {
        events.push(incident_event(i, snap));
    }

    for r in audit.iter().filter(|r| is_change_record(r)) {
        let Some(at) = record_time(r) else { continue };
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

    events.retain(|e| e.ts >= opts.since);
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
    events.sort_by(|a, b| {
        b.ts.cmp(&a.ts)
            .then(a.kind.cmp(&b.kind))
            .then(a.reference.cmp(&b.reference))
            .then(a.summary.cmp(&b.summary))
    });
}

/// Suspects first (newest first among them), then the rest in order.
pub fn suspects_first(events: &[Event]) -> Vec<Event> {
    let mut v = events.to_vec();
    v.sort_by_key(|e| e.suspect.is_none());
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
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> Time {
        chrono::Utc
            .with_ymd_and_hms(2026, 11, 22, 3, 0, 0)
            .single()
            .unwrap_or_default()
    }

    fn ago(m: i64) -> Time {
        now() - Duration::minutes(m)
    }

    fn deploy(svc: &str, id: &str, mins: i64) -> Deploy {
        Deploy {
            provider: SafeText::line("gh"),
            service: SafeText::line(svc),
            environment: SafeText::line("production"),
            id: SafeText::line(id),
            git_ref: SafeText::line("v1"),
            sha: SafeText::line("abcdef0123"),
            state: DeployState::Success,
            provider_state: SafeText::line("success"),
            created_at: ago(mins),
            creator: Some(SafeText::line("bob")),
            url: None,
            current: true,
            description: None,
        }
    }

    fn incident(svc: &str, id: &str, sev: Severity, mins: i64) -> Incident {
        Incident {
            provider: SafeText::line("pd"),
            id: SafeText::line(id),
            title: SafeText::line("it broke"),
            severity: sev,
            status: IncidentStatus::Triggered,
            service: Some(SafeText::line(svc)),
            created_at: ago(mins),
            url: None,
            assignee: None,
            runbook: None,
        }
    }

    fn flag(key: &str, svc: &str, mins: i64) -> Flag {
        Flag {
            provider: SafeText::line("ld"),
            key: SafeText::line(key),
            name: SafeText::line(key),
            environment: Some(SafeText::line("production")),
            on: true,
            kill_switch: true,
            updated_at: Some(ago(mins)),
            url: None,
            service: Some(SafeText::line(svc)),
        }
    }

    fn record(seq: u64, action: &str, target: &str, mins: i64, outcome: Outcome) -> Record {
        Record {
            action: action.into(),
            actor: "alice".into(),
            detail: serde_json::Value::Null,
            hash: String::new(),
            host: "box".into(),
            idempotency_key: None,
            incident: None,
            outcome,
            phase: Phase::Result,
            prev: String::new(),
            provider: Some("ld".into()),
            reason: "why".into(),
            runbook: None,
            seq,
            target: target.into(),
            ts: ago(mins).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        }
    }

    fn opts() -> Options {
        Options::new(now(), now() - Duration::hours(24))
    }

    fn find<'a>(ev: &'a [Event], r: &str) -> &'a Event {
        ev.iter()
            .find(|e| e.reference.as_ref().map(|x| x.as_str()) == Some(r))
            .unwrap_or_else(|| panic!("no event {r}"))
    }

    #[test]
    fn newest_first_with_slo_state_on_top() {
        let mut snap = Snapshot {
            deploys: vec![deploy("a", "1", 50), deploy("b", "2", 5)],
            incidents: vec![incident("c", "I1", Severity::Sev3, 20)],
            flags: vec![flag("f", "d", 70)],
            ..Default::default()
        };
        let mut burning = crate::providers::demo::World::new(now()).slos;
        burning.retain(|s| s.page_firing());
        assert!(!burning.is_empty());
        snap.slos = burning;
        let recs = vec![record(3, "rollback", "a/production", 1, Outcome::Ok)];
        let ev = build(&snap, &recs, &opts());
        let kinds: Vec<_> = ev.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                EventKind::Slo,
                EventKind::Action,
                EventKind::Deploy,
                EventKind::Incident,
                EventKind::Deploy,
                EventKind::Flag
            ]
        );
        assert!(ev.windows(2).skip(1).all(|w| w[0].ts >= w[1].ts));
        assert_eq!(when(&ev[0], now()), "now");
        assert_eq!(when(&ev[1], now()), "1m ago");
    }

    #[test]
    fn since_leaves_old_events_out_but_same_time_ties_are_stable() {
        let snap = Snapshot {
            deploys: vec![
                deploy("a", "2", 10),
                deploy("a", "1", 10),
                deploy("a", "0", 300),
            ],
            ..Default::default()
        };
        let o = Options::new(now(), now() - Duration::hours(2));
        let ev = build(&snap, &[], &o);
        let refs: Vec<_> = ev
            .iter()
            .filter_map(|e| e.reference.as_ref().map(|r| r.as_str().to_string()))
            .collect();
        assert_eq!(refs, ["gh/1", "gh/2"]);
    }

    #[test]
    fn deploy_shortly_before_an_incident_on_the_same_service_is_suspect() {
        let snap = Snapshot {
            deploys: vec![deploy("checkout", "1893", 11)],
            incidents: vec![incident("checkout", "Q1CHK5XZ01", Severity::Sev1, 7)],
            ..Default::default()
        };
        let ev = build(&snap, &[], &opts());
        let s = find(&ev, "gh/1893").suspect.as_ref().expect("suspect");
        assert_eq!(
            s.reason.as_str(),
            "deployed 4m before SEV1 Q1CHK5XZ01 on checkout"
        );
        assert_eq!(s.incident.as_ref().map(|x| x.as_str()), Some("Q1CHK5XZ01"));
        // The incident itself is no suspect.
        assert!(find(&ev, "pd/Q1CHK5XZ01").suspect.is_none());
    }

    #[test]
    fn other_service_is_not_correlated() {
        let snap = Snapshot {
            deploys: vec![deploy("search", "1", 11)],
            incidents: vec![incident("checkout", "I1", Severity::Sev1, 7)],
            flags: vec![flag("search-x", "search", 10)],
            ..Default::default()
        };
        let ev = build(&snap, &[], &opts());
        assert!(ev.iter().all(|e| e.suspect.is_none()));
    }

    #[test]
    fn outside_the_window_is_not_correlated() {
        let snap = Snapshot {
            deploys: vec![
                deploy("checkout", "old", 45),
                deploy("checkout", "edge", 37),
            ],
            incidents: vec![incident("checkout", "I1", Severity::Sev2, 7)],
            ..Default::default()
        };
        let ev = build(&snap, &[], &opts());
        assert!(find(&ev, "gh/old").suspect.is_none());
        // Exactly the window (30m) still counts.
        assert!(find(&ev, "gh/edge").suspect.is_some());
        // A narrower window leaves it out.
        let ev = build(&snap, &[], &opts().with_window(Duration::minutes(10)));
        assert!(find(&ev, "gh/edge").suspect.is_none());
    }

    #[test]
    fn after_the_incident_is_not_correlated() {
        let snap = Snapshot {
            deploys: vec![deploy("checkout", "late", 3)],
            incidents: vec![incident("checkout", "I1", Severity::Sev1, 7)],
            flags: vec![flag("checkout-x", "checkout", 2)],
            ..Default::default()
        };
        let ev = build(&snap, &[], &opts());
        assert!(ev.iter().all(|e| e.suspect.is_none()), "{ev:#?}");
    }

    #[test]
    fn closest_incident_is_named_then_worst_severity() {
        let snap = Snapshot {
            deploys: vec![deploy("checkout", "1", 20)],
            incidents: vec![
                incident("checkout", "LATER", Severity::Sev1, 5),
                incident("checkout", "SOON3", Severity::Sev3, 15),
                incident("checkout", "SOON2", Severity::Sev2, 15),
            ],
            ..Default::default()
        };
        let ev = build(&snap, &[], &opts());
        let s = find(&ev, "gh/1").suspect.as_ref().expect("suspect");
        assert_eq!(s.incident.as_ref().map(|x| x.as_str()), Some("SOON2"));
    }

    #[test]
    fn flag_flips_from_data_and_audit_are_correlated_and_deduplicated() {
        let snap = Snapshot {
            incidents: vec![incident("checkout", "I1", Severity::Sev1, 7)],
            flags: vec![
                flag("checkout-v3", "checkout", 10),
                flag("checkout-y", "checkout", 12),
            ],
            ..Default::default()
        };
        // An audited flip of checkout-v3 1m after what the provider reports.
        let recs = vec![
            record(1, "flag.off", "checkout-v3", 9, Outcome::Ok),
            record(2, "flag.off", "checkout-y", 9, Outcome::Refused),
        ];
        let ev = build(&snap, &recs, &opts());
        assert!(
            ev.iter()
                .all(|e| e.reference.as_ref().map(|r| r.as_str()) != Some("ld/checkout-v3"))
        );
        let audited = find(&ev, "audit#1");
        assert_eq!(audited.kind, EventKind::Flag);
        assert_eq!(
            audited.suspect.as_ref().map(|s| s.reason.as_str()),
            Some("flag turned off 2m before SEV1 I1 on checkout")
        );
        assert!(audited.summary.as_str().contains("turned OFF by alice"));
        // A refused flip changed nothing: an action, no suspect; the
        // provider's own change of that flag stays.
        let refused = find(&ev, "audit#2");
        assert_eq!(refused.kind, EventKind::Action);
        assert!(refused.suspect.is_none());
        assert!(find(&ev, "ld/checkout-y").suspect.is_some());
    }

    #[test]
    fn burn_rate_rise_marks_recent_changes_on_the_service() {
        let world = crate::providers::demo::World::new(now());
        let slo = world
            .slos
            .iter()
            .find(|s| s.name.as_str() == "checkout-availability")
            .cloned()
            .expect("demo slo");
        assert!(slo.page_firing());
        let snap = Snapshot {
            slos: vec![slo],
            deploys: vec![
                deploy("checkout", "recent", 40),
                deploy("checkout", "old", 100),
                deploy("search", "other", 10),
            ],
            ..Default::default()
        };
        let ev = build(&snap, &[], &opts());
        let s = find(&ev, "gh/recent").suspect.as_ref().expect("suspect");
        assert!(s.incident.is_none());
        assert!(
            s.reason.as_str().starts_with(
                "deployed 40m ago on checkout while SLO checkout-availability burning"
            ),
            "{}",
            s.reason
        );
        assert!(find(&ev, "gh/old").suspect.is_none());
        assert!(find(&ev, "gh/other").suspect.is_none());
    }

    #[test]
    fn changes_during_an_open_incident_are_responses_not_burn_suspects() {
        let world = crate::providers::demo::World::new(now());
        let slo = world
            .slos
            .iter()
            .find(|s| s.name.as_str() == "checkout-availability")
            .cloned()
            .expect("demo slo");
        let snap = Snapshot {
            slos: vec![slo],
            incidents: vec![incident("checkout", "I1", Severity::Sev1, 20)],
            deploys: vec![deploy("checkout", "before", 25)],
            flags: vec![flag("checkout-kill", "checkout", 2)],
            ..Default::default()
        };
        let recs = vec![record(1, "flag.off", "checkout-v3", 1, Outcome::Ok)];
        let ev = build(&snap, &recs, &opts());
        assert!(find(&ev, "gh/before").suspect.is_some());
        assert!(find(&ev, "ld/checkout-kill").suspect.is_none());
        assert!(find(&ev, "audit#1").suspect.is_none());
    }

    #[test]
    fn staging_and_unstarted_deploys_are_not_suspects() {
        let mut staging = deploy("checkout", "stg", 10);
        staging.environment = SafeText::line("staging");
        let mut queued = deploy("checkout", "q", 10);
        queued.state = DeployState::Queued;
        let snap = Snapshot {
            deploys: vec![staging, queued],
            incidents: vec![incident("checkout", "I1", Severity::Sev1, 7)],
            ..Default::default()
        };
        let ev = build(&snap, &[], &opts());
        assert!(ev.iter().all(|e| e.suspect.is_none()));
        // A configured production environment name counts.
        let o = opts().with_production_envs(Some(vec!["staging".into()]));
        assert!(find(&build(&snap, &[], &o), "gh/stg").suspect.is_some());
    }

    #[test]
    fn demo_data_suspects() {
        let w = crate::providers::demo::World::new(now());
        let snap = Snapshot {
            incidents: w.incidents.clone(),
            slos: w.slos.clone(),
            deploys: w.deploys.clone(),
            flags: w.flags.clone(),
            ..Default::default()
        };
        let ev = build(&snap, &[], &Options::new(now(), now() - Duration::hours(2)));
        let s = find(&ev, "gh/1893").suspect.as_ref().expect("suspect");
        assert_eq!(
            s.reason.as_str(),
            "deployed 4m before SEV1 Q1CHK5XZ01 on checkout"
        );
        assert!(find(&ev, "gh/1888").suspect.is_some());
        assert!(find(&ev, "gh/1885").suspect.is_none());
        assert!(find(&ev, "ld/checkout-payments-v3").suspect.is_some());
        assert!(find(&ev, "ld/search-new-analyzer").suspect.is_none());
        // Strings from outside stay sanitized.
        assert!(ev.iter().all(|e| !e.summary.as_str().contains('\u{1b}')));
    }
}
