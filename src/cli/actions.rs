//! The write commands (`incident ack|resolve|note`, `silence`, `rollback`,
//! `flag off|on`), `audit` / `audit verify`, and `auth set|status|rm`.
//!
//! Confirmation rules (SPEC §2): `--dry-run` prints the plan and records
//! `dry-run`; without `--yes` a terminal on stdin is needed to confirm,
//! otherwise the action is refused (exit 2) and recorded as `refused`;
//! rollback and kill switch ask for the target's name, typed exactly; an
//! action on a production environment needs `--i-know-this-is-production`
//! as well as `--yes` to skip the prompt. Read-only mode is enforced by the
//! executor itself.

use super::{WriteFlags, exit, print};
use crate::actions::{ActionRequest, Executor, Mode};
use crate::app::AppContext;
use crate::config::{Config, ProviderKind, SecretRef};
use crate::ops::{Matcher, Plan, WriteOp};
use crate::providers::Registry;
use crate::secrets::{KEYRING_SERVICE, Secret, SystemSecrets};
use crate::text::SafeText;
use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::PathBuf;

pub(super) fn fail(msg: impl std::fmt::Display, code: i32) -> i32 {
    eprintln!("sitrep: {}", SafeText::line(&msg.to_string()));
    code
}

/// The config for actions: with `--demo`, a config file is still used (if
/// it loads) for identity, audit path, webhook and policies, but not for
/// providers.
pub fn action_config(ctx: &AppContext) -> Result<Config, String> {
    if ctx.opts.demo {
        let mut cfg = if ctx.paths.config_exists() {
            ctx.config().unwrap_or_default()
        } else {
            Config::default()
        };
        cfg.provider.clear();
        // The demo's log, key and webhook are its own (AppContext::demo).
        cfg.audit.path = None;
        cfg.audit.webhook = None;
        cfg.audit.signing_key = None;
        return Ok(cfg);
    }
    ctx.config()
}

/// The audit log path for a config (the demo's: in its own data dir).
pub fn audit_path(ctx: &AppContext, cfg: &Config) -> PathBuf {
    if ctx.opts.demo {
        return ctx.paths.default_audit();
    }
    cfg.audit
        .path
        .clone()
        .unwrap_or_else(|| ctx.paths.default_audit())
}

/// The executor for this command line.
pub fn executor(ctx: &AppContext) -> Result<Executor, String> {
    let cfg = action_config(ctx)?;
    let registry = if ctx.opts.demo {
        Registry::demo(ctx.now)
    } else {
        ctx.registry()?.0
    };
    let mut cfg = cfg;
    cfg.audit.path = Some(audit_path(ctx, &cfg));
    let ex = Executor::from_config(
        registry,
        &cfg,
        &ctx.paths.data_dir,
        ctx.opts.read_only,
        &SystemSecrets,
        ctx.signer(&cfg),
    );
    // Intents an earlier run left without a result: closed as outcome
    // unknown before anything new is done, and said.
    if let Some(note) = ex.reconcile_at_start() {
        eprintln!("sitrep: warning: {}", SafeText::line(&note));
    }
    Ok(ex)
}

/// The plan as the responder reads it: summary, what is at stake, the exact
/// requests (credentials redacted). Sanitized.
pub fn render_plan(plan: &Plan) -> String {
    let mut s = format!("{}\n", plan.summary);
    s.push_str(&format!("  provider: {}\n", plan.provider));
    for (k, v) in &plan.stakes {
        s.push_str(&format!("  {k}: {v}\n"));
    }
    for r in &plan.requests {
        s.push('\n');
        s.push_str(&r.to_string());
    }
    SafeText::block(&s).into_string()
}

/// Exact match of a typed confirmation: only the line ending is removed.
pub fn confirm_matches(typed: &str, expected: &str) -> bool {
    let t = typed.strip_suffix('\n').unwrap_or(typed);
    let t = t.strip_suffix('\r').unwrap_or(t);
    t == expected
}

