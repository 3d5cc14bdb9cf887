//! The TUI: one loop owns the state; providers send results on a channel;
//! `update` turns messages into state changes and effects; `ui::render`
//! draws. The loop redraws only when something changed.

pub mod keymap;
pub mod palette;
pub mod state;
pub mod ui;
pub mod update;

use crate::cache::Cache;
use crate::cli::Ctx;
use crate::providers::Registry;
use crate::providers::poller::{PollEvent, Poller};
use crate::store::Store;
use crate::theme::Theme;
use crossterm::event::{Event, EventStream};
use futures::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use state::{State, ToastKind};
use std::io::Write;
use tokio::sync::mpsc;
use update::{Effect, Msg, update};

/// When the process started (set first thing by `main`); the
/// `SITREP_BENCH_FIRST_FRAME` hook reports the time to the first frame.
pub static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Restores the terminal when dropped (normal exit, error or panic unwind).
struct TerminalGuard;

/// The console owns the terminal (raw mode, alternate screen). Restoring
/// happens once: a second `LeaveAlternateScreen` would move the cursor back
/// to where it was saved and let the next output overwrite what the first
/// restore printed (e.g. the panic hook's message, then the unwind's guard).
static TERMINAL_TAKEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl TerminalGuard {
    fn enter() -> std::io::Result<TerminalGuard> {
        TERMINAL_TAKEN.store(true, std::sync::atomic::Ordering::SeqCst);
        crossterm::terminal::enable_raw_mode()?;
        let mut out = std::io::stdout();
        crossterm::execute!(
            out,
            crossterm::terminal::EnterAlternateScreen,
            crossterm::event::EnableMouseCapture,
            crossterm::cursor::Hide
        )?;
        Ok(TerminalGuard)
    }
}

pub fn restore_terminal() {
    if !TERMINAL_TAKEN.swap(false, std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let mut out = std::io::stdout();
    let _ = crossterm::execute!(
        out,
        crossterm::event::DisableMouseCapture,
        crossterm::terminal::LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = crossterm::terminal::disable_raw_mode();
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

fn install_panic_hook() {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        // The message may contain provider text: sanitize before printing.
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let loc = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "sitrep crashed at {loc}: {}",
            crate::text::SafeText::line(&msg)
        );
        let _ = &prev;
    }));
}

/// Load the theme for the TUI: flag/env, then config, then default.
fn theme_for(ctx: &Ctx, cfg_theme: Option<&str>) -> (Theme, Option<String>) {
    if ctx.global.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        return (Theme::no_color(), None);
    }
    let name = ctx
        .global
        .theme
        .as_deref()
        .or(cfg_theme)
        .unwrap_or("default");
    Theme::resolve(name, &ctx.paths.themes_dir())
}

/// Everything the loop needs besides the terminal.
pub struct Engine {
    pub registry: Registry,
    pub cache: Option<Cache>,
    pub actions: actions::Runner,
}

pub mod actions;

