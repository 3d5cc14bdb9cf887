//! The command line (SPEC §2). Read commands share `load_store`; write
//! commands go through the audited executor.

pub mod actions;
mod args;
mod audit;
pub mod config_check;
pub mod output;
pub mod report;
pub mod runbook;
pub mod watch;

use crate::app::AppContext;
use crate::config;
use crate::store::Store;
use std::io::Write;

pub use crate::app::exit;
pub use args::*;

/// `sitrep --version`: the release, the commit and its date (build.rs).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("SITREP_COMMIT"),
    " ",
    env!("SITREP_COMMIT_DATE"),
    ")"
);

fn err(msg: impl std::fmt::Display) -> i32 {
    eprintln!("sitrep: {msg}");
    exit::USAGE
}

/// Print stdout, ignoring a closed pipe (`sitrep incidents | head`).
pub fn print(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes());
    let _ = out.flush();
}

/// Standard output for an answer written as it is made
/// ([`output::Out`]): buffered, and, as with [`print`], a reader that went
/// away (`sitrep incidents --json | head`) is not an error: the rest of the
/// answer is dropped.
struct Answer<W: Write> {
    out: std::io::BufWriter<W>,
    gone: bool,
}

impl<W: Write> Answer<W> {
    fn new(out: W) -> Self {
        Answer {
            out: std::io::BufWriter::with_capacity(64 * 1024, out),
            gone: false,
        }
    }
}

impl<W: Write> Write for Answer<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !self.gone && self.out.write_all(buf).is_err() {
            self.gone = true;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        if !self.gone && self.out.flush().is_err() {
            self.gone = true;
        }
        Ok(())
    }
}

fn partial(store: &Store) -> i32 {
    for s in &store.slots {
        if let Some(e) = &s.error {
            eprintln!(
                "sitrep: {e}{}",
                if s.stale {
                    " (showing cached data)"
                } else {
                    ""
                }
            );
        }
    }
    for w in &store.warnings {
        eprintln!("sitrep: warning: {w}");
    }
    if store.any_failed() {
        exit::PARTIAL
    } else {
        exit::OK
    }
}

/// `incidents --all`: what the providers that can list them resolved in
/// the last `since`. A provider that fails is named on stderr; the open
/// incidents are shown all the same. Returns the incidents and whether any
/// provider failed.
async fn resolved_incidents(
    registry: &crate::providers::Registry,
    now: crate::model::Time,
    since: std::time::Duration,
) -> (Vec<crate::model::Incident>, bool) {
    let from = now - chrono::Duration::from_std(since).unwrap_or(chrono::Duration::hours(24));
    let results = futures::future::join_all(
        registry
            .providers
            .iter()
            .map(|p| async move { (p.name().to_string(), p.resolved_since(from).await) }),
    )
    .await;
    let mut all = Vec::new();
    let mut failed = false;
    for (name, r) in results {
        match r {
            Ok(v) => all.extend(v),
            Err(e) => {
                failed = true;
                eprintln!(
                    "sitrep: {}: resolved incidents not listed: {}",
                    crate::text::SafeText::line(&name),
                    crate::text::SafeText::line(&e.to_string())
                );
            }
        }
    }
    (all, failed)
}