fn is_yes(typed: &str) -> bool {
    matches!(typed.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// Run a write action with the real stdin.
pub async fn run_write(ctx: &AppContext, req: ActionRequest, flags: &WriteFlags) -> i32 {
    let ex = match executor(ctx) {
        Ok(e) => e.with_take_over(flags.take_over),
        Err(e) => return fail(e, exit::USAGE),
    };
    let tty = std::io::stdin().is_terminal();
    let mut input = std::io::stdin().lock();
    run_write_with(&ex, req, flags, tty, &mut input).await
}

/// Run a write action; `tty` says whether `input` is a terminal.
pub async fn run_write_with(
    ex: &Executor,
    req: ActionRequest,
    flags: &WriteFlags,
    tty: bool,
    input: &mut dyn BufRead,
) -> i32 {
    // `pd/Q1…` as `incidents` prints it goes to pd.
    let req = match ex.resolve_owner(req) {
        Ok(r) => r,
        Err(e) => return fail(&e, e.exit_code()),
    };
    let plan = match ex.plan(&req).await {
        Ok(p) => p,
        Err(e) => return fail(&e, e.exit_code()),
    };
    if ex.is_read_only() {
        // The executor refuses and records it.
        return match ex.execute(&req, &plan, Mode::Live).await {
            Ok(_) => fail("internal: read-only mode did not refuse", exit::USAGE),
            Err(e) => fail(&e, e.exit_code()),
        };
    }
    if flags.dry_run {
        return match ex.execute(&req, &plan, Mode::DryRun).await {
            Ok(done) => {
                print(&format!(
                    "{}\ndry run: nothing was sent (recorded as dry-run in the audit log)\n",
                    render_plan(&plan)
                ));
                for w in &done.warnings {
                    eprintln!("sitrep: warning: {w}");
                }
                exit::OK
            }
            Err(e) => fail(&e, e.exit_code()),
        };
    }
    let production = ex.plan_is_production(&plan);
    let prompt = !flags.yes || (production && !flags.i_know_this_is_production);
    if prompt {
        if !tty {
            let why = if flags.yes {
                "this action touches production: with --yes it also needs --i-know-this-is-production when there is no terminal to confirm on"
            } else {
                "no terminal on stdin to confirm on; pass --yes to run without a prompt"
            };
            ex.record_refusal(&req, Some(&plan), why).await;
            return fail(format!("refused: {why}"), exit::USAGE);
        }
        eprintln!("{}", render_plan(&plan));
        if production {
            eprintln!("This is a PRODUCTION environment.");
        }
        let expected = req.op.typed_confirmation();
        match &expected {
            Some(t) => eprint!("Type {} to confirm: ", SafeText::line(t)),
            None => eprint!("Proceed? [y/N] "),
        }
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        if input.read_line(&mut line).is_err() {
            line.clear();
        }
        let ok = match &expected {
            Some(t) => confirm_matches(&line, t),
            None => is_yes(&line),
        };
        if !ok {
            let why = match &expected {
                Some(_) => "the typed name did not match exactly",
                None => "not confirmed",
            };
            ex.record_refusal(&req, Some(&plan), why).await;
            return fail(format!("refused: {why}; nothing was sent"), exit::USAGE);
        }
    }
    match ex.execute(&req, &plan, Mode::Live).await {
        Ok(done) => {
            print(&format!("{}\n", done.message));
            for w in &done.warnings {
                eprintln!("sitrep: warning: {w}");
            }
            exit::OK
        }
        Err(e) => fail(&e, e.exit_code()),
    }
}

fn request(op: WriteOp, reason: &str, flags: &WriteFlags) -> ActionRequest {
    ActionRequest {
        op,
        reason: reason.to_string(),
        incident: flags.incident.clone(),
        runbook: None,
    }
}

/// `incident ack|resolve|note|escalate|snooze|reassign|add-responders|bulk-ack`.
pub async fn incident(ctx: &AppContext, cmd: &super::IncidentCmd) -> i32 {
    use super::IncidentCmd::*;
    let (op, reason, flags) = match cmd {
        Ack {
            id,
            provider,
            reason,
            write,
        } => (
            WriteOp::IncidentAck {
                provider: provider.clone(),
                id: id.clone(),
            },
            reason.as_str(),
            write,
        ),
        Resolve {
            id,
            provider,
            reason,
            write,
        } => (
            WriteOp::IncidentResolve {
                provider: provider.clone(),
                id: id.clone(),
            },
            reason.as_str(),
            write,
        ),
        Note {
            id,
            text,
            provider,
            write,
        } => (
            WriteOp::IncidentNote {
                provider: provider.clone(),
                id: id.clone(),
                text: text.clone(),
            },
            "",
            write,
        ),
        Escalate {
            id,
            provider,
            reason,
            write,
        } => (
            WriteOp::IncidentEscalate {
                provider: provider.clone(),
                id: id.clone(),
            },
            reason.as_str(),
            write,
        ),
        Snooze {
            id,
            duration,
            provider,
            reason,
            write,
        } => {
            let duration_secs = match humantime::parse_duration(duration) {
                Ok(d) if d.as_secs() > 0 => d.as_secs(),
                _ => {
                    return fail(
                        format!("--duration {duration:?} is not a duration like 30m or 2h"),
                        exit::USAGE,
                    );
                }
            };
            (
                WriteOp::IncidentSnooze {
                    provider: provider.clone(),
                    id: id.clone(),
                    duration_secs,
                },
                reason.as_str(),
                write,
            )
        }
        Reassign {
            id,
            to,
            provider,
            reason,
            write,
        } => (
            WriteOp::IncidentReassign {
                provider: provider.clone(),
                id: id.clone(),
                users: to.clone(),
            },
            reason.as_str(),
            write,
        ),
        AddResponders {
            id,
            users,
            message,
            provider,
            reason,
            write,
        } => (
            WriteOp::IncidentAddResponders {
                provider: provider.clone(),
                id: id.clone(),
                users: users.clone(),
                message: message.clone(),
            },
            reason.as_str(),
            write,
        ),
        BulkAck {
            ids,
            provider,
            reason,
            write,
        } => (
            WriteOp::IncidentBulkAck {
                provider: provider.clone(),
                ids: ids.clone(),
            },
            reason.as_str(),
            write,
        ),
    };
    let mut req = request(op, reason, flags);
    if req.incident.is_none() {
        req.incident = Some(req.op.target());
    }
    run_write(ctx, req, flags).await
}

/// `silence --matcher k=v ... --duration 1h --reason TEXT`.
pub async fn silence(
    ctx: &AppContext,
    matchers: &[String],
    duration: &str,
    reason: &str,
    provider: &Option<String>,
    flags: &WriteFlags,
) -> i32 {
    let mut ms = Vec::new();
    for m in matchers {
        match m.parse::<Matcher>() {
            Ok(m) => ms.push(m),
            Err(e) => return fail(e, exit::USAGE),
        }
    }
    let secs = match humantime::parse_duration(duration) {
        Ok(d) if d.as_secs() > 0 => d.as_secs(),
        _ => {
            return fail(
                format!("--duration {duration:?} is not a duration like 30m or 2h"),
                exit::USAGE,
            );
        }
    };
    let op = WriteOp::SilenceCreate {
        provider: provider.clone(),
        matchers: ms,
        duration_secs: secs,
    };
    run_write(ctx, request(op, reason, flags), flags).await
}

/// `rollback SERVICE --env ENV [--to ID]`.
pub async fn rollback(
    ctx: &AppContext,
    service: &str,
    env: &str,
    to: &Option<String>,
    reason: &str,
    provider: &Option<String>,
    flags: &WriteFlags,
) -> i32 {
    let op = WriteOp::Rollback {
        provider: provider.clone(),
        service: service.to_string(),
        environment: env.to_string(),
        to: to.clone(),
    };
    run_write(ctx, request(op, reason, flags), flags).await
}

/// `flag off|on KEY`.
pub async fn flag(ctx: &AppContext, cmd: &super::FlagCmd) -> i32 {
    use super::FlagCmd::*;
    let (key, reason, provider, env, write, on) = match cmd {
        Off {
            key,
            reason,
            provider,
            env,
            write,
            ..
        } => (key, reason, provider, env, write, false),
        On {
            key,
            reason,
            provider,
            env,
            write,
            ..
        } => (key, reason, provider, env, write, true),
    };
    let op = WriteOp::FlagSet {
        provider: provider.clone(),
        key: key.clone(),
        environment: env.clone(),
        on,
    };
    run_write(ctx, request(op, reason, write), write).await
}

// ---------------------------------------------------------------------------
// auth

/// Keyring entry names: provider names ([A-Za-z0-9._-], ≤ 64). `@` would
/// collide in the keyutils description.
pub fn valid_entry_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Read a token from a terminal without echo.
fn read_token_tty(name: &str) -> Result<Secret, String> {
    use crossterm::terminal::{disable_raw_mode, enable_raw_mode};
    eprint!("token for {}: ", SafeText::line(name));
    let _ = std::io::stderr().flush();
    enable_raw_mode().map_err(|e| format!("cannot turn terminal echo off: {e}"))?;
    struct Restore;
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = disable_raw_mode();
        }
    }
    let guard = Restore;
    let mut buf: Vec<u8> = Vec::new();
    let mut stdin = std::io::stdin().lock();
    let mut byte = [0u8; 1];
    let res = loop {
        match stdin.read(&mut byte) {
            Ok(0) => break Ok(()),
            Ok(_) => match byte[0] {
                // Enter or Ctrl-D ends the token; Ctrl-C cancels.
                b'\r' | b'\n' | 0x04 => break Ok(()),
                0x03 => break Err("cancelled".to_string()),
                0x7f | 0x08 => {
                    buf.pop();
                }
                b => buf.push(b),
            },
            Err(e) => break Err(format!("cannot read the token: {e}")),
        }
    };
    drop(guard);
    eprintln!();
    res?;
    let s = String::from_utf8(std::mem::take(&mut buf)).map_err(|_| "the token is not UTF-8")?;
    Ok(Secret::new(s.trim()))
}

