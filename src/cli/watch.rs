//! `--watch` / `--watch-for 10m` of `rollback` and `flag off|on`: after a
//! successful live action, poll the providers, print provisional readings
//! on stderr and the verdict on stdout, and record a `watch` audit record.
//! The exit code stays the action's: the verdict is information.

use super::{FlagCmd, WriteFlags, exit, print};
use crate::actions::{self, ActionRequest};
use crate::app::AppContext;
use crate::model::{Snapshot, Time};
use crate::ops::WriteOp;
use crate::store::Store;
use crate::text::SafeText;
use crate::util;
use crate::watch::{self, Watch};
use clap::Args;
use std::io::IsTerminal;

/// Flags of the actions that can be watched.
#[derive(Args, Debug, Clone, Default)]
pub struct WatchFlags {
    /// After the action, watch the service's burn rate and open incidents and print a verdict
    #[arg(long, help_heading = "After the action")]
    pub watch: bool,
    /// How long to watch (implies --watch) [default: 10m]
    #[arg(long, value_name = "DURATION", help_heading = "After the action")]
    pub watch_for: Option<String>,
}

impl WatchFlags {
    pub fn enabled(&self) -> bool {
        self.watch || self.watch_for.is_some()
    }

    /// The watch window (`--watch-for`, default 10 minutes, at most 2 hours).
    pub fn window(&self) -> Result<chrono::Duration, String> {
        let d = match &self.watch_for {
            None => chrono::Duration::minutes(watch::DEFAULT_WINDOW_MINS),
            Some(s) => super::report::parse_span("--watch-for", s)?,
        };
        if d > chrono::Duration::hours(2) {
            return Err("--watch-for is at most 2h".into());
        }
        Ok(d)
    }
}

/// How often to poll during a watch: a tenth of the window, 1 s to 30 s.
pub fn poll_interval(window: chrono::Duration) -> std::time::Duration {
    let ms = window.num_milliseconds() / 10;
    std::time::Duration::from_millis(ms.clamp(1_000, 30_000) as u64)
}

fn fail(msg: impl std::fmt::Display, code: i32) -> i32 {
    eprintln!("sitrep: {}", SafeText::line(&msg.to_string()));
    code
}

/// `rollback ... --watch`.
#[allow(clippy::too_many_arguments)]
pub async fn rollback(
    ctx: &AppContext,
    service: &str,
    env: &str,
    to: &Option<String>,
    reason: &str,
    provider: &Option<String>,
    write: &WriteFlags,
    wf: &WatchFlags,
) -> i32 {
    let req = ActionRequest {
        op: WriteOp::Rollback {
            provider: provider.clone(),
            service: service.to_string(),
            environment: env.to_string(),
            to: to.clone(),
        },
        reason: reason.to_string(),
        incident: write.incident.clone(),
        runbook: None,
    };
    let svc = service.to_string();
    run_watched(ctx, req, write, wf, move |_| Some(svc.clone())).await
}

/// `flag off|on KEY ... --watch`: the service is the flag's `service`.
pub async fn flag(ctx: &AppContext, cmd: &FlagCmd) -> i32 {
    let (key, reason, provider, env, write, wf, on) = match cmd {
        FlagCmd::Off {
            key,
            reason,
            provider,
            env,
            write,
            watch,
        } => (key, reason, provider, env, write, watch, false),
        FlagCmd::On {
            key,
            reason,
            provider,
            env,
            write,
            watch,
        } => (key, reason, provider, env, write, watch, true),
    };
    let req = ActionRequest {
        op: WriteOp::FlagSet {
            provider: provider.clone(),
            key: key.clone(),
            environment: env.clone(),
            on,
        },
        reason: reason.clone(),
        incident: write.incident.clone(),
        runbook: None,
    };
    let (k, p, e) = (key.clone(), provider.clone(), env.clone());
    run_watched(ctx, req, write, wf, move |snap| {
        snap.flag_service(&k, p.as_deref(), e.as_deref())
    })
    .await
}

fn reading(w: &Watch) -> String {
    let b = w.baseline();
    format!(
        "watching {} for {} after {}: 5m burn {}, 1h {}, {} open incident(s)",
        w.service(),
        util::span(w.config().window.num_seconds()),
        w.target(),
        util::burn(b.burn_5m),
        util::burn(b.burn_1h),
        b.open.len()
    )
}

async fn run_watched(
    ctx: &AppContext,
    req: ActionRequest,
    write: &WriteFlags,
    wf: &WatchFlags,
    service_of: impl Fn(&Snapshot) -> Option<String>,
) -> i32 {
    // A bad --watch-for is a usage error before anything is done.
    let window = match wf.window() {
        Ok(w) => w,
        Err(e) => return fail(e, exit::USAGE),
    };
    let ex = match super::actions::executor(ctx) {
        Ok(e) => e.with_take_over(write.take_over),
        Err(e) => return fail(e, exit::USAGE),
    };
    let code = {
        let tty = std::io::stdin().is_terminal();
        let mut input = std::io::stdin().lock();
        super::actions::run_write_with(&ex, req.clone(), write, tty, &mut input).await
    };
    if code != exit::OK || ex.is_read_only() {
        return code;
    }
    if write.dry_run {
        eprintln!("sitrep: --watch: nothing to watch after a dry run");
        return code;
    }
    let cache = ctx.cache();
    let fetch = || {
        let reg = ex.registry();
        let c = cache.as_ref();
        async move { Store::fetch_all(reg, c).await.snapshot(chrono::Utc::now()) }
    };
    let at: Time = chrono::Utc::now();
    let baseline = fetch().await;
    let Some(service) = service_of(&baseline) else {
        eprintln!(
            "sitrep: --watch: no service is known for {} (set the flag's service in the provider or config); not watching",
            SafeText::line(&req.op.target())
        );
        return code;
    };
    let mut w = Watch::new(&service, &baseline, at)
        .with_window(window)
        .after(req.op.action_name(), &req.op.target());
    eprintln!("{}", SafeText::line(&reading(&w)));
    let v = actions::watch::drive(&mut w, poll_interval(window), fetch, |v| {
        eprintln!("  {}", v.summary);
    })
    .await;
    let mut out = format!(
        "watch verdict: {}\n{}\n",
        v.kind.label().to_uppercase(),
        v.summary
    );
    if let Some(rb) = v.runbook() {
        out.push_str(&format!(
            "next: the runbook {rb} (`sitrep runbook show {rb}`)\n"
        ));
    }
    print(&out);
    match actions::watch::record(&ex, &w, &v, req.incident.clone()).await {
        Ok(done) => {
            for warn in &done.warnings {
                eprintln!("sitrep: warning: {warn}");
            }
        }
        Err(e) => eprintln!("sitrep: warning: the watch verdict was not recorded: {e}"),
    }
    code
}
