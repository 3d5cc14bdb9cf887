//! `sitrep runbook list [--json]` and `sitrep runbook show NAME`: offline,
//! no provider, no network; a missing or broken config only warns.

use super::{exit, print};
use crate::app::AppContext;
use crate::model::Time;
use crate::present as render;
use crate::runbooks::check::CheckOptions;
use crate::runbooks::{BindContext, Bindings, Catalog, Detail, Origin};
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

pub async fn run(ctx: &AppContext, cmd: &super::RunbookCmd) -> i32 {
    match cmd {
        super::RunbookCmd::List { json } => list(ctx, *json),
        super::RunbookCmd::Show {
            name,
            incident,
            service,
            env,
        } => {
            let binding = incident.is_some() || service.is_some() || env.is_some();
            let bindings = if binding {
                let snap = offline_snapshot(ctx).await;
                let services = ctx.config().map(|c| c.service).unwrap_or_default();
                Some(crate::runbooks::bind::bind(&BindContext {
                    incident: incident.as_deref(),
                    service: service.as_deref(),
                    env: env.as_deref(),
                    flag: None,
                    explicit: Some(Origin::Given),
                    snapshot: snap.as_ref(),
                    services: &services,
                }))
            } else {
                None
            };
            show(ctx, name, bindings.as_ref())
        }
        super::RunbookCmd::Check { paths, today } => {
            // The global `--config`, only when named explicitly.
            let config = ctx.paths.config_explicit.then(|| ctx.paths.config.clone());
            check(ctx, paths, config.as_deref(), today.as_deref())
        }
    }
}

/// What the providers last reported, without the network: the demo's
/// world under `--demo`, else the offline cache (none without a config).
async fn offline_snapshot(ctx: &AppContext) -> Option<crate::model::Snapshot> {
    if ctx.opts.demo {
        return match ctx.load_store_unsaved().await {
            Ok((store, _, _)) => Some(store.snapshot(ctx.now)),
            Err(_) => None,
        };
    }
    let (reg, _) = ctx.registry().ok()?;
    let cache = ctx.cache()?;
    let mut store = crate::store::Store::new(&reg);
    store.load_cache(&cache);
    Some(store.snapshot(ctx.now))
}

/// `runbook check`: exit 0 clean, 1 on faults, 2 on usage errors.
fn check(
    ctx: &AppContext,
    paths: &[std::path::PathBuf],
    config: Option<&std::path::Path>,
    today: Option<&str>,
) -> i32 {
    let today = match today {
        None => ctx.now.date_naive(),
        Some(t) => match chrono::NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d") {
            Ok(d) => d,
            Err(_) => {
                eprintln!(
                    "sitrep: --today {:?} is not a date (YYYY-MM-DD)",
                    SafeText::line(t).as_str()
                );
                return exit::USAGE;
            }
        },
    };
    let cfg = match config {
        None => None,
        Some(p) => match crate::config::load(p) {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("sitrep: {}", SafeText::line(&e.to_string()).as_str());
                return exit::USAGE;
            }
        },
    };
    let opts = CheckOptions {
        today,
        config: cfg.as_ref(),
    };
    let report = if paths.is_empty() {
        crate::runbooks::check::check_bundled(&opts)
    } else {
        crate::runbooks::check::check_paths(paths, &opts)
    };
    for f in &report.faults {
        println!("{}", SafeText::line(&f.to_string()).as_str());
    }
    if report.faults.is_empty() {
        eprintln!("sitrep: {} runbook(s) checked, no fault", report.files);
        exit::OK
    } else {
        eprintln!(
            "sitrep: {} runbook(s) checked, {} fault(s)",
            report.files,
            report.faults.len()
        );
        exit::PARTIAL
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

/// `rb` with its placeholders bound (unbound ones written
/// `<UNBOUND:name>`), and a preamble line naming every value and where it
/// came from.
pub fn bound_runbook(rb: &crate::runbooks::Runbook, b: &Bindings) -> crate::runbooks::Runbook {
    let mut out = rb.clone();
    let (body, unbound) = crate::runbooks::bind::substitute_marked(rb.body.as_str(), b);
    let mut head = String::from("> Bound: ");
    let vals: Vec<String> = b
        .iter()
        .map(|(k, v, o)| format!("`{{{k}}}` = `{v}` ({})", o.label()))
        .collect();
    head.push_str(&if vals.is_empty() {
        "nothing".to_string()
    } else {
        vals.join(", ")
    });
    if !unbound.is_empty() {
        let names: Vec<String> = unbound.iter().map(|n| format!("`{{{n}}}`")).collect();
        head.push_str(&format!(
            ". **Unbound** (shown `<UNBOUND:name>`; actions naming them cannot run): {}",
            names.join(", ")
        ));
    }
    head.push_str("\n\n");
    head.push_str(&body);
    out.body = SafeText::block(&head);
    out
}

fn show(ctx: &AppContext, name: &str, bindings: Option<&Bindings>) -> i32 {
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
    match bindings {
        Some(b) => print(&render::render_plain(
            &bound_runbook(rb, b),
            SHOW_WIDTH,
            ctx.now,
        )),
        None => print(&render::render_plain(rb, SHOW_WIDTH, ctx.now)),
    }
    exit::OK
}
