//! One [`Event`] per source: a deploy, a flag change, an incident or alert,
//! an SLO's current state, an audited sitrep action.

use super::{Event, EventKind, is_alert, nonempty, opt_text};
use crate::audit::{Outcome, Record};
use crate::model::*;
use crate::text::SafeText;
use crate::util;

pub(super) fn deploy_event(d: &Deploy) -> Event {
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

pub(super) fn flag_event(f: &Flag, at: Time) -> Event {
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

pub(super) fn incident_event(i: &Incident, snap: &Snapshot) -> Event {
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

pub(super) fn slo_event(s: &Slo, now: Time) -> Option<Event> {
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

pub(super) fn record_event(r: &Record, at: Time, snap: &Snapshot) -> Event {
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
