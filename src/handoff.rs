//! The hand-off report: what the next shift needs, ready to paste into a
//! channel or an incident's notes.
//!
//! Contents (docs/BEYOND.md): open incidents (worst first) with age,
//! severity and owner; actions taken since `since` (audit result records,
//! with who and why; runbook ticks and dry runs are counted, not listed);
//! runbook checklists still open (progress files with unticked items whose
//! incident is open or that were touched since `since`; their texts bound
//! like the walk binds them); SLOs burning (page
//! or ticket alert firing) and gates frozen; what changed (the timeline,
//! suspects first). Building is pure; [`scan_checklists`] reads the
//! progress files.

use crate::audit::{Outcome, Phase, Record};
use crate::config::ServiceConfig;
use crate::model::*;
use crate::runbooks::Runbook;
use crate::runbooks::progress::Progress;
use crate::runbooks::{BindContext, Bindings, Origin, bind};
use crate::text::SafeText;
use crate::timeline::{self, Event};
use crate::util;
use serde::Serialize;
use std::path::Path;

/// Items of the open step listed as "next" in a checklist.
pub const NEXT_ITEMS: usize = 3;
/// Most changes listed in the markdown (suspects always are).
pub const MAX_CHANGES: usize = 25;
/// Progress files larger than this are not read.
const MAX_PROGRESS_FILE: u64 = 256 * 1024;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OpenIncident {
    pub provider: SafeText,
    pub id: SafeText,
    pub severity: Severity,
    pub status: IncidentStatus,
    pub title: SafeText,
    pub service: Option<SafeText>,
    /// The assignee; `null` = nobody owns it.
    pub owner: Option<SafeText>,
    pub created_at: Time,
    pub age_secs: i64,
    pub url: Option<SafeText>,
    pub runbook: Option<SafeText>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ActionTaken {
    pub ts: Time,
    pub seq: u64,
    pub action: SafeText,
    pub target: SafeText,
    pub outcome: &'static str,
    pub actor: SafeText,
    pub reason: SafeText,
    pub incident: Option<SafeText>,
    pub provider: Option<SafeText>,
    /// The provider's message for a successful action.
    pub message: Option<SafeText>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OpenChecklist {
    pub runbook: SafeText,
    pub title: SafeText,
    /// `null` = walked outside an incident.
    pub incident: Option<SafeText>,
    /// Whether that incident is open now (`null` when unknown).
    pub incident_open: Option<bool>,
    pub done: usize,
    pub total: usize,
    pub current_step: u32,
    pub current_step_title: Option<SafeText>,
    /// The first unticked items from the open step on.
    pub next: Vec<SafeText>,
    pub updated_at: Option<Time>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BurningSlo {
    pub name: SafeText,
    pub service: Option<SafeText>,
    /// "page", "ticket" or null (frozen without an alert).
    pub alert: Option<&'static str>,
    pub gate: Gate,
    pub burn_5m: Option<f64>,
    pub burn_1h: Option<f64>,
    pub error_budget_remaining: Option<f64>,
}

/// The report. JSON: this struct (plus `generated_at` and `providers`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Handoff {
    pub generated_at: Time,
    pub providers: Vec<ProviderStatus>,
    pub since: Time,
    pub incidents: Vec<OpenIncident>,
    pub actions: Vec<ActionTaken>,
    /// Runbook ticks in the period (listed as checklists, not actions).
    pub runbook_ticks: usize,
    /// Dry runs in the period (nothing was sent).
    pub dry_runs: usize,
    pub checklists: Vec<OpenChecklist>,
    pub slos: Vec<BurningSlo>,
    /// The timeline since `since`, suspects first.
    pub changes: Vec<Event>,
    /// Things the reader should know (unreadable audit lines, progress files).
    pub warnings: Vec<SafeText>,
}

fn open_incidents(snap: &Snapshot, now: Time) -> Vec<OpenIncident> {
    let mut list: Vec<&Incident> = snap
        .incidents
        .iter()
        .filter(|i| i.status.is_open())
        .collect();
    crate::order::sort_by(&mut list, |a, b| Incident::urgency_cmp(a, b));
    list.into_iter()
        .map(|i| OpenIncident {
            provider: i.provider.clone(),
            id: i.id.clone(),
            severity: i.severity,
            status: i.status,
            title: i.title.clone(),
            service: i.service.clone(),
            owner: i.assignee.clone().filter(|a| !a.is_empty()),
            created_at: i.created_at,
            age_secs: (now - i.created_at).num_seconds().max(0),
            url: i.url.clone(),
            runbook: i.runbook.clone(),
        })
        .collect()
}

fn actions(audit: &[Record], since: Time) -> (Vec<ActionTaken>, usize, usize) {
    let mut out = Vec::new();
    let (mut ticks, mut dry) = (0, 0);
    for r in audit.iter().filter(|r| r.phase == Phase::Result) {
        let Some(ts) = timeline::record_time(r) else {
            continue;
        };
        if ts < since {
            continue;
        }
        if r.action == "runbook.step" {
            ticks += 1;
            continue;
        }
        if r.outcome == Outcome::DryRun {
            dry += 1;
            continue;
        }
        out.push(ActionTaken {
            ts,
            seq: r.seq,
            action: SafeText::line(&r.action),
            target: SafeText::line(&r.target),
            outcome: r.outcome.as_str(),
            actor: SafeText::line(&r.actor),
            reason: SafeText::line(&r.reason),
            incident: r.incident.as_deref().map(SafeText::line),
            provider: r.provider.as_deref().map(SafeText::line),
            message: r
                .detail
                .get("message")
                .and_then(|m| m.as_str())
                .filter(|m| r.outcome == Outcome::Ok && !m.trim().is_empty())
                .map(SafeText::line),
        });
    }
    crate::order::sort_by(&mut out, |a, b| b.ts.cmp(&a.ts).then(b.seq.cmp(&a.seq)));
    (out, ticks, dry)
}

fn burning(snap: &Snapshot) -> Vec<BurningSlo> {
    snap.slos
        .iter()
        .filter(|s| s.page_firing() || s.ticket_firing() || s.gate == Gate::Frozen)
        .map(|s| BurningSlo {
            name: s.name.clone(),
            service: s.service.clone(),
            alert: if s.page_firing() {
                Some("page")
            } else if s.ticket_firing() {
                Some("ticket")
            } else {
                None
            },
            gate: s.gate,
            burn_5m: s.burn_rates.m5,
            burn_1h: s.burn_rates.h1,
            error_budget_remaining: s.error_budget_remaining,
        })
        .collect()
}

/// The placeholder values of one walk, as the walk bound them: the values
/// given for it (kept in its progress), then its incident, the service's
/// `[[service]]` config and what the providers report.
pub fn walk_bindings(p: &Progress, snap: &Snapshot, services: &[ServiceConfig]) -> Bindings {
    let mut b = Bindings::default();
    for (name, value) in &p.given {
        // A value that no longer passes (a hand-edited file) stays unbound.
        let _ = b.set(name, value, Origin::Given);
    }
    let derived = bind::bind(&BindContext {
        incident: p.incident.as_deref(),
        service: b.get("service"),
        env: b.get("env"),
        flag: b.get("flag"),
        explicit: Some(Origin::Given),
        snapshot: Some(snap),
        services,
    });
    b.merge_missing(&derived);
    b
}

/// The checklist state of one walk, if it has unticked items. Item and
/// step texts are bound like the walk binds them; unbound placeholders are
/// written `<UNBOUND:name>`, as `runbook show` does.
pub fn checklist(
    p: &Progress,
    rb: &Runbook,
    snap: &Snapshot,
    services: &[ServiceConfig],
) -> Option<OpenChecklist> {
    let b = walk_bindings(p, snap, services);
    let bound = |t: &str| bind::substitute_marked(t, &b).0;
    let (mut done, mut total) = (0, 0);
    for s in &rb.steps {
        let (d, t) = p.step_counts(rb, s.index);
        done += d;
        total += t;
    }
    if done >= total {
        return None;
    }
    let next: Vec<SafeText> = rb
        .steps
        .iter()
        .filter(|s| s.index >= p.current_step)
        .chain(rb.steps.iter().filter(|s| s.index < p.current_step))
        .flat_map(|s| {
            s.items
                .iter()
                .filter(move |i| !p.is_checked(s.index, i.index))
                .map(move |i| {
                    SafeText::line(&format!(
                        "{}. {}: {}",
                        s.index,
                        bound(s.title.as_str()),
                        bound(i.text.as_str())
                    ))
                })
        })
        .take(NEXT_ITEMS)
        .collect();
    let incident_open = p.incident.as_deref().and_then(|id| {
        snap.incidents
            .iter()
            .find(|i| i.id.as_str() == id)
            .map(|i| i.status.is_open())
    });
    Some(OpenChecklist {
        runbook: rb.id.clone(),
        title: rb.title.clone(),
        incident: p.incident.as_deref().map(SafeText::line),
        incident_open,
        done,
        total,
        current_step: p.current_step,
        current_step_title: rb
            .step(p.current_step)
            .map(|s| SafeText::line(&bound(s.title.as_str()))),
        next,
        updated_at: p.updated_at,
    })
}

/// Read every progress file under `<data dir>/runbooks/progress/` and keep
/// the walks with unticked items whose incident is open now or that were
/// touched since `since`. Unreadable files become warnings.
pub fn scan_checklists(
    data_dir: &Path,
    runbooks: &[Runbook],
    snap: &Snapshot,
    services: &[ServiceConfig],
    since: Time,
) -> (Vec<OpenChecklist>, Vec<SafeText>) {
    use std::io::Read;
    let root = data_dir.join("runbooks").join("progress");
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    let Ok(dirs) = std::fs::read_dir(&root) else {
        return (out, warnings);
    };
    let mut files: Vec<std::path::PathBuf> = dirs
        .flatten()
        .filter(|d| d.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|d| std::fs::read_dir(d.path()).ok())
        .flat_map(|rd| rd.flatten().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| !n.to_string_lossy().starts_with('.'))
        })
        .collect();
    crate::order::sort(&mut files);
    for path in files {
        let shown = SafeText::line(&path.display().to_string());
        let mut buf = Vec::new();
        let read = std::fs::File::open(&path)
            .and_then(|f| f.take(MAX_PROGRESS_FILE).read_to_end(&mut buf));
        if let Err(e) = read {
            warnings.push(SafeText::line(&format!("{shown}: {e}")));
            continue;
        }
        let p: Progress = match serde_json::from_slice(&buf) {
            Ok(p) => p,
            Err(e) => {
                warnings.push(SafeText::line(&format!(
                    "{shown}: corrupt progress file: {e}"
                )));
                continue;
            }
        };
        let Some(rb) = runbooks.iter().find(|r| r.id.as_str() == p.runbook) else {
            continue;
        };
        let Some(c) = checklist(&p, rb, snap, services) else {
            continue;
        };
        let recent = c.updated_at.is_some_and(|t| t >= since);
        if c.incident_open == Some(true) || recent {
            out.push(c);
        }
    }
    crate::order::sort_by(&mut out, |a, b| {
        b.incident_open
            .cmp(&a.incident_open)
            .then(b.updated_at.cmp(&a.updated_at))
            .then(a.runbook.cmp(&b.runbook))
            .then(a.incident.cmp(&b.incident))
    });
    (out, warnings)
}