/// Run the console. Returns the process exit code.
pub async fn run(ctx: &Ctx) -> i32 {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        eprintln!(
            "sitrep: the console needs a terminal; use a subcommand (e.g. `sitrep status`) for scripts"
        );
        return crate::cli::exit::USAGE;
    }
    let now = chrono::Utc::now();
    let (registry, cfg, first_run) = if ctx.global.demo {
        (Registry::demo(now), crate::config::Config::default(), None)
    } else if !ctx.paths.config_exists() && !ctx.paths.config_explicit {
        (
            Registry::default(),
            crate::config::Config::default(),
            Some(ctx.paths.config.clone()),
        )
    } else {
        match ctx.registry() {
            Ok((r, c)) => (r, c, None),
            Err(e) => {
                eprintln!("sitrep: {e}");
                return crate::cli::exit::USAGE;
            }
        }
    };
    let (theme, theme_warning) = theme_for(ctx, cfg.ui.theme.as_deref());
    let cache = (!ctx.global.demo).then(|| Cache::new(&ctx.paths.data_dir));
    let mut store = Store::new(&registry);
    if let Some(c) = &cache {
        store.load_cache(c);
        store.seed(&registry);
    }
    // The snapshot is built once, by `rebuild` below (not also by `new`).
    let mut state = State::new(Store::new(&Registry::default()), theme, now);
    state.store = store;
    state.demo = ctx.global.demo;
    state.read_only = ctx.global.read_only;
    state.first_run = first_run;
    state.log_path = ctx.paths.log_file();
    if let Some(envs) = &cfg.production_environments {
        state.production_envs = envs.clone();
    }
    if let Some(w) = theme_warning {
        state.toast(ToastKind::Error, w);
    }
    for w in state.store.warnings.clone() {
        state.toast(ToastKind::Error, w);
    }
    let (catalog, rb_warning) = crate::cli::runbook::load_catalog(ctx);
    state.runbooks.catalog = std::sync::Arc::new(catalog);
    state.runbooks.data_dir = ctx.paths.data_dir.clone();
    state.runbooks.allow_exec = cfg.runbooks.allow_exec;
    state.runbooks.services = cfg.service.clone();
    state.contexts = ctx.paths.contexts();
    state.context = ctx.paths.context.clone();
    state.rebuild();
    if let Some(w) = rb_warning {
        state.toast(ToastKind::Error, w.to_string());
    }
    let engine = Engine {
        actions: actions::Runner::new(ctx, &cfg, registry.clone()),
        registry,
        cache,
    };

    install_panic_hook();
    let guard = match TerminalGuard::enter() {
        Ok(g) => g,
        Err(e) => {
            restore_terminal();
            eprintln!("sitrep: cannot set up the terminal: {e}");
            return crate::cli::exit::USAGE;
        }
    };
    let backend = ratatui::backend::CrosstermBackend::new(std::io::stdout());
    let mut terminal = match Terminal::new(backend) {
        Ok(t) => t,
        Err(e) => {
            drop(guard);
            eprintln!("sitrep: cannot set up the terminal: {e}");
            return crate::cli::exit::USAGE;
        }
    };
    if let Ok(sz) = terminal.size() {
        state.size = (sz.width, sz.height);
    }
    let input = EventStream::new().filter_map(|e| async move {
        match e {
            Ok(Event::Key(k)) => Some(Msg::Key(k)),
            Ok(Event::Mouse(m)) => Some(Msg::Mouse(m)),
            Ok(Event::Resize(w, h)) => Some(Msg::Resize(w, h)),
            _ => None,
        }
    });
    let result = run_loop(&mut terminal, &mut state, engine, Box::pin(input), ctx).await;
    drop(terminal);
    drop(guard);
    match result {
        Ok(()) => crate::cli::exit::OK,
        Err(e) => {
            eprintln!("sitrep: terminal error: {e}");
            crate::cli::exit::USAGE
        }
    }
}

