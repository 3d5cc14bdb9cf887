//! `sitrep runbook list [--json]` and `sitrep runbook show NAME`: offline,
//! no provider, no network; a missing or broken config only warns.

use super::{exit, print};
use crate::app::AppContext;
use crate::model::Time;
use crate::runbooks::{Catalog, Detail, render};
use crate::text::SafeText;

/// Width of `runbook show` output (stable, so output diffs and snapshots).
pub const SHOW_WIDTH: usize = 100;

fn catalog(ctx: &AppContext, detail: Detail) -> Catalog {
    let (cat, warning) = ctx.catalog(detail);
    if let Some(w) = warning {
        eprintln!("sitrep: warning: {w}");
    }
    cat
}

pub fn run(ctx: &AppContext, cmd: &super::RunbookCmd) -> i32 {
    match cmd {
        super::RunbookCmd::List { json } => list(ctx, *json),
        super::RunbookCmd::Show { name } => show(ctx, name),
    }
}

/// The `runbook list --json` document (SPEC §4 runbook objects plus
/// `broken`).
pub fn list_json(cat: &Catalog, now: Time) -> serde_json::Value {
    serde_json::json!({
        "generated_at": now,
        "providers": [],
        "runbooks": cat.runbooks.iter().map(|r| r.to_json(now)).collect::<Vec<_>>(),
        "broken": cat.broken,
    })
}

/// The human `runbook list` table.
pub fn list_table(cat: &Catalog, now: Time) -> String {
    let mut t = super::output::Table::new(vec![
        "ID", "TITLE", "SERVICES", "SEVERITY", "REVIEWED", "STEPS", "SOURCE",
    ])
    .cap(1, 48)
    .cap(2, 24);
    let join = |v: &[SafeText]| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.iter().map(SafeText::as_str).collect::<Vec<_>>().join(",")
        }
    };
    for r in &cat.runbooks {
        let reviewed = match r.last_reviewed {
            Some(d) if r.is_stale(now) => format!("{d} STALE"),
            Some(d) => d.to_string(),
            None => "never STALE".into(),
        };
        t.row(vec![
            r.id.to_string(),
            r.title.to_string(),
            join(&r.services),
            join(&r.severity),
            reviewed,
            r.steps.len().to_string(),
            match r.source {
                crate::runbooks::Source::Bundled => "bundled".to_string(),
                _ => r.path.to_string(),
            },
        ]);
    }
    t.render()
}

fn list(ctx: &AppContext, json: bool) -> i32 {
    let cat = catalog(ctx, Detail::Full);
    let code = if cat.broken.is_empty() {
        exit::OK
    } else {
        exit::PARTIAL
    };
    if json {
        match super::output::to_json(&list_json(&cat, ctx.now)) {
            Ok(s) => print(&s),
            Err(e) => {
                eprintln!("sitrep: {e}");
                return exit::USAGE;
            }
        }
    } else {
        print(&list_table(&cat, ctx.now));
    }
    for b in &cat.broken {
        eprintln!("sitrep: broken runbook: {}", b.error);
    }
    code
}

fn show(ctx: &AppContext, name: &str) -> i32 {
    // Only the text is shown: no steps, no revision.
    let cat = catalog(ctx, Detail::Text);
    let Some(rb) = cat.find(name) else {
        eprintln!(
            "sitrep: no runbook {:?}; known runbooks: {}",
            SafeText::line(name).as_str(),
            cat.ids().join(", ")
        );
        for b in &cat.broken {
            eprintln!("sitrep: broken runbook: {}", b.error);
        }
        return exit::USAGE;
    };
    print(&render::render_plain(rb, SHOW_WIDTH, ctx.now));
    exit::OK
}
