//! The console. `app::Tui` is the one loop: input, provider events and
//! finished jobs become messages; `update` (the only writer of `State`)
//! turns each into state changes and effects; `effects` runs those off the
//! loop and reports back as messages; `ui::render` draws, only when
//! something changed. This file starts it: the terminal, the theme, the
//! first context.

pub mod app;
pub mod clipboard;
pub mod deploy_depth;
pub mod depth;
pub mod effects;
pub mod hooks;
pub mod keymap;
pub mod modals;
pub mod palette;
pub mod pick;
pub mod screen;
pub mod silences;
pub mod sort;
pub mod state;
mod team_live;
pub mod terminal;
pub mod ui;
pub mod update;

use crate::app::{AppContext, exit};
use crate::theme::Theme;
use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use ratatui::Terminal;
use state::State;
use update::Msg;

/// Load the theme for the TUI: flag/env, then config, then default.
fn theme_for(ctx: &AppContext, cfg_theme: Option<&str>) -> (Theme, Option<String>) {
    if ctx.opts.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        return (Theme::no_color(), None);
    }
    let name = ctx.opts.theme.as_deref().or(cfg_theme).unwrap_or("default");
    Theme::resolve(name, &ctx.paths.themes_dir())
}

/// Run the console. Returns the process exit code.
pub async fn run(ctx: &AppContext) -> i32 {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        eprintln!(
            "sitrep: the console needs a terminal; use a subcommand (e.g. `sitrep status`) for scripts"
        );
        return exit::USAGE;
    }
    // The first context is read before the terminal is taken: a broken
    // config is an error on the plain terminal (exit 2), not a screen.
    let loaded = {
        let c = ctx.clone();
        crate::spawn::blocking(move || c.load_console()).await
    };
    let console = match loaded.map_err(|e| e.to_string()).and_then(|r| r) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sitrep: {e}");
            return exit::USAGE;
        }
    };
    let (theme, theme_warning) = theme_for(ctx, console.config.ui.theme.as_deref());
    let mut state = State::new(Default::default(), theme, chrono::Utc::now());
    if let Some(w) = theme_warning {
        state.toast(state::ToastKind::Error, w);
    }

    terminal::install_panic_hook(ctx.paths.log_file());
    let guard = match terminal::TerminalGuard::enter() {
        Ok(g) => g,
        Err(e) => {
            terminal::restore_terminal();
            eprintln!("sitrep: cannot set up the terminal: {e}");
            return exit::USAGE;
        }
    };
    let backend = ratatui::backend::CrosstermBackend::new(std::io::stdout());
    let terminal = match Terminal::new(backend) {
        Ok(t) => t,
        Err(e) => {
            drop(guard);
            eprintln!("sitrep: cannot set up the terminal: {e}");
            return exit::USAGE;
        }
    };
    let input = EventStream::new().filter_map(|e| async move {
        match e {
            Ok(Event::Key(k)) => Some(Msg::Key(k)),
            Ok(Event::Mouse(m)) => Some(Msg::Mouse(m)),
            Ok(Event::Resize(w, h)) => Some(Msg::Resize(w, h)),
            _ => None,
        }
    });
    let mut tui = app::Tui::new(terminal, state, console);
    let result = tui.run(Box::pin(input)).await;
    drop(tui);
    drop(guard);
    match result {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("sitrep: terminal error: {e}");
            exit::USAGE
        }
    }
}