/// Signals that end the console cleanly (the terminal is restored by the guard).
async fn quit_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        async fn recv(kind: SignalKind) {
            match signal(kind) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        }
        tokio::select! {
            _ = recv(SignalKind::terminate()) => {}
            _ = recv(SignalKind::hangup()) => {}
            _ = recv(SignalKind::interrupt()) => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The loop, generic over the backend so tests drive it with `TestBackend`
/// and an injected key stream.
pub async fn run_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    state: &mut State,
    mut engine: Engine,
    mut input: std::pin::Pin<Box<dyn Stream<Item = Msg> + Send + '_>>,
    ctx: &Ctx,
) -> std::io::Result<()>
where
    B::Error: std::fmt::Display,
{
    let (poll_tx, mut poll_rx) = mpsc::channel::<PollEvent>(64);
    let (act_tx, mut act_rx) = mpsc::channel::<Msg>(16);
    // Polling and the audit-log read start once the first frame is out:
    // the last known state goes on screen without sharing the two cores
    // with fifty pages of decoding.
    let mut poller: Option<Poller> = None;
    let mut started = false;
    let mut spin = tokio::time::interval(std::time::Duration::from_millis(120));
    spin.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let quit = quit_signal();
    tokio::pin!(quit);
    let mut dirty = true;
    let mut cur_ctx = ctx.clone();
    // Benchmark hooks (benches/run): SITREP_BENCH_FIRST_FRAME exits right
    // after the first frame is written, printing the time since process
    // start on stderr; SITREP_BENCH_DRAWS=FILE keeps the number of frames
    // drawn so far in FILE.
    let first_frame_bench = std::env::var_os("SITREP_BENCH_FIRST_FRAME").is_some();
    let draws_file = std::env::var_os("SITREP_BENCH_DRAWS");
    let mut draws: u64 = 0;
    loop {
        if dirty {
            terminal
                .draw(|f| ui::render(f, state))
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            dirty = false;
            if first_frame_bench {
                restore_terminal();
                if let Some(t0) = STARTED.get() {
                    eprintln!(
                        "first frame after {:.3} ms",
                        t0.elapsed().as_secs_f64() * 1e3
                    );
                }
                std::process::exit(crate::cli::exit::OK);
            }
            if let Some(path) = &draws_file {
                draws += 1;
                let _ = std::fs::write(path, format!("{draws}\n"));
            }
            if !started {
                started = true;
                if !engine.registry.providers.is_empty() {
                    poller = Some(Poller::start(&engine.registry, poll_tx.clone()));
                }
                // The audit log feeds the timeline and the Audit view: read
                // it once, off the loop.
                let ex = engine.actions.executor().clone();
                let tx = act_tx.clone();
                tokio::task::spawn_blocking(move || {
                    let v = actions::load_audit(&ex);
                    let _ = tx.blocking_send(Msg::AuditLoaded(Box::new(v)));
                });
            }
        }
        let spinning = state.any_in_flight()
            || matches!(
                state.modal,
                Some(state::Modal::Planning { .. } | state::Modal::Running { .. })
            );
        let msg = tokio::select! {
            biased;
            _ = &mut quit => { state.quit = true; None }
            m = input.next() => match m {
                Some(m) => Some(m),
                None => { state.quit = true; None }
            },
            Some(m) = act_rx.recv() => Some(m),
            Some(ev) = poll_rx.recv() => Some(Msg::Poll(ev)),
            _ = spin.tick(), if spinning => {
                state.spinner = state.spinner.wrapping_add(1);
                dirty = true;
                None
            }
            _ = tokio::time::sleep(next_tick(state)), if state.needs_clock() => {
                Some(Msg::Tick(chrono::Utc::now()))
            }
        };
        let mut msgs: Vec<Msg> = msg.into_iter().collect();
        // Drain whatever else is queued, then draw once.
        while let Ok(ev) = poll_rx.try_recv() {
            msgs.push(Msg::Poll(ev));
        }
        for m in msgs {
            test_panic_hook(&m);
            // The first-run screen offers the demo: switch registries.
            if state.first_run.is_some()
                && let Msg::Key(k) = &m
                && k.code == crossterm::event::KeyCode::Char('d')
            {
                let now = chrono::Utc::now();
                let registry = Registry::demo(now);
                rewire(
                    &mut engine,
                    state,
                    &cur_ctx,
                    registry,
                    None,
                    &crate::config::Config::default(),
                );
                state.first_run = None;
                state.demo = true;
                poller = Some(Poller::start(&engine.registry, poll_tx.clone()));
                dirty = true;
                continue;
            }
            if let (
                Msg::Poll(PollEvent::Done {
                    provider,
                    at,
                    result: Ok(data),
                }),
                Some(c),
            ) = (&m, &engine.cache)
                && let Some(slot) = state.store.slots.iter().find(|s| &s.name == provider)
                && let Err(e) = c.store(&slot.name, &slot.kind, *at, data)
            {
                tracing::warn!("cache write for {provider} failed: {e}");
            }
            let polled = matches!(m, Msg::Poll(PollEvent::Done { .. }));
            let (effects, d) = update(state, m);
            dirty |= d;
            if polled {
                // The old snapshot and the poll's decode buffers are free
                // now: hand their pages back instead of holding them.
                crate::mem::give_back();
            }
            for e in effects {
                match e {
                    Effect::Quit => state.quit = true,
                    Effect::Refresh => {
                        if let Some(p) = &poller {
                            p.refresh_all();
                        }
                    }
                    Effect::Plan { op, reason } => {
                        engine
                            .actions
                            .plan(op, reason, state.action_ctx.clone(), act_tx.clone());
                    }
                    Effect::Execute { plan, reason } => {
                        engine.actions.execute(
                            *plan,
                            reason,
                            state.action_ctx.clone(),
                            act_tx.clone(),
                        );
                    }
                    Effect::LoadAudit => {
                        let ex = engine.actions.executor().clone();
                        let tx = act_tx.clone();
                        tokio::task::spawn_blocking(move || {
                            let v = actions::load_audit(&ex);
                            let _ = tx.blocking_send(Msg::AuditLoaded(Box::new(v)));
                        });
                    }
                    Effect::OpenWalk { id, incident } => {
                        let found = state.runbooks.catalog.find(&id).cloned();
                        match found {
                            Some(rb) => {
                                let w = crate::runbooks::walk::Walk::open(
                                    &state.runbooks.data_dir,
                                    &rb,
                                    incident.as_deref(),
                                );
                                if let Some(warn) = &w.warning {
                                    state.toast(ToastKind::Error, warn.to_string());
                                }
                                state.runbooks.walk = Some(Box::new(w));
                                state.view = state::View::Runbooks;
                            }
                            None => state.toast(ToastKind::Error, format!("no runbook {id:?}")),
                        }
                        dirty = true;
                    }
                    Effect::RecordStep(op) => {
                        save_walk(state);
                        let ctx = state::ActionCtx {
                            incident: state
                                .runbooks
                                .walk
                                .as_ref()
                                .and_then(|w| w.incident().map(str::to_string)),
                            runbook: None,
                        };
                        engine.actions.record(op, ctx, act_tx.clone());
                    }
                    Effect::SwitchContext(name) => {
                        match cur_ctx.paths.for_context(&name).and_then(|paths| {
                            let mut c = cur_ctx.clone();
                            c.paths = paths;
                            c.global.demo = false;
                            let (reg, cfg) = c.registry()?;
                            Ok((c, reg, cfg))
                        }) {
                            Ok((c, reg, cfg)) => {
                                drop(poller.take());
                                cur_ctx = c;
                                let cache = Cache::new(&cur_ctx.paths.data_dir);
                                rewire(&mut engine, state, &cur_ctx, reg, Some(cache), &cfg);
                                state.context = Some(name.clone());
                                state.demo = false;
                                poller = Some(Poller::start(&engine.registry, poll_tx.clone()));
                                state.toast(ToastKind::Ok, format!("context {name}"));
                            }
                            Err(e) => state.toast(ToastKind::Error, format!("context {name}: {e}")),
                        }
                        dirty = true;
                    }
                    Effect::RecordWatch(w, v) => {
                        let ex = engine.actions.executor().clone();
                        let tx = act_tx.clone();
                        tokio::spawn(async move {
                            if let Err(e) = crate::watch::record(&ex, &w, &v, None).await {
                                let _ = tx
                                    .send(Msg::Warn(format!("watch verdict not recorded: {e}")))
                                    .await;
                            }
                        });
                    }
                    Effect::SaveWalk => {
                        save_walk(state);
                        state.runbooks.walk = None;
                        dirty = true;
                    }
                    Effect::OpenUrl(url) => open_url(state, &url),
                    Effect::Copy(text) => copy_osc52(&text),
                }
            }
        }
        if state.quit {
            return Ok(());
        }
    }
}

