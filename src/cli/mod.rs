//! The command line (SPEC §2). Read commands share `load_store`; write
//! commands go through the audited executor.

pub mod actions;
mod audit;
pub mod config_check;
pub mod output;
pub mod report;
pub mod runbook;
pub mod watch;

use crate::app::AppContext;
use crate::config;
use crate::model::Severity;
use crate::store::Store;
use clap::{Args, Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;

pub use crate::app::exit;

/// `sitrep --version`: the release, the commit and its date (build.rs).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("SITREP_COMMIT"),
    " ",
    env!("SITREP_COMMIT_DATE"),
    ")"
);

#[derive(Parser, Debug)]
#[command(
    name = "sitrep",
    version = VERSION,
    about = "A terminal operations console for on-call engineers",
    long_about = "One screen for incidents, SLO burn, deploys and feature flags, with runbooks and audited actions.\n\nRun `sitrep` for the console, `sitrep --demo` to try it on a simulated company."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Config file [default: <config dir>/config.toml]
    #[arg(
        long,
        global = true,
        env = "SITREP_CONFIG",
        value_name = "PATH",
        help_heading = "Global options"
    )]
    pub config: Option<PathBuf>,
    /// Where the cache, runbook progress and audit log live
    #[arg(
        long,
        global = true,
        env = "SITREP_DATA_DIR",
        value_name = "PATH",
        help_heading = "Global options"
    )]
    pub data_dir: Option<PathBuf>,
    /// A context (team/account): <config dir>/contexts/NAME.toml with its own data dir
    #[arg(
        long,
        global = true,
        env = "SITREP_CONTEXT",
        value_name = "NAME",
        help_heading = "Global options"
    )]
    pub context: Option<String>,
    /// The demo company: the real providers against vendors simulated on this machine (no network, no config needed)
    #[arg(long, global = true, help_heading = "Global options")]
    pub demo: bool,
    /// Refuse every write action
    #[arg(long, global = true, env = "SITREP_READ_ONLY", value_parser = parse_boolish, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", help_heading = "Global options")]
    pub read_only: bool,
    /// Theme name (bundled or user)
    #[arg(
        long,
        global = true,
        env = "SITREP_THEME",
        value_name = "NAME",
        help_heading = "Global options"
    )]
    pub theme: Option<String>,
    /// No colours (also NO_COLOR)
    #[arg(long, global = true, help_heading = "Global options")]
    pub no_color: bool,
    /// More logging to <data dir>/sitrep.log (-v info, -vv debug)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = "Global options")]
    pub verbose: u8,
}

impl From<Global> for crate::app::Options {
    fn from(g: Global) -> Self {
        crate::app::Options {
            config: g.config,
            data_dir: g.data_dir,
            context: g.context,
            demo: g.demo,
            read_only: g.read_only,
            theme: g.theme,
            no_color: g.no_color,
            verbose: g.verbose,
        }
    }
}

fn parse_boolish(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "" | "0" | "false" | "no" | "off" => Ok(false),
        "1" | "true" | "yes" | "on" => Ok(true),
        other => Err(format!("expected 1/0 or true/false, got {other:?}")),
    }
}

