//! The correlation rule (see the module docs): which incidents, alerts and
//! burn-rate rises a change may have caused, and whether it is a suspect.

use super::{Options, Suspect, opt_text, same_service};
use crate::model::*;
use crate::text::SafeText;
use crate::util;
use chrono::Duration;

/// A change that may be a suspect: its time, service and the verb used in
/// the reason ("deployed", "flag turned off"...).
pub(super) struct Change {
    pub(super) at: Time,
    pub(super) service: String,
    pub(super) verb: String,
}

/// Something a change may have caused.
pub(super) struct Trigger {
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

pub(super) fn triggers(snap: &Snapshot, opts: &Options) -> Vec<Trigger> {
    let mut out = Vec::new();
    // Only the changes since `opts.since` are correlated, and an incident
    // is theirs only if it opened after them.
    for i in snap.incidents.iter().filter(|i| i.created_at >= opts.since) {
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

pub(super) fn correlate(c: &Change, triggers: &[Trigger], opts: &Options) -> Option<Suspect> {
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
