//! The command line's shape (SPEC §2): commands, their arguments and
//! options, grouped as `--help` shows them.

use super::{VERSION, watch};
use crate::model::Severity;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

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

impl Cli {
    /// `audit verify`: the one command that parses on every core at once.
    pub fn verifies_audit(&self) -> bool {
        matches!(
            self.command,
            Some(Command::Audit {
                action: Some(AuditCmd::Verify { .. }),
                ..
            })
        )
    }
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
    /// Escalate to the next level of its escalation policy (PagerDuty)
    Escalate {
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
    /// Snooze an acknowledged incident (PagerDuty)
    Snooze {
        /// How long, e.g. 30m or 2h
        #[arg(long, default_value = "1h")]
        duration: String,
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
    /// Reassign to other users, replacing the assignees (PagerDuty)
    Reassign {
        /// A user id (e.g. PUSR123); repeat for several
        #[arg(long = "to", value_name = "USER_ID", required = true)]
        to: Vec<String>,
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
    /// Ask users to join as responders (PagerDuty)
    AddResponders {
        /// A user id (e.g. PUSR123); repeat for several
        #[arg(long = "user", value_name = "USER_ID", required = true)]
        users: Vec<String>,
        /// The message the responders get
        #[arg(long, default_value = "Please help with this incident")]
        message: String,
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
    /// Acknowledge several incidents of one provider at once (PagerDuty; 250 a request)
    BulkAck {
        /// The incidents, as `sitrep incidents` prints them: provider/id, or bare ids
        #[arg(required = true)]
        ids: Vec<String>,
        /// The provider that owns them (config name), for bare ids
        #[arg(long, value_name = "NAME", help_heading = "Target")]
        provider: Option<String>,
        /// Why: recorded in the audit log
        #[arg(long, default_value = "", help_heading = "Audit")]
        reason: String,
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

/// `--since` of `incidents --all`.
fn parse_since(s: &str) -> Result<std::time::Duration, String> {
    crate::config::parse_duration(s)
}