/// Flags every write action takes.
#[derive(Args, Debug, Clone, Default)]
pub struct WriteFlags {
    /// Print the exact request that would be sent; send nothing
    #[arg(long, help_heading = "Confirmation")]
    pub dry_run: bool,
    /// Do not ask for confirmation (without a terminal, --yes is required)
    #[arg(long, short = 'y', help_heading = "Confirmation")]
    pub yes: bool,
    /// Required with --yes for actions against production environments
    #[arg(long, help_heading = "Confirmation")]
    pub i_know_this_is_production: bool,
    /// Link the action to an incident in the audit log (provider/id as `sitrep incidents` prints it)
    #[arg(long, value_name = "ID", help_heading = "Audit")]
    pub incident: Option<String>,
    /// Team mode: take over the target's lease from the responder who
    /// holds it (the takeover is recorded)
    #[arg(long)]
    pub take_over: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// One aggregated snapshot of every provider
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Open incidents and firing alerts, worst first
    Incidents {
        #[arg(long)]
        json: bool,
        /// Only this severity or worse (e.g. SEV2)
        #[arg(long, value_name = "SEVn")]
        min_severity: Option<Severity>,
        /// Include resolved incidents (from providers that list them)
        #[arg(long)]
        all: bool,
        /// With --all: how far back resolved incidents go (e.g. 2h, 7d)
        #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = parse_since)]
        since: std::time::Duration,
    },
    /// Incident write actions
    Incident {
        #[command(subcommand)]
        action: IncidentCmd,
    },
    /// Create an Alertmanager silence
    Silence {
        /// label=value (repeatable; =~, != and !~ also work); every matcher must match
        #[arg(
            long = "matcher",
            short = 'm',
            required = true,
            value_name = "MATCHER",
            help_heading = "Target"
        )]
        matchers: Vec<String>,
        /// How long, from now (e.g. 30m, 2h; at most the provider's max_silence, 7d by default)
        #[arg(long, default_value = "1h", help_heading = "Target")]
        duration: String,
        /// The Alertmanager provider (config name), when there is more than one
        #[arg(long, value_name = "NAME", help_heading = "Target")]
        provider: Option<String>,
        /// Why: the silence's comment, and the audit log
        #[arg(long, help_heading = "Audit")]
        reason: String,
        #[command(flatten)]
        write: WriteFlags,
    },
    /// Who is on call now
    Oncall {
        #[arg(long)]
        json: bool,
    },
    /// SLOs with burn rates, error budget, alert state and release gate
    Slo {
        #[arg(long)]
        json: bool,
    },
    /// Deploys per service and environment, newest first
    Deploys {
        #[arg(long)]
        json: bool,
        #[arg(long)]
        service: Option<String>,
        #[arg(long)]
        env: Option<String>,
    },
    /// Roll back to the previous good deploy (or --to)
    Rollback {
        /// The service, as `sitrep deploys` names it
        service: String,
        /// The environment to roll back (e.g. production)
        #[arg(long, help_heading = "Target")]
        env: String,
        /// Deploy id to roll back to (as `sitrep deploys --json` prints it); default: the last good deploy before the current one
        #[arg(long, value_name = "DEPLOY_ID", help_heading = "Target")]
        to: Option<String>,
        /// The deploy provider (config name), when more than one deploys the service
        #[arg(long, value_name = "NAME", help_heading = "Target")]
        provider: Option<String>,
        /// Why: recorded in the audit log (and in the deploy's description where the provider keeps one)
        #[arg(long, help_heading = "Audit")]
        reason: String,
        #[command(flatten)]
        write: WriteFlags,
        #[command(flatten)]
        watch: watch::WatchFlags,
    },
    /// Feature flags and kill switches
    Flags {
        #[arg(long)]
        json: bool,
        #[arg(long)]
        filter: Option<String>,
    },
    /// Turn a flag off (the kill switch: its feature stops) or back on
    Flag {
        #[command(subcommand)]
        action: FlagCmd,
    },
    /// Offline runbook browsing
    Runbook {
        #[command(subcommand)]
        action: RunbookCmd,
    },
    /// Read and verify the audit log
    Audit {
        #[command(subcommand)]
        action: Option<AuditCmd>,
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Provider tokens in the OS keyring
    Auth {
        #[command(subcommand)]
        action: AuthCmd,
    },
    /// Write, check or locate the config file
    Config {
        #[command(subcommand)]
        action: ConfigCmd,
    },
    /// Themes
    Theme {
        #[command(subcommand)]
        action: ThemeCmd,
    },
    /// Shell completions
    Completions { shell: clap_complete::Shell },
    /// What changed: deploys, flag flips, incidents, alerts, silences, SLO state and audited actions, newest first, with suspects marked
    Timeline {
        /// How far back (the console's Timeline view and `handoff` look back 12h too)
        #[arg(long, default_value = "12h", value_name = "DURATION")]
        since: String,
        /// A deploy or flag flip this long before an incident (or burn-rate rise) on its service is a suspect
        #[arg(long, default_value = "30m", value_name = "DURATION")]
        window: String,
        #[arg(long)]
        json: bool,
    },
    /// Hand-off report for the next shift: open incidents, actions taken, open checklists, SLOs burning, what changed
    Handoff {
        /// How far back
        #[arg(long, default_value = "12h", value_name = "DURATION")]
        since: String,
        /// Correlation window of the "what changed" section
        #[arg(long, default_value = "30m", value_name = "DURATION")]
        window: String,
        /// Markdown (the default)
        #[arg(long, conflicts_with = "json")]
        markdown: bool,
        /// One JSON document instead of markdown
        #[arg(long)]
        json: bool,
        /// Post the markdown report as a note on this incident (audited write)
        #[arg(long, value_name = "INCIDENT", conflicts_with = "json")]
        post_note: Option<String>,
        /// The incident provider for --post-note
        #[arg(long)]
        provider: Option<String>,
        #[command(flatten)]
        write: WriteFlags,
    },
}

