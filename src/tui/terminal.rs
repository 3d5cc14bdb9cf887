//! The terminal's lifecycle: raw mode and the alternate screen while the
//! console runs, restored once on every way out (normal exit, error, a
//! signal, a panic).

use std::sync::atomic::{AtomicBool, Ordering};

/// The console owns the terminal (raw mode, alternate screen). Restoring
/// happens once: a second `LeaveAlternateScreen` would move the cursor back
/// to where it was saved and let the next output overwrite what the first
/// restore printed (e.g. the panic hook's message, then the unwind's guard).
static TERMINAL_TAKEN: AtomicBool = AtomicBool::new(false);

/// Restores the terminal when dropped (normal exit, error or panic unwind).
pub struct TerminalGuard;

impl TerminalGuard {
    pub fn enter() -> std::io::Result<TerminalGuard> {
        TERMINAL_TAKEN.store(true, Ordering::SeqCst);
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

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

pub fn restore_terminal() {
    if !TERMINAL_TAKEN.swap(false, Ordering::SeqCst) {
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

/// On a panic: restore the terminal, print a sanitized one-line message
/// (it may quote provider text), and write the message with a backtrace
/// to the log file (`log_path`), where a bug report can find it.
pub fn install_panic_hook(log_path: std::path::PathBuf) {
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
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
        let safe = crate::text::SafeText::line(&msg);
        let backtrace = std::backtrace::Backtrace::force_capture();
        let logged = crate::fsutil::open_private_append(&log_path)
            .and_then(|mut f| {
                use std::io::Write;
                writeln!(
                    f,
                    "{} PANIC at {loc}: {safe}\n{backtrace}",
                    chrono::Utc::now().to_rfc3339()
                )
            })
            .is_ok();
        eprintln!("sitrep crashed at {loc}: {safe}");
        if logged {
            eprintln!("sitrep: backtrace written to {}", log_path.display());
        }
    }));
}

/// Signals that end the console cleanly (the terminal is restored by the guard).
pub async fn quit_signal() {
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