/// Run a read command (the ones that aggregate provider data).
pub async fn run_read(ctx: &AppContext, cmd: &Command) -> i32 {
    let (registry, cfg) = match ctx.registry() {
        Ok(x) => x,
        Err(e) => return err(e),
    };
    let cache = ctx.cache();
    // The runbooks that incidents link to are read on a thread of their
    // own while the pages are fetched, not after them. Linking reads the
    // front matter only: no steps, no revision hash (`Detail::Text`; the
    // same runbooks load or break as with `Full`).
    let catalog = matches!(cmd, Command::Status { .. } | Command::Incidents { .. }).then(|| {
        let (ctx, cfg) = (ctx.clone(), cfg.clone());
        std::thread::spawn(move || ctx.catalog_for(&cfg, crate::runbooks::Detail::Text))
    });
    // `incidents --all` asks for the resolved ones at the same time as the
    // open ones, of the same providers.
    let resolved = async {
        match cmd {
            Command::Incidents {
                all: true, since, ..
            } => resolved_incidents(&registry, ctx.now, *since).await,
            _ => (Vec::new(), false),
        }
    };
    let (store, (resolved, resolved_failed)) = futures::join!(
        Store::fetch_all_unsaved(&registry, cache.as_ref()),
        resolved
    );
    // The providers are done with: their HTTP clients go, and with them
    // the idle connections and each one's read buffer (hundreds of KB a
    // connection after a long list). The connections close on their own
    // tasks: let those run once before the answer is formatted.
    drop(registry);
    tokio::task::yield_now().await;
    // The cache is written (serialized, fsynced, renamed) on a thread of its
    // own while this one formats and prints: the answer does not wait for
    // the disk, and the process exits once both are done.
    std::thread::scope(|sc| {
        if let Some(c) = &cache {
            let store = &store;
            sc.spawn(move || store.save_fresh(c));
        }
        let mut snap = store.snapshot(ctx.now);
        for i in resolved {
            if !snap
                .incidents
                .iter()
                .any(|o| o.provider == i.provider && o.id == i.id)
            {
                snap.incidents.push(i);
            }
        }
        // A thread that died leaves the incidents unlinked, not the answer.
        if let Some(Ok(catalog)) = catalog.map(|t| t.join()) {
            crate::runbooks::link_incidents(&mut snap.incidents, &cfg.service, &catalog.runbooks);
        }
        let mut w = Answer::new(std::io::stdout().lock());
        let out = match cmd {
            Command::Status { json } => output::status(&snap, ctx.now, *json, &mut w),
            Command::Incidents {
                json,
                min_severity,
                all,
                ..
            } => output::incidents(&snap, ctx.now, *json, *min_severity, *all, &mut w),
            Command::Oncall { json } => output::oncall(&snap, ctx.now, *json, &mut w),
            Command::Slo { json } => output::slos(&snap, *json, &mut w),
            Command::Deploys { json, service, env } => output::deploys(
                &snap,
                ctx.now,
                *json,
                service.as_deref(),
                env.as_deref(),
                &mut w,
            ),
            Command::Flags { json, filter } => {
                output::flags(&snap, ctx.now, *json, filter.as_deref(), &mut w)
            }
            _ => return err("internal: not a read command"),
        };
        let _ = w.flush();
        drop(w);
        if let Err(e) = out {
            return err(e);
        }
        let code = partial(&store);
        // An SLO in error (a broken spec file, a glob that matches nothing,
        // a rejected query) makes the answer partial (SPEC §2).
        let slo_errors: Vec<_> = if matches!(cmd, Command::Slo { .. } | Command::Status { .. }) {
            snap.slos.iter().filter_map(|s| s.error.as_ref()).collect()
        } else {
            vec![]
        };
        for e in &slo_errors {
            eprintln!("sitrep: SLO error: {e}");
        }
        if snap.no_data() {
            exit::NO_DATA
        } else if code == exit::OK && (!slo_errors.is_empty() || resolved_failed) {
            exit::PARTIAL
        } else {
            code
        }
    })
}

pub fn run_config(ctx: &AppContext, cmd: &ConfigCmd) -> i32 {
    match cmd {
        ConfigCmd::Path => {
            print(&format!("{}\n", ctx.paths.config.display()));
            exit::OK
        }
        ConfigCmd::Check { strict } => {
            if !ctx.paths.config_exists() {
                return err(format!(
                    "{}: no such file (write one with `sitrep config init`)",
                    ctx.paths.config.display()
                ));
            }
            let c = match config::load(&ctx.paths.config) {
                Ok(c) => c,
                Err(e) => return err(e),
            };
            let text = std::fs::read_to_string(&ctx.paths.config).unwrap_or_default();
            let dirs = crate::runbooks::config_dirs(&ctx.paths.config, &c.runbooks);
            let mut report =
                config_check::check(&c, &ctx.paths.config, &text, &dirs, ctx.now.date_naive());
            report.warnings.extend(c.insecure_http_warnings());
            if *strict {
                report.faults.append(&mut report.warnings);
            }
            for w in &report.warnings {
                eprintln!("sitrep: warning: {}", crate::text::SafeText::line(w));
            }
            for f in &report.faults {
                eprintln!("sitrep: {}", crate::text::SafeText::line(f));
            }
            if report.faults.is_empty() {
                print(&format!(
                    "{}: ok ({} providers, {} services, {} SLOs{})\n",
                    ctx.paths.config.display(),
                    c.providers().count(),
                    c.service.len(),
                    c.slo.len(),
                    if report.warnings.is_empty() {
                        String::new()
                    } else {
                        format!(", {} warnings", report.warnings.len())
                    }
                ));
                exit::OK
            } else {
                eprintln!(
                    "sitrep: {}: {} faults",
                    ctx.paths.config.display(),
                    report.faults.len()
                );
                exit::USAGE
            }
        }
        ConfigCmd::Init { force } => {
            let p = &ctx.paths.config;
            if p.exists() && !force {
                return err(format!(
                    "{} already exists (use --force to overwrite)",
                    p.display()
                ));
            }
            if let Some(dir) = p.parent()
                && let Err(e) = std::fs::create_dir_all(dir)
            {
                return err(format!("cannot create {}: {e}", dir.display()));
            }
            match std::fs::write(p, config::EXAMPLE) {
                Ok(()) => {
                    print(&format!(
                        "wrote {}\nedit it, then run `sitrep config check`\n",
                        p.display()
                    ));
                    exit::OK
                }
                Err(e) => err(format!("cannot write {}: {e}", p.display())),
            }
        }
    }
}