#[derive(Subcommand, Debug)]
pub enum IncidentCmd {
    /// Acknowledge
    Ack {
        /// The incident, as `sitrep incidents` prints it: provider/id, or the bare id
        id: String,
        /// The provider that owns it (config name), for a bare id
        #[arg(long, value_name = "NAME", help_heading = "Target")]
        provider: Option<String>,
        /// Why: recorded in the audit log
        #[arg(long, default_value = "", help_heading = "Audit")]
        reason: String,
        #[command(flatten)]
        write: WriteFlags,
    },
    /// Resolve
    Resolve {
        /// The incident, as `sitrep incidents` prints it: provider/id, or the bare id
        id: String,
        /// The provider that owns it (config name), for a bare id
        #[arg(long, value_name = "NAME", help_heading = "Target")]
        provider: Option<String>,
        /// Why: recorded in the audit log
        #[arg(long, default_value = "", help_heading = "Audit")]
        reason: String,
        #[command(flatten)]
        write: WriteFlags,
    },
    /// Add a note
    Note {
        /// The incident, as `sitrep incidents` prints it: provider/id, or the bare id
        id: String,
        /// The note's text (also recorded in the audit log)
        text: String,
        /// The provider that owns it (config name), for a bare id
        #[arg(long, value_name = "NAME", help_heading = "Target")]
        provider: Option<String>,
        #[command(flatten)]
        write: WriteFlags,
    },
}

#[derive(Subcommand, Debug)]
pub enum FlagCmd {
    /// Turn a flag off: as a kill switch, its feature stops
    Off {
        /// The flag's key, as `sitrep flags` prints it
        key: String,
        /// The flag provider (config name), when more than one serves the key
        #[arg(long, value_name = "NAME", help_heading = "Target")]
        provider: Option<String>,
        /// The environment (LaunchDarkly, Unleash); default: the provider's configured one
        #[arg(long, help_heading = "Target")]
        env: Option<String>,
        /// Why: recorded in the audit log
        #[arg(long, help_heading = "Audit")]
        reason: String,
        #[command(flatten)]
        write: WriteFlags,
        #[command(flatten)]
        watch: watch::WatchFlags,
    },
    /// Turn a flag back on
    On {
        /// The flag's key, as `sitrep flags` prints it
        key: String,
        /// The flag provider (config name), when more than one serves the key
        #[arg(long, value_name = "NAME", help_heading = "Target")]
        provider: Option<String>,
        /// The environment (LaunchDarkly, Unleash); default: the provider's configured one
        #[arg(long, help_heading = "Target")]
        env: Option<String>,
        /// Why: recorded in the audit log
        #[arg(long, help_heading = "Audit")]
        reason: String,
        #[command(flatten)]
        write: WriteFlags,
        #[command(flatten)]
        watch: watch::WatchFlags,
    },
}

