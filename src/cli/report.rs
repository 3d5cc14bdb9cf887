//! `sitrep timeline [--since 2h] [--window 30m] [--json]` and
//! `sitrep handoff [--since 12h] [--markdown|--json] [--post-note INCIDENT]`.

use super::{WriteFlags, exit, print};
use crate::actions::ActionRequest;
use crate::app::AppContext;
use crate::audit::Record;
use crate::config::Config;
use crate::handoff;
use crate::model::{Snapshot, Time};
use crate::ops::WriteOp;
use crate::text::SafeText;
use crate::timeline::{self, Event};
use crate::util;

fn fail(msg: impl std::fmt::Display) -> i32 {
    eprintln!("sitrep: {}", SafeText::line(&msg.to_string()));
    exit::USAGE
}

/// A duration flag such as `2h` or `30m`.
pub fn parse_span(flag: &str, s: &str) -> Result<chrono::Duration, String> {
    match humantime::parse_duration(s.trim()) {
        Ok(d) if d.as_secs() > 0 => {
            chrono::Duration::from_std(d).map_err(|_| format!("{flag} {s:?} is too long"))
        }
        _ => Err(format!("{flag} {s:?} is not a duration like 30m or 2h")),
    }
}

/// The audit records and the config that locates them (a broken or
/// missing log only warns: the report still helps).
async fn audit_records(ctx: &AppContext) -> (Vec<Record>, Config, Vec<SafeText>) {
    let mut warnings = Vec::new();
    let cfg = match super::actions::action_config(ctx) {
        Ok(c) => c,
        Err(e) => {
            warnings.push(SafeText::line(&format!(
                "config not read, default audit log used: {e}"
            )));
            Config::default()
        }
    };
    let recs = match super::audit::records_for(ctx, &cfg, None).await {
        Ok((mut r, bad)) => {
            // A demo record belongs to the demo alone, wherever it is read.
            r.retain(|r| r.demo == ctx.opts.demo);
            if bad > 0 {
                warnings.push(SafeText::line(&format!(
                    "{bad} audit line(s) could not be read; run `sitrep audit verify`"
                )));
            }
            r
        }
        Err(e) => {
            warnings.push(SafeText::line(&format!("audit log not read: {e}")));
            Vec::new()
        }
    };
    (recs, cfg, warnings)
}

fn provider_notes(snap: &Snapshot) -> String {
    let mut out = String::new();
    for p in &snap.providers {
        if let Some(e) = &p.error {
            out.push_str(&format!("! {e}\n"));
        } else if p.stale {
            out.push_str(&format!("! {}: showing cached data\n", p.name));
        }
    }
    out
}

/// The human table of the timeline.
pub fn timeline_table(events: &[Event], now: Time) -> String {
    if events.is_empty() {
        return "no changes in this period\n".into();
    }
    let mut t = super::output::Table::new(vec!["WHEN", "KIND", "SERVICE", "REF", "WHAT"])
        .cap(2, 16)
        .cap(3, 32)
        .cap(4, 200);
    for e in events {
        let mut what = e.summary.as_str().to_string();
        if let Some(s) = &e.suspect {
            what = format!("SUSPECT: {} | {what}", s.reason);
        }
        t.row(vec![
            timeline::when(e, now),
            e.kind.label().to_string(),
            e.service
                .as_ref()
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|| "-".into()),
            e.reference
                .as_ref()
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|| "-".into()),
            what,
        ]);
    }
    t.render()
}

/// The `timeline --json` document.
pub fn timeline_json(
    snap: &Snapshot,
    since: Time,
    window: &str,
    events: &[Event],
) -> serde_json::Value {
    serde_json::json!({
        "generated_at": snap.generated_at,
        "providers": snap.providers,
        "since": since,
        "window": window,
        "events": events,
    })
}