/// Build the report.
pub fn build(
    snap: &Snapshot,
    audit: &[Record],
    checklists: Vec<OpenChecklist>,
    opts: &timeline::Options,
) -> Handoff {
    let now = opts.now;
    let (actions, runbook_ticks, dry_runs) = actions(audit, opts.since);
    let events = timeline::build(snap, audit, opts);
    Handoff {
        generated_at: now,
        providers: snap.providers.clone(),
        since: opts.since,
        incidents: open_incidents(snap, now),
        actions,
        runbook_ticks,
        dry_runs,
        checklists,
        slos: burning(snap),
        changes: timeline::suspects_first(&events),
        warnings: Vec::new(),
    }
}

/// Text from outside, made inert for markdown: characters that format,
/// link, quote code or mention are backslash-escaped: `\`, backtick, `*`,
/// `[`, `]`, `<`, `~` always; `_` unless inside a word (`in_progress`);
/// `@` unless inside a word (`alice@example.com` stays, `@here` does not).
/// Our own lines never start with outside text, so `#` and `>` cannot
/// start a heading or a quote. The text is already sanitized (single
/// line, no escape sequences).
pub fn md(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        let prev = i > 0 && chars[i - 1].is_alphanumeric();
        let next = chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
        let escape = match c {
            '\\' | '`' | '*' | '[' | ']' | '<' | '~' => true,
            '_' => !(prev && next),
            '@' => !prev,
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn mdo(s: &Option<SafeText>) -> Option<String> {
    s.as_ref().filter(|x| !x.is_empty()).map(|x| md(x.as_str()))
}

fn hhmm(t: Time) -> String {
    t.format("%H:%M UTC").to_string()
}

/// The report as markdown: headings, bullet lists, no terminal escapes.
pub fn markdown(h: &Handoff) -> String {
    let now = h.generated_at;
    let mut o = String::new();
    o.push_str(&format!(
        "## Hand-off {} (last {})\n",
        h.generated_at.format("%Y-%m-%d %H:%M UTC"),
        util::span((now - h.since).num_seconds())
    ));

    o.push_str(&format!("\n### Open incidents ({})\n", h.incidents.len()));
    if h.incidents.is_empty() {
        o.push_str("- none\n");
    }
    for i in &h.incidents {
        let mut line = format!(
            "- **{}** {}/{}",
            i.severity,
            md(i.provider.as_str()),
            md(i.id.as_str())
        );
        if let Some(s) = mdo(&i.service) {
            line.push_str(&format!(" on {s}"));
        }
        line.push_str(&format!(
            ", {}, open {}, owner: {}: {}",
            i.status.label(),
            util::span(i.age_secs),
            mdo(&i.owner).unwrap_or_else(|| "**unassigned**".into()),
            md(i.title.as_str())
        ));
        if let Some(r) = mdo(&i.runbook) {
            line.push_str(&format!(" (runbook: {r})"));
        }
        o.push_str(&line);
        o.push('\n');
    }

    o.push_str(&format!("\n### Actions taken ({})\n", h.actions.len()));
    if h.actions.is_empty() {
        o.push_str("- none\n");
    }
    for a in &h.actions {
        let watch = a.action.as_str() == "watch";
        let what = match &a.message {
            Some(m) => md(m.as_str()),
            None if watch => format!(
                "watch after {}: {}",
                md(a.target.as_str()),
                md(a.reason.as_str())
            ),
            None => format!("{} {}", md(a.action.as_str()), md(a.target.as_str())),
        };
        let mut line = format!("- {} {}: {what}", hhmm(a.ts), md(a.actor.as_str()));
        if a.outcome != "ok" {
            line.push_str(&format!(" (**{}**)", a.outcome));
        }
        if !a.reason.is_empty() && !watch {
            line.push_str(&format!(", why: {}", md(a.reason.as_str())));
        }
        if let Some(i) = mdo(&a.incident)
            && i != md(a.target.as_str())
        {
            line.push_str(&format!(" (incident {i})"));
        }
        o.push_str(&line);
        o.push('\n');
    }
    if h.runbook_ticks + h.dry_runs > 0 {
        o.push_str(&format!(
            "- also {} runbook tick(s) and {} dry run(s)\n",
            h.runbook_ticks, h.dry_runs
        ));
    }

    o.push_str(&format!(
        "\n### Runbook checklists still open ({})\n",
        h.checklists.len()
    ));
    if h.checklists.is_empty() {
        o.push_str("- none\n");
    }
    for c in &h.checklists {
        let mut line = format!("- {} ({})", md(c.runbook.as_str()), md(c.title.as_str()));
        match (&c.incident, c.incident_open) {
            (Some(i), Some(false)) => line.push_str(&format!(" for {} (resolved)", md(i.as_str()))),
            (Some(i), _) => line.push_str(&format!(" for {}", md(i.as_str()))),
            (None, _) => line.push_str(" outside an incident"),
        }
        line.push_str(&format!(
            ": {}/{} items done, at step {}",
            c.done, c.total, c.current_step
        ));
        if let Some(t) = mdo(&c.current_step_title) {
            line.push_str(&format!(" ({t})"));
        }
        o.push_str(&line);
        o.push('\n');
        for n in &c.next {
            o.push_str(&format!("  - [ ] {}\n", md(n.as_str())));
        }
    }

    o.push_str(&format!(
        "\n### SLOs burning and gates frozen ({})\n",
        h.slos.len()
    ));
    if h.slos.is_empty() {
        o.push_str("- none\n");
    }
    for s in &h.slos {
        let mut line = format!("- {}", md(s.name.as_str()));
        if let Some(svc) = mdo(&s.service) {
            line.push_str(&format!(" ({svc})"));
        }
        let mut state = Vec::new();
        if let Some(a) = s.alert {
            state.push(format!("**{}** alert firing", a.to_uppercase()));
        }
        if s.gate == Gate::Frozen {
            state.push("deploy gate **FROZEN**".into());
        }
        line.push_str(&format!(
            ": {}; burn 5m {}, 1h {}; {}",
            state.join(", "),
            util::burn(s.burn_5m),
            util::burn(s.burn_1h),
            timeline::budget_text(s.error_budget_remaining)
        ));
        o.push_str(&line);
        o.push('\n');
    }

    let changes: Vec<&Event> = h.changes.iter().filter(|e| !e.is_current()).collect();
    let suspects = changes.iter().filter(|e| e.suspect.is_some()).count();
    o.push_str(&format!(
        "\n### What changed ({}, {} suspect)\n",
        changes.len(),
        suspects
    ));
    if changes.is_empty() {
        o.push_str("- nothing\n");
    }
    let shown = MAX_CHANGES.max(suspects);
    for e in changes.iter().take(shown) {
        let mut line = String::from("- ");
        if e.suspect.is_some() {
            line.push_str("**SUSPECT** ");
        }
        line.push_str(&format!("{} {}", timeline::when(e, now), e.kind.label()));
        if let Some(s) = mdo(&e.service) {
            line.push_str(&format!(" {s}"));
        }
        line.push_str(&format!(": {}", md(e.summary.as_str())));
        if let Some(s) = &e.suspect {
            line.push_str(&format!(" (**{}**)", md(s.reason.as_str())));
        }
        o.push_str(&line);
        o.push('\n');
    }
    if changes.len() > shown {
        o.push_str(&format!(
            "- and {} older change(s): `sitrep timeline`\n",
            changes.len() - shown
        ));
    }

    let problems: Vec<String> = h
        .providers
        .iter()
        .filter_map(|p| {
            p.error
                .as_ref()
                .map(|e| format!("- {}: {}", md(p.name.as_str()), md(e.as_str())))
                .or_else(|| {
                    p.stale
                        .then(|| format!("- {}: cached data", md(p.name.as_str())))
                })
        })
        .chain(h.warnings.iter().map(|w| format!("- {}", md(w.as_str()))))
        .collect();
    if !problems.is_empty() {
        o.push_str("\n### Data gaps\n");
        for p in problems {
            o.push_str(&p);
            o.push('\n');
        }
    }
    SafeText::block(&o).into_string()
}

/// The report as a JSON value.
pub fn to_json(h: &Handoff) -> serde_json::Value {
    serde_json::to_value(h).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn now() -> Time {
        chrono::Utc
            .with_ymd_and_hms(2026, 11, 22, 3, 4, 5)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn md_escapes_formatting_and_mentions() {
        assert_eq!(
            md("a*b [x](y) <!here> @channel `rm` _em_ ~s~ \\"),
            "a\\*b \\[x\\](y) \\<!here> \\@channel \\`rm\\` \\_em\\_ \\~s\\~ \\\\"
        );
        assert_eq!(
            md("in_progress by alice@example.com -> 1.2 #3"),
            "in_progress by alice@example.com -> 1.2 #3"
        );
    }

    #[test]
    fn empty_report_says_none_everywhere() {
        let snap = Snapshot::default();
        let o = timeline::Options::new(now(), now() - Duration::hours(12));
        let h = build(&snap, &[], vec![], &o);
        let m = markdown(&h);
        assert!(m.starts_with("## Hand-off 2026-11-22 03:04 UTC (last 12h)\n"));
        assert_eq!(m.matches("- none\n").count(), 4, "{m}");
        assert!(m.contains("- nothing\n"));
        assert!(!m.contains('\u{1b}'));
    }

    #[test]
    fn hostile_titles_stay_inert() {
        let w = crate::sim::demo::snapshot_blocking(now()).unwrap_or_else(|e| panic!("{e}"));
        let mut snap = Snapshot {
            incidents: w.incidents.clone(),
            ..Default::default()
        };
        snap.incidents[0].title = SafeText::line(
            "x\u{1b}]8;;http://evil\u{7}click\u{1b}]8;;\u{7} [a](http://b) @here\n## fake",
        );
        let o = timeline::Options::new(now(), now() - Duration::hours(12));
        let m = markdown(&build(&snap, &[], vec![], &o));
        assert!(!m.contains('\u{1b}') && !m.contains('\u{7}'));
        assert!(m.contains("\\[a\\](http://b) \\@here ## fake"), "{m}");
        assert!(!m.lines().any(|l| l.starts_with("## fake")));
    }

    #[test]
    fn checklists_from_progress_files() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let cat = crate::runbooks::Catalog::bundled();
        let w = crate::sim::demo::snapshot_blocking(now()).unwrap_or_else(|e| panic!("{e}"));
        let snap = Snapshot {
            incidents: w.incidents.clone(),
            ..Default::default()
        };
        // An open walk for an open incident, a finished one, an old one
        // outside an incident, a corrupt file.
        let rb = cat
            .get("rollback")
            .cloned()
            .unwrap_or_else(|| panic!("rollback"));
        let mut p = Progress::new("rollback", Some("Q1CHK5XZ01"));
        p.toggle(1, 0);
        p.current_step = 2;
        p.save(dir.path(), now()).unwrap_or_else(|e| panic!("{e}"));
        let mut full = Progress::new("rollback", Some("Q1PAY7LAG2"));
        for s in &rb.steps {
            for i in &s.items {
                full.toggle(s.index, i.index);
            }
        }
        full.save(dir.path(), now())
            .unwrap_or_else(|e| panic!("{e}"));
        let mut old = Progress::new("db-failover", None);
        old.save(dir.path(), now() - Duration::days(3))
            .unwrap_or_else(|e| panic!("{e}"));
        let bad = Progress::path_for(dir.path(), "kill-switch", None);
        std::fs::create_dir_all(bad.parent().unwrap_or(dir.path()))
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&bad, "{nope").unwrap_or_else(|e| panic!("{e}"));
        let (list, warn) = scan_checklists(
            dir.path(),
            &cat.runbooks,
            &snap,
            &[],
            now() - Duration::hours(12),
        );
        assert_eq!(list.len(), 1, "{list:#?}");
        let c = &list[0];
        assert_eq!(c.runbook.as_str(), "rollback");
        assert_eq!(c.incident.as_ref().map(|x| x.as_str()), Some("Q1CHK5XZ01"));
        assert_eq!(c.incident_open, Some(true));
        assert_eq!(c.done, 1);
        assert!(c.total > 1);
        assert_eq!(c.current_step, 2);
        assert!(c.next.len() <= NEXT_ITEMS && !c.next.is_empty());
        assert!(c.next[0].as_str().starts_with("2. "), "{:?}", c.next);
        assert_eq!(warn.len(), 1);
        assert!(warn[0].as_str().contains("corrupt"));
    }

    #[test]
    fn checklist_items_are_bound_like_the_walk() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let cat = crate::runbooks::Catalog::bundled();
        let w = crate::sim::demo::snapshot_blocking(now()).unwrap_or_else(|e| panic!("{e}"));
        let snap = Snapshot {
            incidents: w.incidents.clone(),
            ..Default::default()
        };
        // Walked for the payments incident: {service} from the incident,
        // {deploy_ref} unknown (no deploys reported) and marked.
        let mut p = Progress::new("rollback", Some("Q1PAY7LAG2"));
        p.toggle(1, 0);
        p.save(dir.path(), now()).unwrap_or_else(|e| panic!("{e}"));
        // Walked outside an incident for a service the responder chose.
        let mut q = Progress::new("kill-switch", None);
        q.given.insert("service".into(), "search".into());
        q.save(dir.path(), now()).unwrap_or_else(|e| panic!("{e}"));
        let (list, warn) = scan_checklists(
            dir.path(),
            &cat.runbooks,
            &snap,
            &[],
            now() - Duration::hours(12),
        );
        assert!(warn.is_empty(), "{warn:?}");
        let find = |id: &str| {
            list.iter()
                .find(|c| c.runbook.as_str() == id)
                .unwrap_or_else(|| panic!("no {id} in {list:#?}"))
        };
        let rb = find("rollback");
        let next: Vec<&str> = rb.next.iter().map(|n| n.as_str()).collect();
        assert!(
            next.iter()
                .any(|n| n.contains("the burn of payments starts")),
            "{next:?}"
        );
        assert!(
            next.iter()
                .any(|n| n.contains("bad ref (<UNBOUND:deploy_ref>)")),
            "{next:?}"
        );
        assert!(!next.iter().any(|n| n.contains("{service}")), "{next:?}");
        let ks = find("kill-switch");
        assert!(
            ks.next
                .iter()
                .any(|n| n.as_str().contains("filtered by search:")),
            "{:?}",
            ks.next
        );
        // The markdown keeps the marker inert and the bound value.
        let o = timeline::Options::new(now(), now() - Duration::hours(12));
        let m = markdown(&build(&snap, &[], list.clone(), &o));
        assert!(m.contains("the burn of payments starts"), "{m}");
        assert!(m.contains("bad ref (\\<UNBOUND:deploy_ref>)"), "{m}");
        assert!(!m.contains("{service}"), "{m}");
    }
}