#[derive(Subcommand, Debug)]
pub enum RunbookCmd {
    /// List runbooks
    List {
        #[arg(long)]
        json: bool,
    },
    /// Print a runbook as plain, sanitized text, its placeholders bound
    /// from an incident or a service (unbound ones marked)
    Show {
        name: String,
        /// Bind from this incident (its id, service, alert name; env production)
        #[arg(long, conflicts_with = "service")]
        incident: Option<String>,
        /// Bind from this service ([[service]] config, current deploy, kill switch)
        #[arg(long)]
        service: Option<String>,
        /// The environment `{env}` stands for
        #[arg(long)]
        env: Option<String>,
    },
    /// Lint runbook files for CI: front matter, actions, placeholders,
    /// markers, links, review dates (exit 1 on faults)
    Check {
        /// Files or directories of *.md (default: the bundled runbooks).
        /// With `--config FILE` given, literal flags, services and
        /// providers must also exist in that config.
        paths: Vec<std::path::PathBuf>,
        /// The day review dates are measured from (YYYY-MM-DD; default today, UTC)
        #[arg(long)]
        today: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// Verify the hash chain and every signature (exit 3 names the first
    /// broken line)
    Verify {
        /// Also trust this public key file (`sitrep audit key` output of
        /// another installation); repeatable
        #[arg(long = "key", value_name = "FILE")]
        keys: Vec<std::path::PathBuf>,
        /// Compare with a head saved outside the log (`sitrep audit head`
        /// output, or the last record a webhook receiver got): finds
        /// records cut off the end and rewritten history
        #[arg(long, value_name = "FILE")]
        anchor: Option<std::path::PathBuf>,
        /// Accept unsigned records before the first signed one (a log
        /// begun before records were signed); they are counted and warned
        #[arg(long)]
        allow_unsigned_prefix: bool,
    },
    /// Print this installation's public signing key (creating the key on
    /// first use); save it where the log's writer cannot change it
    Key,
    /// Verify, then print the chain head as one JSON line to save
    /// elsewhere as an anchor
    Head,
}

#[derive(Subcommand, Debug)]
pub enum AuthCmd {
    /// Store a provider token (read from stdin, no echo)
    Set { provider: String },
    /// Which providers have a token and where from (never the token)
    Status,
    /// Remove a stored token
    Rm { provider: String },
}

#[derive(Subcommand, Debug)]
pub enum ConfigCmd {
    /// Write a commented example config
    Init {
        /// Overwrite an existing file
        #[arg(long)]
        force: bool,
    },
    /// Validate the config and what it names, without the network: SLO
    /// files, flagd files, runbook dirs, URL schemes, durations (exit 2 with
    /// file:line for each fault). Missing tokens are warnings, faults with
    /// --strict
    Check {
        /// Missing token sources (env var unset, no keyring entry) are faults
        #[arg(long)]
        strict: bool,
    },
    /// Print the config path
    Path,
}

#[derive(Subcommand, Debug)]
pub enum ThemeCmd {
    /// List bundled and user themes
    List,
}

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

/// `--since` of `incidents --all`.
fn parse_since(s: &str) -> Result<std::time::Duration, String> {
    crate::config::parse_duration(s)
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
        if matches!(cmd, Command::Status { .. } | Command::Incidents { .. }) {
            let (catalog, _) = ctx.catalog(crate::runbooks::Detail::Full);
            crate::runbooks::link_incidents(&mut snap.incidents, &cfg.service, &catalog.runbooks);
        }
        let out = match cmd {
            Command::Status { json } => output::status(&snap, ctx.now, *json),
            Command::Incidents {
                json,
                min_severity,
                all,
                ..
            } => output::incidents(&snap, ctx.now, *json, *min_severity, *all),
            Command::Oncall { json } => output::oncall(&snap, ctx.now, *json),
            Command::Slo { json } => output::slos(&snap, *json),
            Command::Deploys { json, service, env } => {
                output::deploys(&snap, ctx.now, *json, service.as_deref(), env.as_deref())
            }
            Command::Flags { json, filter } => {
                output::flags(&snap, ctx.now, *json, filter.as_deref())
            }
            _ => return err("internal: not a read command"),
        };
        match out {
            Ok(s) => print(&s),
            Err(e) => return err(e),
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
                user.sort();
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
