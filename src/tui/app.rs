//! `Tui<B>`: the console's one loop. It owns the terminal, the state and
//! the channels; it turns input, provider events and finished jobs into
//! messages for `update` (the only writer of the state), runs the effects
//! `update` returns off the loop (`effects`), and draws when something
//! changed. Generic over the backend: tests drive it with `TestBackend`
//! and an injected message stream.

use super::effects::Engine;
use super::state::{Modal, State};
use super::ui;
use super::update::{Msg, update};
use crate::app::Console;
use crate::providers::poller::PollEvent;
use futures::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use std::pin::Pin;
use tokio::sync::mpsc;

/// The input the loop reads: keys, mouse and resizes (or a test's script).
pub type Input<'a> = Pin<Box<dyn Stream<Item = Msg> + Send + 'a>>;

pub struct Tui<B: Backend> {
    terminal: Terminal<B>,
    state: State,
    engine: Engine,
    /// Finished jobs (plans, actions, disk reads) report here.
    rx: mpsc::Receiver<Msg>,
    poll_rx: mpsc::Receiver<PollEvent>,
    /// The first context to install (read before the terminal was taken).
    initial: Option<Box<Console>>,
}

impl<B: Backend> Tui<B>
where
    B::Error: std::fmt::Display,
{
    /// A console on `console` (a loaded context), drawn on `terminal`.
    pub fn new(terminal: Terminal<B>, state: State, console: Console) -> Tui<B> {
        let (tx, rx) = mpsc::channel::<Msg>(64);
        let (poll_tx, poll_rx) = mpsc::channel::<PollEvent>(64);
        let mut state = state;
        if let Ok(sz) = terminal.size() {
            state.ui.size = (sz.width, sz.height);
        }
        Tui {
            terminal,
            state,
            engine: Engine::new(tx, poll_tx),
            rx,
            poll_rx,
            initial: Some(Box::new(console)),
        }
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn terminal(&self) -> &Terminal<B> {
        &self.terminal
    }

    /// Apply one message and run its effects.
    fn handle(&mut self, msg: Msg) -> bool {
        test_panic_hook(&msg);
        let polled = match &msg {
            Msg::Poll(PollEvent::Done { .. }) => true,
            Msg::Polls(evs) => evs.iter().any(|e| matches!(e, PollEvent::Done { .. })),
            _ => false,
        };
        let (effects, dirty) = update(&mut self.state, msg);
        if polled {
            // The old snapshot and the poll's decode buffers are free now:
            // hand their pages back instead of holding them.
            crate::mem::give_back();
        }
        for e in effects {
            self.engine.run(e, &self.state);
        }
        dirty
    }

    /// Run until quit (a key, a signal, or the end of `input`).
    pub async fn run(&mut self, mut input: Input<'_>) -> std::io::Result<()> {
        if let Some(console) = self.initial.take() {
            self.handle(Msg::ConsoleLoaded {
                switch: None,
                result: Ok(console),
            });
        }
        let mut spin = tokio::time::interval(std::time::Duration::from_millis(120));
        spin.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let quit = super::terminal::quit_signal();
        tokio::pin!(quit);
        let mut dirty = true;
        // Poll results are applied at most every POLL_BATCH_EVERY: a
        // result after a quiet spell goes on screen at once, a stream of
        // them (thousands of providers) is applied in batches, so the
        // snapshot rebuild and the frame are not paid per event.
        let mut held: Vec<PollEvent> = Vec::new();
        let mut last_flush = tokio::time::Instant::now() - POLL_BATCH_EVERY;
        let mut flush_at: Option<tokio::time::Instant> = None;
        loop {
            if dirty {
                let state = &self.state;
                self.terminal
                    .draw(|f| ui::render(f, state))
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
                dirty = false;
                super::hooks::frame_drawn();
                // Polling and the audit-log read start once the first
                // frame is out: the last known state goes on screen
                // without sharing the two cores with pages of decoding.
                self.engine.first_frame_drawn();
            }
            let spinning = self.state.any_in_flight()
                || matches!(
                    self.state.ui.modal,
                    Some(Modal::Planning { .. } | Modal::Running { .. })
                );
            let now = tokio::time::Instant::now();
            let msg = tokio::select! {
                biased;
                _ = &mut quit => Some(Msg::Quit),
                m = input.next() => Some(m.unwrap_or(Msg::Quit)),
                Some(m) = self.rx.recv() => Some(m),
                Some(ev) = self.poll_rx.recv() => {
                    // Everything else already waiting goes in the batch.
                    held.push(ev);
                    while let Ok(ev) = self.poll_rx.try_recv() {
                        held.push(ev);
                    }
                    if now >= last_flush + POLL_BATCH_EVERY {
                        flush_at = None;
                        last_flush = now;
                        Some(Msg::Polls(std::mem::take(&mut held)))
                    } else {
                        flush_at.get_or_insert(last_flush + POLL_BATCH_EVERY);
                        None
                    }
                }
                _ = tokio::time::sleep_until(flush_at.unwrap_or(now)), if flush_at.is_some() => {
                    flush_at = None;
                    last_flush = now;
                    Some(Msg::Polls(std::mem::take(&mut held)))
                }
                _ = spin.tick(), if spinning => Some(Msg::Spin),
                _ = tokio::time::sleep(next_tick(&self.state)), if self.state.needs_clock() => {
                    Some(Msg::Tick(chrono::Utc::now()))
                }
            };
            if let Some(msg) = msg {
                dirty |= self.handle(msg);
            }
            // Drain whatever else is queued, then draw once.
            while let Ok(m) = self.rx.try_recv() {
                dirty |= self.handle(m);
            }
            if self.state.ui.quit {
                return Ok(());
            }
        }
    }
}

/// How often, at most, poll results are applied (see `Tui::run`).
const POLL_BATCH_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

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