pub fn run_theme(ctx: &AppContext, cmd: &ThemeCmd) -> i32 {
    match cmd {
        ThemeCmd::List => {
            let mut s = String::new();
            for n in crate::theme::Theme::names() {
                s.push_str(&format!("{n}\tbundled\n"));
            }
            if let Ok(rd) = std::fs::read_dir(ctx.paths.themes_dir()) {
                let mut user: Vec<_> = rd
                    .flatten()
                    .filter_map(|e| {
                        let p = e.path();
                        (p.extension()? == "toml")
                            .then(|| p.file_stem().map(|s| s.to_string_lossy().to_string()))
                            .flatten()
                    })
                    .collect();
                crate::order::sort(&mut user);
                for n in user {
                    let (_, warn) = crate::theme::Theme::resolve(&n, &ctx.paths.themes_dir());
                    let n = crate::text::SafeText::line(&n);
                    match warn {
                        None => s.push_str(&format!("{n}\tuser\n")),
                        Some(w) => s.push_str(&format!(
                            "{n}\tuser (broken: {})\n",
                            crate::text::SafeText::line(&w)
                        )),
                    }
                }
            }
            print(&s);
            exit::OK
        }
    }
}

pub fn run_completions(shell: clap_complete::Shell) -> i32 {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "sitrep", &mut buf);
    print(&String::from_utf8_lossy(&buf));
    exit::OK
}

/// Dispatch a parsed command line (everything except the TUI).
pub async fn run(ctx: &AppContext, cmd: Command) -> i32 {
    match &cmd {
        Command::Status { .. }
        | Command::Incidents { .. }
        | Command::Oncall { .. }
        | Command::Slo { .. }
        | Command::Deploys { .. }
        | Command::Flags { .. } => run_read(ctx, &cmd).await,
        Command::Config { action } => run_config(ctx, action),
        Command::Theme { action } => run_theme(ctx, action),
        Command::Completions { shell } => run_completions(*shell),
        Command::Incident { action } => actions::incident(ctx, action).await,
        Command::Silence {
            matchers,
            duration,
            reason,
            provider,
            write,
        } => actions::silence(ctx, matchers, duration, reason, provider, write).await,
        Command::Rollback {
            service,
            env,
            to,
            reason,
            provider,
            write,
            watch,
        } => {
            if watch.enabled() {
                watch::rollback(ctx, service, env, to, reason, provider, write, watch).await
            } else {
                actions::rollback(ctx, service, env, to, reason, provider, write).await
            }
        }
        Command::Flag { action } => match action {
            FlagCmd::Off { watch, .. } | FlagCmd::On { watch, .. } if watch.enabled() => {
                watch::flag(ctx, action).await
            }
            _ => actions::flag(ctx, action).await,
        },
        Command::Timeline {
            since,
            window,
            json,
        } => report::timeline(ctx, since, window, *json).await,
        Command::Handoff {
            since,
            window,
            markdown: _,
            json,
            post_note,
            provider,
            write,
        } => {
            report::handoff(
                ctx,
                report::HandoffArgs {
                    since,
                    window,
                    json: *json,
                    post_note: post_note.as_deref(),
                    provider: provider.as_deref(),
                    write,
                },
            )
            .await
        }
        Command::Runbook { action } => runbook::run(ctx, action).await,
        Command::Audit {
            action,
            json,
            limit,
        } => audit::audit(ctx, action.as_ref(), *json, *limit).await,
        Command::Auth { action } => actions::auth(ctx, action),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that went away after `left` bytes.
    struct Gone {
        left: usize,
        got: Vec<u8>,
    }

    impl Write for Gone {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.left == 0 {
                return Err(std::io::ErrorKind::BrokenPipe.into());
            }
            let n = buf.len().min(self.left);
            self.left -= n;
            self.got.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// An answer larger than the buffer, to a reader that leaves after
    /// 100 KB: the writing goes on without error (the command ends as it
    /// would have), and what the reader took is the answer's start.
    #[test]
    fn an_answer_to_a_reader_that_left_is_not_an_error() {
        let text: Vec<u8> = (0..300_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let mut w = Answer::new(Gone {
            left: 100_000,
            got: Vec::new(),
        });
        for part in text.chunks(1000) {
            w.write_all(part).unwrap();
        }
        w.flush().unwrap();
        assert!(w.gone);
        assert_eq!(w.out.get_ref().got, text[..100_000]);
    }
}