/// Point the console at another set of providers (demo, another context):
/// new store (warm from that context's cache), executor and runbooks.
fn rewire(
    engine: &mut Engine,
    state: &mut State,
    ctx: &Ctx,
    registry: Registry,
    cache: Option<Cache>,
    cfg: &crate::config::Config,
) {
    engine.actions = actions::Runner::new(ctx, cfg, registry.clone());
    engine.registry = registry;
    state.store = Store::new(&engine.registry);
    if let Some(c) = &cache {
        state.store.load_cache(c);
    }
    engine.cache = cache;
    let (catalog, _) = crate::cli::runbook::load_catalog(ctx);
    state.runbooks.catalog = std::sync::Arc::new(catalog);
    state.runbooks.data_dir = ctx.paths.data_dir.clone();
    state.runbooks.allow_exec = cfg.runbooks.allow_exec;
    state.runbooks.services = cfg.service.clone();
    state.runbooks.walk = None;
    state.audit = state::AuditView::default();
    state.read_only = ctx.global.read_only;
    if let Some(envs) = &cfg.production_environments {
        state.production_envs = envs.clone();
    }
    state.rebuild();
}

/// When the clock must next wake the loop: in a second while an age is
/// counted in seconds, else at the next minute. Idle, that is one wake-up
/// a minute.
fn next_tick(state: &State) -> std::time::Duration {
    if state.shows_seconds() {
        return std::time::Duration::from_secs(1);
    }
    let now = chrono::Utc::now();
    let into_minute = now.timestamp().rem_euclid(60) as u64;
    let ms = u64::from(now.timestamp_subsec_millis());
    std::time::Duration::from_millis((60 - into_minute) * 1000 - ms.min(999) + 5)
}