/// Read a token from a pipe: the first line.
pub fn read_token_line(input: &mut dyn BufRead) -> Result<Secret, String> {
    let mut s = String::new();
    input
        .read_line(&mut s)
        .map_err(|e| format!("cannot read the token from stdin: {e}"))?;
    let t = Secret::new(s.trim());
    s.clear();
    Ok(t)
}

fn keyring_entry(name: &str) -> Result<keyring_core::Entry, String> {
    crate::secrets::ensure_default_store()?;
    keyring_core::Entry::new(KEYRING_SERVICE, name)
        .map_err(|e| format!("keyring entry {name}: {e}"))
}

/// `auth set NAME` with the token from `input` (a pipe) or the terminal.
pub fn auth_set(name: &str, tty: bool, input: &mut dyn BufRead) -> i32 {
    if !valid_entry_name(name) {
        return fail(
            format!("{name:?} is not a valid provider name (letters, digits, . _ -)"),
            exit::USAGE,
        );
    }
    let token = if tty {
        read_token_tty(name)
    } else {
        read_token_line(input)
    };
    let token = match token {
        Ok(t) if !t.expose().is_empty() => t,
        Ok(_) => return fail("no token given (empty input); nothing stored", exit::USAGE),
        Err(e) => return fail(e, exit::USAGE),
    };
    let entry = match keyring_entry(name) {
        Ok(e) => e,
        Err(e) => return fail(e, exit::USAGE),
    };
    match entry.set_password(token.expose()) {
        Ok(()) => {
            print(&format!(
                "stored the token for {name} in the keyring (service {KEYRING_SERVICE})\n"
            ));
            exit::OK
        }
        Err(e) => fail(
            format!("cannot store the token for {name}: {e}"),
            exit::USAGE,
        ),
    }
}