/// `sitrep timeline`.
pub async fn timeline(ctx: &AppContext, since: &str, window: &str, json: bool) -> i32 {
    let (since_d, window_d) = match (parse_span("--since", since), parse_span("--window", window)) {
        (Ok(s), Ok(w)) => (s, w),
        (Err(e), _) | (_, Err(e)) => return fail(e),
    };
    let (store, _) = match ctx.load_store().await {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let snap = store.snapshot(ctx.now);
    let (recs, cfg, warnings) = audit_records(ctx).await;
    let since_t = ctx.now - since_d;
    let opts = timeline::Options::new(ctx.now, since_t)
        .with_window(window_d)
        .with_production_envs(cfg.production_environments.clone());
    let events = timeline::build(&snap, &recs, &opts);
    let out = if json {
        match super::output::to_json(&timeline_json(&snap, since_t, window.trim(), &events)) {
            Ok(s) => s,
            Err(e) => return fail(e),
        }
    } else {
        let mut s = format!(
            "what changed in the last {} (suspect: a deploy or flag flip up to {} before an incident or burn-rate rise on its service)\n",
            util::span(since_d.num_seconds()),
            util::span(window_d.num_seconds())
        );
        s.push_str(&timeline_table(&events, ctx.now));
        s.push_str(&provider_notes(&snap));
        s
    };
    print(&out);
    for w in warnings {
        eprintln!("sitrep: warning: {w}");
    }
    super::partial(&store)
}

/// Everything `handoff` needs, built from the live data (shared with tests).
pub async fn build_handoff(
    ctx: &AppContext,
    since: chrono::Duration,
    window: chrono::Duration,
) -> Result<(handoff::Handoff, crate::store::Store), String> {
    let (store, cfg) = ctx.load_store().await?;
    let mut snap = store.snapshot(ctx.now);
    let (catalog, warning) = ctx.catalog(crate::runbooks::Detail::Full);
    crate::runbooks::link_incidents(&mut snap.incidents, &cfg.service, &catalog.runbooks);
    let (recs, acfg, mut warnings) = audit_records(ctx).await;
    warnings.extend(warning);
    let since_t = ctx.now - since;
    let (checklists, w) = handoff::scan_checklists(
        &ctx.paths.data_dir,
        &catalog.runbooks,
        &snap,
        &cfg.service,
        since_t,
    );
    warnings.extend(w);
    let opts = timeline::Options::new(ctx.now, since_t)
        .with_window(window)
        .with_production_envs(acfg.production_environments.clone());
    let mut h = handoff::build(&snap, &recs, checklists, &opts);
    h.warnings.extend(warnings);
    Ok((h, store))
}

/// Longest hand-off note posted to an incident, in bytes.
pub const NOTE_CAP: usize = 24_000;

/// The report as a note: cut at a line end under [`NOTE_CAP`] with a
/// pointer to the full report.
pub fn note_text(md: &str) -> String {
    if md.len() <= NOTE_CAP {
        return md.to_string();
    }
    let mut cut = NOTE_CAP - 100;
    while !md.is_char_boundary(cut) {
        cut -= 1;
    }
    let cut = md[..cut].rfind('\n').map(|i| i + 1).unwrap_or(cut);
    format!(
        "{}- (report cut here; run `sitrep handoff` for the rest)\n",
        &md[..cut]
    )
}

/// What `handoff` was asked for.
pub struct HandoffArgs<'a> {
    pub since: &'a str,
    pub window: &'a str,
    pub json: bool,
    pub post_note: Option<&'a str>,
    pub provider: Option<&'a str>,
    pub write: &'a WriteFlags,
}

/// `sitrep handoff`.
pub async fn handoff(ctx: &AppContext, a: HandoffArgs<'_>) -> i32 {
    let (since_d, window_d) = match (
        parse_span("--since", a.since),
        parse_span("--window", a.window),
    ) {
        (Ok(s), Ok(w)) => (s, w),
        (Err(e), _) | (_, Err(e)) => return fail(e),
    };
    let (h, store) = match build_handoff(ctx, since_d, window_d).await {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    if let Some(id) = a.post_note {
        // The note goes through the audited executor like `incident note`.
        let req = ActionRequest {
            op: WriteOp::IncidentNote {
                provider: a.provider.map(str::to_string),
                id: id.to_string(),
                text: note_text(&handoff::markdown(&h)),
            },
            reason: "hand-off report".into(),
            incident: a.write.incident.clone().or_else(|| Some(id.to_string())),
            runbook: None,
        };
        return super::actions::run_write(ctx, req, a.write).await;
    }
    let out = if a.json {
        match super::output::to_json(&handoff::to_json(&h)) {
            Ok(s) => s,
            Err(e) => return fail(e),
        }
    } else {
        handoff::markdown(&h)
    };
    print(&out);
    super::partial(&store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_notes_are_cut_at_a_line_end() {
        let short = "## Hand-off\n- a\n";
        assert_eq!(note_text(short), short);
        let long = "- é line of the report\n".repeat(2_000);
        let n = note_text(&long);
        assert!(n.len() <= NOTE_CAP);
        assert!(n.ends_with("for the rest)\n"));
        let body = n.trim_end_matches("- (report cut here; run `sitrep handoff` for the rest)\n");
        assert!(body.ends_with("report\n"));
        assert!(parse_span("--since", "2h").is_ok());
        assert!(parse_span("--since", "0s").is_err());
        assert!(parse_span("--since", "soon").is_err());
    }
}