/// Debug builds only: with `SITREP_TEST_PANIC=1` the first key press
/// panics (with escape sequences in the message), so the lifecycle tests
/// can prove a panic restores the terminal and prints only sanitized text.
/// Release builds compile this to nothing.
fn test_panic_hook(m: &Msg) {
    #[cfg(debug_assertions)]
    if matches!(m, Msg::Key(_)) && std::env::var_os("SITREP_TEST_PANIC").is_some_and(|v| v == "1") {
        panic!("test panic requested by SITREP_TEST_PANIC \u{1b}]0;PWNED\u{7}\u{1b}[2J");
    }
    #[cfg(not(debug_assertions))]
    let _ = m;
}

/// Save the open walk's progress; a failure is shown, never fatal.
fn save_walk(state: &mut State) {
    let now = chrono::Utc::now();
    let dir = state.runbooks.data_dir.clone();
    if let Some(w) = state.runbooks.walk.as_mut()
        && let Err(e) = w.save(&dir, now)
    {
        state.toast(ToastKind::Error, format!("progress not saved: {e}"));
    }
}

fn open_url(state: &mut State, url: &str) {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        state.toast(ToastKind::Info, format!("not a web URL: {url}"));
        return;
    }
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    match std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Ok(_) => state.toast(ToastKind::Ok, format!("opened {url}")),
        Err(_) => state.toast(ToastKind::Info, format!("no browser here; URL: {url}")),
    }
}

/// Copy via OSC 52: our own escape sequence with a base64 payload, so no
/// provider byte reaches the terminal raw.
fn copy_osc52(text: &str) {
    let payload = base64(text.as_bytes());
    let mut out = std::io::stdout();
    let _ = write!(out, "\x1b]52;c;{payload}\x07");
    let _ = out.flush();
}

pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        s.push(T[(n >> 18) as usize & 63] as char);
        s.push(T[(n >> 12) as usize & 63] as char);
        s.push(if c.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        s.push(if c.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(super::base64(b""), "");
        assert_eq!(super::base64(b"f"), "Zg==");
        assert_eq!(super::base64(b"fo"), "Zm8=");
        assert_eq!(super::base64(b"foo"), "Zm9v");
        assert_eq!(super::base64(b"foobar"), "Zm9vYmFy");
    }
}