/// `auth rm NAME`.
pub fn auth_rm(name: &str) -> i32 {
    if !valid_entry_name(name) {
        return fail(
            format!("{name:?} is not a valid provider name"),
            exit::USAGE,
        );
    }
    let entry = match keyring_entry(name) {
        Ok(e) => e,
        Err(e) => return fail(e, exit::USAGE),
    };
    match entry.delete_credential() {
        Ok(()) => {
            print(&format!("removed the token for {name}\n"));
            exit::OK
        }
        Err(keyring_core::Error::NoEntry) => {
            print(&format!("no token stored for {name}\n"));
            exit::OK
        }
        Err(e) => fail(
            format!("cannot remove the token for {name}: {e}"),
            exit::USAGE,
        ),
    }
}

/// Where a secret reference points and whether it resolves (never the value).
fn secret_state(r: &SecretRef) -> (String, String) {
    match r {
        SecretRef::Env(var) => (
            format!("env {var}"),
            match std::env::var(var) {
                Ok(v) if !v.trim().is_empty() => "present".into(),
                Ok(_) => "empty".into(),
                Err(_) => "missing".into(),
            },
        ),
        SecretRef::Keyring(name) => (
            format!("keyring {KEYRING_SERVICE}/{name}"),
            match keyring_entry(name).and_then(|e| match e.get_password() {
                Ok(p) => {
                    drop(Secret::new(p));
                    Ok(true)
                }
                Err(keyring_core::Error::NoEntry) => Ok(false),
                Err(e) => Err(format!("error: {e}")),
            }) {
                Ok(true) => "present".into(),
                Ok(false) => "missing".into(),
                Err(e) => e,
            },
        ),
    }
}

/// `auth status` as text: each configured secret, where it comes from and
/// whether it is there (never its value).
pub fn auth_status_text(cfg: &Config) -> String {
    let mut t =
        super::output::Table::new(vec!["PROVIDER", "KIND", "TOKEN FROM", "STATE"]).cap(3, 60);
    let mut n = 0;
    let mut row = |name: String, kind: String, (from, state): (String, String)| {
        t.row(vec![
            SafeText::line(&name).into_string(),
            kind,
            SafeText::line(&from).into_string(),
            SafeText::line(&state).into_string(),
        ]);
    };
    for p in cfg.providers() {
        n += 1;
        let kind = p.kind;
        let st = if kind.needs_token() || p.token.is_some() {
            secret_state(&p.token_ref())
        } else {
            ("-".into(), "not needed".into())
        };
        row(p.name.clone(), kind.to_string(), st);
        if kind == ProviderKind::Datadog
            && let Some(r) = &p.app_key
        {
            row(
                format!("{} (app_key)", p.name),
                kind.to_string(),
                secret_state(r),
            );
        }
    }
    if let Some(w) = &cfg.audit.webhook
        && let Some(r) = &w.secret
    {
        n += 1;
        row("[audit] webhook".into(), "webhook".into(), secret_state(r));
    }
    if n == 0 {
        "no providers configured (see `sitrep config init`)\n".into()
    } else {
        t.render()
    }
}

/// `auth status`.
pub fn auth_status(ctx: &AppContext) -> i32 {
    match ctx.config() {
        Ok(cfg) => {
            print(&auth_status_text(&cfg));
            exit::OK
        }
        Err(e) => fail(e, exit::USAGE),
    }
}

/// `auth set|status|rm` with the real stdin.
pub fn auth(ctx: &AppContext, cmd: &super::AuthCmd) -> i32 {
    match cmd {
        super::AuthCmd::Set { provider } => {
            let tty = std::io::stdin().is_terminal();
            let mut input = std::io::stdin().lock();
            auth_set(provider, tty, &mut input)
        }
        super::AuthCmd::Status => auth_status(ctx),
        super::AuthCmd::Rm { provider } => auth_rm(provider),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_confirmation_is_exact() {
        assert!(confirm_matches("checkout\n", "checkout"));
        assert!(confirm_matches("checkout\r\n", "checkout"));
        assert!(confirm_matches("checkout", "checkout"));
        assert!(!confirm_matches("Checkout\n", "checkout"));
        assert!(!confirm_matches("checkout \n", "checkout"));
        assert!(!confirm_matches(" checkout\n", "checkout"));
        assert!(!confirm_matches("checkou\n", "checkout"));
        assert!(!confirm_matches("checkout\n\n", "checkout"));
        assert!(!confirm_matches("checkout\u{1b}[A\n", "checkout"));
        assert!(is_yes("y\n") && is_yes("YES\n") && !is_yes("\n") && !is_yes("no\n"));
    }

    #[test]
    fn entry_names() {
        assert!(valid_entry_name("pd") && valid_entry_name("gh-prod_1.x"));
        assert!(!valid_entry_name("a@b") && !valid_entry_name("") && !valid_entry_name("a b"));
    }
}
